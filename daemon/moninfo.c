/*
 * Views of the running monitors: their metric families, written in pieces
 * from a cursor, and the monitor_list and monitor_show answers.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "monitor.h"
#include "monjson.h"
#include "monitor_impl.h"
#include "promtext.h"

/* The monitor metric families, in the order they are written. */
enum mfam {
	MF_RTT, MF_SENT, MF_RECEIVED, MF_RESULTS, MF_RESOLVE, MF_UP, MF_CYCLES, MF_LATE,
	MF_HOP_RTT, MF_HOP_SENT, MF_HOP_RECEIVED, MF_HOP_INFO, MF_PATH_ID, MF_PATH_CHANGES,
	MF_HOPS, MF_CHANGED_AT, MF__COUNT
};

static const struct {
	const char *name, *type, *help;
} monitor_families[MF__COUNT] = {
	[MF_RTT] = { "mtrprobed_monitor_rtt_seconds", "histogram",
		     "Round-trip times of the monitor's answered probes." },
	[MF_SENT] = { "mtrprobed_monitor_probes_sent_total", "counter",
		      "Probes of the monitor that ended, answered or not." },
	[MF_RECEIVED] = { "mtrprobed_monitor_probes_received_total", "counter",
			  "Probes of the monitor answered by the target." },
	[MF_RESULTS] = { "mtrprobed_monitor_probe_results_total", "counter",
			 "Probes of the monitor that ended, by result." },
	[MF_RESOLVE] = { "mtrprobed_monitor_resolve_failures_total", "counter",
			 "Probes of the monitor whose target could not be resolved." },
	[MF_UP] = { "mtrprobed_monitor_up", "gauge",
		    "1 if the newest cycle with an outcome got a reply, else 0." },
	[MF_CYCLES] = { "mtrprobed_monitor_cycles_total", "counter", "Cycles of the monitor started." },
	[MF_LATE] = { "mtrprobed_monitor_cycles_late_total", "counter",
		      "Cycles of the monitor that started more than 50 ms after their schedule." },
	[MF_HOP_RTT] = { "mtrprobed_trace_hop_rtt_seconds", "histogram",
			 "Round-trip times of the answers from each hop of the path." },
	[MF_HOP_SENT] = { "mtrprobed_trace_hop_probes_sent_total", "counter",
			  "Probes counted for each hop (up to the target)." },
	[MF_HOP_RECEIVED] = { "mtrprobed_trace_hop_probes_received_total", "counter",
			      "Probes of each hop that got an answer." },
	[MF_HOP_INFO] = { "mtrprobed_trace_hop_info", "gauge",
			  "The responder of each hop of the current path, value 1." },
	[MF_PATH_ID] = { "mtrprobed_trace_path_id", "gauge",
			 "Hash of the current path's responders (53 bits)." },
	[MF_PATH_CHANGES] = { "mtrprobed_trace_path_changes_total", "counter",
			      "Times the path changed." },
	[MF_HOPS] = { "mtrprobed_trace_hops", "gauge", "Hops in the current path." },
	[MF_CHANGED_AT] = { "mtrprobed_trace_path_changed_timestamp_seconds", "gauge",
			    "When the path last changed (Unix time; 0: never)." },
};

/* labels plus one more label (and a second when name2 is set), in lab. */
static const char *monitor_more_labels(struct promtext *lab, const char *labels, const char *name,
				       const char *value, const char *name2, const char *value2)
{
	promtext_reset(lab);
	promtext_add(lab, labels, strlen(labels));
	promtext_label(lab, !*labels, name, value);
	if (name2)
		promtext_label(lab, false, name2, value2);
	return lab->oom ? "" : lab->buf;
}

/* A ping stream's samples of family f. */
static void monitor_ping_samples(struct promtext *p, struct promtext *lab, enum mfam f,
				 const struct monitor *m, const struct mstream *st)
{
	const char *name = monitor_families[f].name;

	switch (f) {
	case MF_RTT:
		promtext_histogram(p, name, st->labels, &st->hist, &m->bounds);
		break;
	case MF_RESULTS:
		for (int r = 0; r < MON_RESULTS; r++) {
			const char *word = r == MON_RESULT_RESOLVE ? "host-resolve-error" :
					   sched_result_word(r);

			/* reply, ttl-expired and no-reply always; the others once seen */
			if (r <= 2 || st->results[r])
				promtext_u64(p, name, monitor_more_labels(lab, st->labels, "result",
									  word, NULL, NULL),
					     st->results[r]);
		}
		break;
	default:
		promtext_u64(p, name, st->labels,
			     f == MF_SENT ? st->sent : f == MF_RECEIVED ? st->received :
			     f == MF_RESOLVE ? st->results[MON_RESULT_RESOLVE] : (uint64_t)st->up);
	}
}

