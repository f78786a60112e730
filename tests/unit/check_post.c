/* check_post.c — patterns C and D as the product runs them (messaging/post.h) against a
 * scripted DynamoDB (tests/support/ddbscript.h): what each decision sends, in which order,
 * and the outcome it ends in. No server. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <string.h>

#include "aws/ddb_av.h"
#include "base/clock.h"
#include "ddbscript.h"
#include "messaging/post.h"
#include "tap.h"

#define T0 1764680000000000LL /* the fixed "now" of every test, in microseconds */
#define GROUP "0a0a0a0a-1111-4222-8333-444444444444"
#define OTHER_GROUP "0b0b0b0b-1111-4222-8333-444444444444"

static const messaging_user alice = { "11111111-2222-4333-8444-555555555555", "Alice A", "alice" };
static const messaging_user bob = { "66666666-7777-4888-9999-aaaaaaaaaaaa", "Bob B", "bob" };
static const char *const carol_pk = "GRP#77777777-7777-4888-9999-aaaaaaaaaaaa";

static int64_t fixed_now(void)
{
    return T0;
}

static ddbscript *s;
static messaging_store st;
static messaging_post_result res;

static void setup(void)
{
    messaging_clock_for_tests(fixed_now);
    s = ddbscript_new(1);
    st = (messaging_store){ .db = ddbscript_ddb(s), .table = "t" };
    messaging_post_result_init(&res);
}

static void teardown(void)
{
    ck_assert_uint_eq(ddbscript_unexpected(s), 0);
    ck_assert_uint_eq(ddbscript_pending(s), 0);
    messaging_post_result_cleanup(&res);
    ddbscript_free(s);
    messaging_clock_for_tests(NULL);
}

static void ts(int64_t us, char out[MESSAGING_TS_LEN])
{
    ck_assert_int_eq(clock_iso8601_us(out, MESSAGING_TS_LEN, us), 0);
}

/* A Query answer holding group rows with these pks (NULL-terminated) in group g. */
static void rows(const char *g, const char *pk1, const char *pk2)
{
    char body[1024];
    char one[2][300] = { "", "" };
    const char *pks[2] = { pk1, pk2 };
    int n = 0;
    for (int i = 0; i < 2; i++)
        if (pks[i])
            snprintf(one[n++], sizeof one[0],
                     "{\"pk\":{\"S\":\"%s\"},\"sk\":{\"S\":\"2026\"},"
                     "\"message_group_uuid\":{\"S\":\"%s\"}}",
                     pks[i], g);
    snprintf(body, sizeof body, "{\"Items\":[%s%s%s],\"Count\":%d}", one[0], n > 1 ? "," : "",
             one[1], n);
    ddbscript_ok(s, "Query", body);
}

static const char *alice_pk(void)
{
    return "GRP#11111111-2222-4333-8444-555555555555";
}

static const char *s_of(const json_t *item, const char *attr)
{
    return ddb_av_get_s(item, attr);
}

/* Action i of the TransactWriteItems request number call. */
static const json_t *action(size_t call, size_t i)
{
    ck_assert_str_eq(ddbscript_op(s, call), "TransactWriteItems");
    return json_object_get(
        json_array_get(json_object_get(ddbscript_body(s, call), "TransactItems"), i), "Put");
}

/* ---- C ------------------------------------------------------------------------------------ */

