/*
 * Everything systemd: socket activation, readiness, status, watchdog,
 * reload and stop notifications.  Silent when NOTIFY_SOCKET is unset; the
 * only file that calls libsystemd.
 */
#ifndef MTRPROBED_SD_H
#define MTRPROBED_SD_H

/*
 * The listening socket systemd passed (socket activation): its fd, -1 when
 * none was passed, or -EINVAL when what was passed is not one listening
 * Unix stream socket.
 */
int systemd_listen_fd(void);
/* Start the watchdog and status timers (needs the event base). */
int systemd_init(void);
/* The daemon serves: READY=1 and a first STATUS=. */
void systemd_ready(void);
/* A reload begins: RELOADING=1. */
void systemd_reloading(void);
/* Shutdown begins: STOPPING=1. */
void systemd_stopping(void);
/* Stop the timers. */
void systemd_free(void);

#endif
