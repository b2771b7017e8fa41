/*
 * Requests.  Each line a connection hands up is decoded into a struct
 * mp_request, checked against the admin policy, given room for its
 * worst-case answer (request_cost(); without room the line waits, unread),
 * and dispatched: probe to the scheduler, trace to the trace module,
 * check_support to the pool; version, stats and clear_dns_cache are
 * answered here.  The answer comes back through a callback with the
 * request's context, is encoded here and written to the connection, which
 * drops it if the client has gone.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config-build.h"
#include "conn.h"
#include "dns.h"
#include "freelist.h"
#include "hopstats.h"
#include "log.h"
#include "monitor.h"
#include "monjson.h"
#include "mstore.h"
#include "pool.h"
#include "encode.h"
#include "proto.h"
#include "request.h"
#include "route.h"
#include "sched.h"
#include "server.h"
#include "stats.h"
#include "trace.h"
#include "util.h"

/* The longest probe answer or error line, without its id. */
#define ANSWER_MAX 1024
/* What the scheduler holds per probe, at most. */
#define PROBE_WORK_MAX 1024
/* The longest hop of a trace answer (16 responders, 8 MPLS labels, every number). */
#define HOP_ANSWER_MAX 2304
/* Bytes a JSON string may take per byte of the id (a \u escape). */
#define ID_ESCAPE 6
/* The longest monitor_add or monitor_remove answer (16 labels of 64 + 128 bytes escaped). */
#define MONITOR_ANSWER_MAX 16384
/* The longest monitor_show answer (255 hops). */
#define MONITOR_SHOW_MAX 65536
/* The longest item of a monitor_list answer. */
#define MONITOR_LIST_ITEM_MAX 1024
/* Records of answered requests kept for reuse (given back when idle). */
#define PENDING_KEPT 4096

/*
 * One request waiting for its answer.  Owned by the callback that answers
 * it.  From the free list, but for check_support (a support_pending).
 */
struct pending {
	uint64_t conn_id;
	size_t cost;        /* reserved at the connection */
	struct mp_id id;
	bool support;       /* the head of a struct support_pending */
};

/* A check_support request waiting for its answer. */
struct support_pending {
	struct pending pd;
	char feature[MP_FEATURE_MAX + 1];
};

/* The answer when even an error cannot be encoded. */
static const char answer_oom[] =
	"{\"id\":null,\"error\":{\"code\":\"process-error\",\"message\":\"out of memory\"}}\n";

/* A connection following the monitors' events (one per connection). */
struct subscriber {
	uint64_t conn_id;
	struct mp_id id;          /* the monitor_events request's, on every event */
	long uid;                 /* sees the events of the monitors it may see */
	char name[MP_MONITOR_NAME_MAX + 1]; /* one monitor's only, or "" */
};

static struct {
	struct log_ratelimit deny_rl;
	struct freelist records;  /* struct pending, for reuse */
	struct subscriber *subs;  /* [n_subs], at most one per connection */
	size_t n_subs;
} R = { .deny_rl = { .interval = 10, .burst = 10 } };

/* The worst-case bytes held for req until its answer is read. */
size_t request_cost(const struct mp_request *req)
{
	size_t id = req->id.kind == MP_ID_STRING ? req->id.str_len * ID_ESCAPE : 24;
	size_t n, per_hop;

	switch (req->op) {
	case MP_OP_PROBE:
		return ANSWER_MAX + PROBE_WORK_MAX + id;
	case MP_OP_TRACE:
		n = (size_t)(req->trace.max_ttl - req->trace.first_ttl + 1);
		per_hop = HOP_ANSWER_MAX + sizeof(struct hop) +
			  (size_t)req->trace.count * sizeof(struct hop_sample) + PROBE_WORK_MAX;
		return ANSWER_MAX + id + n * per_hop;
	case MP_OP_STATS:
		return 8192 + id;
	case MP_OP_MONITOR_ADD:
	case MP_OP_MONITOR_REMOVE:
		return MONITOR_ANSWER_MAX + id;
	case MP_OP_MONITOR_SHOW:
		return MONITOR_SHOW_MAX + id;
	case MP_OP_MONITOR_LIST:
		return ANSWER_MAX + id + monitor_count() * MONITOR_LIST_ITEM_MAX;
	case MP_OP_MONITOR_EVENTS:
	case MP_OP_CHECK_SUPPORT:
	case MP_OP_CLEAR_DNS_CACHE:
	case MP_OP_VERSION:
	case MP_OP__COUNT:
		break;
	}
	return ANSWER_MAX + id;
}

