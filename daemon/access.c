/*
 * Access control from peer credentials.  The configured names are resolved
 * to ids once per configuration (at start and at each reload); a peer's
 * groups are its primary group from SO_PEERCRED plus the supplementary
 * groups of its user.  Empty allow lists mean everyone who can open the
 * socket (whose mode and group are the first gate).
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "access.h"

#define GROUPS_MAX 256

/* Resolved ids of one list. */
struct id_list {
	unsigned ids[CONFIG_NAMES_MAX];
	int n;
};

/* The installed lists.  Owned here. */
static struct {
	struct id_list allow_users, allow_groups, admin_users, admin_groups;
} A;

/* A decimal id, or -1 if text is not one. */
static long parse_id(const char *text)
{
	char *end;
	long v;

	if (text[0] < '0' || text[0] > '9')
		return -1;
	errno = 0;
	v = strtol(text, &end, 10);
	return (*end || errno || v < 0 || v > 0x7fffffffL) ? -1 : v;
}

/* Resolve user names (or uids). */
static int resolve_users(const char *key, const struct config_names *names, struct id_list *out,
			 char err[CONFIG_ERR_MAX])
{
	out->n = 0;
	for (int i = 0; i < names->n; i++) {
		long id = parse_id(names->items[i]);

		if (id < 0) {
			struct passwd pw, *res = NULL;
			char buf[4096];

			if (getpwnam_r(names->items[i], &pw, buf, sizeof(buf), &res) != 0 || !res) {
				snprintf(err, CONFIG_ERR_MAX, "%s: no such user '%s'", key,
					 names->items[i]);
				return -EINVAL;
			}
			id = (long)pw.pw_uid;
		}
		out->ids[out->n++] = (unsigned)id;
	}
	return 0;
}

/* Resolve group names (or gids). */
static int resolve_groups(const char *key, const struct config_names *names, struct id_list *out,
			  char err[CONFIG_ERR_MAX])
{
	out->n = 0;
	for (int i = 0; i < names->n; i++) {
		long id = parse_id(names->items[i]);

		if (id < 0) {
			struct group gr, *res = NULL;
			char buf[16384];

			if (getgrnam_r(names->items[i], &gr, buf, sizeof(buf), &res) != 0 || !res) {
				snprintf(err, CONFIG_ERR_MAX, "%s: no such group '%s'", key,
					 names->items[i]);
				return -EINVAL;
			}
			id = (long)gr.gr_gid;
		}
		out->ids[out->n++] = (unsigned)id;
	}
	return 0;
}

/* Resolve and (unless check_only) install cfg's lists. */
int access_configure(const struct mp_config *cfg, bool check_only, char err[CONFIG_ERR_MAX])
{
	struct id_list au, ag, du, dg;

	if (resolve_users("allow_users", &cfg->allow_users, &au, err) < 0 ||
	    resolve_groups("allow_groups", &cfg->allow_groups, &ag, err) < 0 ||
	    resolve_users("admin_users", &cfg->admin_users, &du, err) < 0 ||
	    resolve_groups("admin_groups", &cfg->admin_groups, &dg, err) < 0)
		return -EINVAL;
	if (!check_only) {
		A.allow_users = au;
		A.allow_groups = ag;
		A.admin_users = du;
		A.admin_groups = dg;
	}
	return 0;
}

/* True if id is in l. */
static bool in_list(const struct id_list *l, unsigned id)
{
	for (int i = 0; i < l->n; i++)
		if (l->ids[i] == id)
			return true;
	return false;
}

/* True if the user (uid, primary gid) belongs to a group of l. */
static bool in_groups(const struct id_list *l, uid_t uid, gid_t gid)
{
	struct passwd pw, *res = NULL;
	gid_t groups[GROUPS_MAX];
	int n = GROUPS_MAX;
	char buf[4096];

	if (l->n == 0)
		return false;
	if (in_list(l, (unsigned)gid))
		return true;
	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) != 0 || !res)
		return false;
	if (getgrouplist(pw.pw_name, gid, groups, &n) < 0)
		n = GROUPS_MAX; /* more than we keep: check the first ones */
	for (int i = 0; i < n; i++)
		if (in_list(l, (unsigned)groups[i]))
			return true;
	return false;
}

/* The level of a peer. */
enum access_level access_check(uid_t uid, gid_t gid)
{
	if (uid == 0)
		return ACCESS_ADMIN;
	if (in_list(&A.admin_users, (unsigned)uid) || in_groups(&A.admin_groups, uid, gid))
		return ACCESS_ADMIN;
	if (A.allow_users.n == 0 && A.allow_groups.n == 0)
		return ACCESS_USER;
	if (in_list(&A.allow_users, (unsigned)uid) || in_groups(&A.allow_groups, uid, gid))
		return ACCESS_USER;
	return ACCESS_DENIED;
}

/* Forget the lists. */
void access_free(void)
{
	memset(&A, 0, sizeof(A));
}
