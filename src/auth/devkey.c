/* devkey.c — the local development RSA key: files on disk, its JWKS, RS256 signing. */
#include "config.h"
#include "auth/devkey.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "auth/jwt.h"
#include "base/base64.h"
#include "base/clock.h"
#include "base/file.h"
#include "base/log.h"
#include "base/rnd.h"

#define DEVKEY_PATH_MAX 4096

struct devkey {
    EVP_PKEY *pkey;
    char kid[48];
    char n_b64[1400]; /* base64url of the modulus (8192 bits at most) */
    char e_b64[16];
};

void devkey_free(devkey *k)
{
    if (!k)
        return;
    EVP_PKEY_free(k->pkey);
    free(k);
}

const char *devkey_kid(const devkey *k)
{
    return k->kid;
}

/* dir "/" name into out; -1 when it does not fit. */
static int devkey_path(char *out, size_t cap, const char *dir, const char *name, errinfo *e)
{
    int n = snprintf(out, cap, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= cap)
        return errinfo_set(e, ERR_CONFIG, "key directory path is too long");
    return 0;
}

/* base64url of a BIGNUM parameter into out. */
static int devkey_bn_b64(const EVP_PKEY *pkey, const char *param, char *out, size_t cap)
{
    BIGNUM *bn = NULL;
    unsigned char raw[1024];
    int rc = -1;
    if (EVP_PKEY_get_bn_param(pkey, param, &bn) != 1 || BN_num_bytes(bn) > (int)sizeof raw)
        goto out;
    int n = BN_bn2bin(bn, raw);
    buf b;
    buf_init(&b, cap - 1);
    if (base64_encode(BASE64_URL, raw, (size_t)n, &b) == 0) {
        memcpy(out, buf_cstr(&b), b.len + 1);
        rc = 0;
    }
    buf_cleanup(&b);
out:
    BN_free(bn);
    return rc;
}

/* Wraps a private key: checks it is RSA of a sane size, computes n, e and the kid. */
static int devkey_wrap(EVP_PKEY *pkey, devkey **out, errinfo *e)
{
    int bits = EVP_PKEY_get_bits(pkey);
    if (!EVP_PKEY_is_a(pkey, "RSA") || bits < 2048 || bits > 8192) {
        EVP_PKEY_free(pkey);
        return errinfo_set(e, ERR_INVALID,
                           "the development key must be an RSA key of 2048..8192 bits");
    }
    devkey *k = calloc(1, sizeof *k);
    if (!k) {
        EVP_PKEY_free(pkey);
        return errinfo_nomem(e);
    }
    k->pkey = pkey;
    if (devkey_bn_b64(pkey, OSSL_PKEY_PARAM_RSA_N, k->n_b64, sizeof k->n_b64) != 0 ||
        devkey_bn_b64(pkey, OSSL_PKEY_PARAM_RSA_E, k->e_b64, sizeof k->e_b64) != 0) {
        devkey_free(k);
        ERR_clear_error();
        return errinfo_set(e, ERR_INTERNAL, "cannot read the RSA key's public numbers");
    }
    /* RFC 7638 thumbprint: SHA-256 of the required members in lexicographic order */
    buf tp;
    buf_init(&tp, 2048);
    unsigned char md[32];
    unsigned int mdlen = 0;
    int ok =
        buf_printf(&tp, "{\"e\":\"%s\",\"kty\":\"RSA\",\"n\":\"%s\"}", k->e_b64, k->n_b64) == 0 &&
        EVP_Digest(tp.data, tp.len, md, &mdlen, EVP_sha256(), NULL) == 1;
    buf_cleanup(&tp);
    buf kb;
    buf_init(&kb, sizeof k->kid - 1);
    ok = ok && base64_encode(BASE64_URL, md, mdlen, &kb) == 0;
    if (ok)
        memcpy(k->kid, buf_cstr(&kb), kb.len + 1);
    buf_cleanup(&kb);
    if (!ok) {
        devkey_free(k);
        return errinfo_set(e, ERR_INTERNAL, "cannot compute the key's thumbprint");
    }
    *out = k;
    return 0;
}

