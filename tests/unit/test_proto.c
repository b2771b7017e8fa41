/*
 * Unit tests of the protocol codec (daemon/proto.c): every field of every
 * operation at and just beyond its bounds, every type confusion, every
 * error code the decoder produces with its exact message, id echo, and the
 * exact bytes of every encoder's output.
 */
#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/encode.h"
#include "daemon/mondef.h"
#include "daemon/proto.h"

/* ---- helpers ---------------------------------------------------------- */

/* Decode line (len bytes) into req; errmsg receives the message. */
static enum mp_error decode_n(const char *line, size_t len, struct mp_request *req,
			      char *errmsg)
{
	return mp_request_decode(line, len, req, errmsg);
}

/* Decode a NUL-terminated line. */
static enum mp_error decode(const char *line, struct mp_request *req, char *errmsg)
{
	return decode_n(line, strlen(line), req, errmsg);
}

/* Assert that line decodes to code with exactly message msg, and release it. */
static void expect_error(const char *line, enum mp_error code, const char *msg)
{
	struct mp_request req;
	char errmsg[MP_ERRMSG_MAX];
	enum mp_error r = decode(line, &req, errmsg);

	ck_assert_msg(r == code, "%s: got %s (%s), want %s", line, mp_error_name(r), errmsg,
		      mp_error_name(code));
	ck_assert_msg(strcmp(errmsg, msg) == 0, "%s: message \"%s\", want \"%s\"", line, errmsg,
		      msg);
	mp_request_clear(&req);
}

/* Assert that line decodes to code with a message starting with prefix. */
static void expect_error_prefix(const char *line, size_t len, enum mp_error code,
				const char *prefix)
{
	struct mp_request req;
	char errmsg[MP_ERRMSG_MAX];
	enum mp_error r = decode_n(line, len, &req, errmsg);

	ck_assert_msg(r == code, "%s: got %s (%s), want %s", line, mp_error_name(r), errmsg,
		      mp_error_name(code));
	ck_assert_msg(strncmp(errmsg, prefix, strlen(prefix)) == 0,
		      "%s: message \"%s\" does not start with \"%s\"", line, errmsg, prefix);
	ck_assert_int_eq(req.id.kind, MP_ID_NULL);
	mp_request_clear(&req);
}

/* Assert that line decodes; req must be cleared by the caller. */
static void expect_ok(const char *line, struct mp_request *req)
{
	char errmsg[MP_ERRMSG_MAX];
	enum mp_error r = decode(line, req, errmsg);

	ck_assert_msg(r == MP_OK, "%s: got %s (%s)", line, mp_error_name(r), errmsg);
}

/*
 * Assert that a malloc'd encoder output equals want and that *len, which the
 * encoder stored, is its length; free it.  len is a pointer because it is read
 * only after the encoder (an argument of this call) has run.
 */
static void expect_line(char *got, const size_t *len, const char *want)
{
	ck_assert_ptr_nonnull(got);
	ck_assert_str_eq(got, want);
	ck_assert_uint_eq(*len, strlen(want));
	free(got);
}

/* ---- the field tables ----------------------------------------------------- */

/* Which struct member a table row reads back. */
enum member {
	M_IP_VERSION, M_TTL, M_PORT, M_LOCAL_PORT, M_TIMEOUT, M_SIZE, M_BIT_PATTERN, M_TOS,
	M_MARK, M_FIRST_TTL, M_MAX_TTL, M_COUNT, M_INTERVAL,
};

/* The value of member m of req, as a double (all fit exactly). */
static double member_value(const struct mp_request *req, enum member m)
{
	switch (m) {
	case M_IP_VERSION: return req->probe.ip_version;
	case M_TTL: return req->probe.ttl;
	case M_PORT: return req->probe.port;
	case M_LOCAL_PORT: return req->probe.local_port;
	case M_TIMEOUT: return req->probe.timeout;
	case M_SIZE: return req->probe.size;
	case M_BIT_PATTERN: return req->probe.bit_pattern;
	case M_TOS: return req->probe.tos;
	case M_MARK: return (double)req->probe.mark;
	case M_FIRST_TTL: return req->trace.first_ttl;
	case M_MAX_TTL: return req->trace.max_ttl;
	case M_COUNT: return req->trace.count;
	case M_INTERVAL: return req->trace.interval;
	}
	return -12345;
}

/* An integer field: its bounds, the expected range message, where it goes. */
struct int_field {
	const char *op;
	const char *extra; /* other fields the request needs, with a trailing ',' */
	const char *name;
	long long min, max;
	const char *msg;
	enum member member;
};

static const struct int_field int_fields[] = {
	{ "probe", "", "ttl", 0, 255, "ttl: must be an integer from 0 to 255", M_TTL },
	{ "probe", "\"protocol\":\"udp\",", "port", 1, 65535,
	  "port: must be an integer from 1 to 65535", M_PORT },
	{ "trace", "\"protocol\":\"tcp\",", "port", 1, 65535,
	  "port: must be an integer from 1 to 65535", M_PORT },
	{ "probe", "\"protocol\":\"tcp\",", "local_port", 1, 65535,
	  "local_port: must be an integer from 1 to 65535", M_LOCAL_PORT },
	{ "trace", "\"protocol\":\"sctp\",", "local_port", 1, 65535,
	  "local_port: must be an integer from 1 to 65535", M_LOCAL_PORT },
	{ "probe", "", "size", 0, 9000, "size: must be an integer from 0 to 9000", M_SIZE },
	{ "trace", "", "size", 0, 9000, "size: must be an integer from 0 to 9000", M_SIZE },
	{ "probe", "", "bit_pattern", 0, 255, "bit_pattern: must be an integer from 0 to 255",
	  M_BIT_PATTERN },
	{ "trace", "", "bit_pattern", 0, 255, "bit_pattern: must be an integer from 0 to 255",
	  M_BIT_PATTERN },
	{ "probe", "", "tos", 0, 255, "tos: must be an integer from 0 to 255", M_TOS },
	{ "trace", "", "tos", 0, 255, "tos: must be an integer from 0 to 255", M_TOS },
	{ "probe", "", "mark", 0, 4294967295LL, "mark: must be an integer from 0 to 4294967295",
	  M_MARK },
	{ "trace", "", "mark", 0, 4294967295LL, "mark: must be an integer from 0 to 4294967295",
	  M_MARK },
	{ "trace", "\"max_ttl\":255,", "first_ttl", 1, 255,
	  "first_ttl: must be an integer from 1 to 255", M_FIRST_TTL },
	{ "trace", "", "max_ttl", 1, 255, "max_ttl: must be an integer from first_ttl (1) to 255",
	  M_MAX_TTL },
	{ "trace", "\"first_ttl\":7,", "max_ttl", 7, 255,
	  "max_ttl: must be an integer from first_ttl (7) to 255", M_MAX_TTL },
	{ "trace", "", "count", 1, 1000, "count: must be an integer from 1 to 1000", M_COUNT },
};

/* Type confusions every integer field must reject. */
static const char *const not_integers[] = {
	"true", "false", "4.0", "1.5", "\"4\"", "null", "[4]", "{}", "1e2", "-0.0",
};

/* Build a request line for row f with value as the field's JSON text. */
static void int_line(char *buf, size_t n, const struct int_field *f, const char *value)
{
	snprintf(buf, n, "{\"op\":\"%s\",\"host\":\"h\",%s\"%s\":%s}", f->op, f->extra, f->name,
		 value);
}

/* Each integer field: min and max accepted and stored, min-1 and max+1 rejected. */
START_TEST(test_int_field_bounds)
{
	const struct int_field *f = &int_fields[_i];
	char line[256], num[32];
	struct mp_request req;

	snprintf(num, sizeof(num), "%lld", f->min);
	int_line(line, sizeof(line), f, num);
	expect_ok(line, &req);
	ck_assert_double_eq(member_value(&req, f->member), (double)f->min);
	mp_request_clear(&req);

	snprintf(num, sizeof(num), "%lld", f->max);
	int_line(line, sizeof(line), f, num);
	expect_ok(line, &req);
	ck_assert_double_eq(member_value(&req, f->member), (double)f->max);
	mp_request_clear(&req);

	snprintf(num, sizeof(num), "%lld", f->min - 1);
	int_line(line, sizeof(line), f, num);
	expect_error(line, MP_ERR_INVALID_ARGUMENT, f->msg);

	snprintf(num, sizeof(num), "%lld", f->max + 1);
	int_line(line, sizeof(line), f, num);
	expect_error(line, MP_ERR_INVALID_ARGUMENT, f->msg);

	int_line(line, sizeof(line), f, "9223372036854775807");
	expect_error(line, MP_ERR_INVALID_ARGUMENT, f->msg);
	int_line(line, sizeof(line), f, "-9223372036854775808");
	expect_error(line, MP_ERR_INVALID_ARGUMENT, f->msg);
}
END_TEST

/* Each integer field rejects true, 4.0, "4", null, arrays and objects. */
START_TEST(test_int_field_types)
{
	const struct int_field *f = &int_fields[_i];
	char line[256];

	for (size_t k = 0; k < sizeof(not_integers) / sizeof(not_integers[0]); k++) {
		int_line(line, sizeof(line), f, not_integers[k]);
		expect_error(line, MP_ERR_INVALID_ARGUMENT, f->msg);
	}
}
END_TEST

/* A request line and what decoding it must give. */
struct bad_case {
	const char *line;
	enum mp_error code;
	const char *msg;
};

