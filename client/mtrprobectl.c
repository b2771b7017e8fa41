/*
 * mtrprobectl: the command-line client of mtrprobed.  Sends requests over
 * the daemon's Unix socket and prints the answers for people (or, with
 * --json, unchanged for programs).  See mtrprobectl(1).
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "config-build.h"
#include "mtrprobe/protocol.h"
#include "clientlib.h"
#include "ctl.h"



/* Keep reading stdin in raw mode only while less than this is queued. */
#define RAW_HIGH_WATER (1024 * 1024)
/* Read size for stdin in raw mode. */
#define RAW_CHUNK 65536
/* Largest --interval accepted, in seconds (as the protocol's trace). */
#define INTERVAL_MAX 3600.0

/* What an event loop run calls back; the arg is the caller's state. */
struct loop_ops {
	/* Do pending work; say how long to wait (< 0: no limit) and which
	 * input fd to watch (-1: none).  CONTINUE or an exit status. */
	int (*step)(void *arg, double *ret_wait, int *ret_input_fd);
	/* The input fd is readable.  CONTINUE or an exit status. */
	int (*input)(void *arg);
	/* One line from the daemon.  CONTINUE or an exit status. */
	int (*line)(void *arg, const char *line, size_t len);
};

/* Set by the SIGINT handler while a probe run is counting. */
static volatile sig_atomic_t interrupted;

/* Write s to stdout, with control characters shown as '?'. */
void put_text(const char *s)
{
	mpc_put_masked(stdout, s);
}

/* Print "mtrprobectl: MESSAGE" on stderr, control characters masked. */
__attribute__((format(printf, 1, 2)))
static void msg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	mpc_vmsg(PROG, 4096, fmt, ap);
	va_end(ap);
}

/* Report a command-line mistake (cut to 1023 bytes); returns EXIT_USAGE. */
int usage_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	mpc_vmsg(PROG, 1024, fmt, ap);
	va_end(ap);
	fputs("Try '" PROG " --help' for more information.\n", stderr);
	return EXIT_USAGE;
}

/* Report that memory ran out; returns EXIT_LOCAL. */
int oom(void)
{
	msg("out of memory");
	return EXIT_LOCAL;
}

/* Print the usage text on f. */
static void usage(FILE *f)
{
	fputs("Usage: " PROG " [-s SOCKET] [--json] COMMAND [ARGS]\n"
	      "\n"
	      "Commands:\n"
	      "  probe [OPTIONS] HOST      send probes to HOST, print each answer\n"
	      "  trace [OPTIONS] HOST      the path to HOST, one line per hop\n"
	      "  report [OPTIONS] HOST     the path to HOST as mtr's report table\n"
	      "  check-support FEATURE     ask whether mtr-packet supports FEATURE\n"
	      "  clear-dns-cache           drop the daemon's cached DNS answers\n"
	      "  version                   versions of client, daemon, mtr-packet\n"
	      "  stats                     the daemon's counters\n"
	      "  raw                       send NDJSON requests read from stdin,\n"
	      "                            print every response line\n"
	      "  monitor add|rm|list|show  the daemon's monitors (monitor --help)\n"
	      "\n"
	      "Global options:\n"
	      "  -s, --socket PATH         daemon socket (default: $"
	      MP_SOCKET_ENV ",\n"
	      "                            else " MP_DEFAULT_SOCKET ")\n"
	      "      --json                print the daemon's responses unchanged\n"
	      "  -h, --help                show this help\n"
	      "\n"
	      "Probe options:\n"
	      "  -4, -6                    use IPv4 / IPv6 only\n"
	      "      --ttl N               time to live (default 255)\n"
	      "      --protocol P          icmp, udp, tcp or sctp (default icmp)\n"
	      "      --port N              destination port (not with icmp)\n"
	      "      --local-ip ADDR       source address\n"
	      "      --local-port N        source port (not with icmp)\n"
	      "      --timeout SECONDS     wait this long for an answer (default 10)\n"
	      "      --size N              packet size in bytes\n"
	      "      --bit-pattern N       payload fill byte\n"
	      "      --tos N               type of service / traffic class\n"
	      "      --mark N              SO_MARK of the probe packet\n"
	      "      --count N             probes to send, 0 = until interrupted\n"
	      "                            (default 1)\n"
	      "      --interval SECONDS    between probes (default 1)\n"
	      "\n"
	      "Trace and report options: -4, -6, --protocol, --port, --local-ip,\n"
	      "--local-port, --size, --bit-pattern, --tos, --mark as for probe, and\n"
	      "      --first-ttl N         first TTL probed (default 1)\n"
	      "      --max-ttl N           last TTL probed (default 30)\n"
	      "  -c, --count N             rounds, 1 to 1000 (default 1)\n"
	      "  -i, --interval SECONDS    between rounds (default 1)\n"
	      "      --timeout SECONDS     wait this long for an answer (default 2)\n"
	      "      --live                redraw the display as answers come\n"
	      "                            (on a terminal)\n"
	      "\n"
	      "Exit status: 0 success (trace, report: the target answered),\n"
	      "1 no reply / not supported, 2 usage error, 3 daemon unreachable,\n"
	      "4 error response, 5 local error.\n", f);
}

/* Parse a whole integer, decimal or 0x hexadecimal; false on a bad one. */
static bool parse_int(const char *s, long long *ret)
{
	const char *p = s;
	char *end;
	long long v;
	int base = 10;

	if (*p == '-' || *p == '+')
		p++;
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
		base = 16;
	if (*s == '\0' || isspace((unsigned char)*s))
		return false;
	errno = 0;
	v = strtoll(s, &end, base);
	if (errno != 0 || end == s || *end != '\0')
		return false;
	*ret = v;
	return true;
}

/* Parse a whole finite number; false on a bad one. */
static bool parse_real(const char *s, double *ret)
{
	char *end;
	double v;

	if (*s == '\0' || isspace((unsigned char)*s))
		return false;
	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !isfinite(v))
		return false;
	*ret = v;
	return true;
}

/* Report an option getopt_long() rejected; returns EXIT_USAGE. */
static int getopt_failure(int c, int argc, char **argv)
{
	const char *arg = optind - 1 < argc ? argv[optind - 1] : NULL;
	bool is_long = arg && strncmp(arg, "--", 2) == 0;

	if (c == ':') {
		if (is_long)
			return usage_error("option '%s' requires an argument", arg);
		return usage_error("option '-%c' requires an argument", optopt);
	}
	if (is_long)
		return usage_error("unrecognized option '%s'", arg);
	return usage_error("invalid option '-%c'", optopt);
}

/* Monotonic time in seconds; 0 or EXIT_LOCAL after saying why. */
static int now_get(double *ret)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0) {
		msg("clock_gettime: %s", strerror(errno));
		return EXIT_LOCAL;
	}
	*ret = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
	return 0;
}

/* Flush stdout; CONTINUE, or EXIT_LOCAL after saying why. */
static int out_flush(void)
{
	if (fflush(stdout) == EOF || ferror(stdout)) {
		msg("cannot write output: %s", strerror(errno));
		return EXIT_LOCAL;
	}
	return CONTINUE;
}

/* Print a daemon line as received, newline-terminated. */
static void out_line(const char *line, size_t len)
{
	fwrite(line, 1, len, stdout);
	putchar('\n');
}

/* Connect to the daemon; CONTINUE, or EXIT_UNREACHABLE after saying why. */
static int ctl_connect(struct ctl *ctl)
{
	const char *path = mpc_socket_path(ctl->socket);
	int r = mpc_conn_open(&ctl->conn, path);

	if (r < 0) {
		msg("cannot connect to %s: %s", path, strerror(-r));
		return EXIT_UNREACHABLE;
	}
	return CONTINUE;
}

/* Queue a request for the daemon and try to write it now. */
static int ctl_send(struct ctl *ctl, const json_t *req)
{
	int r = mpc_conn_queue_json(&ctl->conn, req);

	if (r < 0)
		return oom();
	r = mpc_conn_flush(&ctl->conn);
	if (r < 0) {
		msg("lost the connection to the daemon: %s", strerror(-r));
		return EXIT_UNREACHABLE;
	}
	return CONTINUE;
}

/* Connect and send req; CONTINUE or an exit status after saying why. */
static int ctl_connect_send(struct ctl *ctl, const json_t *req)
{
	int rc = ctl_connect(ctl);

	return rc == CONTINUE ? ctl_send(ctl, req) : rc;
}

