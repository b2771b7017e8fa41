/*
 * The Prometheus exposition of the daemon: its own counters and gauges
 * (probes, workers, DNS cache, connections, build) and every monitor's.
 */
#ifndef MTRPROBED_METRICS_H
#define MTRPROBED_METRICS_H

#include "promtext.h"

/* Write the whole exposition into p (the httpd render callback). */
void metrics_render(struct promtext *p);

#endif