/* Invalid requests with their exact error code and message. */
static const struct bad_case bad_cases[] = {
	/* ip_version */
	{ "{\"op\":\"probe\",\"host\":\"h\",\"ip_version\":5}", MP_ERR_INVALID_ARGUMENT,
	  "ip_version: must be 4 or 6" },
	{ "{\"op\":\"probe\",\"host\":\"h\",\"ip_version\":0}", MP_ERR_INVALID_ARGUMENT,
	  "ip_version: must be 4 or 6" },
	{ "{\"op\":\"probe\",\"host\":\"h\",\"ip_version\":3}", MP_ERR_INVALID_ARGUMENT,
	  "ip_version: must be 4 or 6" },
	{ "{\"op\":\"probe\",\"host\":\"h\",\"ip_version\":7}", MP_ERR_INVALID_ARGUMENT,
	  "ip_version: must be 4 or 6" },
	{ "{\"op\":\"probe\",\"host\":\"h\",\"ip_version\":4.0}", MP_ERR_INVALID_ARGUMENT,
	  "ip_version: must be 4 or 6" },
	{ "{\"op\":\"probe\",\"host\":\"h\",\"ip_version\":\"4\"}", MP_ERR_INVALID_ARGUMENT,
	  "ip_version: must be 4 or 6" },
	{ "{\"op\":\"probe\",\"host\":\"h\",\"ip_version\":true}", MP_ERR_INVALID_ARGUMENT,
	  "ip_version: must be 4 or 6" },
	{ "{\"op\":\"trace\",\"host\":\"h\",\"ip_version\":null}", MP_ERR_INVALID_ARGUMENT,
	  "ip_version: must be 4 or 6" },
	{ "{\"op\":\"trace\",\"host\":\"h\",\"ip_version\":[6]}", MP_ERR_INVALID_ARGUMENT,
	  "ip_version: must be 4 or 6" },
	/* protocol */
	{ "{\"op\":\"probe\",\"host\":\"h\",\"protocol\":\"ICMP\"}", MP_ERR_INVALID_ARGUMENT,
	  "protocol: must be one of icmp, udp, tcp, sctp" },
	{ "{\"op\":\"probe\",\"host\":\"h\",\"protocol\":\"\"}", MP_ERR_INVALID_ARGUMENT,
	  "protocol: must be one of icmp, udp, tcp, sctp" },
	{ "{\"op\":\"probe\",\"host\":\"h\",\"protocol\":\"raw\"}", MP_ERR_INVALID_ARGUMENT,
	  "protocol: must be one of icmp, udp, tcp, sctp" },
	{ "{\"op\":\"probe\",\"host\":\"h\",\"protocol\":\"udp \"}", MP_ERR_INVALID_ARGUMENT,
	  "protocol: must be one of icmp, udp, tcp, sctp" },
	{ "{\"op\":\"probe\",\"host\":\"h\",\"protocol\":1}", MP_ERR_INVALID_ARGUMENT,
	  "protocol: must be one of icmp, udp, tcp, sctp" },
	{ "{\"op\":\"probe\",\"host\":\"h\",\"protocol\":null}", MP_ERR_INVALID_ARGUMENT,
	  "protocol: must be one of icmp, udp, tcp, sctp" },
	{ "{\"op\":\"trace\",\"host\":\"h\",\"protocol\":[\"udp\"]}", MP_ERR_INVALID_ARGUMENT,
	  "protocol: must be one of icmp, udp, tcp, sctp" },
	{ "{\"op\":\"trace\",\"host\":\"h\",\"protocol\":true}", MP_ERR_INVALID_ARGUMENT,
	  "protocol: must be one of icmp, udp, tcp, sctp" },
	/* port and local_port with icmp, explicit or by default */
	{ "{\"op\":\"probe\",\"host\":\"h\",\"port\":80}", MP_ERR_INVALID_ARGUMENT,
	  "port: not allowed with protocol icmp" },
	{ "{\"op\":\"probe\",\"host\":\"h\",\"protocol\":\"icmp\",\"port\":80}",
	  MP_ERR_INVALID_ARGUMENT, "port: not allowed with protocol icmp" },
	{ "{\"op\":\"probe\",\"port\":80,\"protocol\":\"icmp\",\"host\":\"h\"}",
	  MP_ERR_INVALID_ARGUMENT, "port: not allowed with protocol icmp" },
	{ "{\"op\":\"probe\",\"host\":\"h\",\"port\":\"x\"}", MP_ERR_INVALID_ARGUMENT,
	  "port: not allowed with protocol icmp" },
	{ "{\"op\":\"trace\",\"host\":\"h\",\"port\":80}", MP_ERR_INVALID_ARGUMENT,
	  "port: not allowed with protocol icmp" },
	{ "{\"op\":\"probe\",\"host\":\"h\",\"local_port\":2000}", MP_ERR_INVALID_ARGUMENT,
	  "local_port: not allowed with protocol icmp" },
	{ "{\"op\":\"trace\",\"host\":\"h\",\"protocol\":\"icmp\",\"local_port\":2000}",
	  MP_ERR_INVALID_ARGUMENT, "local_port: not allowed with protocol icmp" },
	/* host */
	{ "{\"op\":\"probe\"}", MP_ERR_INVALID_ARGUMENT, "host: required" },
	{ "{\"op\":\"trace\"}", MP_ERR_INVALID_ARGUMENT, "host: required" },
	{ "{\"op\":\"probe\",\"ttl\":1}", MP_ERR_INVALID_ARGUMENT, "host: required" },
	{ "{\"op\":\"probe\",\"host\":\"\"}", MP_ERR_INVALID_ARGUMENT,
	  "host: must be 1 to 253 bytes long" },
	{ "{\"op\":\"probe\",\"host\":null}", MP_ERR_INVALID_ARGUMENT, "host: must be a string" },
	{ "{\"op\":\"probe\",\"host\":4}", MP_ERR_INVALID_ARGUMENT, "host: must be a string" },
	{ "{\"op\":\"probe\",\"host\":true}", MP_ERR_INVALID_ARGUMENT, "host: must be a string" },
	{ "{\"op\":\"probe\",\"host\":[\"h\"]}", MP_ERR_INVALID_ARGUMENT,
	  "host: must be a string" },
	{ "{\"op\":\"trace\",\"host\":{}}", MP_ERR_INVALID_ARGUMENT, "host: must be a string" },
	{ "{\"op\":\"probe\",\"host\":\"a b\"}", MP_ERR_INVALID_ARGUMENT,
	  "host: must be a hostname or an IP address (letters, digits, '.', '-', '_', ':')" },
	{ "{\"op\":\"probe\",\"host\":\" a\"}", MP_ERR_INVALID_ARGUMENT,
	  "host: must be a hostname or an IP address (letters, digits, '.', '-', '_', ':')" },
	{ "{\"op\":\"probe\",\"host\":\"a\\tb\"}", MP_ERR_INVALID_ARGUMENT,
	  "host: must be a hostname or an IP address (letters, digits, '.', '-', '_', ':')" },
	{ "{\"op\":\"probe\",\"host\":\"a\\nb\"}", MP_ERR_INVALID_ARGUMENT,
	  "host: must be a hostname or an IP address (letters, digits, '.', '-', '_', ':')" },
	{ "{\"op\":\"probe\",\"host\":\"a\\u007fb\"}", MP_ERR_INVALID_ARGUMENT,
	  "host: must be a hostname or an IP address (letters, digits, '.', '-', '_', ':')" },
	{ "{\"op\":\"probe\",\"host\":\"fe80::1%eth0\"}", MP_ERR_INVALID_ARGUMENT,
	  "host: must be a hostname or an IP address (letters, digits, '.', '-', '_', ':')" },
	{ "{\"op\":\"probe\",\"host\":\"h\\u00e9\"}", MP_ERR_INVALID_ARGUMENT,
	  "host: must be a hostname or an IP address (letters, digits, '.', '-', '_', ':')" },
	{ "{\"op\":\"probe\",\"host\":\"a/b\"}", MP_ERR_INVALID_ARGUMENT,
	  "host: must be a hostname or an IP address (letters, digits, '.', '-', '_', ':')" },
	{ "{\"op\":\"trace\",\"host\":\"a;rm\"}", MP_ERR_INVALID_ARGUMENT,
	  "host: must be a hostname or an IP address (letters, digits, '.', '-', '_', ':')" },
	/* local_ip */
	{ "{\"op\":\"probe\",\"host\":\"h\",\"local_ip\":\"\"}", MP_ERR_INVALID_ARGUMENT,
	  "local_ip: must be 1 to 253 bytes long" },
	{ "{\"op\":\"probe\",\"host\":\"h\",\"local_ip\":null}", MP_ERR_INVALID_ARGUMENT,
	  "local_ip: must be a string" },
	{ "{\"op\":\"probe\",\"host\":\"h\",\"local_ip\":127}", MP_ERR_INVALID_ARGUMENT,
	  "local_ip: must be a string" },
	{ "{\"op\":\"trace\",\"host\":\"h\",\"local_ip\":[]}", MP_ERR_INVALID_ARGUMENT,
	  "local_ip: must be a string" },
	{ "{\"op\":\"probe\",\"host\":\"h\",\"local_ip\":\"192.0.2.4 \"}", MP_ERR_INVALID_ARGUMENT,
	  "local_ip: must be a hostname or an IP address (letters, digits, '.', '-', '_', ':')" },
	{ "{\"op\":\"probe\",\"host\":\"h\",\"local_ip\":\"::1%lo\"}", MP_ERR_INVALID_ARGUMENT,
	  "local_ip: must be a hostname or an IP address (letters, digits, '.', '-', '_', ':')" },
	/* timeout */
	{ "{\"op\":\"probe\",\"host\":\"h\",\"timeout\":0}", MP_ERR_INVALID_ARGUMENT,
	  "timeout: must be a number greater than 0 and at most 3600" },
	{ "{\"op\":\"probe\",\"host\":\"h\",\"timeout\":0.0}", MP_ERR_INVALID_ARGUMENT,
	  "timeout: must be a number greater than 0 and at most 3600" },
	{ "{\"op\":\"probe\",\"host\":\"h\",\"timeout\":-0.0}", MP_ERR_INVALID_ARGUMENT,
	  "timeout: must be a number greater than 0 and at most 3600" },
	{ "{\"op\":\"probe\",\"host\":\"h\",\"timeout\":-1}", MP_ERR_INVALID_ARGUMENT,
	  "timeout: must be a number greater than 0 and at most 3600" },
	{ "{\"op\":\"probe\",\"host\":\"h\",\"timeout\":3600.001}", MP_ERR_INVALID_ARGUMENT,
	  "timeout: must be a number greater than 0 and at most 3600" },
	{ "{\"op\":\"probe\",\"host\":\"h\",\"timeout\":3601}", MP_ERR_INVALID_ARGUMENT,
	  "timeout: must be a number greater than 0 and at most 3600" },
	{ "{\"op\":\"probe\",\"host\":\"h\",\"timeout\":1e300}", MP_ERR_INVALID_ARGUMENT,
	  "timeout: must be a number greater than 0 and at most 3600" },
	{ "{\"op\":\"probe\",\"host\":\"h\",\"timeout\":\"1\"}", MP_ERR_INVALID_ARGUMENT,
	  "timeout: must be a number greater than 0 and at most 3600" },
	{ "{\"op\":\"probe\",\"host\":\"h\",\"timeout\":true}", MP_ERR_INVALID_ARGUMENT,
	  "timeout: must be a number greater than 0 and at most 3600" },
	{ "{\"op\":\"probe\",\"host\":\"h\",\"timeout\":null}", MP_ERR_INVALID_ARGUMENT,
	  "timeout: must be a number greater than 0 and at most 3600" },
	{ "{\"op\":\"trace\",\"host\":\"h\",\"timeout\":[1]}", MP_ERR_INVALID_ARGUMENT,
	  "timeout: must be a number greater than 0 and at most 3600" },
	{ "{\"op\":\"trace\",\"host\":\"h\",\"timeout\":0}", MP_ERR_INVALID_ARGUMENT,
	  "timeout: must be a number greater than 0 and at most 3600" },
	/* interval */
	{ "{\"op\":\"trace\",\"host\":\"h\",\"interval\":-0.001}", MP_ERR_INVALID_ARGUMENT,
	  "interval: must be a number from 0 to 3600" },
	{ "{\"op\":\"trace\",\"host\":\"h\",\"interval\":-1}", MP_ERR_INVALID_ARGUMENT,
	  "interval: must be a number from 0 to 3600" },
	{ "{\"op\":\"trace\",\"host\":\"h\",\"interval\":3600.5}", MP_ERR_INVALID_ARGUMENT,
	  "interval: must be a number from 0 to 3600" },
	{ "{\"op\":\"trace\",\"host\":\"h\",\"interval\":3601}", MP_ERR_INVALID_ARGUMENT,
	  "interval: must be a number from 0 to 3600" },
	{ "{\"op\":\"trace\",\"host\":\"h\",\"interval\":\"1\"}", MP_ERR_INVALID_ARGUMENT,
	  "interval: must be a number from 0 to 3600" },
	{ "{\"op\":\"trace\",\"host\":\"h\",\"interval\":false}", MP_ERR_INVALID_ARGUMENT,
	  "interval: must be a number from 0 to 3600" },
	{ "{\"op\":\"trace\",\"host\":\"h\",\"interval\":null}", MP_ERR_INVALID_ARGUMENT,
	  "interval: must be a number from 0 to 3600" },
	{ "{\"op\":\"trace\",\"host\":\"h\",\"interval\":{}}", MP_ERR_INVALID_ARGUMENT,
	  "interval: must be a number from 0 to 3600" },
	/* stream */
	{ "{\"op\":\"trace\",\"host\":\"h\",\"stream\":1}", MP_ERR_INVALID_ARGUMENT,
	  "stream: must be true or false" },
	{ "{\"op\":\"trace\",\"host\":\"h\",\"stream\":0}", MP_ERR_INVALID_ARGUMENT,
	  "stream: must be true or false" },
	{ "{\"op\":\"trace\",\"host\":\"h\",\"stream\":\"true\"}", MP_ERR_INVALID_ARGUMENT,
	  "stream: must be true or false" },
	{ "{\"op\":\"trace\",\"host\":\"h\",\"stream\":null}", MP_ERR_INVALID_ARGUMENT,
	  "stream: must be true or false" },
	{ "{\"op\":\"trace\",\"host\":\"h\",\"stream\":[true]}", MP_ERR_INVALID_ARGUMENT,
	  "stream: must be true or false" },
	/* first_ttl against max_ttl */
	{ "{\"op\":\"trace\",\"host\":\"h\",\"first_ttl\":10,\"max_ttl\":9}",
	  MP_ERR_INVALID_ARGUMENT, "max_ttl: must be an integer from first_ttl (10) to 255" },
	{ "{\"op\":\"trace\",\"host\":\"h\",\"first_ttl\":31}", MP_ERR_INVALID_ARGUMENT,
	  "first_ttl: must not exceed max_ttl (default 30)" },
	{ "{\"op\":\"trace\",\"host\":\"h\",\"first_ttl\":0,\"max_ttl\":0}",
	  MP_ERR_INVALID_ARGUMENT, "first_ttl: must be an integer from 1 to 255" },
	/* feature */
	{ "{\"op\":\"check_support\"}", MP_ERR_INVALID_ARGUMENT, "feature: required" },
	{ "{\"op\":\"check_support\",\"feature\":\"\"}", MP_ERR_INVALID_ARGUMENT,
	  "feature: must be a string of 1 to 32 characters from [a-z0-9-]" },
	{ "{\"op\":\"check_support\",\"feature\":\"abcdefghijabcdefghijabcdefghijabc\"}",
	  MP_ERR_INVALID_ARGUMENT, "feature: must be a string of 1 to 32 characters from [a-z0-9-]" },
	{ "{\"op\":\"check_support\",\"feature\":\"UDP\"}", MP_ERR_INVALID_ARGUMENT,
	  "feature: must be a string of 1 to 32 characters from [a-z0-9-]" },
	{ "{\"op\":\"check_support\",\"feature\":\"ip_4\"}", MP_ERR_INVALID_ARGUMENT,
	  "feature: must be a string of 1 to 32 characters from [a-z0-9-]" },
	{ "{\"op\":\"check_support\",\"feature\":\"a b\"}", MP_ERR_INVALID_ARGUMENT,
	  "feature: must be a string of 1 to 32 characters from [a-z0-9-]" },
	{ "{\"op\":\"check_support\",\"feature\":\"udp\\n\"}", MP_ERR_INVALID_ARGUMENT,
	  "feature: must be a string of 1 to 32 characters from [a-z0-9-]" },
	{ "{\"op\":\"check_support\",\"feature\":\"0.95\"}", MP_ERR_INVALID_ARGUMENT,
	  "feature: must be a string of 1 to 32 characters from [a-z0-9-]" },
	{ "{\"op\":\"check_support\",\"feature\":1}", MP_ERR_INVALID_ARGUMENT,
	  "feature: must be a string of 1 to 32 characters from [a-z0-9-]" },
	{ "{\"op\":\"check_support\",\"feature\":null}", MP_ERR_INVALID_ARGUMENT,
	  "feature: must be a string of 1 to 32 characters from [a-z0-9-]" },
	{ "{\"op\":\"check_support\",\"feature\":true}", MP_ERR_INVALID_ARGUMENT,
	  "feature: must be a string of 1 to 32 characters from [a-z0-9-]" },
	{ "{\"op\":\"check_support\",\"feature\":[\"udp\"]}", MP_ERR_INVALID_ARGUMENT,
	  "feature: must be a string of 1 to 32 characters from [a-z0-9-]" },
	/* unknown fields, per operation */
	{ "{\"op\":\"probe\",\"host\":\"h\",\"colour\":\"red\"}", MP_ERR_INVALID_ARGUMENT,
	  "colour: unknown field" },
	{ "{\"op\":\"probe\",\"host\":\"h\",\"first_ttl\":1}", MP_ERR_INVALID_ARGUMENT,
	  "first_ttl: unknown field" },
	{ "{\"op\":\"probe\",\"host\":\"h\",\"max_ttl\":1}", MP_ERR_INVALID_ARGUMENT,
	  "max_ttl: unknown field" },
	{ "{\"op\":\"probe\",\"host\":\"h\",\"count\":1}", MP_ERR_INVALID_ARGUMENT,
	  "count: unknown field" },
	{ "{\"op\":\"probe\",\"host\":\"h\",\"interval\":1}", MP_ERR_INVALID_ARGUMENT,
	  "interval: unknown field" },
	{ "{\"op\":\"probe\",\"host\":\"h\",\"stream\":true}", MP_ERR_INVALID_ARGUMENT,
	  "stream: unknown field" },
	{ "{\"op\":\"probe\",\"host\":\"h\",\"feature\":\"udp\"}", MP_ERR_INVALID_ARGUMENT,
	  "feature: unknown field" },
	{ "{\"op\":\"trace\",\"host\":\"h\",\"ttl\":3}", MP_ERR_INVALID_ARGUMENT,
	  "ttl: unknown field" },
	{ "{\"op\":\"trace\",\"host\":\"h\",\"feature\":\"udp\"}", MP_ERR_INVALID_ARGUMENT,
	  "feature: unknown field" },
	{ "{\"op\":\"check_support\",\"feature\":\"udp\",\"host\":\"h\"}",
	  MP_ERR_INVALID_ARGUMENT, "host: unknown field" },
	{ "{\"op\":\"version\",\"host\":\"h\"}", MP_ERR_INVALID_ARGUMENT, "host: unknown field" },
	{ "{\"op\":\"version\",\"verbose\":true}", MP_ERR_INVALID_ARGUMENT,
	  "verbose: unknown field" },
	{ "{\"op\":\"stats\",\"feature\":\"udp\"}", MP_ERR_INVALID_ARGUMENT,
	  "feature: unknown field" },
	{ "{\"op\":\"clear_dns_cache\",\"host\":\"h\"}", MP_ERR_INVALID_ARGUMENT,
	  "host: unknown field" },
	{ "{\"op\":\"probe\",\"host\":\"h\",\"Host\":\"h\"}", MP_ERR_INVALID_ARGUMENT,
	  "Host: unknown field" },
	{ "{\"op\":\"probe\",\"host\":\"h\",\"\":1}", MP_ERR_INVALID_ARGUMENT,
	  ": unknown field" },
	{ "{\"op\":\"probe\",\"host\":\"h\",\"\\u00e9\":1}", MP_ERR_INVALID_ARGUMENT,
	  "\xc3\xa9: unknown field" },
	/* the first unknown key in input order, before any value check */
	{ "{\"op\":\"probe\",\"zeta\":1,\"alpha\":2,\"host\":\"h\"}", MP_ERR_INVALID_ARGUMENT,
	  "zeta: unknown field" },
	{ "{\"op\":\"probe\",\"alpha\":1,\"zeta\":2,\"host\":\"h\"}", MP_ERR_INVALID_ARGUMENT,
	  "alpha: unknown field" },
	{ "{\"op\":\"probe\",\"ttl\":300,\"colour\":1}", MP_ERR_INVALID_ARGUMENT,
	  "colour: unknown field" },
	/* the first bad field in table order, whatever the input order */
	{ "{\"op\":\"probe\",\"tos\":300,\"ttl\":300,\"host\":\"h\"}", MP_ERR_INVALID_ARGUMENT,
	  "ttl: must be an integer from 0 to 255" },
	{ "{\"op\":\"probe\",\"tos\":300,\"ttl\":300}", MP_ERR_INVALID_ARGUMENT,
	  "host: required" },
	{ "{\"op\":\"probe\",\"mark\":-1,\"size\":9001,\"host\":\"h\"}", MP_ERR_INVALID_ARGUMENT,
	  "size: must be an integer from 0 to 9000" },
	{ "{\"op\":\"trace\",\"stream\":1,\"count\":0,\"host\":\"h\"}", MP_ERR_INVALID_ARGUMENT,
	  "count: must be an integer from 1 to 1000" },
	{ "{\"op\":\"probe\",\"port\":70000,\"protocol\":\"bogus\",\"host\":\"h\"}",
	  MP_ERR_INVALID_ARGUMENT, "protocol: must be one of icmp, udp, tcp, sctp" },
	/* op */
	{ "{}", MP_ERR_BAD_REQUEST, "op: required" },
	{ "{\"host\":\"h\"}", MP_ERR_BAD_REQUEST, "op: required" },
	{ "{\"op\":4}", MP_ERR_BAD_REQUEST, "op: must be a string" },
	{ "{\"op\":null}", MP_ERR_BAD_REQUEST, "op: must be a string" },
	{ "{\"op\":true}", MP_ERR_BAD_REQUEST, "op: must be a string" },
	{ "{\"op\":[\"probe\"]}", MP_ERR_BAD_REQUEST, "op: must be a string" },
	{ "{\"op\":{}}", MP_ERR_BAD_REQUEST, "op: must be a string" },
	{ "{\"op\":\"nope\"}", MP_ERR_UNKNOWN_OP, "op: unknown operation \"nope\"" },
	{ "{\"op\":\"PROBE\"}", MP_ERR_UNKNOWN_OP, "op: unknown operation \"PROBE\"" },
	{ "{\"op\":\"send-probe\"}", MP_ERR_UNKNOWN_OP, "op: unknown operation \"send-probe\"" },
	{ "{\"op\":\"\"}", MP_ERR_UNKNOWN_OP, "op: unknown operation" },
	{ "{\"op\":\"probe \"}", MP_ERR_UNKNOWN_OP, "op: unknown operation" },
	{ "{\"op\":\"\\\"x\"}", MP_ERR_UNKNOWN_OP, "op: unknown operation" },
	{ "{\"op\":\"abcdefghijabcdefghijabcdefghijabc\"}", MP_ERR_UNKNOWN_OP,
	  "op: unknown operation" },
	/* unknown op wins over unknown fields and bad values */
	{ "{\"colour\":1,\"op\":\"nope\",\"ttl\":-1}", MP_ERR_UNKNOWN_OP,
	  "op: unknown operation \"nope\"" },
	/* id of the wrong type: checked before op */
	{ "{\"op\":\"version\",\"id\":true}", MP_ERR_BAD_REQUEST,
	  "id: must be a string, an integer or null" },
	{ "{\"op\":\"version\",\"id\":false}", MP_ERR_BAD_REQUEST,
	  "id: must be a string, an integer or null" },
	{ "{\"op\":\"version\",\"id\":1.5}", MP_ERR_BAD_REQUEST,
	  "id: must be a string, an integer or null" },
	{ "{\"op\":\"version\",\"id\":4.0}", MP_ERR_BAD_REQUEST,
	  "id: must be a string, an integer or null" },
	{ "{\"op\":\"version\",\"id\":[1]}", MP_ERR_BAD_REQUEST,
	  "id: must be a string, an integer or null" },
	{ "{\"op\":\"version\",\"id\":{}}", MP_ERR_BAD_REQUEST,
	  "id: must be a string, an integer or null" },
	{ "{\"id\":true,\"op\":\"nope\"}", MP_ERR_BAD_REQUEST,
	  "id: must be a string, an integer or null" },
	{ "{\"id\":true}", MP_ERR_BAD_REQUEST, "id: must be a string, an integer or null" },
	/* not an object */
	{ "[]", MP_ERR_BAD_REQUEST, "request: must be a JSON object" },
	{ "[{\"op\":\"version\"}]", MP_ERR_BAD_REQUEST, "request: must be a JSON object" },
	{ "4", MP_ERR_BAD_REQUEST, "request: must be a JSON object" },
	{ "\"version\"", MP_ERR_BAD_REQUEST, "request: must be a JSON object" },
	{ "null", MP_ERR_BAD_REQUEST, "request: must be a JSON object" },
	{ "true", MP_ERR_BAD_REQUEST, "request: must be a JSON object" },
	/* empty */
	{ "", MP_ERR_BAD_REQUEST, "request: empty line" },
	{ "\r", MP_ERR_BAD_REQUEST, "request: empty line" },
};

