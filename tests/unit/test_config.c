/* Unit tests of the config file parser, its checks and config_parse_dns_server(). */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/config.h"

/* Start from the defaults and apply text (named "t.conf"); returns the parser's result. */
static int parse(struct mp_config *cfg, const char *text, char err[CONFIG_ERR_MAX])
{
	ck_assert_int_eq(config_init(cfg), 0);
	err[0] = '\0';
	return config_parse_text(cfg, text, strlen(text), "t.conf", err);
}

/* Assert that text is refused with exactly the message want; frees the config. */
static void expect_error(const char *text, const char *want)
{
	struct mp_config cfg;
	char err[CONFIG_ERR_MAX];

	ck_assert_msg(parse(&cfg, text, err) == -EINVAL, "accepted: %s", text);
	ck_assert_str_eq(err, want);
	config_free(&cfg);
}

/* Assert that text is accepted; the caller checks and frees cfg. */
static void expect_ok(struct mp_config *cfg, const char *text)
{
	char err[CONFIG_ERR_MAX];
	int r = parse(cfg, text, err);

	ck_assert_msg(r == 0, "refused (%d): %s: %s", r, text, err);
}

START_TEST(test_defaults)
{
	struct mp_config cfg;

	ck_assert_int_eq(config_init(&cfg), 0);
	ck_assert_str_eq(cfg.socket_path, "/run/mtrprobed/mtrprobed.sock");
	ck_assert_uint_eq(cfg.socket_mode, 0660);
	ck_assert_int_eq(cfg.min_workers, 1);
	ck_assert_int_eq(cfg.max_workers, 16);
	ck_assert_double_eq(cfg.worker_idle_timeout, 30);
	ck_assert_int_eq(cfg.uid_max_share, 50);
	ck_assert_int_eq(cfg.uid_max_queued, 50000);
	ck_assert_uint_eq(cfg.client_max_answer_bytes, 4194304);
	ck_assert_uint_eq(cfg.uid_max_answer_bytes, 16777216);
	ck_assert_str_eq(cfg.mtr_packet, "mtr-packet");
	ck_assert_uint_eq(cfg.max_request_bytes, 65536);
	ck_assert_int_eq(cfg.max_inflight_per_client, 1000);
	ck_assert_int_eq(cfg.max_queued, 100000);
	ck_assert_int_eq(cfg.max_connections, 4096);
	ck_assert_int_eq(cfg.max_burst, 128);
	ck_assert_int_eq(cfg.tcp_max_inflight, 512);
	ck_assert_double_eq(cfg.dns_cache_ttl, 300);
	ck_assert_double_eq(cfg.dns_expire_interval, 60);
	ck_assert_double_eq(cfg.dns_negative_ttl, 5);
	ck_assert_uint_eq(cfg.dns_cache_size, 10000);
	ck_assert_int_eq(cfg.n_dns_servers, 0);
	for (int i = 0; i < CONFIG_DNS_SERVERS_MAX; i++)
		ck_assert_ptr_null(cfg.dns_servers[i]);
	ck_assert_ptr_null(cfg.hosts_file);
	ck_assert_double_eq(cfg.shutdown_timeout, 5);
	ck_assert_int_eq(cfg.log_level, LOG_LEVEL_INFO);
	config_free(&cfg);
	ck_assert_ptr_null(cfg.socket_path);
	config_free(&cfg);
	config_free(NULL);
}
END_TEST

START_TEST(test_empty_text)
{
	struct mp_config cfg;
	char err[CONFIG_ERR_MAX] = "untouched";
	const char *blank = "\n\n  \n\t\n# only comments\n";

	ck_assert_int_eq(config_init(&cfg), 0);
	ck_assert_int_eq(config_parse_text(&cfg, "", 0, "t.conf", err), 0);
	ck_assert_int_eq(config_parse_text(&cfg, blank, strlen(blank), "t.conf", err), 0);
	ck_assert_str_eq(err, "untouched");
	ck_assert_int_eq(cfg.min_workers, 1);
	config_free(&cfg);
}
END_TEST

/* An integer key, its range and where it lands. */
struct int_key {
	const char *name;
	long long min, max;
	size_t offset;
	int is_size;
};

static const struct int_key int_keys[] = {
	{ "workers", 1, 128, offsetof(struct mp_config, min_workers), 0 },
	{ "min_workers", 1, 128, offsetof(struct mp_config, min_workers), 0 },
	{ "max_workers", 1, 128, offsetof(struct mp_config, max_workers), 0 },
	{ "uid_max_share", 1, 100, offsetof(struct mp_config, uid_max_share), 0 },
	{ "uid_max_queued", 0, 10000000, offsetof(struct mp_config, uid_max_queued), 0 },
	{ "client_max_answer_bytes", 65536, 1073741824,
	  offsetof(struct mp_config, client_max_answer_bytes), 1 },
	{ "uid_max_answer_bytes", 65536, 1073741824,
	  offsetof(struct mp_config, uid_max_answer_bytes), 1 },
	{ "max_request_bytes", 256, 16777216, offsetof(struct mp_config, max_request_bytes), 1 },
	{ "max_inflight_per_client", 1, 1000000,
	  offsetof(struct mp_config, max_inflight_per_client), 0 },
	{ "max_queued", 1, 10000000, offsetof(struct mp_config, max_queued), 0 },
	{ "max_connections", 1, 1000000, offsetof(struct mp_config, max_connections), 0 },
	{ "max_burst", 1, 1000, offsetof(struct mp_config, max_burst), 0 },
	{ "tcp_max_inflight", 1, 900, offsetof(struct mp_config, tcp_max_inflight), 0 },
	{ "dns_cache_size", 1, 10000000, offsetof(struct mp_config, dns_cache_size), 1 },
	{ "monitor_history", 1, 10000, offsetof(struct mp_config, monitor_history), 0 },
};

/* The value of an integer key in cfg. */
static long long int_value(const struct mp_config *cfg, const struct int_key *k)
{
	const char *p = (const char *)cfg + k->offset;

	if (k->is_size)
		return (long long)*(const size_t *)(const void *)p;
	return *(const int *)(const void *)p;
}

