/* live_groupsync.c — pattern E against DynamoDB Local: stream records (built in GetRecords'
 * shape, and real ones read from the table's stream) move both group rows of a conversation
 * forward, never backwards, idempotently, and correctly under concurrent appliers. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "aws/ddb.h"
#include "aws/ddb_av.h"
#include "aws/ddbstreams.h"
#include "base/clock.h"
#include "base/embed.h"
#include "base/rnd.h"
#include "live.h"
#include "support_server.h"
#include "messaging/groupsync.h"
#include "messaging/groupsync_cache.h"
#include "messaging/messaging.h"
#include "tap.h"

static char g_table[64];

/* ---- data ------------------------------------------------------------------------------------ */

typedef struct person {
    char uuid[37];
    char name[32];
    char handle[32];
} person;

static void person_new(person *p, const char *name)
{
    ck_assert_int_eq(rnd_uuid4(p->uuid), 0);
    snprintf(p->name, sizeof p->name, "%s Person", name);
    snprintf(p->handle, sizeof p->handle, "%s%.6s", name, p->uuid);
}

static messaging_user as_user(const person *p)
{
    return (messaging_user){ p->uuid, p->name, p->handle };
}

/* The timestamp i seconds (plus us microseconds) after a fixed base. */
static void ts(char out[MESSAGING_TS_LEN], int i, int us)
{
    int64_t base = 1795253400LL * 1000000; /* 2026-11-21 */
    ck_assert_int_eq(clock_iso8601_us(out, MESSAGING_TS_LEN, base + (int64_t)i * 1000000 + us), 0);
}

/* me's group row of group (other participant: other) at sk with text; extra (stolen, may be
 * NULL) is merged in. */
static void put_row(ddb *d, const person *me, const person *other, const char *group,
                    const char *sk, const char *text, json_t *extra)
{
    messaging_user o = as_user(other);
    json_t *item = messaging_group_item(me->uuid, sk, group, &o, text);
    ck_assert_ptr_nonnull(item);
    if (extra)
        json_object_update(item, extra);
    json_decref(extra);
    ddb_error err;
    ck_assert_msg(ddb_put_item(d, g_table, item, NULL, &err) == 0, "%s", err.info.msg);
    json_decref(item);
}

/* A conversation of a and b with both group rows at sk. */
static void conversation(ddb *d, const person *a, const person *b, char group[37], const char *sk,
                         const char *text)
{
    ck_assert_int_eq(rnd_uuid4(group), 0);
    put_row(d, a, b, group, sk, text, NULL);
    put_row(d, b, a, group, sk, text, NULL);
}

/* A conversation of two new people, ann and bob, with both group rows at t0 (the base
 * time, filled in) and text "first". */
static void ann_and_bob(ddb *d, person *a, person *b, char group[37], char t0[MESSAGING_TS_LEN])
{
    person_new(a, "ann");
    person_new(b, "bob");
    ts(t0, 0, 0);
    conversation(d, a, b, group, t0, "first");
}

/* A stream record in the shape GetRecords returns for a message item (event INSERT or
 * MODIFY), sender from. */
static json_t *msg_record(const char *event, const char *group, const char *sk, const person *from,
                          const char *text)
{
    char mu[37];
    rnd_uuid4(mu);
    messaging_user s = as_user(from);
    json_t *img = messaging_message_item(group, sk, mu, &s, text);
    ck_assert_ptr_nonnull(img);
    json_t *keys =
        json_pack("{s:O, s:O}", "pk", json_object_get(img, "pk"), "sk", json_object_get(img, "sk"));
    static unsigned long seq = 100;
    char seqs[32], id[40];
    snprintf(seqs, sizeof seqs, "%021lu", seq++);
    snprintf(id, sizeof id, "%.8s-%.4s", mu, mu + 9);
    json_t *r = json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:{s:f, s:o, s:o, s:s, s:i, s:s}}", "eventID", id, "eventName",
        event, "eventVersion", "1.1", "eventSource", "aws:dynamodb", "awsRegion", "ddblocal",
        "dynamodb", "ApproximateCreationDateTime", 1795253400.0, "Keys", keys, "NewImage", img,
        "SequenceNumber", seqs, "SizeBytes", 180, "StreamViewType", "NEW_IMAGE");
    ck_assert_ptr_nonnull(r);
    return r;
}

/* Applies r (borrowed) and asserts status OK and the action. */
static groupsync_result apply_ok(ddb *d, const json_t *r, groupsync_action want)
{
    groupsync_result res;
    ddb_error err;
    int rc = groupsync_apply(d, g_table, r, &res, &err);
    ck_assert_msg(rc == GROUPSYNC_OK, "groupsync_apply: %d: %s", rc, err.info.msg);
    ck_assert_msg(res.action == want, "action %s, want %s", groupsync_action_name(res.action),
                  groupsync_action_name(want));
    return res;
}

