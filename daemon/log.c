/* Logging to stderr, with journal priority prefixes under systemd. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

static enum log_level current_level = LOG_LEVEL_INFO;
static bool to_journal;

/* True when stderr is the journal stream systemd gave us ($JOURNAL_STREAM). */
static bool stderr_is_journal(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2)
		return false;
	if (fstat(STDERR_FILENO, &st) < 0)
		return false;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

/* Set up logging. */
void log_init(enum log_level level)
{
	current_level = level;
	to_journal = stderr_is_journal();
}

/* Change the threshold. */
void log_set_level(enum log_level level)
{
	current_level = level;
}

/* The threshold. */
enum log_level log_get_level(void)
{
	return current_level;
}

/* Syslog priority of a level. */
static int level_priority(enum log_level level)
{
	switch (level) {
	case LOG_LEVEL_ERROR:
		return LOG_ERR;
	case LOG_LEVEL_WARNING:
		return LOG_WARNING;
	case LOG_LEVEL_INFO:
		return LOG_INFO;
	case LOG_LEVEL_DEBUG:
		return LOG_DEBUG;
	}
	return LOG_INFO;
}

/* Write one line at level. */
__attribute__((format(printf, 2, 0)))
static void log_write(enum log_level level, const char *fmt, va_list ap)
{
	static const char *const names[] = { "error", "warning", "info", "debug" };
	char buf[1024];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	/* Never let a newline from a message split a log line. */
	for (char *p = buf; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	if (to_journal)
		fprintf(stderr, "<%d>%s\n", level_priority(level), buf);
	else
		fprintf(stderr, "mtrprobed: %s: %s\n", names[level], buf);
}

/* Log a message if level passes the threshold. */
void log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	if (level > current_level)
		return;
	va_start(ap, fmt);
	log_write(level, fmt, ap);
	va_end(ap);
}

/* Log an error and exit. */
void fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_write(LOG_LEVEL_ERROR, fmt, ap);
	va_end(ap);
	exit(1);
}

/* True if a rate-limited message may be logged now. */
bool log_ratelimit_ok(struct log_ratelimit *rl)
{
	double now = mono_now();

	if (now - rl->window_start >= rl->interval) {
		if (rl->suppressed)
			log_msg(LOG_LEVEL_WARNING, "%lu similar messages suppressed", rl->suppressed);
		rl->window_start = now;
		rl->printed = 0;
		rl->suppressed = 0;
	}
	if (rl->printed < rl->burst) {
		rl->printed++;
		return true;
	}
	rl->suppressed++;
	return false;
}
