/* Unit tests of the DNS cache, on a clock the tests pass in themselves. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/dnscache.h"

/* A result holding n addresses 192.0.2.base, 192.0.2.base+1, ... */
static struct dnscache_result result4(int n, int base)
{
	struct dnscache_result r;

	memset(&r, 0, sizeof(r));
	r.count = n;
	for (int i = 0; i < n; i++) {
		r.addrs[i].ip_version = 4;
		snprintf(r.addrs[i].text, sizeof(r.addrs[i].text), "192.0.2.%d", base + i);
	}
	return r;
}

/* A failed lookup. */
static struct dnscache_result failure(void)
{
	return result4(0, 0);
}

/* Assert the counters are exactly these. */
static void check_stats(const struct dnscache *c, uint64_t hits, uint64_t misses,
			uint64_t expired, uint64_t inserted, uint64_t evicted)
{
	struct dnscache_stats st;

	dnscache_get_stats(c, &st);
	ck_assert_uint_eq(st.hits, hits);
	ck_assert_uint_eq(st.misses, misses);
	ck_assert_uint_eq(st.expired, expired);
	ck_assert_uint_eq(st.inserted, inserted);
	ck_assert_uint_eq(st.evicted, evicted);
}

/* Look host up at now and assert the status. */
static void expect(struct dnscache *c, const char *host, int v, double now,
		   enum dnscache_status want)
{
	struct dnscache_result r;

	ck_assert_int_eq(dnscache_lookup(c, host, v, now, &r), want);
}

START_TEST(test_hit_miss)
{
	struct dnscache *c = dnscache_new(10, 300, 5);
	struct dnscache_result in = result4(3, 10), out;

	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(dnscache_lookup(c, "a.test", 0, 1000, &out), DNSCACHE_MISS);
	ck_assert_int_eq(dnscache_insert(c, "a.test", 0, &in, 1000), 0);
	ck_assert_uint_eq(dnscache_count(c), 1);
	memset(&out, 0x55, sizeof(out));
	ck_assert_int_eq(dnscache_lookup(c, "a.test", 0, 1000, &out), DNSCACHE_HIT);
	ck_assert_int_eq(out.count, 3);
	ck_assert_str_eq(out.addrs[0].text, "192.0.2.10");
	ck_assert_str_eq(out.addrs[1].text, "192.0.2.11");
	ck_assert_str_eq(out.addrs[2].text, "192.0.2.12");
	ck_assert_int_eq(out.addrs[2].ip_version, 4);
	ck_assert_int_eq(dnscache_lookup(c, "b.test", 0, 1000, &out), DNSCACHE_MISS);
	ck_assert_int_eq(dnscache_lookup(c, "a.test", 0, 1000, NULL), DNSCACHE_HIT);
	check_stats(c, 2, 2, 0, 1, 0);
	dnscache_free(c);
	dnscache_free(NULL);
}
END_TEST

START_TEST(test_full_result)
{
	struct dnscache *c = dnscache_new(10, 300, 5);
	struct dnscache_result in, out;

	memset(&in, 0, sizeof(in));
	in.count = DNSCACHE_ADDRS_MAX;
	for (int i = 0; i < DNSCACHE_ADDRS_MAX; i++) {
		in.addrs[i].ip_version = 6;
		snprintf(in.addrs[i].text, sizeof(in.addrs[i].text), "2001:db8::%x", i + 1);
	}
	ck_assert_int_eq(dnscache_insert(c, "six.test", 6, &in, 0), 0);
	ck_assert_int_eq(dnscache_lookup(c, "six.test", 6, 1, &out), DNSCACHE_HIT);
	ck_assert_int_eq(out.count, DNSCACHE_ADDRS_MAX);
	ck_assert_str_eq(out.addrs[DNSCACHE_ADDRS_MAX - 1].text, "2001:db8::8");
	ck_assert_int_eq(out.addrs[0].ip_version, 6);
	/* Counts outside 0..DNSCACHE_ADDRS_MAX are refused and change nothing. */
	in.count = DNSCACHE_ADDRS_MAX + 1;
	ck_assert_int_eq(dnscache_insert(c, "bad.test", 0, &in, 0), -EINVAL);
	in.count = -1;
	ck_assert_int_eq(dnscache_insert(c, "bad.test", 0, &in, 0), -EINVAL);
	ck_assert_uint_eq(dnscache_count(c), 1);
	check_stats(c, 1, 0, 0, 1, 0);
	dnscache_free(c);
}
END_TEST