/* Every group row of group through the GSI, as {"<pk>|<sk>": item}. */
static json_t *group_rows(ddb *d, const char *group)
{
    json_t *all = json_object(), *start = NULL;
    ddb_page page;
    ddb_page_init(&page);
    ddb_error err;
    do {
        ck_assert_msg(messaging_group_rows_page(d, g_table, group, start, &page, &err) == 0, "%s",
                      err.info.msg);
        size_t i;
        json_t *it;
        json_array_foreach(page.items, i, it)
        {
            char k[160];
            snprintf(k, sizeof k, "%s|%s", ddb_av_get_s(it, "pk"), ddb_av_get_s(it, "sk"));
            json_object_set(all, k, it);
        }
        json_decref(start);
        start = json_incref(page.last_key);
    } while (start);
    ddb_page_cleanup(&page);
    return all;
}

/* Every row of pk GRP#<user> (base table), as above. */
static json_t *user_rows(ddb *d, const person *p)
{
    json_t *all = json_object();
    ddb_page page;
    ddb_page_init(&page);
    ddb_error err;
    ck_assert_msg(messaging_groups_page(d, g_table, p->uuid, 0, NULL, &page, &err) == 0, "%s",
                  err.info.msg);
    ck_assert_ptr_null(page.last_key);
    size_t i;
    json_t *it;
    json_array_foreach(page.items, i, it)
    {
        char k[160];
        snprintf(k, sizeof k, "%s|%s", ddb_av_get_s(it, "pk"), ddb_av_get_s(it, "sk"));
        json_object_set(all, k, it);
    }
    ddb_page_cleanup(&page);
    return all;
}

/* Asserts group has exactly two rows, one per participant, both at sk with text, every
 * other attribute as written by put_row (all S, the other participant), none missing. */
static void assert_rows_at(ddb *d, const person *a, const person *b, const char *group,
                           const char *sk, const char *text)
{
    json_t *rows = group_rows(d, group);
    if (json_object_size(rows) != 2) {
        char *dump = json_dumps(rows, JSON_SORT_KEYS);
        fprintf(stderr, "# rows of %s: %s\n", group, dump);
        free(dump);
    }
    ck_assert_uint_eq(json_object_size(rows), 2);
    const person *who[2] = { a, b };
    for (int i = 0; i < 2; i++) {
        char k[160];
        snprintf(k, sizeof k, "GRP#%s|%s", who[i]->uuid, sk);
        json_t *row = json_object_get(rows, k);
        ck_assert_msg(row != NULL, "no row %s", k);
        ck_assert_str_eq(ddb_av_get_s(row, "message"), text);
        ck_assert_str_eq(ddb_av_get_s(row, "message_group_uuid"), group);
        const person *other = who[1 - i];
        ck_assert_str_eq(ddb_av_get_s(row, "user_uuid"), other->uuid);
        ck_assert_str_eq(ddb_av_get_s(row, "user_display_name"), other->name);
        ck_assert_str_eq(ddb_av_get_s(row, "user_handle"), other->handle);
        const char *key;
        json_t *av;
        json_object_foreach(row, key, av)
        {
            if (strcmp(key, "extra") != 0) /* as boto3 wrote them: every attribute S */
                ck_assert_msg(ddb_av_type_of(av) == DDB_AV_S, "%s is not S", key);
        }
    }
    json_decref(rows);
}

/* ---- moving ---------------------------------------------------------------------------------- */

START_TEST(a_new_message_moves_both_rows)
{
    ddb *d = live_ddb();
    person a, b;
    person_new(&a, "ann");
    person_new(&b, "bob");
    char g[37], t0[MESSAGING_TS_LEN], t1[MESSAGING_TS_LEN];
    ts(t0, 0, 0);
    ts(t1, 1, 17);
    ck_assert_int_eq(rnd_uuid4(g), 0);
    /* a's row as boto3 wrote it; b's with an extra attribute of other types, to be kept */
    put_row(d, &a, &b, g, t0, "first", NULL);
    json_t *extra = json_pack("{s:{s:{s:{s:s}, s:{s:[{s:b}, {s:s}]}}}}", "extra", "M", "n", "N",
                              "7", "l", "L", "BOOL", 1, "S", "x");
    ck_assert_ptr_nonnull(extra);
    put_row(d, &b, &a, g, t0, "first", json_incref(extra));

    json_t *r = msg_record("INSERT", g, t1, &a, "hello there");
    groupsync_result res = apply_ok(d, r, GROUPSYNC_MOVED);
    ck_assert_int_eq(res.moved, 2);
    ck_assert_int_eq(res.races, 0);
    ck_assert_int_eq(res.removed, 0);
    ck_assert_str_eq(res.group, g);
    ck_assert_str_eq(res.created_at, t1);
    assert_rows_at(d, &a, &b, g, t1, "hello there");

    json_t *rows = group_rows(d, g);
    char k[160];
    snprintf(k, sizeof k, "GRP#%s|%s", b.uuid, t1);
    ck_assert(json_equal(json_object_get(json_object_get(rows, k), "extra"),
                         json_object_get(extra, "extra")));
    snprintf(k, sizeof k, "GRP#%s|%s", a.uuid, t1);
    ck_assert_uint_eq(json_object_size(json_object_get(rows, k)), 7); /* nothing added */
    json_decref(rows);
    /* each user still has exactly one row for it, and the old keys are gone */
    json_t *ua = user_rows(d, &a), *ub = user_rows(d, &b);
    ck_assert_uint_eq(json_object_size(ua), 1);
    ck_assert_uint_eq(json_object_size(ub), 1);
    json_decref(ua);
    json_decref(ub);

    /* an edit of that message (MODIFY at the same created_at): the rows already stand there */
    json_t *m = msg_record("MODIFY", g, t1, &a, "hello there, edited");
    res = apply_ok(d, m, GROUPSYNC_CURRENT);
    ck_assert_int_eq(res.moved, 0);
    assert_rows_at(d, &a, &b, g, t1, "hello there");
    json_decref(m);
    json_decref(r);
    json_decref(extra);
    ddb_free(d);
}
END_TEST

