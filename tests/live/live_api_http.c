/* live_api_http.c — cruddur-api through a real nginx against the live stack (its own table,
 * database and signing key; see stack.h): the front end's conversation flow,
 * paging with ?limit and X-Next-Cursor, every error status of the API with a JSON body and
 * nothing written, the tokens that must get 401, one conversation per pair under concurrent
 * first messages (new and boto3-era conversations), a brand-new conversation readable by
 * both at once, the request log line, request ids (only the API's form is kept, one id in
 * nginx's and the API's logs and the answer), nginx's rate limits (POST, GET, per client
 * behind a trusted proxy), and the other ways to give the API its socket (TCP, spawn-fcgi's
 * fd 0, systemd's LISTEN_FDS).
 *
 * nginx limits POSTs per client address (10 r/s, burst 20) and other methods (50 r/s, burst
 * 100): tests that send more than that each talk from their own loopback address
 * (127.0.0.x), as different clients would. */
#include "config.h"

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include "auth/devkey.h"
#include "aws/ddb_av.h"
#include "base/base64.h"
#include "base/clock.h"
#include "base/rnd.h"
#include "live.h"
#include "stack.h"
#include "messaging/messaging.h"
#include "tap.h"

enum {
    MIRA,
    TOMASZ,
    U0
};

static stack_api g_api, g_api_nodb, g_api_nopg;
static pid_t g_nginx = -1, g_nginx_nodb = -1, g_nginx_nopg = -1;
static int g_port, g_port_nodb, g_port_nopg;

/* ---- requests ------------------------------------------------------------------------------ */

/* A request to the main nginx as user who (-1: anonymous) from src (NULL: 127.0.0.1). */
static void call(http_res *r, int port, const char *src, int who, const char *method,
                 const char *path, const char *body)
{
    char auth[2200];
    const char *h[3] = { "Content-Type: application/json", NULL, NULL };
    if (who >= 0) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", g_stack.tokens[who]);
        h[1] = auth;
    }
    stack_http(r, port, src, method, path, h, body, body ? strlen(body) : 0);
}

static json_t *call_json(int who, const char *method, const char *path, const char *body, long want)
{
    http_res r;
    call(&r, g_port, NULL, who, method, path, body);
    ck_assert_msg(r.status == want, "%s %s: %ld, want %ld: %s", method, path, r.status, want,
                  buf_cstr(&r.body));
    json_t *j = stack_json(&r.body);
    http_res_free(&r);
    return j;
}

static char *post_body(const char *key, const char *value, const char *message)
{
    json_t *o = json_pack("{s:s, s:s}", "message", message, key, value);
    char *t = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return t;
}

static const char *jstr(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    ck_assert_msg(s != NULL, "member %s missing", k);
    return s;
}

/* A new conversation from a to b by handle (src: client address); its uuid into out. */
static void new_conversation(int a, int b, const char *src, const char *m, char out[37])
{
    char *body = post_body("handle", g_stack.users[b].handle, m);
    http_res r;
    call(&r, g_port, src, a, "POST", "/api/messages", body);
    free(body);
    ck_assert_msg(r.status == 200, "%ld %s", r.status, buf_cstr(&r.body));
    json_t *j = stack_json(&r.body);
    snprintf(out, 37, "%s", jstr(j, "message_group_uuid"));
    ck_assert_int_eq(json_object_size(j), 1);
    json_decref(j);
    http_res_free(&r);
}

static size_t many_on_data(char *p, size_t sz, size_t n, void *ud)
{
    buf_append((buf *)ud, p, sz * n);
    return sz * n;
}

/* n concurrent requests (curl multi) to port from src, request i with the header extra[i]
 * (Authorization, X-Forwarded-For, ...; extra or extra[i] NULL: none); statuses and bodies
 * out. */
