/*
 * Unit tests of the per-hop trace statistics.  Every expected number is a
 * literal worked out by hand (the working is in the comments), never by
 * calling the formula under test.
 *
 * Rounding in JSON: times and loss_pct are rounded to 3 decimals (whole
 * microseconds) with C's round(), i.e. half away from zero, applied to
 * x * 1000 and divided back: 66.666... -> 66.667, 0.0625 -> 0.063.  The
 * summary struct keeps the unrounded values.
 */
#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/hopstats.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define EPS 1e-9
#define MAX_ANSWERS 8

/* One answer fed to a hop. */
struct answer {
	int round;
	double rtt_ms;
	const char *responder;
};

/* Expected unrounded summary of a hop with answers (has_rtt true). */
struct want_summary {
	int sent, received;
	double loss_pct, last_ms, avg_ms, best_ms, worst_ms, stdev_ms, jitter_ms;
};

/* Assert that two doubles agree to within EPS. */
static void check_near(double got, double want, const char *what)
{
	ck_assert_msg(fabs(got - want) <= EPS, "%s: got %.17g, want %.17g", what, got, want);
}

/* Record sent probes and then the answers, asserting each returns 0. */
static void feed(struct hop *h, int sent, const struct answer *a, int n)
{
	for (int i = 0; i < sent; i++)
		hop_record_sent(h);
	for (int i = 0; i < n; i++)
		ck_assert_int_eq(hop_record_answer(h, a[i].round, a[i].rtt_ms,
						   a[i].responder ? a[i].responder : "192.0.2.1",
						   NULL, 0), 0);
}

/* Assert h's summary is w (with loss and rtt data present). */
static void check_summary(const struct hop *h, const struct want_summary *w)
{
	struct hop_summary s;

	hop_summarize(h, &s);
	ck_assert_int_eq(s.sent, w->sent);
	ck_assert_int_eq(s.received, w->received);
	ck_assert(s.has_loss);
	ck_assert(s.has_rtt);
	check_near(s.loss_pct, w->loss_pct, "loss_pct");
	check_near(s.last_ms, w->last_ms, "last_ms");
	check_near(s.avg_ms, w->avg_ms, "avg_ms");
	check_near(s.best_ms, w->best_ms, "best_ms");
	check_near(s.worst_ms, w->worst_ms, "worst_ms");
	check_near(s.stdev_ms, w->stdev_ms, "stdev_ms");
	check_near(s.jitter_ms, w->jitter_ms, "jitter_ms");
}

/* Assert that hop_to_json(h) equals the JSON document text want. */
static void check_json(const struct hop *h, const char *want)
{
	json_error_t err;
	json_t *w = json_loads(want, 0, &err);
	json_t *got = hop_to_json(h);

	ck_assert_msg(w != NULL, "bad expected JSON: %s", err.text);
	ck_assert_ptr_nonnull(got);
	if (!json_equal(got, w)) {
		char *g = json_dumps(got, JSON_COMPACT | JSON_REAL_PRECISION(10));

		ck_abort_msg("JSON mismatch:\n got  %s\n want %s", g, want);
	}
	json_decref(got);
	json_decref(w);
}

/* Assert the rounds of h's samples are exactly 0, 1, ..., n-1 with rtts rtt[]. */
static void check_samples(const struct hop *h, const double *rtt, int n)
{
	ck_assert_int_eq(h->n_samples, n);
	for (int i = 0; i < n; i++) {
		ck_assert_int_eq(h->samples[i].round, i);
		check_near(h->samples[i].rtt_ms, rtt[i], "sample rtt");
	}
}

START_TEST(test_no_answers)
{
	struct hop h;
	struct hop_summary s;

	hop_init(&h, 4);
	feed(&h, 3, NULL, 0);
	hop_summarize(&h, &s);
	ck_assert_int_eq(s.sent, 3);
	ck_assert_int_eq(s.received, 0);
	ck_assert(s.has_loss);
	check_near(s.loss_pct, 100.0, "loss_pct");
	ck_assert(!s.has_rtt);
	ck_assert_int_eq(h.mpls_round, -1);
	check_json(&h, "{\"ttl\": 4, \"responders\": [], \"sent\": 3, \"received\": 0,"
		       " \"loss_pct\": 100.0, \"last_ms\": null, \"avg_ms\": null,"
		       " \"best_ms\": null, \"worst_ms\": null, \"stdev_ms\": null,"
		       " \"jitter_ms\": null, \"mpls\": []}");
	hop_free(&h);
}
END_TEST