/* ---- an index that lags (tests/tools/gsi_lag_proxy.py) ---------------------------------- */

START_TEST(rows_the_index_does_not_show_yet_are_read_consistently)
{
    ddb *d = live_ddb();
    support_server proxy;
    ddb *lag = live_ddb_lagging(&proxy);
    person a, b;
    char g[37], t0[MESSAGING_TS_LEN], t1[MESSAGING_TS_LEN], t2[MESSAGING_TS_LEN];
    ann_and_bob(d, &a, &b, g, t0);
    ts(t1, 1, 0);
    ts(t2, 2, 0);
    /* The index shows nothing, as on AWS a moment after the conversation was made: both
     * rows are found through the sender's partition and moved. */
    json_t *r = msg_record("INSERT", g, t1, &b, "reply");
    groupsync_result res = apply_ok(lag, r, GROUPSYNC_MOVED);
    ck_assert_int_eq(res.moved, 2);
    assert_rows_at(d, &a, &b, g, t1, "reply");
    json_t *st = support_server_ctl(proxy.port, "stats", NULL);
    ck_assert_int_gt(json_integer_value(json_object_get(st, "hidden")), 0);
    json_decref(st);
    json_decref(r);
    /* A message that does not name its sender cannot be traced: nothing to move then. */
    r = msg_record("INSERT", g, t2, &a, "anonymous");
    json_object_del(json_object_get(json_object_get(r, "dynamodb"), "NewImage"), "user_uuid");
    apply_ok(lag, r, GROUPSYNC_NO_GROUP);
    assert_rows_at(d, &a, &b, g, t1, "reply");
    json_decref(r);
    /* A group without rows at all stays without them. */
    char none[37];
    ck_assert_int_eq(rnd_uuid4(none), 0);
    r = msg_record("INSERT", none, t2, &a, "into nothing");
    apply_ok(lag, r, GROUPSYNC_NO_GROUP);
    json_decref(r);
    ddb_free(lag);
    support_server_stop(&proxy);
    ddb_free(d);
}
END_TEST

START_TEST(an_older_record_changes_nothing)
{
    ddb *d = live_ddb();
    person a, b;
    person_new(&a, "ann");
    person_new(&b, "bob");
    char g[37], t3[MESSAGING_TS_LEN], t5[MESSAGING_TS_LEN];
    ts(t3, 3, 0);
    ts(t5, 5, 0);
    conversation(d, &a, &b, g, t5, "five");
    json_t *before = group_rows(d, g);
    json_t *r = msg_record("INSERT", g, t3, &b, "three");
    groupsync_result res = apply_ok(d, r, GROUPSYNC_CURRENT);
    ck_assert_int_eq(res.moved, 0);
    ck_assert_str_eq(res.created_at, t3);
    json_t *after = group_rows(d, g);
    ck_assert(json_equal(before, after));
    /* one microsecond older is older too */
    char t5m[MESSAGING_TS_LEN];
    ts(t5m, 4, 999999);
    json_t *r2 = msg_record("INSERT", g, t5m, &b, "just before");
    apply_ok(d, r2, GROUPSYNC_CURRENT);
    json_t *again = group_rows(d, g);
    ck_assert(json_equal(before, again));
    json_decref(again);
    json_decref(r2);
    json_decref(after);
    json_decref(before);
    json_decref(r);
    ddb_free(d);
}
END_TEST

START_TEST(the_same_record_five_times_is_applied_once)
{
    ddb *d = live_ddb();
    person a, b;
    char g[37], t0[MESSAGING_TS_LEN], t1[MESSAGING_TS_LEN];
    ann_and_bob(d, &a, &b, g, t0);
    ts(t1, 1, 0);
    json_t *r = msg_record("INSERT", g, t1, &b, "second");
    apply_ok(d, r, GROUPSYNC_MOVED);
    json_t *once = group_rows(d, g);
    for (int i = 0; i < 4; i++) {
        groupsync_result res = apply_ok(d, r, GROUPSYNC_CURRENT);
        ck_assert_int_eq(res.moved, 0);
    }
    json_t *five = group_rows(d, g);
    ck_assert(json_equal(once, five));
    assert_rows_at(d, &a, &b, g, t1, "second");
    json_decref(five);
    json_decref(once);
    json_decref(r);
    ddb_free(d);
}
END_TEST