static void call_many_to(int port, int n, const char *src, const char *const *extra,
                         const char *method, const char *path, char *const *bodies, long *status,
                         buf *out)
{
    CURLM *m = curl_multi_init();
    CURL *e[64];
    struct curl_slist *hl[64];
    ck_assert_int_le(n, 64);
    char url[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    for (int i = 0; i < n; i++) {
        buf_init(&out[i], 0);
        e[i] = curl_easy_init();
        hl[i] = curl_slist_append(NULL, "Content-Type: application/json");
        hl[i] = curl_slist_append(hl[i], "Expect:");
        if (extra && extra[i])
            hl[i] = curl_slist_append(hl[i], extra[i]);
        curl_easy_setopt(e[i], CURLOPT_URL, url);
        curl_easy_setopt(e[i], CURLOPT_CUSTOMREQUEST, method);
        curl_easy_setopt(e[i], CURLOPT_HTTPHEADER, hl[i]);
        curl_easy_setopt(e[i], CURLOPT_TIMEOUT_MS, 20000L);
        curl_easy_setopt(e[i], CURLOPT_INTERFACE, src);
        curl_easy_setopt(e[i], CURLOPT_WRITEFUNCTION, many_on_data);
        curl_easy_setopt(e[i], CURLOPT_WRITEDATA, &out[i]);
        if (bodies && bodies[i])
            curl_easy_setopt(e[i], CURLOPT_POSTFIELDS, bodies[i]);
        curl_multi_add_handle(m, e[i]);
    }
    int running = 1;
    int64_t deadline = clock_mono_ms() + 30000;
    while (running && clock_mono_ms() < deadline) {
        curl_multi_perform(m, &running);
        if (running)
            curl_multi_poll(m, NULL, 0, 100, NULL);
    }
    ck_assert_msg(!running, "requests did not finish in 30 s");
    for (int i = 0; i < n; i++) {
        status[i] = 0;
        curl_easy_getinfo(e[i], CURLINFO_RESPONSE_CODE, &status[i]);
        curl_multi_remove_handle(m, e[i]);
        curl_easy_cleanup(e[i]);
        curl_slist_free_all(hl[i]);
    }
    curl_multi_cleanup(m);
}

/* The same to the main nginx. */
static void call_many(int n, const char *src, const char *const *auth, const char *method,
                      const char *path, char *const *bodies, long *status, buf *out)
{
    call_many_to(g_port, n, src, auth, method, path, bodies, status, out);
}

/* ---- the front end's flow ------------------------------------------------------------------ */

START_TEST(flow_new_conversation_reply_and_lists)
{
    char g[37], path[128];
    new_conversation(MIRA, TOMASZ, NULL, "Hi Tomasz \xf0\x9f\x91\x8b", g);
    snprintf(path, sizeof path, "/api/messages/%s", g);
    /* the recipient reads it at once */
    json_t *j = call_json(TOMASZ, "GET", path, NULL, 200);
    ck_assert_int_eq(json_array_size(j), 1);
    ck_assert_str_eq(jstr(json_array_get(j, 0), "handle"), "mira");
    ck_assert_str_eq(jstr(json_array_get(j, 0), "message"), "Hi Tomasz \xf0\x9f\x91\x8b");
    json_decref(j);
    /* reply into the conversation */
    char *body = post_body("message_group_uuid", g, "Hello Mira");
    j = call_json(TOMASZ, "POST", "/api/messages", body, 200);
    free(body);
    ck_assert_str_eq(jstr(j, "handle"), "tomasz");
    ck_assert_str_eq(jstr(j, "message"), "Hello Mira");
    ck_assert_int_eq(strlen(jstr(j, "uuid")), 36);
    char reply[37];
    snprintf(reply, sizeof reply, "%s", jstr(j, "uuid"));
    json_decref(j);
    /* both sides read both messages, oldest first */
    for (int who = MIRA; who <= TOMASZ; who++) {
        j = call_json(who, "GET", path, NULL, 200);
        ck_assert_int_eq(json_array_size(j), 2);
        ck_assert_str_eq(jstr(json_array_get(j, 0), "handle"), "mira");
        ck_assert_str_eq(jstr(json_array_get(j, 1), "uuid"), reply);
        json_decref(j);
    }
    /* both sides list the conversation with the other person */
    for (int who = MIRA; who <= TOMASZ; who++) {
        j = call_json(who, "GET", "/api/message_groups", NULL, 200);
        bool found = false;
        for (size_t i = 0; i < json_array_size(j); i++) {
            const json_t *e = json_array_get(j, i);
            if (strcmp(jstr(e, "uuid"), g) != 0)
                continue;
            found = true;
            ck_assert_str_eq(jstr(e, "handle"), who == MIRA ? "tomasz" : "mira");
            ck_assert_str_eq(jstr(e, "display_name"),
                             who == MIRA ? "Tomasz Wierzba" : "Mira Okafor");
        }
        ck_assert_msg(found, "user %d does not list the conversation", who);
        json_decref(j);
    }
    /* the short user card the front end shows */
    j = call_json(-1, "GET", "/api/users/@tomasz/short", NULL, 200);
    ck_assert_str_eq(jstr(j, "uuid"), g_stack.users[TOMASZ].uuid);
    json_decref(j);
    /* a second message by handle lands in the same conversation */
    body = post_body("handle", "@mira", "again");
    j = call_json(TOMASZ, "POST", "/api/messages", body, 200);
    free(body);
    ck_assert_str_eq(jstr(j, "message_group_uuid"), g);
    json_decref(j);
    ck_assert_int_eq(stack_count_messages(g), 3);
    ck_assert_int_eq(stack_count_group_rows(MIRA), 1);
    ck_assert_int_eq(stack_count_group_rows(TOMASZ), 1);
}
END_TEST

START_TEST(paging_through_120_messages)
{
    const int a = U0, b = U0 + 1;
    char g[37];
    new_conversation(a, b, NULL, "message 000", g);
    messaging_user ma = { g_stack.users[a].uuid, g_stack.users[a].display_name,
                          g_stack.users[a].handle };
    int64_t t0 = clock_real_us() + 1000000;
    ddb_error err;
    for (int i = 1; i < 120; i++) {
        char ts[MESSAGING_TS_LEN], id[37], text[32];
        clock_iso8601_us(ts, sizeof ts, t0 + i * 1000);
        rnd_uuid4(id);
        snprintf(text, sizeof text, "message %03d", i);
        json_t *item = messaging_message_item(g, ts, id, &ma, text);
        ck_assert_msg(messaging_put_message(g_stack.ddb, g_stack.table, item, &err) == 0, "%s",
                      err.info.msg);
        json_decref(item);
    }
    char path[1400], cur[1100];
    http_res r;
    /* the default page: the newest 20, oldest first, and a cursor */
    snprintf(path, sizeof path, "/api/messages/%s", g);
    call(&r, g_port, NULL, b, "GET", path, NULL);
    ck_assert_int_eq(r.status, 200);
    json_t *j = stack_json(&r.body);
    ck_assert_int_eq(json_array_size(j), 20);
    ck_assert_str_eq(jstr(json_array_get(j, 0), "message"), "message 100");
    ck_assert_str_eq(jstr(json_array_get(j, 19), "message"), "message 119");
    ck_assert(stack_header(&r.head, "X-Next-Cursor", cur, sizeof cur));
    json_decref(j);
    http_res_free(&r);
    snprintf(path, sizeof path, "/api/messages/%s?limit=100", g);
    j = call_json(b, "GET", path, NULL, 200);
    ck_assert_int_eq(json_array_size(j), 100);
    json_decref(j);
    /* everything in pages of 7, following X-Next-Cursor */
    bool seen[120] = { false };
    int total = 0, pages = 0, prev_first = 1000;
    snprintf(path, sizeof path, "/api/messages/%s?limit=7", g);
    for (;;) {
        call(&r, g_port, NULL, b, "GET", path, NULL);
        ck_assert_msg(r.status == 200, "%ld %s", r.status, buf_cstr(&r.body));
        j = stack_json(&r.body);
        pages++;
        ck_assert_int_le(json_array_size(j), 7);
        int last = -1;
        for (size_t i = 0; i < json_array_size(j); i++) {
            int n = atoi(jstr(json_array_get(j, i), "message") + 8);
            ck_assert_msg(n > last && !seen[n], "order or duplicate at %d", n);
            seen[n] = true;
            last = n;
            total++;
        }
        if (json_array_size(j) > 0) {
            ck_assert_msg(last < prev_first, "pages overlap");
            prev_first = atoi(jstr(json_array_get(j, 0), "message") + 8);
        }
        json_decref(j);
        bool more = stack_header(&r.head, "X-Next-Cursor", cur, sizeof cur);
        http_res_free(&r);
        if (!more)
            break;
        ck_assert_int_lt(pages, 30);
        snprintf(path, sizeof path, "/api/messages/%s?limit=7&cursor=%s", g, cur);
    }
    ck_assert_int_eq(total, 120);
    ck_assert_int_ge(pages, 18);
    /* the cursor is the reader's own: another conversation's page refuses it */
    char g2[37];
    new_conversation(a, U0 + 2, NULL, "other", g2);
    call(&r, g_port, NULL, b, "GET", path, NULL); /* path holds the last cursor used */
    ck_assert_int_eq(r.status, 200);
    http_res_free(&r);
    char bad[1400];
    snprintf(bad, sizeof bad, "/api/messages/%s%s", g2, strchr(path, '?'));
    call(&r, g_port, NULL, a, "GET", bad, NULL);
    stack_assert_error(&r, 400, "bad_request");
    http_res_free(&r);
}
END_TEST

/* ---- errors: JSON bodies, nothing written ---------------------------------------------------- */

START_TEST(every_error_status_json_and_nothing_written)
{
    const int me = U0 + 3, peer = U0 + 4, stranger = U0 + 5;
    const char *src = "127.0.0.11";
    char g[37], path[200];
    new_conversation(me, peer, src, "start", g);
    long rows_me = stack_count_group_rows(me), rows_st = stack_count_group_rows(stranger);
    http_res r;
    char *body;
    struct {
        const char *method, *path, *body;
        int who;
        long status;
        const char *code;
    } cases[] = {
        /* 400 */
        { "POST", "/api/messages", "{", me, 400, "bad_request" },
        { "POST", "/api/messages", "{\"message\":\"x\"}", me, 400, "bad_request" },
        { "POST", "/api/messages", "{\"message\":\"x\",\"message_group_uuid\":\"nope\"}", me, 400,
          "bad_request" },
        { "GET", "/api/messages/not-a-uuid", NULL, me, 400, "bad_uuid" },
        { "GET", "/api/message_groups?cursor=!!!", NULL, me, 400, "bad_request" },
        { "GET", "/api/message_groups?limit=0", NULL, me, 400, "bad_request" },
        /* 401 */
        { "POST", "/api/messages", "{\"message\":\"x\",\"handle\":\"u5\"}", -1, 401,
          "unauthorized" },
        { "GET", "/api/message_groups", NULL, -1, 401, "unauthorized" },
        /* 404 */
        { "GET", "/api/nothing", NULL, me, 404, "not_found" },
        { "GET", "/elsewhere", NULL, me, 404, "not_found" },
        { "GET", "/api/users/@nobody_here/short", NULL, -1, 404, "not_found" },
        { "POST", "/api/messages", "{\"message\":\"x\",\"handle\":\"nobody_here\"}", me, 404,
          "not_found" },
        { "GET", "/api/messages/00000000-0000-4000-8000-000000000000", NULL, me, 404, "not_found" },
        /* 405 */
        { "DELETE", "/api/messages", NULL, me, 405, "method_not_allowed" },
        { "PUT", "/api/message_groups", "{}", me, 405, "method_not_allowed" },
        /* 422 */
        { "POST", "/api/messages", "{\"message\":\"   \",\"handle\":\"u5\"}", me, 422,
          "invalid_message" },
        { "POST", "/api/messages", "{\"message\":\"\\u00e9\\ud800\",\"handle\":\"u5\"}", me, 400,
          "bad_request" },
        { "POST", "/api/messages", "{\"message\":\"a\xc3\x28\",\"handle\":\"u5\"}", me, 422,
          "invalid_message" },
        { "POST", "/api/messages", "{\"message\":\"hi me\",\"handle\":\"u3\"}", me, 422,
          "invalid_recipient" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        call(&r, g_port, src, cases[i].who, cases[i].method, cases[i].path, cases[i].body);
        ck_assert_msg(r.status == cases[i].status, "case %zu (%s %s): %ld %s", i, cases[i].method,
                      cases[i].path, r.status, buf_cstr(&r.body));
        stack_assert_error(&r, cases[i].status, cases[i].code);
        http_res_free(&r);
    }
    /* the member rules: a stranger's POST into the conversation, and 1025 characters */
    body = post_body("message_group_uuid", g, "let me in");
    call(&r, g_port, src, stranger, "POST", "/api/messages", body);
    stack_assert_error(&r, 404, "not_found");
    http_res_free(&r);
    free(body);
    snprintf(path, sizeof path, "/api/messages/%s", g);
    call(&r, g_port, src, stranger, "GET", path, NULL);
    stack_assert_error(&r, 404, "not_found");
    http_res_free(&r);
    char longmsg[1100];
    memset(longmsg, 'a', 1025);
    longmsg[1025] = '\0';
    body = post_body("message_group_uuid", g, longmsg);
    call(&r, g_port, src, me, "POST", "/api/messages", body);
    stack_assert_error(&r, 422, "invalid_message");
    http_res_free(&r);
    free(body);
    /* 413: nginx's limit, answered as JSON */
    size_t n = 16 * 1024 + 1;
    char *big = malloc(n + 1);
    memset(big, 'a', n);
    big[n] = '\0';
    call(&r, g_port, src, me, "POST", "/api/messages", big);
    stack_assert_error(&r, 413, "body_too_large");
    http_res_free(&r);
    free(big);
    /* 503: DynamoDB down (Postgres up): the POST fails whole */
    body = post_body("message_group_uuid", g, "into the outage");
    call(&r, g_port_nodb, src, me, "POST", "/api/messages", body);
    stack_assert_error(&r, 503, "unavailable");
    http_res_free(&r);
    free(body);
    body = post_body("handle", g_stack.users[stranger].handle, "new during outage");
    call(&r, g_port_nodb, src, me, "POST", "/api/messages", body);
    stack_assert_error(&r, 503, "unavailable");
    http_res_free(&r);
    free(body);
    call(&r, g_port_nodb, src, -1, "GET", "/api/health-check?deep=1", NULL);
    ck_assert_int_eq(r.status, 503);
    http_res_free(&r);
    /* 503: Postgres down: the signed-in user cannot be looked up */
    body = post_body("message_group_uuid", g, "pg is down");
    call(&r, g_port_nopg, src, me, "POST", "/api/messages", body);
    stack_assert_error(&r, 503, "unavailable");
    http_res_free(&r);
    free(body);
    call(&r, g_port_nopg, src, -1, "GET", "/api/users/@mira/short", NULL);
    stack_assert_error(&r, 503, "unavailable");
    http_res_free(&r);
    /* nothing of any of it was written */
    ck_assert_int_eq(stack_count_messages(g), 1);
    ck_assert_int_eq(stack_count_group_rows(me), rows_me);
    ck_assert_int_eq(stack_count_group_rows(stranger), rows_st);
    ck_assert_int_eq(stack_count_messages("00000000-0000-4000-8000-000000000000"), 0);
}
END_TEST

/* ---- tokens that must get 401 ---------------------------------------------------------------- */

static long status_with(const char *token)
{
    char auth[9000];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
    const char *h[] = { auth, NULL };
    http_res r;
    stack_http(&r, g_port, NULL, "GET", "/api/message_groups", h, NULL, 0);
    long st = r.status;
    if (st == 401) {
        stack_assert_error(&r, 401, "unauthorized");
        ck_assert_ptr_null(strstr(buf_cstr(&r.body), token));
    }
    http_res_free(&r);
    return st;
}

static void b64(const char *s, size_t n, buf *out)
{
    buf_reset(out);
    ck_assert_int_eq(base64_encode(BASE64_URL, s, n, out), 0);
}

/* header.payload signed with HS256 under secret. */
static void hs256(const char *hdr, const char *payload, const void *secret, size_t secret_len,
                  buf *out)
{
    buf h, p, s;
    buf_init(&h, 0);
    buf_init(&p, 0);
    buf_init(&s, 0);
    b64(hdr, strlen(hdr), &h);
    b64(payload, strlen(payload), &p);
    buf_reset(out);
    buf_printf(out, "%s.%s", buf_cstr(&h), buf_cstr(&p));
    unsigned char mac[32];
    unsigned int maclen = 0;
    ck_assert_ptr_nonnull(HMAC(EVP_sha256(), secret, (int)secret_len,
                               (const unsigned char *)buf_cstr(out), out->len, mac, &maclen));
    b64((const char *)mac, maclen, &s);
    buf_printf(out, ".%s", buf_cstr(&s));
    buf_cleanup(&h);
    buf_cleanup(&p);
    buf_cleanup(&s);
}

START_TEST(tokens_that_get_401)
{
    errinfo e;
    devkey *k = NULL;
    ck_assert_msg(devkey_load(g_stack.keydir, &k, &e) == 0, "%s", e.msg);
    const char *sub = g_stack.users[MIRA].cognito_user_id;
    int64_t now = clock_real_us() / 1000000;
    char hdr[256], payload[1024];
    snprintf(hdr, sizeof hdr, "{\"kid\":\"%s\",\"alg\":\"RS256\"}", devkey_kid(k));
    buf t;
    buf_init(&t, 0);
#define PAYLOAD(iss, client, use, iat, exp)                                                        \
    snprintf(payload, sizeof payload,                                                              \
             "{\"sub\":\"%s\",\"iss\":\"%s\",\"client_id\":\"%s\",\"token_use\":\"%s\","           \
             "\"iat\":%lld,\"exp\":%lld}",                                                         \
             sub, iss, client, use, (long long)(iat), (long long)(exp))
#define SIGNED(expect)                                                                             \
    do {                                                                                           \
        buf_reset(&t);                                                                             \
        ck_assert(devkey_sign(k, strv_from(hdr), strv_from(payload), &t, &e) == 0);                \
        ck_assert_msg(status_with(buf_cstr(&t)) == (expect), "%s", payload);                       \
    } while (0)
    /* the control: a well-formed token of this shape is accepted */
    PAYLOAD(g_stack.issuer, STACK_CLIENT_ID, "access", now, now + 600);
    SIGNED(200);
    /* expired (beyond the 60 s leeway) */
    PAYLOAD(g_stack.issuer, STACK_CLIENT_ID, "access", now - 7200, now - 3600);
    SIGNED(401);
    /* not yet valid: issued an hour from now */
    PAYLOAD(g_stack.issuer, STACK_CLIENT_ID, "access", now + 3600, now + 7200);
    SIGNED(401);
    snprintf(payload, sizeof payload,
             "{\"sub\":\"%s\",\"iss\":\"%s\",\"client_id\":\"%s\",\"token_use\":\"access\","
             "\"nbf\":%lld,\"exp\":%lld}",
             sub, g_stack.issuer, STACK_CLIENT_ID, (long long)(now + 3600),
             (long long)(now + 7200));
    SIGNED(401);
    /* wrong issuer, wrong client, an id token */
    PAYLOAD("https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Other", STACK_CLIENT_ID,
            "access", now, now + 600);
    SIGNED(401);
    PAYLOAD(g_stack.issuer, "otherclient", "access", now, now + 600);
    SIGNED(401);
    snprintf(payload, sizeof payload,
             "{\"sub\":\"%s\",\"iss\":\"%s\",\"aud\":\"%s\",\"token_use\":\"id\","
             "\"iat\":%lld,\"exp\":%lld}",
             sub, g_stack.issuer, STACK_CLIENT_ID, (long long)now, (long long)(now + 600));
    SIGNED(401);
    /* unknown kid: the same key under another kid, and another key altogether */
    PAYLOAD(g_stack.issuer, STACK_CLIENT_ID, "access", now, now + 600);
    snprintf(hdr, sizeof hdr, "{\"kid\":\"no-such-kid\",\"alg\":\"RS256\"}");
    SIGNED(401);
    char otherdir[400];
    snprintf(otherdir, sizeof otherdir, "%s/otherkey", g_stack.dir);
    devkey *k2 = NULL;
    ck_assert_msg(devkey_generate(otherdir, &k2, &e) == 0, "%s", e.msg);
    devkey_claims c = { .sub = sub, .issuer = g_stack.issuer, .client_id = STACK_CLIENT_ID };
    buf_reset(&t);
    ck_assert(devkey_mint(k2, &c, &t, &e) == 0);
    ck_assert_int_eq(status_with(buf_cstr(&t)), 401);
    devkey_free(k2);
    /* alg none */
    snprintf(hdr, sizeof hdr, "{\"kid\":\"%s\",\"alg\":\"RS256\"}", devkey_kid(k));
    buf h64, p64;
    buf_init(&h64, 0);
    buf_init(&p64, 0);
    const char none_hdr[] = "{\"alg\":\"none\",\"typ\":\"JWT\"}";
    b64(none_hdr, strlen(none_hdr), &h64);
    b64(payload, strlen(payload), &p64);
    buf_reset(&t);
    buf_printf(&t, "%s.%s.", buf_cstr(&h64), buf_cstr(&p64));
    ck_assert_int_eq(status_with(buf_cstr(&t)), 401);
    /* HS256 with the public key as the secret: its PEM, and the JWKS document */
    char hs_hdr[256];
    snprintf(hs_hdr, sizeof hs_hdr, "{\"kid\":\"%s\",\"alg\":\"HS256\"}", devkey_kid(k));
    char pem_path[400];
    snprintf(pem_path, sizeof pem_path, "%s/%s", g_stack.keydir, DEVKEY_PEM_NAME);
    FILE *f = fopen(pem_path, "r");
    ck_assert_ptr_nonnull(f);
    EVP_PKEY *pk = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    ck_assert_ptr_nonnull(pk);
    BIO *bio = BIO_new(BIO_s_mem());
    ck_assert_int_eq(PEM_write_bio_PUBKEY(bio, pk), 1);
    char *pub = NULL;
    long publen = BIO_get_mem_data(bio, &pub);
    hs256(hs_hdr, payload, pub, (size_t)publen, &t);
    ck_assert_int_eq(status_with(buf_cstr(&t)), 401);
    BIO_free(bio);
    EVP_PKEY_free(pk);
    buf jw;
    buf_init(&jw, 0);
    ck_assert(devkey_jwks_json(k, &jw, &e) == 0);
    hs256(hs_hdr, payload, jw.data, jw.len, &t);
    ck_assert_int_eq(status_with(buf_cstr(&t)), 401);
    buf_cleanup(&jw);
    /* tampered payload: the signed token with another user's sub swapped in */
    buf_reset(&t);
    ck_assert(devkey_sign(k, strv_from(hdr), strv_from(payload), &t, &e) == 0);
    ck_assert_int_eq(status_with(buf_cstr(&t)), 200);
    char *good = buf_take(&t);
    char *sig = strrchr(good, '.');
    char tampered[4096];
    snprintf(payload, sizeof payload,
             "{\"sub\":\"%s\",\"iss\":\"%s\",\"client_id\":\"%s\",\"token_use\":\"access\","
             "\"iat\":%lld,\"exp\":%lld}",
             g_stack.users[TOMASZ].cognito_user_id, g_stack.issuer, STACK_CLIENT_ID, (long long)now,
             (long long)(now + 600));
    b64(payload, strlen(payload), &p64);
    snprintf(tampered, sizeof tampered, "%.*s.%s%s", (int)(strchr(good, '.') - good), good,
             buf_cstr(&p64), sig);
    ck_assert_int_eq(status_with(tampered), 401);
    /* one character of the payload flipped */
    snprintf(tampered, sizeof tampered, "%s", good);
    char *dot = strchr(tampered, '.');
    dot[3] = dot[3] == 'A' ? 'B' : 'A';
    ck_assert_int_eq(status_with(tampered), 401);
    /* truncated: the signature cut short, cut off, the last part gone */
    size_t gl = strlen(good);
    snprintf(tampered, sizeof tampered, "%.*s", (int)(gl - 8), good);
    ck_assert_int_eq(status_with(tampered), 401);
    snprintf(tampered, sizeof tampered, "%.*s", (int)(sig - good + 1), good);
    ck_assert_int_eq(status_with(tampered), 401);
    snprintf(tampered, sizeof tampered, "%.*s", (int)(sig - good), good);
    ck_assert_int_eq(status_with(tampered), 401);
    snprintf(tampered, sizeof tampered, "%.*s", (int)(gl / 2), good);
    ck_assert_int_eq(status_with(tampered), 401);
    /* garbage */
    static const char *const garbage[] = {
        "garbage",
        "a.b.c",
        "..",
        "...",
        "e30.e30.e30",
        "eyJhbGciOiJSUzI1NiJ9.e30.",
        "%%%%.%%%%.%%%%",
        "null",
        "{\"alg\":\"RS256\"}",
    };
    for (size_t i = 0; i < sizeof garbage / sizeof garbage[0]; i++)
        ck_assert_msg(status_with(garbage[i]) == 401, "%s", garbage[i]);
    /* no token, another scheme */
    const char *basic[] = { "Authorization: Basic bWlyYTpwYXNz", NULL };
    http_res r;
    stack_http(&r, g_port, NULL, "GET", "/api/message_groups", basic, NULL, 0);
    stack_assert_error(&r, 401, "unauthorized");
    http_res_free(&r);
    stack_http(&r, g_port, NULL, "GET", "/api/message_groups", NULL, NULL, 0);
    stack_assert_error(&r, 401, "unauthorized");
    http_res_free(&r);
    free(good);
    buf_cleanup(&h64);
    buf_cleanup(&p64);
    buf_cleanup(&t);
    devkey_free(k);
#undef PAYLOAD
#undef SIGNED
}
END_TEST

/* ---- one conversation per pair ---------------------------------------------------------------- */

static void pair_pk(int a, int b, char out[100])
{
    const char *x = g_stack.users[a].uuid, *y = g_stack.users[b].uuid;
    if (strcmp(x, y) > 0) {
        const char *t = x;
        x = y;
        y = t;
    }
    snprintf(out, 100, "PAIR#%s#%s", x, y);
}

/* n concurrent first messages, from a to b by handle (and from b to a when both); every
 * answer 200 with the same group, which goes into group. */
static void concurrent_firsts(int a, int b, int n, bool both, const char *src, char group[37])
{
    char *bodies[64], auth[2][2200];
    const char *auths[64];
    long status[64];
    buf out[64];
    snprintf(auth[0], sizeof auth[0], "Authorization: Bearer %s", g_stack.tokens[a]);
    snprintf(auth[1], sizeof auth[1], "Authorization: Bearer %s", g_stack.tokens[b]);
    for (int i = 0; i < n; i++) {
        bool rev = both && (i % 2 == 1);
        char m[32];
        snprintf(m, sizeof m, "first %d", i);
        bodies[i] = post_body("handle", g_stack.users[rev ? a : b].handle, m);
        auths[i] = auth[rev ? 1 : 0];
    }
    call_many(n, src, auths, "POST", "/api/messages", bodies, status, out);
    (void)out;
    for (int i = 0; i < n; i++) {
        ck_assert_msg(status[i] == 200, "request %d: %ld", i, status[i]);
        free(bodies[i]);
        buf_cleanup(&out[i]);
    }
    /* the one conversation, as each side lists it */
    json_t *ja = call_json(a, "GET", "/api/message_groups?limit=100", NULL, 200);
    json_t *jb = call_json(b, "GET", "/api/message_groups?limit=100", NULL, 200);
    int na = 0, nb = 0;
    for (size_t i = 0; i < json_array_size(ja); i++)
        if (strcmp(jstr(json_array_get(ja, i), "handle"), g_stack.users[b].handle) == 0) {
            na++;
            snprintf(group, 37, "%s", jstr(json_array_get(ja, i), "uuid"));
        }
    for (size_t i = 0; i < json_array_size(jb); i++)
        if (strcmp(jstr(json_array_get(jb, i), "handle"), g_stack.users[a].handle) == 0) {
            nb++;
            ck_assert_str_eq(jstr(json_array_get(jb, i), "uuid"), group);
        }
    ck_assert_msg(na == 1 && nb == 1, "conversations between them: %d and %d", na, nb);
    json_decref(ja);
    json_decref(jb);
}

START_TEST(concurrent_first_messages_make_one_conversation)
{
    const int a = U0 + 6, b = U0 + 7;
    char g[37], pk[100];
    concurrent_firsts(a, b, 20, false, "127.0.0.12", g);
    ck_assert_int_eq(stack_count_group_rows(a), 1);
    ck_assert_int_eq(stack_count_group_rows(b), 1);
    ck_assert_int_eq(stack_count_messages(g), 20);
    pair_pk(a, b, pk);
    ck_assert_int_eq(stack_count_pk(pk), 1);
    /* both directions at once, another pair */
    concurrent_firsts(U0 + 8, U0 + 9, 20, true, "127.0.0.13", g);
    ck_assert_int_eq(stack_count_group_rows(U0 + 8), 1);
    ck_assert_int_eq(stack_count_group_rows(U0 + 9), 1);
    ck_assert_int_eq(stack_count_messages(g), 20);
}
END_TEST

START_TEST(boto3_era_conversation_is_found)
{
    /* written as the original code did: both group rows and a message, no pair item */
    const int a = U0 + 10, b = U0 + 11;
    messaging_user ma = { g_stack.users[a].uuid, g_stack.users[a].display_name,
                          g_stack.users[a].handle };
    messaging_user mb = { g_stack.users[b].uuid, g_stack.users[b].display_name,
                          g_stack.users[b].handle };
    char legacy[37], msg[37], ts[MESSAGING_TS_LEN], pk[100];
    rnd_uuid4(legacy);
    rnd_uuid4(msg);
    messaging_now(ts);
    ddb_error err;
    json_t *legacy_rows =
        messaging_create_group_actions(g_stack.table, legacy, msg, ts, &ma, &mb, "from boto3");
    ck_assert_ptr_nonnull(legacy_rows);
    ck_assert_msg(ddb_transact_write(g_stack.ddb, legacy_rows, msg, &err) == 0, "%s", err.info.msg);
    json_decref(legacy_rows);
    pair_pk(a, b, pk);
    ck_assert_int_eq(stack_count_pk(pk), 0);
    char g[37];
    concurrent_firsts(a, b, 12, true, "127.0.0.14", g);
    ck_assert_str_eq(g, legacy);
    ck_assert_int_eq(stack_count_group_rows(a), 1);
    ck_assert_int_eq(stack_count_group_rows(b), 1);
    ck_assert_int_eq(stack_count_messages(legacy), 13);
    /* the pair item was filled in, pointing at the old conversation */
    json_t *key = json_pack("{s:{s:s}, s:{s:s}}", "pk", "S", pk, "sk", "S", "PAIR");
    json_t *item = NULL;
    ck_assert(ddb_get_item(g_stack.ddb, g_stack.table, key, true, &item, &err) == 0);
    ck_assert_ptr_nonnull(item);
    ck_assert_str_eq(ddb_av_get_s(item, "pair_group_uuid"), legacy);
    ck_assert_ptr_null(json_object_get(item, "message_group_uuid")); /* not in the GSI */
    json_decref(item);
    json_decref(key);
}
END_TEST

START_TEST(brand_new_conversation_readable_by_both_at_once)
{
    const int a = U0 + 12;
    char path[128];
    for (int i = 0; i < 6; i++) {
        int b = U0 + 13 + i;
        char g[37];
        new_conversation(a, b, "127.0.0.15", "fresh", g);
        snprintf(path, sizeof path, "/api/messages/%s", g);
        json_t *j = call_json(b, "GET", path, NULL, 200);
        ck_assert_int_eq(json_array_size(j), 1);
        json_decref(j);
        j = call_json(a, "GET", path, NULL, 200);
        json_decref(j);
        char *body = post_body("message_group_uuid", g, "reply at once");
        j = call_json(b, "POST", "/api/messages", body, 200);
        free(body);
        json_decref(j);
        /* and a third user is still a stranger */
        http_res r;
        call(&r, g_port, NULL, MIRA, "GET", path, NULL);
        stack_assert_error(&r, 404, "not_found");
        http_res_free(&r);
    }
    /* a group with only the other member's row (half of a conversation): not mine */
    messaging_user other = { g_stack.users[U0 + 20].uuid, "x", "u20" };
    char half[37], ts[MESSAGING_TS_LEN];
    rnd_uuid4(half);
    messaging_now(ts);
    json_t *row = messaging_group_item(g_stack.users[U0 + 21].uuid, ts, half, &other, "m");
    ddb_error err;
    ck_assert(ddb_put_item(g_stack.ddb, g_stack.table, row, NULL, &err) == 0);
    json_decref(row);
    snprintf(path, sizeof path, "/api/messages/%s", half);
    http_res r;
    call(&r, g_port, NULL, U0 + 20, "GET", path, NULL);
    stack_assert_error(&r, 404, "not_found");
    http_res_free(&r);
}
END_TEST

/* ---- the request log line -------------------------------------------------------------------- */

/* The log line of request id (waits up to 3 s: it is written after the answer). */
static json_t *log_line(const char *log, const char *id)
{
    int64_t deadline = clock_mono_ms() + 3000;
    do {
        FILE *f = fopen(log, "r");
        ck_assert_ptr_nonnull(f);
        char line[8192];
        json_t *found = NULL;
        while (!found && fgets(line, sizeof line, f)) {
            if (!strstr(line, id))
                continue;
            json_error_t je;
            json_t *j = json_loads(line, 0, &je);
            ck_assert_msg(j != NULL, "log line is not JSON: %s", line);
            const char *rid = json_string_value(json_object_get(j, "request_id"));
            if (rid && strcmp(rid, id) == 0)
                found = j;
            else
                json_decref(j);
        }
        fclose(f);
        if (found)
            return found;
        stack_sleep_ms(50);
    } while (clock_mono_ms() < deadline);
    ck_abort_msg("no log line for request %s", id);
    return NULL;
}

static bool file_has(const char *path, const char *needle)
{
    buf b;
    buf_init(&b, 0);
    stack_read_file(path, &b);
    bool has = strstr(buf_cstr(&b), needle) != NULL;
    buf_cleanup(&b);
    return has;
}

START_TEST(request_log_line)
{
    const int me = MIRA;
    char g[37], id[64], secret[64], uid[37];
    rnd_uuid4(uid);
    snprintf(secret, sizeof secret, "secret text %s", uid);
    new_conversation(me, U0 + 19, NULL, "log start", g);
    /* an authenticated POST with our own request id */
    snprintf(id, sizeof id, "logtest-%.8s", uid);
    char auth[2200], rid[100];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", g_stack.tokens[me]);
    snprintf(rid, sizeof rid, "X-Request-Id: %s", id);
    const char *h[] = { auth, rid, "Content-Type: application/json", NULL };
    char *body = post_body("message_group_uuid", g, secret);
    http_res r;
    stack_http(&r, g_port, NULL, "POST", "/api/messages", h, body, strlen(body));
    free(body);
    ck_assert_int_eq(r.status, 200);
    char v[100];
    ck_assert(stack_header(&r.head, "X-Request-Id", v, sizeof v));
    ck_assert_str_eq(v, id);
    http_res_free(&r);
    json_t *j = log_line(g_api.log, id);
    ck_assert(json_is_string(json_object_get(j, "time")));
    ck_assert_str_eq(jstr(j, "event"), "request");
    ck_assert_str_eq(jstr(j, "method"), "POST");
    ck_assert_str_eq(jstr(j, "route"), "/api/messages");
    ck_assert_int_eq(json_integer_value(json_object_get(j, "status")), 200);
    ck_assert(json_is_integer(json_object_get(j, "duration_us")));
    ck_assert_int_gt(json_integer_value(json_object_get(j, "duration_us")), 0);
    ck_assert_str_eq(jstr(j, "user"), g_stack.users[me].uuid);
    json_decref(j);
    /* a GET: the route is the pattern, not the path */
    snprintf(id, sizeof id, "logtest-get-%.8s", uid);
    snprintf(rid, sizeof rid, "X-Request-Id: %s", id);
    char path[128];
    snprintf(path, sizeof path, "/api/messages/%s", g);
    stack_http(&r, g_port, NULL, "GET", path, h, NULL, 0);
    ck_assert_int_eq(r.status, 200);
    http_res_free(&r);
    j = log_line(g_api.log, id);
    ck_assert_str_eq(jstr(j, "method"), "GET");
    ck_assert_str_eq(jstr(j, "route"), "/api/messages/{uuid}");
    ck_assert_str_eq(jstr(j, "user"), g_stack.users[me].uuid);
    json_decref(j);
    /* anonymous, and a rejected token: no user */
    snprintf(id, sizeof id, "logtest-anon-%.8s", uid);
    snprintf(rid, sizeof rid, "X-Request-Id: %s", id);
    const char *h2[] = { rid, "Authorization: Bearer not.a.token-with-secret", NULL };
    stack_http(&r, g_port, NULL, "GET", "/api/message_groups", h2, NULL, 0);
    ck_assert_int_eq(r.status, 401);
    http_res_free(&r);
    j = log_line(g_api.log, id);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "status")), 401);
    ck_assert(json_is_null(json_object_get(j, "user")));
    json_decref(j);
    /* no request id of ours: nginx's own is used and returned */
    stack_http(&r, g_port, NULL, "GET", "/api/health-check", NULL, NULL, 0);
    ck_assert(stack_header(&r.head, "X-Request-Id", v, sizeof v));
    http_res_free(&r);
    j = log_line(g_api.log, v);
    ck_assert_str_eq(jstr(j, "route"), "/api/health-check");
    json_decref(j);
    /* never the token, the message text or the bad token */
    ck_assert(!file_has(g_api.log, g_stack.tokens[me]));
    ck_assert(!file_has(g_api.log, secret));
    ck_assert(!file_has(g_api.log, "not.a.token-with-secret"));
    ck_assert(!file_has(g_api.log, "Hi Tomasz"));
}
END_TEST

