/*
 * A hash map from non-zero 64-bit keys to pointers (open addressing, linear
 * probing, backward-shift deletion).  Used for probe, connection and token
 * lookups, so that a late event for an object that is gone finds nothing.
 */
#ifndef MTRPROBED_IDMAP_H
#define MTRPROBED_IDMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct idmap_slot {
	uint64_t key; /* 0 = empty */
	void *value;
};

/* Owned by whoever embeds it; idmap_free() releases the slots only. */
struct idmap {
	struct idmap_slot *slots;
	size_t cap;   /* power of two, or 0 */
	size_t count;
};

void idmap_init(struct idmap *m);
void idmap_free(struct idmap *m);
/* The value stored under key, or NULL. */
void *idmap_get(const struct idmap *m, uint64_t key);
/* Store value under key (key != 0, value != NULL), replacing any. 0 or -ENOMEM. */
int idmap_put(struct idmap *m, uint64_t key, void *value);
/*
 * The value under key, or a new zeroed object of size bytes stored under
 * it (*ret_created true, to be set up by the caller); NULL when memory
 * ran out (nothing stored).
 */
void *idmap_get_or_new(struct idmap *m, uint64_t key, size_t size, bool *ret_created);
/* Remove key; returns the value it had, or NULL. */
void *idmap_del(struct idmap *m, uint64_t key);
static inline size_t idmap_count(const struct idmap *m) { return m->count; }
/* Give back table space the entries do not need (all of it when empty). */
void idmap_shrink(struct idmap *m);
/*
 * Iterate: start with *iter = 0; returns 1 and the next entry, or 0 at the
 * end.  The map must not change during an iteration.
 */
int idmap_next(const struct idmap *m, size_t *iter, uint64_t *ret_key, void **ret_value);

#endif
