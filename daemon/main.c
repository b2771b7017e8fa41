/*
 * mtrprobed: serves network probes to local processes over a Unix socket,
 * through a supervised pool of mtr-packet processes.  This file holds the
 * command line, configuration, signals, start-up order and shutdown.
 */
#include <errno.h>
#include <event2/event.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "access.h"
#include "config-build.h"
#include "config.h"
#include "conn.h"
#include "dns.h"
#include "fdlimit.h"
#include "httpd.h"
#include "listener.h"
#include "log.h"
#include "metrics.h"
#include "mondef.h"
#include "monitor.h"
#include "mstore.h"
#include "pool.h"
#include "request.h"
#include "route.h"
#include "sched.h"
#include "sd.h"
#include "server.h"
#include "trace.h"
#include "util.h"
#include "wproc.h"

struct server srv;

/* GET /metrics: the daemon's and the monitors' metrics. */
static const struct httpd_source metrics_source = {
	.begin = metrics_begin,
	.next = metrics_next,
	.end = metrics_end,
};

static struct {
	struct event *sig_term, *sig_int, *sig_hup, *sig_chld;
	struct event *stop_ev;     /* shutdown progress */
	double stop_deadline;
	int start_result;          /* 0 while starting, 1 ok, -1 failed */
	char start_error[512];
	/* The command line, applied again on every reload. */
	const char *config_path;
	const char *socket_override;
	int workers_override;
	bool debug;
	bool serving;              /* listening: reloads may start */
	struct event *idle_ev;     /* gives memory back once the daemon is idle */
	bool trimmed;              /* memory given back since the daemon went idle */
	int idle_ticks;            /* idle at this many checks in a row */
	struct mondef_set monitors; /* the monitors of the files, loaded at start until applied */
} M;

/* Print usage to f. */
static void usage(FILE *f)
{
	fprintf(f,
		"Usage: mtrprobed [-c FILE] [-s SOCKET] [-w WORKERS] [-d] [-n] [-V] [-h]\n"
		"Serve network probes over a Unix socket through a pool of mtr-packet processes.\n"
		"\n"
		"  -c FILE     read this config file (default: none; built-in defaults)\n"
		"  -s SOCKET   listen on SOCKET (default %s)\n"
		"  -w WORKERS  mtr-packet processes kept running (min_workers, default 1)\n"
		"  -d          log debug messages\n"
		"  -n          check the configuration and exit\n"
		"  -V          print the version and exit\n"
		"  -h          print this help and exit\n"
		"\n"
		"The mtr-packet executable is $MTR_PACKET, else config mtr_packet, else\n"
		"mtr-packet from PATH.  The daemon stays in the foreground and logs to stderr.\n",
		MP_DEFAULT_SOCKET);
}

/* Free heap memory below this is not worth a trim. */
#define IDLE_TRIM_MIN (1024 * 1024)

/*
 * Once nothing is in flight, queued or tracing and every answer has been
 * read (at two checks a second apart, so that a steady load is never
 * interrupted), hand the records kept for reuse back to malloc and the
 * heap's free memory back to the system: a burst of probes or unread
 * answers leaves many small free chunks that malloc would otherwise keep.
 */
static void idle_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sched_stats ss;

	sched_get_stats(&ss);
	if (ss.sent + ss.queued + ss.resolving > 0 || trace_count() > 0 ||
	    conn_answer_bytes() > 0) {
		M.idle_ticks = 0;
		M.trimmed = false;
		return;
	}
	/* Idle at two checks in a row, with free memory worth returning. */
	if (++M.idle_ticks >= 2 && !M.trimmed) {
		struct mallinfo2 mi;

		request_trim();
		sched_trim();
		pool_trim();
		conn_trim();
		mi = mallinfo2();
		if (mi.fordblks > IDLE_TRIM_MIN)
			malloc_trim(0);
		M.trimmed = true;
	}
}

/* Reap children; workers are restarted by the pool. */
static void sigchld_cb(evutil_socket_t fd, short what, void *arg)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		pool_child_exited(pid, status);
}

/*
 * Shutdown progress: done once nothing is out at the workers and every line
 * clients sent before has been read and answered (or at shutdown_timeout).
 */
