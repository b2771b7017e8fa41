/*
 * Unit tests of mtr-packet's line protocol (daemon/mtrpkt.c): the exact
 * bytes of every command shape, -EINVAL for every field out of range, every
 * reply word and shape mtr-packet 0.95 writes, MPLS lists, and lines that are
 * truncated, over-long, contain NUL or are plain garbage.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/mtrpkt.h"

/* ---- formatting --------------------------------------------------------- */

/* A plain ICMP command to 127.0.0.1 with nothing optional. */
static struct mtrpkt_probe_cmd base_cmd(void)
{
	struct mtrpkt_probe_cmd c = {
		.token = 1,
		.ip_version = 4,
		.address = "127.0.0.1",
		.local_ip = "",
		.protocol = MP_PROTO_ICMP,
		.port = 0,
		.local_port = 0,
		.ttl = 64,
		.size = -1,
		.bit_pattern = 0,
		.tos = 0,
		.mark = -1,
		.timeout_s = 10,
	};
	return c;
}

/* Assert that cmd formats to exactly want. */
static void expect_cmd(const struct mtrpkt_probe_cmd *cmd, const char *want)
{
	char buf[MTRPKT_CMD_MAX];
	int n = mtrpkt_format_probe(buf, sizeof(buf), cmd);

	ck_assert_msg(n >= 0, "format failed: %d, want \"%s\"", n, want);
	ck_assert_str_eq(buf, want);
	ck_assert_int_eq(n, (int)strlen(want));
}

/* Assert that cmd is refused with -EINVAL and that buf is left untouched. */
static void expect_cmd_einval(const struct mtrpkt_probe_cmd *cmd, const char *what)
{
	char buf[MTRPKT_CMD_MAX], untouched[MTRPKT_CMD_MAX];
	int n;

	memset(buf, 'X', sizeof(buf));
	memset(untouched, 'X', sizeof(untouched));
	n = mtrpkt_format_probe(buf, sizeof(buf), cmd);
	ck_assert_msg(n == -EINVAL, "%s: got %d, want -EINVAL", what, n);
	ck_assert_msg(memcmp(buf, untouched, sizeof(buf)) == 0, "%s: buffer written", what);
}

/* The minimal ICMP command. */
START_TEST(test_format_icmp_minimal)
{
	struct mtrpkt_probe_cmd c = base_cmd();

	expect_cmd(&c, "1 send-probe ip-4 127.0.0.1 protocol icmp ttl 64 bit-pattern 0 tos 0 "
		       "timeout 10\n");
}
END_TEST

/* ICMP with every optional field, in the order mtr itself writes them. */
START_TEST(test_format_icmp_full)
{
	struct mtrpkt_probe_cmd c = base_cmd();

	c.token = 33000;
	strcpy(c.local_ip, "127.0.0.1");
	c.ttl = 1;
	c.size = 64;
	c.mark = 4294967295LL;
	expect_cmd(&c, "33000 send-probe ip-4 127.0.0.1 local-ip-4 127.0.0.1 protocol icmp ttl 1 "
		       "size 64 bit-pattern 0 tos 0 mark 4294967295 timeout 10\n");
}
END_TEST

/* UDP with ports; a local port below 1024 is still formatted (mtr-packet refuses it). */
START_TEST(test_format_udp)
{
	struct mtrpkt_probe_cmd c = base_cmd();

	c.token = 42;
	strcpy(c.address, "198.51.100.10");
	strcpy(c.local_ip, "198.51.100.2");
	c.protocol = MP_PROTO_UDP;
	c.port = 53;
	c.local_port = 1023;
	c.ttl = 255;
	c.bit_pattern = 170;
	c.tos = 16;
	c.timeout_s = 1;
	expect_cmd(&c, "42 send-probe ip-4 198.51.100.10 local-ip-4 198.51.100.2 protocol udp "
		       "port 53 local-port 1023 ttl 255 bit-pattern 170 tos 16 timeout 1\n");
	c.local_port = 1;
	c.port = 1;
	expect_cmd(&c, "42 send-probe ip-4 198.51.100.10 local-ip-4 198.51.100.2 protocol udp "
		       "port 1 local-port 1 ttl 255 bit-pattern 170 tos 16 timeout 1\n");
}
END_TEST

/* TCP, with only a port, and SCTP with only a local port. */
START_TEST(test_format_tcp_sctp)
{
	struct mtrpkt_probe_cmd c = base_cmd();

	c.protocol = MP_PROTO_TCP;
	c.port = 443;
	c.mark = 0;
	expect_cmd(&c, "1 send-probe ip-4 127.0.0.1 protocol tcp port 443 ttl 64 bit-pattern 0 "
		       "tos 0 mark 0 timeout 10\n");
	c.protocol = MP_PROTO_SCTP;
	c.port = 0;
	c.local_port = 65535;
	c.mark = -1;
	expect_cmd(&c, "1 send-probe ip-4 127.0.0.1 protocol sctp local-port 65535 ttl 64 "
		       "bit-pattern 0 tos 0 timeout 10\n");
}
END_TEST

