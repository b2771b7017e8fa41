/* Unit tests of the monitor definitions: parser, checks, writer, set and directory loader. */
#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/mondef.h"

/* Parse text (named "t.conf") into a new empty set; returns the parser's result. */
static int parse(struct mondef_set *set, const char *text, char err[MONDEF_ERR_MAX])
{
	memset(set, 0, sizeof(*set));
	err[0] = '\0';
	return mondef_parse_text(set, text, strlen(text), "t.conf", err);
}

/* Assert that text is refused with exactly the message want, adding nothing. */
static void expect_error(const char *text, const char *want)
{
	struct mondef_set set;
	char err[MONDEF_ERR_MAX];

	ck_assert_msg(parse(&set, text, err) == -EINVAL, "accepted: %s", text);
	ck_assert_str_eq(err, want);
	ck_assert_uint_eq(set.n, 0);
	ck_assert_ptr_null(set.items);
	mondef_set_free(&set);
}

/* Assert that text is accepted with n monitors; the caller checks and frees set. */
static void expect_ok(struct mondef_set *set, const char *text, size_t n)
{
	char err[MONDEF_ERR_MAX];
	int r = parse(set, text, err);

	ck_assert_msg(r == 0, "refused (%d): %s: %s", r, text, err);
	ck_assert_uint_eq(set->n, n);
}

/* A monitor with the defaults, named name, probing target. */
static struct mondef make(const char *name, const char *target)
{
	struct mondef d;

	mondef_init(&d, name);
	snprintf(d.target, sizeof(d.target), "%s", target);
	return d;
}

/* Append a label to d. */
static void add_label(struct mondef *d, const char *name, const char *value)
{
	ck_assert_int_lt(d->n_labels, MONDEF_LABELS_MAX);
	snprintf(d->labels[d->n_labels].name, sizeof(d->labels[0].name), "%s", name);
	snprintf(d->labels[d->n_labels].value, sizeof(d->labels[0].value), "%s", value);
	d->n_labels++;
}

/* Assert that mondef_check() refuses d with exactly the message want. */
static void check_error(const struct mondef *d, const char *want)
{
	char err[MONDEF_ERR_MAX] = "";

	ck_assert_int_eq(mondef_check(d, err), -EINVAL);
	ck_assert_str_eq(err, want);
	ck_assert_int_eq(mondef_check(d, NULL), -EINVAL);
}

START_TEST(test_defaults)
{
	struct mondef d;
	struct mondef_set set;
	char name[100], err[MONDEF_ERR_MAX] = "untouched";

	memset(&d, 0x5a, sizeof(d));
	mondef_init(&d, "web1");
	ck_assert_str_eq(d.name, "web1");
	ck_assert_str_eq(d.target, "");
	ck_assert_int_eq(d.kind, MONDEF_PING);
	ck_assert_int_eq(d.family, MONDEF_FAMILY_ANY);
	ck_assert_int_eq(d.addresses, MONDEF_ADDR_FIRST);
	ck_assert_int_eq(d.protocol, MP_PROTO_ICMP);
	ck_assert_int_eq(d.port, 0);
	ck_assert_int_eq(d.count, 5);
	ck_assert_double_eq(d.interval, 1);
	ck_assert_int_eq(d.first_ttl, 1);
	ck_assert_int_eq(d.max_ttl, 30);
	ck_assert_double_eq(d.period, 60);
	ck_assert_double_eq(d.timeout, 2);
	ck_assert_int_eq(d.size, -1);
	ck_assert_int_eq(d.tos, 0);
	ck_assert_int_eq(d.ttl, 255);
	ck_assert_double_eq(d.loss_threshold, 10);
	ck_assert_int_eq(d.n_labels, 0);
	/* Without a target the defaults do not pass; with one they do. */
	check_error(&d, "target: missing value");
	strcpy(d.target, "localhost");
	ck_assert_int_eq(mondef_check(&d, err), 0);
	ck_assert_str_eq(err, "untouched");
	/* A section with only a target is the same monitor. */
	expect_ok(&set, "[web1]\ntarget = localhost\n", 1);
	ck_assert(mondef_equal(&set.items[0], &d));
	mondef_set_free(&set);
	/* The name is not checked, only cut to 64 bytes; NULL gives "". */
	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	mondef_init(&d, name);
	ck_assert_uint_eq(strlen(d.name), MONDEF_NAME_MAX);
	mondef_init(&d, NULL);
	ck_assert_str_eq(d.name, "");
	mondef_init(&d, "no such name!");
	ck_assert_str_eq(d.name, "no such name!");
}
END_TEST

START_TEST(test_example)
{
	struct mondef_set set;
	const struct mondef *a, *b;

	expect_ok(&set,
		  "# comment\n"
		  "[web1]\n"
		  "target = localhost\n"
		  "kind = ping\n"
		  "count = 5\n"
		  "label.team = net\n"
		  "label.site = fra 1\n"
		  "\n"
		  "[path-to-db]\n"
		  "kind = trace\n"
		  "target = ::1\n"
		  "max_ttl = 10\n",
		  2);
	a = &set.items[0];
	b = &set.items[1];
	ck_assert_str_eq(a->name, "web1");
	ck_assert_str_eq(a->target, "localhost");
	ck_assert_int_eq(a->kind, MONDEF_PING);
	ck_assert_int_eq(a->count, 5);
	ck_assert_int_eq(a->n_labels, 2);
	ck_assert_str_eq(a->labels[0].name, "team");
	ck_assert_str_eq(a->labels[0].value, "net");
	ck_assert_str_eq(a->labels[1].name, "site");
	ck_assert_str_eq(a->labels[1].value, "fra 1");
	ck_assert_str_eq(b->name, "path-to-db");
	ck_assert_str_eq(b->target, "::1");
	ck_assert_int_eq(b->kind, MONDEF_TRACE);
	ck_assert_int_eq(b->first_ttl, 1);
	ck_assert_int_eq(b->max_ttl, 10);
	ck_assert_int_eq(b->n_labels, 0);
	ck_assert_ptr_eq(mondef_set_find(&set, "path-to-db"), b);
	mondef_set_free(&set);
}
END_TEST

START_TEST(test_every_key)
{
	struct mondef_set set;
	const struct mondef *d;

	expect_ok(&set,
		  "[all]\n"
		  "target = 2001:db8::1\n"
		  "kind = trace\n"
		  "ip_version = 6\n"
		  "addresses = all\n"
		  "protocol = tcp\n"
		  "port = 443\n"
		  "count = 10\n"
		  "interval = 0.5\n"
		  "first_ttl = 3\n"
		  "max_ttl = 20\n"
		  "period = 120\n"
		  "timeout = 1.5\n"
		  "size = 100\n"
		  "tos = 16\n"
		  "ttl = 64\n"
		  "loss_threshold = 2.5\n"
		  "label.team = net\n",
		  1);
	d = &set.items[0];
	ck_assert_str_eq(d->name, "all");
	ck_assert_str_eq(d->target, "2001:db8::1");
	ck_assert_int_eq(d->kind, MONDEF_TRACE);
	ck_assert_int_eq(d->family, MONDEF_FAMILY_6);
	ck_assert_int_eq(d->addresses, MONDEF_ADDR_ALL);
	ck_assert_int_eq(d->protocol, MP_PROTO_TCP);
	ck_assert_int_eq(d->port, 443);
	ck_assert_int_eq(d->count, 10);
	ck_assert_double_eq(d->interval, 0.5);
	ck_assert_int_eq(d->first_ttl, 3);
	ck_assert_int_eq(d->max_ttl, 20);
	ck_assert_double_eq(d->period, 120);
	ck_assert_double_eq(d->timeout, 1.5);
	ck_assert_int_eq(d->size, 100);
	ck_assert_int_eq(d->tos, 16);
	ck_assert_int_eq(d->ttl, 64);
	ck_assert_double_eq(d->loss_threshold, 2.5);
	ck_assert_int_eq(d->n_labels, 1);
	mondef_set_free(&set);

	/* A key given twice keeps its last value. */
	expect_ok(&set, "[a]\ntarget = 192.0.2.1\ncount = 3\ntarget = 192.0.2.2\ncount = 4\n", 1);
	ck_assert_str_eq(set.items[0].target, "192.0.2.2");
	ck_assert_int_eq(set.items[0].count, 4);
	mondef_set_free(&set);
}
END_TEST

/* An enum key's accepted names and the value each stands for. */
struct enum_case {
	const char *key, *value;
	size_t offset;
	int want;
};

