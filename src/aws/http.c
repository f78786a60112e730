/* http.c — HTTP requests over one reused libcurl easy handle, failures classified.
 *
 * Two paths. Plain-http URLs with no proxy in the way (the DynamoDB Local and credential
 * endpoints on loopback, where the client's own CPU is most of a round trip) take the raw
 * path: libcurl opens the connection (CURLOPT_CONNECT_ONLY: name resolution, connect
 * timeout, TCP options) and keeps it; the request goes out as one curl_easy_send of bytes
 * built here, and the answer is read with curl_easy_recv and parsed here (status line,
 * headers, Content-Length, chunked, read-to-close, 1xx skipped), three system calls a
 * round trip. libcurl's full transfer machinery costs about 25 us of CPU per request more
 * (URL parsing, connection-cache checks, five polls, a 16 KB buffer allocated per
 * transfer). Everything else — https, proxies — takes libcurl's own HTTP path. */
#include "config.h"
#include "aws/http.h"
#include "aws/http_internal.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "aws/creds.h"
#include "base/clock.h"
#include "base/env.h"

#define HTTP_RAW_HEAD_MAX ((size_t)64 << 10) /* status line and headers of one answer */
#define HTTP_RAW_READ ((size_t)16 << 10)     /* bytes asked of each curl_easy_recv */
#define HTTP_RAW_ORIGIN_MAX 300

