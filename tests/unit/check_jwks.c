/* check_jwks.c — the JWKS cache (auth/jwks.h): which keys a set yields, file and http
 * sources, and the refetch rules, against a JWKS stand-in (tests/support/jwkssrv.h, in a child
 * process) with an injected clock. */
#include "config.h"

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "auth/devkey.h"
#include "auth/jwks.h"
#include "auth/jwt.h"
#include "base/base64.h"
#include "jwkssrv.h"
#include "tap.h"

#define ISS "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_DevPool1"
#define CLIENT "5p1ibcl6f1nbeuhlt1a8ugf3au"

/* made once in main(): two keys and JWKS files with A, with A and B, and with B only */
static char g_dir[64];
static devkey *g_a, *g_b;
static char g_file_a[128], g_file_ab[128], g_file_b[128];

static int64_t g_now = 1000;
static int64_t fake_clock(void *ud)
{
    (void)ud;
    return g_now;
}

/* ---- the stand-in server ---------------------------------------------------------------- */

typedef struct server {
    jwkssrv *srv;
    int port;
} server;

static void server_start(server *s)
{
    s->srv = jwkssrv_start();
    s->port = jwkssrv_port(s->srv);
}

static void server_ok(server *s, const char *cmd)
{
    ck_assert_msg(jwkssrv_command(s->srv, cmd) == 0, "%s", cmd);
}

static long server_count(server *s)
{
    return jwkssrv_count(s->srv);
}

static void server_stop(server *s)
{
    jwkssrv_stop(s->srv);
    s->srv = NULL;
}

static jwks *cache_for(const char *source)
{
    jwks_options o = { .source = source, .now_s_fn = fake_clock };
    errinfo e;
    jwks *k = jwks_new(&o, &e);
    ck_assert_msg(k != NULL, "%s", e.msg);
    return k;
}

static jwks *cache_for_server(const server *s)
{
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/us-east-1_DevPool1/.well-known/jwks.json",
             s->port);
    return cache_for(url);
}

static bool has_key(jwks *k, const char *kid)
{
    EVP_PKEY *pk = NULL;
    errinfo e;
    int r = jwks_get(k, kid, &pk, &e);
    ck_assert(r == 0 ? pk != NULL : (pk == NULL && e.code == ERR_NOTFOUND));
    return r == 0;
}

static unsigned long fetches(const jwks *k)
{
    jwks_info i;
    jwks_get_info(k, &i);
    return i.fetches;
}

/* ---- parsing ---------------------------------------------------------------------------- */

/* The public JWK of a devkey as a Jansson object. */
static json_t *jwk_of(const devkey *k)
{
    buf b;
    buf_init(&b, 0);
    errinfo e;
    ck_assert_int_eq(devkey_jwks_json(k, &b, &e), 0);
    json_t *doc = json_loads(b.data, 0, NULL);
    buf_cleanup(&b);
    json_t *jwk = json_incref(json_array_get(json_object_get(doc, "keys"), 0));
    json_decref(doc);
    return jwk;
}

static json_t *jwk_variant(const devkey *base, const char *kid, const char *field, json_t *value)
{
    json_t *j = jwk_of(base);
    json_object_set_new(j, "kid", json_string(kid));
    if (value)
        json_object_set_new(j, field, value);
    else
        json_object_del(j, field);
    return j;
}

static json_t *b64_of_bytes(unsigned char fill, size_t n)
{
    unsigned char *raw = malloc(n);
    memset(raw, fill, n);
    buf b;
    buf_init(&b, 0);
    ck_assert_int_eq(base64_encode(BASE64_URL, raw, n, &b), 0);
    json_t *s = json_string(b.data);
    buf_cleanup(&b);
    free(raw);
    return s;
}

static char *dump(json_t *doc)
{
    char *s = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    return s;
}