static const struct enum_case enum_cases[] = {
	{ "kind", "ping", offsetof(struct mondef, kind), MONDEF_PING },
	{ "kind", "trace", offsetof(struct mondef, kind), MONDEF_TRACE },
	{ "ip_version", "any", offsetof(struct mondef, family), MONDEF_FAMILY_ANY },
	{ "ip_version", "4", offsetof(struct mondef, family), MONDEF_FAMILY_4 },
	{ "ip_version", "6", offsetof(struct mondef, family), MONDEF_FAMILY_6 },
	{ "ip_version", "both", offsetof(struct mondef, family), MONDEF_FAMILY_BOTH },
	{ "addresses", "first", offsetof(struct mondef, addresses), MONDEF_ADDR_FIRST },
	{ "addresses", "all", offsetof(struct mondef, addresses), MONDEF_ADDR_ALL },
	{ "protocol", "icmp", offsetof(struct mondef, protocol), MP_PROTO_ICMP },
	{ "protocol", "udp", offsetof(struct mondef, protocol), MP_PROTO_UDP },
	{ "protocol", "tcp", offsetof(struct mondef, protocol), MP_PROTO_TCP },
	{ "protocol", "sctp", offsetof(struct mondef, protocol), MP_PROTO_SCTP },
};

START_TEST(test_enum_keys)
{
	const struct enum_case *c = &enum_cases[_i];
	struct mondef_set set;
	char text[256];

	snprintf(text, sizeof(text), "[m]\ntarget = localhost\n%s = %s\n", c->key, c->value);
	expect_ok(&set, text, 1);
	ck_assert_int_eq(*(const int *)(const void *)((const char *)&set.items[0] + c->offset),
			 c->want);
	mondef_set_free(&set);
}
END_TEST

START_TEST(test_enum_errors)
{
	static const struct {
		const char *line, *err;
	} bad[] = {
		{ "kind = Ping", "kind: must be one of ping, trace" },
		{ "kind = mtr", "kind: must be one of ping, trace" },
		{ "kind = ping trace", "kind: must be one of ping, trace" },
		{ "kind =", "kind: missing value" },
		{ "ip_version = 5", "ip_version: must be one of any, 4, 6, both" },
		{ "ip_version = ipv4", "ip_version: must be one of any, 4, 6, both" },
		{ "ip_version = 04", "ip_version: must be one of any, 4, 6, both" },
		{ "addresses = some", "addresses: must be one of first, all" },
		{ "addresses = ALL", "addresses: must be one of first, all" },
		{ "protocol = raw", "protocol: must be one of icmp, udp, tcp, sctp" },
		{ "protocol = ICMP", "protocol: must be one of icmp, udp, tcp, sctp" },
		{ "protocol = 1", "protocol: must be one of icmp, udp, tcp, sctp" },
	};
	char text[256], want[MONDEF_ERR_MAX];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "[m]\ntarget = localhost\n%s\n", bad[i].line);
		snprintf(want, sizeof(want), "t.conf:3: %s", bad[i].err);
		expect_error(text, want);
	}
}
END_TEST

/* An integer key, its range, where it lands, and lines that let its extremes pass the checks. */
struct int_key {
	const char *name;
	int min, max;
	size_t offset;
	const char *extra;
};

static const struct int_key int_keys[] = {
	{ "port", 0, 65535, offsetof(struct mondef, port), "" },
	{ "count", 1, 100, offsetof(struct mondef, count), "interval = 0.01\n" },
	{ "first_ttl", 1, 255, offsetof(struct mondef, first_ttl), "" },
	{ "max_ttl", 1, 255, offsetof(struct mondef, max_ttl), "" },
	{ "size", -1, 9000, offsetof(struct mondef, size), "" },
	{ "tos", 0, 255, offsetof(struct mondef, tos), "" },
	{ "ttl", 1, 255, offsetof(struct mondef, ttl), "" },
};

/* Assert "name = value" is accepted and stores want. */
static void int_ok(const struct int_key *k, const char *value, int want)
{
	struct mondef_set set;
	char text[256];

	snprintf(text, sizeof(text), "[m]\n%s = %s\ntarget = localhost\n%s", k->name, value,
		 k->extra);
	expect_ok(&set, text, 1);
	ck_assert_int_eq(*(const int *)(const void *)((const char *)&set.items[0] + k->offset),
			 want);
	mondef_set_free(&set);
}

/* Assert "name = value" is refused with the key's range message. */
static void int_bad(const struct int_key *k, const char *value)
{
	char text[256], want[MONDEF_ERR_MAX];

	snprintf(text, sizeof(text), "[m]\n%s = %s\ntarget = localhost\n%s", k->name, value,
		 k->extra);
	snprintf(want, sizeof(want), "t.conf:2: %s: must be an integer from %d to %d", k->name,
		 k->min, k->max);
	expect_error(text, want);
}

START_TEST(test_int_keys)
{
	const struct int_key *k = &int_keys[_i];
	char buf[64], want[MONDEF_ERR_MAX];

	snprintf(buf, sizeof(buf), "%d", k->min);
	int_ok(k, buf, k->min);
	snprintf(buf, sizeof(buf), "%d", k->min + 1);
	int_ok(k, buf, k->min + 1);
	snprintf(buf, sizeof(buf), "%d", k->max - 1);
	int_ok(k, buf, k->max - 1);
	snprintf(buf, sizeof(buf), "%d", k->max);
	int_ok(k, buf, k->max);
	snprintf(buf, sizeof(buf), "0%d", k->max);
	int_ok(k, buf, k->max); /* leading zeros are decimal, not octal */
	snprintf(buf, sizeof(buf), "%d", k->min - 1);
	int_bad(k, buf);
	snprintf(buf, sizeof(buf), "%d", k->max + 1);
	int_bad(k, buf);
	int_bad(k, "abc");
	int_bad(k, "10x");
	int_bad(k, "1.5");
	int_bad(k, "1e2");
	int_bad(k, "0x10");
	int_bad(k, "+");
	int_bad(k, "-");
	int_bad(k, "+5");
	int_bad(k, "1 2");
	int_bad(k, "2147483648");
	int_bad(k, "-2147483649");
	int_bad(k, "4294967297");
	int_bad(k, "9223372036854775808");
	int_bad(k, "99999999999999999999999999999");
	snprintf(buf, sizeof(buf), "[m]\n%s =\ntarget = localhost\n", k->name);
	snprintf(want, sizeof(want), "t.conf:2: %s: missing value", k->name);
	expect_error(buf, want);
	snprintf(buf, sizeof(buf), "[m]\n%s =  # nothing\ntarget = localhost\n", k->name);
	expect_error(buf, want);
}
END_TEST

/* A number key, its bounds as text and value, values just outside, and its message's range. */
struct num_key {
	const char *name;
	const char *min, *max, *below, *above;
	double min_v, max_v;
	size_t offset;
	const char *range, *extra;
};

static const struct num_key num_keys[] = {
	{ "interval", "0.01", "60", "0.0099", "60.001", 0.01, 60, offsetof(struct mondef, interval),
	  "0.01 to 60", "count = 1\n" },
	{ "period", "1", "86400", "0.999", "86400.5", 1, 86400, offsetof(struct mondef, period),
	  "1 to 86400", "count = 1\n" },
	{ "timeout", "0.01", "60", "0.00999", "60.01", 0.01, 60, offsetof(struct mondef, timeout),
	  "0.01 to 60", "" },
	{ "loss_threshold", "0", "100", "-0.001", "100.001", 0, 100,
	  offsetof(struct mondef, loss_threshold), "0 to 100", "" },
};

/* Assert "name = value" is accepted and stores want. */
static void num_ok(const struct num_key *k, const char *value, double want)
{
	struct mondef_set set;
	char text[256];

	snprintf(text, sizeof(text), "[m]\n%s = %s\ntarget = localhost\n%s", k->name, value,
		 k->extra);
	expect_ok(&set, text, 1);
	ck_assert_double_eq(
		*(const double *)(const void *)((const char *)&set.items[0] + k->offset), want);
	mondef_set_free(&set);
}

/* Assert "name = value" is refused with the key's range message. */
static void num_bad(const struct num_key *k, const char *value)
{
	char text[256], want[MONDEF_ERR_MAX];

	snprintf(text, sizeof(text), "[m]\n%s = %s\ntarget = localhost\n%s", k->name, value,
		 k->extra);
	snprintf(want, sizeof(want), "t.conf:2: %s: must be a number from %s", k->name, k->range);
	expect_error(text, want);
}

