/*
 * One mtr-packet child process behind a socketpair (its stdin and stdout)
 * and a pipe (its stderr), in its own process group so that a terminal's ^C
 * reaches only the daemon.  Lines it writes on stdout go to the worker
 * through the link's callbacks; lines on stderr are logged (rate-limited)
 * and the last one is kept for the message of a failed start.
 */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "server.h"
#include "wproc.h"

extern char **environ;

/* mtr-packet lines are below 4 KiB; more without a newline is garbage. */
#define WPROC_LINE_MAX 8192

/* One child process.  Owned by the worker that started it, through its link pointer. */
struct wproc {
	pid_t pid;
	struct bufferevent *bev;     /* stdin and stdout; NULL once killed or closed */
	struct bufferevent *errbev;  /* stderr */
	const struct wlink_cbs *cbs;
	void *arg;
	char last_stderr[200];
	struct log_ratelimit stderr_rl;
	struct log_ratelimit garbage_rl;
};

/* Lines on stdout. */
static void wproc_read_cb(struct bufferevent *bev, void *arg)
{
	struct wproc *p = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t len;
	char *line;

	while (p->bev && (line = evbuffer_readln(in, &len, EVBUFFER_EOL_LF))) {
		p->cbs->line(p->arg, line, len);
		free(line);
	}
	if (p->bev && evbuffer_get_length(in) > WPROC_LINE_MAX) {
		if (log_ratelimit_ok(&p->garbage_rl))
			log_warning("mtr-packet (pid %d): dropping %zu bytes without a newline",
				    (int)p->pid, evbuffer_get_length(in));
		evbuffer_drain(in, evbuffer_get_length(in));
	}
	if (p->bev)
		p->cbs->batch_done(p->arg);
}

/* stdout closed or failed: most likely the process exited (the reap tells how). */
static void wproc_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct wproc *p = arg;

	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
		bufferevent_free(p->bev);
		p->bev = NULL;
		p->cbs->closed(p->arg);
	}
}

/* Lines on stderr: logged, the last one kept. */
static void wproc_stderr_cb(struct bufferevent *bev, void *arg)
{
	struct wproc *p = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t len;
	char *line;

	while ((line = evbuffer_readln(in, &len, EVBUFFER_EOL_LF))) {
		for (char *c = line; *c; c++)
			if ((unsigned char)*c < 0x20)
				*c = ' ';
		snprintf(p->last_stderr, sizeof(p->last_stderr), "%s", line);
		if (log_ratelimit_ok(&p->stderr_rl))
			log_warning("mtr-packet (pid %d) says: %s", (int)p->pid, p->last_stderr);
		free(line);
	}
	if (evbuffer_get_length(in) > WPROC_LINE_MAX)
		evbuffer_drain(in, evbuffer_get_length(in));
}

/* stderr closed: take in the rest, stop watching it. */
static void wproc_stderr_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct wproc *p = arg;

	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
		wproc_stderr_cb(bev, arg);
		bufferevent_free(p->errbev);
		p->errbev = NULL;
	}
}

/* Spawn path with sv1 as stdin and stdout and ep1 as stderr. 0 or -errno. */
static int wproc_spawn(struct wproc *p, const char *path, int sv1, int ep1)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, all;
	char *argv[] = { (char *)path, NULL };
	int r;

	sigemptyset(&none);
	sigfillset(&all);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, sv1, STDIN_FILENO);
	posix_spawn_file_actions_adddup2(&fa, sv1, STDOUT_FILENO);
	posix_spawn_file_actions_adddup2(&fa, ep1, STDERR_FILENO);
	posix_spawnattr_init(&attr);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &all);
	posix_spawnattr_setpgroup(&attr, 0);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
					       POSIX_SPAWN_SETPGROUP);
	r = -posix_spawnp(&p->pid, path, &fa, &attr, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	return r;
}