/* A trace monitor's samples of family f: per hop (every TTL ever counted) or per path. */
static void monitor_trace_samples(struct promtext *p, struct promtext *lab, enum mfam f,
				  const struct monitor *m)
{
	const char *name = monitor_families[f].name;
	const struct mstream *st = &m->st[0];
	const struct mpath *path = &st->path;
	char ttl[4];

	if (f >= MF_PATH_ID) {
		if (f == MF_CHANGED_AT)
			promtext_double(p, name, st->tlabels, path->changed_at);
		else
			promtext_u64(p, name, st->tlabels,
				     f == MF_PATH_ID ? path->id : f == MF_HOPS ? (uint64_t)path->hops :
				     path->changes);
		return;
	}
	for (int i = 0; i < path->n; i++) {
		const struct mpath_hop *h = &path->hop[i];
		bool info = f == MF_HOP_INFO;
		const char *labels;

		if (info ? i >= path->hops || !path->path[i][0] : !h->counted)
			continue;
		snprintf(ttl, sizeof(ttl), "%d", path->first_ttl + i);
		labels = monitor_more_labels(lab, st->tlabels, "ttl", ttl, info ? "responder" : NULL,
					     path->path[i]);
		if (f == MF_HOP_RTT)
			promtext_histogram(p, name, labels, &h->hist, &m->bounds);
		else
			promtext_u64(p, name, labels,
				     f == MF_HOP_SENT ? h->sent : f == MF_HOP_RECEIVED ? h->received : 1);
	}
}

/* m's samples of family f (none if f is not of m's kind). */
static void monitor_samples(struct promtext *p, struct promtext *lab, enum mfam f,
			    const struct monitor *m)
{
	if (f == MF_CYCLES || f == MF_LATE) {
		promtext_u64(p, monitor_families[f].name,
			     monitor_more_labels(lab, "", "monitor", m->def.name, NULL, NULL),
			     f == MF_LATE ? m->cycles_late : m->cycles);
	} else if (f < MF_CYCLES && m->def.kind == MONDEF_PING) {
		for (int s = 0; s < m->n_streams; s++)
			monitor_ping_samples(p, lab, f, m, &m->st[s]);
	} else if (f > MF_LATE && m->def.kind == MONDEF_TRACE) {
		monitor_trace_samples(p, lab, f, m);
	}
}

bool monitor_metrics_part(struct promtext *p, struct monitor_cursor *c, size_t budget)
{
	struct promtext lab = { 0 };
	struct monitor *m;
	bool done = false;

	while (!done && p->len < budget && !p->oom) {
		if (c->family >= MF__COUNT) {
			done = true;
			break;
		}
		if (!c->header) {
			promtext_family(p, monitor_families[c->family].name,
					monitor_families[c->family].type,
					monitor_families[c->family].help);
			c->header = true;
		}
		/* Monitors in key order: resume past the last one written (at once
		 * when none stopped since, else by a scan). */
		if (c->after && c->gen == monitor_generation())
			m = (struct monitor *)c->next;
		else
			for (m = monitor_first(); m && m->key <= c->after; m = monitor_next(m))
				;
		for (; m && p->len < budget; m = monitor_next(m)) {
			monitor_samples(p, &lab, (enum mfam)c->family, m);
			c->after = m->key;
		}
		c->next = m;
		c->gen = monitor_generation();
		if (!m) {
			c->family++;
			c->after = 0;
			c->header = false;
		}
	}
	promtext_free(&lab);
	return done;
}

/* Whether uid may see m: root all, others the files' and their own. */
static bool moninfo_visible(const struct monitor *m, long uid)
{
	return uid == 0 || m->def.owner == MONITOR_OWNER_FILES || m->def.owner == uid;
}

/* A monitor's owner: null for the files', else the uid. */
static json_t *moninfo_owner(const struct monitor *m)
{
	return m->def.owner == MONITOR_OWNER_FILES ? json_null() : json_integer(m->def.owner);
}

/* Round to 3 decimals (whole microseconds for times in ms). */
static double moninfo_round(double x)
{
	return round(x * 1000.0) / 1000.0;
}

/* The statistics of a stream's history window; json null where there is no data. */
static json_t *moninfo_window(const struct mstream *st)
{
	struct mstats ms;

	if (mstats_compute(&st->ring, &ms) < 0)
		return NULL;
	return json_pack("{s:i,s:i,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "sent", ms.sent, "received",
			 ms.received, "loss_pct",
			 ms.has_loss ? json_real(moninfo_round(ms.loss_pct)) : json_null(),
			 "min_ms", ms.has_rtt ? json_real(moninfo_round(ms.min_ms)) : json_null(),
			 "median_ms", ms.has_rtt ? json_real(moninfo_round(ms.median_ms)) : json_null(),
			 "p90_ms", ms.has_rtt ? json_real(moninfo_round(ms.p90_ms)) : json_null(),
			 "p99_ms", ms.has_rtt ? json_real(moninfo_round(ms.p99_ms)) : json_null(),
			 "max_ms", ms.has_rtt ? json_real(moninfo_round(ms.max_ms)) : json_null(),
			 "mean_ms", ms.has_rtt ? json_real(moninfo_round(ms.mean_ms)) : json_null(),
			 "jitter_ms", ms.has_rtt ? json_real(moninfo_round(ms.jitter_ms)) : json_null());
}

