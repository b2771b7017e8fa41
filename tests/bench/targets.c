/*
 * mtrprobe-bench: the targets.  Probes go to loopback only, or, in the
 * memory modes, to a documentation address of a network namespace of the
 * caller's own that has no way off the machine.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "bench.h"

/* What kind of address a target is. */
enum target_kind {
	TARGET_BAD,
	TARGET_LOOPBACK,      /* 127.0.0.0/8, ::1 */
	TARGET_DOCUMENTATION, /* 192.0.2/24, 198.51.100/24, 203.0.113/24, 2001:db8::/32 */
};

/* Find the source address for target (IP version ipv) as the daemon does:
 * connect a UDP socket to it and read the address back into local
 * (INET6_ADDRSTRLEN bytes).  0 or -errno. */
static int route_source(const char *target, int ipv, char *local)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd, ret = 0;

	memset(&ss, 0, sizeof(ss));
	if (ipv == 4) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(9);
		inet_pton(AF_INET, target, &sin->sin_addr);
		sl = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(9);
		inet_pton(AF_INET6, target, &sin6->sin6_addr);
		sl = sizeof(*sin6);
	}
	fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&ss, sl) < 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &sl) < 0) {
		ret = -errno;
	} else if (ipv == 4) {
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, local,
			  INET6_ADDRSTRLEN);
	} else {
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, local,
			  INET6_ADDRSTRLEN);
	}
	close(fd);
	return ret;
}

/* The kind of the literal s, setting *ipv to 4 or 6. */
static enum target_kind target_kind(const char *s, int *ipv)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (inet_pton(AF_INET, s, &a4) == 1) {
		uint32_t a = ntohl(a4.s_addr);

		*ipv = 4;
		if ((a >> 24) == 127)
			return TARGET_LOOPBACK;
		if ((a >> 8) == 0xc00002 || (a >> 8) == 0xc63364 || (a >> 8) == 0xcb0071)
			return TARGET_DOCUMENTATION;
		return TARGET_BAD;
	}
	if (inet_pton(AF_INET6, s, &a6) == 1) {
		*ipv = 6;
		if (IN6_IS_ADDR_LOOPBACK(&a6))
			return TARGET_LOOPBACK;
		if (a6.s6_addr[0] == 0x20 && a6.s6_addr[1] == 0x01 && a6.s6_addr[2] == 0x0d &&
		    a6.s6_addr[3] == 0xb8)
			return TARGET_DOCUMENTATION;
	}
	return TARGET_BAD;
}

/* Whether a and b are in the same documentation network (192.0.2.0/24,
 * 198.51.100.0/24, 203.0.113.0/24 or 2001:db8::/32). */
static bool same_documentation_net(const char *a, const char *b)
{
	int va, vb;
	unsigned char na[16], nb[16];

	if (target_kind(a, &va) != TARGET_DOCUMENTATION ||
	    target_kind(b, &vb) != TARGET_DOCUMENTATION || va != vb)
		return false;
	if (inet_pton(va == 4 ? AF_INET : AF_INET6, a, na) != 1 ||
	    inet_pton(vb == 4 ? AF_INET : AF_INET6, b, nb) != 1)
		return false;
	return !memcmp(na, nb, va == 4 ? 3 : 4);
}

/* Whether this network namespace has a default route (IPv4 or IPv6), or
 * its routes cannot be read. */
static bool has_default_route(void)
{
	char line[512], dest[64], mask[64], iface[64];
	bool found = false;
	FILE *f;

	f = fopen("/proc/net/route", "re");
	if (!f)
		return true;
	while (!found && fgets(line, sizeof(line), f))
		if (sscanf(line, "%63s %63s %*s %*s %*s %*s %*s %63s", iface, dest, mask) == 3 &&
		    !strcmp(dest, "00000000") && !strcmp(mask, "00000000"))
			found = true;
	fclose(f);
	f = fopen("/proc/net/ipv6_route", "re");
	if (!f)
		return found;
	while (!found && fgets(line, sizeof(line), f))
		if (sscanf(line, "%63s %63s", dest, mask) == 2 &&
		    !strcmp(dest, "00000000000000000000000000000000") && !strcmp(mask, "00") &&
		    !strstr(line, " lo\n"))
			found = true;
	fclose(f);
	return found;
}

/* Check the one --target: loopback, or with doc_ok a documentation address
 * (then *doc is set).  Sets o->ip_version.  EXIT_DONE, or EXIT_USAGE after
 * a message. */
int target_check(struct options *o, bool doc_ok, bool *doc)
{
	enum target_kind kind = target_kind(o->target, &o->ip_version);

	if (kind == TARGET_BAD || (kind == TARGET_DOCUMENTATION && !doc_ok)) {
		fprintf(stderr, PROG ": --target: only 127.x.x.x or ::1 allowed%s, not '%s'\n",
			doc_ok ? " (or a documentation address)" : "", o->target);
		return EXIT_USAGE;
	}
	*doc = kind == TARGET_DOCUMENTATION;
	return EXIT_DONE;
}

/* Fill o->targets: the one --target, or --targets N spread over 127/8:
 * address i is 127.0.1.1 + i * ((127.255.255.254 - 127.0.1.1) / N).
 * false when out of memory. */
bool make_targets(struct options *o, long n)
{
	unsigned long stride = n > 1 ? (SPREAD_LAST - SPREAD_FIRST) / (unsigned long)n : 0;
	long i;

	o->targets = calloc((size_t)n, sizeof(*o->targets));
	o->locals = calloc((size_t)n, sizeof(*o->locals));
	if (!o->targets || !o->locals)
		return false;
	o->ntargets = n;
	if (n == 1 && o->target) {
		snprintf(o->targets[0], sizeof(o->targets[0]), "%s", o->target);
		return true;
	}
	for (i = 0; i < n; i++) {
		struct in_addr a;

		a.s_addr = htonl((uint32_t)(SPREAD_FIRST + (unsigned long)i * stride));
		inet_ntop(AF_INET, &a, o->targets[i], sizeof(o->targets[i]));
	}
	return true;
}

/* Release what make_targets() allocated. */
void free_targets(struct options *o)
{
	free(o->targets);
	free(o->locals);
	o->targets = NULL;
	o->locals = NULL;
	o->ntargets = 0;
}

/* Find the source address of every target; with doc (a documentation
 * target), check that this namespace may carry its probes.  EXIT_DONE, or
 * an exit status after a message. */
int resolve_sources(struct options *o, bool doc)
{
	long i;
	int ret;

	for (i = 0; i < o->ntargets; i++) {
		ret = route_source(o->targets[i], o->ip_version, o->locals[i]);
		if (ret < 0) {
			fprintf(stderr, PROG ": no route to %s: %s\n", o->targets[i], strerror(-ret));
			return EXIT_INCOMPLETE;
		}
	}
	memcpy(o->local, o->locals[0], sizeof(o->local));
	if (doc && (has_default_route() || !same_documentation_net(o->target, o->local))) {
		/* Only a namespace of the caller's own, without a way off the
		 * machine and with an address in the target's documentation
		 * network, may carry these probes. */
		fprintf(stderr, PROG ": --target %s: only inside a network namespace without a "
			"default route, with an address of the target's documentation network "
			"(here: source %s): see run-all.sh\n", o->target, o->local);
		return EXIT_USAGE;
	}
	return EXIT_DONE;
}
