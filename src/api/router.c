/* router.c — the API's route table: method + path → handler, with 404, 405 (+ Allow), 400
 * for a malformed uuid in the path, and the CORS preflight answered here. */
#include "config.h"
#include "api/router.h"

#include <string.h>

#include "api/metrics.h"
#include "base/uuid.h"

enum seg_kind {
    SEG_END,
    SEG_LIT,
    SEG_UUID,
    SEG_HANDLE
};

typedef struct route_seg {
    enum seg_kind kind;
    const char *lit;
} route_seg;

typedef struct route_def {
    const char *method;
    const char *pattern;
    const char *allow;
    api_handler handler;
    bool needs_backend;
    route_seg segs[6];
} route_def;

#define LIT(s)                                                                                     \
    {                                                                                              \
        SEG_LIT, (s)                                                                               \
    }
#define END                                                                                        \
    {                                                                                              \
        SEG_END, NULL                                                                              \
    }

/* One entry per method and path; entries sharing a path must share its allow string. */
static const route_def router_table[] = {
    { "GET",
      "/api/health-check",
      "GET, HEAD, OPTIONS",
      api_health,
      false,
      { LIT("api"), LIT("health-check"), END } },
    { "HEAD",
      "/api/health-check",
      "GET, HEAD, OPTIONS",
      api_health,
      false,
      { LIT("api"), LIT("health-check"), END } },
    { "GET",
      "/api/message_groups",
      "GET, OPTIONS",
      api_message_groups_list,
      true,
      { LIT("api"), LIT("message_groups"), END } },
    { "GET",
      "/api/messages/{uuid}",
      "GET, OPTIONS",
      api_messages_list,
      true,
      { LIT("api"), LIT("messages"), { SEG_UUID, NULL }, END } },
    { "POST",
      "/api/messages",
      "POST, OPTIONS",
      api_messages_create,
      true,
      { LIT("api"), LIT("messages"), END } },
    { "GET",
      "/api/users/@{handle}/short",
      "GET, OPTIONS",
      api_users_short,
      true,
      { LIT("api"), LIT("users"), { SEG_HANDLE, NULL }, LIT("short"), END } },
    { "GET", "/metrics", "GET", api_metrics, false, { LIT("metrics"), END } },
};
#define ROUTER_N (sizeof router_table / sizeof router_table[0])

/* Whether path matches r's segments; params filled; *bad_param when only a parameter's
 * shape is wrong. */
static bool router_match_path(const route_def *r, strv path, strv *params, size_t *np,
                              bool *bad_param)
{
    *np = 0;
    *bad_param = false;
    if (path.len == 0 || path.ptr[0] != '/')
        return false;
    size_t pos = 1;
    for (size_t i = 0;; i++) {
        const route_seg *s = &r->segs[i];
        if (s->kind == SEG_END)
            return pos > path.len;
        if (pos > path.len)
            return false;
        size_t end = pos;
        while (end < path.len && path.ptr[end] != '/')
            end++;
        strv seg = { path.ptr + pos, end - pos };
        switch (s->kind) {
        case SEG_LIT:
            if (!strv_eq_cstr(seg, s->lit))
                return false;
            break;
        case SEG_UUID:
            if (seg.len == 0)
                return false;
            if (!uuid_is_text(seg.ptr, seg.len))
                *bad_param = true;
            params[(*np)++] = seg;
            break;
        case SEG_HANDLE:
            if (seg.len < 2 || seg.ptr[0] != '@')
                return false;
            params[(*np)++] = (strv){ seg.ptr + 1, seg.len - 1 };
            break;
        case SEG_END: break;
        }
        pos = end + 1; /* past the '/' (or one past the end: no more segments) */
    }
}

/* The distinct patterns, in table order (entries of one path are adjacent), found once. */
static const char *router_patterns[ROUTER_N];
static int router_npatterns = -1;

