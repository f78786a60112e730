/* live_cli_db.c — `cruddur db` as a user runs it, against the real PostgreSQL of
 * CONNECTION_URL: create, drop (busy, forced, unconfirmed), schema-load, seed, setup, and
 * the errors (no CONNECTION_URL, unreachable server, usage). Each test works in its own
 * database; all are dropped at the end, whatever the outcome. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "cli_run.h"
#include "live.h"
#include "pg.h"
#include "tap.h"
#include "users/users.h"

enum {
    DB_CREATE,
    DB_SCHEMA,
    DB_SEED,
    DB_NOSCHEMA,
    DB_SETUP,
    DB_BUSY,
    DB_NOYES,
    DB_MISSING,
    DB_SESSIONS,
    DB_PROD,
    DB_LEGACY,
    DB_COUNT
};

static char g_db[DB_COUNT][64];
static char g_env[DB_COUNT][4200];      /* "CONNECTION_URL=<conninfo of g_db[i]>" */
static const char *g_envp[DB_COUNT][2]; /* { g_env[i], NULL } for cli_run */

/* Whether database i exists (a connection to it works). */
static bool db_exists(int i)
{
    errinfo e;
    users *u = users_open(g_env[i] + strlen("CONNECTION_URL="), &e);
    if (!u)
        ck_assert_msg(e.code == ERR_NOTFOUND, "unexpected: %s", e.msg);
    users_close(u);
    return u != NULL;
}

#define has(b, s) ck_assert_msg(strstr(buf_cstr(b), (s)), "no '%s' in: %s", (s), buf_cstr(b))
#define hasnt(b, s) ck_assert_msg(!strstr(buf_cstr(b), (s)), "'%s' in: %s", (s), buf_cstr(b))

/* cruddur db ARGS with CONNECTION_URL naming database i */
#define run_on(r, i, ...) cli_run((r), g_envp[i], NULL, "db", __VA_ARGS__, NULL)

/* the same, asserting exit 0, the output dropped */
#define run_ok_on(i, ...)                                                                          \
    do {                                                                                           \
        cli_result ok_;                                                                            \
        run_on(&ok_, i, __VA_ARGS__);                                                              \
        cli_assert_status(&ok_, 0);                                                                \
        cli_result_cleanup(&ok_);                                                                  \
    } while (0)

/* ---- create --------------------------------------------------------------------------- */

START_TEST(create_then_exists)
{
    cli_result r;
    ck_assert(!db_exists(DB_CREATE));
    run_on(&r, DB_CREATE, "create");
    cli_assert_status(&r, 0);
    has(&r.out, "created");
    has(&r.out, g_db[DB_CREATE]);
    cli_result_cleanup(&r);
    ck_assert(db_exists(DB_CREATE));

    run_on(&r, DB_CREATE, "create");
    cli_assert_status(&r, 1);
    has(&r.err, "already exists");
    has(&r.err, g_db[DB_CREATE]);
    cli_result_cleanup(&r);
    ck_assert(db_exists(DB_CREATE));
}
END_TEST

/* ---- schema-load and seed ------------------------------------------------------------- */

START_TEST(schema_load_twice)
{
    cli_result r;
    run_ok_on(DB_SCHEMA, "create");
    for (int i = 0; i < 2; i++) {
        run_on(&r, DB_SCHEMA, "schema-load");
        cli_assert_status(&r, 0);
        has(&r.out, "schema loaded");
        ck_assert_uint_eq(r.err.len, 0); /* no NOTICE chatter the second time */
        cli_result_cleanup(&r);
    }
    errinfo e;
    users *u = users_open(g_env[DB_SCHEMA] + strlen("CONNECTION_URL="), &e);
    ck_assert_msg(u != NULL, "%s", e.msg);
    user x;
    ck_assert_int_eq(users_by_handle(u, "mira", &x, &e), -1);
    ck_assert_msg(e.code == ERR_NOTFOUND, "%s", e.msg); /* the table is there, empty */
    users_close(u);
}
END_TEST

