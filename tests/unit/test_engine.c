/*
 * Unit tests of the engine: the scheduler, the pool and the workers,
 * wired as the daemon wires them (pool hooks -> sched_kick), on a fake
 * worker link (fake_link.c): no process is started and nothing is sent.
 * Time is the real libevent loop's, with short timeouts.  Each test runs
 * in its own forked process (the modules keep static state).
 */
#include <check.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon/config.h"
#include "daemon/dheap.h"
#include "daemon/freelist.h"
#include "daemon/log.h"
#include "daemon/pool.h"
#include "daemon/proto.h"
#include "daemon/route.h"
#include "daemon/sched.h"
#include "daemon/server.h"
#include "daemon/stream.h"
#include "daemon/util.h"
#include "daemon/worker.h"
#include "fake_link.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#endif

struct server srv;

#define REPLY "reply ip-4 127.0.0.1 round-trip-time 150"
#define EXIT_STATUS(code) ((code) << 8)

/* What the pool's started() hook was told. */
static struct {
	int calls, alive;
	char why[640];
} started;

static void hook_started(int alive, const char *why)
{
	started.calls++;
	started.alive = alive;
	snprintf(started.why, sizeof(started.why), "%s", why ? why : "");
}

static const struct pool_hooks hooks = {
	.room = sched_kick,
	.started = hook_started,
};

/* One submitted probe and what its done callback said. */
struct rec {
	int calls;
	enum mp_error err;
	char msg[MP_ERRMSG_MAX];
	char result[MP_RESULT_MAX + 1];
	char responder[MP_ADDR_MAX];
	double time_ms;
	bool sent, cancelled;
	double submitted, ended;
};

static struct rec *recs;
static size_t n_recs, cap_recs;
static uint64_t done_calls;

static void check_invariant(void);

/* The probe's done callback: exactly once per probe. */
static void on_done(void *arg, uint64_t tag, const struct sched_outcome *o)
{
	struct rec *r;

	ck_assert_uint_lt(tag, n_recs);
	r = &recs[tag];
	ck_assert_int_eq(r->calls, 0);
	r->calls++;
	done_calls++;
	r->err = o->err;
	snprintf(r->msg, sizeof(r->msg), "%s", o->msg);
	r->result[0] = r->responder[0] = '\0';
	r->time_ms = -1;
	if (o->err == MP_OK) {
		snprintf(r->result, sizeof(r->result), "%s", o->res->result);
		snprintf(r->responder, sizeof(r->responder), "%s", o->res->responder);
		r->time_ms = o->res->time_ms;
	}
	r->sent = o->sent;
	r->cancelled = o->cancelled;
	r->ended = mono_now();
	/* The counters add up inside the callback too: the probe is completed. */
	check_invariant();
}

/* A done callback that also ends its owner (arg: the owner's key). */
static void on_done_owner_gone(void *arg, uint64_t tag, const struct sched_outcome *o)
{
	on_done(NULL, tag, o);
	sched_owner_gone(*(uint64_t *)arg);
	check_invariant();
}

/* Who submits. */
struct who {
	uint64_t key;
	uid_t uid;
	bool exempt;
};

static enum mp_error last_err;
static char last_msg[MP_ERRMSG_MAX];

/*
 * Submit a probe to 127.0.0.1 for w: the tag (index in recs), or -1 when
 * refused (last_err, last_msg say why).  ttl and tos mark its line.
 */
static long submit_cb(struct who w, enum mp_protocol proto, int ttl, int tos, double timeout,
		      sched_done_fn done, void *arg)
{
	struct sched_owner owner = { .key = w.key, .uid = w.uid, .exempt = w.exempt };
	struct mp_probe_opts o;
	size_t tag;

	mp_probe_opts_init(&o, timeout);
	snprintf(o.host, sizeof(o.host), "127.0.0.1");
	o.protocol = proto;
	o.ttl = ttl;
	o.tos = tos;
	if (n_recs == cap_recs) {
		cap_recs = cap_recs ? cap_recs * 2 : 256;
		recs = realloc(recs, cap_recs * sizeof(*recs));
		ck_assert_ptr_nonnull(recs);
	}
	tag = n_recs++;
	memset(&recs[tag], 0, sizeof(recs[tag]));
	recs[tag].submitted = mono_now();
	last_msg[0] = '\0';
	last_err = sched_submit(&owner, &o, done, arg, tag, last_msg);
	if (last_err != MP_OK) {
		n_recs--;
		return -1;
	}
	return (long)tag;
}

static long submit(struct who w, enum mp_protocol proto, int ttl, int tos, double timeout)
{
	return submit_cb(w, proto, ttl, tos, timeout, on_done, NULL);
}

/* Submit and insist it is admitted. */
static long submit_ok(struct who w, enum mp_protocol proto, int ttl, int tos, double timeout)
{
	long tag = submit(w, proto, ttl, tos, timeout);

	ck_assert_msg(tag >= 0, "refused: %s", last_msg);
	return tag;
}

/* Run what is ready: answer questions, run the loop, until nothing moves. */
static void pump(void)
{
	int quiet = 0;

	for (int i = 0; i < 10000 && quiet < 3; i++) {
		int n = fake_answer_questions();

		event_base_loop(srv.base, EVLOOP_NONBLOCK);
		quiet = n ? 0 : quiet + 1;
	}
}

/* Pump for secs seconds. */
static void pump_for(double secs)
{
	double end = mono_now() + secs;

	do {
		pump();
		usleep(1000);
	} while (mono_now() < end);
}

/* Pump until cond holds or secs pass. */
#define PUMP_UNTIL(cond, secs)                                  \
	do {                                                    \
		double end_ = mono_now() + (secs);              \
		pump();                                         \
		while (!(cond) && mono_now() < end_) {          \
			usleep(1000);                           \
			pump();                                 \
		}                                               \
	} while (0)

static struct sched_stats stats(void)
{
	struct sched_stats st;

	sched_get_stats(&st);
	return st;
}

/* The counters' invariant. */
static void check_invariant(void)
{
	struct sched_stats st = stats();

	ck_assert_uint_eq(st.started, st.completed + st.sent + st.queued + st.resolving);
	ck_assert_uint_eq(st.completed, done_calls);
}

/* Probe lines with " name value" over every process. */
static size_t count_lines(const char *name, long value)
{
	size_t n = 0;

	for (int i = 0; fake_proc(i); i++) {
		struct fake_proc *p = fake_proc(i);

		for (size_t j = 0; j < p->n_lines; j++)
			n += p->lines[j].probe && fake_field(p->lines[j].text, name) == value;
	}
	return n;
}

/* Probe lines over every process. */
static size_t all_probes(void)
{
	size_t n = 0;

	for (int i = 0; fake_proc(i); i++)
		n += fake_probes(fake_proc(i));
	return n;
}

/* Answer every unanswered probe line of every live process; how many. */
static int answer_all(const char *rest)
{
	int n = 0;

	for (int i = 0; fake_proc(i); i++) {
		struct fake_proc *p = fake_proc(i);

		for (size_t j = 0; j < p->n_lines && fake_live(p); j++)
			if (p->lines[j].probe && !p->lines[j].answered && fake_reply(p, j, rest) == 0)
				n++;
	}
	return n;
}

/* The line index of the first unanswered probe line of p with " name value", or -1. */
static long find_probe(struct fake_proc *p, const char *name, long value)
{
	for (size_t j = 0; j < p->n_lines; j++)
		if (p->lines[j].probe && !p->lines[j].answered &&
		    fake_field(p->lines[j].text, name) == value)
			return (long)j;
	return -1;
}

static struct worker *worker_of(struct fake_proc *p)
{
	return p->arg;
}

static void setup(void)
{
	struct event_config *ec = event_config_new();

	ck_assert_ptr_nonnull(ec);
	event_config_set_flag(ec, EVENT_BASE_FLAG_PRECISE_TIMER);
	srv.base = event_base_new_with_config(ec);
	event_config_free(ec);
	ck_assert_ptr_nonnull(srv.base);
	ck_assert_int_eq(config_init(&srv.cfg), 0);
	srv.cfg.min_workers = 1;
	srv.cfg.max_workers = 1;
	srv.cfg.worker_idle_timeout = 0.2;
	srv.cfg.max_burst = 1000;
	srv.stopping = false;
	srv.started = mono_now();
	log_init(getenv("ENGINE_TEST_DEBUG") ? LOG_LEVEL_DEBUG : LOG_LEVEL_ERROR);
	fake_reset();
	memset(&started, 0, sizeof(started));
	recs = NULL;
	n_recs = cap_recs = 0;
	done_calls = 0;
	ck_assert_int_eq(route_init(), 0);
	ck_assert_int_eq(sched_init(), 0);
}

static void teardown(void)
{
	pool_stop();
	sched_free();
	route_free();
	event_base_free(srv.base);
	srv.base = NULL;
	config_free(&srv.cfg);
	for (int i = 0; fake_proc(i); i++)
		ck_assert_int_eq(fake_proc(i)->writes_after_kill, 0);
	fake_reset();
	free(recs);
	recs = NULL;
}

/* Start the pool on the fake link and wait until its workers are ready. */
static void start_pool(void)
{
	ck_assert_int_eq(pool_start(&fake_link_ops, &hooks), 0);
	PUMP_UNTIL(started.calls == 1, 2.0);
	ck_assert_int_eq(started.calls, 1);
	ck_assert_int_eq(started.alive, srv.cfg.min_workers);
	ck_assert_int_eq(fake_count(), srv.cfg.min_workers);
}

/*
 * 1. Probes of three owners (two of them one uid) queued while no worker
 * can take any go out one per owner in turn.
 */