START_TEST(parse_keeps_good_keys_and_skips_the_rest)
{
    json_t *keys = json_array();
    json_array_append_new(keys, jwk_of(g_a));
    json_array_append_new(
        keys, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "kty", "EC", "kid", "ec", "crv", "P-256",
                        "x", "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", "y",
                        "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0", "use", "sig"));
    json_array_append_new(keys, jwk_variant(g_b, "enc", "use", json_string("enc")));
    json_array_append_new(keys, jwk_variant(g_b, "rs512", "alg", json_string("RS512")));
    json_array_append_new(keys, jwk_variant(g_b, "small", "n", b64_of_bytes(0xc3, 128)));
    json_array_append_new(keys, jwk_variant(g_b, "huge", "n", b64_of_bytes(0xc3, 1025)));
    json_array_append_new(keys, jwk_variant(g_b, "e1", "e", json_string("AQ")));
    json_array_append_new(keys, jwk_variant(g_b, "e-even", "e", json_string("AQAA")));
    json_array_append_new(keys, jwk_variant(g_b, "e-big", "e", json_string("AQAAAAE")));
    json_array_append_new(keys, jwk_variant(g_b, "n-bad", "n", json_string("not base64!")));
    json_array_append_new(keys, jwk_variant(g_b, "n-missing", "n", NULL));
    json_array_append_new(keys,
                          jwk_variant(g_b, devkey_kid(g_a), "use", json_string("sig"))); /* dup */
    json_t *nokid = jwk_of(g_b);
    json_object_del(nokid, "kid");
    json_array_append_new(keys, nokid);
    json_array_append_new(keys, json_string("not an object"));
    /* kept: e = 3 (odd, small), no alg and no use members (both optional) */
    json_array_append_new(keys, jwk_variant(g_b, "e3", "e", json_string("Aw")));
    json_array_append_new(keys, jwk_variant(g_b, "bare", "alg", NULL));
    json_object_del(json_array_get(keys, json_array_size(keys) - 1), "use");
    char *text = dump(json_pack("{s:o}", "keys", keys));

    jwks *k = cache_for("/nonexistent/jwks.json");
    errinfo e;
    ck_assert_msg(jwks_load_json(k, text, strlen(text), &e) == 0, "%s", e.msg);
    jwks_info i;
    jwks_get_info(k, &i);
    ck_assert_uint_eq(i.keys, 3);
    ck_assert_uint_eq(i.skipped, 13);
    ck_assert(has_key(k, devkey_kid(g_a)));
    ck_assert(has_key(k, "e3"));
    ck_assert(has_key(k, "bare"));
    const char *skipped[] = { "ec", "enc",    "rs512", "small", "huge",
                              "e1", "e-even", "e-big", "n-bad", "n-missing" };
    for (size_t j = 0; j < sizeof skipped / sizeof skipped[0]; j++)
        ck_assert_msg(!has_key(k, skipped[j]), "kept %s", skipped[j]);

    /* the key built from n/e verifies A's tokens */
    devkey_claims c = { .sub = "0b6f3a8e-5c1d-4f3e-9a77-1c2d3e4f5a61",
                        .issuer = ISS,
                        .client_id = CLIENT,
                        .iat_s = 1790000000 };
    buf t;
    buf_init(&t, 0);
    ck_assert_int_eq(devkey_mint(g_a, &c, &t, &e), 0);
    jwt_expect x;
    jwt_expect_init(&x, ISS, CLIENT);
    jwt_claims out;
    ck_assert_msg(jwt_verify(k, t.data, t.len, &x, 1790000001, &out, &e) == 0, "%s", e.msg);
    buf_cleanup(&t);
    free(text);
    jwks_free(k);
}
END_TEST