int devkey_jwks_json(const devkey *k, buf *out, errinfo *e)
{
    json_t *doc = json_pack("{s:[{s:s, s:s, s:s, s:s, s:s, s:s}]}", "keys", "alg", "RS256", "e",
                            k->e_b64, "kid", k->kid, "kty", "RSA", "n", k->n_b64, "use", "sig");
    char *s = doc ? json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    int rc = s && buf_append_str(out, s) == 0 && buf_putc(out, '\n') == 0
                 ? 0
                 : errinfo_set(e, ERR_NOMEM, "cannot build the JWKS");
    free(s);
    json_decref(doc);
    return rc;
}

/* Writes data to a new temporary file next to path (mode given), synced. The name goes into
 * tmp. */
static int devkey_write_tmp(const char *path, const void *data, size_t n, mode_t mode, char *tmp,
                            size_t tmpcap, errinfo *e)
{
    char u[UUID_BUF];
    if (rnd_uuid4(u) != 0)
        return errinfo_set(e, ERR_INTERNAL, "no randomness for a temporary file name");
    int len = snprintf(tmp, tmpcap, "%s.tmp-%.8s", path, u);
    if (len < 0 || (size_t)len >= tmpcap)
        return errinfo_set(e, ERR_CONFIG, "key directory path is too long");
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
    if (fd < 0)
        return errinfo_set(e, ERR_IO, "cannot create %s: %s", tmp, strerror(errno));
    const char *p = data;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            errinfo_set(e, ERR_IO, "cannot write %s: %s", tmp, strerror(errno));
            goto fail;
        }
        p += w;
        n -= (size_t)w;
    }
    if (fsync(fd) != 0) {
        errinfo_set(e, ERR_IO, "cannot sync %s: %s", tmp, strerror(errno));
        goto fail;
    }
    if (close(fd) != 0) {
        fd = -1;
        errinfo_set(e, ERR_IO, "cannot write %s: %s", tmp, strerror(errno));
        goto fail;
    }
    return 0;
fail:
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    return -1;
}

/* Writes dir/jwks.json atomically (replacing it). */
static int devkey_write_jwks(const devkey *k, const char *dir, errinfo *e)
{
    char path[DEVKEY_PATH_MAX], tmp[DEVKEY_PATH_MAX + 32];
    buf j;
    buf_init(&j, 64 * 1024);
    int rc = -1;
    if (devkey_path(path, sizeof path, dir, DEVKEY_JWKS_NAME, e) != 0 ||
        devkey_jwks_json(k, &j, e) != 0 ||
        devkey_write_tmp(path, j.data, j.len, 0644, tmp, sizeof tmp, e) != 0)
        goto out;
    if (rename(tmp, path) != 0) {
        errinfo_set(e, ERR_IO, "cannot write %s: %s", path, strerror(errno));
        unlink(tmp);
        goto out;
    }
    rc = 0;
out:
    buf_cleanup(&j);
    return rc;
}

