/*
 * mtrprobe-bench: the report of a run, as a table (the default), one
 * --summary line per pass, or one JSON object (--json).  The notes about
 * particular passes come from their families.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "bench.h"

/* Format a latency figure for the table: "12.345" or "-". */
static const char *fmt_ms(char *buf, size_t len, double v)
{
	if (isnan(v))
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%.3f", v);
	return buf;
}

/* The pass the daemon's throughput is compared with, or NULL. */
static const struct pass *reference_pass(const struct run *r)
{
	int i;

	for (i = 0; i < r->npasses; i++)
		if (r->passes[i].def->reference)
			return &r->passes[i];
	return NULL;
}

/* Whether a pass measured the daemon's throughput, not paced, next to a
 * reference that ran: it has a ratio. */
static bool has_ratio(const struct run *r, const struct pass *p)
{
	const struct pass *ref = reference_pass(r);

	return p && p->kind == PASS_DAEMON && p->ran && p->rate <= 0 && ref && ref->ran &&
	       ref->pps > 0;
}

/* The lines above the table: what was probed, and with what. */
static void print_table_head(const struct options *o, const struct daemon_info *info)
{
	if (o->ntargets > 1)
		printf(PROG ": %ld %s probes per pass (%ld per paced pass), round-robin to %ld "
		       "targets %s ... %s (source %s), probe timeout %ld s\n", o->n, o->protocol,
		       o->paced_n, o->ntargets, o->targets[0], o->targets[o->ntargets - 1], o->local,
		       o->probe_timeout);
	else
		printf(PROG ": %ld %s probes per pass (%ld per paced pass) to %s (source %s), "
		       "probe timeout %ld s\n", o->n, o->protocol, o->paced_n, o->target, o->local,
		       o->probe_timeout);
	if (o->run_daemon)
		printf("daemon: mtrprobed %s on %s, %ld workers, mtr-packet %s\n", info->daemon,
		       o->socket, info->workers, info->mtr_packet);
	if (o->run_direct)
		printf("direct: one %s process started by " PROG "\n", o->mtr_packet);
}

/* The table itself: one row per pass. */
static void print_table_rows(const struct run *r)
{
	char a[32], b[32], c[32];
	int i, w = 4;

	for (i = 0; i < r->npasses; i++)
		if ((int)strlen(r->passes[i].label) > w)
			w = (int)strlen(r->passes[i].label);
	printf("\n%-*s %8s %9s %7s %9s %9s %9s %8s %9s %6s\n", w, "pass", "answered",
	       "probes/s", "lost", "added p50", "added p99", "added max", "wall s", "replies/s",
	       "cpu s");
	for (i = 0; i < r->npasses; i++) {
		const struct pass *p = &r->passes[i];

		if (!p->ran) {
			printf("%-*s %8s\n", w, p->label, "(not run)");
			continue;
		}
		printf("%-*s %8ld %9.1f %7ld %9s %9s %9s %8.3f %9.1f %6.2f%s\n", w, p->label,
		       p->answered, p->pps, pass_lost(p), fmt_ms(a, sizeof(a), p->p50),
		       fmt_ms(b, sizeof(b), p->p99), fmt_ms(c, sizeof(c), p->pmax), p->wall_s,
		       p->reply_pps, p->cpu_s, p->complete ? "" : "  INCOMPLETE");
	}
}

/* What went wrong in each pass: incomplete, and what was lost. */
static void print_table_losses(const struct run *r)
{
	int i, j;

	for (i = 0; i < r->npasses; i++) {
		const struct pass *p = &r->passes[i];

		if (!p->ran)
			continue;
		if (p->failure[0])
			printf("INCOMPLETE \"%s\": %s; %ld of %ld answers missing\n", p->label,
			       p->failure, p->missing, p->n);
		if (pass_lost(p) == 0 && p->unexpected == 0)
			continue;
		printf("lost in \"%s\": missing %ld, duplicates %ld, unmatched lines %ld",
		       p->label, p->missing, p->dups, p->unexpected);
		for (j = 0; j < p->nwords; j++)
			if (strcmp(p->words[j].word, "reply"))
				printf(", %s %ld", p->words[j].word, p->words[j].count);
		if (p->other_words)
			printf(", other words %ld", p->other_words);
		printf("\n");
	}
}

