/*
 * A 4-ary min-heap of embedded nodes by due time.  The array holds each
 * node's pointer and due time; each node keeps its index (plus one),
 * updated on every move, so that any node can be moved or removed in
 * place.  The
 * array doubles when full and shrinks only in dheap_shrink().
 */
#include "daemon/dheap.h"

#include <errno.h>
#include <stdlib.h>

#define DHEAP_MIN_CAP 64

/* Put slot x at index i and tell its node. */
static void dheap_set(struct dheap *h, uint32_t i, struct dheap_slot x)
{
	h->v[i] = x;
	x.node->pos = i + 1;
}

/* Move the slot at i up while it is due before its parent. */
static void dheap_up(struct dheap *h, uint32_t i)
{
	struct dheap_slot x = h->v[i];

	while (i > 0) {
		uint32_t parent = dheap_parent(i);

		if (!(x.due < h->v[parent].due))
			break;
		dheap_set(h, i, h->v[parent]);
		i = parent;
	}
	dheap_set(h, i, x);
}

/* Move the slot at i down while a child is due before it. */
static void dheap_down(struct dheap *h, uint32_t i)
{
	struct dheap_slot x = h->v[i];

	for (;;) {
		uint64_t first = (uint64_t)i * DHEAP_ARITY + 1;
		uint32_t c, end, k;

		if (first >= h->n)
			break;
		c = (uint32_t)first;
		end = first + DHEAP_ARITY < h->n ? (uint32_t)first + DHEAP_ARITY : h->n;
		for (k = c + 1; k < end; k++)
			if (h->v[k].due < h->v[c].due)
				c = k;
		if (!(h->v[c].due < x.due))
			break;
		dheap_set(h, i, h->v[c]);
		i = c;
	}
	dheap_set(h, i, x);
}

/* Resize the array to cap entries (>= n).  0 or -ENOMEM. */
static int dheap_resize(struct dheap *h, uint32_t cap)
{
	struct dheap_slot *v;

	if (cap == 0) {
		free(h->v);
		h->v = NULL;
		h->cap = 0;
		return 0;
	}
	v = realloc(h->v, (size_t)cap * sizeof(*v));
	if (!v)
		return -ENOMEM;
	h->v = v;
	h->cap = cap;
	return 0;
}

/* An empty heap that owns no memory yet. */
void dheap_init(struct dheap *h)
{
	h->v = NULL;
	h->n = h->cap = 0;
}

/* Release the array; the nodes are the caller's, left as they are (maybe freed already). */
void dheap_free(struct dheap *h)
{
	free(h->v);
	dheap_init(h);
}

/* Add x due at due. */
int dheap_add(struct dheap *h, struct dheap_node *x, double due)
{
	if (h->n == h->cap) {
		if (h->cap > UINT32_MAX / 2 - 1)
			return -ENOMEM;
		if (dheap_resize(h, h->cap ? h->cap * 2 : DHEAP_MIN_CAP) < 0)
			return -ENOMEM;
	}
	x->due = due;
	h->v[h->n] = (struct dheap_slot){ .due = due, .node = x };
	dheap_up(h, h->n++);
	return 0;
}

/* Move x to due. */
void dheap_update(struct dheap *h, struct dheap_node *x, double due)
{
	uint32_t i = x->pos - 1;
	double was = h->v[i].due;

	x->due = h->v[i].due = due;
	if (due < was)
		dheap_up(h, i);
	else
		dheap_down(h, i);
}

/* Take x out. */
void dheap_remove(struct dheap *h, struct dheap_node *x)
{
	uint32_t i;
	struct dheap_slot last;

	if (x->pos == 0)
		return;
	i = x->pos - 1;
	x->pos = 0;
	last = h->v[--h->n];
	if (i == h->n)
		return;
	/* The last node fills the hole, then finds its place either way. */
	dheap_set(h, i, last);
	if (i > 0 && last.due < h->v[dheap_parent(i)].due)
		dheap_up(h, i);
	else
		dheap_down(h, i);
}

/* Shrink the array to the smallest power of two (from DHEAP_MIN_CAP) holding the nodes, or none. */
void dheap_shrink(struct dheap *h)
{
	uint32_t cap = DHEAP_MIN_CAP;

	if (h->n == 0) {
		dheap_resize(h, 0);
		return;
	}
	while (cap < h->n)
		cap *= 2;
	if (cap < h->cap)
		dheap_resize(h, cap); /* a failed shrink keeps the old array */
}