/* Start the process: fds, spawn, bufferevents. */
static void *wproc_start(const char *path, const struct wlink_cbs *cbs, void *arg,
			 pid_t *ret_pid, int *ret_err)
{
	struct wproc *p = calloc(1, sizeof(*p));
	int sv[2], ep[2], r;

	if (!p) {
		*ret_err = -ENOMEM;
		return NULL;
	}
	p->cbs = cbs;
	p->arg = arg;
	p->stderr_rl = (struct log_ratelimit){ .interval = 10, .burst = 5 };
	p->garbage_rl = (struct log_ratelimit){ .interval = 10, .burst = 5 };
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		*ret_err = -errno;
		free(p);
		return NULL;
	}
	if (pipe2(ep, O_CLOEXEC) < 0) {
		*ret_err = -errno;
		close(sv[0]);
		close(sv[1]);
		free(p);
		return NULL;
	}
	r = wproc_spawn(p, path, sv[1], ep[1]);
	close(sv[1]);
	close(ep[1]);
	if (r < 0) {
		close(sv[0]);
		close(ep[0]);
		free(p);
		*ret_err = r;
		return NULL;
	}
	evutil_make_socket_nonblocking(sv[0]);
	evutil_make_socket_nonblocking(ep[0]);
	p->bev = bufferevent_socket_new(srv.base, sv[0], BEV_OPT_CLOSE_ON_FREE);
	if (!p->bev)
		close(sv[0]);
	p->errbev = bufferevent_socket_new(srv.base, ep[0], BEV_OPT_CLOSE_ON_FREE);
	if (!p->errbev)
		close(ep[0]);
	if (p->bev) {
		bufferevent_setcb(p->bev, wproc_read_cb, NULL, wproc_event_cb, p);
		bufferevent_enable(p->bev, EV_READ | EV_WRITE);
	}
	if (p->errbev) {
		bufferevent_setcb(p->errbev, wproc_stderr_cb, NULL, wproc_stderr_event_cb, p);
		bufferevent_enable(p->errbev, EV_READ);
	}
	*ret_pid = p->pid;
	/* Without its stdout the process is of no use: the caller kills it. */
	*ret_err = p->bev ? 0 : -ENOMEM;
	return p;
}

/* Queue bytes for the process's stdin. */
static int wproc_write(void *link, const char *data, size_t len)
{
	struct wproc *p = link;

	if (!p->bev)
		return -EPIPE;
	return bufferevent_write(p->bev, data, len) < 0 ? -ENOMEM : 0;
}

/* SIGKILL the process and stop reading its stdout. */
static void wproc_kill(void *link)
{
	struct wproc *p = link;

	if (p->pid > 0)
		kill(p->pid, SIGKILL);
	if (p->bev) {
		bufferevent_free(p->bev);
		p->bev = NULL;
	}
}

/* Free p's buffers. */
static void wproc_free(struct wproc *p)
{
	if (p->bev)
		bufferevent_free(p->bev);
	if (p->errbev)
		bufferevent_free(p->errbev);
	free(p);
}

/* The process was reaped: take in what it last wrote on stderr, then free. */
static void wproc_reaped(void *link, char *buf, size_t buflen)
{
	struct wproc *p = link;

	p->pid = 0;
	if (p->errbev) {
		struct evbuffer *in = bufferevent_get_input(p->errbev);
		evutil_socket_t fd = bufferevent_getfd(p->errbev);

		while (evbuffer_get_length(in) < WPROC_LINE_MAX && evbuffer_read(in, fd, 4096) > 0)
			;
		if (evbuffer_get_length(in) > 0)
			evbuffer_add(in, "\n", 1);
		wproc_stderr_cb(p->errbev, p);
	}
	snprintf(buf, buflen, "%s", p->last_stderr);
	wproc_free(p);
}

/* Kill and reap at once (exit path). */
static void wproc_destroy(void *link)
{
	struct wproc *p = link;

	if (p->pid > 0) {
		kill(p->pid, SIGKILL);
		while (waitpid(p->pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	wproc_free(p);
}

const struct wlink_ops wproc_ops = {
	.start = wproc_start,
	.write = wproc_write,
	.kill = wproc_kill,
	.reaped = wproc_reaped,
	.destroy = wproc_destroy,
};
