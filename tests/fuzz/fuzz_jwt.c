/* fuzz_jwt.c — access-token verification (auth/jwt.c) with a test key set: the first input
 * byte picks the mode, the rest is
 *   mode 0: a token as is;
 *   mode 1: header JSON, a NUL byte, payload JSON, signed here with the test key ("@KID@"
 *           in the header becomes the test key's kid), then the same token with one byte
 *           changed;
 *   mode 2: the same, signed with another key under the test key's kid;
 *   mode 3: the same, signed with another key under that key's own kid.
 * The invariant: a token not signed by the test key is never accepted (every accepted token
 * is checked again here, with EVP_DigestVerify against the test key), and an accepted
 * token's claims are within jwt_claims' bounds. */
#include "config.h"

#include <stdbool.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "auth/devkey.h"
#include "auth/jwks.h"
#include "auth/jwt.h"
#include "base/base64.h"
#include "fuzz.h"

#define FUZZ_JWT_MAX_INPUT (JWT_MAX_LEN + 1)
#define FUZZ_JWT_NOW_S INT64_C(1800000000)
#define FUZZ_JWT_ISSUER "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Fuzz"
#define FUZZ_JWT_CLIENT "fuzzclient"

static devkey *fuzz_jwt_key, *fuzz_jwt_other;
static jwks *fuzz_jwt_keys;

static int64_t fuzz_jwt_now(void *ud)
{
    (void)ud;
    return FUZZ_JWT_NOW_S;
}

/* A key made in a fresh temporary directory, which is removed again. */
static devkey *fuzz_jwt_make_key(void)
{
    char dir[] = "/tmp/cruddur-fuzz-jwt-XXXXXX", path[64];
    devkey *k = NULL;
    errinfo e;
    FUZZ_CHECK(mkdtemp(dir) != NULL);
    FUZZ_CHECK(rmdir(dir) == 0); /* devkey_generate creates it */
    FUZZ_CHECK(devkey_generate(dir, &k, &e) == 0);
    snprintf(path, sizeof path, "%s/%s", dir, DEVKEY_PEM_NAME);
    unlink(path);
    snprintf(path, sizeof path, "%s/%s", dir, DEVKEY_JWKS_NAME);
    unlink(path);
    rmdir(dir);
    return k;
}

static void fuzz_jwt_cleanup(void)
{
    jwks_free(fuzz_jwt_keys);
    devkey_free(fuzz_jwt_key);
    devkey_free(fuzz_jwt_other);
}

static void fuzz_jwt_init(void)
{
    if (fuzz_jwt_keys)
        return;
    errinfo e;
    fuzz_jwt_key = fuzz_jwt_make_key();
    fuzz_jwt_other = fuzz_jwt_make_key();
    jwks_options o = { .source = "/nonexistent/cruddur-fuzz/jwks.json", .now_s_fn = fuzz_jwt_now };
    fuzz_jwt_keys = jwks_new(&o, &e);
    FUZZ_CHECK(fuzz_jwt_keys != NULL);
    buf j;
    buf_init(&j, 0);
    FUZZ_CHECK(devkey_jwks_json(fuzz_jwt_key, &j, &e) == 0);
    FUZZ_CHECK(jwks_load_json(fuzz_jwt_keys, j.data, j.len, &e) == 0);
    buf_cleanup(&j);
    atexit(fuzz_jwt_cleanup);
}

/* Whether token's signature verifies with the test key, checked apart from jwt_verify. */
static bool fuzz_jwt_signed_by_test_key(const char *token, size_t len)
{
    const char *d1 = memchr(token, '.', len);
    const char *d2 = d1 ? memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - token)) : NULL;
    if (!d2)
        return false;
    EVP_PKEY *pkey = NULL;
    errinfo e;
    if (jwks_get(fuzz_jwt_keys, devkey_kid(fuzz_jwt_key), &pkey, &e) != 0)
        return false;
    buf sig;
    buf_init(&sig, 4096);
    strv sp = { d2 + 1, len - (size_t)(d2 + 1 - token) };
    bool ok = false;
    if (base64_decode(BASE64_URL, sp, &sig, &e) == 0) {
        EVP_MD_CTX *md = EVP_MD_CTX_new();
        EVP_PKEY_CTX *pctx = NULL;
        ok = md && EVP_DigestVerifyInit_ex(md, &pctx, "SHA256", NULL, NULL, pkey, NULL) == 1 &&
             EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1 &&
             EVP_DigestVerify(md, (const unsigned char *)sig.data, sig.len,
                              (const unsigned char *)token, (size_t)(d2 - token)) == 1;
        EVP_MD_CTX_free(md);
    }
    buf_cleanup(&sig);
    return ok;
}

