/*
 * Request decoder: NDJSON request lines into struct mp_request (the
 * answers are encoded by encode.c).  Pure: no I/O, no logging, no global
 * state.
 *
 * Decoding order, so that the error reported is deterministic:
 *   1. the line (empty, JSON syntax, UTF-8, duplicate keys)  -> bad-request
 *   2. not an object                                          -> bad-request
 *   3. "id" (read first, so later errors can echo it)         -> bad-request
 *   4. "op" missing or not a string                           -> bad-request
 *   5. "op" not an operation                                  -> unknown-op
 *   6. the first key, in input order, that the op does not
 *      take                                                   -> invalid-argument
 *   7. each field in the order of the tables of PROTOCOL.md   -> invalid-argument
 *
 * A duplicate key is a JSON syntax error for jansson, so that request is
 * answered with a null id even when "id" itself was well formed.
 */
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jscan.h"
#include "monjson.h"
#include "proto.h"

/* Operations as a bit mask, for the table of fields. */
#define OPS(op) (1u << (op))
#define OPS_PROBE (OPS(MP_OP_PROBE) | OPS(MP_OP_TRACE))
#define OPS_PROBE_ONLY OPS(MP_OP_PROBE)
#define OPS_TRACE OPS(MP_OP_TRACE)
#define OPS_FEATURE OPS(MP_OP_CHECK_SUPPORT)
#define OPS_MONITOR_NAME (OPS(MP_OP_MONITOR_REMOVE) | OPS(MP_OP_MONITOR_SHOW))

#define TRACE_FIRST_TTL_DEFAULT 1
#define TRACE_MAX_TTL_DEFAULT 30
#define TRACE_COUNT_DEFAULT 1
#define TRACE_INTERVAL_DEFAULT 1.0

/* Longest field name quoted in an "unknown field" message. */
#define FIELD_NAME_QUOTE_MAX 64

/* One request field: where it is allowed, how it is checked, where it goes. */
struct field {
	const char *name;
	unsigned ops;
	int (*parse)(const struct field *f, const struct jv *v, struct mp_request *req,
		     char *errmsg);
	long long min;
	long long max;
	size_t offset; /* into struct mp_request */
};

/* Write a printf-style message into errmsg (always NUL-terminated). */
static int __attribute__((format(printf, 2, 3))) set_errmsg(char *errmsg, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(errmsg, MP_ERRMSG_MAX, fmt, ap);
	va_end(ap);
	return -1;
}

/* Copy src into dst (size n) replacing bytes that are not printable ASCII. */
static void copy_printable(char *dst, size_t n, const char *src)
{
	size_t i;

	for (i = 0; i + 1 < n && src[i]; i++)
		dst[i] = src[i] >= 0x20 && src[i] <= 0x7e ? src[i] : '?';
	dst[i] = '\0';
}

/* Length of at most max bytes of the UTF-8 string s (len bytes), cut at a character boundary. */
static size_t utf8_prefix_len(const char *s, size_t len, size_t max)
{
	if (len <= max)
		return len;
	len = max;
	while (len > 0 && ((unsigned char)s[len] & 0xc0) == 0x80)
		len--;
	return len;
}

/* Longest name lookup_n() looks up: longer strings name nothing. */
#define NAME_MAX_LEN 31

/* The index of the name in string v through lookup (of a NUL-terminated name), or -1. */
static int lookup_n(int (*lookup)(const char *), const struct jv *v)
{
	char name[NAME_MAX_LEN + 1];

	if (v->len > NAME_MAX_LEN || memchr(v->s, '\0', v->len))
		return -1;
	memcpy(name, v->s, v->len);
	name[v->len] = '\0';
	return lookup(name);
}

/* Pointer to the int member of req at offset. */
static int *req_int(struct mp_request *req, size_t offset)
{
	return (int *)(void *)((char *)req + offset);
}

/* Read an integer field in [f->min, f->max] into an int member. */
static int parse_int(const struct field *f, const struct jv *v, struct mp_request *req, char *errmsg)
{
	long long n;

	if (!v)
		return 0;
	if (v->type != JV_INT || (n = v->i) < f->min || n > f->max)
		return set_errmsg(errmsg, "%s: must be an integer from %lld to %lld", f->name,
				  f->min, f->max);
	*req_int(req, f->offset) = (int)n;
	return 0;
}

