/*
 * The daemon's configuration: defaults, the "key = value" file parser and
 * the checks of every value.  Pure apart from config_load_file() reading
 * the file; errors come back as "FILE:LINE: message" strings.
 *
 * Syntax: one setting per line; '#' starts a comment anywhere (there is
 * no quoting, so no value can contain '#'); spaces and tabs around keys,
 * values and list items are ignored; CRLF line ends are accepted, as is a
 * UTF-8 byte order mark at the start; a NUL byte anywhere is an error.
 */
#include "daemon/config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/kvtext.h"
#include "mtrprobe/protocol.h"

/* Longest value of any key (paths included), in bytes. */
#define CONFIG_VALUE_MAX 4095
/* sizeof(struct sockaddr_un.sun_path) on Linux. */
#define CONFIG_SUN_PATH_MAX 108

enum config_kind {
	CONFIG_INT,      /* int field, decimal */
	CONFIG_SIZE,     /* size_t field, decimal */
	CONFIG_NUMBER,   /* double field */
	CONFIG_MODE,     /* mode_t field, octal */
	CONFIG_SOCKET,   /* char * field, absolute path shorter than sun_path */
	CONFIG_STRING,   /* char * field, non-empty */
	CONFIG_PATH,     /* char * field, absolute path, or empty for NULL */
	CONFIG_SERVERS,  /* dns_servers list */
	CONFIG_LOGLEVEL, /* enum log_level field */
	CONFIG_NAMES,    /* struct config_names field: user or group names */
	CONFIG_LISTEN,   /* metrics_listen list */
	CONFIG_BUCKETS,  /* struct mhist_bounds field */
};

/* One known key: where it goes and what it accepts.  Static data. */
struct config_key {
	const char *name;
	enum config_kind kind;
	size_t offset;
	double min, max;
};

#define KEY(n, k, field, lo, hi) { n, k, offsetof(struct mp_config, field), lo, hi }

static const struct config_key config_keys[] = {
	KEY("socket", CONFIG_SOCKET, socket_path, 0, 0),
	KEY("socket_mode", CONFIG_MODE, socket_mode, 0, 0777),
	KEY("workers", CONFIG_INT, min_workers, 1, CONFIG_WORKERS_MAX), /* the older name of min_workers */
	KEY("min_workers", CONFIG_INT, min_workers, 1, CONFIG_WORKERS_MAX),
	KEY("max_workers", CONFIG_INT, max_workers, 1, CONFIG_WORKERS_MAX),
	KEY("worker_idle_timeout", CONFIG_NUMBER, worker_idle_timeout, 0.1, 86400),
	KEY("mtr_packet", CONFIG_STRING, mtr_packet, 0, 0),
	KEY("max_request_bytes", CONFIG_SIZE, max_request_bytes, 256, 16777216),
	KEY("max_inflight_per_client", CONFIG_INT, max_inflight_per_client, 1, 1000000),
	KEY("max_queued", CONFIG_INT, max_queued, 1, 10000000),
	KEY("max_connections", CONFIG_INT, max_connections, 1, 1000000),
	KEY("max_burst", CONFIG_INT, max_burst, 1, 1000),
	KEY("tcp_max_inflight", CONFIG_INT, tcp_max_inflight, 1, 900),
	KEY("dns_cache_ttl", CONFIG_NUMBER, dns_cache_ttl, 0, 604800),
	KEY("dns_expire_interval", CONFIG_NUMBER, dns_expire_interval, 0.01, 86400),
	KEY("dns_negative_ttl", CONFIG_NUMBER, dns_negative_ttl, 0, 86400),
	KEY("dns_cache_size", CONFIG_SIZE, dns_cache_size, 1, 10000000),
	KEY("dns_servers", CONFIG_SERVERS, dns_servers, 0, 0),
	KEY("hosts_file", CONFIG_PATH, hosts_file, 0, 0),
	KEY("shutdown_timeout", CONFIG_NUMBER, shutdown_timeout, 0, 3600),
	KEY("log_level", CONFIG_LOGLEVEL, log_level, 0, 0),
	KEY("allow_users", CONFIG_NAMES, allow_users, 0, 0),
	KEY("allow_groups", CONFIG_NAMES, allow_groups, 0, 0),
	KEY("admin_users", CONFIG_NAMES, admin_users, 0, 0),
	KEY("admin_groups", CONFIG_NAMES, admin_groups, 0, 0),
	KEY("max_pps", CONFIG_INT, max_pps, 0, 10000000),
	KEY("uid_max_pps", CONFIG_INT, uid_max_pps, 0, 10000000),
	KEY("uid_max_inflight", CONFIG_INT, uid_max_inflight, 0, 10000000),
	KEY("max_connections_per_uid", CONFIG_INT, max_connections_per_uid, 0, 1000000),
	KEY("uid_max_share", CONFIG_INT, uid_max_share, 1, 100),
	KEY("uid_max_queued", CONFIG_INT, uid_max_queued, 0, 10000000),
	KEY("client_max_answer_bytes", CONFIG_SIZE, client_max_answer_bytes, 65536, 1073741824),
	KEY("uid_max_answer_bytes", CONFIG_SIZE, uid_max_answer_bytes, 65536, 1073741824),
	KEY("monitors_dir", CONFIG_PATH, monitors_dir, 0, 0),
	KEY("monitor_history", CONFIG_INT, monitor_history, 1, 10000),
	KEY("metrics_listen", CONFIG_LISTEN, metrics_listen, 0, 0),
	KEY("metrics_buckets", CONFIG_BUCKETS, metrics_buckets, 0, 0),
	KEY("metrics_timeout", CONFIG_NUMBER, metrics_timeout, 1, 3600),
	KEY("state_dir", CONFIG_PATH, state_dir, 0, 0),
	KEY("uid_max_monitors", CONFIG_INT, uid_max_monitors, 0, 100000),
	KEY("uid_monitor_max_pps", CONFIG_INT, uid_monitor_max_pps, 0, 10000000),
};

