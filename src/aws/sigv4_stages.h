/* sigv4_stages.h — what the files of the SigV4 module share (private to src/aws/sigv4*.c):
 * the signer's state, and the stage functions sigv4_sign assembles. The canonical-request
 * stage is sigv4_canon.c (pure string building), the signature stage sigv4_key.c (digests
 * and the cached signing key), the checks and the string to sign sigv4.c. */
#ifndef CR_SIGV4_STAGES_H
#define CR_SIGV4_STAGES_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/evp.h>

#include "aws/sigv4.h"
#include "base/buf.h"
#include "base/errinfo.h"

#define SIGV4_SHA256_LEN 32
#define SIGV4_SHA256_BLOCK 64
#define SIGV4_MAX_SCOPE_FIELD 64 /* region, service */
#define SIGV4_MAX_SECRET 256

struct sigv4_signer {
    EVP_MD *md;        /* SHA-256, fetched once */
    EVP_MD_CTX *ctx;   /* scratch digest */
    EVP_MD_CTX *inner; /* SHA-256 state after the signing key's ipad block */
    EVP_MD_CTX *outer; /* ... after its opad block */
    bool have_key;
    char key_date[9];
    unsigned long key_derivations; /* signing keys derived (tests: the cache hits) */
    char key_region[SIGV4_MAX_SCOPE_FIELD + 1];
    char key_service[SIGV4_MAX_SCOPE_FIELD + 1];
    unsigned char key_fp[SIGV4_SHA256_LEN]; /* SHA-256 of a tag, the access key id, the secret */
    buf scratch;                            /* the encoded query parameters of one call */
    buf signed_headers;                     /* "host;x-amz-date" of one call */
};

/* One header to sign: the caller's, or one the signer adds. */
typedef struct sigv4_hdr_ent {
    strv name;
    strv value;
} sigv4_hdr_ent;

/* A query parameter the signer adds when presigning. */
typedef struct sigv4_qextra {
    strv key;
    strv value; /* encoded, never decoded */
} sigv4_qextra;

/* ---- small helpers (sigv4_canon.c) ---- */
bool sigv4_is_alnum(unsigned char c);
bool sigv4_ok_field_value(unsigned char c); /* no control characters but tab */
int sigv4_name_cmp(strv a, strv b);         /* header names without case; equal: 0 */
size_t sigv4_format_uint(unsigned long long n, char out[24]);   /* decimal, no NUL; length */
int sigv4_fail_buf(const buf *b, const char *what, errinfo *e); /* ERR_TOOBIG, returns -1 */

/* ---- the canonical request (sigv4_canon.c) ---- */
/* Appends the canonical query of query plus the already-encoded extras (sorted in); scratch
 * is reused between calls. 0, or -1 with e set. */
int sigv4_canon_query(buf *out, buf *scratch, strv query, const sigv4_qextra *extra, size_t nextra,
                      errinfo *e);
/* Appends a header value trimmed of spaces and tabs, inner runs folded to one space. 0/-1. */
int sigv4_append_folded(buf *b, strv v);
/* Appends s lowercased (ASCII). 0, or -1 when b is full. */
int sigv4_append_lower(buf *b, strv s);
/* Checks the caller's headers (names, values, limits, Host present, none the signer sets)
 * and gathers them with the nadded ones the signer adds into ent (room for
 * SIGV4_MAX_HEADERS + nadded), sorted by name (stable: duplicates keep their order).
 * 0 with *nent set, or -1 with e set. */
int sigv4_gather_headers(const sigv4_request *req, const sigv4_options *opt,
                         const sigv4_hdr_ent *added, size_t nadded, sigv4_hdr_ent *ent,
                         size_t *nent, errinfo *e);

/* ---- the signature (sigv4_key.c) ---- */
/* SHA-256 of p[0..n) with the signer's context. 0, or -1 when OpenSSL fails. */
int sigv4_sha256(sigv4_signer *s, const void *p, size_t n, unsigned char out[SIGV4_SHA256_LEN]);
/* Makes the signer hold the signing key for (date's first 8 bytes, region, service, secret),
 * deriving it only when one of them changed. 0, or -1 with e set (ERR_INTERNAL). */
int sigv4_ensure_key(sigv4_signer *s, const sigv4_credentials *cred, size_t idlen, size_t secretlen,
                     const char *date, const char *region, const char *service, errinfo *e);
/* HMAC-SHA256 of msg with the signing key sigv4_ensure_key set up. 0, or -1. */
int sigv4_hmac_cached(sigv4_signer *s, const void *msg, size_t n,
                      unsigned char out[SIGV4_SHA256_LEN]);

#endif
