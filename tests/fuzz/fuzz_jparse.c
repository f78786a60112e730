/* fuzz_jparse.c — the strict JSON parser (base/jparse.c) on any bytes: it never reads past
 * the input, rejects with ERR_INVALID and an offset inside the input, and what it accepts
 * prints (Jansson, compact) to a text it parses back to an equal value. */
#include "config.h"

#include <jansson.h>

#include "base/jparse.h"
#include "fuzz.h"

#define FUZZ_JPARSE_MAX_INPUT (64 * 1024)
#define FUZZ_JPARSE_DEPTH 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > FUZZ_JPARSE_MAX_INPUT)
        return 0;
    char *p = fuzz_dup(data, size);
    errinfo e;
    errinfo_clear(&e);
    json_t *v = jparse(p, size, FUZZ_JPARSE_DEPTH, &e);
    if (!v) {
        FUZZ_CHECK(e.code == ERR_INVALID);
        size_t off = 0;
        FUZZ_CHECK(sscanf(e.msg, "offset %zu:", &off) == 1);
        FUZZ_CHECK(off <= size);
    } else {
        char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
        FUZZ_CHECK(text != NULL);
        json_t *again = jparse(text, strlen(text), FUZZ_JPARSE_DEPTH + 1, &e);
        FUZZ_CHECK(again != NULL);
        FUZZ_CHECK(json_equal(v, again));
        json_decref(again);
        free(text);
        json_decref(v);
    }
    free(p);
    return 0;
}