START_TEST(seed_twice)
{
    cli_result r;
    run_ok_on(DB_SEED, "create");
    run_ok_on(DB_SEED, "schema-load");

    run_on(&r, DB_SEED, "seed");
    cli_assert_status(&r, 0);
    has(&r.out, "4 users added, 0 already present");
    cli_result_cleanup(&r);
    run_on(&r, DB_SEED, "seed");
    cli_assert_status(&r, 0);
    has(&r.out, "0 users added, 4 already present");
    cli_result_cleanup(&r);

    errinfo e;
    users *u = users_open(g_env[DB_SEED] + strlen("CONNECTION_URL="), &e);
    ck_assert_msg(u != NULL, "%s", e.msg);
    user x;
    ck_assert_msg(users_by_handle(u, "tomasz", &x, &e) == 0, "%s", e.msg);
    ck_assert_str_eq(x.uuid, "0b8e5c7a-91d2-4f37-8a44-c3e6d1f2a7b9");
    users_close(u);
}
END_TEST

START_TEST(seed_without_schema_names_next_step)
{
    cli_result r;
    run_ok_on(DB_NOSCHEMA, "create");
    run_on(&r, DB_NOSCHEMA, "seed");
    cli_assert_status(&r, 1);
    has(&r.err, "cruddur db schema-load");
    cli_result_cleanup(&r);
}
END_TEST

START_TEST(missing_database_names_next_step)
{
    cli_result r;
    const char *subs[] = { "schema-load", "seed" };
    for (size_t i = 0; i < 2; i++) {
        run_on(&r, DB_MISSING, subs[i]);
        cli_assert_status(&r, 1);
        has(&r.err, "does not exist");
        has(&r.err, "cruddur db create");
        cli_result_cleanup(&r);
    }
    /* dropping what is not there is not an error */
    run_on(&r, DB_MISSING, "drop", "--yes");
    cli_assert_status(&r, 0);
    has(&r.out, "does not exist");
    cli_result_cleanup(&r);
    ck_assert(!db_exists(DB_MISSING));
}
END_TEST

/* ---- setup ---------------------------------------------------------------------------- */

START_TEST(setup_fresh_then_again)
{
    cli_result r;
    ck_assert(!db_exists(DB_SETUP));
    run_on(&r, DB_SETUP, "setup");
    cli_assert_status(&r, 0);
    has(&r.out, "postgres: database ");
    has(&r.out, " created ");
    has(&r.out, "schema ok; 4 users added (0 present)");
    cli_result_cleanup(&r);

    run_on(&r, DB_SETUP, "setup");
    cli_assert_status(&r, 0);
    has(&r.out, " exists ");
    has(&r.out, "schema ok; 0 users added (4 present)");
    cli_result_cleanup(&r);

    /* seed and schema-load afterwards change nothing */
    run_on(&r, DB_SETUP, "seed");
    cli_assert_status(&r, 0);
    has(&r.out, "0 users added, 4 already present");
    cli_result_cleanup(&r);
}
END_TEST

/* ---- drop ----------------------------------------------------------------------------- */

START_TEST(drop_refused_while_busy_then_forced)
{
    cli_result r;
    run_ok_on(DB_BUSY, "create");

    char url[4200];
    pg_conninfo(g_db[DB_BUSY], "application_name='live_cli_db_holder'", url, sizeof url);
    errinfo e;
    users *holder = users_open(url, &e);
    ck_assert_msg(holder != NULL, "%s", e.msg);

    run_on(&r, DB_BUSY, "drop", "--yes");
    cli_assert_status(&r, 1);
    has(&r.err, "1 other session");
    has(&r.err, "live_cli_db_holder");
    has(&r.err, "--force");
    cli_result_cleanup(&r);
    ck_assert(users_ping(holder));
    ck_assert(db_exists(DB_BUSY));

    run_on(&r, DB_BUSY, "drop", "--force", "--yes");
    cli_assert_status(&r, 0);
    has(&r.out, "ended 1 session");
    has(&r.out, "dropped");
    cli_result_cleanup(&r);
    ck_assert(!db_exists(DB_BUSY));
    users_close(holder);
}
END_TEST

