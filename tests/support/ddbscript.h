/* ddbscript.h — a scripted DynamoDB for unit tests: a ddb client (aws/ddb.h) whose requests
 * never leave the process. A test queues the answers (a reply, a service error, a
 * cancelled transaction, a transport failure) in the order the code under test should ask
 * for them; every request is recorded (operation and parsed body) so the test can assert
 * what was sent. Signing, retries, error parsing and the client's checks all run as in
 * production: only the socket is replaced (http_options.transport). Test code: allocation
 * failures abort. */
#ifndef CR_TEST_DDBSCRIPT_H
#define CR_TEST_DDBSCRIPT_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "aws/ddb.h"
#include "aws/http.h"

typedef struct ddbscript ddbscript;

/* A script and its client (region us-east-1, static test credentials, retries with a 1 ms
 * base so retry tests stay fast; max_attempts: 0 means the client's default of 5). */
ddbscript *ddbscript_new(int max_attempts);
/* The same, with an observer of every call (ddb_options.observe: metrics). */
ddbscript *ddbscript_new_observed(int max_attempts, aws_observe_fn observe, void *arg);
void ddbscript_free(ddbscript *s); /* accepts NULL; frees the client too */
ddb *ddbscript_ddb(ddbscript *s);  /* borrowed */

/* Queues the answer to the next request. op ("PutItem", "TransactWriteItems", ...; NULL:
 * any) is what that request must be: another one is answered with HTTP 500
 * "ddbscript#Unexpected" and counted by ddbscript_unexpected. body is JSON text. */
void ddbscript_reply(ddbscript *s, const char *op, long status, const char *body);
/* An HTTP 200 answer with body "{}" (or body). */
void ddbscript_ok(ddbscript *s, const char *op, const char *body);
/* An HTTP 400 service error of the short type ("ConditionalCheckFailedException", ...). */
void ddbscript_error(ddbscript *s, const char *op, const char *type);
/* A TransactWriteItems cancelled with these reasons, comma separated, one per action
 * ("None,ConditionalCheckFailed", "TransactionConflict,None"). */
void ddbscript_cancel(ddbscript *s, const char *reasons);
/* A failure below HTTP (HTTP_FAIL_RESET, HTTP_FAIL_TIMEOUT, ...). */
void ddbscript_fail(ddbscript *s, const char *op, http_fail f);

size_t ddbscript_calls(const ddbscript *s);                 /* requests seen so far */
const char *ddbscript_op(const ddbscript *s, size_t i);     /* operation of request i */
const json_t *ddbscript_body(const ddbscript *s, size_t i); /* its parsed body, borrowed */
size_t ddbscript_pending(const ddbscript *s);               /* queued answers not yet taken */
size_t ddbscript_unexpected(const ddbscript *s);            /* requests no answer was queued for */

#endif
