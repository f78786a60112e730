/* live_api.c — cruddur-api's FastCGI side against the live stack: the real cruddur-api
 * (from CR_BUILDDIR) on temporary unix sockets behind a real nginx (Debian's, own prefix,
 * rendered from nginx/cruddur-api.conf), driven with libcurl and, where nginx would get in
 * the way, with a minimal FastCGI client: health (shallow, deep, DynamoDB down), 404, 405,
 * 413 (nginx's and the API's own cap), CORS preflight, a worker killed and replaced, a
 * rolling restart on SIGHUP, and a drain on SIGTERM with a request in flight. */
#include "config.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
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
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "auth/devkey.h"
#include "aws/ddb.h"
#include "base/buf.h"
#include "base/clock.h"
#include "live.h"
#include "live_pg.h"
#include "tap.h"

static char g_dir[256];            /* temp folder: sockets, nginx prefix, logs */
static char g_table[64];
static char g_builddir[1024];
static pid_t g_api = -1;           /* api A: the one behind nginx */
static pid_t g_api_nodb = -1;      /* api B: DynamoDB unreachable */
static pid_t g_nginx = -1;
static pid_t g_api_pg = -1;         /* api C: Postgres behind the test's TCP proxy */
static pid_t g_proxy = -1;          /* the TCP proxy in front of Postgres */
static int g_proxy_port, g_pg_port;
static char g_sock_pg[512];
static int g_port;
static char g_sock[512], g_sock_nodb[512];

/* ---- processes ------------------------------------------------------------------------ */

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* Starts cruddur-api with env overrides (NAME=VALUE, NULL-terminated), stderr to log. */
static pid_t api_start(const char *sock, const char *log, const char *const *env)
{
    char exe[1200];
    snprintf(exe, sizeof exe, "%s/src/api/cruddur-api", g_builddir);
    unlink(sock);
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (fd >= 0) {
            dup2(fd, 2);
            close(fd);
        }
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0) {
            dup2(devnull, 0);
            close(devnull);
        }
        setenv("CRUDDUR_FCGI_SOCKET", sock, 1);
        setenv("CRUDDUR_WORKERS", "2", 1);
        setenv("CRUDDUR_LOG_LEVEL", "info", 1);
        for (size_t i = 0; env && env[i]; i++)
            putenv((char *)env[i]);
        execl(exe, exe, (char *)NULL);
        _exit(127);
    }
    /* Wait for the socket to accept connections. */
    for (int i = 0; i < 100; i++) {
        int s = socket(AF_UNIX, SOCK_STREAM, 0);
        struct sockaddr_un a = { .sun_family = AF_UNIX };
        snprintf(a.sun_path, sizeof a.sun_path, "%s", sock);
        int ok = connect(s, (struct sockaddr *)&a, sizeof a) == 0;
        close(s);
        if (ok)
            return pid;
        if (waitpid(pid, NULL, WNOHANG) == pid)
            return -1;
        sleep_ms(50);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return -1;
}

static void proc_stop(pid_t *pid, int sig)
{
    if (*pid <= 0)
        return;
    kill(*pid, sig);
    for (int i = 0; i < 100; i++) {
        if (waitpid(*pid, NULL, WNOHANG) != 0) {
            *pid = -1;
            return;
        }
        sleep_ms(50);
    }
    kill(*pid, SIGKILL);
    waitpid(*pid, NULL, 0);
    *pid = -1;
}

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

static int free_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof a;
    if (bind(s, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(s, (struct sockaddr *)&a, &len) != 0) {
        close(s);
        return -1;
    }
    close(s);
    return ntohs(a.sin_port);
}

/* Renders nginx/cruddur-api.conf into dir/nginx.conf and starts nginx in the foreground
 * (daemon off) as our child. */
