/*
 * One mtr-packet worker.  Tasks are written to it under tokens and end
 * exactly once through their done callback: answered, exhausted, or lost
 * when the worker dies.  A worker whose process closes its stdout, that
 * does not answer a question within WORKER_QUESTION_TIMEOUT, or that the
 * pool finds hung is killed; the pool restarts it once it is reaped.
 */
#include <errno.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "freelist.h"
#include "log.h"
#include "server.h"
#include "util.h"
#include "worker.h"

/* Pacing questions out at once per worker. */
#define WORKER_PINGS_MAX 4
/* Seconds a new worker gets to answer its start-up check. */
#define WORKER_STARTUP_TIMEOUT 5
/* Ping records kept for reuse (given back when idle). */
#define PINGS_KEPT 64

/* A pacing question.  Owned by the worker's token map while asked; from the free list. */
struct ping {
	struct worker_question q;
	uint64_t seq;            /* the pool's send count when it was written */
	uint64_t ping_no;        /* its number among the worker's pings */
};

static struct {
	const struct wlink_ops *ops;
	const struct worker_events *ev;
	struct log_ratelimit garbage_rl;
	struct freelist pings;  /* struct ping, for reuse */
} W = { .garbage_rl = { .interval = 10, .burst = 5 } };

/* Set up the module. */
void worker_setup(const struct wlink_ops *ops, const struct worker_events *ev)
{
	W.ops = ops;
	W.ev = ev;
	freelist_init(&W.pings, sizeof(struct ping), PINGS_KEPT);
}

/* Give back the ping records kept for reuse. */
void worker_trim(void)
{
	freelist_trim(&W.pings);
}

/* A free token: positive int32, never 0, not in use. */
uint32_t worker_new_token(struct worker *w)
{
	do {
		if (w->next_token >= INT32_MAX || w->next_token == 0)
			w->next_token = 1;
		else
			w->next_token++;
	} while (idmap_get(&w->tokens, w->next_token));
	return w->next_token;
}

/* Write t under token and hold it. */
int worker_submit(struct worker *w, struct wtask *t, uint32_t token, const char *line, int len)
{
	int r;

	if (!w->link)
		return -EPIPE;
	if (idmap_put(&w->tokens, token, t) < 0)
		return -ENOMEM;
	r = W.ops->write(w->link, line, (size_t)len);
	if (r < 0) {
		idmap_del(&w->tokens, token);
		return r;
	}
	t->worker = w;
	t->token = token;
	if (t->cls != WTASK_QUESTION) {
		w->held[t->cls]++;
		w->inflight++;
	}
	return 0;
}

/* t no longer holds a token of w (already out of the map). */
static void worker_release(struct worker *w, struct wtask *t)
{
	if (t->cls != WTASK_QUESTION) {
		w->held[t->cls]--;
		if (--w->inflight == 0)
			w->idle_since = mono_now();
	}
	t->worker = NULL;
	t->token = 0;
}

/* A question is overdue: mtr-packet answers them at once unless it is hung. */
static void worker_question_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker_question *q = arg;

	worker_kill(q->task.worker, "stopped answering");
}

/* Stop q's timer. */
void worker_question_disarm(struct worker_question *q)
{
	if (q->timed)
		event_del(&q->timer);
	q->timed = false;
}

/* Ask w the question q. */
int worker_ask(struct worker *w, struct worker_question *q)
{
	char line[MTRPKT_CMD_MAX];
	struct timeval tv = { WORKER_QUESTION_TIMEOUT, 0 };
	uint32_t token = worker_new_token(w);
	int len, r;

	q->task.cls = WTASK_QUESTION;
	len = mtrpkt_format_check_support(line, sizeof(line), token, q->feature);
	if (len < 0)
		return -EINVAL;
	r = worker_submit(w, &q->task, token, line, len);
	if (r < 0)
		return r;
	evtimer_assign(&q->timer, srv.base, worker_question_timeout_cb, q);
	evtimer_add(&q->timer, &tv);
	q->timed = true;
	return 0;
}

/* A ping of w came back: move its confirmation forward. */
static void worker_ping_answered(struct worker *w, const struct ping *pg)
{
	/* Written after the candidate's answer came: a later pass, sockets read. */
	if (w->has_candidate && pg->ping_no > w->barrier_no) {
		w->confirmed_seq = w->candidate_seq;
		w->has_candidate = false;
	}
	if (!w->has_candidate && pg->seq > w->confirmed_seq) {
		w->candidate_seq = pg->seq;
		w->barrier_no = w->ping_no;
		w->has_candidate = true;
	}
}

