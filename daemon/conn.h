/* Client connections: lines in, back-pressure, answers out. */
#ifndef MTRPROBED_CONN_H
#define MTRPROBED_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "mtrprobe/protocol.h"

/* Take a freshly accepted, non-blocking client socket. */
void conn_accept(int fd);
/*
 * Deliver one answer line (malloc'd, ownership taken) to connection
 * conn_id.  If the connection is gone the line is dropped.  Each request
 * gets exactly one answer; this is what retires it from the in-flight count.
 */
void conn_deliver(uint64_t conn_id, char *line, size_t len);
/* Send a line that is not an answer (a hop event); ownership taken. */
void conn_send_event(uint64_t conn_id, char *line, size_t len);
/* Deliver an error answer. */
void conn_deliver_error(uint64_t conn_id, const struct mp_id *id, int code, const char *msg);
/* Close every connection once its pending output is written (shutdown). */
void conn_close_all(void);
/* Free every connection at once (exit path). */
void conn_free_all(void);
/* True if some connection has request bytes not read or not answered yet. */
bool conn_unread(void);
/* Apply changed limits (max_request_bytes) to the open connections. */
void conn_reconfigure(void);
/* Number of open connections. */
size_t conn_count(void);
/* Connections accepted since start. */
uint64_t conn_total(void);

#endif
