/*
 * The DNS cache: resolved addresses keyed by (host, ip_version), each entry
 * living a fixed time; failures remembered for a shorter time.  Pure: the
 * caller passes the current monotonic time, so tests control the clock.
 */
#ifndef MTRPROBED_DNSCACHE_H
#define MTRPROBED_DNSCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "mtrprobe/protocol.h"

#define DNSCACHE_ADDRS_MAX 8

struct dnscache_addr {
	int ip_version;           /* 4 or 6 */
	char text[MP_ADDR_MAX];   /* inet_ntop() form */
};

/* A lookup's result: up to DNSCACHE_ADDRS_MAX addresses, in resolver order. */
struct dnscache_result {
	int count;                 /* 0 = failed */
	struct dnscache_addr addrs[DNSCACHE_ADDRS_MAX];
};

enum dnscache_status {
	DNSCACHE_MISS,      /* nothing cached (expired entries count as missing) */
	DNSCACHE_HIT,       /* *ret holds the addresses */
	DNSCACHE_NEGATIVE   /* a recent lookup failed */
};

struct dnscache_stats {
	uint64_t hits, misses, expired, inserted, evicted;
};

struct dnscache;

/* A cache holding at most max_entries; ttl and negative_ttl in seconds. */
struct dnscache *dnscache_new(size_t max_entries, double ttl, double negative_ttl);
/* Free the cache; accepts NULL. */
void dnscache_free(struct dnscache *c);
/* Change the lifetimes of entries inserted from now on. */
void dnscache_set_ttl(struct dnscache *c, double ttl, double negative_ttl);
/* Look (host, ip_version) up at time now; counts a hit or a miss. */
enum dnscache_status dnscache_lookup(struct dnscache *c, const char *host, int ip_version,
				     double now, struct dnscache_result *ret);
/*
 * Insert the result of a lookup made at time now (count 0 = failure),
 * replacing any entry.  When full, expired entries go first, then the
 * oldest.  Returns 0 or -ENOMEM.
 */
int dnscache_insert(struct dnscache *c, const char *host, int ip_version,
		    const struct dnscache_result *res, double now);
/* Drop entries whose lifetime ended at or before now; returns how many. */
size_t dnscache_expire(struct dnscache *c, double now);
/* Drop every entry; returns how many. */
size_t dnscache_clear(struct dnscache *c);
size_t dnscache_count(const struct dnscache *c);
void dnscache_get_stats(const struct dnscache *c, struct dnscache_stats *ret);

#endif
