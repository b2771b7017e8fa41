/*
 * One mtr-packet process.  It runs with a socketpair as stdin and stdout and
 * a pipe as stderr, in its own process group so that a terminal's ^C reaches
 * only the daemon.  Its answers are matched to probes by token.  A worker
 * whose pipe closes, that writes what cannot be parsed in bulk, or that
 * holds a probe far past mtr-packet's own timeout is killed; the pool
 * restarts it once the process is reaped.
 */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "pool.h"
#include "server.h"
#include "util.h"
#include "worker.h"

extern char **environ;

/* mtr-packet lines are below 4 KiB; more without a newline is garbage. */
#define WORKER_LINE_MAX 8192

/* A question is overdue: mtr-packet answers them at once unless it is hung. */
static void worker_question_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct feature_req *fr = arg;

	worker_lost(fr->worker, "stopped answering");
}

/* Give fr's worker seconds to answer. */
void worker_arm_question(struct feature_req *fr, int seconds)
{
	struct timeval tv = { seconds, 0 };

	evtimer_assign(&fr->timer, srv.base, worker_question_timeout_cb, fr);
	evtimer_add(&fr->timer, &tv);
	fr->timed = true;
}

/* Free a check-support question. */
void feature_req_free(struct feature_req *fr)
{
	if (fr->timed)
		event_del(&fr->timer);
	mp_id_clear(&fr->id);
	free(fr);
}

/* Write the check-support question fr (feature set) to w under a new token. 0 or -errno. */
int worker_send_question(struct worker *w, struct feature_req *fr)
{
	char line[MTRPKT_CMD_MAX];
	int len;

	fr->task.kind = WTASK_FEATURE;
	fr->worker = w;
	fr->token = worker_new_token(w);
	len = mtrpkt_format_check_support(line, sizeof(line), fr->token, fr->feature);
	if (len < 0)
		return -EINVAL;
	return worker_write(w, fr->token, &fr->task, line, len);
}

/* A free token: positive int32, never 0, not in use. */
uint32_t worker_new_token(struct worker *w)
{
	do {
		if (w->next_token >= INT32_MAX || w->next_token == 0)
			w->next_token = 1;
		else
			w->next_token++;
	} while (idmap_get(&w->tokens, w->next_token));
	return w->next_token;
}

/* Write one command line and remember what its token stands for. */
int worker_write(struct worker *w, uint32_t token, struct wtask *task, const char *line, int len)
{
	if (!w->bev)
		return -EPIPE;
	if (idmap_put(&w->tokens, token, task) < 0)
		return -ENOMEM;
	if (bufferevent_write(w->bev, line, (size_t)len) < 0) {
		idmap_del(&w->tokens, token);
		return -ENOMEM;
	}
	return 0;
}

/* Probe p no longer holds a token of w (already out of the map): update counters. */
void worker_untrack(struct worker *w, struct probe *p)
{
	w->inflight--;
	if (p->opts.protocol == MP_PROTO_TCP || p->opts.protocol == MP_PROTO_SCTP)
		w->tcp_inflight--;
	if (p->opts.protocol != MP_PROTO_ICMP)
		w->port_inflight--;
	p->worker = NULL;
	p->token = 0;
}

/*
 * Ask w a question ("ping") it answers on its next pass through its loop.
 * Probes written before a ping are sent in the pass that answers it, and
 * their loopback answers are queued by then; the next pass reads them.  So
 * once a ping written after that answer arrived is answered too, the
 * probes before the first ping (its seq) are out of w's socket buffers.
 * Up to WORKER_PINGS_MAX are out at once, so confirmations keep coming
 * while probes flow.
 */