START_TEST(test_number_keys)
{
	const struct num_key *k = &num_keys[_i];
	char buf[128], want[MONDEF_ERR_MAX];

	num_ok(k, k->min, k->min_v);
	num_ok(k, k->max, k->max_v);
	num_ok(k, "1", 1);
	num_ok(k, "1.5", 1.5);
	num_ok(k, "+3", 3);
	num_ok(k, "3e1", 30);
	num_ok(k, "30.", 30);
	num_bad(k, k->below);
	num_bad(k, k->above);
	num_bad(k, "nan");
	num_bad(k, "NAN");
	num_bad(k, "inf");
	num_bad(k, "-inf");
	num_bad(k, "infinity");
	num_bad(k, "1e999");
	num_bad(k, "0x10");
	num_bad(k, "1e");
	num_bad(k, "1.2.3");
	num_bad(k, "5s");
	num_bad(k, "1 0");
	num_bad(k, "1,5");
	num_bad(k, ".");
	num_bad(k, "-");
	snprintf(buf, sizeof(buf), "[m]\n%s =\ntarget = localhost\n", k->name);
	snprintf(want, sizeof(want), "t.conf:2: %s: missing value", k->name);
	expect_error(buf, want);
}
END_TEST

START_TEST(test_target)
{
	static const char *const ok[] = {
		"localhost", "example.com", "www.example.net", "under_score.example.com",
		"example.com.", "a-b.example.net", "127.0.0.1", "192.0.2.1", "203.0.113.255",
		"::1", "2001:db8::1", "2001:DB8:0:0:0:0:0:1", "::ffff:192.0.2.1",
	};
	static const char *const bad[] = {
		"exa mple.com", "example.com:80", "[::1]", "fe80::1%eth0", "1.2.3",
		"256.0.0.1", "192.0.2.1/24", "ex@mple.com", "ex\xc3\xa4mple.com", "2001:db8::g",
		":::", "a,b", "http://example.com",
	};
	struct mondef_set set;
	char text[600], name[300];

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		snprintf(text, sizeof(text), "[m]\ntarget = %s\n", ok[i]);
		expect_ok(&set, text, 1);
		ck_assert_str_eq(set.items[0].target, ok[i]);
		mondef_set_free(&set);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "[m]\ntarget = %s\n", bad[i]);
		expect_error(text, "t.conf:2: target: must be a host name or an IP address");
	}
	/* MP_HOST_MAX (253) bytes fit, 254 do not. */
	memset(name, 'a', sizeof(name));
	name[MP_HOST_MAX] = '\0';
	snprintf(text, sizeof(text), "[m]\ntarget = %s\n", name);
	expect_ok(&set, text, 1);
	ck_assert_uint_eq(strlen(set.items[0].target), MP_HOST_MAX);
	mondef_set_free(&set);
	name[MP_HOST_MAX] = 'a';
	name[MP_HOST_MAX + 1] = '\0';
	snprintf(text, sizeof(text), "[m]\ntarget = %s\n", name);
	expect_error(text, "t.conf:2: target: longer than 253 bytes");
	expect_error("[m]\ntarget =\n", "t.conf:2: target: missing value");
	expect_error("[m]\ntarget = # none\n", "t.conf:2: target: missing value");
}
END_TEST

START_TEST(test_labels)
{
	struct mondef_set set;
	const struct mondef *d;
	char text[4096], value[200];
	int n;

	expect_ok(&set,
		  "[m]\n"
		  "target = localhost\n"
		  "label.team = net\n"
		  "label.site =   fra 1   \n"
		  "label.city = Z\xc3\xbcrich\n"
		  "label.empty =\n"
		  "label._private = x # comment\n"
		  "label.Upper_9 = rocket \xf0\x9f\x9a\x80 nbsp\xc2\xa0here\n",
		  1);
	d = &set.items[0];
	ck_assert_int_eq(d->n_labels, 6);
	ck_assert_str_eq(d->labels[0].name, "team");
	ck_assert_str_eq(d->labels[0].value, "net");
	ck_assert_str_eq(d->labels[1].name, "site");
	ck_assert_str_eq(d->labels[1].value, "fra 1");
	ck_assert_str_eq(d->labels[2].value, "Z\xc3\xbcrich");
	ck_assert_str_eq(d->labels[3].name, "empty");
	ck_assert_str_eq(d->labels[3].value, "");
	ck_assert_str_eq(d->labels[4].name, "_private");
	ck_assert_str_eq(d->labels[4].value, "x");
	ck_assert_str_eq(d->labels[5].name, "Upper_9");
	ck_assert_str_eq(d->labels[5].value, "rocket \xf0\x9f\x9a\x80 nbsp\xc2\xa0here");
	mondef_set_free(&set);

	/* MONDEF_LABELS_MAX labels, names of 64 bytes, values of 128 bytes fit. */
	n = snprintf(text, sizeof(text), "[m]\ntarget = localhost\n");
	for (int i = 0; i < MONDEF_LABELS_MAX; i++)
		n += snprintf(text + n, sizeof(text) - (size_t)n, "label.l%d = %d\n", i, i);
	expect_ok(&set, text, 1);
	ck_assert_int_eq(set.items[0].n_labels, MONDEF_LABELS_MAX);
	ck_assert_str_eq(set.items[0].labels[15].name, "l15");
	mondef_set_free(&set);
	memset(value, 'v', sizeof(value));
	value[MONDEF_LABEL_VALUE_MAX - 2] = '\0';
	snprintf(text, sizeof(text), "[m]\ntarget = localhost\nlabel.%.64s = \xc3\xa9%s\n",
		 "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnop", value);
	expect_ok(&set, text, 1);
	ck_assert_uint_eq(strlen(set.items[0].labels[0].name), MONDEF_LABEL_NAME_MAX);
	ck_assert_uint_eq(strlen(set.items[0].labels[0].value), MONDEF_LABEL_VALUE_MAX);
	mondef_set_free(&set);
}
END_TEST

START_TEST(test_label_errors)
{
	static const char *const reserved[] = {
		"monitor", "target", "address", "ip_version", "protocol", "ttl", "le", "kind",
		"result", "responder", "version", "quantile",
	};
	static const struct {
		const char *line, *err;
	} bad[] = {
		{ "label.1abc = x", "label.1abc: invalid label name" },
		{ "label.__x = x", "label.__x: invalid label name" },
		{ "label.__ = x", "label.__: invalid label name" },
		{ "label.a-b = x", "label.a-b: invalid label name" },
		{ "label.a.b = x", "label.a.b: invalid label name" },
		{ "label.a b = x", "label.a b: invalid label name" },
		{ "label. = x", "label.: invalid label name" },
		{ "label.caf\xc3\xa9 = x", "label.caf??: invalid label name" },
		{ "label.x", "label.x: missing '='" },
		{ "label.v = \xc3", "label.v: value is not valid UTF-8" },
		{ "label.v = \xc3(", "label.v: value is not valid UTF-8" },
		{ "label.v = \x80", "label.v: value is not valid UTF-8" },
		{ "label.v = \xc0\x80", "label.v: value is not valid UTF-8" },
		{ "label.v = \xc1\xbf", "label.v: value is not valid UTF-8" },
		{ "label.v = \xe0\x80\x80", "label.v: value is not valid UTF-8" },
		{ "label.v = \xe2\x82", "label.v: value is not valid UTF-8" },
		{ "label.v = \xed\xa0\x80", "label.v: value is not valid UTF-8" },
		{ "label.v = \xf0\x80\x80\x80", "label.v: value is not valid UTF-8" },
		{ "label.v = \xf4\x90\x80\x80", "label.v: value is not valid UTF-8" },
		{ "label.v = \xf5\x80\x80\x80", "label.v: value is not valid UTF-8" },
		{ "label.v = \xff", "label.v: value is not valid UTF-8" },
		{ "label.v = a\tb", "label.v: control character in value" },
		{ "label.v = a\x7f", "label.v: control character in value" },
		{ "label.v = a\xc2\x85", "label.v: control character in value" },
		{ "label.v = a\xc2\x9f", "label.v: control character in value" },
		{ "label.v = a\x01", "label.v: control character in value" },
		{ "label.v = a\rb", "label.v: control character in value" },
	};
	char text[1024], want[MONDEF_ERR_MAX], value[200];
	int n;

	for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++) {
		snprintf(text, sizeof(text), "[m]\ntarget = localhost\nlabel.%s = x\n", reserved[i]);
		snprintf(want, sizeof(want), "t.conf:3: label.%s: reserved label name", reserved[i]);
		expect_error(text, want);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "[m]\ntarget = localhost\n%s\n", bad[i].line);
		snprintf(want, sizeof(want), "t.conf:3: %s", bad[i].err);
		expect_error(text, want);
	}
	expect_error("[m]\ntarget = localhost\nlabel.team = a\nlabel.site = b\nlabel.team = a\n",
		     "t.conf:5: label.team: set twice");
	/* A name of 65 bytes (quoted cut to 64 in the message). */
	snprintf(text, sizeof(text), "[m]\ntarget = localhost\nlabel.%s = x\n",
		 "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklm");
	expect_error(text, "t.conf:3: label.abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz"
			   "abcdefghijkl: label name longer than 64 bytes");
	/* A value of 129 bytes. */
	memset(value, 'v', sizeof(value));
	value[MONDEF_LABEL_VALUE_MAX + 1] = '\0';
	snprintf(text, sizeof(text), "[m]\ntarget = localhost\nlabel.v = %s\n", value);
	expect_error(text, "t.conf:3: label.v: value longer than 128 bytes");
	/* One label more than MONDEF_LABELS_MAX. */
	n = snprintf(text, sizeof(text), "[m]\ntarget = localhost\n");
	for (int i = 0; i <= MONDEF_LABELS_MAX; i++)
		n += snprintf(text + n, sizeof(text) - (size_t)n, "label.l%d = %d\n", i, i);
	expect_error(text, "t.conf:19: label.l16: more than 16 labels");
}
END_TEST

