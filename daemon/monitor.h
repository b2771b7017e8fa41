/*
 * Monitors: targets the daemon probes by itself, cycle after cycle, with
 * their history, histograms and counters.  Each monitor's probes go
 * through the scheduler under an owner of their own (root's shares and
 * rates), beside the one-shot requests of the clients.
 */
#ifndef MTRPROBED_MONITOR_H
#define MTRPROBED_MONITOR_H

#include <stddef.h>

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
/* Append every monitor metric family to p. */
void monitor_metrics(struct promtext *p);

#endif
