/* retry.h — which AWS failures are worth another try, and how long to wait: capped
 * exponential backoff with full jitter. Pure functions. */
#ifndef CR_RETRY_H
#define CR_RETRY_H

#include <stdbool.h>
#include <stdint.h>

#include "aws/http.h"

typedef struct retry_policy {
    int max_attempts; /* total tries including the first; >= 1 */
    long base_ms;     /* delay scale of the first retry */
    long cap_ms;      /* no delay exceeds this */
} retry_policy;

#define RETRY_POLICY_DEFAULT ((retry_policy){ .max_attempts = 5, .base_ms = 25, .cap_ms = 2000 })

/* The delay before retry number `retry` (0 for the first retry): a value drawn uniformly
 * from [0, min(cap_ms, base_ms * 2^retry)] using the random word r. */
long retry_delay_ms(const retry_policy *p, int retry, uint64_t r);

/* Whether a failed call may be sent again: transport failures (connect, timeout, reset),
 * HTTP 5xx, and the throttling / transient service errors by their short __type
 * (ThrottlingException, ProvisionedThroughputExceededException, RequestLimitExceeded,
 * InternalServerError, ServiceUnavailable, LimitExceededException of Streams,
 * TransactionInProgressException). Validation, conditional-check and not-found errors never.
 * type may be NULL or "" when the failure is below HTTP. */
bool retry_is_retryable(long http_status, const char *type, http_fail fail);
/* Whether the short or long __type is one of the throttling errors (a subset of the above). */
bool retry_is_throttle(const char *type);

/* The part of an AWS __type after the last '#' ("com.amazonaws...#X" -> "X"). */
const char *retry_short_type(const char *type);

#endif
