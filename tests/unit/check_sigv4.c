/* check_sigv4.c — the SigV4 signer: AWS's signing test suite (header and presigned), URI and
 * query encoding edge cases, input errors and the signing-key cache. */
#include "config.h"

#include <check.h>
#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/sigv4.h"
#include "aws/sigv4_internal.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/errinfo.h"
#include "tap.h"

#define SUITE_CASES 38
#define MAX_CASES 64
#define NAME_MAX_LEN 128

/* 2015-08-30T12:36:00Z, the suite's signing time */
#define SUITE_TIME_S INT64_C(1440938160)

/* ---- the suite's case folders --------------------------------------------------------------- */

static const char *srcdir(void)
{
    const char *d = getenv("CR_SRCDIR");
    return d && *d ? d : CR_SRCDIR;
}

static void suite_path(buf *b, const char *name, const char *file)
{
    buf_reset(b);
    buf_printf(b, "%s/tests/data/aws-sigv4-test-suite/v4", srcdir());
    if (name)
        buf_printf(b, "/%s", name);
    if (file)
        buf_printf(b, "/%s", file);
    ck_assert(!b->failed);
}

static int name_order(const void *a, const void *b)
{
    return strcmp(a, b);
}

/* The case folder names, sorted; the count, or -1 when the folder cannot be read. */
static int list_cases(char names[][NAME_MAX_LEN], int max)
{
    buf dir;
    buf_init(&dir, 0);
    suite_path(&dir, NULL, NULL);
    DIR *d = opendir(buf_cstr(&dir));
    buf_cleanup(&dir);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        size_t len = strlen(de->d_name);
        if (n == max || len >= NAME_MAX_LEN)
            break;
        memcpy(names[n++], de->d_name, len + 1);
    }
    closedir(d);
    qsort(names, (size_t)n, NAME_MAX_LEN, name_order);
    return n;
}

/* Reads a whole file into b; 0 or -1. */
static int read_file(const char *path, buf *b)
{
    char chunk[4096];
    size_t n;
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    buf_reset(b);
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        if (buf_append(b, chunk, n) != 0)
            break;
    int rc = ferror(f) || b->failed ? -1 : 0;
    fclose(f);
    return rc;
}

/* One case: request.txt and context.json parsed into the signer's inputs. */
typedef struct fixture {
    const char *name;
    buf raw;    /* request.txt */
    buf values; /* header values, continuation lines joined by a space */
    buf path;   /* scratch for file names */
    sigv4_header headers[SIGV4_MAX_HEADERS];
    size_t voff[SIGV4_MAX_HEADERS], vlen[SIGV4_MAX_HEADERS];
    size_t nheaders;
    strv method, target, header_block, body;
    sigv4_request req;
    sigv4_credentials cred;
    sigv4_options opt;
    json_t *ctx;
} fixture;

static strv line_at(strv all, size_t *pos)
{
    size_t start = *pos, end = start;
    while (end < all.len && all.ptr[end] != '\n')
        end++;
    *pos = end < all.len ? end + 1 : end;
    if (end > start && all.ptr[end - 1] == '\r')
        end--;
    return (strv){ all.ptr + start, end - start };
}

