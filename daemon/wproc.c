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
#include <limits.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "server.h"
#include "stream.h"
#include "wproc.h"

extern char **environ;

/* mtr-packet lines are below 4 KiB; more without a newline is garbage. */
#define WPROC_LINE_MAX 8192

/* One child process.  Owned by the worker that started it, through its link pointer. */
struct wproc {
	pid_t pid;
	struct stream st;            /* stdin and stdout */
	bool open;                   /* st is: not yet killed or closed */
	struct bufferevent *errbev;  /* stderr */
	const struct wlink_cbs *cbs;
	void *arg;
	char last_stderr[200];
	struct log_ratelimit stderr_rl;
	struct log_ratelimit garbage_rl;
};

/* Commands go out through the stream (stream.h): written at the end of
 * the loop pass that made them, one system call for all of a pass's
 * commands, without a round through epoll for the socket to be writable. */

/*
 * Take the next line of in into buf (WPROC_LINE_MAX + 1 bytes, no
 * allocation), or into *big (malloc'd) when it is longer.  Its length, or
 * -1 when in holds no whole line.
 */
static ssize_t wproc_take_line(struct evbuffer *in, char *buf, char **big)
{
	size_t eol_len = 0, len;
	struct evbuffer_ptr eol = evbuffer_search_eol(in, NULL, &eol_len, EVBUFFER_EOL_LF);

	*big = NULL;
	if (eol.pos < 0)
		return -1;
	len = (size_t)eol.pos;
	if (len > WPROC_LINE_MAX) {
		*big = evbuffer_readln(in, &len, EVBUFFER_EOL_LF);
		return *big ? (ssize_t)len : -1;
	}
	evbuffer_remove(in, buf, len + eol_len);
	buf[len] = '\0';
	return (ssize_t)len;
}

static struct wproc *wproc_of(struct stream *st)
{
	return (struct wproc *)((char *)st - offsetof(struct wproc, st));
}

/* Stop reading stdout and drop what was not written to stdin. */
static void wproc_close(struct wproc *p)
{
	if (p->open) {
		stream_free(&p->st);
		p->open = false;
	}
}

/* Lines on stdout, each copied out of the buffer (the callback may end p). */
static void wproc_read_cb(struct stream *st)
{
	char buf[WPROC_LINE_MAX + 1], *big;
	struct wproc *p = wproc_of(st);
	struct evbuffer *in = stream_input(st);
	ssize_t len;

	while (p->open && (len = wproc_take_line(in, buf, &big)) >= 0) {
		p->cbs->line(p->arg, big ? big : buf, (size_t)len);
		free(big);
	}
	if (p->open && evbuffer_get_length(in) > WPROC_LINE_MAX) {
		if (log_ratelimit_ok(&p->garbage_rl))
			log_warning("mtr-packet (pid %d): dropping %zu bytes without a newline",
				    (int)p->pid, evbuffer_get_length(in));
		evbuffer_drain(in, evbuffer_get_length(in));
	}
	if (p->open)
		p->cbs->batch_done(p->arg);
}

/* Commands went out: nothing to do (the worker counts its own). */
static void wproc_written_cb(struct stream *st, size_t n, bool drained)
{
	(void)st;
	(void)n;
	(void)drained;
}

/* stdout closed or failed: most likely the process exited (the reap tells how). */
static void wproc_closed_cb(struct stream *st)
{
	struct wproc *p = wproc_of(st);

	wproc_close(p);
	p->cbs->closed(p->arg);
}

static const struct stream_cbs wproc_stream_cbs = {
	.read = wproc_read_cb,
	.written = wproc_written_cb,
	.eof = wproc_closed_cb,
	.error = wproc_closed_cb,
};

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

/* What the spawned child needs, and what it reports back.  On the parent's stack. */
struct spawn_args {
	const char *path;        /* resolved: contains a '/' */
	char *argv[2];
	int in, err_fd;          /* its stdin/stdout and stderr, above 2 */
	pid_t parent;
	int err;                 /* errno of a failed step, 0 if it ran */
};

/* How much stack the child gets until it calls execve(). */
#define SPAWN_STACK (64 * 1024)

/*
 * The child, between clone() and execve(): it shares the daemon's memory
 * (the daemon waits, suspended, until it has called execve() or exited),
 * so it makes raw system calls only, touching nothing but args.  It takes
 * a process group of its own, asks the kernel for SIGKILL when the daemon
 * dies (PR_SET_PDEATHSIG; if the daemon died already, getppid() is no
 * longer the daemon's pid and it exits), takes its descriptors, clears its
 * signal mask and runs mtr-packet.
 */
