/*
 * mtrprobe-bench: measure mtrprobed's throughput and the latency it adds,
 * side by side with one mtr-packet process driven directly.  Probes go to
 * loopback only (127.0.0.0/8 or ::1).  Not a test: it reports figures and
 * exits 0 once every pass completed, lost probes or not.
 *
 * Passes, in order (--passes picks some):
 *   1. daemon, throughput: N probes pipelined on one connection, at most
 *      WINDOW outstanding (0: all of them; the daemon applies back-pressure).
 *   2. daemon, latency: the same with a small window (and --rate if given),
 *      so that the observed time is not dominated by the client's backlog.
 *   3. direct: N probes written into one mtr-packet process, at most 100
 *      in flight.
 *   4. direct, latency (with --rate): the same paced, the measurement floor.
 * "Added latency" is, per probe that got a reply, the time from the write
 * of its request to the read of its answer (CLOCK_MONOTONIC) minus the
 * round-trip time mtr-packet measured.
 *
 * With --targets N the probes go round-robin to N distinct addresses spread
 * over 127.0.0.0/8 (--print-targets lists them, for fping -f).
 *
 * Two memory modes measure the daemon's resident set (VmRSS of --daemon-pid)
 * instead of running passes:
 *   --hold-probes N        N probes in flight on one connection, to a target
 *                          that does not answer (a documentation address that
 *                          the caller routes into a network namespace of its
 *                          own, where echo requests are ignored);
 *   --hold-connections N   N idle connections, first N that never wrote, then
 *                          N more that each had one version request answered.
 * The daemon's stats request tells when it holds them all.
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
#define PROBE_TIMEOUT_DEFAULT 5L
#define PROBE_TIMEOUT_MAX 3600L
/* --targets: the spread of addresses, first and last usable of 127/8. */
#define SPREAD_FIRST 0x7f000101UL /* 127.0.1.1 */
#define SPREAD_LAST 0x7ffffffeUL  /* 127.255.255.254 */
#define TARGETS_MAX 1000000L
/* Memory modes: how long the daemon gets to take in what we hold, in s. */
#define HOLD_WAIT_S 60.0
/* Memory modes: pause between stats requests while waiting, in ms. */
#define HOLD_POLL_MS 50
/* Memory modes: at most this many connections (fds of our own). */
#define HOLD_CONNS_MAX 100000L
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
	long ntargets;            /* --targets, else 1 (the --target) */
	char (*targets)[INET6_ADDRSTRLEN]; /* ntargets addresses */
	char (*locals)[INET6_ADDRSTRLEN];  /* their source addresses */
	long probe_timeout;       /* --probe-timeout, seconds */
	long paced_n;             /* --paced-n: probes of the paced passes */
	double timeout_s;         /* --timeout, overall */
	unsigned passes;          /* PASS_BIT_* to run */
	bool run_daemon;          /* some daemon pass runs */
	bool run_direct;          /* some direct pass runs */
	bool json;
	bool summary;             /* --summary: one line per pass */
	bool print_targets;       /* --print-targets */
	long hold_probes;         /* --hold-probes, 0 = not this mode */
	long hold_conns;          /* --hold-connections, 0 = not this mode */
	long daemon_pid;          /* --daemon-pid, for VmRSS */
};