static pid_t nginx_start(const char *dir, int port, const char *sock)
{
    char src[1200], text[16384], conf[600];
    const char *srcdir = getenv("CR_SRCDIR");
    snprintf(src, sizeof src, "%s/nginx/cruddur-api.conf", srcdir && *srcdir ? srcdir : CR_SRCDIR);
    FILE *f = fopen(src, "r");
    if (!f)
        return -1;
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    char portstr[16];
    snprintf(portstr, sizeof portstr, "%d", port);
    const char *subst[][2] = { { "@PREFIX@", dir }, { "@PORT@", portstr }, { "@SOCKET@", sock },
                               { "@USER@", geteuid() == 0 ? "user root root;" : "" },
                               { "@BODY_MAX@", "16k" }, { "@KEEPALIVE@", "" },
                               { "@KEEP_CONN@", "" } };
    buf out;
    buf_init(&out, 0);
    for (const char *p = text; *p;) {
        size_t k;
        for (k = 0; k < sizeof subst / sizeof subst[0]; k++)
            if (strncmp(p, subst[k][0], strlen(subst[k][0])) == 0)
                break;
        if (k < sizeof subst / sizeof subst[0]) {
            buf_append_str(&out, subst[k][1]);
            p += strlen(subst[k][0]);
        } else {
            buf_putc(&out, *p++);
        }
    }
    snprintf(conf, sizeof conf, "%s/nginx.conf", dir);
    f = fopen(conf, "w");
    if (!f) {
        buf_cleanup(&out);
        return -1;
    }
    fputs(buf_cstr(&out), f);
    fclose(f);
    buf_cleanup(&out);
    char logs[600], tmp[600], elog[700];
    snprintf(logs, sizeof logs, "%s/logs", dir);
    snprintf(tmp, sizeof tmp, "%s/tmp", dir);
    snprintf(elog, sizeof elog, "%s/logs/error.log", dir);
    mkdir(logs, 0700);
    mkdir(tmp, 0700);
    pid_t pid = fork();
    if (pid == 0) {
        execl("/usr/sbin/nginx", "nginx", "-p", dir, "-e", elog, "-c", conf, "-g",
              "daemon off;", (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 100; i++) {
        int s = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                                 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        int ok = connect(s, (struct sockaddr *)&a, sizeof a) == 0;
        close(s);
        if (ok)
            return pid;
        if (waitpid(pid, NULL, WNOHANG) == pid)
            return -1;
        sleep_ms(50);
    }
    return -1;
}

/* ---- HTTP through nginx --------------------------------------------------------------- */

typedef struct http_res {
    long status;
    buf body;
    buf head;
} http_res;

static size_t on_data(char *p, size_t sz, size_t n, void *ud)
{
    buf_append((buf *)ud, p, sz * n);
    return sz * n;
}

static void req(http_res *r, const char *method, const char *path, const char *const *headers,
                 const char *body, size_t body_len)
{
    memset(r, 0, sizeof *r);
    buf_init(&r->body, 0);
    buf_init(&r->head, 0);
    char url[512];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", g_port, path);
    CURL *c = curl_easy_init();
    ck_assert_ptr_nonnull(c);
    struct curl_slist *hl = NULL;
    for (size_t i = 0; headers && headers[i]; i++)
        hl = curl_slist_append(hl, headers[i]);
    hl = curl_slist_append(hl, "Expect:");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r->body);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &r->head);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)body_len);
    }
    CURLcode rc = curl_easy_perform(c);
    ck_assert_msg(rc == CURLE_OK, "%s %s: %s", method, path, curl_easy_strerror(rc));
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    curl_slist_free_all(hl);
    curl_easy_cleanup(c);
}

static void res_free(http_res *r)
{
    buf_cleanup(&r->body);
    buf_cleanup(&r->head);
}

/* The value of header name (case-insensitive) into out, or false. */
static bool header(const buf *head, const char *name, char *out, size_t n)
{
    size_t nl = strlen(name);
    for (const char *p = buf_cstr(head); p && *p;) {
        const char *eol = strstr(p, "\r\n");
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        if (len > nl + 1 && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            const char *v = p + nl + 1;
            while (*v == ' ')
                v++;
            snprintf(out, n, "%.*s", (int)(len - (size_t)(v - p)), v);
            return true;
        }
        p = eol ? eol + 2 : p + len;
    }
    return false;
}

static json_t *json_of(const buf *b)
{
    json_error_t je;
    json_t *j = json_loadb(b->data ? b->data : "", b->len, 0, &je);
    ck_assert_msg(j != NULL, "not JSON: %s", buf_cstr(b));
    return j;
}

