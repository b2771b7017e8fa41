/*
 * The probe lifecycle.  A probe request is admitted (queue limit, shutdown),
 * gets a deadline, is resolved (DNS, then the source address), waits in its
 * connection's queue, is dispatched round-robin across connections to a
 * worker with room, and is answered exactly once: by the worker's reply, by
 * its deadline, or by an error.  A probe whose worker dies is retried once.
 */
#include <errno.h>
#include <event2/event.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "dns.h"
#include "idmap.h"
#include "log.h"
#include "pool.h"
#include "route.h"
#include "sched.h"
#include "server.h"
#include "stats.h"
#include "trace.h"
#include "util.h"

/* Time a worker gets past mtr-packet's own timeout before it counts as hung. */
#define HUNG_GRACE_SECONDS 2.0
/* Most probes dispatched in one pass before other events get a turn. */
#define DISPATCH_BUDGET 4096
/* Queued probes of one client looked at per turn. */
#define DISPATCH_LOOKAHEAD 16

/* One connection's probes that have not been sent.  Owned by the scheduler. */
struct sched_client {
	uint64_t conn_id;
	uid_t uid;
	struct probe_list queue;  /* QUEUED, in dispatch order */
	struct probe_list unsent; /* RESOLVING and QUEUED */
	bool on_rr;
	TAILQ_ENTRY(sched_client) rrlink;
};

/* A token bucket of a probe rate.  Owned by the scheduler. */
struct bucket {
	double tokens;
	double last;
};

static struct {
	struct bucket global;  /* max_pps */
	struct idmap buckets;  /* uid + 1 -> struct bucket (uid_max_pps) */
	struct event *refill_ev;
	double refill_at;      /* when refill_ev fires */
	struct idmap probes;  /* probe id -> struct probe */
	struct idmap clients; /* conn id -> struct sched_client */
	TAILQ_HEAD(sched_client_rr, sched_client) rr; /* clients with queued probes, round-robin */
	uint64_t next_id;
	struct event *kick_ev;
	size_t n_resolving, n_queued, n_sent;
	uint64_t started, completed, retried;
} S;

static void probe_timer_cb(evutil_socket_t fd, short what, void *arg);
static void dispatch_cb(evutil_socket_t fd, short what, void *arg);

/* Set up the scheduler. */
int sched_init(void)
{
	idmap_init(&S.probes);
	idmap_init(&S.clients);
	idmap_init(&S.buckets);
	TAILQ_INIT(&S.rr);
	S.kick_ev = event_new(srv.base, -1, 0, dispatch_cb, NULL);
	S.refill_ev = evtimer_new(srv.base, dispatch_cb, NULL);
	return S.kick_ev && S.refill_ev ? 0 : -ENOMEM;
}

/* Run the dispatcher once the current callbacks are done. */
void sched_kick(void)
{
	if (S.kick_ev && !event_pending(S.kick_ev, EV_TIMEOUT, NULL))
		event_active(S.kick_ev, EV_TIMEOUT, 0);
}

/* Refill b for rate (probes/s) up to a burst of 50 ms worth (at least 1). */
static void bucket_refill(struct bucket *b, int rate, double now)
{
	double burst = rate / 20.0 > 1.0 ? rate / 20.0 : 1.0;

	if (b->last == 0) {
		b->tokens = burst;
	} else {
		b->tokens += (now - b->last) * rate;
		if (b->tokens > burst)
			b->tokens = burst;
	}
	b->last = now;
}

/* Seconds until b holds a token again. */
static double bucket_wait(const struct bucket *b, int rate)
{
	return b->tokens >= 1.0 ? 0 : (1.0 - b->tokens) / rate;
}

/* uid's bucket, or NULL when it has no rate limit (or memory ran out). */
static struct bucket *uid_bucket(uid_t uid)
{
	struct bucket *b;

	if (srv.cfg.uid_max_pps <= 0 || uid == 0)
		return NULL; /* root is not held to per-uid limits */
	b = idmap_get(&S.buckets, (uint64_t)uid + 1);
	if (!b && (b = calloc(1, sizeof(*b))) && idmap_put(&S.buckets, (uint64_t)uid + 1, b) < 0) {
		free(b);
		b = NULL;
	}
	return b;
}

