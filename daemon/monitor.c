/*
 * Monitors.  A ping monitor runs a cycle every `period` seconds: `count`
 * probes `interval` apart, to the first address its target resolves to in
 * each family it asks for (one stream of history and counters per family:
 * two with ip_version = both).  Cycles start at an offset into the period
 * fixed by the monitor's name (mplan), and keep their cadence: a cycle
 * that starts late is counted as late, and the next one is still due one
 * period after the late one's schedule.  Probes go to the scheduler under
 * the monitor's own owner key (root's shares), so that the dispatcher
 * serves monitors and clients round-robin.
 *
 * A monitor removed while probes of it are still out stays, detached and
 * silent, until their outcomes have come back.
 */
#include <errno.h>
#include <event2/event.h>
#include <event2/event_struct.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>

#include "log.h"
#include "monitor.h"
#include "mpath.h"
#include "mplan.h"
#include "mstats.h"
#include "sched.h"
#include "server.h"
#include "util.h"

/* Owner keys of monitors start here, far above any connection's. */
#define MONITOR_KEY_BASE (UINT64_C(1) << 62)
/* Result counters: the scheduler's words, then a failed resolution. */
#define MON_RESULT_RESOLVE SCHED_N_RESULTS
#define MON_RESULTS (SCHED_N_RESULTS + 1)
/* The tag of a probe: cycle << 16 | stream << 8 | probe index. */
#define TAG(seq, s, i) ((seq) << 16 | (uint64_t)(s) << 8 | (uint64_t)(i))

/* One family's history and counters. */
struct mstream {
	int ip_version;              /* asked for: 0 (any), 4 or 6 */
	char address[MP_ADDR_MAX];   /* the address probed last, "" before any */
	int got_version;             /* its family, 0 before any */
	char *labels;                /* the series' label set, for address */
	struct mring ring;
	struct mhist hist;
	uint64_t sent, received;
	uint64_t results[MON_RESULTS];
	uint64_t up_seq;             /* newest cycle with an outcome */
	bool up;                     /* it got a reply */
	/* Trace monitors. */
	struct mpath path;
	int cycle_outstanding;       /* probes of the current cycle still out */
	char *tlabels;               /* monitor and the monitor's own labels */
};

struct monitor {
	struct mondef def;
	struct mhist_bounds bounds;  /* its histograms' buckets (metrics_buckets when it started) */
	uint64_t key;                /* its scheduler owner */
	struct event timer;
	double due;                  /* schedule of the current (or next) cycle */
	uint64_t seq;                /* current cycle, 0 before the first */
	int next_probe;              /* index of the next probe of the cycle */
	uint64_t cycles, cycles_late;
	int n_streams;
	struct mstream st[2];
	int outstanding;             /* probes submitted whose outcome is to come */
	bool detached;               /* removed: freed when outstanding reaches 0 */
	TAILQ_ENTRY(monitor) link;
};

TAILQ_HEAD(monitor_list, monitor);

static struct {
	struct monitor_list list;     /* running, in definition order */
	struct monitor_list detached; /* removed, waiting for outcomes */
	size_t n;
	uint64_t next_key;
	double epoch;                 /* when the first monitor was set up */
	bool init, stopping;
} M;

static void monitor_timer_cb(evutil_socket_t fd, short what, void *arg);

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
	for (int i = 0; i < m->def.n_labels; i++)
		promtext_label(&p, false, m->def.labels[i].name, m->def.labels[i].value);
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
	for (int i = 0; i < m->def.n_labels; i++)
		promtext_label(&p, false, m->def.labels[i].name, m->def.labels[i].value);
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
	free(m);
}

