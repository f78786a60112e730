/* ddbstreams.c — DynamoDB Streams: streams, shards (every page), iterators, records. */
#include "config.h"
#include "aws/ddbstreams.h"
#include "aws/ddbstreams_internal.h"

#include <stdlib.h>
#include <string.h>

#define DDBSTREAMS_MAX_PAGES 10000

static int ddbstreams_bad_reply(ddb_error *err, const char *op, const char *what)
{
    return aws_error_set(err, ERR_SERVICE, "DynamoDB Streams %s: reply %s", op, what);
}

/* One listing that DynamoDB Streams pages: its operation and the members it pages by. */
typedef struct ddbstreams_paging {
    const char *op;    /* "ListStreams", "DescribeStream" */
    const char *inner; /* the reply's member holding the page (NULL: the reply itself) */
    const char *items; /* the page's array: "Streams", "Shards" */
    const char *last;  /* where the next page starts; absent on the last page */
    const char *start; /* the request member that takes it */
} ddbstreams_paging;

/* Calls p->op with req (borrowed; p->start is set on it page by page) until a page has no
 * p->last, appending every page's p->items to all. first, when not NULL, gets a copy of the
 * first page without p->items and p->last (caller-owned, also after a failure). 0, or -1
 * with err set (all then holds the pages read). */
static int ddbstreams_pages(ddb *d, const ddbstreams_paging *p, json_t *req, json_t *all,
                            json_t **first, ddb_error *err)
{
    json_t *resp = NULL;
    int rc = -1;
    for (int page = 0;; page++) {
        if (page >= DDBSTREAMS_MAX_PAGES) {
            ddbstreams_bad_reply(err, p->op, "pages never end");
            goto out;
        }
        if (ddb_streams_call(d, p->op, req, &resp, err) != 0)
            goto out;
        json_t *held = p->inner ? json_object_get(resp, p->inner) : resp;
        if (p->inner && !json_is_object(held)) {
            aws_error_set(err, ERR_SERVICE, "DynamoDB Streams %s: reply has no %s", p->op,
                          p->inner);
            goto out;
        }
        json_t *list = json_object_get(held, p->items);
        if (list && !json_is_array(list)) {
            aws_error_set(err, ERR_SERVICE, "DynamoDB Streams %s: reply %s is not an array", p->op,
                          p->items);
            goto out;
        }
        if (list && json_array_extend(all, list) != 0)
            goto nomem;
        if (first && !*first) {
            if (!(*first = json_deep_copy(held)))
                goto nomem;
            json_object_del(*first, p->items);
            json_object_del(*first, p->last);
        }
        json_t *last = json_object_get(held, p->last);
        if (!json_is_string(last))
            break;
        if (json_object_set(req, p->start, last) != 0)
            goto nomem;
        json_decref(resp);
        resp = NULL;
    }
    rc = 0;
    goto out;
nomem:
    aws_error_nomem(err);
out:
    json_decref(resp);
    return rc;
}

int ddbstreams_list(ddb *d, const char *table, json_t **streams, ddb_error *err)
{
    static const ddbstreams_paging paging = {
        .op = "ListStreams",
        .items = "Streams",
        .last = "LastEvaluatedStreamArn",
        .start = "ExclusiveStartStreamArn",
    };
    json_t *all = json_array();
    json_t *req = json_object();
    int rc = -1;
    *streams = NULL;
    if (!all || !req || (table && json_object_set_new(req, "TableName", json_string(table)) != 0))
        aws_error_nomem(err);
    else
        rc = ddbstreams_pages(d, &paging, req, all, NULL, err);
    json_decref(req);
    if (rc != 0) {
        json_decref(all);
        return -1;
    }
    *streams = all;
    return 0;
}

