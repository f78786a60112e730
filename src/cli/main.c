/* main.c — `cruddur`, the admin command: one binary for the scripts of the original design
 * (bin/db, bin/ddb, bin/cognito). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "cli/cli.h"

static const char main_usage[] =
    "Usage: cruddur COMMAND [ARGS...]\n"
    "\n"
    "The admin command of Cruddur messaging.\n"
    "\n"
    "Commands:\n"
    "  db        PostgreSQL: create, drop, schema-load, seed, setup\n"
    "  ddb       DynamoDB: schema-load, drop, list-tables, scan, seed,\n"
    "            get-conversation, list-conversations\n"
    "  cognito   Cognito user pool: list-users, sync-user-ids\n"
    "  setup     everything a fresh local stack needs, in one idempotent step\n"
    "  token     a Cognito-shaped access token for local use (cruddur token --handle H)\n"
    "\n"
    "Run 'cruddur COMMAND --help' for a command's options.\n"
    "Exit status: 0 ok, 1 runtime error, 2 usage error.\n"
    "Configuration comes from the environment (CONNECTION_URL, AWS_ENDPOINT_URL,\n"
    "AWS_DEFAULT_REGION, ...); for the local stack: eval \"$(script/server env)\".\n"
    "CRUDDUR_LOG_LEVEL=info shows the JSON log lines (retries, credential sources).\n";

int main(int argc, char **argv)
{
    /* A command talks to its user in plain sentences; JSON log lines (retries, credential
     * sources) only when asked for with CRUDDUR_LOG_LEVEL. */
    if (getenv("CRUDDUR_LOG_LEVEL"))
        log_init_from_env();
    else
        log_set_level(LOG_WARN);
    if (argc < 2)
        return fputs(main_usage, stderr), CLI_USAGE;
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0)
        return fputs(main_usage, stdout), CLI_OK;
    if (strcmp(cmd, "--version") == 0)
        return printf("cruddur %s\n", PACKAGE_VERSION), CLI_OK;
    static const struct {
        const char *name;
        int (*run)(int, char **);
    } groups[] = {
        { "db", cli_db },       { "ddb", cli_ddb },     { "cognito", cli_cognito },
        { "setup", cli_setup }, { "token", cli_token },
    };
    for (size_t i = 0; i < sizeof groups / sizeof groups[0]; i++)
        if (strcmp(cmd, groups[i].name) == 0)
            return groups[i].run(argc - 1, argv + 1);
    fprintf(stderr, "cruddur: unknown command '%s'\n", cmd);
    fputs(main_usage, stderr);
    return CLI_USAGE;
}
