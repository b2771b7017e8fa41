/*
 * Unit tests of a monitor's numbers: histogram bounds and buckets, the
 * ring of cycles and the statistics over it.  Every expected number is a
 * literal worked out by hand (the working is in the comments), never by
 * calling the formula under test.
 *
 * Quantiles are R's type 7 (numpy's default): with n sorted values x[0..
 * n-1], h = (n - 1) q and the quantile is x[floor h] + (h - floor h)
 * (x[floor h + 1] - x[floor h]).
 *
 * RTTs are stored as floats: the times used here (0.5, 1.25, 2.0, 3.75,
 * ...) are exact in a float, so what comes back is the literal exactly;
 * interpolated numbers are compared to within EPS.
 */
#include <check.h>
#include <errno.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/mstats.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define EPS 1e-9

/* Assert that two doubles agree to within EPS. */
static void check_near(double got, double want, const char *what)
{
	ck_assert_msg(fabs(got - want) <= EPS, "%s: got %.17g, want %.17g", what, got, want);
}

/* Assert that b holds exactly the n bounds le. */
static void check_bounds(const struct mhist_bounds *b, const double *le, int n)
{
	ck_assert_int_eq(b->n, n);
	for (int i = 0; i < n; i++)
		ck_assert_msg(b->le[i] == le[i], "le[%d]: got %.17g, want %.17g", i, b->le[i],
			      le[i]);
}

START_TEST(test_doubling)
{
	/* 50 us, then twice as much each time: 100 us, 200 us, 400 us */
	static const double want[] = { 0.00005, 0.0001, 0.0002, 0.0004 };
	struct mhist_bounds b;

	mhist_bounds_doubling(&b, 0.00005, 4);
	check_bounds(&b, want, 4);
}
END_TEST

START_TEST(test_doubling_clamped)
{
	struct mhist_bounds b;

	/* n below 1: one bound */
	mhist_bounds_doubling(&b, 0.00005, 0);
	ck_assert_int_eq(b.n, 1);
	ck_assert(b.le[0] == 0.00005);
	mhist_bounds_doubling(&b, 0.00005, -3);
	ck_assert_int_eq(b.n, 1);
	ck_assert(b.le[0] == 0.00005);

	/*
	 * n above MHIST_BOUNDS_MAX (32): 32 bounds, the last 0.00005 * 2^31 =
	 * 0.00005 * 2147483648 = 107374.1824 (doubling by a power of two is
	 * exact, so it is the double nearest that decimal).
	 */
	mhist_bounds_doubling(&b, 0.00005, 100);
	ck_assert_int_eq(b.n, MHIST_BOUNDS_MAX);
	ck_assert(b.le[0] == 0.00005);
	ck_assert(b.le[1] == 0.0001);
	ck_assert(b.le[10] == 0.0512);     /* 0.00005 * 1024 */
	ck_assert(b.le[20] == 52.4288);    /* 0.00005 * 1048576 */
	ck_assert(b.le[31] == 107374.1824);

	/* an unusable first bound means 50 us */
	mhist_bounds_doubling(&b, 0.0, 2);
	ck_assert_int_eq(b.n, 2);
	ck_assert(b.le[0] == 0.00005);
	ck_assert(b.le[1] == 0.0001);
	mhist_bounds_doubling(&b, -1.0, 1);
	ck_assert(b.le[0] == 0.00005);
	mhist_bounds_doubling(&b, NAN, 1);
	ck_assert(b.le[0] == 0.00005);

	/*
	 * 1e300 doubled stays finite up to 1e300 * 2^27 = 1.34e308 (DBL_MAX
	 * is 1.798e308); 2^28 would overflow: bounds 2^0 .. 2^27, 28 of them.
	 */
	mhist_bounds_doubling(&b, 1e300, 32);
	ck_assert_int_eq(b.n, 28);
	ck_assert(isfinite(b.le[27]));

	mhist_bounds_doubling(NULL, 1.0, 3);
}
END_TEST

/* A list that parses, and the bounds it gives. */
static const struct parse_case {
	const char *text;
	int n;
	double le[4];
} parse_cases[] = {
	{ "0.00005, 0.0001", 2, { 0.00005, 0.0001 } },
	{ "0.00005,0.0001,0.0002,0.0004", 4, { 0.00005, 0.0001, 0.0002, 0.0004 } },
	{ "5e-05", 1, { 0.00005 } },
	{ "5e-05,1E-4 , 2.5e-4\t,1", 4, { 0.00005, 0.0001, 0.00025, 1.0 } },
	{ "  1  ", 1, { 1.0 } },
	{ "\t0.5,\t2", 2, { 0.5, 2.0 } },
	{ ".5,1.", 2, { 0.5, 1.0 } },
	{ "1e+1,1e2", 2, { 10.0, 100.0 } },
	{ "007,8", 2, { 7.0, 8.0 } },
	{ "0.001,0.0010001", 2, { 0.001, 0.0010001 } },
};