/* Write line (malloc'd, freed here) as pd's answer, or an error if it is NULL. */
static void answer_line(struct pending *pd, char *line, size_t len)
{
	if (line)
		conn_answer(pd->conn_id, line, len, pd->cost);
	else /* out of memory: a fixed answer keeps the one-answer-per-request rule */
		conn_answer(pd->conn_id, answer_oom, sizeof(answer_oom) - 1, pd->cost);
	free(line);
}

/* Answer pd with an error. */
static void answer_error(struct pending *pd, enum mp_error code, const char *msg)
{
	size_t len = 0;
	char *line;

	stats_count_error(code);
	line = mp_encode_error(&pd->id, code, msg, &len);
	answer_line(pd, line, len);
}

/* Answer pd with obj (reference stolen). */
static void answer_object(struct pending *pd, json_t *obj)
{
	size_t len = 0;
	char *line = obj ? mp_encode_object(&pd->id, obj, &len) : NULL;

	if (line)
		answer_line(pd, line, len);
	else
		answer_error(pd, MP_ERR_PROCESS, "out of memory");
}

/* A zeroed record for a request; with feature, for a check_support.  NULL when out of memory. */
static struct pending *pending_new(const char *feature)
{
	struct support_pending *sp;

	if (!feature)
		return freelist_get(&R.records);
	sp = calloc(1, sizeof(*sp));
	if (!sp)
		return NULL;
	sp->pd.support = true;
	memcpy(sp->feature, feature, sizeof(sp->feature));
	return &sp->pd;
}

/* Free pd. */
static void pending_free(struct pending *pd)
{
	mp_id_clear(&pd->id);
	if (pd->support)
		free(pd);
	else
		freelist_put(&R.records, pd);
}

/* Give back the records kept for reuse (the daemon is idle). */
void request_trim(void)
{
	freelist_trim(&R.records);
}

void request_free(void)
{
	for (size_t i = 0; i < R.n_subs; i++)
		mp_id_clear(&R.subs[i].id);
	free(R.subs);
	R.subs = NULL;
	R.n_subs = 0;
	monitor_set_event_hook(NULL);
}

/* A probe request ended. */
static void probe_done(void *arg, uint64_t tag, const struct sched_outcome *o)
{
	char buf[MP_PROBE_ANSWER_MAX];
	struct pending *pd = arg;
	size_t len = 0;
	char *line;

	if (o->cancelled) {
		; /* nobody to tell */
	} else if (o->err != MP_OK) {
		answer_error(pd, o->err, o->msg);
	} else if ((len = mp_encode_probe_result_into(buf, sizeof(buf), &pd->id, o->res)) > 0) {
		conn_answer(pd->conn_id, buf, len, pd->cost);
	} else {
		line = mp_encode_probe_result(&pd->id, o->res, &len);
		answer_line(pd, line, len);
	}
	pending_free(pd);
}

/* A trace's final answer. */
static void trace_answer_cb(void *arg, json_t *obj, enum mp_error err, const char *msg)
{
	struct pending *pd = arg;

	if (err != MP_OK)
		answer_error(pd, err, msg);
	else
		answer_object(pd, obj);
	pending_free(pd);
}

/* A trace's hop event. */
static void trace_event_cb(void *arg, json_t *obj)
{
	struct pending *pd = arg;
	size_t len = 0;
	char *line = mp_encode_object(&pd->id, obj, &len);

	if (line)
		conn_event(pd->conn_id, line, len);
	free(line);
}

static const struct trace_sink request_trace_sink = {
	.answer = trace_answer_cb,
	.event = trace_event_cb,
};

