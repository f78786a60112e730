/* ddb_tables.c — `cruddur ddb schema-load`, `drop`, `list-tables` and `scan`: the table
 * itself (created from ddb-schema/, its stream and time to live) and reading all of it. */
#include "config.h"

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "aws/ddb.h"
#include "aws/ddb_av.h"
#include "base/buf.h"
#include "base/embed.h"
#include "base/jparse.h"
#include "cli/cli.h"
#include "cli/ddb_internal.h"
#include "cli/display.h"
#include "messaging/messaging.h"

#define DDBCLI_SCHEMA "ddb-schema/cruddur-messages.json"
#define DDBCLI_ACTIVE_LOCAL_MS 60000L /* how long to wait for ACTIVE */
#define DDBCLI_ACTIVE_PROD_MS 600000L

static const char ddbcli_schema_usage[] =
    "Usage: cruddur ddb schema-load [--prod] [--no-stream]\n"
    "\n"
    "Creates the table (CRUDDUR_DDB_TABLE, default " MESSAGING_TABLE_DEFAULT ") from the built-in\n"
    "ddb-schema/cruddur-messages.json: pk/sk, the GSI message-group-sk-index, on-demand\n"
    "billing, a stream with NEW_IMAGE records. Waits until the table is ACTIVE.\n"
    "Fails (exit 1) when the table already exists.\n"
    "\n"
    "Options:\n"
    "  --no-stream  create it without the stream (bulk-load experiments, benchmarks)\n"
    "  --prod       real AWS instead of the local endpoint\n"
    "  -h, --help   show this help\n";

static const char ddbcli_drop_usage[] =
    "Usage: cruddur ddb drop TABLE [--yes] [--prod]\n"
    "\n"
    "Deletes the table TABLE and everything in it. Asks for confirmation on the terminal;\n"
    "without a terminal it refuses unless --yes is given.\n"
    "\n"
    "Options:\n"
    "  -y, --yes   drop without asking\n"
    "  --prod      real AWS instead of the local endpoint\n"
    "  -h, --help  show this help\n";

static const char ddbcli_list_usage[] =
    "Usage: cruddur ddb list-tables [--prod]\n"
    "\n"
    "Prints the names of the tables at the endpoint, one a line (all pages).\n"
    "\n"
    "Options:\n"
    "  --prod      real AWS instead of the local endpoint\n"
    "  -h, --help  show this help\n";

static const char ddbcli_scan_usage[] =
    "Usage: cruddur ddb scan [--table | --plain] [--limit N] [--force] [--prod]\n"
    "\n"
    "Prints every item of the table (all pages), one JSON object a line in DynamoDB's\n"
    "typed form ({\"pk\": {\"S\": \"...\"}, ...}), a count on stderr. A scan reads (and\n"
    "bills) the whole table, so it refuses any endpoint but a local one (127.0.0.1,\n"
    "localhost, ::1) unless --force.\n"
    "\n"
    "Options:\n"
    "  --table      a readable table instead: pk, sk, handle, message (cut to fit)\n"
    "  --plain      plain JSON values instead of typed ones ({\"pk\": \"...\"})\n"
    "  --limit N    stop after N items\n"
    "  --force      scan a non-local endpoint (e.g. with --prod)\n"
    "  --prod       real AWS instead of the local endpoint\n"
    "  -h, --help   show this help\n";

/* ---- helpers ---------------------------------------------------------------------------- */

/* Whether url's host is the loopback: 127.0.0.1, localhost or ::1. */
static bool ddbcli_is_local(const char *url)
{
    const char *p = url ? strstr(url, "://") : NULL;
    if (!p)
        return false;
    p += 3;
    size_t n = strcspn(p, "/?#");
    char host[256];
    if (n == 0 || !strv_copy((strv){ p, n }, host, sizeof host))
        return false;
    char *h = strrchr(host, '@');
    h = h ? h + 1 : host;
    if (*h == '[') {
        char *rb = strchr(h, ']');
        if (!rb)
            return false;
        *rb = '\0';
        h++;
    } else {
        char *colon = strchr(h, ':');
        if (colon)
            *colon = '\0';
    }
    return strcmp(h, "127.0.0.1") == 0 || strcasecmp(h, "localhost") == 0 || strcmp(h, "::1") == 0;
}

/* ---- the table ---------------------------------------------------------------------------- */

