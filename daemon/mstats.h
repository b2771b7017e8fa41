/*
 * A monitor's numbers: latency histograms with fixed bucket bounds, the
 * ring of its last cycles (each probe's outcome and round-trip time), and
 * the statistics over that window (loss, median, p90, p99, jitter).  Pure:
 * no I/O, no clock; the monitor feeds it what its probes got.
 */
#ifndef MTRPROBED_MSTATS_H
#define MTRPROBED_MSTATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Most bucket bounds of a histogram (the +Inf bucket is implicit). */
#define MHIST_BOUNDS_MAX 32

/*
 * Bucket upper bounds in seconds, strictly increasing, all > 0 and finite.
 * Shared by every histogram made with them; owned by their holder.
 */
struct mhist_bounds {
	double le[MHIST_BOUNDS_MAX];
	int n;
};

/* The default bounds: 50 us doubling, n of them (1 to MHIST_BOUNDS_MAX). */
void mhist_bounds_doubling(struct mhist_bounds *b, double first, int n);
/*
 * Parse a comma-separated list of bounds in seconds ("0.00005, 0.0001"),
 * spaces allowed around items.  0, or -EINVAL: empty, junk, not strictly
 * increasing, not > 0, more than MHIST_BOUNDS_MAX.
 */
int mhist_bounds_parse(struct mhist_bounds *b, const char *text);

/*
 * A Prometheus histogram: per-bucket counts (not cumulative) for
 * bounds->n buckets plus +Inf, the count and the sum in seconds.
 */
struct mhist {
	uint64_t bucket[MHIST_BOUNDS_MAX + 1];
	uint64_t count;
	double sum;
};

/* Count one observation of seconds (>= 0) with bounds b: it goes in the first bucket whose le >= seconds. */
void mhist_observe(struct mhist *h, const struct mhist_bounds *b, double seconds);
/* The cumulative count of buckets 0..i (i == b->n: the +Inf bucket, == count). */
uint64_t mhist_cumulative(const struct mhist *h, int i);

/* What became of one probe of a cycle. */
enum msample_state {
	MSAMPLE_NONE = 0,   /* not sent (yet) */
	MSAMPLE_PENDING,    /* sent, no outcome yet */
	MSAMPLE_REPLY,      /* answered by the target: rtt holds the time */
	MSAMPLE_LOST,       /* no-reply: counts as loss */
	MSAMPLE_ERROR,      /* any other outcome (no-route, ttl-expired, ...): counts as loss */
};

struct msample {
	float rtt_ms;       /* MSAMPLE_REPLY only */
	uint8_t state;      /* enum msample_state */
};

/* One cycle: when it started and the probes it sent. */
struct mcycle {
	uint64_t seq;       /* 1, 2, ... in start order */
	double start;       /* monotonic time it started */
	double late;        /* seconds after its scheduled time it started (>= 0) */
};

/*
 * The last `cycles` cycles of `per_cycle` probes each.  Owned by its
 * monitor; mring_free() releases.
 */
struct mring {
	int cycles, per_cycle;
	int n;                     /* cycles held, <= cycles */
	int head;                  /* index of the newest cycle (when n > 0) */
	struct mcycle *cycle;      /* [cycles] */
	struct msample *sample;    /* [cycles * per_cycle], cycle i's at i * per_cycle */
};

/* Allocate a ring for cycles x per_cycle (both >= 1).  0 or -ENOMEM (-EINVAL on bad sizes). */
int mring_init(struct mring *r, int cycles, int per_cycle);
void mring_free(struct mring *r);
/*
 * Start a new cycle seq at start, late seconds after its schedule:
 * overwrites the oldest when full; its samples become MSAMPLE_NONE.
 * Returns the new cycle's slot index (for mring_set()).
 */
int mring_begin(struct mring *r, uint64_t seq, double start, double late);
/*
 * Record probe i of the cycle seq.  Does nothing (returns false) if that
 * cycle has left the ring or i is out of range.
 */
bool mring_set(struct mring *r, uint64_t seq, int i, enum msample_state state, double rtt_ms);
/* The cycle at age 0 (newest) .. n - 1 (oldest), or NULL. */
const struct mcycle *mring_cycle(const struct mring *r, int age);
/* Its samples (per_cycle of them). */
const struct msample *mring_samples(const struct mring *r, int age);

/* Statistics of the probes with an outcome (not NONE or PENDING) in the ring. */
struct mstats {
	int sent;            /* probes with an outcome */
	int received;        /* of them MSAMPLE_REPLY */
	bool has_loss;  double loss_pct;   /* 100 * (sent - received) / sent; sent > 0 */
	bool has_rtt;                      /* received > 0 */
	double min_ms, max_ms, mean_ms;
	double median_ms, p90_ms, p99_ms;  /* mstats_quantile() of the received RTTs */
	double jitter_ms;    /* mean |rtt(k) - rtt(k-1)| over received probes in send order
			      * (oldest cycle first, then probe index); 0 with one */
};

/* Compute the statistics of r (sorting a temporary copy of the RTTs).  0 or -ENOMEM. */
int mstats_compute(const struct mring *r, struct mstats *ret);
/*
 * Quantile q (0-1) of n sorted values, linearly interpolated between the
 * closest ranks: h = (n - 1) * q, x[floor h] + (h - floor h) *
 * (x[floor h + 1] - x[floor h]).  n >= 1.
 */
double mstats_quantile(const double *sorted, int n, double q);

#endif
