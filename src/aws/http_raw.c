/* http_raw.c — the raw path's socket loop: libcurl opens the connection
 * (CURLOPT_CONNECT_ONLY: name resolution, connect timeout, TCP options; for https the TLS
 * handshake with peer and host verification and the CA bundle, the TLS session kept in a
 * share so a reconnect resumes it) and keeps it; the
 * request (written by http1_request_write) goes out with curl_easy_send, the answer is read
 * with curl_easy_recv and fed to http1_parse_bytes; a kept connection the server closed is
 * retried once on a new one. Over TLS OpenSSL reads ahead and keeps its buffers
 * (http_raw_tls_ctx): an answer in one record is one recv, with no buffer freed and taken
 * again per record. */
#include "config.h"
#include "aws/http_raw.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ssl.h>

#include "aws/http1.h"
#include "base/clock.h"

#define HTTP_RAW_READ ((size_t)16 << 10) /* bytes asked of each curl_easy_recv */
#define HTTP_RAW_ORIGIN_MAX 300

struct http_raw {
    long connect_timeout_ms, timeout_ms;
    size_t max_response_bytes;
    char curl_err[CURL_ERROR_SIZE];
    char ca_bundle[4096]; /* "" : the system's trust store */
    CURLSH *tls_share;    /* TLS sessions kept across reconnects; NULL: none yet */
    long connects;        /* connections opened */
    CURL *conn;           /* CONNECT_ONLY handle owning the open connection, or NULL */
    curl_socket_t sock;
    char origin[HTTP_RAW_ORIGIN_MAX]; /* "http[s]://host:port" that conn is connected to */
    buf out;                          /* the request bytes */
    char *in;                         /* the answer bytes */
    size_t in_len, in_cap;
};

/* What one exchange came to besides the public outcomes. */
enum {
    HTTP_RAW_STALE = HTTP_RAW_UNSUPPORTED + 1
};

http_raw *http_raw_new(long connect_timeout_ms, long timeout_ms, size_t max_response_bytes,
                       const char *ca_bundle)
{
    http_raw *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    if (ca_bundle &&
        snprintf(h->ca_bundle, sizeof h->ca_bundle, "%s", ca_bundle) >= (int)sizeof h->ca_bundle) {
        free(h);
        return NULL;
    }
    h->connect_timeout_ms = connect_timeout_ms;
    h->timeout_ms = timeout_ms;
    h->max_response_bytes = max_response_bytes;
    h->sock = CURL_SOCKET_BAD;
    buf_init(&h->out, (size_t)32 << 20);
    return h;
}

void http_raw_free(http_raw *h)
{
    if (!h)
        return;
    if (h->conn)
        curl_easy_cleanup(h->conn);
    if (h->tls_share)
        curl_share_cleanup(h->tls_share);
    buf_cleanup_wipe(&h->out);
    free(h->in);
    free(h);
}

long http_raw_connections(const http_raw *h)
{
    return h ? h->connects : 0;
}

http_fail http_raw_classify(CURLcode rc)
{
    switch (rc) {
    case CURLE_OPERATION_TIMEDOUT: return HTTP_FAIL_TIMEOUT;
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY: return HTTP_FAIL_CONNECT;
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE: return HTTP_FAIL_RESET;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE: return HTTP_FAIL_TLS;
    default: return HTTP_FAIL_OTHER;
    }
}

static void http_raw_close(http_raw *h)
{
    if (h->conn)
        curl_easy_cleanup(h->conn);
    h->conn = NULL;
    h->sock = CURL_SOCKET_BAD;
    h->origin[0] = '\0';
}

/* The length of the URL's scheme and "://" when http or https, else 0. */
static size_t http_raw_scheme(const char *url)
{
    return strncmp(url, "http://", 7) == 0 ? 7 : strncmp(url, "https://", 8) == 0 ? 8 : 0;
}

/* Splits an http:// or https:// URL into origin ("http://host:port") and request target
 * ("/path?q"); -1 for what the raw path leaves to libcurl (user info, odd bytes, over-long
 * parts). */
static int http_raw_split(const char *url, char *origin, size_t olen, const char **target)
{
    size_t sl = http_raw_scheme(url);
    if (sl == 0)
        return -1;
    const char *auth = url + sl;
    size_t alen = strcspn(auth, "/?#");
    if (alen == 0 || alen + sl >= olen || memchr(auth, '@', alen))
        return -1;
    for (const char *p = url; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f || *p == '#')
            return -1;
    memcpy(origin, url, alen + sl);
    origin[alen + sl] = '\0';
    *target = auth + alen;
    return 0;
}

/* Waits until the socket is ready for ev: 0, or 1 when the deadline passed first. */
static int http_raw_wait(http_raw *h, short ev, int64_t deadline_us)
{
    for (;;) {
        int64_t left = deadline_us - clock_mono_us();
        if (left <= 0)
            return 1;
        struct pollfd p = { .fd = (int)h->sock, .events = ev };
        int r = poll(&p, 1, (int)((left + 999) / 1000));
        if (r > 0 || (r < 0 && errno != EINTR))
            return 0; /* an error shows up in the send or recv that follows */
    }
}

