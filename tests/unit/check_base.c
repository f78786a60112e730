/* check_base.c — the base module: buffers, views, errors, env, clock, randomness, UTF-8. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "base/base64.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/env.h"
#include "base/errinfo.h"
#include "base/file.h"
#include "base/hex.h"
#include "base/jwrite.h"
#include "base/log.h"
#include "base/rnd.h"
#include "base/prom.h"
#include "base/utf8.h"
#include "base/uuid.h"
#include "tap.h"

START_TEST(buf_appends_and_stays_terminated)
{
    buf b;
    buf_init(&b, 0);
    ck_assert_str_eq(buf_cstr(&b), "");
    ck_assert_int_eq(buf_append_str(&b, "abc"), 0);
    ck_assert_int_eq(buf_printf(&b, "-%d-", 42), 0);
    ck_assert_int_eq(buf_putc(&b, 'z'), 0);
    ck_assert_str_eq(buf_cstr(&b), "abc-42-z");
    ck_assert_uint_eq(b.len, 8);
    buf_reset(&b);
    ck_assert_str_eq(buf_cstr(&b), "");
    buf_cleanup(&b);
    buf_cleanup(NULL);
}
END_TEST

START_TEST(buf_refuses_past_cap_and_keeps_content)
{
    buf b;
    buf_init(&b, 8);
    ck_assert_int_eq(buf_append_str(&b, "12345678"), 0);
    ck_assert_int_eq(buf_append_str(&b, "9"), -1);
    ck_assert(b.failed);
    ck_assert_str_eq(buf_cstr(&b), "12345678");
    /* sticky until reset */
    ck_assert_int_eq(buf_append(&b, "", 0), -1);
    buf_reset(&b);
    ck_assert_int_eq(buf_printf(&b, "%s", "123456789"), -1);
    ck_assert_str_eq(buf_cstr(&b), "");
    buf_cleanup(&b);
}
END_TEST

START_TEST(buf_hex_and_take)
{
    buf b;
    buf_init(&b, 64);
    const unsigned char raw[] = { 0x00, 0xab, 0xff, 0x10 };
    ck_assert_int_eq(buf_append_hex(&b, raw, sizeof raw), 0);
    char *s = buf_take(&b);
    ck_assert_str_eq(s, "00abff10");
    ck_assert_uint_eq(b.len, 0);
    free(s);
    s = buf_take(&b);
    ck_assert_str_eq(s, "");
    free(s);
}
END_TEST

START_TEST(hex_digits_both_ways)
{
    ck_assert_int_eq(hex_value('0'), 0);
    ck_assert_int_eq(hex_value('9'), 9);
    ck_assert_int_eq(hex_value('a'), 10);
    ck_assert_int_eq(hex_value('F'), 15);
    ck_assert_int_eq(hex_value('g'), -1);
    ck_assert_int_eq(hex_value('%'), -1);
    ck_assert_int_eq(hex_value(0), -1);
    const unsigned char raw[] = { 0x00, 0x7f, 0xa5, 0xff };
    char out[9];
    hex_encode(raw, sizeof raw, out);
    ck_assert_str_eq(out, "007fa5ff");
    hex_encode(raw, 0, out);
    ck_assert_str_eq(out, "");
}
END_TEST

START_TEST(strv_compares)
{
    ck_assert(strv_eq(STRV("abc"), strv_from("abc")));
    ck_assert(!strv_eq(STRV("abc"), STRV("abd")));
    ck_assert(strv_eq_cstr(STRV_EMPTY, NULL));
    ck_assert(!strv_eq_cstr(STRV("a"), "ab"));
    char small[4] = "xyz";
    ck_assert(strv_copy(STRV("abc"), small, sizeof small));
    ck_assert_str_eq(small, "abc");
    ck_assert(!strv_copy(STRV("abcd"), small, sizeof small)); /* no room for the NUL */
    ck_assert_str_eq(small, "abc");
    ck_assert(strv_copy(STRV_EMPTY, small, sizeof small));
    ck_assert_str_eq(small, "");
}
END_TEST

START_TEST(errinfo_carries_message)
{
    errinfo e;
    ck_assert_int_eq(errinfo_set(&e, ERR_INVALID, "bad %s", "thing"), -1);
    ck_assert_int_eq(e.code, ERR_INVALID);
    ck_assert_str_eq(e.msg, "bad thing");
    ck_assert_str_eq(errinfo_code_name(e.code), "invalid");
    errinfo_clear(&e);
    ck_assert_int_eq(e.code, ERR_OK);
    ck_assert_int_eq(errinfo_set(NULL, ERR_IO, "x"), -1);
}
END_TEST

START_TEST(env_long_validates_range)
{
    errinfo e;
    long v = 0;
    unsetenv("CR_TEST_N");
    ck_assert_int_eq(env_long("CR_TEST_N", 1, 10, 5, &v, &e), 0);
    ck_assert_int_eq(v, 5);
    setenv("CR_TEST_N", "7", 1);
    ck_assert_int_eq(env_long("CR_TEST_N", 1, 10, 5, &v, &e), 0);
    ck_assert_int_eq(v, 7);
    setenv("CR_TEST_N", "70", 1);
    ck_assert_int_eq(env_long("CR_TEST_N", 1, 10, 5, &v, &e), -1);
    ck_assert_ptr_nonnull(strstr(e.msg, "CR_TEST_N"));
    setenv("CR_TEST_N", "7x", 1);
    ck_assert_int_eq(env_long("CR_TEST_N", 1, 10, 5, &v, &e), -1);
    setenv("CR_TEST_N", "", 1);
    ck_assert_ptr_null(env_str("CR_TEST_N"));
    ck_assert_str_eq(env_str_or("CR_TEST_N", "d"), "d");
}
END_TEST

