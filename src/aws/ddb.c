/* ddb.c — the DynamoDB JSON 1.0 client: signing, transport, retries, error decoding, and
 * the table and item operations. */
#include "config.h"
#include "aws/ddb.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "aws/sigv4.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/env.h"
#include "base/jparse.h"
#include "base/log.h"
#include "base/rnd.h"

#define DDB_URL_MAX 2048
#define DDB_REQUEST_MAX ((size_t)16 << 20)
/* Attribute values nest at most 32 deep; the envelope adds a few levels. */
#define DDB_JSON_DEPTH 48

/* A parsed endpoint: what curl gets, what Host says, the path that is signed. */
typedef struct ddb_url {
    char url[DDB_URL_MAX];
    char authority[256];
    char path[DDB_URL_MAX];
} ddb_url;

struct ddb {
    char region[64];
    ddb_url main;
    ddb_url streams;
    retry_policy retry;
    creds *credentials;
    bool owns_credentials;
    sigv4_signer *signer;
    sigv4_result signed_req;
    http *http;
    http_response resp;
    buf body;
    buf hdr[6];
};

/* ---- endpoints ----------------------------------------------------------------------------- */

static int ddb_url_parse(ddb_url *ep, const char *url, errinfo *e)
{
    size_t n = strlen(url);
    if (n == 0 || n >= DDB_URL_MAX)
        return errinfo_set(e, ERR_CONFIG, "endpoint URL is empty or longer than %d bytes",
                           DDB_URL_MAX - 1);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)url[i] <= ' ' || url[i] == 0x7f)
            return errinfo_set(e, ERR_CONFIG, "endpoint URL %.200s contains a space or control "
                                              "character", url);
    const char *rest;
    if (strncmp(url, "http://", 7) == 0)
        rest = url + 7;
    else if (strncmp(url, "https://", 8) == 0)
        rest = url + 8;
    else
        return errinfo_set(e, ERR_CONFIG, "endpoint URL %.200s must start with http:// or https://",
                           url);
    size_t alen = strcspn(rest, "/?#");
    if (alen == 0 || alen >= sizeof ep->authority || memchr(rest, '@', alen))
        return errinfo_set(e, ERR_CONFIG, "endpoint URL %.200s has no usable host", url);
    if (rest[alen] == '?' || rest[alen] == '#')
        return errinfo_set(e, ERR_CONFIG, "endpoint URL %.200s must not have a query or fragment",
                           url);
    memcpy(ep->authority, rest, alen);
    ep->authority[alen] = '\0';
    const char *path = rest + alen;
    snprintf(ep->path, sizeof ep->path, "%s", *path ? path : "/");
    if (strpbrk(ep->path, "?#"))
        return errinfo_set(e, ERR_CONFIG, "endpoint URL %.200s must not have a query or fragment",
                           url);
    int w = snprintf(ep->url, sizeof ep->url, "%.*s%s", (int)(rest - url + alen), url, ep->path);
    if (w < 0 || (size_t)w >= sizeof ep->url)
        return errinfo_set(e, ERR_CONFIG, "endpoint URL is longer than %d bytes", DDB_URL_MAX - 2);
    return 0;
}

static const char *ddb_first_env(const char *a, const char *b, const char *c)
{
    const char *v = a ? env_str(a) : NULL;
    if (!v && b)
        v = env_str(b);
    if (!v && c)
        v = env_str(c);
    return v;
}