START_TEST(shuffled_records_end_at_the_newest)
{
    ddb *d = live_ddb();
    person a, b;
    char g[37], t0[MESSAGING_TS_LEN];
    ann_and_bob(d, &a, &b, g, t0);
    enum {
        N = 12
    };
    json_t *recs[N];
    for (int i = 0; i < N; i++) {
        char t[MESSAGING_TS_LEN], text[32];
        ts(t, 10, i * 3); /* microseconds apart */
        snprintf(text, sizeof text, "m%02d", i);
        recs[i] = msg_record(i % 3 ? "INSERT" : "MODIFY", g, t, i % 2 ? &a : &b, text);
    }
    for (int i = N - 1; i > 0; i--) {
        int j = (int)rnd_below((uint64_t)i + 1);
        json_t *x = recs[i];
        recs[i] = recs[j];
        recs[j] = x;
    }
    int moved = 0;
    for (int i = 0; i < N; i++) {
        groupsync_result res;
        ddb_error err;
        ck_assert_int_eq(groupsync_apply(d, g_table, recs[i], &res, &err), GROUPSYNC_OK);
        ck_assert(res.action == GROUPSYNC_MOVED || res.action == GROUPSYNC_CURRENT);
        moved += res.moved;
        json_decref(recs[i]);
    }
    ck_assert_int_ge(moved, 2);
    char newest[MESSAGING_TS_LEN];
    ts(newest, 10, (N - 1) * 3);
    assert_rows_at(d, &a, &b, g, newest, "m11");
    ddb_free(d);
}
END_TEST

/* ---- what is left alone ---------------------------------------------------------------------- */

START_TEST(group_rows_idempotency_records_and_removals_are_ignored)
{
    ddb *d = live_ddb();
    person a, b;
    char g[37], t0[MESSAGING_TS_LEN], t1[MESSAGING_TS_LEN];
    ann_and_bob(d, &a, &b, g, t0);
    ts(t1, 1, 0);
    json_t *before = group_rows(d, g);

    /* the INSERT of a group row at a newer time (as pattern D's stream records look) */
    json_t *r = msg_record("INSERT", g, t1, &a, "newer");
    json_t *dyn = json_object_get(r, "dynamodb");
    char pk[64];
    snprintf(pk, sizeof pk, "GRP#%s", a.uuid);
    json_object_set_new(json_object_get(dyn, "NewImage"), "pk", ddb_av_s(pk));
    json_object_set_new(json_object_get(dyn, "NewImage"), "message_group_uuid", ddb_av_s(g));
    json_object_set_new(json_object_get(dyn, "Keys"), "pk", ddb_av_s(pk));
    groupsync_result res = apply_ok(d, r, GROUPSYNC_IGNORED);
    ck_assert_str_eq(res.group, "");
    json_decref(r);

    /* an idempotency record of the API */
    r = msg_record("INSERT", g, t1, &a, "newer");
    dyn = json_object_get(r, "dynamodb");
    json_object_set_new(dyn, "NewImage",
                        json_pack("{s:{s:s}, s:{s:s}, s:{s:s}}", "pk", "S", "IDEM#u#k", "sk", "S",
                                  "IDEM", "ttl", "N", "1795253400"));
    json_object_set_new(dyn, "Keys",
                        json_pack("{s:{s:s}, s:{s:s}}", "pk", "S", "IDEM#u#k", "sk", "S", "IDEM"));
    apply_ok(d, r, GROUPSYNC_IGNORED);
    json_decref(r);

    /* the removal of a newer message (REMOVE records of a NEW_IMAGE stream carry Keys only) */
    r = msg_record("REMOVE", g, t1, &a, "newer");
    json_object_del(json_object_get(r, "dynamodb"), "NewImage");
    apply_ok(d, r, GROUPSYNC_IGNORED);
    json_decref(r);

    json_t *after = group_rows(d, g);
    ck_assert(json_equal(before, after));
    json_decref(after);

    /* a message of a group without group rows: nothing to move */
    char lonely[37];
    rnd_uuid4(lonely);
    r = msg_record("INSERT", lonely, t1, &a, "hello?");
    res = apply_ok(d, r, GROUPSYNC_NO_GROUP);
    ck_assert_int_eq(res.moved, 0);
    ck_assert_str_eq(res.group, lonely);
    json_decref(r);
    json_decref(before);
    ddb_free(d);
}
END_TEST

