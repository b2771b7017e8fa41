/*
 * Monitors: targets the daemon probes by itself, cycle after cycle, with
 * their history, histograms and counters.  Each monitor's probes go
 * through the scheduler under an owner of their own (root's shares and
 * rates), beside the one-shot requests of the clients.
 */
#ifndef MTRPROBED_MONITOR_H
#define MTRPROBED_MONITOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mondef.h"
#include "promtext.h"

/* Seconds after its schedule past which a cycle counts as late. */
#define MONITOR_LATE 0.05

/*
 * Whether the daemon can run d (0), or -EINVAL with the reason in err
 * (for what the definition syntax allows and the runtime does not).
 */
int monitor_supported(const struct mondef *d, char err[MONDEF_ERR_MAX]);
/*
 * Make the running monitors those of defs (every one supported): a
 * monitor whose definition is unchanged keeps its history and counters,
 * one whose definition changed starts again (as every one does when
 * metrics_buckets or monitor_history changed), one not in defs stops.
 * 0 or -ENOMEM (the running set is then partly applied).
 */
int monitor_apply(const struct mondef_set *defs);
/* Stopping: start no more cycles. */
void monitor_shutdown(void);
/* Free every monitor, without callbacks (exit path, after the scheduler). */
void monitor_free_all(void);
/* Monitors running. */
size_t monitor_count(void);
/* Where a scrape written in pieces is.  Zeroed: at the start. */
struct monitor_cursor {
	int family;       /* the family being written */
	uint64_t after;   /* the key of the last monitor written in it, 0: none yet */
};
/*
 * Append the monitor metric families to p from cursor c on, until p holds
 * budget bytes or everything is written (true).  Monitors stopped between
 * pieces are left out; monitors started meanwhile appear in the families
 * not yet written.
 */
bool monitor_metrics_part(struct promtext *p, struct monitor_cursor *c, size_t budget);

#endif