static void stop_check_cb(evutil_socket_t fd, short what, void *arg)
{
	if ((sched_sent_count() > 0 || trace_count() > 0 || conn_unread()) &&
	    mono_now() < M.stop_deadline)
		return;
	if (sched_sent_count() > 0) {
		log_warning("shutdown_timeout reached: answering %zu probes with shutting-down",
			    sched_sent_count());
		sched_abort_sent();
	}
	event_base_loopexit(srv.base, NULL);
}

/* SIGTERM/SIGINT: stop taking work, finish what is out, then exit. */
static void sigterm_cb(evutil_socket_t fd, short what, void *arg)
{
	struct timeval tv = { 0, 20000 };

	if (srv.stopping)
		return;
	log_info("stopping: %zu probes still out at the workers", sched_sent_count());
	srv.stopping = true;
	systemd_stopping();
	listener_close();
	monitor_shutdown();
	sched_shutdown();
	trace_shutdown();
	/* Connections stay open: what they send meanwhile is answered shutting-down. */
	M.stop_deadline = mono_now() + srv.cfg.shutdown_timeout;
	M.stop_ev = event_new(srv.base, -1, EV_PERSIST, stop_check_cb, NULL);
	event_add(M.stop_ev, &tv);
}

/* monitors_dir unset: monitors.d beside the config file (or in the system's config directory). */
static int config_default_monitors_dir(struct mp_config *cfg)
{
	const char *slash = M.config_path ? strrchr(M.config_path, '/') : NULL;
	int n;

	if (!M.config_path)
		n = asprintf(&cfg->monitors_dir, "%s/mtrprobed/monitors.d", MTRPROBED_SYSCONFDIR);
	else if (!slash)
		n = asprintf(&cfg->monitors_dir, "monitors.d");
	else
		n = asprintf(&cfg->monitors_dir, "%.*s/monitors.d", (int)(slash - M.config_path),
			     M.config_path);
	if (n < 0)
		cfg->monitors_dir = NULL;
	return n < 0 ? -ENOMEM : 0;
}

/* Load the monitors of cfg's monitors_dir into ret (empty on entry). 0 or -1 with err set. */
static int monitors_load(const struct mp_config *cfg, struct mondef_set *ret,
			 char err[CONFIG_ERR_MAX])
{
	_Static_assert(MONDEF_ERR_MAX <= CONFIG_ERR_MAX, "a monitor error fits");

	if (mondef_load_dir(ret, cfg->monitors_dir, err) < 0)
		return -1;
	for (size_t i = 0; i < ret->n; i++) {
		if (monitor_supported(&ret->items[i], err) < 0) {
			mondef_set_free(ret);
			return -1;
		}
	}
	return 0;
}

/* The monitors of one user's state file: started again; those refused kept aside. */
static void state_monitors_cb(void *arg, long uid, struct mondef_set *set)
{
	char err[MONDEF_ERR_MAX], msg[MP_ERRMSG_MAX], text[8192];

	for (size_t i = 0; i < set->n; i++) {
		const struct mondef *d = &set->items[i];

		if (monitor_supported(d, err) < 0)
			snprintf(msg, sizeof(msg), "%.200s", err);
		else if (monitor_add(d, uid, msg) == MP_OK)
			continue;
		log_error("state: monitor %s of uid %ld not started: %s; kept in %s/monitors/%ld.refused",
			  d->name, uid, msg, srv.cfg.state_dir, uid);
		if (mondef_format(d, text, sizeof(text) - 1) < 0 ||
		    mstore_keep_refused(srv.cfg.state_dir, uid, strcat(text, "\n"), err) < 0)
			log_error("state: monitor %s of uid %ld could not be kept aside: %s", d->name,
				  uid, err);
	}
}

/* A state file that cannot be read. */
static void state_bad_cb(void *arg, const char *err)
{
	log_error("state: %s; its monitors are not started", err);
}

