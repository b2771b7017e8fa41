/*
 * A free list of fixed-size records: records given back are kept (up to
 * a bound) and handed out again instead of calling malloc() and free()
 * for every object on a hot path.  What is kept beyond the bound goes back
 * to malloc at once; freelist_trim() gives back the rest (the daemon does
 * so once it is idle).  Pure: no I/O, no global state.
 */
#ifndef MTRPROBED_FREELIST_H
#define MTRPROBED_FREELIST_H

#include <stddef.h>

/* Owned by whoever embeds it. */
struct freelist {
	size_t size;   /* bytes per record */
	size_t max;    /* most records kept free */
	size_t count;  /* records kept free now */
	void *head;    /* the first of them; each holds a pointer to the next */
};

/* An empty list of records of size bytes (at least a pointer), keeping at most max free. */
void freelist_init(struct freelist *fl, size_t size, size_t max);
/* A zeroed record: a kept one, else a new one.  NULL when memory ran out. */
void *freelist_get(struct freelist *fl);
/* Give back a record from freelist_get() (NULL: nothing): kept, or freed beyond the bound. */
void freelist_put(struct freelist *fl, void *rec);
/* Free every record kept. */
void freelist_trim(struct freelist *fl);

#endif
