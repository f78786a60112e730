/* live_streamd_standin.c — cruddur-streamd against the local stand-in for the Streams API
 * (tests/tools/streams_server.py) for what DynamoDB Local cannot do: a parent shard closing
 * into two children, expired iterators, trimmed data, throttling, duplicate delivery. The
 * table and the lease table stay on DynamoDB Local; only the stream is the stand-in's. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/http.h"
#include "base/clock.h"
#include "support_server.h"
#include "live_streamd.h"
#include "support_tmpdir.h"
#include "tap.h"

#define ARN                                                                                        \
    "arn:aws:dynamodb:us-east-1:000000000000:table/standin-sd/stream/2026-01-01T00:00:00.000"

static support_server g_standin;
static char g_dir[256];

static void setup(void)
{
    live_ddb_endpoint();
    ck_assert(support_tmpdir_make("live-sd-standin", g_dir, sizeof g_dir) == 0);
    ck_assert_int_eq(support_server_start(&g_standin, "tests/tools/streams_server.py"), 0);
}

static void teardown(void)
{
    support_server_stop(&g_standin);
}

static json_t *ctl(const char *name, json_t *body)
{
    return support_server_ctl(g_standin.port, name, body);
}

static void ctl_ok(const char *name, json_t *body)
{
    json_decref(ctl(name, body));
}

/* Message record i of group (sk 2026-11-21T10:MM:SS, text "m<i>"). */
static json_t *rec(const char *group, int i)
{
    char pk[64], sk[48], text[32], mid[37];
    snprintf(pk, sizeof pk, "MSG#%s", group);
    snprintf(sk, sizeof sk, "2026-11-21T10:%02d:%02d.000000+00:00", (i / 60) % 60, i % 60);
    snprintf(text, sizeof text, "m%d", i);
    rnd_uuid4(mid);
    return json_pack("{s:{s:{s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s}}}}",
                     "dynamodb", "NewImage", "pk", "S", pk, "sk", "S", sk, "message", "S", text,
                     "message_uuid", "S", mid, "user_uuid", "S",
                     "00000001-1111-4222-8333-000000000001", "user_display_name", "S", "User 1",
                     "user_handle", "S", "u1");
}

static json_t *recs(const char *group, int from, int n)
{
    json_t *a = json_array();
    for (int i = from; i < from + n; i++)
        json_array_append_new(a, rec(group, i));
    return a;
}

static void want_rows(ddb *d, const char *t, const char *gid, int i)
{
    char sk[48], text[32];
    snprintf(sk, sizeof sk, "2026-11-21T10:%02d:%02d.000000+00:00", (i / 60) % 60, i % 60);
    snprintf(text, sizeof text, "m%d", i);
    sd_assert_rows(d, t, gid, sk, text);
}

/* Waits until gid's rows are at message i (timeout_ms). */
static bool wait_rows(ddb *d, const char *t, const char *gid, int i, long timeout_ms)
{
    char sk[48];
    snprintf(sk, sizeof sk, "2026-11-21T10:%02d:%02d.000000+00:00", (i / 60) % 60, i % 60);
    for (long w = 0; w <= timeout_ms; w += 100) {
        json_t *rows = sd_rows(d, t, gid);
        size_t ok = 0, k;
        json_t *row;
        json_array_foreach(rows, k, row) ok +=
            ddb_av_get_s(row, "sk") && strcmp(ddb_av_get_s(row, "sk"), sk) == 0;
        json_decref(rows);
        if (ok == 2)
            return true;
        support_server_sleep_ms(100);
    }
    return false;
}

/* A fixture: a table on DynamoDB Local with two conversations (g1, g2) created long before
 * the stand-in's records, and the environment pointing the daemon's stream at the stand-in. */
typedef struct fx {
    ddb *d;
    char t[64], g1[37], g2[37];
    char e_table[128], e_lease[160], e_streams[128];
    const char *env[12];
} fx;