/* Each invalid request gives its exact code and message. */
START_TEST(test_bad_cases)
{
	const struct bad_case *c = &bad_cases[_i];

	expect_error(c->line, c->code, c->msg);
}
END_TEST

/* Lines that are not JSON, and the bytes each one is made of. */
struct syntax_case {
	const char *line;
	size_t len;
};

#define SYN(s) { s, sizeof(s) - 1 }

static const struct syntax_case syntax_cases[] = {
	SYN("   "),
	SYN("{"),
	SYN("}"),
	SYN("{\"op\":\"version\""),
	SYN("{\"op\":\"version\",}"),
	SYN("{'op':'version'}"),
	SYN("{op:\"version\"}"),
	SYN("{\"op\":\"version\"} x"),
	SYN("{\"op\":\"version\"}{\"op\":\"version\"}"),
	SYN("{\"op\":\"version\"}\n{\"op\":\"version\"}"),
	SYN("{\"op\":\"version\" /* c */}"),
	SYN("{\"op\":\"probe\",\"host\":\"h\",\"ttl\":NaN}"),
	SYN("{\"op\":\"probe\",\"host\":\"h\",\"timeout\":Infinity}"),
	SYN("{\"op\":\"probe\",\"host\":\"h\",\"timeout\":1e400}"),
	SYN("{\"op\":\"probe\",\"host\":\"h\",\"ttl\":01}"),
	SYN("{\"op\":\"probe\",\"host\":\"h\",\"ttl\":+1}"),
	SYN("{\"op\":\"version\",\"id\":9223372036854775808}"),
	SYN("{\"op\":\"version\",\"id\":-9223372036854775809}"),
	/* duplicate keys, whichever they are */
	SYN("{\"op\":\"version\",\"op\":\"version\"}"),
	SYN("{\"op\":\"version\",\"id\":1,\"id\":1}"),
	SYN("{\"op\":\"probe\",\"host\":\"h\",\"ttl\":1,\"ttl\":2}"),
	SYN("{\"op\":\"probe\",\"host\":\"h\",\"colour\":1,\"colour\":1}"),
	/* invalid UTF-8 and NUL */
	SYN("{\"op\":\"\xff\"}"),
	SYN("{\"op\":\"version\",\"id\":\"\xc0\xaf\"}"),
	SYN("{\"op\":\"version\",\"id\":\"\xed\xa0\x80\"}"),
	SYN("{\"op\":\"version\",\"id\":\"\xe2\x82\"}"),
	SYN("{\"op\":\"version\",\"id\":\"\\ud800\"}"),
	SYN("{\"op\":\"version\",\"id\":\"\\udc00x\"}"),
	SYN("{\"op\":\"version\",\"id\":\"a\\u0000b\"}"),
	SYN("{\"op\":\"probe\",\"host\":\"a\\u0000b\"}"),
	SYN("{\"op\":\"version\",\"a\\u0000b\":1}"),
	SYN("{\"op\":\"version\"}\0"),
	SYN("{\"op\":\"ver\0sion\"}"),
	SYN("\0{\"op\":\"version\"}"),
	SYN("{\"op\":\"version\",\"id\":\"a\tb\"}"),
	SYN("{\"op\":\"version\"}\r\r\r\x01"),
};

