/* check_ddb_av.c — DynamoDB AttributeValue marshalling: wire round trips, validation of
 * values from outside, item accessors and the boto3-style plain JSON conversion. */
#include "config.h"

#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aws/awsjson.h"
#include "aws/ddb_av.h"
#include "base/jparse.h"
#include "base/buf.h"
#include "base/errinfo.h"
#include "tap.h"

/* The design's message item as DynamoDB returns it. */
static const char message_item[] =
    "{\"pk\":{\"S\":\"MSG#5ae290ed-55d1-47a0-bc6d-fe2bc2700399\"},"
    "\"sk\":{\"S\":\"2026-11-21T09:30:00.123456+00:00\"},"
    "\"message_uuid\":{\"S\":\"9f4b6a2e-1c3d-4e5f-8a7b-0c1d2e3f4a5b\"},"
    "\"message\":{\"S\":\"Hello — see you at 10? \xf0\x9f\x91\x8b\"},"
    "\"user_uuid\":{\"S\":\"ee6a4b4e-8e43-4a45-9f3c-0a2b0f1f1e55\"},"
    "\"user_display_name\":{\"S\":\"Andrew Brown\"},"
    "\"user_handle\":{\"S\":\"andrewbrown\"}}";

static json_t *load(const char *text)
{
    json_error_t jerr;
    json_t *v = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    ck_assert_msg(v != NULL, "bad test JSON %s: %s", text, jerr.text);
    return v;
}

/* Takes av (a constructor's result), sends it through wire text and back, checks that the
 * parsed value validates and equals the original; returns the parsed value. */
static json_t *wire_round_trip(json_t *av)
{
    ck_assert_ptr_nonnull(av);
    char *text = json_dumps(av, JSON_COMPACT);
    ck_assert_ptr_nonnull(text);
    json_t *back = load(text);
    errinfo e;
    errinfo_clear(&e);
    ck_assert_msg(ddb_av_validate(back, &e) == 0, "%s: %s", text, e.msg);
    ck_assert_msg(json_equal(av, back), "changed on the wire: %s", text);
    ck_assert_int_eq(ddb_av_type_of(back), ddb_av_type_of(av));
    free(text);
    json_decref(av);
    return back;
}

/* {"x": av}, stealing av, so the item accessors can read it. */
static json_t *item_of(json_t *av)
{
    json_t *item = json_object();
    ck_assert_int_eq(json_object_set_new(item, "x", av), 0);
    return item;
}

/* The string under the type key of av. */
static const char *text_of(const json_t *av, const char *key)
{
    return json_string_value(json_object_get(av, key));
}

/* ---- round trips ------------------------------------------------------------------------ */

START_TEST(rt_s)
{
    static const char *const cases[] = {
        "hello",
        "",
        "h\xc3\xa9llo \xe2\x9c\x93 \xf0\x9d\x84\x9e",
        "quote \" and \\ and \n",
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *item = item_of(wire_round_trip(ddb_av_s(cases[i])));
        ck_assert_int_eq(ddb_av_type_of(json_object_get(item, "x")), DDB_AV_S);
        ck_assert_str_eq(ddb_av_get_s(item, "x"), cases[i]);
        json_decref(item);
    }
    /* a length-delimited string with an embedded NUL stays whole */
    json_t *av = wire_round_trip(ddb_av_s_len("a\0b", 3));
    ck_assert_uint_eq(json_string_length(json_object_get(av, "S")), 3);
    ck_assert_int_eq(memcmp(text_of(av, "S"), "a\0b", 3), 0);
    json_decref(av);
}
END_TEST

START_TEST(rt_n)
{
    static const int64_t ints[] = { 0, 1, -1, 42, INT64_MAX, INT64_MIN, 1000000000000LL };
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        json_t *item = item_of(wire_round_trip(ddb_av_n_i64(ints[i])));
        int64_t got = 12345;
        ck_assert_int_eq(ddb_av_get_i64(item, "x", &got), 0);
        ck_assert_int_eq(got, ints[i]);
        json_decref(item);
    }
    json_t *av = wire_round_trip(ddb_av_n_i64(INT64_MIN));
    ck_assert_str_eq(text_of(av, "N"), "-9223372036854775808");
    json_decref(av);
    av = wire_round_trip(ddb_av_n_i64(INT64_MAX));
    ck_assert_str_eq(text_of(av, "N"), "9223372036854775807");
    json_decref(av);

    static const char *const texts[] = {
        "12.5",
        "-0.001",
        "1E+125",
        "-3.25e-7",
        "007",
        "+5",
        ".5",
        "5.",
        "0",
        "-0",
        "12345678901234567890123456789012345678",
        "9.9999999999999999999999999999999999999E+125",
        "-9.9999999999999999999999999999999999999E+125",
        "1E-130",
        "-1e-130",
        "0.0000000000000000000000000000000000000000001",
        "100000000000000000000000000000000000000000000000000", /* 1 significant digit */
        "0e999999999999999999999",                             /* zero: any exponent */
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        json_t *n = ddb_av_n_str(texts[i]);
        ck_assert_msg(n != NULL, "rejected valid number %s", texts[i]);
        av = wire_round_trip(n);
        ck_assert_int_eq(ddb_av_type_of(av), DDB_AV_N);
        ck_assert_str_eq(text_of(av, "N"), texts[i]);
        json_decref(av);
    }
}
END_TEST