/* ---- nginx's rate limit on POST ---------------------------------------------------------------- */

START_TEST(post_rate_limit_429)
{
    const int n = 40;
    long status[64];
    buf out[64];
    char *bodies[64];
    for (int i = 0; i < n; i++)
        bodies[i] = (char *)"{\"message\":\"x\",\"handle\":\"mira\"}";
    /* anonymous: the API answers 401 at once, so only nginx's limit decides */
    call_many(n, "127.0.0.16", NULL, "POST", "/api/messages", bodies, status, out);
    int limited = 0, passed = 0;
    for (int i = 0; i < n; i++) {
        if (status[i] == 429)
            limited++;
        else if (status[i] == 401)
            passed++;
        buf_cleanup(&out[i]);
    }
    /* 1 + burst 20 at once, a few more as the 10 r/s bucket refills */
    ck_assert_msg(passed >= 21 && passed <= 30 && limited == n - passed, "passed %d, limited %d",
                  passed, limited);
    http_res r;
    call(&r, g_port, "127.0.0.16", -1, "POST", "/api/messages", "{}");
    stack_assert_error(&r, 429, "rate_limited");
    http_res_free(&r);
    /* GETs from the same client are not limited, nor POSTs from another */
    for (int i = 0; i < 5; i++) {
        call(&r, g_port, "127.0.0.16", -1, "GET", "/api/health-check", NULL);
        ck_assert_int_eq(r.status, 200);
        http_res_free(&r);
    }
    call(&r, g_port, "127.0.0.17", -1, "POST", "/api/messages", "{}");
    stack_assert_error(&r, 401, "unauthorized");
    http_res_free(&r);
}
END_TEST