/* Each non-JSON line is a bad-request with a null id and a "request: " message. */
START_TEST(test_syntax_cases)
{
	const struct syntax_case *c = &syntax_cases[_i];

	expect_error_prefix(c->line, c->len, MP_ERR_BAD_REQUEST, "request: invalid JSON");
}
END_TEST

/* ---- valid requests ------------------------------------------------------- */

/* The defaults of a probe. */
START_TEST(test_probe_defaults)
{
	struct mp_request req;

	expect_ok("{\"op\":\"probe\",\"host\":\"example.com\"}", &req);
	ck_assert_int_eq(req.op, MP_OP_PROBE);
	ck_assert_int_eq(req.id.kind, MP_ID_NULL);
	ck_assert_str_eq(req.probe.host, "example.com");
	ck_assert_int_eq(req.probe.ip_version, 0);
	ck_assert_int_eq(req.probe.ttl, 255);
	ck_assert_int_eq(req.probe.protocol, MP_PROTO_ICMP);
	ck_assert_int_eq(req.probe.port, 0);
	ck_assert_str_eq(req.probe.local_ip, "");
	ck_assert_int_eq(req.probe.local_port, 0);
	ck_assert_double_eq(req.probe.timeout, 10.0);
	ck_assert_int_eq(req.probe.size, -1);
	ck_assert_int_eq(req.probe.bit_pattern, 0);
	ck_assert_int_eq(req.probe.tos, 0);
	ck_assert_int_eq(req.probe.mark, -1);
	mp_request_clear(&req);
}
END_TEST

/* The defaults of a trace. */
START_TEST(test_trace_defaults)
{
	struct mp_request req;

	expect_ok("{\"op\":\"trace\",\"host\":\"192.0.2.1\"}", &req);
	ck_assert_int_eq(req.op, MP_OP_TRACE);
	ck_assert_str_eq(req.probe.host, "192.0.2.1");
	ck_assert_double_eq(req.probe.timeout, 2.0);
	ck_assert_int_eq(req.probe.protocol, MP_PROTO_ICMP);
	ck_assert_int_eq(req.probe.size, -1);
	ck_assert_int_eq(req.probe.mark, -1);
	ck_assert_int_eq(req.trace.first_ttl, 1);
	ck_assert_int_eq(req.trace.max_ttl, 30);
	ck_assert_int_eq(req.trace.count, 1);
	ck_assert_double_eq(req.trace.interval, 1.0);
	ck_assert(!req.trace.stream);
	mp_request_clear(&req);
}
END_TEST

/* Every field of a probe, all given at once. */
START_TEST(test_probe_all_fields)
{
	struct mp_request req;

	expect_ok("{\"id\":\"p1\",\"op\":\"probe\",\"host\":\"2001:db8::1\",\"ip_version\":6,"
		  "\"ttl\":17,\"protocol\":\"udp\",\"port\":53,\"local_ip\":\"2001:db8::2\","
		  "\"local_port\":40000,\"timeout\":0.25,\"size\":128,\"bit_pattern\":170,"
		  "\"tos\":16,\"mark\":4294967295}",
		  &req);
	ck_assert_int_eq(req.op, MP_OP_PROBE);
	ck_assert_int_eq(req.id.kind, MP_ID_STRING);
	ck_assert_str_eq(req.id.str, "p1");
	ck_assert_str_eq(req.probe.host, "2001:db8::1");
	ck_assert_int_eq(req.probe.ip_version, 6);
	ck_assert_int_eq(req.probe.ttl, 17);
	ck_assert_int_eq(req.probe.protocol, MP_PROTO_UDP);
	ck_assert_int_eq(req.probe.port, 53);
	ck_assert_str_eq(req.probe.local_ip, "2001:db8::2");
	ck_assert_int_eq(req.probe.local_port, 40000);
	ck_assert_double_eq(req.probe.timeout, 0.25);
	ck_assert_int_eq(req.probe.size, 128);
	ck_assert_int_eq(req.probe.bit_pattern, 170);
	ck_assert_int_eq(req.probe.tos, 16);
	ck_assert_int_eq(req.probe.mark, 4294967295LL);
	mp_request_clear(&req);
}
END_TEST

/* Every field of a trace, all given at once. */
START_TEST(test_trace_all_fields)
{
	struct mp_request req;

	expect_ok("{\"op\":\"trace\",\"id\":3,\"host\":\"h.example\",\"ip_version\":4,"
		  "\"protocol\":\"tcp\",\"port\":443,\"local_ip\":\"198.51.100.2\","
		  "\"local_port\":1024,\"timeout\":5,\"size\":0,\"bit_pattern\":255,\"tos\":255,"
		  "\"mark\":0,\"first_ttl\":2,\"max_ttl\":9,\"count\":10,\"interval\":0.5,"
		  "\"stream\":true}",
		  &req);
	ck_assert_int_eq(req.op, MP_OP_TRACE);
	ck_assert_int_eq(req.id.kind, MP_ID_INT);
	ck_assert_int_eq(req.id.num, 3);
	ck_assert_str_eq(req.probe.host, "h.example");
	ck_assert_int_eq(req.probe.ip_version, 4);
	ck_assert_int_eq(req.probe.protocol, MP_PROTO_TCP);
	ck_assert_int_eq(req.probe.port, 443);
	ck_assert_str_eq(req.probe.local_ip, "198.51.100.2");
	ck_assert_int_eq(req.probe.local_port, 1024);
	ck_assert_double_eq(req.probe.timeout, 5.0);
	ck_assert_int_eq(req.probe.size, 0);
	ck_assert_int_eq(req.probe.bit_pattern, 255);
	ck_assert_int_eq(req.probe.tos, 255);
	ck_assert_int_eq(req.probe.mark, 0);
	ck_assert_int_eq(req.trace.first_ttl, 2);
	ck_assert_int_eq(req.trace.max_ttl, 9);
	ck_assert_int_eq(req.trace.count, 10);
	ck_assert_double_eq(req.trace.interval, 0.5);
	ck_assert(req.trace.stream);
	mp_request_clear(&req);
}
END_TEST

/* A valid line and one member's expected value. */
struct good_case {
	const char *line;
	enum member member;
	double value;
};