void worker_ping(struct worker *w, uint64_t seq)
{
	struct feature_req *fr;
	bool barrier_needed = w->has_candidate && w->ping_no == w->barrier_no;

	if (w->state != WORKER_READY || w->pings_out >= WORKER_PINGS_MAX ||
	    (seq <= w->last_ping_seq && !barrier_needed) || !(fr = calloc(1, sizeof(*fr))))
		return;
	fr->ping = true;
	fr->seq = seq;
	snprintf(fr->feature, sizeof(fr->feature), "version");
	if (worker_send_question(w, fr) < 0) {
		free(fr);
		return;
	}
	fr->ping_no = ++w->ping_no;
	w->pings_out++;
	w->last_ping_seq = seq;
	worker_arm_question(fr, WORKER_QUESTION_TIMEOUT);
}

/* A ping came back: confirm what an earlier one stands for, if it can. */
static void worker_ping_answered(struct worker *w, const struct feature_req *fr)
{
	w->pings_out--;
	/* Written after the candidate's answer came: a later pass, sockets read. */
	if (w->has_candidate && fr->ping_no > w->barrier_no) {
		w->confirmed_seq = w->candidate_seq;
		w->has_candidate = false;
	}
	if (!w->has_candidate && fr->seq > w->confirmed_seq) {
		w->candidate_seq = fr->seq;
		w->barrier_no = w->ping_no;
		w->has_candidate = true;
	}
	pool_worker_confirmed(w);
}

/* Answer to one of the start-up questions. */
static void worker_startup_answer(struct worker *w, struct feature_req *fr,
				  const struct mtrpkt_reply *r)
{
	bool ok = r->kind == MTRPKT_REPLY_FEATURE && strcmp(r->support, "no") != 0;

	if (strcmp(fr->feature, "version") == 0) {
		if (ok)
			pool_set_mtr_version(r->support);
		return;
	}
	/* send-probe */
	if (!ok || strcmp(r->support, "ok") != 0) {
		char why[160];

		snprintf(why, sizeof(why), "does not speak mtr-packet's protocol (check-support "
			 "send-probe answered '%s')", r->kind == MTRPKT_REPLY_FEATURE ? r->support : r->word);
		worker_lost(w, why);
		return;
	}
	if (w->state != WORKER_STARTING)
		return;
	event_del(&w->restart_ev);
	w->state = WORKER_READY;
	w->ready_at = mono_now();
	pool_worker_ready(w);
}

/* Handle one line from mtr-packet. */
static void worker_handle_line(struct worker *w, const char *line, size_t len)
{
	struct mtrpkt_reply r;
	struct wtask *task;

	if (mtrpkt_parse_reply(line, len, &r) < 0) {
		if (log_ratelimit_ok(&w->garbage_rl))
			log_warning("worker %d (pid %d): ignoring a line mtr-packet wrote that is not "
				    "a reply (%zu bytes)", w->index, (int)w->pid, len);
		return;
	}
	task = r.token ? idmap_del(&w->tokens, r.token) : NULL;
	if (!task) {
		if (log_ratelimit_ok(&w->garbage_rl))
			log_warning("worker %d (pid %d): '%s' for unknown token %u", w->index,
				    (int)w->pid, r.word, r.token);
		return;
	}
	if (task->kind == WTASK_FEATURE) {
		struct feature_req *fr = (struct feature_req *)task;

		if (fr->ping)
			worker_ping_answered(w, fr);
		else if (fr->conn_id == 0)
			worker_startup_answer(w, fr, &r);
		else
			pool_feature_answered(fr, &r);
		feature_req_free(fr);
		return;
	}
	struct probe *p = (struct probe *)task;

	worker_untrack(w, p);
	if (r.kind == MTRPKT_REPLY_EXHAUSTED) {
		/* Never shown to a client: let this worker drain a little. */
		w->paused_until = mono_now() + 0.01;
		sched_probe_exhausted(p);
	} else {
		sched_probe_answered(p, &r);
	}
}

