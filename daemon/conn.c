/*
 * Client connections.  Each reads newline-terminated requests, answers
 * each exactly once (in completion order), and pushes back on a client
 * that asks faster than it reads or than its probes complete: at
 * max_inflight_per_client outstanding requests, or with too much output
 * unread, the connection stops being read until answers drain.  A line
 * longer than max_request_bytes gets request-too-large and the rest of it is
 * skipped; the connection stays usable.  At most CONN_LINES_PER_WAKE lines
 * are handled per wake-up, so one busy client cannot starve the others.
 */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config-build.h"
#include "access.h"
#include "conn.h"
#include "dns.h"
#include "idmap.h"
#include "log.h"
#include "pool.h"
#include "proto.h"
#include "route.h"
#include "sched.h"
#include "server.h"
#include "stats.h"
#include "trace.h"

#define CONN_LINES_PER_WAKE 64
/* Unread answers beyond this stop the reading of new requests. */
#define CONN_OUTPUT_MAX (1024 * 1024)
/* What a user not (or no longer) allowed is told before being disconnected. */
#define MSG_NOT_ALLOWED "connection: this user may not use the daemon"
/* Unread output beyond this drops hop events (never answers). */
#define CONN_EVENTS_MAX (4 * CONN_OUTPUT_MAX)

struct uid_entry;

/* One client connection.  Owned by the connection map. */
struct conn {
	uint64_t id;
	struct bufferevent *bev;
	uid_t uid;
	gid_t gid;
	pid_t pid;
	enum access_level level;
	struct uid_entry *user;  /* this uid's shared counters */
	TAILQ_ENTRY(conn) ulink; /* in user->conns */
	int inflight;        /* requests read and not answered yet */
	bool discarding;     /* skipping the rest of a too-long line */
	bool eof;            /* the client finished sending */
	bool paused;         /* reading stopped by back-pressure */
	bool closing;        /* free once the output is written */
	struct event resume_ev;
};

/* What all connections of one uid share.  Owned by the uid map; freed with its last connection. */
struct uid_entry {
	uid_t uid;
	int connections;
	int inflight;            /* requests outstanding on all its connections */
	TAILQ_HEAD(, conn) conns;
};

static struct {
	struct idmap conns;
	struct idmap uids;       /* uid + 1 -> struct uid_entry */
	struct log_ratelimit deny_rl;
	uint64_t next_id;
	uint64_t total;
	struct log_ratelimit refuse_rl;
} C = { .refuse_rl = { .interval = 10, .burst = 3 }, .deny_rl = { .interval = 10, .burst = 10 } };

static void conn_process(struct conn *c);

/* The shared counters of uid, created on first use. */
static struct uid_entry *uid_get(uid_t uid)
{
	struct uid_entry *u = idmap_get(&C.uids, (uint64_t)uid + 1);

	if (u)
		return u;
	u = calloc(1, sizeof(*u));
	if (!u)
		return NULL;
	u->uid = uid;
	TAILQ_INIT(&u->conns);
	if (idmap_put(&C.uids, (uint64_t)uid + 1, u) < 0) {
		free(u);
		return NULL;
	}
	return u;
}

/* Forget u once no connection of its uid is left. */
static void uid_release(struct uid_entry *u)
{
	if (u->connections == 0) {
		idmap_del(&C.uids, (uint64_t)u->uid + 1);
		free(u);
	}
}

static void conn_schedule(struct conn *c);

/* Requests of c outstanding change by delta; wake the uid's other connections below its cap. */
static void conn_count_request(struct conn *c, int delta)
{
	struct uid_entry *u = c->user;
	int cap = srv.cfg.uid_max_inflight;
	bool was_full = cap > 0 && u->inflight >= cap;

	c->inflight += delta;
	u->inflight += delta;
	if (was_full && u->inflight < cap) {
		struct conn *o;

		TAILQ_FOREACH(o, &u->conns, ulink)
			if (o->paused && o != c)
				conn_schedule(o);
	}
}

