/* check_http.c — the HTTP transport. The pure HTTP/1.1 parser (aws/http1.h) over the cases
 * in tests/data/http/ (README.md there: one file per answer, fed whole, byte by byte and in
 * 7-byte pieces, every way to the same verdict) and the request writer; then the raw
 * keep-alive path against a scripted server on a loopback socket in a thread: the request
 * bytes, Content-Length, chunked, read-to-close and 1xx answers, connection reuse and
 * transparent reconnects, size caps, timeouts, bad answers. */
#include "config.h"

#include <arpa/inet.h>
#include <check.h>
#include <dirent.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "aws/http.h"
#include "aws/http1.h"
#include "base/clock.h"
#include "tap.h"

/* ---- the parser cases (tests/data/http/NAME.case) --------------------------------------------- */

typedef struct hc_case {
    char name[128];
    bool head, eof;
    size_t max;
    int expect; /* http1_status */
    long status;
    int close; /* -1: not checked; 2: yes when fed whole */
    buf body;  /* expected */
    char crc32[16], request_id[80];
    buf raw; /* the answer bytes */
} hc_case;

static const char *hc_srcdir(void)
{
    const char *d = getenv("CR_SRCDIR");
    return d && *d ? d : CR_SRCDIR;
}

/* Appends s decoded: \r \n \t \\ \xHH; other bytes as they are. */
static void hc_unescape(buf *out, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '\\' || i + 1 == n) {
            buf_putc(out, s[i]);
            continue;
        }
        char c = s[++i];
        if (c == 'r')
            buf_putc(out, '\r');
        else if (c == 'n')
            buf_putc(out, '\n');
        else if (c == 't')
            buf_putc(out, '\t');
        else if (c == 'x' && i + 2 < n) {
            char hx[3] = { s[i + 1], s[i + 2], 0 };
            buf_putc(out, (char)strtol(hx, NULL, 16));
            i += 2;
        } else
            buf_putc(out, c);
    }
}

/* Reads one case file; ck-fails on a malformed one. */
static void hc_load(const char *path, const char *name, hc_case *c)
{
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "%s: cannot open", path);
    memset(c, 0, sizeof *c);
    snprintf(c->name, sizeof c->name, "%s", name);
    c->eof = true;
    c->max = (size_t)1 << 20;
    c->expect = -1;
    c->close = -1;
    buf_init(&c->body, 0);
    buf_init(&c->raw, 0);
    char line[8192], fill_tok[64] = "";
    size_t fill_n = 0;
    char fill_c = 'a';
    bool in_raw = false;
    while (fgets(line, sizeof line, f)) {
        size_t n = strcspn(line, "\n");
        line[n] = '\0';
        if (in_raw) {
            const char *fp = fill_tok[0] ? strstr(line, fill_tok) : NULL;
            if (fp) {
                hc_unescape(&c->raw, line, (size_t)(fp - line));
                for (size_t k = 0; k < fill_n; k++)
                    buf_putc(&c->raw, fill_c);
                const char *rest = fp + strlen(fill_tok);
                hc_unescape(&c->raw, rest, strlen(rest));
            } else {
                hc_unescape(&c->raw, line, n);
            }
            continue;
        }
        if (line[0] == '#' || n == 0)
            continue;
        if (strcmp(line, "--") == 0) {
            in_raw = true;
            continue;
        }
        char *v = strchr(line, ':');
        ck_assert_msg(v != NULL, "%s: a line without ':': %s", name, line);
        *v++ = '\0';
        v += strspn(v, " ");
        if (strcmp(line, "head") == 0)
            c->head = strcmp(v, "yes") == 0;
        else if (strcmp(line, "eof") == 0)
            c->eof = strcmp(v, "no") != 0;
        else if (strcmp(line, "max") == 0)
            c->max = strtoul(v, NULL, 10);
        else if (strcmp(line, "status") == 0)
            c->status = strtol(v, NULL, 10);
        else if (strcmp(line, "close") == 0)
            c->close = strcmp(v, "whole") == 0 ? 2 : strcmp(v, "yes") == 0;
        else if (strcmp(line, "body") == 0)
            hc_unescape(&c->body, v, strlen(v));
        else if (strcmp(line, "crc32") == 0)
            snprintf(c->crc32, sizeof c->crc32, "%s", v);
        else if (strcmp(line, "request-id") == 0)
            snprintf(c->request_id, sizeof c->request_id, "%s", v);
        else if (strcmp(line, "fill") == 0)
            ck_assert_msg(sscanf(v, "%63s %zu %c", fill_tok, &fill_n, &fill_c) == 3,
                          "%s: fill: TOKEN COUNT CHAR", name);
        else if (strcmp(line, "expect") == 0)
            c->expect = strcmp(v, "done") == 0   ? HTTP1_DONE
                        : strcmp(v, "more") == 0 ? HTTP1_MORE
                        : strcmp(v, "bad") == 0  ? HTTP1_BAD
                        : strcmp(v, "big") == 0  ? HTTP1_BIG
                                                 : -1;
        else
            ck_abort_msg("%s: unknown key %s", name, line);
    }
    fclose(f);
    ck_assert_msg(in_raw, "%s: no -- line before the answer bytes", name);
    ck_assert_msg(c->expect >= 0, "%s: expect: done, more, bad or big", name);
    ck_assert_msg(c->expect != HTTP1_DONE || c->status > 0, "%s: done needs status:", name);
}

