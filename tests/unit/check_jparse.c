/* check_jparse.c — the strict JSON parser: data-driven cases, values and errors, locale
 * independence, and a differential run against Jansson's json_loadb. */
#include "config.h"

#include <check.h>
#include <dirent.h>
#include <locale.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/jparse.h"
#include "tap.h"

#define JT_DEPTH JSON_PARSER_MAX_DEPTH /* Jansson's limit, so both parsers agree on depth */
#define JT_MAX_FILES 256
#define JT_DIFF_DOCS 20000

/* ---- helpers ------------------------------------------------------------------------------ */

/* A copy of p[0..n) in a heap block of exactly n bytes, so ASan sees any read past the end. */
static char *jt_exact(const void *p, size_t n)
{
    char *c = malloc(n ? n : 1);
    ck_assert_ptr_nonnull(c);
    if (n)
        memcpy(c, p, n);
    return c;
}

/* jparse on an exact-size copy of p[0..n). */
static json_t *jt_parse(const void *p, size_t n, size_t max_depth, errinfo *e)
{
    char *c = jt_exact(p, n);
    json_t *v = jparse(n ? c : NULL, n, max_depth, e);
    if (n == 0) {
        json_t *w = jparse(c, 0, max_depth, e); /* a zero-length block, not NULL */
        ck_assert_ptr_null(w);
    }
    free(c);
    return v;
}

static json_t *jt_parse_str(const char *s, errinfo *e)
{
    return jt_parse(s, strlen(s), JT_DEPTH, e);
}

/* The offset in "offset N: reason", or -1 when the message does not start that way. */
static long jt_offset(const errinfo *e)
{
    long off = -1;
    int used = 0;
    if (sscanf(e->msg, "offset %ld: %n", &off, &used) != 1 || used == 0)
        return -1;
    return off;
}

/* Printable form of a test input for failure messages (truncated). */
static const char *jt_show(const unsigned char *p, size_t n)
{
    static char out[600];
    size_t o = 0;
    for (size_t i = 0; i < n && o + 8 < sizeof out; i++) {
        if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\\')
            out[o++] = (char)p[i];
        else
            o += (size_t)snprintf(out + o, sizeof out - o, "\\x%02x", p[i]);
    }
    out[o] = '\0';
    return out;
}

static const char *jt_srcdir(void)
{
    const char *d = getenv("CR_SRCDIR");
    return d && *d ? d : CR_SRCDIR;
}

static int jt_cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The sorted *.json names in tests/data/json/<kind>; returns the count. */
static size_t jt_list(const char *kind, char **names, size_t max)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/tests/data/json/%s", jt_srcdir(), kind);
    DIR *d = opendir(dir);
    ck_assert_msg(d != NULL, "cannot open %s", dir);
    size_t count = 0;
    struct dirent *ent;
    while ((ent = readdir(d)) != NULL) {
        size_t len = strlen(ent->d_name);
        if (len > 5 && strcmp(ent->d_name + len - 5, ".json") == 0) {
            ck_assert_uint_lt(count, max);
            names[count] = strdup(ent->d_name);
            ck_assert_ptr_nonnull(names[count]);
            count++;
        }
    }
    closedir(d);
    qsort(names, count, sizeof *names, jt_cmp_names);
    return count;
}

static char *jt_read(const char *kind, const char *name, size_t *len)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/tests/data/json/%s/%s", jt_srcdir(), kind, name);
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    buf b;
    buf_init(&b, 1 << 20);
    char chunk[4096];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0)
        ck_assert_int_eq(buf_append(&b, chunk, got), 0);
    fclose(f);
    *len = b.len;
    char *data = jt_exact(b.data ? b.data : "", b.len);
    buf_cleanup(&b);
    return data;
}

typedef struct jt_diffs {
    int bigint; /* an integer outside json_int_t: Jansson rejects, jparse makes a real */
    int nul;    /* a NUL byte right after a number or literal: Jansson skips it */
} jt_diffs;

/* Both parsers on p[0..n): they must agree on accept/reject and on the value, but for the
 * two documented differences, counted in *d. Returns 1 when jparse accepted. */