/* A check_support answer. */
static void support_done(void *arg, enum mp_error err, const char *msg, const char *value)
{
	struct pending *pd = arg;
	size_t len = 0;
	char *line;

	if (err != MP_OK) {
		answer_error(pd, err, msg);
	} else {
		line = mp_encode_check_support(&pd->id, ((struct support_pending *)pd)->feature,
					       strcmp(value, "no") != 0, value, &len);
		answer_line(pd, line, len);
	}
	pending_free(pd);
}

/* Answer a request that needs nothing but the daemon itself. */
static void answer_local(struct pending *pd, const struct mp_request *req)
{
	size_t len = 0;
	char *line = NULL;

	switch (req->op) {
	case MP_OP_CLEAR_DNS_CACHE:
		line = mp_encode_cleared(&pd->id, dns_clear_cache(), &len);
		break;
	case MP_OP_VERSION:
		line = mp_encode_version(&pd->id, MTRPROBED_VERSION, pool_mtr_version(),
					 srv.cfg.min_workers, &len);
		break;
	case MP_OP_STATS:
		answer_object(pd, stats_to_json());
		return;
	default:
		break;
	}
	answer_line(pd, line, len);
}

/* Keep owner's monitors (but except) in the state directory.  0, or -1 with msg set. */
static int request_save_monitors(long owner, const char *except, char msg[MP_ERRMSG_MAX])
{
	char err[MONDEF_ERR_MAX];
	char *text;
	int r;

	if (!srv.cfg.state_dir)
		return 0;
	text = monitor_owner_text(owner, except);
	r = text ? mstore_save(srv.cfg.state_dir, owner, text, err) : -ENOMEM;
	free(text);
	if (r < 0) {
		snprintf(msg, MP_ERRMSG_MAX, "monitor: cannot keep it in state_dir: %.180s",
			 text ? err : "out of memory");
		log_error("monitors of uid %ld not saved: %s", owner, text ? err : "out of memory");
		return -1;
	}
	return 0;
}

/* A monitor's event: to every subscriber who may see the monitor, if it fits their budget. */
static void request_monitor_event(json_t *ev, long owner)
{
	const char *name = json_string_value(json_object_get(ev, "monitor"));

	for (size_t i = 0; i < R.n_subs; i++) {
		const struct subscriber *sub = &R.subs[i];
		size_t len = 0;
		char *line;

		if ((sub->uid != 0 && owner != MONITOR_OWNER_FILES && owner != sub->uid) ||
		    (sub->name[0] && (!name || strcmp(sub->name, name) != 0)))
			continue;
		json_incref(ev);
		line = mp_encode_object(&sub->id, ev, &len);
		if (line)
			conn_event(sub->conn_id, line, len);
		free(line);
	}
	json_decref(ev);
}

/* The subscriber of conn_id, or NULL. */
static struct subscriber *request_subscriber(uint64_t conn_id)
{
	for (size_t i = 0; i < R.n_subs; i++)
		if (R.subs[i].conn_id == conn_id)
			return &R.subs[i];
	return NULL;
}

/* monitor_events: follow the events from now on; answered at once. */
static void monitor_events_op(struct pending *pd, const struct conn_peer *peer,
			      const struct mp_request *req)
{
	struct subscriber *subs, *sub;

	if (request_subscriber(pd->conn_id)) {
		answer_error(pd, MP_ERR_INVALID_ARGUMENT,
			     "op: this connection already follows the monitors' events");
		return;
	}
	subs = realloc(R.subs, (R.n_subs + 1) * sizeof(*subs));
	if (!subs) {
		answer_error(pd, MP_ERR_PROCESS, "op: out of memory");
		return;
	}
	R.subs = subs;
	sub = &R.subs[R.n_subs];
	memset(sub, 0, sizeof(*sub));
	if (mp_id_copy(&sub->id, &pd->id) < 0) {
		answer_error(pd, MP_ERR_PROCESS, "op: out of memory");
		return;
	}
	R.n_subs++;
	sub->conn_id = pd->conn_id;
	sub->uid = (long)peer->uid;
	str_copy(sub->name, sizeof(sub->name), req->monitor_name);
	answer_object(pd, json_pack("{s:b,s:s}", "following", 1, "name", sub->name));
}

