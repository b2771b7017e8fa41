/*
 * The pool of mtr-packet workers.  It decides which worker takes a probe so
 * that mtr-packet's limits hold (see docs/DESIGN.md):
 *  - UDP, TCP and SCTP probes all go to one worker: mtr-packet matches
 *    their answers by port, every process counts ports from the same start,
 *    and a worker attributes another's answers to its own probes (even an
 *    IPv4 answer to an IPv6 probe).  TCP and SCTP are capped by
 *    tcp_max_inflight (it select()s one fd per TCP probe);
 *  - ICMP probes go to the worker with the most room;
 *  - at most max_burst probes are out that not every worker has shown it
 *    read past (see pool_unconfirmed()): their answers would arrive in one
 *    burst and overflow the raw sockets' buffers;
 *  - no worker has more than WORKER_MAX_INFLIGHT probes out.
 * It restarts workers that die, with back-off, and answers check_support.
 */
#include <errno.h>
#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "conn.h"
#include "log.h"
#include "pool.h"
#include "server.h"
#include "util.h"
#include "worker.h"

#define FEATURE_CACHE_MAX 64
#define RESTART_DELAY_MIN 0.1
#define RESTART_DELAY_MAX 30.0
/* A worker up this long is healthy again: its back-off starts over. */
#define HEALTHY_AFTER_SECONDS 30.0

static struct {
	struct worker workers[POOL_WORKERS_MAX];
	int n;                  /* slots in use, retiring ones included */
	int n_active;           /* configured workers: slots [0, n_active) */
	int tcp_index;          /* the worker taking UDP/TCP/SCTP, or -1 */
	pool_ready_cb ready_cb; /* set while the first start settles */
	char version[MP_RESULT_MAX + 1];
	struct {
		char feature[MP_FEATURE_MAX + 1];
		char value[MP_RESULT_MAX + 1];
	} cache[FEATURE_CACHE_MAX];
	int n_cache;
	uint64_t restarts;
	struct event *age_ev;   /* wakes the dispatcher when a worker's pause ends */
	uint64_t sent_seq;      /* probes sent since start */
	unsigned icmp_rr;
} P;

/* True if w takes new work: running and not being retired. */
static bool worker_usable(const struct worker *w)
{
	return w->state == WORKER_READY && !w->retiring;
}

/* The mtr-packet executable: $MTR_PACKET, else the config's. */
static const char *pool_exe(void)
{
	const char *e = getenv("MTR_PACKET");

	return e && *e ? e : srv.cfg.mtr_packet;
}

/* Wake the dispatcher. */
static void pool_age_cb(evutil_socket_t fd, short what, void *arg)
{
	sched_kick();
}

/* Start n workers; ready runs once each answered or failed. */
int pool_start(int n, pool_ready_cb ready)
{
	P.n = n < POOL_WORKERS_MAX ? n : POOL_WORKERS_MAX;
	P.n_active = P.n;
	P.tcp_index = -1;
	P.ready_cb = ready;
	P.age_ev = evtimer_new(srv.base, pool_age_cb, NULL);
	if (!P.age_ev)
		return -ENOMEM;
	for (int i = 0; i < P.n; i++) {
		struct worker *w = &P.workers[i];

		w->index = i;
		w->state = WORKER_IDLE;
		if (worker_spawn(w, pool_exe()) < 0 && w->state == WORKER_IDLE)
			log_error("worker %d: %s", i, w->why);
	}
	pool_worker_down(NULL);
	return 0;
}

/* If the first start has settled, tell main how it went. */
static void pool_check_settled(void)
{
	int alive = 0;
	const char *why = NULL;
	const struct worker *failed = NULL;
	static char msg[512];

	if (!P.ready_cb)
		return;
	for (int i = 0; i < P.n; i++) {
		struct worker *w = &P.workers[i];

		if (w->state == WORKER_STARTING)
			return;
		if (w->state == WORKER_DEAD && w->pid > 0)
			return; /* wait for the reap: it has the exit status and stderr */
		if (w->state == WORKER_READY) {
			alive++;
		} else if (!failed) {
			failed = w;
			why = w->why;
		}
	}
	if (failed && !alive) {
		const struct worker *w = failed;
		bool perm = strstr(w->last_stderr, "ermission denied") ||
			    strstr(w->last_stderr, "not permitted");

		snprintf(msg, sizeof(msg), "%s%s%s%s", why, w->last_stderr[0] ? ": " : "",
			 w->last_stderr,
			 perm ? " (mtr-packet needs CAP_NET_RAW: run mtrprobed as root or with "
				"that capability)" : "");
		why = msg;
	}
	pool_ready_cb cb = P.ready_cb;

	P.ready_cb = NULL;
	cb(alive, why);
}

