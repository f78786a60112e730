/* check_api.c — the pure parts of cruddur-api's FastCGI side: route matching, 404/405/400
 * and preflight decisions, CORS, the response head, the JSON error shape, request ids. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "api/api.h"
#include "api/cursor.h"
#include "api/metrics.h"
#include "api/router.h"
#include "api/tokcache.h"
#include "api/worker.h"
#include "base/base64.h"
#include "ddbscript.h"
#include "support_prom.h"
#include "tap.h"

#define UUID "5f9c2a3e-1b2c-4d5e-8f90-a1b2c3d4e5f6"

static router_match find(const char *method, const char *path)
{
    router_match m;
    router_find(method, strv_from(path), &m);
    return m;
}

/* ---- routing ------------------------------------------------------------------------- */

START_TEST(test_routes_found)
{
    router_match m = find("GET", "/api/health-check");
    ck_assert_int_eq(m.result, ROUTER_FOUND);
    ck_assert_str_eq(m.pattern, "/api/health-check");
    ck_assert(m.handler == api_health);
    ck_assert(!m.needs_backend);

    m = find("HEAD", "/api/health-check");
    ck_assert_int_eq(m.result, ROUTER_FOUND);
    ck_assert(m.handler == api_health);

    m = find("GET", "/api/message_groups");
    ck_assert_int_eq(m.result, ROUTER_FOUND);
    ck_assert(m.handler == api_message_groups_list);
    ck_assert(m.needs_backend);

    m = find("GET", "/api/messages/" UUID);
    ck_assert_int_eq(m.result, ROUTER_FOUND);
    ck_assert_str_eq(m.pattern, "/api/messages/{uuid}");
    ck_assert(m.handler == api_messages_list);
    ck_assert_uint_eq(m.nparams, 1);
    ck_assert(strv_eq_cstr(m.params[0], UUID));

    m = find("POST", "/api/messages");
    ck_assert_int_eq(m.result, ROUTER_FOUND);
    ck_assert(m.handler == api_messages_create);

    m = find("GET", "/api/users/@andrewbrown/short");
    ck_assert_int_eq(m.result, ROUTER_FOUND);
    ck_assert_str_eq(m.pattern, "/api/users/@{handle}/short");
    ck_assert(m.handler == api_users_short);
    ck_assert(strv_eq_cstr(m.params[0], "andrewbrown"));
}
END_TEST

START_TEST(test_routes_not_found)
{
    const char *paths[] = { "",
                            "/",
                            "/api",
                            "/api/",
                            "/api/health-check/",
                            "/api//health-check",
                            "/api/message_groups/x",
                            "/api/messages/",
                            "/api/messages/" UUID "/x",
                            "/api/users/andrew/short",
                            "/api/users/@/short",
                            "/api/users/@a/short/",
                            "/API/health-check",
                            "api/health-check",
                            "/api/health-checkx",
                            "/api/users/@a" };
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        router_match m = find("GET", paths[i]);
        ck_assert_msg(m.result == ROUTER_NOT_FOUND, "%s matched", paths[i]);
        ck_assert_str_eq(m.pattern, "");
    }
}
END_TEST

START_TEST(test_routes_bad_method)
{
    router_match m = find("POST", "/api/health-check");
    ck_assert_int_eq(m.result, ROUTER_BAD_METHOD);
    ck_assert_str_eq(m.allow, "GET, HEAD, OPTIONS");
    m = find("GET", "/api/messages");
    ck_assert_int_eq(m.result, ROUTER_BAD_METHOD);
    ck_assert_str_eq(m.allow, "POST, OPTIONS");
    ck_assert_str_eq(m.pattern, "/api/messages");
    m = find("DELETE", "/api/messages/" UUID);
    ck_assert_int_eq(m.result, ROUTER_BAD_METHOD);
    m = find("HEAD", "/api/message_groups");
    ck_assert_int_eq(m.result, ROUTER_BAD_METHOD);
    m = find(NULL, "/api/message_groups");
    ck_assert_int_eq(m.result, ROUTER_BAD_METHOD);
}
END_TEST

