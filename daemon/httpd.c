/*
 * The metrics endpoint, on libevent's evhttp.  Each metrics_listen item is
 * a TCP address (bound by evhttp) or a Unix socket path (bound here, born
 * with mode socket_mode; a stale socket file is replaced, a live one or
 * anything else at the path is an error; removed at stop).  Limits:
 * request headers of 8 KiB, no body, GET and HEAD only, metrics_timeout
 * seconds of waiting on a client, HTTPD_SCRAPES_MAX scrapes at once (more
 * get 503), each holding one chunk of text at a time; out of descriptors,
 * the listeners pause for a second.
 */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "httpd.h"
#include "log.h"
#include "server.h"
#include "util.h"

#define HTTPD_HEADERS_MAX 8192
/* Bytes of text written at a time. */
#define HTTPD_CHUNK (256 * 1024)
/* Scrapes answered at once; more get 503 (each holds up to a chunk and a cursor). */
#define HTTPD_SCRAPES_MAX 8
#define HTTPD_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* A GET /metrics being answered in chunks. */
struct scrape {
	struct evhttp_request *req;
	struct evhttp_connection *conn;
	void *cursor;
	struct promtext text;
};

static struct {
	struct evhttp *http;
	const struct httpd_source *src;
	char *paths[CONFIG_LISTEN_MAX];  /* Unix sockets bound here, to remove at stop */
	int n_paths;
	struct evconnlistener *levs[CONFIG_LISTEN_MAX]; /* every listener, to pause */
	int scrapes;                    /* GET /metrics being answered */
	int n_levs;
	struct event *resume_ev;
	struct log_ratelimit emfile_rl;
} H = { .emfile_rl = { .interval = 10, .burst = 5 } };

/* Forget sc: the connection is gone, or its close callback already cleared. */
static void scrape_free(struct scrape *sc)
{
	H.scrapes--;
	H.src->end(sc->cursor);
	promtext_free(&sc->text);
	free(sc);
}

/*
 * The connection is going.  When the client went away in the middle of
 * the answer, evhttp let go of the request, which is then ours to end
 * (that frees it); at evhttp_free() the connection frees it itself.
 */
static void scrape_closed_cb(struct evhttp_connection *conn, void *arg)
{
	struct scrape *sc = arg;

	if (!evhttp_request_get_connection(sc->req))
		evhttp_send_reply_end(sc->req);
	scrape_free(sc);
}

/* The last chunk went out (or the first is due): write the next, or end. */
static void scrape_chunk_cb(struct evhttp_connection *conn, void *arg)
{
	struct scrape *sc = arg;
	struct evbuffer *buf;
	bool done;

	promtext_reset(&sc->text);
	done = H.src->next(sc->cursor, &sc->text, HTTPD_CHUNK);
	buf = evbuffer_new();
	if (sc->text.oom || !buf || evbuffer_add(buf, sc->text.buf, sc->text.len) < 0) {
		/* The status line is out: only cutting the answer short is left. */
		log_error("metrics: out of memory writing the metrics");
		if (buf)
			evbuffer_free(buf);
		done = true;
		buf = NULL;
	}
	if (done) {
		/* Ending may free the connection: it must no longer call back. */
		evhttp_connection_set_closecb(sc->conn, NULL, NULL);
		if (buf)
			evhttp_send_reply_chunk(sc->req, buf);
		evhttp_send_reply_end(sc->req);
		if (buf)
			evbuffer_free(buf);
		scrape_free(sc);
		return;
	}
	evhttp_send_reply_chunk_with_cb(sc->req, buf, scrape_chunk_cb, sc);
	evbuffer_free(buf);
}