static int jt_agree(const unsigned char *p, size_t n, jt_diffs *d)
{
    errinfo e;
    json_error_t je;
    char *c = jt_exact(p, n);
    json_t *a = jparse(c, n, JT_DEPTH, &e);
    json_t *j = json_loadb(c, n, JSON_DECODE_ANY, &je);
    free(c);
    if (a && j) {
        ck_assert_msg(json_equal(a, j), "values differ for <%s>", jt_show(p, n));
    } else if (a) {
        ck_assert_msg(json_error_code(&je) == json_error_numeric_overflow &&
                          strncmp(je.text, "too big", 7) == 0,
                      "jparse accepts, Jansson rejects (%s): <%s>", je.text, jt_show(p, n));
        json_t *r = json_loadb((const char *)p, n, JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL, NULL);
        ck_assert_msg(r != NULL, "not only a big integer: <%s>", jt_show(p, n));
        json_decref(r);
        d->bigint++;
    } else if (j) {
        /* Jansson's lexer loses a NUL byte it puts back after a number or a literal, so it
         * takes "[1\0]" for "[1]"; jparse must stop at that NUL, and agree without it. */
        long off = jt_offset(&e);
        ck_assert_msg(off > 0 && (size_t)off < n && p[off] == 0 &&
                          strchr("0123456789aelrsu", p[off - 1]) != NULL,
                      "jparse rejects (%s), Jansson accepts: <%s>", e.msg, jt_show(p, n));
        unsigned char *fixed = malloc(n);
        ck_assert_ptr_nonnull(fixed);
        memcpy(fixed, p, (size_t)off);
        memcpy(fixed + off, p + off + 1, n - (size_t)off - 1);
        json_decref(j);
        j = json_loadb((const char *)fixed, n - 1, JSON_DECODE_ANY, NULL);
        ck_assert_msg(j != NULL, "not only a NUL after a token: <%s>", jt_show(p, n));
        jt_agree(fixed, n - 1, d);
        free(fixed);
        d->nul++;
    } else {
        ck_assert_int_eq(e.code, ERR_INVALID);
        long off = jt_offset(&e);
        ck_assert_msg(off >= 0 && (size_t)off <= n, "bad offset in '%s'", e.msg);
    }
    int accepted = a != NULL;
    json_decref(a);
    json_decref(j);
    return accepted;
}

/* ---- data-driven cases -------------------------------------------------------------------- */

START_TEST(valid_files_parse_like_jansson)
{
    char *names[JT_MAX_FILES];
    jt_diffs d = { 0, 0 };
    size_t count = jt_list("valid", names, JT_MAX_FILES);
    ck_assert_uint_ge(count, 37);
    for (size_t i = 0; i < count; i++) {
        size_t n;
        char *data = jt_read("valid", names[i], &n);
        errinfo e;
        json_error_t je;
        json_t *a = jparse(data, n, JT_DEPTH, &e);
        ck_assert_msg(a != NULL, "%s: %s", names[i], e.msg);
        json_t *j = json_loadb(data, n, JSON_DECODE_ANY, &je);
        ck_assert_msg(j != NULL, "%s: Jansson: %s", names[i], je.text);
        ck_assert_msg(json_equal(a, j), "%s: values differ", names[i]);
        json_decref(a);
        json_decref(j);
        /* every prefix (sampled in long files) fails or succeeds as it does for Jansson */
        size_t step = n <= 1024 ? 1 : n / 512;
        for (size_t k = 0; k < n; k += (k + 16 >= n ? 1 : step))
            jt_agree((const unsigned char *)data, k, &d);
        free(data);
        free(names[i]);
    }
}
END_TEST

START_TEST(invalid_files_are_rejected_with_an_offset)
{
    char *names[JT_MAX_FILES];
    size_t count = jt_list("invalid", names, JT_MAX_FILES);
    ck_assert_uint_ge(count, 82);
    for (size_t i = 0; i < count; i++) {
        size_t n;
        char *data = jt_read("invalid", names[i], &n);
        errinfo e;
        json_t *a = jparse(n ? data : NULL, n, JT_DEPTH, &e);
        ck_assert_msg(a == NULL, "%s: accepted", names[i]);
        ck_assert_int_eq(e.code, ERR_INVALID);
        long off = jt_offset(&e);
        ck_assert_msg(off >= 0 && (size_t)off <= n, "%s: bad offset in '%s'", names[i], e.msg);
        /* Jansson rejects these too, but for the ones named for its NUL quirk */
        json_t *j = json_loadb(data, n, JSON_DECODE_ANY, NULL);
        ck_assert_msg(j == NULL || strncmp(names[i], "jansson-accepts-", 16) == 0,
                      "%s: Jansson accepts it", names[i]);
        json_decref(j);
        free(data);
        free(names[i]);
    }
}
END_TEST

