/* The listening socket: own (bound here) or inherited, and accepting. */
#ifndef MTRPROBED_LISTENER_H
#define MTRPROBED_LISTENER_H

/* Hand every accepted (non-blocking, close-on-exec) socket to accept_cb. */
void listener_setup(void (*accept_cb)(int fd));
/*
 * Refuse to go on if a live daemon serves path (exits with a message);
 * remove a stale socket file.  Called before the workers start.
 */
void listener_check_path(const char *path);
/* Bind and listen on path, creating its directory. 0 or -errno (logged). */
int listener_open(const char *path, unsigned mode);
/* Serve on a listening socket passed by systemd (never unlinked). 0 or -errno. */
int listener_adopt(int fd);
/* Give the socket file a new mode (reload), if it was bound here. */
void listener_chmod(unsigned mode);
/* Stop accepting and remove the socket file if it is still the one bound here. */
void listener_close(void);

#endif