/* Wake the dispatcher in `wait` seconds, when a rate allows the next probe. */
static void rate_wait(double wait)
{
	double at = mono_now() + wait;
	struct timeval tv = tv_from_seconds(wait + 0.0002);

	/* The earliest of the waits wins: a later one is checked again then. */
	if (!event_pending(S.refill_ev, EV_TIMEOUT, NULL) || at < S.refill_at) {
		S.refill_at = at;
		evtimer_add(S.refill_ev, &tv);
	}
}

/* The queue of connection conn_id, created on first use. */
static struct sched_client *client_get(uint64_t conn_id, bool create)
{
	struct sched_client *c = idmap_get(&S.clients, conn_id);

	if (c || !create)
		return c;
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->conn_id = conn_id;
	TAILQ_INIT(&c->queue);
	TAILQ_INIT(&c->unsent);
	if (idmap_put(&S.clients, conn_id, c) < 0) {
		free(c);
		return NULL;
	}
	return c;
}

/* Put c on the round-robin list if it has queued probes. */
static void client_schedule(struct sched_client *c)
{
	if (!c->on_rr && !TAILQ_EMPTY(&c->queue)) {
		TAILQ_INSERT_TAIL(&S.rr, c, rrlink);
		c->on_rr = true;
	}
}

/* Take c off the round-robin list. */
static void client_unschedule(struct sched_client *c)
{
	if (c->on_rr) {
		TAILQ_REMOVE(&S.rr, c, rrlink);
		c->on_rr = false;
	}
}

/* Detach p from its client's lists and the state counters. */
static void probe_unlink(struct probe *p)
{
	switch (p->state) {
	case PROBE_RESOLVING:
		TAILQ_REMOVE(&p->client->unsent, p, clink);
		S.n_resolving--;
		break;
	case PROBE_QUEUED:
		TAILQ_REMOVE(&p->client->queue, p, qlink);
		TAILQ_REMOVE(&p->client->unsent, p, clink);
		if (TAILQ_EMPTY(&p->client->queue))
			client_unschedule(p->client);
		S.n_queued--;
		break;
	case PROBE_SENT:
		S.n_sent--;
		break;
	case PROBE_ORPHAN:
		break;
	}
	p->client = NULL;
}

/* Free p; its worker must no longer hold its token. */
static void probe_free(struct probe *p)
{
	probe_unlink(p);
	event_del(&p->timer);
	idmap_del(&S.probes, p->id);
	mp_id_clear(&p->req_id);
	free(p);
}

/* p has been answered: free it, or keep it until its worker lets go. */
static void probe_retire(struct probe *p)
{
	if (p->state == PROBE_SENT && p->worker) {
		probe_unlink(p);
		p->state = PROBE_ORPHAN;
		/* mtr-packet must answer by its own timeout; if not, it is hung. */
		double when = p->sent_at + p->mtr_timeout + HUNG_GRACE_SECONDS;
		struct timeval tv = tv_from_seconds(when - mono_now());
		evtimer_add(&p->timer, &tv);
		return;
	}
	probe_free(p);
}

