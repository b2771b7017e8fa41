/*
 * The pool of mtr-packet workers: which worker takes a task, the limits
 * each respects, how many run (elastic, between min_workers and
 * max_workers), supervision and restart, and check-support answers.  What
 * happens comes back up through the hooks of pool_start() and the tasks'
 * own done callbacks.
 */
#ifndef MTRPROBED_POOL_H
#define MTRPROBED_POOL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "mtrpkt.h"
#include "mtrprobe/protocol.h"
#include "wlink.h"
#include "worker.h"

/* Most workers a pool can have. */
#define POOL_WORKERS_MAX 128
/* Probes one worker holds at most (mtr-packet 0.95 allows 1024). */
#define WORKER_MAX_INFLIGHT 1000

/* What the pool tells its user.  Owned by the caller of pool_start(); static. */
struct pool_hooks {
	/* A worker has room again, or one started: dispatch may go on. */
	void (*room)(void);
	/*
	 * The first start settled: alive workers answered their check, or
	 * none did and why_none says why.  Called once.
	 */
	void (*started)(int alive, const char *why_none);
};

/* Start min_workers workers through link ops. 0 or -errno. */
int pool_start(const struct wlink_ops *ops, const struct pool_hooks *hooks);
/* Apply a changed min_workers, max_workers or worker_idle_timeout. */
void pool_reconfigure(void);
/* Kill every worker and free the pool. */
void pool_stop(void);
/* Give back memory kept for reuse (the daemon is idle). */
void pool_trim(void);

/*
 * A worker with room for a task of class cls now, or NULL (the pool may
 * start another worker: room() follows when it is ready).
 */
struct worker *pool_pick(enum wtask_class cls);
/* True if no worker can take any task now (cheap check before a dispatch pass). */
bool pool_all_busy(void);
/* True if some worker is up, or starting other than after a crash-loop death or a failed start. */
bool pool_any_alive(void);
/*
 * Write probe t (cmd without its token) to w, chosen by pool_pick(); t's
 * done callback runs when it ends.  0 or -errno.
 */
int pool_send(struct worker *w, struct wtask *t, struct mtrpkt_probe_cmd *cmd);
/* After a dispatch pass: ask the workers to confirm what was sent. */
void pool_flush(void);
/* w holds a task far past mtr-packet's own timeout: kill it. */
void pool_worker_hung(struct worker *w);
/* Most tasks of class cls the pool can hold at max_workers. */
int pool_capacity(enum wtask_class cls);

/* The answer to a check-support question: err MP_OK and value, or an error. */
typedef void (*pool_support_cb)(void *arg, enum mp_error err, const char *msg,
				const char *value);
/* Ask mtr-packet about feature; cb runs exactly once (maybe before this returns). */
void pool_check_support(const char *feature, pool_support_cb cb, void *arg);
/* mtr-packet's version as its workers reported it ("" before the first start). */
const char *pool_mtr_version(void);
/* A child process exited (from SIGCHLD); false if it was not a worker. */
bool pool_child_exited(pid_t pid, int status);

/*
 * Seconds before a worker that went down is started again: at once for
 * one that was ready and did work (an outside kill, a crash on one
 * probe); with doubling back-off for crash loops (down before ready, or
 * ready and gone without answering anything); at most 0.5 s after a start
 * that failed for lack of descriptors.  Pure.
 */
double pool_restart_delay(bool was_ready, uint64_t answered, double lived, int failures,
			  int start_error);

struct pool_stats {
	int min, max, alive, starting;
	uint64_t restarts, started, retired;
	uint64_t tasks[WTASK_QUESTION]; /* tasks held now, per class */
};
void pool_get_stats(struct pool_stats *ret);

#endif
