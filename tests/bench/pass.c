/*
 * mtrprobe-bench: the engine every pass runs on.  Request lines go out as
 * the window and the pace allow, each stamped when its last byte is
 * written; answer lines come in, each stamped when read; the figures of a
 * pass are worked out from the stamps.  What the lines look like is the
 * pass's link (io.c for the daemon, pass_direct.c for mtr-packet).
 */
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

/* Set up pass p of definition def with its settings from o; false when out
 * of memory. */
bool pass_init(struct pass *p, const struct pass_def *def, const struct options *o)
{
	long window = *(const long *)(const void *)((const char *)o + def->window_field);
	double rate = def->paced ? o->rate : 0;
	long n = rate > 0 ? o->paced_n : o->n;
	char pace[32] = "";

	memset(p, 0, sizeof(*p));
	p->def = def;
	p->kind = def->kind;
	p->key = def->key;
	p->n = n;
	p->window = window;
	p->rate = rate;
	p->p50 = p->p99 = p->pmax = NAN;
	if (rate > 0)
		snprintf(pace, sizeof(pace), "rate=%g/s, ", rate);
	if (window > 0)
		snprintf(p->tag, sizeof(p->tag), "%swindow=%ld", pace, window);
	else
		snprintf(p->tag, sizeof(p->tag), "%swindow=all (pipelined)", pace);
	snprintf(p->label, sizeof(p->label), "%s, %s", def->link->label, p->tag);
	p->t_write = calloc((size_t)n, sizeof(*p->t_write));
	p->seen = calloc((size_t)n, sizeof(*p->seen));
	p->added = calloc((size_t)n, sizeof(*p->added));
	p->ring = calloc(RING_CAP, sizeof(*p->ring));
	return p->t_write && p->seen && p->added && p->ring;
}

/* Release what a pass owns. */
void pass_free(struct pass *p)
{
	free(p->t_write);
	free(p->seen);
	free(p->added);
	free(p->ring);
	p->ring = NULL;
	p->t_write = NULL;
	p->seen = NULL;
	p->added = NULL;
}

/* Record that the pass could not complete, keeping the first reason. */
void pass_fail(struct pass *p, const char *fmt, ...)
{
	va_list ap;

	if (p->failure[0])
		return;
	va_start(ap, fmt);
	vsnprintf(p->failure, sizeof(p->failure), fmt, ap);
	va_end(ap);
}

/* Count one more answer carrying result word w in the nwords words;
 * *other counts those that do not fit. */
void count_word(struct word_count *words, int *nwords, long *other, const char *w)
{
	int i;

	for (i = 0; i < *nwords; i++) {
		if (!strcmp(words[i].word, w)) {
			words[i].count++;
			return;
		}
	}
	if (*nwords == WORDS_MAX) {
		(*other)++;
		return;
	}
	snprintf(words[*nwords].word, WORD_LEN, "%s", w);
	words[*nwords].count = 1;
	(*nwords)++;
}

/* Account the answer for id with result word w read at time t; rtt_ms is
 * the round-trip time mtr-packet measured, NAN when none. */
void record_answer(struct pass *p, long long id, const char *w, double rtt_ms, int64_t t)
{
	size_t i;

	if (id < 1 || id > p->sent) {
		p->unexpected++;
		return;
	}
	i = (size_t)(id - 1);
	if (p->seen[i]) {
		p->dups++;
		return;
	}
	p->seen[i] = 1;
	p->answered++;
	p->t_last_answer = t;
	count_word(p->words, &p->nwords, &p->other_words, w);
	if (strcmp(w, "reply")) {
		p->not_reply++;
		return;
	}
	p->replies++;
	p->t_last_reply = t;
	if (!isnan(rtt_ms) && p->t_write[i])
		p->added[p->nadded++] = (double)(t - p->t_write[i]) / 1e6 - rtt_ms;
}

/* A pass's descriptors and buffers while it runs. */
struct pass_io {
	int wfd, rfd;             /* requests out, answers in (maybe the same) */
	char *out, *in;
	size_t out_off, out_len;  /* out[out_off, out_len): not yet written */
	size_t in_len;            /* in[0, in_len): a partial line */
};

/* Format the requests the window and the pace allow at time now; *wake
 * becomes the next pace slot if that is sooner. */
static void fill_requests(struct pass *p, const struct options *o, struct pass_io *io,
			  int64_t now, int64_t *wake)
{
	if (io->out_off == io->out_len) {
		io->out_off = io->out_len = 0;
	} else if (OUTBUF_SIZE - io->out_len < REQ_LINE_MAX) {
		memmove(io->out, io->out + io->out_off, io->out_len - io->out_off);
		io->out_len -= io->out_off;
		io->out_off = 0;
	}
	while (p->sent < p->n && OUTBUF_SIZE - io->out_len >= REQ_LINE_MAX &&
	       p->sent - p->stamped < RING_CAP - 1) {
		size_t len;

		if (p->window > 0 && p->sent - p->answered >= p->window)
			break;
		if (p->rate > 0) {
			int64_t slot = p->t_start +
				       (int64_t)((double)p->sent * (double)NS_PER_S / p->rate);

			if (slot > now) {
				if (slot < *wake)
					*wake = slot;
				break;
			}
		}
		len = p->def->link->format(o, p->sent + 1, io->out + io->out_len,
					   OUTBUF_SIZE - io->out_len);
		io->out_len += len;
		p->bytes_formatted += len;
		p->sent++;
		p->ring[p->sent % RING_CAP] = p->bytes_formatted;
	}
}

/* Write what the socket takes; a line counts as sent when its last byte is
 * written.  false after a write error. */
