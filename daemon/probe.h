/*
 * A probe as the scheduler's two files share it: sched.c (admission,
 * queues, dispatch, deadlines, retry, the outcome) and resolve.c (the
 * target and source addresses).  Internal to the scheduler's layer:
 * everyone else goes through sched.h.
 */
#ifndef MTRPROBED_PROBE_H
#define MTRPROBED_PROBE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

#include "dheap.h"
#include "mtrprobe/protocol.h"
#include "sched.h"
#include "worker.h"

struct sched_client;
struct sched_user;

enum probe_state {
	PROBE_RESOLVING,  /* waiting for DNS (host, then local_ip) */
	PROBE_QUEUED,     /* resolved, waiting for a worker */
	PROBE_SENT,       /* written to a worker, not answered yet */
	PROBE_ORPHAN      /* answered; its token maybe still held by a worker */
};

/* What a probe keeps of its mp_probe_opts once admitted: the numbers, compactly. */
struct probe_opts {
	uint32_t mark;              /* with has_mark */
	uint16_t port, local_port;  /* 0: mtr-packet's default */
	int16_t size;               /* -1: the protocol's minimum */
	uint8_t ttl, tos, bit_pattern;
	uint8_t protocol;           /* enum mp_protocol */
	uint8_t want_version;       /* 0 (any), 4 or 6 */
	bool has_mark;
};

/*
 * One probe.  Lives from admission until it has ended and no worker holds
 * its task; always in the timer heap meanwhile (due INFINITY when nothing
 * is to happen), which is how the scheduler finds every probe.  Records
 * come from, and go back to, a free list.
 */
struct probe {
	struct wtask task;          /* held by a worker while SENT or ORPHAN */
	struct dheap_node timer;    /* deadline, then the hung-worker check */
	uint64_t id;
	uint64_t owner;             /* its owner's key */
	struct sched_user *user;
	sched_done_fn done;
	void *arg;
	uint64_t tag;
	double deadline;            /* monotonic: answer no later than this */
	double sent_at;             /* monotonic, when written to a worker */
	struct sched_client *client;/* QUEUED, RESOLVING: the owning queue */
	TAILQ_ENTRY(probe) qlink;   /* client queue (QUEUED) */
	TAILQ_ENTRY(probe) clink;   /* client's list of unsent probes */
	/*
	 * host and local_ip as given, while they may still be needed: the
	 * caller's during sched_submit(), a copy (names_owned) while waiting
	 * for DNS; "" once resolved.
	 */
	const char *host, *local;
	struct probe_opts o;
	uint8_t state;              /* enum probe_state */
	uint8_t ip_version;         /* of the target, once resolved */
	uint8_t retries;            /* times re-sent after a worker died */
	bool exempt;
	bool resolving_local;       /* RESOLVING: the address is known, local_ip is not */
	bool was_sent;              /* handed to a worker at least once */
	bool names_owned;           /* host and local point to a copy of this probe's */
	bool in_map;                /* in the map of probes waiting for DNS */
	uint16_t mtr_timeout;       /* whole seconds given to mtr-packet */
	char address[MP_ADDR_MAX];  /* target, once resolved */
	char local_ip[MP_ADDR_MAX]; /* source, once known */
};

/* p's mark, -1 for none. */
static inline int64_t probe_mark(const struct probe *p)
{
	return p->o.has_mark ? (int64_t)p->o.mark : -1;
}

/* sched.c: how a probe ends, or goes on once its addresses are known. */
void probe_fail(struct probe *p, enum mp_error code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void probe_answer(struct probe *p, const char *word, long rtt_us, const char *responder,
		  const struct mp_mpls *mpls, int mpls_count);
/* p (RESOLVING) has its target and source addresses: queue it for a worker. */
void probe_enqueue(struct probe *p);

/* resolve.c: start resolving p (just admitted); it goes on through the calls above. */
void probe_resolve(struct probe *p);
/* p no longer needs its host and local_ip (queued or ended). */
void probe_names_drop(struct probe *p);
/* Give back the spare room of the map of probes waiting for DNS. */
void resolve_trim(void);
/* Free that map (exit path). */
void resolve_free(void);

#endif