START_TEST(rt_b)
{
    unsigned char all[256];
    for (int i = 0; i < 256; i++)
        all[i] = (unsigned char)i;
    /* every length mod 3, so every padding, plus the empty blob */
    static const size_t lens[] = { 256, 0, 1, 2, 3, 4, 5 };
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        json_t *item = item_of(wire_round_trip(ddb_av_b(all, lens[i])));
        buf b;
        buf_init(&b, 0);
        ck_assert_int_eq(buf_append_str(&b, "pre"), 0);
        ck_assert_int_eq(ddb_av_get_b(item, "x", &b), 0);
        ck_assert_uint_eq(b.len, 3 + lens[i]);
        ck_assert_int_eq(memcmp(b.data, "pre", 3), 0);
        if (lens[i])
            ck_assert_int_eq(memcmp(b.data + 3, all, lens[i]), 0);
        ck_assert_int_eq(b.data[b.len], '\0');
        buf_cleanup(&b);
        json_decref(item);
    }
    /* what boto3 sends for b"foo" and b"\x00\xff" */
    json_t *av = wire_round_trip(ddb_av_b("foo", 3));
    ck_assert_str_eq(text_of(av, "B"), "Zm9v");
    json_decref(av);
    av = wire_round_trip(ddb_av_b("\x00\xff", 2));
    ck_assert_str_eq(text_of(av, "B"), "AP8=");
    json_decref(av);
    av = wire_round_trip(ddb_av_b(NULL, 0));
    ck_assert_str_eq(text_of(av, "B"), "");
    json_decref(av);
}
END_TEST

START_TEST(rt_bool_null)
{
    for (int v = 0; v <= 1; v++) {
        json_t *item = item_of(wire_round_trip(ddb_av_bool(v)));
        bool got = !v;
        ck_assert_int_eq(ddb_av_type_of(json_object_get(item, "x")), DDB_AV_BOOL);
        ck_assert_int_eq(ddb_av_get_bool(item, "x", &got), 0);
        ck_assert_int_eq(got, v);
        json_decref(item);
    }
    json_t *av = wire_round_trip(ddb_av_null());
    ck_assert_int_eq(ddb_av_type_of(av), DDB_AV_NULL);
    ck_assert(json_is_true(json_object_get(av, "NULL")));
    json_decref(av);
}
END_TEST

START_TEST(rt_nested_l_m)
{
    /* M{ "a": L[ M{ "b": L[ S "deep", N 7, NULL ] }, BOOL true ], "e": M{} } */
    json_t *inner = json_object();
    json_object_set_new(
        inner, "b",
        ddb_av_l_new(json_pack("[o,o,o]", ddb_av_s("deep"), ddb_av_n_i64(7), ddb_av_null())));
    json_t *list = json_array();
    json_array_append_new(list, ddb_av_m_new(inner));
    json_array_append_new(list, ddb_av_bool(true));
    json_t *outer = json_object();
    json_object_set_new(outer, "a", ddb_av_l_new(list));
    json_object_set_new(outer, "e", ddb_av_m_new(json_object()));
    json_t *av = wire_round_trip(ddb_av_m_new(outer));

    ck_assert_int_eq(ddb_av_type_of(av), DDB_AV_M);
    json_t *m = json_object_get(av, "M");
    json_t *l = json_object_get(json_object_get(m, "a"), "L");
    ck_assert_uint_eq(json_array_size(l), 2);
    ck_assert_int_eq(ddb_av_type_of(json_array_get(l, 0)), DDB_AV_M);
    ck_assert_int_eq(ddb_av_type_of(json_array_get(l, 1)), DDB_AV_BOOL);
    json_t *deep = json_object_get(json_object_get(json_array_get(l, 0), "M"), "b");
    ck_assert_int_eq(ddb_av_type_of(deep), DDB_AV_L);
    json_t *dl = json_object_get(deep, "L");
    ck_assert_str_eq(text_of(json_array_get(dl, 0), "S"), "deep");
    ck_assert_str_eq(text_of(json_array_get(dl, 1), "N"), "7");
    ck_assert_int_eq(ddb_av_type_of(json_array_get(dl, 2)), DDB_AV_NULL);
    ck_assert_int_eq(ddb_av_type_of(json_object_get(m, "e")), DDB_AV_M);
    json_decref(av);
}
END_TEST

START_TEST(rt_sets)
{
    static const char *const ss[] = { "a", "b", "\xc3\xbc", "" };
    json_t *av = wire_round_trip(ddb_av_ss(ss, 4));
    ck_assert_int_eq(ddb_av_type_of(av), DDB_AV_SS);
    json_t *arr = json_object_get(av, "SS");
    ck_assert_uint_eq(json_array_size(arr), 4);
    for (size_t i = 0; i < 4; i++)
        ck_assert_str_eq(json_string_value(json_array_get(arr, i)), ss[i]);
    json_decref(av);

    static const char *const ns[] = { "-5", "0.25", "1e10", "-3.5E-7", "1E+125" };
    av = wire_round_trip(ddb_av_ns_str(ns, 5));
    ck_assert_int_eq(ddb_av_type_of(av), DDB_AV_NS);
    arr = json_object_get(av, "NS");
    for (size_t i = 0; i < 5; i++)
        ck_assert_str_eq(json_string_value(json_array_get(arr, i)), ns[i]);
    json_decref(av);

    static const int64_t ni[] = { INT64_MIN, -1, 0, INT64_MAX };
    av = wire_round_trip(ddb_av_ns_i64(ni, 4));
    arr = json_object_get(av, "NS");
    ck_assert_str_eq(json_string_value(json_array_get(arr, 0)), "-9223372036854775808");
    ck_assert_str_eq(json_string_value(json_array_get(arr, 3)), "9223372036854775807");
    json_decref(av);

    static const unsigned char b0[] = { 0x00 }, b1[] = { 0xff, 0xfe, 0xfd };
    const void *bp[] = { b0, b1, NULL };
    const size_t bl[] = { 1, 3, 0 };
    av = wire_round_trip(ddb_av_bs(bp, bl, 3));
    ck_assert_int_eq(ddb_av_type_of(av), DDB_AV_BS);
    arr = json_object_get(av, "BS");
    ck_assert_str_eq(json_string_value(json_array_get(arr, 0)), "AA==");
    ck_assert_str_eq(json_string_value(json_array_get(arr, 1)), "//79");
    ck_assert_str_eq(json_string_value(json_array_get(arr, 2)), "");
    /* read each element back as bytes through the B accessor */
    for (size_t i = 0; i < 3; i++) {
        json_t *item = item_of(json_pack("{s:O}", "B", json_array_get(arr, i)));
        buf b;
        buf_init(&b, 0);
        ck_assert_int_eq(ddb_av_get_b(item, "x", &b), 0);
        ck_assert_uint_eq(b.len, bl[i]);
        if (bl[i])
            ck_assert_int_eq(memcmp(b.data, bp[i], bl[i]), 0);
        buf_cleanup(&b);
        json_decref(item);
    }
    json_decref(av);
}
END_TEST

