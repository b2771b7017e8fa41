/* Unit tests of the id map: put/get/del, growth, deletion, iteration. */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/idmap.h"

/* A value pointer standing for the number v (never NULL for v != 0). */
static void *val(uintptr_t v)
{
	return (void *)v;
}

/* Deterministic xorshift64* generator so failures reproduce. */
static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * UINT64_C(2685821657736338717);
}

/* The splitmix64 finaliser idmap.c uses, to pick keys that collide on purpose. */
static uint64_t mix(uint64_t x)
{
	x ^= x >> 30;
	x *= UINT64_C(0xbf58476d1ce4e5b9);
	x ^= x >> 27;
	x *= UINT64_C(0x94d049bb133111eb);
	x ^= x >> 31;
	return x;
}

/* Check the structural invariants: power-of-two capacity, load <= 70%, count matches. */
static void check_shape(const struct idmap *m)
{
	size_t used = 0;

	if (m->cap == 0) {
		ck_assert_uint_eq(m->count, 0);
		return;
	}
	ck_assert_uint_eq(m->cap & (m->cap - 1), 0);
	ck_assert_uint_le(m->count * 10, m->cap * 7);
	for (size_t i = 0; i < m->cap; i++)
		used += m->slots[i].key != 0;
	ck_assert_uint_eq(used, m->count);
}

START_TEST(test_empty)
{
	struct idmap m;
	size_t iter = 0;
	uint64_t k = 7;
	void *v = val(7);

	idmap_init(&m);
	ck_assert_ptr_null(idmap_get(&m, 1));
	ck_assert_ptr_null(idmap_get(&m, 0));
	ck_assert_ptr_null(idmap_del(&m, 1));
	ck_assert_uint_eq(idmap_count(&m), 0);
	ck_assert_int_eq(idmap_next(&m, &iter, &k, &v), 0);
	ck_assert_uint_eq(k, 7);
	ck_assert_ptr_eq(v, val(7));
	idmap_free(&m);
	idmap_free(&m);
	ck_assert_uint_eq(m.cap, 0);
}
END_TEST

START_TEST(test_put_get_del)
{
	struct idmap m;

	idmap_init(&m);
	ck_assert_int_eq(idmap_put(&m, 1, val(10)), 0);
	ck_assert_int_eq(idmap_put(&m, 2, val(20)), 0);
	ck_assert_int_eq(idmap_put(&m, UINT64_MAX, val(30)), 0);
	ck_assert_uint_eq(idmap_count(&m), 3);
	ck_assert_ptr_eq(idmap_get(&m, 1), val(10));
	ck_assert_ptr_eq(idmap_get(&m, 2), val(20));
	ck_assert_ptr_eq(idmap_get(&m, UINT64_MAX), val(30));
	ck_assert_ptr_null(idmap_get(&m, 3));
	ck_assert_ptr_null(idmap_get(&m, 0));

	ck_assert_ptr_eq(idmap_del(&m, 2), val(20));
	ck_assert_uint_eq(idmap_count(&m), 2);
	ck_assert_ptr_null(idmap_get(&m, 2));
	ck_assert_ptr_null(idmap_del(&m, 2));
	ck_assert_ptr_null(idmap_del(&m, 0));
	ck_assert_uint_eq(idmap_count(&m), 2);
	ck_assert_ptr_eq(idmap_get(&m, 1), val(10));
	check_shape(&m);
	idmap_free(&m);
	ck_assert_uint_eq(idmap_count(&m), 0);
	ck_assert_ptr_null(idmap_get(&m, 1));
}
END_TEST

START_TEST(test_replace)
{
	struct idmap m;

	idmap_init(&m);
	ck_assert_int_eq(idmap_put(&m, 42, val(1)), 0);
	ck_assert_int_eq(idmap_put(&m, 42, val(2)), 0);
	ck_assert_uint_eq(idmap_count(&m), 1);
	ck_assert_ptr_eq(idmap_get(&m, 42), val(2));
	ck_assert_ptr_eq(idmap_del(&m, 42), val(2));
	ck_assert_uint_eq(idmap_count(&m), 0);
	idmap_free(&m);
}
END_TEST

START_TEST(test_invalid)
{
	struct idmap m;

	idmap_init(&m);
	ck_assert_int_eq(idmap_put(&m, 0, val(1)), -EINVAL);
	ck_assert_int_eq(idmap_put(&m, 5, NULL), -EINVAL);
	ck_assert_uint_eq(idmap_count(&m), 0);
	ck_assert_ptr_null(idmap_get(&m, 5));
	idmap_free(&m);
}
END_TEST