START_TEST(bad_documents_keep_the_old_set)
{
    jwks *k = cache_for("/nonexistent/jwks.json");
    errinfo e;
    buf good;
    buf_init(&good, 0);
    ck_assert_int_eq(devkey_jwks_json(g_a, &good, &e), 0);
    ck_assert_int_eq(jwks_load_json(k, good.data, good.len, &e), 0);

    json_t *many = json_array();
    for (int i = 0; i <= JWKS_MAX_KEYS; i++) {
        char kid[16];
        snprintf(kid, sizeof kid, "k%d", i);
        json_array_append_new(many, jwk_variant(g_b, kid, "use", json_string("sig")));
    }
    char *too_many = dump(json_pack("{s:o}", "keys", many));
    json_t *only_bad = json_array();
    json_array_append_new(only_bad, jwk_variant(g_b, "small", "n", b64_of_bytes(0xc3, 128)));
    char *none_usable = dump(json_pack("{s:o}", "keys", only_bad));
    char *big = malloc(JWKS_MAX_BYTES + 2);
    memset(big, ' ', JWKS_MAX_BYTES + 1);
    memcpy(big, good.data, good.len);
    big[JWKS_MAX_BYTES + 1] = '\0';

    struct {
        const char *text;
        enum err_code code;
        const char *reason;
    } bad[] = {
        { "", ERR_INVALID, "not JSON" },
        { "<html>", ERR_INVALID, "not JSON" },
        { "{\"keys\":[]} trailing", ERR_INVALID, "not JSON" },
        { "[]", ERR_INVALID, "no \"keys\" array" },
        { "{\"keys\":{}}", ERR_INVALID, "no \"keys\" array" },
        { "{}", ERR_INVALID, "no \"keys\" array" },
        { "{\"keys\":[]}", ERR_INVALID, "no usable RS256 key" },
        { none_usable, ERR_INVALID, "no usable RS256 key" },
        { too_many, ERR_INVALID, "more than 32 keys" },
        { big, ERR_TOOBIG, "larger than" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_int_eq(jwks_load_json(k, bad[i].text, strlen(bad[i].text), &e), -1);
        ck_assert_int_eq(e.code, bad[i].code);
        ck_assert_msg(strstr(e.msg, bad[i].reason) != NULL, "%zu: %s", i, e.msg);
        jwks_info info;
        jwks_get_info(k, &info);
        ck_assert_uint_eq(info.keys, 1);
        ck_assert(has_key(k, devkey_kid(g_a)));
    }
    /* exactly 32 keys are fine */
    json_t *arr = json_array();
    for (int i = 0; i < JWKS_MAX_KEYS; i++) {
        char kid[16];
        snprintf(kid, sizeof kid, "k%d", i);
        json_array_append_new(arr, jwk_variant(g_b, kid, "use", json_string("sig")));
    }
    char *max = dump(json_pack("{s:o}", "keys", arr));
    ck_assert_msg(jwks_load_json(k, max, strlen(max), &e) == 0, "%s", e.msg);
    ck_assert(has_key(k, "k31"));
    free(max);
    free(big);
    free(none_usable);
    free(too_many);
    buf_cleanup(&good);
    jwks_free(k);
}
END_TEST

/* ---- sources ---------------------------------------------------------------------------- */

START_TEST(sources_are_checked)
{
    const char *bad[] = { "",
                          "jwks.json",
                          "relative/jwks.json",
                          "ftp://example.com/jwks.json",
                          "file://host/jwks.json",
                          "http://",
                          "http:///jwks.json",
                          "https://user:secret@example.com/jwks.json",
                          "http://a b/jwks.json",
                          "http://example.com/\njwks.json" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        jwks_options o = { .source = bad[i] };
        errinfo e;
        ck_assert_msg(jwks_new(&o, &e) == NULL, "accepted %s", bad[i]);
        ck_assert_int_eq(e.code, ERR_CONFIG);
        ck_assert_ptr_null(strstr(e.msg, "secret"));
    }
    errinfo e;
    ck_assert_ptr_null(jwks_new(NULL, &e));
    jwks_free(NULL);
}
END_TEST

START_TEST(file_source)
{
    char url[160];
    snprintf(url, sizeof url, "file://%s", g_file_a);
    const char *sources[] = { url, g_file_a };
    for (size_t i = 0; i < 2; i++) {
        jwks *k = cache_for(sources[i]);
        ck_assert_uint_eq(fetches(k), 0); /* nothing until used */
        ck_assert(has_key(k, devkey_kid(g_a)));
        ck_assert_uint_eq(fetches(k), 1);
        ck_assert(has_key(k, devkey_kid(g_a)));
        ck_assert_uint_eq(fetches(k), 1);
        jwks_info info;
        jwks_get_info(k, &info);
        ck_assert_int_eq(info.loaded_at_s, g_now);
        jwks_free(k);
    }
}
END_TEST

START_TEST(a_file_source_that_is_not_a_regular_file_fails_at_once)
{
    /* A FIFO at the path (nobody writing) and a directory: a clear error, and the open
     * does not wait for a writer (it did: the worker hung at its first token). */
    char fifo[160], dir[160];
    snprintf(fifo, sizeof fifo, "%s/jwks.fifo", g_dir);
    snprintf(dir, sizeof dir, "%s/jwks.dir", g_dir);
    ck_assert_int_eq(mkfifo(fifo, 0600), 0);
    ck_assert_int_eq(mkdir(dir, 0700), 0);
    const char *paths[] = { fifo, dir };
    for (size_t i = 0; i < 2; i++) {
        jwks *k = cache_for(paths[i]);
        errinfo e;
        ck_assert_int_eq(jwks_refresh(k, &e), -1);
        ck_assert_msg(strstr(e.msg, "not a regular file") || strstr(e.msg, "cannot open"), "%s",
                      e.msg);
        EVP_PKEY *pk = NULL;
        ck_assert_int_eq(jwks_get(k, devkey_kid(g_a), &pk, &e), -1);
        ck_assert_ptr_null(pk);
        jwks_free(k);
    }
    unlink(fifo);
    rmdir(dir);
}
END_TEST

START_TEST(url_for_pool)
{
    buf b;
    buf_init(&b, 0);
    errinfo e;
    ck_assert_int_eq(jwks_url_for_pool("us-east-1", "us-east-1_AbC123", &b, &e), 0);
    ck_assert_str_eq(
        buf_cstr(&b),
        "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbC123/.well-known/jwks.json");
    buf_reset(&b);
    ck_assert_int_eq(jwks_url_for_pool(NULL, "eu-central-1_X", &b, &e), 0);
    ck_assert_str_eq(
        buf_cstr(&b),
        "https://cognito-idp.eu-central-1.amazonaws.com/eu-central-1_X/.well-known/jwks.json");
    buf_reset(&b);
    ck_assert_int_eq(jwks_url_for_pool("us-east-1", "no-underscore", &b, &e), -1);
    ck_assert_int_eq(e.code, ERR_CONFIG);
    ck_assert_int_eq(jwks_url_for_pool("evil.com/x", "us-east-1_AbC", &b, &e), -1);
    ck_assert_uint_eq(b.len, 0);
    buf_cleanup(&b);
}
END_TEST

/* ---- http and the refetch rules --------------------------------------------------------- */

START_TEST(http_refetch_rules)
{
    server s;
    server_start(&s);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "serve %s", g_file_a);
    server_ok(&s, cmd);
    g_now = 1000;
    jwks *k = cache_for_server(&s);

    /* the first lookup fetches once */
    ck_assert_int_eq(server_count(&s), 0);
    ck_assert(has_key(k, devkey_kid(g_a)));
    ck_assert_int_eq(server_count(&s), 1);
    ck_assert(has_key(k, devkey_kid(g_a)));
    ck_assert_int_eq(server_count(&s), 1);

    /* B is rotated in; a minute later, its kid refetches once and is found */
    snprintf(cmd, sizeof cmd, "serve %s", g_file_ab);
    server_ok(&s, cmd);
    g_now += 60;
    ck_assert(has_key(k, devkey_kid(g_b)));
    ck_assert_int_eq(server_count(&s), 2);

    /* a second unknown kid within 60 s does not refetch */
    g_now += 59;
    ck_assert(!has_key(k, "unknown-1"));
    ck_assert(!has_key(k, "unknown-2"));
    ck_assert_int_eq(server_count(&s), 2);
    ck_assert(has_key(k, devkey_kid(g_a)));

    /* after the interval it does (once) */
    g_now += 1;
    ck_assert(!has_key(k, "unknown-3"));
    ck_assert_int_eq(server_count(&s), 3);
    ck_assert(!has_key(k, "unknown-4"));
    ck_assert_int_eq(server_count(&s), 3);

    /* A is rotated out: still served from the cache until a refetch happens */
    snprintf(cmd, sizeof cmd, "serve %s", g_file_b);
    server_ok(&s, cmd);
    ck_assert(has_key(k, devkey_kid(g_a)));
    ck_assert_int_eq(server_count(&s), 3);

    /* older than max_age (6 h): a lookup of a known kid refreshes first */
    g_now += 6 * 3600;
    ck_assert(!has_key(k, devkey_kid(g_a)));
    ck_assert(has_key(k, devkey_kid(g_b)));
    ck_assert_int_eq(server_count(&s), 4);

    jwks_info info;
    jwks_get_info(k, &info);
    ck_assert_uint_eq(info.fetches, 4);
    ck_assert_uint_eq(info.failures, 0);
    ck_assert_int_eq(info.loaded_at_s, g_now);
    jwks_free(k);
    server_stop(&s);
}
END_TEST