START_TEST(test_label_names)
{
	static const char *const ok[] = { "a", "A", "_", "_a", "a_b9", "team", "Monitor", "le_" };
	static const char *const bad[] = { "", "9a", "__a", "__", "a-b", "a.b", "a b", "caf\xc3\xa9",
					   "a:b" };
	static const char *const reserved[] = {
		"monitor", "target", "address", "ip_version", "protocol", "ttl", "le", "kind",
		"result", "responder", "version", "quantile",
	};
	char name[70];

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		ck_assert_msg(mondef_label_name_ok(ok[i]), "%s", ok[i]);
		ck_assert_msg(mondef_label_name_free(ok[i]), "%s", ok[i]);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(!mondef_label_name_ok(bad[i]), "%s", bad[i]);
		ck_assert_msg(!mondef_label_name_free(bad[i]), "%s", bad[i]);
	}
	for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++) {
		ck_assert_msg(mondef_label_name_ok(reserved[i]), "%s", reserved[i]);
		ck_assert_msg(!mondef_label_name_free(reserved[i]), "%s", reserved[i]);
	}
	ck_assert(!mondef_label_name_ok(NULL));
	ck_assert(!mondef_label_name_free(NULL));
	/* Valid at any length for Prometheus; at most 64 bytes for a monitor. */
	memset(name, 'x', sizeof(name));
	name[MONDEF_LABEL_NAME_MAX] = '\0';
	ck_assert(mondef_label_name_free(name));
	name[MONDEF_LABEL_NAME_MAX] = 'x';
	name[MONDEF_LABEL_NAME_MAX + 1] = '\0';
	ck_assert(mondef_label_name_ok(name));
	ck_assert(!mondef_label_name_free(name));
}
END_TEST

START_TEST(test_cycle)
{
	struct mondef_set set;

	/* Ping: (count - 1) * interval < period. */
	expect_ok(&set, "[m]\ntarget = localhost\ncount = 60\n", 1);
	mondef_set_free(&set);
	expect_error("[m]\ntarget = localhost\ncount = 61\n",
		     "t.conf:1: (count - 1) * interval (60 s) must be less than period (60 s)");
	expect_ok(&set, "[m]\ntarget = localhost\ncount = 100\ninterval = 0.5\nperiod = 50\n", 1);
	mondef_set_free(&set);
	expect_error("[m]\ntarget = localhost\ncount = 100\ninterval = 0.5\nperiod = 49.5\n",
		     "t.conf:1: (count - 1) * interval (49.5 s) must be less than period (49.5 s)");
	/* A ping may have first_ttl > max_ttl; a trace may have a long cycle. */
	expect_ok(&set, "[m]\ntarget = localhost\nfirst_ttl = 31\n", 1);
	mondef_set_free(&set);
	expect_ok(&set, "[m]\ntarget = localhost\nkind = trace\ncount = 100\ninterval = 60\n", 1);
	mondef_set_free(&set);
	/* Trace: first_ttl <= max_ttl. */
	expect_ok(&set, "[m]\ntarget = localhost\nkind = trace\nfirst_ttl = 30\n", 1);
	mondef_set_free(&set);
	expect_error("[m]\ntarget = localhost\nkind = trace\nfirst_ttl = 31\n",
		     "t.conf:1: first_ttl (31) must not exceed max_ttl (30)");
	/* The message names the section's line, found when the next section starts. */
	expect_error("[a]\ntarget = localhost\n\n[b]\ntarget = localhost\ncount = 61\n[c]\n",
		     "t.conf:4: (count - 1) * interval (60 s) must be less than period (60 s)");
}
END_TEST

START_TEST(test_syntax)
{
	struct mondef_set set;

	expect_ok(&set,
		  "# leading comment\n"
		  "#[commented]\n"
		  "\n"
		  "   [  web1  ]   # a comment after the name\n"
		  "\ttarget=localhost#no blank before the comment\n"
		  "  kind   =   trace   \n"
		  " \t \n"
		  "[web2]# tight\n"
		  "target = 192.0.2.1\n"
		  "[\tweb.3_x-y\t]\n"
		  "target = 198.51.100.7", /* no newline at the end */
		  3);
	ck_assert_str_eq(set.items[0].name, "web1");
	ck_assert_str_eq(set.items[0].target, "localhost");
	ck_assert_int_eq(set.items[0].kind, MONDEF_TRACE);
	ck_assert_str_eq(set.items[1].name, "web2");
	ck_assert_str_eq(set.items[1].target, "192.0.2.1");
	ck_assert_str_eq(set.items[2].name, "web.3_x-y");
	ck_assert_str_eq(set.items[2].target, "198.51.100.7");
	mondef_set_free(&set);

	/* Nothing at all, or only comments: no monitor, no error. */
	expect_ok(&set, "", 0);
	expect_ok(&set, "\n\n  # only comments\n\t\n", 0);
	ck_assert_ptr_null(set.items);
}
END_TEST

START_TEST(test_crlf_bom)
{
	struct mondef_set set;

	expect_ok(&set, "\xef\xbb\xbf[a]\r\ntarget = localhost\r\n# c\r\n\r\nlabel.x = y z\r\n", 1);
	ck_assert_str_eq(set.items[0].name, "a");
	ck_assert_str_eq(set.items[0].target, "localhost");
	ck_assert_str_eq(set.items[0].labels[0].value, "y z");
	mondef_set_free(&set);
	expect_ok(&set, "\xef\xbb\xbf", 0);
	/* Line numbers count CRLF lines and the BOM's line; a CR inside a value is refused. */
	expect_error("[a]\r\ntarget = localhost\r\n\r\ncount = 0\r\n",
		     "t.conf:4: count: must be an integer from 1 to 100");
	expect_error("\xef\xbb\xbf\nfoo = 1\n", "t.conf:2: key outside a [monitor] section");
	expect_error("[a]\r\ntarget = local\rhost\r\n", "t.conf:2: target: control character in value");
	/* A BOM anywhere else is not blank. */
	expect_error("[a]\n\xef\xbb\xbftarget = localhost\n", "t.conf:2: unknown key '???target'");
}
END_TEST

/* A text refused with its exact message. */
struct bad_text {
	const char *text;
	const char *err;
};

static const struct bad_text bad_texts[] = {
	{ "target = localhost\n", "t.conf:1: key outside a [monitor] section" },
	{ "# c\nfoo = 1\n[a]\n", "t.conf:2: key outside a [monitor] section" },
	{ "label.x = 1\n", "t.conf:1: key outside a [monitor] section" },
	{ "bare words\n", "t.conf:1: missing '=' in 'bare words'" },
	{ "[a]\ntarget = localhost\nfoo = 1\n", "t.conf:3: unknown key 'foo'" },
	{ "[a]\nTarget = localhost\n", "t.conf:2: unknown key 'Target'" },
	{ "[a]\nlabels.x = 1\n", "t.conf:2: unknown key 'labels.x'" },
	{ "[a]\nlabel = 1\n", "t.conf:2: unknown key 'label'" },
	{ "[a]\nfo\x01o = 1\n", "t.conf:2: unknown key 'fo?o'" },
	{ "[a]\ntarget\n", "t.conf:2: target: missing '='" },
	{ "[a]\ncount 5\n", "t.conf:2: missing '=' in 'count 5'" },
	{ "[a]\nsome words # and a comment\n", "t.conf:2: missing '=' in 'some words'" },
	{ "[a]\n = x\n", "t.conf:2: missing key before '='" },
	{ "[a]\n", "t.conf:1: [a]: missing target" },
	{ "[a]\nkind = trace\n\n[b]\ntarget = localhost\n", "t.conf:1: [a]: missing target" },
	{ "[a]\ntarget = localhost\n[b]\n", "t.conf:3: [b]: missing target" },
	{ "[a\n", "t.conf:1: missing ']' in '[a'" },
	{ "[\n", "t.conf:1: missing ']' in '['" },
	{ "[a] x\n", "t.conf:1: missing ']' in '[a] x'" },
	{ "[]\n", "t.conf:1: invalid monitor name ''" },
	{ "[   ]\n", "t.conf:1: invalid monitor name ''" },
	{ "[.a]\n", "t.conf:1: invalid monitor name '.a'" },
	{ "[-a]\n", "t.conf:1: invalid monitor name '-a'" },
	{ "[a b]\n", "t.conf:1: invalid monitor name 'a b'" },
	{ "[a/b]\n", "t.conf:1: invalid monitor name 'a/b'" },
	{ "[a]]\n", "t.conf:1: invalid monitor name 'a]'" },
	{ "[[a]]\n", "t.conf:1: invalid monitor name '[a]'" },
	{ "[caf\xc3\xa9]\n", "t.conf:1: invalid monitor name 'caf?" "?'" }, /* no trigraph */
	{ "[a]\ntarget = localhost\n[a]\ntarget = localhost\n",
	  "t.conf:3: monitor 'a' already defined at t.conf:1" },
	{ "[a]\ntarget = localhost\n[b]\ntarget = localhost\n\n  [ a ]\n",
	  "t.conf:6: monitor 'a' already defined at t.conf:1" },
	{ "[a]\ntarget = local\x01host\n", "t.conf:2: target: control character in value" },
	{ "[a]\ntarget = localhost\ncount = 5 = 6\n",
	  "t.conf:3: count: must be an integer from 1 to 100" },
	{ "[a]\ntarget = localhost\ncount = \xc3\xa9\n",
	  "t.conf:3: count: must be an integer from 1 to 100" },
	{ "[a]\ntarget = localhost\nport = 1\nfoo = 2\n[b]\n", "t.conf:4: unknown key 'foo'" },
};

