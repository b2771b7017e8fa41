/*
 * The listening socket.  Before anything else starts, a connect() tells a
 * live daemon (refuse to start) from a stale socket file (remove it).  The
 * socket is created with socket_mode (the umask set to its complement
 * around bind()), and its device and inode are recorded.  The directory
 * may be writable by others, so the path is never trusted again: a reload
 * chmods, and shutdown removes, only the socket bound here, opened without
 * following a symbolic link and checked by device and inode; whatever else
 * is found at the path is left alone.  A socket passed by systemd is
 * served as it is, never chmodded nor removed.  When file descriptors run
 * out, accepting pauses briefly instead of spinning.
 */
#include <errno.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "listener.h"
#include "log.h"
#include "server.h"

/* Capped by net.core.somaxconn; the libc SOMAXCONN constant is only 128. */
#define LISTEN_BACKLOG 65535

static struct {
	struct evconnlistener *lev;
	struct event *resume_ev;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	dev_t dev;
	ino_t ino;
	bool own; /* bound here: remove at exit */
	struct log_ratelimit emfile_rl;
	void (*accept_cb)(int fd);
} L = { .emfile_rl = { .interval = 10, .burst = 1 } };

/* Hand every accepted socket to accept_cb. */
void listener_setup(void (*accept_cb)(int fd))
{
	L.accept_cb = accept_cb;
}

/* Fill a sockaddr_un for path; -ENAMETOOLONG if it does not fit. */
static int make_addr(const char *path, struct sockaddr_un *sun)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun->sun_path))
		return -ENAMETOOLONG;
	memcpy(sun->sun_path, path, strlen(path));
	return 0;
}

/* Refuse to start if a daemon answers on path; remove a stale socket. */
void listener_check_path(const char *path)
{
	struct sockaddr_un sun;
	struct stat st;
	int fd, r;

	if (make_addr(path, &sun) < 0)
		fatal("socket path too long (at most %zu bytes): %s", sizeof(sun.sun_path) - 1, path);
	if (lstat(path, &st) < 0)
		return;
	if (!S_ISSOCK(st.st_mode))
		fatal("%s exists and is not a socket; not touching it", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		fatal("socket: %s", strerror(errno));
	r = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	if (r == 0) {
		close(fd);
		fatal("another mtrprobed is already serving %s", path);
	}
	r = errno;
	close(fd);
	if (r != ECONNREFUSED)
		fatal("cannot check socket %s: %s", path, strerror(r));
	if (unlink(path) < 0 && errno != ENOENT)
		fatal("cannot remove stale socket %s: %s", path, strerror(errno));
	log_info("removed stale socket %s", path);
}

/* Create the parent directories of path (mode 0755). */
static int make_parents(const char *path)
{
	char dir[sizeof(L.path)];
	size_t n = strlen(path);

	if (n >= sizeof(dir))
		return -ENAMETOOLONG;
	memcpy(dir, path, n + 1);
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	return 0;
}

/* A client connected. */
static void listener_accept_cb(struct evconnlistener *lev, evutil_socket_t fd,
			       struct sockaddr *sa, int socklen, void *arg)
{
	L.accept_cb(fd);
}

/* Accept again after running out of descriptors. */
static void listener_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	if (L.lev)
		evconnlistener_enable(L.lev);
}

/* accept() failed: pause on EMFILE/ENFILE, ignore the rest. */
static void listener_error_cb(struct evconnlistener *lev, void *arg)
{
	int err = EVUTIL_SOCKET_ERROR();
	struct timeval tv = { 0, 100000 };

	if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
		if (log_ratelimit_ok(&L.emfile_rl))
			log_warning("accept: %s; pausing new connections for 100 ms", strerror(err));
		evconnlistener_disable(lev);
		evtimer_add(L.resume_ev, &tv);
		return;
	}
	log_debug("accept: %s", strerror(err));
}

/* Serve on fd (listening); own: remove path at exit. */
static int listener_start(int fd, const char *path, bool own)
{
	snprintf(L.path, sizeof(L.path), "%s", path);
	L.own = own;
	L.resume_ev = evtimer_new(srv.base, listener_resume_cb, NULL);
	L.lev = evconnlistener_new(srv.base, listener_accept_cb, NULL,
				   LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, fd);
	if (!L.lev || !L.resume_ev) {
		if (!L.lev)
			close(fd);
		return -ENOMEM;
	}
	evconnlistener_set_error_cb(L.lev, listener_error_cb);
	return 0;
}

