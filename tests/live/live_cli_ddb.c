/* live_cli_ddb.c — `cruddur ddb` as a user runs it, against the real DynamoDB Local (and
 * PostgreSQL for list-conversations): every subcommand, the bad input each must refuse
 * cleanly, and the DynamoDB step of `cruddur setup`. Each test uses its own table (named
 * from one per-run prefix, all dropped at the end) and the Postgres tests a database of
 * their own. */
#include "config.h"

#include <check.h>
#include <fcntl.h>
#include <pty.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "aws/ddb.h"
#include "aws/ddb_av.h"
#include "base/clock.h"
#include "cli/cli.h"
#include "cli_run.h"
#include "live.h"
#include "messaging/messaging.h"
#include "messaging/seed.h"
#include "support_env.h"
#include "tap.h"
#include "users/users.h"

static char prefix[64];        /* every table of this run starts with it */
static char pg_db[64];         /* the test database, "" when there is none */
static char pg_conninfo[2048]; /* CONNECTION_URL for it */
static char pg_error[512];     /* why there is none */

#define SAMPLE SEED_SAMPLE_GROUP_UUID

/* ---- helpers -------------------------------------------------------------------------------- */

static void table_name(char out[96], const char *suffix)
{
    snprintf(out, 96, "%s-%s", prefix, suffix);
}

typedef struct envset {
    char table[160];
    char endpoint[320];
    char conn[2100];
    const char *v[10];
} envset;

/* The CLI's environment: table, endpoint (NULL: the live one), CONNECTION_URL (NULL:
 * unset), a wide COLUMNS so rows are rarely cut. */
static const char *const *env_for(envset *s, const char *table, const char *endpoint,
                                  const char *conn)
{
    snprintf(s->table, sizeof s->table, "CRUDDUR_DDB_TABLE=%s", table);
    snprintf(s->endpoint, sizeof s->endpoint, "AWS_ENDPOINT_URL=%s",
             endpoint ? endpoint : live_ddb_endpoint());
    snprintf(s->conn, sizeof s->conn, "CONNECTION_URL=%s", conn ? conn : "");
    size_t i = 0;
    s->v[i++] = s->table;
    s->v[i++] = s->endpoint;
    s->v[i++] = "AWS_ENDPOINT_URL_DYNAMODB=";
    s->v[i++] = s->conn;
    s->v[i++] = "AWS_DEFAULT_REGION=us-east-1";
    s->v[i++] = "COLUMNS=200";
    s->v[i++] = "TZ=UTC";
    s->v[i] = NULL;
    return s->v;
}

static size_t count_lines(const buf *b)
{
    size_t n = 0;
    for (size_t i = 0; i < b->len; i++)
        n += b->data[i] == '\n';
    return n;
}

/* Items of table whose pk starts with pfx (a full Scan). */
static long count_items(const char *table, const char *pfx)
{
    ddb *d = live_ddb();
    ddb_page page;
    ddb_page_init(&page);
    json_t *start = NULL;
    long n = 0;
    for (;;) {
        ddb_query_options q = { .table = table, .start_key = start };
        ddb_error err;
        ck_assert_msg(ddb_scan(d, &q, &page, &err) == 0, "%s", err.info.msg);
        size_t i;
        json_t *it;
        json_array_foreach(page.items, i, it)
        {
            const char *pk = ddb_av_get_s(it, "pk");
            n += pk && strncmp(pk, pfx, strlen(pfx)) == 0;
        }
        json_decref(start);
        start = json_incref(page.last_key);
        if (!start)
            break;
    }
    ddb_page_cleanup(&page);
    ddb_free(d);
    return n;
}

static bool table_exists(const char *table)
{
    ddb *d = live_ddb();
    json_t *t = NULL;
    ddb_error err;
    int rc = ddb_describe_table(d, table, &t, &err);
    ck_assert_msg(rc == 0 || ddb_error_is(&err, "ResourceNotFoundException"), "%s", err.info.msg);
    json_decref(t);
    ddb_free(d);
    return rc == 0;
}

/* `cruddur ddb ARGS...` with the standard environment for table; asserts the status. */
#define run_ok(r, table, ...)                                                                      \
    do {                                                                                           \
        envset es_;                                                                                \
        cli_run((r), env_for(&es_, (table), NULL, NULL), NULL, "ddb", __VA_ARGS__, NULL);          \
        cli_assert_status((r), 0);                                                                 \
    } while (0)

static void schema_load(const char *table)
{
    cli_result r;
    run_ok(&r, table, "schema-load");
    ck_assert(strstr(buf_cstr(&r.out), "created table") != NULL);
    cli_result_cleanup(&r);
}

static void assert_err_has(const cli_result *r, const char *needle)
{
    ck_assert_msg(strstr(buf_cstr(&r->err), needle) != NULL, "stderr lacks '%s': %s", needle,
                  buf_cstr(&r->err));
}

/* ---- help and usage -------------------------------------------------------------------------- */