/* Free c now. */
static void conn_free(struct conn *c)
{
	struct uid_entry *u = c->user;

	/* Its outstanding requests will find it gone: they no longer count. */
	conn_count_request(c, -c->inflight);
	TAILQ_REMOVE(&u->conns, c, ulink);
	u->connections--;
	uid_release(u);
	idmap_del(&C.conns, c->id);
	trace_conn_gone(c->id);
	sched_conn_gone(c->id);
	event_del(&c->resume_ev);
	bufferevent_free(c->bev);
	free(c);
}

/* Close c if it is finished: client done sending, everything answered. */
static void conn_check_done(struct conn *c)
{
	if (!c->eof || c->inflight > 0)
		return;
	if (evbuffer_get_length(bufferevent_get_input(c->bev)) > 0)
		return;
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
		conn_free(c);
	else
		c->closing = true;
}

/* Run conn_process() for c from the loop (never inside another callback of c). */
static void conn_schedule(struct conn *c)
{
	if (!event_pending(&c->resume_ev, EV_TIMEOUT, NULL))
		event_active(&c->resume_ev, EV_TIMEOUT, 0);
}

/* Deliver one answer line to connection conn_id. */
void conn_deliver(uint64_t conn_id, char *line, size_t len)
{
	struct conn *c = idmap_get(&C.conns, conn_id);

	if (c) {
		if (bufferevent_write(c->bev, line, len) < 0)
			log_error("connection %llu: out of memory for an answer",
				  (unsigned long long)c->id);
		conn_count_request(c, -1);
		if (c->paused || c->eof)
			conn_schedule(c);
	}
	free(line);
}

/* Send a line that is not an answer (a trace's hop event) to conn_id. */
void conn_send_event(uint64_t conn_id, char *line, size_t len)
{
	struct conn *c = idmap_get(&C.conns, conn_id);

	/* Events are a live view: a client that does not read them loses some. */
	if (c && evbuffer_get_length(bufferevent_get_output(c->bev)) <= CONN_EVENTS_MAX &&
	    bufferevent_write(c->bev, line, len) < 0)
		log_error("connection %llu: out of memory for an event", (unsigned long long)c->id);
	free(line);
}

/* Deliver an error answer. */
void conn_deliver_error(uint64_t conn_id, const struct mp_id *id, int code, const char *msg)
{
	size_t len;
	char *line;

	stats_count_error(code);
	line = mp_encode_error(id, (enum mp_error)code, msg, &len);
	if (line) {
		conn_deliver(conn_id, line, len);
		return;
	}
	/* Out of memory: a fixed answer keeps the one-answer-per-request rule. */
	static const char oom[] =
		"{\"id\":null,\"error\":{\"code\":\"process-error\",\"message\":\"out of memory\"}}\n";
	line = strdup(oom);
	if (line)
		conn_deliver(conn_id, line, sizeof(oom) - 1);
}

