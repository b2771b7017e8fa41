/*
 * The mtrprobed wire contract, shared by the daemon, the clients and the
 * tests: protocol version, operations, error codes, and the plain structs a
 * request is decoded into and a result is encoded from.  No libevent or
 * jansson types appear here.
 */
#ifndef MTRPROBE_PROTOCOL_H
#define MTRPROBE_PROTOCOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MP_PROTOCOL_VERSION 1
#define MP_DEFAULT_SOCKET "/run/mtrprobed/mtrprobed.sock"
#define MP_SOCKET_ENV "MTRPROBED_SOCKET"
/* A socket path must be shorter than this (sizeof sockaddr_un.sun_path). */
#define MP_SOCKET_PATH_MAX 108

/* Longest hostname (RFC 1035 presentation form without the final dot). */
#define MP_HOST_MAX 253
/* Large enough for any inet_ntop() output, with the NUL. */
#define MP_ADDR_MAX 46
/* check_support feature names: 1-32 characters from [a-z0-9-]. */
#define MP_FEATURE_MAX 32
/* mtr-packet reply words are short; anything longer is a parse error. */
#define MP_RESULT_MAX 32
/* MPLS labels kept per answer (mtr keeps at most 8 as well). */
#define MP_MPLS_MAX 8

#define MP_TIMEOUT_MAX 3600.0
#define MP_PROBE_TIMEOUT_DEFAULT 10.0
#define MP_TRACE_TIMEOUT_DEFAULT 2.0
#define MP_SIZE_MAX 9000

enum mp_op {
	MP_OP_PROBE,
	MP_OP_CHECK_SUPPORT,
	MP_OP_CLEAR_DNS_CACHE,
	MP_OP_VERSION,
	MP_OP_STATS,
	MP_OP_TRACE,
	MP_OP_MONITOR_ADD,
	MP_OP_MONITOR_REMOVE,
	MP_OP_MONITOR_LIST,
	MP_OP_MONITOR_SHOW,
	MP_OP_MONITOR_EVENTS,
	MP_OP__COUNT
};

/* The longest monitor name. */
#define MP_MONITOR_NAME_MAX 64

struct mondef;

enum mp_error {
	MP_OK = 0,
	MP_ERR_BAD_REQUEST,
	MP_ERR_UNKNOWN_OP,
	MP_ERR_INVALID_ARGUMENT,
	MP_ERR_REQUEST_TOO_LARGE,
	MP_ERR_HOST_RESOLVE,
	MP_ERR_PROCESS,
	MP_ERR_OVERLOADED,
	MP_ERR_PERMISSION_DENIED,
	MP_ERR_SHUTTING_DOWN,
	MP_ERR__COUNT
};

enum mp_protocol {
	MP_PROTO_ICMP,
	MP_PROTO_UDP,
	MP_PROTO_TCP,
	MP_PROTO_SCTP,
	MP_PROTO__COUNT
};

/* A request id: JSON null, an integer, or a string (owned, NUL-free). */
enum mp_id_kind { MP_ID_NULL, MP_ID_INT, MP_ID_STRING };

struct mp_id {
	enum mp_id_kind kind;
	int64_t num;
	char *str; /* owned; malloc'd when kind == MP_ID_STRING */
	size_t str_len;
};

/* Options of one probe, after validation.  0 / -1 mean "not given". */
struct mp_probe_opts {
	char host[MP_HOST_MAX + 1];
	int ip_version;          /* 0 (any), 4 or 6 */
	int ttl;                 /* 0-255, default 255 */
	enum mp_protocol protocol;
	int port;                /* 0 = mtr-packet's default */
	char local_ip[MP_HOST_MAX + 1]; /* "" = chosen by routing lookup */
	int local_port;          /* 0 = mtr-packet's default */
	double timeout;          /* seconds, > 0 */
	int size;                /* -1 = minimum for the protocol */
	int bit_pattern;         /* 0-255 */
	int tos;                 /* 0-255 */
	int64_t mark;            /* -1 = none, else 0-4294967295 */
};

/* Extra options of a trace. */
struct mp_trace_opts {
	int first_ttl;
	int max_ttl;
	int count;
	double interval;
	bool stream;
};

/* One decoded request.  Owned by whoever decoded it; see mp_request_clear(). */
struct mp_request {
	enum mp_op op;
	struct mp_id id;
	struct mp_probe_opts probe;   /* MP_OP_PROBE and MP_OP_TRACE */
	struct mp_trace_opts trace;   /* MP_OP_TRACE */
	char feature[MP_FEATURE_MAX + 1]; /* MP_OP_CHECK_SUPPORT */
	struct mondef *monitor;           /* MP_OP_MONITOR_ADD: owned, freed by mp_request_clear() */
	char monitor_name[MP_MONITOR_NAME_MAX + 1]; /* MP_OP_MONITOR_REMOVE, _SHOW; _EVENTS: "" = all */
};

struct mp_mpls {
	uint32_t label;
	int traffic_class;
	bool bottom_of_stack;
	int ttl;
};

/* The outcome of one probe, as the daemon reports it. */
struct mp_probe_result {
	char result[MP_RESULT_MAX + 1]; /* mtr-packet's reply word */
	double time_ms;                  /* < 0 when none */
	char responder[MP_ADDR_MAX];     /* "" when none */
	struct mp_mpls mpls[MP_MPLS_MAX];
	int mpls_count;
	char address[MP_ADDR_MAX];       /* the probed address */
	int ip_version;
};

/* Name of an operation, error code or protocol as it appears on the wire. */
const char *mp_op_name(enum mp_op op);
const char *mp_error_name(enum mp_error err);
const char *mp_protocol_name(enum mp_protocol proto);

/* Look up a wire name; returns the value or -1 when unknown. */
int mp_op_from_name(const char *name);
int mp_protocol_from_name(const char *name);

/* Fill opts with the defaults of a probe (timeout of probe or trace). */
void mp_probe_opts_init(struct mp_probe_opts *opts, double timeout);

/* Release what a request owns (its id string, its monitor); safe on a zeroed request. */
void mp_request_clear(struct mp_request *req);

/* Deep-copy an id; returns 0 or -ENOMEM. */
int mp_id_copy(struct mp_id *dst, const struct mp_id *src);

/* Release an id's string and reset it to null. */
void mp_id_clear(struct mp_id *id);

#endif
