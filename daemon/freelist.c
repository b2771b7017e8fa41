/*
 * A bounded free list of fixed-size records.  A kept record stores the
 * link to the next one in its first bytes; a record handed out is zeroed,
 * as calloc() would give it.
 */
#include "daemon/freelist.h"

#include <stdlib.h>
#include <string.h>

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
	fl->head = rec;
	fl->count++;
}

/* Free every kept record. */
void freelist_trim(struct freelist *fl)
{
	void *rec;

	while ((rec = fl->head)) {
		memcpy(&fl->head, rec, sizeof(void *));
		free(rec);
	}
	fl->count = 0;
}