START_TEST(help_is_complete)
{
    static const char *const subs[] = {
        "schema-load",       "drop", "list-tables", "scan", "seed", "get-conversation",
        "list-conversations"
    };
    cli_result r;
    cli_run(&r, NULL, NULL, "ddb", "--help", NULL);
    cli_assert_status(&r, 0);
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++)
        ck_assert_msg(strstr(buf_cstr(&r.out), subs[i]), "group help lacks %s", subs[i]);
    cli_result_cleanup(&r);
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++) {
        char want[64];
        snprintf(want, sizeof want, "Usage: cruddur ddb %s", subs[i]);
        cli_run(&r, NULL, NULL, "ddb", subs[i], "--help", NULL);
        cli_assert_status(&r, 0);
        ck_assert_msg(strncmp(buf_cstr(&r.out), want, strlen(want)) == 0, "%s --help: %s", subs[i],
                      buf_cstr(&r.out));
        ck_assert(strstr(buf_cstr(&r.out), "--prod") != NULL);
        cli_result_cleanup(&r);
        cli_run(&r, NULL, NULL, "ddb", subs[i], "-h", NULL);
        cli_assert_status(&r, 0);
        cli_result_cleanup(&r);
    }
}
END_TEST

START_TEST(usage_errors_exit_2)
{
    cli_result r;
    cli_run(&r, NULL, NULL, "ddb", NULL);
    cli_assert_status(&r, 2);
    cli_result_cleanup(&r);
    cli_run(&r, NULL, NULL, "ddb", "frobnicate", NULL);
    cli_assert_status(&r, 2);
    assert_err_has(&r, "unknown subcommand");
    cli_result_cleanup(&r);
    cli_run(&r, NULL, NULL, "ddb", "scan", "--bogus", NULL);
    cli_assert_status(&r, 2);
    assert_err_has(&r, "--bogus");
    assert_err_has(&r, "cruddur ddb scan --help");
    cli_result_cleanup(&r);
    cli_run(&r, NULL, NULL, "ddb", "scan", "--limit", NULL);
    cli_assert_status(&r, 2);
    cli_result_cleanup(&r);
    cli_run(&r, NULL, NULL, "ddb", "list-tables", "extra", NULL);
    cli_assert_status(&r, 2);
    cli_result_cleanup(&r);
}
END_TEST

/* ---- schema-load, list-tables, drop ---------------------------------------------------------- */

START_TEST(schema_load_creates_the_table_once)
{
    char t[96];
    table_name(t, "schema");
    schema_load(t);
    /* the table of ddb-schema/: keys, GSI, stream */
    ddb *d = live_ddb();
    json_t *desc = NULL;
    ddb_error err;
    ck_assert_msg(ddb_describe_table(d, t, &desc, &err) == 0, "%s", err.info.msg);
    ck_assert_str_eq(
        json_string_value(json_object_get(
            json_array_get(json_object_get(desc, "GlobalSecondaryIndexes"), 0), "IndexName")),
        MESSAGING_GSI);
    json_t *spec = json_object_get(desc, "StreamSpecification");
    ck_assert(json_is_true(json_object_get(spec, "StreamEnabled")));
    ck_assert_str_eq(json_string_value(json_object_get(spec, "StreamViewType")), "NEW_IMAGE");
    json_decref(desc);
    /* time to live on the ttl attribute (expired idempotency records go away) */
    json_t *q = json_pack("{s:s}", "TableName", t), *ttl = NULL;
    ck_assert_msg(ddb_call(d, "DescribeTimeToLive", q, &ttl, &err) == 0, "%s", err.info.msg);
    json_t *tdesc = json_object_get(ttl, "TimeToLiveDescription");
    ck_assert_str_eq(json_string_value(json_object_get(tdesc, "TimeToLiveStatus")), "ENABLED");
    ck_assert_str_eq(json_string_value(json_object_get(tdesc, "AttributeName")),
                     MESSAGING_TTL_ATTRIBUTE);
    json_decref(ttl);
    json_decref(q);
    ddb_free(d);

    cli_result r;
    envset es;
    cli_run(&r, env_for(&es, t, NULL, NULL), NULL, "ddb", "schema-load", NULL);
    cli_assert_status(&r, 1);
    assert_err_has(&r, "already exists");
    cli_result_cleanup(&r);

    run_ok(&r, t, "list-tables");
    char line[100];
    snprintf(line, sizeof line, "%s\n", t);
    ck_assert(strstr(buf_cstr(&r.out), line) != NULL);
    cli_result_cleanup(&r);

    table_name(t, "nostream");
    run_ok(&r, t, "schema-load", "--no-stream");
    ck_assert(strstr(buf_cstr(&r.out), "no stream") != NULL);
    cli_result_cleanup(&r);
}
END_TEST

/* `cruddur ddb SUB prod`, as the original bin/ddb scripts took it, is --prod: real AWS, which
 * here (no region configured) stops before any request; without it the same command uses
 * the local endpoint. A table named prod stays a table name. */
