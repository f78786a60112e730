/* check_jdoc.c — flat JSON documents: the same verdicts, messages and values as jparse on the
 * JSON data files and on random and damaged documents, and the accessors on a Query reply. */
#include "config.h"

#include <check.h>
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/jdoc.h"
#include "base/jparse.h"
#include "tap.h"

#define JD_DEPTH JSON_PARSER_MAX_DEPTH
#define JD_DOCS 5000

/* ---- agreement with jparse ---------------------------------------------------------------- */

/* v and j are the same value, seen through every accessor. */
static void jd_same(jdoc_val v, const json_t *j)
{
    switch (json_typeof(j)) {
    case JSON_OBJECT: {
        ck_assert_int_eq(jdoc_type_of(v), JDOC_OBJECT);
        ck_assert_uint_ge(jdoc_size(v), json_object_size(j));
        size_t n = 0;
        for (jdoc_val x = jdoc_first(v); x.doc; x = jdoc_next(x), n++) {
            const char *k = jdoc_key(x);
            ck_assert_ptr_nonnull(k);
            ck_assert_ptr_nonnull(json_object_get(j, k));
        }
        ck_assert_uint_eq(n, jdoc_size(v));
        const char *k;
        json_t *m;
        json_object_foreach((json_t *)j, k, m)
        {
            jd_same(jdoc_get(v, k), m);
        }
        break;
    }
    case JSON_ARRAY: {
        ck_assert_int_eq(jdoc_type_of(v), JDOC_ARRAY);
        ck_assert_uint_eq(jdoc_size(v), json_array_size(j));
        size_t i = 0;
        for (jdoc_val x = jdoc_first(v); x.doc; x = jdoc_next(x), i++) {
            ck_assert_ptr_null(jdoc_key(x));
            jd_same(x, json_array_get(j, i));
        }
        ck_assert_uint_eq(i, json_array_size(j));
        break;
    }
    case JSON_STRING: {
        size_t len = json_string_length(j);
        ck_assert_int_eq(jdoc_type_of(v), JDOC_STRING);
        ck_assert_uint_eq(jdoc_size(v), len);
        ck_assert_int_eq(memcmp(jdoc_str(v), json_string_value(j), len), 0);
        ck_assert_int_eq(jdoc_str(v)[len], '\0');
        break;
    }
    case JSON_INTEGER:
        ck_assert_int_eq(jdoc_type_of(v), JDOC_INTEGER);
        ck_assert(jdoc_int(v) == json_integer_value(j));
        ck_assert(jdoc_real(v) == (double)json_integer_value(j));
        break;
    case JSON_REAL:
        ck_assert_int_eq(jdoc_type_of(v), JDOC_REAL);
        ck_assert(jdoc_real(v) == json_real_value(j));
        ck_assert(jdoc_int(v) == 0);
        break;
    case JSON_TRUE: ck_assert_int_eq(jdoc_type_of(v), JDOC_TRUE); break;
    case JSON_FALSE: ck_assert_int_eq(jdoc_type_of(v), JDOC_FALSE); break;
    case JSON_NULL: ck_assert_int_eq(jdoc_type_of(v), JDOC_NULL); break;
    }
}

/* jdoc and jparse on p[0..n) (an exact-size heap copy, so ASan sees any over-read): the same
 * verdict, message and value. Returns 1 when both accepted. */
static int jd_agree(const void *p, size_t n)
{
    char *c = malloc(n ? n : 1);
    ck_assert_ptr_nonnull(c);
    if (n)
        memcpy(c, p, n);
    errinfo e1, e2;
    errinfo_clear(&e1);
    errinfo_clear(&e2);
    json_t *j = jparse(c, n, JD_DEPTH, &e1);
    jdoc *d = jdoc_parse(c, n, JD_DEPTH, &e2);
    memset(c, 'x', n); /* the document keeps its own copy */
    free(c);
    ck_assert_msg((j != NULL) == (d != NULL), "verdicts differ: jparse %s, jdoc %s",
                  j ? "ok" : e1.msg, d ? "ok" : e2.msg);
    if (!j) {
        ck_assert_str_eq(e1.msg, e2.msg);
        ck_assert_int_eq(e1.code, e2.code);
        return 0;
    }
    jd_same(jdoc_root(d), j);
    json_t *back = jdoc_to_json(jdoc_root(d));
    ck_assert_msg(json_equal(back, j), "jdoc_to_json differs");
    json_decref(back);
    json_decref(j);
    jdoc_free(d);
    return 1;
}

