/*
 * The Prometheus text exposition format.  Label values and help texts are
 * escaped as the format requires; numbers use the shortest text that
 * reads back as the same double, as Prometheus' own client libraries do.
 */
#include "daemon/promtext.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void promtext_free(struct promtext *p)
{
	free(p->buf);
	memset(p, 0, sizeof(*p));
}

void promtext_reset(struct promtext *p)
{
	p->len = 0;
	p->oom = false;
}

/* Make room for n more bytes (and a NUL).  False (oom set) if impossible. */
static bool promtext_reserve(struct promtext *p, size_t n)
{
	size_t cap = p->cap ? p->cap : 4096;
	char *nbuf;

	if (p->oom)
		return false;
	if (p->len + n + 1 <= p->cap)
		return true;
	while (cap < p->len + n + 1)
		cap *= 2;
	nbuf = realloc(p->buf, cap);
	if (!nbuf) {
		p->oom = true;
		return false;
	}
	p->buf = nbuf;
	p->cap = cap;
	return true;
}

void promtext_add(struct promtext *p, const char *s, size_t len)
{
	if (!promtext_reserve(p, len))
		return;
	memcpy(p->buf + p->len, s, len);
	p->len += len;
	p->buf[p->len] = '\0';
}

static void promtext_str(struct promtext *p, const char *s)
{
	promtext_add(p, s, strlen(s));
}

/* Append s escaped: backslash and newline always, the double quote when quote. */
static void promtext_escaped(struct promtext *p, const char *s, bool quote)
{
	const char *run = s;

	for (; *s; s++) {
		const char *esc = *s == '\\' ? "\\\\" : *s == '\n' ? "\\n" :
				  quote && *s == '"' ? "\\\"" : NULL;

		if (!esc)
			continue;
		promtext_add(p, run, (size_t)(s - run));
		promtext_add(p, esc, 2);
		run = s + 1;
	}
	promtext_add(p, run, (size_t)(s - run));
}

void promtext_family(struct promtext *p, const char *name, const char *type, const char *help)
{
	promtext_str(p, "# HELP ");
	promtext_str(p, name);
	promtext_str(p, " ");
	promtext_escaped(p, help, false);
	promtext_str(p, "\n# TYPE ");
	promtext_str(p, name);
	promtext_str(p, " ");
	promtext_str(p, type);
	promtext_str(p, "\n");
}

void promtext_label(struct promtext *p, bool first, const char *name, const char *value)
{
	if (!first)
		promtext_add(p, ",", 1);
	promtext_str(p, name);
	promtext_add(p, "=\"", 2);
	promtext_escaped(p, value, true);
	promtext_add(p, "\"", 1);
}

/* "name{labels} " or "name " */
static void promtext_head(struct promtext *p, const char *name, const char *suffix,
			  const char *labels, const char *extra)
{
	promtext_str(p, name);
	promtext_str(p, suffix);
	if (*labels || *extra) {
		promtext_add(p, "{", 1);
		promtext_str(p, labels);
		if (*labels && *extra)
			promtext_add(p, ",", 1);
		promtext_str(p, extra);
		promtext_add(p, "}", 1);
	}
	promtext_add(p, " ", 1);
}

/* Decimal digits of v, then a newline. */
static void promtext_u64_value(struct promtext *p, uint64_t v)
{
	char digits[24];
	int i = (int)sizeof(digits);

	digits[--i] = '\n';
	do {
		digits[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	promtext_add(p, digits + i, sizeof(digits) - (size_t)i);
}

void promtext_u64(struct promtext *p, const char *name, const char *labels, uint64_t v)
{
	promtext_head(p, name, "", labels, "");
	promtext_u64_value(p, v);
}

void promtext_format_double(char buf[32], double v)
{
	if (isnan(v)) {
		strcpy(buf, "NaN");
		return;
	}
	if (isinf(v)) {
		strcpy(buf, v > 0 ? "+Inf" : "-Inf");
		return;
	}
	/* The fewest significant digits that read back exactly. */
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(buf, 32, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			return;
	}
}

void promtext_double(struct promtext *p, const char *name, const char *labels, double v)
{
	char num[32];

	promtext_head(p, name, "", labels, "");
	promtext_format_double(num, v);
	promtext_str(p, num);
	promtext_add(p, "\n", 1);
}

void promtext_histogram(struct promtext *p, const char *name, const char *labels,
			const struct mhist *h, const struct mhist_bounds *b)
{
	char le[48], num[32];

	for (int i = 0; i <= b->n; i++) {
		if (i < b->n) {
			promtext_format_double(num, b->le[i]);
			snprintf(le, sizeof(le), "le=\"%s\"", num);
		} else {
			strcpy(le, "le=\"+Inf\"");
		}
		promtext_head(p, name, "_bucket", labels, le);
		promtext_u64_value(p, mhist_cumulative(h, i));
	}
	promtext_head(p, name, "_sum", labels, "");
	promtext_format_double(num, h->sum);
	promtext_str(p, num);
	promtext_add(p, "\n", 1);
	promtext_head(p, name, "_count", labels, "");
	promtext_u64_value(p, h->count);
}
