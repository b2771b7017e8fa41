/*
 * Monitors.  A ping monitor runs a cycle every `period` seconds: `count`
 * probes `interval` apart, to the first address its target resolves to in
 * each family it asks for (one stream of history and counters per family:
 * two with ip_version = both).  Cycles start at an offset into the period
 * fixed by the monitor's name (mplan), and keep their cadence: a cycle
 * that starts late is counted as late, and the next one is still due one
 * period after the late one's schedule.  Probes go to the scheduler under
 * the monitor's own owner key, so that the dispatcher serves monitors and
 * clients round-robin: the files' monitors as root, a user's monitors as
 * that user (held to the user's shares and rates like its requests).
 *
 * A monitor removed while probes of it are still out stays, detached and
 * silent, until their outcomes have come back.
 */
#include <errno.h>
#include <stddef.h>
#include <event2/event.h>
#include <event2/event_struct.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>

#include "log.h"
#include "monitor.h"
#include "monitor_impl.h"
#include "mpath.h"
#include "mplan.h"
#include "mstats.h"
#include "sched.h"
#include "server.h"
#include "util.h"

/* Owner keys of monitors start here, far above any connection's. */
#define MONITOR_KEY_BASE (UINT64_C(1) << 62)
/* The tag of a probe: cycle << 16 | stream << 8 | probe index. */
#define TAG(seq, s, i) ((seq) << 16 | (uint64_t)(s) << 8 | (uint64_t)(i))

static struct {
	struct monitor_list list;     /* running, in the order they started (keys ascending) */
	struct monitor_list detached; /* removed, waiting for outcomes */
	size_t n;
	uint64_t next_key;
	uint64_t stopped;             /* monitors stopped since start */
	double epoch;                 /* when the first monitor was set up */
	bool init, stopping;
} M;

static void monitor_timer_cb(evutil_socket_t fd, short what, void *arg);
static monitor_event_fn monitor_event_hook;
static int monitor_start(const struct mondef *d, long owner, double now);

static void monitor_module_init(void)
{
	if (M.init)
		return;
	TAILQ_INIT(&M.list);
	TAILQ_INIT(&M.detached);
	M.epoch = mono_now();
	M.init = true;
}

int monitor_supported(const struct mondef *d, char err[MONDEF_ERR_MAX])
{
	if (d->kind == MONDEF_TRACE && d->family == MONDEF_FAMILY_BOTH) {
		snprintf(err, MONDEF_ERR_MAX,
			 "[%s]: a trace monitor traces one family: ip_version any, 4 or 6", d->name);
		return -EINVAL;
	}
	if (d->kind == MONDEF_TRACE && d->timeout >= d->period) {
		snprintf(err, MONDEF_ERR_MAX,
			 "[%s]: a trace monitor's timeout must be less than its period", d->name);
		return -EINVAL;
	}
	if (d->addresses != MONDEF_ADDR_FIRST) {
		snprintf(err, MONDEF_ERR_MAX,
			 "[%s]: addresses = all is not supported by this version", d->name);
		return -EINVAL;
	}
	return 0;
}

/* The text of definition d (malloc'd), or NULL. */
static char *mcore_text(const struct mondef *d)
{
	/* every key, 16 labels of 64 + 128 bytes: well under 8 KiB */
	char text[8192];

	return mondef_format(d, text, sizeof(text)) < 0 ? NULL : strdup(text);
}

/* The hash of definition d (0 if it cannot be written, which never matches). */
static uint64_t mcore_hash(const struct mondef *d)
{
	char *text = mcore_text(d);
	uint64_t h = text ? mplan_hash(text) : 0;

	free(text);
	return h;
}

/* Keep what a running monitor needs of d in c.  0 or -ENOMEM. */
static int mcore_set(struct mcore *c, const struct mondef *d)
{
	struct promtext p = { 0 };

	for (int i = 0; i < d->n_labels; i++)
		promtext_label(&p, false, d->labels[i].name, d->labels[i].value);
	if (p.oom)
		return -ENOMEM;
	c->user_labels = p.buf ? p.buf : strdup("");
	c->text = mcore_text(d);
	if (!c->user_labels || !c->text)
		return -ENOMEM;
	str_copy(c->name, sizeof(c->name), d->name);
	str_copy(c->target, sizeof(c->target), d->target);
	c->kind = d->kind;
	c->family = d->family;
	c->protocol = d->protocol;
	c->port = d->port;
	c->count = d->count;
	c->first_ttl = d->first_ttl;
	c->max_ttl = d->max_ttl;
	c->size = d->size;
	c->tos = d->tos;
	c->ttl = d->ttl;
	c->interval = d->interval;
	c->period = d->period;
	c->timeout = d->timeout;
	c->loss_threshold = d->loss_threshold;
	c->pps = monitor_pps(d);
	c->hash = mplan_hash(c->text);
	c->owner = MONITOR_OWNER_FILES;
	return 0;
}