START_TEST(clock_formats_and_parses)
{
    char ts[40];
    ck_assert_int_eq(clock_iso8601_us(ts, sizeof ts, 1440938160123456LL), 0);
    ck_assert_str_eq(ts, "2015-08-30T12:36:00.123456+00:00");
    ck_assert_uint_eq(strlen(ts), 32);
    int64_t s = 0;
    ck_assert_int_eq(clock_parse_iso8601("2015-08-30T12:36:00Z", &s), 0);
    ck_assert_int_eq(s, 1440938160);
    ck_assert_int_eq(clock_parse_iso8601(ts, &s), 0);
    ck_assert_int_eq(s, 1440938160);
    ck_assert_int_eq(clock_parse_iso8601("2015-13-30T12:36:00Z", &s), -1);
    ck_assert_int_eq(clock_parse_iso8601("2015-08-30T14:36:00+02:00", &s), 0);
    ck_assert_int_eq(s, 1440938160); /* offsets are honoured */
    ck_assert_int_eq(clock_parse_iso8601("2015-08-30T12:36:00+2:00", &s), -1);
    ck_assert_int_eq(clock_parse_iso8601("garbage", &s), -1);
    /* string order is time order */
    char a[40], b[40];
    clock_iso8601_us(a, sizeof a, 1000000LL * 1700000000 + 999999);
    clock_iso8601_us(b, sizeof b, 1000000LL * 1700000001);
    ck_assert_int_lt(strcmp(a, b), 0);
}
END_TEST

START_TEST(rnd_uuid_is_v4_and_unique)
{
    char a[UUID_BUF], b[UUID_BUF];
    ck_assert_int_eq(rnd_uuid4(a), 0);
    ck_assert_int_eq(rnd_uuid4(b), 0);
    ck_assert_uint_eq(strlen(a), 36);
    ck_assert_int_eq(a[14], '4');
    ck_assert(strchr("89ab", a[19]) != NULL);
    ck_assert_str_ne(a, b);
    for (int i = 0; i < 1000; i++)
        ck_assert_uint_lt(rnd_below(7), 7);
    ck_assert_uint_eq(rnd_below(0), 0);
}
END_TEST

START_TEST(uuid_text_forms)
{
    char out[UUID_BUF];
    char a[UUID_BUF];
    ck_assert_int_eq(rnd_uuid4(a), 0);
    ck_assert(uuid_is_text(a, strlen(a)));
    ck_assert(uuid_to_lower(a, strlen(a), out));
    ck_assert_str_eq(out, a);
    const char *upper = "0B4C6E2A-1F3D-4A5B-8C7D-9E0F1A2B3C4D";
    ck_assert(uuid_is_text(upper, 36));
    ck_assert(uuid_to_lower(upper, 36, out));
    ck_assert_str_eq(out, "0b4c6e2a-1f3d-4a5b-8c7d-9e0f1a2b3c4d");
    /* any version; only the form counts */
    ck_assert(uuid_is_text("00000000-0000-0000-0000-000000000000", 36));
    const char *bad[] = { "",
                          "0b4c6e2a-1f3d-4a5b-8c7d-9e0f1a2b3c4",
                          "0b4c6e2a-1f3d-4a5b-8c7d-9e0f1a2b3c4d0",
                          "0b4c6e2a1f3d-4a5b-8c7d-9e0f1a2b3c4d-",
                          "0b4c6e2a-1f3d-4a5b-8c7d_9e0f1a2b3c4d",
                          "0b4c6e2a-1f3d-4a5b-8c7d-9e0f1a2b3c4g",
                          "{b4c6e2a-1f3d-4a5b-8c7d-9e0f1a2b3c4d" };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        ck_assert_msg(!uuid_is_text(bad[i], strlen(bad[i])), "%s", bad[i]);
        out[0] = 'x';
        ck_assert(!uuid_to_lower(bad[i], strlen(bad[i]), out));
        ck_assert_str_eq(out, "");
    }
    ck_assert(!uuid_is_text(NULL, 36));
    /* length is what counts, not a terminator */
    ck_assert(uuid_is_text("0b4c6e2a-1f3d-4a5b-8c7d-9e0f1a2b3c4dXYZ", 36));
}
END_TEST

/* ---- UTF-8 -------------------------------------------------------------------------------- */