START_TEST(test_growth)
{
	struct idmap m;
	const uint64_t n = 200000;
	size_t caps_seen = 0, last_cap = 0;

	idmap_init(&m);
	for (uint64_t k = 1; k <= n; k++) {
		ck_assert_int_eq(idmap_put(&m, k, val((uintptr_t)k * 3)), 0);
		if (m.cap != last_cap) {
			ck_assert_uint_gt(m.cap, last_cap);
			last_cap = m.cap;
			caps_seen++;
		}
	}
	ck_assert_uint_eq(idmap_count(&m), n);
	ck_assert_uint_ge(caps_seen, 10);
	check_shape(&m);
	/* 200000 / 0.7 = 285715, so the table is 2^19 slots. */
	ck_assert_uint_eq(m.cap, 524288);
	for (uint64_t k = 1; k <= n; k++)
		ck_assert_ptr_eq(idmap_get(&m, k), val((uintptr_t)k * 3));
	ck_assert_ptr_null(idmap_get(&m, n + 1));
	/* Delete the odd keys; the even ones stay findable. */
	for (uint64_t k = 1; k <= n; k += 2)
		ck_assert_ptr_eq(idmap_del(&m, k), val((uintptr_t)k * 3));
	ck_assert_uint_eq(idmap_count(&m), n / 2);
	for (uint64_t k = 1; k <= n; k++)
		ck_assert_ptr_eq(idmap_get(&m, k), k % 2 ? NULL : val((uintptr_t)k * 3));
	check_shape(&m);
	idmap_free(&m);
}
END_TEST

START_TEST(test_growth_strided_keys)
{
	struct idmap m;
	const uint64_t n = 50000;

	/* Keys that share their low bits would collide without a good mix. */
	idmap_init(&m);
	for (uint64_t i = 1; i <= n; i++)
		ck_assert_int_eq(idmap_put(&m, i << 32, val((uintptr_t)i)), 0);
	for (uint64_t i = 1; i <= n; i++)
		ck_assert_ptr_eq(idmap_get(&m, i << 32), val((uintptr_t)i));
	ck_assert_ptr_null(idmap_get(&m, 1));
	check_shape(&m);
	idmap_free(&m);
}
END_TEST

/* Collect n keys whose home slot in a 16-slot table is home. */
static void keys_with_home(uint64_t *keys, size_t n, size_t home)
{
	uint64_t k = 1;

	for (size_t i = 0; i < n; k++)
		if ((mix(k) & 15) == home)
			keys[i++] = k;
}

START_TEST(test_delete_wraparound_cluster)
{
	struct idmap m;
	uint64_t at15[3], at0[3], at14[1];

	/* A cluster that starts in slot 14 and wraps around to the start. */
	keys_with_home(at14, 1, 14);
	keys_with_home(at15, 3, 15);
	keys_with_home(at0, 3, 0);
	idmap_init(&m);
	ck_assert_int_eq(idmap_put(&m, at14[0], val(140)), 0);
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(idmap_put(&m, at15[i], val(150 + (uintptr_t)i)), 0);
		ck_assert_int_eq(idmap_put(&m, at0[i], val(100 + (uintptr_t)i)), 0);
	}
	ck_assert_uint_eq(m.cap, 16);
	check_shape(&m);
	/* Delete from the front and the middle of the run, one at a time. */
	ck_assert_ptr_eq(idmap_del(&m, at14[0]), val(140));
	ck_assert_ptr_eq(idmap_del(&m, at15[1]), val(151));
	ck_assert_ptr_eq(idmap_get(&m, at15[0]), val(150));
	ck_assert_ptr_eq(idmap_get(&m, at15[2]), val(152));
	for (int i = 0; i < 3; i++)
		ck_assert_ptr_eq(idmap_get(&m, at0[i]), val(100 + (uintptr_t)i));
	/* No holes: the five remaining keys fill one run 15, 0, 1, 2, 3. */
	ck_assert_uint_ne(m.slots[15].key, 0);
	for (size_t i = 0; i < 4; i++)
		ck_assert_uint_ne(m.slots[i].key, 0);
	ck_assert_uint_eq(m.slots[4].key, 0);
	ck_assert_uint_eq(m.slots[14].key, 0);
	ck_assert_ptr_eq(idmap_del(&m, at0[0]), val(100));
	ck_assert_ptr_eq(idmap_get(&m, at0[1]), val(101));
	ck_assert_ptr_eq(idmap_get(&m, at0[2]), val(102));
	ck_assert_uint_eq(idmap_count(&m), 4);
	check_shape(&m);
	idmap_free(&m);
}
END_TEST

