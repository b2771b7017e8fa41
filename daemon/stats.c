/* The stats answer: each module keeps its counters; this reads them through getters. */
#include "conn.h"
#include "dns.h"
#include "pool.h"
#include "sched.h"
#include "server.h"
#include "stats.h"
#include "trace.h"
#include "util.h"

static struct {
	uint64_t errors[MP_ERR__COUNT];
} ST;

/* Count one error answer. */
void stats_count_error(enum mp_error code)
{
	if (code > 0 && code < MP_ERR__COUNT)
		ST.errors[code]++;
}

/* The stats object. */
json_t *stats_to_json(void)
{
	struct sched_stats ss;
	struct pool_stats ps;
	struct dns_stats ds;
	json_t *results = json_object(), *errors = json_object();

	sched_get_stats(&ss);
	pool_get_stats(&ps);
	dns_get_stats(&ds);
	for (int i = 0; i < SCHED_N_RESULTS; i++)
		json_object_set_new(results, sched_result_word(i), json_integer((json_int_t)ss.results[i]));
	for (int i = 1; i < MP_ERR__COUNT; i++) {
		uint64_t n = ST.errors[i];

		if (i == MP_ERR_REQUEST_TOO_LARGE)
			n += conn_too_large_count();
		json_object_set_new(errors, mp_error_name((enum mp_error)i), json_integer((json_int_t)n));
	}
	return json_pack("{s:f, s:{s:i, s:i, s:i, s:i, s:i, s:I, s:I, s:I},"
			 " s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o},"
			 " s:{s:I, s:I, s:I, s:I, s:I}, s:I, s:{s:I, s:I, s:I}, s:o}",
			 "uptime_s", mono_now() - srv.started,
			 "workers", "configured", ps.min, "min", ps.min, "max", ps.max,
			 "alive", ps.alive, "starting", ps.starting,
			 "restarts", (json_int_t)ps.restarts, "started", (json_int_t)ps.started,
			 "retired", (json_int_t)ps.retired,
			 "probes", "started", (json_int_t)ss.started,
			 "completed", (json_int_t)ss.completed,
			 "in_flight", (json_int_t)ss.sent,
			 "queued", (json_int_t)ss.queued,
			 "resolving", (json_int_t)ss.resolving,
			 "retried", (json_int_t)ss.retried,
			 "cancelled", (json_int_t)ss.cancelled,
			 "share_waits", (json_int_t)ss.share_waits,
			 "results", results,
			 "dns", "entries", (json_int_t)ds.entries, "hits", (json_int_t)ds.hits,
			 "misses", (json_int_t)ds.misses, "expired", (json_int_t)ds.expired,
			 "lookups", (json_int_t)ds.lookups,
			 "traces", (json_int_t)trace_count(),
			 "clients", "connected", (json_int_t)conn_count(),
			 "total", (json_int_t)conn_total(),
			 "answer_bytes", (json_int_t)conn_answer_bytes(),
			 "errors", errors);
}