/* Lines from mtr-packet's stdout. */
static void worker_read_cb(struct bufferevent *bev, void *arg)
{
	struct worker *w = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t len;
	char *line;

	while (w->bev && (line = evbuffer_readln(in, &len, EVBUFFER_EOL_LF))) {
		worker_handle_line(w, line, len);
		free(line);
	}
	if (w->bev && evbuffer_get_length(in) > WORKER_LINE_MAX) {
		if (log_ratelimit_ok(&w->garbage_rl))
			log_warning("worker %d (pid %d): dropping %zu bytes without a newline",
				    w->index, (int)w->pid, evbuffer_get_length(in));
		evbuffer_drain(in, evbuffer_get_length(in));
	}
	if (w->retiring)
		pool_maybe_retire(w);
	sched_kick();
}

/* mtr-packet's stdout closed or failed. */
static void worker_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct worker *w = arg;

	/* Most likely it exited: the reap tells how. */
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		worker_lost(w, NULL);
}

/* Lines mtr-packet writes on stderr: logged, the last one kept. */
static void worker_stderr_cb(struct bufferevent *bev, void *arg)
{
	struct worker *w = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t len;
	char *line;

	while ((line = evbuffer_readln(in, &len, EVBUFFER_EOL_LF))) {
		for (char *c = line; *c; c++)
			if ((unsigned char)*c < 0x20)
				*c = ' ';
		snprintf(w->last_stderr, sizeof(w->last_stderr), "%s", line);
		if (log_ratelimit_ok(&w->stderr_rl))
			log_warning("worker %d (pid %d): mtr-packet says: %s", w->index, (int)w->pid,
				    w->last_stderr);
		free(line);
	}
	if (evbuffer_get_length(in) > WORKER_LINE_MAX)
		evbuffer_drain(in, evbuffer_get_length(in));
}

/* stderr closed: stop watching it. */
static void worker_stderr_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct worker *w = arg;

	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
		worker_stderr_cb(bev, arg);
		bufferevent_free(w->errbev);
		w->errbev = NULL;
	}
}

/* The start-up check took too long. */
static void worker_startup_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;

	if (w->state == WORKER_STARTING)
		worker_lost(w, "did not answer check-support within 5 seconds");
}

/* Ask w a start-up question. */
static int worker_ask(struct worker *w, const char *feature)
{
	struct feature_req *fr = calloc(1, sizeof(*fr));
	int r;

	if (!fr)
		return -ENOMEM;
	snprintf(fr->feature, sizeof(fr->feature), "%s", feature);
	r = worker_send_question(w, fr);
	if (r < 0)
		free(fr);
	return r;
}

/*
 * Start the process: fds, fork and exec, bufferevents.
 *
 * fork(), not posix_spawn() or vfork(): the child calls
 * prctl(PR_SET_PDEATHSIG, SIGKILL) before exec, so that the kernel kills
 * the worker when the daemon dies, even by SIGKILL (an orphaned
 * mtr-packet spins on the CPU).  A vfork()ed child borrows the daemon's
 * memory and may call next to nothing; a fork()ed one may call anything,
 * the daemon having one thread, and workers start rarely enough that
 * copying the page tables does not matter.  PDEATHSIG fires when the
 * thread that forked exits: the daemon is single-threaded, so that is the
 * daemon.  If it died before the prctl(), getppid() is no longer the pid
 * recorded before fork() and the child exits at once.  (The kernel drops
 * PDEATHSIG at a privileged exec: a set-user-ID mtr-packet, or one with
 * file capabilities run by a non-root daemon, as under mtrprobed.service,
 * where systemd kills the service's control group instead.  It holds for
 * a daemon run as root, and for an mtr-packet without file capabilities.)
 * An error before or in exec() comes back as its errno over a close-on-exec
 * pipe, whose EOF means the exec happened, so that the caller reports it
 * as it did with posix_spawnp().
 */
