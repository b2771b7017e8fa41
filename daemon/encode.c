/*
 * Response encoders: results to NDJSON answer lines.  Every line is a JSON
 * object whose first key is "id".  The answer to a probe, the one written
 * most, is formatted directly into the caller's buffer (no printf, no
 * allocation); every other answer, and a probe answer with anything that
 * needs escaping, is built with jansson.  Both give the same bytes.
 * Pure: no I/O, no logging, no global state.
 */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "encode.h"

/* Flags of every response line: compact, keys in insertion order. */
#define DUMP_FLAGS (JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15))

/* A JSON string of the first len bytes of s; invalid UTF-8 becomes '?'. */
static json_t *string_safe(const char *s, size_t len)
{
	json_t *v = json_stringn(s, len);
	char *copy;

	if (v)
		return v;
	copy = malloc(len + 1);
	if (!copy)
		return NULL;
	for (size_t i = 0; i < len; i++)
		copy[i] = s[i] > 0 && s[i] <= 0x7e ? s[i] : '?';
	copy[len] = '\0';
	v = json_stringn(copy, len);
	free(copy);
	return v;
}

/* A JSON string of the NUL-terminated s (at most max bytes), or null when s is NULL. */
static json_t *string_or_null(const char *s, size_t max)
{
	if (!s)
		return json_null();
	return string_safe(s, strnlen(s, max));
}

/* Like string_or_null, but "" is null too. */
static json_t *string_or_null_if_empty(const char *s, size_t max)
{
	if (!s || !s[0])
		return json_null();
	return string_or_null(s, max);
}

/* Add v under key; v is stolen.  -1 when v is NULL or out of memory. */
static int set_new(json_t *obj, const char *key, json_t *v)
{
	if (!v)
		return -1;
	return json_object_set_new(obj, key, v);
}

/* JSON value of an id. */
json_t *mp_id_to_json(const struct mp_id *id)
{
	if (!id)
		return json_null();
	switch (id->kind) {
	case MP_ID_INT:
		return json_integer(id->num);
	case MP_ID_STRING:
		return id->str ? string_safe(id->str, id->str_len) : json_null();
	case MP_ID_NULL:
		break;
	}
	return json_null();
}

/* Dump obj as a response line with '\n', consuming obj. */
static char *dump_line(json_t *obj, size_t *ret_len)
{
	char *s, *line;
	size_t len;

	if (!obj)
		return NULL;
	s = json_dumps(obj, DUMP_FLAGS);
	json_decref(obj);
	if (!s)
		return NULL;
	len = strlen(s);
	line = realloc(s, len + 2);
	if (!line) {
		free(s);
		return NULL;
	}
	line[len] = '\n';
	line[len + 1] = '\0';
	if (ret_len)
		*ret_len = len + 1;
	return line;
}

/* A new object whose first key is "id", followed by obj's keys; consumes obj. */
static json_t *object_with_id(const struct mp_id *id, json_t *obj)
{
	json_t *out, *v;
	const char *key;

	if (!obj)
		return NULL;
	out = json_object();
	if (!out || set_new(out, "id", mp_id_to_json(id)) < 0)
		goto fail;
	json_object_foreach(obj, key, v) {
		if (strcmp(key, "id") == 0)
			continue;
		if (json_object_set(out, key, v) < 0)
			goto fail;
	}
	json_decref(obj);
	return out;
fail:
	json_decref(out);
	json_decref(obj);
	return NULL;
}

/* Encode obj with "id" first as a response line. */
char *mp_encode_object(const struct mp_id *id, json_t *obj, size_t *ret_len)
{
	if (obj && !json_is_object(obj)) {
		json_decref(obj);
		return NULL;
	}
	return dump_line(object_with_id(id, obj), ret_len);
}

/* Encode an error response. */
char *mp_encode_error(const struct mp_id *id, enum mp_error code, const char *message,
		      size_t *ret_len)
{
	json_t *err = json_object();

	if (!err)
		return NULL;
	if (set_new(err, "code", json_string(mp_error_name(code))) < 0 ||
	    set_new(err, "message", string_or_null(message ? message : mp_error_name(code),
						   SIZE_MAX)) < 0) {
		json_decref(err);
		return NULL;
	}
	return mp_encode_object(id, json_pack("{so}", "error", err), ret_len);
}

/* Round a time in milliseconds to whole microseconds. */
static double round_ms(double ms)
{
	return round(ms * 1000.0) / 1000.0;
}

/* The JSON object of one MPLS label. */
static json_t *mpls_to_json(const struct mp_mpls *m)
{
	return json_pack("{sIsisbsi}", "label", (json_int_t)m->label, "traffic_class",
			 m->traffic_class, "bottom_of_stack", (int)m->bottom_of_stack, "ttl",
			 m->ttl);
}