/* A new monitor for d, not yet scheduled.  NULL on allocation failure. */
static struct monitor *monitor_new(const struct mondef *d)
{
	struct monitor *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->def = *d;
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

/* The address a probe of stream s went to: a new one changes the series' labels. */
static void monitor_note_address(struct monitor *m, struct mstream *s,
				 const struct sched_outcome *o)
{
	if (!o->address[0] || strcmp(o->address, s->address) == 0)
		return;
	str_copy(s->address, sizeof(s->address), o->address);
	s->got_version = o->ip_version;
	if (monitor_stream_labels(m, s) < 0)
		log_error("monitor %s: out of memory for its labels", m->def.name);
}

/* The current cycle of trace stream s ended: its path is known. */
static void monitor_trace_end(struct monitor *m, struct mstream *s)
{
	s->cycle_outstanding = 0;
	if (mpath_end(&s->path, &m->bounds, (double)time(NULL)))
		log_info("monitor %s: path changed to %d hops (id %llu), change %llu", m->def.name,
			 s->path.hops, (unsigned long long)s->path.id,
			 (unsigned long long)s->path.changes);
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
	} else {
		r = o->err == MP_ERR_HOST_RESOLVE ? MON_RESULT_RESOLVE : SCHED_N_RESULTS - 1;
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
	const struct mondef *d = &m->def;

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
	struct sched_owner owner = { .key = m->key, .uid = 0, .exempt = true };
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

/* The running monitor named name, or NULL. */
static struct monitor *monitor_find(const char *name)
{
	struct monitor *m;

	TAILQ_FOREACH(m, &M.list, link)
		if (strcmp(m->def.name, name) == 0)
			return m;
	return NULL;
}

int monitor_apply(const struct mondef_set *defs)
{
	struct monitor_list keep;
	struct monitor *m;
	double now = mono_now();
	int r = 0;

	monitor_module_init();
	TAILQ_INIT(&keep);
	/* Unchanged monitors move to keep, in the new order; the rest stop. */
	for (size_t i = 0; i < defs->n; i++) {
		m = monitor_find(defs->items[i].name);
		if (m && mondef_equal(&m->def, &defs->items[i]) &&
		    monitor_same_bounds(&m->bounds, &srv.cfg.metrics_buckets) &&
		    m->st[0].ring.cycles == srv.cfg.monitor_history) {
			TAILQ_REMOVE(&M.list, m, link);
			TAILQ_INSERT_TAIL(&keep, m, link);
		}
	}
	while ((m = TAILQ_FIRST(&M.list)))
		monitor_stop(m);
	TAILQ_CONCAT(&M.list, &keep, link);
	/* New and changed monitors start, in definition order. */
	TAILQ_INIT(&keep);
	TAILQ_CONCAT(&keep, &M.list, link);
	for (size_t i = 0; i < defs->n; i++) {
		const struct mondef *d = &defs->items[i];

		m = TAILQ_FIRST(&keep);
		if (m && strcmp(m->def.name, d->name) == 0) {
			TAILQ_REMOVE(&keep, m, link);
			TAILQ_INSERT_TAIL(&M.list, m, link);
			continue;
		}
		m = monitor_new(d);
		if (!m) {
			r = -ENOMEM;
			continue;
		}
		m->due = mplan_first(M.epoch, now, d->name, d->period);
		TAILQ_INSERT_TAIL(&M.list, m, link);
		M.n++;
		if (!M.stopping)
			monitor_arm(m, m->due);
	}
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

/* A per-stream counter family. */
enum mon_field { F_SENT, F_RECEIVED, F_RESOLVE, F_UP };

static uint64_t monitor_field(const struct mstream *s, enum mon_field f)
{
	switch (f) {
	case F_SENT:
		return s->sent;
	case F_RECEIVED:
		return s->received;
	case F_RESOLVE:
		return s->results[MON_RESULT_RESOLVE];
	case F_UP:
		return s->up;
	}
	return 0;
}

/* One family with one sample per stream. */
static void monitor_metrics_streams(struct promtext *p, const char *name, const char *type,
				    const char *help, enum mon_field f)
{
	struct monitor *m;

	promtext_family(p, name, type, help);
	TAILQ_FOREACH(m, &M.list, link)
		for (int s = 0; s < m->n_streams && m->def.kind == MONDEF_PING; s++)
			promtext_u64(p, name, m->st[s].labels, monitor_field(&m->st[s], f));
}

/* Probe outcomes by result: reply and no-reply always, the others once seen. */
static void monitor_metrics_results(struct promtext *p)
{
	const char *name = "mtrprobed_monitor_probe_results_total";
	struct promtext lab = { 0 };
	struct monitor *m;

	promtext_family(p, name, "counter", "Probes of the monitor that ended, by result.");
	TAILQ_FOREACH(m, &M.list, link) {
		for (int s = 0; s < m->n_streams && m->def.kind == MONDEF_PING; s++) {
			const struct mstream *st = &m->st[s];

			for (int r = 0; r < MON_RESULTS; r++) {
				const char *word = r == MON_RESULT_RESOLVE ? "host-resolve-error" :
						   sched_result_word(r);

				if (r > 2 && st->results[r] == 0)
					continue;
				promtext_reset(&lab);
				promtext_add(&lab, st->labels, strlen(st->labels));
				promtext_label(&lab, false, "result", word);
				promtext_u64(p, name, lab.oom ? "" : lab.buf, st->results[r]);
			}
		}
	}
	promtext_free(&lab);
}

/* Per-monitor cycle counters. */
static void monitor_metrics_cycles(struct promtext *p, bool late)
{
	const char *name = late ? "mtrprobed_monitor_cycles_late_total" :
				  "mtrprobed_monitor_cycles_total";
	struct promtext lab = { 0 };
	struct monitor *m;

	promtext_family(p, name, "counter",
			late ? "Cycles of the monitor that started more than 50 ms after their schedule." :
			       "Cycles of the monitor started.");
	TAILQ_FOREACH(m, &M.list, link) {
		promtext_reset(&lab);
		promtext_label(&lab, true, "monitor", m->def.name);
		promtext_u64(p, name, lab.oom ? "" : lab.buf, late ? m->cycles_late : m->cycles);
	}
	promtext_free(&lab);
}

/* What a trace family shows. */
enum trace_field { T_RTT, T_SENT, T_RECEIVED, T_INFO, T_ID, T_CHANGES, T_HOPS, T_CHANGED_AT };

/* The labels of hop i of a trace stream (its responder too for T_INFO), into lab. */
static const char *monitor_hop_labels(struct promtext *lab, const struct mstream *st, int i,
				      enum trace_field f)
{
	char ttl[4];

	snprintf(ttl, sizeof(ttl), "%d", st->path.first_ttl + i);
	promtext_reset(lab);
	promtext_add(lab, st->tlabels, strlen(st->tlabels));
	promtext_label(lab, false, "ttl", ttl);
	if (f == T_INFO)
		promtext_label(lab, false, "responder", st->path.path[i]);
	return lab->oom ? "" : lab->buf;
}

/* Hop i's sample(s) of family name. */
static void monitor_hop_sample(struct promtext *p, struct promtext *lab, const char *name,
			       const struct monitor *m, int i, enum trace_field f)
{
	const struct mstream *st = &m->st[0];
	const struct mpath_hop *h = &st->path.hop[i];

	if (f == T_INFO ? i >= st->path.hops || !st->path.path[i][0] : !h->counted)
		return;
	if (f == T_RTT)
		promtext_histogram(p, name, monitor_hop_labels(lab, st, i, f), &h->hist, &m->bounds);
	else
		promtext_u64(p, name, monitor_hop_labels(lab, st, i, f),
			     f == T_SENT ? h->sent : f == T_RECEIVED ? h->received : 1);
}

/* One trace family over every trace monitor: per hop (every TTL ever counted) or per path. */
static void monitor_metrics_trace_family(struct promtext *p, const char *name, const char *type,
					 const char *help, enum trace_field f)
{
	struct promtext lab = { 0 };
	struct monitor *m;

	promtext_family(p, name, type, help);
	TAILQ_FOREACH(m, &M.list, link) {
		const struct mpath *path = &m->st[0].path;

		if (m->def.kind != MONDEF_TRACE)
			continue;
		if (f == T_ID || f == T_HOPS || f == T_CHANGES)
			promtext_u64(p, name, m->st[0].tlabels,
				     f == T_ID ? path->id : f == T_HOPS ? (uint64_t)path->hops :
				     path->changes);
		else if (f == T_CHANGED_AT)
			promtext_double(p, name, m->st[0].tlabels, path->changed_at);
		else
			for (int i = 0; i < path->n; i++)
				monitor_hop_sample(p, &lab, name, m, i, f);
	}
	promtext_free(&lab);
}

/* The trace monitors' families. */
static void monitor_metrics_trace(struct promtext *p)
{
	monitor_metrics_trace_family(p, "mtrprobed_trace_hop_rtt_seconds", "histogram",
				     "Round-trip times of the answers from each hop of the path.", T_RTT);
	monitor_metrics_trace_family(p, "mtrprobed_trace_hop_probes_sent_total", "counter",
				     "Probes counted for each hop (up to the target).", T_SENT);
	monitor_metrics_trace_family(p, "mtrprobed_trace_hop_probes_received_total", "counter",
				     "Probes of each hop that got an answer.", T_RECEIVED);
	monitor_metrics_trace_family(p, "mtrprobed_trace_hop_info", "gauge",
				     "The responder of each hop of the current path, value 1.", T_INFO);
	monitor_metrics_trace_family(p, "mtrprobed_trace_path_id", "gauge",
				     "Hash of the current path's responders (53 bits).", T_ID);
	monitor_metrics_trace_family(p, "mtrprobed_trace_path_changes_total", "counter",
				     "Times the path changed.", T_CHANGES);
	monitor_metrics_trace_family(p, "mtrprobed_trace_hops", "gauge",
				     "Hops in the current path.", T_HOPS);
	monitor_metrics_trace_family(p, "mtrprobed_trace_path_changed_timestamp_seconds", "gauge",
				     "When the path last changed (Unix time; 0: never).", T_CHANGED_AT);
}

void monitor_metrics(struct promtext *p)
{
	const char *rtt = "mtrprobed_monitor_rtt_seconds";
	struct monitor *m;

	monitor_module_init();
	promtext_family(p, rtt, "histogram", "Round-trip times of the monitor's answered probes.");
	TAILQ_FOREACH(m, &M.list, link)
		for (int s = 0; s < m->n_streams && m->def.kind == MONDEF_PING; s++)
			promtext_histogram(p, rtt, m->st[s].labels, &m->st[s].hist, &m->bounds);
	monitor_metrics_streams(p, "mtrprobed_monitor_probes_sent_total", "counter",
				"Probes of the monitor that ended, answered or not.", F_SENT);
	monitor_metrics_streams(p, "mtrprobed_monitor_probes_received_total", "counter",
				"Probes of the monitor answered by the target.", F_RECEIVED);
	monitor_metrics_results(p);
	monitor_metrics_streams(p, "mtrprobed_monitor_resolve_failures_total", "counter",
				"Probes of the monitor whose target could not be resolved.", F_RESOLVE);
	monitor_metrics_streams(p, "mtrprobed_monitor_up", "gauge",
				"1 if the newest cycle with an outcome got a reply, else 0.", F_UP);
	monitor_metrics_cycles(p, false);
	monitor_metrics_cycles(p, true);
	monitor_metrics_trace(p);
}