START_TEST(test_negative)
{
	struct dnscache *c = dnscache_new(10, 300, 5);
	struct dnscache_result f = failure(), out;

	ck_assert_int_eq(dnscache_insert(c, "nx.test", 4, &f, 100), 0);
	out.count = 99;
	ck_assert_int_eq(dnscache_lookup(c, "nx.test", 4, 100, &out), DNSCACHE_NEGATIVE);
	ck_assert_int_eq(out.count, 0);
	/* Negative entries live negative_ttl (5 s), not ttl. */
	expect(c, "nx.test", 4, 104.999, DNSCACHE_NEGATIVE);
	expect(c, "nx.test", 4, 105, DNSCACHE_MISS);
	ck_assert_uint_eq(dnscache_count(c), 0);
	check_stats(c, 2, 1, 1, 1, 0);
	dnscache_free(c);
}
END_TEST

START_TEST(test_expiry_boundary)
{
	struct dnscache *c = dnscache_new(10, 300, 5);
	struct dnscache_result in = result4(1, 1);

	ck_assert_int_eq(dnscache_insert(c, "a.test", 0, &in, 1000), 0);
	expect(c, "a.test", 0, 1000, DNSCACHE_HIT);
	expect(c, "a.test", 0, 1299.5, DNSCACHE_HIT);
	/* Lifetime 300 s from 1000: at exactly 1300 it is gone. */
	expect(c, "a.test", 0, 1300, DNSCACHE_MISS);
	ck_assert_uint_eq(dnscache_count(c), 0);
	/* Removed at lookup, so going back in time does not resurrect it. */
	expect(c, "a.test", 0, 1299.5, DNSCACHE_MISS);
	check_stats(c, 2, 2, 1, 1, 0);
	dnscache_free(c);
}
END_TEST

START_TEST(test_zero_ttl)
{
	struct dnscache *c = dnscache_new(10, 0, 0);
	struct dnscache_result in = result4(1, 1), f = failure();

	/* A lifetime of 0 ends at the insertion time itself. */
	ck_assert_int_eq(dnscache_insert(c, "a.test", 0, &in, 50), 0);
	ck_assert_int_eq(dnscache_insert(c, "b.test", 0, &f, 50), 0);
	expect(c, "a.test", 0, 50, DNSCACHE_MISS);
	expect(c, "b.test", 0, 50, DNSCACHE_MISS);
	check_stats(c, 0, 2, 2, 2, 0);
	dnscache_free(c);
}
END_TEST