json_t *monitor_list_json(long uid)
{
	json_t *arr = json_array();

	for (const struct monitor *m = monitor_first(); m && arr; m = monitor_next(m)) {
		json_t *item;

		if (!moninfo_visible(m, uid))
			continue;
		item = json_pack("{s:s,s:s,s:s,s:o,s:f,s:I,s:I,s:o}", "name", m->def.name, "kind",
				 m->def.kind == MONDEF_TRACE ? "trace" : "ping", "target",
				 m->def.target, "owner", moninfo_owner(m), "period", m->def.period,
				 "cycles", (json_int_t)m->cycles, "cycles_late",
				 (json_int_t)m->cycles_late, "window",
				 m->def.kind == MONDEF_PING ? moninfo_window(&m->st[0]) : json_null());
		if (!item || json_array_append_new(arr, item) < 0) {
			json_decref(arr);
			arr = NULL;
		}
	}
	return arr;
}

/* A ping stream: its address, counters and window. */
static json_t *moninfo_stream(const struct mstream *st)
{
	return json_pack("{s:s,s:o,s:I,s:I,s:b,s:o}", "address", st->address, "ip_version",
			 st->got_version ? json_integer(st->got_version) : json_null(), "sent",
			 (json_int_t)st->sent, "received", (json_int_t)st->received, "up", st->up,
			 "window", moninfo_window(st));
}

/* A trace monitor's path and its hops' counters. */
static json_t *moninfo_path(const struct monitor *m)
{
	const struct mpath *p = &m->st[0].path;
	json_t *hops = json_array();

	for (int i = 0; i < p->n && hops; i++) {
		const struct mpath_hop *h = &p->hop[i];
		json_t *hop;

		if (!h->counted)
			continue;
		hop = json_pack("{s:i,s:s,s:I,s:I,s:o}", "ttl", p->first_ttl + i, "responder",
				i < p->hops ? p->path[i] : "", "sent", (json_int_t)h->sent,
				"received", (json_int_t)h->received, "mean_ms",
				h->hist.count ? json_real(moninfo_round(h->hist.sum * 1000.0 /
									(double)h->hist.count)) :
						json_null());
		if (!hop || json_array_append_new(hops, hop) < 0) {
			json_decref(hops);
			hops = NULL;
		}
	}
	return json_pack("{s:o,s:i,s:I,s:I,s:f,s:s}", "hops", hops ? hops : json_null(),
			 "path_hops", p->hops, "path_id", (json_int_t)p->id, "path_changes",
			 (json_int_t)p->changes, "path_changed_at", p->changed_at, "address",
			 m->st[0].address);
}

json_t *monitor_show_json(const char *name, long uid, enum mp_error *ret_err,
			  char err[MP_ERRMSG_MAX])
{
	struct mondef_set set = { 0 };
	const struct monitor *m;
	char perr[MONDEF_ERR_MAX];
	json_t *streams, *out;

	for (m = monitor_first(); m && strcmp(m->def.name, name) != 0; m = monitor_next(m))
		;
	if (!m || !moninfo_visible(m, uid)) {
		snprintf(err, MP_ERRMSG_MAX, "name: no monitor '%s'", name);
		*ret_err = MP_ERR_INVALID_ARGUMENT;
		return NULL;
	}
	*ret_err = MP_ERR_PROCESS;
	snprintf(err, MP_ERRMSG_MAX, "monitor: out of memory");
	if (mondef_parse_text(&set, m->def.text, strlen(m->def.text), "monitor", perr) < 0)
		return NULL;
	streams = json_array();
	for (int s = 0; s < m->n_streams && streams && m->def.kind == MONDEF_PING; s++)
		if (json_array_append_new(streams, moninfo_stream(&m->st[s])) < 0) {
			json_decref(streams);
			streams = NULL;
		}
	out = json_pack("{s:o,s:o,s:I,s:I,s:o}", "monitor", monjson_write(&set.items[0]), "owner",
			moninfo_owner(m), "cycles", (json_int_t)m->cycles, "cycles_late",
			(json_int_t)m->cycles_late, m->def.kind == MONDEF_TRACE ? "path" : "streams",
			m->def.kind == MONDEF_TRACE ? moninfo_path(m) : streams);
	if (m->def.kind == MONDEF_TRACE)
		json_decref(streams);
	mondef_set_free(&set);
	return out;
}
