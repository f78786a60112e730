/* live_faults.c — the DynamoDB client against a misbehaving local server: what is retried,
 * what is not, timeouts, resets, corrupt replies, and how errors read. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/ddb.h"
#include "base/clock.h"
#include "live.h"
#include "support_server.h"
#include "tap.h"

static support_server faults;

/* A client whose endpoint is a fresh scenario path on the fault server. */
static ddb *fault_client(const char *scenario, int max_attempts, long timeout_ms)
{
    char url[256], id[64];
    live_name("t", id);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/%s/%s", faults.port, id, scenario);
    ddb_options o = {
        .region = "us-east-1",
        .endpoint = url,
        .timeout_ms = timeout_ms,
        .connect_timeout_ms = 1000,
        .retry = { .max_attempts = max_attempts, .base_ms = 5, .cap_ms = 50 },
    };
    errinfo e;
    ddb *d = ddb_new(&o, &e);
    ck_assert_msg(d != NULL, "ddb_new: %s", e.msg);
    return d;
}

/* Sends one PutItem-shaped call; returns rc, fills *count from a success reply. */
static int fault_call(ddb *d, ddb_error *err, long *count)
{
    json_t *req = json_pack("{s:s}", "TableName", "x");
    json_t *resp = NULL;
    int rc = ddb_call(d, "PutItem", req, &resp, err);
    json_decref(req);
    *count = rc == 0 ? (long)json_integer_value(json_object_get(resp, "Count")) : -1;
    json_decref(resp);
    return rc;
}

/* One call against scenario that must succeed: asserts it did and that the server saw
 * want_count requests; the client's attempts. */
static int call_succeeds(const char *scenario, int max_attempts, long want_count)
{
    ddb *d = fault_client(scenario, max_attempts, 2000);
    ddb_error err;
    long count;
    ck_assert_msg(fault_call(d, &err, &count) == 0, "%s", err.info.msg);
    ck_assert_int_eq(count, want_count);
    ddb_free(d);
    return err.attempts;
}

/* One call against scenario that must fail: asserts it did, the error into *err; the call's
 * time in ms. */
static int64_t call_fails(const char *scenario, int max_attempts, long timeout_ms, ddb_error *err)
{
    ddb *d = fault_client(scenario, max_attempts, timeout_ms);
    long count;
    int64_t t0 = clock_mono_ms();
    ck_assert_int_eq(fault_call(d, err, &count), -1);
    int64_t took = clock_mono_ms() - t0;
    ddb_free(d);
    return took;
}

START_TEST(throttling_then_success_is_retried)
{
    /* the server saw three requests */
    ck_assert_int_eq(call_succeeds("throttle/2", 5, 3), 3);
}
END_TEST

START_TEST(server_error_then_success_is_retried)
{
    call_succeeds("error500/1", 5, 2);
}
END_TEST

START_TEST(validation_error_is_not_retried)
{
    ddb_error err;
    call_fails("validation", 5, 2000, &err);
    ck_assert_int_eq(err.attempts, 1);
    ck_assert_int_eq(err.http_status, 400);
    ck_assert_str_eq(err.type, "ValidationException");
    ck_assert_int_eq(err.info.code, ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(err.info.msg, "DynamoDB PutItem: ValidationException: One or "
                                               "more parameter values were invalid"));
}
END_TEST

START_TEST(conditional_check_is_not_retried)
{
    ddb_error err;
    call_fails("conditional", 5, 2000, &err);
    ck_assert_int_eq(err.attempts, 1);
    ck_assert(ddb_error_is(&err, "ConditionalCheckFailedException"));
}
END_TEST

START_TEST(persistent_throttling_gives_up_after_the_budget)
{
    ddb_error err;
    int64_t took = call_fails("throttle-forever", 3, 2000, &err);
    ck_assert_int_eq(err.attempts, 3);
    ck_assert_str_eq(err.type, "ProvisionedThroughputExceededException");
    /* two backoffs of at most cap_ms (50 ms) each, plus the round trips */
    ck_assert_int_lt(took, 1500);
}
END_TEST

START_TEST(hung_server_hits_the_timeout)
{
    ddb_error err;
    int64_t took = call_fails("hang/4000", 2, 300, &err);
    ck_assert_int_eq(err.fail, HTTP_FAIL_TIMEOUT);
    ck_assert_int_eq(err.info.code, ERR_TIMEOUT);
    ck_assert_int_eq(err.attempts, 2);
    ck_assert_int_ge(took, 550);
    ck_assert_int_lt(took, 2500);
}
END_TEST

START_TEST(connection_reset_is_retried)
{
    ck_assert_int_eq(call_succeeds("reset/1", 4, 2), 2);
}
END_TEST

START_TEST(corrupt_reply_crc_is_retried)
{
    call_succeeds("badcrc/1", 4, 2);
}
END_TEST

START_TEST(html_error_page_becomes_a_clear_error)
{
    ddb_error err;
    call_fails("html", 2, 2000, &err);
    ck_assert_int_eq(err.http_status, 502);
    ck_assert_int_eq(err.attempts, 2); /* 5xx is retried */
    ck_assert_str_eq(err.type, "");
    ck_assert_ptr_nonnull(strstr(err.info.msg, "HTTP 502"));
}
END_TEST

START_TEST(refused_connection_is_retried_then_reported)
{
    /* a port nobody listens on: bind-and-close gives one that was free a moment ago */
    ddb_options o = {
        .region = "us-east-1",
        .endpoint = "http://127.0.0.1:1",
        .retry = { .max_attempts = 3, .base_ms = 1, .cap_ms = 5 },
    };
    errinfo e;
    ddb *d = ddb_new(&o, &e);
    ck_assert_ptr_nonnull(d);
    ddb_error err;
    long count;
    ck_assert_int_eq(fault_call(d, &err, &count), -1);
    ck_assert_int_eq(err.fail, HTTP_FAIL_CONNECT);
    ck_assert_int_eq(err.attempts, 3);
    ck_assert_ptr_nonnull(strstr(err.info.msg, "127.0.0.1:1"));
    ddb_free(d);
}
END_TEST

