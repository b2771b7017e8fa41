/*
 * mtrprobe-packet: a stand-in for mtr-packet(8) that needs no privileges.
 * It reads mtr-packet commands on stdin, forwards each one to mtrprobed as
 * one pipelined JSON request, and writes mtr-packet replies on stdout with
 * the caller's tokens, so that mtr(8) and the Python mtrpacket library run
 * unchanged through the daemon ($MTR_PACKET).  See mtrprobe-packet(1).
 *
 * Malformed input is answered exactly as mtr-packet 0.95 answers it: the
 * command buffer below and the tokenizer and argument decoding of pktcmd.c
 * mirror mtr-packet's, measured by running it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "config-build.h"
#include "daemon/idmap.h"
#include "mtrprobe/protocol.h"
#include "clientlib.h"
#include "pktcmd.h"

#define PROG "mtrprobe-packet"

/* Exit statuses, documented in mtrprobe-packet(1). */
enum {
	EXIT_OK = 0,          /* stdin ended and every answer was written */
	EXIT_DAEMON = 1,      /* cannot connect, connection lost, bad answer */
	EXIT_USAGE = 2,       /* bad command line */
	EXIT_LOCAL = 3,       /* out of memory, stdin or stdout failed */
};

/* Returned by steps of the event loop that want it to go on. */
#define CONTINUE (-1)

/* mtr-packet's COMMAND_BUFFER_SIZE: a line holds at most 4094 bytes. */
#define CMD_BUFFER_SIZE PKTCMD_BUFFER_SIZE
/* Stop reading commands while this much waits for the daemon or stdout. */
#define HIGH_WATER (1024u * 1024u)
/* How long to keep writing buffered answers after a fatal error. */
#define DRAIN_TIMEOUT_MS 5000
/* Longest reply line written (a full MPLS stack fits easily). */
#define REPLY_MAX 1024

/* What a forwarded request asked, to format its answer. */
enum req_kind { REQ_PROBE, REQ_CHECK_SUPPORT };

/* One request sent to the daemon, keyed by its request id. */
struct pending {
	int token;             /* the caller's token, as mtr-packet keeps it */
	enum req_kind kind;
};

/* The whole state of the program; owned by main(). */
struct bridge {
	const char *socket_path;
	struct mpc_conn conn;       /* fd -1 while not connected */
	struct idmap pending;       /* request id -> struct pending */
	int64_t next_id;
	char in[CMD_BUFFER_SIZE];   /* command bytes, NUL-terminated */
	size_t in_len;
	bool in_eof;
	char *out;                  /* reply bytes for stdout */
	size_t out_start, out_len, out_cap;
	size_t out_chunk;           /* most bytes per write to stdout */
	bool out_gone;              /* stdout's reader went away */
	sigset_t waitmask;          /* signal mask while waiting in ppoll() */
};

/* Signals that end the program like mtr-packet's default disposition,
 * after cleaning up; the one caught is re-raised. */
static const int fatal_signals[] = { SIGTERM, SIGINT, SIGHUP };

/* The fatal signal caught, or 0. */
static volatile sig_atomic_t caught_signal;

/* Print "mtrprobe-packet: MESSAGE" on stderr, control characters masked. */
__attribute__((format(printf, 1, 2)))
static void msg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	mpc_vmsg(PROG, 1024, fmt, ap);
	va_end(ap);
}

/* Report that memory ran out; returns EXIT_LOCAL. */
static int oom(void)
{
	msg("out of memory");
	return EXIT_LOCAL;
}

