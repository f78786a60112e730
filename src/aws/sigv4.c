/* sigv4.c — AWS Signature Version 4: the input checks and sigv4_sign, which assembles the
 * stages: the canonical request (sigv4_canon.c), the string to sign (here) and the signature
 * with the signing key cached per signer as precomputed HMAC states (sigv4_key.c).
 *
 * Design note. A signature costs four SHA-256 runs over short inputs (payload, canonical
 * request, HMAC inner, HMAC outer); everything else is string building into buffers the
 * caller keeps between calls. The signing key (the HMAC chain over date, region, service and
 * "aws4_request") changes once a day, so the signer keeps the SHA-256 states after the key's
 * ipad and opad blocks and copies them per signature. The key is looked up by date, region,
 * service and a SHA-256 fingerprint of the access key id and secret; neither the secret nor
 * the raw signing key is kept. */
#include "config.h"
#include "aws/sigv4.h"
#include "aws/sigv4_internal.h"
#include "aws/sigv4_stages.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "base/hex.h"

#define MAX_ACCESS_KEY_ID 128
#define MAX_METHOD 16
#define MAX_EXPIRES_S 604800
#define MAX_TIME_S INT64_C(253402300799) /* 9999-12-31T23:59:59Z */
#define MAX_ENTRIES (SIGV4_MAX_HEADERS + 3)
/* "20150830/" region "/" service "/aws4_request" */
#define MAX_SCOPE (9 + SIGV4_MAX_SCOPE_FIELD + 1 + SIGV4_MAX_SCOPE_FIELD + 13)

static const char ALGORITHM[] = "AWS4-HMAC-SHA256";

/* ---- input checks ------------------------------------------------------------------------- */

enum charset {
    CS_ANY,   /* any byte but NUL */
    CS_SCOPE, /* A-Za-z0-9 - _ . (access key id, region, service) */
    CS_FIELD, /* no control characters but tab (header values, tokens) */
};

static bool ok_scope(unsigned char c)
{
    return sigv4_is_alnum(c) || c == '-' || c == '_' || c == '.';
}

/* A C string field: present, at most max bytes, every byte in the charset. */
static int check_cstr(const char *what, const char *s, size_t max, enum charset cs, size_t *len,
                      errinfo *e)
{
    if (!s || !*s)
        return errinfo_set(e, ERR_INVALID, "sigv4: the %s is missing", what);
    size_t n = strnlen(s, max + 1);
    if (n > max)
        return errinfo_set(e, ERR_TOOBIG, "sigv4: the %s is longer than %zu bytes", what, max);
    bool ok = true;
    const unsigned char *u = (const unsigned char *)s;
    if (cs == CS_SCOPE)
        for (size_t i = 0; i < n; i++)
            ok &= ok_scope(u[i]);
    else if (cs == CS_FIELD)
        for (size_t i = 0; i < n; i++)
            ok &= sigv4_ok_field_value(u[i]);
    if (!ok)
        return errinfo_set(e, ERR_INVALID, "sigv4: the %s has a character not allowed", what);
    *len = n;
    return 0;
}

static bool ok_method(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || c == '-' || c == '_';
}

static int check_payload_hash(const char *h, errinfo *e)
{
    if (strcmp(h, "UNSIGNED-PAYLOAD") == 0)
        return 0;
    size_t n = strnlen(h, 65);
    bool ok = n == 64;
    for (size_t i = 0; ok && i < n; i++)
        ok = (h[i] >= '0' && h[i] <= '9') || (h[i] >= 'a' && h[i] <= 'f');
    if (!ok)
        return errinfo_set(e, ERR_INVALID,
                           "sigv4: payload_hash must be 64 lowercase hex "
                           "digits or UNSIGNED-PAYLOAD");
    return 0;
}

