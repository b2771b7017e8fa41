/* Socket lookup, connection and buffered NDJSON line I/O for the clients. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "mtrprobe/protocol.h"
#include "clientlib.h"

/* Free space kept ahead of each read from the socket. */
#define READ_CHUNK 65536

/* Make buf hold at least need bytes; 0 or -ENOMEM.  Grows geometrically. */
static int buf_reserve(char **buf, size_t *cap, size_t need)
{
	size_t ncap = *cap ? *cap : 4096;
	char *nbuf;

	if (need <= *cap)
		return 0;
	while (ncap < need) {
		if (ncap > SIZE_MAX / 2)
			return -ENOMEM;
		ncap *= 2;
	}
	nbuf = realloc(*buf, ncap);
	if (!nbuf)
		return -ENOMEM;
	*buf = nbuf;
	*cap = ncap;
	return 0;
}

/* The socket to use: the override, $MTRPROBED_SOCKET or the default. */
const char *mpc_socket_path(const char *override)
{
	const char *env;

	if (override && *override)
		return override;
	env = getenv(MP_SOCKET_ENV);
	if (env && *env)
		return env;
	return MP_DEFAULT_SOCKET;
}

/* Put a connection in the closed state. */
void mpc_conn_init(struct mpc_conn *c)
{
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

/* Connect a new blocking socket to path, retrying when interrupted. */
static int connect_unix(int fd, const char *path)
{
	struct sockaddr_un sun;
	size_t len = strlen(path);

	if (len >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, len + 1);
	while (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		if (errno == EISCONN)
			return 0; /* an interrupted connect completed */
		if (errno != EINTR)
			return -errno;
	}
	return 0;
}

/* Connect to the daemon's socket and make it non-blocking. */
int mpc_conn_open(struct mpc_conn *c, const char *path)
{
	int fd, flags, r;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	r = connect_unix(fd, path);
	if (r == 0) {
		flags = fcntl(fd, F_GETFL);
		if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
			r = -errno;
	}
	if (r < 0) {
		close(fd);
		return r;
	}
	mpc_conn_close(c);
	c->fd = fd;
	return 0;
}

/* Close the socket and release both buffers. */
void mpc_conn_close(struct mpc_conn *c)
{
	if (c->fd >= 0)
		close(c->fd); /* nothing useful to do on failure */
	free(c->in);
	free(c->out);
	mpc_conn_init(c);
}

/* Append bytes to the output queue, first dropping what was written. */
int mpc_conn_queue(struct mpc_conn *c, const void *data, size_t len)
{
	int r;

	if (c->out_start > 0) {
		memmove(c->out, c->out + c->out_start, c->out_len - c->out_start);
		c->out_len -= c->out_start;
		c->out_start = 0;
	}
	if (len > SIZE_MAX - c->out_len)
		return -ENOMEM;
	r = buf_reserve(&c->out, &c->out_cap, c->out_len + len);
	if (r < 0)
		return r;
	memcpy(c->out + c->out_len, data, len);
	c->out_len += len;
	return 0;
}

/* Append one JSON object or array as a compact line. */
int mpc_conn_queue_json(struct mpc_conn *c, const json_t *value)
{
	char *text;
	int r;

	if (!json_is_object(value) && !json_is_array(value))
		return -EINVAL;
	text = json_dumps(value, JSON_COMPACT);
	if (!text)
		return -ENOMEM;
	r = mpc_conn_queue(c, text, strlen(text));
	if (r == 0)
		r = mpc_conn_queue(c, "\n", 1);
	free(text);
	return r;
}

/* Bytes queued and not yet written. */
size_t mpc_conn_pending(const struct mpc_conn *c)
{
	return c->out_len - c->out_start;
}

/* Write queued bytes until the queue is empty or the socket is full. */
int mpc_conn_flush(struct mpc_conn *c)
{
	ssize_t n;

	if (c->fd < 0)
		return -EBADF;
	while (c->out_start < c->out_len) {
		n = send(c->fd, c->out + c->out_start, c->out_len - c->out_start,
			 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			return -errno;
		}
		c->out_start += (size_t)n;
	}
	c->out_start = 0;
	c->out_len = 0;
	return 0;
}

/* The events to poll the socket for. */
short mpc_conn_events(const struct mpc_conn *c)
{
	return (short)(POLLIN | (mpc_conn_pending(c) ? POLLOUT : 0));
}

/* Read once from the socket into the input buffer. */
ssize_t mpc_conn_fill(struct mpc_conn *c)
{
	ssize_t n;
	int r;

	if (c->fd < 0)
		return -EBADF;
	if (c->in_start > 0) {
		memmove(c->in, c->in + c->in_start, c->in_len - c->in_start);
		c->in_len -= c->in_start;
		c->in_start = 0;
	}
	r = buf_reserve(&c->in, &c->in_cap, c->in_len + READ_CHUNK);
	if (r < 0)
		return r;
	for (;;) {
		n = read(c->fd, c->in + c->in_len, c->in_cap - c->in_len);
		if (n >= 0)
			break;
		if (errno == EINTR)
			continue;
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	}
	c->in_len += (size_t)n;
	return n;
}

/* Hand out the next complete line, NUL-terminated in place. */
int mpc_conn_next_line(struct mpc_conn *c, const char **ret_line,
		       size_t *ret_len)
{
	size_t avail = c->in_len - c->in_start;
	char *nl;

	if (avail == 0)
		return 0;
	nl = memchr(c->in + c->in_start + c->in_scanned, '\n',
		    avail - c->in_scanned);
	if (!nl) {
		c->in_scanned = avail;
		return avail > MPC_LINE_MAX ? -EMSGSIZE : 0;
	}
	*nl = '\0';
	*ret_line = c->in + c->in_start;
	*ret_len = (size_t)(nl - *ret_line);
	c->in_start += *ret_len + 1;
	c->in_scanned = 0;
	return 1;
}

/* Whether an unterminated line is buffered. */
bool mpc_conn_has_partial(const struct mpc_conn *c)
{
	return c->in_len > c->in_start;
}

/* ---- process setup ---------------------------------------------------- */

/* Set sig's handler with an empty mask and no flags. */
int mpc_signal_set(int sig, void (*handler)(int))
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = handler;
	if (sigemptyset(&sa.sa_mask) < 0 || sigaction(sig, &sa, NULL) < 0)
		return -errno;
	return 0;
}

