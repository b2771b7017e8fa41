/*
 * Unit tests of the address text module (daemon/addrfmt.c): exact answers
 * and bytes for the edge cases of IPv4 and IPv6 text (each also checked
 * against this libc's inet_pton() and inet_ntop(), so that the tables say
 * what glibc does), then the same comparison on every short text over a
 * small alphabet, on random and mutated texts, and on a million random
 * addresses with runs of zero groups.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/addrfmt.h"

/* ---- helpers ------------------------------------------------------------ */

/* xorshift64*: the same sequence on every run. */
static uint64_t rng_state;

static void rng_seed(uint64_t seed)
{
	rng_state = seed ? seed : 1;
}

static uint64_t rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1DULL;
}

/* A number in [0, n). */
static unsigned rng_below(unsigned n)
{
	return (unsigned)(rng() >> 32) % n;
}

/* The size of an address of family. */
static size_t bin_size(int family)
{
	return family == AF_INET ? 4 : 16;
}

/* Printable form of len bytes of text (for failure messages). */
static const char *shown(const char *s, size_t len)
{
	static char buf[4 * 64 + 1];
	char *p = buf;

	for (size_t i = 0; i < len && i < 64; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c < 0x7f && c != '\\') {
			*p++ = (char)c;
		} else {
			static const char hex[] = "0123456789abcdef";

			*p++ = '\\';
			*p++ = 'x';
			*p++ = hex[c >> 4];
			*p++ = hex[c & 0xf];
		}
	}
	*p = '\0';
	return buf;
}

/*
 * addr_parse() of the len bytes at s must answer what inet_pton() answers
 * for them with a NUL after (s holds no NUL), with the same bytes, and
 * must leave bin alone when it answers 0.  (Plain ifs: Check's assertions
 * record every success, which the bulk tests cannot afford.)
 */
static void same_parse(int family, const char *s, size_t len)
{
	char copy[256];
	unsigned char want[16], got[16];
	int rw, rg;

	if (len >= sizeof(copy))
		ck_abort_msg("text of %zu bytes", len);
	memcpy(copy, s, len);
	copy[len] = '\0';
	memset(want, 0xa5, sizeof(want));
	memset(got, 0xa5, sizeof(got));
	rw = inet_pton(family, copy, want);
	rg = addr_parse(family, s, len, got);
	if (rg != rw || memcmp(got, want, sizeof(got)) != 0)
		ck_abort_msg("%s \"%s\": addr_parse %d, inet_pton %d%s",
			     family == AF_INET ? "AF_INET" : "AF_INET6", shown(s, len), rg, rw,
			     rg == rw ? ", other bytes" : "");
}

/* addr_format() of bin must write inet_ntop()'s bytes, and they must parse back to bin. */
static void same_format(int family, const unsigned char *bin)
{
	char want[INET6_ADDRSTRLEN], got[MP_ADDR_MAX];
	unsigned char back[16];
	size_t n;

	if (!inet_ntop(family, bin, want, sizeof(want)))
		ck_abort_msg("inet_ntop failed");
	memset(got, 'X', sizeof(got));
	n = addr_format(family, bin, got);
	if (strcmp(got, want) != 0 || n != strlen(want))
		ck_abort_msg("addr_format \"%s\" (%zu), inet_ntop \"%s\"", shown(got, sizeof(got)),
			     n, want);
	if (addr_parse(family, got, n, back) != 1 || memcmp(back, bin, bin_size(family)) != 0)
		ck_abort_msg("\"%s\" does not parse back to its bytes", got);
}

/* ---- parsing and canonical forms: the tables ----------------------------- */

struct text_case {
	int family;
	const char *text;
	const char *canon; /* inet_ntop() of what it parses to; NULL: invalid */
};

