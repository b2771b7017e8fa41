/*
 * mtrprobectl monitor: add, remove, list and show the daemon's monitors
 * (the monitor_* operations), with a smokeping-style summary of a ping
 * monitor and an mtr-style table of a trace monitor's path.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"

/* An option of `monitor add` that sets a definition key. */
struct key_opt {
	const char *option;   /* long option */
	const char *key;      /* definition key */
	char type;            /* 'i' integer, 'n' number, 's' string */
};

static const struct key_opt key_opts[] = {
	{ "kind", "kind", 's' },
	{ "count", "count", 'i' },
	{ "interval", "interval", 'n' },
	{ "period", "period", 'n' },
	{ "timeout", "timeout", 'n' },
	{ "ip-version", "ip_version", 's' },
	{ "addresses", "addresses", 's' },
	{ "protocol", "protocol", 's' },
	{ "port", "port", 'i' },
	{ "first-ttl", "first_ttl", 'i' },
	{ "max-ttl", "max_ttl", 'i' },
	{ "size", "size", 'i' },
	{ "tos", "tos", 'i' },
	{ "ttl", "ttl", 'i' },
	{ "loss-threshold", "loss_threshold", 'n' },
};
#define N_KEY_OPTS (sizeof(key_opts) / sizeof(key_opts[0]))
#define OPT_LABEL 1000
#define OPT_WATCH 1001

static volatile sig_atomic_t monitor_interrupted;

static void monitor_on_sigint(int sig)
{
	monitor_interrupted = 1;
}

static void monitor_usage(FILE *f)
{
	fputs("Usage: " PROG " monitor add [OPTIONS] NAME TARGET\n"
	      "       " PROG " monitor rm NAME\n"
	      "       " PROG " monitor list\n"
	      "       " PROG " monitor show [--watch] NAME\n"
	      "       " PROG " monitor events [NAME]\n"
	      "\n"
	      "Options of add (the keys of a monitor definition, mtrprobed.conf(5)):\n"
	      "      --kind ping|trace      (default ping)\n"
	      "  -c, --count N              ping probes per cycle (default 5)\n"
	      "  -i, --interval SECONDS     between a cycle's pings (default 1)\n"
	      "      --period SECONDS       between cycles (default 60)\n"
	      "      --timeout SECONDS      per probe (default 2)\n"
	      "  -4, -6, --ip-version any|4|6|both\n"
	      "      --addresses first      which addresses of a name\n"
	      "      --protocol P, --port N, --size N, --tos N, --ttl N\n"
	      "      --first-ttl N, --max-ttl N   a trace's TTLs (default 1, 30)\n"
	      "      --loss-threshold PERCENT\n"
	      "      --label NAME=VALUE     a label of its series (repeatable)\n"
	      "show --watch: show again every period until interrupted.\n",
	      f);
}

/* The JSON value of option text of type t; NULL (a usage error reported in *rc) when invalid. */
static json_t *monitor_value(const struct key_opt *k, const char *text, int *rc)
{
	char *end;
	json_t *v = NULL;

	errno = 0;
	if (k->type == 'i') {
		long long x = strtoll(text, &end, 10);

		if (!errno && end != text && !*end)
			v = json_integer(x);
	} else if (k->type == 'n') {
		double x = strtod(text, &end);

		if (!errno && end != text && !*end && isfinite(x))
			v = json_real(x);
	} else if (strcmp(k->key, "ip_version") == 0 && (!strcmp(text, "4") || !strcmp(text, "6"))) {
		v = json_integer(text[0] - '0');
	} else {
		*rc = arg_string(k->option, text, &v);
		return *rc == CONTINUE ? v : NULL;
	}
	if (!v)
		*rc = usage_error("--%s: '%s' is not %s", k->option, text,
				  k->type == 'i' ? "an integer" : "a number");
	return v;
}

/* Add --label NAME=VALUE to labels. */
static int monitor_label(json_t *labels, const char *text)
{
	const char *eq = strchr(text, '=');
	char name[256];
	json_t *v;
	int rc;

	if (!eq || eq == text || (size_t)(eq - text) >= sizeof(name))
		return usage_error("--label: '%s' is not NAME=VALUE", text);
	snprintf(name, sizeof(name), "%.*s", (int)(eq - text), text);
	rc = arg_string("--label", eq + 1, &v);
	if (rc != CONTINUE)
		return rc;
	return json_object_set_new(labels, name, v) < 0 ? oom() : CONTINUE;
}