START_TEST(test_nothing_sent)
{
	struct hop h;
	struct hop_summary s;

	hop_init(&h, 1);
	hop_summarize(&h, &s);
	ck_assert_int_eq(s.sent, 0);
	ck_assert_int_eq(s.received, 0);
	ck_assert(!s.has_loss);
	ck_assert(!s.has_rtt);
	check_json(&h, "{\"ttl\": 1, \"responders\": [], \"sent\": 0, \"received\": 0,"
		       " \"loss_pct\": null, \"last_ms\": null, \"avg_ms\": null,"
		       " \"best_ms\": null, \"worst_ms\": null, \"stdev_ms\": null,"
		       " \"jitter_ms\": null, \"mpls\": []}");
	hop_free(&h);
}
END_TEST

START_TEST(test_one_answer)
{
	struct hop h;
	const struct answer a[] = { { 0, 3.5, "192.0.2.7" } };
	/* one answer: every time is 3.5, stdev and jitter 0 by definition */
	const struct want_summary w = { 1, 1, 0.0, 3.5, 3.5, 3.5, 3.5, 0.0, 0.0 };

	hop_init(&h, 2);
	feed(&h, 1, a, 1);
	check_summary(&h, &w);
	check_json(&h, "{\"ttl\": 2, \"responders\": [{\"address\": \"192.0.2.7\", \"count\": 1}],"
		       " \"sent\": 1, \"received\": 1, \"loss_pct\": 0.0, \"last_ms\": 3.5,"
		       " \"avg_ms\": 3.5, \"best_ms\": 3.5, \"worst_ms\": 3.5, \"stdev_ms\": 0.0,"
		       " \"jitter_ms\": 0.0, \"mpls\": []}");
	hop_free(&h);
}
END_TEST

/* Several answers, in round order: the summary and the JSON numbers. */
static const struct stats_case {
	const char *name;
	int sent, n;
	struct answer a[MAX_ANSWERS];
	struct want_summary w;
	const char *json_numbers; /* the numeric fields of the JSON, as text */
} stats_cases[] = {
	/*
	 * 10, 14, 12, 16 of 5 sent: loss 100 * 1/5 = 20.  mean 52/4 = 13;
	 * deviations -3, 1, -1, 3, squares sum 20, variance 20/3 = 6.6667,
	 * stdev sqrt(6.6667) = 2.5819888974716; jitter (4 + 2 + 4)/3 = 3.3333.
	 */
	{ "four", 5, 4,
	  { { 0, 10.0, NULL }, { 1, 14.0, NULL }, { 2, 12.0, NULL }, { 3, 16.0, NULL } },
	  { 5, 4, 20.0, 16.0, 13.0, 10.0, 16.0, 2.5819888974716112, 3.3333333333333333 },
	  "\"loss_pct\": 20.0, \"last_ms\": 16.0, \"avg_ms\": 13.0, \"best_ms\": 10.0,"
	  " \"worst_ms\": 16.0, \"stdev_ms\": 2.582, \"jitter_ms\": 3.333" },
	/*
	 * 5.5, 7.25, 6.0 of 3: mean 18.75/3 = 6.25; deviations -0.75, 1, -0.25,
	 * squares 0.5625 + 1 + 0.0625 = 1.625, variance 0.8125, stdev
	 * 0.90138781886600; jitter (1.75 + 1.25)/2 = 1.5.
	 */
	{ "three", 3, 3, { { 0, 5.5, NULL }, { 1, 7.25, NULL }, { 2, 6.0, NULL } },
	  { 3, 3, 0.0, 6.0, 6.25, 5.5, 7.25, 0.9013878188659973, 1.5 },
	  "\"loss_pct\": 0.0, \"last_ms\": 6.0, \"avg_ms\": 6.25, \"best_ms\": 5.5,"
	  " \"worst_ms\": 7.25, \"stdev_ms\": 0.901, \"jitter_ms\": 1.5" },
	/*
	 * 1.25, 0.5, 3.75, 2.0, 2.125 of 6 sent, round 2 lost: loss 100/6 =
	 * 16.667.  sum 9.625, mean 1.925; deviations -0.675, -1.425, 1.825, 0.075,
	 * 0.2, squares 0.455625 + 2.030625 + 3.330625 + 0.005625 + 0.04 = 5.8625,
	 * variance 5.8625/4 = 1.465625, stdev 1.2106300012803; jitter in round
	 * order (0.75 + 3.25 + 1.75 + 0.125)/4 = 5.875/4 = 1.46875.
	 */
	{ "gap", 6, 5,
	  { { 0, 1.25, NULL }, { 1, 0.5, NULL }, { 3, 3.75, NULL }, { 4, 2.0, NULL },
	    { 5, 2.125, NULL } },
	  { 6, 5, 16.666666666666667, 2.125, 1.925, 0.5, 3.75, 1.2106300012803250, 1.46875 },
	  "\"loss_pct\": 16.667, \"last_ms\": 2.125, \"avg_ms\": 1.925, \"best_ms\": 0.5,"
	  " \"worst_ms\": 3.75, \"stdev_ms\": 1.211, \"jitter_ms\": 1.469" },
	/*
	 * Two equal answers of 4: loss 50; stdev 0, jitter 0.
	 */
	{ "equal", 4, 2, { { 1, 8.0, NULL }, { 3, 8.0, NULL } },
	  { 4, 2, 50.0, 8.0, 8.0, 8.0, 8.0, 0.0, 0.0 },
	  "\"loss_pct\": 50.0, \"last_ms\": 8.0, \"avg_ms\": 8.0, \"best_ms\": 8.0,"
	  " \"worst_ms\": 8.0, \"stdev_ms\": 0.0, \"jitter_ms\": 0.0" },
};

