/*
 * The lexical pieces of the daemon's "key = value" files (the config file
 * and the monitor definitions): blanks, quoting text for messages, strict
 * decimal numbers, and reading a whole file.  Pure but for kv_read_file().
 */
#ifndef MTRPROBED_KVTEXT_H
#define MTRPROBED_KVTEXT_H

#include <stdbool.h>
#include <stddef.h>

/* Size of the error buffers of kv_fail() (CONFIG_ERR_MAX, MONDEF_ERR_MAX). */
#define KV_ERR_MAX 512
/* Longest file kv_read_file() reads. */
#define KV_FILE_MAX (1024 * 1024)

/* Where an error message goes while parsing one line of a file. */
struct kv_ctx {
	const char *name;   /* the file's name */
	unsigned long line; /* 1-based */
	char *err;          /* KV_ERR_MAX bytes, or NULL */
};

/* Write "NAME:LINE: message" into ctx's error buffer (if any) and return -EINVAL. */
int kv_fail(const struct kv_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* One non-blank line: without its comment, trimmed, not empty. */
typedef int (*kv_line_fn)(void *arg, const char *line, size_t len, const struct kv_ctx *ctx);
/*
 * Call fn for every line of a whole file's text that holds more than a
 * comment ('#' to the end of the line) and blanks, counting lines in
 * ctx->line from 1; a UTF-8 byte order mark at the start is skipped, and a
 * NUL byte in a line is an error.  Stops at the first error fn returns.
 * 0 or that error.
 */
int kv_each_line(const char *text, size_t len, struct kv_ctx *ctx, kv_line_fn fn, void *arg);
/*
 * Split a line at its first '=' into the trimmed key and value.  False
 * (the whole line in key) if there is no '='.
 */
bool kv_split(const char *line, size_t len, const char **key, size_t *key_len,
	      const char **value, size_t *value_len);
/* Whether ch is blank for trimming: space, tab, CR (for CRLF files), VT, FF. */
bool kv_is_blank(char ch);
/* Narrow [*s, *s + *len) to exclude blanks at both ends. */
void kv_trim(const char **s, size_t *len);
/* Copy at most size - 1 bytes of s (len bytes) for a message, non-printables as '?'. */
void kv_quote(char *buf, size_t size, const char *s, size_t len);
/* Parse a whole decimal integer ("-" allowed, no "+", no blanks).  0 or -EINVAL (junk, overflow). */
int kv_parse_ll(const char *s, long long *ret);
/*
 * Parse a finite decimal number: digits, '.', exponent, signs; no hex,
 * inf, nan or blanks.  An underflow reads as the number near 0 that
 * strtod() gives (so that any double written with %.17g reads back).
 * 0 or -EINVAL.
 */
int kv_parse_double(const char *s, double *ret);
/*
 * Read the regular file at path into a new NUL-terminated buffer.  0,
 * -EFBIG past KV_FILE_MAX bytes, or -errno.
 */
int kv_read_file(const char *path, char **ret_buf, size_t *ret_len);

#endif
