/* sigv4_key.c — the signature stage of SigV4: SHA-256, the signing-key derivation (HMAC
 * chain over date, region, service, "aws4_request") cached per signer as the SHA-256 states
 * after the key's ipad and opad blocks, and the signer's lifecycle. Neither the secret nor
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

/* ---- digests ------------------------------------------------------------------------------ */

int sigv4_sha256(sigv4_signer *s, const void *p, size_t n, unsigned char out[SIGV4_SHA256_LEN])
{
    unsigned int len = 0;
    if (EVP_DigestInit_ex2(s->ctx, s->md, NULL) != 1 || EVP_DigestUpdate(s->ctx, p, n) != 1 ||
        EVP_DigestFinal_ex(s->ctx, out, &len) != 1)
        return -1;
    return 0;
}

/* HMAC-SHA256 with any key, for the key derivation chain. */
static int hmac_once(sigv4_signer *s, const unsigned char *key, size_t klen, const void *msg,
                     size_t mlen, unsigned char out[SIGV4_SHA256_LEN])
{
    unsigned char kb[SIGV4_SHA256_BLOCK] = { 0 }, pad[SIGV4_SHA256_BLOCK], ih[SIGV4_SHA256_LEN];
    unsigned int len = 0;
    int rc = -1;

    if (klen > SIGV4_SHA256_BLOCK) {
        if (sigv4_sha256(s, key, klen, kb) != 0)
            goto out;
    } else {
        memcpy(kb, key, klen);
    }
    for (size_t i = 0; i < SIGV4_SHA256_BLOCK; i++)
        pad[i] = kb[i] ^ 0x36;
    if (EVP_DigestInit_ex2(s->ctx, s->md, NULL) != 1 ||
        EVP_DigestUpdate(s->ctx, pad, sizeof pad) != 1 ||
        EVP_DigestUpdate(s->ctx, msg, mlen) != 1 || EVP_DigestFinal_ex(s->ctx, ih, &len) != 1)
        goto out;
    for (size_t i = 0; i < SIGV4_SHA256_BLOCK; i++)
        pad[i] = kb[i] ^ 0x5c;
    if (EVP_DigestInit_ex2(s->ctx, s->md, NULL) != 1 ||
        EVP_DigestUpdate(s->ctx, pad, sizeof pad) != 1 ||
        EVP_DigestUpdate(s->ctx, ih, sizeof ih) != 1 || EVP_DigestFinal_ex(s->ctx, out, &len) != 1)
        goto out;
    rc = 0;
out:
    OPENSSL_cleanse(kb, sizeof kb);
    OPENSSL_cleanse(pad, sizeof pad);
    OPENSSL_cleanse(ih, sizeof ih);
    return rc;
}

/* HMAC-SHA256 with the cached signing key. */
int sigv4_hmac_cached(sigv4_signer *s, const void *msg, size_t n,
                      unsigned char out[SIGV4_SHA256_LEN])
{
    unsigned char ih[SIGV4_SHA256_LEN];
    unsigned int len = 0;
    int ok =
        EVP_MD_CTX_copy_ex(s->ctx, s->inner) == 1 && EVP_DigestUpdate(s->ctx, msg, n) == 1 &&
        EVP_DigestFinal_ex(s->ctx, ih, &len) == 1 && EVP_MD_CTX_copy_ex(s->ctx, s->outer) == 1 &&
        EVP_DigestUpdate(s->ctx, ih, sizeof ih) == 1 && EVP_DigestFinal_ex(s->ctx, out, &len) == 1;
    OPENSSL_cleanse(ih, sizeof ih);
    return ok ? 0 : -1;
}

static int secret_fingerprint(sigv4_signer *s, const sigv4_credentials *cred, size_t idlen,
                              size_t secretlen, unsigned char out[SIGV4_SHA256_LEN])
{
    static const char tag[] = "cruddur sigv4 key cache";
    unsigned int len = 0;
    if (EVP_DigestInit_ex2(s->ctx, s->md, NULL) != 1 ||
        EVP_DigestUpdate(s->ctx, tag, sizeof tag) != 1 ||
        EVP_DigestUpdate(s->ctx, cred->access_key_id, idlen + 1) != 1 ||
        EVP_DigestUpdate(s->ctx, cred->secret_access_key, secretlen) != 1 ||
        EVP_DigestFinal_ex(s->ctx, out, &len) != 1)
        return -1;
    return 0;
}

/* Makes s->inner/outer hold the signing key for (date, region, service, secret). */
int sigv4_ensure_key(sigv4_signer *s, const sigv4_credentials *cred, size_t idlen, size_t secretlen,
                     const char *date, const char *region, const char *service, errinfo *e)
{
    unsigned char fp[SIGV4_SHA256_LEN];
    unsigned char ksecret[4 + SIGV4_MAX_SECRET];
    unsigned char k[SIGV4_SHA256_LEN], block[SIGV4_SHA256_BLOCK];
    int rc = -1;

    if (secret_fingerprint(s, cred, idlen, secretlen, fp) != 0)
        goto crypto;
    if (s->have_key && strncmp(s->key_date, date, 8) == 0 && strcmp(s->key_region, region) == 0 &&
        strcmp(s->key_service, service) == 0 && CRYPTO_memcmp(s->key_fp, fp, sizeof fp) == 0)
        return 0;

    s->have_key = false;
    memcpy(ksecret, "AWS4", 4);
    memcpy(ksecret + 4, cred->secret_access_key, secretlen);
    if (hmac_once(s, ksecret, 4 + secretlen, date, 8, k) != 0 ||
        hmac_once(s, k, sizeof k, region, strlen(region), k) != 0 ||
        hmac_once(s, k, sizeof k, service, strlen(service), k) != 0 ||
        hmac_once(s, k, sizeof k, "aws4_request", 12, k) != 0)
        goto crypto;
    memset(block, 0, sizeof block);
    memcpy(block, k, sizeof k);
    for (size_t i = 0; i < SIGV4_SHA256_BLOCK; i++)
        block[i] ^= 0x36;
    if (EVP_DigestInit_ex2(s->inner, s->md, NULL) != 1 ||
        EVP_DigestUpdate(s->inner, block, sizeof block) != 1)
        goto crypto;
    for (size_t i = 0; i < SIGV4_SHA256_BLOCK; i++)
        block[i] ^= 0x36 ^ 0x5c;
    if (EVP_DigestInit_ex2(s->outer, s->md, NULL) != 1 ||
        EVP_DigestUpdate(s->outer, block, sizeof block) != 1)
        goto crypto;
    memcpy(s->key_date, date, 8); /* the key is per day: yyyymmdd of the amz-date */
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
    unsigned char md[SIGV4_SHA256_LEN];
    unsigned int len = 0;
    if (EVP_Digest(p, n, md, &len, EVP_sha256(), NULL) != 1 || len != SIGV4_SHA256_LEN) {
        out[0] = '\0';
        return;
    }
    hex_encode(md, SIGV4_SHA256_LEN, out);
}

unsigned long sigv4_key_derivations(const sigv4_signer *s)
{
    return s ? s->key_derivations : 0;
}
