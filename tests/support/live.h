/* live.h — where the live tests' servers are, clients for them and unique names so runs
 * never collide. A missing server makes the program skip (exit 77), or fail under
 * CRUDDUR_LIVE=1. */
#ifndef CR_TEST_LIVE_H
#define CR_TEST_LIVE_H

#include <stdbool.h>
#include <stddef.h>

#include "aws/ddb.h"
#include "support_server.h"

/* The value of environment variable name (script/test sets it), or exit: 77 (skip)
 * normally, 1 (fail) under CRUDDUR_LIVE=1. */
const char *live_require_env(const char *name);

/* The DynamoDB Local endpoint from CRUDDUR_TEST_DDB_ENDPOINT. Without it the program
 * exits 77 (skip) — unless CRUDDUR_LIVE=1, where a missing server is a failure (exit 1). */
const char *live_ddb_endpoint(void);

/* "<prefix>-<12 random hex>" into out (64 bytes). */
void live_name(const char *prefix, char out[64]);

/* A DynamoDB client on live_ddb_endpoint() (us-east-1), or NULL with *e set. For set-up and
 * clean-up outside test cases. Caller frees (ddb_free). */
ddb *live_ddb_open(errinfo *e);
/* The same inside a test case: a failure is a Check assertion. */
ddb *live_ddb(void);
/* Table name on d with the real schema (its stream only when with_stream), active. 0, or -1
 * with the reason in err (errlen bytes); *created once CreateTable succeeded (the table then
 * needs dropping, also after a -1). */
int live_make_table(ddb *d, const char *name, bool with_stream, bool *created, char *err,
                    size_t errlen);
/* Starts tests/tools/gsi_lag_proxy.py in front of DynamoDB Local into *proxy, its lag on (every
 * index Query answered with nothing); a client through it. Test cases only (assertions);
 * the caller frees the client and stops the proxy (support_server_stop). */
ddb *live_ddb_lagging(support_server *proxy);
/* Deletes every table whose name starts with prefix (a clean-up: failures are ignored). */
void live_drop_tables(const char *prefix);

#endif