/* One sequence each: what utf8_next takes (0: invalid) and the code point it yields. */
static const struct {
    const char *name;
    const char *s;
    size_t n;
    size_t took;
    uint32_t cp;
} utf8_cases[] = {
    { "ascii", "A", 1, 1, 'A' },
    { "nul", "\0", 1, 1, 0 },
    { "del", "\x7f", 1, 1, 0x7f },
    { "2-byte lowest", "\xc2\x80", 2, 2, 0x80 },
    { "2-byte e-acute", "\xc3\xa9", 2, 2, 0xe9 },
    { "2-byte highest", "\xdf\xbf", 2, 2, 0x7ff },
    { "3-byte lowest", "\xe0\xa0\x80", 3, 3, 0x800 },
    { "3-byte euro", "\xe2\x82\xac", 3, 3, 0x20ac },
    { "3-byte before surrogates", "\xed\x9f\xbf", 3, 3, 0xd7ff },
    { "3-byte after surrogates", "\xee\x80\x80", 3, 3, 0xe000 },
    { "3-byte U+FFFD itself", "\xef\xbf\xbd", 3, 3, 0xfffd },
    { "4-byte lowest", "\xf0\x90\x80\x80", 4, 4, 0x10000 },
    { "4-byte emoji", "\xf0\x9f\x98\x80", 4, 4, 0x1f600 },
    { "4-byte highest", "\xf4\x8f\xbf\xbf", 4, 4, 0x10ffff },
    { "empty", "", 0, 0, UTF8_REPLACEMENT },
    { "stray continuation", "\x80", 1, 0, UTF8_REPLACEMENT },
    { "overlong 2-byte C0", "\xc0\xaf", 2, 0, UTF8_REPLACEMENT },
    { "overlong 2-byte C1", "\xc1\xbf", 2, 0, UTF8_REPLACEMENT },
    { "overlong 3-byte", "\xe0\x9f\xbf", 3, 0, UTF8_REPLACEMENT },
    { "overlong 4-byte", "\xf0\x8f\xbf\xbf", 4, 0, UTF8_REPLACEMENT },
    { "surrogate low end", "\xed\xa0\x80", 3, 0, UTF8_REPLACEMENT },
    { "surrogate high end", "\xed\xbf\xbf", 3, 0, UTF8_REPLACEMENT },
    { "above U+10FFFF", "\xf4\x90\x80\x80", 4, 0, UTF8_REPLACEMENT },
    { "lead F5", "\xf5\x80\x80\x80", 4, 0, UTF8_REPLACEMENT },
    { "lead FF", "\xff", 1, 0, UTF8_REPLACEMENT },
    { "truncated 2-byte", "\xc3", 1, 0, UTF8_REPLACEMENT },
    { "truncated 3-byte", "\xe2\x82", 2, 0, UTF8_REPLACEMENT },
    { "truncated 4-byte", "\xf0\x9f\x98", 3, 0, UTF8_REPLACEMENT },
    { "cut by n", "\xe2\x82\xac", 2, 0, UTF8_REPLACEMENT },
    { "bad continuation", "\xe2\x28\xac", 3, 0, UTF8_REPLACEMENT },
};

START_TEST(utf8_next_decodes_one_sequence)
{
    for (size_t i = 0; i < sizeof utf8_cases / sizeof *utf8_cases; i++) {
        uint32_t cp = 0x12345;
        size_t took = utf8_next((const unsigned char *)utf8_cases[i].s, utf8_cases[i].n, &cp);
        ck_assert_msg(took == utf8_cases[i].took, "%s: took %zu", utf8_cases[i].name, took);
        ck_assert_msg(cp == utf8_cases[i].cp, "%s: U+%04X", utf8_cases[i].name, (unsigned)cp);
        /* a whole case is valid exactly when its one sequence is */
        if (utf8_cases[i].n > 0)
            ck_assert_msg(utf8_valid(utf8_cases[i].s, utf8_cases[i].n) ==
                              (utf8_cases[i].took == utf8_cases[i].n),
                          "%s: valid", utf8_cases[i].name);
    }
}
END_TEST

