/* fuzz_json_diff.c — jparse against Jansson's json_loadb (JSON_DECODE_ANY): both accept the
 * same texts and give equal values, but for the two differences jparse.h documents (an
 * integer outside json_int_t is a real in jparse and an error in Jansson; a NUL byte right
 * after a number or literal is an error in jparse and skipped by Jansson), each checked to
 * be exactly that. */
#include "config.h"

#include <jansson.h>

#include "base/jparse.h"
#include "fuzz.h"

#define FUZZ_JSON_DIFF_MAX_INPUT (16 * 1024)
#define FUZZ_JSON_DIFF_DEPTH 2048 /* Jansson's own JSON_PARSER_MAX_DEPTH */

static void fuzz_json_diff_run(const uint8_t *data, size_t size, int hops)
{
    char *p = fuzz_dup(data, size);
    errinfo e;
    json_error_t je;
    errinfo_clear(&e);
    json_t *a = jparse(p, size, FUZZ_JSON_DIFF_DEPTH, &e);
    json_t *j = json_loadb(p, size, JSON_DECODE_ANY, &je);
    if (a && j) {
        FUZZ_CHECK(json_equal(a, j));
    } else if (a) {
        /* only a too big integer, which Jansson reads when asked for reals */
        FUZZ_CHECK(json_error_code(&je) == json_error_numeric_overflow);
        json_t *r = json_loadb(p, size, JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL, NULL);
        FUZZ_CHECK(r != NULL);
        json_decref(r);
    } else if (j) {
        /* only a NUL byte right after a token: without it both agree */
        size_t off = 0;
        FUZZ_CHECK(sscanf(e.msg, "offset %zu:", &off) == 1);
        FUZZ_CHECK(off > 0 && off < size && data[off] == 0);
        FUZZ_CHECK(strchr("0123456789aelrsu", data[off - 1]) != NULL);
        FUZZ_CHECK(hops < 64);
        uint8_t *fixed = malloc(size - 1 ? size - 1 : 1);
        FUZZ_CHECK(fixed != NULL);
        memcpy(fixed, data, off);
        memcpy(fixed + off, data + off + 1, size - off - 1);
        json_t *jf = json_loadb((const char *)fixed, size - 1, JSON_DECODE_ANY, NULL);
        FUZZ_CHECK(jf != NULL && json_equal(jf, j));
        json_decref(jf);
        fuzz_json_diff_run(fixed, size - 1, hops + 1);
        free(fixed);
    } else {
        FUZZ_CHECK(e.code == ERR_INVALID);
    }
    json_decref(a);
    json_decref(j);
    free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > FUZZ_JSON_DIFF_MAX_INPUT)
        return 0;
    fuzz_json_diff_run(data, size, 0);
    return 0;
}