/* ---- values ------------------------------------------------------------------------------- */

START_TEST(integers_reals_and_the_int64_edges)
{
    errinfo e;
    json_t *v = jt_parse_str("[9223372036854775807,-9223372036854775808,-0,0,12]", &e);
    ck_assert_ptr_nonnull(v);
    ck_assert(json_is_integer(json_array_get(v, 0)));
    ck_assert(json_integer_value(json_array_get(v, 0)) == INT64_MAX);
    ck_assert(json_integer_value(json_array_get(v, 1)) == INT64_MIN);
    ck_assert(json_is_integer(json_array_get(v, 2)));
    ck_assert(json_integer_value(json_array_get(v, 2)) == 0);
    ck_assert(json_integer_value(json_array_get(v, 4)) == 12);
    json_decref(v);

    /* past json_int_t: a real (Jansson would reject these: the documented difference) */
    const char *big[] = { "9223372036854775808", "-9223372036854775809",
                          "123456789012345678901234567890", "-18446744073709551616" };
    for (size_t i = 0; i < sizeof big / sizeof *big; i++) {
        v = jt_parse_str(big[i], &e);
        ck_assert_msg(json_is_real(v), "%s", big[i]);
        json_t *j = json_loads(big[i], JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL, NULL);
        ck_assert(json_real_value(v) == json_real_value(j));
        ck_assert_ptr_null(json_loads(big[i], JSON_DECODE_ANY, NULL));
        json_decref(v);
        json_decref(j);
    }

    /* reals are what strtod gives; underflow is not an error, overflow is */
    v = jt_parse_str("[1.5, -2.5e-3, 1E2, 1e-400, 4.9e-324, 0.1]", &e);
    ck_assert_ptr_nonnull(v);
    ck_assert(json_real_value(json_array_get(v, 0)) == 1.5);
    ck_assert(json_real_value(json_array_get(v, 1)) == strtod("-2.5e-3", NULL));
    ck_assert(json_is_real(json_array_get(v, 2)) && json_real_value(json_array_get(v, 2)) == 100);
    ck_assert(json_real_value(json_array_get(v, 3)) == 0.0);
    ck_assert(json_real_value(json_array_get(v, 4)) > 0.0);
    ck_assert(json_real_value(json_array_get(v, 5)) == 0.1);
    json_decref(v);
    ck_assert_ptr_null(jt_parse_str("[1e309]", &e));
    ck_assert_ptr_nonnull(strstr(e.msg, "overflow"));
    ck_assert_int_eq(jt_offset(&e), 1);
}
END_TEST