START_TEST(test_bad_texts)
{
	expect_error(bad_texts[_i].text, bad_texts[_i].err);
}
END_TEST

START_TEST(test_names)
{
	struct mondef_set set;
	char text[200], want[MONDEF_ERR_MAX], name[70];

	/* 64 bytes fit, 65 do not. */
	memset(name, 'N', sizeof(name));
	name[MONDEF_NAME_MAX] = '\0';
	snprintf(text, sizeof(text), "[%s]\ntarget = localhost\n", name);
	expect_ok(&set, text, 1);
	ck_assert_str_eq(set.items[0].name, name);
	mondef_set_free(&set);
	name[MONDEF_NAME_MAX] = 'N';
	name[MONDEF_NAME_MAX + 1] = '\0';
	snprintf(text, sizeof(text), "[%s]\ntarget = localhost\n", name);
	name[MONDEF_NAME_MAX] = '\0'; /* quoted cut to 64 bytes */
	snprintf(want, sizeof(want), "t.conf:1: invalid monitor name '%s'", name);
	expect_error(text, want);
	expect_ok(&set, "[a]\ntarget = localhost\n[A]\ntarget = localhost\n[0._-]\ntarget=::1\n", 3);
	ck_assert_str_eq(set.items[2].name, "0._-");
	mondef_set_free(&set);
}
END_TEST

START_TEST(test_nul_byte)
{
	static const char text[] = "[a]\ntarget = local\0host\n";
	static const char comment[] = "# \0\n";
	struct mondef_set set = { 0 };
	char err[MONDEF_ERR_MAX];

	ck_assert_int_eq(mondef_parse_text(&set, text, sizeof(text) - 1, "t.conf", err), -EINVAL);
	ck_assert_str_eq(err, "t.conf:2: NUL byte in line");
	ck_assert_int_eq(mondef_parse_text(&set, comment, sizeof(comment) - 1, "c.conf", err),
			 -EINVAL);
	ck_assert_str_eq(err, "c.conf:1: NUL byte in line");
	ck_assert_uint_eq(set.n, 0);
}
END_TEST

START_TEST(test_length_not_nul)
{
	struct mondef_set set = { 0 };
	char err[MONDEF_ERR_MAX];
	const char *text = "[a]\ntarget = localhost\ncount = 77";

	/* Only len bytes are read: "count = 7". */
	ck_assert_int_eq(mondef_parse_text(&set, text, strlen(text) - 1, "t.conf", err), 0);
	ck_assert_uint_eq(set.n, 1);
	ck_assert_int_eq(set.items[0].count, 7);
	mondef_set_free(&set);
}
END_TEST

START_TEST(test_long_lines)
{
	size_t n = 200000;
	char *text = malloc(n + 64), err[MONDEF_ERR_MAX];
	struct mondef_set set;

	ck_assert_ptr_nonnull(text);
	/* A very long comment is fine. */
	text[0] = '#';
	memset(text + 1, 'x', n);
	strcpy(text + 1 + n, "\n[a]\ntarget = localhost\n");
	expect_ok(&set, text, 1);
	mondef_set_free(&set);
	/* A value of 4095 bytes gets the key's own message, 4096 the length limit's. */
	strcpy(text, "[a]\ntarget = ");
	memset(text + 13, 'm', 4095);
	text[13 + 4095] = '\0';
	expect_error(text, "t.conf:2: target: longer than 253 bytes");
	text[13 + 4095] = 'm';
	text[13 + 4096] = '\0';
	expect_error(text, "t.conf:2: target: value longer than 4095 bytes");
	/* A very long unknown key is quoted, cut to 64 bytes, in the message. */
	strcpy(text, "[a]\n");
	memset(text + 4, 'k', n);
	strcpy(text + 4 + n, " = 1\n");
	ck_assert_int_eq(parse(&set, text, err), -EINVAL);
	ck_assert_uint_eq(strlen(err), strlen("t.conf:2: unknown key ''") + 64);
	ck_assert_int_eq(strncmp(err, "t.conf:2: unknown key 'kkkk", 27), 0);
	free(text);
}
END_TEST

START_TEST(test_long_name_truncated)
{
	struct mondef_set set = { 0 };
	char err[MONDEF_ERR_MAX], name[2000];
	const char *text = "foo = 1\n";

	/* A huge file name cannot overflow the error buffer. */
	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	ck_assert_int_eq(mondef_parse_text(&set, text, strlen(text), name, err), -EINVAL);
	ck_assert_uint_eq(strlen(err), MONDEF_ERR_MAX - 1);
	/* A NULL name and a NULL err buffer are accepted. */
	ck_assert_int_eq(mondef_parse_text(&set, text, strlen(text), NULL, err), -EINVAL);
	ck_assert_str_eq(err, "(monitors):1: key outside a [monitor] section");
	ck_assert_int_eq(mondef_parse_text(&set, text, strlen(text), "t.conf", NULL), -EINVAL);
	ck_assert_uint_eq(set.n, 0);
}
END_TEST

START_TEST(test_set_unchanged_on_error)
{
	struct mondef_set set;
	struct mondef saved;
	struct mondef *items;
	char err[MONDEF_ERR_MAX];
	const char *bad = "[b]\ntarget = localhost\n[c]\ntarget = localhost\ncount = 0\n";
	const char *dup = "[b]\ntarget = localhost\n[a]\ntarget = 192.0.2.1\n";
	const char *good = "[b]\ntarget = localhost\n[c]\ntarget = 192.0.2.3\n";

	expect_ok(&set, "[a]\ntarget = localhost\nlabel.x = y\n", 1);
	saved = set.items[0];
	items = set.items;
	ck_assert_int_eq(mondef_parse_text(&set, bad, strlen(bad), "t.conf", err), -EINVAL);
	ck_assert_str_eq(err, "t.conf:5: count: must be an integer from 1 to 100");
	ck_assert_uint_eq(set.n, 1);
	ck_assert_ptr_eq(set.items, items);
	ck_assert(mondef_equal(&set.items[0], &saved));
	ck_assert_ptr_null(mondef_set_find(&set, "b"));
	/* A name already in the set (no place to name for it). */
	ck_assert_int_eq(mondef_parse_text(&set, dup, strlen(dup), "u.conf", err), -EINVAL);
	ck_assert_str_eq(err, "u.conf:3: monitor 'a' already defined");
	ck_assert_uint_eq(set.n, 1);
	ck_assert(mondef_equal(&set.items[0], &saved));
	/* Texts add up, in order. */
	ck_assert_int_eq(mondef_parse_text(&set, good, strlen(good), "v.conf", err), 0);
	ck_assert_uint_eq(set.n, 3);
	ck_assert_str_eq(set.items[0].name, "a");
	ck_assert_str_eq(set.items[1].name, "b");
	ck_assert_str_eq(set.items[2].name, "c");
	ck_assert(mondef_equal(&set.items[0], &saved));
	ck_assert_int_eq(mondef_parse_text(&set, good, strlen(good), "v.conf", err), -EINVAL);
	ck_assert_str_eq(err, "v.conf:1: monitor 'b' already defined");
	ck_assert_uint_eq(set.n, 3);
	mondef_set_free(&set);
}
END_TEST

