/* check_groupsync.c — pattern E without a server: which stream records are messages, which
 * are ignored, and which are malformed (and that no error ever quotes message text); the
 * planner's rules (groupsync_plan.h) as tables; and the I/O around them against the
 * scripted DynamoDB (a cancelled transaction, then a re-read; a collision, then GetItem). */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/ddb_av.h"
#include "aws/awsjson.h"
#include "ddbscript.h"
#include "messaging/groupsync.h"
#include "messaging/groupsync_cache.h"
#include "messaging/groupsync_plan.h"
#include "messaging/groupsync_together.h"
#include "tap.h"

#define GROUP "0b4c6e2a-1f3d-4a5b-8c7d-9e0f1a2b3c4d"
#define TS "2026-11-21T09:30:00.123456+00:00"
#define SECRET "do-not-log-this-text"

/* A record in GetRecords' shape; keys and image are stolen (either may be NULL). */
static json_t *record(const char *event, json_t *keys, json_t *image)
{
    json_t *dyn = json_pack("{s:f, s:s, s:i, s:s}", "ApproximateCreationDateTime", 1795253400.0,
                            "SequenceNumber", "000000000000000000042", "SizeBytes", 120,
                            "StreamViewType", "NEW_IMAGE");
    if (keys)
        json_object_set_new(dyn, "Keys", keys);
    if (image)
        json_object_set_new(dyn, "NewImage", image);
    json_t *r = json_pack("{s:s, s:s, s:s, s:s, s:o}", "eventID", "e1b2c3", "eventVersion", "1.1",
                          "eventSource", "aws:dynamodb", "awsRegion", "ddblocal", "dynamodb", dyn);
    if (event)
        json_object_set_new(r, "eventName", json_string(event));
    ck_assert_ptr_nonnull(r);
    return r;
}

static json_t *key(const char *pk, const char *sk)
{
    return json_pack("{s:o, s:o}", "pk", ddb_av_s(pk), "sk", ddb_av_s(sk));
}

static json_t *msg_image(const char *pk, const char *sk, const char *text)
{
    return json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "pk", ddb_av_s(pk), "sk", ddb_av_s(sk),
                     "message", ddb_av_s(text), "message_uuid",
                     ddb_av_s("5f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9"), "user_uuid",
                     ddb_av_s("11111111-2222-4333-8444-555555555555"), "user_display_name",
                     ddb_av_s("Alice A"), "user_handle", ddb_av_s("alice"));
}

/* A valid INSERT of a message of GROUP at TS. */
static json_t *msg_record(void)
{
    return record("INSERT", key("MSG#" GROUP, TS), msg_image("MSG#" GROUP, TS, SECRET));
}

static void expect_ignored(json_t *r)
{
    groupsync_msg m;
    errinfo e;
    ck_assert_int_eq(groupsync_parse_record(r, &m, &e), GROUPSYNC_OK);
    ck_assert(!m.is_message);
    ck_assert_str_eq(m.group, "");
    ck_assert_ptr_null(m.message);
    /* and applying it needs no server */
    groupsync_result res;
    ddb_error err;
    ck_assert_int_eq(groupsync_apply(NULL, NULL, r, &res, &err), GROUPSYNC_OK);
    ck_assert_int_eq(res.action, GROUPSYNC_IGNORED);
    ck_assert_str_eq(res.group, "");
    ck_assert_str_eq(res.created_at, "");
    ck_assert_int_eq(res.moved, 0);
    json_decref(r);
}

/* Asserts r is malformed with a message containing want; takes r. */
static void expect_bad(json_t *r, const char *want)
{
    groupsync_msg m;
    errinfo e;
    ck_assert_int_eq(groupsync_parse_record(r, &m, &e), GROUPSYNC_BAD);
    ck_assert(!m.is_message);
    ck_assert_int_eq(e.code, ERR_INVALID);
    ck_assert_msg(strstr(e.msg, want) != NULL, "'%s' does not say '%s'", e.msg, want);
    ck_assert_msg(strstr(e.msg, SECRET) == NULL, "error quotes message text: %s", e.msg);
    ck_assert_uint_lt(strlen(e.msg), 200);
    groupsync_result res;
    ddb_error err;
    ck_assert_int_eq(groupsync_apply(NULL, "t", r, &res, &err), GROUPSYNC_BAD);
    ck_assert_int_eq(err.info.code, ERR_INVALID);
    ck_assert_str_eq(err.info.msg, e.msg);
    ck_assert_int_eq(res.moved, 0);
    json_decref(r);
}

/* ---- messages ------------------------------------------------------------------------------ */

START_TEST(insert_of_a_message_is_a_message)
{
    json_t *r = msg_record();
    groupsync_msg m;
    errinfo e;
    ck_assert_int_eq(groupsync_parse_record(r, &m, &e), GROUPSYNC_OK);
    ck_assert(m.is_message);
    ck_assert_str_eq(m.group, GROUP);
    ck_assert_str_eq(m.created_at, TS);
    ck_assert_ptr_eq(
        m.message,
        json_object_get(json_object_get(json_object_get(r, "dynamodb"), "NewImage"), "message"));
    ck_assert_str_eq(
        ddb_av_get_s(json_object_get(json_object_get(r, "dynamodb"), "NewImage"), "message"),
        SECRET);
    ck_assert_str_eq(m.sender, "11111111-2222-4333-8444-555555555555");
    json_decref(r);
    /* the sender is optional: missing, not a string or not a uuid leaves it empty */
    const char *bad_senders[] = { NULL, "N", "not-a-uuid" };
    for (size_t i = 0; i < sizeof bad_senders / sizeof *bad_senders; i++) {
        r = msg_record();
        json_t *img = json_object_get(json_object_get(r, "dynamodb"), "NewImage");
        if (!bad_senders[i])
            json_object_del(img, "user_uuid");
        else if (strcmp(bad_senders[i], "N") == 0)
            json_object_set_new(img, "user_uuid", json_pack("{s:s}", "N", "7"));
        else
            json_object_set_new(img, "user_uuid", ddb_av_s(bad_senders[i]));
        ck_assert_int_eq(groupsync_parse_record(r, &m, &e), GROUPSYNC_OK);
        ck_assert(m.is_message);
        ck_assert_str_eq(m.sender, "");
        json_decref(r);
    }
}
END_TEST

START_TEST(modify_and_variants_are_messages)
{
    const char *stamps[] = { TS, "2026-11-21T09:30:00+00:00", "2026-11-21T09:30:00.5Z",
                             "2026-11-21T04:30:00.123456-05:00",
                             "2026-11-21T09:30:00.123456789+00:00" };
    for (size_t i = 0; i < sizeof stamps / sizeof stamps[0]; i++) {
        json_t *r = record(i % 2 ? "MODIFY" : "INSERT", key("MSG#" GROUP, stamps[i]),
                           msg_image("MSG#" GROUP, stamps[i], "hi"));
        groupsync_msg m;
        errinfo e;
        ck_assert_msg(groupsync_parse_record(r, &m, &e) == GROUPSYNC_OK, "%s: %s", stamps[i],
                      e.msg);
        ck_assert(m.is_message);
        ck_assert_str_eq(m.created_at, stamps[i]);
        json_decref(r);
    }
    /* no Keys (only the image), an upper-case uuid, an empty text, the largest text */
    json_t *r = record("INSERT", NULL, msg_image("MSG#" GROUP, TS, ""));
    groupsync_msg m;
    errinfo e;
    ck_assert_int_eq(groupsync_parse_record(r, &m, &e), GROUPSYNC_OK);
    ck_assert(m.is_message);
    json_decref(r);
    r = record("INSERT", NULL, msg_image("MSG#0B4C6E2A-1F3D-4A5B-8C7D-9E0F1A2B3C4D", TS, "x"));
    ck_assert_int_eq(groupsync_parse_record(r, &m, &e), GROUPSYNC_OK);
    ck_assert_str_eq(m.group, "0B4C6E2A-1F3D-4A5B-8C7D-9E0F1A2B3C4D");
    json_decref(r);
    char *big = malloc(GROUPSYNC_MESSAGE_MAX + 2);
    memset(big, 'a', GROUPSYNC_MESSAGE_MAX + 1);
    big[GROUPSYNC_MESSAGE_MAX] = '\0';
    r = record("INSERT", NULL, msg_image("MSG#" GROUP, TS, big));
    ck_assert_int_eq(groupsync_parse_record(r, &m, &e), GROUPSYNC_OK);
    json_decref(r);
    big[GROUPSYNC_MESSAGE_MAX] = 'a';
    big[GROUPSYNC_MESSAGE_MAX + 1] = '\0';
    expect_bad(record("INSERT", NULL, msg_image("MSG#" GROUP, TS, big)), "longer than");
    free(big);
}
END_TEST

/* ---- ignored ------------------------------------------------------------------------------- */

START_TEST(removals_are_ignored)
{
    /* NEW_IMAGE of a removal has only Keys */
    expect_ignored(record("REMOVE", key("MSG#" GROUP, TS), NULL));
    expect_ignored(record("REMOVE", key("GRP#" GROUP, TS), NULL));
    /* even a removal with odd contents never counts */
    expect_ignored(record("REMOVE", NULL, NULL));
}
END_TEST

