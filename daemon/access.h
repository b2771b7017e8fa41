/*
 * Who may use the daemon: peer credentials (SO_PEERCRED) checked against
 * allow_users/allow_groups, and admin_users/admin_groups for the options
 * that steer traffic.  root always may.
 */
#ifndef MTRPROBED_ACCESS_H
#define MTRPROBED_ACCESS_H

#include <stdbool.h>
#include <sys/types.h>

#include "config.h"

enum access_level {
	ACCESS_DENIED,  /* may not connect */
	ACCESS_USER,    /* may probe */
	ACCESS_ADMIN    /* may also set mark and local_ip */
};

/*
 * Resolve cfg's user and group lists (names or numbers) into ids.  Returns
 * 0 and installs them, or -EINVAL with "KEY: no such user 'NAME'" in err and
 * changes nothing.  With check_only the result is not installed.
 */
int access_configure(const struct mp_config *cfg, bool check_only, char err[CONFIG_ERR_MAX]);
/* The level of a peer with these credentials. */
enum access_level access_check(uid_t uid, gid_t gid);
/* Free the installed lists. */
void access_free(void);

#endif
