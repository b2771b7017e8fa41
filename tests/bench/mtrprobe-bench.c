/*
 * mtrprobe-bench: measure mtrprobed's throughput and the latency it adds,
 * side by side with one mtr-packet process driven directly.  Probes go to
 * loopback only (127.0.0.0/8 or ::1).  Not a test: it reports figures and
 * exits 0 once every pass completed, lost probes or not.
 *
 * Passes, in order:
 *   1. daemon, throughput: N probes pipelined on one connection, at most
 *      WINDOW outstanding (0: all of them; the daemon applies back-pressure).
 *   2. daemon, latency: the same with a small window (and --rate if given),
 *      so that the observed time is not dominated by the client's backlog.
 *   3. direct: N probes written into one mtr-packet process, at most 100
 *      in flight.
 * "Added latency" is, per probe that got a reply, the time from the write
 * of its request to the read of its answer (CLOCK_MONOTONIC) minus the
 * round-trip time mtr-packet measured.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/resource.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <jansson.h>

#include "mtrprobe/protocol.h"

#define PROG "mtrprobe-bench"

/* Exit statuses. */
enum {
	EXIT_DONE = 0,       /* every pass completed (figures may show loss) */
	EXIT_INCOMPLETE = 1, /* timeout, lost connection, cannot start */
	EXIT_USAGE = 2,      /* bad command line */
};
/* parse_options() asks main to exit 0 (after --help). */
#define HELP_SHOWN (-1)

#define N_DEFAULT 20000L
#define N_MAX 10000000L
#define LATENCY_WINDOW_DEFAULT 100L
#define DIRECT_WINDOW_DEFAULT 100L
/* mtr-packet loses replies beyond about this many in flight on loopback. */
#define DIRECT_SAFE_WINDOW 100L
/* Per-probe timeout in seconds, sent to the daemon and to mtr-packet. */
#define PROBE_TIMEOUT_S 5
#define OVERALL_TIMEOUT_DEFAULT 120.0
/* How long the version request to the daemon may take, in seconds. */
#define HELLO_TIMEOUT_S 5.0
/* How long mtr-packet gets to exit after its stdin is closed, in ms. */
#define CHILD_EXIT_WAIT_MS 2000

#define OUTBUF_SIZE (256 * 1024)
#define INBUF_SIZE (1024 * 1024)
/* Longest request line this program formats, with room to spare. */
#define REQ_LINE_MAX 256
/* Shortest request line is > 16 bytes, so this many never fill OUTBUF. */
#define RING_CAP (OUTBUF_SIZE / 16)
#define SOCKBUF_SIZE (4 * 1024 * 1024)
#define PIPE_SIZE (1024 * 1024)
/* Longest mtr-packet reply line (its own command buffer is 4 KiB). */
#define DIRECT_LINE_MAX 4096
#define WORDS_MAX 32
#define WORD_LEN 48

#define NS_PER_S 1000000000LL

/* Command-line options and what is derived from them. */
struct options {
	const char *socket;       /* -s, $MTRPROBED_SOCKET or the default */
	long n;                   /* -n */
	long window;              /* -w, 0 = unlimited */
	long latency_window;      /* --latency-window */
	double rate;              /* --rate, 0 = unpaced */
	long direct_window;       /* --direct-window */
	const char *protocol;     /* "icmp" or "udp" */
	const char *mtr_packet;   /* --mtr-packet, $MTR_PACKET, "mtr-packet" */
	const char *target;       /* --target */
	int ip_version;           /* 4 or 6, from the target */
	char local[INET6_ADDRSTRLEN]; /* source address for the target */
	double timeout_s;         /* --timeout, overall */
	bool run_daemon;
	bool run_direct;
	bool json;
};

/* How many answers carried one result word. */
struct word_count {
	char word[WORD_LEN];
	long count;
};

/* Which program a pass talks to. */
enum pass_kind {
	PASS_DAEMON,
	PASS_DIRECT,
};

/* One measurement pass: its settings, its running state and its figures. */
struct pass {
	enum pass_kind kind;
	const char *key;          /* short name for JSON */
	char tag[64];             /* the settings: "window=100" */
	char label[96];           /* for the table: program and tag */
	long n;
	long window;              /* 0 = unlimited */
	double rate;              /* 0 = unpaced */
	bool ran;
	bool complete;
	char failure[160];        /* why it did not complete */

	int64_t *t_write;         /* per id - 1: when its line was written */
	uint8_t *seen;            /* per id - 1: answered already */
	double *added;            /* added latency samples, ms */
	long nadded;
	uint64_t *ring;           /* [id % RING_CAP]: byte offset ending line id */
	uint64_t bytes_formatted;
	uint64_t bytes_written;

	long sent;                /* request lines formatted */
	long stamped;             /* request lines fully written */
	long answered;            /* distinct ids answered */
	long replies;             /* first answers with result "reply" */
	long not_reply;           /* first answers with anything else */
	long dups;                /* answers for an id already answered */
	long unexpected;          /* lines matching no request we sent */
	long missing;             /* ids never answered */
	int64_t t_start;
	int64_t t_first_write;
	int64_t t_last_answer;
	int64_t t_last_reply;
	double cpu_s;             /* this program's CPU time during the pass */

	struct word_count words[WORDS_MAX];
	int nwords;
	long other_words;         /* answers whose word did not fit the table */

	double wall_s;
	double pps;
	double reply_pps;         /* replies / first write to last reply */
	double p50, p99, pmax;    /* added latency, NAN when no sample */
};

/* What the daemon says about itself in answer to "version". */
struct daemon_info {
	char daemon[32];
	char mtr_packet[32];
	long workers;
};

/* Now on CLOCK_MONOTONIC, in nanoseconds. */
static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