START_TEST(positional_prod_means_real_aws)
{
    cli_result r;
    const char *const env[] = { "AWS_DEFAULT_REGION=", "AWS_REGION=", NULL };
    cli_run(&r, env, NULL, "ddb", "list-tables", "prod", NULL);
    cli_assert_status(&r, 1);
    assert_err_has(&r, "no AWS region");
    cli_result_cleanup(&r);
    cli_run(&r, env, NULL, "ddb", "schema-load", "prod", NULL);
    cli_assert_status(&r, 1);
    assert_err_has(&r, "no AWS region");
    cli_result_cleanup(&r);
    cli_run(&r, env, NULL, "ddb", "list-tables", NULL);
    cli_assert_status(&r, 0);
    cli_result_cleanup(&r);
    cli_run(&r, env, NULL, "ddb", "drop", "prod", NULL); /* the table "prod", locally */
    cli_assert_status(&r, 1);
    assert_err_has(&r, "--yes");
    ck_assert(!strstr(buf_cstr(&r.err), "no AWS region"));
    cli_result_cleanup(&r);
}
END_TEST

START_TEST(drop_asks_or_refuses)
{
    char t[96];
    table_name(t, "drop");
    schema_load(t);
    cli_result r;
    envset es;
    /* no terminal (stdin is a pipe) and no --yes: refused, table kept */
    cli_run(&r, env_for(&es, t, NULL, NULL), "y\n", "ddb", "drop", t, NULL);
    cli_assert_status(&r, 1);
    assert_err_has(&r, "--yes");
    cli_result_cleanup(&r);
    ck_assert(table_exists(t));

    cli_run(&r, env_for(&es, t, NULL, NULL), NULL, "ddb", "drop", NULL);
    cli_assert_status(&r, 2);
    cli_result_cleanup(&r);
    cli_run(&r, env_for(&es, t, NULL, NULL), NULL, "ddb", "drop", "no way!", "--yes", NULL);
    cli_assert_status(&r, 2);
    cli_result_cleanup(&r);
    ck_assert(table_exists(t));

    run_ok(&r, t, "drop", t, "--yes");
    ck_assert(strstr(buf_cstr(&r.out), "dropped table") != NULL);
    cli_result_cleanup(&r);
    ck_assert(!table_exists(t));

    cli_run(&r, env_for(&es, t, NULL, NULL), NULL, "ddb", "drop", "-y", t, NULL);
    cli_assert_status(&r, 1);
    assert_err_has(&r, "no table");
    cli_result_cleanup(&r);
}
END_TEST

/* ---- seed, scan, get-conversation ------------------------------------------------------------ */

START_TEST(seed_then_get_conversation)
{
    char t[96];
    table_name(t, "conv");
    schema_load(t);
    cli_result r;
    run_ok(&r, t, "seed");
    ck_assert(strstr(buf_cstr(&r.out), "40 messages") != NULL);
    cli_result_cleanup(&r);
    ck_assert_int_eq(count_items(t, "MSG#"), SEED_SAMPLE_MESSAGES);
    ck_assert_int_eq(count_items(t, "GRP#"), 2);

    /* the readable table: one row a message, oldest first, mira first and tomasz last */
    run_ok(&r, t, "get-conversation", SAMPLE);
    ck_assert_uint_eq(count_lines(&r.out), SEED_SAMPLE_MESSAGES);
    ck_assert(strncmp(buf_cstr(&r.out), "mira ", 5) == 0);
    const char *last = strrchr(buf_cstr(&r.out), '\n');
    while (last > buf_cstr(&r.out) && last[-1] != '\n')
        last--;
    ck_assert_msg(strncmp(last, "tomasz ", 7) == 0, "last row: %s", last);
    ck_assert(strstr(last, "Good night, Mira!") != NULL);
    cli_result_cleanup(&r);

    /* --json: the raw items in the same order */
    run_ok(&r, t, "get-conversation", SAMPLE, "--json");
    json_t *items = cli_json_lines(&r.out);
    cli_result_cleanup(&r);
    ck_assert_uint_eq(json_array_size(items), SEED_SAMPLE_MESSAGES);
    for (size_t i = 1; i < json_array_size(items); i++)
        ck_assert(strcmp(ddb_av_get_s(json_array_get(items, i - 1), "sk"),
                         ddb_av_get_s(json_array_get(items, i), "sk")) < 0);
    ck_assert(ddb_av_type_of(json_object_get(json_array_get(items, 0), "message")) == DDB_AV_S);

    /* --limit: the newest N */
    run_ok(&r, t, "get-conversation", "--limit", "5", "--json", SAMPLE);
    json_t *five = cli_json_lines(&r.out);
    cli_result_cleanup(&r);
    ck_assert_uint_eq(json_array_size(five), 5);
    for (size_t i = 0; i < 5; i++)
        ck_assert(json_equal(json_array_get(five, i),
                             json_array_get(items, SEED_SAMPLE_MESSAGES - 5 + i)));
    json_decref(five);
    json_decref(items);

    /* seeding again replaces the sample instead of doubling it */
    run_ok(&r, t, "seed");
    ck_assert(strstr(buf_cstr(&r.out), "replaced an earlier copy") != NULL);
    cli_result_cleanup(&r);
    ck_assert_int_eq(count_items(t, "MSG#"), SEED_SAMPLE_MESSAGES);
    ck_assert_int_eq(count_items(t, "GRP#"), 2);

    /* a group without messages */
    envset es;
    cli_run(&r, env_for(&es, t, NULL, NULL), NULL, "ddb", "get-conversation",
            "00000000-0000-4000-8000-000000000000", NULL);
    cli_assert_status(&r, 1);
    assert_err_has(&r, "no messages");
    cli_result_cleanup(&r);
}
END_TEST

