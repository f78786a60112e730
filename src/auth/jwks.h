/* jwks.h — a cache of the RS256 signing keys of a JSON Web Key Set (a Cognito pool's
 * /.well-known/jwks.json), loaded from an http(s) URL or a file, looked up by kid.
 *
 * Refetch rules (all times from now_s_fn, seconds on any monotonic scale):
 * - nothing is fetched by jwks_new; the first jwks_get (or jwks_refresh) loads the set;
 * - an unknown kid refetches, at most once per min_refetch_interval_s: a fetch attempt of
 *   any kind (success or failure) starts the interval, so tokens with made-up kids cost at
 *   most one fetch a minute;
 * - a lookup in a set older than max_age_s refreshes it first (same rate limit);
 * - while no set has ever loaded, lookups retry at most every JWKS_EMPTY_RETRY_S;
 * - a failed fetch (unreachable, non-200, over 64 KiB, not a usable JWKS) keeps the old set
 *   and is logged (event "jwks_fetch_failed").
 * Not thread-safe: one cache per worker process. */
#ifndef CR_JWKS_H
#define CR_JWKS_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/types.h>

#include "base/buf.h"
#include "base/errinfo.h"

#define JWKS_MAX_KEYS 32           /* a set with more keys is rejected */
#define JWKS_MAX_BYTES (64 * 1024) /* largest JWKS document accepted */
#define JWKS_KID_MAX 128           /* longest kid */
#define JWKS_MIN_BITS 2048         /* RSA modulus bounds; others are skipped */
#define JWKS_MAX_BITS 8192
#define JWKS_EMPTY_RETRY_S 5

typedef int64_t (*jwks_now_fn)(void *ud);

typedef struct jwks_options {
    const char *source;             /* "http://..", "https://..", "file:///path" or "/path"
                                      * (copied; other forms are ERR_CONFIG) */
    int64_t min_refetch_interval_s; /* 0: 60 */
    int64_t max_age_s;              /* 0: 21600 (6 h) */
    long connect_timeout_ms;        /* 0: 1000 */
    long timeout_ms;                /* whole fetch; 0: 3000 */
    jwks_now_fn now_s_fn;           /* NULL: the monotonic clock */
    void *now_ud;                   /* passed to now_s_fn */
} jwks_options;

/* Counters for logs and tests. */
typedef struct jwks_info {
    size_t keys;            /* usable keys in the current set */
    size_t skipped;         /* keys the current set's document held but we skip */
    unsigned long fetches;  /* fetch attempts (URL or file), including failures */
    unsigned long failures; /* attempts that kept the old set */
    int64_t loaded_at_s;    /* when the current set loaded; -1 when none */
} jwks_info;

typedef struct jwks jwks;

/* A cache for o->source, empty until first used. NULL with e set (ERR_CONFIG for a bad
 * source, ERR_NOMEM). */
jwks *jwks_new(const jwks_options *o, errinfo *e);
void jwks_free(jwks *k); /* accepts NULL */

/* The public key for kid, following the refetch rules above. Returns 0 with *out set to a
 * key borrowed from the cache (valid until the next call on k); -1 with e set: ERR_NOTFOUND
 * when no key has that kid (after any refetch allowed); when no set could be loaded at all,
 * the fetch error: ERR_IO / ERR_TIMEOUT (unreachable, unreadable file), ERR_TOOBIG (over
 * JWKS_MAX_BYTES), ERR_SERVICE (non-200, or not a usable JWKS) — never ERR_NOTFOUND. */
int jwks_get(jwks *k, const char *kid, EVP_PKEY **out, errinfo *e);

/* Fetches the set now, ignoring the rate limit (it still counts as an attempt). 0, or -1
 * with e set (codes as for jwks_get) and the old set kept. */
int jwks_refresh(jwks *k, errinfo *e);

/* Replaces the set with the one parsed from json[0..len) (the step a fetch ends with; the
 * counters other than keys/skipped are untouched). Keys that are not kty RSA, whose use is
 * present and not "sig", whose alg is present and not "RS256", without a kid, with a kid
 * already seen, with a modulus outside JWKS_MIN_BITS..JWKS_MAX_BITS or an exponent that is
 * not odd in 3..2^31-1 are skipped. 0, or -1 with e set (ERR_INVALID: not JSON, no "keys"
 * array, more than JWKS_MAX_KEYS entries, no usable key; ERR_TOOBIG) and the old set kept. */
int jwks_load_json(jwks *k, const char *json, size_t len, errinfo *e);

void jwks_get_info(const jwks *k, jwks_info *out);

/* "https://cognito-idp.<region>.amazonaws.com/<pool>/.well-known/jwks.json" into out
 * (appended); region NULL or "" means the pool id's prefix. 0, or -1 with e set (ERR_CONFIG)
 * when either is malformed. */
int jwks_url_for_pool(const char *region, const char *pool, buf *out, errinfo *e);

#endif
