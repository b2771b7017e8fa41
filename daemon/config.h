/*
 * The daemon's configuration: built-in defaults, the config file parser
 * ("key = value" lines, '#' comments, comma-separated lists), and checks.
 * Pure: no logging; errors come back as "FILE:LINE: message" strings.
 */
#ifndef MTRPROBED_CONFIG_H
#define MTRPROBED_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "mstats.h"

#define CONFIG_ERR_MAX 512
#define CONFIG_DNS_SERVERS_MAX 8
/* Most workers min_workers and max_workers may name (the pool's POOL_WORKERS_MAX). */
#define CONFIG_WORKERS_MAX 128
/* Most names in one user or group list. */
#define CONFIG_NAMES_MAX 64
/* Longest user or group name (or number) in a list. */
#define CONFIG_NAME_MAX 32
/* Most addresses metrics_listen may name. */
#define CONFIG_LISTEN_MAX 8

/* A list of user or group names (or numeric ids), as written.  Owned by the config. */
struct config_names {
	char *items[CONFIG_NAMES_MAX];
	int n;
};

enum log_level { LOG_LEVEL_ERROR, LOG_LEVEL_WARNING, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };

/* Every setting of the daemon.  Owned by its holder; config_free() releases. */
struct mp_config {
	char *socket_path;            /* socket */
	mode_t socket_mode;           /* socket_mode, octal */
	int min_workers;              /* min_workers (or workers): kept running, 1-128 */
	int max_workers;              /* max_workers: most running, 1-128 (at least min_workers) */
	double worker_idle_timeout;   /* worker_idle_timeout: seconds before an idle extra worker stops */
	char *mtr_packet;             /* mtr_packet: executable path or name */
	size_t max_request_bytes;     /* max_request_bytes, 256-16777216 */
	int max_inflight_per_client;  /* max_inflight_per_client, 1-1000000 */
	int max_queued;               /* max_queued, 1-10000000 */
	int max_connections;          /* max_connections, 1-1000000 */
	int max_burst;                /* max_burst: probes out not yet confirmed by every worker, 1-1000 */
	int tcp_max_inflight;         /* tcp_max_inflight, 1-900 */
	double dns_cache_ttl;         /* dns_cache_ttl, seconds, 0-604800 */
	double dns_expire_interval;   /* dns_expire_interval, seconds, 0.01-86400 */
	double dns_negative_ttl;      /* dns_negative_ttl, seconds, 0-86400 */
	size_t dns_cache_size;        /* dns_cache_size, 1-10000000 */
	char *dns_servers[CONFIG_DNS_SERVERS_MAX]; /* dns_servers: "address[:port]" each */
	int n_dns_servers;
	char *hosts_file;             /* hosts_file, NULL = the system's */
	double shutdown_timeout;      /* shutdown_timeout, seconds, 0-3600 */
	enum log_level log_level;     /* log_level: error, warning, info, debug */
	/* Access: who may connect (empty: anyone who can open the socket) and who
	 * may use the options that steer traffic (mark, local_ip).  root always may. */
	struct config_names allow_users, allow_groups, admin_users, admin_groups;
	/* Rates and shares; 0 means no limit. */
	int max_pps;                  /* max_pps: probes/s sent, daemon-wide */
	int uid_max_pps;              /* uid_max_pps: probes/s sent, per uid */
	int uid_max_inflight;         /* uid_max_inflight: requests outstanding, per uid */
	int max_connections_per_uid;  /* max_connections_per_uid */
	/* Fair shares and answer memory, per uid (root exempt) and per connection. */
	int uid_max_share;            /* uid_max_share: percent of the pool's slots one uid may hold, 1-100 */
	int uid_max_queued;           /* uid_max_queued: probes one uid may have waiting, 0 = no limit */
	size_t client_max_answer_bytes; /* client_max_answer_bytes: answers owed and unread, per connection */
	size_t uid_max_answer_bytes;  /* uid_max_answer_bytes: the same, per uid */
	/* Monitors and their metrics. */
	char *monitors_dir;           /* monitors_dir, NULL = monitors.d beside the config file */
	int monitor_history;          /* monitor_history: cycles kept per monitor, 1-10000 */
	char *metrics_listen[CONFIG_LISTEN_MAX]; /* metrics_listen: "addr:port" or a socket path each */
	int n_metrics_listen;
	struct mhist_bounds metrics_buckets; /* metrics_buckets: RTT histogram bounds, seconds */
	char *state_dir;              /* state_dir: where monitors added over the socket are kept, NULL = nowhere */
	int uid_max_monitors;         /* uid_max_monitors: monitors one uid may add, 0 = no limit */
	int uid_monitor_max_pps;      /* uid_monitor_max_pps: probes/s one uid's monitors may schedule, 0 = no limit */
	double metrics_timeout;       /* metrics_timeout: seconds the endpoint waits on a client, 1-3600 */
};

/* Fill cfg with the built-in defaults (allocates the strings). 0 or -ENOMEM. */
int config_init(struct mp_config *cfg);
/* Release what cfg owns; accepts a zeroed struct. */
void config_free(struct mp_config *cfg);
/*
 * Apply the settings in text (a whole config file named name) on top of
 * cfg.  Returns 0, or -EINVAL with "NAME:LINE: message" in err (cfg may then
 * be partly changed: parse into a copy to keep the old one).
 */
int config_parse_text(struct mp_config *cfg, const char *text, size_t len, const char *name,
		      char err[CONFIG_ERR_MAX]);
/* Read path and apply it as config_parse_text() does; -errno on read errors. */
int config_load_file(struct mp_config *cfg, const char *path, char err[CONFIG_ERR_MAX]);
/*
 * Parse "address[:port]" (IPv6 as "[addr]:port" or bare "addr") for
 * dns_servers.  Returns 0, or -EINVAL.
 */
int config_parse_dns_server(const char *text, char *ret_addr, size_t addrlen, int *ret_port);
/*
 * Parse a metrics_listen item: an absolute socket path (*ret_port = 0,
 * the path in ret_addr), or "ipv4:port" / "[ipv6]:port" (port 1-65535).
 * Returns 0, or -EINVAL.
 */
int config_parse_listen(const char *text, char *ret_addr, size_t addrlen, int *ret_port);

#endif
