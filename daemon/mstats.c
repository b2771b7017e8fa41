/*
 * A monitor's numbers: latency histograms, the ring of its last cycles and
 * the statistics over that window.
 *
 * Histograms count each observation in one bucket (not cumulatively, as
 * Prometheus shows them; mhist_cumulative() adds them up): the first whose
 * bound is >= the value, so a value equal to a bound is in that bound's
 * bucket (Prometheus "le").  A negative or NaN value counts as 0.
 *
 * The ring keeps the last `cycles` cycles in a circular array: head is
 * the newest, and the slot of the cycle of age a is (head - a) mod
 * cycles.  A probe's outcome is recorded by the seq of its cycle, which is
 * looked for where consecutive seqs would put it and, failing that, among
 * every cycle held; its slot's seq is always checked, so an outcome never
 * lands in another cycle.  A second outcome for a probe replaces the first.
 *
 * The statistics are taken over every held cycle, oldest first, and over
 * each cycle's probes in index order; the RTTs are copied once, in that
 * order, for the jitter, and that copy is then sorted for the quantiles.
 */
#include "daemon/mstats.h"

#include <errno.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The first bound when the one given is unusable: 50 microseconds. */
#define MHIST_FIRST_DEFAULT 0.00005

/*
 * Fill b with n bounds first, 2 first, 4 first, ...  n is clamped to 1 ..
 * MHIST_BOUNDS_MAX, and lowered further if the doubling would leave the
 * finite doubles; a first that is not finite and > 0 means 50 us.
 */
void mhist_bounds_doubling(struct mhist_bounds *b, double first, int n)
{
	if (!b)
		return;
	if (!isfinite(first) || !(first > 0))
		first = MHIST_FIRST_DEFAULT;
	if (n < 1)
		n = 1;
	if (n > MHIST_BOUNDS_MAX)
		n = MHIST_BOUNDS_MAX;
	memset(b, 0, sizeof(*b));
	b->le[0] = first;
	b->n = 1;
	/* ldexp is exact: each bound is first times a power of two */
	for (int i = 1; i < n; i++) {
		double le = ldexp(first, i);

		if (!isfinite(le))
			break;
		b->le[i] = le;
		b->n = i + 1;
	}
}

/* Whether c is a blank allowed around the items of a list. */
static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Whether c is a decimal digit. */
static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/*
 * The end of the number at p: digits with an optional fraction ("5",
 * "5.", "0.5", ".5") and an optional exponent ("e-05", "E3", "e+2"); no
 * sign, no hex, no inf or nan.  NULL if there is none at p.
 */
static const char *scan_number(const char *p)
{
	const char *start;
	bool digits = false;

	while (is_digit(*p)) {
		p++;
		digits = true;
	}
	if (*p == '.') {
		p++;
		while (is_digit(*p)) {
			p++;
			digits = true;
		}
	}
	if (!digits)
		return NULL;
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '+' || *p == '-')
			p++;
		start = p;
		while (is_digit(*p))
			p++;
		if (p == start)
			return NULL;
	}
	return p;
}

/*
 * Parse a comma-separated list of bounds into b.  0, or -EINVAL (b
 * unchanged) for a NULL or empty text, an empty item, anything that is
 * not a decimal number, a number out of the range of a double, bounds not
 * > 0 or not strictly increasing, and more than MHIST_BOUNDS_MAX of them.
 */
int mhist_bounds_parse(struct mhist_bounds *b, const char *text)
{
	struct mhist_bounds tmp;
	const char *p = text, *end;
	char *stop;
	double v;

	if (!b || !text)
		return -EINVAL;
	memset(&tmp, 0, sizeof(tmp));
	for (;;) {
		while (is_blank(*p))
			p++;
		end = scan_number(p);
		if (!end || tmp.n >= MHIST_BOUNDS_MAX)
			return -EINVAL;
		errno = 0;
		v = strtod(p, &stop);
		/* another locale's decimal point, an overflow or an underflow */
		if (stop != end || errno != 0 || !isfinite(v))
			return -EINVAL;
		if (!(v > 0) || (tmp.n > 0 && !(v > tmp.le[tmp.n - 1])))
			return -EINVAL;
		tmp.le[tmp.n++] = v;
		p = end;
		while (is_blank(*p))
			p++;
		if (*p == '\0')
			break;
		if (*p != ',')
			return -EINVAL;
		p++;
	}
	*b = tmp;
	return 0;
}

/*
 * Count one observation of seconds in the first bucket whose bound is >=
 * it (the +Inf bucket, index b->n, above the last); a negative or NaN
 * value counts as 0, in the first bucket.  Adds it to the sum and count.
 */
