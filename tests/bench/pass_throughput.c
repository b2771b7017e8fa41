/*
 * mtrprobe-bench: the daemon's throughput pass.  N probes pipelined on one
 * connection, at most -w WINDOW outstanding (0: all of them; the daemon
 * applies back-pressure).
 */
#include <stdio.h>

#include "bench.h"

static const struct pass_def throughput_defs[] = {
	{
		.name = "throughput",
		.key = "daemon_throughput",
		.kind = PASS_DAEMON,
		.link = &daemon_link,
		.by_default = PASS_DEFAULT_YES,
		.window_field = offsetof(struct options, window),
		.run = daemon_pass,
	},
};

/* The table's note: a pipelined pass's time is not the daemon's latency. */
static void throughput_table_notes(const struct run *r)
{
	const struct pass *thr = run_find(r, "daemon_throughput");
	const struct pass *lat = run_find(r, "daemon_latency");

	if (thr && thr->ran && thr->window == 0)
		printf("note: \"%s\" writes every request at once: its observed\n"
		       "      time includes time queued behind this client's own backlog, so its\n"
		       "      added latency is not the daemon's; see \"%s\".\n",
		       thr->label, lat ? lat->label : "a pass with a window");
}

/* The same for JSON. */
static void throughput_json_notes(const struct run *r, json_t *notes)
{
	const struct pass *thr = run_find(r, "daemon_throughput");

	if (thr && thr->ran && thr->window == 0)
		json_array_append_new(notes, json_string(
			"the pipelined daemon pass writes every request at once: its observed "
			"time includes queueing behind the client's own backlog"));
}

const struct pass_family family_throughput = {
	.defs = throughput_defs,
	.ndefs = (int)ARRAY_LEN(throughput_defs),
	.table_notes = throughput_table_notes,
	.json_notes = throughput_json_notes,
};
