/*
 * The trace operation.  A trace runs `count` rounds; in each, one probe per
 * TTL from first_ttl up is submitted at once to the scheduler (in its
 * owner's queue, so traces share the pool fairly with probes).  A round
 * ends when every probe of it has ended; the next starts `interval`
 * seconds after the previous one started.  Once the target itself answered
 * at some TTL, higher TTLs are no longer probed and are left out of the
 * answer.  With stream, every hop up to the target gets a hop event at the
 * end of every round (only then is it known where the target is), before
 * the final answer.  A trace answered early (an error, its owner gone)
 * stays, silent, until its outstanding probes have ended.
 */
#include <errno.h>
#include <event2/event.h>
#include <event2/event_struct.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "hopstats.h"
#include "route.h"
#include "sched.h"
#include "server.h"
#include "trace.h"
#include "util.h"

/* One trace.  Owned by the trace list; its probes' callbacks point at it. */
struct trace {
	struct sched_owner owner;
	const struct trace_sink *sink;
	void *arg;
	bool answered;           /* sink->answer ran: silent from now on */
	struct mp_probe_opts popts;
	struct mp_trace_opts topts;
	int round;               /* current round, 0-based */
	int outstanding;         /* probes submitted and not ended */
	int reached_ttl;         /* lowest TTL the target answered, 0 = none */
	bool have_address;
	char address[MP_ADDR_MAX];
	int ip_version;
	double round_started;
	struct hop *hops;        /* [ttl - first_ttl] */
	int n_hops;
	struct event timer;      /* next round */
	bool starting;           /* inside trace_start_round() */
	enum mp_error fail_code; /* a fatal error seen while starting */
	char fail_msg[MP_ERRMSG_MAX];
	TAILQ_ENTRY(trace) link;
};

static struct {
	TAILQ_HEAD(, trace) list;
	size_t n_open;           /* not answered yet */
	bool init;
} T;

/* Set up on first use. */
static void trace_module_init(void)
{
	if (!T.init) {
		TAILQ_INIT(&T.list);
		T.init = true;
	}
}

/* Free t. */
static void trace_free(struct trace *t)
{
	event_del(&t->timer);
	TAILQ_REMOVE(&T.list, t, link);
	if (!t->answered)
		T.n_open--;
	for (int i = 0; i < t->n_hops; i++)
		hop_free(&t->hops[i]);
	free(t->hops);
	free(t);
}

/* Free t once it is answered and none of its probes is out. */
static void trace_maybe_free(struct trace *t)
{
	if (t->answered && t->outstanding == 0)
		trace_free(t);
}

/* Give t's answer (obj, or an error) and go silent. */
static void trace_answer(struct trace *t, json_t *obj, enum mp_error err, const char *msg)
{
	t->answered = true;
	T.n_open--;
	event_del(&t->timer);
	t->sink->answer(t->arg, obj, err, msg);
	trace_maybe_free(t);
}

/* Answer t with an error. */
static void trace_fail(struct trace *t, enum mp_error code, const char *msg)
{
	trace_answer(t, NULL, code, msg);
}

/* The highest TTL worth keeping: the target's, else max_ttl. */
static int trace_last_ttl(const struct trace *t)
{
	return t->reached_ttl ? t->reached_ttl : t->topts.max_ttl;
}

/* Send a hop event for the hop at index i. */
static void trace_send_event(struct trace *t, int i)
{
	json_t *obj = hop_to_json(&t->hops[i]);
	/* "event" first, then the hop's fields. */
	json_t *ev = json_pack("{s:s}", "event", "hop");

	if (!obj || !ev || json_object_update(ev, obj) < 0) {
		json_decref(ev);
		json_decref(obj);
		return;
	}
	json_decref(obj);
	t->sink->event(t->arg, ev);
}