/* Read what the daemon sent and hand each complete line to ops->line. */
static int loop_read(struct ctl *ctl, const struct loop_ops *ops, void *arg)
{
	const char *line;
	size_t len;
	ssize_t n;
	int r, rc;

	n = mpc_conn_fill(&ctl->conn);
	if (n == -EAGAIN)
		return CONTINUE;
	if (n < 0) {
		msg("lost the connection to the daemon: %s", strerror((int)-n));
		return n == -ENOMEM ? EXIT_LOCAL : EXIT_UNREACHABLE;
	}
	while ((r = mpc_conn_next_line(&ctl->conn, &line, &len)) > 0) {
		rc = ops->line(arg, line, len);
		if (rc != CONTINUE)
			return rc;
	}
	if (r < 0) {
		msg("response line from the daemon is too long");
		return EXIT_UNREACHABLE;
	}
	if (n == 0)
		ctl->closed = true;
	return out_flush();
}

/* Wait for the socket, the input fd or the timeout, as step asks. */
static int loop_wait(struct ctl *ctl, double wait, int input_fd,
		     const sigset_t *waitmask, short *ret_sock, short *ret_input)
{
	struct pollfd p[2] = {
		{ .fd = ctl->conn.fd, .events = mpc_conn_events(&ctl->conn) },
		{ .fd = input_fd, .events = POLLIN },
	};
	struct timespec ts, *tsp = NULL;

	if (wait >= 0) {
		ts.tv_sec = (time_t)wait;
		ts.tv_nsec = (long)((wait - (double)ts.tv_sec) * 1e9);
		if (ts.tv_nsec > 999999999)
			ts.tv_nsec = 999999999;
		tsp = &ts;
	}
	if (ppoll(p, 2, tsp, waitmask) < 0) {
		if (errno == EINTR) {
			*ret_sock = *ret_input = 0;
			return CONTINUE;
		}
		msg("poll: %s", strerror(errno));
		return EXIT_LOCAL;
	}
	*ret_sock = p[0].revents;
	*ret_input = p[1].revents;
	return CONTINUE;
}

/* Run an event loop over the connection until a callback ends it. */
static int loop_run(struct ctl *ctl, const struct loop_ops *ops, void *arg,
		    const sigset_t *waitmask)
{
	short sock_ev, input_ev;
	double wait;
	int input_fd, rc, r;

	for (;;) {
		wait = -1;
		input_fd = -1;
		rc = ops->step(arg, &wait, &input_fd);
		if (rc != CONTINUE)
			return rc;
		if (ctl->closed) {
			msg("the daemon closed the connection before answering");
			return EXIT_UNREACHABLE;
		}
		rc = loop_wait(ctl, wait, input_fd, waitmask, &sock_ev, &input_ev);
		if (rc != CONTINUE)
			return rc;
		if (sock_ev & POLLOUT) {
			r = mpc_conn_flush(&ctl->conn);
			if (r < 0) {
				msg("lost the connection to the daemon: %s",
				    strerror(-r));
				return EXIT_UNREACHABLE;
			}
		}
		if (sock_ev & (POLLIN | POLLHUP | POLLERR | POLLNVAL)) {
			rc = loop_read(ctl, ops, arg);
			if (rc != CONTINUE)
				return rc;
		}
		if (input_fd >= 0 && input_ev) {
			rc = ops->input(arg);
			if (rc != CONTINUE)
				return rc;
		}
	}
}

/* Parse a response line into an object; CONTINUE or EXIT_UNREACHABLE. */
static int response_decode(const char *line, size_t len, json_t **ret)
{
	json_error_t e;
	json_t *v = json_loadb(line, len, JSON_ALLOW_NUL, &e);

	if (!v) {
		/* jansson leaves the text empty on some allocation failures */
		if (json_error_code(&e) == json_error_out_of_memory ||
		    e.text[0] == '\0')
			return oom();
		msg("malformed response from the daemon: %s", e.text);
		return EXIT_UNREACHABLE;
	}
	if (!json_is_object(v)) {
		json_decref(v);
		msg("malformed response from the daemon: not an object");
		return EXIT_UNREACHABLE;
	}
	*ret = v;
	return CONTINUE;
}

/* Whether a response is an intermediate event, not a final answer. */
static bool response_is_event(json_t *resp)
{
	return json_object_get(resp, "event") && !json_object_get(resp, "error");
}

/* Whether a response carries an error object. */
static bool response_is_error(json_t *resp)
{
	return json_object_get(resp, "error") != NULL;
}

/* The response's id if it is a positive integer, 0 if null or absent,
 * -1 otherwise. */
static json_int_t response_id(json_t *resp)
{
	json_t *id = json_object_get(resp, "id");

	if (!id || json_is_null(id))
		return 0;
	if (json_is_integer(id) && json_integer_value(id) > 0)
		return json_integer_value(id);
	return -1;
}

/* Say what an error response holds: "mtrprobectl: CODE: MESSAGE". */
static void response_report_error(json_t *resp)
{
	json_t *err = json_object_get(resp, "error");
	const char *code = json_string_value(json_object_get(err, "code"));
	const char *message = json_string_value(json_object_get(err, "message"));

	msg("%s: %s", code ? code : "unknown-error",
	    message ? message : "(no message)");
}

/* Report a well-formed response that answers nothing we asked. */
static int response_unexpected(json_t *resp)
{
	json_decref(resp);
	msg("unexpected response from the daemon (unknown id)");
	return EXIT_UNREACHABLE;
}

/* Report a response whose fields have the wrong shape. */
int response_malformed(json_t *resp, const char *field)
{
	json_decref(resp);
	msg("malformed response from the daemon: bad or missing '%s'", field);
	return EXIT_UNREACHABLE;
}

/* Whether resp is an event, released if so (it is skipped). */
static bool response_skip_event(json_t *resp)
{
	if (!response_is_event(resp))
		return false;
	json_decref(resp);
	return true;
}

/* Take a response after its id was checked (ours: it answers one of our
 * requests): one that answers nothing we asked and is no error without an
 * id is unexpected; else the line is printed under --json and an error
 * response is reported (EXIT_ERROR_RESPONSE).  CONTINUE when resp is left
 * to the caller; otherwise resp is released. */
static int response_take(struct ctl *ctl, json_t *resp, bool ours,
			 const char *line, size_t len)
{
	if (!ours && !(response_id(resp) == 0 && response_is_error(resp)))
		return response_unexpected(resp);
	if (ctl->json)
		out_line(line, len);
	if (response_is_error(resp)) {
		response_report_error(resp);
		json_decref(resp);
		return EXIT_ERROR_RESPONSE;
	}
	return CONTINUE;
}

/* A loop step with nothing to do between waits. */
static int loop_no_step(void *arg, double *ret_wait, int *ret_input_fd)
{
	return CONTINUE;
}

/* A loop input callback never called: the run watches no input. */
static int loop_no_input(void *arg)
{
	return CONTINUE;
}

/* A JSON string of a command-line argument; EXIT_USAGE if it is not
 * UTF-8, EXIT_LOCAL when memory ran out. */
int arg_string(const char *what, const char *s, json_t **ret)
{
	json_t *v;

	errno = 0;
	v = json_string(s);
	if (!v)
		return errno == ENOMEM ? oom() :
		       usage_error("%s: not valid UTF-8", what);
	*ret = v;
	return CONTINUE;
}

/* One request awaiting its response; owned by ctl_transact(). */
struct single {
	struct ctl *ctl;
	json_t *resp;          /* the success response, once it came */
};

/* Handle a line while awaiting the response to request 1. */
static int single_line(void *arg, const char *line, size_t len)
{
	struct single *s = arg;
	json_t *resp;
	int rc = response_decode(line, len, &resp);

	if (rc != CONTINUE || response_skip_event(resp))
		return rc;
	rc = response_take(s->ctl, resp, response_id(resp) == 1, line, len);
	if (rc != CONTINUE)
		return rc;
	s->resp = resp;
	return EXIT_OK;
}

int ctl_request(struct ctl *ctl, json_t *req, json_t **ret_resp)
{
	static const struct loop_ops ops = {
		loop_no_step, loop_no_input, single_line,
	};
	struct single s = { .ctl = ctl };
	int rc;

	if (json_object_set_new(req, "id", json_integer(1)) < 0) {
		json_decref(req);
		return oom();
	}
	rc = ctl_connect_send(ctl, req);
	json_decref(req);
	if (rc != CONTINUE)
		return rc;
	rc = loop_run(ctl, &ops, &s, NULL);
	if (rc == EXIT_OK)
		*ret_resp = s.resp;
	return rc;
}