/* CPU time this process has used so far, user plus system, in seconds. */
static double cpu_seconds(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) < 0)
		return 0;
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* Print the usage text to f. */
static void usage(FILE *f)
{
	fprintf(f,
		"Usage: " PROG " [-s SOCKET] [-n N] [-w WINDOW] [--protocol icmp|udp]\n"
		"       [--rate PPS] [--latency-window W] [--direct-window W]\n"
		"       [--mtr-packet PATH] [--target ADDR] [--timeout SEC]\n"
		"       [--direct-only|--daemon-only] [--json]\n"
		"Measure mtrprobed's throughput and added latency against one mtr-packet\n"
		"process driven directly.  Probes go to loopback only.\n"
		"\n"
		"  -s SOCKET           daemon socket (default $" MP_SOCKET_ENV ", else\n"
		"                      " MP_DEFAULT_SOCKET ")\n"
		"  -n N                probes per pass (default %ld)\n"
		"  -w WINDOW           throughput pass: most requests outstanding on the\n"
		"                      connection (default 0: all N at once)\n"
		"  --latency-window W  latency pass: most outstanding (default %ld)\n"
		"  --rate PPS          latency pass: also pace requests at PPS per second\n"
		"  --direct-window W   direct pass: most in flight in mtr-packet (default %ld)\n"
		"  --protocol P        icmp (default) or udp\n"
		"  --mtr-packet PATH   mtr-packet for the direct pass (default $MTR_PACKET,\n"
		"                      else mtr-packet from PATH)\n"
		"  --target ADDR       127.x.x.x or ::1 (default 127.0.0.1)\n"
		"  --timeout SEC       give up on the whole run after SEC s (default %.0f)\n"
		"  --direct-only       only the direct pass\n"
		"  --daemon-only       only the daemon passes\n"
		"  --json              print one JSON object instead of a table\n"
		"  -h, --help          print this help\n"
		"\n"
		"Exit status: 0 when every pass completed (even with lost probes),\n"
		"1 when one did not (timeout, lost connection, cannot start), 2 on usage.\n",
		N_DEFAULT, LATENCY_WINDOW_DEFAULT, DIRECT_WINDOW_DEFAULT,
		OVERALL_TIMEOUT_DEFAULT);
}

/* Parse a whole decimal integer from min to max into *ret; false if not. */
static bool parse_long(const char *s, long min, long max, long *ret)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return false;
	*ret = v;
	return true;
}

/* Parse a finite number from min to max into *ret; false if not. */
static bool parse_double(const char *s, double min, double max, double *ret)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v < min || v > max)
		return false;
	*ret = v;
	return true;
}

/* Find the source address for the target as the daemon does: connect a
 * UDP socket to it and read the address back.  0 or -errno. */
static int route_source(struct options *o)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd, ret = 0;

	memset(&ss, 0, sizeof(ss));
	if (o->ip_version == 4) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(9);
		inet_pton(AF_INET, o->target, &sin->sin_addr);
		sl = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(9);
		inet_pton(AF_INET6, o->target, &sin6->sin6_addr);
		sl = sizeof(*sin6);
	}
	fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&ss, sl) < 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &sl) < 0) {
		ret = -errno;
	} else if (o->ip_version == 4) {
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr,
			  o->local, sizeof(o->local));
	} else {
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr,
			  o->local, sizeof(o->local));
	}
	close(fd);
	return ret;
}

/* Accept only 127.0.0.0/8 and ::1 as the target; set the IP version. */
static bool check_target(struct options *o)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (inet_pton(AF_INET, o->target, &a4) == 1) {
		if ((ntohl(a4.s_addr) >> 24) != 127)
			return false;
		o->ip_version = 4;
		return true;
	}
	if (inet_pton(AF_INET6, o->target, &a6) == 1 &&
	    IN6_IS_ADDR_LOOPBACK(&a6)) {
		o->ip_version = 6;
		return true;
	}
	return false;
}

/* Fill o from the command line; EXIT_DONE to go on, HELP_SHOWN, or an
 * exit status. */
