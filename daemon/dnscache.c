/*
 * The DNS cache: a chained hash table keyed by (host, ip_version), hosts
 * compared case-insensitively (ASCII), with every entry also on two lists:
 *
 *  - the insertion-order list, whose head is the oldest entry, evicted
 *    when the cache is full and nothing has expired;
 *  - the list of its lifetime class: entries inserted with the same
 *    lifetime (ttl or negative_ttl) expire in insertion order as long as
 *    the caller's clock does not go backwards, so the head of each class
 *    is its first entry to expire.  There are two classes in practice,
 *    more for a while after dnscache_set_ttl() changes a lifetime.
 *
 * So lookup, insert and eviction are O(1) on average; expire and clear
 * walk every entry.  An expired entry dropped to make room counts as
 * expired, not evicted: "evicted" means a live entry was lost to the size
 * limit.  A negative answer counts as a hit.
 */
#include "daemon/dnscache.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define DNSCACHE_MIN_BUCKETS 16

struct dnscache_class;

/* One cached answer.  Owned by the cache. */
struct dnscache_entry {
	struct dnscache_entry *chain;              /* next in the hash bucket */
	struct dnscache_entry *prev, *next;        /* insertion order */
	struct dnscache_entry *cprev, *cnext;      /* same lifetime class */
	struct dnscache_class *cls;
	uint64_t hash;
	double expiry;                             /* dropped once now >= expiry */
	int ip_version;
	struct dnscache_result res;
	char host[];                               /* NUL-terminated */
};

/* Entries that were inserted with the same lifetime.  Owned by the cache. */
struct dnscache_class {
	struct dnscache_class *next;
	double lifetime;
	struct dnscache_entry *head, *tail;
};

/* The cache.  Owned by its creator; dnscache_free() releases it. */
struct dnscache {
	struct dnscache_entry **buckets;
	size_t n_buckets;                          /* power of two */
	size_t count, max_entries;
	double ttl, negative_ttl;
	struct dnscache_entry *oldest, *newest;
	struct dnscache_class *classes;
	struct dnscache_stats stats;
};

/* ASCII lower case, independent of the locale. */
static unsigned char dnscache_lower(unsigned char ch)
{
	return ch >= 'A' && ch <= 'Z' ? (unsigned char)(ch - 'A' + 'a') : ch;
}

/* FNV-1a over the lower-cased host, then the ip version. */
static uint64_t dnscache_hash(const char *host, int ip_version)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325);

	for (const unsigned char *p = (const unsigned char *)host; *p; p++) {
		h ^= dnscache_lower(*p);
		h *= UINT64_C(0x100000001b3);
	}
	h ^= (uint64_t)(unsigned)ip_version;
	h *= UINT64_C(0x100000001b3);
	return h ^ (h >> 32);
}

/* Whether two hosts are equal ignoring ASCII case. */
static bool dnscache_host_equal(const char *a, const char *b)
{
	for (; *a && *b; a++, b++)
		if (dnscache_lower((unsigned char)*a) != dnscache_lower((unsigned char)*b))
			return false;
	return *a == *b;
}

/* A lifetime as given, or 0 when negative or not a number. */
static double dnscache_sane_lifetime(double t)
{
	return t >= 0 ? t : 0;
}

/* Create a cache holding at most max_entries (NULL with errno set on failure). */
struct dnscache *dnscache_new(size_t max_entries, double ttl, double negative_ttl)
{
	struct dnscache *c;