START_TEST(test_parse_valid)
{
	const struct parse_case *c = &parse_cases[_i];
	struct mhist_bounds b;

	mhist_bounds_doubling(&b, 0.00005, 10);
	ck_assert_msg(mhist_bounds_parse(&b, c->text) == 0, "text \"%s\"", c->text);
	check_bounds(&b, c->le, c->n);
}
END_TEST

START_TEST(test_parse_max)
{
	/* "1,2,...,32": 32 bounds, 1 to 32; "...,33" is one too many */
	char text[256];
	size_t len = 0;
	struct mhist_bounds b, before;

	for (int i = 1; i <= MHIST_BOUNDS_MAX; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len, "%s%d", i > 1 ? "," : "",
					i);
	ck_assert_int_eq(mhist_bounds_parse(&b, text), 0);
	ck_assert_int_eq(b.n, MHIST_BOUNDS_MAX);
	ck_assert(b.le[0] == 1.0);
	ck_assert(b.le[15] == 16.0);
	ck_assert(b.le[31] == 32.0);

	snprintf(text + len, sizeof(text) - len, ",33");
	before = b;
	ck_assert_int_eq(mhist_bounds_parse(&b, text), -EINVAL);
	ck_assert(memcmp(&b, &before, sizeof(b)) == 0);
}
END_TEST

/* Lists that are refused. */
static const char *const bad_texts[] = {
	"",             /* empty */
	"   ",
	"\t",
	",",            /* empty items */
	"1,",
	",1",
	"1,,2",
	"1, ,2",
	"1 2",          /* junk */
	"1;2",
	"1.5.2",
	"1e5x",
	"e5",
	".",
	"1e",
	"1e+",
	"0x10",         /* no hex, inf, nan */
	"0x1p-4",
	"inf",
	"infinity",
	"nan",
	"1,inf",
	"+1",           /* no sign */
	"-1",
	"1\n",          /* only spaces and tabs are blanks */
	"0",            /* not > 0 */
	"0.0",
	"0e5",
	"0.5,0",
	"1,1",          /* not strictly increasing */
	"2,1",
	"0.0001,0.00005",
	"1e999",        /* overflows a double */
	"1e-400",       /* underflows it */
};

START_TEST(test_parse_invalid)
{
	const char *text = bad_texts[_i];
	struct mhist_bounds b, before;

	mhist_bounds_doubling(&b, 0.00005, 5);
	before = b;
	ck_assert_msg(mhist_bounds_parse(&b, text) == -EINVAL, "text \"%s\"", text);
	/* b unchanged */
	ck_assert(memcmp(&b, &before, sizeof(b)) == 0);
}
END_TEST

START_TEST(test_parse_null)
{
	struct mhist_bounds b, before;

	mhist_bounds_doubling(&b, 0.00005, 3);
	before = b;
	ck_assert_int_eq(mhist_bounds_parse(&b, NULL), -EINVAL);
	ck_assert(memcmp(&b, &before, sizeof(b)) == 0);
	ck_assert_int_eq(mhist_bounds_parse(NULL, "1"), -EINVAL);
}
END_TEST

