/*
 * Per-hop statistics of a trace, as mtr's report mode computes them.
 *
 * Answers are kept as samples sorted by round, whatever order they arrive
 * in: appending a later round (the common case) is O(1) amortised, an
 * earlier round is found by binary search and inserted.  A second answer
 * for a round already answered is ignored altogether (no sample, no
 * responder count, no MPLS change).  The summary is computed from the
 * samples in two passes (mean first, then squared deviations from it), so
 * it stays accurate when the times are large and close together.
 */
#include "daemon/hopstats.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/*
 * Largest round-trip time accepted, in milliseconds (about 31 years): far
 * above any real probe, and low enough that no sum of squares over INT_MAX
 * samples can overflow a double.
 */
#define HOP_RTT_MAX_MS 1e12

/* Set up an empty hop for ttl. */
void hop_init(struct hop *h, int ttl)
{
	if (!h)
		return;
	memset(h, 0, sizeof(*h));
	h->ttl = ttl;
	h->mpls_round = -1;
}

/* Release what h holds and leave it empty; safe on a zeroed or freed hop. */
void hop_free(struct hop *h)
{
	int ttl;

	if (!h)
		return;
	ttl = h->ttl;
	free(h->samples);
	hop_init(h, ttl);
}

/* Count one probe sent for this hop. */
void hop_record_sent(struct hop *h)
{
	if (h && h->sent < INT_MAX)
		h->sent++;
}

/* Make room for one more sample.  0 or -ENOMEM; h unchanged on failure. */
static int reserve_sample(struct hop *h)
{
	struct hop_sample *s;
	int cap;

	if (h->n_samples < h->cap_samples)
		return 0;
	if (h->cap_samples >= INT_MAX / 2)
		return -ENOMEM;
	cap = h->cap_samples ? h->cap_samples * 2 : 8;
	if ((size_t)cap > SIZE_MAX / sizeof(*s))
		return -ENOMEM;
	s = realloc(h->samples, (size_t)cap * sizeof(*s));
	if (!s)
		return -ENOMEM;
	h->samples = s;
	h->cap_samples = cap;
	return 0;
}

/*
 * Where a sample of round goes in h's sorted samples: sets *ret to the
 * index and returns true when that round is already there.
 */
static bool find_round(const struct hop *h, int round, int *ret)
{
	int lo = 0, hi = h->n_samples;

	/* Appending is the common case: check the end first. */
	if (hi == 0 || h->samples[hi - 1].round < round) {
		*ret = hi;
		return false;
	}
	while (lo < hi) {
		int mid = lo + (hi - lo) / 2;

		if (h->samples[mid].round < round)
			lo = mid + 1;
		else
			hi = mid;
	}
	*ret = lo;
	return lo < h->n_samples && h->samples[lo].round == round;
}

/* Count one answer from address (listed only while there is room). */
static void count_responder(struct hop *h, const char *address)
{
	int n = h->n_responders;

	if (n < 0 || n > HOP_RESPONDERS_MAX)
		n = 0;
	for (int i = 0; i < n; i++)
		if (strcmp(h->responders[i].address, address) == 0) {
			if (h->responders[i].count < INT_MAX)
				h->responders[i].count++;
			return;
		}
	if (n >= HOP_RESPONDERS_MAX)
		return;
	memcpy(h->responders[n].address, address, strlen(address) + 1);
	h->responders[n].count = 1;
	h->n_responders = n + 1;
}

/* Record an answer to the probe of round.  0, -EINVAL or -ENOMEM; h unchanged unless 0. */
int hop_record_answer(struct hop *h, int round, double rtt_ms, const char *responder,
		      const struct mp_mpls *mpls, int mpls_count)
{
	int pos, r;

	if (!h || round < 0 || !isfinite(rtt_ms) || rtt_ms < 0 || rtt_ms > HOP_RTT_MAX_MS ||
	    mpls_count < 0 || (mpls_count > 0 && !mpls))
		return -EINVAL;
	if (responder && strnlen(responder, MP_ADDR_MAX) >= MP_ADDR_MAX)
		return -EINVAL;
	if (mpls_count > MP_MPLS_MAX)
		mpls_count = MP_MPLS_MAX;

	if (find_round(h, round, &pos))
		return 0; /* duplicate: the first answer of a round counts */
	r = reserve_sample(h);
	if (r < 0)
		return r;
	if (pos < h->n_samples)
		memmove(&h->samples[pos + 1], &h->samples[pos],
			(size_t)(h->n_samples - pos) * sizeof(h->samples[0]));
	h->samples[pos] = (struct hop_sample){ .round = round, .rtt_ms = rtt_ms };
	h->n_samples++;

	if (responder && responder[0])
		count_responder(h, responder);
	if (round >= h->mpls_round) {
		if (mpls_count > 0)
			memcpy(h->mpls, mpls, (size_t)mpls_count * sizeof(*mpls));
		h->mpls_count = mpls_count;
		h->mpls_round = round;
	}
	return 0;
}

