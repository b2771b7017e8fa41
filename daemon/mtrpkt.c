/*
 * mtr-packet's line protocol (see docs/DESIGN.md): commands are
 * formatted only from validated numbers and canonical address text
 * (addrfmt.c: inet_ntop()'s bytes, without stdio), so no byte
 * the daemon did not check ever reaches mtr-packet; reply lines are parsed
 * strictly where the daemon reads a value and liberally about NAME VALUE
 * pairs it does not know.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "addrfmt.h"
#include "mtrpkt.h"

/* mtr-packet's own line buffer: longer reply lines are garbage. */
#define REPLY_LINE_MAX 4096
/* Longest NAME in a reply's NAME VALUE pairs. */
#define REPLY_NAME_MAX 32
/* Longest timeout the daemon asks mtr-packet for, in seconds. */
#define TIMEOUT_S_MAX 86400
/* Largest MPLS label (20 bits). */
#define MPLS_LABEL_MAX 0xfffff

/* A piece of a reply line: not NUL-terminated. */
struct span {
	const char *p;
	size_t len;
};

/* Whether c is in [a-z0-9-]. */
static bool word_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

/* Whether s is 1..max characters from [a-z0-9-] (plus '.' when dot). */
static bool word_ok(const char *s, size_t len, size_t max, bool dot)
{
	if (len < 1 || len > max)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!word_char(s[i]) && !(dot && s[i] == '.'))
			return false;
	return true;
}

/* Whether the span equals the NUL-terminated s. */
static bool span_is(struct span w, const char *s)
{
	return w.len == strlen(s) && memcmp(w.p, s, w.len) == 0;
}

/* Parse a span of 1..max_digits decimal digits no greater than max. */
static int parse_uint(struct span w, size_t max_digits, unsigned long long max,
		      unsigned long long *ret)
{
	unsigned long long n = 0;

	if (w.len < 1 || w.len > max_digits)
		return -EINVAL;
	for (size_t i = 0; i < w.len; i++) {
		if (w.p[i] < '0' || w.p[i] > '9')
			return -EINVAL;
		n = n * 10 + (unsigned long long)(w.p[i] - '0');
	}
	if (n > max)
		return -EINVAL;
	*ret = n;
	return 0;
}

/*
 * Canonical form of the address s (len bytes) of ip_version into out
 * (MP_ADDR_MAX): inet_ntop() of inet_pton(), done without either (this
 * runs for every probe and every reply).  -EINVAL for anything but an
 * address of that version (empty, too long, holding a NUL, ...).
 */
static int canon_addr(int ip_version, const char *s, size_t len, char *out)
{
	return addr_canon(ip_version, s, len, out);
}

/* Canonical form of a NUL-terminated address field of a command. */
static int canon_field(int ip_version, const char field[MP_ADDR_MAX], char *out)
{
	const char *nul = memchr(field, '\0', MP_ADDR_MAX);

	if (!nul)
		return -EINVAL;
	return canon_addr(ip_version, field, (size_t)(nul - field), out);
}

/* Whether v is in [min, max]. */
static bool in_range(long long v, long long min, long long max)
{
	return v >= min && v <= max;
}

/* Check every numeric field of a send-probe command. */
static int check_probe_numbers(const struct mtrpkt_probe_cmd *cmd)
{
	if (!in_range(cmd->token, 1, INT32_MAX) ||
	    (unsigned)cmd->protocol >= MP_PROTO__COUNT || !in_range(cmd->ttl, 0, 255) ||
	    !in_range(cmd->port, 0, 65535) || !in_range(cmd->local_port, 0, 65535) ||
	    !(cmd->size == -1 || in_range(cmd->size, 0, MP_SIZE_MAX)) ||
	    !in_range(cmd->bit_pattern, 0, 255) || !in_range(cmd->tos, 0, 255) ||
	    !(cmd->mark == -1 || in_range(cmd->mark, 0, UINT32_MAX)) ||
	    !in_range(cmd->timeout_s, 1, TIMEOUT_S_MAX))
		return -EINVAL;
	/* ICMP has no ports; mtr-packet would ignore them silently. */
	if (cmd->protocol == MP_PROTO_ICMP && (cmd->port || cmd->local_port))
		return -EINVAL;
	return 0;
}

