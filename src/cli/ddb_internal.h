/* ddb_internal.h — what the files of `cruddur ddb` share (ddb.c: the group, helpers and
 * the setup step; ddb_tables.c: schema-load, drop, list-tables, scan; ddb_seed.c: seed;
 * ddb_patterns.c: get-conversation, list-conversations). Not for other modules. */
#ifndef CR_CLI_DDB_INTERNAL_H
#define CR_CLI_DDB_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "aws/ddb.h"
#include "messaging/messaging.h"
#include "users/users.h"

/* What every subcommand works with. */
typedef struct ddbcli {
    const char *cmd; /* "ddb scan": for messages */
    bool prod;
    const char *table;
    ddb *d; /* owned: NULL until cli_ddb_connect, freed by the subcommand */
} ddbcli;

/* ---- helpers (ddb.c) ---- */

/* Prints the getopt failure c (':' a missing value, else an unknown option); CLI_USAGE. */
int cli_ddb_bad_option(const char *cmd, int c, char **argv);
/* A decimal number in [min, max] into *out; 0, or -1 (*out unchanged). */
int cli_ddb_long(const char *s, long min, long max, long *out);
/* Opens c->d (local or prod as c->prod says); CLI_OK, or CLI_FAIL after printing why. */
int cli_ddb_connect(ddbcli *c);
/* Columns to print into: the terminal's, COLUMNS, or 80. */
size_t cli_ddb_width(void);
/* One JSON value on one line of stdout (keys sorted); 0, or -1 out of memory. */
int cli_ddb_print_json(const json_t *v);
/* The S attribute name of a typed item, "?" when it has none (borrowed from item). */
const char *cli_ddb_attr(const json_t *item, const char *name);

/* ---- the table (ddb_tables.c) ---- */

/* What cli_ddb_tables_create did. */
typedef enum cli_ddb_create_status {
    CLI_DDB_CREATED,       /* created, ACTIVE, time to live enabled */
    CLI_DDB_EXISTS,        /* the table was there already (nothing printed) */
    CLI_DDB_CREATE_FAILED, /* after printing why */
} cli_ddb_create_status;

/* Creates c->table from ddb-schema/ (without the stream when !stream), waits for ACTIVE
 * and enables DynamoDB's time to live on MESSAGING_TTL_ATTRIBUTE. */
cli_ddb_create_status cli_ddb_tables_create(ddbcli *c, bool stream);
/* The table's stream: view type ("" without a stream) and latest ARN ("" without).
 * 0, or -1 with err. */
int cli_ddb_tables_stream(ddbcli *c, char view[32], char arn[512], ddb_error *err);
/* Turns the stream off (view NULL) or on with view; waits for ACTIVE. 0, or -1 with err. */
int cli_ddb_tables_set_stream(ddbcli *c, const char *view, ddb_error *err);

/* ---- the sample conversation (ddb_seed.c) ---- */

/* The two sample users: from PostgreSQL when it is configured and knows them (then a and
 * b borrow from ua and ub), else the fixed values of sql/seed.sql. Notes why on stderr. */
void cli_ddb_seed_sample_users(user *ua, user *ub, messaging_user *a, messaging_user *b);
/* Writes the sample conversation, deleting an earlier copy first. *replaced: items
 * deleted. 0, or -1 with err. */
int cli_ddb_seed_sample(ddbcli *c, const messaging_user *a, const messaging_user *b,
                        size_t *replaced, ddb_error *err);

/* ---- the subcommands: argv[0] is the subcommand; each returns an enum cli_status ---- */

int cli_ddb_tables_schema_load(int argc, char **argv);
int cli_ddb_tables_drop(int argc, char **argv);
int cli_ddb_tables_list(int argc, char **argv);
int cli_ddb_tables_scan(int argc, char **argv);
int cli_ddb_seed(int argc, char **argv);
int cli_ddb_patterns_get_conversation(int argc, char **argv);
int cli_ddb_patterns_list_conversations(int argc, char **argv);

#endif
