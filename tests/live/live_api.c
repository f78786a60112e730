/* live_api.c — cruddur-api's FastCGI side against the live stack (see stack.h):
 * the real cruddur-api (from CR_BUILDDIR) on temporary unix sockets behind a real nginx
 * (Debian's, own prefix, rendered from nginx/cruddur-api.conf), driven with libcurl and, where
 * nginx would get in the way, with a minimal FastCGI client: health (shallow, deep, DynamoDB
 * down), 404, 405, 413 (nginx's and the API's own cap), CORS preflight, nginx's own errors
 * (414, 400/494, 405, 501, 404, 413, 502, 504) as JSON with the API's CORS headers, a worker
 * killed and replaced, a rolling restart on SIGHUP, a drain on SIGTERM with a request in
 * flight, and a Postgres outage (503) and recovery. */
#include "config.h"

#include <check.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "base/buf.h"
#include "base/clock.h"
#include "stack.h"
#include "pg.h"
#include "support_prom.h"

static stack_api g_api;      /* api A: the one behind nginx */
static stack_api g_api_nodb; /* api B: DynamoDB unreachable */
static stack_api g_api_pg;   /* api C: Postgres behind the test's TCP proxy */
static pid_t g_nginx = -1;
static pid_t g_proxy = -1; /* the TCP proxy in front of Postgres */
static int g_proxy_port, g_pg_port;
static int g_port;

/* The children of pid (from /proc/<pid>/task/<pid>/children); count returned. */
static size_t children(pid_t pid, pid_t *out, size_t max)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/task/%ld/children", (long)pid, (long)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = 0;
    long v;
    while (n < max && fscanf(f, "%ld", &v) == 1)
        out[n++] = (pid_t)v;
    fclose(f);
    return n;
}

/* A request through nginx (asserted to complete); free with http_res_free. */
static void req(http_res *r, const char *method, const char *path, const char *const *headers,
                const char *body, size_t body_len)
{
    stack_http(r, g_port, NULL, method, path, headers, body, body_len);
}

/* ---- tests ---------------------------------------------------------------------------- */

START_TEST(test_health)
{
    http_res r;
    req(&r, "GET", "/api/health-check", NULL, NULL, 0);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(buf_cstr(&r.body), "{\"success\":true,\"ver\":1}");
    char v[128];
    ck_assert(stack_header(&r.head, "X-Request-Id", v, sizeof v));
    ck_assert_uint_ge(strlen(v), 8);
    ck_assert(stack_header(&r.head, "Content-Type", v, sizeof v));
    ck_assert_str_eq(v, "application/json; charset=utf-8");
    ck_assert(stack_header(&r.head, "X-Content-Type-Options", v, sizeof v));
    ck_assert_str_eq(v, "nosniff");
    ck_assert(stack_header(&r.head, "Cache-Control", v, sizeof v));
    ck_assert_str_eq(v, "no-store");
    ck_assert(stack_header(&r.head, "Referrer-Policy", v, sizeof v));
    http_res_free(&r);

    /* A well-formed incoming request id is kept end to end. */
    const char *h[] = { "X-Request-Id: live-api-req-0001", NULL };
    req(&r, "GET", "/api/health-check", h, NULL, 0);
    ck_assert(stack_header(&r.head, "X-Request-Id", v, sizeof v));
    ck_assert_str_eq(v, "live-api-req-0001");
    http_res_free(&r);
}
END_TEST

