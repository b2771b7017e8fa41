/*
 * libFuzzer target: one request line through mp_request_decode(), then the
 * responses it leads to.  Checks the decoder's contract (every value of an
 * accepted request within its documented range, a message on every error,
 * the id readable whatever happens), that an accepted probe of an IP
 * literal always formats as an mtr-packet command, that every encoder
 * writes one JSON object line echoing the id (the direct probe result
 * encoder byte for byte like the general one), and that the fast path
 * through jscan decodes exactly as jansson alone does (the same result,
 * message, id and options).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <netinet/in.h>

#include "daemon/monjson.h"
#include "daemon/mtrpkt.h"
#include "fuzz_encode.h"

/* Whether s (NUL-terminated within size) is 1..max bytes of host characters. */
static int host_ok(const char *s, size_t size, size_t max)
{
	size_t len;

	if (!fuzz_terminated(s, size))
		return 0;
	len = strlen(s);
	if (len < 1 || len > max)
		return 0;
	return strspn(s, "abcdefghijklmnopqrstuvwxyz"
			 "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_:") == len;
}

/* Check what the decoder promises about an accepted request. */
static void check_decoded(const struct mp_request *req)
{
	const struct mp_probe_opts *o = &req->probe;
	const struct mp_trace_opts *t = &req->trace;

	FUZZ_CHECK((unsigned)req->op < MP_OP__COUNT, "op %d", (int)req->op);
	if (req->op == MP_OP_MONITOR_ADD) {
		char err[MONDEF_ERR_MAX];
		struct mondef back;
		json_t *obj;

		FUZZ_CHECK(req->monitor && mondef_check(req->monitor, err) == 0, "monitor unchecked");
		/* what the answer shows reads back as the same monitor */
		obj = monjson_write(req->monitor);
		FUZZ_CHECK(obj && monjson_read(obj, &back, err) == 0 &&
				   mondef_equal(&back, req->monitor),
			   "monitor does not read back: %s", err);
		json_decref(obj);
	} else {
		FUZZ_CHECK(!req->monitor, "monitor for op %d", (int)req->op);
	}
	if (req->op == MP_OP_MONITOR_REMOVE || req->op == MP_OP_MONITOR_SHOW)
		FUZZ_CHECK(fuzz_terminated(req->monitor_name, sizeof(req->monitor_name)) &&
				   req->monitor_name[0],
			   "monitor name");
	if (req->op == MP_OP_CHECK_SUPPORT) {
		size_t n = strspn(req->feature, "abcdefghijklmnopqrstuvwxyz0123456789-");

		FUZZ_CHECK(fuzz_terminated(req->feature, sizeof(req->feature)) && n >= 1 &&
				   n <= MP_FEATURE_MAX && req->feature[n] == '\0',
			   "feature");
	}
	if (req->op != MP_OP_PROBE && req->op != MP_OP_TRACE)
		return;
	FUZZ_CHECK(host_ok(o->host, sizeof(o->host), MP_HOST_MAX), "host");
	FUZZ_CHECK(!o->local_ip[0] || host_ok(o->local_ip, sizeof(o->local_ip), MP_HOST_MAX),
		   "local_ip");
	FUZZ_CHECK(o->ip_version == 0 || o->ip_version == 4 || o->ip_version == 6,
		   "ip_version %d", o->ip_version);
	FUZZ_CHECK(o->ttl >= 0 && o->ttl <= 255, "ttl %d", o->ttl);
	FUZZ_CHECK((unsigned)o->protocol < MP_PROTO__COUNT, "protocol %d", (int)o->protocol);
	FUZZ_CHECK(o->port >= 0 && o->port <= 65535, "port %d", o->port);
	FUZZ_CHECK(o->local_port >= 0 && o->local_port <= 65535, "local_port %d", o->local_port);
	FUZZ_CHECK(o->protocol != MP_PROTO_ICMP || (o->port == 0 && o->local_port == 0),
		   "ports with icmp");
	FUZZ_CHECK(isfinite(o->timeout) && o->timeout > 0 && o->timeout <= MP_TIMEOUT_MAX,
		   "timeout %g", o->timeout);
	FUZZ_CHECK(o->size == -1 || (o->size >= 0 && o->size <= MP_SIZE_MAX), "size %d", o->size);
	FUZZ_CHECK(o->bit_pattern >= 0 && o->bit_pattern <= 255, "bit_pattern %d", o->bit_pattern);
	FUZZ_CHECK(o->tos >= 0 && o->tos <= 255, "tos %d", o->tos);
	FUZZ_CHECK(o->mark == -1 || (o->mark >= 0 && o->mark <= 4294967295LL), "mark %lld",
		   (long long)o->mark);
	if (req->op != MP_OP_TRACE)
		return;
	FUZZ_CHECK(t->first_ttl >= 1 && t->first_ttl <= t->max_ttl && t->max_ttl <= 255,
		   "first_ttl %d max_ttl %d", t->first_ttl, t->max_ttl);
	FUZZ_CHECK(t->count >= 1 && t->count <= 1000, "count %d", t->count);
	FUZZ_CHECK(isfinite(t->interval) && t->interval >= 0 && t->interval <= 3600,
		   "interval %g", t->interval);
}

