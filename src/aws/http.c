/* http.c — HTTP requests over one reused libcurl easy handle, failures classified. */
#include "config.h"
#include "aws/http.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

struct http {
    CURL *curl;
    http_options opts;
    char curl_err[CURL_ERROR_SIZE];
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
    if (h->opts.connect_timeout_ms <= 0)
        h->opts.connect_timeout_ms = 3000;
    if (h->opts.timeout_ms <= 0)
        h->opts.timeout_ms = 10000;
    if (h->opts.max_response_bytes == 0)
        h->opts.max_response_bytes = (size_t)16 << 20;
    h->curl = curl_easy_init();
    if (!h->curl) {
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