START_TEST(test_stats_table)
{
	const struct stats_case *c = &stats_cases[_i];
	struct hop h;
	char json[1024];

	hop_init(&h, 9);
	feed(&h, c->sent, c->a, c->n);
	check_summary(&h, &c->w);
	snprintf(json, sizeof(json),
		 "{\"ttl\": 9, \"responders\": [{\"address\": \"192.0.2.1\", \"count\": %d}],"
		 " \"sent\": %d, \"received\": %d, %s, \"mpls\": []}",
		 c->n, c->sent, c->n, c->json_numbers);
	check_json(&h, json);
	hop_free(&h);
}
END_TEST

/* The three answers of the "three" case, in every arrival order. */
static const int permutations[][3] = {
	{ 0, 1, 2 }, { 0, 2, 1 }, { 1, 0, 2 }, { 1, 2, 0 }, { 2, 0, 1 }, { 2, 1, 0 },
};

START_TEST(test_out_of_order)
{
	/* round 0: 5.5, round 1: 7.25, round 2: 6.0 -- see the "three" case */
	static const double rtt[] = { 5.5, 7.25, 6.0 };
	struct hop h;

	hop_init(&h, 9);
	feed(&h, 3, NULL, 0);
	for (int i = 0; i < 3; i++) {
		int r = permutations[_i][i];

		ck_assert_int_eq(hop_record_answer(&h, r, rtt[r], "192.0.2.1", NULL, 0), 0);
	}
	check_samples(&h, rtt, 3);
	/* identical to in-order; last is round 2's 6.0 whatever arrived last */
	check_summary(&h, &stats_cases[1].w);
	check_json(&h, "{\"ttl\": 9, \"responders\": [{\"address\": \"192.0.2.1\", \"count\": 3}],"
		       " \"sent\": 3, \"received\": 3, \"loss_pct\": 0.0, \"last_ms\": 6.0,"
		       " \"avg_ms\": 6.25, \"best_ms\": 5.5, \"worst_ms\": 7.25,"
		       " \"stdev_ms\": 0.901, \"jitter_ms\": 1.5, \"mpls\": []}");
	hop_free(&h);
}
END_TEST

START_TEST(test_duplicates)
{
	static const struct mp_mpls m1[] = { { 100, 1, true, 1 } };
	static const struct mp_mpls m2[] = { { 200, 2, true, 2 } };
	static const double rtt[] = { 5.5, 7.25, 6.0 };
	struct hop h;

	hop_init(&h, 9);
	feed(&h, 3, NULL, 0);
	ck_assert_int_eq(hop_record_answer(&h, 0, 5.5, "192.0.2.1", NULL, 0), 0);
	ck_assert_int_eq(hop_record_answer(&h, 2, 6.0, "192.0.2.1", m1, 1), 0);
	/* again, with other times, another responder and other labels */
	ck_assert_int_eq(hop_record_answer(&h, 2, 99.0, "192.0.2.1", m2, 1), 0);
	ck_assert_int_eq(hop_record_answer(&h, 0, 1.0, "192.0.2.200", NULL, 0), 0);
	ck_assert_int_eq(hop_record_answer(&h, 1, 7.25, "192.0.2.1", NULL, 0), 0);
	ck_assert_int_eq(hop_record_answer(&h, 1, 0.5, "192.0.2.1", NULL, 0), 0);
	ck_assert_int_eq(hop_record_answer(&h, 0, 5.5, "192.0.2.1", NULL, 0), 0);
	check_samples(&h, rtt, 3);
	check_summary(&h, &stats_cases[1].w);
	ck_assert_int_eq(h.n_responders, 1);
	ck_assert_int_eq(h.responders[0].count, 3);
	ck_assert_int_eq(h.mpls_count, 1);
	ck_assert_uint_eq(h.mpls[0].label, 100);
	ck_assert_int_eq(h.mpls_round, 2);
	hop_free(&h);
}
END_TEST

