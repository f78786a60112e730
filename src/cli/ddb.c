/* ddb.c — `cruddur ddb`: the cruddur-messages table from the command line, replacing the
 * original bin/ddb scripts (schema-load, drop, list-tables, scan, seed, and the pattern
 * scripts get-conversation / list-conversations), and the DynamoDB step of `cruddur setup`. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "aws/ddb.h"
#include "aws/ddb_av.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/embed.h"
#include "base/env.h"
#include "base/jparse.h"
#include "base/uuid.h"
#include "cli/cli.h"
#include "messaging/messaging.h"
#include "messaging/seed.h"
#include "users/users.h"

#define DDBCLI_SCHEMA "ddb-schema/cruddur-messages.json"
#define DDBCLI_CHUNK 100                /* items per ddb_batch_write call */
#define DDBCLI_CONNECTIONS_MAX 32
#define DDBCLI_CONNECTIONS_DEFAULT 4
#define DDBCLI_ACTIVE_LOCAL_MS 60000L   /* how long to wait for ACTIVE */
#define DDBCLI_ACTIVE_PROD_MS 600000L
#define DDBCLI_HINT_STREAM_ITEMS 20000L /* suggest --stream-off from this many items */

static const char ddbcli_usage[] =
    "Usage: cruddur ddb SUBCOMMAND [OPTIONS] [ARGS]\n"
    "\n"
    "The DynamoDB table of Cruddur messaging. The table is CRUDDUR_DDB_TABLE (default\n"
    MESSAGING_TABLE_DEFAULT "). The endpoint is AWS_ENDPOINT_URL (default: DynamoDB Local at\n"
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
    "Every subcommand takes --prod and -h/--help.\n"
    "Run 'cruddur ddb SUBCOMMAND --help' for its options.\n"
    "Exit status: 0 ok, 1 runtime error, 2 usage error.\n";

static const char ddbcli_schema_usage[] =
    "Usage: cruddur ddb schema-load [--prod] [--no-stream]\n"
    "\n"
    "Creates the table (CRUDDUR_DDB_TABLE, default " MESSAGING_TABLE_DEFAULT
    ") from the built-in\n"
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

static const char ddbcli_seed_usage[] =
    "Usage: cruddur ddb seed [--prod]\n"
    "       cruddur ddb seed --users U --groups G --messages M [--seed N] [--end-time TS]\n"
    "                        [--connections N] [--stream-off] [--dump] [--prod]\n"
    "\n"
    "Without options: writes the sample conversation, 40 messages between @mira and\n"
    "@tomasz over the last day plus both group rows, replacing an earlier copy (message\n"
    "group " SEED_SAMPLE_GROUP_UUID "). The users come from PostgreSQL\n"
    "(CONNECTION_URL) when it is configured, else the built-in values of sql/seed.sql.\n"
    "\n"
    "With --users/--groups/--messages: a synthetic data set for load tests, the same for\n"
    "the same options: users u1..uU, G groups between random pairs of them, M messages over\n"
    "the 30 days before --end-time, two group rows per group holding its last message.\n"
    "Written with BatchWriteItem (25 items a request, unprocessed items re-sent) over\n"
    "--connections connections; a progress bar on a terminal, a summary with items/s\n"
    "otherwise.\n"
    "\n"
    "Options:\n"
    "  --users U        users, 2..1000000\n"
    "  --groups G       message groups, 1..10000000\n"
    "  --messages M     messages, G..100000000 (every group gets at least one)\n"
    "  --seed N         the random seed (default 1)\n"
    "  --end-time TS    the last message's time, ISO-8601 (default: now)\n"
    "  --connections N  write over N connections at once, 1..32 (default 4)\n"
    "  --stream-off     disable the table's stream during the load and re-enable it after.\n"
    "                   DynamoDB Local slows down badly once a stream holds tens of\n"
    "                   thousands of records. Re-enabling creates a NEW stream ARN: stream\n"
    "                   readers (cruddur-streamd) must move to it, and the loaded items\n"
    "                   appear in no stream.\n"
    "  --dump           print the items as JSON lines instead of writing them\n"
    "  --prod           real AWS instead of the local endpoint\n"
    "  -h, --help       show this help\n";

static const char ddbcli_conv_usage[] =
    "Usage: cruddur ddb get-conversation GROUP_UUID [--limit N] [--json] [--prod]\n"
    "\n"
    "Shows the messages of one message group oldest first (access pattern A: Query\n"
    "pk = MSG#GROUP_UUID, newest first, shown reversed): sender handle, local time, the\n"
    "message cut to the terminal width (COLUMNS, default 80 off a terminal).\n"
    "Fails (exit 1) when the group has no messages.\n"
    "\n"
    "Options:\n"
    "  --limit N   only the newest N messages (default: all)\n"
    "  --json      the raw items instead, one JSON object a line, in the same order\n"
    "  --prod      real AWS instead of the local endpoint\n"
    "  -h, --help  show this help\n";

static const char ddbcli_convs_usage[] =
    "Usage: cruddur ddb list-conversations HANDLE [--limit N] [--json] [--prod]\n"
    "       cruddur ddb list-conversations --uuid USER_UUID [...]\n"
    "\n"
    "Shows someone's conversations newest first (access pattern B: Query pk = GRP#<uuid>):\n"
    "the other person's handle, the local time of the last message, the message group id\n"
    "(for get-conversation) and the last message cut to fit. HANDLE (with or without '@')\n"
    "is looked up in PostgreSQL (CONNECTION_URL).\n"
    "\n"
    "Options:\n"
    "  --uuid      the argument is the user's uuid (no PostgreSQL needed)\n"
    "  --limit N   only the newest N conversations (default: all)\n"
    "  --json      the raw group rows instead, one JSON object a line\n"
    "  --prod      real AWS instead of the local endpoint\n"
    "  -h, --help  show this help\n";

