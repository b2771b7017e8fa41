/*
 * The probe lifecycle.  A probe is admitted (queue limits, shutdown), gets
 * a deadline, is resolved (DNS, then the source address), waits in its
 * owner's queue, is dispatched round-robin across owners to a worker with
 * room, within its uid's share of the pool, and ends exactly once: by the
 * worker's answer, by its deadline, by an error, or cancelled when its
 * owner goes away.  A probe whose worker dies is sent again, at most
 * RETRIES_MAX times.
 */
#include <errno.h>
#include <event2/event.h>
#include <event2/event_struct.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "dns.h"
#include "idmap.h"
#include "log.h"
#include "pool.h"
#include "route.h"
#include "sched.h"
#include "server.h"
#include "share.h"
#include "util.h"

/* Time a worker gets past mtr-packet's own timeout before it counts as hung. */
#define HUNG_GRACE_SECONDS 2.0
/* Most probes dispatched in one pass before other events get a turn. */
#define DISPATCH_BUDGET 4096
/* Times a probe is sent again after losing its worker. */
#define RETRIES_MAX 2
/* Queued probes of one owner looked at per turn. */
#define DISPATCH_LOOKAHEAD 16

enum probe_state {
	PROBE_RESOLVING,  /* waiting for DNS (host, then local_ip) */
	PROBE_QUEUED,     /* resolved, waiting for a worker */
	PROBE_SENT,       /* written to a worker, not answered yet */
	PROBE_ORPHAN      /* answered; its token maybe still held by a worker */
};

/* What one uid holds.  Owned by the user map; kept until sched_free(). */
struct sched_user {
	uid_t uid;
	int held[WTASK_QUESTION];  /* slots at workers, per class */
	size_t waiting;            /* RESOLVING and QUEUED */
	struct bucket bucket;      /* uid_max_pps */
};

/* One owner's probes not yet sent.  Owned by the owner map. */
struct sched_client {
	uint64_t key;
	bool exempt;
	struct sched_user *user;
	TAILQ_HEAD(, probe) queue;  /* QUEUED, in dispatch order */
	TAILQ_HEAD(, probe) unsent; /* RESOLVING and QUEUED */
	bool on_rr;
	TAILQ_ENTRY(sched_client) rrlink;
};

/*
 * One probe.  Owned by the probe map; while SENT or ORPHAN its worker
 * holds its task, and it lives until the worker lets go.
 */
struct probe {
	struct wtask task;          /* held by a worker while SENT or ORPHAN */
	uint64_t id;
	uint64_t owner;             /* its owner's key */
	bool exempt;
	struct sched_user *user;
	sched_done_fn done;
	void *arg;
	uint64_t tag;
	struct mp_probe_opts opts;
	enum probe_state state;
	bool resolving_local;       /* RESOLVING: the address is known, local_ip is not */
	int retries;                /* times re-sent after a worker died */
	bool was_sent;              /* handed to a worker at least once */
	int ip_version;             /* of the target, once resolved */
	char address[MP_ADDR_MAX];  /* target, once resolved */
	char local_ip[MP_ADDR_MAX]; /* source, once known */
	double deadline;            /* monotonic: answer no later than this */
	double sent_at;             /* monotonic, when written to a worker */
	int mtr_timeout;            /* whole seconds given to mtr-packet */
	struct sched_client *client;/* QUEUED, RESOLVING: the owning queue */
	TAILQ_ENTRY(probe) qlink;   /* client queue (QUEUED) */
	TAILQ_ENTRY(probe) clink;   /* client's list of unsent probes */
	struct event timer;         /* deadline, then the hung-worker check */
};

static const char *const result_words[SCHED_N_RESULTS] = { SCHED_RESULT_WORDS };

