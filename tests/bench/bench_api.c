/* bench_api.c — the helper of tests/bench/api/run (the cruddur-api benchmark):
 *   bench_api seed HANDLE GROUPS MESSAGES   conversations for HANDLE: GROUPS group rows with
 *       made-up partners (for GET /api/message_groups) and one conversation with the user
 *       tomasz holding MESSAGES messages; prints "group=<uuid>" of the latter
 *   bench_api ddb-lua GROUP OUT.lua [put]   a wrk script sending pattern A's Query for GROUP
 *       (the one GET /api/messages/{uuid} sends) straight to DynamoDB Local, signed once;
 *       with "put", pattern C's conditional PutItem of a new message into GROUP instead (the
 *       one POST /api/messages sends), each request with its own sort key and uuid
 *   bench_api costs TOKEN_FILE N            microseconds per token verification (RS256 +
 *       claims, warm key cache) and per Postgres user lookup by sub, each timed N times
 * Environment as for cruddur-api: CONNECTION_URL, AWS_ENDPOINT_URL, CRUDDUR_DDB_TABLE,
 * CRUDDUR_JWKS_URL, AWS_COGNITO_USER_POOL_ID, AWS_COGNITO_USER_POOL_CLIENT_ID. */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/jwks.h"
#include "auth/jwt.h"
#include "aws/creds.h"
#include "aws/ddb.h"
#include "aws/sigv4.h"
#include "base/clock.h"
#include "base/rnd.h"
#include "messaging/messaging.h"
#include "messaging/post.h"
#include "users/users.h"
#include "support_env.h"

static const char *bench_table(void)
{
    const char *t = getenv("CRUDDUR_DDB_TABLE");
    return t && *t ? t : MESSAGING_TABLE_DEFAULT;
}

/* Pattern D as the product runs it: a conversation of me and other whose first message is
 * dated at_us (or, when the pair has one already, such as cruddur setup's sample
 * conversation, a message into it); its group into g. 0, or -1 with err filled. */
static int bench_start(ddb *d, const messaging_user *me, const messaging_user *other,
                       const char *text, int64_t at_us, char g[UUID_BUF], ddb_error *err)
{
    messaging_store st = { .db = d, .table = bench_table() };
    messaging_post p = { .me = me, .message = text, .at_us = at_us };
    messaging_post_result res;
    messaging_post_result_init(&res);
    int rc = messaging_start(&st, &p, other, &res);
    if (rc == 0 && res.outcome != MESSAGING_POST_CREATED && res.outcome != MESSAGING_POST_JOINED) {
        rc = -1;
        if (res.outcome != MESSAGING_POST_FAILED) {
            ddb_error_clear(&res.err);
            errinfo_set(&res.err.info, ERR_INVALID, "pattern D: outcome %d", res.outcome);
        }
    }
    memcpy(g, res.group, UUID_BUF);
    *err = res.err;
    messaging_post_result_cleanup(&res);
    return rc;
}