START_TEST(test_round_robin)
{
	struct who a = { 1, 1000, false }, b = { 2, 1000, false }, c = { 3, 0, true };
	static const int want[] = { 1, 101, 201, 2, 102, 202, 3, 103, 4, 5 };
	struct fake_proc *p;
	size_t k = 0;

	ck_assert_int_eq(pool_start(&fake_link_ops, &hooks), 0);
	/* The worker is starting: nothing can be sent yet. */
	for (int i = 1; i <= 5; i++)
		submit_ok(a, MP_PROTO_ICMP, i, 0, 5);
	for (int i = 101; i <= 103; i++)
		submit_ok(b, MP_PROTO_ICMP, i, 0, 5);
	for (int i = 201; i <= 202; i++)
		submit_ok(c, MP_PROTO_ICMP, i, 0, 5);
	event_base_loop(srv.base, EVLOOP_NONBLOCK);
	ck_assert_uint_eq(all_probes(), 0);
	ck_assert_uint_eq(stats().queued, 10);

	pump(); /* the worker answers its start-up check: dispatch */
	ck_assert_int_eq(started.calls, 1);
	p = fake_proc(0);
	ck_assert_uint_eq(fake_probes(p), 10);
	for (size_t j = 0; j < p->n_lines; j++) {
		if (!p->lines[j].probe)
			continue;
		ck_assert_int_eq(fake_field(p->lines[j].text, "ttl"), want[k]);
		ck_assert_ptr_nonnull(strstr(p->lines[j].text,
					     " send-probe ip-4 127.0.0.1 local-ip-4 127.0.0.1 protocol icmp "));
		k++;
	}
	ck_assert_uint_eq(k, 10);

	ck_assert_int_eq(answer_all(REPLY), 10);
	pump();
	for (size_t i = 0; i < n_recs; i++) {
		ck_assert_int_eq(recs[i].calls, 1);
		ck_assert_int_eq(recs[i].err, MP_OK);
		ck_assert_str_eq(recs[i].result, "reply");
		ck_assert_str_eq(recs[i].responder, "127.0.0.1");
		ck_assert_double_eq_tol(recs[i].time_ms, 0.15, 1e-9);
		ck_assert(recs[i].sent);
	}
	struct sched_stats st = stats();

	ck_assert_uint_eq(st.started, 10);
	ck_assert_uint_eq(st.completed, 10);
	ck_assert_uint_eq(st.results[0], 10);
	check_invariant();
}
END_TEST

/*
 * 2. Fair shares, ICMP: one worker of 1000 slots, uid_max_share 50: a uid
 * gets 500; another uid and root are not held up by it.
 */
START_TEST(test_fair_share_icmp)
{
	struct who u = { 1, 1000, false }, v = { 2, 1001, false }, root = { 3, 0, true };
	struct fake_proc *p;
	long tag;

	srv.cfg.uid_max_share = 50;
	start_pool();
	p = fake_proc(0);
	ck_assert_int_eq(pool_capacity(WTASK_ICMP), 1000);
	for (int i = 0; i < 800; i++)
		submit_ok(u, MP_PROTO_ICMP, 64, 1, 30);
	pump();
	ck_assert_uint_eq(count_lines("tos", 1), 500);
	ck_assert_uint_eq(stats().sent, 500);
	ck_assert_uint_eq(stats().queued, 300);
	ck_assert_uint_gt(stats().share_waits, 0);

	/* Another uid: written in the same pump, and answered. */
	tag = submit_ok(v, MP_PROTO_ICMP, 64, 2, 30);
	pump();
	ck_assert_uint_eq(count_lines("tos", 2), 1);
	ck_assert_int_eq(fake_reply(p, (size_t)find_probe(p, "tos", 2), REPLY), 0);
	pump();
	ck_assert_int_eq(recs[tag].calls, 1);
	ck_assert_str_eq(recs[tag].result, "reply");

	/* Root is held to no share: 400 more fit in the worker. */
	for (int i = 0; i < 400; i++)
		submit_ok(root, MP_PROTO_ICMP, 64, 3, 30);
	pump();
	ck_assert_uint_eq(count_lines("tos", 3), 400);
	ck_assert_uint_eq(count_lines("tos", 1), 500);

	/* Ten of the uid's answers free ten of its slots: exactly ten more go. */
	for (int i = 0; i < 10; i++)
		ck_assert_int_eq(fake_reply(p, (size_t)find_probe(p, "tos", 1), REPLY), 0);
	pump();
	ck_assert_uint_eq(count_lines("tos", 1), 510);
	ck_assert_uint_eq(stats().queued, 290);
	ck_assert_int_eq(fake_count(), 1);
	check_invariant();
}
END_TEST

/*
 * 2b. Fair shares, UDP: all UDP goes to the port worker, so its share is
 * half of one worker (500) however many workers the pool may have.
 */
START_TEST(test_fair_share_udp)
{
	struct who u = { 1, 1000, false }, v = { 2, 1001, false }, root = { 3, 0, true };
	struct fake_proc *p;
	long tag;

	srv.cfg.max_workers = 4;
	srv.cfg.uid_max_share = 50;
	start_pool();
	p = fake_proc(0);
	ck_assert_int_eq(pool_capacity(WTASK_UDP), 1000);
	ck_assert_int_eq(pool_capacity(WTASK_ICMP), 4000);
	for (int i = 0; i < 800; i++)
		submit_ok(u, MP_PROTO_UDP, 64, 1, 30);
	pump();
	ck_assert_uint_eq(count_lines("tos", 1), 500);
	ck_assert_uint_eq(stats().queued, 300);
	ck_assert_ptr_nonnull(strstr(p->lines[find_probe(p, "tos", 1)].text, " protocol udp "));

	tag = submit_ok(v, MP_PROTO_UDP, 64, 2, 30);
	pump();
	ck_assert_uint_eq(count_lines("tos", 2), 1);
	ck_assert_int_eq(fake_reply(p, (size_t)find_probe(p, "tos", 2), REPLY), 0);
	pump();
	ck_assert_int_eq(recs[tag].calls, 1);
	ck_assert_str_eq(recs[tag].result, "reply");

	for (int i = 0; i < 400; i++)
		submit_ok(root, MP_PROTO_UDP, 64, 3, 30);
	pump();
	ck_assert_uint_eq(count_lines("tos", 3), 400);
	ck_assert_uint_eq(count_lines("tos", 1), 500);
	/* Every port probe went to the one port worker (900 of its 1000 slots
	 * are taken, so another worker may have started for ICMP). */
	ck_assert_uint_eq(fake_probes(p), 901);
	ck_assert_uint_eq(all_probes(), 901);
	check_invariant();
}
END_TEST

/* 3. uid_max_queued: a uid's (N+1)th waiting probe is refused; root's is not. */
START_TEST(test_uid_max_queued)
{
	struct who u = { 1, 1000, false }, u2 = { 2, 1000, false }, v = { 3, 1001, false };
	struct who root = { 4, 0, true };

	srv.cfg.uid_max_queued = 5;
	ck_assert_int_eq(pool_start(&fake_link_ops, &hooks), 0);
	/* No worker is ready yet: everything waits. */
	for (int i = 0; i < 5; i++)
		submit_ok(u, MP_PROTO_ICMP, 64, 1, 5);
	ck_assert_int_eq(submit(u, MP_PROTO_ICMP, 64, 1, 5), -1);
	ck_assert_int_eq(last_err, MP_ERR_OVERLOADED);
	ck_assert_ptr_nonnull(strstr(last_msg, "uid_max_queued"));
	ck_assert_ptr_nonnull(strstr(last_msg, "5 probes waiting"));
	/* The same uid on another connection counts the same. */
	ck_assert_int_eq(submit(u2, MP_PROTO_ICMP, 64, 1, 5), -1);
	ck_assert_int_eq(last_err, MP_ERR_OVERLOADED);
	ck_assert_ptr_nonnull(strstr(last_msg, "uid_max_queued"));
	/* Another uid and root are not held to this uid's count. */
	for (int i = 0; i < 5; i++)
		submit_ok(v, MP_PROTO_ICMP, 64, 2, 5);
	for (int i = 0; i < 12; i++)
		submit_ok(root, MP_PROTO_ICMP, 64, 3, 5);
	ck_assert_uint_eq(stats().started, 22);
	ck_assert_uint_eq(stats().queued, 22);

	/* Once sent, they no longer wait: the uid may queue again. */
	pump();
	ck_assert_uint_eq(all_probes(), 22);
	for (int i = 0; i < 5; i++)
		submit_ok(u2, MP_PROTO_ICMP, 64, 1, 5);
	ck_assert_int_eq(submit(u, MP_PROTO_ICMP, 64, 1, 5), -1);
	ck_assert_int_eq(last_err, MP_ERR_OVERLOADED);
	pump();
	ck_assert_uint_eq(all_probes(), 27);
	ck_assert_uint_eq(done_calls, 0); /* a refused probe has no callback */
	check_invariant();
}
END_TEST

/* 3b. max_queued: the daemon-wide limit refuses even root. */
START_TEST(test_max_queued)
{
	struct who root = { 4, 0, true };

	srv.cfg.max_queued = 3;
	ck_assert_int_eq(pool_start(&fake_link_ops, &hooks), 0);
	for (int i = 0; i < 3; i++)
		submit_ok(root, MP_PROTO_ICMP, 64, 3, 5);
	ck_assert_int_eq(submit(root, MP_PROTO_ICMP, 64, 3, 5), -1);
	ck_assert_int_eq(last_err, MP_ERR_OVERLOADED);
	ck_assert_ptr_nonnull(strstr(last_msg, "max_queued"));
	pump();
	ck_assert_uint_eq(all_probes(), 3);
	submit_ok(root, MP_PROTO_ICMP, 64, 3, 5);
	check_invariant();
}
END_TEST