ddb *ddb_new(const ddb_options *opts, errinfo *e)
{
    ddb_options o = { 0 };
    if (opts)
        o = *opts;
    ddb *d = calloc(1, sizeof *d);
    if (!d) {
        errinfo_set(e, ERR_NOMEM, "out of memory");
        return NULL;
    }
    buf_init(&d->body, DDB_REQUEST_MAX);
    for (size_t i = 0; i < sizeof d->hdr / sizeof d->hdr[0]; i++)
        buf_init(&d->hdr[i], 16384);
    sigv4_result_init(&d->signed_req);
    http_response_init(&d->resp);

    const char *region = o.region ? o.region : ddb_first_env("AWS_REGION", "AWS_DEFAULT_REGION",
                                                             NULL);
    const char *endpoint = o.endpoint;
    const char *streams = o.streams_endpoint;
    if (!o.ignore_endpoint_env) {
        if (!endpoint)
            endpoint = ddb_first_env("AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL", NULL);
        if (!streams)
            streams = ddb_first_env("AWS_ENDPOINT_URL_DYNAMODB_STREAMS", NULL, NULL);
    }
    if (!streams && endpoint)
        streams = endpoint;
    if (!region) {
        if (!endpoint) {
            errinfo_set(e, ERR_CONFIG, "no AWS region: set AWS_REGION or AWS_DEFAULT_REGION");
            goto fail;
        }
        region = "us-east-1";
    }
    size_t rl = strlen(region);
    if (rl == 0 || rl >= sizeof d->region || strspn(region, "abcdefghijklmnopqrstuvwxyz0123456789-") != rl) {
        errinfo_set(e, ERR_CONFIG, "AWS region %.64s is not a region name", region);
        goto fail;
    }
    memcpy(d->region, region, rl + 1);

    char url[DDB_URL_MAX];
    if (!endpoint) {
        snprintf(url, sizeof url, "https://dynamodb.%s.amazonaws.com/", d->region);
        endpoint = url;
    }
    if (ddb_url_parse(&d->main, endpoint, e) != 0)
        goto fail;
    char surl[DDB_URL_MAX];
    if (!streams) {
        snprintf(surl, sizeof surl, "https://streams.dynamodb.%s.amazonaws.com/", d->region);
        streams = surl;
    }
    if (ddb_url_parse(&d->streams, streams, e) != 0)
        goto fail;

    long v;
    http_options ho = { .connect_timeout_ms = o.connect_timeout_ms, .timeout_ms = o.timeout_ms };
    if (!ho.connect_timeout_ms) {
        if (env_long("CRUDDUR_DDB_CONNECT_TIMEOUT_MS", 1, 600000, 3000, &v, e) != 0)
            goto fail;
        ho.connect_timeout_ms = v;
    }
    if (!ho.timeout_ms) {
        if (env_long("CRUDDUR_DDB_TIMEOUT_MS", 1, 600000, 10000, &v, e) != 0)
            goto fail;
        ho.timeout_ms = v;
    }
    d->retry = o.retry;
    if (d->retry.max_attempts <= 0) {
        if (env_long("CRUDDUR_DDB_MAX_ATTEMPTS", 1, 20, 5, &v, e) != 0)
            goto fail;
        d->retry.max_attempts = (int)v;
    }
    if (d->retry.base_ms <= 0)
        d->retry.base_ms = RETRY_POLICY_DEFAULT.base_ms;
    if (d->retry.cap_ms <= 0)
        d->retry.cap_ms = RETRY_POLICY_DEFAULT.cap_ms;

    if (o.credentials) {
        d->credentials = o.credentials;
    } else {
        d->credentials = creds_new(NULL);
        d->owns_credentials = true;
    }
    d->signer = sigv4_signer_new();
    d->http = http_new(&ho, e);
    if (!d->credentials || !d->signer) {
        errinfo_set(e, ERR_NOMEM, "out of memory");
        goto fail;
    }
    if (!d->http)
        goto fail;
    return d;
fail:
    ddb_free(d);
    return NULL;
}

void ddb_free(ddb *d)
{
    if (!d)
        return;
    http_free(d->http);
    http_response_cleanup(&d->resp);
    sigv4_signer_free(d->signer);
    sigv4_result_cleanup(&d->signed_req);
    if (d->owns_credentials)
        creds_free(d->credentials);
    buf_cleanup(&d->body);
    for (size_t i = 0; i < sizeof d->hdr / sizeof d->hdr[0]; i++)
        buf_cleanup_wipe(&d->hdr[i]);
    free(d);
}

const char *ddb_endpoint(const ddb *d)
{
    return d->main.url;
}

const char *ddb_streams_endpoint(const ddb *d)
{
    return d->streams.url;
}

const char *ddb_region(const ddb *d)
{
    return d->region;
}

/* ---- errors ---------------------------------------------------------------------------------- */

void ddb_error_clear(ddb_error *err)
{
    if (!err)
        return;
    errinfo_clear(&err->info);
    err->http_status = 0;
    err->type[0] = '\0';
    err->fail = HTTP_FAIL_NONE;
    err->attempts = 0;
    err->nreasons = 0;
}