static int bench_seed(const char *handle, long groups, long messages)
{
    errinfo e;
    users *u = users_open(NULL, &e);
    user me, other;
    if (!u || users_by_handle(u, handle, &me, &e) != 0 ||
        users_by_handle(u, "tomasz", &other, &e) != 0) {
        fprintf(stderr, "bench_api: users: %s\n", e.msg);
        users_close(u);
        return 1;
    }
    users_close(u);
    ddb *d = ddb_new(NULL, &e);
    if (!d) {
        fprintf(stderr, "bench_api: %s\n", e.msg);
        return 1;
    }
    messaging_user mu = { me.uuid, me.display_name, me.handle };
    ddb_error err;
    int64_t t0 = clock_real_us() - 3600LL * 1000000;
    for (long i = 0; i < groups; i++) {
        char g[37], m[37], ou[37], ts[MESSAGING_TS_LEN], h[32];
        rnd_uuid4(g);
        rnd_uuid4(m);
        rnd_uuid4(ou);
        snprintf(h, sizeof h, "partner%ld", i);
        messaging_user p = { ou, "Bench Partner", h };
        clock_iso8601_us(ts, sizeof ts, t0 + i * 1000);
        if (bench_start(d, &mu, &p, "hello from the bench", t0 + i * 1000, g, &err) != 0) {
            fprintf(stderr, "bench_api: seed: %s\n", err.info.msg);
            ddb_free(d);
            return 1;
        }
    }
    messaging_user mo = { other.uuid, other.display_name, other.handle };
    char g[37], m[37], ts[MESSAGING_TS_LEN];
    rnd_uuid4(g);
    rnd_uuid4(m);
    clock_iso8601_us(ts, sizeof ts, t0 + groups * 1000 + 1000);
    int rc = bench_start(d, &mu, &mo, "the bench thread", t0 + groups * 1000 + 1000, g, &err);
    for (long i = 1; rc == 0 && i < messages; i++) {
        char text[64];
        snprintf(text, sizeof text, "bench message %ld, a line of ordinary length", i);
        clock_iso8601_us(ts, sizeof ts, t0 + groups * 1000 + 1000 + i * 10);
        rnd_uuid4(m);
        json_t *item = messaging_message_item(g, ts, m, i % 2 ? &mo : &mu, text);
        rc = item ? messaging_put_message(d, bench_table(), item, &err) : -1;
        json_decref(item);
    }
    ddb_free(d);
    if (rc != 0) {
        fprintf(stderr, "bench_api: seed: %s\n", err.info.msg);
        return 1;
    }
    printf("group=%s\n", g);
    return 0;
}

/* Pattern C's PutItem as cruddur-api sends it (messaging_put_message), with the
 * placeholders @TS@ (sort key) and @ID@ (message uuid) for the wrk script to fill in.
 * NULL when out of memory. */
static char *bench_put_body(const char *group)
{
    messaging_user me = { "00000000-0000-4000-8000-000000000001", "Mira Bench", "mira" };
    json_t *item = messaging_message_item(group, "@TS@", "@ID@", &me, "bench");
    json_t *req = item ? json_pack("{s:s, s:O, s:s}", "TableName", bench_table(), "Item", item,
                                   "ConditionExpression", "attribute_not_exists(sk)")
                       : NULL;
    char *body = req ? json_dumps(req, JSON_COMPACT) : NULL;
    json_decref(req);
    json_decref(item);
    return body;
}

/* A wrk script for pattern A's Query (messaging_conversation_page) or, with put, pattern C's
 * PutItem. Signed once: DynamoDB Local does not check signatures, so the PutItem script may
 * vary its body under the same Authorization header; the API signs each request for real. */
