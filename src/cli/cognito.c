/* cognito.c — `cruddur cognito`: list the users of the Cognito user pool, and write each
 * user's sub into users.cognito_user_id in PostgreSQL (the original bin/cognito/list-users
 * and bin/db/update_cognito_user_ids). */
#include "config.h"
#include "cli/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "aws/cognito.h"
#include "base/env.h"
#include "base/utf8.h"

static const char cli_cognito_usage[] =
    "Usage: cruddur cognito COMMAND [OPTIONS]\n"
    "\n"
    "The Cognito user pool behind Cruddur's sign-in.\n"
    "\n"
    "Commands:\n"
    "  list-users      list every user of the pool (all pages): handle, sub, email, status\n"
    "  sync-user-ids   write each user's sub into users.cognito_user_id in PostgreSQL,\n"
    "                  matching Cognito preferred_username to users.handle\n"
    "  sync-users      the same, and insert the users PostgreSQL does not have yet (the\n"
    "                  original's post-confirmation Lambda, for a whole pool at once)\n"
    "\n"
    "Environment:\n"
    "  AWS_COGNITO_USER_POOL_ID  the user pool id, <region>_<id> (required)\n"
    "  AWS_REGION, AWS_DEFAULT_REGION\n"
    "                            the region (default: the pool id's region)\n"
    "  AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER\n"
    "                            another Cognito endpoint (e.g. a local stand-in); the\n"
    "                            global AWS_ENDPOINT_URL is the DynamoDB endpoint in\n"
    "                            Cruddur and is never used for Cognito\n"
    "  AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_PROFILE\n"
    "                            credentials (any source the AWS SDKs use)\n"
    "  CONNECTION_URL            PostgreSQL, for sync-user-ids\n"
    "\n"
    "Run 'cruddur cognito COMMAND --help' for a command's options.\n"
    "Exit status: 0 ok, 1 runtime error, 2 usage error.\n";

static const char cli_cognito_list_usage[] =
    "Usage: cruddur cognito list-users [--json]\n"
    "\n"
    "Lists every user of the pool AWS_COGNITO_USER_POOL_ID (ListUsers, all pages) as a\n"
    "table: HANDLE (preferred_username, '-' when none), SUB, EMAIL, STATUS (with\n"
    "'disabled' for a disabled user). A user the service describes badly (no sub, a\n"
    "field of the wrong type or too long) is left out with a warning on stderr.\n"
    "\n"
    "Options:\n"
    "  --json      print {\"pool_id\", \"users\": [{\"username\", \"sub\", "
    "\"preferred_username\",\n"
    "              \"email\", \"name\", \"status\", \"enabled\"}], \"skipped\": [{\"username\",\n"
    "              \"reason\"}]} instead (absent attributes are null)\n"
    "  -h, --help  show this help\n"
    "\n"
    "Environment: see 'cruddur cognito --help'.\n"
    "Exit status: 0 ok, 1 runtime error (unreachable endpoint, service error, missing\n"
    "AWS_COGNITO_USER_POOL_ID), 2 usage error (unknown option, malformed pool id).\n";

static const char cli_cognito_sync_usage[] =
    "Usage: cruddur cognito sync-user-ids [--dry-run]\n"
    "\n"
    "For every user of the pool AWS_COGNITO_USER_POOL_ID with a preferred_username, writes\n"
    "the user's sub into users.cognito_user_id of the PostgreSQL user (CONNECTION_URL)\n"
    "whose handle equals the preferred_username. Prints one line per Cognito user:\n"
    "  updated         the sub was written (\"would update\" with --dry-run)\n"
    "  unchanged       the row already had this sub\n"
    "  no such handle  no PostgreSQL user has this handle (reported, not an error)\n"
    "  no handle       the Cognito user has no preferred_username\n"
    "  skipped         the service described the user badly (e.g. no sub)\n"
    "  ambiguous       several Cognito users have this preferred_username (an error)\n"
    "  conflict        another PostgreSQL user already holds this sub (an error)\n"
    "and a summary.\n"
    "\n"
    "Options:\n"
    "  --dry-run   report what would change; change nothing\n"
    "  -h, --help  show this help\n"
    "\n"
    "Environment: see 'cruddur cognito --help'.\n"
    "Exit status: 0 ok (also when some Cognito users have no PostgreSQL user), 1 runtime\n"
    "error (unreachable endpoint or database, service error, a conflict or failed update,\n"
    "missing AWS_COGNITO_USER_POOL_ID), 2 usage error (unknown option, malformed pool id).\n";

