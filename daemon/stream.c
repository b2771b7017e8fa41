/*
 * A connected socket under two persistent events, one for reading and one
 * for writing, each added only while it is wanted: reading while the owner
 * wants input, the peer has not closed, and the input is below read_max;
 * writing while output waits.  Buffers are made on first use and kept.
 */
#include <errno.h>
#include <unistd.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/util.h>

#include "stream.h"

/* Most bytes read at once (as a bufferevent does). */
#define STREAM_READ_CHUNK 16384

/* Streams with output written in this pass of the loop, and the event that writes it. */
static struct {
	struct event *flush_ev;
	TAILQ_HEAD(stream_flush, stream) flush;
} F = { .flush = TAILQ_HEAD_INITIALIZER(F.flush) };

/* True for the errors after which the socket is simply tried again later. */
static bool retriable(int err)
{
	return err == EAGAIN || err == EWOULDBLOCK || err == EINTR;
}

/* Add or remove the events as the state asks. */
static void stream_update(struct stream *s)
{
	bool want_read = s->reading && !s->eof && !s->failed &&
			 (s->read_max == 0 || stream_input_len(s) < s->read_max);
	bool want_write = !s->failed && !s->flushing && stream_output_len(s) > 0;

	if (want_read != s->rev_on) {
		if (want_read)
			event_add(&s->rev, NULL);
		else
			event_del(&s->rev);
		s->rev_on = want_read;
	}
	if (want_write != s->wev_on) {
		if (want_write)
			event_add(&s->wev, NULL);
		else
			event_del(&s->wev);
		s->wev_on = want_write;
	}
}

/* The socket failed: no more events; the owner hears of it (and frees s). */
static void stream_fail(struct stream *s)
{
	s->failed = true;
	stream_update(s);
	s->cbs->error(s);
}

/* Read at most howmuch (<= STREAM_READ_CHUNK) bytes from fd onto the end
 * of in: one read() into a buffer on the stack, then only what came is
 * added (evbuffer_read() would ask the kernel first how much there is, a
 * second system call on every wake-up; reserving the whole chunk in the
 * buffer would hold that much for every connection with half a line).
 * What read() returns; errno set when negative. */
static ssize_t stream_read_into(struct evbuffer *in, evutil_socket_t fd, size_t howmuch)
{
	char buf[STREAM_READ_CHUNK];
	ssize_t n = read(fd, buf, howmuch < sizeof(buf) ? howmuch : sizeof(buf));

	if (n > 0 && evbuffer_add(in, buf, (size_t)n) < 0) {
		errno = ENOMEM;
		return -1;
	}
	return n;
}

/* The socket is readable. */
static void stream_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct stream *s = arg;
	size_t have = stream_input_len(s);
	size_t howmuch = STREAM_READ_CHUNK;
	ssize_t n;

	if (s->read_max > 0) {
		if (have >= s->read_max) {
			stream_update(s); /* full: wait until the owner drains it */
			return;
		}
		if (s->read_max - have < howmuch)
			howmuch = s->read_max - have;
	}
	if (!s->in && !(s->in = evbuffer_new())) {
		stream_fail(s);
		return;
	}
	n = stream_read_into(s->in, fd, howmuch);
	if (n > 0) {
		stream_update(s);
		s->cbs->read(s);
	} else if (n == 0) {
		s->eof = true;
		stream_update(s);
		s->cbs->eof(s);
	} else if (!retriable(errno)) {
		stream_fail(s);
	}
}

/* The socket is writable (or the output is flushed at the end of a pass). */
static void stream_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct stream *s = arg;
	int n = evbuffer_write(s->out, fd);

	if (n < 0) {
		if (!retriable(errno))
			stream_fail(s);
		else
			stream_update(s); /* from a flush: now wait until it is writable */
		return;
	}
	stream_update(s);
	if (n > 0)
		s->cbs->written(s, (size_t)n, stream_output_len(s) <= s->write_low);
}

/* Take s off the flush list. */
static void stream_unflush(struct stream *s)
{
	if (s->flushing) {
		TAILQ_REMOVE(&F.flush, s, flink);
		s->flushing = false;
	}
}

/* The end of a pass: write each stream's output as if its socket had said it was writable. */
static void stream_flush_cb(evutil_socket_t fd, short what, void *arg)
{
	struct stream *s;

	while ((s = TAILQ_FIRST(&F.flush))) {
		stream_unflush(s);
		if (s->failed || stream_output_len(s) == 0)
			continue;
		/* May free s (its owner's callbacks), or put it back on the list. */
		stream_write_cb(event_get_fd(&s->wev), EV_WRITE, s);
	}
}

/* Take fd. */
void stream_init(struct stream *s, struct event_base *base, int fd, const struct stream_cbs *cbs)
{
	s->in = s->out = NULL;
	s->cbs = cbs;
	s->read_max = s->write_low = 0;
	s->reading = s->eof = s->failed = s->rev_on = s->wev_on = s->flushing = false;
	event_assign(&s->rev, base, fd, EV_READ | EV_PERSIST, stream_read_cb, s);
	event_assign(&s->wev, base, fd, EV_WRITE | EV_PERSIST, stream_write_cb, s);
}

/* Close and free. */
void stream_free(struct stream *s)
{
	stream_unflush(s);
	event_del(&s->rev);
	event_del(&s->wev);
	evutil_closesocket(event_get_fd(&s->rev));
	if (s->in)
		evbuffer_free(s->in);
	if (s->out)
		evbuffer_free(s->out);
	s->in = s->out = NULL;
	s->rev_on = s->wev_on = false;
}

/* Read, or stop. */
void stream_read(struct stream *s, bool on)
{
	s->reading = on;
	stream_update(s);
}

/* The input limit and the output's low watermark. */
void stream_set_limits(struct stream *s, size_t read_max, size_t write_low)
{
	s->read_max = read_max;
	s->write_low = write_low;
	stream_update(s);
}

/* Append to the output. */
int stream_write(struct stream *s, const void *data, size_t len)
{
	if (len == 0)
		return 0;
	if (!s->out && !(s->out = evbuffer_new()))
		return -ENOMEM;
	if (evbuffer_add(s->out, data, len) < 0)
		return -ENOMEM;
	if (s->wev_on || s->flushing)
		return 0;
	if (!F.flush_ev)
		F.flush_ev = event_new(event_get_base(&s->wev), -1, 0, stream_flush_cb, NULL);
	if (!F.flush_ev) {
		stream_update(s); /* written when the socket is writable */
		return 0;
	}
	s->flushing = true;
	TAILQ_INSERT_TAIL(&F.flush, s, flink);
	event_active(F.flush_ev, EV_TIMEOUT, 0);
	return 0;
}

/* Free the empty buffers. */
void stream_shrink(struct stream *s)
{
	if (s->in && evbuffer_get_length(s->in) == 0) {
		evbuffer_free(s->in);
		s->in = NULL;
	}
	if (s->out && evbuffer_get_length(s->out) == 0) {
		evbuffer_free(s->out);
		s->out = NULL;
	}
}

/* Consume input. */
void stream_drain(struct stream *s, size_t n)
{
	if (s->in)
		evbuffer_drain(s->in, n);
	if (!s->rev_on && s->reading && !s->eof && !s->failed)
		stream_update(s);
}

size_t stream_input_len(const struct stream *s)
{
	return s->in ? evbuffer_get_length(s->in) : 0;
}

size_t stream_output_len(const struct stream *s)
{
	return s->out ? evbuffer_get_length(s->out) : 0;
}
