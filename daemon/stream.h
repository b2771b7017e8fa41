/*
 * A connected socket as a stream of bytes, for client connections and for
 * the workers' stdin and stdout: what it reads goes to an input buffer,
 * what it is given to write waits in an output buffer until the socket
 * takes it.  Lean where bufferevents are
 * not: two events and two pointers; each buffer exists from the first
 * byte it holds, so a connection that never wrote holds no buffer, and no
 * timer.  What happens comes back through the callbacks of stream_init();
 * after any callback the stream may have been freed by its owner.
 */
#ifndef MTRPROBED_STREAM_H
#define MTRPROBED_STREAM_H

#include <event2/event.h>
#include <event2/event_struct.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/queue.h>

struct evbuffer;
struct event_base;
struct stream;

/* What a stream tells its owner.  Static, the owner's. */
struct stream_cbs {
	/* Bytes arrived: the input (stream_input()) holds them. */
	void (*read)(struct stream *s);
	/* n bytes of output went out; drained: at most the low watermark is left. */
	void (*written)(struct stream *s, size_t n, bool drained);
	/* The peer closed its side: reading has stopped; writing goes on. */
	void (*eof)(struct stream *s);
	/* The socket failed (reading or writing): no event comes any more; the owner frees the stream. */
	void (*error)(struct stream *s);
};

/* Embedded in its owner's object. */
struct stream {
	struct event rev, wev;       /* readable, writable */
	struct evbuffer *in, *out;   /* NULL until they first hold bytes */
	const struct stream_cbs *cbs;
	size_t read_max;             /* input at this size: stop reading until it drains */
	size_t write_low;            /* drained at or below this much output */
	bool reading;                /* the owner wants input */
	bool eof;                    /* the peer closed its side */
	bool failed;                 /* the socket failed: no event any more */
	bool rev_on, wev_on;         /* the events are added */
	bool flushing;               /* on the flush list (see stream_write()) */
	TAILQ_ENTRY(stream) flink;
};

/* Take the non-blocking socket fd (closed by stream_free()); not reading yet. */
void stream_init(struct stream *s, struct event_base *base, int fd, const struct stream_cbs *cbs);
/* Close the socket and free the buffers; unwritten output is dropped. */
void stream_free(struct stream *s);
/* Read (on) or stop reading. */
void stream_read(struct stream *s, bool on);
/* Stop reading at read_max bytes of input (0: no limit); drained at write_low. */
void stream_set_limits(struct stream *s, size_t read_max, size_t write_low);
/*
 * Append len bytes to the output.  0 or -ENOMEM.  The output is written
 * at the end of the current pass of the loop (every stream written to in
 * a pass, once each), straight to the socket; only what the socket does
 * not take then waits for it to be writable.
 */
int stream_write(struct stream *s, const void *data, size_t len);
/* The input: NULL while nothing was ever read. */
static inline struct evbuffer *stream_input(const struct stream *s)
{
	return s->in;
}
/* Free the buffers that hold nothing (they are made again when needed). */
void stream_shrink(struct stream *s);
/* Remove n bytes from the head of the input (reading may resume). */
void stream_drain(struct stream *s, size_t n);
size_t stream_input_len(const struct stream *s);
size_t stream_output_len(const struct stream *s);
static inline int stream_fd(const struct stream *s)
{
	return (int)event_get_fd(&s->rev);
}

#endif