	if (max_entries == 0) {
		errno = EINVAL;
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->buckets = calloc(DNSCACHE_MIN_BUCKETS, sizeof(*c->buckets));
	if (!c->buckets) {
		free(c);
		return NULL;
	}
	c->n_buckets = DNSCACHE_MIN_BUCKETS;
	c->max_entries = max_entries;
	dnscache_set_ttl(c, ttl, negative_ttl);
	return c;
}

/* Free the cache with all its entries; accepts NULL. */
void dnscache_free(struct dnscache *c)
{
	if (!c)
		return;
	dnscache_clear(c);
	free(c->buckets);
	free(c);
}

/* Change the lifetimes of entries inserted from now on. */
void dnscache_set_ttl(struct dnscache *c, double ttl, double negative_ttl)
{
	c->ttl = dnscache_sane_lifetime(ttl);
	c->negative_ttl = dnscache_sane_lifetime(negative_ttl);
}

/* The bucket head pointer for a hash. */
static struct dnscache_entry **dnscache_bucket(const struct dnscache *c, uint64_t hash)
{
	return &c->buckets[hash & (c->n_buckets - 1)];
}

/* The entry for (host, ip_version), or NULL. */
static struct dnscache_entry *dnscache_find(const struct dnscache *c, const char *host,
					    int ip_version, uint64_t hash)
{
	for (struct dnscache_entry *e = *dnscache_bucket(c, hash); e; e = e->chain)
		if (e->hash == hash && e->ip_version == ip_version &&
		    dnscache_host_equal(e->host, host))
			return e;
	return NULL;
}

/* The class of entries with this lifetime; *spare becomes it when there is none. */
static struct dnscache_class *dnscache_class_get(struct dnscache *c, double lifetime,
						 struct dnscache_class **spare)
{
	struct dnscache_class *k;

