/* Unit tests of the request scanner: what it takes, with exact values, and what it declines. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/jscan.h"

/* Scan the NUL-terminated s. */
static int scan(const char *s, struct jpair *pairs)
{
	return jscan_object(s, strlen(s), pairs);
}

/* Whether pair p has key k. */
static int key_is(const struct jpair *p, const char *k)
{
	return p->key_len == strlen(k) && memcmp(p->key, k, p->key_len) == 0;
}

START_TEST(test_common_probe)
{
	struct jpair p[JSCAN_PAIRS_MAX];
	const char *line = "{\"id\":7,\"op\":\"probe\",\"host\":\"127.0.0.1\",\"timeout\":1.5}";

	ck_assert_int_eq(scan(line, p), 4);
	ck_assert(key_is(&p[0], "id"));
	ck_assert_int_eq(p[0].v.type, JV_INT);
	ck_assert_int_eq(p[0].v.i, 7);
	ck_assert(key_is(&p[1], "op"));
	ck_assert_int_eq(p[1].v.type, JV_STRING);
	ck_assert_int_eq(p[1].v.len, 5);
	ck_assert(memcmp(p[1].v.s, "probe", 5) == 0);
	/* strings point into the line */
	ck_assert_ptr_eq(p[2].v.s, line + 29);
	ck_assert_int_eq(p[2].v.len, 9);
	ck_assert(key_is(&p[3], "timeout"));
	ck_assert_int_eq(p[3].v.type, JV_REAL);
	ck_assert_double_eq(p[3].v.d, 1.5);
}
END_TEST

START_TEST(test_whitespace_literals_and_numbers)
{
	struct jpair p[JSCAN_PAIRS_MAX];

	ck_assert_int_eq(scan(" \t{ \"a\" : true ,\"b\":false,\r\"c\":null, \"d\":-0,\"e\":-12,"
			      "\"f\":1e2,\"g\":2.5E-1,\"h\":123456789012345678,\"\":\"\"}\t\r ", p),
			 9);
	ck_assert_int_eq(p[0].v.type, JV_TRUE);
	ck_assert_int_eq(p[1].v.type, JV_FALSE);
	ck_assert_int_eq(p[2].v.type, JV_NULL);
	ck_assert_int_eq(p[3].v.type, JV_INT);
	ck_assert_int_eq(p[3].v.i, 0);
	ck_assert_int_eq(p[4].v.i, -12);
	ck_assert_int_eq(p[5].v.type, JV_REAL);
	ck_assert_double_eq(p[5].v.d, 100.0);
	ck_assert_double_eq(p[6].v.d, 0.25);
	ck_assert_int_eq(p[7].v.type, JV_INT);
	ck_assert_int_eq(p[7].v.i, 123456789012345678LL);
	ck_assert_int_eq(p[8].key_len, 0);
	ck_assert_int_eq(p[8].v.type, JV_STRING);
	ck_assert_int_eq(p[8].v.len, 0);
	ck_assert_int_eq(scan("{}", p), 0);
	ck_assert_int_eq(scan(" { } ", p), 0);
}
END_TEST

START_TEST(test_declined)
{
	static const char *const lines[] = {
		"",
		"   ",
		"[]",
		"\"s\"",
		"1",
		"{",
		"{\"a\"}",
		"{\"a\":}",
		"{\"a\":1,}",
		"{,\"a\":1}",
		"{\"a\":1 \"b\":2}",
		"{\"a\":1}x",
		"{\"a\":1}{}",
		"{\"a\":1,\"a\":2}",           /* duplicate key: the general parser's error */
		"{\"a\":\"\\n\"}",             /* escapes */
		"{\"\\u0061\":1}",
		"{\"a\":\"\xc3\xa9\"}",         /* UTF-8 */
		"{\"a\":\"\x7f\"}",
		"{\"a\":\"\t\"}",              /* a control character in a string */
		"{\"a\":[]}",
		"{\"a\":{}}",
		"{\"a\":01}",
		"{\"a\":-}",
		"{\"a\":+1}",
		"{\"a\":1.}",
		"{\"a\":.5}",
		"{\"a\":1e}",
		"{\"a\":1e+}",
		"{\"a\":1234567890123456789}", /* 19 digits */
		"{\"a\":-1234567890123456789}",
		"{\"a\":1e400}",               /* overflows */
		"{\"a\":0.000000000000000000000000000000000000000001}", /* longer than taken */
		"{\"a\":tru}",
		"{\"a\":truex}",
		"{\"a\":nul}",
		"{\"a\":1\v}",
		"{'a':1}",
	};

	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		struct jpair p[JSCAN_PAIRS_MAX];

		ck_assert_msg(scan(lines[i], p) == -1, "taken: %s", lines[i]);
	}
}
END_TEST

START_TEST(test_nul_and_length)
{
	struct jpair p[JSCAN_PAIRS_MAX];

	/* only len bytes are read: the object ends before the garbage */
	ck_assert_int_eq(jscan_object("{\"a\":1}garbage", 7, p), 1);
	ck_assert_int_eq(jscan_object("{\"a\":1}\0", 8, p), -1);
	ck_assert_int_eq(jscan_object("{\"a\0\":1}", 8, p), -1);
	ck_assert_int_eq(jscan_object(NULL, 0, p), -1);
}
END_TEST

START_TEST(test_member_limit)
{
	struct jpair p[JSCAN_PAIRS_MAX];
	char line[1024];
	size_t n = 0;

	line[n++] = '{';
	for (int i = 0; i < JSCAN_PAIRS_MAX; i++)
		n += (size_t)snprintf(line + n, sizeof(line) - n, "%s\"k%d\":%d", i ? "," : "", i, i);
	line[n++] = '}';
	line[n] = '\0';
	ck_assert_int_eq(scan(line, p), JSCAN_PAIRS_MAX);
	ck_assert_int_eq(p[JSCAN_PAIRS_MAX - 1].v.i, JSCAN_PAIRS_MAX - 1);
	/* one more is left to the general parser */
	line[n - 1] = '\0';
	strcat(line, ",\"last\":1}");
	ck_assert_int_eq(scan(line, p), -1);
}
END_TEST

static Suite *jscan_suite(void)
{
	Suite *s = suite_create("jscan");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_common_probe);
	tcase_add_test(tc, test_whitespace_literals_and_numbers);
	tcase_add_test(tc, test_declined);
	tcase_add_test(tc, test_nul_and_length);
	tcase_add_test(tc, test_member_limit);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(jscan_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