START_TEST(scan_prints_every_item)
{
    char t[96];
    table_name(t, "scan");
    schema_load(t);
    cli_result r;
    run_ok(&r, t, "seed");
    cli_result_cleanup(&r);
    run_ok(&r, t, "scan");
    json_t *items = cli_json_lines(&r.out);
    ck_assert_uint_eq(json_array_size(items), SEED_SAMPLE_MESSAGES + 2);
    errinfo e;
    ck_assert_msg(ddb_av_validate_item(json_array_get(items, 0), &e) == 0, "%s", e.msg);
    json_decref(items);
    assert_err_has(&r, "42 items");
    cli_result_cleanup(&r);

    run_ok(&r, t, "scan", "--plain");
    items = cli_json_lines(&r.out);
    ck_assert_uint_eq(json_array_size(items), SEED_SAMPLE_MESSAGES + 2);
    ck_assert(json_is_string(json_object_get(json_array_get(items, 0), "pk")));
    json_decref(items);
    cli_result_cleanup(&r);

    run_ok(&r, t, "scan", "--table");
    ck_assert_uint_eq(count_lines(&r.out), SEED_SAMPLE_MESSAGES + 2);
    ck_assert(strstr(buf_cstr(&r.out), "MSG#" SAMPLE) != NULL);
    cli_result_cleanup(&r);

    run_ok(&r, t, "scan", "--limit", "3");
    ck_assert_uint_eq(count_lines(&r.out), 3);
    cli_result_cleanup(&r);
}
END_TEST

START_TEST(scan_refuses_remote_endpoints)
{
    char t[96];
    table_name(t, "remote");
    cli_result r;
    envset es;
    /* never contacted: refused before any request (".invalid" never resolves anyway) */
    int64_t t0 = clock_mono_ms();
    cli_run(&r, env_for(&es, t, "http://dynamodb.invalid:18000", NULL), NULL, "ddb", "scan", NULL);
    cli_assert_status(&r, 1);
    assert_err_has(&r, "--force");
    ck_assert_uint_eq(r.out.len, 0);
    ck_assert_int_lt(clock_mono_ms() - t0, 2000);
    cli_result_cleanup(&r);
    /* loopback spellings count as local: these reach the (missing) table */
    static const char *const locals[] = { "http://localhost:", "http://127.0.0.1:" };
    const char *port = strrchr(live_ddb_endpoint(), ':') + 1;
    for (size_t i = 0; i < 2; i++) {
        char ep[128];
        snprintf(ep, sizeof ep, "%s%s", locals[i], port);
        cli_run(&r, env_for(&es, t, ep, NULL), NULL, "ddb", "scan", NULL);
        cli_assert_status(&r, 1);
        assert_err_has(&r, "cruddur ddb schema-load");
        cli_result_cleanup(&r);
    }
}
END_TEST

/* ---- bad input -------------------------------------------------------------------------------- */

START_TEST(unknown_table_names_schema_load)
{
    char t[96];
    table_name(t, "missing");
    static const char *const cmds[][3] = {
        { "scan", NULL, NULL },
        { "seed", NULL, NULL },
        { "get-conversation", SAMPLE, NULL },
        { "list-conversations", "--uuid", "6f1c2c1e-3d4b-4a8e-9c61-2b7f0d5a9e11" },
        { "seed", "--users", "2" },
    };
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        cli_result r;
        envset es;
        if (i == 4)
            cli_run(&r, env_for(&es, t, NULL, NULL), NULL, "ddb", "seed", "--users", "2",
                    "--groups", "1", "--messages", "1", NULL);
        else
            cli_run(&r, env_for(&es, t, NULL, NULL), NULL, "ddb", cmds[i][0], cmds[i][1],
                    cmds[i][2], NULL);
        cli_assert_status(&r, 1);
        assert_err_has(&r, "cruddur ddb schema-load");
        cli_result_cleanup(&r);
    }
    ck_assert(!table_exists(t));
}
END_TEST