/* Loss percentages: sent, received, unrounded (by hand) and as in JSON. */
static const struct loss_case {
	int sent, received;
	double loss, json;
} loss_cases[] = {
	{ 3, 0, 100.0, 100.0 },
	{ 3, 1, 66.666666666666667, 66.667 },  /* 200/3 */
	{ 3, 2, 33.333333333333333, 33.333 },  /* 100/3 */
	{ 3, 3, 0.0, 0.0 },
	{ 4, 1, 75.0, 75.0 },
	{ 6, 1, 83.333333333333333, 83.333 },  /* 500/6 */
	{ 7, 1, 85.714285714285714, 85.714 },  /* 600/7 */
	{ 7, 3, 57.142857142857143, 57.143 },  /* 400/7 */
	{ 9, 2, 77.777777777777778, 77.778 },  /* 700/9 */
	{ 8, 1, 87.5, 87.5 },
	{ 1000, 999, 0.1, 0.1 },
	{ 3000, 1, 99.966666666666667, 99.967 }, /* 299900/3000 */
};

START_TEST(test_loss_table)
{
	const struct loss_case *c = &loss_cases[_i];
	struct hop h;
	struct hop_summary s;
	json_t *j;

	hop_init(&h, 1);
	for (int i = 0; i < c->sent; i++)
		hop_record_sent(&h);
	for (int i = 0; i < c->received; i++)
		ck_assert_int_eq(hop_record_answer(&h, i, 1.0, "192.0.2.1", NULL, 0), 0);
	hop_summarize(&h, &s);
	ck_assert_int_eq(s.sent, c->sent);
	ck_assert_int_eq(s.received, c->received);
	ck_assert(s.has_loss);
	check_near(s.loss_pct, c->loss, "loss_pct");
	j = hop_to_json(&h);
	ck_assert_ptr_nonnull(j);
	ck_assert(json_is_real(json_object_get(j, "loss_pct")));
	ck_assert_double_eq(json_real_value(json_object_get(j, "loss_pct")), c->json);
	json_decref(j);
	hop_free(&h);
}
END_TEST

START_TEST(test_more_answers_than_sent)
{
	struct hop h;
	struct hop_summary s;

	/* answers recorded before (or without) their sends never give negative loss */
	hop_init(&h, 1);
	ck_assert_int_eq(hop_record_answer(&h, 0, 1.0, "192.0.2.1", NULL, 0), 0);
	ck_assert_int_eq(hop_record_answer(&h, 1, 3.0, "192.0.2.1", NULL, 0), 0);
	hop_summarize(&h, &s);
	ck_assert(!s.has_loss);
	ck_assert_int_eq(s.received, 2);
	hop_record_sent(&h);
	hop_summarize(&h, &s);
	ck_assert(s.has_loss);
	ck_assert_double_eq(s.loss_pct, 0.0);
	hop_free(&h);
}
END_TEST

/* Time rounding in JSON: rtt in, the value shown (half away from zero). */
static const struct round_case {
	double rtt, json;
} round_cases[] = {
	{ 0.0625, 0.063 },       /* 62.5 us exactly: half rounds up (not to even) */
	{ 2.0625, 2.063 },       /* 2062.5 us exactly */
	{ 0.1875, 0.188 },       /* 187.5 us exactly */
	{ 1.23456, 1.235 },
	{ 1.0009765625, 1.001 }, /* 1 + 2^-10: 1000.9765625 us */
	{ 0.0004, 0.0 },
	{ 0.0, 0.0 },
	{ 12345.6784, 12345.678 },
};

START_TEST(test_round_table)
{
	const struct round_case *c = &round_cases[_i];
	struct hop h;
	json_t *j;
	static const char *const keys[] = { "last_ms", "avg_ms", "best_ms", "worst_ms" };

	hop_init(&h, 1);
	hop_record_sent(&h);
	ck_assert_int_eq(hop_record_answer(&h, 0, c->rtt, "192.0.2.1", NULL, 0), 0);
	j = hop_to_json(&h);
	ck_assert_ptr_nonnull(j);
	for (size_t k = 0; k < ARRAY_LEN(keys); k++) {
		json_t *v = json_object_get(j, keys[k]);

		ck_assert(json_is_real(v));
		ck_assert_double_eq(json_real_value(v), c->json);
		ck_assert(!signbit(json_real_value(v)));
	}
	json_decref(j);
	hop_free(&h);
}
END_TEST