/* ---- request ids: the API's form only, one id in every log ------------------------------- */

static bool is_hex32(const char *s)
{
    size_t n = strlen(s);
    return n == 32 && strspn(s, "0123456789abcdef") == n;
}

static void access_log_path(const char *nginx, char out[600])
{
    snprintf(out, 600, "%s/%s/logs/access.log", g_stack.dir, nginx);
}

/* A GET of path from src with X-Request-Id: id (NULL: none); the answer's id into got. */
static long get_with_id(int port, const char *src, const char *path, const char *id,
                        const char *xff, char got[100])
{
    char rid[200], fwd[200];
    const char *h[3] = { NULL, NULL, NULL };
    int k = 0;
    if (id) {
        snprintf(rid, sizeof rid, "X-Request-Id: %s", id);
        h[k++] = rid;
    }
    if (xff) {
        snprintf(fwd, sizeof fwd, "X-Forwarded-For: %s", xff);
        h[k++] = fwd;
    }
    http_res r;
    stack_http(&r, port, src, "GET", path, h, NULL, 0);
    got[0] = '\0';
    ck_assert_msg(stack_header(&r.head, "X-Request-Id", got, 100), "no X-Request-Id:\n%s",
                  buf_cstr(&r.head));
    long st = r.status;
    http_res_free(&r);
    return st;
}