START_TEST(strings_decode_every_escape)
{
    errinfo e;
    json_t *v = jt_parse_str("[\"\\\"\\\\\\/\\b\\f\\n\\r\\t\", "
                             "\"\\u0041\\u00e9\\u20AC\\uD83D\\uDE00\", "
                             "\"caf\xc3\xa9 \xf0\x9f\x98\x80\", \"\"]",
                             &e);
    ck_assert_msg(v != NULL, "%s", e.msg);
    ck_assert_str_eq(json_string_value(json_array_get(v, 0)), "\"\\/\b\f\n\r\t");
    ck_assert_str_eq(json_string_value(json_array_get(v, 1)),
                     "A\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
    ck_assert_str_eq(json_string_value(json_array_get(v, 2)), "caf\xc3\xa9 \xf0\x9f\x98\x80");
    ck_assert_uint_eq(json_string_length(json_array_get(v, 3)), 0);
    json_decref(v);

    /* an escaped key waits in its own buffer while an escaped value is decoded */
    v = jt_parse_str("{\"k\\u00e9y\": \"v\\u00e0l\\n\", \"k\\ty\": {\"in\\\"ner\": \"x\\/y\"}}",
                     &e);
    ck_assert_msg(v != NULL, "%s", e.msg);
    ck_assert_str_eq(json_string_value(json_object_get(v, "k\xc3\xa9y")), "v\xc3\xa0l\n");
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(v, "k\ty"), "in\"ner")),
                     "x/y");
    json_decref(v);

    /* long escaped strings grow the scratch buffers */
    buf b;
    buf_init(&b, 0);
    buf_append_str(&b, "{\"");
    for (int i = 0; i < 500; i++)
        buf_append_str(&b, "key\\n");
    buf_append_str(&b, "\":\"");
    for (int i = 0; i < 2000; i++)
        buf_append_str(&b, "\\u00e9\\uD83D\\uDE00ab");
    buf_append_str(&b, "\"}");
    v = jt_parse(b.data, b.len, JT_DEPTH, &e);
    ck_assert_msg(v != NULL, "%s", e.msg);
    const char *key = json_object_iter_key(json_object_iter(v));
    ck_assert_uint_eq(strlen(key), 500 * 4);
    ck_assert_uint_eq(json_string_length(json_object_iter_value(json_object_iter(v))), 2000 * 8);
    json_decref(v);
    buf_cleanup(&b);
}
END_TEST

START_TEST(duplicate_keys_keep_the_last)
{
    errinfo e;
    json_t *v = jt_parse_str("{\"a\":1,\"b\":{\"c\":[1,2]},\"a\":\"two\",\"b\":null}", &e);
    ck_assert_ptr_nonnull(v);
    ck_assert_uint_eq(json_object_size(v), 2);
    ck_assert_str_eq(json_string_value(json_object_get(v, "a")), "two");
    ck_assert(json_is_null(json_object_get(v, "b")));
    json_decref(v);
}
END_TEST

START_TEST(locale_does_not_change_numbers)
{
    /* a process locale whose decimal point is ',' (installed, or built here by localedef;
     * setlocale, not newlocale, because glibc's newlocale leaks its LOCPATH copy) */
    const char *names[] = { "de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8", "ru_RU.UTF-8" };
    int have = 0;
    for (size_t i = 0; i < sizeof names / sizeof *names && !have; i++)
        have = setlocale(LC_NUMERIC, names[i]) != NULL;
    char dir[] = "/tmp/check_jparse_locXXXXXX", cmd[512];
    int made = 0;
    if (!have && mkdtemp(dir)) {
        made = 1;
        snprintf(cmd, sizeof cmd,
                 "printf 'LC_NUMERIC\\ndecimal_point \"<U002C>\"\\nthousands_sep \"\"\\n"
                 "grouping -1\\nEND LC_NUMERIC\\n' > %s/comma.def && "
                 "localedef -c -i %s/comma.def -f UTF-8 %s/xx_XX.UTF-8 >/dev/null 2>&1; true",
                 dir, dir, dir);
        if (system(cmd) == 0) {
            setenv("LOCPATH", dir, 1);
            have = setlocale(LC_NUMERIC, "xx_XX.UTF-8") != NULL;
            unsetenv("LOCPATH");
        }
    }
    if (!have) {
        fprintf(stderr, "check_jparse: no ',' locale available; locale test not exercised\n");
    } else {
        int in_force = strtod("1.5", NULL) == 1.0; /* the locale is in force ... */
        errinfo e;
        json_t *v = jt_parse_str("[1.5, -0.25e1, 3]", &e);
        setlocale(LC_NUMERIC, "C");
        ck_assert(in_force);
        ck_assert_msg(v != NULL, "%s", e.msg); /* ... and jparse does not care */
        ck_assert(json_real_value(json_array_get(v, 0)) == 1.5);
        ck_assert(json_real_value(json_array_get(v, 1)) == -2.5);
        json_decref(v);
    }
    if (made) {
        snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
        ck_assert_int_eq(system(cmd), 0);
    }
}
END_TEST

/* ---- structure and errors ----------------------------------------------------------------- */