/* Canonical form of an IP literal of version v (0: either) into out; its
 * version, or 0 when s is not one. */
static int literal(const char *s, int v, char out[MP_ADDR_MAX])
{
	unsigned char bin[sizeof(struct in6_addr)];

	if ((v == 0 || v == 4) && inet_pton(AF_INET, s, bin) == 1)
		return inet_ntop(AF_INET, bin, out, MP_ADDR_MAX) ? 4 : 0;
	if ((v == 0 || v == 6) && inet_pton(AF_INET6, s, bin) == 1)
		return inet_ntop(AF_INET6, bin, out, MP_ADDR_MAX) ? 6 : 0;
	return 0;
}

/* An accepted probe of an IP literal becomes a command, as pool_send() does. */
static void check_command(const struct mp_request *req, uint32_t token)
{
	const struct mp_probe_opts *o = &req->probe;
	struct mtrpkt_probe_cmd cmd;
	char line[MTRPKT_CMD_MAX];
	int n;

	memset(&cmd, 0, sizeof(cmd));
	cmd.ip_version = literal(o->host, o->ip_version, cmd.address);
	if (cmd.ip_version == 0)
		return;
	if (o->local_ip[0] && literal(o->local_ip, cmd.ip_version, cmd.local_ip) == 0)
		return;
	cmd.token = token;
	cmd.protocol = o->protocol;
	cmd.port = o->port;
	cmd.local_port = o->local_port;
	cmd.ttl = req->op == MP_OP_TRACE ? req->trace.max_ttl : o->ttl;
	cmd.size = o->size;
	cmd.bit_pattern = o->bit_pattern;
	cmd.tos = o->tos;
	cmd.mark = o->mark;
	cmd.timeout_s = (int)ceil(o->timeout);
	if (cmd.timeout_s < 1)
		cmd.timeout_s = 1;
	n = mtrpkt_format_probe(line, sizeof(line), &cmd);
	FUZZ_CHECK(n > 0, "mtrpkt_format_probe refused an accepted probe: %d", n);
	FUZZ_CHECK((size_t)n == strlen(line) && line[n - 1] == '\n' &&
			   memchr(line, '\n', (size_t)n - 1) == NULL,
		   "command line shape: %s", line);
	/* a buffer one byte short is refused, never overrun */
	FUZZ_CHECK(mtrpkt_format_probe(line, (size_t)n, &cmd) == -ENOSPC, "short buffer");
}

/* Copy up to size bytes of s into dst, without a NUL when s is longer. */
static void fill(char *dst, size_t size, const char *s)
{
	size_t n = strlen(s);

	memset(dst, 0, size);
	memcpy(dst, s, n < size ? n : size);
}

