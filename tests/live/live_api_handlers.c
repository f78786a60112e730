/* live_api_handlers.c — cruddur-api's resource handlers through api_route() (no FastCGI)
 * against DynamoDB Local and PostgreSQL: the front end's conversation flow, paging, the
 * membership rule, bad input, idempotent POSTs, tokens, and `cruddur token`; plus the pure
 * cursor codec. Uses its own table and database, both removed at the end. */
#include "config.h"

#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "api/api.h"
#include "api/cursor.h"
#include "api/members.h"
#include "auth/devkey.h"
#include "aws/cognito.h"
#include "aws/ddb_av.h"
#include "base/base64.h"
#include "base/clock.h"
#include "base/embed.h"
#include "base/rnd.h"
#include "cli_run.h"
#include "live.h"
#include "pg.h"
#include "stack.h"
#include "support_server.h"
#include "messaging/messaging.h"
#include "tap.h"

#define CLIENT_ID "handlersclient"
#define POOL_ID "us-east-1_HandlersTest"
#define NUSERS 28 /* mira, tomasz, u0..u25 */

static char g_db[64], g_table[64], g_url[4096], g_keydir[256], g_jwks[300];
static char g_issuer[256], g_setup_err[512];
static user g_user[NUSERS];
static char g_tok[NUSERS][2048];

static api_ctx g_ctx;
static json_t *g_garbage;

enum {
    MIRA,
    TOMASZ,
    U0
};

/* ---- fixtures ------------------------------------------------------------------------------ */

static void ctx_open(void)
{
    ck_assert_msg(g_setup_err[0] == '\0', "setup failed: %s", g_setup_err);
    memset(&g_ctx, 0, sizeof g_ctx);
    errinfo e;
    g_ctx.db = live_ddb();
    g_ctx.pg = users_open(g_url, &e);
    ck_assert_msg(g_ctx.pg != NULL, "users_open: %s", e.msg);
    jwks_options jo = { .source = g_jwks };
    g_ctx.keys = jwks_new(&jo, &e);
    ck_assert_msg(g_ctx.keys != NULL, "jwks_new: %s", e.msg);
    jwt_expect_init(&g_ctx.expect, g_issuer, CLIENT_ID);
    g_ctx.table = g_table;
    g_garbage = json_array();
}

static void ctx_close(void)
{
    api_user_cache_free(&g_ctx);
    jwks_free(g_ctx.keys);
    users_close(g_ctx.pg);
    ddb_free(g_ctx.db);
    json_decref(g_garbage);
    memset(&g_ctx, 0, sizeof g_ctx);
}

/* ---- requests ------------------------------------------------------------------------------ */

typedef struct res {
    int status;
    json_t *json; /* borrowed from g_garbage */
    char next[1024];
} res;

/* A request through api_route with an explicit Authorization header (NULL: none). */
static res req_auth(const char *method, const char *path, const char *query, const char *body,
                    const char *idem, const char *authorization)
{
    api_request rq;
    memset(&rq, 0, sizeof rq);
    rq.method = method;
    rq.path = strv_from(path);
    rq.query = strv_from(query);
    rq.body = strv_from(body);
    rq.authorization = authorization;
    rq.idempotency_key = idem;
    rq.content_type = "application/json";
    api_response rs;
    api_response_init(&rs);
    api_route(&g_ctx, &rq, &rs);
    res r = { .status = rs.status };
    snprintf(r.next, sizeof r.next, "%s", rs.next_cursor);
    json_error_t je;
    r.json = json_loadb(rs.body.data ? rs.body.data : "", rs.body.len, JSON_DECODE_ANY, &je);
    ck_assert_msg(r.json != NULL || rs.status == 204, "status %d, body not JSON: %s", rs.status,
                  buf_cstr(&rs.body));
    json_array_append_new(g_garbage, r.json ? r.json : json_null());
    api_response_cleanup(&rs);
    return r;
}

/* As user `who` (-1: anonymous). */
static res req(int who, const char *method, const char *path, const char *query, const char *body,
               const char *idem)
{
    char h[2100];
    if (who >= 0)
        snprintf(h, sizeof h, "Bearer %s", g_tok[who]);
    return req_auth(method, path, query, body, idem, who >= 0 ? h : NULL);
}

static res get_messages(int who, const char *group, const char *query)
{
    char path[128];
    snprintf(path, sizeof path, "/api/messages/%s", group);
    return req(who, "GET", path, query, NULL, NULL);
}

/* POST {"message": m, key: value} (value NULL: no such member). */
static res post_msg(int who, const char *key, const char *value, const char *m, const char *idem)
{
    json_t *o = json_pack("{s:s}", "message", m);
    if (value)
        json_object_set_new(o, key, json_string(value));
    char *text = json_dumps(o, JSON_COMPACT);
    res r = req(who, "POST", "/api/messages", NULL, text, idem);
    free(text);
    json_decref(o);
    return r;
}

#define assert_status(r, want)                                                                     \
    do {                                                                                           \
        char *_t = json_dumps((r).json, JSON_COMPACT | JSON_ENCODE_ANY);                           \
        ck_assert_msg((r).status == (want), "status %d, want %d: %.300s", (r).status, (want),      \
                      _t ? _t : "?");                                                              \
        free(_t);                                                                                  \
    } while (0)

static const char *jstr(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    ck_assert_msg(s != NULL, "member %s missing", k);
    return s;
}

/* A new conversation from a to b; its uuid into out. */
static void new_conversation(int a, int b, const char *m, char out[37])
{
    res r = post_msg(a, "handle", g_user[b].handle, m, NULL);
    assert_status(r, 200);
    snprintf(out, 37, "%s", jstr(r.json, "message_group_uuid"));
    ck_assert_int_eq(json_object_size(r.json), 1);
}

/* Every item in partition pk (strongly consistent), as a new array. */
static json_t *items_of_pk(const char *pk)
{
    json_t *values = json_pack("{s:{s:s}}", ":pk", "S", pk);
    ddb_query_options q = {
        .table = g_table, .key_condition = "pk = :pk", .values = values, .consistent = true
    };
    ddb_page page;
    ddb_page_init(&page);
    ddb_error err;
    json_t *all = json_array();
    json_t *start = NULL;
    do {
        q.start_key = start;
        ck_assert_msg(ddb_query(g_ctx.db, &q, &page, &err) == 0, "%s", err.info.msg);
        json_array_extend(all, page.items);
        json_decref(start);
        start = json_incref(page.last_key);
    } while (start);
    ddb_page_cleanup(&page);
    json_decref(values);
    return all;
}

/* How many items partition pk holds. */
static long count_pk(const char *pk)
{
    json_t *all = items_of_pk(pk);
    long n = (long)json_array_size(all);
    json_decref(all);
    return n;
}

static long count_group_rows(int who)
{
    char pk[64];
    snprintf(pk, sizeof pk, "GRP#%s", g_user[who].uuid);
    return count_pk(pk);
}

static long count_messages(const char *group)
{
    char pk[64];
    snprintf(pk, sizeof pk, "MSG#%s", group);
    return count_pk(pk);
}

/* The entry of group in who's list (NULL when absent). */
static const json_t *find_group(int who, const char *group)
{
    res r = req(who, "GET", "/api/message_groups", "limit=100", NULL, NULL);
    assert_status(r, 200);
    size_t i;
    json_t *g;
    json_array_foreach(r.json, i, g)
    {
        if (strcmp(jstr(g, "uuid"), group) == 0)
            return g;
    }
    return NULL;
}

/* ---- the front end's flow ------------------------------------------------------------------ */