static const struct text_case text_cases[] = {
	/* IPv4 */
	{ AF_INET, "0.0.0.0", "0.0.0.0" },
	{ AF_INET, "255.255.255.255", "255.255.255.255" },
	{ AF_INET, "127.0.0.1", "127.0.0.1" },
	{ AF_INET, "198.51.100.9", "198.51.100.9" },
	{ AF_INET, "203.0.113.250", "203.0.113.250" },
	{ AF_INET, "256.1.1.1", NULL },
	{ AF_INET, "192.0.2.256", NULL },
	{ AF_INET, "192.0.2.1000", NULL },
	{ AF_INET, "192.0.2.2555", NULL },
	{ AF_INET, "0192.0.2.4", NULL },
	{ AF_INET, "192.0.2.04", NULL },
	{ AF_INET, "192.0.2.00", NULL },
	{ AF_INET, "00.0.0.0", NULL },
	{ AF_INET, "192.0.2", NULL },
	{ AF_INET, "192.0.2.4.5", NULL },
	{ AF_INET, " 192.0.2.4", NULL },
	{ AF_INET, "192.0.2.4 ", NULL },
	{ AF_INET, "192.0.2.4.", NULL },
	{ AF_INET, ".192.0.2.4", NULL },
	{ AF_INET, "1..2.3", NULL },
	{ AF_INET, "192.0..2.4", NULL },
	{ AF_INET, "", NULL },
	{ AF_INET, ".", NULL },
	{ AF_INET, "192.0.2.-4", NULL },
	{ AF_INET, "+192.0.2.4", NULL },
	{ AF_INET, "0x192.0.2.4", NULL },
	{ AF_INET, "192.0.2.4\n", NULL },
	{ AF_INET, "127.1", NULL },
	{ AF_INET, "2130706433", NULL },
	{ AF_INET, "192.0.2.4/24", NULL },
	{ AF_INET, "::1", NULL },
	{ AF_INET, "::ffff:192.0.2.4", NULL },
	{ AF_INET, "255.255.255.255.", NULL },
	/* IPv6: zero runs */
	{ AF_INET6, "::", "::" },
	{ AF_INET6, "::1", "::1" },
	{ AF_INET6, "1::", "1::" },
	{ AF_INET6, "0:0:0:0:0:0:0:0", "::" },
	{ AF_INET6, "0:0:0:0:0:0:0:1", "::1" },
	{ AF_INET6, "1:0:0:0:0:0:0:0", "1::" },
	{ AF_INET6, "1:0:0:1:0:0:0:1", "1:0:0:1::1" },
	{ AF_INET6, "1:0:0:2:0:0:3:4", "1::2:0:0:3:4" },
	{ AF_INET6, "1:2:0:0:3:4:0:0", "1:2::3:4:0:0" },
	{ AF_INET6, "1:0:2:3:4:5:6:7", "1:0:2:3:4:5:6:7" },
	{ AF_INET6, "0:1:2:3:4:5:6:7", "0:1:2:3:4:5:6:7" },
	{ AF_INET6, "1:2:3:4:5:6:7:0", "1:2:3:4:5:6:7:0" },
	{ AF_INET6, "1:2:3:4:5:6:0:0", "1:2:3:4:5:6::" },
	{ AF_INET6, "0:0:1::", "0:0:1::" },
	{ AF_INET6, "1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0" },
	{ AF_INET6, "::2:3:4:5:6:7:8", "0:2:3:4:5:6:7:8" },
	{ AF_INET6, "2001:0DB8:0000:0:0::0001", "2001:db8::1" },
	{ AF_INET6, "fe80::1", "fe80::1" },
	{ AF_INET6, "0000:0000:0000:0000:0000:0000:0000:0000", "::" },
	/* IPv6: hex digits */
	{ AF_INET6, "2001:DB8::ABCD", "2001:db8::abcd" },
	{ AF_INET6, "ABCD:EF01:2345:6789:abcd:ef01:2345:6789", "abcd:ef01:2345:6789:abcd:ef01:2345:6789" },
	{ AF_INET6, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff" },
	{ AF_INET6, "a:0b:00c:000d:Ee:fF:1:0", "a:b:c:d:ee:ff:1:0" },
	{ AF_INET6, "12345::", NULL },
	{ AF_INET6, "1:2:3:4:5:6:7:12345", NULL },
	{ AF_INET6, "00000::1", NULL },
	{ AF_INET6, "g::", NULL },
	{ AF_INET6, "0x1::", NULL },
	{ AF_INET6, "::-1", NULL },
	/* IPv6: embedded IPv4 */
	{ AF_INET6, "::ffff:192.0.2.4", "::ffff:192.0.2.4" },
	{ AF_INET6, "::FFFF:192.0.2.4", "::ffff:192.0.2.4" },
	{ AF_INET6, "0:0:0:0:0:ffff:c000:204", "::ffff:192.0.2.4" },
	{ AF_INET6, "::ffff:0:0", "::ffff:0.0.0.0" },
	{ AF_INET6, "::ffff:7f00:1", "::ffff:127.0.0.1" },
	{ AF_INET6, "::192.0.2.4", "::192.0.2.4" },
	{ AF_INET6, "::c000:204", "::192.0.2.4" },
	{ AF_INET6, "::0.0.0.1", "::1" },
	{ AF_INET6, "::0.1.0.0", "::0.1.0.0" },
	{ AF_INET6, "::1:0", "::0.1.0.0" },
	{ AF_INET6, "::ffff", "::ffff" },
	{ AF_INET6, "::ffff:0", "::255.255.0.0" },
	{ AF_INET6, "::255.255.255.255", "::255.255.255.255" },
	{ AF_INET6, "0:0:0:0:1:ffff:1:2", "::1:ffff:1:2" },
	{ AF_INET6, "1::ffff:192.0.2.4", "1::ffff:c000:204" },
	{ AF_INET6, "::fffe:192.0.2.4", "::fffe:c000:204" },
	{ AF_INET6, "64:ff9b::192.0.2.33", "64:ff9b::c000:221" },
	{ AF_INET6, "1:2:3:4:5:6:192.0.2.4", "1:2:3:4:5:6:c000:204" },
	{ AF_INET6, "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff" },
	{ AF_INET6, "0000:0000:0000:0000:0000:0000:255.255.255.255", "::255.255.255.255" },
	{ AF_INET6, "192.0.2.4", NULL },
	{ AF_INET6, "192.0.2.4::", NULL },
	{ AF_INET6, "192.0.2.4::1", NULL },
	{ AF_INET6, "::192.0.2.4:1", NULL },
	{ AF_INET6, "::192.0.2.4::", NULL },
	{ AF_INET6, "1:2:3:4:5:6:7:192.0.2.4", NULL },
	{ AF_INET6, "::1.2.3", NULL },
	{ AF_INET6, "::192.0.2.4.5", NULL },
	{ AF_INET6, "::256.1.1.1", NULL },
	{ AF_INET6, "::0192.0.2.4", NULL },
	{ AF_INET6, "::a.2.3.4", NULL },
	{ AF_INET6, "::.1.2.3", NULL },
	{ AF_INET6, "::111192.0.2.4", NULL },
	{ AF_INET6, "::ffff:192.0.2.4/96", NULL },
	/* IPv6: colons and groups */
	{ AF_INET6, "", NULL },
	{ AF_INET6, ":", NULL },
	{ AF_INET6, ":::", NULL },
	{ AF_INET6, "1:::2", NULL },
	{ AF_INET6, "1::2::3", NULL },
	{ AF_INET6, "::1::", NULL },
	{ AF_INET6, ":1", NULL },
	{ AF_INET6, ":1::2", NULL },
	{ AF_INET6, "1:", NULL },
	{ AF_INET6, "1::2:", NULL },
	{ AF_INET6, "1:2:3:4:5:6:7", NULL },
	{ AF_INET6, "1:2:3:4:5:6:7:8:9", NULL },
	{ AF_INET6, "1:2:3:4:5:6:7:8::", NULL },
	{ AF_INET6, "::1:2:3:4:5:6:7:8", NULL },
	{ AF_INET6, "1:2:3:4::5:6:7:8", NULL },
	{ AF_INET6, " ::1", NULL },
	{ AF_INET6, "::1 ", NULL },
	{ AF_INET6, "fe80::1%lo", NULL },
	{ AF_INET6, "[::1]", NULL },
	{ AF_INET6, "::1\n", NULL },
};

/* Each text: the answer and canonical form in the table, and libc's. */
START_TEST(test_text_table)
{
	const struct text_case *c = &text_cases[_i];
	size_t len = strlen(c->text);
	unsigned char bin[16];
	char out[MP_ADDR_MAX];
	int r;

	memset(bin, 0xa5, sizeof(bin));
	r = addr_parse(c->family, c->text, len, bin);
	ck_assert_msg(r == (c->canon != NULL), "\"%s\": addr_parse %d", c->text, r);
	if (c->canon) {
		ck_assert_uint_eq(addr_format(c->family, bin, out), strlen(c->canon));
		ck_assert_str_eq(out, c->canon);
	} else {
		for (size_t i = 0; i < sizeof(bin); i++)
			ck_assert_msg(bin[i] == 0xa5, "\"%s\": bin written on failure", c->text);
	}
	same_parse(c->family, c->text, len);
	if (c->canon)
		same_format(c->family, bin);
}
END_TEST

/* addr_canon(): the version's canonical form, or -EINVAL with out untouched. */
START_TEST(test_text_table_canon)
{
	const struct text_case *c = &text_cases[_i];
	int v = c->family == AF_INET ? 4 : 6;
	char out[MP_ADDR_MAX];

	memset(out, 'X', sizeof(out));
	if (c->canon) {
		ck_assert_int_eq(addr_canon(v, c->text, strlen(c->text), out), 0);
		ck_assert_str_eq(out, c->canon);
	} else {
		ck_assert_int_eq(addr_canon(v, c->text, strlen(c->text), out), -EINVAL);
		for (size_t i = 0; i < sizeof(out); i++)
			ck_assert_msg(out[i] == 'X', "\"%s\": out written on failure", c->text);
	}
}
END_TEST

/* ---- formatting: the table ----------------------------------------------- */

struct format6_case {
	uint16_t groups[8];
	const char *text;
};

static const struct format6_case format6_cases[] = {
	{ { 0, 0, 0, 0, 0, 0, 0, 0 }, "::" },
	{ { 0, 0, 0, 0, 0, 0, 0, 1 }, "::1" },
	{ { 0, 0, 0, 0, 0, 0, 1, 0 }, "::0.1.0.0" },
	{ { 0, 0, 0, 0, 0, 0, 0xc000, 0x0204 }, "::192.0.2.4" },
	{ { 0, 0, 0, 0, 0, 0, 0xffff, 0xffff }, "::255.255.255.255" },
	{ { 0, 0, 0, 0, 0, 0, 0xffff, 0 }, "::255.255.0.0" },
	{ { 0, 0, 0, 0, 0, 0, 0, 0xffff }, "::ffff" },
	{ { 0, 0, 0, 0, 0, 0xffff, 0, 0 }, "::ffff:0.0.0.0" },
	{ { 0, 0, 0, 0, 0, 0xffff, 0, 1 }, "::ffff:0.0.0.1" },
	{ { 0, 0, 0, 0, 0, 0xffff, 0xc000, 0x0204 }, "::ffff:192.0.2.4" },
	{ { 0, 0, 0, 0, 0, 0xffff, 0xffff, 0xffff }, "::ffff:255.255.255.255" },
	{ { 0, 0, 0, 0, 0, 0xfffe, 0xc000, 0x0204 }, "::fffe:c000:204" },
	{ { 0, 0, 0, 0, 0, 1, 0xc000, 0x0204 }, "::1:c000:204" },
	{ { 0, 0, 0, 0, 1, 0xffff, 0xc000, 0x0204 }, "::1:ffff:c000:204" },
	{ { 1, 0, 0, 0, 0, 0xffff, 0xc000, 0x0204 }, "1::ffff:c000:204" },
	{ { 0, 0, 0, 0, 0, 0, 0, 0x0102 }, "::102" },
	{ { 1, 0, 0, 0, 0, 0, 0, 0 }, "1::" },
	{ { 1, 0, 0, 0, 0, 0, 0, 1 }, "1::1" },
	{ { 1, 0, 0, 1, 0, 0, 0, 1 }, "1:0:0:1::1" },
	{ { 1, 0, 0, 2, 0, 0, 3, 4 }, "1::2:0:0:3:4" },
	{ { 1, 2, 0, 0, 3, 4, 0, 0 }, "1:2::3:4:0:0" },
	{ { 0, 0, 1, 0, 0, 1, 0, 0 }, "::1:0:0:1:0:0" },
	{ { 0, 1, 0, 1, 0, 1, 0, 1 }, "0:1:0:1:0:1:0:1" },
	{ { 1, 0, 1, 0, 1, 0, 1, 0 }, "1:0:1:0:1:0:1:0" },
	{ { 0, 0, 1, 0, 0, 0, 0, 0 }, "0:0:1::" },
	{ { 0, 0, 0, 0, 1, 0, 0, 0 }, "::1:0:0:0" },
	{ { 0x2001, 0xdb8, 0, 0, 0, 0, 0, 1 }, "2001:db8::1" },
	{ { 0xfe80, 0, 0, 0, 0x0202, 0xb3ff, 0xfe1e, 0x8329 }, "fe80::202:b3ff:fe1e:8329" },
	{ { 0xabcd, 0xef, 0xf, 0x10, 0x100, 0x1000, 0xfff, 0xffff }, "abcd:ef:f:10:100:1000:fff:ffff" },
	{ { 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff },
	  "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff" },
};

START_TEST(test_format6_table)
{
	const struct format6_case *c = &format6_cases[_i];
	unsigned char bin[16];
	char out[MP_ADDR_MAX];

	for (int i = 0; i < 8; i++) {
		bin[2 * i] = (unsigned char)(c->groups[i] >> 8);
		bin[2 * i + 1] = (unsigned char)c->groups[i];
	}
	ck_assert_uint_eq(addr_format(AF_INET6, bin, out), strlen(c->text));
	ck_assert_str_eq(out, c->text);
	same_format(AF_INET6, bin);
}
END_TEST

START_TEST(test_format4)
{
	static const struct {
		unsigned char bin[4];
		const char *text;
	} cases[] = {
		{ { 0, 0, 0, 0 }, "0.0.0.0" },
		{ { 255, 255, 255, 255 }, "255.255.255.255" },
		{ { 127, 0, 0, 1 }, "127.0.0.1" },
		{ { 127, 10, 99, 100 }, "127.10.99.100" },
		{ { 127, 101, 109, 110 }, "127.101.109.110" },
		{ { 127, 205, 250, 199 }, "127.205.250.199" },
	};
	char out[MP_ADDR_MAX];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ck_assert_uint_eq(addr_format(AF_INET, cases[i].bin, out), strlen(cases[i].text));
		ck_assert_str_eq(out, cases[i].text);
		same_format(AF_INET, cases[i].bin);
	}
}
END_TEST

