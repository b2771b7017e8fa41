/*
 * Client connections, as transport.  Each reads newline-terminated lines
 * and hands them up through the line hook, writes the answers it is given
 * (in completion order), and pushes back on a client that asks faster than
 * it reads or than its requests complete: at max_inflight_per_client
 * requests outstanding, at uid_max_inflight for its uid, or when the
 * answers it may still owe plus those written and unread reach
 * client_max_answer_bytes (uid_max_answer_bytes for its uid), the
 * connection stops being read until answers drain.  A line longer than
 * max_request_bytes gets request-too-large and the rest of it is skipped;
 * the connection stays usable.  At most CONN_LINES_PER_WAKE lines are
 * handled per wake-up, so one busy client cannot starve the others.  The
 * socket is a stream (stream.c): an idle connection holds no buffer and
 * no timer; connections to be looked at again wait in one list under one
 * event.
 */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <unistd.h>

#include "access.h"
#include "conn.h"
#include "idmap.h"
#include "log.h"
#include "encode.h"
#include "proto.h"
#include "server.h"
#include "stream.h"

#define CONN_LINES_PER_WAKE 64
/* The output buffer's low watermark: below it, a paused connection is looked at again. */
#define CONN_WRITE_LOWAT (256 * 1024)
/* What a user not (or no longer) allowed is told before being disconnected. */
#define MSG_NOT_ALLOWED "connection: this user may not use the daemon"

struct uid_entry;

/* Where a connection is in the lists of those to look at again. */
enum conn_resume {
	RESUME_NONE,
	RESUME_NEXT,             /* in C.resume_next: at the next run */
	RESUME_NOW               /* in C.resume_now: in the run going on */
};

/* One client connection.  Owned by the connection map. */
struct conn {
	struct stream st;        /* the socket */
	uint64_t id;
	struct conn_peer peer;
	struct uid_entry *user;  /* this uid's shared counters */
	TAILQ_ENTRY(conn) ulink; /* in user->conns */
	TAILQ_ENTRY(conn) wlink; /* in user->budget_waiters */
	TAILQ_ENTRY(conn) rlink; /* in a resume list */
	size_t reserved;     /* bytes reserved for answers not written yet */
	int inflight;        /* requests read and not answered yet */
	uint8_t resume;      /* enum conn_resume */
	bool budget_wait;    /* in user->budget_waiters */
	bool discarding;     /* skipping the rest of a too-long line */
	bool eof;            /* the client finished sending */
	bool paused;         /* reading stopped by back-pressure */
	bool closing;        /* free once the output is written */
	bool waiting;        /* the line at the head was refused for now (no budget) */
};

/* What all connections of one uid share.  Owned by the uid map; freed with its last connection. */
struct uid_entry {
	uid_t uid;
	int connections;
	int inflight;            /* requests outstanding on all its connections */
	size_t reserved;         /* reserved for answers on all its connections */
	size_t unread;           /* written and unread on all its connections */
	TAILQ_HEAD(, conn) conns;
	TAILQ_HEAD(, conn) budget_waiters; /* paused until the uid's answers drain */
};

static struct {
	const struct conn_hooks *hooks;
	size_t reserved, unread; /* over every connection */
	uint64_t too_large;      /* lines answered request-too-large */
	struct idmap conns;
	struct idmap uids;       /* uid + 1 -> struct uid_entry */
	struct log_ratelimit deny_rl;
	uint64_t next_id;
	uint64_t total;
	struct log_ratelimit refuse_rl;
	TAILQ_HEAD(, conn) resume_next, resume_now; /* to be processed again */
	struct event *resume_ev; /* runs them */
} C = { .refuse_rl = { .interval = 10, .burst = 3 }, .deny_rl = { .interval = 10, .burst = 10 } };

static void conn_process(struct conn *c);
static const struct stream_cbs conn_stream_cbs;

/* The connection of stream s. */
static struct conn *conn_of(struct stream *s)
{
	return (struct conn *)((char *)s - offsetof(struct conn, st));
}

/* The shared counters of uid, created on first use. */
static struct uid_entry *uid_get(uid_t uid)
{
	bool created;
	struct uid_entry *u = idmap_get_or_new(&C.uids, (uint64_t)uid + 1, sizeof(*u), &created);

