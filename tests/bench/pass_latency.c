/*
 * mtrprobe-bench: the daemon's latency pass.  The throughput pass's probes
 * with a small window (--latency-window) and, with --rate, paced, so that
 * the time observed is not dominated by the client's own backlog.
 */
#include <stdio.h>

#include "bench.h"

static const struct pass_def latency_defs[] = {
	{
		.name = "latency",
		.key = "daemon_latency",
		.kind = PASS_DAEMON,
		.link = &daemon_link,
		.by_default = PASS_DEFAULT_YES,
		.paced = true,
		.window_field = offsetof(struct options, latency_window),
		.run = daemon_pass,
	},
};

/* The table's note: unpaced, a window queues probes inside mtr-packet. */
static void latency_table_notes(const struct run *r)
{
	const struct pass *lat = run_find(r, "daemon_latency");

	if (lat && lat->ran && lat->rate <= 0)
		printf("note: with a window of W and no --rate, the added latency includes time\n"
		       "      queued inside mtr-packet behind up to W probes: compare it with the\n"
		       "      direct line of the same window, or use --rate PPS.\n");
}

/* The same for JSON. */
static void latency_json_notes(const struct run *r, json_t *notes)
{
	const struct pass *lat = run_find(r, "daemon_latency");

	if (lat && lat->ran && lat->rate <= 0)
		json_array_append_new(notes, json_string(
			"without --rate, windowed added latency includes queueing inside "
			"mtr-packet behind up to the window's probes"));
}

const struct pass_family family_latency = {
	.defs = latency_defs,
	.ndefs = (int)ARRAY_LEN(latency_defs),
	.table_notes = latency_table_notes,
	.json_notes = latency_json_notes,
};