static struct {
	struct bucket global;  /* max_pps */
	struct event *refill_ev;
	double refill_at;      /* when refill_ev fires */
	struct idmap probes;   /* probe id -> struct probe */
	struct idmap clients;  /* owner key -> struct sched_client */
	struct idmap users;    /* uid + 1 -> struct sched_user */
	TAILQ_HEAD(sched_client_rr, sched_client) rr; /* owners with queued probes, round-robin */
	uint64_t next_id;
	struct event *kick_ev;
	size_t n_resolving, n_queued, n_sent;
	uint64_t started, completed, retried, cancelled, share_waits;
	uint64_t results[SCHED_N_RESULTS];
} S;

static void probe_timer_cb(evutil_socket_t fd, short what, void *arg);
static void dispatch_cb(evutil_socket_t fd, short what, void *arg);
static void probe_task_done(struct wtask *t, struct worker *w, enum wtask_end how,
			    const struct mtrpkt_reply *r);

/* Set up the scheduler. */
int sched_init(void)
{
	idmap_init(&S.probes);
	idmap_init(&S.clients);
	idmap_init(&S.users);
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

/* The record of uid, created on first use. */
static struct sched_user *user_get(uid_t uid)
{
	bool created;
	struct sched_user *u = idmap_get_or_new(&S.users, (uint64_t)uid + 1, sizeof(*u), &created);

	if (u && created)
		u->uid = uid;
	return u;
}

/* The queue of owner o, created on first use. */
static struct sched_client *client_get(const struct sched_owner *o)
{
	struct sched_client *c = idmap_get(&S.clients, o->key);
	struct sched_user *u;

	if (c)
		return c;
	u = user_get(o->uid);
	c = u ? calloc(1, sizeof(*c)) : NULL;
	if (!c)
		return NULL;
	c->key = o->key;
	c->exempt = o->exempt;
	c->user = u;
	TAILQ_INIT(&c->queue);
	TAILQ_INIT(&c->unsent);
	if (idmap_put(&S.clients, o->key, c) < 0) {
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

/* The worker class of p's protocol. */
static enum wtask_class probe_class(const struct probe *p)
{
	switch (p->opts.protocol) {
	case MP_PROTO_UDP:
		return WTASK_UDP;
	case MP_PROTO_TCP:
	case MP_PROTO_SCTP:
		return WTASK_TCP;
	case MP_PROTO_ICMP:
	case MP_PROTO__COUNT:
		break;
	}
	return WTASK_ICMP;
}

/* Detach p from its owner's lists and the state counters. */
static void probe_unlink(struct probe *p)
{
	switch (p->state) {
	case PROBE_RESOLVING:
		TAILQ_REMOVE(&p->client->unsent, p, clink);
		S.n_resolving--;
		p->user->waiting--;
		break;
	case PROBE_QUEUED:
		TAILQ_REMOVE(&p->client->queue, p, qlink);
		TAILQ_REMOVE(&p->client->unsent, p, clink);
		if (TAILQ_EMPTY(&p->client->queue))
			client_unschedule(p->client);
		S.n_queued--;
		p->user->waiting--;
		break;
	case PROBE_SENT:
		S.n_sent--;
		break;
	case PROBE_ORPHAN:
		break;
	}
	p->client = NULL;
}

/* Free p; its worker must no longer hold its task. */
static void probe_free(struct probe *p)
{
	probe_unlink(p);
	event_del(&p->timer);
	idmap_del(&S.probes, p->id);
	free(p);
}

/* p has ended (ORPHAN, unlinked): free it, or keep it until its worker lets go. */
static void probe_retire(struct probe *p)
{
	if (p->task.worker) {
		/* mtr-packet must answer by its own timeout; if not, it is hung. */
		double when = p->sent_at + p->mtr_timeout + HUNG_GRACE_SECONDS;
		struct timeval tv = tv_from_seconds(when - mono_now());
		evtimer_add(&p->timer, &tv);
		return;
	}
	probe_free(p);
}

/*
 * Count p completed, hand its outcome to its submitter, and retire p.  p
 * leaves its owner's queue and the state counters first: the callback
 * may submit more, or end the owner, and must find p answered already.
 */
static void probe_end(struct probe *p, struct sched_outcome *o)
{
	o->sent = p->was_sent;
	o->address = p->address;
	o->ip_version = p->ip_version;
	if (!o->msg)
		o->msg = "";
	S.completed++;
	probe_unlink(p);
	p->state = PROBE_ORPHAN;
	p->done(p->arg, p->tag, o);
	probe_retire(p);
}

/* End p with an error. */
static void probe_fail(struct probe *p, enum mp_error code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void probe_fail(struct probe *p, enum mp_error code, const char *fmt, ...)
{
	char msg[MP_ERRMSG_MAX];
	struct sched_outcome o = { .err = code, .msg = msg };
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	probe_end(p, &o);
}

/* End p with a probe result. */
static void probe_answer(struct probe *p, const char *word, long rtt_us, const char *responder,
			 const struct mp_mpls *mpls, int mpls_count)
{
	struct mp_probe_result res;
	struct sched_outcome o = { .err = MP_OK, .res = &res };
	int i;

	memset(&res, 0, sizeof(res));
	str_copy(res.result, sizeof(res.result), word);
	res.time_ms = rtt_us >= 0 ? (double)rtt_us / 1000.0 : -1.0;
	str_copy(res.responder, sizeof(res.responder), responder ? responder : "");
	if (mpls_count > 0) {
		memcpy(res.mpls, mpls, (size_t)mpls_count * sizeof(*mpls));
		res.mpls_count = mpls_count;
	}
	memcpy(res.address, p->address, sizeof(res.address));
	res.ip_version = p->ip_version;
	for (i = 0; i + 1 < SCHED_N_RESULTS; i++)
		if (strcmp(word, result_words[i]) == 0)
			break;
	S.results[i]++;
	probe_end(p, &o);
}

/* End p cancelled: its owner is gone. */
static void probe_cancel(struct probe *p)
{
	struct sched_outcome o = { .err = MP_ERR_SHUTTING_DOWN, .msg = "owner gone",
				   .cancelled = true };

	S.cancelled++;
	probe_end(p, &o);
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

/* True for errors of the routing lookup that are the daemon's own shortage, not the network's. */
static bool route_error_is_local(int r)
{
	return r == -EMFILE || r == -ENFILE || r == -ENOBUFS || r == -ENOMEM;
}

/* Find p's source address with a routing lookup, then queue it. */
static void probe_route(struct probe *p)
{
	int r = route_source(p->address, p->ip_version, p->opts.mark, p->local_ip);

	if (route_error_is_local(r)) {
		probe_fail(p, MP_ERR_OVERLOADED, "op: no descriptor free for the routing lookup (%s)",
			   strerror(-r));
		return;
	}
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

/* Admit a probe for owner. */
enum mp_error sched_submit(const struct sched_owner *owner, const struct mp_probe_opts *opts,
			   sched_done_fn done, void *arg, uint64_t tag, char errmsg[MP_ERRMSG_MAX])
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
	c = client_get(owner);
	if (c && !owner->exempt && srv.cfg.uid_max_queued > 0 &&
	    c->user->waiting >= (size_t)srv.cfg.uid_max_queued) {
		snprintf(errmsg, MP_ERRMSG_MAX,
			 "op: this user has %d probes waiting already (uid_max_queued)",
			 srv.cfg.uid_max_queued);
		return MP_ERR_OVERLOADED;
	}
	p = c ? calloc(1, sizeof(*p)) : NULL;
	if (!p || idmap_put(&S.probes, S.next_id + 1, p) < 0) {
		free(p);
		snprintf(errmsg, MP_ERRMSG_MAX, "op: out of memory");
		return MP_ERR_OVERLOADED;
	}
	p->id = ++S.next_id;
	p->owner = owner->key;
	p->exempt = owner->exempt;
	p->user = c->user;
	p->done = done;
	p->arg = arg;
	p->tag = tag;
	p->opts = *opts;
	p->task.done = probe_task_done;
	p->task.cls = probe_class(p);
	p->deadline = mono_now() + p->opts.timeout;
	p->state = PROBE_RESOLVING;
	p->client = c;
	TAILQ_INSERT_TAIL(&c->unsent, p, clink);
	S.n_resolving++;
	c->user->waiting++;
	S.started++;
	evtimer_assign(&p->timer, srv.base, probe_timer_cb, p);
	tv = tv_from_seconds(p->opts.timeout);
	evtimer_add(&p->timer, &tv);
	probe_resolve(p);
	return MP_OK;
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
		/* Its worker still holds it long past mtr-packet's own timeout. */
		if (p->task.worker)
			pool_worker_hung(p->task.worker);
		else
			probe_free(p); /* the pool let go of it without an answer (exit path) */
		break;
	}
}

/* Send p to w; on failure end it with an error. */
static void probe_send(struct probe *p, struct worker *w)
{
	double remaining = p->deadline - mono_now();
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
	};
	int r;

	probe_unlink(p);
	p->state = PROBE_SENT;
	S.n_sent++;
	p->mtr_timeout = (int)ceil(remaining);
	if (p->mtr_timeout < 1)
		p->mtr_timeout = 1;
	cmd.timeout_s = p->mtr_timeout;
	memcpy(cmd.address, p->address, sizeof(cmd.address));
	memcpy(cmd.local_ip, p->local_ip, sizeof(cmd.local_ip));
	r = pool_send(w, &p->task, &cmd);
	if (r < 0) {
		log_error("probe %llu could not be sent to mtr-packet: %s",
			  (unsigned long long)p->id, strerror(-r));
		probe_fail(p, MP_ERR_PROCESS, "the probe could not be sent to mtr-packet");
		return;
	}
	p->was_sent = true;
	p->sent_at = mono_now();
	p->user->held[p->task.cls]++;
}

/* Most slots of class cls one uid may hold: uid_max_share percent of the pool at its maximum. */
static int uid_share(enum wtask_class cls)
{
	return share_cap(pool_capacity(cls), srv.cfg.uid_max_share);
}

/*
 * The first of c's first DISPATCH_LOOKAHEAD queued probes that its uid's
 * share allows and a worker has room for, so that a probe waiting for a
 * busy class of worker (TCP at its cap, the uid's ICMP share spent) does
 * not hold up the rest.
 */
static struct worker *pick_from_client(struct sched_client *c, struct probe **ret)
{
	struct bucket *b = NULL;
	int n = 0;

	if (srv.cfg.uid_max_pps > 0 && !c->exempt) {
		b = &c->user->bucket;
		bucket_refill(b, srv.cfg.uid_max_pps, mono_now());
		if (b->tokens < 1.0) {
			rate_wait(bucket_wait(b, srv.cfg.uid_max_pps));
			return NULL; /* this uid is at its rate; the others go on */
		}
	}
	for (struct probe *p = TAILQ_FIRST(&c->queue); p && n < DISPATCH_LOOKAHEAD;
	     p = TAILQ_NEXT(p, qlink), n++) {
		struct worker *w;

		if (!c->exempt && c->user->held[p->task.cls] >= uid_share(p->task.cls)) {
			S.share_waits++;
			continue;
		}
		w = pool_pick(p->task.cls);
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

/* Hand queued probes to workers, one per owner in turn. */
static void dispatch_round(void)
{
	int budget = DISPATCH_BUDGET;

	while (!TAILQ_EMPTY(&S.rr) && budget > 0) {
		size_t pass = 0;
		struct sched_client *c, *last = TAILQ_LAST(&S.rr, sched_client_rr);

		/* One pass over the owners queued now, each giving one probe. */
		do {
			struct worker *w;
			struct probe *p = NULL;

			/* Stop before a turn is used up for nothing: it goes first next time. */
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

/* Put p back at the head of its owner's queue, or cancel it if the owner is gone. */
static void probe_requeue(struct probe *p)
{
	struct sched_client *c = idmap_get(&S.clients, p->owner);

	if (!c) {
		probe_cancel(p);
		return;
	}
	probe_unlink(p);
	p->state = PROBE_QUEUED;
	p->client = c;
	S.n_queued++;
	p->user->waiting++;
	TAILQ_INSERT_HEAD(&c->queue, p, qlink);
	TAILQ_INSERT_HEAD(&c->unsent, p, clink);
	client_schedule(c);
	sched_kick();
}

/* p's worker let go of it: answered, exhausted, or lost with the worker. */
static void probe_task_done(struct wtask *t, struct worker *w, enum wtask_end how,
			    const struct mtrpkt_reply *r)
{
	struct probe *p = (struct probe *)((char *)t - offsetof(struct probe, task));

	p->user->held[t->cls]--;
	if (p->state != PROBE_SENT) {
		probe_free(p); /* ended already (deadline, shutdown): nothing more to say */
		return;
	}
	switch (how) {
	case WTASK_ANSWERED:
		if (r->kind != MTRPKT_REPLY_RESULT)
			probe_fail(p, MP_ERR_PROCESS, "mtr-packet answered '%s' to a probe", r->word);
		else
			probe_answer(p, r->word, r->rtt_us, r->address, r->mpls, r->mpls_count);
		break;
	case WTASK_EXHAUSTED:
		if (srv.stopping)
			probe_fail(p, MP_ERR_SHUTTING_DOWN, "op: the daemon is shutting down");
		else
			probe_requeue(p);
		break;
	case WTASK_LOST:
		if (p->retries < RETRIES_MAX && p->deadline > mono_now() && !srv.stopping) {
			p->retries++;
			S.retried++;
			probe_requeue(p);
		} else {
			probe_fail(p, MP_ERR_PROCESS, "the mtr-packet worker running the probe died");
		}
		break;
	}
}

/* Owner key is gone: its unsent probes end cancelled; sent ones end as usual. */
void sched_owner_gone(uint64_t key)
{
	struct sched_client *c = idmap_del(&S.clients, key);
	struct probe *p;

	if (!c)
		return;
	while ((p = TAILQ_FIRST(&c->unsent)))
		probe_cancel(p);
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

/* Free everything without callbacks; workers are gone, so no task is held. */
void sched_free(void)
{
	size_t iter = 0;
	uint64_t key;
	void *val;

	while (idmap_next(&S.clients, &iter, &key, &val))
		free(val);
	idmap_free(&S.clients);
	TAILQ_INIT(&S.rr);
	iter = 0;
	while (idmap_next(&S.probes, &iter, &key, &val)) {
		struct probe *p = val;

		event_del(&p->timer);
		free(p);
	}
	idmap_free(&S.probes);
	iter = 0;
	while (idmap_next(&S.users, &iter, &key, &val))
		free(val);
	idmap_free(&S.users);
	if (S.kick_ev)
		event_free(S.kick_ev);
	S.kick_ev = NULL;
	if (S.refill_ev)
		event_free(S.refill_ev);
	S.refill_ev = NULL;
}

/* Counters for stats. */
void sched_get_stats(struct sched_stats *ret)
{
	ret->started = S.started;
	ret->completed = S.completed;
	ret->retried = S.retried;
	ret->cancelled = S.cancelled;
	ret->share_waits = S.share_waits;
	ret->resolving = S.n_resolving;
	ret->queued = S.n_queued;
	ret->sent = S.n_sent;
	memcpy(ret->results, S.results, sizeof(ret->results));
}

/* The name of result counter i. */
const char *sched_result_word(int i)
{
	return i >= 0 && i < SCHED_N_RESULTS ? result_words[i] : "other";
}
