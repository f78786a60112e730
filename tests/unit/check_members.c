/* check_members.c — membership and the pair rule (messaging/members.h) against a scripted
 * DynamoDB (tests/support/ddbscript.h): which reads decide, what is cached, what the pair
 * item looks like. No server. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <string.h>

#include "aws/ddb_av.h"
#include "ddbscript.h"
#include "messaging/members.h"
#include "messaging/messaging.h"
#include "tap.h"

#define ME "11111111-2222-4333-8444-555555555555"
#define YOU "66666666-7777-4888-9999-aaaaaaaaaaaa"
#define THIRD "77777777-7777-4888-9999-aaaaaaaaaaaa"
#define GROUP "0a0a0a0a-1111-4222-8333-444444444444"

static ddbscript *s;
static messaging_store st;
static ddb_error err;

static void setup(void)
{
    s = ddbscript_new(1);
    st = (messaging_store){ .db = ddbscript_ddb(s),
                            .table = "t",
                            .cache = messaging_member_cache_new() };
    ck_assert_ptr_nonnull(st.cache);
}

static void teardown(void)
{
    ck_assert_uint_eq(ddbscript_unexpected(s), 0);
    ck_assert_uint_eq(ddbscript_pending(s), 0);
    messaging_member_cache_free(st.cache);
    ddbscript_free(s);
}

/* A Query answer of group rows of GROUP with these users' pks (NULL: fewer). */
static void rows(const char *u1, const char *u2)
{
    char body[1024], one[2][300] = { "", "" };
    const char *us[2] = { u1, u2 };
    int n = 0;
    for (int i = 0; i < 2; i++)
        if (us[i])
            snprintf(one[n++], sizeof one[0],
                     "{\"pk\":{\"S\":\"GRP#%s\"},\"sk\":{\"S\":\"2026\"},"
                     "\"message_group_uuid\":{\"S\":\"" GROUP "\"}}",
                     us[i]);
    snprintf(body, sizeof body, "{\"Items\":[%s%s%s],\"Count\":%d}", one[0], n > 1 ? "," : "",
             one[1], n);
    ddbscript_ok(s, "Query", body);
}

/* The cache's lookups as the store's observer hears them: [0] misses, [1] hits. */
static int g_lookups[2];
static void count_lookup(void *arg, bool hit)
{
    ((int *)arg)[hit]++;
}

START_TEST(a_row_of_mine_in_the_gsi_decides_and_is_cached)
{
    st.cache_observe = count_lookup;
    st.cache_observe_arg = g_lookups;
    rows(YOU, ME);
    ck_assert_int_eq(messaging_members_check(&st, ME, GROUP, &err), MESSAGING_MEMBER);
    ck_assert_uint_eq(ddbscript_calls(s), 1);
    const json_t *q = ddbscript_body(s, 0);
    ck_assert_str_eq(json_string_value(json_object_get(q, "IndexName")), MESSAGING_GSI);
    /* asked again: the cache answers, no request */
    ck_assert_int_eq(messaging_members_check(&st, ME, GROUP, &err), MESSAGING_MEMBER);
    ck_assert_uint_eq(ddbscript_calls(s), 1);
    /* one miss, then one hit, for the metrics */
    ck_assert_int_eq(g_lookups[0], 1);
    ck_assert_int_eq(g_lookups[1], 1);
}
END_TEST

START_TEST(a_gsi_not_yet_showing_me_falls_back_to_a_consistent_read)
{
    rows(YOU, NULL);
    ddbscript_ok(s, "Query",
                 "{\"Items\":[{\"pk\":{\"S\":\"GRP#" ME "\"},\"sk\":{\"S\":\"2026\"},"
                 "\"message_group_uuid\":{\"S\":\"" GROUP "\"}}],\"Count\":1}");
    ck_assert_int_eq(messaging_members_check(&st, ME, GROUP, &err), MESSAGING_MEMBER);
    ck_assert_uint_eq(ddbscript_calls(s), 2);
    const json_t *q = ddbscript_body(s, 1);
    ck_assert(json_is_true(json_object_get(q, "ConsistentRead")));
    ck_assert_ptr_null(json_object_get(q, "IndexName"));
    ck_assert_str_eq(ddb_av_get_s(json_object_get(q, "ExpressionAttributeValues"), ":pk"),
                     "GRP#" ME);
    ck_assert_str_eq(ddb_av_get_s(json_object_get(q, "ExpressionAttributeValues"), ":f"), GROUP);
}
END_TEST

