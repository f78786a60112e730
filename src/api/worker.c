/* worker.c — a cruddur-api worker: builds its api_ctx from the environment, then serves
 * FastCGI requests one at a time with the reentrant FCGX_* API until told to stop. */
#include "config.h"
#include "api/worker.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fcgiapp.h>
#include <jansson.h>

#include "api/metrics.h"
#include "api/router.h"
#include "aws/cognito.h"
#include "base/clock.h"
#include "base/env.h"
#include "base/hex.h"
#include "base/log.h"
#include "base/rnd.h"
#include "messaging/messaging.h"

#define WORKER_PG_BACKOFF_MIN_MS 250
#define WORKER_PG_BACKOFF_MAX_MS 5000
#define WORKER_DRAIN_MAX (1024 * 1024) /* input discarded after a 413, at most */

struct worker {
    api_ctx ctx;
    bool connect;
    buf issuer;
    buf jwks_source;
    int64_t pg_next_try_ms; /* monotonic; when ctx.pg is NULL */
    int64_t pg_backoff_ms;
    bool unix_listen; /* FastCGI over a unix socket: close without draining */
    creds *aws_creds; /* shared by ctx.db and ctx.health_db */
};

static volatile sig_atomic_t worker_stop;

static void worker_on_signal(int sig)
{
    (void)sig;
    worker_stop = 1;
}

/* ---- lifecycle ----------------------------------------------------------------------- */

static void worker_pg_try(worker *w, bool log_failure)
{
    errinfo e;
    w->ctx.pg = users_open(NULL, &e);
    int64_t now = clock_mono_ms();
    if (w->ctx.pg) {
        if (w->pg_backoff_ms > 0)
            log_msg(LOG_INFO, "postgres_connected", "PostgreSQL is reachable again");
        w->pg_backoff_ms = 0;
        return;
    }
    w->pg_backoff_ms = w->pg_backoff_ms == 0 ? WORKER_PG_BACKOFF_MIN_MS : w->pg_backoff_ms * 2;
    if (w->pg_backoff_ms > WORKER_PG_BACKOFF_MAX_MS)
        w->pg_backoff_ms = WORKER_PG_BACKOFF_MAX_MS;
    w->pg_next_try_ms = now + w->pg_backoff_ms;
    metrics_count(w->ctx.metrics_slot, METRICS_PG_ERRORS);
    if (log_failure)
        log_msg(LOG_WARN, "postgres_unavailable", "%s (answering 503; retrying)", e.msg);
}

