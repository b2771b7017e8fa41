/*
 * The monitors' shared insides: what the runtime (monitor.c) keeps and
 * the views (moninfo.c: metrics, list and show) read.  Private to those
 * two.
 */
#ifndef MTRPROBED_MONITOR_IMPL_H
#define MTRPROBED_MONITOR_IMPL_H

#include <event2/event_struct.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

#include "mondef.h"
#include "mpath.h"
#include "mstats.h"
#include "sched.h"

/* Result counters: the scheduler's words, then a failed resolution. */
#define MON_RESULT_RESOLVE SCHED_N_RESULTS
#define MON_RESULTS (SCHED_N_RESULTS + 1)

/*
 * What a running monitor keeps of its definition: every field but the
 * labels, which live in its label sets (user_labels), and a hash of the
 * whole definition to tell a changed one at reload.  A struct mondef is
 * mostly room for labels; 10000 monitors keep 35 MB less this way.
 */
struct mcore {
	char name[MONDEF_NAME_MAX + 1];
	char target[MP_HOST_MAX + 1];
	enum mondef_kind kind;
	enum mondef_family family;
	enum mp_protocol protocol;
	int port, count, first_ttl, max_ttl, size, tos, ttl;
	double interval, period, timeout, loss_threshold;
	double pps;                 /* probes per second it schedules (monitor_pps()) */
	uint64_t hash;              /* of text */
	char *text;                 /* the definition, as mondef_format() writes it */
	long owner;                 /* MONITOR_OWNER_FILES, or the uid that added it */
	char *user_labels;          /* ',name="value"' for each label, or "" */
};

/* One family's history and counters. */
struct mstream {
	int ip_version;              /* asked for: 0 (any), 4 or 6 */
	char address[MP_ADDR_MAX];   /* the address probed last, "" before any */
	int got_version;             /* its family, 0 before any */
	char *labels;                /* the series' label set, for address */
	struct mring ring;
	struct mhist hist;
	uint64_t sent, received;
	uint64_t results[MON_RESULTS];
	uint64_t up_seq;             /* newest cycle with an outcome */
	bool up;                     /* it got a reply */
	/* Events: the states they report the changes of. */
	bool loss_high;              /* window loss over the monitor's loss_threshold */
	bool unreachable;            /* a whole cycle got no reply (and none since) */
	/* Trace monitors. */
	struct mpath path;
	int cycle_outstanding;       /* probes of the current cycle still out */
	char *tlabels;               /* monitor and the monitor's own labels */
};

struct monitor {
	struct mcore def;
	struct mhist_bounds bounds;  /* its histograms' buckets (metrics_buckets when it started) */
	uint64_t key;                /* its scheduler owner */
	struct event timer;
	double due;                  /* schedule of the current (or next) cycle */
	uint64_t seq;                /* current cycle, 0 before the first */
	int next_probe;              /* index of the next probe of the cycle */
	uint64_t cycles, cycles_late;
	int n_streams;
	struct mstream st[2];
	int outstanding;             /* probes submitted whose outcome is to come */
	bool detached;               /* removed: freed when outstanding reaches 0 */
	TAILQ_ENTRY(monitor) link;
};

TAILQ_HEAD(monitor_list, monitor);

/* The running monitors, in the order they started (keys ascending). */
struct monitor *monitor_first(void);
struct monitor *monitor_next(const struct monitor *m);
/* Monitors stopped since start: a pointer to a running monitor taken at an
 * equal count still points at a running monitor. */
uint64_t monitor_generation(void);

#endif