static const struct good_case good_cases[] = {
	{ "{\"op\":\"probe\",\"host\":\"h\",\"ip_version\":4}", M_IP_VERSION, 4 },
	{ "{\"op\":\"probe\",\"host\":\"h\",\"ip_version\":6}", M_IP_VERSION, 6 },
	{ "{\"op\":\"trace\",\"host\":\"h\",\"ip_version\":6}", M_IP_VERSION, 6 },
	{ "{\"op\":\"probe\",\"host\":\"h\",\"timeout\":3600}", M_TIMEOUT, 3600 },
	{ "{\"op\":\"probe\",\"host\":\"h\",\"timeout\":3600.0}", M_TIMEOUT, 3600 },
	{ "{\"op\":\"probe\",\"host\":\"h\",\"timeout\":1}", M_TIMEOUT, 1 },
	{ "{\"op\":\"probe\",\"host\":\"h\",\"timeout\":0.001}", M_TIMEOUT, 0.001 },
	{ "{\"op\":\"probe\",\"host\":\"h\",\"timeout\":1e-9}", M_TIMEOUT, 1e-9 },
	{ "{\"op\":\"probe\",\"host\":\"h\",\"timeout\":3599.999}", M_TIMEOUT, 3599.999 },
	{ "{\"op\":\"trace\",\"host\":\"h\",\"timeout\":0.5}", M_TIMEOUT, 0.5 },
	{ "{\"op\":\"trace\",\"host\":\"h\",\"timeout\":3600}", M_TIMEOUT, 3600 },
	{ "{\"op\":\"trace\",\"host\":\"h\",\"interval\":0}", M_INTERVAL, 0 },
	{ "{\"op\":\"trace\",\"host\":\"h\",\"interval\":0.0}", M_INTERVAL, 0 },
	{ "{\"op\":\"trace\",\"host\":\"h\",\"interval\":-0.0}", M_INTERVAL, 0 },
	{ "{\"op\":\"trace\",\"host\":\"h\",\"interval\":3600}", M_INTERVAL, 3600 },
	{ "{\"op\":\"trace\",\"host\":\"h\",\"interval\":0.25}", M_INTERVAL, 0.25 },
	{ "{\"op\":\"trace\",\"host\":\"h\",\"first_ttl\":30}", M_FIRST_TTL, 30 },
	{ "{\"op\":\"trace\",\"host\":\"h\",\"first_ttl\":30}", M_MAX_TTL, 30 },
	{ "{\"op\":\"trace\",\"host\":\"h\",\"first_ttl\":10,\"max_ttl\":10}", M_MAX_TTL, 10 },
	{ "{\"op\":\"trace\",\"host\":\"h\",\"max_ttl\":255,\"first_ttl\":255}", M_FIRST_TTL,
	  255 },
	{ "{\"op\":\"probe\",\"host\":\"h\",\"protocol\":\"sctp\",\"port\":9}", M_PORT, 9 },
	/* "null" for id is allowed and is not a field */
	{ "{\"op\":\"probe\",\"host\":\"h\",\"id\":null,\"ttl\":0}", M_TTL, 0 },
	/* trailing "\r" of a "\r\n" line */
	{ "{\"op\":\"probe\",\"host\":\"h\",\"ttl\":9}\r", M_TTL, 9 },
	/* JSON whitespace anywhere */
	{ " \t{ \"op\" : \"probe\" , \"host\" : \"h\" , \"ttl\" : 8 } \t", M_TTL, 8 },
	/* escaped characters in names and values are the same characters */
	{ "{\"o\\u0070\":\"pr\\u006fbe\",\"host\":\"h\",\"tt\\u006c\":7}", M_TTL, 7 },
};

/* Each valid line decodes, and the member it sets has the expected value. */
START_TEST(test_good_cases)
{
	const struct good_case *c = &good_cases[_i];
	struct mp_request req;

	expect_ok(c->line, &req);
	ck_assert_msg(member_value(&req, c->member) == c->value, "%s: got %g, want %g", c->line,
		      member_value(&req, c->member), c->value);
	mp_request_clear(&req);
}
END_TEST

/* Hosts and local addresses that are accepted, stored byte for byte. */
START_TEST(test_good_hosts)
{
	static const char *const hosts[] = {
		"a", "127.0.0.1", "::1", "2001:db8::1", "::ffff:192.0.2.1", "my_host-1.Example.COM",
		"localhost.", "192.0.2.300", "-", "xn--bcher-kva.example",
	};
	char host253[MP_HOST_MAX + 1], line[1024];
	struct mp_request req;

	for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
		snprintf(line, sizeof(line),
			 "{\"op\":\"probe\",\"host\":\"%s\",\"local_ip\":\"%s\"}", hosts[i],
			 hosts[i]);
		expect_ok(line, &req);
		ck_assert_str_eq(req.probe.host, hosts[i]);
		ck_assert_str_eq(req.probe.local_ip, hosts[i]);
		mp_request_clear(&req);
	}

	memset(host253, 'a', MP_HOST_MAX);
	host253[MP_HOST_MAX] = '\0';
	snprintf(line, sizeof(line), "{\"op\":\"trace\",\"host\":\"%s\",\"local_ip\":\"%s\"}",
		 host253, host253);
	expect_ok(line, &req);
	ck_assert_uint_eq(strlen(req.probe.host), 253);
	ck_assert_str_eq(req.probe.host, host253);
	ck_assert_str_eq(req.probe.local_ip, host253);
	mp_request_clear(&req);
}
END_TEST

/* A 254-byte host or local_ip is rejected. */
START_TEST(test_long_hosts)
{
	char host254[MP_HOST_MAX + 2], line[512];

	memset(host254, 'a', MP_HOST_MAX + 1);
	host254[MP_HOST_MAX + 1] = '\0';
	snprintf(line, sizeof(line), "{\"op\":\"probe\",\"host\":\"%s\"}", host254);
	expect_error(line, MP_ERR_INVALID_ARGUMENT, "host: must be 1 to 253 bytes long");
	snprintf(line, sizeof(line), "{\"op\":\"trace\",\"host\":\"h\",\"local_ip\":\"%s\"}",
		 host254);
	expect_error(line, MP_ERR_INVALID_ARGUMENT, "local_ip: must be 1 to 253 bytes long");
}
END_TEST

/* The four protocols. */
START_TEST(test_protocols)
{
	static const struct {
		const char *name;
		enum mp_protocol proto;
	} protos[] = {
		{ "icmp", MP_PROTO_ICMP },
		{ "udp", MP_PROTO_UDP },
		{ "tcp", MP_PROTO_TCP },
		{ "sctp", MP_PROTO_SCTP },
	};
	char line[128];
	struct mp_request req;

	for (size_t i = 0; i < 4; i++) {
		snprintf(line, sizeof(line), "{\"op\":\"probe\",\"host\":\"h\",\"protocol\":\"%s\"}",
			 protos[i].name);
		expect_ok(line, &req);
		ck_assert_int_eq(req.probe.protocol, protos[i].proto);
		mp_request_clear(&req);
		snprintf(line, sizeof(line), "{\"op\":\"trace\",\"host\":\"h\",\"protocol\":\"%s\"}",
			 protos[i].name);
		expect_ok(line, &req);
		ck_assert_int_eq(req.probe.protocol, protos[i].proto);
		mp_request_clear(&req);
	}
}
END_TEST

/* The stream flag. */
START_TEST(test_stream)
{
	struct mp_request req;

	expect_ok("{\"op\":\"trace\",\"host\":\"h\",\"stream\":true}", &req);
	ck_assert(req.trace.stream);
	mp_request_clear(&req);
	expect_ok("{\"op\":\"trace\",\"host\":\"h\",\"stream\":false}", &req);
	ck_assert(!req.trace.stream);
	mp_request_clear(&req);
}
END_TEST

/* check_support features at their bounds. */
START_TEST(test_features)
{
	static const char *const features[] = {
		"udp", "a", "0", "-", "ip-4", "send-probe", "abcdefghijabcdefghijabcdefghijab",
	};
	char line[128];
	struct mp_request req;

	for (size_t i = 0; i < sizeof(features) / sizeof(features[0]); i++) {
		snprintf(line, sizeof(line), "{\"op\":\"check_support\",\"feature\":\"%s\"}",
			 features[i]);
		expect_ok(line, &req);
		ck_assert_int_eq(req.op, MP_OP_CHECK_SUPPORT);
		ck_assert_str_eq(req.feature, features[i]);
		mp_request_clear(&req);
	}
}
END_TEST

/* The operations without fields. */
START_TEST(test_plain_ops)
{
	struct mp_request req;

	expect_ok("{\"op\":\"version\"}", &req);
	ck_assert_int_eq(req.op, MP_OP_VERSION);
	mp_request_clear(&req);
	expect_ok("{\"op\":\"stats\",\"id\":1}", &req);
	ck_assert_int_eq(req.op, MP_OP_STATS);
	mp_request_clear(&req);
	expect_ok("{\"id\":null,\"op\":\"clear_dns_cache\"}", &req);
	ck_assert_int_eq(req.op, MP_OP_CLEAR_DNS_CACHE);
	mp_request_clear(&req);
	expect_ok("{\"op\":\"version\"}\r", &req);
	ck_assert_int_eq(req.op, MP_OP_VERSION);
	mp_request_clear(&req);
}
END_TEST

/* The decoder takes a length: bytes after it are not read. */
START_TEST(test_length_bounded)
{
	static const char buf[] = "{\"op\":\"version\"}GARBAGE";
	struct mp_request req;
	char errmsg[MP_ERRMSG_MAX];

	ck_assert_int_eq(decode_n(buf, 16, &req, errmsg), MP_OK);
	ck_assert_int_eq(req.op, MP_OP_VERSION);
	mp_request_clear(&req);
	ck_assert_int_eq(decode_n(buf, 15, &req, errmsg), MP_ERR_BAD_REQUEST);
	mp_request_clear(&req);
}
END_TEST

/* An IP literal of the other family than ip_version is the daemon's business. */
START_TEST(test_family_mismatch_not_rejected)
{
	struct mp_request req;

	expect_ok("{\"op\":\"probe\",\"host\":\"::1\",\"ip_version\":4}", &req);
	ck_assert_str_eq(req.probe.host, "::1");
	ck_assert_int_eq(req.probe.ip_version, 4);
	mp_request_clear(&req);
	expect_ok("{\"op\":\"probe\",\"host\":\"127.0.0.1\",\"ip_version\":6,"
		  "\"local_ip\":\"::1\"}",
		  &req);
	ck_assert_int_eq(req.probe.ip_version, 6);
	mp_request_clear(&req);
}
END_TEST

/* A long unknown key is quoted cut to 64 bytes on a UTF-8 boundary. */
START_TEST(test_long_unknown_key)
{
	char key[201], line[512], want[128];
	struct mp_request req;
	char errmsg[MP_ERRMSG_MAX];

	memset(key, 'k', 200);
	key[200] = '\0';
	snprintf(line, sizeof(line), "{\"op\":\"version\",\"%s\":1}", key);
	snprintf(want, sizeof(want), "%.64s: unknown field", key);
	expect_error(line, MP_ERR_INVALID_ARGUMENT, want);

	/* 63 ASCII bytes then a 2-byte character: the character is not cut. */
	memset(key, 'k', 63);
	strcpy(key + 63, "\xc3\xa9tail");
	snprintf(line, sizeof(line), "{\"op\":\"version\",\"%s\":1}", key);
	ck_assert_int_eq(decode(line, &req, errmsg), MP_ERR_INVALID_ARGUMENT);
	snprintf(want, sizeof(want), "%.63s: unknown field", key);
	ck_assert_str_eq(errmsg, want);
	mp_request_clear(&req);
}
END_TEST

/* ---- ids -------------------------------------------------------------- */

/* Decode line, expect code, then encode an error and compare the id's JSON text. */
static void expect_id_echo(const char *line, enum mp_error code, const char *id_json)
{
	struct mp_request req;
	char errmsg[MP_ERRMSG_MAX], want[512];
	size_t len;
	char *out;

	ck_assert_int_eq(decode(line, &req, errmsg), code);
	out = mp_encode_error(&req.id, MP_ERR_PROCESS, "m", &len);
	snprintf(want, sizeof(want),
		 "{\"id\":%s,\"error\":{\"code\":\"process-error\",\"message\":\"m\"}}\n", id_json);
	expect_line(out, &len, want);
	mp_request_clear(&req);
}

/* Ids are read first and echoed whatever the later error. */
START_TEST(test_id_echo_on_errors)
{
	expect_id_echo("{\"op\":\"nope\",\"id\":\"x\"}", MP_ERR_UNKNOWN_OP, "\"x\"");
	expect_id_echo("{\"op\":\"probe\",\"ttl\":-1,\"host\":\"h\",\"id\":7}",
		       MP_ERR_INVALID_ARGUMENT, "7");
	expect_id_echo("{\"id\":5}", MP_ERR_BAD_REQUEST, "5");
	expect_id_echo("{\"id\":\"q\",\"op\":5}", MP_ERR_BAD_REQUEST, "\"q\"");
	expect_id_echo("{\"op\":\"probe\",\"id\":9,\"zzz\":1}", MP_ERR_INVALID_ARGUMENT, "9");
	expect_id_echo("{\"op\":\"probe\",\"id\":-3}", MP_ERR_INVALID_ARGUMENT, "-3");
	expect_id_echo("{\"id\":true,\"op\":\"nope\"}", MP_ERR_BAD_REQUEST, "null");
	expect_id_echo("{\"id\":1.0,\"op\":\"version\"}", MP_ERR_BAD_REQUEST, "null");
	expect_id_echo("{\"op\":\"version\",\"id\":1,\"id\":2}", MP_ERR_BAD_REQUEST, "null");
	expect_id_echo("[1]", MP_ERR_BAD_REQUEST, "null");
	expect_id_echo("{\"op\":\"version\",\"id\":\"x\",}", MP_ERR_BAD_REQUEST, "null");
}
END_TEST

