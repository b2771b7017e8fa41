/*
 * mtrprobe-bench: what its files share.  The program measures mtrprobed's
 * throughput and the latency it adds, side by side with one mtr-packet
 * process driven directly, and the daemon's memory; main.c says how the
 * parts fit.
 *
 * Files:
 *   main.c            main(): the modes, and the run of the passes
 *   options.c         the option table, the parser and the usage text
 *   targets.c         the targets: which addresses are allowed, the spread
 *                     over 127.0.0.0/8, their source addresses
 *   common.c          clocks, number parsing, quantiles, descriptors, /proc
 *   io.c              the daemon's socket: connect, ask, stats, its passes
 *   pass.c            the engine every pass runs on: requests out, answers
 *                     in, the figures
 *   report.c          the table, the --summary lines and the JSON object
 *   pass_*.c          the passes, one family a file, and the modes that
 *                     are not passes (pass_memory.c, pass_deadline.c)
 *
 * Adding a pass: a pass_FAMILY.c that defines a struct pass_family, a line
 * in the registry in main.c, the file in meson.build, and its name in the
 * --passes help of options.c.
 */
#ifndef MTRPROBE_BENCH_H
#define MTRPROBE_BENCH_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include <jansson.h>

#define PROG "mtrprobe-bench"

/* Exit statuses. */
enum {
	EXIT_DONE = 0,       /* every pass completed (figures may show loss) */
	EXIT_INCOMPLETE = 1, /* timeout, lost connection, cannot start */
	EXIT_USAGE = 2,      /* bad command line */
};
/* parse_options() asks main to exit 0 (after --help). */
#define HELP_SHOWN (-1)

/* Plain numbers: the usage text prints them through XSTR(). */
#define N_DEFAULT 20000
#define N_MAX 10000000L
#define LATENCY_WINDOW_DEFAULT 100
#define DIRECT_WINDOW_DEFAULT 100
/* mtr-packet 0.95 answers probes-exhausted beyond this many in flight. */
#define DIRECT_WINDOW_MAX 1024
/* mtr-packet loses replies beyond about this many in flight on loopback. */
#define DIRECT_SAFE_WINDOW 100L
/* Per-probe timeout in seconds, sent to the daemon and to mtr-packet. */
#define PROBE_TIMEOUT_DEFAULT 5
#define PROBE_TIMEOUT_MAX 3600L
/* --targets: the spread of addresses, first and last usable of 127/8. */
#define SPREAD_FIRST 0x7f000101UL /* 127.0.1.1 */
#define SPREAD_LAST 0x7ffffffeUL  /* 127.255.255.254 */
#define TARGETS_MAX 1000000
/* Memory modes: how long the daemon gets to take in what we hold, in s. */
#define HOLD_WAIT_S 60.0
/* Memory modes: pause between stats requests while waiting, in ms. */
#define HOLD_POLL_MS 50
/* Memory modes: at most this many connections (fds of our own). */
#define HOLD_CONNS_MAX 100000L
/* Overall timeout, seconds. */
#define OVERALL_TIMEOUT_DEFAULT 120
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
/* Most passes one run holds. */
#define PASSES_MAX 16

#define NS_PER_S 1000000000LL

#define STR(x) #x
#define XSTR(x) STR(x)
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

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
	long targets_arg;         /* --targets as given, 0 = not given */
	long ntargets;            /* --targets, else 1 (the --target) */
	char (*targets)[INET6_ADDRSTRLEN]; /* ntargets addresses */
	char (*locals)[INET6_ADDRSTRLEN];  /* their source addresses */
	long probe_timeout;       /* --probe-timeout, seconds */
	long paced_n;             /* --paced-n: probes of the paced passes */
	double timeout_s;         /* --timeout, overall */
	unsigned passes;          /* bit i: pass_def_at(i) runs */
	bool direct_only;         /* --direct-only */
	bool daemon_only;         /* --daemon-only */
	bool run_daemon;          /* some daemon pass runs */
	bool run_direct;          /* some direct pass runs */
	bool json;
	bool summary;             /* --summary: one line per pass */
	bool print_targets;       /* --print-targets */
	long hold_probes;         /* --hold-probes, 0 = not this mode */
	long hold_conns;          /* --hold-connections, 0 = not this mode */
	long daemon_pid;          /* --daemon-pid, for VmRSS */
	long deadline_probes;     /* --deadline-probes, 0 = not this mode */
	long connections;         /* --connections: for --deadline-probes */
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

struct pass;

/* How a pass speaks to its program: request lines out, answer lines in. */
struct pass_link {
	const char *label;   /* for the table: "daemon" */
	const char *peer;    /* for messages: "the daemon" */
	/* Append the request line for id to buf (cap bytes); its length. */
	size_t (*format)(const struct options *o, long id, char *buf, size_t cap);
	/* Handle one answer line read at time t. */
	void (*line)(struct pass *p, const char *line, size_t len, int64_t t);
};