/* Answer a request that needs nothing but the daemon itself. */
static void conn_answer_local(struct conn *c, struct mp_request *req)
{
	size_t len = 0;
	char *line = NULL;

	switch (req->op) {
	case MP_OP_CLEAR_DNS_CACHE:
		line = mp_encode_cleared(&req->id, dns_clear_cache(), &len);
		break;
	case MP_OP_VERSION:
		line = mp_encode_version(&req->id, MTRPROBED_VERSION, pool_mtr_version(),
					 srv.cfg.workers, &len);
		break;
	case MP_OP_STATS:
		line = mp_encode_object(&req->id, stats_to_json(), &len);
		break;
	default:
		break;
	}
	if (line)
		conn_deliver(c->id, line, len);
	else
		conn_deliver_error(c->id, &req->id, MP_ERR_PROCESS, "out of memory");
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

/* Handle one request line. */
static void conn_handle_line(struct conn *c, const char *line, size_t len)
{
	char msg[MP_ERRMSG_MAX] = "";
	struct mp_request req;
	enum mp_error err;

	memset(&req, 0, sizeof(req));
	conn_count_request(c, 1);
	err = mp_request_decode(line, len, &req, msg);
	if (err == MP_OK && srv.stopping &&
	    (req.op == MP_OP_PROBE || req.op == MP_OP_TRACE || req.op == MP_OP_CHECK_SUPPORT)) {
		err = MP_ERR_SHUTTING_DOWN;
		snprintf(msg, sizeof(msg), "op: the daemon is shutting down");
	}
	if (err == MP_OK && (req.op == MP_OP_PROBE || req.op == MP_OP_TRACE) &&
	    c->level != ACCESS_ADMIN &&
	    (req.probe.mark >= 0 || (req.probe.local_ip[0] && !local_ip_is_default(&req.probe)))) {
		const char *field = req.probe.mark >= 0 ? "mark" : "local_ip";

		err = MP_ERR_PERMISSION_DENIED;
		snprintf(msg, sizeof(msg), "%s: only admin users may set it%s", field,
			 field[0] == 'l' ? " (other than the route's own source address)" : "");
		if (log_ratelimit_ok(&C.deny_rl))
			log_warning("refused '%s' to uid %d (pid %d): not an admin user", field,
				    (int)c->uid, (int)c->pid);
	}
	if (err == MP_OK) {
		switch (req.op) {
		case MP_OP_PROBE:
			err = sched_submit_probe(c->id, c->uid, &req, msg);
			break;
		case MP_OP_CHECK_SUPPORT:
			pool_check_support(c->id, &req.id, req.feature);
			break;
		case MP_OP_TRACE:
			err = trace_start(c->id, c->uid, &req, msg);
			break;
		default:
			conn_answer_local(c, &req);
			break;
		}
	}
	if (err != MP_OK)
		conn_deliver_error(c->id, &req.id, err, msg);
	mp_request_clear(&req);
}

/* Answer a line that is too long. */
static void conn_too_large(struct conn *c)
{
	char msg[MP_ERRMSG_MAX];
	struct mp_id none = { .kind = MP_ID_NULL };

	conn_count_request(c, 1);
	snprintf(msg, sizeof(msg), "line: longer than max_request_bytes (%zu)",
		 srv.cfg.max_request_bytes);
	conn_deliver_error(c->id, &none, MP_ERR_REQUEST_TOO_LARGE, msg);
}

/* True if c must stop reading for now. */
static bool conn_must_wait(struct conn *c)
{
	return c->inflight >= srv.cfg.max_inflight_per_client ||
	       (srv.cfg.uid_max_inflight > 0 && c->uid != 0 &&
		c->user->inflight >= srv.cfg.uid_max_inflight) ||
	       evbuffer_get_length(bufferevent_get_output(c->bev)) > CONN_OUTPUT_MAX;
}

/* Handle one complete line at the head of the input, or a too-long part. */
static bool conn_take_line(struct conn *c, struct evbuffer *in)
{
	size_t eol_len = 0, n = evbuffer_get_length(in);
	struct evbuffer_ptr eol = evbuffer_search_eol(in, NULL, &eol_len, EVBUFFER_EOL_LF);
	size_t max = srv.cfg.max_request_bytes;

	if (eol.pos < 0) {
		if (c->discarding || n > max + 1) {
			if (!c->discarding)
				conn_too_large(c);
			c->discarding = true;
			evbuffer_drain(in, n);
			return false;
		}
		if (!c->eof || n == 0)
			return false;
		/* The client closed after a last line without a newline. */
		eol.pos = (ev_ssize_t)n;
		eol_len = 0;
	}
	size_t len = (size_t)eol.pos;
	const char *line = len ? (const char *)evbuffer_pullup(in, (ev_ssize_t)len) : "";
	size_t body = len > 0 && line[len - 1] == '\r' ? len - 1 : len;

	if (c->discarding)
		c->discarding = false;
	else if (body > max)
		conn_too_large(c);
	else
		conn_handle_line(c, line, len);
	evbuffer_drain(in, len + eol_len);
	return true;
}

/* Handle the lines waiting on c, within this wake-up's budget. */
static void conn_process(struct conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	int budget = CONN_LINES_PER_WAKE;

	if (c->closing)
		return;
	for (;;) {
		if (conn_must_wait(c)) {
			if (!c->paused) {
				c->paused = true;
				bufferevent_disable(c->bev, EV_READ);
			}
			return;
		}
		if (budget-- == 0) {
			conn_schedule(c);
			return;
		}
		if (!conn_take_line(c, in))
			break;
	}
	if (c->paused) {
		c->paused = false;
		if (!c->eof)
			bufferevent_enable(c->bev, EV_READ);
	}
	conn_check_done(c);
}

/* Lines arrived. */
static void conn_read_cb(struct bufferevent *bev, void *arg)
{
	conn_process(arg);
}

/* Output drained (to the low watermark). */
static void conn_write_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	if (c->closing) {
		if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
			conn_free(c);
		return;
	}
	if (c->paused)
		conn_process(c);
}