/* Print the usage text on f. */
static void usage(FILE *f)
{
	fputs("Usage: " PROG " [-s SOCKET]\n"
	      "Speak mtr-packet's protocol on stdin and stdout; run the probes\n"
	      "through mtrprobed.  Meant to be started by mtr or the Python\n"
	      "mtrpacket library as $MTR_PACKET.\n"
	      "\n"
	      "  -s, --socket PATH   daemon socket (default: $" MP_SOCKET_ENV ",\n"
	      "                      else " MP_DEFAULT_SOCKET ")\n"
	      "  -V, --version       print the version and exit\n"
	      "  -h, --help          show this help\n"
	      "\n"
	      "Exit status: 0 input done and answered, 1 daemon unreachable or\n"
	      "lost, 2 usage error, 3 local error.\n", f);
}

/* ---- reply output ------------------------------------------------------ */

/* Append bytes to the stdout buffer; CONTINUE or EXIT_LOCAL. */
static int out_append(struct bridge *b, const char *data, size_t len)
{
	size_t need, ncap;
	char *nbuf;

	if (b->out_start > 0) {
		memmove(b->out, b->out + b->out_start, b->out_len - b->out_start);
		b->out_len -= b->out_start;
		b->out_start = 0;
	}
	need = b->out_len + len;
	if (need > b->out_cap) {
		ncap = b->out_cap ? b->out_cap : 4096;
		while (ncap < need)
			ncap *= 2;
		nbuf = realloc(b->out, ncap);
		if (!nbuf)
			return oom();
		b->out = nbuf;
		b->out_cap = ncap;
	}
	memcpy(b->out + b->out_len, data, len);
	b->out_len += len;
	return CONTINUE;
}

/* Append one formatted reply line ("\n" included by the caller). */
__attribute__((format(printf, 2, 3)))
static int out_printf(struct bridge *b, const char *fmt, ...)
{
	char buf[REPLY_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(buf)) {
		msg("internal error: reply line too long");
		return EXIT_LOCAL;
	}
	return out_append(b, buf, (size_t)n);
}

/* Append "TOKEN WORD\n". */
static int out_word(struct bridge *b, int token, const char *word)
{
	return out_printf(b, "%d %s\n", token, word);
}

/* Bytes waiting for stdout. */
static size_t out_pending(const struct bridge *b)
{
	return b->out_len - b->out_start;
}

/* Write one chunk of the stdout buffer (called when stdout is writable,
 * so that a chunk of at most PIPE_BUF bytes never blocks). */
static int out_write(struct bridge *b)
{
	size_t len = out_pending(b);
	ssize_t n;

	if (len > b->out_chunk)
		len = b->out_chunk;
	n = write(STDOUT_FILENO, b->out + b->out_start, len);
	if (n < 0) {
		if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
			return CONTINUE;
		if (errno == EPIPE) {
			b->out_gone = true;
			return EXIT_LOCAL;
		}
		msg("cannot write standard output: %s", strerror(errno));
		return EXIT_LOCAL;
	}
	b->out_start += (size_t)n;
	if (b->out_start == b->out_len)
		b->out_start = b->out_len = 0;
	return CONTINUE;
}

/* ---- the daemon connection --------------------------------------------- */

/* Connect to the daemon if not connected; CONTINUE or EXIT_DAEMON. */
static int daemon_connect(struct bridge *b)
{
	int r;

	if (b->conn.fd >= 0)
		return CONTINUE;
	r = mpc_conn_open(&b->conn, b->socket_path);
	if (r < 0) {
		msg("cannot connect to %s: %s", b->socket_path, strerror(-r));
		return EXIT_DAEMON;
	}
	return CONTINUE;
}

/* The connection ended: fatal with answers outstanding, else forget it
 * (the next command reconnects). */
static int daemon_lost(struct bridge *b, const char *why)
{
	size_t n = idmap_count(&b->pending);

	if (n > 0) {
		msg("lost the connection to the daemon (%s) with %zu answer%s "
		    "outstanding", why, n, n == 1 ? "" : "s");
		return EXIT_DAEMON;
	}
	mpc_conn_close(&b->conn);
	return CONTINUE;
}

/* Queue one request for the daemon under a fresh id, remembering the
 * caller's token; *req gets "id" added. */