START_TEST(c_collides_twice_then_posts_at_the_third_microsecond)
{
    rows(GROUP, alice_pk(), NULL);
    ddbscript_error(s, "PutItem", "ConditionalCheckFailedException");
    ddbscript_error(s, "PutItem", "ConditionalCheckFailedException");
    ddbscript_ok(s, "PutItem", NULL);
    messaging_post p = { .me = &alice, .message = "hi" };
    ck_assert_int_eq(messaging_post_message(&st, &p, GROUP, &res), 0);
    ck_assert_int_eq(res.outcome, MESSAGING_POST_POSTED);
    ck_assert_uint_eq(ddbscript_calls(s), 4);
    for (int i = 0; i < 3; i++) {
        char want[MESSAGING_TS_LEN];
        ts(T0 + i, want);
        const json_t *body = ddbscript_body(s, 1 + i);
        ck_assert_str_eq(ddbscript_op(s, 1 + i), "PutItem");
        ck_assert_str_eq(s_of(json_object_get(body, "Item"), "sk"), want);
        ck_assert_str_eq(s_of(json_object_get(body, "Item"), "pk"), "MSG#" GROUP);
        ck_assert_str_eq(json_string_value(json_object_get(body, "ConditionExpression")),
                         "attribute_not_exists(sk)");
    }
    char third[MESSAGING_TS_LEN];
    ts(T0 + 2, third);
    ck_assert_str_eq(json_string_value(json_object_get(res.answer, "created_at")), third);
    ck_assert_str_eq(json_string_value(json_object_get(res.answer, "handle")), "alice");
    ck_assert_str_eq(json_string_value(json_object_get(res.answer, "message")), "hi");
}
END_TEST

START_TEST(c_gives_up_busy_after_the_tries)
{
    rows(GROUP, alice_pk(), NULL);
    for (int i = 0; i < MESSAGING_POST_TS_TRIES; i++)
        ddbscript_error(s, "PutItem", "ConditionalCheckFailedException");
    messaging_post p = { .me = &alice, .message = "hi" };
    ck_assert_int_eq(messaging_post_message(&st, &p, GROUP, &res), 0);
    ck_assert_int_eq(res.outcome, MESSAGING_POST_BUSY);
    ck_assert_ptr_null(res.answer);
    ck_assert_uint_eq(ddbscript_calls(s), 1 + MESSAGING_POST_TS_TRIES);
}
END_TEST

START_TEST(c_refuses_a_non_member_without_writing)
{
    rows(GROUP, carol_pk, "GRP#66666666-7777-4888-9999-aaaaaaaaaaaa");
    messaging_post p = { .me = &alice, .message = "hi" };
    ck_assert_int_eq(messaging_post_message(&st, &p, GROUP, &res), 0);
    ck_assert_int_eq(res.outcome, MESSAGING_POST_NOT_MEMBER);
    ck_assert_uint_eq(ddbscript_calls(s), 1);
}
END_TEST

START_TEST(c_store_down_is_failed_with_the_step)
{
    rows(GROUP, alice_pk(), NULL);
    ddbscript_error(s, "PutItem", "ResourceNotFoundException");
    messaging_post p = { .me = &alice, .message = "hi" };
    ck_assert_int_eq(messaging_post_message(&st, &p, GROUP, &res), 0);
    ck_assert_int_eq(res.outcome, MESSAGING_POST_FAILED);
    ck_assert_str_eq(res.step, "put");
    ck_assert(ddb_error_is(&res.err, "ResourceNotFoundException"));
}
END_TEST

START_TEST(c_with_a_key_writes_message_and_record_together)
{
    char fp[65];
    ck_assert_int_eq(messaging_post_fingerprint(fp, 'C', GROUP, "hi"), 0);
    rows(GROUP, alice_pk(), NULL);
    ddbscript_ok(s, "TransactWriteItems", NULL);
    messaging_post p = { .me = &alice, .message = "hi", .idem_key = "k-1", .fingerprint = fp };
    ck_assert_int_eq(messaging_post_message(&st, &p, GROUP, &res), 0);
    ck_assert_int_eq(res.outcome, MESSAGING_POST_POSTED);
    const json_t *msg = json_object_get(action(1, 0), "Item");
    const json_t *rec = json_object_get(action(1, 1), "Item");
    ck_assert_str_eq(s_of(rec, "pk"), "IDEM#11111111-2222-4333-8444-555555555555");
    ck_assert_str_eq(s_of(rec, "sk"), "k-1");
    ck_assert_str_eq(s_of(rec, "kind"), "C");
    ck_assert_str_eq(s_of(rec, "fingerprint"), fp);
    /* the stored result, byte for byte what the API answers */
    char want[512], now[MESSAGING_TS_LEN];
    ts(T0, now);
    snprintf(want, sizeof want,
             "{\"uuid\":\"%s\",\"display_name\":\"Alice A\",\"handle\":\"alice\","
             "\"message\":\"hi\",\"created_at\":\"%s\"}",
             s_of(msg, "message_uuid"), now);
    ck_assert_str_eq(s_of(rec, "result"), want);
    ck_assert_str_eq(json_string_value(json_object_get(action(1, 1), "ConditionExpression")),
                     "attribute_not_exists(pk) OR #ttl < :now");
    const char *token =
        json_string_value(json_object_get(ddbscript_body(s, 1), "ClientRequestToken"));
    ck_assert_ptr_nonnull(token);
    ck_assert_uint_eq(strlen(token), 36);
}
END_TEST

