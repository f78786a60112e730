/* check_jwt.c — token verification (auth/jwt.h) against a file JWKS made by auth/devkey.h:
 * a good token, every way a token must be refused, leeway edges, base64url, devkey files. */
#include "config.h"

#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include "auth/devkey.h"
#include "auth/jwks.h"
#include "auth/jwt.h"
#include "base/base64.h"
#include "base/clock.h"
#include "tap.h"

#define POOL "us-east-1_DevPool1"
#define ISS "https://cognito-idp.us-east-1.amazonaws.com/" POOL
#define CLIENT "5p1ibcl6f1nbeuhlt1a8ugf3au"
#define SUB "0b6f3a8e-5c1d-4f3e-9a77-1c2d3e4f5a61"
#define NOW ((int64_t)1790000000)

/* made once in main(), before the (forked) tests run */
static char g_dir[64], g_dir2[64];
static devkey *g_key;   /* published in g_dir/jwks.json */
static devkey *g_other; /* a key the JWKS does not hold */
static jwks *g_jwks;

static jwt_expect expect(void)
{
    jwt_expect x;
    jwt_expect_init(&x, ISS, CLIENT);
    return x;
}

static json_t *base_header(const devkey *k)
{
    return json_pack("{s:s, s:s}", "kid", devkey_kid(k), "alg", "RS256");
}

static json_t *base_payload(void)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:s, s:s}", "sub", SUB, "iss",
                     ISS, "client_id", CLIENT, "origin_jti", "7a1f0c57-3f0e-4a4b-9d3c-0e1f2a3b4c5d",
                     "token_use", "access", "scope", "aws.cognito.signin.user.admin", "auth_time",
                     (json_int_t)(NOW - 100), "exp", (json_int_t)(NOW + 3500), "iat",
                     (json_int_t)(NOW - 100), "jti", "d0c8a9f2-1b2c-4d3e-8f4a-5b6c7d8e9f00",
                     "username", "andrew");
}

/* Signs JSON texts with k; returns a malloc'd token. */
static char *sign_text(const devkey *k, const char *hdr, const char *pl)
{
    buf t;
    buf_init(&t, 64 * 1024);
    errinfo e;
    ck_assert_msg(devkey_sign(k, strv_from(hdr), strv_from(pl), &t, &e) == 0, "%s", e.msg);
    return buf_take(&t);
}