START_TEST(group_rows_and_other_items_are_ignored)
{
    json_t *grp = json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "pk",
                            ddb_av_s("GRP#11111111-2222-4333-8444-555555555555"), "sk",
                            ddb_av_s(TS), "message_group_uuid", ddb_av_s(GROUP), "message",
                            ddb_av_s("hi"), "user_uuid", ddb_av_s(GROUP), "user_display_name",
                            ddb_av_s("Bob"), "user_handle", ddb_av_s("bob"));
    json_t *k = key("GRP#11111111-2222-4333-8444-555555555555", TS);
    expect_ignored(record("INSERT", k, grp));
    expect_ignored(record("MODIFY", key("GRP#x", TS),
                          json_pack("{s:o, s:o}", "pk", ddb_av_s("GRP#x"), "sk", ddb_av_s(TS))));
    /* idempotency records of the API, and anything else */
    json_t *idem = json_pack("{s:o, s:o, s:o}", "pk", ddb_av_s("IDEM#abc#def"), "sk",
                             ddb_av_s("IDEM"), "ttl", ddb_av_n_i64(1795253400));
    expect_ignored(record("INSERT", key("IDEM#abc#def", "IDEM"), idem));
    expect_ignored(record("INSERT", key("USER#1", "x"), NULL)); /* a KEYS_ONLY record */
    expect_ignored(record("INSERT", key("MSG", TS), NULL));
    expect_ignored(record("INSERT", key("msg#" GROUP, TS), NULL));
    expect_ignored(record("INSERT", key("", TS), NULL));
}
END_TEST

/* ---- malformed ----------------------------------------------------------------------------- */

START_TEST(records_that_are_not_records_are_bad)
{
    expect_bad(json_null(), "not a JSON object");
    expect_bad(json_pack("[s]", "INSERT"), "not a JSON object");
    expect_bad(record(NULL, key("MSG#" GROUP, TS), NULL), "no eventName");
    json_t *r = msg_record();
    json_object_set_new(r, "eventName", json_integer(1));
    expect_bad(r, "no eventName");
    expect_bad(record("UPDATE", key("MSG#" GROUP, TS), NULL), "unknown eventName");
    expect_bad(record("insert", key("MSG#" GROUP, TS), NULL), "unknown eventName");
    r = msg_record();
    json_object_del(r, "dynamodb");
    expect_bad(r, "no dynamodb object");
    r = msg_record();
    json_object_set_new(r, "dynamodb", json_string("x"));
    expect_bad(r, "no dynamodb object");
    expect_bad(record("INSERT", json_array(), NULL), "Keys is not an object");
    expect_bad(record("INSERT", NULL, json_string(SECRET)), "NewImage is not an object");
    expect_bad(record("INSERT", NULL, NULL), "no pk");
    expect_bad(record("MODIFY", json_object(), json_object()), "no pk");
    expect_bad(record("INSERT", json_pack("{s:{s:s}}", "pk", "N", "1"), NULL),
               "pk is not a string");
    expect_bad(record("INSERT", json_pack("{s:{s:i}}", "pk", "S", 1), NULL), "pk is not a string");
    expect_bad(record("INSERT", json_pack("{s:{s:s, s:s}}", "pk", "S", "MSG#x", "N", "1"), NULL),
               "pk is not a string");
    expect_bad(record("INSERT", key("MSG#" GROUP, TS),
                      msg_image("MSG#1b4c6e2a-1f3d-4a5b-8c7d-9e0f1a2b3c4d", TS, SECRET)),
               "disagree on pk");
}
END_TEST

START_TEST(message_items_without_a_usable_image_are_bad)
{
    /* a KEYS_ONLY (or OLD_IMAGE) stream gives no NewImage */
    expect_bad(record("INSERT", key("MSG#" GROUP, TS), NULL), "without NewImage");
    /* the group uuid */
    const char *pks[] = { "MSG#",
                          "MSG#x",
                          "MSG#" GROUP "0",
                          "MSG#0b4c6e2a-1f3d-4a5b-8c7d-9e0f1a2b3c4g",
                          "MSG#0b4c6e2a+1f3d-4a5b-8c7d-9e0f1a2b3c4d",
                          "MSG#" GROUP "#x" };
    for (size_t i = 0; i < sizeof pks / sizeof pks[0]; i++)
        expect_bad(record("INSERT", NULL, msg_image(pks[i], TS, SECRET)), "not MSG#<uuid>");
    /* sk: missing, wrong type, not a time, too long, a NUL inside, disagreeing with Keys */
    json_t *img = msg_image("MSG#" GROUP, TS, SECRET);
    json_object_del(img, "sk");
    expect_bad(record("INSERT", NULL, img), "without a string sk");
    img = msg_image("MSG#" GROUP, TS, SECRET);
    json_object_set_new(img, "sk", ddb_av_n_i64(1795253400));
    expect_bad(record("INSERT", NULL, img), "without a string sk");
    expect_bad(record("INSERT", NULL, msg_image("MSG#" GROUP, "yesterday", SECRET)),
               "not an ISO-8601");
    expect_bad(record("INSERT", NULL, msg_image("MSG#" GROUP, "", SECRET)), "not an ISO-8601");
    expect_bad(record("INSERT", NULL,
                      msg_image("MSG#" GROUP, "2026-11-21T09:30:00.123456789012345+00:00", SECRET)),
               "not an ISO-8601");
    img = msg_image("MSG#" GROUP, TS, SECRET);
    json_object_set_new(img, "sk", json_pack("{s:s#}", "S", TS "\0x", (int)sizeof TS + 1));
    expect_bad(record("INSERT", NULL, img), "without a string sk");
    expect_bad(record("INSERT", key("MSG#" GROUP, "2026-11-21T09:30:00.123457+00:00"),
                      msg_image("MSG#" GROUP, TS, SECRET)),
               "disagree on sk");
    /* message: missing, wrong types */
    img = msg_image("MSG#" GROUP, TS, SECRET);
    json_object_del(img, "message");
    expect_bad(record("INSERT", NULL, img), "without a string message");
    img = msg_image("MSG#" GROUP, TS, SECRET);
    json_object_set_new(img, "message", json_pack("{s:[s]}", "SS", SECRET));
    expect_bad(record("INSERT", NULL, img), "without a string message");
    img = msg_image("MSG#" GROUP, TS, SECRET);
    json_object_set_new(img, "message", json_string(SECRET));
    expect_bad(record("INSERT", NULL, img), "without a string message");
}
END_TEST

START_TEST(huge_strings_are_refused_cheaply)
{
    size_t n = 4 * 1024 * 1024;
    char *huge = malloc(n + 1);
    memset(huge, '7', n);
    huge[n] = '\0';
    memcpy(huge, "MSG#", 4);
    expect_bad(record("INSERT", NULL, msg_image(huge, TS, SECRET)), "not MSG#<uuid>");
    memcpy(huge, "2026", 4);
    expect_bad(record("INSERT", NULL, msg_image("MSG#" GROUP, huge, SECRET)), "not an ISO-8601");
    memcpy(huge, "GRP#", 4);
    expect_ignored(record("INSERT", NULL, msg_image(huge, huge, huge)));
    free(huge);
}
END_TEST

/* ---- applying without a server -------------------------------------------------------------- */

START_TEST(apply_needs_a_client_for_messages_only)
{
    json_t *r = msg_record();
    groupsync_result res;
    ddb_error err;
    ck_assert_int_eq(groupsync_apply(NULL, "t", r, &res, &err), GROUPSYNC_BAD);
    ck_assert_ptr_nonnull(strstr(err.info.msg, "no DynamoDB client"));
    ck_assert_int_eq(groupsync_apply(NULL, "t", r, NULL, NULL), GROUPSYNC_BAD);
    groupsync_msg m;
    ck_assert_int_eq(groupsync_parse_record(r, NULL, NULL), GROUPSYNC_BAD);
    ck_assert_int_eq(groupsync_parse_record(NULL, &m, NULL), GROUPSYNC_BAD);
    json_decref(r);
}
END_TEST

START_TEST(action_names)
{
    ck_assert_str_eq(groupsync_action_name(GROUPSYNC_IGNORED), "ignored");
    ck_assert_str_eq(groupsync_action_name(GROUPSYNC_MOVED), "moved");
    ck_assert_str_eq(groupsync_action_name(GROUPSYNC_CURRENT), "current");
    ck_assert_str_eq(groupsync_action_name(GROUPSYNC_NO_GROUP), "no_group");
    ck_assert_str_eq(groupsync_action_name((groupsync_action)42), "?");
}
END_TEST

/* ---- the planner (pure) ---------------------------------------------------------------------- */

#define UA "11111111-2222-4333-8444-555555555555"
#define UB "66666666-7777-4888-9999-aaaaaaaaaaaa"
#define OTHER "2b4c6e2a-1f3d-4a5b-8c7d-9e0f1a2b3c4d"
#define T0 "2026-11-21T09:29:00.000000+00:00"
#define T9 "2026-11-21T09:31:00.000000+00:00"

/* A group row of user at sk of group (NULL: no message_group_uuid). */
static json_t *grow(const char *pk, const char *sk, const char *group)
{
    json_t *r = json_pack("{s:o, s:o, s:o, s:o}", "pk", ddb_av_s(pk), "sk", ddb_av_s(sk), "message",
                          ddb_av_s("older text"), "user_uuid", ddb_av_s(UB));
    if (group)
        json_object_set_new(r, "message_group_uuid", ddb_av_s(group));
    return r;
}

typedef struct row_spec {
    const char *pk, *sk, *group;
} row_spec;

typedef struct plan_case {
    const char *name;
    row_spec rows[4];
    const char *skip; /* one pk not to try, or NULL */
    groupsync_verdict want[4];
    int usable, moves, deletes;
} plan_case;