START_TEST(depth_limit_is_exact)
{
    errinfo e;
    json_t *v = jt_parse("[[{\"a\":1}]]", 11, 3, &e);
    ck_assert_msg(v != NULL, "%s", e.msg);
    json_decref(v);
    ck_assert_ptr_null(jt_parse("[[{\"a\":[]}]]", 12, 3, &e));
    ck_assert_ptr_nonnull(strstr(e.msg, "nesting deeper than 3"));
    ck_assert_int_eq(jt_offset(&e), 7);
    v = jt_parse("7", 1, 0, &e);
    ck_assert(json_integer_value(v) == 7);
    json_decref(v);
    ck_assert_ptr_null(jt_parse("{}", 2, 0, &e));

    /* the stack of open containers is on the heap: a deep text costs no C stack */
    size_t depth = 100000;
    char *deep = malloc(2 * depth + 2);
    ck_assert_ptr_nonnull(deep);
    memset(deep, '[', depth);
    deep[depth] = '1';
    memset(deep + depth + 1, ']', depth);
    v = jt_parse(deep, 2 * depth + 1, depth, &e);
    ck_assert_msg(v != NULL, "%s", e.msg);
    json_decref(v);
    ck_assert_ptr_null(jt_parse(deep, 2 * depth + 1, depth - 1, &e));
    ck_assert_int_eq(jt_offset(&e), (long)depth - 1);
    ck_assert_ptr_null(jt_parse(deep, 2 * depth, depth, &e)); /* one ']' short */
    free(deep);
}
END_TEST

START_TEST(errors_carry_the_offset)
{
    static const struct {
        const char *text;
        long offset;
        const char *reason;
    } cases[] = {
        { "[1,]", 3, "value expected" },
        { "{\"a\" 1}", 5, "':' expected" },
        { "\"abc", 4, "unterminated string" },
        { "[1] x", 4, "end of input expected" },
        { "  ", 2, "unexpected end of input" },
        { "[01]", 2, "leading zero" },
        { "[1.]", 3, "digit expected after '.'" },
        { "\"a\\qb\"", 2, "invalid escape" },
        { "[\"\\uD800\"]", 2, "unpaired high surrogate" },
        { "\"\\udc00\"", 1, "unpaired low surrogate" },
        { "\"\\u0000\"", 1, "\\u0000" },
        { "{\"k\":\"\xed\xa0\x80\"}", 6, "invalid UTF-8" },
        { "\"a\tb\"", 2, "control character" },
        { "[true,nul]", 6, "invalid literal" },
        { "{\"a\":1,}", 7, "object key expected" },
        { "[1 2]", 3, "',' or ']' expected" },
        { "{\"a\":1]", 6, "',' or '}' expected" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        errinfo e;
        ck_assert_ptr_null(jt_parse_str(cases[i].text, &e));
        ck_assert_int_eq(e.code, ERR_INVALID);
        ck_assert_msg(jt_offset(&e) == cases[i].offset, "%s: '%s'", cases[i].text, e.msg);
        ck_assert_msg(strstr(e.msg, cases[i].reason) != NULL, "%s: '%s'", cases[i].text, e.msg);
    }
    /* e may be NULL */
    ck_assert_ptr_null(jparse("[", 1, 8, NULL));
    ck_assert_ptr_null(jparse(NULL, 0, 8, NULL));
}
END_TEST

START_TEST(input_is_not_read_past_n)
{
    /* a text cut inside each kind of token, from exact-size blocks (ASan checks the rest) */
    const char *texts[] = { "true",
                            "false",
                            "null",
                            "-12.5e+7",
                            "\"ab\\u00e9\\uD83D\\uDE00\"",
                            "\"\xf0\x9f\x98\x80 plain text long enough for eight\"",
                            "{\"key\\n\" : [1, 2.5, \"x\"] }" };
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
        size_t n = strlen(texts[i]);
        for (size_t k = 0; k <= n; k++) {
            errinfo e;
            json_t *v = jt_parse(texts[i], k, 8, &e);
            if (k < n && i != 3)
                ck_assert_msg(v == NULL, "%zu bytes of %s", k, texts[i]);
            ck_assert_msg(k < n || v != NULL, "%s: %s", texts[i], e.msg);
            json_decref(v);
        }
    }
    /* a parse that stops at n even though the memory goes on */
    errinfo e;
    json_t *v = jparse("[1,2]garbage", 5, 8, &e);
    ck_assert_uint_eq(json_array_size(v), 2);
    json_decref(v);
}
END_TEST