/* The final answer. */
static void trace_finish(struct trace *t)
{
	json_t *hops = json_array();

	for (int i = 0; i < t->n_hops && t->hops[i].ttl <= trace_last_ttl(t); i++)
		json_array_append_new(hops, hop_to_json(&t->hops[i]));
	json_t *obj = json_pack("{s:s, s:i, s:b, s:o}", "address", t->address, "ip_version",
				t->ip_version, "reached", t->reached_ttl != 0, "hops", hops);

	if (obj)
		trace_answer(t, obj, MP_OK, NULL);
	else
		trace_fail(t, MP_ERR_PROCESS, "out of memory");
}

static void trace_round_cb(evutil_socket_t fd, short what, void *arg);
static void trace_end_round(struct trace *t);
static void trace_probe_done(void *arg, uint64_t tag, const struct sched_outcome *o);

/* Start round t->round: one probe per TTL.  May answer t. */
static void trace_start_round(struct trace *t)
{
	int last = trace_last_ttl(t);
	char msg[MP_ERRMSG_MAX];

	t->round_started = mono_now();
	/* Answers may come back at once (cached failures, routing errors): hold them. */
	t->starting = true;
	for (int ttl = t->topts.first_ttl; ttl <= last && !t->fail_code && !t->answered; ttl++) {
		struct mp_probe_opts o = t->popts;
		enum mp_error err;

		o.ttl = ttl;
		if (t->have_address)
			snprintf(o.host, sizeof(o.host), "%s", t->address);
		t->outstanding++;
		err = sched_submit(&t->owner, &o, trace_probe_done, t,
				   ((uint64_t)t->round << 16) | (uint64_t)ttl, msg);
		if (err != MP_OK) {
			t->outstanding--;
			t->fail_code = err;
			snprintf(t->fail_msg, sizeof(t->fail_msg), "%s", msg);
		}
	}
	t->starting = false;
	if (t->answered)
		trace_maybe_free(t);
	else if (t->fail_code)
		trace_fail(t, t->fail_code, t->fail_msg);
	else if (t->outstanding == 0)
		trace_end_round(t);
}

/* The round's probes are all back: events, then the next round or the end. */
static void trace_end_round(struct trace *t)
{
	/* Only now is it known where the target is: no event past it. */
	if (t->topts.stream)
		for (int i = 0; i < t->n_hops && t->hops[i].ttl <= trace_last_ttl(t); i++)
			trace_send_event(t, i);
	if (++t->round >= t->topts.count) {
		trace_finish(t);
		return;
	}
	if (srv.stopping) {
		trace_fail(t, MP_ERR_SHUTTING_DOWN, "op: the daemon is shutting down");
		return;
	}
	struct timeval tv = tv_from_seconds(t->round_started + t->topts.interval - mono_now());

	evtimer_add(&t->timer, &tv);
}

/* Time for the next round. */
static void trace_round_cb(evutil_socket_t fd, short what, void *arg)
{
	struct trace *t = arg;

	if (srv.stopping) {
		trace_fail(t, MP_ERR_SHUTTING_DOWN, "op: the daemon is shutting down");
		return;
	}
	trace_start_round(t);
}

/* Start a trace. */
enum mp_error trace_start(const struct sched_owner *owner, const struct mp_request *req,
			  const struct trace_sink *sink, void *arg, char errmsg[MP_ERRMSG_MAX])
{
	struct trace *t;
	int n;

	trace_module_init();
	if (srv.stopping) {
		snprintf(errmsg, MP_ERRMSG_MAX, "op: the daemon is shutting down");
		return MP_ERR_SHUTTING_DOWN;
	}
	n = req->trace.max_ttl - req->trace.first_ttl + 1;
	t = calloc(1, sizeof(*t));
	if (t)
		t->hops = calloc((size_t)n, sizeof(*t->hops));
	if (!t || !t->hops) {
		if (t)
			free(t->hops);
		free(t);
		snprintf(errmsg, MP_ERRMSG_MAX, "op: out of memory");
		return MP_ERR_OVERLOADED;
	}
	t->owner = *owner;
	t->sink = sink;
	t->arg = arg;
	t->popts = req->probe;
	t->topts = req->trace;
	t->n_hops = n;
	/* A literal target is known at once; a name, from the first probe resolved. */
	t->ip_version = addr_literal_version(req->probe.host, t->address);
	t->have_address = t->ip_version != 0 &&
			  (!req->probe.ip_version || req->probe.ip_version == t->ip_version);
	for (int i = 0; i < n; i++)
		hop_init(&t->hops[i], t->topts.first_ttl + i);
	evtimer_assign(&t->timer, srv.base, trace_round_cb, t);
	TAILQ_INSERT_TAIL(&T.list, t, link);
	T.n_open++;
	trace_start_round(t);
	return MP_OK;
}