bool ddb_error_is(const ddb_error *err, const char *type)
{
    return err && strcmp(err->type, type) == 0;
}

/* Fills err from an error answer's body: __type, message (either case), and the
 * cancellation reasons of a cancelled transaction. */
static void ddb_error_decode(ddb_error *err, const char *op, long status, const buf *body)
{
    json_t *j = jparse(buf_cstr(body), body->len, DDB_JSON_DEPTH, NULL);
    const char *type = json_string_value(json_object_get(j, "__type"));
    const char *msg = json_string_value(json_object_get(j, "message"));
    if (!msg)
        msg = json_string_value(json_object_get(j, "Message"));
    snprintf(err->type, sizeof err->type, "%s", retry_short_type(type));
    json_t *reasons = json_object_get(j, "CancellationReasons");
    err->nreasons = 0;
    if (json_is_array(reasons)) {
        size_t i;
        json_t *r;
        json_array_foreach(reasons, i, r) {
            if (err->nreasons >= (int)(sizeof err->reasons / sizeof err->reasons[0]))
                break;
            const char *code = json_string_value(json_object_get(r, "Code"));
            snprintf(err->reasons[err->nreasons++], sizeof err->reasons[0], "%s",
                     code ? code : "None");
        }
    }
    if (err->type[0])
        errinfo_set(&err->info, ERR_SERVICE, "DynamoDB %s: %s: %.200s", op, err->type,
                    msg ? msg : "(no message)");
    else
        errinfo_set(&err->info, ERR_SERVICE, "DynamoDB %s: HTTP %ld with no error type", op,
                    status);
    if (strcmp(err->type, "ResourceNotFoundException") == 0)
        err->info.code = ERR_NOTFOUND;
    else if (strcmp(err->type, "ValidationException") == 0 ||
             strcmp(err->type, "SerializationException") == 0)
        err->info.code = ERR_INVALID;
    json_decref(j);
}

/* ---- the call ------------------------------------------------------------------------------- */

static int ddb_dump_cb(const char *p, size_t n, void *ud)
{
    return buf_append(ud, p, n);
}

/* Builds the signed header lines for one try into d->hdr and lines[]. */
static int ddb_sign(ddb *d, const ddb_url *ep, const char *target, const char **lines,
                    errinfo *e)
{
    const creds_value *cv;
    if (creds_get(d->credentials, &cv, e) != 0)
        return -1;
    sigv4_header h[3] = {
        { STRV("host"), strv_from(ep->authority) },
        { STRV("content-type"), STRV("application/x-amz-json-1.0") },
        { STRV("x-amz-target"), strv_from(target) },
    };
    sigv4_request req = {
        .method = STRV("POST"),
        .path = strv_from(ep->path),
        .query = STRV_EMPTY,
        .headers = h,
        .nheaders = 3,
        .payload = d->body.data,
        .payload_len = d->body.len,
    };
    sigv4_credentials sc = { cv->access_key_id, cv->secret_access_key, cv->session_token };
    sigv4_options so = {
        .region = d->region,
        .service = "dynamodb",
        .time_s = clock_real_us() / 1000000,
        .normalize_path = true,
    };
    if (sigv4_sign(d->signer, &req, &sc, &so, &d->signed_req, e) != 0)
        return -1;
    size_t n = 0;
    for (size_t i = 0; i < sizeof d->hdr / sizeof d->hdr[0]; i++)
        buf_reset(&d->hdr[i]);
    buf_printf(&d->hdr[0], "Host: %s", ep->authority);
    buf_printf(&d->hdr[1], "Content-Type: application/x-amz-json-1.0");
    buf_printf(&d->hdr[2], "X-Amz-Target: %s", target);
    buf_printf(&d->hdr[3], "X-Amz-Date: %s", d->signed_req.amz_date);
    buf_printf(&d->hdr[4], "Authorization: %s", buf_cstr(&d->signed_req.authorization));
    size_t used = 5;
    if (cv->session_token && *cv->session_token)
        buf_printf(&d->hdr[used++], "X-Amz-Security-Token: %s", cv->session_token);
    for (size_t i = 0; i < used; i++) {
        if (d->hdr[i].failed)
            return errinfo_set(e, ERR_TOOBIG, "request header too long");
        lines[n++] = buf_cstr(&d->hdr[i]);
    }
    lines[n] = NULL;
    return 0;
}