/* Assert "name = value" is accepted and stores want. */
static void int_ok(const struct int_key *k, const char *value, long long want)
{
	struct mp_config cfg;
	char text[256];

	snprintf(text, sizeof(text), "%s = %s\n", k->name, value);
	expect_ok(&cfg, text);
	ck_assert_msg(int_value(&cfg, k) == want, "%s: got %lld, want %lld", text,
		      int_value(&cfg, k), want);
	config_free(&cfg);
}

/* Assert "name = value" is refused with the key's range message. */
static void int_bad(const struct int_key *k, const char *value)
{
	char text[256], want[CONFIG_ERR_MAX];

	snprintf(text, sizeof(text), "%s = %s\n", k->name, value);
	snprintf(want, sizeof(want), "t.conf:1: %s: must be an integer from %lld to %lld",
		 k->name, k->min, k->max);
	expect_error(text, want);
}

START_TEST(test_int_keys)
{
	const struct int_key *k = &int_keys[_i];
	char buf[64], want[CONFIG_ERR_MAX];

	snprintf(buf, sizeof(buf), "%lld", k->min);
	int_ok(k, buf, k->min);
	snprintf(buf, sizeof(buf), "%lld", k->max);
	int_ok(k, buf, k->max);
	snprintf(buf, sizeof(buf), "%lld", k->min + 1);
	int_ok(k, buf, k->min + 1);
	snprintf(buf, sizeof(buf), "0%lld", k->max);
	int_ok(k, buf, k->max); /* leading zeros are decimal, not octal */
	snprintf(buf, sizeof(buf), "%lld", k->min - 1);
	int_bad(k, buf);
	snprintf(buf, sizeof(buf), "%lld", k->max + 1);
	int_bad(k, buf);
	int_bad(k, "-1");
	int_bad(k, "abc");
	int_bad(k, "10x");
	int_bad(k, "1.5");
	int_bad(k, "1e2");
	int_bad(k, "0x10");
	int_bad(k, "+");
	int_bad(k, "-");
	int_bad(k, "+5");
	int_bad(k, "1 2");
	int_bad(k, "9223372036854775807");
	int_bad(k, "9223372036854775808");
	int_bad(k, "-9223372036854775809");
	int_bad(k, "99999999999999999999999999999");
	snprintf(buf, sizeof(buf), "%s =\n", k->name);
	snprintf(want, sizeof(want), "t.conf:1: %s: missing value", k->name);
	expect_error(buf, want);
	snprintf(buf, sizeof(buf), "%s =   # nothing\n", k->name);
	expect_error(buf, want);
}
END_TEST

/* A number key, its range and where it lands. */
struct num_key {
	const char *name;
	const char *min, *max, *below, *above;
	double min_v, max_v;
	size_t offset;
	const char *range;
};

static const struct num_key num_keys[] = {
	{ "dns_cache_ttl", "0", "604800", "-0.001", "604800.001", 0, 604800,
	  offsetof(struct mp_config, dns_cache_ttl), "0 to 604800" },
	{ "dns_expire_interval", "0.01", "86400", "0.0099", "86400.5", 0.01, 86400,
	  offsetof(struct mp_config, dns_expire_interval), "0.01 to 86400" },
	{ "dns_negative_ttl", "0", "86400", "-1", "86401", 0, 86400,
	  offsetof(struct mp_config, dns_negative_ttl), "0 to 86400" },
	{ "shutdown_timeout", "0", "3600", "-0.5", "3600.01", 0, 3600,
	  offsetof(struct mp_config, shutdown_timeout), "0 to 3600" },
	{ "metrics_timeout", "1", "3600", "0.99", "3600.01", 1, 3600,
	  offsetof(struct mp_config, metrics_timeout), "1 to 3600" },
	{ "worker_idle_timeout", "0.1", "86400", "0.09", "86400.5", 0.1, 86400,
	  offsetof(struct mp_config, worker_idle_timeout), "0.1 to 86400" },
};

/* Assert "name = value" is accepted and stores want. */
static void num_ok(const struct num_key *k, const char *value, double want)
{
	struct mp_config cfg;
	char text[256];

	snprintf(text, sizeof(text), "%s = %s\n", k->name, value);
	expect_ok(&cfg, text);
	ck_assert_double_eq(*(const double *)(const void *)((const char *)&cfg + k->offset), want);
	config_free(&cfg);
}

/* Assert "name = value" is refused with the key's range message. */
static void num_bad(const struct num_key *k, const char *value)
{
	char text[256], want[CONFIG_ERR_MAX];

	snprintf(text, sizeof(text), "%s = %s\n", k->name, value);
	snprintf(want, sizeof(want), "t.conf:1: %s: must be a number from %s", k->name, k->range);
	expect_error(text, want);
}

START_TEST(test_number_keys)
{
	const struct num_key *k = &num_keys[_i];

	num_ok(k, k->min, k->min_v);
	num_ok(k, k->max, k->max_v);
	num_ok(k, "1", 1);
	num_ok(k, "2.5", 2.5);
	num_ok(k, "1e1", 10);
	if (k->min_v <= 0.5)
		num_ok(k, ".5", 0.5);
	num_ok(k, "+3", 3);
	num_bad(k, k->below);
	num_bad(k, k->above);
	num_bad(k, "nan");
	num_bad(k, "NAN");
	num_bad(k, "inf");
	num_bad(k, "-inf");
	num_bad(k, "infinity");
	num_bad(k, "1e999");
	num_bad(k, "0x10");
	num_bad(k, "1e");
	num_bad(k, "1.2.3");
	num_bad(k, "5s");
	num_bad(k, "1 0");
	num_bad(k, ".");
	num_bad(k, "-");
}
END_TEST

START_TEST(test_zero_allowed_numbers)
{
	struct mp_config cfg;

	expect_ok(&cfg, "dns_cache_ttl = 0\ndns_negative_ttl = -0\nshutdown_timeout = 0.0\n");
	ck_assert_double_eq(cfg.dns_cache_ttl, 0);
	ck_assert_double_eq(cfg.dns_negative_ttl, 0);
	ck_assert_double_eq(cfg.shutdown_timeout, 0);
	config_free(&cfg);
	expect_error("dns_expire_interval = 0\n",
		     "t.conf:1: dns_expire_interval: must be a number from 0.01 to 86400");
}
END_TEST