static int daemon_send(struct bridge *b, json_t *req, int token,
		       enum req_kind kind)
{
	struct pending *p;
	int64_t id;
	int rc;

	rc = daemon_connect(b);
	if (rc != CONTINUE)
		return rc;
	id = b->next_id++;
	p = malloc(sizeof(*p));
	if (!p)
		return oom();
	p->token = token;
	p->kind = kind;
	if (json_object_set_new(req, "id", json_integer(id)) < 0 ||
	    idmap_put(&b->pending, (uint64_t)id, p) < 0) {
		free(p);
		return oom();
	}
	if (mpc_conn_queue_json(&b->conn, req) < 0) {
		free(idmap_del(&b->pending, (uint64_t)id));
		return oom();
	}
	return CONTINUE;
}

/* ---- commands ---------------------------------------------------------- */

/* `send-probe`: answer what mtr-packet refuses itself, forward the rest. */
static int cmd_send_probe(struct bridge *b, const struct pktcmd *cmd)
{
	struct pktcmd_probe a;
	const char *reply;
	json_t *req;
	int rc;

	reply = pktcmd_probe_decode(cmd, &a);
	if (reply)
		return out_word(b, cmd->token, reply);
	req = pktcmd_probe_request(&a);
	if (!req)
		return oom();
	rc = daemon_send(b, req, cmd->token, REQ_PROBE);
	json_decref(req);
	return rc;
}

/* `check-support`: the first `feature` argument is asked of the daemon. */
static int cmd_check_support(struct bridge *b, const struct pktcmd *cmd)
{
	const char *feature, *reply;
	json_t *req;
	int rc;

	reply = pktcmd_check_support(cmd, &feature);
	if (reply)
		return out_word(b, cmd->token, reply);
	req = json_pack("{s:s, s:s}", "op", mp_op_name(MP_OP_CHECK_SUPPORT),
			"feature", feature);
	if (!req)
		return oom();
	rc = daemon_send(b, req, cmd->token, REQ_CHECK_SUPPORT);
	json_decref(req);
	return rc;
}

/* Handle one command line (its '\n' already removed). */
static int command_line(struct bridge *b, char *line)
{
	struct pktcmd cmd;

	if (!pktcmd_split(line, &cmd))
		return out_word(b, 0, "command-parse-error");
	if (strcmp(cmd.name, "send-probe") == 0)
		return cmd_send_probe(b, &cmd);
	if (strcmp(cmd.name, "check-support") == 0)
		return cmd_check_support(b, &cmd);
	return out_word(b, cmd.token, "unknown-command");
}

/* Handle the complete lines buffered, then the overflow of a line too
 * long, exactly as mtr-packet's command buffer does (a NUL byte hides the
 * newlines after it until the buffer overflows). */
static int input_dispatch(struct bridge *b)
{
	char *nl;
	size_t len;
	int rc;

	while ((nl = strchr(b->in, '\n')) != NULL) {
		*nl = '\0';
		len = (size_t)(nl - b->in);
		rc = command_line(b, b->in);
		if (rc != CONTINUE)
			return rc;
		memmove(b->in, nl + 1, b->in_len - len - 1);
		b->in_len -= len + 1;
		b->in[b->in_len] = '\0';
	}
	if (b->in_len >= CMD_BUFFER_SIZE - 1) {
		b->in_len = 0;
		b->in[0] = '\0';
		return out_word(b, 0, "command-buffer-overflow");
	}
	return CONTINUE;
}

/* Read commands from stdin (a partial last line at end of file is
 * dropped, as mtr-packet drops it). */
static int input_read(struct bridge *b)
{
	ssize_t n;

	n = read(STDIN_FILENO, b->in + b->in_len, CMD_BUFFER_SIZE - 1 - b->in_len);
	if (n < 0) {
		if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
			return CONTINUE;
		msg("cannot read standard input: %s", strerror(errno));
		return EXIT_LOCAL;
	}
	if (n == 0) {
		b->in_eof = true;
		return CONTINUE;
	}
	b->in_len += (size_t)n;
	b->in[b->in_len] = '\0';
	return input_dispatch(b);
}