START_TEST(test_format_exact)
{
	struct mondef d = make("web1", "localhost");
	const char *want = "[web1]\n"
			   "target = localhost\n"
			   "kind = ping\n"
			   "ip_version = any\n"
			   "addresses = first\n"
			   "protocol = icmp\n"
			   "port = 0\n"
			   "count = 5\n"
			   "interval = 1\n"
			   "first_ttl = 1\n"
			   "max_ttl = 30\n"
			   "period = 60\n"
			   "timeout = 2\n"
			   "size = -1\n"
			   "tos = 0\n"
			   "ttl = 255\n"
			   "loss_threshold = 10\n"
			   "label.team = net\n"
			   "label.site = fra 1\n"
			   "label.empty =\n";
	size_t len = strlen(want);
	char buf[4096];

	add_label(&d, "team", "net");
	add_label(&d, "site", "fra 1");
	add_label(&d, "empty", "");
	ck_assert_int_eq(mondef_format(&d, buf, sizeof(buf)), (int)len);
	ck_assert_str_eq(buf, want);
	/* Exactly room for the NUL, or not. */
	ck_assert_int_eq(mondef_format(&d, buf, len + 1), (int)len);
	ck_assert_str_eq(buf, want);
	ck_assert_int_eq(mondef_format(&d, buf, len), -ENOSPC);
	ck_assert_int_eq(mondef_format(&d, buf, 1), -ENOSPC);
	ck_assert_int_eq(mondef_format(&d, NULL, 0), -ENOSPC);

	/* Numbers: the shortest text that reads back the same. */
	d = make("n", "2001:db8::1");
	d.kind = MONDEF_TRACE;
	d.family = MONDEF_FAMILY_BOTH;
	d.addresses = MONDEF_ADDR_ALL;
	d.protocol = MP_PROTO_SCTP;
	d.interval = 0.1;
	d.period = 86400;
	d.timeout = 1.0 / 3;
	d.loss_threshold = 0.1 + 0.2;
	ck_assert_int_gt(mondef_format(&d, buf, sizeof(buf)), 0);
	ck_assert_ptr_nonnull(strstr(buf, "\ntarget = 2001:db8::1\nkind = trace\n"
					  "ip_version = both\naddresses = all\nprotocol = sctp\n"));
	ck_assert_ptr_nonnull(strstr(buf, "\ninterval = 0.1\n"));
	ck_assert_ptr_nonnull(strstr(buf, "\nperiod = 86400\n"));
	ck_assert_ptr_nonnull(strstr(buf, "\ntimeout = 0.3333333333333333\n"));
	ck_assert_ptr_nonnull(strstr(buf, "\nloss_threshold = 0.30000000000000004\n"));
}
END_TEST

/* Build the monitors of the round-trip test into ds; returns how many. */
static int roundtrip_monitors(struct mondef *ds)
{
	char value[MONDEF_LABEL_VALUE_MAX + 1];
	int n = 0;

	ds[n++] = make("defaults", "localhost");

	ds[n] = make("every-key", "192.0.2.10");
	ds[n].kind = MONDEF_TRACE;
	ds[n].family = MONDEF_FAMILY_4;
	ds[n].addresses = MONDEF_ADDR_ALL;
	ds[n].protocol = MP_PROTO_UDP;
	ds[n].port = 65535;
	ds[n].count = 100;
	ds[n].interval = 0.01;
	ds[n].first_ttl = 255;
	ds[n].max_ttl = 255;
	ds[n].period = 86400;
	ds[n].timeout = 60;
	ds[n].size = 9000;
	ds[n].tos = 255;
	ds[n].ttl = 1;
	ds[n].loss_threshold = 100;
	n++;

	ds[n] = make("labels", "www.example.com");
	add_label(&ds[n], "site", "fra 1");
	add_label(&ds[n], "city", "Z\xc3\xbcrich am See");
	add_label(&ds[n], "empty", "");
	add_label(&ds[n], "emoji", "\xf0\x9f\x9a\x80 \xe2\x82\xac 1");
	add_label(&ds[n], "inner", "a  =  b\"c'd\\e");
	add_label(&ds[n], "_x", "nbsp\xc2\xa0inside");
	n++;

	ds[n] = make("full.labels", "::1");
	for (int i = 0; i < MONDEF_LABELS_MAX; i++) {
		char name[16];

		snprintf(name, sizeof(name), "l%d", i);
		memset(value, 'a' + i, sizeof(value) - 1);
		value[sizeof(value) - 1] = '\0';
		memcpy(value, "\xc3\xa9 ", 3); /* 128 bytes, starting with UTF-8 */
		add_label(&ds[n], name, value);
	}
	n++;

	ds[n] = make("doubles_1", "2001:db8::53");
	ds[n].interval = 1.0 / 3;
	ds[n].period = 86399.99999999999;
	ds[n].timeout = 0.010000000000000002;
	ds[n].loss_threshold = 33.333333333333336;
	ds[n].size = 0;
	ds[n].port = 1;
	n++;

	ds[n] = make("doubles-2", "example.net");
	ds[n].interval = 59.999999999999993;
	ds[n].count = 2;
	ds[n].period = 60;
	ds[n].timeout = 0.1 + 0.2;
	ds[n].loss_threshold = 5e-324; /* the smallest subnormal */
	n++;
	return n;
}

START_TEST(test_format_roundtrip)
{
	struct mondef ds[8];
	struct mondef_set all = { 0 }, one;
	char buf[8192], err[MONDEF_ERR_MAX];
	int n = roundtrip_monitors(ds), len;

	for (int i = 0; i < n; i++) {
		ck_assert_msg(mondef_check(&ds[i], err) == 0, "%s: %s", ds[i].name, err);
		len = mondef_format(&ds[i], buf, sizeof(buf));
		ck_assert_int_gt(len, 0);
		ck_assert_uint_eq(strlen(buf), (size_t)len);
		memset(&one, 0, sizeof(one));
		ck_assert_msg(mondef_parse_text(&one, buf, (size_t)len, "rt.conf", err) == 0,
			      "%s: %s\n%s", ds[i].name, err, buf);
		ck_assert_uint_eq(one.n, 1);
		ck_assert_msg(mondef_equal(&one.items[0], &ds[i]), "%s:\n%s", ds[i].name, buf);
		mondef_set_free(&one);
		/* Each section added to one set. */
		ck_assert_int_eq(mondef_parse_text(&all, buf, (size_t)len, "rt.conf", err), 0);
	}
	ck_assert_uint_eq(all.n, (size_t)n);
	for (int i = 0; i < n; i++)
		ck_assert(mondef_equal(&all.items[i], &ds[i]));
	mondef_set_free(&all);
}
END_TEST