START_TEST(utf8_strings_count_and_cut)
{
    static const struct {
        const char *s;
        size_t n;
        bool valid;
        size_t count;
    } cases[] = {
        { "", 0, true, 0 },
        { "plain ascii", 11, true, 11 },
        { "a\0b", 3, true, 3 },
        { "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14, true, 8 },
        { "\xc3", 1, false, 1 },
        { "ab\xe2\x82", 4, false, 4 }, /* each byte of a cut sequence counts */
        { "\xed\xa0\x80x", 4, false, 4 },
        { "\x80\x80\xc3\xa9", 4, false, 3 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        ck_assert_msg(utf8_valid(cases[i].s, cases[i].n) == cases[i].valid, "case %zu", i);
        ck_assert_msg(utf8_count(cases[i].s, cases[i].n) == cases[i].count, "case %zu", i);
    }
    const char *s = "a\xe2\x82\xac"
                    "b"; /* a € b */
    ck_assert_uint_eq(utf8_cut(s, 0), 0);
    ck_assert_uint_eq(utf8_cut(s, 1), 1);
    ck_assert_uint_eq(utf8_cut(s, 2), 1);
    ck_assert_uint_eq(utf8_cut(s, 3), 1);
    ck_assert_uint_eq(utf8_cut(s, 4), 4);
    ck_assert_uint_eq(utf8_cut("\x80\x80", 1), 0);
}
END_TEST

/* The Prometheus text format, byte for byte as the exposition format defines it. */
START_TEST(prom_writes_families_samples_and_histograms)
{
    buf b;
    buf_init(&b, 0);
    ck_assert_int_eq(prom_family(&b, "x_total", "counter", "Things\\done\nhere"), 0);
    prom_label l[] = { { "route", "/a\"b\\c\nd" }, { "code", "200" } };
    ck_assert_int_eq(prom_sample_u64(&b, "x_total", l, 2, 18446744073709551615ULL), 0);
    ck_assert_int_eq(prom_sample_u64(&b, "y", NULL, 0, 0), 0);
    ck_assert_int_eq(prom_sample_f64(&b, "z", NULL, 0, 0.25), 0);
    ck_assert_str_eq(buf_cstr(&b),
                     "# HELP x_total Things\\\\done\\nhere\n"
                     "# TYPE x_total counter\n"
                     "x_total{route=\"/a\\\"b\\\\c\\nd\",code=\"200\"} 18446744073709551615\n"
                     "y 0\n"
                     "z 0.25\n");
    buf_reset(&b);
    const double bounds[] = { 0.001, 0.5 };
    const uint64_t counts[] = { 2, 0, 3 };
    prom_label r[] = { { "route", "/r" } };
    ck_assert_int_eq(prom_histogram(&b, "d_seconds", r, 1, bounds, 2, counts, 7.5), 0);
    ck_assert_str_eq(buf_cstr(&b), "d_seconds_bucket{route=\"/r\",le=\"0.001\"} 2\n"
                                   "d_seconds_bucket{route=\"/r\",le=\"0.5\"} 2\n"
                                   "d_seconds_bucket{route=\"/r\",le=\"+Inf\"} 5\n"
                                   "d_seconds_sum{route=\"/r\"} 7.5\n"
                                   "d_seconds_count{route=\"/r\"} 5\n");
    /* a full buffer is an error, never a cut line passed on as whole */
    buf small;
    buf_init(&small, 16);
    ck_assert_int_eq(prom_sample_u64(&small, "a_very_long_metric_name_total", NULL, 0, 1), -1);
    buf_cleanup(&small);
    buf_cleanup(&b);
}
END_TEST

/* ---- base64 ------------------------------------------------------------------------------- */

/* Encodes text in kind k and checks the result, then decodes it back. */
static void b64_roundtrip(base64_kind k, const char *text, const char *want)
{
    buf enc, dec;
    buf_init(&enc, 0);
    buf_init(&dec, 0);
    errinfo e;
    ck_assert_int_eq(base64_encode(k, text, strlen(text), &enc), 0);
    ck_assert_str_eq(buf_cstr(&enc), want);
    ck_assert_uint_eq(enc.len, base64_encoded_len(k, strlen(text)));
    ck_assert_msg(base64_decode(k, buf_view(&enc), &dec, &e) == 0, "%s: %s", want, e.msg);
    ck_assert_str_eq(buf_cstr(&dec), text);
    size_t n = 99;
    ck_assert_int_eq(base64_decode_raw(k, enc.data, enc.len, NULL, &n), 0);
    ck_assert_uint_eq(n, strlen(text));
    buf_cleanup(&enc);
    buf_cleanup(&dec);
}

START_TEST(base64_rfc4648_vectors)
{
    /* RFC 4648 section 10 */
    static const char *const vec[][3] = {
        { "", "", "" },
        { "f", "Zg==", "Zg" },
        { "fo", "Zm8=", "Zm8" },
        { "foo", "Zm9v", "Zm9v" },
        { "foob", "Zm9vYg==", "Zm9vYg" },
        { "fooba", "Zm9vYmE=", "Zm9vYmE" },
        { "foobar", "Zm9vYmFy", "Zm9vYmFy" },
    };
    for (size_t i = 0; i < sizeof vec / sizeof vec[0]; i++) {
        b64_roundtrip(BASE64_STD, vec[i][0], vec[i][1]);
        b64_roundtrip(BASE64_URL, vec[i][0], vec[i][2]);
    }
    /* appends after what the buffer holds */
    buf b;
    buf_init(&b, 0);
    buf_append_str(&b, "x:");
    ck_assert_int_eq(base64_encode(BASE64_STD, "fo", 2, &b), 0);
    ck_assert_str_eq(buf_cstr(&b), "x:Zm8=");
    buf_cleanup(&b);
}
END_TEST

START_TEST(base64_url_safe_and_standard_alphabets_differ)
{
    /* 0xfb 0xff 0xbf: every 6-bit group is 62 or 63 */
    const unsigned char raw[] = { 0xfb, 0xff, 0xbf, 0xfe };
    buf std, url, dec;
    buf_init(&std, 0);
    buf_init(&url, 0);
    buf_init(&dec, 0);
    errinfo e;
    ck_assert_int_eq(base64_encode(BASE64_STD, raw, sizeof raw, &std), 0);
    ck_assert_int_eq(base64_encode(BASE64_URL, raw, sizeof raw, &url), 0);
    ck_assert_str_eq(buf_cstr(&std), "+/+//g==");
    ck_assert_str_eq(buf_cstr(&url), "-_-__g");
    /* each alphabet refuses the other's two characters */
    ck_assert_int_eq(base64_decode(BASE64_STD, STRV("-_-__g=="), &dec, &e), -1);
    ck_assert_int_eq(e.code, ERR_INVALID);
    ck_assert_str_eq(e.msg, "not canonical padded base64");
    ck_assert_int_eq(base64_decode(BASE64_URL, STRV("+/+//g"), &dec, &e), -1);
    ck_assert_int_eq(e.code, ERR_INVALID);
    ck_assert_str_eq(e.msg, "not canonical unpadded base64url");
    ck_assert_int_eq(base64_decode(BASE64_URL, buf_view(&url), &dec, &e), 0);
    ck_assert_uint_eq(dec.len, sizeof raw);
    ck_assert(memcmp(dec.data, raw, sizeof raw) == 0);
    ck_assert_int_eq(base64_value(BASE64_STD, '+'), 62);
    ck_assert_int_eq(base64_value(BASE64_URL, '-'), 62);
    ck_assert_int_eq(base64_value(BASE64_STD, '-'), -1);
    ck_assert_int_eq(base64_value(BASE64_URL, '/'), -1);
    ck_assert_int_eq(base64_value(BASE64_URL, '='), -1);
    /* every byte value and length round-trips in both forms */
    unsigned char all[256];
    for (size_t i = 0; i < sizeof all; i++)
        all[i] = (unsigned char)(255 - i);
    for (size_t n = 0; n <= sizeof all; n += 1 + n / 16) {
        for (int k = BASE64_STD; k <= BASE64_URL; k++) {
            buf enc;
            buf_init(&enc, 0);
            buf_reset(&dec);
            ck_assert_int_eq(base64_encode((base64_kind)k, all, n, &enc), 0);
            ck_assert_uint_eq(enc.len, base64_encoded_len((base64_kind)k, n));
            ck_assert_int_eq(base64_decode((base64_kind)k, buf_view(&enc), &dec, &e), 0);
            ck_assert_uint_eq(dec.len, n);
            ck_assert(n == 0 || memcmp(dec.data, all, n) == 0);
            buf_cleanup(&enc);
        }
    }
    buf_cleanup(&std);
    buf_cleanup(&url);
    buf_cleanup(&dec);
}
END_TEST

START_TEST(base64_invalid_input_is_rejected)
{
    /* standard: padding required, canonical, nothing outside the alphabet */
    static const char *const bad_std[] = {
        "Zg",   "Zg=",   "Zm8",    "Z===",  "====", "Zg==Zg==", "Zh==",
        "Zm9=", "Zm 9v", "Zm9v\n", "Zm9v=", "Zm=v", "Z.9v",     "Zm9vYg=\x80",
    };
    /* url-safe: no padding, length not 1 mod 4, canonical */
    static const char *const bad_url[] = {
        "Zg==", "Zg=", "Z", "Zm9vY", "Zh", "Zm9", "Zm 9v", "Zm9v\n", "ab+c", "ab/c", "YW.J",
    };
    errinfo e;
    for (size_t i = 0; i < sizeof bad_std / sizeof bad_std[0]; i++) {
        buf dec;
        buf_init(&dec, 0);
        buf_append_str(&dec, "keep");
        size_t n;
        ck_assert_msg(base64_decode(BASE64_STD, strv_from(bad_std[i]), &dec, &e) == -1,
                      "accepted %s", bad_std[i]);
        ck_assert_int_eq(e.code, ERR_INVALID);
        ck_assert_str_eq(buf_cstr(&dec), "keep");
        ck_assert_int_eq(base64_decode_raw(BASE64_STD, bad_std[i], strlen(bad_std[i]), NULL, &n),
                         -1);
        buf_cleanup(&dec);
    }
    for (size_t i = 0; i < sizeof bad_url / sizeof bad_url[0]; i++) {
        buf dec;
        buf_init(&dec, 0);
        buf_append_str(&dec, "keep");
        ck_assert_msg(base64_decode(BASE64_URL, strv_from(bad_url[i]), &dec, &e) == -1,
                      "accepted %s", bad_url[i]);
        ck_assert_int_eq(e.code, ERR_INVALID);
        ck_assert_str_eq(buf_cstr(&dec), "keep");
        buf_cleanup(&dec);
    }
    /* a NUL inside is a character outside the alphabet */
    buf dec;
    buf_init(&dec, 0);
    ck_assert_int_eq(base64_decode(BASE64_STD, (strv){ "Zm\0v", 4 }, &dec, &e), -1);
    ck_assert_int_eq(base64_decode(BASE64_URL, (strv){ "Zm\0v", 4 }, &dec, &e), -1);
    /* the output cap is honoured, the buffer left as it was */
    buf small;
    buf_init(&small, 2);
    ck_assert_int_eq(base64_decode(BASE64_STD, STRV("Zm9v"), &small, &e), -1);
    ck_assert_int_eq(e.code, ERR_TOOBIG);
    ck_assert_uint_eq(small.len, 0);
    ck_assert_int_eq(base64_encode(BASE64_URL, "foo", 3, &small), -1);
    ck_assert_uint_eq(small.len, 0);
    buf_cleanup(&small);
    buf_cleanup(&dec);
}
END_TEST

/* ---- log ------------------------------------------------------------------------------ */

/* Runs fn with stderr sent to a file; returns what it wrote (malloc'd). */
static char *log_capture(void (*fn)(void))
{
    FILE *f = tmpfile();
    ck_assert(f != NULL);
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    ck_assert(saved >= 0 && dup2(fileno(f), STDERR_FILENO) >= 0);
    fn();
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    long n = ftell(f);
    ck_assert(n >= 0);
    char *out = calloc(1, (size_t)n + 1);
    ck_assert(out != NULL);
    rewind(f);
    ck_assert(fread(out, 1, (size_t)n, f) == (size_t)n);
    fclose(f);
    return out;
}

static void log_line_fields(void)
{
    log_set_level(LOG_INFO);
    log_line l;
    log_line_begin(&l, LOG_INFO, "request");
    log_line_str(&l, "route", "/api/messages/{uuid}");
    log_line_str(&l, "odd", "quote \" backslash \\ nl \n tab \t bell \a end");
    log_line_str(&l, "bad", "\xff\xfe not utf-8");
    log_line_str(&l, "user", NULL);
    log_line_int(&l, "status", 200);
    log_line_int(&l, "duration_us", -5);
    log_line_end(&l);
    /* a debug line when the level is info: nothing */
    log_line_begin(&l, LOG_DEBUG, "hidden");
    log_line_str(&l, "k", "v");
    log_line_end(&l);
}

START_TEST(log_line_writes_one_json_object)
{
    char *out = log_capture(log_line_fields);
    size_t n = strlen(out);
    ck_assert_msg(n > 0 && out[n - 1] == '\n' && strchr(out, '\n') == out + n - 1, "%s", out);
    json_error_t je;
    json_t *j = json_loads(out, 0, &je);
    ck_assert_msg(j != NULL, "not JSON: %s (%s)", out, je.text);
    ck_assert_str_eq(json_string_value(json_object_get(j, "level")), "info");
    ck_assert_str_eq(json_string_value(json_object_get(j, "event")), "request");
    ck_assert_str_eq(json_string_value(json_object_get(j, "route")), "/api/messages/{uuid}");
    ck_assert_str_eq(json_string_value(json_object_get(j, "odd")),
                     "quote \" backslash \\ nl \n tab \t bell \a end");
    ck_assert_str_eq(json_string_value(json_object_get(j, "bad")), "\xef\xbf\xbd");
    ck_assert(json_is_null(json_object_get(j, "user")));
    ck_assert_int_eq(json_integer_value(json_object_get(j, "status")), 200);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "duration_us")), -5);
    ck_assert(json_object_get(j, "truncated") == NULL);
    /* the time is what clock_iso8601_us writes, and now */
    const char *t = json_string_value(json_object_get(j, "time"));
    int64_t at;
    ck_assert_msg(t && strlen(t) == 32 && clock_parse_iso8601_us(t, &at) == 0, "%s", t);
    int64_t d = clock_real_us() - at;
    ck_assert_msg(d >= 0 && d < 5000000, "%s is %lld us off", t, (long long)d);
    json_decref(j);
    free(out);
}
END_TEST

