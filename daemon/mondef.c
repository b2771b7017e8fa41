/*
 * Monitor definitions: the "[NAME]" sections of the monitors directory's
 * files, their checks, the text they are written back as, and the set that
 * holds them.  Pure apart from mondef_load_dir() reading the directory;
 * errors come back as "FILE:LINE: message" strings.
 *
 * Syntax: the config file's (see config.c): '#' starts a comment anywhere,
 * blanks around keys and values are ignored, CRLF line ends and a UTF-8
 * byte order mark are accepted, a NUL byte is an error.  A "[NAME]" line
 * starts a monitor, whose "key = value" lines follow; "label.NAME = VALUE"
 * adds a label.  A key given twice in a section keeps its last value; a
 * label given twice is an error.  A text's monitors are added all or none.
 */
#include "daemon/mondef.h"
#include "daemon/kvtext.h"
#include "daemon/mplan.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>

/* Longest value of any key, in bytes. */
#define MONDEF_VALUE_MAX 4095
/* A number macro as a string literal. */
#define MONDEF_STR2(x) #x
#define MONDEF_STR(x) MONDEF_STR2(x)
#define MONDEF_LETTERS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
#define MONDEF_DIGITS "0123456789"
/* Most values of an enum key. */
#define MONDEF_ENUM_MAX 4

_Static_assert(sizeof(enum mondef_kind) == sizeof(int) &&
		       sizeof(enum mondef_family) == sizeof(int) &&
		       sizeof(enum mondef_addresses) == sizeof(int) &&
		       sizeof(enum mp_protocol) == sizeof(int),
	       "the enum fields are read and written as int");

enum mondef_type {
	MONDEF_T_TARGET, /* char[MP_HOST_MAX + 1] field: a host name or an address literal */
	MONDEF_T_ENUM,   /* enum field: the index of one of the key's names */
	MONDEF_T_INT,    /* int field, decimal, in [min, max] */
	MONDEF_T_NUMBER, /* double field, decimal, in [min, max] */
};

/* One known key: where it goes and what it accepts.  Static data. */
struct mondef_key {
	const char *name;
	enum mondef_type type;
	size_t offset;
	double min, max;
	const char *names[MONDEF_ENUM_MAX + 1]; /* MONDEF_T_ENUM: each value's name, NULL-ended */
};

#define KEY(n, t, field, lo, hi) { n, t, offsetof(struct mondef, field), lo, hi, { NULL } }
#define ENUM_KEY(n, field, ...) \
	{ n, MONDEF_T_ENUM, offsetof(struct mondef, field), 0, 0, { __VA_ARGS__ } }

/* Every key but labels, in the order mondef_format() writes them. */
static const struct mondef_key mondef_keys[] = {
	KEY("target", MONDEF_T_TARGET, target, 0, 0),
	ENUM_KEY("kind", kind, "ping", "trace"),
	ENUM_KEY("ip_version", family, "any", "4", "6", "both"),
	ENUM_KEY("addresses", addresses, "first", "all"),
	ENUM_KEY("protocol", protocol, "icmp", "udp", "tcp", "sctp"), /* MP_PROTO_* */
	KEY("port", MONDEF_T_INT, port, 0, 65535),
	KEY("count", MONDEF_T_INT, count, 1, 100),
	KEY("interval", MONDEF_T_NUMBER, interval, 0.01, 60),
	KEY("first_ttl", MONDEF_T_INT, first_ttl, 1, 255),
	KEY("max_ttl", MONDEF_T_INT, max_ttl, 1, 255),
	KEY("period", MONDEF_T_NUMBER, period, 1, 86400),
	KEY("timeout", MONDEF_T_NUMBER, timeout, 0.01, 60),
	KEY("size", MONDEF_T_INT, size, -1, 9000),
	KEY("tos", MONDEF_T_INT, tos, 0, 255),
	KEY("ttl", MONDEF_T_INT, ttl, 1, 255),
	KEY("loss_threshold", MONDEF_T_NUMBER, loss_threshold, 0, 100),
};

#define MONDEF_N_KEYS (sizeof(mondef_keys) / sizeof(mondef_keys[0]))

_Static_assert(MONDEF_ERR_MAX == KV_ERR_MAX, "kv_fail() fills our error buffers");