/* Rebuild a stream's label set for its current address. 0 or -ENOMEM. */
static int monitor_stream_labels(const struct monitor *m, struct mstream *s)
{
	struct promtext p = { 0 };
	char ver[4];

	snprintf(ver, sizeof(ver), "%d", s->got_version ? s->got_version : s->ip_version);
	promtext_label(&p, true, "monitor", m->def.name);
	promtext_label(&p, false, "target", m->def.target);
	promtext_label(&p, false, "address", s->address);
	promtext_label(&p, false, "ip_version", s->got_version || s->ip_version ? ver : "");
	promtext_label(&p, false, "protocol", mp_protocol_name(m->def.protocol));
	promtext_add(&p, m->def.user_labels, strlen(m->def.user_labels));
	if (p.oom || !p.buf) {
		promtext_free(&p);
		return -ENOMEM;
	}
	free(s->labels);
	s->labels = p.buf;
	return 0;
}

/* A trace stream's label set: the monitor and its own labels. 0 or -ENOMEM. */
static int monitor_trace_labels(const struct monitor *m, struct mstream *s)
{
	struct promtext p = { 0 };

	promtext_label(&p, true, "monitor", m->def.name);
	promtext_add(&p, m->def.user_labels, strlen(m->def.user_labels));
	if (p.oom || !p.buf) {
		promtext_free(&p);
		return -ENOMEM;
	}
	s->tlabels = p.buf;
	return 0;
}

static void monitor_free(struct monitor *m)
{
	event_del(&m->timer);
	for (int i = 0; i < m->n_streams; i++) {
		mring_free(&m->st[i].ring);
		mpath_free(&m->st[i].path);
		free(m->st[i].labels);
		free(m->st[i].tlabels);
	}
	free(m->def.user_labels);
	free(m->def.text);
	free(m);
}

/* A new monitor for d, not yet scheduled.  NULL on allocation failure. */
static struct monitor *monitor_new(const struct mondef *d)
{
	struct monitor *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	if (mcore_set(&m->def, d) < 0) {
		free(m->def.user_labels);
		free(m->def.text);
		free(m);
		return NULL;
	}
	m->bounds = srv.cfg.metrics_buckets;
	m->key = MONITOR_KEY_BASE + ++M.next_key;
	event_assign(&m->timer, srv.base, -1, 0, monitor_timer_cb, m);
	m->n_streams = d->family == MONDEF_FAMILY_BOTH ? 2 : 1;
	for (int i = 0; i < m->n_streams; i++) {
		struct mstream *s = &m->st[i];

		s->ip_version = d->family == MONDEF_FAMILY_4 ? 4 : d->family == MONDEF_FAMILY_6 ? 6 :
				d->family == MONDEF_FAMILY_BOTH ? (i == 0 ? 4 : 6) : 0;
		bool trace = d->kind == MONDEF_TRACE;

		if (mring_init(&s->ring, srv.cfg.monitor_history,
			       trace ? d->max_ttl - d->first_ttl + 1 : d->count) < 0 ||
		    monitor_stream_labels(m, s) < 0 ||
		    (trace && (mpath_init(&s->path, d->first_ttl, d->max_ttl) < 0 ||
			       monitor_trace_labels(m, s) < 0))) {
			m->n_streams = i + 1;
			monitor_free(m);
			return NULL;
		}
	}
	return m;
}

/* Arm m's timer for time at (monotonic). */
static void monitor_arm(struct monitor *m, double at)
{
	struct timeval tv = tv_from_seconds(at - mono_now());

	event_add(&m->timer, &tv);
}

