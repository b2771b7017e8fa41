/*
 * A fake worker link (struct wlink_ops) for the engine's unit tests: no
 * process, no pipe, no packet.  start() hands out a record with a made-up
 * pid, write() keeps every line, and the test answers through the
 * callbacks the worker gave at start, as mtr-packet would on its stdout.
 * Check-support questions can be answered automatically (see
 * fake_answer_questions()).  Records live until fake_reset(), so a test
 * can look at a process after it was killed and reaped.
 */
#ifndef MTRPROBED_TESTS_FAKE_LINK_H
#define MTRPROBED_TESTS_FAKE_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "daemon/wlink.h"

/* The first made-up pid; each start takes the next one. */
#define FAKE_PID_BASE 100000

/* One line the worker wrote. */
struct fake_line {
	char *text;          /* without the '\n' */
	uint32_t token;
	bool probe;          /* send-probe */
	bool question;       /* check-support */
	bool ping;           /* a "version" question after the first: a pacing ping */
	bool answered;       /* an answer was written back */
	char feature[40];    /* check-support: the feature asked about */
};

/* One fake process. */
struct fake_proc {
	int index;                   /* in start order, from 0 */
	pid_t pid;
	const struct wlink_cbs *cbs;
	void *arg;                   /* the worker */
	bool closed;                 /* the test closed its stdout */
	bool killed;                 /* kill() or destroy() ran: no callback after */
	bool reaped, destroyed;
	int writes_after_kill;       /* must stay 0 */
	bool saw_version;            /* its start-up "version" question was written */
	struct fake_line *lines;
	size_t n_lines, cap_lines;
	size_t *pending_q;           /* indexes of questions not answered yet */
	size_t n_pending_q, cap_pending_q;
	char last_stderr[200];       /* handed back at reaped() */
};

extern const struct wlink_ops fake_link_ops;

/* Forget every process and setting. */
void fake_reset(void);
/* Processes started successfully so far, and start() calls (failed ones too). */
int fake_count(void);
int fake_start_calls(void);
/* The i-th process started (NULL if none), or the one with pid. */
struct fake_proc *fake_proc(int i);
struct fake_proc *fake_by_pid(pid_t pid);
/* True while p still reports to its worker (not closed, killed or reaped). */
bool fake_live(const struct fake_proc *p);
/* The next count starts fail with err (-errno). */
void fake_fail_starts(int err, int count);
/* Hold back the answers to pacing pings (until called with false). */
void fake_hold_pings(bool hold);
/* Hold back the answers to questions about feature ("" or NULL: none). */
void fake_hold_feature(const char *feature);

/*
 * Answer every pending check-support question of every live process that
 * is not held back: version -> "0.95", anything else -> "ok"; then
 * batch_done once per process that got answers.  Returns how many.
 */
int fake_answer_questions(void);
/* Answer line i of p (a probe): "TOKEN <rest>", then batch_done.  0, or -1 if it cannot. */
int fake_reply(struct fake_proc *p, size_t i, const char *rest);
/* Write one raw line to p's worker (no batch_done).  0, or -1 if p is not live. */
int fake_inject(struct fake_proc *p, const char *line);
/* End a read: batch_done (if p is still live). */
void fake_batch_done(struct fake_proc *p);
/* p's stdout closes (the process died): closed(). */
void fake_close(struct fake_proc *p);

/* Probe lines of p, and those not answered yet. */
size_t fake_probes(const struct fake_proc *p);
size_t fake_unanswered_probes(const struct fake_proc *p);
/* The value of " NAME N" in line text, or -1. */
long fake_field(const char *text, const char *name);

#endif