/* 4. A sent probe nobody answers ends no-reply at its deadline; a late answer is dropped. */
START_TEST(test_deadline_sent)
{
	struct who u = { 1, 1000, false };
	struct fake_proc *p;
	struct pool_stats ps;
	long tag;
	double took;

	start_pool();
	p = fake_proc(0);
	tag = submit_ok(u, MP_PROTO_ICMP, 64, 1, 0.1);
	pump();
	ck_assert_uint_eq(fake_probes(p), 1);
	/* mtr-packet is given the time left, rounded up to whole seconds. */
	ck_assert_int_eq(fake_field(p->lines[find_probe(p, "tos", 1)].text, "timeout"), 1);
	PUMP_UNTIL(recs[tag].calls == 1, 1.0);
	ck_assert_int_eq(recs[tag].calls, 1);
	took = recs[tag].ended - recs[tag].submitted;
	ck_assert_msg(took >= 0.095 && took <= 0.3, "no-reply after %.3f s", took);
	ck_assert_int_eq(recs[tag].err, MP_OK);
	ck_assert_str_eq(recs[tag].result, "no-reply");
	ck_assert_str_eq(recs[tag].responder, "");
	ck_assert(recs[tag].sent);
	ck_assert_uint_eq(stats().results[2], 1);
	ck_assert_uint_eq(stats().sent, 0);
	/* The worker still holds the token until it answers. */
	pool_get_stats(&ps);
	ck_assert_uint_eq(ps.tasks[WTASK_ICMP], 1);

	ck_assert_int_eq(fake_reply(p, (size_t)find_probe(p, "tos", 1), REPLY), 0);
	pump();
	ck_assert_int_eq(recs[tag].calls, 1);
	ck_assert_str_eq(recs[tag].result, "no-reply");
	pool_get_stats(&ps);
	ck_assert_uint_eq(ps.tasks[WTASK_ICMP], 0);
	ck_assert_uint_eq(stats().results[0], 0);
	check_invariant();
}
END_TEST

/* 4b. A probe queued while every worker is full ends overloaded at its deadline. */
START_TEST(test_deadline_queued)
{
	struct who root = { 1, 0, true }, u = { 2, 1000, false };
	long tag;
	double took;

	start_pool();
	for (int i = 0; i < WORKER_MAX_INFLIGHT; i++)
		submit_ok(root, MP_PROTO_ICMP, 64, 1, 30);
	pump();
	ck_assert_uint_eq(count_lines("tos", 1), WORKER_MAX_INFLIGHT);
	tag = submit_ok(u, MP_PROTO_ICMP, 64, 2, 0.1);
	PUMP_UNTIL(recs[tag].calls == 1, 1.0);
	ck_assert_int_eq(recs[tag].calls, 1);
	took = recs[tag].ended - recs[tag].submitted;
	ck_assert_msg(took >= 0.095 && took <= 0.3, "overloaded after %.3f s", took);
	ck_assert_int_eq(recs[tag].err, MP_ERR_OVERLOADED);
	ck_assert_ptr_nonnull(strstr(recs[tag].msg, "expired before a worker had room"));
	ck_assert(!recs[tag].sent);
	ck_assert_uint_eq(count_lines("tos", 2), 0);
	ck_assert_uint_eq(stats().queued, 0);
	ck_assert_uint_eq(stats().sent, WORKER_MAX_INFLIGHT);
	check_invariant();
}
END_TEST

/* Lines of p with " ttl t" (probe lines only). */
static size_t ttl_lines(struct fake_proc *p, long t)
{
	size_t n = 0;

	for (size_t j = 0; j < p->n_lines; j++)
		n += p->lines[j].probe && fake_field(p->lines[j].text, "ttl") == t;
	return n;
}

/* The fake process holding probe ttl, or NULL. */
static struct fake_proc *holder_of(int ttl)
{
	for (int i = 0; i < fake_count(); i++) {
		struct fake_proc *p = fake_proc(i);

		if (!p->killed && ttl_lines(p, ttl) > 0)
			return p;
	}
	return NULL;
}

/*
 * 5. A worker dies with probes out: each is sent again, to the other
 * worker; when that one dies too, again to a restarted one; a third
 * death ends them process-error.
 */
START_TEST(test_retry_other_worker)
{
	struct who u = { 1, 1000, false };
	struct fake_proc *p0, *p1, *p2;
	long tags[3];

	srv.cfg.min_workers = srv.cfg.max_workers = 2;
	start_pool();
	p0 = fake_proc(0);
	p1 = fake_proc(1);
	for (int i = 0; i < 3; i++)
		tags[i] = submit_ok(u, MP_PROTO_ICMP, 10 + i, 0, 5);
	pump();
	/* ICMP fills the busiest worker first. */
	ck_assert_uint_eq(fake_probes(p0), 3);
	ck_assert_uint_eq(fake_probes(p1), 0);

	fake_close(p0); /* its stdout closes: it died */
	ck_assert(p0->killed);
	pump();
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(recs[tags[i]].calls, 0);
		ck_assert_uint_eq(ttl_lines(p1, 10 + i), 1);
	}
	ck_assert_uint_eq(stats().retried, 3);
	ck_assert_uint_eq(stats().sent, 3);

	pool_worker_hung(worker_of(p1)); /* the second worker dies too */
	ck_assert(p1->killed);
	pump();
	/* Second chance: queued until a worker is back. */
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(recs[tags[i]].calls, 0);
	ck_assert_uint_eq(stats().retried, 6);
	ck_assert_uint_eq(stats().queued, 3);
	check_invariant();

	/* Both are reaped and started again; the probes go to one of them. */
	ck_assert(pool_child_exited(p0->pid, EXIT_STATUS(1)));
	ck_assert(pool_child_exited(p1->pid, SIGKILL));
	ck_assert(!pool_child_exited(p1->pid, SIGKILL));
	PUMP_UNTIL(fake_count() == 4 && holder_of(10) != NULL, 2.0);
	ck_assert_int_eq(fake_count(), 4);
	p2 = holder_of(10);
	ck_assert_ptr_nonnull(p2);
	for (int i = 0; i < 3; i++)
		ck_assert_uint_eq(ttl_lines(p2, 10 + i), 1);

	fake_close(p2); /* a third death: no more chances */
	pump();
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(recs[tags[i]].calls, 1);
		ck_assert_int_eq(recs[tags[i]].err, MP_ERR_PROCESS);
		ck_assert_ptr_nonnull(strstr(recs[tags[i]].msg, "died"));
		ck_assert(recs[tags[i]].sent);
	}
	ck_assert_uint_eq(stats().retried, 6);
	check_invariant();
}
END_TEST

/* 5b. The only worker dies: its probes go to it again once it is restarted. */
START_TEST(test_retry_restarted_worker)
{
	struct who u = { 1, 1000, false };
	struct fake_proc *p0, *p1, *p2;
	long t1, t2;

	start_pool();
	p0 = fake_proc(0);
	t1 = submit_ok(u, MP_PROTO_ICMP, 21, 0, 5);
	t2 = submit_ok(u, MP_PROTO_ICMP, 22, 0, 5);
	pump();
	ck_assert_uint_eq(fake_probes(p0), 2);

	fake_close(p0);
	pump();
	ck_assert_uint_eq(stats().queued, 2);
	ck_assert_uint_eq(stats().retried, 2);
	ck_assert(pool_child_exited(p0->pid, EXIT_STATUS(1)));
	PUMP_UNTIL(fake_count() == 2 && fake_probes(fake_proc(1)) == 2, 2.0);
	p1 = fake_proc(1);
	ck_assert_ptr_nonnull(p1);
	ck_assert_uint_eq(ttl_lines(p1, 21), 1);
	ck_assert_uint_eq(ttl_lines(p1, 22), 1);
	ck_assert_int_eq(recs[t1].calls + recs[t2].calls, 0);

	/* One is answered; the other loses its second worker: one more chance. */
	ck_assert_int_eq(fake_reply(p1, (size_t)find_probe(p1, "ttl", 21), REPLY), 0);
	fake_close(p1);
	pump();
	ck_assert_int_eq(recs[t1].calls, 1);
	ck_assert_int_eq(recs[t1].err, MP_OK);
	ck_assert_str_eq(recs[t1].result, "reply");
	ck_assert_int_eq(recs[t2].calls, 0);
	ck_assert_uint_eq(stats().retried, 3);
	ck_assert(pool_child_exited(p1->pid, EXIT_STATUS(1)));
	PUMP_UNTIL(fake_count() == 3 && fake_probes(fake_proc(2)) == 1, 2.0);
	p2 = fake_proc(2);
	ck_assert_ptr_nonnull(p2);
	ck_assert_uint_eq(ttl_lines(p2, 22), 1);

	fake_close(p2); /* its third worker: process-error */
	pump();
	ck_assert_int_eq(recs[t2].calls, 1);
	ck_assert_int_eq(recs[t2].err, MP_ERR_PROCESS);
	ck_assert_ptr_nonnull(strstr(recs[t2].msg, "died"));
	check_invariant();
}
END_TEST

/* 6. probes-exhausted: the probe goes out again; the caller never sees it. */
START_TEST(test_exhausted)
{
	struct who u = { 1, 1000, false };
	struct fake_proc *p;
	long tag, first;
	double t0;

	start_pool();
	p = fake_proc(0);
	tag = submit_ok(u, MP_PROTO_ICMP, 7, 0, 5);
	pump();
	ck_assert_uint_eq(ttl_lines(p, 7), 1);
	first = find_probe(p, "ttl", 7);
	t0 = mono_now();
	ck_assert_int_eq(fake_reply(p, (size_t)first, "probes-exhausted"), 0);
	PUMP_UNTIL(ttl_lines(p, 7) == 2, 1.0);
	ck_assert_uint_eq(ttl_lines(p, 7), 2);
	/* The worker is given a short rest first. */
	ck_assert_double_ge(mono_now() - t0, 0.009);
	ck_assert_int_eq(recs[tag].calls, 0);
	long second = find_probe(p, "ttl", 7);

	ck_assert_int_gt(second, first);
	ck_assert_uint_ne(p->lines[second].token, p->lines[first].token);
	/* Exhausted again, then answered. */
	ck_assert_int_eq(fake_reply(p, (size_t)second, "probes-exhausted"), 0);
	PUMP_UNTIL(ttl_lines(p, 7) == 3, 1.0);
	ck_assert_int_eq(recs[tag].calls, 0);
	ck_assert_int_eq(fake_reply(p, (size_t)find_probe(p, "ttl", 7), REPLY), 0);
	pump();
	ck_assert_int_eq(recs[tag].calls, 1);
	ck_assert_int_eq(recs[tag].err, MP_OK);
	ck_assert_str_eq(recs[tag].result, "reply");
	ck_assert_uint_eq(stats().retried, 0);
	ck_assert_uint_eq(stats().completed, 1);
	ck_assert_uint_eq(stats().results[SCHED_N_RESULTS - 1], 0);
	check_invariant();
}
END_TEST

