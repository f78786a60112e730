/* check_ddb.c — the DynamoDB client against a scripted peer (tests/support/ddbscript.h):
 * what it sends, how it reads service errors and cancelled transactions, what it retries. */
#include "config.h"

#include <check.h>
#include <string.h>

#include "aws/ddb.h"
#include "ddbscript.h"
#include "tap.h"

static json_t *item(void)
{
    return json_pack("{s:{s:s},s:{s:s}}", "pk", "S", "MSG#1", "sk", "S", "2026");
}

START_TEST(put_item_sends_the_table_and_item)
{
    ddbscript *s = ddbscript_new(0);
    ddbscript_ok(s, "PutItem", NULL);
    json_t *it = item();
    ddb_error err;
    ck_assert_int_eq(ddb_put_item(ddbscript_ddb(s), "t1", it, NULL, &err), 0);
    ck_assert_uint_eq(ddbscript_calls(s), 1);
    ck_assert_str_eq(ddbscript_op(s, 0), "PutItem");
    const json_t *body = ddbscript_body(s, 0);
    ck_assert_str_eq(json_string_value(json_object_get(body, "TableName")), "t1");
    ck_assert(json_equal(json_object_get(body, "Item"), it));
    ck_assert_uint_eq(ddbscript_unexpected(s), 0);
    json_decref(it);
    ddbscript_free(s);
}
END_TEST

START_TEST(a_failed_condition_is_not_retried)
{
    ddbscript *s = ddbscript_new(0);
    ddbscript_error(s, "PutItem", "ConditionalCheckFailedException");
    json_t *it = item();
    ddb_error err;
    ddb_expr cond = { .expression = "attribute_not_exists(pk)" };
    ck_assert_int_eq(ddb_put_item(ddbscript_ddb(s), "t1", it, &cond, &err), -1);
    ck_assert(ddb_error_is(&err, "ConditionalCheckFailedException"));
    ck_assert_int_eq(err.http_status, 400);
    ck_assert_int_eq(err.attempts, 1);
    ck_assert_uint_eq(ddbscript_calls(s), 1);
    ck_assert_str_eq(
        json_string_value(json_object_get(ddbscript_body(s, 0), "ConditionExpression")),
        "attribute_not_exists(pk)");
    json_decref(it);
    ddbscript_free(s);
}
END_TEST

START_TEST(throttling_and_resets_are_retried_until_an_answer)
{
    ddbscript *s = ddbscript_new(5);
    ddbscript_error(s, "PutItem", "ProvisionedThroughputExceededException");
    ddbscript_fail(s, "PutItem", HTTP_FAIL_RESET);
    ddbscript_reply(s, "PutItem", 500, "{}");
    ddbscript_ok(s, "PutItem", NULL);
    json_t *it = item();
    ddb_error err;
    ck_assert_int_eq(ddb_put_item(ddbscript_ddb(s), "t1", it, NULL, &err), 0);
    ck_assert_uint_eq(ddbscript_calls(s), 4);
    ck_assert_uint_eq(ddbscript_pending(s), 0);
    json_decref(it);
    ddbscript_free(s);
}
END_TEST

START_TEST(retries_stop_at_the_attempt_cap)
{
    ddbscript *s = ddbscript_new(2);
    ddbscript_fail(s, "PutItem", HTTP_FAIL_TIMEOUT);
    ddbscript_fail(s, "PutItem", HTTP_FAIL_TIMEOUT);
    ddbscript_ok(s, "PutItem", NULL);
    json_t *it = item();
    ddb_error err;
    ck_assert_int_eq(ddb_put_item(ddbscript_ddb(s), "t1", it, NULL, &err), -1);
    ck_assert_int_eq(err.fail, HTTP_FAIL_TIMEOUT);
    ck_assert_int_eq(err.attempts, 2);
    ck_assert_uint_eq(ddbscript_pending(s), 1);
    json_decref(it);
    ddbscript_free(s);
}
END_TEST

START_TEST(cancellation_reasons_are_read_per_item)
{
    ddbscript *s = ddbscript_new(0);
    ddbscript_cancel(s, "None,ConditionalCheckFailed,TransactionConflict,SomethingNew");
    json_t *items = json_array();
    ddb_error err;
    ck_assert_int_eq(ddb_transact_write(ddbscript_ddb(s), items, NULL, &err), -1);
    ck_assert(ddb_error_is(&err, "TransactionCanceledException"));
    ck_assert_int_eq(err.nreasons, 4);
    ck_assert(aws_error_reason_is(&err, 0, AWS_REASON_NONE));
    ck_assert(aws_error_reason_is(&err, 1, AWS_REASON_CONDITION));
    ck_assert(aws_error_reason_is(&err, 2, AWS_REASON_CONFLICT));
    ck_assert(aws_error_reason_is(&err, 3, AWS_REASON_OTHER));
    ck_assert(aws_error_reason_is(&err, 4, AWS_REASON_NONE)); /* past the end */
    ck_assert(aws_error_reason_is(&err, -1, AWS_REASON_NONE));
    ck_assert_str_eq(aws_reason_name(aws_error_reason(&err, 1)), "ConditionalCheckFailed");
    json_decref(items);
    ddbscript_free(s);
}
END_TEST