static void log_line_long(void)
{
    static char big[LOG_LINE_MAX];
    memset(big, 'x', sizeof big - 1);
    log_line l;
    log_line_begin(&l, LOG_WARN, "big");
    log_line_str(&l, "first", "kept");
    log_line_str(&l, "huge", big);
    log_line_int(&l, "after", 7);
    log_line_end(&l);
}

START_TEST(log_line_cuts_at_a_field_and_says_so)
{
    char *out = log_capture(log_line_long);
    json_error_t je;
    json_t *j = json_loads(out, 0, &je);
    ck_assert_msg(j != NULL, "not JSON: %.200s (%s)", out, je.text);
    ck_assert(strlen(out) <= LOG_LINE_MAX);
    ck_assert_str_eq(json_string_value(json_object_get(j, "first")), "kept");
    ck_assert(json_object_get(j, "huge") == NULL);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "after")), 7);
    ck_assert(json_is_true(json_object_get(j, "truncated")));
    json_decref(j);
    free(out);
}
END_TEST

/* A fresh folder dir (a mkdtemp template) with reg, a regular file of copies times text, and
 * the name fifo for a FIFO the test makes; file_fixture_remove takes them away. */
static void file_fixture(char *dir, char reg[64], char fifo[64], const char *text, int copies)
{
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(reg, 64, "%s/reg", dir);
    snprintf(fifo, 64, "%s/fifo", dir);
    FILE *f = fopen(reg, "w");
    ck_assert_ptr_nonnull(f);
    for (int i = 0; i < copies; i++)
        fputs(text, f);
    fclose(f);
}

