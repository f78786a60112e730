/* jwks.c — the JWKS cache: fetch (http(s) or file), strict parse into RSA public keys built
 * with OSSL_PARAM_BLD + EVP_PKEY_fromdata, lookup by kid with rate-limited refetches. */
#include "config.h"
#include "auth/jwks.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "auth/jwt.h"
#include "aws/http.h"
#include "base/base64.h"
#include "base/clock.h"
#include "base/file.h"
#include "base/jparse.h"
#include "base/log.h"

#define JWKS_JSON_DEPTH 8
#define JWKS_SOURCE_MAX 2048

typedef struct jwks_key {
    char kid[JWKS_KID_MAX + 1];
    EVP_PKEY *pkey;
} jwks_key;

typedef struct jwks_set {
    jwks_key keys[JWKS_MAX_KEYS];
    size_t n;
    size_t skipped;
} jwks_set;

struct jwks {
    char *source;     /* as configured (for logs) */
    const char *path; /* into source when it names a file, else NULL */
    jwks_options o;
    jwks_set *set; /* NULL until a set loads */
    int64_t loaded_at_s;
    int64_t last_attempt_s;
    bool attempted;
    unsigned long fetches, failures;
    errinfo last_err; /* why the last fetch failed */
};

static int64_t jwks_mono_s(void *ud)
{
    (void)ud;
    return clock_mono_ms() / 1000;
}

static int64_t jwks_now(const jwks *k)
{
    return k->o.now_s_fn(k->o.now_ud);
}

static void jwks_set_free(jwks_set *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++)
        EVP_PKEY_free(s->keys[i].pkey);
    free(s);
}

/* ---- construction ------------------------------------------------------------------------ */

/* Points *path at the file a source names, NULL for a URL; -1 for anything else. */
static int jwks_classify(const char *src, const char **path)
{
    *path = NULL;
    if (src[0] == '/') {
        *path = src;
        return 0;
    }
    if (strncmp(src, "file:///", 8) == 0) {
        *path = src + 7;
        return 0;
    }
    size_t skip;
    if (strncasecmp(src, "https://", 8) == 0)
        skip = 8;
    else if (strncasecmp(src, "http://", 7) == 0)
        skip = 7;
    else
        return -1;
    const char *host = src + skip;
    size_t hl = strcspn(host, "/?#");
    if (hl == 0 || memchr(host, '@', hl)) /* no empty host, no user:password@ */
        return -1;
    return 0;
}

jwks *jwks_new(const jwks_options *o, errinfo *e)
{
    if (!o || !o->source || !*o->source) {
        errinfo_set(e, ERR_CONFIG, "JWKS source is not set");
        return NULL;
    }
    size_t n = strlen(o->source);
    if (n > JWKS_SOURCE_MAX) {
        errinfo_set(e, ERR_CONFIG, "JWKS source is longer than %d bytes", JWKS_SOURCE_MAX);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)o->source[i];
        if (c < 0x21 || c == 0x7f) {
            errinfo_set(e, ERR_CONFIG, "JWKS source contains spaces or control characters");
            return NULL;
        }
    }
    const char *path;
    if (jwks_classify(o->source, &path) != 0) {
        errinfo_set(e, ERR_CONFIG,
                    "JWKS source must be an http(s) URL without credentials, file:///path or "
                    "an absolute path");
        return NULL;
    }
    jwks *k = calloc(1, sizeof *k);
    if (!k || !(k->source = strdup(o->source))) {
        free(k);
        errinfo_nomem(e);
        return NULL;
    }
    if (path)
        k->path = k->source + (path - o->source);
    k->o = *o;
    k->o.source = k->source;
    if (k->o.min_refetch_interval_s <= 0)
        k->o.min_refetch_interval_s = 60;
    if (k->o.max_age_s <= 0)
        k->o.max_age_s = 6 * 3600;
    if (k->o.connect_timeout_ms <= 0)
        k->o.connect_timeout_ms = 1000;
    if (k->o.timeout_ms <= 0)
        k->o.timeout_ms = 3000;
    if (!k->o.now_s_fn) {
        k->o.now_s_fn = jwks_mono_s;
        k->o.now_ud = NULL;
    }
    k->loaded_at_s = -1;
    errinfo_clear(&k->last_err);
    return k;
}

