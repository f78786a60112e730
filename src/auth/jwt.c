/* jwt.c — RS256 verification of Cognito access tokens: split, strict base64url, strict
 * JSON, one EVP_DigestVerify, then the claims. Reasons never quote the token. */
#include "config.h"
#include "auth/jwt.h"

#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "base/base64.h"
#include "base/jparse.h"
#include "base/utf8.h"

#define JWT_JSON_DEPTH 16
#define JWT_PART_MAX (JWT_MAX_LEN / 4 * 3 + 3) /* decoded bytes of the longest part */
#define JWT_SIG_MAX (JWKS_MAX_BITS / 8)

/* ---- helpers ----------------------------------------------------------------------------- */

static int jwt_reject(errinfo *e, const char *reason)
{
    return errinfo_set(e, ERR_INVALID, "%s", reason);
}

static bool jwt_str_is(const json_t *v, const char *s)
{
    size_t n = strlen(s);
    return json_string_length(v) == n && memcmp(json_string_value(v), s, n) == 0;
}

/* Checks one part's characters: the reason, or NULL when all are base64url. */
static const char *jwt_part_chars(strv p, const char *padding_reason, const char *alphabet_reason)
{
    for (size_t i = 0; i < p.len; i++) {
        unsigned char c = (unsigned char)p.ptr[i];
        if (base64_value(BASE64_URL, c) < 0)
            return c == '=' ? padding_reason : alphabet_reason;
    }
    return NULL;
}

/* Decodes and parses one part that must hold a JSON object. */
static json_t *jwt_part_object(strv p, const char *what, errinfo *e)
{
    unsigned char raw[JWT_PART_MAX];
    size_t n = 0;
    if (base64_decode_raw(BASE64_URL, p.ptr, p.len, raw, &n) != 0) {
        errinfo_set(e, ERR_INVALID, "%s part is not canonical base64url", what);
        return NULL;
    }
    errinfo pe;
    json_t *v = jparse((const char *)raw, n, JWT_JSON_DEPTH, &pe);
    if (!v) {
        if (pe.code == ERR_NOMEM)
            errinfo_nomem(e);
        else
            errinfo_set(e, ERR_INVALID, "%s is not JSON", what);
        return NULL;
    }
    if (!json_is_object(v)) {
        json_decref(v);
        errinfo_set(e, ERR_INVALID, "%s is not a JSON object", what);
        return NULL;
    }
    return v;
}

/* The reason for an alg other than RS256; names only algorithms from a fixed list. */
static int jwt_reject_alg(const json_t *alg, errinfo *e)
{
    static const char *const known[] = { "none",  "HS256", "HS384",  "HS512", "RS384",
                                         "RS512", "PS256", "PS384",  "PS512", "ES256",
                                         "ES384", "ES512", "ES256K", "EdDSA" };
    if (!json_is_string(alg))
        return jwt_reject(e, "alg is not a string");
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (jwt_str_is(alg, known[i]))
            return errinfo_set(e, ERR_INVALID, "alg %s not allowed (RS256 only)", known[i]);
    return jwt_reject(e, "alg not allowed (RS256 only)");
}

/* 0 when absent (*out NULL), 1 when a string, -1 when another type. */
static int jwt_claim_str(const json_t *o, const char *name, const json_t **out)
{
    const json_t *v = json_object_get(o, name);
    *out = NULL;
    if (!v)
        return 0;
    if (!json_is_string(v))
        return -1;
    *out = v;
    return 1;
}

/* Copies a string claim of at most cap - 1 bytes without control characters. */
static bool jwt_copy_text(const json_t *v, char *dst, size_t cap)
{
    size_t n = json_string_length(v);
    const char *s = json_string_value(v);
    if (n >= cap)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return false;
    memcpy(dst, s, n);
    dst[n] = '\0';
    return true;
}

static bool jwt_sub_ok(const json_t *v)
{
    size_t n = json_string_length(v);
    const char *s = json_string_value(v);
    if (n == 0 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-'))
            return false;
    }
    return true;
}