/* Feeds the case's bytes in pieces of step (0: all at once) as the socket loop does: a parse
 * after each piece, then one with eof when the peer closes. Returns the verdict; st and resp
 * hold the rest. */
static int hc_feed(const hc_case *c, size_t step, http1_parse *st, http_response *resp)
{
    size_t n = c->raw.len, fed = 0, have = 0;
    char *b = malloc(n ? n : 1);
    ck_assert_ptr_nonnull(b);
    memset(st, 0, sizeof *st);
    http_response_init(resp);
    resp->body.max = c->max;
    int r = HTTP1_MORE;
    while (fed < n) {
        size_t k = step == 0 || n - fed < step ? n - fed : step;
        memcpy(b + have, c->raw.data + fed, k);
        have += k;
        fed += k;
        size_t before = have;
        r = http1_parse_bytes(st, b, &have, c->max, c->head, false, resp);
        ck_assert_uint_le(have, before);
        if (r != HTTP1_MORE)
            break;
    }
    if (r == HTTP1_MORE && c->eof)
        r = http1_parse_bytes(st, b, &have, c->max, c->head, true, resp);
    free(b);
    return r;
}

static const char *hc_verdict(int r)
{
    return r == HTTP1_DONE   ? "done"
           : r == HTTP1_MORE ? "more"
           : r == HTTP1_BAD  ? "bad"
           : r == HTTP1_BIG  ? "big"
                             : "?";
}

static void hc_check(const hc_case *c)
{
    static const size_t steps[] = { 0, 1, 7 };
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        http1_parse st;
        http_response resp;
        int r = hc_feed(c, steps[i], &st, &resp);
        ck_assert_msg(r == c->expect, "%s (pieces of %zu): %s, expected %s", c->name, steps[i],
                      hc_verdict(r), hc_verdict(c->expect));
        if (r == HTTP1_DONE) {
            ck_assert_msg(st.status == c->status, "%s: status %ld, expected %ld", c->name,
                          st.status, c->status);
            ck_assert_msg(
                resp.body.len == c->body.len &&
                    (c->body.len == 0 || memcmp(resp.body.data, c->body.data, c->body.len) == 0),
                "%s (pieces of %zu): body \"%s\", expected \"%s\"", c->name, steps[i],
                buf_cstr(&resp.body), buf_cstr((buf *)&c->body));
            if (c->close == 0 || c->close == 1 || (c->close == 2 && steps[i] == 0)) {
                bool want = c->close != 0;
                ck_assert_msg(st.close == want, "%s (pieces of %zu): close %d, expected %d",
                              c->name, steps[i], st.close, want);
            }
            ck_assert_msg(strcmp(resp.amz_crc32, c->crc32) == 0, "%s: crc32 %s", c->name,
                          resp.amz_crc32);
            ck_assert_msg(strcmp(resp.request_id, c->request_id) == 0, "%s: request id %s", c->name,
                          resp.request_id);
        }
        http_response_cleanup(&resp);
    }
}

static int hc_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

