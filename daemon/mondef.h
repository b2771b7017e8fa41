/*
 * Monitor definitions: what a monitor probes and how often, parsed from
 * the files of the monitors directory ("[NAME]" sections of "key = value"
 * lines, the config file's syntax) and written back in the same form.
 * Pure: no logging, no I/O but mondef_load_dir() reading its files; errors
 * come back as "FILE:LINE: message" strings.
 */
#ifndef MTRPROBED_MONDEF_H
#define MTRPROBED_MONDEF_H

#include <stdbool.h>
#include <stddef.h>

#include "mtrprobe/protocol.h"

#define MONDEF_ERR_MAX 512
/* A monitor's name: 1-64 of [A-Za-z0-9_.-], not starting with '.' or '-'. */
#define MONDEF_NAME_MAX 64
/* Labels per monitor, and their sizes in bytes. */
#define MONDEF_LABELS_MAX 16
#define MONDEF_LABEL_NAME_MAX 64
#define MONDEF_LABEL_VALUE_MAX 128
/* Most monitors one mondef_set holds (files and socket together). */
#define MONDEF_SET_MAX 100000

enum mondef_kind { MONDEF_PING, MONDEF_TRACE };

/* Which addresses of the target: any family, IPv4 only, IPv6 only, both. */
enum mondef_family { MONDEF_FAMILY_ANY, MONDEF_FAMILY_4, MONDEF_FAMILY_6, MONDEF_FAMILY_BOTH };

/* Which of the addresses a name resolves to (per family) are probed. */
enum mondef_addresses { MONDEF_ADDR_FIRST, MONDEF_ADDR_ALL };

/* A Prometheus label of the monitor's series. */
struct mondef_label {
	char name[MONDEF_LABEL_NAME_MAX + 1];
	char value[MONDEF_LABEL_VALUE_MAX + 1];
};

/* One monitor.  Plain data: copy with '='. */
struct mondef {
	char name[MONDEF_NAME_MAX + 1];
	char target[MP_HOST_MAX + 1];     /* target: a name or an address literal */
	enum mondef_kind kind;            /* kind: ping (default) or trace */
	enum mondef_family family;        /* ip_version: any (default), 4, 6, both */
	enum mondef_addresses addresses;  /* addresses: first (default) or all */
	enum mp_protocol protocol;        /* protocol: icmp (default), udp, tcp, sctp */
	int port;                         /* port: 0 (mtr-packet's default) or 1-65535 */
	int count;                        /* count: ping probes per cycle, 1-100, default 5 */
	double interval;                  /* interval: seconds between a cycle's pings, 0.01-60, default 1 */
	int first_ttl, max_ttl;           /* first_ttl, max_ttl: trace TTLs, 1-255, default 1 and 30 */
	double period;                    /* period: seconds between cycle starts, 1-86400, default 60 */
	double timeout;                   /* timeout: seconds per probe, 0.01-60, default 2 */
	int size;                         /* size: packet bytes, -1 (default: the minimum) or 0-9000 */
	int tos;                          /* tos: 0-255, default 0 */
	int ttl;                          /* ttl: ping TTL, 1-255, default 255 */
	double loss_threshold;            /* loss_threshold: percent for the loss event, 0-100, default 10 */
	struct mondef_label labels[MONDEF_LABELS_MAX]; /* label.NAME = VALUE lines, in file order */
	int n_labels;
};

/* A list of monitors, names unique.  Owned by its holder; mondef_set_free() releases. */
struct mondef_set {
	struct mondef *items;
	size_t n, cap;
};

/* Fill d with the defaults and the given name (not checked). */
void mondef_init(struct mondef *d, const char *name);
/*
 * Check d as a whole (ranges, label names, the cycle fitting its period:
 * (count - 1) * interval < period for ping, first_ttl <= max_ttl for
 * trace).  0, or -EINVAL with a message (no "FILE:LINE: " prefix) in err.
 */
int mondef_check(const struct mondef *d, char err[MONDEF_ERR_MAX]);
/* Same monitor: every field equal. */
bool mondef_equal(const struct mondef *a, const struct mondef *b);

/* Release what set owns and zero it; accepts a zeroed set. */
void mondef_set_free(struct mondef_set *set);
/* The monitor named name in set, or NULL. */
struct mondef *mondef_set_find(const struct mondef_set *set, const char *name);
/* Append a copy of d (checked by the caller).  0, -EEXIST (name taken), -ENOSPC, -ENOMEM. */
int mondef_set_add(struct mondef_set *set, const struct mondef *d);
/* Remove the monitor named name.  0 or -ENOENT. */
int mondef_set_remove(struct mondef_set *set, const char *name);

/*
 * Add the monitors in text (a whole file named name) to set.  0, or
 * -EINVAL (-ENOMEM) with "NAME:LINE: message" in err; on error set is
 * unchanged.
 */
int mondef_parse_text(struct mondef_set *set, const char *text, size_t len, const char *name,
		      char err[MONDEF_ERR_MAX]);
/*
 * Add the monitors of every regular file named *.conf in dir, in name
 * order (a name defined twice is an error naming both places).  A missing
 * dir adds nothing and returns 0.  -errno or -EINVAL with a message in
 * err; on error set is unchanged.
 */
int mondef_load_dir(struct mondef_set *set, const char *dir, char err[MONDEF_ERR_MAX]);
/*
 * Write d as a section that mondef_parse_text() reads back equal: the
 * "[NAME]" line, then every key (defaults included), one per line.  The
 * length written (without the NUL), or -ENOSPC if size is too small.
 */
int mondef_format(const struct mondef *d, char *buf, size_t size);

/* The kinds of value of the definition keys. */
enum mondef_key_type {
	MONDEF_KEY_UNKNOWN = -1,
	MONDEF_KEY_STRING,   /* target */
	MONDEF_KEY_WORD,     /* one of a few names: kind, ip_version, addresses, protocol */
	MONDEF_KEY_INT,      /* port, count, first_ttl, max_ttl, size, tos, ttl */
	MONDEF_KEY_NUMBER,   /* interval, period, timeout, loss_threshold */
};
/* The kind of value of key (not label.NAME), or MONDEF_KEY_UNKNOWN. */
enum mondef_key_type mondef_key_type(const char *key);

/* Whether s is a valid Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*, not "__" first). */
bool mondef_label_name_ok(const char *s);
/*
 * Whether s may be a label name of a monitor: valid and not one the
 * daemon sets itself (monitor, target, address, ip_version, protocol,
 * ttl, le, kind, result, responder, version, quantile).
 */
bool mondef_label_name_free(const char *s);

#endif