/* GET (or HEAD) /metrics. */
static void httpd_metrics_cb(struct evhttp_request *req, void *arg)
{
	struct scrape *sc;

	if (H.scrapes >= HTTPD_SCRAPES_MAX && evhttp_request_get_command(req) != EVHTTP_REQ_HEAD) {
		evhttp_send_error(req, HTTP_SERVUNAVAIL, "too many scrapes at once");
		return;
	}
	sc = calloc(1, sizeof(*sc));

	if (sc)
		sc->cursor = H.src->begin();
	if (!sc || !sc->cursor) {
		free(sc);
		log_error("metrics: out of memory starting a scrape");
		evhttp_send_error(req, HTTP_INTERNAL, "out of memory");
		return;
	}
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
			  HTTPD_CONTENT_TYPE);
	if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD) {
		H.src->end(sc->cursor);
		free(sc);
		evhttp_send_reply(req, HTTP_OK, "OK", NULL);
		return;
	}
	H.scrapes++;
	sc->req = req;
	sc->conn = evhttp_request_get_connection(req);
	evhttp_connection_set_closecb(sc->conn, scrape_closed_cb, sc);
	evhttp_send_reply_start(req, HTTP_OK, "OK");
	scrape_chunk_cb(sc->conn, sc);
}

/* Any other path. */
static void httpd_other_cb(struct evhttp_request *req, void *arg)
{
	struct evbuffer *out = evhttp_request_get_output_buffer(req);

	if (evhttp_request_get_command(req) != EVHTTP_REQ_HEAD)
		evbuffer_add_printf(out, "mtrprobed serves only /metrics here\n");
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
			  "text/plain; charset=utf-8");
	evhttp_send_reply(req, HTTP_NOTFOUND, "Not Found", NULL);
}

/* Accept again after running out of descriptors. */
static void httpd_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	for (int i = 0; i < H.n_levs; i++)
		evconnlistener_enable(H.levs[i]);
}

/*
 * accept() failed.  Out of descriptors, every metrics listener pauses for
 * a second (evhttp would otherwise try again at once, forever, and spin);
 * the descriptors kept for workers and lookups are not the endpoint's.
 */
static void httpd_accept_error_cb(struct evconnlistener *lev, void *arg)
{
	int err = EVUTIL_SOCKET_ERROR();
	struct timeval one = { 1, 0 };

	if (err != EMFILE && err != ENFILE && err != ENOBUFS && err != ENOMEM)
		return;
	if (log_ratelimit_ok(&H.emfile_rl))
		log_warning("metrics: accept: %s; not accepting for 1 s", strerror(err));
	for (int i = 0; i < H.n_levs; i++)
		evconnlistener_disable(H.levs[i]);
	evtimer_add(H.resume_ev, &one);
}

/* Pause the listener of bs like the others when descriptors run out. 0 or -1. */
static int httpd_watch(struct evhttp_bound_socket *bs)
{
	struct evconnlistener *lev = bs ? evhttp_bound_socket_get_listener(bs) : NULL;

	if (!lev)
		return -1;
	evconnlistener_set_error_cb(lev, httpd_accept_error_cb);
	H.levs[H.n_levs++] = lev;
	return 0;
}

/*
 * Refuse a path where a server answers (another daemon, or this one's
 * own socket), and anything but a socket; remove a stale socket.  0 or -1
 * with err set.
 */
static int httpd_check_path(const char *path, const struct sockaddr_un *sun,
			    char err[CONFIG_ERR_MAX])
{
	struct stat st;
	int fd, r;

	if (lstat(path, &st) < 0)
		return 0;
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, CONFIG_ERR_MAX, "metrics_listen: %s exists and is not a socket", path);
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	r = fd >= 0 && connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) == 0;
	if (fd >= 0)
		close(fd);
	if (r) {
		snprintf(err, CONFIG_ERR_MAX, "metrics_listen: something already serves %s", path);
		return -1;
	}
	unlink(path);
	return 0;
}