START_TEST(idempotent_replay_answers_the_stored_result)
{
    char fp[65], body[1024];
    ck_assert_int_eq(messaging_post_fingerprint(fp, 'C', GROUP, "hi"), 0);
    snprintf(body, sizeof body,
             "{\"Item\":{\"pk\":{\"S\":\"IDEM#x\"},\"sk\":{\"S\":\"k-1\"},\"kind\":{\"S\":\"C\"},"
             "\"fingerprint\":{\"S\":\"%s\"},\"result\":{\"S\":\"{\\\"uuid\\\":\\\"u-1\\\"}\"},"
             "\"ttl\":{\"N\":\"%lld\"}}}",
             fp, (long long)(clock_real_us() / 1000000 + 60));
    ddbscript_ok(s, "GetItem", body);
    messaging_post p = { .me = &alice, .message = "hi", .idem_key = "k-1", .fingerprint = fp };
    ck_assert_int_eq(messaging_post_replay(&st, &p, &res), 0);
    ck_assert_int_eq(res.outcome, MESSAGING_POST_REPLAYED);
    ck_assert_str_eq(json_string_value(json_object_get(res.answer, "uuid")), "u-1");
    const json_t *req = ddbscript_body(s, 0);
    ck_assert(json_is_true(json_object_get(req, "ConsistentRead")));
    ck_assert_str_eq(s_of(json_object_get(req, "Key"), "pk"),
                     "IDEM#11111111-2222-4333-8444-555555555555");
}
END_TEST

START_TEST(the_same_key_with_another_body_is_reused)
{
    char fp[65], other[65], body[1024];
    ck_assert_int_eq(messaging_post_fingerprint(fp, 'C', GROUP, "hi"), 0);
    ck_assert_int_eq(messaging_post_fingerprint(other, 'C', GROUP, "hello"), 0);
    ck_assert_str_ne(fp, other);
    snprintf(body, sizeof body,
             "{\"Item\":{\"pk\":{\"S\":\"IDEM#x\"},\"sk\":{\"S\":\"k-1\"},"
             "\"fingerprint\":{\"S\":\"%s\"},\"result\":{\"S\":\"{}\"}}}",
             other);
    ddbscript_ok(s, "GetItem", body);
    messaging_post p = { .me = &alice, .message = "hi", .idem_key = "k-1", .fingerprint = fp };
    ck_assert_int_eq(messaging_post_replay(&st, &p, &res), 0);
    ck_assert_int_eq(res.outcome, MESSAGING_POST_KEY_REUSED);
    ck_assert_ptr_null(res.answer);
}
END_TEST

START_TEST(an_expired_record_or_none_is_fresh)
{
    char fp[65], body[1024];
    ck_assert_int_eq(messaging_post_fingerprint(fp, 'C', GROUP, "hi"), 0);
    snprintf(body, sizeof body,
             "{\"Item\":{\"pk\":{\"S\":\"IDEM#x\"},\"sk\":{\"S\":\"k-1\"},"
             "\"fingerprint\":{\"S\":\"%s\"},\"result\":{\"S\":\"{}\"},\"ttl\":{\"N\":\"5\"}}}",
             fp);
    ddbscript_ok(s, "GetItem", body);
    ddbscript_ok(s, "GetItem", NULL);
    messaging_post p = { .me = &alice, .message = "hi", .idem_key = "k-1", .fingerprint = fp };
    ck_assert_int_eq(messaging_post_replay(&st, &p, &res), 0);
    ck_assert_int_eq(res.outcome, MESSAGING_POST_FRESH);
    ck_assert_int_eq(messaging_post_replay(&st, &p, &res), 0);
    ck_assert_int_eq(res.outcome, MESSAGING_POST_FRESH);
    messaging_post nokey = { .me = &alice, .message = "hi" };
    ck_assert_int_eq(messaging_post_replay(&st, &nokey, &res), 0); /* no request at all */
    ck_assert_int_eq(res.outcome, MESSAGING_POST_FRESH);
}
END_TEST