START_TEST(test_socket_mode)
{
	static const struct {
		const char *text;
		mode_t mode;
	} ok[] = {
		{ "0660", 0660 }, { "660", 0660 }, { "0", 0 }, { "000", 0 }, { "0777", 0777 },
		{ "777", 0777 }, { "600", 0600 }, { "0600", 0600 }, { "7", 07 }, { "00660", 0660 },
	};
	static const char *const bad[] = {
		"1000", "01000", "0778", "8", "9", "-1", "0x1ff", "0o660", "66 0", "rw", "+660",
		"660.0",
	};
	struct mp_config cfg;
	char text[64];

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		snprintf(text, sizeof(text), "socket_mode = %s", ok[i].text);
		expect_ok(&cfg, text);
		ck_assert_uint_eq(cfg.socket_mode, ok[i].mode);
		config_free(&cfg);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "socket_mode = %s", bad[i]);
		expect_error(text, "t.conf:1: socket_mode: must be an octal mode from 0 to 0777");
	}
	expect_error("socket_mode =", "t.conf:1: socket_mode: missing value");
}
END_TEST

START_TEST(test_socket_path)
{
	struct mp_config cfg;
	char text[256], path[200];

	expect_ok(&cfg, "socket = /tmp/t.sock");
	ck_assert_str_eq(cfg.socket_path, "/tmp/t.sock");
	config_free(&cfg);
	/* 107 bytes fit sun_path with the NUL; 108 do not. */
	memset(path, 'a', sizeof(path));
	path[0] = '/';
	path[107] = '\0';
	snprintf(text, sizeof(text), "socket = %s", path);
	expect_ok(&cfg, text);
	ck_assert_uint_eq(strlen(cfg.socket_path), 107);
	config_free(&cfg);
	path[107] = 'a';
	path[108] = '\0';
	snprintf(text, sizeof(text), "socket = %s", path);
	expect_error(text, "t.conf:1: socket: must be shorter than 108 bytes");
	expect_error("socket = run/x.sock", "t.conf:1: socket: must be an absolute path");
	expect_error("socket = ~/x.sock", "t.conf:1: socket: must be an absolute path");
	expect_error("socket = ", "t.conf:1: socket: missing value");
}
END_TEST

START_TEST(test_mtr_packet)
{
	struct mp_config cfg;

	expect_ok(&cfg, "mtr_packet = /usr/bin/mtr-packet");
	ck_assert_str_eq(cfg.mtr_packet, "/usr/bin/mtr-packet");
	config_free(&cfg);
	expect_ok(&cfg, "mtr_packet = my-mtr-packet");
	ck_assert_str_eq(cfg.mtr_packet, "my-mtr-packet");
	config_free(&cfg);
	/* Inner blanks stay; '#' always starts a comment. */
	expect_ok(&cfg, "mtr_packet =  /opt/my tools/mtr-packet  # the one we built");
	ck_assert_str_eq(cfg.mtr_packet, "/opt/my tools/mtr-packet");
	config_free(&cfg);
	expect_ok(&cfg, "mtr_packet = /opt/a#b");
	ck_assert_str_eq(cfg.mtr_packet, "/opt/a");
	config_free(&cfg);
	expect_error("mtr_packet =", "t.conf:1: mtr_packet: missing value");
	expect_error("mtr_packet = #", "t.conf:1: mtr_packet: missing value");
}
END_TEST

START_TEST(test_hosts_file)
{
	struct mp_config cfg;

	expect_ok(&cfg, "hosts_file = /etc/hosts.test");
	ck_assert_str_eq(cfg.hosts_file, "/etc/hosts.test");
	config_free(&cfg);
	/* An empty value goes back to the system's hosts file. */
	expect_ok(&cfg, "hosts_file = /etc/hosts.test\nhosts_file =\n");
	ck_assert_ptr_null(cfg.hosts_file);
	config_free(&cfg);
	expect_error("hosts_file = hosts", "t.conf:1: hosts_file: must be an absolute path");
}
END_TEST

START_TEST(test_log_level)
{
	static const char *const names[] = { "error", "warning", "info", "debug" };
	static const enum log_level levels[] = { LOG_LEVEL_ERROR, LOG_LEVEL_WARNING,
						 LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };
	static const char *const bad[] = { "INFO", "Debug", "warn", "verbose", "3", "info debug" };
	struct mp_config cfg;
	char text[64];

	for (size_t i = 0; i < 4; i++) {
		snprintf(text, sizeof(text), "log_level = %s", names[i]);
		expect_ok(&cfg, text);
		ck_assert_int_eq(cfg.log_level, levels[i]);
		config_free(&cfg);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "log_level = %s", bad[i]);
		expect_error(text, "t.conf:1: log_level: must be one of error, warning, info, debug");
	}
	expect_error("log_level=", "t.conf:1: log_level: missing value");
}
END_TEST

START_TEST(test_dns_servers)
{
	struct mp_config cfg;

	expect_ok(&cfg, "dns_servers = 127.0.0.1:5353, [::1]:5353 ,::1,\t127.0.0.2");
	ck_assert_int_eq(cfg.n_dns_servers, 4);
	ck_assert_str_eq(cfg.dns_servers[0], "127.0.0.1:5353");
	ck_assert_str_eq(cfg.dns_servers[1], "[::1]:5353");
	ck_assert_str_eq(cfg.dns_servers[2], "::1");
	ck_assert_str_eq(cfg.dns_servers[3], "127.0.0.2");
	ck_assert_ptr_null(cfg.dns_servers[4]);
	config_free(&cfg);

	expect_ok(&cfg, "dns_servers = 127.0.0.1");
	ck_assert_int_eq(cfg.n_dns_servers, 1);
	ck_assert_str_eq(cfg.dns_servers[0], "127.0.0.1");
	config_free(&cfg);

	/* The last line wins as a whole; an empty value means none. */
	expect_ok(&cfg, "dns_servers = 127.0.0.1, 127.0.0.2, 127.0.0.3\ndns_servers = ::1\n");
	ck_assert_int_eq(cfg.n_dns_servers, 1);
	ck_assert_str_eq(cfg.dns_servers[0], "::1");
	ck_assert_ptr_null(cfg.dns_servers[1]);
	config_free(&cfg);
	expect_ok(&cfg, "dns_servers = 127.0.0.1, ::1\ndns_servers =\n");
	ck_assert_int_eq(cfg.n_dns_servers, 0);
	ck_assert_ptr_null(cfg.dns_servers[0]);
	ck_assert_ptr_null(cfg.dns_servers[1]);
	config_free(&cfg);

	/* Exactly CONFIG_DNS_SERVERS_MAX (8) fit. */
	expect_ok(&cfg, "dns_servers = 127.0.0.1,127.0.0.2,127.0.0.3,127.0.0.4,"
			"127.0.0.5,127.0.0.6,127.0.0.7,[::1]:5300");
	ck_assert_int_eq(cfg.n_dns_servers, 8);
	ck_assert_str_eq(cfg.dns_servers[7], "[::1]:5300");
	config_free(&cfg);
}
END_TEST