static int parse_options(struct options *o, int argc, char **argv)
{
	enum {
		OPT_PROTOCOL = 256, OPT_RATE, OPT_MTR_PACKET, OPT_DIRECT_ONLY,
		OPT_DAEMON_ONLY, OPT_JSON, OPT_TARGET, OPT_TIMEOUT,
		OPT_LATENCY_WINDOW, OPT_DIRECT_WINDOW,
	};
	static const struct option longopts[] = {
		{ "protocol", required_argument, NULL, OPT_PROTOCOL },
		{ "rate", required_argument, NULL, OPT_RATE },
		{ "mtr-packet", required_argument, NULL, OPT_MTR_PACKET },
		{ "direct-only", no_argument, NULL, OPT_DIRECT_ONLY },
		{ "daemon-only", no_argument, NULL, OPT_DAEMON_ONLY },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "target", required_argument, NULL, OPT_TARGET },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "latency-window", required_argument, NULL, OPT_LATENCY_WINDOW },
		{ "direct-window", required_argument, NULL, OPT_DIRECT_WINDOW },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool direct_only = false, daemon_only = false;
	double paced;
	const char *env;
	int c, ret;

	memset(o, 0, sizeof(*o));
	o->n = N_DEFAULT;
	o->latency_window = LATENCY_WINDOW_DEFAULT;
	o->direct_window = DIRECT_WINDOW_DEFAULT;
	o->protocol = "icmp";
	o->target = "127.0.0.1";
	o->timeout_s = OVERALL_TIMEOUT_DEFAULT;

	while ((c = getopt_long(argc, argv, "s:n:w:h", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			o->socket = optarg;
			break;
		case 'n':
			if (!parse_long(optarg, 1, N_MAX, &o->n)) {
				fprintf(stderr, PROG ": -n: must be an integer from 1 to %ld\n", N_MAX);
				return EXIT_USAGE;
			}
			break;
		case 'w':
			if (!parse_long(optarg, 0, N_MAX, &o->window)) {
				fprintf(stderr, PROG ": -w: must be an integer from 0 to %ld\n", N_MAX);
				return EXIT_USAGE;
			}
			break;
		case OPT_LATENCY_WINDOW:
			if (!parse_long(optarg, 1, N_MAX, &o->latency_window)) {
				fprintf(stderr, PROG ": --latency-window: must be an integer from 1 to %ld\n",
					N_MAX);
				return EXIT_USAGE;
			}
			break;
		case OPT_DIRECT_WINDOW:
			/* mtr-packet 0.95 answers probes-exhausted beyond 1024. */
			if (!parse_long(optarg, 1, 1024, &o->direct_window)) {
				fprintf(stderr, PROG ": --direct-window: must be an integer from 1 to 1024\n");
				return EXIT_USAGE;
			}
			break;
		case OPT_PROTOCOL:
			if (strcmp(optarg, "icmp") && strcmp(optarg, "udp")) {
				fprintf(stderr, PROG ": --protocol: must be icmp or udp\n");
				return EXIT_USAGE;
			}
			o->protocol = optarg;
			break;
		case OPT_RATE:
			if (!parse_double(optarg, 1.0, 10000000.0, &o->rate)) {
				fprintf(stderr, PROG ": --rate: must be a number from 1 to 10000000\n");
				return EXIT_USAGE;
			}
			break;
		case OPT_MTR_PACKET:
			o->mtr_packet = optarg;
			break;
		case OPT_DIRECT_ONLY:
			direct_only = true;
			break;
		case OPT_DAEMON_ONLY:
			daemon_only = true;
			break;
		case OPT_JSON:
			o->json = true;
			break;
		case OPT_TARGET:
			o->target = optarg;
			break;
		case OPT_TIMEOUT:
			if (!parse_double(optarg, 1.0, 86400.0, &o->timeout_s)) {
				fprintf(stderr, PROG ": --timeout: must be a number of seconds from 1 to 86400\n");
				return EXIT_USAGE;
			}
			break;
		case 'h':
			usage(stdout);
			return HELP_SHOWN;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, PROG ": unexpected argument '%s'\n", argv[optind]);
		return EXIT_USAGE;
	}
	if (direct_only && daemon_only) {
		fprintf(stderr, PROG ": --direct-only and --daemon-only exclude each other\n");
		return EXIT_USAGE;
	}
	o->run_daemon = !direct_only;
	o->run_direct = !daemon_only;
	if (!check_target(o)) {
		fprintf(stderr, PROG ": --target: only 127.x.x.x or ::1 allowed, not '%s'\n",
			o->target);
		return EXIT_USAGE;
	}
	/* Each paced pass takes N / PPS, plus a probe timeout if one is lost. */
	paced = (o->run_daemon ? 1.0 : 0.0) + (o->run_direct ? 1.0 : 0.0);
	paced *= (double)o->n / (o->rate > 0 ? o->rate : 1.0) + PROBE_TIMEOUT_S + 1;
	if (o->rate > 0 && paced >= o->timeout_s) {
		fprintf(stderr, PROG ": --rate: the paced passes of %ld probes at %g/s need up "
			"to %.0f s, more than the overall --timeout of %.0f s; lower -n or raise "
			"--timeout\n", o->n, o->rate, paced, o->timeout_s);
		return EXIT_USAGE;
	}
	if (!o->socket) {
		env = getenv(MP_SOCKET_ENV);
		o->socket = env && *env ? env : MP_DEFAULT_SOCKET;
	}
	if (!o->mtr_packet) {
		env = getenv("MTR_PACKET");
		o->mtr_packet = env && *env ? env : "mtr-packet";
	}
	ret = route_source(o);
	if (ret < 0) {
		fprintf(stderr, PROG ": no route to %s: %s\n", o->target, strerror(-ret));
		return EXIT_INCOMPLETE;
	}
	return EXIT_DONE;
}

/* Make fd non-blocking; 0 or -errno. */
static int set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	return 0;
}

/* Ask for big socket buffers, forcing past the sysctl limits when allowed. */
static void big_socket_buffers(int fd)
{
	int sz = SOCKBUF_SIZE;

	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
}

/* Connect a non-blocking socket to the daemon; the fd or -errno. */
static int connect_daemon(const char *path)
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

/* Ask the daemon for its version over a fresh connection, so that an
 * absent daemon is reported before any pass.  0, or -1 with err set. */
static int daemon_hello(const char *path, struct daemon_info *info, char *err, size_t errlen)
{
	static const char req[] = "{\"op\":\"version\",\"id\":\"bench\"}\n";
	char buf[4096];
	size_t len = 0, off = 0;
	int64_t deadline = now_ns() + (int64_t)(HELLO_TIMEOUT_S * NS_PER_S);
	int fd, ret = -1;
	char *nl = NULL;

	fd = connect_daemon(path);
	if (fd < 0) {
		snprintf(err, errlen, "cannot connect to %s: %s", path, strerror(-fd));
		return -1;
	}
	while (!nl) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int64_t left = deadline - now_ns();
		ssize_t r;

		if (off < sizeof(req) - 1)
			pfd.events |= POLLOUT;
		if (left <= 0) {
			snprintf(err, errlen, "no answer from %s to a version request within %.0f s",
				 path, HELLO_TIMEOUT_S);
			goto out;
		}
		if (poll(&pfd, 1, (int)(left / 1000000 + 1)) < 0) {
			if (errno == EINTR)
				continue;
			snprintf(err, errlen, "poll: %s", strerror(errno));
			goto out;
		}
		if (pfd.revents & POLLOUT) {
			r = write(fd, req + off, sizeof(req) - 1 - off);
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
			snprintf(err, errlen, "answer to the version request too long");
			goto out;
		}
	}
	{
		json_error_t jerr;
		json_t *root = json_loadb(buf, (size_t)(nl - buf), 0, &jerr);
		json_t *w;

		if (!json_is_object(root) || json_object_get(root, "error")) {
			snprintf(err, errlen, "unexpected answer to a version request: %.*s",
				 (int)(nl - buf), buf);
			json_decref(root);
			goto out;
		}
		copy_json_string(root, "daemon", info->daemon, sizeof(info->daemon));
		copy_json_string(root, "mtr_packet", info->mtr_packet, sizeof(info->mtr_packet));
		w = json_object_get(root, "workers");
		info->workers = json_is_integer(w) ? (long)json_integer_value(w) : -1;
		json_decref(root);
	}
	ret = 0;
out:
	close(fd);
	return ret;
}

