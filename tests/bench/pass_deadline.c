/*
 * mtrprobe-bench: the deadline mode (--deadline-probes N).  N probes in
 * flight at once to a target that never answers, spread over --connections
 * C connections, each held by the daemon until its deadline: how many come
 * back no-reply, how late after their deadline, and the daemon's resident
 * set meanwhile (VmRSS once it holds them all, VmHWM at the end).
 *
 * A probe's deadline is the moment the daemon read its line plus its
 * timeout.  That moment is bounded from both sides: the requests go out in
 * batches of DL_BATCH lines per connection, the next batch only once the
 * daemon has taken the previous one out of the socket (SIOCOUTQ is 0), so
 * a line was read after its batch's first write began and, within the
 * daemon's own input buffer, about when the socket was seen empty.
 * Lateness is measured from the first (an upper bound of the real
 * lateness); the largest gap between the two is reported beside it.
 */
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/resource.h>

#include "bench.h"

/* Request lines written per connection before waiting for the daemon to take them. */
#define DL_BATCH 100
/* How long answers are waited for after the last deadline, in seconds. */
#define DL_GRACE_S 30.0
/* Pause when no connection can take a batch yet, in microseconds. */
#define DL_IDLE_US 200
/* Longest answer line kept across reads. */
#define DL_LINE_MAX 4096

/* One connection of the mode. */
struct dl_conn {
	int fd;                 /* -1 once closed */
	long first, end;        /* ids [first, end) of the batch in the socket */
	bool pending;           /* that batch is not yet taken by the daemon */
	long sent;              /* requests written on it, at most per_conn */
	int64_t t_batch;        /* when its first write began */
	char tail[DL_LINE_MAX]; /* a partial answer line */
	size_t tail_len;
};

/* The mode's state and figures. */
struct dl_state {
	const struct options *o;
	long n, nconns;
	long per_conn;          /* requests each connection carries at most */
	struct dl_conn *conns;
	int64_t *t_write;       /* per id - 1: its batch's first write */
	int64_t *t_taken;       /* per id - 1: the socket seen empty after it */
	uint8_t *seen;          /* per id - 1: answered */
	double *late;           /* per answer: ms after its deadline (upper bound) */
	long nlate;
	long next_id;           /* the next id to write */
	long taken;             /* requests the daemon took out of the sockets */
	long answered, no_reply, dups, unexpected, early;
	struct word_count words[WORDS_MAX];
	int nwords;
	long other_words;
	int64_t t_first_write, t_last_write;
	double gap_max_ms;      /* most time between a batch's write and its take */
	double late_lo_max_ms;  /* the latest answer measured from the take */
	struct daemon_stats held; /* the daemon's counters when it held the most */
	long long held_max;
	long rss0, rss_held, rss_peak;
};

/* Whether the daemon has taken everything written on c. */
static bool dl_taken(const struct dl_conn *c)
{
	int q = 0;

	return ioctl(c->fd, SIOCOUTQ, &q) == 0 && q == 0;
}

/* Handle one answer line read at time t. */
static void dl_line(struct dl_state *s, const char *line, size_t len, int64_t t)
{
	char word[WORD_LEN];
	double rtt_ms, deadline_ms = (double)s->o->probe_timeout * 1e3;
	long long id;
	size_t i;

	if (!daemon_answer_parse(line, len, &id, word, &rtt_ms) || id < 1 || id >= s->next_id) {
		s->unexpected++;
		return;
	}
	i = (size_t)(id - 1);
	if (s->seen[i]) {
		s->dups++;
		return;
	}
	s->seen[i] = 1;
	s->answered++;
	if (s->next_id <= s->n)
		s->early++;
	count_word(s->words, &s->nwords, &s->other_words, word);
	if (!strcmp(word, "no-reply"))
		s->no_reply++;
	s->late[s->nlate++] = (double)(t - s->t_write[i]) / 1e6 - deadline_ms;
	if (s->t_taken[i]) {
		double lo = (double)(t - s->t_taken[i]) / 1e6 - deadline_ms;

		if (isnan(s->late_lo_max_ms) || lo > s->late_lo_max_ms)
			s->late_lo_max_ms = lo;
	}
}