static void assert_json_error(http_res *r, long status, const char *code)
{
    ck_assert_int_eq(r->status, status);
    char ct[128];
    ck_assert(header(&r->head, "Content-Type", ct, sizeof ct));
    ck_assert_str_eq(ct, "application/json; charset=utf-8");
    json_t *j = json_of(&r->body);
    ck_assert_str_eq(json_string_value(json_object_get(j, "error")), code);
    ck_assert(json_is_string(json_object_get(j, "message")));
    json_decref(j);
}

/* ---- a minimal FastCGI client (straight to an API socket) ----------------------------- */

static void fcgi_record(buf *b, int type, const void *p, size_t n)
{
    unsigned char h[8] = { 1, (unsigned char)type, 0, 1, (unsigned char)(n >> 8),
                           (unsigned char)(n & 255), 0, 0 };
    buf_append(b, h, 8);
    buf_append(b, p, n);
}

static void fcgi_param(buf *b, const char *name, const char *value)
{
    size_t nl = strlen(name), vl = strlen(value);
    unsigned char l[8];
    size_t k = 0;
    l[k++] = (unsigned char)nl; /* names are short */
    if (vl < 128) {
        l[k++] = (unsigned char)vl;
    } else {
        l[k++] = (unsigned char)((vl >> 24) | 0x80);
        l[k++] = (unsigned char)(vl >> 16);
        l[k++] = (unsigned char)(vl >> 8);
        l[k++] = (unsigned char)vl;
    }
    buf_append(b, l, k);
    buf_append(b, name, nl);
    buf_append(b, value, vl);
}

static int fcgi_connect(const char *sock)
{
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    snprintf(a.sun_path, sizeof a.sun_path, "%s", sock);
    ck_assert_int_eq(connect(s, (struct sockaddr *)&a, sizeof a), 0);
    return s;
}

static void write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n > 0) {
        ssize_t w = write(fd, c, n);
        ck_assert(w > 0);
        c += w;
        n -= (size_t)w;
    }
}

/* Sends BEGIN_REQUEST and the params of method uri with content length clen. */
static void fcgi_begin(int s, const char *method, const char *uri, size_t clen)
{
    buf b, p;
    buf_init(&b, 0);
    buf_init(&p, 0);
    unsigned char begin[8] = { 0, 1, 0, 0, 0, 0, 0, 0 };
    fcgi_record(&b, 1, begin, 8);
    char cl[32];
    snprintf(cl, sizeof cl, "%zu", clen);
    fcgi_param(&p, "REQUEST_METHOD", method);
    fcgi_param(&p, "REQUEST_URI", uri);
    fcgi_param(&p, "CONTENT_LENGTH", cl);
    fcgi_param(&p, "CONTENT_TYPE", "application/json");
    fcgi_record(&b, 4, p.data, p.len);
    fcgi_record(&b, 4, NULL, 0);
    write_all(s, b.data, b.len);
    buf_cleanup(&b);
    buf_cleanup(&p);
}

static void fcgi_stdin(int s, const char *p, size_t n, bool last)
{
    buf b;
    buf_init(&b, 0);
    while (n > 0) {
        size_t k = n > 65535 ? 65535 : n;
        fcgi_record(&b, 5, p, k);
        p += k;
        n -= k;
    }
    if (last)
        fcgi_record(&b, 5, NULL, 0);
    write_all(s, b.data, b.len);
    buf_cleanup(&b);
}

/* Reads STDOUT records until END_REQUEST; out gets the CGI response (head + body). */
static void fcgi_read(int s, buf *out)
{
    unsigned char h[8];
    for (;;) {
        size_t got = 0;
        while (got < 8) {
            ssize_t r = read(s, h + got, 8 - got);
            ck_assert_msg(r > 0, "FastCGI connection closed early");
            got += (size_t)r;
        }
        size_t n = ((size_t)h[4] << 8 | h[5]) + h[6];
        char body[65536 + 256];
        got = 0;
        while (got < n) {
            ssize_t r = read(s, body + got, n - got);
            ck_assert(r > 0);
            got += (size_t)r;
        }
        if (h[1] == 6)
            buf_append(out, body, n - h[6]);
        if (h[1] == 3)
            return;
    }
}