/* When a pass runs without --passes. */
enum pass_default {
	PASS_DEFAULT_NO,
	PASS_DEFAULT_YES,
	PASS_DEFAULT_WITH_RATE, /* when --rate is given */
};

/* A pass that --passes can name. */
struct pass_def {
	const char *name;         /* in --passes: "direct-latency" */
	const char *key;          /* in --summary and JSON: "direct_latency" */
	enum pass_kind kind;
	const struct pass_link *link;
	enum pass_default by_default;
	bool paced;               /* paced at --rate (with --rate), N is --paced-n */
	bool needs_rate;          /* refused without --rate */
	bool reference;           /* the daemon's unpaced passes are compared with it */
	size_t window_field;      /* offsetof(struct options, its window) */
	/* Run the pass until done or deadline (CLOCK_MONOTONIC ns). */
	void (*run)(struct pass *p, const struct options *o, int64_t deadline);
};

struct run;

/* The passes of one file, and the notes the report prints about them. */
struct pass_family {
	const struct pass_def *defs;
	int ndefs;
	/* The table's notes about this family's passes in r. */
	void (*table_notes)(const struct run *r);
	/* The same for the JSON object's "notes" array. */
	void (*json_notes)(const struct run *r, json_t *notes);
};

/* One measurement pass: its settings, its running state and its figures. */
struct pass {
	const struct pass_def *def;
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

/* The passes of one run, in the registry's order. */
struct run {
	struct pass passes[PASSES_MAX];
	int npasses;
};

/* What the daemon says about itself in answer to "version". */
struct daemon_info {
	char daemon[32];
	char mtr_packet[32];
	long workers;
};

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

/* main.c: the registry of passes. */
int pass_def_count(void);
const struct pass_def *pass_def_at(int i);
int pass_family_count(void);
const struct pass_family *pass_family_at(int i);

/* options.c */
int parse_options(struct options *o, int argc, char **argv);

/* targets.c */
int target_check(struct options *o, bool doc_ok, bool *doc);
bool make_targets(struct options *o, long n);
void free_targets(struct options *o);
int resolve_sources(struct options *o, bool doc);

/* common.c */
int64_t now_ns(void);
double cpu_seconds(void);
void sleep_ms(long ms);
bool parse_long(const char *s, long min, long max, long *ret);
bool parse_double(const char *s, double min, double max, double *ret);
int cmp_double(const void *a, const void *b);
double quantile(const double *v, long n, double q);
int set_nonblock(int fd);
void big_socket_buffers(int fd);
void big_pipe(int fd);
long status_kb(long pid, const char *name);
long vmrss_kb(long pid);

/* io.c */
extern const struct pass_link daemon_link;
int connect_daemon(const char *path);
int daemon_ask(const char *path, const char *req, json_t **out, char *err, size_t errlen);
int daemon_hello(const char *path, struct daemon_info *info, char *err, size_t errlen);
int daemon_stats(const char *path, struct daemon_stats *st, char *err, size_t errlen);
int daemon_settled(const char *path, struct daemon_stats *st);
bool drain_answers(int fd, long *lines);
bool daemon_answer_parse(const char *line, size_t len, long long *id, char *word,
			 double *rtt_ms);
void daemon_pass(struct pass *p, const struct options *o, int64_t deadline);

/* pass.c */
bool pass_init(struct pass *p, const struct pass_def *def, const struct options *o);
void pass_free(struct pass *p);
void pass_fail(struct pass *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void count_word(struct word_count *words, int *nwords, long *other, const char *w);
void record_answer(struct pass *p, long long id, const char *w, double rtt_ms, int64_t t);
void run_pass(struct pass *p, const struct options *o, int wfd, int rfd, int64_t deadline);
void pass_summarise(struct pass *p);
long pass_lost(const struct pass *p);
const struct pass *run_find(const struct run *r, const char *key);

/* report.c */
void print_table(const struct options *o, const struct daemon_info *info,
		 const struct run *r);
void print_summary(const struct run *r);
int print_json(const struct options *o, const struct daemon_info *info, const struct run *r,
	       bool complete);

/* pass_memory.c */
int hold_probes(const struct options *o);
int hold_connections(const struct options *o);

/* pass_deadline.c */
int deadline_probes(const struct options *o);

/* pass_direct.c: mtr-packet's own protocol, and one mtr-packet process. */
size_t direct_format(const struct options *o, long id, char *buf, size_t cap);
void direct_line(struct pass *p, const char *line, size_t len, int64_t t);
int spawn_mtr_packet(struct pass *p, const char *path, pid_t *pid, int *wfd, int *rfd);
void reap_child(pid_t pid, bool gentle);

/* The pass families, one a file. */
extern const struct pass_family family_throughput; /* pass_throughput.c */
extern const struct pass_family family_latency;    /* pass_latency.c */
extern const struct pass_family family_direct;     /* pass_direct.c */
extern const struct pass_family family_relay;      /* pass_relay.c */

#endif
