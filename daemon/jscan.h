/*
 * A scanner for the common shape of a request line: one JSON object whose
 * values are all scalars, with plain ASCII strings.  It reads the line in
 * place, allocates nothing and builds no tree: each member becomes a key
 * and a value pointing into the line.  Anything it is not sure of (string
 * escapes, bytes outside printable ASCII, arrays or objects as values,
 * integers of more than 18 digits, a real that overflows, duplicate keys,
 * more than JSCAN_PAIRS_MAX members, a syntax error) is declined, and the
 * caller hands the line to the general JSON parser instead; so whatever
 * the scanner accepts, the general parser accepts with the same values.
 * Pure: no I/O, no logging, no global state.
 */
#ifndef MTRPROBED_JSCAN_H
#define MTRPROBED_JSCAN_H

#include <stddef.h>

/* Most members a scanned object may have. */
#define JSCAN_PAIRS_MAX 24

/* The type of a member's value. */
enum jv_type {
	JV_NULL,
	JV_FALSE,
	JV_TRUE,
	JV_INT,    /* i */
	JV_REAL,   /* d */
	JV_STRING, /* s, len: not NUL-terminated when scanned */
	JV_OBJECT, /* obj: a json_t object (from the general parser only) */
	JV_OTHER   /* an array (from the general parser only) */
};

/* One value. */
struct jv {
	enum jv_type type;
	const char *s;
	size_t len;
	long long i;
	double d;
	void *obj;  /* JV_OBJECT: the json_t, alive while the request is decoded */
};

/* One member of an object: its key (not NUL-terminated) and value. */
struct jpair {
	const char *key;
	size_t key_len;
	struct jv v;
};

/*
 * Scan line[0..len) as one JSON object into pairs, in input order.
 * Returns the number of members, or -1 when the line is declined.
 */
int jscan_object(const char *line, size_t len, struct jpair pairs[JSCAN_PAIRS_MAX]);

#endif