START_TEST(an_unscripted_request_is_counted_and_fails)
{
    ddbscript *s = ddbscript_new(1);
    ddbscript_ok(s, "GetItem", NULL);
    json_t *it = item();
    ddb_error err;
    ck_assert_int_eq(ddb_put_item(ddbscript_ddb(s), "t1", it, NULL, &err), -1);
    ck_assert_uint_eq(ddbscript_unexpected(s), 1);
    ck_assert_uint_eq(ddbscript_pending(s), 1);
    json_decref(it);
    ddbscript_free(s);
}
END_TEST

START_TEST(reads_send_every_option_as_dynamodb_names_it)
{
    ddbscript *s = ddbscript_new(0);
    const char *page = "{\"Items\":[{\"pk\":{\"S\":\"MSG#1\"}}],\"Count\":1,\"ScannedCount\":1}";
    ddbscript_ok(s, "Query", page);
    ddbscript_ok(s, "Query", page);
    ddbscript_ok(s, "Scan", page);
    json_t *names = json_pack("{s:s}", "#k", "pk");
    json_t *values = json_pack("{s:{s:s}}", ":v", "S", "MSG#\"1\"\n\xc3\xa9");
    json_t *start = item();
    ddb_query_options q = { .table = "t1",
                            .index = "message-group-sk-index",
                            .key_condition = "#k = :v",
                            .filter = "begins_with(sk, :v)",
                            .projection = "pk, sk",
                            .names = names,
                            .values = values,
                            .limit = 20,
                            .descending = true,
                            .consistent = true,
                            .start_key = start };
    ddb_page_view v;
    ddb_page_view_init(&v);
    ddb_page p;
    ddb_page_init(&p);
    ddb_error err;
    ck_assert_int_eq(ddb_query_view(ddbscript_ddb(s), &q, &v, &err), 0);
    ck_assert_int_eq(ddb_query(ddbscript_ddb(s), &q, &p, &err), 0);
    json_t *want =
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:O, s:O, s:i, s:b, s:b, s:O}", "TableName", "t1",
                  "IndexName", "message-group-sk-index", "KeyConditionExpression", "#k = :v",
                  "FilterExpression", "begins_with(sk, :v)", "ProjectionExpression", "pk, sk",
                  "ExpressionAttributeNames", names, "ExpressionAttributeValues", values, "Limit",
                  20, "ScanIndexForward", 0, "ConsistentRead", 1, "ExclusiveStartKey", start);
    for (size_t i = 0; i < 2; i++) {
        ck_assert_str_eq(ddbscript_op(s, i), "Query");
        ck_assert_msg(json_equal(ddbscript_body(s, i), want), "request %zu differs", i);
    }
    ck_assert_uint_eq(jdoc_size(v.items), 1);
    ck_assert_uint_eq(json_array_size(p.items), 1);
    /* only what is set goes out: a bare Scan is its table */
    ddb_query_options bare = { .table = "t2" };
    ck_assert_int_eq(ddb_scan_view(ddbscript_ddb(s), &bare, &v, &err), 0);
    json_t *scan = json_pack("{s:s}", "TableName", "t2");
    ck_assert(json_equal(ddbscript_body(s, 2), scan));
    ck_assert_str_eq(ddbscript_op(s, 2), "Scan");
    /* no table: refused before anything is sent */
    ddb_query_options none = { .key_condition = "#k = :v" };
    ck_assert_int_eq(ddb_query_view(ddbscript_ddb(s), &none, &v, &err), -1);
    ck_assert_uint_eq(ddbscript_calls(s), 3);
    ck_assert_uint_eq(ddbscript_unexpected(s), 0);
    json_decref(scan);
    json_decref(want);
    json_decref(names);
    json_decref(values);
    json_decref(start);
    ddb_page_view_cleanup(&v);
    ddb_page_cleanup(&p);
    ddbscript_free(s);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ddb");
    TCase *tc = tcase_create("scripted");
    tcase_add_test(tc, put_item_sends_the_table_and_item);
    tcase_add_test(tc, a_failed_condition_is_not_retried);
    tcase_add_test(tc, throttling_and_resets_are_retried_until_an_answer);
    tcase_add_test(tc, retries_stop_at_the_attempt_cap);
    tcase_add_test(tc, cancellation_reasons_are_read_per_item);
    tcase_add_test(tc, an_unscripted_request_is_counted_and_fails);
    tcase_add_test(tc, reads_send_every_option_as_dynamodb_names_it);
    suite_add_tcase(s, tc);
    return tap_run(s);
}