	if (u && created) {
		u->uid = uid;
		TAILQ_INIT(&u->conns);
		TAILQ_INIT(&u->budget_waiters);
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

/* True if u is held to the per-uid limits (root is not). */
static bool uid_limited(const struct uid_entry *u)
{
	return u->uid != 0;
}

/* Look at u's paused connections again (u's requests in flight went below its cap). */
static void uid_wake(struct uid_entry *u, struct conn *except)
{
	struct conn *o;

	TAILQ_FOREACH(o, &u->conns, ulink)
		if (o->paused && o != except)
			conn_schedule(o);
}

/* Look again at the connections waiting for u's answers to drain (O(waiters), not O(conns)). */
static void uid_wake_budget(struct uid_entry *u)
{
	struct conn *o;

	while ((o = TAILQ_FIRST(&u->budget_waiters))) {
		TAILQ_REMOVE(&u->budget_waiters, o, wlink);
		o->budget_wait = false;
		conn_schedule(o);
	}
}

/* c waits for its uid's answers to drain. */
static void conn_wait_budget(struct conn *c)
{
	if (!c->budget_wait && uid_limited(c->user)) {
		TAILQ_INSERT_TAIL(&c->user->budget_waiters, c, wlink);
		c->budget_wait = true;
	}
}

/* Requests of c outstanding change by delta; wake the uid's other connections below its cap. */
static void conn_count_request(struct conn *c, int delta)
{
	struct uid_entry *u = c->user;
	int cap = srv.cfg.uid_max_inflight;
	bool was_full = cap > 0 && u->inflight >= cap;

	c->inflight += delta;
	u->inflight += delta;
	if (was_full && u->inflight < cap)
		uid_wake(u, c);
}

/* Bytes of c's answers: reserved, plus written and not read yet. */
static size_t conn_owed(const struct conn *c)
{
	return c->reserved + stream_output_len(&c->st);
}

/* True if adding bytes keeps c and its uid within their answer budgets. */
static bool conn_budget_fits(const struct conn *c, size_t bytes)
{
	const struct uid_entry *u = c->user;
	size_t owed = conn_owed(c), uowed = u->reserved + u->unread;

	if (owed + bytes > srv.cfg.client_max_answer_bytes)
		return false;
	return !uid_limited(u) || uowed + bytes <= srv.cfg.uid_max_answer_bytes;
}

/* Release bytes of c's reservation. */
static void conn_unreserve(struct conn *c, size_t bytes)
{
	struct uid_entry *u = c->user;

	if (bytes > c->reserved)
		bytes = c->reserved;
	c->reserved -= bytes;
	u->reserved -= bytes;
	C.reserved -= bytes;
	if (bytes > 0 && !TAILQ_EMPTY(&u->budget_waiters))
		uid_wake_budget(u);
}

/* Write len bytes to c, counted as unread until the socket takes them.  0 or -ENOMEM. */
static int conn_write(struct conn *c, const char *data, size_t len)
{
	if (stream_write(&c->st, data, len) < 0)
		return -ENOMEM;
	c->user->unread += len;
	C.unread += len;
	return 0;
}

/* Take c out of the resume list it is in. */
static void conn_unresume(struct conn *c)
{
	if (c->resume == RESUME_NEXT)
		TAILQ_REMOVE(&C.resume_next, c, rlink);
	else if (c->resume == RESUME_NOW)
		TAILQ_REMOVE(&C.resume_now, c, rlink);
	c->resume = RESUME_NONE;
}

/* Free c now. */
static void conn_free(struct conn *c)
{
	struct uid_entry *u = c->user;
	size_t left = stream_output_len(&c->st);

	/* Its outstanding requests will find it gone: they no longer count. */
	conn_count_request(c, -c->inflight);
	conn_unreserve(c, c->reserved);
	u->unread -= left;
	C.unread -= left;
	if (c->budget_wait)
		TAILQ_REMOVE(&u->budget_waiters, c, wlink);
	if (left > 0 && !TAILQ_EMPTY(&u->budget_waiters))
		uid_wake_budget(u);
	TAILQ_REMOVE(&u->conns, c, ulink);
	u->connections--;
	uid_release(u);
	idmap_del(&C.conns, c->id);
	C.hooks->gone(c->id);
	conn_unresume(c);
	stream_free(&c->st);
	free(c);
}

/* Close c if it is finished: client done sending, everything answered. */
static void conn_check_done(struct conn *c)
{
	if (!c->eof || c->inflight > 0)
		return;
	if (stream_input_len(&c->st) > 0)
		return;
	if (stream_output_len(&c->st) == 0)
		conn_free(c);
	else
		c->closing = true;
}

/* Run conn_process() for c from the loop (never inside another callback of c). */
static void conn_schedule(struct conn *c)
{
	if (c->resume != RESUME_NONE)
		return; /* it runs soon anyway */
	TAILQ_INSERT_TAIL(&C.resume_next, c, rlink);
	c->resume = RESUME_NEXT;
	if (!event_pending(C.resume_ev, EV_TIMEOUT, NULL))
		event_active(C.resume_ev, EV_TIMEOUT, 0);
}

/* Process the connections scheduled before this run; those scheduled meanwhile wait for the next. */
static void conn_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c;

	while ((c = TAILQ_FIRST(&C.resume_next))) {
		TAILQ_REMOVE(&C.resume_next, c, rlink);
		TAILQ_INSERT_TAIL(&C.resume_now, c, rlink);
		c->resume = RESUME_NOW;
	}
	while ((c = TAILQ_FIRST(&C.resume_now))) {
		TAILQ_REMOVE(&C.resume_now, c, rlink);
		c->resume = RESUME_NONE;
		conn_process(c);
	}
}

/* Set the hooks. */
void conn_setup(const struct conn_hooks *hooks)
{
	C.hooks = hooks;
	TAILQ_INIT(&C.resume_next);
	TAILQ_INIT(&C.resume_now);
	C.resume_ev = event_new(srv.base, -1, 0, conn_resume_cb, NULL);
	if (!C.resume_ev)
		fatal("out of memory");
}

/* Reserve bytes of conn_id's answer budget. */
bool conn_reserve(uint64_t conn_id, size_t bytes)
{
	struct conn *c = idmap_get(&C.conns, conn_id);
	const struct uid_entry *u;
	size_t owed, uowed;

	if (!c)
		return false;
	u = c->user;
	owed = conn_owed(c);
	uowed = u->reserved + u->unread;
	/* With nothing owed by the connection (or the uid), any one request may run. */
	if (owed > 0 && owed + bytes > srv.cfg.client_max_answer_bytes)
		return false;
	if (uid_limited(u) && uowed > 0 && uowed + bytes > srv.cfg.uid_max_answer_bytes)
		return false;
	c->reserved += bytes;
	c->user->reserved += bytes;
	C.reserved += bytes;
	return true;
}

/* Write one answer line to connection conn_id and release its reservation. */
void conn_answer(uint64_t conn_id, const char *line, size_t len, size_t reserved)
{
	struct conn *c = idmap_get(&C.conns, conn_id);

	if (!c)
		return;
	if (conn_write(c, line, len) < 0)
		log_error("connection %llu: out of memory for an answer", (unsigned long long)c->id);
	conn_unreserve(c, reserved);
	conn_count_request(c, -1);
	if (c->paused || c->eof)
		conn_schedule(c);
}

/* Write a line that is not an answer (a trace's hop event), if the budgets allow. */
void conn_event(uint64_t conn_id, const char *line, size_t len)
{
	struct conn *c = idmap_get(&C.conns, conn_id);

	/* Events are a live view: a client that does not read them loses some. */
	if (c && !c->closing && conn_budget_fits(c, len) && conn_write(c, line, len) < 0)
		log_error("connection %llu: out of memory for an event", (unsigned long long)c->id);
}

/* Answer a line that is too long. */
static void conn_too_large(struct conn *c)
{
	char msg[MP_ERRMSG_MAX];
	struct mp_id none = { .kind = MP_ID_NULL };
	size_t len = 0;
	char *line;

	conn_count_request(c, 1);
	C.too_large++;
	snprintf(msg, sizeof(msg), "line: longer than max_request_bytes (%zu)",
		 srv.cfg.max_request_bytes);
	line = mp_encode_error(&none, MP_ERR_REQUEST_TOO_LARGE, msg, &len);
	conn_answer(c->id, line ? line : "", line ? len : 0, 0);
	free(line);
}

/* True if c must stop reading for now (one waiting for its uid's answers is noted so). */
static bool conn_must_wait(struct conn *c)
{
	const struct uid_entry *u = c->user;

	if (uid_limited(u) && u->reserved + u->unread >= srv.cfg.uid_max_answer_bytes) {
		conn_wait_budget(c);
		return true;
	}
	return c->inflight >= srv.cfg.max_inflight_per_client ||
	       (srv.cfg.uid_max_inflight > 0 && uid_limited(u) &&
		u->inflight >= srv.cfg.uid_max_inflight) ||
	       conn_owed(c) >= srv.cfg.client_max_answer_bytes;
}

/* Offer one line to the hook: false if it must wait. */
static bool conn_offer_line(struct conn *c, const char *line, size_t len)
{
	uint64_t id = c->id;

	conn_count_request(c, 1);
	if (C.hooks->line(id, &c->peer, line, len) == CONN_LATER) {
		conn_count_request(c, -1);
		return false;
	}
	return true;
}

/* Handle one complete line at the head of the input, or a too-long part. */
static bool conn_take_line(struct conn *c)
{
	struct evbuffer *in = stream_input(&c->st);
	size_t eol_len = 0, n = in ? evbuffer_get_length(in) : 0;
	struct evbuffer_ptr eol = { .pos = -1 };
	size_t max = srv.cfg.max_request_bytes;

	if (n > 0)
		eol = evbuffer_search_eol(in, NULL, &eol_len, EVBUFFER_EOL_LF);
	if (eol.pos < 0) {
		if (c->discarding || n > max + 1) {
			if (!c->discarding)
				conn_too_large(c);
			c->discarding = true;
			stream_drain(&c->st, n);
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

	if (c->discarding) {
		c->discarding = false;
	} else if (body > max) {
		conn_too_large(c);
	} else if (!conn_offer_line(c, line, len)) {
		c->waiting = true;
		return false;
	}
	stream_drain(&c->st, len + eol_len);
	return true;
}

/* Stop reading c: back-pressure. */
static void conn_pause(struct conn *c)
{
	if (!c->paused) {
		c->paused = true;
		stream_read(&c->st, false);
	}
}

/* Handle the lines waiting on c, within this wake-up's budget. */
static void conn_process(struct conn *c)
{
	int budget = CONN_LINES_PER_WAKE;

	if (c->closing)
		return;
	for (;;) {
		if (conn_must_wait(c)) {
			conn_pause(c);
			return;
		}
		if (budget-- == 0) {
			conn_schedule(c);
			return;
		}
		if (!conn_take_line(c)) {
			if (!c->waiting)
				break;
			/* No room for that line's answer: wait for answers to drain. */
			c->waiting = false;
			conn_wait_budget(c);
			conn_pause(c);
			return;
		}
	}
	if (c->paused) {
		c->paused = false;
		if (!c->eof)
			stream_read(&c->st, true);
	}
	conn_check_done(c);
}

/* Lines arrived. */
static void conn_read_cb(struct stream *s)
{
	conn_process(conn_of(s));
}

/* n bytes of output went out (drained: down to the low watermark). */
static void conn_written_cb(struct stream *s, size_t n, bool drained)
{
	struct conn *c = conn_of(s);
	struct uid_entry *u = c->user;

	u->unread -= n;
	C.unread -= n;
	if (!TAILQ_EMPTY(&u->budget_waiters))
		uid_wake_budget(u);
	if (!drained)
		return;
	if (c->closing) {
		if (stream_output_len(s) == 0)
			conn_free(c);
		return;
	}
	if (c->paused)
		conn_process(c);
}

/* The client closed its side. */
static void conn_eof_cb(struct stream *s)
{
	struct conn *c = conn_of(s);

	c->eof = true;
	conn_process(c);
}

/* The socket failed. */
static void conn_error_cb(struct stream *s)
{
	conn_free(conn_of(s));
}

static const struct stream_cbs conn_stream_cbs = {
	.read = conn_read_cb,
	.written = conn_written_cb,
	.eof = conn_eof_cb,
	.error = conn_error_cb,
};

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

/*
 * Decide whether the peer of fd (cred) may have a connection: its uid's
 * shared counters, or NULL after refusing it with one error line.
 */
static struct uid_entry *conn_admit(int fd, const struct ucred *cred, enum access_level *ret_level)
{
	struct uid_entry *u;

	if (srv.stopping) {
		conn_refuse(fd, MP_ERR_SHUTTING_DOWN, "op: the daemon is shutting down");
		return NULL;
	}
	*ret_level = access_check(cred->uid, cred->gid);
	if (*ret_level == ACCESS_DENIED) {
		if (log_ratelimit_ok(&C.deny_rl))
			log_warning("refused a connection from uid %d (pid %d): not in allow_users or "
				    "allow_groups", (int)cred->uid, (int)cred->pid);
		conn_refuse(fd, MP_ERR_PERMISSION_DENIED, MSG_NOT_ALLOWED);
		return NULL;
	}
	u = uid_get(cred->uid);
	if (!u) {
		close(fd);
		return NULL;
	}
	if (srv.cfg.max_connections_per_uid > 0 && cred->uid != 0 &&
	    u->connections >= srv.cfg.max_connections_per_uid) {
		if (log_ratelimit_ok(&C.refuse_rl))
			log_warning("refusing a connection from uid %d (pid %d): max_connections_per_uid "
				    "(%d) reached", (int)cred->uid, (int)cred->pid,
				    srv.cfg.max_connections_per_uid);
		uid_release(u);
		conn_refuse(fd, MP_ERR_OVERLOADED, "connection: max_connections_per_uid reached");
		return NULL;
	}
	if (idmap_count(&C.conns) >= (size_t)srv.cfg.max_connections) {
		uid_release(u);
		if (log_ratelimit_ok(&C.refuse_rl))
			log_warning("refusing a connection from uid %d (pid %d): max_connections (%d) "
				    "reached", (int)cred->uid, (int)cred->pid, srv.cfg.max_connections);
		conn_refuse(fd, MP_ERR_OVERLOADED, "connection: max_connections reached");
		return NULL;
	}
	return u;
}

/* Take a newly accepted client socket. */
void conn_accept(int fd)
{
	struct ucred cred = { .pid = 0, .uid = (uid_t)-1, .gid = (gid_t)-1 };
	socklen_t credlen = sizeof(cred);
	enum access_level level = ACCESS_DENIED;
	struct uid_entry *u;
	struct conn *c;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &credlen) < 0) {
		/* Nobody is served without knowing who they are. */
		if (log_ratelimit_ok(&C.deny_rl))
			log_warning("refused a connection: SO_PEERCRED: %s", strerror(errno));
		conn_refuse(fd, MP_ERR_PERMISSION_DENIED, "connection: peer credentials unavailable");
		return;
	}
	u = conn_admit(fd, &cred, &level);
	if (!u)
		return;
	c = calloc(1, sizeof(*c));
	if (!c) {
		uid_release(u);
		close(fd);
		return;
	}
	c->id = ++C.next_id;
	c->peer.uid = cred.uid;
	c->peer.gid = cred.gid;
	c->peer.pid = cred.pid;
	c->peer.level = level;
	c->user = u;
	u->connections++;
	TAILQ_INSERT_TAIL(&u->conns, c, ulink);
	stream_init(&c->st, srv.base, fd, &conn_stream_cbs);
	if (idmap_put(&C.conns, c->id, c) < 0) {
		stream_free(&c->st);
		TAILQ_REMOVE(&u->conns, c, ulink);
		u->connections--;
		uid_release(u);
		free(c);
		return;
	}
	C.total++;
	stream_set_limits(&c->st, srv.cfg.max_request_bytes + 4096,
			  srv.cfg.client_max_answer_bytes / 2);
	stream_read(&c->st, true);
	log_debug("connection %llu from uid %d pid %d", (unsigned long long)c->id,
		  (int)c->peer.uid, (int)c->peer.pid);
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
		stream_read(&v[i]->st, false);
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
	if (C.resume_ev)
		event_free(C.resume_ev);
	C.resume_ev = NULL;
}

/* Give back the connections' empty buffers and the spare room of the connection and uid maps. */
void conn_trim(void)
{
	size_t iter = 0;
	uint64_t key;
	void *val;

	while (idmap_next(&C.conns, &iter, &key, &val))
		stream_shrink(&((struct conn *)val)->st);
	idmap_shrink(&C.conns);
	idmap_shrink(&C.uids);
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
		if (c->inflight > 0 || stream_input_len(&c->st) > 0)
			return true;
		if (c->eof)
			continue;
		if (ioctl(stream_fd(&c->st), FIONREAD, &pending) == 0 && pending > 0)
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

		c->peer.level = access_check(c->peer.uid, c->peer.gid);
		if (c->peer.level == ACCESS_DENIED && !c->closing) {
			struct mp_id none = { .kind = MP_ID_NULL };
			size_t len = 0;
			char *line = mp_encode_error(&none, MP_ERR_PERMISSION_DENIED, MSG_NOT_ALLOWED,
						     &len);

			if (log_ratelimit_ok(&C.deny_rl))
				log_warning("disconnecting uid %d (pid %d): no longer in allow_users or "
					    "allow_groups", (int)c->peer.uid, (int)c->peer.pid);
			if (line)
				(void)conn_write(c, line, len);
			free(line);
			stream_read(&c->st, false);
			c->eof = true;
			c->closing = true; /* freed once the line is written */
			continue;
		}
		stream_set_limits(&c->st, srv.cfg.max_request_bytes + 4096,
				  srv.cfg.client_max_answer_bytes / 2);
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

/* Bytes reserved for answers and written but unread, over all connections. */
size_t conn_answer_bytes(void)
{
	return C.reserved + C.unread;
}

/* Lines answered request-too-large since start. */
uint64_t conn_too_large_count(void)
{
	return C.too_large;
}
