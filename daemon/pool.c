/*
 * The pool of mtr-packet workers.  It decides which worker takes a task so
 * that mtr-packet's limits hold (see docs/DESIGN.md):
 *  - UDP, TCP and SCTP probes all go to one worker, the port worker:
 *    mtr-packet matches their answers by port, every process counts ports
 *    from the same start, and a worker attributes another's answers to its
 *    own probes (even an IPv4 answer to an IPv6 probe).  TCP and SCTP are
 *    capped by tcp_max_inflight (it select()s one fd per TCP probe);
 *  - ICMP probes fill the busiest worker that has room before the next one
 *    takes any: every raw ICMP socket on the host reads every ICMP answer,
 *    so each extra worker costs all of them receive work;
 *  - at most max_burst probes are out that not every worker has shown it
 *    read past (see pool_unconfirmed()): their answers would arrive in one
 *    burst and overflow the raw sockets' buffers;
 *  - no worker holds more than WORKER_MAX_INFLIGHT probes.
 * The pool is elastic: min_workers run always; another starts when the
 * running ones have less than POOL_HEADROOM free slots, up to max_workers;
 * one above min_workers that has held nothing for worker_idle_timeout
 * stops.  A worker that dies is started again at once if it had been
 * working, after a doubling back-off if it is crash-looping.
 */
#include <errno.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "fdlimit.h"
#include "log.h"
#include "pool.h"
#include "server.h"
#include "util.h"

#define FEATURE_CACHE_MAX 64
#define RESTART_DELAY_MIN 0.1
#define RESTART_DELAY_MAX 30.0
/* A start that failed for lack of descriptors is tried again this soon. */
#define RESTART_DELAY_NOFD 0.5
/* A ready worker gone within this many seconds without answering anything is crash-looping. */
#define CRASH_WINDOW 2.0
/* Free ICMP slots kept in reserve: below this, another worker starts. */
#define POOL_HEADROOM 200
/* How often idle workers are looked for. */
#define POOL_TICK 1.0

_Static_assert(POOL_WORKERS_MAX <= FDLIMIT_WORKERS_MAX, "the descriptor reserve covers every worker");
_Static_assert(POOL_WORKERS_MAX == CONFIG_WORKERS_MAX, "every worker the configuration allows fits the pool");

/* A client's check-support question.  Owned by the worker's token map while asked. */
struct support_q {
	struct worker_question q;
	pool_support_cb cb;
	void *arg;
};

static struct {
	struct worker workers[POOL_WORKERS_MAX];
	int n;                  /* slots ever used: [0, n) */
	int port_index;         /* the worker taking UDP/TCP/SCTP, or -1 */
	const struct pool_hooks *hooks;
	bool settled;           /* the first start has settled */
	char version[MP_RESULT_MAX + 1];
	struct {
		char feature[MP_FEATURE_MAX + 1];
		char value[MP_RESULT_MAX + 1];
	} cache[FEATURE_CACHE_MAX];
	int n_cache;
	uint64_t restarts, started, retired;
	struct event *age_ev;   /* wakes the dispatcher when a worker's pause ends */
	struct event *tick_ev;  /* looks for idle workers */
	uint64_t sent_seq;      /* probes sent since start */
} P;

static void pool_restart_cb(evutil_socket_t fd, short what, void *arg);
static const struct worker_events pool_worker_events;

/* The mtr-packet executable: $MTR_PACKET, else the config's. */
static const char *pool_exe(void)
{
	const char *e = getenv("MTR_PACKET");

	return e && *e ? e : srv.cfg.mtr_packet;
}

/* Most workers to run now (the configured maximum, within the slots). */
static int pool_max(void)
{
	int m = srv.cfg.max_workers > srv.cfg.min_workers ? srv.cfg.max_workers : srv.cfg.min_workers;

	return m < POOL_WORKERS_MAX ? m : POOL_WORKERS_MAX;
}

/* Workers running or on their way: starting, ready, or waiting to restart. */
static int pool_running(void)
{
	int n = 0;

	for (int i = 0; i < P.n; i++) {
		const struct worker *w = &P.workers[i];

		if (!w->retiring && (w->state != WORKER_IDLE || event_pending(&w->timer, EV_TIMEOUT, NULL)))
			n++;
	}
	return n;
}