/* A stream being followed: what each line goes to. */
struct follow {
	struct ctl *ctl;
	int (*fn)(void *arg, json_t *line);
	void *arg;
};

/* Stop at SIGINT, or once the daemon closed the connection (the stream ended). */
static int follow_step(void *arg, double *ret_wait, int *ret_input_fd)
{
	const struct follow *f = arg;

	return interrupted || f->ctl->closed ? EXIT_OK : CONTINUE;
}

static int follow_line(void *arg, const char *line, size_t len)
{
	struct follow *f = arg;
	json_t *v;
	int rc = response_decode(line, len, &v);

	if (rc != CONTINUE)
		return rc;
	if (f->fn == NULL) {
		json_decref(v);
		return CONTINUE;
	}
	rc = f->fn(f->arg, v);
	json_decref(v);
	return rc;
}

static int probe_catch_sigint(sigset_t *waitmask);

int ctl_follow(struct ctl *ctl, int (*fn)(void *arg, json_t *line), void *arg)
{
	static const struct loop_ops ops = { follow_step, loop_no_input, follow_line };
	struct follow f = { ctl, fn, arg };
	sigset_t waitmask;
	const char *line;
	size_t len;
	int rc = probe_catch_sigint(&waitmask), r;

	if (rc != CONTINUE)
		return rc;
	/* Lines that came in the same read as the answer first. */
	while ((r = mpc_conn_next_line(&ctl->conn, &line, &len)) > 0) {
		rc = follow_line(&f, line, len);
		if (rc != CONTINUE)
			return rc;
	}
	return loop_run(ctl, &ops, &f, &waitmask);
}

/* Connect, send op with id 1 and wait for its answer into *ret_resp. */
static int ctl_transact(struct ctl *ctl, const char *op, const char *feature,
			json_t **ret_resp)
{
	json_t *req, *fv = NULL;
	int rc;

	if (feature) {
		rc = arg_string("FEATURE", feature, &fv);
		if (rc != CONTINUE)
			return rc;
	}
	req = json_pack("{s:s}", "op", op);
	if (!req) {
		json_decref(fv);
		return oom();
	}
	if (fv && json_object_set_new(req, "feature", fv) < 0) { /* fv taken either way */
		json_decref(req);
		return oom();
	}
	return ctl_request(ctl, req, ret_resp);
}

/* Parse the options of a command that takes only --help and nargs
 * positional arguments; CONTINUE or an exit status. */
static int parse_simple(int argc, char **argv, int nargs)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	optind = 0;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		if (c == 'h') {
			usage(stdout);
			return EXIT_OK;
		}
		return getopt_failure(c, argc, argv);
	}
	if (argc - optind < nargs)
		return usage_error("%s: missing argument", argv[0]);
	if (argc - optind > nargs)
		return usage_error("%s: unexpected argument '%s'", argv[0],
				   argv[optind + nargs]);
	return CONTINUE;
}

/* Run a command that takes no argument but --help: send op, wait for its
 * answer into *ret_resp.  CONTINUE with the answer, else an exit status. */
static int simple_transact(struct ctl *ctl, int argc, char **argv,
			   enum mp_op op, json_t **ret_resp)
{
	int rc = parse_simple(argc, argv, 0);

	if (rc != CONTINUE)
		return rc;
	rc = ctl_transact(ctl, mp_op_name(op), NULL, ret_resp);
	return rc == EXIT_OK ? CONTINUE : rc;
}

/* Print a JSON scalar (or an empty container) as plain text. */
static void print_scalar(json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_STRING:
		put_text(json_string_value(v));
		break;
	case JSON_INTEGER:
		printf("%" JSON_INTEGER_FORMAT, json_integer_value(v));
		break;
	case JSON_REAL:
		printf("%.10g", json_real_value(v));
		break;
	case JSON_TRUE:
		fputs("true", stdout);
		break;
	case JSON_FALSE:
		fputs("false", stdout);
		break;
	case JSON_NULL:
		fputs("null", stdout);
		break;
	case JSON_OBJECT:
		fputs("{}", stdout);
		break;
	case JSON_ARRAY:
		fputs("[]", stdout);
		break;
	}
}

/* Print "key: value" at indent; objects and arrays nest below their key,
 * array items are marked "-" (key NULL). */
static void print_node(const char *key, json_t *v, int indent)
{
	const char *k;
	json_t *child;
	size_t i;

	printf("%*s", indent, "");
	if (key) {
		put_text(key);
		putchar(':');
	} else {
		putchar('-');
	}
	if (json_is_object(v) && json_object_size(v) > 0) {
		putchar('\n');
		json_object_foreach(v, k, child)
			print_node(k, child, indent + 2);
	} else if (json_is_array(v) && json_array_size(v) > 0) {
		putchar('\n');
		json_array_foreach(v, i, child)
			print_node(NULL, child, indent + 2);
	} else {
		putchar(' ');
		print_scalar(v);
		putchar('\n');
	}
}

/* Print every member of a response but its id as an indented tree. */
void print_response(json_t *resp)
{
	const char *k;
	json_t *v;

	json_object_foreach(resp, k, v) {
		if (strcmp(k, "id") != 0)
			print_node(k, v, 0);
	}
}

/* `check-support FEATURE`: exit 0 when supported, 1 when not. */
static int cmd_check_support(struct ctl *ctl, int argc, char **argv)
{
	const char *arg, *feature, *value;
	json_t *resp, *supported;
	int rc = parse_simple(argc, argv, 1);

	if (rc != CONTINUE)
		return rc;
	arg = argv[optind];
	rc = ctl_transact(ctl, mp_op_name(MP_OP_CHECK_SUPPORT), arg, &resp);
	if (rc != EXIT_OK)
		return rc;
	supported = json_object_get(resp, "supported");
	if (!json_is_boolean(supported))
		return response_malformed(resp, "supported");
	if (!ctl->json) {
		feature = json_string_value(json_object_get(resp, "feature"));
		value = json_string_value(json_object_get(resp, "value"));
		put_text(feature ? feature : arg);
		fputs(json_is_true(supported) ? ": supported" : ": not supported",
		      stdout);
		if (value) {
			fputs(" (", stdout);
			put_text(value);
			putchar(')');
		}
		putchar('\n');
	}
	rc = json_is_true(supported) ? EXIT_OK : EXIT_NO_REPLY;
	json_decref(resp);
	return rc;
}

/* `clear-dns-cache`: print how many entries were dropped. */
static int cmd_clear_dns_cache(struct ctl *ctl, int argc, char **argv)
{
	json_t *resp, *cleared;
	int rc = simple_transact(ctl, argc, argv, MP_OP_CLEAR_DNS_CACHE, &resp);

	if (rc != CONTINUE)
		return rc;
	cleared = json_object_get(resp, "cleared");
	if (!json_is_integer(cleared))
		return response_malformed(resp, "cleared");
	if (!ctl->json)
		printf("cleared %" JSON_INTEGER_FORMAT " %s\n",
		       json_integer_value(cleared),
		       json_integer_value(cleared) == 1 ? "entry" : "entries");
	json_decref(resp);
	return EXIT_OK;
}

/* Run `version` or `stats`: print the answer to op as an indented tree,
 * then the client's version when asked. */
static int print_transact(struct ctl *ctl, int argc, char **argv,
			  enum mp_op op, bool client_version)
{
	json_t *resp;
	int rc = simple_transact(ctl, argc, argv, op, &resp);

	if (rc != CONTINUE)
		return rc;
	if (!ctl->json) {
		print_response(resp);
		if (client_version)
			printf("client: %s\n", MTRPROBED_VERSION);
	}
	json_decref(resp);
	return EXIT_OK;
}

/* `version`: the daemon's version fields, then the client's version. */
static int cmd_version(struct ctl *ctl, int argc, char **argv)
{
	return print_transact(ctl, argc, argv, MP_OP_VERSION, true);
}

/* `stats`: the daemon's counters as an indented tree. */
static int cmd_stats(struct ctl *ctl, int argc, char **argv)
{
	return print_transact(ctl, argc, argv, MP_OP_STATS, false);
}

/* Running round-trip statistics (Welford); owned by struct probe_run. */
struct rtt_stats {
	long long n;
	double min, max, mean, m2;
};

/* Add one round-trip time to the statistics. */
static void rtt_add(struct rtt_stats *st, double ms)
{
	double delta = ms - st->mean;

	if (st->n == 0 || ms < st->min)
		st->min = ms;
	if (st->n == 0 || ms > st->max)
		st->max = ms;
	st->n++;
	st->mean += delta / (double)st->n;
	st->m2 += delta * (ms - st->mean);
}