START_TEST(test_observe)
{
	/* bounds 0.25, 0.5, 1: buckets le=0.25, le=0.5, le=1, +Inf (index 3) */
	static const struct mhist_bounds b = { { 0.25, 0.5, 1.0 }, 3 };
	struct mhist h;

	memset(&h, 0, sizeof(h));
	mhist_observe(&h, &b, 0.25);   /* equal to bound 0: bucket 0 */
	mhist_observe(&h, &b, 0.375);  /* bucket 1 */
	mhist_observe(&h, &b, 0.5);    /* equal to bound 1: bucket 1 */
	mhist_observe(&h, &b, 1.0);    /* equal to the last bound: bucket 2 */
	mhist_observe(&h, &b, 1.5);    /* above the last: +Inf */
	mhist_observe(&h, &b, 8.0);    /* +Inf */
	mhist_observe(&h, &b, -2.0);   /* negative: counts as 0, bucket 0 */
	mhist_observe(&h, &b, NAN);    /* NaN: counts as 0, bucket 0 */
	mhist_observe(&h, &b, 0.0);    /* bucket 0 */
	ck_assert_uint_eq(h.bucket[0], 4);
	ck_assert_uint_eq(h.bucket[1], 2);
	ck_assert_uint_eq(h.bucket[2], 1);
	ck_assert_uint_eq(h.bucket[3], 2);
	for (int i = 4; i <= MHIST_BOUNDS_MAX; i++)
		ck_assert_uint_eq(h.bucket[i], 0);
	ck_assert_uint_eq(h.count, 9);
	/* 0.25 + 0.375 + 0.5 + 1 + 1.5 + 8 + 0 + 0 + 0 = 11.625, exact */
	ck_assert(h.sum == 11.625);

	/* cumulative: 4, 4 + 2 = 6, 6 + 1 = 7, 7 + 2 = 9 == count */
	ck_assert_uint_eq(mhist_cumulative(&h, 0), 4);
	ck_assert_uint_eq(mhist_cumulative(&h, 1), 6);
	ck_assert_uint_eq(mhist_cumulative(&h, 2), 7);
	ck_assert_uint_eq(mhist_cumulative(&h, b.n), 9);
	ck_assert_uint_eq(mhist_cumulative(&h, MHIST_BOUNDS_MAX), 9);
	ck_assert_uint_eq(mhist_cumulative(&h, MHIST_BOUNDS_MAX + 5), 9);
	ck_assert_uint_eq(mhist_cumulative(&h, -1), 0);
	ck_assert_uint_eq(mhist_cumulative(NULL, 2), 0);

	mhist_observe(NULL, &b, 1.0);
	mhist_observe(&h, NULL, 1.0);
	ck_assert_uint_eq(h.count, 9);
}
END_TEST

START_TEST(test_observe_default_bounds)
{
	/* 50, 100, 200, 400 us: decimal values equal to a bound stay in it */
	struct mhist_bounds b;
	struct mhist h;

	mhist_bounds_doubling(&b, 0.00005, 4);
	memset(&h, 0, sizeof(h));
	mhist_observe(&h, &b, 0.00005);  /* bucket 0 */
	mhist_observe(&h, &b, 0.0001);   /* bucket 1 */
	mhist_observe(&h, &b, 0.00015);  /* bucket 2 */
	mhist_observe(&h, &b, 0.0004);   /* bucket 3 */
	mhist_observe(&h, &b, 0.00041);  /* +Inf, index 4 */
	mhist_observe(&h, &b, 0.00004);  /* bucket 0 */
	ck_assert_uint_eq(h.bucket[0], 2);
	ck_assert_uint_eq(h.bucket[1], 1);
	ck_assert_uint_eq(h.bucket[2], 1);
	ck_assert_uint_eq(h.bucket[3], 1);
	ck_assert_uint_eq(h.bucket[4], 1);
	ck_assert_uint_eq(h.count, 6);
	/* 0.00005 + 0.0001 + 0.00015 + 0.0004 + 0.00041 + 0.00004 = 0.00115 */
	ck_assert(fabs(h.sum - 0.00115) < 1e-15);
	ck_assert_uint_eq(mhist_cumulative(&h, 3), 5);
	ck_assert_uint_eq(mhist_cumulative(&h, 4), 6);
}
END_TEST

/* n sorted values and their quantiles at q = 0, 0.5, 0.9, 0.99, 1. */
static const double quantile_qs[] = { 0.0, 0.5, 0.9, 0.99, 1.0 };
static const struct quantile_case {
	int n;
	double x[10];
	double want[5];
} quantile_cases[] = {
	/* n = 1: h = 0 whatever q, always x[0] */
	{ 1, { 3.5 }, { 3.5, 3.5, 3.5, 3.5, 3.5 } },
	/*
	 * n = 2, 1 and 3: h = q.  0.5: 1 + 0.5 * 2 = 2; 0.9: 1 + 0.9 * 2 =
	 * 2.8; 0.99: 1 + 0.99 * 2 = 2.98; 1: h = 1, x[1] = 3.
	 */
	{ 2, { 1.0, 3.0 }, { 1.0, 2.0, 2.8, 2.98, 3.0 } },
	/*
	 * n = 5, 1 2 4 8 16: h = 4q.  0.5: h = 2, x[2] = 4; 0.9: h = 3.6,
	 * 8 + 0.6 * (16 - 8) = 12.8; 0.99: h = 3.96, 8 + 0.96 * 8 = 15.68;
	 * 1: x[4] = 16.
	 */
	{ 5, { 1.0, 2.0, 4.0, 8.0, 16.0 }, { 1.0, 4.0, 12.8, 15.68, 16.0 } },
	/*
	 * n = 10, 0.5 1 1.5 2 3 4 5 7 9 12: h = 9q.  0.5: h = 4.5, 3 + 0.5 *
	 * (4 - 3) = 3.5; 0.9: h = 8.1, 9 + 0.1 * (12 - 9) = 9.3; 0.99: h =
	 * 8.91, 9 + 0.91 * 3 = 11.73; 1: x[9] = 12.
	 */
	{ 10, { 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 7.0, 9.0, 12.0 },
	  { 0.5, 3.5, 9.3, 11.73, 12.0 } },
	/* n = 4, all equal: every quantile is that value */
	{ 4, { 2.5, 2.5, 2.5, 2.5 }, { 2.5, 2.5, 2.5, 2.5, 2.5 } },
};

