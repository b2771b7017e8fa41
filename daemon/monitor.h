/*
 * Monitors: targets the daemon probes by itself, cycle after cycle, with
 * their history, histograms and counters.  Each monitor's probes go
 * through the scheduler under an owner of their own, with the shares and
 * rates of root (the files' monitors) or of the user who added it, beside
 * the one-shot requests of the clients.
 */
#ifndef MTRPROBED_MONITOR_H
#define MTRPROBED_MONITOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "mondef.h"
#include "mtrprobe/protocol.h"
#include "promtext.h"
#include "proto.h"

/* Seconds after its schedule past which a cycle counts as late. */
#define MONITOR_LATE 0.05
/* The owner of the monitors of the files (the others belong to the uid that added them). */
#define MONITOR_OWNER_FILES (-1L)

/*
 * Whether the daemon can run d (0), or -EINVAL with the reason in err
 * (for what the definition syntax allows and the runtime does not).
 */
int monitor_supported(const struct mondef *d, char err[MONDEF_ERR_MAX]);
/*
 * Make the running monitors of the files those of defs (every one
 * supported, none named as a monitor added over the socket; see
 * monitor_conflict()): a monitor whose definition is unchanged keeps its
 * history and counters, one whose definition changed starts again (as
 * every one does when metrics_buckets or monitor_history changed), one
 * not in defs stops.  Monitors added over the socket are left alone.
 * 0 or -ENOMEM (the running set is then partly applied).
 */
int monitor_apply(const struct mondef_set *defs);
/* -EEXIST with a message if a definition of defs has the name of a monitor added over the socket. */
int monitor_conflict(const struct mondef_set *defs, char err[MONDEF_ERR_MAX]);
/*
 * Start d (checked, supported) for owner, a uid.  MP_OK, or an error code
 * with a message: invalid-argument when the name is taken, overloaded when
 * the owner (not root) would pass uid_max_monitors or uid_monitor_max_pps.
 */
enum mp_error monitor_add(const struct mondef *d, long owner, char err[MP_ERRMSG_MAX]);
/*
 * Stop the monitor named name for uid (root may stop any added over the
 * socket; none may stop a monitor of the files).  MP_OK, invalid-argument
 * (no such monitor) or permission-denied, with a message; *ret_owner gets
 * the stopped monitor's owner.
 */
enum mp_error monitor_remove(const char *name, long uid, long *ret_owner,
			     char err[MP_ERRMSG_MAX]);
/* The checks of monitor_remove() alone: MP_OK (and *ret_owner) if it would stop name. */
enum mp_error monitor_removable(const char *name, long uid, long *ret_owner,
				char err[MP_ERRMSG_MAX]);
/*
 * The definitions of owner's monitors but the one named except (NULL:
 * none left out), as the files hold them (malloc'd, "" when none; NULL
 * when out of memory).
 */
char *monitor_owner_text(long owner, const char *except);
/* Probes per second d schedules: per cycle over its period. */
double monitor_pps(const struct mondef *d);
/*
 * Events of the monitors, handed to fn with the monitor's owner: objects
 * {"event": WHAT, "monitor": NAME, "time": UNIX, ...} (reference passed):
 * path-changed (old, new, old_path_id, path_id), loss-high and
 * loss-normal (address, loss_pct over the kept cycles, threshold_pct,
 * window: probes counted), unreachable and recovered (address: a whole
 * cycle without a reply, then a reply), address-changed (old, new).
 */
typedef void (*monitor_event_fn)(json_t *event, long owner);
void monitor_set_event_hook(monitor_event_fn fn);
/* Stopping: start no more cycles. */
void monitor_shutdown(void);
/* Free every monitor, without callbacks (exit path, after the scheduler). */
void monitor_free_all(void);
/* Monitors running. */
size_t monitor_count(void);
/*
 * The monitors uid may see (root: all; others: the files' and their own),
 * as an array of summaries (new reference; NULL when out of memory).
 */
json_t *monitor_list_json(long uid);
/*
 * The monitor named name, if uid may see it: its definition, owner and
 * what it measured (new reference).  NULL with invalid-argument and a
 * message otherwise.
 */
json_t *monitor_show_json(const char *name, long uid, enum mp_error *ret_err,
			  char err[MP_ERRMSG_MAX]);
/* Where a scrape written in pieces is.  Zeroed: at the start. */
struct monitor_cursor {
	int family;       /* the family being written */
	uint64_t after;   /* the key of the last monitor written in it, 0: none yet */
	const void *next; /* the monitor after it, valid while no monitor stopped since */
	uint64_t gen;     /* monitors stopped when next was taken */
	bool header;      /* the family's HELP and TYPE lines are written */
};
/*
 * Append the monitor metric families to p from cursor c on, until p holds
 * budget bytes or everything is written (true).  Monitors stopped between
 * pieces are left out; monitors started meanwhile appear in the families
 * not yet written.
 */
bool monitor_metrics_part(struct promtext *p, struct monitor_cursor *c, size_t budget);

#endif
