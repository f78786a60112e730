/* live_ddb.c — every DynamoDB operation of the client against the real DynamoDB Local:
 * tables, items, queries and scans with paging past 1 MB, batches, transactions. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/ddb.h"
#include "aws/ddb_av.h"
#include "base/rnd.h"
#include "live.h"
#include "tap.h"

static char table[64];

/* The cruddur-messages shape: pk/sk, GSI message-group-sk-index, stream NEW_IMAGE. */
static json_t *table_def(const char *name)
{
    return json_pack("{s:s, s:[{s:s,s:s},{s:s,s:s},{s:s,s:s}], s:[{s:s,s:s},{s:s,s:s}],"
                     " s:[{s:s, s:[{s:s,s:s},{s:s,s:s}], s:{s:s}}], s:s, s:{s:b,s:s}}",
                     "TableName", name, "AttributeDefinitions", "AttributeName", "pk",
                     "AttributeType", "S", "AttributeName", "sk", "AttributeType", "S",
                     "AttributeName", "message_group_uuid", "AttributeType", "S", "KeySchema",
                     "AttributeName", "pk", "KeyType", "HASH", "AttributeName", "sk", "KeyType",
                     "RANGE", "GlobalSecondaryIndexes", "IndexName", "message-group-sk-index",
                     "KeySchema", "AttributeName", "message_group_uuid", "KeyType", "HASH",
                     "AttributeName", "sk", "KeyType", "RANGE", "Projection", "ProjectionType",
                     "ALL", "BillingMode", "PAY_PER_REQUEST", "StreamSpecification",
                     "StreamEnabled", 1, "StreamViewType", "NEW_IMAGE");
}

static void create_table(ddb *d, const char *name)
{
    json_t *def = table_def(name);
    ddb_error err;
    ck_assert_msg(ddb_create_table(d, def, NULL, &err) == 0, "%s", err.info.msg);
    json_decref(def);
    ck_assert_msg(ddb_wait_active(d, name, 10000, &err) == 0, "%s", err.info.msg);
}

static json_t *message_item(const char *group, const char *sk, const char *text)
{
    char pk[128];
    snprintf(pk, sizeof pk, "MSG#%s", group);
    return json_pack("{s:o, s:o, s:o, s:o, s:o}", "pk", ddb_av_s(pk), "sk", ddb_av_s(sk), "message",
                     ddb_av_s(text), "message_uuid", ddb_av_s("m-1"), "user_handle",
                     ddb_av_s("andrewbrown"));
}

static void ts(int i, char out[40])
{
    snprintf(out, 40, "2026-11-21T09:%02d:%02d.%06d+00:00", (i / 60) % 60, i % 60, i);
}

START_TEST(table_lifecycle)
{
    ddb *d = live_ddb();
    char name[64];
    live_name("life", name);
    create_table(d, name);

    ddb_error err;
    json_t *t = NULL;
    ck_assert_msg(ddb_describe_table(d, name, &t, &err) == 0, "%s", err.info.msg);
    ck_assert_str_eq(json_string_value(json_object_get(t, "TableName")), name);
    ck_assert_str_eq(json_string_value(json_object_get(t, "TableStatus")), "ACTIVE");
    json_t *ss = json_object_get(t, "StreamSpecification");
    ck_assert(json_is_true(json_object_get(ss, "StreamEnabled")));
    ck_assert_ptr_nonnull(json_string_value(json_object_get(t, "LatestStreamArn")));
    ck_assert_str_eq(
        json_string_value(json_object_get(
            json_array_get(json_object_get(t, "GlobalSecondaryIndexes"), 0), "IndexName")),
        "message-group-sk-index");
    json_decref(t);

    /* UpdateTable: turn the stream off, and see it off */
    json_t *upd =
        json_pack("{s:s, s:{s:b}}", "TableName", name, "StreamSpecification", "StreamEnabled", 0);
    ck_assert_msg(ddb_update_table(d, upd, NULL, &err) == 0, "%s", err.info.msg);
    json_decref(upd);
    ck_assert_int_eq(ddb_describe_table(d, name, &t, &err), 0);
    ck_assert(
        !json_is_true(json_object_get(json_object_get(t, "StreamSpecification"), "StreamEnabled")));
    json_decref(t);

    ck_assert_msg(ddb_delete_table(d, name, &err) == 0, "%s", err.info.msg);
    ck_assert_int_eq(ddb_describe_table(d, name, &t, &err), -1);
    ck_assert_str_eq(err.type, "ResourceNotFoundException");
    ck_assert_int_eq(err.info.code, ERR_NOTFOUND);
    ck_assert_int_eq(err.attempts, 1);
    ddb_free(d);
}
END_TEST

