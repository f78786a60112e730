/* live_users.c — the users module against the real PostgreSQL of CONNECTION_URL: opening
 * (and its errors), the lookups, the Cognito sub, scripts, pings after the server ended the
 * session, and the administration helpers. Works in its own databases, dropped at the end. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "live.h"
#include "pg.h"
#include "support_env.h"
#include "tap.h"
#include "users/users.h"

static char g_db[64];       /* schema + seed loaded */
static char g_empty_db[64]; /* no schema */
static char g_odd_db[64];   /* a name that needs quoting, made and dropped by a test */
static char g_url[4096];
static char g_empty_url[4096];
static char g_setup_err[512];

static users *open_ok(const char *url)
{
    errinfo e;
    users *u = users_open(url, &e);
    ck_assert_msg(u != NULL, "users_open: %s", e.msg);
    return u;
}

static void require_setup(void)
{
    ck_assert_msg(g_setup_err[0] == '\0', "setting up the test database failed: %s", g_setup_err);
}

/* ---- opening ------------------------------------------------------------------------- */

START_TEST(open_without_connection_url)
{
    support_env env;
    support_env_init(&env);
    support_env_set(&env, (const char *const[]){ "CONNECTION_URL=", NULL });
    errinfo e;
    users *u = users_open(NULL, &e);
    char db[64];
    int rc = users_conninfo_db(NULL, db, sizeof db, NULL);
    support_env_restore(&env);
    ck_assert_ptr_null(u);
    ck_assert_int_eq(e.code, ERR_CONFIG);
    ck_assert_msg(strstr(e.msg, "CONNECTION_URL"), "%s", e.msg);
    ck_assert_int_eq(rc, -1);
}
END_TEST

START_TEST(open_unreachable_names_server_not_password)
{
    errinfo e;
    users *u = users_open("postgresql://cruddur:hunter2secret@127.0.0.1:1/cruddur", &e);
    ck_assert_ptr_null(u);
    ck_assert_int_eq(e.code, ERR_IO);
    ck_assert_msg(strstr(e.msg, "not reachable at 127.0.0.1:1"), "%s", e.msg);
    ck_assert_msg(!strstr(e.msg, "hunter2"), "%s", e.msg);
}
END_TEST

START_TEST(open_bad_connection_string)
{
    errinfo e;
    ck_assert_ptr_null(users_open("this is not = a 'connection", &e));
    ck_assert_int_eq(e.code, ERR_CONFIG);
    ck_assert_ptr_null(users_open("postgresql://u:hunter2%zz@127.0.0.1/db", &e));
    ck_assert_int_eq(e.code, ERR_CONFIG);
    ck_assert_msg(!strstr(e.msg, "hunter2"), "%s", e.msg);
    char db[64];
    ck_assert_int_eq(users_conninfo_db("postgresql://u:p@127.0.0.1:5432", db, sizeof db, &e), -1);
    ck_assert_int_eq(e.code, ERR_CONFIG);
    ck_assert_int_eq(users_conninfo_db("postgresql://u:p@h:1/somedb", db, sizeof db, &e), 0);
    ck_assert_str_eq(db, "somedb");
    ck_assert_int_eq(users_conninfo_db("postgresql://u:p@h:1/somedb", db, 4, &e), -1);
    ck_assert_int_eq(e.code, ERR_TOOBIG);
}
END_TEST

START_TEST(open_missing_database)
{
    char url[4096];
    pg_conninfo("cruddur_no_such_database_x", "", url, sizeof url);
    errinfo e;
    ck_assert_ptr_null(users_open(url, &e));
    ck_assert_int_eq(e.code, ERR_NOTFOUND);
    ck_assert_msg(strstr(e.msg, "cruddur_no_such_database_x"), "%s", e.msg);
}
END_TEST

START_TEST(server_string_has_no_credentials)
{
    require_setup();
    users *u = open_ok(g_url);
    const char *s = users_server(u);
    ck_assert_msg(strchr(s, ':') && !strchr(s, '@') && !strstr(s, "password"), "%s", s);
    users_close(u);
    users_close(NULL);
}
END_TEST

/* ---- lookups ------------------------------------------------------------------------- */

START_TEST(by_handle_found)
{
    require_setup();
    users *u = open_ok(g_url);
    user x;
    errinfo e;
    ck_assert_msg(users_by_handle(u, "mira", &x, &e) == 0, "%s", e.msg);
    ck_assert_str_eq(x.uuid, "6f1c2c1e-3d4b-4a8e-9c61-2b7f0d5a9e11");
    ck_assert_str_eq(x.handle, "mira");
    ck_assert_str_eq(x.display_name, "Mira Okafor");
    ck_assert_str_eq(x.email, "mira@example.com");
    ck_assert_str_eq(x.cognito_user_id, "");
    ck_assert_msg(users_by_handle(u, "tomasz", &x, &e) == 0, "%s", e.msg);
    ck_assert_str_eq(x.uuid, "0b8e5c7a-91d2-4f37-8a44-c3e6d1f2a7b9");
    ck_assert_str_eq(x.display_name, "Tomasz Wierzba");
    users_close(u);
}
END_TEST