#define UNIVERSE 3000

/* Check every key of the universe against the reference array. */
static void check_against(const struct idmap *m, const uintptr_t *ref)
{
	size_t n = 0;

	for (uint64_t k = 1; k <= UNIVERSE; k++) {
		void *want = ref[k] ? val(ref[k]) : NULL;

		ck_assert_ptr_eq(idmap_get(m, k), want);
		n += ref[k] != 0;
	}
	ck_assert_uint_eq(idmap_count(m), n);
	check_shape(m);
}

START_TEST(test_random_against_reference)
{
	static uintptr_t ref[UNIVERSE + 1];
	struct idmap m;
	uint64_t seed = UINT64_C(0x9e3779b97f4a7c15) + (uint64_t)_i;

	memset(ref, 0, sizeof(ref));
	idmap_init(&m);
	for (int op = 0; op < 200000; op++) {
		uint64_t r = rng_next(&seed);
		/* Keys crowd into a small range so runs and deletions interact. */
		uint64_t k = 1 + (r >> 8) % (op < 100000 ? UNIVERSE : 200);
		void *old;

		if ((r & 0xff) < 140) {
			uintptr_t v = (uintptr_t)op + 1;

			ck_assert_int_eq(idmap_put(&m, k, val(v)), 0);
			ref[k] = v;
		} else {
			old = idmap_del(&m, k);
			ck_assert_ptr_eq(old, ref[k] ? val(ref[k]) : NULL);
			ref[k] = 0;
		}
		if (op % 5000 == 0)
			check_against(&m, ref);
	}
	check_against(&m, ref);
	/* Empty it completely; nothing may remain. */
	for (uint64_t k = 1; k <= UNIVERSE; k++)
		ck_assert_ptr_eq(idmap_del(&m, k), ref[k] ? val(ref[k]) : NULL);
	ck_assert_uint_eq(idmap_count(&m), 0);
	for (size_t i = 0; i < m.cap; i++)
		ck_assert_uint_eq(m.slots[i].key, 0);
	idmap_free(&m);
}
END_TEST

START_TEST(test_iterate)
{
	static unsigned char seen[10001];
	struct idmap m;
	size_t iter = 0, visits = 0;
	uint64_t k;
	void *v;

	memset(seen, 0, sizeof(seen));
	idmap_init(&m);
	for (k = 1; k <= 10000; k++)
		ck_assert_int_eq(idmap_put(&m, k, val((uintptr_t)k + 1)), 0);
	for (k = 3; k <= 10000; k += 3)
		ck_assert_ptr_nonnull(idmap_del(&m, k));
	while (idmap_next(&m, &iter, &k, &v)) {
		ck_assert_uint_ge(k, 1);
		ck_assert_uint_le(k, 10000);
		ck_assert_uint_ne(k % 3, 0);
		ck_assert_ptr_eq(v, val((uintptr_t)k + 1));
		ck_assert_int_eq(seen[k], 0);
		seen[k] = 1;
		visits++;
	}
	ck_assert_uint_eq(visits, 10000 - 3333);
	ck_assert_uint_eq(visits, idmap_count(&m));
	/* The end is sticky, and NULL outputs are allowed. */
	ck_assert_int_eq(idmap_next(&m, &iter, &k, &v), 0);
	iter = 0;
	ck_assert_int_eq(idmap_next(&m, &iter, NULL, NULL), 1);
	idmap_free(&m);
}
END_TEST

START_TEST(test_get_or_new)
{
	struct idmap m;
	bool created = true;
	int *a, *b;

	idmap_init(&m);
	a = idmap_get_or_new(&m, 42, sizeof(*a), &created);
	ck_assert_ptr_nonnull(a);
	ck_assert(created);
	ck_assert_int_eq(*a, 0);          /* zeroed */
	*a = 7;
	ck_assert_ptr_eq(idmap_get(&m, 42), a);
	b = idmap_get_or_new(&m, 42, sizeof(*b), &created);
	ck_assert_ptr_eq(b, a);           /* the one stored */
	ck_assert(!created);
	ck_assert_int_eq(*b, 7);
	ck_assert_uint_eq(idmap_count(&m), 1);
	/* key 0 cannot be stored: nothing is left allocated */
	ck_assert_ptr_null(idmap_get_or_new(&m, 0, sizeof(int), &created));
	ck_assert(!created);
	ck_assert_uint_eq(idmap_count(&m), 1);
	free(idmap_del(&m, 42));
	idmap_free(&m);
}
END_TEST

