/* live_compat.c — compatibility with the original bootcamp tools (issue 3 §4), both ways,
 * against the real DynamoDB Local: items `cruddur` writes are read correctly by the original
 * boto3 code (tests/tools/compat_boto3.py), and items that code writes are listed by
 * `cruddur ddb list-conversations` / `get-conversation`. Also checks that the CloudFormation
 * template declares the table of ddb-schema/cruddur-messages.json. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "aws/ddb.h"
#include "aws/ddb_av.h"
#include "base/rnd.h"
#include "cli_run.h"
#include "live.h"
#include "messaging/messaging.h"
#include "messaging/post.h"
#include "messaging/seed.h"
#include "tap.h"

static char prefix[64];

/* ---- helpers -------------------------------------------------------------------------------- */

static void table_name(char out[96], const char *suffix)
{
    snprintf(out, 96, "%s-%s", prefix, suffix);
}

typedef struct envset {
    char table[160];
    char endpoint[320];
    const char *v[8];
} envset;

static const char *const *env_for(envset *s, const char *table)
{
    snprintf(s->table, sizeof s->table, "CRUDDUR_DDB_TABLE=%s", table);
    snprintf(s->endpoint, sizeof s->endpoint, "AWS_ENDPOINT_URL=%s", live_ddb_endpoint());
    size_t i = 0;
    s->v[i++] = s->table;
    s->v[i++] = s->endpoint;
    s->v[i++] = "AWS_ENDPOINT_URL_DYNAMODB=";
    s->v[i++] = "CONNECTION_URL=";
    s->v[i++] = "AWS_DEFAULT_REGION=us-east-1";
    s->v[i++] = "COLUMNS=200";
    s->v[i] = NULL;
    return s->v;
}

#define run_ok(r, table, ...)                                                                      \
    do {                                                                                           \
        envset es_;                                                                                \
        cli_run((r), env_for(&es_, (table)), NULL, "ddb", __VA_ARGS__, NULL);                      \
        cli_assert_status((r), 0);                                                                 \
    } while (0)

/* Runs tests/tools/compat_boto3.py ARGS... (NULL-terminated) against the live endpoint
 * with TZ=UTC; returns its stdout parsed as JSON (asserting exit 0). */
static json_t *boto3v(const char *const *args)
{
    const char *src = getenv("CR_SRCDIR");
    char tool[1024];
    snprintf(tool, sizeof tool, "%s/tests/tools/compat_boto3.py", src && *src ? src : CR_SRCDIR);
    int out[2];
    ck_assert(pipe(out) == 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        dup2(out[1], 1);
        close(out[0]);
        close(out[1]);
        setenv("AWS_ENDPOINT_URL", live_ddb_endpoint(), 1);
        setenv("AWS_DEFAULT_REGION", "us-east-1", 1);
        setenv("TZ", "UTC", 1);
        unsetenv("AWS_ENDPOINT_URL_DYNAMODB");
        const char *argv[24] = { "python3", tool };
        size_t n = 2;
        for (; args[n - 2] && n < 23; n++)
            argv[n] = args[n - 2];
        argv[n] = NULL;
        execvp("python3", (char *const *)argv);
        _exit(127);
    }
    close(out[1]);
    buf b;
    buf_init(&b, 16 << 20);
    char chunk[8192];
    ssize_t n;
    while ((n = read(out[0], chunk, sizeof chunk)) > 0)
        buf_append(&b, chunk, (size_t)n);
    close(out[0]);
    int st = 0;
    waitpid(pid, &st, 0);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
                  "compat_boto3.py %s failed (status %d; see stderr); stdout: %.300s", args[0],
                  WIFEXITED(st) ? WEXITSTATUS(st) : -1, buf_cstr(&b));
    json_error_t je;
    json_t *v = json_loads(buf_cstr(&b), 0, &je);
    ck_assert_msg(json_is_object(v), "compat_boto3.py printed no JSON object: %s (%.300s)", je.text,
                  buf_cstr(&b));
    buf_cleanup(&b);
    return v;
}

#define boto3(...) boto3v((const char *const[]){ __VA_ARGS__, NULL })