/* Ping lines of p, and those not answered. */
static size_t pings(struct fake_proc *p, bool unanswered_only)
{
	size_t n = 0;

	for (size_t j = 0; j < p->n_lines; j++)
		n += p->lines[j].ping && (!unanswered_only || !p->lines[j].answered);
	return n;
}

/* 7. Pacing: with max_burst 10, ten probes go out until the worker answers a ping. */
START_TEST(test_pacing)
{
	struct who root = { 1, 0, true };
	struct fake_proc *p;

	srv.cfg.max_burst = 10;
	start_pool();
	p = fake_proc(0);
	fake_hold_pings(true);
	for (int i = 0; i < 35; i++)
		submit_ok(root, MP_PROTO_ICMP, 64, 1, 5);
	pump_for(0.15);
	ck_assert_uint_eq(fake_probes(p), 10);
	ck_assert_uint_ge(pings(p, true), 1);
	ck_assert_uint_eq(stats().queued, 25);
	/* Answers to the probes do not let more out: only pings do. */
	ck_assert_int_eq(answer_all(REPLY), 10);
	pump_for(0.05);
	ck_assert_uint_eq(fake_probes(p), 10);

	fake_hold_pings(false);
	PUMP_UNTIL(fake_probes(p) == 35, 2.0);
	ck_assert_uint_eq(fake_probes(p), 35);
	ck_assert_int_eq(answer_all(REPLY), 25);
	pump();
	ck_assert_uint_eq(done_calls, 35);
	check_invariant();
}
END_TEST

/*
 * 7a'. Probes one at a time cost no ping until a quarter of max_burst are
 * unconfirmed; then the worker is asked to confirm them.
 */
START_TEST(test_no_ping_for_lone_probes)
{
	struct who root = { 1, 0, true };
	struct fake_proc *p;

	srv.cfg.max_burst = 40;
	start_pool();
	p = fake_proc(0);
	for (int i = 0; i < 9; i++) {
		submit_ok(root, MP_PROTO_ICMP, 64, 1, 5);
		pump();
		ck_assert_int_eq(answer_all(REPLY), 1);
		pump();
	}
	ck_assert_uint_eq(fake_probes(p), 9);
	ck_assert_uint_eq(pings(p, false), 0);
	submit_ok(root, MP_PROTO_ICMP, 64, 1, 5);
	pump();
	/* the ping, answered, then the one that proves a later pass (worker_ping()) */
	ck_assert_uint_eq(pings(p, false), 2);
	ck_assert_int_eq(answer_all(REPLY), 1);
	pump();
	ck_assert_uint_eq(done_calls, 10);
	check_invariant();
}
END_TEST

/* 7b. Pacing counts every worker: one that does not confirm holds back all. */
START_TEST(test_pacing_two_workers)
{
	struct who root = { 1, 0, true };

	srv.cfg.max_burst = 10;
	srv.cfg.min_workers = srv.cfg.max_workers = 2;
	start_pool();
	fake_hold_pings(true);
	for (int i = 0; i < 30; i++)
		submit_ok(root, MP_PROTO_ICMP, 64, 1, 5);
	pump_for(0.1);
	ck_assert_uint_eq(all_probes(), 10);
	/* Both are asked to confirm, though only one got probes. */
	ck_assert_uint_ge(pings(fake_proc(0), true), 1);
	ck_assert_uint_ge(pings(fake_proc(1), true), 1);
	fake_hold_pings(false);
	PUMP_UNTIL(all_probes() == 30, 2.0);
	ck_assert_uint_eq(all_probes(), 30);
	check_invariant();
}
END_TEST

/*
 * 8. Growth and shrink: a worker takes ICMP probes until fewer than the
 * headroom (200) of free slots are left, then the next one starts, up to
 * max_workers; idle extra workers retire down to min_workers.
 */
START_TEST(test_grow_shrink)
{
	struct who root = { 1, 0, true };
	struct pool_stats ps;

	srv.cfg.min_workers = 1;
	srv.cfg.max_workers = 3;
	start_pool();
	for (int i = 0; i < 800; i++)
		submit_ok(root, MP_PROTO_ICMP, 64, 1, 30);
	pump();
	ck_assert_uint_eq(fake_probes(fake_proc(0)), 800);
	ck_assert_int_eq(fake_start_calls(), 1); /* 200 free: enough */
	submit_ok(root, MP_PROTO_ICMP, 64, 1, 30);
	pump();
	ck_assert_uint_eq(fake_probes(fake_proc(0)), 801);
	ck_assert_int_eq(fake_start_calls(), 2); /* 199 free: one more */
	for (int i = 0; i < 199; i++)
		submit_ok(root, MP_PROTO_ICMP, 64, 1, 30);
	pump();
	ck_assert_uint_eq(fake_probes(fake_proc(0)), 1000);
	ck_assert_uint_eq(fake_probes(fake_proc(1)), 0);
	for (int i = 0; i < 800; i++)
		submit_ok(root, MP_PROTO_ICMP, 64, 1, 30);
	pump();
	ck_assert_uint_eq(fake_probes(fake_proc(1)), 800);
	ck_assert_int_eq(fake_start_calls(), 2);
	submit_ok(root, MP_PROTO_ICMP, 64, 1, 30);
	pump();
	ck_assert_int_eq(fake_start_calls(), 3);
	for (int i = 0; i < 1300; i++)
		submit_ok(root, MP_PROTO_ICMP, 64, 1, 30);
	pump();
	ck_assert_uint_eq(fake_probes(fake_proc(0)), 1000);
	ck_assert_uint_eq(fake_probes(fake_proc(1)), 1000);
	ck_assert_uint_eq(fake_probes(fake_proc(2)), 1000);
	ck_assert_uint_eq(stats().queued, 101);
	pump_for(0.05);
	ck_assert_int_eq(fake_start_calls(), 3); /* never more than max_workers */
	pool_get_stats(&ps);
	ck_assert_int_eq(ps.alive, 3);
	ck_assert_uint_eq(ps.tasks[WTASK_ICMP], 3000);

	/* Everything answered (the queued ones too). */
	while (answer_all(REPLY) > 0)
		pump();
	ck_assert_uint_eq(done_calls, 3101);
	ck_assert_uint_eq(stats().sent + stats().queued, 0);

	/* Idle for worker_idle_timeout, then the pool's tick: back to min_workers. */
	PUMP_UNTIL(fake_proc(1)->killed && fake_proc(2)->killed, 3.0);
	ck_assert(fake_proc(1)->killed);
	ck_assert(fake_proc(2)->killed);
	ck_assert(!fake_proc(0)->killed);
	ck_assert_str_eq(worker_of(fake_proc(1))->why, "retired");
	ck_assert_str_eq(worker_of(fake_proc(2))->why, "retired");
	ck_assert(pool_child_exited(fake_proc(2)->pid, SIGKILL));
	ck_assert(pool_child_exited(fake_proc(1)->pid, SIGKILL));
	pump_for(0.3);
	ck_assert_int_eq(fake_start_calls(), 3); /* retired workers are not restarted */
	pool_get_stats(&ps);
	ck_assert_int_eq(ps.alive, 1);
	ck_assert_uint_eq(ps.retired, 2);
	ck_assert_uint_eq(ps.restarts, 0);
	check_invariant();
}
END_TEST

/* 9. The restart delay. */
START_TEST(test_restart_delay_table)
{
	/* A worker that did work starts again at once, however often. */
	ck_assert_double_eq(pool_restart_delay(true, 1, 0.1, 1, 0), 0);
	ck_assert_double_eq(pool_restart_delay(true, 500, 0.1, 7, 0), 0);
	/* Ready long enough: not a crash loop either. */
	ck_assert_double_eq(pool_restart_delay(true, 0, 2.5, 3, 0), 0);
	/* Crash loops back off: 0.1, 0.2, 0.4, ... at most 30. */
	double want = 0.1;

	for (int f = 1; f <= 9; f++) {
		ck_assert_double_eq_tol(pool_restart_delay(true, 0, 0.1, f, 0), want, 1e-9);
		ck_assert_double_eq_tol(pool_restart_delay(false, 0, 0.1, f, 0), want, 1e-9);
		want = want * 2 < 30 ? want * 2 : 30;
	}
	ck_assert_double_eq_tol(pool_restart_delay(true, 0, 0.1, 10, 0), 30, 1e-9);
	ck_assert_double_eq_tol(pool_restart_delay(false, 0, 0.1, 100, 0), 30, 1e-9);
	ck_assert_double_eq_tol(pool_restart_delay(false, 0, 0.1, 0, 0), 0.1, 1e-9);
	/* Short of descriptors: soon, whatever the history. */
	ck_assert_double_eq_tol(pool_restart_delay(false, 0, 0, 1, -EMFILE), 0.5, 1e-9);
	ck_assert_double_eq_tol(pool_restart_delay(false, 0, 0, 20, -ENFILE), 0.5, 1e-9);
	ck_assert_double_eq_tol(pool_restart_delay(true, 9, 0, 20, -EMFILE), 0.5, 1e-9);
	/* Other start errors back off like crashes. */
	ck_assert_double_eq_tol(pool_restart_delay(false, 0, 0, 3, -ENOENT), 0.4, 1e-9);
}
END_TEST