/* The line of ratios of the daemon's throughput to the reference's. */
static void print_ratio(const struct run *r)
{
	const struct pass *ref = reference_pass(r);
	const char *sep = " ";
	bool any = false;
	int i;

	printf("ratio daemon/direct throughput:");
	for (i = 0; i < r->npasses; i++) {
		const struct pass *p = &r->passes[i];

		if (!has_ratio(r, p))
			continue;
		printf("%s%.3f (%s)", sep, p->pps / ref->pps, p->tag);
		sep = ", ";
		any = true;
	}
	if (!any)
		printf(" n/a");
	printf("\n");
}

/* Print the table of figures, the notes and the ratio line. */
void print_table(const struct options *o, const struct daemon_info *info, const struct run *r)
{
	int i;

	print_table_head(o, info);
	print_table_rows(r);
	printf("\nadded:    client-observed time (request written -> answer read,\n"
	       "          CLOCK_MONOTONIC) minus mtr-packet's round-trip time (time_ms,\n"
	       "          round-trip-time), in ms, over the probes answered \"reply\".\n"
	       "probes/s: answered / time from the first write to the last answer\n"
	       "          (wall s); a lost probe holds the last answer back by its timeout.\n"
	       "replies/s: replies / time from the first write to the last reply.\n"
	       "lost:     answers other than \"reply\" + missing answers + duplicated ids.\n"
	       "cpu s:    CPU time of " PROG " itself during the pass.\n");
	for (i = 0; i < pass_family_count(); i++)
		if (pass_family_at(i)->table_notes)
			pass_family_at(i)->table_notes(r);
	print_table_losses(r);
	print_ratio(r);
}

/* --summary: one line per pass that ran, for scripts. */
void print_summary(const struct run *r)
{
	char a[32], b[32], c[32];
	int i;

	printf("# pass key probes answered lost probes_per_s added_p50_ms added_p99_ms "
	       "added_max_ms wall_s\n");
	for (i = 0; i < r->npasses; i++) {
		const struct pass *p = &r->passes[i];

		if (!p->ran)
			continue;
		printf("pass %s %ld %ld %ld %.1f %s %s %s %.6f%s\n", p->key, p->n, p->answered,
		       pass_lost(p), p->pps, fmt_ms(a, sizeof(a), p->p50),
		       fmt_ms(b, sizeof(b), p->p99), fmt_ms(c, sizeof(c), p->pmax), p->wall_s,
		       p->complete ? "" : " INCOMPLETE");
	}
}

/* A JSON number rounded to digits decimals, or null for NAN. */
static json_t *json_rounded(double v, int digits)
{
	double scale = pow(10.0, digits);

	return isnan(v) ? json_null() : json_real(round(v * scale) / scale);
}

/* One pass as a JSON object. */
static json_t *pass_json(const struct pass *p)
{
	json_t *o = json_object(), *words = json_object(), *lat = json_object();
	int j;

	for (j = 0; j < p->nwords; j++)
		json_object_set_new(words, p->words[j].word, json_integer(p->words[j].count));
	if (p->other_words)
		json_object_set_new(words, "other", json_integer(p->other_words));
	json_object_set_new(lat, "p50", json_rounded(p->p50, 3));
	json_object_set_new(lat, "p99", json_rounded(p->p99, 3));
	json_object_set_new(lat, "max", json_rounded(p->pmax, 3));
	json_object_set_new(lat, "samples", json_integer(p->nadded));
	json_object_set_new(o, "pass", json_string(p->key));
	json_object_set_new(o, "label", json_string(p->label));
	json_object_set_new(o, "ran", json_boolean(p->ran));
	json_object_set_new(o, "complete", json_boolean(p->complete));
	json_object_set_new(o, "failure", p->failure[0] ? json_string(p->failure) : json_null());
	json_object_set_new(o, "window", json_integer(p->window));
	json_object_set_new(o, "rate", p->rate > 0 ? json_real(p->rate) : json_null());
	json_object_set_new(o, "probes", json_integer(p->n));
	json_object_set_new(o, "sent", json_integer(p->sent));
	json_object_set_new(o, "answered", json_integer(p->answered));
	json_object_set_new(o, "replies", json_integer(p->replies));
	json_object_set_new(o, "lost", json_integer(pass_lost(p)));
	json_object_set_new(o, "not_reply", json_integer(p->not_reply));
	json_object_set_new(o, "missing", json_integer(p->missing));
	json_object_set_new(o, "duplicates", json_integer(p->dups));
	json_object_set_new(o, "unmatched_lines", json_integer(p->unexpected));
	json_object_set_new(o, "results", words);
	json_object_set_new(o, "wall_s", json_rounded(p->wall_s, 6));
	json_object_set_new(o, "probes_per_s", json_rounded(p->pps, 1));
	json_object_set_new(o, "replies_per_s", json_rounded(p->reply_pps, 1));
	json_object_set_new(o, "client_cpu_s", json_rounded(p->cpu_s, 3));
	json_object_set_new(o, "added_latency_ms", lat);
	return o;
}

