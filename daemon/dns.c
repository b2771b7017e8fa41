/*
 * Name resolution.  Lookups go through libevent's evdns (never blocking the
 * loop) and the DNS cache; concurrent lookups of one (host, ip_version)
 * share a single query.  Config dns_servers and hosts_file replace the
 * system's resolv.conf and /etc/hosts.  A timer drops expired entries.
 */
#include <errno.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "dns.h"
#include "idmap.h"
#include "log.h"
#include "route.h"
#include "server.h"
#include "util.h"

/* A lookup in progress and who waits for it.  Owned by the pending map. */
struct pending {
	char host[MP_HOST_MAX + 1];
	int ip_version;
	uint64_t hash;
	uint64_t *cookies;
	size_t n, cap;
	struct pending *next;      /* same hash */
	struct evdns_getaddrinfo_request *req;
	bool starting;             /* inside evdns_getaddrinfo() */
	bool finished;             /* answered while starting */
};

static struct {
	struct evdns_base *evdns;
	struct dnscache *cache;
	dns_done_cb done;
	struct idmap pending;      /* hash -> chain of struct pending */
	struct event *expire_ev;
	uint64_t lookups;
	struct dnscache_stats base; /* counts of caches replaced at reloads */
} D;

/* FNV-1a over the lower-cased host and the version. */
static uint64_t key_hash(const char *host, int ip_version)
{
	uint64_t h = 1469598103934665603ULL;

	for (const char *p = host; *p; p++) {
		unsigned char c = (unsigned char)*p;

		h = (h ^ (c >= 'A' && c <= 'Z' ? c + 32 : c)) * 1099511628211ULL;
	}
	h = (h ^ (unsigned)ip_version) * 1099511628211ULL;
	return h ? h : 1;
}

/* The lookup in progress for (host, ip_version), or NULL. */
static struct pending *pending_find(const char *host, int ip_version, uint64_t h)
{
	for (struct pending *p = idmap_get(&D.pending, h); p; p = p->next)
		if (p->ip_version == ip_version && strcasecmp(p->host, host) == 0)
			return p;
	return NULL;
}

/* Take p out of the pending map. */
static void pending_remove(struct pending *p)
{
	struct pending *head = idmap_get(&D.pending, p->hash), **pp = &head;

	while (*pp && *pp != p)
		pp = &(*pp)->next;
	if (*pp)
		*pp = p->next;
	if (head)
		idmap_put(&D.pending, p->hash, head);
	else
		idmap_del(&D.pending, p->hash);
}

/* Add a waiter to p. */
static int pending_add_cookie(struct pending *p, uint64_t cookie)
{
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 4;
		uint64_t *v = realloc(p->cookies, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		p->cookies = v;
		p->cap = cap;
	}
	p->cookies[p->n++] = cookie;
	return 0;
}

/* Turn an addrinfo list into a cache result (deduplicated, wanted family). */
static void result_from_addrinfo(const struct evutil_addrinfo *ai, int ip_version,
				 struct dnscache_result *r)
{
	memset(r, 0, sizeof(*r));
	for (; ai && r->count < DNSCACHE_ADDRS_MAX; ai = ai->ai_next) {
		struct dnscache_addr a = { 0 };
		const void *bin;

		if (ai->ai_family == AF_INET && ip_version != 6) {
			a.ip_version = 4;
			bin = &((const struct sockaddr_in *)ai->ai_addr)->sin_addr;
		} else if (ai->ai_family == AF_INET6 && ip_version != 4) {
			a.ip_version = 6;
			bin = &((const struct sockaddr_in6 *)ai->ai_addr)->sin6_addr;
		} else {
			continue;
		}
		if (!evutil_inet_ntop(ai->ai_family, bin, a.text, sizeof(a.text)))
			continue;
		bool dup = false;

		for (int i = 0; i < r->count; i++)
			if (strcmp(r->addrs[i].text, a.text) == 0)
				dup = true;
		if (!dup)
			r->addrs[r->count++] = a;
	}
}

/* Free a finished lookup. */
static void pending_free(struct pending *p)
{
	free(p->cookies);
	free(p);
}

