/*
 * mtr-packet's line protocol: formatting commands from validated values and
 * parsing reply lines.  Pure: no I/O, no logging.
 */
#ifndef MTRPROBED_MTRPKT_H
#define MTRPROBED_MTRPKT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mtrprobe/protocol.h"

/* Longest command line the daemon ever writes, '\n' included. */
#define MTRPKT_CMD_MAX 512

/* A send-probe command, every field already validated. */
struct mtrpkt_probe_cmd {
	uint32_t token;             /* 1 .. INT32_MAX */
	int ip_version;             /* 4 or 6 */
	char address[MP_ADDR_MAX];  /* inet_ntop() form of the target */
	char local_ip[MP_ADDR_MAX]; /* inet_ntop() form; "" to omit */
	enum mp_protocol protocol;
	int port;                   /* 0 to omit */
	int local_port;             /* 0 to omit */
	int ttl;                    /* 0-255 */
	int size;                   /* -1 to omit */
	int bit_pattern;            /* 0-255 */
	int tos;                    /* 0-255 */
	int64_t mark;               /* -1 to omit */
	int timeout_s;              /* whole seconds, >= 1 */
};

/*
 * Format cmd as one line ending in '\n' into buf.  Returns the length, or
 * -EINVAL when a field is out of range or not a valid address (nothing that
 * was not validated is ever written), -ENOSPC when buf is too small.
 */
int mtrpkt_format_probe(char *buf, size_t buflen, const struct mtrpkt_probe_cmd *cmd);

/* Format "TOKEN check-support feature NAME\n"; NAME must match [a-z0-9-]{1,32}. */
int mtrpkt_format_check_support(char *buf, size_t buflen, uint32_t token, const char *feature);

enum mtrpkt_reply_kind {
	MTRPKT_REPLY_RESULT,    /* a probe's final word: reply, no-reply, ... */
	MTRPKT_REPLY_EXHAUSTED, /* probes-exhausted: retry elsewhere/later */
	MTRPKT_REPLY_FEATURE,   /* feature-support support VALUE */
	MTRPKT_REPLY_COMMAND_ERROR /* unknown-command, command-parse-error, command-buffer-overflow */
};

/* One parsed reply line. */
struct mtrpkt_reply {
	uint32_t token;                 /* 0 for mtr-packet's own parse errors */
	enum mtrpkt_reply_kind kind;
	char word[MP_RESULT_MAX + 1];   /* the reply word as written */
	int ip_version;                 /* 0 when no ip-4/ip-6 argument */
	char address[MP_ADDR_MAX];      /* canonical inet_ntop() form, "" if none */
	long rtt_us;                    /* -1 when no round-trip-time */
	struct mp_mpls mpls[MP_MPLS_MAX];
	int mpls_count;                 /* whole groups only; extra groups dropped */
	int err_no;                     /* unexpected-error errno N, else 0 */
	char reason[MP_RESULT_MAX + 1]; /* invalid-argument reason ..., else "" */
	char support[MP_RESULT_MAX + 1];/* feature-support value, else "" */
};

/*
 * Parse one reply line (without '\n').  Returns 0 and fills *out, or
 * -EINVAL for anything malformed: a bad token, an unknown shape, a word
 * outside [a-z0-9-], an invalid address or number.
 */
int mtrpkt_parse_reply(const char *line, size_t len, struct mtrpkt_reply *out);

#endif