/* Build a configuration from the config file and the command line. */
static int config_build(struct mp_config *cfg, char err[CONFIG_ERR_MAX])
{
	if (config_init(cfg) < 0) {
		snprintf(err, CONFIG_ERR_MAX, "out of memory");
		return -ENOMEM;
	}
	if (M.config_path && config_load_file(cfg, M.config_path, err) < 0) {
		config_free(cfg);
		return -EINVAL;
	}
	if (M.socket_override) {
		char *s;

		if (M.socket_override[0] != '/' || strlen(M.socket_override) >= MP_SOCKET_PATH_MAX) {
			config_free(cfg);
			snprintf(err, CONFIG_ERR_MAX, "-s: must be an absolute path shorter than %d bytes",
				 MP_SOCKET_PATH_MAX);
			return -EINVAL;
		}
		s = strdup(M.socket_override);

		if (!s) {
			config_free(cfg);
			snprintf(err, CONFIG_ERR_MAX, "out of memory");
			return -ENOMEM;
		}
		free(cfg->socket_path);
		cfg->socket_path = s;
	}
	for (int i = 0; i < cfg->n_metrics_listen; i++) {
		if (strcmp(cfg->metrics_listen[i], cfg->socket_path) == 0) {
			snprintf(err, CONFIG_ERR_MAX, "metrics_listen: %s is the daemon's own socket",
				 cfg->metrics_listen[i]);
			config_free(cfg);
			return -EINVAL;
		}
	}
	if (!cfg->monitors_dir && config_default_monitors_dir(cfg) < 0) {
		config_free(cfg);
		snprintf(err, CONFIG_ERR_MAX, "out of memory");
		return -ENOMEM;
	}
	if (M.workers_override)
		cfg->min_workers = M.workers_override;
	if (M.debug)
		cfg->log_level = LOG_LEVEL_DEBUG;
	return 0;
}

/*
 * Cap max_connections so that connections cannot take the descriptors the
 * workers, the listener and the lookups need (FDLIMIT_RESERVE), at start
 * and after each reload.
 */
static void cap_connections(void)
{
	struct rlimit rl;
	int cap;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	cap = fdlimit_max_connections(srv.cfg.max_connections, (uint64_t)rl.rlim_cur);
	if (cap < srv.cfg.max_connections) {
		log_info("max_connections %d lowered to %d: the open-files limit is %llu and %d "
			 "descriptors are kept for the listener, workers, DNS and routing lookups",
			 srv.cfg.max_connections, cap, (unsigned long long)rl.rlim_cur, FDLIMIT_RESERVE);
		srv.cfg.max_connections = cap;
	}
}

/*
 * SIGHUP: read the configuration again and apply it without dropping
 * connections or probes.  A broken file is refused and the running
 * configuration stays.  The socket path needs a restart.
 */
static void sighup_cb(evutil_socket_t fd, short what, void *arg)
{
	char err[CONFIG_ERR_MAX];
	struct mp_config cfg, old;

	if (srv.stopping)
		return;
	if (!M.serving) {
		log_warning("SIGHUP during start-up ignored");
		return;
	}
	systemd_reloading();
	if (config_build(&cfg, err) < 0) {
		log_error("reload refused, keeping the running configuration: %s", err);
		systemd_ready();
		return;
	}
	if (access_configure(&cfg, false, err) < 0) {
		log_error("reload refused, keeping the running configuration: %s: %s",
			  M.config_path ? M.config_path : "access lists", err);
		config_free(&cfg);
		systemd_ready();
		return;
	}
	struct mondef_set defs = { 0 };

	if (monitors_load(&cfg, &defs, err) < 0 || monitor_conflict(&defs, err) < 0) {
		mondef_set_free(&defs);
		log_error("reload refused, keeping the running configuration: %s", err);
		config_free(&cfg);
		systemd_ready();
		return;
	}
	if (strcmp(cfg.socket_path, srv.cfg.socket_path) != 0) {
		log_warning("reload: socket %s takes effect only at restart; still serving %s",
			    cfg.socket_path, srv.cfg.socket_path);
		char *keep = cfg.socket_path;

		cfg.socket_path = srv.cfg.socket_path;
		srv.cfg.socket_path = keep;
	}
	old = srv.cfg;
	srv.cfg = cfg;
	log_set_level(srv.cfg.log_level);
	cap_connections();
	if (srv.cfg.socket_mode != old.socket_mode)
		listener_chmod(srv.cfg.socket_mode);
	if (dns_reconfigure(&old) < 0)
		log_error("reload: the new DNS settings could not all be applied");
	if (srv.cfg.min_workers != old.min_workers || srv.cfg.max_workers != old.max_workers ||
	    srv.cfg.worker_idle_timeout != old.worker_idle_timeout) {
		log_info("workers: min %d -> %d, max %d -> %d, idle timeout %g -> %g s",
			 old.min_workers, srv.cfg.min_workers, old.max_workers, srv.cfg.max_workers,
			 old.worker_idle_timeout, srv.cfg.worker_idle_timeout);
		pool_reconfigure();
	}
	conn_reconfigure();
	if (!httpd_same(&srv.cfg, &old)) {
		httpd_stop();
		if (httpd_start(&metrics_source, err) < 0)
			log_error("reload: metrics not served: %s", err);
	}
	if (monitor_apply(&defs) < 0)
		log_error("reload: out of memory starting monitors");
	mondef_set_free(&defs); /* the monitors keep their own copies */
	log_info("monitors: %zu running", monitor_count());
	config_free(&old);
	sched_kick();
	log_info("configuration reloaded%s%s", M.config_path ? " from " : "",
		 M.config_path ? M.config_path : "");
	systemd_ready();
}