static const char *jd_srcdir(void)
{
    const char *d = getenv("CR_SRCDIR");
    return d && *d ? d : CR_SRCDIR;
}

/* Every .json file of tests/data/json/<kind> through jd_agree; returns how many were accepted. */
static int jd_files(const char *kind, int *count)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/tests/data/json/%s", jd_srcdir(), kind);
    DIR *dh = opendir(dir);
    ck_assert_msg(dh != NULL, "cannot open %s", dir);
    struct dirent *ent;
    int ok = 0;
    *count = 0;
    while ((ent = readdir(dh)) != NULL) {
        size_t len = strlen(ent->d_name);
        if (len <= 5 || strcmp(ent->d_name + len - 5, ".json") != 0)
            continue;
        char path[1400];
        snprintf(path, sizeof path, "%s/%s", dir, ent->d_name);
        FILE *f = fopen(path, "rb");
        ck_assert_msg(f != NULL, "cannot open %s", path);
        buf b;
        buf_init(&b, 1 << 20);
        char chunk[4096];
        size_t got;
        while ((got = fread(chunk, 1, sizeof chunk, f)) > 0)
            ck_assert_int_eq(buf_append(&b, chunk, got), 0);
        fclose(f);
        ok += jd_agree(b.data ? b.data : "", b.len);
        (*count)++;
        buf_cleanup(&b);
    }
    closedir(dh);
    return ok;
}

START_TEST(data_files_agree_with_jparse)
{
    int n_valid, n_invalid;
    ck_assert_int_eq(jd_files("valid", &n_valid), n_valid);
    ck_assert_int_eq(jd_files("invalid", &n_invalid), 0);
    ck_assert_int_gt(n_valid, 10);
    ck_assert_int_gt(n_invalid, 10);
}
END_TEST

/* ---- random and damaged documents --------------------------------------------------------- */

static uint64_t jd_rng = 0x2545f4914f6cdd1du;

static unsigned jd_below(unsigned n)
{
    jd_rng ^= jd_rng << 13;
    jd_rng ^= jd_rng >> 7;
    jd_rng ^= jd_rng << 17;
    return (unsigned)(jd_rng % n);
}

static void jd_gen_string(buf *b)
{
    static const char *const parts[] = {
        "a",        "pk",           "S", "N",   "\\n",  "\\\"", "\\u00e9", "\\ud83d\\ude00",
        "\xc3\xa9", "\xe2\x82\xac", " ", "\\/", "MSG#", "0"
    };
    buf_putc(b, '"');
    for (unsigned i = jd_below(6); i > 0; i--)
        buf_append_str(b, parts[jd_below(sizeof parts / sizeof parts[0])]);
    buf_putc(b, '"');
}

static void jd_gen_value(buf *b, int depth)
{
    static const char *const nums[] = { "0",
                                        "-1",
                                        "42",
                                        "9223372036854775807",
                                        "-9223372036854775808",
                                        "9223372036854775808",
                                        "1.5",
                                        "-0.25e3",
                                        "1E400",
                                        "6.02e23" };
    if (jd_below(3) == 0)
        buf_putc(b, ' ');
    switch (jd_below(depth >= 5 ? 5 : 7)) {
    case 0: jd_gen_string(b); break;
    case 1: buf_append_str(b, nums[jd_below(sizeof nums / sizeof nums[0])]); break;
    case 2: buf_append_str(b, "true"); break;
    case 3: buf_append_str(b, "false"); break;
    case 4: buf_append_str(b, "null"); break;
    case 5:
        buf_putc(b, '[');
        for (unsigned i = 0, n = jd_below(5); i < n; i++) {
            if (i)
                buf_putc(b, ',');
            jd_gen_value(b, depth + 1);
        }
        buf_putc(b, ']');
        break;
    default:
        buf_putc(b, '{');
        for (unsigned i = 0, n = jd_below(5); i < n; i++) {
            if (i)
                buf_putc(b, ',');
            jd_gen_string(b);
            buf_putc(b, ':');
            jd_gen_value(b, depth + 1);
        }
        buf_putc(b, '}');
        break;
    }
}