START_TEST(list_tables_follows_every_page)
{
    ddb *d = live_ddb();
    char names[3][64];
    ddb_error err;
    for (int i = 0; i < 3; i++) {
        live_name("list", names[i]);
        json_t *def = json_pack("{s:s, s:[{s:s,s:s}], s:[{s:s,s:s}], s:s}", "TableName", names[i],
                                "AttributeDefinitions", "AttributeName", "pk", "AttributeType", "S",
                                "KeySchema", "AttributeName", "pk", "KeyType", "HASH",
                                "BillingMode", "PAY_PER_REQUEST");
        ck_assert_msg(ddb_create_table(d, def, NULL, &err) == 0, "%s", err.info.msg);
        json_decref(def);
    }
    json_t *all = NULL;
    ck_assert_msg(ddb_list_tables(d, 1, &all, &err) == 0, "%s", err.info.msg);
    ck_assert_uint_ge(json_array_size(all), 4); /* ours and the shared table */
    for (int i = 0; i < 3; i++) {
        bool found = false;
        size_t k;
        json_t *v;
        json_array_foreach(all, k, v) found |= strcmp(json_string_value(v), names[i]) == 0;
        ck_assert_msg(found, "%s not listed", names[i]);
        ck_assert_int_eq(ddb_delete_table(d, names[i], &err), 0);
    }
    /* Other tests create and drop tables at the same time: check ours, not the count. */
    json_t *again = NULL;
    ck_assert_int_eq(ddb_list_tables(d, 0, &again, &err), 0);
    for (int i = 0; i < 3; i++) {
        size_t k;
        json_t *v;
        json_array_foreach(again, k, v)
            ck_assert_msg(strcmp(json_string_value(v), names[i]) != 0, "%s still listed", names[i]);
    }
    /* the unpaged listing holds the shared table too */
    bool shared = false;
    size_t k;
    json_t *v;
    json_array_foreach(again, k, v) shared |= strcmp(json_string_value(v), table) == 0;
    ck_assert_msg(shared, "%s not listed", table);
    json_decref(again);
    json_decref(all);
    ddb_free(d);
}
END_TEST

START_TEST(items_put_get_delete_with_conditions)
{
    ddb *d = live_ddb();
    ddb_error err;
    char group[64];
    live_name("grp", group);
    json_t *item = message_item(group, "2026-11-21T09:30:00.123456+00:00", "héllo ✓");
    ck_assert_msg(ddb_put_item(d, table, item, NULL, &err) == 0, "%s", err.info.msg);

    json_t *key = json_pack("{s:O, s:O}", "pk", json_object_get(item, "pk"), "sk",
                            json_object_get(item, "sk"));
    json_t *got = NULL;
    ck_assert_int_eq(ddb_get_item(d, table, key, true, &got, &err), 0);
    ck_assert(json_equal(got, item));
    ck_assert_str_eq(ddb_av_get_s(got, "message"), "héllo ✓");
    json_decref(got);

    /* a put that must not overwrite fails once, without retries */
    ddb_expr absent = { .expression = "attribute_not_exists(pk)" };
    ck_assert_int_eq(ddb_put_item(d, table, item, &absent, &err), -1);
    ck_assert(ddb_error_is(&err, "ConditionalCheckFailedException"));
    ck_assert_int_eq(err.attempts, 1);

    /* conditional delete with names and values */
    json_t *names = json_pack("{s:s}", "#m", "message");
    json_t *vals = json_pack("{s:o}", ":m", ddb_av_s("other"));
    ddb_expr wrong = { "#m = :m", names, vals };
    ck_assert_int_eq(ddb_delete_item(d, table, key, &wrong, &err), -1);
    ck_assert(ddb_error_is(&err, "ConditionalCheckFailedException"));
    json_object_set_new(vals, ":m", ddb_av_s("héllo ✓"));
    ck_assert_msg(ddb_delete_item(d, table, key, &wrong, &err) == 0, "%s", err.info.msg);
    ck_assert_int_eq(ddb_get_item(d, table, key, true, &got, &err), 0);
    ck_assert_ptr_null(got);

    json_decref(names);
    json_decref(vals);
    json_decref(key);
    json_decref(item);
    ddb_free(d);
}
END_TEST