/* Errors that end a whole trace (others count as a lost probe). */
static bool error_is_fatal(enum mp_error err)
{
	return err != MP_ERR_PROCESS && err != MP_ERR_OVERLOADED;
}

/* One probe of a trace ended. */
static void trace_probe_done(void *arg, uint64_t tag, const struct sched_outcome *o)
{
	struct trace *t = arg;
	int ttl = (int)(tag & 0xffff), round = (int)(tag >> 16);
	const struct mp_probe_result *res = o->res;
	int i = ttl - t->topts.first_ttl;

	t->outstanding--;
	if (t->answered || round != t->round) {
		trace_maybe_free(t);
		return;
	}
	if (o->sent)
		hop_record_sent(&t->hops[i]);
	if (!t->have_address && o->address[0]) {
		memcpy(t->address, o->address, sizeof(t->address));
		t->ip_version = o->ip_version;
		t->have_address = true;
	}
	if (o->err != MP_OK && error_is_fatal(o->err)) {
		if (t->starting) {
			if (!t->fail_code) {
				t->fail_code = o->err;
				snprintf(t->fail_msg, sizeof(t->fail_msg), "%s", o->msg);
			}
			return;
		}
		trace_fail(t, o->err, o->msg);
		return;
	}
	if (res && res->responder[0] && res->time_ms >= 0 &&
	    (strcmp(res->result, "reply") == 0 || strcmp(res->result, "ttl-expired") == 0)) {
		hop_record_answer(&t->hops[i], round, res->time_ms, res->responder, res->mpls,
				  res->mpls_count);
		if (strcmp(res->result, "reply") == 0 && strcmp(res->responder, t->address) == 0 &&
		    (!t->reached_ttl || ttl < t->reached_ttl))
			t->reached_ttl = ttl;
	}
	if (t->outstanding == 0 && !t->starting)
		trace_end_round(t);
}

/* Answer the traces of a gone owner; their probes end through the scheduler. */
void trace_owner_gone(uint64_t key)
{
	struct trace *t, *next;

	if (!T.init)
		return;
	for (t = TAILQ_FIRST(&T.list); t; t = next) {
		next = TAILQ_NEXT(t, link);
		if (t->owner.key == key && !t->answered)
			trace_fail(t, MP_ERR_SHUTTING_DOWN, "connection: closed");
	}
}

/* Answer the traces waiting between rounds; running ones end through their probes. */
void trace_shutdown(void)
{
	struct trace *t, *next;

	if (!T.init)
		return;
	for (t = TAILQ_FIRST(&T.list); t; t = next) {
		next = TAILQ_NEXT(t, link);
		if (!t->answered && t->outstanding == 0)
			trace_fail(t, MP_ERR_SHUTTING_DOWN, "op: the daemon is shutting down");
	}
}

/* Traces not answered yet. */
size_t trace_count(void)
{
	return T.init ? T.n_open : 0;
}

/* Free everything (exit path). */
void trace_free_all(void)
{
	if (!T.init)
		return;
	while (!TAILQ_EMPTY(&T.list))
		trace_free(TAILQ_FIRST(&T.list));
	T.init = false;
}