/* Read "mark", which needs 64 bits. */
static int parse_mark(const struct field *f, const struct jv *v, struct mp_request *req, char *errmsg)
{
	long long n;

	if (!v)
		return 0;
	if (v->type != JV_INT || (n = v->i) < f->min || n > f->max)
		return set_errmsg(errmsg, "%s: must be an integer from %lld to %lld", f->name,
				  f->min, f->max);
	req->probe.mark = n;
	return 0;
}

/* Read "port" or "local_port": an integer, not allowed with ICMP. */
static int parse_port(const struct field *f, const struct jv *v, struct mp_request *req, char *errmsg)
{
	if (v && req->probe.protocol == MP_PROTO_ICMP)
		return set_errmsg(errmsg, "%s: not allowed with protocol icmp", f->name);
	return parse_int(f, v, req, errmsg);
}

/* Read "ip_version": 4 or 6. */
static int parse_ip_version(const struct field *f, const struct jv *v, struct mp_request *req,
			    char *errmsg)
{
	long long n;

	if (!v)
		return 0;
	if (v->type != JV_INT || ((n = v->i) != 4 && n != 6))
		return set_errmsg(errmsg, "%s: must be 4 or 6", f->name);
	req->probe.ip_version = (int)n;
	return 0;
}

/* Read "protocol": one of the protocol names. */
static int parse_protocol(const struct field *f, const struct jv *v, struct mp_request *req,
			  char *errmsg)
{
	int proto;

	if (!v)
		return 0;
	if (v->type != JV_STRING || (proto = lookup_n(mp_protocol_from_name, v)) < 0)
		return set_errmsg(errmsg, "%s: must be one of icmp, udp, tcp, sctp", f->name);
	req->probe.protocol = (enum mp_protocol)proto;
	return 0;
}

/*
 * Whether c may appear in a hostname or an IP literal.  '_' is allowed
 * because real DNS names carry it.  '%' (an IPv6 zone such as fe80::1%eth0)
 * is rejected: mtr-packet takes no zone, so such a probe could not be sent
 * to the address the client meant.
 */
static bool host_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '-' || c == '_' || c == ':';
}

/* Check a host-like string field and copy it into dst (MP_HOST_MAX + 1 bytes). */
static int parse_hostlike(const struct field *f, const struct jv *v, char *dst, char *errmsg)
{
	const char *s;
	size_t len;

	if (v->type != JV_STRING)
		return set_errmsg(errmsg, "%s: must be a string", f->name);
	s = v->s;
	len = v->len;
	if (len < 1 || len > MP_HOST_MAX)
		return set_errmsg(errmsg, "%s: must be 1 to %d bytes long", f->name, MP_HOST_MAX);
	for (size_t i = 0; i < len; i++)
		if (!host_char_ok(s[i]))
			return set_errmsg(errmsg,
					  "%s: must be a hostname or an IP address "
					  "(letters, digits, '.', '-', '_', ':')",
					  f->name);
	memcpy(dst, s, len);
	dst[len] = '\0';
	return 0;
}

/* Read "host", required. */
static int parse_host(const struct field *f, const struct jv *v, struct mp_request *req, char *errmsg)
{
	if (!v)
		return set_errmsg(errmsg, "%s: required", f->name);
	return parse_hostlike(f, v, req->probe.host, errmsg);
}

/* Read "local_ip", optional. */
static int parse_local_ip(const struct field *f, const struct jv *v, struct mp_request *req,
			  char *errmsg)
{
	if (!v)
		return 0;
	return parse_hostlike(f, v, req->probe.local_ip, errmsg);
}

/* Read a JSON number (integer or real) in [min, max], or (min, max] if open_min. */
static int read_number(const struct jv *v, double min, double max, bool open_min, double *ret)
{
	double d;

	if (v->type != JV_INT && v->type != JV_REAL)
		return -1;
	d = v->type == JV_INT ? (double)v->i : v->d;
	if (!isfinite(d) || d < min || (open_min && d <= min) || d > max)
		return -1;
	*ret = d;
	return 0;
}