/* The sample standard deviation of the times (0 for fewer than two). */
static double rtt_stdev(const struct rtt_stats *st)
{
	return st->n > 1 ? sqrt(st->m2 / (double)(st->n - 1)) : 0.0;
}

/* Ids of the probes sent and not yet answered; owned by struct probe_run. */
struct id_set {
	long long *ids;
	size_t n, cap;
};

/* Add an id to the set; 0 or -ENOMEM. */
static int id_set_add(struct id_set *set, long long id)
{
	long long *nids;
	size_t ncap;

	if (set->n == set->cap) {
		ncap = set->cap ? set->cap * 2 : 16;
		nids = realloc(set->ids, ncap * sizeof(*nids));
		if (!nids)
			return -ENOMEM;
		set->ids = nids;
		set->cap = ncap;
	}
	set->ids[set->n++] = id;
	return 0;
}

/* Remove an id from the set; false when it was not there. */
static bool id_set_remove(struct id_set *set, long long id)
{
	size_t i;

	for (i = 0; i < set->n; i++) {
		if (set->ids[i] == id) {
			set->ids[i] = set->ids[--set->n];
			return true;
		}
	}
	return false;
}

/* One `probe` command: request, schedule and tallies; owned by cmd_probe(). */
struct probe_run {
	struct ctl *ctl;
	const char *host;
	json_t *req;           /* the request, its "id" replaced per probe */
	long long count;       /* probes to send, 0 = until interrupted */
	double interval;       /* seconds between sends */
	long long sent;
	long long replies;     /* answers with result "reply" */
	double next_send;      /* monotonic time of the next send */
	struct id_set pending;
	struct rtt_stats rtt;
	char *address;         /* the probed address, from the first answer */
};

/* Whether the run still has probes to send. */
static bool probe_more(const struct probe_run *r)
{
	return r->count == 0 || r->sent < r->count;
}

/* Send the next probe, with the next id. */
static int probe_send(struct probe_run *r)
{
	long long id = r->sent + 1;

	if (json_object_set_new(r->req, "id", json_integer(id)) < 0 ||
	    id_set_add(&r->pending, id) < 0)
		return oom();
	r->sent++;
	return ctl_send(r->ctl, r->req);
}

/* Send when due; end when all is sent and answered or on SIGINT. */
static int probe_step(void *arg, double *ret_wait, int *ret_input_fd)
{
	struct probe_run *r = arg;
	double now;
	int rc;

	if (interrupted)
		return r->replies > 0 ? EXIT_OK : EXIT_NO_REPLY;
	if (!probe_more(r))
		return r->pending.n > 0 ? CONTINUE :
		       r->replies > 0 ? EXIT_OK : EXIT_NO_REPLY;
	if (mpc_conn_pending(&r->ctl->conn) > 0)
		return CONTINUE; /* wait until the daemon takes what we sent */
	rc = now_get(&now);
	if (rc != 0)
		return rc;
	if (now >= r->next_send) {
		rc = probe_send(r);
		if (rc != CONTINUE)
			return rc;
		r->next_send = now + r->interval;
		if (!probe_more(r))
			return CONTINUE;
	}
	*ret_wait = r->next_send > now ? r->next_send - now : 0;
	return CONTINUE;
}

/* Print the MPLS labels of an answer, if any. */
static void probe_print_mpls(json_t *mpls)
{
	json_t *e;
	size_t i;

	json_array_foreach(mpls, i, e) {
		printf(" [mpls label=%" JSON_INTEGER_FORMAT
		       " tc=%" JSON_INTEGER_FORMAT " s=%d ttl=%" JSON_INTEGER_FORMAT "]",
		       json_integer_value(json_object_get(e, "label")),
		       json_integer_value(json_object_get(e, "traffic_class")),
		       json_is_true(json_object_get(e, "bottom_of_stack")),
		       json_integer_value(json_object_get(e, "ttl")));
	}
}

/* Print one answer: "RESULT[ from RESPONDER][: time=T ms][ mpls…]". */
static void probe_print(const char *result, json_t *resp)
{
	const char *responder = json_string_value(json_object_get(resp, "responder"));
	json_t *time_ms = json_object_get(resp, "time_ms");

	put_text(result);
	if (responder) {
		fputs(" from ", stdout);
		put_text(responder);
	}
	if (json_is_number(time_ms))
		printf(": time=%.3f ms", json_number_value(time_ms));
	probe_print_mpls(json_object_get(resp, "mpls"));
	putchar('\n');
}

/* Count one answer into the run's tallies. */
static int probe_account(struct probe_run *r, const char *result, json_t *resp)
{
	const char *address = json_string_value(json_object_get(resp, "address"));
	json_t *time_ms = json_object_get(resp, "time_ms");

	if (!r->address && address) {
		r->address = strdup(address);
		if (!r->address)
			return oom();
	}
	if (strcmp(result, "reply") != 0)
		return CONTINUE;
	r->replies++;
	if (json_is_number(time_ms) && json_number_value(time_ms) >= 0)
		rtt_add(&r->rtt, json_number_value(time_ms));
	return CONTINUE;
}

/* Handle one line from the daemon during a probe run. */
static int probe_line(void *arg, const char *line, size_t len)
{
	struct probe_run *r = arg;
	const char *result;
	json_t *resp;
	json_int_t id;
	int rc = response_decode(line, len, &resp);

	if (rc != CONTINUE || response_skip_event(resp))
		return rc;
	id = response_id(resp);
	rc = response_take(r->ctl, resp, id > 0 && id_set_remove(&r->pending, id),
			   line, len);
	if (rc != CONTINUE)
		return rc;
	result = json_string_value(json_object_get(resp, "result"));
	if (!result)
		return response_malformed(resp, "result");
	if (!r->ctl->json)
		probe_print(result, resp);
	rc = probe_account(r, result, resp);
	json_decref(resp);
	return rc;
}

/* Print the ping-style summary of a run. */
static void probe_summary(const struct probe_run *r)
{
	double loss = r->sent ? 100.0 * (double)(r->sent - r->replies) /
			       (double)r->sent : 0.0;

	fputs("\n--- ", stdout);
	put_text(r->host);
	if (r->address) {
		fputs(" (", stdout);
		put_text(r->address);
		putchar(')');
	}
	fputs(" ---\n", stdout);
	printf("%lld sent, %lld received, ", r->sent, r->replies);
	printf(loss == floor(loss) ? "%.0f%% loss" : "%.1f%% loss", loss);
	if (r->rtt.n > 0)
		printf(", rtt min/avg/max/stdev = %.3f/%.3f/%.3f/%.3f ms",
		       r->rtt.min, r->rtt.mean, r->rtt.max, rtt_stdev(&r->rtt));
	putchar('\n');
}

/* Record SIGINT for the probe loop. */
static void on_sigint(int sig)
{
	interrupted = 1;
}

/* Catch SIGINT (unless ignored) and block it outside ppoll(); *waitmask
 * gets the mask to wait with. */
static int probe_catch_sigint(sigset_t *waitmask)
{
	struct sigaction old;
	sigset_t set;
	int r = 0;

	if (sigaction(SIGINT, NULL, &old) < 0 || sigemptyset(&set) < 0 ||
	    sigaddset(&set, SIGINT) < 0 ||
	    sigprocmask(SIG_BLOCK, &set, waitmask) < 0)
		r = -errno;
	else if (old.sa_handler != SIG_IGN)
		r = mpc_signal_set(SIGINT, on_sigint);
	if (r < 0) {
		msg("cannot set up SIGINT: %s", strerror(-r));
		return EXIT_LOCAL;
	}
	return CONTINUE;
}

/* Options of `probe`, `trace` and `report` that map to a request field. */
enum field {
	F_TTL, F_PROTOCOL, F_PORT, F_LOCAL_IP, F_LOCAL_PORT, F_TIMEOUT,
	F_SIZE, F_BIT_PATTERN, F_TOS, F_MARK,
	F_FIRST_TTL, F_MAX_TTL, F_COUNT, F_INTERVAL, /* trace and report */
	F__COUNT
};

/* Long-option values: fields first, then the client-side options. */
enum {
	OPT_FIELD = 256,
	OPT_COUNT = OPT_FIELD + F__COUNT,
	OPT_INTERVAL,
	OPT_JSON,
	OPT_LIVE,
};

/* How an option's argument becomes a field value. */
enum field_kind { FK_INT, FK_STRING, FK_REAL };

