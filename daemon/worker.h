/*
 * One mtr-packet process: spawning it, its pipes, the token map that
 * matches its answers to probes, and noticing when it dies or hangs.
 */
#ifndef MTRPROBED_WORKER_H
#define MTRPROBED_WORKER_H

#include <event2/event_struct.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "idmap.h"
#include "log.h"
#include "mtrpkt.h"
#include "sched.h"

enum worker_state {
	WORKER_IDLE,     /* no process: not started yet, or waiting to restart */
	WORKER_STARTING, /* spawned, start-up check not answered yet */
	WORKER_READY,    /* taking probes */
	WORKER_DEAD      /* lost or killed; waiting for the process to be reaped */
};

/* A check-support question to a worker.  Owned by the worker's token map. */
struct feature_req {
	struct wtask task;       /* first: tokens point here */
	uint64_t conn_id;        /* 0: asked by the worker's own start-up check */
	struct mp_id id;
	char feature[MP_FEATURE_MAX + 1];
	struct worker *worker;
	uint32_t token;
	struct event timer;      /* the answer is overdue (if timed) */
	bool timed;
	bool ping;               /* asked only to see that mtr-packet has read its sockets */
	uint64_t seq;            /* ping: the pool's send count when it was written */
	uint64_t ping_no;        /* ping: its number among the worker's pings */
};

/* Pacing questions out at once per worker. */
#define WORKER_PINGS_MAX 4
/* Seconds a worker gets to answer a question before it counts as hung. */
#define WORKER_QUESTION_TIMEOUT 5

/* Give fr's worker seconds to answer, else it is killed as hung. */
void worker_arm_question(struct feature_req *fr, int seconds);
/* Free a check-support question (its timer stopped). */
void feature_req_free(struct feature_req *fr);

/* One mtr-packet process slot.  Owned by the pool; restarted in place. */
struct worker {
	int index;
	enum worker_state state;
	pid_t pid;                   /* > 0 until reaped */
	struct bufferevent *bev;     /* its stdin and stdout (a socketpair) */
	struct bufferevent *errbev;  /* its stderr */
	struct idmap tokens;         /* token -> struct wtask */
	uint32_t next_token;
	int inflight;                /* probes holding a token */
	int tcp_inflight;            /* of which TCP or SCTP */
	int port_inflight;           /* of which UDP, TCP or SCTP */
	double spawned_at, ready_at, paused_until;
	uint64_t confirmed_seq;      /* probes up to here have left its socket buffers */
	uint64_t candidate_seq;      /* answered ping waiting for a later pass to confirm it */
	uint64_t barrier_no;         /* pings numbered above this prove that later pass */
	bool has_candidate;
	uint64_t ping_no;            /* pings written */
	uint64_t last_ping_seq;      /* seq of the last ping written */
	int pings_out;
	int failures;                /* consecutive failed starts or early deaths */
	bool retiring;               /* the pool shrank: stop once idle */
	struct event restart_ev;     /* restart after back-off; start-up timeout */
	char why[256];               /* why it was killed ("" if it went by itself) */
	char last_stderr[200];       /* the last line it wrote on stderr */
	struct log_ratelimit stderr_rl;
	struct log_ratelimit garbage_rl;
};

/* Spawn w's process and ask it the start-up questions. 0 or -errno (why set). */
int worker_spawn(struct worker *w, const char *path);
/* Write the check-support question fr (feature set) to w under a new token. 0 or -errno. */
int worker_send_question(struct worker *w, struct feature_req *fr);
/* Write one formatted command line to w and remember token -> task. */
int worker_write(struct worker *w, uint32_t token, struct wtask *task, const char *line, int len);
/* A free token of w. */
uint32_t worker_new_token(struct worker *w);
/* A probe's token left w's map (answered, lost): update the counters. */
void worker_untrack(struct worker *w, struct probe *p);
/* w is broken (why it is killed; NULL: it went by itself): retry or fail what it held. */
void worker_lost(struct worker *w, const char *why);
/* Ask w to show it has read its sockets (answer a question); seq: the pool's send count. */
void worker_ping(struct worker *w, uint64_t seq);
/* w's process was reaped: read the rest of its stderr, close it. */
void worker_reaped(struct worker *w);
/* Kill and reap w's process at once, dropping what it held (exit path). */
void worker_destroy(struct worker *w);

/* The pool's callbacks from a worker. */
void pool_worker_ready(struct worker *w);
void pool_set_mtr_version(const char *version);
void pool_worker_down(struct worker *w);
void pool_feature_answered(struct feature_req *fr, const struct mtrpkt_reply *r);
void pool_feature_lost(struct feature_req *fr);
void pool_worker_confirmed(struct worker *w);
void pool_maybe_retire(struct worker *w);

#endif