/* The index of a result word among the counters. */
static int monitor_result_index(const char *word)
{
	for (int i = 0; i < SCHED_N_RESULTS - 1; i++)
		if (strcmp(sched_result_word(i), word) == 0)
			return i;
	return SCHED_N_RESULTS - 1; /* other */
}

void monitor_set_event_hook(monitor_event_fn fn)
{
	monitor_event_hook = fn;
}

/* Hand event ev (taken) of m to the hook, with "event", "monitor" and "time" first. */
static void monitor_emit(const struct monitor *m, const char *what, json_t *ev)
{
	json_t *head = json_pack("{s:s,s:s,s:f}", "event", what, "monitor", m->def.name, "time",
				 (double)time(NULL));

	if (head && ev && json_object_update(head, ev) == 0 && monitor_event_hook)
		monitor_event_hook(head, m->def.owner);
	else
		json_decref(head);
	json_decref(ev);
}

/* A path as a JSON array of responders (null for a hop that did not answer). */
static json_t *monitor_path_json(char (*path)[MP_ADDR_MAX], int hops)
{
	json_t *arr = json_array();

	for (int i = 0; i < hops && arr; i++)
		json_array_append_new(arr, path[i][0] ? json_string(path[i]) : json_null());
	return arr;
}

/*
 * At the start of a ping cycle: the loss over the kept cycles against the
 * monitor's loss_threshold, and whether the newest cycle whose probes have
 * all ended got any reply; events for what changed.
 */
static void monitor_ping_events(struct monitor *m, struct mstream *s)
{
	const struct msample *last = NULL;
	int sent = 0, received = 0, last_sent = 0, last_received = 0;
	double loss;

	for (int age = 0; age < s->ring.n; age++) {
		const struct msample *x = mring_samples(&s->ring, age);
		int out = 0, replies = 0, pending = 0;

		for (int i = 0; i < s->ring.per_cycle; i++) {
			out += x[i].state >= MSAMPLE_REPLY;
			replies += x[i].state == MSAMPLE_REPLY;
			pending += x[i].state == MSAMPLE_PENDING;
		}
		sent += out;
		received += replies;
		/* reachability from the newest cycle whose probes all ended */
		if (!last && !pending && out) {
			last = x;
			last_sent = out;
			last_received = replies;
		}
	}
	if (sent == 0)
		return;
	loss = 100.0 * (sent - received) / sent;
	if ((loss > m->def.loss_threshold) != s->loss_high) {
		s->loss_high = !s->loss_high;
		monitor_emit(m, s->loss_high ? "loss-high" : "loss-normal",
			     json_pack("{s:s,s:f,s:f,s:i}", "address", s->address, "loss_pct", loss,
				       "threshold_pct", m->def.loss_threshold, "window", sent));
	}
	if (last && last_sent == m->def.count && !last_received && !s->unreachable) {
		s->unreachable = true;
		monitor_emit(m, "unreachable", json_pack("{s:s}", "address", s->address));
	} else if (last && last_received && s->unreachable) {
		s->unreachable = false;
		monitor_emit(m, "recovered", json_pack("{s:s}", "address", s->address));
	}
}

/* The address a probe of stream s went to: a new one changes the series' labels. */
static void monitor_note_address(struct monitor *m, struct mstream *s,
				 const struct sched_outcome *o)
{
	if (!o->address[0] || strcmp(o->address, s->address) == 0)
		return;
	if (s->address[0])
		monitor_emit(m, "address-changed", json_pack("{s:s,s:s}", "old", s->address, "new",
							    o->address));
	str_copy(s->address, sizeof(s->address), o->address);
	s->got_version = o->ip_version;
	if (monitor_stream_labels(m, s) < 0)
		log_error("monitor %s: out of memory for its labels", m->def.name);
}

/* The current cycle of trace stream s ended: its path is known. */
static void monitor_trace_end(struct monitor *m, struct mstream *s)
{
	json_t *old = monitor_path_json(s->path.path, s->path.hops);
	uint64_t old_id = s->path.id;

	s->cycle_outstanding = 0;
	if (mpath_end(&s->path, &m->bounds, (double)time(NULL))) {
		log_info("monitor %s: path changed to %d hops (id %llu), change %llu", m->def.name,
			 s->path.hops, (unsigned long long)s->path.id,
			 (unsigned long long)s->path.changes);
		monitor_emit(m, "path-changed",
			     json_pack("{s:o,s:o,s:I,s:I}", "old", old, "new",
				       monitor_path_json(s->path.path, s->path.hops), "old_path_id",
				       (json_int_t)old_id, "path_id", (json_int_t)s->path.id));
		return;
	}
	json_decref(old);
}