static const char *const config_log_levels[] = {
	[LOG_LEVEL_ERROR] = "error",
	[LOG_LEVEL_WARNING] = "warning",
	[LOG_LEVEL_INFO] = "info",
	[LOG_LEVEL_DEBUG] = "debug",
};

_Static_assert(CONFIG_ERR_MAX == KV_ERR_MAX, "kv_fail() fills our error buffers");

/* The known key named by [s, s + len), or NULL. */
static const struct config_key *config_key_find(const char *s, size_t len)
{
	for (size_t i = 0; i < sizeof(config_keys) / sizeof(config_keys[0]); i++)
		if (strlen(config_keys[i].name) == len && memcmp(config_keys[i].name, s, len) == 0)
			return &config_keys[i];
	return NULL;
}

/* Set an int or size_t key from a decimal integer within its range. */
static int config_set_integer(struct mp_config *cfg, const struct config_key *k, const char *value,
			      const struct kv_ctx *ctx)
{
	long long v;
	char *field = (char *)cfg + k->offset;

	if (kv_parse_ll(value, &v) < 0 || v < (long long)k->min || v > (long long)k->max)
		return kv_fail(ctx, "%s: must be an integer from %lld to %lld", k->name,
				   (long long)k->min, (long long)k->max);
	if (k->kind == CONFIG_SIZE)
		*(size_t *)(void *)field = (size_t)v;
	else
		*(int *)(void *)field = (int)v;
	return 0;
}

/* Set a double key from a finite number within its range. */
static int config_set_number(struct mp_config *cfg, const struct config_key *k, const char *value,
			     const struct kv_ctx *ctx)
{
	double v;

	if (kv_parse_double(value, &v) < 0 || v < k->min || v > k->max)
		return kv_fail(ctx, "%s: must be a number from %g to %g", k->name, k->min,
				   k->max);
	*(double *)(void *)((char *)cfg + k->offset) = v;
	return 0;
}

/* Set socket_mode from octal digits ("0660" or "660"). */
static int config_set_mode(struct mp_config *cfg, const struct config_key *k, const char *value,
			   const struct kv_ctx *ctx)
{
	unsigned long v = 0;
	size_t n = strspn(value, "01234567");

	while (n > 1 && *value == '0') {
		value++;
		n--;
	}
	if (n == 0 || n > 3 || value[n] != '\0')
		return kv_fail(ctx, "%s: must be an octal mode from 0 to 0777", k->name);
	for (size_t i = 0; i < n; i++)
		v = v * 8 + (unsigned long)(value[i] - '0');
	cfg->socket_mode = (mode_t)v;
	return 0;
}

