/* sigv4.h — AWS Signature Version 4 as a pure function: a request, credentials, region,
 * service and time in; canonical request, string to sign, signature and the headers (or
 * query) to add out. No I/O, no clock, no environment. */
#ifndef CR_SIGV4_H
#define CR_SIGV4_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/errinfo.h"

typedef struct sigv4_header {
    strv name;  /* any case; signed lowercased */
    strv value; /* signed trimmed, inner runs of spaces folded to one */
} sigv4_header;

typedef struct sigv4_request {
    strv method;                 /* "GET", "POST", ... */
    strv path;                   /* raw path as sent, e.g. "/" or "/a/../b" (never empty) */
    strv query;                  /* raw query without '?', possibly empty */
    const sigv4_header *headers; /* must include Host; duplicates are joined with ',' */
    size_t nheaders;
    const void *payload; /* hashed unless payload_hash is set */
    size_t payload_len;
    const char *payload_hash; /* optional: lowercase hex SHA-256 or "UNSIGNED-PAYLOAD" */
} sigv4_request;

typedef struct sigv4_credentials {
    const char *access_key_id;
    const char *secret_access_key;
    const char *session_token; /* NULL or "" when not temporary */
} sigv4_credentials;

typedef struct sigv4_options {
    const char *region;      /* "us-east-1" */
    const char *service;     /* signing name: "dynamodb", "cognito-idp", ... */
    int64_t time_s;          /* signing time, seconds since the epoch (UTC) */
    bool normalize_path;     /* remove dot segments and repeated '/' (all but S3) */
    bool sign_body;          /* also send and sign X-Amz-Content-Sha256 */
    bool omit_session_token; /* sign without the token, then add it (STS style) */
    bool presign;            /* query-string signing instead of the header */
    long expires_s;          /* presign only: X-Amz-Expires (1..604800) */
} sigv4_options;

/* What signing produced. Initialise once, reuse across calls (memory is kept). */
typedef struct sigv4_result {
    buf canonical_request;
    buf string_to_sign;
    char signature[65];      /* lowercase hex */
    char amz_date[17];       /* "20150830T123600Z" */
    char content_sha256[65]; /* the payload hash that was signed */
    /* Header signing: the Authorization header's value. The caller adds X-Amz-Date
     * (amz_date), X-Amz-Security-Token (when the credentials have one), X-Amz-Content-Sha256
     * (when sign_body) and Authorization; their order does not matter. */
    buf authorization;
    /* Presigning: the whole query string to send (the request's own parameters first, then
     * X-Amz-Algorithm, -Credential, -Date, -SignedHeaders, -Expires, -Security-Token,
     * -Signature), without the '?'. */
    buf presigned_query;
} sigv4_result;

void sigv4_result_init(sigv4_result *r);
void sigv4_result_cleanup(sigv4_result *r); /* accepts NULL */

/* A signer caches the derived signing key per (date, region, service, secret). One per
 * thread; it holds no request state. */
typedef struct sigv4_signer sigv4_signer;

/* NULL when out of memory or OpenSSL lacks SHA-256. */
sigv4_signer *sigv4_signer_new(void);
void sigv4_signer_free(sigv4_signer *s); /* accepts NULL */

/* Signs req. 0 on success with *out filled; -1 with e set on invalid input (missing Host,
 * bad method, bad credentials, over-long fields); *out is then unspecified but still safe
 * to reuse and clean up. Secrets never appear in e. */
int sigv4_sign(sigv4_signer *s, const sigv4_request *req, const sigv4_credentials *cred,
               const sigv4_options *opt, sigv4_result *out, errinfo *e);

/* Lowercase hex SHA-256 of p (65 bytes with the NUL). */
void sigv4_sha256_hex(const void *p, size_t n, char out[65]);

#endif