START_TEST(by_handle_not_found_leaves_out_alone)
{
    require_setup();
    users *u = open_ok(g_url);
    user x;
    memset(&x, 'z', sizeof x);
    x.uuid[0] = '\0';
    errinfo e;
    ck_assert_int_eq(users_by_handle(u, "nobody_here", &x, &e), -1);
    ck_assert_int_eq(e.code, ERR_NOTFOUND);
    ck_assert_msg(strstr(e.msg, "nobody_here"), "%s", e.msg);
    ck_assert_int_eq(x.handle[0], 'z');
    /* the longest valid handle: valid, just not there */
    ck_assert_int_eq(users_by_handle(u, "abcdefghijklmnopqrstuvwxyz0123", &x, &e), -1);
    ck_assert_int_eq(e.code, ERR_NOTFOUND);
    /* handles are exact */
    ck_assert_int_eq(users_by_handle(u, "Mira", &x, &e), -1);
    ck_assert_int_eq(e.code, ERR_NOTFOUND);
    users_close(u);
}
END_TEST

START_TEST(by_handle_invalid)
{
    require_setup();
    users *u = open_ok(g_url);
    static const char *bad[] = {
        "", "@mira", "mi ra", "mira\n", "mira;", "x' OR '1'='1", "mi/ra", "mi?ra", "m\xc3\xadra",
    };
    user x;
    errinfo e;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_int_eq(users_by_handle(u, bad[i], &x, &e), -1);
        ck_assert_msg(e.code == ERR_INVALID, "'%s': %s", bad[i], e.msg);
    }
    ck_assert_int_eq(users_by_handle(u, NULL, &x, &e), -1);
    ck_assert_int_eq(e.code, ERR_INVALID);
    /* nothing happened to the table */
    ck_assert_msg(users_by_handle(u, "lena", &x, &e) == 0, "%s", e.msg);
    users_close(u);
}
END_TEST

START_TEST(cognito_sub_set_and_found)
{
    require_setup();
    users *u = open_ok(g_url);
    char sub[64];
    live_name("sub", sub);
    user x;
    errinfo e;
    ck_assert_int_eq(users_by_cognito_sub(u, sub, &x, &e), -1);
    ck_assert_int_eq(e.code, ERR_NOTFOUND);
    ck_assert_msg(users_set_cognito_sub(u, "lena", sub, &e) == 0, "%s", e.msg);
    ck_assert_msg(users_by_cognito_sub(u, sub, &x, &e) == 0, "%s", e.msg);
    ck_assert_str_eq(x.handle, "lena");
    ck_assert_str_eq(x.uuid, "3a7d9e21-5c84-4b6f-b1e0-8f2c4d6a9b35");
    ck_assert_str_eq(x.cognito_user_id, sub);
    /* setting the same sub again is fine */
    ck_assert_msg(users_set_cognito_sub(u, "lena", sub, &e) == 0, "%s", e.msg);
    /* another user cannot take it; nothing changes */
    ck_assert_int_eq(users_set_cognito_sub(u, "dev", sub, &e), -1);
    ck_assert_int_eq(e.code, ERR_INVALID);
    ck_assert_msg(users_by_handle(u, "dev", &x, &e) == 0, "%s", e.msg);
    ck_assert_str_eq(x.cognito_user_id, "");
    users_close(u);
}
END_TEST

START_TEST(cognito_sub_errors)
{
    require_setup();
    users *u = open_ok(g_url);
    user x;
    errinfo e;
    ck_assert_int_eq(users_set_cognito_sub(u, "no_such_user", "abc-123", &e), -1);
    ck_assert_int_eq(e.code, ERR_NOTFOUND);
    ck_assert_int_eq(users_set_cognito_sub(u, "bad handle", "abc-123", &e), -1);
    ck_assert_int_eq(e.code, ERR_INVALID);
    ck_assert_int_eq(users_set_cognito_sub(u, "mira", "has space", &e), -1);
    ck_assert_int_eq(e.code, ERR_INVALID);
    ck_assert_int_eq(users_set_cognito_sub(u, "mira", "", &e), -1);
    ck_assert_int_eq(e.code, ERR_INVALID);
    ck_assert_int_eq(users_by_cognito_sub(u, "x'--", &x, &e), -1);
    ck_assert_int_eq(e.code, ERR_INVALID);
    ck_assert_int_eq(users_by_cognito_sub(u, NULL, &x, &e), -1);
    ck_assert_int_eq(e.code, ERR_INVALID);
    char longsub[80];
    memset(longsub, 'a', 64);
    longsub[64] = '\0';
    ck_assert_int_eq(users_by_cognito_sub(u, longsub, &x, &e), -1);
    ck_assert_int_eq(e.code, ERR_INVALID);
    ck_assert_msg(users_by_handle(u, "mira", &x, &e) == 0, "%s", e.msg);
    ck_assert_str_eq(x.cognito_user_id, "");
    users_close(u);
}
END_TEST