START_TEST(c_losing_on_the_record_replays_or_is_in_progress)
{
    char fp[65], body[1024];
    ck_assert_int_eq(messaging_post_fingerprint(fp, 'C', GROUP, "hi"), 0);
    snprintf(body, sizeof body,
             "{\"Item\":{\"pk\":{\"S\":\"IDEM#x\"},\"sk\":{\"S\":\"k-1\"},"
             "\"fingerprint\":{\"S\":\"%s\"},\"result\":{\"S\":\"{\\\"uuid\\\":\\\"first\\\"}\"}}}",
             fp);
    messaging_post p = { .me = &alice, .message = "hi", .idem_key = "k-1", .fingerprint = fp };
    /* the original request's record is there: its answer */
    rows(GROUP, alice_pk(), NULL);
    ddbscript_cancel(s, "None,ConditionalCheckFailed");
    ddbscript_ok(s, "GetItem", body);
    ck_assert_int_eq(messaging_post_message(&st, &p, GROUP, &res), 0);
    ck_assert_int_eq(res.outcome, MESSAGING_POST_REPLAYED);
    ck_assert_str_eq(json_string_value(json_object_get(res.answer, "uuid")), "first");
    /* the original request is still writing it */
    rows(GROUP, alice_pk(), NULL);
    ddbscript_cancel(s, "None,TransactionConflict");
    ddbscript_ok(s, "GetItem", NULL);
    ck_assert_int_eq(messaging_post_message(&st, &p, GROUP, &res), 0);
    ck_assert_int_eq(res.outcome, MESSAGING_POST_IN_PROGRESS);
    ck_assert_ptr_null(res.answer);
}
END_TEST

/* ---- D ------------------------------------------------------------------------------------ */

/* What D reads before it creates: no pair item, no legacy row of mine with bob. */
static void no_pair(void)
{
    ddbscript_ok(s, "GetItem", NULL);
    ddbscript_ok(s, "Query", "{\"Items\":[],\"Count\":0}");
}

static void pair_item(const char *g)
{
    char body[512];
    snprintf(body, sizeof body,
             "{\"Item\":{\"pk\":{\"S\":\"PAIR#x\"},\"sk\":{\"S\":\"PAIR\"},"
             "\"pair_group_uuid\":{\"S\":\"%s\"}}}",
             g);
    ddbscript_ok(s, "GetItem", body);
}

START_TEST(d_creates_with_the_pair_item)
{
    no_pair();
    ddbscript_ok(s, "TransactWriteItems", NULL);
    messaging_post p = { .me = &bob, .message = "hello" };
    ck_assert_int_eq(messaging_start(&st, &p, &alice, &res), 0);
    ck_assert_int_eq(res.outcome, MESSAGING_POST_CREATED);
    ck_assert_uint_eq(strlen(res.group), 36);
    ck_assert_str_eq(json_string_value(json_object_get(res.answer, "message_group_uuid")),
                     res.group);
    ck_assert_uint_eq(ddbscript_calls(s), 3);
    /* the pair lookup: the consistent GetItem of PAIR#<lower>#<higher> */
    const json_t *get = ddbscript_body(s, 0);
    ck_assert_str_eq(s_of(json_object_get(get, "Key"), "pk"),
                     "PAIR#11111111-2222-4333-8444-555555555555#"
                     "66666666-7777-4888-9999-aaaaaaaaaaaa");
    ck_assert(json_is_true(json_object_get(get, "ConsistentRead")));
    const json_t *tx = json_object_get(ddbscript_body(s, 2), "TransactItems");
    ck_assert_uint_eq(json_array_size(tx), 4);
    ck_assert_str_eq(s_of(json_object_get(action(2, 0), "Item"), "pk"),
                     "GRP#66666666-7777-4888-9999-aaaaaaaaaaaa");
    ck_assert_str_eq(s_of(json_object_get(action(2, 1), "Item"), "pk"), alice_pk());
    const json_t *pair = json_object_get(action(2, 3), "Item");
    ck_assert_str_eq(s_of(pair, "sk"), "PAIR");
    ck_assert_str_eq(s_of(pair, "pair_group_uuid"), res.group);
    ck_assert_ptr_null(json_object_get(pair, "message_group_uuid"));
    ck_assert_str_eq(json_string_value(json_object_get(action(2, 3), "ConditionExpression")),
                     "attribute_not_exists(pk)");
    /* without a key, the token is the first message's uuid */
    ck_assert_str_eq(json_string_value(json_object_get(ddbscript_body(s, 2), "ClientRequestToken")),
                     s_of(json_object_get(action(2, 2), "Item"), "message_uuid"));
}
END_TEST