START_TEST(test_dns_servers_errors)
{
	struct mp_config cfg;
	char err[CONFIG_ERR_MAX];

	expect_error("dns_servers = 127.0.0.1,127.0.0.2,127.0.0.3,127.0.0.4,"
		     "127.0.0.5,127.0.0.6,127.0.0.7,127.0.0.8,127.0.0.9",
		     "t.conf:1: dns_servers: at most 8 servers");
	expect_error("dns_servers = 127.0.0.1,,::1", "t.conf:1: dns_servers: empty item in list");
	expect_error("dns_servers = 127.0.0.1,", "t.conf:1: dns_servers: empty item in list");
	expect_error("dns_servers = , 127.0.0.1", "t.conf:1: dns_servers: empty item in list");
	expect_error("dns_servers = localhost",
		     "t.conf:1: dns_servers: invalid address 'localhost'");
	expect_error("dns_servers = 127.0.0.1, 127.0.0.1:0",
		     "t.conf:1: dns_servers: invalid address '127.0.0.1:0'");
	expect_error("dns_servers = [::1]:65536",
		     "t.conf:1: dns_servers: invalid address '[::1]:65536'");
	expect_error("dns_servers = 127.0.0.1 5353",
		     "t.conf:1: dns_servers: invalid address '127.0.0.1 5353'");
	/* A refused list leaves the previous one in place (and leaks nothing). */
	ck_assert_int_eq(parse(&cfg, "dns_servers = ::1, 127.0.0.1\n"
				     "dns_servers = 127.0.0.2, bogus\n", err), -EINVAL);
	ck_assert_str_eq(err, "t.conf:2: dns_servers: invalid address 'bogus'");
	ck_assert_int_eq(cfg.n_dns_servers, 2);
	ck_assert_str_eq(cfg.dns_servers[0], "::1");
	ck_assert_str_eq(cfg.dns_servers[1], "127.0.0.1");
	config_free(&cfg);
}
END_TEST

START_TEST(test_all_keys_together)
{
	struct mp_config cfg;

	expect_ok(&cfg,
		  "# mtrprobed.conf\n"
		  "socket = /run/t/t.sock\n"
		  "socket_mode = 0600\n"
		  "workers = 8\n"
		  "mtr_packet = /usr/bin/mtr-packet\n"
		  "max_request_bytes = 4096\n"
		  "max_inflight_per_client = 50\n"
		  "max_queued = 5000\n"
		  "max_connections = 100\n"
		  "max_burst = 20\n"
		  "tcp_max_inflight = 64\n"
		  "dns_cache_ttl = 30.5\n"
		  "dns_expire_interval = 0.25\n"
		  "dns_negative_ttl = 1\n"
		  "dns_cache_size = 77\n"
		  "dns_servers = 127.0.0.1:5353\n"
		  "hosts_file = /etc/hosts.t\n"
		  "shutdown_timeout = 2.5\n"
		  "log_level = debug\n");
	ck_assert_str_eq(cfg.socket_path, "/run/t/t.sock");
	ck_assert_uint_eq(cfg.socket_mode, 0600);
	ck_assert_int_eq(cfg.min_workers, 8);
	ck_assert_str_eq(cfg.mtr_packet, "/usr/bin/mtr-packet");
	ck_assert_uint_eq(cfg.max_request_bytes, 4096);
	ck_assert_int_eq(cfg.max_inflight_per_client, 50);
	ck_assert_int_eq(cfg.max_queued, 5000);
	ck_assert_int_eq(cfg.max_connections, 100);
	ck_assert_int_eq(cfg.max_burst, 20);
	ck_assert_int_eq(cfg.tcp_max_inflight, 64);
	ck_assert_double_eq(cfg.dns_cache_ttl, 30.5);
	ck_assert_double_eq(cfg.dns_expire_interval, 0.25);
	ck_assert_double_eq(cfg.dns_negative_ttl, 1);
	ck_assert_uint_eq(cfg.dns_cache_size, 77);
	ck_assert_int_eq(cfg.n_dns_servers, 1);
	ck_assert_str_eq(cfg.dns_servers[0], "127.0.0.1:5353");
	ck_assert_str_eq(cfg.hosts_file, "/etc/hosts.t");
	ck_assert_double_eq(cfg.shutdown_timeout, 2.5);
	ck_assert_int_eq(cfg.log_level, LOG_LEVEL_DEBUG);
	config_free(&cfg);
}
END_TEST

START_TEST(test_syntax_whitespace_comments)
{
	struct mp_config cfg;

	expect_ok(&cfg,
		  "\n"
		  "   # indented comment\n"
		  "#workers = 9\n"
		  "\t workers\t=\t3 \t# trailing comment\n"
		  "max_burst=7\n"
		  "  \t  \n"
		  "log_level = warning#no space before the comment\n"
		  "tcp_max_inflight = 10");  /* no newline at the end */
	ck_assert_int_eq(cfg.min_workers, 3);
	ck_assert_int_eq(cfg.max_burst, 7);
	ck_assert_int_eq(cfg.log_level, LOG_LEVEL_WARNING);
	ck_assert_int_eq(cfg.tcp_max_inflight, 10);
	config_free(&cfg);
}
END_TEST