static const char cli_cognito_sync_users_usage[] =
    "Usage: cruddur cognito sync-users [--dry-run]\n"
    "\n"
    "As sync-user-ids, and a Cognito user (enabled, confirmed) whose preferred_username no\n"
    "PostgreSQL user has as a handle is inserted: handle = preferred_username, display name\n"
    "= name (else the handle), email, cognito_user_id = sub. Lines as for sync-user-ids,\n"
    "plus:\n"
    "  created         the user was inserted (\"would create\" with --dry-run)\n"
    "  not created     disabled or not confirmed, a handle outside the rule, or no email\n"
    "The API does the same for one user on that user's first request (just in time).\n"
    "\n"
    "Options:\n"
    "  --dry-run   report what would change; change nothing\n"
    "  -h, --help  show this help\n"
    "\n"
    "Environment: see 'cruddur cognito --help'.\n"
    "Exit status: as for sync-user-ids.\n";

static bool cli_cognito_is_help(const char *a)
{
    return strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0;
}

/* Parses the options of a subcommand: flag (when not NULL) sets *flag_set.
 * CLI_OK, CLI_USAGE (after printing why), or CLI_HELP after printing the help. */
static int cli_cognito_options(int argc, char **argv, const char *cmd, const char *usage,
                               const char *flag, bool *flag_set)
{
    for (int i = 1; i < argc; i++) {
        if (cli_cognito_is_help(argv[i])) {
            fputs(usage, stdout);
            return CLI_HELP;
        }
        if (flag && strcmp(argv[i], flag) == 0)
            *flag_set = true;
        else if (argv[i][0] == '-')
            return cli_usage_error(cmd, "unknown option '%.64s'", argv[i]);
        else
            return cli_usage_error(cmd, "unexpected argument '%.64s'", argv[i]);
    }
    return CLI_OK;
}

/* Opens the client and reads every user, printing why when it cannot; returns an enum
 * cli_status. */
static int cli_cognito_fetch(const char *cmd, cognito_user_list *l, cognito **out)
{
    errinfo e;
    cognito *c = cognito_new(NULL, &e);
    *out = NULL;
    if (!c) {
        if (e.code == ERR_INVALID)
            return cli_usage_error(cmd, "%s", e.msg);
        return cli_fail("%s", e.msg);
    }
    aws_error err;
    if (cognito_list_users(c, l, &err) != 0) {
        int rc;
        if (err.fail == HTTP_FAIL_CONNECT || err.fail == HTTP_FAIL_TIMEOUT)
            rc = cli_fail("Cognito not reachable at %s — check %s (%s)", cognito_endpoint(c),
                          env_str("AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER")
                              ? "AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER"
                              : "the network and AWS_REGION",
                          err.info.msg);
        else if (aws_error_is(&err, "ResourceNotFoundException"))
            rc = cli_fail("%s (check AWS_COGNITO_USER_POOL_ID=%s and that region %s is the "
                          "pool's)",
                          err.info.msg, cognito_pool_id(c), cognito_region(c));
        else if (aws_error_is(&err, "NotAuthorizedException") ||
                 aws_error_is(&err, "UnrecognizedClientException") ||
                 aws_error_is(&err, "AccessDeniedException"))
            rc = cli_fail("%s (check the AWS credentials; they need "
                          "cognito-idp:ListUsers on the pool)",
                          err.info.msg);
        else
            rc = cli_fail("%s", err.info.msg);
        cognito_free(c);
        return rc;
    }
    *out = c;
    return CLI_OK;
}