/* The run's passes, ratios and notes into root. */
static void json_passes(const struct run *r, json_t *root)
{
	json_t *arr = json_array(), *notes = json_array(), *ratio = json_object();
	const struct pass *ref = reference_pass(r);
	int i;

	for (i = 0; i < r->npasses; i++) {
		json_array_append_new(arr, pass_json(&r->passes[i]));
		if (has_ratio(r, &r->passes[i]))
			json_object_set_new(ratio, r->passes[i].key,
					    json_rounded(r->passes[i].pps / ref->pps, 4));
	}
	json_array_append_new(notes, json_string(
		"added latency: client-observed time (request written -> answer read, "
		"CLOCK_MONOTONIC) minus mtr-packet's round-trip time, over replies"));
	for (i = 0; i < pass_family_count(); i++)
		if (pass_family_at(i)->json_notes)
			pass_family_at(i)->json_notes(r, notes);
	json_object_set_new(root, "passes", arr);
	json_object_set_new(root, "ratio_daemon_direct", ratio);
	json_object_set_new(root, "notes", notes);
}

/* The daemon as JSON, or null when no daemon pass ran. */
static json_t *json_daemon(const struct options *o, const struct daemon_info *info)
{
	json_t *daemon;

	if (!o->run_daemon)
		return json_null();
	daemon = json_object();
	json_object_set_new(daemon, "socket", json_string(o->socket));
	json_object_set_new(daemon, "version", json_string(info->daemon));
	json_object_set_new(daemon, "workers", json_integer(info->workers));
	json_object_set_new(daemon, "mtr_packet", json_string(info->mtr_packet));
	return daemon;
}

/* Print everything as one JSON object; 0, or -1 when out of memory. */
int print_json(const struct options *o, const struct daemon_info *info, const struct run *r,
	       bool complete)
{
	json_t *root = json_object();
	int ret;

	if (!root)
		return -1;
	json_object_set_new(root, "target", json_string(o->target));
	json_object_set_new(root, "targets", json_integer(o->ntargets));
	json_object_set_new(root, "last_target", json_string(o->targets[o->ntargets - 1]));
	json_object_set_new(root, "local_ip", json_string(o->local));
	json_object_set_new(root, "protocol", json_string(o->protocol));
	json_object_set_new(root, "probes", json_integer(o->n));
	json_object_set_new(root, "paced_probes", json_integer(o->paced_n));
	json_object_set_new(root, "probe_timeout_s", json_integer(o->probe_timeout));
	json_object_set_new(root, "overall_timeout_s", json_real(o->timeout_s));
	json_object_set_new(root, "daemon", json_daemon(o, info));
	json_object_set_new(root, "mtr_packet",
			    o->run_direct ? json_string(o->mtr_packet) : json_null());
	json_passes(r, root);
	json_object_set_new(root, "complete", json_boolean(complete));
	ret = json_dumpf(root, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER |
				       JSON_REAL_PRECISION(15));
	if (ret == 0 && putchar('\n') == EOF)
		ret = -1;
	json_decref(root);
	return ret;
}
