/*
 * mtrprobe-bench: the relay passes.  The direct passes' probes, in
 * mtr-packet's own protocol, through a bare relay: a process of ours that
 * copies bytes between a Unix socket and one mtr-packet's pipes and does
 * nothing else (poll, read, write).  The relay parses nothing, schedules
 * nothing and checks nothing, so its added latency is the floor of any
 * design that puts one more process between a client and mtr-packet: two
 * more process wake-ups per probe.  The daemon's own share of its added
 * latency is the difference to this line, not to the direct one.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include "bench.h"

/* What the relay copies with one read. */
#define RELAY_CHUNK (64 * 1024)

static const struct pass_link relay_link = {
	.label = "bare relay",
	.peer = "the relay",
	.format = direct_format,
	.line = direct_line,
};

/* Write all of buf to blocking fd; false on error. */
static bool write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, buf, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		buf += w;
		len -= (size_t)w;
	}
	return true;
}

/* Copy what one readable descriptor has to the other; false at end of
 * file or on error. */
static bool relay_copy(int from, int to, char *buf)
{
	ssize_t r = read(from, buf, RELAY_CHUNK);

	if (r < 0 && (errno == EINTR || errno == EAGAIN))
		return true;
	return r > 0 && write_all(to, buf, (size_t)r);
}

/* The relay process: client socket sock <-> mtr-packet's stdin wfd and
 * stdout rfd, until either side closes.  Never returns. */
static void relay_main(int sock, int wfd, int rfd)
{
	static char buf[RELAY_CHUNK];
	struct pollfd fds[2] = {
		{ .fd = sock, .events = POLLIN },
		{ .fd = rfd, .events = POLLIN },
	};

	/* Blocking descriptors: one poll, one read, one write per wake-up. */
	if (fcntl(wfd, F_SETFL, 0) < 0 || fcntl(rfd, F_SETFL, 0) < 0)
		_exit(1);
	for (;;) {
		if (poll(fds, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			_exit(1);
		}
		if (fds[0].revents && !relay_copy(sock, wfd, buf))
			_exit(0);
		if (fds[1].revents && !relay_copy(rfd, sock, buf))
			_exit(0);
	}
}

/* Start the relay in front of mtr-packet pid's pipes; the client's end of
 * the socket, or -1 with the reason in p. */
static int spawn_relay(struct pass *p, int wfd, int rfd, pid_t *relay)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		pass_fail(p, "socketpair: %s", strerror(errno));
		return -1;
	}
	big_socket_buffers(sv[0]);
	big_socket_buffers(sv[1]);
	*relay = fork();
	if (*relay < 0) {
		pass_fail(p, "fork: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (*relay == 0) {
		close(sv[0]);
		relay_main(sv[1], wfd, rfd);
	}
	close(sv[1]);
	if (set_nonblock(sv[0]) < 0) {
		pass_fail(p, "fcntl: %s", strerror(errno));
		close(sv[0]);
		return -1;
	}
	return sv[0];
}

/* Run a pass through the relay in front of one mtr-packet of our own. */
static void relay_pass(struct pass *p, const struct options *o, int64_t deadline)
{
	pid_t pid, relay = -1;
	int wfd, rfd, fd;

	p->ran = true;
	if (spawn_mtr_packet(p, o->mtr_packet, &pid, &wfd, &rfd) < 0)
		return;
	fd = spawn_relay(p, wfd, rfd, &relay);
	close(wfd);
	close(rfd);
	if (fd >= 0) {
		run_pass(p, o, fd, fd, deadline);
		close(fd);
	}
	if (relay > 0)
		reap_child(relay, true); /* it exits once its socket is closed */
	reap_child(pid, p->answered == p->n && !p->failure[0]);
}

static const struct pass_def relay_defs[] = {
	{
		.name = "relay",
		.key = "relay_throughput",
		.kind = PASS_DIRECT,
		.link = &relay_link,
		.by_default = PASS_DEFAULT_NO,
		.window_field = offsetof(struct options, direct_window),
		.run = relay_pass,
	},
	{
		.name = "relay-latency",
		.key = "relay_latency",
		.kind = PASS_DIRECT,
		.link = &relay_link,
		.by_default = PASS_DEFAULT_NO,
		.paced = true,
		.needs_rate = true,
		.window_field = offsetof(struct options, direct_window),
		.run = relay_pass,
	},
};

/* The table's note: what the relay line means. */
static void relay_table_notes(const struct run *r)
{
	const struct pass *rel = run_find(r, "relay_latency");

	if (!rel || !rel->ran)
		rel = run_find(r, "relay_throughput");
	if (rel && rel->ran)
		printf("note: \"bare relay\" copies bytes between a socket and mtr-packet's pipes\n"
		       "      and does nothing else: the floor of any design with one more\n"
		       "      process between client and mtr-packet.\n");
}

/* The same for JSON. */
static void relay_json_notes(const struct run *r, json_t *notes)
{
	const struct pass *rel = run_find(r, "relay_latency");

	if (!rel || !rel->ran)
		rel = run_find(r, "relay_throughput");
	if (rel && rel->ran)
		json_array_append_new(notes, json_string(
			"the bare relay copies bytes between a socket and mtr-packet's pipes and "
			"does nothing else: the floor of any design with one more process between "
			"client and mtr-packet"));
}

const struct pass_family family_relay = {
	.defs = relay_defs,
	.ndefs = (int)ARRAY_LEN(relay_defs),
	.table_notes = relay_table_notes,
	.json_notes = relay_json_notes,
};