/* The pool's first start settled. */
static void pool_ready(int alive, const char *why)
{
	if (alive > 0) {
		M.start_result = 1;
		if (why)
			log_warning("only %d of %d workers started: %s", alive, srv.cfg.min_workers, why);
	} else {
		M.start_result = -1;
		snprintf(M.start_error, sizeof(M.start_error), "%s", why ? why : "unknown error");
	}
	event_base_loopbreak(srv.base);
}

static const struct pool_hooks pool_hooks = {
	.room = sched_kick,
	.started = pool_ready,
};

/* Raise the open-files soft limit as far as the hard limit allows. */
static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			log_warning("cannot raise the open-files limit: %s", strerror(errno));
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
		log_debug("open-files limit: %llu", (unsigned long long)rl.rlim_cur);
}

/* Install the signal events. */
static void signals_setup(void)
{
	signal(SIGPIPE, SIG_IGN);
	M.sig_term = evsignal_new(srv.base, SIGTERM, sigterm_cb, NULL);
	M.sig_int = evsignal_new(srv.base, SIGINT, sigterm_cb, NULL);
	M.sig_hup = evsignal_new(srv.base, SIGHUP, sighup_cb, NULL);
	M.sig_chld = evsignal_new(srv.base, SIGCHLD, sigchld_cb, NULL);
	if (!M.sig_term || !M.sig_int || !M.sig_hup || !M.sig_chld)
		fatal("cannot set up signal handling");
	event_add(M.sig_term, NULL);
	event_add(M.sig_int, NULL);
	event_add(M.sig_hup, NULL);
	event_add(M.sig_chld, NULL);
}

/* Free the signal events. */
static void signals_free(void)
{
	event_free(M.sig_term);
	event_free(M.sig_int);
	event_free(M.sig_hup);
	event_free(M.sig_chld);
	if (M.stop_ev)
		event_free(M.stop_ev);
}