static int bench_ddb_lua(const char *group, const char *out, bool put)
{
    const char *ep = getenv("AWS_ENDPOINT_URL");
    if (!ep || !*ep) {
        fprintf(stderr, "bench_api: set AWS_ENDPOINT_URL to DynamoDB Local\n");
        return 1;
    }
    const char *p = strstr(ep, "://");
    char host[256];
    snprintf(host, sizeof host, "%s", p ? p + 3 : ep);
    host[strcspn(host, "/")] = '\0';
    char body[1024];
    snprintf(body, sizeof body,
             "{\"TableName\":\"%s\",\"KeyConditionExpression\":\"#k = :v\","
             "\"ExpressionAttributeNames\":{\"#k\":\"pk\"},"
             "\"ExpressionAttributeValues\":{\":v\":{\"S\":\"MSG#%s\"}},"
             "\"Limit\":20,\"ScanIndexForward\":false}",
             bench_table(), group);
    char *put_body = put ? bench_put_body(group) : NULL;
    if (put && (!put_body || strlen(put_body) >= sizeof body)) {
        fprintf(stderr, "bench_api: cannot make the PutItem body\n");
        free(put_body);
        return 1;
    }
    if (put)
        snprintf(body, sizeof body, "%s", put_body);
    free(put_body);
    const char *target = put ? "DynamoDB_20120810.PutItem" : "DynamoDB_20120810.Query";
    creds *c = creds_new(NULL);
    const creds_value *cv;
    errinfo e;
    if (!c || creds_get(c, &cv, &e) != 0) {
        fprintf(stderr, "bench_api: credentials: %s\n", c ? e.msg : "no memory");
        creds_free(c);
        return 1;
    }
    sigv4_header h[3] = { { STRV("host"), strv_from(host) },
                          { STRV("content-type"), STRV("application/x-amz-json-1.0") },
                          { STRV("x-amz-target"), strv_from(target) } };
    sigv4_request req = { .method = STRV("POST"),
                          .path = STRV("/"),
                          .query = STRV_EMPTY,
                          .headers = h,
                          .nheaders = 3,
                          .payload = body,
                          .payload_len = strlen(body) };
    sigv4_credentials sc = { cv->access_key_id, cv->secret_access_key, cv->session_token };
    const char *region = getenv("AWS_DEFAULT_REGION");
    sigv4_options so = { .region = region && *region ? region : "us-east-1",
                         .service = "dynamodb",
                         .time_s = clock_real_us() / 1000000,
                         .normalize_path = true };
    sigv4_signer *s = sigv4_signer_new();
    sigv4_result r;
    sigv4_result_init(&r);
    int rc = s ? sigv4_sign(s, &req, &sc, &so, &r, &e) : -1;
    FILE *f = rc == 0 ? fopen(out, "w") : NULL;
    if (f) {
        fprintf(f, "-- pattern %s, pre-signed (written by bench_api ddb-lua)\n",
                put ? "C's PutItem" : "A's Query");
        fprintf(f, "wrk.method = \"POST\"\nwrk.body = [==[%s]==]\n", body);
        fprintf(f, "wrk.headers[\"Content-Type\"] = \"application/x-amz-json-1.0\"\n");
        fprintf(f, "wrk.headers[\"X-Amz-Target\"] = \"%s\"\n", target);
        fprintf(f, "wrk.headers[\"X-Amz-Date\"] = \"%s\"\n", r.amz_date);
        fprintf(f, "wrk.headers[\"Authorization\"] = \"%s\"\n", buf_cstr(&r.authorization));
        if (cv->session_token)
            fprintf(f, "wrk.headers[\"X-Amz-Security-Token\"] = \"%s\"\n", cv->session_token);
        fprintf(f, "local cap = tonumber(os.getenv(\"BENCH_CAP\") or \"0\")\n"
                   "local n = 0\n"
                   "function response(status, headers, body)\n"
                   "  n = n + 1\n"
                   "  if cap > 0 and n >= cap then wrk.thread:stop() end\n"
                   "end\n");
        /* Each PutItem a sort key of its own: thread number, a per-run nonce and a counter,
         * dated 2001 so that the new items sort below every real message. */
        if (put)
            fprintf(f, "local next_id = 1\n"
                       "function setup(thread)\n"
                       "  thread:set(\"tid\", next_id)\n"
                       "  next_id = next_id + 1\n"
                       "end\n"
                       "local k = 0\n"
                       "local nonce = os.time() %% 100000\n"
                       "function request()\n"
                       "  k = k + 1\n"
                       "  local ts = string.format(\"2001-01-01T00:00:00.%%05d%%02d%%09d+00:00\", "
                       "nonce, tid or 0, k)\n"
                       "  local id = string.format(\"00000000-0000-4000-8000-%%012d\", k)\n"
                       "  local b = wrk.body:gsub(\"@TS@\", ts):gsub(\"@ID@\", id)\n"
                       "  return wrk.format(nil, nil, nil, b)\n"
                       "end\n");
        fclose(f);
    } else {
        fprintf(stderr, "bench_api: cannot sign or write %s\n", out);
        rc = -1;
    }
    sigv4_result_cleanup(&r);
    sigv4_signer_free(s);
    creds_free(c);
    return rc == 0 ? 0 : 1;
}

