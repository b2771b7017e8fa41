/*
 * libFuzzer target: a whole config file through config_parse_text() on top
 * of the defaults, twice (as a reload applies a file again).  Checks that
 * every setting stays within its documented range whether the parse
 * succeeds or stops at an error (a partly applied file is still a valid
 * config), that an error comes with a "NAME:LINE: message", and, through
 * LeakSanitizer, that config_free() releases everything.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>

#include "daemon/config.h"
#include "fuzz.h"
#include "mtrprobe/protocol.h"

/* Whether d is a finite number in [min, max]. */
static int num_ok(double d, double min, double max)
{
	return isfinite(d) && d >= min && d <= max;
}

/* Check every setting of cfg. */
static void check_config(const struct mp_config *cfg)
{
	char addr[INET6_ADDRSTRLEN];
	int port;

	FUZZ_CHECK(cfg->socket_path && cfg->socket_path[0] == '/' &&
			   strlen(cfg->socket_path) < MP_SOCKET_PATH_MAX,
		   "socket");
	FUZZ_CHECK(cfg->socket_mode <= 0777, "socket_mode %o", (unsigned)cfg->socket_mode);
	FUZZ_CHECK(cfg->min_workers >= 1 && cfg->min_workers <= CONFIG_WORKERS_MAX, "min_workers %d",
		   cfg->min_workers);
	FUZZ_CHECK(cfg->max_workers >= 1 && cfg->max_workers <= CONFIG_WORKERS_MAX, "max_workers %d",
		   cfg->max_workers);
	FUZZ_CHECK(num_ok(cfg->worker_idle_timeout, 0.1, 86400), "worker_idle_timeout %g",
		   cfg->worker_idle_timeout);
	FUZZ_CHECK(cfg->uid_max_share >= 1 && cfg->uid_max_share <= 100, "uid_max_share %d",
		   cfg->uid_max_share);
	FUZZ_CHECK(cfg->uid_max_queued >= 0 && cfg->uid_max_queued <= 10000000, "uid_max_queued");
	FUZZ_CHECK(cfg->client_max_answer_bytes >= 65536 &&
			   cfg->client_max_answer_bytes <= 1073741824,
		   "client_max_answer_bytes %zu", cfg->client_max_answer_bytes);
	FUZZ_CHECK(cfg->uid_max_answer_bytes >= 65536 && cfg->uid_max_answer_bytes <= 1073741824,
		   "uid_max_answer_bytes %zu", cfg->uid_max_answer_bytes);
	FUZZ_CHECK(cfg->mtr_packet && cfg->mtr_packet[0], "mtr_packet");
	FUZZ_CHECK(cfg->max_request_bytes >= 256 && cfg->max_request_bytes <= 16777216,
		   "max_request_bytes %zu", cfg->max_request_bytes);
	FUZZ_CHECK(cfg->max_inflight_per_client >= 1 && cfg->max_inflight_per_client <= 1000000,
		   "max_inflight_per_client");
	FUZZ_CHECK(cfg->max_queued >= 1 && cfg->max_queued <= 10000000, "max_queued");
	FUZZ_CHECK(cfg->max_connections >= 1 && cfg->max_connections <= 1000000,
		   "max_connections");
	FUZZ_CHECK(cfg->max_burst >= 1 && cfg->max_burst <= 1000, "max_burst");
	FUZZ_CHECK(cfg->tcp_max_inflight >= 1 && cfg->tcp_max_inflight <= 900, "tcp_max_inflight");
	FUZZ_CHECK(num_ok(cfg->dns_cache_ttl, 0, 604800), "dns_cache_ttl %g", cfg->dns_cache_ttl);
	FUZZ_CHECK(num_ok(cfg->dns_expire_interval, 0.01, 86400), "dns_expire_interval %g",
		   cfg->dns_expire_interval);
	FUZZ_CHECK(num_ok(cfg->dns_negative_ttl, 0, 86400), "dns_negative_ttl %g",
		   cfg->dns_negative_ttl);
	FUZZ_CHECK(cfg->dns_cache_size >= 1 && cfg->dns_cache_size <= 10000000, "dns_cache_size");
	FUZZ_CHECK(cfg->n_dns_servers >= 0 && cfg->n_dns_servers <= CONFIG_DNS_SERVERS_MAX,
		   "n_dns_servers %d", cfg->n_dns_servers);
	for (int i = 0; i < CONFIG_DNS_SERVERS_MAX; i++) {
		if (i >= cfg->n_dns_servers) {
			FUZZ_CHECK(cfg->dns_servers[i] == NULL, "stale dns_servers[%d]", i);
			continue;
		}
		FUZZ_CHECK(cfg->dns_servers[i] &&
				   config_parse_dns_server(cfg->dns_servers[i], addr, sizeof(addr),
							   &port) == 0 &&
				   port >= 1 && port <= 65535,
			   "dns_servers[%d]", i);
	}
	FUZZ_CHECK(!cfg->hosts_file || cfg->hosts_file[0] == '/', "hosts_file");
	FUZZ_CHECK(num_ok(cfg->shutdown_timeout, 0, 3600), "shutdown_timeout %g",
		   cfg->shutdown_timeout);
	FUZZ_CHECK(cfg->log_level >= LOG_LEVEL_ERROR && cfg->log_level <= LOG_LEVEL_DEBUG,
		   "log_level %d", (int)cfg->log_level);
}

/* Apply text on top of cfg and check the outcome. */
static void parse(struct mp_config *cfg, const char *text, size_t size, const char *name)
{
	const char *prefix = name ? name : "(config)";
	char err[CONFIG_ERR_MAX];
	int r;

	err[0] = '\0';
	r = config_parse_text(cfg, text, size, name, err);
	if (r < 0) {
		FUZZ_CHECK(r == -EINVAL, "config_parse_text returned %d", r);
		FUZZ_CHECK(fuzz_terminated(err, sizeof(err)), "message not terminated");
		FUZZ_CHECK(strncmp(err, prefix, strlen(prefix)) == 0 &&
				   err[strlen(prefix)] == ':',
			   "message without its file name: %s", err);
	} else {
		FUZZ_CHECK(r == 0, "config_parse_text returned %d", r);
	}
	check_config(cfg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_copy(data, size);
	struct mp_config cfg;

	FUZZ_CHECK(config_init(&cfg) == 0, "config_init");
	check_config(&cfg);
	parse(&cfg, text, size, "fuzz.conf");
	parse(&cfg, text, size, NULL);
	config_free(&cfg);
	config_free(&cfg); /* a freed config is zeroed: freeing it again is fine */
	free(text);
	return 0;
}
