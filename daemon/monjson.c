/*
 * Monitor definitions as JSON objects.  Reading writes the object as a
 * definition file's section ("[name]" and "key = value" lines) after
 * checking each value's JSON type, and hands it to mondef_parse_text():
 * one parser, one set of checks and messages for files and the socket.
 * A message "monitor:LINE: count: ..." comes back as "monitor.count: ...".
 */
#include "daemon/monjson.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Room for a section: every key and 16 labels of 64 + 128 bytes. */
#define MONJSON_TEXT_MAX 8192

/* A section being written. */
struct monjson_text {
	char buf[MONJSON_TEXT_MAX];
	size_t len;
};

static int monjson_fail(char *err, const char *field, const char *msg)
{
	snprintf(err, MONDEF_ERR_MAX, "monitor%s%.64s: %.400s", field ? "." : "", field ? field : "", msg);
	return -EINVAL;
}

/* Append "key = value\n" to t.  -EINVAL if it does not fit. */
static int monjson_line(struct monjson_text *t, const char *key, const char *value)
{
	int n = snprintf(t->buf + t->len, sizeof(t->buf) - t->len, "%s = %s\n", key, value);

	if (n < 0 || (size_t)n >= sizeof(t->buf) - t->len)
		return -EINVAL;
	t->len += (size_t)n;
	return 0;
}

/*
 * A string value that the text syntax carries unchanged: no control
 * character, no '#', no blanks at either end (which the parser would trim).
 */
static bool monjson_text_ok(const char *s)
{
	size_t n = strlen(s);

	if (n > 0 && (s[0] == ' ' || s[n - 1] == ' '))
		return false;
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f || *s == '#')
			return false;
	return true;
}

/* The text of the value v of key (of kind type), in buf; NULL (err set) for a wrong type. */
static const char *monjson_value(const char *key, enum mondef_key_type type, json_t *v,
				 char *buf, size_t size, char *err)
{
	bool version = strcmp(key, "ip_version") == 0;

	if (type == MONDEF_KEY_INT || (version && json_is_integer(v))) {
		if (!json_is_integer(v)) {
			monjson_fail(err, key, "must be an integer");
			return NULL;
		}
		snprintf(buf, size, "%lld", (long long)json_integer_value(v));
		return buf;
	}
	if (type == MONDEF_KEY_NUMBER) {
		if (!json_is_number(v)) {
			monjson_fail(err, key, "must be a number");
			return NULL;
		}
		snprintf(buf, size, "%.17g", json_number_value(v));
		return buf;
	}
	if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v)) {
		monjson_fail(err, key, version ? "must be 4, 6, \"any\" or \"both\"" : "must be a string");
		return NULL;
	}
	if (!monjson_text_ok(json_string_value(v))) {
		monjson_fail(err, key, "control character, '#' or blank at an end in value");
		return NULL;
	}
	return json_string_value(v);
}

/* Append the labels object v as label.NAME lines. */
static int monjson_labels(struct monjson_text *t, json_t *v, char *err)
{
	const char *name;
	json_t *value;
	char key[MONDEF_LABEL_NAME_MAX + 16];

	if (!json_is_object(v))
		return monjson_fail(err, "labels", "must be an object of strings");
	json_object_foreach(v, name, value) {
		if (strlen(name) > MONDEF_LABEL_NAME_MAX || !mondef_label_name_ok(name))
			return monjson_fail(err, "labels", "invalid label name");
		snprintf(key, sizeof(key), "label.%s", name);
		if (!json_is_string(value) || !monjson_text_ok(json_string_value(value)) ||
		    strlen(json_string_value(value)) != json_string_length(value))
			return monjson_fail(err, "labels",
					    "values must be strings without control characters or '#'");
		if (monjson_line(t, key, json_string_value(value)) < 0)
			return monjson_fail(err, "labels", "too long");
	}
	return 0;
}

