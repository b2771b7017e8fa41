/* How many connections the open-files limit leaves room for. */
#include "fdlimit.h"

int fdlimit_max_connections(int configured, uint64_t soft_limit)
{
	uint64_t room = soft_limit > FDLIMIT_RESERVE ? soft_limit - FDLIMIT_RESERVE : 1;

	if (configured < 1)
		configured = 1;
	return room < (uint64_t)configured ? (int)room : configured;
}