worker *worker_new(const worker_options *o, errinfo *e)
{
    worker *w = calloc(1, sizeof *w);
    if (!w) {
        errinfo_nomem(e);
        return NULL;
    }
    buf_init(&w->issuer, 1024);
    buf_init(&w->jwks_source, 4096);
    w->connect = o && o->connect;

    const char *pool = env_str("AWS_COGNITO_USER_POOL_ID");
    const char *client = env_str("AWS_COGNITO_USER_POOL_CLIENT_ID");
    if (!pool) {
        errinfo_set(e, ERR_CONFIG,
                    "AWS_COGNITO_USER_POOL_ID is not set (the Cognito user pool "
                    "whose tokens the API accepts; script/server sets a local one)");
        goto fail;
    }
    if (!client) {
        errinfo_set(e, ERR_CONFIG,
                    "AWS_COGNITO_USER_POOL_CLIENT_ID is not set (the app client "
                    "id tokens must carry; script/server sets a local one)");
        goto fail;
    }
    if (jwt_issuer_for_pool(NULL, pool, &w->issuer, e) != 0)
        goto fail;
    const char *src = env_str("CRUDDUR_JWKS_URL");
    if (src ? buf_append_str(&w->jwks_source, src) != 0
            : jwks_url_for_pool(NULL, pool, &w->jwks_source, e) != 0) {
        if (src)
            errinfo_set(e, ERR_CONFIG, "CRUDDUR_JWKS_URL is too long");
        goto fail;
    }
    jwks_options jo = { .source = buf_cstr(&w->jwks_source) };
    w->ctx.keys = jwks_new(&jo, e);
    if (!w->ctx.keys)
        goto fail;
    jwt_expect_init(&w->ctx.expect, buf_cstr(&w->issuer), client);
    w->ctx.table = messaging_table();
    size_t n = 0;
    const char *fe = env_str("FRONTEND_URL"), *be = env_str("BACKEND_URL");
    if (fe)
        w->ctx.cors_origins[n++] = fe;
    if (be)
        w->ctx.cors_origins[n++] = be;
    w->ctx.cors_origins[n] = NULL;

    w->aws_creds = creds_new(NULL);
    if (!w->aws_creds) {
        errinfo_nomem(e);
        goto fail;
    }
    if (o && o->metrics) {
        w->ctx.metrics = o->metrics;
        w->ctx.metrics_slot = metrics_slot_at(o->metrics, o->metrics_slot);
    }
    w->ctx.metrics_allow = env_str("CRUDDUR_METRICS_ALLOW");
    ddb_options dopt = { .credentials = w->aws_creds,
                         .observe = metrics_ddb,
                         .observe_arg = w->ctx.metrics_slot };
    w->ctx.db = ddb_new(&dopt, e);
    if (!w->ctx.db)
        goto fail;
    /* The deep health check answers within about a second, whatever DynamoDB does: one
     * attempt, no retries (a caller that wants retries asks again). */
    ddb_options hopt = { .credentials = w->aws_creds,
                         .connect_timeout_ms = 500,
                         .timeout_ms = 1000,
                         .retry = { .max_attempts = 1, .base_ms = 25, .cap_ms = 25 } };
    w->ctx.health_db = ddb_new(&hopt, e);
    if (!w->ctx.health_db)
        goto fail;
    w->ctx.health_allow = env_str("CRUDDUR_HEALTH_ALLOW");
    if (env_long("CRUDDUR_HEALTH_CACHE_MS", 0, 60000, 5000, &w->ctx.health_cache_ms, e) != 0)
        goto fail;
    /* Users provisioned just in time (provision.c). Off with CRUDDUR_PROVISION_USERS=0, and
     * off for development tokens (CRUDDUR_JWKS_URL set) unless a Cognito endpoint override
     * (a local stand-in) is set: the real Cognito cannot know such a token, and a local
     * stack must send nothing there. */
    long prov;
    if (env_long("CRUDDUR_PROVISION_USERS", 0, 1, 1, &prov, e) != 0)
        goto fail;
    if (prov && (!src || env_str("AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER"))) {
        cognito_options co = { .pool_id = pool,
                               .connect_timeout_ms = 1000,
                               .timeout_ms = 2000,
                               .retry = { .max_attempts = 2, .base_ms = 25, .cap_ms = 100 } };
        if (!(w->ctx.cognito = cognito_new(&co, e)))
            goto fail;
    }
    if (w->connect)
        worker_pg_try(w, true);
    return w;
fail:
    worker_free(w);
    return NULL;
}

void worker_free(worker *w)
{
    if (!w)
        return;
    api_user_cache_free(&w->ctx);
    users_close(w->ctx.pg);
    ddb_free(w->ctx.db);
    ddb_free(w->ctx.health_db);
    cognito_free(w->ctx.cognito);
    creds_free(w->aws_creds);
    jwks_free(w->ctx.keys);
    buf_cleanup(&w->issuer);
    buf_cleanup(&w->jwks_source);
    free(w);
}

api_ctx *worker_ctx(worker *w)
{
    return &w->ctx;
}

/* ---- pure helpers -------------------------------------------------------------------- */

void worker_request_id(const char *incoming, char out[40])
{
    if (incoming) {
        size_t n = strlen(incoming);
        bool ok = n >= 8 && n <= 36;
        for (size_t i = 0; ok && i < n; i++) {
            char c = incoming[i];
            ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '-' || c == '_' || c == '.';
        }
        if (ok) {
            memcpy(out, incoming, n + 1);
            return;
        }
    }
    /* a correlation id, not a secret: the process's generator, no system call */
    unsigned char r[16];
    uint64_t a = rnd_u64(), b = rnd_u64();
    memcpy(r, &a, 8);
    memcpy(r + 8, &b, 8);
    hex_encode(r, 16, out);
}

void worker_split_uri(const char *uri, strv *path, strv *query)
{
    const char *q = uri ? strchr(uri, '?') : NULL;
    if (!uri) {
        *path = STRV_EMPTY;
        *query = STRV_EMPTY;
    } else if (q) {
        *path = (strv){ uri, (size_t)(q - uri) };
        *query = strv_from(q + 1);
    } else {
        *path = strv_from(uri);
        *query = STRV_EMPTY;
    }
}

int worker_content_length(const char *s, long long *n)
{
    *n = 0;
    if (!s || !*s)
        return 0;
    long long v = 0;
    size_t i = 0;
    for (; s[i]; i++) {
        if (s[i] < '0' || s[i] > '9' || i >= 12)
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *n = v;
    return 0;
}

const char *worker_reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 422: return "Unprocessable Entity";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    }
    return "Unknown";
}

