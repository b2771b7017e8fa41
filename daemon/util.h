/* Small helpers shared by the daemon's modules. */
#ifndef MTRPROBED_UTIL_H
#define MTRPROBED_UTIL_H

#include <string.h>
#include <sys/time.h>
#include <time.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Copy the NUL-terminated src into dst (size bytes), cut to fit; dst is always terminated. */
static inline void str_copy(char *dst, size_t size, const char *src)
{
	size_t n = strnlen(src, size - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* Seconds on the monotonic clock. */
static inline double mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A relative timeval of d seconds (negative counts as 0). */
static inline struct timeval tv_from_seconds(double d)
{
	struct timeval tv;

	if (d < 0)
		d = 0;
	tv.tv_sec = (time_t)d;
	tv.tv_usec = (suseconds_t)((d - (double)tv.tv_sec) * 1e6);
	if (tv.tv_usec >= 1000000) {
		tv.tv_sec++;
		tv.tv_usec -= 1000000;
	}
	return tv;
}

#endif