/* Every IPv4 part value, and every one of them written with leading zeros. */
START_TEST(test_v4_every_part)
{
	char text[32];
	unsigned char bin[4];

	for (unsigned v = 0; v < 1000; v++) {
		for (int width = 1; width <= 4; width++) {
			int n = snprintf(text, sizeof(text), "1.%0*u.3.4", width, v);

			same_parse(AF_INET, text, (size_t)n);
			n = snprintf(text, sizeof(text), "%0*u.2.3.%0*u", width, v, width, v);
			same_parse(AF_INET, text, (size_t)n);
			same_parse(AF_INET6, text, (size_t)n);
			n = snprintf(text, sizeof(text), "::%0*u.2.3.4", width, v);
			same_parse(AF_INET6, text, (size_t)n);
		}
		if (v < 256) {
			bin[0] = (unsigned char)v;
			bin[1] = (unsigned char)(255 - v);
			bin[2] = (unsigned char)(v * 7);
			bin[3] = (unsigned char)(v / 3);
			same_format(AF_INET, bin);
		}
	}
}
END_TEST

/* Every hex group value of 1-4 digits, in both cases, with leading zeros. */
START_TEST(test_v6_every_group)
{
	char text[64];
	unsigned char bin[16];

	for (unsigned v = 0; v <= 0xffff; v++) {
		int n = snprintf(text, sizeof(text), "1::%x", v);

		same_parse(AF_INET6, text, (size_t)n);
		n = snprintf(text, sizeof(text), "%04X:2:3:4:5:6:7:8", v);
		same_parse(AF_INET6, text, (size_t)n);
		n = snprintf(text, sizeof(text), "::%x%x", v, v & 0xf);
		same_parse(AF_INET6, text, (size_t)n);
		memset(bin, 0, sizeof(bin));
		bin[2 * (v % 8)] = (unsigned char)(v >> 8);
		bin[2 * (v % 8) + 1] = (unsigned char)v;
		same_format(AF_INET6, bin);
	}
}
END_TEST