int ddbstreams_describe(ddb *d, const char *arn, json_t **desc, json_t **shards, ddb_error *err)
{
    static const ddbstreams_paging paging = {
        .op = "DescribeStream",
        .inner = "StreamDescription",
        .items = "Shards",
        .last = "LastEvaluatedShardId",
        .start = "ExclusiveStartShardId",
    };
    json_t *all = json_array();
    json_t *req = json_pack("{s:s}", "StreamArn", arn);
    json_t *first = NULL;
    int rc = -1;
    if (desc)
        *desc = NULL;
    *shards = NULL;
    if (!all || !req)
        aws_error_nomem(err);
    else
        rc = ddbstreams_pages(d, &paging, req, all, &first, err);
    json_decref(req);
    if (rc != 0) {
        json_decref(first);
        json_decref(all);
        return -1;
    }
    if (desc)
        *desc = first;
    else
        json_decref(first);
    *shards = all;
    return 0;
}

int ddbstreams_iterator(ddb *d, const char *arn, const char *shard_id, ddbstreams_position pos,
                        const char *seq, char **iterator, ddb_error *err)
{
    static const char *const names[] = {
        [DDBSTREAMS_TRIM_HORIZON] = "TRIM_HORIZON",
        [DDBSTREAMS_LATEST] = "LATEST",
        [DDBSTREAMS_AT_SEQUENCE_NUMBER] = "AT_SEQUENCE_NUMBER",
        [DDBSTREAMS_AFTER_SEQUENCE_NUMBER] = "AFTER_SEQUENCE_NUMBER",
    };
    *iterator = NULL;
    if ((unsigned)pos > DDBSTREAMS_AFTER_SEQUENCE_NUMBER)
        return aws_error_set(err, ERR_INVALID, "bad shard iterator position");
    bool needs_seq =
        pos == DDBSTREAMS_AT_SEQUENCE_NUMBER || pos == DDBSTREAMS_AFTER_SEQUENCE_NUMBER;
    if (needs_seq && (!seq || !*seq))
        return aws_error_set(err, ERR_INVALID, "%s needs a sequence number", names[pos]);
    json_t *req = json_pack("{s:s, s:s, s:s}", "StreamArn", arn, "ShardId", shard_id,
                            "ShardIteratorType", names[pos]);
    if (!req || (needs_seq && json_object_set_new(req, "SequenceNumber", json_string(seq)) != 0)) {
        json_decref(req);
        return aws_error_nomem(err);
    }
    json_t *resp = NULL;
    int rc = ddb_streams_call(d, "GetShardIterator", req, &resp, err);
    json_decref(req);
    if (rc != 0)
        return -1;
    const char *it = json_string_value(json_object_get(resp, "ShardIterator"));
    if (!it || strlen(it) > 8192) {
        json_decref(resp);
        return ddbstreams_bad_reply(err, "GetShardIterator", "has no usable ShardIterator");
    }
    *iterator = strdup(it);
    json_decref(resp);
    return *iterator ? 0 : aws_error_nomem(err);
}

int ddbstreams_records(ddb *d, const char *iterator, int limit, json_t **records, char **next,
                       ddb_error *err)
{
    *records = NULL;
    *next = NULL;
    json_t *req = json_pack("{s:s}", "ShardIterator", iterator);
    if (!req || (limit > 0 && json_object_set_new(req, "Limit", json_integer(limit)) != 0)) {
        json_decref(req);
        return aws_error_nomem(err);
    }
    json_t *resp = NULL;
    int rc = ddb_streams_call(d, "GetRecords", req, &resp, err);
    json_decref(req);
    if (rc != 0)
        return -1;
    rc = ddbstreams_records_reply(resp, records, next, err);
    json_decref(resp);
    return rc;
}

int ddbstreams_records_reply(const json_t *resp, json_t **records, char **next, ddb_error *err)
{
    *records = NULL;
    *next = NULL;
    json_t *recs = json_object_get(resp, "Records");
    const char *nx = json_string_value(json_object_get(resp, "NextShardIterator"));
    if ((recs && !json_is_array(recs)) || (nx && strlen(nx) > 8192))
        return ddbstreams_bad_reply(err, "GetRecords", "is malformed");
    *records = recs ? json_incref(recs) : json_array();
    if (nx && !(*next = strdup(nx))) {
        json_decref(*records);
        *records = NULL;
        return aws_error_nomem(err);
    }
    if (!*records) {
        free(*next);
        *next = NULL;
        return aws_error_nomem(err);
    }
    return 0;
}