START_TEST(constructors_refuse_bad_input)
{
    static const char *const dup[] = { "a", "b", "a" };
    static const char *const with_null[] = { "a", NULL };
    static const char *const ns_dup[] = { "1", "1.0" };
    static const char *const ns_bad[] = { "1", "1e" };
    static const int64_t ni_dup[] = { 3, 3 };
    const void *bp[] = { "x", "x" };
    const size_t bl[] = { 1, 1 };

    ck_assert_ptr_null(ddb_av_s(NULL));
    ck_assert_ptr_null(ddb_av_s("\xff"));
    ck_assert_ptr_null(ddb_av_s_len("\xc0\x80", 2)); /* overlong NUL */
    ck_assert_ptr_null(ddb_av_n_str(NULL));
    ck_assert_ptr_null(ddb_av_n_str("1e"));
    ck_assert_ptr_null(ddb_av_n_str("1E126"));
    ck_assert_ptr_null(ddb_av_b(NULL, 3));
    ck_assert_ptr_null(ddb_av_ss(dup, 0));
    ck_assert_ptr_null(ddb_av_ss(dup, 3));
    ck_assert_ptr_null(ddb_av_ss(with_null, 2));
    ck_assert_ptr_null(ddb_av_ns_str(ns_dup, 2));
    ck_assert_ptr_null(ddb_av_ns_str(ns_bad, 2));
    ck_assert_ptr_null(ddb_av_ns_i64(ni_dup, 2));
    ck_assert_ptr_null(ddb_av_ns_i64(ni_dup, 0));
    ck_assert_ptr_null(ddb_av_bs(bp, bl, 2));
    ck_assert_ptr_null(ddb_av_bs(bp, bl, 0));
    /* l_new / m_new steal their argument even when they refuse it (checked by valgrind) */
    ck_assert_ptr_null(ddb_av_l_new(NULL));
    ck_assert_ptr_null(ddb_av_l_new(json_object()));
    ck_assert_ptr_null(ddb_av_l_new(json_pack("[s]", "not an AV")));
    ck_assert_ptr_null(ddb_av_m_new(json_array()));
    ck_assert_ptr_null(ddb_av_m_new(json_pack("{s:i}", "k", 1)));
}
END_TEST

START_TEST(type_of_and_names)
{
    static const struct {
        const char *wire;
        ddb_av_type t;
    } cases[] = {
        { "{\"S\":\"x\"}", DDB_AV_S },
        { "{\"N\":\"1\"}", DDB_AV_N },
        { "{\"B\":\"\"}", DDB_AV_B },
        { "{\"BOOL\":false}", DDB_AV_BOOL },
        { "{\"NULL\":true}", DDB_AV_NULL },
        { "{\"L\":[]}", DDB_AV_L },
        { "{\"M\":{}}", DDB_AV_M },
        { "{\"SS\":[\"a\"]}", DDB_AV_SS },
        { "{\"NS\":[\"1\"]}", DDB_AV_NS },
        { "{\"BS\":[\"AA==\"]}", DDB_AV_BS },
        { "{\"NULL\":false}", DDB_AV_INVALID },
        { "{\"N\":1}", DDB_AV_INVALID },
        { "{\"S\":\"x\",\"N\":\"1\"}", DDB_AV_INVALID },
        { "{}", DDB_AV_INVALID },
        { "{\"s\":\"x\"}", DDB_AV_INVALID },
        { "\"x\"", DDB_AV_INVALID },
        { "{\"L\":{}}", DDB_AV_INVALID },
        { "{\"BOOL\":null}", DDB_AV_INVALID },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *v = load(cases[i].wire);
        ck_assert_msg(ddb_av_type_of(v) == cases[i].t, "type of %s", cases[i].wire);
        json_decref(v);
    }
    ck_assert_int_eq(ddb_av_type_of(NULL), DDB_AV_INVALID);
    ck_assert_str_eq(ddb_av_type_name(DDB_AV_BOOL), "BOOL");
    ck_assert_str_eq(ddb_av_type_name(DDB_AV_BS), "BS");
    ck_assert_str_eq(ddb_av_type_name(DDB_AV_INVALID), "?");
    ck_assert_str_eq(ddb_av_type_name((ddb_av_type)99), "?");
}
END_TEST

/* ---- validation of values from outside -------------------------------------------------- */

/* Each wire text is an item; validation must fail with a message that starts with the path
 * and contains the reason. */