START_TEST(unreachable_endpoint_says_so)
{
    char t[96];
    table_name(t, "unreachable");
    static const char *const subs[] = { "list-tables", "scan", "schema-load" };
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++) {
        cli_result r;
        envset es;
        cli_run(&r, env_for(&es, t, "http://127.0.0.1:1", NULL), NULL, "ddb", subs[i], NULL);
        cli_assert_status(&r, 1);
        assert_err_has(&r, "not reachable at http://127.0.0.1:1");
        assert_err_has(&r, "is the stack up?");
        cli_result_cleanup(&r);
    }
}
END_TEST

START_TEST(malformed_uuids_exit_2)
{
    char t[96];
    table_name(t, "uuid");
    static const char *const bad[] = { "not-a-uuid", "4c1f9a3e7d2b4e85a6c03b9d8e2f1a57",
                                       "4c1f9a3e-7d2b-4e85-a6c0-3b9d8e2f1a5", "' OR 1=1 --" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cli_result r;
        envset es;
        cli_run(&r, env_for(&es, t, NULL, NULL), NULL, "ddb", "get-conversation", bad[i], NULL);
        cli_assert_status(&r, 2);
        assert_err_has(&r, "not a message group id");
        cli_result_cleanup(&r);
        cli_run(&r, env_for(&es, t, NULL, NULL), NULL, "ddb", "list-conversations", "--uuid",
                bad[i], NULL);
        cli_assert_status(&r, 2);
        cli_result_cleanup(&r);
    }
    cli_result r;
    envset es;
    cli_run(&r, env_for(&es, t, NULL, NULL), NULL, "ddb", "get-conversation", NULL);
    cli_assert_status(&r, 2);
    cli_result_cleanup(&r);
}
END_TEST

START_TEST(bad_seed_options_exit_2_and_write_nothing)
{
    char t[96];
    table_name(t, "badseed");
    schema_load(t);
    static const char *const cases[][8] = {
        { "--messages", "abc" },
        { "--users", "10", "--groups", "20", "--messages", "0" },
        { "--users", "10", "--groups", "20", "--messages", "-5" },
        { "--users", "10", "--groups", "20", "--messages", "5" },
        { "--users", "10", "--groups", "20", "--messages", "99999999999999999999" },
        { "--users", "10", "--groups", "20", "--messages", "12x" },
        { "--messages", "500" },
        { "--users", "1", "--groups", "1", "--messages", "1" },
        { "--dump" },
        { "--users", "10", "--groups", "2", "--messages", "5", "--connections", "0" },
        { "--users", "10", "--groups", "2", "--messages", "5", "--connections", "33" },
        { "--users", "10", "--groups", "2", "--messages", "5", "--end-time", "yesterday" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *args[12] = { "ddb", "seed" };
        size_t n = 2;
        for (size_t k = 0; k < 8 && cases[i][k]; k++)
            args[n++] = cases[i][k];
        args[n] = NULL;
        cli_result r;
        envset es;
        cli_runv(&r, env_for(&es, t, NULL, NULL), NULL, args);
        ck_assert_msg(r.status == 2, "case %zu: exit %d: %s", i, r.status, buf_cstr(&r.err));
        ck_assert(strstr(buf_cstr(&r.err), "cruddur ddb seed --help") != NULL);
        cli_result_cleanup(&r);
    }
    ck_assert_int_eq(count_items(t, ""), 0);
}
END_TEST

/* ---- the synthetic data set ------------------------------------------------------------------ */

START_TEST(large_seed_writes_exactly_the_set)
{
    char t[96];
    table_name(t, "bulk");
    schema_load(t);
    cli_result r;
    run_ok(&r, t, "seed", "--users", "10", "--groups", "20", "--messages", "500");
    ck_assert_msg(strstr(buf_cstr(&r.out), "seeded 540 items") != NULL, "%s", buf_cstr(&r.out));
    ck_assert(strstr(buf_cstr(&r.out), "items/s") != NULL);
    ck_assert(strchr(buf_cstr(&r.out), '\r') == NULL); /* no progress bar off a terminal */
    cli_result_cleanup(&r);
    ck_assert_int_eq(count_items(t, "MSG#"), 500);
    ck_assert_int_eq(count_items(t, "GRP#"), 40);

    /* the same options write the same items: nothing new */
    run_ok(&r, t, "seed", "--users", "10", "--groups", "20", "--messages", "500", "--end-time",
           "2026-11-21T09:30:00.000000+00:00", "--connections", "1");
    ck_assert(strstr(buf_cstr(&r.out), "over 1 connection\n") != NULL);
    cli_result_cleanup(&r);
    run_ok(&r, t, "seed", "--users", "10", "--groups", "20", "--messages", "500", "--end-time",
           "2026-11-21T09:30:00.000000+00:00", "--connections", "8");
    cli_result_cleanup(&r);
    ck_assert_int_eq(count_items(t, "MSG#"), 1000);
    ck_assert_int_eq(count_items(t, "GRP#"), 80);

    /* --dump prints the items the load writes, without a table */
    envset es;
    cli_run(&r, env_for(&es, "no-such-table-needed", "http://127.0.0.1:1", NULL), NULL, "ddb",
            "seed", "--users", "3", "--groups", "2", "--messages", "4", "--dump", NULL);
    cli_assert_status(&r, 0);
    json_t *items = cli_json_lines(&r.out);
    ck_assert_uint_eq(json_array_size(items), 8);
    json_decref(items);
    cli_result_cleanup(&r);
}
END_TEST

/* On a terminal the large seed draws a progress bar (tested through a pseudo-terminal;
 * off a terminal there is none, see above). */
START_TEST(large_seed_shows_progress_on_a_terminal)
{
    char t[96];
    table_name(t, "tty");
    schema_load(t);
    envset es;
    const char *const *env = env_for(&es, t, NULL, NULL);
    char exe[1100];
    const char *bd = getenv("CR_BUILDDIR");
    snprintf(exe, sizeof exe, "%s/src/cli/cruddur", bd && *bd ? bd : ".");
    int master;
    pid_t pid = forkpty(&master, NULL, NULL, NULL);
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        support_env_apply(env);
        execl(exe, exe, "ddb", "seed", "--users", "5", "--groups", "10", "--messages", "300",
              (char *)NULL);
        _exit(127);
    }
    buf out;
    buf_init(&out, 1 << 20);
    char chunk[4096];
    ssize_t n;
    while ((n = read(master, chunk, sizeof chunk)) > 0) /* EIO once the child is gone */
        buf_append(&out, chunk, (size_t)n);
    close(master);
    int st = 0;
    waitpid(pid, &st, 0);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %d: %s", st, buf_cstr(&out));
    const char *o = buf_cstr(&out);
    ck_assert_msg(strchr(o, '\r') != NULL && strstr(o, "[#") != NULL && strstr(o, "%") != NULL,
                  "no progress bar on a terminal: %s", o);
    ck_assert_msg(strstr(o, "seeded 320 items") != NULL, "%s", o);
    buf_cleanup(&out);
    ck_assert_int_eq(count_items(t, "MSG#"), 300);
}
END_TEST

