/* The real worker link: an mtr-packet child process behind pipes. */
#ifndef MTRPROBED_WPROC_H
#define MTRPROBED_WPROC_H

#include "wlink.h"

/* The link operations of a child process (see wlink.h). */
extern const struct wlink_ops wproc_ops;

#endif
