/*
 * One mtr-packet child process behind a socketpair (its stdin and stdout)
 * and a pipe (its stderr), in its own process group so that a terminal's ^C
 * reaches only the daemon, killed by the kernel if the daemon dies.  Lines it writes on stdout go to the worker
 * through the link's callbacks; lines on stderr are logged (rate-limited)
 * and the last one is kept for the message of a failed start.
 */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
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

/*
 * Run path with sv1 as stdin and stdout and ep1 as stderr.  0 or -errno.
 *
 * fork(), not posix_spawn() or vfork(): the child calls
 * prctl(PR_SET_PDEATHSIG, SIGKILL) before exec, so that the kernel kills
 * the worker when the daemon dies, even by SIGKILL (an orphaned
 * mtr-packet spins on the CPU).  A vfork()ed child borrows the daemon's
 * memory and may call next to nothing; a fork()ed one may call anything,
 * the daemon having one thread, and workers start rarely enough that
 * copying the page tables does not matter.  PDEATHSIG fires when the
 * thread that forked exits: the daemon is single-threaded, so that is the
 * daemon.  If it died before the prctl(), getppid() is no longer the pid
 * recorded before fork() and the child exits at once.  (The kernel drops
 * PDEATHSIG at a privileged exec: a set-user-ID mtr-packet, or one with
 * file capabilities run by a non-root daemon, as under mtrprobed.service,
 * where systemd kills the service's control group instead.  It holds for
 * a daemon run as root, and for an mtr-packet without file capabilities.)
 * An error before or in exec() comes back as its errno over a close-on-exec
 * pipe, whose EOF means the exec happened.
 */
static int wproc_spawn(struct wproc *p, const char *path, int sv1, int ep1)
{
	sigset_t none, all, old;
	int xp[2], r, err = 0;
	char *argv[] = { (char *)path, NULL };
	pid_t parent = getpid(), pid;
	ssize_t n;

	if (pipe2(xp, O_CLOEXEC) < 0)
		return -errno;
	sigemptyset(&none);
	sigfillset(&all);
	/* No handler of the daemon's runs in the child; none is lost here. */
	sigprocmask(SIG_SETMASK, &all, &old);
	pid = fork();
	if (pid == 0) {
		/* Descriptors above 2 first, so that the dup2()s cannot clobber them. */
		int in = sv1 > STDERR_FILENO ? sv1 : fcntl(sv1, F_DUPFD_CLOEXEC, 3);
		int er = ep1 > STDERR_FILENO ? ep1 : fcntl(ep1, F_DUPFD_CLOEXEC, 3);
		int xf = xp[1] > STDERR_FILENO ? xp[1] : fcntl(xp[1], F_DUPFD_CLOEXEC, 3);
		struct sigaction dfl = { .sa_handler = SIG_DFL };

		for (int sig = 1; sig < NSIG; sig++)
			sigaction(sig, &dfl, NULL); /* SIGKILL, SIGSTOP, libc's own: refused */
		if (in < 0 || er < 0 || xf < 0 || setpgid(0, 0) < 0 ||
		    prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
			err = errno;
		else if (getppid() != parent)
			_exit(127);
		else if (dup2(in, STDIN_FILENO) < 0 || dup2(in, STDOUT_FILENO) < 0 ||
			 dup2(er, STDERR_FILENO) < 0 || sigprocmask(SIG_SETMASK, &none, NULL) < 0)
			err = errno;
		else if (strchr(path, '/'))
			execve(path, argv, environ);
		else
			execvpe(path, argv, environ);
		if (!err)
			err = errno;
		while (xf >= 0 && write(xf, &err, sizeof(err)) < 0 && errno == EINTR)
			;
		_exit(127);
	}
	r = pid < 0 ? -errno : 0;
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(xp[1]);
	if (pid > 0) {
		while ((n = read(xp[0], &err, sizeof(err))) < 0 && errno == EINTR)
			;
		if (n == (ssize_t)sizeof(err)) {
			/* It never ran mtr-packet: reap it here. */
			while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
				;
			r = -err;
		} else {
			p->pid = pid;
		}
	}
	close(xp[0]);
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
