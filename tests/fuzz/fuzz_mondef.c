/*
 * libFuzzer target: a whole monitors file through mondef_parse_text(), into
 * an empty set and into a set already holding a monitor.  Checks that an
 * error comes with a "NAME:LINE: message" and leaves the set as it was;
 * that every monitor accepted passes mondef_check() under a name of its
 * own; and that mondef_format() writes each one (and the whole set) as
 * text that parses back to equal monitors.  LeakSanitizer checks that
 * mondef_set_free() releases everything.
 */
#include <errno.h>

#include "daemon/mondef.h"
#include "fuzz.h"

/* Parse text (len bytes, no NUL) into set and check the outcome; returns the result. */
static int parse(struct mondef_set *set, const char *text, size_t len, const char *name)
{
	size_t n = set->n;
	char err[MONDEF_ERR_MAX];
	int r;

	err[0] = '\0';
	r = mondef_parse_text(set, text, len, name, err);
	if (r < 0) {
		FUZZ_CHECK(r == -EINVAL, "mondef_parse_text returned %d: %s", r, err);
		FUZZ_CHECK(fuzz_terminated(err, sizeof(err)), "message not terminated");
		FUZZ_CHECK(strncmp(err, name, strlen(name)) == 0 && err[strlen(name)] == ':',
			   "message without its file name: %s", err);
		FUZZ_CHECK(set->n == n, "set changed on error: %zu monitors, was %zu", set->n, n);
	} else {
		FUZZ_CHECK(r == 0, "mondef_parse_text returned %d", r);
		FUZZ_CHECK(set->n >= n && set->n <= set->cap, "set of %zu (cap %zu), was %zu",
			   set->n, set->cap, n);
	}
	return r;
}

/* Write d into a new buffer of exactly its length (plus the NUL); returns it and its length. */
static char *format(const struct mondef *d, int *ret_len)
{
	int len = mondef_format(d, NULL, 0);
	char *buf;

	FUZZ_CHECK(len == -ENOSPC, "mondef_format into nothing returned %d", len);
	len = mondef_format(d, (char[1]){ 0 }, 1);
	FUZZ_CHECK(len == -ENOSPC, "mondef_format into 1 byte returned %d", len);
	buf = malloc(16384);
	FUZZ_CHECK(buf != NULL, "out of memory");
	len = mondef_format(d, buf, 16384);
	FUZZ_CHECK(len > 0 && (size_t)len == strlen(buf), "mondef_format returned %d", len);
	FUZZ_CHECK(mondef_format(d, buf, (size_t)len) == -ENOSPC, "no -ENOSPC at %d bytes", len);
	FUZZ_CHECK(mondef_format(d, buf, (size_t)len + 1) == len, "not %d bytes again", len);
	*ret_len = len;
	return buf;
}

/* Format d and parse it back alone: one monitor, equal to d. */
static void roundtrip(const struct mondef *d)
{
	struct mondef_set back = { 0 };
	int len;
	char *buf = format(d, &len), *text = fuzz_copy((const uint8_t *)buf, (size_t)len);

	FUZZ_CHECK(parse(&back, text, (size_t)len, "rt.conf") == 0, "formatted text refused:\n%s",
		   buf);
	FUZZ_CHECK(back.n == 1 && mondef_equal(&back.items[0], d),
		   "formatted text reads back otherwise:\n%s", buf);
	mondef_set_free(&back);
	free(text);
	free(buf);
}

/* Check every monitor of set; format the whole set and parse it back equal. */
static void check_set(const struct mondef_set *set)
{
	struct mondef_set back = { 0 };
	size_t size = set->n * 8192 + 1, len = 0;
	char *all = malloc(size), err[MONDEF_ERR_MAX];

	FUZZ_CHECK(all != NULL, "out of memory");
	for (size_t i = 0; i < set->n; i++) {
		const struct mondef *d = &set->items[i];
		int n;

		FUZZ_CHECK(mondef_check(d, err) == 0, "monitor %zu refused: %s", i, err);
		FUZZ_CHECK(mondef_set_find(set, d->name) == d, "name '%s' twice", d->name);
		roundtrip(d);
		n = mondef_format(d, all + len, size - len);
		FUZZ_CHECK(n > 0, "mondef_format returned %d", n);
		len += (size_t)n;
	}
	FUZZ_CHECK(parse(&back, all, len, "all.conf") == 0, "formatted set refused");
	FUZZ_CHECK(back.n == set->n, "formatted set reads back as %zu monitors, not %zu", back.n,
		   set->n);
	for (size_t i = 0; i < set->n; i++)
		FUZZ_CHECK(mondef_equal(&back.items[i], &set->items[i]), "monitor %zu differs", i);
	mondef_set_free(&back);
	free(all);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_copy(data, size);
	struct mondef_set set = { 0 }, pre = { 0 };
	struct mondef web1;
	int r, r2;

	r = parse(&set, text, size, "fuzz.conf");
	FUZZ_CHECK(r == 0 || (set.n == 0 && set.items == NULL), "an empty set changed on error");
	if (r == 0)
		check_set(&set);

	/* On top of a set holding web1: the same monitors after it, unless one is named web1. */
	mondef_init(&web1, "web1");
	strcpy(web1.target, "localhost");
	FUZZ_CHECK(mondef_set_add(&pre, &web1) == 0, "mondef_set_add");
	r2 = parse(&pre, text, size, "fuzz.conf");
	FUZZ_CHECK(r2 < 0 || r == 0, "refused alone, accepted after web1");
	if (r == 0)
		FUZZ_CHECK((r2 < 0) == (mondef_set_find(&set, "web1") != NULL),
			   "web1 clash not what the text holds");
	FUZZ_CHECK(mondef_equal(&pre.items[0], &web1), "web1 changed");
	if (r2 == 0) {
		FUZZ_CHECK(pre.n == set.n + 1, "%zu monitors after web1, %zu alone", pre.n - 1,
			   set.n);
		for (size_t i = 0; i < set.n; i++)
			FUZZ_CHECK(mondef_equal(&pre.items[i + 1], &set.items[i]), "monitor %zu", i);
	} else {
		FUZZ_CHECK(pre.n == 1, "set changed on error");
	}
	mondef_set_free(&pre);
	mondef_set_free(&set);
	mondef_set_free(&set); /* a freed set is zeroed: freeing it again is fine */
	free(text);
	return 0;
}