/* What every subcommand works with. */
typedef struct ddbcli {
    const char *cmd;    /* "ddb scan": for messages */
    bool prod;
    const char *table;
    ddb *d;
} ddbcli;

/* ---- small helpers ------------------------------------------------------------------------ */

static int ddbcli_bad_option(const char *cmd, int c, char **argv)
{
    const char *opt = optind > 0 ? argv[optind - 1] : "?";
    if (c == ':')
        return cli_usage_error(cmd, "option '%s' needs a value", opt);
    return cli_usage_error(cmd, "unknown option '%s'", opt);
}

/* A decimal number in [min, max]; 0 or -1. */
static int ddbcli_long(const char *s, long min, long max, long *out)
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

static int ddbcli_open(ddbcli *c)
{
    c->d = cli_ddb_open(c->prod);
    return c->d ? CLI_OK : CLI_FAIL;
}

static int ddbcli_nomem(void)
{
    return cli_fail("out of memory");
}

/* Whether url's host is the loopback: 127.0.0.1, localhost or ::1. */
static bool ddbcli_is_local(const char *url)
{
    const char *p = url ? strstr(url, "://") : NULL;
    if (!p)
        return false;
    p += 3;
    size_t n = strcspn(p, "/?#");
    char host[256];
    if (n == 0 || n >= sizeof host)
        return false;
    memcpy(host, p, n);
    host[n] = '\0';
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
    return strcmp(h, "127.0.0.1") == 0 || strcasecmp(h, "localhost") == 0 ||
           strcmp(h, "::1") == 0;
}

/* Columns to print into: the terminal's, COLUMNS, or 80. */
static size_t ddbcli_width(void)
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
static int ddbcli_print_json(const json_t *v)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
    if (!s)
        return -1;
    fputs(s, stdout);
    fputc('\n', stdout);
    free(s);
    return 0;
}

static const char *ddbcli_s(const json_t *item, const char *name)
{
    const char *s = ddb_av_get_s(item, name);
    return s ? s : "?";
}

/* Appends s in exactly cols columns (cut or padded). */
static void ddbcli_cell(buf *line, const char *s, size_t cols)
{
    size_t before = messaging_cols(buf_cstr(line));
    messaging_fit(line, s, cols);
    size_t now = messaging_cols(buf_cstr(line));
    for (size_t k = now - before; k < cols; k++)
        buf_putc(line, ' ');
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
        ddbcli_nomem();
        return NULL;
    }
    return def;
}

static long ddbcli_active_ms(const ddbcli *c)
{
    return c->prod ? DDBCLI_ACTIVE_PROD_MS : DDBCLI_ACTIVE_LOCAL_MS;
}

/* Creates the table and waits for ACTIVE; *exists set when it was there already (then 1
 * is returned without a message). CLI status otherwise. */
static int ddbcli_create_table(ddbcli *c, bool stream, bool *exists)
{
    *exists = false;
    json_t *def = ddbcli_schema(c->table, stream);
    if (!def)
        return CLI_FAIL;
    ddb_error err;
    int rc = ddb_create_table(c->d, def, NULL, &err);
    json_decref(def);
    if (rc != 0) {
        if (ddb_error_is(&err, "ResourceInUseException")) {
            *exists = true;
            return CLI_FAIL;
        }
        return cli_ddb_fail(c->d, &err, "CreateTable");
    }
    if (ddb_wait_active(c->d, c->table, ddbcli_active_ms(c), &err) != 0)
        return cli_ddb_fail(c->d, &err, "waiting for the table");
    /* expired idempotency records (the API's IDEM# items carry a ttl) are removed by
     * DynamoDB's time to live */
    json_t *ttl = json_pack("{s:s, s:{s:b, s:s}}", "TableName", c->table,
                            "TimeToLiveSpecification", "Enabled", 1, "AttributeName",
                            MESSAGING_TTL_ATTRIBUTE);
    json_t *resp = NULL;
    rc = ttl ? ddb_call(c->d, "UpdateTimeToLive", ttl, &resp, &err) : -1;
    json_decref(ttl);
    json_decref(resp);
    if (rc != 0)
        return cli_ddb_fail(c->d, &err, "UpdateTimeToLive");
    return CLI_OK;
}

/* The table's stream: view type ("" without a stream) and latest ARN ("" without). */
static int ddbcli_stream(ddbcli *c, char view[32], char arn[512], ddb_error *err)
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
static int ddbcli_set_stream(ddbcli *c, const char *view, ddb_error *err)
{
    json_t *req = view ? json_pack("{s:s, s:{s:b, s:s}}", "TableName", c->table,
                                   "StreamSpecification", "StreamEnabled", 1, "StreamViewType",
                                   view)
                       : json_pack("{s:s, s:{s:b}}", "TableName", c->table,
                                   "StreamSpecification", "StreamEnabled", 0);
    if (!req) {
        ddb_error_clear(err);
        return errinfo_set(&err->info, ERR_NOMEM, "out of memory");
    }
    int rc = ddb_update_table(c->d, req, NULL, err);
    json_decref(req);
    if (rc == 0)
        rc = ddb_wait_active(c->d, c->table, ddbcli_active_ms(c), err);
    return rc;
}

