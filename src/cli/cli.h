/* cli.h — what every `cruddur` command shares: exit codes, messages that name the next
 * step, confirmations, and the DynamoDB / Postgres handles built from the environment. */
#ifndef CR_CLI_H
#define CR_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "aws/ddb.h"
#include "base/errinfo.h"
#include "users/users.h"

/* What a command returns; the first three are its exit status (tests/live/live_cli_*
 * check them). CLI_HELP is never an exit status: an option parser returns it after
 * printing the help, and the command then exits CLI_OK (cli_exit_status). */
enum cli_status {
    CLI_OK = 0,
    CLI_FAIL = 1,
    CLI_USAGE = 2,
    CLI_HELP = 3
};

/* The exit status for status: CLI_OK for CLI_HELP, status otherwise. */
int cli_exit_status(int status);

/* The original scripts took production as a last positional word (bin/ddb/schema-load prod,
 * bin/db/setup prod): a subcommand's argv (argv[0] its name) whose last argument is "prod"
 * gets "--prod" there instead, when the arguments before it hold at least min_operands
 * words that are not options (so `ddb drop prod` still drops a table named prod, and
 * `ddb drop cruddur-messages prod` drops cruddur-messages on AWS). */
void cli_positional_prod(int argc, char **argv, int min_operands);

/* The table every command works on: CRUDDUR_DDB_TABLE, default MESSAGING_TABLE_DEFAULT. */
const char *cli_table(void);
/* The endpoint commands use unless --prod: AWS_ENDPOINT_URL(_DYNAMODB), else DynamoDB
 * Local at http://127.0.0.1:8000. */
const char *cli_local_endpoint(void);

/* "cruddur: <message>" on stderr; returns CLI_FAIL. */
int cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "cruddur: out of memory" on stderr; CLI_FAIL. */
int cli_nomem(void);
/* "cruddur <cmd>: <message>" and "Run 'cruddur <cmd> --help' for usage." on stderr;
 * returns CLI_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Asks question on the terminal ("[y/N]"); false without a terminal or on anything but
 * y/yes. */
bool cli_confirm(const char *question);
/* Whether stdout is a terminal (progress bars, colours). */
bool cli_stdout_is_tty(void);

/* A DynamoDB client: local by default, real AWS with prod. NULL after printing why. */
ddb *cli_ddb_open(bool prod);
/* Prints a DynamoDB failure with the next step (unreachable endpoint -> "is the stack up?
 * script/server", missing table -> "cruddur ddb schema-load"); returns CLI_FAIL. */
int cli_ddb_fail(const ddb *d, const ddb_error *err, const char *what);

/* The Postgres side from CONNECTION_URL. NULL after printing why (missing variable,
 * unreachable server). */
users *cli_users_open(void);

/* The idempotent steps `cruddur setup` runs (each prints one line of what it did):
 * Postgres: database, schema and seed when missing; DynamoDB: the table when missing and
 * the sample conversation when the table is empty. Each returns an enum cli_status. */
int cli_db_setup_step(void);
/* `cruddur cognito sync-user-ids` as a step (cruddur db setup with a pool configured). */
int cli_cognito_sync_ids(void);
int cli_ddb_setup_step(bool prod);

/* The command groups: argv[0] is the group name. Each returns an enum cli_status. */
int cli_db(int argc, char **argv);
int cli_ddb(int argc, char **argv);
int cli_cognito(int argc, char **argv);
int cli_setup(int argc, char **argv);
int cli_token(int argc, char **argv);

#endif
