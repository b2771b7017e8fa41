/*
 * The Prometheus exposition of the daemon: its own counters and gauges
 * (probes, workers, DNS cache, connections, build) and every monitor's,
 * written in pieces so that a scrape of many monitors never holds the
 * event loop or the whole text at once.
 */
#ifndef MTRPROBED_METRICS_H
#define MTRPROBED_METRICS_H

#include <stdbool.h>
#include <stddef.h>

#include "promtext.h"

/* A scrape in progress: metrics_begin() makes one, metrics_end() frees it. NULL: out of memory. */
void *metrics_begin(void);
/* Append the next piece (until p holds budget bytes); true once the last is written. */
bool metrics_next(void *cursor, struct promtext *p, size_t budget);
void metrics_end(void *cursor);

#endif