static const struct {
    const char *wire;
    const char *path;
    const char *reason;
} invalid_items[] = {
    { "{\"a\":{\"S\":\"x\",\"N\":\"1\"}}", "attribute \"a\": ", "2 type keys" },
    { "{\"a\":{\"X\":\"1\"}}", "attribute \"a\": ", "unknown type key \"X\"" },
    { "{\"a\":{\"s\":\"1\"}}", "attribute \"a\": ", "unknown type key \"s\"" },
    { "{\"a\":{}}", "attribute \"a\": ", "no type key" },
    { "{\"a\":\"x\"}", "attribute \"a\": ", "not an AttributeValue object" },
    { "{\"a\":[{\"S\":\"x\"}]}", "attribute \"a\": ", "not an AttributeValue object" },
    { "{\"a\":null}", "attribute \"a\": ", "not an AttributeValue object" },
    { "{\"a\":{\"N\":5}}", "attribute \"a\": ", "N value must be a string" },
    { "{\"a\":{\"S\":1}}", "attribute \"a\": ", "S value must be a string" },
    { "{\"a\":{\"B\":null}}", "attribute \"a\": ", "B value must be a string" },
    { "{\"a\":{\"BOOL\":\"true\"}}", "attribute \"a\": ", "BOOL value must be true or false" },
    { "{\"a\":{\"NULL\":false}}", "attribute \"a\": ", "NULL must be true" },
    { "{\"a\":{\"NULL\":1}}", "attribute \"a\": ", "NULL value must be true" },
    { "{\"a\":{\"L\":{}}}", "attribute \"a\": ", "L value must be an array" },
    { "{\"a\":{\"M\":[]}}", "attribute \"a\": ", "M value must be an object" },
    { "{\"a\":{\"SS\":\"a\"}}", "attribute \"a\": ", "SS value must be an array" },
    /* numbers */
    { "{\"a\":{\"N\":\"\"}}", "attribute \"a\": ", "N \"\" is not a number" },
    { "{\"a\":{\"N\":\"+\"}}", "attribute \"a\": ", "N \"+\" is not a number" },
    { "{\"a\":{\"N\":\"-\"}}", "attribute \"a\": ", "is not a number" },
    { "{\"a\":{\"N\":\".\"}}", "attribute \"a\": ", "N \".\" is not a number" },
    { "{\"a\":{\"N\":\"1e\"}}", "attribute \"a\": ", "N \"1e\" is not a number" },
    { "{\"a\":{\"N\":\"1e+\"}}", "attribute \"a\": ", "is not a number" },
    { "{\"a\":{\"N\":\"e5\"}}", "attribute \"a\": ", "is not a number" },
    { "{\"a\":{\"N\":\"NaN\"}}", "attribute \"a\": ", "N \"NaN\" is not a number" },
    { "{\"a\":{\"N\":\"Infinity\"}}", "attribute \"a\": ", "is not a number" },
    { "{\"a\":{\"N\":\"-Infinity\"}}", "attribute \"a\": ", "is not a number" },
    { "{\"a\":{\"N\":\"inf\"}}", "attribute \"a\": ", "is not a number" },
    { "{\"a\":{\"N\":\"0x10\"}}", "attribute \"a\": ", "N \"0x10\" is not a number" },
    { "{\"a\":{\"N\":\"1.2.3\"}}", "attribute \"a\": ", "is not a number" },
    { "{\"a\":{\"N\":\"1e5.5\"}}", "attribute \"a\": ", "is not a number" },
    { "{\"a\":{\"N\":\"--1\"}}", "attribute \"a\": ", "is not a number" },
    { "{\"a\":{\"N\":\" 1\"}}", "attribute \"a\": ", "is not a number" },
    { "{\"a\":{\"N\":\"1 \"}}", "attribute \"a\": ", "is not a number" },
    { "{\"a\":{\"N\":\"1,5\"}}", "attribute \"a\": ", "is not a number" },
    { "{\"a\":{\"N\":\"1\\u0000\"}}", "attribute \"a\": ", "is not a number" },
    { "{\"a\":{\"N\":\"123456789012345678901234567890123456789\"}}",
      "attribute \"a\": ", "has more than 38 significant digits" },
    { "{\"a\":{\"N\":\"1.00000000000000000000000000000000000001\"}}",
      "attribute \"a\": ", "has more than 38 significant digits" },
    { "{\"a\":{\"N\":\"1E126\"}}", "attribute \"a\": ", "is out of range" },
    { "{\"a\":{\"N\":\"-10E125\"}}", "attribute \"a\": ", "is out of range" },
    { "{\"a\":{\"N\":\"1E-131\"}}", "attribute \"a\": ", "is out of range" },
    { "{\"a\":{\"N\":\"0.1E-130\"}}", "attribute \"a\": ", "is out of range" },
    { "{\"a\":{\"N\":\"1e99999999999999999999\"}}", "attribute \"a\": ", "is out of range" },
    /* base64 */
    { "{\"a\":{\"B\":\"abc\"}}", "attribute \"a\": ", "B \"abc\" is not valid base64" },
    { "{\"a\":{\"B\":\"Zm9vYg\"}}", "attribute \"a\": ", "is not valid base64" },
    { "{\"a\":{\"B\":\"ab=c\"}}", "attribute \"a\": ", "is not valid base64" },
    { "{\"a\":{\"B\":\"a===\"}}", "attribute \"a\": ", "is not valid base64" },
    { "{\"a\":{\"B\":\"====\"}}", "attribute \"a\": ", "is not valid base64" },
    { "{\"a\":{\"B\":\"Zg==Zg==\"}}", "attribute \"a\": ", "is not valid base64" },
    { "{\"a\":{\"B\":\"Zm9v!A==\"}}", "attribute \"a\": ", "is not valid base64" },
    { "{\"a\":{\"B\":\"Zm 9v\"}}", "attribute \"a\": ", "is not valid base64" },
    { "{\"a\":{\"B\":\"Zm9v\\n\"}}", "attribute \"a\": ", "is not valid base64" },
    { "{\"a\":{\"B\":\"Zm-_\"}}", "attribute \"a\": ", "is not valid base64" },
    { "{\"a\":{\"B\":\"QR==\"}}", "attribute \"a\": ", "is not valid base64" },
    { "{\"a\":{\"B\":\"QUF=\"}}", "attribute \"a\": ", "is not valid base64" },
    /* sets */
    { "{\"a\":{\"SS\":[]}}", "attribute \"a\": ", "SS must not be empty" },
    { "{\"a\":{\"NS\":[]}}", "attribute \"a\": ", "NS must not be empty" },
    { "{\"a\":{\"BS\":[]}}", "attribute \"a\": ", "BS must not be empty" },
    { "{\"tags\":{\"SS\":[\"a\",\"b\",\"a\"]}}",
      "attribute \"tags\".SS[2]: ", "\"a\" duplicates element [0]" },
    { "{\"a\":{\"NS\":[\"1\",\"2\",\"1.0\"]}}",
      "attribute \"a\".NS[2]: ", "\"1.0\" duplicates element [0]" },
    { "{\"a\":{\"NS\":[\"-0\",\"0e5\"]}}", "attribute \"a\".NS[1]: ", "duplicates element [0]" },
    { "{\"a\":{\"NS\":[\"100\",\"1e2\"]}}", "attribute \"a\".NS[1]: ", "duplicates element [0]" },
    { "{\"a\":{\"BS\":[\"Zm9v\",\"AA==\",\"Zm9v\"]}}",
      "attribute \"a\".BS[2]: ", "duplicates element [0]" },
    { "{\"a\":{\"SS\":[\"a\",1]}}", "attribute \"a\".SS[1]: ", "SS element is not a string" },
    { "{\"a\":{\"NS\":[\"1\",\"x\"]}}", "attribute \"a\".NS[1]: ", "\"x\" is not a number" },
    { "{\"a\":{\"BS\":[\"A\"]}}", "attribute \"a\".BS[0]: ", "\"A\" is not valid base64" },
    /* paths into nested values */
    { "{\"msg\":{\"L\":[{\"S\":\"a\"},{\"S\":\"b\"},{\"S\":\"c\"},{\"N\":\"1e\"}]}}",
      "attribute \"msg\".L[3]: ", "N \"1e\" is not a number" },
    { "{\"m\":{\"M\":{\"k\":{\"BOOL\":\"yes\"}}}}",
      "attribute \"m\".M.\"k\": ", "BOOL value must be true or false" },
    { "{\"m\":{\"M\":{\"x\":{\"L\":[{\"NULL\":true},{\"M\":{\"q\\\"\":{\"NULL\":false}}}]}}}}",
      "attribute \"m\".M.\"x\".L[1].M.\"q\\\"\": ", "NULL must be true" },
    { "{\"ok\":{\"S\":\"x\"},\"bad\":{\"SS\":[\"x\",\"x\"]}}",
      "attribute \"bad\".SS[1]: ", "duplicates" },
    /* names */
    { "{\"\":{\"S\":\"x\"}}", "attribute \"\": ", "attribute name is empty" },
    { "[]", "item: ", "not a JSON object" },
};