static int http_raw_fail(http_response *resp, http_fail f, errinfo *e, const char *method,
                         const char *url, const char *why)
{
    resp->fail = f;
    errinfo_set(e,
                f == HTTP_FAIL_TIMEOUT  ? ERR_TIMEOUT
                : f == HTTP_FAIL_TOOBIG ? ERR_TOOBIG
                                        : ERR_IO,
                "%s %s: %s (%s)", method, url, why, http_fail_name(f));
    return HTTP_RAW_FAILED;
}

/* libcurl's CURLOPT_SSL_CTX_FUNCTION, before each handshake: OpenSSL reads ahead, so an
 * answer in one TLS record takes one recv instead of two (its 5-byte header, then the
 * rest). Safe with the read loop of http_raw_exchange, which calls curl_easy_recv again
 * before it polls: a record already read ahead is never left waiting. */
static CURLcode http_raw_tls_ctx(CURL *c, void *ssl_ctx, void *arg)
{
    (void)c;
    (void)arg;
    SSL_CTX_set_read_ahead((SSL_CTX *)ssl_ctx, 1);
    SSL_CTX_clear_mode((SSL_CTX *)ssl_ctx, SSL_MODE_RELEASE_BUFFERS);
    return CURLE_OK;
}

static int http_raw_connect(http_raw *h, const char *origin, int64_t deadline_us,
                            http_response *resp, const char *method, const char *url, errinfo *e)
{
    char target[HTTP_RAW_ORIGIN_MAX + 1];
    snprintf(target, sizeof target, "%s/", origin);
    int64_t left_ms = (deadline_us - clock_mono_us()) / 1000;
    CURL *c = curl_easy_init();
    if (!c)
        return http_raw_fail(resp, HTTP_FAIL_OTHER, e, method, url, "curl_easy_init failed");
    h->curl_err[0] = '\0';
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, h->curl_err);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, h->connect_timeout_ms);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(left_ms > 0 ? left_ms : 1));
    curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(c, CURLOPT_PROXY, "");
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(c, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    if (origin[4] == 's') {
        /* as libcurl's own path: verification always on, the configured CA bundle */
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
        if (h->ca_bundle[0])
            curl_easy_setopt(c, CURLOPT_CAINFO, h->ca_bundle);
        /* another TLS backend than OpenSSL answers CURLE_NOT_BUILT_IN: it reads as it does */
        curl_easy_setopt(c, CURLOPT_SSL_CTX_FUNCTION, http_raw_tls_ctx);
        if (!h->tls_share && (h->tls_share = curl_share_init()) != NULL)
            curl_share_setopt(h->tls_share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
        if (h->tls_share)
            curl_easy_setopt(c, CURLOPT_SHARE, h->tls_share);
    }
    curl_easy_setopt(c, CURLOPT_CONNECT_ONLY, 1L);
    curl_easy_setopt(c, CURLOPT_URL, target);
    CURLcode cc = curl_easy_perform(c);
    curl_socket_t sock = CURL_SOCKET_BAD;
    if (cc == CURLE_OK)
        cc = curl_easy_getinfo(c, CURLINFO_ACTIVESOCKET, &sock);
    if (cc != CURLE_OK || sock == CURL_SOCKET_BAD) {
        char why[CURL_ERROR_SIZE];
        snprintf(why, sizeof why, "%s", h->curl_err[0] ? h->curl_err : curl_easy_strerror(cc));
        curl_easy_cleanup(c);
        return http_raw_fail(resp, cc == CURLE_OK ? HTTP_FAIL_OTHER : http_raw_classify(cc), e,
                             method, url, why);
    }
    h->conn = c;
    h->sock = sock;
    h->connects++;
    snprintf(h->origin, sizeof h->origin, "%s", origin);
    return HTTP_RAW_OK;
}

static int http_raw_send(http_raw *h, int64_t deadline_us, http_response *resp, const char *method,
                         const char *url, errinfo *e)
{
    const char *p = h->out.data;
    size_t n = h->out.len;
    while (n > 0) {
        size_t k = 0;
        CURLcode cc = curl_easy_send(h->conn, p, n, &k);
        if (cc == CURLE_AGAIN) {
            if (http_raw_wait(h, POLLOUT, deadline_us) != 0)
                return http_raw_fail(resp, HTTP_FAIL_TIMEOUT, e, method, url,
                                     "timed out sending the request");
            continue;
        }
        if (cc != CURLE_OK)
            return http_raw_fail(resp, HTTP_FAIL_RESET, e, method, url, curl_easy_strerror(cc));
        p += k;
        n -= k;
    }
    return HTTP_RAW_OK;
}

/* Advances the parse over what is in h->in: 0 when the answer is complete. */
static int http_raw_parse(http_raw *h, http1_parse *st, bool is_head, bool eof, http_response *resp)
{
    return http1_parse_bytes(st, h->in, &h->in_len, h->max_response_bytes, is_head, eof, resp);
}

/* One request over the open connection (h->out already built); HTTP_RAW_STALE when a reused
 * connection turned out closed before any byte of an answer came back. */
static int http_raw_exchange(http_raw *h, bool reused, bool is_head, int64_t deadline_us,
                             http_response *resp, const char *method, const char *url, errinfo *e)
{
    int r = http_raw_send(h, deadline_us, resp, method, url, e);
    if (r != HTTP_RAW_OK)
        return reused && resp->fail == HTTP_FAIL_RESET ? HTTP_RAW_STALE : r;
    http1_parse st = { 0 };
    bool eof = false, any = false, wait = true; /* nothing can be there yet: poll first */
    h->in_len = 0;
    for (;;) {
        int p = http_raw_parse(h, &st, is_head, eof, resp);
        if (p == 0)
            break;
        if (p == HTTP1_BIG)
            return http_raw_fail(resp, HTTP_FAIL_TOOBIG, e, method, url, "response too large");
        if (p == HTTP1_BAD) {
            if (eof)
                return reused && !any ? HTTP_RAW_STALE
                                      : http_raw_fail(resp, HTTP_FAIL_RESET, e, method, url,
                                                      "connection closed mid-answer");
            return http_raw_fail(resp, HTTP_FAIL_OTHER, e, method, url, "malformed HTTP answer");
        }
        size_t limit = h->max_response_bytes + HTTP1_HEAD_MAX;
        if (limit < h->max_response_bytes)
            limit = SIZE_MAX;
        if (h->in_cap - h->in_len < HTTP_RAW_READ) {
            if (h->in_len >= limit)
                return http_raw_fail(resp, HTTP_FAIL_TOOBIG, e, method, url, "response too large");
            size_t cap = h->in_cap ? h->in_cap * 2 : 4 * HTTP_RAW_READ;
            while (cap - h->in_len < HTTP_RAW_READ)
                cap *= 2;
            char *n = realloc(h->in, cap);
            if (!n) {
                resp->fail = HTTP_FAIL_OTHER;
                return errinfo_nomem(e), HTTP_RAW_FAILED;
            }
            h->in = n;
            h->in_cap = cap;
        }
        if (wait && http_raw_wait(h, POLLIN, deadline_us) != 0)
            return http_raw_fail(resp, HTTP_FAIL_TIMEOUT, e, method, url,
                                 "timed out waiting for the answer");
        size_t k = 0;
        CURLcode cc = curl_easy_recv(h->conn, h->in + h->in_len, h->in_cap - h->in_len, &k);
        wait = cc == CURLE_AGAIN;
        if (wait)
            continue;
        if (cc != CURLE_OK) {
            if (reused && !any)
                return HTTP_RAW_STALE;
            return http_raw_fail(resp, HTTP_FAIL_RESET, e, method, url, curl_easy_strerror(cc));
        }
        if (k == 0)
            eof = true;
        any = any || k > 0;
        h->in_len += k;
    }
    resp->status = st.status;
    if (st.close)
        http_raw_close(h);
    return HTTP_RAW_OK;
}

int http_raw_request(http_raw *h, const char *method, const char *url, const char *const *headers,
                     const void *body, size_t body_len, http_response *resp, errinfo *e)
{
    char origin[HTTP_RAW_ORIGIN_MAX];
    const char *target;
    if (http_raw_split(url, origin, sizeof origin, &target) != 0)
        return HTTP_RAW_UNSUPPORTED;
    if (http1_request_write(&h->out, method, origin + http_raw_scheme(origin), target, headers,
                            body, body_len, e) != 0)
        return HTTP_RAW_FAILED;
    int64_t deadline_us = clock_mono_us() + (int64_t)h->timeout_ms * 1000;
    if (h->conn && strcmp(h->origin, origin) != 0)
        http_raw_close(h);
    for (int tries = 0;; tries++) {
        bool reused = h->conn != NULL;
        if (!reused && http_raw_connect(h, origin, deadline_us, resp, method, url, e) != 0)
            return HTTP_RAW_FAILED;
        buf_reset(&resp->body);
        resp->amz_crc32[0] = '\0';
        resp->request_id[0] = '\0';
        int r = http_raw_exchange(h, reused, strcmp(method, "HEAD") == 0, deadline_us, resp, method,
                                  url, e);
        if (r == HTTP_RAW_OK)
            return r;
        http_raw_close(h);
        if (r != HTTP_RAW_STALE || tries > 0)
            return r == HTTP_RAW_STALE ? http_raw_fail(resp, HTTP_FAIL_RESET, e, method, url,
                                                       "connection closed by the server")
                                       : r;
        resp->fail = HTTP_FAIL_NONE; /* a kept connection the server had closed: once more */
    }
}