START_TEST(test_responders_two)
{
	struct hop h;
	const struct answer a[] = {
		{ 0, 1.0, "192.0.2.20" }, { 1, 2.0, "2001:db8::1" }, { 2, 3.0, "192.0.2.20" },
		{ 3, 4.0, "2001:db8::1" }, { 4, 5.0, "192.0.2.20" },
	};

	hop_init(&h, 3);
	feed(&h, 5, a, (int)ARRAY_LEN(a));
	ck_assert_int_eq(h.n_responders, 2);
	ck_assert_str_eq(h.responders[0].address, "192.0.2.20");
	ck_assert_int_eq(h.responders[0].count, 3);
	ck_assert_str_eq(h.responders[1].address, "2001:db8::1");
	ck_assert_int_eq(h.responders[1].count, 2);
	/* 1..5: mean 3; squares 4+1+0+1+4 = 10, /4 = 2.5, stdev 1.5811388; jitter 1 */
	check_json(&h, "{\"ttl\": 3, \"responders\": [{\"address\": \"192.0.2.20\", \"count\": 3},"
		       " {\"address\": \"2001:db8::1\", \"count\": 2}],"
		       " \"sent\": 5, \"received\": 5, \"loss_pct\": 0.0, \"last_ms\": 5.0,"
		       " \"avg_ms\": 3.0, \"best_ms\": 1.0, \"worst_ms\": 5.0,"
		       " \"stdev_ms\": 1.581, \"jitter_ms\": 1.0, \"mpls\": []}");
	hop_free(&h);
}
END_TEST

START_TEST(test_responders_first_appearance_out_of_order)
{
	struct hop h;

	/* listed in order of first arrival, not of round */
	hop_init(&h, 3);
	ck_assert_int_eq(hop_record_answer(&h, 5, 1.0, "192.0.2.5", NULL, 0), 0);
	ck_assert_int_eq(hop_record_answer(&h, 1, 1.0, "192.0.2.1", NULL, 0), 0);
	ck_assert_int_eq(hop_record_answer(&h, 0, 1.0, "192.0.2.5", NULL, 0), 0);
	ck_assert_int_eq(h.n_responders, 2);
	ck_assert_str_eq(h.responders[0].address, "192.0.2.5");
	ck_assert_int_eq(h.responders[0].count, 2);
	ck_assert_str_eq(h.responders[1].address, "192.0.2.1");
	ck_assert_int_eq(h.responders[1].count, 1);
	hop_free(&h);
}
END_TEST

START_TEST(test_responders_overflow)
{
	struct hop h;
	struct hop_summary s;
	json_t *j, *list;
	char addr[MP_ADDR_MAX];
	int round = 0;

	hop_init(&h, 7);
	/* HOP_RESPONDERS_MAX + 4 distinct addresses, one answer each */
	for (int i = 0; i < HOP_RESPONDERS_MAX + 4; i++) {
		snprintf(addr, sizeof(addr), "198.51.100.%d", i);
		hop_record_sent(&h);
		ck_assert_int_eq(hop_record_answer(&h, round++, 1.0, addr, NULL, 0), 0);
	}
	/* a listed address and an unlisted one answer again */
	hop_record_sent(&h);
	ck_assert_int_eq(hop_record_answer(&h, round++, 1.0, "198.51.100.0", NULL, 0), 0);
	hop_record_sent(&h);
	snprintf(addr, sizeof(addr), "198.51.100.%d", HOP_RESPONDERS_MAX + 1);
	ck_assert_int_eq(hop_record_answer(&h, round++, 1.0, addr, NULL, 0), 0);

	ck_assert_int_eq(h.n_responders, HOP_RESPONDERS_MAX);
	hop_summarize(&h, &s);
	ck_assert_int_eq(s.received, HOP_RESPONDERS_MAX + 6); /* all answers counted */
	j = hop_to_json(&h);
	ck_assert_ptr_nonnull(j);
	list = json_object_get(j, "responders");
	ck_assert_uint_eq(json_array_size(list), HOP_RESPONDERS_MAX);
	for (int i = 0; i < HOP_RESPONDERS_MAX; i++) {
		json_t *r = json_array_get(list, (size_t)i);

		snprintf(addr, sizeof(addr), "198.51.100.%d", i);
		ck_assert_str_eq(json_string_value(json_object_get(r, "address")), addr);
		ck_assert_int_eq(json_integer_value(json_object_get(r, "count")), i == 0 ? 2 : 1);
	}
	json_decref(j);
	hop_free(&h);
}
END_TEST

START_TEST(test_no_responder)
{
	struct hop h;

	/* an answer without an address counts, but lists nobody */
	hop_init(&h, 1);
	ck_assert_int_eq(hop_record_answer(&h, 0, 1.0, NULL, NULL, 0), 0);
	ck_assert_int_eq(hop_record_answer(&h, 1, 1.0, "", NULL, 0), 0);
	ck_assert_int_eq(h.n_samples, 2);
	ck_assert_int_eq(h.n_responders, 0);
	hop_free(&h);
}
END_TEST