struct http {
    CURL *curl;                   /* libcurl's HTTP path */
    http_options opts;
    char curl_err[CURL_ERROR_SIZE];
    char ca_bundle[4096];         /* "" : the system's trust store */
    bool raw_ok;                  /* no proxy configured: plain http takes the raw path */
    CURL *raw;                    /* CONNECT_ONLY handle owning the open connection, or NULL */
    curl_socket_t sock;
    char origin[HTTP_RAW_ORIGIN_MAX]; /* "http://host:port" that raw is connected to */
    buf out;                      /* the request bytes */
    char *in;                     /* the answer bytes */
    size_t in_len, in_cap;
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
        errinfo_set(e, ERR_NOMEM, "out of memory");
        return NULL;
    }
    if (opts)
        h->opts = *opts;
    errinfo ce;
    if (h->opts.ca_bundle ? snprintf(h->ca_bundle, sizeof h->ca_bundle, "%s",
                                     h->opts.ca_bundle) >= (int)sizeof h->ca_bundle
                          : creds_ca_bundle(h->ca_bundle, sizeof h->ca_bundle, &ce) != 0) {
        if (h->opts.ca_bundle)
            errinfo_set(e, ERR_CONFIG, "the CA bundle path is too long");
        else
            errinfo_set(e, ce.code, "%s", ce.msg);
        free(h);
        return NULL;
    }
    h->opts.ca_bundle = NULL;   /* the copy in h->ca_bundle is the one used */
    if (h->ca_bundle[0]) {
        FILE *f = fopen(h->ca_bundle, "r");
        if (!f) {
            errinfo_set(e, ERR_CONFIG, "the CA bundle %s (AWS_CA_BUNDLE or ca_bundle) cannot "
                        "be read: %s", h->ca_bundle, strerror(errno));
            free(h);
            return NULL;
        }
        fclose(f);
    }
    /* any proxy variable keeps every request on libcurl's path (which honours no_proxy) */
    h->raw_ok = h->opts.no_proxy || (!env_str("http_proxy") && !env_str("HTTP_PROXY") &&
                                     !env_str("all_proxy") && !env_str("ALL_PROXY"));
    h->sock = CURL_SOCKET_BAD;
    buf_init(&h->out, (size_t)32 << 20);
    if (h->opts.connect_timeout_ms <= 0)
        h->opts.connect_timeout_ms = 3000;
    if (h->opts.timeout_ms <= 0)
        h->opts.timeout_ms = 10000;
    if (h->opts.max_response_bytes == 0)
        h->opts.max_response_bytes = (size_t)16 << 20;
    h->curl = curl_easy_init();
    if (!h->curl) {
        buf_cleanup(&h->out);
        free(h);
        errinfo_set(e, ERR_INTERNAL, "curl_easy_init failed");
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
    if (h->raw)
        curl_easy_cleanup(h->raw);
    buf_cleanup_wipe(&h->out);
    free(h->in);
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

/* Copies the value of "Name: value\r\n" into out when the name matches. */
static void http_capture(const char *line, size_t len, const char *name, char *out, size_t outlen)
{
    size_t nl = strlen(name);
    if (len <= nl + 1 || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
        return;
    const char *v = line + nl + 1;
    const char *end = line + len;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
        end--;
    size_t vl = (size_t)(end - v);
    if (vl >= outlen)
        vl = outlen - 1;
    memcpy(out, v, vl);
    out[vl] = '\0';
}

static size_t http_on_header(char *p, size_t size, size_t n, void *ud)
{
    http_response *r = ud;
    size_t len = size * n;
    http_capture(p, len, "x-amz-crc32", r->amz_crc32, sizeof r->amz_crc32);
    http_capture(p, len, "x-amzn-requestid", r->request_id, sizeof r->request_id);
    return len;
}

static http_fail http_classify(CURLcode rc)
{
    switch (rc) {
    case CURLE_OPERATION_TIMEDOUT:
        return HTTP_FAIL_TIMEOUT;
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        return HTTP_FAIL_CONNECT;
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
        return HTTP_FAIL_RESET;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
        return HTTP_FAIL_TLS;
    default:
        return HTTP_FAIL_OTHER;
    }
}

/* ---- the raw path ------------------------------------------------------------------------ */

/* What one raw attempt came to. */
enum { HTTP_RAW_OK, HTTP_RAW_FAILED, HTTP_RAW_STALE, HTTP_RAW_UNSUPPORTED };

static void http_raw_close(http *h)
{
    if (h->raw)
        curl_easy_cleanup(h->raw);
    h->raw = NULL;
    h->sock = CURL_SOCKET_BAD;
    h->origin[0] = '\0';
}

/* Splits an http:// URL into origin ("http://host:port") and request target ("/path?q");
 * -1 for what the raw path leaves to libcurl (user info, odd bytes, over-long parts). */
static int http_raw_split(const char *url, char *origin, size_t olen, const char **target)
{
    const char *auth = url + 7; /* after "http://" */
    size_t alen = strcspn(auth, "/?#");
    if (alen == 0 || alen + 7 >= olen || memchr(auth, '@', alen))
        return -1;
    for (const char *p = url; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f || *p == '#')
            return -1;
    memcpy(origin, url, alen + 7);
    origin[alen + 7] = '\0';
    *target = auth + alen;
    return 0;
}

/* Waits until the socket is ready for ev: 0, or 1 when the deadline passed first. */
static int http_raw_wait(http *h, short ev, int64_t deadline_us)
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
    errinfo_set(e, f == HTTP_FAIL_TIMEOUT ? ERR_TIMEOUT : f == HTTP_FAIL_TOOBIG ? ERR_TOOBIG
                                                                                : ERR_IO,
                "%s %s: %s (%s)", method, url, why, http_fail_name(f));
    return HTTP_RAW_FAILED;
}

static int http_raw_connect(http *h, const char *origin, int64_t deadline_us,
                            http_response *resp, const char *method, const char *url,
                            errinfo *e)
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
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, h->opts.connect_timeout_ms);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(left_ms > 0 ? left_ms : 1));
    curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(c, CURLOPT_PROXY, "");
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http");
#else
    curl_easy_setopt(c, CURLOPT_PROTOCOLS, (long)CURLPROTO_HTTP);
#endif
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
        return http_raw_fail(resp, cc == CURLE_OK ? HTTP_FAIL_OTHER : http_classify(cc), e,
                             method, url, why);
    }
    h->raw = c;
    h->sock = sock;
    snprintf(h->origin, sizeof h->origin, "%s", origin);
    return HTTP_RAW_OK;
}