/* Read "timeout": > 0 and <= 3600 seconds. */
static int parse_timeout(const struct field *f, const struct jv *v, struct mp_request *req,
			 char *errmsg)
{
	if (!v)
		return 0;
	if (read_number(v, 0.0, MP_TIMEOUT_MAX, true, &req->probe.timeout) < 0)
		return set_errmsg(errmsg, "%s: must be a number greater than 0 and at most %g",
				  f->name, MP_TIMEOUT_MAX);
	return 0;
}

/* Read "interval": 0 to 3600 seconds. */
static int parse_interval(const struct field *f, const struct jv *v, struct mp_request *req,
			  char *errmsg)
{
	if (!v)
		return 0;
	if (read_number(v, (double)f->min, (double)f->max, false, &req->trace.interval) < 0)
		return set_errmsg(errmsg, "%s: must be a number from %lld to %lld", f->name, f->min,
				  f->max);
	return 0;
}

/*
 * Read "max_ttl": first_ttl to 255.  When it is absent its default (30)
 * must still not be below first_ttl; that is reported on first_ttl, the
 * field the client gave.
 */
static int parse_max_ttl(const struct field *f, const struct jv *v, struct mp_request *req,
			 char *errmsg)
{
	long long n;

	if (!v) {
		if (req->trace.first_ttl > req->trace.max_ttl)
			return set_errmsg(errmsg,
					  "first_ttl: must not exceed max_ttl (default %d)",
					  req->trace.max_ttl);
		return 0;
	}
	if (v->type != JV_INT || (n = v->i) < req->trace.first_ttl ||
	    n > f->max)
		return set_errmsg(errmsg, "%s: must be an integer from first_ttl (%d) to %lld",
				  f->name, req->trace.first_ttl, f->max);
	req->trace.max_ttl = (int)n;
	return 0;
}

/* Read "stream": a boolean. */
static int parse_stream(const struct field *f, const struct jv *v, struct mp_request *req,
			char *errmsg)
{
	if (!v)
		return 0;
	if (v->type != JV_TRUE && v->type != JV_FALSE)
		return set_errmsg(errmsg, "%s: must be true or false", f->name);
	req->trace.stream = v->type == JV_TRUE;
	return 0;
}

