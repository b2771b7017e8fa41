/* The stats answer, from every module's counters; error answers counted here. */
#ifndef MTRPROBED_STATS_H
#define MTRPROBED_STATS_H

#include <jansson.h>

#include "mtrprobe/protocol.h"

/* Count one error answer with code. */
void stats_count_error(enum mp_error code);
/* The stats object (new reference) of every module's counters. */
json_t *stats_to_json(void);

#endif