/* Replace the string in a char * field with a copy of value (NULL for ""). */
static int config_replace_string(char **field, const char *value, const struct kv_ctx *ctx)
{
	char *copy = NULL;

	if (*value) {
		copy = strdup(value);
		if (!copy) {
			kv_fail(ctx, "out of memory");
			return -ENOMEM;
		}
	}
	free(*field);
	*field = copy;
	return 0;
}

/* Set a string or path key after checking its form. */
static int config_set_string(struct mp_config *cfg, const struct config_key *k, const char *value,
			     const struct kv_ctx *ctx)
{
	char **field = (char **)(void *)((char *)cfg + k->offset);

	if (k->kind != CONFIG_STRING && *value != '\0' && *value != '/')
		return kv_fail(ctx, "%s: must be an absolute path", k->name);
	if (k->kind == CONFIG_SOCKET && strlen(value) >= CONFIG_SUN_PATH_MAX)
		return kv_fail(ctx, "%s: must be shorter than %d bytes", k->name,
				   CONFIG_SUN_PATH_MAX);
	return config_replace_string(field, value, ctx);
}

/* Set log_level from one of its names. */
static int config_set_log_level(struct mp_config *cfg, const struct config_key *k,
				const char *value, const struct kv_ctx *ctx)
{
	for (size_t i = 0; i < sizeof(config_log_levels) / sizeof(config_log_levels[0]); i++) {
		if (strcmp(value, config_log_levels[i]) == 0) {
			cfg->log_level = (enum log_level)i;
			return 0;
		}
	}
	return kv_fail(ctx, "%s: must be one of error, warning, info, debug", k->name);
}

/* Free the first n strings of a server list. */
static void config_free_servers(char **servers, int n)
{
	for (int i = 0; i < n; i++) {
		free(servers[i]);
		servers[i] = NULL;
	}
}

/* Check one dns_servers or metrics_listen item and append a copy of it to servers. */
static int config_add_server(char **servers, int *n, const char *item, size_t len,
			     const struct config_key *k, const struct kv_ctx *ctx)
{
	char buf[CONFIG_VALUE_MAX + 1], q[65];
	bool listen = k->kind == CONFIG_LISTEN;
	int max = listen ? CONFIG_LISTEN_MAX : CONFIG_DNS_SERVERS_MAX;

	if (len == 0)
		return kv_fail(ctx, "%s: empty item in list", k->name);
	memcpy(buf, item, len);
	buf[len] = '\0';
	kv_quote(q, sizeof(q), item, len);
	if (!listen && config_parse_dns_server(buf, NULL, 0, NULL) < 0)
		return kv_fail(ctx, "%s: invalid address '%s'", k->name, q);
	if (listen && config_parse_listen(buf, NULL, 0, NULL) < 0)
		return kv_fail(ctx, "%s: '%s' is neither ADDRESS:PORT nor an absolute path shorter than %d bytes",
				   k->name, q, CONFIG_SUN_PATH_MAX);
	if (*n >= max)
		return kv_fail(ctx, "%s: at most %d %s", k->name, max,
				   listen ? "addresses" : "servers");
	servers[*n] = strdup(buf);
	if (!servers[*n]) {
		kv_fail(ctx, "out of memory");
		return -ENOMEM;
	}
	(*n)++;
	return 0;
}

