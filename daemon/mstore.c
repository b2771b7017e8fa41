/* The monitors added over the socket, kept across restarts: one file per user. */
#include "daemon/mstore.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/kvtext.h"

#define MSTORE_SUBDIR "monitors"
/* The largest uid a file may name ((uid_t)-1 is no uid). */
#define MSTORE_UID_MAX 4294967294L

/*
 * Whether path is a real directory (not a symlink) of the daemon's own
 * user that nobody else may write in: the daemon writes and renames in
 * it, maybe as root.  0, or -EPERM (-errno) with a message in err.
 */
static int mstore_dir_ok(const char *path, char err[MONDEF_ERR_MAX])
{
	struct stat st;

	if (lstat(path, &st) < 0) {
		snprintf(err, MONDEF_ERR_MAX, "%.300s: %s", path, strerror(errno));
		return -errno;
	}
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 022)) {
		snprintf(err, MONDEF_ERR_MAX,
			 "%.300s: not a directory of the daemon's own user closed to others", path);
		return -EPERM;
	}
	return 0;
}

/* Write all of text to fd.  0 or -errno. */
static int mstore_write_all(int fd, const char *text, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, text, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		text += n;
		len -= (size_t)n;
	}
	return 0;
}

/* fsync the directory path, so that a rename in it survives a crash. */
static int mstore_sync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		r = -errno;
	close(fd);
	return r;
}

int mstore_save(const char *state_dir, long uid, const char *text, char err[MONDEF_ERR_MAX])
{
	char dir[4096], path[4200], tmp[4300];
	int fd, r;

	snprintf(dir, sizeof(dir), "%s/%s", state_dir, MSTORE_SUBDIR);
	snprintf(path, sizeof(path), "%s/%ld.conf", dir, uid);
	snprintf(tmp, sizeof(tmp), "%s/.%ld.conf.new", dir, uid);
	if ((mkdir(state_dir, 0700) < 0 && errno != EEXIST) ||
	    (mkdir(dir, 0700) < 0 && errno != EEXIST)) {
		r = -errno;
		snprintf(err, MONDEF_ERR_MAX, "%.300s: %s", dir, strerror(-r));
		return r;
	}
	r = mstore_dir_ok(state_dir, err);
	if (r == 0)
		r = mstore_dir_ok(dir, err);
	if (r < 0)
		return r;
	if (!*text) {
		if (unlink(path) < 0 && errno != ENOENT) {
			r = -errno;
			snprintf(err, MONDEF_ERR_MAX, "%.300s: %s", path, strerror(-r));
			return r;
		}
		return mstore_sync_dir(dir);
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		r = -errno;
		snprintf(err, MONDEF_ERR_MAX, "%.300s: %s", tmp, strerror(-r));
		return r;
	}
	r = mstore_write_all(fd, text, strlen(text));
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r == 0)
		r = mstore_sync_dir(dir);
	if (r < 0) {
		unlink(tmp);
		snprintf(err, MONDEF_ERR_MAX, "%.300s: %s", path, strerror(-r));
	}
	return r;
}

int mstore_keep_refused(const char *state_dir, long uid, const char *text,
			char err[MONDEF_ERR_MAX])
{
	char path[4200];
	int fd, r;

	snprintf(path, sizeof(path), "%s/%s/%ld.refused", state_dir, MSTORE_SUBDIR, uid);
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		r = -errno;
		snprintf(err, MONDEF_ERR_MAX, "%.300s: %s", path, strerror(-r));
		return r;
	}
	r = mstore_write_all(fd, text, strlen(text));
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	close(fd);
	if (r < 0)
		snprintf(err, MONDEF_ERR_MAX, "%.300s: %s", path, strerror(-r));
	return r;
}

/* The uid a file name "UID.conf" names, or -1. */
static long mstore_uid(const char *name)
{
	char *end;
	long uid;

	if (name[0] < '0' || name[0] > '9')
		return -1;
	errno = 0;
	uid = strtol(name, &end, 10);
	if (errno || strcmp(end, ".conf") != 0 || uid < 0 || uid > MSTORE_UID_MAX)
		return -1;
	return uid;
}

void mstore_load(const char *state_dir, mstore_fn fn, mstore_err_fn bad, void *arg)
{
	char dir[4096], path[4400], err[MONDEF_ERR_MAX];
	struct dirent *e;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/%s", state_dir, MSTORE_SUBDIR);
	if (access(dir, F_OK) < 0 && errno == ENOENT)
		return;
	if (mstore_dir_ok(state_dir, err) < 0 || mstore_dir_ok(dir, err) < 0) {
		bad(arg, err);
		return;
	}
	d = opendir(dir);
	if (!d) {
		snprintf(err, sizeof(err), "%.300s: %s", dir, strerror(errno));
		bad(arg, err);
		return;
	}
	while ((e = readdir(d))) {
		struct mondef_set set = { 0 };
		long uid = mstore_uid(e->d_name);
		char *buf;
		size_t len;
		int r;

		if (uid < 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		r = kv_read_file(path, &buf, &len);
		if (r < 0) {
			snprintf(err, sizeof(err), "%.300s: %s", path, strerror(-r));
			bad(arg, err);
			continue;
		}
		r = mondef_parse_text(&set, buf, len, path, err);
		free(buf);
		if (r < 0)
			bad(arg, err);
		else
			fn(arg, uid, &set);
		mondef_set_free(&set);
	}
	closedir(d);
}