/* Signs hdr/pl (both stolen) with k. */
static char *sign_json(const devkey *k, json_t *hdr, json_t *pl)
{
    ck_assert_ptr_nonnull(hdr);
    ck_assert_ptr_nonnull(pl);
    char *hs = json_dumps(hdr, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
    char *ps = json_dumps(pl, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
    char *t = sign_text(k, hs, ps);
    free(hs);
    free(ps);
    json_decref(hdr);
    json_decref(pl);
    return t;
}

static char *b64(const void *p, size_t n)
{
    buf b;
    buf_init(&b, 0);
    ck_assert_int_eq(base64_encode(BASE64_URL, p, n, &b), 0);
    return buf_take(&b);
}

/* "<b64 hdr>.<b64 payload>." with the given signature bytes already encoded. */
static char *assemble(const char *hdr, const char *pl, const char *sig_b64)
{
    char *h = b64(hdr, strlen(hdr)), *p = b64(pl, strlen(pl));
    buf t;
    buf_init(&t, 0);
    buf_printf(&t, "%s.%s.%s", h, p, sig_b64);
    free(h);
    free(p);
    return buf_take(&t);
}

static char *hs256_token(const unsigned char *secret, size_t n)
{
    char hdr[256];
    snprintf(hdr, sizeof hdr, "{\"alg\":\"HS256\",\"kid\":\"%s\",\"typ\":\"JWT\"}",
             devkey_kid(g_key));
    json_t *pl = base_payload();
    char *ps = json_dumps(pl, JSON_COMPACT);
    char *h = b64(hdr, strlen(hdr)), *p = b64(ps, strlen(ps));
    buf in;
    buf_init(&in, 0);
    buf_printf(&in, "%s.%s", h, p);
    unsigned char mac[32];
    unsigned int maclen = 0;
    ck_assert_ptr_nonnull(
        HMAC(EVP_sha256(), secret, (int)n, (const unsigned char *)in.data, in.len, mac, &maclen));
    char *s = b64(mac, maclen);
    buf_printf(&in, ".%s", s);
    free(s);
    free(h);
    free(p);
    free(ps);
    json_decref(pl);
    return buf_take(&in);
}

static int verify_at(const char *tok, size_t len, int64_t now, jwt_claims *c, errinfo *e)
{
    jwt_expect x = expect();
    return jwt_verify(g_jwks, tok, len, &x, now, c, e);
}

/* ---- the good token ----------------------------------------------------------------------- */

START_TEST(valid_minted_token_verifies)
{
    devkey_claims c = { .sub = SUB,
                        .username = "andrew",
                        .issuer = ISS,
                        .client_id = CLIENT,
                        .iat_s = NOW - 10,
                        .ttl_s = 3600 };
    buf t;
    buf_init(&t, 0);
    errinfo e;
    ck_assert_msg(devkey_mint(g_key, &c, &t, &e) == 0, "%s", e.msg);
    jwt_claims out;
    ck_assert_msg(verify_at(t.data, t.len, NOW, &out, &e) == 0, "%s", e.msg);
    ck_assert_str_eq(out.sub, SUB);
    ck_assert_str_eq(out.username, "andrew");
    ck_assert_int_eq(out.exp, NOW - 10 + 3600);
    ck_assert_int_eq(out.iat, NOW - 10);
    ck_assert_str_eq(out.scope, "aws.cognito.signin.user.admin");
    ck_assert_uint_eq(strlen(out.jti), 36);
    /* the token need not be NUL-terminated: only len bytes count */
    char *copy = malloc(t.len + 5);
    memcpy(copy, t.data, t.len);
    memcpy(copy + t.len, "junk", 5);
    ck_assert_int_eq(verify_at(copy, t.len, NOW, &out, &e), 0);
    free(copy);
    buf_cleanup(&t);
}
END_TEST

START_TEST(minted_token_is_cognito_shaped)
{
    devkey_claims c = { .sub = SUB, .issuer = ISS, .client_id = CLIENT };
    buf t, raw;
    buf_init(&t, 0);
    buf_init(&raw, 0);
    errinfo e;
    ck_assert_int_eq(devkey_mint(g_key, &c, &t, &e), 0);
    const char *d1 = strchr(t.data, '.');
    const char *d2 = strchr(d1 + 1, '.');
    ck_assert_int_eq(base64_decode(BASE64_URL, (strv){ t.data, (size_t)(d1 - t.data) }, &raw, &e),
                     0);
    char want[128];
    snprintf(want, sizeof want, "{\"kid\":\"%s\",\"alg\":\"RS256\"}", devkey_kid(g_key));
    ck_assert_str_eq(raw.data, want);
    buf_reset(&raw);
    ck_assert_int_eq(base64_decode(BASE64_URL, (strv){ d1 + 1, (size_t)(d2 - d1 - 1) }, &raw, &e),
                     0);
    json_t *pl = json_loads(raw.data, 0, NULL);
    ck_assert_ptr_nonnull(pl);
    const char *keys[] = {
        "sub",   "iss",       "client_id", "origin_jti", "event_id", "token_use",
        "scope", "auth_time", "exp",       "iat",        "jti",      "username"
    };
    ck_assert_uint_eq(json_object_size(pl), sizeof keys / sizeof keys[0]);
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        ck_assert_msg(json_object_get(pl, keys[i]) != NULL, "missing %s", keys[i]);
    ck_assert_str_eq(json_string_value(json_object_get(pl, "token_use")), "access");
    ck_assert_str_eq(json_string_value(json_object_get(pl, "username")), SUB);
    json_int_t iat = json_integer_value(json_object_get(pl, "iat"));
    ck_assert_int_eq(json_integer_value(json_object_get(pl, "exp")), iat + DEVKEY_TTL_DEFAULT_S);
    int64_t now = clock_real_us() / 1000000;
    ck_assert(iat >= now - 5 && iat <= now + 5);
    json_decref(pl);
    /* and it verifies at the real time */
    jwt_claims out;
    ck_assert_msg(verify_at(t.data, t.len, now, &out, &e) == 0, "%s", e.msg);
    /* missing claims are refused */
    devkey_claims bad = { .sub = SUB, .issuer = ISS };
    size_t before = t.len;
    ck_assert_int_eq(devkey_mint(g_key, &bad, &t, &e), -1);
    ck_assert_uint_eq(t.len, before);
    buf_cleanup(&raw);
    buf_cleanup(&t);
}
END_TEST

/* ---- what must be refused --------------------------------------------------------------- */

typedef struct reject_case {
    const char *name;
    char *(*make)(void);
    const char *reason; /* a substring of the expected reason */
} reject_case;

static char *tok_with(json_t *pl)
{
    return sign_json(g_key, base_header(g_key), pl);
}

static char *mk_expired(void)
{
    json_t *pl = base_payload();
    json_object_set_new(pl, "iat", json_integer(NOW - 7200));
    json_object_set_new(pl, "exp", json_integer(NOW - 3600));
    return tok_with(pl);
}

static char *mk_nbf_future(void)
{
    json_t *pl = base_payload();
    json_object_set_new(pl, "nbf", json_integer(NOW + 3600));
    return tok_with(pl);
}

static char *mk_iat_future(void)
{
    json_t *pl = base_payload();
    json_object_set_new(pl, "iat", json_integer(NOW + 3600));
    json_object_set_new(pl, "exp", json_integer(NOW + 7200));
    return tok_with(pl);
}

static char *mk_wrong_issuer(void)
{
    json_t *pl = base_payload();
    json_object_set_new(pl, "iss",
                        json_string("https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Evil"));
    return tok_with(pl);
}

static char *mk_wrong_client(void)
{
    json_t *pl = base_payload();
    json_object_set_new(pl, "client_id", json_string("someotherclientid0000000000"));
    return tok_with(pl);
}

static char *mk_id_token(void)
{
    json_t *pl = base_payload();
    json_object_del(pl, "client_id");
    json_object_del(pl, "scope");
    json_object_set_new(pl, "aud", json_string(CLIENT));
    json_object_set_new(pl, "token_use", json_string("id"));
    json_object_set_new(pl, "email", json_string("andrew@example.com"));
    return tok_with(pl);
}

static char *mk_alg_none(void)
{
    char hdr[256];
    snprintf(hdr, sizeof hdr, "{\"alg\":\"none\",\"kid\":\"%s\"}", devkey_kid(g_key));
    json_t *pl = base_payload();
    char *ps = json_dumps(pl, JSON_COMPACT);
    char *t = assemble(hdr, ps, "");
    free(ps);
    json_decref(pl);
    return t;
}

static char *mk_hs256_pem(void)
{
    /* the public key as PEM, as a naive verifier would load it from the JWKS */
    char path[128];
    snprintf(path, sizeof path, "%s/%s", g_dir, DEVKEY_PEM_NAME);
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    EVP_PKEY *pk = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    ck_assert_ptr_nonnull(pk);
    BIO *mem = BIO_new(BIO_s_mem());
    ck_assert_int_eq(PEM_write_bio_PUBKEY(mem, pk), 1);
    char *pem = NULL;
    long n = BIO_get_mem_data(mem, &pem);
    ck_assert(n > 0 && strncmp(pem, "-----BEGIN PUBLIC KEY-----", 26) == 0);
    char *t = hs256_token((const unsigned char *)pem, (size_t)n);
    BIO_free(mem);
    EVP_PKEY_free(pk);
    return t;
}

static char *mk_hs256_jwk_n(void)
{
    char path[128];
    snprintf(path, sizeof path, "%s/%s", g_dir, DEVKEY_JWKS_NAME);
    json_t *doc = json_load_file(path, 0, NULL);
    ck_assert_ptr_nonnull(doc);
    const char *n =
        json_string_value(json_object_get(json_array_get(json_object_get(doc, "keys"), 0), "n"));
    ck_assert_ptr_nonnull(n);
    buf raw;
    buf_init(&raw, 0);
    errinfo e;
    ck_assert_int_eq(base64_decode(BASE64_URL, strv_from(n), &raw, &e), 0);
    ck_assert_uint_eq(raw.len, 256);
    char *t = hs256_token((const unsigned char *)raw.data, raw.len);
    buf_cleanup(&raw);
    json_decref(doc);
    return t;
}

static char *mk_unknown_kid(void)
{
    return sign_json(g_other, base_header(g_other), base_payload());
}

static char *mk_other_key_good_kid(void)
{
    return sign_json(g_other, base_header(g_key), base_payload());
}

static char *mk_tampered(void)
{
    char *good = tok_with(base_payload());
    json_t *pl = base_payload();
    json_object_set_new(pl, "sub", json_string("3d8e5cae-7f3b-4b2c-9d99-3e4f5a6b7c83"));
    char *evil = tok_with(pl);
    /* evil's header and payload, good's signature */
    char *gs = strrchr(good, '.'), *es = strrchr(evil, '.');
    buf t;
    buf_init(&t, 0);
    buf_append(&t, evil, (size_t)(es - evil));
    buf_append_str(&t, gs);
    free(good);
    free(evil);
    return buf_take(&t);
}

static char *mk_truncated(void)
{
    char *t = tok_with(base_payload());
    t[strlen(t) - 10] = '\0';
    return t;
}

static char *mk_garbage(void)
{
    char *t = malloc(301);
    for (int i = 0; i < 300; i++)
        t[i] = (char)(1 + (i * 37) % 255);
    t[300] = '\0';
    return t;
}

static char *mk_two_parts(void)
{
    char *t = tok_with(base_payload());
    *strrchr(t, '.') = '\0';
    return t;
}

static char *mk_four_parts(void)
{
    char *t = tok_with(base_payload());
    buf b;
    buf_init(&b, 0);
    buf_printf(&b, "%s.AAAA", t);
    free(t);
    return buf_take(&b);
}

static char *mk_padding(void)
{
    /* a payload whose encoding needs padding, with the '=' kept */
    json_t *pl = base_payload();
    char *t = NULL;
    for (int pad = 0; pad < 3 && !t; pad++) {
        json_object_set_new(pl, "x", json_string(pad == 0 ? "" : pad == 1 ? "a" : "ab"));
        char *c = tok_with(json_incref(pl));
        char *d1 = strchr(c, '.'), *d2 = strrchr(c, '.');
        if ((d2 - d1 - 1) % 4 != 0) {
            buf b;
            buf_init(&b, 0);
            buf_append(&b, c, (size_t)(d2 - c));
            while ((b.len - (size_t)(d1 - c) - 1) % 4 != 0)
                buf_putc(&b, '=');
            buf_append_str(&b, d2);
            t = buf_take(&b);
        }
        free(c);
    }
    json_decref(pl);
    ck_assert_ptr_nonnull(t);
    return t;
}

static char *mk_bad_chars(void)
{
    char *t = tok_with(base_payload());
    char *d1 = strchr(t, '.');
    d1[5] = '+'; /* the standard (not url-safe) alphabet */
    d1[9] = '/';
    return t;
}

static char *mk_oversized(void)
{
    json_t *pl = base_payload();
    char *pad = malloc(7001);
    memset(pad, 'p', 7000);
    pad[7000] = '\0';
    json_object_set_new(pl, "pad", json_string(pad));
    free(pad);
    return tok_with(pl);
}

static char *mk_header_not_json(void)
{
    json_t *pl = base_payload();
    char *ps = json_dumps(pl, JSON_COMPACT);
    char *t = sign_text(g_key, "{\"alg\":\"RS256\",\"kid\":", ps);
    free(ps);
    json_decref(pl);
    return t;
}

static char *mk_payload_array(void)
{
    return sign_json(g_key, base_header(g_key), json_pack("[s, s]", "sub", SUB));
}

static char *mk_kid_missing(void)
{
    return sign_json(g_key, json_pack("{s:s}", "alg", "RS256"), base_payload());
}

static char *mk_crit(void)
{
    json_t *h = base_header(g_key);
    json_object_set_new(h, "crit", json_pack("[s]", "exp"));
    return sign_json(g_key, h, base_payload());
}

static char *mk_exp_string(void)
{
    json_t *pl = base_payload();
    char s[32];
    snprintf(s, sizeof s, "%lld", (long long)(NOW + 3600));
    json_object_set_new(pl, "exp", json_string(s));
    return tok_with(pl);
}

static char *mk_sub_missing(void)
{
    json_t *pl = base_payload();
    json_object_del(pl, "sub");
    return tok_with(pl);
}

static char *mk_sub_malformed(void)
{
    json_t *pl = base_payload();
    json_object_set_new(pl, "sub", json_string("../../etc/passwd"));
    return tok_with(pl);
}

static char *mk_alg_rs512(void)
{
    json_t *h = base_header(g_key);
    json_object_set_new(h, "alg", json_string("RS512"));
    return sign_json(g_key, h, base_payload());
}

static char *mk_token_use_missing(void)
{
    json_t *pl = base_payload();
    json_object_del(pl, "token_use");
    return tok_with(pl);
}

static char *mk_empty(void)
{
    return strdup("");
}

static char *mk_sig_empty(void)
{
    char *t = tok_with(base_payload());
    strrchr(t, '.')[1] = '\0';
    return t;
}

static char *mk_exp_real(void)
{
    json_t *pl = base_payload();
    json_object_set_new(pl, "exp", json_real((double)(NOW + 3600)));
    return tok_with(pl);
}

static char *mk_kid_number(void)
{
    json_t *h = base_header(g_key);
    json_object_set_new(h, "kid", json_integer(7));
    return sign_json(g_key, h, base_payload());
}

static const reject_case reject_cases[] = {
    { "expired", mk_expired, "token expired" },
    { "nbf in the future", mk_nbf_future, "not yet valid (nbf" },
    { "iat in the future", mk_iat_future, "issued in the future (iat)" },
    { "wrong issuer", mk_wrong_issuer, "issuer mismatch" },
    { "wrong client", mk_wrong_client, "client_id mismatch" },
    { "id token", mk_id_token, "id token, not an access token" },
    { "alg none", mk_alg_none, "alg none not allowed" },
    { "HS256 with the PEM public key", mk_hs256_pem, "alg HS256 not allowed" },
    { "HS256 with the JWK n bytes", mk_hs256_jwk_n, "alg HS256 not allowed" },
    { "unknown kid", mk_unknown_kid, "no key for the token's kid" },
    { "signed by another key", mk_other_key_good_kid, "signature does not verify" },
    { "tampered payload", mk_tampered, "signature does not verify" },
    { "truncated", mk_truncated, "signature has the wrong length" },
    { "garbage", mk_garbage, "bytes outside printable ASCII" },
    { "2 parts", mk_two_parts, "fewer than 3 parts" },
    { "4 parts", mk_four_parts, "more than 3 parts" },
    { "padding", mk_padding, "payload part has base64 padding" },
    { "non-base64url characters", mk_bad_chars, "payload part has a character outside base64url" },
    { "oversized", mk_oversized, "longer than 8192 bytes" },
    { "header not JSON", mk_header_not_json, "header is not JSON" },
    { "payload array", mk_payload_array, "payload is not a JSON object" },
    { "kid missing", mk_kid_missing, "kid missing" },
    { "crit header", mk_crit, "crit header not supported" },
    { "exp as string", mk_exp_string, "exp is not an integer" },
    { "sub missing", mk_sub_missing, "sub missing" },
    { "sub malformed", mk_sub_malformed, "sub malformed" },
    { "alg RS512", mk_alg_rs512, "alg RS512 not allowed" },
    { "token_use missing", mk_token_use_missing, "token_use missing" },
    { "empty", mk_empty, "token is empty" },
    { "empty signature", mk_sig_empty, "signature is empty" },
    { "exp as real", mk_exp_real, "exp is not an integer" },
    { "kid not a string", mk_kid_number, "kid is not a string" },
};
#define N_REJECT (sizeof reject_cases / sizeof reject_cases[0])

/* The reason must not quote the token, any part of it, or any decoded header/claim value. */
static void assert_no_leak(const char *tok, const char *msg)
{
    size_t n = strlen(tok);
    if (n >= 8)
        ck_assert_msg(strstr(msg, tok) == NULL, "reason quotes the token");
    const char *p = tok;
    for (;;) {
        const char *d = strchr(p, '.');
        size_t pl = d ? (size_t)(d - p) : strlen(p);
        /* any 12-character window of a part */
        for (size_t i = 0; i + 12 <= pl; i += 6) {
            char w[13];
            memcpy(w, p + i, 12);
            w[12] = '\0';
            ck_assert_msg(strstr(msg, w) == NULL, "reason quotes part of the token: %s", msg);
        }
        if (!d)
            break;
        p = d + 1;
    }
    const char *values[] = { devkey_kid(g_key), devkey_kid(g_other), SUB,          ISS,     CLIENT,
                             "us-east-1_Evil",  "someotherclient",   "etc/passwd", "andrew" };
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++)
        ck_assert_msg(strstr(msg, values[i]) == NULL, "reason quotes a token value: %s", msg);
}

START_TEST(token_is_rejected)
{
    const reject_case *rc = &reject_cases[_i];
    char *tok = rc->make();
    jwt_claims out;
    memset(&out, 'x', sizeof out);
    errinfo e;
    int r = verify_at(tok, strlen(tok), NOW, &out, &e);
    ck_assert_msg(r == -1, "%s: accepted", rc->name);
    ck_assert_msg(e.code == ERR_INVALID, "%s: code %s (%s)", rc->name, errinfo_code_name(e.code),
                  e.msg);
    ck_assert_msg(strstr(e.msg, rc->reason) != NULL, "%s: reason \"%s\", expected \"%s\"", rc->name,
                  e.msg, rc->reason);
    ck_assert_str_eq(out.sub, ""); /* nothing half-filled */
    assert_no_leak(tok, e.msg);
    free(tok);
}
END_TEST

START_TEST(rejection_reasons_are_distinct)
{
    /* cases of different kinds must be told apart in the log */
    char reasons[N_REJECT][sizeof(((errinfo *)0)->msg)];
    for (size_t i = 0; i < N_REJECT; i++) {
        char *tok = reject_cases[i].make();
        jwt_claims out;
        errinfo e;
        ck_assert_int_eq(verify_at(tok, strlen(tok), NOW, &out, &e), -1);
        memcpy(reasons[i], e.msg, sizeof e.msg);
        free(tok);
    }
    for (size_t i = 0; i < N_REJECT; i++)
        for (size_t j = i + 1; j < N_REJECT; j++) {
            bool same_kind = strcmp(reject_cases[i].reason, reject_cases[j].reason) == 0;
            ck_assert_msg(same_kind == (strcmp(reasons[i], reasons[j]) == 0),
                          "%s and %s: \"%s\" vs \"%s\"", reject_cases[i].name, reject_cases[j].name,
                          reasons[i], reasons[j]);
        }
}
END_TEST

/* ---- edges ------------------------------------------------------------------------------ */

static int verify_exp(int64_t exp, errinfo *e)
{
    json_t *pl = base_payload();
    json_object_set_new(pl, "iat", json_integer(exp - 3600));
    json_object_set_new(pl, "exp", json_integer(exp));
    char *t = tok_with(pl);
    jwt_claims out;
    int r = verify_at(t, strlen(t), NOW, &out, e);
    free(t);
    return r;
}

START_TEST(leeway_edges)
{
    errinfo e;
    ck_assert_msg(verify_exp(NOW - JWT_LEEWAY_DEFAULT_S + 1, &e) == 0, "%s", e.msg);
    ck_assert_int_eq(verify_exp(NOW - JWT_LEEWAY_DEFAULT_S, &e), -1);
    ck_assert_int_eq(verify_exp(NOW - JWT_LEEWAY_DEFAULT_S - 1, &e), -1);
    ck_assert_str_eq(e.msg, "token expired");

    /* nbf / iat up to leeway ahead pass, beyond fail */
    json_t *pl = base_payload();
    json_object_set_new(pl, "nbf", json_integer(NOW + JWT_LEEWAY_DEFAULT_S));
    json_object_set_new(pl, "iat", json_integer(NOW + JWT_LEEWAY_DEFAULT_S));
    char *t = tok_with(pl);
    jwt_claims out;
    ck_assert_msg(verify_at(t, strlen(t), NOW, &out, &e) == 0, "%s", e.msg);
    ck_assert_int_eq(verify_at(t, strlen(t), NOW - 1, &out, &e), -1);
    ck_assert_str_eq(e.msg, "token not yet valid (nbf in the future)");

    /* a zero leeway is zero */
    jwt_expect x = expect();
    x.leeway_s = 0;
    ck_assert_int_eq(jwt_verify(g_jwks, t, strlen(t), &x, NOW, &out, &e), -1);
    ck_assert_int_eq(jwt_verify(g_jwks, t, strlen(t), &x, NOW + JWT_LEEWAY_DEFAULT_S, &out, &e), 0);
    free(t);
}
END_TEST

START_TEST(size_limit_edge)
{
    /* the longest token that fits 8192 bytes passes; three bytes more fail */
    char *fit = NULL;
    size_t fit_len = 0;
    for (size_t pad = 5000; pad < 7000; pad++) {
        json_t *pl = base_payload();
        char *p = malloc(pad + 1);
        memset(p, 'p', pad);
        p[pad] = '\0';
        json_object_set_new(pl, "pad", json_string(p));
        free(p);
        char *t = tok_with(pl);
        size_t n = strlen(t);
        if (n > JWT_MAX_LEN) {
            errinfo e;
            jwt_claims out;
            ck_assert_int_eq(verify_at(t, n, NOW, &out, &e), -1);
            ck_assert_str_eq(e.msg, "token is longer than 8192 bytes");
            free(t);
            break;
        }
        free(fit);
        fit = t;
        fit_len = n;
    }
    ck_assert_ptr_nonnull(fit);
    ck_assert_uint_ge(fit_len, JWT_MAX_LEN - 4);
    errinfo e;
    jwt_claims out;
    ck_assert_msg(verify_at(fit, fit_len, NOW, &out, &e) == 0, "%s", e.msg);
    free(fit);
}
END_TEST

START_TEST(expected_token_use_and_missing_config)
{
    json_t *pl = base_payload();
    char *t = tok_with(pl);
    jwt_claims out;
    errinfo e;
    jwt_expect x = expect();
    x.token_use = "id";
    ck_assert_int_eq(jwt_verify(g_jwks, t, strlen(t), &x, NOW, &out, &e), -1);
    ck_assert_str_eq(e.msg, "token_use mismatch");
    x = expect();
    x.client_id = NULL;
    ck_assert_int_eq(jwt_verify(g_jwks, t, strlen(t), &x, NOW, &out, &e), -1);
    ck_assert_int_eq(e.code, ERR_CONFIG);
    ck_assert_int_eq(jwt_verify(g_jwks, t, strlen(t), NULL, NOW, &out, &e), -1);
    ck_assert_int_eq(e.code, ERR_CONFIG);
    free(t);
}
END_TEST

START_TEST(unavailable_keys_are_not_a_bad_token)
{
    /* no key set can be loaded: not the client's fault, so not ERR_INVALID (503, not 401) */
    jwks_options o = { .source = "/nonexistent/cruddur/jwks.json" };
    errinfo e;
    jwks *k = jwks_new(&o, &e);
    ck_assert_ptr_nonnull(k);
    char *t = tok_with(base_payload());
    jwt_claims out;
    jwt_expect x = expect();
    ck_assert_int_eq(jwt_verify(k, t, strlen(t), &x, NOW, &out, &e), -1);
    ck_assert_int_eq(e.code, ERR_IO);
    ck_assert_ptr_nonnull(strstr(e.msg, "signing keys unavailable"));
    free(t);
    jwks_free(k);
}
END_TEST

START_TEST(optional_claims)
{
    json_t *pl = base_payload();
    json_object_del(pl, "username");
    json_object_del(pl, "jti");
    json_object_del(pl, "iat");
    json_object_set_new(pl, "scope", json_string("a b c"));
    char *t = tok_with(pl);
    jwt_claims out;
    errinfo e;
    ck_assert_msg(verify_at(t, strlen(t), NOW, &out, &e) == 0, "%s", e.msg);
    ck_assert_str_eq(out.username, "");
    ck_assert_str_eq(out.jti, "");
    ck_assert_int_eq(out.iat, 0);
    ck_assert_str_eq(out.scope, "a b c");
    free(t);

    /* a long scope is truncated, at a character boundary */
    pl = base_payload();
    char scope[600];
    memset(scope, 'a', 255);
    static const char tail[] = "\xc3\xa9 more text that does not fit anyway................";
    memcpy(scope + 255, tail, sizeof tail);
    json_object_set_new(pl, "scope", json_string(scope));
    t = tok_with(pl);
    ck_assert_msg(verify_at(t, strlen(t), NOW, &out, &e) == 0, "%s", e.msg);
    ck_assert_uint_eq(strlen(out.scope), 255);
    free(t);

    /* a username with control characters or over 128 bytes is refused */
    pl = base_payload();
    json_object_set_new(pl, "username", json_string("bad\nname"));
    t = tok_with(pl);
    ck_assert_int_eq(verify_at(t, strlen(t), NOW, &out, &e), -1);
    ck_assert_str_eq(e.msg, "username malformed");
    free(t);
}
END_TEST

/* ---- base64url and names ---------------------------------------------------------------- */

START_TEST(b64url_round_trip_and_strictness)
{
    unsigned char raw[64];
    for (size_t i = 0; i < sizeof raw; i++)
        raw[i] = (unsigned char)(i * 53 + 7);
    for (size_t n = 0; n <= sizeof raw; n++) {
        buf enc, dec;
        buf_init(&enc, 0);
        buf_init(&dec, 0);
        errinfo e;
        ck_assert_int_eq(base64_encode(BASE64_URL, raw, n, &enc), 0);
        ck_assert_ptr_null(strpbrk(buf_cstr(&enc), "+/="));
        /* matches OpenSSL's standard base64 with the url alphabet and no padding */
        unsigned char std[128];
        int sl = EVP_EncodeBlock(std, raw, (int)n);
        while (sl > 0 && std[sl - 1] == '=')
            sl--;
        for (int i = 0; i < sl; i++)
            std[i] = std[i] == '+' ? '-' : std[i] == '/' ? '_' : std[i];
        ck_assert_uint_eq(enc.len, (size_t)sl);
        ck_assert(memcmp(buf_cstr(&enc), std, (size_t)sl) == 0);
        ck_assert_int_eq(base64_decode(BASE64_URL, buf_view(&enc), &dec, &e), 0);
        ck_assert_uint_eq(dec.len, n);
        ck_assert(n == 0 || memcmp(dec.data, raw, n) == 0);
        buf_cleanup(&enc);
        buf_cleanup(&dec);
    }
    const char *bad[] = { "QQ==", "QQ=",  "Q",    "QR",     "QUF", "QUJ",
                          "a b",  "ab+c", "ab/c", "YWJj\n", "YW.J" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        buf dec;
        buf_init(&dec, 0);
        buf_append_str(&dec, "keep");
        errinfo e;
        ck_assert_msg(base64_decode(BASE64_URL, strv_from(bad[i]), &dec, &e) == -1, "accepted %s",
                      bad[i]);
        ck_assert_int_eq(e.code, ERR_INVALID);
        ck_assert_str_eq(buf_cstr(&dec), "keep");
        buf_cleanup(&dec);
    }
    /* "QUF" is not canonical (its unused bits are 01); "QUE" is, and decodes to "AA" */
    buf dec;
    buf_init(&dec, 0);
    errinfo e;
    ck_assert_int_eq(base64_decode(BASE64_URL, STRV("QUE"), &dec, &e), 0);
    ck_assert_str_eq(dec.data, "AA");
    buf_cleanup(&dec);
    /* the output cap is honoured */
    buf small;
    buf_init(&small, 2);
    ck_assert_int_eq(base64_decode(BASE64_URL, STRV("QUFB"), &small, &e), -1);
    ck_assert_int_eq(e.code, ERR_TOOBIG);
    buf_cleanup(&small);
}
END_TEST

START_TEST(issuer_for_pool)
{
    buf b;
    buf_init(&b, 0);
    errinfo e;
    ck_assert_int_eq(jwt_issuer_for_pool("us-east-1", POOL, &b, &e), 0);
    ck_assert_str_eq(buf_cstr(&b), ISS);
    buf_reset(&b);
    ck_assert_int_eq(jwt_issuer_for_pool(NULL, "eu-west-2_AbCdEf123", &b, &e), 0);
    ck_assert_str_eq(buf_cstr(&b),
                     "https://cognito-idp.eu-west-2.amazonaws.com/eu-west-2_AbCdEf123");
    buf_reset(&b);
    const char *bad_pools[] = { "",           "nounderscore",  "_x",
                                "us-east-1_", "us-east-1_a/b", "us-east-1_a b" };
    for (size_t i = 0; i < sizeof bad_pools / sizeof bad_pools[0]; i++) {
        ck_assert_int_eq(jwt_issuer_for_pool(NULL, bad_pools[i], &b, &e), -1);
        ck_assert_int_eq(e.code, ERR_CONFIG);
    }
    ck_assert_int_eq(jwt_issuer_for_pool("US EAST", POOL, &b, &e), -1);
    ck_assert_int_eq(jwt_issuer_for_pool("x.evil.com/", POOL, &b, &e), -1);
    ck_assert_uint_eq(b.len, 0);
    buf_cleanup(&b);
}
END_TEST

/* ---- devkey files ----------------------------------------------------------------------- */

START_TEST(devkey_files_and_reload)
{
    char pem[128], jw[128];
    snprintf(pem, sizeof pem, "%s/%s", g_dir, DEVKEY_PEM_NAME);
    snprintf(jw, sizeof jw, "%s/%s", g_dir, DEVKEY_JWKS_NAME);
    struct stat st;
    ck_assert_int_eq(stat(pem, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0600);
    ck_assert_int_eq(stat(g_dir, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0700);

    /* never overwritten */
    devkey *k = NULL;
    errinfo e;
    ck_assert_int_eq(devkey_generate(g_dir, &k, &e), -1);
    ck_assert_int_eq(e.code, ERR_CONFIG);
    ck_assert_ptr_null(k);

    /* reload: same kid (the kid is a function of the key) */
    ck_assert_msg(devkey_load(g_dir, &k, &e) == 0, "%s", e.msg);
    ck_assert_str_eq(devkey_kid(k), devkey_kid(g_key));
    ck_assert_uint_eq(strlen(devkey_kid(k)), 43);
    devkey_free(k);

    /* jwks.json publishes exactly that key */
    json_t *doc = json_load_file(jw, 0, NULL);
    ck_assert_ptr_nonnull(doc);
    json_t *k0 = json_array_get(json_object_get(doc, "keys"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(k0, "kid")), devkey_kid(g_key));
    ck_assert_str_eq(json_string_value(json_object_get(k0, "alg")), "RS256");
    ck_assert_str_eq(json_string_value(json_object_get(k0, "use")), "sig");
    ck_assert_str_eq(json_string_value(json_object_get(k0, "e")), "AQAB");
    json_decref(doc);

    /* devkey_open rewrites a missing jwks.json and keeps the key */
    ck_assert_int_eq(unlink(jw), 0);
    ck_assert_msg(devkey_open(g_dir, &k, &e) == 0, "%s", e.msg);
    ck_assert_str_eq(devkey_kid(k), devkey_kid(g_key));
    ck_assert_int_eq(stat(jw, &st), 0);
    devkey_free(k);

    /* a missing key is ERR_NOTFOUND; a broken one ERR_INVALID */
    ck_assert_int_eq(devkey_load("/nonexistent/cruddur", &k, &e), -1);
    ck_assert_int_eq(e.code, ERR_NOTFOUND);
    char dir[64] = "/tmp/check_jwt_bad.XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, DEVKEY_PEM_NAME);
    FILE *f = fopen(path, "w");
    fputs("-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n", f);
    fclose(f);
    chmod(path, 0600);
    ck_assert_int_eq(devkey_load(dir, &k, &e), -1);
    ck_assert_int_eq(e.code, ERR_INVALID);
    ck_assert_int_eq(devkey_open(dir, &k, &e), -1);
    unlink(path);
    /* a FIFO as the key (nobody writing): refused at once, not waited on */
    ck_assert_int_eq(mkfifo(path, 0600), 0);
    ck_assert_int_eq(devkey_load(dir, &k, &e), -1);
    ck_assert_int_eq(e.code, ERR_INVALID);
    unlink(path);
    /* a FIFO as jwks.json: devkey_open replaces it with the key's JWKS */
    char jwks_path[128];
    snprintf(jwks_path, sizeof jwks_path, "%s/%s", dir, DEVKEY_JWKS_NAME);
    ck_assert_int_eq(mkfifo(jwks_path, 0600), 0);
    /* devkey_open on an empty directory generates */
    ck_assert_msg(devkey_open(dir, &k, &e) == 0, "%s", e.msg);
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0600);
    ck_assert_int_eq(stat(jwks_path, &st), 0);
    ck_assert(S_ISREG(st.st_mode));
    doc = json_load_file(jwks_path, 0, NULL);
    ck_assert_str_eq(
        json_string_value(json_object_get(json_array_get(json_object_get(doc, "keys"), 0), "kid")),
        devkey_kid(k));
    json_decref(doc);
    devkey_free(k);
    unlink(path);
    snprintf(path, sizeof path, "%s/%s", dir, DEVKEY_JWKS_NAME);
    unlink(path);
    rmdir(dir);
}
END_TEST

static Suite *jwt_suite(void)
{
    Suite *s = suite_create("jwt");
    TCase *tc = tcase_create("valid");
    tcase_add_test(tc, valid_minted_token_verifies);
    tcase_add_test(tc, minted_token_is_cognito_shaped);
    tcase_add_test(tc, optional_claims);
    suite_add_tcase(s, tc);

    tc = tcase_create("rejected");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, token_is_rejected, 0, (int)N_REJECT);
    tcase_add_test(tc, rejection_reasons_are_distinct);
    tcase_add_test(tc, expected_token_use_and_missing_config);
    tcase_add_test(tc, unavailable_keys_are_not_a_bad_token);
    suite_add_tcase(s, tc);

    tc = tcase_create("edges");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, leeway_edges);
    tcase_add_test(tc, size_limit_edge);
    suite_add_tcase(s, tc);

    tc = tcase_create("encoding");
    tcase_add_test(tc, b64url_round_trip_and_strictness);
    tcase_add_test(tc, issuer_for_pool);
    suite_add_tcase(s, tc);

    tc = tcase_create("devkey");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, devkey_files_and_reload);
    suite_add_tcase(s, tc);
    return s;
}

