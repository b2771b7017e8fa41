/*
 * mtrprobectl: the command-line client of mtrprobed.  Sends requests over
 * the daemon's Unix socket and prints the answers for people (or, with
 * --json, unchanged for programs).  See mtrprobectl(1).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
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

#define PROG "mtrprobectl"

/* Exit statuses, documented in mtrprobectl(1). */
enum {
	EXIT_OK = 0,             /* success */
	EXIT_NO_REPLY = 1,       /* no probe got a reply; feature unsupported */
	EXIT_USAGE = 2,          /* bad command line */
	EXIT_UNREACHABLE = 3,    /* cannot connect, connection lost, garbage */
	EXIT_ERROR_RESPONSE = 4, /* the daemon answered with an error */
	EXIT_LOCAL = 5,          /* out of memory, cannot write the output */
};

/* Returned by steps of the event loop that want it to go on. */
#define CONTINUE (-1)

/* Keep reading stdin in raw mode only while less than this is queued. */
#define RAW_HIGH_WATER (1024 * 1024)
/* Read size for stdin in raw mode. */
#define RAW_CHUNK 65536
/* Largest --interval accepted, in seconds (as the protocol's trace). */
#define INTERVAL_MAX 3600.0

/* Global options and the connection; owned by main(). */
struct ctl {
	const char *socket;    /* -s, or NULL */
	bool json;             /* --json */
	struct mpc_conn conn;
	bool closed;           /* the daemon closed its end */
};

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

/* Write s to f, with control characters shown as '?'. */
static void put_text_to(FILE *f, const char *s)
{
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		putc(ch < 0x20 || ch == 0x7f ? '?' : ch, f);
	}
}

/* Write s to stdout, with control characters shown as '?'. */
static void put_text(const char *s)
{
	put_text_to(stdout, s);
}