static const char *cli_cognito_skip_name(const cognito_skip *s)
{
    return s->username[0] ? s->username : "(no usable Username)";
}

/* Warns on stderr about every user the service described badly. */
static void cli_cognito_warn_skipped(const cognito_user_list *l)
{
    for (size_t i = 0; i < l->nskipped; i++)
        fprintf(stderr, "cruddur: warning: Cognito user '%s' left out: %s\n",
                cli_cognito_skip_name(&l->skipped[i]), l->skipped[i].reason);
}

/* ---- list-users ----------------------------------------------------------------------------- */

/* Display width of UTF-8 text: one column per code point (good enough for a table). */
static int cli_cognito_width(const char *s)
{
    return (int)utf8_count(s, strlen(s));
}

static void cli_cognito_cell(const char *s, int width, bool last)
{
    fputs(s, stdout);
    if (last)
        return;
    for (int pad = width - cli_cognito_width(s) + 2; pad > 0; pad--)
        fputc(' ', stdout);
}

static json_t *cli_cognito_opt_string(const char *s)
{
    return s[0] ? json_string(s) : json_null();
}

static int cli_cognito_print_json(const cognito *c, const cognito_user_list *l)
{
    json_t *arr = json_array();
    json_t *skipped = json_array();
    json_t *doc = json_pack("{s:s, s:o, s:o}", "pool_id", cognito_pool_id(c), "users", arr,
                            "skipped", skipped);
    if (!doc)
        return cli_nomem();
    int bad = 0;
    for (size_t i = 0; i < l->n; i++) {
        const cognito_user *u = &l->users[i];
        bad |= json_array_append_new(
            arr,
            json_pack("{s:s, s:s, s:o, s:o, s:o, s:o, s:b}", "username", u->username, "sub", u->sub,
                      "preferred_username", cli_cognito_opt_string(u->preferred_username), "email",
                      cli_cognito_opt_string(u->email), "name", cli_cognito_opt_string(u->name),
                      "status", cli_cognito_opt_string(u->status), "enabled", u->enabled));
    }
    for (size_t i = 0; i < l->nskipped; i++)
        bad |=
            json_array_append_new(skipped, json_pack("{s:o, s:s}", "username",
                                                     cli_cognito_opt_string(l->skipped[i].username),
                                                     "reason", l->skipped[i].reason));
    if (bad) {
        json_decref(doc);
        return cli_nomem();
    }
    bad = json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_ENSURE_ASCII);
    json_decref(doc);
    if (bad)
        return cli_fail("cannot write the output");
    fputc('\n', stdout);
    return CLI_OK;
}

static int cli_cognito_print_table(const cognito *c, const cognito_user_list *l)
{
    static const char *const head[4] = { "HANDLE", "SUB", "EMAIL", "STATUS" };
    int w[4];
    for (int k = 0; k < 4; k++)
        w[k] = cli_cognito_width(head[k]);
    for (size_t i = 0; i < l->n; i++) {
        const cognito_user *u = &l->users[i];
        const char *cells[3] = { u->preferred_username[0] ? u->preferred_username : "-", u->sub,
                                 u->email[0] ? u->email : "-" };
        for (int k = 0; k < 3; k++)
            if (cli_cognito_width(cells[k]) > w[k])
                w[k] = cli_cognito_width(cells[k]);
    }
    for (int k = 0; k < 4; k++)
        cli_cognito_cell(head[k], w[k], k == 3);
    fputc('\n', stdout);
    for (size_t i = 0; i < l->n; i++) {
        const cognito_user *u = &l->users[i];
        cli_cognito_cell(u->preferred_username[0] ? u->preferred_username : "-", w[0], false);
        cli_cognito_cell(u->sub, w[1], false);
        cli_cognito_cell(u->email[0] ? u->email : "-", w[2], false);
        printf("%s%s\n", u->status[0] ? u->status : "-", u->enabled ? "" : " (disabled)");
    }
    printf("%zu user%s in pool %s", l->n, l->n == 1 ? "" : "s", cognito_pool_id(c));
    if (l->nskipped)
        printf(" (%zu more left out: see the warnings)", l->nskipped);
    fputc('\n', stdout);
    return CLI_OK;
}