/* Read what c has and handle its complete lines; false once it is closed. */
static bool dl_read_conn(struct dl_state *s, struct dl_conn *c)
{
	char buf[65536];

	for (;;) {
		ssize_t r = read(c->fd, buf, sizeof(buf));
		int64_t t = now_ns();
		char *p = buf, *end, *nl;

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return true;
		if (r <= 0)
			break;
		end = buf + r;
		while ((nl = memchr(p, '\n', (size_t)(end - p)))) {
			size_t part = (size_t)(nl - p);

			if (c->tail_len) {
				if (c->tail_len + part <= sizeof(c->tail)) {
					memcpy(c->tail + c->tail_len, p, part);
					dl_line(s, c->tail, c->tail_len + part, t);
				} else {
					s->unexpected++;
				}
				c->tail_len = 0;
			} else {
				dl_line(s, p, part, t);
			}
			p = nl + 1;
		}
		if (c->tail_len + (size_t)(end - p) > sizeof(c->tail))
			break; /* a line longer than any answer */
		memcpy(c->tail + c->tail_len, p, (size_t)(end - p));
		c->tail_len += (size_t)(end - p);
	}
	close(c->fd);
	c->fd = -1;
	return false;
}

/* Wait up to ms milliseconds for answers on any connection and handle
 * them; the number of connections still open. */
static long dl_read(struct dl_state *s, struct pollfd *pfd, int ms)
{
	long i, open = 0;

	for (i = 0; i < s->nconns; i++)
		pfd[i] = (struct pollfd){ .fd = s->conns[i].fd, .events = POLLIN };
	if (poll(pfd, (nfds_t)s->nconns, ms) < 0 && errno != EINTR)
		return 0;
	for (i = 0; i < s->nconns; i++) {
		if (s->conns[i].fd < 0)
			continue;
		if ((pfd[i].revents & (POLLIN | POLLHUP | POLLERR)) &&
		    !dl_read_conn(s, &s->conns[i]))
			continue;
		open++;
	}
	return open;
}

/* Write the next batch of requests on c; 0, or -1 after a message. */
static int dl_send_batch(struct dl_state *s, struct dl_conn *c, int64_t limit)
{
	char buf[DL_BATCH * REQ_LINE_MAX];
	size_t len = 0, off = 0;
	int64_t t = now_ns();
	long id;

	c->first = s->next_id;
	for (id = s->next_id; id <= s->n && id < c->first + DL_BATCH && c->sent < s->per_conn;
	     id++, c->sent++) {
		len += daemon_link.format(s->o, id, buf + len, sizeof(buf) - len);
		s->t_write[id - 1] = t;
	}
	c->end = s->next_id = id;
	c->pending = true;
	c->t_batch = t;
	if (!s->t_first_write)
		s->t_first_write = t;
	s->t_last_write = t;
	while (off < len) {
		struct pollfd pfd = { .fd = c->fd, .events = POLLOUT };
		ssize_t w = write(c->fd, buf + off, len - off);

		if (w > 0) {
			off += (size_t)w;
			continue;
		}
		if (w < 0 && errno != EAGAIN && errno != EINTR) {
			fprintf(stderr, PROG ": write: %s\n", strerror(errno));
			return -1;
		}
		if (now_ns() >= limit) {
			fprintf(stderr, PROG ": the daemon stopped reading a connection: %ld of "
				"%ld requests written\n", c->end - 1, s->n);
			return -1;
		}
		(void)poll(&pfd, 1, 100);
	}
	return 0;
}

/* Note the batch of c as taken by the daemon at time t. */
static void dl_batch_taken(struct dl_state *s, struct dl_conn *c, int64_t t)
{
	long id;

	for (id = c->first; id < c->end; id++)
		s->t_taken[id - 1] = t;
	s->taken += c->end - c->first;
	if ((double)(t - c->t_batch) / 1e6 > s->gap_max_ms)
		s->gap_max_ms = (double)(t - c->t_batch) / 1e6;
	c->pending = false;
}

/* Write the n requests in batches, each once the daemon took the previous
 * one of its connection; 0, or -1 after a message. */
