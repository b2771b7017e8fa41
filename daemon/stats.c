/* Daemon-wide counters and the stats response. */
#include <string.h>

#include "conn.h"
#include "dns.h"
#include "pool.h"
#include "sched.h"
#include "server.h"
#include "stats.h"
#include "trace.h"
#include "util.h"

/* Result words counted one by one; anything else counts as "other". */
static const char *const result_words[] = {
	"reply", "ttl-expired", "no-reply", "no-route", "network-down", "permission-denied",
	"invalid-argument", "address-in-use", "address-not-available", "unexpected-error",
	"other",
};

static struct {
	uint64_t results[ARRAY_SIZE(result_words)];
	uint64_t errors[MP_ERR__COUNT];
} ST;

/* Count one probe result. */
void stats_count_result(const char *word)
{
	size_t i;

	for (i = 0; i + 1 < ARRAY_SIZE(result_words); i++)
		if (strcmp(word, result_words[i]) == 0)
			break;
	ST.results[i]++;
}

/* Count one error answer. */
void stats_count_error(int code)
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
	for (size_t i = 0; i < ARRAY_SIZE(result_words); i++)
		json_object_set_new(results, result_words[i], json_integer((json_int_t)ST.results[i]));
	for (int i = 1; i < MP_ERR__COUNT; i++)
		json_object_set_new(errors, mp_error_name((enum mp_error)i),
				    json_integer((json_int_t)ST.errors[i]));
	return json_pack("{s:f, s:{s:i, s:i, s:I}, s:{s:I, s:I, s:I, s:I, s:I, s:I, s:o},"
			 " s:{s:I, s:I, s:I, s:I, s:I}, s:I, s:{s:I, s:I}, s:o}",
			 "uptime_s", mono_now() - srv.started,
			 "workers", "configured", ps.configured, "alive", ps.alive,
			 "restarts", (json_int_t)ps.restarts,
			 "probes", "started", (json_int_t)ss.started,
			 "completed", (json_int_t)ss.completed,
			 "in_flight", (json_int_t)ss.sent,
			 "queued", (json_int_t)ss.queued,
			 "resolving", (json_int_t)ss.resolving,
			 "retried", (json_int_t)ss.retried,
			 "results", results,
			 "dns", "entries", (json_int_t)ds.entries, "hits", (json_int_t)ds.hits,
			 "misses", (json_int_t)ds.misses, "expired", (json_int_t)ds.expired,
			 "lookups", (json_int_t)ds.lookups,
			 "traces", (json_int_t)trace_count(),
			 "clients", "connected", (json_int_t)conn_count(),
			 "total", (json_int_t)conn_total(),
			 "errors", errors);
}