START_TEST(invalid_item_cases)
{
    const char *wire = invalid_items[_i].wire;
    json_t *item = load(wire);
    errinfo e;
    errinfo_clear(&e);
    ck_assert_msg(ddb_av_validate_item(item, &e) == -1, "accepted %s", wire);
    ck_assert_int_eq(e.code, ERR_INVALID);
    ck_assert_msg(strncmp(e.msg, invalid_items[_i].path, strlen(invalid_items[_i].path)) == 0,
                  "%s: message '%s' does not start with '%s'", wire, e.msg, invalid_items[_i].path);
    ck_assert_msg(strstr(e.msg, invalid_items[_i].reason) != NULL,
                  "%s: message '%s' does not say '%s'", wire, e.msg, invalid_items[_i].reason);
    /* the plain conversion refuses the same input */
    ck_assert_ptr_null(ddb_av_item_to_plain(item));
    json_decref(item);
}
END_TEST

START_TEST(invalid_exact_message)
{
    json_t *item = load("{\"msg\":{\"L\":[{\"S\":\"a\"},{\"S\":\"b\"},{\"S\":\"c\"},"
                        "{\"N\":\"1e\"}]}}");
    errinfo e;
    ck_assert_int_eq(ddb_av_validate_item(item, &e), -1);
    ck_assert_str_eq(e.msg, "attribute \"msg\".L[3]: N \"1e\" is not a number");
    json_decref(item);

    /* a lone AV is "value"; a long bad value is shortened, control bytes escaped */
    json_t *av = load("{\"L\":[{\"N\":\"1\\u0001"
                      "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}]}");
    ck_assert_int_eq(ddb_av_validate(av, &e), -1);
    ck_assert_msg(strncmp(e.msg, "value.L[0]: N \"1\\x01xxx", 23) == 0, "%s", e.msg);
    ck_assert_msg(strstr(e.msg, "xxx\"... is not a number") != NULL, "%s", e.msg);
    json_decref(av);
    av = load("5");
    ck_assert_int_eq(ddb_av_validate(av, &e), -1);
    ck_assert_str_eq(e.msg, "value: not an AttributeValue object");
    json_decref(av);
    ck_assert_int_eq(ddb_av_validate(NULL, NULL), -1);
}
END_TEST

/* n nested L values around a string: {"L":[{"L":[ ... {"S":"x"} ... ]}]} */
static json_t *nested_l(int n)
{
    buf b;
    buf_init(&b, 0);
    for (int i = 0; i < n; i++)
        buf_append_str(&b, "{\"L\":[");
    buf_append_str(&b, "{\"S\":\"x\"}");
    for (int i = 0; i < n; i++)
        buf_append_str(&b, "]}");
    ck_assert(!b.failed);
    json_t *v = load(buf_cstr(&b));
    buf_cleanup(&b);
    return v;
}