int devkey_generate(const char *dir, devkey **out, errinfo *e)
{
    char path[DEVKEY_PATH_MAX], tmp[DEVKEY_PATH_MAX + 32];
    EVP_PKEY *pkey = NULL;
    devkey *k = NULL;
    BIO *mem = NULL;
    int rc = -1;
    if (out)
        *out = NULL;
    if (!dir || !*dir)
        return errinfo_set(e, ERR_CONFIG, "no key directory given");
    if (devkey_path(path, sizeof path, dir, DEVKEY_PEM_NAME, e) != 0)
        return -1;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return errinfo_set(e, ERR_IO, "cannot create %s: %s", dir, strerror(errno));
    if (access(path, F_OK) == 0)
        return errinfo_set(e, ERR_CONFIG, "%s already exists; use it or remove it first", path);

    if (!(pkey = EVP_RSA_gen(DEVKEY_BITS))) {
        errinfo_set(e, ERR_INTERNAL, "RSA key generation failed");
        goto out;
    }
    EVP_PKEY_up_ref(pkey);
    if (devkey_wrap(pkey, &k, e) != 0) /* takes one reference */
        goto out;
    char *pem = NULL;
    long pemlen = 0;
    if (!(mem = BIO_new(BIO_s_mem())) ||
        PEM_write_bio_PrivateKey(mem, pkey, NULL, NULL, 0, NULL, NULL) != 1 ||
        (pemlen = BIO_get_mem_data(mem, &pem)) <= 0) {
        errinfo_set(e, ERR_INTERNAL, "cannot encode the private key");
        goto out;
    }
    if (devkey_write_tmp(path, pem, (size_t)pemlen, 0600, tmp, sizeof tmp, e) != 0)
        goto out;
    /* link() never replaces: of two concurrent generators exactly one wins */
    if (link(tmp, path) != 0) {
        int err = errno;
        unlink(tmp);
        if (err == EEXIST)
            errinfo_set(e, ERR_CONFIG, "%s already exists; use it or remove it first", path);
        else
            errinfo_set(e, ERR_IO, "cannot create %s: %s", path, strerror(err));
        goto out;
    }
    unlink(tmp);
    if (devkey_write_jwks(k, dir, e) != 0) {
        unlink(path);
        goto out;
    }
    if (out) {
        *out = k;
        k = NULL;
    }
    rc = 0;
out:
    if (mem) {
        char *p = NULL;
        long n = BIO_get_mem_data(mem, &p);
        if (p && n > 0)
            OPENSSL_cleanse(p, (size_t)n);
        BIO_free(mem);
    }
    devkey_free(k);
    EVP_PKEY_free(pkey);
    ERR_clear_error();
    return rc;
}

int devkey_load(const char *dir, devkey **out, errinfo *e)
{
    char path[DEVKEY_PATH_MAX];
    *out = NULL;
    if (!dir || !*dir)
        return errinfo_set(e, ERR_CONFIG, "no key directory given");
    if (devkey_path(path, sizeof path, dir, DEVKEY_PEM_NAME, e) != 0)
        return -1;
    struct stat st;
    int fd = file_open_regular(path, &st);
    if (fd == FILE_NOT_REGULAR)
        return errinfo_set(e, ERR_INVALID, "%s is not a key file", path);
    if (fd < 0)
        return errinfo_set(e, errno == ENOENT ? ERR_NOTFOUND : ERR_IO, "cannot open %s: %s", path,
                           strerror(errno));
    if (st.st_size > 64 * 1024) {
        close(fd);
        return errinfo_set(e, ERR_INVALID, "%s is not a key file", path);
    }
    if (st.st_mode & 077)
        log_msg(LOG_WARN, "devkey_permissions", "%s is readable by others (chmod 600 it)", path);
    FILE *f = fdopen(fd, "r");
    if (!f) {
        close(fd);
        return errinfo_nomem(e);
    }
    EVP_PKEY *pkey = PEM_read_PrivateKey(f, NULL, NULL, (void *)"");
    fclose(f);
    ERR_clear_error();
    if (!pkey)
        return errinfo_set(e, ERR_INVALID, "%s does not hold an unencrypted PEM private key", path);
    return devkey_wrap(pkey, out, e);
}

int devkey_open(const char *dir, devkey **out, errinfo *e)
{
    errinfo le;
    if (devkey_load(dir, out, &le) != 0) {
        if (le.code != ERR_NOTFOUND) {
            if (e)
                *e = le;
            return -1;
        }
        /* on failure, maybe another process generated it first: load that key */
        errinfo le2;
        if (devkey_generate(dir, out, &le) != 0 && devkey_load(dir, out, &le2) != 0) {
            if (e)
                *e = le;
            return -1;
        }
    }
    /* make sure jwks.json publishes this key */
    char path[DEVKEY_PATH_MAX];
    buf want, have;
    buf_init(&want, 64 * 1024);
    buf_init(&have, 64 * 1024);
    int rc = -1;
    if (devkey_path(path, sizeof path, dir, DEVKEY_JWKS_NAME, e) != 0 ||
        devkey_jwks_json(*out, &want, e) != 0)
        goto out;
    /* what jwks.json holds now: only a regular file is read (a FIFO or the like is
     * replaced, as a stale file is) */
    errinfo ignored; /* missing, unreadable or too big: rewritten like a stale one */
    file_read_regular(path, &have, &ignored);
    if (!strv_eq(buf_view(&want), buf_view(&have)) && devkey_write_jwks(*out, dir, e) != 0)
        goto out;
    rc = 0;
out:
    buf_cleanup(&have);
    buf_cleanup(&want);
    if (rc != 0) {
        devkey_free(*out);
        *out = NULL;
    }
    return rc;
}