START_TEST(test_expire_counts)
{
	struct dnscache *c = dnscache_new(100, 60, 10);
	struct dnscache_result in = result4(1, 1), f = failure();
	char host[32];

	/* 10 successes at t=0 (die at 60), 5 failures at t=0 (die at 10), 4 successes at t=30 (die at 90). */
	for (int i = 0; i < 10; i++) {
		snprintf(host, sizeof(host), "ok%d.test", i);
		ck_assert_int_eq(dnscache_insert(c, host, 0, &in, 0), 0);
	}
	for (int i = 0; i < 5; i++) {
		snprintf(host, sizeof(host), "nx%d.test", i);
		ck_assert_int_eq(dnscache_insert(c, host, 0, &f, 0), 0);
	}
	for (int i = 0; i < 4; i++) {
		snprintf(host, sizeof(host), "late%d.test", i);
		ck_assert_int_eq(dnscache_insert(c, host, 0, &in, 30), 0);
	}
	ck_assert_uint_eq(dnscache_count(c), 19);
	ck_assert_uint_eq(dnscache_expire(c, 9.999), 0);
	ck_assert_uint_eq(dnscache_expire(c, 10), 5);
	ck_assert_uint_eq(dnscache_count(c), 14);
	ck_assert_uint_eq(dnscache_expire(c, 59), 0);
	ck_assert_uint_eq(dnscache_expire(c, 60), 10);
	ck_assert_uint_eq(dnscache_expire(c, 60), 0);
	ck_assert_uint_eq(dnscache_count(c), 4);
	expect(c, "late3.test", 0, 89, DNSCACHE_HIT);
	expect(c, "ok3.test", 0, 89, DNSCACHE_MISS);
	ck_assert_uint_eq(dnscache_expire(c, 1e9), 4);
	ck_assert_uint_eq(dnscache_count(c), 0);
	check_stats(c, 1, 1, 19, 19, 0);
	dnscache_free(c);
}
END_TEST

START_TEST(test_clear)
{
	struct dnscache *c = dnscache_new(100, 60, 10);
	struct dnscache_result in = result4(2, 1), f = failure();
	char host[32];

	ck_assert_uint_eq(dnscache_clear(c), 0);
	for (int i = 0; i < 7; i++) {
		snprintf(host, sizeof(host), "h%d.test", i);
		ck_assert_int_eq(dnscache_insert(c, host, 4, i % 2 ? &f : &in, 0), 0);
	}
	ck_assert_uint_eq(dnscache_clear(c), 7);
	ck_assert_uint_eq(dnscache_count(c), 0);
	expect(c, "h0.test", 4, 1, DNSCACHE_MISS);
	/* Clearing is neither expiry nor eviction. */
	check_stats(c, 0, 1, 0, 7, 0);
	/* The cache works normally afterwards. */
	ck_assert_int_eq(dnscache_insert(c, "h0.test", 4, &in, 2), 0);
	expect(c, "h0.test", 4, 3, DNSCACHE_HIT);
	ck_assert_uint_eq(dnscache_clear(c), 1);
	dnscache_free(c);
}
END_TEST

START_TEST(test_evict_oldest)
{
	struct dnscache *c = dnscache_new(3, 300, 5);
	struct dnscache_result in = result4(1, 1);

	ck_assert_int_eq(dnscache_insert(c, "a.test", 0, &in, 1), 0);
	ck_assert_int_eq(dnscache_insert(c, "b.test", 0, &in, 2), 0);
	ck_assert_int_eq(dnscache_insert(c, "c.test", 0, &in, 3), 0);
	/* A lookup does not refresh: eviction is by insertion order. */
	expect(c, "a.test", 0, 4, DNSCACHE_HIT);
	ck_assert_int_eq(dnscache_insert(c, "d.test", 0, &in, 5), 0);
	ck_assert_uint_eq(dnscache_count(c), 3);
	expect(c, "a.test", 0, 6, DNSCACHE_MISS);
	expect(c, "b.test", 0, 6, DNSCACHE_HIT);
	expect(c, "c.test", 0, 6, DNSCACHE_HIT);
	expect(c, "d.test", 0, 6, DNSCACHE_HIT);
	/* Re-inserting b makes it the newest; c is now the oldest. */
	ck_assert_int_eq(dnscache_insert(c, "b.test", 0, &in, 7), 0);
	ck_assert_uint_eq(dnscache_count(c), 3);
	ck_assert_int_eq(dnscache_insert(c, "e.test", 0, &in, 8), 0);
	expect(c, "c.test", 0, 9, DNSCACHE_MISS);
	expect(c, "b.test", 0, 9, DNSCACHE_HIT);
	expect(c, "d.test", 0, 9, DNSCACHE_HIT);
	expect(c, "e.test", 0, 9, DNSCACHE_HIT);
	check_stats(c, 7, 2, 0, 6, 2);
	dnscache_free(c);
}
END_TEST