/* IPv6 at every upper bound. */
START_TEST(test_format_v6)
{
	struct mtrpkt_probe_cmd c = base_cmd();

	c.token = 2147483647;
	c.ip_version = 6;
	strcpy(c.address, "2001:db8::1");
	strcpy(c.local_ip, "2001:db8::2");
	c.protocol = MP_PROTO_UDP;
	c.port = 65535;
	c.ttl = 0;
	c.size = 9000;
	c.bit_pattern = 255;
	c.tos = 255;
	c.mark = 0;
	c.timeout_s = 86400;
	expect_cmd(&c, "2147483647 send-probe ip-6 2001:db8::1 local-ip-6 2001:db8::2 "
		       "protocol udp port 65535 ttl 0 size 9000 bit-pattern 255 tos 255 mark 0 "
		       "timeout 86400\n");
	c.size = 0;
	c.local_ip[0] = '\0';
	strcpy(c.address, "::1");
	c.protocol = MP_PROTO_ICMP;
	c.port = 0;
	expect_cmd(&c, "2147483647 send-probe ip-6 ::1 protocol icmp ttl 0 size 0 bit-pattern 255 "
		       "tos 255 mark 0 timeout 86400\n");
}
END_TEST

/* Addresses are written in canonical inet_ntop() form, never as given. */
START_TEST(test_format_canonical)
{
	struct mtrpkt_probe_cmd c = base_cmd();

	c.ip_version = 6;
	strcpy(c.address, "2001:0DB8:0000:0:0::0001");
	strcpy(c.local_ip, "::FFFF:127.0.0.1");
	expect_cmd(&c, "1 send-probe ip-6 2001:db8::1 local-ip-6 ::ffff:127.0.0.1 protocol icmp "
		       "ttl 64 bit-pattern 0 tos 0 timeout 10\n");
}
END_TEST

/* One way of breaking a command. */
struct bad_cmd {
	const char *what;
	void (*apply)(struct mtrpkt_probe_cmd *c);
};

#define BAD(name, stmt)                                            \
	static void bad_##name(struct mtrpkt_probe_cmd *c)         \
	{                                                          \
		stmt;                                              \
	}

BAD(token0, c->token = 0)
BAD(token_big, c->token = 2147483648u)
BAD(token_max, c->token = 4294967295u)
BAD(ipv0, c->ip_version = 0)
BAD(ipv5, c->ip_version = 5)
BAD(ipv46, c->ip_version = 46)
BAD(addr_empty, c->address[0] = '\0')
BAD(addr_name, strcpy(c->address, "localhost"))
BAD(addr_space, strcpy(c->address, "127.0.0.1 "))
BAD(addr_nl, strcpy(c->address, "127.0.0.1\n9 send-probe"))
BAD(addr_octet, strcpy(c->address, "127.0.0.256"))
BAD(addr_short, strcpy(c->address, "127.1"))
BAD(addr_v6_in_v4, strcpy(c->address, "::1"))
BAD(addr_v4_in_v6, (c->ip_version = 6, strcpy(c->address, "127.0.0.1")))
BAD(addr_zone, (c->ip_version = 6, strcpy(c->address, "fe80::1%lo")))
BAD(addr_unterminated, memset(c->address, '1', sizeof(c->address)))
BAD(local_name, strcpy(c->local_ip, "localhost"))
BAD(local_v6_in_v4, strcpy(c->local_ip, "::1"))
BAD(local_v4_in_v6, (c->ip_version = 6, strcpy(c->address, "::1"),
		     strcpy(c->local_ip, "127.0.0.1")))
BAD(local_space, strcpy(c->local_ip, " 127.0.0.1"))
BAD(local_unterminated, memset(c->local_ip, '1', sizeof(c->local_ip)))
BAD(proto_neg, c->protocol = (enum mp_protocol)-1)
BAD(proto_count, c->protocol = MP_PROTO__COUNT)
BAD(port_icmp, c->port = 80)
BAD(local_port_icmp, c->local_port = 2000)
BAD(port_neg, (c->protocol = MP_PROTO_UDP, c->port = -1))
BAD(port_big, (c->protocol = MP_PROTO_UDP, c->port = 65536))
BAD(local_port_neg, (c->protocol = MP_PROTO_TCP, c->local_port = -1))
BAD(local_port_big, (c->protocol = MP_PROTO_TCP, c->local_port = 65536))
BAD(ttl_neg, c->ttl = -1)
BAD(ttl_big, c->ttl = 256)
BAD(size_neg, c->size = -2)
BAD(size_big, c->size = 9001)
BAD(bit_neg, c->bit_pattern = -1)
BAD(bit_big, c->bit_pattern = 256)
BAD(tos_neg, c->tos = -1)
BAD(tos_big, c->tos = 256)
BAD(mark_neg, c->mark = -2)
BAD(mark_big, c->mark = 4294967296LL)
BAD(timeout0, c->timeout_s = 0)
BAD(timeout_neg, c->timeout_s = -1)
BAD(timeout_big, c->timeout_s = 86401)

#define BAD_ROW(name) { #name, bad_##name }