static const char *jstr(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    ck_assert_msg(s != NULL, "no string member %s", k);
    return s;
}

static void schema_load(const char *table)
{
    cli_result r;
    run_ok(&r, table, "schema-load");
    cli_result_cleanup(&r);
}

/* ---- cruddur writes, boto3 reads ------------------------------------------------------------ */

START_TEST(boto3_reads_the_sample_conversation)
{
    char t[96];
    table_name(t, "sample");
    schema_load(t);
    cli_result r;
    run_ok(&r, t, "seed");
    cli_result_cleanup(&r);

    json_t *v = boto3("read", t, SEED_SAMPLE_GROUP_UUID, seed_sample_mira.uuid);
    ck_assert_int_eq(json_integer_value(json_object_get(v, "count_messages")),
                     SEED_SAMPLE_MESSAGES);
    ck_assert_int_eq(json_integer_value(json_object_get(v, "count_groups")), 1);
    /* list_messages: the newest page of 20, oldest first */
    json_t *msgs = json_object_get(v, "messages");
    ck_assert_uint_eq(json_array_size(msgs), 20);
    for (size_t i = 1; i < 20; i++)
        ck_assert(strcmp(jstr(json_array_get(msgs, i - 1), "created_at"),
                         jstr(json_array_get(msgs, i), "created_at")) < 0);
    json_t *last = json_array_get(msgs, 19);
    ck_assert_str_eq(jstr(last, "handle"), "tomasz");
    ck_assert_str_eq(jstr(last, "display_name"), "Tomasz Wierzba");
    ck_assert_str_eq(jstr(last, "message"), "Will do. Good night, Mira!");
    /* list_message_groups: mira's row names tomasz and holds the last message */
    json_t *groups = json_object_get(v, "message_groups");
    ck_assert_uint_eq(json_array_size(groups), 1);
    json_t *g = json_array_get(groups, 0);
    ck_assert_str_eq(jstr(g, "uuid"), SEED_SAMPLE_GROUP_UUID);
    ck_assert_str_eq(jstr(g, "handle"), "tomasz");
    ck_assert_str_eq(jstr(g, "message"), "Will do. Good night, Mira!");
    ck_assert_str_eq(jstr(g, "created_at"), jstr(last, "created_at"));
    json_decref(v);

    v = boto3("read", t, SEED_SAMPLE_GROUP_UUID, seed_sample_tomasz.uuid);
    g = json_array_get(json_object_get(v, "message_groups"), 0);
    ck_assert_str_eq(jstr(g, "handle"), "mira");
    ck_assert_str_eq(jstr(g, "display_name"), "Mira Okafor");
    json_decref(v);
}
END_TEST

START_TEST(boto3_reads_the_synthetic_set)
{
    char t[96];
    table_name(t, "bulk");
    schema_load(t);
    cli_result r;
    run_ok(&r, t, "seed", "--users", "4", "--groups", "3", "--messages", "30", "--end-time",
           "2026-11-21T09:30:00.000000+00:00");
    cli_result_cleanup(&r);
    /* the same items, to know a group and a member */
    run_ok(&r, t, "seed", "--users", "4", "--groups", "3", "--messages", "30", "--end-time",
           "2026-11-21T09:30:00.000000+00:00", "--dump");
    json_t *items = cli_json_lines(&r.out);
    cli_result_cleanup(&r);
    ck_assert_uint_eq(json_array_size(items), 36);
    json_t *row = json_array_get(items, 30); /* group 0's first row */
    const char *gid = ddb_av_get_s(row, "message_group_uuid");
    const char *me = ddb_av_get_s(row, "pk") + 4;
    json_t *v = boto3("read", t, gid, me);
    ck_assert_int_ge(json_integer_value(json_object_get(v, "count_messages")), 1);
    json_t *groups = json_object_get(v, "message_groups");
    ck_assert_int_ge(json_array_size(groups), 1);
    bool found = false;
    size_t i;
    json_t *g;
    json_array_foreach(groups, i, g)
    {
        if (strcmp(jstr(g, "uuid"), gid) == 0) {
            found = true;
            ck_assert_str_eq(jstr(g, "handle"), ddb_av_get_s(row, "user_handle"));
            ck_assert_str_eq(jstr(g, "message"), ddb_av_get_s(row, "message"));
        }
    }
    ck_assert(found);
    json_decref(v);
    json_decref(items);
}
END_TEST

