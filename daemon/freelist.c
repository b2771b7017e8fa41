/*
 * A bounded free list of fixed-size records.  A kept record stores the
 * link to the next one in its first bytes; a record handed out is zeroed,
 * as calloc() would give it.  Under AddressSanitizer the rest of a kept
 * record is poisoned, so that a use after it was given back is caught as
 * it would be after free().
 */
#include "daemon/freelist.h"

#include <stdlib.h>
#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
#define FREELIST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FREELIST_ASAN 1
#endif
#endif
#ifdef FREELIST_ASAN
#include <sanitizer/asan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

/* An empty list. */
void freelist_init(struct freelist *fl, size_t size, size_t max)
{
	fl->size = size < sizeof(void *) ? sizeof(void *) : size;
	fl->max = max;
	fl->count = 0;
	fl->head = NULL;
}

/* A zeroed record, kept or new. */
void *freelist_get(struct freelist *fl)
{
	void *rec = fl->head;

	if (!rec)
		return calloc(1, fl->size);
	memcpy(&fl->head, rec, sizeof(void *));
	fl->count--;
	UNPOISON(rec, fl->size);
	memset(rec, 0, fl->size);
	return rec;
}

/* Keep rec for the next freelist_get(), or free it if enough are kept. */
void freelist_put(struct freelist *fl, void *rec)
{
	if (!rec)
		return;
	if (fl->count >= fl->max) {
		free(rec);
		return;
	}
	memcpy(rec, &fl->head, sizeof(void *));
	POISON((char *)rec + sizeof(void *), fl->size - sizeof(void *));
	fl->head = rec;
	fl->count++;
}

/* Free every kept record. */
void freelist_trim(struct freelist *fl)
{
	void *rec;

	while ((rec = fl->head)) {
		memcpy(&fl->head, rec, sizeof(void *));
		UNPOISON(rec, fl->size);
		free(rec);
	}
	fl->count = 0;
}
