/*
 * libFuzzer target: one mtr-packet reply line through mtrpkt_parse_reply().
 * Checks the parser's contract (a reset reply on error; on success a token
 * in range, a reply word of [a-z0-9-] starting with a letter, a canonical
 * address, MPLS values within their bit widths, the pairs each reply word
 * requires), then does what the daemon does with a reply: the probe result
 * it becomes is encoded (the direct encoder byte for byte like the general
 * one), and the parsed values are formatted back into commands.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>

#include "daemon/mtrpkt.h"
#include "fuzz_encode.h"

/* Whether s is 1..max characters from [a-z0-9-] (plus '.' when dot). */
static int word_ok(const char *s, size_t size, size_t max, int dot)
{
	size_t n;

	if (!fuzz_terminated(s, size))
		return 0;
	n = strspn(s, dot ? "abcdefghijklmnopqrstuvwxyz0123456789-."
			  : "abcdefghijklmnopqrstuvwxyz0123456789-");
	return n >= 1 && n <= max && s[n] == '\0';
}

/* Check a successfully parsed reply. */
static void check_reply(const struct mtrpkt_reply *r)
{
	unsigned char bin[sizeof(struct in6_addr)];
	char canon[MP_ADDR_MAX];

	FUZZ_CHECK(r->token <= INT32_MAX, "token %u", (unsigned)r->token);
	FUZZ_CHECK(word_ok(r->word, sizeof(r->word), MP_RESULT_MAX, 0) && r->word[0] >= 'a' &&
			   r->word[0] <= 'z',
		   "word");
	FUZZ_CHECK((unsigned)r->kind <= MTRPKT_REPLY_COMMAND_ERROR, "kind %d", (int)r->kind);
	FUZZ_CHECK(r->ip_version == 0 || r->ip_version == 4 || r->ip_version == 6, "ip_version");
	FUZZ_CHECK(fuzz_terminated(r->address, sizeof(r->address)), "address not terminated");
	if (r->ip_version) {
		int af = r->ip_version == 4 ? AF_INET : AF_INET6;

		FUZZ_CHECK(inet_pton(af, r->address, bin) == 1 &&
				   inet_ntop(af, bin, canon, sizeof(canon)) &&
				   strcmp(canon, r->address) == 0,
			   "address not canonical: %s", r->address);
		FUZZ_CHECK(r->rtt_us >= 0, "address without round-trip-time");
	} else {
		FUZZ_CHECK(r->address[0] == '\0' && r->rtt_us == -1 && r->mpls_count == 0,
			   "round-trip-time or mpls without an address");
	}
	FUZZ_CHECK(r->mpls_count >= 0 && r->mpls_count <= MP_MPLS_MAX, "mpls_count %d",
		   r->mpls_count);
	for (int i = 0; i < r->mpls_count; i++)
		FUZZ_CHECK(r->mpls[i].label <= 0xfffff && r->mpls[i].traffic_class >= 0 &&
				   r->mpls[i].traffic_class <= 7 && r->mpls[i].ttl >= 0 &&
				   r->mpls[i].ttl <= 255,
			   "mpls %d", i);
	FUZZ_CHECK(r->err_no >= 0, "errno %d", r->err_no);
	FUZZ_CHECK(!r->reason[0] || word_ok(r->reason, sizeof(r->reason), MP_RESULT_MAX, 0),
		   "reason");
	FUZZ_CHECK(!r->support[0] || word_ok(r->support, sizeof(r->support), MP_RESULT_MAX, 1),
		   "support");
	if (r->kind == MTRPKT_REPLY_FEATURE)
		FUZZ_CHECK(r->support[0], "feature-support without support");
	if (strcmp(r->word, "reply") == 0 || strcmp(r->word, "ttl-expired") == 0)
		FUZZ_CHECK(r->ip_version != 0, "%s without an address", r->word);
}