START_TEST(test_evict_expired_first)
{
	struct dnscache *c = dnscache_new(3, 300, 5);
	struct dnscache_result in = result4(1, 1), f = failure();

	ck_assert_int_eq(dnscache_insert(c, "old.test", 0, &in, 0), 0);
	ck_assert_int_eq(dnscache_insert(c, "nx.test", 0, &f, 1), 0);
	ck_assert_int_eq(dnscache_insert(c, "mid.test", 0, &in, 2), 0);
	/* At t=6 the failure (expiry 6) has expired though it is not the oldest. */
	ck_assert_int_eq(dnscache_insert(c, "new.test", 0, &in, 6), 0);
	ck_assert_uint_eq(dnscache_count(c), 3);
	expect(c, "old.test", 0, 7, DNSCACHE_HIT);
	expect(c, "mid.test", 0, 7, DNSCACHE_HIT);
	expect(c, "new.test", 0, 7, DNSCACHE_HIT);
	expect(c, "nx.test", 0, 7, DNSCACHE_MISS);
	check_stats(c, 3, 1, 1, 4, 0);
	/* Nothing has expired now: the oldest goes. */
	ck_assert_int_eq(dnscache_insert(c, "newer.test", 0, &in, 8), 0);
	expect(c, "old.test", 0, 9, DNSCACHE_MISS);
	expect(c, "newer.test", 0, 9, DNSCACHE_HIT);
	check_stats(c, 4, 2, 1, 5, 1);
	dnscache_free(c);
}
END_TEST

START_TEST(test_evict_expired_after_ttl_change)
{
	struct dnscache *c = dnscache_new(3, 1000, 5);
	struct dnscache_result in = result4(1, 1);

	ck_assert_int_eq(dnscache_insert(c, "long.test", 0, &in, 0), 0);
	dnscache_set_ttl(c, 10, 5);
	ck_assert_int_eq(dnscache_insert(c, "short1.test", 0, &in, 1), 0);
	ck_assert_int_eq(dnscache_insert(c, "short2.test", 0, &in, 2), 0);
	/* At t=11 short1 (expiry 11) has expired; long.test is older but alive. */
	ck_assert_int_eq(dnscache_insert(c, "x.test", 0, &in, 11), 0);
	expect(c, "long.test", 0, 11, DNSCACHE_HIT);
	expect(c, "short2.test", 0, 11, DNSCACHE_HIT);
	expect(c, "x.test", 0, 11, DNSCACHE_HIT);
	expect(c, "short1.test", 0, 11, DNSCACHE_MISS);
	check_stats(c, 3, 1, 1, 4, 0);
	/* The new ttl applies to x.test: alive at 20.9, gone at 21. */
	expect(c, "x.test", 0, 20.9, DNSCACHE_HIT);
	expect(c, "x.test", 0, 21, DNSCACHE_MISS);
	/* ... while long.test keeps the ttl it was inserted with. */
	expect(c, "long.test", 0, 999, DNSCACHE_HIT);
	expect(c, "long.test", 0, 1000, DNSCACHE_MISS);
	dnscache_free(c);
}
END_TEST

START_TEST(test_capacity_one)
{
	struct dnscache *c = dnscache_new(1, 300, 5);
	struct dnscache_result in = result4(1, 1);

	ck_assert_int_eq(dnscache_insert(c, "a.test", 0, &in, 0), 0);
	ck_assert_int_eq(dnscache_insert(c, "a.test", 0, &in, 1), 0);
	check_stats(c, 0, 0, 0, 2, 0);
	ck_assert_int_eq(dnscache_insert(c, "b.test", 0, &in, 2), 0);
	ck_assert_uint_eq(dnscache_count(c), 1);
	expect(c, "a.test", 0, 3, DNSCACHE_MISS);
	expect(c, "b.test", 0, 3, DNSCACHE_HIT);
	check_stats(c, 1, 1, 0, 3, 1);
	dnscache_free(c);
}
END_TEST