static long jt_budget = -1; /* Jansson allocations left before one fails; -1: no limit */
static long jt_live;

static void *jt_malloc(size_t n)
{
    if (jt_budget == 0)
        return NULL;
    if (jt_budget > 0)
        jt_budget--;
    void *p = malloc(n);
    if (p)
        jt_live++;
    return p;
}

static void jt_free(void *p)
{
    if (p)
        jt_live--;
    free(p);
}

START_TEST(allocation_failures_free_everything)
{
    size_t n;
    char *data = jt_read("valid", "dynamodb-getrecords.json", &n);
    json_set_alloc_funcs(jt_malloc, jt_free);
    long budget;
    for (budget = 0;; budget++) {
        errinfo e;
        jt_budget = budget;
        jt_live = 0;
        json_t *v = jparse(data, n, 64, &e);
        if (v) {
            json_decref(v);
            ck_assert_int_eq(jt_live, 0);
            break;
        }
        ck_assert_int_eq(e.code, ERR_NOMEM);
        ck_assert_int_ge(jt_offset(&e), 0);
        ck_assert_msg(jt_live == 0, "budget %ld: %ld blocks left", budget, jt_live);
    }
    json_set_alloc_funcs(malloc, free);
    ck_assert_int_gt(budget, 100); /* every allocation of a real response was made to fail */
    free(data);
}
END_TEST

/* ---- differential run against Jansson ----------------------------------------------------- */

typedef struct jt_rng {
    uint64_t s;
} jt_rng;

static uint64_t jt_next(jt_rng *r)
{
    r->s ^= r->s << 13;
    r->s ^= r->s >> 7;
    r->s ^= r->s << 17;
    return r->s;
}

static unsigned jt_below(jt_rng *r, unsigned n)
{
    return (unsigned)(jt_next(r) % n);
}

static void jt_gen_ws(jt_rng *r, buf *b)
{
    static const char ws[] = " \t\n\r";
    if (jt_below(r, 3) == 0)
        for (unsigned i = jt_below(r, 3); i > 0; i--)
            buf_putc(b, ws[jt_below(r, 4)]);
}

static void jt_gen_utf8(buf *b, unsigned cp)
{
    if (cp < 0x80) {
        buf_putc(b, (char)cp);
    } else if (cp < 0x800) {
        buf_putc(b, (char)(0xc0 | cp >> 6));
        buf_putc(b, (char)(0x80 | (cp & 0x3f)));
    } else if (cp < 0x10000) {
        buf_putc(b, (char)(0xe0 | cp >> 12));
        buf_putc(b, (char)(0x80 | (cp >> 6 & 0x3f)));
        buf_putc(b, (char)(0x80 | (cp & 0x3f)));
    } else {
        buf_putc(b, (char)(0xf0 | cp >> 18));
        buf_putc(b, (char)(0x80 | (cp >> 12 & 0x3f)));
        buf_putc(b, (char)(0x80 | (cp >> 6 & 0x3f)));
        buf_putc(b, (char)(0x80 | (cp & 0x3f)));
    }
}

