/*
 * The trace operation: rounds of probes to every TTL at once, per-hop
 * statistics (hopstats), optional hop events, one final answer.
 */
#ifndef MTRPROBED_TRACE_H
#define MTRPROBED_TRACE_H

#include <stdint.h>
#include <sys/types.h>

#include "mtrprobe/protocol.h"
#include "proto.h"

/*
 * Start the trace request req from connection conn_id (its id is moved
 * out).  Returns MP_OK; the answer (and any events) go to the connection.
 * Otherwise an error code with a message, and nothing was started.
 */
enum mp_error trace_start(uint64_t conn_id, uid_t uid, struct mp_request *req,
			  char errmsg[MP_ERRMSG_MAX]);
/*
 * One probe of trace trace_id finished: res is its result, or NULL with
 * err and msg when it was answered with an error.
 */
void trace_probe_done(uint64_t trace_id, int ttl, int round, const struct mp_probe_result *res,
		      enum mp_error err, const char *msg);
/* Connection conn_id is gone: drop its traces. */
void trace_conn_gone(uint64_t conn_id);
/* Stopping: answer every trace with shutting-down. */
void trace_shutdown(void);
/* Traces running. */
size_t trace_count(void);
/* Free everything (exit path). */
void trace_free_all(void);

#endif