START_TEST(plan_rows_table)
{
    static const plan_case cases[] = {
        { "forward only: an older message moves nothing",
          { { "GRP#" UA, T9, GROUP }, { "GRP#" UB, T9, GROUP } },
          NULL,
          { GROUPSYNC_ROW_CURRENT, GROUPSYNC_ROW_CURRENT },
          2,
          0,
          0 },
        { "a row at the message's own timestamp is current",
          { { "GRP#" UA, TS, GROUP }, { "GRP#" UB, TS, GROUP } },
          NULL,
          { GROUPSYNC_ROW_CURRENT, GROUPSYNC_ROW_CURRENT },
          2,
          0,
          0 },
        { "one row behind",
          { { "GRP#" UA, T0, GROUP }, { "GRP#" UB, TS, GROUP } },
          NULL,
          { GROUPSYNC_ROW_MOVE, GROUPSYNC_ROW_CURRENT },
          2,
          1,
          0 },
        { "both behind",
          { { "GRP#" UA, T0, GROUP }, { "GRP#" UB, T0, GROUP } },
          NULL,
          { GROUPSYNC_ROW_MOVE, GROUPSYNC_ROW_MOVE },
          2,
          2,
          0 },
        { "a stale duplicate beside its twin at the message",
          { { "GRP#" UA, T0, GROUP }, { "GRP#" UA, TS, GROUP }, { "GRP#" UB, T0, GROUP } },
          NULL,
          { GROUPSYNC_ROW_DELETE, GROUPSYNC_ROW_CURRENT, GROUPSYNC_ROW_MOVE },
          3,
          1,
          1 },
        { "a twin past the message is no reason to delete (only one at it)",
          { { "GRP#" UA, T0, GROUP }, { "GRP#" UA, T9, GROUP } },
          NULL,
          { GROUPSYNC_ROW_MOVE, GROUPSYNC_ROW_CURRENT },
          2,
          1,
          0 },
        { "another conversation's row at the message is no twin",
          { { "GRP#" UA, T0, GROUP }, { "GRP#" UA, TS, OTHER } },
          NULL,
          { GROUPSYNC_ROW_MOVE, GROUPSYNC_ROW_CURRENT },
          2,
          1,
          0 },
        { "a row whose target collided is not tried again",
          { { "GRP#" UA, T0, GROUP }, { "GRP#" UB, T0, GROUP } },
          "GRP#" UA,
          { GROUPSYNC_ROW_SKIP, GROUPSYNC_ROW_MOVE },
          1,
          1,
          0 },
        { "malformed rows are skipped",
          { { "MSG#" UA, T0, GROUP },
            { "GRP#", T0, GROUP },
            { "GRP#" UA "-and-far-too-long-for-any-key-of-the-table", T0, GROUP },
            { "GRP#" UB, NULL, GROUP } },
          NULL,
          { GROUPSYNC_ROW_SKIP, GROUPSYNC_ROW_SKIP, GROUPSYNC_ROW_SKIP, GROUPSYNC_ROW_SKIP },
          0,
          0,
          0 },
        { "no rows at all", { { NULL } }, NULL, { 0 }, 0, 0, 0 },
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const plan_case *pc = &cases[c];
        json_t *rows = json_array();
        size_t n = 0;
        for (; n < 4 && pc->rows[n].pk; n++) {
            json_t *r =
                grow(pc->rows[n].pk, pc->rows[n].sk ? pc->rows[n].sk : "x", pc->rows[n].group);
            if (!pc->rows[n].sk)
                json_object_set_new(r, "sk", ddb_av_n_i64(5)); /* not an S */
            json_array_append_new(rows, r);
        }
        const char *skip[1] = { pc->skip };
        groupsync_plan p;
        ck_assert_msg(groupsync_plan_rows(rows, TS, skip, pc->skip ? 1 : 0, &p) == 0, "%s",
                      pc->name);
        ck_assert_uint_eq(p.nrows, n);
        for (size_t i = 0; i < n; i++)
            ck_assert_msg(p.verdict[i] == pc->want[i], "%s: row %zu: %d, want %d", pc->name, i,
                          (int)p.verdict[i], (int)pc->want[i]);
        ck_assert_msg(p.usable == pc->usable && p.moves == pc->moves && p.deletes == pc->deletes,
                      "%s: usable %d moves %d deletes %d", pc->name, p.usable, p.moves, p.deletes);
        json_decref(rows);
    }
}
END_TEST

START_TEST(plan_rows_refuses_what_it_cannot_judge)
{
    groupsync_plan p;
    json_t *obj = json_object();
    ck_assert_int_eq(groupsync_plan_rows(obj, TS, NULL, 0, &p), -1);
    ck_assert_uint_eq(p.nrows, 0);
    json_decref(obj);
    json_t *rows = json_array();
    ck_assert_int_eq(groupsync_plan_rows(rows, NULL, NULL, 0, &p), -1);
    ck_assert_int_eq(groupsync_plan_rows(rows, TS, NULL, 0, NULL), -1);
    for (int i = 0; i <= GROUPSYNC_ROWS_MAX; i++)
        json_array_append_new(rows, grow("GRP#" UA, T0, GROUP));
    ck_assert_int_eq(groupsync_plan_rows(rows, TS, NULL, 0, &p), -1);
    json_array_remove(rows, 0);
    ck_assert_int_eq(groupsync_plan_rows(rows, TS, NULL, 0, &p), 0);
    ck_assert_int_eq(p.moves, GROUPSYNC_ROWS_MAX);
    json_decref(rows);
}
END_TEST

START_TEST(plan_target_table)
{
    json_t *row = grow("GRP#" UA, T0, GROUP);
    json_t *same = grow("GRP#" UA, TS, GROUP);
    json_t *other = grow("GRP#" UA, TS, OTHER);
    json_t *none = grow("GRP#" UA, TS, NULL);
    ck_assert_int_eq(groupsync_plan_target(row, NULL), GROUPSYNC_TARGET_EMPTY);
    ck_assert_int_eq(groupsync_plan_target(row, same), GROUPSYNC_TARGET_DUPLICATE);
    ck_assert_int_eq(groupsync_plan_target(row, other), GROUPSYNC_TARGET_COLLISION);
    ck_assert_int_eq(groupsync_plan_target(row, none), GROUPSYNC_TARGET_COLLISION);
    /* a row without a group matches nothing: never deleted as a "duplicate" */
    ck_assert_int_eq(groupsync_plan_target(none, none), GROUPSYNC_TARGET_COLLISION);
    json_decref(row);
    json_decref(same);
    json_decref(other);
    json_decref(none);
}
END_TEST

typedef struct failure_case {
    const char *type;    /* the service error's short type; "" none */
    const char *reasons; /* codes, comma separated; NULL none */
    groupsync_next want;
} failure_case;

START_TEST(plan_failure_table)
{
    static const failure_case cases[] = {
        { "TransactionCanceledException", "None,ConditionalCheckFailed", GROUPSYNC_NEXT_CHECK },
        { "TransactionCanceledException", "ConditionalCheckFailed,None", GROUPSYNC_NEXT_CHECK },
        { "TransactionCanceledException", NULL, GROUPSYNC_NEXT_CHECK },
        { "TransactionCanceledException", "ConditionalCheckFailed,TransactionConflict",
          GROUPSYNC_NEXT_CHECK },
        { "TransactionCanceledException", "TransactionConflict,None", GROUPSYNC_NEXT_REREAD },
        { "TransactionCanceledException", "TransactionConflict,ValidationError",
          GROUPSYNC_NEXT_REREAD },
        { "TransactionCanceledException", "ValidationError,None", GROUPSYNC_NEXT_BAD },
        { "TransactionCanceledException", "ThrottlingError,None", GROUPSYNC_NEXT_RETRY },
        { "TransactionCanceledException", "None,ItemCollectionSizeLimitExceeded",
          GROUPSYNC_NEXT_RETRY },
        { "TransactionConflictException", NULL, GROUPSYNC_NEXT_REREAD },
        { "ConditionalCheckFailedException", NULL, GROUPSYNC_NEXT_CHECK },
        { "ValidationException", NULL, GROUPSYNC_NEXT_BAD },
        { "ProvisionedThroughputExceededException", NULL, GROUPSYNC_NEXT_RETRY },
        { "InternalServerError", NULL, GROUPSYNC_NEXT_RETRY },
        { "", NULL, GROUPSYNC_NEXT_RETRY }, /* a transport failure */
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        ddb_error err;
        ddb_error_clear(&err);
        snprintf(err.type, sizeof err.type, "%s", cases[c].type);
        char codes[128];
        snprintf(codes, sizeof codes, "%s", cases[c].reasons ? cases[c].reasons : "");
        for (char *save = NULL, *code = strtok_r(codes, ",", &save); code;
             code = strtok_r(NULL, ",", &save))
            err.reasons[err.nreasons++] = (unsigned char)aws_reason_parse(code);
        ck_assert_msg(groupsync_plan_failure(&err) == cases[c].want, "%s [%s]: %d", cases[c].type,
                      cases[c].reasons ? cases[c].reasons : "", (int)groupsync_plan_failure(&err));
    }
    ck_assert_int_eq(groupsync_plan_failure(NULL), GROUPSYNC_NEXT_RETRY);
}
END_TEST

START_TEST(plan_outcome_table)
{
    ck_assert_int_eq(groupsync_plan_outcome(1, 0, 2, 0), GROUPSYNC_MOVED);
    ck_assert_int_eq(groupsync_plan_outcome(0, 1, 2, 0), GROUPSYNC_MOVED);
    ck_assert_int_eq(groupsync_plan_outcome(1, 0, 1, 1), GROUPSYNC_MOVED);
    ck_assert_int_eq(groupsync_plan_outcome(0, 0, 2, 0), GROUPSYNC_CURRENT);
    ck_assert_int_eq(groupsync_plan_outcome(0, 0, 0, 0), GROUPSYNC_NO_GROUP);
    ck_assert_int_eq(groupsync_plan_outcome(0, 0, 0, 1), GROUPSYNC_CURRENT);
}
END_TEST

/* ---- the I/O around the planner (scripted DynamoDB) ------------------------------------------ */

/* A Query answer holding these rows (stolen). */
static void reply_rows(ddbscript *s, json_t *rows)
{
    json_t *body =
        json_pack("{s:o, s:I}", "Items", rows, "Count", (json_int_t)json_array_size(rows));
    char *text = json_dumps(body, JSON_COMPACT);
    ddbscript_ok(s, "Query", text);
    free(text);
    json_decref(body);
}

static void reply_item(ddbscript *s, json_t *item)
{
    json_t *body = json_pack("{s:o}", "Item", item);
    char *text = json_dumps(body, JSON_COMPACT);
    ddbscript_ok(s, "GetItem", text);
    free(text);
    json_decref(body);
}