/* Count the outcome of TTL first_ttl + i of trace stream s in cycle seq. */
static void monitor_trace_record(struct monitor *m, struct mstream *s, uint64_t seq, int i,
				 const struct sched_outcome *o)
{
	enum mpath_outcome po = MPATH_NONE;
	enum msample_state state = MSAMPLE_ERROR;
	const char *responder = "";
	double rtt = 0;

	if (o->err == MP_OK && o->res->responder[0] && o->res->time_ms >= 0) {
		po = strcmp(o->res->result, "reply") == 0 ? MPATH_TARGET : MPATH_HOP;
		state = MSAMPLE_REPLY;
		rtt = o->res->time_ms;
		responder = o->res->responder;
	} else if (o->err == MP_OK && strcmp(o->res->result, "no-reply") == 0) {
		state = MSAMPLE_LOST;
	}
	monitor_note_address(m, s, o);
	mring_set(&s->ring, seq, i, state, rtt);
	mpath_record(&s->path, seq, m->def.first_ttl + i, po, rtt, responder);
	if (seq == s->path.seq && s->cycle_outstanding > 0 && --s->cycle_outstanding == 0)
		monitor_trace_end(m, s);
}

/* Count an outcome in stream s of m (the cycle seq, probe i). */
static void monitor_record(struct monitor *m, struct mstream *s, uint64_t seq, int i,
			   const struct sched_outcome *o)
{
	enum msample_state state = MSAMPLE_ERROR;
	double rtt = 0;
	int r;

	if (o->err == MP_OK) {
		r = monitor_result_index(o->res->result);
		if (r == 0 && o->res->time_ms >= 0) {
			state = MSAMPLE_REPLY;
			rtt = o->res->time_ms;
			mhist_observe(&s->hist, &m->bounds, rtt / 1000.0);
			s->received++;
		} else if (strcmp(o->res->result, "no-reply") == 0) {
			state = MSAMPLE_LOST;
		}
	} else if (o->err == MP_ERR_HOST_RESOLVE) {
		r = MON_RESULT_RESOLVE;
	} else {
		/*
		 * The daemon's own failure (overloaded, a worker's, shutting
		 * down): not the target's doing, so neither a probe sent nor a
		 * loss; counted under "other" only.
		 */
		if (o->err != MP_ERR_SHUTTING_DOWN)
			s->results[SCHED_N_RESULTS - 1]++;
		mring_set(&s->ring, seq, i, MSAMPLE_NONE, 0);
		return;
	}
	s->results[r]++;
	s->sent++;
	monitor_note_address(m, s, o);
	mring_set(&s->ring, seq, i, state, rtt);
	if (seq > s->up_seq) {
		s->up_seq = seq;
		s->up = state == MSAMPLE_REPLY;
	} else if (seq == s->up_seq && state == MSAMPLE_REPLY) {
		s->up = true;
	}
}

/* A probe of a monitor ended. */
static void monitor_probe_done(void *arg, uint64_t tag, const struct sched_outcome *o)
{
	struct monitor *m = arg;
	uint64_t seq = tag >> 16;
	int si = (int)(tag >> 8 & 0xff), i = (int)(tag & 0xff);

	m->outstanding--;
	if (m->detached) {
		if (m->outstanding == 0) {
			TAILQ_REMOVE(&M.detached, m, link);
			monitor_free(m);
		}
		return;
	}
	if (o->cancelled)
		return;
	if (m->def.kind == MONDEF_TRACE)
		monitor_trace_record(m, &m->st[si], seq, i, o);
	else
		monitor_record(m, &m->st[si], seq, i, o);
}

/* The options of m's probes. */
static void monitor_opts(const struct monitor *m, struct mp_probe_opts *o)
{
	const struct mcore *d = &m->def;

	mp_probe_opts_init(o, d->timeout);
	str_copy(o->host, sizeof(o->host), d->target);
	o->ttl = d->ttl;
	o->protocol = d->protocol;
	o->port = d->port;
	o->size = d->size;
	o->tos = d->tos;
}