void jwks_free(jwks *k)
{
    if (!k)
        return;
    jwks_set_free(k->set);
    free(k->source);
    free(k);
}

/* ---- parsing ----------------------------------------------------------------------------- */

/* Decodes a base64url big-endian unsigned integer, leading zero bytes dropped. */
static int jwks_uint(const json_t *v, buf *out)
{
    errinfo de;
    if (!json_is_string(v) || json_string_length(v) == 0)
        return -1;
    if (base64_decode(BASE64_URL, (strv){ json_string_value(v), json_string_length(v) }, out,
                      &de) != 0)
        return -1;
    size_t z = 0;
    while (z < out->len && out->data[z] == 0)
        z++;
    memmove(out->data, out->data + z, out->len - z);
    out->len -= z;
    out->data[out->len] = '\0';
    return out->len > 0 ? 0 : -1;
}

static bool jwks_member_is(const json_t *o, const char *name, const char *want, bool absent_ok)
{
    const json_t *v = json_object_get(o, name);
    if (!v)
        return absent_ok;
    return json_is_string(v) && json_string_length(v) == strlen(want) &&
           memcmp(json_string_value(v), want, strlen(want)) == 0;
}

static EVP_PKEY *jwks_rsa_key(const unsigned char *n, size_t nlen, const unsigned char *ex,
                              size_t elen)
{
    EVP_PKEY *pkey = NULL;
    BIGNUM *bn_n = BN_bin2bn(n, (int)nlen, NULL);
    BIGNUM *bn_e = BN_bin2bn(ex, (int)elen, NULL);
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    if (!bn_n || !bn_e || !bld || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e) ||
        !(params = OSSL_PARAM_BLD_to_param(bld)) ||
        !(ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)) ||
        EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1) {
        EVP_PKEY_free(pkey);
        pkey = NULL;
    }
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(bn_e);
    BN_free(bn_n);
    ERR_clear_error();
    return pkey;
}

/* 1 usable (*out filled), 0 skipped, -1 out of memory / library failure. */
static int jwks_parse_key(const json_t *jk, const jwks_set *s, jwks_key *out)
{
    if (!json_is_object(jk) || !jwks_member_is(jk, "kty", "RSA", false) ||
        !jwks_member_is(jk, "use", "sig", true) || !jwks_member_is(jk, "alg", "RS256", true))
        return 0;
    const json_t *kid = json_object_get(jk, "kid");
    if (!json_is_string(kid))
        return 0;
    size_t kl = json_string_length(kid);
    const char *ks = json_string_value(kid);
    if (kl == 0 || kl > JWKS_KID_MAX)
        return 0;
    for (size_t i = 0; i < kl; i++)
        if ((unsigned char)ks[i] < 0x21 || (unsigned char)ks[i] > 0x7e)
            return 0;
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->keys[i].kid, ks) == 0)
            return 0; /* the first key with a kid wins */

    int rc = 0;
    buf n, ex;
    buf_init(&n, JWKS_MAX_BITS / 8 + 64);
    buf_init(&ex, 64);
    if (jwks_uint(json_object_get(jk, "n"), &n) != 0 ||
        jwks_uint(json_object_get(jk, "e"), &ex) != 0)
        goto out;
    const unsigned char *nb = (const unsigned char *)n.data;
    size_t bits = (n.len - 1) * 8;
    for (unsigned top = nb[0]; top; top >>= 1)
        bits++;
    if (bits < JWKS_MIN_BITS || bits > JWKS_MAX_BITS)
        goto out;
    if (ex.len > 4)
        goto out;
    uint64_t ev = 0;
    for (size_t i = 0; i < ex.len; i++)
        ev = ev << 8 | (unsigned char)ex.data[i];
    if (ev < 3 || ev > 0x7fffffffu || (ev & 1) == 0)
        goto out;
    EVP_PKEY *pkey = jwks_rsa_key(nb, n.len, (const unsigned char *)ex.data, ex.len);
    if (!pkey) {
        rc = -1;
        goto out;
    }
    memcpy(out->kid, ks, kl + 1);
    out->pkey = pkey;
    rc = 1;
out:
    buf_cleanup(&ex);
    buf_cleanup(&n);
    return rc;
}

