/* tokcache.c — verified access tokens by hash (see tokcache.h). */
#include "config.h"

#include "api/tokcache.h"

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

int tokcache_hash(const char *token, size_t len, unsigned char hash[32])
{
    /* fetched once per process (each worker after fork) and reused: no allocation per call */
    static EVP_MD *md;
    static EVP_MD_CTX *ctx;
    if (!md)
        md = EVP_MD_fetch(NULL, "SHA256", NULL);
    if (!ctx)
        ctx = EVP_MD_CTX_new();
    unsigned int n = 0;
    if (!md || !ctx || EVP_DigestInit_ex2(ctx, md, NULL) != 1 ||
        EVP_DigestUpdate(ctx, token, len) != 1 || EVP_DigestFinal_ex(ctx, hash, &n) != 1 || n != 32)
        return -1;
    return 0;
}

bool tokcache_get(const tokcache *c, const unsigned char hash[32], int64_t now_s, char sub[65])
{
    for (size_t i = 0; c && i < TOKCACHE_SLOTS; i++) {
        if (c->slot[i].until_s <= now_s || c->slot[i].exp_s <= now_s)
            continue;
        if (CRYPTO_memcmp(c->slot[i].hash, hash, 32) == 0) {
            memcpy(sub, c->slot[i].sub, sizeof c->slot[i].sub);
            return true;
        }
    }
    return false;
}

void tokcache_put(tokcache *c, const unsigned char hash[32], const char *sub, int64_t exp_s,
                  int64_t now_s)
{
    size_t len = sub ? strlen(sub) : 0;
    if (!c || len == 0 || len >= sizeof c->slot[0].sub || exp_s <= now_s)
        return;
    size_t victim = c->next;
    for (size_t i = 0; i < TOKCACHE_SLOTS; i++) {
        if (c->slot[i].until_s <= now_s) { /* free or stale */
            victim = i;
            break;
        }
    }
    if (victim == c->next)
        c->next = (c->next + 1) % TOKCACHE_SLOTS;
    memcpy(c->slot[victim].hash, hash, 32);
    memcpy(c->slot[victim].sub, sub, len + 1);
    c->slot[victim].exp_s = exp_s;
    int64_t until = now_s + TOKCACHE_MAX_AGE_S;
    c->slot[victim].until_s = until < exp_s ? until : exp_s;
}