/* Wait for the next start() call and return when it came. */
static double wait_start(int calls, double secs)
{
	PUMP_UNTIL(fake_start_calls() >= calls, secs);
	ck_assert_int_eq(fake_start_calls(), calls);
	return mono_now();
}

/* 9b. A worker that had answered probes and is found dead starts again at once. */
START_TEST(test_restart_now)
{
	struct who u = { 1, 1000, false };
	struct fake_proc *p;
	struct pool_stats ps;
	double t0, t1;

	start_pool();
	p = fake_proc(0);
	submit_ok(u, MP_PROTO_ICMP, 64, 1, 5);
	pump();
	ck_assert_int_eq(answer_all(REPLY), 1);
	pump();
	ck_assert_uint_eq(worker_of(p)->answered, 1);
	t0 = mono_now();
	ck_assert(pool_child_exited(p->pid, SIGKILL)); /* killed from outside */
	ck_assert(p->killed && p->reaped);
	t1 = wait_start(2, 1.0);
	ck_assert_msg(t1 - t0 < 0.1, "restarted after %.3f s", t1 - t0);
	PUMP_UNTIL(fake_live(fake_proc(1)) && worker_usable(worker_of(fake_proc(1))), 1.0);
	pool_get_stats(&ps);
	ck_assert_int_eq(ps.alive, 1);
	ck_assert_uint_eq(ps.restarts, 1);
	ck_assert_str_eq(worker_of(fake_proc(1))->mtr_version, "0.95");
	ck_assert_str_eq(pool_mtr_version(), "0.95");
}
END_TEST

/* What pool_child_exited(pid, status) logs at warning level. */
static void reap_logged(pid_t pid, int status, char *buf, size_t len)
{
	FILE *f = tmpfile();
	int saved;
	size_t n;

	ck_assert_ptr_nonnull(f);
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	ck_assert_int_ge(saved, 0);
	ck_assert_int_ge(dup2(fileno(f), STDERR_FILENO), 0);
	log_set_level(LOG_LEVEL_WARNING);
	ck_assert(pool_child_exited(pid, status));
	log_set_level(LOG_LEVEL_ERROR);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	rewind(f);
	n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	fclose(f);
}

/* 9b'. The restart is logged with when it happens. */
START_TEST(test_restart_log)
{
	struct who u = { 1, 1000, false };
	char buf[1024];

	start_pool();
	reap_logged(fake_proc(0)->pid, EXIT_STATUS(3), buf, sizeof(buf));
	ck_assert_msg(strstr(buf, "worker 0 (pid 100000) exited with status 3; restarting in 0.1 s\n"),
		      "logged: %s", buf);
	PUMP_UNTIL(fake_count() == 2 && worker_usable(worker_of(fake_proc(1))), 1.0);
	submit_ok(u, MP_PROTO_ICMP, 64, 1, 5);
	pump();
	ck_assert_int_eq(answer_all(REPLY), 1);
	reap_logged(fake_proc(1)->pid, SIGKILL, buf, sizeof(buf));
	ck_assert_msg(strstr(buf, "worker 0 (pid 100001) was killed by signal 9 (Killed); restarting now\n"),
		      "logged: %s", buf);
}
END_TEST

/* 9c. A worker that dies without doing anything is started again after a doubling delay. */
START_TEST(test_restart_backoff)
{
	double t0, t1;

	start_pool();
	t0 = mono_now();
	ck_assert(pool_child_exited(fake_proc(0)->pid, EXIT_STATUS(1)));
	t1 = wait_start(2, 1.0);
	ck_assert_msg(t1 - t0 >= 0.095 && t1 - t0 < 0.3, "first restart after %.3f s", t1 - t0);
	PUMP_UNTIL(worker_usable(worker_of(fake_proc(1))), 1.0);
	t0 = mono_now();
	ck_assert(pool_child_exited(fake_proc(1)->pid, EXIT_STATUS(1)));
	t1 = wait_start(3, 1.0);
	ck_assert_msg(t1 - t0 >= 0.195 && t1 - t0 < 0.45, "second restart after %.3f s", t1 - t0);
}
END_TEST

/*
 * 9c'. A worker that died without answering is starting again (its start-up
 * check not answered yet) when a queued probe's deadline passes: no worker
 * is running, the answer is process-error, not overloaded.  A worker
 * restarted after working counts as running: the probe waits for it.
 */
START_TEST(test_crash_loop_not_alive)
{
	struct who u = { 1, 1000, false };
	long tag;

	start_pool();
	fake_hold_feature("send-probe");
	ck_assert(pool_child_exited(fake_proc(0)->pid, EXIT_STATUS(1)));
	wait_start(2, 1.0);
	ck_assert(!worker_usable(worker_of(fake_proc(1))));
	ck_assert(!pool_any_alive());
	tag = submit(u, MP_PROTO_ICMP, 64, 1, 0.2);
	PUMP_UNTIL(recs[tag].calls == 1, 1.0);
	ck_assert_int_eq(recs[tag].calls, 1);
	ck_assert_int_eq(recs[tag].err, MP_ERR_PROCESS);
	ck_assert_str_eq(recs[tag].msg, "no mtr-packet worker is running");
	ck_assert(!recs[tag].sent);
	check_invariant();
}
END_TEST

/* 9d. A start that fails for lack of descriptors is tried again within a second. */
START_TEST(test_restart_emfile)
{
	struct who u = { 1, 1000, false };
	double t0, t1;

	start_pool();
	submit_ok(u, MP_PROTO_ICMP, 64, 1, 5);
	pump();
	ck_assert_int_eq(answer_all(REPLY), 1);
	pump();
	fake_fail_starts(-EMFILE, 1);
	ck_assert(pool_child_exited(fake_proc(0)->pid, SIGKILL));
	t0 = wait_start(2, 1.0); /* at once: it had answered probes; fails */
	ck_assert_int_eq(fake_count(), 1);
	ck_assert_ptr_nonnull(strstr(worker_of(fake_proc(0))->why, "Too many open files"));
	t1 = wait_start(3, 1.5);
	ck_assert_msg(t1 - t0 >= 0.45 && t1 - t0 <= 1.0, "tried again after %.3f s", t1 - t0);
	ck_assert_int_eq(fake_count(), 2);
	PUMP_UNTIL(worker_usable(worker_of(fake_proc(1))), 1.0);
	ck_assert(worker_usable(worker_of(fake_proc(1))));
}
END_TEST

/* 9e. The first start fails for lack of descriptors: reported, then tried again. */
START_TEST(test_first_start_emfile)
{
	double t0 = mono_now(), t1;

	fake_fail_starts(-EMFILE, 1);
	ck_assert_int_eq(pool_start(&fake_link_ops, &hooks), 0);
	ck_assert_int_eq(started.calls, 1);
	ck_assert_int_eq(started.alive, 0);
	ck_assert_ptr_nonnull(strstr(started.why, "Too many open files"));
	ck_assert(!pool_any_alive());
	t1 = wait_start(2, 2.0);
	ck_assert_msg(t1 - t0 <= 1.3, "tried again after %.3f s", t1 - t0);
	PUMP_UNTIL(fake_count() == 1 && worker_usable(worker_of(fake_proc(0))), 1.0);
	ck_assert(pool_any_alive());
}
END_TEST

/* A small deterministic generator (xorshift64*). */
static uint64_t rng_state;

static uint32_t rnd(uint32_t n)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 2685821657736338717ULL) >> 32) % n;
}

/* A random live process, or NULL. */
static struct fake_proc *random_live(void)
{
	int n = fake_count(), start;

	if (n == 0)
		return NULL;
	start = (int)rnd((uint32_t)n);
	for (int k = 0; k < n; k++) {
		struct fake_proc *p = fake_proc((start + k) % n);

		if (fake_live(p))
			return p;
	}
	return NULL;
}

/* Answer a random unanswered probe line of p with a random answer. */
static void answer_random(struct fake_proc *p)
{
	static const char *const answers[] = {
		REPLY,
		"ttl-expired ip-4 127.0.0.1 round-trip-time 90",
		"no-reply",
		"probes-exhausted",
		"no-route",
		"unexpected-error errno 5",
		"unknown-command",
		"feature-support support ok",
	};
	size_t n = p->n_lines, start;

	if (n == 0)
		return;
	start = rnd((uint32_t)n);
	for (size_t k = 0; k < n; k++) {
		size_t j = (start + k) % n;

		if (p->lines[j].probe && !p->lines[j].answered) {
			fake_reply(p, j, answers[rnd(ARRAY_SIZE(answers))]);
			return;
		}
	}
}

/* Reap a killed process not reaped yet, if any. */
static void reap_one(void)
{
	for (int i = 0; fake_proc(i); i++) {
		struct fake_proc *p = fake_proc(i);

		if (p->killed && !p->reaped) {
			ck_assert(pool_child_exited(p->pid, rnd(2) ? SIGKILL : EXIT_STATUS(1)));
			return;
		}
	}
}

/*
 * 10. A long random run: owners and uids submit, workers answer, die and
 * are reaped, owners go away, deadlines pass.  After every step the
 * counters add up; at the end every probe was answered exactly once, and
 * the uids' shares and queue places are all given back.
 */