START_TEST(test_equal)
{
	struct mondef a = make("m", "localhost"), b;

	add_label(&a, "team", "net");
	b = a;
	ck_assert(mondef_equal(&a, &b));
	/* Bytes after each string's NUL, and labels past n_labels, do not count. */
	memset(&b, 0x77, sizeof(b));
	mondef_init(&b, "m");
	memset(b.name, 'z', sizeof(b.name));
	strcpy(b.name, "m");
	memset(b.target, 'z', sizeof(b.target));
	strcpy(b.target, "localhost");
	memset(b.labels, 'z', sizeof(b.labels));
	strcpy(b.labels[0].name, "team");
	strcpy(b.labels[0].value, "net");
	b.n_labels = 1;
	ck_assert(mondef_equal(&a, &b));
	ck_assert(mondef_equal(&b, &a));

#define DIFFERS(stmt)                                      \
	do {                                               \
		b = a;                                     \
		stmt;                                      \
		ck_assert_msg(!mondef_equal(&a, &b), #stmt); \
		ck_assert_msg(!mondef_equal(&b, &a), #stmt); \
	} while (0)
	DIFFERS(strcpy(b.name, "n"));
	DIFFERS(strcpy(b.target, "localhost."));
	DIFFERS(b.kind = MONDEF_TRACE);
	DIFFERS(b.family = MONDEF_FAMILY_6);
	DIFFERS(b.addresses = MONDEF_ADDR_ALL);
	DIFFERS(b.protocol = MP_PROTO_TCP);
	DIFFERS(b.port = 1);
	DIFFERS(b.count = 6);
	DIFFERS(b.interval = 1.0000000000000002);
	DIFFERS(b.first_ttl = 2);
	DIFFERS(b.max_ttl = 29);
	DIFFERS(b.period = 61);
	DIFFERS(b.timeout = 3);
	DIFFERS(b.size = 0);
	DIFFERS(b.tos = 1);
	DIFFERS(b.ttl = 254);
	DIFFERS(b.loss_threshold = 10.5);
	DIFFERS(b.n_labels = 0);
	DIFFERS(strcpy(b.labels[0].name, "Team"));
	DIFFERS(strcpy(b.labels[0].value, "net "));
	DIFFERS(add_label(&b, "x", ""));
#undef DIFFERS
	/* Labels in another order are another monitor. */
	add_label(&a, "site", "fra");
	b = make("m", "localhost");
	add_label(&b, "site", "fra");
	add_label(&b, "team", "net");
	ck_assert(!mondef_equal(&a, &b));
}
END_TEST

START_TEST(test_check)
{
	struct mondef ok = make("m", "localhost"), d;
	char want[MONDEF_ERR_MAX];

	add_label(&ok, "team", "net");
	ck_assert_int_eq(mondef_check(&ok, NULL), 0);

	d = ok, strcpy(d.name, "");
	check_error(&d, "invalid monitor name ''");
	d = ok, strcpy(d.name, ".m");
	check_error(&d, "invalid monitor name '.m'");
	d = ok, strcpy(d.name, "a\tb");
	check_error(&d, "invalid monitor name 'a?b'");
	d = ok, memset(d.name, 'a', sizeof(d.name)); /* no NUL */
	check_error(&d, "invalid monitor name "
			"'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'");
	d = ok, strcpy(d.target, "");
	check_error(&d, "target: missing value");
	d = ok, strcpy(d.target, "a b");
	check_error(&d, "target: must be a host name or an IP address");
	d = ok, memset(d.target, 'a', sizeof(d.target)); /* no NUL */
	check_error(&d, "target: longer than 253 bytes");

	d = ok, d.kind = (enum mondef_kind)2;
	check_error(&d, "kind: must be one of ping, trace");
	d = ok, d.kind = (enum mondef_kind)-1;
	check_error(&d, "kind: must be one of ping, trace");
	d = ok, d.family = (enum mondef_family)4;
	check_error(&d, "ip_version: must be one of any, 4, 6, both");
	d = ok, d.addresses = (enum mondef_addresses)2;
	check_error(&d, "addresses: must be one of first, all");
	d = ok, d.protocol = MP_PROTO__COUNT;
	check_error(&d, "protocol: must be one of icmp, udp, tcp, sctp");
	d = ok, d.port = -1;
	check_error(&d, "port: must be an integer from 0 to 65535");
	d = ok, d.port = 65536;
	check_error(&d, "port: must be an integer from 0 to 65535");
	d = ok, d.count = 0;
	check_error(&d, "count: must be an integer from 1 to 100");
	d = ok, d.interval = NAN;
	check_error(&d, "interval: must be a number from 0.01 to 60");
	d = ok, d.interval = INFINITY;
	check_error(&d, "interval: must be a number from 0.01 to 60");
	d = ok, d.first_ttl = 0;
	check_error(&d, "first_ttl: must be an integer from 1 to 255");
	d = ok, d.max_ttl = 256;
	check_error(&d, "max_ttl: must be an integer from 1 to 255");
	d = ok, d.period = 0.5;
	check_error(&d, "period: must be a number from 1 to 86400");
	d = ok, d.timeout = 0;
	check_error(&d, "timeout: must be a number from 0.01 to 60");
	d = ok, d.size = -2;
	check_error(&d, "size: must be an integer from -1 to 9000");
	d = ok, d.tos = 256;
	check_error(&d, "tos: must be an integer from 0 to 255");
	d = ok, d.ttl = 0;
	check_error(&d, "ttl: must be an integer from 1 to 255");
	d = ok, d.loss_threshold = -1;
	check_error(&d, "loss_threshold: must be a number from 0 to 100");
	d = ok, d.loss_threshold = NAN;
	check_error(&d, "loss_threshold: must be a number from 0 to 100");

	d = ok, d.n_labels = MONDEF_LABELS_MAX + 1;
	check_error(&d, "17 labels: at most 16");
	d = ok, d.n_labels = -1;
	check_error(&d, "-1 labels: at most 16");
	d = ok, strcpy(d.labels[0].name, "monitor");
	check_error(&d, "label.monitor: reserved label name");
	d = ok, strcpy(d.labels[0].name, "1x");
	check_error(&d, "label.1x: invalid label name");
	d = ok, strcpy(d.labels[0].name, "");
	check_error(&d, "label.: invalid label name");
	d = ok, memset(d.labels[0].name, 'n', sizeof(d.labels[0].name)); /* no NUL */
	snprintf(want, sizeof(want), "label.%.64s: label name longer than 64 bytes",
		 d.labels[0].name);
	check_error(&d, want);
	d = ok, memset(d.labels[0].value, 'v', sizeof(d.labels[0].value)); /* no NUL */
	check_error(&d, "label.team: value longer than 128 bytes");
	d = ok, strcpy(d.labels[0].value, "a#b");
	check_error(&d, "label.team: '#' in value");
	d = ok, strcpy(d.labels[0].value, " a");
	check_error(&d, "label.team: blank at the start or end of value");
	d = ok, strcpy(d.labels[0].value, "a ");
	check_error(&d, "label.team: blank at the start or end of value");
	d = ok, strcpy(d.labels[0].value, " ");
	check_error(&d, "label.team: blank at the start or end of value");
	d = ok, strcpy(d.labels[0].value, "\xff");
	check_error(&d, "label.team: value is not valid UTF-8");
	d = ok, strcpy(d.labels[0].value, "a\tb");
	check_error(&d, "label.team: control character in value");
	d = ok, add_label(&d, "team", "again");
	check_error(&d, "label.team: set twice");

	d = ok, d.count = 61;
	check_error(&d, "(count - 1) * interval (60 s) must be less than period (60 s)");
	d = ok, d.kind = MONDEF_TRACE, d.first_ttl = 31;
	check_error(&d, "first_ttl (31) must not exceed max_ttl (30)");
}
END_TEST

START_TEST(test_set_ops)
{
	struct mondef_set set = { 0 };
	struct mondef one = make("x", "localhost"), d;
	struct mondef_set full = { .items = &one, .n = MONDEF_SET_MAX, .cap = MONDEF_SET_MAX };
	char name[16];

	ck_assert_ptr_null(mondef_set_find(&set, "a"));
	ck_assert_int_eq(mondef_set_remove(&set, "a"), -ENOENT);
	d = make("a", "192.0.2.1");
	ck_assert_int_eq(mondef_set_add(&set, &d), 0);
	d = make("b", "192.0.2.2");
	ck_assert_int_eq(mondef_set_add(&set, &d), 0);
	d = make("c", "192.0.2.3");
	ck_assert_int_eq(mondef_set_add(&set, &d), 0);
	d = make("a", "192.0.2.9");
	ck_assert_int_eq(mondef_set_add(&set, &d), -EEXIST);
	ck_assert_uint_eq(set.n, 3);
	ck_assert_str_eq(mondef_set_find(&set, "a")->target, "192.0.2.1");
	ck_assert_ptr_eq(mondef_set_find(&set, "b"), &set.items[1]);
	ck_assert_ptr_null(mondef_set_find(&set, "B"));
	/* The added monitor is a copy. */
	d = make("b", "192.0.2.2");
	ck_assert(mondef_equal(mondef_set_find(&set, "b"), &d));
	strcpy(d.target, "changed");
	ck_assert_str_eq(mondef_set_find(&set, "b")->target, "192.0.2.2");
	/* Removal keeps the order of the rest; a name removed can come back, at the end. */
	ck_assert_int_eq(mondef_set_remove(&set, "b"), 0);
	ck_assert_uint_eq(set.n, 2);
	ck_assert_str_eq(set.items[0].name, "a");
	ck_assert_str_eq(set.items[1].name, "c");
	ck_assert_int_eq(mondef_set_remove(&set, "b"), -ENOENT);
	d = make("b", "192.0.2.2");
	ck_assert_int_eq(mondef_set_add(&set, &d), 0);
	ck_assert_str_eq(set.items[2].name, "b");
	ck_assert_int_eq(mondef_set_remove(&set, "b"), 0); /* the last one */
	ck_assert_int_eq(mondef_set_remove(&set, "a"), 0); /* the first one */
	ck_assert_uint_eq(set.n, 1);
	ck_assert_str_eq(set.items[0].name, "c");
	/* Growth past the first allocation. */
	for (int i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "m%d", i);
		d = make(name, "localhost");
		ck_assert_int_eq(mondef_set_add(&set, &d), 0);
	}
	ck_assert_uint_eq(set.n, 101);
	ck_assert_str_eq(mondef_set_find(&set, "m99")->name, "m99");
	ck_assert_str_eq(set.items[100].name, "m99");
	mondef_set_free(&set);
	ck_assert_ptr_null(set.items);
	ck_assert_uint_eq(set.n, 0);
	ck_assert_uint_eq(set.cap, 0);
	mondef_set_free(&set);
	mondef_set_free(NULL);
	/* A full set takes no more (checked before anything is read). */
	d = make("new", "localhost");
	ck_assert_int_eq(mondef_set_add(&full, &d), -ENOSPC);
}
END_TEST

/* Write content into dir/name. */
static void write_file(const char *dir, const char *name, const char *content, size_t len)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(content, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
}

/* Write a string into dir/name. */
static void write_text(const char *dir, const char *name, const char *text)
{
	write_file(dir, name, text, strlen(text));
}

/* Remove dir/name. */
static void remove_file(const char *dir, const char *name)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	ck_assert_msg(remove(path) == 0, "%s", path);
}

