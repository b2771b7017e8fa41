/*
 * IP address text (see addrfmt.h): the rules of glibc's inet_pton() and
 * inet_ntop(), written as plain loops over the bytes.  The unit tests and
 * the fuzzer hold these functions to libc's answers byte for byte.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "addrfmt.h"

/* 1 + the value of each hex digit (either case); 0 for every other byte. */
static const unsigned char hex_table[256] = {
	['0'] = 1, ['1'] = 2, ['2'] = 3, ['3'] = 4, ['4'] = 5,
	['5'] = 6, ['6'] = 7, ['7'] = 8, ['8'] = 9, ['9'] = 10,
	['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
	['A'] = 11, ['B'] = 12, ['C'] = 13, ['D'] = 14, ['E'] = 15, ['F'] = 16,
};

/* The value of the hex digit c (either case), or -1. */
static int hex_value(char c)
{
	return hex_table[(unsigned char)c] - 1;
}

/*
 * Dotted decimal: all of [p, end) as four parts of 0-255, no leading zero.
 * Returns 1 and writes out[0..4), or 0 and leaves out alone.
 */
static int parse4(const char *p, const char *end, unsigned char out[4])
{
	unsigned char b[4];

	for (int i = 0; i < 4; i++) {
		unsigned v;

		if (i > 0) {
			if (p == end || *p != '.')
				return 0;
			p++;
		}
		if (p == end || *p < '0' || *p > '9')
			return 0;
		v = (unsigned)(*p++ - '0');
		while (p < end && *p >= '0' && *p <= '9') {
			if (v == 0) /* "0" followed by a digit */
				return 0;
			v = v * 10 + (unsigned)(*p++ - '0');
			if (v > 255)
				return 0;
		}
		b[i] = (unsigned char)v;
	}
	if (p != end)
		return 0;
	memcpy(out, b, sizeof(b));
	return 1;
}

/*
 * IPv6 text: all of [p, end).  The text is read group by group; a group
 * that starts with no digit is the second ':' of a "::" (or the end right
 * after one), and a '.' after a group's digits makes that group and the
 * rest of the text an IPv4 address in place of the last 4 bytes read.
 * Returns 1 and writes out[0..16), or 0 and leaves out alone.
 */
static int parse6(const char *p, const char *end, unsigned char out[16])
{
	unsigned char b[16];
	size_t n = 0;          /* bytes of b filled */
	size_t gap = SIZE_MAX; /* where the "::" stands in b; SIZE_MAX: none */

	if (p == end)
		return 0;
	/* A leading ':' must start a "::": go on from its second ':'. */
	if (*p == ':') {
		if (end - p < 2 || p[1] != ':')
			return 0;
		p++;
	}
	for (;;) {
		const char *group = p;
		unsigned v = 0;
		int d;

		while (p < end && (d = hex_value(*p)) >= 0) {
			if (p - group == 4)
				return 0;
			v = v << 4 | (unsigned)d;
			p++;
		}
		if (p < end && *p == '.') {
			if (n > 12 || !parse4(group, end, b + n))
				return 0;
			n += 4;
			break;
		}
		if (p == group) {
			if (p == end)
				break;
			if (*p != ':' || gap != SIZE_MAX)
				return 0;
			gap = n;
			p++;
			continue;
		}
		if (n == sizeof(b))
			return 0;
		b[n++] = (unsigned char)(v >> 8);
		b[n++] = (unsigned char)v;
		if (p == end)
			break;
		/* A ':' between groups; the text may not end with a lone one. */
		if (*p != ':' || ++p == end)
			return 0;
	}
	if (gap != SIZE_MAX) {
		size_t tail = n - gap;

		/* "::" stands for one zero group at least. */
		if (n == sizeof(b))
			return 0;
		memmove(b + sizeof(b) - tail, b + gap, tail);
		memset(b + gap, 0, sizeof(b) - tail - gap);
	} else if (n != sizeof(b)) {
		return 0;
	}
	memcpy(out, b, sizeof(b));
	return 1;
}

int addr_parse(int family, const char *s, size_t len, void *bin)
{
	/* A NUL is no character of an address: the parsers refuse it. */
	switch (family) {
	case AF_INET:
		return len <= ADDR_TEXT4_MAX ? parse4(s, s + len, bin) : 0;
	case AF_INET6:
		return len <= ADDR_TEXT6_MAX ? parse6(s, s + len, bin) : 0;
	default:
		return -1;
	}
}

/* Append v (0-255) in decimal. */
static char *put_dec8(char *p, unsigned v)
{
	if (v >= 100) {
		*p++ = (char)('0' + v / 100);
		v %= 100;
		*p++ = (char)('0' + v / 10);
		v %= 10;
	} else if (v >= 10) {
		*p++ = (char)('0' + v / 10);
		v %= 10;
	}
	*p++ = (char)('0' + v);
	return p;
}

/* Append the 4 bytes at b in dotted decimal. */
static char *put_v4(char *p, const unsigned char *b)
{
	p = put_dec8(p, b[0]);
	for (int i = 1; i < 4; i++) {
		*p++ = '.';
		p = put_dec8(p, b[i]);
	}
	return p;
}

/* Append v (0-0xffff) in lowercase hex without leading zeros. */
static char *put_hex16(char *p, unsigned v)
{
	static const char digits[] = "0123456789abcdef";

	if (v >= 0x1000)
		*p++ = digits[v >> 12];
	if (v >= 0x100)
		*p++ = digits[(v >> 8) & 0xf];
	if (v >= 0x10)
		*p++ = digits[(v >> 4) & 0xf];
	*p++ = digits[v & 0xf];
	return p;
}

/* Append the groups w[from..to) in hex, separated by ':'. */
static char *put_groups(char *p, const unsigned *w, int from, int to)
{
	for (int i = from; i < to; i++) {
		if (i > from)
			*p++ = ':';
		p = put_hex16(p, w[i]);
	}
	return p;
}

/* The 16 bytes at b as inet_ntop() writes them; returns the end of the text. */
static char *put_v6(char *p, const unsigned char *b)
{
	unsigned w[8];
	int best = -1, best_len = 0, run = 0;

	for (int i = 0; i < 8; i++)
		w[i] = (unsigned)b[2 * i] << 8 | b[2 * i + 1];
	/* The longest run of zero groups; of runs of equal length, the first. */
	for (int i = 0; i < 8; i++) {
		run = w[i] == 0 ? run + 1 : 0;
		if (run > best_len) {
			best_len = run;
			best = i - run + 1;
		}
	}
	/* A single zero group is written "0", not "::". */
	if (best_len < 2)
		return put_groups(p, w, 0, 8);

	/* An IPv4 address after 6 zero groups, or after 5 and ffff (mapped). */
	if (best == 0 && (best_len == 6 || (best_len == 5 && w[5] == 0xffff))) {
		*p++ = ':';
		*p++ = ':';
		if (best_len == 5) {
			memcpy(p, "ffff:", 5);
			p += 5;
		}
		return put_v4(p, b + 12);
	}
	p = put_groups(p, w, 0, best);
	*p++ = ':';
	*p++ = ':';
	return put_groups(p, w, best + best_len, 8);
}

size_t addr_format(int family, const void *bin, char out[MP_ADDR_MAX])
{
	char *end;

	switch (family) {
	case AF_INET:
		end = put_v4(out, bin);
		break;
	case AF_INET6:
		end = put_v6(out, bin);
		break;
	default:
		end = out;
		break;
	}
	*end = '\0';
	return (size_t)(end - out);
}

int addr_canon(int ip_version, const char *s, size_t len, char out[MP_ADDR_MAX])
{
	unsigned char bin[16];

	if (ip_version == 4) {
		if (addr_parse(AF_INET, s, len, bin) != 1)
			return -EINVAL;
		/* Valid IPv4 text is inet_ntop()'s already: digits without leading zeros. */
		memcpy(out, s, len);
		out[len] = '\0';
		return 0;
	}
	if (ip_version == 6 && addr_parse(AF_INET6, s, len, bin) == 1) {
		addr_format(AF_INET6, bin, out);
		return 0;
	}
	return -EINVAL;
}
