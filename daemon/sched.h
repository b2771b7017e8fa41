/*
 * The probe lifecycle: admission, resolution, per-client queues served
 * round-robin, dispatch to workers, deadlines, retries and the answer.
 */
#ifndef MTRPROBED_SCHED_H
#define MTRPROBED_SCHED_H

#include <event2/event_struct.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/types.h>

#include "dnscache.h"
#include "mtrpkt.h"
#include "mtrprobe/protocol.h"
#include "proto.h"

enum probe_state {
	PROBE_RESOLVING,  /* waiting for DNS (host, then local_ip) */
	PROBE_QUEUED,     /* resolved, waiting for a worker */
	PROBE_SENT,       /* written to a worker, not answered yet */
	PROBE_ORPHAN      /* answered or client gone, token still held by a worker */
};

struct worker;
struct sched_client;

/* What a worker's token refers to: a probe or a control request. */
enum wtask_kind { WTASK_PROBE, WTASK_FEATURE };

struct wtask {
	enum wtask_kind kind;
};

/*
 * One probe.  Owned by the scheduler (its id map); a worker's token map
 * points at it only while it is SENT or ORPHAN, and the probe lives until
 * the worker releases the token.
 */
struct probe {
	struct wtask task;          /* first: tokens point here */
	uint64_t id;
	uint64_t conn_id;           /* whose queue it is in, who gets the answer */
	uint64_t trace_id;          /* != 0: a trace's probe; the trace gets the answer */
	int trace_ttl, trace_round;
	struct mp_id req_id;
	struct mp_probe_opts opts;
	enum probe_state state;
	bool resolving_local;       /* RESOLVING: the address is known, local_ip is not */
	bool retried;               /* already re-sent once after a worker died */
	int ip_version;             /* of the target, once resolved */
	char address[MP_ADDR_MAX];  /* target, once resolved */
	char local_ip[MP_ADDR_MAX]; /* source, once known */
	double deadline;            /* monotonic: answer no later than this */
	double sent_at;             /* monotonic, when written to a worker */
	int mtr_timeout;            /* whole seconds given to mtr-packet */
	struct worker *worker;      /* SENT, ORPHAN */
	uint32_t token;             /* SENT, ORPHAN */
	struct sched_client *client;/* QUEUED, RESOLVING: the owning client queue */
	TAILQ_ENTRY(probe) qlink;   /* client queue (QUEUED) */
	TAILQ_ENTRY(probe) clink;   /* client's list of unsent probes */
	struct event timer;         /* deadline, then the hung-worker check */
};

TAILQ_HEAD(probe_list, probe);

/* Set up the scheduler on the server's event base. */
int sched_init(void);
/* Free everything the scheduler owns (after sched_shutdown). */
void sched_free(void);
/*
 * Take a decoded probe request from connection conn_id (its id is moved
 * out of req).  The answer goes to conn_deliver().  Returns MP_OK, or an
 * error code with a message when the probe was not admitted.
 */
enum mp_error sched_submit_probe(uint64_t conn_id, uid_t uid, struct mp_request *req,
				 char errmsg[MP_ERRMSG_MAX]);
/*
 * Admit one probe of trace trace_id (on behalf of connection conn_id); its
 * outcome goes to trace_probe_done().  MP_OK, or an error as above.
 */
enum mp_error sched_submit_trace_probe(uint64_t conn_id, uid_t uid, uint64_t trace_id, int ttl,
				       int round, const struct mp_probe_opts *opts,
				       char errmsg[MP_ERRMSG_MAX]);
/* Connection conn_id is gone: drop its unsent probes. */
void sched_conn_gone(uint64_t conn_id);
/* Run the dispatcher soon (a worker has room, or a probe is queued). */
void sched_kick(void);

/* A worker answered p. */
void sched_probe_answered(struct probe *p, const struct mtrpkt_reply *r);
/* p's worker died or was killed: retry p once elsewhere, or fail it. */
void sched_probe_lost(struct probe *p);
/* p's worker said probes-exhausted: queue p again. */
void sched_probe_exhausted(struct probe *p);

/* Stop: answer everything unsent with shutting-down. */
void sched_shutdown(void);
/* Answer every sent probe with shutting-down (shutdown timeout reached). */
void sched_abort_sent(void);
/* Number of probes written to workers and not yet answered to a client. */
size_t sched_sent_count(void);

/* Counters for stats. */
struct sched_stats {
	uint64_t started, completed, retried;
	size_t resolving, queued, sent;
};
void sched_get_stats(struct sched_stats *ret);

#endif

/* The DNS module's callback: a lookup for probe id cookie finished. */
void sched_dns_done(uint64_t cookie, const struct dnscache_result *res);
