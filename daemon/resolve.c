/*
 * Where a probe goes: its target address (a literal at once, a name
 * through dns.c and its cache) and its source address (local_ip, a
 * literal or a name, else the kernel's routing decision through
 * route.c).  Then the probe is queued (probe_enqueue()), or ends with an
 * error or with the answer mtr-packet would have given.  A probe keeps
 * its host and local_ip only while it waits for DNS.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"
#include "idmap.h"
#include "probe.h"
#include "route.h"
#include "sched.h"

static struct {
	struct idmap waiting;  /* probe id -> struct probe, while DNS may call back for it */
} R;

/* p's host and local_ip are no longer needed: drop its copy, and leave the map of DNS waiters. */
void probe_names_drop(struct probe *p)
{
	if (p->in_map)
		idmap_del(&R.waiting, p->id);
	if (p->names_owned)
		free((char *)p->host);
	p->in_map = p->names_owned = false;
	p->host = p->local = "";
}

/* Copy p's host and local_ip, which may point into the submitter's options.  0 or -ENOMEM. */
static int probe_keep_names(struct probe *p)
{
	size_t hl, ll;
	char *names;

	if (p->names_owned)
		return 0;
	hl = strlen(p->host);
	ll = strlen(p->local);
	names = malloc(hl + ll + 2);
	if (!names)
		return -ENOMEM;
	memcpy(names, p->host, hl + 1);
	memcpy(names + hl + 1, p->local, ll + 1);
	p->host = names;
	p->local = names + hl + 1;
	p->names_owned = true;
	return 0;
}

/*
 * Look name up for p.  True: the cache answered, res is to be used now.
 * False: p waits for sched_dns_done(), or has ended already (DNS may
 * answer from within dns_resolve(), from the hosts file, and p may be
 * gone by then: it is looked up by id, not touched).
 */
static bool probe_lookup(struct probe *p, const char *name, int ip_version,
			 struct dnscache_result *res)
{
	uint64_t id = p->id;

	if (!p->in_map) {
		if (idmap_put(&R.waiting, id, p) < 0) {
			probe_fail(p, MP_ERR_OVERLOADED, "op: out of memory");
			return false;
		}
		p->in_map = true;
	}
	if (dns_resolve(name, ip_version, id, res) != DNSCACHE_MISS) {
		idmap_del(&R.waiting, id);
		p->in_map = false;
		return true;
	}
	/* Still waiting: the names must outlive sched_submit(). */
	if (idmap_get(&R.waiting, id) == p && probe_keep_names(p) < 0)
		probe_fail(p, MP_ERR_OVERLOADED, "op: out of memory");
	return false;
}

/* True for errors of the routing lookup that are the daemon's own shortage, not the network's. */
static bool route_error_is_local(int r)
{
	return r == -EMFILE || r == -ENFILE || r == -ENOBUFS || r == -ENOMEM;
}

/* Find p's source address with a routing lookup, then queue it. */
static void probe_route(struct probe *p)
{
	int r = route_source(p->address, p->ip_version, probe_mark(p), p->local_ip);

	if (route_error_is_local(r)) {
		probe_fail(p, MP_ERR_OVERLOADED, "op: no descriptor free for the routing lookup (%s)",
			   strerror(-r));
		return;
	}
	if (r < 0) {
		/* mtr-packet would answer the same; it is spared a crash. */
		probe_answer(p, route_error_word(r), -1, NULL, NULL, 0);
		return;
	}
	probe_enqueue(p);
}

/* The source address came from a lookup of local_ip. */
static void probe_local_result(struct probe *p, const struct dnscache_result *res)
{
	for (int i = 0; i < res->count; i++) {
		if (res->addrs[i].ip_version == p->ip_version) {
			memcpy(p->local_ip, res->addrs[i].text, sizeof(p->local_ip));
			probe_enqueue(p);
			return;
		}
	}
	probe_fail(p, MP_ERR_HOST_RESOLVE, "local_ip: %s has no IPv%d address", p->local,
		   p->ip_version);
}

/* The target address is known: settle the source address. */
static void probe_target_known(struct probe *p)
{
	struct dnscache_result res;
	char lit[MP_ADDR_MAX];
	int v;

	if (!p->local[0]) {
		probe_route(p);
		return;
	}
	v = addr_literal_version(p->local, lit);
	if (v) {
		if (v != p->ip_version) {
			probe_fail(p, MP_ERR_HOST_RESOLVE, "local_ip: %s is not an IPv%d address",
				   p->local, p->ip_version);
			return;
		}
		memcpy(p->local_ip, lit, sizeof(p->local_ip));
		probe_enqueue(p);
		return;
	}
	p->resolving_local = true;
	if (probe_lookup(p, p->local, p->ip_version, &res))
		probe_local_result(p, &res);
}

/* The target's lookup finished: pick the address to probe. */
static void probe_host_result(struct probe *p, const struct dnscache_result *res)
{
	const struct dnscache_addr *pick = NULL;
	char src[MP_ADDR_MAX];

	for (int i = 0; i < res->count && !pick; i++) {
		const struct dnscache_addr *a = &res->addrs[i];

		if (p->o.want_version && a->ip_version != p->o.want_version)
			continue;
		/* Without a wanted version: the first one the host can route to. */
		if (!p->o.want_version && route_source(a->text, a->ip_version, probe_mark(p), src) < 0)
			continue;
		pick = a;
	}
	if (!pick && !p->o.want_version && res->count > 0)
		pick = &res->addrs[0];
	if (!pick) {
		if (p->o.want_version)
			probe_fail(p, MP_ERR_HOST_RESOLVE, "host: %s has no IPv%d address", p->host,
				   p->o.want_version);
		else
			probe_fail(p, MP_ERR_HOST_RESOLVE, "host: cannot resolve %s", p->host);
		return;
	}
	memcpy(p->address, pick->text, sizeof(p->address));
	p->ip_version = (uint8_t)pick->ip_version;
	probe_target_known(p);
}

/* A lookup for probe cookie finished. */
void sched_dns_done(uint64_t cookie, const struct dnscache_result *res)
{
	struct probe *p = idmap_get(&R.waiting, cookie);

	if (!p || p->state != PROBE_RESOLVING)
		return;
	if (p->resolving_local)
		probe_local_result(p, res);
	else
		probe_host_result(p, res);
}

/* Start resolving p's host: literals at once, names through the cache. */
void probe_resolve(struct probe *p)
{
	struct dnscache_result res;
	char lit[MP_ADDR_MAX];
	int v = addr_literal_version(p->host, lit);

	if (v) {
		if (p->o.want_version && p->o.want_version != v) {
			probe_fail(p, MP_ERR_HOST_RESOLVE, "host: %s is not an IPv%d address", p->host,
				   p->o.want_version);
			return;
		}
		memcpy(p->address, lit, sizeof(p->address));
		p->ip_version = (uint8_t)v;
		probe_target_known(p);
		return;
	}
	if (probe_lookup(p, p->host, p->o.want_version, &res))
		probe_host_result(p, &res);
}

/* Give back the waiting map's spare room. */
void resolve_trim(void)
{
	idmap_shrink(&R.waiting);
}

/* Free the waiting map (the probes are the scheduler's). */
void resolve_free(void)
{
	idmap_free(&R.waiting);
}