START_TEST(test_case_insensitive)
{
	struct dnscache *c = dnscache_new(10, 300, 5);
	struct dnscache_result in = result4(1, 7), out;

	ck_assert_int_eq(dnscache_insert(c, "Example.TEST", 0, &in, 0), 0);
	ck_assert_int_eq(dnscache_lookup(c, "example.test", 0, 1, &out), DNSCACHE_HIT);
	ck_assert_str_eq(out.addrs[0].text, "192.0.2.7");
	expect(c, "EXAMPLE.test", 0, 1, DNSCACHE_HIT);
	expect(c, "example.tes", 0, 1, DNSCACHE_MISS);
	expect(c, "example.testx", 0, 1, DNSCACHE_MISS);
	/* Inserting another spelling replaces the one entry. */
	in = result4(1, 8);
	ck_assert_int_eq(dnscache_insert(c, "EXAMPLE.TEST", 0, &in, 2), 0);
	ck_assert_uint_eq(dnscache_count(c), 1);
	ck_assert_int_eq(dnscache_lookup(c, "example.Test", 0, 3, &out), DNSCACHE_HIT);
	ck_assert_str_eq(out.addrs[0].text, "192.0.2.8");
	dnscache_free(c);
}
END_TEST

START_TEST(test_ip_version_separate)
{
	struct dnscache *c = dnscache_new(10, 300, 5);
	struct dnscache_result r0 = result4(1, 1), r4 = result4(1, 2), f = failure(), out;

	ck_assert_int_eq(dnscache_insert(c, "h.test", 0, &r0, 0), 0);
	ck_assert_int_eq(dnscache_insert(c, "h.test", 4, &r4, 0), 0);
	ck_assert_int_eq(dnscache_insert(c, "h.test", 6, &f, 0), 0);
	ck_assert_uint_eq(dnscache_count(c), 3);
	ck_assert_int_eq(dnscache_lookup(c, "h.test", 0, 1, &out), DNSCACHE_HIT);
	ck_assert_str_eq(out.addrs[0].text, "192.0.2.1");
	ck_assert_int_eq(dnscache_lookup(c, "h.test", 4, 1, &out), DNSCACHE_HIT);
	ck_assert_str_eq(out.addrs[0].text, "192.0.2.2");
	expect(c, "h.test", 6, 1, DNSCACHE_NEGATIVE);
	/* The negative v6 entry dies at 5; the others live on. */
	expect(c, "h.test", 6, 5, DNSCACHE_MISS);
	expect(c, "h.test", 0, 5, DNSCACHE_HIT);
	expect(c, "h.test", 4, 5, DNSCACHE_HIT);
	dnscache_free(c);
}
END_TEST

START_TEST(test_reinsert_replaces)
{
	struct dnscache *c = dnscache_new(10, 300, 5);
	struct dnscache_result a = result4(2, 1), b = result4(1, 50), f = failure(), out;

	ck_assert_int_eq(dnscache_insert(c, "r.test", 0, &a, 0), 0);
	ck_assert_int_eq(dnscache_insert(c, "r.test", 0, &b, 100), 0);
	ck_assert_uint_eq(dnscache_count(c), 1);
	ck_assert_int_eq(dnscache_lookup(c, "r.test", 0, 100, &out), DNSCACHE_HIT);
	ck_assert_int_eq(out.count, 1);
	ck_assert_str_eq(out.addrs[0].text, "192.0.2.50");
	/* The lifetime restarts at the new insertion: alive at 399, gone at 400. */
	expect(c, "r.test", 0, 399, DNSCACHE_HIT);
	/* A failure replaces a success, with the negative lifetime. */
	ck_assert_int_eq(dnscache_insert(c, "r.test", 0, &f, 200), 0);
	expect(c, "r.test", 0, 204, DNSCACHE_NEGATIVE);
	expect(c, "r.test", 0, 205, DNSCACHE_MISS);
	/* Replacing is neither expiry nor eviction. */
	check_stats(c, 3, 1, 1, 3, 0);
	dnscache_free(c);
}
END_TEST