START_TEST(test_counters_random)
{
	static const struct who owners[] = {
		{ 1, 1000, false }, { 2, 1000, false }, { 3, 1001, false },
		{ 4, 1002, false }, { 5, 0, true },     { 6, 1001, false },
	};
	static const enum mp_protocol protos[] = { MP_PROTO_ICMP, MP_PROTO_ICMP, MP_PROTO_ICMP,
						   MP_PROTO_UDP, MP_PROTO_TCP };
	struct sched_stats st;
	struct pool_stats ps;
	uint64_t accepted = 0;

	rng_state = 0x9e3779b97f4a7c15ULL;
	srv.cfg.min_workers = 1;
	srv.cfg.max_workers = 3;
	srv.cfg.max_burst = 40;
	srv.cfg.tcp_max_inflight = 15;
	srv.cfg.uid_max_share = 2; /* 60 ICMP, 20 UDP, 1 TCP slots per uid */
	srv.cfg.uid_max_queued = 150;
	srv.cfg.max_queued = 600;
	start_pool();

	for (int step = 0; step < 5000; step++) {
		uint32_t r = rnd(1000);

		if (step == 2500) {
			/* A quiet spell: everything answered, the pool idle. */
			double quiet_end = mono_now() + 1.2;

			while (mono_now() < quiet_end) {
				answer_all(REPLY);
				reap_one();
				pump();
				check_invariant();
				usleep(1000);
			}
		}

		if (r < 350) {
			struct who w = owners[rnd(ARRAY_SIZE(owners))];
			int k = 1 + (int)rnd(4);

			for (int i = 0; i < k; i++) {
				double timeout = 0.05 + rnd(251) / 1000.0;

				if (submit(w, protos[rnd(ARRAY_SIZE(protos))], 1 + (int)rnd(64), 0,
					   timeout) >= 0)
					accepted++;
				else
					ck_assert_int_eq(last_err, MP_ERR_OVERLOADED);
			}
		} else if (r < 700) {
			struct fake_proc *p = random_live();

			if (p)
				answer_random(p);
		} else if (r < 706) {
			struct fake_proc *p = random_live();

			if (p) {
				if (rnd(2))
					fake_close(p);
				else
					pool_worker_hung(worker_of(p));
			}
		} else if (r < 740) {
			reap_one();
		} else if (r < 742) {
			struct fake_proc *p = random_live();

			if (p) /* died and reaped before its stdout was seen closing */
				ck_assert(pool_child_exited(p->pid, SIGKILL));
		} else if (r < 770) {
			sched_owner_gone(owners[rnd(ARRAY_SIZE(owners))].key);
		} else if (r < 800) {
			struct fake_proc *p = random_live();

			if (p) { /* garbage and unknown tokens are ignored */
				fake_inject(p, rnd(2) ? "this is not a reply" : "999999 reply ip-4 127.0.0.1 round-trip-time 1");
				fake_batch_done(p);
			}
		} else if (r < 850) {
			usleep(2000);
		}
		fake_answer_questions();
		event_base_loop(srv.base, EVLOOP_NONBLOCK);
		check_invariant();
		ck_assert_uint_eq(stats().started, accepted);
	}

	/* Drain: answer what is out, reap the dead, let the deadlines pass. */
	double end = mono_now() + 5;

	do {
		answer_all(REPLY);
		reap_one();
		pump();
		check_invariant();
		usleep(1000);
		st = stats();
		pool_get_stats(&ps);
	} while ((st.completed != st.started || ps.tasks[WTASK_ICMP] || ps.tasks[WTASK_UDP] ||
		  ps.tasks[WTASK_TCP]) && mono_now() < end);
	st = stats();
	ck_assert_uint_eq(st.started, accepted);
	ck_assert_uint_eq(st.completed, accepted);
	ck_assert_uint_eq(st.sent + st.queued + st.resolving, 0);
	ck_assert_uint_eq(sched_sent_count(), 0);
	pool_get_stats(&ps);
	ck_assert_uint_eq(ps.tasks[WTASK_ICMP] + ps.tasks[WTASK_UDP] + ps.tasks[WTASK_TCP], 0);
	ck_assert_uint_eq(n_recs, accepted);
	for (size_t i = 0; i < n_recs; i++)
		ck_assert_msg(recs[i].calls == 1, "probe %zu: %d calls", i, recs[i].calls);
	if (getenv("ENGINE_TEST_DEBUG")) {
		pool_get_stats(&ps);
		fprintf(stderr, "random: %llu probes, retried %llu, cancelled %llu, share waits %llu, no-reply %llu, reply %llu, other %llu, procs %d, restarts %llu, retired %llu\n",
			(unsigned long long)accepted, (unsigned long long)st.retried,
			(unsigned long long)st.cancelled, (unsigned long long)st.share_waits,
			(unsigned long long)st.results[2], (unsigned long long)st.results[0],
			(unsigned long long)st.results[SCHED_N_RESULTS - 1], fake_count(),
			(unsigned long long)ps.restarts, (unsigned long long)ps.retired);
		size_t by_err[MP_ERR__COUNT] = { 0 };

		for (size_t i = 0; i < n_recs; i++)
			by_err[recs[i].err]++;
		for (int e = 0; e < MP_ERR__COUNT; e++)
			if (by_err[e])
				fprintf(stderr, "random: %s %zu\n", mp_error_name(e), by_err[e]);
	}
	ck_assert_uint_gt(st.retried, 0);
	ck_assert_uint_gt(st.cancelled, 0);
	ck_assert_uint_gt(st.share_waits, 0);
	ck_assert_uint_gt(st.results[0], 0);
	ck_assert_uint_gt(st.results[2], 0);
	ck_assert_uint_gt(fake_count(), 3);
	/*
	 * The shares keep the load far below one worker's 1000 slots, and a
	 * worker being restarted counts as capacity coming back: the pool
	 * never grows here (growth and retirement are case 8's), so every
	 * process started after the first replaced a dead one.
	 */
	pool_get_stats(&ps);
	ck_assert_uint_eq(ps.retired, 0);
	ck_assert_uint_eq(ps.started, (uint64_t)fake_count());
	ck_assert_uint_eq(ps.restarts, (uint64_t)fake_count() - 1);

	/*
	 * Every slot and queue place was given back: each uid may again queue
	 * exactly uid_max_queued probes, and hold exactly its share (10 of a
	 * 1000-slot pool at 1 %; 1 TCP slot).
	 */
	srv.cfg.max_workers = 1;
	srv.cfg.uid_max_share = 1;
	srv.cfg.uid_max_queued = 11;
	srv.cfg.max_queued = 100000;
	srv.cfg.max_burst = 1000;
	PUMP_UNTIL(pool_any_alive() && !pool_all_busy(), 2.0);
	for (int u = 0; u < 3; u++) {
		struct who w = { 100 + (uint64_t)u, (uid_t)(1000 + u), false };

		for (int i = 0; i < 11; i++)
			submit_ok(w, MP_PROTO_ICMP, 64, 201 + u, 30);
		ck_assert_int_eq(submit(w, MP_PROTO_ICMP, 64, 201 + u, 30), -1);
	}
	PUMP_UNTIL(count_lines("tos", 201) + count_lines("tos", 202) + count_lines("tos", 203) == 30,
		   2.0);
	for (int u = 0; u < 3; u++)
		ck_assert_uint_eq(count_lines("tos", 201 + u), 10);
	for (int u = 0; u < 3; u++) {
		struct who w = { 100 + (uint64_t)u, (uid_t)(1000 + u), false };

		submit_ok(w, MP_PROTO_TCP, 64, 211 + u, 30);
		submit_ok(w, MP_PROTO_TCP, 64, 211 + u, 30);
	}
	PUMP_UNTIL(count_lines("tos", 211) + count_lines("tos", 212) + count_lines("tos", 213) == 3,
		   2.0);
	pump_for(0.05);
	for (int u = 0; u < 3; u++)
		ck_assert_uint_eq(count_lines("tos", 211 + u), 1);
	check_invariant();
}
END_TEST

/*
 * 10b. A done callback may end its own owner (a connection that closes
 * while it is being answered): every probe still ends exactly once.
 */
START_TEST(test_done_ends_owner)
{
	static uint64_t key = 1;
	struct who u = { 1, 1000, false };
	struct fake_proc *p;
	long a, b, c, d;

	start_pool();
	p = fake_proc(0);
	/* Sent: answered, and the owner goes while its answer is handed over. */
	a = submit_cb(u, MP_PROTO_ICMP, 1, 0, 5, on_done_owner_gone, &key);
	b = submit_ok(u, MP_PROTO_ICMP, 2, 0, 5);
	pump();
	ck_assert_uint_eq(fake_probes(p), 2);
	c = submit_ok(u, MP_PROTO_ICMP, 3, 0, 5);
	ck_assert_uint_eq(stats().queued, 1);
	ck_assert_int_eq(fake_reply(p, (size_t)find_probe(p, "ttl", 1), REPLY), 0);
	ck_assert_int_eq(recs[a].calls, 1);
	ck_assert_int_eq(recs[c].calls, 1);
	ck_assert(recs[c].cancelled);
	ck_assert_int_eq(recs[b].calls, 0); /* sent: it ends as usual */
	ck_assert_int_eq(fake_reply(p, (size_t)find_probe(p, "ttl", 2), REPLY), 0);
	ck_assert_int_eq(recs[b].calls, 1);

	/* Queued: expires, and the owner goes from inside the callback. */
	fake_hold_pings(true);
	srv.cfg.max_burst = 1;
	submit_ok(u, MP_PROTO_ICMP, 4, 0, 5);
	pump();
	a = submit_cb(u, MP_PROTO_ICMP, 5, 0, 0.05, on_done_owner_gone, &key);
	d = submit_ok(u, MP_PROTO_ICMP, 6, 0, 5);
	PUMP_UNTIL(recs[a].calls == 1, 1.0);
	ck_assert_int_eq(recs[a].calls, 1);
	ck_assert_int_eq(recs[a].err, MP_ERR_OVERLOADED);
	ck_assert_int_eq(recs[d].calls, 1);
	ck_assert(recs[d].cancelled);
	pump_for(0.02);
	ck_assert_int_eq(recs[a].calls, 1);
	check_invariant();
}
END_TEST