START_TEST(flow_new_conversation_reply_and_lists)
{
    char g[37];
    new_conversation(MIRA, TOMASZ, "Hi Tomasz \xf0\x9f\x91\x8b", g);
    /* tomasz reads it at once (strongly consistent membership) */
    res r = get_messages(TOMASZ, g, NULL);
    assert_status(r, 200);
    ck_assert_int_eq(json_array_size(r.json), 1);
    const json_t *m0 = json_array_get(r.json, 0);
    ck_assert_str_eq(jstr(m0, "handle"), "mira");
    ck_assert_str_eq(jstr(m0, "display_name"), "Mira Okafor");
    ck_assert_str_eq(jstr(m0, "message"), "Hi Tomasz \xf0\x9f\x91\x8b");
    ck_assert_int_eq(strlen(jstr(m0, "uuid")), 36);
    ck_assert_int_eq(strlen(jstr(m0, "created_at")), 32);

    r = post_msg(TOMASZ, "message_group_uuid", g, "Hello Mira", NULL);
    assert_status(r, 200);
    ck_assert_str_eq(jstr(r.json, "handle"), "tomasz");
    ck_assert_str_eq(jstr(r.json, "display_name"), "Tomasz Wierzba");
    ck_assert_str_eq(jstr(r.json, "message"), "Hello Mira");
    ck_assert_int_eq(json_object_size(r.json), 5);
    char reply_uuid[37], reply_at[40];
    snprintf(reply_uuid, sizeof reply_uuid, "%s", jstr(r.json, "uuid"));
    snprintf(reply_at, sizeof reply_at, "%s", jstr(r.json, "created_at"));

    r = get_messages(MIRA, g, NULL);
    assert_status(r, 200);
    ck_assert_int_eq(json_array_size(r.json), 2);
    ck_assert_str_eq(jstr(json_array_get(r.json, 0), "handle"), "mira");
    ck_assert_str_eq(jstr(json_array_get(r.json, 1), "uuid"), reply_uuid);
    ck_assert_str_eq(jstr(json_array_get(r.json, 1), "created_at"), reply_at);
    ck_assert_str_eq(r.next, "");

    /* both sides list it with the other person; the last message is what the API wrote
     * (moving group rows forward is the stream daemon's job, issue 5) */
    const json_t *gm = find_group(MIRA, g);
    ck_assert_ptr_nonnull(gm);
    ck_assert_str_eq(jstr(gm, "handle"), "tomasz");
    ck_assert_str_eq(jstr(gm, "display_name"), "Tomasz Wierzba");
    ck_assert_str_eq(jstr(gm, "message"), "Hi Tomasz \xf0\x9f\x91\x8b");
    ck_assert_str_eq(jstr(gm, "created_at"), jstr(m0, "created_at"));
    const json_t *gt = find_group(TOMASZ, g);
    ck_assert_ptr_nonnull(gt);
    ck_assert_str_eq(jstr(gt, "handle"), "mira");
    ck_assert_str_eq(jstr(gt, "display_name"), "Mira Okafor");
    ck_assert_int_eq(count_messages(g), 2);
}
END_TEST

START_TEST(existing_conversation_is_reused)
{
    const int a = U0 + 6, b = U0 + 7;
    char g[UUID_BUF];
    new_conversation(a, b, "first", g);
    res r = post_msg(a, "handle", g_user[b].handle, "second", NULL);
    assert_status(r, 200);
    ck_assert_str_eq(jstr(r.json, "message_group_uuid"), g);
    /* from the other side, with '@' */
    char at[USERS_HANDLE_MAX + 2];
    snprintf(at, sizeof at, "@%s", g_user[a].handle);
    r = post_msg(b, "handle", at, "third", NULL);
    assert_status(r, 200);
    ck_assert_str_eq(jstr(r.json, "message_group_uuid"), g);
    ck_assert_int_eq(count_group_rows(a), 1);
    ck_assert_int_eq(count_group_rows(b), 1);
    ck_assert_int_eq(count_messages(g), 3);
    r = get_messages(b, g, NULL);
    assert_status(r, 200);
    ck_assert_str_eq(jstr(json_array_get(r.json, 0), "message"), "first");
    ck_assert_str_eq(jstr(json_array_get(r.json, 2), "message"), "third");
}
END_TEST

/* Deletes who's group row of group by hand (as an operator might). */
static void delete_group_row(int who, const char *group)
{
    char pk[64];
    snprintf(pk, sizeof pk, "GRP#%s", g_user[who].uuid);
    json_t *items = items_of_pk(pk);
    size_t i;
    json_t *item;
    int deleted = 0;
    json_array_foreach(items, i, item)
    {
        const char *g = ddb_av_get_s(item, "message_group_uuid");
        if (!g || strcmp(g, group) != 0)
            continue;
        json_t *key = json_pack("{s:O, s:O}", "pk", json_object_get(item, "pk"), "sk",
                                json_object_get(item, "sk"));
        ddb_error err;
        ck_assert_msg(ddb_delete_item(g_ctx.db, g_table, key, NULL, &err) == 0, "%s", err.info.msg);
        json_decref(key);
        deleted++;
    }
    ck_assert_int_eq(deleted, 1);
    json_decref(items);
}

START_TEST(stale_pair_item_starts_a_new_conversation)
{
    const int a = U0 + 14, b = U0 + 15;
    char g[37];
    new_conversation(a, b, "first", g);
    /* an operator deletes the conversation's group rows; its pair item stays behind */
    delete_group_row(a, g);
    delete_group_row(b, g);
    ck_assert_int_eq(count_group_rows(a), 0);
    /* a message by handle must not vanish into the invisible conversation */
    res r = post_msg(b, "handle", g_user[a].handle, "after the clean-up", NULL);
    assert_status(r, 200);
    char g2[37];
    snprintf(g2, sizeof g2, "%s", jstr(r.json, "message_group_uuid"));
    ck_assert_str_ne(g2, g);
    ck_assert_int_eq(count_messages(g), 1);
    ck_assert_int_eq(count_messages(g2), 1);
    const json_t *ga = find_group(a, g2);
    ck_assert_ptr_nonnull(ga);
    ck_assert_str_eq(jstr(ga, "message"), "after the clean-up");
    ck_assert_ptr_nonnull(find_group(b, g2));
    ck_assert_ptr_null(find_group(a, g));
    /* the pair item now names the new conversation: the next message joins it */
    r = post_msg(a, "handle", g_user[b].handle, "reply", NULL);
    assert_status(r, 200);
    ck_assert_str_eq(jstr(r.json, "message_group_uuid"), g2);
    ck_assert_int_eq(count_group_rows(a), 1);
    ck_assert_int_eq(count_group_rows(b), 1);
    ck_assert_int_eq(count_messages(g2), 2);
}
END_TEST

/* With the GSI lagging as it may on AWS (tests/tools/gsi_lag_proxy.py answers every index
 * Query with nothing), membership is still decided by the strongly consistent read. */
START_TEST(membership_holds_while_the_index_lags)
{
    const int a = U0 + 18, b = U0 + 19, stranger = U0 + 20;
    char g[37];
    new_conversation(a, b, "hello", g);
    support_server proxy;
    ddb *lag = live_ddb_lagging(&proxy);
    ddb *direct = g_ctx.db;
    g_ctx.db = lag;
    api_members_cache_free(&g_ctx);
    res rb = get_messages(b, g, NULL);
    res rs = get_messages(stranger, g, NULL);
    res rp = post_msg(b, "message_group_uuid", g, "reply while the index lags", NULL);
    res rh = post_msg(a, "handle", g_user[b].handle, "by handle", NULL);
    json_t *st = support_server_ctl(proxy.port, "stats", NULL);
    g_ctx.db = direct;
    api_members_cache_free(&g_ctx);
    ddb_free(lag);
    support_server_stop(&proxy);
    ck_assert_int_gt(json_integer_value(json_object_get(st, "hidden")), 0);
    json_decref(st);
    assert_status(rb, 200);
    ck_assert_int_eq(json_array_size(rb.json), 1);
    assert_status(rs, 404);
    assert_status(rp, 200);
    assert_status(rh, 200);
    ck_assert_str_eq(jstr(rh.json, "message_group_uuid"), g);
    ck_assert_int_eq(count_group_rows(a), 1);
    ck_assert_int_eq(count_messages(g), 3);
}
END_TEST