/* One option that sets a request field. */
struct field_opt {
	const char *option;    /* long option name */
	const char *field;     /* wire name */
	enum field_kind kind;
};

static const struct field_opt fields[F__COUNT] = {
	[F_TTL] = { "ttl", "ttl", FK_INT },
	[F_PROTOCOL] = { "protocol", "protocol", FK_STRING },
	[F_PORT] = { "port", "port", FK_INT },
	[F_LOCAL_IP] = { "local-ip", "local_ip", FK_STRING },
	[F_LOCAL_PORT] = { "local-port", "local_port", FK_INT },
	[F_TIMEOUT] = { "timeout", "timeout", FK_REAL },
	[F_SIZE] = { "size", "size", FK_INT },
	[F_BIT_PATTERN] = { "bit-pattern", "bit_pattern", FK_INT },
	[F_TOS] = { "tos", "tos", FK_INT },
	[F_MARK] = { "mark", "mark", FK_INT },
	[F_FIRST_TTL] = { "first-ttl", "first_ttl", FK_INT },
	[F_MAX_TTL] = { "max-ttl", "max_ttl", FK_INT },
	[F_COUNT] = { "count", "count", FK_INT },
	[F_INTERVAL] = { "interval", "interval", FK_REAL },
};

/* The field options `probe`, `trace` and `report` all take. */
#define COMMON_FIELD_LONGOPTS \
	{ "protocol", required_argument, NULL, OPT_FIELD + F_PROTOCOL }, \
	{ "port", required_argument, NULL, OPT_FIELD + F_PORT }, \
	{ "local-ip", required_argument, NULL, OPT_FIELD + F_LOCAL_IP }, \
	{ "local-port", required_argument, NULL, OPT_FIELD + F_LOCAL_PORT }, \
	{ "timeout", required_argument, NULL, OPT_FIELD + F_TIMEOUT }, \
	{ "size", required_argument, NULL, OPT_FIELD + F_SIZE }, \
	{ "bit-pattern", required_argument, NULL, OPT_FIELD + F_BIT_PATTERN }, \
	{ "tos", required_argument, NULL, OPT_FIELD + F_TOS }, \
	{ "mark", required_argument, NULL, OPT_FIELD + F_MARK }