START_TEST(test_health_deep)
{
    http_res r;
    req(&r, "GET", "/api/health-check?deep=1", NULL, NULL, 0);
    ck_assert_msg(r.status == 200, "deep health: %ld %s", r.status, buf_cstr(&r.body));
    json_t *j = stack_json(&r.body);
    ck_assert(json_is_true(json_object_get(j, "success")));
    ck_assert_str_eq(json_string_value(json_object_get(j, "postgres")), "ok");
    ck_assert_str_eq(json_string_value(json_object_get(j, "dynamodb")), "ok");
    json_decref(j);
    http_res_free(&r);

    /* The second API has DynamoDB at a closed port. */
    buf out;
    buf_init(&out, 0);
    int st = stack_fcgi(&g_api_nodb, "GET", "/api/health-check?deep=1", "", 0, &out);
    ck_assert_msg(st == 503, "%s", buf_cstr(&out));
    ck_assert_ptr_nonnull(strstr(buf_cstr(&out), "Content-Type: application/json"));
    json_error_t je;
    j = json_loads(stack_cgi_body(&out), 0, &je);
    ck_assert_ptr_nonnull(j);
    ck_assert(json_is_false(json_object_get(j, "success")));
    ck_assert_str_eq(json_string_value(json_object_get(j, "postgres")), "ok");
    ck_assert_str_eq(json_string_value(json_object_get(j, "dynamodb")), "unreachable");
    json_decref(j);
    buf_cleanup(&out);
}
END_TEST

START_TEST(test_not_found_and_method)
{
    http_res r;
    req(&r, "GET", "/api/nothing-here", NULL, NULL, 0);
    stack_assert_error(&r, 404, "not_found");
    http_res_free(&r);
    req(&r, "GET", "/not-the-api", NULL, NULL, 0);
    stack_assert_error(&r, 404, "not_found");
    http_res_free(&r);
    req(&r, "GET", "/api/messages/not-a-uuid", NULL, NULL, 0);
    stack_assert_error(&r, 400, "bad_uuid");
    http_res_free(&r);

    req(&r, "DELETE", "/api/health-check", NULL, NULL, 0);
    stack_assert_error(&r, 405, "method_not_allowed");
    char v[128];
    ck_assert(stack_header(&r.head, "Allow", v, sizeof v));
    ck_assert_str_eq(v, "GET, HEAD, OPTIONS");
    http_res_free(&r);
    req(&r, "GET", "/api/messages", NULL, NULL, 0);
    stack_assert_error(&r, 405, "method_not_allowed");
    ck_assert(stack_header(&r.head, "Allow", v, sizeof v));
    ck_assert_str_eq(v, "POST, OPTIONS");
    http_res_free(&r);
}
END_TEST

START_TEST(test_body_too_large)
{
    size_t n = 16 * 1024 + 1;
    char *big = malloc(n);
    memset(big, 'a', n);
    /* nginx's limit. */
    http_res r;
    const char *h[] = { "Content-Type: application/json", NULL };
    req(&r, "POST", "/api/messages", h, big, n);
    stack_assert_error(&r, 413, "body_too_large");
    http_res_free(&r);

    /* The API's own cap, straight over FastCGI (as behind an nginx with a higher limit). */
    buf out;
    buf_init(&out, 0);
    int st = stack_fcgi(&g_api, "POST", "/api/messages", big, n, &out);
    ck_assert_msg(st == 413, "%s", buf_cstr(&out));
    ck_assert_ptr_nonnull(strstr(stack_cgi_body(&out), "\"body_too_large\""));
    buf_cleanup(&out);
    /* Exactly the cap passes the size check (the handler then answers). */
    buf_init(&out, 0);
    st = stack_fcgi(&g_api, "POST", "/api/health-check", big, n - 1, &out);
    ck_assert_msg(st == 405, "%s", buf_cstr(&out));
    buf_cleanup(&out);
    free(big);

    /* Behind an nginx with a higher limit: the API's own 413, as JSON, also for a body
     * much larger than what the API reads before answering (it must not close on nginx
     * while nginx is still sending: that would be a 502). */
    int port = stack_free_port();
    pid_t ng = stack_nginx_start_limit("nginx-big", port, &g_api, "8m");
    ck_assert_int_gt(ng, 0);
    const size_t sizes[] = { 16 * 1024 + 1, 4 * 1024 * 1024 };
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        big = malloc(sizes[i]);
        ck_assert_ptr_nonnull(big);
        memset(big, 'a', sizes[i]);
        stack_http(&r, port, NULL, "POST", "/api/messages", h, big, sizes[i]);
        stack_assert_error(&r, 413, "body_too_large");
        http_res_free(&r);
        free(big);
    }
    stack_http(&r, port, NULL, "GET", "/api/health-check", NULL, NULL, 0);
    ck_assert_int_eq(r.status, 200);
    http_res_free(&r);
    stack_stop(&ng, SIGTERM);
}
END_TEST