/* ---- paging -------------------------------------------------------------------------------- */

START_TEST(paging_through_120_messages)
{
    const int a = MIRA, b = U0 + 1;
    char g[37];
    new_conversation(a, b, "message 000", g);
    messaging_user ma = { g_user[a].uuid, g_user[a].display_name, g_user[a].handle };
    int64_t t0 = clock_real_us() + 1000000;
    ddb_error err;
    for (int i = 1; i < 120; i++) {
        char ts[MESSAGING_TS_LEN], id[37], text[32];
        clock_iso8601_us(ts, sizeof ts, t0 + i * 1000);
        rnd_uuid4(id);
        snprintf(text, sizeof text, "message %03d", i);
        json_t *item = messaging_message_item(g, ts, id, &ma, text);
        ck_assert_msg(messaging_put_message(g_ctx.db, g_table, item, &err) == 0, "%s",
                      err.info.msg);
        json_decref(item);
    }
    /* default page: the newest 20, shown oldest -> newest */
    res r = get_messages(b, g, NULL);
    assert_status(r, 200);
    ck_assert_int_eq(json_array_size(r.json), 20);
    ck_assert_str_eq(jstr(json_array_get(r.json, 0), "message"), "message 100");
    ck_assert_str_eq(jstr(json_array_get(r.json, 19), "message"), "message 119");
    ck_assert_str_ne(r.next, "");
    r = get_messages(b, g, "limit=100");
    ck_assert_int_eq(json_array_size(r.json), 100);

    /* all of it in pages of 7, towards older messages */
    bool seen[120] = { false };
    int total = 0, pages = 0, prev_first = 1000;
    char query[1200] = "limit=7";
    for (;;) {
        r = get_messages(b, g, query);
        assert_status(r, 200);
        pages++;
        ck_assert_int_le(json_array_size(r.json), 7);
        int last = -1;
        for (size_t i = 0; i < json_array_size(r.json); i++) {
            int n = atoi(jstr(json_array_get(r.json, i), "message") + 8);
            ck_assert_msg(n > last, "not oldest -> newest within a page");
            ck_assert_msg(!seen[n], "message %d twice", n);
            seen[n] = true;
            last = n;
            total++;
        }
        if (json_array_size(r.json) > 0) {
            int first = atoi(jstr(json_array_get(r.json, 0), "message") + 8);
            ck_assert_msg(last < prev_first, "pages overlap or go forward");
            prev_first = first;
        }
        if (!r.next[0])
            break;
        ck_assert_int_lt(pages, 30);
        snprintf(query, sizeof query, "limit=7&cursor=%s", r.next);
    }
    ck_assert_int_eq(total, 120);
    ck_assert_int_ge(pages, 18);

    /* message groups page too */
    r = req(a, "GET", "/api/message_groups", "limit=1", NULL, NULL);
    assert_status(r, 200);
    ck_assert_int_eq(json_array_size(r.json), 1);
    if (r.next[0]) {
        char q[1200];
        snprintf(q, sizeof q, "limit=1&cursor=%s", r.next);
        res r2 = req(a, "GET", "/api/message_groups", q, NULL, NULL);
        assert_status(r2, 200);
        if (json_array_size(r2.json) > 0)
            ck_assert_str_ne(jstr(json_array_get(r2.json, 0), "uuid"),
                             jstr(json_array_get(r.json, 0), "uuid"));
        /* mira's cursor is not tomasz's */
        r2 = req(TOMASZ, "GET", "/api/message_groups", q, NULL, NULL);
        assert_status(r2, 400);
    }
}
END_TEST

/* ---- membership and bad input --------------------------------------------------------------- */

START_TEST(non_member_gets_404)
{
    const int a = U0 + 2, b = U0 + 3, stranger = U0 + 4;
    char g[37], other[37];
    new_conversation(a, b, "private", g);
    res r = get_messages(stranger, g, NULL);
    assert_status(r, 404);
    ck_assert_str_eq(jstr(r.json, "error"), "not_found");
    r = post_msg(stranger, "message_group_uuid", g, "let me in", NULL);
    assert_status(r, 404);
    ck_assert_int_eq(count_messages(g), 1);
    rnd_uuid4(other);
    r = get_messages(a, other, NULL);
    assert_status(r, 404);
    r = post_msg(a, "message_group_uuid", other, "into the void", NULL);
    assert_status(r, 404);
    ck_assert_int_eq(count_messages(other), 0);
    /* an upper-case uuid is the same conversation */
    char up[37];
    for (int i = 0; i < 37; i++)
        up[i] = (char)((g[i] >= 'a' && g[i] <= 'f') ? g[i] - 32 : g[i]);
    r = get_messages(b, up, NULL);
    assert_status(r, 200);
    ck_assert_int_eq(json_array_size(r.json), 1);
}
END_TEST

START_TEST(malformed_uuid_cursor_limit_400)
{
    char g[37], g2[37];
    new_conversation(U0 + 5, U0 + 8, "x", g);
    new_conversation(U0 + 5, U0 + 9, "y", g2);
    res r = get_messages(U0 + 5, "not-a-uuid", NULL);
    assert_status(r, 400);
    /* the handler's own check, without the router */
    api_request rq;
    memset(&rq, 0, sizeof rq);
    rq.method = "GET";
    rq.authenticated = true;
    rq.me = g_user[U0 + 5];
    api_response rs;
    api_response_init(&rs);
    strv bad = STRV("0000000-0000-0000-0000-0000000000000");
    ck_assert_int_eq(api_messages_list(&g_ctx, &rq, &rs, &bad), 0);
    ck_assert_int_eq(rs.status, 400);
    api_response_cleanup(&rs);

    static const char *const bad_queries[] = {
        "limit=0",           "limit=101",   "limit=abc",
        "limit=-1",          "limit=",      "limit=1&limit=2",
        "limit=1e1",         "limit=%",     "cursor=",
        "cursor=!!!",        "cursor=AAAA", "cursor=eyJwayI6IngifQ",
        "cursor=a&cursor=b",
    };
    for (size_t i = 0; i < sizeof bad_queries / sizeof bad_queries[0]; i++) {
        r = get_messages(U0 + 5, g, bad_queries[i]);
        ck_assert_msg(r.status == 400, "%s: %d", bad_queries[i], r.status);
        r = req(U0 + 5, "GET", "/api/message_groups", bad_queries[i], NULL, NULL);
        ck_assert_msg(r.status == 400, "groups %s: %d", bad_queries[i], r.status);
    }
    /* a cursor of another conversation */
    r = get_messages(U0 + 5, g2, "limit=1");
    assert_status(r, 200);
    char q[1200];
    snprintf(q, sizeof q, "cursor=%s", r.next[0] ? r.next : "x");
    json_t *k = json_pack("{s:{s:s}, s:{s:s}}", "pk", "S", "MSG#whatever", "sk", "S", "1");
    char cur[1024];
    char pk2[64];
    snprintf(pk2, sizeof pk2, "MSG#%s", g2);
    json_object_set_new(k, "pk", json_pack("{s:s}", "S", pk2));
    ck_assert_int_eq(cursor_encode(k, cur, sizeof cur, NULL), 0);
    json_decref(k);
    snprintf(q, sizeof q, "cursor=%s", cur);
    r = get_messages(U0 + 5, g2, q);
    assert_status(r, 200);
    r = get_messages(U0 + 5, g, q);
    assert_status(r, 400);
    /* unknown parameters are ignored */
    r = get_messages(U0 + 5, g, "foo=bar&limit=5");
    assert_status(r, 200);
}
END_TEST