START_TEST(d_loses_the_pair_and_joins_the_winner)
{
    no_pair();
    ddbscript_cancel(s, "None,None,None,ConditionalCheckFailed");
    pair_item(GROUP);
    rows(GROUP, "GRP#66666666-7777-4888-9999-aaaaaaaaaaaa", NULL);
    ddbscript_ok(s, "PutItem", NULL);
    messaging_post p = { .me = &bob, .message = "hello" };
    ck_assert_int_eq(messaging_start(&st, &p, &alice, &res), 0);
    ck_assert_int_eq(res.outcome, MESSAGING_POST_JOINED);
    ck_assert_str_eq(res.group, GROUP);
    ck_assert_str_eq(json_string_value(json_object_get(res.answer, "message_group_uuid")), GROUP);
    ck_assert_str_eq(s_of(json_object_get(ddbscript_body(s, 5), "Item"), "pk"), "MSG#" GROUP);
}
END_TEST

START_TEST(d_replaces_a_stale_pair_item)
{
    pair_item(OTHER_GROUP);
    rows(OTHER_GROUP, NULL, NULL);                          /* the GSI: no row */
    ddbscript_ok(s, "Query", "{\"Items\":[],\"Count\":0}"); /* nor the consistent read */
    ddbscript_ok(s, "TransactWriteItems", NULL);
    messaging_post p = { .me = &bob, .message = "hello" };
    ck_assert_int_eq(messaging_start(&st, &p, &alice, &res), 0);
    ck_assert_int_eq(res.outcome, MESSAGING_POST_CREATED);
    ck_assert_str_ne(res.group, OTHER_GROUP);
    const json_t *put = action(3, 3);
    ck_assert_str_eq(json_string_value(json_object_get(put, "ConditionExpression")), "#g = :old");
    ck_assert_str_eq(s_of(json_object_get(put, "ExpressionAttributeValues"), ":old"), OTHER_GROUP);
    ck_assert_str_eq(s_of(json_object_get(put, "Item"), "pair_group_uuid"), res.group);
}
END_TEST

START_TEST(d_retries_after_a_transaction_conflict)
{
    no_pair();
    ddbscript_cancel(s, "None,None,None,TransactionConflict");
    no_pair();
    ddbscript_ok(s, "TransactWriteItems", NULL);
    messaging_post p = { .me = &bob, .message = "hello" };
    ck_assert_int_eq(messaging_start(&st, &p, &alice, &res), 0);
    ck_assert_int_eq(res.outcome, MESSAGING_POST_CREATED);
    ck_assert_uint_eq(ddbscript_calls(s), 6);
    /* each round a new group */
    ck_assert_str_ne(s_of(json_object_get(action(2, 3), "Item"), "pair_group_uuid"),
                     s_of(json_object_get(action(5, 3), "Item"), "pair_group_uuid"));
}
END_TEST