/* Set up a pass of n probes; false when out of memory. */
static bool pass_init(struct pass *p, enum pass_kind kind, const char *key, long n,
		      long window, double rate)
{
	memset(p, 0, sizeof(*p));
	p->kind = kind;
	p->key = key;
	p->n = n;
	p->window = window;
	p->rate = rate;
	p->p50 = p->p99 = p->pmax = NAN;
	p->t_write = calloc((size_t)n, sizeof(*p->t_write));
	p->seen = calloc((size_t)n, sizeof(*p->seen));
	p->added = calloc((size_t)n, sizeof(*p->added));
	p->ring = calloc(RING_CAP, sizeof(*p->ring));
	return p->t_write && p->seen && p->added && p->ring;
}

/* Release what a pass owns. */
static void pass_free(struct pass *p)
{
	free(p->t_write);
	free(p->seen);
	free(p->added);
	free(p->ring);
	p->ring = NULL;
	p->t_write = NULL;
	p->seen = NULL;
	p->added = NULL;
}

/* Record that the pass could not complete, keeping the first reason. */
static void __attribute__((format(printf, 2, 3))) pass_fail(struct pass *p, const char *fmt, ...)
{
	va_list ap;

	if (p->failure[0])
		return;
	va_start(ap, fmt);
	vsnprintf(p->failure, sizeof(p->failure), fmt, ap);
	va_end(ap);
}

/* Count one more answer carrying result word w. */
static void count_word(struct pass *p, const char *w)
{
	int i;

	for (i = 0; i < p->nwords; i++) {
		if (!strcmp(p->words[i].word, w)) {
			p->words[i].count++;
			return;
		}
	}
	if (p->nwords == WORDS_MAX) {
		p->other_words++;
		return;
	}
	snprintf(p->words[p->nwords].word, WORD_LEN, "%s", w);
	p->words[p->nwords].count = 1;
	p->nwords++;
}

/* Account the answer for id with result word w read at time t; rtt_ms is
 * the round-trip time mtr-packet measured, NAN when none. */
static void record_answer(struct pass *p, long long id, const char *w, double rtt_ms, int64_t t)
{
	size_t i;

	if (id < 1 || id > p->sent) {
		p->unexpected++;
		return;
	}
	i = (size_t)(id - 1);
	if (p->seen[i]) {
		p->dups++;
		return;
	}
	p->seen[i] = 1;
	p->answered++;
	p->t_last_answer = t;
	count_word(p, w);
	if (strcmp(w, "reply")) {
		p->not_reply++;
		return;
	}
	p->replies++;
	p->t_last_reply = t;
	if (!isnan(rtt_ms) && p->t_write[i])
		p->added[p->nadded++] = (double)(t - p->t_write[i]) / 1e6 - rtt_ms;
}

/* Handle one answer line from the daemon, read at time t. */
static void daemon_line(struct pass *p, const char *line, size_t len, int64_t t)
{
	char word[WORD_LEN];
	json_error_t jerr;
	json_t *root, *id, *e, *tm;
	const char *s;
	double rtt_ms = NAN;

	if (len && line[len - 1] == '\r')
		len--;
	root = json_loadb(line, len, 0, &jerr);
	id = json_object_get(root, "id");
	if (!json_is_object(root) || !json_is_integer(id)) {
		p->unexpected++;
		json_decref(root);
		return;
	}
	e = json_object_get(root, "error");
	if (e) {
		s = json_string_value(json_object_get(e, "code"));
		snprintf(word, sizeof(word), "error:%s", s ? s : "?");
	} else {
		s = json_string_value(json_object_get(root, "result"));
		snprintf(word, sizeof(word), "%s", s ? s : "no-result");
		tm = json_object_get(root, "time_ms");
		if (json_is_number(tm))
			rtt_ms = json_number_value(tm);
	}
	record_answer(p, json_integer_value(id), word, rtt_ms, t);
	json_decref(root);
}

/* Handle one reply line from mtr-packet, read at time t:
 * "TOKEN WORD [NAME VALUE]...", with "round-trip-time USEC" on replies. */
static void direct_line(struct pass *p, const char *line, size_t len, int64_t t)
{
	char buf[DIRECT_LINE_MAX + 1];
	char *save = NULL, *tok, *word, *name, *val, *end;
	double rtt_ms = NAN;
	long long id;

	if (len > DIRECT_LINE_MAX) {
		p->unexpected++;
		return;
	}
	memcpy(buf, line, len);
	buf[len] = '\0';
	tok = strtok_r(buf, " \r", &save);
	word = strtok_r(NULL, " \r", &save);
	if (!tok || !word) {
		p->unexpected++;
		return;
	}
	errno = 0;
	id = strtoll(tok, &end, 10);
	if (errno || *end) {
		p->unexpected++;
		return;
	}
	while ((name = strtok_r(NULL, " \r", &save)) && (val = strtok_r(NULL, " \r", &save))) {
		if (!strcmp(name, "round-trip-time")) {
			double us = strtod(val, &end);

			if (!*end && end != val)
				rtt_ms = us / 1000.0;
		}
	}
	record_answer(p, id, word, rtt_ms, t);
}

/* Append the request line for id to buf (cap bytes); its length. */
static size_t format_request(const struct options *o, enum pass_kind kind, long id,
			     char *buf, size_t cap)
{
	int len;

	if (kind == PASS_DAEMON) {
		len = snprintf(buf, cap,
			       "{\"op\":\"probe\",\"id\":%ld,\"host\":\"%s\",\"timeout\":%d%s}\n",
			       id, o->target, PROBE_TIMEOUT_S,
			       strcmp(o->protocol, "icmp") ? ",\"protocol\":\"udp\"" : "");
	} else {
		len = snprintf(buf, cap,
			       "%ld send-probe ip-%d %s local-ip-%d %s protocol %s timeout %d\n",
			       id, o->ip_version, o->target, o->ip_version, o->local,
			       o->protocol, PROBE_TIMEOUT_S);
	}
	return len < 0 ? 0 : (size_t)len;
}

/* Run the pass's probes over wfd (requests) and rfd (answers), which may
 * be the same socket, until all are answered, the connection ends or the
 * deadline passes. */