START_TEST(validation_errors_are_reported_not_retried)
{
    ddb *d = live_ddb();
    ddb_error err;
    json_t *no_sk = json_pack("{s:o}", "pk", ddb_av_s("MSG#x"));
    ck_assert_int_eq(ddb_put_item(d, table, no_sk, NULL, &err), -1);
    ck_assert_str_eq(err.type, "ValidationException");
    ck_assert_int_eq(err.info.code, ERR_INVALID);
    ck_assert_int_eq(err.attempts, 1);
    ck_assert_int_eq(err.http_status, 400);
    json_decref(no_sk);

    json_t *item = message_item("g", "s", "x");
    ck_assert_int_eq(ddb_put_item(d, "no-such-table-here", item, NULL, &err), -1);
    ck_assert_str_eq(err.type, "ResourceNotFoundException");
    json_decref(item);
    ddb_free(d);
}
END_TEST

START_TEST(query_with_index_filter_limit_direction_and_paging)
{
    ddb *d = live_ddb();
    ddb_error err;
    char group[64], s[40];
    live_name("q", group);
    json_t *reqs = json_array();
    for (int i = 0; i < 30; i++) {
        ts(i, s);
        json_t *it = message_item(group, s, i % 3 == 0 ? "fizz" : "plain");
        json_array_append_new(reqs, json_pack("{s:{s:o}}", "PutRequest", "Item", it));
    }
    /* two group rows for the GSI */
    for (int i = 0; i < 2; i++) {
        char pk[80];
        snprintf(pk, sizeof pk, "GRP#user-%d-%s", i, group);
        json_array_append_new(
            reqs, json_pack("{s:{s:{s:o,s:o,s:o,s:o}}}", "PutRequest", "Item", "pk", ddb_av_s(pk),
                            "sk", ddb_av_s("2026-11-21T09:00:29.000029+00:00"),
                            "message_group_uuid", ddb_av_s(group), "message", ddb_av_s("last")));
    }
    size_t left = 99;
    ck_assert_msg(ddb_batch_write(d, table, reqs, &left, &err) == 0, "%s", err.info.msg);
    ck_assert_uint_eq(left, 0);
    json_decref(reqs);

    char pk[96];
    snprintf(pk, sizeof pk, "MSG#%s", group);
    json_t *vals = json_pack("{s:o}", ":pk", ddb_av_s(pk));
    ddb_query_options q = {
        .table = table, .key_condition = "pk = :pk", .values = vals, .limit = 7, .descending = true
    };
    ddb_page page;
    ddb_page_init(&page);
    json_t *start = NULL;
    int total = 0, pages = 0;
    char prev[64] = "9999";
    do {
        q.start_key = start;
        ck_assert_msg(ddb_query(d, &q, &page, &err) == 0, "%s", err.info.msg);
        pages++;
        size_t i;
        json_t *it;
        json_array_foreach(page.items, i, it)
        {
            const char *sk = ddb_av_get_s(it, "sk");
            ck_assert_int_lt(strcmp(sk, prev), 0); /* newest first */
            snprintf(prev, sizeof prev, "%s", sk);
            total++;
        }
        json_decref(start);
        start = json_incref(page.last_key);
    } while (start);
    ck_assert_int_eq(total, 30);
    ck_assert_int_ge(pages, 5);

    /* filter with names and values: every third message says fizz */
    json_t *names = json_pack("{s:s}", "#m", "message");
    json_object_set_new(vals, ":m", ddb_av_s("fizz"));
    ddb_query_options f = { .table = table,
                            .key_condition = "pk = :pk",
                            .filter = "#m = :m",
                            .names = names,
                            .values = vals,
                            .consistent = true };
    ck_assert_int_eq(ddb_query(d, &f, &page, &err), 0);
    ck_assert_int_eq(page.count, 10);
    ck_assert_int_eq(page.scanned_count, 30);
    ck_assert_uint_eq(json_array_size(page.items), 10);

    /* the GSI holds the group rows only */
    json_t *gv = json_pack("{s:o}", ":g", ddb_av_s(group));
    ddb_query_options g = { .table = table,
                            .index = "message-group-sk-index",
                            .key_condition = "message_group_uuid = :g",
                            .values = gv };
    ck_assert_msg(ddb_query(d, &g, &page, &err) == 0, "%s", err.info.msg);
    ck_assert_uint_eq(json_array_size(page.items), 2);
    ck_assert_str_eq(ddb_av_get_s(json_array_get(page.items, 0), "message"), "last");

    ddb_page_cleanup(&page);
    json_decref(gv);
    json_decref(names);
    json_decref(vals);
    ddb_free(d);
}
END_TEST

