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
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mtrprobe/protocol.h"

/* Longest value of any key (paths included), in bytes. */
#define CONFIG_VALUE_MAX 4095
/* Longest config file config_load_file() reads. */
#define CONFIG_FILE_MAX (1024 * 1024)
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
};

static const char *const config_log_levels[] = {
	[LOG_LEVEL_ERROR] = "error",
	[LOG_LEVEL_WARNING] = "warning",
	[LOG_LEVEL_INFO] = "info",
	[LOG_LEVEL_DEBUG] = "debug",
};

/* Where an error message goes while parsing one line. */
struct config_ctx {
	const char *name;
	unsigned long line;
	char *err; /* CONFIG_ERR_MAX bytes, or NULL */
};

/* Write "NAME:LINE: message" into the context's error buffer and return -EINVAL. */
static int config_fail(const struct config_ctx *ctx, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int config_fail(const struct config_ctx *ctx, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!ctx->err)
		return -EINVAL;
	n = snprintf(ctx->err, CONFIG_ERR_MAX, "%s:%lu: ", ctx->name, ctx->line);
	if (n < 0 || n >= CONFIG_ERR_MAX)
		return -EINVAL;
	va_start(ap, fmt);
	vsnprintf(ctx->err + n, CONFIG_ERR_MAX - (size_t)n, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* Whether ch is blank for the purpose of trimming (CR included, for CRLF files). */
static int config_is_blank(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\v' || ch == '\f';
}

/* Narrow [*s, *s + *len) to exclude blanks at both ends. */
static void config_trim(const char **s, size_t *len)
{
	while (*len > 0 && config_is_blank(**s)) {
		(*s)++;
		(*len)--;
	}
	while (*len > 0 && config_is_blank((*s)[*len - 1]))
		(*len)--;
}

/* Copy at most 64 bytes of s for an error message, non-printables as '?'. */
static void config_quote(char *buf, size_t size, const char *s, size_t len)
{
	size_t n = len < size - 1 ? len : size - 1;

	for (size_t i = 0; i < n; i++)
		buf[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	buf[n] = '\0';
}

/* The known key named by [s, s + len), or NULL. */
static const struct config_key *config_key_find(const char *s, size_t len)
{
	for (size_t i = 0; i < sizeof(config_keys) / sizeof(config_keys[0]); i++)
		if (strlen(config_keys[i].name) == len && memcmp(config_keys[i].name, s, len) == 0)
			return &config_keys[i];
	return NULL;
}

/* Parse a whole decimal integer into *ret.  0 or -EINVAL (junk, overflow). */
static int config_parse_ll(const char *s, long long *ret)
{
	const char *p = s;
	char *end;
	long long v;

	if (*p == '-')
		p++;
	if (*p < '0' || *p > '9')
		return -EINVAL;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -EINVAL;
	*ret = v;
	return 0;
}

/* Parse a finite decimal number into *ret.  0 or -EINVAL. */
static int config_parse_double(const char *s, double *ret)
{
	char *end;
	double v;

	if (*s == '\0' || strspn(s, "0123456789.eE+-") != strlen(s))
		return -EINVAL; /* no hex, inf, nan or spaces */
	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || *end != '\0' || !isfinite(v))
		return -EINVAL;
	*ret = v;
	return 0;
}

/* Set an int or size_t key from a decimal integer within its range. */
static int config_set_integer(struct mp_config *cfg, const struct config_key *k, const char *value,
			      const struct config_ctx *ctx)
{
	long long v;
	char *field = (char *)cfg + k->offset;

	if (config_parse_ll(value, &v) < 0 || v < (long long)k->min || v > (long long)k->max)
		return config_fail(ctx, "%s: must be an integer from %lld to %lld", k->name,
				   (long long)k->min, (long long)k->max);
	if (k->kind == CONFIG_SIZE)
		*(size_t *)(void *)field = (size_t)v;
	else
		*(int *)(void *)field = (int)v;
	return 0;
}

/* Set a double key from a finite number within its range. */
static int config_set_number(struct mp_config *cfg, const struct config_key *k, const char *value,
			     const struct config_ctx *ctx)
{
	double v;

	if (config_parse_double(value, &v) < 0 || v < k->min || v > k->max)
		return config_fail(ctx, "%s: must be a number from %g to %g", k->name, k->min,
				   k->max);
	*(double *)(void *)((char *)cfg + k->offset) = v;
	return 0;
}

/* Set socket_mode from octal digits ("0660" or "660"). */
static int config_set_mode(struct mp_config *cfg, const struct config_key *k, const char *value,
			   const struct config_ctx *ctx)
{
	unsigned long v = 0;
	size_t n = strspn(value, "01234567");

	while (n > 1 && *value == '0') {
		value++;
		n--;
	}
	if (n == 0 || n > 3 || value[n] != '\0')
		return config_fail(ctx, "%s: must be an octal mode from 0 to 0777", k->name);
	for (size_t i = 0; i < n; i++)
		v = v * 8 + (unsigned long)(value[i] - '0');
	cfg->socket_mode = (mode_t)v;
	return 0;
}

/* Replace the string in a char * field with a copy of value (NULL for ""). */
static int config_replace_string(char **field, const char *value, const struct config_ctx *ctx)
{
	char *copy = NULL;

	if (*value) {
		copy = strdup(value);
		if (!copy) {
			config_fail(ctx, "out of memory");
			return -ENOMEM;
		}
	}
	free(*field);
	*field = copy;
	return 0;
}

/* Set a string or path key after checking its form. */
static int config_set_string(struct mp_config *cfg, const struct config_key *k, const char *value,
			     const struct config_ctx *ctx)
{
	char **field = (char **)(void *)((char *)cfg + k->offset);

	if (k->kind != CONFIG_STRING && *value != '\0' && *value != '/')
		return config_fail(ctx, "%s: must be an absolute path", k->name);
	if (k->kind == CONFIG_SOCKET && strlen(value) >= CONFIG_SUN_PATH_MAX)
		return config_fail(ctx, "%s: must be shorter than %d bytes", k->name,
				   CONFIG_SUN_PATH_MAX);
	return config_replace_string(field, value, ctx);
}

/* Set log_level from one of its names. */
static int config_set_log_level(struct mp_config *cfg, const struct config_key *k,
				const char *value, const struct config_ctx *ctx)
{
	for (size_t i = 0; i < sizeof(config_log_levels) / sizeof(config_log_levels[0]); i++) {
		if (strcmp(value, config_log_levels[i]) == 0) {
			cfg->log_level = (enum log_level)i;
			return 0;
		}
	}
	return config_fail(ctx, "%s: must be one of error, warning, info, debug", k->name);
}

/* Free the first n strings of a server list. */
static void config_free_servers(char **servers, int n)
{
	for (int i = 0; i < n; i++) {
		free(servers[i]);
		servers[i] = NULL;
	}
}

/* Check one dns_servers item and append a copy of it to servers. */
static int config_add_server(char **servers, int *n, const char *item, size_t len,
			     const struct config_ctx *ctx)
{
	char buf[CONFIG_VALUE_MAX + 1], q[65];

	if (len == 0)
		return config_fail(ctx, "dns_servers: empty item in list");
	memcpy(buf, item, len);
	buf[len] = '\0';
	config_quote(q, sizeof(q), item, len);
	if (config_parse_dns_server(buf, NULL, 0, NULL) < 0)
		return config_fail(ctx, "dns_servers: invalid address '%s'", q);
	if (*n >= CONFIG_DNS_SERVERS_MAX)
		return config_fail(ctx, "dns_servers: at most %d servers", CONFIG_DNS_SERVERS_MAX);
	servers[*n] = strdup(buf);
	if (!servers[*n]) {
		config_fail(ctx, "out of memory");
		return -ENOMEM;
	}
	(*n)++;
	return 0;
}

/* Set dns_servers from a comma-separated list; an empty value means none. */
static int config_set_servers(struct mp_config *cfg, const char *value,
			      const struct config_ctx *ctx)
{
	char *servers[CONFIG_DNS_SERVERS_MAX] = { NULL };
	const char *p = value, *comma;
	int n = 0, r = 0;

	for (; *value && r == 0; p = comma + 1) {
		const char *item = p;
		size_t len;

		comma = strchr(p, ',');
		len = comma ? (size_t)(comma - p) : strlen(p);
		config_trim(&item, &len);
		r = config_add_server(servers, &n, item, len, ctx);
		if (!comma)
			break;
	}
	if (r < 0) {
		config_free_servers(servers, n);
		return r;
	}
	config_free_servers(cfg->dns_servers, cfg->n_dns_servers);
	memcpy(cfg->dns_servers, servers, sizeof(servers));
	cfg->n_dns_servers = n;
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
			    const struct config_ctx *ctx)
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
		config_trim(&item, &len);
		config_quote(q, sizeof(q), item, len);
		if (!config_name_ok(item, len)) {
			config_free_names(&l);
			return config_fail(ctx, "%s: invalid name '%s'", k->name, q);
		}
		if (l.n >= CONFIG_NAMES_MAX) {
			config_free_names(&l);
			return config_fail(ctx, "%s: at most %d names", k->name, CONFIG_NAMES_MAX);
		}
		l.items[l.n] = strndup(item, len);
		if (!l.items[l.n]) {
			config_free_names(&l);
			config_fail(ctx, "out of memory");
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
		      const struct config_ctx *ctx)
{
	if (*value == '\0' && k->kind != CONFIG_SERVERS && k->kind != CONFIG_PATH &&
	    k->kind != CONFIG_NAMES)
		return config_fail(ctx, "%s: missing value", k->name);
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
		return config_set_servers(cfg, value, ctx);
	case CONFIG_LOGLEVEL:
		return config_set_log_level(cfg, k, value, ctx);
	case CONFIG_NAMES:
		return config_set_names(cfg, k, value, ctx);
	}
	return config_fail(ctx, "%s: internal error", k->name);
}

/* Check a value for length and control characters, then apply it to key k. */
static int config_apply(struct mp_config *cfg, const struct config_key *k, const char *value,
			size_t len, const struct config_ctx *ctx)
{
	char buf[CONFIG_VALUE_MAX + 1];

	if (len > CONFIG_VALUE_MAX)
		return config_fail(ctx, "%s: value longer than %d bytes", k->name,
				   CONFIG_VALUE_MAX);
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)value[i] < 0x20 && value[i] != '\t')
			return config_fail(ctx, "%s: control character in value", k->name);
	memcpy(buf, value, len);
	buf[len] = '\0';
	return config_set(cfg, k, buf, ctx);
}