/* Tell the user the first start settled, if it has. */
static void pool_check_settled(void)
{
	int alive = 0;
	const struct worker *failed = NULL;
	static char msg[640];

	if (P.settled)
		return;
	for (int i = 0; i < P.n; i++) {
		struct worker *w = &P.workers[i];

		if (w->state == WORKER_STARTING)
			return;
		if (w->state == WORKER_DEAD && w->pid > 0)
			return; /* wait for the reap: it has the exit status and stderr */
		if (w->state == WORKER_READY)
			alive++;
		else if (!failed)
			failed = w;
	}
	const char *why = failed ? failed->why : NULL;

	if (failed && !alive) {
		bool perm = strstr(failed->last_stderr, "ermission denied") ||
			    strstr(failed->last_stderr, "not permitted");

		snprintf(msg, sizeof(msg), "%s%s%s%s", failed->why, failed->last_stderr[0] ? ": " : "",
			 failed->last_stderr,
			 perm ? " (mtr-packet needs CAP_NET_RAW: run mtrprobed as root or with "
				"that capability)" : "");
		why = msg;
	}
	P.settled = true;
	P.hooks->started(alive, why);
}

/* Start the worker in slot i.  0 or -errno (logged). */
static int pool_spawn(int i)
{
	struct worker *w = &P.workers[i];
	int r;

	w->index = i;
	w->retiring = false;
	if (i >= P.n)
		P.n = i + 1;
	evtimer_assign(&w->timer, srv.base, pool_restart_cb, w);
	P.started++;
	r = worker_spawn(w, pool_exe());
	if (r < 0 && w->state == WORKER_IDLE) {
		log_error("worker %d: %s", i, w->why);
		w->failures++;
		/* Try again later (at once if only descriptors were short). */
		double delay = pool_restart_delay(false, 0, 0, w->failures, r);
		struct timeval tv = tv_from_seconds(delay);

		if (P.settled && !srv.stopping)
			evtimer_add(&w->timer, &tv);
	}
	return r;
}

/* Start one more worker in a free slot, if below the maximum.  True if one started. */
static bool pool_grow(void)
{
	if (srv.stopping || pool_running() >= pool_max())
		return false;
	for (int i = 0; i < POOL_WORKERS_MAX; i++) {
		struct worker *w = &P.workers[i];

		if (i >= P.n || (w->state == WORKER_IDLE && !event_pending(&w->timer, EV_TIMEOUT, NULL))) {
			if (i < P.n && w->pid > 0)
				continue;
			if (i >= P.n)
				memset(w, 0, sizeof(*w));
			log_debug("workers: starting worker %d (%d running)", i, pool_running());
			pool_spawn(i);
			return true;
		}
	}
	return false;
}

/*
 * Free ICMP slots of the workers ready, starting, or about to be started
 * again (a dead worker is replaced at once: no other is needed for it).
 */
static int pool_free_slots(void)
{
	int free_slots = 0;

	for (int i = 0; i < P.n; i++) {
		const struct worker *w = &P.workers[i];

		if (w->retiring)
			continue;
		if (w->state == WORKER_READY)
			free_slots += WORKER_MAX_INFLIGHT - w->inflight;
		else if (w->state != WORKER_IDLE || event_pending(&w->timer, EV_TIMEOUT, NULL))
			free_slots += WORKER_MAX_INFLIGHT;
	}
	return free_slots;
}

/* Start another worker if the free slots run low. */
static void pool_keep_headroom(void)
{
	if (P.settled && pool_free_slots() < POOL_HEADROOM)
		pool_grow();
}

/* Keep min_workers running. */
static void pool_keep_minimum(void)
{
	while (pool_running() < srv.cfg.min_workers && pool_grow())
		;
}

/* Wake the dispatcher. */
static void pool_age_cb(evutil_socket_t fd, short what, void *arg)
{
	P.hooks->room();
}

