/*
 * Monitor definitions as JSON objects, for the monitor operations of the
 * protocol: read through the definition files' own parser (so that both
 * accept and refuse the same definitions, with the same messages), and
 * written from a definition's text.  Pure.
 */
#ifndef MTRPROBED_MONJSON_H
#define MTRPROBED_MONJSON_H

#include <jansson.h>

#include "mondef.h"

/*
 * Read obj ({"name": ..., "target": ..., "labels": {...}, ...}) into d.
 * 0, or -EINVAL with "monitor.FIELD: message" (or "monitor: message") in
 * err.  Types are strict: integers for integer keys, numbers for number
 * keys, strings for the others (ip_version also takes 4 or 6).
 */
int monjson_read(json_t *obj, struct mondef *d, char err[MONDEF_ERR_MAX]);
/* d as a JSON object (new reference): every key, labels as an object; NULL on failure. */
json_t *monjson_write(const struct mondef *d);

#endif