/* ---- the API's own rules -------------------------------------------------- */

/* The text is the len bytes at s: what follows does not count. */
START_TEST(test_parse_not_terminated)
{
	const char *s = "192.0.2.3 and more";
	char out[MP_ADDR_MAX];
	unsigned char bin[16];

	ck_assert_int_eq(addr_parse(AF_INET, s, 9, bin), 1);
	ck_assert_int_eq(bin[0], 192);
	ck_assert_int_eq(bin[3], 3);
	ck_assert_int_eq(addr_parse(AF_INET, s, 10, bin), 0);
	ck_assert_int_eq(addr_parse(AF_INET, s, 8, bin), 0); /* "192.0.2." */
	ck_assert_int_eq(bin[3], 3);
	ck_assert_int_eq(addr_canon(4, s, 9, out), 0);
	ck_assert_str_eq(out, "192.0.2.3");
	ck_assert_int_eq(addr_canon(4, s, 7, out), -EINVAL);
	ck_assert_int_eq(addr_canon(6, "::1::", 3, out), 0);
	ck_assert_str_eq(out, "::1");
	ck_assert_int_eq(addr_canon(6, "2001:DB8::1:0:0", 11, out), 0);
	ck_assert_str_eq(out, "2001:db8::1");
	ck_assert_int_eq(addr_parse(AF_INET, s, 0, bin), 0);
	ck_assert_int_eq(addr_parse(AF_INET6, s, 0, bin), 0);
	ck_assert_int_eq(addr_canon(4, s, 0, out), -EINVAL);
}
END_TEST

