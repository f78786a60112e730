/* ddb_patterns.c — `cruddur ddb get-conversation` and `list-conversations`: the access
 * patterns A (a conversation's messages) and B (someone's conversations) as the original
 * pattern scripts printed them, or as raw items. */
#include "config.h"

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "aws/ddb.h"
#include "base/buf.h"
#include "base/uuid.h"
#include "cli/cli.h"
#include "cli/ddb_internal.h"
#include "cli/display.h"
#include "messaging/messaging.h"
#include "messaging/seed.h"
#include "users/users.h"

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

/* ---- the pattern commands ---------------------------------------------------------------- */

typedef struct ddbcli_read_args {
    long limit;
    bool json;
    bool by_uuid;
} ddbcli_read_args;

/* Shared option parsing of get-conversation / list-conversations: the one positional
 * argument into *arg. CLI_OK, CLI_HELP after printing the help, or CLI_USAGE after
 * printing why. */
static int ddbcli_read_opts(ddbcli *c, int argc, char **argv, const char *usage, bool allow_uuid,
                            ddbcli_read_args *a, const char **arg)
{
    static const struct option opts[] = {
        { "limit", required_argument, NULL, 'l' }, { "json", no_argument, NULL, 'j' },
        { "uuid", no_argument, NULL, 'u' },        { "prod", no_argument, NULL, 'p' },
        { "help", no_argument, NULL, 'h' },        { NULL, 0, NULL, 0 },
    };
    int o;
    while ((o = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (o) {
        case 'l':
            if (cli_ddb_long(optarg, 1, 1000000000L, &a->limit) != 0)
                return cli_usage_error(c->cmd, "--limit wants a number from 1, not '%.40s'",
                                       optarg);
            break;
        case 'j': a->json = true; break;
        case 'u':
            if (!allow_uuid)
                return cli_ddb_bad_option(c->cmd, '?', argv);
            a->by_uuid = true;
            break;
        case 'p': c->prod = true; break;
        case 'h': fputs(usage, stdout); return CLI_HELP;
        default: return cli_ddb_bad_option(c->cmd, o, argv);
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
                         : messaging_conversation_page(c->d, c->table, id, lim, start, &page, err);
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
    aws_error_nomem(err);
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
    size_t width = cli_ddb_width();
    size_t n = json_array_size(items);
    size_t hw = 12;
    for (size_t i = 0; i < n; i++) {
        size_t w = cli_display_cols(cli_ddb_attr(json_array_get(items, i), "user_handle")) + 1;
        if (w > hw)
            hw = w < 31 ? w : 31;
    }
    buf line;
    buf_init(&line, 1 << 16);
    for (size_t k = 0; k < n; k++) {
        const json_t *it = json_array_get(items, reverse ? n - 1 - k : k);
        char when[64];
        cli_display_local_time(when, sizeof when, cli_ddb_attr(it, "sk"));
        buf_reset(&line);
        cli_display_cell(&line, cli_ddb_attr(it, "user_handle"), hw);
        buf_append_str(&line, "  ");
        cli_display_cell(&line, when, 19);
        buf_append_str(&line, "  ");
        size_t used = hw + 2 + 19 + 2;
        if (with_group) {
            cli_display_cell(&line, cli_ddb_attr(it, "message_group_uuid"), 36);
            buf_append_str(&line, "  ");
            used += 38;
        }
        cli_display_fit(&line, cli_ddb_attr(it, "message"), width > used + 10 ? width - used : 10);
        puts(buf_cstr(&line));
    }
    buf_cleanup(&line);
}

static int ddbcli_print_items(const json_t *items, bool reverse)
{
    size_t n = json_array_size(items);
    for (size_t k = 0; k < n; k++)
        if (cli_ddb_print_json(json_array_get(items, reverse ? n - 1 - k : k)) != 0)
            return -1;
    return 0;
}

int cli_ddb_patterns_get_conversation(int argc, char **argv)
{
    ddbcli c = { .cmd = "ddb get-conversation", .table = cli_table() };
    ddbcli_read_args a = { 0 };
    const char *group = NULL;
    int rc = ddbcli_read_opts(&c, argc, argv, ddbcli_conv_usage, false, &a, &group);
    if (rc != CLI_OK)
        return cli_exit_status(rc);
    if (!uuid_is_text(group, strlen(group)))
        return cli_usage_error(c.cmd, "'%.60s' is not a message group id (a UUID like %s)", group,
                               SEED_SAMPLE_GROUP_UUID);
    if ((rc = cli_ddb_connect(&c)) != CLI_OK)
        return rc;
    json_t *items = NULL;
    ddb_error err;
    if (ddbcli_collect(&c, false, group, a.limit, &items, &err) != 0)
        rc = cli_ddb_fail(c.d, &err, "Query");
    else if (json_array_size(items) == 0)
        rc = cli_fail("no messages in message group %s in %s (cruddur ddb list-conversations "
                      "HANDLE shows someone's groups)",
                      group, c.table);
    else if (a.json)
        rc = ddbcli_print_items(items, true) == 0 ? CLI_OK : cli_nomem();
    else
        ddbcli_print_rows(items, true, false);
    json_decref(items);
    ddb_free(c.d);
    return rc;
}

int cli_ddb_patterns_list_conversations(int argc, char **argv)
{
    ddbcli c = { .cmd = "ddb list-conversations", .table = cli_table() };
    ddbcli_read_args a = { 0 };
    const char *who = NULL;
    int rc = ddbcli_read_opts(&c, argc, argv, ddbcli_convs_usage, true, &a, &who);
    if (rc != CLI_OK)
        return cli_exit_status(rc);
    user me;
    memset(&me, 0, sizeof me);
    if (a.by_uuid) {
        if (!uuid_is_text(who, strlen(who)))
            return cli_usage_error(c.cmd, "'%.60s' is not a user uuid", who);
        snprintf(me.uuid, sizeof me.uuid, "%s", who);
    } else {
        const char *handle = who[0] == '@' ? who + 1 : who;
        if (!users_handle_valid(handle, strlen(handle)))
            return cli_usage_error(c.cmd, "'%.60s' is not a handle (" USERS_HANDLE_RULE ")", who);
        users *u = cli_users_open();
        if (!u)
            return CLI_FAIL;
        errinfo e;
        int urc = users_by_handle(u, handle, &me, &e);
        users_close(u);
        if (urc != 0) {
            if (e.code == ERR_NOTFOUND)
                return cli_fail("no user with handle @%s (in the PostgreSQL database of "
                                "CONNECTION_URL)",
                                handle);
            if (e.code == ERR_INVALID)
                return cli_usage_error(c.cmd, "%s", e.msg);
            return cli_fail("looking up @%s: %s", handle, e.msg);
        }
    }
    if ((rc = cli_ddb_connect(&c)) != CLI_OK)
        return rc;
    json_t *items = NULL;
    ddb_error err;
    if (ddbcli_collect(&c, true, me.uuid, a.limit, &items, &err) != 0)
        rc = cli_ddb_fail(c.d, &err, "Query");
    else if (a.json)
        rc = ddbcli_print_items(items, false) == 0 ? CLI_OK : cli_nomem();
    else if (json_array_size(items) == 0)
        fprintf(stderr, "%s%s has no conversations in %s\n", a.by_uuid ? "user " : "@",
                a.by_uuid ? me.uuid : me.handle, c.table);
    else
        ddbcli_print_rows(items, false, true);
    json_decref(items);
    ddb_free(c.d);
    return rc;
}
