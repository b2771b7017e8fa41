/*
 * Name resolution with libevent's evdns, through the DNS cache; lookups of
 * the same (host, ip_version) in progress are shared.
 */
#ifndef MTRPROBED_DNS_H
#define MTRPROBED_DNS_H

#include <stdint.h>

#include "config.h"
#include "dnscache.h"

/* Called with the result (count 0 = failure) for the waiter's cookie. */
typedef void (*dns_done_cb)(uint64_t cookie, const struct dnscache_result *res);

/* Set up evdns and the cache from the server's config. 0 or -errno. */
int dns_init(dns_done_cb done);
/* Apply the server's new configuration (old: the one it replaces). 0 or -EINVAL. */
int dns_reconfigure(const struct mp_config *old);
void dns_free(void);
/*
 * Resolve host for ip_version (0 = any).  Returns DNSCACHE_HIT or
 * DNSCACHE_NEGATIVE with *ret filled when the cache knows; otherwise
 * DNSCACHE_MISS and the done callback runs later with cookie (possibly
 * before this returns, for names in the hosts file).
 */
enum dnscache_status dns_resolve(const char *host, int ip_version, uint64_t cookie,
				 struct dnscache_result *ret);
/* Drop every cached entry; returns how many. */
size_t dns_clear_cache(void);

struct dns_stats {
	size_t entries;
	uint64_t hits, misses, expired, lookups;
};
void dns_get_stats(struct dns_stats *ret);

#endif