START_TEST(test_cors_preflight)
{
    http_res r;
    const char *ok[] = { "Origin: http://localhost:3000", "Access-Control-Request-Method: POST",
                         NULL };
    req(&r, "OPTIONS", "/api/messages", ok, NULL, 0);
    ck_assert_int_eq(r.status, 204);
    char v[256];
    ck_assert(stack_header(&r.head, "Access-Control-Allow-Origin", v, sizeof v));
    ck_assert_str_eq(v, "http://localhost:3000");
    ck_assert(stack_header(&r.head, "Access-Control-Allow-Methods", v, sizeof v));
    ck_assert_str_eq(v, "GET, POST, OPTIONS");
    ck_assert(stack_header(&r.head, "Access-Control-Allow-Headers", v, sizeof v));
    ck_assert_str_eq(v, "Authorization, Content-Type, Idempotency-Key");
    ck_assert(stack_header(&r.head, "Vary", v, sizeof v));
    http_res_free(&r);

    const char *other[] = { "Origin: http://evil.example", NULL };
    req(&r, "OPTIONS", "/api/messages", other, NULL, 0);
    ck_assert_int_eq(r.status, 204);
    ck_assert(!stack_header(&r.head, "Access-Control-Allow-Origin", v, sizeof v));
    ck_assert(!stack_header(&r.head, "Access-Control-Allow-Methods", v, sizeof v));
    http_res_free(&r);

    /* A simple request from the allowed origin gets the echo too. */
    req(&r, "GET", "/api/health-check", ok, NULL, 0);
    ck_assert(stack_header(&r.head, "Access-Control-Allow-Origin", v, sizeof v));
    http_res_free(&r);
}
END_TEST

/* ---- nginx's own errors: JSON and CORS like the API's ------------------------------------ */

#define ORIGIN_OK STACK_FRONTEND_URL
#define ORIGIN_BAD "http://evil.example"

/* The CORS headers of the API's answers (worker_format_head): with an allowed origin the
 * echo, Vary and Expose-Headers; with another only Vary: Origin. */
static void assert_cors(const http_res *r, bool allowed)
{
    char v[256];
    ck_assert_msg(stack_header(&r->head, "Vary", v, sizeof v), "no Vary in:\n%s",
                  buf_cstr(&r->head));
    ck_assert_str_eq(v, "Origin");
    if (!allowed) {
        ck_assert_msg(!stack_header(&r->head, "Access-Control-Allow-Origin", v, sizeof v),
                      "a foreign origin allowed:\n%s", buf_cstr(&r->head));
        return;
    }
    ck_assert_msg(stack_header(&r->head, "Access-Control-Allow-Origin", v, sizeof v),
                  "no Access-Control-Allow-Origin (status %ld):\n%s", r->status,
                  buf_cstr(&r->head));
    ck_assert_str_eq(v, ORIGIN_OK);
    ck_assert(stack_header(&r->head, "Access-Control-Expose-Headers", v, sizeof v));
    ck_assert_str_eq(v, "X-Request-Id, X-Next-Cursor");
}

/* A raw request: request line, the headers (each ending "\r\n"), then Connection: close. */
static void raw(http_res *r, int port, const char *line, const char *headers)
{
    buf q;
    buf_init(&q, 0);
    buf_printf(&q, "%s\r\nHost: 127.0.0.1\r\n%sConnection: close\r\n\r\n", line, headers);
    stack_http_raw(r, port, buf_cstr(&q), q.len);
    buf_cleanup(&q);
}

/* GET /metrics through nginx, from loopback: the Prometheus text of both workers summed —
 * five more health checks are five more, whichever worker answered each. */
