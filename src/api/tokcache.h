/* tokcache.h — a small per-worker cache of verified access tokens: the SHA-256 of a token
 * that passed jwt_verify, with its sub and exp, so the next request with the same token skips
 * the RS256 check (about a quarter of a worker's CPU per read). Never more permissive than
 * the verifier: an entry serves only while now < exp and for at most TOKCACHE_MAX_AGE_S after
 * it was verified (a key withdrawn from the JWKS stops its tokens within that time). Only
 * hashes are kept, compared in constant time; tokens themselves are never stored. */
#ifndef CR_TOKCACHE_H
#define CR_TOKCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TOKCACHE_SLOTS 64
#define TOKCACHE_MAX_AGE_S 300

typedef struct tokcache {
    struct {
        unsigned char hash[32];
        char sub[65];
        int64_t exp_s;   /* the token's exp */
        int64_t until_s; /* min(exp, verified + TOKCACHE_MAX_AGE_S); 0: free */
    } slot[TOKCACHE_SLOTS];
    size_t next; /* round-robin victim */
} tokcache;

/* SHA-256 of token[0..len) into hash. 0, or -1 when OpenSSL fails. */
int tokcache_hash(const char *token, size_t len, unsigned char hash[32]);

/* The sub of a cached token (copied into sub, 65 bytes), or false. */
bool tokcache_get(const tokcache *c, const unsigned char hash[32], int64_t now_s, char sub[65]);

/* Remembers a token verified at now_s. A sub longer than 64 characters is not cached. */
void tokcache_put(tokcache *c, const unsigned char hash[32], const char *sub, int64_t exp_s,
                  int64_t now_s);

#endif
