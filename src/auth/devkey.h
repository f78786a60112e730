/* devkey.h — a local development signing key: generate or load an RSA key pair in a
 * directory, publish its public half as a JWKS file the API can trust (CRUDDUR_JWKS_URL),
 * and mint Cognito-shaped access tokens with it (`cruddur token`). Tests also use it to sign
 * arbitrary (bad) tokens. Never use it for anything but local development. */
#ifndef CR_DEVKEY_H
#define CR_DEVKEY_H

#include <stdint.h>

#include "base/buf.h"
#include "base/errinfo.h"

#define DEVKEY_PEM_NAME "dev-key.pem" /* the private key, PKCS#8 PEM, mode 0600 */
#define DEVKEY_JWKS_NAME "jwks.json"  /* the public key as a JWKS */
#define DEVKEY_BITS 2048
#define DEVKEY_TTL_DEFAULT_S 3600 /* Cognito's default access-token lifetime */

typedef struct devkey devkey;

/* Creates dir (mode 0700) when missing, then writes dir/dev-key.pem (a new RSA 2048 key,
 * 0600, never overwriting: ERR_CONFIG when it exists) and dir/jwks.json (its public key, kid
 * = the RFC 7638 SHA-256 thumbprint, so the kid is stable for the key). 0 with *out set (the
 * caller owns it; out may be NULL), or -1 with e set and no partial file left behind. */
int devkey_generate(const char *dir, devkey **out, errinfo *e);

/* Loads dir/dev-key.pem (an RSA key of 2048..8192 bits). 0 with *out set (caller owns it),
 * or -1 with e set: ERR_NOTFOUND when the file does not exist, ERR_INVALID when it is not
 * such a key. Writes nothing. */
int devkey_load(const char *dir, devkey **out, errinfo *e);

/* Loads the key, generating it when dir/dev-key.pem does not exist yet, and (re)writes
 * dir/jwks.json when it is missing or does not match the key. 0 with *out set, or -1. */
int devkey_open(const char *dir, devkey **out, errinfo *e);

void devkey_free(devkey *k); /* accepts NULL */

/* The key's kid (43 base64url characters); valid while k lives. */
const char *devkey_kid(const devkey *k);

/* Appends {"keys":[{"alg":"RS256","e":..,"kid":..,"kty":"RSA","n":..,"use":"sig"}]}. 0/-1. */
int devkey_jwks_json(const devkey *k, buf *out, errinfo *e);

/* What a minted access token says. Strings are borrowed; all must be valid UTF-8. */
typedef struct devkey_claims {
    const char *sub;       /* required: the user's Cognito sub (users.cognito_user_id) */
    const char *username;  /* NULL: sub (Cognito's username claim) */
    const char *issuer;    /* required: see jwt_issuer_for_pool() */
    const char *client_id; /* required: AWS_COGNITO_USER_POOL_CLIENT_ID */
    int64_t iat_s;         /* issued at (also auth_time), epoch seconds; 0: now */
    int64_t ttl_s;         /* exp = iat + ttl_s; 0: DEVKEY_TTL_DEFAULT_S (may be negative) */
} devkey_claims;

/* Appends an RS256 access token shaped like Cognito's: header {"kid","alg":"RS256"}, payload
 * {sub, iss, client_id, origin_jti, event_id, token_use "access", scope
 * "aws.cognito.signin.user.admin", auth_time, exp, iat, jti, username} with fresh random
 * UUIDs for the jtis and event_id. 0, or -1 with e set (ERR_INVALID for missing claims) and
 * out unchanged. The token is a credential: never log it. */
int devkey_mint(const devkey *k, const devkey_claims *c, buf *out, errinfo *e);

/* Appends base64url(header) "." base64url(payload) "." base64url(RS256 signature) for the
 * given bytes, unchecked (tests use it for malformed tokens). 0, or -1 with e set. */
int devkey_sign(const devkey *k, strv header_json, strv payload_json, buf *out, errinfo *e);

#endif
