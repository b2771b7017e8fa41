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

/* v's text into out: the specials, whole numbers, else the shortest of 15-17 digits. */
static void promtext_double_text(char out[static 32], double v)
{
	char shorter[32];

	if (isnan(v)) {
		strcpy(out, "NaN");
		return;
	}
	if (isinf(v)) {
		strcpy(out, v > 0 ? "+Inf" : "-Inf");
		return;
	}
	/* Whole numbers (counts, times of day) need no digit search. */
	if (v == floor(v) && fabs(v) < 1e15) {
		snprintf(out, 32, "%.0f", v);
		return;
	}
	/*
	 * The fewest significant digits that read back exactly, among 15 to 17
	 * (%g drops trailing zeros: 0.1 is "0.1"); shorter forms first when
	 * 15 reads back, as the bounds of histograms do.
	 */
	snprintf(out, 32, "%.15g", v);
	if (strtod(out, NULL) == v) {
		for (int prec = 1; prec < 15; prec++) {
			snprintf(shorter, sizeof(shorter), "%.*g", prec, v);
			if (strlen(shorter) >= strlen(out))
				break;
			if (strtod(shorter, NULL) == v) {
				memcpy(out, shorter, sizeof(shorter));
				break;
			}
		}
		return;
	}
	snprintf(out, 32, "%.16g", v);
	if (strtod(out, NULL) != v)
		snprintf(out, 32, "%.17g", v);
}

void promtext_format_double(char buf[static 32], double v)
{
	char out[32];

	promtext_double_text(out, v);
	memcpy(buf, out, sizeof(out));
}

void promtext_double(struct promtext *p, const char *name, const char *labels, double v)
{
	char num[32];

	promtext_head(p, name, "", labels, "");
	promtext_format_double(num, v);
	promtext_str(p, num);
	promtext_add(p, "\n", 1);
}

/* Keep p's le texts for bounds b. */
static void promtext_le_texts(struct promtext *p, const struct mhist_bounds *b)
{
	char num[32];

	if (p->le_bounds.n == b->n &&
	    memcmp(p->le_bounds.le, b->le, (size_t)b->n * sizeof(b->le[0])) == 0)
		return;
	for (int i = 0; i < b->n; i++) {
		promtext_format_double(num, b->le[i]);
		snprintf(p->le[i], sizeof(p->le[i]), "le=\"%s\"", num);
	}
	p->le_bounds = *b;
}

void promtext_histogram(struct promtext *p, const char *name, const char *labels,
			const struct mhist *h, const struct mhist_bounds *b)
{
	char num[32];
	uint64_t cum = 0;

	size_t name_len = strlen(name), labels_len = strlen(labels);

	promtext_le_texts(p, b);
	for (int i = 0; i <= b->n; i++) {
		const char *le = i < b->n ? p->le[i] : "le=\"+Inf\"";

		/* name_bucket{labels,le="..."} N, the lengths measured once */
		cum += h->bucket[i];
		promtext_add(p, name, name_len);
		promtext_add(p, "_bucket{", 8);
		if (labels_len) {
			promtext_add(p, labels, labels_len);
			promtext_add(p, ",", 1);
		}
		promtext_str(p, le);
		promtext_add(p, "} ", 2);
		promtext_u64_value(p, cum);
	}
	promtext_head(p, name, "_sum", labels, "");
	promtext_format_double(num, h->sum);
	promtext_str(p, num);
	promtext_add(p, "\n", 1);
	promtext_head(p, name, "_count", labels, "");
	promtext_u64_value(p, h->count);
}
