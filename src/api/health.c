/* health.c — GET (or HEAD) /api/health-check: {"success": true, "ver": 1}, as the original
 * Cruddur's prod branch answers; with ?deep=1 it also checks Postgres
 * (one round trip) and DynamoDB (DescribeTable of the table) and answers 503 when either is
 * down. The deep check is for internal callers only (loopback, the FastCGI socket itself,
 * CRUDDUR_HEALTH_ALLOW; 403 for anyone else), runs one DynamoDB attempt with short timeouts
 * (ctx->health_db), and its answer is kept for CRUDDUR_HEALTH_CACHE_MS, so deep checks can
 * neither tie up the workers nor be used to hammer the backends. */
#include "config.h"
#include "api/api.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/clock.h"

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

/* ---- who may ask ----------------------------------------------------------------------- */

/* addr as 16 bytes (IPv4 as ::ffff:a.b.c.d); false when it does not parse. */
static bool health_addr16(const char *addr, unsigned char out[16])
{
    struct in_addr v4;
    if (inet_pton(AF_INET, addr, &v4) == 1) {
        memset(out, 0, 10);
        out[10] = out[11] = 0xff;
        memcpy(out + 12, &v4, 4);
        return true;
    }
    return inet_pton(AF_INET6, addr, out) == 1;
}

/* Whether the first bits bits of a and b agree. */
static bool health_prefix_eq(const unsigned char *a, const unsigned char *b, int bits)
{
    int i = 0;
    for (; bits >= 8; bits -= 8, i++)
        if (a[i] != b[i])
            return false;
    if (bits == 0)
        return true;
    unsigned char mask = (unsigned char)(0xff << (8 - bits));
    return (a[i] & mask) == (b[i] & mask);
}

/* Whether a (16 bytes) lies in the CIDR text cidr (len bytes, "a.b.c.d/n", "x::/n", or one
 * address). */
static bool health_in_cidr(const unsigned char a[16], const char *cidr, size_t len)
{
    char text[64];
    if (len == 0 || !strv_copy((strv){ cidr, len }, text, sizeof text))
        return false;
    char *slash = strchr(text, '/');
    long bits = -1;
    if (slash) {
        *slash = '\0';
        char *end;
        bits = strtol(slash + 1, &end, 10);
        if (slash[1] == '\0' || *end != '\0' || bits < 0)
            return false;
    }
    unsigned char net[16];
    if (!health_addr16(text, net))
        return false;
    bool v4 = strchr(text, ':') == NULL;
    long max = v4 ? 32 : 128;
    if (bits < 0)
        bits = max;
    if (bits > max)
        return false;
    return health_prefix_eq(a, net, (int)(v4 ? bits + 96 : bits));
}

bool api_health_allowed(const char *addr, const char *allow)
{
    if (!addr || !*addr)
        return true;
    unsigned char a[16];
    if (!health_addr16(addr, a))
        return false;
    static const unsigned char loop6[16] = { [15] = 1 };
    static const unsigned char loop4[16] = { [10] = 0xff, [11] = 0xff, [12] = 127 };
    if (memcmp(a, loop6, 16) == 0 || health_prefix_eq(a, loop4, 104))
        return true;
    for (const char *p = allow; p && *p;) {
        while (*p == ',' || *p == ' ' || *p == '\t')
            p++;
        size_t n = strcspn(p, ", \t");
        if (n > 0 && health_in_cidr(a, p, n))
            return true;
        p += n;
    }
    return false;
}

/* ---- the checks ------------------------------------------------------------------------ */

static const char *health_ddb(api_ctx *ctx)
{
    ddb *d = ctx->health_db ? ctx->health_db : ctx->db;
    if (!d || !ctx->table)
        return "unconfigured";
    json_t *desc = NULL;
    ddb_error err;
    ddb_error_clear(&err);
    int rc = ddb_describe_table(d, ctx->table, &desc, &err);
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
        return buf_append_str(&resp->body, "{\"success\":true,\"ver\":1}") == 0 ? 0 : -1;
    }
    if (!api_health_allowed(req->remote_addr, ctx ? ctx->health_allow : NULL))
        return api_error(resp, 403, "forbidden",
                         "the deep health check is for internal callers only "
                         "(loopback or CRUDDUR_HEALTH_ALLOW)");
    int64_t now = clock_mono_ms();
    if (ctx && ctx->health.at_ms > 0 && now - ctx->health.at_ms < ctx->health_cache_ms) {
        resp->status = ctx->health.status;
        return buf_append_str(&resp->body, ctx->health.body) == 0 ? 0 : -1;
    }
    const char *pg = ctx && ctx->pg && users_ping(ctx->pg) ? "ok" : "unreachable";
    const char *dd = ctx ? health_ddb(ctx) : "unconfigured";
    bool ok = pg[0] == 'o' && dd[0] == 'o';
    json_t *o =
        json_pack("{s:b, s:i, s:s, s:s}", "success", ok, "ver", 1, "postgres", pg, "dynamodb", dd);
    char *text = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(o);
    int rc = text && buf_append_str(&resp->body, text) == 0 ? 0 : -1;
    resp->status = ok ? 200 : 503;
    if (rc == 0 && ctx && strlen(text) < sizeof ctx->health.body) {
        memcpy(ctx->health.body, text, strlen(text) + 1);
        ctx->health.status = resp->status;
        ctx->health.at_ms = now > 0 ? now : 1;
    }
    free(text);
    return rc;
}