START_TEST(drop_without_yes_and_no_terminal_is_refused)
{
    cli_result r;
    run_ok_on(DB_NOYES, "create");

    run_on(&r, DB_NOYES, "drop");
    cli_assert_status(&r, 1);
    has(&r.err, "--yes");
    cli_result_cleanup(&r);
    run_on(&r, DB_NOYES, "drop", "--force");
    cli_assert_status(&r, 1);
    has(&r.err, "--yes");
    cli_result_cleanup(&r);
    ck_assert(db_exists(DB_NOYES));

    /* short options */
    run_on(&r, DB_NOYES, "drop", "-fy");
    cli_assert_status(&r, 0);
    has(&r.out, "dropped");
    cli_result_cleanup(&r);
    ck_assert(!db_exists(DB_NOYES));
}
END_TEST

/* ---- configuration errors ------------------------------------------------------------- */

START_TEST(missing_connection_url)
{
    const char *const env[] = { "CONNECTION_URL=", NULL };
    const char *subs[][3] = {
        { "create" }, { "drop", "--yes" }, { "schema-load" }, { "seed" }, { "setup" }
    };
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++) {
        cli_result r;
        cli_run(&r, env, NULL, "db", subs[i][0], subs[i][1], NULL);
        cli_assert_status(&r, 1);
        has(&r.err, "CONNECTION_URL is not set");
        has(&r.err, "script/server env");
        cli_result_cleanup(&r);
    }
    cli_result r;
    const char *const bad[] = { "CONNECTION_URL=not a connection = 'string", NULL };
    cli_run(&r, bad, NULL, "db", "setup", NULL);
    cli_assert_status(&r, 1);
    has(&r.err, "CONNECTION_URL");
    cli_result_cleanup(&r);
}
END_TEST

START_TEST(unreachable_server)
{
    const char *const env[] = {
        "CONNECTION_URL=postgresql://cruddur:hunter2secret@127.0.0.1:1/cruddur", NULL
    };
    const char *subs[][3] = {
        { "create" }, { "drop", "--yes" }, { "schema-load" }, { "seed" }, { "setup" }
    };
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++) {
        cli_result r;
        cli_run(&r, env, NULL, "db", subs[i][0], subs[i][1], NULL);
        cli_assert_status(&r, 1);
        has(&r.err, "PostgreSQL not reachable at 127.0.0.1:1");
        has(&r.err, "is the stack up? (script/server)");
        hasnt(&r.err, "hunter2");
        hasnt(&r.out, "hunter2");
        cli_result_cleanup(&r);
    }
}
END_TEST

/* ---- usage ---------------------------------------------------------------------------- */