static void expect_ops(const ddbscript *s, const char *const *ops, size_t n)
{
    ck_assert_uint_eq(ddbscript_unexpected(s), 0);
    ck_assert_uint_eq(ddbscript_pending(s), 0);
    ck_assert_uint_eq(ddbscript_calls(s), n);
    for (size_t i = 0; i < n; i++)
        ck_assert_str_eq(ddbscript_op(s, i), ops[i]);
}

/* The pk of the Delete in TransactWriteItems request i (or of DeleteItem's Key). */
static const char *deleted_pk(const ddbscript *s, size_t i)
{
    const json_t *b = ddbscript_body(s, i);
    const json_t *key = json_object_get(b, "Key");
    if (!key)
        key = json_object_get(
            json_object_get(json_array_get(json_object_get(b, "TransactItems"), 0), "Delete"),
            "Key");
    return ddb_av_get_s(key, "pk");
}

/* The number of actions in TransactWriteItems request i. */
static size_t transact_actions(const ddbscript *s, size_t i)
{
    return json_array_size(json_object_get(ddbscript_body(s, i), "TransactItems"));
}

/* Applies msg_record() through the script. */
static groupsync_status apply_script(ddbscript *s, groupsync_result *res, ddb_error *err)
{
    json_t *r = msg_record();
    groupsync_status rc = groupsync_apply(ddbscript_ddb(s), "t", r, res, err);
    json_decref(r);
    return rc;
}

/* The Query answer of the group's two rows: ann's at sk_a, bob's at sk_b. */
static void reply_two(ddbscript *s, const char *sk_a, const char *sk_b)
{
    reply_rows(s, json_pack("[o, o]", grow("GRP#" UA, sk_a, GROUP), grow("GRP#" UB, sk_b, GROUP)));
}

START_TEST(a_cancelled_move_reads_its_target_then_rereads)
{
    ddbscript *s = ddbscript_new(0);
    reply_two(s, T0, T0);
    ddbscript_cancel(s, "ConditionalCheckFailed,None,None,None"); /* the pair: row by row */
    ddbscript_cancel(s, "ConditionalCheckFailed,None");           /* A's row changed under us */
    ddbscript_ok(s, "GetItem", "{}");            /* nothing at the target: a race */
    ddbscript_ok(s, "TransactWriteItems", NULL); /* B moves */
    reply_two(s, T0, TS);
    ddbscript_ok(s, "TransactWriteItems", NULL); /* A moves on the re-read */
    groupsync_result res;
    ddb_error err;
    ck_assert_int_eq(apply_script(s, &res, &err), GROUPSYNC_OK);
    ck_assert_int_eq(res.action, GROUPSYNC_MOVED);
    ck_assert_int_eq(res.moved, 2);
    ck_assert_int_eq(res.races, 1);
    ck_assert_int_eq(res.removed, 0);
    static const char *const ops[] = {
        "Query", "TransactWriteItems", "TransactWriteItems", "GetItem", "TransactWriteItems",
        "Query", "TransactWriteItems"
    };
    expect_ops(s, ops, 7);
    ck_assert_uint_eq(transact_actions(s, 1), 4);
    ck_assert_str_eq(deleted_pk(s, 2), "GRP#" UA);
    ck_assert_str_eq(deleted_pk(s, 4), "GRP#" UB);
    ck_assert_str_eq(deleted_pk(s, 6), "GRP#" UA);
    /* the GetItem asked for A's row at the message, strongly consistent */
    const json_t *g = ddbscript_body(s, 3);
    ck_assert_str_eq(ddb_av_get_s(json_object_get(g, "Key"), "sk"), TS);
    ck_assert(json_is_true(json_object_get(g, "ConsistentRead")));
    ddbscript_free(s);
}
END_TEST

START_TEST(a_collision_is_read_then_left_alone)
{
    ddbscript *s = ddbscript_new(0);
    reply_two(s, T0, T0);
    ddbscript_cancel(s, "None,ConditionalCheckFailed,None,None"); /* the pair */
    ddbscript_cancel(s, "None,ConditionalCheckFailed");           /* A's target key is taken */
    reply_item(s, grow("GRP#" UA, TS, OTHER));                    /* by A's row of another group */
    ddbscript_ok(s, "TransactWriteItems", NULL);                  /* B still moves */
    groupsync_result res;
    ddb_error err;
    ck_assert_int_eq(apply_script(s, &res, &err), GROUPSYNC_BAD);
    ck_assert_int_eq(res.action, GROUPSYNC_MOVED);
    ck_assert_int_eq(res.moved, 1);
    ck_assert_int_eq(res.races, 0);
    ck_assert_ptr_nonnull(strstr(err.info.msg, "not overwritten"));
    ck_assert_ptr_nonnull(strstr(err.info.msg, "conversation " OTHER));
    ck_assert_ptr_null(strstr(err.info.msg, SECRET));
    static const char *const ops[] = { "Query", "TransactWriteItems", "TransactWriteItems",
                                       "GetItem", "TransactWriteItems" };
    expect_ops(s, ops, 5);
    ck_assert_str_eq(deleted_pk(s, 4), "GRP#" UB);
    ddbscript_free(s);
}
END_TEST

START_TEST(a_stale_duplicate_in_the_read_is_deleted_directly)
{
    ddbscript *s = ddbscript_new(0);
    reply_rows(s, json_pack("[o, o, o]", grow("GRP#" UA, T0, GROUP), grow("GRP#" UA, TS, GROUP),
                            grow("GRP#" UB, TS, GROUP)));
    ddbscript_ok(s, "DeleteItem", NULL);
    groupsync_result res;
    ddb_error err;
    ck_assert_int_eq(apply_script(s, &res, &err), GROUPSYNC_OK);
    ck_assert_int_eq(res.action, GROUPSYNC_MOVED);
    ck_assert_int_eq(res.moved, 0);
    ck_assert_int_eq(res.removed, 1);
    static const char *const ops[] = { "Query", "DeleteItem" };
    expect_ops(s, ops, 2);
    const json_t *b = ddbscript_body(s, 1);
    ck_assert_str_eq(ddb_av_get_s(json_object_get(b, "Key"), "sk"), T0);
    ck_assert_str_eq(json_string_value(json_object_get(b, "ConditionExpression")),
                     "attribute_exists(pk) AND #g = :g AND #m = :m");
    ddbscript_free(s);
}
END_TEST

START_TEST(a_duplicate_found_at_the_target_is_deleted)
{
    ddbscript *s = ddbscript_new(0);
    reply_two(s, T0, TS);
    ddbscript_cancel(s, "None,ConditionalCheckFailed");
    reply_item(s, grow("GRP#" UA, TS, GROUP)); /* A's row of this group is there */
    ddbscript_error(s, "DeleteItem", "ConditionalCheckFailedException"); /* ...changed again */
    reply_two(s, T0, TS);
    ddbscript_cancel(s, "None,ConditionalCheckFailed");
    reply_item(s, grow("GRP#" UA, TS, GROUP));
    ddbscript_ok(s, "DeleteItem", NULL);
    groupsync_result res;
    ddb_error err;
    ck_assert_int_eq(apply_script(s, &res, &err), GROUPSYNC_OK);
    ck_assert_int_eq(res.action, GROUPSYNC_MOVED);
    ck_assert_int_eq(res.removed, 1);
    ck_assert_int_eq(res.races, 1);
    static const char *const ops[] = { "Query", "TransactWriteItems", "GetItem", "DeleteItem",
                                       "Query", "TransactWriteItems", "GetItem", "DeleteItem" };
    expect_ops(s, ops, 8);
    ddbscript_free(s);
}
END_TEST

START_TEST(an_older_message_writes_nothing)
{
    ddbscript *s = ddbscript_new(0);
    reply_two(s, T9, TS);
    groupsync_result res;
    ddb_error err;
    ck_assert_int_eq(apply_script(s, &res, &err), GROUPSYNC_OK);
    ck_assert_int_eq(res.action, GROUPSYNC_CURRENT);
    ck_assert_int_eq(res.moved, 0);
    static const char *const ops[] = { "Query" };
    expect_ops(s, ops, 1);
    ddbscript_free(s);
}
END_TEST

START_TEST(invalid_and_throttled_transactions)
{
    /* a ValidationError reason: the record is bad, nothing is re-read */
    ddbscript *s = ddbscript_new(0);
    reply_two(s, T0, TS);
    ddbscript_cancel(s, "ValidationError,None");
    groupsync_result res;
    ddb_error err;
    ck_assert_int_eq(apply_script(s, &res, &err), GROUPSYNC_BAD);
    static const char *const ops[] = { "Query", "TransactWriteItems" };
    expect_ops(s, ops, 2);
    ddbscript_free(s);
    /* throttled (after the client's own retries): try again later */
    s = ddbscript_new(1);
    reply_two(s, T0, TS);
    ddbscript_cancel(s, "ThrottlingError,None");
    ck_assert_int_eq(apply_script(s, &res, &err), GROUPSYNC_RETRY);
    ck_assert_int_eq(res.action, GROUPSYNC_CURRENT);
    expect_ops(s, ops, 2);
    ddbscript_free(s);
}
END_TEST

/* ---- both rows at once, and the cache of rows ------------------------------------------------ */

#define T5 "2026-11-21T09:30:10.000000+00:00"  /* between TS and T7 */
#define T7 "2026-11-21T09:30:30.000000+00:00"  /* between TS and T9 */
#define T11 "2026-11-21T09:32:00.000000+00:00" /* after T9 */

/* A valid INSERT of a message of GROUP at ts. */
static json_t *msg_record_at(const char *ts)
{
    return record("INSERT", key("MSG#" GROUP, ts), msg_image("MSG#" GROUP, ts, SECRET));
}

static groupsync_status apply_at(ddbscript *s, groupsync_cache *cache, const char *ts,
                                 groupsync_result *res, ddb_error *err)
{
    json_t *r = msg_record_at(ts);
    groupsync_status rc = groupsync_apply_cached(ddbscript_ddb(s), "t", cache, r, res, err);
    json_decref(r);
    return rc;
}