int jwks_load_json(jwks *k, const char *json, size_t len, errinfo *e)
{
    if (len > JWKS_MAX_BYTES)
        return errinfo_set(e, ERR_TOOBIG, "JWKS is larger than %d bytes", JWKS_MAX_BYTES);
    errinfo pe;
    json_t *root = jparse(json, len, JWKS_JSON_DEPTH, &pe);
    if (!root)
        return errinfo_set(e, pe.code == ERR_NOMEM ? ERR_NOMEM : ERR_INVALID,
                           "JWKS is not JSON: %s", pe.msg);
    int rc = -1;
    jwks_set *s = NULL;
    const json_t *arr = json_object_get(root, "keys");
    if (!json_is_object(root) || !json_is_array(arr)) {
        errinfo_set(e, ERR_INVALID, "JWKS has no \"keys\" array");
        goto out;
    }
    if (json_array_size(arr) > JWKS_MAX_KEYS) {
        errinfo_set(e, ERR_INVALID, "JWKS has more than %d keys", JWKS_MAX_KEYS);
        goto out;
    }
    if (!(s = calloc(1, sizeof *s))) {
        errinfo_nomem(e);
        goto out;
    }
    for (size_t i = 0; i < json_array_size(arr); i++) {
        int r = jwks_parse_key(json_array_get(arr, i), s, &s->keys[s->n]);
        if (r < 0) {
            errinfo_set(e, ERR_INTERNAL, "could not build an RSA key from the JWKS");
            goto out;
        }
        if (r > 0)
            s->n++;
        else
            s->skipped++;
    }
    if (s->n == 0) {
        errinfo_set(e, ERR_INVALID, "JWKS has no usable RS256 key (%zu skipped)", s->skipped);
        goto out;
    }
    jwks_set_free(k->set);
    k->set = s;
    s = NULL;
    k->loaded_at_s = jwks_now(k);
    rc = 0;
out:
    jwks_set_free(s);
    json_decref(root);
    return rc;
}

/* ---- fetching ---------------------------------------------------------------------------- */

static int jwks_read_url(const jwks *k, buf *out, errinfo *e)
{
    http_options ho = { .connect_timeout_ms = k->o.connect_timeout_ms,
                        .timeout_ms = k->o.timeout_ms,
                        .max_response_bytes = JWKS_MAX_BYTES };
    static const char *const headers[] = { "Accept: application/json", NULL };
    http_response r;
    http_response_init(&r);
    errinfo he;
    int rc = -1;
    http *h = http_new(&ho, &he);
    if (!h) {
        errinfo_set(e, he.code, "JWKS fetch: %s", he.msg);
        goto out;
    }
    if (http_request(h, "GET", k->source, headers, NULL, 0, &r, &he) != 0) {
        enum err_code c = r.fail == HTTP_FAIL_TIMEOUT  ? ERR_TIMEOUT
                          : r.fail == HTTP_FAIL_TOOBIG ? ERR_TOOBIG
                                                       : ERR_IO;
        if (r.fail == HTTP_FAIL_TOOBIG)
            errinfo_set(e, c, "JWKS from %s is larger than %d bytes", k->source, JWKS_MAX_BYTES);
        else
            errinfo_set(e, c, "JWKS fetch failed (%s): %s", http_fail_name(r.fail), he.msg);
        goto out;
    }
    if (r.status != 200) {
        errinfo_set(e, ERR_SERVICE, "JWKS fetch from %s answered HTTP %ld", k->source, r.status);
        goto out;
    }
    if (buf_append_strv(out, buf_view(&r.body)) != 0) {
        errinfo_set(e, ERR_TOOBIG, "JWKS from %s is larger than %d bytes", k->source,
                    JWKS_MAX_BYTES);
        goto out;
    }
    rc = 0;
out:
    http_free(h);
    http_response_cleanup(&r);
    return rc;
}

