/* check_support.c — the shared test helpers of tests/support/ that need no server:
 * environment lists and their undoing, private temporary folders, built binaries as
 * children, a required variable's skip or failure, the CLI's JSON lines. */
#include "config.h"

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli_run.h"
#include "live.h"
#include "support_env.h"
#include "support_server.h"
#include "support_tmpdir.h"
#include "tap.h"

/* ---- support_env ----------------------------------------------------------------------- */

START_TEST(env_list_sets_and_unsets)
{
    setenv("CR_SUPPORT_A", "old", 1);
    setenv("CR_SUPPORT_B", "old", 1);
    unsetenv("CR_SUPPORT_C");
    support_env_apply(
        (const char *const[]){ "CR_SUPPORT_A=new=x", "CR_SUPPORT_B=", "CR_SUPPORT_C=c", NULL });
    ck_assert_str_eq(getenv("CR_SUPPORT_A"), "new=x");
    ck_assert_ptr_null(getenv("CR_SUPPORT_B"));
    ck_assert_str_eq(getenv("CR_SUPPORT_C"), "c");
    support_env_apply((const char *const[]){ "CR_SUPPORT_C", NULL }); /* a bare name unsets */
    ck_assert_ptr_null(getenv("CR_SUPPORT_C"));
    support_env_apply(NULL);
    ck_assert_str_eq(getenv("CR_SUPPORT_A"), "new=x");
}
END_TEST

START_TEST(env_table_puts_back_what_it_replaced)
{
    setenv("CR_SUPPORT_A", "a0", 1);
    unsetenv("CR_SUPPORT_B");
    support_env t;
    support_env_init(&t);
    support_env_set(&t, (const char *const[]){ "CR_SUPPORT_A=a1", "CR_SUPPORT_B=b1", NULL });
    /* the same name twice: restoring newest first ends at the first value */
    support_env_set(&t, (const char *const[]){ "CR_SUPPORT_A=", NULL });
    ck_assert_ptr_null(getenv("CR_SUPPORT_A"));
    ck_assert_str_eq(getenv("CR_SUPPORT_B"), "b1");
    ck_assert_uint_eq(t.n, 3);
    support_env_restore(&t);
    ck_assert_str_eq(getenv("CR_SUPPORT_A"), "a0");
    ck_assert_ptr_null(getenv("CR_SUPPORT_B"));
    ck_assert_uint_eq(t.n, 0);
    support_env_restore(&t); /* empty: nothing happens */
    support_env_restore(NULL);
    ck_assert_str_eq(getenv("CR_SUPPORT_A"), "a0");
}
END_TEST

/* ---- support_tmpdir -------------------------------------------------------------------- */

START_TEST(tmpdir_is_private_and_removed_with_its_contents)
{
    char dir[256];
    ck_assert_int_eq(support_tmpdir_make("check-support", dir, sizeof dir), 0);
    ck_assert_msg(strncmp(dir, "/tmp/check-support-", 19) == 0 && strlen(dir) == 25, "%s", dir);
    struct stat st;
    ck_assert_int_eq(stat(dir, &st), 0);
    ck_assert(S_ISDIR(st.st_mode));
    ck_assert_int_eq(st.st_mode & 0777, 0700);
    char sub[300], file[320];
    snprintf(sub, sizeof sub, "%s/a b", dir);
    ck_assert_int_eq(mkdir(sub, 0755), 0);
    snprintf(file, sizeof file, "%s/f", sub);
    FILE *f = fopen(file, "w");
    ck_assert_ptr_nonnull(f);
    fputs("x", f);
    fclose(f);
    ck_assert_int_eq(support_tmpdir_remove(dir), 0);
    ck_assert_int_eq(stat(dir, &st), -1);
    ck_assert_int_eq(support_tmpdir_remove(""), 0);
    ck_assert_int_eq(support_tmpdir_remove(NULL), 0);
    ck_assert_int_eq(support_tmpdir_remove("/tmp/it's"), -1); /* never quoted into a shell */
}
END_TEST

START_TEST(tmpdir_too_long_a_name_fails_cleanly)
{
    char dir[16] = "unchanged";
    ck_assert_int_eq(support_tmpdir_make("a-name-longer-than-the-buffer", dir, sizeof dir), -1);
    ck_assert_str_eq(dir, "");
}
END_TEST

/* ---- support_server: built binaries ------------------------------------------------------ */

START_TEST(bin_path_is_under_the_build_dir)
{
    char p[256];
    setenv("CR_BUILDDIR", "/b", 1);
    support_server_bin("src/cli/cruddur", p, sizeof p);
    ck_assert_str_eq(p, "/b/src/cli/cruddur");
    unsetenv("CR_BUILDDIR");
    support_server_bin("src/cli/cruddur", p, sizeof p);
    ck_assert_str_eq(p, "./src/cli/cruddur");
}
END_TEST

