/* sigv4.c — AWS Signature Version 4: the canonical request, the string to sign and the
 * signature, with the derived signing key cached per signer as precomputed HMAC states.
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

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#define SHA256_LEN 32
#define SHA256_BLOCK 64
#define MAX_SCOPE_FIELD 64   /* region, service */
#define MAX_ACCESS_KEY_ID 128
#define MAX_SECRET 256
#define MAX_METHOD 16
#define MAX_EXPIRES_S 604800
#define MAX_TIME_S INT64_C(253402300799) /* 9999-12-31T23:59:59Z */
#define MAX_ENTRIES (SIGV4_MAX_HEADERS + 3)
#define MAX_QPARAMS (SIGV4_MAX_QUERY_PARAMS + 6)
/* "20150830/" region "/" service "/aws4_request" */
#define MAX_SCOPE (9 + MAX_SCOPE_FIELD + 1 + MAX_SCOPE_FIELD + 13)

static const char ALGORITHM[] = "AWS4-HMAC-SHA256";
static const char HEX_LOWER[] = "0123456789abcdef";
static const char HEX_UPPER[] = "0123456789ABCDEF";

struct sigv4_signer {
    EVP_MD *md;             /* SHA-256, fetched once */
    EVP_MD_CTX *ctx;        /* scratch digest */
    EVP_MD_CTX *inner;      /* SHA-256 state after the signing key's ipad block */
    EVP_MD_CTX *outer;      /* ... after its opad block */
    bool have_key;
    char key_date[9];
    unsigned long key_derivations;   /* signing keys derived (tests: the cache hits) */
    char key_region[MAX_SCOPE_FIELD + 1];
    char key_service[MAX_SCOPE_FIELD + 1];
    unsigned char key_fp[SHA256_LEN]; /* SHA-256 of a tag, the access key id and the secret */
    buf scratch;            /* the encoded query parameters of one call */
    buf signed_headers;     /* "host;x-amz-date" of one call */
};

typedef struct hdr_ent {
    strv name;
    strv value;
} hdr_ent;

typedef struct qparam {
    size_t koff, klen, voff, vlen; /* into the scratch buffer */
} qparam;

typedef struct qextra {
    strv key;
    strv value; /* encoded, never decoded */
} qextra;

/* ---- small helpers ---------------------------------------------------------------------- */

static unsigned char lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + ('a' - 'A')) : c;
}

