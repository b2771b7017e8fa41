/*
 * Response encoders: results to NDJSON answer lines, "id" first.  Pure: no
 * I/O, no logging, no global state.
 */
#ifndef MTRPROBED_ENCODE_H
#define MTRPROBED_ENCODE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "mtrprobe/protocol.h"

/* Room for any probe answer whose id is an integer or a plain string of up to 64 bytes. */
#define MP_PROBE_ANSWER_MAX 1024

/*
 * Write the answer to a probe into buf (cap bytes): the line ending in
 * '\n' (not NUL-terminated), without printf and without allocating.
 * Returns its length, or 0 when the answer does not fit or needs escaping
 * (an id or a word that is not plain ASCII, a time of 1e12 ms or more):
 * mp_encode_probe_result() then writes it.
 */
size_t mp_encode_probe_result_into(char *buf, size_t cap, const struct mp_id *id,
				   const struct mp_probe_result *res);

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
