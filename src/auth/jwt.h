/* jwt.h — verification of Amazon Cognito user-pool access tokens: JWS compact form, RS256
 * only, key by kid from a JWKS cache (auth/jwks.h), then the claims Cognito puts in an
 * access token (base64url: base/base64.h).
 *
 * Why no libcjose: the verify path is small (split, base64url, two JSON objects, one
 * EVP_DigestVerify), and writing it directly against OpenSSL 3 keeps strict control of what
 * is accepted — exactly alg RS256, kid required, no crit, key sizes 2048..8192 bits, the
 * 8 KiB cap — instead of auditing a general JOSE library's choices (algorithm tables, JWE,
 * embedded keys). It is also one run-time dependency fewer, and parsing stays on the same
 * strict JSON parser (base/jparse.h) as the rest of the system. */
#ifndef CR_JWT_H
#define CR_JWT_H

#include <stddef.h>
#include <stdint.h>

#include "auth/jwks.h"
#include "base/buf.h"
#include "base/errinfo.h"

#define JWT_MAX_LEN 8192        /* longest token accepted, in bytes */
#define JWT_LEEWAY_DEFAULT_S 60 /* clock skew allowed on exp/nbf/iat */
#define JWT_LEEWAY_MAX_S 86400  /* larger leeway values are clamped to this */

/* What a valid token must say. Strings are borrowed for the duration of the call. */
typedef struct jwt_expect {
    const char *issuer;    /* iss: "https://cognito-idp.<region>.amazonaws.com/<pool id>" */
    const char *client_id; /* client_id: AWS_COGNITO_USER_POOL_CLIENT_ID */
    const char *token_use; /* token_use; NULL means "access" */
    int64_t leeway_s;      /* used as given (negative counts as 0); jwt_expect_init sets 60 */
} jwt_expect;

/* The claims of a verified token, copied out (no pointers into the token). */
typedef struct jwt_claims {
    char sub[65];       /* 1..64 chars of [A-Za-z0-9-] (a UUID for Cognito) */
    char username[129]; /* "username"; "" when absent */
    char scope[257];    /* "scope", truncated to fit; "" when absent */
    char jti[129];      /* "jti"; "" when absent */
    int64_t exp;        /* seconds since the epoch */
    int64_t iat;        /* 0 when absent */
} jwt_claims;

/* Sets issuer and client_id, token_use NULL ("access"), leeway JWT_LEEWAY_DEFAULT_S. */
void jwt_expect_init(jwt_expect *x, const char *issuer, const char *client_id);

/* Verifies token[0..len) (need not be NUL-terminated) at time now_s (seconds since the
 * epoch). Returns 0 with *out filled when the token is valid; otherwise -1, *out zeroed and e
 * set: ERR_INVALID with a reason safe to log (it never contains the token or any part of it,
 * decoded or not; an unknown kid is "no key for the token's kid"); the key set's own error
 * (ERR_IO, ERR_TIMEOUT, ERR_SERVICE, ...) when no key set could be loaded at all (answer 503,
 * not 401); ERR_NOMEM / ERR_INTERNAL / ERR_CONFIG (x or keys missing) when we failed. The key
 * is looked up with jwks_get(keys, kid), which may refetch the set (see jwks.h).
 * Accepted: exactly three base64url parts (no padding, strict alphabet, canonical), at most
 * JWT_MAX_LEN bytes; header a JSON object with alg exactly "RS256", kid a string of 1..128
 * printable ASCII characters and no "crit"; the RS256 signature verifies; payload a JSON
 * object with iss == issuer, token_use == expected, client_id == expected, integer exp with
 * exp > now - leeway, integer nbf/iat (when present) <= now + leeway, sub as in jwt_claims,
 * and username/jti (when present) strings within their bounds. Other members are ignored. */
int jwt_verify(jwks *keys, const char *token, size_t len, const jwt_expect *x, int64_t now_s,
               jwt_claims *out, errinfo *e);

/* "https://cognito-idp.<region>.amazonaws.com/<pool>" into out (appended). region NULL or
 * "" means the pool id's prefix ("us-east-1" of "us-east-1_AbC123"). 0, or -1 with e set
 * (ERR_CONFIG) when the region or pool id is malformed, the buffer untouched. */
int jwt_issuer_for_pool(const char *region, const char *pool, buf *out, errinfo *e);

#endif