static bool is_alnum(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_unreserved(unsigned char c)
{
    return is_alnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

/* RFC 9110 token characters, for header names. */
static bool is_tchar(unsigned char c)
{
    return is_alnum(c) || (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static int hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

static void hex_encode(const unsigned char *p, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = HEX_LOWER[p[i] >> 4];
        out[2 * i + 1] = HEX_LOWER[p[i] & 15];
    }
    out[2 * n] = '\0';
}

static void truncate_to(buf *b, size_t len)
{
    b->len = len;
    if (b->data)
        b->data[len] = '\0';
}

/* Case-insensitive order of header names; equal names compare 0. */
static int name_cmp(strv a, strv b)
{
    size_t n = a.len < b.len ? a.len : b.len;
    for (size_t i = 0; i < n; i++) {
        unsigned char x = lower((unsigned char)a.ptr[i]), y = lower((unsigned char)b.ptr[i]);
        if (x != y)
            return x < y ? -1 : 1;
    }
    return a.len < b.len ? -1 : a.len > b.len ? 1 : 0;
}

static int bytes_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    if (c != 0)
        return c;
    return alen < blen ? -1 : alen > blen ? 1 : 0;
}

/* Writes n in decimal to out (24 bytes) and returns the length; no NUL. */
static size_t format_uint(unsigned long long n, char out[24])
{
    char tmp[24];
    size_t i = sizeof tmp;
    do {
        tmp[--i] = (char)('0' + n % 10);
        n /= 10;
    } while (n);
    memcpy(out, tmp + i, sizeof tmp - i);
    return sizeof tmp - i;
}

static int fail_buf(const buf *b, const char *what, errinfo *e)
{
    return errinfo_set(e, ERR_TOOBIG, "sigv4: the %s does not fit in %zu bytes (or memory ran out)",
                       what, b->max);
}

/* ---- encoding stages ---------------------------------------------------------------------- */

/* Appends p[0..n) strictly encoded, percent-decoding it first when decode is set. */
static int encode_into(buf *b, const char *p, size_t n, bool decode, bool keep_slash)
{
    if (n > (SIZE_MAX - 1) / 3 || buf_reserve(b, n * 3) != 0)
        return -1;
    char *o = b->data + b->len;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (decode && c == '%' && i + 2 < n && hex_value((unsigned char)p[i + 1]) >= 0
            && hex_value((unsigned char)p[i + 2]) >= 0) {
            c = (unsigned char)(hex_value((unsigned char)p[i + 1]) * 16
                                + hex_value((unsigned char)p[i + 2]));
            i += 2;
        }
        if (is_unreserved(c) || (keep_slash && c == '/')) {
            *o++ = (char)c;
        } else {
            *o++ = '%';
            *o++ = HEX_UPPER[c >> 4];
            *o++ = HEX_UPPER[c & 15];
        }
    }
    b->len = (size_t)(o - b->data);
    b->data[b->len] = '\0';
    return 0;
}

int sigv4_uri_encode(buf *out, strv s, bool keep_slash)
{
    return encode_into(out, s.ptr, s.len, false, keep_slash);
}

int sigv4_canonical_uri(buf *out, strv path, bool normalize, errinfo *e)
{
    if (path.len == 0 || path.ptr[0] != '/')
        return errinfo_set(e, ERR_INVALID, "sigv4: the path must start with '/'");
    if (path.len > SIGV4_MAX_PATH)
        return errinfo_set(e, ERR_TOOBIG, "sigv4: the path is longer than %d bytes",
                           SIGV4_MAX_PATH);
    if (!normalize) {
        if (encode_into(out, path.ptr, path.len, false, true) != 0)
            return fail_buf(out, "canonical request", e);
        return 0;
    }
    /* Remove dot segments (RFC 3986 5.2.4) and fold runs of '/'. The output stays "/" or
     * "/seg/seg" (no trailing '/') until the end, so ".." truncates to the last '/'. */
    size_t base = out->len;
    if (buf_putc(out, '/') != 0)
        return fail_buf(out, "canonical request", e);
    bool trailing = false;
    size_t i = 1;
    while (i <= path.len) {
        const char *seg = path.ptr + i;
        const char *slash = memchr(seg, '/', path.len - i);
        size_t n = slash ? (size_t)(slash - seg) : path.len - i;
        bool last = slash == NULL;
        i += n + 1;
        if (n == 0 || (n == 1 && seg[0] == '.')) {
            trailing = true;
            continue;
        }
        if (n == 2 && seg[0] == '.' && seg[1] == '.') {
            size_t j = out->len;
            while (j > base + 1 && out->data[j - 1] != '/')
                j--;
            truncate_to(out, j > base + 1 ? j - 1 : base + 1);
            trailing = true;
            continue;
        }
        if (out->len > base + 1 && buf_putc(out, '/') != 0)
            return fail_buf(out, "canonical request", e);
        if (encode_into(out, seg, n, false, false) != 0)
            return fail_buf(out, "canonical request", e);
        trailing = !last;
    }
    if (trailing && out->len > base + 1 && buf_putc(out, '/') != 0)
        return fail_buf(out, "canonical request", e);
    return 0;
}

static int query_add(buf *scratch, qparam *p, strv k, strv v, bool decode)
{
    p->koff = scratch->len;
    if (encode_into(scratch, k.ptr, k.len, decode, false) != 0)
        return -1;
    p->klen = scratch->len - p->koff;
    p->voff = scratch->len;
    if (encode_into(scratch, v.ptr, v.len, decode, false) != 0)
        return -1;
    p->vlen = scratch->len - p->voff;
    return 0;
}

/* Appends the canonical query of query plus the already-raw extras; scratch is reused. */
static int canon_query(buf *out, buf *scratch, strv query, const qextra *extra, size_t nextra,
                       errinfo *e)
{
    qparam p[MAX_QPARAMS];
    size_t n = 0;

    if (query.len > SIGV4_MAX_QUERY)
        return errinfo_set(e, ERR_TOOBIG, "sigv4: the query is longer than %d bytes",
                           SIGV4_MAX_QUERY);
    buf_reset(scratch);
    size_t i = 0;
    while (i < query.len) {
        const char *piece = query.ptr + i;
        const char *amp = memchr(piece, '&', query.len - i);
        size_t len = amp ? (size_t)(amp - piece) : query.len - i;
        i += len + 1;
        if (len == 0)
            continue;
        if (n == SIGV4_MAX_QUERY_PARAMS)
            return errinfo_set(e, ERR_TOOBIG, "sigv4: the query has more than %d parameters",
                               SIGV4_MAX_QUERY_PARAMS);
        const char *eq = memchr(piece, '=', len);
        strv k = { piece, eq ? (size_t)(eq - piece) : len };
        strv v = eq ? (strv){ eq + 1, len - k.len - 1 } : STRV_EMPTY;
        if (query_add(scratch, &p[n++], k, v, true) != 0)
            return fail_buf(scratch, "encoded query", e);
    }
    for (size_t x = 0; x < nextra; x++)
        if (query_add(scratch, &p[n++], extra[x].key, extra[x].value, false) != 0)
            return fail_buf(scratch, "encoded query", e);

    /* Insertion sort by key, then value: short lists, stable, no allocation. */
    const char *d = buf_cstr(scratch);
    for (size_t a = 1; a < n; a++) {
        qparam t = p[a];
        size_t b = a;
        while (b > 0) {
            const qparam *q = &p[b - 1];
            int c = bytes_cmp(d + q->koff, q->klen, d + t.koff, t.klen);
            if (c == 0)
                c = bytes_cmp(d + q->voff, q->vlen, d + t.voff, t.vlen);
            if (c <= 0)
                break;
            p[b] = p[b - 1];
            b--;
        }
        p[b] = t;
    }
    for (size_t a = 0; a < n; a++) {
        if (a > 0)
            buf_putc(out, '&');
        buf_append(out, d + p[a].koff, p[a].klen);
        buf_putc(out, '=');
        buf_append(out, d + p[a].voff, p[a].vlen);
    }
    if (out->failed)
        return fail_buf(out, "canonical request", e);
    return 0;
}

int sigv4_canonical_query(buf *out, strv query, errinfo *e)
{
    buf scratch;
    buf_init(&scratch, 0);
    int rc = canon_query(out, &scratch, query, NULL, 0, e);
    buf_cleanup(&scratch);
    return rc;
}

/* Appends a header value trimmed of spaces and tabs, inner runs folded to one space. */
static int append_folded(buf *b, strv v)
{
    size_t i = 0, n = v.len;
    while (i < n && (v.ptr[i] == ' ' || v.ptr[i] == '\t'))
        i++;
    while (n > i && (v.ptr[n - 1] == ' ' || v.ptr[n - 1] == '\t'))
        n--;
    while (i < n) {
        size_t j = i;
        while (j < n && v.ptr[j] != ' ' && v.ptr[j] != '\t')
            j++;
        if (buf_append(b, v.ptr + i, j - i) != 0)
            return -1;
        if (j == n)
            break;
        if (buf_putc(b, ' ') != 0)
            return -1;
        while (j < n && (v.ptr[j] == ' ' || v.ptr[j] == '\t'))
            j++;
        i = j;
    }
    return 0;
}

static int append_lower(buf *b, strv s)
{
    if (buf_reserve(b, s.len) != 0)
        return -1;
    for (size_t i = 0; i < s.len; i++)
        b->data[b->len + i] = (char)lower((unsigned char)s.ptr[i]);
    b->len += s.len;
    b->data[b->len] = '\0';
    return 0;
}

/* ---- input checks ------------------------------------------------------------------------- */

enum charset {
    CS_ANY,   /* any byte but NUL */
    CS_SCOPE, /* A-Za-z0-9 - _ . (access key id, region, service) */
    CS_FIELD, /* no control characters but tab (header values, tokens) */
};

static bool ok_scope(unsigned char c)
{
    return is_alnum(c) || c == '-' || c == '_' || c == '.';
}

/* Header values and tokens: no control characters but tab. */
static bool ok_field_value(unsigned char c)
{
    return c == '\t' || (c >= 0x20 && c != 0x7f);
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
            ok &= ok_field_value(u[i]);
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
        return errinfo_set(e, ERR_INVALID, "sigv4: payload_hash must be 64 lowercase hex "
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

/* ---- digests ------------------------------------------------------------------------------ */

static int sha256(sigv4_signer *s, const void *p, size_t n, unsigned char out[SHA256_LEN])
{
    unsigned int len = 0;
    if (EVP_DigestInit_ex2(s->ctx, s->md, NULL) != 1 || EVP_DigestUpdate(s->ctx, p, n) != 1
        || EVP_DigestFinal_ex(s->ctx, out, &len) != 1)
        return -1;
    return 0;
}

/* HMAC-SHA256 with any key, for the key derivation chain. */
static int hmac_once(sigv4_signer *s, const unsigned char *key, size_t klen, const void *msg,
                     size_t mlen, unsigned char out[SHA256_LEN])
{
    unsigned char kb[SHA256_BLOCK] = { 0 }, pad[SHA256_BLOCK], ih[SHA256_LEN];
    unsigned int len = 0;
    int rc = -1;

    if (klen > SHA256_BLOCK) {
        if (sha256(s, key, klen, kb) != 0)
            goto out;
    } else {
        memcpy(kb, key, klen);
    }
    for (size_t i = 0; i < SHA256_BLOCK; i++)
        pad[i] = kb[i] ^ 0x36;
    if (EVP_DigestInit_ex2(s->ctx, s->md, NULL) != 1
        || EVP_DigestUpdate(s->ctx, pad, sizeof pad) != 1
        || EVP_DigestUpdate(s->ctx, msg, mlen) != 1 || EVP_DigestFinal_ex(s->ctx, ih, &len) != 1)
        goto out;
    for (size_t i = 0; i < SHA256_BLOCK; i++)
        pad[i] = kb[i] ^ 0x5c;
    if (EVP_DigestInit_ex2(s->ctx, s->md, NULL) != 1
        || EVP_DigestUpdate(s->ctx, pad, sizeof pad) != 1
        || EVP_DigestUpdate(s->ctx, ih, sizeof ih) != 1
        || EVP_DigestFinal_ex(s->ctx, out, &len) != 1)
        goto out;
    rc = 0;
out:
    OPENSSL_cleanse(kb, sizeof kb);
    OPENSSL_cleanse(pad, sizeof pad);
    OPENSSL_cleanse(ih, sizeof ih);
    return rc;
}

/* HMAC-SHA256 with the cached signing key. */
static int hmac_cached(sigv4_signer *s, const void *msg, size_t n, unsigned char out[SHA256_LEN])
{
    unsigned char ih[SHA256_LEN];
    unsigned int len = 0;
    int ok = EVP_MD_CTX_copy_ex(s->ctx, s->inner) == 1 && EVP_DigestUpdate(s->ctx, msg, n) == 1
             && EVP_DigestFinal_ex(s->ctx, ih, &len) == 1
             && EVP_MD_CTX_copy_ex(s->ctx, s->outer) == 1
             && EVP_DigestUpdate(s->ctx, ih, sizeof ih) == 1
             && EVP_DigestFinal_ex(s->ctx, out, &len) == 1;
    OPENSSL_cleanse(ih, sizeof ih);
    return ok ? 0 : -1;
}

static int secret_fingerprint(sigv4_signer *s, const sigv4_credentials *cred, size_t idlen,
                              size_t secretlen, unsigned char out[SHA256_LEN])
{
    static const char tag[] = "cruddur sigv4 key cache";
    unsigned int len = 0;
    if (EVP_DigestInit_ex2(s->ctx, s->md, NULL) != 1
        || EVP_DigestUpdate(s->ctx, tag, sizeof tag) != 1
        || EVP_DigestUpdate(s->ctx, cred->access_key_id, idlen + 1) != 1
        || EVP_DigestUpdate(s->ctx, cred->secret_access_key, secretlen) != 1
        || EVP_DigestFinal_ex(s->ctx, out, &len) != 1)
        return -1;
    return 0;
}

/* Makes s->inner/outer hold the signing key for (date, region, service, secret). */
static int ensure_key(sigv4_signer *s, const sigv4_credentials *cred, size_t idlen,
                      size_t secretlen, const char *date, const char *region,
                      const char *service, errinfo *e)
{
    unsigned char fp[SHA256_LEN];
    unsigned char ksecret[4 + MAX_SECRET];
    unsigned char k[SHA256_LEN], block[SHA256_BLOCK];
    int rc = -1;

    if (secret_fingerprint(s, cred, idlen, secretlen, fp) != 0)
        goto crypto;
    if (s->have_key && strncmp(s->key_date, date, 8) == 0 && strcmp(s->key_region, region) == 0
        && strcmp(s->key_service, service) == 0 && CRYPTO_memcmp(s->key_fp, fp, sizeof fp) == 0)
        return 0;

    s->have_key = false;
    memcpy(ksecret, "AWS4", 4);
    memcpy(ksecret + 4, cred->secret_access_key, secretlen);
    if (hmac_once(s, ksecret, 4 + secretlen, date, 8, k) != 0
        || hmac_once(s, k, sizeof k, region, strlen(region), k) != 0
        || hmac_once(s, k, sizeof k, service, strlen(service), k) != 0
        || hmac_once(s, k, sizeof k, "aws4_request", 12, k) != 0)
        goto crypto;
    memset(block, 0, sizeof block);
    memcpy(block, k, sizeof k);
    for (size_t i = 0; i < SHA256_BLOCK; i++)
        block[i] ^= 0x36;
    if (EVP_DigestInit_ex2(s->inner, s->md, NULL) != 1
        || EVP_DigestUpdate(s->inner, block, sizeof block) != 1)
        goto crypto;
    for (size_t i = 0; i < SHA256_BLOCK; i++)
        block[i] ^= 0x36 ^ 0x5c;
    if (EVP_DigestInit_ex2(s->outer, s->md, NULL) != 1
        || EVP_DigestUpdate(s->outer, block, sizeof block) != 1)
        goto crypto;
    memcpy(s->key_date, date, 8);   /* the key is per day: yyyymmdd of the amz-date */
    s->key_date[8] = '\0';
    s->key_derivations++;
    memcpy(s->key_region, region, strlen(region) + 1);
    memcpy(s->key_service, service, strlen(service) + 1);
    memcpy(s->key_fp, fp, sizeof fp);
    s->have_key = true;
    rc = 0;
    goto out;
crypto:
    errinfo_set(e, ERR_INTERNAL, "sigv4: OpenSSL failed while deriving the signing key");
out:
    OPENSSL_cleanse(ksecret, sizeof ksecret);
    OPENSSL_cleanse(k, sizeof k);
    OPENSSL_cleanse(block, sizeof block);
    OPENSSL_cleanse(fp, sizeof fp);
    return rc;
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

sigv4_signer *sigv4_signer_new(void)
{
    sigv4_signer *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    buf_init(&s->scratch, 0);
    buf_init(&s->signed_headers, 0);
    s->md = EVP_MD_fetch(NULL, "SHA256", NULL);
    s->ctx = EVP_MD_CTX_new();
    s->inner = EVP_MD_CTX_new();
    s->outer = EVP_MD_CTX_new();
    if (!s->md || !s->ctx || !s->inner || !s->outer) {
        sigv4_signer_free(s);
        return NULL;
    }
    return s;
}

void sigv4_signer_free(sigv4_signer *s)
{
    if (!s)
        return;
    EVP_MD_CTX_free(s->outer); /* frees wipe the digest state */
    EVP_MD_CTX_free(s->inner);
    EVP_MD_CTX_free(s->ctx);
    EVP_MD_free(s->md);
    buf_cleanup_wipe(&s->scratch);
    buf_cleanup(&s->signed_headers);
    OPENSSL_cleanse(s, sizeof *s);
    free(s);
}

void sigv4_sha256_hex(const void *p, size_t n, char out[65])
{
    unsigned char md[SHA256_LEN];
    unsigned int len = 0;
    if (EVP_Digest(p, n, md, &len, EVP_sha256(), NULL) != 1 || len != SHA256_LEN) {
        out[0] = '\0';
        return;
    }
    hex_encode(md, SHA256_LEN, out);
}

/* ---- signing ------------------------------------------------------------------------------ */

/* Checks the caller's headers and gathers them, with the ones the signer adds, sorted by
 * name (stable, so duplicates keep their order). */
static int gather_headers(const sigv4_request *req, const sigv4_options *opt,
                          const hdr_ent *added, size_t nadded, hdr_ent *ent, size_t *nent,
                          errinfo *e)
{
    bool host = false;
    size_t n = 0;

    if (req->nheaders > SIGV4_MAX_HEADERS)
        return errinfo_set(e, ERR_TOOBIG, "sigv4: more than %d headers", SIGV4_MAX_HEADERS);
    if (req->nheaders > 0 && !req->headers)
        return errinfo_set(e, ERR_INVALID, "sigv4: headers is NULL");
    for (size_t i = 0; i < req->nheaders; i++) {
        strv name = req->headers[i].name, value = req->headers[i].value;
        if (name.len == 0 || !name.ptr)
            return errinfo_set(e, ERR_INVALID, "sigv4: header %zu has no name", i);
        if (name.len > SIGV4_MAX_HEADER_NAME)
            return errinfo_set(e, ERR_TOOBIG, "sigv4: header %zu's name is longer than %d bytes",
                               i, SIGV4_MAX_HEADER_NAME);
        for (size_t j = 0; j < name.len; j++)
            if (!is_tchar((unsigned char)name.ptr[j]))
                return errinfo_set(e, ERR_INVALID, "sigv4: header %zu's name has a bad character",
                                   i);
        if (value.len > SIGV4_MAX_HEADER_VALUE)
            return errinfo_set(e, ERR_TOOBIG, "sigv4: header %.*s is longer than %d bytes",
                               (int)name.len, name.ptr, SIGV4_MAX_HEADER_VALUE);
        if (value.len > 0 && !value.ptr)
            return errinfo_set(e, ERR_INVALID, "sigv4: header %.*s has a NULL value",
                               (int)name.len, name.ptr);
        for (size_t j = 0; j < value.len; j++)
            if (!ok_field_value((unsigned char)value.ptr[j]))
                return errinfo_set(e, ERR_INVALID,
                                   "sigv4: header %.*s has a control character in its value",
                                   (int)name.len, name.ptr);
        if (name_cmp(name, STRV("authorization")) == 0 || name_cmp(name, STRV("x-amz-date")) == 0
            || name_cmp(name, STRV("x-amz-security-token")) == 0
            || (opt->sign_body && !opt->presign
                && name_cmp(name, STRV("x-amz-content-sha256")) == 0))
            return errinfo_set(e, ERR_INVALID, "sigv4: header %.*s is set by the signer",
                               (int)name.len, name.ptr);
        if (name_cmp(name, STRV("host")) == 0) {
            size_t k = 0;
            while (k < value.len && (value.ptr[k] == ' ' || value.ptr[k] == '\t'))
                k++;
            if (k == value.len)
                return errinfo_set(e, ERR_INVALID, "sigv4: the Host header is empty");
            host = true;
        }
        ent[n].name = name;
        ent[n].value = value;
        n++;
    }
    if (!host)
        return errinfo_set(e, ERR_INVALID, "sigv4: the request has no Host header");
    for (size_t i = 0; i < nadded; i++)
        ent[n++] = added[i];
    for (size_t a = 1; a < n; a++) {
        hdr_ent t = ent[a];
        size_t b = a;
        while (b > 0 && name_cmp(ent[b - 1].name, t.name) > 0) {
            ent[b] = ent[b - 1];
            b--;
        }
        ent[b] = t;
    }
    *nent = n;
    return 0;
}

int sigv4_sign(sigv4_signer *s, const sigv4_request *req, const sigv4_credentials *cred,
               const sigv4_options *opt, sigv4_result *out, errinfo *e)
{
    size_t idlen, secretlen, regionlen, servicelen, methodlen, tokenlen = 0;
    hdr_ent ent[MAX_ENTRIES], added[3];
    size_t nent = 0, nadded = 0;
    unsigned char md[SHA256_LEN];
    char hex[2 * SHA256_LEN + 1];
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
    if (check_cstr("access key id", cred->access_key_id, MAX_ACCESS_KEY_ID, CS_SCOPE, &idlen, e)
            != 0
        || check_cstr("secret access key", cred->secret_access_key, MAX_SECRET, CS_ANY,
                      &secretlen, e) != 0
        || check_cstr("region", opt->region, MAX_SCOPE_FIELD, CS_SCOPE, &regionlen, e) != 0
        || check_cstr("service", opt->service, MAX_SCOPE_FIELD, CS_SCOPE, &servicelen, e) != 0)
        return -1;
    bool token = cred->session_token && cred->session_token[0];
    if (token && check_cstr("session token", cred->session_token, SIGV4_MAX_TOKEN,
                            CS_FIELD, &tokenlen, e) != 0)
        return -1;
    if (req->method.len == 0 || !req->method.ptr)
        return errinfo_set(e, ERR_INVALID, "sigv4: the method is missing");
    methodlen = req->method.len;
    if (methodlen > MAX_METHOD)
        return errinfo_set(e, ERR_INVALID, "sigv4: the method is longer than %d bytes",
                           MAX_METHOD);
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
        return errinfo_set(e, ERR_INVALID, "sigv4: expires_s %ld is not in 1..%d",
                           opt->expires_s, MAX_EXPIRES_S);

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
        if (sha256(s, req->payload, req->payload_len, md) != 0)
            return errinfo_set(e, ERR_INTERNAL, "sigv4: OpenSSL failed hashing the payload");
        hex_encode(md, SHA256_LEN, out->content_sha256);
    }

    /* headers, sorted; the signed-headers list */
    if (!opt->presign) {
        added[nadded++] = (hdr_ent){ STRV("x-amz-date"), { out->amz_date, 16 } };
        if (token && !opt->omit_session_token)
            added[nadded++] = (hdr_ent){ STRV("x-amz-security-token"),
                                         { cred->session_token, tokenlen } };
        if (opt->sign_body)
            added[nadded++] = (hdr_ent){ STRV("x-amz-content-sha256"),
                                         strv_from(out->content_sha256) };
    }
    if (gather_headers(req, opt, added, nadded, ent, &nent, e) != 0)
        return -1;
    buf *sh = &s->signed_headers;
    buf_reset(sh);
    for (size_t i = 0; i < nent; i++) {
        if (i > 0 && name_cmp(ent[i - 1].name, ent[i].name) == 0)
            continue;
        if (i > 0)
            buf_putc(sh, ';');
        append_lower(sh, ent[i].name);
    }
    if (sh->failed)
        return fail_buf(sh, "signed headers", e);

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
        expireslen = format_uint((unsigned long long)opt->expires_s, expires);
        qextra extra[6];
        size_t nextra = 0;
        extra[nextra++] = (qextra){ STRV("X-Amz-Algorithm"), STRV(ALGORITHM) };
        extra[nextra++] = (qextra){ STRV("X-Amz-Credential"), { credential, credlen } };
        extra[nextra++] = (qextra){ STRV("X-Amz-Date"), { out->amz_date, 16 } };
        extra[nextra++] = (qextra){ STRV("X-Amz-Expires"), { expires, expireslen } };
        extra[nextra++] = (qextra){ STRV("X-Amz-SignedHeaders"), buf_view(sh) };
        if (token && !opt->omit_session_token)
            extra[nextra++] = (qextra){ STRV("X-Amz-Security-Token"),
                                        { cred->session_token, tokenlen } };
        if (canon_query(cr, &s->scratch, req->query, extra, nextra, e) != 0)
            return -1;
    } else if (canon_query(cr, &s->scratch, req->query, NULL, 0, e) != 0) {
        return -1;
    }
    buf_putc(cr, '\n');
    for (size_t i = 0; i < nent; i++) {
        if (i > 0 && name_cmp(ent[i - 1].name, ent[i].name) == 0) {
            buf_putc(cr, ',');
        } else {
            append_lower(cr, ent[i].name);
            buf_putc(cr, ':');
        }
        append_folded(cr, ent[i].value);
        if (i + 1 == nent || name_cmp(ent[i].name, ent[i + 1].name) != 0)
            buf_putc(cr, '\n');
    }
    buf_putc(cr, '\n');
    buf_append_strv(cr, buf_view(sh));
    buf_putc(cr, '\n');
    buf_append_str(cr, out->content_sha256);
    if (cr->failed)
        return fail_buf(cr, "canonical request", e);

    /* string to sign */
    if (sha256(s, cr->data, cr->len, md) != 0)
        return errinfo_set(e, ERR_INTERNAL, "sigv4: OpenSSL failed hashing the request");
    hex_encode(md, SHA256_LEN, hex);
    buf *sts = &out->string_to_sign;
    buf_append(sts, ALGORITHM, sizeof ALGORITHM - 1);
    buf_putc(sts, '\n');
    buf_append(sts, out->amz_date, 16);
    buf_putc(sts, '\n');
    buf_append(sts, scope, scopelen);
    buf_putc(sts, '\n');
    buf_append(sts, hex, 64);
    if (sts->failed)
        return fail_buf(sts, "string to sign", e);

    /* signature */
    if (ensure_key(s, cred, idlen, secretlen, out->amz_date, opt->region, opt->service, e) != 0)
        return -1;
    if (hmac_cached(s, sts->data, sts->len, md) != 0)
        return errinfo_set(e, ERR_INTERNAL, "sigv4: OpenSSL failed computing the signature");
    hex_encode(md, SHA256_LEN, out->signature);

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
            return fail_buf(q, "presigned query", e);
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
            return fail_buf(a, "authorization header", e);
    }
    return 0;
}

unsigned long sigv4_key_derivations(const sigv4_signer *s)
{
    return s ? s->key_derivations : 0;
}
