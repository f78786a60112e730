/* check_retry.c — which failures are retried and how long the client waits. */
#include "config.h"

#include <check.h>
#include <stdint.h>

#include "aws/retry.h"
#include "tap.h"

START_TEST(transient_service_errors_are_retried)
{
    const char *yes[] = { "ThrottlingException",
                          "ProvisionedThroughputExceededException",
                          "RequestLimitExceeded",
                          "InternalServerError",
                          "com.amazonaws.dynamodb.v20120810#ThrottlingException",
                          "LimitExceededException",
                          "TransactionInProgressException" };
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
        ck_assert_msg(retry_is_retryable(400, yes[i], HTTP_FAIL_NONE), "%s", yes[i]);
    ck_assert(retry_is_retryable(500, "", HTTP_FAIL_NONE));
    ck_assert(retry_is_retryable(503, NULL, HTTP_FAIL_NONE));
    ck_assert(retry_is_retryable(429, NULL, HTTP_FAIL_NONE));
}
END_TEST

START_TEST(caller_errors_are_never_retried)
{
    const char *no[] = { "ValidationException",
                         "ConditionalCheckFailedException",
                         "ResourceNotFoundException",
                         "TransactionCanceledException",
                         "com.amazonaws.dynamodb.v20120810#ValidationException",
                         "AccessDeniedException",
                         "UnrecognizedClientException",
                         "ExpiredIteratorException",
                         "TrimmedDataAccessException" };
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
        ck_assert_msg(!retry_is_retryable(400, no[i], HTTP_FAIL_NONE), "%s", no[i]);
    ck_assert(!retry_is_retryable(404, NULL, HTTP_FAIL_NONE));
}
END_TEST

START_TEST(transport_failures_are_classified)
{
    ck_assert(retry_is_retryable(0, NULL, HTTP_FAIL_CONNECT));
    ck_assert(retry_is_retryable(0, NULL, HTTP_FAIL_TIMEOUT));
    ck_assert(retry_is_retryable(0, NULL, HTTP_FAIL_RESET));
    ck_assert(!retry_is_retryable(0, NULL, HTTP_FAIL_TLS));
    ck_assert(!retry_is_retryable(0, NULL, HTTP_FAIL_TOOBIG));
    ck_assert_str_eq(retry_short_type("a.b#C"), "C");
    ck_assert_str_eq(retry_short_type("C"), "C");
    ck_assert_str_eq(retry_short_type(NULL), "");
}
END_TEST

START_TEST(backoff_is_capped_exponential_with_full_jitter)
{
    retry_policy p = { .max_attempts = 10, .base_ms = 25, .cap_ms = 2000 };
    /* the largest draw shows the ceiling: 25, 50, 100, ... capped at 2000 */
    long expect[] = { 25, 50, 100, 200, 400, 800, 1600, 2000, 2000, 2000 };
    for (int i = 0; i < 10; i++) {
        long ceiling = expect[i];
        ck_assert_int_eq(retry_delay_ms(&p, i, (uint64_t)ceiling), ceiling);
        ck_assert_int_eq(retry_delay_ms(&p, i, (uint64_t)ceiling + 1), 0);
        ck_assert_int_eq(retry_delay_ms(&p, i, 0), 0);
        for (uint64_t r = 0; r < 5000; r += 37)
            ck_assert_int_le(retry_delay_ms(&p, i, r * 7919), ceiling);
    }
    /* huge retry numbers do not overflow */
    ck_assert_int_le(retry_delay_ms(&p, 1000, UINT64_MAX), 2000);
}
END_TEST

static Suite *retry_suite(void)
{
    Suite *s = suite_create("retry");
    TCase *tc = tcase_create("classification");
    tcase_add_test(tc, transient_service_errors_are_retried);
    tcase_add_test(tc, caller_errors_are_never_retried);
    tcase_add_test(tc, transport_failures_are_classified);
    suite_add_tcase(s, tc);
    tc = tcase_create("backoff");
    tcase_add_test(tc, backoff_is_capped_exponential_with_full_jitter);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tap_run(retry_suite());
}