/* Copy the formatted line tmp (length n, or < 0 on error) to buf. */
static int emit(char *buf, size_t buflen, const char *tmp, int n)
{
	if (n < 0 || n >= MTRPKT_CMD_MAX)
		return -EINVAL;
	if (!buf || (size_t)n + 1 > buflen)
		return -ENOSPC;
	memcpy(buf, tmp, (size_t)n + 1);
	return n;
}

/*
 * Append a string to tmp at *pos (MTRPKT_CMD_MAX bytes); *pos becomes -1
 * once it does not fit.  Hand-rolled: this runs for every probe.
 */
static void put_str(char *tmp, int *pos, const char *s)
{
	size_t n = strlen(s);

	if (*pos < 0 || (size_t)*pos + n >= MTRPKT_CMD_MAX) {
		*pos = -1;
		return;
	}
	memcpy(tmp + *pos, s, n + 1);
	*pos += (int)n;
}

/* Append a non-negative integer in decimal. */
static void put_uint(char *tmp, int *pos, unsigned long long v)
{
	char digits[24], *d = digits + sizeof(digits);

	*--d = '\0';
	do {
		*--d = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0);
	put_str(tmp, pos, d);
}

/* Append " NAME VALUE" with a non-negative integer value. */
static void put_arg(char *tmp, int *pos, const char *name, unsigned long long v)
{
	put_str(tmp, pos, " ");
	put_str(tmp, pos, name);
	put_str(tmp, pos, " ");
	put_uint(tmp, pos, v);
}


/* Format a send-probe command. */
int mtrpkt_format_probe(char *buf, size_t buflen, const struct mtrpkt_probe_cmd *cmd)
{
	char tmp[MTRPKT_CMD_MAX], addr[MP_ADDR_MAX], local[MP_ADDR_MAX];
	int v, pos = 0;

	if (!cmd || check_probe_numbers(cmd) < 0)
		return -EINVAL;
	v = cmd->ip_version;
	if (canon_field(v, cmd->address, addr) < 0)
		return -EINVAL;
	if (cmd->local_ip[0] && canon_field(v, cmd->local_ip, local) < 0)
		return -EINVAL;

	/* Every number was range-checked above: none is negative. */
	put_uint(tmp, &pos, cmd->token);
	put_str(tmp, &pos, v == 4 ? " send-probe ip-4 " : " send-probe ip-6 ");
	put_str(tmp, &pos, addr);
	if (cmd->local_ip[0]) {
		put_str(tmp, &pos, v == 4 ? " local-ip-4 " : " local-ip-6 ");
		put_str(tmp, &pos, local);
	}
	put_str(tmp, &pos, " protocol ");
	put_str(tmp, &pos, mp_protocol_name(cmd->protocol));
	if (cmd->port)
		put_arg(tmp, &pos, "port", (unsigned)cmd->port);
	if (cmd->local_port)
		put_arg(tmp, &pos, "local-port", (unsigned)cmd->local_port);
	put_arg(tmp, &pos, "ttl", (unsigned)cmd->ttl);
	if (cmd->size >= 0)
		put_arg(tmp, &pos, "size", (unsigned)cmd->size);
	put_arg(tmp, &pos, "bit-pattern", (unsigned)cmd->bit_pattern);
	put_arg(tmp, &pos, "tos", (unsigned)cmd->tos);
	if (cmd->mark >= 0)
		put_arg(tmp, &pos, "mark", (unsigned long long)cmd->mark);
	put_arg(tmp, &pos, "timeout", (unsigned)cmd->timeout_s);
	put_str(tmp, &pos, "\n");
	return emit(buf, buflen, tmp, pos);
}