static const struct bad_cmd bad_cmds[] = {
	BAD_ROW(token0), BAD_ROW(token_big), BAD_ROW(token_max), BAD_ROW(ipv0), BAD_ROW(ipv5),
	BAD_ROW(ipv46), BAD_ROW(addr_empty), BAD_ROW(addr_name), BAD_ROW(addr_space),
	BAD_ROW(addr_nl), BAD_ROW(addr_octet), BAD_ROW(addr_short), BAD_ROW(addr_v6_in_v4),
	BAD_ROW(addr_v4_in_v6), BAD_ROW(addr_zone), BAD_ROW(addr_unterminated),
	BAD_ROW(local_name), BAD_ROW(local_v6_in_v4), BAD_ROW(local_v4_in_v6),
	BAD_ROW(local_space), BAD_ROW(local_unterminated), BAD_ROW(proto_neg),
	BAD_ROW(proto_count), BAD_ROW(port_icmp), BAD_ROW(local_port_icmp), BAD_ROW(port_neg),
	BAD_ROW(port_big), BAD_ROW(local_port_neg), BAD_ROW(local_port_big), BAD_ROW(ttl_neg),
	BAD_ROW(ttl_big), BAD_ROW(size_neg), BAD_ROW(size_big), BAD_ROW(bit_neg),
	BAD_ROW(bit_big), BAD_ROW(tos_neg), BAD_ROW(tos_big), BAD_ROW(mark_neg),
	BAD_ROW(mark_big), BAD_ROW(timeout0), BAD_ROW(timeout_neg), BAD_ROW(timeout_big),
};

/* Each broken field gives -EINVAL and writes nothing. */
START_TEST(test_format_einval)
{
	struct mtrpkt_probe_cmd c = base_cmd();

	bad_cmds[_i].apply(&c);
	expect_cmd_einval(&c, bad_cmds[_i].what);
}
END_TEST

/* A NULL command is refused. */
START_TEST(test_format_null)
{
	char buf[MTRPKT_CMD_MAX];

	ck_assert_int_eq(mtrpkt_format_probe(buf, sizeof(buf), NULL), -EINVAL);
}
END_TEST

/* A buffer one byte too small gives -ENOSPC; exactly large enough works. */
START_TEST(test_format_nospace)
{
	static const char want[] = "1 send-probe ip-4 127.0.0.1 protocol icmp ttl 64 "
				   "bit-pattern 0 tos 0 timeout 10\n";
	struct mtrpkt_probe_cmd c = base_cmd();
	char buf[sizeof(want)];

	ck_assert_int_eq(mtrpkt_format_probe(buf, sizeof(want) - 1, &c), -ENOSPC);
	ck_assert_int_eq(mtrpkt_format_probe(buf, 0, &c), -ENOSPC);
	ck_assert_int_eq(mtrpkt_format_probe(NULL, 0, &c), -ENOSPC);
	ck_assert_int_eq(mtrpkt_format_probe(buf, sizeof(want), &c), (int)sizeof(want) - 1);
	ck_assert_str_eq(buf, want);
	ck_assert_int_eq(mtrpkt_format_check_support(buf, 10, 1, "udp"), -ENOSPC);
}
END_TEST

/* The longest command still fits MTRPKT_CMD_MAX. */
START_TEST(test_format_longest)
{
	struct mtrpkt_probe_cmd c = base_cmd();
	char buf[MTRPKT_CMD_MAX];

	c.token = 2147483647;
	c.ip_version = 6;
	strcpy(c.address, "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255");
	strcpy(c.local_ip, "1111:2222:3333:4444:5555:6666:7777:8888");
	c.protocol = MP_PROTO_SCTP;
	c.port = 65535;
	c.local_port = 65535;
	c.ttl = 255;
	c.size = 9000;
	c.bit_pattern = 255;
	c.tos = 255;
	c.mark = 4294967295LL;
	c.timeout_s = 86400;
	ck_assert_int_gt(mtrpkt_format_probe(buf, sizeof(buf), &c), 0);
	ck_assert_str_eq(buf, "2147483647 send-probe ip-6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
			      "local-ip-6 1111:2222:3333:4444:5555:6666:7777:8888 protocol sctp "
			      "port 65535 local-port 65535 ttl 255 size 9000 bit-pattern 255 tos 255 "
			      "mark 4294967295 timeout 86400\n");
}
END_TEST

/* check-support commands, and what they refuse. */
START_TEST(test_format_check_support)
{
	char buf[MTRPKT_CMD_MAX];
	static const char *const bad[] = {
		"", "UDP", "ip_4", "a b", "udp\n", "0.95", "abcdefghijabcdefghijabcdefghijabc", "\xc3\xa9",
	};

	ck_assert_int_eq(mtrpkt_format_check_support(buf, sizeof(buf), 5, "udp"), 28);
	ck_assert_str_eq(buf, "5 check-support feature udp\n");
	ck_assert_int_eq(mtrpkt_format_check_support(buf, sizeof(buf), 2147483647, "send-probe"),
			 44);
	ck_assert_str_eq(buf, "2147483647 check-support feature send-probe\n");
	ck_assert_int_gt(mtrpkt_format_check_support(buf, sizeof(buf), 1,
						     "abcdefghijabcdefghijabcdefghij-0"),
			 0);
	ck_assert_str_eq(buf, "1 check-support feature abcdefghijabcdefghijabcdefghij-0\n");

	ck_assert_int_eq(mtrpkt_format_check_support(buf, sizeof(buf), 0, "udp"), -EINVAL);
	ck_assert_int_eq(mtrpkt_format_check_support(buf, sizeof(buf), 2147483648u, "udp"),
			 -EINVAL);
	ck_assert_int_eq(mtrpkt_format_check_support(buf, sizeof(buf), 1, NULL), -EINVAL);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(mtrpkt_format_check_support(buf, sizeof(buf), 1, bad[i]) == -EINVAL,
			      "feature \"%s\" accepted", bad[i]);
}
END_TEST

