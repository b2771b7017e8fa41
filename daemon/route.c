/*
 * Source-address selection.  mtr-packet is always told the source address
 * (local-ip-4/-6): it then skips a per-probe socket, runs about twice as
 * fast, and avoids a crash on unreachable routes.  The address is what the
 * kernel picks for a UDP socket connected to the target (no packet is
 * sent), cached per (target, mark) for ROUTE_TTL seconds.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "addrfmt.h"
#include "dnscache.h"
#include "route.h"
#include "util.h"

#define ROUTE_TTL 60.0
#define ROUTE_CACHE_MAX 65536

static struct dnscache *route_cache;

/*
 * Canonical form and version of an IP literal, or 0.  Runs for every probe
 * (its target and local_ip): addr_canon(), not inet_pton() and inet_ntop().
 */
int addr_literal_version(const char *text, char ret[MP_ADDR_MAX])
{
	/* A text of MP_ADDR_MAX characters or more is no address: addr_canon() refuses it. */
	size_t len = strnlen(text, MP_ADDR_MAX);

	if (addr_canon(4, text, len, ret) == 0)
		return 4;
	if (addr_canon(6, text, len, ret) == 0)
		return 6;
	return 0;
}

/* Set up the cache. */
int route_init(void)
{
	route_cache = dnscache_new(ROUTE_CACHE_MAX, ROUTE_TTL, 0);
	return route_cache ? 0 : -ENOMEM;
}

/* Free the cache. */
void route_free(void)
{
	dnscache_free(route_cache);
	route_cache = NULL;
}

/* Ask the kernel which source address it would use. */
static int route_lookup(const char *address, int ip_version, int64_t mark, char ret[MP_ADDR_MAX])
{
	struct sockaddr_storage ss;
	socklen_t len;
	int family = ip_version == 6 ? AF_INET6 : AF_INET;
	int fd, r = 0;

	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(33434);
		if (inet_pton(AF_INET, address, &sin->sin_addr) != 1)
			return -EINVAL;
		len = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(33434);
		if (inet_pton(AF_INET6, address, &sin6->sin6_addr) != 1)
			return -EINVAL;
		len = sizeof(*sin6);
	}
	fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (mark >= 0) {
		unsigned int m = (unsigned int)mark;

		/* Needs CAP_NET_ADMIN; without it the unmarked route is the best guess. */
		(void)setsockopt(fd, SOL_SOCKET, SO_MARK, &m, sizeof(m));
	}
	if (connect(fd, (struct sockaddr *)&ss, len) < 0) {
		r = -errno;
	} else {
		len = sizeof(ss);
		if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
			r = -errno;
		else if (family == AF_INET)
			inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, ret, MP_ADDR_MAX);
		else
			inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, ret, MP_ADDR_MAX);
	}
	close(fd);
	return r;
}

/* Longest cache key: an address, '#', a mark of up to 20 characters, the NUL. */
#define ROUTE_KEY_MAX (MP_ADDR_MAX + 24)

/*
 * The cache key of (address, mark): "ADDRESS#MARK", the mark in decimal
 * ("#-1" for none).  Written by hand: this runs for every probe.
 */
static void route_key(char key[ROUTE_KEY_MAX], const char *address, int64_t mark)
{
	char digits[24], *d = digits + sizeof(digits);
	uint64_t m = mark < 0 ? -(uint64_t)mark : (uint64_t)mark;
	size_t n = strnlen(address, MP_ADDR_MAX - 1);

	memcpy(key, address, n);
	key[n++] = '#';
	do {
		*--d = (char)('0' + m % 10);
		m /= 10;
	} while (m > 0);
	if (mark < 0)
		*--d = '-';
	memcpy(key + n, d, (size_t)(digits + sizeof(digits) - d));
	key[n + (size_t)(digits + sizeof(digits) - d)] = '\0';
}

/* The source address for address (cached); 0 or -errno. */
int route_source(const char *address, int ip_version, int64_t mark, char ret_src[MP_ADDR_MAX])
{
	struct dnscache_result res;
	char key[ROUTE_KEY_MAX];
	double now = mono_now();
	int r;

	route_key(key, address, mark);
	if (dnscache_lookup(route_cache, key, ip_version, now, &res) == DNSCACHE_HIT) {
		memcpy(ret_src, res.addrs[0].text, MP_ADDR_MAX);
		return 0;
	}
	r = route_lookup(address, ip_version, mark, ret_src);
	if (r < 0)
		return r; /* failures are not cached: routes come and go */
	memset(&res, 0, sizeof(res));
	res.count = 1;
	res.addrs[0].ip_version = ip_version;
	memcpy(res.addrs[0].text, ret_src, MP_ADDR_MAX);
	dnscache_insert(route_cache, key, ip_version, &res, now);
	return 0;
}

/* mtr-packet's word for a routing error. */
const char *route_error_word(int err)
{
	switch (-err) {
	case ENETUNREACH:
	case EHOSTUNREACH:
		return "no-route";
	case ENETDOWN:
		return "network-down";
	case EACCES:
	case EPERM:
		return "permission-denied";
	case EADDRNOTAVAIL:
		return "address-not-available";
	case EINVAL:
		return "invalid-argument";
	default:
		return "unexpected-error";
	}
}

/* Drop old lookups. */
void route_expire(void)
{
	dnscache_expire(route_cache, mono_now());
}