START_TEST(transaction_cancellation_reasons_are_surfaced)
{
    ddb *d = fault_client("cancel", 3, 2000);
    ddb_error err;
    json_t *items = json_array();
    ck_assert_int_eq(ddb_transact_write(d, items, "tok-1", &err), -1);
    json_decref(items);
    ck_assert_str_eq(err.type, "TransactionCanceledException");
    ck_assert_int_eq(err.attempts, 1);
    ck_assert_int_eq(err.nreasons, 2);
    ck_assert_int_eq(aws_error_reason(&err, 0), AWS_REASON_NONE);
    ck_assert_int_eq(aws_error_reason(&err, 1), AWS_REASON_CONDITION);
    ddb_free(d);
}
END_TEST

START_TEST(bad_endpoints_are_refused_up_front)
{
    const char *bad[] = { "ftp://127.0.0.1:8000",       "http://",
                          "http://user@127.0.0.1:8000", "http://127.0.0.1:8000/?x=1",
                          "http://127.0.0.1 :8000",     "127.0.0.1:8000" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ddb_options o = { .region = "us-east-1", .endpoint = bad[i] };
        errinfo e;
        ddb *d = ddb_new(&o, &e);
        ck_assert_msg(d == NULL, "accepted %s", bad[i]);
        ck_assert_int_eq(e.code, ERR_CONFIG);
    }
    ddb_options o = { .region = "Not A Region", .endpoint = "http://127.0.0.1:8000" };
    errinfo e;
    ck_assert_ptr_null(ddb_new(&o, &e));
}
END_TEST

START_TEST(endpoints_come_from_the_environment)
{
    errinfo e;
    setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9/", 1);
    unsetenv("AWS_ENDPOINT_URL_DYNAMODB");
    unsetenv("AWS_ENDPOINT_URL_DYNAMODB_STREAMS");
    setenv("AWS_DEFAULT_REGION", "eu-west-2", 1);
    unsetenv("AWS_REGION");
    ddb *d = ddb_new(NULL, &e);
    ck_assert_msg(d != NULL, "%s", e.msg);
    ck_assert_str_eq(ddb_endpoint(d), "http://127.0.0.1:9/");
    ck_assert_str_eq(ddb_streams_endpoint(d), "http://127.0.0.1:9/");
    ck_assert_str_eq(ddb_region(d), "eu-west-2");
    ddb_free(d);

    setenv("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:10", 1);
    setenv("AWS_REGION", "ca-central-1", 1);
    d = ddb_new(NULL, &e);
    ck_assert_str_eq(ddb_endpoint(d), "http://127.0.0.1:10/");
    ck_assert_str_eq(ddb_region(d), "ca-central-1");
    ddb_free(d);

    ddb_options prod = { .ignore_endpoint_env = true };
    d = ddb_new(&prod, &e);
    ck_assert_str_eq(ddb_endpoint(d), "https://dynamodb.ca-central-1.amazonaws.com/");
    ck_assert_str_eq(ddb_streams_endpoint(d),
                     "https://streams.dynamodb.ca-central-1.amazonaws.com/");
    ddb_free(d);

    unsetenv("AWS_REGION");
    unsetenv("AWS_DEFAULT_REGION");
    ck_assert_ptr_null(ddb_new(&prod, &e));
    ck_assert_ptr_nonnull(strstr(e.msg, "AWS_REGION"));

    setenv("AWS_REGION", "us-east-1", 1);
    setenv("CRUDDUR_DDB_MAX_ATTEMPTS", "0", 1);
    ck_assert_ptr_null(ddb_new(NULL, &e));
    ck_assert_ptr_nonnull(strstr(e.msg, "CRUDDUR_DDB_MAX_ATTEMPTS"));
    unsetenv("CRUDDUR_DDB_MAX_ATTEMPTS");
}
END_TEST

static Suite *faults_suite(void)
{
    Suite *s = suite_create("faults");
    TCase *tc = tcase_create("retried");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, throttling_then_success_is_retried);
    tcase_add_test(tc, server_error_then_success_is_retried);
    tcase_add_test(tc, connection_reset_is_retried);
    tcase_add_test(tc, corrupt_reply_crc_is_retried);
    tcase_add_test(tc, persistent_throttling_gives_up_after_the_budget);
    tcase_add_test(tc, refused_connection_is_retried_then_reported);
    suite_add_tcase(s, tc);
    tc = tcase_create("not-retried");
    tcase_add_test(tc, validation_error_is_not_retried);
    tcase_add_test(tc, conditional_check_is_not_retried);
    tcase_add_test(tc, transaction_cancellation_reasons_are_surfaced);
    suite_add_tcase(s, tc);
    tc = tcase_create("timeouts-and-bad-answers");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, hung_server_hits_the_timeout);
    tcase_add_test(tc, html_error_page_becomes_a_clear_error);
    suite_add_tcase(s, tc);
    tc = tcase_create("configuration");
    tcase_add_test(tc, bad_endpoints_are_refused_up_front);
    tcase_add_test(tc, endpoints_come_from_the_environment);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    const char *const env[] = { "AWS_ACCESS_KEY_ID=AKIDFAULTTEST",
                                "AWS_SECRET_ACCESS_KEY=fault-test-secret",
                                "AWS_EC2_METADATA_DISABLED=true", NULL };
    return support_server_main(&faults, "tests/tools/fault_server.py", env, faults_suite);
}