static int cli_cognito_list(int argc, char **argv)
{
    static const char cmd[] = "cognito list-users";
    bool json = false;
    int rc = cli_cognito_options(argc, argv, cmd, cli_cognito_list_usage, "--json", &json);
    if (rc != CLI_OK)
        return cli_exit_status(rc);
    cognito_user_list l;
    cognito_user_list_init(&l);
    cognito *c = NULL;
    rc = cli_cognito_fetch(cmd, &l, &c);
    if (rc == CLI_OK) {
        cli_cognito_warn_skipped(&l);
        rc = json ? cli_cognito_print_json(c, &l) : cli_cognito_print_table(c, &l);
    }
    if (rc == CLI_OK && (fflush(stdout) != 0 || ferror(stdout)))
        rc = cli_fail("cannot write the output");
    cognito_free(c);
    cognito_user_list_cleanup(&l);
    return rc;
}

/* ---- sync-user-ids -------------------------------------------------------------------------- */

/* The start of a report line: what happened, then the handle padded to width. */
static void cli_cognito_head(const char *what, const char *name, int width)
{
    printf("%-14s  ", what);
    cli_cognito_cell(name, width, false);
}

/* qsort order of users by preferred_username. */
static int cli_cognito_by_handle(const void *a, const void *b)
{
    return strcmp((*(const cognito_user *const *)a)->preferred_username,
                  (*(const cognito_user *const *)b)->preferred_username);
}

/* Sets dup[i] for every user whose preferred_username another user has too (which of them
 * owns the handle is not for this command to guess). -1 on ENOMEM. */
static int cli_cognito_find_duplicates(const cognito_user_list *l, bool *dup)
{
    const cognito_user **by = calloc(l->n ? l->n : 1, sizeof *by);
    if (!by)
        return -1;
    for (size_t i = 0; i < l->n; i++)
        by[i] = &l->users[i];
    qsort(by, l->n, sizeof *by, cli_cognito_by_handle);
    for (size_t i = 1; i < l->n; i++)
        if (by[i]->preferred_username[0] &&
            strcmp(by[i]->preferred_username, by[i - 1]->preferred_username) == 0) {
            dup[by[i] - l->users] = true;
            dup[by[i - 1] - l->users] = true;
        }
    free(by);
    return 0;
}

typedef struct cli_cognito_tally {
    size_t updated, unchanged, no_user, no_handle, skipped, failed, created, not_created;
} cli_cognito_tally;

/* The line of a write to PostgreSQL that failed with e (doing: "inserting", "updating"):
 * CLI_FAIL when the database is gone, else CLI_OK with the failure counted in t->failed. */
static int cli_cognito_write_failed(const errinfo *e, const char *doing, const char *h, int width,
                                    cli_cognito_tally *t)
{
    if (e->code == ERR_IO)
        return cli_fail("PostgreSQL: %s %s: %s", doing, h, e->msg);
    t->failed++;
    cli_cognito_head("failed", h, width);
    printf("%s\n", e->msg);
    return CLI_OK;
}

/* sync-users: inserts the Cognito user cu that no PostgreSQL user stands for; prints its
 * line. CLI_OK, or CLI_FAIL when the database is gone. */