/* ---- parsing ------------------------------------------------------------ */

/* A reply line and every field parsing must give. */
struct good_reply {
	const char *line;
	uint32_t token;
	enum mtrpkt_reply_kind kind;
	const char *word;
	int ip_version;
	const char *address;
	long rtt_us;
	int mpls_count;
	int err_no;
	const char *reason;
	const char *support;
};

static const struct good_reply good_replies[] = {
	{ "7 reply ip-4 127.0.0.1 round-trip-time 126", 7, MTRPKT_REPLY_RESULT, "reply", 4,
	  "127.0.0.1", 126, 0, 0, "", "" },
	{ "8 ttl-expired ip-6 2001:db8:0::1 round-trip-time 5000", 8, MTRPKT_REPLY_RESULT,
	  "ttl-expired", 6, "2001:db8::1", 5000, 0, 0, "", "" },
	{ "9 no-route ip-4 198.51.100.1 round-trip-time 0", 9, MTRPKT_REPLY_RESULT, "no-route", 4,
	  "198.51.100.1", 0, 0, 0, "", "" },
	{ "9 no-route", 9, MTRPKT_REPLY_RESULT, "no-route", 0, "", -1, 0, 0, "", "" },
	{ "10 no-reply", 10, MTRPKT_REPLY_RESULT, "no-reply", 0, "", -1, 0, 0, "", "" },
	{ "11 probes-exhausted", 11, MTRPKT_REPLY_EXHAUSTED, "probes-exhausted", 0, "", -1, 0, 0,
	  "", "" },
	{ "12 network-down", 12, MTRPKT_REPLY_RESULT, "network-down", 0, "", -1, 0, 0, "", "" },
	{ "13 permission-denied", 13, MTRPKT_REPLY_RESULT, "permission-denied", 0, "", -1, 0, 0,
	  "", "" },
	{ "14 address-in-use", 14, MTRPKT_REPLY_RESULT, "address-in-use", 0, "", -1, 0, 0, "",
	  "" },
	{ "15 address-not-available", 15, MTRPKT_REPLY_RESULT, "address-not-available", 0, "", -1,
	  0, 0, "", "" },
	{ "16 invalid-argument", 16, MTRPKT_REPLY_RESULT, "invalid-argument", 0, "", -1, 0, 0, "",
	  "" },
	{ "17 invalid-argument reason ip-version-not-supported", 17, MTRPKT_REPLY_RESULT,
	  "invalid-argument", 0, "", -1, 0, 0, "ip-version-not-supported", "" },
	{ "17 invalid-argument reason protocol-not-supported", 17, MTRPKT_REPLY_RESULT,
	  "invalid-argument", 0, "", -1, 0, 0, "protocol-not-supported", "" },
	{ "18 unexpected-error errno 110", 18, MTRPKT_REPLY_RESULT, "unexpected-error", 0, "", -1,
	  0, 110, "", "" },
	{ "18 unexpected-error errno 0", 18, MTRPKT_REPLY_RESULT, "unexpected-error", 0, "", -1, 0,
	  0, "", "" },
	{ "19 feature-support support ok", 19, MTRPKT_REPLY_FEATURE, "feature-support", 0, "", -1,
	  0, 0, "", "ok" },
	{ "19 feature-support support no", 19, MTRPKT_REPLY_FEATURE, "feature-support", 0, "", -1,
	  0, 0, "", "no" },
	{ "19 feature-support support 0.95", 19, MTRPKT_REPLY_FEATURE, "feature-support", 0, "",
	  -1, 0, 0, "", "0.95" },
	{ "0 unknown-command", 0, MTRPKT_REPLY_COMMAND_ERROR, "unknown-command", 0, "", -1, 0, 0,
	  "", "" },
	{ "0 command-parse-error", 0, MTRPKT_REPLY_COMMAND_ERROR, "command-parse-error", 0, "", -1,
	  0, 0, "", "" },
	{ "0 command-buffer-overflow", 0, MTRPKT_REPLY_COMMAND_ERROR, "command-buffer-overflow", 0,
	  "", -1, 0, 0, "", "" },
	{ "5 unknown-command", 5, MTRPKT_REPLY_COMMAND_ERROR, "unknown-command", 0, "", -1, 0, 0,
	  "", "" },
	/* tokens at their bounds */
	{ "2147483647 no-reply", 2147483647u, MTRPKT_REPLY_RESULT, "no-reply", 0, "", -1, 0, 0, "",
	  "" },
	{ "0000000001 no-reply", 1, MTRPKT_REPLY_RESULT, "no-reply", 0, "", -1, 0, 0, "", "" },
	/* future words and pairs pass through */
	{ "20 some-new-word", 20, MTRPKT_REPLY_RESULT, "some-new-word", 0, "", -1, 0, 0, "", "" },
	{ "20 host-unreachable ip-4 192.0.2.1 round-trip-time 9", 20, MTRPKT_REPLY_RESULT,
	  "host-unreachable", 4, "192.0.2.1", 9, 0, 0, "", "" },
	{ "21 reply ip-4 127.0.0.1 round-trip-time 126 future-thing x,y=z", 21,
	  MTRPKT_REPLY_RESULT, "reply", 4, "127.0.0.1", 126, 0, 0, "", "" },
	{ "21 reply flags 3 ip-4 127.0.0.1 hops 2 round-trip-time 126", 21, MTRPKT_REPLY_RESULT,
	  "reply", 4, "127.0.0.1", 126, 0, 0, "", "" },
	{ "22 no-reply extra X", 22, MTRPKT_REPLY_RESULT, "no-reply", 0, "", -1, 0, 0, "", "" },
	{ "23 feature-support support ok sources 2", 23, MTRPKT_REPLY_FEATURE, "feature-support",
	  0, "", -1, 0, 0, "", "ok" },
	/* a 32-character word */
	{ "24 abcdefghijabcdefghijabcdefghij-0", 24, MTRPKT_REPLY_RESULT,
	  "abcdefghijabcdefghijabcdefghij-0", 0, "", -1, 0, 0, "", "" },
	/* extra spaces are tolerated */
	{ "  25   reply  ip-4   127.0.0.1 round-trip-time  7  ", 25, MTRPKT_REPLY_RESULT, "reply",
	  4, "127.0.0.1", 7, 0, 0, "", "" },
	/* canonical addresses */
	{ "26 reply ip-6 ::FFFF:127.0.0.1 round-trip-time 1", 26, MTRPKT_REPLY_RESULT, "reply", 6,
	  "::ffff:127.0.0.1", 1, 0, 0, "", "" },
	{ "26 reply ip-6 0:0:0:0:0:0:0:1 round-trip-time 3600000000", 26, MTRPKT_REPLY_RESULT,
	  "reply", 6, "::1", 3600000000L, 0, 0, "", "" },
	/* MPLS */
	{ "27 ttl-expired ip-4 198.51.100.1 round-trip-time 50 mpls 100,0,1,64", 27,
	  MTRPKT_REPLY_RESULT, "ttl-expired", 4, "198.51.100.1", 50, 1, 0, "", "" },
	{ "27 ttl-expired ip-4 198.51.100.1 round-trip-time 50 mpls 100,0,0,64,200,7,1,1", 27,
	  MTRPKT_REPLY_RESULT, "ttl-expired", 4, "198.51.100.1", 50, 2, 0, "", "" },
	{ "27 ttl-expired ip-4 198.51.100.1 round-trip-time 50 mpls 100,0,1,64,5", 27,
	  MTRPKT_REPLY_RESULT, "ttl-expired", 4, "198.51.100.1", 50, 1, 0, "", "" },
	{ "27 ttl-expired ip-4 198.51.100.1 round-trip-time 50 mpls 100,0,1,64,5,1,0", 27,
	  MTRPKT_REPLY_RESULT, "ttl-expired", 4, "198.51.100.1", 50, 1, 0, "", "" },
	{ "27 ttl-expired ip-4 198.51.100.1 round-trip-time 50 mpls 100,0,1", 27,
	  MTRPKT_REPLY_RESULT, "ttl-expired", 4, "198.51.100.1", 50, 0, 0, "", "" },
	{ "27 ttl-expired ip-4 198.51.100.1 round-trip-time 50 mpls 5", 27, MTRPKT_REPLY_RESULT,
	  "ttl-expired", 4, "198.51.100.1", 50, 0, 0, "", "" },
	{ "27 reply mpls 1,0,1,1 ip-4 198.51.100.1 round-trip-time 50", 27, MTRPKT_REPLY_RESULT,
	  "reply", 4, "198.51.100.1", 50, 1, 0, "", "" },
};