/* What the retry log line calls the failure: the service's type, the transport class, or
 * the HTTP status. */
static const char *ddb_error_label(const ddb_error *err, char *tmp, size_t tmplen)
{
    if (err->type[0])
        return err->type;
    if (err->fail != HTTP_FAIL_NONE)
        return http_fail_name(err->fail);
    snprintf(tmp, tmplen, "http-%ld", err->http_status);
    return tmp;
}

static int ddb_call_at(ddb *d, const ddb_url *ep, const char *prefix, const char *op,
                       const json_t *req, json_t **resp, ddb_error *err)
{
    ddb_error scratch;
    if (!err)
        err = &scratch;
    ddb_error_clear(err);
    *resp = NULL;

    char target[128];
    if ((size_t)snprintf(target, sizeof target, "%s.%s", prefix, op) >= sizeof target)
        return errinfo_set(&err->info, ERR_INVALID, "operation name too long");
    buf_reset(&d->body);
    if (json_dump_callback(req, ddb_dump_cb, &d->body, JSON_COMPACT) != 0)
        return errinfo_set(&err->info, d->body.failed ? ERR_TOOBIG : ERR_INVALID,
                           "DynamoDB %s: request cannot be encoded (over %zu bytes?)", op,
                           d->body.max);

    for (int attempt = 1;; attempt++) {
        const char *lines[8];
        err->attempts = attempt;
        if (ddb_sign(d, ep, target, lines, &err->info) != 0)
            return -1;
        errinfo te;
        bool retry;
        if (http_request(d->http, "POST", ep->url, lines, d->body.data, d->body.len, &d->resp,
                         &te) != 0) {
            err->fail = d->resp.fail;
            err->http_status = 0;
            err->type[0] = '\0';
            errinfo_set(&err->info, te.code, "DynamoDB %s: %s", op, te.msg);
            retry = retry_is_retryable(0, NULL, err->fail);
        } else if (d->resp.status == 200) {
            if (d->resp.amz_crc32[0]) {
                unsigned long want = strtoul(d->resp.amz_crc32, NULL, 10);
                if (want != crc32(0L, (const Bytef *)d->resp.body.data, (uInt)d->resp.body.len)) {
                    errinfo_set(&err->info, ERR_IO, "DynamoDB %s: response CRC32 mismatch", op);
                    err->fail = HTTP_FAIL_RESET;
                    retry = true;
                    goto again;
                }
            }
            errinfo pe;
            json_t *j = jparse(buf_cstr(&d->resp.body), d->resp.body.len, DDB_JSON_DEPTH, &pe);
            if (!json_is_object(j)) {
                json_decref(j);
                err->http_status = 200;
                return errinfo_set(&err->info, ERR_SERVICE,
                                   "DynamoDB %s: response is not a JSON object (%s)", op,
                                   j ? "another JSON type" : pe.msg);
            }
            *resp = j;
            return 0;
        } else {
            err->fail = HTTP_FAIL_NONE;
            err->http_status = d->resp.status;
            ddb_error_decode(err, op, d->resp.status, &d->resp.body);
            retry = retry_is_retryable(d->resp.status, err->type, HTTP_FAIL_NONE);
        }
    again:
        if (!retry || attempt >= d->retry.max_attempts)
            return -1;
        long delay = retry_delay_ms(&d->retry, attempt - 1, rnd_u64());
        if (log_enabled(LOG_INFO)) {
            char label[32];
            json_t *f = json_pack("{s:s, s:s, s:i, s:I, s:s}", "op", op, "error",
                                  ddb_error_label(err, label, sizeof label),
                                  "attempt", attempt, "delay_ms", (json_int_t)delay, "endpoint",
                                  ep->authority);
            log_fields(LOG_INFO, "ddb.retry", f);
        }
        clock_sleep_ms(delay);
    }
}

