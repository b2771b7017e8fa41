/*
 * Unit tests of the Prometheus text writer and of the monitors' cycle
 * schedule.  Every expected text is the exact bytes the format requires,
 * written out by hand.
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/mplan.h"
#include "daemon/mstats.h"
#include "daemon/promtext.h"

/* The text of p, which must not have run out of memory. */
static const char *text(const struct promtext *p)
{
	ck_assert(!p->oom);
	return p->buf ? p->buf : "";
}

START_TEST(test_family_and_samples)
{
	struct promtext p = { 0 };

	promtext_family(&p, "x_total", "counter", "Things\\counted\nhere.");
	promtext_u64(&p, "x_total", "", 0);
	promtext_u64(&p, "x_total", "a=\"b\"", 18446744073709551615ULL);
	ck_assert_str_eq(text(&p), "# HELP x_total Things\\\\counted\\nhere.\n"
				   "# TYPE x_total counter\n"
				   "x_total 0\n"
				   "x_total{a=\"b\"} 18446744073709551615\n");
	promtext_free(&p);
}
END_TEST

START_TEST(test_labels_escaped)
{
	struct promtext p = { 0 };

	promtext_label(&p, true, "monitor", "web \"1\"");
	promtext_label(&p, false, "path", "C:\\x\ny");
	promtext_label(&p, false, "empty", "");
	ck_assert_str_eq(text(&p),
			 "monitor=\"web \\\"1\\\"\",path=\"C:\\\\x\\ny\",empty=\"\"");
	promtext_free(&p);
}
END_TEST

START_TEST(test_doubles)
{
	/* Shortest text that reads back as the same double, Go's spellings of the specials. */
	static const struct {
		double v;
		const char *want;
	} cases[] = {
		{ 0, "0" },          { 1, "1" },           { 0.1, "0.1" },
		{ 0.00005, "5e-05" }, { 1.5, "1.5" },       { 1e21, "1e+21" },
		{ 123456789, "123456789" }, { 0.3333333333333333, "0.3333333333333333" },
		{ -2.25, "-2.25" },
	};
	char buf[32];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		promtext_format_double(buf, cases[i].v);
		ck_assert_str_eq(buf, cases[i].want);
	}
	promtext_format_double(buf, NAN);
	ck_assert_str_eq(buf, "NaN");
	promtext_format_double(buf, INFINITY);
	ck_assert_str_eq(buf, "+Inf");
	promtext_format_double(buf, -INFINITY);
	ck_assert_str_eq(buf, "-Inf");
}
END_TEST

START_TEST(test_histogram)
{
	struct mhist_bounds b = { .le = { 0.00005, 0.0001, 0.0002 }, .n = 3 };
	struct mhist h = { 0 };
	struct promtext p = { 0 };

	/* 0.00005 is in the first bucket (le is inclusive); 0.00015 in the
	 * third; 0.5 above every bound: +Inf only.  Sum 0.50020. */
	mhist_observe(&h, &b, 0.00005);
	mhist_observe(&h, &b, 0.00015);
	mhist_observe(&h, &b, 0.5);
	promtext_family(&p, "rtt_seconds", "histogram", "RTT.");
	promtext_histogram(&p, "rtt_seconds", "m=\"a\"", &h, &b);
	promtext_histogram(&p, "rtt_seconds", "", &(struct mhist){ 0 }, &b);
	ck_assert_str_eq(text(&p), "# HELP rtt_seconds RTT.\n"
				   "# TYPE rtt_seconds histogram\n"
				   "rtt_seconds_bucket{m=\"a\",le=\"5e-05\"} 1\n"
				   "rtt_seconds_bucket{m=\"a\",le=\"0.0001\"} 1\n"
				   "rtt_seconds_bucket{m=\"a\",le=\"0.0002\"} 2\n"
				   "rtt_seconds_bucket{m=\"a\",le=\"+Inf\"} 3\n"
				   "rtt_seconds_sum{m=\"a\"} 0.5002\n"
				   "rtt_seconds_count{m=\"a\"} 3\n"
				   "rtt_seconds_bucket{le=\"5e-05\"} 0\n"
				   "rtt_seconds_bucket{le=\"0.0001\"} 0\n"
				   "rtt_seconds_bucket{le=\"0.0002\"} 0\n"
				   "rtt_seconds_bucket{le=\"+Inf\"} 0\n"
				   "rtt_seconds_sum 0\n"
				   "rtt_seconds_count 0\n");
	promtext_free(&p);
}
END_TEST

