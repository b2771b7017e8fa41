/* Wire names of operations, error codes and protocols; request helpers. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mtrprobe/protocol.h"

static const char *const op_names[MP_OP__COUNT] = {
	[MP_OP_PROBE] = "probe",
	[MP_OP_CHECK_SUPPORT] = "check_support",
	[MP_OP_CLEAR_DNS_CACHE] = "clear_dns_cache",
	[MP_OP_VERSION] = "version",
	[MP_OP_STATS] = "stats",
	[MP_OP_TRACE] = "trace",
	[MP_OP_MONITOR_ADD] = "monitor_add",
	[MP_OP_MONITOR_REMOVE] = "monitor_remove",
	[MP_OP_MONITOR_LIST] = "monitor_list",
	[MP_OP_MONITOR_SHOW] = "monitor_show",
	[MP_OP_MONITOR_EVENTS] = "monitor_events",
};

static const char *const error_names[MP_ERR__COUNT] = {
	[MP_OK] = "ok",
	[MP_ERR_BAD_REQUEST] = "bad-request",
	[MP_ERR_UNKNOWN_OP] = "unknown-op",
	[MP_ERR_INVALID_ARGUMENT] = "invalid-argument",
	[MP_ERR_REQUEST_TOO_LARGE] = "request-too-large",
	[MP_ERR_HOST_RESOLVE] = "host-resolve-error",
	[MP_ERR_PROCESS] = "process-error",
	[MP_ERR_OVERLOADED] = "overloaded",
	[MP_ERR_PERMISSION_DENIED] = "permission-denied",
	[MP_ERR_SHUTTING_DOWN] = "shutting-down",
};

static const char *const protocol_names[MP_PROTO__COUNT] = {
	[MP_PROTO_ICMP] = "icmp",
	[MP_PROTO_UDP] = "udp",
	[MP_PROTO_TCP] = "tcp",
	[MP_PROTO_SCTP] = "sctp",
};

/* The wire name of an operation. */
const char *mp_op_name(enum mp_op op)
{
	return (unsigned)op < MP_OP__COUNT ? op_names[op] : "?";
}

/* The wire name of an error code. */
const char *mp_error_name(enum mp_error err)
{
	return (unsigned)err < MP_ERR__COUNT ? error_names[err] : "?";
}

/* The wire name of a probe protocol. */
const char *mp_protocol_name(enum mp_protocol proto)
{
	return (unsigned)proto < MP_PROTO__COUNT ? protocol_names[proto] : "?";
}

/* Index of name in a table of n names, or -1. */
static int lookup_name(const char *const *names, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (names[i] && strcmp(names[i], name) == 0)
			return i;
	return -1;
}

/* The operation named name, or -1. */
int mp_op_from_name(const char *name)
{
	return lookup_name(op_names, MP_OP__COUNT, name);
}

/* The protocol named name, or -1. */
int mp_protocol_from_name(const char *name)
{
	return lookup_name(protocol_names, MP_PROTO__COUNT, name);
}

/* Fill opts with a probe's defaults. */
void mp_probe_opts_init(struct mp_probe_opts *opts, double timeout)
{
	memset(opts, 0, sizeof(*opts));
	opts->ip_version = 0;
	opts->ttl = 255;
	opts->protocol = MP_PROTO_ICMP;
	opts->timeout = timeout;
	opts->size = -1;
	opts->mark = -1;
}

/* Release an id's string and reset it to null. */
void mp_id_clear(struct mp_id *id)
{
	free(id->str);
	memset(id, 0, sizeof(*id));
}

/* Deep-copy an id. */
int mp_id_copy(struct mp_id *dst, const struct mp_id *src)
{
	*dst = *src;
	if (src->kind == MP_ID_STRING) {
		dst->str = malloc(src->str_len + 1);
		if (!dst->str) {
			memset(dst, 0, sizeof(*dst));
			return -ENOMEM;
		}
		memcpy(dst->str, src->str, src->str_len + 1);
	} else {
		dst->str = NULL;
	}
	return 0;
}

/* Release what a request owns. */
void mp_request_clear(struct mp_request *req)
{
	mp_id_clear(&req->id);
	free(req->monitor);
	req->monitor = NULL;
}
