/*
 * mtr-packet's command lines, as mtrprobe-packet reads them.  Malformed
 * input is answered exactly as mtr-packet 0.95 answers it: the tokenizer
 * and the argument decoding below mirror mtr-packet's, measured by running
 * it.  Pure: no I/O.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pktcmd.h"

/* The daemon's timeout, in seconds, for mtr-packet's "timeout 0" (give up
 * at once); the daemon needs more than 0. */
#define TIMEOUT_MIN 0.001

/* mtr-packet's token: strtol() without an end check, kept in an int.
 * False when strtol() reports an error (out of range). */
static bool parse_token(const char *word, int *ret)
{
	uint32_t u;
	long v;

	errno = 0;
	v = strtol(word, NULL, 10);
	if (errno != 0)
		return false;
	u = (uint32_t)(unsigned long)v;
	*ret = u <= INT32_MAX ? (int)u : (int)((int64_t)u - 4294967296LL);
	return true;
}

/* Split a line into a command as mtr-packet does; false on a parse error. */
bool pktcmd_split(char *line, struct pktcmd *cmd)
{
	char *save = NULL, *word, *name, *value;

	memset(cmd, 0, sizeof(*cmd));
	word = strtok_r(line, PKTCMD_SEPARATORS, &save);
	if (!word || !parse_token(word, &cmd->token))
		return false;
	cmd->name = strtok_r(NULL, PKTCMD_SEPARATORS, &save);
	if (!cmd->name)
		return false;
	for (;;) {
		name = strtok_r(NULL, PKTCMD_SEPARATORS, &save);
		if (!name)
			return true;
		value = strtok_r(NULL, PKTCMD_SEPARATORS, &save);
		if (!value || cmd->argc >= PKTCMD_MAX_ARGS)
			return false;
		cmd->arg_name[cmd->argc] = name;
		cmd->arg_value[cmd->argc] = value;
		cmd->argc++;
	}
}

/* mtr-packet's number decoding: strtol() base 10, whole word. */
static bool parse_number(const char *value, long *ret, bool *ret_given)
{
	char *end;

	*ret = strtol(value, &end, 10);
	if (ret_given)
		*ret_given = true;
	return *end == '\0';
}

/* The raw addresses of a send-probe, before their check. */
struct probe_text {
	const char *host;      /* the last ip-4 / ip-6 value */
	const char *local_ip;  /* the last local-ip-4 / local-ip-6 value */
};

/* Decode one send-probe argument into a; false where mtr-packet answers
 * invalid-argument.  Unknown names are ignored; the last value wins. */
static bool probe_decode(struct pktcmd_probe *a, struct probe_text *t, const char *name,
			 const char *value)
{
	int proto;

	if (strcmp(name, "ip-4") == 0 || strcmp(name, "ip-6") == 0) {
		a->ip_version = name[3] == '4' ? 4 : 6;
		t->host = value;
	} else if (strcmp(name, "local-ip-4") == 0 ||
		   strcmp(name, "local-ip-6") == 0) {
		t->local_ip = value;
	} else if (strcmp(name, "protocol") == 0) {
		proto = mp_protocol_from_name(value);
		if (proto < 0)
			return false;
		a->protocol = (enum mp_protocol)proto;
	} else if (strcmp(name, "port") == 0) {
		return parse_number(value, &a->port, NULL);
	} else if (strcmp(name, "local-port") == 0) {
		if (!parse_number(value, &a->local_port, NULL))
			return false;
		if (a->local_port < 1024) {
			a->local_port = 0;
			return false;
		}
	} else if (strcmp(name, "tos") == 0) {
		return parse_number(value, &a->tos, &a->has_tos);
	} else if (strcmp(name, "mark") == 0) {
		return parse_number(value, &a->mark, &a->has_mark);
	} else if (strcmp(name, "size") == 0) {
		return parse_number(value, &a->size, &a->has_size);
	} else if (strcmp(name, "bit-pattern") == 0) {
		return parse_number(value, &a->bit_pattern, &a->has_bit_pattern);
	} else if (strcmp(name, "ttl") == 0) {
		return parse_number(value, &a->ttl, &a->has_ttl);
	} else if (strcmp(name, "timeout") == 0) {
		return parse_number(value, &a->timeout, &a->has_timeout);
	}
	return true;
}

/* Put an IP literal of the given version in canonical form into buf
 * (MP_ADDR_MAX bytes); false when it is not one (mtr-packet's inet_pton()
 * check). */
