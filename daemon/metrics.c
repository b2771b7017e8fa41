/*
 * The Prometheus exposition of the daemon.  Names follow the Prometheus
 * conventions: the mtrprobed_ prefix, base units, _total on counters.
 */
#include <stdio.h>
#include <stdlib.h>

#include "config-build.h"
#include "conn.h"
#include "dns.h"
#include "metrics.h"
#include "monitor.h"
#include "pool.h"
#include "sched.h"
#include "server.h"
#include "util.h"

/* A family with one unlabelled sample. */
static void metrics_one(struct promtext *p, const char *name, const char *type, const char *help,
			uint64_t v)
{
	promtext_family(p, name, type, help);
	promtext_u64(p, name, "", v);
}

/* Probes ended, by result. */
static void metrics_results(struct promtext *p, const struct sched_stats *ss)
{
	const char *name = "mtrprobed_probes_total";
	struct promtext lab = { 0 };

	promtext_family(p, name, "counter", "Probes ended, by result (clients' and monitors').");
	for (int i = 0; i < SCHED_N_RESULTS; i++) {
		promtext_reset(&lab);
		promtext_label(&lab, true, "result", sched_result_word(i));
		promtext_u64(p, name, lab.oom ? "" : lab.buf, ss->results[i]);
	}
	promtext_free(&lab);
}

/* Where a scrape is. */
struct metrics_cursor {
	bool daemon_done;           /* the daemon's own families are written */
	struct monitor_cursor mon;
};

void *metrics_begin(void)
{
	return calloc(1, sizeof(struct metrics_cursor));
}

void metrics_end(void *cursor)
{
	free(cursor);
}

/* The daemon's own families (a few hundred bytes). */
static void metrics_daemon(struct promtext *p)
{
	struct sched_stats ss;
	struct pool_stats ps;
	struct dns_stats ds;
	struct promtext lab = { 0 };

	sched_get_stats(&ss);
	pool_get_stats(&ps);
	dns_get_stats(&ds);
	promtext_family(p, "mtrprobed_build_info", "gauge", "The daemon's version, value 1.");
	promtext_label(&lab, true, "version", MTRPROBED_VERSION);
	promtext_u64(p, "mtrprobed_build_info", lab.oom ? "" : lab.buf, 1);
	promtext_free(&lab);
	promtext_family(p, "mtrprobed_uptime_seconds", "gauge", "Seconds since the daemon started.");
	promtext_double(p, "mtrprobed_uptime_seconds", "", mono_now() - srv.started);
	metrics_results(p, &ss);
	metrics_one(p, "mtrprobed_probes_in_flight", "gauge", "Probes at workers, not answered yet.",
		    ss.sent);
	metrics_one(p, "mtrprobed_probes_queued", "gauge",
		    "Probes waiting for a name, a worker or a rate.", ss.queued + ss.resolving);
	metrics_one(p, "mtrprobed_workers", "gauge", "mtr-packet workers running.",
		    (uint64_t)ps.alive);
	metrics_one(p, "mtrprobed_workers_max", "gauge", "Most mtr-packet workers (max_workers).",
		    (uint64_t)ps.max);
	metrics_one(p, "mtrprobed_worker_restarts_total", "counter",
		    "Workers started again after one died.", ps.restarts);
	metrics_one(p, "mtrprobed_dns_cache_hits_total", "counter",
		    "Name lookups answered by the cache.", ds.hits);
	metrics_one(p, "mtrprobed_dns_cache_misses_total", "counter",
		    "Name lookups the cache could not answer.", ds.misses);
	metrics_one(p, "mtrprobed_dns_cache_entries", "gauge", "Entries in the name cache.",
		    ds.entries);
	metrics_one(p, "mtrprobed_connections", "gauge", "Client connections open.", conn_count());
	metrics_one(p, "mtrprobed_monitors", "gauge", "Monitors running.", monitor_count());
}

bool metrics_next(void *cursor, struct promtext *p, size_t budget)
{
	struct metrics_cursor *c = cursor;

	if (!c->daemon_done) {
		metrics_daemon(p);
		c->daemon_done = true;
	}
	return monitor_metrics_part(p, &c->mon, budget);
}