/* Assert that loading dir into set fails with r and exactly the message fmt, ... */
static void expect_load_error(struct mondef_set *set, const char *dir, int r, const char *fmt,
			      ...) __attribute__((format(printf, 4, 5)));
static void expect_load_error(struct mondef_set *set, const char *dir, int r, const char *fmt,
			      ...)
{
	char err[MONDEF_ERR_MAX], want[MONDEF_ERR_MAX];
	size_t n = set->n;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(want, sizeof(want), fmt, ap);
	va_end(ap);
	ck_assert_int_eq(mondef_load_dir(set, dir, err), r);
	ck_assert_str_eq(err, want);
	ck_assert_uint_eq(set->n, n);
}

START_TEST(test_load_dir)
{
	char dir[] = "/tmp/test-mondef-XXXXXX", path[600], err[MONDEF_ERR_MAX] = "untouched";
	struct mondef_set set = { 0 };
	size_t big = 1024 * 1024 + 1;
	char *text;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	/* Missing: nothing, no error.  Empty: the same. */
	snprintf(path, sizeof(path), "%s/missing", dir);
	ck_assert_int_eq(mondef_load_dir(&set, path, err), 0);
	ck_assert_int_eq(mondef_load_dir(&set, dir, err), 0);
	ck_assert_str_eq(err, "untouched");
	ck_assert_uint_eq(set.n, 0);

	write_text(dir, "b.conf", "[m2]\ntarget = 192.0.2.2\n");
	write_text(dir, "a.conf", "# first\n[m1]\ntarget = 192.0.2.1\n[m3]\ntarget = localhost\n");
	write_text(dir, "B.conf", "[m0]\ntarget = ::1\n"); /* 'B' < 'a' for strcmp */
	write_text(dir, "c.txt", "garbage\n");
	write_text(dir, "a.conf~", "garbage\n");
	write_text(dir, "a.conf.bak", "garbage\n");
	write_text(dir, ".hidden.conf", "garbage\n");
	snprintf(path, sizeof(path), "%s/sub.conf", dir);
	ck_assert_int_eq(mkdir(path, 0700), 0);
	write_text(path, "x.conf", "garbage\n");
	ck_assert_int_eq(mondef_load_dir(&set, dir, err), 0);
	ck_assert_uint_eq(set.n, 4);
	ck_assert_str_eq(set.items[0].name, "m0");
	ck_assert_str_eq(set.items[1].name, "m1");
	ck_assert_str_eq(set.items[2].name, "m3");
	ck_assert_str_eq(set.items[3].name, "m2");
	ck_assert_str_eq(set.items[3].target, "192.0.2.2");

	/* Again into the same set: its names are taken.  With a trailing '/', one '/'. */
	expect_load_error(&set, dir, -EINVAL, "%s/B.conf:1: monitor 'm0' already defined", dir);
	snprintf(path, sizeof(path), "%s/", dir);
	ck_assert_int_eq(mondef_load_dir(&set, path, err), -EINVAL);
	snprintf(path, sizeof(path), "%s/B.conf:1: monitor 'm0' already defined", dir);
	ck_assert_str_eq(err, path);
	mondef_set_free(&set);

	/* A name in two files: both places; nothing added. */
	write_text(dir, "c.conf", "\n\n[m1]\ntarget = localhost\n");
	expect_load_error(&set, dir, -EINVAL,
			  "%s/c.conf:3: monitor 'm1' already defined at %s/a.conf:2", dir, dir);
	ck_assert_ptr_null(set.items);
	remove_file(dir, "c.conf");
	/* An error in a later file: nothing added. */
	write_text(dir, "d.conf", "[d]\ntarget = localhost\ncount = 0\n");
	expect_load_error(&set, dir, -EINVAL, "%s/d.conf:3: count: must be an integer from 1 to 100",
			  dir);
	remove_file(dir, "d.conf");
	/* 1 MiB is read, one byte more is not. */
	text = malloc(big);
	ck_assert_ptr_nonnull(text);
	memset(text, '#', big);
	write_file(dir, "e.conf", text, big - 1);
	ck_assert_int_eq(mondef_load_dir(&set, dir, err), 0);
	ck_assert_uint_eq(set.n, 4);
	mondef_set_free(&set);
	write_file(dir, "e.conf", text, big);
	expect_load_error(&set, dir, -EFBIG, "%s/e.conf: file larger than 1 MiB", dir);
	remove_file(dir, "e.conf");
	free(text);
	/* A symbolic link to a regular file is read; a dangling one is an error. */
	write_text(dir, "sub.conf/real", "[s]\ntarget = localhost\n");
	snprintf(path, sizeof(path), "%s/s.conf", dir);
	ck_assert_int_eq(symlink("sub.conf/real", path), 0);
	ck_assert_int_eq(mondef_load_dir(&set, dir, err), 0);
	ck_assert_uint_eq(set.n, 5);
	ck_assert_str_eq(set.items[4].name, "s");
	mondef_set_free(&set);
	remove_file(dir, "sub.conf/real");
	expect_load_error(&set, dir, -ENOENT, "%s/s.conf: No such file or directory", dir);
	remove_file(dir, "s.conf");
	/* Unreadable (root reads anyway). */
	if (geteuid() != 0) {
		snprintf(path, sizeof(path), "%s/a.conf", dir);
		ck_assert_int_eq(chmod(path, 0), 0);
		expect_load_error(&set, dir, -EACCES, "%s/a.conf: Permission denied", dir);
		ck_assert_int_eq(chmod(path, 0600), 0);
	}
	/* Not a directory. */
	snprintf(path, sizeof(path), "%s/c.txt", dir);
	ck_assert_int_eq(mondef_load_dir(&set, path, err), -ENOTDIR);
	strcat(path, ": Not a directory");
	ck_assert_str_eq(err, path);
	ck_assert_uint_eq(set.n, 0);

	remove_file(dir, "sub.conf/x.conf");
	remove_file(dir, "sub.conf");
	remove_file(dir, "a.conf");
	remove_file(dir, "b.conf");
	remove_file(dir, "B.conf");
	remove_file(dir, "c.txt");
	remove_file(dir, "a.conf~");
	remove_file(dir, "a.conf.bak");
	remove_file(dir, ".hidden.conf");
	ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

/* All mondef tests in one suite. */
static Suite *mondef_suite(void)
{
	Suite *s = suite_create("mondef");
	TCase *tk = tcase_create("keys");
	TCase *ts = tcase_create("syntax");
	TCase *tf = tcase_create("format");
	TCase *tl = tcase_create("set");

	tcase_add_test(tk, test_defaults);
	tcase_add_test(tk, test_example);
	tcase_add_test(tk, test_every_key);
	tcase_add_loop_test(tk, test_enum_keys, 0, (int)(sizeof(enum_cases) / sizeof(enum_cases[0])));
	tcase_add_test(tk, test_enum_errors);
	tcase_add_loop_test(tk, test_int_keys, 0, (int)(sizeof(int_keys) / sizeof(int_keys[0])));
	tcase_add_loop_test(tk, test_number_keys, 0, (int)(sizeof(num_keys) / sizeof(num_keys[0])));
	tcase_add_test(tk, test_target);
	tcase_add_test(tk, test_labels);
	tcase_add_test(tk, test_label_errors);
	tcase_add_test(tk, test_label_names);
	tcase_add_test(tk, test_cycle);
	tcase_add_test(tk, test_check);
	suite_add_tcase(s, tk);

	tcase_add_test(ts, test_syntax);
	tcase_add_test(ts, test_crlf_bom);
	tcase_add_loop_test(ts, test_bad_texts, 0, (int)(sizeof(bad_texts) / sizeof(bad_texts[0])));
	tcase_add_test(ts, test_names);
	tcase_add_test(ts, test_nul_byte);
	tcase_add_test(ts, test_length_not_nul);
	tcase_add_test(ts, test_long_lines);
	tcase_add_test(ts, test_long_name_truncated);
	tcase_add_test(ts, test_set_unchanged_on_error);
	suite_add_tcase(s, ts);

	tcase_add_test(tf, test_format_exact);
	tcase_add_test(tf, test_format_roundtrip);
	tcase_add_test(tf, test_equal);
	suite_add_tcase(s, tf);

	tcase_add_test(tl, test_set_ops);
	tcase_add_test(tl, test_load_dir);
	suite_add_tcase(s, tl);
	return s;
}

/* Run the suite; the exit status is non-zero when any test failed. */
int main(void)
{
	SRunner *sr = srunner_create(mondef_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
