/*
 * Deadlines: a binary min-heap of nodes, each embedded in its owner's
 * object and ordered by its due time.  One timer of the caller's, set to
 * the earliest due time, stands for them all, instead of one timer event
 * per object.  Each node knows its place, so moving or removing any node
 * is O(log n).  Pure: the caller passes every time.
 *
 * The heap is 4-ary and its array holds each node's due time beside the
 * pointer: a sift compares keys of one cache line and touches a node only
 * to tell it its new place.  With 100000 probes in flight, a binary heap
 * of bare pointers spent a fifth of the daemon's time at their deadline
 * in cache misses.
 */
#ifndef MTRPROBED_DHEAP_H
#define MTRPROBED_DHEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Children per node. */
#define DHEAP_ARITY 4

/* Embedded in the object it times. */
struct dheap_node {
	double due;    /* while in a heap */
	uint32_t pos;  /* its index in the heap + 1; 0 when in none */
};

/* One place of the heap: the node and a copy of its due time. */
struct dheap_slot {
	double due;
	struct dheap_node *node;
};

/* Owned by whoever embeds it; dheap_free() releases the array. */
struct dheap {
	struct dheap_slot *v;
	uint32_t n, cap;
};

void dheap_init(struct dheap *h);
/* Release the array and leave an empty heap; the nodes are not touched (they may be freed already). */
void dheap_free(struct dheap *h);
/* Add x (not in a heap) due at due.  0, or -ENOMEM (x is then in none). */
int dheap_add(struct dheap *h, struct dheap_node *x, double due);
/* Move x (in h) to a new due time.  Never allocates. */
void dheap_update(struct dheap *h, struct dheap_node *x, double due);
/* Take x out of h; nothing if it is in none. */
void dheap_remove(struct dheap *h, struct dheap_node *x);
/* The node due first, or NULL. */
static inline struct dheap_node *dheap_top(const struct dheap *h)
{
	return h->n ? h->v[0].node : NULL;
}
static inline uint32_t dheap_count(const struct dheap *h)
{
	return h->n;
}
/* The node at index i < dheap_count() (in no particular order). */
static inline struct dheap_node *dheap_at(const struct dheap *h, uint32_t i)
{
	return h->v[i].node;
}
/* The index of the parent of the node at index i > 0. */
static inline uint32_t dheap_parent(uint32_t i)
{
	return (i - 1) / DHEAP_ARITY;
}
static inline bool dheap_contains(const struct dheap_node *x)
{
	return x->pos != 0;
}
/* Give back the array space above what the nodes in h need. */
void dheap_shrink(struct dheap *h);

#endif