/* A ping ended. */
static void worker_ping_done(struct wtask *t, struct worker *w, enum wtask_end how,
			     const struct mtrpkt_reply *r)
{
	struct ping *pg = (struct ping *)t;

	worker_question_disarm(&pg->q);
	w->pings_out--;
	if (how == WTASK_ANSWERED)
		worker_ping_answered(w, pg);
	freelist_put(&W.pings, pg);
}

/*
 * Ask w a question ("ping") it answers on its next pass through its loop.
 * Probes written before a ping are sent in the pass that answers it, and
 * their loopback answers are queued by then; the next pass reads them.  So
 * once a ping written after that answer arrived is answered too, the
 * probes before the first ping (its seq) are out of w's socket buffers.
 * Up to WORKER_PINGS_MAX are out at once, so confirmations keep coming
 * while probes flow.
 */
void worker_ping(struct worker *w, uint64_t seq)
{
	struct ping *pg;
	bool barrier_needed = w->has_candidate && w->ping_no == w->barrier_no;

	if (w->state != WORKER_READY || w->pings_out >= WORKER_PINGS_MAX ||
	    (seq <= w->last_ping_seq && !barrier_needed) || !(pg = freelist_get(&W.pings)))
		return;
	pg->seq = seq;
	pg->q.task.done = worker_ping_done;
	snprintf(pg->q.feature, sizeof(pg->q.feature), "version");
	if (worker_ask(w, &pg->q) < 0) {
		freelist_put(&W.pings, pg);
		return;
	}
	pg->ping_no = ++w->ping_no;
	w->pings_out++;
	w->last_ping_seq = seq;
}

/* The answer to a start-up question: "version", then "send-probe". */
static void worker_startup_done(struct wtask *t, struct worker *w, enum wtask_end how,
				const struct mtrpkt_reply *r)
{
	struct worker_question *q = (struct worker_question *)t;
	bool is_version = strcmp(q->feature, "version") == 0;
	bool ok = how == WTASK_ANSWERED && r->kind == MTRPKT_REPLY_FEATURE &&
		  strcmp(r->support, "no") != 0;

	worker_question_disarm(q);
	free(q);
	if (how != WTASK_ANSWERED)
		return;
	if (is_version) {
		if (ok)
			snprintf(w->mtr_version, sizeof(w->mtr_version), "%s", r->support);
		return;
	}
	if (!ok || strcmp(r->support, "ok") != 0) {
		char why[160];

		snprintf(why, sizeof(why), "does not speak mtr-packet's protocol (check-support "
			 "send-probe answered '%s')", r->kind == MTRPKT_REPLY_FEATURE ? r->support : r->word);
		worker_kill(w, why);
		return;
	}
	if (w->state != WORKER_STARTING)
		return;
	event_del(&w->timer);
	w->state = WORKER_READY;
	w->was_ready = true;
	w->ready_at = w->idle_since = mono_now();
	W.ev->ready(w);
}

/* Ask w a start-up question. */
static int worker_ask_startup(struct worker *w, const char *feature)
{
	struct worker_question *q = calloc(1, sizeof(*q));
	int r;

	if (!q)
		return -ENOMEM;
	q->task.done = worker_startup_done;
	snprintf(q->feature, sizeof(q->feature), "%s", feature);
	r = worker_ask(w, q);
	if (r < 0)
		free(q);
	return r;
}

/* One line from mtr-packet. */
static void worker_line_cb(void *arg, const char *line, size_t len)
{
	struct worker *w = arg;
	struct mtrpkt_reply r;
	struct wtask *t;

	if (mtrpkt_parse_reply(line, len, &r) < 0) {
		if (log_ratelimit_ok(&W.garbage_rl))
			log_warning("worker %d (pid %d): ignoring a line mtr-packet wrote that is not "
				    "a reply (%zu bytes)", w->index, (int)w->pid, len);
		return;
	}
	t = r.token ? idmap_del(&w->tokens, r.token) : NULL;
	if (!t) {
		if (log_ratelimit_ok(&W.garbage_rl))
			log_warning("worker %d (pid %d): '%s' for unknown token %u", w->index,
				    (int)w->pid, r.word, r.token);
		return;
	}
	worker_release(w, t);
	if (t->cls != WTASK_QUESTION)
		w->answered++;
	if (r.kind == MTRPKT_REPLY_EXHAUSTED) {
		/* Never shown to a client: let this worker drain a little. */
		w->paused_until = mono_now() + 0.01;
		t->done(t, w, WTASK_EXHAUSTED, &r);
	} else {
		t->done(t, w, WTASK_ANSWERED, &r);
	}
}