static int dl_submit(struct dl_state *s, struct pollfd *pfd, int64_t limit)
{
	bool pending = true;
	long i;

	while (s->next_id <= s->n || pending) {
		bool progress = false;

		if (now_ns() >= limit) {
			fprintf(stderr, PROG ": the daemon took only %ld of %ld requests in %.0f s\n",
				s->taken, s->n, (double)(now_ns() - s->t_first_write) / 1e9);
			return -1;
		}
		pending = false;
		for (i = 0; i < s->nconns; i++) {
			struct dl_conn *c = &s->conns[i];

			if (c->pending && dl_taken(c)) {
				dl_batch_taken(s, c, now_ns());
				progress = true;
			}
			if (!c->pending && s->next_id <= s->n && c->sent < s->per_conn &&
			    c->fd >= 0) {
				if (dl_send_batch(s, c, limit) < 0)
					return -1;
				progress = true;
			}
			pending |= c->pending;
		}
		if (dl_read(s, pfd, 0) < s->nconns) {
			fprintf(stderr, PROG ": the daemon closed a connection\n");
			return -1;
		}
		if (!progress)
			usleep(DL_IDLE_US);
	}
	return 0;
}

/* Ask the daemon what it holds until it holds all n or limit; the most it
 * held, its counters and its RSS then go to s.  0, or -1 after a message. */
static int dl_watch_hold(struct dl_state *s, const struct daemon_stats *st0,
			 struct pollfd *pfd, int64_t limit)
{
	struct daemon_stats st;
	char err[256];

	for (;;) {
		long long held;

		if (daemon_stats(s->o->socket, &st, err, sizeof(err)) < 0) {
			fprintf(stderr, PROG ": %s\n", err);
			return -1;
		}
		held = (st.started - st0->started) - (st.completed - st0->completed);
		if (held > s->held_max) {
			s->held_max = held;
			s->held = st;
			s->rss_held = vmrss_kb(s->o->daemon_pid);
		}
		if (held >= s->n || s->answered > 0 || now_ns() >= limit)
			return 0;
		dl_read(s, pfd, HOLD_POLL_MS);
	}
}

/* Read answers until all are in, every connection closed, or limit. */
static void dl_collect(struct dl_state *s, struct pollfd *pfd, int64_t limit)
{
	while (s->answered < s->n && now_ns() < limit)
		if (dl_read(s, pfd, 100) == 0)
			break;
}

/* Print the figures: the lines run-all.sh reads, then their meaning. */
static void dl_print(struct dl_state *s)
{
	double p50 = -1, p99 = -1, pmin = -1, pmax = -1;
	int i;

	if (s->nlate > 0) {
		qsort(s->late, (size_t)s->nlate, sizeof(*s->late), cmp_double);
		p50 = quantile(s->late, s->nlate, 0.50);
		p99 = quantile(s->late, s->nlate, 0.99);
		pmin = s->late[0];
		pmax = s->late[s->nlate - 1];
	}
	printf("deadline probes %ld connections %ld timeout_s %ld answered %ld no_reply %ld "
	       "lost %ld missing %ld duplicates %ld unmatched %ld early %ld held_max %lld "
	       "at_workers %lld queued %lld submit_s %.3f take_gap_max_ms %.3f late_min_ms %.3f "
	       "late_p50_ms %.3f late_p99_ms %.3f late_max_ms %.3f late_max_from_take_ms %.3f "
	       "rss_before_kB %ld rss_held_kB %ld rss_peak_kB %ld\n",
	       s->n, s->nconns, s->o->probe_timeout, s->answered, s->no_reply,
	       (s->answered - s->no_reply) + (s->n - s->answered) + s->dups, s->n - s->answered,
	       s->dups, s->unexpected, s->early, s->held_max, s->held.in_flight, s->held.queued,
	       (double)(s->t_last_write - s->t_first_write) / 1e9, s->gap_max_ms, pmin, p50, p99,
	       pmax, s->late_lo_max_ms, s->rss0, s->rss_held, s->rss_peak);
	printf("deadline results");
	for (i = 0; i < s->nwords; i++)
		printf(" %s %ld", s->words[i].word, s->words[i].count);
	if (s->other_words)
		printf(" other %ld", s->other_words);
	printf("\n%ld probes to %s (timeout %ld s) over %ld connections; the daemon held %lld "
	       "at once (%lld out at workers, %lld queued); late: answer read minus (its "
	       "batch's first write + timeout), in ms\n", s->n, s->o->target, s->o->probe_timeout,
	       s->nconns, s->held_max, s->held.in_flight, s->held.queued);
}

