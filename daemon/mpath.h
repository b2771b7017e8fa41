/*
 * The path of a trace monitor: per-TTL counters and RTT histograms, the
 * outcome of each TTL in the current cycle, and at the end of a cycle the
 * path (the responder of each hop up to the target), its id and whether
 * it changed.  Pure: no I/O, no clock; the monitor feeds it outcomes.
 *
 * A cycle counts only the hops up to the lowest TTL the target answered
 * (the probes above it reached the target too, and are not hops); without
 * an answer from the target it counts every TTL probed.  The next cycle
 * probes up to mpath_limit(): one TTL past where the target answered last,
 * or max_ttl when it did not.
 */
#ifndef MTRPROBED_MPATH_H
#define MTRPROBED_MPATH_H

#include <stdbool.h>
#include <stdint.h>

#include "mstats.h"
#include "mtrprobe/protocol.h"

/* What one TTL's probe got. */
enum mpath_outcome {
	MPATH_PENDING = 0,  /* no outcome yet */
	MPATH_NONE,         /* no answer (no-reply, an error) */
	MPATH_HOP,          /* a router answered (ttl-expired and the like) */
	MPATH_TARGET,       /* the target answered (reply) */
};

/* Counters of one TTL since the monitor started. */
struct mpath_hop {
	struct mhist hist;
	uint64_t sent, received;
	bool counted;          /* counted in some cycle: its series exist */
};

/* One TTL in the current cycle. */
struct mpath_probe {
	uint8_t outcome;       /* enum mpath_outcome */
	bool probed;
	float rtt_ms;
	char responder[MP_ADDR_MAX];
};

struct mpath {
	int first_ttl, n;          /* TTLs first_ttl .. first_ttl + n - 1 */
	struct mpath_hop *hop;     /* [n] */
	struct mpath_probe *cur;   /* [n]: the current cycle */
	uint64_t seq;              /* the current cycle, 0 before any */
	int reached;               /* lowest TTL the target answered in the last ended cycle, 0 none */
	/* The path as of the last ended cycle. */
	char (*path)[MP_ADDR_MAX]; /* [n]: responder per hop, "" for none */
	int hops;                  /* hops in it (0 before any cycle ended) */
	uint64_t id;               /* mpath_id() of it, 0 before */
	uint64_t changes;          /* times it changed (the first path is not a change) */
	double changed_at;         /* caller's time of the last change, 0 never */
	bool have_path;
};

/* Allocate for TTLs first_ttl..max_ttl.  0, -EINVAL or -ENOMEM. */
int mpath_init(struct mpath *p, int first_ttl, int max_ttl);
void mpath_free(struct mpath *p);
/* The highest TTL the next cycle probes. */
int mpath_limit(const struct mpath *p);
/* Start cycle seq: forget the current cycle's outcomes. */
void mpath_begin(struct mpath *p, uint64_t seq);
/* Mark ttl as probed in cycle seq (before its outcome). */
void mpath_probed(struct mpath *p, uint64_t seq, int ttl);
/*
 * The outcome of ttl in cycle seq (ignored if seq is not the current
 * cycle or ttl out of range): responder "" for none, rtt_ms for HOP and
 * TARGET.
 */
void mpath_record(struct mpath *p, uint64_t seq, int ttl, enum mpath_outcome o, double rtt_ms,
		  const char *responder);
/*
 * End the current cycle: count its hops into the counters and histograms
 * (bounds b), set the path, its id and hops.  True if the path differs
 * from the previous cycle's (never for the first).  now is stored as
 * changed_at on a change.
 */
bool mpath_end(struct mpath *p, const struct mhist_bounds *b, double now);
/*
 * The id of a path: FNV-1a of its responders joined with ',' ("" for a
 * hop without one), cut to 53 bits so that it is exact as a double; 0 for
 * no hops.
 */
uint64_t mpath_id(char (*path)[MP_ADDR_MAX], int hops);

#endif