/* Answer p with an error response and retire it. */
static void probe_fail(struct probe *p, enum mp_error code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void probe_fail(struct probe *p, enum mp_error code, const char *fmt, ...)
{
	char msg[MP_ERRMSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (p->trace_id)
		trace_probe_done(p->trace_id, p->trace_ttl, p->trace_round, NULL, code, msg);
	else
		conn_deliver_error(p->conn_id, &p->req_id, code, msg);
	S.completed++;
	probe_retire(p);
}

/* Answer p with a probe result and retire it. */
static void probe_answer(struct probe *p, const char *word, long rtt_us, const char *responder,
			 const struct mp_mpls *mpls, int mpls_count)
{
	struct mp_probe_result res;
	size_t len;
	char *line;

	memset(&res, 0, sizeof(res));
	snprintf(res.result, sizeof(res.result), "%s", word);
	res.time_ms = rtt_us >= 0 ? (double)rtt_us / 1000.0 : -1.0;
	snprintf(res.responder, sizeof(res.responder), "%s", responder ? responder : "");
	if (mpls_count > 0) {
		memcpy(res.mpls, mpls, (size_t)mpls_count * sizeof(*mpls));
		res.mpls_count = mpls_count;
	}
	memcpy(res.address, p->address, sizeof(res.address));
	res.ip_version = p->ip_version;
	stats_count_result(word);
	if (p->trace_id) {
		trace_probe_done(p->trace_id, p->trace_ttl, p->trace_round, &res, MP_OK, NULL);
	} else {
		line = mp_encode_probe_result(&p->req_id, &res, &len);
		if (line)
			conn_deliver(p->conn_id, line, len);
		else
			conn_deliver_error(p->conn_id, &p->req_id, MP_ERR_PROCESS, "out of memory");
	}
	S.completed++;
	probe_retire(p);
}

/* p is resolved and has its source address: queue it for a worker. */
static void probe_enqueue(struct probe *p)
{
	struct sched_client *c = p->client;

	S.n_resolving--;
	S.n_queued++;
	p->state = PROBE_QUEUED;
	TAILQ_INSERT_TAIL(&c->queue, p, qlink);
	client_schedule(c);
	sched_kick();
}

/* Find p's source address with a routing lookup, then queue it. */
static void probe_route(struct probe *p)
{
	int r = route_source(p->address, p->ip_version, p->opts.mark, p->local_ip);

	if (r < 0) {
		/* mtr-packet would answer the same; it is spared a crash. */
		probe_answer(p, route_error_word(r), -1, NULL, NULL, 0);
		return;
	}
	probe_enqueue(p);
}

/* The source address came from a lookup of local_ip. */
static void probe_local_result(struct probe *p, const struct dnscache_result *res)
{
	for (int i = 0; i < res->count; i++) {
		if (res->addrs[i].ip_version == p->ip_version) {
			memcpy(p->local_ip, res->addrs[i].text, sizeof(p->local_ip));
			probe_enqueue(p);
			return;
		}
	}
	probe_fail(p, MP_ERR_HOST_RESOLVE, "local_ip: %s has no IPv%d address", p->opts.local_ip,
		   p->ip_version);
}

/* The target address is known: settle the source address. */
static void probe_target_known(struct probe *p)
{
	struct dnscache_result res;
	char lit[MP_ADDR_MAX];
	int v;

	if (!p->opts.local_ip[0]) {
		probe_route(p);
		return;
	}
	v = addr_literal_version(p->opts.local_ip, lit);
	if (v) {
		if (v != p->ip_version) {
			probe_fail(p, MP_ERR_HOST_RESOLVE, "local_ip: %s is not an IPv%d address",
				   p->opts.local_ip, p->ip_version);
			return;
		}
		memcpy(p->local_ip, lit, sizeof(p->local_ip));
		probe_enqueue(p);
		return;
	}
	p->resolving_local = true;
	switch (dns_resolve(p->opts.local_ip, p->ip_version, p->id, &res)) {
	case DNSCACHE_HIT:
	case DNSCACHE_NEGATIVE:
		probe_local_result(p, &res);
		break;
	case DNSCACHE_MISS:
		break; /* sched_dns_done() goes on */
	}
}

/* The target's lookup finished: pick the address to probe. */
static void probe_host_result(struct probe *p, const struct dnscache_result *res)
{
	const struct dnscache_addr *pick = NULL;
	char src[MP_ADDR_MAX];

	for (int i = 0; i < res->count && !pick; i++) {
		const struct dnscache_addr *a = &res->addrs[i];

		if (p->opts.ip_version && a->ip_version != p->opts.ip_version)
			continue;
		/* Without a wanted version: the first one the host can route to. */
		if (!p->opts.ip_version &&
		    route_source(a->text, a->ip_version, p->opts.mark, src) < 0)
			continue;
		pick = a;
	}
	if (!pick && !p->opts.ip_version && res->count > 0)
		pick = &res->addrs[0];
	if (!pick) {
		if (p->opts.ip_version)
			probe_fail(p, MP_ERR_HOST_RESOLVE, "host: %s has no IPv%d address",
				   p->opts.host, p->opts.ip_version);
		else
			probe_fail(p, MP_ERR_HOST_RESOLVE, "host: cannot resolve %s", p->opts.host);
		return;
	}
	memcpy(p->address, pick->text, sizeof(p->address));
	p->ip_version = pick->ip_version;
	probe_target_known(p);
}

/* A lookup for probe cookie finished. */
void sched_dns_done(uint64_t cookie, const struct dnscache_result *res)
{
	struct probe *p = idmap_get(&S.probes, cookie);

	if (!p || p->state != PROBE_RESOLVING)
		return;
	if (p->resolving_local)
		probe_local_result(p, res);
	else
		probe_host_result(p, res);
}

/* Start resolving p's host: literals at once, names through the cache. */
static void probe_resolve(struct probe *p)
{
	struct dnscache_result res;
	char lit[MP_ADDR_MAX];
	int v = addr_literal_version(p->opts.host, lit);

	if (v) {
		if (p->opts.ip_version && p->opts.ip_version != v) {
			probe_fail(p, MP_ERR_HOST_RESOLVE, "host: %s is not an IPv%d address",
				   p->opts.host, p->opts.ip_version);
			return;
		}
		memcpy(p->address, lit, sizeof(p->address));
		p->ip_version = v;
		probe_target_known(p);
		return;
	}
	switch (dns_resolve(p->opts.host, p->opts.ip_version, p->id, &res)) {
	case DNSCACHE_HIT:
	case DNSCACHE_NEGATIVE:
		probe_host_result(p, &res);
		break;
	case DNSCACHE_MISS:
		break; /* sched_dns_done() goes on */
	}
}

/* Admit a probe for conn_id (of uid): a request's, or (trace_id) a trace's. */
static enum mp_error probe_submit(uint64_t conn_id, uid_t uid, struct mp_id *id,
				  const struct mp_probe_opts *opts, uint64_t trace_id, int ttl,
				  int round, char errmsg[MP_ERRMSG_MAX])
{
	struct sched_client *c;
	struct probe *p;
	struct timeval tv;

	if (srv.stopping) {
		snprintf(errmsg, MP_ERRMSG_MAX, "op: the daemon is shutting down");
		return MP_ERR_SHUTTING_DOWN;
	}
	if (S.n_resolving + S.n_queued >= (size_t)srv.cfg.max_queued) {
		snprintf(errmsg, MP_ERRMSG_MAX, "op: %d probes are already waiting (max_queued)",
			 srv.cfg.max_queued);
		return MP_ERR_OVERLOADED;
	}
	c = client_get(conn_id, true);
	if (c)
		c->uid = uid;
	p = calloc(1, sizeof(*p));
	if (!c || !p || idmap_put(&S.probes, S.next_id + 1, p) < 0) {
		free(p);
		snprintf(errmsg, MP_ERRMSG_MAX, "op: out of memory");
		return MP_ERR_OVERLOADED;
	}
	p->task.kind = WTASK_PROBE;
	p->id = ++S.next_id;
	p->conn_id = conn_id;
	if (id) {
		p->req_id = *id;
		memset(id, 0, sizeof(*id));
	}
	p->opts = *opts;
	p->trace_id = trace_id;
	p->trace_ttl = ttl;
	p->trace_round = round;
	p->deadline = mono_now() + p->opts.timeout;
	p->state = PROBE_RESOLVING;
	p->client = c;
	TAILQ_INSERT_TAIL(&c->unsent, p, clink);
	S.n_resolving++;
	S.started++;
	evtimer_assign(&p->timer, srv.base, probe_timer_cb, p);
	tv = tv_from_seconds(p->opts.timeout);
	evtimer_add(&p->timer, &tv);
	probe_resolve(p);
	return MP_OK;
}

/* Admit a probe request. */
enum mp_error sched_submit_probe(uint64_t conn_id, uid_t uid, struct mp_request *req,
				 char errmsg[MP_ERRMSG_MAX])
{
	return probe_submit(conn_id, uid, &req->id, &req->probe, 0, 0, 0, errmsg);
}

/* Admit one probe of a trace. */
enum mp_error sched_submit_trace_probe(uint64_t conn_id, uid_t uid, uint64_t trace_id, int ttl,
				       int round, const struct mp_probe_opts *opts,
				       char errmsg[MP_ERRMSG_MAX])
{
	return probe_submit(conn_id, uid, NULL, opts, trace_id, ttl, round, errmsg);
}

/* A probe's deadline (or, once answered, its hung-worker check) passed. */
static void probe_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct probe *p = arg;

	switch (p->state) {
	case PROBE_RESOLVING:
		probe_fail(p, MP_ERR_HOST_RESOLVE, "%s: resolving %s timed out",
			   p->resolving_local ? "local_ip" : "host",
			   p->resolving_local ? p->opts.local_ip : p->opts.host);
		break;
	case PROBE_QUEUED:
		if (!pool_any_alive())
			probe_fail(p, MP_ERR_PROCESS, "no mtr-packet worker is running");
		else
			probe_fail(p, MP_ERR_OVERLOADED,
				   "timeout: expired before a worker had room for the probe");
		sched_kick(); /* p may have held up the probes queued behind it */
		break;
	case PROBE_SENT:
		probe_answer(p, "no-reply", -1, NULL, NULL, 0);
		break;
	case PROBE_ORPHAN:
		pool_worker_hung(p->worker);
		break;
	}
}

/* Send p to w; on failure answer it. */
static void probe_send(struct probe *p, struct worker *w)
{
	double remaining = p->deadline - mono_now();
	int r;

	probe_unlink(p);
	p->state = PROBE_SENT;
	S.n_sent++;
	p->mtr_timeout = (int)ceil(remaining);
	if (p->mtr_timeout < 1)
		p->mtr_timeout = 1;
	r = pool_send(w, p);
	if (r < 0) {
		log_error("probe %llu could not be formatted for mtr-packet: %s",
			  (unsigned long long)p->id, strerror(-r));
		probe_fail(p, MP_ERR_PROCESS, "the probe could not be sent to mtr-packet");
	}
}

/*
 * The first of c's first DISPATCH_LOOKAHEAD queued probes that a worker has
 * room for, so that a probe waiting for a busy class of worker (TCP at its
 * cap, a paused UDP destination) does not hold up the rest.
 */
static struct worker *pick_from_client(struct sched_client *c, struct probe **ret)
{
	struct bucket *b = uid_bucket(c->uid);
	int n = 0;

	if (b) {
		bucket_refill(b, srv.cfg.uid_max_pps, mono_now());
		if (b->tokens < 1.0) {
			rate_wait(bucket_wait(b, srv.cfg.uid_max_pps));
			return NULL; /* this uid is at its rate; the others go on */
		}
	}

	for (struct probe *p = TAILQ_FIRST(&c->queue); p && n < DISPATCH_LOOKAHEAD;
	     p = TAILQ_NEXT(p, qlink), n++) {
		struct worker *w = pool_pick(p);

		if (w) {
			if (b)
				b->tokens -= 1.0;
			*ret = p;
			return w;
		}
	}
	return NULL;
}

/* True if max_pps allows one more probe now; else wake up when it does. */
static bool global_rate_ok(void)
{
	if (srv.cfg.max_pps <= 0)
		return true;
	bucket_refill(&S.global, srv.cfg.max_pps, mono_now());
	if (S.global.tokens >= 1.0)
		return true;
	rate_wait(bucket_wait(&S.global, srv.cfg.max_pps));
	return false;
}

/* Hand queued probes to workers, one per client in turn. */
static void dispatch_round(void)
{
	int budget = DISPATCH_BUDGET;

	while (!TAILQ_EMPTY(&S.rr) && budget > 0) {
		size_t pass = 0;
		struct sched_client *c, *last = TAILQ_LAST(&S.rr, sched_client_rr);

		/* One pass over the clients queued now, each giving one probe. */
		do {
			struct worker *w;
			struct probe *p = NULL;

			/* Stop before a client's turn is used up for nothing: it goes first next time. */
			if (!global_rate_ok() || pool_all_busy())
				return;
			c = TAILQ_FIRST(&S.rr);
			client_unschedule(c);
			w = pick_from_client(c, &p);
			if (w) {
				probe_send(p, w);
				if (srv.cfg.max_pps > 0)
					S.global.tokens -= 1.0;
				pass++;
				budget--;
			}
			client_schedule(c);
		} while (c != last && !TAILQ_EMPTY(&S.rr));
		if (pass == 0)
			return;
	}
	if (!TAILQ_EMPTY(&S.rr) && budget == 0)
		sched_kick();
}

/* The dispatcher's event: a round, then the workers confirm what was sent. */
static void dispatch_cb(evutil_socket_t fd, short what, void *arg)
{
	dispatch_round();
	pool_flush();
}

/* Put p back at the head of its client's queue, if the client is still here. */
static void probe_requeue(struct probe *p)
{
	struct sched_client *c = client_get(p->conn_id, false);

	if (!c) {
		probe_free(p);
		return;
	}
	probe_unlink(p);
	p->state = PROBE_QUEUED;
	p->client = c;
	S.n_queued++;
	TAILQ_INSERT_HEAD(&c->queue, p, qlink);
	TAILQ_INSERT_HEAD(&c->unsent, p, clink);
	client_schedule(c);
	sched_kick();
}

/* A worker answered p (its token is already released). */
void sched_probe_answered(struct probe *p, const struct mtrpkt_reply *r)
{
	if (p->state != PROBE_SENT) {
		probe_free(p); /* a late answer: the client had its no-reply */
		return;
	}
	if (r->kind != MTRPKT_REPLY_RESULT) {
		probe_fail(p, MP_ERR_PROCESS, "mtr-packet answered '%s' to a probe", r->word);
		return;
	}
	probe_answer(p, r->word, r->rtt_us, r->address, r->mpls, r->mpls_count);
}

/* p's worker is gone (token released): retry once, or fail. */
void sched_probe_lost(struct probe *p)
{
	if (p->state != PROBE_SENT) {
		probe_free(p);
		return;
	}
	if (!p->retried && p->deadline > mono_now() && !srv.stopping) {
		p->retried = true;
		S.retried++;
		probe_requeue(p);
		return;
	}
	probe_fail(p, MP_ERR_PROCESS, "the mtr-packet worker running the probe died");
}

/* p's worker had no room (token released): queue p again. */
void sched_probe_exhausted(struct probe *p)
{
	if (p->state != PROBE_SENT) {
		probe_free(p);
		return;
	}
	if (srv.stopping) {
		probe_fail(p, MP_ERR_SHUTTING_DOWN, "op: the daemon is shutting down");
		return;
	}
	probe_requeue(p);
}

/* Connection conn_id closed: drop its unsent probes. */
void sched_conn_gone(uint64_t conn_id)
{
	struct sched_client *c = idmap_del(&S.clients, conn_id);
	struct probe *p;

	if (!c)
		return;
	while ((p = TAILQ_FIRST(&c->unsent)))
		probe_free(p);
	client_unschedule(c);
	free(c);
}

/* Collect every probe in state st (the map must not change while iterating). */
static struct probe **probes_in_state(enum probe_state st, size_t *ret_n)
{
	size_t iter = 0, n = 0;
	struct probe **v = malloc((idmap_count(&S.probes) + 1) * sizeof(*v));
	uint64_t key;
	void *val;

	if (!v) {
		*ret_n = 0;
		return NULL;
	}
	while (idmap_next(&S.probes, &iter, &key, &val)) {
		struct probe *p = val;

		if (p->state == st)
			v[n++] = p;
	}
	*ret_n = n;
	return v;
}

/* Answer every probe in state st with shutting-down. */
static void fail_all_in_state(enum probe_state st)
{
	size_t n;
	struct probe **v = probes_in_state(st, &n);

	for (size_t i = 0; i < n; i++)
		probe_fail(v[i], MP_ERR_SHUTTING_DOWN, "op: the daemon is shutting down");
	free(v);
}

/* Stop: nothing unsent will be sent. */
void sched_shutdown(void)
{
	fail_all_in_state(PROBE_RESOLVING);
	fail_all_in_state(PROBE_QUEUED);
}

/* The shutdown timeout passed: answer the probes still out. */
void sched_abort_sent(void)
{
	fail_all_in_state(PROBE_SENT);
}

/* Probes out at workers and not answered yet. */
size_t sched_sent_count(void)
{
	return S.n_sent;
}

/* Free everything; workers are gone, so no token is held. */
void sched_free(void)
{
	size_t iter = 0;
	uint64_t key;
	void *val;

	while (idmap_next(&S.clients, &iter, &key, &val)) {
		struct sched_client *c = val;
		struct probe *p;

		while ((p = TAILQ_FIRST(&c->unsent)))
			probe_free(p);
		free(c);
	}
	idmap_free(&S.clients);
	TAILQ_INIT(&S.rr);
	iter = 0;
	while (idmap_next(&S.probes, &iter, &key, &val)) {
		struct probe *p = val;

		event_del(&p->timer);
		mp_id_clear(&p->req_id);
		free(p);
	}
	idmap_free(&S.probes);
	if (S.kick_ev)
		event_free(S.kick_ev);
	S.kick_ev = NULL;
	if (S.refill_ev)
		event_free(S.refill_ev);
	S.refill_ev = NULL;
	iter = 0;
	while (idmap_next(&S.buckets, &iter, &key, &val))
		free(val);
	idmap_free(&S.buckets);
}

/* Counters for stats. */
void sched_get_stats(struct sched_stats *ret)
{
	ret->started = S.started;
	ret->completed = S.completed;
	ret->retried = S.retried;
	ret->resolving = S.n_resolving;
	ret->queued = S.n_queued;
	ret->sent = S.n_sent;
}