static void run_pass(struct pass *p, const struct options *o, int wfd, int rfd, int64_t deadline)
{
	char *out = malloc(OUTBUF_SIZE);
	char *in = malloc(INBUF_SIZE);
	size_t out_off = 0, out_len = 0, in_len = 0;
	double cpu0 = cpu_seconds();

	p->ran = true;
	if (!out || !in) {
		pass_fail(p, "out of memory");
		goto done;
	}
	p->t_start = now_ns();
	while (p->answered < p->n) {
		struct pollfd pfd[2];
		struct timespec ts;
		int64_t now = now_ns(), wake = deadline;
		bool want_write;
		int nfd, ri = 0, wi;

		if (now >= deadline) {
			pass_fail(p, "overall timeout of %.0f s reached", o->timeout_s);
			break;
		}

		/* Format the requests the window and the pace allow. */
		if (out_off == out_len) {
			out_off = out_len = 0;
		} else if (OUTBUF_SIZE - out_len < REQ_LINE_MAX) {
			memmove(out, out + out_off, out_len - out_off);
			out_len -= out_off;
			out_off = 0;
		}
		while (p->sent < p->n && OUTBUF_SIZE - out_len >= REQ_LINE_MAX &&
		       p->sent - p->stamped < RING_CAP - 1) {
			size_t len;

			if (p->window > 0 && p->sent - p->answered >= p->window)
				break;
			if (p->rate > 0) {
				int64_t slot = p->t_start +
					       (int64_t)((double)p->sent * (double)NS_PER_S / p->rate);

				if (slot > now) {
					if (slot < wake)
						wake = slot;
					break;
				}
			}
			len = format_request(o, p->kind, p->sent + 1, out + out_len,
					     OUTBUF_SIZE - out_len);
			out_len += len;
			p->bytes_formatted += len;
			p->sent++;
			p->ring[p->sent % RING_CAP] = p->bytes_formatted;
		}

		/* Wait for room to write, answers to read, or the next slot. */
		want_write = out_len > out_off;
		pfd[0].fd = rfd;
		pfd[0].events = POLLIN;
		pfd[0].revents = 0;
		if (wfd == rfd) {
			if (want_write)
				pfd[0].events |= POLLOUT;
			nfd = 1;
			wi = 0;
		} else {
			pfd[1].fd = wfd;
			pfd[1].events = want_write ? POLLOUT : 0;
			pfd[1].revents = 0;
			nfd = 2;
			wi = 1;
		}
		ts.tv_sec = (wake - now) / NS_PER_S;
		ts.tv_nsec = (wake - now) % NS_PER_S;
		if (ppoll(pfd, (nfds_t)nfd, &ts, NULL) < 0) {
			if (errno == EINTR)
				continue;
			pass_fail(p, "poll: %s", strerror(errno));
			break;
		}

		/* Write; a line counts as sent when its last byte is written. */
		if (want_write && (pfd[wi].revents & (POLLOUT | POLLERR | POLLHUP))) {
			while (out_off < out_len) {
				int64_t t = now_ns();
				ssize_t w = write(wfd, out + out_off, out_len - out_off);

				if (w < 0) {
					if (errno == EINTR)
						continue;
					if (errno == EAGAIN || errno == EWOULDBLOCK)
						break;
					pass_fail(p, "write: %s", strerror(errno));
					goto done;
				}
				if (!p->t_first_write)
					p->t_first_write = t;
				t = now_ns();
				out_off += (size_t)w;
				p->bytes_written += (uint64_t)w;
				while (p->stamped < p->sent &&
				       p->ring[(p->stamped + 1) % RING_CAP] <= p->bytes_written) {
					p->t_write[p->stamped] = t;
					p->stamped++;
				}
			}
		} else if (!want_write && wi != ri && (pfd[wi].revents & POLLERR)) {
			pass_fail(p, "the reading end of the request pipe was closed");
			break;
		}

		/* Read once, then handle every complete line with the read time. */
		if (pfd[ri].revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t r = read(rfd, in + in_len, INBUF_SIZE - in_len);
			int64_t t = now_ns();
			char *s, *nl, *endp;

			if (r < 0) {
				if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
					continue;
				pass_fail(p, "read: %s", strerror(errno));
				break;
			}
			if (r == 0) {
				pass_fail(p, "%s closed the connection",
					  p->kind == PASS_DAEMON ? "the daemon" : "mtr-packet");
				break;
			}
			in_len += (size_t)r;
			s = in;
			endp = in + in_len;
			while ((nl = memchr(s, '\n', (size_t)(endp - s)))) {
				if (p->kind == PASS_DAEMON)
					daemon_line(p, s, (size_t)(nl - s), t);
				else
					direct_line(p, s, (size_t)(nl - s), t);
				s = nl + 1;
			}
			in_len = (size_t)(endp - s);
			memmove(in, s, in_len);
			if (in_len == INBUF_SIZE) {
				pass_fail(p, "an answer line is longer than %d bytes", INBUF_SIZE);
				break;
			}
		}
	}
done:
	p->cpu_s = cpu_seconds() - cpu0;
	free(out);
	free(in);
}

/* Compare two doubles for qsort. */
static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* The nearest-rank q-quantile of the n sorted values v. */
static double quantile(const double *v, long n, double q)
{
	long k = (long)ceil(q * (double)n);

	if (k < 1)
		k = 1;
	if (k > n)
		k = n;
	return v[k - 1];
}

/* Work out a finished pass's figures. */
static void pass_summarise(struct pass *p)
{
	p->complete = p->answered == p->n && !p->failure[0];
	p->missing = p->n - p->answered;
	if (p->t_first_write && p->t_last_answer > p->t_first_write) {
		p->wall_s = (double)(p->t_last_answer - p->t_first_write) / 1e9;
		p->pps = (double)p->answered / p->wall_s;
	}
	if (p->t_first_write && p->t_last_reply > p->t_first_write)
		p->reply_pps = (double)p->replies /
			       ((double)(p->t_last_reply - p->t_first_write) / 1e9);
	if (p->nadded > 0) {
		qsort(p->added, (size_t)p->nadded, sizeof(*p->added), cmp_double);
		p->p50 = quantile(p->added, p->nadded, 0.50);
		p->p99 = quantile(p->added, p->nadded, 0.99);
		p->pmax = p->added[p->nadded - 1];
	}
}

/* Probes lost in a pass: non-reply answers, missing answers, duplicates. */
static long pass_lost(const struct pass *p)
{
	return p->not_reply + p->missing + p->dups;
}

