/* http.c — HTTP requests over one reused libcurl easy handle, failures classified.
 *
 * Two paths. http and https URLs with no proxy in the way (DynamoDB, Streams, Cognito, the
 * JWKS and credential endpoints) take the raw path (http_raw.c: libcurl opens and keeps the
 * connection — for https the TLS handshake, verified, the session kept for a resumed
 * reconnect — the request goes out as one curl_easy_send of bytes written by http1.c, the
 * answer is read with curl_easy_recv and parsed by http1.c), three system calls a round
 * trip. libcurl's full transfer machinery costs about 25 us of CPU per request more (URL
 * parsing, connection-cache checks, five polls, a 16 KB buffer allocated per transfer).
 * Everything else — proxies, URLs the raw path does not take — uses libcurl's own HTTP
 * path, here. */
#include "config.h"
#include "aws/http.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <curl/curl.h>

#include "aws/creds.h"
#include "aws/http1.h"
#include "aws/http_raw.h"
#include "base/env.h"
#include "base/file.h"

struct http {
    CURL *curl; /* libcurl's HTTP path */
    http_options opts;
    char curl_err[CURL_ERROR_SIZE];
    char ca_bundle[4096]; /* "" : the system's trust store */
    bool raw_ok;          /* no proxy configured: plain http takes the raw path */
    http_raw *raw;        /* the raw path's kept connection */
};

static pthread_once_t http_global_once = PTHREAD_ONCE_INIT;
static CURLcode http_global_rc = CURLE_OK;

static void http_global_init(void)
{
    http_global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

void http_response_init(http_response *r)
{
    r->status = 0;
    buf_init(&r->body, 0);
    r->fail = HTTP_FAIL_NONE;
    r->amz_crc32[0] = '\0';
    r->request_id[0] = '\0';
}

void http_response_cleanup(http_response *r)
{
    if (!r)
        return;
    buf_cleanup(&r->body);
    r->status = 0;
}

http *http_new(const http_options *opts, errinfo *e)
{
    pthread_once(&http_global_once, http_global_init);
    if (http_global_rc != CURLE_OK) {
        errinfo_set(e, ERR_INTERNAL, "libcurl init failed: %s", curl_easy_strerror(http_global_rc));
        return NULL;
    }
    http *h = calloc(1, sizeof *h);
    if (!h) {
        errinfo_nomem(e);
        return NULL;
    }
    if (opts)
        h->opts = *opts;
    errinfo ce;
    if (h->opts.ca_bundle ? snprintf(h->ca_bundle, sizeof h->ca_bundle, "%s", h->opts.ca_bundle) >=
                                (int)sizeof h->ca_bundle
                          : creds_ca_bundle(h->ca_bundle, sizeof h->ca_bundle, &ce) != 0) {
        if (h->opts.ca_bundle)
            errinfo_set(e, ERR_CONFIG, "the CA bundle path is too long");
        else
            errinfo_set(e, ce.code, "%s", ce.msg);
        free(h);
        return NULL;
    }
    h->opts.ca_bundle = NULL; /* the copy in h->ca_bundle is the one used */
    if (h->ca_bundle[0]) {
        /* only a regular file can serve: libcurl reads the bundle at every handshake */
        int fd = file_open_regular(h->ca_bundle, NULL);
        if (fd >= 0)
            close(fd);
        if (fd < 0) {
            errinfo_set(e, ERR_CONFIG,
                        "the CA bundle %s (AWS_CA_BUNDLE or ca_bundle) cannot "
                        "be read: %s",
                        h->ca_bundle,
                        fd == FILE_NOT_REGULAR ? "not a regular file" : strerror(errno));
            free(h);
            return NULL;
        }
    }
    /* any proxy variable keeps every request on libcurl's path (which honours no_proxy) */
    h->raw_ok = h->opts.no_proxy || (!env_str("http_proxy") && !env_str("HTTP_PROXY") &&
                                     !env_str("all_proxy") && !env_str("ALL_PROXY"));
    if (h->opts.connect_timeout_ms <= 0)
        h->opts.connect_timeout_ms = 3000;
    if (h->opts.timeout_ms <= 0)
        h->opts.timeout_ms = 10000;
    if (h->opts.max_response_bytes == 0)
        h->opts.max_response_bytes = (size_t)16 << 20;
    h->curl = curl_easy_init();
    h->raw = http_raw_new(h->opts.connect_timeout_ms, h->opts.timeout_ms,
                          h->opts.max_response_bytes, h->ca_bundle);
    if (!h->curl || !h->raw) {
        if (h->curl)
            curl_easy_cleanup(h->curl);
        else
            errinfo_set(e, ERR_INTERNAL, "curl_easy_init failed");
        if (!h->raw)
            errinfo_nomem(e);
        http_raw_free(h->raw);
        free(h);
        return NULL;
    }
    CURL *c = h->curl;
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, h->curl_err);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, h->opts.connect_timeout_ms);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, h->opts.timeout_ms);
    curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    if (h->opts.no_proxy)
        curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    if (h->ca_bundle[0])
        curl_easy_setopt(c, CURLOPT_CAINFO, h->ca_bundle);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(c, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    return h;
}