/* Builds the request bytes into h->out, as libcurl would send them for these arguments:
 * a Host line unless given, header lines ("Name:" alone drops a header, "Name;" sends it
 * empty, as with CURLOPT_HTTPHEADER), Content-Length unless a body-less GET. */
static int http_raw_build(http *h, const char *method, const char *host, const char *target,
                          const char *const *headers, const void *body, size_t body_len,
                          bool is_get, errinfo *e)
{
    buf *o = &h->out;
    bool has_host = false;
    buf_reset(o);
    buf_append_str(o, method);
    buf_putc(o, ' ');
    if (*target != '/')
        buf_putc(o, '/');
    buf_append_str(o, target);
    buf_append_str(o, " HTTP/1.1\r\n");
    for (const char *const *p = headers; p && *p; p++)
        if (strncasecmp(*p, "Host:", 5) == 0)
            has_host = true;
    if (!has_host)
        buf_printf(o, "Host: %s\r\n", host);
    for (const char *const *p = headers; p && *p; p++) {
        const char *l = *p;
        size_t n = strlen(l);
        if (strpbrk(l, "\r\n"))
            return errinfo_set(e, ERR_INVALID, "HTTP header line contains CR or LF");
        const char *colon = strchr(l, ':');
        if (colon && colon[1 + strspn(colon + 1, " \t")] == '\0')
            continue; /* "Name:" removes a header libcurl would add; here none is added */
        if (!colon && n > 0 && l[n - 1] == ';') {
            buf_append(o, l, n - 1);
            buf_append_str(o, ":\r\n");
            continue;
        }
        buf_append(o, l, n);
        buf_append_str(o, "\r\n");
    }
    if (!is_get || body) {
        char digits[24];
        size_t n = body ? body_len : 0, at = sizeof digits;
        do
            digits[--at] = (char)('0' + n % 10);
        while ((n /= 10) > 0);
        buf_append_str(o, "Content-Length: ");
        buf_append(o, digits + at, sizeof digits - at);
        buf_append_str(o, "\r\n");
    }
    buf_append_str(o, "\r\n");
    if (body && body_len)
        buf_append(o, body, body_len);
    if (o->failed)
        return errinfo_set(e, ERR_TOOBIG, "HTTP request too large");
    return 0;
}