/* Parse the command line and load the configuration. */
static void parse_args(int argc, char **argv, bool *ret_check_only)
{
	char err[CONFIG_ERR_MAX];
	int opt;

	while ((opt = getopt(argc, argv, "c:s:w:dnVh")) != -1) {
		switch (opt) {
		case 'c':
			M.config_path = optarg;
			break;
		case 's':
			M.socket_override = optarg;
			break;
		case 'w': {
			char *end;
			long v = strtol(optarg, &end, 10);

			if (*optarg == '\0' || *end || v < 1 || v > POOL_WORKERS_MAX) {
				fprintf(stderr, "mtrprobed: -w: must be an integer from 1 to %d\n",
					POOL_WORKERS_MAX);
				exit(2);
			}
			M.workers_override = (int)v;
			break;
		}
		case 'd':
			M.debug = true;
			break;
		case 'n':
			*ret_check_only = true;
			break;
		case 'V':
			printf("mtrprobed %s (protocol %d)\n", MTRPROBED_VERSION, MP_PROTOCOL_VERSION);
			exit(0);
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			exit(2);
		}
	}
	if (optind < argc) {
		fprintf(stderr, "mtrprobed: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		exit(2);
	}
	if (config_build(&srv.cfg, err) < 0)
		fatal("%s", err);
	if (access_configure(&srv.cfg, *ret_check_only, err) < 0)
		fatal("%s: %s", M.config_path ? M.config_path : "access lists", err);
	if (monitors_load(&srv.cfg, &M.monitors, err) < 0)
		fatal("%s", err);
}

/* Listen (on the inherited socket, or one bound here) and run until stopped. 0 or -1. */
static int serve(int inherited)
{
	char err[CONFIG_ERR_MAX];
	struct pool_stats ps;
	int r = inherited >= 0 ? listener_adopt(inherited) :
				 listener_open(srv.cfg.socket_path, srv.cfg.socket_mode);

	if (r < 0)
		return -1;
	if (httpd_start(&metrics_source, err) < 0) {
		log_error("%s", err);
		listener_close();
		return -1;
	}
	if (monitor_apply(&M.monitors) < 0)
		log_error("out of memory starting monitors");
	mondef_set_free(&M.monitors); /* the monitors keep their own copies */
	if (srv.cfg.state_dir)
		mstore_load(srv.cfg.state_dir, state_monitors_cb, state_bad_cb, NULL);
	M.serving = true;
	systemd_ready();
	pool_get_stats(&ps);
	log_info("mtrprobed %s ready: %d of %d workers running %s, %zu monitors", MTRPROBED_VERSION,
		 ps.alive, ps.min, pool_mtr_version()[0] ? pool_mtr_version() : "mtr-packet",
		 monitor_count());
	event_base_dispatch(srv.base);
	return 0;
}

/* Stopping: everything is answered; write the answers out, then free everything. */
static void finish(void)
{
	listener_close();
	pool_stop();
	conn_close_all();
	for (int i = 0; i < 100 && conn_count() > 0; i++) {
		struct timeval tv = { 0, 10000 };

		event_base_loopexit(srv.base, &tv);
		event_base_dispatch(srv.base);
	}
	httpd_stop();
	conn_free_all();
	request_free();
	trace_free_all();
	request_trim();
	sched_free();
	monitor_free_all();
	mondef_set_free(&M.monitors);
	dns_free();
	route_free();
	signals_free();
	if (M.idle_ev)
		event_free(M.idle_ev);
	systemd_free();
	event_base_free(srv.base);
	config_free(&srv.cfg);
	log_info("stopped");
}

int main(int argc, char **argv)
{
	bool check_only = false;

	log_init(LOG_LEVEL_INFO);
	parse_args(argc, argv, &check_only);
	if (check_only) {
		printf("configuration OK: %zu monitor%s in %s\n", M.monitors.n,
		       M.monitors.n == 1 ? "" : "s", srv.cfg.monitors_dir);
		mondef_set_free(&M.monitors);
		config_free(&srv.cfg);
		return 0;
	}
	log_set_level(srv.cfg.log_level);
	srv.started = mono_now();
	raise_nofile();
	cap_connections();
	int inherited = systemd_listen_fd();

	if (inherited == -EINVAL)
		fatal("socket activation: expected exactly one listening Unix stream socket");
	if (inherited < 0)
		listener_check_path(srv.cfg.socket_path);

	srv.base = event_base_new();
	if (!srv.base)
		fatal("cannot create the event loop");
	signals_setup();
	M.idle_ev = event_new(srv.base, -1, EV_PERSIST, idle_cb, NULL);
	if (M.idle_ev) {
		struct timeval one = { 1, 0 };

		event_add(M.idle_ev, &one);
	}
	if (systemd_init() < 0 || route_init() < 0 || sched_init() < 0)
		fatal("out of memory");
	if (dns_init(sched_dns_done) < 0)
		fatal("cannot set up name resolution");

	/* Workers first: a daemon that cannot probe does not listen. */
	request_setup();
	listener_setup(conn_accept);
	if (pool_start(&wproc_ops, &pool_hooks) < 0)
		fatal("out of memory");
	if (M.start_result == 0)
		event_base_dispatch(srv.base);
	if (M.start_result <= 0) {
		log_error("no mtr-packet worker could start: %s", M.start_error);
		pool_stop();
		return 1;
	}
	if (!srv.stopping && serve(inherited) < 0) {
		pool_stop();
		return 1;
	}
	finish();
	return 0;
}
