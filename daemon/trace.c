/*
 * The trace operation.  A trace runs `count` rounds; in each, one probe per
 * TTL from first_ttl up is sent at once (through the scheduler, in its
 * connection's queue, so traces share the pool fairly with probes).  A
 * round ends when every probe of it is answered; the next starts `interval`
 * seconds after the previous one started.  Once the target itself answered
 * at some TTL, higher TTLs are no longer probed and are left out of the
 * answer.  With stream, every hop up to the target gets a hop event at the
 * end of every round (only then is it known where the target is), before
 * the final answer.
 */
#include <errno.h>
#include <event2/event.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "conn.h"
#include "hopstats.h"
#include "idmap.h"
#include "log.h"
#include "sched.h"
#include "server.h"
#include "trace.h"
#include "util.h"

/* One trace.  Owned by the trace map; probes refer to it by id. */
struct trace {
	uint64_t id;
	uint64_t conn_id;
	uid_t uid;
	struct mp_id req_id;
	struct mp_probe_opts popts;
	struct mp_trace_opts topts;
	int round;               /* current round, 0-based */
	int outstanding;         /* probes of this round not finished */
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
	struct idmap traces;
	TAILQ_HEAD(, trace) list;
	uint64_t next_id;
	bool init;
} T;

/* Set up on first use. */
static void trace_module_init(void)
{
	if (!T.init) {
		idmap_init(&T.traces);
		TAILQ_INIT(&T.list);
		T.init = true;
	}
}

/* Free t. */
static void trace_free(struct trace *t)
{
	event_del(&t->timer);
	idmap_del(&T.traces, t->id);
	TAILQ_REMOVE(&T.list, t, link);
	for (int i = 0; i < t->n_hops; i++)
		hop_free(&t->hops[i]);
	free(t->hops);
	mp_id_clear(&t->req_id);
	free(t);
}

/* Answer t with an error and free it. */
static void trace_fail(struct trace *t, enum mp_error code, const char *msg)
{
	conn_deliver_error(t->conn_id, &t->req_id, code, msg);
	trace_free(t);
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
	size_t len;
	char *line;

	if (!obj)
		return;
	/* "event" first after "id", then the hop's fields. */
	json_t *ev = json_pack("{s:s}", "event", "hop");

	if (!ev || json_object_update(ev, obj) < 0) {
		json_decref(ev);
		json_decref(obj);
		return;
	}
	json_decref(obj);
	line = mp_encode_object(&t->req_id, ev, &len);
	if (line)
		conn_send_event(t->conn_id, line, len);
}

/* The final answer. */
static void trace_finish(struct trace *t)
{
	json_t *hops = json_array();
	size_t len;
	char *line;

	for (int i = 0; i < t->n_hops && t->hops[i].ttl <= trace_last_ttl(t); i++)
		json_array_append_new(hops, hop_to_json(&t->hops[i]));
	/* No probe got as far as an address (every worker died, say): null. */
	json_t *obj = json_pack("{s:o, s:o, s:b, s:o}", "address",
				t->have_address ? json_string(t->address) : json_null(),
				"ip_version",
				t->have_address ? json_integer(t->ip_version) : json_null(),
				"reached", t->reached_ttl != 0, "hops", hops);

	line = obj ? mp_encode_object(&t->req_id, obj, &len) : NULL;
	if (line)
		conn_deliver(t->conn_id, line, len);
	else
		conn_deliver_error(t->conn_id, &t->req_id, MP_ERR_PROCESS, "out of memory");
	trace_free(t);
}

static void trace_round_cb(evutil_socket_t fd, short what, void *arg);
static void trace_end_round(struct trace *t);