START_TEST(parser_cases_from_the_case_folder)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/tests/data/http", hc_srcdir());
    DIR *d = opendir(dir);
    ck_assert_msg(d != NULL, "%s: cannot open", dir);
    char *names[256];
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d)) && n < 256) {
        size_t l = strlen(de->d_name);
        if (l > 5 && strcmp(de->d_name + l - 5, ".case") == 0)
            names[n++] = strdup(de->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof names[0], hc_cmp);
    int seen[4] = { 0 };
    for (size_t i = 0; i < n; i++) {
        char path[8192];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        hc_case c;
        hc_load(path, names[i], &c);
        hc_check(&c);
        seen[c.expect]++;
        buf_cleanup(&c.body);
        buf_cleanup(&c.raw);
        free(names[i]);
    }
    /* the folder holds cases of every verdict (a lost folder must not pass) */
    ck_assert_uint_ge(n, 25);
    for (int v = 0; v < 4; v++)
        ck_assert_msg(seen[v] > 0, "no case expects %s", hc_verdict(v));
}
END_TEST

START_TEST(the_request_writer_is_pure)
{
    buf o;
    errinfo e;
    buf_init(&o, 0);
    const char *hdrs[] = { "X-A: 1", "Accept:", "X-Empty;", NULL };
    ck_assert_int_eq(http1_request_write(&o, "POST", "h:1", "/p?q", hdrs, "ab", 2, &e), 0);
    ck_assert_str_eq(buf_cstr(&o), "POST /p?q HTTP/1.1\r\nHost: h:1\r\nX-A: 1\r\n"
                                   "X-Empty:\r\nContent-Length: 2\r\n\r\nab");
    ck_assert_int_eq(http1_request_write(&o, "GET", "h:1", "", NULL, NULL, 0, &e), 0);
    ck_assert_str_eq(buf_cstr(&o), "GET / HTTP/1.1\r\nHost: h:1\r\n\r\n");
    const char *own_host[] = { "Host: other", NULL };
    ck_assert_int_eq(http1_request_write(&o, "DELETE", "h:1", "/x", own_host, NULL, 0, &e), 0);
    ck_assert_str_eq(buf_cstr(&o), "DELETE /x HTTP/1.1\r\nHost: other\r\n"
                                   "Content-Length: 0\r\n\r\n");
    const char *bad[] = { "X-A: 1\r\nX-B: 2", NULL };
    ck_assert_int_eq(http1_request_write(&o, "GET", "h:1", "/", bad, NULL, 0, &e), -1);
    ck_assert_int_eq(e.code, ERR_INVALID);
    buf_cleanup(&o);
    buf_init(&o, 64);
    char big[100];
    memset(big, 'x', sizeof big);
    ck_assert_int_eq(http1_request_write(&o, "PUT", "h:1", "/", NULL, big, sizeof big, &e), -1);
    ck_assert_int_eq(e.code, ERR_TOOBIG);
    buf_cleanup(&o);
}
END_TEST

/* ---- the scripted server ------------------------------------------------------------------- */

typedef struct ht_server {
    int fd;
    int port;
    pthread_t thread;
    volatile int stop;
    volatile int accepts;    /* connections accepted */
    char last_request[8192]; /* the last request's bytes */
    volatile size_t last_len;
} ht_server;

static void ht_send(int c, const char *s)
{
    size_t n = strlen(s);
    while (n > 0) {
        ssize_t k = send(c, s, n, MSG_NOSIGNAL);
        if (k <= 0)
            return;
        s += k;
        n -= (size_t)k;
    }
}

/* Reads one request (header and Content-Length body), copies it to srv->last_request and
 * its path to path. 0, or -1 when the client closed. */
static int ht_read_request(ht_server *srv, int c, char *path, size_t plen)
{
    size_t len = 0;
    char rq[sizeof srv->last_request];
    for (;;) {
        rq[len] = '\0';
        char *end = strstr(rq, "\r\n\r\n");
        if (end) {
            size_t head = (size_t)(end + 4 - rq), body = 0;
            char *cl = strstr(rq, "Content-Length: ");
            if (cl && cl < end)
                body = strtoul(cl + 16, NULL, 10);
            if (len >= head + body)
                break;
        }
        if (len + 1 >= sizeof rq)
            return -1;
        ssize_t k = recv(c, rq + len, sizeof rq - 1 - len, 0);
        if (k <= 0)
            return -1;
        len += (size_t)k;
    }
    memcpy(srv->last_request, rq, len + 1); /* before the answer goes out */
    srv->last_len = len;
    const char *sp = strchr(rq, ' ');
    size_t n = sp ? strcspn(sp + 1, " ") : 0;
    if (!sp || n >= plen)
        return -1;
    memcpy(path, sp + 1, n);
    path[n] = '\0';
    return 0;
}