/* One fetch attempt: counts it, starts the rate-limit interval, keeps the old set on failure. */
static int jwks_fetch(jwks *k, errinfo *e)
{
    k->fetches++;
    k->attempted = true;
    k->last_attempt_s = jwks_now(k);
    buf body;
    buf_init(&body, JWKS_MAX_BYTES);
    errinfo fe;
    int rc = k->path ? file_read_regular(k->path, &body, &fe) : jwks_read_url(k, &body, &fe);
    if (rc != 0 && fe.code == ERR_NOTFOUND)
        fe.code = ERR_IO; /* no file yet: the keys are unavailable (NOTFOUND is an unknown kid) */
    if (rc == 0 && (rc = jwks_load_json(k, body.data ? body.data : "", body.len, &fe)) != 0) {
        /* the source answered, with something unusable: a service problem, not bad input */
        char what[sizeof fe.msg];
        memcpy(what, fe.msg, sizeof what);
        errinfo_set(&fe, fe.code == ERR_NOMEM || fe.code == ERR_INTERNAL ? fe.code : ERR_SERVICE,
                    "%.300s (from %s)", what, k->source);
    }
    buf_cleanup(&body);
    if (rc != 0) {
        k->failures++;
        k->last_err = fe;
        log_msg(LOG_WARN, "jwks_fetch_failed", "%s%s", fe.msg,
                k->set ? " (keeping the previous key set)" : "");
        if (e)
            *e = fe;
        return -1;
    }
    errinfo_clear(&k->last_err);
    log_msg(LOG_DEBUG, "jwks_loaded", "%zu key(s) from %s, %zu skipped", k->set->n, k->source,
            k->set->skipped);
    return 0;
}

int jwks_refresh(jwks *k, errinfo *e)
{
    return jwks_fetch(k, e);
}

static EVP_PKEY *jwks_find(const jwks *k, const char *kid)
{
    if (!k->set)
        return NULL;
    for (size_t i = 0; i < k->set->n; i++)
        if (strcmp(k->set->keys[i].kid, kid) == 0)
            return k->set->keys[i].pkey;
    return NULL;
}

int jwks_get(jwks *k, const char *kid, EVP_PKEY **out, errinfo *e)
{
    *out = NULL;
    if (!kid || !*kid)
        return errinfo_set(e, ERR_NOTFOUND, "no signing key with that kid");
    int64_t now = jwks_now(k);
    int64_t since = k->attempted ? now - k->last_attempt_s : INT64_MAX;
    bool may_fetch = since >= k->o.min_refetch_interval_s;

    if (!k->set) {
        int64_t retry = k->o.min_refetch_interval_s < JWKS_EMPTY_RETRY_S
                            ? k->o.min_refetch_interval_s
                            : JWKS_EMPTY_RETRY_S;
        if (since < retry)
            return errinfo_set(e, k->last_err.code ? k->last_err.code : ERR_IO,
                               "no signing keys loaded (retrying within %llds): %s",
                               (long long)(retry - since), k->last_err.msg);
        if (jwks_fetch(k, e) != 0)
            return -1;
        may_fetch = false;
    } else if (may_fetch && now - k->loaded_at_s >= k->o.max_age_s) {
        jwks_fetch(k, NULL); /* a failure keeps the old set, and is logged */
        may_fetch = false;
    }

    if ((*out = jwks_find(k, kid)))
        return 0;
    if (may_fetch && jwks_fetch(k, NULL) == 0 && (*out = jwks_find(k, kid)))
        return 0;
    return errinfo_set(e, ERR_NOTFOUND, "no signing key with that kid");
}

void jwks_get_info(const jwks *k, jwks_info *out)
{
    memset(out, 0, sizeof *out);
    out->loaded_at_s = -1;
    if (!k)
        return;
    if (k->set) {
        out->keys = k->set->n;
        out->skipped = k->set->skipped;
        out->loaded_at_s = k->loaded_at_s;
    }
    out->fetches = k->fetches;
    out->failures = k->failures;
}

int jwks_url_for_pool(const char *region, const char *pool, buf *out, errinfo *e)
{
    buf tmp;
    buf_init(&tmp, 512);
    int rc = -1;
    if (jwt_issuer_for_pool(region, pool, &tmp, e) != 0)
        goto out;
    if (buf_append_str(&tmp, "/.well-known/jwks.json") != 0 ||
        buf_append_strv(out, buf_view(&tmp)) != 0) {
        errinfo_set(e, ERR_NOMEM, "JWKS URL does not fit");
        goto out;
    }
    rc = 0;
out:
    buf_cleanup(&tmp);
    return rc;
}