/* ---- signing ----------------------------------------------------------------------------- */

int devkey_sign(const devkey *k, strv header_json, strv payload_json, buf *out, errinfo *e)
{
    buf t;
    buf_init(&t, JWT_MAX_LEN * 4);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    unsigned char sig[1024];
    size_t siglen = sizeof sig;
    int rc = -1;
    if (!md || base64_encode(BASE64_URL, header_json.ptr, header_json.len, &t) != 0 ||
        buf_putc(&t, '.') != 0 ||
        base64_encode(BASE64_URL, payload_json.ptr, payload_json.len, &t) != 0) {
        errinfo_set(e, ERR_NOMEM, "token too big or out of memory");
        goto out;
    }
    if (EVP_DigestSignInit_ex(md, &pctx, "SHA256", NULL, NULL, k->pkey, NULL) != 1 ||
        EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1 ||
        EVP_PKEY_get_size(k->pkey) > (int)sizeof sig ||
        EVP_DigestSign(md, sig, &siglen, (const unsigned char *)t.data, t.len) != 1) {
        errinfo_set(e, ERR_INTERNAL, "RS256 signing failed");
        goto out;
    }
    if (buf_putc(&t, '.') != 0 || base64_encode(BASE64_URL, sig, siglen, &t) != 0 ||
        buf_append_strv(out, buf_view(&t)) != 0) {
        errinfo_set(e, ERR_NOMEM, "token too big or out of memory");
        goto out;
    }
    rc = 0;
out:
    EVP_MD_CTX_free(md);
    ERR_clear_error();
    buf_cleanup(&t);
    return rc;
}

int devkey_mint(const devkey *k, const devkey_claims *c, buf *out, errinfo *e)
{
    if (!c || !c->sub || !*c->sub || !c->issuer || !*c->issuer || !c->client_id || !*c->client_id)
        return errinfo_set(e, ERR_INVALID, "a token needs sub, issuer and client_id");
    int64_t iat = c->iat_s ? c->iat_s : clock_real_us() / 1000000;
    int64_t exp = iat + (c->ttl_s ? c->ttl_s : DEVKEY_TTL_DEFAULT_S);
    char origin_jti[UUID_BUF], event_id[UUID_BUF], jti[UUID_BUF];
    if (rnd_uuid4(origin_jti) != 0 || rnd_uuid4(event_id) != 0 || rnd_uuid4(jti) != 0)
        return errinfo_set(e, ERR_INTERNAL, "no randomness for the token ids");
    json_t *hdr = json_pack("{s:s, s:s}", "kid", k->kid, "alg", "RS256");
    json_t *pl =
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:s, s:s}", "sub", c->sub,
                  "iss", c->issuer, "client_id", c->client_id, "origin_jti", origin_jti, "event_id",
                  event_id, "token_use", "access", "scope", "aws.cognito.signin.user.admin",
                  "auth_time", (json_int_t)iat, "exp", (json_int_t)exp, "iat", (json_int_t)iat,
                  "jti", jti, "username", c->username ? c->username : c->sub);
    char *hs = hdr ? json_dumps(hdr, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    char *ps = pl ? json_dumps(pl, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    int rc;
    if (!hdr || !pl)
        rc = errinfo_set(e, ERR_INVALID, "token claims are not valid UTF-8");
    else if (!hs || !ps)
        rc = errinfo_nomem(e);
    else
        rc = devkey_sign(k, strv_from(hs), strv_from(ps), out, e);
    free(ps);
    free(hs);
    json_decref(pl);
    json_decref(hdr);
    return rc;
}