static void parse_request(fixture *f)
{
    strv all = buf_view(&f->raw);
    size_t pos = 0;
    strv rl = line_at(all, &pos);
    const char *sp1 = memchr(rl.ptr, ' ', rl.len);
    size_t last = rl.len;
    while (last > 0 && rl.ptr[last - 1] != ' ')
        last--;
    ck_assert_msg(sp1 && last > (size_t)(sp1 - rl.ptr) + 1, "%s: bad request line", f->name);
    f->method = (strv){ rl.ptr, (size_t)(sp1 - rl.ptr) };
    f->target = (strv){ sp1 + 1, last - 1 - (size_t)(sp1 - rl.ptr) - 1 };
    const char *q = memchr(f->target.ptr, '?', f->target.len);
    f->req.method = f->method;
    f->req.path = (strv){ f->target.ptr, q ? (size_t)(q - f->target.ptr) : f->target.len };
    f->req.query = q ? (strv){ q + 1, f->target.len - f->req.path.len - 1 } : STRV_EMPTY;

    size_t hstart = pos;
    f->header_block = (strv){ all.ptr + pos, 0 };
    f->body = STRV_EMPTY;
    while (pos < all.len) {
        size_t before = pos;
        strv l = line_at(all, &pos);
        if (l.len == 0) {
            f->header_block.len = before - hstart;
            f->body = (strv){ all.ptr + pos, all.len - pos };
            break;
        }
        f->header_block.len = pos - hstart;
        if (l.ptr[0] == ' ' || l.ptr[0] == '\t') {
            ck_assert_msg(f->nheaders > 0, "%s: continuation before any header", f->name);
            buf_putc(&f->values, ' ');
            buf_append_strv(&f->values, l);
            f->vlen[f->nheaders - 1] = f->values.len - f->voff[f->nheaders - 1];
            continue;
        }
        const char *colon = memchr(l.ptr, ':', l.len);
        ck_assert_msg(colon != NULL, "%s: header line without ':'", f->name);
        ck_assert_msg(f->nheaders < SIGV4_MAX_HEADERS, "%s: too many headers", f->name);
        size_t i = f->nheaders++;
        f->headers[i].name = (strv){ l.ptr, (size_t)(colon - l.ptr) };
        f->voff[i] = f->values.len;
        buf_append(&f->values, colon + 1, l.len - f->headers[i].name.len - 1);
        f->vlen[i] = f->values.len - f->voff[i];
    }
    ck_assert(!f->values.failed);
    for (size_t i = 0; i < f->nheaders; i++)
        f->headers[i].value = (strv){ f->values.data + f->voff[i], f->vlen[i] };
    f->req.headers = f->headers;
    f->req.nheaders = f->nheaders;
    f->req.payload = f->body.ptr;
    f->req.payload_len = f->body.len;
}

static const char *json_str(const fixture *f, json_t *obj, const char *key, bool required)
{
    const char *s = json_string_value(json_object_get(obj, key));
    ck_assert_msg(s || !required, "%s: context.json has no string %s", f->name, key);
    return s;
}

static void parse_context(fixture *f)
{
    json_error_t jerr;
    suite_path(&f->path, f->name, "context.json");
    f->ctx = json_load_file(buf_cstr(&f->path), 0, &jerr);
    ck_assert_msg(f->ctx != NULL, "%s: context.json: %s", f->name, jerr.text);
    json_t *c = json_object_get(f->ctx, "credentials");
    f->cred.access_key_id = json_str(f, c, "access_key_id", true);
    f->cred.secret_access_key = json_str(f, c, "secret_access_key", true);
    f->cred.session_token = json_str(f, c, "token", false);
    f->opt.region = json_str(f, f->ctx, "region", true);
    f->opt.service = json_str(f, f->ctx, "service", true);
    ck_assert_msg(clock_parse_iso8601(json_str(f, f->ctx, "timestamp", true), &f->opt.time_s) == 0,
                  "%s: bad timestamp", f->name);
    f->opt.normalize_path = json_is_true(json_object_get(f->ctx, "normalize"));
    f->opt.sign_body = json_is_true(json_object_get(f->ctx, "sign_body"));
    f->opt.omit_session_token = json_is_true(json_object_get(f->ctx, "omit_session_token"));
    json_t *exp = json_object_get(f->ctx, "expiration_in_seconds");
    ck_assert_msg(json_is_integer(exp), "%s: no expiration_in_seconds", f->name);
    f->opt.expires_s = (long)json_integer_value(exp);
}

static void fixture_load(fixture *f, const char *name)
{
    memset(f, 0, sizeof *f);
    f->name = name;
    buf_init(&f->raw, 0);
    buf_init(&f->values, 0);
    buf_init(&f->path, 0);
    suite_path(&f->path, name, "request.txt");
    ck_assert_msg(read_file(buf_cstr(&f->path), &f->raw) == 0, "%s: cannot read request.txt", name);
    parse_request(f);
    parse_context(f);
}

static void fixture_cleanup(fixture *f)
{
    json_decref(f->ctx);
    buf_cleanup(&f->raw);
    buf_cleanup(&f->values);
    buf_cleanup(&f->path);
}