/* A whole request; returns the status from the CGI head, body into out. */
static int fcgi_request(const char *sock, const char *method, const char *uri, const char *body,
                        size_t body_len, buf *out)
{
    int s = fcgi_connect(sock);
    fcgi_begin(s, method, uri, body_len);
    fcgi_stdin(s, body, body_len, true);
    fcgi_read(s, out);
    close(s);
    int status = 0;
    const char *st = strstr(buf_cstr(out), "Status: ");
    if (st)
        status = (int)strtol(st + 8, NULL, 10);
    return status;
}

static const char *cgi_body(const buf *b)
{
    const char *p = strstr(buf_cstr(b), "\r\n\r\n");
    return p ? p + 4 : "";
}

/* ---- tests ---------------------------------------------------------------------------- */

START_TEST(test_health)
{
    http_res r;
    req(&r, "GET", "/api/health-check", NULL, NULL, 0);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(buf_cstr(&r.body), "{\"success\":true}");
    char v[128];
    ck_assert(header(&r.head, "X-Request-Id", v, sizeof v));
    ck_assert_uint_ge(strlen(v), 8);
    ck_assert(header(&r.head, "Content-Type", v, sizeof v));
    ck_assert_str_eq(v, "application/json; charset=utf-8");
    ck_assert(header(&r.head, "X-Content-Type-Options", v, sizeof v));
    ck_assert_str_eq(v, "nosniff");
    ck_assert(header(&r.head, "Cache-Control", v, sizeof v));
    ck_assert_str_eq(v, "no-store");
    ck_assert(header(&r.head, "Referrer-Policy", v, sizeof v));
    res_free(&r);

    /* A well-formed incoming request id is kept end to end. */
    const char *h[] = { "X-Request-Id: live-api-req-0001", NULL };
    req(&r, "GET", "/api/health-check", h, NULL, 0);
    ck_assert(header(&r.head, "X-Request-Id", v, sizeof v));
    ck_assert_str_eq(v, "live-api-req-0001");
    res_free(&r);
}
END_TEST

START_TEST(test_health_deep)
{
    http_res r;
    req(&r, "GET", "/api/health-check?deep=1", NULL, NULL, 0);
    ck_assert_msg(r.status == 200, "deep health: %ld %s", r.status, buf_cstr(&r.body));
    json_t *j = json_of(&r.body);
    ck_assert(json_is_true(json_object_get(j, "success")));
    ck_assert_str_eq(json_string_value(json_object_get(j, "postgres")), "ok");
    ck_assert_str_eq(json_string_value(json_object_get(j, "dynamodb")), "ok");
    json_decref(j);
    res_free(&r);

    /* The second API has DynamoDB at a closed port. */
    buf out;
    buf_init(&out, 0);
    int st = fcgi_request(g_sock_nodb, "GET", "/api/health-check?deep=1", "", 0, &out);
    ck_assert_msg(st == 503, "%s", buf_cstr(&out));
    ck_assert_ptr_nonnull(strstr(buf_cstr(&out), "Content-Type: application/json"));
    json_error_t je;
    j = json_loads(cgi_body(&out), 0, &je);
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
    assert_json_error(&r, 404, "not_found");
    res_free(&r);
    req(&r, "GET", "/not-the-api", NULL, NULL, 0);
    assert_json_error(&r, 404, "not_found");
    res_free(&r);
    req(&r, "GET", "/api/messages/not-a-uuid", NULL, NULL, 0);
    assert_json_error(&r, 400, "bad_uuid");
    res_free(&r);

    req(&r, "DELETE", "/api/health-check", NULL, NULL, 0);
    assert_json_error(&r, 405, "method_not_allowed");
    char v[128];
    ck_assert(header(&r.head, "Allow", v, sizeof v));
    ck_assert_str_eq(v, "GET, OPTIONS");
    res_free(&r);
    req(&r, "GET", "/api/messages", NULL, NULL, 0);
    assert_json_error(&r, 405, "method_not_allowed");
    ck_assert(header(&r.head, "Allow", v, sizeof v));
    ck_assert_str_eq(v, "POST, OPTIONS");
    res_free(&r);
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
    assert_json_error(&r, 413, "body_too_large");
    res_free(&r);

    /* The API's own cap, straight over FastCGI (as behind an nginx with a higher limit). */
    buf out;
    buf_init(&out, 0);
    int st = fcgi_request(g_sock, "POST", "/api/messages", big, n, &out);
    ck_assert_msg(st == 413, "%s", buf_cstr(&out));
    ck_assert_ptr_nonnull(strstr(cgi_body(&out), "\"body_too_large\""));
    buf_cleanup(&out);
    /* Exactly the cap passes the size check (the handler then answers). */
    buf_init(&out, 0);
    st = fcgi_request(g_sock, "POST", "/api/health-check", big, n - 1, &out);
    ck_assert_msg(st == 405, "%s", buf_cstr(&out));
    buf_cleanup(&out);
    free(big);
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
    ck_assert(header(&r.head, "Access-Control-Allow-Origin", v, sizeof v));
    ck_assert_str_eq(v, "http://localhost:3000");
    ck_assert(header(&r.head, "Access-Control-Allow-Methods", v, sizeof v));
    ck_assert_str_eq(v, "GET, POST, OPTIONS");
    ck_assert(header(&r.head, "Access-Control-Allow-Headers", v, sizeof v));
    ck_assert_str_eq(v, "Authorization, Content-Type, Idempotency-Key");
    ck_assert(header(&r.head, "Vary", v, sizeof v));
    res_free(&r);

    const char *other[] = { "Origin: http://evil.example", NULL };
    req(&r, "OPTIONS", "/api/messages", other, NULL, 0);
    ck_assert_int_eq(r.status, 204);
    ck_assert(!header(&r.head, "Access-Control-Allow-Origin", v, sizeof v));
    ck_assert(!header(&r.head, "Access-Control-Allow-Methods", v, sizeof v));
    res_free(&r);

    /* A simple request from the allowed origin gets the echo too. */
    req(&r, "GET", "/api/health-check", ok, NULL, 0);
    ck_assert(header(&r.head, "Access-Control-Allow-Origin", v, sizeof v));
    res_free(&r);
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
    for (int i = 0; i < 100; i++) {
        int c = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = { .sin_family = AF_INET,
                                 .sin_port = htons((uint16_t)listen_port) };
        inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
        int ok = connect(c, (struct sockaddr *)&a, sizeof a) == 0;
        close(c);
        if (ok)
            return pid;
        sleep_ms(20);
    }
    return -1;
}