START_TEST(request_id_only_in_the_api_form)
{
    char access[600], a36[37], a37[38], a8[9] = "abc-_.89";
    access_log_path("nginx", access);
    memset(a36, 'a', 36);
    a36[36] = '\0';
    memset(a37, 'b', 37);
    a37[37] = '\0';
    const char *bad[] = { "short",
                          "abcdefg",
                          a37,
                          "has space in it",
                          "quote\"in-it-123",
                          "<script>alert(1)</script>",
                          "caf\xc3\xa9-1234567",
                          "semi;colon-123" };
    enum {
        NB = sizeof bad / sizeof bad[0]
    };
    char api_ids[NB][100], ngx_ids[NB][100];
    /* malformed: nginx's own $request_id, in the answer, the API's log and nginx's log */
    for (size_t i = 0; i < NB; i++) {
        ck_assert_int_eq(get_with_id(g_port, NULL, "/api/health-check", bad[i], NULL, api_ids[i]),
                         200);
        ck_assert_msg(is_hex32(api_ids[i]), "id '%s' for '%s'", api_ids[i], bad[i]);
        /* nginx's own answers (a 404 of its own) too */
        ck_assert_int_eq(get_with_id(g_port, NULL, "/not-the-api", bad[i], NULL, ngx_ids[i]), 404);
        ck_assert_msg(is_hex32(ngx_ids[i]), "id '%s' for '%s'", ngx_ids[i], bad[i]);
    }
    /* well-formed (8 and 36 characters, every allowed one): kept everywhere */
    const char *good[] = { a8, a36, "Req.ID_0-9xyz" };
    enum {
        NG = sizeof good / sizeof good[0]
    };
    for (size_t i = 0; i < NG; i++) {
        char got[100];
        ck_assert_int_eq(get_with_id(g_port, NULL, "/api/health-check", good[i], NULL, got), 200);
        ck_assert_str_eq(got, good[i]);
        ck_assert_int_eq(get_with_id(g_port, NULL, "/not-the-api", good[i], NULL, got), 404);
        ck_assert_str_eq(got, good[i]);
    }
    for (size_t i = 0; i < NB; i++) {
        json_t *j = log_line(g_api.log, api_ids[i]);
        ck_assert_str_eq(jstr(j, "route"), "/api/health-check");
        json_decref(j);
        j = log_line(access, api_ids[i]);
        ck_assert_str_eq(jstr(j, "uri"), "/api/health-check");
        json_decref(j);
        j = log_line(access, ngx_ids[i]);
        ck_assert_int_eq(json_integer_value(json_object_get(j, "status")), 404);
        json_decref(j);
    }
    for (size_t i = 0; i < NG; i++) {
        json_t *j = log_line(g_api.log, good[i]);
        json_decref(j);
        j = log_line(access, good[i]);
        json_decref(j);
    }
    /* the client's bytes are in neither log */
    for (size_t i = 2; i < NB; i++) {
        ck_assert_msg(!file_has(access, bad[i]), "%s in the access log", bad[i]);
        ck_assert_msg(!file_has(g_api.log, bad[i]), "%s in the API's log", bad[i]);
    }
}
END_TEST