START_TEST(two_other_members_mean_not_a_member_at_once)
{
    rows(YOU, THIRD);
    ck_assert_int_eq(messaging_members_check(&st, ME, GROUP, &err), MESSAGING_NOT_MEMBER);
    ck_assert_uint_eq(ddbscript_calls(s), 1);
}
END_TEST

START_TEST(no_row_anywhere_is_not_a_member_and_not_cached)
{
    for (int i = 0; i < 2; i++) {
        rows(NULL, NULL);
        ddbscript_ok(s, "Query", "{\"Items\":[],\"Count\":0}");
        ck_assert_int_eq(messaging_members_check(&st, ME, GROUP, &err), MESSAGING_NOT_MEMBER);
    }
    ck_assert_uint_eq(ddbscript_calls(s), 4);
}
END_TEST

START_TEST(an_unreachable_store_fails_the_check)
{
    ddbscript_error(s, "Query", "ResourceNotFoundException");
    ck_assert_int_eq(messaging_members_check(&st, ME, GROUP, &err), MESSAGING_MEMBERSHIP_FAILED);
    ck_assert(ddb_error_is(&err, "ResourceNotFoundException"));
}
END_TEST

START_TEST(without_a_cache_every_check_asks)
{
    messaging_member_cache_free(st.cache);
    st.cache = NULL;
    rows(ME, YOU);
    rows(ME, YOU);
    ck_assert_int_eq(messaging_members_check(&st, ME, GROUP, &err), MESSAGING_MEMBER);
    ck_assert_int_eq(messaging_members_check(&st, ME, GROUP, &err), MESSAGING_MEMBER);
    ck_assert_uint_eq(ddbscript_calls(s), 2);
    st.cache = messaging_member_cache_new(); /* for teardown */
}
END_TEST

/* ---- the pair ------------------------------------------------------------------------------ */

START_TEST(the_pair_key_is_the_same_both_ways)
{
    char ab[MESSAGING_PAIR_KEY_MAX], ba[MESSAGING_PAIR_KEY_MAX];
    ck_assert_int_eq(messaging_pair_pk(ab, sizeof ab, YOU, ME), 0);
    ck_assert_int_eq(messaging_pair_pk(ba, sizeof ba, ME, YOU), 0);
    ck_assert_str_eq(ab, "PAIR#" ME "#" YOU);
    ck_assert_str_eq(ab, ba);
    char small[20];
    ck_assert_int_eq(messaging_pair_pk(small, sizeof small, ME, YOU), -1);
    json_t *item = messaging_pair_item(YOU, ME, GROUP, "2026-01-01T00:00:00.000000+00:00");
    ck_assert_str_eq(ddb_av_get_s(item, "pk"), "PAIR#" ME "#" YOU);
    ck_assert_str_eq(ddb_av_get_s(item, "sk"), MESSAGING_PAIR_SK);
    ck_assert_str_eq(ddb_av_get_s(item, MESSAGING_PAIR_GROUP), GROUP);
    ck_assert_uint_eq(json_object_size(item), 4);
    json_decref(item);
}
END_TEST

START_TEST(a_pair_item_names_the_conversation)
{
    ddbscript_ok(s, "GetItem",
                 "{\"Item\":{\"pk\":{\"S\":\"PAIR#x\"},\"sk\":{\"S\":\"PAIR\"},"
                 "\"pair_group_uuid\":{\"S\":\"" GROUP "\"}}}");
    char g[UUID_BUF];
    ck_assert_int_eq(messaging_members_pair_find(&st, ME, YOU, g, &err), MESSAGING_PAIR_FOUND);
    ck_assert_str_eq(g, GROUP);
    ck_assert_uint_eq(ddbscript_calls(s), 1);
}
END_TEST