START_TEST(wait_gives_status_signal_or_timeout)
{
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0)
        _exit(7);
    ck_assert_int_eq(support_server_wait(pid, 5000), 7);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        pause();
        _exit(0);
    }
    ck_assert_int_eq(support_server_wait(pid, 100), -1); /* still running */
    kill(pid, SIGKILL);
    ck_assert_int_eq(support_server_wait(pid, 5000), 128 + SIGKILL);
}
END_TEST

START_TEST(spawn_runs_a_binary_with_env_and_log)
{
    /* /bin/sh as the "built binary": CR_BUILDDIR=/ makes rel "bin/sh" that path */
    setenv("CR_BUILDDIR", "/", 1);
    char dir[256], log[300];
    ck_assert_int_eq(support_tmpdir_make("check-support-spawn", dir, sizeof dir), 0);
    snprintf(log, sizeof log, "%s/child.log", dir);
    const char *const env[] = { "CR_SUPPORT_SPAWN=seen", NULL };
    const char *const args[] = { "-c", "echo \"$0 $CR_SUPPORT_SPAWN\" >&2; exit 3", NULL };
    pid_t pid = support_server_spawn("bin/sh", "sh-child", env, log, args);
    ck_assert_int_eq(support_server_wait(pid, 10000), 3);
    ck_assert_ptr_null(getenv("CR_SUPPORT_SPAWN")); /* only the child's environment */
    FILE *f = fopen(log, "r");
    ck_assert_ptr_nonnull(f);
    char line[128] = "";
    ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
    fclose(f);
    ck_assert_str_eq(line, "sh-child seen\n");
    ck_assert_int_eq(support_tmpdir_remove(dir), 0);
}
END_TEST

START_TEST(a_stand_in_that_does_not_start_is_minus_one)
{
    support_server s = { 0 };
    ck_assert_int_eq(support_server_start(&s, "tests/tools/no_such_server.py"), -1);
    support_server_stop(&s);
    ck_assert_int_eq(s.pid, 0);
    support_server_stop(&s); /* twice is fine */
}
END_TEST

/* ---- live: a required variable ------------------------------------------------------------ */

START_TEST(a_required_variable_is_returned)
{
    setenv("CR_SUPPORT_NEEDED", "there", 1);
    ck_assert_str_eq(live_require_env("CR_SUPPORT_NEEDED"), "there");
}
END_TEST

START_TEST(a_missing_variable_skips)
{
    unsetenv("CRUDDUR_LIVE");
    setenv("CR_SUPPORT_NEEDED", "", 1);                       /* empty counts as missing */
    ck_assert_ptr_nonnull(freopen("/dev/null", "w", stdout)); /* its TAP skip line */
    live_require_env("CR_SUPPORT_NEEDED");
}
END_TEST

START_TEST(a_missing_variable_fails_under_cruddur_live)
{
    setenv("CRUDDUR_LIVE", "1", 1);
    unsetenv("CR_SUPPORT_NEEDED");
    ck_assert_ptr_nonnull(freopen("/dev/null", "w", stdout));
    live_require_env("CR_SUPPORT_NEEDED");
}
END_TEST

/* ---- cli_run: JSON lines ------------------------------------------------------------------ */

START_TEST(json_lines_are_objects_in_order)
{
    buf b;
    buf_init(&b, 0);
    buf_append(&b, "{\"a\":1}\n{\"b\":[2]}\n{}", 20);
    json_t *all = cli_json_lines(&b);
    ck_assert_uint_eq(json_array_size(all), 3);
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(all, 0), "a")), 1);
    ck_assert(json_is_array(json_object_get(json_array_get(all, 1), "b")));
    ck_assert_uint_eq(json_object_size(json_array_get(all, 2)), 0);
    json_decref(all);
    buf_cleanup(&b);
}
END_TEST

static Suite *support_suite(void)
{
    Suite *s = suite_create("support");
    TCase *tc = tcase_create("env");
    tcase_add_test(tc, env_list_sets_and_unsets);
    tcase_add_test(tc, env_table_puts_back_what_it_replaced);
    suite_add_tcase(s, tc);
    tc = tcase_create("tmpdir");
    tcase_add_test(tc, tmpdir_is_private_and_removed_with_its_contents);
    tcase_add_test(tc, tmpdir_too_long_a_name_fails_cleanly);
    suite_add_tcase(s, tc);
    tc = tcase_create("server");
    tcase_add_test(tc, bin_path_is_under_the_build_dir);
    tcase_add_test(tc, wait_gives_status_signal_or_timeout);
    tcase_add_test(tc, spawn_runs_a_binary_with_env_and_log);
    tcase_add_test(tc, a_stand_in_that_does_not_start_is_minus_one);
    suite_add_tcase(s, tc);
    tc = tcase_create("live");
    tcase_add_test(tc, a_required_variable_is_returned);
    tcase_add_exit_test(tc, a_missing_variable_skips, 77);
    tcase_add_exit_test(tc, a_missing_variable_fails_under_cruddur_live, 1);
    tcase_add_test(tc, json_lines_are_objects_in_order);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tap_run(support_suite());
}