/* "YYYYMMDDTHHMMSSZ" for t seconds since the epoch (0 <= t <= MAX_TIME_S). */
static void format_amz_date(int64_t t, char out[17])
{
    int64_t days = t / 86400, secs = t % 86400;
    /* civil_from_days (H. Hinnant), days since 1970-01-01 >= 0 */
    int64_t z = days + 719468;
    int64_t era = z / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t d = doy - (153 * mp + 2) / 5 + 1;
    int64_t m = mp < 10 ? mp + 3 : mp - 9;
    int64_t y = yoe + era * 400 + (m <= 2);
    int64_t f[6] = { y, m, d, secs / 3600, secs / 60 % 60, secs % 60 };
    int w[6] = { 4, 2, 2, 2, 2, 2 };
    char *o = out;
    for (int k = 0; k < 6; k++) {
        if (k == 3)
            *o++ = 'T';
        for (int j = w[k] - 1; j >= 0; j--) {
            o[j] = (char)('0' + f[k] % 10);
            f[k] /= 10;
        }
        o += w[k];
    }
    *o++ = 'Z';
    *o = '\0';
}

/* ---- lifecycle ---------------------------------------------------------------------------- */

void sigv4_result_init(sigv4_result *r)
{
    buf_init(&r->canonical_request, 0);
    buf_init(&r->string_to_sign, 0);
    buf_init(&r->authorization, 0);
    buf_init(&r->presigned_query, 0);
    r->signature[0] = '\0';
    r->amz_date[0] = '\0';
    r->content_sha256[0] = '\0';
}

void sigv4_result_cleanup(sigv4_result *r)
{
    if (!r)
        return;
    /* the canonical request and presigned query may hold the session token */
    buf_cleanup_wipe(&r->canonical_request);
    buf_cleanup_wipe(&r->string_to_sign);
    buf_cleanup_wipe(&r->authorization);
    buf_cleanup_wipe(&r->presigned_query);
}

/* ---- signing ------------------------------------------------------------------------------ */

