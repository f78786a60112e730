/* ddb.c — `cruddur ddb`: the cruddur-messages table from the command line, replacing the
 * original bin/ddb scripts, and the DynamoDB step of `cruddur setup`. The subcommands live
 * by what they do: ddb_tables.c (schema-load, drop, list-tables, scan), ddb_seed.c (seed),
 * ddb_patterns.c (get-conversation, list-conversations); this file holds the group, the
 * helpers they share (ddb_internal.h) and the setup step. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "aws/ddb.h"
#include "aws/ddb_av.h"
#include "base/env.h"
#include "cli/cli.h"
#include "cli/ddb_internal.h"
#include "messaging/messaging.h"
#include "messaging/seed.h"
#include "users/users.h"

static const char ddbcli_usage[] =
    "Usage: cruddur ddb SUBCOMMAND [OPTIONS] [ARGS]\n"
    "\n"
    "The DynamoDB table of Cruddur messaging. The table is CRUDDUR_DDB_TABLE (else\n"
    "DDB_MESSAGE_TABLE, the original's name; default " MESSAGING_TABLE_DEFAULT
    "). The endpoint is AWS_ENDPOINT_URL (default: DynamoDB Local at\n"
    "http://127.0.0.1:8000) unless --prod, which talks to real AWS (AWS_DEFAULT_REGION and\n"
    "the usual credential variables).\n"
    "\n"
    "Subcommands:\n"
    "  schema-load                  create the table from ddb-schema/cruddur-messages.json\n"
    "  drop TABLE                   delete a table (asks first; --yes skips the question)\n"
    "  list-tables                  the tables at the endpoint, one a line\n"
    "  scan                         every item of the table (local endpoints only)\n"
    "  seed                         the sample conversation, or a large synthetic data set\n"
    "  get-conversation GROUP_UUID  the messages of a conversation, oldest first (pattern A)\n"
    "  list-conversations HANDLE    someone's conversations, newest first (pattern B)\n"
    "\n"
    "Every subcommand takes --prod (or a last word prod, as the original bin/ddb scripts\n"
    "did: cruddur ddb schema-load prod) and -h/--help.\n"
    "Run 'cruddur ddb SUBCOMMAND --help' for its options.\n"
    "Exit status: 0 ok, 1 runtime error, 2 usage error.\n";

/* ---- small helpers ------------------------------------------------------------------------ */

int cli_ddb_bad_option(const char *cmd, int c, char **argv)
{
    const char *opt = optind > 0 ? argv[optind - 1] : "?";
    if (c == ':')
        return cli_usage_error(cmd, "option '%s' needs a value", opt);
    return cli_usage_error(cmd, "unknown option '%s'", opt);
}

/* A decimal number in [min, max]; 0 or -1. */
int cli_ddb_long(const char *s, long min, long max, long *out)
{
    if (!s || !((*s >= '0' && *s <= '9') || *s == '-'))
        return -1;
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

int cli_ddb_connect(ddbcli *c)
{
    c->d = cli_ddb_open(c->prod);
    return c->d ? CLI_OK : CLI_FAIL;
}

/* Columns to print into: the terminal's, COLUMNS, or 80. */
size_t cli_ddb_width(void)
{
    struct winsize ws;
    if (cli_stdout_is_tty() && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20)
        return ws.ws_col;
    long v;
    errinfo e;
    if (env_long("COLUMNS", 20, 10000, 80, &v, &e) == 0)
        return (size_t)v;
    return 80;
}

/* One JSON value on one line of stdout (keys sorted). */
int cli_ddb_print_json(const json_t *v)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
    if (!s)
        return -1;
    fputs(s, stdout);
    fputc('\n', stdout);
    free(s);
    return 0;
}

const char *cli_ddb_attr(const json_t *item, const char *name)
{
    const char *s = ddb_av_get_s(item, name);
    return s ? s : "?";
}