/* A probe result made of the request's values, both encoders compared. */
static void check_result(const struct mp_request *req)
{
	const struct mp_probe_opts *o = &req->probe;
	struct mp_probe_result res;
	int scale = (req->op == MP_OP_TRACE ? req->trace.max_ttl : o->ttl) % 24;

	memset(&res, 0, sizeof(res));
	fill(res.result, sizeof(res.result), o->host);
	fill(res.responder, sizeof(res.responder), o->local_ip);
	fill(res.address, sizeof(res.address), o->host);
	res.ip_version = o->ip_version;
	res.time_ms = o->timeout * pow(10.0, scale - 6);
	if (o->tos & 1)
		res.time_ms = -res.time_ms;
	if (o->mark == 7)
		res.time_ms = INFINITY;
	else if (o->mark == 8)
		res.time_ms = NAN;
	res.mpls_count = o->bit_pattern % 10 - (o->protocol == MP_PROTO_SCTP);
	for (int i = 0; i < MP_MPLS_MAX; i++) {
		res.mpls[i].label = (uint32_t)(o->mark >= 0 ? o->mark : o->size) + (uint32_t)i;
		res.mpls[i].traffic_class = o->tos - i;
		res.mpls[i].bottom_of_stack = (o->bit_pattern >> i) & 1;
		res.mpls[i].ttl = o->port - o->local_port;
	}
	fuzz_check_probe_result(&req->id, &res);
	/* the canonical address, as the daemon fills it in */
	if (literal(o->host, o->ip_version, res.address)) {
		res.ip_version = strchr(res.address, ':') ? 6 : 4;
		fill(res.result, sizeof(res.result), "reply");
		fill(res.responder, sizeof(res.responder), res.address);
		fuzz_check_probe_result(&req->id, &res);
	}
}

/* The answers an accepted request leads to. */
static void check_answers(const struct mp_request *req, size_t size)
{
	char msg[MP_ERRMSG_MAX + 64];
	size_t len;

	switch (req->op) {
	case MP_OP_PROBE:
	case MP_OP_TRACE:
		check_command(req, (uint32_t)(size % INT32_MAX) + 1);
		check_result(req);
		snprintf(msg, sizeof(msg), "host: cannot resolve %s", req->probe.host);
		fuzz_check_line(mp_encode_error(&req->id, MP_ERR_HOST_RESOLVE, msg, &len), len,
				&req->id);
		if (req->op == MP_OP_TRACE)
			fuzz_check_line(mp_encode_object(&req->id,
							 json_pack("{s:s,s:s,s:i}", "event", "hop",
								   "host", req->probe.host,
								   "ttl", req->trace.first_ttl),
							 &len),
					len, &req->id);
		break;
	case MP_OP_CHECK_SUPPORT:
		fuzz_check_line(mp_encode_check_support(&req->id, req->feature, size & 1,
							req->feature, &len),
				len, &req->id);
		break;
	case MP_OP_CLEAR_DNS_CACHE:
		fuzz_check_line(mp_encode_cleared(&req->id, (size & 1) ? ULONG_MAX : size, &len), len,
				&req->id);
		break;
	case MP_OP_VERSION:
		fuzz_check_line(mp_encode_version(&req->id, "0.1.0", (size & 1) ? NULL : "0.95",
						  (int)size, &len),
				len, &req->id);
		break;
	case MP_OP_STATS:
		fuzz_check_line(mp_encode_object(&req->id, json_pack("{s:I}", "probes",
								     (json_int_t)size),
						 &len),
				len, &req->id);
		break;
	case MP_OP_MONITOR_ADD:
		/* the answer: the whole definition, as monitor_add writes it */
		fuzz_check_line(mp_encode_object(&req->id,
						 json_pack("{s:o,s:I}", "monitor",
							   monjson_write(req->monitor), "owner",
							   (json_int_t)size),
						 &len),
				len, &req->id);
		break;
	case MP_OP_MONITOR_REMOVE:
		fuzz_check_line(mp_encode_object(&req->id, json_pack("{s:s}", "removed",
								     req->monitor_name),
						 &len),
				len, &req->id);
		break;
	case MP_OP_MONITOR_LIST:
	case MP_OP_MONITOR_SHOW:
	case MP_OP_MONITOR_EVENTS:
		break;
	case MP_OP__COUNT:
		FUZZ_CHECK(0, "op count");
	}
}

