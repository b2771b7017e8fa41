/*
 * The probe lifecycle: admission, deadline, resolution, per-owner queues
 * served round-robin, fair shares of the workers' slots per uid, rate
 * limits, dispatch, retry, and one outcome per probe, handed to the
 * submitter's done callback.
 */
#ifndef MTRPROBED_SCHED_H
#define MTRPROBED_SCHED_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "dnscache.h"
#include "mtrprobe/protocol.h"
#include "proto.h"

/* Who submits a probe.  Copied by the scheduler. */
struct sched_owner {
	uint64_t key;     /* its queue: one per connection, never 0 */
	uid_t uid;        /* whose shares and rates it counts against */
	bool exempt;      /* root: held to no per-uid limit */
};

/* How a probe ended.  Valid during the done callback only. */
struct sched_outcome {
	enum mp_error err;                  /* MP_OK: res holds the result */
	const char *msg;                    /* err's message ("" with MP_OK) */
	const struct mp_probe_result *res;  /* MP_OK only */
	bool sent;                          /* it was handed to a worker */
	bool cancelled;                     /* its owner went away: nobody to answer */
	const char *address;                /* the target once resolved, else "" */
	int ip_version;                     /* 4 or 6 once resolved, else 0 */
};

/* A probe ended.  arg and tag are the submitter's. */
typedef void (*sched_done_fn)(void *arg, uint64_t tag, const struct sched_outcome *o);

/* Set up the scheduler on the server's event base. 0 or -ENOMEM. */
int sched_init(void);
/* Free everything the scheduler owns, without callbacks (exit path). */
void sched_free(void);
/*
 * Admit one probe with options opts for owner.  MP_OK: done runs exactly
 * once, later or before this returns.  Otherwise an error code with a
 * message, and done never runs.
 */
enum mp_error sched_submit(const struct sched_owner *owner, const struct mp_probe_opts *opts,
			   sched_done_fn done, void *arg, uint64_t tag, char errmsg[MP_ERRMSG_MAX]);
/* Owner key is gone: its probes not yet sent end cancelled. */
void sched_owner_gone(uint64_t key);
/* Run the dispatcher soon (a worker has room, or a probe is queued). */
void sched_kick(void);
/* The DNS module's callback: a lookup for probe id cookie finished (resolve.c). */
void sched_dns_done(uint64_t cookie, const struct dnscache_result *res);

/* Stop: answer everything unsent with shutting-down. */
void sched_shutdown(void);
/* Answer every sent probe with shutting-down (shutdown timeout reached). */
void sched_abort_sent(void);
/* Probes at workers and not answered yet. */
size_t sched_sent_count(void);
/* Give back memory kept for reuse (the daemon is idle). */
void sched_trim(void);

/* Result words counted one by one; anything else counts as "other" (the last). */
#define SCHED_RESULT_WORDS                                                                    \
	"reply", "ttl-expired", "no-reply", "no-route", "network-down", "permission-denied", \
	"invalid-argument", "address-in-use", "address-not-available", "unexpected-error",  \
	"other"
#define SCHED_N_RESULTS 11

/*
 * Counters.  At every moment started == completed + sent + queued +
 * resolving: a probe is completed when its done callback runs.
 */
struct sched_stats {
	uint64_t started, completed, retried, cancelled, share_waits;
	size_t resolving, queued, sent;
	uint64_t results[SCHED_N_RESULTS];
};
void sched_get_stats(struct sched_stats *ret);
/* The name of result counter i. */
const char *sched_result_word(int i);

#endif