START_TEST(malformed_message_images_are_bad)
{
    ddb *d = live_ddb();
    person a, b;
    char g[37], t0[MESSAGING_TS_LEN], t1[MESSAGING_TS_LEN];
    ann_and_bob(d, &a, &b, g, t0);
    ts(t1, 1, 0);
    json_t *before = group_rows(d, g);
    const char *what[] = { "message", "sk", "pk" };
    for (int i = 0; i < 3; i++) {
        json_t *r = msg_record("INSERT", g, t1, &a, "secret words");
        json_t *img = json_object_get(json_object_get(r, "dynamodb"), "NewImage");
        if (i == 0)
            json_object_set_new(img, "message", json_pack("{s:s}", "N", "42"));
        else if (i == 1)
            json_object_del(img, "sk");
        else
            json_object_set_new(img, "pk", ddb_av_s("MSG#not-a-uuid"));
        groupsync_result res;
        ddb_error err;
        ck_assert_int_eq(groupsync_apply(d, g_table, r, &res, &err), GROUPSYNC_BAD);
        ck_assert_msg(err.info.code == ERR_INVALID, "%s: %s", what[i], err.info.msg);
        ck_assert_ptr_null(strstr(err.info.msg, "secret"));
        ck_assert_int_eq(res.moved, 0);
        json_decref(r);
    }
    json_t *after = group_rows(d, g);
    ck_assert(json_equal(before, after));
    json_decref(after);
    json_decref(before);
    ddb_free(d);
}
END_TEST

START_TEST(a_collision_with_another_conversation_is_bad_and_overwrites_nothing)
{
    ddb *d = live_ddb();
    person a, b, c;
    person_new(&a, "ann");
    person_new(&b, "bob");
    person_new(&c, "cat");
    char g1[37], g2[37], t0[MESSAGING_TS_LEN], t2[MESSAGING_TS_LEN];
    ts(t0, 0, 0);
    ts(t2, 2, 123456);
    conversation(d, &a, &b, g1, t0, "ann and bob");
    conversation(d, &a, &c, g2, t2, "ann and cat"); /* its last message: this microsecond */
    json_t *g2_before = group_rows(d, g2);

    /* a message of g1 in the very microsecond of g2's last: ann's row of g1 cannot move */
    json_t *r = msg_record("INSERT", g1, t2, &b, "bob at the same time");
    for (int round = 0; round < 2; round++) {
        groupsync_result res;
        ddb_error err;
        ck_assert_int_eq(groupsync_apply(d, g_table, r, &res, &err), GROUPSYNC_BAD);
        ck_assert_msg(strstr(err.info.msg, "same microsecond") && strstr(err.info.msg, g2) &&
                          strstr(err.info.msg, a.uuid),
                      "%s", err.info.msg);
        ck_assert_ptr_null(strstr(err.info.msg, "bob at the same time"));
        ck_assert_int_eq(res.moved, round == 0 ? 1 : 0); /* bob's row moves the first time */
        ck_assert_str_eq(res.group, g1);
    }
    json_t *g2_after = group_rows(d, g2);
    ck_assert(json_equal(g2_before, g2_after));
    json_t *g1_rows = group_rows(d, g1);
    char k[160];
    snprintf(k, sizeof k, "GRP#%s|%s", a.uuid, t0); /* ann's row of g1 stays where it was */
    ck_assert_str_eq(ddb_av_get_s(json_object_get(g1_rows, k), "message"), "ann and bob");
    snprintf(k, sizeof k, "GRP#%s|%s", b.uuid, t2);
    ck_assert_str_eq(ddb_av_get_s(json_object_get(g1_rows, k), "message"), "bob at the same time");
    ck_assert_uint_eq(json_object_size(g1_rows), 2);
    json_t *ua = user_rows(d, &a);
    ck_assert_uint_eq(json_object_size(ua), 2);
    json_decref(ua);
    json_decref(g1_rows);
    json_decref(g2_after);
    json_decref(g2_before);
    json_decref(r);
    ddb_free(d);
}
END_TEST

START_TEST(a_stale_duplicate_group_row_is_removed)
{
    ddb *d = live_ddb();
    person a, b;
    char g[37], t0[MESSAGING_TS_LEN], t1[MESSAGING_TS_LEN], t2[MESSAGING_TS_LEN];
    ann_and_bob(d, &a, &b, g, t0);
    ts(t1, 1, 0);
    ts(t2, 2, 0);
    put_row(d, &a, &b, g, t1, "second", NULL); /* ann has two rows of the group */
    json_t *r = msg_record("INSERT", g, t2, &b, "third");
    groupsync_result res = apply_ok(d, r, GROUPSYNC_MOVED);
    ck_assert_int_eq(res.moved, 2);
    ck_assert_int_eq(res.removed, 1);
    assert_rows_at(d, &a, &b, g, t2, "third");
    json_decref(r);
    ddb_free(d);
}
END_TEST

/* ---- concurrency ----------------------------------------------------------------------------- */

enum {
    PROCS = 4,
    PER_PROC = 25
};

