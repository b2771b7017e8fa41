/*
 * mtrprobe-bench: the direct passes.  N probes written into one mtr-packet
 * process of our own, at most --direct-window in flight; with --rate also
 * paced, the measurement floor of the daemon's paced latency pass.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include "bench.h"

/* mtr-packet's probe command for id: its target round-robin, with the
 * source address the daemon would give. */
size_t direct_format(const struct options *o, long id, char *buf, size_t cap)
{
	long t = (id - 1) % o->ntargets;
	int len;

	len = snprintf(buf, cap,
		       "%ld send-probe ip-%d %s local-ip-%d %s protocol %s timeout %ld\n",
		       id, o->ip_version, o->targets[t], o->ip_version, o->locals[t],
		       o->protocol, o->probe_timeout);
	return len < 0 ? 0 : (size_t)len;
}

/* Handle one reply line from mtr-packet, read at time t:
 * "TOKEN WORD [NAME VALUE]...", with "round-trip-time USEC" on replies. */
void direct_line(struct pass *p, const char *line, size_t len, int64_t t)
{
	char buf[DIRECT_LINE_MAX + 1];
	char *save = NULL, *tok, *word, *name, *val, *end;
	double rtt_ms = NAN;
	long long id;

	if (len > DIRECT_LINE_MAX) {
		p->unexpected++;
		return;
	}
	memcpy(buf, line, len);
	buf[len] = '\0';
	tok = strtok_r(buf, " \r", &save);
	word = strtok_r(NULL, " \r", &save);
	if (!tok || !word) {
		p->unexpected++;
		return;
	}
	errno = 0;
	id = strtoll(tok, &end, 10);
	if (errno || *end) {
		p->unexpected++;
		return;
	}
	while ((name = strtok_r(NULL, " \r", &save)) && (val = strtok_r(NULL, " \r", &save))) {
		if (!strcmp(name, "round-trip-time")) {
			double us = strtod(val, &end);

			if (!*end && end != val)
				rtt_ms = us / 1000.0;
		}
	}
	record_answer(p, id, word, rtt_ms, t);
}

static const struct pass_link direct_link = {
	.label = "direct mtr-packet",
	.peer = "mtr-packet",
	.format = direct_format,
	.line = direct_line,
};

/* Start mtr-packet with pipes on its stdin and stdout; 0, or -1 with the
 * reason in p. */
int spawn_mtr_packet(struct pass *p, const char *path, pid_t *pid, int *wfd, int *rfd)
{
	posix_spawn_file_actions_t fa;
	char *argv[] = { (char *)path, NULL };
	int to_child[2], from_child[2], err;

	if (pipe2(to_child, O_CLOEXEC) < 0) {
		pass_fail(p, "pipe: %s", strerror(errno));
		return -1;
	}
	if (pipe2(from_child, O_CLOEXEC) < 0) {
		pass_fail(p, "pipe: %s", strerror(errno));
		close(to_child[0]);
		close(to_child[1]);
		return -1;
	}
	big_pipe(to_child[1]);
	big_pipe(from_child[0]);
	err = posix_spawn_file_actions_init(&fa);
	if (!err)
		err = posix_spawn_file_actions_adddup2(&fa, to_child[0], STDIN_FILENO);
	if (!err)
		err = posix_spawn_file_actions_adddup2(&fa, from_child[1], STDOUT_FILENO);
	if (!err) {
		err = posix_spawnp(pid, path, &fa, NULL, argv, environ);
		posix_spawn_file_actions_destroy(&fa);
	}
	close(to_child[0]);
	close(from_child[1]);
	if (err) {
		pass_fail(p, "cannot run %s: %s", path, strerror(err));
		close(to_child[1]);
		close(from_child[0]);
		return -1;
	}
	if (set_nonblock(to_child[1]) < 0 || set_nonblock(from_child[0]) < 0) {
		pass_fail(p, "fcntl: %s", strerror(errno));
		close(to_child[1]);
		close(from_child[0]);
		kill(*pid, SIGKILL);
		waitpid(*pid, NULL, 0);
		return -1;
	}
	*wfd = to_child[1];
	*rfd = from_child[0];
	return 0;
}

/* Let a child of ours exit (mtr-packet on stdin EOF, the relay when its
 * socket closes) for up to CHILD_EXIT_WAIT_MS when gentle, then kill it:
 * mtr-packet busy-loops while probes are in flight. */
void reap_child(pid_t pid, bool gentle)
{
	int waited = 0;

	while (gentle && waited < CHILD_EXIT_WAIT_MS) {
		pid_t r = waitpid(pid, NULL, WNOHANG);

		if (r == pid || (r < 0 && errno != EINTR))
			return;
		usleep(10000);
		waited += 10;
	}
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

/* Run a direct pass through one mtr-packet process of our own. */
static void direct_pass(struct pass *p, const struct options *o, int64_t deadline)
{
	pid_t pid;
	int wfd, rfd;

	if (spawn_mtr_packet(p, o->mtr_packet, &pid, &wfd, &rfd) < 0) {
		p->ran = true;
		return;
	}
	run_pass(p, o, wfd, rfd, deadline);
	close(wfd);
	close(rfd);
	reap_child(pid, p->answered == p->n && !p->failure[0]);
}

static const struct pass_def direct_defs[] = {
	{
		.name = "direct",
		.key = "direct_throughput",
		.kind = PASS_DIRECT,
		.link = &direct_link,
		.by_default = PASS_DEFAULT_YES,
		.reference = true,
		.window_field = offsetof(struct options, direct_window),
		.run = direct_pass,
	},
	{
		.name = "direct-latency",
		.key = "direct_latency",
		.kind = PASS_DIRECT,
		.link = &direct_link,
		.by_default = PASS_DEFAULT_WITH_RATE,
		.paced = true,
		.needs_rate = true,
		.window_field = offsetof(struct options, direct_window),
		.run = direct_pass,
	},
};

/* The table's notes: the paced direct pass is the floor; the direct
 * window is kept small. */
static void direct_table_notes(const struct run *r)
{
	const struct pass *dir = run_find(r, "direct_throughput");
	const struct pass *dirlat = run_find(r, "direct_latency");
	const struct pass *lat = run_find(r, "daemon_latency");

	if (dirlat && dirlat->ran)
		printf("note: \"%s\" is the measurement floor (pipes,\n"
		       "      parsing, mtr-packet's own work); the daemon's own share is the\n"
		       "      difference to \"%s\".\n", dirlat->label,
		       lat ? lat->label : "the daemon's paced line");
	if (dir && dir->ran)
		printf("note: direct: one mtr-packet, at most %ld probes in flight: mtr-packet 0.95\n"
		       "      loses replies when bursts exceed ~%ld in flight on loopback.\n",
		       dir->window, DIRECT_SAFE_WINDOW);
}

/* The JSON note: the direct window is kept small. */
static void direct_json_notes(const struct run *r, json_t *notes)
{
	const struct pass *dir = run_find(r, "direct_throughput");

	if (dir && dir->ran)
		json_array_append_new(notes, json_string(
			"direct passes keep at most the direct window in flight: mtr-packet 0.95 "
			"loses replies when bursts exceed ~100 in flight on loopback"));
}

const struct pass_family family_direct = {
	.defs = direct_defs,
	.ndefs = (int)ARRAY_LEN(direct_defs),
	.table_notes = direct_table_notes,
	.json_notes = direct_json_notes,
};