/* The CreateTable document of ddb-schema/ for table (without the stream when !stream). */
static json_t *ddbcli_schema(const char *table, bool stream)
{
    size_t len = 0;
    const char *text = embed_get(DDBCLI_SCHEMA, &len);
    if (!text) {
        cli_fail("%s is not built into this cruddur (EMBED_FILES)", DDBCLI_SCHEMA);
        return NULL;
    }
    errinfo e;
    json_t *def = jparse(text, len, 64, &e);
    if (!json_is_object(def)) {
        cli_fail("%s: %s", DDBCLI_SCHEMA, def ? "not a JSON object" : e.msg);
        json_decref(def);
        return NULL;
    }
    if (json_object_set_new(def, "TableName", json_string(table)) != 0 ||
        (!stream && json_object_del(def, "StreamSpecification") != 0 &&
         json_object_get(def, "StreamSpecification"))) {
        json_decref(def);
        cli_nomem();
        return NULL;
    }
    return def;
}

static long ddbcli_active_ms(const ddbcli *c)
{
    return c->prod ? DDBCLI_ACTIVE_PROD_MS : DDBCLI_ACTIVE_LOCAL_MS;
}

cli_ddb_create_status cli_ddb_tables_create(ddbcli *c, bool stream)
{
    json_t *def = ddbcli_schema(c->table, stream);
    if (!def)
        return CLI_DDB_CREATE_FAILED;
    ddb_error err;
    int rc = ddb_create_table(c->d, def, NULL, &err);
    json_decref(def);
    if (rc != 0) {
        if (ddb_error_is(&err, "ResourceInUseException"))
            return CLI_DDB_EXISTS;
        cli_ddb_fail(c->d, &err, "CreateTable");
        return CLI_DDB_CREATE_FAILED;
    }
    if (ddb_wait_active(c->d, c->table, ddbcli_active_ms(c), &err) != 0) {
        cli_ddb_fail(c->d, &err, "waiting for the table");
        return CLI_DDB_CREATE_FAILED;
    }
    /* expired idempotency records (the API's IDEM# items carry a ttl) are removed by
     * DynamoDB's time to live */
    json_t *ttl = json_pack("{s:s, s:{s:b, s:s}}", "TableName", c->table, "TimeToLiveSpecification",
                            "Enabled", 1, "AttributeName", MESSAGING_TTL_ATTRIBUTE);
    if (!ttl) {
        cli_nomem();
        return CLI_DDB_CREATE_FAILED;
    }
    json_t *resp = NULL;
    rc = ddb_call(c->d, "UpdateTimeToLive", ttl, &resp, &err);
    json_decref(ttl);
    json_decref(resp);
    if (rc != 0) {
        cli_ddb_fail(c->d, &err, "UpdateTimeToLive");
        return CLI_DDB_CREATE_FAILED;
    }
    return CLI_DDB_CREATED;
}

/* The table's stream: view type ("" without a stream) and latest ARN ("" without). */
int cli_ddb_tables_stream(ddbcli *c, char view[32], char arn[512], ddb_error *err)
{
    json_t *t = NULL;
    view[0] = arn[0] = '\0';
    if (ddb_describe_table(c->d, c->table, &t, err) != 0)
        return -1;
    json_t *spec = json_object_get(t, "StreamSpecification");
    if (json_is_true(json_object_get(spec, "StreamEnabled"))) {
        const char *v = json_string_value(json_object_get(spec, "StreamViewType"));
        snprintf(view, 32, "%s", v ? v : "NEW_IMAGE");
        const char *a = json_string_value(json_object_get(t, "LatestStreamArn"));
        snprintf(arn, 512, "%s", a ? a : "");
    }
    json_decref(t);
    return 0;
}

/* Turns the stream off (view NULL) or on with view; waits for ACTIVE. */
int cli_ddb_tables_set_stream(ddbcli *c, const char *view, ddb_error *err)
{
    json_t *req = view
                      ? json_pack("{s:s, s:{s:b, s:s}}", "TableName", c->table,
                                  "StreamSpecification", "StreamEnabled", 1, "StreamViewType", view)
                      : json_pack("{s:s, s:{s:b}}", "TableName", c->table, "StreamSpecification",
                                  "StreamEnabled", 0);
    if (!req)
        return aws_error_nomem(err);
    int rc = ddb_update_table(c->d, req, NULL, err);
    json_decref(req);
    if (rc == 0)
        rc = ddb_wait_active(c->d, c->table, ddbcli_active_ms(c), err);
    return rc;
}

/* ---- schema-load, drop, list-tables ---------------------------------------------------------- */