/* The deep health check through the API behind the proxy: the HTTP status, and whether
 * its body says Postgres is ok. */
static int pg_health(bool *pg_ok)
{
    buf out;
    buf_init(&out, 0);
    int st = fcgi_request(g_sock_pg, "GET", "/api/health-check?deep=1", "", 0, &out);
    json_t *j = json_loads(cgi_body(&out), 0, NULL);
    *pg_ok = j && strcmp(json_string_value(json_object_get(j, "postgres")) ?
                             json_string_value(json_object_get(j, "postgres")) : "", "ok") == 0;
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
    proc_stop(&g_proxy, SIGKILL);
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
            sleep_ms(100);
    }
    ck_assert_msg(good >= 4, "the API did not recover within 20 s");
    ck_assert_int_eq(kill(g_api_pg, 0), 0); /* never restarted */
}
END_TEST

static void expect_ok_burst(int n)
{
    for (int i = 0; i < n; i++) {
        http_res r;
        req(&r, "GET", "/api/health-check", NULL, NULL, 0);
        ck_assert_msg(r.status == 200, "request %d: %ld %s", i, r.status, buf_cstr(&r.body));
        res_free(&r);
    }
}

START_TEST(test_worker_killed)
{
    pid_t before[8], after[8];
    size_t nb = children(g_api, before, 8);
    ck_assert_uint_eq(nb, 2);
    ck_assert_int_eq(kill(before[0], SIGKILL), 0);
    sleep_ms(50);
    expect_ok_burst(20);
    size_t na = 0;
    for (int i = 0; i < 60 && na != 2; i++) {
        sleep_ms(100);
        na = children(g_api, after, 8);
    }
    ck_assert_uint_eq(na, 2);
    ck_assert(after[0] != before[0] && after[1] != before[0]);
    expect_ok_burst(20);
}
END_TEST