int ddb_call(ddb *d, const char *op, const json_t *req, json_t **resp, ddb_error *err)
{
    return ddb_call_at(d, &d->main, "DynamoDB_20120810", op, req, resp, err);
}

int ddb_streams_call(ddb *d, const char *op, const json_t *req, json_t **resp, ddb_error *err)
{
    return ddb_call_at(d, &d->streams, "DynamoDBStreams_20120810", op, req, resp, err);
}

/* ---- tables ---------------------------------------------------------------------------------- */

/* Calls op with req (stolen) and hands back member `member` of the answer (or drops it). */
static int ddb_simple(ddb *d, const char *op, json_t *req, const char *member, json_t **out,
                      ddb_error *err)
{
    json_t *resp = NULL;
    if (out)
        *out = NULL;
    if (!req) {
        ddb_error_clear(err);
        return errinfo_set(err ? &err->info : NULL, ERR_NOMEM, "out of memory");
    }
    int rc = ddb_call(d, op, req, &resp, err);
    json_decref(req);
    if (rc == 0 && out && member) {
        *out = json_incref(json_object_get(resp, member));
    }
    json_decref(resp);
    return rc;
}

int ddb_create_table(ddb *d, const json_t *def, json_t **desc, ddb_error *err)
{
    return ddb_simple(d, "CreateTable", json_deep_copy(def), "TableDescription", desc, err);
}

int ddb_describe_table(ddb *d, const char *table, json_t **desc, ddb_error *err)
{
    return ddb_simple(d, "DescribeTable", json_pack("{s:s}", "TableName", table), "Table", desc,
                      err);
}

int ddb_update_table(ddb *d, const json_t *req, json_t **desc, ddb_error *err)
{
    return ddb_simple(d, "UpdateTable", json_deep_copy(req), "TableDescription", desc, err);
}

int ddb_delete_table(ddb *d, const char *table, ddb_error *err)
{
    return ddb_simple(d, "DeleteTable", json_pack("{s:s}", "TableName", table), NULL, NULL, err);
}

static const char *ddb_str(const json_t *v)
{
    const char *s = json_string_value(v);
    return s ? s : "";
}

static bool ddb_table_active(const json_t *t)
{
    if (strcmp(ddb_str(json_object_get(t, "TableStatus")), "ACTIVE") != 0)
        return false;
    size_t i;
    json_t *g;
    json_array_foreach(json_object_get(t, "GlobalSecondaryIndexes"), i, g) {
        if (strcmp(ddb_str(json_object_get(g, "IndexStatus")), "ACTIVE") != 0)
            return false;
    }
    return true;
}

int ddb_wait_active(ddb *d, const char *table, long timeout_ms, ddb_error *err)
{
    int64_t deadline = clock_mono_ms() + timeout_ms;
    for (;;) {
        json_t *t = NULL;
        if (ddb_describe_table(d, table, &t, err) != 0)
            return -1;
        bool ok = ddb_table_active(t);
        json_decref(t);
        if (ok)
            return 0;
        if (clock_mono_ms() >= deadline) {
            ddb_error_clear(err);
            return errinfo_set(err ? &err->info : NULL, ERR_TIMEOUT,
                               "table %s not ACTIVE after %ld ms", table, timeout_ms);
        }
        clock_sleep_ms(200);
    }
}

int ddb_list_tables(ddb *d, int page_limit, json_t **names, ddb_error *err)
{
    json_t *all = json_array();
    json_t *resp = NULL;
    char *start = NULL;
    *names = NULL;
    if (!all)
        goto nomem;
    for (;;) {
        json_t *req = json_object();
        if (!req)
            goto nomem;
        if (page_limit > 0)
            json_object_set_new(req, "Limit", json_integer(page_limit));
        if (start)
            json_object_set_new(req, "ExclusiveStartTableName", json_string(start));
        int rc = ddb_call(d, "ListTables", req, &resp, err);
        json_decref(req);
        if (rc != 0)
            goto fail;
        json_t *page = json_object_get(resp, "TableNames");
        if (json_array_extend(all, json_is_array(page) ? page : json_array()) != 0 &&
            json_is_array(page))
            goto nomem;
        const char *last = json_string_value(json_object_get(resp, "LastEvaluatedTableName"));
        free(start);
        start = last ? strdup(last) : NULL;
        json_decref(resp);
        resp = NULL;
        if (!last)
            break;
        if (!start)
            goto nomem;
    }
    *names = all;
    return 0;
nomem:
    ddb_error_clear(err);
    errinfo_set(err ? &err->info : NULL, ERR_NOMEM, "out of memory");
fail:
    json_decref(resp);
    json_decref(all);
    free(start);
    return -1;
}