/* Child: applies its own records, retrying RETRY; writes {lost races, RETRY results} to fd. */
static void child(const char *g, const person *a, int p, int fd)
{
    errinfo e;
    ddb *d = live_ddb_open(&e);
    int counts[2] = { 0, 0 }, status = d ? 0 : 3;
    for (int i = 0; i < PER_PROC && status == 0; i++) {
        int n = i * PROCS + p;
        char t[MESSAGING_TS_LEN], text[32];
        ts(t, 20, n);
        snprintf(text, sizeof text, "c%03d", n);
        json_t *r = msg_record("INSERT", g, t, a, text);
        int rc = GROUPSYNC_RETRY;
        for (int tries = 0; tries < 30 && rc == GROUPSYNC_RETRY; tries++) {
            groupsync_result res;
            ddb_error err;
            rc = groupsync_apply(d, g_table, r, &res, &err);
            counts[0] += res.races;
            if (rc == GROUPSYNC_RETRY) {
                counts[1]++;
                clock_sleep_ms(5 + (int64_t)rnd_below(20));
            } else if (rc != GROUPSYNC_OK)
                fprintf(stderr, "# child %d: %s\n", p, err.info.msg);
        }
        if (rc != GROUPSYNC_OK)
            status = 2;
        json_decref(r);
    }
    if (write(fd, counts, sizeof counts) != (ssize_t)sizeof counts)
        status = 4;
    ddb_free(d);
    _exit(status);
}

START_TEST(concurrent_appliers_end_at_the_newest_with_two_rows)
{
    ddb *d = live_ddb();
    person a, b, c, x;
    person_new(&a, "ann");
    person_new(&b, "bob");
    person_new(&c, "cat");
    person_new(&x, "xav");
    char g[37], g2[37], g3[37], t0[MESSAGING_TS_LEN], t9[MESSAGING_TS_LEN];
    ts(t0, 0, 0);
    ts(t9, 9, 0);
    conversation(d, &a, &b, g, t0, "first");
    conversation(d, &a, &c, g2, t9, "ann and cat"); /* the users' other conversations */
    char t1[MESSAGING_TS_LEN];
    ts(t1, 1, 0); /* not t0: bob's two group rows would share a key */
    conversation(d, &b, &x, g3, t1, "bob and xav");
    json_t *other_before =
        json_pack("{s:o, s:o}", "g2", group_rows(d, g2), "g3", group_rows(d, g3));
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    pid_t pids[PROCS];
    int64_t t_start = clock_mono_ms();
    for (int p = 0; p < PROCS; p++) {
        pids[p] = fork();
        ck_assert_int_ge(pids[p], 0);
        if (pids[p] == 0) {
            close(fds[0]);
            child(g, p % 2 ? &a : &b, p, fds[1]);
        }
    }
    close(fds[1]);
    for (int p = 0; p < PROCS; p++) {
        int st = 0;
        ck_assert_int_eq(waitpid(pids[p], &st, 0), pids[p]);
        ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child %d: status %d", p, st);
    }
    int races = 0, retries = 0, one[2];
    while (read(fds[0], one, sizeof one) == (ssize_t)sizeof one) {
        races += one[0];
        retries += one[1];
    }
    close(fds[0]);
    printf("# %d appliers x %d records: %lld ms, %d lost races, %d RETRY results\n", PROCS,
           PER_PROC, (long long)(clock_mono_ms() - t_start), races, retries);

    char newest[MESSAGING_TS_LEN], text[32];
    ts(newest, 20, PROCS * PER_PROC - 1);
    snprintf(text, sizeof text, "c%03d", PROCS * PER_PROC - 1);
    assert_rows_at(d, &a, &b, g, newest, text);
    json_t *ua = user_rows(d, &a), *ub = user_rows(d, &b);
    ck_assert_uint_eq(json_object_size(ua), 2); /* g and g2 */
    ck_assert_uint_eq(json_object_size(ub), 2); /* g and g3 */
    json_t *other_after = json_pack("{s:o, s:o}", "g2", group_rows(d, g2), "g3", group_rows(d, g3));
    ck_assert(json_equal(other_before, other_after));
    json_decref(other_after);
    json_decref(other_before);
    json_decref(ua);
    json_decref(ub);
    ddb_free(d);
}
END_TEST

/* ---- real records ---------------------------------------------------------------------------- */

/* Every record of the table's stream from TRIM_HORIZON, until want records of pk have been
 * seen or 15 s pass. New array. */
static json_t *stream_records(ddb *d, const char *pk, size_t want)
{
    ddb_error err;
    json_t *desc = NULL, *shards = NULL;
    ck_assert_msg(ddb_describe_table(d, g_table, &desc, &err) == 0, "%s", err.info.msg);
    const char *arn = json_string_value(json_object_get(desc, "LatestStreamArn"));
    ck_assert_ptr_nonnull(arn);
    ck_assert_msg(ddbstreams_describe(d, arn, NULL, &shards, &err) == 0, "%s", err.info.msg);
    json_t *out = json_array();
    size_t seen = 0;
    int64_t deadline = clock_mono_ms() + 15000;
    size_t i;
    json_t *sh;
    json_array_foreach(shards, i, sh)
    {
        char *it = NULL;
        ck_assert_int_eq(ddbstreams_iterator(d, arn,
                                             json_string_value(json_object_get(sh, "ShardId")),
                                             DDBSTREAMS_TRIM_HORIZON, NULL, &it, &err),
                         0);
        int empty = 0;
        while (it && clock_mono_ms() < deadline && (seen < want || empty < 1)) {
            json_t *recs = NULL;
            char *next = NULL;
            ck_assert_msg(ddbstreams_records(d, it, 1000, &recs, &next, &err) == 0, "%s",
                          err.info.msg);
            size_t j;
            json_t *r;
            json_array_foreach(recs, j, r)
            {
                const char *p =
                    ddb_av_get_s(json_object_get(json_object_get(r, "dynamodb"), "Keys"), "pk");
                if (p && strcmp(p, pk) == 0)
                    seen++;
            }
            size_t got = json_array_size(recs);
            empty = got == 0 ? empty + 1 : 0;
            json_array_extend(out, recs);
            json_decref(recs);
            free(it);
            it = next;
            if (got == 0)
                clock_sleep_ms(50);
        }
        free(it);
    }
    ck_assert_uint_ge(seen, want);
    json_decref(shards);
    json_decref(desc);
    return out;
}