static void jt_gen_string(jt_rng *r, buf *b, int key)
{
    static const char *words[] = { "pk", "sk", "S", "N", "message", "a", "b", "Items" };
    buf_putc(b, '"');
    if (key && jt_below(r, 2)) { /* a small pool, so duplicate keys happen */
        buf_append_str(b, words[jt_below(r, 8)]);
        buf_putc(b, '"');
        return;
    }
    for (unsigned parts = jt_below(r, 6); parts > 0; parts--) {
        unsigned cp;
        switch (jt_below(r, 8)) {
        case 0:
            buf_putc(b, '\\');
            buf_putc(b, "\"\\/bfnrt"[jt_below(r, 8)]);
            break;
        case 1:
            if (jt_below(r, 16) == 0) /* \u0000 or a lone surrogate, now and then */
                cp = jt_below(r, 2) ? 0 : 0xd800 + jt_below(r, 0x800);
            else
                do
                    cp = 1 + jt_below(r, 0xffff);
                while (cp >= 0xd800 && cp <= 0xdfff);
            buf_printf(b, jt_below(r, 2) ? "\\u%04x" : "\\u%04X", cp);
            break;
        case 2:
            cp = jt_below(r, 0x100000);
            buf_printf(b, "\\u%04X\\u%04x", 0xd800 + (cp >> 10), 0xdc00 + (cp & 0x3ff));
            break;
        case 3: {
            static const unsigned ranges[][2] = {
                { 0x80, 0x7ff }, { 0x800, 0xd7ff }, { 0xe000, 0xffff }, { 0x10000, 0x10ffff }
            };
            unsigned k = jt_below(r, 4);
            if (jt_below(r, 16) == 0) /* raw bytes, mostly not UTF-8, now and then */
                for (k = 1 + jt_below(r, 4); k > 0; k--)
                    buf_putc(b, (char)(0x80 + jt_below(r, 0x80)));
            else
                jt_gen_utf8(b, ranges[k][0] + jt_below(r, ranges[k][1] - ranges[k][0] + 1));
            break;
        }
        default: /* printable ASCII and DEL */
            for (unsigned i = jt_below(r, 12); i > 0; i--) {
                char c = (char)(0x20 + jt_below(r, 0x60));
                buf_putc(b, c == '"' || c == '\\' ? 'q' : c);
            }
            break;
        }
    }
    buf_putc(b, '"');
}

static void jt_gen_number(jt_rng *r, buf *b)
{
    static const char *edges[] = { "9223372036854775807",
                                   "-9223372036854775808",
                                   "9223372036854775808",
                                   "-9223372036854775809",
                                   "18446744073709551616",
                                   "-0",
                                   "0",
                                   "-0.0",
                                   "1e308",
                                   "1e309",
                                   "-1e400",
                                   "4.9e-324",
                                   "1e-400",
                                   "2.5E+3" };
    if (jt_below(r, 6) == 0) {
        buf_append_str(b, edges[jt_below(r, sizeof edges / sizeof *edges)]);
        return;
    }
    if (jt_below(r, 3) == 0)
        buf_putc(b, '-');
    unsigned digits = 1 + jt_below(r, jt_below(r, 10) == 0 ? 80 : 8);
    buf_putc(b, (char)('1' + jt_below(r, 9)));
    for (unsigned i = 1; i < digits; i++)
        buf_putc(b, (char)('0' + jt_below(r, 10)));
    if (jt_below(r, 3) == 0) {
        buf_putc(b, '.');
        for (unsigned i = 1 + jt_below(r, 6); i > 0; i--)
            buf_putc(b, (char)('0' + jt_below(r, 10)));
    }
    if (jt_below(r, 4) == 0) {
        static const char *signs[] = { "", "+", "-" };
        unsigned e = jt_below(r, 2) ? jt_below(r, 30) : jt_below(r, 400);
        buf_printf(b, "%c%s%u", jt_below(r, 2) ? 'e' : 'E', signs[jt_below(r, 3)], e);
    }
}

static void jt_gen_value(jt_rng *r, buf *b, int depth)
{
    unsigned kind = jt_below(r, depth >= 6 ? 6 : 8);
    jt_gen_ws(r, b);
    switch (kind) {
    case 0: jt_gen_string(r, b, 0); break;
    case 1:
    case 2: jt_gen_number(r, b); break;
    case 3: buf_append_str(b, "true"); break;
    case 4: buf_append_str(b, "false"); break;
    case 5: buf_append_str(b, "null"); break;
    case 6:
        buf_putc(b, '[');
        for (unsigned i = 0, n = jt_below(r, 5); i < n; i++) {
            if (i)
                buf_putc(b, ',');
            jt_gen_value(r, b, depth + 1);
        }
        jt_gen_ws(r, b);
        buf_putc(b, ']');
        break;
    default:
        buf_putc(b, '{');
        for (unsigned i = 0, n = jt_below(r, 5); i < n; i++) {
            if (i)
                buf_putc(b, ',');
            jt_gen_ws(r, b);
            jt_gen_string(r, b, 1);
            jt_gen_ws(r, b);
            buf_putc(b, ':');
            jt_gen_value(r, b, depth + 1);
        }
        jt_gen_ws(r, b);
        buf_putc(b, '}');
        break;
    }
    jt_gen_ws(r, b);
}