/* A NUL anywhere makes the text invalid (inet_pton() would stop at it). */
START_TEST(test_parse_nul)
{
	unsigned char bin[16];
	char out[MP_ADDR_MAX];

	ck_assert_int_eq(addr_parse(AF_INET, "192.0.2.4\0", 8, bin), 0);
	ck_assert_int_eq(addr_parse(AF_INET, "\0" "192.0.2.4", 8, bin), 0);
	ck_assert_int_eq(addr_parse(AF_INET, "1.2\0.3.4", 8, bin), 0);
	ck_assert_int_eq(addr_parse(AF_INET, "\0", 1, bin), 0);
	ck_assert_int_eq(addr_parse(AF_INET6, "::1\0", 4, bin), 0);
	ck_assert_int_eq(addr_parse(AF_INET6, "::\0", 3, bin), 0);
	ck_assert_int_eq(addr_parse(AF_INET6, "\0::1", 4, bin), 0);
	ck_assert_int_eq(addr_parse(AF_INET6, "::192.0.2.4\0", 10, bin), 0);
	ck_assert_int_eq(addr_canon(4, "192.0.2.4\0", 8, out), -EINVAL);
	ck_assert_int_eq(addr_canon(6, "::1\0", 4, out), -EINVAL);
}
END_TEST