/* Action k of TransactWriteItems request i: its Delete or Put body. */
static const json_t *action(const ddbscript *s, size_t i, size_t k, const char *kind)
{
    return json_object_get(
        json_array_get(json_object_get(ddbscript_body(s, i), "TransactItems"), k), kind);
}

/* Every Put ever sent is conditioned on its key being free (never overwrites a row), and
 * no Put moves a row to a key at or before the sk its Delete removes (never backwards). */
static void expect_forward_only(const ddbscript *s)
{
    for (size_t i = 0; i < ddbscript_calls(s); i++) {
        if (strcmp(ddbscript_op(s, i), "TransactWriteItems") != 0)
            continue;
        for (size_t k = 0; k + 1 < transact_actions(s, i); k += 2) {
            const json_t *del = action(s, i, k, "Delete"), *put = action(s, i, k + 1, "Put");
            ck_assert_ptr_nonnull(del);
            ck_assert_ptr_nonnull(put);
            ck_assert_str_eq(json_string_value(json_object_get(put, "ConditionExpression")),
                             "attribute_not_exists(pk)");
            const char *old_sk = ddb_av_get_s(json_object_get(del, "Key"), "sk");
            const char *new_sk = ddb_av_get_s(json_object_get(put, "Item"), "sk");
            ck_assert_ptr_nonnull(old_sk);
            ck_assert_ptr_nonnull(new_sk);
            ck_assert_msg(strcmp(old_sk, new_sk) < 0, "a move from %s back to %s", old_sk, new_sk);
        }
    }
}

/* The value the Delete of action k of request i requires of attribute name. */
static const char *required(const ddbscript *s, size_t i, size_t k, const char *name)
{
    const json_t *del = action(s, i, k, "Delete");
    const json_t *names = json_object_get(del, "ExpressionAttributeNames");
    const char *alias;
    json_t *v;
    json_object_foreach((json_t *)names, alias, v)
    {
        if (strcmp(json_string_value(v), name) != 0)
            continue;
        char vk[16];
        snprintf(vk, sizeof vk, ":%s", alias + 1);
        return ddb_av_get_s(json_object_get(del, "ExpressionAttributeValues"), vk);
    }
    return NULL;
}

START_TEST(both_rows_move_in_one_transaction)
{
    ddbscript *s = ddbscript_new(0);
    reply_two(s, T0, T0);
    ddbscript_ok(s, "TransactWriteItems", NULL);
    groupsync_result res;
    ddb_error err;
    ck_assert_int_eq(apply_script(s, &res, &err), GROUPSYNC_OK);
    ck_assert_int_eq(res.action, GROUPSYNC_MOVED);
    ck_assert_int_eq(res.moved, 2);
    ck_assert(!res.cached);
    static const char *const ops[] = { "Query", "TransactWriteItems" };
    expect_ops(s, ops, 2);
    ck_assert_uint_eq(transact_actions(s, 1), 4);
    ck_assert_str_eq(deleted_pk(s, 1), "GRP#" UA);
    ck_assert_str_eq(ddb_av_get_s(json_object_get(action(s, 1, 2, "Delete"), "Key"), "pk"),
                     "GRP#" UB);
    /* each Delete requires every attribute as read */
    ck_assert_str_eq(required(s, 1, 0, "message"), "older text");
    ck_assert_str_eq(required(s, 1, 0, "user_uuid"), UB);
    ck_assert_str_eq(required(s, 1, 0, "message_group_uuid"), GROUP);
    ck_assert_ptr_null(required(s, 1, 0, "pk"));
    ck_assert_str_eq(ddb_av_get_s(json_object_get(action(s, 1, 1, "Put"), "Item"), "message"),
                     SECRET);
    expect_forward_only(s);
    ddbscript_free(s);
}
END_TEST

/* Primes cache with GROUP's rows moved from T0 to TS (a Query and one transaction). */
static void prime(ddbscript *s, groupsync_cache *cache)
{
    reply_two(s, T0, T0);
    ddbscript_ok(s, "TransactWriteItems", NULL);
    groupsync_result res;
    ddb_error err;
    ck_assert_int_eq(apply_at(s, cache, TS, &res, &err), GROUPSYNC_OK);
    ck_assert_int_eq(res.moved, 2);
}

START_TEST(the_cache_saves_the_query)
{
    ddbscript *s = ddbscript_new(0);
    groupsync_cache *cache = groupsync_cache_new(16);
    prime(s, cache);
    ddbscript_ok(s, "TransactWriteItems", NULL);
    groupsync_result res;
    ddb_error err;
    ck_assert_int_eq(apply_at(s, cache, T9, &res, &err), GROUPSYNC_OK);
    ck_assert_int_eq(res.action, GROUPSYNC_MOVED);
    ck_assert_int_eq(res.moved, 2);
    ck_assert(res.cached);
    static const char *const ops[] = { "Query", "TransactWriteItems", "TransactWriteItems" };
    expect_ops(s, ops, 3);
    /* moved from the rows as the first call left them */
    ck_assert_str_eq(ddb_av_get_s(json_object_get(action(s, 2, 0, "Delete"), "Key"), "sk"), TS);
    ck_assert_str_eq(required(s, 2, 0, "message"), SECRET);
    ck_assert_str_eq(ddb_av_get_s(json_object_get(action(s, 2, 3, "Put"), "Item"), "sk"), T9);
    /* an older message: current by the cache, nothing asked at all */
    ck_assert_int_eq(apply_at(s, cache, T7, &res, &err), GROUPSYNC_OK);
    ck_assert_int_eq(res.action, GROUPSYNC_CURRENT);
    expect_ops(s, ops, 3);
    groupsync_cache_stats st;
    groupsync_cache_get_stats(cache, &st);
    ck_assert_uint_eq(st.hits, 2);
    ck_assert_uint_eq(st.misses, 1);
    ck_assert_uint_eq(st.stale, 0);
    ck_assert_uint_eq(st.entries, 1);
    expect_forward_only(s);
    groupsync_cache_free(cache);
    ddbscript_free(s);
}
END_TEST

START_TEST(stale_cache_rows_moved_past_by_another_daemon)
{
    /* Another daemon took the shard and moved both rows past the message: the cancelled
     * transaction sends us to the Query, which finds them current; nothing is written. */
    ddbscript *s = ddbscript_new(0);
    groupsync_cache *cache = groupsync_cache_new(16);
    prime(s, cache);
    ddbscript_cancel(s, "ConditionalCheckFailed,None,ConditionalCheckFailed,None");
    reply_two(s, T9, T9);
    groupsync_result res;
    ddb_error err;
    ck_assert_int_eq(apply_at(s, cache, T7, &res, &err), GROUPSYNC_OK);
    ck_assert_int_eq(res.action, GROUPSYNC_CURRENT);
    ck_assert_int_eq(res.moved, 0);
    ck_assert_int_eq(res.races, 1);
    static const char *const ops[] = { "Query", "TransactWriteItems", "TransactWriteItems",
                                       "Query" };
    expect_ops(s, ops, 4);
    groupsync_cache_stats st;
    groupsync_cache_get_stats(cache, &st);
    ck_assert_uint_eq(st.stale, 1);
    /* the cache now holds what the Query read: T7 again asks nothing */
    ck_assert_int_eq(apply_at(s, cache, T7, &res, &err), GROUPSYNC_OK);
    ck_assert_int_eq(res.action, GROUPSYNC_CURRENT);
    expect_ops(s, ops, 4);
    expect_forward_only(s);
    groupsync_cache_free(cache);
    ddbscript_free(s);
}
END_TEST

START_TEST(stale_cache_rows_moved_less_far_are_moved_from_where_they_are)
{
    /* Another daemon moved them to T5, short of our T7: moved from T5 (as read), never
     * from the cached TS. */
    ddbscript *s = ddbscript_new(0);
    groupsync_cache *cache = groupsync_cache_new(16);
    prime(s, cache);
    ddbscript_cancel(s, "ConditionalCheckFailed,None,ConditionalCheckFailed,None");
    reply_two(s, T5, T5);
    ddbscript_ok(s, "TransactWriteItems", NULL);
    groupsync_result res;
    ddb_error err;
    ck_assert_int_eq(apply_at(s, cache, T7, &res, &err), GROUPSYNC_OK);
    ck_assert_int_eq(res.action, GROUPSYNC_MOVED);
    ck_assert_int_eq(res.moved, 2);
    static const char *const ops[] = { "Query", "TransactWriteItems", "TransactWriteItems", "Query",
                                       "TransactWriteItems" };
    expect_ops(s, ops, 5);
    ck_assert_str_eq(ddb_av_get_s(json_object_get(action(s, 4, 0, "Delete"), "Key"), "sk"), T5);
    ck_assert_str_eq(ddb_av_get_s(json_object_get(action(s, 4, 2, "Delete"), "Key"), "sk"), T5);
    expect_forward_only(s);
    groupsync_cache_free(cache);
    ddbscript_free(s);
}
END_TEST

START_TEST(stale_cache_single_row_goes_to_the_query_not_the_target)
{
    /* Cached: A moved to TS, B already at T9. A message at T7 moves A alone; its
     * cancelled move is a race at once (no GetItem from stale rows), then the Query. */
    ddbscript *s = ddbscript_new(0);
    groupsync_cache *cache = groupsync_cache_new(16);
    reply_two(s, T0, T9);
    ddbscript_ok(s, "TransactWriteItems", NULL);
    groupsync_result res;
    ddb_error err;
    ck_assert_int_eq(apply_at(s, cache, TS, &res, &err), GROUPSYNC_OK);
    ck_assert_int_eq(res.moved, 1);
    ddbscript_cancel(s, "ConditionalCheckFailed,None");
    reply_two(s, T9, T9);
    ck_assert_int_eq(apply_at(s, cache, T7, &res, &err), GROUPSYNC_OK);
    ck_assert_int_eq(res.action, GROUPSYNC_CURRENT);
    ck_assert_int_eq(res.races, 1);
    static const char *const ops[] = { "Query", "TransactWriteItems", "TransactWriteItems",
                                       "Query" };
    expect_ops(s, ops, 4);
    ck_assert_uint_eq(transact_actions(s, 2), 2);
    ck_assert_str_eq(deleted_pk(s, 2), "GRP#" UA);
    expect_forward_only(s);
    groupsync_cache_free(cache);
    ddbscript_free(s);
}
END_TEST

