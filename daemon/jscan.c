/*
 * The request scanner (see jscan.h).  The grammar it accepts is a strict
 * subset of JSON (RFC 8259):
 *
 *   line    = ws "{" ws [ member *( ws "," ws member ) ws ] "}" ws
 *   member  = string ws ":" ws value
 *   value   = string / number / "true" / "false" / "null"
 *   string  = '"' *( %x20-21 / %x23-5B / %x5D-7E ) '"'     ; no escapes
 *   number  = [ "-" ] int [ frac ] [ exp ]                  ; as JSON
 *   ws      = *( " " / "\t" / "\r" / "\n" )
 *
 * Numbers are read as the general parser reads them: an integer (no
 * fraction, no exponent) exactly, a real with strtod().
 */
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "jscan.h"

/* Longest integer taken, in digits: 18 never overflows a long long. */
#define INT_DIGITS_MAX 18
/* Longest real taken, in characters. */
#define REAL_CHARS_MAX 40

/* The scanner's position in the line. */
struct scan {
	const char *p;
	const char *end;
};

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Skip JSON whitespace. */
static void skip_ws(struct scan *sc)
{
	while (sc->p < sc->end &&
	       (*sc->p == ' ' || *sc->p == '\t' || *sc->p == '\r' || *sc->p == '\n'))
		sc->p++;
}

/* Whether the next byte is c; it is taken if so. */
static bool take(struct scan *sc, char c)
{
	if (sc->p < sc->end && *sc->p == c) {
		sc->p++;
		return true;
	}
	return false;
}

/* Whether the line continues with the literal word; it is taken if so. */
static bool take_word(struct scan *sc, const char *word, size_t n)
{
	if ((size_t)(sc->end - sc->p) < n || memcmp(sc->p, word, n) != 0)
		return false;
	sc->p += n;
	return true;
}

/* A string without escapes, at the opening quote; false to decline. */
static bool scan_string(struct scan *sc, const char **s, size_t *len)
{
	const char *q;

	if (!take(sc, '"'))
		return false;
	for (q = sc->p; q < sc->end && *q != '"'; q++)
		if (*q < 0x20 || *q > 0x7e || *q == '\\')
			return false;
	if (q == sc->end)
		return false;
	*s = sc->p;
	*len = (size_t)(q - sc->p);
	sc->p = q + 1;
	return true;
}

/* Skip one or more digits; false if there is none. */
static bool skip_digits(struct scan *sc)
{
	const char *start = sc->p;

	while (sc->p < sc->end && is_digit(*sc->p))
		sc->p++;
	return sc->p > start;
}

/* The value of the integer text [s, e), at most INT_DIGITS_MAX digits after a '-'. */
static long long int_value(const char *s, const char *e)
{
	bool neg = *s == '-';
	long long n = 0;

	for (s += neg; s < e; s++)
		n = n * 10 + (*s - '0');
	return neg ? -n : n;
}

/* A JSON number; false to decline. */
static bool scan_number(struct scan *sc, struct jv *v)
{
	const char *start = sc->p;
	bool real = false;

	take(sc, '-');
	if (take(sc, '0')) {
		if (sc->p < sc->end && is_digit(*sc->p))
			return false;
	} else if (!skip_digits(sc)) {
		return false;
	}
	if (take(sc, '.')) {
		real = true;
		if (!skip_digits(sc))
			return false;
	}
	if (take(sc, 'e') || take(sc, 'E')) {
		real = true;
		if (!take(sc, '+'))
			take(sc, '-');
		if (!skip_digits(sc))
			return false;
	}
	if (!real) {
		if (sc->p - start - (*start == '-') > INT_DIGITS_MAX)
			return false;
		v->type = JV_INT;
		v->i = int_value(start, sc->p);
		return true;
	}

	char text[REAL_CHARS_MAX + 1], *stop;
	size_t n = (size_t)(sc->p - start);

	if (n > REAL_CHARS_MAX)
		return false;
	memcpy(text, start, n);
	text[n] = '\0';
	v->d = strtod(text, &stop);
	/* Another locale's decimal point, or an overflow: not sure, decline. */
	if (stop != text + n || isinf(v->d))
		return false;
	v->type = JV_REAL;
	return true;
}

/* One value; false to decline. */
static bool scan_value(struct scan *sc, struct jv *v)
{
	memset(v, 0, sizeof(*v));
	if (sc->p == sc->end)
		return false;
	switch (*sc->p) {
	case '"':
		v->type = JV_STRING;
		return scan_string(sc, &v->s, &v->len);
	case 't':
		v->type = JV_TRUE;
		return take_word(sc, "true", 4);
	case 'f':
		v->type = JV_FALSE;
		return take_word(sc, "false", 5);
	case 'n':
		v->type = JV_NULL;
		return take_word(sc, "null", 4);
	default:
		return scan_number(sc, v);
	}
}

/* Whether key is already among the first n pairs. */
static bool duplicate(const struct jpair *pairs, int n, const char *key, size_t len)
{
	for (int i = 0; i < n; i++)
		if (pairs[i].key_len == len && memcmp(pairs[i].key, key, len) == 0)
			return true;
	return false;
}

/* The members of the object, after its '{'; their number, or -1. */
static int scan_members(struct scan *sc, struct jpair pairs[JSCAN_PAIRS_MAX])
{
	int n = 0;

	skip_ws(sc);
	if (take(sc, '}'))
		return 0;
	for (;;) {
		struct jpair *m;

		if (n == JSCAN_PAIRS_MAX)
			return -1;
		m = &pairs[n];
		if (!scan_string(sc, &m->key, &m->key_len) || duplicate(pairs, n, m->key, m->key_len))
			return -1;
		skip_ws(sc);
		if (!take(sc, ':'))
			return -1;
		skip_ws(sc);
		if (!scan_value(sc, &m->v))
			return -1;
		n++;
		skip_ws(sc);
		if (take(sc, '}'))
			return n;
		if (!take(sc, ','))
			return -1;
		skip_ws(sc);
	}
}

int jscan_object(const char *line, size_t len, struct jpair pairs[JSCAN_PAIRS_MAX])
{
	struct scan sc = { line, line + len };
	int n;

	if (!line)
		return -1;
	skip_ws(&sc);
	if (!take(&sc, '{'))
		return -1;
	n = scan_members(&sc, pairs);
	if (n < 0)
		return -1;
	skip_ws(&sc);
	return sc.p == sc.end ? n : -1;
}