START_TEST(test_quantile)
{
	const struct quantile_case *c = &quantile_cases[_i];

	for (size_t k = 0; k < ARRAY_LEN(quantile_qs); k++) {
		double got = mstats_quantile(c->x, c->n, quantile_qs[k]);

		ck_assert_msg(fabs(got - c->want[k]) <= EPS, "n %d q %g: got %.17g, want %.17g",
			      c->n, quantile_qs[k], got, c->want[k]);
	}
	/* q = 0 and q = 1 are the extremes exactly */
	ck_assert(mstats_quantile(c->x, c->n, 0.0) == c->x[0]);
	ck_assert(mstats_quantile(c->x, c->n, 1.0) == c->x[c->n - 1]);
	/* q outside 0..1 is clamped; NaN counts as 0 */
	ck_assert(mstats_quantile(c->x, c->n, -0.5) == c->x[0]);
	ck_assert(mstats_quantile(c->x, c->n, 1.5) == c->x[c->n - 1]);
	ck_assert(mstats_quantile(c->x, c->n, -INFINITY) == c->x[0]);
	ck_assert(mstats_quantile(c->x, c->n, INFINITY) == c->x[c->n - 1]);
	ck_assert(mstats_quantile(c->x, c->n, NAN) == c->x[0]);
}
END_TEST

START_TEST(test_quantile_degenerate)
{
	static const double x[] = { 1.0 };

	ck_assert(mstats_quantile(x, 0, 0.5) == 0.0);
	ck_assert(mstats_quantile(x, -1, 0.5) == 0.0);
	ck_assert(mstats_quantile(NULL, 3, 0.5) == 0.0);
}
END_TEST

START_TEST(test_ring_init)
{
	struct mring r;

	ck_assert_int_eq(mring_init(&r, 0, 1), -EINVAL);
	ck_assert_ptr_null(r.cycle);
	ck_assert_int_eq(mring_init(&r, 1, 0), -EINVAL);
	ck_assert_int_eq(mring_init(&r, -1, 4), -EINVAL);
	ck_assert_int_eq(mring_init(&r, INT_MAX, 2), -EINVAL);
	ck_assert_int_eq(mring_init(NULL, 1, 1), -EINVAL);
	mring_free(&r);

	ck_assert_int_eq(mring_init(&r, 3, 2), 0);
	ck_assert_int_eq(r.cycles, 3);
	ck_assert_int_eq(r.per_cycle, 2);
	ck_assert_int_eq(r.n, 0);
	ck_assert_ptr_null(mring_cycle(&r, 0));
	ck_assert_ptr_null(mring_samples(&r, 0));
	ck_assert(!mring_set(&r, 0, 0, MSAMPLE_REPLY, 1.0)); /* no cycle yet */
	mring_free(&r);
	mring_free(&r);
	ck_assert_ptr_null(r.cycle);
	ck_assert_ptr_null(r.sample);
	ck_assert_int_eq(r.cycles, 0);
	/* a freed ring takes nothing */
	ck_assert_int_eq(mring_begin(&r, 1, 0.0, 0.0), -1);
	ck_assert(!mring_set(&r, 1, 0, MSAMPLE_REPLY, 1.0));
	mring_free(NULL);
	ck_assert_int_eq(mring_begin(NULL, 1, 0.0, 0.0), -1);
}
END_TEST

/* Assert the cycle of age in r is seq, start, late. */
static void check_cycle(const struct mring *r, int age, uint64_t seq, double start, double late)
{
	const struct mcycle *c = mring_cycle(r, age);

	ck_assert_ptr_nonnull(c);
	ck_assert_uint_eq(c->seq, seq);
	ck_assert(c->start == start);
	ck_assert(c->late == late);
}