START_TEST(depth_limit)
{
    errinfo e;
    json_t *av = nested_l(32);
    ck_assert_msg(ddb_av_validate(av, &e) == 0, "%s", e.msg);
    json_t *plain = ddb_av_to_plain(av);
    ck_assert_ptr_nonnull(plain);
    json_t *again = ddb_av_from_plain(plain);
    ck_assert(json_equal(again, av));
    json_decref(again);
    json_decref(plain);
    json_decref(av);

    av = nested_l(33);
    ck_assert_int_eq(ddb_av_validate(av, &e), -1);
    ck_assert_int_eq(e.code, ERR_INVALID);
    ck_assert_msg(strncmp(e.msg, "value.L[0].L[0]", 15) == 0, "%s", e.msg);
    ck_assert_msg(strstr(e.msg, "nested deeper than 32 levels") != NULL, "%s", e.msg);
    ck_assert_ptr_null(ddb_av_to_plain(av));
    json_decref(av);

    /* as an attribute, and the same depth of plain JSON */
    json_t *item = item_of(nested_l(33));
    ck_assert_int_eq(ddb_av_validate_item(item, &e), -1);
    ck_assert_msg(strncmp(e.msg, "attribute \"x\".L[0]", 18) == 0, "%s", e.msg);
    json_decref(item);
    json_t *deep = json_string("x");
    for (int i = 0; i < 33; i++)
        deep = json_pack("[o]", deep);
    ck_assert_ptr_null(ddb_av_from_plain(deep));
    json_decref(deep);
}
END_TEST

/* ---- accessors on the design's message item -------------------------------------------- */

START_TEST(accessors_message_item)
{
    json_t *item = load(message_item);
    errinfo e;
    ck_assert_msg(ddb_av_validate_item(item, &e) == 0, "%s", e.msg);
    ck_assert_str_eq(ddb_av_get_s(item, "pk"), "MSG#5ae290ed-55d1-47a0-bc6d-fe2bc2700399");
    ck_assert_str_eq(ddb_av_get_s(item, "sk"), "2026-11-21T09:30:00.123456+00:00");
    ck_assert_str_eq(ddb_av_get_s(item, "user_handle"), "andrewbrown");
    ck_assert_str_eq(ddb_av_get_s(item, "message"), "Hello — see you at 10? \xf0\x9f\x91\x8b");
    ck_assert_ptr_null(ddb_av_get_s(item, "message_group_uuid")); /* sparse: absent */
    ck_assert_ptr_null(ddb_av_get_s(NULL, "pk"));
    ck_assert_ptr_null(ddb_av_get_s(item, NULL));

    /* S is not N, BOOL or B */
    int64_t n = 77;
    bool flag = true;
    buf b;
    buf_init(&b, 0);
    ck_assert_int_eq(ddb_av_get_i64(item, "pk", &n), -1);
    ck_assert_int_eq(ddb_av_get_bool(item, "pk", &flag), -1);
    ck_assert_int_eq(ddb_av_get_b(item, "pk", &b), -1);
    ck_assert_int_eq(n, 77);
    ck_assert(flag);
    ck_assert_uint_eq(b.len, 0);
    buf_cleanup(&b);
    json_decref(item);
}
END_TEST