START_TEST(stale_cache_row_deleted)
{
    /* A's row was deleted (by hand): the cached move is cancelled, the Query sees only B,
     * the consistent read through the sender finds no row; nothing is written and the
     * entry is gone (the next message asks the Query again). */
    ddbscript *s = ddbscript_new(0);
    groupsync_cache *cache = groupsync_cache_new(16);
    prime(s, cache);
    ddbscript_cancel(s, "ConditionalCheckFailed,None,None,None");
    reply_rows(s, json_pack("[o]", grow("GRP#" UB, TS, GROUP)));
    reply_rows(s, json_array()); /* the sender's (A's) rows, consistent */
    groupsync_result res;
    ddb_error err;
    ck_assert_int_eq(apply_at(s, cache, T7, &res, &err), GROUPSYNC_OK);
    ck_assert_int_eq(res.action, GROUPSYNC_NO_GROUP);
    ck_assert_int_eq(res.moved, 0);
    static const char *const ops[] = { "Query", "TransactWriteItems", "TransactWriteItems", "Query",
                                       "Query" };
    expect_ops(s, ops, 5);
    groupsync_cache_stats st;
    groupsync_cache_get_stats(cache, &st);
    ck_assert_uint_eq(st.entries, 0);
    expect_forward_only(s);
    groupsync_cache_free(cache);
    ddbscript_free(s);
}
END_TEST

START_TEST(stale_cache_target_taken_by_another_conversation)
{
    /* Since the cache was filled, pattern D put another conversation's row of A at the very
     * key A's row would move to: after the fresh read the move finds it and leaves it alone;
     * B still moves; the record is bad (as without a cache). */
    ddbscript *s = ddbscript_new(0);
    groupsync_cache *cache = groupsync_cache_new(16);
    prime(s, cache);
    ddbscript_cancel(s, "None,ConditionalCheckFailed,None,None"); /* from the cache */
    reply_two(s, TS, TS);
    ddbscript_cancel(s, "None,ConditionalCheckFailed,None,None"); /* the pair, as read */
    ddbscript_cancel(s, "None,ConditionalCheckFailed");           /* A alone */
    reply_item(s, grow("GRP#" UA, T7, OTHER));
    ddbscript_ok(s, "TransactWriteItems", NULL); /* B */
    groupsync_result res;
    ddb_error err;
    ck_assert_int_eq(apply_at(s, cache, T7, &res, &err), GROUPSYNC_BAD);
    ck_assert_int_eq(res.action, GROUPSYNC_MOVED);
    ck_assert_int_eq(res.moved, 1);
    ck_assert_ptr_nonnull(strstr(err.info.msg, "not overwritten"));
    static const char *const ops[] = { "Query",   "TransactWriteItems", "TransactWriteItems",
                                       "Query",   "TransactWriteItems", "TransactWriteItems",
                                       "GetItem", "TransactWriteItems" };
    expect_ops(s, ops, 8);
    ck_assert_str_eq(deleted_pk(s, 7), "GRP#" UB);
    groupsync_cache_stats st;
    groupsync_cache_get_stats(cache, &st);
    ck_assert_uint_eq(st.entries, 0);
    expect_forward_only(s);
    groupsync_cache_free(cache);
    ddbscript_free(s);
}
END_TEST

/* GROUP's two rows at sk, both naming display. */
static void reply_two_named(ddbscript *s, const char *sk, const char *display)
{
    json_t *a = grow("GRP#" UA, sk, GROUP), *b = grow("GRP#" UB, sk, GROUP);
    json_object_set_new(a, "user_display_name", ddb_av_s(display));
    json_object_set_new(b, "user_display_name", ddb_av_s(display));
    reply_rows(s, json_pack("[o, o]", a, b));
}

START_TEST(stale_cache_row_replaced_is_not_written_back)
{
    /* A row whose other attributes changed since it was cached (replaced by hand): the
     * Delete requires the cached values, so the move is cancelled, and the rows move as
     * read: the stale attribute is never written back. */
    ddbscript *s = ddbscript_new(0);
    groupsync_cache *cache = groupsync_cache_new(16);
    reply_two_named(s, T0, "Old Name");
    ddbscript_ok(s, "TransactWriteItems", NULL);
    groupsync_result res;
    ddb_error err;
    ck_assert_int_eq(apply_at(s, cache, TS, &res, &err), GROUPSYNC_OK);
    ddbscript_cancel(s, "ConditionalCheckFailed,None,ConditionalCheckFailed,None");
    reply_two_named(s, TS, "New Name");
    ddbscript_ok(s, "TransactWriteItems", NULL);
    ck_assert_int_eq(apply_at(s, cache, T7, &res, &err), GROUPSYNC_OK);
    ck_assert_int_eq(res.moved, 2);
    static const char *const ops[] = { "Query", "TransactWriteItems", "TransactWriteItems", "Query",
                                       "TransactWriteItems" };
    expect_ops(s, ops, 5);
    ck_assert_str_eq(required(s, 2, 0, "user_display_name"), "Old Name");
    for (size_t k = 1; k < 4; k += 2)
        ck_assert_str_eq(
            ddb_av_get_s(json_object_get(action(s, 4, k, "Put"), "Item"), "user_display_name"),
            "New Name");
    expect_forward_only(s);
    groupsync_cache_free(cache);
    ddbscript_free(s);
}
END_TEST

START_TEST(cache_is_bounded_and_lru)
{
    ck_assert_ptr_null(groupsync_cache_new(0));
    groupsync_cache *c = groupsync_cache_new(GROUPSYNC_CACHE_WAYS); /* one set */
    char g[GROUPSYNC_CACHE_WAYS + 1][UUID_BUF];
    for (int i = 0; i <= GROUPSYNC_CACHE_WAYS; i++)
        snprintf(g[i], sizeof g[i], "%08d-0000-4000-8000-000000000000", i);
    for (int i = 0; i < GROUPSYNC_CACHE_WAYS; i++)
        groupsync_cache_put(c, g[i], json_pack("[o]", grow("GRP#" UA, T0, GROUP)));
    json_decref(groupsync_cache_get(c, g[0])); /* g[1] is now the least recently used */
    groupsync_cache_put(c, g[GROUPSYNC_CACHE_WAYS], json_pack("[o]", grow("GRP#" UA, T0, GROUP)));
    json_t *r = groupsync_cache_get(c, g[1]);
    ck_assert_ptr_null(r);
    for (int i = 0; i <= GROUPSYNC_CACHE_WAYS; i++) {
        if (i == 1)
            continue;
        r = groupsync_cache_get(c, g[i]);
        ck_assert_msg(r != NULL, "group %d evicted", i);
        json_decref(r);
    }
    groupsync_cache_stats st;
    groupsync_cache_get_stats(c, &st);
    ck_assert_uint_eq(st.entries, GROUPSYNC_CACHE_WAYS);
    /* rows too large are not kept (and replace nothing) */
    char *big = malloc(GROUPSYNC_CACHE_ENTRY_BYTES_MAX + 1);
    memset(big, 'x', GROUPSYNC_CACHE_ENTRY_BYTES_MAX);
    big[GROUPSYNC_CACHE_ENTRY_BYTES_MAX] = '\0';
    json_t *row = grow("GRP#" UA, T0, GROUP);
    json_object_set_new(row, "message", ddb_av_s(big));
    free(big);
    groupsync_cache_put(c, g[0], json_pack("[o]", row));
    ck_assert_ptr_null(groupsync_cache_get(c, g[0]));
    groupsync_cache_forget(c, g[2], true);
    ck_assert_ptr_null(groupsync_cache_get(c, g[2]));
    groupsync_cache_get_stats(c, &st);
    ck_assert_uint_eq(st.entries, GROUPSYNC_CACHE_WAYS - 2);
    ck_assert_uint_eq(st.stale, 1);
    groupsync_cache_free(c);
    groupsync_cache_free(NULL);
}
END_TEST

START_TEST(plan_pair_cacheable_after_table)
{
    static const struct {
        const char *sk_a, *sk_b, *pk_b, *group_b;
        bool pair, cacheable;
    } cases[] = {
        { T0, T0, "GRP#" UB, GROUP, true, true },   /* both behind: one transaction */
        { T0, T9, "GRP#" UB, GROUP, false, true },  /* one behind: a single move */
        { T9, T9, "GRP#" UB, GROUP, false, true },  /* both current */
        { T0, T0, "GRP#" UA, GROUP, false, false }, /* the same pk twice */
        { T0, T0, "GRP#" UB, OTHER, true, false },  /* rows of two groups: not kept */
        { T0, T0, "MSG#" UB, GROUP, false, false }, /* one unusable row */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *rows = json_pack("[o, o]", grow("GRP#" UA, cases[i].sk_a, GROUP),
                                 grow(cases[i].pk_b, cases[i].sk_b, cases[i].group_b));
        groupsync_plan p;
        ck_assert_int_eq(groupsync_plan_rows(rows, TS, NULL, 0, &p), 0);
        size_t a = 9, b = 9;
        ck_assert_msg(groupsync_plan_pair(rows, &p, &a, &b) == cases[i].pair, "pair %zu", i);
        if (cases[i].pair)
            ck_assert(a == 0 && b == 1);
        ck_assert_msg(groupsync_plan_cacheable(rows, &p) == cases[i].cacheable, "cache %zu", i);
        json_t *msg = ddb_av_s("new text");
        json_t *after = groupsync_plan_after(rows, &p, TS, msg);
        ck_assert(!after == !cases[i].cacheable);
        for (size_t k = 0; after && k < 2; k++) {
            const json_t *was = json_array_get(rows, k), *now = json_array_get(after, k);
            bool moved = p.verdict[k] == GROUPSYNC_ROW_MOVE;
            ck_assert_str_eq(ddb_av_get_s(now, "sk"), moved ? TS : ddb_av_get_s(was, "sk"));
            ck_assert_str_eq(ddb_av_get_s(now, "message"),
                             moved ? "new text" : ddb_av_get_s(was, "message"));
            ck_assert_str_eq(ddb_av_get_s(now, "pk"), ddb_av_get_s(was, "pk"));
        }
        json_decref(after);
        json_decref(msg);
        json_decref(rows);
    }
    /* three rows are never a pair nor cached */
    json_t *rows = json_pack("[o, o, o]", grow("GRP#" UA, T0, GROUP), grow("GRP#" UB, T0, GROUP),
                             grow("GRP#" UA, TS, GROUP));
    groupsync_plan p;
    ck_assert_int_eq(groupsync_plan_rows(rows, TS, NULL, 0, &p), 0);
    size_t a, b;
    ck_assert(!groupsync_plan_pair(rows, &p, &a, &b));
    ck_assert(!groupsync_plan_cacheable(rows, &p));
    json_decref(rows);
}
END_TEST