START_TEST(test_ring_wrap)
{
	struct mring r;
	const struct msample *s;

	ck_assert_int_eq(mring_init(&r, 3, 2), 0);
	/* slots 0, 1, 2, then around: 0, 1 */
	ck_assert_int_eq(mring_begin(&r, 1, 100.0, 0.0), 0);
	ck_assert_int_eq(r.n, 1);
	ck_assert(mring_set(&r, 1, 0, MSAMPLE_REPLY, 1.25));
	ck_assert(mring_set(&r, 1, 1, MSAMPLE_LOST, 0.0));
	ck_assert_int_eq(mring_begin(&r, 2, 101.0, 0.5), 1);
	ck_assert_int_eq(r.n, 2);
	ck_assert_int_eq(mring_begin(&r, 3, 102.0, 0.25), 2);
	ck_assert_int_eq(r.n, 3);
	check_cycle(&r, 0, 3, 102.0, 0.25);
	check_cycle(&r, 1, 2, 101.0, 0.5);
	check_cycle(&r, 2, 1, 100.0, 0.0);
	s = mring_samples(&r, 2);
	ck_assert_int_eq(s[0].state, MSAMPLE_REPLY);
	ck_assert(s[0].rtt_ms == 1.25f);
	ck_assert_int_eq(s[1].state, MSAMPLE_LOST);

	/* full: 4 replaces 1 in slot 0, 5 replaces 2 in slot 1 (late < 0 stored as 0) */
	ck_assert_int_eq(mring_begin(&r, 4, 103.0, 1.5), 0);
	ck_assert_int_eq(mring_begin(&r, 5, 104.0, -1.0), 1);
	ck_assert_int_eq(r.n, 3);
	ck_assert_int_eq(r.head, 1);
	check_cycle(&r, 0, 5, 104.0, 0.0);
	check_cycle(&r, 1, 4, 103.0, 1.5);
	check_cycle(&r, 2, 3, 102.0, 0.25);
	ck_assert_ptr_null(mring_cycle(&r, 3));
	ck_assert_ptr_null(mring_cycle(&r, -1));
	ck_assert_ptr_null(mring_samples(&r, 3));

	/* cycle 4 took slot 0: cycle 1's outcomes are gone */
	s = mring_samples(&r, 1);
	ck_assert_int_eq(s[0].state, MSAMPLE_NONE);
	ck_assert(s[0].rtt_ms == 0.0f);
	ck_assert_int_eq(s[1].state, MSAMPLE_NONE);

	/* cycles that have left, and one not begun yet */
	ck_assert(!mring_set(&r, 1, 0, MSAMPLE_REPLY, 2.0));
	ck_assert(!mring_set(&r, 2, 0, MSAMPLE_REPLY, 2.0));
	ck_assert(!mring_set(&r, 6, 0, MSAMPLE_REPLY, 2.0));
	/* probe index out of range, unknown state */
	ck_assert(!mring_set(&r, 3, -1, MSAMPLE_REPLY, 2.0));
	ck_assert(!mring_set(&r, 3, 2, MSAMPLE_REPLY, 2.0));
	ck_assert(!mring_set(&r, 3, 0, (enum msample_state)9, 2.0));
	for (int age = 0; age < 3; age++) {
		s = mring_samples(&r, age);
		ck_assert_int_eq(s[0].state, MSAMPLE_NONE);
		ck_assert_int_eq(s[1].state, MSAMPLE_NONE);
	}

	/* the oldest held cycle still takes outcomes, in its own samples */
	ck_assert(mring_set(&r, 3, 1, MSAMPLE_REPLY, 3.75));
	s = mring_samples(&r, 2);
	ck_assert_int_eq(s[1].state, MSAMPLE_REPLY);
	ck_assert(s[1].rtt_ms == 3.75f);
	ck_assert_int_eq(s[0].state, MSAMPLE_NONE);
	ck_assert_int_eq(mring_samples(&r, 0)[1].state, MSAMPLE_NONE);
	ck_assert_int_eq(mring_samples(&r, 1)[1].state, MSAMPLE_NONE);
	mring_free(&r);
}
END_TEST

START_TEST(test_ring_overwrite_sample)
{
	struct mring r;
	const struct msample *s;

	ck_assert_int_eq(mring_init(&r, 2, 1), 0);
	ck_assert_int_eq(mring_begin(&r, 7, 1.0, 0.0), 0);
	s = mring_samples(&r, 0);
	ck_assert(mring_set(&r, 7, 0, MSAMPLE_PENDING, 0.0));
	ck_assert_int_eq(s[0].state, MSAMPLE_PENDING);
	/* a later outcome replaces the earlier one */
	ck_assert(mring_set(&r, 7, 0, MSAMPLE_REPLY, 2.0));
	ck_assert_int_eq(s[0].state, MSAMPLE_REPLY);
	ck_assert(s[0].rtt_ms == 2.0f);
	ck_assert(mring_set(&r, 7, 0, MSAMPLE_LOST, 5.0)); /* rtt kept for replies only */
	ck_assert_int_eq(s[0].state, MSAMPLE_LOST);
	ck_assert(s[0].rtt_ms == 0.0f);
	ck_assert(mring_set(&r, 7, 0, MSAMPLE_REPLY, 0.5));
	ck_assert_int_eq(s[0].state, MSAMPLE_REPLY);
	ck_assert(s[0].rtt_ms == 0.5f);
	/* impossible times */
	ck_assert(mring_set(&r, 7, 0, MSAMPLE_REPLY, -1.0));
	ck_assert(s[0].rtt_ms == 0.0f);
	ck_assert(mring_set(&r, 7, 0, MSAMPLE_REPLY, NAN));
	ck_assert(s[0].rtt_ms == 0.0f);
	ck_assert(mring_set(&r, 7, 0, MSAMPLE_REPLY, 1e300));
	ck_assert(s[0].rtt_ms == FLT_MAX);
	ck_assert(mring_set(&r, 7, 0, MSAMPLE_ERROR, 1.0));
	ck_assert_int_eq(s[0].state, MSAMPLE_ERROR);
	mring_free(&r);
}
END_TEST