START_TEST(usage_errors_exit_2)
{
    const char *cases[][3] = {
        { NULL }, /* cruddur db */
        { "bogus" },
        { "--bogus" },
        { "create", "--bogus" },
        { "create", "extra" },
        { "drop", "--forse" },
        { "drop", "-x" },
        { "drop", "name" },
        { "seed", "--yes" },
        { "setup", "--force" },
        { "schema-load", "x" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cli_result r;
        cli_run(&r, NULL, NULL, "db", cases[i][0], cases[i][1], NULL);
        cli_assert_status(&r, 2);
        has(&r.err, "--help");
        ck_assert_uint_eq(r.out.len, 0);
        cli_result_cleanup(&r);
    }
}
END_TEST

START_TEST(help_is_complete)
{
    cli_result r;
    cli_run(&r, NULL, NULL, "db", "--help", NULL);
    cli_assert_status(&r, 0);
    const char *words[] = { "create",  "drop",  "schema-load", "seed",          "setup",
                            "--force", "--yes", "--help",      "CONNECTION_URL" };
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        has(&r.out, words[i]);
    cli_result_cleanup(&r);

    cli_run(&r, NULL, NULL, "db", "drop", "--help", NULL);
    cli_assert_status(&r, 0);
    has(&r.out, "--force");
    has(&r.out, "-f");
    has(&r.out, "--yes");
    has(&r.out, "-y");
    has(&r.out, "--help");
    cli_result_cleanup(&r);

    const char *subs[] = { "create", "schema-load", "seed", "setup" };
    for (size_t i = 0; i < 4; i++) {
        cli_run(&r, NULL, NULL, "db", subs[i], "-h", NULL);
        cli_assert_status(&r, 0);
        has(&r.out, "Usage: cruddur db ");
        has(&r.out, subs[i]);
        has(&r.out, "--help");
        cli_result_cleanup(&r);
    }
    /* help needs no configuration and touches nothing */
    const char *const env[] = { "CONNECTION_URL=", NULL };
    cli_run(&r, env, NULL, "db", "drop", "--force", "--help", NULL);
    cli_assert_status(&r, 0);
    cli_result_cleanup(&r);
}
END_TEST

/* ---- sessions, connect, prod (the original's bin/db/sessions, connect, `setup prod`) ---- */

START_TEST(sessions_lists_who_is_connected)
{
    cli_result r;
    run_on(&r, DB_SESSIONS, "create");
    cli_assert_status(&r, 0);
    cli_result_cleanup(&r);
    char url[4200];
    pg_conninfo(g_db[DB_SESSIONS], "application_name='live_cli_db_probe'", url, sizeof url);
    errinfo e;
    users *probe = users_open(url, &e);
    ck_assert_msg(probe != NULL, "%s", e.msg);
    run_on(&r, DB_SESSIONS, "sessions");
    cli_assert_status(&r, 0);
    has(&r.out, "1 session connected to ");
    has(&r.out, g_db[DB_SESSIONS]);
    has(&r.out, "live_cli_db_probe");
    cli_result_cleanup(&r);
    users_close(probe);
    for (int i = 0; i < 50; i++) { /* the backend may take a moment to go */
        run_on(&r, DB_SESSIONS, "sessions");
        cli_assert_status(&r, 0);
        if (strstr(buf_cstr(&r.out), "0 sessions connected"))
            break;
        cli_result_cleanup(&r);
        usleep(100000);
    }
    has(&r.out, "0 sessions connected");
    hasnt(&r.out, "live_cli_db_probe");
    cli_result_cleanup(&r);
}
END_TEST

START_TEST(connect_runs_psql_with_the_settings_in_its_environment)
{
    cli_result r;
    /* the real psql, reading SQL from stdin */
    cli_run(&r, g_envp[DB_SETUP], "select 'live-' || (40 + 2) || '-' || current_database();\n",
            "db", "connect", NULL);
    cli_assert_status(&r, 0);
    char want[128];
    snprintf(want, sizeof want, "live-42-%s", g_db[DB_SETUP]);
    has(&r.out, want);
    cli_result_cleanup(&r);
    /* what psql gets: no arguments (no password on a command line), PG* variables, and no
     * CONNECTION_URL */
    char dir[] = "/tmp/cr-live-psql.XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char path[512], fake[600];
    snprintf(fake, sizeof fake, "%s/psql", dir);
    FILE *f = fopen(fake, "w");
    ck_assert_ptr_nonnull(f);
    fputs("#!/bin/sh\necho \"args=$# db=$PGDATABASE url=${CONNECTION_URL:-none}\"\n", f);
    fclose(f);
    chmod(fake, 0755);
    snprintf(path, sizeof path, "PATH=%s:%s", dir, getenv("PATH") ? getenv("PATH") : "/usr/bin");
    const char *env[] = { g_env[DB_SETUP], path, NULL };
    cli_run(&r, env, NULL, "db", "connect", NULL);
    cli_assert_status(&r, 0);
    char line[256];
    snprintf(line, sizeof line, "args=0 db=%s url=none", g_db[DB_SETUP]);
    has(&r.out, line);
    cli_result_cleanup(&r);
    unlink(fake);
    rmdir(dir);
}
END_TEST

START_TEST(prod_takes_prod_connection_url)
{
    cli_result r;
    char prod[4300];
    snprintf(prod, sizeof prod, "PROD_%s", g_env[DB_PROD]);
    /* CONNECTION_URL names a server nobody runs: only PROD_CONNECTION_URL can work */
    const char *env[] = { "CONNECTION_URL=postgresql://nobody@127.0.0.1:1/nothing", prod, NULL };
    ck_assert(!db_exists(DB_PROD));
    cli_run(&r, env, NULL, "db", "setup", "prod", NULL); /* as bin/db/setup prod */
    cli_assert_status(&r, 0);
    has(&r.out, g_db[DB_PROD]);
    has(&r.out, "4 users added");
    cli_result_cleanup(&r);
    ck_assert(db_exists(DB_PROD));
    cli_run(&r, env, NULL, "db", "seed", "--prod", NULL);
    cli_assert_status(&r, 0);
    has(&r.out, "0 users added, 4 already present");
    cli_result_cleanup(&r);
    cli_run(&r, env, NULL, "db", "sessions", "prod", NULL);
    cli_assert_status(&r, 0);
    has(&r.out, g_db[DB_PROD]);
    cli_result_cleanup(&r);
    /* no PROD_CONNECTION_URL: a clear error, nothing touched */
    const char *noprod[] = { g_env[DB_PROD], "PROD_CONNECTION_URL=", NULL };
    cli_run(&r, noprod, NULL, "db", "seed", "prod", NULL);
    cli_assert_status(&r, 1);
    has(&r.err, "PROD_CONNECTION_URL is not set");
    cli_result_cleanup(&r);
    /* another last word is still an unexpected argument */
    cli_run(&r, env, NULL, "db", "seed", "production", NULL);
    cli_assert_status(&r, 2);
    has(&r.err, "unexpected argument 'production'");
    cli_result_cleanup(&r);
}
END_TEST

/* A users table as the original Cruddur made it (no rules): `db check` lists the rows the
 * rules refuse, schema-load widens an older handle rule without touching the rows, and a
 * dotted handle ("andrew.brown", as Cognito pools hold them) is a user like any other. */
START_TEST(check_lists_what_an_older_table_breaks)
{
    cli_result r;
    run_on(&r, DB_LEGACY, "create");
    cli_assert_status(&r, 0);
    cli_result_cleanup(&r);
    errinfo e;
    users *u = users_open(g_env[DB_LEGACY] + strlen("CONNECTION_URL="), &e);
    ck_assert_msg(u != NULL, "%s", e.msg);
    users_close(u);
    PGconn *c = PQconnectdb(g_env[DB_LEGACY] + strlen("CONNECTION_URL="));
    ck_assert_int_eq(PQstatus(c), CONNECTION_OK);
    PGresult *res = PQexec(
        c,
        "CREATE TABLE public.users (uuid uuid DEFAULT gen_random_uuid() PRIMARY KEY,"
        " display_name text NOT NULL, handle text NOT NULL, email text NOT NULL,"
        " cognito_user_id text NOT NULL, created_at timestamp DEFAULT current_timestamp NOT NULL);"
        "INSERT INTO users (display_name, handle, email, cognito_user_id) VALUES"
        " ('Andrew Brown', 'andrewbrown', 'andrew@example.com', 'MOCK'),"
        " ('Bad Handle', 'bad handle', 'bad@example.com', 'MOCK'),"
        " ('', 'noname', 'noname@example.com', 'MOCK');"
        /* and, as an earlier version of this schema had it, the narrow handle rule */
        "ALTER TABLE users ADD CONSTRAINT users_handle_format"
        " CHECK (handle ~ '^[A-Za-z0-9_]{1,30}$') NOT VALID;");
    ck_assert_msg(PQresultStatus(res) == PGRES_COMMAND_OK, "%s", PQerrorMessage(c));
    PQclear(res);
    run_on(&r, DB_LEGACY, "check");
    cli_assert_status(&r, 1);
    has(&r.out, "2 rows of users in ");
    has(&r.out, "bad handle");
    has(&r.out, "display_name");
    hasnt(&r.out, "andrewbrown");
    cli_result_cleanup(&r);
    /* the old rule refuses a dotted handle; schema-load widens it (rows stay as they are) */
    res = PQexec(c, "INSERT INTO users (display_name, handle, email, cognito_user_id) VALUES"
                    " ('Andrew Dot', 'andrew.brown', 'dot@example.com', 'MOCK')");
    ck_assert_int_eq(PQresultStatus(res), PGRES_FATAL_ERROR);
    PQclear(res);
    run_on(&r, DB_LEGACY, "schema-load");
    cli_assert_status(&r, 0);
    cli_result_cleanup(&r);
    res = PQexec(c, "INSERT INTO users (display_name, handle, email, cognito_user_id) VALUES"
                    " ('Andrew Dot', 'andrew.brown', 'dot@example.com', 'MOCK')");
    ck_assert_msg(PQresultStatus(res) == PGRES_COMMAND_OK, "%s", PQerrorMessage(c));
    PQclear(res);
    res = PQexec(c, "INSERT INTO users (display_name, handle, email, cognito_user_id) VALUES"
                    " ('Space', 'still bad', 'space@example.com', 'MOCK')");
    ck_assert_int_eq(PQresultStatus(res), PGRES_FATAL_ERROR); /* the new rule holds */
    PQclear(res);
    PQfinish(c);
    u = users_open(g_env[DB_LEGACY] + strlen("CONNECTION_URL="), &e);
    ck_assert_msg(u != NULL, "%s", e.msg);
    user me;
    ck_assert_msg(users_by_handle(u, "andrew.brown", &me, &e) == 0, "%s", e.msg);
    ck_assert_str_eq(me.display_name, "Andrew Dot");
    users_close(u);
    run_on(&r, DB_LEGACY, "check");
    cli_assert_status(&r, 1);
    has(&r.out, "2 rows of users"); /* the same two; andrew.brown passes */
    hasnt(&r.out, "andrew.brown");
    cli_result_cleanup(&r);
    /* a table made by this schema passes */
    run_on(&r, DB_SETUP, "check");
    cli_assert_status(&r, 0);
    has(&r.out, "passes the schema's rules");
    cli_result_cleanup(&r);
}
END_TEST

/* ---- the run -------------------------------------------------------------------------- */

static void drop_databases(void)
{
    const char *dbs[DB_COUNT];
    for (int i = 0; i < DB_COUNT; i++)
        dbs[i] = g_db[i];
    pg_drop_dbs(dbs, DB_COUNT);
}

static Suite *cli_db_suite(void)
{
    Suite *s = suite_create("cli_db");
    TCase *tc = tcase_create("create");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, create_then_exists);
    suite_add_tcase(s, tc);
    tc = tcase_create("schema_and_seed");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, schema_load_twice);
    tcase_add_test(tc, seed_twice);
    tcase_add_test(tc, seed_without_schema_names_next_step);
    tcase_add_test(tc, missing_database_names_next_step);
    suite_add_tcase(s, tc);
    tc = tcase_create("setup");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, setup_fresh_then_again);
    suite_add_tcase(s, tc);
    tc = tcase_create("drop");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, drop_refused_while_busy_then_forced);
    tcase_add_test(tc, drop_without_yes_and_no_terminal_is_refused);
    suite_add_tcase(s, tc);
    tc = tcase_create("sessions_connect_prod");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, sessions_lists_who_is_connected);
    tcase_add_test(tc, connect_runs_psql_with_the_settings_in_its_environment);
    tcase_add_test(tc, prod_takes_prod_connection_url);
    tcase_add_test(tc, check_lists_what_an_older_table_breaks);
    suite_add_tcase(s, tc);
    tc = tcase_create("errors");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, missing_connection_url);
    tcase_add_test(tc, unreachable_server);
    tcase_add_test(tc, usage_errors_exit_2);
    tcase_add_test(tc, help_is_complete);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    pg_require();
    for (int i = 0; i < DB_COUNT; i++) {
        char conninfo[4096];
        live_name("cruddur_cli", g_db[i]);
        pg_conninfo(g_db[i], "", conninfo, sizeof conninfo);
        snprintf(g_env[i], sizeof g_env[i], "CONNECTION_URL=%s", conninfo);
        g_envp[i][0] = g_env[i];
        g_envp[i][1] = NULL;
    }
    int rc = tap_run(cli_db_suite());
    drop_databases();
    return rc;
}
