/* fuzz_jparse.c — the strict JSON parser (base/jparse.c) on any bytes: it never reads past
 * the input, rejects with ERR_INVALID and an offset inside the input, and what it accepts
 * prints (Jansson, compact) to a text it parses back to an equal value; base/jwrite writes
 * that value to the same bytes as Jansson (or refuses it only for nesting deeper than
 * JWRITE_MAX_DEPTH). */
#include "config.h"

#include <jansson.h>

#include "base/jparse.h"
#include "base/jwrite.h"
#include "fuzz.h"

#define FUZZ_JPARSE_MAX_INPUT (64 * 1024)
#define FUZZ_JPARSE_DEPTH 64

/* Levels of v as jwrite counts them (a scalar is one). */
static int fuzz_jparse_depth(const json_t *v)
{
    int deepest = 0;
    if (json_is_array(v))
        for (size_t i = 0; i < json_array_size(v); i++) {
            int d = fuzz_jparse_depth(json_array_get(v, i));
            deepest = d > deepest ? d : deepest;
        }
    else if (json_is_object(v)) {
        const char *k;
        json_t *m;
        json_object_foreach((json_t *)v, k, m)
        {
            int d = fuzz_jparse_depth(m);
            deepest = d > deepest ? d : deepest;
        }
    }
    return deepest + 1;
}

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
        buf b;
        buf_init(&b, 0);
        if (jwrite_value(&b, v) == 0)
            FUZZ_CHECK(b.len == strlen(text) && memcmp(b.data, text, b.len) == 0);
        else
            FUZZ_CHECK(!b.failed && fuzz_jparse_depth(v) > JWRITE_MAX_DEPTH);
        buf_cleanup(&b);
        free(text);
        json_decref(v);
    }
    free(p);
    return 0;
}