/* Each valid reply line gives exactly its fields. */
START_TEST(test_parse_good)
{
	const struct good_reply *g = &good_replies[_i];
	struct mtrpkt_reply r;
	int ret = mtrpkt_parse_reply(g->line, strlen(g->line), &r);

	ck_assert_msg(ret == 0, "\"%s\": got %d", g->line, ret);
	ck_assert_uint_eq(r.token, g->token);
	ck_assert_int_eq(r.kind, g->kind);
	ck_assert_str_eq(r.word, g->word);
	ck_assert_int_eq(r.ip_version, g->ip_version);
	ck_assert_str_eq(r.address, g->address);
	ck_assert_int_eq(r.rtt_us, g->rtt_us);
	ck_assert_int_eq(r.mpls_count, g->mpls_count);
	ck_assert_int_eq(r.err_no, g->err_no);
	ck_assert_str_eq(r.reason, g->reason);
	ck_assert_str_eq(r.support, g->support);
}
END_TEST

/* Lines that must give -EINVAL, as (bytes, length) so they may hold NUL. */
struct bad_reply {
	const char *line;
	size_t len;
};

#define BR(s) { s, sizeof(s) - 1 }

static const struct bad_reply bad_replies[] = {
	/* empty and truncated */
	BR(""), BR(" "), BR("7"), BR("7 "), BR("reply"),
	BR("7 reply"), BR("7 reply ip-4"), BR("7 reply ip-4 127.0.0.1"),
	BR("7 reply ip-4 127.0.0.1 round-trip-time"), BR("7 reply round-trip-time 5"),
	BR("7 ttl-expired"), BR("7 ttl-expired ip-6 ::1"),
	BR("7 no-route ip-4 127.0.0.1"), BR("7 no-route round-trip-time 1"),
	BR("7 unexpected-error"), BR("7 unexpected-error errno"),
	BR("7 feature-support"), BR("7 feature-support support"),
	BR("7 invalid-argument reason"), BR("7 no-reply name"),
	/* tokens */
	BR("-1 no-reply"), BR("+1 no-reply"), BR("x no-reply"), BR("0x10 no-reply"),
	BR("1.0 no-reply"), BR("2147483648 no-reply"), BR("4294967296 no-reply"),
	BR("4294967297 no-reply"), BR("99999999999999999999 no-reply"),
	BR("00000000001 no-reply"), BR("1a no-reply"),
	/* words */
	BR("7 REPLY"), BR("7 re_ply"), BR("7 reply!"), BR("7 r\xc3\xa9ply"),
	BR("7 abcdefghijabcdefghijabcdefghij-01"),
	/* names and values read */
	BR("7 reply IP-4 127.0.0.1 round-trip-time 1"),
	BR("7 reply ip-4 127.0.0.1 round-trip-time 1 Future x"),
	BR("7 reply ip-4 127.0.0.1 round-trip-time 1 abcdefghijabcdefghijabcdefghijabc x"),
	BR("7 reply ip-4 999.0.0.1 round-trip-time 1"),
	BR("7 reply ip-4 127.1 round-trip-time 1"),
	BR("7 reply ip-4 ::1 round-trip-time 1"),
	BR("7 reply ip-6 127.0.0.1 round-trip-time 1"),
	BR("7 reply ip-6 fe80::1%lo round-trip-time 1"),
	BR("7 reply ip-6 ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255x round-trip-time 1"),
	BR("7 reply ip-5 127.0.0.1 round-trip-time 1"),
	BR("7 reply ip-4 127.0.0.1 ip-4 127.0.0.1 round-trip-time 1"),
	BR("7 reply ip-4 127.0.0.1 ip-6 ::1 round-trip-time 1"),
	BR("7 reply ip-4 127.0.0.1 round-trip-time -5"),
	BR("7 reply ip-4 127.0.0.1 round-trip-time 1.5"),
	BR("7 reply ip-4 127.0.0.1 round-trip-time 12abc"),
	BR("7 reply ip-4 127.0.0.1 round-trip-time 1 round-trip-time 2"),
	BR("7 reply ip-4 127.0.0.1 round-trip-time 9999999999999999999"),
	BR("7 unexpected-error errno x"), BR("7 unexpected-error errno -1"),
	BR("7 unexpected-error errno 2147483648"), BR("7 unexpected-error errno 1 errno 2"),
	BR("7 feature-support support OK"), BR("7 feature-support support o_k"),
	BR("7 feature-support support abcdefghijabcdefghijabcdefghijabc"),
	BR("7 invalid-argument reason Bad_Word"),
	BR("7 invalid-argument reason abcdefghijabcdefghijabcdefghijabc"),
	/* MPLS */
	BR("7 no-reply mpls 1,0,1,1"),
	BR("7 reply ip-4 127.0.0.1 round-trip-time 1 mpls 1048576,0,1,1"),
	BR("7 reply ip-4 127.0.0.1 round-trip-time 1 mpls 1,8,1,1"),
	BR("7 reply ip-4 127.0.0.1 round-trip-time 1 mpls 1,0,2,1"),
	BR("7 reply ip-4 127.0.0.1 round-trip-time 1 mpls 1,0,1,256"),
	BR("7 reply ip-4 127.0.0.1 round-trip-time 1 mpls 1,0,1,1,1,9"),
	BR("7 reply ip-4 127.0.0.1 round-trip-time 1 mpls 1,,1,1"),
	BR("7 reply ip-4 127.0.0.1 round-trip-time 1 mpls 1,0,1,1,"),
	BR("7 reply ip-4 127.0.0.1 round-trip-time 1 mpls ,1,0,1,1"),
	BR("7 reply ip-4 127.0.0.1 round-trip-time 1 mpls -1,0,1,1"),
	BR("7 reply ip-4 127.0.0.1 round-trip-time 1 mpls a,0,1,1"),
	BR("7 reply ip-4 127.0.0.1 round-trip-time 1 mpls 99999999999,0,1,1"),
	BR("7 reply ip-4 127.0.0.1 round-trip-time 1 mpls 1;0;1;1"),
	BR("7 reply ip-4 127.0.0.1 round-trip-time 1 mpls 1,0,1,1 mpls 1,0,1,1"),
	BR("7 reply ip-4 127.0.0.1 round-trip-time 1 mpls "
	   "1,0,0,1,2,0,0,1,3,0,0,1,4,0,0,1,5,0,0,1,6,0,0,1,7,0,0,1,8,0,0,1,9,0,3,1"),
	/* control bytes, NUL, non-ASCII */
	BR("7 no-reply\0"), BR("7 no\0-reply"), BR("\0" "7 no-reply"),
	BR("7 no-reply\r"), BR("7 no-reply\n"), BR("7\tno-reply"), BR("7 no-reply\n8 no-reply"),
	BR("7 no-reply x \x7f"), BR("7 no-reply x \xff"), BR("7 no-reply x \x1b[0m"),
	/* garbage */
	BR("garbage"), BR("{\"id\":1}"), BR("7 8"), BR(",,,"), BR("7 -"), BR("7 --"),
	BR("7 -reply"), BR("7 0reply"),
};

