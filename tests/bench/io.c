/*
 * mtrprobe-bench: the daemon's socket.  Connections, one-question requests
 * (version, stats), the probe requests and answers of the daemon's passes,
 * and a daemon pass itself.
 */
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "bench.h"

/* Connect a non-blocking socket to the daemon; the fd or -errno. */
int connect_daemon(const char *path)
{
	struct sockaddr_un sun;
	size_t len = strlen(path);
	int fd, err;

	if (len >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, len + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	big_socket_buffers(fd);
	while (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		if (errno == EINTR)
			continue;
		err = -errno;
		close(fd);
		return err;
	}
	err = set_nonblock(fd);
	if (err < 0) {
		close(fd);
		return err;
	}
	return fd;
}

/* Copy a JSON string member of obj into buf, or "?" when absent. */
static void copy_json_string(json_t *obj, const char *key, char *buf, size_t len)
{
	const char *s = json_string_value(json_object_get(obj, key));

	snprintf(buf, len, "%s", s ? s : "?");
}

/* Parse the answer line (len bytes) to req into *out: an object without
 * "error"; 0, or -1 with err set. */
static int parse_one_answer(const char *line, size_t len, const char *req, json_t **out,
			    char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *root = json_loadb(line, len, 0, &jerr);

	if (!json_is_object(root) || json_object_get(root, "error")) {
		snprintf(err, errlen, "unexpected answer to %.40s: %.*s", req, (int)len, line);
		json_decref(root);
		return -1;
	}
	*out = root;
	return 0;
}

/* Write the request line req on a fresh connection to path and parse the
 * one-line answer into *out (an object without "error"); 0, or -1 with err
 * set. */
int daemon_ask(const char *path, const char *req, json_t **out, char *err, size_t errlen)
{
	char buf[16384];
	size_t len = 0, off = 0, reqlen = strlen(req);
	int64_t deadline = now_ns() + (int64_t)(HELLO_TIMEOUT_S * NS_PER_S);
	int fd, ret = -1;
	char *nl = NULL;

	*out = NULL;
	fd = connect_daemon(path);
	if (fd < 0) {
		snprintf(err, errlen, "cannot connect to %s: %s", path, strerror(-fd));
		return -1;
	}
	while (!nl) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int64_t left = deadline - now_ns();
		ssize_t r;

		if (off < reqlen)
			pfd.events |= POLLOUT;
		if (left <= 0) {
			snprintf(err, errlen, "no answer from %s to %.40s within %.0f s", path, req,
				 HELLO_TIMEOUT_S);
			goto out;
		}
		if (poll(&pfd, 1, (int)(left / 1000000 + 1)) < 0) {
			if (errno == EINTR)
				continue;
			snprintf(err, errlen, "poll: %s", strerror(errno));
			goto out;
		}
		if (pfd.revents & POLLOUT) {
			r = write(fd, req + off, reqlen - off);
			if (r > 0)
				off += (size_t)r;
		}
		if (!(pfd.revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		r = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r <= 0) {
			snprintf(err, errlen, "%s closed the connection before answering", path);
			goto out;
		}
		len += (size_t)r;
		nl = memchr(buf, '\n', len);
		if (!nl && len == sizeof(buf) - 1) {
			snprintf(err, errlen, "answer to %.40s too long", req);
			goto out;
		}
	}
	ret = parse_one_answer(buf, (size_t)(nl - buf), req, out, err, errlen);
out:
	close(fd);
	return ret;
}

/* Ask the daemon for its version over a fresh connection, so that an
 * absent daemon is reported before any pass.  0, or -1 with err set. */
int daemon_hello(const char *path, struct daemon_info *info, char *err, size_t errlen)
{
	json_t *root, *w;

	if (daemon_ask(path, "{\"op\":\"version\",\"id\":\"bench\"}\n", &root, err, errlen) < 0)
		return -1;
	copy_json_string(root, "daemon", info->daemon, sizeof(info->daemon));
	copy_json_string(root, "mtr_packet", info->mtr_packet, sizeof(info->mtr_packet));
	w = json_object_get(root, "workers");
	info->workers = json_is_integer(w) ? (long)json_integer_value(w) : -1;
	json_decref(root);
	return 0;
}

/* An integer member of an object inside root, or 0. */
static long long stat_member(json_t *root, const char *obj, const char *key)
{
	return (long long)json_integer_value(json_object_get(json_object_get(root, obj), key));
}

/* Ask the daemon for its stats; 0, or -1 with err set. */
int daemon_stats(const char *path, struct daemon_stats *st, char *err, size_t errlen)
{
	json_t *root;

	if (daemon_ask(path, "{\"op\":\"stats\",\"id\":\"bench-stats\"}\n", &root, err, errlen) < 0)
		return -1;
	st->started = stat_member(root, "probes", "started");
	st->completed = stat_member(root, "probes", "completed");
	st->in_flight = stat_member(root, "probes", "in_flight");
	st->queued = stat_member(root, "probes", "queued");
	st->connected = stat_member(root, "clients", "connected");
	st->workers = stat_member(root, "workers", "configured");
	st->alive = stat_member(root, "workers", "alive");
	json_decref(root);
	return 0;
}

/* Wait until every configured worker is alive, so that a baseline RSS does
 * not miss the daemon's start-up; then *st holds its stats.  0, or -1
 * after a message. */
int daemon_settled(const char *path, struct daemon_stats *st)
{
	int64_t deadline = now_ns() + (int64_t)(HOLD_WAIT_S * (double)NS_PER_S);
	char err[256];

	for (;;) {
		if (daemon_stats(path, st, err, sizeof(err)) < 0) {
			fprintf(stderr, PROG ": %s\n", err);
			return -1;
		}
		if (st->alive >= st->workers)
			return 0;
		if (now_ns() >= deadline) {
			fprintf(stderr, PROG ": only %lld of %lld workers alive after %.0f s\n",
				st->alive, st->workers, HOLD_WAIT_S);
			return -1;
		}
		sleep_ms(HOLD_POLL_MS);
	}
}

/* Read and count whatever answer lines are waiting on the non-blocking fd;
 * false when the connection ended or failed. */
bool drain_answers(int fd, long *lines)
{
	char buf[65536];

	for (;;) {
		ssize_t r = read(fd, buf, sizeof(buf));
		ssize_t i;

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return true;
		if (r <= 0)
			return false;
		for (i = 0; i < r; i++)
			if (buf[i] == '\n')
				(*lines)++;
	}
}

/* The daemon's probe request for id: its target round-robin, the probe
 * timeout, the protocol. */
static size_t daemon_format(const struct options *o, long id, char *buf, size_t cap)
{
	long t = (id - 1) % o->ntargets;
	int len;

	len = snprintf(buf, cap,
		       "{\"op\":\"probe\",\"id\":%ld,\"host\":\"%s\",\"timeout\":%ld%s}\n",
		       id, o->targets[t], o->probe_timeout,
		       strcmp(o->protocol, "icmp") ? ",\"protocol\":\"udp\"" : "");
	return len < 0 ? 0 : (size_t)len;
}

/* Skip the literal lit at *p (within end); false if it is not there. */
static bool skip_lit(const char **p, const char *end, const char *lit)
{
	size_t n = strlen(lit);

	if ((size_t)(end - *p) < n || memcmp(*p, lit, n) != 0)
		return false;
	*p += n;
	return true;
}

/*
 * The common answer, as the daemon writes it for a probe with an integer
 * id: {"id":N,"success":B,"result":"WORD","time_ms":T,...}.  Parsed in
 * place, so that the client's share of the CPU is small as in the direct
 * passes (jansson takes several microseconds a line, on cores the daemon
 * and its worker need); false for any other shape, which goes to jansson.
 */
static bool answer_fast(const char *line, size_t len, long long *id, char *word,
			double *rtt_ms)
{
	const char *p = line, *end = line + len, *w;
	char num[32];
	long long v = 0;
	size_t n;

	if (!skip_lit(&p, end, "{\"id\":") || p == end || *p < '0' || *p > '9')
		return false;
	for (n = 0; p < end && *p >= '0' && *p <= '9'; p++, n++) {
		if (n >= 18)
			return false;
		v = v * 10 + (*p - '0');
	}
	if (!skip_lit(&p, end, ",\"success\":true,\"result\":\"") &&
	    !skip_lit(&p, end, ",\"success\":false,\"result\":\""))
		return false;
	for (w = p; p < end && *p != '"' && *p != '\\'; p++)
		;
	if (p == end || *p != '"' || (size_t)(p - w) >= WORD_LEN)
		return false;
	memcpy(word, w, (size_t)(p - w));
	word[p - w] = '\0';
	p++;
	if (!skip_lit(&p, end, ",\"time_ms\":"))
		return false;
	if (skip_lit(&p, end, "null")) {
		*rtt_ms = NAN;
	} else {
		char *stop;

		for (n = 0; p + n < end && n < sizeof(num) - 1 &&
			    strchr("0123456789.eE+-", p[n]); n++)
			num[n] = p[n];
		num[n] = '\0';
		*rtt_ms = strtod(num, &stop);
		if (n == 0 || *stop)
			return false;
		p += n;
	}
	if (p == end || (*p != ',' && *p != '}'))
		return false;
	*id = v;
	return true;
}

/* Parse one answer line of the daemon to a probe: its integer id, its
 * result word ("error:CODE" for an error) into word (WORD_LEN bytes), and
 * mtr-packet's round-trip time (NAN when none).  false when the line is
 * not an answer with an integer id. */
bool daemon_answer_parse(const char *line, size_t len, long long *id, char *word,
			 double *rtt_ms)
{
	json_error_t jerr;
	json_t *root, *jid, *e, *tm;
	const char *s;

	if (len && line[len - 1] == '\r')
		len--;
	*rtt_ms = NAN;
	if (answer_fast(line, len, id, word, rtt_ms))
		return true;
	*rtt_ms = NAN;
	root = json_loadb(line, len, 0, &jerr);
	jid = json_object_get(root, "id");
	if (!json_is_object(root) || !json_is_integer(jid)) {
		json_decref(root);
		return false;
	}
	*id = json_integer_value(jid);
	e = json_object_get(root, "error");
	if (e) {
		s = json_string_value(json_object_get(e, "code"));
		snprintf(word, WORD_LEN, "error:%s", s ? s : "?");
	} else {
		s = json_string_value(json_object_get(root, "result"));
		snprintf(word, WORD_LEN, "%s", s ? s : "no-result");
		tm = json_object_get(root, "time_ms");
		if (json_is_number(tm))
			*rtt_ms = json_number_value(tm);
	}
	json_decref(root);
	return true;
}

/* Handle one answer line from the daemon, read at time t. */
static void daemon_line(struct pass *p, const char *line, size_t len, int64_t t)
{
	char word[WORD_LEN];
	double rtt_ms;
	long long id;

	if (!daemon_answer_parse(line, len, &id, word, &rtt_ms)) {
		p->unexpected++;
		return;
	}
	record_answer(p, id, word, rtt_ms, t);
}

const struct pass_link daemon_link = {
	.label = "daemon",
	.peer = "the daemon",
	.format = daemon_format,
	.line = daemon_line,
};

/* Run one daemon pass over a fresh connection. */
void daemon_pass(struct pass *p, const struct options *o, int64_t deadline)
{
	int fd = connect_daemon(o->socket);

	if (fd < 0) {
		p->ran = true;
		pass_fail(p, "cannot connect to %s: %s", o->socket, strerror(-fd));
		return;
	}
	run_pass(p, o, fd, fd, deadline);
	close(fd);
}