/* Ids of every kind round-trip exactly. */
START_TEST(test_id_kinds)
{
	struct mp_request req;

	expect_ok("{\"op\":\"version\",\"id\":9223372036854775807}", &req);
	ck_assert_int_eq(req.id.kind, MP_ID_INT);
	ck_assert(req.id.num == INT64_MAX);
	mp_request_clear(&req);
	expect_id_echo("{\"op\":\"version\",\"id\":9223372036854775807}", MP_OK,
		       "9223372036854775807");
	expect_id_echo("{\"op\":\"version\",\"id\":-9223372036854775808}", MP_OK,
		       "-9223372036854775808");
	expect_id_echo("{\"op\":\"version\",\"id\":0}", MP_OK, "0");
	expect_id_echo("{\"op\":\"version\",\"id\":-0}", MP_OK, "0");
	expect_id_echo("{\"op\":\"version\",\"id\":null}", MP_OK, "null");
	expect_id_echo("{\"op\":\"version\"}", MP_OK, "null");
	expect_id_echo("{\"op\":\"version\",\"id\":\"\"}", MP_OK, "\"\"");

	expect_ok("{\"op\":\"version\",\"id\":null}", &req);
	ck_assert_int_eq(req.id.kind, MP_ID_NULL);
	ck_assert_ptr_null(req.id.str);
	mp_request_clear(&req);

	expect_ok("{\"op\":\"version\",\"id\":\"\"}", &req);
	ck_assert_int_eq(req.id.kind, MP_ID_STRING);
	ck_assert_uint_eq(req.id.str_len, 0);
	ck_assert_str_eq(req.id.str, "");
	mp_request_clear(&req);
}
END_TEST

/* A string id with escapes and non-ASCII characters is kept byte for byte. */
START_TEST(test_id_string_escapes)
{
	/* a " b \ c newline d e-acute U+1F600 U+0001 / tab */
	static const char want_bytes[] = "a\"b\\c\nd\xc3\xa9\xf0\x9f\x98\x80\x01/\t";
	struct mp_request req;

	expect_ok("{\"op\":\"version\",\"id\":\"a\\\"b\\\\c\\nd\\u00e9\\ud83d\\ude00\\u0001\\/\\t\"}",
		  &req);
	ck_assert_int_eq(req.id.kind, MP_ID_STRING);
	ck_assert_uint_eq(req.id.str_len, sizeof(want_bytes) - 1);
	ck_assert_mem_eq(req.id.str, want_bytes, sizeof(want_bytes));
	mp_request_clear(&req);

	/* Raw UTF-8 and escaped forms give the same bytes, echoed as UTF-8. */
	expect_id_echo("{\"op\":\"version\",\"id\":\"\\u00e9\\ud83d\\ude00\"}", MP_OK,
		       "\"\xc3\xa9\xf0\x9f\x98\x80\"");
	expect_id_echo("{\"op\":\"version\",\"id\":\"\xc3\xa9\xf0\x9f\x98\x80\"}", MP_OK,
		       "\"\xc3\xa9\xf0\x9f\x98\x80\"");
	expect_id_echo("{\"op\":\"version\",\"id\":\"a\\\"b\\\\c\\nd\\u0001/\\t\"}", MP_OK,
		       "\"a\\\"b\\\\c\\nd\\u0001/\\t\"");
	expect_id_echo("{\"op\":\"nope\",\"id\":\"\\u2028\"}", MP_ERR_UNKNOWN_OP,
		       "\"\xe2\x80\xa8\"");
}
END_TEST

/* A long string id is echoed whole. */
START_TEST(test_id_long_string)
{
	char *line = malloc(70000), *want = malloc(70100), *out;
	struct mp_request req;
	char errmsg[MP_ERRMSG_MAX];
	size_t len, prefix;

	ck_assert_ptr_nonnull(line);
	ck_assert_ptr_nonnull(want);
	strcpy(line, "{\"op\":\"version\",\"id\":\"");
	prefix = strlen(line);
	memset(line + prefix, 'i', 60000);
	strcpy(line + prefix + 60000, "\"}");
	ck_assert_int_eq(decode(line, &req, errmsg), MP_OK);
	ck_assert_uint_eq(req.id.str_len, 60000);
	out = mp_encode_cleared(&req.id, 1, &len);
	strcpy(want, "{\"id\":\"");
	memset(want + 7, 'i', 60000);
	strcpy(want + 7 + 60000, "\",\"cleared\":1}\n");
	expect_line(out, &len, want);
	mp_request_clear(&req);
	free(line);
	free(want);
}
END_TEST

/* mp_id_to_json gives each kind its JSON type. */
START_TEST(test_id_to_json)
{
	struct mp_id id = { 0 };
	json_t *v;

	v = mp_id_to_json(&id);
	ck_assert(json_is_null(v));
	json_decref(v);
	v = mp_id_to_json(NULL);
	ck_assert(json_is_null(v));
	json_decref(v);

	id.kind = MP_ID_INT;
	id.num = -42;
	v = mp_id_to_json(&id);
	ck_assert(json_is_integer(v));
	ck_assert_int_eq(json_integer_value(v), -42);
	json_decref(v);

	id.kind = MP_ID_STRING;
	id.str = (char *)"ab";
	id.str_len = 2;
	v = mp_id_to_json(&id);
	ck_assert(json_is_string(v));
	ck_assert_str_eq(json_string_value(v), "ab");
	json_decref(v);
}
END_TEST

/* ---- encoders ------------------------------------------------------------- */

/* The exact error response, for every error code. */
START_TEST(test_encode_error_codes)
{
	static const char *const names[MP_ERR__COUNT] = {
		[MP_ERR_BAD_REQUEST] = "bad-request",
		[MP_ERR_UNKNOWN_OP] = "unknown-op",
		[MP_ERR_INVALID_ARGUMENT] = "invalid-argument",
		[MP_ERR_REQUEST_TOO_LARGE] = "request-too-large",
		[MP_ERR_HOST_RESOLVE] = "host-resolve-error",
		[MP_ERR_PROCESS] = "process-error",
		[MP_ERR_OVERLOADED] = "overloaded",
		[MP_ERR_PERMISSION_DENIED] = "permission-denied",
		[MP_ERR_SHUTTING_DOWN] = "shutting-down",
	};
	struct mp_id id = { .kind = MP_ID_INT, .num = 7 };
	char want[256];
	size_t len;

	for (int e = MP_ERR_BAD_REQUEST; e < MP_ERR__COUNT; e++) {
		snprintf(want, sizeof(want),
			 "{\"id\":7,\"error\":{\"code\":\"%s\",\"message\":\"x: y\"}}\n", names[e]);
		expect_line(mp_encode_error(&id, (enum mp_error)e, "x: y", &len), &len, want);
	}
}
END_TEST

/* request-too-large, as the connection layer sends it: id null. */
START_TEST(test_encode_request_too_large)
{
	struct mp_id id = { 0 };
	size_t len;

	expect_line(mp_encode_error(&id, MP_ERR_REQUEST_TOO_LARGE,
				    "request: longer than 65536 bytes", &len),
		    &len,
		    "{\"id\":null,\"error\":{\"code\":\"request-too-large\","
		    "\"message\":\"request: longer than 65536 bytes\"}}\n");
	expect_line(mp_encode_error(NULL, MP_ERR_REQUEST_TOO_LARGE, "too large", &len), &len,
		    "{\"id\":null,\"error\":{\"code\":\"request-too-large\","
		    "\"message\":\"too large\"}}\n");
}
END_TEST

/* monitor_add: the definition read by the definition parser; monitor ops' fields. */
START_TEST(test_decode_monitor_ops)
{
	struct mp_request req;
	char errmsg[MP_ERRMSG_MAX];

	ck_assert_int_eq(decode("{\"op\":\"monitor_add\",\"id\":1,\"monitor\":{\"name\":\"lo\","
				"\"target\":\"127.0.0.1\",\"count\":3,\"interval\":0.25,"
				"\"ip_version\":4,\"labels\":{\"team\":\"net\"}}}",
				&req, errmsg),
			 MP_OK);
	ck_assert_int_eq(req.op, MP_OP_MONITOR_ADD);
	ck_assert_ptr_nonnull(req.monitor);
	ck_assert_str_eq(req.monitor->name, "lo");
	ck_assert_str_eq(req.monitor->target, "127.0.0.1");
	ck_assert_int_eq(req.monitor->count, 3);
	ck_assert_double_eq(req.monitor->interval, 0.25);
	ck_assert_int_eq(req.monitor->family, MONDEF_FAMILY_4);
	ck_assert_int_eq(req.monitor->period, 60);
	ck_assert_int_eq(req.monitor->n_labels, 1);
	ck_assert_str_eq(req.monitor->labels[0].name, "team");
	ck_assert_str_eq(req.monitor->labels[0].value, "net");
	mp_request_clear(&req);
	ck_assert_ptr_null(req.monitor);

	ck_assert_int_eq(decode("{\"op\":\"monitor_show\",\"name\":\"web-1\"}", &req, errmsg), MP_OK);
	ck_assert_int_eq(req.op, MP_OP_MONITOR_SHOW);
	ck_assert_str_eq(req.monitor_name, "web-1");
	mp_request_clear(&req);
	ck_assert_int_eq(decode("{\"op\":\"monitor_list\"}", &req, errmsg), MP_OK);
	ck_assert_int_eq(req.op, MP_OP_MONITOR_LIST);
	mp_request_clear(&req);

	expect_error("{\"op\":\"monitor_add\"}", MP_ERR_INVALID_ARGUMENT, "monitor: required");
	expect_error("{\"op\":\"monitor_add\",\"monitor\":[1]}", MP_ERR_INVALID_ARGUMENT,
		     "monitor: must be an object");
	expect_error("{\"op\":\"monitor_add\",\"monitor\":{\"target\":\"127.0.0.1\"}}",
		     MP_ERR_INVALID_ARGUMENT, "monitor.name: required");
	expect_error("{\"op\":\"monitor_add\",\"monitor\":{\"name\":\"a\",\"target\":\"127.0.0.1\","
		     "\"count\":\"3\"}}",
		     MP_ERR_INVALID_ARGUMENT, "monitor.count: must be an integer");
	expect_error("{\"op\":\"monitor_add\",\"monitor\":{\"name\":\"a\",\"target\":\"127.0.0.1\","
		     "\"period\":0.5}}",
		     MP_ERR_INVALID_ARGUMENT, "monitor.period: must be a number from 1 to 86400");
	expect_error("{\"op\":\"monitor_add\",\"monitor\":{\"name\":\"a\",\"target\":\"x#y\"}}",
		     MP_ERR_INVALID_ARGUMENT,
		     "monitor.target: control character, '#' or blank at an end in value");
	expect_error("{\"op\":\"monitor_add\",\"monitor\":{\"name\":\"a\",\"target\":\"127.0.0.1\","
		     "\"labels\":{\"le\":\"1\"}}}",
		     MP_ERR_INVALID_ARGUMENT, "monitor.label.le: reserved label name");
	expect_error("{\"op\":\"monitor_add\",\"monitor\":{\"name\":\"-a\",\"target\":\"127.0.0.1\"}}",
		     MP_ERR_INVALID_ARGUMENT, "monitor: invalid monitor name '-a'");
	expect_error("{\"op\":\"monitor_add\",\"monitor\":{\"name\":\"a\"},\"x\":1}",
		     MP_ERR_INVALID_ARGUMENT, "x: unknown field");
	expect_error("{\"op\":\"monitor_remove\"}", MP_ERR_INVALID_ARGUMENT, "name: required");
	expect_error("{\"op\":\"monitor_show\",\"name\":7}", MP_ERR_INVALID_ARGUMENT,
		     "name: must be a monitor's name");
	expect_error("{\"op\":\"monitor_list\",\"name\":\"a\"}", MP_ERR_INVALID_ARGUMENT,
		     "name: unknown field");
}
END_TEST

