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

#include "log.h"
#include "monitor.h"
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
	if (d->kind != MONDEF_PING) {
		snprintf(err, MONDEF_ERR_MAX, "[%s]: kind = trace is not supported by this version",
			 d->name);
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

static void monitor_free(struct monitor *m)
{
	event_del(&m->timer);
	for (int i = 0; i < m->n_streams; i++) {
		mring_free(&m->st[i].ring);
		free(m->st[i].labels);
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
		if (mring_init(&s->ring, srv.cfg.monitor_history, d->count) < 0 ||
		    monitor_stream_labels(m, s) < 0) {
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
	if (o->address[0] && strcmp(o->address, s->address) != 0) {
		str_copy(s->address, sizeof(s->address), o->address);
		s->got_version = o->ip_version;
		if (monitor_stream_labels(m, s) < 0)
			log_error("monitor %s: out of memory for its labels", m->def.name);
	}
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
	if (!o->cancelled)
		monitor_record(m, &m->st[si], seq, i, o);
}

/* Send probe i of the current cycle, on every stream. */
static void monitor_send(struct monitor *m, int i)
{
	const struct mondef *d = &m->def;
	struct sched_owner owner = { .key = m->key, .uid = 0, .exempt = true };
	struct mp_probe_opts o;
	char errmsg[MP_ERRMSG_MAX];

	mp_probe_opts_init(&o, d->timeout);
	str_copy(o.host, sizeof(o.host), d->target);
	o.ttl = d->ttl;
	o.protocol = d->protocol;
	o.port = d->port;
	o.size = d->size;
	o.tos = d->tos;
	for (int s = 0; s < m->n_streams; s++) {
		struct sched_outcome fail = { .msg = errmsg, .address = "" };
		enum mp_error err;

		o.ip_version = m->st[s].ip_version;
		mring_set(&m->st[s].ring, m->seq, i, MSAMPLE_PENDING, 0);
		m->outstanding++;
		err = sched_submit(&owner, &o, monitor_probe_done, m, TAG(m->seq, s, i), errmsg);
		if (err != MP_OK) {
			m->outstanding--;
			fail.err = err;
			monitor_record(m, &m->st[s], m->seq, i, &fail);
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
		for (int s = 0; s < m->n_streams; s++)
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
		for (int s = 0; s < m->n_streams; s++) {
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

void monitor_metrics(struct promtext *p)
{
	const char *rtt = "mtrprobed_monitor_rtt_seconds";
	struct monitor *m;

	monitor_module_init();
	promtext_family(p, rtt, "histogram", "Round-trip times of the monitor's answered probes.");
	TAILQ_FOREACH(m, &M.list, link)
		for (int s = 0; s < m->n_streams; s++)
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
}