/* ---- schema-load, drop, list-tables ---------------------------------------------------------- */

static int ddbcli_schema_load(int argc, char **argv)
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
        default: return ddbcli_bad_option(c.cmd, o, argv);
        }
    }
    if (optind < argc)
        return cli_usage_error(c.cmd, "unexpected argument '%s'", argv[optind]);
    int rc = ddbcli_open(&c);
    if (rc != CLI_OK)
        return rc;
    bool exists;
    rc = ddbcli_create_table(&c, stream, &exists);
    if (exists) {
        rc = cli_fail("table %s already exists at %s (drop it first: cruddur ddb drop %s)",
                      c.table, ddb_endpoint(c.d), c.table);
    } else if (rc == CLI_OK) {
        char view[32], arn[512];
        ddb_error err;
        if (ddbcli_stream(&c, view, arn, &err) != 0)
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

static int ddbcli_drop(int argc, char **argv)
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
        default: return ddbcli_bad_option(c.cmd, o, argv);
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
    int rc = ddbcli_open(&c);
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

static int ddbcli_list_tables(int argc, char **argv)
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
        default: return ddbcli_bad_option(c.cmd, o, argv);
        }
    }
    if (optind < argc)
        return cli_usage_error(c.cmd, "unexpected argument '%s'", argv[optind]);
    int rc = ddbcli_open(&c);
    if (rc != CLI_OK)
        return rc;
    json_t *names = NULL;
    ddb_error err;
    if (ddb_list_tables(c.d, 0, &names, &err) != 0) {
        rc = cli_ddb_fail(c.d, &err, "ListTables");
    } else {
        size_t i;
        json_t *n;
        json_array_foreach(names, i, n) {
            const char *s = json_string_value(n);
            if (s)
                puts(s);
        }
    }
    json_decref(names);
    ddb_free(c.d);
    return rc;
}

/* ---- scan -------------------------------------------------------------------------------------- */

enum ddbcli_format { FMT_TYPED, FMT_PLAIN, FMT_TABLE };

static int ddbcli_print_item(const json_t *item, enum ddbcli_format fmt, size_t width)
{
    if (fmt == FMT_TYPED)
        return ddbcli_print_json(item);
    if (fmt == FMT_PLAIN) {
        json_t *plain = ddb_av_item_to_plain(item);
        int rc = plain ? ddbcli_print_json(plain) : -1;
        json_decref(plain);
        return rc;
    }
    buf line;
    buf_init(&line, 1 << 16);
    ddbcli_cell(&line, ddbcli_s(item, "pk"), 41);
    buf_append_str(&line, "  ");
    ddbcli_cell(&line, ddbcli_s(item, "sk"), 32);
    buf_append_str(&line, "  ");
    ddbcli_cell(&line, ddbcli_s(item, "user_handle"), 12);
    buf_append_str(&line, "  ");
    size_t used = 41 + 2 + 32 + 2 + 12 + 2;
    messaging_fit(&line, ddbcli_s(item, "message"), width > used + 10 ? width - used : 10);
    puts(buf_cstr(&line));
    buf_cleanup(&line);
    return 0;
}