static void fx_init(fx *f, const char *prefix, const char *const *extra)
{
    f->d = live_ddb();
    sd_table(prefix, f->t);
    sd_user a, b, c;
    sd_user_make(&a, 1);
    sd_user_make(&b, 2);
    sd_user_make(&c, 3);
    sd_group(f->d, f->t, &a, &b, "2026-01-01T00:00:00.000000+00:00", f->g1);
    sd_group(f->d, f->t, &a, &c, "2026-01-01T00:00:01.000000+00:00", f->g2);
    snprintf(f->e_table, sizeof f->e_table, "CRUDDUR_DDB_TABLE=%s", f->t);
    snprintf(f->e_lease, sizeof f->e_lease, "CRUDDUR_LEASE_TABLE=%s-leases", f->t);
    snprintf(f->e_streams, sizeof f->e_streams,
             "AWS_ENDPOINT_URL_DYNAMODB_STREAMS=http://127.0.0.1:%d", g_standin.port);
    size_t k = 0;
    f->env[k++] = f->e_table;
    f->env[k++] = f->e_lease;
    f->env[k++] = f->e_streams;
    f->env[k++] = "CRUDDUR_STREAM_ARN=" ARN;
    f->env[k++] = "CRUDDUR_POLL_MS=50";
    f->env[k++] = "CRUDDUR_LEASE_TIMEOUT_MS=2000";
    for (const char *const *x = extra; x && *x && k < 11; x++)
        f->env[k++] = *x;
    f->env[k] = NULL;
}

static void fx_done(fx *f)
{
    sd_table_drop(f->d, f->t);
    ddb_free(f->d);
}

static void load(json_t *shards, json_t *config)
{
    json_t *sc =
        json_pack("{s:s, s:s, s:o}", "TableName", "standin-sd", "StreamArn", ARN, "shards", shards);
    if (config)
        json_object_set_new(sc, "config", config);
    ctl_ok("scenario", sc);
}

static long stat_of(const json_t *stats, const char *shard, const char *field)
{
    const json_t *v =
        json_object_get(json_object_get(json_object_get(stats, "shards"), shard), field);
    return json_is_integer(v) ? (long)json_integer_value(v) : -1;
}

START_TEST(parent_is_read_to_its_end_before_its_two_children)
{
    fx f;
    fx_init(&f, "sds-split", NULL);
    char lp[512];
    snprintf(lp, sizeof lp, "%s/split.log", g_dir);
    /* children are listed before the parent; three records per call */
    load(json_pack("[{s:s, s:o}]", "ShardId", "shard-P", "records", recs(f.g1, 0, 5)),
         json_pack("{s:s, s:i}", "shard_order", "reverse", "records_cap", 3));
    pid_t daemon = sd_start(f.env, lp, NULL);
    ck_assert(wait_rows(f.d, f.t, f.g1, 4, 20000));
    /* more on the parent, then it splits; the children carry later messages */
    ctl_ok("append", json_pack("{s:s, s:o}", "shard", "shard-P", "records", recs(f.g1, 5, 4)));
    ctl_ok("split",
           json_pack("{s:s, s:[s,s]}", "shard", "shard-P", "children", "shard-C1", "shard-C2"));
    ctl_ok("append", json_pack("{s:s, s:o}", "shard", "shard-C1", "records", recs(f.g1, 9, 4)));
    ctl_ok("append", json_pack("{s:s, s:o}", "shard", "shard-C2", "records", recs(f.g2, 20, 3)));
    ck_assert(wait_rows(f.d, f.t, f.g1, 12, 20000));
    ck_assert(wait_rows(f.d, f.t, f.g2, 22, 20000));
    kill(daemon, SIGTERM);
    ck_assert_int_eq(support_server_wait(daemon, 10000), 0);
    want_rows(f.d, f.t, f.g1, 12);
    want_rows(f.d, f.t, f.g2, 22);
    json_t *st = ctl("stats", NULL);
    long ended = stat_of(st, "shard-P", "ended");
    ck_assert_int_gt(ended, 0);
    ck_assert_int_gt(stat_of(st, "shard-C1", "first_read"), ended);
    ck_assert_int_gt(stat_of(st, "shard-C2", "first_read"), ended);
    /* every record was delivered once (no re-reads after the checkpoints) */
    ck_assert_int_eq(stat_of(st, "shard-P", "records_returned"), 9);
    ck_assert_int_eq(stat_of(st, "shard-C1", "records_returned"), 4);
    json_decref(st);
    ck_assert(sd_file_has(lp, "\"event\":\"shard_end\""));
    /* The parent leaves the stream (trimmed): its finished lease is dropped, the children's
     * stay. */
    ctl_ok("remove_shard", json_pack("{s:s}", "shard", "shard-P"));
    sd_once(f.env, lp);
    ck_assert(sd_file_has(lp, "\"event\":\"lease_deleted\""));
    char out[8192];
    ck_assert_int_eq(sd_cli(f.t, "leases", out, sizeof out), 0);
    ck_assert_msg(!strstr(out, "shard-P ") && strstr(out, "shard-C1") && strstr(out, "shard-C2"),
                  "%s", out);
    fx_done(&f);
}
END_TEST

