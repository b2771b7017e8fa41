/*
 * Checks of the protocol encoders' output, shared by the targets that end
 * in a response line: every line is one compact JSON object ending in
 * '\n' whose first key is the request's id, and the direct probe result
 * encoder writes the same bytes as the general (jansson) one.
 */
#ifndef MTRPROBE_FUZZ_ENCODE_H
#define MTRPROBE_FUZZ_ENCODE_H

#include <jansson.h>

#include "daemon/encode.h"
#include "daemon/proto.h"
#include "fuzz.h"

/* Check one encoded response line (and free it); returns nothing. */
static inline void fuzz_check_line(char *line, size_t len, const struct mp_id *id)
{
	json_error_t jerr;
	json_t *obj, *want;

	FUZZ_CHECK(line != NULL, "encoder returned NULL");
	FUZZ_CHECK(len == strlen(line), "length %zu, strlen %zu", len, strlen(line));
	FUZZ_CHECK(len >= 2 && line[len - 1] == '\n', "no final newline: %s", line);
	FUZZ_CHECK(memchr(line, '\n', len - 1) == NULL, "newline inside: %s", line);
	FUZZ_CHECK(strncmp(line, "{\"id\":", 6) == 0, "id is not first: %s", line);
	obj = json_loadb(line, len - 1, JSON_REJECT_DUPLICATES, &jerr);
	FUZZ_CHECK(json_is_object(obj), "not a JSON object (%s): %s", jerr.text, line);
	want = mp_id_to_json(id);
	FUZZ_CHECK(want != NULL, "out of memory");
	FUZZ_CHECK(json_equal(json_object_get(obj, "id"), want), "id not echoed: %s", line);
	json_decref(want);
	json_decref(obj);
	free(line);
}

/* Encode res both ways, compare the bytes, check the line. */
static inline void fuzz_check_probe_result(const struct mp_id *id,
					   const struct mp_probe_result *res)
{
	size_t la = 0, lb = 0;
	char *a = mp_encode_probe_result(id, res, &la);
	char *b = mp_encode_object(id, mp_probe_result_to_json(res), &lb);

	FUZZ_CHECK(a != NULL && b != NULL, "encoder returned NULL");
	FUZZ_CHECK(la == lb && memcmp(a, b, la) == 0,
		   "direct and general probe result encodings differ:\n  direct:  %s  general: %s",
		   a, b);
	free(b);
	fuzz_check_line(a, la, id);
}

#endif