START_TEST(test_many_entries)
{
	const int n = 20000;
	struct dnscache *c = dnscache_new((size_t)n, 300, 5);
	struct dnscache_result in = result4(1, 1), out;
	char host[32];

	for (int i = 0; i < n; i++) {
		snprintf(host, sizeof(host), "host-%d.test", i);
		in.addrs[0].ip_version = 4 + 2 * (i % 2);
		ck_assert_int_eq(dnscache_insert(c, host, 0, &in, i * 0.001), 0);
	}
	ck_assert_uint_eq(dnscache_count(c), (size_t)n);
	for (int i = 0; i < n; i++) {
		snprintf(host, sizeof(host), "HOST-%d.TEST", i);
		ck_assert_int_eq(dnscache_lookup(c, host, 0, 100, &out), DNSCACHE_HIT);
		ck_assert_int_eq(out.addrs[0].ip_version, 4 + 2 * (i % 2));
	}
	/* Another n/2 inserts push out exactly the n/2 oldest. */
	for (int i = n; i < n + n / 2; i++) {
		snprintf(host, sizeof(host), "host-%d.test", i);
		ck_assert_int_eq(dnscache_insert(c, host, 0, &in, 100), 0);
	}
	ck_assert_uint_eq(dnscache_count(c), (size_t)n);
	for (int i = 0; i < n + n / 2; i++) {
		snprintf(host, sizeof(host), "host-%d.test", i);
		expect(c, host, 0, 101, i < n / 2 ? DNSCACHE_MISS : DNSCACHE_HIT);
	}
	check_stats(c, (uint64_t)n + (uint64_t)n, (uint64_t)n / 2, 0, (uint64_t)n + n / 2,
		    (uint64_t)n / 2);
	ck_assert_uint_eq(dnscache_expire(c, 1e6), (size_t)n);
	dnscache_free(c);
}
END_TEST

START_TEST(test_new_invalid)
{
	struct dnscache_result in = result4(1, 1);
	struct dnscache *c;

	errno = 0;
	ck_assert_ptr_null(dnscache_new(0, 300, 5));
	ck_assert_int_eq(errno, EINVAL);
	/* Negative lifetimes are taken as 0. */
	c = dnscache_new(4, -1, -1);
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(dnscache_insert(c, "a.test", 0, &in, 10), 0);
	expect(c, "a.test", 0, 10, DNSCACHE_MISS);
	dnscache_free(c);
}
END_TEST

/* All DNS cache tests in one suite. */
static Suite *dnscache_suite(void)
{
	Suite *s = suite_create("dnscache");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_hit_miss);
	tcase_add_test(tc, test_full_result);
	tcase_add_test(tc, test_negative);
	tcase_add_test(tc, test_expiry_boundary);
	tcase_add_test(tc, test_zero_ttl);
	tcase_add_test(tc, test_expire_counts);
	tcase_add_test(tc, test_clear);
	tcase_add_test(tc, test_evict_oldest);
	tcase_add_test(tc, test_evict_expired_first);
	tcase_add_test(tc, test_evict_expired_after_ttl_change);
	tcase_add_test(tc, test_capacity_one);
	tcase_add_test(tc, test_case_insensitive);
	tcase_add_test(tc, test_ip_version_separate);
	tcase_add_test(tc, test_reinsert_replaces);
	tcase_add_test(tc, test_many_entries);
	tcase_add_test(tc, test_new_invalid);
	suite_add_tcase(s, tc);
	return s;
}

/* Run the suite; the exit status is non-zero when any test failed. */
int main(void)
{
	SRunner *sr = srunner_create(dnscache_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