START_TEST(http_failures_keep_the_old_set)
{
    server s;
    server_start(&s);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "serve %s", g_file_a);
    server_ok(&s, cmd);
    g_now = 1000;
    jwks *k = cache_for_server(&s);
    ck_assert(has_key(k, devkey_kid(g_a)));

    struct {
        const char *cmd;
        enum err_code code;
        const char *reason;
    } bad[] = {
        { "garbage", ERR_SERVICE, "not JSON" },
        { "big 70000", ERR_TOOBIG, "larger than 65536 bytes" },
        { "big 60000", ERR_SERVICE, "no usable RS256 key" },
        { "status 500", ERR_SERVICE, "HTTP 500" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        server_ok(&s, bad[i].cmd);
        errinfo e;
        ck_assert_int_eq(jwks_refresh(k, &e), -1);
        ck_assert_msg(e.code == bad[i].code, "%s: %s", bad[i].cmd, e.msg);
        ck_assert_msg(strstr(e.msg, bad[i].reason) != NULL, "%s: %s", bad[i].cmd, e.msg);
        ck_assert(has_key(k, devkey_kid(g_a)));
    }
    /* an unknown kid while the server answers junk: old set kept, no key */
    server_ok(&s, "garbage");
    g_now += 60;
    ck_assert(!has_key(k, "rotated"));
    ck_assert(has_key(k, devkey_kid(g_a)));

    /* server down: the old keys are kept, refetches still rate limited */
    long before = server_count(&s);
    ck_assert_int_eq(before, 6);
    server_stop(&s);
    g_now += 60;
    ck_assert(!has_key(k, "rotated"));
    ck_assert(has_key(k, devkey_kid(g_a)));
    errinfo e;
    ck_assert_int_eq(jwks_refresh(k, &e), -1);
    ck_assert_int_eq(e.code, ERR_IO);
    ck_assert(has_key(k, devkey_kid(g_a)));
    jwks_info info;
    jwks_get_info(k, &info);
    ck_assert_uint_eq(info.fetches, 8);
    ck_assert_uint_eq(info.failures, 7);
    ck_assert_uint_eq(info.keys, 1);
    jwks_free(k);
}
END_TEST