static int bench_costs(const char *token, long n)
{
    errinfo e;
    const char *src = getenv("CRUDDUR_JWKS_URL");
    const char *pool = getenv("AWS_COGNITO_USER_POOL_ID");
    const char *client = getenv("AWS_COGNITO_USER_POOL_CLIENT_ID");
    buf iss;
    buf_init(&iss, 512);
    jwks_options jo = { .source = src };
    jwks *k = src ? jwks_new(&jo, &e) : NULL;
    users *u = NULL;
    int rc = 1;
    if (!k || !pool || !client || jwt_issuer_for_pool(NULL, pool, &iss, &e) != 0) {
        fprintf(stderr, "bench_api: set CRUDDUR_JWKS_URL, AWS_COGNITO_USER_POOL_ID and "
                        "AWS_COGNITO_USER_POOL_CLIENT_ID\n");
        goto out;
    }
    jwt_expect x;
    jwt_expect_init(&x, buf_cstr(&iss), client);
    jwt_claims cl;
    int64_t now = clock_real_us() / 1000000;
    if (jwt_verify(k, token, strlen(token), &x, now, &cl, &e) != 0) { /* warms the keys */
        fprintf(stderr, "bench_api: the token does not verify: %s\n", e.msg);
        goto out;
    }
    int64_t t0 = clock_mono_us();
    for (long i = 0; i < n; i++)
        if (jwt_verify(k, token, strlen(token), &x, now, &cl, &e) != 0)
            goto out;
    double verify_us = (double)(clock_mono_us() - t0) / (double)n;
    u = users_open(NULL, &e);
    user me;
    if (!u || users_by_cognito_sub(u, cl.sub, &me, &e) != 0) {
        fprintf(stderr, "bench_api: Postgres: %s\n", e.msg);
        goto out;
    }
    t0 = clock_mono_us();
    for (long i = 0; i < n; i++)
        if (users_by_cognito_sub(u, cl.sub, &me, &e) != 0)
            goto out;
    double pg_us = (double)(clock_mono_us() - t0) / (double)n;
    printf("token verification: %.1f us per request (RS256 + claims, key cached; %ld runs)\n",
           verify_us, n);
    printf("postgres user lookup by sub: %.1f us per request (one round trip; %ld runs; the "
           "API caches it per worker for 30 s)\n",
           pg_us, n);
    rc = 0;
out:
    users_close(u);
    jwks_free(k);
    buf_cleanup(&iss);
    return rc;
}

int main(int argc, char **argv)
{
    support_env_local_aws(); /* a local stack only: never instance metadata */
    if (argc == 5 && strcmp(argv[1], "seed") == 0)
        return bench_seed(argv[2], strtol(argv[3], NULL, 10), strtol(argv[4], NULL, 10));
    if (argc == 4 && strcmp(argv[1], "ddb-lua") == 0)
        return bench_ddb_lua(argv[2], argv[3], false);
    if (argc == 5 && strcmp(argv[1], "ddb-lua") == 0 && strcmp(argv[4], "put") == 0)
        return bench_ddb_lua(argv[2], argv[3], true);
    if (argc == 4 && strcmp(argv[1], "costs") == 0) {
        long n = strtol(argv[3], NULL, 10);
        char token[8200] = "";
        FILE *f = fopen(argv[2], "r");
        if (!f || !fgets(token, sizeof token, f)) {
            fprintf(stderr, "bench_api: cannot read the token file %s\n", argv[2]);
            if (f)
                fclose(f);
            return 1;
        }
        fclose(f);
        token[strcspn(token, "\r\n")] = '\0';
        return bench_costs(token, n > 0 && n <= 1000000 ? n : 1000);
    }
    fprintf(stderr, "usage: bench_api seed HANDLE GROUPS MESSAGES | ddb-lua GROUP OUT.lua [put] | "
                    "costs TOKEN_FILE N\n");
    return 2;
}