/* Print "mtrprobectl: MESSAGE" on stderr, control characters masked. */
__attribute__((format(printf, 1, 2)))
static void msg(const char *fmt, ...)
{
	char buf[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fputs(PROG ": ", stderr);
	put_text_to(stderr, buf);
	putc('\n', stderr);
}

/* Report a command-line mistake; returns EXIT_USAGE. */
__attribute__((format(printf, 1, 2)))
static int usage_error(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	msg("%s", buf);
	fputs("Try '" PROG " --help' for more information.\n", stderr);
	return EXIT_USAGE;
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
	fputs("Usage: " PROG " [-s SOCKET] [--json] COMMAND [ARGS]\n"
	      "\n"
	      "Commands:\n"
	      "  probe [OPTIONS] HOST      send probes to HOST, print each answer\n"
	      "  check-support FEATURE     ask whether mtr-packet supports FEATURE\n"
	      "  clear-dns-cache           drop the daemon's cached DNS answers\n"
	      "  version                   versions of client, daemon, mtr-packet\n"
	      "  stats                     the daemon's counters\n"
	      "  raw                       send NDJSON requests read from stdin,\n"
	      "                            print every response line\n"
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
	      "Exit status: 0 success, 1 no reply / not supported, 2 usage error,\n"
	      "3 daemon unreachable, 4 error response, 5 local error.\n", f);
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
static int response_malformed(json_t *resp, const char *field)
{
	json_decref(resp);
	msg("malformed response from the daemon: bad or missing '%s'", field);
	return EXIT_UNREACHABLE;
}

/* A JSON string of a command-line argument; EXIT_USAGE if it is not
 * UTF-8, EXIT_LOCAL when memory ran out. */
static int arg_string(const char *what, const char *s, json_t **ret)
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

/* Nothing to do between waits for a single response. */
static int single_step(void *arg, double *ret_wait, int *ret_input_fd)
{
	return CONTINUE;
}

/* Never called: single requests watch no input. */
static int single_input(void *arg)
{
	return CONTINUE;
}

/* Handle a line while awaiting the response to request 1. */
static int single_line(void *arg, const char *line, size_t len)
{
	struct single *s = arg;
	json_t *resp;
	json_int_t id;
	int rc = response_decode(line, len, &resp);

	if (rc != CONTINUE)
		return rc;
	if (response_is_event(resp)) {
		json_decref(resp);
		return CONTINUE;
	}
	id = response_id(resp);
	if (id != 1 && !(id == 0 && response_is_error(resp)))
		return response_unexpected(resp);
	if (s->ctl->json)
		out_line(line, len);
	if (response_is_error(resp)) {
		response_report_error(resp);
		json_decref(resp);
		return EXIT_ERROR_RESPONSE;
	}
	s->resp = resp;
	return EXIT_OK;
}

/* Connect, send op with id 1 and wait for its answer into *ret_resp. */
static int ctl_transact(struct ctl *ctl, const char *op, const char *feature,
			json_t **ret_resp)
{
	static const struct loop_ops ops = {
		single_step, single_input, single_line,
	};
	struct single s = { .ctl = ctl };
	json_t *req, *fv = NULL;
	int rc;

	if (feature) {
		rc = arg_string("FEATURE", feature, &fv);
		if (rc != CONTINUE)
			return rc;
	}
	req = json_pack("{s:s, s:i}", "op", op, "id", 1);
	if (!req) {
		json_decref(fv);
		return oom();
	}
	if (fv && json_object_set_new(req, "feature", fv) < 0) {
		json_decref(req);
		return oom();
	}
	rc = ctl_connect(ctl);
	if (rc == CONTINUE)
		rc = ctl_send(ctl, req);
	json_decref(req);
	if (rc != CONTINUE)
		return rc;
	rc = loop_run(ctl, &ops, &s, NULL);
	if (rc == EXIT_OK)
		*ret_resp = s.resp;
	return rc;
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
static void print_response(json_t *resp)
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
	int rc = parse_simple(argc, argv, 0);

	if (rc != CONTINUE)
		return rc;
	rc = ctl_transact(ctl, mp_op_name(MP_OP_CLEAR_DNS_CACHE), NULL, &resp);
	if (rc != EXIT_OK)
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

/* `version`: the daemon's version fields, then the client's version. */
static int cmd_version(struct ctl *ctl, int argc, char **argv)
{
	json_t *resp;
	int rc = parse_simple(argc, argv, 0);

	if (rc != CONTINUE)
		return rc;
	rc = ctl_transact(ctl, mp_op_name(MP_OP_VERSION), NULL, &resp);
	if (rc != EXIT_OK)
		return rc;
	if (!ctl->json) {
		print_response(resp);
		printf("client: %s\n", MTRPROBED_VERSION);
	}
	json_decref(resp);
	return EXIT_OK;
}

/* `stats`: the daemon's counters as an indented tree. */
static int cmd_stats(struct ctl *ctl, int argc, char **argv)
{
	json_t *resp;
	int rc = parse_simple(argc, argv, 0);

	if (rc != CONTINUE)
		return rc;
	rc = ctl_transact(ctl, mp_op_name(MP_OP_STATS), NULL, &resp);
	if (rc != EXIT_OK)
		return rc;
	if (!ctl->json)
		print_response(resp);
	json_decref(resp);
	return EXIT_OK;
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

	if (rc != CONTINUE)
		return rc;
	if (response_is_event(resp)) {
		json_decref(resp);
		return CONTINUE;
	}
	id = response_id(resp);
	if (!(id > 0 && id_set_remove(&r->pending, id)) &&
	    !(id == 0 && response_is_error(resp)))
		return response_unexpected(resp);
	if (r->ctl->json)
		out_line(line, len);
	if (response_is_error(resp)) {
		response_report_error(resp);
		json_decref(resp);
		return EXIT_ERROR_RESPONSE;
	}
	result = json_string_value(json_object_get(resp, "result"));
	if (!result)
		return response_malformed(resp, "result");
	if (!r->ctl->json)
		probe_print(result, resp);
	rc = probe_account(r, result, resp);
	json_decref(resp);
	return rc;
}

/* Never called: probe runs watch no input. */
static int probe_input(void *arg)
{
	return CONTINUE;
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
	struct sigaction sa, old;
	sigset_t set;

	if (sigaction(SIGINT, NULL, &old) < 0 || sigemptyset(&set) < 0 ||
	    sigaddset(&set, SIGINT) < 0 ||
	    sigprocmask(SIG_BLOCK, &set, waitmask) < 0) {
		msg("cannot set up SIGINT: %s", strerror(errno));
		return EXIT_LOCAL;
	}
	if (old.sa_handler == SIG_IGN)
		return CONTINUE;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigint;
	if (sigemptyset(&sa.sa_mask) < 0 || sigaction(SIGINT, &sa, NULL) < 0) {
		msg("cannot set up SIGINT: %s", strerror(errno));
		return EXIT_LOCAL;
	}
	return CONTINUE;
}

/* Options of `probe` that map to a request field. */
enum probe_field {
	PF_TTL, PF_PROTOCOL, PF_PORT, PF_LOCAL_IP, PF_LOCAL_PORT, PF_TIMEOUT,
	PF_SIZE, PF_BIT_PATTERN, PF_TOS, PF_MARK, PF__COUNT
};

/* Long-option values: fields first, then the client-side options. */
enum {
	OPT_FIELD = 256,
	OPT_COUNT = OPT_FIELD + PF__COUNT,
	OPT_INTERVAL,
	OPT_JSON,
};

/* How an option's argument becomes a field value. */
enum field_kind { FK_INT, FK_STRING, FK_REAL };

/* One option that sets a request field. */
struct field_opt {
	const char *option;    /* long option name */
	const char *field;     /* wire name */
	enum field_kind kind;
};

static const struct field_opt probe_fields[PF__COUNT] = {
	[PF_TTL] = { "ttl", "ttl", FK_INT },
	[PF_PROTOCOL] = { "protocol", "protocol", FK_STRING },
	[PF_PORT] = { "port", "port", FK_INT },
	[PF_LOCAL_IP] = { "local-ip", "local_ip", FK_STRING },
	[PF_LOCAL_PORT] = { "local-port", "local_port", FK_INT },
	[PF_TIMEOUT] = { "timeout", "timeout", FK_REAL },
	[PF_SIZE] = { "size", "size", FK_INT },
	[PF_BIT_PATTERN] = { "bit-pattern", "bit_pattern", FK_INT },
	[PF_TOS] = { "tos", "tos", FK_INT },
	[PF_MARK] = { "mark", "mark", FK_INT },
};

static const struct option probe_longopts[] = {
	{ "ttl", required_argument, NULL, OPT_FIELD + PF_TTL },
	{ "protocol", required_argument, NULL, OPT_FIELD + PF_PROTOCOL },
	{ "port", required_argument, NULL, OPT_FIELD + PF_PORT },
	{ "local-ip", required_argument, NULL, OPT_FIELD + PF_LOCAL_IP },
	{ "local-port", required_argument, NULL, OPT_FIELD + PF_LOCAL_PORT },
	{ "timeout", required_argument, NULL, OPT_FIELD + PF_TIMEOUT },
	{ "size", required_argument, NULL, OPT_FIELD + PF_SIZE },
	{ "bit-pattern", required_argument, NULL, OPT_FIELD + PF_BIT_PATTERN },
	{ "tos", required_argument, NULL, OPT_FIELD + PF_TOS },
	{ "mark", required_argument, NULL, OPT_FIELD + PF_MARK },
	{ "count", required_argument, NULL, OPT_COUNT },
	{ "interval", required_argument, NULL, OPT_INTERVAL },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* Set the request field of option pf from its argument. */
static int probe_set_field(json_t *req, enum probe_field pf, const char *arg)
{
	const struct field_opt *fo = &probe_fields[pf];
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

/* Parse --count and --interval into the run. */
static int probe_set_client_opt(struct probe_run *r, int opt, const char *arg)
{
	if (opt == OPT_COUNT) {
		if (!parse_int(arg, &r->count) || r->count < 0)
			return usage_error("--count: not an integer >= 0: '%s'", arg);
		return CONTINUE;
	}
	if (!parse_real(arg, &r->interval) || r->interval < 0 ||
	    r->interval > INTERVAL_MAX)
		return usage_error("--interval: not a number of seconds from 0 to %g: '%s'",
				   INTERVAL_MAX, arg);
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

/* Parse the options of `probe` into r (request fields into r->req). */
static int probe_parse_opts(struct probe_run *r, int argc, char **argv,
			    int *ip_version)
{
	int c, rc;

	optind = 0;
	while ((c = getopt_long(argc, argv, ":h46", probe_longopts, NULL)) != -1) {
		if (c == 'h') {
			usage(stdout);
			return EXIT_OK;
		} else if (c == '4' || c == '6') {
			rc = probe_set_ip_version(ip_version, c);
		} else if (c >= OPT_FIELD && c < OPT_FIELD + PF__COUNT) {
			rc = probe_set_field(r->req, (enum probe_field)(c - OPT_FIELD),
					     optarg);
		} else if (c == OPT_COUNT || c == OPT_INTERVAL) {
			rc = probe_set_client_opt(r, c, optarg);
		} else {
			rc = getopt_failure(c, argc, argv);
		}
		if (rc != CONTINUE)
			return rc;
	}
	return CONTINUE;
}

/* Parse `probe [OPTIONS] HOST` into r: the request and the schedule. */
static int probe_parse(struct probe_run *r, int argc, char **argv)
{
	int ip_version = 0, rc;
	json_t *host = NULL;

	rc = probe_parse_opts(r, argc, argv, &ip_version);
	if (rc != CONTINUE)
		return rc;
	if (optind >= argc)
		return usage_error("probe: missing HOST");
	if (argc - optind > 1)
		return usage_error("probe: unexpected argument '%s'", argv[optind + 1]);
	r->host = argv[optind];
	rc = arg_string("HOST", r->host, &host);
	if (rc != CONTINUE)
		return rc;
	if (json_object_set_new(r->req, "host", host) < 0)
		return oom();
	if (ip_version &&
	    json_object_set_new(r->req, "ip_version", json_integer(ip_version)) < 0)
		return oom();
	return CONTINUE;
}

/* Run a parsed probe command; prints the summary when one is due. */
static int probe_run_loop(struct probe_run *r)
{
	static const struct loop_ops ops = { probe_step, probe_input, probe_line };
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
	{ "check-support", cmd_check_support },
	{ "clear-dns-cache", cmd_clear_dns_cache },
	{ "version", cmd_version },
	{ "stats", cmd_stats },
	{ "raw", cmd_raw },
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

/* Ignore SIGPIPE: a vanished daemon or reader shows up as EPIPE. */
static int ignore_sigpipe(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	if (sigemptyset(&sa.sa_mask) < 0 || sigaction(SIGPIPE, &sa, NULL) < 0) {
		msg("cannot ignore SIGPIPE: %s", strerror(errno));
		return EXIT_LOCAL;
	}
	return CONTINUE;
}

/* Open /dev/null on any of fds 0-2 that is closed, so that the socket
 * never takes the place of stdin or stdout. */
static int std_fds_open(void)
{
	int fd;

	for (fd = 0; fd <= 2; fd++) {
		if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
			continue;
		if (open("/dev/null", O_RDWR) != fd) {
			msg("cannot open /dev/null: %s", strerror(errno));
			return EXIT_LOCAL;
		}
	}
	return CONTINUE;
}

/* Entry point: global options, command, exit status. */
int main(int argc, char **argv)
{
	struct ctl ctl = { 0 };
	int rc;

	mpc_conn_init(&ctl.conn);
	rc = std_fds_open();
	if (rc == CONTINUE)
		rc = ignore_sigpipe();
	if (rc == CONTINUE)
		rc = run_command(&ctl, argc, argv);
	mpc_conn_close(&ctl.conn);
	if (rc != EXIT_LOCAL && out_flush() != CONTINUE && rc < EXIT_USAGE)
		rc = EXIT_LOCAL;
	return rc;
}