START_TEST(test_syntax_crlf)
{
	struct mp_config cfg;
	char err[CONFIG_ERR_MAX];

	expect_ok(&cfg, "workers = 4\r\n# comment\r\n\r\nmtr_packet = /bin/mp\r\n"
			"dns_servers = ::1 , 127.0.0.1\r\n");
	ck_assert_int_eq(cfg.min_workers, 4);
	ck_assert_str_eq(cfg.mtr_packet, "/bin/mp");
	ck_assert_int_eq(cfg.n_dns_servers, 2);
	ck_assert_str_eq(cfg.dns_servers[1], "127.0.0.1");
	config_free(&cfg);
	/* Line numbers count CRLF lines; a CR inside a value is refused. */
	ck_assert_int_eq(parse(&cfg, "workers = 4\r\n\r\nworkers = 129\r\n", err), -EINVAL);
	ck_assert_str_eq(err, "t.conf:3: workers: must be an integer from 1 to 128");
	config_free(&cfg);
	expect_error("mtr_packet = a\rb\n", "t.conf:1: mtr_packet: control character in value");
}
END_TEST

START_TEST(test_syntax_bom)
{
	struct mp_config cfg;

	expect_ok(&cfg, "\xef\xbb\xbfworkers = 5\n");
	ck_assert_int_eq(cfg.min_workers, 5);
	config_free(&cfg);
	expect_error("\xef\xbb\xbf\nfoo = 1\n", "t.conf:2: unknown key 'foo'");
}
END_TEST

START_TEST(test_duplicates_last_wins)
{
	struct mp_config cfg;

	/* Replaced strings must not leak (valgrind checks this test). */
	expect_ok(&cfg,
		  "workers = 3\nworkers = 5\n"
		  "socket = /a.sock\nsocket = /b.sock\n"
		  "mtr_packet = first\nmtr_packet = second\n"
		  "hosts_file = /h1\nhosts_file = /h2\n"
		  "log_level = error\nlog_level = debug\n"
		  "dns_servers = ::1\ndns_servers = 127.0.0.1, 127.0.0.2\n");
	ck_assert_int_eq(cfg.min_workers, 5);
	ck_assert_str_eq(cfg.socket_path, "/b.sock");
	ck_assert_str_eq(cfg.mtr_packet, "second");
	ck_assert_str_eq(cfg.hosts_file, "/h2");
	ck_assert_int_eq(cfg.log_level, LOG_LEVEL_DEBUG);
	ck_assert_int_eq(cfg.n_dns_servers, 2);
	ck_assert_str_eq(cfg.dns_servers[0], "127.0.0.1");
	config_free(&cfg);
}
END_TEST

START_TEST(test_layering)
{
	struct mp_config cfg;
	char err[CONFIG_ERR_MAX];
	const char *a = "workers = 7\nmtr_packet = /x\n", *b = "workers = 9\n";

	/* Two texts applied in turn: the second changes only what it names. */
	ck_assert_int_eq(config_init(&cfg), 0);
	ck_assert_int_eq(config_parse_text(&cfg, a, strlen(a), "a.conf", err), 0);
	ck_assert_int_eq(config_parse_text(&cfg, b, strlen(b), "b.conf", err), 0);
	ck_assert_int_eq(cfg.min_workers, 9);
	ck_assert_str_eq(cfg.mtr_packet, "/x");
	config_free(&cfg);
}
END_TEST

/* A text refused with its exact message. */
struct bad_text {
	const char *text;
	const char *err;
};

static const struct bad_text bad_texts[] = {
	{ "foo = 1\n", "t.conf:1: unknown key 'foo'" },
	{ "# c\n\nfoo = 1\n", "t.conf:3: unknown key 'foo'" },
	{ "Workers = 2\n", "t.conf:1: unknown key 'Workers'" },
	{ "work ers = 2\n", "t.conf:1: unknown key 'work ers'" },
	{ "workers\n", "t.conf:1: workers: missing '='" },
	{ "workers 4\n", "t.conf:1: missing '=' in 'workers 4'" },
	{ "just some words # and a comment\n", "t.conf:1: missing '=' in 'just some words'" },
	{ "= 4\n", "t.conf:1: missing key before '='" },
	{ "  =\n", "t.conf:1: missing key before '='" },
	{ "workers = 4 = 5\n", "t.conf:1: workers: must be an integer from 1 to 128" },
	{ "workers = 2\nworkers = 0\nworkers = 3\n",
	  "t.conf:2: workers: must be an integer from 1 to 128" },
	{ "workers = 2\nbogus\n", "t.conf:2: missing '=' in 'bogus'" },
	{ "mtr_packet = a\x01" "b\n", "t.conf:1: mtr_packet: control character in value" },
	{ "fo\x01o = 1\n", "t.conf:1: unknown key 'fo?o'" },
	{ "workers = \xc3\xa9\n", "t.conf:1: workers: must be an integer from 1 to 128" },
	{ "unknown_key_with_a_rather_long_name_that_goes_on_and_on_and_on_and_on = 1\n",
	  "t.conf:1: unknown key 'unknown_key_with_a_rather_long_name_that_goes_on_and_on_and_on_a'" },
};

START_TEST(test_bad_texts)
{
	expect_error(bad_texts[_i].text, bad_texts[_i].err);
}
END_TEST

START_TEST(test_error_stops_parsing)
{
	struct mp_config cfg;
	char err[CONFIG_ERR_MAX];

	/* Lines before the error are applied, lines after it are not. */
	ck_assert_int_eq(parse(&cfg, "workers = 3\nfoo = 1\nmax_burst = 9\n", err), -EINVAL);
	ck_assert_str_eq(err, "t.conf:2: unknown key 'foo'");
	ck_assert_int_eq(cfg.min_workers, 3);
	ck_assert_int_eq(cfg.max_burst, 128);
	config_free(&cfg);
}
END_TEST

START_TEST(test_nul_byte)
{
	static const char text[] = "workers = 3\nmtr_packet = a\0b\nworkers = 4\n";
	static const char comment[] = "# \0\n";
	struct mp_config cfg;
	char err[CONFIG_ERR_MAX];

	ck_assert_int_eq(config_init(&cfg), 0);
	ck_assert_int_eq(config_parse_text(&cfg, text, sizeof(text) - 1, "t.conf", err), -EINVAL);
	ck_assert_str_eq(err, "t.conf:2: NUL byte in line");
	ck_assert_int_eq(config_parse_text(&cfg, comment, sizeof(comment) - 1, "c.conf", err),
			 -EINVAL);
	ck_assert_str_eq(err, "c.conf:1: NUL byte in line");
	config_free(&cfg);
}
END_TEST