/* Start round t->round: one probe per TTL.  May free t. */
static void trace_start_round(struct trace *t)
{
	int last = trace_last_ttl(t);
	char msg[MP_ERRMSG_MAX];

	t->round_started = mono_now();
	t->outstanding = 0;
	/* Answers may come back at once (cached failures, routing errors): hold them. */
	t->starting = true;
	for (int ttl = t->topts.first_ttl; ttl <= last && !t->fail_code; ttl++) {
		struct mp_probe_opts o = t->popts;
		enum mp_error err;

		o.ttl = ttl;
		if (t->have_address)
			snprintf(o.host, sizeof(o.host), "%s", t->address);
		hop_record_sent(&t->hops[ttl - t->topts.first_ttl]);
		t->outstanding++;
		err = sched_submit_trace_probe(t->conn_id, t->uid, t->id, ttl, t->round, &o, msg);
		if (err != MP_OK) {
			t->outstanding--;
			t->fail_code = err;
			snprintf(t->fail_msg, sizeof(t->fail_msg), "%s", msg);
		}
	}
	t->starting = false;
	if (t->fail_code)
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
			if (t->hops[i].sent > 0)
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
enum mp_error trace_start(uint64_t conn_id, uid_t uid, struct mp_request *req,
			  char errmsg[MP_ERRMSG_MAX])
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
	if (!t || !t->hops || idmap_put(&T.traces, T.next_id + 1, t) < 0) {
		if (t)
			free(t->hops);
		free(t);
		snprintf(errmsg, MP_ERRMSG_MAX, "op: out of memory");
		return MP_ERR_OVERLOADED;
	}
	t->id = ++T.next_id;
	t->conn_id = conn_id;
	t->uid = uid;
	t->req_id = req->id;
	memset(&req->id, 0, sizeof(req->id));
	t->popts = req->probe;
	t->topts = req->trace;
	t->n_hops = n;
	for (int i = 0; i < n; i++)
		hop_init(&t->hops[i], t->topts.first_ttl + i);
	evtimer_assign(&t->timer, srv.base, trace_round_cb, t);
	TAILQ_INSERT_TAIL(&T.list, t, link);
	trace_start_round(t);
	return MP_OK;
}

/* Errors that end a whole trace (others count as a lost probe). */
static bool error_is_fatal(enum mp_error err)
{
	return err != MP_ERR_PROCESS && err != MP_ERR_OVERLOADED;
}

/* One probe of a trace finished. */
void trace_probe_done(uint64_t trace_id, int ttl, int round, const struct mp_probe_result *res,
		      enum mp_error err, const char *msg)
{
	struct trace *t = T.init ? idmap_get(&T.traces, trace_id) : NULL;
	int i;

	if (!t || round != t->round)
		return;
	i = ttl - t->topts.first_ttl;
	t->outstanding--;
	if (!res && error_is_fatal(err)) {
		if (t->starting) {
			if (!t->fail_code) {
				t->fail_code = err;
				snprintf(t->fail_msg, sizeof(t->fail_msg), "%s", msg);
			}
			return;
		}
		/* The other probes of the round find the trace gone. */
		trace_fail(t, err, msg);
		return;
	}
	if (res) {
		if (!t->have_address) {
			memcpy(t->address, res->address, sizeof(t->address));
			t->ip_version = res->ip_version;
			t->have_address = true;
		}
		bool answered = res->responder[0] && res->time_ms >= 0 &&
				(strcmp(res->result, "reply") == 0 ||
				 strcmp(res->result, "ttl-expired") == 0);

		if (answered) {
			hop_record_answer(&t->hops[i], round, res->time_ms, res->responder, res->mpls,
					  res->mpls_count);
			if (strcmp(res->result, "reply") == 0 && strcmp(res->responder, t->address) == 0 &&
			    (!t->reached_ttl || ttl < t->reached_ttl))
				t->reached_ttl = ttl;
		}
	}
	if (t->outstanding == 0 && !t->starting)
		trace_end_round(t);
}

/* Drop the traces of a closed connection. */
void trace_conn_gone(uint64_t conn_id)
{
	struct trace *t, *next;

	if (!T.init)
		return;
	for (t = TAILQ_FIRST(&T.list); t; t = next) {
		next = TAILQ_NEXT(t, link);
		if (t->conn_id == conn_id)
			trace_free(t);
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
		if (t->outstanding == 0)
			trace_fail(t, MP_ERR_SHUTTING_DOWN, "op: the daemon is shutting down");
	}
}

/* Traces running. */
size_t trace_count(void)
{
	return T.init ? idmap_count(&T.traces) : 0;
}

/* Free everything. */
void trace_free_all(void)
{
	if (!T.init)
		return;
	while (!TAILQ_EMPTY(&T.list))
		trace_free(TAILQ_FIRST(&T.list));
	idmap_free(&T.traces);
	T.init = false;
}
