/*
 * libFuzzer target: mtr-packet command lines as mtrprobe-packet reads them
 * (client/pktcmd.c).  The input is split at '\n' into lines of at most the
 * command buffer's 4094 bytes; each line is split into a command and, for
 * send-probe and check-support, its arguments are decoded.  Checks the
 * splitter's words, that mtrprobe-packet answers only with words
 * mtr-packet uses, and that every request it would forward is one the
 * daemon's decoder takes apart without a bad-request or unknown-op (a
 * check_support request, and a probe of the address given, always succeed;
 * a probe may get invalid-argument for a value mtr-packet does not check).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>

#include "client/pktcmd.h"
#include "daemon/mtrpkt.h"
#include "fuzz_encode.h"

/* Whether w is a non-empty word without separators. */
static int word_ok(const char *w)
{
	return w && w[0] && strcspn(w, PKTCMD_SEPARATORS) == strlen(w);
}

/* Decode a forwarded request as the daemon would; returns its error. */
static enum mp_error daemon_decode(json_t *req, struct mp_request *out)
{
	char errmsg[MP_ERRMSG_MAX], *text;
	enum mp_error r;
	size_t len;

	FUZZ_CHECK(json_object_set_new(req, "id", json_integer(7)) == 0, "out of memory");
	text = json_dumps(req, JSON_COMPACT);
	FUZZ_CHECK(text != NULL, "json_dumps");
	r = mp_request_decode(text, strlen(text), out, errmsg);
	FUZZ_CHECK(out->id.kind == MP_ID_INT && out->id.num == 7, "id lost: %s", text);
	if (r != MP_OK)
		fuzz_check_line(mp_encode_error(&out->id, r, errmsg, &len), len, &out->id);
	FUZZ_CHECK(r == MP_OK || r == MP_ERR_INVALID_ARGUMENT,
		   "the daemon would answer %s (%s) to %s", mp_error_name(r), errmsg, text);
	free(text);
	return r;
}

/* send-probe: decode, and check the request that would be forwarded. */
static void send_probe(const struct pktcmd *cmd)
{
	unsigned char bin[sizeof(struct in6_addr)];
	struct pktcmd_probe p;
	struct mp_request req;
	const char *reply;
	json_t *obj;
	int af;

	reply = pktcmd_probe_decode(cmd, &p);
	if (reply) {
		FUZZ_CHECK(strcmp(reply, "invalid-argument") == 0 ||
				   strcmp(reply, "invalid-argument reason "
						 "ip-version-not-supported") == 0,
			   "reply %s", reply);
		return;
	}
	FUZZ_CHECK(p.ip_version == 4 || p.ip_version == 6, "ip_version %d", p.ip_version);
	af = p.ip_version == 4 ? AF_INET : AF_INET6;
	FUZZ_CHECK(fuzz_terminated(p.host, sizeof(p.host)) && inet_pton(af, p.host, bin) == 1,
		   "host");
	FUZZ_CHECK(fuzz_terminated(p.local_ip, sizeof(p.local_ip)) &&
			   (!p.local_ip[0] || inet_pton(af, p.local_ip, bin) == 1),
		   "local_ip");
	FUZZ_CHECK((unsigned)p.protocol < MP_PROTO__COUNT, "protocol");
	FUZZ_CHECK(p.local_port == 0 || p.local_port >= 1024, "local_port %ld", p.local_port);
	obj = pktcmd_probe_request(&p);
	FUZZ_CHECK(obj != NULL, "pktcmd_probe_request");
	if (daemon_decode(obj, &req) == MP_OK) {
		FUZZ_CHECK(req.op == MP_OP_PROBE, "op");
		FUZZ_CHECK(strcmp(req.probe.host, p.host) == 0, "host %s", req.probe.host);
		FUZZ_CHECK(strcmp(req.probe.local_ip, p.local_ip) == 0, "local_ip");
		FUZZ_CHECK(req.probe.ip_version == p.ip_version, "ip_version");
		FUZZ_CHECK(req.probe.protocol == p.protocol, "protocol");
		FUZZ_CHECK(!p.has_ttl || req.probe.ttl == p.ttl, "ttl");
		FUZZ_CHECK(!p.has_tos || req.probe.tos == p.tos, "tos");
		FUZZ_CHECK(!p.has_bit_pattern || req.probe.bit_pattern == (p.bit_pattern & 0xff),
			   "bit_pattern");
	}
	mp_request_clear(&req);
	json_decref(obj);
}

/* check-support: decode, and check the request that would be forwarded. */
static void check_support(const struct pktcmd *cmd)
{
	char buf[MTRPKT_CMD_MAX];
	struct mp_request req;
	const char *feature, *reply;
	json_t *obj;

	reply = pktcmd_check_support(cmd, &feature);
	if (reply) {
		FUZZ_CHECK(strcmp(reply, "invalid-argument") == 0 ||
				   strcmp(reply, "feature-support support no") == 0,
			   "reply %s", reply);
		FUZZ_CHECK((feature == NULL) == (strcmp(reply, "invalid-argument") == 0),
			   "feature");
		return;
	}
	FUZZ_CHECK(feature && pktcmd_word_valid(feature), "feature");
	obj = json_pack("{s:s, s:s}", "op", "check_support", "feature", feature);
	FUZZ_CHECK(obj != NULL, "json_pack");
	FUZZ_CHECK(daemon_decode(obj, &req) == MP_OK, "check_support refused");
	FUZZ_CHECK(strcmp(req.feature, feature) == 0, "feature");
	/* and the daemon can ask mtr-packet in turn */
	FUZZ_CHECK(mtrpkt_format_check_support(buf, sizeof(buf), 1, req.feature) > 0,
		   "mtrpkt_format_check_support");
	mp_request_clear(&req);
	json_decref(obj);
}

/* One line (NUL-terminated, modified in place). */
static void one_line(char *line)
{
	struct pktcmd cmd;

	if (!pktcmd_split(line, &cmd))
		return;
	FUZZ_CHECK(word_ok(cmd.name), "name");
	FUZZ_CHECK(cmd.argc >= 0 && cmd.argc <= PKTCMD_MAX_ARGS, "argc %d", cmd.argc);
	for (int i = 0; i < cmd.argc; i++)
		FUZZ_CHECK(word_ok(cmd.arg_name[i]) && word_ok(cmd.arg_value[i]), "argument %d", i);
	if (strcmp(cmd.name, "send-probe") == 0)
		send_probe(&cmd);
	else if (strcmp(cmd.name, "check-support") == 0)
		check_support(&cmd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data, *end = data + size;

	while (p < end) {
		const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = (size_t)((nl ? nl : end) - p);

		/* longer lines overflow mtr-packet's buffer and are never parsed */
		if (len <= PKTCMD_BUFFER_SIZE - 2) {
			char *line = fuzz_cstr(p, len);

			one_line(line);
			free(line);
		}
		p = nl ? nl + 1 : end;
	}
	return 0;
}
