/* http_raw.h — the raw HTTP/1.1 keep-alive path of http.c (private to src/aws/http*.c): one
 * kept connection opened by libcurl (CONNECT_ONLY: for https also the TLS handshake, peer and
 * host verified, the TLS session kept for a resumed reconnect), the bytes written and parsed
 * by http1.c. http.c sends a request here when the URL is http:// or https:// and no proxy
 * is configured (or no_proxy is set); everything else takes libcurl's own HTTP path. */
#ifndef CR_HTTP_RAW_H
#define CR_HTTP_RAW_H

#include <stddef.h>

#include <curl/curl.h>

#include "aws/http.h"
#include "base/errinfo.h"

typedef struct http_raw http_raw;

/* Holds no connection yet; NULL on ENOMEM. The timeouts and cap are the http_options'
 * (defaults filled in). */
http_raw *http_raw_new(long connect_timeout_ms, long timeout_ms, size_t max_response_bytes,
                       const char *ca_bundle); /* "" or NULL: the system's trust store */
void http_raw_free(http_raw *h);               /* accepts NULL; closes the connection */

/* What http_raw_request came to. */
enum {
    HTTP_RAW_OK = 0,
    HTTP_RAW_FAILED,
    HTTP_RAW_UNSUPPORTED
};

/* One request over the kept connection (reconnecting when the origin changed, once more
 * when a kept connection turns out closed before any byte of an answer). HTTP_RAW_OK with
 * resp filled; HTTP_RAW_FAILED with resp->fail and e set; HTTP_RAW_UNSUPPORTED (nothing
 * sent) for a URL this path leaves to libcurl (user info, bytes <= ' ', a fragment,
 * over-long origin). resp->body.max must be set by the caller. */
int http_raw_request(http_raw *h, const char *method, const char *url, const char *const *headers,
                     const void *body, size_t body_len, http_response *resp, errinfo *e);

/* Connections the path opened so far (tests and benches: a kept connection is one). */
long http_raw_connections(const http_raw *h);

/* The failure class of a libcurl result code. */
http_fail http_raw_classify(CURLcode rc);

#endif