START_TEST(an_expired_iterator_is_acquired_again_from_the_checkpoint)
{
    fx f;
    fx_init(&f, "sds-exp", NULL);
    char lp[512];
    snprintf(lp, sizeof lp, "%s/expired.log", g_dir);
    load(json_pack("[{s:s, s:o}]", "ShardId", "shard-A", "records", recs(f.g1, 0, 6)),
         json_pack("{s:i}", "records_cap", 2));
    /* the second GetRecords finds its iterator expired */
    ctl_ok("fault", json_pack("{s:s, s:i, s:i}", "kind", "expired", "count", 1, "after", 1));
    sd_once(f.env, lp);
    want_rows(f.d, f.t, f.g1, 5);
    ck_assert(sd_file_has(lp, "\"event\":\"iterator_expired\""));
    json_t *st = ctl("stats", NULL);
    /* nothing skipped, nothing read twice: the new iterator starts after the checkpoint */
    ck_assert_int_eq(stat_of(st, "shard-A", "records_returned"), 6);
    ck_assert_int_ge(stat_of(st, "shard-A", "GetShardIterator"), 2);
    json_decref(st);
    fx_done(&f);
}
END_TEST

START_TEST(trimmed_records_are_logged_as_a_gap_and_reading_goes_on)
{
    fx f;
    fx_init(&f, "sds-trim", NULL);
    char lp[512];
    snprintf(lp, sizeof lp, "%s/trim.log", g_dir);
    load(json_pack("[{s:s, s:o}]", "ShardId", "shard-T", "records", recs(f.g1, 0, 3)), NULL);
    sd_once(f.env, lp);
    want_rows(f.d, f.t, f.g1, 2);
    /* while the daemon is away, records pass and the oldest are trimmed, past the checkpoint */
    ctl_ok("append", json_pack("{s:s, s:o}", "shard", "shard-T", "records", recs(f.g1, 3, 7)));
    ctl_ok("trim", json_pack("{s:s, s:i}", "shard", "shard-T", "count", 6));
    sd_once(f.env, lp);
    want_rows(f.d, f.t, f.g1, 9);
    ck_assert(sd_file_has(lp, "\"event\":\"gap\""));
    json_t *st = ctl("stats", NULL);
    ck_assert_int_ge(json_integer_value(json_object_get(json_object_get(st, "errors"),
                                                        "TrimmedDataAccessException")),
                     1);
    json_decref(st);
    fx_done(&f);
}
END_TEST