START_TEST(stream_off_reenables_with_a_new_arn)
{
    char t[96];
    table_name(t, "streamoff");
    schema_load(t);
    ddb *d = live_ddb();
    json_t *desc = NULL;
    ddb_error err;
    ck_assert(ddb_describe_table(d, t, &desc, &err) == 0);
    char before[512];
    snprintf(before, sizeof before, "%s",
             json_string_value(json_object_get(desc, "LatestStreamArn")));
    json_decref(desc);

    cli_result r;
    run_ok(&r, t, "seed", "--users", "5", "--groups", "5", "--messages", "60", "--stream-off");
    ck_assert(strstr(buf_cstr(&r.out), "new stream ARN") != NULL);
    cli_result_cleanup(&r);
    ck_assert_int_eq(count_items(t, "MSG#"), 60);

    ck_assert(ddb_describe_table(d, t, &desc, &err) == 0);
    json_t *spec = json_object_get(desc, "StreamSpecification");
    ck_assert(json_is_true(json_object_get(spec, "StreamEnabled")));
    ck_assert_str_eq(json_string_value(json_object_get(spec, "StreamViewType")), "NEW_IMAGE");
    const char *after = json_string_value(json_object_get(desc, "LatestStreamArn"));
    ck_assert_ptr_nonnull(after);
    ck_assert_str_ne(after, before);
    json_decref(desc);
    ddb_free(d);
}
END_TEST

/* ---- list-conversations (PostgreSQL) -------------------------------------------------------- */

static void need_postgres(void)
{
    ck_assert_msg(pg_db[0], "no test database: %s", pg_error);
}