/* The member names of o, sorted, joined by ",". */
static void names_of(const json_t *o, char *out, size_t outlen)
{
    const char *names[32];
    size_t n = 0;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)o, k, v)
    {
        if (n < 32)
            names[n++] = k;
    }
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
            const char *t = names[j];
            names[j] = names[j - 1];
            names[j - 1] = t;
        }
    out[0] = '\0';
    size_t used = 0;
    for (size_t i = 0; i < n; i++) {
        int w = snprintf(out + used, outlen - used, "%s%s", i ? "," : "", names[i]);
        ck_assert(w > 0 && (size_t)w < outlen - used);
        used += (size_t)w;
    }
}

START_TEST(real_stream_records_apply_and_replay_changes_nothing)
{
    ddb *d = live_ddb();
    person a, b;
    char g[37], t0[MESSAGING_TS_LEN], t1[MESSAGING_TS_LEN], t2[MESSAGING_TS_LEN];
    ann_and_bob(d, &a, &b, g, t0);
    ts(t1, 31, 0);
    ts(t2, 32, 0);
    /* two messages through pattern C, as the API writes them */
    const char *stamps[2] = { t1, t2 };
    const char *texts[2] = { "real one", "real two" };
    for (int i = 0; i < 2; i++) {
        char mu[37];
        rnd_uuid4(mu);
        messaging_user s = as_user(i ? &a : &b);
        json_t *it = messaging_message_item(g, stamps[i], mu, &s, texts[i]);
        ddb_error err;
        ck_assert_msg(messaging_put_message(d, g_table, it, &err) == 0, "%s", err.info.msg);
        json_decref(it);
    }
    char pk[64];
    snprintf(pk, sizeof pk, "MSG#%s", g);
    json_t *recs = stream_records(d, pk, 2);

    /* the records built by this test have the shape of the real ones */
    json_t *mine = NULL;
    size_t i;
    json_t *r;
    json_array_foreach(recs, i, r)
    {
        const char *p = ddb_av_get_s(json_object_get(json_object_get(r, "dynamodb"), "Keys"), "pk");
        if (p && strcmp(p, pk) == 0) {
            mine = r;
            break;
        }
    }
    ck_assert_ptr_nonnull(mine);
    json_t *built = msg_record("INSERT", g, t1, &b, "x");
    char want[512], have[512];
    names_of(mine, want, sizeof want);
    names_of(built, have, sizeof have);
    ck_assert_str_eq(have, want);
    names_of(json_object_get(mine, "dynamodb"), want, sizeof want);
    names_of(json_object_get(built, "dynamodb"), have, sizeof have);
    ck_assert_str_eq(have, want);
    json_decref(built);

    /* apply the whole stream in order (every earlier test's records included): group-row
     * records are ignored, only this test wrote message items */
    for (int pass = 0; pass < 2; pass++) {
        int moved = 0;
        json_array_foreach(recs, i, r)
        {
            groupsync_result res;
            ddb_error err;
            int rc = groupsync_apply(d, g_table, r, &res, &err);
            ck_assert_msg(rc == GROUPSYNC_OK, "record %zu: %s", i, err.info.msg);
            const char *p =
                ddb_av_get_s(json_object_get(json_object_get(r, "dynamodb"), "Keys"), "pk");
            if (strcmp(p, pk) != 0)
                ck_assert_int_eq(res.action, GROUPSYNC_IGNORED);
            moved += res.moved;
        }
        ck_assert_int_eq(moved, (pass == 0 ? 4 : 0)); /* replayed: nothing changes */
        assert_rows_at(d, &a, &b, g, t2, "real two");
    }
    json_decref(recs);
    ddb_free(d);
}
END_TEST

/* ---- the table ------------------------------------------------------------------------------- */

/* ---- the cache of rows (a second applier moves the rows behind the cache's back) ------------- */

static groupsync_result apply_cached_ok(ddb *d, groupsync_cache *c, const json_t *r,
                                        groupsync_action want)
{
    groupsync_result res;
    ddb_error err;
    int rc = groupsync_apply_cached(d, g_table, c, r, &res, &err);
    ck_assert_msg(rc == GROUPSYNC_OK, "groupsync_apply_cached: %d: %s", rc, err.info.msg);
    ck_assert_msg(res.action == want, "action %s, want %s", groupsync_action_name(res.action),
                  groupsync_action_name(want));
    return res;
}