START_TEST(no_schema_names_the_next_step)
{
    require_setup();
    users *u = open_ok(g_empty_url);
    user x;
    errinfo e;
    ck_assert_int_eq(users_by_handle(u, "mira", &x, &e), -1);
    ck_assert_int_eq(e.code, ERR_SERVICE);
    ck_assert_msg(strstr(e.msg, "schema-load"), "%s", e.msg);
    long a = -1, p = -1;
    ck_assert_int_eq(users_seed(u, &a, &p, &e), -1);
    ck_assert_msg(strstr(e.msg, "schema-load"), "%s", e.msg);
    ck_assert_int_eq(a, -1);
    /* the connection is still good afterwards */
    ck_assert(users_ping(u));
    users_close(u);
}
END_TEST

/* ---- scripts ------------------------------------------------------------------------- */

START_TEST(run_file_and_seed_again)
{
    require_setup();
    users *u = open_ok(g_url);
    errinfo e;
    ck_assert_msg(users_run_file(u, "sql/schema.sql", &e) == 0, "%s", e.msg);
    ck_assert_msg(users_run_file(u, "sql/schema.sql", &e) == 0, "%s", e.msg);
    long added = -1, present = -1;
    ck_assert_msg(users_seed(u, &added, &present, &e) == 0, "%s", e.msg);
    ck_assert_int_eq(added, 0);
    ck_assert_int_eq(present, 4);
    ck_assert_int_eq(users_run_file(u, "sql/no_such_file.sql", &e), -1);
    ck_assert_int_eq(e.code, ERR_INTERNAL);
    ck_assert(users_ping(u));
    users_close(u);
}
END_TEST

/* ---- broken connections -------------------------------------------------------------- */

/* Ends every session on g_db from a second connection; how many. */
static size_t end_sessions_on_test_db(void)
{
    errinfo e;
    users *m = users_open_db(NULL, "postgres", &e);
    ck_assert_msg(m != NULL, "%s", e.msg);
    size_t ended = 0;
    ck_assert_msg(users_end_sessions(m, g_db, &ended, &e) == 0, "%s", e.msg);
    users_close(m);
    return ended;
}

START_TEST(ping_resets_after_server_ended_session)
{
    require_setup();
    users *u = open_ok(g_url);
    ck_assert(users_ping(u));
    ck_assert_uint_ge(end_sessions_on_test_db(), 1);
    ck_assert(users_ping(u));
    /* the ping itself reconnected: the server sees our session again before any query */
    errinfo e;
    users *m = users_open_db(NULL, "postgres", &e);
    ck_assert_msg(m != NULL, "%s", e.msg);
    users_session s[2];
    size_t count = 0;
    ck_assert_msg(users_db_sessions(m, g_db, s, 2, &count, &e) == 0, "%s", e.msg);
    ck_assert_uint_eq(count, 1);
    users_close(m);
    user x;
    ck_assert_msg(users_by_handle(u, "tomasz", &x, &e) == 0, "%s", e.msg);
    ck_assert_str_eq(x.handle, "tomasz");
    users_close(u);
}
END_TEST

START_TEST(query_reconnects_once_after_server_ended_session)
{
    require_setup();
    users *u = open_ok(g_url);
    user x;
    errinfo e;
    ck_assert_msg(users_by_handle(u, "dev", &x, &e) == 0, "%s", e.msg);
    ck_assert_uint_ge(end_sessions_on_test_db(), 1);
    ck_assert_msg(users_by_handle(u, "dev", &x, &e) == 0, "%s", e.msg);
    ck_assert_str_eq(x.display_name, "Dev Patel");
    users_close(u);
}
END_TEST

/* ---- administration ------------------------------------------------------------------ */