START_TEST(test_ring_seq_gaps)
{
	struct mring r;

	/*
	 * Seqs 1, 2, 5 (3 and 4 skipped): seq 3 would be at age 5 - 3 = 2,
	 * where cycle 1 is: refused, not written there.  Seq 2 is at age 1,
	 * not 5 - 2 = 3: still found.
	 */
	ck_assert_int_eq(mring_init(&r, 3, 1), 0);
	mring_begin(&r, 1, 0.0, 0.0);
	mring_begin(&r, 2, 1.0, 0.0);
	mring_begin(&r, 5, 2.0, 0.0);
	ck_assert(!mring_set(&r, 3, 0, MSAMPLE_REPLY, 1.0));
	ck_assert(!mring_set(&r, 4, 0, MSAMPLE_REPLY, 1.0));
	ck_assert_int_eq(mring_samples(&r, 2)[0].state, MSAMPLE_NONE);
	ck_assert(mring_set(&r, 2, 0, MSAMPLE_REPLY, 1.25));
	ck_assert_int_eq(mring_samples(&r, 1)[0].state, MSAMPLE_REPLY);
	ck_assert(mring_samples(&r, 1)[0].rtt_ms == 1.25f);
	ck_assert(mring_set(&r, 1, 0, MSAMPLE_LOST, 0.0));
	ck_assert_int_eq(mring_samples(&r, 2)[0].state, MSAMPLE_LOST);
	ck_assert(mring_set(&r, 5, 0, MSAMPLE_ERROR, 0.0));
	ck_assert_int_eq(mring_samples(&r, 0)[0].state, MSAMPLE_ERROR);

	/* seq above the newest, and the largest seq */
	ck_assert(!mring_set(&r, 6, 0, MSAMPLE_REPLY, 1.0));
	mring_begin(&r, UINT64_MAX, 3.0, 0.0);
	ck_assert(mring_set(&r, UINT64_MAX, 0, MSAMPLE_REPLY, 0.5));
	ck_assert(!mring_set(&r, 1, 0, MSAMPLE_REPLY, 1.0)); /* pushed out */
	ck_assert(mring_set(&r, 2, 0, MSAMPLE_REPLY, 1.0));
	mring_free(&r);
}
END_TEST

/* Assert the statistics with RTT data. */
struct want_stats {
	int sent, received;
	double loss_pct, min_ms, max_ms, mean_ms, median_ms, p90_ms, p99_ms, jitter_ms;
};

static void check_stats(const struct mstats *s, const struct want_stats *w)
{
	ck_assert_int_eq(s->sent, w->sent);
	ck_assert_int_eq(s->received, w->received);
	ck_assert(s->has_loss);
	ck_assert(s->has_rtt);
	check_near(s->loss_pct, w->loss_pct, "loss_pct");
	check_near(s->min_ms, w->min_ms, "min_ms");
	check_near(s->max_ms, w->max_ms, "max_ms");
	check_near(s->mean_ms, w->mean_ms, "mean_ms");
	check_near(s->median_ms, w->median_ms, "median_ms");
	check_near(s->p90_ms, w->p90_ms, "p90_ms");
	check_near(s->p99_ms, w->p99_ms, "p99_ms");
	check_near(s->jitter_ms, w->jitter_ms, "jitter_ms");
}