START_TEST(test_routes_bad_uuid)
{
    const char *bad[] = { "/api/messages/not-a-uuid", "/api/messages/" UUID "0",
                          "/api/messages/5f9c2a3e-1b2c-4d5e-8f90-a1b2c3d4e5fg",
                          "/api/messages/5f9c2a3e_1b2c-4d5e-8f90-a1b2c3d4e5f6" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_int_eq(find("GET", bad[i]).result, ROUTER_BAD_PARAM);
    ck_assert_int_eq(find("GET", "/api/messages/5F9C2A3E-1B2C-4D5E-8F90-A1B2C3D4E5F6").result,
                     ROUTER_FOUND);
}
END_TEST

START_TEST(test_routes_preflight)
{
    ck_assert_int_eq(find("OPTIONS", "/api/messages").result, ROUTER_PREFLIGHT);
    ck_assert_int_eq(find("OPTIONS", "/api/messages/" UUID).result, ROUTER_PREFLIGHT);
    ck_assert_int_eq(find("OPTIONS", "/api/nothing").result, ROUTER_NOT_FOUND);
}
END_TEST

/* ---- dispatch: the answers the router gives itself ------------------------------------ */

static void dispatch(api_ctx *ctx, const char *method, const char *path, const char *query,
                     api_response *resp, const char **pattern)
{
    api_request req;
    memset(&req, 0, sizeof req);
    req.method = method;
    req.path = strv_from(path);
    req.query = strv_from(query);
    api_response_init(resp);
    router_dispatch(ctx, &req, resp, pattern);
}

static json_t *body_json(const api_response *r)
{
    json_error_t je;
    json_t *j = json_loadb(r->body.data ? r->body.data : "", r->body.len, 0, &je);
    ck_assert_msg(j != NULL, "body is not JSON: %s", buf_cstr(&r->body));
    return j;
}

static void assert_error(const api_response *r, int status, const char *code)
{
    ck_assert_int_eq(r->status, status);
    json_t *j = body_json(r);
    ck_assert_str_eq(json_string_value(json_object_get(j, "error")), code);
    ck_assert(json_is_string(json_object_get(j, "message")));
    ck_assert_uint_eq(json_object_size(j), 2);
    json_decref(j);
}

START_TEST(test_dispatch_errors)
{
    api_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    api_response r;
    const char *pattern = NULL;

    dispatch(&ctx, "GET", "/api/nope", "", &r, &pattern);
    assert_error(&r, 404, "not_found");
    ck_assert_str_eq(pattern, "");
    api_response_cleanup(&r);

    dispatch(&ctx, "PUT", "/api/messages", "", &r, &pattern);
    assert_error(&r, 405, "method_not_allowed");
    ck_assert_str_eq(r.allow, "POST, OPTIONS");
    ck_assert_str_eq(pattern, "/api/messages");
    api_response_cleanup(&r);

    dispatch(&ctx, "GET", "/api/messages/xyz", "", &r, &pattern);
    assert_error(&r, 400, "bad_uuid");
    api_response_cleanup(&r);

    /* Postgres not connected: authenticated routes answer 503 without a handler. */
    dispatch(&ctx, "GET", "/api/message_groups", "", &r, &pattern);
    assert_error(&r, 503, "unavailable");
    ck_assert_str_eq(pattern, "/api/message_groups");
    api_response_cleanup(&r);

    dispatch(&ctx, "OPTIONS", "/api/message_groups", "", &r, &pattern);
    ck_assert_int_eq(r.status, 204);
    ck_assert_uint_eq(r.body.len, 0);
    api_response_cleanup(&r);
}
END_TEST

/* The deep health check: who may ask. */
START_TEST(test_health_allowed)
{
    static const struct {
        const char *addr, *allow;
        bool ok;
    } cases[] = {
        { NULL, NULL, true }, /* no REMOTE_ADDR: on the FastCGI socket */
        { "", NULL, true },
        { "127.0.0.1", NULL, true },
        { "127.200.3.4", NULL, true },
        { "::1", NULL, true },
        { "::ffff:127.0.0.1", NULL, true },
        { "10.1.2.3", NULL, false },
        { "203.0.113.9", NULL, false },
        { "::2", NULL, false },
        { "fe80::1", NULL, false },
        { "128.0.0.1", NULL, false },
        { "not an address", NULL, false },
        { "10.1.2.3", "10.0.0.0/8", true },
        { "10.1.2.3", "192.168.0.0/16, 10.1.2.0/24", true },
        { "10.1.3.3", "192.168.0.0/16,10.1.2.0/24", false },
        { "10.1.2.3", "10.1.2.3", true },
        { "10.1.2.4", "10.1.2.3", false },
        { "10.1.2.3", "0.0.0.0/0", true },
        { "10.1.2.3", "10.0.0.0/33", false }, /* bad CIDRs match nothing */
        { "10.1.2.3", "10.0.0.0/", false },
        { "10.1.2.3", "10.0.0.0/x", false },
        { "10.1.2.3", "garbage", false },
        { "fd00::5", "fd00::/8", true },
        { "fe00::5", "fd00::/8", false },
        { "fd00::5", "10.0.0.0/8", false },
        { "10.0.0.1", "fd00::/8", false },
        { "10.1.2.3", "  ,, 10.1.0.0/16 ,", true },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        ck_assert_msg(api_health_allowed(cases[i].addr, cases[i].allow) == cases[i].ok,
                      "case %zu: %s in %s", i, cases[i].addr ? cases[i].addr : "(null)",
                      cases[i].allow ? cases[i].allow : "(null)");
}
END_TEST

/* A deep check from outside: JSON 403 before anything is checked; shallow ones for all. */
START_TEST(test_health_deep_forbidden)
{
    api_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    api_request req;
    memset(&req, 0, sizeof req);
    req.method = "GET";
    req.path = strv_from("/api/health-check");
    req.query = strv_from("deep=1");
    req.remote_addr = "203.0.113.9";
    api_response r;
    api_response_init(&r);
    api_health(&ctx, &req, &r, NULL);
    assert_error(&r, 403, "forbidden");
    api_response_cleanup(&r);

    req.query = strv_from("");
    api_response_init(&r);
    api_health(&ctx, &req, &r, NULL);
    ck_assert_int_eq(r.status, 200);
    api_response_cleanup(&r);

    /* An answer is kept for health_cache_ms: the second deep check does not ask again. */
    req.query = strv_from("deep=1");
    req.remote_addr = "10.9.8.7";
    ctx.health_allow = "10.0.0.0/8";
    ctx.health_cache_ms = 60000;
    api_response_init(&r);
    api_health(&ctx, &req, &r, NULL);
    ck_assert_int_eq(r.status, 503);
    ck_assert(ctx.health.at_ms > 0);
    api_response_cleanup(&r);
    snprintf(ctx.health.body, sizeof ctx.health.body, "{\"success\":true,\"cached\":1}");
    ctx.health.status = 200;
    api_response_init(&r);
    api_health(&ctx, &req, &r, NULL);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(buf_cstr(&r.body), "{\"success\":true,\"cached\":1}");
    api_response_cleanup(&r);
}
END_TEST

START_TEST(test_dispatch_health)
{
    api_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    api_response r;
    const char *pattern = NULL;
    dispatch(&ctx, "GET", "/api/health-check", "", &r, &pattern);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(buf_cstr(&r.body), "{\"success\":true,\"ver\":1}");
    ck_assert_str_eq(pattern, "/api/health-check");
    api_response_cleanup(&r);

    /* Deep, with nothing connected: 503 naming both. */
    dispatch(&ctx, "GET", "/api/health-check", "x=1&deep=1", &r, &pattern);
    ck_assert_int_eq(r.status, 503);
    json_t *j = body_json(&r);
    ck_assert(json_is_false(json_object_get(j, "success")));
    ck_assert_str_eq(json_string_value(json_object_get(j, "postgres")), "unreachable");
    ck_assert_str_eq(json_string_value(json_object_get(j, "dynamodb")), "unconfigured");
    json_decref(j);
    api_response_cleanup(&r);

    /* deep=0 and lookalikes are shallow. */
    dispatch(&ctx, "GET", "/api/health-check", "deep=0&undeep=1&deep=11", &r, &pattern);
    ck_assert_int_eq(r.status, 200);
    api_response_cleanup(&r);
}
END_TEST

/* ---- the JSON error shape ------------------------------------------------------------- */

START_TEST(test_api_error_shape)
{
    api_response r;
    api_response_init(&r);
    ck_assert_int_eq(r.status, 200);
    buf_append_str(&r.body, "{\"partial\":");
    ck_assert_int_eq(api_error(&r, 422, "message_too_long", "over %d characters", 1024), 0);
    assert_error(&r, 422, "message_too_long");
    json_t *j = body_json(&r);
    ck_assert_str_eq(json_string_value(json_object_get(j, "message")), "over 1024 characters");
    json_decref(j);

    /* Quotes and control characters are escaped; invalid UTF-8 still gives JSON. */
    api_error(&r, 400, "bad_json", "a \"quote\"\n and a tab\t");
    assert_error(&r, 400, "bad_json");
    api_error(&r, 400, "bad_json", "bytes %s", "\xff\xfe");
    assert_error(&r, 400, "internal");
    api_response_cleanup(&r);
    api_response_cleanup(NULL);
}
END_TEST

/* ---- CORS and the response head ------------------------------------------------------- */

START_TEST(test_cors_allowed)
{
    api_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ck_assert(!router_cors_allowed(&ctx, "http://localhost:3000"));
    ctx.cors_origins[0] = "http://localhost:3000/";
    ctx.cors_origins[1] = "https://api.example.com";
    ck_assert(router_cors_allowed(&ctx, "http://localhost:3000"));
    ck_assert(router_cors_allowed(&ctx, "https://api.example.com"));
    ck_assert(!router_cors_allowed(&ctx, "http://localhost:3000/"));
    ck_assert(!router_cors_allowed(&ctx, "http://localhost:30001"));
    ck_assert(!router_cors_allowed(&ctx, "http://evil.example"));
    ck_assert(!router_cors_allowed(&ctx, ""));
    ck_assert(!router_cors_allowed(&ctx, NULL));
    ck_assert(!router_cors_allowed(NULL, "http://localhost:3000"));
}
END_TEST

static char *head_for(api_ctx *ctx, const char *method, const char *origin, int status,
                      const char *cursor, const char *allow)
{
    api_request req;
    memset(&req, 0, sizeof req);
    req.method = method;
    req.origin = origin;
    memcpy(req.request_id, "req-12345678", 13);
    api_response resp;
    api_response_init(&resp);
    resp.status = status;
    resp.allow = allow;
    if (cursor)
        snprintf(resp.next_cursor, sizeof resp.next_cursor, "%s", cursor);
    buf out;
    buf_init(&out, 0);
    ck_assert_int_eq(worker_format_head(ctx, &req, &resp, &out), 0);
    api_response_cleanup(&resp);
    return buf_take(&out);
}

START_TEST(test_head)
{
    api_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.cors_origins[0] = "http://localhost:3000";

    char *h = head_for(&ctx, "GET", NULL, 200, "abc", NULL);
    ck_assert_ptr_nonnull(strstr(h, "Status: 200 OK\r\n"));
    ck_assert_ptr_nonnull(strstr(h, "Content-Type: application/json; charset=utf-8\r\n"));
    ck_assert_ptr_nonnull(strstr(h, "X-Request-Id: req-12345678\r\n"));
    ck_assert_ptr_nonnull(strstr(h, "X-Next-Cursor: abc\r\n"));
    ck_assert_ptr_nonnull(strstr(h, "X-Content-Type-Options: nosniff\r\n"));
    ck_assert_ptr_nonnull(strstr(h, "Cache-Control: no-store\r\n"));
    ck_assert_ptr_nonnull(strstr(h, "Referrer-Policy: no-referrer\r\n"));
    ck_assert_ptr_null(strstr(h, "Access-Control"));
    ck_assert_ptr_null(strstr(h, "Allow:"));
    size_t n = strlen(h);
    ck_assert(n > 4 && strcmp(h + n - 4, "\r\n\r\n") == 0);
    free(h);

    h = head_for(&ctx, "PUT", NULL, 405, NULL, "POST, OPTIONS");
    ck_assert_ptr_nonnull(strstr(h, "Status: 405 Method Not Allowed\r\n"));
    ck_assert_ptr_nonnull(strstr(h, "Allow: POST, OPTIONS\r\n"));
    free(h);

    /* A cursor that would inject a header is dropped. */
    h = head_for(&ctx, "GET", NULL, 200, "abc\r\nSet-Cookie: x=1", NULL);
    ck_assert_ptr_null(strstr(h, "Set-Cookie"));
    ck_assert_ptr_null(strstr(h, "X-Next-Cursor"));
    free(h);
}
END_TEST

START_TEST(test_head_cors)
{
    api_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.cors_origins[0] = "http://localhost:3000";

    char *h = head_for(&ctx, "OPTIONS", "http://localhost:3000", 204, NULL, NULL);
    ck_assert_ptr_nonnull(strstr(h, "Status: 204 No Content\r\n"));
    ck_assert_ptr_null(strstr(h, "Content-Type: "));
    ck_assert_ptr_nonnull(strstr(h, "Access-Control-Allow-Origin: http://localhost:3000\r\n"));
    ck_assert_ptr_nonnull(strstr(h, "Vary: Origin\r\n"));
    ck_assert_ptr_nonnull(strstr(h, "Access-Control-Allow-Methods: GET, POST, OPTIONS\r\n"));
    ck_assert_ptr_nonnull(strstr(
        h, "Access-Control-Allow-Headers: Authorization, Content-Type, Idempotency-Key\r\n"));
    ck_assert_ptr_null(strstr(h, "Allow-Credentials"));
    free(h);

    h = head_for(&ctx, "GET", "http://localhost:3000", 200, NULL, NULL);
    ck_assert_ptr_nonnull(strstr(h, "Access-Control-Allow-Origin: http://localhost:3000\r\n"));
    ck_assert_ptr_null(strstr(h, "Access-Control-Allow-Methods"));
    free(h);

    h = head_for(&ctx, "OPTIONS", "http://evil.example", 204, NULL, NULL);
    ck_assert_ptr_null(strstr(h, "Access-Control"));
    ck_assert_ptr_nonnull(strstr(h, "Vary: Origin\r\n"));
    free(h);
}
END_TEST

/* ---- request reading helpers ---------------------------------------------------------- */

START_TEST(test_request_id)
{
    char id[40], id2[40];
    worker_request_id("abcDEF12-_.", id);
    ck_assert_str_eq(id, "abcDEF12-_.");
    const char *bad[] = { NULL,
                          "",
                          "short",
                          "has space in it",
                          "a\r\nInjected: yes",
                          "0123456789012345678901234567890123456" /* 37 */,
                          "é-not-ascii-id" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        worker_request_id(bad[i], id);
        ck_assert_uint_eq(strlen(id), 32);
        ck_assert_uint_eq(strspn(id, "0123456789abcdef"), 32);
    }
    worker_request_id(NULL, id2);
    ck_assert_str_ne(id, id2);
}
END_TEST

START_TEST(test_split_uri_and_length)
{
    strv p, q;
    worker_split_uri("/api/messages/x?limit=5&cursor=a?b", &p, &q);
    ck_assert(strv_eq_cstr(p, "/api/messages/x"));
    ck_assert(strv_eq_cstr(q, "limit=5&cursor=a?b"));
    worker_split_uri("/api/health-check", &p, &q);
    ck_assert(strv_eq_cstr(p, "/api/health-check"));
    ck_assert_uint_eq(q.len, 0);
    worker_split_uri(NULL, &p, &q);
    ck_assert_uint_eq(p.len, 0);

    long long n;
    ck_assert_int_eq(worker_content_length(NULL, &n), 0);
    ck_assert_int_eq(n, 0);
    ck_assert_int_eq(worker_content_length("16384", &n), 0);
    ck_assert_int_eq(n, 16384);
    ck_assert_int_eq(worker_content_length("999999999999", &n), 0);
    ck_assert_int_eq(worker_content_length("9999999999999", &n), -1);
    ck_assert_int_eq(worker_content_length("-1", &n), -1);
    ck_assert_int_eq(worker_content_length("12a", &n), -1);
    ck_assert_int_eq(worker_content_length(" 1", &n), -1);
    ck_assert_str_eq(worker_reason(413), "Payload Too Large");
    ck_assert_str_eq(worker_reason(299), "Unknown");
}
END_TEST

START_TEST(test_list_reply_escapes_and_orders)
{
    /* A Query reply's Items, with text that needs escaping and a missing attribute. */
    const char *reply =
        "{\"Items\":["
        "{\"message_uuid\":{\"S\":\"m2\"},\"user_display_name\":{\"S\":\"Zo\\u00eb \\\"Z\\\"\"},"
        "\"user_handle\":{\"S\":\"zoe\"},\"message\":{\"S\":\"line1\\nline2\\ttab \\\\ \\u0001 "
        "\\u2028 \\ud83d\\ude00\"},"
        "\"sk\":{\"S\":\"2026-01-02\"}},"
        "{\"message_uuid\":{\"S\":\"m1\"},\"user_handle\":{\"N\":\"7\"},\"message\":{\"S\":\"\"},"
        "\"sk\":{\"S\":\"2026-01-01\"}}]}";
    errinfo e;
    jdoc *d = jdoc_parse(reply, strlen(reply), 64, &e);
    ck_assert_msg(d != NULL, "%s", e.msg);
    jdoc_val items[4];
    size_t n = jdoc_elements(jdoc_get(jdoc_root(d), "Items"), items, 4);
    ck_assert_uint_eq(n, 2);
    api_response r;
    api_response_init(&r);
    ck_assert_int_eq(api_list_reply(&r, items, n, "message_uuid", true), 0);
    ck_assert_int_eq(r.status, 200);
    json_error_t je;
    json_t *v = json_loadb(r.body.data, r.body.len, JSON_REJECT_DUPLICATES, &je);
    ck_assert_msg(v != NULL, "not JSON: %s (%s)", je.text, buf_cstr(&r.body));
    ck_assert_uint_eq(json_array_size(v), 2);
    /* reversed: oldest first */
    json_t *a = json_array_get(v, 0), *b = json_array_get(v, 1);
    ck_assert_str_eq(json_string_value(json_object_get(a, "uuid")), "m1");
    ck_assert(json_is_null(json_object_get(a, "display_name")));
    ck_assert(json_is_null(json_object_get(a, "handle"))); /* not an S */
    ck_assert_str_eq(json_string_value(json_object_get(a, "message")), "");
    ck_assert_str_eq(json_string_value(json_object_get(b, "display_name")), "Zo\xc3\xab \"Z\"");
    ck_assert_str_eq(json_string_value(json_object_get(b, "message")),
                     "line1\nline2\ttab \\ \x01 \xe2\x80\xa8 \xf0\x9f\x98\x80");
    ck_assert_str_eq(json_string_value(json_object_get(b, "created_at")), "2026-01-02");
    ck_assert_uint_eq(json_object_size(b), 5);
    json_decref(v);
    /* in page order, and an empty page */
    ck_assert_int_eq(api_list_reply(&r, items, n, "message_uuid", false), 0);
    ck_assert(strstr(buf_cstr(&r.body), "\"uuid\":\"m2\"") <
              strstr(buf_cstr(&r.body), "\"uuid\":\"m1\""));
    ck_assert_int_eq(api_list_reply(&r, items, 0, "message_uuid", false), 0);
    ck_assert_str_eq(buf_cstr(&r.body), "[]");
    api_response_cleanup(&r);
    jdoc_free(d);
}
END_TEST

/* What the cursor was before it was written by hand: base64url(0x01 + json_dumps(compact,
 * sorted)). */
static void cursor_reference(const char *pk, const char *sk, char *out, size_t outlen)
{
    json_t *o = json_pack("{s:s, s:s}", "pk", pk, "sk", sk);
    char *text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    buf raw, enc;
    buf_init(&raw, 0);
    buf_init(&enc, 0);
    buf_putc(&raw, CURSOR_VERSION);
    buf_append_str(&raw, text);
    ck_assert_int_eq(base64_encode(BASE64_URL, raw.data, raw.len, &enc), 0);
    snprintf(out, outlen, "%s", buf_cstr(&enc));
    buf_cleanup(&raw);
    buf_cleanup(&enc);
    free(text);
    json_decref(o);
}

START_TEST(test_page_cursor_is_the_cursor_json_dumps_wrote)
{
    static const char *const keys[][2] = {
        { "MSG#5ae290ed-55d1-47a0-bc6d-fe2bc2700399", "2026-12-02T18:00:00.123456+00:00" },
        { "a \"quoted\" \\ key/x", "tab\there\nnl\r\b\f \x01\x1f" },
        { "Zo\xc3\xab \xe2\x80\xa8 \xf0\x9f\x98\x80", "\x7f end" },
    };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        char want[CURSOR_MAX_LEN + 1], got[CURSOR_MAX_LEN + 1];
        cursor_reference(keys[i][0], keys[i][1], want, sizeof want);
        errinfo e;
        /* from the Query reply's LastEvaluatedKey, read in place */
        json_t *page = json_pack("{s:[], s:{s:{s:s}, s:{s:s}}}", "Items", "LastEvaluatedKey", "pk",
                                 "S", keys[i][0], "sk", "S", keys[i][1]);
        char *text = json_dumps(page, JSON_COMPACT);
        jdoc *d = jdoc_parse(text, strlen(text), 64, &e);
        ck_assert_msg(d != NULL, "%s", e.msg);
        ddb_page_view v = { .items = jdoc_get(jdoc_root(d), "Items"),
                            .last_key = jdoc_get(jdoc_root(d), "LastEvaluatedKey") };
        api_response r;
        api_response_init(&r);
        ck_assert_int_eq(api_page_reply(&r, &v, "message_uuid", true, "test"), 0);
        ck_assert_str_eq(r.next_cursor, want);
        /* and from Jansson values */
        ck_assert_int_eq(
            cursor_encode(json_object_get(page, "LastEvaluatedKey"), got, sizeof got, &e), 0);
        ck_assert_str_eq(got, want);
        api_response_cleanup(&r);
        jdoc_free(d);
        free(text);
        json_decref(page);
    }
    /* not a pk/sk pair of S: no answer */
    static const char *const bad[] = {
        "{\"Items\":[],\"LastEvaluatedKey\":{\"pk\":{\"S\":\"a\"}}}",
        "{\"Items\":[],\"LastEvaluatedKey\":{\"pk\":{\"S\":\"a\"},\"sk\":{\"N\":\"1\"}}}",
        "{\"Items\":[],\"LastEvaluatedKey\":{\"pk\":{\"S\":\"a\"},\"sk\":{\"S\":\"b\"},\"x\":{"
        "\"S\":\"c\"}}}",
        "{\"Items\":[],\"LastEvaluatedKey\":{\"pk\":{\"S\":\"a\",\"N\":\"1\"},\"sk\":{\"S\":\"b\"}}"
        "}",
        "{\"Items\":[],\"LastEvaluatedKey\":{\"pk\":{\"S\":\"\"},\"sk\":{\"S\":\"b\"}}}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        errinfo e;
        jdoc *d = jdoc_parse(bad[i], strlen(bad[i]), 64, &e);
        ck_assert_msg(d != NULL, "%s", e.msg);
        ddb_page_view v = { .items = jdoc_get(jdoc_root(d), "Items"),
                            .last_key = jdoc_get(jdoc_root(d), "LastEvaluatedKey") };
        api_response r;
        api_response_init(&r);
        ck_assert_msg(api_page_reply(&r, &v, "message_uuid", true, "test") == -1, "%s", bad[i]);
        api_response_cleanup(&r);
        jdoc_free(d);
    }
}
END_TEST

START_TEST(test_token_cache_never_outlives_the_token)
{
    static tokcache c; /* zeroed: every slot free */
    unsigned char h1[32], h2[32];
    ck_assert_int_eq(tokcache_hash("header.payload.sig1", 19, h1), 0);
    ck_assert_int_eq(tokcache_hash("header.payload.sig2", 19, h2), 0);
    /* SHA-256 itself (FIPS 180-2's "abc"), the same on every call of the reused context */
    static const unsigned char abc[32] = { 0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea,
                                           0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22, 0x23,
                                           0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c,
                                           0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad };
    for (int i = 0; i < 3; i++) {
        unsigned char hv[32];
        ck_assert_int_eq(tokcache_hash("abc", 3, hv), 0);
        ck_assert(memcmp(hv, abc, 32) == 0);
    }
    ck_assert(memcmp(h1, h2, 32) != 0);
    char sub[65];
    int64_t now = 1000000;
    ck_assert(!tokcache_get(&c, h1, now, sub));
    tokcache_put(&c, h1, "sub-one", now + 3600, now);
    ck_assert(tokcache_get(&c, h1, now + 1, sub));
    ck_assert_str_eq(sub, "sub-one");
    ck_assert(!tokcache_get(&c, h2, now + 1, sub)); /* another token */
    /* at most TOKCACHE_MAX_AGE_S after it was verified, then the verifier decides again */
    ck_assert(tokcache_get(&c, h1, now + TOKCACHE_MAX_AGE_S - 1, sub));
    ck_assert(!tokcache_get(&c, h1, now + TOKCACHE_MAX_AGE_S, sub));
    /* never past its exp */
    tokcache_put(&c, h2, "sub-two", now + 10, now);
    ck_assert(tokcache_get(&c, h2, now + 9, sub));
    ck_assert_str_eq(sub, "sub-two");
    ck_assert(!tokcache_get(&c, h2, now + 10, sub));
    /* expired or unusable entries are not stored */
    unsigned char h3[32];
    tokcache_hash("x", 1, h3);
    tokcache_put(&c, h3, "sub-three", now, now);
    ck_assert(!tokcache_get(&c, h3, now - 1, sub));
    tokcache_put(&c, h3, "", now + 100, now);
    ck_assert(!tokcache_get(&c, h3, now, sub));
    /* many tokens: the cache stays bounded and keeps serving the newest */
    for (int i = 0; i < 3 * TOKCACHE_SLOTS; i++) {
        char t[32];
        snprintf(t, sizeof t, "token-%d", i);
        unsigned char h[32];
        tokcache_hash(t, strlen(t), h);
        tokcache_put(&c, h, "many", now + 3600, now);
        ck_assert(tokcache_get(&c, h, now, sub));
    }
}
END_TEST

/* ---- metrics ------------------------------------------------------------------------ */

/* Every 503 of the user database counts as a Postgres error, whichever route answers it. */
START_TEST(test_users_unavailable_counts_a_postgres_error)
{
    errinfo e;
    metrics *m = metrics_new(1, &e);
    ck_assert_ptr_nonnull(m);
    api_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.metrics_slot = metrics_slot_at(m, 0);
    api_response r;
    api_response_init(&r);
    ck_assert_int_eq(api_users_unavailable(&ctx, &r, "test_lookup_failed", "connection lost"), 0);
    assert_error(&r, 503, "unavailable");
    api_response_cleanup(&r);
    buf out;
    buf_init(&out, 0);
    ck_assert_int_eq(metrics_render(m, &out), 0);
    ck_assert_double_eq(support_prom_value(buf_cstr(&out), "cruddur_postgres_errors_total"), 1);
    buf_cleanup(&out);
    metrics_free(m);
}
END_TEST

START_TEST(test_metrics_sum_every_slot)
{
    errinfo e;
    metrics *m = metrics_new(4, &e);
    ck_assert_ptr_nonnull(m);
    ck_assert_ptr_null(metrics_slot_at(m, 4));
    metrics_slot *a = metrics_slot_at(m, 0), *b = metrics_slot_at(m, 3);
    metrics_request(a, "/api/messages/{uuid}", 200, 800);  /* 0.8 ms */
    metrics_request(b, "/api/messages/{uuid}", 200, 3000); /* 3 ms */
    metrics_request(b, "/api/messages/{uuid}", 404, 100);
    metrics_request(a, "", 404, 50);                    /* no route */
    metrics_request(a, "/api/message_groups", 418, 50); /* a code without a label */
    metrics_ddb(a, "Query", AWS_OUTCOME_OK, 400);
    metrics_ddb(b, "Query", AWS_OUTCOME_THROTTLED, 90000);
    metrics_ddb(b, "ListTables", AWS_OUTCOME_FAILED, 10);
    metrics_count(a, METRICS_TOKEN_HIT);
    metrics_count(b, METRICS_TOKEN_HIT);
    metrics_count(b, METRICS_PG_ERRORS);
    master_stats *ms = metrics_master_of(m);
    ms->alive = 3;
    ms->restarts = 1;
    buf out;
    buf_init(&out, 0);
    ck_assert_int_eq(metrics_render(m, &out), 0);
    const char *t = buf_cstr(&out);
    ck_assert_double_eq(
        support_prom_value(
            t, "cruddur_api_requests_total{route=\"/api/messages/{uuid}\",code=\"200\"}"),
        2);
    ck_assert_double_eq(
        support_prom_value(
            t, "cruddur_api_requests_total{route=\"/api/messages/{uuid}\",code=\"404\"}"),
        1);
    ck_assert_double_eq(
        support_prom_value(t, "cruddur_api_requests_total{route=\"none\",code=\"404\"}"), 1);
    ck_assert_double_eq(
        support_prom_value(
            t, "cruddur_api_requests_total{route=\"/api/message_groups\",code=\"other\"}"),
        1);
    /* every route lists its 200, even at 0; absent codes are left out */
    ck_assert_double_eq(
        support_prom_value(t,
                           "cruddur_api_requests_total{route=\"/api/health-check\",code=\"200\"}"),
        0);
    ck_assert_double_eq(
        support_prom_value(t,
                           "cruddur_api_requests_total{route=\"/api/health-check\",code=\"500\"}"),
        -1);
    /* the histogram is cumulative: 0.8 ms and 0.1 ms under 1 ms, the 3 ms one under 5 ms */
    ck_assert_double_eq(
        support_prom_value(t, "cruddur_api_request_duration_seconds_bucket{route=\"/api/"
                              "messages/{uuid}\",le=\"0.001\"}"),
        2);
    ck_assert_double_eq(
        support_prom_value(t, "cruddur_api_request_duration_seconds_bucket{route=\"/api/"
                              "messages/{uuid}\",le=\"0.0025\"}"),
        2);
    ck_assert_double_eq(
        support_prom_value(t, "cruddur_api_request_duration_seconds_bucket{route=\"/api/"
                              "messages/{uuid}\",le=\"0.005\"}"),
        3);
    ck_assert_double_eq(
        support_prom_value(t, "cruddur_api_request_duration_seconds_bucket{route=\"/api/"
                              "messages/{uuid}\",le=\"+Inf\"}"),
        3);
    ck_assert_double_eq(
        support_prom_value(
            t, "cruddur_api_request_duration_seconds_count{route=\"/api/messages/{uuid}\"}"),
        3);
    ck_assert_double_eq_tol(
        support_prom_value(
            t, "cruddur_api_request_duration_seconds_sum{route=\"/api/messages/{uuid}\"}"),
        0.0039, 1e-9);
    ck_assert_double_eq(
        support_prom_value(t, "cruddur_dynamodb_calls_total{operation=\"Query\",outcome=\"ok\"}"),
        1);
    ck_assert_double_eq(
        support_prom_value(
            t, "cruddur_dynamodb_calls_total{operation=\"Query\",outcome=\"throttled\"}"),
        1);
    ck_assert_double_eq(
        support_prom_value(t,
                           "cruddur_dynamodb_calls_total{operation=\"other\",outcome=\"failed\"}"),
        1);
    ck_assert_double_eq(
        support_prom_value(t, "cruddur_dynamodb_call_duration_seconds_count{operation=\"Query\"}"),
        2);
    ck_assert_double_eq(
        support_prom_value(t, "cruddur_api_cache_lookups_total{cache=\"token\",result=\"hit\"}"),
        2);
    ck_assert_double_eq(
        support_prom_value(t, "cruddur_api_cache_lookups_total{cache=\"token\",result=\"miss\"}"),
        0);
    ck_assert_double_eq(support_prom_value(t, "cruddur_postgres_errors_total"), 1);
    ck_assert_double_eq(support_prom_value(t, "cruddur_api_workers"), 3);
    ck_assert_double_eq(support_prom_value(t, "cruddur_api_worker_restarts_total"), 1);
    ck_assert_ptr_nonnull(strstr(t, "# TYPE cruddur_api_request_duration_seconds histogram\n"));
    buf_cleanup(&out);
    metrics_free(m);
    metrics_free(NULL);
}
END_TEST

/* The DynamoDB client reports each call's outcome: retries that end well are "retried",
 * throttling to the end "throttled" (against the scripted peer). */
START_TEST(test_metrics_ddb_outcomes_from_the_client)
{
    errinfo e;
    metrics *m = metrics_new(1, &e);
    ck_assert_ptr_nonnull(m);
    ddbscript *s = ddbscript_new_observed(2, metrics_ddb, metrics_slot_at(m, 0));
    ddbscript_error(s, "GetItem", "ThrottlingException");
    ddbscript_ok(s, "GetItem", NULL);
    ddbscript_error(s, "GetItem", "ThrottlingException");
    ddbscript_error(s, "GetItem", "ThrottlingException");
    json_t *key = json_pack("{s:{s:s}}", "pk", "S", "x");
    json_t *item = NULL;
    ddb_error err;
    ck_assert_int_eq(ddb_get_item(ddbscript_ddb(s), "t", key, false, &item, &err), 0);
    ck_assert_int_eq(ddb_get_item(ddbscript_ddb(s), "t", key, false, &item, &err), -1);
    buf out;
    buf_init(&out, 0);
    metrics_render(m, &out);
    const char *t = buf_cstr(&out);
    ck_assert_double_eq(
        support_prom_value(
            t, "cruddur_dynamodb_calls_total{operation=\"GetItem\",outcome=\"retried\"}"),
        1);
    ck_assert_double_eq(
        support_prom_value(
            t, "cruddur_dynamodb_calls_total{operation=\"GetItem\",outcome=\"throttled\"}"),
        1);
    ck_assert_double_eq(
        support_prom_value(t, "cruddur_dynamodb_calls_total{operation=\"GetItem\",outcome=\"ok\"}"),
        0);
    buf_cleanup(&out);
    json_decref(key);
    json_decref(item);
    ddbscript_free(s);
    metrics_free(m);
}
END_TEST

/* GET /metrics: loopback, the FastCGI socket itself and CRUDDUR_METRICS_ALLOW only. */
START_TEST(test_metrics_page_for_scrapers_only)
{
    errinfo e;
    api_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.metrics = metrics_new(2, &e);
    api_request req;
    memset(&req, 0, sizeof req);
    req.method = "GET";
    req.path = strv_from("/metrics");
    api_response r;
    api_response_init(&r);
    req.remote_addr = "203.0.113.9";
    ck_assert_int_eq(api_metrics(&ctx, &req, &r, NULL), 0);
    ck_assert_int_eq(r.status, 403);
    ck_assert_ptr_nonnull(strstr(buf_cstr(&r.body), "\"error\":\"forbidden\""));
    ck_assert_ptr_null(r.content_type);
    ctx.metrics_allow = "203.0.113.0/24";
    api_response_cleanup(&r);
    api_response_init(&r);
    ck_assert_int_eq(api_metrics(&ctx, &req, &r, NULL), 0);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.content_type, "text/plain; version=0.0.4; charset=utf-8");
    ck_assert_ptr_nonnull(strstr(buf_cstr(&r.body), "# TYPE cruddur_api_requests_total counter"));
    /* and its head carries that content type */
    buf head;
    buf_init(&head, 0);
    ck_assert_int_eq(worker_format_head(&ctx, &req, &r, &head), 0);
    ck_assert_ptr_nonnull(
        strstr(buf_cstr(&head), "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"));
    buf_cleanup(&head);
    ctx.metrics_allow = NULL;
    req.remote_addr = "127.0.0.1";
    api_response_cleanup(&r);
    api_response_init(&r);
    ck_assert_int_eq(api_metrics(&ctx, &req, &r, NULL), 0);
    ck_assert_int_eq(r.status, 200);
    router_match m = find("GET", "/metrics");
    ck_assert_int_eq(m.result, ROUTER_FOUND);
    ck_assert(m.handler == api_metrics);
    ck_assert(!m.needs_backend);
    api_response_cleanup(&r);
    metrics_free(ctx.metrics);
}
END_TEST