static void expect_file(fixture *f, const char *file, strv got, const char *mode)
{
    buf want;
    buf_init(&want, 0);
    suite_path(&f->path, f->name, file);
    ck_assert_msg(read_file(buf_cstr(&f->path), &want) == 0, "%s: cannot read %s", f->name, file);
    ck_assert_msg(strv_eq(buf_view(&want), got),
                  "%s (%s signing): %s differs\n--- expected\n%s\n--- got\n%.*s", f->name, mode,
                  file, buf_cstr(&want), (int)got.len, got.ptr);
    buf_cleanup(&want);
}

/* The signed request as the suite writes it: the request's own header lines, then the ones
 * the signer asks for, then the body. */
static void build_signed_request(const fixture *f, const sigv4_result *r, bool presign, buf *b)
{
    buf_reset(b);
    buf_append_strv(b, f->method);
    buf_putc(b, ' ');
    if (presign) {
        buf_append_strv(b, f->req.path);
        buf_putc(b, '?');
        buf_append_strv(b, buf_view(&r->presigned_query));
    } else {
        buf_append_strv(b, f->target);
    }
    buf_append_str(b, " HTTP/1.1\n");
    buf_append_strv(b, f->header_block);
    if (!presign) {
        if (f->cred.session_token && f->cred.session_token[0])
            buf_printf(b, "X-Amz-Security-Token:%s\n", f->cred.session_token);
        buf_printf(b, "X-Amz-Date:%s\n", r->amz_date);
        if (f->opt.sign_body)
            buf_printf(b, "x-amz-content-sha256:%s\n", r->content_sha256);
        buf_printf(b, "Authorization:%s\n", buf_cstr(&r->authorization));
    }
    buf_putc(b, '\n');
    buf_append_strv(b, f->body);
    ck_assert(!b->failed);
}

static void check_mode(fixture *f, sigv4_signer *s, bool presign)
{
    const char *mode = presign ? "query" : "header";
    char file[64];
    sigv4_result r;
    errinfo e;
    buf signed_req;

    sigv4_result_init(&r);
    buf_init(&signed_req, 0);
    errinfo_clear(&e);
    f->opt.presign = presign;
    ck_assert_msg(sigv4_sign(s, &f->req, &f->cred, &f->opt, &r, &e) == 0, "%s (%s): %s", f->name,
                  mode, e.msg);
    snprintf(file, sizeof file, "%s-canonical-request.txt", mode);
    expect_file(f, file, buf_view(&r.canonical_request), mode);
    snprintf(file, sizeof file, "%s-string-to-sign.txt", mode);
    expect_file(f, file, buf_view(&r.string_to_sign), mode);
    snprintf(file, sizeof file, "%s-signature.txt", mode);
    expect_file(f, file, strv_from(r.signature), mode);
    build_signed_request(f, &r, presign, &signed_req);
    snprintf(file, sizeof file, "%s-signed-request.txt", mode);
    expect_file(f, file, buf_view(&signed_req), mode);
    buf_cleanup(&signed_req);
    sigv4_result_cleanup(&r);
}

START_TEST(suite_has_all_cases)
{
    char names[MAX_CASES][NAME_MAX_LEN];
    int n = list_cases(names, MAX_CASES);
    ck_assert_msg(n == SUITE_CASES,
                  "expected %d case folders under %s/tests/data/"
                  "aws-sigv4-test-suite/v4, found %d",
                  SUITE_CASES, srcdir(), n);
}
END_TEST

START_TEST(suite_case)
{
    char names[MAX_CASES][NAME_MAX_LEN];
    int n = list_cases(names, MAX_CASES);
    ck_assert_msg(_i < n, "case #%d: missing (%d case folders found)", _i, n);
    fixture f;
    fixture_load(&f, names[_i]);
    sigv4_signer *s = sigv4_signer_new();
    ck_assert_ptr_nonnull(s);
    check_mode(&f, s, false);
    check_mode(&f, s, true);
    sigv4_signer_free(s);
    fixture_cleanup(&f);
}
END_TEST