static void router_patterns_init(void)
{
    if (router_npatterns >= 0)
        return;
    int n = 0;
    for (size_t i = 0; i < ROUTER_N; i++)
        if (i == 0 || strcmp(router_table[i].pattern, router_table[i - 1].pattern) != 0)
            router_patterns[n++] = router_table[i].pattern;
    router_npatterns = n;
}

int router_pattern_count(void)
{
    router_patterns_init();
    return router_npatterns;
}

const char *router_pattern_at(int k)
{
    router_patterns_init();
    return k >= 0 && k < router_npatterns ? router_patterns[k] : NULL;
}

int router_pattern_index(const char *pattern)
{
    router_patterns_init();
    for (int k = 0; k < router_npatterns; k++) /* router_find's patterns: the same pointers */
        if (router_patterns[k] == pattern)
            return k;
    for (int k = 0; k < router_npatterns; k++)
        if (strcmp(router_patterns[k], pattern) == 0)
            return k;
    return -1;
}

void router_find(const char *method, strv path, router_match *m)
{
    memset(m, 0, sizeof *m);
    m->result = ROUTER_NOT_FOUND;
    m->pattern = "";
    const route_def *path_hit = NULL;
    for (size_t i = 0; i < ROUTER_N; i++) {
        const route_def *r = &router_table[i];
        strv params[ROUTER_MAX_PARAMS];
        size_t np;
        bool bad;
        if (!router_match_path(r, path, params, &np, &bad))
            continue;
        if (!path_hit)
            path_hit = r;
        if (method && strcmp(method, r->method) == 0) {
            m->result = bad ? ROUTER_BAD_PARAM : ROUTER_FOUND;
            m->pattern = r->pattern;
            m->handler = r->handler;
            m->allow = r->allow;
            m->needs_backend = r->needs_backend;
            memcpy(m->params, params, sizeof params);
            m->nparams = np;
            return;
        }
    }
    if (!path_hit)
        return;
    m->pattern = path_hit->pattern;
    m->allow = path_hit->allow;
    m->result = method && strcmp(method, "OPTIONS") == 0 ? ROUTER_PREFLIGHT : ROUTER_BAD_METHOD;
}

void router_dispatch(api_ctx *ctx, api_request *req, api_response *resp, const char **pattern)
{
    router_match m;
    router_find(req->method, req->path, &m);
    if (pattern)
        *pattern = m.pattern;
    switch (m.result) {
    case ROUTER_NOT_FOUND: api_error(resp, 404, "not_found", "no such resource"); return;
    case ROUTER_PREFLIGHT:
        resp->status = 204;
        buf_reset(&resp->body);
        return;
    case ROUTER_BAD_METHOD:
        resp->allow = m.allow;
        api_error(resp, 405, "method_not_allowed", "%s is not allowed here (allowed: %s)",
                  req->method ? req->method : "?", m.allow);
        return;
    case ROUTER_BAD_PARAM:
        api_error(resp, 400, "bad_uuid", "the conversation id in the path is not a UUID");
        return;
    case ROUTER_FOUND: break;
    }
    if (m.needs_backend && (!ctx || !ctx->pg)) {
        api_error(resp, 503, "unavailable", "the user database is not reachable; try again");
        return;
    }
    if (m.handler(ctx, req, resp, m.params) != 0)
        api_error(resp, 500, "internal", "internal error");
}

void api_route(api_ctx *ctx, api_request *req, api_response *resp)
{
    router_dispatch(ctx, req, resp, NULL);
}

bool router_cors_allowed(const api_ctx *ctx, const char *origin)
{
    if (!ctx || !origin || !*origin)
        return false;
    strv o = strv_from(origin);
    for (size_t i = 0; i < sizeof ctx->cors_origins / sizeof ctx->cors_origins[0]; i++) {
        const char *c = ctx->cors_origins[i];
        if (!c)
            break;
        strv v = strv_from(c);
        while (v.len > 0 && v.ptr[v.len - 1] == '/')
            v.len--;
        if (v.len > 0 && strv_eq(v, o))
            return true;
    }
    return false;
}