START_TEST(test_sighup_rolling)
{
    pid_t before[8], after[8];
    size_t nb = children(g_api, before, 8);
    ck_assert_uint_eq(nb, 2);
    ck_assert_int_eq(kill(g_api, SIGHUP), 0);
    /* Keep asking while the workers are replaced one by one. */
    for (int i = 0; i < 40; i++) {
        expect_ok_burst(1);
        sleep_ms(20);
    }
    size_t na = 0;
    bool replaced = false;
    for (int i = 0; i < 50 && !replaced; i++) {
        na = children(g_api, after, 8);
        replaced = na == 2;
        for (size_t a = 0; a < na && replaced; a++)
            for (size_t b = 0; b < nb; b++)
                if (after[a] == before[b])
                    replaced = false;
        if (!replaced)
            sleep_ms(100);
    }
    ck_assert_msg(replaced, "the workers were not all replaced");
    expect_ok_burst(10);
}
END_TEST

START_TEST(test_sigterm_drain)
{
    char sock[600], log[600];
    snprintf(sock, sizeof sock, "%s/drain.sock", g_dir);
    snprintf(log, sizeof log, "%s/api-drain.log", g_dir);
    char table[100];
    snprintf(table, sizeof table, "CRUDDUR_DDB_TABLE=%s", g_table);
    const char *env[] = { table, NULL };
    pid_t api = api_start(sock, log, env);
    ck_assert_int_gt(api, 0);

    /* A request in hand: headers sent, half of its body still to come. */
    int s = fcgi_connect(sock);
    fcgi_begin(s, "GET", "/api/health-check", 10);
    fcgi_stdin(s, "01234", 5, false);
    sleep_ms(200);
    ck_assert_int_eq(kill(api, SIGTERM), 0);
    sleep_ms(500);
    ck_assert_int_eq(waitpid(api, NULL, WNOHANG), 0); /* still draining */
    fcgi_stdin(s, "56789", 5, true);
    buf out;
    buf_init(&out, 0);
    fcgi_read(s, &out);
    close(s);
    ck_assert_ptr_nonnull(strstr(buf_cstr(&out), "Status: 200"));
    ck_assert_str_eq(cgi_body(&out), "{\"success\":true}");
    buf_cleanup(&out);

    int status = -1;
    for (int i = 0; i < 100; i++) {
        if (waitpid(api, &status, WNOHANG) == api)
            break;
        sleep_ms(50);
    }
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "master status %d", status);
    struct stat st;
    ck_assert_int_ne(stat(sock, &st), 0); /* the socket file is removed */
}
END_TEST

/* ---- setup and teardown --------------------------------------------------------------- */

static ddb *g_ddb;

static void teardown_all(void)
{
    proc_stop(&g_nginx, SIGTERM);
    proc_stop(&g_api, SIGTERM);
    proc_stop(&g_api_nodb, SIGTERM);
    proc_stop(&g_api_pg, SIGTERM);
    proc_stop(&g_proxy, SIGKILL);
    if (g_ddb && g_table[0]) {
        ddb_error err;
        ddb_error_clear(&err);
        ddb_delete_table(g_ddb, g_table, &err);
    }
    ddb_free(g_ddb);
    g_ddb = NULL;
    if (g_dir[0] && !getenv("LIVE_API_KEEP")) {
        char cmd[400];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", g_dir);
    }
}

