/* fuzz_awsjson_error.c — an AWS JSON error answer's body (aws/awsjson_internal.h,
 * awsjson_error_parse) from any bytes: the status comes from the first two input bytes,
 * the body is the rest. Invariants: the type is the short form of __type (nothing up to a
 * '#'), at most 95 bytes; at most as many reasons as err->reasons holds, each a string; the
 * message begins with the label and op and has an error code the callers know. */
#include "config.h"

#include <jansson.h>

#include "aws/awsjson_internal.h"
#include "fuzz.h"

#define FUZZ_AWSJSON_ERROR_MAX_INPUT (64 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2 || size > FUZZ_AWSJSON_ERROR_MAX_INPUT)
        return 0;
    long status = 400 + (long)(((unsigned)data[0] << 8 | data[1]) % 200);
    char *body = fuzz_dup(data + 2, size - 2);
    aws_error err;
    aws_error_clear(&err);
    memset(err.reasons, 0x5a, sizeof err.reasons);
    awsjson_error_parse("DynamoDB", "Query", status, body, size - 2, &err);
    free(body);
    size_t tl = strnlen(err.type, sizeof err.type);
    FUZZ_CHECK(tl < sizeof err.type);
    FUZZ_CHECK(!strchr(err.type, '#'));
    FUZZ_CHECK(err.nreasons >= 0 &&
               (size_t)err.nreasons <= sizeof err.reasons / sizeof err.reasons[0]);
    for (int i = 0; i < err.nreasons; i++)
        FUZZ_CHECK(aws_error_reason(&err, i) <= AWS_REASON_OTHER);
    FUZZ_CHECK(strnlen(err.info.msg, sizeof err.info.msg) < sizeof err.info.msg);
    FUZZ_CHECK(strncmp(err.info.msg, "DynamoDB Query: ", 16) == 0);
    FUZZ_CHECK(err.info.code == ERR_SERVICE || err.info.code == ERR_NOTFOUND ||
               err.info.code == ERR_INVALID);
    if (tl == 0)
        FUZZ_CHECK(err.info.code == ERR_SERVICE && strstr(err.info.msg, "no error type"));
    /* the type is what follows the last '#' of __type, cut to fit */
    json_t *j = json_loadb((const char *)data + 2, size - 2, JSON_DECODE_ANY, NULL);
    const char *type = json_string_value(json_object_get(j, "__type"));
    if (type && json_is_object(j)) {
        const char *h = strrchr(type, '#');
        const char *shortt = h ? h + 1 : type;
        FUZZ_CHECK(strncmp(err.type, shortt, sizeof err.type - 1) == 0);
    }
    json_decref(j);
    return 0;
}