START_TEST(bad_bodies)
{
    char g[37];
    new_conversation(U0 + 10, U0 + 11, "start", g);
    const int me = U0 + 10;
    static const char *const bad400[] = {
        "",
        "{",
        "[]",
        "\"hi\"",
        "{\"message\":\"x\"}",
        "{\"message\":1,\"handle\":\"mira\"}",
        "{\"message\":\"x\",\"handle\":\"mira\",\"message_group_uuid\":\"x\"}",
        "{\"message\":\"x\",\"message_group_uuid\":\"nope\"}",
        "{\"message\":\"x\",\"message_group_uuid\":5}",
        "{\"message\":\"x\",\"handle\":\"no/pe\"}",
        "{\"message\":\"x\"} trailing",
    };
    for (size_t i = 0; i < sizeof bad400 / sizeof bad400[0]; i++) {
        res r = req(me, "POST", "/api/messages", NULL, bad400[i], NULL);
        ck_assert_msg(r.status == 400, "%s: %d", bad400[i], r.status);
        ck_assert_ptr_nonnull(json_object_get(r.json, "error"));
    }
    /* a lone surrogate escape: 4xx */
    char body[256];
    snprintf(body, sizeof body, "{\"message\":\"a\\udc00\",\"message_group_uuid\":\"%s\"}", g);
    res r = req(me, "POST", "/api/messages", NULL, body, NULL);
    ck_assert_msg(r.status >= 400 && r.status < 500, "%d", r.status);
    /* raw invalid UTF-8 */
    snprintf(body, sizeof body, "{\"message\":\"a\xc3\x28\",\"message_group_uuid\":\"%s\"}", g);
    r = req(me, "POST", "/api/messages", NULL, body, NULL);
    assert_status(r, 422);
    snprintf(body, sizeof body, "{\"message\":\"\xed\xa0\x80\",\"message_group_uuid\":\"%s\"}", g);
    r = req(me, "POST", "/api/messages", NULL, body, NULL);
    assert_status(r, 422);
    ck_assert_int_eq(count_messages(g), 1);
}
END_TEST

START_TEST(message_length_in_characters)
{
    char g[37];
    const int me = U0 + 10;
    new_conversation(me, U0 + 3, "len", g);
    res r = post_msg(me, "message_group_uuid", g, "", NULL);
    assert_status(r, 422);
    r = post_msg(me, "message_group_uuid", g, " \n\t ", NULL);
    assert_status(r, 422);
    buf m;
    buf_init(&m, 0);
    for (int i = 0; i < 1025; i++)
        buf_putc(&m, 'a');
    r = post_msg(me, "message_group_uuid", g, buf_cstr(&m), NULL);
    assert_status(r, 422);
    ck_assert_int_eq(count_messages(g), 1);
    /* 1024 two-byte and four-byte characters are fine */
    buf_reset(&m);
    for (int i = 0; i < 1024; i++)
        buf_append_str(&m, "\xc3\xa9");
    r = post_msg(me, "message_group_uuid", g, buf_cstr(&m), NULL);
    assert_status(r, 200);
    ck_assert_str_eq(jstr(r.json, "message"), buf_cstr(&m));
    buf_reset(&m);
    for (int i = 0; i < 1024; i++)
        buf_append_str(&m, "\xf0\x9f\x98\x80");
    r = post_msg(me, "handle", g_user[U0 + 3].handle, buf_cstr(&m), NULL);
    assert_status(r, 200);
    buf_append_str(&m, "!");
    r = post_msg(me, "handle", g_user[U0 + 3].handle, buf_cstr(&m), NULL);
    assert_status(r, 422);
    buf_cleanup(&m);
    ck_assert_int_eq(count_messages(g), 3);
}
END_TEST

START_TEST(handles_unknown_self_malformed)
{
    const int me = U0 + 11;
    long before = count_group_rows(me);
    res r = post_msg(me, "handle", "nobody_here", "hi", NULL);
    assert_status(r, 404);
    r = post_msg(me, "handle", g_user[me].handle, "hi me", NULL);
    assert_status(r, 422);
    r = post_msg(me, "handle", "bad handle!", "hi", NULL);
    assert_status(r, 400);
    ck_assert_int_eq(count_group_rows(me), before);
    /* the short user card */
    r = req(-1, "GET", "/api/users/@tomasz/short", NULL, NULL, NULL);
    assert_status(r, 200);
    ck_assert_str_eq(jstr(r.json, "handle"), "tomasz");
    ck_assert_str_eq(jstr(r.json, "display_name"), "Tomasz Wierzba");
    ck_assert_str_eq(jstr(r.json, "uuid"), g_user[TOMASZ].uuid);
    ck_assert_int_eq(json_object_size(r.json), 3);
    r = req(-1, "GET", "/api/users/@nobody_here/short", NULL, NULL, NULL);
    assert_status(r, 404);
    api_request rq;
    memset(&rq, 0, sizeof rq);
    api_response rs;
    api_response_init(&rs);
    char longest[USERS_HANDLE_MAX + 2];
    memset(longest, 'a', sizeof longest);
    strv bad[] = {
        STRV("bad/handle"), STRV(""), STRV("bad handle"), { longest, USERS_HANDLE_MAX + 1 }
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_int_eq(api_users_short(&g_ctx, &rq, &rs, &bad[i]), 0);
        ck_assert_int_eq(rs.status, 400);
    }
    /* handles as Cognito pools hold them pass the rule: nobody has them here, so 404 */
    strv fine[] = { STRV("andrew.brown"), STRV("mary-jane"), { longest, USERS_HANDLE_MAX } };
    for (size_t i = 0; i < sizeof fine / sizeof fine[0]; i++) {
        ck_assert_int_eq(api_users_short(&g_ctx, &rq, &rs, &fine[i]), 0);
        ck_assert_int_eq(rs.status, 404);
    }
    api_response_cleanup(&rs);
}
END_TEST

/* ---- writes that must not repeat or overwrite ----------------------------------------------- */

START_TEST(idempotent_retry_creates_nothing_twice)
{
    const int a = U0 + 12, b = U0 + 13;
    char idem_pk[64];
    snprintf(idem_pk, sizeof idem_pk, "IDEM#%s", g_user[a].uuid);
    res r1 = post_msg(a, "handle", g_user[b].handle, "once", "key-123");
    assert_status(r1, 200);
    res r2 = post_msg(a, "handle", g_user[b].handle, "once", "key-123");
    assert_status(r2, 200);
    const char *g = jstr(r1.json, "message_group_uuid");
    ck_assert_str_eq(jstr(r2.json, "message_group_uuid"), g);
    ck_assert_int_eq(count_group_rows(a), 1);
    ck_assert_int_eq(count_group_rows(b), 1);
    ck_assert_int_eq(count_messages(g), 1);
    ck_assert_int_eq(count_pk(idem_pk), 1);
    /* the same key for another request */
    res r = post_msg(a, "handle", g_user[b].handle, "different", "key-123");
    assert_status(r, 422);
    ck_assert_int_eq(count_messages(g), 1);
    /* pattern C with a key */
    r1 = post_msg(a, "message_group_uuid", g, "again", "key-456");
    assert_status(r1, 200);
    r2 = post_msg(a, "message_group_uuid", g, "again", "key-456");
    assert_status(r2, 200);
    ck_assert_str_eq(jstr(r1.json, "uuid"), jstr(r2.json, "uuid"));
    ck_assert_str_eq(jstr(r1.json, "created_at"), jstr(r2.json, "created_at"));
    ck_assert_int_eq(count_messages(g), 2);
    /* D into the existing conversation with a key */
    r1 = post_msg(a, "handle", g_user[b].handle, "third", "key-789");
    r2 = post_msg(a, "handle", g_user[b].handle, "third", "key-789");
    assert_status(r2, 200);
    ck_assert_str_eq(jstr(r2.json, "message_group_uuid"), g);
    ck_assert_int_eq(count_messages(g), 3);
    ck_assert_int_eq(count_pk(idem_pk), 3);
    /* malformed keys */
    char long_key[80];
    memset(long_key, 'k', 65);
    long_key[65] = '\0';
    r = post_msg(a, "message_group_uuid", g, "x", long_key);
    assert_status(r, 400);
    r = post_msg(a, "message_group_uuid", g, "x", "has space");
    assert_status(r, 400);
    r = post_msg(a, "message_group_uuid", g, "x", "");
    assert_status(r, 400);
    ck_assert_int_eq(count_messages(g), 3);
}
END_TEST

