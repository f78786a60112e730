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
    suite_add_tcase(s, tc);
    return tap_run(s);
}