/* ---- verification ------------------------------------------------------------------------ */

void jwt_expect_init(jwt_expect *x, const char *issuer, const char *client_id)
{
    x->issuer = issuer;
    x->client_id = client_id;
    x->token_use = NULL;
    x->leeway_s = JWT_LEEWAY_DEFAULT_S;
}

/* Header checks; on success *kid_out is borrowed from hdr. */
static int jwt_check_header(const json_t *hdr, const char **kid_out, errinfo *e)
{
    const json_t *alg = json_object_get(hdr, "alg");
    if (!alg)
        return jwt_reject(e, "alg missing");
    if (!jwt_str_is(alg, "RS256"))
        return jwt_reject_alg(alg, e);
    if (json_object_get(hdr, "crit"))
        return jwt_reject(e, "crit header not supported");
    const json_t *kid = json_object_get(hdr, "kid");
    if (!kid)
        return jwt_reject(e, "kid missing");
    if (!json_is_string(kid))
        return jwt_reject(e, "kid is not a string");
    size_t n = json_string_length(kid);
    const char *s = json_string_value(kid);
    if (n == 0 || n > JWKS_KID_MAX)
        return jwt_reject(e, "kid has a bad length");
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
            return jwt_reject(e, "kid has characters outside printable ASCII");
    *kid_out = s;
    return 0;
}

static int jwt_check_signature(EVP_PKEY *pkey, strv signing_input, strv sig_part, errinfo *e)
{
    unsigned char sig[JWT_SIG_MAX + 3];
    size_t n = 0;
    if (sig_part.len == 0)
        return jwt_reject(e, "signature is empty");
    int want = EVP_PKEY_get_size(pkey);
    if (want <= 0 || (size_t)want > JWT_SIG_MAX)
        return errinfo_set(e, ERR_INTERNAL, "signing key has an unexpected size");
    if (sig_part.len > ((size_t)want + 2) / 3 * 4)
        return jwt_reject(e, "signature has the wrong length");
    if (base64_decode_raw(BASE64_URL, sig_part.ptr, sig_part.len, sig, &n) != 0)
        return jwt_reject(e, "signature part is not canonical base64url");
    if (n != (size_t)want)
        return jwt_reject(e, "signature has the wrong length");

    int rc = -1;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    if (!md) {
        errinfo_nomem(e);
        goto out;
    }
    if (EVP_DigestVerifyInit_ex(md, &pctx, "SHA256", NULL, NULL, pkey, NULL) != 1 ||
        EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1) {
        errinfo_set(e, ERR_INTERNAL, "OpenSSL could not set up RS256 verification");
        goto out;
    }
    if (EVP_DigestVerify(md, sig, n, (const unsigned char *)signing_input.ptr, signing_input.len) !=
        1) {
        jwt_reject(e, "signature does not verify");
        goto out;
    }
    rc = 0;
out:
    EVP_MD_CTX_free(md);
    ERR_clear_error();
    return rc;
}

static int jwt_int_claim(const json_t *o, const char *name, bool required, bool *present,
                         int64_t *out, errinfo *e)
{
    const json_t *v = json_object_get(o, name);
    *present = v != NULL;
    if (!v)
        return required ? errinfo_set(e, ERR_INVALID, "%s missing", name) : 0;
    if (!json_is_integer(v))
        return errinfo_set(e, ERR_INVALID, "%s is not an integer", name);
    *out = (int64_t)json_integer_value(v);
    return 0;
}