/* Label stacks the MPLS cases use. */
static const struct mp_mpls stack_a[] = { { 16001, 0, false, 255 }, { 24005, 3, true, 254 } };
static const struct mp_mpls stack_b[] = { { 1048575, 7, true, 1 } };
static const struct mp_mpls stack_big[MP_MPLS_MAX + 2] = {
	{ 1, 0, false, 1 }, { 2, 0, false, 2 }, { 3, 0, false, 3 }, { 4, 0, false, 4 },
	{ 5, 0, false, 5 }, { 6, 0, false, 6 }, { 7, 0, false, 7 }, { 8, 0, false, 8 },
	{ 9, 0, false, 9 }, { 10, 0, true, 10 },
};

/* One answer with its labels. */
struct mpls_answer {
	int round;
	const struct mp_mpls *mpls;
	int count;
};

/* Answers in arrival order and the labels expected after them (as JSON). */
static const struct mpls_case {
	const char *name;
	int n;
	struct mpls_answer a[4];
	int want_round;
	const char *want; /* the "mpls" list */
} mpls_cases[] = {
	{ "none", 0, { { 0, NULL, 0 } }, -1, "[]" },
	{ "one", 1, { { 0, stack_a, 2 } }, 0,
	  "[{\"label\": 16001, \"traffic_class\": 0, \"bottom_of_stack\": false, \"ttl\": 255},"
	  " {\"label\": 24005, \"traffic_class\": 3, \"bottom_of_stack\": true, \"ttl\": 254}]" },
	{ "later replaces", 2, { { 0, stack_a, 2 }, { 1, stack_b, 1 } }, 1,
	  "[{\"label\": 1048575, \"traffic_class\": 7, \"bottom_of_stack\": true, \"ttl\": 1}]" },
	{ "late arrival of earlier round kept out", 2, { { 1, stack_b, 1 }, { 0, stack_a, 2 } },
	  1,
	  "[{\"label\": 1048575, \"traffic_class\": 7, \"bottom_of_stack\": true, \"ttl\": 1}]" },
	{ "later without labels clears", 2, { { 0, stack_a, 2 }, { 3, NULL, 0 } }, 3, "[]" },
	{ "earlier without labels keeps", 2, { { 3, stack_a, 1 }, { 2, NULL, 0 } }, 3,
	  "[{\"label\": 16001, \"traffic_class\": 0, \"bottom_of_stack\": false, \"ttl\": 255}]" },
	{ "duplicate of latest keeps the first", 2, { { 2, stack_a, 1 }, { 2, stack_b, 1 } }, 2,
	  "[{\"label\": 16001, \"traffic_class\": 0, \"bottom_of_stack\": false, \"ttl\": 255}]" },
	{ "clamped to MP_MPLS_MAX", 1, { { 0, stack_big, MP_MPLS_MAX + 2 } }, 0,
	  "[{\"label\": 1, \"traffic_class\": 0, \"bottom_of_stack\": false, \"ttl\": 1},"
	  " {\"label\": 2, \"traffic_class\": 0, \"bottom_of_stack\": false, \"ttl\": 2},"
	  " {\"label\": 3, \"traffic_class\": 0, \"bottom_of_stack\": false, \"ttl\": 3},"
	  " {\"label\": 4, \"traffic_class\": 0, \"bottom_of_stack\": false, \"ttl\": 4},"
	  " {\"label\": 5, \"traffic_class\": 0, \"bottom_of_stack\": false, \"ttl\": 5},"
	  " {\"label\": 6, \"traffic_class\": 0, \"bottom_of_stack\": false, \"ttl\": 6},"
	  " {\"label\": 7, \"traffic_class\": 0, \"bottom_of_stack\": false, \"ttl\": 7},"
	  " {\"label\": 8, \"traffic_class\": 0, \"bottom_of_stack\": false, \"ttl\": 8}]" },
};

START_TEST(test_mpls_table)
{
	const struct mpls_case *c = &mpls_cases[_i];
	struct hop h;
	json_t *j, *want;

	hop_init(&h, 5);
	for (int i = 0; i < c->n; i++)
		ck_assert_int_eq(hop_record_answer(&h, c->a[i].round, 1.0, "192.0.2.1",
						   c->a[i].mpls, c->a[i].count), 0);
	ck_assert_int_eq(h.mpls_round, c->want_round);
	j = hop_to_json(&h);
	want = json_loads(c->want, 0, NULL);
	ck_assert_ptr_nonnull(j);
	ck_assert_ptr_nonnull(want);
	ck_assert_msg(json_equal(json_object_get(j, "mpls"), want), "case %s", c->name);
	json_decref(want);
	json_decref(j);
	hop_free(&h);
}
END_TEST