void http_free(http *h)
{
    if (!h)
        return;
    if (h->curl)
        curl_easy_cleanup(h->curl);
    http_raw_free(h->raw);
    free(h);
}

static size_t http_on_body(char *p, size_t size, size_t n, void *ud)
{
    http_response *r = ud;
    size_t len = size * n;
    if (buf_append(&r->body, p, len) != 0) {
        r->fail = HTTP_FAIL_TOOBIG;
        return 0;
    }
    return len;
}

static size_t http_on_header(char *p, size_t size, size_t n, void *ud)
{
    http_response *r = ud;
    size_t len = size * n;
    http1_capture(p, len, "x-amz-crc32", r->amz_crc32, sizeof r->amz_crc32);
    http1_capture(p, len, "x-amzn-requestid", r->request_id, sizeof r->request_id);
    return len;
}

int http_request(http *h, const char *method, const char *url, const char *const *headers,
                 const void *body, size_t body_len, http_response *resp, errinfo *e)
{
    CURL *c = h->curl;
    struct curl_slist *hl = NULL;
    int rc = -1;

    resp->status = 0;
    resp->fail = HTTP_FAIL_NONE;
    resp->amz_crc32[0] = '\0';
    resp->request_id[0] = '\0';
    buf_reset(&resp->body);
    resp->body.max = h->opts.max_response_bytes;
    if (h->opts.transport)
        return h->opts.transport(h->opts.transport_arg, method, url, headers, body, body_len, resp,
                                 e);
    if (h->raw_ok && (strncmp(url, "http://", 7) == 0 || strncmp(url, "https://", 8) == 0)) {
        int r = http_raw_request(h->raw, method, url, headers, body, body_len, resp, e);
        if (r != HTTP_RAW_UNSUPPORTED)
            return r == HTTP_RAW_OK ? 0 : -1;
    }

    /* "Expect:" stops libcurl from waiting for 100-continue on larger bodies. */
    struct curl_slist *t = curl_slist_append(NULL, "Expect:");
    if (!t)
        goto nomem;
    hl = t;
    for (const char *const *p = headers; p && *p; p++) {
        if (strpbrk(*p, "\r\n")) {
            errinfo_set(e, ERR_INVALID, "HTTP header line contains CR or LF");
            goto out;
        }
        if (!(t = curl_slist_append(hl, *p)))
            goto nomem;
        hl = t;
    }

    bool is_get = strcmp(method, "GET") == 0;
    bool is_post = strcmp(method, "POST") == 0;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_NOBODY, 0L);
    if (is_get && !body) {
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, NULL);
    } else {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? body : "");
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(body ? body_len : 0));
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, is_post ? NULL : method);
    }
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, http_on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, resp);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, http_on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, resp);
    h->curl_err[0] = '\0';

    CURLcode cc = curl_easy_perform(c);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
    if (cc != CURLE_OK) {
        if (resp->fail != HTTP_FAIL_TOOBIG)
            resp->fail = http_raw_classify(cc);
        if (resp->fail == HTTP_FAIL_TOOBIG)
            errinfo_set(e, ERR_TOOBIG, "%s %s: response larger than %zu bytes", method, url,
                        h->opts.max_response_bytes);
        else
            errinfo_set(e, resp->fail == HTTP_FAIL_TIMEOUT ? ERR_TIMEOUT : ERR_IO, "%s %s: %s (%s)",
                        method, url, h->curl_err[0] ? h->curl_err : curl_easy_strerror(cc),
                        http_fail_name(resp->fail));
        goto out;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
    rc = 0;
    goto out;
nomem:
    errinfo_nomem(e);
out:
    curl_slist_free_all(hl);
    return rc;
}

bool http_fail_retryable(http_fail f)
{
    return f == HTTP_FAIL_CONNECT || f == HTTP_FAIL_TIMEOUT || f == HTTP_FAIL_RESET;
}

const char *http_fail_name(http_fail f)
{
    switch (f) {
    case HTTP_FAIL_NONE: return "none";
    case HTTP_FAIL_CONNECT: return "connect";
    case HTTP_FAIL_TIMEOUT: return "timeout";
    case HTTP_FAIL_RESET: return "reset";
    case HTTP_FAIL_TOOBIG: return "too-big";
    case HTTP_FAIL_TLS: return "tls";
    case HTTP_FAIL_OTHER: return "other";
    }
    return "other";
}

long http_connections(const http *h)
{
    return h ? http_raw_connections(h->raw) : 0;
}