START_TEST(test_reuse_after_free)
{
	struct idmap m;

	idmap_init(&m);
	for (uint64_t k = 1; k <= 100; k++)
		ck_assert_int_eq(idmap_put(&m, k, val(1)), 0);
	idmap_free(&m);
	ck_assert_uint_eq(idmap_count(&m), 0);
	ck_assert_ptr_null(idmap_get(&m, 5));
	ck_assert_int_eq(idmap_put(&m, 5, val(2)), 0);
	ck_assert_ptr_eq(idmap_get(&m, 5), val(2));
	ck_assert_uint_eq(m.cap, 16);
	idmap_free(&m);
}
END_TEST

/* Shrinking gives back room, keeps every entry, and leaves the map usable; an empty map frees its table. */
START_TEST(test_shrink)
{
	struct idmap m;
	uint64_t s = 11;

	idmap_init(&m);
	idmap_shrink(&m);
	ck_assert_uint_eq(m.cap, 0);
	for (uint64_t k = 1; k <= 5000; k++)
		ck_assert_int_eq(idmap_put(&m, k, val(k)), 0);
	ck_assert_uint_eq(m.cap, 8192);
	idmap_shrink(&m);
	ck_assert_uint_eq(m.cap, 8192); /* already as small as it may be */
	/* Keep 100 scattered entries: at most half full after the shrink. */
	for (uint64_t k = 1; k <= 5000; k++)
		if (k % 50 != 0)
			ck_assert_ptr_eq(idmap_del(&m, k), val(k));
	ck_assert_uint_eq(idmap_count(&m), 100);
	idmap_shrink(&m);
	ck_assert_uint_eq(m.cap, 256);
	check_shape(&m);
	for (uint64_t k = 50; k <= 5000; k += 50)
		ck_assert_ptr_eq(idmap_get(&m, k), val(k));
	ck_assert_ptr_null(idmap_get(&m, 51));
	/* Still a working map: random churn against the entries kept. */
	for (int i = 0; i < 2000; i++) {
		uint64_t k = 5001 + rng_next(&s) % 300;

		if (idmap_get(&m, k))
			ck_assert_ptr_eq(idmap_del(&m, k), val(k));
		else
			ck_assert_int_eq(idmap_put(&m, k, val(k)), 0);
		check_shape(&m);
	}
	for (uint64_t k = 50; k <= 5000; k += 50)
		ck_assert_ptr_eq(idmap_del(&m, k), val(k));
	for (uint64_t k = 5001; k <= 5300; k++)
		idmap_del(&m, k);
	ck_assert_uint_eq(idmap_count(&m), 0);
	idmap_shrink(&m);
	ck_assert_uint_eq(m.cap, 0);
	ck_assert_ptr_null(m.slots);
	ck_assert_int_eq(idmap_put(&m, 9, val(9)), 0);
	ck_assert_ptr_eq(idmap_get(&m, 9), val(9));
	idmap_free(&m);
}
END_TEST

/* All id map tests in one suite. */
static Suite *idmap_suite(void)
{
	Suite *s = suite_create("idmap");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_empty);
	tcase_add_test(tc, test_put_get_del);
	tcase_add_test(tc, test_replace);
	tcase_add_test(tc, test_invalid);
	tcase_add_test(tc, test_growth);
	tcase_add_test(tc, test_growth_strided_keys);
	tcase_add_test(tc, test_delete_wraparound_cluster);
	tcase_add_loop_test(tc, test_random_against_reference, 0, 4);
	tcase_add_test(tc, test_iterate);
	tcase_add_test(tc, test_reuse_after_free);
	tcase_add_test(tc, test_get_or_new);
	tcase_add_test(tc, test_shrink);
	suite_add_tcase(s, tc);
	return s;
}

/* Run the suite; the exit status is non-zero when any test failed. */
int main(void)
{
	SRunner *sr = srunner_create(idmap_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