static void file_fixture_remove(const char *dir, const char *reg, const char *fifo)
{
    unlink(fifo);
    unlink(reg);
    rmdir(dir);
}

START_TEST(file_open_regular_takes_regular_files_only)
{
    char dir[] = "/tmp/check-base-file-XXXXXX", reg[64], fifo[64];
    file_fixture(dir, reg, fifo, "abc", 1);
    struct stat st;
    int fd = file_open_regular(reg, &st);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(st.st_size, 3);
    char got[8] = { 0 };
    ck_assert_int_eq(read(fd, got, sizeof got), 3);
    ck_assert_str_eq(got, "abc");
    close(fd);
    /* a FIFO nobody writes to: refused at once, not waited on; a directory too */
    ck_assert_int_eq(mkfifo(fifo, 0600), 0);
    ck_assert_int_eq(file_open_regular(fifo, NULL), FILE_NOT_REGULAR);
    ck_assert_int_eq(file_open_regular(dir, NULL), FILE_NOT_REGULAR);
    errno = 0;
    ck_assert_int_eq(file_open_regular("/nonexistent/cruddur-file", NULL), -1);
    ck_assert_int_eq(errno, ENOENT);
    file_fixture_remove(dir, reg, fifo);
}
END_TEST

/* ---- jwrite ----------------------------------------------------------------------------- */

/* A random value of depth <= depth: every type, keys and strings with escapes, NULs and
 * multi-byte UTF-8. */
static json_t *jw_random(unsigned *seed, int depth)
{
    static const char *const pieces[] = { "a",
                                          "\"",
                                          "\\",
                                          "\n",
                                          "\t",
                                          "\x01",
                                          "\x1f",
                                          "/",
                                          "\xc3\xa9",
                                          "\xe2\x82\xac",
                                          "\xf0\x9f\x98\x80",
                                          "\x7f",
                                          " ",
                                          "\b",
                                          "\f",
                                          "\r",
                                          "MSG#" };
    int kind = (int)(rand_r(seed) % (depth > 0 ? 9 : 7));
    switch (kind) {
    case 0: return json_null();
    case 1: return json_true();
    case 2: return json_false();
    case 3: {
        static const json_int_t ints[] = { 0, 1, -1, 20, 1024, INT64_MAX, INT64_MIN, -987654321 };
        return json_integer(ints[rand_r(seed) % 8]);
    }
    case 4: {
        static const double reals[] = { 0.5, -2.0, 1e300, 3.0, 1.0 / 3.0, -0.0, 1e-7 };
        return json_real(reals[rand_r(seed) % 7]);
    }
    case 5:
    case 6: {
        char text[256] = "";
        size_t len = 0, k = rand_r(seed) % 8;
        for (size_t i = 0; i < k; i++) {
            const char *piece = pieces[rand_r(seed) % 17];
            memcpy(text + len, piece, strlen(piece));
            len += strlen(piece);
        }
        if (rand_r(seed) % 5 == 0)
            text[len++] = '\0'; /* a NUL inside the string */
        return json_stringn(text, len);
    }
    case 7: {
        json_t *a = json_array();
        for (unsigned i = rand_r(seed) % 5; i > 0; i--)
            json_array_append_new(a, jw_random(seed, depth - 1));
        return a;
    }
    default: {
        json_t *o = json_object();
        for (unsigned i = rand_r(seed) % 5; i > 0; i--) {
            char key[16];
            snprintf(key, sizeof key, "%s%u", pieces[rand_r(seed) % 17], i);
            json_object_set_new(o, key, jw_random(seed, depth - 1));
        }
        return o;
    }
    }
}