/* The passes --passes can name. */
enum {
	PASS_BIT_THROUGHPUT = 1u << 0,
	PASS_BIT_LATENCY = 1u << 1,
	PASS_BIT_DIRECT = 1u << 2,
	PASS_BIT_DIRECT_LATENCY = 1u << 3,
};
static const struct {
	const char *name;
	unsigned bit;
} pass_names[] = {
	{ "throughput", PASS_BIT_THROUGHPUT },
	{ "latency", PASS_BIT_LATENCY },
	{ "direct", PASS_BIT_DIRECT },
	{ "direct-latency", PASS_BIT_DIRECT_LATENCY },
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
		"       [--rate PPS] [--paced-n N] [--latency-window W] [--direct-window W]\n"
		"       [--mtr-packet PATH] [--target ADDR | --targets N] [--probe-timeout SEC]\n"
		"       [--timeout SEC] [--passes LIST | --direct-only | --daemon-only]\n"
		"       [--json | --summary]\n"
		"   or: " PROG " --print-targets --targets N\n"
		"   or: " PROG " -s SOCKET --daemon-pid PID --hold-probes N --target ADDR\n"
		"       [--probe-timeout SEC]\n"
		"   or: " PROG " -s SOCKET --daemon-pid PID --hold-connections N\n"
		"Measure mtrprobed's throughput and added latency against one mtr-packet\n"
		"process driven directly.  Probes go to loopback only.\n"
		"\n"
		"  -s SOCKET           daemon socket (default $" MP_SOCKET_ENV ", else\n"
		"                      " MP_DEFAULT_SOCKET ")\n"
		"  -n N                probes per pass (default %ld)\n"
		"  -w WINDOW           throughput pass: most requests outstanding on the\n"
		"                      connection (default 0: all N at once)\n"
		"  --latency-window W  latency pass: most outstanding (default %ld)\n"
		"  --rate PPS          latency pass: also pace requests at PPS per second,\n"
		"                      and add a paced direct pass (the floor)\n"
		"  --paced-n N         probes in the paced passes (default: -n)\n"
		"  --direct-window W   direct pass: most in flight in mtr-packet (default %ld)\n"
		"  --protocol P        icmp (default) or udp\n"
		"  --mtr-packet PATH   mtr-packet for the direct pass (default $MTR_PACKET,\n"
		"                      else mtr-packet from PATH)\n"
		"  --target ADDR       127.x.x.x or ::1 (default 127.0.0.1)\n"
		"  --targets N         N distinct addresses from 127.0.1.1 spread evenly over\n"
		"                      127.0.0.0/8, probed round-robin (1 to %ld)\n"
		"  --print-targets     print the --targets addresses, one a line, and exit\n"
		"  --probe-timeout SEC each probe's timeout (default %ld)\n"
		"  --timeout SEC       give up on the whole run after SEC s (default %.0f)\n"
		"  --passes LIST       comma-separated passes to run, of: throughput,\n"
		"                      latency, direct, direct-latency (default: the first\n"
		"                      three, and direct-latency with --rate)\n"
		"  --direct-only       only the direct passes\n"
		"  --daemon-only       only the daemon passes\n"
		"  --json              print one JSON object instead of a table\n"
		"  --summary           print one line per pass instead of a table:\n"
		"                      pass KEY probes answered lost probes/s p50 p99 max wall_s\n"
		"  --daemon-pid PID    memory modes: the daemon whose VmRSS is read\n"
		"  --hold-probes N     memory mode: hold N probes in flight on one connection\n"
		"                      to --target, which may also be an address of\n"
		"                      192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24 or\n"
		"                      2001:db8::/32 when run in a network namespace with\n"
		"                      no default route and an address of that network\n"
		"                      (one of your own, where the target does not answer,\n"
		"                      as run-all.sh makes); report VmRSS before and with\n"
		"  --hold-connections N memory mode: open N idle connections, then N more\n"
		"                      that each had a version request answered; report\n"
		"                      VmRSS before and with each set\n"
		"  -h, --help          print this help\n"
		"\n"
		"Exit status: 0 when every pass completed (even with lost probes),\n"
		"1 when one did not (timeout, lost connection, cannot start), 2 on usage.\n",
		N_DEFAULT, LATENCY_WINDOW_DEFAULT, DIRECT_WINDOW_DEFAULT, TARGETS_MAX,
		PROBE_TIMEOUT_DEFAULT, OVERALL_TIMEOUT_DEFAULT);
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

/* Find the source address for target (IP version ipv) as the daemon does:
 * connect a UDP socket to it and read the address back into local
 * (INET6_ADDRSTRLEN bytes).  0 or -errno. */
static int route_source(const char *target, int ipv, char *local)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd, ret = 0;

	memset(&ss, 0, sizeof(ss));
	if (ipv == 4) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(9);
		inet_pton(AF_INET, target, &sin->sin_addr);
		sl = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(9);
		inet_pton(AF_INET6, target, &sin6->sin6_addr);
		sl = sizeof(*sin6);
	}
	fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&ss, sl) < 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &sl) < 0) {
		ret = -errno;
	} else if (ipv == 4) {
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, local,
			  INET6_ADDRSTRLEN);
	} else {
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, local,
			  INET6_ADDRSTRLEN);
	}
	close(fd);
	return ret;
}

/* What kind of address a target is. */
enum target_kind {
	TARGET_BAD,
	TARGET_LOOPBACK,      /* 127.0.0.0/8, ::1 */
	TARGET_DOCUMENTATION, /* 192.0.2/24, 198.51.100/24, 203.0.113/24, 2001:db8::/32 */
};

/* The kind of the literal s, setting *ipv to 4 or 6. */
static enum target_kind target_kind(const char *s, int *ipv)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (inet_pton(AF_INET, s, &a4) == 1) {
		uint32_t a = ntohl(a4.s_addr);

		*ipv = 4;
		if ((a >> 24) == 127)
			return TARGET_LOOPBACK;
		if ((a >> 8) == 0xc00002 || (a >> 8) == 0xc63364 || (a >> 8) == 0xcb0071)
			return TARGET_DOCUMENTATION;
		return TARGET_BAD;
	}
	if (inet_pton(AF_INET6, s, &a6) == 1) {
		*ipv = 6;
		if (IN6_IS_ADDR_LOOPBACK(&a6))
			return TARGET_LOOPBACK;
		if (a6.s6_addr[0] == 0x20 && a6.s6_addr[1] == 0x01 && a6.s6_addr[2] == 0x0d &&
		    a6.s6_addr[3] == 0xb8)
			return TARGET_DOCUMENTATION;
	}
	return TARGET_BAD;
}