/* Longer than the longest valid text: invalid, whatever the bytes. */
START_TEST(test_parse_lengths)
{
	char buf[128];
	unsigned char bin[16];
	char out[MP_ADDR_MAX];

	/* The longest valid texts. */
	ck_assert_int_eq(addr_parse(AF_INET, "255.255.255.255", ADDR_TEXT4_MAX, bin), 1);
	ck_assert_int_eq(addr_parse(AF_INET6, "0000:0000:0000:0000:0000:0000:255.255.255.255",
				    ADDR_TEXT6_MAX, bin),
			 1);
	ck_assert_int_eq(addr_canon(6, "0000:0000:0000:0000:0000:0000:255.255.255.255",
				    ADDR_TEXT6_MAX, out),
			 0);
	ck_assert_str_eq(out, "::255.255.255.255");
	/* One more byte, and long runs of valid characters. */
	same_parse(AF_INET, "255.255.255.2555", 16);
	same_parse(AF_INET6, "0000:0000:0000:0000:0000:0000:255.255.255.2555", 46);
	memset(buf, '0', sizeof(buf));
	for (size_t len = 0; len < sizeof(buf); len++) {
		same_parse(AF_INET, buf, len);
		same_parse(AF_INET6, buf, len);
	}
	memset(buf, ':', sizeof(buf));
	for (size_t len = 0; len < sizeof(buf); len++)
		same_parse(AF_INET6, buf, len);
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = i % 5 == 4 ? ':' : '0';
	for (size_t len = 0; len < sizeof(buf); len++)
		same_parse(AF_INET6, buf, len);
}
END_TEST

