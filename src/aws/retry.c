/* retry.c — retry classification and backoff. */
#include "config.h"
#include "aws/retry.h"

#include <string.h>

long retry_delay_ms(const retry_policy *p, int retry, uint64_t r)
{
    long cap = p->cap_ms > 0 ? p->cap_ms : 0;
    long ceiling = p->base_ms > 0 ? p->base_ms : 0;
    for (int i = 0; i < retry && ceiling < cap; i++)
        ceiling *= 2;
    if (ceiling > cap)
        ceiling = cap;
    return (long)(r % ((uint64_t)ceiling + 1));
}

const char *retry_short_type(const char *type)
{
    if (!type)
        return "";
    const char *h = strrchr(type, '#');
    return h ? h + 1 : type;
}

bool retry_is_throttle(const char *type)
{
    static const char *const throttles[] = {
        "ThrottlingException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "LimitExceededException",
        "Throttling",
        "RequestThrottled",
        "RequestThrottledException",
        "TooManyRequestsException",
    };
    const char *t = retry_short_type(type);
    for (size_t i = 0; i < sizeof throttles / sizeof throttles[0]; i++)
        if (strcmp(t, throttles[i]) == 0)
            return true;
    return false;
}

bool retry_is_retryable(long http_status, const char *type, http_fail fail)
{
    static const char *const transient[] = {
        "ThrottlingException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "InternalServerError",
        "InternalFailure",
        "ServiceUnavailable",
        "LimitExceededException",
        "TransactionInProgressException",
        "Throttling",
        "RequestThrottled",
        "RequestThrottledException",
        "TooManyRequestsException",
    };
    if (fail != HTTP_FAIL_NONE)
        return http_fail_retryable(fail);
    const char *t = retry_short_type(type);
    for (size_t i = 0; i < sizeof transient / sizeof transient[0]; i++)
        if (strcmp(t, transient[i]) == 0)
            return true;
    if (*t)
        return http_status >= 500;
    return http_status >= 500 || http_status == 429;
}
