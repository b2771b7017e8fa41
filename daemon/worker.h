/*
 * One mtr-packet worker: its state, the token map that matches answers to
 * the tasks written to it, the questions it is asked (start-up check,
 * pacing pings, clients' check-support), and noticing when it dies or
 * hangs.  The process itself is behind a link (wlink.h); what happens to
 * the worker goes up to the pool through the callbacks of worker_setup().
 */
#ifndef MTRPROBED_WORKER_H
#define MTRPROBED_WORKER_H

#include <event2/event_struct.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "idmap.h"
#include "mtrpkt.h"
#include "mtrprobe/protocol.h"
#include "wlink.h"

enum worker_state {
	WORKER_IDLE,     /* no process: not started yet, or waiting to restart */
	WORKER_STARTING, /* spawned, start-up check not answered yet */
	WORKER_READY,    /* taking probes */
	WORKER_DEAD      /* lost or killed; waiting for the process to be reaped */
};

/* What a task occupies at a worker (mtr-packet's limits differ per class). */
enum wtask_class {
	WTASK_ICMP,
	WTASK_UDP,
	WTASK_TCP,       /* TCP and SCTP: one descriptor each in mtr-packet */
	WTASK_QUESTION   /* check-support: answered at once, holds no slot */
};

/* How a task ended. */
enum wtask_end {
	WTASK_ANSWERED,  /* r is the reply line */
	WTASK_EXHAUSTED, /* probes-exhausted: the worker had no room, try again */
	WTASK_LOST       /* the worker died or was killed first; r is NULL */
};

struct wtask;
struct worker;
/* A task ended; w (the worker that held it) no longer holds it. */
typedef void (*wtask_done_fn)(struct wtask *t, struct worker *w, enum wtask_end how,
			      const struct mtrpkt_reply *r);

/* Work written to a worker under a token.  Embedded in its owner's object. */
struct wtask {
	wtask_done_fn done;
	struct worker *worker;  /* while held */
	uint32_t token;         /* while held */
	enum wtask_class cls;
};

/* A check-support question.  Embedded in its asker's object. */
struct worker_question {
	struct wtask task;
	char feature[MP_FEATURE_MAX + 1];
	struct event timer;     /* overdue: the worker is hung */
	bool timed;
};

/* What a worker reports to the pool. */
struct worker_events {
	void (*ready)(struct worker *w);
	void (*down)(struct worker *w);       /* stopped working; its process is yet to be reaped */
	void (*room)(struct worker *w);       /* tasks ended or a ping came back: work may go on */
};

/* One mtr-packet process slot.  Owned by the pool; restarted in place. */
struct worker {
	int index;
	enum worker_state state;
	pid_t pid;                   /* > 0 until reaped */
	void *link;                  /* the process (wlink), NULL when none */
	struct idmap tokens;         /* token -> struct wtask */
	uint32_t next_token;
	int held[WTASK_QUESTION];    /* tasks held per class */
	int inflight;                /* probes held (every class but questions) */
	double spawned_at, ready_at, paused_until, idle_since;
	/* Pacing (see worker_ping()). */
	uint64_t confirmed_seq;      /* probes up to here have left its socket buffers */
	uint64_t candidate_seq;      /* answered ping waiting for a later pass to confirm it */
	uint64_t barrier_no;         /* pings numbered above this prove that later pass */
	bool has_candidate;
	uint64_t ping_no;            /* pings written */
	uint64_t last_ping_seq;      /* seq of the last ping written */
	int pings_out;
	/* Supervision. */
	int failures;                /* consecutive crash-loop deaths or failed starts */
	bool retiring;               /* the pool shrank: stop once idle */
	bool was_ready;              /* it answered its start-up check before it went down */
	uint64_t answered;           /* probes it answered since it started */
	struct event timer;          /* start-up timeout, then restart back-off */
	char why[256];               /* why it was killed ("" if it went by itself) */
	char last_stderr[200];       /* the last line it wrote on stderr */
	char mtr_version[MP_RESULT_MAX + 1]; /* what it answered to check-support version */
};

/* Seconds a worker gets to answer a question before it counts as hung. */
#define WORKER_QUESTION_TIMEOUT 5

/* Set up the module: the link to use and whom to tell. */
void worker_setup(const struct wlink_ops *ops, const struct worker_events *ev);
/* Give back the memory kept for reuse (the daemon is idle). */
void worker_trim(void);
/* Spawn w's process and ask the start-up questions. 0 or -errno (w->why set). */
int worker_spawn(struct worker *w, const char *path);
/*
 * Write task t as line (formatted by the caller with token) to w; w then
 * holds t until t->done runs.  0 or -errno.
 */
int worker_submit(struct worker *w, struct wtask *t, uint32_t token, const char *line, int len);
/* A free token of w (positive int32, never 0). */
uint32_t worker_new_token(struct worker *w);
/* Ask w the question q (feature set, q->task.done set); answered through done. 0 or -errno. */
int worker_ask(struct worker *w, struct worker_question *q);
/* Stop q's overdue timer (its done callback ran or it is being freed). */
void worker_question_disarm(struct worker_question *q);
/* Ask w to show it has read its sockets; seq: the pool's send count now. */
void worker_ping(struct worker *w, uint64_t seq);
/* w is broken (why: the reason it is killed; NULL: it went by itself): end every task LOST. */
void worker_kill(struct worker *w, const char *why);
/* w's process was reaped. */
void worker_reaped(struct worker *w);
/* Kill and reap w's process at once, dropping its tasks without callbacks (exit path). */
void worker_destroy(struct worker *w);
/* True if w takes new work. */
static inline bool worker_usable(const struct worker *w)
{
	return w->state == WORKER_READY && !w->retiring;
}

#endif