/* Parse `monitor add`'s options into mon; CONTINUE or an exit status. */
static int monitor_add_options(int argc, char **argv, json_t *mon, json_t *labels)
{
	struct option longopts[N_KEY_OPTS + 4];
	int c, rc = CONTINUE;

	for (size_t i = 0; i < N_KEY_OPTS; i++)
		longopts[i] = (struct option){ key_opts[i].option, required_argument, NULL, (int)i };
	longopts[N_KEY_OPTS] = (struct option){ "label", required_argument, NULL, OPT_LABEL };
	longopts[N_KEY_OPTS + 1] = (struct option){ "help", no_argument, NULL, 'h' };
	longopts[N_KEY_OPTS + 2] = (struct option){ NULL, 0, NULL, 0 };
	optind = 1;
	while (rc == CONTINUE && (c = getopt_long(argc, argv, "+:c:i:46h", longopts, NULL)) != -1) {
		const struct key_opt *k = NULL;
		json_t *v;

		if (c == 'h') {
			monitor_usage(stdout);
			return EXIT_OK;
		}
		if (c == OPT_LABEL) {
			rc = monitor_label(labels, optarg);
			continue;
		}
		if (c == '4' || c == '6') {
			rc = json_object_set_new(mon, "ip_version", json_integer(c - '0')) < 0 ? oom() : rc;
			continue;
		}
		if (c == 'c' || c == 'i')
			k = &key_opts[c == 'c' ? 1 : 2];
		else if (c >= 0 && c < (int)N_KEY_OPTS)
			k = &key_opts[c];
		if (!k)
			return c == ':' ? usage_error("monitor add: option needs a value") :
					  usage_error("monitor add: unknown option");
		v = monitor_value(k, optarg, &rc);
		if (v && json_object_set_new(mon, k->key, v) < 0)
			rc = oom();
	}
	return rc;
}

/* `monitor add`. */
static int monitor_add(struct ctl *ctl, int argc, char **argv)
{
	json_t *mon = json_object(), *labels = json_object(), *v, *resp;
	int rc;

	if (!mon || !labels)
		return oom();
	rc = monitor_add_options(argc, argv, mon, labels);
	if (rc == CONTINUE && argc - optind != 2)
		rc = usage_error("monitor add: NAME and TARGET expected");
	if (rc == CONTINUE && (arg_string("NAME", argv[optind], &v) != CONTINUE ||
			       json_object_set_new(mon, "name", v) < 0 ||
			       arg_string("TARGET", argv[optind + 1], &v) != CONTINUE ||
			       json_object_set_new(mon, "target", v) < 0))
		rc = usage_error("monitor add: NAME and TARGET must be UTF-8");
	if (rc == CONTINUE && json_object_size(labels) > 0)
		rc = json_object_set(mon, "labels", labels) < 0 ? oom() : rc;
	json_decref(labels);
	if (rc != CONTINUE) {
		json_decref(mon);
		return rc;
	}
	rc = ctl_request(ctl, json_pack("{s:s,s:o}", "op", "monitor_add", "monitor", mon), &resp);
	if (rc != EXIT_OK)
		return rc;
	if (!ctl->json) {
		fputs("monitor ", stdout);
		put_text(argv[optind]);
		puts(" added");
	}
	json_decref(resp);
	return EXIT_OK;
}

/* Spaces after s to fill a column of width (none when s is as wide). */
static int monitor_pad(const char *s, int width)
{
	int n = s ? (int)strlen(s) : 1;

	return n < width ? width - n : 0;
}

/* A number of an object, or NAN. */
static double monitor_num(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	return json_is_number(v) ? json_number_value(v) : NAN;
}

/* " KEY VALUE ms" for the window's key, or nothing when null. */
static void monitor_ms(json_t *w, const char *label, const char *key)
{
	double x = monitor_num(w, key);

	if (!isnan(x))
		printf(", %s %.3f ms", label, x);
}

/* A ping monitor's streams, one line each. */
static void monitor_show_streams(json_t *streams)
{
	size_t i;
	json_t *st;

	json_array_foreach(streams, i, st) {
		json_t *w = json_object_get(st, "window");
		const char *addr = json_string_value(json_object_get(st, "address"));
		double loss = monitor_num(w, "loss_pct");

		fputs("  ", stdout);
		put_text(addr && *addr ? addr : "(not resolved yet)");
		printf(": %.0f sent, %.0f received", monitor_num(st, "sent"),
		       monitor_num(st, "received"));
		if (!isnan(loss))
			printf(", %.1f%% loss", loss);
		monitor_ms(w, "median", "median_ms");
		monitor_ms(w, "p90", "p90_ms");
		monitor_ms(w, "p99", "p99_ms");
		monitor_ms(w, "jitter", "jitter_ms");
		printf(" (window of %.0f probes)\n", monitor_num(w, "sent"));
	}
}