/* A messages table named name with the real schema, active. 0, or -1 with err's message. */
static int create_messages_table(ddb *d, const char *name, ddb_error *err)
{
    bool created;
    ddb_error_clear(err);
    return live_make_table(d, name, true, &created, err->info.msg, sizeof err->info.msg);
}

/* DynamoDB remembers transaction tokens across the whole account and region for 10 minutes:
 * the same user and key against another deployment's table must not be taken for a retry. */
START_TEST(an_idempotency_key_belongs_to_its_table)
{
    const int a = U0 + 16, b = U0 + 17;
    res r = post_msg(a, "handle", g_user[b].handle, "one", "key-shared");
    assert_status(r, 200);
    char other[80];
    snprintf(other, sizeof other, "%s-b", g_table);
    ddb_error err;
    ck_assert_msg(create_messages_table(g_ctx.db, other, &err) == 0, "%s", err.info.msg);
    g_ctx.table = other;
    r = post_msg(a, "handle", g_user[b].handle, "one", "key-shared");
    res again = post_msg(a, "handle", g_user[b].handle, "one", "key-shared");
    g_ctx.table = g_table;
    ddb_error_clear(&err);
    ddb_delete_table(g_ctx.db, other, &err);
    assert_status(r, 200);
    assert_status(again, 200);
    ck_assert_str_eq(jstr(again.json, "message_group_uuid"), jstr(r.json, "message_group_uuid"));
}
END_TEST

START_TEST(same_microsecond_never_overwrites)
{
    char g[37];
    new_conversation(U0 + 8, U0 + 9, "start", g);
    messaging_user s = { g_user[U0 + 8].uuid, g_user[U0 + 8].display_name, g_user[U0 + 8].handle };
    char ts[MESSAGING_TS_LEN], id1[37], id2[37];
    messaging_now(ts);
    rnd_uuid4(id1);
    rnd_uuid4(id2);
    json_t *m1 = messaging_message_item(g, ts, id1, &s, "one");
    json_t *m2 = messaging_message_item(g, ts, id2, &s, "two");
    ddb_error err;
    ck_assert_msg(messaging_put_message(g_ctx.db, g_table, m1, &err) == 0, "%s", err.info.msg);
    ck_assert_int_eq(messaging_put_message(g_ctx.db, g_table, m2, &err), -1);
    ck_assert(ddb_error_is(&err, "ConditionalCheckFailedException"));
    json_decref(m1);
    json_decref(m2);
    /* the first is intact */
    res r = get_messages(U0 + 9, g, NULL);
    assert_status(r, 200);
    ck_assert_int_eq(json_array_size(r.json), 2);
    ck_assert_str_eq(jstr(json_array_get(r.json, 1), "uuid"), id1);
    /* a burst through the API keeps every message */
    for (int i = 0; i < 40; i++) {
        r = post_msg(U0 + 8, "message_group_uuid", g, "burst", NULL);
        assert_status(r, 200);
    }
    ck_assert_int_eq(count_messages(g), 42);
}
END_TEST

/* A message whose text holds a NUL (written by another client of the table; the API itself
 * refuses one) does not make the conversation unreadable: it reads as U+FFFD. */
START_TEST(a_nul_in_a_stored_message_does_not_break_the_conversation)
{
    const int a = U0 + 24, b = U0 + 25;
    char g[37];
    new_conversation(a, b, "hello", g);
    messaging_user s = { g_user[a].uuid, g_user[a].display_name, g_user[a].handle };
    char ts[MESSAGING_TS_LEN], id[37];
    messaging_now(ts);
    rnd_uuid4(id);
    json_t *m = messaging_message_item(g, ts, id, &s, "x");
    json_object_set_new(m, "message", json_pack("{s:s%}", "S", "a\0b", (size_t)3));
    ddb_error err;
    ck_assert_msg(messaging_put_message(g_ctx.db, g_table, m, &err) == 0, "%s", err.info.msg);
    json_decref(m);
    res r = get_messages(b, g, NULL);
    assert_status(r, 200);
    ck_assert_int_eq(json_array_size(r.json), 2);
    ck_assert_str_eq(jstr(json_array_get(r.json, 1), "message"), "a\xef\xbf\xbd"
                                                                 "b");
}
END_TEST

/* Pattern D at a microsecond another conversation of the recipient already holds: the new
 * conversation goes to the next microsecond; the older one is never replaced. */
static int64_t g_fixed_us;
static int64_t fixed_clock(void)
{
    return g_fixed_us;
}

START_TEST(a_new_conversation_never_replaces_a_row_at_the_same_microsecond)
{
    const int a = U0 + 21, b = U0 + 22, c = U0 + 23;
    g_fixed_us = clock_real_us();
    messaging_clock_for_tests(fixed_clock);
    res first = post_msg(c, "handle", g_user[b].handle, "from c", NULL);
    res second = post_msg(a, "handle", g_user[b].handle, "from a", NULL);
    /* and a message into the first conversation at that microsecond too (pattern C) */
    res third = first.status == 200
                    ? post_msg(c, "message_group_uuid", jstr(first.json, "message_group_uuid"),
                               "again from c", NULL)
                    : first;
    messaging_clock_for_tests(NULL);
    assert_status(first, 200);
    assert_status(second, 200);
    assert_status(third, 200);
    ck_assert_str_ne(jstr(first.json, "message_group_uuid"),
                     jstr(second.json, "message_group_uuid"));
    /* b has both conversations, c and a one each */
    ck_assert_int_eq(count_group_rows(b), 2);
    ck_assert_int_eq(count_group_rows(c), 1);
    ck_assert_int_eq(count_group_rows(a), 1);
    res lb = req(b, "GET", "/api/message_groups", NULL, NULL, NULL);
    assert_status(lb, 200);
    ck_assert_int_eq(json_array_size(lb.json), 2);
    ck_assert_int_eq(count_messages(jstr(first.json, "message_group_uuid")), 2);
}
END_TEST

/* ---- tokens -------------------------------------------------------------------------------- */

static devkey *load_key(void)
{
    devkey *k = NULL;
    errinfo e;
    ck_assert_msg(devkey_load(g_keydir, &k, &e) == 0, "%s", e.msg);
    return k;
}

static void mint(devkey *k, const char *sub, const char *client, int64_t ttl, buf *out)
{
    devkey_claims c = { .sub = sub, .issuer = g_issuer, .client_id = client, .ttl_s = ttl };
    errinfo e;
    buf_reset(out);
    ck_assert_msg(devkey_mint(k, &c, out, &e) == 0, "%s", e.msg);
}

static int status_with(const char *authorization)
{
    return req_auth("GET", "/api/message_groups", NULL, NULL, NULL, authorization).status;
}

static int status_with_token(const char *tok)
{
    char h[4200];
    snprintf(h, sizeof h, "Bearer %.4150s", tok);
    return status_with(h);
}

/* ---- users provisioned just in time (api/provision.c) ----------------------------------- */

/* GetUser requests the Cognito stand-in on port has answered so far. */
static long getusers(int port)
{
    json_t *st = support_server_ctl(port, "stats", NULL);
    long n = (long)json_integer_value(json_object_get(st, "get_users"));
    json_decref(st);
    return n;
}

typedef struct race_arg {
    const char *sub;
    user u;
    int rc;
} race_arg;

static void *race_provision(void *p)
{
    race_arg *a = p;
    errinfo e;
    users *u = users_open(g_url, &e);
    a->rc = u ? users_provision(u, "racer.one", "Racer One", "racer@example.com", a->sub, &a->u, &e)
              : -1;
    users_close(u);
    return NULL;
}

