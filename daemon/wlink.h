/*
 * The link between a worker and its mtr-packet process, as an interface:
 * the real one is a child process behind pipes (wproc.c); the unit tests
 * hand the pool a fake one.  Lines the process writes come back through
 * the callbacks given at start.
 */
#ifndef MTRPROBED_WLINK_H
#define MTRPROBED_WLINK_H

#include <stddef.h>
#include <sys/types.h>

/* What a link reports about its process.  arg is the one given at start. */
struct wlink_cbs {
	void (*line)(void *arg, const char *line, size_t len); /* one line of stdout */
	void (*batch_done)(void *arg);                         /* after the lines of one read */
	void (*closed)(void *arg);                             /* stdout closed or failed */
};

/* One kind of link.  Owned by its provider; static. */
struct wlink_ops {
	/*
	 * Start the process at path; returns the link, or NULL with -errno in
	 * *ret_err (and no process).  *ret_pid is the process id.
	 */
	void *(*start)(const char *path, const struct wlink_cbs *cbs, void *arg, pid_t *ret_pid,
		       int *ret_err);
	/* Queue bytes for the process's stdin: 0 or -errno. */
	int (*write)(void *link, const char *data, size_t len);
	/* Kill the process (SIGKILL); no callback runs after this. */
	void (*kill)(void *link);
	/*
	 * The process was reaped: copy the last line it wrote on stderr into
	 * buf ("" if none) and free the link.
	 */
	void (*reaped)(void *link, char *buf, size_t buflen);
	/* Kill, reap and free at once, without callbacks (exit path). */
	void (*destroy)(void *link);
};

#endif