int cli_ddb_tables_schema_load(int argc, char **argv)
{
    static const struct option opts[] = {
        { "no-stream", no_argument, NULL, 'S' },
        { "prod", no_argument, NULL, 'p' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    ddbcli c = { .cmd = "ddb schema-load", .table = cli_table() };
    bool stream = true;
    int o;
    while ((o = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (o) {
        case 'S': stream = false; break;
        case 'p': c.prod = true; break;
        case 'h': fputs(ddbcli_schema_usage, stdout); return CLI_OK;
        default: return cli_ddb_bad_option(c.cmd, o, argv);
        }
    }
    if (optind < argc)
        return cli_usage_error(c.cmd, "unexpected argument '%s'", argv[optind]);
    int rc = cli_ddb_connect(&c);
    if (rc != CLI_OK)
        return rc;
    cli_ddb_create_status made = cli_ddb_tables_create(&c, stream);
    if (made == CLI_DDB_EXISTS) {
        rc = cli_fail("table %s already exists at %s (drop it first: cruddur ddb drop %s)", c.table,
                      ddb_endpoint(c.d), c.table);
    } else if (made == CLI_DDB_CREATE_FAILED) {
        rc = CLI_FAIL;
    } else {
        char view[32], arn[512];
        ddb_error err;
        if (cli_ddb_tables_stream(&c, view, arn, &err) != 0)
            view[0] = arn[0] = '\0';
        if (view[0])
            printf("created table %s at %s (stream %s: %s)\n", c.table, ddb_endpoint(c.d), view,
                   arn);
        else
            printf("created table %s at %s (no stream)\n", c.table, ddb_endpoint(c.d));
    }
    ddb_free(c.d);
    return rc;
}

/* Whether name is a DynamoDB table name: 3-255 of [A-Za-z0-9_.-]. */
static bool ddbcli_table_name_ok(const char *name)
{
    size_t n = strlen(name);
    return n >= 3 && n <= 255 &&
           strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n;
}

int cli_ddb_tables_drop(int argc, char **argv)
{
    static const struct option opts[] = {
        { "yes", no_argument, NULL, 'y' },
        { "prod", no_argument, NULL, 'p' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    ddbcli c = { .cmd = "ddb drop" };
    bool yes = false;
    int o;
    while ((o = getopt_long(argc, argv, ":yh", opts, NULL)) != -1) {
        switch (o) {
        case 'y': yes = true; break;
        case 'p': c.prod = true; break;
        case 'h': fputs(ddbcli_drop_usage, stdout); return CLI_OK;
        default: return cli_ddb_bad_option(c.cmd, o, argv);
        }
    }
    if (optind >= argc)
        return cli_usage_error(c.cmd, "which table? (cruddur ddb list-tables shows them)");
    if (argc - optind > 1)
        return cli_usage_error(c.cmd, "unexpected argument '%s'", argv[optind + 1]);
    c.table = argv[optind];
    if (!ddbcli_table_name_ok(c.table))
        return cli_usage_error(c.cmd, "'%.80s' is not a table name (3-255 of A-Z a-z 0-9 _ . -)",
                               c.table);
    if (!yes && isatty(STDIN_FILENO) != 1)
        return cli_fail("not dropping table %s: no terminal to confirm on; add --yes to drop it",
                        c.table);
    int rc = cli_ddb_connect(&c);
    if (rc != CLI_OK)
        return rc;
    ddb_error err;
    json_t *t = NULL;
    if (ddb_describe_table(c.d, c.table, &t, &err) != 0) {
        if (ddb_error_is(&err, "ResourceNotFoundException"))
            rc = cli_fail("no table %s at %s (cruddur ddb list-tables shows them)", c.table,
                          ddb_endpoint(c.d));
        else
            rc = cli_ddb_fail(c.d, &err, "DescribeTable");
        goto out;
    }
    if (!yes) {
        char q[640];
        long long items = (long long)json_integer_value(json_object_get(t, "ItemCount"));
        snprintf(q, sizeof q, "Drop table %s (about %lld items) at %s%s%s? This cannot be undone.",
                 c.table, items, ddb_endpoint(c.d), c.prod ? " in AWS region " : "",
                 c.prod ? ddb_region(c.d) : "");
        if (!cli_confirm(q)) {
            rc = cli_fail("not dropped: table %s kept", c.table);
            goto out;
        }
    }
    if (ddb_delete_table(c.d, c.table, &err) != 0) {
        rc = cli_ddb_fail(c.d, &err, "DeleteTable");
        goto out;
    }
    printf("dropped table %s at %s\n", c.table, ddb_endpoint(c.d));
out:
    json_decref(t);
    ddb_free(c.d);
    return rc;
}

int cli_ddb_tables_list(int argc, char **argv)
{
    static const struct option opts[] = {
        { "prod", no_argument, NULL, 'p' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    ddbcli c = { .cmd = "ddb list-tables" };
    int o;
    while ((o = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (o) {
        case 'p': c.prod = true; break;
        case 'h': fputs(ddbcli_list_usage, stdout); return CLI_OK;
        default: return cli_ddb_bad_option(c.cmd, o, argv);
        }
    }
    if (optind < argc)
        return cli_usage_error(c.cmd, "unexpected argument '%s'", argv[optind]);
    int rc = cli_ddb_connect(&c);
    if (rc != CLI_OK)
        return rc;
    json_t *names = NULL;
    ddb_error err;
    if (ddb_list_tables(c.d, 0, &names, &err) != 0) {
        rc = cli_ddb_fail(c.d, &err, "ListTables");
    } else {
        size_t i;
        json_t *n;
        json_array_foreach(names, i, n)
        {
            const char *s = json_string_value(n);
            if (s)
                puts(s);
        }
    }
    json_decref(names);
    ddb_free(c.d);
    return rc;
}

/* ---- scan ---------------------------------------------------------------------------------- */

enum ddbcli_format {
    FMT_TYPED,
    FMT_PLAIN,
    FMT_TABLE
};

static int ddbcli_print_item(const json_t *item, enum ddbcli_format fmt, size_t width)
{
    if (fmt == FMT_TYPED)
        return cli_ddb_print_json(item);
    if (fmt == FMT_PLAIN) {
        json_t *plain = ddb_av_item_to_plain(item);
        int rc = plain ? cli_ddb_print_json(plain) : -1;
        json_decref(plain);
        return rc;
    }
    buf line;
    buf_init(&line, 1 << 16);
    cli_display_cell(&line, cli_ddb_attr(item, "pk"), 41);
    buf_append_str(&line, "  ");
    cli_display_cell(&line, cli_ddb_attr(item, "sk"), 32);
    buf_append_str(&line, "  ");
    cli_display_cell(&line, cli_ddb_attr(item, "user_handle"), 12);
    buf_append_str(&line, "  ");
    size_t used = 41 + 2 + 32 + 2 + 12 + 2;
    cli_display_fit(&line, cli_ddb_attr(item, "message"), width > used + 10 ? width - used : 10);
    puts(buf_cstr(&line));
    buf_cleanup(&line);
    return 0;
}

int cli_ddb_tables_scan(int argc, char **argv)
{
    static const struct option opts[] = {
        { "table", no_argument, NULL, 't' },
        { "plain", no_argument, NULL, 'P' },
        { "limit", required_argument, NULL, 'l' },
        { "force", no_argument, NULL, 'f' },
        { "prod", no_argument, NULL, 'p' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    ddbcli c = { .cmd = "ddb scan", .table = cli_table() };
    enum ddbcli_format fmt = FMT_TYPED;
    bool force = false;
    long limit = 0;
    int o;
    while ((o = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (o) {
        case 't': fmt = FMT_TABLE; break;
        case 'P': fmt = FMT_PLAIN; break;
        case 'l':
            if (cli_ddb_long(optarg, 1, 1000000000L, &limit) != 0)
                return cli_usage_error(c.cmd, "--limit wants a number from 1, not '%.40s'", optarg);
            break;
        case 'f': force = true; break;
        case 'p': c.prod = true; break;
        case 'h': fputs(ddbcli_scan_usage, stdout); return CLI_OK;
        default: return cli_ddb_bad_option(c.cmd, o, argv);
        }
    }
    if (optind < argc)
        return cli_usage_error(c.cmd, "unexpected argument '%s'", argv[optind]);
    if (!force && (c.prod || !ddbcli_is_local(cli_local_endpoint())))
        return cli_fail("not scanning %s: a scan reads (and bills) the whole table, so it runs "
                        "against a local endpoint only; add --force if you mean it",
                        c.prod ? "real AWS" : cli_local_endpoint());
    int rc = cli_ddb_connect(&c);
    if (rc != CLI_OK)
        return rc;
    size_t width = cli_ddb_width();
    ddb_page page;
    ddb_page_init(&page);
    json_t *start = NULL;
    long n = 0;
    ddb_error err;
    for (;;) {
        ddb_query_options q = { .table = c.table, .start_key = start };
        if (limit > 0)
            q.limit = (int)(limit - n < 1000 ? limit - n : 1000);
        if (ddb_scan(c.d, &q, &page, &err) != 0) {
            rc = cli_ddb_fail(c.d, &err, "Scan");
            break;
        }
        size_t i;
        json_t *item;
        json_array_foreach(page.items, i, item)
        {
            if (ddbcli_print_item(item, fmt, width) != 0) {
                rc = cli_nomem();
                goto out;
            }
            n++;
        }
        json_decref(start);
        start = json_incref(page.last_key);
        if (!start || (limit > 0 && n >= limit))
            break;
    }
out:
    if (rc == CLI_OK)
        fprintf(stderr, "%ld item%s in %s\n", n, n == 1 ? "" : "s", c.table);
    json_decref(start);
    ddb_page_cleanup(&page);
    ddb_free(c.d);
    return rc;
}