static bool write_requests(struct pass *p, struct pass_io *io)
{
	while (io->out_off < io->out_len) {
		int64_t t = now_ns();
		ssize_t w = write(io->wfd, io->out + io->out_off, io->out_len - io->out_off);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			pass_fail(p, "write: %s", strerror(errno));
			return false;
		}
		if (!p->t_first_write)
			p->t_first_write = t;
		t = now_ns();
		io->out_off += (size_t)w;
		p->bytes_written += (uint64_t)w;
		while (p->stamped < p->sent &&
		       p->ring[(p->stamped + 1) % RING_CAP] <= p->bytes_written) {
			p->t_write[p->stamped] = t;
			p->stamped++;
		}
	}
	return true;
}

/* Read once, then handle every complete line with the read time; false
 * when the pass cannot go on. */
static bool read_answers(struct pass *p, struct pass_io *io)
{
	ssize_t r = read(io->rfd, io->in + io->in_len, INBUF_SIZE - io->in_len);
	int64_t t = now_ns();
	char *s, *nl, *endp;

	if (r < 0) {
		if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
			return true;
		pass_fail(p, "read: %s", strerror(errno));
		return false;
	}
	if (r == 0) {
		pass_fail(p, "%s closed the connection", p->def->link->peer);
		return false;
	}
	io->in_len += (size_t)r;
	s = io->in;
	endp = io->in + io->in_len;
	while ((nl = memchr(s, '\n', (size_t)(endp - s)))) {
		p->def->link->line(p, s, (size_t)(nl - s), t);
		s = nl + 1;
	}
	io->in_len = (size_t)(endp - s);
	memmove(io->in, s, io->in_len);
	if (io->in_len == INBUF_SIZE) {
		pass_fail(p, "an answer line is longer than %d bytes", INBUF_SIZE);
		return false;
	}
	return true;
}

/* One turn of a pass: format, wait for room to write, answers to read or
 * the next slot, write, read.  false when the pass ends before its
 * answers are all in. */
static bool pass_step(struct pass *p, const struct options *o, struct pass_io *io,
		      int64_t deadline)
{
	struct pollfd pfd[2];
	struct timespec ts;
	int64_t now = now_ns(), wake = deadline;
	bool want_write;
	int nfd = 1, wi = 0;

	if (now >= deadline) {
		pass_fail(p, "overall timeout of %.0f s reached", o->timeout_s);
		return false;
	}
	fill_requests(p, o, io, now, &wake);
	want_write = io->out_len > io->out_off;
	pfd[0] = (struct pollfd){ .fd = io->rfd, .events = POLLIN };
	if (io->wfd == io->rfd) {
		if (want_write)
			pfd[0].events |= POLLOUT;
	} else {
		pfd[1] = (struct pollfd){ .fd = io->wfd, .events = want_write ? POLLOUT : 0 };
		nfd = 2;
		wi = 1;
	}
	ts.tv_sec = (wake - now) / NS_PER_S;
	ts.tv_nsec = (wake - now) % NS_PER_S;
	if (ppoll(pfd, (nfds_t)nfd, &ts, NULL) < 0) {
		if (errno == EINTR)
			return true;
		pass_fail(p, "poll: %s", strerror(errno));
		return false;
	}
	if (want_write && (pfd[wi].revents & (POLLOUT | POLLERR | POLLHUP))) {
		if (!write_requests(p, io))
			return false;
	} else if (!want_write && wi != 0 && (pfd[wi].revents & POLLERR)) {
		pass_fail(p, "the reading end of the request pipe was closed");
		return false;
	}
	if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR))
		return read_answers(p, io);
	return true;
}

/* Run the pass's probes over wfd (requests) and rfd (answers), which may
 * be the same socket, until all are answered, the connection ends or the
 * deadline passes. */
void run_pass(struct pass *p, const struct options *o, int wfd, int rfd, int64_t deadline)
{
	struct pass_io io = { .wfd = wfd, .rfd = rfd };
	double cpu0 = cpu_seconds();

	p->ran = true;
	io.out = malloc(OUTBUF_SIZE);
	io.in = malloc(INBUF_SIZE);
	if (!io.out || !io.in) {
		pass_fail(p, "out of memory");
	} else {
		p->t_start = now_ns();
		while (p->answered < p->n && pass_step(p, o, &io, deadline))
			;
	}
	p->cpu_s = cpu_seconds() - cpu0;
	free(io.out);
	free(io.in);
}

/* Work out a finished pass's figures. */
void pass_summarise(struct pass *p)
{
	p->complete = p->answered == p->n && !p->failure[0];
	p->missing = p->n - p->answered;
	if (p->t_first_write && p->t_last_answer > p->t_first_write) {
		p->wall_s = (double)(p->t_last_answer - p->t_first_write) / 1e9;
		p->pps = (double)p->answered / p->wall_s;
	}
	if (p->t_first_write && p->t_last_reply > p->t_first_write)
		p->reply_pps = (double)p->replies /
			       ((double)(p->t_last_reply - p->t_first_write) / 1e9);
	if (p->nadded > 0) {
		qsort(p->added, (size_t)p->nadded, sizeof(*p->added), cmp_double);
		p->p50 = quantile(p->added, p->nadded, 0.50);
		p->p99 = quantile(p->added, p->nadded, 0.99);
		p->pmax = p->added[p->nadded - 1];
	}
}

/* Probes lost in a pass: non-reply answers, missing answers, duplicates. */
long pass_lost(const struct pass *p)
{
	return p->not_reply + p->missing + p->dups;
}

/* The pass of r with JSON key key, or NULL when it is not in the run. */
const struct pass *run_find(const struct run *r, const char *key)
{
	int i;

	for (i = 0; i < r->npasses; i++)
		if (!strcmp(r->passes[i].key, key))
			return &r->passes[i];
	return NULL;
}