/* ---- encoding ------------------------------------------------------------------------------ */

static void expect_query(const char *raw, const char *want)
{
    buf b;
    errinfo e;
    buf_init(&b, 0);
    ck_assert_msg(sigv4_canonical_query(&b, strv_from(raw), &e) == 0, "%s: %s", raw, e.msg);
    ck_assert_msg(strcmp(buf_cstr(&b), want) == 0, "query \"%s\": want \"%s\", got \"%s\"", raw,
                  want, buf_cstr(&b));
    buf_cleanup(&b);
}

static void expect_uri(const char *path, bool normalize, const char *want)
{
    buf b;
    errinfo e;
    buf_init(&b, 0);
    ck_assert_msg(sigv4_canonical_uri(&b, strv_from(path), normalize, &e) == 0, "%s: %s", path,
                  e.msg);
    ck_assert_msg(strcmp(buf_cstr(&b), want) == 0,
                  "path \"%s\" (normalize %d): want \"%s\", "
                  "got \"%s\"",
                  path, normalize, want, buf_cstr(&b));
    buf_cleanup(&b);
}

START_TEST(query_encoding)
{
    expect_query("", "");
    expect_query("q=a b", "q=a%20b");       /* space is %20, never '+' */
    expect_query("q=a%20b", "q=a%20b");     /* decoded, then encoded again */
    expect_query("q=a+b", "q=a%2Bb");       /* a '+' is a plus sign */
    expect_query("t=~x&u=%7E", "t=~x&u=~"); /* '~' is unreserved */
    expect_query("p=/a/b", "p=%2Fa%2Fb");   /* '/' is encoded in the query */
    expect_query("k=a=b", "k=a%3Db");       /* the first '=' splits */
    expect_query("a=", "a=");
    expect_query("a", "a=");
    expect_query("b&a=", "a=&b=");
    expect_query("k=\xe1\x88\xb4", "k=%E1%88%B4");
    expect_query("k=%e1%88%b4", "k=%E1%88%B4"); /* uppercase hex out */
    expect_query("k=b&k=a&k=c", "k=a&k=b&k=c"); /* repeated keys by value */
    expect_query("b=1&a=2&a=1", "a=1&a=2&b=1");
    expect_query("B=1&a=1", "B=1&a=1"); /* byte order: uppercase first */
    expect_query("&&a=1&", "a=1");
    expect_query("a=%zz&b=%4", "a=%25zz&b=%254"); /* a stray '%' is a percent sign */
    expect_query("-._~=-._~", "-._~=-._~");
}
END_TEST

START_TEST(query_limits)
{
    buf q, out;
    errinfo e;
    buf_init(&q, 0);
    buf_init(&out, 0);
    for (int i = 0; i <= SIGV4_MAX_QUERY_PARAMS; i++)
        buf_printf(&q, "%sk%d=v", i ? "&" : "", i);
    ck_assert_int_eq(sigv4_canonical_query(&out, buf_view(&q), &e), -1);
    ck_assert_int_eq(e.code, ERR_TOOBIG);
    buf_reset(&q);
    for (int i = 0; i <= SIGV4_MAX_QUERY; i++)
        buf_putc(&q, 'a');
    ck_assert_int_eq(sigv4_canonical_query(&out, buf_view(&q), &e), -1);
    ck_assert_int_eq(e.code, ERR_TOOBIG);
    buf_cleanup(&q);
    buf_cleanup(&out);
}
END_TEST