/* What a check-support callback was told. */
struct support_rec {
	int calls;
	enum mp_error err;
	char msg[256];
	char value[64];
};

static void on_support(void *arg, enum mp_error err, const char *msg, const char *value)
{
	struct support_rec *s = arg;

	s->calls++;
	s->err = err;
	snprintf(s->msg, sizeof(s->msg), "%s", msg ? msg : "");
	snprintf(s->value, sizeof(s->value), "%s", value ? value : "");
}

/* Questions about feature written to p. */
static size_t asked(struct fake_proc *p, const char *feature)
{
	size_t n = 0;

	for (size_t j = 0; j < p->n_lines; j++)
		n += p->lines[j].question && strcmp(p->lines[j].feature, feature) == 0;
	return n;
}

/* 11. check-support: asked once, then from the cache; a worker that dies first: process-error. */
START_TEST(test_check_support)
{
	struct support_rec s1 = { 0 }, s2 = { 0 }, s3 = { 0 }, s4 = { 0 }, s5 = { 0 };
	struct fake_proc *p;

	start_pool();
	p = fake_proc(0);
	pool_check_support("udp", on_support, &s1);
	ck_assert_int_eq(s1.calls, 0);
	ck_assert_uint_eq(asked(p, "udp"), 1);
	pump();
	ck_assert_int_eq(s1.calls, 1);
	ck_assert_int_eq(s1.err, MP_OK);
	ck_assert_str_eq(s1.value, "ok");

	pool_check_support("udp", on_support, &s2); /* the cache answers at once */
	ck_assert_int_eq(s2.calls, 1);
	ck_assert_int_eq(s2.err, MP_OK);
	ck_assert_str_eq(s2.value, "ok");
	ck_assert_uint_eq(asked(p, "udp"), 1);

	fake_hold_feature("tcp");
	pool_check_support("tcp", on_support, &s3);
	pump_for(0.05);
	ck_assert_int_eq(s3.calls, 0);
	ck_assert_uint_eq(asked(p, "tcp"), 1);
	fake_close(p);
	ck_assert_int_eq(s3.calls, 1);
	ck_assert_int_eq(s3.err, MP_ERR_PROCESS);
	ck_assert_ptr_nonnull(strstr(s3.msg, "died"));

	/* No worker at all. */
	pool_check_support("sctp", on_support, &s4);
	ck_assert_int_eq(s4.calls, 1);
	ck_assert_int_eq(s4.err, MP_ERR_PROCESS);
	ck_assert_ptr_nonnull(strstr(s4.msg, "no mtr-packet worker"));

	/* A restarted worker may be another mtr-packet: it is asked again. */
	fake_hold_feature(NULL);
	ck_assert(pool_child_exited(p->pid, SIGKILL));
	PUMP_UNTIL(fake_count() == 2 && worker_usable(worker_of(fake_proc(1))), 2.0);
	pool_check_support("udp", on_support, &s5);
	ck_assert_uint_eq(asked(fake_proc(1), "udp"), 1);
	pump();
	ck_assert_int_eq(s5.calls, 1);
	ck_assert_int_eq(s5.err, MP_OK);
	ck_assert_int_eq(s1.calls + s2.calls + s3.calls + s4.calls, 4);
}
END_TEST

/*
 * 11b. A worker asked a client's question is not retired before it
 * answers: the pool's housekeeping must not turn it into process-error.
 */
START_TEST(test_no_retire_while_asked)
{
	struct who u = { 1, 1000, false };
	struct support_rec s1 = { 0 };
	struct fake_proc *p1;

	srv.cfg.min_workers = srv.cfg.max_workers = 2;
	start_pool();
	p1 = fake_proc(1);
	submit_ok(u, MP_PROTO_ICMP, 64, 1, 30); /* worker 0 is busier: the question goes to 1 */
	pump();
	ck_assert_uint_eq(fake_probes(fake_proc(0)), 1);
	fake_hold_feature("tcp");
	pool_check_support("tcp", on_support, &s1);
	ck_assert_uint_eq(asked(p1, "tcp"), 1);
	/* A reload lowers min_workers: worker 1 is extra and idle. */
	srv.cfg.min_workers = 1;
	pool_reconfigure();
	pump_for(1.5);
	ck_assert_int_eq(s1.calls, 0);
	ck_assert(!p1->killed);
	/* Answered: now it may go. */
	fake_hold_feature(NULL);
	pump();
	ck_assert_int_eq(s1.calls, 1);
	ck_assert_int_eq(s1.err, MP_OK);
	ck_assert_str_eq(s1.value, "ok");
	PUMP_UNTIL(p1->killed, 2.0);
	ck_assert(p1->killed);
	ck_assert_str_eq(worker_of(p1)->why, "retired");
	ck_assert(!fake_proc(0)->killed);
}
END_TEST

/*
 * 12. Many probes with deadlines in every order, nobody answering: each
 * ends no-reply at its own deadline (one timer event stands for all of
 * them), in deadline order; records are reused for the next batch, and
 * given back by sched_trim() with nothing in flight.
 */
START_TEST(test_many_deadlines)
{
	struct who u = { 1, 0, true };
	enum { N = 300 };
	long tags[N];
	double timeout[N];

	rng_state = 0x2545f4914f6cdd1dULL;
	start_pool();
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < N; i++) {
			timeout[i] = 0.05 + rnd(200) / 1000.0;
			tags[i] = submit_ok(u, MP_PROTO_ICMP, 64, 1, timeout[i]);
		}
		PUMP_UNTIL(done_calls == (uint64_t)(round + 1) * N, 2.0);
		ck_assert_uint_eq(done_calls, (uint64_t)(round + 1) * N);
		for (int i = 0; i < N; i++) {
			const struct rec *r = &recs[tags[i]];
			double due = r->submitted + timeout[i];

			ck_assert_str_eq(r->result, "no-reply");
			ck_assert_msg(r->ended >= due - 0.002 && r->ended <= due + 0.1,
				      "probe %d due at +%.3f s ended at +%.3f s", i, timeout[i],
				      r->ended - r->submitted);
			/* One due clearly earlier ended no later. */
			for (int j = 0; j < N; j++)
				if (recs[tags[j]].submitted + timeout[j] + 0.01 < due &&
				    recs[tags[j]].ended > r->ended)
					ck_abort_msg("probe %d ended after %d, due later", j, i);
		}
		/* The worker answers them all late: dropped, and the records come back. */
		ck_assert_int_eq(answer_all(REPLY), N);
		pump();
		ck_assert_uint_eq(stats().results[0], 0);
		check_invariant();
		sched_trim();
	}
	ck_assert_uint_eq(stats().sent + stats().queued + stats().resolving, 0);
}
END_TEST

/* Free lists: records are reused last in, first out, zeroed, up to the bound; the rest is freed. */
START_TEST(test_freelist)
{
	struct freelist fl;
	unsigned char *a, *b, *c, *d;

	freelist_init(&fl, 40, 2);
	a = freelist_get(&fl);
	b = freelist_get(&fl);
	c = freelist_get(&fl);
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	ck_assert_ptr_nonnull(c);
	for (int i = 0; i < 40; i++)
		ck_assert_int_eq(a[i], 0);
	memset(a, 0xa5, 40);
	memset(b, 0x5a, 40);
	freelist_put(&fl, a);
	freelist_put(&fl, b);
	freelist_put(&fl, c); /* beyond the bound: freed */
	freelist_put(&fl, NULL);
	ck_assert_uint_eq(fl.count, 2);
#if defined(__SANITIZE_ADDRESS__)
	/* A kept record is poisoned past its link, as freed memory would be. */
	ck_assert(__asan_address_is_poisoned(b + sizeof(void *)));
	ck_assert(!__asan_address_is_poisoned(b));
#endif
	d = freelist_get(&fl);
	ck_assert_ptr_eq(d, b);
	for (int i = 0; i < 40; i++)
		ck_assert_int_eq(d[i], 0);
	ck_assert_ptr_eq(freelist_get(&fl), a);
	ck_assert_int_eq(a[0], 0);
	ck_assert_uint_eq(fl.count, 0);
	freelist_put(&fl, a);
	freelist_put(&fl, d);
	freelist_trim(&fl);
	ck_assert_uint_eq(fl.count, 0);
	ck_assert_ptr_null(fl.head);
	/* A record is at least a pointer, for the link. */
	freelist_init(&fl, 1, 8);
	ck_assert_uint_eq(fl.size, sizeof(void *));
	a = freelist_get(&fl);
	freelist_put(&fl, a);
	ck_assert_ptr_eq(freelist_get(&fl), a);
	free(a);
}
END_TEST

/* Every node knows its place, and no node is due before its parent (one check call: each costs a syscall). */
static void check_heap(const struct dheap *h)
{
	bool ok = dheap_count(h) <= h->cap;

	for (uint32_t i = 0; i < dheap_count(h) && ok; i++)
		ok = dheap_at(h, i)->pos == i + 1 && h->v[i].due == dheap_at(h, i)->due &&
		     (i == 0 || !(h->v[i].due < h->v[dheap_parent(i)].due));
	ck_assert_msg(ok, "heap shape broken");
}