START_TEST(jwrite_writes_what_json_dumps_writes)
{
    unsigned seed = 20261204;
    buf b;
    buf_init(&b, 0);
    for (int i = 0; i < 3000; i++) {
        json_t *v = jw_random(&seed, 5);
        char *want = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        ck_assert_ptr_nonnull(want);
        buf_reset(&b);
        ck_assert_int_eq(jwrite_value(&b, v), 0);
        ck_assert_msg(b.len == strlen(want) && memcmp(b.data, want, b.len) == 0, "%s\nvs\n%s",
                      buf_cstr(&b), want);
        free(want);
        json_decref(v);
    }
    /* a request as awsjson sends it: members in the order they were set */
    json_t *req = json_pack("{s:s, s:s, s:{s:s}, s:{s:{s:s}}, s:i, s:b}", "TableName", "cruddur",
                            "KeyConditionExpression", "#k = :v", "ExpressionAttributeNames", "#k",
                            "pk", "ExpressionAttributeValues", ":v", "S", "MSG#1", "Limit", 20,
                            "ScanIndexForward", 0);
    buf_reset(&b);
    ck_assert_int_eq(jwrite_value(&b, req), 0);
    ck_assert_str_eq(buf_cstr(&b), "{\"TableName\":\"cruddur\",\"KeyConditionExpression\":\"#k = "
                                   ":v\",\"ExpressionAttributeNames\":{\"#k\":\"pk\"},"
                                   "\"ExpressionAttributeValues\":{\":v\":{\"S\":\"MSG#1\"}},"
                                   "\"Limit\":20,\"ScanIndexForward\":false}");
    json_decref(req);
    buf_cleanup(&b);
}
END_TEST

START_TEST(jwrite_escapes_and_refuses_what_json_cannot_carry)
{
    buf b;
    buf_init(&b, 0);
    ck_assert_int_eq(jwrite_str(&b, "a\"b\\c\n\x01\x7f\xc3\xa9", 10), 0);
    ck_assert_str_eq(buf_cstr(&b), "\"a\\\"b\\\\c\\n\\u0001\x7f\xc3\xa9\"");
    buf_reset(&b);
    ck_assert_int_eq(jwrite_str(&b, "x\0y", 3), 0);
    ck_assert_str_eq(buf_cstr(&b), "\"x\\u0000y\"");
    /* not UTF-8 (a lone continuation byte, a surrogate, a cut sequence): refused, the buf
     * keeps what it had and is not marked as out of room */
    static const char *const bad[] = { "\x80", "\xed\xa0\x80", "ok\xe2\x82" };
    for (size_t i = 0; i < 3; i++) {
        buf_reset(&b);
        buf_append_str(&b, "[");
        ck_assert_int_eq(jwrite_str(&b, bad[i], strlen(bad[i])), -1);
        ck_assert_str_eq(buf_cstr(&b), "[");
        ck_assert(!b.failed);
    }
    ck_assert_int_eq(jwrite_str(&b, NULL, 0), -1);
    ck_assert_int_eq(jwrite_value(&b, NULL), -1);
    /* deeper than JWRITE_MAX_DEPTH: refused; at it: written */
    json_t *deep = json_array();
    json_t *cur = deep;
    for (int i = 1; i < JWRITE_MAX_DEPTH; i++) {
        json_t *next = json_array();
        json_array_append_new(cur, next);
        cur = next;
    }
    buf_reset(&b);
    ck_assert_int_eq(jwrite_value(&b, deep), 0);
    ck_assert_uint_eq(b.len, 2 * JWRITE_MAX_DEPTH);
    json_array_append_new(cur, json_array());
    buf_reset(&b);
    ck_assert_int_eq(jwrite_value(&b, deep), -1);
    ck_assert(!b.failed);
    json_decref(deep);
    buf_cleanup(&b);
    /* the buf's cap: refused and marked, the way awsjson tells "too big" apart */
    buf small;
    buf_init(&small, 16);
    json_t *big = json_pack("{s:s}", "message", "more than sixteen bytes of text");
    ck_assert_int_eq(jwrite_value(&small, big), -1);
    ck_assert(small.failed);
    json_decref(big);
    buf_cleanup(&small);
}
END_TEST

START_TEST(jwrite_escape_counts_like_snprintf_and_stays_in_its_array)
{
    const char *s = "tab\there \"quoted\" \x01";
    const char *want = "\"tab\\there \\\"quoted\\\" \\u0001\"";
    ptrdiff_t len = (ptrdiff_t)strlen(want);
    char out[64];
    memset(out, '#', sizeof out);
    ck_assert_int_eq(jwrite_escape(out, sizeof out, s, strlen(s)), len);
    ck_assert(memcmp(out, want, (size_t)len) == 0 && out[len] == '#');
    /* too small: the same count, nothing written past cap */
    for (size_t cap = 0; cap < (size_t)len; cap++) {
        memset(out, '#', sizeof out);
        ck_assert_int_eq(jwrite_escape(out, cap, s, strlen(s)), len);
        for (size_t i = cap; i < sizeof out; i++)
            ck_assert_msg(out[i] == '#', "cap %zu: byte %zu written", cap, i);
    }
    ck_assert_int_eq(jwrite_escape(NULL, 0, s, strlen(s)), len);
    ck_assert_int_eq(jwrite_escape(out, sizeof out, "\xc3", 1), -1);
    ck_assert_int_eq(jwrite_escape(out, sizeof out, NULL, 0), -1);

    /* jwrite_str when the escapes outgrow the first guess (n + 2): 100 control characters
     * take 602 bytes; a buf capped at exactly that many after its "[" takes them, one byte
     * less refuses them and keeps the "[" */
    char ctl[100];
    memset(ctl, '\x1f', sizeof ctl);
    for (size_t extra = 0; extra < 2; extra++) {
        buf b;
        buf_init(&b, 1 + 602 - extra);
        buf_putc(&b, '[');
        ck_assert_int_eq(jwrite_str(&b, ctl, sizeof ctl), extra ? -1 : 0);
        if (extra) {
            ck_assert(b.failed);
            ck_assert_str_eq(buf_cstr(&b), "[");
        } else {
            ck_assert_uint_eq(b.len, 603);
            ck_assert(memcmp(b.data, "[\"\\u001F\\u001F", 14) == 0 && b.data[602] == '"');
        }
        buf_cleanup(&b);
    }
}
END_TEST