START_TEST(throttling_backs_off_and_loses_nothing)
{
    fx f;
    const char *extra[] = { "CRUDDUR_DDB_MAX_ATTEMPTS=2", NULL };
    fx_init(&f, "sds-thr", extra);
    char lp[512];
    snprintf(lp, sizeof lp, "%s/throttle.log", g_dir);
    load(json_pack("[{s:s, s:o}]", "ShardId", "shard-H", "records", recs(f.g1, 0, 8)),
         json_pack("{s:i}", "records_cap", 2));
    /* 5 throttled calls: more than the client's own 2 tries, so the daemon backs off too */
    ctl_ok("fault", json_pack("{s:s, s:i, s:i, s:s}", "kind", "throttle", "count", 5, "after", 1,
                              "type", "LimitExceededException"));
    int64_t t0 = clock_mono_ms();
    sd_once(f.env, lp);
    want_rows(f.d, f.t, f.g1, 7);
    ck_assert(sd_file_has(lp, "\"event\":\"get_records_failed\""));
    ck_assert_msg(clock_mono_ms() - t0 < 30000, "throttling stalled the shard");
    json_t *st = ctl("stats", NULL);
    ck_assert_int_eq(json_integer_value(
                         json_object_get(json_object_get(st, "errors"), "LimitExceededException")),
                     5);
    ck_assert_int_eq(stat_of(st, "shard-H", "records_returned"), 8);
    json_decref(st);
    fx_done(&f);
}
END_TEST

START_TEST(duplicate_delivery_leaves_the_same_table)
{
    fx f;
    fx_init(&f, "sds-dup", NULL);
    char lp[512];
    snprintf(lp, sizeof lp, "%s/dup.log", g_dir);
    json_t *r = recs(f.g1, 0, 6);
    json_t *more = recs(f.g2, 30, 4);
    json_array_extend(r, more);
    json_decref(more);
    load(json_pack("[{s:s, s:o}]", "ShardId", "shard-D", "records", r),
         json_pack("{s:i}", "records_cap", 3));
    ctl_ok("fault", json_pack("{s:s, s:i}", "kind", "duplicate", "count", 3));
    sd_once(f.env, lp);
    want_rows(f.d, f.t, f.g1, 5);
    want_rows(f.d, f.t, f.g2, 33);
    char *before = sd_snapshot(f.d, f.t);
    json_t *st = ctl("stats", NULL);
    ck_assert_int_gt(stat_of(st, "shard-D", "records_returned"), 10); /* some came twice */
    json_decref(st);
    /* the whole stream again, as a fresh reader: nothing changes */
    const char *env2[16];
    size_t k = 0;
    for (; f.env[k]; k++)
        env2[k] = strncmp(f.env[k], "CRUDDUR_LEASE_TABLE=", 20) == 0
                      ? "CRUDDUR_LEASE_TABLE=sds-dup-again"
                      : f.env[k];
    env2[k] = NULL;
    sd_once(env2, lp);
    char *after = sd_snapshot(f.d, f.t);
    ck_assert_str_eq(before, after);
    free(before);
    free(after);
    ddb_error err;
    ddb_error_clear(&err);
    ddb_delete_table(f.d, "sds-dup-again", &err);
    fx_done(&f);
}
END_TEST

/* An outage: a fixture with few tries per record, g1's group rows into *rows (new array;
 * rows may be NULL), its messages table deleted, and shard holding three messages of g1 to
 * apply; the daemon's log path into lp. */
static void outage_init(fx *f, const char *prefix, const char *shard, json_t **rows, char lp[512])
{
    const char *extra[] = { "CRUDDUR_RECORD_ATTEMPTS=2", "CRUDDUR_DDB_MAX_ATTEMPTS=2", NULL };
    fx_init(f, prefix, extra);
    snprintf(lp, 512, "%s/%s.log", g_dir, prefix);
    if (rows)
        *rows = sd_rows(f->d, f->t, f->g1);
    ddb_error err;
    ddb_error_clear(&err);
    ck_assert(ddb_delete_table(f->d, f->t, &err) == 0);
    load(json_pack("[{s:s, s:o}]", "ShardId", shard, "records", recs(f->g1, 0, 3)), NULL);
}

