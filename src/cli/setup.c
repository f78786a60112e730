/* setup.c — `cruddur setup`: Postgres database, schema and seed, then the DynamoDB table and
 * its sample conversation, each only when missing, so running it again changes nothing. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static const char setup_usage[] =
    "Usage: cruddur setup [--prod]\n"
    "\n"
    "Prepares a fresh stack in one idempotent step:\n"
    "  1. PostgreSQL (CONNECTION_URL): creates the database, loads sql/schema.sql and\n"
    "     sql/seed.sql, each only when missing (cruddur db setup);\n"
    "  2. DynamoDB: creates the table from ddb-schema/ when missing and seeds the sample\n"
    "     conversation when the table is empty (cruddur ddb schema-load, cruddur ddb seed).\n"
    "Running it again changes nothing.\n"
    "\n"
    "Options:\n"
    "  --prod     use real AWS for DynamoDB (ignore AWS_ENDPOINT_URL)\n"
    "  -h, --help show this help\n";

int cli_setup(int argc, char **argv)
{
    static const struct option opts[] = {
        { "prod", no_argument, NULL, 'p' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    bool prod = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
        switch (c) {
        case 'p': prod = true; break;
        case 'h': fputs(setup_usage, stdout); return CLI_OK;
        default: return cli_usage_error("setup", "unknown option");
        }
    }
    if (optind < argc)
        return cli_usage_error("setup", "unexpected argument '%s'", argv[optind]);
    int rc = cli_db_setup_step();
    if (rc != CLI_OK)
        return rc;
    return cli_ddb_setup_step(prod);
}