START_TEST(random_and_damaged_documents_agree_with_jparse)
{
    static const unsigned char special[] = {
        '"',  '\\', '{',  '}',  '[', ']', ',', ':', 0x00, 0x1f,
        0x80, 0xc3, 0xed, 0xff, 'u', 'e', '.', '-', '0',  ' '
    };
    buf b;
    buf_init(&b, 1 << 20);
    unsigned char mut[1 << 14];
    int ok = 0, mutants_ok = 0, mutants = 0;
    for (int i = 0; i < JD_DOCS; i++) {
        buf_reset(&b);
        jd_gen_value(&b, 0);
        ok += jd_agree(b.data, b.len);
        if (b.len >= sizeof mut - 1)
            continue;
        for (int m = 0; m < 3; m++) {
            size_t n = b.len, at = jd_below((unsigned)n);
            memcpy(mut, b.data, n);
            switch (jd_below(3)) {
            case 0: mut[at] = special[jd_below(sizeof special)]; break;
            case 1: n = at; break;
            default:
                memmove(mut + at + 1, mut + at, n - at);
                mut[at] = special[jd_below(sizeof special)];
                n++;
                break;
            }
            mutants_ok += jd_agree(mut, n);
            mutants++;
        }
    }
    buf_cleanup(&b);
    ck_assert_int_gt(ok, JD_DOCS * 9 / 10); /* only 1E400 is refused */
    ck_assert_int_gt(mutants_ok, mutants / 20);
    ck_assert_int_lt(mutants_ok, mutants * 9 / 10);
}
END_TEST

/* ---- accessors ---------------------------------------------------------------------------- */

static const char jd_reply[] =
    "{\"Count\":2,\"Items\":[{\"pk\":{\"S\":\"MSG#1\"},\"sk\":{\"S\":\"2026-11-21\"},"
    "\"message\":{\"S\":\"caf\\u00e9 \\\"quoted\\\"\"}},{\"pk\":{\"S\":\"MSG#1\"},"
    "\"n\":{\"N\":\"12\"}}],\"LastEvaluatedKey\":{\"pk\":{\"S\":\"MSG#1\"},"
    "\"sk\":{\"S\":\"2026-11-20\"}},\"ScannedCount\":2,\"Ratio\":0.5,\"Dup\":1,\"Dup\":2}";

START_TEST(accessors_walk_a_query_reply)
{
    errinfo e;
    jdoc *d = jdoc_parse(jd_reply, sizeof jd_reply - 1, JD_DEPTH, &e);
    ck_assert_msg(d != NULL, "%s", e.msg);
    jdoc_val r = jdoc_root(d);
    ck_assert(jdoc_is(r, JDOC_OBJECT));
    ck_assert_uint_eq(jdoc_size(r), 7);
    ck_assert(jdoc_int(jdoc_get(r, "Count")) == 2);
    ck_assert(jdoc_real(jdoc_get(r, "Ratio")) == 0.5);
    ck_assert(jdoc_int(jdoc_get(r, "Dup")) == 2); /* the last one wins, as in jparse */
    jdoc_val items = jdoc_get(r, "Items");
    ck_assert_uint_eq(jdoc_size(items), 2);
    jdoc_val it = jdoc_first(items);
    ck_assert_str_eq(jdoc_get_str(jdoc_get(it, "pk"), "S"), "MSG#1");
    ck_assert_str_eq(jdoc_get_str(jdoc_get(it, "message"), "S"), "caf\xc3\xa9 \"quoted\"");
    ck_assert_str_eq(jdoc_key(jdoc_first(it)), "pk");
    ck_assert_str_eq(jdoc_key(jdoc_next(jdoc_first(it))), "sk");
    jdoc_val all[4];
    ck_assert_uint_eq(jdoc_elements(items, all, 4), 2);
    ck_assert_uint_eq(jdoc_elements(items, all, 1), 1);
    ck_assert_uint_eq(all[0].i, it.i);
    ck_assert_uint_eq(jdoc_elements(jdoc_get(r, "Count"), all, 4), 0);
    it = jdoc_next(it);
    ck_assert_str_eq(jdoc_get_str(jdoc_get(it, "n"), "N"), "12");
    ck_assert_ptr_null(jdoc_next(it).doc);
    /* none and wrong types answer as missing */
    jdoc_val none = jdoc_get(r, "Nope");
    ck_assert(jdoc_is(none, JDOC_NONE));
    ck_assert_ptr_null(jdoc_get(none, "x").doc);
    ck_assert_ptr_null(jdoc_first(none).doc);
    ck_assert_ptr_null(jdoc_next(none).doc);
    ck_assert_ptr_null(jdoc_str(jdoc_get(r, "Count")));
    ck_assert_ptr_null(jdoc_get(items, "pk").doc);
    ck_assert_ptr_null(jdoc_first(jdoc_get(r, "Count")).doc);
    ck_assert_ptr_null(jdoc_to_json(none));
    ck_assert_ptr_null(jdoc_key(r));
    ck_assert_uint_eq(jdoc_size(jdoc_get(r, "Count")), 0);
    ck_assert(jdoc_int(none) == 0 && jdoc_real(none) == 0);
    ck_assert_ptr_null(jdoc_root(NULL).doc);
    /* a subtree converts on its own */
    json_t *k = jdoc_to_json(jdoc_get(r, "LastEvaluatedKey"));
    json_t *want = json_pack("{s:{s:s}, s:{s:s}}", "pk", "S", "MSG#1", "sk", "S", "2026-11-20");
    ck_assert(json_equal(k, want));
    json_decref(k);
    json_decref(want);
    jdoc_free(d);
    jdoc_free(NULL);
}
END_TEST