/* Answers one request by its path; 1 when the connection is to be closed after it. */
static int ht_answer(int c, const char *path)
{
    if (strcmp(path, "/cl") == 0 || strcmp(path, "/echo") == 0) {
        ht_send(c, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nx-amz-crc32: 12345\r\n"
                   "x-amzn-RequestId: req-1\r\n\r\nhello");
    } else if (strcmp(path, "/chunked") == 0) {
        ht_send(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                   "5;ext=1\r\nhello\r\n");
        ht_send(c, "7\r\n, world\r\n0\r\nTrailer: x\r\n\r\n");
    } else if (strcmp(path, "/manychunks") == 0) {
        ht_send(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
        for (int i = 0; i < 600; i++)
            ht_send(c, i % 100 == 99 ? "1\r\ny\r\n" : "1\r\nx\r\n");
        ht_send(c, "0\r\n\r\n");
    } else if (strcmp(path, "/continue") == 0) {
        ht_send(c, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n"
                   "\r\nok");
    } else if (strcmp(path, "/toclose") == 0) {
        ht_send(c, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nall of it");
        return 1;
    } else if (strcmp(path, "/closeafter") == 0) {
        ht_send(c, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nbye");
        return 1; /* closes a connection the client believes kept alive */
    } else if (strcmp(path, "/nocontent") == 0) {
        ht_send(c, "HTTP/1.1 204 No Content\r\n\r\n");
    } else if (strcmp(path, "/big") == 0) {
        ht_send(c, "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n");
        return 1;
    } else if (strcmp(path, "/garbage") == 0) {
        ht_send(c, "HTTQ/1.1 200 OK\r\n\r\n");
        return 1;
    } else if (strcmp(path, "/midbody") == 0) {
        ht_send(c, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf");
        return 1;
    } else if (strcmp(path, "/hang") == 0) {
        struct pollfd p = { .fd = c, .events = POLLIN };
        poll(&p, 1, 3000); /* until the client gives up and closes */
        return 1;
    } else {
        ht_send(c, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
    }
    return 0;
}

static void *ht_serve(void *ud)
{
    ht_server *srv = ud;
    while (!srv->stop) {
        struct pollfd p = { .fd = srv->fd, .events = POLLIN };
        if (poll(&p, 1, 50) <= 0)
            continue;
        int c = accept(srv->fd, NULL, NULL);
        if (c < 0)
            continue;
        srv->accepts++;
        char path[256];
        while (!srv->stop && ht_read_request(srv, c, path, sizeof path) == 0)
            if (ht_answer(c, path))
                break;
        close(c);
    }
    return NULL;
}

static void ht_start(ht_server *srv)
{
    memset(srv, 0, sizeof *srv);
    srv->fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(srv->fd, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t al = sizeof a;
    ck_assert_int_eq(bind(srv->fd, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(listen(srv->fd, 8), 0);
    ck_assert_int_eq(getsockname(srv->fd, (struct sockaddr *)&a, &al), 0);
    srv->port = ntohs(a.sin_port);
    ck_assert_int_eq(pthread_create(&srv->thread, NULL, ht_serve, srv), 0);
}

static void ht_stop(ht_server *srv)
{
    srv->stop = 1;
    pthread_join(srv->thread, NULL);
    close(srv->fd);
}

static ht_server srv;
static http *h;
static http_response r;

static void ht_setup(void)
{
    unsetenv("http_proxy");
    unsetenv("HTTP_PROXY");
    unsetenv("all_proxy");
    unsetenv("ALL_PROXY");
    ht_start(&srv);
    http_options o = { .timeout_ms = 2000, .max_response_bytes = 1000 };
    errinfo e;
    h = http_new(&o, &e);
    ck_assert_ptr_nonnull(h);
    http_response_init(&r);
}

static void ht_teardown(void)
{
    http_response_cleanup(&r);
    http_free(h);
    ht_stop(&srv);
}

/* GETs or POSTs path; the return of http_request. */
static int ht_req(const char *method, const char *path, const char *const *headers,
                  const char *body, errinfo *e)
{
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", srv.port, path);
    return http_request(h, method, url, headers, body, body ? strlen(body) : 0, &r, e);
}

/* ---- tests --------------------------------------------------------------------------------- */

START_TEST(request_bytes_are_what_libcurl_would_send)
{
    errinfo e;
    const char *hdr[] = { "Content-Type: application/x-amz-json-1.0", "X-Drop:", "X-Empty;", NULL };
    ck_assert_int_eq(ht_req("POST", "/echo?a=1", hdr, "{\"k\":1}", &e), 0);
    char want[256];
    snprintf(want, sizeof want,
             "POST /echo?a=1 HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: "
             "application/x-amz-json-1.0\r\nX-Empty:\r\nContent-Length: 7\r\n\r\n{\"k\":1}",
             srv.port);
    ck_assert_str_eq(srv.last_request, want);
    /* a given Host wins; a body-less GET has no Content-Length; no path is "/" */
    const char *host[] = { "Host: example.test", NULL };
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", srv.port);
    ck_assert_int_eq(http_request(h, "GET", url, host, NULL, 0, &r, &e), 0);
    ck_assert_int_eq(r.status, 404);
    ck_assert_str_eq(srv.last_request, "GET / HTTP/1.1\r\nHost: example.test\r\n\r\n");
    /* a POST without a body says so */
    ck_assert_int_eq(ht_req("POST", "/cl", NULL, NULL, &e), 0);
    ck_assert_ptr_nonnull(strstr(srv.last_request, "Content-Length: 0\r\n\r\n"));
    /* CR or LF in a header line is refused before anything is sent */
    const char *bad[] = { "X-Bad: a\r\nX-Injected: b", NULL };
    ck_assert_int_eq(ht_req("GET", "/cl", bad, NULL, &e), -1);
    ck_assert_int_eq(e.code, ERR_INVALID);
    ck_assert_int_eq(srv.accepts, 1);
}
END_TEST

START_TEST(content_length_answers_reuse_one_connection)
{
    errinfo e;
    for (int i = 0; i < 5; i++) {
        ck_assert_msg(ht_req("POST", "/cl", NULL, "x", &e) == 0, "%s", e.msg);
        ck_assert_int_eq(r.status, 200);
        ck_assert_str_eq(buf_cstr(&r.body), "hello");
        ck_assert_str_eq(r.amz_crc32, "12345");
        ck_assert_str_eq(r.request_id, "req-1");
    }
    ck_assert_int_eq(srv.accepts, 1);
}
END_TEST

START_TEST(chunked_interim_and_empty_answers)
{
    errinfo e;
    ck_assert_msg(ht_req("GET", "/chunked", NULL, NULL, &e) == 0, "%s", e.msg);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(buf_cstr(&r.body), "hello, world");
    ck_assert_str_eq(r.amz_crc32, "");
    ck_assert_msg(ht_req("GET", "/manychunks", NULL, NULL, &e) == 0, "%s", e.msg);
    ck_assert_uint_eq(r.body.len, 600);
    ck_assert_int_eq(r.body.data[99], 'y');
    ck_assert_int_eq(r.body.data[100], 'x');
    ck_assert_int_eq(ht_req("POST", "/continue", NULL, "x", &e), 0);
    ck_assert_int_eq(r.status, 201);
    ck_assert_str_eq(buf_cstr(&r.body), "ok");
    ck_assert_int_eq(ht_req("DELETE", "/nocontent", NULL, NULL, &e), 0);
    ck_assert_int_eq(r.status, 204);
    ck_assert_uint_eq(r.body.len, 0);
    ck_assert_int_eq(ht_req("GET", "/cl", NULL, NULL, &e), 0);
    ck_assert_str_eq(buf_cstr(&r.body), "hello");
    ck_assert_int_eq(srv.accepts, 1);
}
END_TEST

START_TEST(closed_connections_are_reopened)
{
    errinfo e;
    /* read to the close, then a new connection */
    ck_assert_int_eq(ht_req("GET", "/toclose", NULL, NULL, &e), 0);
    ck_assert_str_eq(buf_cstr(&r.body), "all of it");
    ck_assert_int_eq(ht_req("GET", "/cl", NULL, NULL, &e), 0);
    ck_assert_int_eq(srv.accepts, 2);
    /* the server drops a kept connection: the next request goes out again, once */
    ck_assert_int_eq(ht_req("GET", "/closeafter", NULL, NULL, &e), 0);
    ck_assert_str_eq(buf_cstr(&r.body), "bye");
    clock_sleep_ms(50);
    ck_assert_msg(ht_req("GET", "/cl", NULL, NULL, &e) == 0, "%s", e.msg);
    ck_assert_str_eq(buf_cstr(&r.body), "hello");
    ck_assert_int_eq(srv.accepts, 3);
}
END_TEST

START_TEST(bad_answers_fail_classified)
{
    errinfo e;
    ck_assert_int_eq(ht_req("GET", "/big", NULL, NULL, &e), -1);
    ck_assert_int_eq(r.fail, HTTP_FAIL_TOOBIG);
    ck_assert_int_eq(e.code, ERR_TOOBIG);
    ck_assert_int_eq(ht_req("GET", "/garbage", NULL, NULL, &e), -1);
    ck_assert_int_eq(r.fail, HTTP_FAIL_OTHER);
    ck_assert_int_eq(ht_req("GET", "/midbody", NULL, NULL, &e), -1);
    ck_assert_int_eq(r.fail, HTTP_FAIL_RESET);
    ck_assert(http_fail_retryable(r.fail));
    /* and the client still works afterwards */
    ck_assert_int_eq(ht_req("GET", "/cl", NULL, NULL, &e), 0);
    ck_assert_str_eq(buf_cstr(&r.body), "hello");
}
END_TEST

START_TEST(a_silent_server_hits_the_timeout)
{
    http_options o = { .timeout_ms = 300 };
    errinfo e;
    http *t = http_new(&o, &e);
    ck_assert_ptr_nonnull(t);
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/hang", srv.port);
    int64_t t0 = clock_mono_ms();
    ck_assert_int_eq(http_request(t, "GET", url, NULL, NULL, 0, &r, &e), -1);
    int64_t took = clock_mono_ms() - t0;
    ck_assert_int_eq(r.fail, HTTP_FAIL_TIMEOUT);
    ck_assert_int_eq(e.code, ERR_TIMEOUT);
    ck_assert_int_ge(took, 280);
    ck_assert_int_lt(took, 2000);
    ck_assert_ptr_nonnull(strstr(e.msg, "/hang"));
    http_free(t);
}
END_TEST

START_TEST(a_refused_connection_is_a_connect_failure)
{
    /* a port that was free a moment ago */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t al = sizeof a;
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &al), 0);
    close(fd);
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/", ntohs(a.sin_port));
    errinfo e;
    ck_assert_int_eq(http_request(h, "GET", url, NULL, NULL, 0, &r, &e), -1);
    ck_assert_int_eq(r.fail, HTTP_FAIL_CONNECT);
    ck_assert(http_fail_retryable(r.fail));
}
END_TEST

static Suite *http_suite(void)
{
    Suite *s = suite_create("http");
    TCase *tp = tcase_create("http1");
    tcase_add_test(tp, parser_cases_from_the_case_folder);
    tcase_add_test(tp, the_request_writer_is_pure);
    suite_add_tcase(s, tp);
    TCase *tc = tcase_create("raw");
    tcase_add_checked_fixture(tc, ht_setup, ht_teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, request_bytes_are_what_libcurl_would_send);
    tcase_add_test(tc, content_length_answers_reuse_one_connection);
    tcase_add_test(tc, chunked_interim_and_empty_answers);
    tcase_add_test(tc, closed_connections_are_reopened);
    tcase_add_test(tc, bad_answers_fail_classified);
    tcase_add_test(tc, a_silent_server_hits_the_timeout);
    tcase_add_test(tc, a_refused_connection_is_a_connect_failure);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tap_run(http_suite());
}