/* Whether s may go into a header value as is (visible ASCII and spaces, no CR/LF). */
static bool worker_header_safe(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
            return false;
    return true;
}

/* Appends "Name: value\r\n". */
static void worker_header(buf *out, const char *name, const char *value)
{
    buf_append_str(out, name);
    buf_append(out, ": ", 2);
    buf_append_str(out, value);
    buf_append(out, "\r\n", 2);
}

int worker_format_head(const api_ctx *ctx, const api_request *req, const api_response *resp,
                       buf *out)
{
    int st = resp->status >= 100 && resp->status <= 599 ? resp->status : 500;
    char status[48] = { (char)('0' + st / 100), (char)('0' + st / 10 % 10), (char)('0' + st % 10),
                        ' ' };
    const char *reason = worker_reason(st); /* a literal of at most 21 characters */
    memcpy(status + 4, reason, strlen(reason) + 1);
    worker_header(out, "Status", status);
    if (st != 204)
        worker_header(out, "Content-Type",
                      resp->content_type ? resp->content_type : "application/json; charset=utf-8");
    if (req->request_id[0] && worker_header_safe(req->request_id))
        worker_header(out, "X-Request-Id", req->request_id);
    if (resp->next_cursor[0] && worker_header_safe(resp->next_cursor))
        worker_header(out, "X-Next-Cursor", resp->next_cursor);
    if (resp->allow && worker_header_safe(resp->allow))
        worker_header(out, "Allow", resp->allow);
    buf_append_str(out, "X-Content-Type-Options: nosniff\r\n"
                        "Cache-Control: no-store\r\n"
                        "Referrer-Policy: no-referrer\r\n");
    if (router_cors_allowed(ctx, req->origin) && worker_header_safe(req->origin)) {
        worker_header(out, "Access-Control-Allow-Origin", req->origin);
        buf_append_str(out, "Vary: Origin\r\n");
        if (st == 204 && req->method && strcmp(req->method, "OPTIONS") == 0)
            buf_append_str(out, "Access-Control-Allow-Methods: " ROUTER_CORS_METHODS "\r\n"
                                "Access-Control-Allow-Headers: " ROUTER_CORS_HEADERS "\r\n"
                                "Access-Control-Max-Age: " ROUTER_CORS_MAX_AGE "\r\n");
        else
            buf_append_str(out, "Access-Control-Expose-Headers: X-Request-Id, X-Next-Cursor\r\n");
    } else if (req->origin) {
        buf_append_str(out, "Vary: Origin\r\n");
    }
    buf_append_str(out, "\r\n");
    return out->failed ? -1 : 0;
}

/* ---- the accept loop ----------------------------------------------------------------- */

/* Reads up to want bytes of the body into b; returns what was read. */
static size_t worker_read_body(FCGX_Stream *in, buf *b, size_t want)
{
    char chunk[4096];
    while (b->len < want) {
        size_t n = want - b->len < sizeof chunk ? want - b->len : sizeof chunk;
        int got = FCGX_GetStr(chunk, (int)n, in);
        if (got <= 0)
            break;
        if (buf_append(b, chunk, (size_t)got) != 0)
            break;
    }
    return b->len;
}

static void worker_drain(FCGX_Stream *in)
{
    char chunk[4096];
    size_t total = 0;
    int got;
    while (total < WORKER_DRAIN_MAX && (got = FCGX_GetStr(chunk, sizeof chunk, in)) > 0)
        total += (size_t)got;
}

/* Whether the request's input is read to its end marker, so the web server has nothing left
 * to send (nginx writes the end right after the body: normally no system call). */
static bool worker_input_done(FCGX_Stream *in)
{
    char c;
    return FCGX_GetStr(&c, 1, in) == 0 && FCGX_HasSeenEOF(in) == EOF;
}

/* The request line, once per request: written without allocating (log_line). */
static void worker_log(const api_request *req, const char *pattern, const api_response *resp,
                       int64_t duration_us)
{
    log_line l;
    log_line_begin(&l, LOG_INFO, "request");
    log_line_str(&l, "request_id", req->request_id);
    log_line_str(&l, "method", req->method ? req->method : "");
    log_line_str(&l, "route", pattern && *pattern ? pattern : "-");
    log_line_int(&l, "status", resp->status);
    log_line_int(&l, "duration_us", duration_us);
    log_line_str(&l, "user", resp->user_uuid[0] ? resp->user_uuid : NULL);
    log_line_end(&l);
}

#define WORKER_REPLY_KEEP (64 * 1024) /* answer buffer kept for the next request, at most */