static int ddbcli_scan(int argc, char **argv)
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
            if (ddbcli_long(optarg, 1, 1000000000L, &limit) != 0)
                return cli_usage_error(c.cmd, "--limit wants a number from 1, not '%.40s'",
                                       optarg);
            break;
        case 'f': force = true; break;
        case 'p': c.prod = true; break;
        case 'h': fputs(ddbcli_scan_usage, stdout); return CLI_OK;
        default: return ddbcli_bad_option(c.cmd, o, argv);
        }
    }
    if (optind < argc)
        return cli_usage_error(c.cmd, "unexpected argument '%s'", argv[optind]);
    if (!force && (c.prod || !ddbcli_is_local(cli_local_endpoint())))
        return cli_fail("not scanning %s: a scan reads (and bills) the whole table, so it runs "
                        "against a local endpoint only; add --force if you mean it",
                        c.prod ? "real AWS" : cli_local_endpoint());
    int rc = ddbcli_open(&c);
    if (rc != CLI_OK)
        return rc;
    size_t width = ddbcli_width();
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
        json_array_foreach(page.items, i, item) {
            if (ddbcli_print_item(item, fmt, width) != 0) {
                rc = ddbcli_nomem();
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

/* ---- seed ------------------------------------------------------------------------------------ */

/* The two sample users: from PostgreSQL when it is configured and knows them, else the
 * fixed values of sql/seed.sql (seed_sample_mira / _tomasz). Notes why on stderr. */
static void ddbcli_sample_users(user *ua, user *ub, messaging_user *a, messaging_user *b)
{
    *a = seed_sample_mira;
    *b = seed_sample_tomasz;
    if (!env_str("CONNECTION_URL"))
        return;
    errinfo e;
    users *u = users_open(NULL, &e);
    if (!u) {
        fprintf(stderr, "cruddur: note: %s; seeding with the built-in users @%s and @%s\n",
                e.msg, a->handle, b->handle);
        return;
    }
    if (users_by_handle(u, seed_sample_mira.handle, ua, &e) == 0 &&
        users_by_handle(u, seed_sample_tomasz.handle, ub, &e) == 0) {
        *a = (messaging_user){ ua->uuid, ua->display_name, ua->handle };
        *b = (messaging_user){ ub->uuid, ub->display_name, ub->handle };
    } else {
        fprintf(stderr, "cruddur: note: %s; seeding with the built-in users @%s and @%s\n",
                e.msg, a->handle, b->handle);
    }
    users_close(u);
}

/* Appends a DeleteRequest for each item of page to dels. */
static int ddbcli_add_deletes(json_t *dels, const json_t *items)
{
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it) {
        json_t *del = json_pack("{s:{s:{s:O, s:O}}}", "DeleteRequest", "Key", "pk",
                                json_object_get(it, "pk"), "sk", json_object_get(it, "sk"));
        if (!del || json_array_append_new(dels, del) != 0)
            return -1;
    }
    return 0;
}

/* Writes the sample conversation, deleting an earlier copy first. *replaced: items
 * deleted. 0, or -1 with err. */
static int ddbcli_seed_sample(ddbcli *c, const messaging_user *a, const messaging_user *b,
                              size_t *replaced, ddb_error *err)
{
    int rc = -1;
    json_t *dels = json_array();
    json_t *items = NULL;
    json_t *writes = json_array();
    json_t *start = NULL;
    ddb_page page;
    ddb_page_init(&page);
    *replaced = 0;
    if (!dels || !writes)
        goto nomem;
    for (int pass = 0; pass < 2; pass++) {
        do {
            int qrc = pass == 0 ? messaging_conversation_page(c->d, c->table,
                                                              SEED_SAMPLE_GROUP_UUID, 0, start,
                                                              &page, err)
                                : messaging_group_rows_page(c->d, c->table,
                                                            SEED_SAMPLE_GROUP_UUID, start, &page,
                                                            err);
            if (qrc != 0)
                goto out;
            if (ddbcli_add_deletes(dels, page.items) != 0)
                goto nomem;
            json_decref(start);
            start = json_incref(page.last_key);
        } while (start);
    }
    if (json_array_size(dels) > 0 && ddb_batch_write(c->d, c->table, dels, NULL, err) != 0)
        goto out;
    *replaced = json_array_size(dels);
    items = seed_sample_items(a, b, clock_real_us());
    if (!items)
        goto nomem;
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it) {
        if (json_array_append_new(writes, json_pack("{s:{s:O}}", "PutRequest", "Item", it)) != 0)
            goto nomem;
    }
    rc = ddb_batch_write(c->d, c->table, writes, NULL, err);
    goto out;
nomem:
    ddb_error_clear(err);
    errinfo_set(&err->info, ERR_NOMEM, "out of memory");
out:
    ddb_page_cleanup(&page);
    json_decref(start);
    json_decref(dels);
    json_decref(items);
    json_decref(writes);
    return rc;
}

/* A progress bar on a terminal; nothing otherwise. */
typedef struct ddbcli_progress {
    bool tty;
    size_t total;
    int64_t t0_us;
    int64_t shown_us;
} ddbcli_progress;

static void ddbcli_progress_show(ddbcli_progress *p, size_t done, bool final)
{
    if (!p->tty)
        return;
    int64_t now = clock_mono_us();
    if (!final && now - p->shown_us < 100000)
        return;
    p->shown_us = now;
    double secs = (double)(now - p->t0_us) / 1e6;
    int pct = p->total ? (int)((double)done * 100.0 / (double)p->total) : 100;
    char bar[31];
    int fill = pct * 30 / 100;
    for (int i = 0; i < 30; i++)
        bar[i] = i < fill ? '#' : '-';
    bar[30] = '\0';
    printf("\r[%s] %3d%%  %zu/%zu items  %.0f items/s ", bar, pct, done, p->total,
           secs > 0 ? (double)done / secs : 0.0);
    if (final)
        putchar('\n');
    fflush(stdout);
}

/* The bulk load: `connections` workers, each with its own client (one keep-alive
 * connection), take chunks of DDBCLI_CHUNK items in turn; the calling thread shows the
 * progress. The first failure stops every worker. */
typedef struct ddbcli_load_job {
    ddbcli *c;
    const seed_bulk *b;
    size_t total;
    atomic_size_t next;      /* offset of the next chunk to take */
    atomic_size_t written;   /* items in chunks written completely */
    atomic_int running;      /* workers not finished */
    atomic_bool failed;
    pthread_mutex_t lock;    /* guards err and err_set */
    ddb_error err;
    bool err_set;
} ddbcli_load_job;

static void ddbcli_load_fail(ddbcli_load_job *j, const ddb_error *err)
{
    pthread_mutex_lock(&j->lock);
    if (!j->err_set) {
        j->err = *err;
        j->err_set = true;
    }
    pthread_mutex_unlock(&j->lock);
    atomic_store(&j->failed, true);
}

static void ddbcli_load_chunks(ddbcli_load_job *j, ddb *d)
{
    ddb_error err;
    while (!atomic_load(&j->failed)) {
        size_t off = atomic_fetch_add(&j->next, (size_t)DDBCLI_CHUNK);
        if (off >= j->total)
            break;
        size_t end = off + DDBCLI_CHUNK < j->total ? off + DDBCLI_CHUNK : j->total;
        json_t *reqs = json_array();
        bool ok = reqs != NULL;
        for (size_t i = off; i < end && ok; i++) {
            json_t *item = seed_bulk_item(j->b, i);
            json_t *req = item ? json_pack("{s:{s:o}}", "PutRequest", "Item", item) : NULL;
            ok = req && json_array_append_new(reqs, req) == 0;
        }
        if (!ok) {
            json_decref(reqs);
            ddb_error_clear(&err);
            errinfo_set(&err.info, ERR_NOMEM, "out of memory");
            ddbcli_load_fail(j, &err);
            break;
        }
        int rc = ddb_batch_write(d, j->c->table, reqs, NULL, &err);
        json_decref(reqs);
        if (rc != 0) {
            ddbcli_load_fail(j, &err);
            break;
        }
        atomic_fetch_add(&j->written, end - off);
    }
}

