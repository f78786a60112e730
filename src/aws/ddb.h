/* ddb.h — the DynamoDB client: JSON 1.0 protocol over one keep-alive HTTP handle, SigV4
 * signed, retried with capped backoff and full jitter; also carries the DynamoDB Streams
 * calls (see ddbstreams.h). Requests and responses are Jansson values in the wire shape. */
#ifndef CR_DDB_H
#define CR_DDB_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "aws/awsjson.h"
#include "aws/creds.h"
#include "aws/http.h"
#include "aws/retry.h"
#include "base/errinfo.h"
#include "base/jdoc.h"

typedef struct ddb_options {
    const char *region;           /* NULL: AWS_REGION, AWS_DEFAULT_REGION */
    const char *endpoint;         /* NULL: AWS_ENDPOINT_URL_DYNAMODB, AWS_ENDPOINT_URL,
                                     else https://dynamodb.<region>.amazonaws.com */
    const char *streams_endpoint; /* NULL: AWS_ENDPOINT_URL_DYNAMODB_STREAMS, then the DynamoDB
                                     override, else https://streams.dynamodb.<region>.amazonaws.com */
    bool ignore_endpoint_env;     /* real AWS even when the override variables are set */
    long connect_timeout_ms;      /* 0: CRUDDUR_DDB_CONNECT_TIMEOUT_MS or 3000 */
    long timeout_ms;              /* 0: CRUDDUR_DDB_TIMEOUT_MS or 10000 */
    retry_policy retry;           /* max_attempts 0: CRUDDUR_DDB_MAX_ATTEMPTS or 5; 25 ms / 2 s */
    creds *credentials;           /* borrowed; NULL: the client owns a default chain */
    /* Unit tests only: a scripted peer instead of the network (http_options.transport). */
    int (*transport)(void *arg, const char *method, const char *url, const char *const *headers,
                     const void *body, size_t body_len, http_response *resp, errinfo *e);
    void *transport_arg;
    aws_observe_fn observe; /* after every call (metrics); NULL: none */
    void *observe_arg;
} ddb_options;

/* Errors are the AWS JSON client's (aws/awsjson.h): a failure on this side of a call is set
 * with aws_error_set / aws_error_nomem. */
typedef aws_error ddb_error;

static inline void ddb_error_clear(ddb_error *err)
{
    aws_error_clear(err);
}

/* Whether err is the service error with this short type. */
static inline bool ddb_error_is(const ddb_error *err, const char *type)
{
    return aws_error_is(err, type);
}

typedef struct ddb ddb;

/* Resolves region and endpoints (opts may be NULL). NULL with e set (e.g. no region). */
ddb *ddb_new(const ddb_options *opts, errinfo *e);
void ddb_free(ddb *d); /* accepts NULL */
const char *ddb_endpoint(const ddb *d);
const char *ddb_streams_endpoint(const ddb *d);
const char *ddb_region(const ddb *d);

/* One call of the JSON protocol: target "DynamoDB_20120810.<op>" (ddb_call) or
 * "DynamoDBStreams_20120810.<op>" (ddb_streams_call). req is borrowed; on success *resp is
 * a new reference to the parsed response object. Retries what retry_is_retryable allows.
 * -1 with err filled (every field) when the call failed. */
int ddb_call(ddb *d, const char *op, const json_t *req, json_t **resp, ddb_error *err);
int ddb_streams_call(ddb *d, const char *op, const json_t *req, json_t **resp, ddb_error *err);

/* ---- operations ------------------------------------------------------------------------ */

/* CreateTable with a full CreateTable document (as in ddb-schema/); *desc (optional) gets
 * the TableDescription. */
int ddb_create_table(ddb *d, const json_t *def, json_t **desc, ddb_error *err);
/* DescribeTable: *desc gets the "Table" object. */
int ddb_describe_table(ddb *d, const char *table, json_t **desc, ddb_error *err);
/* Polls DescribeTable until the table and its indexes are ACTIVE, or timeout_ms passes. */
int ddb_wait_active(ddb *d, const char *table, long timeout_ms, ddb_error *err);
/* UpdateTable with a full request document. */
int ddb_update_table(ddb *d, const json_t *req, json_t **desc, ddb_error *err);
int ddb_delete_table(ddb *d, const char *table, ddb_error *err);
/* ListTables over every page (page_limit 0: the service's default); *names is a new array of
 * strings. */
