/*
 * When a monitor's cycles start: spread over the period by the monitor's
 * name (so that monitors of one period do not all start together), then
 * one period apart, keeping the cadence when a cycle starts late.  Pure:
 * the caller passes the clock.
 */
#ifndef MTRPROBED_MPLAN_H
#define MTRPROBED_MPLAN_H

#include <stdint.h>

/* The FNV-1a offset basis: the hash of "". */
#define MPLAN_HASH_START 14695981039346656037ULL
/* FNV-1a, 64 bits, of the NUL-terminated s. */
uint64_t mplan_hash(const char *s);
/* Continue hash h (of some text) over s: the hash of that text followed by s. */
uint64_t mplan_hash_add(uint64_t h, const char *s);
/* The monitor's offset into its period: in [0, period), fixed by its name. */
double mplan_offset(const char *name, double period);
/*
 * The first cycle's scheduled start for a monitor set up at now: the next
 * time at or after now that is offset past a multiple of period, counted
 * from epoch (so that monitors started together keep their spread).
 */
double mplan_first(double epoch, double now, const char *name, double period);
/*
 * A cycle scheduled at due starts at now: how late it is (0 if not late).
 */
double mplan_late(double due, double now);
/* The next cycle's schedule: one period after due (never skipped, however late). */
double mplan_next(double due, double period);

#endif
