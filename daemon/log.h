/* Logging to stderr, with journal priority prefixes under systemd. */
#ifndef MTRPROBED_LOG_H
#define MTRPROBED_LOG_H

#include <stdbool.h>

#include "config.h"

/* Set up logging: the threshold, and whether stderr is the journal. */
void log_init(enum log_level level);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_LEVEL_WARNING, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__)

/* Log at error level and exit(1): for start-up errors and broken invariants. */
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/*
 * A limit on how often one kind of message is logged: at most burst lines
 * per interval seconds; the first line after a quiet spell says how many
 * were suppressed.  Owned by the module that logs.
 */
struct log_ratelimit {
	double interval;
	int burst;
	double window_start;
	int printed;
	unsigned long suppressed;
};

/* True if a message may be logged now; counts it either way. */
bool log_ratelimit_ok(struct log_ratelimit *rl);

#endif