/* Serve on a listening socket systemd passed; it is never unlinked here. */
int listener_adopt(int fd)
{
	struct sockaddr_un sun;
	socklen_t len = sizeof(sun);
	char path[sizeof(sun.sun_path) + 1] = "";

	if (getsockname(fd, (struct sockaddr *)&sun, &len) == 0 && len > offsetof(struct sockaddr_un, sun_path))
		snprintf(path, sizeof(path), "%.*s", (int)(len - offsetof(struct sockaddr_un, sun_path)),
			 sun.sun_path);
	if (evutil_make_socket_nonblocking(fd) < 0 || evutil_make_socket_closeonexec(fd) < 0)
		return -errno;
	log_info("listening on %s (socket from systemd)", path[0] ? path : "an inherited socket");
	return listener_start(fd, path, false);
}

/*
 * An O_PATH descriptor of the socket bound here, or -1 with a warning
 * ("WHEN: PATH ...; WHAT") when the path no longer leads to it: a symbolic
 * link (never followed), another file, or nothing.
 */
static int listener_own_file(const char *when, const char *what)
{
	struct stat st;
	int fd = open(L.path, O_PATH | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0) {
		log_warning("%s: cannot open %s: %s; %s", when, L.path, strerror(errno), what);
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISSOCK(st.st_mode) || st.st_dev != L.dev ||
	    st.st_ino != L.ino) {
		log_warning("%s: %s is not the socket this daemon bound; %s", when, L.path, what);
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * chmod the socket bound here, through an O_PATH descriptor: the file
 * checked is the file changed.  (fchmod() refuses O_PATH descriptors, and
 * fchmodat(fd, "", mode, AT_EMPTY_PATH) needs Linux 6.6 and glibc 2.39;
 * /proc/self/fd/N leads to the inode itself, whatever the path is now.)
 */
static void listener_set_mode(unsigned mode, const char *when)
{
	char proc[40];
	int fd = listener_own_file(when, "leaving its mode alone");

	if (fd < 0)
		return;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	if (chmod(proc, (mode_t)mode) < 0)
		log_warning("%s: chmod %s: %s", when, L.path, strerror(errno));
	close(fd);
}

/* Bind and listen on path. */
int listener_open(const char *path, unsigned mode)
{
	struct sockaddr_un sun;
	struct stat st;
	mode_t old;
	int fd, r;

	r = make_addr(path, &sun);
	if (r == 0)
		r = make_parents(path);
	if (r < 0) {
		log_error("cannot create the directory of %s: %s", path, strerror(-r));
		return r;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* Created with its mode: no chmod by path after the fact. */
	old = umask(~(mode_t)mode & 0777);
	r = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (r < 0 || lstat(path, &st) < 0 || listen(fd, LISTEN_BACKLOG) < 0) {
		r = -errno;
		log_error("cannot listen on %s: %s", path, strerror(-r));
		close(fd);
		return r;
	}
	if (!S_ISSOCK(st.st_mode) || st.st_uid != geteuid()) {
		log_error("cannot listen on %s: the file there is not the socket just bound", path);
		close(fd);
		return -EEXIST;
	}
	L.dev = st.st_dev;
	L.ino = st.st_ino;
	r = listener_start(fd, path, true);
	/* A default ACL on the directory overrides the umask. */
	if (r == 0 && (st.st_mode & 07777) != mode)
		listener_set_mode(mode, "socket_mode");
	if (r == 0)
		log_info("listening on %s", path);
	return r;
}

/* Apply a new mode to the socket file, if it is ours. */
void listener_chmod(unsigned mode)
{
	if (L.own)
		listener_set_mode(mode, "reload");
}

/* Stop accepting; remove the socket file if it is still ours. */
void listener_close(void)
{
	int fd;

	if (L.lev)
		evconnlistener_free(L.lev);
	L.lev = NULL;
	if (L.resume_ev)
		event_free(L.resume_ev);
	L.resume_ev = NULL;
	/* The file could still be swapped before unlink(): there is no funlink(). */
	if (L.own && (fd = listener_own_file("shutdown", "not removing it")) >= 0) {
		if (unlink(L.path) < 0)
			log_warning("shutdown: cannot remove %s: %s", L.path, strerror(errno));
		close(fd);
	}
	L.own = false;
}