START_TEST(test_reset_keeps_buffer)
{
	struct promtext p = { 0 };
	char *buf;

	promtext_add(&p, "abc", 3);
	buf = p.buf;
	promtext_reset(&p);
	promtext_add(&p, "de", 2);
	ck_assert_ptr_eq(p.buf, buf);
	ck_assert_str_eq(text(&p), "de");
	ck_assert_uint_eq(p.len, 2);
	promtext_free(&p);
	ck_assert_ptr_null(p.buf);
}
END_TEST

START_TEST(test_grows)
{
	struct promtext p = { 0 };

	/* 10000 lines of 10 bytes: past several doublings of the 4 KiB start. */
	for (int i = 0; i < 10000; i++)
		promtext_u64(&p, "abcdefg", "", 1);
	ck_assert_uint_eq(p.len, 100000);
	ck_assert_int_eq(memcmp(p.buf + 99990, "abcdefg 1\n", 10), 0);
	promtext_free(&p);
}
END_TEST

START_TEST(test_plan_hash_and_offset)
{
	/* FNV-1a 64 of "" is the offset basis; of "a": (basis ^ 0x61) * prime. */
	ck_assert_uint_eq(mplan_hash(""), 14695981039346656037ULL);
	ck_assert_uint_eq(mplan_hash("a"), 0xaf63dc4c8601ec8cULL);
	/* The offset is fixed by the name and inside the period. */
	for (double period = 1; period <= 86400; period *= 7) {
		double off = mplan_offset("web1", period);

		ck_assert(off >= 0 && off < period);
		ck_assert(off == mplan_offset("web1", period));
	}
	/* "a": hash >> 11 = 0x15ec7b8990c03d, / 2^53 = 0.68512...: 41.107 s of 60. */
	ck_assert(fabs(mplan_offset("a", 60) - 60.0 * (double)(0xaf63dc4c8601ec8cULL >> 11) /
							9007199254740992.0) < 1e-12);
	ck_assert(mplan_offset("a", 60) > 41.10 && mplan_offset("a", 60) < 41.11);
}
END_TEST

START_TEST(test_plan_first_and_next)
{
	double off = mplan_offset("a", 60); /* 41.107... */

	/* Set up before its offset: the offset itself. */
	ck_assert(mplan_first(1000, 1000, "a", 60) == 1000 + off);
	ck_assert(mplan_first(1000, 1000 + off, "a", 60) == 1000 + off);
	/* Just after: one period later. */
	ck_assert(fabs(mplan_first(1000, 1000 + off + 0.001, "a", 60) - (1000 + off + 60)) < 1e-9);
	/* 10 periods and a bit after the epoch: the 11th. */
	ck_assert(fabs(mplan_first(1000, 1000 + off + 600.5, "a", 60) - (1000 + off + 660)) < 1e-9);
	/* The cadence holds: next is one period after the schedule, however late. */
	ck_assert(mplan_next(100, 60) == 160);
	ck_assert(mplan_late(100, 100.25) == 0.25);
	ck_assert(mplan_late(100, 99) == 0);
	ck_assert(mplan_next(mplan_next(100, 60), 60) == 220);
}
END_TEST

static Suite *promtext_suite(void)
{
	Suite *s = suite_create("promtext");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_family_and_samples);
	tcase_add_test(tc, test_labels_escaped);
	tcase_add_test(tc, test_doubles);
	tcase_add_test(tc, test_histogram);
	tcase_add_test(tc, test_reset_keeps_buffer);
	tcase_add_test(tc, test_grows);
	tcase_add_test(tc, test_plan_hash_and_offset);
	tcase_add_test(tc, test_plan_first_and_next);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(promtext_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