static int setup_all(void)
{
    live_ddb_endpoint();
    pg_require();
    const char *b = getenv("CR_BUILDDIR");
    snprintf(g_builddir, sizeof g_builddir, "%s", b && *b ? b : ".");
    snprintf(g_dir, sizeof g_dir, "/tmp/cr-live-api-XXXXXX");
    if (!mkdtemp(g_dir))
        return -1;
    chmod(g_dir, 0755); /* nginx workers (root or nobody) reach the sockets */

    /* The table the deep health check describes. */
    live_name("live-api", g_table);
    errinfo e;
    g_ddb = ddb_new(NULL, &e);
    if (!g_ddb)
        return -1;
    json_t *def = json_pack("{s:s, s:[{s:s, s:s}], s:[{s:s, s:s}], s:s}", "TableName", g_table,
                            "AttributeDefinitions", "AttributeName", "pk", "AttributeType", "S",
                            "KeySchema", "AttributeName", "pk", "KeyType", "HASH",
                            "BillingMode", "PAY_PER_REQUEST");
    ddb_error err;
    ddb_error_clear(&err);
    int rc = ddb_create_table(g_ddb, def, NULL, &err);
    json_decref(def);
    if (rc != 0) {
        fprintf(stderr, "create table: %s\n", err.info.msg);
        g_table[0] = '\0';
        return -1;
    }

    /* A dev key so the API has a key set to trust (no token tests here). */
    char keydir[400], jwks[500];
    snprintf(keydir, sizeof keydir, "%s/devkey", g_dir);
    if (devkey_generate(keydir, NULL, &e) != 0) {
        fprintf(stderr, "devkey: %s\n", e.msg);
        return -1;
    }
    snprintf(jwks, sizeof jwks, "CRUDDUR_JWKS_URL=%s/devkey/jwks.json", g_dir);
    static char jwks_env[600], table_env[100];
    snprintf(jwks_env, sizeof jwks_env, "%s", jwks);
    snprintf(table_env, sizeof table_env, "CRUDDUR_DDB_TABLE=%s", g_table);
    setenv("AWS_COGNITO_USER_POOL_ID", "us-east-1_CruddurLocal", 1);
    setenv("AWS_COGNITO_USER_POOL_CLIENT_ID", "cruddurlocalclient", 1);
    setenv("FRONTEND_URL", "http://localhost:3000", 1);

    char log[600];
    snprintf(g_sock, sizeof g_sock, "%s/api.sock", g_dir);
    snprintf(log, sizeof log, "%s/api.log", g_dir);
    const char *env_a[] = { jwks_env, table_env, NULL };
    g_api = api_start(g_sock, log, env_a);
    if (g_api < 0) {
        fprintf(stderr, "cruddur-api did not start (log: %s)\n", log);
        return -1;
    }
    snprintf(g_sock_nodb, sizeof g_sock_nodb, "%s/api-nodb.sock", g_dir);
    snprintf(log, sizeof log, "%s/api-nodb.log", g_dir);
    const char *env_b[] = { jwks_env, table_env, "AWS_ENDPOINT_URL=http://127.0.0.1:1",
                            "CRUDDUR_DDB_MAX_ATTEMPTS=1", NULL };
    g_api_nodb = api_start(g_sock_nodb, log, env_b);
    if (g_api_nodb < 0) {
        fprintf(stderr, "cruddur-api (DynamoDB down) did not start (log: %s)\n", log);
        return -1;
    }
    /* api C: Postgres through a TCP proxy the outage test can cut */
    PQconninfoOption *po = PQconninfoParse(pg_require(), NULL);
    g_pg_port = 5432;
    for (PQconninfoOption *o = po; o && o->keyword; o++)
        if (strcmp(o->keyword, "port") == 0 && o->val && *o->val)
            g_pg_port = atoi(o->val); /* test code: the URL is script/test's */
    const char *dbname = "cruddur";
    for (PQconninfoOption *o = po; o && o->keyword; o++)
        if (strcmp(o->keyword, "dbname") == 0 && o->val && *o->val)
            dbname = o->val;
    g_proxy_port = free_port();
    g_proxy = proxy_start(g_proxy_port, g_pg_port);
    static char pg_env[4400];
    char extra[64], ci[4200];
    snprintf(extra, sizeof extra, "host=127.0.0.1 port=%d", g_proxy_port);
    pg_conninfo(dbname, extra, ci, sizeof ci);
    PQconninfoFree(po);
    snprintf(pg_env, sizeof pg_env, "CONNECTION_URL=%s", ci);
    snprintf(g_sock_pg, sizeof g_sock_pg, "%s/api-pg.sock", g_dir);
    snprintf(log, sizeof log, "%s/api-pg.log", g_dir);
    const char *env_c[] = { jwks_env, table_env, pg_env, NULL };
    g_api_pg = g_proxy > 0 ? api_start(g_sock_pg, log, env_c) : -1;
    if (g_api_pg < 0) {
        fprintf(stderr, "cruddur-api (Postgres behind a proxy) did not start (log: %s)\n", log);
        return -1;
    }
    g_port = free_port();
    g_nginx = nginx_start(g_dir, g_port, g_sock);
    if (g_nginx < 0) {
        fprintf(stderr, "nginx did not start (log: %s/logs/error.log)\n", g_dir);
        return -1;
    }
    return 0;
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
    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (setup_all() != 0) {
        teardown_all();
        printf("1..1\nnot ok 1 - live_api setup failed (see above)\n");
        return 1;
    }
    int rc = tap_run(live_api_suite());
    teardown_all();
    curl_global_cleanup();
    return rc;
}
