/*
 * mtrprobe-bench: helpers every part uses: clocks, number parsing,
 * quantiles, descriptors, and the daemon's resident set from /proc.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "bench.h"

/* Now on CLOCK_MONOTONIC, in nanoseconds. */
int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

/* CPU time this process has used so far, user plus system, in seconds. */
double cpu_seconds(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) < 0)
		return 0;
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* Sleep for ms milliseconds. */
void sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Parse a whole decimal integer from min to max into *ret; false if not. */
bool parse_long(const char *s, long min, long max, long *ret)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return false;
	*ret = v;
	return true;
}

/* Parse a finite number from min to max into *ret; false if not. */
bool parse_double(const char *s, double min, double max, double *ret)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v < min || v > max)
		return false;
	*ret = v;
	return true;
}

/* Compare two doubles for qsort. */
int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* The nearest-rank q-quantile of the n sorted values v. */
double quantile(const double *v, long n, double q)
{
	long k = (long)ceil(q * (double)n);

	if (k < 1)
		k = 1;
	if (k > n)
		k = n;
	return v[k - 1];
}

/* Make fd non-blocking; 0 or -errno. */
int set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	return 0;
}

/* Ask for big socket buffers, forcing past the sysctl limits when allowed. */
void big_socket_buffers(int fd)
{
	int sz = SOCKBUF_SIZE;

	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
}

/* Grow a pipe's buffer; failures only cost speed. */
void big_pipe(int fd)
{
	(void)fcntl(fd, F_SETPIPE_SZ, PIPE_SIZE);
}

/* The "NAME: N kB" line of process pid's /proc status (VmRSS, VmHWM) in
 * kB, or -1. */
long status_kb(long pid, const char *name)
{
	char path[64], line[256];
	size_t len = strlen(name);
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/status", pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, name, len) && line[len] == ':' &&
		    sscanf(line + len + 1, "%ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/* The resident set (VmRSS) of process pid in kB, or -1. */
long vmrss_kb(long pid)
{
	return status_kb(pid, "VmRSS");
}