START_TEST(test_compute_mixed)
{
	struct mring r;
	struct mstats s;
	/*
	 * Cycle 1: reply 1.25, lost, reply 0.5, pending.
	 * Cycle 2: reply 3.75, none, error, reply 2.0.
	 * Sent: 3 + 3 = 6 (pending and none not counted); received 4; loss
	 * 100 * 2/6 = 33.333.  RTTs in send order 1.25, 0.5, 3.75, 2.0: min
	 * 0.5, max 3.75, mean 7.5/4 = 1.875.  Sorted 0.5 1.25 2 3.75, h = 3q:
	 * median h = 1.5, 1.25 + 0.5 * 0.75 = 1.625; p90 h = 2.7, 2 + 0.7 *
	 * 1.75 = 3.225; p99 h = 2.97, 2 + 0.97 * 1.75 = 3.6975.  Jitter
	 * (0.75 + 3.25 + 1.75)/3 = 5.75/3 = 1.9166667.
	 */
	const struct want_stats w = { 6, 4, 33.333333333333333, 0.5, 3.75, 1.875,
				      1.625, 3.225, 3.6975, 1.9166666666666667 };

	ck_assert_int_eq(mring_init(&r, 3, 4), 0);
	mring_begin(&r, 1, 10.0, 0.0);
	ck_assert(mring_set(&r, 1, 0, MSAMPLE_REPLY, 1.25));
	ck_assert(mring_set(&r, 1, 1, MSAMPLE_LOST, 0.0));
	ck_assert(mring_set(&r, 1, 2, MSAMPLE_REPLY, 0.5));
	ck_assert(mring_set(&r, 1, 3, MSAMPLE_PENDING, 0.0));
	mring_begin(&r, 2, 11.0, 0.0);
	ck_assert(mring_set(&r, 2, 0, MSAMPLE_REPLY, 3.75));
	ck_assert(mring_set(&r, 2, 2, MSAMPLE_ERROR, 0.0));
	ck_assert(mring_set(&r, 2, 3, MSAMPLE_REPLY, 2.0));
	ck_assert_int_eq(mstats_compute(&r, &s), 0);
	check_stats(&s, &w);
	mring_free(&r);
}
END_TEST

START_TEST(test_compute_wrapped_order)
{
	struct mring r;
	struct mstats s;
	/*
	 * 2 cycles of 2: cycle 1 (replies of 100) is pushed out by cycle 3,
	 * which takes slot 0 before cycle 2's slot 1.  Oldest first: cycle 2
	 * 1, 4, cycle 3 2, 8: jitter (3 + 2 + 6)/3 = 11/3 = 3.6666667 (in
	 * slot order, 2 8 1 4, it would be (6 + 7 + 3)/3 = 5.333).  Sent 4,
	 * received 4, loss 0; min 1, max 8, mean 15/4 = 3.75.  Sorted 1 2 4
	 * 8, h = 3q: median h = 1.5, 2 + 0.5 * 2 = 3; p90 h = 2.7, 4 + 0.7 *
	 * 4 = 6.8; p99 h = 2.97, 4 + 0.97 * 4 = 7.88.
	 */
	const struct want_stats w = { 4, 4, 0.0, 1.0, 8.0, 3.75, 3.0, 6.8, 7.88,
				      3.6666666666666667 };

	ck_assert_int_eq(mring_init(&r, 2, 2), 0);
	mring_begin(&r, 1, 0.0, 0.0);
	ck_assert(mring_set(&r, 1, 0, MSAMPLE_REPLY, 100.0));
	ck_assert(mring_set(&r, 1, 1, MSAMPLE_REPLY, 100.0));
	ck_assert_int_eq(mring_begin(&r, 2, 1.0, 0.0), 1);
	ck_assert(mring_set(&r, 2, 0, MSAMPLE_REPLY, 1.0));
	ck_assert(mring_set(&r, 2, 1, MSAMPLE_REPLY, 4.0));
	ck_assert_int_eq(mring_begin(&r, 3, 2.0, 0.0), 0);
	ck_assert(mring_set(&r, 3, 0, MSAMPLE_REPLY, 2.0));
	ck_assert(mring_set(&r, 3, 1, MSAMPLE_REPLY, 8.0));
	ck_assert_int_eq(mstats_compute(&r, &s), 0);
	check_stats(&s, &w);
	mring_free(&r);
}
END_TEST

START_TEST(test_compute_one_reply)
{
	struct mring r;
	struct mstats s;
	/* one reply of 3.75 among 4 sent: loss 75, every time 3.75, jitter 0 */
	const struct want_stats w = { 4, 1, 75.0, 3.75, 3.75, 3.75, 3.75, 3.75, 3.75, 0.0 };

	ck_assert_int_eq(mring_init(&r, 2, 2), 0);
	mring_begin(&r, 1, 0.0, 0.0);
	ck_assert(mring_set(&r, 1, 0, MSAMPLE_LOST, 0.0));
	ck_assert(mring_set(&r, 1, 1, MSAMPLE_ERROR, 0.0));
	mring_begin(&r, 2, 1.0, 0.0);
	ck_assert(mring_set(&r, 2, 0, MSAMPLE_LOST, 0.0));
	ck_assert(mring_set(&r, 2, 1, MSAMPLE_REPLY, 3.75));
	ck_assert_int_eq(mstats_compute(&r, &s), 0);
	check_stats(&s, &w);
	mring_free(&r);
}
END_TEST