/* ---- answers ----------------------------------------------------------- */

/* Whether s is a reply word mtr-packet could write: [a-z0-9-]{1,32}. */
static bool word_valid(const char *s)
{
	return s && pktcmd_word_valid(s);
}

/* mtr-packet's word for a daemon error code. */
static const char *error_word(const char *code)
{
	if (!code)
		return "unexpected-error";
	/* host-resolve-error: only a literal of the wrong family gets here,
	 * which mtr-packet refuses as invalid-argument */
	if (strcmp(code, "invalid-argument") == 0 ||
	    strcmp(code, "host-resolve-error") == 0)
		return "invalid-argument";
	if (strcmp(code, "overloaded") == 0)
		return "probes-exhausted";
	if (strcmp(code, "permission-denied") == 0)
		return "permission-denied";
	if (strcmp(code, "process-error") != 0 &&
	    strcmp(code, "shutting-down") != 0)
		msg("the daemon answered %s to a request it should accept", code);
	return "unexpected-error";
}

/* Append " mpls L,TC,S,TTL,..." for a non-empty stack; false when the
 * list is malformed. */
static bool format_mpls(json_t *mpls, char *buf, size_t size)
{
	size_t i, used = 0;
	json_t *e, *label, *tc, *bos, *ttl;
	int n;

	buf[0] = '\0';
	if (!json_is_array(mpls))
		return false;
	json_array_foreach(mpls, i, e) {
		label = json_object_get(e, "label");
		tc = json_object_get(e, "traffic_class");
		bos = json_object_get(e, "bottom_of_stack");
		ttl = json_object_get(e, "ttl");
		if (!json_is_integer(label) || !json_is_integer(tc) ||
		    !json_is_boolean(bos) || !json_is_integer(ttl))
			return false;
		n = snprintf(buf + used, size - used, "%s%lld,%lld,%d,%lld",
			     i == 0 ? " mpls " : ",",
			     (long long)json_integer_value(label),
			     (long long)json_integer_value(tc),
			     json_is_true(bos) ? 1 : 0,
			     (long long)json_integer_value(ttl));
		if (n < 0 || (size_t)n >= size - used)
			return false;
		used += (size_t)n;
	}
	return true;
}

/* Write the mtr-packet reply of a probe's answer. */
static int answer_probe(struct bridge *b, int token, json_t *resp)
{
	const char *result = json_string_value(json_object_get(resp, "result"));
	const char *responder;
	json_t *time_ms = json_object_get(resp, "time_ms");
	unsigned char addr[sizeof(struct in6_addr)];
	char canon[MP_ADDR_MAX], mpls[REPLY_MAX / 2];
	int ip_version;

	if (!word_valid(result)) {
		msg("malformed probe answer from the daemon: bad 'result'");
		return out_word(b, token, "unexpected-error");
	}
	responder = json_string_value(json_object_get(resp, "responder"));
	if (strcmp(result, "no-reply") == 0 || !responder ||
	    !json_is_number(time_ms))
		return out_word(b, token, result);
	ip_version = strchr(responder, ':') ? 6 : 4;
	if (inet_pton(ip_version == 4 ? AF_INET : AF_INET6, responder, addr) != 1 ||
	    !inet_ntop(ip_version == 4 ? AF_INET : AF_INET6, addr, canon,
		       sizeof(canon)) ||
	    json_number_value(time_ms) < 0 ||
	    json_number_value(time_ms) > (double)INT_MAX / 1000.0 ||
	    !format_mpls(json_object_get(resp, "mpls"), mpls, sizeof(mpls))) {
		msg("malformed probe answer from the daemon");
		return out_word(b, token, "unexpected-error");
	}
	return out_printf(b, "%d %s ip-%d %s round-trip-time %ld%s\n", token,
			  result, ip_version, canon,
			  lround(json_number_value(time_ms) * 1000.0), mpls);
}