/* The JSON list of a result's MPLS labels. */
static json_t *mpls_list_to_json(const struct mp_probe_result *res)
{
	json_t *list = json_array();
	int n = res->mpls_count;

	if (!list)
		return NULL;
	if (n > MP_MPLS_MAX)
		n = MP_MPLS_MAX;
	for (int i = 0; i < n; i++)
		if (json_array_append_new(list, mpls_to_json(&res->mpls[i])) < 0) {
			json_decref(list);
			return NULL;
		}
	return list;
}

/* The probe result fields as a JSON object. */
json_t *mp_probe_result_to_json(const struct mp_probe_result *res)
{
	json_t *obj;
	bool success;

	if (!res || !(obj = json_object()))
		return NULL;
	success = strncmp(res->result, "reply", sizeof(res->result)) == 0;
	if (set_new(obj, "success", json_boolean(success)) < 0 ||
	    set_new(obj, "result", string_or_null(res->result, sizeof(res->result))) < 0 ||
	    set_new(obj, "time_ms", res->time_ms >= 0 && isfinite(res->time_ms)
					    ? json_real(round_ms(res->time_ms))
					    : json_null()) < 0 ||
	    set_new(obj, "responder",
		    string_or_null_if_empty(res->responder, sizeof(res->responder))) < 0 ||
	    set_new(obj, "mpls", mpls_list_to_json(res)) < 0 ||
	    set_new(obj, "address",
		    string_or_null_if_empty(res->address, sizeof(res->address))) < 0 ||
	    set_new(obj, "ip_version",
		    res->ip_version ? json_integer(res->ip_version) : json_null()) < 0) {
		json_decref(obj);
		return NULL;
	}
	return obj;
}

/* True if s (at most max bytes) needs no JSON escaping: [A-Za-z0-9.:-] only. */
static bool plain_word(const char *s, size_t max)
{
	for (size_t i = 0; i < max && s[i]; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == ':' || c == '-'))
			return false;
	}
	return memchr(s, '\0', max) != NULL;
}

/* True if jansson writes the string s (len bytes) as it is, between quotes. */
static bool plain_string(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] < 0x20 || s[i] > 0x7e || s[i] == '"' || s[i] == '\\')
			return false;
	return true;
}

/* Times from this many ms on are left to jansson: they are not written exactly here. */
#define FAST_MS_LIMIT 1e12

/* An answer line being written into a fixed buffer. */
struct out {
	char *buf;
	size_t cap;
	size_t n;
	bool full; /* something did not fit: the line is void */
};

/* Append len bytes of s. */
static void put_mem(struct out *o, const char *s, size_t len)
{
	if (o->full || len > o->cap - o->n) {
		o->full = true;
		return;
	}
	memcpy(o->buf + o->n, s, len);
	o->n += len;
}

/* Append the NUL-terminated s. */
static void put_str(struct out *o, const char *s)
{
	put_mem(o, s, strlen(s));
}

/* Append v in decimal. */
static void put_uint(struct out *o, unsigned long long v)
{
	char digits[24], *d = digits + sizeof(digits);

	do {
		*--d = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0);
	put_mem(o, d, (size_t)(digits + sizeof(digits) - d));
}

/* Append a signed integer in decimal. */
static void put_int(struct out *o, long long v)
{
	if (v < 0) {
		put_mem(o, "-", 1);
		put_uint(o, 0ULL - (unsigned long long)v);
	} else {
		put_uint(o, (unsigned long long)v);
	}
}

/*
 * A time in ms as the general encoder writes it (jansson's %.15g of the
 * time rounded to microseconds): whole microseconds, trailing zeros of the
 * fraction dropped but one digit kept ("12.0", "0.25", "1.234").
 * ms is finite, >= 0 and below FAST_MS_LIMIT.
 */
static void put_ms(struct out *o, double ms)
{
	unsigned long long us = (unsigned long long)llround(ms * 1000.0);
	unsigned frac = (unsigned)(us % 1000);
	char f[4] = { (char)('0' + frac / 100), (char)('0' + frac / 10 % 10),
		      (char)('0' + frac % 10), 0 };
	size_t n = 3;

	while (n > 1 && f[n - 1] == '0')
		n--;
	put_uint(o, us / 1000);
	put_mem(o, ".", 1);
	put_mem(o, f, n);
}

/* Append "\"s\"" for a non-empty s, else null. */
static void put_string_or_null(struct out *o, const char *s)
{
	if (!s[0]) {
		put_str(o, "null");
		return;
	}
	put_mem(o, "\"", 1);
	put_str(o, s);
	put_mem(o, "\"", 1);
}

/* Append the id; false when it needs jansson (a string to escape). */
static bool put_id(struct out *o, const struct mp_id *id)
{
	if (id && id->kind == MP_ID_INT) {
		put_int(o, id->num);
	} else if (id && id->kind == MP_ID_STRING && id->str) {
		if (!plain_string(id->str, id->str_len))
			return false;
		put_mem(o, "\"", 1);
		put_mem(o, id->str, id->str_len);
		put_mem(o, "\"", 1);
	} else {
		put_str(o, "null");
	}
	return true;
}