START_TEST(test_compute_all_lost)
{
	struct mring r;
	struct mstats s;

	/* 2 cycles of 3, five lost and one error: sent 6, received 0, loss 100 */
	ck_assert_int_eq(mring_init(&r, 2, 3), 0);
	for (uint64_t seq = 1; seq <= 2; seq++) {
		mring_begin(&r, seq, 0.0, 0.0);
		for (int i = 0; i < 3; i++)
			ck_assert(mring_set(&r, seq, i, seq == 2 && i == 1 ? MSAMPLE_ERROR :
						       MSAMPLE_LOST, 0.0));
	}
	ck_assert_int_eq(mstats_compute(&r, &s), 0);
	ck_assert_int_eq(s.sent, 6);
	ck_assert_int_eq(s.received, 0);
	ck_assert(s.has_loss);
	ck_assert(s.loss_pct == 100.0);
	ck_assert(!s.has_rtt);
	ck_assert(s.min_ms == 0.0 && s.max_ms == 0.0 && s.mean_ms == 0.0);
	ck_assert(s.median_ms == 0.0 && s.p90_ms == 0.0 && s.p99_ms == 0.0);
	ck_assert(s.jitter_ms == 0.0);
	mring_free(&r);
}
END_TEST

START_TEST(test_compute_empty)
{
	struct mring r;
	struct mstats s;

	/* no cycle */
	ck_assert_int_eq(mring_init(&r, 3, 2), 0);
	memset(&s, 0xff, sizeof(s));
	ck_assert_int_eq(mstats_compute(&r, &s), 0);
	ck_assert_int_eq(s.sent, 0);
	ck_assert_int_eq(s.received, 0);
	ck_assert(!s.has_loss);
	ck_assert(s.loss_pct == 0.0);
	ck_assert(!s.has_rtt);
	ck_assert(s.median_ms == 0.0);

	/* cycles whose probes are not sent or have no outcome yet */
	mring_begin(&r, 1, 0.0, 0.0);
	ck_assert(mring_set(&r, 1, 0, MSAMPLE_PENDING, 0.0));
	ck_assert_int_eq(mstats_compute(&r, &s), 0);
	ck_assert_int_eq(s.sent, 0);
	ck_assert(!s.has_loss);
	ck_assert(!s.has_rtt);
	mring_free(&r);

	/* a freed ring, no ring, nowhere to put it */
	ck_assert_int_eq(mstats_compute(&r, &s), 0);
	ck_assert_int_eq(s.sent, 0);
	ck_assert(!s.has_loss);
	ck_assert_int_eq(mstats_compute(NULL, &s), 0);
	ck_assert(!s.has_rtt);
	ck_assert_int_eq(mstats_compute(&r, NULL), 0);
}
END_TEST

/* All monitor statistics tests in one suite. */
static Suite *mstats_suite(void)
{
	Suite *s = suite_create("mstats");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_doubling);
	tcase_add_test(tc, test_doubling_clamped);
	tcase_add_loop_test(tc, test_parse_valid, 0, (int)ARRAY_LEN(parse_cases));
	tcase_add_test(tc, test_parse_max);
	tcase_add_loop_test(tc, test_parse_invalid, 0, (int)ARRAY_LEN(bad_texts));
	tcase_add_test(tc, test_parse_null);
	tcase_add_test(tc, test_observe);
	tcase_add_test(tc, test_observe_default_bounds);
	tcase_add_loop_test(tc, test_quantile, 0, (int)ARRAY_LEN(quantile_cases));
	tcase_add_test(tc, test_quantile_degenerate);
	tcase_add_test(tc, test_ring_init);
	tcase_add_test(tc, test_ring_wrap);
	tcase_add_test(tc, test_ring_overwrite_sample);
	tcase_add_test(tc, test_ring_seq_gaps);
	tcase_add_test(tc, test_compute_mixed);
	tcase_add_test(tc, test_compute_wrapped_order);
	tcase_add_test(tc, test_compute_one_reply);
	tcase_add_test(tc, test_compute_all_lost);
	tcase_add_test(tc, test_compute_empty);
	suite_add_tcase(s, tc);
	return s;
}

/* Run the suite; the exit status is non-zero when any test failed. */
int main(void)
{
	SRunner *sr = srunner_create(mstats_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