START_TEST(test_length_not_nul)
{
	struct mp_config cfg;
	char err[CONFIG_ERR_MAX];
	const char *text = "workers = 12345";

	/* Only len bytes are read: "workers = 1". */
	ck_assert_int_eq(config_init(&cfg), 0);
	ck_assert_int_eq(config_parse_text(&cfg, text, 11, "t.conf", err), 0);
	ck_assert_int_eq(cfg.min_workers, 1);
	config_free(&cfg);
}
END_TEST

START_TEST(test_long_lines)
{
	size_t n = 200000;
	char *text = malloc(n + 64);
	struct mp_config cfg;
	char err[CONFIG_ERR_MAX];

	ck_assert_ptr_nonnull(text);
	/* A very long comment is fine. */
	text[0] = '#';
	memset(text + 1, 'x', n);
	strcpy(text + 1 + n, "\nworkers = 6\n");
	expect_ok(&cfg, text);
	ck_assert_int_eq(cfg.min_workers, 6);
	config_free(&cfg);
	/* A value of 4095 bytes is accepted, 4096 is not. */
	strcpy(text, "mtr_packet = ");
	memset(text + 13, 'm', 4095);
	text[13 + 4095] = '\0';
	expect_ok(&cfg, text);
	ck_assert_uint_eq(strlen(cfg.mtr_packet), 4095);
	config_free(&cfg);
	memset(text + 13, 'm', n);
	text[13 + n] = '\0';
	ck_assert_int_eq(parse(&cfg, text, err), -EINVAL);
	ck_assert_str_eq(err, "t.conf:1: mtr_packet: value longer than 4095 bytes");
	config_free(&cfg);
	/* A very long unknown key is quoted, truncated, in the message. */
	memset(text, 'k', n);
	strcpy(text + n, " = 1\n");
	ck_assert_int_eq(parse(&cfg, text, err), -EINVAL);
	ck_assert_uint_eq(strlen(err), strlen("t.conf:1: unknown key ''") + 64);
	ck_assert_int_eq(strncmp(err, "t.conf:1: unknown key 'kkkk", 27), 0);
	config_free(&cfg);
	free(text);
}
END_TEST

START_TEST(test_long_name_truncated)
{
	struct mp_config cfg;
	char err[CONFIG_ERR_MAX], name[2000];
	const char *text = "foo = 1\n";

	/* A huge file name cannot overflow the error buffer. */
	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	ck_assert_int_eq(config_init(&cfg), 0);
	ck_assert_int_eq(config_parse_text(&cfg, text, strlen(text), name, err), -EINVAL);
	ck_assert_uint_eq(strlen(err), CONFIG_ERR_MAX - 1);
	/* A NULL name and a NULL err buffer are accepted. */
	ck_assert_int_eq(config_parse_text(&cfg, text, strlen(text), NULL, err), -EINVAL);
	ck_assert_str_eq(err, "(config):1: unknown key 'foo'");
	ck_assert_int_eq(config_parse_text(&cfg, text, strlen(text), "t.conf", NULL), -EINVAL);
	config_free(&cfg);
}
END_TEST