START_TEST(http_never_loaded)
{
    /* the server is down from the start: lookups fail with the fetch error (not NOTFOUND),
     * and retry at most every JWKS_EMPTY_RETRY_S */
    server s;
    server_start(&s);
    int port = s.port;
    server_stop(&s);
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/jwks.json", port);
    g_now = 1000;
    jwks *k = cache_for(url);
    EVP_PKEY *pk;
    errinfo e;
    ck_assert_int_eq(jwks_get(k, "any", &pk, &e), -1);
    ck_assert_int_eq(e.code, ERR_IO);
    ck_assert_uint_eq(fetches(k), 1);
    g_now += JWKS_EMPTY_RETRY_S - 1;
    ck_assert_int_eq(jwks_get(k, "any", &pk, &e), -1);
    ck_assert_int_eq(e.code, ERR_IO);
    ck_assert_ptr_nonnull(strstr(e.msg, "no signing keys loaded"));
    ck_assert_uint_eq(fetches(k), 1);
    g_now += 1;
    ck_assert_int_eq(jwks_get(k, "any", &pk, &e), -1);
    ck_assert_uint_eq(fetches(k), 2);
    jwks_free(k);

    /* and a file source that appears later is picked up on the next retry */
    char path[128];
    snprintf(path, sizeof path, "%s/later.json", g_dir);
    k = cache_for(path);
    ck_assert_int_eq(jwks_get(k, devkey_kid(g_a), &pk, &e), -1);
    ck_assert_int_eq(e.code, ERR_IO);
    ck_assert_int_eq(link(g_file_a, path), 0);
    g_now += JWKS_EMPTY_RETRY_S;
    ck_assert(has_key(k, devkey_kid(g_a)));
    unlink(path);
    jwks_free(k);
}
END_TEST