/* Whether s (length len) is 1-32 characters from [a-z0-9-]. */
static bool feature_ok(const char *s, size_t len)
{
	if (len < 1 || len > MP_FEATURE_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return false;
	return true;
}

/* Read "feature", required. */
static int parse_feature(const struct field *f, const struct jv *v, struct mp_request *req,
			 char *errmsg)
{
	if (!v)
		return set_errmsg(errmsg, "%s: required", f->name);
	if (v->type != JV_STRING || !feature_ok(v->s, v->len))
		return set_errmsg(errmsg, "%s: must be a string of 1 to %d characters from [a-z0-9-]",
				  f->name, MP_FEATURE_MAX);
	memcpy(req->feature, v->s, v->len);
	req->feature[v->len] = '\0';
	return 0;
}

/* monitor_add's definition: an object, read by the definition parser. */
static int parse_monitor(const struct field *f, const struct jv *v, struct mp_request *req,
			 char *errmsg)
{
	char err[MONDEF_ERR_MAX];

	if (!v)
		return set_errmsg(errmsg, "%s: required", f->name);
	if (v->type != JV_OBJECT)
		return set_errmsg(errmsg, "%s: must be an object", f->name);
	req->monitor = malloc(sizeof(*req->monitor));
	if (!req->monitor)
		return set_errmsg(errmsg, "monitor: out of memory");
	if (monjson_read(v->obj, req->monitor, err) < 0) {
		free(req->monitor);
		req->monitor = NULL;
		return set_errmsg(errmsg, "%s", err);
	}
	return 0;
}

/* A monitor's name (monitor_remove, monitor_show: required, min 1; monitor_events: optional). */
static int parse_monitor_name(const struct field *f, const struct jv *v, struct mp_request *req,
			      char *errmsg)
{
	if (!v && !f->min)
		return 0; /* optional: every monitor */
	if (!v)
		return set_errmsg(errmsg, "%s: required", f->name);
	if (v->type != JV_STRING || v->len < 1 || v->len > MP_MONITOR_NAME_MAX ||
	    memchr(v->s, '\0', v->len))
		return set_errmsg(errmsg, "%s: must be a monitor's name", f->name);
	memcpy(req->monitor_name, v->s, v->len);
	req->monitor_name[v->len] = '\0';
	return 0;
}

#define PROBE_OFF(m) offsetof(struct mp_request, probe.m)
#define TRACE_OFF(m) offsetof(struct mp_request, trace.m)

/*
 * Every field, in the order of PROTOCOL.md's tables: the order in which they
 * are checked.  "ttl" belongs to probe only: a trace sets its TTLs with
 * first_ttl and max_ttl (PROTOCOL.md's trace table has no "ttl").
 */
static const struct field fields[] = {
	{ "host", OPS_PROBE, parse_host, 0, 0, 0 },
	{ "ip_version", OPS_PROBE, parse_ip_version, 4, 6, 0 },
	{ "ttl", OPS_PROBE_ONLY, parse_int, 0, 255, PROBE_OFF(ttl) },
	{ "protocol", OPS_PROBE, parse_protocol, 0, 0, 0 },
	{ "port", OPS_PROBE, parse_port, 1, 65535, PROBE_OFF(port) },
	{ "local_ip", OPS_PROBE, parse_local_ip, 0, 0, 0 },
	{ "local_port", OPS_PROBE, parse_port, 1, 65535, PROBE_OFF(local_port) },
	{ "timeout", OPS_PROBE, parse_timeout, 0, 0, 0 },
	{ "size", OPS_PROBE, parse_int, 0, MP_SIZE_MAX, PROBE_OFF(size) },
	{ "bit_pattern", OPS_PROBE, parse_int, 0, 255, PROBE_OFF(bit_pattern) },
	{ "tos", OPS_PROBE, parse_int, 0, 255, PROBE_OFF(tos) },
	{ "mark", OPS_PROBE, parse_mark, 0, 4294967295LL, 0 },
	{ "first_ttl", OPS_TRACE, parse_int, 1, 255, TRACE_OFF(first_ttl) },
	{ "max_ttl", OPS_TRACE, parse_max_ttl, 1, 255, 0 },
	{ "count", OPS_TRACE, parse_int, 1, 1000, TRACE_OFF(count) },
	{ "interval", OPS_TRACE, parse_interval, 0, 3600, 0 },
	{ "stream", OPS_TRACE, parse_stream, 0, 0, 0 },
	{ "feature", OPS_FEATURE, parse_feature, 0, 0, 0 },
	{ "monitor", OPS(MP_OP_MONITOR_ADD), parse_monitor, 0, 0, 0 },
	{ "name", OPS_MONITOR_NAME, parse_monitor_name, 1, 0, 0 },
	{ "name", OPS(MP_OP_MONITOR_EVENTS), parse_monitor_name, 0, 0, 0 },
};

/* Set the defaults of op's options. */
static void request_defaults(struct mp_request *req)
{
	double timeout = req->op == MP_OP_TRACE ? MP_TRACE_TIMEOUT_DEFAULT
						: MP_PROBE_TIMEOUT_DEFAULT;

	mp_probe_opts_init(&req->probe, timeout);
	req->trace.first_ttl = TRACE_FIRST_TTL_DEFAULT;
	req->trace.max_ttl = TRACE_MAX_TTL_DEFAULT;
	req->trace.count = TRACE_COUNT_DEFAULT;
	req->trace.interval = TRACE_INTERVAL_DEFAULT;
	req->trace.stream = false;
}

/* An object's members in input order, from the scanner or from jansson. */
struct members {
	const struct jpair *pairs;
	size_t n;
};

/* The value of the member key, or NULL. */
static const struct jv *member(const struct members *m, const char *key)
{
	size_t len = strlen(key);

	for (size_t i = 0; i < m->n; i++)
		if (m->pairs[i].key_len == len && memcmp(m->pairs[i].key, key, len) == 0)
			return &m->pairs[i].v;
	return NULL;
}

/* Read "id" into req->id: absent, null, an integer or a string. */
static enum mp_error decode_id(const struct members *m, struct mp_request *req, char *errmsg)
{
	const struct jv *v = member(m, "id");

	if (!v || v->type == JV_NULL)
		return MP_OK;
	if (v->type == JV_INT) {
		req->id.kind = MP_ID_INT;
		req->id.num = v->i;
		return MP_OK;
	}
	if (v->type == JV_STRING) {
		char *s = malloc(v->len + 1);

		/* Out of memory: the request cannot be served as sent. */
		if (!s) {
			set_errmsg(errmsg, "id: out of memory");
			return MP_ERR_BAD_REQUEST;
		}
		memcpy(s, v->s, v->len);
		s[v->len] = '\0';
		req->id.kind = MP_ID_STRING;
		req->id.str = s;
		req->id.str_len = v->len;
		return MP_OK;
	}
	set_errmsg(errmsg, "id: must be a string, an integer or null");
	return MP_ERR_BAD_REQUEST;
}

/* Whether an unknown op name is short and plain enough to quote back. */
static bool op_quotable(const char *s, size_t len)
{
	if (len < 1 || len > 32)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-'))
			return false;
	return true;
}

/* Read "op" into req->op. */
static enum mp_error decode_op(const struct members *m, struct mp_request *req, char *errmsg)
{
	const struct jv *v = member(m, "op");
	int op;

	if (!v) {
		set_errmsg(errmsg, "op: required");
		return MP_ERR_BAD_REQUEST;
	}
	if (v->type != JV_STRING) {
		set_errmsg(errmsg, "op: must be a string");
		return MP_ERR_BAD_REQUEST;
	}
	op = lookup_n(mp_op_from_name, v);
	if (op < 0) {
		if (op_quotable(v->s, v->len))
			set_errmsg(errmsg, "op: unknown operation \"%.*s\"", (int)v->len, v->s);
		else
			set_errmsg(errmsg, "op: unknown operation");
		return MP_ERR_UNKNOWN_OP;
	}
	req->op = (enum mp_op)op;
	return MP_OK;
}

#define N_FIELDS (sizeof(fields) / sizeof(fields[0]))

/*
 * Reject the first key, in input order, that req->op does not take; put
 * the value of each key it takes in slots (by index in fields[]).
 */
static enum mp_error sort_fields(const struct members *m, struct mp_request *req,
				 const struct jv *slots[N_FIELDS], char *errmsg)
{
	for (size_t i = 0; i < m->n; i++) {
		const struct jpair *p = &m->pairs[i];
		size_t k;

		if ((p->key_len == 2 && memcmp(p->key, "op", 2) == 0) ||
		    (p->key_len == 2 && memcmp(p->key, "id", 2) == 0))
			continue;
		for (k = 0; k < N_FIELDS; k++)
			if ((fields[k].ops & OPS(req->op)) && strlen(fields[k].name) == p->key_len &&
			    memcmp(fields[k].name, p->key, p->key_len) == 0)
				break;
		if (k < N_FIELDS) {
			slots[k] = &p->v;
			continue;
		}
		set_errmsg(errmsg, "%.*s: unknown field",
			   (int)utf8_prefix_len(p->key, p->key_len, FIELD_NAME_QUOTE_MAX), p->key);
		return MP_ERR_INVALID_ARGUMENT;
	}
	return MP_OK;
}

/* Check every field of req->op in table order. */
static enum mp_error decode_fields(const struct jv *const slots[N_FIELDS],
				   struct mp_request *req, char *errmsg)
{
	for (size_t i = 0; i < N_FIELDS; i++) {
		const struct field *f = &fields[i];

		if (!(f->ops & OPS(req->op)))
			continue;
		if (f->parse(f, slots[i], req, errmsg) < 0)
			return MP_ERR_INVALID_ARGUMENT;
	}
	return MP_OK;
}

/* Decode a request from its members. */
static enum mp_error decode_members(const struct members *m, struct mp_request *req,
				    char *errmsg)
{
	const struct jv *slots[N_FIELDS] = { 0 };
	enum mp_error r;

	r = decode_id(m, req, errmsg);
	if (r == MP_OK)
		r = decode_op(m, req, errmsg);
	if (r == MP_OK) {
		request_defaults(req);
		r = sort_fields(m, req, slots, errmsg);
	}
	if (r == MP_OK)
		r = decode_fields(slots, req, errmsg);
	return r;
}

/* Parse the line with jansson; NULL with errmsg set on error. */
static json_t *load_line(const char *line, size_t len, char *errmsg)
{
	json_error_t jerr;
	json_t *root;

	if (len == 0) {
		set_errmsg(errmsg, "request: empty line");
		return NULL;
	}
	root = json_loadb(line, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	if (!root) {
		char text[JSON_ERROR_TEXT_LENGTH];

		copy_printable(text, sizeof(text), jerr.text);
		set_errmsg(errmsg, "request: invalid JSON at byte %d: %s", jerr.position, text);
	}
	return root;
}

/* The jansson value v as a struct jv (strings point into v). */
static void jv_of_json(json_t *v, struct jv *out)
{
	memset(out, 0, sizeof(*out));
	if (json_is_string(v)) {
		out->type = JV_STRING;
		out->s = json_string_value(v);
		out->len = json_string_length(v);
	} else if (json_is_integer(v)) {
		out->type = JV_INT;
		out->i = json_integer_value(v);
	} else if (json_is_real(v)) {
		out->type = JV_REAL;
		out->d = json_real_value(v);
	} else if (json_is_true(v)) {
		out->type = JV_TRUE;
	} else if (json_is_false(v)) {
		out->type = JV_FALSE;
	} else if (json_is_null(v)) {
		out->type = JV_NULL;
	} else if (json_is_object(v)) {
		out->type = JV_OBJECT;
		out->obj = v;
	} else {
		out->type = JV_OTHER;
	}
}

/* Decode a line the scanner declined, through jansson. */
static enum mp_error decode_general(const char *line, size_t len, struct mp_request *req,
				    char *errmsg)
{
	struct members m = { 0 };
	struct jpair *pairs;
	enum mp_error r;
	const char *key;
	json_t *root, *v;
	size_t i = 0;

	root = load_line(line, len, errmsg);
	if (!root)
		return MP_ERR_BAD_REQUEST;
	if (!json_is_object(root)) {
		json_decref(root);
		set_errmsg(errmsg, "request: must be a JSON object");
		return MP_ERR_BAD_REQUEST;
	}
	pairs = calloc(json_object_size(root) + 1, sizeof(*pairs));
	if (!pairs) {
		json_decref(root);
		set_errmsg(errmsg, "request: out of memory");
		return MP_ERR_BAD_REQUEST;
	}
	json_object_foreach(root, key, v) {
		pairs[i].key = key;
		pairs[i].key_len = strlen(key);
		jv_of_json(v, &pairs[i].v);
		i++;
	}
	m.pairs = pairs;
	m.n = i;
	r = decode_members(&m, req, errmsg);
	free(pairs);
	json_decref(root);
	return r;
}

/* Start a decode: req reset to its defaults, the line without a trailing '\r'. */
static void decode_begin(const char *line, size_t *len, struct mp_request *req, char *errmsg)
{
	memset(req, 0, sizeof(*req));
	errmsg[0] = '\0';
	request_defaults(req);
	if (line && *len > 0 && line[*len - 1] == '\r')
		(*len)--;
}

/* Decode one request line: the scanner's fast path, else jansson. */
enum mp_error mp_request_decode(const char *line, size_t len, struct mp_request *req,
				char errmsg[MP_ERRMSG_MAX])
{
	struct jpair pairs[JSCAN_PAIRS_MAX];
	struct members m = { pairs, 0 };
	int n;

	decode_begin(line, &len, req, errmsg);
	n = jscan_object(line, len, pairs);
	if (n < 0)
		return decode_general(line, len, req, errmsg);
	m.n = (size_t)n;
	return decode_members(&m, req, errmsg);
}

/* Decode one request line through jansson alone. */
enum mp_error mp_request_decode_general(const char *line, size_t len, struct mp_request *req,
					char errmsg[MP_ERRMSG_MAX])
{
	decode_begin(line, &len, req, errmsg);
	return decode_general(line, len, req, errmsg);
}