static int jwt_check_claims(const json_t *pl, const jwt_expect *x, int64_t now_s, jwt_claims *out,
                            errinfo *e)
{
    const json_t *v;
    int r;
    int64_t leeway = x->leeway_s < 0 ? 0 : x->leeway_s;
    if (leeway > JWT_LEEWAY_MAX_S)
        leeway = JWT_LEEWAY_MAX_S;
    const char *use = x->token_use ? x->token_use : "access";

    if ((r = jwt_claim_str(pl, "iss", &v)) == 0)
        return jwt_reject(e, "iss missing");
    if (r < 0 || !jwt_str_is(v, x->issuer))
        return jwt_reject(e, "issuer mismatch");

    if ((r = jwt_claim_str(pl, "token_use", &v)) == 0)
        return jwt_reject(e, "token_use missing");
    if (r < 0 || !jwt_str_is(v, use)) {
        if (r > 0 && jwt_str_is(v, "id") && strcmp(use, "access") == 0)
            return jwt_reject(e, "id token, not an access token");
        return jwt_reject(e, "token_use mismatch");
    }

    if ((r = jwt_claim_str(pl, "client_id", &v)) == 0)
        return jwt_reject(e, "client_id missing");
    if (r < 0 || !jwt_str_is(v, x->client_id))
        return jwt_reject(e, "client_id mismatch");

    bool present;
    int64_t t = 0;
    if (jwt_int_claim(pl, "exp", true, &present, &out->exp, e) != 0)
        return -1;
    if (out->exp <= now_s - leeway)
        return jwt_reject(e, "token expired");
    if (jwt_int_claim(pl, "nbf", false, &present, &t, e) != 0)
        return -1;
    if (present && t > now_s + leeway)
        return jwt_reject(e, "token not yet valid (nbf in the future)");
    if (jwt_int_claim(pl, "iat", false, &present, &out->iat, e) != 0)
        return -1;
    if (present && out->iat > now_s + leeway)
        return jwt_reject(e, "token issued in the future (iat)");

    if ((r = jwt_claim_str(pl, "sub", &v)) == 0)
        return jwt_reject(e, "sub missing");
    if (r < 0 || !jwt_sub_ok(v))
        return jwt_reject(e, "sub malformed");
    memcpy(out->sub, json_string_value(v), json_string_length(v) + 1);

    if ((r = jwt_claim_str(pl, "username", &v)) < 0 ||
        (r > 0 && !jwt_copy_text(v, out->username, sizeof out->username)))
        return jwt_reject(e, "username malformed");
    if ((r = jwt_claim_str(pl, "jti", &v)) < 0 ||
        (r > 0 && !jwt_copy_text(v, out->jti, sizeof out->jti)))
        return jwt_reject(e, "jti malformed");
    if ((r = jwt_claim_str(pl, "scope", &v)) < 0)
        return jwt_reject(e, "scope is not a string");
    if (r > 0) {
        /* truncate at a UTF-8 character boundary */
        const char *s = json_string_value(v);
        size_t n = json_string_length(v);
        if (n >= sizeof out->scope)
            n = utf8_cut(s, sizeof out->scope - 1);
        for (size_t i = 0; i < n; i++)
            if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
                return jwt_reject(e, "scope malformed");
        memcpy(out->scope, s, n);
        out->scope[n] = '\0';
    }
    return 0;
}