/* Drop cached check-support answers (a worker (re)started). */
static void pool_forget_features(void)
{
	P.n_cache = 0;
}

/* w answered its start-up check. */
void pool_worker_ready(struct worker *w)
{
	log_debug("worker %d (pid %d) ready", w->index, (int)w->pid);
	w->confirmed_seq = w->last_ping_seq = P.sent_seq;
	pool_forget_features();
	pool_check_settled();
	sched_kick();
}

/* mtr-packet's version, from a start-up check. */
void pool_set_mtr_version(const char *version)
{
	snprintf(P.version, sizeof(P.version), "%s", version);
}

/* mtr-packet's version. */
const char *pool_mtr_version(void)
{
	return P.version;
}

/* w stopped working (w may be NULL to just re-check the start). */
void pool_worker_down(struct worker *w)
{
	if (w && P.tcp_index == w->index)
		P.tcp_index = -1;
	pool_check_settled();
}

/* Restart w after its back-off. */
static void pool_restart_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;

	if (srv.stopping || w->state != WORKER_IDLE || w->retiring)
		return;
	P.restarts++;
	if (worker_spawn(w, pool_exe()) < 0 && w->state == WORKER_IDLE) {
		log_error("worker %d: %s", w->index, w->why);
		w->failures++;
		struct timeval tv = tv_from_seconds(RESTART_DELAY_MAX);

		evtimer_assign(&w->restart_ev, srv.base, pool_restart_cb, w);
		evtimer_add(&w->restart_ev, &tv);
	}
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
void pool_child_exited(pid_t pid, int status)
{
	struct worker *w = NULL;
	char how[128];
	double delay;

	for (int i = 0; i < P.n && !w; i++)
		if (P.workers[i].pid == pid)
			w = &P.workers[i];
	if (!w)
		return;
	describe_status(status, how, sizeof(how));
	worker_lost(w, NULL);
	worker_reaped(w);
	w->state = WORKER_IDLE;
	if (w->retiring) {
		log_info("worker %d (pid %d) retired", w->index, (int)pid);
		return;
	}
	if (!w->why[0])
		snprintf(w->why, sizeof(w->why), "%s", how);
	if (w->ready_at > w->spawned_at && mono_now() - w->ready_at > HEALTHY_AFTER_SECONDS)
		w->failures = 0;
	delay = RESTART_DELAY_MIN * (double)(1u << (w->failures < 9 ? w->failures : 9));
	if (delay > RESTART_DELAY_MAX)
		delay = RESTART_DELAY_MAX;
	w->failures++;
	if (srv.stopping) {
		log_debug("worker %d (pid %d) %s", w->index, (int)pid, how);
		return;
	}
	log_warning("worker %d (pid %d) %s%s%s; restarting in %.1f s", w->index, (int)pid, w->why,
		    w->last_stderr[0] ? "; it said: " : "", w->last_stderr, delay);
	pool_check_settled();
	struct timeval tv = tv_from_seconds(delay);

	evtimer_assign(&w->restart_ev, srv.base, pool_restart_cb, w);
	evtimer_add(&w->restart_ev, &tv);
}

/* A retiring worker with nothing left to answer is stopped. */
void pool_maybe_retire(struct worker *w)
{
	if (w->retiring && w->state == WORKER_READY && idmap_count(&w->tokens) == 0)
		worker_lost(w, "retired");
	else if (w->retiring && (w->state == WORKER_STARTING))
		worker_lost(w, "retired");
}

/* Set up slot i and start its worker. */
static void pool_spawn_slot(int i)
{
	struct worker *w = &P.workers[i];

	w->index = i;
	w->retiring = false;
	w->failures = 0;
	if (w->state != WORKER_IDLE)
		return;
	if (worker_spawn(w, pool_exe()) < 0 && w->state == WORKER_IDLE)
		log_error("worker %d: %s", i, w->why);
}