START_TEST(uri_encoding)
{
    expect_uri("/", true, "/");
    expect_uri("/a b/c", true, "/a%20b/c");
    expect_uri("/a%20b", true, "/a%2520b"); /* encoded again: AWS's double encoding */
    expect_uri("/~a-b_c.d", true, "/~a-b_c.d");
    expect_uri("/\xe1\x88\xb4", true, "/%E1%88%B4");
    expect_uri("/a+b=c", false, "/a%2Bb%3Dc");
    expect_uri("/a/./b/../c//d/", true, "/a/c/d/");
    expect_uri("/a/b/..", true, "/a/");
    expect_uri("/a/b/.", true, "/a/b/");
    expect_uri("/../..", true, "/");
    expect_uri("/a/..b/.c", true, "/a/..b/.c");
    expect_uri("/a/../b//", false, "/a/../b//");

    buf b;
    errinfo e;
    buf_init(&b, 0);
    ck_assert_int_eq(sigv4_canonical_uri(&b, STRV("a/b"), true, &e), -1);
    ck_assert_int_eq(e.code, ERR_INVALID);
    ck_assert_int_eq(sigv4_canonical_uri(&b, STRV_EMPTY, true, &e), -1);
    ck_assert_int_eq(sigv4_uri_encode(&b, STRV("a/b c"), true), 0);
    ck_assert_str_eq(buf_cstr(&b), "a/b%20c");
    buf_reset(&b);
    ck_assert_int_eq(sigv4_uri_encode(&b, STRV("a/b c"), false), 0);
    ck_assert_str_eq(buf_cstr(&b), "a%2Fb%20c");
    buf_cleanup(&b);
}
END_TEST

/* ---- signing ------------------------------------------------------------------------------- */

#define SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define TOKEN "TOKENtokenTOKENtoken"

static const sigv4_header vanilla_headers[] = {
    { STRV("Host"), STRV("example.amazonaws.com") },
};

static sigv4_request vanilla_request(void)
{
    return (sigv4_request){ .method = STRV("GET"),
                            .path = STRV("/"),
                            .query = STRV_EMPTY,
                            .headers = vanilla_headers,
                            .nheaders = 1 };
}

static sigv4_credentials vanilla_cred(void)
{
    return (sigv4_credentials){ .access_key_id = "AKIDEXAMPLE", .secret_access_key = SECRET };
}

static sigv4_options vanilla_opt(void)
{
    return (sigv4_options){ .region = "us-east-1",
                            .service = "service",
                            .time_s = SUITE_TIME_S,
                            .normalize_path = true,
                            .expires_s = 3600 };
}