START_TEST(boto3_reads_patterns_c_and_d)
{
    char t[96];
    table_name(t, "patterns");
    schema_load(t);
    ddb_options o = { .endpoint = live_ddb_endpoint(), .region = "us-east-1" };
    errinfo e;
    ddb *d = ddb_new(&o, &e);
    ck_assert_msg(d != NULL, "%s", e.msg);
    messaging_user ann = { "aaaaaaaa-1111-4222-8333-444444444444", "Ann Example", "ann" };
    messaging_user ben = { "bbbbbbbb-1111-4222-8333-444444444444", "Ben Example", "ben" };
    char gid[37], mid[37], ts[MESSAGING_TS_LEN];
    rnd_uuid4(gid);
    rnd_uuid4(mid);
    messaging_now(ts);
    ddb_error err;
    /* pattern D as the product runs it, with an Idempotency-Key */
    messaging_store st = { .db = d, .table = t };
    char fp[65];
    ck_assert_int_eq(messaging_post_fingerprint(fp, 'D', ben.handle, "Hello Ben \xe2\x9c\x93"), 0);
    messaging_post post = { .me = &ann,
                            .message = "Hello Ben \xe2\x9c\x93",
                            .idem_key = "compat-first",
                            .fingerprint = fp };
    messaging_post_result res;
    messaging_post_result_init(&res);
    ck_assert_msg(messaging_start(&st, &post, &ben, &res) == 0 &&
                      res.outcome == MESSAGING_POST_CREATED,
                  "%d %s", res.outcome, res.err.info.msg);
    memcpy(gid, res.group, sizeof gid);
    messaging_post_result_cleanup(&res);
    /* the same message again (a retried request): idempotent, the stored answer */
    messaging_post_result_init(&res);
    ck_assert_msg(messaging_start(&st, &post, &ben, &res) == 0 &&
                      res.outcome == MESSAGING_POST_REPLAYED,
                  "%d %s", res.outcome, res.err.info.msg);
    ck_assert_str_eq(json_string_value(json_object_get(res.answer, "message_group_uuid")), gid);
    messaging_post_result_cleanup(&res);
    messaging_now(ts);
    rnd_uuid4(mid);
    json_t *m = messaging_message_item(gid, ts, mid, &ben, "Hi Ann!");
    ck_assert_msg(messaging_put_message(d, t, m, &err) == 0, "%s", err.info.msg);
    /* never overwrites a message */
    ck_assert(messaging_put_message(d, t, m, &err) != 0);
    ck_assert(ddb_error_is(&err, "ConditionalCheckFailedException"));
    json_decref(m);
    ddb_free(d);

    json_t *v = boto3("read", t, gid, ben.uuid);
    ck_assert_int_eq(json_integer_value(json_object_get(v, "count_messages")), 2);
    json_t *msgs = json_object_get(v, "messages");
    ck_assert_str_eq(jstr(json_array_get(msgs, 0), "message"), "Hello Ben \xe2\x9c\x93");
    ck_assert_str_eq(jstr(json_array_get(msgs, 0), "handle"), "ann");
    ck_assert_str_eq(jstr(json_array_get(msgs, 1), "message"), "Hi Ann!");
    json_t *g = json_array_get(json_object_get(v, "message_groups"), 0);
    ck_assert_str_eq(jstr(g, "handle"), "ann");
    ck_assert_str_eq(jstr(g, "uuid"), gid);
    json_decref(v);
}
END_TEST

/* ---- boto3 writes, cruddur lists ------------------------------------------------------------- */