/* The example of PROTOCOL.md, byte for byte, and awkward messages. */
START_TEST(test_encode_error_messages)
{
	struct mp_id id = { .kind = MP_ID_STRING, .str = (char *)"r\"1", .str_len = 3 };
	struct mp_id num = { .kind = MP_ID_INT, .num = 7 };
	size_t len;

	expect_line(mp_encode_error(&num, MP_ERR_INVALID_ARGUMENT,
				    "ttl: must be an integer from 0 to 255", &len),
		    &len,
		    "{\"id\":7,\"error\":{\"code\":\"invalid-argument\","
		    "\"message\":\"ttl: must be an integer from 0 to 255\"}}\n");
	expect_line(mp_encode_error(&id, MP_ERR_BAD_REQUEST, "a \"q\" \\ \n", &len), &len,
		    "{\"id\":\"r\\\"1\",\"error\":{\"code\":\"bad-request\","
		    "\"message\":\"a \\\"q\\\" \\\\ \\n\"}}\n");
	/* No message: the code stands in. */
	expect_line(mp_encode_error(&num, MP_ERR_OVERLOADED, NULL, &len), &len,
		    "{\"id\":7,\"error\":{\"code\":\"overloaded\",\"message\":\"overloaded\"}}\n");
	/* Invalid UTF-8 in a message never makes the response fail. */
	expect_line(mp_encode_error(&num, MP_ERR_PROCESS, "bad \xff\xfe byte", &len), &len,
		    "{\"id\":7,\"error\":{\"code\":\"process-error\","
		    "\"message\":\"bad ?? byte\"}}\n");
	/* ret_len may be NULL. */
	{
		char *out = mp_encode_error(&num, MP_ERR_PROCESS, "m", NULL);

		ck_assert_str_eq(out, "{\"id\":7,\"error\":{\"code\":\"process-error\","
				      "\"message\":\"m\"}}\n");
		free(out);
	}
}
END_TEST

/* A decoder message always fits an error response unchanged. */
START_TEST(test_decode_then_encode_error)
{
	struct mp_request req;
	char errmsg[MP_ERRMSG_MAX];
	size_t len;
	enum mp_error r;

	r = decode("{\"op\":\"probe\",\"id\":\"c-1\",\"host\":\"h\",\"ttl\":256}", &req, errmsg);
	expect_line(mp_encode_error(&req.id, r, errmsg, &len), &len,
		    "{\"id\":\"c-1\",\"error\":{\"code\":\"invalid-argument\","
		    "\"message\":\"ttl: must be an integer from 0 to 255\"}}\n");
	mp_request_clear(&req);

	r = decode("{\"op\":\"version\",\"id\":\"\xff\"}", &req, errmsg);
	ck_assert_int_eq(r, MP_ERR_BAD_REQUEST);
	expect_line(mp_encode_error(&req.id, r, "request: invalid JSON", &len), &len,
		    "{\"id\":null,\"error\":{\"code\":\"bad-request\","
		    "\"message\":\"request: invalid JSON\"}}\n");
	{
		char *out = mp_encode_error(&req.id, r, errmsg, &len);

		ck_assert_ptr_nonnull(out);
		ck_assert_uint_eq(len, strlen(out));
		ck_assert_int_eq(out[len - 1], '\n');
		free(out);
	}
	mp_request_clear(&req);
}
END_TEST

/* A probe result: filled with the example of PROTOCOL.md. */
static void reply_result(struct mp_probe_result *res)
{
	memset(res, 0, sizeof(*res));
	strcpy(res->result, "reply");
	res->time_ms = 126 / 1000.0;
	strcpy(res->responder, "127.0.0.1");
	strcpy(res->address, "127.0.0.1");
	res->ip_version = 4;
}

/* The probe response of PROTOCOL.md, byte for byte. */
START_TEST(test_encode_probe_reply)
{
	struct mp_id id = { .kind = MP_ID_INT, .num = 7 };
	struct mp_probe_result res;
	size_t len;

	reply_result(&res);
	expect_line(mp_encode_probe_result(&id, &res, &len), &len,
		    "{\"id\":7,\"success\":true,\"result\":\"reply\",\"time_ms\":0.126,"
		    "\"responder\":\"127.0.0.1\",\"mpls\":[],\"address\":\"127.0.0.1\","
		    "\"ip_version\":4}\n");
}
END_TEST

/* No answer: null time and responder, success false. */
START_TEST(test_encode_probe_no_reply)
{
	struct mp_id id = { .kind = MP_ID_STRING, .str = (char *)"n", .str_len = 1 };
	struct mp_probe_result res = { 0 };
	size_t len;

	strcpy(res.result, "no-reply");
	res.time_ms = -1;
	strcpy(res.address, "2001:db8::1");
	res.ip_version = 6;
	expect_line(mp_encode_probe_result(&id, &res, &len), &len,
		    "{\"id\":\"n\",\"success\":false,\"result\":\"no-reply\",\"time_ms\":null,"
		    "\"responder\":null,\"mpls\":[],\"address\":\"2001:db8::1\","
		    "\"ip_version\":6}\n");
}
END_TEST

/* ttl-expired with two MPLS labels; success is false for every word but reply. */
START_TEST(test_encode_probe_mpls)
{
	struct mp_probe_result res = { 0 };
	size_t len;

	strcpy(res.result, "ttl-expired");
	res.time_ms = 1.5;
	strcpy(res.responder, "198.51.100.1");
	strcpy(res.address, "198.51.100.10");
	res.ip_version = 4;
	res.mpls[0] = (struct mp_mpls){ 1048575, 7, false, 255 };
	res.mpls[1] = (struct mp_mpls){ 16, 0, true, 1 };
	res.mpls_count = 2;
	expect_line(mp_encode_probe_result(NULL, &res, &len), &len,
		    "{\"id\":null,\"success\":false,\"result\":\"ttl-expired\",\"time_ms\":1.5,"
		    "\"responder\":\"198.51.100.1\",\"mpls\":[{\"label\":1048575,"
		    "\"traffic_class\":7,\"bottom_of_stack\":false,\"ttl\":255},{\"label\":16,"
		    "\"traffic_class\":0,\"bottom_of_stack\":true,\"ttl\":1}],"
		    "\"address\":\"198.51.100.10\",\"ip_version\":4}\n");
}
END_TEST

/* success is true only for "reply", never for words that start with it. */
START_TEST(test_encode_probe_success)
{
	static const struct {
		const char *word;
		bool success;
	} words[] = {
		{ "reply", true },          { "ttl-expired", false },   { "no-reply", false },
		{ "no-route", false },      { "network-down", false },  { "replyx", false },
		{ "unexpected-error", false }, { "invalid-argument", false },
	};
	struct mp_probe_result res;

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		json_t *obj;

		reply_result(&res);
		strcpy(res.result, words[i].word);
		obj = mp_probe_result_to_json(&res);
		ck_assert_ptr_nonnull(obj);
		ck_assert_int_eq(json_is_true(json_object_get(obj, "success")), words[i].success);
		ck_assert_str_eq(json_string_value(json_object_get(obj, "result")), words[i].word);
		ck_assert_ptr_null(json_object_get(obj, "id"));
		ck_assert_uint_eq(json_object_size(obj), 7);
		json_decref(obj);
	}
}
END_TEST

/* time_ms is a float rounded to the microsecond. */
START_TEST(test_encode_probe_time)
{
	static const struct {
		double ms;
		const char *text;
	} times[] = {
		{ 0.126, "0.126" },       { 1.0, "1.0" },         { 0.001, "0.001" },
		{ 0.0, "0.0" },           { 0.033, "0.033" },     { 0.1, "0.1" },
		{ 123.456, "123.456" },   { 12.3456789, "12.346" }, { 3600000.0, "3600000.0" },
		{ 0.0004, "0.0" },        { 10000 / 1000.0, "10.0" }, { 999999 / 1000.0, "999.999" },
	};
	struct mp_probe_result res;
	char want[512];
	size_t len;

	for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
		reply_result(&res);
		res.time_ms = times[i].ms;
		snprintf(want, sizeof(want),
			 "{\"id\":null,\"success\":true,\"result\":\"reply\",\"time_ms\":%s,"
			 "\"responder\":\"127.0.0.1\",\"mpls\":[],\"address\":\"127.0.0.1\","
			 "\"ip_version\":4}\n",
			 times[i].text);
		expect_line(mp_encode_probe_result(NULL, &res, &len), &len, want);
	}
}
END_TEST

/* A result that was never filled in still encodes: nulls, never garbage. */
START_TEST(test_encode_probe_empty)
{
	struct mp_probe_result res = { 0 };
	size_t len;

	res.time_ms = -1;
	res.mpls_count = 99; /* clamped */
	expect_line(mp_encode_probe_result(NULL, &res, &len), &len,
		    "{\"id\":null,\"success\":false,\"result\":\"\",\"time_ms\":null,"
		    "\"responder\":null,\"mpls\":[{\"label\":0,\"traffic_class\":0,"
		    "\"bottom_of_stack\":false,\"ttl\":0},{\"label\":0,\"traffic_class\":0,"
		    "\"bottom_of_stack\":false,\"ttl\":0},{\"label\":0,\"traffic_class\":0,"
		    "\"bottom_of_stack\":false,\"ttl\":0},{\"label\":0,\"traffic_class\":0,"
		    "\"bottom_of_stack\":false,\"ttl\":0},{\"label\":0,\"traffic_class\":0,"
		    "\"bottom_of_stack\":false,\"ttl\":0},{\"label\":0,\"traffic_class\":0,"
		    "\"bottom_of_stack\":false,\"ttl\":0},{\"label\":0,\"traffic_class\":0,"
		    "\"bottom_of_stack\":false,\"ttl\":0},{\"label\":0,\"traffic_class\":0,"
		    "\"bottom_of_stack\":false,\"ttl\":0}],\"address\":null,\"ip_version\":null}\n");
}
END_TEST

/* The version response. */
START_TEST(test_encode_version)
{
	struct mp_id id = { .kind = MP_ID_STRING, .str = (char *)"v", .str_len = 1 };
	size_t len;

	expect_line(mp_encode_version(&id, "0.1.0", "0.95", 2, &len), &len,
		    "{\"id\":\"v\",\"daemon\":\"0.1.0\",\"protocol\":1,\"mtr_packet\":\"0.95\","
		    "\"workers\":2}\n");
	expect_line(mp_encode_version(NULL, "0.1.0", NULL, 0, &len), &len,
		    "{\"id\":null,\"daemon\":\"0.1.0\",\"protocol\":1,\"mtr_packet\":null,"
		    "\"workers\":0}\n");
}
END_TEST