/* Open the connections of s; 0, or -1 after a message. */
static int dl_open(struct dl_state *s)
{
	struct rlimit rl;
	long i;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	for (i = 0; i < s->nconns; i++)
		s->conns[i].fd = -1;
	for (i = 0; i < s->nconns; i++) {
		s->conns[i].fd = connect_daemon(s->o->socket);
		if (s->conns[i].fd < 0) {
			fprintf(stderr, PROG ": connection %ld: cannot connect to %s: %s\n", i + 1,
				s->o->socket, strerror(-s->conns[i].fd));
			return -1;
		}
	}
	return 0;
}

/* Set up s for o; false when out of memory. */
static bool dl_init(struct dl_state *s, const struct options *o)
{
	memset(s, 0, sizeof(*s));
	s->o = o;
	s->n = o->deadline_probes;
	s->nconns = o->connections < s->n ? o->connections : s->n;
	s->per_conn = (s->n + s->nconns - 1) / s->nconns;
	s->next_id = 1;
	s->late_lo_max_ms = NAN;
	s->conns = calloc((size_t)s->nconns, sizeof(*s->conns));
	s->t_write = calloc((size_t)s->n, sizeof(*s->t_write));
	s->t_taken = calloc((size_t)s->n, sizeof(*s->t_taken));
	s->seen = calloc((size_t)s->n, sizeof(*s->seen));
	s->late = calloc((size_t)s->n, sizeof(*s->late));
	return s->conns && s->t_write && s->t_taken && s->seen && s->late;
}

/* Release s and close its connections. */
static void dl_free(struct dl_state *s)
{
	long i;

	for (i = 0; s->conns && i < s->nconns; i++)
		if (s->conns[i].fd >= 0)
			close(s->conns[i].fd);
	free(s->conns);
	free(s->t_write);
	free(s->t_taken);
	free(s->seen);
	free(s->late);
}

/* Submit, watch the daemon hold them, collect the answers and report. */
static int dl_run(struct dl_state *s, struct pollfd *pfd)
{
	struct daemon_stats st0;
	double wait_s = HOLD_WAIT_S;
	int64_t limit;

	if ((double)s->o->probe_timeout / 2 < wait_s)
		wait_s = (double)s->o->probe_timeout / 2;
	if (daemon_settled(s->o->socket, &st0) < 0)
		return EXIT_INCOMPLETE;
	s->rss0 = vmrss_kb(s->o->daemon_pid);
	if (s->rss0 < 0) {
		fprintf(stderr, PROG ": cannot read VmRSS of process %ld\n", s->o->daemon_pid);
		return EXIT_INCOMPLETE;
	}
	if (dl_open(s) < 0)
		return EXIT_INCOMPLETE;
	limit = now_ns() + (int64_t)(wait_s * (double)NS_PER_S);
	if (dl_submit(s, pfd, limit) < 0 || dl_watch_hold(s, &st0, pfd, limit) < 0)
		return EXIT_INCOMPLETE;
	dl_collect(s, pfd, s->t_last_write +
		   (int64_t)(((double)s->o->probe_timeout + DL_GRACE_S) * (double)NS_PER_S));
	s->rss_peak = status_kb(s->o->daemon_pid, "VmHWM");
	dl_print(s);
	if (fflush(stdout) != 0)
		return EXIT_INCOMPLETE;
	return s->answered == s->n ? EXIT_DONE : EXIT_INCOMPLETE;
}

/* --deadline-probes: N probes to a silent target held to their deadline.
 * An exit status. */
int deadline_probes(const struct options *o)
{
	struct dl_state s;
	struct pollfd *pfd;
	int ret = EXIT_INCOMPLETE;

	pfd = calloc((size_t)o->connections, sizeof(*pfd));
	if (!dl_init(&s, o) || !pfd)
		fprintf(stderr, PROG ": out of memory for %ld probes\n", o->deadline_probes);
	else
		ret = dl_run(&s, pfd);
	dl_free(&s);
	free(pfd);
	return ret;
}
