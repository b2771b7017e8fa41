/*
 * The metrics endpoint: libevent's HTTP server on the metrics_listen
 * addresses (TCP or Unix sockets), answering GET /metrics with the text a
 * source writes, sent in chunks of about HTTPD_CHUNK bytes: each is
 * written once the one before has gone out, so that neither the event
 * loop nor the memory holds a whole large scrape.  Off when
 * metrics_listen is empty.
 */
#ifndef MTRPROBED_HTTPD_H
#define MTRPROBED_HTTPD_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "promtext.h"

/* Where the text of GET /metrics comes from, piece by piece. */
struct httpd_source {
	void *(*begin)(void);   /* a new cursor; NULL: out of memory */
	/* Append the next piece until p holds budget bytes; true once the last is written. */
	bool (*next)(void *cursor, struct promtext *p, size_t budget);
	void (*end)(void *cursor);
};

/*
 * Listen on every address of srv.cfg.metrics_listen (none: nothing to
 * do) and serve with render.  0, or -1 with the reason in err (nothing
 * is then left listening).
 */
int httpd_start(const struct httpd_source *src, char err[CONFIG_ERR_MAX]);
/* Stop listening and close every HTTP connection. */
void httpd_stop(void);
/* Whether two configurations listen alike (same addresses, timeout). */
bool httpd_same(const struct mp_config *a, const struct mp_config *b);

#endif