static void *ddbcli_load_worker(void *arg)
{
    ddbcli_load_job *j = arg;
    ddb *d = cli_ddb_open(j->c->prod);
    if (d) {
        ddbcli_load_chunks(j, d);
    } else {
        ddb_error err;
        ddb_error_clear(&err);
        errinfo_set(&err.info, ERR_CONFIG, "cannot open another DynamoDB client");
        ddbcli_load_fail(j, &err);
    }
    ddb_free(d);
    atomic_fetch_sub(&j->running, 1);
    return NULL;
}

/* Writes every item of b over `connections` connections; *written counts the items known
 * to be in. 0, or -1 with err (the first failure). */
static int ddbcli_load(ddbcli *c, const seed_bulk *b, int connections, ddbcli_progress *pr,
                       size_t *written, ddb_error *err)
{
    ddbcli_load_job j = { .c = c, .b = b, .total = seed_bulk_count(b) };
    atomic_init(&j.next, 0);
    atomic_init(&j.written, 0);
    atomic_init(&j.running, connections);
    atomic_init(&j.failed, false);
    pthread_mutex_init(&j.lock, NULL);
    pthread_t tids[DDBCLI_CONNECTIONS_MAX];
    int started = 0;
    for (; started < connections; started++) {
        if (pthread_create(&tids[started], NULL, ddbcli_load_worker, &j) != 0)
            break;
    }
    if (started < connections) {
        atomic_fetch_sub(&j.running, connections - started);
        if (started == 0) {
            ddb_error e;
            ddb_error_clear(&e);
            errinfo_set(&e.info, ERR_INTERNAL, "cannot start a thread");
            ddbcli_load_fail(&j, &e);
        }
    }
    while (atomic_load(&j.running) > 0) {
        ddbcli_progress_show(pr, atomic_load(&j.written), false);
        clock_sleep_ms(50);
    }
    for (int i = 0; i < started; i++)
        pthread_join(tids[i], NULL);
    pthread_mutex_destroy(&j.lock);
    *written = atomic_load(&j.written);
    if (j.err_set) {
        *err = j.err;
        return -1;
    }
    return 0;
}

typedef struct ddbcli_bulk_args {
    long users, groups, messages, seed;
    int connections;
    const char *end_time;
    bool stream_off;
    bool dump;
} ddbcli_bulk_args;

static int ddbcli_seed_bulk(ddbcli *c, const ddbcli_bulk_args *a)
{
    seed_bulk_options so = {
        .users = a->users,
        .groups = a->groups,
        .messages = a->messages,
        .seed = (uint64_t)a->seed,
        .end_us = clock_real_us(),
    };
    if (a->end_time && clock_parse_iso8601_us(a->end_time, &so.end_us) != 0)
        return cli_usage_error(c->cmd, "--end-time wants an ISO-8601 time like "
                                       "2026-11-21T09:30:00.000000+00:00, not '%.60s'",
                               a->end_time);
    errinfo e;
    seed_bulk *b = seed_bulk_new(&so, &e);
    if (!b)
        return e.code == ERR_INVALID ? cli_usage_error(c->cmd, "%s", e.msg) : ddbcli_nomem();
    size_t total = seed_bulk_count(b);
    int rc = CLI_OK;
    if (a->dump) {
        for (size_t i = 0; i < total && rc == CLI_OK; i++) {
            json_t *item = seed_bulk_item(b, i);
            if (!item || ddbcli_print_json(item) != 0)
                rc = ddbcli_nomem();
            json_decref(item);
        }
        seed_bulk_free(b);
        return rc;
    }
    rc = ddbcli_open(c);
    if (rc != CLI_OK) {
        seed_bulk_free(b);
        return rc;
    }
    ddb_error err;
    char view[32], arn[512];
    bool stream_was_on = false;
    if (ddbcli_stream(c, view, arn, &err) != 0) {
        rc = cli_ddb_fail(c->d, &err, "DescribeTable");
        goto out;
    }
    if (view[0] && a->stream_off) {
        if (ddbcli_set_stream(c, NULL, &err) != 0) {
            rc = cli_ddb_fail(c->d, &err, "disabling the stream");
            goto out;
        }
        stream_was_on = true;
        fprintf(stderr, "stream of %s disabled for the load\n", c->table);
    } else if (view[0] && (long)total >= DDBCLI_HINT_STREAM_ITEMS && !c->prod) {
        fprintf(stderr, "cruddur: note: %s has a stream; DynamoDB Local slows down once a stream "
                        "holds tens of thousands of records (--stream-off avoids that)\n",
                c->table);
    }
    ddbcli_progress pr = { .tty = cli_stdout_is_tty(), .total = total,
                           .t0_us = clock_mono_us() };
    size_t written = 0;
    int lrc = ddbcli_load(c, b, a->connections, &pr, &written, &err);
    double secs = (double)(clock_mono_us() - pr.t0_us) / 1e6;
    if (lrc == 0) {
        ddbcli_progress_show(&pr, written, true);
        printf("seeded %zu items into %s: %ld messages, %ld group rows (%ld users, %ld groups) "
               "in %.1f s, %.0f items/s over %d connection%s\n",
               written, c->table, a->messages, 2 * a->groups, a->users, a->groups, secs,
               secs > 0 ? (double)written / secs : 0.0, a->connections,
               a->connections == 1 ? "" : "s");
    } else {
        if (pr.tty)
            putchar('\n');
        rc = cli_ddb_fail(c->d, &err, "BatchWriteItem");
        fprintf(stderr, "cruddur: %zu of %zu items were written before the failure; seeding "
                        "again with the same options rewrites the same items\n", written, total);
    }
    if (stream_was_on) {
        ddb_error serr;
        if (ddbcli_set_stream(c, view, &serr) != 0 || ddbcli_stream(c, view, arn, &serr) != 0) {
            cli_ddb_fail(c->d, &serr, "re-enabling the stream");
            fprintf(stderr, "cruddur: the stream of %s is OFF; turn it on again (StreamViewType "
                            "NEW_IMAGE) before running cruddur-streamd\n", c->table);
            rc = CLI_FAIL;
        } else {
            printf("stream of %s re-enabled (%s): new stream ARN %s — stream readers such as "
                   "cruddur-streamd must follow the new ARN; the loaded items are in no "
                   "stream\n", c->table, view, arn);
        }
    }
out:
    seed_bulk_free(b);
    ddb_free(c->d);
    c->d = NULL;
    return rc;
}