static Suite *jwks_suite(void)
{
    Suite *s = suite_create("jwks");
    TCase *tc = tcase_create("parse");
    tcase_add_test(tc, parse_keeps_good_keys_and_skips_the_rest);
    tcase_add_test(tc, bad_documents_keep_the_old_set);
    suite_add_tcase(s, tc);

    tc = tcase_create("sources");
    tcase_add_test(tc, sources_are_checked);
    tcase_add_test(tc, file_source);
    tcase_add_test(tc, a_file_source_that_is_not_a_regular_file_fails_at_once);
    tcase_add_test(tc, url_for_pool);
    suite_add_tcase(s, tc);

    tc = tcase_create("http");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, http_refetch_rules);
    tcase_add_test(tc, http_failures_keep_the_old_set);
    tcase_add_test(tc, http_never_loaded);
    suite_add_tcase(s, tc);
    return s;
}

static int write_jwks(const char *path, const devkey *const *keys, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        buf b;
        buf_init(&b, 0);
        errinfo e;
        if (devkey_jwks_json(keys[i], &b, &e) != 0)
            return -1;
        json_t *doc = json_loads(b.data, 0, NULL);
        json_array_append(arr, json_array_get(json_object_get(doc, "keys"), 0));
        json_decref(doc);
        buf_cleanup(&b);
    }
    json_t *doc = json_pack("{s:o}", "keys", arr);
    int rc = json_dump_file(doc, path, JSON_INDENT(1));
    json_decref(doc);
    return rc;
}

int main(void)
{
    errinfo e;
    snprintf(g_dir, sizeof g_dir, "/tmp/check_jwks.XXXXXX");
    if (!mkdtemp(g_dir)) {
        perror("mkdtemp");
        return 1;
    }
    char da[96], db[96];
    snprintf(da, sizeof da, "%s/a", g_dir);
    snprintf(db, sizeof db, "%s/b", g_dir);
    if (devkey_generate(da, &g_a, &e) != 0 || devkey_generate(db, &g_b, &e) != 0) {
        fprintf(stderr, "devkey_generate: %s\n", e.msg);
        return 1;
    }
    snprintf(g_file_a, sizeof g_file_a, "%s/a.json", g_dir);
    snprintf(g_file_ab, sizeof g_file_ab, "%s/ab.json", g_dir);
    snprintf(g_file_b, sizeof g_file_b, "%s/b.json", g_dir);
    const devkey *ab[] = { g_a, g_b };
    if (write_jwks(g_file_a, ab, 1) != 0 || write_jwks(g_file_ab, ab, 2) != 0 ||
        write_jwks(g_file_b, ab + 1, 1) != 0) {
        fprintf(stderr, "cannot write the JWKS files\n");
        return 1;
    }
    int rc = tap_run(jwks_suite());
    devkey_free(g_a);
    devkey_free(g_b);
    const char *files[] = { "a/dev-key.pem",
                            "a/jwks.json",
                            "b/dev-key.pem",
                            "b/jwks.json",
                            "a.json",
                            "ab.json",
                            "b.json",
                            "a",
                            "b",
                            "" };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char p[160];
        snprintf(p, sizeof p, "%s/%s", g_dir, files[i]);
        if (unlink(p) != 0)
            rmdir(p);
    }
    return rc;
}