/* Format a check-support command. */
int mtrpkt_format_check_support(char *buf, size_t buflen, uint32_t token, const char *feature)
{
	char tmp[MTRPKT_CMD_MAX];
	size_t len;

	if (!feature || !in_range(token, 1, INT32_MAX))
		return -EINVAL;
	len = strnlen(feature, MP_FEATURE_MAX + 1);
	if (!word_ok(feature, len, MP_FEATURE_MAX, false))
		return -EINVAL;
	return emit(buf, buflen, tmp,
		    snprintf(tmp, sizeof(tmp), "%u check-support feature %s\n", (unsigned)token,
			     feature));
}

/* The next space-separated word of [*p, end) into w; false at the end. */
static bool next_word(const char **p, const char *end, struct span *w)
{
	const char *s = *p;

	while (s < end && *s == ' ')
		s++;
	if (s == end)
		return false;
	w->p = s;
	while (s < end && *s != ' ')
		s++;
	w->len = (size_t)(s - w->p);
	*p = s;
	return true;
}

/* Largest value of each element of an MPLS group, by position. */
static const unsigned long long mpls_max[4] = { MPLS_LABEL_MAX, 7, 1, 255 };

/* Store element i (position i % 4) of an MPLS list in out. */
static void mpls_store(struct mtrpkt_reply *out, size_t i, unsigned long long n)
{
	struct mp_mpls *m;

	if (i / 4 >= MP_MPLS_MAX)
		return;
	m = &out->mpls[i / 4];
	switch (i % 4) {
	case 0:
		m->label = (uint32_t)n;
		break;
	case 1:
		m->traffic_class = (int)n;
		break;
	case 2:
		m->bottom_of_stack = n == 1;
		break;
	default:
		m->ttl = (int)n;
		break;
	}
}

/* Parse "L,TC,S,TTL,...": whole groups kept (at most MP_MPLS_MAX), a partial one dropped. */
static int parse_mpls(struct span v, struct mtrpkt_reply *out)
{
	const char *p = v.p, *end = v.p + v.len;
	size_t i = 0;

	for (;; i++) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		struct span e = { p, (size_t)((comma ? comma : end) - p) };
		unsigned long long n;

		if (parse_uint(e, 10, mpls_max[i % 4], &n) < 0)
			return -EINVAL;
		mpls_store(out, i, n);
		if (!comma)
			break;
		p = comma + 1;
	}
	out->mpls_count = (int)((i + 1) / 4 > MP_MPLS_MAX ? MP_MPLS_MAX : (i + 1) / 4);
	return 0;
}

/* Copy a span into a NUL-terminated buffer of size MP_RESULT_MAX + 1. */
static void span_copy(char dst[MP_RESULT_MAX + 1], struct span w)
{
	memcpy(dst, w.p, w.len);
	dst[w.len] = '\0';
}

/* What NAME VALUE pairs a reply carried, for the shape checks. */
struct reply_seen {
	bool addr, rtt, mpls, err_no, reason, support;
};

/* Read one NAME VALUE pair into out; unknown names are ignored. */
static int parse_pair(struct span name, struct span value, struct mtrpkt_reply *out,
		      struct reply_seen *seen)
{
	unsigned long long n;

	if (!word_ok(name.p, name.len, REPLY_NAME_MAX, false))
		return -EINVAL;
	if (span_is(name, "ip-4") || span_is(name, "ip-6")) {
		if (seen->addr)
			return -EINVAL;
		seen->addr = true;
		out->ip_version = name.p[3] == '4' ? 4 : 6;
		return canon_addr(out->ip_version, value.p, value.len, out->address);
	}
	if (span_is(name, "round-trip-time")) {
		if (seen->rtt || parse_uint(value, 18, LONG_MAX, &n) < 0)
			return -EINVAL;
		seen->rtt = true;
		out->rtt_us = (long)n;
		return 0;
	}
	if (span_is(name, "mpls")) {
		if (seen->mpls)
			return -EINVAL;
		seen->mpls = true;
		return parse_mpls(value, out);
	}
	if (span_is(name, "errno")) {
		if (seen->err_no || parse_uint(value, 10, INT32_MAX, &n) < 0)
			return -EINVAL;
		seen->err_no = true;
		out->err_no = (int)n;
		return 0;
	}
	if (span_is(name, "reason")) {
		if (seen->reason || !word_ok(value.p, value.len, MP_RESULT_MAX, false))
			return -EINVAL;
		seen->reason = true;
		span_copy(out->reason, value);
		return 0;
	}
	if (span_is(name, "support")) {
		if (seen->support || !word_ok(value.p, value.len, MP_RESULT_MAX, true))
			return -EINVAL;
		seen->support = true;
		span_copy(out->support, value);
		return 0;
	}
	return 0;
}