/* Change the number of workers: new ones start, extra ones retire once idle. */
void pool_resize(int n)
{
	if (n < 1)
		n = 1;
	if (n > POOL_WORKERS_MAX)
		n = POOL_WORKERS_MAX;
	if (n == P.n_active)
		return;
	log_info("workers: %d -> %d", P.n_active, n);
	for (int i = 0; i < n; i++) {
		struct worker *w = &P.workers[i];

		if (i >= P.n || w->retiring) {
			if (w->retiring && w->state != WORKER_IDLE) {
				w->retiring = false; /* still running: keep it */
				continue;
			}
			if (i >= P.n)
				memset(w, 0, sizeof(*w));
			pool_spawn_slot(i);
		}
	}
	for (int i = n; i < P.n; i++) {
		P.workers[i].retiring = true;
		if (P.tcp_index == i)
			P.tcp_index = -1;
		pool_maybe_retire(&P.workers[i]);
	}
	if (n > P.n)
		P.n = n;
	P.n_active = n;
	pool_forget_features();
	sched_kick();
}

/* Kill w: it holds a probe long past mtr-packet's own timeout. */
void pool_worker_hung(struct worker *w)
{
	worker_lost(w, "stopped answering");
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
static bool worker_has_room(struct worker *w, double now)
{
	return worker_usable(w) && now >= w->paused_until && w->inflight < WORKER_MAX_INFLIGHT;
}

/* Ping every worker that has not confirmed the latest probes. */
void pool_flush(void)
{
	for (int i = 0; i < P.n; i++)
		if (worker_usable(&P.workers[i]) && P.workers[i].confirmed_seq < P.sent_seq)
			worker_ping(&P.workers[i], P.sent_seq);
}

/* w answered a ping: keep pinging while probes are unconfirmed. */
void pool_worker_confirmed(struct worker *w)
{
	if (worker_usable(w) && w->confirmed_seq < P.sent_seq)
		worker_ping(w, P.sent_seq);
	sched_kick();
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

/* The worker that takes every UDP, TCP and SCTP probe (sticky until it dies). */
static struct worker *pool_port_worker(void)
{
	if (P.tcp_index >= 0 && worker_usable(&P.workers[P.tcp_index]))
		return &P.workers[P.tcp_index];
	/* A retiring port worker still has some out: a new one would collide. */
	for (int i = 0; i < P.n; i++)
		if (P.workers[i].port_inflight > 0 && P.workers[i].state == WORKER_READY)
			return NULL;
	for (int i = 0; i < P.n; i++) {
		if (worker_usable(&P.workers[i])) {
			P.tcp_index = i;
			return &P.workers[i];
		}
	}
	return NULL;
}

/* A worker with room for p, or NULL. */
struct worker *pool_pick(const struct probe *p)
{
	double now = mono_now();
	struct worker *w = NULL;

	switch (p->opts.protocol) {
	case MP_PROTO_TCP:
	case MP_PROTO_SCTP:
		w = pool_port_worker();
		if (w && w->tcp_inflight >= srv.cfg.tcp_max_inflight)
			w = NULL;
		break;
	case MP_PROTO_UDP:
		w = pool_port_worker();
		break;
	case MP_PROTO_ICMP:
	case MP_PROTO__COUNT:
		for (int i = 0; i < P.n; i++) {
			struct worker *c = &P.workers[(P.icmp_rr + (unsigned)i) % (unsigned)P.n];

			if (worker_has_room(c, now) && (!w || c->inflight < w->inflight))
				w = c;
		}
		P.icmp_rr++;
		break;
	}
	if (w && (!worker_has_room(w, now) || pool_unconfirmed() >= (uint64_t)srv.cfg.max_burst))
		w = NULL;
	if (!w)
		pool_arm_age_timer(now);
	return w;
}

/* True if no worker can take a probe now. */
bool pool_all_busy(void)
{
	double now = mono_now();

	if (pool_unconfirmed() >= (uint64_t)srv.cfg.max_burst)
		return true; /* a ping's answer wakes the dispatcher */
	for (int i = 0; i < P.n; i++)
		if (worker_has_room(&P.workers[i], now))
			return false;
	pool_arm_age_timer(now);
	return true;
}

/* True if some worker is up. */
bool pool_any_alive(void)
{
	for (int i = 0; i < P.n; i++)
		if (worker_usable(&P.workers[i]))
			return true;
	return false;
}

/* Write p to w. */
int pool_send(struct worker *w, struct probe *p)
{
	struct mtrpkt_probe_cmd cmd = {
		.ip_version = p->ip_version,
		.protocol = p->opts.protocol,
		.port = p->opts.port,
		.local_port = p->opts.local_port,
		.ttl = p->opts.ttl,
		.size = p->opts.size,
		.bit_pattern = p->opts.bit_pattern,
		.tos = p->opts.tos,
		.mark = p->opts.mark,
		.timeout_s = p->mtr_timeout,
	};
	char line[MTRPKT_CMD_MAX];
	int len, r;

	memcpy(cmd.address, p->address, sizeof(cmd.address));
	memcpy(cmd.local_ip, p->local_ip, sizeof(cmd.local_ip));
	cmd.token = worker_new_token(w);
	len = mtrpkt_format_probe(line, sizeof(line), &cmd);
	if (len < 0)
		return len;
	r = worker_write(w, cmd.token, &p->task, line, len);
	if (r < 0)
		return r;
	p->worker = w;
	p->token = cmd.token;
	p->sent_at = mono_now();
	P.sent_seq++;
	w->inflight++;
	if (p->opts.protocol == MP_PROTO_TCP || p->opts.protocol == MP_PROTO_SCTP)
		w->tcp_inflight++;
	if (p->opts.protocol != MP_PROTO_ICMP)
		w->port_inflight++;
	return 0;
}

/* Answer a check_support request from a cached or fresh answer. */
static void feature_deliver(uint64_t conn_id, const struct mp_id *id, const char *feature,
			    const char *value)
{
	size_t len;
	char *line = mp_encode_check_support(id, feature, strcmp(value, "no") != 0, value, &len);

	if (line)
		conn_deliver(conn_id, line, len);
	else
		conn_deliver_error(conn_id, id, MP_ERR_PROCESS, "out of memory");
}

/* Ask a worker about feature for a client. */
void pool_check_support(uint64_t conn_id, const struct mp_id *id, const char *feature)
{
	struct worker *w = NULL;
	struct feature_req *fr;

	for (int i = 0; i < P.n_cache; i++) {
		if (strcmp(P.cache[i].feature, feature) == 0) {
			feature_deliver(conn_id, id, feature, P.cache[i].value);
			return;
		}
	}
	for (int i = 0; i < P.n; i++)
		if (worker_usable(&P.workers[i]) && (!w || P.workers[i].inflight < w->inflight))
			w = &P.workers[i];
	if (!w) {
		conn_deliver_error(conn_id, id, MP_ERR_PROCESS, "no mtr-packet worker is running");
		return;
	}
	fr = calloc(1, sizeof(*fr));
	if (!fr || mp_id_copy(&fr->id, id) < 0) {
		free(fr);
		conn_deliver_error(conn_id, id, MP_ERR_PROCESS, "out of memory");
		return;
	}
	fr->conn_id = conn_id;
	snprintf(fr->feature, sizeof(fr->feature), "%s", feature);
	if (worker_send_question(w, fr) < 0) {
		conn_deliver_error(conn_id, id, MP_ERR_PROCESS, "the question could not be sent");
		mp_id_clear(&fr->id);
		free(fr);
		return;
	}
	worker_arm_question(fr, WORKER_QUESTION_TIMEOUT);
}

/* A worker answered a client's check-support question. */
void pool_feature_answered(struct feature_req *fr, const struct mtrpkt_reply *r)
{
	if (r->kind != MTRPKT_REPLY_FEATURE) {
		conn_deliver_error(fr->conn_id, &fr->id, MP_ERR_PROCESS,
				   "mtr-packet answered check-support with something else");
		return;
	}
	if (P.n_cache < FEATURE_CACHE_MAX) {
		snprintf(P.cache[P.n_cache].feature, sizeof(P.cache[0].feature), "%s", fr->feature);
		snprintf(P.cache[P.n_cache].value, sizeof(P.cache[0].value), "%s", r->support);
		P.n_cache++;
	}
	feature_deliver(fr->conn_id, &fr->id, fr->feature, r->support);
}

/* The worker asked died before answering. */
void pool_feature_lost(struct feature_req *fr)
{
	conn_deliver_error(fr->conn_id, &fr->id, MP_ERR_PROCESS,
			   "the mtr-packet worker asked died before answering");
}

/* Kill every worker and free the pool. */
void pool_stop(void)
{
	for (int i = 0; i < P.n; i++)
		worker_destroy(&P.workers[i]);
	if (P.age_ev)
		event_free(P.age_ev);
	P.age_ev = NULL;
	P.n = 0;
}

/* Counters for stats. */
void pool_get_stats(struct pool_stats *ret)
{
	ret->configured = P.n_active;
	ret->alive = 0;
	for (int i = 0; i < P.n; i++)
		if (worker_usable(&P.workers[i]))
			ret->alive++;
	ret->restarts = P.restarts;
}
