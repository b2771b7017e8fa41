/*
 * Everything systemd.  READY=1 is sent once the socket listens and the
 * workers answered; STATUS= carries a one-line summary refreshed every
 * STATUS_INTERVAL seconds; WATCHDOG=1 is sent from the event loop at half
 * the watchdog interval, so a stuck loop stops it and systemd restarts the
 * service.  Every call is a no-op when the daemon was not started by
 * systemd (NOTIFY_SOCKET unset).
 */
#include <errno.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include "conn.h"
#include "log.h"
#include "pool.h"
#include "sched.h"
#include "sd.h"
#include "server.h"
#include "util.h"

#define STATUS_INTERVAL 5.0

static struct {
	bool enabled;            /* NOTIFY_SOCKET is set */
	struct event *watchdog_ev;
	struct event *status_ev;
	uint64_t last_completed;
	double last_at;
	double rate;             /* probes/s over the last interval */
} SD;

/* The socket systemd passed, if any. */
int systemd_listen_fd(void)
{
	int n = sd_listen_fds(1);

	if (n <= 0)
		return n < 0 ? -EINVAL : -1;
	if (n > 1 || sd_is_socket_unix(SD_LISTEN_FDS_START, SOCK_STREAM, 1, NULL, 0) <= 0)
		return -EINVAL;
	return SD_LISTEN_FDS_START;
}

/* The one-line summary. */
static void systemd_send_status(const char *prefix)
{
	struct sched_stats ss;
	struct pool_stats ps;

	if (!SD.enabled)
		return;
	sched_get_stats(&ss);
	pool_get_stats(&ps);
	sd_notifyf(0, "%sSTATUS=%.0f probes/s, %zu in flight, %zu queued, %d/%d workers alive, "
		   "%zu clients", prefix, SD.rate, ss.sent, ss.queued + ss.resolving, ps.alive,
		   ps.max, conn_count());
}

/* Refresh the rate and the status line. */
static void systemd_status_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sched_stats ss;
	double now = mono_now();

	sched_get_stats(&ss);
	if (now > SD.last_at)
		SD.rate = (double)(ss.completed - SD.last_completed) / (now - SD.last_at);
	SD.last_completed = ss.completed;
	SD.last_at = now;
	systemd_send_status("");
}

/* Tell the watchdog the loop runs. */
static void systemd_watchdog_cb(evutil_socket_t fd, short what, void *arg)
{
	sd_notify(0, "WATCHDOG=1");
}

/* Start the timers. */
int systemd_init(void)
{
	uint64_t usec = 0;

	SD.enabled = getenv("NOTIFY_SOCKET") != NULL;
	if (!SD.enabled)
		return 0;
	SD.last_at = mono_now();
	if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
		struct timeval tv = tv_from_seconds((double)usec / 2e6);

		SD.watchdog_ev = event_new(srv.base, -1, EV_PERSIST, systemd_watchdog_cb, NULL);
		if (!SD.watchdog_ev || event_add(SD.watchdog_ev, &tv) < 0)
			return -ENOMEM;
		log_debug("watchdog: pinging every %.3f s", (double)usec / 2e6);
	}
	struct timeval tv = tv_from_seconds(STATUS_INTERVAL);

	SD.status_ev = event_new(srv.base, -1, EV_PERSIST, systemd_status_cb, NULL);
	if (!SD.status_ev || event_add(SD.status_ev, &tv) < 0)
		return -ENOMEM;
	return 0;
}

/* READY=1 with a status line. */
void systemd_ready(void)
{
	systemd_send_status("READY=1\n");
}

/* RELOADING=1 (with the time, as Type=notify-reload wants it). */
void systemd_reloading(void)
{
	struct timespec ts;

	if (!SD.enabled)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=reloading the configuration",
		   (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000);
}

/* STOPPING=1. */
void systemd_stopping(void)
{
	if (SD.enabled)
		sd_notify(0, "STOPPING=1\nSTATUS=stopping");
}

/* Stop the timers. */
void systemd_free(void)
{
	if (SD.watchdog_ev)
		event_free(SD.watchdog_ev);
	if (SD.status_ev)
		event_free(SD.status_ev);
	SD.watchdog_ev = SD.status_ev = NULL;
}
