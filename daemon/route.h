/*
 * Source-address selection: the kernel's routing decision for a target
 * (connect a UDP socket, read its local address), cached per target.
 */
#ifndef MTRPROBED_ROUTE_H
#define MTRPROBED_ROUTE_H

#include <stdint.h>

#include "mtrprobe/protocol.h"

/*
 * If text is an IPv4 or IPv6 literal, write its canonical form to ret and
 * return 4 or 6; else return 0.
 */
int addr_literal_version(const char *text, char ret[MP_ADDR_MAX]);

int route_init(void);
void route_free(void);
/*
 * The source address the kernel would use to reach address (an inet_ntop
 * form of family ip_version) with the given mark (-1 = none).  Returns 0
 * and fills ret_src, or -errno from the lookup (-ENETUNREACH, ...).
 */
int route_source(const char *address, int ip_version, int64_t mark, char ret_src[MP_ADDR_MAX]);
/* mtr-packet's reply word for a routing error (e.g. "no-route"). */
const char *route_error_word(int err);
/* Drop cached lookups older than their lifetime. */
void route_expire(void);

#endif
