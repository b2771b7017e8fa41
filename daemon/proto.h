/*
 * Protocol codec: NDJSON request lines to struct mp_request, and results to
 * response lines.  Pure: no I/O, no logging, no global state.
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

/*
 * Encoders.  Each returns a malloc'd NUL-terminated response line ending in
 * '\n' and stores its length (without the NUL) in *ret_len, or NULL when out
 * of memory.
 */
char *mp_encode_error(const struct mp_id *id, enum mp_error code, const char *message,
		      size_t *ret_len);
char *mp_encode_probe_result(const struct mp_id *id, const struct mp_probe_result *res,
			     size_t *ret_len);
char *mp_encode_check_support(const struct mp_id *id, const char *feature, bool supported,
			      const char *value, size_t *ret_len);
char *mp_encode_cleared(const struct mp_id *id, unsigned long cleared, size_t *ret_len);
char *mp_encode_version(const struct mp_id *id, const char *daemon_version,
			const char *mtr_packet_version, int workers, size_t *ret_len);

/*
 * Encode obj (a JSON object, reference stolen) with "id" added as a
 * response line.  Used for stats and for trace responses and events.
 */
char *mp_encode_object(const struct mp_id *id, json_t *obj, size_t *ret_len);

/* JSON value of an id (new reference), for callers building objects. */
json_t *mp_id_to_json(const struct mp_id *id);

/* The probe result fields as a JSON object (new reference). */
json_t *mp_probe_result_to_json(const struct mp_probe_result *res);

#endif