START_TEST(an_outage_is_waited_out_not_dead_lettered)
{
    fx f;
    char lp[512];
    json_t *rows1;
    /* The messages table goes away: every record fails while it is gone. */
    outage_init(&f, "sds-out", "shard-O", &rows1, lp);
    ddb_error err;
    pid_t pid = sd_start(f.env, lp, "--once");
    for (int i = 0; i < 200 && !sd_file_has(lp, "\"event\":\"table_unavailable\""); i++)
        support_server_sleep_ms(50);
    ck_assert(sd_file_has(lp, "\"event\":\"table_unavailable\""));
    support_server_sleep_ms(500);
    ck_assert_msg(waitpid(pid, NULL, WNOHANG) == 0, "--once gave up during the outage");
    ck_assert(!sd_file_has(lp, "\"event\":\"dead_letter\""));
    /* The table is back (paused meanwhile, so it never sees the table without its rows):
     * the records apply, --once finishes. */
    kill(pid, SIGSTOP);
    /* A request the daemon sent just before it stopped may still be waiting in DynamoDB
     * Local: let it be answered (table missing) before the table comes back empty. */
    support_server_sleep_ms(1000);
    char e1[160], e2[300];
    snprintf(e1, sizeof e1, "CRUDDUR_DDB_TABLE=%s", f.t);
    snprintf(e2, sizeof e2, "AWS_ENDPOINT_URL=%s", live_ddb_endpoint());
    cli_result r;
    cli_run(&r, ((const char *const[]){ e1, e2, NULL }), NULL, "ddb", "schema-load", NULL);
    cli_assert_status(&r, 0);
    cli_result_cleanup(&r);
    size_t i;
    json_t *row;
    json_array_foreach(rows1, i, row)
    {
        ddb_error_clear(&err);
        ck_assert(ddb_put_item(f.d, f.t, row, NULL, &err) == 0);
    }
    json_decref(rows1);
    kill(pid, SIGCONT);
    ck_assert_int_eq(support_server_wait(pid, 30000), 0);
    want_rows(f.d, f.t, f.g1, 2);
    char out[8192];
    ck_assert_int_eq(sd_cli(f.t, "dead-letters list", out, sizeof out), 0);
    ck_assert_msg(strstr(out, "0 dead letters in"), "%s", out);
    fx_done(&f);
}
END_TEST