/* The check_support response. */
START_TEST(test_encode_check_support)
{
	struct mp_id id = { .kind = MP_ID_INT, .num = 1 };
	size_t len;

	expect_line(mp_encode_check_support(&id, "udp", true, "ok", &len), &len,
		    "{\"id\":1,\"feature\":\"udp\",\"supported\":true,\"value\":\"ok\"}\n");
	expect_line(mp_encode_check_support(&id, "sctp", false, "no", &len), &len,
		    "{\"id\":1,\"feature\":\"sctp\",\"supported\":false,\"value\":\"no\"}\n");
	expect_line(mp_encode_check_support(&id, "version", true, "0.95", &len), &len,
		    "{\"id\":1,\"feature\":\"version\",\"supported\":true,\"value\":\"0.95\"}\n");
	expect_line(mp_encode_check_support(&id, "x", false, NULL, &len), &len,
		    "{\"id\":1,\"feature\":\"x\",\"supported\":false,\"value\":null}\n");
}
END_TEST

/* The clear_dns_cache response. */
START_TEST(test_encode_cleared)
{
	struct mp_id id = { .kind = MP_ID_INT, .num = -1 };
	size_t len;

	expect_line(mp_encode_cleared(&id, 0, &len), &len, "{\"id\":-1,\"cleared\":0}\n");
	expect_line(mp_encode_cleared(&id, 42, &len), &len, "{\"id\":-1,\"cleared\":42}\n");
	expect_line(mp_encode_cleared(NULL, ULONG_MAX, &len), &len,
		    ULONG_MAX > 9223372036854775807UL
			    ? "{\"id\":null,\"cleared\":9223372036854775807}\n"
			    : "{\"id\":null,\"cleared\":4294967295}\n");
}
END_TEST

/* mp_encode_object puts "id" first and keeps the order of obj's keys. */
START_TEST(test_encode_object)
{
	struct mp_id id = { .kind = MP_ID_INT, .num = 5 };
	json_t *obj;
	size_t len;

	obj = json_object();
	json_object_set_new(obj, "zeta", json_integer(1));
	json_object_set_new(obj, "alpha", json_real(0.5));
	json_object_set_new(obj, "hops", json_pack("[{s:n}]", "last_ms"));
	expect_line(mp_encode_object(&id, obj, &len), &len,
		    "{\"id\":5,\"zeta\":1,\"alpha\":0.5,\"hops\":[{\"last_ms\":null}]}\n");

	/* An "id" already in obj is replaced by the request's, still first. */
	obj = json_pack("{ssss}", "event", "hop", "id", "stale");
	expect_line(mp_encode_object(&id, obj, &len), &len, "{\"id\":5,\"event\":\"hop\"}\n");

	/* An empty object. */
	expect_line(mp_encode_object(NULL, json_object(), &len), &len, "{\"id\":null}\n");

	/* NULL (a failed allocation upstream) and non-objects give NULL, no leak. */
	ck_assert_ptr_null(mp_encode_object(&id, NULL, &len));
	ck_assert_ptr_null(mp_encode_object(&id, json_array(), &len));
}
END_TEST

/* ---- main ---------------------------------------------------------------- */

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* The decoder's test cases. */
static TCase *decode_tcase(void)
{
	TCase *tc = tcase_create("decode");

	tcase_add_loop_test(tc, test_int_field_bounds, 0, N(int_fields));
	tcase_add_loop_test(tc, test_int_field_types, 0, N(int_fields));
	tcase_add_loop_test(tc, test_bad_cases, 0, N(bad_cases));
	tcase_add_loop_test(tc, test_syntax_cases, 0, N(syntax_cases));
	tcase_add_loop_test(tc, test_good_cases, 0, N(good_cases));
	tcase_add_test(tc, test_probe_defaults);
	tcase_add_test(tc, test_trace_defaults);
	tcase_add_test(tc, test_probe_all_fields);
	tcase_add_test(tc, test_trace_all_fields);
	tcase_add_test(tc, test_good_hosts);
	tcase_add_test(tc, test_long_hosts);
	tcase_add_test(tc, test_protocols);
	tcase_add_test(tc, test_stream);
	tcase_add_test(tc, test_features);
	tcase_add_test(tc, test_plain_ops);
	tcase_add_test(tc, test_length_bounded);
	tcase_add_test(tc, test_family_mismatch_not_rejected);
	tcase_add_test(tc, test_long_unknown_key);
	return tc;
}

/* The id test cases. */
static TCase *id_tcase(void)
{
	TCase *tc = tcase_create("id");

	tcase_add_test(tc, test_id_echo_on_errors);
	tcase_add_test(tc, test_id_kinds);
	tcase_add_test(tc, test_id_string_escapes);
	tcase_add_test(tc, test_id_long_string);
	tcase_add_test(tc, test_id_to_json);
	return tc;
}

/* The direct encoder of probe results writes the same bytes as the general one. */
START_TEST(test_encode_probe_fast_equals_general)
{
	static const double times[] = { -1.0, 0.0, 0.0004, 0.0005, 0.126, 1.0, 1.5, 12.3456,
					 999.9999, 100000.25 };
	struct mp_id ids[4] = {
		{ .kind = MP_ID_NULL },
		{ .kind = MP_ID_INT, .num = -42 },
		{ .kind = MP_ID_INT, .num = INT64_MAX },
		{ .kind = MP_ID_STRING, .str = (char *)"q\"\\\u00e9\n", .str_len = 7 },
	};

	for (size_t t = 0; t < sizeof(times) / sizeof(times[0]); t++) {
		for (int k = 0; k < 4; k++) {
			struct mp_probe_result res;
			size_t la = 0, lb = 0;

			memset(&res, 0, sizeof(res));
			snprintf(res.result, sizeof(res.result), "%s", k % 2 ? "reply" : "ttl-expired");
			res.time_ms = times[t];
			if (k != 1)
				snprintf(res.responder, sizeof(res.responder), "%s",
					 k == 2 ? "2001:db8::1" : "198.51.100.1");
			if (k != 3) {
				snprintf(res.address, sizeof(res.address), "%s", "203.0.113.7");
				res.ip_version = 4;
			}
			res.mpls_count = k;
			for (int i = 0; i < k; i++)
				res.mpls[i] = (struct mp_mpls){ .label = 1048575u - (unsigned)i,
								.traffic_class = i,
								.bottom_of_stack = i == k - 1,
								.ttl = 255 - i };
			char *a = mp_encode_probe_result(&ids[k], &res, &la);
			char *b = mp_encode_object(&ids[k], mp_probe_result_to_json(&res), &lb);

			ck_assert_ptr_nonnull(a);
			ck_assert_ptr_nonnull(b);
			ck_assert_str_eq(a, b);
			ck_assert_uint_eq(la, lb);
			free(a);
			free(b);
		}
	}
}
END_TEST

/*
 * Found by fuzzing (tests/fuzz/fuzz_reply.c): a time of 1e12 ms or more
 * (mtr-packet's round-trip-time takes 18 digits of microseconds) came out
 * as null from the direct encoder but as a number from the general one.
 * Both now write the number.
 */
/* The direct writer: exact bytes into a caller's buffer, 0 when it cannot. */
START_TEST(test_encode_probe_into)
{
	static const char want[] =
		"{\"id\":-9223372036854775808,\"success\":true,\"result\":\"reply\","
		"\"time_ms\":0.126,\"responder\":\"127.0.0.1\",\"mpls\":[],"
		"\"address\":\"127.0.0.1\",\"ip_version\":4}\n";
	struct mp_id id = { .kind = MP_ID_INT, .num = INT64_MIN };
	struct mp_id sid = { .kind = MP_ID_STRING, .str = (char *)"a\"b", .str_len = 3 };
	struct mp_probe_result res;
	char buf[MP_PROBE_ANSWER_MAX];
	size_t n;

	reply_result(&res);
	n = mp_encode_probe_result_into(buf, sizeof(buf), &id, &res);
	ck_assert_uint_eq(n, sizeof(want) - 1);
	ck_assert(memcmp(buf, want, n) == 0);
	/* exactly the room it needs, and one byte less */
	ck_assert_uint_eq(mp_encode_probe_result_into(buf, n, &id, &res), n);
	ck_assert_uint_eq(mp_encode_probe_result_into(buf, n - 1, &id, &res), 0);
	/* an id to escape is left to jansson */
	ck_assert_uint_eq(mp_encode_probe_result_into(buf, sizeof(buf), &sid, &res), 0);
	sid.str = (char *)"a-b";
	n = mp_encode_probe_result_into(buf, sizeof(buf), &sid, &res);
	ck_assert_uint_gt(n, 0);
	ck_assert(memcmp(buf, "{\"id\":\"a-b\",\"success\":true,", 27) == 0);
	/* times: microseconds, one fractional digit at least */
	res.time_ms = 12.0;
	n = mp_encode_probe_result_into(buf, sizeof(buf), &id, &res);
	ck_assert_ptr_nonnull(memmem(buf, n, "\"time_ms\":12.0,", 15));
	res.time_ms = 0.0004;
	n = mp_encode_probe_result_into(buf, sizeof(buf), &id, &res);
	ck_assert_ptr_nonnull(memmem(buf, n, "\"time_ms\":0.0,", 14));
	res.time_ms = 1.2506;
	n = mp_encode_probe_result_into(buf, sizeof(buf), &id, &res);
	ck_assert_ptr_nonnull(memmem(buf, n, "\"time_ms\":1.251,", 16));
}
END_TEST

START_TEST(test_encode_probe_huge_time)
{
	static const double times[] = { 999999999999.999, 1e12, 3600000000000.0,
					 999999999999999.999, 1e300 };
	struct mp_id id = { .kind = MP_ID_INT, .num = 28 };

	for (size_t t = 0; t < sizeof(times) / sizeof(times[0]); t++) {
		struct mp_probe_result res;
		size_t la = 0, lb = 0;
		json_t *obj;

		reply_result(&res);
		res.time_ms = times[t];
		char *a = mp_encode_probe_result(&id, &res, &la);
		char *b = mp_encode_object(&id, mp_probe_result_to_json(&res), &lb);

		ck_assert_ptr_nonnull(a);
		ck_assert_ptr_nonnull(b);
		ck_assert_str_eq(a, b);
		ck_assert_uint_eq(la, lb);
		obj = json_loads(a, 0, NULL);
		ck_assert_msg(json_is_real(json_object_get(obj, "time_ms")), "%s", a);
		ck_assert(json_real_value(json_object_get(obj, "time_ms")) >= times[t] * 0.999);
		json_decref(obj);
		free(a);
		free(b);
	}
}
END_TEST

/* The encoders' test cases. */
static TCase *encode_tcase(void)
{
	TCase *tc = tcase_create("encode");

	tcase_add_test(tc, test_encode_error_codes);
	tcase_add_test(tc, test_encode_request_too_large);
	tcase_add_test(tc, test_encode_error_messages);
	tcase_add_test(tc, test_decode_then_encode_error);
	tcase_add_test(tc, test_decode_monitor_ops);
	tcase_add_test(tc, test_encode_probe_reply);
	tcase_add_test(tc, test_encode_probe_no_reply);
	tcase_add_test(tc, test_encode_probe_mpls);
	tcase_add_test(tc, test_encode_probe_success);
	tcase_add_test(tc, test_encode_probe_time);
	tcase_add_test(tc, test_encode_probe_empty);
	tcase_add_test(tc, test_encode_version);
	tcase_add_test(tc, test_encode_check_support);
	tcase_add_test(tc, test_encode_cleared);
	tcase_add_test(tc, test_encode_object);
	tcase_add_test(tc, test_encode_probe_fast_equals_general);
	tcase_add_test(tc, test_encode_probe_huge_time);
	tcase_add_test(tc, test_encode_probe_into);
	return tc;
}

int main(void)
{
	Suite *s = suite_create("proto");
	SRunner *sr;
	int failed;

	suite_add_tcase(s, decode_tcase());
	suite_add_tcase(s, id_tcase());
	suite_add_tcase(s, encode_tcase());
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