static bool fuzz_jwt_sub_ok(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!(s[i] == '-' || (s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'z') ||
              (s[i] >= 'A' && s[i] <= 'Z')))
            return false;
    return true;
}

/* Verifies token; returns whether it was accepted, after checking the invariants. */
static bool fuzz_jwt_verify(const char *token, size_t len)
{
    jwt_expect x;
    jwt_claims c;
    errinfo e;
    jwt_expect_init(&x, FUZZ_JWT_ISSUER, FUZZ_JWT_CLIENT);
    char *copy = fuzz_dup((const uint8_t *)token, len); /* not NUL-terminated */
    int rc = jwt_verify(fuzz_jwt_keys, copy, len, &x, FUZZ_JWT_NOW_S, &c, &e);
    free(copy);
    if (rc != 0) {
        FUZZ_CHECK(rc == -1);
        FUZZ_CHECK(c.sub[0] == '\0' && c.exp == 0);
        FUZZ_CHECK(e.code == ERR_INVALID);
        return false;
    }
    FUZZ_CHECK(fuzz_jwt_signed_by_test_key(token, len));
    FUZZ_CHECK(fuzz_jwt_sub_ok(c.sub));
    FUZZ_CHECK(c.exp > FUZZ_JWT_NOW_S - JWT_LEEWAY_DEFAULT_S);
    FUZZ_CHECK(c.iat <= FUZZ_JWT_NOW_S + JWT_LEEWAY_DEFAULT_S);
    FUZZ_CHECK(strlen(c.username) < sizeof c.username && strlen(c.jti) < sizeof c.jti);
    return true;
}

/* header with every "@KID@" replaced by kid, into out. */
static void fuzz_jwt_header(const uint8_t *h, size_t n, const char *kid, buf *out)
{
    for (size_t i = 0; i < n;) {
        if (n - i >= 5 && memcmp(h + i, "@KID@", 5) == 0) {
            buf_append_str(out, kid);
            i += 5;
        } else {
            buf_putc(out, (char)h[i++]);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > FUZZ_JWT_MAX_INPUT)
        return 0;
    fuzz_jwt_init();
    unsigned mode = data[0] & 3, where = data[0] >> 2;
    data++;
    size--;
    if (mode == 0) {
        fuzz_jwt_verify((const char *)data, size);
        return 0;
    }
    const uint8_t *h, *p;
    size_t hn, pn;
    fuzz_split(data, size, 0, &h, &hn, &p, &pn);
    const devkey *signer = mode == 1 ? fuzz_jwt_key : fuzz_jwt_other;
    const char *kid = mode == 3 ? devkey_kid(fuzz_jwt_other) : devkey_kid(fuzz_jwt_key);
    buf hdr, tok;
    buf_init(&hdr, 0);
    buf_init(&tok, 0);
    errinfo e;
    fuzz_jwt_header(h, hn, kid, &hdr);
    FUZZ_CHECK(!hdr.failed);
    strv hv = { hdr.data ? hdr.data : "", hdr.len }, pv = { (const char *)p, pn };
    if (devkey_sign(signer, hv, pv, &tok, &e) == 0) {
        bool ok = fuzz_jwt_verify(tok.data, tok.len);
        FUZZ_CHECK(!ok || mode == 1);
        if (ok) {
            /* any one byte changed: never accepted */
            size_t at = tok.len - 1 - (where * 131u) % tok.len;
            char was = tok.data[at];
            for (const char *c = "A_-.x0"; *c; c++) {
                if (*c == was)
                    continue;
                tok.data[at] = *c;
                FUZZ_CHECK(!fuzz_jwt_verify(tok.data, tok.len));
            }
            tok.data[at] = was;
        }
    }
    buf_cleanup(&tok);
    buf_cleanup(&hdr);
    return 0;
}