/* Run one daemon pass over a fresh connection. */
static void daemon_pass(struct pass *p, const struct options *o, int64_t deadline)
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

/* Grow a pipe's buffer; failures only cost speed. */
static void big_pipe(int fd)
{
	(void)fcntl(fd, F_SETPIPE_SZ, PIPE_SIZE);
}

/* Start mtr-packet with pipes on its stdin and stdout; 0, or -1 with the
 * reason in p. */
static int spawn_mtr_packet(struct pass *p, const char *path, pid_t *pid, int *wfd, int *rfd)
{
	posix_spawn_file_actions_t fa;
	char *argv[] = { (char *)path, NULL };
	int to_child[2], from_child[2], err;

	if (pipe2(to_child, O_CLOEXEC) < 0) {
		pass_fail(p, "pipe: %s", strerror(errno));
		return -1;
	}
	if (pipe2(from_child, O_CLOEXEC) < 0) {
		pass_fail(p, "pipe: %s", strerror(errno));
		close(to_child[0]);
		close(to_child[1]);
		return -1;
	}
	big_pipe(to_child[1]);
	big_pipe(from_child[0]);
	err = posix_spawn_file_actions_init(&fa);
	if (!err)
		err = posix_spawn_file_actions_adddup2(&fa, to_child[0], STDIN_FILENO);
	if (!err)
		err = posix_spawn_file_actions_adddup2(&fa, from_child[1], STDOUT_FILENO);
	if (!err) {
		err = posix_spawnp(pid, path, &fa, NULL, argv, environ);
		posix_spawn_file_actions_destroy(&fa);
	}
	close(to_child[0]);
	close(from_child[1]);
	if (err) {
		pass_fail(p, "cannot run %s: %s", path, strerror(err));
		close(to_child[1]);
		close(from_child[0]);
		return -1;
	}
	if (set_nonblock(to_child[1]) < 0 || set_nonblock(from_child[0]) < 0) {
		pass_fail(p, "fcntl: %s", strerror(errno));
		close(to_child[1]);
		close(from_child[0]);
		kill(*pid, SIGKILL);
		waitpid(*pid, NULL, 0);
		return -1;
	}
	*wfd = to_child[1];
	*rfd = from_child[0];
	return 0;
}

/* Let mtr-packet exit on stdin EOF, killing it if it is slow (it busy-loops
 * while probes are in flight) or the pass did not complete. */