START_TEST(a_stale_cache_never_moves_rows_back_nor_writes_stale_attributes)
{
    ddb *d = live_ddb();
    groupsync_cache *c = groupsync_cache_new(64);
    person a, b;
    char g[37], t0[MESSAGING_TS_LEN], t1[MESSAGING_TS_LEN], t2[MESSAGING_TS_LEN],
        t3[MESSAGING_TS_LEN], t4[MESSAGING_TS_LEN];
    ann_and_bob(d, &a, &b, g, t0);
    ts(t1, 1, 0);
    ts(t2, 2, 0);
    ts(t3, 3, 0);
    ts(t4, 4, 0);
    /* the cache learns the rows at t1 */
    json_t *r1 = msg_record("INSERT", g, t1, &a, "one");
    ck_assert_int_eq(apply_cached_ok(d, c, r1, GROUPSYNC_MOVED).moved, 2);
    /* another daemon (no cache) moves them to t3 */
    json_t *r3 = msg_record("INSERT", g, t3, &b, "three");
    apply_ok(d, r3, GROUPSYNC_MOVED);
    /* t2 through the stale cache: the cancelled move re-reads, finds them current */
    json_t *r2 = msg_record("INSERT", g, t2, &a, "two");
    groupsync_result res = apply_cached_ok(d, c, r2, GROUPSYNC_CURRENT);
    ck_assert_int_eq(res.moved, 0);
    ck_assert_int_eq(res.races, 1);
    assert_rows_at(d, &a, &b, g, t3, "three");
    groupsync_cache_stats st;
    groupsync_cache_get_stats(c, &st);
    ck_assert_uint_eq(st.stale, 1);
    /* a row replaced by hand (another display name) behind the now fresh cache: t4 moves
     * the rows as they are, the old name is never written back */
    snprintf(b.name, sizeof b.name, "Bob Renamed");
    put_row(d, &a, &b, g, t3, "three", NULL);
    json_t *r4 = msg_record("INSERT", g, t4, &a, "four");
    res = apply_cached_ok(d, c, r4, GROUPSYNC_MOVED);
    ck_assert_int_eq(res.moved, 2);
    assert_rows_at(d, &a, &b, g, t4, "four");
    groupsync_cache_get_stats(c, &st);
    ck_assert_uint_eq(st.stale, 2);
    /* and the cache now saves the Query: t3 again changes nothing, asks nothing */
    res = apply_cached_ok(d, c, r3, GROUPSYNC_CURRENT);
    ck_assert(res.cached);
    assert_rows_at(d, &a, &b, g, t4, "four");
    json_decref(r1);
    json_decref(r2);
    json_decref(r3);
    json_decref(r4);
    groupsync_cache_free(c);
    ddb_free(d);
}
END_TEST

static int table_create(void)
{
    live_name("gsync", g_table);
    errinfo e;
    ddb *d = live_ddb_open(&e);
    char err[512];
    bool created;
    int rc = live_make_table(d, g_table, true, &created, err, sizeof err);
    if (rc != 0)
        fprintf(stderr, "table %s: %s\n", g_table, err);
    ddb_free(d);
    return rc;
}

static void table_delete(void)
{
    errinfo e;
    ddb *d = live_ddb_open(&e);
    ddb_error err;
    if (d && ddb_delete_table(d, g_table, &err) != 0)
        fprintf(stderr, "delete table %s: %s\n", g_table, err.info.msg);
    ddb_free(d);
}

static Suite *groupsync_suite(void)
{
    Suite *s = suite_create("groupsync");
    TCase *tc = tcase_create("moving");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, a_new_message_moves_both_rows);
    tcase_add_test(tc, rows_the_index_does_not_show_yet_are_read_consistently);
    tcase_add_test(tc, an_older_record_changes_nothing);
    tcase_add_test(tc, the_same_record_five_times_is_applied_once);
    tcase_add_test(tc, shuffled_records_end_at_the_newest);
    tcase_add_test(tc, a_stale_duplicate_group_row_is_removed);
    tcase_add_test(tc, a_stale_cache_never_moves_rows_back_nor_writes_stale_attributes);
    suite_add_tcase(s, tc);
    tc = tcase_create("left alone");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, group_rows_idempotency_records_and_removals_are_ignored);
    tcase_add_test(tc, malformed_message_images_are_bad);
    tcase_add_test(tc, a_collision_with_another_conversation_is_bad_and_overwrites_nothing);
    suite_add_tcase(s, tc);
    tc = tcase_create("concurrency");
    tcase_set_timeout(tc, 180);
    tcase_add_test(tc, concurrent_appliers_end_at_the_newest_with_two_rows);
    suite_add_tcase(s, tc);
    tc = tcase_create("real records");
    tcase_set_timeout(tc, 90);
    tcase_add_test(tc, real_stream_records_apply_and_replay_changes_nothing);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    live_ddb_endpoint();
    if (table_create() != 0) {
        table_delete();
        return EXIT_FAILURE;
    }
    int rc = tap_run(groupsync_suite());
    table_delete();
    return rc;
}