/* Submit probe i (with options o) of the current cycle on stream s. */
static void monitor_submit(struct monitor *m, int s, int i, struct mp_probe_opts *o)
{
	/* The files' monitors probe as root; a user's as that user (shares, rates). */
	uid_t uid = m->def.owner == MONITOR_OWNER_FILES ? 0 : (uid_t)m->def.owner;
	struct sched_owner owner = { .key = m->key, .uid = uid, .exempt = uid == 0 };
	char errmsg[MP_ERRMSG_MAX];
	struct sched_outcome fail = { .msg = errmsg, .address = "" };

	o->ip_version = m->st[s].ip_version;
	mring_set(&m->st[s].ring, m->seq, i, MSAMPLE_PENDING, 0);
	m->outstanding++;
	fail.err = sched_submit(&owner, o, monitor_probe_done, m, TAG(m->seq, s, i), errmsg);
	if (fail.err == MP_OK)
		return;
	m->outstanding--;
	if (m->def.kind == MONDEF_TRACE)
		monitor_trace_record(m, &m->st[s], m->seq, i, &fail);
	else
		monitor_record(m, &m->st[s], m->seq, i, &fail);
}

/* Send ping probe i of the current cycle, on every stream. */
static void monitor_send(struct monitor *m, int i)
{
	struct mp_probe_opts o;

	monitor_opts(m, &o);
	for (int s = 0; s < m->n_streams; s++)
		monitor_submit(m, s, i, &o);
}

/* Start a trace cycle: one probe per TTL up to the path's limit, on every stream. */
static void monitor_send_trace(struct monitor *m)
{
	struct mp_probe_opts o;

	monitor_opts(m, &o);
	for (int s = 0; s < m->n_streams; s++) {
		struct mstream *st = &m->st[s];
		int limit = mpath_limit(&st->path);

		if (st->cycle_outstanding > 0)
			monitor_trace_end(m, st); /* the last cycle's stragglers no longer count */
		mpath_begin(&st->path, m->seq);
		st->cycle_outstanding = limit - m->def.first_ttl + 1;
		for (int ttl = m->def.first_ttl; ttl <= limit; ttl++) {
			mpath_probed(&st->path, m->seq, ttl);
			o.ttl = ttl;
			monitor_submit(m, s, ttl - m->def.first_ttl, &o);
		}
	}
}

/* The timer: the next probe of the cycle, or the next cycle. */
static void monitor_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct monitor *m = arg;
	double now = mono_now();

	if (M.stopping)
		return;
	if (m->next_probe == 0) {
		double late = mplan_late(m->due, now);

		for (int s = 0; s < m->n_streams && m->def.kind == MONDEF_PING && m->seq; s++)
			monitor_ping_events(m, &m->st[s]);
		m->seq++;
		m->cycles++;
		if (late > MONITOR_LATE)
			m->cycles_late++;
		for (int s = 0; s < m->n_streams; s++)
			mring_begin(&m->st[s].ring, m->seq, now, late);
	}
	if (m->def.kind == MONDEF_TRACE) {
		monitor_send_trace(m);
		m->due = mplan_next(m->due, m->def.period);
		monitor_arm(m, m->due);
		return;
	}
	monitor_send(m, m->next_probe);
	if (++m->next_probe < m->def.count) {
		monitor_arm(m, m->due + m->def.interval * m->next_probe);
		return;
	}
	m->next_probe = 0;
	m->due = mplan_next(m->due, m->def.period);
	monitor_arm(m, m->due);
}

/* Stop m: free it now, or once its outstanding probes have ended. */
static void monitor_stop(struct monitor *m)
{
	M.stopped++;
	TAILQ_REMOVE(&M.list, m, link);
	M.n--;
	event_del(&m->timer);
	sched_owner_gone(m->key); /* unsent probes end cancelled, at once */
	if (m->outstanding == 0) {
		monitor_free(m);
		return;
	}
	m->detached = true;
	TAILQ_INSERT_TAIL(&M.detached, m, link);
}

/* Whether two sets of bucket bounds are the same. */
static bool monitor_same_bounds(const struct mhist_bounds *a, const struct mhist_bounds *b)
{
	return a->n == b->n && memcmp(a->le, b->le, (size_t)a->n * sizeof(a->le[0])) == 0;
}