/* ---- items ------------------------------------------------------------------------------------ */

static int ddb_add_expr(json_t *req, const char *member, const ddb_expr *x)
{
    if (!x || !x->expression)
        return 0;
    int rc = json_object_set_new(req, member, json_string(x->expression));
    if (x->names)
        rc |= json_object_set(req, "ExpressionAttributeNames", (json_t *)x->names);
    if (x->values)
        rc |= json_object_set(req, "ExpressionAttributeValues", (json_t *)x->values);
    return rc;
}

int ddb_put_item(ddb *d, const char *table, const json_t *item, const ddb_expr *cond,
                 ddb_error *err)
{
    json_t *req = json_pack("{s:s, s:O}", "TableName", table, "Item", item);
    if (req && ddb_add_expr(req, "ConditionExpression", cond) != 0) {
        json_decref(req);
        req = NULL;
    }
    return ddb_simple(d, "PutItem", req, NULL, NULL, err);
}

int ddb_get_item(ddb *d, const char *table, const json_t *key, bool consistent, json_t **item,
                 ddb_error *err)
{
    json_t *req = json_pack("{s:s, s:O, s:b}", "TableName", table, "Key", key, "ConsistentRead",
                            consistent);
    return ddb_simple(d, "GetItem", req, "Item", item, err);
}

int ddb_delete_item(ddb *d, const char *table, const json_t *key, const ddb_expr *cond,
                    ddb_error *err)
{
    json_t *req = json_pack("{s:s, s:O}", "TableName", table, "Key", key);
    if (req && ddb_add_expr(req, "ConditionExpression", cond) != 0) {
        json_decref(req);
        req = NULL;
    }
    return ddb_simple(d, "DeleteItem", req, NULL, NULL, err);
}

void ddb_page_init(ddb_page *p)
{
    p->items = NULL;
    p->last_key = NULL;
    p->count = 0;
    p->scanned_count = 0;
}

void ddb_page_cleanup(ddb_page *p)
{
    if (!p)
        return;
    json_decref(p->items);
    json_decref(p->last_key);
    ddb_page_init(p);
}

static int ddb_read(ddb *d, const char *op, const ddb_query_options *q, ddb_page *page,
                    ddb_error *err)
{
    ddb_page_cleanup(page);
    json_t *req = json_pack("{s:s}", "TableName", q->table);
    int bad = !req;
    if (req) {
        if (q->index)
            bad |= json_object_set_new(req, "IndexName", json_string(q->index));
        if (q->key_condition)
            bad |= json_object_set_new(req, "KeyConditionExpression",
                                       json_string(q->key_condition));
        if (q->filter)
            bad |= json_object_set_new(req, "FilterExpression", json_string(q->filter));
        if (q->projection)
            bad |= json_object_set_new(req, "ProjectionExpression", json_string(q->projection));
        if (q->names)
            bad |= json_object_set(req, "ExpressionAttributeNames", (json_t *)q->names);
        if (q->values)
            bad |= json_object_set(req, "ExpressionAttributeValues", (json_t *)q->values);
        if (q->limit > 0)
            bad |= json_object_set_new(req, "Limit", json_integer(q->limit));
        if (q->descending)
            bad |= json_object_set_new(req, "ScanIndexForward", json_false());
        if (q->consistent)
            bad |= json_object_set_new(req, "ConsistentRead", json_true());
        if (q->start_key)
            bad |= json_object_set(req, "ExclusiveStartKey", (json_t *)q->start_key);
    }
    if (bad) {
        json_decref(req);
        ddb_error_clear(err);
        return errinfo_set(err ? &err->info : NULL, ERR_NOMEM, "out of memory");
    }
    json_t *resp = NULL;
    int rc = ddb_call(d, op, req, &resp, err);
    json_decref(req);
    if (rc != 0)
        return -1;
    json_t *items = json_object_get(resp, "Items");
    page->items = json_is_array(items) ? json_incref(items) : json_array();
    page->last_key = json_incref(json_object_get(resp, "LastEvaluatedKey"));
    page->count = (long)json_integer_value(json_object_get(resp, "Count"));
    page->scanned_count = (long)json_integer_value(json_object_get(resp, "ScannedCount"));
    json_decref(resp);
    if (!page->items) {
        ddb_page_cleanup(page);
        return errinfo_set(err ? &err->info : NULL, ERR_NOMEM, "out of memory");
    }
    return 0;
}