/* The FastCGI parameters a request reads. */
enum {
    WP_METHOD,
    WP_URI,
    WP_DOCUMENT_URI,
    WP_SCRIPT_NAME,
    WP_QUERY_STRING,
    WP_AUTHORIZATION,
    WP_ORIGIN,
    WP_IDEMPOTENCY_KEY,
    WP_CONTENT_TYPE,
    WP_REMOTE_ADDR,
    WP_REQUEST_ID,
    WP_CONTENT_LENGTH,
    WP_COUNT
};

typedef struct worker_params {
    const char *v[WP_COUNT]; /* into the request's parameters; NULL when absent */
} worker_params;

/* Fills p from one pass over envp ("NAME=value" strings), where FCGX_GetParam would scan
 * all of them once per name; the first of a repeated name wins, as with FCGX_GetParam. */
static void worker_params_read(char **envp, worker_params *p)
{
    static const strv names[WP_COUNT] = {
        [WP_METHOD] = STRV("REQUEST_METHOD"),
        [WP_URI] = STRV("REQUEST_URI"),
        [WP_DOCUMENT_URI] = STRV("DOCUMENT_URI"),
        [WP_SCRIPT_NAME] = STRV("SCRIPT_NAME"),
        [WP_QUERY_STRING] = STRV("QUERY_STRING"),
        [WP_AUTHORIZATION] = STRV("HTTP_AUTHORIZATION"),
        [WP_ORIGIN] = STRV("HTTP_ORIGIN"),
        [WP_IDEMPOTENCY_KEY] = STRV("HTTP_IDEMPOTENCY_KEY"),
        [WP_CONTENT_TYPE] = STRV("CONTENT_TYPE"),
        [WP_REMOTE_ADDR] = STRV("REMOTE_ADDR"),
        [WP_REQUEST_ID] = STRV("HTTP_X_REQUEST_ID"),
        [WP_CONTENT_LENGTH] = STRV("CONTENT_LENGTH"),
    };
    memset(p, 0, sizeof *p);
    for (char **e = envp; e && *e; e++) {
        const char *eq = strchr(*e, '=');
        if (!eq)
            continue;
        strv name = { *e, (size_t)(eq - *e) };
        for (size_t i = 0; i < WP_COUNT; i++)
            if (!p->v[i] && strv_eq(names[i], name)) {
                p->v[i] = eq + 1;
                break;
            }
    }
}

/* One request: body is the request body's buffer, head the answer head's and reply the
 * answer body's; all three keep their memory for the next request. */
static void worker_handle(worker *w, FCGX_Request *fr, buf *body, buf *head, buf *reply)
{
    int64_t t0 = clock_mono_us();
    api_request req;
    api_response resp;
    memset(&req, 0, sizeof req);
    api_response_init(&resp);
    resp.body = *reply; /* the memory of the last answer, emptied */
    buf_reset(&resp.body);
    buf_reset(body);
    buf_reset(head);

    worker_params prm;
    worker_params_read(fr->envp, &prm);
    req.method = prm.v[WP_METHOD];
    const char *uri = prm.v[WP_URI];
    if (uri && *uri) {
        worker_split_uri(uri, &req.path, &req.query);
    } else {
        const char *doc = prm.v[WP_DOCUMENT_URI];
        if (!doc || !*doc)
            doc = prm.v[WP_SCRIPT_NAME];
        req.path = strv_from(doc);
        req.query = strv_from(prm.v[WP_QUERY_STRING]);
    }
    req.authorization = prm.v[WP_AUTHORIZATION];
    req.origin = prm.v[WP_ORIGIN];
    req.idempotency_key = prm.v[WP_IDEMPOTENCY_KEY];
    req.content_type = prm.v[WP_CONTENT_TYPE];
    req.remote_addr = prm.v[WP_REMOTE_ADDR];
    worker_request_id(prm.v[WP_REQUEST_ID], req.request_id);
    if (!req.method)
        req.method = "";

    const char *pattern = "";
    long long clen = 0;
    if (worker_content_length(prm.v[WP_CONTENT_LENGTH], &clen) != 0) {
        api_error(&resp, 400, "bad_request", "Content-Length is not a number");
    } else if (clen > API_BODY_MAX) {
        router_match m;
        router_find(req.method, req.path, &m);
        pattern = m.pattern;
        worker_drain(fr->in);
        api_error(&resp, 413, "body_too_large", "the request body is over %d bytes", API_BODY_MAX);
    } else if (worker_read_body(fr->in, body, (size_t)clen) < (size_t)clen) {
        api_error(&resp, 400, "bad_request", "the request body ended early");
    } else {
        req.body = buf_view(body);
        if (!w->ctx.pg && w->connect && clock_mono_ms() >= w->pg_next_try_ms)
            worker_pg_try(w, w->pg_backoff_ms == 0);
        router_dispatch(&w->ctx, &req, &resp, &pattern);
    }
    if (resp.body.failed)
        api_error(&resp, 500, "internal", "response too large");

    if (worker_format_head(&w->ctx, &req, &resp, head) != 0) {
        buf_reset(head);
        buf_append_str(head, "Status: 500 Internal Server Error\r\n"
                             "Content-Type: application/json; charset=utf-8\r\n\r\n");
    }
    FCGX_PutStr(head->data ? head->data : "", (int)head->len, fr->out);
    /* HEAD: the GET's head, no body. */
    if (resp.status != 204 && resp.body.len > 0 && strcmp(req.method, "HEAD") != 0)
        FCGX_PutStr(resp.body.data, (int)resp.body.len, fr->out);
    int64_t dur = clock_mono_us() - t0;
    /* req's strings point into fr's parameters, which FCGX_Finish_r frees. */
    char method[16];
    strv_copy((strv){ req.method, strnlen(req.method, sizeof method - 1) }, method, sizeof method);
    req.method = method;
    req.authorization = req.origin = req.idempotency_key = req.content_type = NULL;
    req.remote_addr = NULL;
    /* libfcgi closes a connection by shutting down its side and reading until nginx closes
     * (up to 2 s), so that a TCP reset cannot destroy the answer and nginx can finish
     * sending. A unix socket has no resets: what was written stays readable after close. So
     * once nginx has sent everything, the worker skips the wait (a detached request is
     * closed without it) and takes the next connection at once. */
    if (w->unix_listen && worker_input_done(fr->in))
        FCGX_Detach(fr);
    FCGX_Finish_r(fr);
    metrics_request(w->ctx.metrics_slot, pattern, resp.status, dur);
    worker_log(&req, pattern, &resp, dur);
    if (resp.body.cap > WORKER_REPLY_KEEP)
        api_response_cleanup(&resp);
    *reply = resp.body;
}