/* Bind and listen on the Unix socket path.  The fd, or -1 with err set. */
static int httpd_unix_socket(const char *path, char err[CONFIG_ERR_MAX])
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	mode_t old_umask;
	int fd, r;

	str_copy(sun.sun_path, sizeof(sun.sun_path), path);
	if (httpd_check_path(path, &sun, err) < 0)
		return -1;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, CONFIG_ERR_MAX, "metrics_listen: socket: %s", strerror(errno));
		return -1;
	}
	/* Born with its mode: no chmod by path, which a symlink could redirect. */
	old_umask = umask(~srv.cfg.socket_mode & 0777);
	r = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old_umask);
	if (r < 0 || listen(fd, 128) < 0) {
		snprintf(err, CONFIG_ERR_MAX, "metrics_listen: %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* Listen on one metrics_listen item. 0 or -1 with err set. */
static int httpd_listen(const char *item, char err[CONFIG_ERR_MAX])
{
	char addr[112]; /* a socket path (under 108 bytes) or an address */
	int port, fd;

	if (config_parse_listen(item, addr, sizeof(addr), &port) < 0) {
		snprintf(err, CONFIG_ERR_MAX, "metrics_listen: invalid item '%s'", item);
		return -1;
	}
	if (port > 0) {
		if (httpd_watch(evhttp_bind_socket_with_handle(H.http, addr, (ev_uint16_t)port)) < 0) {
			snprintf(err, CONFIG_ERR_MAX, "metrics_listen: cannot listen on %s: %s", item,
				 strerror(errno));
			return -1;
		}
		return 0;
	}
	fd = httpd_unix_socket(addr, err);
	if (fd < 0)
		return -1;
	H.paths[H.n_paths] = strdup(addr);
	if (!H.paths[H.n_paths] || httpd_watch(evhttp_accept_socket_with_handle(H.http, fd)) < 0) {
		snprintf(err, CONFIG_ERR_MAX, "metrics_listen: %s: out of memory", addr);
		free(H.paths[H.n_paths]);
		H.paths[H.n_paths] = NULL;
		close(fd);
		unlink(addr);
		return -1;
	}
	H.n_paths++;
	return 0;
}

int httpd_start(const struct httpd_source *src, char err[CONFIG_ERR_MAX])
{
	struct timeval tv = tv_from_seconds(srv.cfg.metrics_timeout);

	if (srv.cfg.n_metrics_listen == 0)
		return 0;
	H.src = src;
	H.http = evhttp_new(srv.base);
	H.resume_ev = evtimer_new(srv.base, httpd_resume_cb, NULL);
	if (!H.http || !H.resume_ev) {
		httpd_stop();
		snprintf(err, CONFIG_ERR_MAX, "metrics: out of memory");
		return -1;
	}
	evhttp_set_max_headers_size(H.http, HTTPD_HEADERS_MAX);
	evhttp_set_max_body_size(H.http, 0);
	evhttp_set_allowed_methods(H.http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
	evhttp_set_timeout_tv(H.http, &tv);
	evhttp_set_cb(H.http, "/metrics", httpd_metrics_cb, NULL);
	evhttp_set_gencb(H.http, httpd_other_cb, NULL);
	for (int i = 0; i < srv.cfg.n_metrics_listen; i++) {
		if (httpd_listen(srv.cfg.metrics_listen[i], err) < 0) {
			httpd_stop();
			return -1;
		}
	}
	for (int i = 0; i < srv.cfg.n_metrics_listen; i++)
		log_info("metrics served at %s", srv.cfg.metrics_listen[i]);
	return 0;
}

void httpd_stop(void)
{
	if (H.http)
		evhttp_free(H.http);
	H.http = NULL;
	if (H.resume_ev)
		event_free(H.resume_ev);
	H.resume_ev = NULL;
	H.n_levs = 0;
	for (int i = 0; i < H.n_paths; i++) {
		unlink(H.paths[i]);
		free(H.paths[i]);
		H.paths[i] = NULL;
	}
	H.n_paths = 0;
}

bool httpd_same(const struct mp_config *a, const struct mp_config *b)
{
	if (a->n_metrics_listen != b->n_metrics_listen || a->metrics_timeout != b->metrics_timeout ||
	    a->socket_mode != b->socket_mode)
		return false;
	for (int i = 0; i < a->n_metrics_listen; i++)
		if (strcmp(a->metrics_listen[i], b->metrics_listen[i]) != 0)
			return false;
	return true;
}