/* Whether the reply word w is one of the NULL-terminated names. */
static bool word_in(const char *w, const char *const *names)
{
	for (; *names; names++)
		if (strcmp(w, *names) == 0)
			return true;
	return false;
}

/* Set out->kind from the word and check the pairs each word requires. */
static int check_shape(struct mtrpkt_reply *out, const struct reply_seen *seen)
{
	static const char *const command_errors[] = { "unknown-command", "command-parse-error",
						      "command-buffer-overflow", NULL };
	static const char *const with_addr[] = { "reply", "ttl-expired", NULL };
	const char *w = out->word;

	/* An address and a round-trip time come together or not at all. */
	if (seen->addr != seen->rtt)
		return -EINVAL;
	/* MPLS labels only describe an answer from an address. */
	if (seen->mpls && !seen->addr)
		return -EINVAL;

	out->kind = MTRPKT_REPLY_RESULT;
	if (word_in(w, command_errors))
		out->kind = MTRPKT_REPLY_COMMAND_ERROR;
	else if (strcmp(w, "probes-exhausted") == 0)
		out->kind = MTRPKT_REPLY_EXHAUSTED;
	else if (strcmp(w, "feature-support") == 0) {
		out->kind = MTRPKT_REPLY_FEATURE;
		if (!seen->support)
			return -EINVAL;
	} else if (word_in(w, with_addr) && !seen->addr)
		return -EINVAL;
	else if (strcmp(w, "unexpected-error") == 0 && !seen->err_no)
		return -EINVAL;
	return 0;
}

/* Parse one reply line into out, which the caller has reset. */
static int parse_reply(const char *line, size_t len, struct mtrpkt_reply *out)
{
	struct reply_seen seen = { 0 };
	struct span w, name, value;
	unsigned long long token;
	const char *p, *end;

	if (!line || len > REPLY_LINE_MAX)
		return -EINVAL;
	p = line;
	end = line + len;
	/* Only printable ASCII and spaces: this also rejects NUL, '\r' and '\n'. */
	for (size_t i = 0; i < len; i++)
		if (line[i] < 0x20 || line[i] > 0x7e)
			return -EINVAL;

	if (!next_word(&p, end, &w) || parse_uint(w, 10, INT32_MAX, &token) < 0)
		return -EINVAL;
	out->token = (uint32_t)token;
	/* Every reply word starts with a letter; "7 8" or "7 -" is garbage. */
	if (!next_word(&p, end, &w) || !word_ok(w.p, w.len, MP_RESULT_MAX, false) ||
	    w.p[0] < 'a' || w.p[0] > 'z')
		return -EINVAL;
	span_copy(out->word, w);

	while (next_word(&p, end, &name)) {
		if (!next_word(&p, end, &value) || parse_pair(name, value, out, &seen) < 0)
			return -EINVAL;
	}
	return check_shape(out, &seen);
}

/* Reset a reply to "nothing parsed". */
static void reply_reset(struct mtrpkt_reply *out)
{
	memset(out, 0, sizeof(*out));
	out->rtt_us = -1;
}

/* Parse one reply line; on error *out is left reset. */
int mtrpkt_parse_reply(const char *line, size_t len, struct mtrpkt_reply *out)
{
	int r;

	if (!out)
		return -EINVAL;
	reply_reset(out);
	r = parse_reply(line, len, out);
	if (r < 0)
		reply_reset(out);
	return r;
}