/* Compute the numbers of h into *ret. */
void hop_summarize(const struct hop *h, struct hop_summary *ret)
{
	const struct hop_sample *s;
	double sum = 0, mean, dsum = 0, ssd = 0, jsum = 0, best, worst;
	int n;

	if (!ret)
		return;
	memset(ret, 0, sizeof(*ret));
	if (!h)
		return;
	s = h->samples;
	n = s ? h->n_samples : 0;
	ret->sent = h->sent;
	ret->received = n;
	if (h->sent > 0) {
		ret->has_loss = true;
		/* 100 * (1 - received/sent), with the difference taken exactly */
		ret->loss_pct = n >= h->sent ? 0.0 : 100.0 * (double)(h->sent - n) / h->sent;
	}
	if (n <= 0)
		return;

	/* First pass: sum, extremes, sum of absolute successive differences. */
	best = worst = s[0].rtt_ms;
	for (int i = 0; i < n; i++) {
		double x = s[i].rtt_ms;

		sum += x;
		if (x < best)
			best = x;
		if (x > worst)
			worst = x;
		if (i > 0)
			jsum += fabs(x - s[i - 1].rtt_ms);
	}
	mean = sum / n;
	/*
	 * Second pass: squared deviations from the mean, corrected by the
	 * deviations' own sum for the rounding error of the mean.
	 */
	for (int i = 0; i < n; i++) {
		double d = s[i].rtt_ms - mean;

		dsum += d;
		ssd += d * d;
	}
	ssd -= dsum * dsum / n;
	ret->has_rtt = true;
	ret->last_ms = s[n - 1].rtt_ms;
	ret->avg_ms = fmin(fmax(mean + dsum / n, best), worst);
	ret->best_ms = best;
	ret->worst_ms = worst;
	ret->stdev_ms = n > 1 && ssd > 0 ? sqrt(ssd / (n - 1)) : 0.0;
	ret->jitter_ms = n > 1 ? jsum / (n - 1) : 0.0;
}

/* A time or percentage rounded to 3 decimals (half away from zero), or null. */
static json_t *number_or_null(bool has, double x)
{
	if (!has || !isfinite(x))
		return json_null();
	x = round(x * 1000.0) / 1000.0;
	if (!isfinite(x))
		return json_null();
	return json_real(x == 0 ? 0.0 : x); /* no -0.0 */
}

/* Set key of obj to a new reference; fails on a NULL value.  0 or -ENOMEM. */
static int set_new(json_t *obj, const char *key, json_t *value)
{
	if (!value)
		return -ENOMEM;
	return json_object_set_new(obj, key, value) < 0 ? -ENOMEM : 0;
}

/* The JSON list of h's responders. */
static json_t *responders_to_json(const struct hop *h)
{
	json_t *list = json_array();
	int n = h->n_responders;

	if (!list)
		return NULL;
	if (n < 0 || n > HOP_RESPONDERS_MAX)
		n = 0;
	for (int i = 0; i < n; i++) {
		const struct hop_responder *r = &h->responders[i];
		json_t *o = json_pack("{s:s,s:i}", "address", r->address, "count", r->count);

		if (json_array_append_new(list, o) < 0) {
			json_decref(list);
			return NULL;
		}
	}
	return list;
}

/* The JSON list of h's MPLS labels. */
static json_t *mpls_to_json(const struct hop *h)
{
	json_t *list = json_array();
	int n = h->mpls_count;

	if (!list)
		return NULL;
	if (n < 0 || n > MP_MPLS_MAX)
		n = n < 0 ? 0 : MP_MPLS_MAX;
	for (int i = 0; i < n; i++) {
		const struct mp_mpls *m = &h->mpls[i];
		json_t *o = json_pack("{s:I,s:i,s:b,s:i}", "label", (json_int_t)m->label,
				      "traffic_class", m->traffic_class, "bottom_of_stack",
				      (int)m->bottom_of_stack, "ttl", m->ttl);

		if (json_array_append_new(list, o) < 0) {
			json_decref(list);
			return NULL;
		}
	}
	return list;
}

/* The hop as the trace response shows it (new reference), NULL on failure. */
json_t *hop_to_json(const struct hop *h)
{
	struct hop_summary sum;
	json_t *obj;

	if (!h || !(obj = json_object()))
		return NULL;
	hop_summarize(h, &sum);
	if (set_new(obj, "ttl", json_integer(h->ttl)) < 0 ||
	    set_new(obj, "responders", responders_to_json(h)) < 0 ||
	    set_new(obj, "sent", json_integer(sum.sent)) < 0 ||
	    set_new(obj, "received", json_integer(sum.received)) < 0 ||
	    set_new(obj, "loss_pct", number_or_null(sum.has_loss, sum.loss_pct)) < 0 ||
	    set_new(obj, "last_ms", number_or_null(sum.has_rtt, sum.last_ms)) < 0 ||
	    set_new(obj, "avg_ms", number_or_null(sum.has_rtt, sum.avg_ms)) < 0 ||
	    set_new(obj, "best_ms", number_or_null(sum.has_rtt, sum.best_ms)) < 0 ||
	    set_new(obj, "worst_ms", number_or_null(sum.has_rtt, sum.worst_ms)) < 0 ||
	    set_new(obj, "stdev_ms", number_or_null(sum.has_rtt, sum.stdev_ms)) < 0 ||
	    set_new(obj, "jitter_ms", number_or_null(sum.has_rtt, sum.jitter_ms)) < 0 ||
	    set_new(obj, "mpls", mpls_to_json(h)) < 0) {
		json_decref(obj);
		return NULL;
	}
	return obj;
}