/* Stop w, which has held nothing for a while, if more than the minimum run. */
static void pool_retire(struct worker *w)
{
	w->retiring = true;
	if (P.port_index == w->index)
		P.port_index = -1;
	P.retired++;
	log_debug("worker %d (pid %d) idle for %g s, stopping it", w->index, (int)w->pid,
		  srv.cfg.worker_idle_timeout);
	worker_kill(w, "retired");
}

/* Look for workers idle past worker_idle_timeout (the highest slots first). */
static void pool_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	double now = mono_now();
	int ready = 0;

	for (int i = 0; i < P.n; i++)
		if (worker_usable(&P.workers[i]))
			ready++;
	for (int i = P.n - 1; i >= 0 && ready > srv.cfg.min_workers; i--) {
		struct worker *w = &P.workers[i];

		/* Nothing held: no probe, no ping, no client's question. */
		if (worker_usable(w) && idmap_count(&w->tokens) == 0 &&
		    now - w->idle_since >= srv.cfg.worker_idle_timeout &&
		    pool_free_slots() - WORKER_MAX_INFLIGHT >= POOL_HEADROOM) {
			pool_retire(w);
			ready--;
		}
	}
	pool_keep_minimum();
}

/* Start min_workers workers. */
int pool_start(const struct wlink_ops *ops, const struct pool_hooks *hooks)
{
	struct timeval tick = tv_from_seconds(POOL_TICK);

	P.hooks = hooks;
	P.port_index = -1;
	P.age_ev = evtimer_new(srv.base, pool_age_cb, NULL);
	P.tick_ev = event_new(srv.base, -1, EV_PERSIST, pool_tick_cb, NULL);
	if (!P.age_ev || !P.tick_ev)
		return -ENOMEM;
	worker_setup(ops, &pool_worker_events);
	for (int i = 0; i < srv.cfg.min_workers && i < POOL_WORKERS_MAX; i++)
		pool_spawn(i);
	evtimer_add(P.tick_ev, &tick);
	pool_check_settled();
	return 0;
}

/* Drop cached check-support answers (a worker (re)started). */
static void pool_forget_features(void)
{
	P.n_cache = 0;
}

/* w answered its start-up check. */
static void pool_worker_ready(struct worker *w)
{
	log_debug("worker %d (pid %d) ready", w->index, (int)w->pid);
	if (w->mtr_version[0])
		snprintf(P.version, sizeof(P.version), "%s", w->mtr_version);
	w->confirmed_seq = w->last_ping_seq = P.sent_seq;
	pool_forget_features();
	pool_check_settled();
	P.hooks->room();
}

/* w stopped working. */
static void pool_worker_down(struct worker *w)
{
	if (P.port_index == w->index)
		P.port_index = -1;
	P.hooks->room(); /* what it held may be retried elsewhere */
}

/*
 * Whether w should be asked to confirm the probes sent: only once as many
 * as a quarter of max_burst are unconfirmed, so that a lone probe costs no
 * ping (a write, a read and a pass of mtr-packet's loop), and the
 * confirmations are on their way well before max_burst holds probes back.
 */
static bool pool_ping_due(const struct worker *w)
{
	uint64_t after = srv.cfg.max_burst >= 4 ? (uint64_t)srv.cfg.max_burst / 4 : 1;

	return worker_usable(w) && P.sent_seq - w->confirmed_seq >= after;
}

/* Tasks of w ended: work may go on. */
static void pool_worker_room(struct worker *w)
{
	if (pool_ping_due(w))
		worker_ping(w, P.sent_seq);
	P.hooks->room();
}

static const struct worker_events pool_worker_events = {
	.ready = pool_worker_ready,
	.down = pool_worker_down,
	.room = pool_worker_room,
};

/* Seconds before a worker that went down starts again. */
double pool_restart_delay(bool was_ready, uint64_t answered, double lived, int failures,
			  int start_error)
{
	double delay;

	if (start_error == -EMFILE || start_error == -ENFILE)
		return RESTART_DELAY_NOFD;
	if (was_ready && (answered > 0 || lived >= CRASH_WINDOW))
		return 0;
	if (failures < 1)
		failures = 1;
	delay = RESTART_DELAY_MIN * (double)(1u << (failures - 1 < 9 ? failures - 1 : 9));
	return delay < RESTART_DELAY_MAX ? delay : RESTART_DELAY_MAX;
}