/* Parse one line (without its '\n') and apply it. */
static int config_parse_line(struct mp_config *cfg, const char *line, size_t len,
			     const struct config_ctx *ctx)
{
	const char *hash, *eq, *key, *value;
	const struct config_key *k;
	size_t key_len, value_len;
	char q[65];

	if (memchr(line, '\0', len))
		return config_fail(ctx, "NUL byte in line");
	hash = memchr(line, '#', len);
	if (hash)
		len = (size_t)(hash - line);
	config_trim(&line, &len);
	if (len == 0)
		return 0;
	eq = memchr(line, '=', len);
	key = line;
	key_len = eq ? (size_t)(eq - line) : len;
	config_trim(&key, &key_len);
	config_quote(q, sizeof(q), key, key_len);
	k = config_key_find(key, key_len);
	if (!eq && k)
		return config_fail(ctx, "%s: missing '='", k->name);
	if (!eq)
		return config_fail(ctx, "missing '=' in '%s'", q);
	if (key_len == 0)
		return config_fail(ctx, "missing key before '='");
	if (!k)
		return config_fail(ctx, "unknown key '%s'", q);
	value = eq + 1;
	value_len = len - (size_t)(value - line);
	config_trim(&value, &value_len);
	return config_apply(cfg, k, value, value_len, ctx);
}