START_TEST(cruddur_lists_what_boto3_wrote)
{
    char t[96];
    table_name(t, "boto3");
    schema_load(t);
    const char *ann = "aaaaaaaa-2222-4333-8444-555555555555";
    const char *ben = "bbbbbbbb-2222-4333-8444-555555555555";
    json_t *w = boto3("write", t, ann, "Ann Original", "ann", ben, "Ben Original", "ben",
                      "Hi Ben, written by boto3", "Second one",
                      "Third: \xc5\xbc\xc3\xb3\xc5\x82\xc4\x87 \xe2\x9c\x93");
    const char *gid = jstr(w, "message_group_uuid");
    json_t *written = json_object_get(w, "messages");
    ck_assert_uint_eq(json_array_size(written), 3);

    /* list-conversations, both sides */
    cli_result r;
    run_ok(&r, t, "list-conversations", "--uuid", ann);
    ck_assert_msg(strncmp(buf_cstr(&r.out), "ben ", 4) == 0, "%s", buf_cstr(&r.out));
    ck_assert(strstr(buf_cstr(&r.out), gid) != NULL);
    ck_assert(strstr(buf_cstr(&r.out), "Hi Ben, written by boto3") != NULL);
    cli_result_cleanup(&r);
    run_ok(&r, t, "list-conversations", "--uuid", ben, "--json");
    json_t *rows = cli_json_lines(&r.out);
    cli_result_cleanup(&r);
    ck_assert_uint_eq(json_array_size(rows), 1);
    ck_assert_str_eq(ddb_av_get_s(json_array_get(rows, 0), "user_handle"), "ann");
    ck_assert_str_eq(ddb_av_get_s(json_array_get(rows, 0), "message_group_uuid"), gid);
    json_decref(rows);

    /* get-conversation: the three messages oldest first, as written */
    run_ok(&r, t, "get-conversation", gid);
    const char *p = buf_cstr(&r.out);
    for (size_t i = 0; i < 3; i++) {
        ck_assert_msg(strncmp(p, "ann ", 4) == 0, "row %zu: %s", i, p);
        const char *text = jstr(json_array_get(written, i), "message");
        const char *nl = strchr(p, '\n');
        ck_assert_ptr_nonnull(nl);
        char row[512];
        snprintf(row, sizeof row, "%.*s", (int)(nl - p), p);
        ck_assert_msg(strstr(row, text) != NULL, "row %zu: %s", i, row);
        p = nl + 1;
    }
    ck_assert_str_eq(p, "");
    cli_result_cleanup(&r);
    run_ok(&r, t, "get-conversation", gid, "--json");
    json_t *items = cli_json_lines(&r.out);
    cli_result_cleanup(&r);
    ck_assert_uint_eq(json_array_size(items), 3);
    for (size_t i = 0; i < 3; i++) {
        json_t *it = json_array_get(items, i), *wr = json_array_get(written, i);
        ck_assert_str_eq(ddb_av_get_s(it, "sk"), jstr(wr, "created_at"));
        ck_assert_str_eq(ddb_av_get_s(it, "message_uuid"), jstr(wr, "uuid"));
        ck_assert_str_eq(ddb_av_get_s(it, "message"), jstr(wr, "message"));
        ck_assert_str_eq(ddb_av_get_s(it, "user_display_name"), "Ann Original");
    }
    json_decref(items);
    json_decref(w);
}
END_TEST

START_TEST(cloudformation_matches_the_schema)
{
    const char *src = getenv("CR_SRCDIR");
    json_t *v = boto3("schema-check", src && *src ? src : CR_SRCDIR);
    ck_assert(json_is_true(json_object_get(v, "ok")));
    json_decref(v);
}
END_TEST

static Suite *compat_suite(void)
{
    Suite *s = suite_create("compat");
    TCase *t = tcase_create("cruddur_writes");
    tcase_set_timeout(t, 120);
    tcase_add_test(t, boto3_reads_the_sample_conversation);
    tcase_add_test(t, boto3_reads_the_synthetic_set);
    tcase_add_test(t, boto3_reads_patterns_c_and_d);
    suite_add_tcase(s, t);
    t = tcase_create("boto3_writes");
    tcase_set_timeout(t, 120);
    tcase_add_test(t, cruddur_lists_what_boto3_wrote);
    suite_add_tcase(s, t);
    t = tcase_create("schema");
    tcase_set_timeout(t, 60);
    tcase_add_test(t, cloudformation_matches_the_schema);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    live_ddb_endpoint();
    live_name("live-compat", prefix);
    int rc = tap_run(compat_suite());
    live_drop_tables(prefix);
    return rc;
}