/* ---- many conversations in one transaction (groupsync_together_apply) ------------------------ */

/* Conversation k's group and users: uuids of its own. */
typedef struct conv {
    char group[37], ua[37], ub[37];
} conv;

static conv conv_of(int k)
{
    conv c;
    snprintf(c.group, sizeof c.group, "0b4c6e2a-1f3d-4a5b-8c7d-%012x", k);
    snprintf(c.ua, sizeof c.ua, "11111111-2222-4333-8444-%012x", k);
    snprintf(c.ub, sizeof c.ub, "66666666-7777-4888-9999-%012x", k);
    return c;
}

/* A message record of conversation c at ts carrying text. */
static json_t *conv_record(const conv *c, const char *ts, const char *text)
{
    char pk[64];
    snprintf(pk, sizeof pk, "MSG#%s", c->group);
    return record("INSERT", key(pk, ts), msg_image(pk, ts, text));
}

/* Primes cache with c's rows at T0 moved to TS (a Query and one transaction). */
static void prime_conv(ddbscript *s, groupsync_cache *cache, const conv *c)
{
    char pa[64], pb[64];
    snprintf(pa, sizeof pa, "GRP#%s", c->ua);
    snprintf(pb, sizeof pb, "GRP#%s", c->ub);
    reply_rows(s, json_pack("[o, o]", grow(pa, T0, c->group), grow(pb, T0, c->group)));
    ddbscript_ok(s, "TransactWriteItems", NULL);
    json_t *r = conv_record(c, TS, "first");
    groupsync_result res;
    ddb_error err;
    ck_assert_int_eq(groupsync_apply_cached(ddbscript_ddb(s), "t", cache, r, &res, &err),
                     GROUPSYNC_OK);
    ck_assert_int_eq(res.moved, 2);
    json_decref(r);
}

/* groupsync_together_apply over recs[0..n) (stolen), all of them with cache, into done/res. */
static size_t together(ddbscript *s, groupsync_cache *cache, json_t **recs, size_t n, bool *done,
                       groupsync_result *res)
{
    groupsync_cache **caches = malloc(n * sizeof *caches);
    for (size_t i = 0; i < n; i++)
        caches[i] = cache;
    size_t moved = groupsync_together_apply(ddbscript_ddb(s), "t", caches,
                                            (const json_t *const *)recs, n, done, res);
    for (size_t i = 0; i < n; i++)
        json_decref(recs[i]);
    free(caches);
    return moved;
}

START_TEST(conversations_in_use_move_in_one_transaction)
{
    ddbscript *s = ddbscript_new(0);
    groupsync_cache *cache = groupsync_cache_new(64);
    conv c[4];
    for (int k = 0; k < 4; k++) {
        c[k] = conv_of(k);
        if (k < 3)
            prime_conv(s, cache, &c[k]);
    }
    size_t primed = ddbscript_calls(s);
    ddbscript_ok(s, "TransactWriteItems", NULL);
    /* three cached conversations, one not cached, one removal, one older message */
    json_t *recs[6] = { conv_record(&c[0], T9, SECRET), conv_record(&c[1], T9, SECRET),
                        conv_record(&c[3], T9, SECRET), record("REMOVE", key("MSG#x", T9), NULL),
                        conv_record(&c[2], T9, SECRET), NULL };
    json_t *older = conv_record(&c[0], T0, "older");
    recs[5] = older;
    bool done[6];
    groupsync_result res[6];
    /* the older message of c[0] moves nothing: it is for the caller too */
    ck_assert_uint_eq(together(s, cache, recs, 6, done, res), 3);
    ck_assert(done[0] && done[1] && done[4]);
    ck_assert(!done[2] && !done[3] && !done[5]);
    static const int moved[] = { 0, 1, 4 };
    for (int j = 0; j < 3; j++) {
        int i = moved[j];
        ck_assert_int_eq(res[i].action, GROUPSYNC_MOVED);
        ck_assert_int_eq(res[i].moved, 2);
        ck_assert(res[i].cached);
        ck_assert_str_eq(res[i].created_at, T9);
    }
    ck_assert_str_eq(res[4].group, c[2].group);
    /* one transaction of twelve actions, each move from the cached TS to T9 */
    ck_assert_uint_eq(ddbscript_calls(s), primed + 1);
    ck_assert_uint_eq(ddbscript_unexpected(s), 0);
    ck_assert_uint_eq(transact_actions(s, primed), 12);
    for (size_t k = 0; k < 12; k += 2) {
        ck_assert_str_eq(ddb_av_get_s(json_object_get(action(s, primed, k, "Delete"), "Key"), "sk"),
                         TS);
        ck_assert_str_eq(required(s, primed, k, "message"), "first");
        ck_assert_str_eq(
            ddb_av_get_s(json_object_get(action(s, primed, k + 1, "Put"), "Item"), "sk"), T9);
    }
    expect_forward_only(s);
    /* the cache holds the rows as moved: the next message moves from T9 */
    ddbscript_ok(s, "TransactWriteItems", NULL);
    json_t *r = conv_record(&c[1], T11, "later");
    groupsync_result one;
    ddb_error err;
    ck_assert_int_eq(groupsync_apply_cached(ddbscript_ddb(s), "t", cache, r, &one, &err),
                     GROUPSYNC_OK);
    json_decref(r);
    ck_assert(one.cached);
    ck_assert_str_eq(ddb_av_get_s(json_object_get(action(s, primed + 1, 0, "Delete"), "Key"), "sk"),
                     T9);
    ck_assert_str_eq(required(s, primed + 1, 0, "message"), SECRET);
    groupsync_cache_free(cache);
    ddbscript_free(s);
}
END_TEST

START_TEST(conversations_of_many_caches_move_in_one_transaction)
{
    /* the daemon's appliers each cache their own conversations; one transaction moves them
     * all, and each cache learns the rows of its own */
    ddbscript *s = ddbscript_new(0);
    groupsync_cache *mine = groupsync_cache_new(16), *theirs = groupsync_cache_new(16);
    conv a = conv_of(1), b = conv_of(2), c = conv_of(3);
    prime_conv(s, mine, &a);
    prime_conv(s, theirs, &b);
    prime_conv(s, theirs, &c);
    size_t primed = ddbscript_calls(s);
    ddbscript_ok(s, "TransactWriteItems", NULL);
    json_t *recs[3] = { conv_record(&a, T9, SECRET), conv_record(&b, T9, SECRET),
                        conv_record(&c, T9, SECRET) };
    /* c's record comes without a cache: it is not moved here, though its rows are cached */
    groupsync_cache *caches[3] = { mine, theirs, NULL };
    bool done[3];
    groupsync_result res[3];
    ck_assert_uint_eq(groupsync_together_apply(ddbscript_ddb(s), "t", caches,
                                               (const json_t *const *)recs, 3, done, res),
                      2);
    for (int i = 0; i < 3; i++)
        json_decref(recs[i]);
    ck_assert(done[0] && done[1] && !done[2]);
    ck_assert_uint_eq(ddbscript_calls(s), primed + 1);
    ck_assert_uint_eq(transact_actions(s, primed), 8);
    /* each cache holds its conversation as moved, and only its own */
    json_t *rows = groupsync_cache_get(mine, a.group);
    ck_assert_ptr_nonnull(rows);
    ck_assert_str_eq(ddb_av_get_s(json_array_get(rows, 0), "sk"), T9);
    json_decref(rows);
    ck_assert(!groupsync_cache_held(mine, b.group));
    rows = groupsync_cache_get(theirs, b.group);
    ck_assert_ptr_nonnull(rows);
    ck_assert_str_eq(ddb_av_get_s(json_array_get(rows, 0), "sk"), T9);
    json_decref(rows);
    ck_assert(!groupsync_cache_held(theirs, a.group));
    groupsync_cache_free(mine);
    groupsync_cache_free(theirs);
    ddbscript_free(s);
}
END_TEST