/* Write the mtr-packet reply of a check_support answer. */
static int answer_check_support(struct bridge *b, int token, json_t *resp)
{
	const char *value = json_string_value(json_object_get(resp, "value"));
	size_t n;

	n = value ? strcspn(value, PKTCMD_SEPARATORS "\n") : 0;
	if (n == 0 || value[n] != '\0' || n > 64) {
		msg("malformed check_support answer from the daemon");
		return out_word(b, token, "unexpected-error");
	}
	return out_printf(b, "%d feature-support support %s\n", token, value);
}

/* Report an error answer nobody's request can own; returns EXIT_DAEMON. */
static int answer_orphan_error(json_t *resp)
{
	json_t *err = json_object_get(resp, "error");
	const char *code = json_string_value(json_object_get(err, "code"));
	const char *message = json_string_value(json_object_get(err, "message"));

	msg("the daemon answered %s: %s", code ? code : "an error",
	    message ? message : "(no message)");
	return EXIT_DAEMON;
}

/* Handle one line from the daemon. */
static int daemon_line(struct bridge *b, const char *line, size_t len)
{
	struct pending *p;
	json_error_t e;
	json_t *resp, *id, *err;
	int rc, token;
	enum req_kind kind;

	resp = json_loadb(line, len, 0, &e);
	if (!resp || !json_is_object(resp)) {
		json_decref(resp);
		msg("malformed answer from the daemon");
		return EXIT_DAEMON;
	}
	id = json_object_get(resp, "id");
	err = json_object_get(resp, "error");
	if (json_object_get(resp, "event") && !err) {
		json_decref(resp);
		return CONTINUE;
	}
	p = json_is_integer(id) && json_integer_value(id) > 0 ?
	    idmap_del(&b->pending, (uint64_t)json_integer_value(id)) : NULL;
	if (!p) {
		if (err && (!id || json_is_null(id))) {
			rc = answer_orphan_error(resp);
		} else {
			msg("answer from the daemon for an unknown request");
			rc = EXIT_DAEMON;
		}
		json_decref(resp);
		return rc;
	}
	token = p->token;
	kind = p->kind;
	free(p);
	if (err)
		rc = out_word(b, token,
			      error_word(json_string_value(json_object_get(err, "code"))));
	else if (kind == REQ_PROBE)
		rc = answer_probe(b, token, resp);
	else
		rc = answer_check_support(b, token, resp);
	json_decref(resp);
	return rc;
}

/* Read what the daemon sent and handle each complete line. */
static int daemon_read(struct bridge *b)
{
	const char *line;
	size_t len;
	ssize_t n;
	int r, rc;

	n = mpc_conn_fill(&b->conn);
	if (n == -EAGAIN)
		return CONTINUE;
	if (n == -ENOMEM)
		return oom();
	while ((r = mpc_conn_next_line(&b->conn, &line, &len)) > 0) {
		rc = daemon_line(b, line, len);
		if (rc != CONTINUE)
			return rc;
	}
	if (r < 0) {
		msg("answer line from the daemon is too long");
		return EXIT_DAEMON;
	}
	if (n < 0)
		return daemon_lost(b, strerror((int)-n));
	if (n == 0)
		return daemon_lost(b, "closed by the daemon");
	return CONTINUE;
}

/* ---- the event loop ---------------------------------------------------- */

/* Whether stdin is done and every answer has been written. */
static bool bridge_done(const struct bridge *b)
{
	return b->in_eof && idmap_count(&b->pending) == 0 && out_pending(b) == 0;
}

