/*
 * Where the monitors added over the socket are kept across restarts: one
 * file per user, STATE_DIR/monitors/UID.conf, in the monitor files'
 * syntax, replaced atomically (written aside, flushed, renamed).
 */
#ifndef MTRPROBED_MSTORE_H
#define MTRPROBED_MSTORE_H

#include "mondef.h"

/*
 * Make STATE_DIR/monitors/UID.conf hold text, or remove it when text is
 * "" (STATE_DIR and monitors/ are made, mode 0700, when missing; both
 * must be real directories of the daemon's user, closed to others).  0,
 * or -errno with a message in err.
 */
int mstore_save(const char *state_dir, long uid, const char *text, char err[MONDEF_ERR_MAX]);

/*
 * Append text (definitions that could not be started again from a user's
 * file) to STATE_DIR/monitors/UID.refused, which is never loaded: kept
 * for the administrator, since the user's file is rewritten from the
 * running monitors at the next change.  0 or -errno with a message.
 */
int mstore_keep_refused(const char *state_dir, long uid, const char *text,
			char err[MONDEF_ERR_MAX]);

/* One user's file: its monitors (the callback may take them). */
typedef void (*mstore_fn)(void *arg, long uid, struct mondef_set *set);
/* A file that could not be read or parsed: why. */
typedef void (*mstore_err_fn)(void *arg, const char *err);

/*
 * Read every STATE_DIR/monitors/UID.conf, calling fn for each file read
 * and parsed, and bad for each one that is not (the others still load).
 * A missing directory holds nothing.
 */
void mstore_load(const char *state_dir, mstore_fn fn, mstore_err_fn bad, void *arg);

#endif
