/*
 * The descriptors the daemon keeps for itself, and how many connections
 * the open-files limit leaves room for.
 */
#ifndef MTRPROBED_FDLIMIT_H
#define MTRPROBED_FDLIMIT_H

#include <stdint.h>

/*
 * stdio, the listener, the event loop (epoll, signal pipe), systemd's
 * notify socket, a connection accepted only to be refused, the four spare
 * pipe ends of a worker being started, a socket file being chmodded, and
 * a margin.
 */
#define FDLIMIT_FIXED 24
/* Most workers the pool runs (pool.c checks that POOL_WORKERS_MAX fits). */
#define FDLIMIT_WORKERS_MAX 128
/* Each worker's socket (stdin and stdout) and stderr pipe, at the most workers. */
#define FDLIMIT_WORKERS (2 * FDLIMIT_WORKERS_MAX)
/* DNS sockets (a UDP socket per server) and routing lookups (one each while it runs). */
#define FDLIMIT_LOOKUPS 64
/* Everything but the connections: 344. */
#define FDLIMIT_RESERVE (FDLIMIT_FIXED + FDLIMIT_WORKERS + FDLIMIT_LOOKUPS)

/*
 * The max_connections to apply: configured, capped at the soft open-files
 * limit less FDLIMIT_RESERVE, and never below 1.  Pure.
 */
int fdlimit_max_connections(int configured, uint64_t soft_limit);

#endif