/* Each malformed line gives -EINVAL and leaves the reply reset. */
START_TEST(test_parse_bad)
{
	const struct bad_reply *b = &bad_replies[_i];
	struct mtrpkt_reply r;
	int ret;

	memset(&r, 0x5a, sizeof(r));
	ret = mtrpkt_parse_reply(b->line, b->len, &r);
	ck_assert_msg(ret == -EINVAL, "\"%.*s\": got %d", (int)b->len, b->line, ret);
	ck_assert_uint_eq(r.token, 0);
	ck_assert_str_eq(r.word, "");
	ck_assert_str_eq(r.address, "");
	ck_assert_int_eq(r.rtt_us, -1);
	ck_assert_int_eq(r.mpls_count, 0);
}
END_TEST

/* Every field of the MPLS groups, and the partial group dropped. */
START_TEST(test_parse_mpls_values)
{
	static const char line[] = "3 ttl-expired ip-4 192.0.2.1 round-trip-time 10 mpls "
				   "1048575,7,1,255,0,0,0,0,16,3,1,1,77";
	struct mtrpkt_reply r;

	ck_assert_int_eq(mtrpkt_parse_reply(line, strlen(line), &r), 0);
	ck_assert_int_eq(r.mpls_count, 3);
	ck_assert_uint_eq(r.mpls[0].label, 1048575);
	ck_assert_int_eq(r.mpls[0].traffic_class, 7);
	ck_assert(r.mpls[0].bottom_of_stack);
	ck_assert_int_eq(r.mpls[0].ttl, 255);
	ck_assert_uint_eq(r.mpls[1].label, 0);
	ck_assert_int_eq(r.mpls[1].traffic_class, 0);
	ck_assert(!r.mpls[1].bottom_of_stack);
	ck_assert_int_eq(r.mpls[1].ttl, 0);
	ck_assert_uint_eq(r.mpls[2].label, 16);
	ck_assert_int_eq(r.mpls[2].traffic_class, 3);
	ck_assert(r.mpls[2].bottom_of_stack);
	ck_assert_int_eq(r.mpls[2].ttl, 1);
}
END_TEST

