/* The daemon's process-wide state: event base, configuration, run state. */
#ifndef MTRPROBED_SERVER_H
#define MTRPROBED_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"

struct event_base;

/* One per process, owned by main.c. */
struct server {
	struct event_base *base;
	struct mp_config cfg;
	double started;        /* monotonic time of start */
	bool stopping;         /* SIGTERM/SIGINT received: no new work */
};

extern struct server srv;

#endif