/* Restart w after its delay. */
static void pool_restart_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;

	if (srv.stopping || w->state != WORKER_IDLE || w->retiring || w->pid > 0)
		return;
	P.restarts++;
	pool_spawn(w->index);
}

/* How a child ended, in words. */
static void describe_status(int status, char *buf, size_t len)
{
	if (WIFEXITED(status))
		snprintf(buf, len, "exited with status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "was killed by signal %d (%s)", WTERMSIG(status),
			 strsignal(WTERMSIG(status)));
	else
		snprintf(buf, len, "ended with status %#x", status);
}

/* A child was reaped: if it was a worker, log once and schedule its restart. */
bool pool_child_exited(pid_t pid, int status)
{
	struct worker *w = NULL;
	char how[128];
	double delay, lived;
	bool was_ready;

	for (int i = 0; i < P.n && !w; i++)
		if (P.workers[i].pid == pid)
			w = &P.workers[i];
	if (!w)
		return false;
	describe_status(status, how, sizeof(how));
	was_ready = w->was_ready;
	worker_reaped(w);
	lived = mono_now() - (was_ready ? w->ready_at : w->spawned_at);
	if (w->retiring) {
		log_info("worker %d (pid %d) retired", w->index, (int)pid);
		w->retiring = false;
		w->failures = 0;
		return true;
	}
	if (!w->why[0])
		snprintf(w->why, sizeof(w->why), "%s", how);
	delay = pool_restart_delay(was_ready, w->answered, lived, w->failures + 1, 0);
	w->failures = delay == 0 ? 0 : w->failures + 1;
	if (srv.stopping) {
		log_debug("worker %d (pid %d) %s", w->index, (int)pid, how);
		return true;
	}
	char when[32];

	if (delay == 0)
		snprintf(when, sizeof(when), "now");
	else
		snprintf(when, sizeof(when), "in %.1f s", delay);
	log_warning("worker %d (pid %d) %s%s%s; restarting %s", w->index, (int)pid, w->why,
		    w->last_stderr[0] ? "; it said: " : "", w->last_stderr, when);
	pool_check_settled();
	if (!P.settled)
		return true;
	struct timeval tv = tv_from_seconds(delay);

	evtimer_assign(&w->timer, srv.base, pool_restart_cb, w);
	if (delay == 0)
		event_active(&w->timer, EV_TIMEOUT, 0);
	else
		evtimer_add(&w->timer, &tv);
	return true;
}

/* Apply changed worker counts: more start now, extra ones stop once idle. */
void pool_reconfigure(void)
{
	pool_keep_minimum();
	pool_forget_features();
	P.hooks->room();
}

/* Kill w: it holds a probe long past mtr-packet's own timeout. */
void pool_worker_hung(struct worker *w)
{
	worker_kill(w, "stopped answering");
}

/*
 * Probes sent since every worker last proved it had read its sockets.
 * Every raw ICMP socket on the host sees every ICMP packet, so each
 * worker's buffer holds the answers to every worker's probes until it reads
 * them; a burst larger than the buffer loses answers.
 */
static uint64_t pool_unconfirmed(void)
{
	uint64_t oldest = P.sent_seq;

	for (int i = 0; i < P.n; i++)
		if (worker_usable(&P.workers[i]) && P.workers[i].confirmed_seq < oldest)
			oldest = P.workers[i].confirmed_seq;
	return P.sent_seq - oldest;
}

/* True if w can take one more probe now. */
static bool worker_has_room(const struct worker *w, double now)
{
	return worker_usable(w) && now >= w->paused_until && w->inflight < WORKER_MAX_INFLIGHT;
}

/* Ping every worker that has not confirmed enough of the latest probes (pool_ping_due()). */
void pool_flush(void)
{
	for (int i = 0; i < P.n; i++)
		if (pool_ping_due(&P.workers[i]))
			worker_ping(&P.workers[i], P.sent_seq);
}

