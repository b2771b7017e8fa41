/* Unit tests of the sharing arithmetic: token buckets under a test clock, shares of slots. */
#include <check.h>
#include <stdlib.h>

#include "daemon/share.h"

START_TEST(test_bucket_starts_full)
{
	struct bucket b = { 0, 0 };

	/* 1000/s: a burst of 50 ms worth, 50 tokens, at the first refill. */
	bucket_refill(&b, 1000, 100.0);
	ck_assert_double_eq(b.tokens, 50.0);
	ck_assert_double_eq(b.last, 100.0);
	ck_assert_double_eq(bucket_wait(&b, 1000), 0.0);
}
END_TEST

START_TEST(test_bucket_refills_at_its_rate)
{
	struct bucket b = { 0, 0 };

	bucket_refill(&b, 1000, 10.0);
	b.tokens = 0;                     /* 50 probes sent at once */
	ck_assert_double_eq_tol(bucket_wait(&b, 1000), 0.001, 1e-12);
	bucket_refill(&b, 1000, 10.0005); /* half a token later */
	ck_assert_double_eq_tol(b.tokens, 0.5, 1e-9);
	ck_assert_double_eq_tol(bucket_wait(&b, 1000), 0.0005, 1e-9);
	bucket_refill(&b, 1000, 10.010);  /* 10 ms: 10 tokens */
	ck_assert_double_eq_tol(b.tokens, 10.0, 1e-9);
	bucket_refill(&b, 1000, 20.0);    /* long idle: capped at the burst */
	ck_assert_double_eq(b.tokens, 50.0);
}
END_TEST

START_TEST(test_bucket_slow_rate_burst_is_one)
{
	struct bucket b = { 0, 0 };

	/* 1/s: 50 ms worth is less than a token, the burst is one token. */
	bucket_refill(&b, 1, 5.0);
	ck_assert_double_eq(b.tokens, 1.0);
	b.tokens -= 1.0;
	ck_assert_double_eq(bucket_wait(&b, 1), 1.0);
	bucket_refill(&b, 1, 5.25);
	ck_assert_double_eq_tol(b.tokens, 0.25, 1e-9);
	ck_assert_double_eq_tol(bucket_wait(&b, 1), 0.75, 1e-9);
	bucket_refill(&b, 1, 9.0);
	ck_assert_double_eq(b.tokens, 1.0);
}
END_TEST

START_TEST(test_bucket_clock_going_back)
{
	struct bucket b = { 0, 0 };

	/* A clock read earlier than the last refill adds nothing, takes nothing. */
	bucket_refill(&b, 100, 50.0);
	b.tokens = 0.5;
	bucket_refill(&b, 100, 49.0);
	ck_assert_double_eq(b.tokens, 0.5);
	ck_assert_double_eq(b.last, 50.0);
}
END_TEST

START_TEST(test_share_cap)
{
	/* 16 workers of 1000 at the default 50 %. */
	ck_assert_int_eq(share_cap(16000, 50), 8000);
	ck_assert_int_eq(share_cap(1000, 50), 500);
	ck_assert_int_eq(share_cap(512, 50), 256);
	ck_assert_int_eq(share_cap(999, 50), 499);
	ck_assert_int_eq(share_cap(1000, 100), 1000);
	ck_assert_int_eq(share_cap(1000, 1), 10);
	/* Never 0: a user may always hold one. */
	ck_assert_int_eq(share_cap(1, 50), 1);
	ck_assert_int_eq(share_cap(64000, 100), 64000);
}
END_TEST

static Suite *share_suite(void)
{
	Suite *s = suite_create("share");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_bucket_starts_full);
	tcase_add_test(tc, test_bucket_refills_at_its_rate);
	tcase_add_test(tc, test_bucket_slow_rate_burst_is_one);
	tcase_add_test(tc, test_bucket_clock_going_back);
	tcase_add_test(tc, test_share_cap);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(share_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
