/*
 * A hash map from non-zero 64-bit keys to pointers: open addressing with
 * linear probing over a power-of-two table, grown at 70% load, and
 * backward-shift deletion so that no tombstones are ever left behind.
 */
#include "daemon/idmap.h"

#include <errno.h>
#include <stdlib.h>

#define IDMAP_MIN_CAP 16

/* Scramble a key so sequential ids spread over the table (splitmix64 finaliser). */
static uint64_t idmap_mix(uint64_t x)
{
	x ^= x >> 30;
	x *= UINT64_C(0xbf58476d1ce4e5b9);
	x ^= x >> 27;
	x *= UINT64_C(0x94d049bb133111eb);
	x ^= x >> 31;
	return x;
}

/* The slot a key would occupy in a table of cap slots if nothing collided. */
static size_t idmap_home(uint64_t key, size_t cap)
{
	return (size_t)idmap_mix(key) & (cap - 1);
}

/* Index of the slot holding key, or cap when absent. */
static size_t idmap_find(const struct idmap *m, uint64_t key)
{
	size_t mask = m->cap - 1;

	if (m->cap == 0 || key == 0)
		return m->cap;
	for (size_t i = idmap_home(key, m->cap);; i = (i + 1) & mask) {
		if (m->slots[i].key == key)
			return i;
		if (m->slots[i].key == 0)
			return m->cap;
	}
}

/* Place an entry known to be absent into a table that has a free slot. */
static void idmap_place(struct idmap_slot *slots, size_t cap, uint64_t key, void *value)
{
	size_t i = idmap_home(key, cap);

	while (slots[i].key != 0)
		i = (i + 1) & (cap - 1);
	slots[i].key = key;
	slots[i].value = value;
}

/* Move every entry into a new table of new_cap slots.  0 or -ENOMEM. */
static int idmap_resize(struct idmap *m, size_t new_cap)
{
	struct idmap_slot *slots = calloc(new_cap, sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i < m->cap; i++)
		if (m->slots[i].key != 0)
			idmap_place(slots, new_cap, m->slots[i].key, m->slots[i].value);
	free(m->slots);
	m->slots = slots;
	m->cap = new_cap;
	return 0;
}

/* Make room for one more entry, growing so the load stays at or below 70%. */
static int idmap_reserve_one(struct idmap *m)
{
	size_t new_cap;

	if (m->cap != 0 && (m->count + 1) * 10 <= m->cap * 7)
		return 0;
	new_cap = m->cap ? m->cap : IDMAP_MIN_CAP;
	while ((m->count + 1) * 10 > new_cap * 7) {
		if (new_cap > SIZE_MAX / 2 / sizeof(struct idmap_slot))
			return -ENOMEM;
		new_cap *= 2;
	}
	return idmap_resize(m, new_cap);
}

/* Initialise an empty map that owns no memory yet. */
void idmap_init(struct idmap *m)
{
	m->slots = NULL;
	m->cap = 0;
	m->count = 0;
}

/* Release the slots (not the values) and leave an empty, reusable map. */
void idmap_free(struct idmap *m)
{
	if (!m)
		return;
	free(m->slots);
	idmap_init(m);
}

/*
 * Shrink the table to the smallest capacity that leaves it at most half
 * full (so that the next entries do not make it grow again at once), or
 * free it when empty.  A failed shrink keeps the table as it is.
 */
void idmap_shrink(struct idmap *m)
{
	size_t cap = IDMAP_MIN_CAP;

	if (m->count == 0) {
		idmap_free(m);
		return;
	}
	while (m->count * 2 > cap)
		cap *= 2;
	if (cap < m->cap)
		(void)idmap_resize(m, cap);
}

/* The value stored under key, or NULL. */
void *idmap_get(const struct idmap *m, uint64_t key)
{
	size_t i = idmap_find(m, key);

	return i < m->cap ? m->slots[i].value : NULL;
}

/* Store value under key, replacing any value already there. */
int idmap_put(struct idmap *m, uint64_t key, void *value)
{
	size_t i;
	int r;

	if (key == 0 || !value)
		return -EINVAL;
	i = idmap_find(m, key);
	if (i < m->cap) {
		m->slots[i].value = value;
		return 0;
	}
	r = idmap_reserve_one(m);
	if (r < 0)
		return r;
	idmap_place(m->slots, m->cap, key, value);
	m->count++;
	return 0;
}

/* Close the hole at slot hole by shifting later entries of the run back. */
static void idmap_shift_back(struct idmap *m, size_t hole)
{
	size_t mask = m->cap - 1;

	for (size_t j = (hole + 1) & mask; m->slots[j].key != 0; j = (j + 1) & mask) {
		size_t home = idmap_home(m->slots[j].key, m->cap);

		/* The entry at j may move to hole only if its home is not in (hole, j]. */
		if (((j - home) & mask) >= ((j - hole) & mask)) {
			m->slots[hole] = m->slots[j];
			hole = j;
		}
	}
	m->slots[hole].key = 0;
	m->slots[hole].value = NULL;
}

/* Remove key; returns the value it had, or NULL. */
void *idmap_del(struct idmap *m, uint64_t key)
{
	size_t i = idmap_find(m, key);
	void *value;

	if (i >= m->cap)
		return NULL;
	value = m->slots[i].value;
	idmap_shift_back(m, i);
	m->count--;
	return value;
}

/* Return the next entry at or after *iter, advancing it; 0 at the end. */
int idmap_next(const struct idmap *m, size_t *iter, uint64_t *ret_key, void **ret_value)
{
	for (size_t i = *iter; i < m->cap; i++) {
		if (m->slots[i].key == 0)
			continue;
		*iter = i + 1;
		if (ret_key)
			*ret_key = m->slots[i].key;
		if (ret_value)
			*ret_value = m->slots[i].value;
		return 1;
	}
	*iter = m->cap;
	return 0;
}

/* The value under key, or a new zeroed one stored there. */
void *idmap_get_or_new(struct idmap *m, uint64_t key, size_t size, bool *ret_created)
{
	void *v = idmap_get(m, key);

	*ret_created = false;
	if (v)
		return v;
	v = calloc(1, size);
	if (!v)
		return NULL;
	if (idmap_put(m, key, v) < 0) {
		free(v);
		return NULL;
	}
	*ret_created = true;
	return v;
}