	for (k = c->classes; k; k = k->next)
		if (k->lifetime == lifetime)
			return k;
	k = *spare;
	*spare = NULL;
	memset(k, 0, sizeof(*k));
	k->lifetime = lifetime;
	k->next = c->classes;
	c->classes = k;
	return k;
}

/* Free a class that no longer has entries. */
static void dnscache_class_drop(struct dnscache *c, struct dnscache_class *k)
{
	struct dnscache_class **p;

	for (p = &c->classes; *p != k; p = &(*p)->next)
		;
	*p = k->next;
	free(k);
}

/* Take e out of its bucket chain. */
static void dnscache_unchain(struct dnscache *c, struct dnscache_entry *e)
{
	struct dnscache_entry **p;

	for (p = dnscache_bucket(c, e->hash); *p != e; p = &(*p)->chain)
		;
	*p = e->chain;
}

/* Take e out of the insertion-order list. */
static void dnscache_unlink_order(struct dnscache *c, struct dnscache_entry *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		c->oldest = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		c->newest = e->prev;
}

/* Take e out of its class list, freeing the class when it empties. */
static void dnscache_unlink_class(struct dnscache *c, struct dnscache_entry *e)
{
	struct dnscache_class *k = e->cls;

	if (e->cprev)
		e->cprev->cnext = e->cnext;
	else
		k->head = e->cnext;
	if (e->cnext)
		e->cnext->cprev = e->cprev;
	else
		k->tail = e->cprev;
	if (!k->head)
		dnscache_class_drop(c, k);
}

/* Remove and free one entry. */
static void dnscache_remove(struct dnscache *c, struct dnscache_entry *e)
{
	dnscache_unchain(c, e);
	dnscache_unlink_order(c, e);
	dnscache_unlink_class(c, e);
	c->count--;
	free(e);
}

/* Append e to the insertion-order list and to the tail of class k. */
static void dnscache_link(struct dnscache *c, struct dnscache_entry *e, struct dnscache_class *k)
{
	struct dnscache_entry **b = dnscache_bucket(c, e->hash);

	e->chain = *b;
	*b = e;
	e->prev = c->newest;
	e->next = NULL;
	if (c->newest)
		c->newest->next = e;
	else
		c->oldest = e;
	c->newest = e;
	e->cls = k;
	e->cprev = k->tail;
	e->cnext = NULL;
	if (k->tail)
		k->tail->cnext = e;
	else
		k->head = e;
	k->tail = e;
	c->count++;
}

/* Whether an entry's lifetime has ended at time now. */
static bool dnscache_is_expired(const struct dnscache_entry *e, double now)
{
	return e->expiry <= now;
}

/* Look (host, ip_version) up at time now; counts a hit or a miss. */
enum dnscache_status dnscache_lookup(struct dnscache *c, const char *host, int ip_version,
				     double now, struct dnscache_result *ret)
{
	uint64_t hash = dnscache_hash(host, ip_version);
	struct dnscache_entry *e = dnscache_find(c, host, ip_version, hash);

	if (e && dnscache_is_expired(e, now)) {
		dnscache_remove(c, e);
		c->stats.expired++;
		e = NULL;
	}
	if (!e) {
		c->stats.misses++;
		return DNSCACHE_MISS;
	}
	c->stats.hits++;
	if (ret)
		*ret = e->res;
	return e->res.count > 0 ? DNSCACHE_HIT : DNSCACHE_NEGATIVE;
}

/* Double the bucket array when the table is fuller than one entry per bucket. */
static void dnscache_maybe_grow(struct dnscache *c)
{
	size_t n = c->n_buckets * 2;
	struct dnscache_entry **b;

	if (c->count < c->n_buckets || n > SIZE_MAX / sizeof(*b))
		return;
	b = calloc(n, sizeof(*b));
	if (!b)
		return; /* longer chains, still correct */
	for (struct dnscache_entry *e = c->oldest; e; e = e->next) {
		struct dnscache_entry **head = &b[e->hash & (n - 1)];

		e->chain = *head;
		*head = e;
	}
	free(c->buckets);
	c->buckets = b;
	c->n_buckets = n;
}

/* Drop one entry to make room: an expired one if any class has one, else the oldest. */
static void dnscache_make_room(struct dnscache *c, double now)
{
	for (struct dnscache_class *k = c->classes; k; k = k->next) {
		if (dnscache_is_expired(k->head, now)) {
			dnscache_remove(c, k->head);
			c->stats.expired++;
			return;
		}
	}
	dnscache_remove(c, c->oldest);
	c->stats.evicted++;
}

/* A new, unlinked entry holding a copy of host and res; NULL on ENOMEM. */
static struct dnscache_entry *dnscache_entry_new(const char *host, int ip_version, uint64_t hash,
						 const struct dnscache_result *res, double expiry)
{
	size_t len = strlen(host);
	struct dnscache_entry *e = malloc(sizeof(*e) + len + 1);

	if (!e)
		return NULL;
	memset(e, 0, sizeof(*e));
	memcpy(e->host, host, len + 1);
	e->hash = hash;
	e->ip_version = ip_version;
	e->expiry = expiry;
	e->res.count = res->count;
	memcpy(e->res.addrs, res->addrs, (size_t)res->count * sizeof(res->addrs[0]));
	return e;
}

/* Insert the result of a lookup made at time now, replacing any entry. */
int dnscache_insert(struct dnscache *c, const char *host, int ip_version,
		    const struct dnscache_result *res, double now)
{
	uint64_t hash = dnscache_hash(host, ip_version);
	double lifetime = res->count > 0 ? c->ttl : c->negative_ttl;
	struct dnscache_class *k, *spare;
	struct dnscache_entry *e, *old;

	if (res->count < 0 || res->count > DNSCACHE_ADDRS_MAX)
		return -EINVAL;
	/* Allocate everything first so a failure leaves the cache unchanged. */
	spare = malloc(sizeof(*spare));
	e = spare ? dnscache_entry_new(host, ip_version, hash, res, now + lifetime) : NULL;
	if (!e) {
		free(spare);
		return -ENOMEM;
	}
	old = dnscache_find(c, host, ip_version, hash);
	if (old)
		dnscache_remove(c, old);
	while (c->count >= c->max_entries)
		dnscache_make_room(c, now);
	k = dnscache_class_get(c, lifetime, &spare);
	free(spare);
	dnscache_link(c, e, k);
	dnscache_maybe_grow(c);
	c->stats.inserted++;
	return 0;
}

/* Drop entries whose lifetime ended at or before now; returns how many. */
size_t dnscache_expire(struct dnscache *c, double now)
{
	struct dnscache_entry *e = c->oldest, *next;
	size_t n = 0;

	for (; e; e = next) {
		next = e->next;
		if (dnscache_is_expired(e, now)) {
			dnscache_remove(c, e);
			n++;
		}
	}
	c->stats.expired += n;
	return n;
}

/* Drop every entry; returns how many. */
size_t dnscache_clear(struct dnscache *c)
{
	size_t n = c->count;

	while (c->oldest)
		dnscache_remove(c, c->oldest);
	return n;
}

/* Number of entries held, expired ones included until they are dropped. */
size_t dnscache_count(const struct dnscache *c)
{
	return c->count;
}

/* Copy the counters out. */
void dnscache_get_stats(const struct dnscache *c, struct dnscache_stats *ret)
{
	*ret = c->stats;
}