START_TEST(empty_containers_and_scalars_at_the_top)
{
    errinfo e;
    const char *texts[] = { "{}", "[]", " \"x\" ", "7", "[[],{}]", "{\"a\":{}}" };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
        ck_assert_int_eq(jd_agree(texts[i], strlen(texts[i])), 1);
    jdoc *d = jdoc_parse("[[],{},[1]]", 11, JD_DEPTH, &e);
    ck_assert_ptr_nonnull(d);
    jdoc_val a = jdoc_first(jdoc_root(d));
    ck_assert(jdoc_is(a, JDOC_ARRAY));
    ck_assert_ptr_null(jdoc_first(a).doc);
    a = jdoc_next(a);
    ck_assert(jdoc_is(a, JDOC_OBJECT));
    ck_assert_ptr_null(jdoc_first(a).doc);
    a = jdoc_next(a);
    ck_assert(jdoc_int(jdoc_first(a)) == 1);
    ck_assert_ptr_null(jdoc_next(jdoc_first(a)).doc);
    ck_assert_ptr_null(jdoc_next(a).doc);
    jdoc_free(d);
    ck_assert_ptr_null(jdoc_parse(NULL, 0, JD_DEPTH, &e));
    ck_assert_str_eq(e.msg, "offset 0: unexpected end of input");
    ck_assert_ptr_null(jdoc_parse("[[1]]", 5, 1, &e));
    ck_assert_str_eq(e.msg, "offset 1: nesting deeper than 1");
}
END_TEST

START_TEST(deep_nesting_uses_the_heap_stack)
{
    buf b;
    buf_init(&b, 1 << 20);
    for (int i = 0; i < 300; i++)
        buf_append_str(&b, i % 2 ? "{\"k\":" : "[");
    buf_append_str(&b, "1");
    for (int i = 299; i >= 0; i--)
        buf_append_str(&b, i % 2 ? "}" : "]");
    errinfo e;
    jdoc *d = jdoc_parse(b.data, b.len, 1000, &e);
    ck_assert_msg(d != NULL, "%s", e.msg);
    json_t *j = jparse(b.data, b.len, 1000, &e);
    json_t *back = jdoc_to_json(jdoc_root(d));
    ck_assert(json_equal(j, back));
    json_decref(j);
    json_decref(back);
    jdoc_free(d);
    buf_cleanup(&b);
}
END_TEST

static Suite *jdoc_suite(void)
{
    Suite *s = suite_create("jdoc");
    TCase *tc = tcase_create("agreement");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, data_files_agree_with_jparse);
    tcase_add_test(tc, random_and_damaged_documents_agree_with_jparse);
    suite_add_tcase(s, tc);
    tc = tcase_create("accessors");
    tcase_add_test(tc, accessors_walk_a_query_reply);
    tcase_add_test(tc, empty_containers_and_scalars_at_the_top);
    tcase_add_test(tc, deep_nesting_uses_the_heap_stack);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tap_run(jdoc_suite());
}