/* The lines of one read are handled: work may go on. */
static void worker_batch_cb(void *arg)
{
	struct worker *w = arg;

	W.ev->room(w);
}

/* mtr-packet's stdout closed: most likely it exited (the reap tells how). */
static void worker_closed_cb(void *arg)
{
	worker_kill(arg, NULL);
}

static const struct wlink_cbs worker_link_cbs = {
	.line = worker_line_cb,
	.batch_done = worker_batch_cb,
	.closed = worker_closed_cb,
};

/* The start-up check took too long. */
static void worker_startup_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;

	if (w->state == WORKER_STARTING)
		worker_kill(w, "did not answer check-support within 5 seconds");
}

/* Spawn w and ask whether it speaks the protocol, and its version. */
int worker_spawn(struct worker *w, const char *path)
{
	struct timeval tv = { WORKER_STARTUP_TIMEOUT, 0 };
	int r = 0;

	idmap_init(&w->tokens);
	memset(w->held, 0, sizeof(w->held));
	w->inflight = 0;
	w->pings_out = 0;
	w->has_candidate = false;
	w->was_ready = false;
	w->answered = 0;
	w->why[0] = w->last_stderr[0] = '\0';
	w->spawned_at = mono_now();
	w->paused_until = 0;
	w->link = W.ops->start(path, &worker_link_cbs, w, &w->pid, &r);
	if (!w->link) {
		w->pid = 0;
		snprintf(w->why, sizeof(w->why), "cannot run '%s': %s", path, strerror(-r));
		return r;
	}
	w->state = WORKER_STARTING;
	evtimer_assign(&w->timer, srv.base, worker_startup_timeout_cb, w);
	if (r < 0 || worker_ask_startup(w, "version") < 0 ||
	    worker_ask_startup(w, "send-probe") < 0) {
		worker_kill(w, "out of memory");
		return -ENOMEM;
	}
	evtimer_add(&w->timer, &tv);
	return 0;
}

/* Collect every task w holds (the map must not change while iterating). */
static struct wtask **worker_tasks(struct worker *w, size_t *ret_n)
{
	struct wtask **v = malloc((idmap_count(&w->tokens) + 1) * sizeof(*v));
	size_t iter = 0, n = 0;
	uint64_t key;
	void *val;

	if (v)
		while (idmap_next(&w->tokens, &iter, &key, &val))
			v[n++] = val;
	*ret_n = n;
	return v;
}

/* Let go of every task w holds; with notify, each ends LOST. */
static void worker_drop_tasks(struct worker *w, bool notify)
{
	size_t n;
	struct wtask **v = worker_tasks(w, &n);

	idmap_free(&w->tokens);
	for (size_t i = 0; i < n; i++) {
		worker_release(w, v[i]);
		if (notify) {
			v[i]->done(v[i], w, WTASK_LOST, NULL);
		} else if (v[i]->cls == WTASK_QUESTION) {
			/* Questions belong to the worker or the pool: freed by done alone. */
			v[i]->done(v[i], w, WTASK_LOST, NULL);
		}
	}
	free(v);
}

/* w is broken: kill it and end what it held. */
void worker_kill(struct worker *w, const char *why)
{
	if (w->state != WORKER_STARTING && w->state != WORKER_READY)
		return;
	if (why && !w->why[0])
		snprintf(w->why, sizeof(w->why), "%s", why);
	w->state = WORKER_DEAD;
	event_del(&w->timer);
	if (w->link)
		W.ops->kill(w->link);
	worker_drop_tasks(w, true);
	W.ev->down(w);
}

/* w's process was reaped: take in what it last wrote on stderr. */
void worker_reaped(struct worker *w)
{
	if (w->state == WORKER_STARTING || w->state == WORKER_READY)
		worker_kill(w, NULL);
	w->pid = 0;
	if (w->link)
		W.ops->reaped(w->link, w->last_stderr, sizeof(w->last_stderr));
	w->link = NULL;
	w->state = WORKER_IDLE;
}

/* Kill and reap w now (exit path). */
void worker_destroy(struct worker *w)
{
	if (event_initialized(&w->timer))
		event_del(&w->timer);
	if (w->link)
		W.ops->destroy(w->link);
	w->link = NULL;
	w->pid = 0;
	if (w->state == WORKER_STARTING || w->state == WORKER_READY)
		worker_drop_tasks(w, false);
	idmap_free(&w->tokens);
	w->state = WORKER_IDLE;
}
