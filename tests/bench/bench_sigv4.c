/* bench_sigv4.c — SigV4 signatures per second on one core, for a DynamoDB Query request
 * with a session token. Usage: bench_sigv4 [SECONDS] (default 2). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/sigv4.h"
#include "base/clock.h"

#define TARGET_PER_S 100000.0
#define BATCH 256

static const char BODY[] =
    "{\"TableName\":\"cruddur-messages\",\"KeyConditionExpression\":\"pk = :pk AND "
    "begins_with(sk, :year)\",\"ExpressionAttributeValues\":{\":pk\":{\"S\":\"MSG#5ae290ed-"
    "55d1-47a0-bc6d-fe2bc2700399\"},\":year\":{\"S\":\"2023\"}},\"ScanIndexForward\":false,"
    "\"Limit\":20,\"ReturnConsumedCapacity\":\"TOTAL\"}";

int main(int argc, char **argv)
{
    double seconds = 2.0;
    if (argc > 1) {
        char *end = NULL;
        seconds = strtod(argv[1], &end);
        if (!end || *end != '\0' || !(seconds > 0.0 && seconds <= 600.0)) {
            fprintf(stderr, "usage: %s [SECONDS]  (0 < SECONDS <= 600)\n", argv[0]);
            return 2;
        }
    }

    const sigv4_header headers[] = {
        { STRV("Host"), STRV("dynamodb.us-east-1.amazonaws.com") },
        { STRV("Content-Type"), STRV("application/x-amz-json-1.0") },
        { STRV("X-Amz-Target"), STRV("DynamoDB_20120810.Query") },
    };
    const sigv4_request req = {
        .method = STRV("POST"),
        .path = STRV("/"),
        .query = STRV_EMPTY,
        .headers = headers,
        .nheaders = sizeof headers / sizeof headers[0],
        .payload = BODY,
        .payload_len = sizeof BODY - 1,
    };
    const sigv4_credentials cred = {
        .access_key_id = "ASIAIOSFODNN7EXAMPLE",
        .secret_access_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        .session_token = "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQDExampleToken"
                         "ForBenchmarkOnlyAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
                         "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==",
    };
    sigv4_options opt = {
        .region = "us-east-1",
        .service = "dynamodb",
        .time_s = INT64_C(1700000000),
        .normalize_path = true,
    };

    sigv4_signer *s = sigv4_signer_new();
    if (!s) {
        fprintf(stderr, "bench_sigv4: cannot create a signer\n");
        return 1;
    }
    sigv4_result r;
    sigv4_result_init(&r);
    errinfo e;
    int rc = 0;
    unsigned long long n = 0;
    int64_t start = clock_mono_us(), now = start;
    int64_t limit = (int64_t)(seconds * 1e6);
    while (now - start < limit) {
        for (int i = 0; i < BATCH; i++, n++) {
            opt.time_s = INT64_C(1700000000) + (int64_t)(n % 3600); /* a new X-Amz-Date */
            if (sigv4_sign(s, &req, &cred, &opt, &r, &e) != 0) {
                fprintf(stderr, "bench_sigv4: %s\n", e.msg);
                rc = 1;
                goto out;
            }
        }
        now = clock_mono_us();
    }
    double per_s = (double)n / ((double)(now - start) / 1e6);
    printf("sigv4: %.0f signatures/s (target >= %.0f/s): ratio %.2fx target\n", per_s, TARGET_PER_S,
           per_s / TARGET_PER_S);
out:
    sigv4_result_cleanup(&r);
    sigv4_signer_free(s);
    return rc;
}
