/* The lexical pieces of the daemon's "key = value" files. */
#include "daemon/kvtext.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int kv_fail(const struct kv_ctx *ctx, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!ctx->err)
		return -EINVAL;
	n = snprintf(ctx->err, KV_ERR_MAX, "%s:%lu: ", ctx->name, ctx->line);
	if (n < 0 || n >= KV_ERR_MAX)
		return -EINVAL;
	va_start(ap, fmt);
	vsnprintf(ctx->err + n, KV_ERR_MAX - (size_t)n, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

int kv_each_line(const char *text, size_t len, struct kv_ctx *ctx, kv_line_fn fn, void *arg)
{
	const char *end = text + len;

	ctx->line = 0;
	if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
		text += 3;
	while (text < end) {
		const char *nl = memchr(text, '\n', (size_t)(end - text));
		const char *line = text, *hash;
		size_t n = (size_t)((nl ? nl : end) - text);
		int r = 0;

		ctx->line++;
		text = nl ? nl + 1 : end;
		if (memchr(line, '\0', n))
			return kv_fail(ctx, "NUL byte in line");
		hash = memchr(line, '#', n);
		if (hash)
			n = (size_t)(hash - line);
		kv_trim(&line, &n);
		if (n > 0)
			r = fn(arg, line, n, ctx);
		if (r < 0)
			return r;
	}
	return 0;
}

bool kv_split(const char *line, size_t len, const char **key, size_t *key_len,
	      const char **value, size_t *value_len)
{
	const char *eq = memchr(line, '=', len);

	*key = line;
	*key_len = eq ? (size_t)(eq - line) : len;
	kv_trim(key, key_len);
	*value = eq ? eq + 1 : line + len;
	*value_len = eq ? len - (size_t)(eq + 1 - line) : 0;
	kv_trim(value, value_len);
	return eq != NULL;
}

bool kv_is_blank(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\v' || ch == '\f';
}

void kv_trim(const char **s, size_t *len)
{
	while (*len > 0 && kv_is_blank(**s)) {
		(*s)++;
		(*len)--;
	}
	while (*len > 0 && kv_is_blank((*s)[*len - 1]))
		(*len)--;
}

void kv_quote(char *buf, size_t size, const char *s, size_t len)
{
	size_t n = len < size - 1 ? len : size - 1;

	for (size_t i = 0; i < n; i++)
		buf[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	buf[n] = '\0';
}

int kv_parse_ll(const char *s, long long *ret)
{
	const char *p = s[0] == '-' ? s + 1 : s;
	char *end;
	long long v;

	if (*p < '0' || *p > '9')
		return -EINVAL;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -EINVAL;
	*ret = v;
	return 0;
}

int kv_parse_double(const char *s, double *ret)
{
	char *end;
	double v;

	if (*s == '\0' || strspn(s, "0123456789.eE+-") != strlen(s))
		return -EINVAL;
	v = strtod(s, &end);
	if (end == s || *end != '\0' || !isfinite(v))
		return -EINVAL;
	*ret = v;
	return 0;
}

/* Read the whole of fd, growing the buffer.  0, -EFBIG, -ENOMEM or -errno. */
static int kv_read_fd(int fd, char **ret_buf, size_t *ret_len)
{
	size_t len = 0, size = 4096;
	char *buf = malloc(size), *nbuf;
	ssize_t n;

	for (;;) {
		if (!buf)
			return -ENOMEM;
		n = read(fd, buf + len, size - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		if (len > KV_FILE_MAX) {
			free(buf);
			return -EFBIG;
		}
		if (len == size - 1) {
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
	buf[len] = '\0';
	*ret_buf = buf;
	*ret_len = len;
	return 0;
}

int kv_read_file(const char *path, char **ret_buf, size_t *ret_len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	int r;

	if (fd < 0)
		return -errno;
	r = kv_read_fd(fd, ret_buf, ret_len);
	close(fd);
	return r;
}