START_TEST(admin_create_drop_sessions)
{
    require_setup();
    errinfo e;
    users *m = users_open_db(NULL, "postgres", &e);
    ck_assert_msg(m != NULL, "%s", e.msg);
    /* exists already */
    ck_assert_int_eq(users_create_db(m, g_db, &e), 1);
    ck_assert_msg(strstr(e.msg, "already exists"), "%s", e.msg);
    /* names that need quoting */
    const char *odd = g_odd_db;
    ck_assert_msg(users_create_db(m, odd, &e) == 0, "%s", e.msg);
    char url[4096];
    pg_conninfo(odd, "application_name='live_users_probe'", url, sizeof url);
    users *u = open_ok(url);
    users_session s[4];
    size_t count = 0;
    ck_assert_msg(users_db_sessions(m, odd, s, 4, &count, &e) == 0, "%s", e.msg);
    ck_assert_uint_eq(count, 1);
    ck_assert_str_eq(s[0].application_name, "live_users_probe");
    ck_assert_int_gt(s[0].pid, 0);
    ck_assert_int_eq(users_drop_db(m, odd, &e), 2);
    size_t ended = 0;
    ck_assert_msg(users_end_sessions(m, odd, &ended, &e) == 0, "%s", e.msg);
    ck_assert_uint_eq(ended, 1);
    ck_assert_msg(users_drop_db(m, odd, &e) == 0, "%s", e.msg);
    ck_assert_int_eq(users_drop_db(m, odd, &e), 1);
    ck_assert_msg(users_db_sessions(m, odd, s, 4, &count, &e) == 0, "%s", e.msg);
    ck_assert_uint_eq(count, 0);
    users_close(u);
    /* bad names, before any statement */
    ck_assert_int_eq(users_create_db(m, "", &e), -1);
    ck_assert_int_eq(e.code, ERR_INVALID);
    char longname[80];
    memset(longname, 'n', 64);
    longname[64] = '\0';
    ck_assert_int_eq(users_create_db(m, longname, &e), -1);
    ck_assert_int_eq(e.code, ERR_INVALID);
    ck_assert_int_eq(users_drop_db(m, NULL, &e), -1);
    ck_assert_int_eq(e.code, ERR_INVALID);
    users_close(m);
}
END_TEST

/* ---- the run ------------------------------------------------------------------------- */

static void setup_databases(void)
{
    errinfo e;
    users *m = users_open_db(NULL, "postgres", &e);
    if (!m) {
        snprintf(g_setup_err, sizeof g_setup_err, "maintenance connection: %s", e.msg);
        return;
    }
    users *u = NULL;
    long a, p;
    if (users_create_db(m, g_db, &e) != 0 || users_create_db(m, g_empty_db, &e) != 0) {
        snprintf(g_setup_err, sizeof g_setup_err, "create: %s", e.msg);
        goto out;
    }
    u = users_open(g_url, &e);
    if (!u || users_run_file(u, "sql/schema.sql", &e) != 0 || users_seed(u, &a, &p, &e) != 0)
        snprintf(g_setup_err, sizeof g_setup_err, "schema and seed: %s", e.msg);
    else if (a != 4 || p != 0)
        snprintf(g_setup_err, sizeof g_setup_err, "seed added %ld, present %ld", a, p);
out:
    users_close(u);
    users_close(m);
}

static void drop_databases(void)
{
    const char *dbs[] = { g_db, g_empty_db, g_odd_db };
    pg_drop_dbs(dbs, 3);
}

static Suite *users_suite(void)
{
    Suite *s = suite_create("users");
    TCase *tc = tcase_create("open");
    tcase_add_test(tc, open_without_connection_url);
    tcase_add_test(tc, open_unreachable_names_server_not_password);
    tcase_add_test(tc, open_bad_connection_string);
    tcase_add_test(tc, open_missing_database);
    tcase_add_test(tc, server_string_has_no_credentials);
    suite_add_tcase(s, tc);
    tc = tcase_create("lookups");
    tcase_add_test(tc, by_handle_found);
    tcase_add_test(tc, by_handle_not_found_leaves_out_alone);
    tcase_add_test(tc, by_handle_invalid);
    tcase_add_test(tc, cognito_sub_set_and_found);
    tcase_add_test(tc, cognito_sub_errors);
    tcase_add_test(tc, no_schema_names_the_next_step);
    suite_add_tcase(s, tc);
    tc = tcase_create("scripts");
    tcase_add_test(tc, run_file_and_seed_again);
    suite_add_tcase(s, tc);
    tc = tcase_create("reconnect");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, ping_resets_after_server_ended_session);
    tcase_add_test(tc, query_reconnects_once_after_server_ended_session);
    suite_add_tcase(s, tc);
    tc = tcase_create("admin");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, admin_create_drop_sessions);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    pg_require();
    live_name("cruddur_users", g_db);
    live_name("cruddur_users_empty", g_empty_db);
    char tmp[64];
    live_name("cr\"q'x", tmp);
    snprintf(g_odd_db, sizeof g_odd_db, "%.40s Ab", tmp);
    pg_conninfo(g_db, "", g_url, sizeof g_url);
    pg_conninfo(g_empty_db, "", g_empty_url, sizeof g_empty_url);
    setup_databases();
    int rc = tap_run(users_suite());
    drop_databases();
    return rc;
}