START_TEST(test_json_shape)
{
	static const char *const keys[] = {
		"ttl", "responders", "sent", "received", "loss_pct", "last_ms", "avg_ms",
		"best_ms", "worst_ms", "stdev_ms", "jitter_ms", "mpls",
	};
	struct hop h;
	const char *key;
	json_t *j, *v;
	size_t k = 0;

	hop_init(&h, 12);
	hop_record_sent(&h);
	hop_record_sent(&h);
	hop_record_sent(&h);
	ck_assert_int_eq(hop_record_answer(&h, 0, 1.5, "192.0.2.9", stack_b, 1), 0);
	ck_assert_int_eq(hop_record_answer(&h, 2, 2.5, "192.0.2.9", NULL, 0), 0);
	/* 1.5, 2.5 of 3: loss 100/3; mean 2; stdev sqrt(0.5) = 0.70711; jitter 1 */
	check_json(&h, "{\"ttl\": 12, \"responders\": [{\"address\": \"192.0.2.9\", \"count\": 2}],"
		       " \"sent\": 3, \"received\": 2, \"loss_pct\": 33.333, \"last_ms\": 2.5,"
		       " \"avg_ms\": 2.0, \"best_ms\": 1.5, \"worst_ms\": 2.5,"
		       " \"stdev_ms\": 0.707, \"jitter_ms\": 1.0, \"mpls\": []}");

	/* exactly these keys, in this order, with these types */
	j = hop_to_json(&h);
	ck_assert_ptr_nonnull(j);
	ck_assert_uint_eq(json_object_size(j), ARRAY_LEN(keys));
	json_object_foreach(j, key, v) {
		ck_assert_uint_lt(k, ARRAY_LEN(keys));
		ck_assert_str_eq(key, keys[k]);
		k++;
	}
	ck_assert(json_is_integer(json_object_get(j, "ttl")));
	ck_assert(json_is_integer(json_object_get(j, "sent")));
	ck_assert(json_is_integer(json_object_get(j, "received")));
	for (k = 4; k <= 10; k++)
		ck_assert_msg(json_is_real(json_object_get(j, keys[k])), "%s", keys[k]);
	ck_assert(json_is_array(json_object_get(j, "responders")));
	ck_assert(json_is_array(json_object_get(j, "mpls")));
	json_decref(j);
	hop_free(&h);
}
END_TEST

START_TEST(test_invalid)
{
	static const struct mp_mpls m[] = { { 1, 0, true, 1 } };
	char long_addr[MP_ADDR_MAX + 1];
	struct hop h;

	memset(long_addr, 'a', sizeof(long_addr) - 1);
	long_addr[sizeof(long_addr) - 1] = '\0';
	hop_init(&h, 1);
	hop_record_sent(&h);
	ck_assert_int_eq(hop_record_answer(NULL, 0, 1.0, "192.0.2.1", NULL, 0), -EINVAL);
	ck_assert_int_eq(hop_record_answer(&h, -1, 1.0, "192.0.2.1", NULL, 0), -EINVAL);
	ck_assert_int_eq(hop_record_answer(&h, 0, NAN, "192.0.2.1", NULL, 0), -EINVAL);
	ck_assert_int_eq(hop_record_answer(&h, 0, INFINITY, "192.0.2.1", NULL, 0), -EINVAL);
	ck_assert_int_eq(hop_record_answer(&h, 0, -0.5, "192.0.2.1", NULL, 0), -EINVAL);
	ck_assert_int_eq(hop_record_answer(&h, 0, 1e300, "192.0.2.1", NULL, 0), -EINVAL);
	ck_assert_int_eq(hop_record_answer(&h, 0, 1.0, "192.0.2.1", m, -1), -EINVAL);
	ck_assert_int_eq(hop_record_answer(&h, 0, 1.0, "192.0.2.1", NULL, 1), -EINVAL);
	ck_assert_int_eq(hop_record_answer(&h, 0, 1.0, long_addr, NULL, 0), -EINVAL);
	/* nothing changed */
	ck_assert_int_eq(h.n_samples, 0);
	ck_assert_int_eq(h.n_responders, 0);
	ck_assert_int_eq(h.mpls_round, -1);
	check_json(&h, "{\"ttl\": 1, \"responders\": [], \"sent\": 1, \"received\": 0,"
		       " \"loss_pct\": 100.0, \"last_ms\": null, \"avg_ms\": null,"
		       " \"best_ms\": null, \"worst_ms\": null, \"stdev_ms\": null,"
		       " \"jitter_ms\": null, \"mpls\": []}");
	ck_assert_ptr_null(hop_to_json(NULL));
	hop_free(&h);
}
END_TEST