static int worker_exec(struct worker *w, const char *path)
{
	sigset_t none, all, old;
	int sv[2], ep[2], xp[2], r, err = 0;
	char *argv[] = { (char *)path, NULL };
	pid_t parent = getpid(), pid;
	ssize_t n;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	if (pipe2(ep, O_CLOEXEC) < 0) {
		r = -errno;
		close(sv[0]);
		close(sv[1]);
		return r;
	}
	if (pipe2(xp, O_CLOEXEC) < 0) {
		r = -errno;
		close(sv[0]);
		close(sv[1]);
		close(ep[0]);
		close(ep[1]);
		return r;
	}
	sigemptyset(&none);
	sigfillset(&all);
	/* No handler of the daemon's runs in the child; none is lost here. */
	sigprocmask(SIG_SETMASK, &all, &old);
	pid = fork();
	if (pid == 0) {
		/* Descriptors above 2 first, so that the dup2()s cannot clobber them. */
		int in = sv[1] > STDERR_FILENO ? sv[1] : fcntl(sv[1], F_DUPFD_CLOEXEC, 3);
		int er = ep[1] > STDERR_FILENO ? ep[1] : fcntl(ep[1], F_DUPFD_CLOEXEC, 3);
		int xf = xp[1] > STDERR_FILENO ? xp[1] : fcntl(xp[1], F_DUPFD_CLOEXEC, 3);
		struct sigaction dfl = { .sa_handler = SIG_DFL };

		for (int sig = 1; sig < NSIG; sig++)
			sigaction(sig, &dfl, NULL); /* SIGKILL, SIGSTOP, libc's own: refused */
		if (in < 0 || er < 0 || xf < 0 || setpgid(0, 0) < 0 ||
		    prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
			err = errno;
		else if (getppid() != parent)
			_exit(127);
		else if (dup2(in, STDIN_FILENO) < 0 || dup2(in, STDOUT_FILENO) < 0 ||
			 dup2(er, STDERR_FILENO) < 0 || sigprocmask(SIG_SETMASK, &none, NULL) < 0)
			err = errno;
		else if (strchr(path, '/'))
			execve(path, argv, environ);
		else
			execvpe(path, argv, environ);
		if (!err)
			err = errno;
		while (xf >= 0 && write(xf, &err, sizeof(err)) < 0 && errno == EINTR)
			;
		_exit(127);
	}
	r = pid < 0 ? -errno : 0;
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(sv[1]);
	close(ep[1]);
	close(xp[1]);
	if (pid > 0) {
		while ((n = read(xp[0], &err, sizeof(err))) < 0 && errno == EINTR)
			;
		if (n == (ssize_t)sizeof(err)) {
			/* It never ran mtr-packet: reap it here, as posix_spawnp() did. */
			while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
				;
			r = -err;
		} else {
			w->pid = pid;
		}
	}
	close(xp[0]);
	if (r < 0) {
		w->pid = 0;
		close(sv[0]);
		close(ep[0]);
		return r;
	}
	evutil_make_socket_nonblocking(sv[0]);
	evutil_make_socket_nonblocking(ep[0]);
	w->bev = bufferevent_socket_new(srv.base, sv[0], BEV_OPT_CLOSE_ON_FREE);
	w->errbev = bufferevent_socket_new(srv.base, ep[0], BEV_OPT_CLOSE_ON_FREE);
	if (!w->bev || !w->errbev) {
		/* The process is running: the caller's worker_lost() kills it. */
		if (!w->bev)
			close(sv[0]);
		if (!w->errbev)
			close(ep[0]);
		return -ENOMEM;
	}
	bufferevent_setcb(w->bev, worker_read_cb, NULL, worker_event_cb, w);
	bufferevent_enable(w->bev, EV_READ | EV_WRITE);
	bufferevent_setcb(w->errbev, worker_stderr_cb, NULL, worker_stderr_event_cb, w);
	bufferevent_enable(w->errbev, EV_READ);
	return 0;
}

/* Spawn w and ask whether it speaks the protocol, and its version. */
int worker_spawn(struct worker *w, const char *path)
{
	struct timeval tv = { 5, 0 };
	int r;

	idmap_init(&w->tokens);
	w->inflight = w->tcp_inflight = w->port_inflight = 0;
	w->pings_out = 0;
	w->has_candidate = false;
	w->why[0] = w->last_stderr[0] = '\0';
	w->stderr_rl = (struct log_ratelimit){ .interval = 10, .burst = 5 };
	w->garbage_rl = (struct log_ratelimit){ .interval = 10, .burst = 5 };
	w->spawned_at = mono_now();
	w->paused_until = 0;
	r = worker_exec(w, path);
	if (r < 0 && w->pid <= 0) {
		snprintf(w->why, sizeof(w->why), "cannot run '%s': %s", path, strerror(-r));
		return r;
	}
	w->state = WORKER_STARTING;
	if (r < 0 || worker_ask(w, "send-probe") < 0 || worker_ask(w, "version") < 0) {
		worker_lost(w, "out of memory");
		return -ENOMEM;
	}
	evtimer_assign(&w->restart_ev, srv.base, worker_startup_timeout_cb, w);
	evtimer_add(&w->restart_ev, &tv);
	return 0;
}

/* Collect every task w holds (the map must not change while iterating). */
static struct wtask **worker_tasks(struct worker *w, size_t *ret_n)
{
	struct wtask **v = malloc((idmap_count(&w->tokens) + 1) * sizeof(*v));
	size_t iter = 0, n = 0;
	uint64_t key;
	void *val;

	if (v)
		while (idmap_next(&w->tokens, &iter, &key, &val))
			v[n++] = val;
	*ret_n = n;
	return v;
}

/* Close w's pipes and hand back everything it held. */
static void worker_drop_tasks(struct worker *w, bool notify)
{
	size_t n;
	struct wtask **v = worker_tasks(w, &n);

	for (size_t i = 0; i < n; i++) {
		if (v[i]->kind == WTASK_PROBE) {
			struct probe *p = (struct probe *)v[i];

			worker_untrack(w, p);
			if (notify)
				sched_probe_lost(p);
		} else {
			struct feature_req *fr = (struct feature_req *)v[i];

			if (notify && fr->conn_id)
				pool_feature_lost(fr);
			feature_req_free(fr);
		}
	}
	free(v);
	idmap_free(&w->tokens);
}

/* w is broken (why: the reason it is killed, NULL if it went by itself). */
void worker_lost(struct worker *w, const char *why)
{
	if (w->state != WORKER_STARTING && w->state != WORKER_READY)
		return;
	if (why && !w->why[0])
		snprintf(w->why, sizeof(w->why), "%s", why);
	w->state = WORKER_DEAD;
	if (event_initialized(&w->restart_ev))
		event_del(&w->restart_ev);
	if (w->pid > 0)
		kill(w->pid, SIGKILL);
	if (w->bev) {
		bufferevent_free(w->bev);
		w->bev = NULL;
	}
	worker_drop_tasks(w, true);
	pool_worker_down(w);
	sched_kick();
}

/* w's process was reaped: take in what it last wrote on stderr. */
void worker_reaped(struct worker *w)
{
	w->pid = 0;
	if (w->errbev) {
		struct evbuffer *in = bufferevent_get_input(w->errbev);
		evutil_socket_t fd = bufferevent_getfd(w->errbev);

		while (evbuffer_get_length(in) < WORKER_LINE_MAX && evbuffer_read(in, fd, 4096) > 0)
			;
		if (evbuffer_get_length(in) > 0)
			evbuffer_add(in, "\n", 1);
		worker_stderr_cb(w->errbev, w);
		bufferevent_free(w->errbev);
		w->errbev = NULL;
	}
}

/* Kill and reap w now, dropping what it held without answers (exit path). */
void worker_destroy(struct worker *w)
{
	if (event_initialized(&w->restart_ev))
		event_del(&w->restart_ev);
	if (w->pid > 0) {
		kill(w->pid, SIGKILL);
		while (waitpid(w->pid, NULL, 0) < 0 && errno == EINTR)
			;
		w->pid = 0;
	}
	if (w->bev)
		bufferevent_free(w->bev);
	if (w->errbev)
		bufferevent_free(w->errbev);
	w->bev = w->errbev = NULL;
	if (w->state == WORKER_STARTING || w->state == WORKER_READY)
		worker_drop_tasks(w, false);
	w->state = WORKER_IDLE;
}