/* Set dns_servers or metrics_listen from a comma-separated list; an empty value means none. */
static int config_set_servers(struct mp_config *cfg, const struct config_key *k, const char *value,
			      const struct kv_ctx *ctx)
{
	_Static_assert(CONFIG_LISTEN_MAX <= CONFIG_DNS_SERVERS_MAX, "one buffer fits both lists");
	char *servers[CONFIG_DNS_SERVERS_MAX] = { NULL };
	bool listen = k->kind == CONFIG_LISTEN;
	char **dst = listen ? cfg->metrics_listen : cfg->dns_servers;
	int *dst_n = listen ? &cfg->n_metrics_listen : &cfg->n_dns_servers;
	const char *p = value, *comma;
	int n = 0, r = 0;

	for (; *value && r == 0; p = comma + 1) {
		const char *item = p;
		size_t len;

		comma = strchr(p, ',');
		len = comma ? (size_t)(comma - p) : strlen(p);
		kv_trim(&item, &len);
		r = config_add_server(servers, &n, item, len, k, ctx);
		if (!comma)
			break;
	}
	if (r < 0) {
		config_free_servers(servers, n);
		return r;
	}
	config_free_servers(dst, *dst_n);
	memcpy(dst, servers, (size_t)n * sizeof(servers[0]));
	*dst_n = n;
	return 0;
}

/* Free the names of a list. */
static void config_free_names(struct config_names *l)
{
	for (int i = 0; i < l->n; i++)
		free(l->items[i]);
	memset(l, 0, sizeof(*l));
}

/* True if a list item is a plausible user or group name, or a number. */
static bool config_name_ok(const char *s, size_t len)
{
	if (len == 0 || len > CONFIG_NAME_MAX || s[0] == '-')
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-' || c == '.'))
			return false;
	}
	return true;
}

/* Set a list of user or group names; an empty value means none. */
static int config_set_names(struct mp_config *cfg, const struct config_key *k, const char *value,
			    const struct kv_ctx *ctx)
{
	struct config_names *dst = (struct config_names *)((char *)cfg + k->offset), l;
	const char *p = value, *comma;

	memset(&l, 0, sizeof(l));
	for (; *value; p = comma + 1) {
		const char *item = p;
		size_t len;
		char q[65];

		comma = strchr(p, ',');
		len = comma ? (size_t)(comma - p) : strlen(p);
		kv_trim(&item, &len);
		kv_quote(q, sizeof(q), item, len);
		if (!config_name_ok(item, len)) {
			config_free_names(&l);
			return kv_fail(ctx, "%s: invalid name '%s'", k->name, q);
		}
		if (l.n >= CONFIG_NAMES_MAX) {
			config_free_names(&l);
			return kv_fail(ctx, "%s: at most %d names", k->name, CONFIG_NAMES_MAX);
		}
		l.items[l.n] = strndup(item, len);
		if (!l.items[l.n]) {
			config_free_names(&l);
			kv_fail(ctx, "out of memory");
			return -ENOMEM;
		}
		l.n++;
		if (!comma)
			break;
	}
	config_free_names(dst);
	*dst = l;
	return 0;
}

/* Apply value to key k. */
static int config_set(struct mp_config *cfg, const struct config_key *k, const char *value,
		      const struct kv_ctx *ctx)
{
	if (*value == '\0' && k->kind != CONFIG_SERVERS && k->kind != CONFIG_PATH &&
	    k->kind != CONFIG_NAMES && k->kind != CONFIG_LISTEN)
		return kv_fail(ctx, "%s: missing value", k->name);
	switch (k->kind) {
	case CONFIG_INT:
	case CONFIG_SIZE:
		return config_set_integer(cfg, k, value, ctx);
	case CONFIG_NUMBER:
		return config_set_number(cfg, k, value, ctx);
	case CONFIG_MODE:
		return config_set_mode(cfg, k, value, ctx);
	case CONFIG_SOCKET:
	case CONFIG_STRING:
	case CONFIG_PATH:
		return config_set_string(cfg, k, value, ctx);
	case CONFIG_SERVERS:
	case CONFIG_LISTEN:
		return config_set_servers(cfg, k, value, ctx);
	case CONFIG_BUCKETS:
		if (mhist_bounds_parse(&cfg->metrics_buckets, value) < 0)
			return kv_fail(ctx, "%s: must be 1 to %d increasing numbers of seconds above 0, comma-separated",
					   k->name, MHIST_BOUNDS_MAX);
		return 0;
	case CONFIG_LOGLEVEL:
		return config_set_log_level(cfg, k, value, ctx);
	case CONFIG_NAMES:
		return config_set_names(cfg, k, value, ctx);
	}
	return kv_fail(ctx, "%s: internal error", k->name);
}

