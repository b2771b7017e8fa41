/*
 * Client connections, as transport: lines in, bytes out, back-pressure.
 * Each line goes up through the hooks of conn_setup(); answers come down
 * through conn_answer().  A connection is not read while its requests in
 * flight, or the answers it may still owe and has not had read (reserved
 * with conn_reserve(), or written and unread), are at their limits, per
 * connection and per uid.
 */
#ifndef MTRPROBED_CONN_H
#define MTRPROBED_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "access.h"

/* Who is at the other end of a connection (from SO_PEERCRED). */
struct conn_peer {
	uid_t uid;
	gid_t gid;
	pid_t pid;
	enum access_level level;  /* decided at accept and at each reload */
};

/* What a line hook says. */
enum conn_take {
	CONN_TAKEN,  /* the line is handled: one answer will follow through conn_answer() */
	CONN_LATER   /* not now (no room for its answer): offer it again once answers drain */
};

/* What the layer above does with connections.  Owned by the caller of conn_setup(); static. */
struct conn_hooks {
	enum conn_take (*line)(uint64_t conn_id, const struct conn_peer *peer, const char *line,
			       size_t len);
	/* The connection is gone: nothing written to it arrives any more. */
	void (*gone)(uint64_t conn_id);
};

/* Set the hooks (before the first accept). */
void conn_setup(const struct conn_hooks *hooks);
/* Take a freshly accepted, non-blocking client socket. */
void conn_accept(int fd);
/*
 * Reserve bytes of the connection's answer budget for a request's answer
 * (called from the line hook).  False when the connection or its uid has
 * no room now: the hook then says CONN_LATER.  A connection with nothing
 * reserved or unread always gets its reservation, so any request runs.
 */
bool conn_reserve(uint64_t conn_id, size_t bytes);
/*
 * Write one answer (copied) and release the reservation made for it.
 * Each request gets exactly one answer; this retires it.  Dropped if the
 * connection is gone.
 */
void conn_answer(uint64_t conn_id, const char *line, size_t len, size_t reserved);
/* Write a line that is not an answer (a hop event), if it fits in the budget; dropped otherwise. */
void conn_event(uint64_t conn_id, const char *line, size_t len);
/* Close every connection once its pending output is written (shutdown). */
void conn_close_all(void);
/* Free every connection at once (exit path). */
void conn_free_all(void);
/* Give back the connections' empty buffers and the tables' spare room (the daemon is idle). */
void conn_trim(void);
/* True if some connection has request bytes not read or not answered yet. */
bool conn_unread(void);
/* Apply a reloaded configuration: limits, and access levels (disconnecting the refused). */
void conn_reconfigure(void);
/* Number of open connections. */
size_t conn_count(void);
/* Connections accepted since start. */
uint64_t conn_total(void);
/* Lines answered request-too-large since start (conn answers those itself). */
uint64_t conn_too_large_count(void);
/* Bytes reserved for answers and written but unread, over all connections. */
size_t conn_answer_bytes(void);

#endif
