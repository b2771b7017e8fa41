/*
 * Helpers shared by the libFuzzer targets: invariant checks that abort
 * (libFuzzer then keeps the input as a crash reproducer) and the copies of
 * the input handed to the code under test.
 */
#ifndef MTRPROBE_FUZZ_H
#define MTRPROBE_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Abort with a message when an invariant does not hold. */
#define FUZZ_CHECK(cond, ...)                                                        \
	do {                                                                         \
		if (!(cond)) {                                                       \
			fprintf(stderr, "%s:%d: invariant failed: %s: ", __FILE__,   \
				__LINE__, #cond);                                    \
			fprintf(stderr, __VA_ARGS__);                                \
			fputc('\n', stderr);                                         \
			abort();                                                     \
		}                                                                    \
	} while (0)

/* The input in a buffer of exactly size bytes (no terminator), so that
 * AddressSanitizer sees any read past its end.  Aborts when out of memory. */
static inline char *fuzz_copy(const uint8_t *data, size_t size)
{
	char *p = malloc(size ? size : 1);

	FUZZ_CHECK(p != NULL, "out of memory");
	if (size)
		memcpy(p, data, size);
	return p;
}

/* The input plus a NUL, for the APIs that take C strings. */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
	char *p = malloc(size + 1);

	FUZZ_CHECK(p != NULL, "out of memory");
	if (size)
		memcpy(p, data, size);
	p[size] = '\0';
	return p;
}

/* Whether buf (size bytes) holds a NUL. */
static inline int fuzz_terminated(const char *buf, size_t size)
{
	return memchr(buf, '\0', size) != NULL;
}

#endif