/* One random damage to d[0..*n) (capacity cap): flip, truncate, insert or delete. */
static void jt_mutate(jt_rng *r, unsigned char *d, size_t *n, size_t cap)
{
    static const unsigned char special[] = { '"',  '\\', '{',  '}',  '[',  ']',  ',',  ':',
                                             0x00, 0x1f, 0x7f, 0x80, 0xbf, 0xc0, 0xc3, 0xe0,
                                             0xed, 0xf0, 0xf4, 0xf5, 0xff, 'u',  'e',  '.',
                                             '-',  '0',  '+',  ' ',  'D',  '8' };
    size_t at = *n ? jt_below(r, (unsigned)*n) : 0;
    switch (jt_below(r, 5)) {
    case 0:
        if (*n)
            d[at] ^= (unsigned char)(1u << jt_below(r, 8));
        break;
    case 1:
        if (*n)
            d[at] = special[jt_below(r, sizeof special)];
        break;
    case 2: *n = at; break;
    case 3:
        if (*n < cap) {
            memmove(d + at + 1, d + at, *n - at);
            d[at] = special[jt_below(r, sizeof special)];
            (*n)++;
        }
        break;
    default:
        if (*n) {
            memmove(d + at, d + at + 1, *n - at - 1);
            (*n)--;
        }
        break;
    }
}

START_TEST(differential_against_jansson)
{
    jt_rng r = { 0x9e3779b97f4a7c15u };
    buf b;
    buf_init(&b, 1 << 20);
    unsigned char mut[1 << 16];
    int accepted = 0, rejected = 0, docs_ok = 0;
    jt_diffs d = { 0, 0 };
    for (int i = 0; i < JT_DIFF_DOCS; i++) {
        buf_reset(&b);
        jt_gen_value(&r, &b, 0);
        ck_assert(!b.failed);
        docs_ok += jt_agree((const unsigned char *)b.data, b.len, &d);
        for (int m = 0; m < 3 && b.len < sizeof mut - 8; m++) {
            size_t n = b.len;
            memcpy(mut, b.data, n);
            for (unsigned k = 1 + (jt_below(&r, 4) == 0); k > 0; k--)
                jt_mutate(&r, mut, &n, sizeof mut);
            if (jt_agree(mut, n, &d))
                accepted++;
            else
                rejected++;
        }
    }
    buf_cleanup(&b);
    fprintf(stderr,
            "check_jparse: %d documents (%d valid), %d mutants (%d accepted, %d rejected); "
            "only jparse accepts %d (big integers), only Jansson %d (NUL after a token)\n",
            JT_DIFF_DOCS, docs_ok, accepted + rejected, accepted, rejected, d.bigint, d.nul);
    /* the generator must give both outcomes plenty of work */
    ck_assert_int_gt(docs_ok, JT_DIFF_DOCS / 2);
    ck_assert_int_gt(accepted, JT_DIFF_DOCS / 4);
    ck_assert_int_gt(rejected, JT_DIFF_DOCS);
}
END_TEST

static Suite *jparse_suite(void)
{
    Suite *s = suite_create("jparse");
    TCase *tc = tcase_create("data-files");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, valid_files_parse_like_jansson);
    tcase_add_test(tc, invalid_files_are_rejected_with_an_offset);
    suite_add_tcase(s, tc);
    tc = tcase_create("values");
    tcase_add_test(tc, integers_reals_and_the_int64_edges);
    tcase_add_test(tc, strings_decode_every_escape);
    tcase_add_test(tc, duplicate_keys_keep_the_last);
    tcase_add_test(tc, locale_does_not_change_numbers);
    suite_add_tcase(s, tc);
    tc = tcase_create("structure-and-errors");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, depth_limit_is_exact);
    tcase_add_test(tc, errors_carry_the_offset);
    tcase_add_test(tc, input_is_not_read_past_n);
    tcase_add_test(tc, allocation_failures_free_everything);
    suite_add_tcase(s, tc);
    tc = tcase_create("differential");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, differential_against_jansson);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tap_run(jparse_suite());
}