static int cli_cognito_create(users *db, const cognito_user *cu, bool dry_run, int width,
                              cli_cognito_tally *t)
{
    const char *h = cu->preferred_username;
    const char *why = !cu->enabled ? "the Cognito user is disabled"
                      : (cu->status[0] && strcmp(cu->status, "CONFIRMED") != 0 &&
                         strcmp(cu->status, "EXTERNAL_PROVIDER") != 0)
                          ? "the Cognito user is not confirmed"
                      : !users_handle_valid(h, strlen(h)) ? "preferred_username is not a handle"
                      : !cu->email[0]                     ? "the Cognito user has no email"
                                                          : NULL;
    if (why) {
        t->not_created++;
        cli_cognito_head("not created", h, width);
        printf("%s (Cognito user '%s')\n", why, cu->username);
        return CLI_OK;
    }
    if (!dry_run) {
        user made;
        errinfo e;
        if (users_provision(db, h, cu->name[0] ? cu->name : h, cu->email, cu->sub, &made, &e) != 0)
            return cli_cognito_write_failed(&e, "inserting", h, width, t);
    }
    t->created++;
    cli_cognito_head(dry_run ? "would create" : "created", h, width);
    printf("sub %s\n", cu->sub);
    return CLI_OK;
}

/* Syncs one Cognito user (dup: its handle is not unique in the pool); prints its line.
 * CLI_OK, or CLI_FAIL when the database is gone (the caller stops). An ambiguous handle, a
 * conflict or a failed update is counted in t->failed. */
static int cli_cognito_sync_one(users *db, const cognito_user *cu, bool dup, bool dry_run,
                                bool create, int width, cli_cognito_tally *t)
{
    const char *h = cu->preferred_username;
    if (!h[0]) {
        t->no_handle++;
        cli_cognito_head("no handle", "-", width);
        printf("Cognito user '%s' has no preferred_username\n", cu->username);
        return CLI_OK;
    }
    if (dup) {
        t->failed++;
        cli_cognito_head("ambiguous", h, width);
        printf("another Cognito user has this preferred_username too (this one: '%s')\n",
               cu->username);
        return CLI_OK;
    }
    user pg;
    errinfo e;
    if (users_by_handle(db, h, &pg, &e) != 0) {
        if (create && e.code == ERR_NOTFOUND)
            return cli_cognito_create(db, cu, dry_run, width, t);
        if (e.code == ERR_NOTFOUND || e.code == ERR_INVALID) {
            t->no_user++;
            cli_cognito_head("no such handle", h, width);
            printf("no PostgreSQL user has this handle (Cognito user '%s')\n", cu->username);
            return CLI_OK;
        }
        return cli_fail("PostgreSQL: looking up handle %s: %s", h, e.msg);
    }
    if (strcmp(pg.cognito_user_id, cu->sub) == 0) {
        t->unchanged++;
        cli_cognito_head("unchanged", h, width);
        printf("sub %s\n", cu->sub);
        return CLI_OK;
    }
    user holder;
    if (users_by_cognito_sub(db, cu->sub, &holder, &e) == 0) {
        t->failed++;
        cli_cognito_head("conflict", h, width);
        printf("sub %s already belongs to PostgreSQL user %s — clear that row's "
               "cognito_user_id first\n",
               cu->sub, holder.handle);
        return CLI_OK;
    }
    if (e.code != ERR_NOTFOUND && e.code != ERR_INVALID)
        return cli_fail("PostgreSQL: looking up sub %s: %s", cu->sub, e.msg);
    if (!dry_run && users_set_cognito_sub(db, h, cu->sub, &e) != 0)
        return cli_cognito_write_failed(&e, "updating", h, width, t);
    t->updated++;
    cli_cognito_head(dry_run ? "would update" : "updated", h, width);
    printf("sub %s (was %s)\n", cu->sub, pg.cognito_user_id[0] ? pg.cognito_user_id : "empty");
    return CLI_OK;
}

