/*
 * The trace operation: rounds of probes to every TTL at once, submitted to
 * the scheduler; per-hop statistics (hopstats); hop events; one final
 * answer.  What a trace produces goes to the sink handed to trace_start().
 */
#ifndef MTRPROBED_TRACE_H
#define MTRPROBED_TRACE_H

#include <jansson.h>
#include <stdint.h>

#include "mtrprobe/protocol.h"
#include "proto.h"
#include "sched.h"

/* Where a trace's output goes.  Owned by the caller of trace_start(); static. */
struct trace_sink {
	/*
	 * The final answer, exactly once: obj (reference stolen) with err
	 * MP_OK, or NULL with an error code and message.
	 */
	void (*answer)(void *arg, json_t *obj, enum mp_error err, const char *msg);
	/* A hop event (reference stolen); only before the answer. */
	void (*event)(void *arg, json_t *obj);
};

/*
 * Start the trace of req for owner.  MP_OK: sink->answer runs exactly once
 * with arg, maybe before this returns.  Otherwise an error code with a
 * message, and nothing was started.
 */
enum mp_error trace_start(const struct sched_owner *owner, const struct mp_request *req,
			  const struct trace_sink *sink, void *arg, char errmsg[MP_ERRMSG_MAX]);
/* Owner key is gone: its traces are answered (shutting-down) and end. */
void trace_owner_gone(uint64_t key);
/* Stopping: answer every trace between rounds with shutting-down. */
void trace_shutdown(void);
/* Traces not answered yet. */
size_t trace_count(void);
/* Free everything without callbacks (exit path). */
void trace_free_all(void);

#endif