START_TEST(test_metrics)
{
    http_res r;
    req(&r, "GET", "/metrics", NULL, NULL, 0);
    ck_assert_int_eq(r.status, 200);
    char v[128];
    ck_assert(stack_header(&r.head, "Content-Type", v, sizeof v));
    ck_assert_str_eq(v, "text/plain; version=0.0.4; charset=utf-8");
    const char *hc = "cruddur_api_requests_total{route=\"/api/health-check\",code=\"200\"}";
    double before = support_prom_value(buf_cstr(&r.body), hc);
    ck_assert(before >= 0);
    ck_assert_double_eq(support_prom_value(buf_cstr(&r.body), "cruddur_api_workers"), 2);
    http_res_free(&r);
    for (int i = 0; i < 5; i++) {
        req(&r, "GET", "/api/health-check", NULL, NULL, 0);
        ck_assert_int_eq(r.status, 200);
        http_res_free(&r);
    }
    req(&r, "GET", "/metrics", NULL, NULL, 0);
    ck_assert_int_eq(r.status, 200);
    ck_assert_double_eq(support_prom_value(buf_cstr(&r.body), hc), before + 5);
    /* the first /metrics request is counted too */
    ck_assert(support_prom_value(buf_cstr(&r.body),
                                 "cruddur_api_requests_total{route=\"/metrics\",code=\"200\"}") >=
              1);
    http_res_free(&r);
}
END_TEST

/* HEAD /api/health-check (load balancers and uptime checks send it): the GET's status and
 * head through nginx, no body. */
START_TEST(test_health_head)
{
    http_res r;
    raw(&r, g_port, "HEAD /api/health-check HTTP/1.1", "");
    ck_assert_int_eq(r.status, 200);
    ck_assert_uint_eq(r.body.len, 0);
    char v[128];
    ck_assert(stack_header(&r.head, "Content-Type", v, sizeof v));
    ck_assert_str_eq(v, "application/json; charset=utf-8");
    http_res_free(&r);
    /* the deep check answers HEAD too, with its status */
    raw(&r, g_port, "HEAD /api/health-check?deep=1 HTTP/1.1", "");
    ck_assert_int_eq(r.status, 200);
    ck_assert_uint_eq(r.body.len, 0);
    http_res_free(&r);
}
END_TEST

