/* The arithmetic of sharing: token buckets and shares of a class of slots. */
#include "share.h"

/* Refill b for rate (probes/s) up to a burst of 50 ms worth (at least 1). */
void bucket_refill(struct bucket *b, int rate, double now)
{
	double burst = rate / 20.0 > 1.0 ? rate / 20.0 : 1.0;

	if (b->last == 0) {
		b->tokens = burst;
	} else if (now > b->last) {
		b->tokens += (now - b->last) * rate;
		if (b->tokens > burst)
			b->tokens = burst;
	}
	if (now > b->last)
		b->last = now;
}

/* Seconds until b holds a token again. */
double bucket_wait(const struct bucket *b, int rate)
{
	return b->tokens >= 1.0 ? 0 : (1.0 - b->tokens) / rate;
}

/* percent of capacity, rounded down, at least 1. */
int share_cap(int capacity, int percent)
{
	long long cap = (long long)capacity * percent / 100;

	return cap > 0 ? (int)cap : 1;
}