/* Whether a and b are in the same documentation network (192.0.2.0/24,
 * 198.51.100.0/24, 203.0.113.0/24 or 2001:db8::/32). */
static bool same_documentation_net(const char *a, const char *b)
{
	int va, vb;
	unsigned char na[16], nb[16];

	if (target_kind(a, &va) != TARGET_DOCUMENTATION ||
	    target_kind(b, &vb) != TARGET_DOCUMENTATION || va != vb)
		return false;
	if (inet_pton(va == 4 ? AF_INET : AF_INET6, a, na) != 1 ||
	    inet_pton(vb == 4 ? AF_INET : AF_INET6, b, nb) != 1)
		return false;
	return !memcmp(na, nb, va == 4 ? 3 : 4);
}

/* Whether this network namespace has a default route (IPv4 or IPv6), or
 * its routes cannot be read. */
static bool has_default_route(void)
{
	char line[512], dest[64], mask[64], iface[64];
	bool found = false;
	FILE *f;

	f = fopen("/proc/net/route", "re");
	if (!f)
		return true;
	while (!found && fgets(line, sizeof(line), f))
		if (sscanf(line, "%63s %63s %*s %*s %*s %*s %*s %63s", iface, dest, mask) == 3 &&
		    !strcmp(dest, "00000000") && !strcmp(mask, "00000000"))
			found = true;
	fclose(f);
	f = fopen("/proc/net/ipv6_route", "re");
	if (!f)
		return found;
	while (!found && fgets(line, sizeof(line), f))
		if (sscanf(line, "%63s %63s", dest, mask) == 2 &&
		    !strcmp(dest, "00000000000000000000000000000000") && !strcmp(mask, "00") &&
		    !strstr(line, " lo\n"))
			found = true;
	fclose(f);
	return found;
}

/* Fill o->targets: the one --target, or --targets N spread over 127/8:
 * address i is 127.0.1.1 + i * ((127.255.255.254 - 127.0.1.1) / N).
 * false when out of memory. */
static bool make_targets(struct options *o, long n)
{
	unsigned long stride = n > 1 ? (SPREAD_LAST - SPREAD_FIRST) / (unsigned long)n : 0;
	long i;

	o->targets = calloc((size_t)n, sizeof(*o->targets));
	o->locals = calloc((size_t)n, sizeof(*o->locals));
	if (!o->targets || !o->locals)
		return false;
	o->ntargets = n;
	if (n == 1 && o->target) {
		snprintf(o->targets[0], sizeof(o->targets[0]), "%s", o->target);
		return true;
	}
	for (i = 0; i < n; i++) {
		struct in_addr a;

		a.s_addr = htonl((uint32_t)(SPREAD_FIRST + (unsigned long)i * stride));
		inet_ntop(AF_INET, &a, o->targets[i], sizeof(o->targets[i]));
	}
	return true;
}

/* Parse a --passes list into *bits; false if a name is unknown. */
static bool parse_passes(const char *s, unsigned *bits)
{
	char buf[256], *save = NULL, *tok;
	size_t i;

	if (strlen(s) >= sizeof(buf))
		return false;
	memcpy(buf, s, strlen(s) + 1);
	*bits = 0;
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		for (i = 0; i < sizeof(pass_names) / sizeof(pass_names[0]); i++)
			if (!strcmp(tok, pass_names[i].name))
				break;
		if (i == sizeof(pass_names) / sizeof(pass_names[0]))
			return false;
		*bits |= pass_names[i].bit;
	}
	return *bits != 0;
}

/* Fill o from the command line; EXIT_DONE to go on, HELP_SHOWN, or an
 * exit status. */