/* Order monitors or definitions by name (both start with their name). */
static int monitor_cmp_name(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The entry named name of a sorted array of name pointers, or NULL. */
static const void *monitor_lookup(const char **sorted, size_t n, const char *name)
{
	const char **hit = bsearch(&name, sorted, n, sizeof(*sorted), monitor_cmp_name);

	return hit ? *hit : NULL;
}

/* Whether the running m may go on as the monitor of d. */
static bool monitor_unchanged(const struct monitor *m, const struct mondef *d)
{
	return d && mcore_hash(d) == m->def.hash &&
	       monitor_same_bounds(&m->bounds, &srv.cfg.metrics_buckets) &&
	       m->st[0].ring.cycles == srv.cfg.monitor_history;
}

/*
 * Stop the running monitors that are not in defs unchanged, then start
 * the definitions that have no running monitor, in definition order.  The
 * list stays in the order monitors started (their keys ascending), which
 * a scrape in pieces relies on.  Names are looked up in sorted arrays of
 * pointers (each struct starts with its name): O(n log n) for n monitors.
 */
int monitor_apply(const struct mondef_set *defs)
{
	const char **names = malloc((defs->n + M.n + 1) * sizeof(*names));
	struct monitor *m, *next;
	double now = mono_now();
	size_t n = 0;
	int r = 0;

	_Static_assert(offsetof(struct monitor, def) == 0 && offsetof(struct mcore, name) == 0 &&
			       offsetof(struct mondef, name) == 0,
		       "a monitor's and a definition's address is their name's");
	monitor_module_init();
	if (!names)
		return -ENOMEM;
	for (size_t i = 0; i < defs->n; i++)
		names[i] = defs->items[i].name;
	qsort(names, defs->n, sizeof(*names), monitor_cmp_name);
	for (m = TAILQ_FIRST(&M.list); m; m = next) {
		next = TAILQ_NEXT(m, link);
		if (m->def.owner == MONITOR_OWNER_FILES &&
		    !monitor_unchanged(m, monitor_lookup(names, defs->n, m->def.name)))
			monitor_stop(m);
	}
	TAILQ_FOREACH(m, &M.list, link)
		names[n++] = m->def.name;
	qsort(names, n, sizeof(*names), monitor_cmp_name);
	for (size_t i = 0; i < defs->n; i++) {
		const struct mondef *d = &defs->items[i];

		if (monitor_lookup(names, n, d->name))
			continue; /* running unchanged (or, refused before, added over the socket) */
		if (monitor_start(d, MONITOR_OWNER_FILES, now) < 0)
			r = -ENOMEM;
	}
	free(names);
	return r;
}

void monitor_shutdown(void)
{
	struct monitor *m;

	monitor_module_init();
	M.stopping = true;
	TAILQ_FOREACH(m, &M.list, link)
		event_del(&m->timer);
}

void monitor_free_all(void)
{
	struct monitor *m;

	monitor_module_init();
	while ((m = TAILQ_FIRST(&M.list))) {
		TAILQ_REMOVE(&M.list, m, link);
		monitor_free(m);
	}
	while ((m = TAILQ_FIRST(&M.detached))) {
		TAILQ_REMOVE(&M.detached, m, link);
		monitor_free(m);
	}
	M.n = 0;
}

size_t monitor_count(void)
{
	return M.n;
}

/* The running monitor named name, or NULL (a scan: for single operations). */
static struct monitor *monitor_find(const char *name)
{
	struct monitor *m;

	TAILQ_FOREACH(m, &M.list, link)
		if (strcmp(m->def.name, name) == 0)
			return m;
	return NULL;
}

/* Start a monitor for d (owner's) and schedule it.  0 or -ENOMEM. */
static int monitor_start(const struct mondef *d, long owner, double now)
{
	struct monitor *m = monitor_new(d);

	if (!m)
		return -ENOMEM;
	m->def.owner = owner;
	m->due = mplan_first(M.epoch, now, d->name, d->period);
	TAILQ_INSERT_TAIL(&M.list, m, link);
	M.n++;
	if (!M.stopping)
		monitor_arm(m, m->due);
	return 0;
}

double monitor_pps(const struct mondef *d)
{
	double per_cycle = d->kind == MONDEF_TRACE ? d->max_ttl - d->first_ttl + 1 :
			   d->count * (d->family == MONDEF_FAMILY_BOTH ? 2 : 1);

	return per_cycle / d->period;
}

int monitor_conflict(const struct mondef_set *defs, char err[MONDEF_ERR_MAX])
{
	struct monitor *m;

	monitor_module_init();
	TAILQ_FOREACH(m, &M.list, link) {
		if (m->def.owner == MONITOR_OWNER_FILES || !mondef_set_find(defs, m->def.name))
			continue;
		snprintf(err, MONDEF_ERR_MAX,
			 "monitor '%s' is already defined over the socket by uid %ld", m->def.name,
			 m->def.owner);
		return -EEXIST;
	}
	return 0;
}

enum mp_error monitor_add(const struct mondef *d, long owner, char err[MP_ERRMSG_MAX])
{
	double pps = monitor_pps(d);
	struct monitor *m;
	int n = 0;

	monitor_module_init();
	if (monitor_find(d->name)) {
		snprintf(err, MP_ERRMSG_MAX, "monitor.name: a monitor '%s' exists", d->name);
		return MP_ERR_INVALID_ARGUMENT;
	}
	TAILQ_FOREACH(m, &M.list, link) {
		if (m->def.owner != owner)
			continue;
		n++;
		pps += m->def.pps;
	}
	if (owner != 0 && srv.cfg.uid_max_monitors > 0 && n >= srv.cfg.uid_max_monitors) {
		snprintf(err, MP_ERRMSG_MAX, "monitor: uid_max_monitors (%d) reached",
			 srv.cfg.uid_max_monitors);
		return MP_ERR_OVERLOADED;
	}
	if (owner != 0 && srv.cfg.uid_monitor_max_pps > 0 && pps > srv.cfg.uid_monitor_max_pps) {
		snprintf(err, MP_ERRMSG_MAX,
			 "monitor: this user's monitors would schedule %.6g probes/s, over "
			 "uid_monitor_max_pps (%d)", pps, srv.cfg.uid_monitor_max_pps);
		return MP_ERR_OVERLOADED;
	}
	if (monitor_start(d, owner, mono_now()) < 0) {
		snprintf(err, MP_ERRMSG_MAX, "monitor: out of memory");
		return MP_ERR_PROCESS;
	}
	return MP_OK;
}

enum mp_error monitor_removable(const char *name, long uid, long *ret_owner,
				char err[MP_ERRMSG_MAX])
{
	struct monitor *m;

	monitor_module_init();
	m = monitor_find(name);
	if (!m || (uid != 0 && m->def.owner != uid && m->def.owner != MONITOR_OWNER_FILES)) {
		snprintf(err, MP_ERRMSG_MAX, "name: no monitor '%s'", name);
		return MP_ERR_INVALID_ARGUMENT;
	}
	if (m->def.owner == MONITOR_OWNER_FILES) {
		snprintf(err, MP_ERRMSG_MAX,
			 "name: monitor '%s' is defined in the monitors directory; remove it there",
			 name);
		return MP_ERR_PERMISSION_DENIED;
	}
	*ret_owner = m->def.owner;
	return MP_OK;
}

enum mp_error monitor_remove(const char *name, long uid, long *ret_owner,
			     char err[MP_ERRMSG_MAX])
{
	enum mp_error r = monitor_removable(name, uid, ret_owner, err);

	if (r == MP_OK)
		monitor_stop(monitor_find(name));
	return r;
}

char *monitor_owner_text(long owner, const char *except)
{
	struct promtext p = { 0 };
	struct monitor *m;

	monitor_module_init();
	TAILQ_FOREACH(m, &M.list, link) {
		if (m->def.owner != owner || (except && strcmp(m->def.name, except) == 0))
			continue;
		promtext_add(&p, m->def.text, strlen(m->def.text));
		promtext_add(&p, "\n", 1);
	}
	if (p.oom) {
		promtext_free(&p);
		return NULL;
	}
	return p.buf ? p.buf : strdup("");
}

struct monitor *monitor_first(void)
{
	monitor_module_init();
	return TAILQ_FIRST(&M.list);
}

uint64_t monitor_generation(void)
{
	return M.stopped;
}

struct monitor *monitor_next(const struct monitor *m)
{
	return TAILQ_NEXT(m, link);
}