/* The probe result the daemon makes of a reply (sched.c's probe_answer()). */
static void check_result(const struct mtrpkt_reply *r, const char *line, size_t len)
{
	struct mp_probe_result res;
	struct mp_id id = { .kind = MP_ID_INT, .num = (int64_t)r->token - 1 };

	memset(&res, 0, sizeof(res));
	snprintf(res.result, sizeof(res.result), "%s", r->word);
	res.time_ms = r->rtt_us >= 0 ? (double)r->rtt_us / 1000.0 : -1.0;
	snprintf(res.responder, sizeof(res.responder), "%s", r->address);
	if (r->mpls_count > 0) {
		memcpy(res.mpls, r->mpls, (size_t)r->mpls_count * sizeof(r->mpls[0]));
		res.mpls_count = r->mpls_count;
	}
	snprintf(res.address, sizeof(res.address), "%s", r->ip_version == 6 ? "::1" : "127.0.0.1");
	res.ip_version = r->ip_version ? r->ip_version : 4;
	fuzz_check_probe_result(&id, &res);
	/* and with the raw line as a string id */
	id.kind = MP_ID_STRING;
	id.str = fuzz_cstr((const uint8_t *)line, len);
	id.str_len = len;
	fuzz_check_probe_result(&id, &res);
	free(id.str);
}

/* Format commands from the parsed values; they must be accepted. */
static void check_commands(const struct mtrpkt_reply *r)
{
	struct mtrpkt_probe_cmd cmd;
	char buf[MTRPKT_CMD_MAX];
	int n;

	if (r->token >= 1) {
		n = mtrpkt_format_check_support(buf, sizeof(buf), r->token, r->word);
		FUZZ_CHECK(n > 0 && (size_t)n == strlen(buf), "check-support for '%s': %d", r->word,
			   n);
		n = mtrpkt_format_check_support(buf, sizeof(buf), r->token, r->support);
		FUZZ_CHECK((n > 0) == (r->support[0] && !strchr(r->support, '.')),
			   "check-support for '%s': %d", r->support, n);
	}
	if (!r->ip_version)
		return;
	memset(&cmd, 0, sizeof(cmd));
	cmd.token = r->token ? r->token : 1;
	cmd.ip_version = r->ip_version;
	memcpy(cmd.address, r->address, sizeof(cmd.address));
	memcpy(cmd.local_ip, r->address, sizeof(cmd.local_ip));
	cmd.protocol = (enum mp_protocol)(r->mpls_count % MP_PROTO__COUNT);
	if (cmd.protocol != MP_PROTO_ICMP) {
		cmd.port = r->mpls_count ? (int)(r->mpls[0].label & 0xffff) : 0;
		cmd.local_port = r->err_no & 0xffff;
	}
	cmd.ttl = r->mpls_count ? r->mpls[0].ttl : 255;
	cmd.size = r->rtt_us > MP_SIZE_MAX ? -1 : (int)r->rtt_us;
	cmd.bit_pattern = r->mpls_count ? r->mpls[r->mpls_count - 1].ttl : 0;
	cmd.tos = r->mpls_count ? r->mpls[0].traffic_class << 5 : 0;
	cmd.mark = r->rtt_us > 4294967295L ? -1 : r->rtt_us;
	cmd.timeout_s = 1 + (int)(r->token % 86400);
	n = mtrpkt_format_probe(buf, sizeof(buf), &cmd);
	FUZZ_CHECK(n > 0 && (size_t)n == strlen(buf) && buf[n - 1] == '\n',
		   "send-probe from a reply's values: %d", n);
	/* the other family's address is refused */
	cmd.ip_version = r->ip_version == 4 ? 6 : 4;
	FUZZ_CHECK(mtrpkt_format_probe(buf, sizeof(buf), &cmd) == -EINVAL, "wrong family");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *line = fuzz_copy(data, size);
	struct mtrpkt_reply r, reset;
	int rc;

	memset(&reset, 0, sizeof(reset));
	reset.rtt_us = -1;
	rc = mtrpkt_parse_reply(line, size, &r);
	if (rc < 0) {
		FUZZ_CHECK(rc == -EINVAL, "rc %d", rc);
		FUZZ_CHECK(memcmp(&r, &reset, sizeof(r)) == 0, "reply not reset after an error");
	} else {
		FUZZ_CHECK(rc == 0, "rc %d", rc);
		check_reply(&r);
		check_result(&r, line, size);
		check_commands(&r);
	}
	free(line);
	return 0;
}