/* Wake the dispatcher when a worker's pause ends. */
static void pool_arm_age_timer(double now)
{
	double when = 0;

	if (event_pending(P.age_ev, EV_TIMEOUT, NULL))
		return;
	for (int i = 0; i < P.n; i++) {
		struct worker *w = &P.workers[i];

		if (w->state == WORKER_READY && w->paused_until > now &&
		    (when == 0 || w->paused_until < when))
			when = w->paused_until;
	}
	if (when > 0) {
		struct timeval tv = tv_from_seconds(when - now + 0.0005);

		evtimer_add(P.age_ev, &tv);
	}
}

/* The worker that takes every UDP, TCP and SCTP probe (sticky until it goes). */
static struct worker *pool_port_worker(void)
{
	if (P.port_index >= 0 && worker_usable(&P.workers[P.port_index]))
		return &P.workers[P.port_index];
	/* The old port worker still holds some: a new one would collide. */
	for (int i = 0; i < P.n; i++) {
		const struct worker *w = &P.workers[i];

		if (w->state == WORKER_READY && (w->held[WTASK_UDP] > 0 || w->held[WTASK_TCP] > 0))
			return NULL;
	}
	for (int i = 0; i < P.n; i++) {
		if (worker_usable(&P.workers[i])) {
			P.port_index = i;
			return &P.workers[i];
		}
	}
	return NULL;
}

/* The ready worker with the most ICMP-usable load that still has room. */
static struct worker *pool_icmp_worker(double now)
{
	struct worker *best = NULL;

	for (int i = 0; i < P.n; i++) {
		struct worker *w = &P.workers[i];

		if (worker_has_room(w, now) && (!best || w->inflight > best->inflight))
			best = w;
	}
	return best;
}

/* A worker with room for a task of class cls, or NULL. */
struct worker *pool_pick(enum wtask_class cls)
{
	double now = mono_now();
	struct worker *w = NULL;

	switch (cls) {
	case WTASK_TCP:
		w = pool_port_worker();
		if (w && w->held[WTASK_TCP] >= srv.cfg.tcp_max_inflight)
			w = NULL;
		break;
	case WTASK_UDP:
		w = pool_port_worker();
		break;
	case WTASK_ICMP:
	case WTASK_QUESTION:
		w = pool_icmp_worker(now);
		if (!w)
			pool_keep_headroom();
		break;
	}
	if (w && (!worker_has_room(w, now) || pool_unconfirmed() >= (uint64_t)srv.cfg.max_burst))
		w = NULL;
	if (!w)
		pool_arm_age_timer(now);
	return w;
}

/* True if no worker can take a task now. */
bool pool_all_busy(void)
{
	double now = mono_now();

	if (pool_unconfirmed() >= (uint64_t)srv.cfg.max_burst)
		return true; /* a ping's answer wakes the dispatcher */
	for (int i = 0; i < P.n; i++)
		if (worker_has_room(&P.workers[i], now))
			return false;
	pool_keep_headroom();
	pool_arm_age_timer(now);
	return true;
}

/* True if some worker is up or starting. */
bool pool_any_alive(void)
{
	for (int i = 0; i < P.n; i++) {
		const struct worker *w = &P.workers[i];

		/* A worker starting after a crash-loop death or a failed start is not counted. */
		if (worker_usable(w) || (w->state == WORKER_STARTING && !w->retiring && w->failures == 0))
			return true;
	}
	return false;
}

/* Write probe t to w. */
int pool_send(struct worker *w, struct wtask *t, struct mtrpkt_probe_cmd *cmd)
{
	char line[MTRPKT_CMD_MAX];
	int len, r;

	cmd->token = worker_new_token(w);
	len = mtrpkt_format_probe(line, sizeof(line), cmd);
	if (len < 0)
		return len;
	r = worker_submit(w, t, cmd->token, line, len);
	if (r < 0)
		return r;
	P.sent_seq++;
	/* Only a worker near its cap can bring the pool's free slots below the headroom. */
	if (WORKER_MAX_INFLIGHT - w->inflight < POOL_HEADROOM)
		pool_keep_headroom();
	return 0;
}