START_TEST(a_new_sign_up_is_provisioned_just_in_time)
{
    char known[37], stranger[37], badhandle[37], taken[37], later[37];
    rnd_uuid4(known);
    rnd_uuid4(stranger);
    rnd_uuid4(badhandle);
    rnd_uuid4(taken);
    rnd_uuid4(later);
    char users_file[512];
    snprintf(users_file, sizeof users_file, "%s/cognito-users.json", g_keydir);
    FILE *f = fopen(users_file, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f,
            "[{\"username\":\"andrew\",\"sub\":\"%s\",\"preferred_username\":\"andrew.brown\","
            "\"email\":\"andrew@example.com\",\"name\":\"Andrew Brown\"},"
            "{\"username\":\"bad\",\"sub\":\"%s\",\"preferred_username\":\"bad handle!\","
            "\"email\":\"bad@example.com\"},"
            "{\"username\":\"imposter\",\"sub\":\"%s\",\"preferred_username\":\"mira\","
            "\"email\":\"imposter@example.com\",\"name\":\"Not Mira\"},"
            "{\"username\":\"later\",\"sub\":\"%s\",\"preferred_username\":\"late-comer\","
            "\"email\":\"later@example.com\"}]",
            known, badhandle, taken, later);
    fclose(f);
    setenv("COGNITO_SERVER_USERS", users_file, 1);
    setenv("COGNITO_SERVER_POOL", POOL_ID, 1);
    support_server cs;
    ck_assert_int_eq(support_server_start(&cs, "tests/tools/cognito_server.py"), 0);
    char ep[64];
    snprintf(ep, sizeof ep, "http://127.0.0.1:%d/", cs.port);
    cognito_options co = { .pool_id = POOL_ID,
                           .endpoint = ep,
                           .timeout_ms = 2000,
                           .retry = { .max_attempts = 2, .base_ms = 5, .cap_ms = 10 } };
    errinfo e;
    g_ctx.cognito = cognito_new(&co, &e);
    ck_assert_msg(g_ctx.cognito != NULL, "%s", e.msg);
    devkey *k = load_key();
    buf t;
    buf_init(&t, 0);
    char h[4200];

    /* signed up after the last sync: the first request makes the user, the rest find it */
    mint(k, known, CLIENT_ID, 600, &t);
    snprintf(h, sizeof h, "Bearer %s", buf_cstr(&t));
    ck_assert_int_eq(status_with(h), 200);
    user u;
    ck_assert_msg(users_by_cognito_sub(g_ctx.pg, known, &u, &e) == 0, "%s", e.msg);
    ck_assert_str_eq(u.handle, "andrew.brown");
    ck_assert_str_eq(u.display_name, "Andrew Brown");
    ck_assert_str_eq(u.email, "andrew@example.com");
    long asked = getusers(cs.port);
    ck_assert_int_eq(asked, 1);
    ck_assert_int_eq(status_with(h), 200);
    ck_assert_int_eq(getusers(cs.port), asked); /* known now: Cognito is not asked again */
    res r = req(-1, "GET", "/api/users/@andrew.brown/short", NULL, NULL, NULL);
    assert_status(r, 200);
    ck_assert_str_eq(jstr(r.json, "uuid"), u.uuid);

    /* a sub Cognito does not know: 401, remembered (not asked again within the minute) */
    mint(k, stranger, CLIENT_ID, 600, &t);
    snprintf(h, sizeof h, "Bearer %s", buf_cstr(&t));
    ck_assert_int_eq(status_with(h), 401);
    asked = getusers(cs.port);
    ck_assert_int_eq(status_with(h), 401);
    ck_assert_int_eq(getusers(cs.port), asked);

    /* a preferred_username that is no handle: 401 saying so, nothing inserted */
    mint(k, badhandle, CLIENT_ID, 600, &t);
    snprintf(h, sizeof h, "Bearer %s", buf_cstr(&t));
    r = req_auth("GET", "/api/message_groups", NULL, NULL, NULL, h);
    assert_status(r, 401);
    ck_assert_ptr_nonnull(strstr(jstr(r.json, "message"), "preferred_username"));
    ck_assert_int_eq(users_by_cognito_sub(g_ctx.pg, badhandle, &u, &e), -1);
    ck_assert_int_eq(e.code, ERR_NOTFOUND);

    /* a handle that is another user's: 409, the other user untouched */
    mint(k, taken, CLIENT_ID, 600, &t);
    snprintf(h, sizeof h, "Bearer %s", buf_cstr(&t));
    r = req_auth("GET", "/api/message_groups", NULL, NULL, NULL, h);
    assert_status(r, 409);
    ck_assert_str_eq(jstr(r.json, "error"), "conflict");
    ck_assert_msg(users_by_handle(g_ctx.pg, "mira", &u, &e) == 0, "%s", e.msg);
    ck_assert_str_eq(u.cognito_user_id, g_user[MIRA].cognito_user_id);

    /* Cognito failing or down: 503 (never 500), nothing remembered, it works once back */
    support_server_stop(&cs);
    mint(k, later, CLIENT_ID, 600, &t);
    snprintf(h, sizeof h, "Bearer %s", buf_cstr(&t));
    r = req_auth("GET", "/api/message_groups", NULL, NULL, NULL, h);
    assert_status(r, 503);
    ck_assert_str_eq(jstr(r.json, "error"), "unavailable");
    ck_assert_int_eq(support_server_start(&cs, "tests/tools/cognito_server.py"), 0);
    cognito_free(g_ctx.cognito);
    snprintf(ep, sizeof ep, "http://127.0.0.1:%d/", cs.port);
    g_ctx.cognito = cognito_new(&co, &e);
    ck_assert_msg(g_ctx.cognito != NULL, "%s", e.msg);
    ck_assert_int_eq(status_with(h), 200);
    ck_assert_msg(users_by_cognito_sub(g_ctx.pg, later, &u, &e) == 0, "%s", e.msg);
    ck_assert_str_eq(u.handle, "late-comer");
    ck_assert_str_eq(u.display_name, "late-comer"); /* no name: the handle */

    /* racing workers provision one row: both get the same user */
    char racer[37];
    rnd_uuid4(racer);
    race_arg a[2] = { { .sub = racer }, { .sub = racer } };
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, race_provision, &a[i]), 0);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    ck_assert_int_eq(a[0].rc, 0);
    ck_assert_int_eq(a[1].rc, 0);
    ck_assert_str_eq(a[0].u.uuid, a[1].u.uuid);

    cognito_free(g_ctx.cognito);
    g_ctx.cognito = NULL;
    api_user_cache_free(&g_ctx);
    support_server_stop(&cs);
    unsetenv("COGNITO_SERVER_USERS");
    unsetenv("COGNITO_SERVER_POOL");
    buf_cleanup(&t);
    devkey_free(k);
}
END_TEST

