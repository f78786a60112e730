/* ddb.c — the DynamoDB client: endpoints and region from the environment, and the table
 * and item operations over the AWS JSON 1.0 protocol (aws/awsjson.h). */
#include "config.h"
#include "aws/ddb.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/env.h"
#include "base/jwrite.h"
#include "base/rnd.h"

struct ddb {
    char region[64];
    awsjson_endpoint main;
    awsjson_endpoint streams;
    retry_policy retry;
    awsjson *client;
};

/* ---- set-up ------------------------------------------------------------------------------------ */

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
        errinfo_nomem(e);
        return NULL;
    }
    const char *region =
        o.region ? o.region : ddb_first_env("AWS_REGION", "AWS_DEFAULT_REGION", NULL);
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
    if (rl == 0 || rl >= sizeof d->region ||
        strspn(region, "abcdefghijklmnopqrstuvwxyz0123456789-") != rl) {
        errinfo_set(e, ERR_CONFIG, "AWS region %.64s is not a region name", region);
        goto fail;
    }
    memcpy(d->region, region, rl + 1);

    char url[AWSJSON_URL_MAX];
    if (!endpoint) {
        snprintf(url, sizeof url, "https://dynamodb.%s.amazonaws.com/", d->region);
        endpoint = url;
    }
    if (awsjson_endpoint_parse(&d->main, endpoint, e) != 0)
        goto fail;
    char surl[AWSJSON_URL_MAX];
    if (!streams) {
        snprintf(surl, sizeof surl, "https://streams.dynamodb.%s.amazonaws.com/", d->region);
        streams = surl;
    }
    if (awsjson_endpoint_parse(&d->streams, streams, e) != 0)
        goto fail;

    long v;
    awsjson_options ao = {
        .service_label = "DynamoDB",
        .signing_name = "dynamodb",
        .content_type = "application/x-amz-json-1.0",
        .region = d->region,
        .http = { .connect_timeout_ms = o.connect_timeout_ms,
                  .timeout_ms = o.timeout_ms,
                  .transport = o.transport,
                  .transport_arg = o.transport_arg },
        .retry = o.retry,
        .credentials = o.credentials,
        .observe = o.observe,
        .observe_arg = o.observe_arg,
    };
    if (!ao.http.connect_timeout_ms) {
        if (env_long("CRUDDUR_DDB_CONNECT_TIMEOUT_MS", 1, 600000, 3000, &v, e) != 0)
            goto fail;
        ao.http.connect_timeout_ms = v;
    }
    if (!ao.http.timeout_ms) {
        if (env_long("CRUDDUR_DDB_TIMEOUT_MS", 1, 600000, 10000, &v, e) != 0)
            goto fail;
        ao.http.timeout_ms = v;
    }
    if (ao.retry.max_attempts <= 0) {
        if (env_long("CRUDDUR_DDB_MAX_ATTEMPTS", 1, 20, 5, &v, e) != 0)
            goto fail;
        ao.retry.max_attempts = (int)v;
    }
    if (ao.retry.base_ms <= 0)
        ao.retry.base_ms = RETRY_POLICY_DEFAULT.base_ms;
    if (ao.retry.cap_ms <= 0)
        ao.retry.cap_ms = RETRY_POLICY_DEFAULT.cap_ms;
    d->retry = ao.retry;
    if (!(d->client = awsjson_new(&ao, e)))
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
    awsjson_free(d->client);
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

/* ---- the calls ----------------------------------------------------------------------------- */

int ddb_call(ddb *d, const char *op, const json_t *req, json_t **resp, ddb_error *err)
{
    char target[96];
    snprintf(target, sizeof target, "DynamoDB_20120810.%.64s", op);
    return awsjson_call(d->client, &d->main, target, op, req, resp, err);
}

int ddb_streams_call(ddb *d, const char *op, const json_t *req, json_t **resp, ddb_error *err)
{
    char target[96];
    snprintf(target, sizeof target, "DynamoDBStreams_20120810.%.64s", op);
    return awsjson_call(d->client, &d->streams, target, op, req, resp, err);
}

/* ---- tables ---------------------------------------------------------------------------------- */