/* Check a value for length and control characters, then apply it to key k. */
static int config_apply(struct mp_config *cfg, const struct config_key *k, const char *value,
			size_t len, const struct kv_ctx *ctx)
{
	char buf[CONFIG_VALUE_MAX + 1];

	if (len > CONFIG_VALUE_MAX)
		return kv_fail(ctx, "%s: value longer than %d bytes", k->name,
				   CONFIG_VALUE_MAX);
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)value[i] < 0x20 && value[i] != '\t')
			return kv_fail(ctx, "%s: control character in value", k->name);
	memcpy(buf, value, len);
	buf[len] = '\0';
	return config_set(cfg, k, buf, ctx);
}

/* Parse one line (trimmed, without its comment) and apply it to cfg. */
static int config_parse_line(void *arg, const char *line, size_t len, const struct kv_ctx *ctx)
{
	struct mp_config *cfg = arg;
	const struct config_key *k;
	const char *key, *value;
	size_t key_len, value_len;
	bool eq = kv_split(line, len, &key, &key_len, &value, &value_len);
	char q[65];

	kv_quote(q, sizeof(q), key, key_len);
	k = config_key_find(key, key_len);
	if (!eq && k)
		return kv_fail(ctx, "%s: missing '='", k->name);
	if (!eq)
		return kv_fail(ctx, "missing '=' in '%s'", q);
	if (key_len == 0)
		return kv_fail(ctx, "missing key before '='");
	if (!k)
		return kv_fail(ctx, "unknown key '%s'", q);
	return config_apply(cfg, k, value, value_len, ctx);
}

/* Apply the settings in a whole config file's text on top of cfg. */
int config_parse_text(struct mp_config *cfg, const char *text, size_t len, const char *name,
		      char err[CONFIG_ERR_MAX])
{
	struct kv_ctx ctx = { .name = name ? name : "(config)", .err = err };

	return kv_each_line(text, len, &ctx, config_parse_line, cfg);
}

/* Write "PATH: message" into err (when given) and return r. */
static int config_file_fail(char *err, const char *path, int r, const char *msg)
{
	if (err)
		snprintf(err, CONFIG_ERR_MAX, "%s: %s", path, msg ? msg : strerror(-r));
	return r;
}

/* Read path and apply it as config_parse_text() does; -errno on read errors. */
int config_load_file(struct mp_config *cfg, const char *path, char err[CONFIG_ERR_MAX])
{
	char *buf = NULL;
	size_t len = 0;
	int r = kv_read_file(path, &buf, &len);

	if (r == -EFBIG)
		return config_file_fail(err, path, r, "file larger than 1 MiB");
	if (r < 0)
		return config_file_fail(err, path, r, NULL);
	r = config_parse_text(cfg, buf, len, path, err);
	free(buf);
	return r;
}

/* Parse a port number 1-65535 made of decimal digits only. */
static int config_parse_port(const char *s, int *ret)
{
	long long v;

	if (*s < '0' || *s > '9' || kv_parse_ll(s, &v) < 0 || v < 1 || v > 65535)
		return -EINVAL;
	*ret = (int)v;
	return 0;
}

/* Split "[v6]:port", "[v6]", "v4:port", "v4" or "v6" into address text and port. */
static int config_split_server(const char *text, char *addr, size_t addrlen, int *port,
			       int *family)
{
	const char *a = text, *p = NULL, *colon = strchr(text, ':');
	size_t alen;

	*port = 53;
	*family = AF_INET;
	if (*text == '[') {
		const char *close = strchr(text, ']');

		if (!close || (close[1] != '\0' && close[1] != ':'))
			return -EINVAL;
		a = text + 1;
		alen = (size_t)(close - a);
		p = close[1] == ':' ? close + 2 : NULL;
		*family = AF_INET6;
	} else if (colon && strchr(colon + 1, ':')) {
		alen = strlen(text);
		*family = AF_INET6;
	} else {
		alen = colon ? (size_t)(colon - text) : strlen(text);
		p = colon ? colon + 1 : NULL;
	}
	if (alen == 0 || alen >= addrlen)
		return -EINVAL;
	memcpy(addr, a, alen);
	addr[alen] = '\0';
	return p ? config_parse_port(p, port) : 0;
}

