/*
 * Requests: the operations of the protocol.  A line from a connection is
 * decoded, checked against the admin policy, given room for its answer,
 * and dispatched (probe to the scheduler, trace to the trace module,
 * check_support to the pool, the rest answered here); every answer is
 * encoded here and written to its connection.
 */
#ifndef MTRPROBED_REQUEST_H
#define MTRPROBED_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include "mtrprobe/protocol.h"

/* Take the lines of every connection (installs the connection hooks). */
void request_setup(void);
/* Give back the memory kept for reuse (the daemon is idle). */
void request_trim(void);
/* Forget every event subscription (exit path, connections freed). */
void request_free(void);
/*
 * The worst-case bytes the daemon holds for req until its answer is read:
 * the answer's size and the working memory of the request.  Pure.
 */
size_t request_cost(const struct mp_request *req);

#endif