/* Calls op with req (stolen) and hands back member `member` of the answer (or drops it). */
static int ddb_simple(ddb *d, const char *op, json_t *req, const char *member, json_t **out,
                      ddb_error *err)
{
    json_t *resp = NULL;
    if (out)
        *out = NULL;
    if (!req)
        return aws_error_nomem(err);
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
    json_array_foreach(json_object_get(t, "GlobalSecondaryIndexes"), i, g)
    {
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
        if (clock_mono_ms() >= deadline)
            return aws_error_set(err, ERR_TIMEOUT, "table %s not ACTIVE after %ld ms", table,
                                 timeout_ms);
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
    aws_error_nomem(err);
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
    json_t *req =
        json_pack("{s:s, s:O, s:b}", "TableName", table, "Key", key, "ConsistentRead", consistent);
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

/* Writes the Query or Scan request for q, only the members q sets (TableName first); an
 * awsjson_writer. -1 when q has no table or a string is not UTF-8. */
static int ddb_read_write(buf *b, const void *arg)
{
    const ddb_query_options *q = arg;
    static const char *const names[] = { ",\"IndexName\":", ",\"KeyConditionExpression\":",
                                         ",\"FilterExpression\":", ",\"ProjectionExpression\":" };
    const char *strs[] = { q->index, q->key_condition, q->filter, q->projection };
    static const char *const objs_names[] = { ",\"ExpressionAttributeNames\":",
                                              ",\"ExpressionAttributeValues\":" };
    const json_t *objs[] = { q->names, q->values };
    if (!q->table || buf_append_str(b, "{\"TableName\":") != 0 ||
        jwrite_str(b, q->table, strlen(q->table)) != 0)
        return -1;
    for (size_t i = 0; i < 4; i++)
        if (strs[i] &&
            (buf_append_str(b, names[i]) != 0 || jwrite_str(b, strs[i], strlen(strs[i])) != 0))
            return -1;
    for (size_t i = 0; i < 2; i++)
        if (objs[i] && (buf_append_str(b, objs_names[i]) != 0 || jwrite_value(b, objs[i]) != 0))
            return -1;
    if (q->limit > 0 && (buf_append_str(b, ",\"Limit\":") != 0 || jwrite_int(b, q->limit) != 0))
        return -1;
    if ((q->descending && buf_append_str(b, ",\"ScanIndexForward\":false") != 0) ||
        (q->consistent && buf_append_str(b, ",\"ConsistentRead\":true") != 0))
        return -1;
    if (q->start_key &&
        (buf_append_str(b, ",\"ExclusiveStartKey\":") != 0 || jwrite_value(b, q->start_key) != 0))
        return -1;
    return buf_putc(b, '}');
}

/* "DynamoDB_20120810.Query" or "...Scan" for op. */
static const char *ddb_read_target(const char *op)
{
    return strcmp(op, "Query") == 0 ? "DynamoDB_20120810.Query" : "DynamoDB_20120810.Scan";
}

static int ddb_read(ddb *d, const char *op, const ddb_query_options *q, ddb_page *page,
                    ddb_error *err)
{
    ddb_page_cleanup(page);
    json_t *resp = NULL;
    if (awsjson_call_written(d->client, &d->main, ddb_read_target(op), op, ddb_read_write, q, &resp,
                             err) != 0)
        return -1;
    json_t *items = json_object_get(resp, "Items");
    page->items = json_is_array(items) ? json_incref(items) : json_array();
    page->last_key = json_incref(json_object_get(resp, "LastEvaluatedKey"));
    page->count = (long)json_integer_value(json_object_get(resp, "Count"));
    page->scanned_count = (long)json_integer_value(json_object_get(resp, "ScannedCount"));
    json_decref(resp);
    if (!page->items) {
        ddb_page_cleanup(page);
        return errinfo_nomem(err ? &err->info : NULL);
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

void ddb_page_view_init(ddb_page_view *p)
{
    p->doc = NULL;
    p->items = JDOC_VAL_NONE;
    p->last_key = JDOC_VAL_NONE;
    p->count = 0;
    p->scanned_count = 0;
}

void ddb_page_view_cleanup(ddb_page_view *p)
{
    if (!p)
        return;
    jdoc_free(p->doc);
    ddb_page_view_init(p);
}

/* Whether item is an item or key in the wire shape: an object of attribute values, each an
 * object with one member ({"S": "..."}). */
static bool ddb_view_item_ok(jdoc_val item)
{
    if (!jdoc_is(item, JDOC_OBJECT))
        return false;
    for (jdoc_val av = jdoc_first(item); av.doc; av = jdoc_next(av))
        if (!jdoc_is(av, JDOC_OBJECT) || jdoc_size(av) != 1)
            return false;
    return true;
}

static int ddb_read_view(ddb *d, const char *op, const ddb_query_options *q, ddb_page_view *page,
                         ddb_error *err)
{
    ddb_page_view_cleanup(page);
    if (awsjson_call_doc_written(d->client, &d->main, ddb_read_target(op), op, ddb_read_write, q,
                                 &page->doc, err) != 0)
        return -1;
    jdoc_val root = jdoc_root(page->doc);
    jdoc_val items = jdoc_get(root, "Items"), key = jdoc_get(root, "LastEvaluatedKey");
    jdoc_val count = jdoc_get(root, "Count"), scanned = jdoc_get(root, "ScannedCount");
    const char *bad = NULL;
    if (items.doc && !jdoc_is(items, JDOC_ARRAY))
        bad = "Items is not an array";
    for (jdoc_val it = jdoc_first(items); !bad && it.doc; it = jdoc_next(it))
        if (!ddb_view_item_ok(it))
            bad = "an item is not a map of attribute values";
    if (!bad && key.doc && !ddb_view_item_ok(key))
        bad = "LastEvaluatedKey is not a map of attribute values";
    if (!bad && ((count.doc && !jdoc_is(count, JDOC_INTEGER)) ||
                 (scanned.doc && !jdoc_is(scanned, JDOC_INTEGER))))
        bad = "Count or ScannedCount is not an integer";
    if (bad) {
        ddb_page_view_cleanup(page);
        if (err)
            err->http_status = 200;
        return errinfo_set(err ? &err->info : NULL, ERR_SERVICE, "DynamoDB %s: reply: %s", op, bad);
    }
    page->items = items;
    page->last_key = key;
    page->count = (long)jdoc_int(count);
    page->scanned_count = (long)jdoc_int(scanned);
    return 0;
}

int ddb_query_view(ddb *d, const ddb_query_options *q, ddb_page_view *page, ddb_error *err)
{
    return ddb_read_view(d, "Query", q, page, err);
}

int ddb_scan_view(ddb *d, const ddb_query_options *q, ddb_page_view *page, ddb_error *err)
{
    return ddb_read_view(d, "Scan", q, page, err);
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
    errinfo_nomem(err ? &err->info : NULL);
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
            return aws_error_set(err, ERR_INVALID, "ClientRequestToken longer than 36 characters");
        }
        if (json_object_set_new(req, "ClientRequestToken", json_string(token)) != 0) {
            json_decref(req);
            req = NULL;
        }
    }
    return ddb_simple(d, "TransactWriteItems", req, NULL, NULL, err);
}