START_TEST(tokens_that_get_401)
{
    devkey *k = load_key();
    buf t;
    buf_init(&t, 0);
    const char *sub = g_user[MIRA].cognito_user_id;
    mint(k, sub, CLIENT_ID, 600, &t);
    ck_assert_int_eq(status_with_token(buf_cstr(&t)), 200);
    char h[4200];
    snprintf(h, sizeof h, "bEaReR %s", buf_cstr(&t));
    ck_assert_int_eq(status_with(h), 200);
    snprintf(h, sizeof h, "Bearer  %s", buf_cstr(&t));
    ck_assert_int_eq(status_with(h), 401);
    snprintf(h, sizeof h, "Basic %s", buf_cstr(&t));
    ck_assert_int_eq(status_with(h), 401);
    snprintf(h, sizeof h, "Bearer %s ", buf_cstr(&t));
    ck_assert_int_eq(status_with(h), 401);
    ck_assert_int_eq(status_with(NULL), 401);
    ck_assert_int_eq(status_with("Bearer"), 401);
    ck_assert_int_eq(status_with("Bearer "), 401);
    /* tampered: one payload character changed */
    buf_reset(&t);
    mint(k, sub, CLIENT_ID, 600, &t);
    char *tok = buf_take(&t);
    char *dot = strchr(tok, '.');
    dot[5] = dot[5] == 'A' ? 'B' : 'A';
    ck_assert_int_eq(status_with_token(tok), 401);
    free(tok);
    /* expired, wrong client */
    mint(k, sub, CLIENT_ID, -3600, &t);
    ck_assert_int_eq(status_with_token(buf_cstr(&t)), 401);
    mint(k, sub, "otherclient", 600, &t);
    ck_assert_int_eq(status_with_token(buf_cstr(&t)), 401);
    /* an id token, and alg none */
    int64_t now = clock_real_us() / 1000000;
    char hdr[256], payload[1024];
    snprintf(hdr, sizeof hdr, "{\"kid\":\"%s\",\"alg\":\"RS256\"}", devkey_kid(k));
    snprintf(payload, sizeof payload,
             "{\"sub\":\"%s\",\"iss\":\"%s\",\"aud\":\"%s\",\"token_use\":\"id\","
             "\"exp\":%lld,\"iat\":%lld}",
             sub, g_issuer, CLIENT_ID, (long long)(now + 600), (long long)now);
    errinfo e;
    buf_reset(&t);
    ck_assert(devkey_sign(k, strv_from(hdr), strv_from(payload), &t, &e) == 0);
    ck_assert_int_eq(status_with_token(buf_cstr(&t)), 401);
    snprintf(payload, sizeof payload,
             "{\"sub\":\"%s\",\"iss\":\"%s\",\"client_id\":\"%s\",\"token_use\":\"access\","
             "\"exp\":%lld,\"iat\":%lld}",
             sub, g_issuer, CLIENT_ID, (long long)(now + 600), (long long)now);
    buf_reset(&t);
    ck_assert(devkey_sign(k, strv_from(hdr), strv_from(payload), &t, &e) == 0);
    ck_assert_int_eq(status_with_token(buf_cstr(&t)), 200); /* the control is valid */
    buf h64, p64;
    buf_init(&h64, 0);
    buf_init(&p64, 0);
    const char none_hdr[] = "{\"alg\":\"none\",\"typ\":\"JWT\"}";
    base64_encode(BASE64_URL, none_hdr, strlen(none_hdr), &h64);
    base64_encode(BASE64_URL, payload, strlen(payload), &p64);
    snprintf(h, sizeof h, "%s.%s.", buf_cstr(&h64), buf_cstr(&p64));
    ck_assert_int_eq(status_with_token(h), 401);
    buf_cleanup(&h64);
    buf_cleanup(&p64);
    /* a valid token whose sub no user has; the 401 is not cached */
    char newsub[37];
    rnd_uuid4(newsub);
    mint(k, newsub, CLIENT_ID, 600, &t);
    res r = req_auth("GET", "/api/message_groups", NULL, NULL, NULL, NULL);
    snprintf(h, sizeof h, "Bearer %s", buf_cstr(&t));
    r = req_auth("GET", "/api/message_groups", NULL, NULL, NULL, h);
    assert_status(r, 401);
    ck_assert_str_eq(jstr(r.json, "error"), "unauthorized");
    ck_assert_ptr_null(strstr(jstr(r.json, "message"), buf_cstr(&t)));
    ck_assert_msg(users_set_cognito_sub(g_ctx.pg, "lena", newsub, &e) == 0, "%s", e.msg);
    ck_assert_int_eq(status_with(h), 200);
    /* and POST/GET messages need a token too */
    r = req(-1, "POST", "/api/messages", NULL, "{\"message\":\"x\",\"handle\":\"mira\"}", NULL);
    assert_status(r, 401);
    r = get_messages(-1, "00000000-0000-4000-8000-000000000000", NULL);
    assert_status(r, 401);
    buf_cleanup(&t);
    devkey_free(k);
}
END_TEST

START_TEST(backends_down_503)
{
    /* key set unreachable */
    jwks_free(g_ctx.keys);
    jwks_options jo = { .source = "/nonexistent/cruddur/jwks.json" };
    errinfo e;
    g_ctx.keys = jwks_new(&jo, &e);
    ck_assert_ptr_nonnull(g_ctx.keys);
    res r = req(MIRA, "GET", "/api/message_groups", NULL, NULL, NULL);
    assert_status(r, 503);
    jwks_free(g_ctx.keys);
    jo.source = g_jwks;
    g_ctx.keys = jwks_new(&jo, &e);
    /* Postgres gone: a database dropped under the connection */
    char db[64], url[4096];
    live_name("cruddur_handlers_gone", db);
    users *m = users_open_db(g_url, "postgres", &e);
    ck_assert_msg(m != NULL, "%s", e.msg);
    ck_assert_msg(users_create_db(m, db, &e) == 0, "%s", e.msg);
    pg_conninfo(db, "", url, sizeof url);
    users *gone = users_open(url, &e);
    ck_assert_msg(gone != NULL, "%s", e.msg);
    size_t ended;
    users_end_sessions(m, db, &ended, &e);
    ck_assert_msg(users_drop_db(m, db, &e) == 0, "%s", e.msg);
    users_close(m);
    users *saved = g_ctx.pg;
    g_ctx.pg = gone;
    r = req(MIRA, "GET", "/api/message_groups", NULL, NULL, NULL);
    assert_status(r, 503);
    r = req(-1, "GET", "/api/users/@mira/short", NULL, NULL, NULL);
    assert_status(r, 503);
    g_ctx.pg = saved;
    users_close(gone);
}
END_TEST

/* ---- cruddur token ------------------------------------------------------------------------- */

START_TEST(cli_token_mints_a_token_the_api_accepts)
{
    const char *env[] = { "CONNECTION_URL=", NULL, NULL, NULL, NULL };
    char e_url[4200], e_pool[128], e_client[128];
    snprintf(e_url, sizeof e_url, "CONNECTION_URL=%s", g_url);
    snprintf(e_pool, sizeof e_pool, "AWS_COGNITO_USER_POOL_ID=%s", POOL_ID);
    snprintf(e_client, sizeof e_client, "AWS_COGNITO_USER_POOL_CLIENT_ID=%s", CLIENT_ID);
    env[0] = e_url;
    env[1] = e_pool;
    env[2] = e_client;
    /* dev has no cognito_user_id yet: one is set */
    cli_result r;
    cli_run(&r, env, NULL, "token", "--handle", "dev", "--key-dir", g_keydir, NULL);
    cli_assert_status(&r, 0);
    ck_assert_msg(strstr(buf_cstr(&r.err), "set cognito_user_id"), "%s", buf_cstr(&r.err));
    char tok[4096];
    snprintf(tok, sizeof tok, "%s", buf_cstr(&r.out));
    tok[strcspn(tok, "\n")] = '\0';
    cli_result_cleanup(&r);
    char h[4200];
    snprintf(h, sizeof h, "Bearer %.4100s", tok);
    res a = req_auth("GET", "/api/message_groups", NULL, NULL, NULL, h);
    assert_status(a, 200);
    user u;
    errinfo e;
    ck_assert(users_by_handle(g_ctx.pg, "dev", &u, &e) == 0);
    ck_assert_str_ne(u.cognito_user_id, "");
    /* again: the same sub, nothing printed about it */
    cli_run(&r, env, NULL, "token", "--handle", "@dev", "--key-dir", g_keydir, "--ttl-seconds",
            "60", NULL);
    cli_assert_status(&r, 0);
    ck_assert_str_eq(buf_cstr(&r.err), "");
    cli_result_cleanup(&r);
    cli_run(&r, env, NULL, "token", "--print-jwks", "--key-dir", g_keydir, NULL);
    cli_assert_status(&r, 0);
    ck_assert_ptr_nonnull(strstr(buf_cstr(&r.out), "\"keys\""));
    cli_result_cleanup(&r);
    /* errors */
    cli_run(&r, env, NULL, "token", "--handle", "nobody_here", "--key-dir", g_keydir, NULL);
    cli_assert_status(&r, 1);
    cli_result_cleanup(&r);
    cli_run(&r, env, NULL, "token", NULL);
    cli_assert_status(&r, 2);
    cli_result_cleanup(&r);
    cli_run(&r, env, NULL, "token", "--handle", "dev", "--ttl-seconds", "0", NULL);
    cli_assert_status(&r, 2);
    cli_result_cleanup(&r);
    cli_run(&r, env, NULL, "token", "--handle", "dev", "--bogus", NULL);
    cli_assert_status(&r, 2);
    cli_result_cleanup(&r);
    cli_run(&r, env, NULL, "token", "--help", NULL);
    cli_assert_status(&r, 0);
    ck_assert_ptr_nonnull(strstr(buf_cstr(&r.out), "--ttl-seconds"));
    cli_result_cleanup(&r);
}
END_TEST