/* ---- the group and `cruddur setup` ----------------------------------------------------------- */

int cli_ddb(int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*run)(int, char **);
        int operands; /* the positional words it needs before a final "prod" */
    } subs[] = {
        { "schema-load", cli_ddb_tables_schema_load, 0 },
        { "drop", cli_ddb_tables_drop, 1 },
        { "list-tables", cli_ddb_tables_list, 0 },
        { "scan", cli_ddb_tables_scan, 0 },
        { "seed", cli_ddb_seed, 0 },
        { "get-conversation", cli_ddb_patterns_get_conversation, 1 },
        { "list-conversations", cli_ddb_patterns_list_conversations, 1 },
    };
    if (argc < 2) {
        fputs(ddbcli_usage, stderr);
        return CLI_USAGE;
    }
    const char *sub = argv[1];
    if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0 || strcmp(sub, "help") == 0) {
        fputs(ddbcli_usage, stdout);
        return CLI_OK;
    }
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++) {
        if (strcmp(sub, subs[i].name) == 0) {
            optind = 0; /* a fresh getopt scan (glibc) */
            opterr = 0;
            cli_positional_prod(argc - 1, argv + 1, subs[i].operands);
            return subs[i].run(argc - 1, argv + 1);
        }
    }
    return cli_usage_error("ddb", "unknown subcommand '%.60s'", sub);
}

int cli_ddb_setup_step(bool prod)
{
    ddbcli c = { .cmd = "setup", .prod = prod, .table = cli_table() };
    int rc = cli_ddb_connect(&c);
    if (rc != CLI_OK)
        return rc;
    ddb_error err;
    bool created = false;
    json_t *t = NULL;
    ddb_page page;
    ddb_page_init(&page);
    if (ddb_describe_table(c.d, c.table, &t, &err) != 0) {
        if (!ddb_error_is(&err, "ResourceNotFoundException")) {
            rc = cli_ddb_fail(c.d, &err, "dynamodb: DescribeTable");
            goto out;
        }
        cli_ddb_create_status made = cli_ddb_tables_create(&c, true);
        if (made == CLI_DDB_CREATE_FAILED) {
            rc = CLI_FAIL;
            goto out;
        }
        created = made == CLI_DDB_CREATED;
    }
    ddb_query_options q = { .table = c.table, .limit = 1 };
    if (ddb_scan(c.d, &q, &page, &err) != 0) {
        rc = cli_ddb_fail(c.d, &err, "dynamodb: Scan");
        goto out;
    }
    const char *what = created ? "created table" : "table";
    if (json_array_size(page.items) == 0) {
        user ua, ub;
        messaging_user ma, mb;
        size_t replaced;
        cli_ddb_seed_sample_users(&ua, &ub, &ma, &mb);
        if (cli_ddb_seed_sample(&c, &ma, &mb, &replaced, &err) != 0) {
            rc = cli_ddb_fail(c.d, &err, "dynamodb: seeding the sample conversation");
            goto out;
        }
        printf("dynamodb: %s %s%s; seeded the sample conversation (%d messages between @%s "
               "and @%s)\n",
               what, c.table, created ? "" : " exists", SEED_SAMPLE_MESSAGES, ma.handle, mb.handle);
        goto out;
    }
    if (messaging_conversation_page(c.d, c.table, SEED_SAMPLE_GROUP_UUID, 1, NULL, &page, &err) !=
        0) {
        rc = cli_ddb_fail(c.d, &err, "dynamodb: Query");
        goto out;
    }
    if (json_array_size(page.items) > 0)
        printf("dynamodb: table %s exists; sample conversation present\n", c.table);
    else
        printf("dynamodb: table %s exists and holds other data; sample conversation not "
               "seeded (cruddur ddb seed adds it)\n",
               c.table);
out:
    ddb_page_cleanup(&page);
    json_decref(t);
    ddb_free(c.d);
    return rc;
}