START_TEST(test_free)
{
	struct hop h;
	struct hop *z = calloc(1, sizeof(*z));
	struct hop_summary s;

	ck_assert_ptr_nonnull(z);
	hop_free(z);                       /* zeroed, never initialised */
	ck_assert_int_eq(hop_record_answer(z, 0, 1.0, "192.0.2.1", NULL, 0), 0);
	hop_free(z);
	hop_free(z);                       /* freed twice */
	free(z);
	hop_free(NULL);

	hop_init(&h, 3);
	ck_assert_int_eq(hop_record_answer(&h, 0, 1.0, "192.0.2.1", NULL, 0), 0);
	hop_free(&h);
	hop_free(&h);
	ck_assert_ptr_null(h.samples);
	ck_assert_int_eq(h.n_samples, 0);
	hop_summarize(&h, &s);
	ck_assert(!s.has_rtt);
	hop_summarize(NULL, &s);
	ck_assert_int_eq(s.sent, 0);
	hop_summarize(&h, NULL);
}
END_TEST

START_TEST(test_many_reverse)
{
	enum { N = 5000 };
	struct hop h;
	struct hop_summary s;

	/* N rounds arriving last-first, then every one again as a duplicate */
	hop_init(&h, 1);
	for (int r = N - 1; r >= 0; r--)
		ck_assert_int_eq(hop_record_answer(&h, r, (double)r, "192.0.2.1", NULL, 0), 0);
	for (int r = 0; r < N; r++)
		ck_assert_int_eq(hop_record_answer(&h, r, 1e6, "192.0.2.1", NULL, 0), 0);
	ck_assert_int_eq(h.n_samples, N);
	for (int i = 0; i < N; i++)
		ck_assert_int_eq(h.samples[i].round, i);
	hop_summarize(&h, &s);
	/* 0..4999: mean 4999/2 = 2499.5, last 4999, jitter 1 */
	check_near(s.avg_ms, 2499.5, "avg_ms");
	check_near(s.last_ms, 4999.0, "last_ms");
	check_near(s.jitter_ms, 1.0, "jitter_ms");
	/* sample stdev of 0..n-1: sqrt(n(n+1)/12) = sqrt(2083750) = 1443.52000 */
	ck_assert(fabs(s.stdev_ms - 1443.5200033252) < 1e-6);
	ck_assert_int_eq(h.responders[0].count, N);
	hop_free(&h);
}
END_TEST

START_TEST(test_stability)
{
	struct hop h;
	struct hop_summary s;

	/*
	 * 1e9 + 0.1, + 0.2, + 0.3 ms: stdev 0.1 and jitter 0.1 (up to the
	 * 1.2e-7 spacing of doubles near 1e9).  A one-pass sum of squares
	 * (~3e18, spacing 512) would lose them completely.
	 */
	hop_init(&h, 1);
	ck_assert_int_eq(hop_record_answer(&h, 0, 1e9 + 0.1, "192.0.2.1", NULL, 0), 0);
	ck_assert_int_eq(hop_record_answer(&h, 1, 1e9 + 0.2, "192.0.2.1", NULL, 0), 0);
	ck_assert_int_eq(hop_record_answer(&h, 2, 1e9 + 0.3, "192.0.2.1", NULL, 0), 0);
	hop_summarize(&h, &s);
	ck_assert(fabs(s.stdev_ms - 0.1) < 1e-6);
	ck_assert(fabs(s.jitter_ms - 0.1) < 1e-6);
	ck_assert(fabs(s.avg_ms - (1e9 + 0.2)) < 1e-6);
	hop_free(&h);
}
END_TEST

/* All hop statistics tests in one suite. */
static Suite *hopstats_suite(void)
{
	Suite *s = suite_create("hopstats");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_no_answers);
	tcase_add_test(tc, test_nothing_sent);
	tcase_add_test(tc, test_one_answer);
	tcase_add_loop_test(tc, test_stats_table, 0, (int)ARRAY_LEN(stats_cases));
	tcase_add_loop_test(tc, test_out_of_order, 0, (int)ARRAY_LEN(permutations));
	tcase_add_test(tc, test_duplicates);
	tcase_add_loop_test(tc, test_loss_table, 0, (int)ARRAY_LEN(loss_cases));
	tcase_add_test(tc, test_more_answers_than_sent);
	tcase_add_loop_test(tc, test_round_table, 0, (int)ARRAY_LEN(round_cases));
	tcase_add_test(tc, test_responders_two);
	tcase_add_test(tc, test_responders_first_appearance_out_of_order);
	tcase_add_test(tc, test_responders_overflow);
	tcase_add_test(tc, test_no_responder);
	tcase_add_loop_test(tc, test_mpls_table, 0, (int)ARRAY_LEN(mpls_cases));
	tcase_add_test(tc, test_json_shape);
	tcase_add_test(tc, test_invalid);
	tcase_add_test(tc, test_free);
	tcase_add_test(tc, test_many_reverse);
	tcase_add_test(tc, test_stability);
	suite_add_tcase(s, tc);
	return s;
}

/* Run the suite; the exit status is non-zero when any test failed. */
int main(void)
{
	SRunner *sr = srunner_create(hopstats_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