/* Whether to read more commands now (not while output backs up). */
static bool want_input(const struct bridge *b)
{
	return !b->in_eof && out_pending(b) < HIGH_WATER &&
	       (b->conn.fd < 0 || mpc_conn_pending(&b->conn) < HIGH_WATER);
}

/* Handle the socket's poll events. */
static int loop_socket(struct bridge *b, short revents)
{
	int r;

	if (b->conn.fd < 0)
		return CONTINUE;
	if (revents & POLLOUT) {
		r = mpc_conn_flush(&b->conn);
		if (r < 0)
			return daemon_lost(b, strerror(-r));
	}
	if (b->conn.fd >= 0 && (revents & (POLLIN | POLLHUP | POLLERR | POLLNVAL)))
		return daemon_read(b);
	return CONTINUE;
}

/* One pass: wait for stdin, stdout and the socket, and serve them. */
static int loop_once(struct bridge *b)
{
	struct pollfd p[3];
	int rc, r;

	/* write what earlier commands queued before waiting */
	if (b->conn.fd >= 0 && mpc_conn_pending(&b->conn)) {
		r = mpc_conn_flush(&b->conn);
		if (r < 0) {
			rc = daemon_lost(b, strerror(-r));
			if (rc != CONTINUE)
				return rc;
		}
	}
	p[0].fd = want_input(b) ? STDIN_FILENO : -1;
	p[0].events = POLLIN;
	/* always watched: POLLERR says the reader has gone */
	p[1].fd = STDOUT_FILENO;
	p[1].events = (short)(out_pending(b) ? POLLOUT : 0);
	p[2].fd = b->conn.fd;
	p[2].events = b->conn.fd >= 0 ? mpc_conn_events(&b->conn) : 0;
	if (ppoll(p, 3, NULL, &b->waitmask) < 0) {
		if (errno == EINTR)
			return CONTINUE;
		msg("poll: %s", strerror(errno));
		return EXIT_LOCAL;
	}
	if (p[1].revents & POLLOUT) {
		rc = out_write(b);
		if (rc != CONTINUE)
			return rc;
	} else if (p[1].revents & (POLLERR | POLLHUP | POLLNVAL)) {
		b->out_gone = true; /* the reader closed its end */
		return EXIT_LOCAL;
	}
	rc = loop_socket(b, p[2].revents);
	if (rc != CONTINUE)
		return rc;
	if (p[0].revents)
		return input_read(b);
	return CONTINUE;
}

/* Run until stdin is done and answered, or something fails. */
static int loop_run(struct bridge *b)
{
	int rc;

	while (!bridge_done(b)) {
		if (caught_signal)
			return EXIT_LOCAL;
		rc = loop_once(b);
		if (rc != CONTINUE)
			return rc;
	}
	return EXIT_OK;
}