int ddb_list_tables(ddb *d, int page_limit, json_t **names, ddb_error *err);

/* A condition or key expression with its placeholder maps (all borrowed, all optional). */
typedef struct ddb_expr {
    const char *expression;
    const json_t *names;  /* {"#n": "name"} */
    const json_t *values; /* {":v": AV} */
} ddb_expr;

int ddb_put_item(ddb *d, const char *table, const json_t *item, const ddb_expr *cond,
                 ddb_error *err);
/* *item is a new reference to the item, or NULL when there is none. */
int ddb_get_item(ddb *d, const char *table, const json_t *key, bool consistent, json_t **item,
                 ddb_error *err);
int ddb_delete_item(ddb *d, const char *table, const json_t *key, const ddb_expr *cond,
                    ddb_error *err);

typedef struct ddb_query_options {
    const char *table;
    const char *index;         /* NULL: the table */
    const char *key_condition; /* Query only */
    const char *filter;
    const char *projection;
    const json_t *names;
    const json_t *values;
    int limit;       /* 0: none */
    bool descending; /* ScanIndexForward = false */
    bool consistent;
    const json_t *start_key; /* ExclusiveStartKey, borrowed */
} ddb_query_options;

/* One page of Query or Scan results. */
typedef struct ddb_page {
    json_t *items;    /* array of items, owned */
    json_t *last_key; /* LastEvaluatedKey, owned; NULL on the last page */
    long count;
    long scanned_count;
} ddb_page;

void ddb_page_init(ddb_page *p);
void ddb_page_cleanup(ddb_page *p); /* accepts NULL */

/* One page; page is cleaned and refilled. Follow page->last_key for the next. */
int ddb_query(ddb *d, const ddb_query_options *q, ddb_page *page, ddb_error *err);
int ddb_scan(ddb *d, const ddb_query_options *q, ddb_page *page, ddb_error *err);

/* One page of Query or Scan results as a flat document (base/jdoc.h): the page of ddb_query
 * without a Jansson value per attribute, for callers that read a page once (a list answer):
 * about half the client's CPU per 20-item page. The reply is checked: Items (when present)
 * an array of maps of attribute values (objects of one-member objects), LastEvaluatedKey
 * likewise, Count and ScannedCount integers; anything else is ERR_SERVICE. Read an item's
 * string with jdoc_get_str(jdoc_get(item, "attr"), "S"); jdoc_to_json(page.last_key) gives
 * the Jansson key for the next call's start_key. */
typedef struct ddb_page_view {
    jdoc *doc;         /* owns the reply; the handles below point into it */
    jdoc_val items;    /* the Items array; none (size 0) when the reply had none */
    jdoc_val last_key; /* LastEvaluatedKey; none on the last page */
    long count;
    long scanned_count;
} ddb_page_view;

void ddb_page_view_init(ddb_page_view *p);
void ddb_page_view_cleanup(ddb_page_view *p); /* accepts NULL */

/* As ddb_query / ddb_scan; page is cleaned and refilled. */
int ddb_query_view(ddb *d, const ddb_query_options *q, ddb_page_view *page, ddb_error *err);
int ddb_scan_view(ddb *d, const ddb_query_options *q, ddb_page_view *page, ddb_error *err);

/* BatchWriteItem of any number of write requests ({"PutRequest":{"Item":..}} or
 * {"DeleteRequest":{"Key":..}}) to one table: 25 per call, UnprocessedItems re-sent with
 * backoff; -1 when some remain unprocessed after the retry budget (*unprocessed, when not
 * NULL, then counts them). */
int ddb_batch_write(ddb *d, const char *table, const json_t *requests, size_t *unprocessed,
                    ddb_error *err);

/* TransactWriteItems; token (<= 36 chars, optional) makes a retried call idempotent for 10
 * minutes. On TransactionCanceledException err->reasons holds one code per item. */
int ddb_transact_write(ddb *d, const json_t *items, const char *token, ddb_error *err);

#endif