static bool canonical_address(int ip_version, const char *text, char *buf)
{
	unsigned char addr[sizeof(struct in6_addr)];
	int af = ip_version == 4 ? AF_INET : AF_INET6;

	return inet_pton(af, text, addr) == 1 &&
	       inet_ntop(af, addr, buf, MP_ADDR_MAX) != NULL;
}

/* Decode send-probe's arguments; NULL to forward, else the reply. */
const char *pktcmd_probe_decode(const struct pktcmd *cmd, struct pktcmd_probe *probe)
{
	struct probe_text t = { NULL, NULL };
	int i;

	memset(probe, 0, sizeof(*probe));
	probe->protocol = MP_PROTO_ICMP;
	for (i = 0; i < cmd->argc; i++) {
		if (!probe_decode(probe, &t, cmd->arg_name[i], cmd->arg_value[i]))
			return "invalid-argument";
	}
	if (probe->ip_version == 0)
		return "invalid-argument reason ip-version-not-supported";
	if (!canonical_address(probe->ip_version, t.host, probe->host) ||
	    (t.local_ip && !canonical_address(probe->ip_version, t.local_ip, probe->local_ip)))
		return "invalid-argument";
	return NULL;
}

/* Whether s is 1 to MP_FEATURE_MAX characters from [a-z0-9-]. */
bool pktcmd_word_valid(const char *s)
{
	size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-");

	return n >= 1 && n <= MP_FEATURE_MAX && s[n] == '\0';
}

/* check-support: the first `feature` argument is the one asked. */
const char *pktcmd_check_support(const struct pktcmd *cmd, const char **feature)
{
	int i;

	*feature = NULL;
	for (i = 0; i < cmd->argc && !*feature; i++) {
		if (strcmp(cmd->arg_name[i], "feature") == 0)
			*feature = cmd->arg_value[i];
	}
	if (!*feature)
		return "invalid-argument";
	/* every feature mtr-packet knows fits the daemon's rule */
	if (!pktcmd_word_valid(*feature))
		return "feature-support support no";
	return NULL;
}

/* Set a field of a request (value stolen); false when out of memory. */
static bool req_set(json_t *req, const char *field, json_t *value)
{
	return value && json_object_set_new(req, field, value) == 0;
}

/* Set an integer field of a request when its argument was given. */
static bool req_set_int(json_t *req, const char *field, bool given, long value)
{
	return !given || req_set(req, field, json_integer(value));
}

/* The daemon's timeout for mtr-packet's whole seconds: mtr-packet gives up
 * at once on 0 or less; the daemon allows up to MP_TIMEOUT_MAX. */
static json_t *probe_timeout(long seconds)
{
	if (seconds <= 0)
		return json_real(TIMEOUT_MIN);
	if ((double)seconds > MP_TIMEOUT_MAX)
		return json_real(MP_TIMEOUT_MAX);
	return json_integer(seconds);
}

/* The daemon request of a decoded send-probe. */
json_t *pktcmd_probe_request(const struct pktcmd_probe *a)
{
	bool ports = a->protocol != MP_PROTO_ICMP; /* ICMP ignores them */
	json_t *req;

	req = json_pack("{s:s, s:s, s:i, s:s}", "op", mp_op_name(MP_OP_PROBE),
			"host", a->host, "ip_version", a->ip_version,
			"protocol", mp_protocol_name(a->protocol));
	if (!req)
		return NULL;
	/* mtr-packet fills the payload with memset(): only the low byte
	 * counts (mtr sends bit-pattern -443 for -B 300); port 0 is
	 * mtr-packet's "not given" */
	if ((a->local_ip[0] && !req_set(req, "local_ip", json_string(a->local_ip))) ||
	    !req_set_int(req, "ttl", a->has_ttl, a->ttl) ||
	    !req_set_int(req, "size", a->has_size, a->size) ||
	    !req_set_int(req, "bit_pattern", a->has_bit_pattern,
			 (long)((unsigned long)a->bit_pattern & 0xffu)) ||
	    !req_set_int(req, "tos", a->has_tos, a->tos) ||
	    !req_set_int(req, "mark", a->has_mark, a->mark) ||
	    (a->has_timeout && !req_set(req, "timeout", probe_timeout(a->timeout))) ||
	    !req_set_int(req, "port", ports && a->port != 0, a->port) ||
	    !req_set_int(req, "local_port", ports && a->local_port != 0, a->local_port)) {
		json_decref(req);
		return NULL;
	}
	return req;
}