/* ---- nginx's rate limits: per client behind trusted proxies, GET too --------------------- */

/* n concurrent anonymous POSTs to port from src, request i with extra[i]; how many the API
 * answered (401) into *passed, how many nginx limited (429) into *limited. */
static void post_flood(int port, int n, const char *src, const char *const *extra, int *passed,
                       int *limited)
{
    long status[64];
    buf out[64];
    char *bodies[64];
    for (int i = 0; i < n; i++)
        bodies[i] = (char *)"{\"message\":\"x\",\"handle\":\"mira\"}";
    call_many_to(port, n, src, extra, "POST", "/api/messages", bodies, status, out);
    *passed = *limited = 0;
    for (int i = 0; i < n; i++) {
        if (status[i] == 429)
            (*limited)++;
        else if (status[i] == 401)
            (*passed)++;
        buf_cleanup(&out[i]);
    }
}

START_TEST(trusted_proxy_gives_each_client_its_bucket)
{
    int port = stack_free_port();
    stack_nginx_options o = { .real_ip_from = "127.0.0.1 ::1" };
    pid_t ng = stack_nginx_start_opts("nginx-proxy", port, &g_api, &o);
    ck_assert_int_gt(ng, 0);
    char access[600], uid[37], id[64], got[100];
    access_log_path("nginx-proxy", access);
    rnd_uuid4(uid);
    const int n = 40;
    const char *xff[64];
    char xffs[64][64];
    /* client A behind the trusted proxy 127.0.0.1 uses up its POST bucket */
    for (int i = 0; i < n; i++)
        xff[i] = "X-Forwarded-For: 203.0.113.7";
    int passed, limited;
    post_flood(port, n, "127.0.0.1", xff, &passed, &limited);
    ck_assert_msg(passed >= 21 && passed <= 30 && limited == n - passed, "A: passed %d, limited %d",
                  passed, limited);
    /* client B behind the same proxy has its own */
    xff[0] = "X-Forwarded-For: 203.0.113.8";
    post_flood(port, 1, "127.0.0.1", xff, &passed, &limited);
    ck_assert_msg(passed == 1, "B was limited with A");
    /* an untrusted peer's X-Forwarded-For changes nothing: one bucket however it varies */
    for (int i = 0; i < n; i++) {
        snprintf(xffs[i], sizeof xffs[i], "X-Forwarded-For: 198.51.100.%d", i + 1);
        xff[i] = xffs[i];
    }
    post_flood(port, n, "127.0.0.20", xff, &passed, &limited);
    ck_assert_msg(passed >= 21 && passed <= 30 && limited == n - passed,
                  "untrusted: passed %d, limited %d", passed, limited);
    /* the client address in nginx's log: the forwarded one only from the trusted proxy */
    snprintf(id, sizeof id, "xff-trusted-%.8s", uid);
    get_with_id(port, "127.0.0.1", "/api/health-check", id, "192.0.2.1, 203.0.113.9", got);
    json_t *j = log_line(access, id);
    ck_assert_str_eq(jstr(j, "remote"), "203.0.113.9");
    json_decref(j);
    snprintf(id, sizeof id, "xff-untrusted-%.8s", uid);
    get_with_id(port, "127.0.0.20", "/api/health-check", id, "203.0.113.9", got);
    j = log_line(access, id);
    ck_assert_str_eq(jstr(j, "remote"), "127.0.0.20");
    json_decref(j);
    stack_stop(&ng, SIGTERM);
    /* without trusted proxies (the default) X-Forwarded-For is ignored */
    for (int i = 0; i < n; i++)
        xff[i] = "X-Forwarded-For: 203.0.113.10";
    post_flood(g_port, n, "127.0.0.1", xff, &passed, &limited);
    for (int i = 0; i < 10; i++)
        xff[i] = "X-Forwarded-For: 203.0.113.11";
    post_flood(g_port, 10, "127.0.0.1", xff, &passed, &limited);
    ck_assert_msg(limited >= 5,
                  "X-Forwarded-For chose the bucket without a trusted proxy: "
                  "passed %d, limited %d",
                  passed, limited);
}
END_TEST