START_TEST(once_gives_up_on_an_outage_that_lasts)
{
    fx f;
    char lp[512];
    outage_init(&f, "sds-giveup", "shard-G", NULL, lp);
    int64_t t0 = clock_mono_ms();
    pid_t pid =
        sd_start_args(f.env, lp, (const char *const[]){ "--once", "--give-up-after", "2", NULL });
    int st = support_server_wait(pid, 30000);
    if (st < 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
    int64_t took = clock_mono_ms() - t0;
    ck_assert_msg(st == 1, "--once during a lasting outage: status %d, want 1 (log %s)", st, lp);
    ck_assert_msg(took >= 2000 && took < 20000, "gave up after %lld ms", (long long)took);
    ck_assert(sd_file_has(lp, "--once gives up: shard shard-G has failed for 2.0 s"));
    ck_assert(sd_file_has(lp, "the messages table does not answer"));
    ck_assert(!sd_file_has(lp, "\"event\":\"dead_letter\""));
    /* Nothing was checkpointed past what was applied, and the lease was let go. */
    char out[8192];
    ck_assert_int_eq(sd_cli(f.t, "leases", out, sizeof out), 0);
    ck_assert_msg(strstr(out, "shard-G") && strstr(out, "TRIM_HORIZON"), "%s", out);
    fx_done(&f);
}
END_TEST

START_TEST(a_colliding_record_is_a_dead_letter_until_replayed)
{
    fx f;
    fx_init(&f, "sds-dlq", NULL);
    char lp[512];
    snprintf(lp, sizeof lp, "%s/dlq.log", g_dir);
    /* g2 (users 1 and 3) gets a message at 10:00:05; then g1 (users 1 and 2) gets one at the
     * very same microsecond: user 1's row of g1 cannot take a key g2's row holds. */
    json_t *r = json_array();
    json_array_append_new(r, rec(f.g2, 5));
    load(json_pack("[{s:s, s:o}]", "ShardId", "shard-L", "records", r), NULL);
    sd_once(f.env, lp);
    want_rows(f.d, f.t, f.g2, 5);
    ctl_ok("append", json_pack("{s:s, s:[o]}", "shard", "shard-L", "records", rec(f.g1, 5)));
    sd_once(f.env, lp);
    ck_assert(sd_file_has(lp, "\"event\":\"dead_letter\""));
    /* the other participant's row moved; the colliding one did not, g2 is untouched */
    json_t *rows = sd_rows(f.d, f.t, f.g1);
    int at5 = 0;
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row) at5 +=
        strcmp(ddb_av_get_s(row, "sk"), "2026-11-21T10:00:05.000000+00:00") == 0;
    json_decref(rows);
    ck_assert_int_eq(at5, 1);
    want_rows(f.d, f.t, f.g2, 5);
    char out[8192];
    ck_assert_int_eq(sd_cli(f.t, "dead-letters list", out, sizeof out), 0);
    ck_assert_msg(strstr(out, "1 dead letter in"), "%s", out);
    /* Still colliding: a replay fails and keeps it. */
    ck_assert_int_eq(sd_cli(f.t, "dead-letters replay --all", out, sizeof out), 1);
    ck_assert_msg(strstr(out, "kept"), "%s", out);
    /* The dead letter holds no message text: a replay reads the message item back from
     * the table (here written by the test, as the record's item would be). */
    json_t *m5 = rec(f.g1, 5);
    json_t *img = json_object_get(json_object_get(m5, "dynamodb"), "NewImage");
    ddb_error perr;
    ddb_error_clear(&perr);
    ck_assert_msg(ddb_put_item(f.d, f.t, img, NULL, &perr) == 0, "%s", perr.info.msg);
    json_decref(m5);
    /* g2 moves on; the key is free; the replay applies and deletes the dead letter. */
    ctl_ok("append", json_pack("{s:s, s:[o]}", "shard", "shard-L", "records", rec(f.g2, 6)));
    sd_once(f.env, lp);
    want_rows(f.d, f.t, f.g2, 6);
    ck_assert_int_eq(sd_cli(f.t, "dead-letters replay --all", out, sizeof out), 0);
    ck_assert_msg(strstr(out, "1 dead letter replayed, 0 failed") && strstr(out, "moved"), "%s",
                  out);
    want_rows(f.d, f.t, f.g1, 5);
    ck_assert_int_eq(sd_cli(f.t, "dead-letters list", out, sizeof out), 0);
    ck_assert_msg(strstr(out, "0 dead letters in"), "%s", out);
    fx_done(&f);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("streamd-standin");
    TCase *tc = tcase_create("standin");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, parent_is_read_to_its_end_before_its_two_children);
    tcase_add_test(tc, an_expired_iterator_is_acquired_again_from_the_checkpoint);
    tcase_add_test(tc, trimmed_records_are_logged_as_a_gap_and_reading_goes_on);
    tcase_add_test(tc, throttling_backs_off_and_loses_nothing);
    tcase_add_test(tc, duplicate_delivery_leaves_the_same_table);
    tcase_add_test(tc, an_outage_is_waited_out_not_dead_lettered);
    tcase_add_test(tc, once_gives_up_on_an_outage_that_lasts);
    tcase_add_test(tc, a_colliding_record_is_a_dead_letter_until_replayed);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tap_run(suite());
}
