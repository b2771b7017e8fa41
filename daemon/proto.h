/*
 * Request decoder: NDJSON request lines to struct mp_request.  Pure: no
 * I/O, no logging, no global state.
 */
#ifndef MTRPROBED_PROTO_H
#define MTRPROBED_PROTO_H

#include <jansson.h>

#include "mtrprobe/protocol.h"

/* Longest error message the codec writes (truncated beyond). */
#define MP_ERRMSG_MAX 256

/*
 * Decode one request line (without its '\n'; a trailing '\r' is ignored).
 * Returns MP_OK and fills *req, or an error code and writes a message that
 * starts with the offending field's name into errmsg.  On every return
 * req->id holds the request's id when it could be read (else null), so the
 * error response can echo it; the caller always calls mp_request_clear().
 */
enum mp_error mp_request_decode(const char *line, size_t len, struct mp_request *req,
				char errmsg[MP_ERRMSG_MAX]);
/*
 * The same through jansson alone.  mp_request_decode() takes the common
 * shape of request through jscan (no tree, no allocation) and hands every
 * other line to this; the two must give identical results, which the
 * request fuzzer checks.
 */
enum mp_error mp_request_decode_general(const char *line, size_t len, struct mp_request *req,
					char errmsg[MP_ERRMSG_MAX]);

#endif