void mhist_observe(struct mhist *h, const struct mhist_bounds *b, double seconds)
{
	int lo = 0, hi;

	if (!h || !b)
		return;
	if (!(seconds >= 0))
		seconds = 0;
	hi = b->n < 0 ? 0 : b->n > MHIST_BOUNDS_MAX ? MHIST_BOUNDS_MAX : b->n;
	/* the first bound >= seconds, or hi if there is none */
	while (lo < hi) {
		int mid = lo + (hi - lo) / 2;

		if (b->le[mid] < seconds)
			lo = mid + 1;
		else
			hi = mid;
	}
	h->bucket[lo]++;
	h->count++;
	h->sum += seconds;
}

/*
 * The count of buckets 0..i together: 0 for i < 0, and every bucket for
 * i >= MHIST_BOUNDS_MAX (those beyond b->n + 1 stay empty, so i == b->n
 * already gives the count).
 */
uint64_t mhist_cumulative(const struct mhist *h, int i)
{
	uint64_t sum = 0;

	if (!h)
		return 0;
	if (i > MHIST_BOUNDS_MAX)
		i = MHIST_BOUNDS_MAX;
	for (int k = 0; k <= i; k++)
		sum += h->bucket[k];
	return sum;
}

/*
 * Allocate an empty ring of cycles x per_cycle probes.  0, -EINVAL (sizes
 * < 1, or more probes than an int counts) or -ENOMEM; r is left empty
 * (safe to mring_free()) unless 0.
 */
int mring_init(struct mring *r, int cycles, int per_cycle)
{
	if (!r)
		return -EINVAL;
	memset(r, 0, sizeof(*r));
	if (cycles < 1 || per_cycle < 1 || cycles > INT_MAX / per_cycle)
		return -EINVAL;
	r->cycle = calloc((size_t)cycles, sizeof(*r->cycle));
	r->sample = calloc((size_t)cycles * (size_t)per_cycle, sizeof(*r->sample));
	if (!r->cycle || !r->sample) {
		mring_free(r);
		return -ENOMEM;
	}
	r->cycles = cycles;
	r->per_cycle = per_cycle;
	return 0;
}

/* Release what r holds and leave it empty; safe on a zeroed or freed ring. */
void mring_free(struct mring *r)
{
	if (!r)
		return;
	free(r->cycle);
	free(r->sample);
	memset(r, 0, sizeof(*r));
}

/* Whether r is allocated and its counters make sense. */
static bool ring_ok(const struct mring *r)
{
	return r && r->cycle && r->sample && r->cycles >= 1 && r->per_cycle >= 1 &&
	       r->n >= 0 && r->n <= r->cycles && r->head >= 0 && r->head < r->cycles;
}

/* The slot of the cycle of age (0 .. r->n - 1). */
static int slot_of_age(const struct mring *r, int age)
{
	return (r->head - age + r->cycles) % r->cycles;
}

/*
 * Start cycle seq in the slot after the newest (the oldest's when the
 * ring is full), with all its probes MSAMPLE_NONE.  A late that is
 * negative or NaN is stored as 0.  The slot, or -1 if r is not allocated.
 */
int mring_begin(struct mring *r, uint64_t seq, double start, double late)
{
	if (!ring_ok(r))
		return -1;
	if (r->n == 0)
		r->head = 0;
	else
		r->head = (r->head + 1) % r->cycles;
	if (r->n < r->cycles)
		r->n++;
	r->cycle[r->head] = (struct mcycle){
		.seq = seq, .start = start, .late = late >= 0 ? late : 0.0
	};
	memset(&r->sample[(size_t)r->head * (size_t)r->per_cycle], 0,
	       (size_t)r->per_cycle * sizeof(*r->sample));
	return r->head;
}

/*
 * The slot of the held cycle seq, or -1.  Where consecutive seqs put it
 * first (newest seq - seq is its age), then among all held, newest first.
 */
static int find_cycle(const struct mring *r, uint64_t seq)
{
	uint64_t newest;

	if (r->n == 0)
		return -1;
	newest = r->cycle[r->head].seq;
	if (seq <= newest && newest - seq < (uint64_t)r->n) {
		int slot = slot_of_age(r, (int)(newest - seq));

		if (r->cycle[slot].seq == seq)
			return slot;
	}
	for (int age = 0; age < r->n; age++) {
		int slot = slot_of_age(r, age);

		if (r->cycle[slot].seq == seq)
			return slot;
	}
	return -1;
}

/*
 * Record the outcome of probe i of cycle seq, replacing any it had.  The
 * rtt is kept for MSAMPLE_REPLY only (0 otherwise), as a float: negative
 * or NaN is stored as 0, above FLT_MAX as FLT_MAX.  False, with nothing
 * changed, if the cycle is not held, i is out of range or state unknown.
 */
