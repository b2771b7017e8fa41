/*
 * The probe lifecycle.  A probe is admitted (queue limits, shutdown), gets
 * a deadline, is resolved (resolve.c: DNS, then the source address),
 * waits in its owner's queue, is dispatched round-robin across owners to
 * a worker with room, within its uid's share of the pool, and ends
 * exactly once: by the worker's answer, by its deadline, by an error, or
 * cancelled when its owner goes away.  A probe whose worker dies is sent
 * again, at most RETRIES_MAX times.  Every probe's timer is a node of one
 * heap (dheap.c) under a single timer event, and its record comes from a
 * free list.
 */
#include <errno.h>
#include <event2/event.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "dheap.h"
#include "freelist.h"
#include "idmap.h"
#include "log.h"
#include "pool.h"
#include "probe.h"
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
/* Probe records kept for reuse once their probes ended (given back when idle). */
#define PROBE_RECORDS_KEPT 4096

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

static const char *const result_words[SCHED_N_RESULTS] = { SCHED_RESULT_WORDS };

static struct {
	struct bucket global;  /* max_pps */
	struct event *refill_ev;
	double refill_at;      /* when refill_ev fires */
	struct dheap timers;   /* every probe, by when its timer is due */
	struct event *timer_ev;/* at the earliest of them */
	double timer_at;       /* when timer_ev fires */
	struct freelist records; /* probe records for reuse */
	struct idmap clients;  /* owner key -> struct sched_client */
	struct idmap users;    /* uid + 1 -> struct sched_user */
	TAILQ_HEAD(sched_client_rr, sched_client) rr; /* owners with queued probes, round-robin */
	uint64_t next_id;
	struct event *kick_ev;
	size_t n_resolving, n_queued, n_sent;
	uint64_t started, completed, retried, cancelled, share_waits;
	uint64_t results[SCHED_N_RESULTS];
} S;

static void probe_timer_cb(struct probe *p);
static void timers_cb(evutil_socket_t fd, short what, void *arg);
static void dispatch_cb(evutil_socket_t fd, short what, void *arg);
static void probe_task_done(struct wtask *t, struct worker *w, enum wtask_end how,
			    const struct mtrpkt_reply *r);

/* Set up the scheduler. */
int sched_init(void)
{
	idmap_init(&S.clients);
	idmap_init(&S.users);
	dheap_init(&S.timers);
	freelist_init(&S.records, sizeof(struct probe), PROBE_RECORDS_KEPT);
	TAILQ_INIT(&S.rr);
	S.kick_ev = event_new(srv.base, -1, 0, dispatch_cb, NULL);
	S.refill_ev = evtimer_new(srv.base, dispatch_cb, NULL);
	S.timer_ev = evtimer_new(srv.base, timers_cb, NULL);
	return S.kick_ev && S.refill_ev && S.timer_ev ? 0 : -ENOMEM;
}

/* The probe whose timer node is t. */
static struct probe *probe_of_timer(struct dheap_node *t)
{
	return (struct probe *)((char *)t - offsetof(struct probe, timer));
}

/* Set timer_ev for the earliest timer, unless it fires before that already. */
static void timers_rearm(void)
{
	struct dheap_node *top = dheap_top(&S.timers);
	struct timeval tv;

	if (!top || top->due == INFINITY)
		return; /* a timer_ev still set just finds nothing due */
	if (event_pending(S.timer_ev, EV_TIMEOUT, NULL) && S.timer_at <= top->due)
		return;
	S.timer_at = top->due;
	tv = tv_from_seconds(top->due - mono_now());
	evtimer_add(S.timer_ev, &tv);
}

/* Run the timers that are due; each is disarmed (due INFINITY) before its probe hears of it. */
static void timers_cb(evutil_socket_t fd, short what, void *arg)
{
	double now = mono_now();
	struct dheap_node *top;

	while ((top = dheap_top(&S.timers)) && top->due <= now) {
		dheap_update(&S.timers, top, INFINITY);
		probe_timer_cb(probe_of_timer(top));
	}
	timers_rearm();
}