/* A connection went: it follows nothing any more. */
static void request_unsubscribe(uint64_t conn_id)
{
	struct subscriber *sub = request_subscriber(conn_id);

	if (!sub)
		return;
	mp_id_clear(&sub->id);
	*sub = R.subs[--R.n_subs];
	if (R.n_subs == 0) {
		free(R.subs);
		R.subs = NULL;
	}
}

/* monitor_add: start the monitor, keep it, answer its whole definition. */
static void monitor_add_op(struct pending *pd, const struct conn_peer *peer,
			   const struct mp_request *req)
{
	char msg[MP_ERRMSG_MAX], err[MONDEF_ERR_MAX];
	long owner = (long)peer->uid, gone;
	enum mp_error code;

	if (monitor_supported(req->monitor, err) < 0) {
		snprintf(msg, sizeof(msg), "monitor: %.200s", err);
		answer_error(pd, MP_ERR_INVALID_ARGUMENT, msg);
		return;
	}
	code = monitor_add(req->monitor, owner, msg);
	if (code == MP_OK && request_save_monitors(owner, NULL, msg) < 0) {
		monitor_remove(req->monitor->name, owner, &gone, err);
		code = MP_ERR_PROCESS;
	}
	if (code != MP_OK) {
		answer_error(pd, code, msg);
		return;
	}
	log_info("monitor %s added by uid %ld", req->monitor->name, owner);
	answer_object(pd, json_pack("{s:o,s:I}", "monitor", monjson_write(req->monitor), "owner",
				    (json_int_t)owner));
}

/* The monitor operations. */
static void monitor_op(struct pending *pd, const struct conn_peer *peer,
		       const struct mp_request *req)
{
	char msg[MP_ERRMSG_MAX];
	enum mp_error code = MP_OK;
	long owner;
	json_t *obj;

	switch (req->op) {
	case MP_OP_MONITOR_ADD:
		monitor_add_op(pd, peer, req);
		return;
	case MP_OP_MONITOR_EVENTS:
		monitor_events_op(pd, peer, req);
		return;
	case MP_OP_MONITOR_REMOVE:
		/* Kept without it first: a failure to save leaves it running, as answered. */
		code = monitor_removable(req->monitor_name, (long)peer->uid, &owner, msg);
		if (code == MP_OK && request_save_monitors(owner, req->monitor_name, msg) < 0)
			code = MP_ERR_PROCESS;
		if (code == MP_OK) {
			monitor_remove(req->monitor_name, (long)peer->uid, &owner, msg);
			log_info("monitor %s removed by uid %ld", req->monitor_name, (long)peer->uid);
		}
		obj = code == MP_OK ? json_pack("{s:s}", "removed", req->monitor_name) : NULL;
		break;
	case MP_OP_MONITOR_LIST:
		obj = json_pack("{s:o}", "monitors", monitor_list_json((long)peer->uid));
		break;
	default:
		obj = monitor_show_json(req->monitor_name, (long)peer->uid, &code, msg);
		break;
	}
	if (code != MP_OK && !obj)
		answer_error(pd, code, msg);
	else
		answer_object(pd, obj);
}

/*
 * True if a request's local_ip is the source address the kernel would pick
 * anyway (mtr and mtrpacket always send one): no traffic is steered, so
 * anyone may give it.  Only literal addresses are compared.  One of the
 * other family steers nothing either: the request fails the same way for
 * everyone (host-resolve-error).
 */
static bool local_ip_is_default(const struct mp_probe_opts *o)
{
	char host[MP_ADDR_MAX], local[MP_ADDR_MAX], src[MP_ADDR_MAX];
	int v = addr_literal_version(o->host, host);
	int lv = addr_literal_version(o->local_ip, local);

	if (v && lv && lv != v)
		return true;
	return v && lv == v && route_source(host, v, -1, src) == 0 && strcmp(src, local) == 0;
}