/* Exactly MP_MPLS_MAX groups are kept; more are dropped, all still checked. */
START_TEST(test_parse_mpls_many)
{
	char line[1024];
	struct mtrpkt_reply r;
	int pos;

	for (int groups = 8; groups <= 12; groups++) {
		pos = snprintf(line, sizeof(line), "4 reply ip-6 ::1 round-trip-time 2 mpls ");
		for (int g = 0; g < groups; g++)
			pos += snprintf(line + pos, sizeof(line) - (size_t)pos, "%s%d,%d,%d,%d",
					g ? "," : "", 100 + g, g % 8, g == groups - 1, 64 - g);
		ck_assert_int_eq(mtrpkt_parse_reply(line, (size_t)pos, &r), 0);
		ck_assert_int_eq(r.mpls_count, MP_MPLS_MAX);
		for (int g = 0; g < MP_MPLS_MAX; g++) {
			ck_assert_uint_eq(r.mpls[g].label, 100 + g);
			ck_assert_int_eq(r.mpls[g].traffic_class, g % 8);
			ck_assert_int_eq(r.mpls[g].bottom_of_stack, g == groups - 1);
			ck_assert_int_eq(r.mpls[g].ttl, 64 - g);
		}
	}
}
END_TEST

/* The parser reads only len bytes. */
START_TEST(test_parse_length_bounded)
{
	static const char buf[] = "7 no-reply GARBAGE\xff";
	struct mtrpkt_reply r;

	ck_assert_int_eq(mtrpkt_parse_reply(buf, 10, &r), 0);
	ck_assert_str_eq(r.word, "no-reply");
	ck_assert_int_eq(mtrpkt_parse_reply(buf, 9, &r), 0);
	ck_assert_str_eq(r.word, "no-repl");
	ck_assert_int_eq(mtrpkt_parse_reply(buf, sizeof(buf) - 1, &r), -EINVAL);
}
END_TEST

/* Long lines: up to 4096 bytes are read, longer ones are refused. */
START_TEST(test_parse_long_lines)
{
	char line[5000];
	struct mtrpkt_reply r;
	size_t n = (size_t)snprintf(line, sizeof(line), "7 no-reply x ");

	memset(line + n, 'y', sizeof(line) - n);
	ck_assert_int_eq(mtrpkt_parse_reply(line, 4096, &r), 0);
	ck_assert_str_eq(r.word, "no-reply");
	ck_assert_int_eq(mtrpkt_parse_reply(line, 4097, &r), -EINVAL);
	ck_assert_int_eq(mtrpkt_parse_reply(line, sizeof(line), &r), -EINVAL);
}
END_TEST

