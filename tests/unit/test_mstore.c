/*
 * Unit tests of the state files of monitors added over the socket: written,
 * replaced, removed, read back, and what a crash in the middle of a write
 * leaves (a file written aside, never read).  In a temporary directory.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/mstore.h"

/* What a load saw. */
struct seen {
	long uids[8];
	size_t counts[8];
	char names[8][MONDEF_NAME_MAX + 1];
	int n;
	char bad[4][MONDEF_ERR_MAX];
	int n_bad;
};

static void seen_fn(void *arg, long uid, struct mondef_set *set)
{
	struct seen *s = arg;

	ck_assert_int_lt(s->n, 8);
	s->uids[s->n] = uid;
	s->counts[s->n] = set->n;
	snprintf(s->names[s->n], sizeof(s->names[0]), "%s", set->n ? set->items[0].name : "");
	s->n++;
}

static void bad_fn(void *arg, const char *err)
{
	struct seen *s = arg;

	ck_assert_int_lt(s->n_bad, 4);
	snprintf(s->bad[s->n_bad++], MONDEF_ERR_MAX, "%s", err);
}

/* A fresh state directory (not created: mstore_save makes it). */
static void state_dir(char dir[64])
{
	char base[] = "/tmp/mstore-test.XXXXXX";

	ck_assert_ptr_nonnull(mkdtemp(base));
	snprintf(dir, 64, "%s/state", base);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

static char *read_file(const char *path)
{
	static char buf[4096];
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void cleanup(const char *dir)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf '%.*s'", (int)(strrchr(dir, '/') - dir), dir);
	ck_assert_int_eq(system(cmd), 0);
}

START_TEST(test_save_load_replace_remove)
{
	char dir[64], path[128], err[MONDEF_ERR_MAX];
	struct seen s = { 0 };
	struct stat st;

	state_dir(dir);
	ck_assert_int_eq(mstore_save(dir, 1000, "[a]\ntarget = 127.0.0.1\n", err), 0);
	/* the directories are made 0700, the file 0600 */
	ck_assert_int_eq(stat(dir, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0700);
	snprintf(path, sizeof(path), "%s/monitors/1000.conf", dir);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	ck_assert_str_eq(read_file(path), "[a]\ntarget = 127.0.0.1\n");
	/* replaced whole */
	ck_assert_int_eq(mstore_save(dir, 1000, "[b]\ntarget = ::1\n\n[c]\ntarget = ::1\n", err), 0);
	ck_assert_str_eq(read_file(path), "[b]\ntarget = ::1\n\n[c]\ntarget = ::1\n");
	ck_assert_int_eq(mstore_save(dir, 0, "[r]\ntarget = 127.0.0.2\n", err), 0);
	mstore_load(dir, seen_fn, bad_fn, &s);
	ck_assert_int_eq(s.n_bad, 0);
	ck_assert_int_eq(s.n, 2);
	for (int i = 0; i < 2; i++) {
		if (s.uids[i] == 1000) {
			ck_assert_uint_eq(s.counts[i], 2);
			ck_assert_str_eq(s.names[i], "b");
		} else {
			ck_assert_int_eq(s.uids[i], 0);
			ck_assert_uint_eq(s.counts[i], 1);
			ck_assert_str_eq(s.names[i], "r");
		}
	}
	/* no monitors left: no file */
	ck_assert_int_eq(mstore_save(dir, 1000, "", err), 0);
	ck_assert_int_eq(access(path, F_OK), -1);
	ck_assert_int_eq(mstore_save(dir, 1000, "", err), 0); /* already gone: fine */
	cleanup(dir);
}
END_TEST

START_TEST(test_crash_leftovers_and_bad_files)
{
	char dir[64], path[160], err[MONDEF_ERR_MAX];
	struct seen s = { 0 };

	state_dir(dir);
	ck_assert_int_eq(mstore_save(dir, 7, "[kept]\ntarget = 127.0.0.1\n", err), 0);
	/* a crash between writing aside and renaming leaves .7.conf.new: never read */
	snprintf(path, sizeof(path), "%s/monitors/.7.conf.new", dir);
	write_file(path, "[half");
	/* files that are not UID.conf are not the daemon's */
	snprintf(path, sizeof(path), "%s/monitors/notes.txt", dir);
	write_file(path, "[x]\n");
	snprintf(path, sizeof(path), "%s/monitors/x9.conf", dir);
	write_file(path, "[x]\n");
	/* a broken file: reported, the others still load */
	snprintf(path, sizeof(path), "%s/monitors/8.conf", dir);
	write_file(path, "[broken]\ncount = 5\n");
	mstore_load(dir, seen_fn, bad_fn, &s);
	ck_assert_int_eq(s.n, 1);
	ck_assert_int_eq(s.uids[0], 7);
	ck_assert_str_eq(s.names[0], "kept");
	ck_assert_int_eq(s.n_bad, 1);
	snprintf(path, sizeof(path), "%s/monitors/8.conf:1: [broken]: missing target", dir);
	ck_assert_str_eq(s.bad[0], path);
	/* the next save of uid 7 replaces the leftover too */
	ck_assert_int_eq(mstore_save(dir, 7, "[kept]\ntarget = 127.0.0.1\n", err), 0);
	snprintf(path, sizeof(path), "%s/monitors/.7.conf.new", dir);
	ck_assert_int_eq(access(path, F_OK), -1);
	cleanup(dir);
}
END_TEST

START_TEST(test_missing_and_unwritable)
{
	char dir[64], err[MONDEF_ERR_MAX];
	struct seen s = { 0 };

	state_dir(dir);
	mstore_load(dir, seen_fn, bad_fn, &s); /* nothing there yet: nothing, no error */
	ck_assert_int_eq(s.n + s.n_bad, 0);
	/* a file where the directory should be */
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	{
		char path[128];

		snprintf(path, sizeof(path), "%s/monitors", dir);
		write_file(path, "");
		ck_assert_int_lt(mstore_save(dir, 1, "[a]\ntarget = ::1\n", err), 0);
		ck_assert_ptr_nonnull(strstr(err, "/monitors"));
	}
	cleanup(dir);
}
END_TEST


START_TEST(test_unsafe_directories_refused)
{
	char dir[64], path[160], target[160], err[MONDEF_ERR_MAX];
	struct seen s = { 0 };

	state_dir(dir);
	ck_assert_int_eq(mstore_save(dir, 5, "[a]\ntarget = ::1\n", err), 0);
	/* writable by others: nothing written, nothing read */
	ck_assert_int_eq(chmod(dir, 0777), 0);
	ck_assert_int_eq(mstore_save(dir, 5, "[b]\ntarget = ::1\n", err), -EPERM);
	snprintf(path, sizeof(path),
		 "%s: not a directory of the daemon's own user closed to others", dir);
	ck_assert_str_eq(err, path);
	mstore_load(dir, seen_fn, bad_fn, &s);
	ck_assert_int_eq(s.n, 0);
	ck_assert_int_eq(s.n_bad, 1);
	ck_assert_str_eq(s.bad[0], path);
	ck_assert_int_eq(chmod(dir, 0700), 0);
	/* monitors/ a symlink to elsewhere: refused, not followed */
	snprintf(path, sizeof(path), "%s/monitors", dir);
	snprintf(target, sizeof(target), "%s/elsewhere", dir);
	ck_assert_int_eq(rename(path, target), 0);
	ck_assert_int_eq(symlink(target, path), 0);
	ck_assert_int_eq(mstore_save(dir, 5, "[c]\ntarget = ::1\n", err), -EPERM);
	snprintf(path, sizeof(path), "%s/elsewhere/5.conf", dir);
	ck_assert_str_eq(read_file(path), "[a]\ntarget = ::1\n");
	cleanup(dir);
}
END_TEST

START_TEST(test_uid_out_of_range_ignored)
{
	char dir[64], path[160], err[MONDEF_ERR_MAX];
	struct seen s = { 0 };

	state_dir(dir);
	ck_assert_int_eq(mstore_save(dir, 4294967294L, "[top]\ntarget = ::1\n", err), 0);
	/* 2^32 would wrap to uid 0, 2^32 - 1 is no uid: neither is loaded */
	snprintf(path, sizeof(path), "%s/monitors/4294967296.conf", dir);
	write_file(path, "[root]\ntarget = ::1\n");
	snprintf(path, sizeof(path), "%s/monitors/4294967295.conf", dir);
	write_file(path, "[none]\ntarget = ::1\n");
	mstore_load(dir, seen_fn, bad_fn, &s);
	ck_assert_int_eq(s.n, 1);
	ck_assert_int_eq(s.uids[0], 4294967294L);
	ck_assert_str_eq(s.names[0], "top");
	ck_assert_int_eq(s.n_bad, 0);
	cleanup(dir);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("mstore");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_save_load_replace_remove);
	tcase_add_test(tc, test_crash_leftovers_and_bad_files);
	tcase_add_test(tc, test_missing_and_unwritable);
	tcase_add_test(tc, test_unsafe_directories_refused);
	tcase_add_test(tc, test_uid_out_of_range_ignored);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
