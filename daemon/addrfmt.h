/*
 * IP address text without libc's inet_pton() and inet_ntop(): the same
 * answers and the same bytes as glibc's, at a fraction of the cost (glibc's
 * inet_ntop() formats with sprintf()), for the work done on every probe.
 * Pure: no I/O, no logging, no allocation.
 */
#ifndef MTRPROBED_ADDRFMT_H
#define MTRPROBED_ADDRFMT_H

#include <stddef.h>
#include <sys/socket.h> /* AF_INET, AF_INET6 */

#include "mtrprobe/protocol.h"

/* Longest valid text of an address, without the NUL. */
#define ADDR_TEXT4_MAX 15 /* 255.255.255.255 */
#define ADDR_TEXT6_MAX 45 /* ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255 */

/*
 * Parse the len bytes at s, not NUL-terminated, as an address of family
 * (AF_INET or AF_INET6) into bin (4 or 16 bytes, network order).  Returns
 * what glibc's inet_pton(family, copy, bin) returns for copy, the bytes
 * followed by a NUL: 1 for a valid address, 0 for anything else (so also
 * for bytes that hold a NUL, and for more bytes than the longest valid
 * text), -1 for another family.  bin is written only when 1 is returned.
 *
 * IPv4: exactly four decimal parts of 0-255 separated by '.', no leading
 * zero (but "0" itself).  IPv6: groups of 1-4 hex digits (either case)
 * separated by ':', at most one "::" standing for at least one zero group,
 * and optionally an IPv4 address in place of the last two groups.
 */
int addr_parse(int family, const char *s, size_t len, void *bin);

/*
 * Write the text of the address bin (4 or 16 bytes, network order) of
 * family to out, NUL-terminated: byte for byte what glibc's inet_ntop()
 * writes.  Returns its length, or 0 (and "") for another family.
 *
 * IPv4: dotted decimal.  IPv6: groups in lowercase hex without leading
 * zeros; the longest run of two or more zero groups (the first of equal
 * runs) as "::"; "::a.b.c.d" when the first six groups are zero and the
 * seventh is not, "::ffff:a.b.c.d" when the first five are zero and the
 * sixth is ffff (a v4-mapped address).
 */
size_t addr_format(int family, const void *bin, char out[MP_ADDR_MAX]);

/*
 * The canonical text of the address in the len bytes at s (not
 * NUL-terminated) of ip_version (4 or 6): what inet_ntop() writes for what
 * inet_pton() reads.  Returns 0 and writes out, or -EINVAL (out untouched)
 * when s is not an address of that version.
 */
int addr_canon(int ip_version, const char *s, size_t len, char out[MP_ADDR_MAX]);

#endif