static int parse_options(struct options *o, int argc, char **argv)
{
	enum {
		OPT_PROTOCOL = 256, OPT_RATE, OPT_MTR_PACKET, OPT_DIRECT_ONLY,
		OPT_DAEMON_ONLY, OPT_JSON, OPT_TARGET, OPT_TIMEOUT,
		OPT_LATENCY_WINDOW, OPT_DIRECT_WINDOW, OPT_TARGETS, OPT_PRINT_TARGETS,
		OPT_PROBE_TIMEOUT, OPT_PACED_N, OPT_PASSES, OPT_SUMMARY, OPT_DAEMON_PID,
		OPT_HOLD_PROBES, OPT_HOLD_CONNS,
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
		{ "targets", required_argument, NULL, OPT_TARGETS },
		{ "print-targets", no_argument, NULL, OPT_PRINT_TARGETS },
		{ "probe-timeout", required_argument, NULL, OPT_PROBE_TIMEOUT },
		{ "paced-n", required_argument, NULL, OPT_PACED_N },
		{ "passes", required_argument, NULL, OPT_PASSES },
		{ "summary", no_argument, NULL, OPT_SUMMARY },
		{ "daemon-pid", required_argument, NULL, OPT_DAEMON_PID },
		{ "hold-probes", required_argument, NULL, OPT_HOLD_PROBES },
		{ "hold-connections", required_argument, NULL, OPT_HOLD_CONNS },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool direct_only = false, daemon_only = false, target_given = false;
	enum target_kind kind = TARGET_LOOPBACK;
	unsigned passes = 0;
	long ntargets = 0;
	double paced;
	const char *env;
	int c, ret, modes;
	long i;

	memset(o, 0, sizeof(*o));
	o->n = N_DEFAULT;
	o->latency_window = LATENCY_WINDOW_DEFAULT;
	o->direct_window = DIRECT_WINDOW_DEFAULT;
	o->protocol = "icmp";
	o->target = "127.0.0.1";
	o->timeout_s = OVERALL_TIMEOUT_DEFAULT;
	o->probe_timeout = PROBE_TIMEOUT_DEFAULT;

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
		case OPT_PACED_N:
			if (!parse_long(optarg, 1, N_MAX, &o->paced_n)) {
				fprintf(stderr, PROG ": --paced-n: must be an integer from 1 to %ld\n",
					N_MAX);
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
		case OPT_PASSES:
			if (!parse_passes(optarg, &passes)) {
				fprintf(stderr, PROG ": --passes: a comma-separated list of throughput, "
					"latency, direct, direct-latency\n");
				return EXIT_USAGE;
			}
			break;
		case OPT_JSON:
			o->json = true;
			break;
		case OPT_SUMMARY:
			o->summary = true;
			break;
		case OPT_TARGET:
			o->target = optarg;
			target_given = true;
			break;
		case OPT_TARGETS:
			if (!parse_long(optarg, 1, TARGETS_MAX, &ntargets)) {
				fprintf(stderr, PROG ": --targets: must be an integer from 1 to %ld\n",
					TARGETS_MAX);
				return EXIT_USAGE;
			}
			break;
		case OPT_PRINT_TARGETS:
			o->print_targets = true;
			break;
		case OPT_PROBE_TIMEOUT:
			if (!parse_long(optarg, 1, PROBE_TIMEOUT_MAX, &o->probe_timeout)) {
				fprintf(stderr, PROG ": --probe-timeout: must be an integer from 1 to %ld\n",
					PROBE_TIMEOUT_MAX);
				return EXIT_USAGE;
			}
			break;
		case OPT_TIMEOUT:
			if (!parse_double(optarg, 1.0, 86400.0, &o->timeout_s)) {
				fprintf(stderr, PROG ": --timeout: must be a number of seconds from 1 to 86400\n");
				return EXIT_USAGE;
			}
			break;
		case OPT_DAEMON_PID:
			if (!parse_long(optarg, 1, INT_MAX, &o->daemon_pid)) {
				fprintf(stderr, PROG ": --daemon-pid: must be a process id\n");
				return EXIT_USAGE;
			}
			break;
		case OPT_HOLD_PROBES:
			if (!parse_long(optarg, 1, N_MAX, &o->hold_probes)) {
				fprintf(stderr, PROG ": --hold-probes: must be an integer from 1 to %ld\n",
					N_MAX);
				return EXIT_USAGE;
			}
			break;
		case OPT_HOLD_CONNS:
			if (!parse_long(optarg, 1, HOLD_CONNS_MAX, &o->hold_conns)) {
				fprintf(stderr, PROG ": --hold-connections: must be an integer from 1 to %ld\n",
					HOLD_CONNS_MAX);
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
	modes = (o->print_targets ? 1 : 0) + (o->hold_probes ? 1 : 0) + (o->hold_conns ? 1 : 0);
	if (modes > 1) {
		fprintf(stderr, PROG ": --print-targets, --hold-probes and --hold-connections "
			"exclude each other\n");
		return EXIT_USAGE;
	}
	if (direct_only + daemon_only + (passes != 0) > 1) {
		fprintf(stderr, PROG ": --passes, --direct-only and --daemon-only exclude each other\n");
		return EXIT_USAGE;
	}
	if (o->json && o->summary) {
		fprintf(stderr, PROG ": --json and --summary exclude each other\n");
		return EXIT_USAGE;
	}
	if (ntargets && target_given) {
		fprintf(stderr, PROG ": --target and --targets exclude each other\n");
		return EXIT_USAGE;
	}
	if (o->print_targets && !ntargets) {
		fprintf(stderr, PROG ": --print-targets needs --targets N\n");
		return EXIT_USAGE;
	}
	if ((o->hold_probes || o->hold_conns) && !o->daemon_pid) {
		fprintf(stderr, PROG ": the memory modes need --daemon-pid PID\n");
		return EXIT_USAGE;
	}
	if (!passes) {
		passes = PASS_BIT_THROUGHPUT | PASS_BIT_LATENCY | PASS_BIT_DIRECT;
		if (o->rate > 0)
			passes |= PASS_BIT_DIRECT_LATENCY;
		if (direct_only)
			passes &= PASS_BIT_DIRECT | PASS_BIT_DIRECT_LATENCY;
		if (daemon_only)
			passes &= PASS_BIT_THROUGHPUT | PASS_BIT_LATENCY;
	}
	if ((passes & PASS_BIT_DIRECT_LATENCY) && o->rate <= 0) {
		fprintf(stderr, PROG ": --passes direct-latency needs --rate PPS\n");
		return EXIT_USAGE;
	}
	o->passes = passes;
	o->run_daemon = (passes & (PASS_BIT_THROUGHPUT | PASS_BIT_LATENCY)) != 0;
	o->run_direct = (passes & (PASS_BIT_DIRECT | PASS_BIT_DIRECT_LATENCY)) != 0;
	if (o->hold_conns)
		o->run_direct = false;
	if (!o->paced_n)
		o->paced_n = o->n;
	if (ntargets) {
		o->ip_version = 4;
		o->target = NULL;
	} else {
		kind = target_kind(o->target, &o->ip_version);
		if (kind == TARGET_BAD || (kind == TARGET_DOCUMENTATION && !o->hold_probes)) {
			fprintf(stderr, PROG ": --target: only 127.x.x.x or ::1 allowed%s, not '%s'\n",
				o->hold_probes ? " (or a documentation address)" : "", o->target);
			return EXIT_USAGE;
		}
		ntargets = 1;
	}
	/* Each paced pass takes N / PPS, plus a probe timeout if one is lost. */
	paced = ((passes & PASS_BIT_LATENCY) ? 1.0 : 0.0) +
		((passes & PASS_BIT_DIRECT_LATENCY) ? 1.0 : 0.0);
	paced *= (double)o->paced_n / (o->rate > 0 ? o->rate : 1.0) + (double)o->probe_timeout + 1;
	if (o->rate > 0 && !o->hold_probes && !o->hold_conns && !o->print_targets &&
	    paced >= o->timeout_s) {
		fprintf(stderr, PROG ": --rate: the paced passes of %ld probes at %g/s need up "
			"to %.0f s, more than the overall --timeout of %.0f s; lower --paced-n or "
			"raise --timeout\n", o->paced_n, o->rate, paced, o->timeout_s);
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
	if (!make_targets(o, ntargets)) {
		fprintf(stderr, PROG ": out of memory for %ld targets\n", ntargets);
		return EXIT_INCOMPLETE;
	}
	if (!o->target)
		o->target = o->targets[0];
	if (o->print_targets || o->hold_conns)
		return EXIT_DONE;
	for (i = 0; i < o->ntargets; i++) {
		ret = route_source(o->targets[i], o->ip_version, o->locals[i]);
		if (ret < 0) {
			fprintf(stderr, PROG ": no route to %s: %s\n", o->targets[i], strerror(-ret));
			return EXIT_INCOMPLETE;
		}
	}
	memcpy(o->local, o->locals[0], sizeof(o->local));
	if (kind == TARGET_DOCUMENTATION &&
	    (has_default_route() || !same_documentation_net(o->target, o->local))) {
		/* Only a namespace of the caller's own, without a way off the
		 * machine and with an address in the target's documentation
		 * network, may carry these probes. */
		fprintf(stderr, PROG ": --target %s: only inside a network namespace without a "
			"default route, with an address of the target's documentation network "
			"(here: source %s): see run-all.sh\n", o->target, o->local);
		return EXIT_USAGE;
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

/* Write the request line req on a fresh connection to path and parse the
 * one-line answer into *out (an object without "error"); 0, or -1 with err
 * set. */
static int daemon_ask(const char *path, const char *req, json_t **out, char *err,
		      size_t errlen)
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
	{
		json_error_t jerr;
		json_t *root = json_loadb(buf, (size_t)(nl - buf), 0, &jerr);

		if (!json_is_object(root) || json_object_get(root, "error")) {
			snprintf(err, errlen, "unexpected answer to %.40s: %.*s", req,
				 (int)(nl - buf), buf);
			json_decref(root);
			goto out;
		}
		*out = root;
	}
	ret = 0;
out:
	close(fd);
	return ret;
}

/* Ask the daemon for its version over a fresh connection, so that an
 * absent daemon is reported before any pass.  0, or -1 with err set. */
static int daemon_hello(const char *path, struct daemon_info *info, char *err, size_t errlen)
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
	long t = (id - 1) % o->ntargets;
	int len;

	if (kind == PASS_DAEMON) {
		len = snprintf(buf, cap,
			       "{\"op\":\"probe\",\"id\":%ld,\"host\":\"%s\",\"timeout\":%ld%s}\n",
			       id, o->targets[t], o->probe_timeout,
			       strcmp(o->protocol, "icmp") ? ",\"protocol\":\"udp\"" : "");
	} else {
		len = snprintf(buf, cap,
			       "%ld send-probe ip-%d %s local-ip-%d %s protocol %s timeout %ld\n",
			       id, o->ip_version, o->targets[t], o->ip_version, o->locals[t],
			       o->protocol, o->probe_timeout);
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

	ok = pass_init(p, kind, key, rate > 0 ? o->paced_n : o->n, window, rate);
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

	if (o->ntargets > 1)
		printf(PROG ": %ld %s probes per pass (%ld per paced pass), round-robin to %ld "
		       "targets %s ... %s (source %s), probe timeout %ld s\n", o->n, o->protocol,
		       o->paced_n, o->ntargets, o->targets[0], o->targets[o->ntargets - 1], o->local,
		       o->probe_timeout);
	else
		printf(PROG ": %ld %s probes per pass (%ld per paced pass) to %s (source %s), "
		       "probe timeout %ld s\n", o->n, o->protocol, o->paced_n, o->target, o->local,
		       o->probe_timeout);
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
		       r->thr->label, r->lat ? r->lat->label : "a pass with a window");
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
	json_object_set_new(root, "targets", json_integer(o->ntargets));
	json_object_set_new(root, "last_target", json_string(o->targets[o->ntargets - 1]));
	json_object_set_new(root, "local_ip", json_string(o->local));
	json_object_set_new(root, "protocol", json_string(o->protocol));
	json_object_set_new(root, "probes", json_integer(o->n));
	json_object_set_new(root, "paced_probes", json_integer(o->paced_n));
	json_object_set_new(root, "probe_timeout_s", json_integer(o->probe_timeout));
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

/* Sleep for ms milliseconds. */
static void sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* The resident set (VmRSS) of process pid in kB, or -1. */
static long vmrss_kb(long pid)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/status", pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/* The counters of the daemon's stats answer that the memory modes use. */
struct daemon_stats {
	long long started;   /* probes.started */
	long long completed; /* probes.completed */
	long long in_flight; /* probes.in_flight: out at a worker */
	long long queued;    /* probes.queued: waiting for a worker */
	long long connected; /* clients.connected, the stats connection included */
	long long workers;   /* workers.configured */
	long long alive;     /* workers.alive */
};

/* An integer member of an object inside root, or 0. */
static long long stat_member(json_t *root, const char *obj, const char *key)
{
	return (long long)json_integer_value(json_object_get(json_object_get(root, obj), key));
}

/* Ask the daemon for its stats; 0, or -1 with err set. */
static int daemon_stats(const char *path, struct daemon_stats *st, char *err, size_t errlen)
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
static int daemon_settled(const char *path, struct daemon_stats *st)
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
static bool drain_answers(int fd, long *lines)
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

/* Print a memory figure: the line run-all.sh reads, then its meaning. */
static void print_memory(const char *what, long count, long rss0, long rss1)
{
	long long delta = ((long long)rss1 - rss0) * 1024;

	printf("memory %s count %ld rss_before_kB %ld rss_with_kB %ld delta_bytes %lld "
	       "bytes_each %.0f\n", what, count, rss0, rss1, delta, (double)delta / (double)count);
}

/* --hold-probes: N probes in flight to a silent target on one connection;
 * the daemon's VmRSS before and while it holds them.  An exit status. */
static int hold_probes(const struct options *o)
{
	struct daemon_stats st0, st;
	char err[256], line[REQ_LINE_MAX];
	long n = o->hold_probes, sent = 0, answers = 0, rss0, rss1;
	size_t off = 0, len = 0;
	int64_t deadline;
	double wait_s = HOLD_WAIT_S;
	int fd;

	if ((double)o->probe_timeout / 2 < wait_s)
		wait_s = (double)o->probe_timeout / 2;
	if (daemon_settled(o->socket, &st0) < 0)
		return EXIT_INCOMPLETE;
	rss0 = vmrss_kb(o->daemon_pid);
	if (rss0 < 0) {
		fprintf(stderr, PROG ": cannot read VmRSS of process %ld\n", o->daemon_pid);
		return EXIT_INCOMPLETE;
	}
	fd = connect_daemon(o->socket);
	if (fd < 0) {
		fprintf(stderr, PROG ": cannot connect to %s: %s\n", o->socket, strerror(-fd));
		return EXIT_INCOMPLETE;
	}
	/* Write the N requests, reading any (early) answers meanwhile. */
	deadline = now_ns() + (int64_t)(wait_s * (double)NS_PER_S);
	while (sent < n || off < len) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN | POLLOUT };

		if (now_ns() >= deadline) {
			fprintf(stderr, PROG ": the daemon took only %ld of %ld requests in %.0f s\n",
				sent, n, wait_s);
			close(fd);
			return EXIT_INCOMPLETE;
		}
		if (off == len) {
			len = format_request(o, PASS_DAEMON, sent + 1, line, sizeof(line));
			off = 0;
			sent++;
		}
		if (poll(&pfd, 1, 100) < 0 && errno != EINTR)
			break;
		if ((pfd.revents & (POLLIN | POLLHUP | POLLERR)) && !drain_answers(fd, &answers)) {
			fprintf(stderr, PROG ": the daemon closed the connection\n");
			close(fd);
			return EXIT_INCOMPLETE;
		}
		if (pfd.revents & POLLOUT) {
			ssize_t w = write(fd, line + off, len - off);

			if (w > 0)
				off += (size_t)w;
			else if (w < 0 && errno != EAGAIN && errno != EINTR)
				break;
		}
	}
	/* Wait until the daemon has read them all and answered none. */
	for (;;) {
		long long held;

		if (daemon_stats(o->socket, &st, err, sizeof(err)) < 0) {
			fprintf(stderr, PROG ": %s\n", err);
			close(fd);
			return EXIT_INCOMPLETE;
		}
		held = (st.started - st0.started) - (st.completed - st0.completed);
		if (held >= n)
			break;
		if (now_ns() >= deadline || st.completed > st0.completed) {
			fprintf(stderr, PROG ": the daemon holds %lld of %ld probes (%lld answered) "
				"after %.0f s\n", held, n, st.completed - st0.completed, wait_s);
			close(fd);
			return EXIT_INCOMPLETE;
		}
		sleep_ms(HOLD_POLL_MS);
	}
	rss1 = vmrss_kb(o->daemon_pid);
	(void)drain_answers(fd, &answers);
	if (daemon_stats(o->socket, &st, err, sizeof(err)) < 0 || answers ||
	    st.completed != st0.completed) {
		fprintf(stderr, PROG ": %ld probes were answered while held: the target is not "
			"silent\n", answers);
		close(fd);
		return EXIT_INCOMPLETE;
	}
	print_memory("probes", n, rss0, rss1);
	printf("held %ld probes to %s (timeout %ld s) on one connection: %lld out at workers, "
	       "%lld queued in the daemon, 0 answered\n", n, o->target, o->probe_timeout,
	       st.in_flight, st.queued);
	close(fd);
	return fflush(stdout) == 0 ? EXIT_DONE : EXIT_INCOMPLETE;
}

/* Open n connections into fds; with ask, each gets a version request and
 * its answer is read.  0, or -1 after a message. */
static int open_idle(const struct options *o, int *fds, long n, bool ask)
{
	static const char req[] = "{\"op\":\"version\",\"id\":\"idle\"}\n";
	long i;

	for (i = 0; i < n; i++) {
		char buf[512];
		size_t got = 0;

		fds[i] = connect_daemon(o->socket);
		if (fds[i] < 0) {
			fprintf(stderr, PROG ": connection %ld: cannot connect to %s: %s\n", i + 1,
				o->socket, strerror(-fds[i]));
			return -1;
		}
		if (!ask)
			continue;
		if (write(fds[i], req, sizeof(req) - 1) != (ssize_t)(sizeof(req) - 1)) {
			fprintf(stderr, PROG ": connection %ld: write: %s\n", i + 1, strerror(errno));
			return -1;
		}
		while (!memchr(buf, '\n', got)) {
			struct pollfd pfd = { .fd = fds[i], .events = POLLIN };
			ssize_t r;

			if (poll(&pfd, 1, (int)(HELLO_TIMEOUT_S * 1000)) <= 0) {
				fprintf(stderr, PROG ": connection %ld: no answer\n", i + 1);
				return -1;
			}
			r = read(fds[i], buf + got, sizeof(buf) - got);
			if (r <= 0 && !(r < 0 && (errno == EAGAIN || errno == EINTR))) {
				fprintf(stderr, PROG ": connection %ld: closed\n", i + 1);
				return -1;
			}
			if (r > 0)
				got += (size_t)r;
			if (got == sizeof(buf))
				got = 0;
		}
	}
	return 0;
}

/* Wait until the daemon counts at least want connections; its RSS then, or
 * -1 after a message. */
static long rss_at_connections(const struct options *o, long long want)
{
	struct daemon_stats st;
	int64_t deadline = now_ns() + (int64_t)(HOLD_WAIT_S * (double)NS_PER_S);
	char err[256];

	for (;;) {
		if (daemon_stats(o->socket, &st, err, sizeof(err)) < 0) {
			fprintf(stderr, PROG ": %s\n", err);
			return -1;
		}
		if (st.connected >= want)
			return vmrss_kb(o->daemon_pid);
		if (now_ns() >= deadline) {
			fprintf(stderr, PROG ": the daemon counts %lld connections, not %lld\n",
				st.connected, want);
			return -1;
		}
		sleep_ms(HOLD_POLL_MS);
	}
}

/* --hold-connections: the daemon's VmRSS before and with N connections
 * that never wrote, then with N more that had one version request
 * answered.  An exit status. */
static int hold_connections(const struct options *o)
{
	struct daemon_stats st0;
	struct rlimit rl;
	long n = o->hold_conns, rss0, rss1 = -1, rss2 = -1, i;
	int *fds, ret = EXIT_INCOMPLETE;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	fds = malloc(2 * (size_t)n * sizeof(*fds));
	if (!fds) {
		fprintf(stderr, PROG ": out of memory\n");
		return EXIT_INCOMPLETE;
	}
	for (i = 0; i < 2 * n; i++)
		fds[i] = -1;
	if (daemon_settled(o->socket, &st0) < 0)
		goto out;
	rss0 = vmrss_kb(o->daemon_pid);
	if (rss0 < 0) {
		fprintf(stderr, PROG ": cannot read VmRSS of process %ld\n", o->daemon_pid);
		goto out;
	}
	if (open_idle(o, fds, n, false) < 0)
		goto out;
	rss1 = rss_at_connections(o, st0.connected + n);
	if (rss1 < 0 || open_idle(o, fds + n, n, true) < 0)
		goto out;
	rss2 = rss_at_connections(o, st0.connected + 2 * n);
	if (rss2 < 0)
		goto out;
	print_memory("connections_silent", n, rss0, rss1);
	print_memory("connections_used", n, rss1, rss2);
	printf("first %ld connections that never wrote, then %ld more that each had one "
	       "version request answered, all left open and idle\n", n, n);
	ret = fflush(stdout) == 0 ? EXIT_DONE : EXIT_INCOMPLETE;
out:
	for (i = 0; i < 2 * n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(fds);
	return ret;
}

/* --summary: one line per pass that ran, for scripts. */
static void print_summary(const struct run *r)
{
	char a[32], b[32], c[32];
	int i;

	printf("# pass key probes answered lost probes_per_s added_p50_ms added_p99_ms "
	       "added_max_ms wall_s\n");
	for (i = 0; i < r->npasses; i++) {
		const struct pass *p = &r->passes[i];

		if (!p->ran)
			continue;
		printf("pass %s %ld %ld %ld %.1f %s %s %s %.6f%s\n", p->key, p->n, p->answered,
		       pass_lost(p), p->pps, fmt_ms(a, sizeof(a), p->p50),
		       fmt_ms(b, sizeof(b), p->p99), fmt_ms(c, sizeof(c), p->pmax), p->wall_s,
		       p->complete ? "" : " INCOMPLETE");
	}
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
	if (o.print_targets) {
		for (i = 0; i < o.ntargets; i++)
			printf("%s\n", o.targets[i]);
		return fflush(stdout) == 0 && !ferror(stdout) ? EXIT_DONE : EXIT_INCOMPLETE;
	}
	if (o.hold_probes)
		return hold_probes(&o);
	if (o.hold_conns)
		return hold_connections(&o);
	memset(&info, 0, sizeof(info));
	memset(&r, 0, sizeof(r));

	deadline = now_ns() + (int64_t)(o.timeout_s * (double)NS_PER_S);
	if (o.run_daemon && daemon_hello(o.socket, &info, err, sizeof(err)) < 0) {
		fprintf(stderr, PROG ": %s\n", err);
		return EXIT_INCOMPLETE;
	}

	if (o.passes & PASS_BIT_THROUGHPUT)
		ok &= add_pass(&r, &r.thr, PASS_DAEMON, "daemon_throughput", &o, o.window, 0);
	if (o.passes & PASS_BIT_LATENCY)
		ok &= add_pass(&r, &r.lat, PASS_DAEMON, "daemon_latency", &o, o.latency_window,
			       o.rate);
	if (o.passes & PASS_BIT_DIRECT)
		ok &= add_pass(&r, &r.dir, PASS_DIRECT, "direct_throughput", &o,
			       o.direct_window, 0);
	if (o.passes & PASS_BIT_DIRECT_LATENCY)
		ok &= add_pass(&r, &r.dirlat, PASS_DIRECT, "direct_latency", &o,
			       o.direct_window, o.rate);
	if (!ok) {
		fprintf(stderr, PROG ": out of memory for %ld probes\n", o.n);
		for (i = 0; i < r.npasses; i++)
			pass_free(&r.passes[i]);
		return EXIT_INCOMPLETE;
	}

	for (i = 0; i < r.npasses && complete; i++) {
		struct pass *p = &r.passes[i];

		if (!o.json && !o.summary)
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
	else if (o.summary)
		print_summary(&r);
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