START_TEST(a_cancelled_transaction_leaves_every_conversation_to_the_caller)
{
    static const char *const fails[] = { "cancel", "conflict", "throttled", "reset" };
    for (size_t f = 0; f < 4; f++) {
        ddbscript *s = ddbscript_new(1);
        groupsync_cache *cache = groupsync_cache_new(64);
        conv c[2] = { conv_of(1), conv_of(2) };
        prime_conv(s, cache, &c[0]);
        prime_conv(s, cache, &c[1]);
        if (f == 0)
            ddbscript_cancel(s, "None,None,ConditionalCheckFailed,None,None,None,None,None");
        else if (f == 1)
            ddbscript_error(s, "TransactWriteItems", "TransactionConflictException");
        else if (f == 2)
            ddbscript_error(s, "TransactWriteItems", "ThrottlingException");
        else
            ddbscript_fail(s, "TransactWriteItems", HTTP_FAIL_RESET);
        json_t *recs[2] = { conv_record(&c[0], T9, SECRET), conv_record(&c[1], T9, SECRET) };
        bool done[2] = { true, true };
        groupsync_result res[2];
        ck_assert_uint_eq(together(s, cache, recs, 2, done, res), 0);
        ck_assert_msg(!done[0] && !done[1], "%s", fails[f]);
        /* nothing forgotten: the call of its own finds out which one is stale */
        groupsync_cache_stats st;
        groupsync_cache_get_stats(cache, &st);
        ck_assert_uint_eq(st.entries, 2);
        ck_assert_uint_eq(st.stale, 0);
        ck_assert_uint_eq(ddbscript_unexpected(s), 0);
        ck_assert_uint_eq(ddbscript_pending(s), 0);
        groupsync_cache_free(cache);
        ddbscript_free(s);
    }
}
END_TEST

START_TEST(conversations_that_touch_one_key_are_not_put_together)
{
    ddbscript *s = ddbscript_new(0);
    groupsync_cache *cache = groupsync_cache_new(64);
    conv a = conv_of(1), b = conv_of(2);
    memcpy(b.ua, a.ua, sizeof b.ua); /* one user in both, messages in the same microsecond */
    prime_conv(s, cache, &a);
    size_t primed = ddbscript_calls(s);
    /* b's rows are cached at T0: its move of the shared user's row to T9 would meet a's
     * move of that row to the same key */
    char pa[64], pb[64];
    snprintf(pa, sizeof pa, "GRP#%s", b.ua);
    snprintf(pb, sizeof pb, "GRP#%s", b.ub);
    groupsync_cache_put(cache, b.group,
                        json_pack("[o, o]", grow(pa, T0, b.group), grow(pb, T0, b.group)));
    ddbscript_ok(s, "TransactWriteItems", NULL);
    json_t *recs[2] = { conv_record(&a, T9, SECRET), conv_record(&b, T9, SECRET) };
    bool done[2];
    groupsync_result res[2];
    ck_assert_uint_eq(together(s, cache, recs, 2, done, res), 1);
    ck_assert(done[0] && !done[1]);
    ck_assert_uint_eq(ddbscript_calls(s), primed + 1);
    ck_assert_uint_eq(transact_actions(s, primed), 4);
    groupsync_cache_free(cache);
    ddbscript_free(s);
}
END_TEST

START_TEST(transactions_are_bounded_in_actions_and_bytes)
{
    int n = GROUPSYNC_TOGETHER_MAX + 2;
    ddbscript *s = ddbscript_new(0);
    groupsync_cache *cache = groupsync_cache_new(256);
    json_t *recs[GROUPSYNC_TOGETHER_MAX + 2];
    for (int k = 0; k < n; k++) {
        conv c = conv_of(k);
        prime_conv(s, cache, &c);
        recs[k] = conv_record(&c, T9, SECRET);
    }
    size_t primed = ddbscript_calls(s);
    ddbscript_ok(s, "TransactWriteItems", NULL);
    ddbscript_ok(s, "TransactWriteItems", NULL);
    bool done[GROUPSYNC_TOGETHER_MAX + 2];
    groupsync_result res[GROUPSYNC_TOGETHER_MAX + 2];
    ck_assert_uint_eq(together(s, cache, recs, (size_t)n, done, res), (size_t)n);
    ck_assert_uint_eq(ddbscript_calls(s), primed + 2);
    ck_assert_uint_eq(transact_actions(s, primed), 4 * GROUPSYNC_TOGETHER_MAX);
    ck_assert_uint_eq(transact_actions(s, primed + 1), 8);

    /* long messages: as many in one transaction as the byte budget allows */
    size_t big = GROUPSYNC_TOGETHER_BYTES / 5, longest = GROUPSYNC_MESSAGE_MAX;
    char *text = malloc(big + 1), *huge = malloc(longest + 1);
    memset(text, 'x', big);
    text[big] = '\0';
    memset(huge, 'y', longest);
    huge[longest] = '\0';
    primed = ddbscript_calls(s);
    for (int k = 0; k < 3; k++)
        ddbscript_ok(s, "TransactWriteItems", NULL);
    json_t *longs[4];
    for (int k = 0; k < 4; k++) {
        conv c = conv_of(k);
        longs[k] = conv_record(&c, T11, k == 3 ? huge : text);
    }
    ck_assert_uint_eq(together(s, cache, longs, 4, done, res), 4);
    ck_assert_uint_eq(ddbscript_calls(s), primed + 3);
    ck_assert_uint_eq(transact_actions(s, primed), 8);
    ck_assert_uint_eq(transact_actions(s, primed + 1), 4);
    ck_assert_uint_eq(transact_actions(s, primed + 2), 4);
    ck_assert_uint_eq(ddbscript_pending(s), 0);
    free(text);
    free(huge);
    groupsync_cache_free(cache);
    ddbscript_free(s);
}
END_TEST

START_TEST(together_refuses_what_it_cannot_do)
{
    ddbscript *s = ddbscript_new(0);
    groupsync_cache *cache = groupsync_cache_new(16);
    conv c = conv_of(1);
    prime_conv(s, cache, &c);
    size_t primed = ddbscript_calls(s);
    json_t *r = conv_record(&c, T9, SECRET);
    const json_t *recs[1] = { r };
    bool done[1] = { true };
    groupsync_result res[1];
    groupsync_cache *caches[1] = { cache }, *none[1] = { NULL };
    ck_assert_uint_eq(groupsync_together_apply(ddbscript_ddb(s), "t", NULL, recs, 1, done, res), 0);
    ck_assert(!done[0]);
    done[0] = true;
    ck_assert_uint_eq(groupsync_together_apply(ddbscript_ddb(s), "t", none, recs, 1, done, res), 0);
    ck_assert(!done[0]);
    done[0] = true;
    ck_assert_uint_eq(groupsync_together_apply(NULL, "t", caches, recs, 1, done, res), 0);
    ck_assert(!done[0]);
    ck_assert_uint_eq(groupsync_together_apply(ddbscript_ddb(s), "", caches, recs, 1, done, res),
                      0);
    ck_assert_uint_eq(groupsync_together_apply(ddbscript_ddb(s), "t", caches, recs, 0, done, res),
                      0);
    ck_assert_uint_eq(ddbscript_calls(s), primed);
    json_decref(r);
    groupsync_cache_free(cache);
    ddbscript_free(s);
}
END_TEST

static Suite *groupsync_suite(void)
{
    Suite *s = suite_create("groupsync");
    TCase *tc = tcase_create("messages");
    tcase_add_test(tc, insert_of_a_message_is_a_message);
    tcase_add_test(tc, modify_and_variants_are_messages);
    suite_add_tcase(s, tc);
    tc = tcase_create("ignored");
    tcase_add_test(tc, removals_are_ignored);
    tcase_add_test(tc, group_rows_and_other_items_are_ignored);
    suite_add_tcase(s, tc);
    tc = tcase_create("malformed");
    tcase_add_test(tc, records_that_are_not_records_are_bad);
    tcase_add_test(tc, message_items_without_a_usable_image_are_bad);
    tcase_add_test(tc, huge_strings_are_refused_cheaply);
    suite_add_tcase(s, tc);
    tc = tcase_create("apply");
    tcase_add_test(tc, apply_needs_a_client_for_messages_only);
    tcase_add_test(tc, action_names);
    suite_add_tcase(s, tc);
    tc = tcase_create("plan");
    tcase_add_test(tc, plan_rows_table);
    tcase_add_test(tc, plan_rows_refuses_what_it_cannot_judge);
    tcase_add_test(tc, plan_target_table);
    tcase_add_test(tc, plan_failure_table);
    tcase_add_test(tc, plan_outcome_table);
    suite_add_tcase(s, tc);
    tc = tcase_create("scripted");
    tcase_add_test(tc, a_cancelled_move_reads_its_target_then_rereads);
    tcase_add_test(tc, a_collision_is_read_then_left_alone);
    tcase_add_test(tc, a_stale_duplicate_in_the_read_is_deleted_directly);
    tcase_add_test(tc, a_duplicate_found_at_the_target_is_deleted);
    tcase_add_test(tc, an_older_message_writes_nothing);
    tcase_add_test(tc, invalid_and_throttled_transactions);
    tcase_add_test(tc, both_rows_move_in_one_transaction);
    suite_add_tcase(s, tc);
    tc = tcase_create("cache");
    tcase_add_test(tc, the_cache_saves_the_query);
    tcase_add_test(tc, stale_cache_rows_moved_past_by_another_daemon);
    tcase_add_test(tc, stale_cache_rows_moved_less_far_are_moved_from_where_they_are);
    tcase_add_test(tc, stale_cache_single_row_goes_to_the_query_not_the_target);
    tcase_add_test(tc, stale_cache_row_deleted);
    tcase_add_test(tc, stale_cache_target_taken_by_another_conversation);
    tcase_add_test(tc, stale_cache_row_replaced_is_not_written_back);
    tcase_add_test(tc, cache_is_bounded_and_lru);
    tcase_add_test(tc, plan_pair_cacheable_after_table);
    suite_add_tcase(s, tc);
    tc = tcase_create("together");
    tcase_add_test(tc, conversations_in_use_move_in_one_transaction);
    tcase_add_test(tc, conversations_of_many_caches_move_in_one_transaction);
    tcase_add_test(tc, a_cancelled_transaction_leaves_every_conversation_to_the_caller);
    tcase_add_test(tc, conversations_that_touch_one_key_are_not_put_together);
    tcase_add_test(tc, transactions_are_bounded_in_actions_and_bytes);
    tcase_add_test(tc, together_refuses_what_it_cannot_do);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tap_run(groupsync_suite());
}