static void remove_dir(const char *dir)
{
    char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, DEVKEY_PEM_NAME);
    unlink(path);
    snprintf(path, sizeof path, "%s/%s", dir, DEVKEY_JWKS_NAME);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    errinfo e;
    snprintf(g_dir, sizeof g_dir, "/tmp/check_jwt.XXXXXX");
    snprintf(g_dir2, sizeof g_dir2, "/tmp/check_jwt2.XXXXXX");
    if (!mkdtemp(g_dir) || !mkdtemp(g_dir2)) {
        perror("mkdtemp");
        return 1;
    }
    /* devkey_generate creates the directory itself */
    if (rmdir(g_dir) != 0 || devkey_generate(g_dir, &g_key, &e) != 0 ||
        devkey_generate(g_dir2, &g_other, &e) != 0) {
        fprintf(stderr, "devkey_generate: %s\n", e.msg);
        return 1;
    }
    char src[128];
    snprintf(src, sizeof src, "file://%s/%s", g_dir, DEVKEY_JWKS_NAME);
    jwks_options o = { .source = src };
    if (!(g_jwks = jwks_new(&o, &e))) {
        fprintf(stderr, "jwks_new: %s\n", e.msg);
        return 1;
    }
    int rc = tap_run(jwt_suite());
    jwks_free(g_jwks);
    devkey_free(g_key);
    devkey_free(g_other);
    remove_dir(g_dir);
    remove_dir(g_dir2);
    return rc;
}