/* Write a message without "FILE:LINE: " into err and return -EINVAL. */
static int mondef_msg(char *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int mondef_msg(char *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, MONDEF_ERR_MAX, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* Write "PATH: message" (strerror(-r) without msg) into err when given, and return r. */
static int mondef_file_fail(char *err, const char *path, int r, const char *msg)
{
	if (err)
		snprintf(err, MONDEF_ERR_MAX, "%s: %s", path, msg ? msg : strerror(-r));
	return r;
}

/* Whether [s, s + len) is a monitor name: 1-64 of [A-Za-z0-9_.-], not starting with '.' or '-'. */
static bool mondef_name_ok(const char *s, size_t len)
{
	size_t n = 0;

	while (n < len && s[n] && strchr(MONDEF_LETTERS MONDEF_DIGITS "_.-", s[n]))
		n++;
	return n == len && len >= 1 && len <= MONDEF_NAME_MAX && s[0] != '.' && s[0] != '-';
}

/* What is wrong with target s (len bytes, NUL-terminated when len <= MP_HOST_MAX), or NULL. */
static const char *mondef_target_msg(const char *s, size_t len)
{
	unsigned char bin[sizeof(struct in6_addr)];

	if (len == 0)
		return "missing value";
	if (len > MP_HOST_MAX)
		return "longer than " MONDEF_STR(MP_HOST_MAX) " bytes";
	if (strspn(s, MONDEF_LETTERS MONDEF_DIGITS "-._") == len) {
		/* Digits and dots only: an IPv4 address, not a name. */
		if (strspn(s, MONDEF_DIGITS ".") != len || inet_pton(AF_INET, s, bin) == 1)
			return NULL;
	} else if (inet_pton(AF_INET6, s, bin) == 1) {
		return NULL;
	}
	return "must be a host name or an IP address";
}

/* Whether [s, s + len) is UTF-8 without overlong forms, surrogates or code points past U+10FFFF. */
static bool mondef_utf8_ok(const unsigned char *s, size_t len)
{
	for (size_t i = 0, n; i < len; i += n + 1) {
		unsigned c = s[i], cp;

		if (c < 0x80)
			n = 0, cp = c;
		else if (c >= 0xc2 && c <= 0xdf)
			n = 1, cp = c & 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			n = 2, cp = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			n = 3, cp = c & 0x07;
		else
			return false;
		if (len - i <= n)
			return false;
		for (size_t j = 1; j <= n; j++) {
			if ((s[i + j] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + j] & 0x3fu);
		}
		if ((n == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
		    (n == 3 && (cp < 0x10000 || cp > 0x10ffff)))
			return false;
	}
	return true;
}

/* Whether s is a valid Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*, not "__" first). */
bool mondef_label_name_ok(const char *s)
{
	return s && s[0] && strchr(MONDEF_LETTERS "_", s[0]) && !(s[0] == '_' && s[1] == '_') &&
	       strspn(s, MONDEF_LETTERS MONDEF_DIGITS "_") == strlen(s);
}

/* Whether s may name a label of a monitor: valid, at most 64 bytes, not one the daemon sets. */
bool mondef_label_name_free(const char *s)
{
	static const char *const reserved[] = {
		"monitor", "target", "address", "ip_version", "protocol", "ttl", "le", "kind",
		"result", "responder", "version", "quantile",
	};

	if (!mondef_label_name_ok(s) || strlen(s) > MONDEF_LABEL_NAME_MAX)
		return false;
	for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
		if (strcmp(s, reserved[i]) == 0)
			return false;
	return true;
}

/*
 * What is wrong with label i of d (lengths in bounds, NUL-terminated),
 * or NULL: its name, its value, its name used by an earlier label.
 */
static const char *mondef_label_msg(const struct mondef *d, int i)
{
	const char *name = d->labels[i].name, *v = d->labels[i].value;
	size_t len = strlen(v);

	if (!mondef_label_name_ok(name))
		return "invalid label name";
	if (!mondef_label_name_free(name))
		return "reserved label name";
	for (int j = 0; j < i; j++)
		if (strcmp(d->labels[j].name, name) == 0)
			return "set twice";
	if (!mondef_utf8_ok((const unsigned char *)v, len))
		return "value is not valid UTF-8";
	for (size_t k = 0; k < len; k++) {
		unsigned char c = (unsigned char)v[k];

		/* C0 controls, DEL, and C1 controls (U+0080-U+009F: 0xc2 0x80-0x9f). */
		if (c < 0x20 || c == 0x7f || (c == 0xc2 && (unsigned char)v[k + 1] < 0xa0))
			return "control character in value";
	}
	/* What a file cannot say: the parser trims blanks and ends a line at '#'. */
	if (strchr(v, '#'))
		return "'#' in value";
	if (len > 0 && (v[0] == ' ' || v[len - 1] == ' '))
		return "blank at the start or end of value";
	return NULL;
}

/* Write what key k (not the target) accepts ("count: must be ...") into err. */
static void mondef_key_msg(const struct mondef_key *k, char *err)
{
	size_t n;

	if (k->type == MONDEF_T_INT)
		snprintf(err, MONDEF_ERR_MAX, "%s: must be an integer from %.0f to %.0f", k->name,
			 k->min, k->max);
	else if (k->type == MONDEF_T_NUMBER)
		snprintf(err, MONDEF_ERR_MAX, "%s: must be a number from %g to %g", k->name, k->min,
			 k->max);
	else {
		n = (size_t)snprintf(err, MONDEF_ERR_MAX, "%s: must be one of", k->name);
		for (int i = 0; k->names[i] && n < MONDEF_ERR_MAX; i++)
			n += (size_t)snprintf(err + n, MONDEF_ERR_MAX - n, "%s %s", i ? "," : "",
					      k->names[i]);
	}
}

/* Whether d's field of key k (not the target) holds a value k accepts. */
static bool mondef_field_ok(const struct mondef *d, const struct mondef_key *k)
{
	const void *f = (const char *)d + k->offset;
	int v = k->type == MONDEF_T_NUMBER ? 0 : *(const int *)f;
	double x = k->type == MONDEF_T_NUMBER ? *(const double *)f : v;

	if (k->type == MONDEF_T_ENUM)
		return v >= 0 && v < MONDEF_ENUM_MAX && k->names[v];
	return x >= k->min && x <= k->max; /* false for NaN */
}

/* Check d as a whole.  0, or -EINVAL with a message (no "FILE:LINE: ") in err. */
int mondef_check(const struct mondef *d, char err[MONDEF_ERR_MAX])
{
	char buf[MONDEF_ERR_MAX], q[65], *e = err ? err : buf;
	size_t n = strnlen(d->name, sizeof(d->name));
	const char *m = mondef_target_msg(d->target, strnlen(d->target, sizeof(d->target)));

	kv_quote(q, sizeof(q), d->name, n);
	if (!mondef_name_ok(d->name, n))
		return mondef_msg(e, "invalid monitor name '%s'", q);
	if (m)
		return mondef_msg(e, "target: %s", m);
	for (size_t i = 1; i < MONDEF_N_KEYS; i++) {
		if (!mondef_field_ok(d, &mondef_keys[i])) {
			mondef_key_msg(&mondef_keys[i], e);
			return -EINVAL;
		}
	}
	if (d->n_labels < 0 || d->n_labels > MONDEF_LABELS_MAX)
		return mondef_msg(e, "%d labels: at most %d", d->n_labels, MONDEF_LABELS_MAX);
	for (int i = 0; i < d->n_labels; i++) {
		const struct mondef_label *l = &d->labels[i];

		n = strnlen(l->name, sizeof(l->name));
		kv_quote(q, sizeof(q), l->name, n);
		if (n > MONDEF_LABEL_NAME_MAX)
			m = "label name longer than " MONDEF_STR(MONDEF_LABEL_NAME_MAX) " bytes";
		else if (strnlen(l->value, sizeof(l->value)) > MONDEF_LABEL_VALUE_MAX)
			m = "value longer than " MONDEF_STR(MONDEF_LABEL_VALUE_MAX) " bytes";
		else
			m = mondef_label_msg(d, i);
		if (m)
			return mondef_msg(e, "label.%s: %s", q, m);
	}
	if (d->kind == MONDEF_PING && !((d->count - 1) * d->interval < d->period))
		return mondef_msg(e, "(count - 1) * interval (%g s) must be less than period (%g s)",
				  (d->count - 1) * d->interval, d->period);
	if (d->kind == MONDEF_TRACE && d->first_ttl > d->max_ttl)
		return mondef_msg(e, "first_ttl (%d) must not exceed max_ttl (%d)", d->first_ttl,
				  d->max_ttl);
	return 0;
}

/* Fill d with the defaults and the given name (not checked; cut to MONDEF_NAME_MAX bytes). */
void mondef_init(struct mondef *d, const char *name)
{
	static const struct mondef defaults = {
		.kind = MONDEF_PING, .family = MONDEF_FAMILY_ANY, .addresses = MONDEF_ADDR_FIRST,
		.protocol = MP_PROTO_ICMP, .port = 0, .count = 5, .interval = 1, .first_ttl = 1,
		.max_ttl = 30, .period = 60, .timeout = 2, .size = -1, .tos = 0, .ttl = 255,
		.loss_threshold = 10,
	};

	memset(d, 0, sizeof(*d));
	*d = defaults;
	if (name)
		memcpy(d->name, name, strnlen(name, MONDEF_NAME_MAX));
}

/* Same monitor: every field equal (strings up to their NUL, labels in order). */
bool mondef_equal(const struct mondef *a, const struct mondef *b)
{
	if (strncmp(a->name, b->name, sizeof(a->name)) != 0 ||
	    strncmp(a->target, b->target, sizeof(a->target)) != 0 || a->kind != b->kind ||
	    a->family != b->family || a->addresses != b->addresses || a->protocol != b->protocol ||
	    a->port != b->port || a->count != b->count || a->interval != b->interval ||
	    a->first_ttl != b->first_ttl || a->max_ttl != b->max_ttl || a->period != b->period ||
	    a->timeout != b->timeout || a->size != b->size || a->tos != b->tos || a->ttl != b->ttl ||
	    a->loss_threshold != b->loss_threshold || a->n_labels != b->n_labels)
		return false;
	for (int i = 0; i < a->n_labels && i < MONDEF_LABELS_MAX; i++)
		if (strncmp(a->labels[i].name, b->labels[i].name, sizeof(a->labels[i].name)) != 0 ||
		    strncmp(a->labels[i].value, b->labels[i].value, sizeof(a->labels[i].value)) != 0)
			return false;
	return true;
}

/* Release what set owns and zero it. */
void mondef_set_free(struct mondef_set *set)
{
	if (!set)
		return;
	free(set->items);
	memset(set, 0, sizeof(*set));
}

/* The monitor named name in set, or NULL. */
struct mondef *mondef_set_find(const struct mondef_set *set, const char *name)
{
	for (size_t i = 0; i < set->n; i++)
		if (strcmp(set->items[i].name, name) == 0)
			return &set->items[i];
	return NULL;
}

/* Make room in set for extra more monitors.  0 or -ENOMEM (set unchanged). */
static int mondef_set_reserve(struct mondef_set *set, size_t extra)
{
	size_t cap = set->cap ? set->cap : 16;
	struct mondef *items;

	while (cap < set->n + extra)
		cap *= 2;
	if (cap == set->cap)
		return 0;
	items = realloc(set->items, cap * sizeof(*items));
	if (!items)
		return -ENOMEM;
	set->items = items;
	set->cap = cap;
	return 0;
}

/* Append a copy of d.  0, -ENOSPC (set full), -EEXIST (name taken), -ENOMEM. */
int mondef_set_add(struct mondef_set *set, const struct mondef *d)
{
	if (set->n >= MONDEF_SET_MAX)
		return -ENOSPC;
	if (mondef_set_find(set, d->name))
		return -EEXIST;
	if (mondef_set_reserve(set, 1) < 0)
		return -ENOMEM;
	set->items[set->n++] = *d;
	return 0;
}

/* Remove the monitor named name, keeping the others in order.  0 or -ENOENT. */
int mondef_set_remove(struct mondef_set *set, const char *name)
{
	struct mondef *d = mondef_set_find(set, name);

	if (!d)
		return -ENOENT;
	memmove(d, d + 1, (size_t)(set->items + set->n - (d + 1)) * sizeof(*d));
	set->n--;
	return 0;
}

/* A parse in progress: the new monitors, added to the old set only when all parsed. */
struct mondef_parser {
	const struct mondef_set *old;
	struct mondef_set out;
	struct kv_ctx *where;  /* the "[NAME]" line of each of out's (out.cap entries) */
	struct mondef cur;         /* the open section */
	struct kv_ctx section; /* its "[NAME]" line; line 0: none open */
	size_t *slots;         /* out's names hashed: index + 1 into out.items, 0 empty */
	size_t n_slots;        /* a power of two, at least twice out.n */
};

/* A name's place in the index. */
static size_t parser_hash(const char *s)
{
	return (size_t)mplan_hash(s);
}

/* The index in out of the monitor named name, or -1: one probe sequence, not a scan. */
static long parser_index_find(const struct mondef_parser *p, const char *name)
{
	if (!p->n_slots)
		return -1;
	for (size_t i = parser_hash(name) & (p->n_slots - 1);; i = (i + 1) & (p->n_slots - 1)) {
		if (!p->slots[i])
			return -1;
		if (strcmp(p->out.items[p->slots[i] - 1].name, name) == 0)
			return (long)(p->slots[i] - 1);
	}
}

/* Put out's entry i in the index, growing it to keep it at most half full.  0 or -ENOMEM. */
static int parser_index_add(struct mondef_parser *p, size_t i)
{
	if (2 * (p->out.n + 1) > p->n_slots) {
		size_t n = p->n_slots ? 2 * p->n_slots : 64;
		size_t *slots = calloc(n, sizeof(*slots));

		if (!slots)
			return -ENOMEM;
		free(p->slots);
		p->slots = slots;
		p->n_slots = n;
		for (size_t k = 0; k < p->out.n; k++)
			if (k != i)
				parser_index_add(p, k);
	}
	for (size_t k = parser_hash(p->out.items[i].name) & (p->n_slots - 1);;
	     k = (k + 1) & (p->n_slots - 1)) {
		if (!p->slots[k]) {
			p->slots[k] = i + 1;
			return 0;
		}
	}
}

/* Check the open section, if any, and add it to the new monitors. */
static int parser_finish(struct mondef_parser *p)
{
	struct kv_ctx ctx = p->section, *w;
	char msg[MONDEF_ERR_MAX];

	if (ctx.line == 0)
		return 0;
	p->section.line = 0;
	if (p->cur.target[0] == '\0')
		return kv_fail(&ctx, "[%s]: missing target", p->cur.name);
	if (mondef_check(&p->cur, msg) < 0)
		return kv_fail(&ctx, "%s", msg);
	if (p->old->n + p->out.n >= MONDEF_SET_MAX)
		return kv_fail(&ctx, "more than %d monitors", MONDEF_SET_MAX);
	if (mondef_set_reserve(&p->out, 1) < 0 ||
	    !(w = realloc(p->where, p->out.cap * sizeof(*w)))) {
		kv_fail(&ctx, "out of memory");
		return -ENOMEM;
	}
	p->where = w;
	p->where[p->out.n] = ctx;
	p->out.items[p->out.n] = p->cur;
	if (parser_index_add(p, p->out.n) < 0) {
		kv_fail(&ctx, "out of memory");
		return -ENOMEM;
	}
	p->out.n++;
	return 0;
}

/* Open the section of a "[NAME]" line (trimmed, line[0] == '['). */
static int parser_header(struct mondef_parser *p, const char *line, size_t len,
			 const struct kv_ctx *ctx)
{
	const char *name = line + 1;
	size_t n = len - 2;
	char q[MONDEF_NAME_MAX + 1];
	long dup;

	if (len < 2 || line[len - 1] != ']') {
		kv_quote(q, sizeof(q), line, len);
		return kv_fail(ctx, "missing ']' in '%s'", q);
	}
	kv_trim(&name, &n);
	kv_quote(q, sizeof(q), name, n);
	if (!mondef_name_ok(name, n))
		return kv_fail(ctx, "invalid monitor name '%s'", q);
	if (mondef_set_find(p->old, q))
		return kv_fail(ctx, "monitor '%s' already defined", q);
	dup = parser_index_find(p, q);
	if (dup >= 0)
		return kv_fail(ctx, "monitor '%s' already defined at %s:%lu", q, p->where[dup].name,
			       p->where[dup].line);
	mondef_init(&p->cur, q);
	p->section = *ctx;
	return 0;
}

/* Add the label name (len bytes, after "label.") = value (vlen bytes, NUL-terminated) to d. */
static int mondef_add_label(struct mondef *d, const char *name, size_t len, const char *value,
			    size_t vlen, const struct kv_ctx *ctx)
{
	char q[MONDEF_LABEL_NAME_MAX + 1];
	struct mondef_label *l;
	const char *m;

	kv_quote(q, sizeof(q), name, len);
	if (len > MONDEF_LABEL_NAME_MAX)
		return kv_fail(ctx, "label.%s: label name longer than %d bytes", q,
				   MONDEF_LABEL_NAME_MAX);
	if (d->n_labels >= MONDEF_LABELS_MAX)
		return kv_fail(ctx, "label.%s: more than %d labels", q, MONDEF_LABELS_MAX);
	if (vlen > MONDEF_LABEL_VALUE_MAX)
		return kv_fail(ctx, "label.%s: value longer than %d bytes", q,
				   MONDEF_LABEL_VALUE_MAX);
	l = &d->labels[d->n_labels];
	memcpy(l->name, name, len);
	l->name[len] = '\0';
	memcpy(l->value, value, vlen + 1);
	m = mondef_label_msg(d, d->n_labels);
	if (m)
		return kv_fail(ctx, "label.%s: %s", q, m);
	d->n_labels++;
	return 0;
}

/* Set d's field of key k from value (vlen bytes, NUL-terminated, non-empty). */
static int mondef_set_field(struct mondef *d, const struct mondef_key *k, const char *value,
			    size_t vlen, const struct kv_ctx *ctx)
{
	void *f = (char *)d + k->offset;
	char msg[MONDEF_ERR_MAX];
	long long ll;
	double x;

	switch (k->type) {
	case MONDEF_T_TARGET:
		if (mondef_target_msg(value, vlen))
			return kv_fail(ctx, "target: %s", mondef_target_msg(value, vlen));
		memcpy(f, value, vlen + 1);
		return 0;
	case MONDEF_T_ENUM:
		*(int *)f = -1;
		for (int i = 0; k->names[i]; i++)
			if (strcmp(value, k->names[i]) == 0)
				*(int *)f = i;
		break;
	case MONDEF_T_INT:
		if (kv_parse_ll(value, &ll) < 0 || ll < INT_MIN || ll > INT_MAX)
			ll = INT_MIN; /* outside every key's range */
		*(int *)f = (int)ll;
		break;
	case MONDEF_T_NUMBER:
		*(double *)f = kv_parse_double(value, &x) < 0 ? NAN : x;
		break;
	}
	if (mondef_field_ok(d, k))
		return 0;
	mondef_key_msg(k, msg);
	return kv_fail(ctx, "%s", msg);
}

/* Check a value for length and control characters, then apply it to key k (NULL: a label). */
static int parser_value(struct mondef_parser *p, const struct mondef_key *k, const char *key,
			size_t key_len, const char *value, size_t len, const struct kv_ctx *ctx)
{
	char buf[MONDEF_VALUE_MAX + 1], q[65];

	kv_quote(q, sizeof(q), key, key_len);
	if (len > MONDEF_VALUE_MAX)
		return kv_fail(ctx, "%s: value longer than %d bytes", q, MONDEF_VALUE_MAX);
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)value[i] < 0x20 && value[i] != '\t')
			return kv_fail(ctx, "%s: control character in value", q);
	memcpy(buf, value, len);
	buf[len] = '\0';
	if (!k)
		return mondef_add_label(&p->cur, key + 6, key_len - 6, buf, len, ctx);
	if (len == 0)
		return kv_fail(ctx, "%s: missing value", k->name);
	return mondef_set_field(&p->cur, k, buf, len, ctx);
}

/* Parse one line (trimmed, without its comment): a section's "[NAME]" or one of its "key = value". */
static int parser_line(void *arg, const char *line, size_t len, const struct kv_ctx *ctx)
{
	struct mondef_parser *p = arg;
	const struct mondef_key *k = NULL;
	const char *key, *value;
	size_t key_len, value_len;
	bool eq, label;
	char q[65];
	int r;

	if (line[0] == '[') {
		r = parser_finish(p);
		return r < 0 ? r : parser_header(p, line, len, ctx);
	}
	eq = kv_split(line, len, &key, &key_len, &value, &value_len);
	kv_quote(q, sizeof(q), key, key_len);
	for (size_t i = 0; i < MONDEF_N_KEYS; i++)
		if (strlen(mondef_keys[i].name) == key_len &&
		    memcmp(mondef_keys[i].name, key, key_len) == 0)
			k = &mondef_keys[i];
	label = key_len >= 6 && memcmp(key, "label.", 6) == 0;
	if (!eq && (k || label))
		return kv_fail(ctx, "%s: missing '='", q);
	if (!eq)
		return kv_fail(ctx, "missing '=' in '%s'", q);
	if (key_len == 0)
		return kv_fail(ctx, "missing key before '='");
	if (p->section.line == 0)
		return kv_fail(ctx, "key outside a [monitor] section");
	if (!k && !label)
		return kv_fail(ctx, "unknown key '%s'", q);
	return parser_value(p, k, key, key_len, value, value_len, ctx);
}

/* Parse a whole file's text (named name) into the parse's new monitors. */
static int parser_text(struct mondef_parser *p, const char *text, size_t len, const char *name,
		       char *err)
{
	struct kv_ctx ctx = { .name = name, .err = err };
	int r = kv_each_line(text, len, &ctx, parser_line, p);

	return r < 0 ? r : parser_finish(p);
}

/* Append the parse's new monitors to set (its old set).  0 or -ENOMEM (set unchanged). */
static int parser_commit(struct mondef_parser *p, struct mondef_set *set)
{
	if (p->out.n == 0)
		return 0;
	if (set->n == 0) { /* take the parse's array: no second copy of a large set */
		mondef_set_free(set);
		*set = p->out;
		memset(&p->out, 0, sizeof(p->out));
		return 0;
	}
	if (mondef_set_reserve(set, p->out.n) < 0)
		return -ENOMEM;
	memcpy(set->items + set->n, p->out.items, p->out.n * sizeof(*set->items));
	set->n += p->out.n;
	return 0;
}

/* Add the monitors in text (a whole file named name) to set, all or none. */
int mondef_parse_text(struct mondef_set *set, const char *text, size_t len, const char *name,
		      char err[MONDEF_ERR_MAX])
{
	struct mondef_parser p = { .old = set };
	int r;

	name = name ? name : "(monitors)";
	r = parser_text(&p, text, len, name, err);
	if (r == 0 && parser_commit(&p, set) < 0)
		r = mondef_file_fail(err, name, -ENOMEM, NULL);
	mondef_set_free(&p.out);
	free(p.where);
	free(p.slots);
	return r;
}

/* Parse the file at path into the parse, if it is a regular file. */
static int mondef_load_file(struct mondef_parser *p, const char *path, char *err)
{
	struct stat st;
	char *buf;
	size_t len;
	int r;

	if (stat(path, &st) < 0)
		return mondef_file_fail(err, path, -errno, NULL);
	if (!S_ISREG(st.st_mode))
		return 0;
	r = kv_read_file(path, &buf, &len);
	if (r < 0)
		return mondef_file_fail(err, path, r, r == -EFBIG ? "file larger than 1 MiB" : NULL);
	r = parser_text(p, buf, len, path, err);
	free(buf);
	return r;
}

/* Order two strings of a char * array with strcmp. */
static int mondef_strcmp_p(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The paths of the entries of d (dir's stream) that "*.conf" matches, sorted.  0 or -errno. */
static int mondef_list(DIR *d, const char *dir, char ***ret, size_t *ret_n)
{
	const char *sep = dir[0] && dir[strlen(dir) - 1] == '/' ? "" : "/";
	char **v = NULL, **nv;
	size_t n = 0, cap = 0;
	struct dirent *e;

	for (errno = 0; (e = readdir(d)); errno = 0) {
		size_t len = strlen(e->d_name), size = strlen(dir) + len + 2;

		if (e->d_name[0] == '.' || len < 5 || strcmp(e->d_name + len - 5, ".conf") != 0)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv)
				break;
			v = nv;
		}
		v[n] = malloc(size);
		if (!v[n])
			break;
		snprintf(v[n++], size, "%s%s%s", dir, sep, e->d_name);
	}
	*ret = v;
	*ret_n = n;
	if (e || errno)
		return e ? -ENOMEM : -errno;
	if (n > 1)
		qsort(v, n, sizeof(*v), mondef_strcmp_p);
	return 0;
}

/* Add the monitors of every *.conf regular file in dir, all or none. */
int mondef_load_dir(struct mondef_set *set, const char *dir, char err[MONDEF_ERR_MAX])
{
	struct mondef_parser p = { .old = set };
	char **paths = NULL;
	size_t n = 0;
	DIR *d = opendir(dir);
	int r;

	if (!d && errno == ENOENT)
		return 0;
	if (!d)
		return mondef_file_fail(err, dir, -errno, NULL);
	r = mondef_list(d, dir, &paths, &n);
	closedir(d);
	if (r < 0)
		mondef_file_fail(err, dir, r, NULL);
	for (size_t i = 0; i < n && r == 0; i++)
		r = mondef_load_file(&p, paths[i], err);
	if (r == 0 && parser_commit(&p, set) < 0)
		r = mondef_file_fail(err, dir, -ENOMEM, NULL);
	mondef_set_free(&p.out);
	free(p.where);
	free(p.slots);
	for (size_t i = 0; i < n; i++)
		free(paths[i]);
	free(paths);
	return r;
}

/* A buffer being written: len counts what would have been written, even past size. */
struct mondef_out {
	char *buf;
	size_t size, len;
};

/* Append formatted text to o (cut short, still terminated, when it does not fit). */
static void mondef_add(struct mondef_out *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void mondef_add(struct mondef_out *o, const char *fmt, ...)
{
	bool room = o->len < o->size;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(room ? o->buf + o->len : NULL, room ? o->size - o->len : 0, fmt, ap);
	va_end(ap);
	if (n > 0)
		o->len += (size_t)n;
}

/* Write d as a "[NAME]" section with every key, one per line. */
enum mondef_key_type mondef_key_type(const char *key)
{
	for (size_t i = 0; i < MONDEF_N_KEYS; i++) {
		if (strcmp(mondef_keys[i].name, key) != 0)
			continue;
		switch (mondef_keys[i].type) {
		case MONDEF_T_TARGET:
			return MONDEF_KEY_STRING;
		case MONDEF_T_ENUM:
			return MONDEF_KEY_WORD;
		case MONDEF_T_INT:
			return MONDEF_KEY_INT;
		case MONDEF_T_NUMBER:
			return MONDEF_KEY_NUMBER;
		}
	}
	return MONDEF_KEY_UNKNOWN;
}

int mondef_format(const struct mondef *d, char *buf, size_t size)
{
	struct mondef_out o = { .buf = buf, .size = size, .len = 0 };

	mondef_add(&o, "[%.*s]\n", (int)strnlen(d->name, sizeof(d->name)), d->name);
	for (size_t i = 0; i < MONDEF_N_KEYS; i++) {
		const struct mondef_key *k = &mondef_keys[i];
		const char *f = (const char *)d + k->offset;
		int v = k->type == MONDEF_T_ENUM || k->type == MONDEF_T_INT ?
				*(const int *)(const void *)f : 0;
		double x = k->type == MONDEF_T_NUMBER ? *(const double *)(const void *)f : 0;
		char num[32];

		if (k->type == MONDEF_T_TARGET)
			mondef_add(&o, "%s = %.*s\n", k->name, (int)strnlen(f, MP_HOST_MAX + 1), f);
		else if (k->type == MONDEF_T_ENUM)
			mondef_add(&o, "%s = %s\n", k->name,
				   v >= 0 && v < MONDEF_ENUM_MAX && k->names[v] ? k->names[v] : "?");
		else if (k->type == MONDEF_T_INT)
			mondef_add(&o, "%s = %d\n", k->name, v);
		else {
			/* The shortest of 15, 16 or 17 digits that reads back the same. */
			for (int prec = 15; prec <= 17; prec++) {
				snprintf(num, sizeof(num), "%.*g", prec, x);
				if (strtod(num, NULL) == x)
					break;
			}
			mondef_add(&o, "%s = %s\n", k->name, num);
		}
	}
	for (int i = 0; i < d->n_labels && i < MONDEF_LABELS_MAX; i++) {
		const struct mondef_label *l = &d->labels[i];

		mondef_add(&o, "label.%.*s =%s%.*s\n", (int)strnlen(l->name, sizeof(l->name)),
			   l->name, l->value[0] ? " " : "", (int)strnlen(l->value, sizeof(l->value)),
			   l->value);
	}
	if (o.len >= size || o.len > INT_MAX)
		return -ENOSPC;
	return (int)o.len;
}