START_TEST(list_conversations_by_handle)
{
    need_postgres();
    char t[96];
    table_name(t, "convs");
    schema_load(t);
    cli_result r;
    envset es;
    cli_run(&r, env_for(&es, t, NULL, pg_conninfo), NULL, "ddb", "seed", NULL);
    cli_assert_status(&r, 0);
    ck_assert_msg(strstr(buf_cstr(&r.err), "note:") == NULL, "seed fell back: %s",
                  buf_cstr(&r.err));
    cli_result_cleanup(&r);

    cli_run(&r, env_for(&es, t, NULL, pg_conninfo), NULL, "ddb", "list-conversations", "mira",
            NULL);
    cli_assert_status(&r, 0);
    ck_assert_uint_eq(count_lines(&r.out), 1);
    ck_assert(strncmp(buf_cstr(&r.out), "tomasz ", 7) == 0);
    ck_assert(strstr(buf_cstr(&r.out), SAMPLE) != NULL);
    cli_result_cleanup(&r);

    cli_run(&r, env_for(&es, t, NULL, pg_conninfo), NULL, "ddb", "list-conversations", "@tomasz",
            "--json", NULL);
    cli_assert_status(&r, 0);
    json_t *rows = cli_json_lines(&r.out);
    ck_assert_uint_eq(json_array_size(rows), 1);
    json_t *g = json_array_get(rows, 0);
    ck_assert_str_eq(ddb_av_get_s(g, "user_handle"), "mira");
    ck_assert_str_eq(ddb_av_get_s(g, "message_group_uuid"), SAMPLE);
    ck_assert_str_eq(ddb_av_get_s(g, "message"), "Will do. Good night, Mira!");
    json_decref(rows);
    cli_result_cleanup(&r);

    /* a seeded user without conversations: empty, fine */
    cli_run(&r, env_for(&es, t, NULL, pg_conninfo), NULL, "ddb", "list-conversations", "lena",
            NULL);
    cli_assert_status(&r, 0);
    ck_assert_uint_eq(r.out.len, 0);
    cli_result_cleanup(&r);

    cli_run(&r, env_for(&es, t, NULL, pg_conninfo), NULL, "ddb", "list-conversations", "nobody",
            NULL);
    cli_assert_status(&r, 1);
    assert_err_has(&r, "no user with handle @nobody");
    cli_result_cleanup(&r);

    cli_run(&r, env_for(&es, t, NULL, pg_conninfo), NULL, "ddb", "list-conversations",
            "bad-handle!", NULL);
    cli_assert_status(&r, 2);
    cli_result_cleanup(&r);

    /* without CONNECTION_URL: says what to set */
    cli_run(&r, env_for(&es, t, NULL, NULL), NULL, "ddb", "list-conversations", "mira", NULL);
    cli_assert_status(&r, 1);
    assert_err_has(&r, "CONNECTION_URL");
    cli_result_cleanup(&r);
    cli_run(&r, env_for(&es, t, NULL, NULL), NULL, "ddb", "list-conversations", "--uuid",
            seed_sample_mira.uuid, NULL);
    cli_assert_status(&r, 0);
    ck_assert(strncmp(buf_cstr(&r.out), "tomasz ", 7) == 0);
    cli_result_cleanup(&r);
}
END_TEST

/* ---- cruddur setup's DynamoDB step ---------------------------------------------------------- */

/* Runs cli_ddb_setup_step for table with stdout captured into out. */
static int setup_step(const char *table, buf *out)
{
    setenv("CRUDDUR_DDB_TABLE", table, 1);
    setenv("AWS_ENDPOINT_URL", live_ddb_endpoint(), 1);
    unsetenv("AWS_ENDPOINT_URL_DYNAMODB");
    unsetenv("CONNECTION_URL");
    char path[] = "/tmp/live_cli_ddb_XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    unlink(path);
    fflush(stdout);
    int saved = dup(STDOUT_FILENO);
    dup2(fd, STDOUT_FILENO);
    int rc = cli_ddb_setup_step(false);
    fflush(stdout);
    dup2(saved, STDOUT_FILENO);
    close(saved);
    lseek(fd, 0, SEEK_SET);
    char chunk[4096];
    ssize_t n;
    buf_reset(out);
    while ((n = read(fd, chunk, sizeof chunk)) > 0)
        buf_append(out, chunk, (size_t)n);
    close(fd);
    return rc;
}

START_TEST(setup_step_is_idempotent)
{
    char t[96];
    table_name(t, "setup");
    buf out;
    buf_init(&out, 0);
    ck_assert_int_eq(setup_step(t, &out), 0);
    ck_assert_msg(strstr(buf_cstr(&out), "created table") &&
                      strstr(buf_cstr(&out), "seeded the sample conversation"),
                  "%s", buf_cstr(&out));
    ck_assert_uint_eq(count_lines(&out), 1);
    ck_assert_int_eq(setup_step(t, &out), 0);
    char want[200];
    snprintf(want, sizeof want, "dynamodb: table %s exists; sample conversation present\n", t);
    ck_assert_str_eq(buf_cstr(&out), want);
    ck_assert_int_eq(count_items(t, "MSG#"), SEED_SAMPLE_MESSAGES);
    ck_assert_int_eq(count_items(t, "GRP#"), 2);

    /* an existing, empty table gets the sample; one with other data is left alone */
    table_name(t, "setup2");
    schema_load(t);
    ck_assert_int_eq(setup_step(t, &out), 0);
    ck_assert(strstr(buf_cstr(&out), " exists; seeded the sample") != NULL);
    table_name(t, "setup3");
    schema_load(t);
    cli_result r;
    run_ok(&r, t, "seed", "--users", "2", "--groups", "1", "--messages", "1");
    cli_result_cleanup(&r);
    ck_assert_int_eq(setup_step(t, &out), 0);
    ck_assert(strstr(buf_cstr(&out), "holds other data") != NULL);
    ck_assert_int_eq(count_items(t, ""), 3);

    setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1", 1);
    ck_assert_int_eq(cli_ddb_setup_step(false), 1);
    buf_cleanup(&out);
}
END_TEST

/* ---- the run: a Postgres database, the suite, dropping what it made ------------------------- */