int ddb_query(ddb *d, const ddb_query_options *q, ddb_page *page, ddb_error *err)
{
    return ddb_read(d, "Query", q, page, err);
}

int ddb_scan(ddb *d, const ddb_query_options *q, ddb_page *page, ddb_error *err)
{
    return ddb_read(d, "Scan", q, page, err);
}

/* ---- batches and transactions ------------------------------------------------------------- */

#define DDB_BATCH_MAX 25
#define DDB_BATCH_ROUNDS 10

int ddb_batch_write(ddb *d, const char *table, const json_t *requests, size_t *unprocessed,
                    ddb_error *err)
{
    size_t total = json_array_size(requests);
    size_t left = 0;
    size_t off = 0;
    json_t *pending = NULL;
    int rc = -1;
    ddb_error_clear(err);
    if (unprocessed)
        *unprocessed = 0;
    if (!json_is_array(requests))
        return errinfo_set(err ? &err->info : NULL, ERR_INVALID, "batch write: not an array");

    for (off = 0; off < total; off += DDB_BATCH_MAX) {
        pending = json_array();
        if (!pending)
            goto nomem;
        for (size_t i = off; i < total && i < off + DDB_BATCH_MAX; i++)
            if (json_array_append(pending, json_array_get(requests, i)) != 0)
                goto nomem;
        for (int round = 0; json_array_size(pending) > 0; round++) {
            if (round >= DDB_BATCH_ROUNDS) {
                errinfo_set(err ? &err->info : NULL, ERR_SERVICE,
                            "DynamoDB BatchWriteItem: %zu items still unprocessed after %d rounds",
                            json_array_size(pending), DDB_BATCH_ROUNDS);
                goto out;
            }
            if (round > 0)
                clock_sleep_ms(retry_delay_ms(&d->retry, round - 1, rnd_u64()));
            json_t *req = json_pack("{s:{s:O}}", "RequestItems", table, pending);
            if (!req)
                goto nomem;
            json_t *resp = NULL;
            int crc = ddb_call(d, "BatchWriteItem", req, &resp, err);
            json_decref(req);
            if (crc != 0)
                goto out;
            json_t *un = json_object_get(json_object_get(resp, "UnprocessedItems"), table);
            json_decref(pending);
            pending = json_is_array(un) ? json_incref(un) : json_array();
            json_decref(resp);
            if (!pending)
                goto nomem;
        }
        json_decref(pending);
        pending = NULL;
    }
    rc = 0;
    goto out;
nomem:
    errinfo_set(err ? &err->info : NULL, ERR_NOMEM, "out of memory");
out:
    if (rc != 0) {
        /* what this chunk still holds plus every later chunk */
        size_t next = off + DDB_BATCH_MAX < total ? off + DDB_BATCH_MAX : total;
        left = (pending ? json_array_size(pending) : next - off) + (total - next);
    }
    json_decref(pending);
    if (unprocessed)
        *unprocessed = left;
    return rc;
}

int ddb_transact_write(ddb *d, const json_t *items, const char *token, ddb_error *err)
{
    json_t *req = json_pack("{s:O}", "TransactItems", items);
    if (req && token && *token) {
        if (strlen(token) > 36) {
            json_decref(req);
            ddb_error_clear(err);
            return errinfo_set(err ? &err->info : NULL, ERR_INVALID,
                               "ClientRequestToken longer than 36 characters");
        }
        if (json_object_set_new(req, "ClientRequestToken", json_string(token)) != 0) {
            json_decref(req);
            req = NULL;
        }
    }
    return ddb_simple(d, "TransactWriteItems", req, NULL, NULL, err);
}