int sigv4_sign(sigv4_signer *s, const sigv4_request *req, const sigv4_credentials *cred,
               const sigv4_options *opt, sigv4_result *out, errinfo *e)
{
    size_t idlen, secretlen, regionlen, servicelen, methodlen, tokenlen = 0;
    sigv4_hdr_ent ent[MAX_ENTRIES], added[3];
    size_t nent = 0, nadded = 0;
    unsigned char md[SIGV4_SHA256_LEN];
    char hex[2 * SIGV4_SHA256_LEN + 1];
    char scope[MAX_SCOPE + 1];
    char credential[MAX_ACCESS_KEY_ID + 1 + MAX_SCOPE + 1];
    size_t scopelen, credlen;

    if (!s || !req || !cred || !opt || !out)
        return errinfo_set(e, ERR_INVALID, "sigv4: missing argument");
    buf_reset(&out->canonical_request);
    buf_reset(&out->string_to_sign);
    buf_reset(&out->authorization);
    buf_reset(&out->presigned_query);
    out->signature[0] = '\0';
    out->amz_date[0] = '\0';
    out->content_sha256[0] = '\0';

    /* inputs */
    if (check_cstr("access key id", cred->access_key_id, MAX_ACCESS_KEY_ID, CS_SCOPE, &idlen, e) !=
            0 ||
        check_cstr("secret access key", cred->secret_access_key, SIGV4_MAX_SECRET, CS_ANY,
                   &secretlen, e) != 0 ||
        check_cstr("region", opt->region, SIGV4_MAX_SCOPE_FIELD, CS_SCOPE, &regionlen, e) != 0 ||
        check_cstr("service", opt->service, SIGV4_MAX_SCOPE_FIELD, CS_SCOPE, &servicelen, e) != 0)
        return -1;
    bool token = cred->session_token && cred->session_token[0];
    if (token && check_cstr("session token", cred->session_token, SIGV4_MAX_TOKEN, CS_FIELD,
                            &tokenlen, e) != 0)
        return -1;
    if (req->method.len == 0 || !req->method.ptr)
        return errinfo_set(e, ERR_INVALID, "sigv4: the method is missing");
    methodlen = req->method.len;
    if (methodlen > MAX_METHOD)
        return errinfo_set(e, ERR_INVALID, "sigv4: the method is longer than %d bytes", MAX_METHOD);
    for (size_t i = 0; i < methodlen; i++)
        if (!ok_method((unsigned char)req->method.ptr[i]))
            return errinfo_set(e, ERR_INVALID, "sigv4: bad method %.*s", (int)methodlen,
                               req->method.ptr);
    if (req->query.len > 0 && !req->query.ptr)
        return errinfo_set(e, ERR_INVALID, "sigv4: the query is NULL");
    if (!req->path.ptr)
        return errinfo_set(e, ERR_INVALID, "sigv4: the path is missing");
    if (opt->time_s < 0 || opt->time_s > MAX_TIME_S)
        return errinfo_set(e, ERR_INVALID, "sigv4: time_s %lld is out of range",
                           (long long)opt->time_s);
    if (opt->presign && (opt->expires_s < 1 || opt->expires_s > MAX_EXPIRES_S))
        return errinfo_set(e, ERR_INVALID, "sigv4: expires_s %ld is not in 1..%d", opt->expires_s,
                           MAX_EXPIRES_S);

    format_amz_date(opt->time_s, out->amz_date);

    /* payload hash */
    if (req->payload_hash) {
        if (check_payload_hash(req->payload_hash, e) != 0)
            return -1;
        memcpy(out->content_sha256, req->payload_hash, strlen(req->payload_hash) + 1);
    } else {
        if (req->payload_len > SIGV4_MAX_PAYLOAD)
            return errinfo_set(e, ERR_TOOBIG,
                               "sigv4: the payload is over %zu bytes; pass payload_hash",
                               SIGV4_MAX_PAYLOAD);
        if (req->payload_len > 0 && !req->payload)
            return errinfo_set(e, ERR_INVALID, "sigv4: the payload is NULL");
        if (sigv4_sha256(s, req->payload, req->payload_len, md) != 0)
            return errinfo_set(e, ERR_INTERNAL, "sigv4: OpenSSL failed hashing the payload");
        hex_encode(md, SIGV4_SHA256_LEN, out->content_sha256);
    }

    /* headers, sorted; the signed-headers list */
    if (!opt->presign) {
        added[nadded++] = (sigv4_hdr_ent){ STRV("x-amz-date"), { out->amz_date, 16 } };
        if (token && !opt->omit_session_token)
            added[nadded++] =
                (sigv4_hdr_ent){ STRV("x-amz-security-token"), { cred->session_token, tokenlen } };
        if (opt->sign_body)
            added[nadded++] =
                (sigv4_hdr_ent){ STRV("x-amz-content-sha256"), strv_from(out->content_sha256) };
    }
    if (sigv4_gather_headers(req, opt, added, nadded, ent, &nent, e) != 0)
        return -1;
    buf *sh = &s->signed_headers;
    buf_reset(sh);
    for (size_t i = 0; i < nent; i++) {
        if (i > 0 && sigv4_name_cmp(ent[i - 1].name, ent[i].name) == 0)
            continue;
        if (i > 0)
            buf_putc(sh, ';');
        sigv4_append_lower(sh, ent[i].name);
    }
    if (sh->failed)
        return sigv4_fail_buf(sh, "signed headers", e);

    /* scope and credential */
    memcpy(scope, out->amz_date, 8);
    scope[8] = '/';
    scopelen = 9;
    memcpy(scope + scopelen, opt->region, regionlen);
    scopelen += regionlen;
    scope[scopelen++] = '/';
    memcpy(scope + scopelen, opt->service, servicelen);
    scopelen += servicelen;
    memcpy(scope + scopelen, "/aws4_request", 14);
    scopelen += 13;
    memcpy(credential, cred->access_key_id, idlen);
    credential[idlen] = '/';
    memcpy(credential + idlen + 1, scope, scopelen + 1);
    credlen = idlen + 1 + scopelen;

    /* canonical request */
    buf *cr = &out->canonical_request;
    buf_append(cr, req->method.ptr, methodlen);
    buf_putc(cr, '\n');
    if (sigv4_canonical_uri(cr, req->path, opt->normalize_path, e) != 0)
        return -1;
    buf_putc(cr, '\n');
    char expires[24];
    size_t expireslen = 0;
    if (opt->presign) {
        expireslen = sigv4_format_uint((unsigned long long)opt->expires_s, expires);
        sigv4_qextra extra[6];
        size_t nextra = 0;
        extra[nextra++] = (sigv4_qextra){ STRV("X-Amz-Algorithm"), STRV(ALGORITHM) };
        extra[nextra++] = (sigv4_qextra){ STRV("X-Amz-Credential"), { credential, credlen } };
        extra[nextra++] = (sigv4_qextra){ STRV("X-Amz-Date"), { out->amz_date, 16 } };
        extra[nextra++] = (sigv4_qextra){ STRV("X-Amz-Expires"), { expires, expireslen } };
        extra[nextra++] = (sigv4_qextra){ STRV("X-Amz-SignedHeaders"), buf_view(sh) };
        if (token && !opt->omit_session_token)
            extra[nextra++] =
                (sigv4_qextra){ STRV("X-Amz-Security-Token"), { cred->session_token, tokenlen } };
        if (sigv4_canon_query(cr, &s->scratch, req->query, extra, nextra, e) != 0)
            return -1;
    } else if (sigv4_canon_query(cr, &s->scratch, req->query, NULL, 0, e) != 0) {
        return -1;
    }
    buf_putc(cr, '\n');
    for (size_t i = 0; i < nent; i++) {
        if (i > 0 && sigv4_name_cmp(ent[i - 1].name, ent[i].name) == 0) {
            buf_putc(cr, ',');
        } else {
            sigv4_append_lower(cr, ent[i].name);
            buf_putc(cr, ':');
        }
        sigv4_append_folded(cr, ent[i].value);
        if (i + 1 == nent || sigv4_name_cmp(ent[i].name, ent[i + 1].name) != 0)
            buf_putc(cr, '\n');
    }
    buf_putc(cr, '\n');
    buf_append_strv(cr, buf_view(sh));
    buf_putc(cr, '\n');
    buf_append_str(cr, out->content_sha256);
    if (cr->failed)
        return sigv4_fail_buf(cr, "canonical request", e);

    /* string to sign */
    if (sigv4_sha256(s, cr->data, cr->len, md) != 0)
        return errinfo_set(e, ERR_INTERNAL, "sigv4: OpenSSL failed hashing the request");
    hex_encode(md, SIGV4_SHA256_LEN, hex);
    buf *sts = &out->string_to_sign;
    buf_append(sts, ALGORITHM, sizeof ALGORITHM - 1);
    buf_putc(sts, '\n');
    buf_append(sts, out->amz_date, 16);
    buf_putc(sts, '\n');
    buf_append(sts, scope, scopelen);
    buf_putc(sts, '\n');
    buf_append(sts, hex, 64);
    if (sts->failed)
        return sigv4_fail_buf(sts, "string to sign", e);

    /* signature */
    if (sigv4_ensure_key(s, cred, idlen, secretlen, out->amz_date, opt->region, opt->service, e) !=
        0)
        return -1;
    if (sigv4_hmac_cached(s, sts->data, sts->len, md) != 0)
        return errinfo_set(e, ERR_INTERNAL, "sigv4: OpenSSL failed computing the signature");
    hex_encode(md, SIGV4_SHA256_LEN, out->signature);

    if (opt->presign) {
        buf *q = &out->presigned_query;
        if (req->query.len > 0) {
            buf_append_strv(q, req->query);
            buf_putc(q, '&');
        }
        buf_append_str(q, "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=");
        sigv4_uri_encode(q, (strv){ credential, credlen }, false);
        buf_append_str(q, "&X-Amz-Date=");
        buf_append(q, out->amz_date, 16);
        buf_append_str(q, "&X-Amz-SignedHeaders=");
        sigv4_uri_encode(q, buf_view(sh), false);
        buf_append_str(q, "&X-Amz-Expires=");
        buf_append(q, expires, expireslen);
        if (token) {
            buf_append_str(q, "&X-Amz-Security-Token=");
            sigv4_uri_encode(q, (strv){ cred->session_token, tokenlen }, false);
        }
        buf_append_str(q, "&X-Amz-Signature=");
        buf_append(q, out->signature, 64);
        if (q->failed)
            return sigv4_fail_buf(q, "presigned query", e);
    } else {
        buf *a = &out->authorization;
        buf_append(a, ALGORITHM, sizeof ALGORITHM - 1);
        buf_append_str(a, " Credential=");
        buf_append(a, credential, credlen);
        buf_append_str(a, ", SignedHeaders=");
        buf_append_strv(a, buf_view(sh));
        buf_append_str(a, ", Signature=");
        buf_append(a, out->signature, 64);
        if (a->failed)
            return sigv4_fail_buf(a, "authorization header", e);
    }
    return 0;
}