/* The scanner's fast path decodes exactly as jansson alone does. */
static void check_same_as_general(const char *line, size_t size, enum mp_error r,
				  const char *errmsg, const struct mp_request *req)
{
	char msg2[MP_ERRMSG_MAX];
	struct mp_request req2;
	enum mp_error r2;

	r2 = mp_request_decode_general(line, size, &req2, msg2);
	FUZZ_CHECK(r2 == r, "fast path %s, jansson %s", mp_error_name(r), mp_error_name(r2));
	FUZZ_CHECK(strcmp(msg2, errmsg) == 0, "fast path \"%s\", jansson \"%s\"", errmsg, msg2);
	FUZZ_CHECK(req2.id.kind == req->id.kind && req2.id.num == req->id.num &&
			   req2.id.str_len == req->id.str_len &&
			   (req->id.kind != MP_ID_STRING ||
			    memcmp(req2.id.str, req->id.str, req->id.str_len + 1) == 0),
		   "id differs");
	if (r == MP_OK) {
		FUZZ_CHECK(req2.op == req->op, "op differs");
		FUZZ_CHECK(memcmp(&req2.probe, &req->probe, sizeof(req->probe)) == 0,
			   "probe options differ");
		FUZZ_CHECK(memcmp(&req2.trace, &req->trace, sizeof(req->trace)) == 0,
			   "trace options differ");
		FUZZ_CHECK(memcmp(req2.feature, req->feature, sizeof(req->feature)) == 0,
			   "feature differs");
		FUZZ_CHECK(strcmp(req2.monitor_name, req->monitor_name) == 0, "monitor name differs");
		FUZZ_CHECK(!req2.monitor == !req->monitor &&
				   (!req->monitor || mondef_equal(req2.monitor, req->monitor)),
			   "monitor differs");
	}
	mp_request_clear(&req2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *line = fuzz_copy(data, size);
	char errmsg[MP_ERRMSG_MAX];
	struct mp_request req;
	struct mp_id copy;
	enum mp_error r;
	size_t len;

	r = mp_request_decode(line, size, &req, errmsg);
	FUZZ_CHECK(fuzz_terminated(errmsg, sizeof(errmsg)), "errmsg not terminated");
	FUZZ_CHECK(req.id.kind == MP_ID_NULL || req.id.kind == MP_ID_INT ||
			   req.id.kind == MP_ID_STRING,
		   "id kind %d", (int)req.id.kind);
	FUZZ_CHECK(req.id.kind != MP_ID_STRING ||
			   (req.id.str && strlen(req.id.str) == req.id.str_len),
		   "id string");
	FUZZ_CHECK(mp_id_copy(&copy, &req.id) == 0, "mp_id_copy");
	check_same_as_general(line, size, r, errmsg, &req);
	if (r == MP_OK) {
		FUZZ_CHECK(errmsg[0] == '\0', "message on success: %s", errmsg);
		check_decoded(&req);
		check_answers(&req, size);
	} else {
		FUZZ_CHECK(r == MP_ERR_BAD_REQUEST || r == MP_ERR_UNKNOWN_OP ||
				   r == MP_ERR_INVALID_ARGUMENT,
			   "decoder returned %d", (int)r);
		FUZZ_CHECK(errmsg[0] != '\0', "no message for %s", mp_error_name(r));
		fuzz_check_line(mp_encode_error(&req.id, r, errmsg, &len), len, &req.id);
	}
	/* the copy answers the same way */
	fuzz_check_line(mp_encode_error(&copy, MP_ERR_SHUTTING_DOWN, NULL, &len), len, &req.id);
	mp_id_clear(&copy);
	mp_request_clear(&req);
	free(line);
	return 0;
}