/* "key='value' ..." of CONNECTION_URL with dbname replaced. */
static int conninfo_with_db(const char *url, const char *db, char *out, size_t n)
{
    char *err = NULL;
    PQconninfoOption *opts = PQconninfoParse(url, &err);
    if (!opts) {
        PQfreemem(err);
        return -1;
    }
    buf b;
    buf_init(&b, n - 1);
    for (PQconninfoOption *o = opts; o->keyword; o++) {
        const char *v = strcmp(o->keyword, "dbname") == 0 ? db : o->val;
        if (!v || !*v)
            continue;
        buf_printf(&b, "%s%s='", b.len ? " " : "", o->keyword);
        for (const char *p = v; *p; p++) {
            if (*p == '\'' || *p == '\\')
                buf_putc(&b, '\\');
            buf_putc(&b, *p);
        }
        buf_putc(&b, '\'');
    }
    PQconninfoFree(opts);
    int rc = b.failed ? -1 : 0;
    snprintf(out, n, "%s", buf_cstr(&b));
    buf_cleanup(&b);
    return rc;
}

/* Runs "<verb> "<pg_db>"<tail>" on the CONNECTION_URL database. */
static void pg_admin(const char *verb, const char *tail)
{
    char sql[256];
    snprintf(sql, sizeof sql, "%s \"%s\"%s", verb, pg_db, tail);
    PGconn *c = PQconnectdb(getenv("CONNECTION_URL"));
    if (PQstatus(c) == CONNECTION_OK) {
        PGresult *res = PQexec(c, sql);
        if (PQresultStatus(res) != PGRES_COMMAND_OK)
            snprintf(pg_error, sizeof pg_error, "%s: %s", sql, PQresultErrorMessage(res));
        PQclear(res);
    } else {
        snprintf(pg_error, sizeof pg_error, "%s", PQerrorMessage(c));
    }
    PQfinish(c);
}

static void pg_setup(void)
{
    const char *url = getenv("CONNECTION_URL");
    if (!url || !*url) {
        snprintf(pg_error, sizeof pg_error, "CONNECTION_URL is not set (script/test sets it)");
        return;
    }
    char name[64];
    live_name("cr_ddb", name);
    for (char *p = name; *p; p++)
        if (*p == '-')
            *p = '_';
    snprintf(pg_db, sizeof pg_db, "%s", name);
    pg_error[0] = '\0';
    pg_admin("CREATE DATABASE", "");
    if (pg_error[0] || conninfo_with_db(url, pg_db, pg_conninfo, sizeof pg_conninfo) != 0) {
        if (!pg_error[0])
            snprintf(pg_error, sizeof pg_error, "CONNECTION_URL does not parse");
        pg_db[0] = '\0';
        return;
    }
    errinfo e;
    users *u = users_open(pg_conninfo, &e);
    long added, present;
    if (!u || users_run_file(u, "sql/schema.sql", &e) != 0 ||
        users_seed(u, &added, &present, &e) != 0) {
        snprintf(pg_error, sizeof pg_error, "loading the users schema and seed: %s", e.msg);
        users_close(u);
        pg_admin("DROP DATABASE IF EXISTS", "");
        pg_db[0] = '\0';
        return;
    }
    users_close(u);
}

static Suite *cli_ddb_suite(void)
{
    Suite *s = suite_create("cli_ddb");
    TCase *t = tcase_create("usage");
    tcase_set_timeout(t, 60);
    tcase_add_test(t, help_is_complete);
    tcase_add_test(t, usage_errors_exit_2);
    suite_add_tcase(s, t);
    t = tcase_create("table");
    tcase_set_timeout(t, 120);
    tcase_add_test(t, schema_load_creates_the_table_once);
    tcase_add_test(t, drop_asks_or_refuses);
    suite_add_tcase(s, t);
    t = tcase_create("data");
    tcase_set_timeout(t, 180);
    tcase_add_test(t, seed_then_get_conversation);
    tcase_add_test(t, scan_prints_every_item);
    tcase_add_test(t, large_seed_writes_exactly_the_set);
    tcase_add_test(t, large_seed_shows_progress_on_a_terminal);
    tcase_add_test(t, stream_off_reenables_with_a_new_arn);
    tcase_add_test(t, list_conversations_by_handle);
    tcase_add_test(t, setup_step_is_idempotent);
    suite_add_tcase(s, t);
    t = tcase_create("bad_input");
    tcase_set_timeout(t, 120);
    tcase_add_test(t, scan_refuses_remote_endpoints);
    tcase_add_test(t, unknown_table_names_schema_load);
    tcase_add_test(t, unreachable_endpoint_says_so);
    tcase_add_test(t, positional_prod_means_real_aws);
    tcase_add_test(t, malformed_uuids_exit_2);
    tcase_add_test(t, bad_seed_options_exit_2_and_write_nothing);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    live_ddb_endpoint();
    live_name("live-cli-ddb", prefix);
    pg_setup();
    int rc = tap_run(cli_ddb_suite());
    live_drop_tables(prefix);
    if (pg_db[0])
        pg_admin("DROP DATABASE IF EXISTS", " WITH (FORCE)");
    return rc;
}