/* Most tasks of class cls at max_workers. */
int pool_capacity(enum wtask_class cls)
{
	switch (cls) {
	case WTASK_ICMP:
		return pool_max() * WORKER_MAX_INFLIGHT;
	case WTASK_UDP:
		return WORKER_MAX_INFLIGHT;
	case WTASK_TCP:
		return srv.cfg.tcp_max_inflight;
	case WTASK_QUESTION:
		break;
	}
	return 0;
}

/* A check-support answer came (or the worker died first). */
static void pool_support_done(struct wtask *t, struct worker *w, enum wtask_end how,
			      const struct mtrpkt_reply *r)
{
	struct support_q *sq = (struct support_q *)t;

	worker_question_disarm(&sq->q);
	if (how == WTASK_LOST) {
		sq->cb(sq->arg, MP_ERR_PROCESS, "the mtr-packet worker asked died before answering",
		       NULL);
	} else if (r->kind != MTRPKT_REPLY_FEATURE) {
		sq->cb(sq->arg, MP_ERR_PROCESS, "mtr-packet answered check-support with something else",
		       NULL);
	} else {
		if (P.n_cache < FEATURE_CACHE_MAX) {
			snprintf(P.cache[P.n_cache].feature, sizeof(P.cache[0].feature), "%s",
				 sq->q.feature);
			snprintf(P.cache[P.n_cache].value, sizeof(P.cache[0].value), "%s", r->support);
			P.n_cache++;
		}
		sq->cb(sq->arg, MP_OK, NULL, r->support);
	}
	free(sq);
}

/* Ask a worker about feature, from the cache when it can. */
void pool_check_support(const char *feature, pool_support_cb cb, void *arg)
{
	struct worker *w = NULL;
	struct support_q *sq;

	for (int i = 0; i < P.n_cache; i++) {
		if (strcmp(P.cache[i].feature, feature) == 0) {
			cb(arg, MP_OK, NULL, P.cache[i].value);
			return;
		}
	}
	for (int i = 0; i < P.n; i++)
		if (worker_usable(&P.workers[i]) && (!w || P.workers[i].inflight < w->inflight))
			w = &P.workers[i];
	if (!w) {
		cb(arg, MP_ERR_PROCESS, "no mtr-packet worker is running", NULL);
		return;
	}
	sq = calloc(1, sizeof(*sq));
	if (!sq) {
		cb(arg, MP_ERR_PROCESS, "out of memory", NULL);
		return;
	}
	sq->cb = cb;
	sq->arg = arg;
	sq->q.task.done = pool_support_done;
	snprintf(sq->q.feature, sizeof(sq->q.feature), "%s", feature);
	if (worker_ask(w, &sq->q) < 0) {
		free(sq);
		cb(arg, MP_ERR_PROCESS, "the question could not be sent", NULL);
	}
}

/* mtr-packet's version. */
const char *pool_mtr_version(void)
{
	return P.version;
}

/* Kill every worker and free the pool. */
void pool_stop(void)
{
	for (int i = 0; i < P.n; i++)
		worker_destroy(&P.workers[i]);
	if (P.age_ev)
		event_free(P.age_ev);
	if (P.tick_ev)
		event_free(P.tick_ev);
	P.age_ev = P.tick_ev = NULL;
	P.n = 0;
	worker_trim();
}

/* Idle: give back the workers' spare token map room and the records kept for reuse. */
void pool_trim(void)
{
	for (int i = 0; i < P.n; i++)
		idmap_shrink(&P.workers[i].tokens);
	worker_trim();
}

/* Counters for stats. */
void pool_get_stats(struct pool_stats *ret)
{
	memset(ret, 0, sizeof(*ret));
	ret->min = srv.cfg.min_workers;
	ret->max = pool_max();
	for (int i = 0; i < P.n; i++) {
		const struct worker *w = &P.workers[i];

		if (worker_usable(w))
			ret->alive++;
		else if (w->state == WORKER_STARTING)
			ret->starting++;
		for (int c = 0; c < WTASK_QUESTION; c++)
			ret->tasks[c] += (uint64_t)w->held[c];
	}
	ret->restarts = P.restarts;
	ret->started = P.started;
	ret->retired = P.retired;
}
