/* http.h — an HTTP client over one reused libcurl easy handle (keep-alive), with connect
 * and total timeouts, a cap on the response size, and transport failures classified.
 *
 * Which path a request takes: an http:// or https:// URL with no proxy configured (none of
 * http_proxy, HTTP_PROXY, all_proxy, ALL_PROXY set, or no_proxy in the options) — DynamoDB
 * and DynamoDB Local, Streams, Cognito, the JWKS, the container and IMDS credential
 * endpoints — takes the raw HTTP/1.1 keep-alive path (http_raw.c, parsed by http1.c; for
 * https the TLS of libcurl's CONNECT_ONLY handshake: the same verification, CA bundle and
 * timeouts, the TLS session resumed on a reconnect), unless the URL has user info, a
 * fragment or bytes at or below ' '. Everything else — proxies — takes libcurl's own HTTP
 * path. Both give the same http_response and failure classes. */
#ifndef CR_HTTP_H
#define CR_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"
#include "base/errinfo.h"

struct http_response;

typedef struct http_options {
    long connect_timeout_ms;   /* 0: 3000 */
    long timeout_ms;           /* whole request; 0: 10000 */
    size_t max_response_bytes; /* 0: 16 MiB */
    bool no_proxy;             /* ignore http_proxy & co. (metadata endpoints) */
    const char *ca_bundle;     /* PEM file of the CAs HTTPS trusts; NULL: creds_ca_bundle()
                                     (AWS_CA_BUNDLE, the config's ca_bundle), else the
                                     system's; verification of peer and host is always on */
    /* A scripted peer in place of the network, for unit tests (tests/support/ddbscript.h):
     * when set, http_request hands every request to it and sends nothing. It fills resp as
     * an answer would (status, body, headers) and returns like http_request. */
    int (*transport)(void *arg, const char *method, const char *url, const char *const *headers,
                     const void *body, size_t body_len, struct http_response *resp, errinfo *e);
    void *transport_arg;
} http_options;

/* How a request failed below HTTP (a status of any value counts as an answer). */
typedef enum http_fail {
    HTTP_FAIL_NONE = 0,
    HTTP_FAIL_CONNECT, /* refused, unreachable, DNS */
    HTTP_FAIL_TIMEOUT, /* connect or total timeout */
    HTTP_FAIL_RESET,   /* connection reset / closed mid-response */
    HTTP_FAIL_TOOBIG,  /* response over max_response_bytes */
    HTTP_FAIL_TLS,     /* certificate or handshake */
    HTTP_FAIL_OTHER,
} http_fail;

typedef struct http_response {
    long status; /* 0 when no answer */
    buf body;
    http_fail fail;
    char amz_crc32[16];  /* x-amz-crc32 header when present, else "" */
    char request_id[80]; /* x-amzn-requestid when present, else "" */
} http_response;

void http_response_init(http_response *r);
void http_response_cleanup(http_response *r); /* accepts NULL */

typedef struct http http;

/* NULL with e set when libcurl cannot be set up, or (ERR_CONFIG) when the CA bundle is
 * configured but cannot be read. */
http *http_new(const http_options *opts, errinfo *e);
void http_free(http *h); /* accepts NULL */

/* Sends one request. headers is a NULL-terminated list of "Name: value" lines (may be
 * NULL). Returns 0 when an HTTP answer arrived (any status; resp->status and resp->body set),
 * -1 with resp->fail and e set when none did. resp is reset first. */
int http_request(http *h, const char *method, const char *url, const char *const *headers,
                 const void *body, size_t body_len, http_response *resp, errinfo *e);

/* Connections the raw path opened (tests and benches: one for many requests means no
 * handshake per request). */
long http_connections(const http *h);

/* Whether the failure class is worth retrying (connect, timeout, reset). */
bool http_fail_retryable(http_fail f);
const char *http_fail_name(http_fail f);

#endif