/* Ignore SIGPIPE: a vanished daemon or reader shows up as EPIPE. */
int mpc_ignore_sigpipe(void)
{
	return mpc_signal_set(SIGPIPE, SIG_IGN);
}

/* Open /dev/null on any of fds 0-2 that is closed. */
int mpc_std_fds_open(void)
{
	int fd;

	for (fd = 0; fd <= 2; fd++) {
		if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
			continue;
		/* errno stays EBADF from fcntl() if open() gives another fd */
		if (open("/dev/null", O_RDWR) != fd)
			return -errno;
	}
	return 0;
}

/* Open fds 0-2 and ignore SIGPIPE; say which step failed. */
int mpc_process_setup(const char **ret_what)
{
	int r = mpc_std_fds_open();

	if (r < 0) {
		*ret_what = "cannot open /dev/null";
		return r;
	}
	r = mpc_ignore_sigpipe();
	if (r < 0) {
		*ret_what = "cannot ignore SIGPIPE";
		return r;
	}
	return 0;
}

/* ---- messages ---------------------------------------------------------- */

/* Write s to f with control characters shown as '?'. */
void mpc_put_masked(FILE *f, const char *s)
{
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		putc(ch < 0x20 || ch == 0x7f ? '?' : ch, f);
	}
}

/* Write "PROG: MESSAGE" on stderr, masked. */
void mpc_vmsg(const char *prog, size_t size, const char *fmt, va_list ap)
{
	char buf[4096];

	if (size > sizeof(buf))
		size = sizeof(buf);
	vsnprintf(buf, size, fmt, ap);
	fputs(prog, stderr);
	fputs(": ", stderr);
	mpc_put_masked(stderr, buf);
	putc('\n', stderr);
}