START_TEST(accessors_numbers)
{
    static const struct {
        const char *n;
        int ok;
        int64_t v;
    } cases[] = {
        { "42", 0, 42 },
        { "-42", 0, -42 },
        { "0", 0, 0 },
        { "-0", 0, 0 },
        { "007", 0, 7 },
        { "+7", 0, 7 },
        { "7.0", 0, 7 },
        { "1e3", 0, 1000 },
        { "1.5E1", 0, 15 },
        { "12300e-2", 0, 123 },
        { "9223372036854775807", 0, INT64_MAX },
        { "-9223372036854775808", 0, INT64_MIN },
        { "9.223372036854775807E18", 0, INT64_MAX },
        { "9223372036854775808", -1, 0 },
        { "-9223372036854775809", -1, 0 },
        { "1e19", -1, 0 },
        { "1e125", -1, 0 },
        { "1.5", -1, 0 },
        { "1e-3", -1, 0 },
        { "1e", -1, 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *item = json_pack("{s:{s:s}}", "x", "N", cases[i].n);
        int64_t got = 12345;
        int rc = ddb_av_get_i64(item, "x", &got);
        ck_assert_msg(rc == cases[i].ok, "get_i64(%s) = %d", cases[i].n, rc);
        ck_assert_msg(got == (rc == 0 ? cases[i].v : 12345), "get_i64(%s) gave %lld", cases[i].n,
                      (long long)got);
        json_decref(item);
    }
    json_t *item = load("{\"s\":{\"S\":\"5\"},\"b\":{\"BOOL\":true}}");
    int64_t got = 1;
    ck_assert_int_eq(ddb_av_get_i64(item, "s", &got), -1);
    ck_assert_int_eq(ddb_av_get_i64(item, "missing", &got), -1);
    ck_assert_int_eq(ddb_av_get_i64(item, "b", &got), -1);
    ck_assert_int_eq(got, 1);
    json_decref(item);
}
END_TEST

START_TEST(accessors_binary)
{
    json_t *item = load("{\"ok\":{\"B\":\"Zm9vYmFy\"},\"bad\":{\"B\":\"Zm9v!\"},"
                        "\"empty\":{\"B\":\"\"}}");
    buf b;
    buf_init(&b, 8);
    ck_assert_int_eq(ddb_av_get_b(item, "ok", &b), 0);
    ck_assert_str_eq(buf_cstr(&b), "foobar");
    /* a bad value or one past the cap leaves the buffer as it was */
    ck_assert_int_eq(ddb_av_get_b(item, "bad", &b), -1);
    ck_assert_str_eq(buf_cstr(&b), "foobar");
    ck_assert(!b.failed);
    ck_assert_int_eq(ddb_av_get_b(item, "empty", &b), 0);
    ck_assert_uint_eq(b.len, 6);
    ck_assert_int_eq(ddb_av_get_b(item, "ok", &b), -1);
    ck_assert(b.failed);
    ck_assert_str_eq(buf_cstr(&b), "foobar");
    ck_assert_int_eq(ddb_av_get_b(item, "missing", &b), -1);
    buf_cleanup(&b);
    json_decref(item);
}
END_TEST

/* ---- plain JSON ------------------------------------------------------------------------- */

START_TEST(plain_round_trip_document)
{
    static const char doc[] =
        "{\"s\":\"x\",\"empty\":\"\",\"utf8\":\"gr\xc3\xbc\xc3\x9f \xf0\x9f\x91\x8b\","
        "\"i\":42,\"neg\":-7,\"zero\":0,"
        "\"max\":9223372036854775807,\"min\":-9223372036854775808,"
        "\"r\":12.5,\"r2\":-0.25,\"r3\":1e+20,\"r4\":3.0517578125e-05,"
        "\"t\":true,\"f\":false,\"n\":null,"
        "\"arr\":[1,\"two\",[3,{\"four\":4,\"five\":[null,false]}],[]],"
        "\"obj\":{\"k\":{\"kk\":{\"kkk\":\"deep\"}},\"e\":{}}}";
    json_t *plain = load(doc);
    json_t *item = ddb_av_item_from_plain(plain);
    ck_assert_ptr_nonnull(item);
    errinfo e;
    ck_assert_msg(ddb_av_validate_item(item, &e) == 0, "%s", e.msg);

    /* what the AVs look like on the wire */
    json_t *want = load("{\"S\":\"x\"}");
    ck_assert(json_equal(json_object_get(item, "s"), want));
    json_decref(want);
    ck_assert_str_eq(text_of(json_object_get(item, "i"), "N"), "42");
    ck_assert_str_eq(text_of(json_object_get(item, "min"), "N"), "-9223372036854775808");
    ck_assert_str_eq(text_of(json_object_get(item, "r"), "N"), "12.5");
    ck_assert_str_eq(text_of(json_object_get(item, "r3"), "N"), "1e+20");
    ck_assert_int_eq(ddb_av_type_of(json_object_get(item, "t")), DDB_AV_BOOL);
    ck_assert_int_eq(ddb_av_type_of(json_object_get(item, "n")), DDB_AV_NULL);
    ck_assert_int_eq(ddb_av_type_of(json_object_get(item, "arr")), DDB_AV_L);
    ck_assert_int_eq(ddb_av_type_of(json_object_get(item, "obj")), DDB_AV_M);

    /* through wire text and back to plain */
    char *text = json_dumps(item, JSON_COMPACT);
    json_t *wire = load(text);
    json_t *back = ddb_av_item_to_plain(wire);
    ck_assert_ptr_nonnull(back);
    char *got = json_dumps(back, JSON_COMPACT | JSON_SORT_KEYS);
    ck_assert_msg(json_equal(back, plain), "plain round trip changed the document: %s", got);
    free(got);
    free(text);
    json_decref(back);
    json_decref(wire);
    json_decref(item);

    /* one value at a time, too */
    json_t *arr = json_object_get(plain, "arr");
    json_t *av = ddb_av_from_plain(arr);
    json_t *p = ddb_av_to_plain(av);
    ck_assert(json_equal(p, arr));
    json_decref(p);
    json_decref(av);
    json_decref(plain);
}
END_TEST

START_TEST(plain_from_boto3_item)
{
    json_t *item = load(message_item);
    json_t *plain = ddb_av_item_to_plain(item);
    json_t *want = load("{\"pk\":\"MSG#5ae290ed-55d1-47a0-bc6d-fe2bc2700399\","
                        "\"sk\":\"2026-11-21T09:30:00.123456+00:00\","
                        "\"message_uuid\":\"9f4b6a2e-1c3d-4e5f-8a7b-0c1d2e3f4a5b\","
                        "\"message\":\"Hello — see you at 10? \xf0\x9f\x91\x8b\","
                        "\"user_uuid\":\"ee6a4b4e-8e43-4a45-9f3c-0a2b0f1f1e55\","
                        "\"user_display_name\":\"Andrew Brown\","
                        "\"user_handle\":\"andrewbrown\"}");
    ck_assert(json_equal(plain, want));
    json_decref(want);
    json_decref(plain);
    json_decref(item);

    /* every type, as boto3's TypeSerializer writes them */
    item = load("{\"count\":{\"N\":\"3\"},\"ratio\":{\"N\":\"0.5\"},\"tenth\":{\"N\":\"0.1\"},"
                "\"big\":{\"N\":\"1E+20\"},\"huge\":{\"N\":\"123456789012345678901234567890\"},"
                "\"whole\":{\"N\":\"7.000\"},\"blob\":{\"B\":\"AP8=\"},"
                "\"on\":{\"BOOL\":true},\"none\":{\"NULL\":true},"
                "\"list\":{\"L\":[{\"S\":\"a\"},{\"N\":\"-2\"}]},"
                "\"map\":{\"M\":{\"k\":{\"SS\":[\"x\",\"y\"]}}},"
                "\"nums\":{\"NS\":[\"1\",\"2.5\",\"0.1\"]},\"blobs\":{\"BS\":[\"AA==\"]}}");
    plain = ddb_av_item_to_plain(item);
    want = load("{\"count\":3,\"ratio\":0.5,\"tenth\":\"0.1\",\"big\":1e20,"
                "\"huge\":\"123456789012345678901234567890\",\"whole\":7,\"blob\":\"AP8=\","
                "\"on\":true,\"none\":null,\"list\":[\"a\",-2],\"map\":{\"k\":[\"x\",\"y\"]},"
                "\"nums\":[1,2.5,\"0.1\"],\"blobs\":[\"AA==\"]}");
    char *got = json_dumps(plain, JSON_COMPACT | JSON_SORT_KEYS);
    ck_assert_msg(json_equal(plain, want), "got %s", got);
    free(got);
    json_decref(want);
    json_decref(plain);
    json_decref(item);
}
END_TEST

START_TEST(plain_numbers_and_refusals)
{
    /* a real that is a whole number comes back as an integer, an inexact one as text */
    json_t *v = json_real(3.0);
    json_t *av = ddb_av_from_plain(v);
    ck_assert_str_eq(text_of(av, "N"), "3");
    json_t *p = ddb_av_to_plain(av);
    ck_assert(json_is_integer(p) && json_integer_value(p) == 3);
    json_decref(p);
    json_decref(av);
    json_decref(v);

    v = json_real(0.1);
    av = ddb_av_from_plain(v);
    ck_assert_str_eq(text_of(av, "N"), "0.1"); /* shortest text, not 0.1000...01 */
    p = ddb_av_to_plain(av);
    ck_assert_str_eq(json_string_value(p), "0.1");
    json_decref(p);
    json_decref(av);
    json_decref(v);

    v = json_real(1.0 / 3.0);
    av = ddb_av_from_plain(v);
    ck_assert_str_eq(text_of(av, "N"), "0.3333333333333333");
    json_decref(av);
    json_decref(v);

    /* outside DynamoDB's range */
    v = json_real(1e300);
    ck_assert_ptr_null(ddb_av_from_plain(v));
    json_decref(v);
    v = json_real(1e-200);
    ck_assert_ptr_null(ddb_av_from_plain(v));
    json_decref(v);
    ck_assert_ptr_null(ddb_av_from_plain(NULL));
    v = load("[1,2]");
    ck_assert_ptr_null(ddb_av_item_from_plain(v));
    ck_assert_ptr_null(ddb_av_item_to_plain(v));
    json_decref(v);
    v = load("{\"\":1}");
    ck_assert_ptr_null(ddb_av_item_from_plain(v));
    json_decref(v);
    v = load("{\"a\":{\"N\":\"1e\"}}");
    ck_assert_ptr_null(ddb_av_to_plain(json_object_get(v, "a")));
    json_decref(v);
}
END_TEST

/* A NUL escape in a service reply becomes U+FFFD before parsing; nothing else changes. */
START_TEST(nul_escapes_in_replies_become_replacement_characters)
{
    static const struct {
        const char *in, *out;
        size_t count;
    } cases[] = {
        { "{\"m\":{\"S\":\"a\\u0000b\"}}", "{\"m\":{\"S\":\"a\\uFFFDb\"}}", 1 },
        { "\"\\\\u0000\"", "\"\\\\u0000\"", 0 },     /* a backslash, then u0000 */
        { "\"\\\\\\u0000\"", "\"\\\\\\uFFFD\"", 1 }, /* a backslash, then NUL */
        { "\"\\u00001\\u0000\"", "\"\\uFFFD1\\uFFFD\"", 2 },
        { "\"\\u0001\\u000\"", "\"\\u0001\\u000\"", 0 },
        { "\\u000", "\\u000", 0 }, /* cut short */
        { "\\", "\\", 0 },
        { "", "", 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char b[64];
        size_t n = strlen(cases[i].in);
        memcpy(b, cases[i].in, n + 1);
        ck_assert_uint_eq(awsjson_nul_to_replacement(b, n), cases[i].count);
        ck_assert_str_eq(b, cases[i].out);
    }
    /* and the parsed text is valid UTF-8 without a NUL */
    char b[] = "{\"m\":\"x\\u0000y\"}";
    awsjson_nul_to_replacement(b, strlen(b));
    errinfo e;
    json_t *j = jparse(b, strlen(b), 8, &e);
    ck_assert_msg(j != NULL, "%s", e.msg);
    ck_assert_str_eq(json_string_value(json_object_get(j, "m")), "x\xef\xbf\xbdy");
    json_decref(j);
}
END_TEST

static Suite *ddb_av_suite(void)
{
    Suite *s = suite_create("ddb_av");
    TCase *tc = tcase_create("wire-round-trips");
    tcase_add_test(tc, rt_s);
    tcase_add_test(tc, rt_n);
    tcase_add_test(tc, rt_b);
    tcase_add_test(tc, rt_bool_null);
    tcase_add_test(tc, rt_nested_l_m);
    tcase_add_test(tc, rt_sets);
    tcase_add_test(tc, constructors_refuse_bad_input);
    tcase_add_test(tc, type_of_and_names);
    suite_add_tcase(s, tc);
    tc = tcase_create("validation");
    tcase_add_loop_test(tc, invalid_item_cases, 0,
                        (int)(sizeof invalid_items / sizeof invalid_items[0]));
    tcase_add_test(tc, invalid_exact_message);
    tcase_add_test(tc, depth_limit);
    suite_add_tcase(s, tc);
    tc = tcase_create("accessors");
    tcase_add_test(tc, accessors_message_item);
    tcase_add_test(tc, accessors_numbers);
    tcase_add_test(tc, accessors_binary);
    suite_add_tcase(s, tc);
    tc = tcase_create("plain-json");
    tcase_add_test(tc, plain_round_trip_document);
    tcase_add_test(tc, plain_from_boto3_item);
    tcase_add_test(tc, plain_numbers_and_refusals);
    tcase_add_test(tc, nul_escapes_in_replies_become_replacement_characters);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tap_run(ddb_av_suite());
}
