/* fuzz_jdoc.c — the flat JSON documents (base/jdoc.c) against jparse on the same bytes:
 * the same texts accepted, the same error message for the rest, and a walk of every value
 * (sizes, iteration, lookups by key, jdoc_elements) agreeing with jparse's Jansson value. */
#include "config.h"

#include <jansson.h>

#include "base/jdoc.h"
#include "base/jparse.h"
#include "fuzz.h"

#define FUZZ_JDOC_MAX_INPUT (64 * 1024)
#define FUZZ_JDOC_DEPTH 48

/* Checks that v, a value of a document, is the Jansson value j. */
static void fuzz_jdoc_same(jdoc_val v, const json_t *j)
{
    json_t *c = jdoc_to_json(v);
    FUZZ_CHECK(c != NULL);
    FUZZ_CHECK(json_equal(c, j));
    json_decref(c);
    switch (jdoc_type_of(v)) {
    case JDOC_OBJECT: {
        FUZZ_CHECK(json_is_object(j));
        size_t n = 0;
        for (jdoc_val m = jdoc_first(v); m.doc; m = jdoc_next(m)) {
            const char *key = jdoc_key(m);
            FUZZ_CHECK(key != NULL);
            json_t *jm = json_object_get(j, key);
            FUZZ_CHECK(jm != NULL);
            jdoc_val last = jdoc_get(v, key); /* a repeated key: the last one, as Jansson */
            FUZZ_CHECK(last.doc != NULL);
            fuzz_jdoc_same(last, jm);
            n++;
        }
        FUZZ_CHECK(n == jdoc_size(v));
        FUZZ_CHECK(n >= json_object_size(j));
        FUZZ_CHECK(jdoc_get(v, "\x01 no such key").doc == NULL);
        break;
    }
    case JDOC_ARRAY: {
        FUZZ_CHECK(json_is_array(j));
        size_t n = jdoc_size(v), i = 0;
        FUZZ_CHECK(n == json_array_size(j));
        jdoc_val few[8];
        size_t got = jdoc_elements(v, few, 8);
        FUZZ_CHECK(got == (n < 8 ? n : 8));
        for (jdoc_val x = jdoc_first(v); x.doc; x = jdoc_next(x), i++) {
            FUZZ_CHECK(i < n);
            if (i < got)
                FUZZ_CHECK(few[i].i == x.i);
            FUZZ_CHECK(jdoc_key(x) == NULL);
            fuzz_jdoc_same(x, json_array_get(j, i));
        }
        FUZZ_CHECK(i == n);
        break;
    }
    case JDOC_STRING:
        FUZZ_CHECK(json_is_string(j));
        FUZZ_CHECK(jdoc_size(v) == json_string_length(j));
        FUZZ_CHECK(memcmp(jdoc_str(v), json_string_value(j), jdoc_size(v)) == 0);
        FUZZ_CHECK(jdoc_str(v)[jdoc_size(v)] == '\0');
        break;
    case JDOC_INTEGER:
        FUZZ_CHECK(json_is_integer(j) && jdoc_int(v) == json_integer_value(j));
        FUZZ_CHECK(jdoc_real(v) == (double)json_integer_value(j));
        break;
    case JDOC_REAL:
        FUZZ_CHECK(json_is_real(j) && jdoc_real(v) == json_real_value(j));
        FUZZ_CHECK(jdoc_int(v) == 0 && jdoc_str(v) == NULL);
        break;
    case JDOC_TRUE: FUZZ_CHECK(json_is_true(j)); break;
    case JDOC_FALSE: FUZZ_CHECK(json_is_false(j)); break;
    case JDOC_NULL: FUZZ_CHECK(json_is_null(j)); break;
    case JDOC_NONE: FUZZ_CHECK(!"a value of a document has no type");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > FUZZ_JDOC_MAX_INPUT)
        return 0;
    char *p = fuzz_dup(data, size);
    errinfo ed, ej;
    errinfo_clear(&ed);
    errinfo_clear(&ej);
    jdoc *d = jdoc_parse(p, size, FUZZ_JDOC_DEPTH, &ed);
    json_t *j = jparse(p, size, FUZZ_JDOC_DEPTH, &ej);
    memset(p, 'x', size); /* jdoc copied the text: the input may be reused at once */
    FUZZ_CHECK((d != NULL) == (j != NULL));
    if (d) {
        fuzz_jdoc_same(jdoc_root(d), j);
    } else {
        FUZZ_CHECK(ed.code == ej.code);
        FUZZ_CHECK(strcmp(ed.msg, ej.msg) == 0);
        FUZZ_CHECK(jdoc_root(d).doc == NULL);
    }
    jdoc_free(d);
    json_decref(j);
    free(p);
    return 0;
}