START_TEST(test_nginx_errors_json)
{
    char *long_uri = malloc(9 * 1024 + 64), *long_header = malloc(9 * 1024 + 64);
    ck_assert_ptr_nonnull(long_uri);
    ck_assert_ptr_nonnull(long_header);
    memcpy(long_uri, "GET /api/", 9);
    memset(long_uri + 9, 'a', 9 * 1024);
    snprintf(long_uri + 9 + 9 * 1024, 64, " HTTP/1.1");
    snprintf(long_header, 64, "Origin: " ORIGIN_OK "\r\nX-Big: ");
    size_t k = strlen(long_header);
    memset(long_header + k, 'b', 9 * 1024);
    snprintf(long_header + k + 9 * 1024, 64, "\r\n");
    /* 414 comes before nginx reads any header: no Origin to answer (no CORS check) */
    http_res r;
    raw(&r, g_port, long_uri, "");
    stack_assert_error(&r, 414, "uri_too_long");
    http_res_free(&r);
    /* a 9 KiB header: nginx's 494, answered as 400 */
    raw(&r, g_port, "GET /api/health-check HTTP/1.1", long_header);
    stack_assert_error(&r, 400, "header_too_large");
    assert_cors(&r, true);
    http_res_free(&r);
    free(long_uri);
    free(long_header);

    const struct {
        const char *line, *headers;
        long status;
        const char *code;
    } cases[] = {
        { "TRACE /api/health-check HTTP/1.1", "", 405, "method_not_allowed" },
        { "POST /api/messages HTTP/1.1", "Transfer-Encoding: gzip\r\n", 501, "not_implemented" },
        { "GET /_cruddur_error/502 HTTP/1.1", "", 404, "not_found" },
        { "GET /_cruddur_error/400 HTTP/1.1", "", 404, "not_found" },
        { "GET /_cruddur_error/x HTTP/1.1", "", 404, "not_found" },
        { "GET /nothing HTTP/1.1", "", 404, "not_found" },
        { "GET /api/health-check HTTP/1.1", "Content-Length: x\r\n", 400, "bad_request" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        for (int allowed = 0; allowed < 2; allowed++) {
            char h[512];
            snprintf(h, sizeof h, "%sOrigin: %s\r\n", cases[i].headers,
                     allowed ? ORIGIN_OK : ORIGIN_BAD);
            raw(&r, g_port, cases[i].line, h);
            ck_assert_msg(r.status == cases[i].status, "%s: %ld, want %ld", cases[i].line, r.status,
                          cases[i].status);
            stack_assert_error(&r, cases[i].status, cases[i].code);
            assert_cors(&r, allowed);
            char v[128];
            ck_assert(stack_header(&r.head, "X-Content-Type-Options", v, sizeof v));
            ck_assert(stack_header(&r.head, "X-Request-Id", v, sizeof v));
            http_res_free(&r);
        }
    }
}
END_TEST

/* A TCP port whose listen queue is full: connections to it hang in SYN_SENT (the kernel
 * drops their SYNs), so nginx's 2 s fastcgi_connect_timeout gives 504. Sockets into fds. */
static int blackhole_port(int fds[4])
{
    fds[0] = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(fds[0], 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    ck_assert_int_eq(bind(fds[0], (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(listen(fds[0], 0), 0);
    socklen_t al = sizeof a;
    ck_assert_int_eq(getsockname(fds[0], (struct sockaddr *)&a, &al), 0);
    for (int i = 1; i < 4; i++) { /* fill the queue; the later ones wait unanswered */
        fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        ck_assert_int_ge(fds[i], 0);
        connect(fds[i], (struct sockaddr *)&a, sizeof a);
    }
    stack_sleep_ms(100);
    return ntohs(a.sin_port);
}

START_TEST(test_nginx_errors_cors)
{
    const char *ok[] = { "Origin: " ORIGIN_OK, "Content-Type: application/json", NULL };
    const char *bad[] = { "Origin: " ORIGIN_BAD, "Content-Type: application/json", NULL };
    /* 413: nginx's body limit */
    size_t n = 16 * 1024 + 1;
    char *big = malloc(n);
    ck_assert_ptr_nonnull(big);
    memset(big, 'a', n);
    http_res r;
    req(&r, "POST", "/api/messages", ok, big, n);
    stack_assert_error(&r, 413, "body_too_large");
    assert_cors(&r, true);
    http_res_free(&r);
    req(&r, "POST", "/api/messages", bad, big, n);
    stack_assert_error(&r, 413, "body_too_large");
    assert_cors(&r, false);
    http_res_free(&r);
    free(big);

    /* 502: nothing listens on the API's socket */
    stack_api gone = { .pid = -1, .how = STACK_UNIX };
    snprintf(gone.sock, sizeof gone.sock, "%s/no-api.sock", g_stack.dir);
    int port = stack_free_port();
    pid_t ng = stack_nginx_start("nginx-502", port, &gone);
    ck_assert_int_gt(ng, 0);
    stack_http(&r, port, NULL, "GET", "/api/health-check", ok, NULL, 0);
    stack_assert_error(&r, 502, "unavailable");
    assert_cors(&r, true);
    http_res_free(&r);
    stack_http(&r, port, NULL, "GET", "/api/health-check", bad, NULL, 0);
    stack_assert_error(&r, 502, "unavailable");
    assert_cors(&r, false);
    http_res_free(&r);
    /* no Origin: no CORS headers at all, as from the API */
    stack_http(&r, port, NULL, "GET", "/api/health-check", NULL, NULL, 0);
    stack_assert_error(&r, 502, "unavailable");
    char v[128];
    ck_assert(!stack_header(&r.head, "Vary", v, sizeof v));
    ck_assert(!stack_header(&r.head, "Access-Control-Allow-Origin", v, sizeof v));
    http_res_free(&r);
    stack_stop(&ng, SIGTERM);

    /* 504: the API's address never accepts (connect timeout) */
    int fds[4];
    stack_api hung = { .pid = -1, .how = STACK_TCP, .port = blackhole_port(fds) };
    port = stack_free_port();
    ng = stack_nginx_start("nginx-504", port, &hung);
    ck_assert_int_gt(ng, 0);
    stack_http(&r, port, NULL, "GET", "/api/health-check", ok, NULL, 0);
    stack_assert_error(&r, 504, "timeout");
    assert_cors(&r, true);
    http_res_free(&r);
    stack_stop(&ng, SIGTERM);
    for (int i = 0; i < 4; i++)
        close(fds[i]);
}
END_TEST

/* ---- a TCP proxy in front of Postgres: killing it is an outage, starting it again the
 * recovery, without touching the server the other tests use ------------------------------ */

#define PROXY_PAIRS 32

static void proxy_run(int listen_port, int target_port)
{
    /* Check runs each test in a child: a proxy started there dies with it */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    int l = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)listen_port) };
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (bind(l, (struct sockaddr *)&a, sizeof a) != 0 || listen(l, 16) != 0)
        _exit(1);
    int side[PROXY_PAIRS][2];
    for (int i = 0; i < PROXY_PAIRS; i++)
        side[i][0] = side[i][1] = -1;
    for (;;) {
        struct pollfd p[1 + 2 * PROXY_PAIRS];
        int n = 0;
        p[n++] = (struct pollfd){ l, POLLIN, 0 };
        for (int i = 0; i < PROXY_PAIRS; i++)
            for (int k = 0; k < 2; k++)
                p[n++] = (struct pollfd){ side[i][k], POLLIN, 0 };
        if (poll(p, (nfds_t)n, -1) < 0)
            continue;
        if (p[0].revents & POLLIN) {
            int c = accept(l, NULL, NULL);
            int t = socket(AF_INET, SOCK_STREAM, 0);
            struct sockaddr_in b = { .sin_family = AF_INET,
                                     .sin_port = htons((uint16_t)target_port) };
            inet_pton(AF_INET, "127.0.0.1", &b.sin_addr);
            int slot = -1;
            for (int i = 0; i < PROXY_PAIRS && slot < 0; i++)
                if (side[i][0] < 0)
                    slot = i;
            if (c < 0 || slot < 0 || connect(t, (struct sockaddr *)&b, sizeof b) != 0) {
                close(c);
                close(t);
            } else {
                side[slot][0] = c;
                side[slot][1] = t;
            }
        }
        for (int i = 0; i < PROXY_PAIRS; i++)
            for (int k = 0; k < 2; k++) {
                struct pollfd *q = &p[1 + 2 * i + k];
                if (q->fd < 0 || !(q->revents & (POLLIN | POLLHUP | POLLERR)))
                    continue;
                char chunk[16384];
                ssize_t got = read(q->fd, chunk, sizeof chunk);
                if (got <= 0 || write(side[i][1 - k], chunk, (size_t)got) != got) {
                    close(side[i][0]);
                    close(side[i][1]);
                    side[i][0] = side[i][1] = -1;
                    break;
                }
            }
    }
}

/* Starts the proxy on listen_port and waits until it accepts. */
static pid_t proxy_start(int listen_port, int target_port)
{
    pid_t pid = fork();
    if (pid == 0)
        proxy_run(listen_port, target_port);
    if (pid < 0)
        return -1;
    if (stack_wait_port(listen_port, &pid) == 0)
        return pid;
    stack_stop(&pid, SIGKILL);
    return -1;
}

/* The deep health check through the API behind the proxy: the HTTP status, and whether
 * its body says Postgres is ok. */
static int pg_health(bool *pg_ok)
{
    buf out;
    buf_init(&out, 0);
    int st = stack_fcgi(&g_api_pg, "GET", "/api/health-check?deep=1", "", 0, &out);
    json_t *j = json_loads(stack_cgi_body(&out), 0, NULL);
    *pg_ok = j && strcmp(json_string_value(json_object_get(j, "postgres"))
                             ? json_string_value(json_object_get(j, "postgres"))
                             : "",
                         "ok") == 0;
    json_decref(j);
    buf_cleanup(&out);
    return st;
}

START_TEST(test_postgres_outage_and_recovery)
{
    bool ok;
    ck_assert_int_eq(pg_health(&ok), 200);
    ck_assert(ok);

    /* outage: the proxy dies, every worker's connection with it */
    stack_stop(&g_proxy, SIGKILL);
    for (int i = 0; i < 4; i++) {
        int st = pg_health(&ok);
        ck_assert_msg(st == 503 && !ok, "during the outage: %d (postgres ok: %d)", st, ok);
    }

    /* recovery: Postgres reachable again; the same API answers 200 again by itself */
    g_proxy = proxy_start(g_proxy_port, g_pg_port);
    ck_assert_int_gt(g_proxy, 0);
    int64_t deadline = clock_mono_ms() + 20000;
    int good = 0;
    while (good < 4 && clock_mono_ms() < deadline) {
        good = pg_health(&ok) == 200 && ok ? good + 1 : 0;
        if (good < 4)
            stack_sleep_ms(100);
    }
    ck_assert_msg(good >= 4, "the API did not recover within 20 s");
    ck_assert_int_eq(kill(g_api_pg.pid, 0), 0); /* never restarted */
}
END_TEST

static void expect_ok_burst(int n)
{
    for (int i = 0; i < n; i++) {
        http_res r;
        req(&r, "GET", "/api/health-check", NULL, NULL, 0);
        ck_assert_msg(r.status == 200, "request %d: %ld %s", i, r.status, buf_cstr(&r.body));
        http_res_free(&r);
    }
}

START_TEST(test_worker_killed)
{
    pid_t before[8], after[8];
    size_t nb = children(g_api.pid, before, 8);
    ck_assert_uint_eq(nb, 2);
    http_res r;
    req(&r, "GET", "/metrics", NULL, NULL, 0);
    double restarts = support_prom_value(buf_cstr(&r.body), "cruddur_api_worker_restarts_total");
    http_res_free(&r);
    ck_assert_int_eq(kill(before[0], SIGKILL), 0);
    stack_sleep_ms(50);
    expect_ok_burst(20);
    size_t na = 0;
    for (int i = 0; i < 60 && na != 2; i++) {
        stack_sleep_ms(100);
        na = children(g_api.pid, after, 8);
    }
    ck_assert_uint_eq(na, 2);
    ck_assert(after[0] != before[0] && after[1] != before[0]);
    expect_ok_burst(20);
    /* the metrics count the replacement, and the dead worker's counts are kept */
    req(&r, "GET", "/metrics", NULL, NULL, 0);
    ck_assert_double_eq(support_prom_value(buf_cstr(&r.body), "cruddur_api_worker_restarts_total"),
                        restarts + 1);
    ck_assert_double_eq(support_prom_value(buf_cstr(&r.body), "cruddur_api_workers"), 2);
    http_res_free(&r);
}
END_TEST

START_TEST(test_sighup_rolling)
{
    pid_t before[8], after[8];
    size_t nb = children(g_api.pid, before, 8);
    ck_assert_uint_eq(nb, 2);
    ck_assert_int_eq(kill(g_api.pid, SIGHUP), 0);
    /* Keep asking while the workers are replaced one by one. */
    for (int i = 0; i < 40; i++) {
        expect_ok_burst(1);
        stack_sleep_ms(20);
    }
    size_t na = 0;
    bool replaced = false;
    for (int i = 0; i < 50 && !replaced; i++) {
        na = children(g_api.pid, after, 8);
        replaced = na == 2;
        for (size_t a = 0; a < na && replaced; a++)
            for (size_t b = 0; b < nb; b++)
                if (after[a] == before[b])
                    replaced = false;
        if (!replaced)
            stack_sleep_ms(100);
    }
    ck_assert_msg(replaced, "the workers were not all replaced");
    expect_ok_burst(10);
}
END_TEST

START_TEST(test_sigterm_drain)
{
    stack_api a;
    ck_assert_int_eq(stack_api_start(&a, STACK_UNIX, "drain", 2, NULL), 0);
    pid_t api = a.pid;

    /* A request in hand: headers sent, half of its body still to come. */
    int s = stack_fcgi_connect(&a);
    ck_assert_int_ge(s, 0);
    stack_fcgi_begin(s, "GET", "/api/health-check", 10);
    stack_fcgi_stdin(s, "01234", 5, false);
    stack_sleep_ms(200);
    ck_assert_int_eq(kill(api, SIGTERM), 0);
    stack_sleep_ms(500);
    ck_assert_int_eq(waitpid(api, NULL, WNOHANG), 0); /* still draining */
    stack_fcgi_stdin(s, "56789", 5, true);
    buf out;
    buf_init(&out, 0);
    stack_fcgi_read(s, &out);
    close(s);
    ck_assert_ptr_nonnull(strstr(buf_cstr(&out), "Status: 200"));
    ck_assert_str_eq(stack_cgi_body(&out), "{\"success\":true,\"ver\":1}");
    buf_cleanup(&out);

    int status = -1;
    for (int i = 0; i < 100; i++) {
        if (waitpid(api, &status, WNOHANG) == api)
            break;
        stack_sleep_ms(50);
    }
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "master status %d", status);
    struct stat st;
    ck_assert_int_ne(stat(a.sock, &st), 0); /* the socket file is removed */
}
END_TEST

/* ---- setup and teardown --------------------------------------------------------------- */

static void teardown_all(void)
{
    stack_stop(&g_nginx, SIGTERM);
    stack_stop(&g_api.pid, SIGTERM);
    stack_stop(&g_api_nodb.pid, SIGTERM);
    stack_stop(&g_api_pg.pid, SIGTERM);
    stack_stop(&g_proxy, SIGKILL);
    stack_cleanup();
}

static int setup_all(void)
{
    if (stack_init("live-api") != 0)
        return -1;
    const char *nodb[] = { "AWS_ENDPOINT_URL=http://127.0.0.1:1", "CRUDDUR_DDB_MAX_ATTEMPTS=1",
                           NULL };
    if (stack_api_start(&g_api, STACK_UNIX, "api", 2, NULL) != 0 ||
        stack_api_start(&g_api_nodb, STACK_UNIX, "api-nodb", 2, nodb) != 0)
        return -1;
    /* api C: the stack's database through a TCP proxy the outage test can cut */
    PQconninfoOption *po = PQconninfoParse(pg_require(), NULL);
    g_pg_port = 5432;
    for (PQconninfoOption *o = po; o && o->keyword; o++)
        if (strcmp(o->keyword, "port") == 0 && o->val && *o->val)
            g_pg_port = (int)strtol(o->val, NULL, 10); /* test code: the URL is script/test's */
    PQconninfoFree(po);
    g_proxy_port = stack_free_port();
    g_proxy = proxy_start(g_proxy_port, g_pg_port);
    if (g_proxy < 0) {
        fprintf(stderr, "the Postgres proxy did not start\n");
        return -1;
    }
    char extra[64], ci[4200], pg_env[4400];
    snprintf(extra, sizeof extra, "host=127.0.0.1 port=%d", g_proxy_port);
    pg_conninfo(g_stack.db, extra, ci, sizeof ci);
    snprintf(pg_env, sizeof pg_env, "CONNECTION_URL=%s", ci);
    /* no cached deep checks: the outage test must see each change at once */
    const char *pg[] = { pg_env, "CRUDDUR_HEALTH_CACHE_MS=0", NULL };
    if (stack_api_start(&g_api_pg, STACK_UNIX, "api-pg", 2, pg) != 0)
        return -1;
    g_port = stack_free_port();
    g_nginx = stack_nginx_start("nginx", g_port, &g_api);
    return g_nginx < 0 ? -1 : 0;
}

static Suite *live_api_suite(void)
{
    Suite *s = suite_create("live_api");
    TCase *tc = tcase_create("requests");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_health);
    tcase_add_test(tc, test_health_deep);
    tcase_add_test(tc, test_not_found_and_method);
    tcase_add_test(tc, test_body_too_large);
    tcase_add_test(tc, test_cors_preflight);
    tcase_add_test(tc, test_health_head);
    tcase_add_test(tc, test_metrics);
    tcase_add_test(tc, test_nginx_errors_json);
    tcase_add_test(tc, test_nginx_errors_cors);
    suite_add_tcase(s, tc);
    tc = tcase_create("process");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_worker_killed);
    tcase_add_test(tc, test_sighup_rolling);
    tcase_add_test(tc, test_sigterm_drain);
    suite_add_tcase(s, tc);
    tc = tcase_create("outages");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_postgres_outage_and_recovery);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return stack_main("live_api", setup_all, teardown_all, live_api_suite);
}