/* Other families: inet_pton()'s -1, an empty text, -EINVAL. */
START_TEST(test_other_family)
{
	unsigned char bin[16] = { 1 };
	char out[MP_ADDR_MAX];

	ck_assert_int_eq(addr_parse(AF_UNIX, "192.0.2.4", 7, bin), -1);
	ck_assert_int_eq(addr_parse(AF_UNSPEC, "::1", 3, bin), -1);
	ck_assert_uint_eq(addr_format(AF_UNIX, bin, out), 0);
	ck_assert_str_eq(out, "");
	ck_assert_int_eq(addr_canon(0, "192.0.2.4", 7, out), -EINVAL);
	ck_assert_int_eq(addr_canon(5, "192.0.2.4", 7, out), -EINVAL);
	ck_assert_int_eq(addr_canon(AF_INET, "192.0.2.4", 7, out), -EINVAL);
	ck_assert_int_eq(addr_canon(-1, "::1", 3, out), -EINVAL);
}
END_TEST

/* ---- against libc, in bulk ------------------------------------------------- */

/* Every text of up to 8 characters over an alphabet that makes addresses. */
START_TEST(test_every_short_text)
{
	static const char alphabet[] = "025f:.";
	const size_t k = sizeof(alphabet) - 1;
	char text[8];
	size_t idx[8];

	for (size_t len = 0; len <= sizeof(text); len++) {
		memset(idx, 0, sizeof(idx));
		for (;;) {
			size_t i;

			for (i = 0; i < len; i++)
				text[i] = alphabet[idx[i]];
			same_parse(AF_INET, text, len);
			same_parse(AF_INET6, text, len);
			for (i = 0; i < len && ++idx[i] == k; i++)
				idx[i] = 0;
			if (i == len)
				break;
		}
	}
}
END_TEST

/* A random address: groups zero, small, ffff or random, with a run of zeros. */
static void random_v6(unsigned char bin[16])
{
	uint16_t g[8];

	for (int i = 0; i < 8; i++) {
		switch (rng_below(8)) {
		case 0:
		case 1:
		case 2:
			g[i] = 0;
			break;
		case 3:
			g[i] = (uint16_t)(1 + rng_below(0xf));
			break;
		case 4:
			g[i] = (uint16_t)(1u << rng_below(16));
			break;
		case 5:
			g[i] = 0xffff;
			break;
		default:
			g[i] = (uint16_t)rng();
			break;
		}
	}
	if (rng_below(2)) {
		unsigned start = rng_below(8), len = 1 + rng_below(8 - start);

		for (unsigned i = start; i < start + len; i++)
			g[i] = 0;
	}
	switch (rng_below(16)) {
	case 0: /* v4-mapped */
		memset(g, 0, 5 * sizeof(g[0]));
		g[5] = 0xffff;
		break;
	case 1: /* v4-compatible */
		memset(g, 0, 6 * sizeof(g[0]));
		break;
	case 2: /* nearly one of them */
		memset(g, 0, 5 * sizeof(g[0]));
		g[rng_below(6)] = (uint16_t)rng_below(0x10000);
		break;
	default:
		break;
	}
	for (int i = 0; i < 8; i++) {
		bin[2 * i] = (unsigned char)(g[i] >> 8);
		bin[2 * i + 1] = (unsigned char)g[i];
	}
}