__attribute__((no_sanitize_address, no_sanitize("undefined")))
static int spawn_child(void *arg)
{
	struct spawn_args *a = arg;
	uint64_t none = 0; /* the kernel's sigset_t */

	if (syscall(SYS_setpgid, 0, 0) < 0 ||
	    syscall(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		goto fail;
	if (syscall(SYS_getppid) != a->parent)
		syscall(SYS_exit, 127);
	if (syscall(SYS_dup3, a->in, STDIN_FILENO, 0) < 0 ||
	    syscall(SYS_dup3, a->in, STDOUT_FILENO, 0) < 0 ||
	    syscall(SYS_dup3, a->err_fd, STDERR_FILENO, 0) < 0 ||
	    syscall(SYS_rt_sigprocmask, SIG_SETMASK, &none, NULL, sizeof(none)) < 0)
		goto fail;
	syscall(SYS_execve, a->path, a->argv, environ);
fail:
	a->err = errno ? errno : EINVAL;
	syscall(SYS_exit, 127);
	return 127;
}

/* path itself if it has a '/', else the first executable of that name in $PATH. 0 or -errno. */
static int wproc_resolve(const char *path, char *buf, size_t buflen)
{
	const char *dirs = getenv("PATH");

	if (strchr(path, '/')) {
		snprintf(buf, buflen, "%s", path);
		return 0;
	}
	if (!dirs || !*dirs)
		dirs = "/usr/local/bin:/usr/bin:/bin";
	for (const char *d = dirs; *d;) {
		size_t n = strcspn(d, ":");
		int len = snprintf(buf, buflen, "%.*s%s%s", (int)n, n ? d : ".", "/", path);

		if (len > 0 && (size_t)len < buflen && access(buf, X_OK) == 0)
			return 0;
		d += n;
		if (*d == ':')
			d++;
	}
	return -ENOENT;
}

/*
 * Run path with sv1 as stdin and stdout and ep1 as stderr.  0 or -errno.
 *
 * Like posix_spawn(), with clone(CLONE_VM | CLONE_VFORK) on a stack of its
 * own, so that no page of the daemon is copied (fork() would copy its page
 * tables and make the daemon fault on every page it writes afterwards);
 * unlike posix_spawn(), the child sets PR_SET_PDEATHSIG, so that the
 * kernel kills the worker when the daemon dies, even by SIGKILL (an
 * orphaned mtr-packet spins on the CPU).  PDEATHSIG fires when the thread
 * that created the child exits: the daemon is single-threaded, so that is
 * the daemon.  (The kernel drops it at a privileged exec: a set-user-ID
 * mtr-packet, or one with file capabilities run by a non-root daemon, as
 * under mtrprobed.service, whose control group systemd kills instead.)
 * Signals the daemon ignores are set to their default around the clone,
 * with every signal blocked, so that the worker inherits none of them;
 * handled ones are reset by execve() itself.
 */
static int wproc_spawn(struct wproc *p, const char *path, int sv1, int ep1)
{
	struct spawn_args a = { .parent = getpid() };
	char resolved[PATH_MAX];
	bool ignored[NSIG] = { false };
	struct sigaction dfl = { .sa_handler = SIG_DFL }, ign = { .sa_handler = SIG_IGN };
	sigset_t all, old;
	char *stack;
	pid_t pid;
	int r;

	r = wproc_resolve(path, resolved, sizeof(resolved));
	if (r < 0)
		return r;
	a.path = resolved;
	a.argv[0] = (char *)path;
	/* Descriptors above 2 first, so that the child's dup3()s cannot clobber them. */
	a.in = fcntl(sv1, F_DUPFD_CLOEXEC, 3);
	a.err_fd = fcntl(ep1, F_DUPFD_CLOEXEC, 3);
	stack = mmap(NULL, SPAWN_STACK, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (a.in < 0 || a.err_fd < 0 || stack == MAP_FAILED) {
		r = -errno;
		goto out;
	}
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);
	for (int sig = 1; sig < NSIG; sig++) {
		struct sigaction cur;

		if (sigaction(sig, NULL, &cur) == 0 && cur.sa_handler == SIG_IGN) {
			ignored[sig] = true;
			sigaction(sig, &dfl, NULL);
		}
	}
	pid = clone(spawn_child, stack + SPAWN_STACK, CLONE_VM | CLONE_VFORK | SIGCHLD, &a);
	r = pid < 0 ? -errno : 0;
	for (int sig = 1; sig < NSIG; sig++)
		if (ignored[sig])
			sigaction(sig, &ign, NULL);
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (pid > 0 && a.err) {
		/* It never ran mtr-packet: reap it here. */
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		r = -a.err;
	} else if (pid > 0) {
		p->pid = pid;
	}
out:
	if (stack != MAP_FAILED && stack)
		munmap(stack, SPAWN_STACK);
	if (a.in >= 0)
		close(a.in);
	if (a.err_fd >= 0)
		close(a.err_fd);
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
	stream_init(&p->st, srv.base, sv[0], &wproc_stream_cbs);
	stream_read(&p->st, true);
	p->open = true;
	p->errbev = bufferevent_socket_new(srv.base, ep[0], BEV_OPT_CLOSE_ON_FREE);
	if (!p->errbev)
		close(ep[0]);
	if (p->errbev) {
		bufferevent_setcb(p->errbev, wproc_stderr_cb, NULL, wproc_stderr_event_cb, p);
		bufferevent_enable(p->errbev, EV_READ);
	}
	*ret_pid = p->pid;
	*ret_err = 0;
	return p;
}

/* Queue bytes for the process's stdin. */
static int wproc_write(void *link, const char *data, size_t len)
{
	struct wproc *p = link;

	if (!p->open)
		return -EPIPE;
	return stream_write(&p->st, data, len);
}

/* SIGKILL the process and stop reading its stdout. */
static void wproc_kill(void *link)
{
	struct wproc *p = link;

	if (p->pid > 0)
		kill(p->pid, SIGKILL);
	wproc_close(p);
}

/* Free p's buffers. */
static void wproc_free(struct wproc *p)
{
	wproc_close(p);
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