/* The client closed its side, or the socket failed. */
static void conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;

	if (what & BEV_EVENT_ERROR) {
		conn_free(c);
		return;
	}
	if (what & BEV_EVENT_EOF) {
		c->eof = true;
		bufferevent_disable(bev, EV_READ);
		conn_process(c);
	}
}

/* Deferred processing. */
static void conn_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	conn_process(arg);
}

/* Refuse a connection with one error line. */
static void conn_refuse(int fd, enum mp_error code, const char *msg)
{
	struct mp_id none = { .kind = MP_ID_NULL };
	size_t len = 0;
	char *line = mp_encode_error(&none, code, msg, &len);

	if (line && send(fd, line, len, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		log_debug("refused connection: %s", strerror(errno));
	free(line);
	close(fd);
}

/* Take a newly accepted client socket. */
void conn_accept(int fd)
{
	struct ucred cred = { .pid = 0, .uid = (uid_t)-1, .gid = (gid_t)-1 };
	socklen_t credlen = sizeof(cred);
	struct conn *c;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &credlen) < 0) {
		/* Nobody is served without knowing who they are. */
		if (log_ratelimit_ok(&C.deny_rl))
			log_warning("refused a connection: SO_PEERCRED: %s", strerror(errno));
		conn_refuse(fd, MP_ERR_PERMISSION_DENIED, "connection: peer credentials unavailable");
		return;
	}
	if (srv.stopping) {
		conn_refuse(fd, MP_ERR_SHUTTING_DOWN, "op: the daemon is shutting down");
		return;
	}
	enum access_level level = access_check(cred.uid, cred.gid);

	if (level == ACCESS_DENIED) {
		if (log_ratelimit_ok(&C.deny_rl))
			log_warning("refused a connection from uid %d (pid %d): not in allow_users or "
				    "allow_groups", (int)cred.uid, (int)cred.pid);
		conn_refuse(fd, MP_ERR_PERMISSION_DENIED, MSG_NOT_ALLOWED);
		return;
	}
	struct uid_entry *u = uid_get(cred.uid);

	if (!u) {
		close(fd);
		return;
	}
	if (srv.cfg.max_connections_per_uid > 0 && cred.uid != 0 &&
	    u->connections >= srv.cfg.max_connections_per_uid) {
		if (log_ratelimit_ok(&C.refuse_rl))
			log_warning("refusing a connection from uid %d (pid %d): max_connections_per_uid "
				    "(%d) reached", (int)cred.uid, (int)cred.pid,
				    srv.cfg.max_connections_per_uid);
		uid_release(u);
		conn_refuse(fd, MP_ERR_OVERLOADED, "connection: max_connections_per_uid reached");
		return;
	}
	if (idmap_count(&C.conns) >= (size_t)srv.cfg.max_connections) {
		uid_release(u);
		if (log_ratelimit_ok(&C.refuse_rl))
			log_warning("refusing a connection from uid %d (pid %d): max_connections (%d) "
				    "reached", (int)cred.uid, (int)cred.pid, srv.cfg.max_connections);
		conn_refuse(fd, MP_ERR_OVERLOADED, "connection: max_connections reached");
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		uid_release(u);
		close(fd);
		return;
	}
	c->id = ++C.next_id;
	c->uid = cred.uid;
	c->gid = cred.gid;
	c->pid = cred.pid;
	c->level = level;
	c->user = u;
	u->connections++;
	TAILQ_INSERT_TAIL(&u->conns, c, ulink);
	c->bev = bufferevent_socket_new(srv.base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (!c->bev || idmap_put(&C.conns, c->id, c) < 0) {
		if (c->bev)
			bufferevent_free(c->bev);
		else
			close(fd);
		TAILQ_REMOVE(&u->conns, c, ulink);
		u->connections--;
		uid_release(u);
		free(c);
		return;
	}
	C.total++;
	event_assign(&c->resume_ev, srv.base, -1, 0, conn_resume_cb, c);
	bufferevent_setcb(c->bev, conn_read_cb, conn_write_cb, conn_event_cb, c);
	bufferevent_setwatermark(c->bev, EV_READ, 0, srv.cfg.max_request_bytes + 4096);
	bufferevent_setwatermark(c->bev, EV_WRITE, CONN_OUTPUT_MAX / 2, 0);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	log_debug("connection %llu from uid %d pid %d", (unsigned long long)c->id, (int)c->uid,
		  (int)c->pid);
}

/* Stop reading from every connection; each closes once answered and written. */
void conn_close_all(void)
{
	size_t iter = 0, n = 0;
	uint64_t key;
	void *val;
	struct conn **v = malloc((idmap_count(&C.conns) + 1) * sizeof(*v));

	if (!v)
		return;
	while (idmap_next(&C.conns, &iter, &key, &val))
		v[n++] = val;
	for (size_t i = 0; i < n; i++) {
		v[i]->eof = true;
		bufferevent_disable(v[i]->bev, EV_READ);
		conn_check_done(v[i]);
	}
	free(v);
}

/* Free every connection at once (exit path). */
void conn_free_all(void)
{
	size_t iter;
	uint64_t key;
	void *val;

	for (;;) {
		iter = 0;
		if (!idmap_next(&C.conns, &iter, &key, &val))
			break;
		conn_free(val);
	}
	idmap_free(&C.conns);
	idmap_free(&C.uids);
}

/* True if some connection has requests not read or not answered yet. */
bool conn_unread(void)
{
	size_t iter = 0;
	uint64_t key;
	void *val;

	while (idmap_next(&C.conns, &iter, &key, &val)) {
		struct conn *c = val;
		int pending = 0;

		if (c->closing)
			continue;
		if (c->inflight > 0 || evbuffer_get_length(bufferevent_get_input(c->bev)) > 0)
			return true;
		if (c->eof)
			continue;
		if (ioctl(bufferevent_getfd(c->bev), FIONREAD, &pending) == 0 && pending > 0)
			return true;
	}
	return false;
}

/*
 * Apply a reloaded configuration to the open connections: the new
 * max_request_bytes, and the new access lists (a user no longer allowed is
 * told so and disconnected; one no longer admin loses the admin options).
 */
void conn_reconfigure(void)
{
	size_t iter = 0;
	uint64_t key;
	void *val;

	while (idmap_next(&C.conns, &iter, &key, &val)) {
		struct conn *c = val;

		c->level = access_check(c->uid, c->gid);
		if (c->level == ACCESS_DENIED && !c->closing) {
			struct mp_id none = { .kind = MP_ID_NULL };
			size_t len = 0;
			char *line = mp_encode_error(&none, MP_ERR_PERMISSION_DENIED, MSG_NOT_ALLOWED,
						     &len);

			if (log_ratelimit_ok(&C.deny_rl))
				log_warning("disconnecting uid %d (pid %d): no longer in allow_users or "
					    "allow_groups", (int)c->uid, (int)c->pid);
			if (line)
				bufferevent_write(c->bev, line, len);
			free(line);
			bufferevent_disable(c->bev, EV_READ);
			c->eof = true;
			c->closing = true; /* freed once the line is written */
			continue;
		}
		bufferevent_setwatermark(c->bev, EV_READ, 0, srv.cfg.max_request_bytes + 4096);
		conn_schedule(c);
	}
}

/* Open connections. */
size_t conn_count(void)
{
	return idmap_count(&C.conns);
}

/* Connections accepted since start. */
uint64_t conn_total(void)
{
	return C.total;
}