static void reap_mtr_packet(pid_t pid, bool gentle)
{
	int waited = 0;

	while (gentle && waited < CHILD_EXIT_WAIT_MS) {
		pid_t r = waitpid(pid, NULL, WNOHANG);

		if (r == pid || (r < 0 && errno != EINTR))
			return;
		usleep(10000);
		waited += 10;
	}
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

/* Run the direct pass through one mtr-packet process of our own. */
static void direct_pass(struct pass *p, const struct options *o, int64_t deadline)
{
	pid_t pid;
	int wfd, rfd;

	if (spawn_mtr_packet(p, o->mtr_packet, &pid, &wfd, &rfd) < 0) {
		p->ran = true;
		return;
	}
	run_pass(p, o, wfd, rfd, deadline);
	close(wfd);
	close(rfd);
	reap_mtr_packet(pid, p->answered == p->n && !p->failure[0]);
}

/* The passes of one run and which is which; NULL for passes not run. */
struct run {
	struct pass passes[4];
	int npasses;
	struct pass *thr;    /* daemon, -w WINDOW */
	struct pass *lat;    /* daemon, --latency-window and --rate */
	struct pass *dir;    /* direct, --direct-window */
	struct pass *dirlat; /* direct, --direct-window and --rate (with --rate) */
};

/* Add a pass to the run and name it; false when out of memory. */
static bool add_pass(struct run *r, struct pass **slot, enum pass_kind kind, const char *key,
		     const struct options *o, long window, double rate)
{
	struct pass *p = &r->passes[r->npasses++];
	char pace[32] = "", tag[sizeof(p->tag)];
	bool ok;

	ok = pass_init(p, kind, key, o->n, window, rate);
	*slot = p;
	if (rate > 0)
		snprintf(pace, sizeof(pace), "rate=%g/s, ", rate);
	if (window > 0)
		snprintf(tag, sizeof(tag), "%swindow=%ld", pace, window);
	else
		snprintf(tag, sizeof(tag), "%swindow=all (pipelined)", pace);
	memcpy(p->tag, tag, sizeof(tag));
	snprintf(p->label, sizeof(p->label), "%s, %s",
		 kind == PASS_DAEMON ? "daemon" : "direct mtr-packet", tag);
	return ok;
}

/* Format a latency figure for the table: "12.345" or "-". */
static const char *fmt_ms(char *buf, size_t len, double v)
{
	if (isnan(v))
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%.3f", v);
	return buf;
}

/* Whether a pass measured throughput, not paced: it has a ratio. */
static bool has_ratio(const struct run *r, const struct pass *p)
{
	return p && p->ran && p->rate <= 0 && r->dir && r->dir->ran && r->dir->pps > 0;
}

/* Print the table of figures, the notes and the ratio line. */
static void print_table(const struct options *o, const struct daemon_info *info,
			const struct run *r)
{
	char a[32], b[32], c[32];
	const char *sep = " ";
	int i, j, w = 4;

	printf(PROG ": %ld %s probes per pass to %s (source %s), probe timeout %d s\n",
	       o->n, o->protocol, o->target, o->local, PROBE_TIMEOUT_S);
	if (o->run_daemon)
		printf("daemon: mtrprobed %s on %s, %ld workers, mtr-packet %s\n", info->daemon,
		       o->socket, info->workers, info->mtr_packet);
	if (o->run_direct)
		printf("direct: one %s process started by " PROG "\n", o->mtr_packet);
	for (i = 0; i < r->npasses; i++)
		if ((int)strlen(r->passes[i].label) > w)
			w = (int)strlen(r->passes[i].label);
	printf("\n%-*s %8s %9s %7s %9s %9s %9s %8s %9s %6s\n", w, "pass", "answered",
	       "probes/s", "lost", "added p50", "added p99", "added max", "wall s", "replies/s",
	       "cpu s");
	for (i = 0; i < r->npasses; i++) {
		const struct pass *p = &r->passes[i];

		if (!p->ran) {
			printf("%-*s %8s\n", w, p->label, "(not run)");
			continue;
		}
		printf("%-*s %8ld %9.1f %7ld %9s %9s %9s %8.3f %9.1f %6.2f%s\n", w, p->label,
		       p->answered, p->pps, pass_lost(p), fmt_ms(a, sizeof(a), p->p50),
		       fmt_ms(b, sizeof(b), p->p99), fmt_ms(c, sizeof(c), p->pmax), p->wall_s,
		       p->reply_pps, p->cpu_s, p->complete ? "" : "  INCOMPLETE");
	}
	printf("\nadded:    client-observed time (request written -> answer read,\n"
	       "          CLOCK_MONOTONIC) minus mtr-packet's round-trip time (time_ms,\n"
	       "          round-trip-time), in ms, over the probes answered \"reply\".\n"
	       "probes/s: answered / time from the first write to the last answer\n"
	       "          (wall s); a lost probe holds the last answer back by its timeout.\n"
	       "replies/s: replies / time from the first write to the last reply.\n"
	       "lost:     answers other than \"reply\" + missing answers + duplicated ids.\n"
	       "cpu s:    CPU time of " PROG " itself during the pass.\n");
	if (r->thr && r->thr->ran && r->thr->window == 0)
		printf("note: \"%s\" writes every request at once: its observed\n"
		       "      time includes time queued behind this client's own backlog, so its\n"
		       "      added latency is not the daemon's; see \"%s\".\n",
		       r->thr->label, r->lat->label);
	if (r->lat && r->lat->ran && r->lat->rate <= 0)
		printf("note: with a window of W and no --rate, the added latency includes time\n"
		       "      queued inside mtr-packet behind up to W probes: compare it with the\n"
		       "      direct line of the same window, or use --rate PPS.\n");
	if (r->dirlat && r->dirlat->ran)
		printf("note: \"%s\" is the measurement floor (pipes,\n"
		       "      parsing, mtr-packet's own work); the daemon's own share is the\n"
		       "      difference to \"%s\".\n", r->dirlat->label,
		       r->lat ? r->lat->label : "the daemon's paced line");
	if (r->dir && r->dir->ran)
		printf("note: direct: one mtr-packet, at most %ld probes in flight: mtr-packet 0.95\n"
		       "      loses replies when bursts exceed ~%ld in flight on loopback.\n",
		       r->dir->window, DIRECT_SAFE_WINDOW);
	for (i = 0; i < r->npasses; i++) {
		const struct pass *p = &r->passes[i];

		if (!p->ran)
			continue;
		if (p->failure[0])
			printf("INCOMPLETE \"%s\": %s; %ld of %ld answers missing\n", p->label,
			       p->failure, p->missing, p->n);
		if (pass_lost(p) == 0 && p->unexpected == 0)
			continue;
		printf("lost in \"%s\": missing %ld, duplicates %ld, unmatched lines %ld",
		       p->label, p->missing, p->dups, p->unexpected);
		for (j = 0; j < p->nwords; j++)
			if (strcmp(p->words[j].word, "reply"))
				printf(", %s %ld", p->words[j].word, p->words[j].count);
		if (p->other_words)
			printf(", other words %ld", p->other_words);
		printf("\n");
	}
	printf("ratio daemon/direct throughput:");
	if (!has_ratio(r, r->thr) && !has_ratio(r, r->lat))
		printf(" n/a");
	if (has_ratio(r, r->thr)) {
		printf("%s%.3f (%s)", sep, r->thr->pps / r->dir->pps, r->thr->tag);
		sep = ", ";
	}
	if (has_ratio(r, r->lat))
		printf("%s%.3f (%s)", sep, r->lat->pps / r->dir->pps, r->lat->tag);
	printf("\n");
}

/* A JSON number rounded to digits decimals, or null for NAN. */
static json_t *json_rounded(double v, int digits)
{
	double scale = pow(10.0, digits);

	return isnan(v) ? json_null() : json_real(round(v * scale) / scale);
}

/* One pass as a JSON object. */
static json_t *pass_json(const struct pass *p)
{
	json_t *o = json_object(), *words = json_object(), *lat = json_object();
	int j;

	for (j = 0; j < p->nwords; j++)
		json_object_set_new(words, p->words[j].word, json_integer(p->words[j].count));
	if (p->other_words)
		json_object_set_new(words, "other", json_integer(p->other_words));
	json_object_set_new(lat, "p50", json_rounded(p->p50, 3));
	json_object_set_new(lat, "p99", json_rounded(p->p99, 3));
	json_object_set_new(lat, "max", json_rounded(p->pmax, 3));
	json_object_set_new(lat, "samples", json_integer(p->nadded));
	json_object_set_new(o, "pass", json_string(p->key));
	json_object_set_new(o, "label", json_string(p->label));
	json_object_set_new(o, "ran", json_boolean(p->ran));
	json_object_set_new(o, "complete", json_boolean(p->complete));
	json_object_set_new(o, "failure", p->failure[0] ? json_string(p->failure) : json_null());
	json_object_set_new(o, "window", json_integer(p->window));
	json_object_set_new(o, "rate", p->rate > 0 ? json_real(p->rate) : json_null());
	json_object_set_new(o, "probes", json_integer(p->n));
	json_object_set_new(o, "sent", json_integer(p->sent));
	json_object_set_new(o, "answered", json_integer(p->answered));
	json_object_set_new(o, "replies", json_integer(p->replies));
	json_object_set_new(o, "lost", json_integer(pass_lost(p)));
	json_object_set_new(o, "not_reply", json_integer(p->not_reply));
	json_object_set_new(o, "missing", json_integer(p->missing));
	json_object_set_new(o, "duplicates", json_integer(p->dups));
	json_object_set_new(o, "unmatched_lines", json_integer(p->unexpected));
	json_object_set_new(o, "results", words);
	json_object_set_new(o, "wall_s", json_rounded(p->wall_s, 6));
	json_object_set_new(o, "probes_per_s", json_rounded(p->pps, 1));
	json_object_set_new(o, "replies_per_s", json_rounded(p->reply_pps, 1));
	json_object_set_new(o, "client_cpu_s", json_rounded(p->cpu_s, 3));
	json_object_set_new(o, "added_latency_ms", lat);
	return o;
}

/* Print everything as one JSON object; 0, or -1 when out of memory. */
static int print_json(const struct options *o, const struct daemon_info *info,
		      const struct run *r, bool complete)
{
	json_t *root = json_object(), *arr = json_array(), *notes = json_array();
	json_t *ratio = json_object(), *daemon = json_object();
	int i, ret = -1;

	if (!root || !arr || !notes || !ratio || !daemon) {
		json_decref(arr);
		json_decref(notes);
		json_decref(ratio);
		json_decref(daemon);
		goto out;
	}
	for (i = 0; i < r->npasses; i++)
		json_array_append_new(arr, pass_json(&r->passes[i]));
	if (has_ratio(r, r->thr))
		json_object_set_new(ratio, r->thr->key, json_rounded(r->thr->pps / r->dir->pps, 4));
	if (has_ratio(r, r->lat))
		json_object_set_new(ratio, r->lat->key, json_rounded(r->lat->pps / r->dir->pps, 4));
	json_array_append_new(notes, json_string(
		"added latency: client-observed time (request written -> answer read, "
		"CLOCK_MONOTONIC) minus mtr-packet's round-trip time, over replies"));
	if (r->thr && r->thr->ran && r->thr->window == 0)
		json_array_append_new(notes, json_string(
			"the pipelined daemon pass writes every request at once: its observed "
			"time includes queueing behind the client's own backlog"));
	if (r->lat && r->lat->ran && r->lat->rate <= 0)
		json_array_append_new(notes, json_string(
			"without --rate, windowed added latency includes queueing inside "
			"mtr-packet behind up to the window's probes"));
	if (r->dir && r->dir->ran)
		json_array_append_new(notes, json_string(
			"direct passes keep at most the direct window in flight: mtr-packet 0.95 "
			"loses replies when bursts exceed ~100 in flight on loopback"));
	if (o->run_daemon) {
		json_object_set_new(daemon, "socket", json_string(o->socket));
		json_object_set_new(daemon, "version", json_string(info->daemon));
		json_object_set_new(daemon, "workers", json_integer(info->workers));
		json_object_set_new(daemon, "mtr_packet", json_string(info->mtr_packet));
	} else {
		json_decref(daemon);
		daemon = json_null();
	}
	json_object_set_new(root, "target", json_string(o->target));
	json_object_set_new(root, "local_ip", json_string(o->local));
	json_object_set_new(root, "protocol", json_string(o->protocol));
	json_object_set_new(root, "probes", json_integer(o->n));
	json_object_set_new(root, "probe_timeout_s", json_integer(PROBE_TIMEOUT_S));
	json_object_set_new(root, "overall_timeout_s", json_real(o->timeout_s));
	json_object_set_new(root, "daemon", daemon);
	json_object_set_new(root, "mtr_packet",
			    o->run_direct ? json_string(o->mtr_packet) : json_null());
	json_object_set_new(root, "passes", arr);
	json_object_set_new(root, "ratio_daemon_direct", ratio);
	json_object_set_new(root, "notes", notes);
	json_object_set_new(root, "complete", json_boolean(complete));
	ret = json_dumpf(root, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER |
				       JSON_REAL_PRECISION(15));
	if (ret == 0 && putchar('\n') == EOF)
		ret = -1;
out:
	json_decref(root);
	return ret;
}

/* Run the passes the options ask for and report; the exit status. */
int main(int argc, char **argv)
{
	struct options o;
	struct daemon_info info;
	struct run r;
	char err[256];
	int64_t deadline;
	int i, ret;
	bool complete = true, ok = true;

	ret = parse_options(&o, argc, argv);
	if (ret == HELP_SHOWN)
		return EXIT_DONE;
	if (ret != EXIT_DONE)
		return ret;
	signal(SIGPIPE, SIG_IGN);
	memset(&info, 0, sizeof(info));
	memset(&r, 0, sizeof(r));

	deadline = now_ns() + (int64_t)(o.timeout_s * (double)NS_PER_S);
	if (o.run_daemon && daemon_hello(o.socket, &info, err, sizeof(err)) < 0) {
		fprintf(stderr, PROG ": %s\n", err);
		return EXIT_INCOMPLETE;
	}

	if (o.run_daemon) {
		ok &= add_pass(&r, &r.thr, PASS_DAEMON, "daemon_throughput", &o, o.window, 0);
		ok &= add_pass(&r, &r.lat, PASS_DAEMON, "daemon_latency", &o, o.latency_window,
			       o.rate);
	}
	if (o.run_direct) {
		ok &= add_pass(&r, &r.dir, PASS_DIRECT, "direct_throughput", &o,
			       o.direct_window, 0);
		if (o.rate > 0)
			ok &= add_pass(&r, &r.dirlat, PASS_DIRECT, "direct_latency", &o,
				       o.direct_window, o.rate);
	}
	if (!ok) {
		fprintf(stderr, PROG ": out of memory for %ld probes\n", o.n);
		for (i = 0; i < r.npasses; i++)
			pass_free(&r.passes[i]);
		return EXIT_INCOMPLETE;
	}

	for (i = 0; i < r.npasses && complete; i++) {
		struct pass *p = &r.passes[i];

		if (!o.json)
			fprintf(stderr, PROG ": running \"%s\" ...\n", p->label);
		if (p->kind == PASS_DAEMON)
			daemon_pass(p, &o, deadline);
		else
			direct_pass(p, &o, deadline);
		pass_summarise(p);
		complete = p->complete;
	}

	if (o.json)
		ret = print_json(&o, &info, &r, complete);
	else
		print_table(&o, &info, &r);
	for (i = 0; i < r.npasses; i++)
		pass_free(&r.passes[i]);
	if (ret < 0 || fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, PROG ": cannot write the report\n");
		return EXIT_INCOMPLETE;
	}
	return complete ? EXIT_DONE : EXIT_INCOMPLETE;
}