static const struct option probe_longopts[] = {
	{ "ttl", required_argument, NULL, OPT_FIELD + F_TTL },
	COMMON_FIELD_LONGOPTS,
	{ "count", required_argument, NULL, OPT_COUNT },
	{ "interval", required_argument, NULL, OPT_INTERVAL },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* Set the request field of option fo from its argument. */
static int field_set(json_t *req, const struct field_opt *fo, const char *arg)
{
	const char *name = fo->option;
	json_t *v = NULL;
	long long i;
	double d;
	int rc;

	switch (fo->kind) {
	case FK_INT:
		if (!parse_int(arg, &i))
			return usage_error("--%s: not an integer: '%s'", name, arg);
		v = json_integer(i);
		break;
	case FK_REAL:
		if (!parse_real(arg, &d))
			return usage_error("--%s: not a number: '%s'", name, arg);
		v = json_real(d);
		break;
	case FK_STRING:
		rc = arg_string(name, arg, &v);
		if (rc != CONTINUE)
			return rc;
		break;
	}
	if (!v || json_object_set_new(req, fo->field, v) < 0)
		return oom();
	return CONTINUE;
}

/* Parse --count and --interval into the run (a struct probe_run). */
static int probe_set_client_opt(void *arg, int opt, const char *value)
{
	struct probe_run *r = arg;

	if (opt == OPT_COUNT) {
		if (!parse_int(value, &r->count) || r->count < 0)
			return usage_error("--count: not an integer >= 0: '%s'",
					   value);
		return CONTINUE;
	}
	if (!parse_real(value, &r->interval) || r->interval < 0 ||
	    r->interval > INTERVAL_MAX)
		return usage_error("--interval: not a number of seconds from 0 to %g: '%s'",
				   INTERVAL_MAX, value);
	return CONTINUE;
}

/* Record -4 or -6, refusing both. */
static int probe_set_ip_version(int *ip_version, int c)
{
	int v = c == '4' ? 4 : 6;

	if (*ip_version && *ip_version != v)
		return usage_error("-4 and -6 are mutually exclusive");
	*ip_version = v;
	return CONTINUE;
}

/* How `probe`, `trace` or `report` takes its command line. */
struct target_cmd {
	const char *shortopts;
	const struct option *longopts;
	/* An option beyond -h, -4, -6 and the fields (arg: the caller's
	 * state); CONTINUE or an exit status. */
	int (*option)(void *arg, int c, const char *value);
};

/* Parse `COMMAND [OPTIONS] HOST` of `probe`, `trace` or `report`: request
 * fields, "host" and "ip_version" into req, *ret_host the HOST given.
 * CONTINUE or an exit status. */
static int target_parse(const struct target_cmd *cmd, void *arg, json_t *req,
			int argc, char **argv, const char **ret_host)
{
	int c, rc, ip_version = 0;
	json_t *host = NULL;

	optind = 0;
	while ((c = getopt_long(argc, argv, cmd->shortopts, cmd->longopts,
				NULL)) != -1) {
		if (c == 'h') {
			usage(stdout);
			return EXIT_OK;
		} else if (c == '4' || c == '6') {
			rc = probe_set_ip_version(&ip_version, c);
		} else if (c >= OPT_FIELD && c < OPT_FIELD + F__COUNT) {
			rc = field_set(req, &fields[c - OPT_FIELD], optarg);
		} else if (c == ':' || c == '?') {
			rc = getopt_failure(c, argc, argv);
		} else {
			rc = cmd->option(arg, c, optarg);
		}
		if (rc != CONTINUE)
			return rc;
	}
	if (optind >= argc)
		return usage_error("%s: missing HOST", argv[0]);
	if (argc - optind > 1)
		return usage_error("%s: unexpected argument '%s'", argv[0],
				   argv[optind + 1]);
	*ret_host = argv[optind];
	rc = arg_string("HOST", argv[optind], &host);
	if (rc != CONTINUE)
		return rc;
	if (json_object_set_new(req, "host", host) < 0)
		return oom();
	if (ip_version &&
	    json_object_set_new(req, "ip_version", json_integer(ip_version)) < 0)
		return oom();
	return CONTINUE;
}

/* Parse `probe [OPTIONS] HOST` into r: the request and the schedule. */
static int probe_parse(struct probe_run *r, int argc, char **argv)
{
	static const struct target_cmd cmd = {
		":h46", probe_longopts, probe_set_client_opt,
	};

	return target_parse(&cmd, r, r->req, argc, argv, &r->host);
}

/* Run a parsed probe command; prints the summary when one is due. */
static int probe_run_loop(struct probe_run *r)
{
	static const struct loop_ops ops = { probe_step, loop_no_input, probe_line };
	bool summary = !r->ctl->json && r->count != 1;
	sigset_t waitmask;
	int rc;

	if (r->count != 1) {
		rc = probe_catch_sigint(&waitmask);
		if (rc != CONTINUE)
			return rc;
	}
	rc = ctl_connect(r->ctl);
	if (rc != CONTINUE)
		return rc;
	rc = now_get(&r->next_send);
	if (rc != 0)
		return rc;
	rc = loop_run(r->ctl, &ops, r, r->count != 1 ? &waitmask : NULL);
	if (summary && r->sent > 0 && rc != EXIT_LOCAL) {
		probe_summary(r);
		if (out_flush() != CONTINUE)
			rc = EXIT_LOCAL;
	}
	return rc;
}

/* `probe [OPTIONS] HOST`: ping-like probing of HOST through the daemon. */
static int cmd_probe(struct ctl *ctl, int argc, char **argv)
{
	struct probe_run r = { .ctl = ctl, .count = 1, .interval = 1.0 };
	int rc;

	r.req = json_pack("{s:s}", "op", mp_op_name(MP_OP_PROBE));
	if (!r.req)
		return oom();
	rc = probe_parse(&r, argc, argv);
	if (rc == CONTINUE)
		rc = probe_run_loop(&r);
	json_decref(r.req);
	free(r.pending.ids);
	free(r.address);
	return rc;
}

/* Highest TTL of a trace. */
#define TTL_MAX 255
/* max_ttl of a trace when --max-ttl is not given (the daemon's default). */
#define TRACE_MAX_TTL_DEFAULT 30
/* Width of the host column of mtr's report (its len_hosts without -w). */
#define REPORT_HOST_WIDTH 33
/* Responders of a hop that mtr's report can list (its MAXPATH). */
#define REPORT_MAXPATH 8
/* Least time between two frames of the live display, in seconds. */
#define LIVE_FRAME_GAP 0.1

static const struct option trace_longopts[] = {
	COMMON_FIELD_LONGOPTS,
	{ "first-ttl", required_argument, NULL, OPT_FIELD + F_FIRST_TTL },
	{ "max-ttl", required_argument, NULL, OPT_FIELD + F_MAX_TTL },
	{ "count", required_argument, NULL, 'c' },
	{ "interval", required_argument, NULL, 'i' },
	{ "live", no_argument, NULL, OPT_LIVE },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* One `trace` or `report` command: the request, what the daemon told so
 * far, and the display; owned by trace_main(). */
struct trace_run {
	struct ctl *ctl;
	bool report;              /* mtr's report table, else traceroute lines */
	bool live;                /* --live: ask for hop events */
	bool frames;              /* --live on a terminal: redraw on events */
	bool drawn;               /* a frame is on the screen */
	bool dirty;               /* something changed since the last frame */
	double next_frame;        /* monotonic time the next frame may come */
	const char *host;
	json_t *req;
	int first_ttl, max_ttl;   /* as requested (for the display only) */
	json_t *hops[TTL_MAX + 1];  /* the latest hop event of each TTL */
	char *latest[TTL_MAX + 1];  /* the responder that answered last */
	json_t *final;            /* the final answer, once it came */
	char start[64];           /* when the command started, as mtr shows it */
	char hostname[256];       /* this host's name, for the report header */
};

/* One line of the display: a TTL and what is known of it. */
struct hop_row {
	int ttl;
	json_t *hop;              /* borrowed; NULL while nothing is known */
	const char *name;         /* the responder shown, NULL when none */
};

/* An integer member of a hop, or 0 when it is missing or not an integer. */
static json_int_t hop_int(json_t *hop, const char *key)
{
	return json_integer_value(json_object_get(hop, key));
}

/* How often address answered according to hop (0 when not listed). */
static json_int_t hop_responder_count(json_t *hop, const char *address)
{
	json_t *e;
	size_t i;

	json_array_foreach(json_object_get(hop, "responders"), i, e) {
		const char *a = json_string_value(json_object_get(e, "address"));

		if (a && strcmp(a, address) == 0)
			return hop_int(e, "count");
	}
	return 0;
}

/* The responder of hop that answered more often than in old, or NULL. */
static const char *hop_grown_responder(json_t *old, json_t *hop)
{
	json_t *e;
	size_t i;

	json_array_foreach(json_object_get(hop, "responders"), i, e) {
		const char *a = json_string_value(json_object_get(e, "address"));

		if (a && hop_int(e, "count") > hop_responder_count(old, a))
			return a;
	}
	return NULL;
}

/* The responder a hop is shown under, as mtr does: the one that answered
 * last when known, else the one that answered most (the first of equals);
 * NULL when nobody answered. */
static const char *hop_main_responder(json_t *hop, const char *latest)
{
	const char *best = NULL;
	json_int_t best_count = 0;
	json_t *e;
	size_t i;

	json_array_foreach(json_object_get(hop, "responders"), i, e) {
		const char *a = json_string_value(json_object_get(e, "address"));
		json_int_t n = hop_int(e, "count");

		if (!a)
			continue;
		if (latest && strcmp(a, latest) == 0)
			return a;
		if (!best || n > best_count) {
			best = a;
			best_count = n;
		}
	}
	return best;
}

/* A hop's TTL if it is an object with an integer ttl from 1 to TTL_MAX,
 * else 0. */
static int hop_ttl(json_t *hop)
{
	json_t *ttl = json_object_get(hop, "ttl");

	if (!json_is_object(hop) || !json_is_integer(ttl) ||
	    json_integer_value(ttl) < 1 || json_integer_value(ttl) > TTL_MAX)
		return 0;
	return (int)json_integer_value(ttl);
}

/* How many rows mtr's report shows (its net_max()): up to the first whose
 * responder is target, else up to one past the last answered (none when
 * nobody answered). */
static size_t rows_shown(const struct hop_row *rows, size_t n,
			 const char *target)
{
	size_t i, max = 0;

	for (i = 0; i < n; i++) {
		if (!rows[i].name)
			continue;
		if (target && strcmp(rows[i].name, target) == 0)
			return i + 1;
		max = i + 2;
	}
	return max < n ? max : n;
}

/* Fill rows with what is to be shown now; returns how many. */
static size_t trace_rows(const struct trace_run *r,
			 struct hop_row rows[TTL_MAX])
{
	const char *target = NULL;
	size_t n = 0, i;
	json_t *hop;
	int ttl, last = 0;

	if (r->final) {
		json_array_foreach(json_object_get(r->final, "hops"), i, hop) {
			ttl = hop_ttl(hop);
			rows[n++] = (struct hop_row){
				ttl, hop, hop_main_responder(hop, r->latest[ttl]),
			};
		}
		if (!r->report)
			return n; /* traceroute shows every TTL probed */
		target = json_string_value(json_object_get(r->final, "address"));
		return rows_shown(rows, n, target);
	}
	/* Live: the TTLs known so far.  Past the target, probes are answered
	 * by the target itself, so the deepest responder is taken for it. */
	for (ttl = r->first_ttl; ttl <= TTL_MAX; ttl++) {
		if (r->hops[ttl])
			last = ttl;
	}
	for (ttl = r->first_ttl; ttl <= last; ttl++) {
		hop = r->hops[ttl];
		rows[n] = (struct hop_row){
			ttl, hop, hop_main_responder(hop, r->latest[ttl]),
		};
		if (rows[n].name)
			target = rows[n].name;
		n++;
	}
	return rows_shown(rows, n, target);
}

/* End a line of the display (clearing the rest of it in a frame). */
static void trace_eol(const struct trace_run *r)
{
	fputs(r->frames ? "\033[K\n" : "\n", stdout);
}

/* A time of a hop in milliseconds as mtr holds it (whole microseconds),
 * 0 when there is none. */
static double report_ms(json_t *hop, const char *key)
{
	json_t *v = json_object_get(hop, key);
	double us;

	if (!json_is_number(v))
		return 0.0;
	us = floor(json_number_value(v) * 1000.0 + 0.5);
	if (!(us >= 0.0 && us < 1e12))
		return 0.0;
	return us / 1000.0;
}

/* A hop's loss in percent as mtr computes it: truncated to thousandths. */
static double report_loss(json_t *hop)
{
	json_int_t sent = hop_int(hop, "sent");
	json_int_t received = hop_int(hop, "received");

	if (sent <= 0 || received < 0 || received > sent)
		return 0.0;
	return trunc(1000.0 * (100.0 - 100.0 * (double)received /
				       (double)sent)) / 1000.0;
}

/* Print a report row, and below it the hop's other responders, in the
 * columns and number formats of mtr 0.95's report (fields written at fixed
 * offsets, so a long name is cut, as mtr does). */
static void report_print_row(const struct trace_run *r,
			     const struct hop_row *row)
{
	char buf[1024];
	size_t len = REPORT_HOST_WIDTH, i;
	json_t *e, *hop = row->hop;

	snprintf(buf, sizeof(buf), " %2d.|-- %-*s", row->ttl, REPORT_HOST_WIDTH,
		 row->name ? row->name : "???");
	snprintf(buf + len, sizeof(buf) - len, " %4.1f%%", report_loss(hop));
	len += 6;
	snprintf(buf + len, sizeof(buf) - len, " %5d", (int)hop_int(hop, "sent"));
	len += 6;
	snprintf(buf + len, sizeof(buf) - len, " ");
	len += 1;
	snprintf(buf + len, sizeof(buf) - len, " %5.1f %5.1f %5.1f %5.1f %5.1f",
		 report_ms(hop, "last_ms"), report_ms(hop, "avg_ms"),
		 report_ms(hop, "best_ms"), report_ms(hop, "worst_ms"),
		 report_ms(hop, "stdev_ms"));
	put_text(buf);
	trace_eol(r);
	json_array_foreach(json_object_get(hop, "responders"), i, e) {
		const char *a = json_string_value(json_object_get(e, "address"));

		if (i >= REPORT_MAXPATH)
			break;
		if (!a || (row->name && strcmp(a, row->name) == 0))
			continue;
		snprintf(buf, sizeof(buf), "        %-*s", REPORT_HOST_WIDTH, a);
		put_text(buf);
		trace_eol(r);
	}
}

/* Print mtr's report: the start time, the header and the rows. */
static void report_print(const struct trace_run *r,
			 const struct hop_row *rows, size_t n)
{
	char buf[1024];
	size_t i;

	fputs("Start: ", stdout);
	put_text(r->start);
	trace_eol(r);
	snprintf(buf, sizeof(buf), "HOST: %-*s", REPORT_HOST_WIDTH, r->hostname);
	snprintf(buf + REPORT_HOST_WIDTH, sizeof(buf) - REPORT_HOST_WIDTH,
		 " Loss%%   Snt   Last   Avg  Best  Wrst StDev");
	put_text(buf);
	trace_eol(r);
	for (i = 0; i < n; i++)
		report_print_row(r, &rows[i]);
}

/* Print "  LABEL T ms" for a time of a hop (nothing when it has none). */
static void trace_print_time(json_t *hop, const char *label, const char *key)
{
	json_t *v = json_object_get(hop, key);

	if (!json_is_number(v))
		return;
	printf("  %s%s%.3f ms", label, *label ? " " : "", json_number_value(v));
}

/* Print one traceroute-style line: TTL, responders (with their counts when
 * there are several), then the times, or "*" when nobody answered. */
static void trace_print_hop(const struct trace_run *r,
			    const struct hop_row *row)
{
	json_t *hop = row->hop, *responders = json_object_get(hop, "responders");
	json_t *e, *loss = json_object_get(hop, "loss_pct");
	size_t i, n = json_array_size(responders);
	bool first = true;

	printf("%2d  ", row->ttl);
	if (!row->name) {
		putchar('*');
		trace_eol(r);
		return;
	}
	json_array_foreach(responders, i, e) {
		const char *a = json_string_value(json_object_get(e, "address"));

		if (!a)
			continue;
		if (!first)
			fputs("  ", stdout);
		first = false;
		put_text(a);
		if (n > 1)
			printf(" (%" JSON_INTEGER_FORMAT ")", hop_int(e, "count"));
	}
	if (hop_int(hop, "sent") <= 1) {
		trace_print_time(hop, "", "last_ms");
	} else {
		trace_print_time(hop, "last", "last_ms");
		trace_print_time(hop, "avg", "avg_ms");
		trace_print_time(hop, "best", "best_ms");
		trace_print_time(hop, "worst", "worst_ms");
		if (json_is_number(loss) && json_number_value(loss) > 0)
			printf("  loss %.1f%%", json_number_value(loss));
	}
	probe_print_mpls(json_object_get(hop, "mpls"));
	trace_eol(r);
}

/* Print the traceroute-style display: a header line, then one per TTL. */
static void trace_print(const struct trace_run *r,
			const struct hop_row *rows, size_t n)
{
	const char *address = r->final ?
		json_string_value(json_object_get(r->final, "address")) : NULL;
	size_t i;

	fputs("trace to ", stdout);
	put_text(r->host);
	if (address) {
		fputs(" (", stdout);
		put_text(address);
		putchar(')');
	}
	printf(", %d hops max", r->max_ttl);
	trace_eol(r);
	for (i = 0; i < n; i++)
		trace_print_hop(r, &rows[i]);
}

/* Print the display: as a frame over the previous one on a terminal, else
 * as plain lines.  CONTINUE or EXIT_LOCAL. */
static int trace_draw(struct trace_run *r)
{
	struct hop_row rows[TTL_MAX];
	size_t n = trace_rows(r, rows);

	if (r->frames)
		fputs(r->drawn ? "\033[H" : "\033[H\033[2J", stdout);
	if (r->report)
		report_print(r, rows, n);
	else
		trace_print(r, rows, n);
	if (r->frames)
		fputs("\033[J", stdout);
	r->drawn = true;
	r->dirty = false;
	return out_flush();
}

/* Draw a frame when one is due and the display changed. */
static int trace_step(void *arg, double *ret_wait, int *ret_input_fd)
{
	struct trace_run *r = arg;
	double now;
	int rc;

	if (!r->frames || !r->dirty)
		return CONTINUE;
	rc = now_get(&now);
	if (rc != 0)
		return rc;
	if (now < r->next_frame) {
		*ret_wait = r->next_frame - now;
		return CONTINUE;
	}
	r->next_frame = now + LIVE_FRAME_GAP;
	return trace_draw(r);
}

/* Take in a hop event: remember the hop and who answered last. */
static int trace_event(struct trace_run *r, json_t *ev)
{
	const char *name = json_string_value(json_object_get(ev, "event"));
	const char *grown;
	int ttl;
	char *copy;

	if (!name || strcmp(name, "hop") != 0)
		return CONTINUE; /* an event of a later protocol version */
	ttl = hop_ttl(ev);
	if (ttl == 0)
		return response_malformed(json_incref(ev), "ttl");
	grown = hop_grown_responder(r->hops[ttl], ev);
	if (grown) {
		copy = strdup(grown);
		if (!copy)
			return oom();
		free(r->latest[ttl]);
		r->latest[ttl] = copy;
	}
	json_decref(r->hops[ttl]);
	r->hops[ttl] = json_incref(ev);
	r->dirty = true;
	return CONTINUE;
}

/* Check and keep the final answer; EXIT_OK when the target was reached,
 * EXIT_NO_REPLY when not.  Takes resp. */
static int trace_final(struct trace_run *r, json_t *resp)
{
	json_t *reached = json_object_get(resp, "reached");
	json_t *hops = json_object_get(resp, "hops"), *hop;
	size_t i;

	if (!json_is_boolean(reached))
		return response_malformed(resp, "reached");
	if (!json_is_string(json_object_get(resp, "address")))
		return response_malformed(resp, "address");
	if (!json_is_array(hops))
		return response_malformed(resp, "hops");
	if (json_array_size(hops) > TTL_MAX)
		return response_malformed(resp, "hops");
	json_array_foreach(hops, i, hop) {
		if (hop_ttl(hop) == 0)
			return response_malformed(resp, "hops");
	}
	r->final = resp;
	return json_is_true(reached) ? EXIT_OK : EXIT_NO_REPLY;
}

/* Handle one line from the daemon during a trace. */
static int trace_line(void *arg, const char *line, size_t len)
{
	struct trace_run *r = arg;
	json_t *resp;
	int rc = response_decode(line, len, &resp);

	if (rc != CONTINUE)
		return rc;
	/* (an event never carries "error": none is taken for one) */
	rc = response_take(r->ctl, resp, response_id(resp) == 1, line, len);
	if (rc != CONTINUE)
		return rc;
	if (response_is_event(resp)) {
		rc = r->ctl->json ? CONTINUE : trace_event(r, resp);
		json_decref(resp);
		return rc;
	}
	return trace_final(r, resp);
}

/* An integer field of the request, or def when it is not set. */
static int req_int(json_t *req, const char *key, int def)
{
	json_t *v = json_object_get(req, key);

	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    json_integer_value(v) > TTL_MAX)
		return def;
	return (int)json_integer_value(v);
}

/* Parse -c, -i and --live of `trace` or `report` into r (a struct
 * trace_run). */
static int trace_set_opt(void *arg, int c, const char *value)
{
	struct trace_run *r = arg;

	if (c == 'c')
		return field_set(r->req, &fields[F_COUNT], value);
	if (c == 'i')
		return field_set(r->req, &fields[F_INTERVAL], value);
	r->live = true; /* OPT_LIVE */
	return CONTINUE;
}

/* Parse `trace|report [OPTIONS] HOST` into r. */
static int trace_parse(struct trace_run *r, int argc, char **argv)
{
	static const struct target_cmd cmd = {
		":h46c:i:", trace_longopts, trace_set_opt,
	};
	int rc = target_parse(&cmd, r, r->req, argc, argv, &r->host);

	if (rc != CONTINUE)
		return rc;
	/* Hop events tell the report which responder answered last. */
	if ((r->live || (r->report && !r->ctl->json)) &&
	    json_object_set_new(r->req, "stream", json_true()) < 0)
		return oom();
	r->first_ttl = req_int(r->req, "first_ttl", 1);
	if (r->first_ttl < 1)
		r->first_ttl = 1;
	r->max_ttl = req_int(r->req, "max_ttl", TRACE_MAX_TTL_DEFAULT);
	return CONTINUE;
}

/* Note the start time and host name the report header shows, as mtr. */
static void trace_note_start(struct trace_run *r)
{
	time_t now = time(NULL);
	struct tm tm;

	if (!localtime_r(&now, &tm) ||
	    strftime(r->start, sizeof(r->start), "%Y-%m-%dT%H:%M:%S%z", &tm) == 0)
		r->start[0] = '\0';
	if (gethostname(r->hostname, sizeof(r->hostname)) < 0)
		snprintf(r->hostname, sizeof(r->hostname), "UNKNOWNHOST");
	r->hostname[sizeof(r->hostname) - 1] = '\0';
}

/* Send the trace, follow it and print the result. */
static int trace_run_loop(struct trace_run *r)
{
	static const struct loop_ops ops = { trace_step, loop_no_input, trace_line };
	int rc;

	r->frames = r->live && !r->ctl->json && isatty(STDOUT_FILENO);
	/* A frame goes out in one write, without flicker. */
	if (r->frames && setvbuf(stdout, NULL, _IOFBF, 1 << 16) != 0)
		r->frames = false;
	r->dirty = r->frames;
	trace_note_start(r);
	rc = ctl_connect_send(r->ctl, r->req);
	if (rc != CONTINUE)
		return rc;
	rc = loop_run(r->ctl, &ops, r, NULL);
	if (r->final && !r->ctl->json && trace_draw(r) != CONTINUE)
		rc = EXIT_LOCAL;
	return rc;
}

/* Run `trace` (report false) or `report` (report true). */
static int trace_main(struct ctl *ctl, int argc, char **argv, bool report)
{
	struct trace_run r = { .ctl = ctl, .report = report };
	int rc, ttl;

	r.req = json_pack("{s:s, s:i}", "op", mp_op_name(MP_OP_TRACE), "id", 1);
	if (!r.req)
		return oom();
	rc = trace_parse(&r, argc, argv);
	if (rc == CONTINUE)
		rc = trace_run_loop(&r);
	json_decref(r.req);
	json_decref(r.final);
	for (ttl = 0; ttl <= TTL_MAX; ttl++) {
		json_decref(r.hops[ttl]);
		free(r.latest[ttl]);
	}
	return rc;
}

/* `trace [OPTIONS] HOST`: the path to HOST, one traceroute-style line per
 * TTL. */
static int cmd_trace(struct ctl *ctl, int argc, char **argv)
{
	return trace_main(ctl, argc, argv, false);
}

/* `report [OPTIONS] HOST`: the path to HOST as mtr's report table. */
static int cmd_report(struct ctl *ctl, int argc, char **argv)
{
	return trace_main(ctl, argc, argv, true);
}

/* State of `raw`: stdin forwarding and line counts; owned by cmd_raw(). */
struct raw_run {
	struct ctl *ctl;
	bool in_line;          /* inside a non-blank line of stdin */
	bool eof;              /* stdin is exhausted */
	bool any_error;        /* some response carried "error" */
	long long sent;        /* request lines queued */
	long long received;    /* final responses printed */
};

/* Whether c is JSON whitespace (skipped at the start of a line). */
static bool is_json_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Queue the non-blank lines of a chunk of stdin, counting complete ones. */
static int raw_forward(struct raw_run *r, const char *buf, size_t n)
{
	const char *nl;
	size_t i = 0, end;

	while (i < n) {
		if (!r->in_line) {
			while (i < n && is_json_space(buf[i]))
				i++;
			if (i == n)
				break;
			r->in_line = true;
		}
		nl = memchr(buf + i, '\n', n - i);
		end = nl ? (size_t)(nl - buf) + 1 : n;
		if (mpc_conn_queue(&r->ctl->conn, buf + i, end - i) < 0)
			return oom();
		if (nl) {
			r->in_line = false;
			r->sent++;
		}
		i = end;
	}
	return CONTINUE;
}

/* Note the end of stdin, terminating a last unterminated line. */
static int raw_end_input(struct raw_run *r)
{
	r->eof = true;
	if (!r->in_line)
		return CONTINUE;
	if (mpc_conn_queue(&r->ctl->conn, "\n", 1) < 0)
		return oom();
	r->in_line = false;
	r->sent++;
	return CONTINUE;
}

/* Read a chunk of stdin and queue its requests. */
static int raw_input(void *arg)
{
	struct raw_run *r = arg;
	char buf[RAW_CHUNK];
	ssize_t n;

	n = read(STDIN_FILENO, buf, sizeof(buf));
	if (n < 0) {
		if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
			return CONTINUE;
		msg("cannot read standard input: %s", strerror(errno));
		return EXIT_LOCAL;
	}
	if (n == 0)
		return raw_end_input(r);
	return raw_forward(r, buf, (size_t)n);
}

/* End when stdin is done and every line sent has its response. */
static int raw_step(void *arg, double *ret_wait, int *ret_input_fd)
{
	struct raw_run *r = arg;

	if (r->eof && r->received == r->sent &&
	    mpc_conn_pending(&r->ctl->conn) == 0)
		return r->any_error ? EXIT_ERROR_RESPONSE : EXIT_OK;
	if (!r->eof && mpc_conn_pending(&r->ctl->conn) < RAW_HIGH_WATER)
		*ret_input_fd = STDIN_FILENO;
	return CONTINUE;
}

/* Print a response line as received and count final responses. */
static int raw_line(void *arg, const char *line, size_t len)
{
	struct raw_run *r = arg;
	json_t *resp;
	int rc = response_decode(line, len, &resp);

	if (rc != CONTINUE)
		return rc;
	out_line(line, len);
	if (!response_is_event(resp)) {
		if (response_is_error(resp))
			r->any_error = true;
		if (++r->received > r->sent)
			return response_unexpected(resp);
	}
	json_decref(resp);
	return CONTINUE;
}

/* `raw`: pipeline NDJSON requests from stdin, responses to stdout. */
static int cmd_raw(struct ctl *ctl, int argc, char **argv)
{
	static const struct loop_ops ops = { raw_step, raw_input, raw_line };
	struct raw_run r = { .ctl = ctl };
	int rc = parse_simple(argc, argv, 0);

	if (rc != CONTINUE)
		return rc;
	rc = ctl_connect(ctl);
	if (rc != CONTINUE)
		return rc;
	return loop_run(ctl, &ops, &r, NULL);
}

/* A command: its name and what runs it (argv[0] is the command name). */
struct command {
	const char *name;
	int (*run)(struct ctl *ctl, int argc, char **argv);
};

static const struct command commands[] = {
	{ "probe", cmd_probe },
	{ "trace", cmd_trace },
	{ "report", cmd_report },
	{ "check-support", cmd_check_support },
	{ "clear-dns-cache", cmd_clear_dns_cache },
	{ "version", cmd_version },
	{ "stats", cmd_stats },
	{ "raw", cmd_raw },
	{ "monitor", cmd_monitor },
};

/* Parse the global options; *ret_index gets the command's index. */
static int parse_global(struct ctl *ctl, int argc, char **argv, int *ret_index)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	optind = 0;
	while ((c = getopt_long(argc, argv, "+:s:h", longopts, NULL)) != -1) {
		if (c == 's') {
			if (*optarg == '\0')
				return usage_error("-s: empty socket path");
			ctl->socket = optarg;
		} else if (c == OPT_JSON) {
			ctl->json = true;
		} else if (c == 'h') {
			usage(stdout);
			return EXIT_OK;
		} else {
			return getopt_failure(c, argc, argv);
		}
	}
	if (optind >= argc)
		return usage_error("missing command");
	*ret_index = optind;
	return CONTINUE;
}

/* Find and run the command named on the command line. */
static int run_command(struct ctl *ctl, int argc, char **argv)
{
	int index = 0, rc;
	size_t i;

	rc = parse_global(ctl, argc, argv, &index);
	if (rc != CONTINUE)
		return rc;
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[index], commands[i].name) == 0)
			return commands[i].run(ctl, argc - index, argv + index);
	}
	return usage_error("unknown command '%s'", argv[index]);
}

/* Entry point: global options, command, exit status. */
int main(int argc, char **argv)
{
	struct ctl ctl = { 0 };
	const char *what;
	int rc, r;

	mpc_conn_init(&ctl.conn);
	/* fds 0-2 open, so that the socket never takes the place of stdin or
	 * stdout; SIGPIPE ignored: a vanished daemon or reader is EPIPE */
	r = mpc_process_setup(&what);
	if (r < 0) {
		msg("%s: %s", what, strerror(-r));
		rc = EXIT_LOCAL;
	} else {
		rc = run_command(&ctl, argc, argv);
	}
	mpc_conn_close(&ctl.conn);
	if (rc != EXIT_LOCAL && out_flush() != CONTINUE && rc < EXIT_USAGE)
		rc = EXIT_LOCAL;
	return rc;
}