/* A million random IPv6 addresses and 100000 IPv4 ones: inet_ntop()'s bytes. */
START_TEST(test_random_addresses)
{
	unsigned char bin[16];

	rng_seed(0x61646472666d74ULL);
	for (int i = 0; i < 1000000; i++) {
		random_v6(bin);
		same_format(AF_INET6, bin);
	}
	for (int i = 0; i < 100000; i++) {
		uint64_t r = rng();

		memcpy(bin, &r, 4);
		if (i % 4 == 0)
			bin[i % 3] = 0;
		same_format(AF_INET, bin);
	}
}
END_TEST

/* Random texts, and the text of random addresses with one to three edits. */
START_TEST(test_random_texts)
{
	static const char alphabet[] = "0123456789abcdefABCDEF::::....g x%/";
	unsigned char bin[16];
	char text[64];

	rng_seed(0x7465787473ULL);
	for (int i = 0; i < 300000; i++) {
		size_t len = rng_below(50);

		for (size_t j = 0; j < len; j++)
			text[j] = alphabet[rng_below(sizeof(alphabet) - 1)];
		same_parse(AF_INET, text, len);
		same_parse(AF_INET6, text, len);
	}
	for (int i = 0; i < 300000; i++) {
		int v6 = i % 3 != 0, edits = 1 + (int)rng_below(3);
		size_t len;

		if (v6) {
			random_v6(bin);
		} else {
			uint64_t r = rng();

			memcpy(bin, &r, 4);
		}
		len = addr_format(v6 ? AF_INET6 : AF_INET, bin, text);
		for (int e = 0; e < edits; e++) {
			size_t at = rng_below((unsigned)len + 1);
			char c = alphabet[rng_below(sizeof(alphabet) - 1)];

			switch (rng_below(3)) {
			case 0: /* insert */
				if (len + 1 < sizeof(text)) {
					memmove(text + at + 1, text + at, len - at);
					text[at] = c;
					len++;
				}
				break;
			case 1: /* delete */
				if (at < len) {
					memmove(text + at, text + at + 1, len - at - 1);
					len--;
				}
				break;
			default: /* replace */
				if (at < len)
					text[at] = c;
				break;
			}
		}
		same_parse(AF_INET, text, len);
		same_parse(AF_INET6, text, len);
	}
}
END_TEST

static Suite *addrfmt_suite(void)
{
	Suite *s = suite_create("addrfmt");
	TCase *tc = tcase_create("tables");
	TCase *tb = tcase_create("bulk");

	tcase_add_loop_test(tc, test_text_table, 0, (int)(sizeof(text_cases) / sizeof(text_cases[0])));
	tcase_add_loop_test(tc, test_text_table_canon, 0,
			    (int)(sizeof(text_cases) / sizeof(text_cases[0])));
	tcase_add_loop_test(tc, test_format6_table, 0,
			    (int)(sizeof(format6_cases) / sizeof(format6_cases[0])));
	tcase_add_test(tc, test_format4);
	tcase_add_test(tc, test_parse_not_terminated);
	tcase_add_test(tc, test_parse_nul);
	tcase_add_test(tc, test_parse_lengths);
	tcase_add_test(tc, test_other_family);
	suite_add_tcase(s, tc);

	tcase_set_timeout(tb, 50);
	tcase_add_test(tb, test_v4_every_part);
	tcase_add_test(tb, test_v6_every_group);
	tcase_add_test(tb, test_every_short_text);
	tcase_add_test(tb, test_random_addresses);
	tcase_add_test(tb, test_random_texts);
	suite_add_tcase(s, tb);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(addrfmt_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