static Suite *api_suite(void)
{
    Suite *s = suite_create("api");
    TCase *tc = tcase_create("routing");
    tcase_add_test(tc, test_routes_found);
    tcase_add_test(tc, test_list_reply_escapes_and_orders);
    tcase_add_test(tc, test_page_cursor_is_the_cursor_json_dumps_wrote);
    tcase_add_test(tc, test_token_cache_never_outlives_the_token);
    tcase_add_test(tc, test_routes_not_found);
    tcase_add_test(tc, test_routes_bad_method);
    tcase_add_test(tc, test_routes_bad_uuid);
    tcase_add_test(tc, test_routes_preflight);
    suite_add_tcase(s, tc);
    tc = tcase_create("dispatch");
    tcase_add_test(tc, test_dispatch_errors);
    tcase_add_test(tc, test_dispatch_health);
    tcase_add_test(tc, test_health_allowed);
    tcase_add_test(tc, test_health_deep_forbidden);
    tcase_add_test(tc, test_api_error_shape);
    suite_add_tcase(s, tc);
    tc = tcase_create("headers");
    tcase_add_test(tc, test_cors_allowed);
    tcase_add_test(tc, test_head);
    tcase_add_test(tc, test_head_cors);
    suite_add_tcase(s, tc);
    tc = tcase_create("metrics");
    tcase_add_test(tc, test_metrics_sum_every_slot);
    tcase_add_test(tc, test_users_unavailable_counts_a_postgres_error);
    tcase_add_test(tc, test_metrics_ddb_outcomes_from_the_client);
    tcase_add_test(tc, test_metrics_page_for_scrapers_only);
    suite_add_tcase(s, tc);
    tc = tcase_create("request");
    tcase_add_test(tc, test_request_id);
    tcase_add_test(tc, test_split_uri_and_length);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tap_run(api_suite());
}