static int cli_cognito_sync(int argc, char **argv, bool create)
{
    const char *cmd = create ? "cognito sync-users" : "cognito sync-user-ids";
    bool dry_run = false;
    int rc = cli_cognito_options(argc, argv, cmd,
                                 create ? cli_cognito_sync_users_usage : cli_cognito_sync_usage,
                                 "--dry-run", &dry_run);
    if (rc != CLI_OK)
        return cli_exit_status(rc);
    cognito_user_list l;
    cognito_user_list_init(&l);
    cognito *c = NULL;
    users *db = NULL;
    bool *dup = NULL;
    cli_cognito_tally t = { 0 };
    if ((rc = cli_cognito_fetch(cmd, &l, &c)) != CLI_OK)
        goto out;
    if (!(dup = calloc(l.n ? l.n : 1, sizeof *dup)) || cli_cognito_find_duplicates(&l, dup) != 0) {
        rc = cli_nomem();
        goto out;
    }
    if (!(db = cli_users_open())) {
        rc = CLI_FAIL;
        goto out;
    }
    int width = 1;
    for (size_t i = 0; i < l.n; i++)
        if (cli_cognito_width(l.users[i].preferred_username) > width)
            width = cli_cognito_width(l.users[i].preferred_username);
    for (size_t i = 0; i < l.nskipped; i++)
        if (cli_cognito_width(cli_cognito_skip_name(&l.skipped[i])) > width)
            width = cli_cognito_width(cli_cognito_skip_name(&l.skipped[i]));
    for (size_t i = 0; i < l.n && rc == CLI_OK; i++)
        rc = cli_cognito_sync_one(db, &l.users[i], dup[i], dry_run, create, width, &t);
    if (rc != CLI_OK)
        goto out;
    for (size_t i = 0; i < l.nskipped; i++) {
        t.skipped++;
        cli_cognito_head("skipped", cli_cognito_skip_name(&l.skipped[i]), width);
        printf("%s\n", l.skipped[i].reason);
    }
    if (create)
        printf("%s%zu %s, %zu not created, ", dry_run ? "dry run: " : "", t.created,
               dry_run ? "would be created" : "created", t.not_created);
    printf("%s%zu %s, %zu unchanged, %zu without a PostgreSQL user, %zu without a handle, "
           "%zu skipped, %zu failed (pool %s)\n",
           dry_run && !create ? "dry run: " : "", t.updated,
           dry_run ? "would be updated" : "updated", t.unchanged, t.no_user, t.no_handle, t.skipped,
           t.failed, cognito_pool_id(c));
    if (dry_run)
        printf("dry run: nothing was changed\n");
    if (t.failed)
        rc = cli_fail("%zu Cognito user%s could not be synced (see above)", t.failed,
                      t.failed == 1 ? "" : "s");
out:
    if (fflush(stdout) != 0 && rc == CLI_OK)
        rc = cli_fail("cannot write the output");
    free(dup);
    users_close(db);
    cognito_free(c);
    cognito_user_list_cleanup(&l);
    return rc;
}

int cli_cognito_sync_ids(void)
{
    char *argv[] = { (char *)"sync-user-ids", NULL };
    printf("cognito: the users' Cognito ids (pool %s)\n", env_str("AWS_COGNITO_USER_POOL_ID"));
    return cli_cognito_sync(1, argv, false);
}

/* ---- the group ------------------------------------------------------------------------------ */

int cli_cognito(int argc, char **argv)
{
    if (argc < 2)
        return cli_usage_error("cognito", "which command? list-users, sync-user-ids or sync-users");
    const char *sub = argv[1];
    if (cli_cognito_is_help(sub) || strcmp(sub, "help") == 0)
        return fputs(cli_cognito_usage, stdout), CLI_OK;
    if (strcmp(sub, "list-users") == 0)
        return cli_cognito_list(argc - 1, argv + 1);
    if (strcmp(sub, "sync-user-ids") == 0)
        return cli_cognito_sync(argc - 1, argv + 1, false);
    if (strcmp(sub, "sync-users") == 0)
        return cli_cognito_sync(argc - 1, argv + 1, true);
    return cli_usage_error("cognito",
                           "unknown command '%.64s' (list-users, sync-user-ids, sync-users)", sub);
}