bool mring_set(struct mring *r, uint64_t seq, int i, enum msample_state state, double rtt_ms)
{
	struct msample *s;
	int slot;

	if (!ring_ok(r) || i < 0 || i >= r->per_cycle || (unsigned)state > MSAMPLE_ERROR)
		return false;
	slot = find_cycle(r, seq);
	if (slot < 0)
		return false;
	if (state != MSAMPLE_REPLY || !(rtt_ms >= 0))
		rtt_ms = 0;
	else if (rtt_ms > FLT_MAX)
		rtt_ms = FLT_MAX;
	s = &r->sample[(size_t)slot * (size_t)r->per_cycle + (size_t)i];
	s->rtt_ms = (float)rtt_ms;
	s->state = (uint8_t)state;
	return true;
}

/* The cycle of age 0 (newest) .. n - 1 (oldest), or NULL. */
const struct mcycle *mring_cycle(const struct mring *r, int age)
{
	if (!ring_ok(r) || age < 0 || age >= r->n)
		return NULL;
	return &r->cycle[slot_of_age(r, age)];
}

/* The per_cycle samples of the cycle of age, or NULL. */
const struct msample *mring_samples(const struct mring *r, int age)
{
	if (!ring_ok(r) || age < 0 || age >= r->n)
		return NULL;
	return &r->sample[(size_t)slot_of_age(r, age) * (size_t)r->per_cycle];
}

/* Order doubles ascending, for qsort(). */
static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/*
 * Count the probes with an outcome in r and, when rtt is not NULL, copy
 * the RTTs of the replies into it in send order (a NaN or negative RTT,
 * which only a direct write can leave, as 0).  Sets *sent, returns the
 * number of replies.
 */
static int collect(const struct mring *r, double *rtt, int *sent)
{
	int received = 0;

	*sent = 0;
	for (int age = r->n - 1; age >= 0; age--) {
		const struct msample *s = mring_samples(r, age);

		for (int i = 0; i < r->per_cycle; i++) {
			switch (s[i].state) {
			case MSAMPLE_REPLY:
				if (rtt) {
					double x = s[i].rtt_ms;

					rtt[received] = x >= 0 ? x : 0.0;
				}
				received++;
				(*sent)++;
				break;
			case MSAMPLE_LOST:
			case MSAMPLE_ERROR:
				(*sent)++;
				break;
			default:
				break;
			}
		}
	}
	return received;
}

/*
 * Compute the statistics of the held cycles of r into *ret.  0, or
 * -ENOMEM with *ret zeroed.  An empty or NULL ring gives zeroes with
 * has_loss and has_rtt false.
 */
int mstats_compute(const struct mring *r, struct mstats *ret)
{
	double *rtt, sum = 0, jsum = 0, lo, hi;
	int sent, received;

	if (!ret)
		return 0;
	memset(ret, 0, sizeof(*ret));
	if (!ring_ok(r))
		return 0;
	received = collect(r, NULL, &sent);
	if (received == 0) {
		ret->sent = sent;
		if (sent > 0) {
			ret->has_loss = true;
			ret->loss_pct = 100.0;
		}
		return 0;
	}
	rtt = malloc((size_t)received * sizeof(*rtt));
	if (!rtt)
		return -ENOMEM;
	collect(r, rtt, &sent);

	lo = hi = rtt[0];
	for (int k = 0; k < received; k++) {
		sum += rtt[k];
		if (rtt[k] < lo)
			lo = rtt[k];
		if (rtt[k] > hi)
			hi = rtt[k];
		if (k > 0)
			jsum += fabs(rtt[k] - rtt[k - 1]);
	}
	qsort(rtt, (size_t)received, sizeof(*rtt), cmp_double);

	ret->sent = sent;
	ret->received = received;
	ret->has_loss = true;
	ret->loss_pct = 100.0 * (double)(sent - received) / sent;
	ret->has_rtt = true;
	ret->min_ms = lo;
	ret->max_ms = hi;
	ret->mean_ms = fmin(fmax(sum / received, lo), hi);
	ret->median_ms = mstats_quantile(rtt, received, 0.5);
	ret->p90_ms = mstats_quantile(rtt, received, 0.9);
	ret->p99_ms = mstats_quantile(rtt, received, 0.99);
	ret->jitter_ms = received > 1 ? jsum / (received - 1) : 0.0;
	free(rtt);
	return 0;
}

/*
 * Quantile q of n sorted values (R type 7, numpy's default): h = (n - 1)
 * q, interpolated linearly between x[floor h] and x[floor h + 1].  q is
 * clamped to 0..1 (NaN counts as 0); 0 for n < 1 or no values.
 */
double mstats_quantile(const double *sorted, int n, double q)
{
	double h, f, x;
	int k;

	if (!sorted || n < 1)
		return 0.0;
	if (!(q > 0))
		q = 0;
	if (q > 1)
		q = 1;
	h = (double)(n - 1) * q;
	f = floor(h);
	k = (int)f;
	if (k >= n - 1)
		return sorted[n - 1];
	x = sorted[k] + (h - f) * (sorted[k + 1] - sorted[k]);
	/* rounding never takes it out of its two neighbours */
	return fmin(fmax(x, sorted[k]), sorted[k + 1]);
}