/* A trace monitor's path as mtr's report table. */
static void monitor_show_path(json_t *path)
{
	json_t *hops = json_object_get(path, "hops"), *h;
	size_t i;

	printf("  path of %.0f hops, changed %.0f times\n", monitor_num(path, "path_hops"),
	       monitor_num(path, "path_changes"));
	printf("  %-4s %-40s %6s %6s %7s %9s\n", "TTL", "RESPONDER", "SENT", "RECV", "LOSS%",
	       "AVG ms");
	json_array_foreach(hops, i, h) {
		const char *r = json_string_value(json_object_get(h, "responder"));
		double sent = monitor_num(h, "sent"), recv = monitor_num(h, "received");
		double avg = monitor_num(h, "mean_ms");

		printf("  %3.0f. ", monitor_num(h, "ttl"));
		put_text(r && *r ? r : "???");
		printf("%*s %6.0f %6.0f %7.1f ", monitor_pad(r && *r ? r : "???", 40), "", sent,
		       recv, sent > 0 ? 100.0 * (sent - recv) / sent : 0.0);
		if (isnan(avg))
			puts("        -");
		else
			printf("%9.3f\n", avg);
	}
}

/* Print a monitor_show answer. */
static void monitor_print(json_t *resp)
{
	json_t *m = json_object_get(resp, "monitor"), *owner = json_object_get(resp, "owner");
	const char *kind = json_string_value(json_object_get(m, "kind"));
	bool trace = kind && strcmp(kind, "trace") == 0;

	put_text(json_string_value(json_object_get(m, "name")));
	printf(": %s ", trace ? "trace" : "ping");
	put_text(json_string_value(json_object_get(m, "target")));
	printf(" every %g s", monitor_num(m, "period"));
	if (trace)
		printf(", TTL %.0f-%.0f", monitor_num(m, "first_ttl"), monitor_num(m, "max_ttl"));
	else
		printf(", %.0f probes %g s apart", monitor_num(m, "count"), monitor_num(m, "interval"));
	if (json_is_integer(owner))
		printf(" (uid %" JSON_INTEGER_FORMAT ")", json_integer_value(owner));
	else
		fputs(" (monitors directory)", stdout);
	printf("; %.0f cycles, %.0f late\n", monitor_num(resp, "cycles"),
	       monitor_num(resp, "cycles_late"));
	if (trace)
		monitor_show_path(json_object_get(resp, "path"));
	else
		monitor_show_streams(json_object_get(resp, "streams"));
}

/* `monitor show [--watch] NAME`. */
static int monitor_show(struct ctl *ctl, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "watch", no_argument, NULL, OPT_WATCH },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool watch = false;
	json_t *resp, *name;
	int c, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		if (c == 'h') {
			monitor_usage(stdout);
			return EXIT_OK;
		}
		if (c != OPT_WATCH)
			return usage_error("monitor show: unknown option");
		watch = true;
	}
	if (argc - optind != 1)
		return usage_error("monitor show: NAME expected");
	rc = arg_string("NAME", argv[optind], &name);
	if (rc != CONTINUE)
		return rc;
	if (watch && mpc_signal_set(SIGINT, monitor_on_sigint) < 0) {
		json_decref(name);
		return oom();
	}
	for (;;) {
		double period;

		rc = ctl_request(ctl, json_pack("{s:s,s:O}", "op", "monitor_show", "name", name),
				 &resp);
		if (rc != EXIT_OK)
			break;
		if (!ctl->json)
			monitor_print(resp);
		period = monitor_num(json_object_get(resp, "monitor"), "period");
		json_decref(resp);
		fflush(stdout);
		if (!watch)
			break;
		if (!(period >= 1))
			period = 1;
		for (double t = 0; t < period && !monitor_interrupted; t += 0.1)
			nanosleep(&(struct timespec){ 0, 100000000 }, NULL);
		if (monitor_interrupted)
			break;
		if (!ctl->json)
			putchar('\n');
		fflush(stdout);
	}
	json_decref(name);
	return rc;
}