/* Parse "address[:port]" for dns_servers (ret_addr and ret_port may be NULL). */
int config_parse_dns_server(const char *text, char *ret_addr, size_t addrlen, int *ret_port)
{
	char addr[INET6_ADDRSTRLEN];
	unsigned char bin[sizeof(struct in6_addr)];
	int port, family;

	if (!text || config_split_server(text, addr, sizeof(addr), &port, &family) < 0)
		return -EINVAL;
	if (inet_pton(family, addr, bin) != 1)
		return -EINVAL;
	if (ret_addr) {
		if (strlen(addr) >= addrlen)
			return -EINVAL;
		strcpy(ret_addr, addr);
	}
	if (ret_port)
		*ret_port = port;
	return 0;
}

/* Parse a metrics_listen item: an absolute socket path, "ipv4:port" or "[ipv6]:port". */
int config_parse_listen(const char *text, char *ret_addr, size_t addrlen, int *ret_port)
{
	if (text[0] == '/') {
		if (strlen(text) >= CONFIG_SUN_PATH_MAX ||
		    (ret_addr && strlen(text) >= addrlen))
			return -EINVAL;
		if (ret_addr)
			strcpy(ret_addr, text);
		if (ret_port)
			*ret_port = 0;
		return 0;
	}
	/* The DNS server syntax, with the port required. */
	const char *close = text[0] == '[' ? strchr(text, ']') : NULL;
	const char *colon = strchr(text, ':');
	bool has_port = close ? close[1] == ':' : colon && colon == strrchr(text, ':');

	return has_port ? config_parse_dns_server(text, ret_addr, addrlen, ret_port) : -EINVAL;
}

/* Fill cfg with the built-in defaults.  0 or -ENOMEM. */
int config_init(struct mp_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->socket_path = strdup(MP_DEFAULT_SOCKET);
	cfg->mtr_packet = strdup("mtr-packet");
	if (!cfg->socket_path || !cfg->mtr_packet) {
		config_free(cfg);
		return -ENOMEM;
	}
	cfg->socket_mode = 0660;
	cfg->min_workers = 1;
	cfg->max_workers = 16;
	cfg->worker_idle_timeout = 30;
	cfg->uid_max_share = 50;
	cfg->uid_max_queued = 50000;
	cfg->client_max_answer_bytes = 4194304;
	cfg->uid_max_answer_bytes = 16777216;
	cfg->max_request_bytes = 65536;
	cfg->max_inflight_per_client = 1000;
	cfg->max_queued = 100000;
	cfg->max_connections = 4096;
	cfg->max_burst = 128;
	cfg->tcp_max_inflight = 512;
	cfg->dns_cache_ttl = 300;
	cfg->dns_expire_interval = 60;
	cfg->dns_negative_ttl = 5;
	cfg->dns_cache_size = 10000;
	cfg->shutdown_timeout = 5;
	cfg->log_level = LOG_LEVEL_INFO;
	cfg->monitor_history = 60;
	cfg->metrics_timeout = 10;
	cfg->uid_max_monitors = 100;
	cfg->uid_monitor_max_pps = 100;
	cfg->state_dir = strdup("/var/lib/mtrprobed");
	if (!cfg->state_dir) {
		config_free(cfg);
		return -ENOMEM;
	}
	mhist_bounds_doubling(&cfg->metrics_buckets, 0.00005, 16);
	return 0;
}

/* Release what cfg owns and zero it; accepts a zeroed struct. */
void config_free(struct mp_config *cfg)
{
	if (!cfg)
		return;
	free(cfg->socket_path);
	free(cfg->mtr_packet);
	free(cfg->hosts_file);
	free(cfg->monitors_dir);
	free(cfg->state_dir);
	config_free_servers(cfg->dns_servers, CONFIG_DNS_SERVERS_MAX);
	config_free_servers(cfg->metrics_listen, CONFIG_LISTEN_MAX);
	config_free_names(&cfg->allow_users);
	config_free_names(&cfg->allow_groups);
	config_free_names(&cfg->admin_users);
	config_free_names(&cfg->admin_groups);
	memset(cfg, 0, sizeof(*cfg));
}