static int ddbcli_seed(int argc, char **argv)
{
    static const struct option opts[] = {
        { "users", required_argument, NULL, 'U' },
        { "groups", required_argument, NULL, 'G' },
        { "messages", required_argument, NULL, 'M' },
        { "seed", required_argument, NULL, 's' },
        { "end-time", required_argument, NULL, 'e' },
        { "stream-off", no_argument, NULL, 'S' },
        { "dump", no_argument, NULL, 'D' },
        { "connections", required_argument, NULL, 'c' },
        { "prod", no_argument, NULL, 'p' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    ddbcli c = { .cmd = "ddb seed", .table = cli_table() };
    ddbcli_bulk_args a = { .users = -1, .groups = -1, .messages = -1, .seed = 1,
                           .connections = DDBCLI_CONNECTIONS_DEFAULT };
    long conns = DDBCLI_CONNECTIONS_DEFAULT;
    bool bulk_only = false;
    int o;
    while ((o = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        long *dst = NULL;
        const char *name = NULL;
        long max = 0;
        switch (o) {
        case 'U': dst = &a.users, name = "--users", max = SEED_BULK_USERS_MAX; break;
        case 'G': dst = &a.groups, name = "--groups", max = SEED_BULK_GROUPS_MAX; break;
        case 'M': dst = &a.messages, name = "--messages", max = SEED_BULK_MESSAGES_MAX; break;
        case 's': dst = &a.seed, name = "--seed", max = 2147483647L; break;
        case 'e': a.end_time = optarg, bulk_only = true; break;
        case 'c': dst = &conns, name = "--connections", max = DDBCLI_CONNECTIONS_MAX; break;
        case 'S': a.stream_off = true, bulk_only = true; break;
        case 'D': a.dump = true, bulk_only = true; break;
        case 'p': c.prod = true; break;
        case 'h': fputs(ddbcli_seed_usage, stdout); return CLI_OK;
        default: return ddbcli_bad_option(c.cmd, o, argv);
        }
        if (dst) {
            long min = o == 's' ? 0 : o == 'U' ? 2 : 1;
            if (ddbcli_long(optarg, min, max, dst) != 0)
                return cli_usage_error(c.cmd, "%s wants a whole number from %ld to %ld, not "
                                              "'%.40s'", name, min, max, optarg);
            if (o == 's' || o == 'c')
                bulk_only = true;
        }
    }
    if (optind < argc)
        return cli_usage_error(c.cmd, "unexpected argument '%s'", argv[optind]);
    a.connections = (int)conns;
    bool bulk = a.users >= 0 || a.groups >= 0 || a.messages >= 0;
    if (bulk && (a.users < 0 || a.groups < 0 || a.messages < 0))
        return cli_usage_error(c.cmd, "a synthetic data set needs all of --users, --groups "
                                      "and --messages (missing %s)",
                               a.users < 0 ? "--users" : a.groups < 0 ? "--groups" : "--messages");
    if (!bulk && bulk_only)
        return cli_usage_error(c.cmd, "--seed, --end-time, --connections, --stream-off and "
                                      "--dump go with --users/--groups/--messages");
    if (bulk)
        return ddbcli_seed_bulk(&c, &a);

    user ua, ub;
    messaging_user ma, mb;
    ddbcli_sample_users(&ua, &ub, &ma, &mb);
    int rc = ddbcli_open(&c);
    if (rc != CLI_OK)
        return rc;
    size_t replaced = 0;
    ddb_error err;
    if (ddbcli_seed_sample(&c, &ma, &mb, &replaced, &err) != 0) {
        rc = cli_ddb_fail(c.d, &err, "seeding the sample conversation");
    } else {
        printf("seeded the sample conversation into %s: %d messages between @%s and @%s, "
               "group %s", c.table, SEED_SAMPLE_MESSAGES, ma.handle, mb.handle,
               SEED_SAMPLE_GROUP_UUID);
        if (replaced)
            printf(" (replaced an earlier copy: %zu items)", replaced);
        putchar('\n');
    }
    ddb_free(c.d);
    return rc;
}

/* ---- the pattern commands ---------------------------------------------------------------- */

typedef struct ddbcli_read_args {
    long limit;
    bool json;
    bool by_uuid;
} ddbcli_read_args;

/* Shared option parsing of get-conversation / list-conversations: the one positional
 * argument into *arg. CLI_OK, or the status to exit with (help shown: -1). */
static int ddbcli_read_opts(ddbcli *c, int argc, char **argv, const char *usage, bool allow_uuid,
                            ddbcli_read_args *a, const char **arg)
{
    static const struct option opts[] = {
        { "limit", required_argument, NULL, 'l' },
        { "json", no_argument, NULL, 'j' },
        { "uuid", no_argument, NULL, 'u' },
        { "prod", no_argument, NULL, 'p' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int o;
    while ((o = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (o) {
        case 'l':
            if (ddbcli_long(optarg, 1, 1000000000L, &a->limit) != 0)
                return cli_usage_error(c->cmd, "--limit wants a number from 1, not '%.40s'",
                                       optarg);
            break;
        case 'j': a->json = true; break;
        case 'u':
            if (!allow_uuid)
                return ddbcli_bad_option(c->cmd, '?', argv);
            a->by_uuid = true;
            break;
        case 'p': c->prod = true; break;
        case 'h': fputs(usage, stdout); return -1;
        default: return ddbcli_bad_option(c->cmd, o, argv);
        }
    }
    if (optind >= argc)
        return cli_usage_error(c->cmd, "missing %s", allow_uuid ? "HANDLE" : "GROUP_UUID");
    if (argc - optind > 1)
        return cli_usage_error(c->cmd, "unexpected argument '%s'", argv[optind + 1]);
    *arg = argv[optind];
    return CLI_OK;
}

/* Every page (up to limit items) of pattern A (group) or B (user) into *all, newest first. */
static int ddbcli_collect(ddbcli *c, bool groups, const char *id, long limit, json_t **all,
                          ddb_error *err)
{
    ddb_page page;
    ddb_page_init(&page);
    json_t *start = NULL;
    int rc = -1;
    *all = json_array();
    if (!*all)
        goto nomem;
    for (;;) {
        long left = limit > 0 ? limit - (long)json_array_size(*all) : 0;
        int lim = left > 0 ? (int)(left < 1000 ? left : 1000) : 0;
        int qrc = groups ? messaging_groups_page(c->d, c->table, id, lim, start, &page, err)
                         : messaging_conversation_page(c->d, c->table, id, lim, start, &page,
                                                       err);
        if (qrc != 0)
            goto out;
        if (json_array_extend(*all, page.items) != 0)
            goto nomem;
        json_decref(start);
        start = json_incref(page.last_key);
        if (!start || (limit > 0 && (long)json_array_size(*all) >= limit))
            break;
    }
    rc = 0;
    goto out;
nomem:
    ddb_error_clear(err);
    errinfo_set(&err->info, ERR_NOMEM, "out of memory");
out:
    if (rc != 0) {
        json_decref(*all);
        *all = NULL;
    }
    json_decref(start);
    ddb_page_cleanup(&page);
    return rc;
}

/* Rows "handle  local time  [group]  message" cut to the width. */
static void ddbcli_print_rows(const json_t *items, bool reverse, bool with_group)
{
    size_t width = ddbcli_width();
    size_t n = json_array_size(items);
    size_t hw = 12;
    for (size_t i = 0; i < n; i++) {
        size_t w = messaging_cols(ddbcli_s(json_array_get(items, i), "user_handle")) + 1;
        if (w > hw)
            hw = w < 31 ? w : 31;
    }
    buf line;
    buf_init(&line, 1 << 16);
    for (size_t k = 0; k < n; k++) {
        const json_t *it = json_array_get(items, reverse ? n - 1 - k : k);
        char when[64];
        messaging_local_time(when, sizeof when, ddbcli_s(it, "sk"));
        buf_reset(&line);
        ddbcli_cell(&line, ddbcli_s(it, "user_handle"), hw);
        buf_append_str(&line, "  ");
        ddbcli_cell(&line, when, 19);
        buf_append_str(&line, "  ");
        size_t used = hw + 2 + 19 + 2;
        if (with_group) {
            ddbcli_cell(&line, ddbcli_s(it, "message_group_uuid"), 36);
            buf_append_str(&line, "  ");
            used += 38;
        }
        messaging_fit(&line, ddbcli_s(it, "message"), width > used + 10 ? width - used : 10);
        puts(buf_cstr(&line));
    }
    buf_cleanup(&line);
}

static int ddbcli_print_items(const json_t *items, bool reverse)
{
    size_t n = json_array_size(items);
    for (size_t k = 0; k < n; k++)
        if (ddbcli_print_json(json_array_get(items, reverse ? n - 1 - k : k)) != 0)
            return -1;
    return 0;
}

static int ddbcli_get_conversation(int argc, char **argv)
{
    ddbcli c = { .cmd = "ddb get-conversation", .table = cli_table() };
    ddbcli_read_args a = { 0 };
    const char *group = NULL;
    int rc = ddbcli_read_opts(&c, argc, argv, ddbcli_conv_usage, false, &a, &group);
    if (rc != CLI_OK)
        return rc < 0 ? CLI_OK : rc;
    if (!uuid_is_text(group, strlen(group)))
        return cli_usage_error(c.cmd, "'%.60s' is not a message group id (a UUID like %s)",
                               group, SEED_SAMPLE_GROUP_UUID);
    if ((rc = ddbcli_open(&c)) != CLI_OK)
        return rc;
    json_t *items = NULL;
    ddb_error err;
    if (ddbcli_collect(&c, false, group, a.limit, &items, &err) != 0)
        rc = cli_ddb_fail(c.d, &err, "Query");
    else if (json_array_size(items) == 0)
        rc = cli_fail("no messages in message group %s in %s (cruddur ddb list-conversations "
                      "HANDLE shows someone's groups)", group, c.table);
    else if (a.json)
        rc = ddbcli_print_items(items, true) == 0 ? CLI_OK : ddbcli_nomem();
    else
        ddbcli_print_rows(items, true, false);
    json_decref(items);
    ddb_free(c.d);
    return rc;
}

static int ddbcli_list_conversations(int argc, char **argv)
{
    ddbcli c = { .cmd = "ddb list-conversations", .table = cli_table() };
    ddbcli_read_args a = { 0 };
    const char *who = NULL;
    int rc = ddbcli_read_opts(&c, argc, argv, ddbcli_convs_usage, true, &a, &who);
    if (rc != CLI_OK)
        return rc < 0 ? CLI_OK : rc;
    user me;
    memset(&me, 0, sizeof me);
    if (a.by_uuid) {
        if (!uuid_is_text(who, strlen(who)))
            return cli_usage_error(c.cmd, "'%.60s' is not a user uuid", who);
        snprintf(me.uuid, sizeof me.uuid, "%s", who);
    } else {
        const char *handle = who[0] == '@' ? who + 1 : who;
        if (!users_handle_valid(handle, strlen(handle)))
            return cli_usage_error(c.cmd, "'%.60s' is not a handle (1-30 letters, digits or _)",
                                   who);
        users *u = cli_users_open();
        if (!u)
            return CLI_FAIL;
        errinfo e;
        int urc = users_by_handle(u, handle, &me, &e);
        users_close(u);
        if (urc != 0) {
            if (e.code == ERR_NOTFOUND)
                return cli_fail("no user with handle @%s (in the PostgreSQL database of "
                                "CONNECTION_URL)", handle);
            if (e.code == ERR_INVALID)
                return cli_usage_error(c.cmd, "%s", e.msg);
            return cli_fail("looking up @%s: %s", handle, e.msg);
        }
    }
    if ((rc = ddbcli_open(&c)) != CLI_OK)
        return rc;
    json_t *items = NULL;
    ddb_error err;
    if (ddbcli_collect(&c, true, me.uuid, a.limit, &items, &err) != 0)
        rc = cli_ddb_fail(c.d, &err, "Query");
    else if (a.json)
        rc = ddbcli_print_items(items, false) == 0 ? CLI_OK : ddbcli_nomem();
    else if (json_array_size(items) == 0)
        fprintf(stderr, "%s%s has no conversations in %s\n", a.by_uuid ? "user " : "@",
                a.by_uuid ? me.uuid : me.handle, c.table);
    else
        ddbcli_print_rows(items, false, true);
    json_decref(items);
    ddb_free(c.d);
    return rc;
}

/* ---- the group and `cruddur setup` ----------------------------------------------------------- */

int cli_ddb(int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*run)(int, char **);
    } subs[] = {
        { "schema-load", ddbcli_schema_load },
        { "drop", ddbcli_drop },
        { "list-tables", ddbcli_list_tables },
        { "scan", ddbcli_scan },
        { "seed", ddbcli_seed },
        { "get-conversation", ddbcli_get_conversation },
        { "list-conversations", ddbcli_list_conversations },
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
            return subs[i].run(argc - 1, argv + 1);
        }
    }
    return cli_usage_error("ddb", "unknown subcommand '%.60s'", sub);
}

int cli_ddb_setup_step(bool prod)
{
    ddbcli c = { .cmd = "setup", .prod = prod, .table = cli_table() };
    int rc = ddbcli_open(&c);
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
        bool exists;
        rc = ddbcli_create_table(&c, true, &exists);
        if (rc != CLI_OK && !exists)
            goto out;
        rc = CLI_OK;
        created = !exists;
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
        ddbcli_sample_users(&ua, &ub, &ma, &mb);
        if (ddbcli_seed_sample(&c, &ma, &mb, &replaced, &err) != 0) {
            rc = cli_ddb_fail(c.d, &err, "dynamodb: seeding the sample conversation");
            goto out;
        }
        printf("dynamodb: %s %s%s; seeded the sample conversation (%d messages between @%s "
               "and @%s)\n", what, c.table, created ? "" : " exists", SEED_SAMPLE_MESSAGES,
               ma.handle, mb.handle);
        goto out;
    }
    if (messaging_conversation_page(c.d, c.table, SEED_SAMPLE_GROUP_UUID, 1, NULL, &page,
                                    &err) != 0) {
        rc = cli_ddb_fail(c.d, &err, "dynamodb: Query");
        goto out;
    }
    if (json_array_size(page.items) > 0)
        printf("dynamodb: table %s exists; sample conversation present\n", c.table);
    else
        printf("dynamodb: table %s exists and holds other data; sample conversation not "
               "seeded (cruddur ddb seed adds it)\n", c.table);
out:
    ddb_page_cleanup(&page);
    json_decref(t);
    ddb_free(c.d);
    return rc;
}