START_TEST(paging_past_one_megabyte)
{
    /* 300 items of ~4 KB: about 1.2 MB in one partition, more than one 1 MB page */
    ddb *d = live_ddb();
    ddb_error err;
    char group[64], s[40];
    live_name("big", group);
    char *pad = malloc(4001);
    memset(pad, 'p', 4000);
    pad[4000] = '\0';
    json_t *reqs = json_array();
    for (int i = 0; i < 300; i++) {
        ts(i, s);
        json_array_append_new(
            reqs, json_pack("{s:{s:o}}", "PutRequest", "Item", message_item(group, s, pad)));
    }
    free(pad);
    size_t left = 99;
    ck_assert_msg(ddb_batch_write(d, table, reqs, &left, &err) == 0, "%s", err.info.msg);
    ck_assert_uint_eq(left, 0);
    json_decref(reqs);

    char pk[96];
    snprintf(pk, sizeof pk, "MSG#%s", group);
    json_t *vals = json_pack("{s:o}", ":pk", ddb_av_s(pk));
    ddb_query_options q = { .table = table, .key_condition = "pk = :pk", .values = vals };
    ddb_page page;
    ddb_page_init(&page);
    json_t *start = NULL;
    int total = 0, pages = 0;
    do {
        q.start_key = start;
        ck_assert_msg(ddb_query(d, &q, &page, &err) == 0, "%s", err.info.msg);
        pages++;
        total += (int)json_array_size(page.items);
        json_decref(start);
        start = json_incref(page.last_key);
    } while (start);
    ck_assert_int_eq(total, 300);
    ck_assert_int_ge(pages, 2);

    /* Scan the whole table the same way: at least our 300, over at least two pages */
    ddb_query_options sc = { .table = table };
    int scanned = 0;
    pages = 0;
    do {
        sc.start_key = start;
        ck_assert_msg(ddb_scan(d, &sc, &page, &err) == 0, "%s", err.info.msg);
        pages++;
        scanned += (int)json_array_size(page.items);
        json_decref(start);
        start = json_incref(page.last_key);
    } while (start);
    ck_assert_int_ge(scanned, 300);
    ck_assert_int_ge(pages, 2);
    ddb_page_cleanup(&page);
    json_decref(vals);
    ddb_free(d);
}
END_TEST