/* Write content into dir/name; returns the path (static buffer). */
static const char *write_file(const char *dir, const char *name, const char *content,
			      size_t len)
{
	static char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(content, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
	return path;
}

START_TEST(test_load_file)
{
	char dir[] = "/tmp/test-config-XXXXXX", err[CONFIG_ERR_MAX], want[CONFIG_ERR_MAX];
	const char *ok = "workers = 11\r\nlog_level = error # quiet\n";
	const char *bad = "workers = 11\n\nworkers = x\n";
	struct mp_config cfg;
	const char *path;
	size_t big = 2 * 1024 * 1024;
	char *text;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(config_init(&cfg), 0);

	path = write_file(dir, "ok.conf", ok, strlen(ok));
	ck_assert_int_eq(config_load_file(&cfg, path, err), 0);
	ck_assert_int_eq(cfg.min_workers, 11);
	ck_assert_int_eq(cfg.log_level, LOG_LEVEL_ERROR);
	ck_assert_int_eq(unlink(path), 0);

	path = write_file(dir, "bad.conf", bad, strlen(bad));
	ck_assert_int_eq(config_load_file(&cfg, path, err), -EINVAL);
	snprintf(want, sizeof(want), "%s:3: workers: must be an integer from 1 to 128", path);
	ck_assert_str_eq(err, want);
	ck_assert_int_eq(unlink(path), 0);

	/* Larger than the 4096-byte first read buffer, still under the limit. */
	text = malloc(big + 1);
	ck_assert_ptr_nonnull(text);
	memset(text, '#', 100000);
	strcpy(text + 100000, "\nworkers = 12\n");
	path = write_file(dir, "long.conf", text, strlen(text));
	ck_assert_int_eq(config_load_file(&cfg, path, err), 0);
	ck_assert_int_eq(cfg.min_workers, 12);
	ck_assert_int_eq(unlink(path), 0);

	memset(text, '#', big);
	path = write_file(dir, "big.conf", text, big);
	ck_assert_int_eq(config_load_file(&cfg, path, err), -EFBIG);
	snprintf(want, sizeof(want), "%s: file larger than 1 MiB", path);
	ck_assert_str_eq(err, want);
	ck_assert_int_eq(unlink(path), 0);
	free(text);

	path = write_file(dir, "missing.conf", "", 0);
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(config_load_file(&cfg, path, err), -ENOENT);
	snprintf(want, sizeof(want), "%s: No such file or directory", path);
	ck_assert_str_eq(err, want);

	ck_assert_int_eq(config_load_file(&cfg, dir, err), -EISDIR);
	ck_assert_int_eq(cfg.min_workers, 12);
	ck_assert_int_eq(rmdir(dir), 0);
	config_free(&cfg);
}
END_TEST

/* One config_parse_dns_server() case. */
struct server_case {
	const char *text;
	int r;
	const char *addr;
	int port;
};

static const struct server_case server_cases[] = {
	{ "127.0.0.1", 0, "127.0.0.1", 53 },
	{ "127.0.0.1:5353", 0, "127.0.0.1", 5353 },
	{ "127.0.0.1:1", 0, "127.0.0.1", 1 },
	{ "127.0.0.1:65535", 0, "127.0.0.1", 65535 },
	{ "[::1]:5353", 0, "::1", 5353 },
	{ "[::1]", 0, "::1", 53 },
	{ "::1", 0, "::1", 53 },
	{ "2001:db8::53", 0, "2001:db8::53", 53 },
	{ "[2001:db8::53]:65535", 0, "2001:db8::53", 65535 },
	{ "::ffff:127.0.0.1", 0, "::ffff:127.0.0.1", 53 },
	{ "[::ffff:127.0.0.1]:54", 0, "::ffff:127.0.0.1", 54 },
	/* A bare IPv6 address is always the whole text: no port is split off. */
	{ "::1:53", 0, "::1:53", 53 },
	{ "", -EINVAL, NULL, 0 },
	{ "localhost", -EINVAL, NULL, 0 },
	{ "localhost:53", -EINVAL, NULL, 0 },
	{ "127.0.0.1:0", -EINVAL, NULL, 0 },
	{ "127.0.0.1:65536", -EINVAL, NULL, 0 },
	{ "127.0.0.1:", -EINVAL, NULL, 0 },
	{ "127.0.0.1:53x", -EINVAL, NULL, 0 },
	{ "127.0.0.1:+53", -EINVAL, NULL, 0 },
	{ "127.0.0.1:-53", -EINVAL, NULL, 0 },
	{ "127.0.0.1: 53", -EINVAL, NULL, 0 },
	{ "127.0.0.1:99999999999999999999", -EINVAL, NULL, 0 },
	{ " 127.0.0.1", -EINVAL, NULL, 0 },
	{ "127.0.0.1 ", -EINVAL, NULL, 0 },
	{ ":53", -EINVAL, NULL, 0 },
	{ "1.2.3", -EINVAL, NULL, 0 },
	{ "256.1.1.1", -EINVAL, NULL, 0 },
	{ "[::1", -EINVAL, NULL, 0 },
	{ "[::1]53", -EINVAL, NULL, 0 },
	{ "[::1]:", -EINVAL, NULL, 0 },
	{ "[::1]:0", -EINVAL, NULL, 0 },
	{ "[]:53", -EINVAL, NULL, 0 },
	{ "[127.0.0.1]:53", -EINVAL, NULL, 0 },
	{ "[fe80::1%eth0]", -EINVAL, NULL, 0 },
	{ "::1::2", -EINVAL, NULL, 0 },
	{ "[[::1]]", -EINVAL, NULL, 0 },
	{ "2001:db8:0:0:0:0:0:0:1", -EINVAL, NULL, 0 },
};


START_TEST(test_monitor_and_metrics_defaults)
{
	struct mp_config cfg;

	ck_assert_int_eq(config_init(&cfg), 0);
	ck_assert_ptr_null(cfg.monitors_dir);
	ck_assert_int_eq(cfg.monitor_history, 60);
	ck_assert_int_eq(cfg.n_metrics_listen, 0);
	ck_assert_double_eq(cfg.metrics_timeout, 10);
	/* 16 bounds from 50 us doubling: 5e-05 ... 5e-05 * 2^15 = 1.6384. */
	ck_assert_int_eq(cfg.metrics_buckets.n, 16);
	ck_assert_double_eq(cfg.metrics_buckets.le[0], 0.00005);
	ck_assert_double_eq(cfg.metrics_buckets.le[1], 0.0001);
	ck_assert_double_eq(cfg.metrics_buckets.le[15], 1.6384);
	config_free(&cfg);
}
END_TEST

START_TEST(test_monitors_dir)
{
	struct mp_config cfg;

	expect_ok(&cfg, "monitors_dir = /etc/x/monitors.d");
	ck_assert_str_eq(cfg.monitors_dir, "/etc/x/monitors.d");
	config_free(&cfg);
	expect_ok(&cfg, "monitors_dir = /a\nmonitors_dir =");
	ck_assert_ptr_null(cfg.monitors_dir);
	config_free(&cfg);
	expect_error("monitors_dir = monitors.d", "t.conf:1: monitors_dir: must be an absolute path");
}
END_TEST

START_TEST(test_metrics_listen)
{
	struct mp_config cfg;

	expect_ok(&cfg, "metrics_listen = 127.0.0.1:9116, [::1]:9116 ,/run/m.sock");
	ck_assert_int_eq(cfg.n_metrics_listen, 3);
	ck_assert_str_eq(cfg.metrics_listen[0], "127.0.0.1:9116");
	ck_assert_str_eq(cfg.metrics_listen[1], "[::1]:9116");
	ck_assert_str_eq(cfg.metrics_listen[2], "/run/m.sock");
	ck_assert_ptr_null(cfg.metrics_listen[3]);
	/* dns_servers is a list of its own */
	ck_assert_int_eq(cfg.n_dns_servers, 0);
	config_free(&cfg);
	expect_ok(&cfg, "metrics_listen = 127.0.0.1:1\nmetrics_listen =");
	ck_assert_int_eq(cfg.n_metrics_listen, 0);
	ck_assert_ptr_null(cfg.metrics_listen[0]);
	config_free(&cfg);
	expect_ok(&cfg, "metrics_listen = /a, /b, /c, /d, /e, /f, /g, /h");
	ck_assert_int_eq(cfg.n_metrics_listen, 8);
	config_free(&cfg);
	expect_error("metrics_listen = /a, /b, /c, /d, /e, /f, /g, /h, /i",
		     "t.conf:1: metrics_listen: at most 8 addresses");
	expect_error("metrics_listen = 127.0.0.1",
		     "t.conf:1: metrics_listen: '127.0.0.1' is neither ADDRESS:PORT nor an absolute "
		     "path shorter than 108 bytes");
	expect_error("metrics_listen = ::1:9116",
		     "t.conf:1: metrics_listen: '::1:9116' is neither ADDRESS:PORT nor an absolute "
		     "path shorter than 108 bytes");
	expect_error("metrics_listen = 127.0.0.1:0",
		     "t.conf:1: metrics_listen: '127.0.0.1:0' is neither ADDRESS:PORT nor an absolute "
		     "path shorter than 108 bytes");
	expect_error("metrics_listen = 127.0.0.1:1,",
		     "t.conf:1: metrics_listen: empty item in list");
}
END_TEST

START_TEST(test_parse_listen)
{
	char addr[112];
	int port = -1;

	ck_assert_int_eq(config_parse_listen("127.0.0.1:9116", addr, sizeof(addr), &port), 0);
	ck_assert_str_eq(addr, "127.0.0.1");
	ck_assert_int_eq(port, 9116);
	ck_assert_int_eq(config_parse_listen("[::1]:65535", addr, sizeof(addr), &port), 0);
	ck_assert_str_eq(addr, "::1");
	ck_assert_int_eq(port, 65535);
	ck_assert_int_eq(config_parse_listen("/run/x.sock", addr, sizeof(addr), &port), 0);
	ck_assert_str_eq(addr, "/run/x.sock");
	ck_assert_int_eq(port, 0);
	ck_assert_int_eq(config_parse_listen("[::1]", addr, sizeof(addr), &port), -EINVAL);
	ck_assert_int_eq(config_parse_listen("[::1]:65536", addr, sizeof(addr), &port), -EINVAL);
	ck_assert_int_eq(config_parse_listen("localhost:80", addr, sizeof(addr), &port), -EINVAL);
	ck_assert_int_eq(config_parse_listen("127.0.0.1:80", addr, 9, &port), -EINVAL);
	/* a path of 107 bytes fits sun_path with its NUL; 108 does not */
	char path[110];

	memset(path, 'a', sizeof(path));
	path[0] = '/';
	path[107] = '\0';
	ck_assert_int_eq(config_parse_listen(path, NULL, 0, NULL), 0);
	path[107] = 'a';
	path[108] = '\0';
	ck_assert_int_eq(config_parse_listen(path, NULL, 0, NULL), -EINVAL);
}
END_TEST

START_TEST(test_metrics_buckets)
{
	struct mp_config cfg;

	expect_ok(&cfg, "metrics_buckets = 0.001, 0.01,0.1 , 1");
	ck_assert_int_eq(cfg.metrics_buckets.n, 4);
	ck_assert_double_eq(cfg.metrics_buckets.le[0], 0.001);
	ck_assert_double_eq(cfg.metrics_buckets.le[3], 1);
	config_free(&cfg);
	expect_error("metrics_buckets = 0.1, 0.01",
		     "t.conf:1: metrics_buckets: must be 1 to 32 increasing numbers of seconds above "
		     "0, comma-separated");
	expect_error("metrics_buckets = 0", "t.conf:1: metrics_buckets: must be 1 to 32 increasing "
					       "numbers of seconds above 0, comma-separated");
	expect_error("metrics_buckets =", "t.conf:1: metrics_buckets: missing value");
}
END_TEST

START_TEST(test_parse_dns_server)
{
	const struct server_case *c = &server_cases[_i];
	char addr[64] = "untouched";
	int port = -7;
	int r = config_parse_dns_server(c->text, addr, sizeof(addr), &port);

	ck_assert_msg(r == c->r, "'%s': got %d, want %d", c->text, r, c->r);
	if (r == 0) {
		ck_assert_str_eq(addr, c->addr);
		ck_assert_int_eq(port, c->port);
	} else {
		ck_assert_str_eq(addr, "untouched");
		ck_assert_int_eq(port, -7);
	}
}
END_TEST

START_TEST(test_parse_dns_server_buffers)
{
	char addr[16];
	int port = 0;

	/* "127.0.0.1" needs 10 bytes with its NUL. */
	ck_assert_int_eq(config_parse_dns_server("127.0.0.1:99", addr, 10, &port), 0);
	ck_assert_str_eq(addr, "127.0.0.1");
	ck_assert_int_eq(port, 99);
	port = 0;
	ck_assert_int_eq(config_parse_dns_server("127.0.0.1:98", addr, 9, &port), -EINVAL);
	ck_assert_int_eq(port, 0);
	ck_assert_int_eq(config_parse_dns_server("[::1]:5", NULL, 0, NULL), 0);
	ck_assert_int_eq(config_parse_dns_server(NULL, addr, sizeof(addr), &port), -EINVAL);
}
END_TEST

/* All config tests in one suite. */
static Suite *config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("keys");
	TCase *ts = tcase_create("syntax");
	TCase *td = tcase_create("dns_server");

	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_empty_text);
	tcase_add_loop_test(tc, test_int_keys, 0, (int)(sizeof(int_keys) / sizeof(int_keys[0])));
	tcase_add_loop_test(tc, test_number_keys, 0,
			    (int)(sizeof(num_keys) / sizeof(num_keys[0])));
	tcase_add_test(tc, test_zero_allowed_numbers);
	tcase_add_test(tc, test_socket_mode);
	tcase_add_test(tc, test_socket_path);
	tcase_add_test(tc, test_mtr_packet);
	tcase_add_test(tc, test_hosts_file);
	tcase_add_test(tc, test_log_level);
	tcase_add_test(tc, test_dns_servers);
	tcase_add_test(tc, test_dns_servers_errors);
	tcase_add_test(tc, test_all_keys_together);
	tcase_add_test(tc, test_monitor_and_metrics_defaults);
	tcase_add_test(tc, test_monitors_dir);
	tcase_add_test(tc, test_metrics_listen);
	tcase_add_test(tc, test_parse_listen);
	tcase_add_test(tc, test_metrics_buckets);
	suite_add_tcase(s, tc);

	tcase_add_test(ts, test_syntax_whitespace_comments);
	tcase_add_test(ts, test_syntax_crlf);
	tcase_add_test(ts, test_syntax_bom);
	tcase_add_test(ts, test_duplicates_last_wins);
	tcase_add_test(ts, test_layering);
	tcase_add_loop_test(ts, test_bad_texts, 0,
			    (int)(sizeof(bad_texts) / sizeof(bad_texts[0])));
	tcase_add_test(ts, test_error_stops_parsing);
	tcase_add_test(ts, test_nul_byte);
	tcase_add_test(ts, test_length_not_nul);
	tcase_add_test(ts, test_long_lines);
	tcase_add_test(ts, test_long_name_truncated);
	tcase_add_test(ts, test_load_file);
	suite_add_tcase(s, ts);

	tcase_add_loop_test(td, test_parse_dns_server, 0,
			    (int)(sizeof(server_cases) / sizeof(server_cases[0])));
	tcase_add_test(td, test_parse_dns_server_buffers);
	suite_add_tcase(s, td);
	return s;
}

/* Run the suite; the exit status is non-zero when any test failed. */
int main(void)
{
	SRunner *sr = srunner_create(config_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
