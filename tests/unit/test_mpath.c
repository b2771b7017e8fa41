/*
 * Unit tests of a trace monitor's path: which TTLs a cycle counts, the
 * path and its id, changes, the next cycle's TTL limit.  Path ids are
 * FNV-1a 64 of the joined responders shifted right by 11, worked out
 * separately for each literal below.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/mpath.h"

static const struct mhist_bounds bounds = { .le = { 0.001, 0.002, 0.004 }, .n = 3 };

/* Run one cycle seq on p: outcome o[i], responder r[i], rtt t[i] for TTL first + i, up to limit. */
static bool cycle(struct mpath *p, uint64_t seq, const enum mpath_outcome *o,
		  const char *const *r, const double *t, double now)
{
	int limit = mpath_limit(p);

	mpath_begin(p, seq);
	for (int ttl = p->first_ttl; ttl <= limit; ttl++)
		mpath_probed(p, seq, ttl);
	/* answers in reverse order: the order must not matter */
	for (int ttl = limit; ttl >= p->first_ttl; ttl--) {
		int i = ttl - p->first_ttl;

		mpath_record(p, seq, ttl, o[i], t[i], r[i]);
	}
	return mpath_end(p, &bounds, now);
}

START_TEST(test_init)
{
	struct mpath p;

	ck_assert_int_eq(mpath_init(&p, 0, 5), -EINVAL);
	ck_assert_int_eq(mpath_init(&p, 1, 256), -EINVAL);
	ck_assert_int_eq(mpath_init(&p, 6, 5), -EINVAL);
	ck_assert_int_eq(mpath_init(&p, 3, 7), 0);
	ck_assert_int_eq(p.n, 5);
	ck_assert_int_eq(mpath_limit(&p), 7);
	ck_assert(!p.have_path);
	ck_assert_uint_eq(p.id, 0);
	mpath_free(&p);
	ck_assert_ptr_null(p.hop);
}
END_TEST

START_TEST(test_path_to_target)
{
	struct mpath p;
	const enum mpath_outcome o[] = { MPATH_HOP, MPATH_NONE, MPATH_TARGET, MPATH_TARGET,
					 MPATH_TARGET };
	const char *const r[] = { "127.0.0.1", "", "127.0.0.3", "127.0.0.3", "127.0.0.3" };
	const double t[] = { 1.0, 0, 3.0, 3.5, 3.25 };

	ck_assert_int_eq(mpath_init(&p, 1, 5), 0);
	ck_assert(!cycle(&p, 1, o, r, t, 100)); /* the first path is no change */
	ck_assert_int_eq(p.reached, 3);
	ck_assert_int_eq(p.hops, 3);
	ck_assert_str_eq(p.path[0], "127.0.0.1");
	ck_assert_str_eq(p.path[1], "");
	ck_assert_str_eq(p.path[2], "127.0.0.3");
	/* "127.0.0.1,,127.0.0.3" */
	ck_assert_uint_eq(p.id, 2782431551084324ULL);
	ck_assert_uint_eq(p.changes, 0);
	/* TTLs 1-3 counted; 4 and 5 reached the target too: not hops */
	for (int i = 0; i < 3; i++) {
		ck_assert(p.hop[i].counted);
		ck_assert_uint_eq(p.hop[i].sent, 1);
	}
	ck_assert_uint_eq(p.hop[0].received, 1);
	ck_assert_uint_eq(p.hop[1].received, 0);
	ck_assert_uint_eq(p.hop[2].received, 1);
	ck_assert(!p.hop[3].counted && !p.hop[4].counted);
	ck_assert_uint_eq(p.hop[3].sent, 0);
	/* 1 ms: in the first bucket (le 0.001 inclusive); 3 ms in the third */
	ck_assert_uint_eq(p.hop[0].hist.bucket[0], 1);
	ck_assert_uint_eq(p.hop[2].hist.bucket[2], 1);
	ck_assert_uint_eq(p.hop[2].hist.count, 1);
	/* next cycle: one TTL past the target */
	ck_assert_int_eq(mpath_limit(&p), 4);
	mpath_free(&p);
}
END_TEST