START_TEST(transactions_commit_or_cancel_whole)
{
    ddb *d = live_ddb();
    ddb_error err;
    char group[64], token[37];
    live_name("tx", group);
    json_t *a = message_item(group, "2026-11-21T10:00:00.000001+00:00", "first");
    json_t *b = message_item(group, "2026-11-21T10:00:00.000002+00:00", "second");
    json_t *items =
        json_pack("[{s:{s:s,s:O,s:s}},{s:{s:s,s:O,s:s}}]", "Put", "TableName", table, "Item", a,
                  "ConditionExpression", "attribute_not_exists(pk)", "Put", "TableName", table,
                  "Item", b, "ConditionExpression", "attribute_not_exists(pk)");
    rnd_uuid4(token);
    ck_assert_msg(ddb_transact_write(d, items, token, &err) == 0, "%s", err.info.msg);
    /* the same token and payload again is an idempotent success */
    ck_assert_msg(ddb_transact_write(d, items, token, &err) == 0, "%s", err.info.msg);
    json_decref(items);

    /* a new item plus one whose condition fails: nothing is written, reasons per item */
    json_t *c = message_item(group, "2026-11-21T10:00:00.000003+00:00", "third");
    items = json_pack("[{s:{s:s,s:O,s:s}},{s:{s:s,s:O,s:s}}]", "Put", "TableName", table, "Item", c,
                      "ConditionExpression", "attribute_not_exists(pk)", "Put", "TableName", table,
                      "Item", a, "ConditionExpression", "attribute_not_exists(pk)");
    rnd_uuid4(token);
    ck_assert_int_eq(ddb_transact_write(d, items, token, &err), -1);
    ck_assert_str_eq(err.type, "TransactionCanceledException");
    ck_assert_int_eq(err.attempts, 1);
    ck_assert_int_eq(err.nreasons, 2);
    ck_assert_int_eq(aws_error_reason(&err, 0), AWS_REASON_NONE);
    ck_assert_int_eq(aws_error_reason(&err, 1), AWS_REASON_CONDITION);
    json_decref(items);

    json_t *key =
        json_pack("{s:O, s:O}", "pk", json_object_get(c, "pk"), "sk", json_object_get(c, "sk"));
    json_t *got = NULL;
    ck_assert_int_eq(ddb_get_item(d, table, key, true, &got, &err), 0);
    ck_assert_ptr_null(got);

    ck_assert_int_eq(
        ddb_transact_write(d, items, "x-token-that-is-far-too-long-for-dynamodb-1", &err), -1);
    ck_assert_int_eq(err.info.code, ERR_INVALID);
    json_decref(key);
    json_decref(a);
    json_decref(b);
    json_decref(c);
    ddb_free(d);
}
END_TEST

static Suite *ddb_suite(void)
{
    Suite *s = suite_create("ddb");
    TCase *tc = tcase_create("tables");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, table_lifecycle);
    tcase_add_test(tc, list_tables_follows_every_page);
    suite_add_tcase(s, tc);
    tc = tcase_create("items");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, items_put_get_delete_with_conditions);
    tcase_add_test(tc, validation_errors_are_reported_not_retried);
    tcase_add_test(tc, transactions_commit_or_cancel_whole);
    suite_add_tcase(s, tc);
    tc = tcase_create("reads");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, query_with_index_filter_limit_direction_and_paging);
    tcase_add_test(tc, paging_past_one_megabyte);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    live_ddb_endpoint();
    live_name("live-ddb", table);
    errinfo e;
    ddb *d = live_ddb_open(&e);
    if (!d) {
        fprintf(stderr, "ddb_new: %s\n", e.msg);
        return 1;
    }
    json_t *def = table_def(table);
    ddb_error err;
    if (ddb_create_table(d, def, NULL, &err) != 0 || ddb_wait_active(d, table, 10000, &err) != 0) {
        fprintf(stderr, "cannot create the test table: %s\n", err.info.msg);
        return 1;
    }
    json_decref(def);
    int rc = tap_run(ddb_suite());
    ddb_delete_table(d, table, &err);
    ddb_free(d);
    return rc;
}
