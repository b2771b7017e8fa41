/*
 * The metrics endpoint: libevent's HTTP server on the metrics_listen
 * addresses (TCP or Unix sockets), answering GET /metrics with the text a
 * render callback writes.  Off when metrics_listen is empty.
 */
#ifndef MTRPROBED_HTTPD_H
#define MTRPROBED_HTTPD_H

#include "config.h"
#include "promtext.h"

/* Writes the whole exposition into p. */
typedef void (*httpd_render_fn)(struct promtext *p);

/*
 * Listen on every address of srv.cfg.metrics_listen (none: nothing to
 * do) and serve with render.  0, or -1 with the reason in err (nothing
 * is then left listening).
 */
int httpd_start(httpd_render_fn render, char err[CONFIG_ERR_MAX]);
/* Stop listening and close every HTTP connection. */
void httpd_stop(void);
/* Whether two configurations listen alike (same addresses, timeout). */
bool httpd_same(const struct mp_config *a, const struct mp_config *b);

#endif
