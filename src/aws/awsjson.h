/* awsjson.h — a client for AWS's JSON protocols (DynamoDB and Streams: 1.0, Cognito: 1.1):
 * SigV4-signed POSTs over one keep-alive HTTP handle, retries of what may be retried with
 * capped backoff and full jitter, reply CRC32 checks, and service errors decoded. */
#ifndef CR_AWSJSON_H
#define CR_AWSJSON_H

#include <stdbool.h>

#include <jansson.h>

#include "aws/creds.h"
#include "aws/http.h"
#include "aws/retry.h"
#include "base/buf.h"
#include "base/errinfo.h"
#include "base/jdoc.h"

#define AWSJSON_URL_MAX 2048
#define AWS_REASONS_MAX 100 /* items of one TransactWriteItems */

/* Why a call failed. info.msg reads "<Service> <Op>: <Type>: <message>". */
typedef struct aws_error {
    errinfo info;
    long http_status; /* 0 when no HTTP answer */
    char type[96];    /* short __type ("ConditionalCheckFailedException"), or "" */
    http_fail fail;   /* transport failure class of the last try */
    int attempts;     /* tries made */
    /* TransactionCanceledException: one reason per transaction item, in order (a
     * transaction has at most 100); read them with aws_error_reason. */
    int nreasons;
    unsigned char reasons[AWS_REASONS_MAX]; /* aws_reason values */
} aws_error;

/* The cancellation reasons' codes that callers decide on; every other code is OTHER. */
typedef enum aws_reason {
    AWS_REASON_NONE = 0,   /* "None": this item did not cancel the transaction */
    AWS_REASON_CONDITION,  /* "ConditionalCheckFailed" */
    AWS_REASON_CONFLICT,   /* "TransactionConflict" */
    AWS_REASON_VALIDATION, /* "ValidationError" */
    AWS_REASON_THROTTLED,  /* "ThrottlingError", "ProvisionedThroughputExceeded" */
    AWS_REASON_OTHER,      /* any other code */
} aws_reason;

/* The reason of transaction item i (AWS_REASON_NONE when err holds none for it). */
aws_reason aws_error_reason(const aws_error *err, int i);
/* Whether transaction item i was cancelled for reason r. */
static inline bool aws_error_reason_is(const aws_error *err, int i, aws_reason r)
{
    return aws_error_reason(err, i) == r;
}
/* The code of r as DynamoDB spells it ("ConditionalCheckFailed"; OTHER: "Other"). */
const char *aws_reason_name(aws_reason r);
/* The reason of a code as DynamoDB sends it (NULL: None). */
aws_reason aws_reason_parse(const char *code);

void aws_error_clear(aws_error *err); /* accepts NULL */
/* A failure on this side of a call (bad arguments, a malformed reply, no memory): clears
 * err, then sets its code and message (err may be NULL). Returns -1, as errinfo_set does. */
int aws_error_set(aws_error *err, enum err_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* aws_error_set with ERR_NOMEM "out of memory"; returns -1. */
int aws_error_nomem(aws_error *err);
/* Whether err is the service error with this short type. */
bool aws_error_is(const aws_error *err, const char *type);

/* A parsed endpoint URL: what curl gets, what Host says, the path that is signed. */
typedef struct awsjson_endpoint {
    char url[AWSJSON_URL_MAX];
    char authority[256];
    char path[AWSJSON_URL_MAX];
} awsjson_endpoint;

/* http(s)://host[:port][/path], no user info, query or fragment. 0, or -1 with e set
 * (ERR_CONFIG). */
int awsjson_endpoint_parse(awsjson_endpoint *ep, const char *url, errinfo *e);

/* How a call ended, for metrics: ok at the first try, ok after retries, failed on throttling
 * (after the retries), failed otherwise. */
typedef enum aws_outcome {
    AWS_OUTCOME_OK,
    AWS_OUTCOME_RETRIED,
    AWS_OUTCOME_THROTTLED,
    AWS_OUTCOME_FAILED,
} aws_outcome;

/* Called after every call with its operation, outcome and time (microseconds, retries
 * included). Must be cheap and must not call the client. */
typedef void (*aws_observe_fn)(void *arg, const char *op, aws_outcome outcome, int64_t us);

typedef struct awsjson_options {
    const char *service_label; /* in messages: "DynamoDB" */
    const char *signing_name;  /* SigV4 service: "dynamodb", "cognito-idp" */
    const char *content_type;  /* "application/x-amz-json-1.0" or "-1.1" */
    const char *region;        /* required */
    http_options http;
    retry_policy retry;     /* zeros: RETRY_POLICY_DEFAULT */
    creds *credentials;     /* borrowed; NULL: the client owns a default chain */
    aws_observe_fn observe; /* NULL: none */
    void *observe_arg;
    bool anonymous; /* unsigned calls (Cognito's GetUser takes the user's own access
                       token): no credentials, no SigV4 */
} awsjson_options;

typedef struct awsjson awsjson;

/* NULL with e set. The option strings are copied. */
awsjson *awsjson_new(const awsjson_options *o, errinfo *e);
void awsjson_free(awsjson *c); /* accepts NULL */

/* POSTs req to ep with X-Amz-Target target ("DynamoDB_20120810.Query"); op names the call
 * in messages. On success *resp is a new reference to the reply object. -1 with every field
 * of err filled when the call failed (after the retries the policy allows). */
int awsjson_call(awsjson *c, const awsjson_endpoint *ep, const char *target, const char *op,
                 const json_t *req, json_t **resp, aws_error *err);
/* The same call with the reply as a flat document (base/jdoc.h; jdoc_free it), checked to
 * be an object: no Jansson value per node, for large read-once replies. */
int awsjson_call_doc(awsjson *c, const awsjson_endpoint *ep, const char *target, const char *op,
                     const json_t *req, jdoc **resp, aws_error *err);

/* Writes a request body into b (empty, capped at the client's body cap) from arg: 0, or -1
 * when it cannot be encoded (b->failed: over the cap or out of memory). */
typedef int (*awsjson_writer)(buf *b, const void *arg);
/* awsjson_call and awsjson_call_doc with the body written by write(arg) straight into the
 * client's buffer, without a Jansson request tree (the reads: Query, Scan). */
int awsjson_call_written(awsjson *c, const awsjson_endpoint *ep, const char *target, const char *op,
                         awsjson_writer write, const void *arg, json_t **resp, aws_error *err);
int awsjson_call_doc_written(awsjson *c, const awsjson_endpoint *ep, const char *target,
                             const char *op, awsjson_writer write, const void *arg, jdoc **resp,
                             aws_error *err);

/* Rewrites every JSON escape \u0000 in p[0..n) as \uFFFD (same length, in place) and
 * returns how many it rewrote; other escapes (\\u0000 is a backslash, then "u0000") are
 * left alone. Service replies go through it before they are parsed: the parsers reject NUL
 * in strings (the programs use C strings), and one item whose text holds a NUL (written by
 * any other client of the table) must not make every reply that carries it unreadable —
 * a stream shard, a conversation, a conversation list. Pure. */
size_t awsjson_nul_to_replacement(char *p, size_t n);

#endif