START_TEST(d_collides_on_a_group_row_then_takes_the_next_microsecond)
{
    no_pair();
    ddbscript_cancel(s, "ConditionalCheckFailed,None,None,None");
    ddbscript_ok(s, "TransactWriteItems", NULL);
    messaging_post p = { .me = &bob, .message = "hello" };
    ck_assert_int_eq(messaging_start(&st, &p, &alice, &res), 0);
    ck_assert_int_eq(res.outcome, MESSAGING_POST_CREATED);
    char t0[MESSAGING_TS_LEN], t1[MESSAGING_TS_LEN];
    ts(T0, t0);
    ts(T0 + 1, t1);
    ck_assert_str_eq(s_of(json_object_get(action(2, 0), "Item"), "sk"), t0);
    ck_assert_str_eq(s_of(json_object_get(action(3, 0), "Item"), "sk"), t1);
    /* the same group both times */
    ck_assert_str_eq(s_of(json_object_get(action(2, 3), "Item"), "pair_group_uuid"),
                     s_of(json_object_get(action(3, 3), "Item"), "pair_group_uuid"));
}
END_TEST

START_TEST(d_with_oneself_is_refused_without_a_request)
{
    messaging_post p = { .me = &bob, .message = "hello" };
    ck_assert_int_eq(messaging_start(&st, &p, &bob, &res), 0);
    ck_assert_int_eq(res.outcome, MESSAGING_POST_SELF);
    ck_assert_uint_eq(ddbscript_calls(s), 0);
}
END_TEST

START_TEST(d_pair_lookup_failure_is_failed_with_the_step)
{
    ddbscript_error(s, "GetItem", "ResourceNotFoundException");
    messaging_post p = { .me = &bob, .message = "hello" };
    ck_assert_int_eq(messaging_start(&st, &p, &alice, &res), 0);
    ck_assert_int_eq(res.outcome, MESSAGING_POST_FAILED);
    ck_assert_str_eq(res.step, "pair_lookup");
}
END_TEST

START_TEST(fingerprints_follow_the_request)
{
    char a[65], b[65], c[65];
    ck_assert_int_eq(messaging_post_fingerprint(a, 'D', "alice", "hi"), 0);
    ck_assert_int_eq(messaging_post_fingerprint(b, 'C', "alice", "hi"), 0);
    ck_assert_int_eq(messaging_post_fingerprint(c, 'D', "alice", "hi"), 0);
    ck_assert_str_ne(a, b);
    ck_assert_str_eq(a, c);
    /* SHA-256("D\nalice\nhi\n"): the records already stored keep matching */
    ck_assert_str_eq(a, "3ee58c0198cd342575e325427a51ba02d184b78ab42e159c14710ed52a7f1d76");
    ck_assert_int_eq(messaging_post_fingerprint(a, 'D', NULL, "hi"), -1);
}
END_TEST

int main(void)
{
    Suite *su = suite_create("post");
    TCase *c = tcase_create("C");
    tcase_add_checked_fixture(c, setup, teardown);
    tcase_add_test(c, c_collides_twice_then_posts_at_the_third_microsecond);
    tcase_add_test(c, c_gives_up_busy_after_the_tries);
    tcase_add_test(c, c_refuses_a_non_member_without_writing);
    tcase_add_test(c, c_store_down_is_failed_with_the_step);
    tcase_add_test(c, c_with_a_key_writes_message_and_record_together);
    tcase_add_test(c, idempotent_replay_answers_the_stored_result);
    tcase_add_test(c, the_same_key_with_another_body_is_reused);
    tcase_add_test(c, an_expired_record_or_none_is_fresh);
    tcase_add_test(c, c_losing_on_the_record_replays_or_is_in_progress);
    suite_add_tcase(su, c);
    TCase *d = tcase_create("D");
    tcase_add_checked_fixture(d, setup, teardown);
    tcase_add_test(d, d_creates_with_the_pair_item);
    tcase_add_test(d, d_loses_the_pair_and_joins_the_winner);
    tcase_add_test(d, d_replaces_a_stale_pair_item);
    tcase_add_test(d, d_retries_after_a_transaction_conflict);
    tcase_add_test(d, d_collides_on_a_group_row_then_takes_the_next_microsecond);
    tcase_add_test(d, d_with_oneself_is_refused_without_a_request);
    tcase_add_test(d, d_pair_lookup_failure_is_failed_with_the_step);
    tcase_add_test(d, fingerprints_follow_the_request);
    suite_add_tcase(su, d);
    return tap_run(su);
}
