/*
 * mtrprobe-bench: the memory modes.  They read the daemon's resident set
 * (VmRSS of --daemon-pid) instead of running passes:
 *   --hold-probes N        N probes in flight on one connection, to a target
 *                          that does not answer (a documentation address that
 *                          the caller routes into a network namespace of its
 *                          own, where echo requests are ignored);
 *   --hold-connections N   N idle connections, first N that never wrote, then
 *                          N more that each had one version request answered.
 * The daemon's stats request tells when it holds them all.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>

#include "bench.h"

/* Print a memory figure: the line run-all.sh reads, then its meaning. */
static void print_memory(const char *what, long count, long rss0, long rss1)
{
	long long delta = ((long long)rss1 - rss0) * 1024;

	printf("memory %s count %ld rss_before_kB %ld rss_with_kB %ld delta_bytes %lld "
	       "bytes_each %.0f\n", what, count, rss0, rss1, delta, (double)delta / (double)count);
}

/* Write n probe requests on fd, reading any (early) answers meanwhile and
 * counting them in *answers; 0 (written, or a write that failed: the
 * count tells), or -1 after a message. */
static int hold_write(const struct options *o, int fd, long n, int64_t deadline, double wait_s,
		      long *answers)
{
	char line[REQ_LINE_MAX];
	long sent = 0;
	size_t off = 0, len = 0;

	while (sent < n || off < len) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN | POLLOUT };

		if (now_ns() >= deadline) {
			fprintf(stderr, PROG ": the daemon took only %ld of %ld requests in %.0f s\n",
				sent, n, wait_s);
			return -1;
		}
		if (off == len) {
			len = daemon_link.format(o, sent + 1, line, sizeof(line));
			off = 0;
			sent++;
		}
		if (poll(&pfd, 1, 100) < 0 && errno != EINTR)
			break;
		if ((pfd.revents & (POLLIN | POLLHUP | POLLERR)) && !drain_answers(fd, answers)) {
			fprintf(stderr, PROG ": the daemon closed the connection\n");
			return -1;
		}
		if (pfd.revents & POLLOUT) {
			ssize_t w = write(fd, line + off, len - off);

			if (w > 0)
				off += (size_t)w;
			else if (w < 0 && errno != EAGAIN && errno != EINTR)
				break;
		}
	}
	return 0;
}

/* Wait until the daemon has read the n probes and answered none; 0 with
 * its stats in *st, or -1 after a message. */
static int hold_wait(const struct options *o, const struct daemon_stats *st0, long n,
		     int64_t deadline, double wait_s, struct daemon_stats *st)
{
	char err[256];

	for (;;) {
		long long held;

		if (daemon_stats(o->socket, st, err, sizeof(err)) < 0) {
			fprintf(stderr, PROG ": %s\n", err);
			return -1;
		}
		held = (st->started - st0->started) - (st->completed - st0->completed);
		if (held >= n)
			return 0;
		if (now_ns() >= deadline || st->completed > st0->completed) {
			fprintf(stderr, PROG ": the daemon holds %lld of %ld probes (%lld answered) "
				"after %.0f s\n", held, n, st->completed - st0->completed, wait_s);
			return -1;
		}
		sleep_ms(HOLD_POLL_MS);
	}
}

/* --hold-probes: N probes in flight to a silent target on one connection;
 * the daemon's VmRSS before and while it holds them.  An exit status. */
int hold_probes(const struct options *o)
{
	struct daemon_stats st0, st;
	char err[256];
	long n = o->hold_probes, answers = 0, rss0, rss1;
	int64_t deadline;
	double wait_s = HOLD_WAIT_S;
	int fd;

	if ((double)o->probe_timeout / 2 < wait_s)
		wait_s = (double)o->probe_timeout / 2;
	if (daemon_settled(o->socket, &st0) < 0)
		return EXIT_INCOMPLETE;
	rss0 = vmrss_kb(o->daemon_pid);
	if (rss0 < 0) {
		fprintf(stderr, PROG ": cannot read VmRSS of process %ld\n", o->daemon_pid);
		return EXIT_INCOMPLETE;
	}
	fd = connect_daemon(o->socket);
	if (fd < 0) {
		fprintf(stderr, PROG ": cannot connect to %s: %s\n", o->socket, strerror(-fd));
		return EXIT_INCOMPLETE;
	}
	deadline = now_ns() + (int64_t)(wait_s * (double)NS_PER_S);
	if (hold_write(o, fd, n, deadline, wait_s, &answers) < 0 ||
	    hold_wait(o, &st0, n, deadline, wait_s, &st) < 0) {
		close(fd);
		return EXIT_INCOMPLETE;
	}
	rss1 = vmrss_kb(o->daemon_pid);
	(void)drain_answers(fd, &answers);
	if (daemon_stats(o->socket, &st, err, sizeof(err)) < 0 || answers ||
	    st.completed != st0.completed) {
		fprintf(stderr, PROG ": %ld probes were answered while held: the target is not "
			"silent\n", answers);
		close(fd);
		return EXIT_INCOMPLETE;
	}
	print_memory("probes", n, rss0, rss1);
	printf("held %ld probes to %s (timeout %ld s) on one connection: %lld out at workers, "
	       "%lld queued in the daemon, 0 answered\n", n, o->target, o->probe_timeout,
	       st.in_flight, st.queued);
	close(fd);
	return fflush(stdout) == 0 ? EXIT_DONE : EXIT_INCOMPLETE;
}