static int http_raw_send(http *h, int64_t deadline_us, http_response *resp,
                         const char *method, const char *url, errinfo *e)
{
    const char *p = h->out.data;
    size_t n = h->out.len;
    while (n > 0) {
        size_t k = 0;
        CURLcode cc = curl_easy_send(h->raw, p, n, &k);
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

static bool http_raw_token(const char *v, size_t n, const char *tok)
{
    size_t tl = strlen(tok);
    for (size_t i = 0; i + tl <= n; i++)
        if (strncasecmp(v + i, tok, tl) == 0 && (i == 0 || v[i - 1] == ' ' || v[i - 1] == ',') &&
            (i + tl == n || v[i + tl] == ' ' || v[i + tl] == ','))
            return true;
    return false;
}

/* Parses the status line and headers in in[0..end) (end: the blank line's CRLF). */
static int http_raw_head(http_raw_state *st, const char *in, size_t end, bool is_head,
                         http_response *resp)
{
    if (end < 12 || memcmp(in, "HTTP/1.", 7) != 0 || in[7] < '0' || in[7] > '9' ||
        in[8] != ' ' || in[9] < '1' || in[9] > '5' || in[10] < '0' || in[10] > '9' ||
        in[11] < '0' || in[11] > '9' || (end > 12 && in[12] != ' ' && in[12] != '\r'))
        return HTTP_RAW_BAD;
    st->minor = in[7] - '0';
    st->status = (in[9] - '0') * 100 + (in[10] - '0') * 10 + (in[11] - '0');
    st->close = st->minor == 0;
    const char *l = memchr(in, '\n', end);
    while (l && (size_t)(l + 1 - in) < end) {
        l++;
        const char *nl = memchr(l, '\n', (size_t)(in + end - l));
        size_t len = nl ? (size_t)(nl - l) : (size_t)(in + end - l);
        if (len > 0 && l[len - 1] == '\r')
            len--;
        const char *colon = memchr(l, ':', len);
        if (!colon || colon == l)
            return HTTP_RAW_BAD;
        size_t nlen = (size_t)(colon - l);
        const char *v = colon + 1, *ve = l + len;
        while (v < ve && (*v == ' ' || *v == '\t'))
            v++;
        while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
            ve--;
        size_t vlen = (size_t)(ve - v);
        if (nlen == 14 && strncasecmp(l, "content-length", 14) == 0) {
            size_t n = 0;
            if (vlen == 0 || vlen > 15)
                return HTTP_RAW_BAD;
            for (size_t i = 0; i < vlen; i++) {
                if (v[i] < '0' || v[i] > '9')
                    return HTTP_RAW_BAD;
                n = n * 10 + (size_t)(v[i] - '0');
            }
            if (st->has_length && st->length != n)
                return HTTP_RAW_BAD;
            st->has_length = true;
            st->length = n;
        } else if (nlen == 17 && strncasecmp(l, "transfer-encoding", 17) == 0) {
            if (vlen != 7 || strncasecmp(v, "chunked", 7) != 0)
                return HTTP_RAW_BAD; /* nothing else was asked for */
            st->chunked = true;
        } else if (nlen == 10 && strncasecmp(l, "connection", 10) == 0) {
            if (http_raw_token(v, vlen, "close"))
                st->close = true;
            else if (http_raw_token(v, vlen, "keep-alive"))
                st->close = false;
        } else {
            http_capture(l, len, "x-amz-crc32", resp->amz_crc32, sizeof resp->amz_crc32);
            http_capture(l, len, "x-amzn-requestid", resp->request_id, sizeof resp->request_id);
        }
        l = nl;
    }
    if (st->chunked)
        st->has_length = false;
    st->no_body = is_head || st->status == 204 || st->status == 304 ||
                  (st->status >= 100 && st->status < 200);
    return 0;
}

/* Decodes what has arrived of a chunked body into resp->body: 0 when complete. */
static int http_raw_dechunk(http_raw_state *st, const char *in, size_t len, http_response *resp)
{
    for (;;) {
        if (st->cstate == 1) {
            size_t take = len - st->pos < st->chunk_left ? len - st->pos : st->chunk_left;
            if (take && buf_append(&resp->body, in + st->pos, take) != 0)
                return HTTP_RAW_BIG;
            st->pos += take;
            st->chunk_left -= take;
            if (st->chunk_left)
                return HTTP_RAW_MORE;
            st->cstate = 2;
        }
        if (st->cstate == 2) {
            if (len - st->pos < 2)
                return HTTP_RAW_MORE;
            if (in[st->pos] != '\r' || in[st->pos + 1] != '\n')
                return HTTP_RAW_BAD;
            st->pos += 2;
            st->cstate = 0;
        }
        const char *l = in + st->pos;
        const char *nl = memchr(l, '\n', len - st->pos);
        if (!nl)
            return len - st->pos > 4096 ? HTTP_RAW_BAD : HTTP_RAW_MORE;
        size_t ll = (size_t)(nl - l);
        /* the same cap as for a line still arriving, so the verdict does not depend on how
         * the bytes were split across reads */
        if (ll == 0 || ll > 4096 || l[ll - 1] != '\r')
            return HTTP_RAW_BAD;
        ll--;
        st->pos += ll + 2;
        if (st->cstate == 3) {
            if (ll == 0)
                return 0;
            continue; /* a trailer line */
        }
        size_t n = 0, i = 0;
        for (; i < ll && i < 15; i++) {
            char c = l[i];
            int d = c >= '0' && c <= '9' ? c - '0' : (c | 0x20) >= 'a' && (c | 0x20) <= 'f'
                                                        ? (c | 0x20) - 'a' + 10
                                                        : -1;
            if (d < 0)
                break;
            n = n * 16 + (size_t)d;
        }
        if (i == 0 || (i < ll && l[i] != ';' && l[i] != ' ' && l[i] != '\t'))
            return HTTP_RAW_BAD;
        if (n == 0) {
            st->cstate = 3;
        } else {
            st->chunk_left = n;
            st->cstate = 1;
        }
    }
}

int http_raw_parse_bytes(http_raw_state *st, char *in_buf, size_t *in_len,
                         size_t max_response_bytes, bool is_head, bool eof, http_response *resp)
{
    while (st->head_end == 0) {
        const char *in = in_buf, *hit = NULL;
        for (size_t i = st->scan; i + 4 <= *in_len; i++)
            if (in[i] == '\r' && memcmp(in + i, "\r\n\r\n", 4) == 0) {
                hit = in + i;
                break;
            }
        if (!hit) {
            if (*in_len > HTTP_RAW_HEAD_MAX)
                return HTTP_RAW_BAD;
            st->scan = *in_len > 3 ? *in_len - 3 : 0;
            return eof ? HTTP_RAW_BAD : HTTP_RAW_MORE;
        }
        size_t end = (size_t)(hit - in) + 2;
        http_raw_state fresh = { 0 };
        *st = fresh;
        if (http_raw_head(st, in, end, is_head, resp) != 0)
            return HTTP_RAW_BAD;
        if (st->status < 200) { /* an interim answer (100 Continue): drop it, read on */
            size_t used = end + 2;
            memmove(in_buf, in_buf + used, *in_len - used);
            *in_len -= used;
            *st = fresh;
            continue;
        }
        st->head_end = end + 2;
        st->pos = st->head_end;
    }
    size_t have = *in_len - st->head_end;
    if (st->no_body)
        return 0;
    if (st->chunked) {
        int r = http_raw_dechunk(st, in_buf, *in_len, resp);
        if (r == HTTP_RAW_MORE && st->pos > st->head_end) { /* drop what is decoded */
            memmove(in_buf + st->head_end, in_buf + st->pos, *in_len - st->pos);
            *in_len -= st->pos - st->head_end;
            st->pos = st->head_end;
        }
        if (r == 0 && st->pos < *in_len)
            st->close = true; /* bytes nobody asked for: do not reuse the connection */
        return r == HTTP_RAW_MORE && eof ? HTTP_RAW_BAD : r;
    }
    if (st->has_length) {
        if (st->length > max_response_bytes)
            return HTTP_RAW_BIG;
        if (have < st->length)
            return eof ? HTTP_RAW_BAD : HTTP_RAW_MORE;
        if (have > st->length)
            st->close = true; /* bytes nobody asked for: do not reuse the connection */
        return buf_append(&resp->body, in_buf + st->head_end, st->length) != 0 ? HTTP_RAW_BIG
                                                                                : 0;
    }
    if (have > max_response_bytes)
        return HTTP_RAW_BIG;
    if (!eof)
        return HTTP_RAW_MORE;
    st->close = true;
    return buf_append(&resp->body, in_buf + st->head_end, have) != 0 ? HTTP_RAW_BIG : 0;
}

/* Advances the parse over what is in h->in: 0 when the answer is complete. */
static int http_raw_parse(http *h, http_raw_state *st, bool is_head, bool eof,
                          http_response *resp)
{
    return http_raw_parse_bytes(st, h->in, &h->in_len, h->opts.max_response_bytes, is_head, eof,
                                resp);
}

/* One request over the open connection (h->out already built); HTTP_RAW_STALE when a reused
 * connection turned out closed before any byte of an answer came back. */
static int http_raw_exchange(http *h, bool reused, bool is_head, int64_t deadline_us,
                             http_response *resp, const char *method, const char *url,
                             errinfo *e)
{
    int r = http_raw_send(h, deadline_us, resp, method, url, e);
    if (r != HTTP_RAW_OK)
        return reused && resp->fail == HTTP_FAIL_RESET ? HTTP_RAW_STALE : r;
    http_raw_state st = { 0 };
    bool eof = false, any = false, wait = true; /* nothing can be there yet: poll first */
    h->in_len = 0;
    for (;;) {
        int p = http_raw_parse(h, &st, is_head, eof, resp);
        if (p == 0)
            break;
        if (p == HTTP_RAW_BIG)
            return http_raw_fail(resp, HTTP_FAIL_TOOBIG, e, method, url, "response too large");
        if (p == HTTP_RAW_BAD) {
            if (eof)
                return reused && !any ? HTTP_RAW_STALE
                                      : http_raw_fail(resp, HTTP_FAIL_RESET, e, method, url,
                                                      "connection closed mid-answer");
            return http_raw_fail(resp, HTTP_FAIL_OTHER, e, method, url,
                                 "malformed HTTP answer");
        }
        size_t limit = h->opts.max_response_bytes + HTTP_RAW_HEAD_MAX;
        if (limit < h->opts.max_response_bytes)
            limit = SIZE_MAX;
        if (h->in_cap - h->in_len < HTTP_RAW_READ) {
            if (h->in_len >= limit)
                return http_raw_fail(resp, HTTP_FAIL_TOOBIG, e, method, url,
                                     "response too large");
            size_t cap = h->in_cap ? h->in_cap * 2 : 4 * HTTP_RAW_READ;
            while (cap - h->in_len < HTTP_RAW_READ)
                cap *= 2;
            char *n = realloc(h->in, cap);
            if (!n) {
                resp->fail = HTTP_FAIL_OTHER;
                return errinfo_set(e, ERR_NOMEM, "out of memory"), HTTP_RAW_FAILED;
            }
            h->in = n;
            h->in_cap = cap;
        }
        if (wait && http_raw_wait(h, POLLIN, deadline_us) != 0)
            return http_raw_fail(resp, HTTP_FAIL_TIMEOUT, e, method, url,
                                 "timed out waiting for the answer");
        size_t k = 0;
        CURLcode cc = curl_easy_recv(h->raw, h->in + h->in_len, h->in_cap - h->in_len, &k);
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

static int http_raw_request(http *h, const char *method, const char *url,
                            const char *const *headers, const void *body, size_t body_len,
                            http_response *resp, errinfo *e)
{
    char origin[HTTP_RAW_ORIGIN_MAX];
    const char *target;
    if (http_raw_split(url, origin, sizeof origin, &target) != 0)
        return HTTP_RAW_UNSUPPORTED;
    bool is_get = strcmp(method, "GET") == 0;
    if (http_raw_build(h, method, origin + 7, target, headers, body, body_len, is_get, e) != 0)
        return HTTP_RAW_FAILED;
    int64_t deadline_us = clock_mono_us() + (int64_t)h->opts.timeout_ms * 1000;
    if (h->raw && strcmp(h->origin, origin) != 0)
        http_raw_close(h);
    for (int tries = 0;; tries++) {
        bool reused = h->raw != NULL;
        if (!reused && http_raw_connect(h, origin, deadline_us, resp, method, url, e) != 0)
            return HTTP_RAW_FAILED;
        buf_reset(&resp->body);
        resp->amz_crc32[0] = '\0';
        resp->request_id[0] = '\0';
        int r = http_raw_exchange(h, reused, strcmp(method, "HEAD") == 0, deadline_us, resp,
                                  method, url, e);
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
        return h->opts.transport(h->opts.transport_arg, method, url, headers, body, body_len,
                                 resp, e);
    if (h->raw_ok && strncmp(url, "http://", 7) == 0) {
        int r = http_raw_request(h, method, url, headers, body, body_len, resp, e);
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
            resp->fail = http_classify(cc);
        if (resp->fail == HTTP_FAIL_TOOBIG)
            errinfo_set(e, ERR_TOOBIG, "%s %s: response larger than %zu bytes", method, url,
                        h->opts.max_response_bytes);
        else
            errinfo_set(e, resp->fail == HTTP_FAIL_TIMEOUT ? ERR_TIMEOUT : ERR_IO,
                        "%s %s: %s (%s)", method, url,
                        h->curl_err[0] ? h->curl_err : curl_easy_strerror(cc),
                        http_fail_name(resp->fail));
        goto out;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
    rc = 0;
    goto out;
nomem:
    errinfo_set(e, ERR_NOMEM, "out of memory");
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