/* Milliseconds on the monotonic clock. */
static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* After a fatal error, write the answers already buffered, for a while. */
static void drain_output(struct bridge *b)
{
	long long deadline = now_ms() + DRAIN_TIMEOUT_MS, left;
	struct pollfd p = { .fd = STDOUT_FILENO, .events = POLLOUT };

	while (out_pending(b) && !b->out_gone) {
		left = deadline - now_ms();
		if (left <= 0)
			return;
		if (poll(&p, 1, (int)left) < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		if ((p.revents & POLLOUT) && out_write(b) != CONTINUE)
			return;
		if (!(p.revents & POLLOUT) && p.revents)
			return;
	}
}

/* ---- setup ------------------------------------------------------------- */

/* Remember a fatal signal for the event loop. */
static void on_fatal_signal(int sig)
{
	caught_signal = sig;
}

/* Catch the fatal signals (unless ignored) and block them outside
 * ppoll(), so that the loop notices them without a race. */
static int catch_fatal_signals(struct bridge *b)
{
	struct sigaction sa, old;
	sigset_t set;
	size_t i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_fatal_signal;
	if (sigemptyset(&sa.sa_mask) < 0 || sigemptyset(&set) < 0)
		goto fail;
	for (i = 0; i < sizeof(fatal_signals) / sizeof(fatal_signals[0]); i++) {
		if (sigaction(fatal_signals[i], NULL, &old) < 0)
			goto fail;
		if (old.sa_handler == SIG_IGN)
			continue;
		if (sigaddset(&set, fatal_signals[i]) < 0 ||
		    sigaction(fatal_signals[i], &sa, NULL) < 0)
			goto fail;
	}
	if (sigprocmask(SIG_BLOCK, &set, &b->waitmask) < 0)
		goto fail;
	return CONTINUE;
fail:
	msg("cannot set up signal handling: %s", strerror(errno));
	return EXIT_LOCAL;
}

/* End by the signal caught, with its default disposition, as mtr-packet
 * ends; returns only if that fails. */
static void reraise_signal(int sig)
{
	sigset_t set;

	signal(sig, SIG_DFL);
	if (sigemptyset(&set) == 0 && sigaddset(&set, sig) == 0)
		sigprocmask(SIG_UNBLOCK, &set, NULL);
	raise(sig);
}

/* Open /dev/null on any of fds 0-2 that is closed (so that the socket
 * never takes the place of stdin or stdout) and ignore SIGPIPE (so that a
 * vanished daemon or reader shows up as EPIPE). */
static int process_setup(void)
{
	const char *what;
	int r = mpc_process_setup(&what);

	if (r < 0) {
		msg("%s: %s", what, strerror(-r));
		return EXIT_LOCAL;
	}
	return CONTINUE;
}

/* Parse the command line into b; CONTINUE or an exit status. */
static int parse_args(struct bridge *b, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *socket = NULL;
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":s:Vh", longopts, NULL)) != -1) {
		if (c == 's') {
			socket = optarg;
		} else if (c == 'V') {
			printf(PROG " %s (protocol %d)\n", MTRPROBED_VERSION,
			       MP_PROTOCOL_VERSION);
			return EXIT_OK;
		} else if (c == 'h') {
			usage(stdout);
			return EXIT_OK;
		} else {
			if (c == ':')
				msg("option requires an argument: %s", argv[optind - 1]);
			else if (optopt)
				msg("invalid option: -%c", optopt);
			else
				msg("unrecognized option: %s", argv[optind - 1]);
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		msg("unexpected argument: %s", argv[optind]);
		usage(stderr);
		return EXIT_USAGE;
	}
	if (socket && *socket == '\0') {
		msg("-s: empty socket path");
		return EXIT_USAGE;
	}
	b->socket_path = mpc_socket_path(socket);
	return CONTINUE;
}

/* Release everything the bridge owns. */
static void bridge_free(struct bridge *b)
{
	size_t iter = 0;
	uint64_t key;
	void *value;

	while (idmap_next(&b->pending, &iter, &key, &value))
		free(value);
	idmap_free(&b->pending);
	mpc_conn_close(&b->conn);
	free(b->out);
}

/* Entry point: connect, then bridge stdin/stdout and the daemon. */
int main(int argc, char **argv)
{
	static struct bridge b;
	int rc;

	mpc_conn_init(&b.conn);
	idmap_init(&b.pending);
	b.next_id = 1;
	b.out_chunk = PIPE_BUF;
	rc = parse_args(&b, argc, argv);
	if (rc == CONTINUE)
		rc = process_setup();
	if (rc == CONTINUE)
		rc = catch_fatal_signals(&b);
	if (rc == CONTINUE)
		rc = daemon_connect(&b);
	if (rc == CONTINUE)
		rc = loop_run(&b);
	if (rc != EXIT_OK && !caught_signal)
		drain_output(&b);
	bridge_free(&b);
	if (caught_signal)
		reraise_signal(caught_signal);
	if (fflush(stdout) == EOF && rc == EXIT_OK)
		rc = EXIT_LOCAL;
	return rc;
}
