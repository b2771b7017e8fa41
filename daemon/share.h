/*
 * The arithmetic of sharing: token buckets for probe rates, and the part
 * of a class of worker slots one user may hold.  Pure: the caller passes
 * the clock.
 */
#ifndef MTRPROBED_SHARE_H
#define MTRPROBED_SHARE_H

/* A token bucket of a probe rate.  Owned by its holder; zeroed means new. */
struct bucket {
	double tokens;
	double last;   /* time of the last refill; 0: never */
};

/*
 * Refill b at rate (probes/s) for the time since its last refill, up to
 * a burst of 50 ms worth (at least one token).  A new bucket starts full.
 */
void bucket_refill(struct bucket *b, int rate, double now);
/* Seconds until b holds a whole token (0 if it does). */
double bucket_wait(const struct bucket *b, int rate);
/* The slots of a class of capacity one user may hold at percent: at least 1. */
int share_cap(int capacity, int percent);

#endif
