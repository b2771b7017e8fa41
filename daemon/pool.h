/*
 * The pool of mtr-packet workers: which worker takes a probe, the limits
 * each respects, supervision and restart, and check-support answers.
 */
#ifndef MTRPROBED_POOL_H
#define MTRPROBED_POOL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "mtrprobe/protocol.h"

struct probe;
struct worker;

/* Most workers a pool can have. */
#define POOL_WORKERS_MAX 64
/* Hard cap of probes one worker has in flight (mtr-packet 0.95 allows 1024). */
#define WORKER_MAX_INFLIGHT 1000

/* Called once every worker has either answered its start-up check or failed. */
typedef void (*pool_ready_cb)(int alive, const char *why_none);

/* Create n workers and start them; ready is called when the start settles. */
int pool_start(int n, pool_ready_cb ready);
/* Change the number of workers (extra ones retire once idle). */
void pool_resize(int n);
/* Kill every worker and free the pool. */
void pool_stop(void);

/* A worker with room for p, or NULL when every eligible one is full. */
struct worker *pool_pick(const struct probe *p);
/* True if some worker is up. */
bool pool_any_alive(void);
/* True if no worker can take any probe right now (cheap check). */
bool pool_all_busy(void);
/* After a round of pool_send(): ask the workers to confirm what was sent. */
void pool_flush(void);
/* Write p to w (chosen by pool_pick); 0, or -errno when p could not be sent. */
int pool_send(struct worker *w, struct probe *p);
/* p's worker holds p's token far past mtr-packet's own timeout: kill it. */
void pool_worker_hung(struct worker *w);

/*
 * Ask mtr-packet about feature for connection conn_id, request id id.  The
 * answer goes to conn_deliver().  Cached per worker start.
 */
void pool_check_support(uint64_t conn_id, const struct mp_id *id, const char *feature);
/* mtr-packet's version as its workers reported it ("" before the first start). */
const char *pool_mtr_version(void);
/* A child process exited (from SIGCHLD). */
void pool_child_exited(pid_t pid, int status);

struct pool_stats {
	int configured, alive;
	uint64_t restarts;
};
void pool_get_stats(struct pool_stats *ret);

#endif