/* Apply the settings in a whole config file's text on top of cfg. */
int config_parse_text(struct mp_config *cfg, const char *text, size_t len, const char *name,
		      char err[CONFIG_ERR_MAX])
{
	struct config_ctx ctx = { .name = name ? name : "(config)", .line = 0, .err = err };
	const char *end = text + len;

	if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
		text += 3;
	while (text < end) {
		const char *nl = memchr(text, '\n', (size_t)(end - text));
		const char *line_end = nl ? nl : end;
		int r;

		ctx.line++;
		r = config_parse_line(cfg, text, (size_t)(line_end - text), &ctx);
		if (r < 0)
			return r;
		text = nl ? nl + 1 : end;
	}
	return 0;
}

/* Write "PATH: message" into err (when given) and return r. */
static int config_file_fail(char *err, const char *path, int r, const char *msg)
{
	if (err)
		snprintf(err, CONFIG_ERR_MAX, "%s: %s", path, msg ? msg : strerror(-r));
	return r;
}

/* Read the whole of fd into a new buffer.  0 or -errno (-EFBIG when too large). */
static int config_read_all(int fd, char **ret_buf, size_t *ret_len)
{
	size_t len = 0, size = 4096;
	char *buf = malloc(size), *nbuf;
	ssize_t n;

	for (;;) {
		if (!buf)
			return -ENOMEM;
		n = read(fd, buf + len, size - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		if (len > CONFIG_FILE_MAX) {
			free(buf);
			return -EFBIG;
		}
		if (len == size) {
			size *= 2;
			nbuf = realloc(buf, size);
			if (!nbuf)
				free(buf);
			buf = nbuf;
		}
	}
	if (n < 0) {
		int r = -errno;

		free(buf);
		return r;
	}
	*ret_buf = buf;
	*ret_len = len;
	return 0;
}

/* Read path and apply it as config_parse_text() does; -errno on read errors. */
int config_load_file(struct mp_config *cfg, const char *path, char err[CONFIG_ERR_MAX])
{
	char *buf = NULL;
	size_t len = 0;
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return config_file_fail(err, path, -errno, NULL);
	r = config_read_all(fd, &buf, &len);
	close(fd);
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

	if (*s < '0' || *s > '9' || config_parse_ll(s, &v) < 0 || v < 1 || v > 65535)
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
	config_free_servers(cfg->dns_servers, CONFIG_DNS_SERVERS_MAX);
	config_free_names(&cfg->allow_users);
	config_free_names(&cfg->allow_groups);
	config_free_names(&cfg->admin_users);
	config_free_names(&cfg->admin_groups);
	memset(cfg, 0, sizeof(*cfg));
}