START_TEST(get_rate_limit_429)
{
    const char *src = "127.0.0.21";
    const char *h[] = { "Origin: " STACK_FRONTEND_URL, NULL };
    int passed = 0, limited = 0, first_limited = -1;
    http_res r, hit;
    memset(&hit, 0, sizeof hit);
    /* one after the other, as fast as they come: 1 + burst 100 at once, then 50 r/s */
    for (int i = 0; i < 2000 && limited < 20; i++) {
        stack_http(&r, g_port, src, "GET", "/api/health-check", h, NULL, 0);
        if (r.status == 429) {
            if (limited++ == 0) {
                first_limited = i;
                hit = r;
                continue;
            }
        } else {
            ck_assert_msg(r.status == 200, "%ld %s", r.status, buf_cstr(&r.body));
            passed++;
        }
        http_res_free(&r);
    }
    ck_assert_msg(first_limited >= 101, "limited after %d GETs", first_limited);
    ck_assert_int_eq(limited, 20);
    stack_assert_error(&hit, 429, "rate_limited");
    char v[128];
    ck_assert(stack_header(&hit.head, "Retry-After", v, sizeof v));
    ck_assert_str_eq(v, "1");
    ck_assert(stack_header(&hit.head, "Access-Control-Allow-Origin", v, sizeof v));
    ck_assert_str_eq(v, STACK_FRONTEND_URL);
    ck_assert(stack_header(&hit.head, "Access-Control-Expose-Headers", v, sizeof v));
    ck_assert(stack_header(&hit.head, "Vary", v, sizeof v));
    ck_assert_str_eq(v, "Origin");
    ck_assert(stack_header(&hit.head, "X-Request-Id", v, sizeof v));
    http_res_free(&hit);
    /* POSTs have their own bucket; other clients are not limited */
    call(&r, g_port, src, -1, "POST", "/api/messages", "{}");
    stack_assert_error(&r, 401, "unauthorized");
    http_res_free(&r);
    call(&r, g_port, "127.0.0.22", -1, "GET", "/api/health-check", NULL);
    ck_assert_int_eq(r.status, 200);
    http_res_free(&r);
}
END_TEST