int jwt_verify(jwks *keys, const char *token, size_t len, const jwt_expect *x, int64_t now_s,
               jwt_claims *out, errinfo *e)
{
    json_t *hdr = NULL, *pl = NULL;
    int rc = -1;
    memset(out, 0, sizeof *out);
    if (!x || !x->issuer || !x->client_id || !keys) {
        errinfo_set(e, ERR_CONFIG, "jwt_verify: keys, issuer and client_id are required");
        goto out;
    }
    if (!token || len == 0) {
        jwt_reject(e, "token is empty");
        goto out;
    }
    if (len > JWT_MAX_LEN) {
        jwt_reject(e, "token is longer than 8192 bytes");
        goto out;
    }

    /* split: exactly two dots, only printable ASCII anywhere */
    size_t dots[2] = { 0, 0 }, ndots = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)token[i];
        if (c < 0x21 || c > 0x7e) {
            jwt_reject(e, "token has bytes outside printable ASCII");
            goto out;
        }
        if (c == '.') {
            if (ndots == 2) {
                jwt_reject(e, "token has more than 3 parts");
                goto out;
            }
            dots[ndots++] = i;
        }
    }
    if (ndots < 2) {
        jwt_reject(e, "token has fewer than 3 parts");
        goto out;
    }
    strv hp = { token, dots[0] };
    strv pp = { token + dots[0] + 1, dots[1] - dots[0] - 1 };
    strv sp = { token + dots[1] + 1, len - dots[1] - 1 };
    if (hp.len == 0 || pp.len == 0) {
        jwt_reject(e, hp.len == 0 ? "header part is empty" : "payload part is empty");
        goto out;
    }
    const char *why;
    if ((why = jwt_part_chars(hp, "header part has base64 padding",
                              "header part has a character outside base64url")) ||
        (why = jwt_part_chars(pp, "payload part has base64 padding",
                              "payload part has a character outside base64url")) ||
        (why = jwt_part_chars(sp, "signature part has base64 padding",
                              "signature part has a character outside base64url"))) {
        jwt_reject(e, why);
        goto out;
    }

    if (!(hdr = jwt_part_object(hp, "header", e)))
        goto out;
    const char *kid = NULL;
    if (jwt_check_header(hdr, &kid, e) != 0)
        goto out;

    EVP_PKEY *pkey = NULL;
    errinfo ke;
    if (jwks_get(keys, kid, &pkey, &ke) != 0) {
        if (ke.code == ERR_NOTFOUND)
            jwt_reject(e, "no key for the token's kid");
        else
            errinfo_set(e, ke.code, "signing keys unavailable: %s", ke.msg);
        goto out;
    }
    strv signing_input = { token, dots[1] };
    if (jwt_check_signature(pkey, signing_input, sp, e) != 0)
        goto out;

    if (!(pl = jwt_part_object(pp, "payload", e)))
        goto out;
    if (jwt_check_claims(pl, x, now_s, out, e) != 0)
        goto out;
    rc = 0;
out:
    if (rc != 0)
        memset(out, 0, sizeof *out);
    json_decref(pl);
    json_decref(hdr);
    return rc;
}

/* ---- Cognito names ----------------------------------------------------------------------- */

static bool jwt_region_ok(const char *r, size_t n)
{
    if (n == 0 || n > 32)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((r[i] >= 'a' && r[i] <= 'z') || (r[i] >= '0' && r[i] <= '9') || r[i] == '-'))
            return false;
    return true;
}

int jwt_issuer_for_pool(const char *region, const char *pool, buf *out, errinfo *e)
{
    size_t pn = pool ? strlen(pool) : 0;
    const char *us = pool ? memchr(pool, '_', pn) : NULL;
    if (pn == 0 || pn > 55 || !us || us == pool || us[1] == '\0')
        return errinfo_set(e, ERR_CONFIG, "Cognito user pool id must look like <region>_<id>");
    for (size_t i = 0; i < pn; i++) {
        char c = pool[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return errinfo_set(e, ERR_CONFIG, "Cognito user pool id has a bad character");
    }
    strv reg = (region && *region) ? strv_from(region) : (strv){ pool, (size_t)(us - pool) };
    if (!jwt_region_ok(reg.ptr, reg.len))
        return errinfo_set(e, ERR_CONFIG, "AWS region is malformed");
    buf tmp;
    buf_init(&tmp, 256);
    int rc = 0;
    if (buf_append_str(&tmp, "https://cognito-idp.") != 0 || buf_append_strv(&tmp, reg) != 0 ||
        buf_append_str(&tmp, ".amazonaws.com/") != 0 || buf_append_str(&tmp, pool) != 0 ||
        buf_append_strv(out, buf_view(&tmp)) != 0)
        rc = errinfo_set(e, ERR_NOMEM, "issuer URL does not fit");
    buf_cleanup(&tmp);
    return rc;
}