START_TEST(file_read_regular_reads_whole_files_within_the_cap)
{
    char dir[] = "/tmp/check-base-read-XXXXXX", reg[64], fifo[64];
    file_fixture(dir, reg, fifo, "0123456789", 1000); /* 10,000 bytes: more than one read */
    errinfo e;
    /* appended to what the buf holds; a cap of exactly the file's size is enough */
    buf b;
    buf_init(&b, 10002);
    buf_append_str(&b, "[[");
    ck_assert_int_eq(file_read_regular(reg, &b, &e), 0);
    ck_assert_uint_eq(b.len, 10002);
    ck_assert(memcmp(b.data, "[[0123456789", 12) == 0);
    buf_cleanup(&b);
    /* one byte short: too big, and the buf as it was */
    buf_init(&b, 10001);
    buf_append_str(&b, "[[");
    ck_assert_int_eq(file_read_regular(reg, &b, &e), -1);
    ck_assert_int_eq(e.code, ERR_TOOBIG);
    ck_assert_ptr_nonnull(strstr(e.msg, "larger than 10001 bytes"));
    ck_assert_str_eq(buf_cstr(&b), "[[");
    ck_assert(!b.failed);
    buf_cleanup(&b);
    /* missing (or under a file) is NOTFOUND; a FIFO nobody writes to fails at once */
    buf_init(&b, 0);
    ck_assert_int_eq(file_read_regular("/nonexistent/cruddur-file", &b, &e), -1);
    ck_assert_int_eq(e.code, ERR_NOTFOUND);
    char under[80];
    snprintf(under, sizeof under, "%s/x", reg);
    ck_assert_int_eq(file_read_regular(under, &b, &e), -1);
    ck_assert_int_eq(e.code, ERR_NOTFOUND);
    ck_assert_int_eq(mkfifo(fifo, 0600), 0);
    ck_assert_int_eq(file_read_regular(fifo, &b, &e), -1);
    ck_assert_int_eq(e.code, ERR_IO);
    ck_assert_ptr_nonnull(strstr(e.msg, "not a regular file"));
    ck_assert_int_eq(file_read_regular(dir, &b, &e), -1);
    ck_assert_int_eq(e.code, ERR_IO);
    ck_assert_uint_eq(b.len, 0);
    buf_cleanup(&b);
    file_fixture_remove(dir, reg, fifo);
}
END_TEST

static Suite *base_suite(void)
{
    Suite *s = suite_create("base");
    TCase *tc = tcase_create("buf");
    tcase_add_test(tc, buf_appends_and_stays_terminated);
    tcase_add_test(tc, buf_refuses_past_cap_and_keeps_content);
    tcase_add_test(tc, buf_hex_and_take);
    tcase_add_test(tc, strv_compares);
    tcase_add_test(tc, hex_digits_both_ways);
    suite_add_tcase(s, tc);
    tc = tcase_create("errors-and-config");
    tcase_add_test(tc, errinfo_carries_message);
    tcase_add_test(tc, env_long_validates_range);
    tcase_add_test(tc, file_open_regular_takes_regular_files_only);
    tcase_add_test(tc, file_read_regular_reads_whole_files_within_the_cap);
    suite_add_tcase(s, tc);
    tc = tcase_create("time-and-randomness");
    tcase_add_test(tc, clock_formats_and_parses);
    tcase_add_test(tc, rnd_uuid_is_v4_and_unique);
    tcase_add_test(tc, uuid_text_forms);
    suite_add_tcase(s, tc);
    tc = tcase_create("utf8");
    tcase_add_test(tc, utf8_next_decodes_one_sequence);
    tcase_add_test(tc, utf8_strings_count_and_cut);
    suite_add_tcase(s, tc);
    tc = tcase_create("prom");
    tcase_add_test(tc, prom_writes_families_samples_and_histograms);
    suite_add_tcase(s, tc);
    tc = tcase_create("log");
    tcase_add_test(tc, log_line_writes_one_json_object);
    tcase_add_test(tc, log_line_cuts_at_a_field_and_says_so);
    suite_add_tcase(s, tc);
    tc = tcase_create("jwrite");
    tcase_add_test(tc, jwrite_writes_what_json_dumps_writes);
    tcase_add_test(tc, jwrite_escapes_and_refuses_what_json_cannot_carry);
    tcase_add_test(tc, jwrite_escape_counts_like_snprintf_and_stays_in_its_array);
    suite_add_tcase(s, tc);
    tc = tcase_create("base64");
    tcase_add_test(tc, base64_rfc4648_vectors);
    tcase_add_test(tc, base64_url_safe_and_standard_alphabets_differ);
    tcase_add_test(tc, base64_invalid_input_is_rejected);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tap_run(base_suite());
}
