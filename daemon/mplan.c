/* When monitor cycles start: spread by name, then one period apart. */
#include "daemon/mplan.h"

#include <math.h>

uint64_t mplan_hash_add(uint64_t h, const char *s)
{
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

uint64_t mplan_hash(const char *s)
{
	return mplan_hash_add(MPLAN_HASH_START, s);
}

double mplan_offset(const char *name, double period)
{
	/* 53 bits of the hash as a fraction in [0, 1). */
	double frac = (double)(mplan_hash(name) >> 11) / 9007199254740992.0;
	double off = frac * period;

	return off < period ? off : 0;
}

double mplan_first(double epoch, double now, const char *name, double period)
{
	double off = mplan_offset(name, period);
	double k;

	if (now <= epoch + off)
		return epoch + off;
	k = ceil((now - epoch - off) / period);
	return epoch + off + k * period;
}

double mplan_late(double due, double now)
{
	return now > due ? now - due : 0;
}

double mplan_next(double due, double period)
{
	return due + period;
}
