/*
 * The Prometheus text exposition format (version 0.0.4): metric family
 * headers, label sets with escaped values, samples and histograms, written
 * into a growing buffer.  Pure: no I/O.
 */
#ifndef MTRPROBED_PROMTEXT_H
#define MTRPROBED_PROMTEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mstats.h"

/* Output under construction.  Zeroed is empty; promtext_free() releases. */
struct promtext {
	char *buf;
	size_t len, cap;
	bool oom;           /* an allocation failed: the text is incomplete */
	/* The le="..." texts of the bounds of the last histogram written. */
	struct mhist_bounds le_bounds;
	char le[MHIST_BOUNDS_MAX][40];
};

void promtext_free(struct promtext *p);
/* Forget the text, keeping the buffer. */
void promtext_reset(struct promtext *p);
/* Append len bytes (sets oom on failure). */
void promtext_add(struct promtext *p, const char *s, size_t len);
/* "# HELP name help\n# TYPE name type\n"; help is escaped (\\ and \n). */
void promtext_family(struct promtext *p, const char *name, const char *type, const char *help);
/*
 * Append ',' (unless first) and name="value" with value escaped (\\, \",
 * \n) to a label set being built; first says whether it is the first.
 */
void promtext_label(struct promtext *p, bool first, const char *name, const char *value);
/* "name{labels} value\n" ("name value\n" when labels is ""): an integer value. */
void promtext_u64(struct promtext *p, const char *name, const char *labels, uint64_t v);
/* The same with a floating value (Go's formatting: NaN, +Inf, -Inf; shortest round trip). */
void promtext_double(struct promtext *p, const char *name, const char *labels, double v);
/*
 * A histogram's samples under family name: name_bucket{labels,le="..."}
 * for each bound and +Inf (cumulative), name_sum, name_count.
 */
void promtext_histogram(struct promtext *p, const char *name, const char *labels,
			const struct mhist *h, const struct mhist_bounds *b);
/* Format v as Prometheus expects (shortest text that reads back as v). */
void promtext_format_double(char buf[static 32], double v);

#endif
