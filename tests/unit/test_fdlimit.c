/* Unit tests of the connection cap from the open-files limit. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>

#include "daemon/fdlimit.h"

START_TEST(test_reserve)
{
	/* What docs/man/mtrprobed.conf.5 says under max_connections. */
	ck_assert_int_eq(FDLIMIT_RESERVE, 344);
	ck_assert_int_eq(FDLIMIT_WORKERS, 256);
}
END_TEST

START_TEST(test_cap)
{
	ck_assert_int_eq(fdlimit_max_connections(4096, 384), 40);
	ck_assert_int_eq(fdlimit_max_connections(4096, 1024), 680);
	ck_assert_int_eq(fdlimit_max_connections(4096, 4096 + 344), 4096);
	ck_assert_int_eq(fdlimit_max_connections(4096, 4096 + 343), 4095);
	ck_assert_int_eq(fdlimit_max_connections(10, 384), 10);
	ck_assert_int_eq(fdlimit_max_connections(40, 384), 40);
	ck_assert_int_eq(fdlimit_max_connections(41, 384), 40);
}
END_TEST

START_TEST(test_edges)
{
	/* No room at all: still one connection, never 0 or less. */
	ck_assert_int_eq(fdlimit_max_connections(4096, 344), 1);
	ck_assert_int_eq(fdlimit_max_connections(4096, 345), 1);
	ck_assert_int_eq(fdlimit_max_connections(4096, 346), 2);
	ck_assert_int_eq(fdlimit_max_connections(4096, 0), 1);
	/* RLIM_INFINITY and limits above INT_MAX: the configured value. */
	ck_assert_int_eq(fdlimit_max_connections(1000000, UINT64_MAX), 1000000);
	ck_assert_int_eq(fdlimit_max_connections(1000000, UINT64_C(1) << 40), 1000000);
	ck_assert_int_eq(fdlimit_max_connections(1, 1048576), 1);
}
END_TEST

static Suite *fdlimit_suite(void)
{
	Suite *s = suite_create("fdlimit");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_reserve);
	tcase_add_test(tc, test_cap);
	tcase_add_test(tc, test_edges);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(fdlimit_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