/* The deadline heap against a brute-force reference: add, move, remove, take the first. */
START_TEST(test_dheap)
{
	enum { N = 2000 };
	static struct dheap_node nodes[N];
	struct dheap h;
	int in = 0;

	rng_state = 0x853c49e6748fea9bULL;
	dheap_init(&h);
	ck_assert_ptr_null(dheap_top(&h));
	for (int step = 0; step < 20000; step++) {
		struct dheap_node *x = &nodes[rnd(N)];
		double due = rnd(1000) / 10.0;
		uint32_t r = rnd(10);

		if (!dheap_contains(x)) {
			if (dheap_add(&h, x, due) < 0)
				ck_abort_msg("dheap_add failed");
			in++;
		} else if (r < 4) {
			dheap_update(&h, x, r == 0 ? INFINITY : due);
		} else if (r < 8) {
			dheap_remove(&h, x);
			if (dheap_contains(x))
				ck_abort_msg("removed, still in");
			in--;
		} else {
			struct dheap_node *top = dheap_top(&h);

			for (int i = 0; i < N; i++)
				if (dheap_contains(&nodes[i]) && nodes[i].due < top->due)
					ck_abort_msg("step %d: node %d is due before the top", step, i);
			dheap_remove(&h, top);
			in--;
		}
		if (dheap_count(&h) != (uint32_t)in)
			ck_abort_msg("step %d: %u in the heap, not %d", step, dheap_count(&h), in);
		if (step % 97 == 0)
			check_heap(&h);
		if (step % 5000 == 0) {
			dheap_shrink(&h);
			check_heap(&h);
		}
	}
	check_heap(&h);
	/* Emptied in order. */
	double last = -1;

	while (dheap_top(&h)) {
		struct dheap_node *top = dheap_top(&h);

		if (top->due < last)
			ck_abort_msg("taken out of order: %g after %g", top->due, last);
		last = top->due;
		dheap_remove(&h, top);
	}
	dheap_remove(&h, &nodes[0]); /* in no heap: nothing */
	dheap_shrink(&h);
	ck_assert_uint_eq(h.cap, 0);
	ck_assert_int_eq(dheap_add(&h, &nodes[1], 1.0), 0);
	ck_assert_ptr_eq(dheap_top(&h), &nodes[1]);
	dheap_free(&h);
	ck_assert_uint_eq(dheap_count(&h), 0);
}
END_TEST

/* What a stream told its owner. */
static struct {
	int reads, eofs, errors, writes, drained;
	size_t written;
} sev;

static void on_stream_read(struct stream *s) { sev.reads++; }
static void on_stream_eof(struct stream *s) { sev.eofs++; }
static void on_stream_error(struct stream *s) { sev.errors++; }
static void on_stream_written(struct stream *s, size_t n, bool drained)
{
	sev.writes++;
	sev.written += n;
	sev.drained += drained;
}

static const struct stream_cbs stream_test_cbs = {
	.read = on_stream_read,
	.written = on_stream_written,
	.eof = on_stream_eof,
	.error = on_stream_error,
};

/* Run the loop until nothing is ready. */
static void spin(void)
{
	for (int i = 0; i < 20; i++)
		event_base_loop(srv.base, EVLOOP_NONBLOCK);
}

/*
 * A stream over a socket pair: no buffer until bytes come; reading stops
 * at read_max and goes on once drained; output goes out and is reported;
 * the peer's half-close is an end of input, its close an error on write.
 */
START_TEST(test_stream)
{
	struct stream s;
	char buf[400], got[32];
	int sv[2];

	signal(SIGPIPE, SIG_IGN);
	memset(&sev, 0, sizeof(sev));
	srv.base = event_base_new();
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert_int_eq(fcntl(sv[0], F_SETFL, O_NONBLOCK), 0);
	stream_init(&s, srv.base, sv[0], &stream_test_cbs);
	stream_set_limits(&s, 100, 0);
	stream_read(&s, true);
	spin();
	ck_assert_ptr_null(stream_input(&s)); /* idle: no buffers */
	ck_assert_ptr_null(s.out);
	ck_assert_int_eq(sev.reads, 0);

	memset(buf, 'x', sizeof(buf));
	ck_assert_int_eq(write(sv[1], buf, 250), 250);
	spin();
	ck_assert_int_ge(sev.reads, 1);
	ck_assert_uint_eq(stream_input_len(&s), 100); /* stopped at read_max */
	stream_drain(&s, 60);
	spin();
	ck_assert_uint_eq(stream_input_len(&s), 100);
	stream_drain(&s, 100);
	spin();
	ck_assert_uint_eq(stream_input_len(&s), 90);
	/* Not reading: what comes waits in the socket. */
	stream_read(&s, false);
	ck_assert_int_eq(write(sv[1], buf, 5), 5);
	spin();
	ck_assert_uint_eq(stream_input_len(&s), 90);
	stream_read(&s, true);
	spin();
	ck_assert_uint_eq(stream_input_len(&s), 95);
	stream_drain(&s, 95);

	ck_assert_int_eq(stream_write(&s, "hel", 3), 0);
	ck_assert_int_eq(stream_write(&s, "lo\n", 3), 0);
	ck_assert_int_eq(stream_write(&s, "", 0), 0);
	ck_assert_uint_eq(stream_output_len(&s), 6);
	/* Written at the end of the pass, in one go, without watching for writability. */
	ck_assert(s.flushing);
	ck_assert(!s.wev_on);
	event_base_loop(srv.base, EVLOOP_NONBLOCK | EVLOOP_ONCE);
	ck_assert_uint_eq(stream_output_len(&s), 0);
	ck_assert(!s.flushing);
	ck_assert(!s.wev_on);
	ck_assert_int_eq(sev.writes, 1);
	spin();
	ck_assert_uint_eq(stream_output_len(&s), 0);
	ck_assert_uint_eq(sev.written, 6);
	ck_assert_int_eq(sev.drained, sev.writes);
	ck_assert_int_eq(read(sv[1], got, sizeof(got)), 6);
	ck_assert_int_eq(memcmp(got, "hello\n", 6), 0);
	/* What the socket does not take waits for it to be writable. */
	{
		static char big[1 << 20];
		size_t total = 0, sent = sev.written;
		ssize_t r;

		for (int i = 0; i < 4; i++)
			ck_assert_int_eq(stream_write(&s, big, sizeof(big)), 0);
		event_base_loop(srv.base, EVLOOP_NONBLOCK | EVLOOP_ONCE);
		ck_assert_uint_gt(stream_output_len(&s), 0);
		ck_assert(s.wev_on);
		ck_assert(!s.flushing);
		while (total < 4 * sizeof(big)) {
			spin();
			while ((r = recv(sv[1], big, sizeof(big), MSG_DONTWAIT)) > 0)
				total += (size_t)r;
		}
		ck_assert_uint_eq(total, 4 * sizeof(big));
		ck_assert_uint_eq(stream_output_len(&s), 0);
		ck_assert_uint_eq(sev.written - sent, 4 * sizeof(big));
		ck_assert(!s.wev_on);
	}
	/* Empty buffers can go, and come back when needed. */
	stream_shrink(&s);
	ck_assert_ptr_null(stream_input(&s));
	ck_assert_ptr_null(s.out);
	ck_assert_int_eq(write(sv[1], "ab", 2), 2);
	spin();
	ck_assert_uint_eq(stream_input_len(&s), 2);
	stream_shrink(&s);
	ck_assert_ptr_nonnull(stream_input(&s)); /* not empty: kept */
	stream_drain(&s, 2);

	/* Half-close: the end of input, once; writing goes on. */
	ck_assert_int_eq(shutdown(sv[1], SHUT_WR), 0);
	spin();
	ck_assert_int_eq(sev.eofs, 1);
	ck_assert_int_eq(sev.errors, 0);
	ck_assert_int_eq(stream_write(&s, "bye\n", 4), 0);
	spin();
	ck_assert_uint_eq(sev.written, 10 + 4 * (1 << 20));
	ck_assert_int_eq(read(sv[1], got, sizeof(got)), 4);
	/* The peer is gone: writing fails. */
	close(sv[1]);
	ck_assert_int_eq(stream_write(&s, "lost\n", 5), 0);
	spin();
	ck_assert_int_eq(sev.errors, 1);
	stream_free(&s);
	ck_assert_int_eq(fcntl(sv[0], F_GETFD), -1); /* closed */
	event_base_free(srv.base);
	srv.base = NULL;
}
END_TEST

static Suite *engine_suite(void)
{
	Suite *s = suite_create("engine");
	TCase *tc = tcase_create("core");
	TCase *records = tcase_create("records");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_round_robin);
	tcase_add_test(tc, test_fair_share_icmp);
	tcase_add_test(tc, test_fair_share_udp);
	tcase_add_test(tc, test_uid_max_queued);
	tcase_add_test(tc, test_max_queued);
	tcase_add_test(tc, test_deadline_sent);
	tcase_add_test(tc, test_deadline_queued);
	tcase_add_test(tc, test_retry_other_worker);
	tcase_add_test(tc, test_retry_restarted_worker);
	tcase_add_test(tc, test_exhausted);
	tcase_add_test(tc, test_pacing);
	tcase_add_test(tc, test_pacing_two_workers);
	tcase_add_test(tc, test_no_ping_for_lone_probes);
	tcase_add_test(tc, test_grow_shrink);
	tcase_add_test(tc, test_restart_delay_table);
	tcase_add_test(tc, test_restart_now);
	tcase_add_test(tc, test_restart_log);
	tcase_add_test(tc, test_restart_backoff);
	tcase_add_test(tc, test_crash_loop_not_alive);
	tcase_add_test(tc, test_restart_emfile);
	tcase_add_test(tc, test_first_start_emfile);
	tcase_add_test(tc, test_counters_random);
	tcase_add_test(tc, test_done_ends_owner);
	tcase_add_test(tc, test_check_support);
	tcase_add_test(tc, test_no_retire_while_asked);
	tcase_add_test(tc, test_many_deadlines);
	suite_add_tcase(s, tc);
	tcase_add_test(records, test_freelist);
	tcase_add_test(records, test_dheap);
	tcase_add_test(records, test_stream);
	suite_add_tcase(s, records);
	return s;
}

/* Run the suite; each test in its own process. */
int main(void)
{
	SRunner *sr = srunner_create(engine_suite());
	int failed;

	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