/* The admin policy: MP_OK, or permission-denied with a message for options only admins may set. */
static enum mp_error check_policy(const struct conn_peer *peer, const struct mp_request *req,
				  char msg[MP_ERRMSG_MAX])
{
	const char *field;

	if ((req->op != MP_OP_PROBE && req->op != MP_OP_TRACE) || peer->level == ACCESS_ADMIN)
		return MP_OK;
	if (req->probe.mark >= 0)
		field = "mark";
	else if (req->probe.local_ip[0] && !local_ip_is_default(&req->probe))
		field = "local_ip";
	else
		return MP_OK;
	snprintf(msg, MP_ERRMSG_MAX, "%s: only admin users may set it%s", field,
		 field[0] == 'l' ? " (other than the route's own source address)" : "");
	if (log_ratelimit_ok(&R.deny_rl))
		log_warning("refused '%s' to uid %d (pid %d): not an admin user", field,
			    (int)peer->uid, (int)peer->pid);
	return MP_ERR_PERMISSION_DENIED;
}

/* Dispatch the decoded request req of pd; an error comes back with msg. */
static enum mp_error request_dispatch(struct pending *pd, const struct conn_peer *peer,
				      struct mp_request *req, char msg[MP_ERRMSG_MAX])
{
	struct sched_owner owner = { .key = pd->conn_id, .uid = peer->uid, .exempt = peer->uid == 0 };

	switch (req->op) {
	case MP_OP_PROBE:
		return sched_submit(&owner, &req->probe, probe_done, pd, 0, msg);
	case MP_OP_TRACE:
		return trace_start(&owner, req, &request_trace_sink, pd, msg);
	case MP_OP_CHECK_SUPPORT:
		pool_check_support(req->feature, support_done, pd);
		return MP_OK;
	case MP_OP_MONITOR_ADD:
	case MP_OP_MONITOR_REMOVE:
	case MP_OP_MONITOR_LIST:
	case MP_OP_MONITOR_SHOW:
	case MP_OP_MONITOR_EVENTS:
		monitor_op(pd, peer, req);
		pending_free(pd);
		return MP_OK;
	default:
		answer_local(pd, req);
		pending_free(pd);
		return MP_OK;
	}
}

/* One line from a connection. */
static enum conn_take request_line(uint64_t conn_id, const struct conn_peer *peer,
				   const char *line, size_t len)
{
	char msg[MP_ERRMSG_MAX] = "";
	struct mp_request req;
	struct pending *pd;
	enum mp_error err;

	memset(&req, 0, sizeof(req));
	err = mp_request_decode(line, len, &req, msg);
	if (err == MP_OK && srv.stopping &&
	    (req.op == MP_OP_PROBE || req.op == MP_OP_TRACE || req.op == MP_OP_CHECK_SUPPORT ||
	     req.op == MP_OP_MONITOR_ADD)) {
		err = MP_ERR_SHUTTING_DOWN;
		snprintf(msg, sizeof(msg), "op: the daemon is shutting down");
	}
	if (err == MP_OK)
		err = check_policy(peer, &req, msg);
	size_t cost = err == MP_OK ? request_cost(&req) : ANSWER_MAX + (size_t)req.id.str_len * ID_ESCAPE;

	if (!conn_reserve(conn_id, cost)) {
		mp_request_clear(&req);
		return CONN_LATER;
	}
	pd = pending_new(req.op == MP_OP_CHECK_SUPPORT ? req.feature : NULL);
	if (!pd) {
		mp_request_clear(&req);
		conn_answer(conn_id, answer_oom, sizeof(answer_oom) - 1, cost);
		return CONN_TAKEN;
	}
	pd->conn_id = conn_id;
	pd->cost = cost;
	pd->id = req.id;
	memset(&req.id, 0, sizeof(req.id));
	if (err == MP_OK)
		err = request_dispatch(pd, peer, &req, msg);
	if (err != MP_OK) {
		answer_error(pd, err, msg);
		pending_free(pd);
	}
	mp_request_clear(&req);
	return CONN_TAKEN;
}

/* A connection closed: end its traces and its probes not yet sent. */
static void request_gone(uint64_t conn_id)
{
	request_unsubscribe(conn_id);
	trace_owner_gone(conn_id);
	sched_owner_gone(conn_id);
}

static const struct conn_hooks request_conn_hooks = {
	.line = request_line,
	.gone = request_gone,
};

/* Take the lines of every connection. */
void request_setup(void)
{
	freelist_init(&R.records, sizeof(struct pending), PENDING_KEPT);
	conn_setup(&request_conn_hooks);
	monitor_set_event_hook(request_monitor_event);
}