int worker_run(worker *w, int listen_fd, int ready_fd)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = worker_on_signal; /* no SA_RESTART: accept() returns EINTR */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGPIPE, &sa, NULL);
    sigset_t all;
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);

    FCGX_Request fr;
    if (FCGX_InitRequest(&fr, listen_fd, FCGI_FAIL_ACCEPT_ON_INTR) != 0) {
        log_msg(LOG_ERROR, "worker_failed", "FCGX_InitRequest failed");
        return 1;
    }
    struct sockaddr_storage sa_listen;
    socklen_t sl = sizeof sa_listen;
    w->unix_listen = getsockname(listen_fd, (struct sockaddr *)&sa_listen, &sl) == 0 &&
                     sa_listen.ss_family == AF_UNIX;
    buf body, head, reply;
    buf_init(&body, API_BODY_MAX);
    buf_init(&head, 8192);
    api_response reply_init;
    api_response_init(&reply_init); /* the answers' cap */
    reply = reply_init.body;
    if (ready_fd >= 0) {
        ssize_t wr;
        do
            wr = write(ready_fd, "r", 1);
        while (wr < 0 && errno == EINTR);
        close(ready_fd);
    }
    /* SIGTERM is blocked while a request is in hand (so no read or write of it is cut
     * short) and delivered between requests, where it stops the loop; while blocked in
     * accept() it interrupts it (FCGI_FAIL_ACCEPT_ON_INTR). */
    sigset_t term;
    sigemptyset(&term);
    sigaddset(&term, SIGTERM);
    sigaddset(&term, SIGINT);
    int rc = 0, failures = 0;
    while (!worker_stop) {
        if (FCGX_Accept_r(&fr) < 0) {
            if (worker_stop)
                break;
            if (errno == EINTR)
                continue;
            /* A connection that broke before its request arrived is its own problem; a
             * listening socket that keeps failing is ours. */
            if (++failures >= 100) {
                log_msg(LOG_ERROR, "worker_failed", "accept keeps failing: %s", strerror(errno));
                rc = 1;
                break;
            }
            clock_sleep_ms(10);
            continue;
        }
        failures = 0;
        sigprocmask(SIG_BLOCK, &term, NULL);
        worker_handle(w, &fr, &body, &head, &reply);
        sigprocmask(SIG_UNBLOCK, &term, NULL);
    }
    FCGX_Free(&fr, 0);
    buf_cleanup(&body);
    buf_cleanup(&head);
    buf_cleanup(&reply);
    return rc;
}
