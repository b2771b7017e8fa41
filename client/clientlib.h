/*
 * The client side of the mtrprobed socket, shared by mtrprobectl and
 * mtrprobe-packet: where the socket is, connecting to it, and buffered
 * non-blocking NDJSON line I/O meant to be driven by poll().
 *
 * Also the process setup and message plumbing both clients share.
 *
 * Functions return 0 (or a count) on success and -errno on failure; output
 * parameters are written only on success.  Nothing here prints anything of
 * its own: mpc_put_masked() and mpc_vmsg() write only what they are given,
 * and the callers word every message.
 */
#ifndef MTRPROBE_CLIENTLIB_H
#define MTRPROBE_CLIENTLIB_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#include <jansson.h>

/* Longest line accepted from the daemon, without its newline. */
#define MPC_LINE_MAX (16u * 1024u * 1024u)

/*
 * One connection to the daemon.  Owned by the caller (usually on its
 * stack); the buffers are owned by the connection and released by
 * mpc_conn_close().
 */
struct mpc_conn {
	int fd;            /* non-blocking socket, -1 when closed */
	char *in;          /* bytes received from the daemon */
	size_t in_start;   /* first byte not yet handed out as a line */
	size_t in_scanned; /* bytes from in_start known to hold no '\n' */
	size_t in_len;     /* bytes used in in */
	size_t in_cap;
	char *out;         /* bytes queued for the daemon */
	size_t out_start;  /* first byte not yet written */
	size_t out_len;    /* bytes used in out */
	size_t out_cap;
};

/* The socket to use: override if non-empty, else $MTRPROBED_SOCKET if
 * non-empty, else MP_DEFAULT_SOCKET. */
const char *mpc_socket_path(const char *override);

/* Put a connection in the closed state (no allocation). */
void mpc_conn_init(struct mpc_conn *c);

/* Connect to the daemon's socket at path; 0 or -errno (-ENAMETOOLONG when
 * path does not fit a sockaddr_un). */
int mpc_conn_open(struct mpc_conn *c, const char *path);

/* Close the socket and free the buffers; safe on an initialised or closed
 * connection. */
void mpc_conn_close(struct mpc_conn *c);

/* Append raw bytes to the output queue; 0 or -ENOMEM. */
int mpc_conn_queue(struct mpc_conn *c, const void *data, size_t len);

/* Append one JSON value, compact, as one line; 0, -ENOMEM or -EINVAL. */
int mpc_conn_queue_json(struct mpc_conn *c, const json_t *value);

/* Bytes queued but not yet written to the socket. */
size_t mpc_conn_pending(const struct mpc_conn *c);

/* Write as much of the queue as the socket takes now; 0 or -errno
 * (-EPIPE or -ECONNRESET when the daemon has gone). */
int mpc_conn_flush(struct mpc_conn *c);

/* The poll() events to wait for: POLLIN, plus POLLOUT while bytes are
 * queued. */
short mpc_conn_events(const struct mpc_conn *c);

/* Read what the socket has now: the byte count (0 is end of file), or
 * -EAGAIN when nothing was there, or another -errno.  Invalidates the lines
 * handed out by mpc_conn_next_line(). */
ssize_t mpc_conn_fill(struct mpc_conn *c);

/* Hand out the next complete line received: 1 with *ret_line (NUL
 * terminated in place of its '\n'; may hold other NULs) and *ret_len, 0
 * when no complete line is buffered, -EMSGSIZE when the partial line is
 * longer than MPC_LINE_MAX.  The line stays valid until the next
 * mpc_conn_fill() or mpc_conn_close(). */
int mpc_conn_next_line(struct mpc_conn *c, const char **ret_line,
		       size_t *ret_len);

/* Whether bytes of an unterminated line are buffered. */
bool mpc_conn_has_partial(const struct mpc_conn *c);

/* ---- process setup ---------------------------------------------------- */

/* Set sig's handler (or SIG_IGN, SIG_DFL) with an empty mask and no flags;
 * 0 or -errno. */
int mpc_signal_set(int sig, void (*handler)(int));

/* Ignore SIGPIPE, so that a vanished daemon or reader shows up as EPIPE;
 * 0 or -errno. */
int mpc_ignore_sigpipe(void);

/* Open /dev/null on any of fds 0-2 that is closed, so that the socket
 * never takes the place of stdin or stdout; 0 or -errno. */
int mpc_std_fds_open(void);

/* What both clients do first: mpc_std_fds_open(), then
 * mpc_ignore_sigpipe().  0, or -errno with *ret_what saying which step
 * failed ("cannot open /dev/null", "cannot ignore SIGPIPE"), for the
 * caller's message. */
int mpc_process_setup(const char **ret_what);

/* ---- messages ---------------------------------------------------------- */

/* Write s to f with control characters (and DEL) shown as '?'. */
void mpc_put_masked(FILE *f, const char *s);

/* Write "PROG: MESSAGE\n" on stderr, the message formatted into at most
 * size - 1 bytes (at most 4095) and masked as by mpc_put_masked(). */
void mpc_vmsg(const char *prog, size_t size, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

#endif