/* Set p's timer to due (INFINITY: none). */
static void probe_arm(struct probe *p, double due)
{
	dheap_update(&S.timers, &p->timer, due);
	if (dheap_top(&S.timers) == &p->timer)
		timers_rearm();
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
	switch (p->o.protocol) {
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
	probe_names_drop(p);
	dheap_remove(&S.timers, &p->timer);
	freelist_put(&S.records, p);
}

/* p has ended (ORPHAN, unlinked): free it, or keep it until its worker lets go. */
static void probe_retire(struct probe *p)
{
	if (p->task.worker) {
		/* mtr-packet must answer by its own timeout; if not, it is hung. */
		probe_arm(p, p->sent_at + p->mtr_timeout + HUNG_GRACE_SECONDS);
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
	probe_names_drop(p);
	p->state = PROBE_ORPHAN;
	p->done(p->arg, p->tag, o);
	probe_retire(p);
}

/* End p with an error. */
void probe_fail(struct probe *p, enum mp_error code, const char *fmt, ...)
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
void probe_answer(struct probe *p, const char *word, long rtt_us, const char *responder,
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
void probe_enqueue(struct probe *p)
{
	struct sched_client *c = p->client;

	probe_names_drop(p);
	S.n_resolving--;
	S.n_queued++;
	p->state = PROBE_QUEUED;
	TAILQ_INSERT_TAIL(&c->queue, p, qlink);
	client_schedule(c);
	sched_kick();
}

/* Keep what p needs of opts (validated by the protocol codec); its names only for now. */
static void probe_set_opts(struct probe *p, const struct mp_probe_opts *opts)
{
	p->host = opts->host;
	p->local = opts->local_ip;
	p->o.protocol = (uint8_t)opts->protocol;
	p->o.want_version = (uint8_t)opts->ip_version;
	p->o.ttl = (uint8_t)opts->ttl;
	p->o.tos = (uint8_t)opts->tos;
	p->o.bit_pattern = (uint8_t)opts->bit_pattern;
	p->o.port = (uint16_t)opts->port;
	p->o.local_port = (uint16_t)opts->local_port;
	p->o.size = (int16_t)opts->size;
	p->o.has_mark = opts->mark >= 0;
	p->o.mark = p->o.has_mark ? (uint32_t)opts->mark : 0;
}

/* Admit a probe for owner. */
enum mp_error sched_submit(const struct sched_owner *owner, const struct mp_probe_opts *opts,
			   sched_done_fn done, void *arg, uint64_t tag, char errmsg[MP_ERRMSG_MAX])
{
	struct sched_client *c;
	struct probe *p;

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
	p = c ? freelist_get(&S.records) : NULL;
	if (!p || dheap_add(&S.timers, &p->timer, INFINITY) < 0) {
		freelist_put(&S.records, p);
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
	probe_set_opts(p, opts);
	p->task.done = probe_task_done;
	p->task.cls = probe_class(p);
	p->deadline = mono_now() + opts->timeout;
	p->state = PROBE_RESOLVING;
	p->client = c;
	TAILQ_INSERT_TAIL(&c->unsent, p, clink);
	S.n_resolving++;
	c->user->waiting++;
	S.started++;
	probe_arm(p, p->deadline);
	probe_resolve(p); /* past this, p may be gone */
	return MP_OK;
}

/* A probe's deadline (or, once answered, its hung-worker check) passed. */
static void probe_timer_cb(struct probe *p)
{
	switch (p->state) {
	case PROBE_RESOLVING:
		probe_fail(p, MP_ERR_HOST_RESOLVE, "%s: resolving %s timed out",
			   p->resolving_local ? "local_ip" : "host",
			   p->resolving_local ? p->local : p->host);
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
		.protocol = (enum mp_protocol)p->o.protocol,
		.port = p->o.port,
		.local_port = p->o.local_port,
		.ttl = p->o.ttl,
		.size = p->o.size,
		.bit_pattern = p->o.bit_pattern,
		.tos = p->o.tos,
		.mark = probe_mark(p),
	};
	int r;

	probe_unlink(p);
	p->state = PROBE_SENT;
	S.n_sent++;
	p->mtr_timeout = remaining > 1 ? (uint16_t)ceil(remaining) : 1;
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

/* Collect every probe in state st (from the timer heap, which holds them all). */
static struct probe **probes_in_state(enum probe_state st, size_t *ret_n)
{
	size_t n = 0;
	struct probe **v = malloc(((size_t)dheap_count(&S.timers) + 1) * sizeof(*v));

	if (!v) {
		*ret_n = 0;
		return NULL;
	}
	for (uint32_t i = 0; i < dheap_count(&S.timers); i++) {
		struct probe *p = probe_of_timer(dheap_at(&S.timers, i));

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
	for (uint32_t i = 0; i < dheap_count(&S.timers); i++) {
		struct probe *p = probe_of_timer(dheap_at(&S.timers, i));

		if (p->names_owned)
			free((char *)p->host);
		free(p);
	}
	dheap_free(&S.timers);
	freelist_trim(&S.records);
	resolve_free();
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
	if (S.timer_ev)
		event_free(S.timer_ev);
	S.timer_ev = NULL;
}

/* Idle: give back the probe records kept and the tables' spare room. */
void sched_trim(void)
{
	freelist_trim(&S.records);
	dheap_shrink(&S.timers);
	resolve_trim();
	idmap_shrink(&S.clients);
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