START_TEST(test_change_counted)
{
	struct mpath p;
	const enum mpath_outcome o[] = { MPATH_HOP, MPATH_HOP, MPATH_TARGET, MPATH_TARGET };
	const char *const a[] = { "127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.3" };
	const char *const b[] = { "127.0.0.1", "127.0.0.9", "127.0.0.3", "127.0.0.3" };
	const double t[] = { 0.5, 0.5, 0.5, 0.5 };

	ck_assert_int_eq(mpath_init(&p, 1, 4), 0);
	ck_assert(!cycle(&p, 1, o, a, t, 10));
	ck_assert_uint_eq(p.id, 7018875646734853ULL); /* "127.0.0.1,127.0.0.2,127.0.0.3" */
	ck_assert(!cycle(&p, 2, o, a, t, 20));
	ck_assert_uint_eq(p.changes, 0);
	ck_assert(cycle(&p, 3, o, b, t, 30));
	ck_assert_uint_eq(p.id, 6043537255403256ULL); /* "127.0.0.1,127.0.0.9,127.0.0.3" */
	ck_assert_uint_eq(p.changes, 1);
	ck_assert(p.changed_at == 30);
	ck_assert(cycle(&p, 4, o, a, t, 40));
	ck_assert_uint_eq(p.changes, 2);
	ck_assert(p.changed_at == 40);
	/* 4 cycles, every hop answered every time */
	ck_assert_uint_eq(p.hop[1].sent, 4);
	ck_assert_uint_eq(p.hop[1].received, 4);
	ck_assert(!p.hop[3].counted);
	mpath_free(&p);
}
END_TEST

START_TEST(test_no_target)
{
	struct mpath p;
	const enum mpath_outcome o[] = { MPATH_HOP, MPATH_HOP, MPATH_NONE, MPATH_NONE, MPATH_NONE };
	const char *const r[] = { "127.0.0.1", "127.0.0.2", "", "", "" };
	const double t[] = { 1, 1, 0, 0, 0 };

	ck_assert_int_eq(mpath_init(&p, 1, 5), 0);
	ck_assert(!cycle(&p, 1, o, r, t, 1));
	ck_assert_int_eq(p.reached, 0);
	/* every TTL probed is counted; the path ends at the last hop that answered */
	for (int i = 0; i < 5; i++)
		ck_assert_uint_eq(p.hop[i].sent, 1);
	ck_assert_int_eq(p.hops, 2);
	ck_assert_uint_eq(p.id, 4844664027344595ULL); /* "127.0.0.1,127.0.0.2" */
	ck_assert_int_eq(mpath_limit(&p), 5);
	mpath_free(&p);
}
END_TEST

START_TEST(test_nothing_answers)
{
	struct mpath p;
	const enum mpath_outcome o[] = { MPATH_NONE, MPATH_NONE, MPATH_NONE };
	const char *const r[] = { "", "", "" };
	const double t[] = { 0, 0, 0 };

	ck_assert_int_eq(mpath_init(&p, 2, 4), 0);
	ck_assert(!cycle(&p, 1, o, r, t, 1));
	ck_assert_int_eq(p.hops, 0);
	ck_assert_uint_eq(p.id, 0);
	ck_assert(p.have_path);
	/* the hops still have series: sent, none received */
	for (int i = 0; i < 3; i++) {
		ck_assert(p.hop[i].counted);
		ck_assert_uint_eq(p.hop[i].sent, 1);
		ck_assert_uint_eq(p.hop[i].received, 0);
	}
	mpath_free(&p);
}
END_TEST

START_TEST(test_stale_and_out_of_range_ignored)
{
	struct mpath p;

	ck_assert_int_eq(mpath_init(&p, 1, 3), 0);
	mpath_begin(&p, 5);
	for (int ttl = 1; ttl <= 3; ttl++)
		mpath_probed(&p, 5, ttl);
	mpath_record(&p, 4, 1, MPATH_TARGET, 1, "127.0.0.7");  /* an older cycle */
	mpath_record(&p, 5, 0, MPATH_TARGET, 1, "127.0.0.7");  /* below first_ttl */
	mpath_record(&p, 5, 4, MPATH_TARGET, 1, "127.0.0.7");  /* above max_ttl */
	mpath_record(&p, 5, 2, MPATH_HOP, 2, "127.0.0.2");
	mpath_probed(&p, 4, 3);
	ck_assert(!mpath_end(&p, &bounds, 1));
	ck_assert_int_eq(p.reached, 0);
	ck_assert_int_eq(p.hops, 2);
	ck_assert_str_eq(p.path[0], "");
	ck_assert_str_eq(p.path[1], "127.0.0.2");
	ck_assert_uint_eq(p.hop[0].received, 0);
	ck_assert_uint_eq(p.hop[1].received, 1);
	mpath_free(&p);
}
END_TEST

START_TEST(test_id)
{
	char path[2][MP_ADDR_MAX] = { "a", "b" };

	ck_assert_uint_eq(mpath_id(path, 0), 0);
	ck_assert_uint_eq(mpath_id(path, 1), 6170989844021309ULL); /* "a" */
	ck_assert(mpath_id(path, 2) < (1ULL << 53));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("mpath");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_init);
	tcase_add_test(tc, test_path_to_target);
	tcase_add_test(tc, test_change_counted);
	tcase_add_test(tc, test_no_target);
	tcase_add_test(tc, test_nothing_answers);
	tcase_add_test(tc, test_stale_and_out_of_range_ignored);
	tcase_add_test(tc, test_id);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