/* Append the list of MPLS labels. */
static void put_mpls(struct out *o, const struct mp_probe_result *res)
{
	put_mem(o, "[", 1);
	for (int i = 0; i < res->mpls_count && i < MP_MPLS_MAX; i++) {
		const struct mp_mpls *l = &res->mpls[i];

		put_str(o, i ? ",{\"label\":" : "{\"label\":");
		put_uint(o, l->label);
		put_str(o, ",\"traffic_class\":");
		put_int(o, l->traffic_class);
		put_str(o, l->bottom_of_stack ? ",\"bottom_of_stack\":true,\"ttl\":"
					      : ",\"bottom_of_stack\":false,\"ttl\":");
		put_int(o, l->ttl);
		put_mem(o, "}", 1);
	}
	put_mem(o, "]", 1);
}

size_t mp_encode_probe_result_into(char *buf, size_t cap, const struct mp_id *id,
				   const struct mp_probe_result *res)
{
	struct out o = { buf, cap, 0, false };

	if (!buf || !res || !plain_word(res->result, sizeof(res->result)) ||
	    !plain_word(res->responder, sizeof(res->responder)) ||
	    !plain_word(res->address, sizeof(res->address)) || !res->result[0] ||
	    res->time_ms >= FAST_MS_LIMIT)
		return 0;
	put_str(&o, "{\"id\":");
	if (!put_id(&o, id))
		return 0;
	put_str(&o, strcmp(res->result, "reply") == 0 ? ",\"success\":true,\"result\":\""
						       : ",\"success\":false,\"result\":\"");
	put_str(&o, res->result);
	put_str(&o, "\",\"time_ms\":");
	if (res->time_ms >= 0 && isfinite(res->time_ms))
		put_ms(&o, res->time_ms);
	else
		put_str(&o, "null");
	put_str(&o, ",\"responder\":");
	put_string_or_null(&o, res->responder);
	put_str(&o, ",\"mpls\":");
	put_mpls(&o, res);
	put_str(&o, ",\"address\":");
	put_string_or_null(&o, res->address);
	put_str(&o, ",\"ip_version\":");
	if (res->ip_version)
		put_int(&o, res->ip_version);
	else
		put_str(&o, "null");
	put_str(&o, "}\n");
	return o.full ? 0 : o.n;
}

/*
 * Encode a probe result: the direct writer when it can (see
 * mp_encode_probe_result_into()), jansson otherwise.
 */
char *mp_encode_probe_result(const struct mp_id *id, const struct mp_probe_result *res,
			     size_t *ret_len)
{
	char buf[MP_PROBE_ANSWER_MAX];
	size_t n = mp_encode_probe_result_into(buf, sizeof(buf), id, res);
	char *line;

	if (n == 0)
		return mp_encode_object(id, mp_probe_result_to_json(res), ret_len);
	line = malloc(n + 1);
	if (!line)
		return NULL;
	memcpy(line, buf, n);
	line[n] = '\0';
	if (ret_len)
		*ret_len = n;
	return line;
}

/* Encode a check_support answer. */
char *mp_encode_check_support(const struct mp_id *id, const char *feature, bool supported,
			      const char *value, size_t *ret_len)
{
	json_t *obj = json_object();

	if (!obj)
		return NULL;
	if (set_new(obj, "feature", string_or_null(feature, SIZE_MAX)) < 0 ||
	    set_new(obj, "supported", json_boolean(supported)) < 0 ||
	    set_new(obj, "value", string_or_null(value, SIZE_MAX)) < 0) {
		json_decref(obj);
		return NULL;
	}
	return mp_encode_object(id, obj, ret_len);
}

/* Encode a clear_dns_cache answer. */
char *mp_encode_cleared(const struct mp_id *id, unsigned long cleared, size_t *ret_len)
{
	json_int_t n = (unsigned long long)cleared > (unsigned long long)LLONG_MAX
			       ? LLONG_MAX
			       : (json_int_t)cleared;

	return mp_encode_object(id, json_pack("{sI}", "cleared", n), ret_len);
}

/* Encode a version answer. */
char *mp_encode_version(const struct mp_id *id, const char *daemon_version,
			const char *mtr_packet_version, int workers, size_t *ret_len)
{
	json_t *obj = json_object();

	if (!obj)
		return NULL;
	if (set_new(obj, "daemon", string_or_null(daemon_version, SIZE_MAX)) < 0 ||
	    set_new(obj, "protocol", json_integer(MP_PROTOCOL_VERSION)) < 0 ||
	    set_new(obj, "mtr_packet", string_or_null(mtr_packet_version, SIZE_MAX)) < 0 ||
	    set_new(obj, "workers", json_integer(workers)) < 0) {
		json_decref(obj);
		return NULL;
	}
	return mp_encode_object(id, obj, ret_len);
}