/* ---- cursors (pure) ------------------------------------------------------------------------ */

START_TEST(cursor_round_trip_and_refusals)
{
    json_t *k = json_pack("{s:{s:s}, s:{s:s}}", "pk", "S", "MSG#g1", "sk", "S",
                          "2026-01-01T00:00:00.000001+00:00");
    char c[1024];
    ck_assert_int_eq(cursor_encode(k, c, sizeof c, NULL), 0);
    json_t *back = NULL;
    errinfo e;
    ck_assert_int_eq(cursor_decode(strv_from(c), "MSG#g1", &back, &e), 0);
    ck_assert(json_equal(back, k));
    json_decref(back);
    ck_assert_int_eq(cursor_decode(strv_from(c), "MSG#g2", &back, &e), -1);
    ck_assert_ptr_null(back);
    ck_assert_int_eq(cursor_encode(k, c, 10, &e), -1);
    json_object_set_new(k, "x", json_pack("{s:s}", "S", "y"));
    ck_assert_int_eq(cursor_encode(k, c, sizeof c, &e), -1);
    json_decref(k);
    k = json_pack("{s:{s:s}, s:{s:s}}", "pk", "S", "MSG#g1", "sk", "N", "1");
    ck_assert_int_eq(cursor_encode(k, c, sizeof c, &e), -1);
    json_decref(k);
    /* hand-made cursors: wrong version, extra member, non-string, padding, too long */
    const char *bad[] = { "\x02{\"pk\":\"MSG#g1\",\"sk\":\"a\"}",
                          "\x01{\"pk\":\"MSG#g1\",\"sk\":\"a\",\"x\":\"b\"}",
                          "\x01{\"pk\":\"MSG#g1\",\"sk\":1}",
                          "\x01{\"pk\":\"MSG#g1\"}",
                          "\x01[\"MSG#g1\",\"a\"]",
                          "\x01{\"pk\":\"MSG#g1\",\"sk\":\"\"}" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        buf b;
        buf_init(&b, 0);
        base64_encode(BASE64_URL, bad[i], strlen(bad[i]), &b);
        ck_assert_msg(cursor_decode(buf_view(&b), "MSG#g1", &back, &e) == -1, "%zu", i);
        buf_cleanup(&b);
    }
    buf b;
    buf_init(&b, 0);
    for (int i = 0; i < 1100; i++)
        buf_putc(&b, 'A');
    ck_assert_int_eq(cursor_decode(buf_view(&b), "MSG#g1", &back, &e), -1);
    ck_assert_int_eq(cursor_decode(STRV("AQ=="), "MSG#g1", &back, &e), -1);
    buf_cleanup(&b);
    /* the query parameters */
    cursor_page_args a;
    ck_assert_int_eq(cursor_page_args_parse(STRV(""), "P", 20, 100, &a, &e), 0);
    ck_assert_int_eq(a.limit, 20);
    ck_assert_ptr_null(a.start_key);
    ck_assert_int_eq(cursor_page_args_parse(STRV("x=1&limit=100&y"), "P", 20, 100, &a, &e), 0);
    ck_assert_int_eq(a.limit, 100);
    ck_assert_int_eq(cursor_page_args_parse(STRV("limit=%31%32"), "P", 20, 100, &a, &e), 0);
    ck_assert_int_eq(a.limit, 12);
    ck_assert_int_eq(cursor_page_args_parse(STRV("limit=007"), "P", 20, 100, &a, &e), 0);
    ck_assert_int_eq(a.limit, 7);
    ck_assert_int_eq(cursor_page_args_parse(STRV("limit=1000"), "P", 20, 100, &a, &e), -1);
    ck_assert_msg(strstr(e.msg, "limit"), "%s", e.msg);
    cursor_page_args_cleanup(&a);
}
END_TEST

/* ---- the run ------------------------------------------------------------------------------- */

static void cleanup(void)
{
    errinfo e;
    ddb *d = live_ddb_open(&e);
    stack_drop(g_db, d, g_table);
    ddb_free(d);
    char p[400];
    snprintf(p, sizeof p, "%s/%s", g_keydir, DEVKEY_PEM_NAME);
    unlink(p);
    unlink(g_jwks);
    rmdir(g_keydir);
}

static Suite *handlers_suite(void)
{
    Suite *s = suite_create("api_handlers");
    TCase *tc = tcase_create("cursor");
    tcase_add_test(tc, cursor_round_trip_and_refusals);
    suite_add_tcase(s, tc);
    tc = tcase_create("flow");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, ctx_open, ctx_close);
    tcase_add_test(tc, flow_new_conversation_reply_and_lists);
    tcase_add_test(tc, existing_conversation_is_reused);
    tcase_add_test(tc, stale_pair_item_starts_a_new_conversation);
    tcase_add_test(tc, membership_holds_while_the_index_lags);
    tcase_add_test(tc, paging_through_120_messages);
    suite_add_tcase(s, tc);
    tc = tcase_create("rules");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, ctx_open, ctx_close);
    tcase_add_test(tc, non_member_gets_404);
    tcase_add_test(tc, malformed_uuid_cursor_limit_400);
    tcase_add_test(tc, bad_bodies);
    tcase_add_test(tc, message_length_in_characters);
    tcase_add_test(tc, handles_unknown_self_malformed);
    suite_add_tcase(s, tc);
    tc = tcase_create("writes");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, ctx_open, ctx_close);
    tcase_add_test(tc, idempotent_retry_creates_nothing_twice);
    tcase_add_test(tc, an_idempotency_key_belongs_to_its_table);
    tcase_add_test(tc, same_microsecond_never_overwrites);
    tcase_add_test(tc, a_new_conversation_never_replaces_a_row_at_the_same_microsecond);
    tcase_add_test(tc, a_nul_in_a_stored_message_does_not_break_the_conversation);
    suite_add_tcase(s, tc);
    tc = tcase_create("auth");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, ctx_open, ctx_close);
    tcase_add_test(tc, tokens_that_get_401);
    tcase_add_test(tc, a_new_sign_up_is_provisioned_just_in_time);
    tcase_add_test(tc, backends_down_503);
    tcase_add_test(tc, cli_token_mints_a_token_the_api_accepts);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    pg_require();
    live_ddb_endpoint();
    live_name("cruddur_handlers", g_db);
    for (char *p = g_db; *p; p++)
        if (*p == '-')
            *p = '_';
    live_name("cruddur-handlers", g_table);
    char kd[64];
    live_name("cruddur-handlers-key", kd);
    snprintf(g_keydir, sizeof g_keydir, "/tmp/%s", kd);
    pg_conninfo(g_db, "", g_url, sizeof g_url);
    snprintf(g_jwks, sizeof g_jwks, "%s/%s", g_keydir, DEVKEY_JWKS_NAME);
    errinfo e;
    ddb *d = live_ddb_open(&e);
    bool created;
    char *err = g_setup_err;
    size_t errlen = sizeof g_setup_err;
    if (stack_make_db(g_db, g_url, g_user, NUSERS, err, errlen) == 0 &&
        live_make_table(d, g_table, true, &created, err, errlen) == 0)
        stack_make_tokens(g_keydir, POOL_ID, CLIENT_ID, g_user, NUSERS, g_tok, g_issuer,
                          sizeof g_issuer, err, errlen);
    ddb_free(d);
    int rc = tap_run(handlers_suite());
    cleanup();
    return rc;
}