/* Open n connections into fds; with ask, each gets a version request and
 * its answer is read.  0, or -1 after a message. */
static int open_idle(const struct options *o, int *fds, long n, bool ask)
{
	static const char req[] = "{\"op\":\"version\",\"id\":\"idle\"}\n";
	long i;

	for (i = 0; i < n; i++) {
		char buf[512];
		size_t got = 0;

		fds[i] = connect_daemon(o->socket);
		if (fds[i] < 0) {
			fprintf(stderr, PROG ": connection %ld: cannot connect to %s: %s\n", i + 1,
				o->socket, strerror(-fds[i]));
			return -1;
		}
		if (!ask)
			continue;
		if (write(fds[i], req, sizeof(req) - 1) != (ssize_t)(sizeof(req) - 1)) {
			fprintf(stderr, PROG ": connection %ld: write: %s\n", i + 1, strerror(errno));
			return -1;
		}
		while (!memchr(buf, '\n', got)) {
			struct pollfd pfd = { .fd = fds[i], .events = POLLIN };
			ssize_t r;

			if (poll(&pfd, 1, (int)(HELLO_TIMEOUT_S * 1000)) <= 0) {
				fprintf(stderr, PROG ": connection %ld: no answer\n", i + 1);
				return -1;
			}
			r = read(fds[i], buf + got, sizeof(buf) - got);
			if (r <= 0 && !(r < 0 && (errno == EAGAIN || errno == EINTR))) {
				fprintf(stderr, PROG ": connection %ld: closed\n", i + 1);
				return -1;
			}
			if (r > 0)
				got += (size_t)r;
			if (got == sizeof(buf))
				got = 0;
		}
	}
	return 0;
}

/* Wait until the daemon counts at least want connections; its RSS then, or
 * -1 after a message. */
static long rss_at_connections(const struct options *o, long long want)
{
	struct daemon_stats st;
	int64_t deadline = now_ns() + (int64_t)(HOLD_WAIT_S * (double)NS_PER_S);
	char err[256];

	for (;;) {
		if (daemon_stats(o->socket, &st, err, sizeof(err)) < 0) {
			fprintf(stderr, PROG ": %s\n", err);
			return -1;
		}
		if (st.connected >= want)
			return vmrss_kb(o->daemon_pid);
		if (now_ns() >= deadline) {
			fprintf(stderr, PROG ": the daemon counts %lld connections, not %lld\n",
				st.connected, want);
			return -1;
		}
		sleep_ms(HOLD_POLL_MS);
	}
}

/* --hold-connections: the daemon's VmRSS before and with N connections
 * that never wrote, then with N more that had one version request
 * answered.  An exit status. */
int hold_connections(const struct options *o)
{
	struct daemon_stats st0;
	struct rlimit rl;
	long n = o->hold_conns, rss0, rss1 = -1, rss2 = -1, i;
	int *fds, ret = EXIT_INCOMPLETE;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	fds = malloc(2 * (size_t)n * sizeof(*fds));
	if (!fds) {
		fprintf(stderr, PROG ": out of memory\n");
		return EXIT_INCOMPLETE;
	}
	for (i = 0; i < 2 * n; i++)
		fds[i] = -1;
	if (daemon_settled(o->socket, &st0) < 0)
		goto out;
	rss0 = vmrss_kb(o->daemon_pid);
	if (rss0 < 0) {
		fprintf(stderr, PROG ": cannot read VmRSS of process %ld\n", o->daemon_pid);
		goto out;
	}
	if (open_idle(o, fds, n, false) < 0)
		goto out;
	rss1 = rss_at_connections(o, st0.connected + n);
	if (rss1 < 0 || open_idle(o, fds + n, n, true) < 0)
		goto out;
	rss2 = rss_at_connections(o, st0.connected + 2 * n);
	if (rss2 < 0)
		goto out;
	print_memory("connections_silent", n, rss0, rss1);
	print_memory("connections_used", n, rss1, rss2);
	printf("first %ld connections that never wrote, then %ld more that each had one "
	       "version request answered, all left open and idle\n", n, n);
	ret = fflush(stdout) == 0 ? EXIT_DONE : EXIT_INCOMPLETE;
out:
	for (i = 0; i < 2 * n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(fds);
	return ret;
}