/* Write obj as a section into t. */
static int monjson_section(json_t *obj, struct monjson_text *t, char *err)
{
	json_t *name = json_object_get(obj, "name"), *v;
	const char *key;
	char num[40];

	if (!json_is_object(obj))
		return monjson_fail(err, NULL, "must be an object");
	if (!name)
		return monjson_fail(err, "name", "required");
	if (!json_is_string(name) || !monjson_text_ok(json_string_value(name)) ||
	    strchr(json_string_value(name), ']') || json_string_length(name) > MONDEF_NAME_MAX)
		return monjson_fail(err, "name",
				    "must be 1-64 of A-Z a-z 0-9 _ . -, not starting with . or -");
	t->len = (size_t)snprintf(t->buf, sizeof(t->buf), "[%s]\n", json_string_value(name));
	json_object_foreach(obj, key, v) {
		enum mondef_key_type type = mondef_key_type(key);
		const char *text;

		if (strcmp(key, "name") == 0)
			continue;
		if (strcmp(key, "labels") == 0) {
			if (monjson_labels(t, v, err) < 0)
				return -EINVAL;
			continue;
		}
		if (type == MONDEF_KEY_UNKNOWN)
			return monjson_fail(err, key, "unknown field");
		text = monjson_value(key, type, v, num, sizeof(num), err);
		if (!text)
			return -EINVAL;
		if (monjson_line(t, key, text) < 0)
			return monjson_fail(err, key, "too long");
	}
	return 0;
}

int monjson_read(json_t *obj, struct mondef *d, char err[MONDEF_ERR_MAX])
{
	struct mondef_set set = { 0 };
	struct monjson_text *t = malloc(sizeof(*t));
	char perr[MONDEF_ERR_MAX] = "";
	int r;

	if (!t)
		return monjson_fail(err, NULL, "out of memory");
	r = monjson_section(obj, t, err);
	if (r == 0) {
		r = mondef_parse_text(&set, t->buf, t->len, "monitor", perr);
		if (r == 0 && set.n == 1) {
			*d = set.items[0];
		} else {
			/* "monitor:LINE: count: msg" -> "monitor.count: msg"; anything else -> "monitor: msg" */
			const char *msg = strchr(perr, ' ');
			const char *colon;
			char key[MONDEF_LABEL_NAME_MAX + 8];

			msg = msg ? msg + 1 : perr;
			colon = strchr(msg, ':');
			snprintf(key, sizeof(key), "%.*s", colon ? (int)(colon - msg) : 0, msg);
			if (colon && (mondef_key_type(key) != MONDEF_KEY_UNKNOWN ||
				      strncmp(key, "label.", 6) == 0))
				snprintf(err, MONDEF_ERR_MAX, "monitor.%.400s", msg);
			else
				monjson_fail(err, NULL, msg);
			r = -EINVAL;
		}
	}
	mondef_set_free(&set);
	free(t);
	return r;
}

/* Add "key = value" (one line of a section) to obj, typed by the key. */
static int monjson_put(json_t *obj, const char *key, const char *value)
{
	enum mondef_key_type type = mondef_key_type(key);
	json_t *v;

	if (strncmp(key, "label.", 6) == 0) {
		json_t *labels = json_object_get(obj, "labels");

		return json_object_set_new(labels, key + 6, json_string(value));
	}
	if (type == MONDEF_KEY_INT)
		v = json_integer(strtoll(value, NULL, 10));
	else if (type == MONDEF_KEY_NUMBER)
		v = json_real(strtod(value, NULL));
	else if (strcmp(key, "ip_version") == 0 && (strcmp(value, "4") == 0 || strcmp(value, "6") == 0))
		v = json_integer(value[0] - '0');
	else
		v = json_string(value);
	return json_object_set_new(obj, key, v);
}

json_t *monjson_write(const struct mondef *d)
{
	char *text = malloc(MONJSON_TEXT_MAX), *line, *save = NULL;
	json_t *obj = json_object();
	int r = -1;

	if (!text || !obj || mondef_format(d, text, MONJSON_TEXT_MAX) < 0)
		goto out;
	r = json_object_set_new(obj, "name", json_string(d->name));
	r |= json_object_set_new(obj, "labels", json_object());
	/* Every line after "[name]" is "key = value" or "label.NAME =[ value]". */
	for (line = strtok_r(strchr(text, '\n') + 1, "\n", &save); line && r == 0;
	     line = strtok_r(NULL, "\n", &save)) {
		char *eq = strstr(line, " =");

		if (!eq)
			continue;
		*eq = '\0';
		r = monjson_put(obj, line, eq[2] == ' ' ? eq + 3 : eq + 2);
	}
out:
	free(text);
	if (r != 0) {
		json_decref(obj);
		return NULL;
	}
	return obj;
}