START_TEST(a_legacy_conversation_is_found_and_gets_its_pair_item)
{
    ddbscript_ok(s, "GetItem", NULL);
    ddbscript_ok(s, "Query",
                 "{\"Items\":[{\"pk\":{\"S\":\"GRP#" ME "\"},\"sk\":{\"S\":\"2026\"},"
                 "\"user_uuid\":{\"S\":\"" YOU "\"},"
                 "\"message_group_uuid\":{\"S\":\"" GROUP "\"}}],\"Count\":1}");
    ddbscript_ok(s, "PutItem", NULL);
    char g[UUID_BUF];
    ck_assert_int_eq(messaging_members_pair_find(&st, ME, YOU, g, &err), MESSAGING_PAIR_FOUND);
    ck_assert_str_eq(g, GROUP);
    const json_t *q = ddbscript_body(s, 1);
    ck_assert_str_eq(ddb_av_get_s(json_object_get(q, "ExpressionAttributeValues"), ":f"), YOU);
    const json_t *put = ddbscript_body(s, 2);
    ck_assert_str_eq(ddb_av_get_s(json_object_get(put, "Item"), "pk"), "PAIR#" ME "#" YOU);
    ck_assert_str_eq(ddb_av_get_s(json_object_get(put, "Item"), MESSAGING_PAIR_GROUP), GROUP);
    ck_assert_str_eq(json_string_value(json_object_get(put, "ConditionExpression")),
                     "attribute_not_exists(pk)");
}
END_TEST

START_TEST(a_pair_without_a_conversation_has_none)
{
    ddbscript_ok(s, "GetItem", NULL);
    ddbscript_ok(s, "Query", "{\"Items\":[],\"Count\":0}");
    char g[UUID_BUF] = "x";
    ck_assert_int_eq(messaging_members_pair_find(&st, ME, YOU, g, &err), MESSAGING_PAIR_NONE);
    ck_assert_str_eq(g, "");
}
END_TEST

START_TEST(the_pair_put_replaces_only_the_stale_item)
{
    json_t *fresh = messaging_members_pair_put("t", ME, YOU, GROUP, "2026", NULL);
    json_t *repl = messaging_members_pair_put("t", ME, YOU, GROUP, "2026", THIRD);
    ck_assert_str_eq(
        json_string_value(json_object_get(json_object_get(fresh, "Put"), "ConditionExpression")),
        "attribute_not_exists(pk)");
    const json_t *put = json_object_get(repl, "Put");
    ck_assert_str_eq(json_string_value(json_object_get(put, "ConditionExpression")), "#g = :old");
    ck_assert_str_eq(ddb_av_get_s(json_object_get(put, "ExpressionAttributeValues"), ":old"),
                     THIRD);
    ck_assert_ptr_null(messaging_members_pair_put(NULL, ME, YOU, GROUP, "2026", NULL));
    json_decref(fresh);
    json_decref(repl);
}
END_TEST

int main(void)
{
    Suite *su = suite_create("members");
    TCase *m = tcase_create("membership");
    tcase_add_checked_fixture(m, setup, teardown);
    tcase_add_test(m, a_row_of_mine_in_the_gsi_decides_and_is_cached);
    tcase_add_test(m, a_gsi_not_yet_showing_me_falls_back_to_a_consistent_read);
    tcase_add_test(m, two_other_members_mean_not_a_member_at_once);
    tcase_add_test(m, no_row_anywhere_is_not_a_member_and_not_cached);
    tcase_add_test(m, an_unreachable_store_fails_the_check);
    tcase_add_test(m, without_a_cache_every_check_asks);
    suite_add_tcase(su, m);
    TCase *p = tcase_create("pair");
    tcase_add_checked_fixture(p, setup, teardown);
    tcase_add_test(p, the_pair_key_is_the_same_both_ways);
    tcase_add_test(p, a_pair_item_names_the_conversation);
    tcase_add_test(p, a_legacy_conversation_is_found_and_gets_its_pair_item);
    tcase_add_test(p, a_pair_without_a_conversation_has_none);
    tcase_add_test(p, the_pair_put_replaces_only_the_stale_item);
    suite_add_tcase(su, p);
    return tap_run(su);
}