/* NULL arguments are refused, not dereferenced. */
START_TEST(test_parse_null)
{
	struct mtrpkt_reply r;

	ck_assert_int_eq(mtrpkt_parse_reply(NULL, 0, &r), -EINVAL);
	ck_assert_int_eq(mtrpkt_parse_reply(NULL, 5, &r), -EINVAL);
	ck_assert_int_eq(mtrpkt_parse_reply("7 no-reply", 10, NULL), -EINVAL);
}
END_TEST

/* A deterministic pseudo-random generator for the fuzz test. */
static uint32_t xorshift(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/* Check the invariants of a reply the parser accepted. */
static void check_reply_sane(const struct mtrpkt_reply *r)
{
	ck_assert_uint_le(r->token, 2147483647u);
	ck_assert_uint_ge(strlen(r->word), 1);
	ck_assert_uint_le(strlen(r->word), MP_RESULT_MAX);
	ck_assert_int_ge(r->mpls_count, 0);
	ck_assert_int_le(r->mpls_count, MP_MPLS_MAX);
	ck_assert(r->ip_version == 0 || r->ip_version == 4 || r->ip_version == 6);
	ck_assert_int_eq(r->ip_version == 0, r->address[0] == '\0');
	ck_assert_int_eq(r->ip_version == 0, r->rtt_us == -1);
	ck_assert_uint_lt(strlen(r->address), MP_ADDR_MAX);
	for (int i = 0; i < r->mpls_count; i++) {
		ck_assert_uint_le(r->mpls[i].label, 0xfffff);
		ck_assert_int_le(r->mpls[i].traffic_class, 7);
		ck_assert_int_le(r->mpls[i].ttl, 255);
	}
}

/* Mutated valid lines and random bytes never crash and give 0 or -EINVAL. */
START_TEST(test_parse_fuzz)
{
	static const char *const seeds[] = {
		"27 ttl-expired ip-4 198.51.100.1 round-trip-time 50 mpls 100,0,1,64,200,7,1,1",
		"8 reply ip-6 2001:db8::1 round-trip-time 5000",
		"18 unexpected-error errno 110",
		"19 feature-support support 0.95",
		"17 invalid-argument reason protocol-not-supported",
	};
	static const char alphabet[] = "0123456789 ,.:-abcdefipr\0\xff\n\t";
	uint32_t seed = 0x12345678;
	char line[256];
	struct mtrpkt_reply r;
	int accepted = 0;

	for (int iter = 0; iter < 20000; iter++) {
		const char *s = seeds[iter % 5];
		size_t len = strlen(s);
		int edits = 1 + (int)(xorshift(&seed) % 4);

		memcpy(line, s, len);
		for (int e = 0; e < edits; e++) {
			size_t at = xorshift(&seed) % len;

			switch (xorshift(&seed) % 3) {
			case 0: /* replace */
				line[at] = alphabet[xorshift(&seed) % (sizeof(alphabet) - 1)];
				break;
			case 1: /* truncate */
				len = at + 1;
				break;
			default: /* random tail */
				for (size_t k = at; k < len; k++)
					line[k] = (char)(xorshift(&seed) & 0xff);
				break;
			}
		}
		int ret = mtrpkt_parse_reply(line, len, &r);

		ck_assert(ret == 0 || ret == -EINVAL);
		if (ret == 0) {
			accepted++;
			check_reply_sane(&r);
		}
	}
	/* The mutations are mild enough that some lines still parse. */
	ck_assert_int_gt(accepted, 100);
}
END_TEST

/* ---- main ---------------------------------------------------------------- */

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* The formatting test cases. */
static TCase *format_tcase(void)
{
	TCase *tc = tcase_create("format");

	tcase_add_test(tc, test_format_icmp_minimal);
	tcase_add_test(tc, test_format_icmp_full);
	tcase_add_test(tc, test_format_udp);
	tcase_add_test(tc, test_format_tcp_sctp);
	tcase_add_test(tc, test_format_v6);
	tcase_add_test(tc, test_format_canonical);
	tcase_add_loop_test(tc, test_format_einval, 0, N(bad_cmds));
	tcase_add_test(tc, test_format_null);
	tcase_add_test(tc, test_format_nospace);
	tcase_add_test(tc, test_format_longest);
	tcase_add_test(tc, test_format_check_support);
	return tc;
}

/* The parsing test cases. */
static TCase *parse_tcase(void)
{
	TCase *tc = tcase_create("parse");

	tcase_add_loop_test(tc, test_parse_good, 0, N(good_replies));
	tcase_add_loop_test(tc, test_parse_bad, 0, N(bad_replies));
	tcase_add_test(tc, test_parse_mpls_values);
	tcase_add_test(tc, test_parse_mpls_many);
	tcase_add_test(tc, test_parse_length_bounded);
	tcase_add_test(tc, test_parse_long_lines);
	tcase_add_test(tc, test_parse_null);
	tcase_add_test(tc, test_parse_fuzz);
	return tc;
}

int main(void)
{
	Suite *s = suite_create("mtrpkt");
	SRunner *sr;
	int failed;

	suite_add_tcase(s, format_tcase());
	suite_add_tcase(s, parse_tcase());
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