/* evdns answered (or failed, or was cancelled). */
static void dns_answer_cb(int result, struct evutil_addrinfo *res, void *arg)
{
	struct pending *p = arg;
	struct dnscache_result r;

	memset(&r, 0, sizeof(r));
	if (result == 0)
		result_from_addrinfo(res, p->ip_version, &r);
	if (res)
		evutil_freeaddrinfo(res);
	pending_remove(p);
	p->req = NULL;
	if (result == EVUTIL_EAI_CANCEL) {
		/* Shutting down: nobody waits any more. */
	} else {
		if (result != 0)
			log_debug("resolving %s: %s", p->host, evutil_gai_strerror(result));
		dnscache_insert(D.cache, p->host, p->ip_version, &r, mono_now());
		for (size_t i = 0; i < p->n; i++)
			D.done(p->cookies[i], &r);
	}
	if (p->starting)
		p->finished = true;
	else
		pending_free(p);
}

/* Resolve host through the cache, or start (or join) a lookup. */
enum dnscache_status dns_resolve(const char *host, int ip_version, uint64_t cookie,
				 struct dnscache_result *ret)
{
	struct evutil_addrinfo hints;
	enum dnscache_status st;
	struct pending *p;
	uint64_t h;

	st = dnscache_lookup(D.cache, host, ip_version, mono_now(), ret);
	if (st != DNSCACHE_MISS)
		return st;
	h = key_hash(host, ip_version);
	p = pending_find(host, ip_version, h);
	if (p) {
		if (pending_add_cookie(p, cookie) < 0)
			goto fail;
		return DNSCACHE_MISS;
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		goto fail;
	snprintf(p->host, sizeof(p->host), "%s", host);
	p->ip_version = ip_version;
	p->hash = h;
	if (pending_add_cookie(p, cookie) < 0) {
		free(p);
		goto fail;
	}
	p->next = idmap_get(&D.pending, h);
	if (idmap_put(&D.pending, h, p) < 0) {
		pending_free(p);
		goto fail;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = ip_version == 4 ? AF_INET : ip_version == 6 ? AF_INET6 : AF_UNSPEC;
	hints.ai_socktype = SOCK_DGRAM;
	hints.ai_protocol = IPPROTO_UDP;
	D.lookups++;
	p->starting = true;
	p->req = evdns_getaddrinfo(D.evdns, host, NULL, &hints, dns_answer_cb, p);
	p->starting = false;
	if (p->finished) {
		pending_free(p);
		/* Answered at once (hosts file): the callback already ran. */
	}
	return DNSCACHE_MISS;
fail:
	memset(ret, 0, sizeof(*ret));
	return DNSCACHE_NEGATIVE;
}

/* Drop expired entries, now and then. */
static void dns_expire_cb(evutil_socket_t fd, short what, void *arg)
{
	size_t n = dnscache_expire(D.cache, mono_now());

	if (n)
		log_debug("DNS cache: %zu expired entries dropped", n);
	route_expire();
}

/* Point evdns at the configured servers and hosts file, or the system's. */
static int dns_configure(struct evdns_base *evdns)
{
	const struct mp_config *cfg = &srv.cfg;
	int r;

	if (cfg->n_dns_servers > 0) {
		for (int i = 0; i < cfg->n_dns_servers; i++) {
			r = evdns_base_nameserver_ip_add(evdns, cfg->dns_servers[i]);
			if (r != 0) {
				log_error("dns_servers: cannot use %s", cfg->dns_servers[i]);
				return -EINVAL;
			}
		}
	} else {
		r = evdns_base_resolv_conf_parse(evdns, DNS_OPTIONS_ALL & ~DNS_OPTION_HOSTSFILE,
						 "/etc/resolv.conf");
		if (r != 0)
			log_debug("reading /etc/resolv.conf failed (%d); using evdns defaults", r);
	}
	const char *hosts = cfg->hosts_file ? cfg->hosts_file : "/etc/hosts";

	if (evdns_base_load_hosts(evdns, hosts) != 0)
		log_warning("cannot read hosts file %s", hosts);
	return 0;
}

/* Set up evdns, the cache and the expiry timer. */
int dns_init(dns_done_cb done)
{
	struct timeval tv = tv_from_seconds(srv.cfg.dns_expire_interval);

	D.done = done;
	idmap_init(&D.pending);
	D.cache = dnscache_new(srv.cfg.dns_cache_size, srv.cfg.dns_cache_ttl,
			       srv.cfg.dns_negative_ttl);
	D.evdns = evdns_base_new(srv.base, EVDNS_BASE_DISABLE_WHEN_INACTIVE);
	D.expire_ev = event_new(srv.base, -1, EV_PERSIST, dns_expire_cb, NULL);
	if (!D.cache || !D.evdns || !D.expire_ev)
		return -ENOMEM;
	if (dns_configure(D.evdns) < 0)
		return -EINVAL;
	event_add(D.expire_ev, &tv);
	return 0;
}

/* True if two configs name the same DNS servers and hosts file. */
static bool same_sources(const struct mp_config *a, const struct mp_config *b)
{
	if (a->n_dns_servers != b->n_dns_servers)
		return false;
	for (int i = 0; i < a->n_dns_servers; i++)
		if (strcmp(a->dns_servers[i], b->dns_servers[i]) != 0)
			return false;
	if (!a->hosts_file || !b->hosts_file)
		return a->hosts_file == b->hosts_file;
	return strcmp(a->hosts_file, b->hosts_file) == 0;
}

/* Apply the server's (new) config; old is the one it replaces. */
int dns_reconfigure(const struct mp_config *old)
{
	const struct mp_config *cfg = &srv.cfg;
	struct timeval tv = tv_from_seconds(cfg->dns_expire_interval);
	int r = 0;

	if (!same_sources(old, cfg)) {
		/* Lookups in progress wait, then go to the new servers. */
		evdns_base_clear_nameservers_and_suspend(D.evdns);
		evdns_base_search_clear(D.evdns);
		evdns_base_clear_host_addresses(D.evdns);
		r = dns_configure(D.evdns);
		evdns_base_resume(D.evdns);
		dnscache_clear(D.cache);
	}
	if (cfg->dns_cache_size != old->dns_cache_size) {
		struct dnscache *c = dnscache_new(cfg->dns_cache_size, cfg->dns_cache_ttl,
						  cfg->dns_negative_ttl);

		if (c) {
			struct dnscache_stats st;

			/* The counters are since start: carry the old cache's over. */
			dnscache_get_stats(D.cache, &st);
			D.base.hits += st.hits;
			D.base.misses += st.misses;
			D.base.expired += st.expired;
			dnscache_free(D.cache);
			D.cache = c;
		}
	}
	dnscache_set_ttl(D.cache, cfg->dns_cache_ttl, cfg->dns_negative_ttl);
	event_del(D.expire_ev);
	event_add(D.expire_ev, &tv);
	return r;
}

/* Free evdns (cancelling lookups) and the cache. */
void dns_free(void)
{
	size_t iter = 0, n = 0, cap = 0;
	uint64_t key;
	void *val;
	struct pending **v;

	/* Every lookup in progress, chains of equal hashes included. */
	while (idmap_next(&D.pending, &iter, &key, &val))
		for (struct pending *p = val; p; p = p->next)
			cap++;
	iter = 0;
	v = malloc((cap + 1) * sizeof(*v));
	if (D.expire_ev)
		event_free(D.expire_ev);
	D.expire_ev = NULL;
	/*
	 * Cancel the lookups in progress.  evdns answers a cancelled lookup
	 * from the loop: run it while the evdns base still exists (its
	 * deferred callbacks read it), so that the callbacks free what they
	 * own, and only then free the base.
	 */
	while (v && idmap_next(&D.pending, &iter, &key, &val))
		for (struct pending *p = val; p; p = p->next)
			if (n < cap)
				v[n++] = p;
	for (size_t i = 0; i < n; i++)
		if (v[i]->req)
			evdns_getaddrinfo_cancel(v[i]->req);
	free(v);
	for (int i = 0; i < 10 && srv.base && idmap_count(&D.pending) > 0; i++)
		event_base_loop(srv.base, EVLOOP_NONBLOCK);
	if (D.evdns)
		evdns_base_free(D.evdns, 0);
	D.evdns = NULL;
	/* Whatever evdns did not answer: nobody waits any more. */
	iter = 0;
	while (idmap_next(&D.pending, &iter, &key, &val)) {
		for (struct pending *p = val, *next; p; p = next) {
			next = p->next;
			pending_free(p);
		}
	}
	idmap_free(&D.pending);
	dnscache_free(D.cache);
	D.cache = NULL;
}

/* Drop every cached entry. */
size_t dns_clear_cache(void)
{
	return dnscache_clear(D.cache);
}

/* Counters for stats. */
void dns_get_stats(struct dns_stats *ret)
{
	struct dnscache_stats cs;

	dnscache_get_stats(D.cache, &cs);
	ret->entries = dnscache_count(D.cache);
	ret->hits = D.base.hits + cs.hits;
	ret->misses = D.base.misses + cs.misses;
	ret->expired = D.base.expired + cs.expired;
	ret->lookups = D.lookups;
}
