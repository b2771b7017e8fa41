/* Daemon-wide counters and the stats response. */
#ifndef MTRPROBED_STATS_H
#define MTRPROBED_STATS_H

#include <jansson.h>

/* Count one probe answered with result word. */
void stats_count_result(const char *word);
/* Count one error answer with code. */
void stats_count_error(int code);
/* The stats object (new reference) of every module's counters. */
json_t *stats_to_json(void);

#endif