/* `monitor list`: one line per monitor. */
static int monitor_list(struct ctl *ctl, int argc, char **argv)
{
	json_t *resp, *list, *m;
	size_t i;
	int rc;

	if (argc > 1)
		return usage_error("monitor list: no argument expected");
	rc = ctl_request(ctl, json_pack("{s:s}", "op", "monitor_list"), &resp);
	if (rc != EXIT_OK)
		return rc;
	list = json_object_get(resp, "monitors");
	if (!json_is_array(list))
		return response_malformed(resp, "monitors");
	if (!ctl->json) {
		printf("%-24s %-5s %-24s %-6s %8s %8s %7s %9s\n", "NAME", "KIND", "TARGET", "OWNER",
		       "PERIOD", "CYCLES", "LOSS%", "MEDIAN ms");
		json_array_foreach(list, i, m) {
			json_t *w = json_object_get(m, "window"), *owner = json_object_get(m, "owner");
			const char *name = json_string_value(json_object_get(m, "name"));
			const char *target = json_string_value(json_object_get(m, "target"));
			double loss = monitor_num(w, "loss_pct"), med = monitor_num(w, "median_ms");
			char own[24];

			if (json_is_integer(owner))
				snprintf(own, sizeof(own), "%lld", (long long)json_integer_value(owner));
			else
				snprintf(own, sizeof(own), "files");
			put_text(name ? name : "?");
			printf("%*s %-5s ", monitor_pad(name, 24), "",
			       json_string_value(json_object_get(m, "kind")));
			put_text(target ? target : "?");
			printf("%*s %-6s %8g %8.0f", monitor_pad(target, 24), "", own,
			       monitor_num(m, "period"), monitor_num(m, "cycles"));
			if (isnan(loss))
				printf(" %7s", "-");
			else
				printf(" %7.1f", loss);
			if (isnan(med))
				printf(" %9s\n", "-");
			else
				printf(" %9.3f\n", med);
		}
	}
	json_decref(resp);
	return EXIT_OK;
}

/* How events are printed. */
struct event_print {
	bool json;   /* --json: each as its line */
};

/* One event: its line under --json, else "TIME MONITOR EVENT details". */
static int monitor_event_line(void *arg, json_t *ev)
{
	const struct event_print *pr = arg;
	const char *what = json_string_value(json_object_get(ev, "event"));
	const char *key;
	time_t t = (time_t)monitor_num(ev, "time");
	char when[32];
	json_t *v;

	if (!what)
		return CONTINUE;
	if (pr->json) {
		char *line = json_dumps(ev, JSON_COMPACT);

		if (!line)
			return oom();
		puts(line);
		free(line);
		fflush(stdout);
		return CONTINUE;
	}
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", localtime(&t));
	printf("%s ", when);
	put_text(json_string_value(json_object_get(ev, "monitor")));
	printf(" %s", what);
	json_object_foreach(ev, key, v) {
		char *text;

		if (!strcmp(key, "id") || !strcmp(key, "event") || !strcmp(key, "monitor") ||
		    !strcmp(key, "time"))
			continue;
		text = json_is_string(v) ? NULL : json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
		printf(" %s=", key);
		put_text(json_is_string(v) ? json_string_value(v) : text ? text : "?");
		free(text);
	}
	putchar('\n');
	fflush(stdout);
	return CONTINUE;
}

/* `monitor events [NAME]`: follow the events until interrupted. */
static int monitor_events(struct ctl *ctl, int argc, char **argv)
{
	json_t *req = json_pack("{s:s}", "op", "monitor_events"), *resp, *name;
	struct event_print pr = { ctl->json };
	int rc;

	if (argc > 2)
		return usage_error("monitor events: at most one NAME");
	if (!req)
		return oom();
	if (argc == 2) {
		rc = arg_string("NAME", argv[1], &name);
		if (rc != CONTINUE || json_object_set_new(req, "name", name) < 0) {
			json_decref(req);
			return rc != CONTINUE ? rc : oom();
		}
	}
	rc = ctl_request(ctl, req, &resp);
	if (rc != EXIT_OK)
		return rc;
	json_decref(resp);
	return ctl_follow(ctl, monitor_event_line, &pr);
}

int cmd_monitor(struct ctl *ctl, int argc, char **argv)
{
	json_t *resp, *name;
	int rc;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		monitor_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : EXIT_OK;
	}
	if (strcmp(argv[1], "add") == 0)
		return monitor_add(ctl, argc - 1, argv + 1);
	if (strcmp(argv[1], "list") == 0)
		return monitor_list(ctl, argc - 1, argv + 1);
	if (strcmp(argv[1], "show") == 0)
		return monitor_show(ctl, argc - 1, argv + 1);
	if (strcmp(argv[1], "events") == 0)
		return monitor_events(ctl, argc - 1, argv + 1);
	if (strcmp(argv[1], "rm") != 0)
		return usage_error("monitor: unknown subcommand '%s'", argv[1]);
	if (argc != 3)
		return usage_error("monitor rm: NAME expected");
	rc = arg_string("NAME", argv[2], &name);
	if (rc != CONTINUE)
		return rc;
	rc = ctl_request(ctl, json_pack("{s:s,s:o}", "op", "monitor_remove", "name", name), &resp);
	if (rc != EXIT_OK)
		return rc;
	if (!ctl->json) {
		fputs("monitor ", stdout);
		put_text(argv[2]);
		puts(" removed");
	}
	json_decref(resp);
	return EXIT_OK;
}
