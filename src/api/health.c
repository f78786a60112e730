/* health.c — GET /api/health-check: {"success": true}; with ?deep=1 it also checks Postgres
 * (one round trip) and DynamoDB (DescribeTable of the table) and answers 503 when either is
 * down. */
#include "config.h"
#include "api/api.h"

#include <stdlib.h>

#include <jansson.h>

/* Whether query (a=b&c=d, undecoded) holds deep=1 (or deep=true). */
static bool health_is_deep(strv q)
{
    size_t pos = 0;
    while (pos <= q.len) {
        size_t end = pos;
        while (end < q.len && q.ptr[end] != '&')
            end++;
        strv kv = { q.ptr + pos, end - pos };
        if (strv_eq_cstr(kv, "deep=1") || strv_eq_cstr(kv, "deep=true"))
            return true;
        pos = end + 1;
    }
    return false;
}

static const char *health_ddb(api_ctx *ctx)
{
    if (!ctx->db || !ctx->table)
        return "unconfigured";
    json_t *desc = NULL;
    ddb_error err;
    ddb_error_clear(&err);
    int rc = ddb_describe_table(ctx->db, ctx->table, &desc, &err);
    json_decref(desc);
    if (rc == 0)
        return "ok";
    if (ddb_error_is(&err, "ResourceNotFoundException"))
        return "table missing";
    if (err.fail == HTTP_FAIL_CONNECT || err.fail == HTTP_FAIL_TIMEOUT)
        return "unreachable";
    return "error";
}

int api_health(api_ctx *ctx, api_request *req, api_response *resp, const strv *params)
{
    (void)params;
    buf_reset(&resp->body);
    if (!health_is_deep(req->query)) {
        resp->status = 200;
        return buf_append_str(&resp->body, "{\"success\":true}") == 0 ? 0 : -1;
    }
    const char *pg = ctx && ctx->pg && users_ping(ctx->pg) ? "ok" : "unreachable";
    const char *dd = ctx ? health_ddb(ctx) : "unconfigured";
    bool ok = pg[0] == 'o' && dd[0] == 'o';
    json_t *o = json_pack("{s:b, s:s, s:s}", "success", ok, "postgres", pg, "dynamodb", dd);
    char *text = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(o);
    int rc = text && buf_append_str(&resp->body, text) == 0 ? 0 : -1;
    free(text);
    resp->status = ok ? 200 : 503;
    return rc;
}