START_TEST(signs_vanilla_request)
{
    sigv4_signer *s = sigv4_signer_new();
    sigv4_result r;
    errinfo e;
    sigv4_request req = vanilla_request();
    sigv4_credentials cred = vanilla_cred();
    sigv4_options opt = vanilla_opt();
    sigv4_result_init(&r);
    ck_assert_int_eq(sigv4_sign(s, &req, &cred, &opt, &r, &e), 0);
    ck_assert_str_eq(r.amz_date, "20150830T123600Z");
    ck_assert_str_eq(r.signature,
                     "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
    ck_assert_str_eq(buf_cstr(&r.authorization),
                     "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/"
                     "aws4_request, SignedHeaders=host;x-amz-date, Signature="
                     "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
    ck_assert_str_eq(r.content_sha256,
                     "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    ck_assert_str_eq(buf_cstr(&r.presigned_query), "");
    sigv4_result_cleanup(&r);
    sigv4_result_cleanup(NULL);
    sigv4_signer_free(s);
    sigv4_signer_free(NULL);
}
END_TEST

START_TEST(key_cache_is_consistent)
{
    sigv4_signer *s = sigv4_signer_new(), *fresh = sigv4_signer_new();
    sigv4_result r;
    errinfo e;
    char first[65], again[65], nextday[65], other_secret[65];
    sigv4_request req = vanilla_request();
    sigv4_credentials cred = vanilla_cred();
    sigv4_options opt = vanilla_opt();
    sigv4_result_init(&r);

    ck_assert_int_eq(sigv4_sign(s, &req, &cred, &opt, &r, &e), 0);
    memcpy(first, r.signature, sizeof first);
    ck_assert_int_eq(sigv4_key_derivations(s), 1);
    ck_assert_int_eq(sigv4_sign(s, &req, &cred, &opt, &r, &e), 0); /* cached key */
    ck_assert_str_eq(r.signature, first);
    opt.time_s += 3600; /* later the same day: still the cached key */
    ck_assert_int_eq(sigv4_sign(s, &req, &cred, &opt, &r, &e), 0);
    opt.time_s -= 3600;
    ck_assert_int_eq(sigv4_key_derivations(s), 1);
    ck_assert_int_eq(sigv4_sign(fresh, &req, &cred, &opt, &r, &e), 0); /* derived anew */
    ck_assert_str_eq(r.signature, first);

    opt.time_s += 86400; /* a new date: a new key */
    ck_assert_int_eq(sigv4_sign(s, &req, &cred, &opt, &r, &e), 0);
    memcpy(nextday, r.signature, sizeof nextday);
    ck_assert_str_ne(nextday, first);
    ck_assert_int_eq(sigv4_sign(fresh, &req, &cred, &opt, &r, &e), 0);
    ck_assert_str_eq(r.signature, nextday);

    opt.time_s -= 86400; /* back: the first key again */
    ck_assert_int_eq(sigv4_sign(s, &req, &cred, &opt, &r, &e), 0);
    memcpy(again, r.signature, sizeof again);
    ck_assert_str_eq(again, first);

    cred.secret_access_key = "another secret"; /* same date, other secret: not the cached key */
    ck_assert_int_eq(sigv4_sign(s, &req, &cred, &opt, &r, &e), 0);
    memcpy(other_secret, r.signature, sizeof other_secret);
    ck_assert_str_ne(other_secret, first);
    cred = vanilla_cred();
    opt.region = "eu-west-1"; /* other region */
    ck_assert_int_eq(sigv4_sign(s, &req, &cred, &opt, &r, &e), 0);
    ck_assert_str_ne(r.signature, first);
    ck_assert_str_ne(r.signature, other_secret);
    opt = vanilla_opt();
    ck_assert_int_eq(sigv4_sign(s, &req, &cred, &opt, &r, &e), 0);
    ck_assert_str_eq(r.signature, first);

    sigv4_result_cleanup(&r);
    sigv4_signer_free(s);
    sigv4_signer_free(fresh);
}
END_TEST

START_TEST(missing_host_is_refused)
{
    sigv4_signer *s = sigv4_signer_new();
    sigv4_result r;
    errinfo e;
    const sigv4_header h[] = { { STRV("Content-Type"), STRV("text/plain") } };
    sigv4_request req = vanilla_request();
    req.headers = h;
    req.nheaders = 1;
    sigv4_credentials cred = vanilla_cred();
    sigv4_options opt = vanilla_opt();
    sigv4_result_init(&r);
    ck_assert_int_eq(sigv4_sign(s, &req, &cred, &opt, &r, &e), -1);
    ck_assert_int_eq(e.code, ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(e.msg, "Host"));
    ck_assert_str_eq(r.signature, "");
    const sigv4_header empty_host[] = { { STRV("host"), STRV("  ") } };
    req.headers = empty_host;
    ck_assert_int_eq(sigv4_sign(s, &req, &cred, &opt, &r, &e), -1);
    ck_assert_int_eq(e.code, ERR_INVALID);
    /* the result is still usable after a failure */
    req = vanilla_request();
    ck_assert_int_eq(sigv4_sign(s, &req, &cred, &opt, &r, &e), 0);
    ck_assert_str_eq(r.signature,
                     "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
    sigv4_result_cleanup(&r);
    sigv4_signer_free(s);
}
END_TEST

START_TEST(bad_inputs_are_refused)
{
    sigv4_signer *s = sigv4_signer_new();
    sigv4_result r;
    errinfo e;
    sigv4_header many[SIGV4_MAX_HEADERS + 1];
    sigv4_request req;
    sigv4_credentials cred;
    sigv4_options opt;
    buf big;
    buf_init(&big, 0);
    sigv4_result_init(&r);

#define REFUSE(code_)                                                                              \
    do {                                                                                           \
        ck_assert_int_eq(sigv4_sign(s, &req, &cred, &opt, &r, &e), -1);                            \
        ck_assert_msg(e.code == (code_), "got %s: %s", errinfo_code_name(e.code), e.msg);          \
        req = vanilla_request();                                                                   \
        cred = vanilla_cred();                                                                     \
        opt = vanilla_opt();                                                                       \
    } while (0)

    req = vanilla_request();
    cred = vanilla_cred();
    opt = vanilla_opt();
    req.method = STRV("get");
    REFUSE(ERR_INVALID);
    req.method = STRV_EMPTY;
    REFUSE(ERR_INVALID);
    req.path = STRV("relative");
    REFUSE(ERR_INVALID);
    cred.access_key_id = "";
    REFUSE(ERR_INVALID);
    cred.access_key_id = "AKID/EVIL";
    REFUSE(ERR_INVALID);
    cred.secret_access_key = NULL;
    REFUSE(ERR_INVALID);
    opt.region = NULL;
    REFUSE(ERR_INVALID);
    opt.service = "bad/service";
    REFUSE(ERR_INVALID);
    opt.time_s = -1;
    REFUSE(ERR_INVALID);
    opt.presign = true;
    opt.expires_s = 0;
    REFUSE(ERR_INVALID);
    opt.presign = true;
    opt.expires_s = 604801;
    REFUSE(ERR_INVALID);
    req.payload_hash = "ABCDEF";
    REFUSE(ERR_INVALID);
    const sigv4_header date_hdr[] = { { STRV("Host"), STRV("h") },
                                      { STRV("X-Amz-Date"), STRV("x") } };
    req.headers = date_hdr;
    req.nheaders = 2;
    REFUSE(ERR_INVALID);
    const sigv4_header bad_name[] = { { STRV("Host"), STRV("h") }, { STRV("a b"), STRV("x") } };
    req.headers = bad_name;
    req.nheaders = 2;
    REFUSE(ERR_INVALID);
    const sigv4_header crlf[] = { { STRV("Host"), STRV("h\r\nX-Evil: 1") } };
    req.headers = crlf;
    REFUSE(ERR_INVALID);
    for (size_t i = 0; i < SIGV4_MAX_HEADERS + 1; i++)
        many[i] = (sigv4_header){ STRV("Host"), STRV("h") };
    req.headers = many;
    req.nheaders = SIGV4_MAX_HEADERS + 1;
    REFUSE(ERR_TOOBIG);
    buf_putc(&big, '/');
    for (int i = 0; i < SIGV4_MAX_PATH; i++)
        buf_putc(&big, 'a');
    req.path = buf_view(&big);
    REFUSE(ERR_TOOBIG);
    req.payload = "x";
    req.payload_len = SIGV4_MAX_PAYLOAD + 1;
    REFUSE(ERR_TOOBIG);
    buf_reset(&big);
    for (int i = 0; i <= SIGV4_MAX_TOKEN; i++)
        buf_putc(&big, 'T');
    cred.session_token = buf_cstr(&big);
    REFUSE(ERR_TOOBIG);
    ck_assert_int_eq(sigv4_sign(NULL, &req, &cred, &opt, &r, &e), -1);
#undef REFUSE
    buf_cleanup(&big);
    sigv4_result_cleanup(&r);
    sigv4_signer_free(s);
}
END_TEST

START_TEST(secrets_never_reach_errors)
{
    sigv4_signer *s = sigv4_signer_new();
    sigv4_result r;
    errinfo e;
    char long_secret[400];
    memset(long_secret, 'Z', sizeof long_secret - 1);
    long_secret[sizeof long_secret - 1] = '\0';
    sigv4_request req = vanilla_request();
    sigv4_credentials cred = { "AKIDEXAMPLE", SECRET, TOKEN };
    sigv4_options opt = vanilla_opt();
    sigv4_result_init(&r);

    const sigv4_header nohost[] = { { STRV("X-Note"), STRV("x") } };
    req.headers = nohost;
    ck_assert_int_eq(sigv4_sign(s, &req, &cred, &opt, &r, &e), -1);
    ck_assert_ptr_null(strstr(e.msg, SECRET));
    ck_assert_ptr_null(strstr(e.msg, TOKEN));

    req = vanilla_request();
    cred.secret_access_key = long_secret;
    ck_assert_int_eq(sigv4_sign(s, &req, &cred, &opt, &r, &e), -1);
    ck_assert_int_eq(e.code, ERR_TOOBIG);
    ck_assert_ptr_null(strstr(e.msg, "ZZZZ"));

    cred.secret_access_key = SECRET;
    cred.session_token = TOKEN "\n";
    ck_assert_int_eq(sigv4_sign(s, &req, &cred, &opt, &r, &e), -1);
    ck_assert_ptr_null(strstr(e.msg, TOKEN));

    /* a header value (which may carry a secret of its own) is not echoed either */
    cred.session_token = TOKEN;
    const sigv4_header leaky[] = { { STRV("Host"), STRV("h") },
                                   { STRV("X-Api-Key"), STRV(SECRET "\x01") } };
    req.headers = leaky;
    req.nheaders = 2;
    ck_assert_int_eq(sigv4_sign(s, &req, &cred, &opt, &r, &e), -1);
    ck_assert_ptr_nonnull(strstr(e.msg, "X-Api-Key"));
    ck_assert_ptr_null(strstr(e.msg, SECRET));
    sigv4_result_cleanup(&r);
    sigv4_signer_free(s);
}
END_TEST

START_TEST(payload_hash_and_dates)
{
    sigv4_signer *s = sigv4_signer_new();
    sigv4_result r;
    errinfo e;
    char hex[65];
    sigv4_request req = vanilla_request();
    sigv4_credentials cred = vanilla_cred();
    sigv4_options opt = vanilla_opt();
    sigv4_result_init(&r);

    sigv4_sha256_hex("", 0, hex);
    ck_assert_str_eq(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    sigv4_sha256_hex("abc", 3, hex);
    ck_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");

    req.payload_hash = "UNSIGNED-PAYLOAD";
    opt.sign_body = true;
    ck_assert_int_eq(sigv4_sign(s, &req, &cred, &opt, &r, &e), 0);
    ck_assert_str_eq(r.content_sha256, "UNSIGNED-PAYLOAD");
    const char *cr = buf_cstr(&r.canonical_request);
    ck_assert_ptr_nonnull(strstr(cr, "x-amz-content-sha256:UNSIGNED-PAYLOAD\n"));
    ck_assert_str_eq(cr + strlen(cr) - 16, "UNSIGNED-PAYLOAD");

    req = vanilla_request();
    req.payload = "abc";
    req.payload_len = 3;
    opt = vanilla_opt();
    opt.time_s = 0;
    ck_assert_int_eq(sigv4_sign(s, &req, &cred, &opt, &r, &e), 0);
    ck_assert_str_eq(r.amz_date, "19700101T000000Z");
    ck_assert_str_eq(r.content_sha256,
                     "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    opt.time_s = INT64_C(951868799); /* a leap day */
    ck_assert_int_eq(sigv4_sign(s, &req, &cred, &opt, &r, &e), 0);
    ck_assert_str_eq(r.amz_date, "20000229T235959Z");
    opt.time_s = INT64_C(253402300799);
    ck_assert_int_eq(sigv4_sign(s, &req, &cred, &opt, &r, &e), 0);
    ck_assert_str_eq(r.amz_date, "99991231T235959Z");
    opt.time_s = INT64_C(253402300800);
    ck_assert_int_eq(sigv4_sign(s, &req, &cred, &opt, &r, &e), -1);
    sigv4_result_cleanup(&r);
    sigv4_signer_free(s);
}
END_TEST

static Suite *sigv4_suite(void)
{
    Suite *s = suite_create("sigv4");

    TCase *tc = tcase_create("aws_suite");
    tcase_add_test(tc, suite_has_all_cases);
    tcase_add_loop_test(tc, suite_case, 0, SUITE_CASES);
    suite_add_tcase(s, tc);

    tc = tcase_create("encoding");
    tcase_add_test(tc, query_encoding);
    tcase_add_test(tc, query_limits);
    tcase_add_test(tc, uri_encoding);
    suite_add_tcase(s, tc);

    tc = tcase_create("signing");
    tcase_add_test(tc, signs_vanilla_request);
    tcase_add_test(tc, key_cache_is_consistent);
    tcase_add_test(tc, missing_host_is_refused);
    tcase_add_test(tc, bad_inputs_are_refused);
    tcase_add_test(tc, secrets_never_reach_errors);
    tcase_add_test(tc, payload_hash_and_dates);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tap_run(sigv4_suite());
}
