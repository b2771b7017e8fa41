/*
 * mtr-packet's command lines, as mtrprobe-packet reads them: splitting one
 * line into a command, decoding the arguments of send-probe and
 * check-support exactly as mtr-packet 0.95 does, and the daemon request a
 * decoded send-probe becomes.  Pure: no I/O, no global state (apart from
 * errno, which strtol() sets).
 */
#ifndef MTRPROBE_PKTCMD_H
#define MTRPROBE_PKTCMD_H

#include <stdbool.h>

#include <jansson.h>

#include "mtrprobe/protocol.h"

/* mtr-packet's COMMAND_BUFFER_SIZE: a line holds at most 4094 bytes. */
#define PKTCMD_BUFFER_SIZE 4096
/* mtr-packet's MAX_COMMAND_ARGUMENTS: name/value pairs per command. */
#define PKTCMD_MAX_ARGS 16
/* Characters that separate the words of a command (mtr-packet's). */
#define PKTCMD_SEPARATORS " \t\r\v\f"

/* One command line split into words (pointers into the line). */
struct pktcmd {
	int token;
	const char *name;
	int argc;
	const char *arg_name[PKTCMD_MAX_ARGS];
	const char *arg_value[PKTCMD_MAX_ARGS];
};

/* The send-probe arguments after decoding, mtr-packet's way. */
struct pktcmd_probe {
	int ip_version;             /* 4 or 6 */
	char host[MP_ADDR_MAX];     /* canonical form of the last ip-4/ip-6 value */
	char local_ip[MP_ADDR_MAX]; /* canonical form of the last local-ip-4/-6
				     * value; "" when not given */
	enum mp_protocol protocol;
	long port, local_port;      /* 0 = not given */
	long ttl, size, bit_pattern, tos, mark, timeout;
	bool has_ttl, has_size, has_bit_pattern, has_tos, has_mark, has_timeout;
};

/*
 * Split line (NUL-terminated; modified in place, as strtok_r() does) into
 * *cmd, whose words point into line.  False where mtr-packet answers
 * "0 command-parse-error": no token, a token out of range, no command
 * name, a name without a value, or more than PKTCMD_MAX_ARGS pairs.
 */
bool pktcmd_split(char *line, struct pktcmd *cmd);

/*
 * Decode the arguments of a send-probe command into *probe.  Returns NULL
 * when the probe is to be forwarded to the daemon, else the reply word(s)
 * mtr-packet itself would answer with (after "TOKEN "): "invalid-argument"
 * or "invalid-argument reason ip-version-not-supported".
 */
const char *pktcmd_probe_decode(const struct pktcmd *cmd, struct pktcmd_probe *probe);

/*
 * Decode the arguments of a check-support command.  Returns NULL and sets
 * *feature (pointing into the command's line) when the daemon is to be
 * asked, else the reply word(s) to answer with: "invalid-argument" (no
 * feature argument) or "feature-support support no" (a name the daemon
 * would refuse).
 */
const char *pktcmd_check_support(const struct pktcmd *cmd, const char **feature);

/* Whether s is 1 to MP_FEATURE_MAX characters from [a-z0-9-]. */
bool pktcmd_word_valid(const char *s);

/*
 * The daemon request (without "id") for a decoded send-probe: op, host,
 * ip_version, protocol, local_ip when given, and only those optional fields
 * that were given, so that mtr-packet's defaults (which are the daemon's)
 * apply to the rest.  A new reference, or NULL when out of memory.
 */
json_t *pktcmd_probe_request(const struct pktcmd_probe *probe);

#endif