/* ---- other sockets: TCP, spawn-fcgi's fd 0, systemd's fd 3 -------------------------------------- */

static void expect_health(const stack_api *a)
{
    buf out;
    buf_init(&out, 0);
    int st = stack_fcgi(a, "GET", "/api/health-check?deep=1", NULL, 0, &out);
    ck_assert_msg(st == 200, "%s", buf_cstr(&out));
    json_t *j = json_loads(stack_cgi_body(&out), 0, NULL);
    ck_assert_ptr_nonnull(j);
    ck_assert(json_is_true(json_object_get(j, "success")));
    json_decref(j);
    buf_cleanup(&out);
}

START_TEST(tcp_listen_behind_nginx)
{
    stack_api a;
    ck_assert_int_eq(stack_api_start(&a, STACK_TCP, "api-tcp", 2, NULL), 0);
    expect_health(&a);
    int port = stack_free_port();
    pid_t ng = stack_nginx_start("nginx-tcp", port, &a);
    ck_assert_int_gt(ng, 0);
    http_res r;
    call(&r, port, NULL, TOMASZ, "GET", "/api/message_groups", NULL);
    ck_assert_msg(r.status == 200, "%ld %s", r.status, buf_cstr(&r.body));
    http_res_free(&r);
    call(&r, port, NULL, -1, "GET", "/api/health-check", NULL);
    ck_assert_int_eq(r.status, 200);
    http_res_free(&r);
    stack_stop(&ng, SIGTERM);
    stack_stop(&a.pid, SIGTERM);
}
END_TEST

START_TEST(inherited_socket_fd0_and_systemd)
{
    stack_api a;
    ck_assert_int_eq(stack_api_start(&a, STACK_FD0, "api-fd0", 2, NULL), 0);
    for (int i = 0; i < 4; i++)
        expect_health(&a);
    int port = stack_free_port();
    pid_t ng = stack_nginx_start("nginx-fd0", port, &a);
    ck_assert_int_gt(ng, 0);
    http_res r;
    call(&r, port, NULL, MIRA, "GET", "/api/message_groups", NULL);
    ck_assert_int_eq(r.status, 200);
    http_res_free(&r);
    stack_stop(&ng, SIGTERM);
    stack_stop(&a.pid, SIGTERM);
    ck_assert_int_eq(access(a.sock, F_OK), 0); /* not ours to remove */

    ck_assert_int_eq(stack_api_start(&a, STACK_SYSTEMD, "api-systemd", 2, NULL), 0);
    for (int i = 0; i < 4; i++)
        expect_health(&a);
    stack_stop(&a.pid, SIGTERM);
    /* LISTEN_PID naming another process: not ours, and no other socket configured */
    char exe[1200];
    snprintf(exe, sizeof exe, "%s/src/api/cruddur-api", g_stack.builddir);
    char cmd[1600];
    snprintf(cmd, sizeof cmd,
             "LISTEN_FDS=1 LISTEN_PID=1 CRUDDUR_FCGI_SOCKET= CRUDDUR_FCGI_LISTEN= "
             "'%s' </dev/null 3</dev/null 2>/dev/null",
             exe);
    int rc = system(cmd);
    ck_assert_msg(WIFEXITED(rc) && WEXITSTATUS(rc) == 1, "status %d", rc);
}
END_TEST

/* ---- the run -------------------------------------------------------------------------------- */

static void teardown_all(void)
{
    stack_stop(&g_nginx, SIGTERM);
    stack_stop(&g_nginx_nodb, SIGTERM);
    stack_stop(&g_nginx_nopg, SIGTERM);
    stack_stop(&g_api.pid, SIGTERM);
    stack_stop(&g_api_nodb.pid, SIGTERM);
    stack_stop(&g_api_nopg.pid, SIGTERM);
    stack_cleanup();
}

static int setup_all(void)
{
    if (stack_init("live-api-http") != 0)
        return -1;
    const char *nodb[] = { "AWS_ENDPOINT_URL=http://127.0.0.1:1", "CRUDDUR_DDB_MAX_ATTEMPTS=1",
                           NULL };
    const char *nopg[] = { "CONNECTION_URL=postgresql://cruddur@127.0.0.1:1/none"
                           "?connect_timeout=2",
                           NULL };
    if (stack_api_start(&g_api, STACK_UNIX, "api", 4, NULL) != 0 ||
        stack_api_start(&g_api_nodb, STACK_UNIX, "api-nodb", 1, nodb) != 0 ||
        stack_api_start(&g_api_nopg, STACK_UNIX, "api-nopg", 1, nopg) != 0)
        return -1;
    g_port = stack_free_port();
    g_nginx = stack_nginx_start("nginx", g_port, &g_api);
    g_port_nodb = stack_free_port();
    g_nginx_nodb = stack_nginx_start("nginx-nodb", g_port_nodb, &g_api_nodb);
    g_port_nopg = stack_free_port();
    g_nginx_nopg = stack_nginx_start("nginx-nopg", g_port_nopg, &g_api_nopg);
    return g_nginx < 0 || g_nginx_nodb < 0 || g_nginx_nopg < 0 ? -1 : 0;
}

static Suite *live_api_http_suite(void)
{
    Suite *s = suite_create("live_api_http");
    TCase *tc = tcase_create("flow");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, flow_new_conversation_reply_and_lists);
    tcase_add_test(tc, paging_through_120_messages);
    suite_add_tcase(s, tc);
    tc = tcase_create("errors");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, every_error_status_json_and_nothing_written);
    tcase_add_test(tc, tokens_that_get_401);
    suite_add_tcase(s, tc);
    tc = tcase_create("pairs");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, concurrent_first_messages_make_one_conversation);
    tcase_add_test(tc, boto3_era_conversation_is_found);
    tcase_add_test(tc, brand_new_conversation_readable_by_both_at_once);
    suite_add_tcase(s, tc);
    tc = tcase_create("operations");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, request_log_line);
    tcase_add_test(tc, post_rate_limit_429);
    tcase_add_test(tc, request_id_only_in_the_api_form);
    tcase_add_test(tc, trusted_proxy_gives_each_client_its_bucket);
    tcase_add_test(tc, get_rate_limit_429);
    tcase_add_test(tc, tcp_listen_behind_nginx);
    tcase_add_test(tc, inherited_socket_fd0_and_systemd);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return stack_main("live_api_http", setup_all, teardown_all, live_api_http_suite);
}
