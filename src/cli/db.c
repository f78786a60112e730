/* db.c — `cruddur db`: the PostgreSQL database named in CONNECTION_URL (PROD_CONNECTION_URL
 * with --prod or a last word prod) — create, drop, schema-load, seed, setup (all three, each
 * only when needed), connect (psql) and sessions. Replaces the bin/db scripts. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/display.h"
#include "base/env.h"

/* The database every command connects to for creating and dropping. */
#define DB_MAINTENANCE "postgres"
/* Sessions listed by `drop` when they block it. */
#define DB_SESSIONS_SHOWN 10

static const char db_usage[] =
    "Usage: cruddur db SUBCOMMAND [OPTIONS]\n"
    "\n"
    "The PostgreSQL database named in CONNECTION_URL (a libpq URI such as\n"
    "postgresql://USER:PASSWORD@HOST:PORT/DBNAME; for the local stack:\n"
    "eval \"$(script/server env)\").\n"
    "\n"
    "Subcommands:\n"
    "  create        create the database (connects to the 'postgres' database of the\n"
    "                same server with the same credentials)\n"
    "  drop          drop the database; asks first unless --yes\n"
    "                  -f, --force  end the other sessions connected to it first\n"
    "                  -y, --yes    do not ask for confirmation\n"
    "  schema-load   load sql/schema.sql (the users table; safe to run again)\n"
    "  seed          insert the sample users of sql/seed.sql (those missing only)\n"
    "  setup         create (when missing) + schema-load + seed, safe to run again\n"
    "  connect       psql on the database (bin/db/connect)\n"
    "  sessions      the sessions connected to the database (bin/db/sessions)\n"
    "  check         list the users rows that break the schema's rules (an older table)\n"
    "\n"
    "Every subcommand takes --prod (or a last word prod, as bin/db/setup prod did): the\n"
    "database of PROD_CONNECTION_URL instead of CONNECTION_URL.\n"
    "\n"
    "Options:\n"
    "  -h, --help    show this help (also: cruddur db SUBCOMMAND --help)\n"
    "\n"
    "Exit status: 0 ok, 1 runtime error, 2 usage error.\n";

static const char db_create_usage[] =
    "Usage: cruddur db create\n"
    "\n"
    "Creates the database named in CONNECTION_URL, connecting to the 'postgres'\n"
    "database of the same server with the same credentials (the role needs CREATEDB).\n"
    "Fails (exit 1) when it already exists; 'cruddur db setup' creates it only when missing.\n"
    "\n"
    "Options:\n"
    "  -h, --help  show this help\n";

static const char db_drop_usage[] =
    "Usage: cruddur db drop [--force] [--yes]\n"
    "\n"
    "Drops the database named in CONNECTION_URL and all its data. While other sessions\n"
    "are connected to it, lists them and stops (exit 1) unless --force.\n"
    "Asks for confirmation on a terminal; without a terminal, --yes is required.\n"
    "\n"
    "Options:\n"
    "  -f, --force  end the other sessions connected to the database, then drop it\n"
    "  -y, --yes    do not ask for confirmation\n"
    "  -h, --help   show this help\n";

static const char db_schema_usage[] =
    "Usage: cruddur db schema-load\n"
    "\n"
    "Loads sql/schema.sql (built in) into the database named in CONNECTION_URL: the users\n"
    "table, created when missing. Safe to run again.\n"
    "\n"
    "Options:\n"
    "  -h, --help  show this help\n";

static const char db_seed_usage[] =
    "Usage: cruddur db seed\n"
    "\n"
    "Inserts the sample users of sql/seed.sql (built in) that are not there yet and says\n"
    "how many were added and how many were already present. Safe to run again.\n"
    "\n"
    "Options:\n"
    "  -h, --help  show this help\n";

static const char db_connect_usage[] =
    "Usage: cruddur db connect [--prod]\n"
    "\n"
    "Runs psql on the database named in CONNECTION_URL (PROD_CONNECTION_URL with --prod).\n"
    "The connection settings reach psql as PG* environment variables, so the password is\n"
    "never on a command line.\n"
    "\n"
    "Options:\n"
    "  --prod      the production database (PROD_CONNECTION_URL)\n"
    "  -h, --help  show this help\n";

static const char db_sessions_usage[] =
    "Usage: cruddur db sessions [--prod]\n"
    "\n"
    "Lists the sessions connected to the database named in CONNECTION_URL (besides this\n"
    "one): process id, user, client address and application, oldest first.\n"
    "\n"
    "Options:\n"
    "  --prod      the production database (PROD_CONNECTION_URL)\n"
    "  -h, --help  show this help\n";

static const char db_check_usage[] =
    "Usage: cruddur db check [--prod]\n"
    "\n"
    "Lists the rows of the users table that break a rule of the schema (sql/schema.sql):\n"
    "a handle outside " USERS_HANDLE_RULE ", an empty\n"
    "or over-long display name or email, a malformed Cognito id. A table written by the\n"
    "original Cruddur (no rules) can hold such rows; the API and CLI refuse to read them.\n"
    "Exit status: 0 when every row passes, 1 when some break a rule (or on an error).\n"
    "\n"
    "Options:\n"
    "  --prod      the production database (PROD_CONNECTION_URL)\n"
    "  -h, --help  show this help\n";

static const char db_setup_usage[] =
    "Usage: cruddur db setup\n"
    "\n"
    "Creates the database named in CONNECTION_URL when it is missing, loads the schema and\n"
    "the sample users: 'create' + 'schema-load' + 'seed' in one idempotent step. With a\n"
    "Cognito pool configured (AWS_COGNITO_USER_POOL_ID, and --prod or a Cognito endpoint\n"
    "override), then 'cruddur cognito sync-user-ids', as the original bin/db/setup did.\n"
    "\n"
    "Options:\n"
    "  -h, --help  show this help\n";

/* Prints e with the next step for the user; returns CLI_FAIL. */
static int db_fail(const char *what, const errinfo *e)
{
    switch (e->code) {
    case ERR_CONFIG:
        return cli_fail("db %s: %s (for the local stack: eval \"$(script/server env)\")", what,
                        e->msg);
    case ERR_IO: return cli_fail("db %s: %s — is the stack up? (script/server)", what, e->msg);
    case ERR_NOTFOUND:
        return cli_fail("db %s: %s (create it: cruddur db create, or cruddur db setup)", what,
                        e->msg);
    default: return cli_fail("db %s: %s", what, e->msg);
    }
}

/* The maintenance database to connect to for creating or dropping dbname. */
static const char *db_maintenance(const char *dbname)
{
    return strcmp(dbname, DB_MAINTENANCE) == 0 ? "template1" : DB_MAINTENANCE;
}

/* --prod: the production database. The commands read CONNECTION_URL (users_open), so it
 * becomes PROD_CONNECTION_URL for this process. CLI_OK or CLI_FAIL after saying why. */
static bool db_prod; /* --prod was given: real AWS is meant */

static int db_use_prod(const char *cmd)
{
    db_prod = true;
    const char *u = getenv("PROD_CONNECTION_URL");
    if (!u || !*u)
        return cli_fail("%s --prod: PROD_CONNECTION_URL is not set (the production "
                        "database's libpq URI, as the original bin/db scripts read it)",
                        cmd);
    if (setenv("CONNECTION_URL", u, 1) != 0)
        return cli_fail("%s --prod: out of memory", cmd);
    return CLI_OK;
}

/* Parses a subcommand's options (--help and --prod, plus --force/--yes for drop: force NULL
 * for the others). CLI_OK, CLI_HELP after printing the help, or CLI_USAGE after printing
 * why; CLI_FAIL when --prod has no PROD_CONNECTION_URL. */
static int db_options(const char *cmd, const char *usage, int argc, char **argv, bool *force,
                      bool *yes)
{
    static const struct option plain[] = {
        { "prod", no_argument, NULL, 'p' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    static const struct option drop[] = {
        { "force", no_argument, NULL, 'f' },
        { "yes", no_argument, NULL, 'y' },
        { "prod", no_argument, NULL, 'p' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    bool prod = false;
    cli_positional_prod(argc, argv, 0);
    bool is_drop = force != NULL;
    int c;
    optind = 0; /* glibc: a full re-initialisation (cli_db parsed argv before) */
    opterr = 0;
    while ((c = getopt_long(argc, argv, is_drop ? "+fyh" : "+h", is_drop ? drop : plain, NULL)) !=
           -1) {
        switch (c) {
        case 'f': *force = true; break;
        case 'y': *yes = true; break;
        case 'p': prod = true; break;
        case 'h': fputs(usage, stdout); return CLI_HELP;
        default: return cli_usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    return prod ? db_use_prod(cmd) : CLI_OK;
}

/* The database CONNECTION_URL names and a connection to the maintenance database of its
 * server; NULL after printing why. */
static users *db_open_maintenance(const char *what, char *dbname, size_t n)
{
    errinfo e;
    if (users_conninfo_db(NULL, dbname, n, &e) != 0) {
        db_fail(what, &e);
        return NULL;
    }
    users *m = users_open_db(NULL, db_maintenance(dbname), &e);
    if (!m)
        db_fail(what, &e);
    return m;
}

static int db_create(void)
{
    char name[128];
    users *m = db_open_maintenance("create", name, sizeof name);
    if (!m)
        return CLI_FAIL;
    errinfo e;
    users_db_status rc = users_create_db(m, name, &e);
    if (rc == USERS_DB_DONE)
        printf("database %s created on %s\n", name, users_server(m));
    else if (rc == USERS_DB_ALREADY)
        cli_fail("db create: database %s already exists on %s (keep it and load what is "
                 "missing: cruddur db setup; start over: cruddur db drop)",
                 name, users_server(m));
    else
        db_fail("create", &e);
    users_close(m);
    return rc == USERS_DB_DONE ? CLI_OK : CLI_FAIL;
}

/* psql on the database, its settings in PG* variables (never on the command line). */
static int db_connect(void)
{
    errinfo e;
    if (users_conninfo_to_env(NULL, &e) != 0)
        return db_fail("connect", &e);
    unsetenv("CONNECTION_URL");
    unsetenv("PROD_CONNECTION_URL");
    fflush(stdout);
    execlp("psql", "psql", (char *)NULL);
    return cli_fail("db connect: cannot run psql: %s (Debian: apt-get install postgresql-client)",
                    strerror(errno));
}

#define DB_SESSIONS_LISTED 1000

static int db_sessions(void)
{
    char name[128];
    users *m = db_open_maintenance("sessions", name, sizeof name);
    if (!m)
        return CLI_FAIL;
    users_session *s = calloc(DB_SESSIONS_LISTED, sizeof *s);
    size_t count = 0;
    errinfo e;
    int status = CLI_FAIL;
    if (!s) {
        cli_fail("db sessions: out of memory");
    } else if (users_db_sessions(m, name, s, DB_SESSIONS_LISTED, &count, &e) != 0) {
        db_fail("sessions", &e);
    } else {
        size_t shown = count < DB_SESSIONS_LISTED ? count : DB_SESSIONS_LISTED;
        printf("%zu session%s connected to %s on %s%s\n", count, count == 1 ? "" : "s", name,
               users_server(m), count ? ":" : "");
        if (count)
            printf("%-8s %-20s %-20s %s\n", "PID", "USER", "CLIENT", "APPLICATION");
        for (size_t i = 0; i < shown; i++)
            printf("%-8ld %-20s %-20s %s\n", s[i].pid, s[i].user[0] ? s[i].user : "?", s[i].client,
                   s[i].application_name[0] ? s[i].application_name : "(none)");
        if (count > shown)
            printf("... and %zu more\n", count - shown);
        status = CLI_OK;
    }
    free(s);
    users_close(m);
    return status;
}

#define DB_CHECK_LISTED 1000

static int db_check(void)
{
    errinfo e;
    users *u = users_open(NULL, &e);
    if (!u)
        return db_fail("check", &e);
    users_broken *b = calloc(DB_CHECK_LISTED, sizeof *b);
    size_t count = 0;
    int status = CLI_FAIL;
    char name[128];
    if (users_conninfo_db(NULL, name, sizeof name, &e) != 0)
        snprintf(name, sizeof name, "?");
    if (!b) {
        cli_fail("db check: out of memory");
    } else if (users_check_rows(u, b, DB_CHECK_LISTED, &count, &e) != 0) {
        db_fail("check", &e);
    } else if (count == 0) {
        printf("every row of users in %s on %s passes the schema's rules\n", name, users_server(u));
        status = CLI_OK;
    } else {
        size_t shown = count < DB_CHECK_LISTED ? count : DB_CHECK_LISTED;
        printf("%zu row%s of users in %s on %s break%s a rule of the schema:\n", count,
               count == 1 ? "" : "s", name, users_server(u), count == 1 ? "s" : "");
        printf("%-36s  %-16s  %s\n", "UUID", "RULE", "HANDLE");
        for (size_t i = 0; i < shown; i++) {
            buf h;
            buf_init(&h, 0);
            cli_display_fit(&h, b[i].handle, 60);
            printf("%-36s  %-16s  %s\n", b[i].uuid, b[i].rule, buf_cstr(&h) ? buf_cstr(&h) : "");
            buf_cleanup(&h);
        }
        printf("The API and the CLI refuse these users; fix or remove the rows "
               "(handles: " USERS_HANDLE_RULE ").\n");
        status = CLI_FAIL;
    }
    free(b);
    users_close(u);
    return status;
}

/* Prints the sessions blocking a drop of name. */
static void db_print_sessions(const users_session *s, size_t shown, size_t count, const char *name)
{
    fprintf(stderr, "cruddur: db drop: database %s has %zu other session%s connected:\n", name,
            count, count == 1 ? "" : "s");
    for (size_t i = 0; i < shown; i++)
        fprintf(stderr, "  pid %ld  application '%s'  from %s  user %s\n", s[i].pid,
                s[i].application_name[0] ? s[i].application_name : "(none)", s[i].client,
                s[i].user[0] ? s[i].user : "?");
    if (count > shown)
        fprintf(stderr, "  ... and %zu more\n", count - shown);
    fputs("Close them (stop the API: script/server stop), or end them and drop with:\n"
          "  cruddur db drop --force\n",
          stderr);
}

static int db_drop(bool force, bool yes)
{
    /* refuse before touching anything when nobody can be asked */
    if (!yes && isatty(STDIN_FILENO) != 1)
        return cli_fail("db drop: refusing to drop without confirmation: no terminal to ask "
                        "on (pass --yes to drop anyway)");
    char name[128];
    users *m = db_open_maintenance("drop", name, sizeof name);
    if (!m)
        return CLI_FAIL;
    int status = CLI_FAIL;
    errinfo e;
    users_session s[DB_SESSIONS_SHOWN];
    size_t count = 0;
    if (users_db_sessions(m, name, s, DB_SESSIONS_SHOWN, &count, &e) != 0) {
        db_fail("drop", &e);
        goto out;
    }
    size_t shown = count < DB_SESSIONS_SHOWN ? count : DB_SESSIONS_SHOWN;
    if (count > 0 && !force) {
        db_print_sessions(s, shown, count, name);
        goto out;
    }
    if (!yes) {
        char q[320];
        snprintf(q, sizeof q, "Drop database %s on %s and all its data%s?", name, users_server(m),
                 count > 0 ? ", ending the sessions connected to it" : "");
        if (!cli_confirm(q)) {
            fputs("cruddur: db drop: not confirmed; nothing dropped\n", stderr);
            goto out;
        }
    }
    /* a session can connect between ending them and the drop: end and try once more */
    for (int attempt = 0;; attempt++) {
        size_t ended = 0;
        if (force) {
            if (users_end_sessions(m, name, &ended, &e) != 0) {
                db_fail("drop", &e);
                goto out;
            }
            if (ended > 0)
                printf("ended %zu session%s connected to %s\n", ended, ended == 1 ? "" : "s", name);
        }
        users_db_status rc = users_drop_db(m, name, &e);
        if (rc == USERS_DB_DONE) {
            printf("database %s dropped on %s\n", name, users_server(m));
            status = CLI_OK;
        } else if (rc == USERS_DB_ALREADY) {
            printf("database %s does not exist on %s; nothing to drop\n", name, users_server(m));
            status = CLI_OK;
        } else if (rc == USERS_DB_IN_USE && force && attempt == 0) {
            continue;
        } else if (rc == USERS_DB_IN_USE) {
            cli_fail("db drop: %s (%s)", e.msg,
                     force ? "they reconnect as soon as they are ended: stop them first"
                           : "end them and drop: cruddur db drop --force");
        } else {
            db_fail("drop", &e);
        }
        break;
    }
out:
    users_close(m);
    return status;
}

/* Opens the database CONNECTION_URL names; NULL after printing why. */
static users *db_open(const char *what)
{
    errinfo e;
    users *u = users_open(NULL, &e);
    if (!u)
        db_fail(what, &e);
    return u;
}

static int db_schema_load(void)
{
    users *u = db_open("schema-load");
    if (!u)
        return CLI_FAIL;
    errinfo e;
    int rc = users_run_file(u, "sql/schema.sql", &e);
    if (rc == 0)
        printf("schema loaded (sql/schema.sql) into %s\n", users_server(u));
    else
        db_fail("schema-load", &e);
    users_close(u);
    return rc == 0 ? CLI_OK : CLI_FAIL;
}

static int db_seed(void)
{
    users *u = db_open("seed");
    if (!u)
        return CLI_FAIL;
    errinfo e;
    long added = 0, present = 0;
    int rc = users_seed(u, &added, &present, &e);
    if (rc == 0)
        printf("%ld user%s added, %ld already present\n", added, added == 1 ? "" : "s", present);
    else
        db_fail("seed", &e);
    users_close(u);
    return rc == 0 ? CLI_OK : CLI_FAIL;
}

/* Creates the database when the first connection fails and the server says it is
 * missing; *u is the connection afterwards. *created tells whether it was made now. */
static int db_setup_open(users **u, bool *created)
{
    errinfo e;
    *created = false;
    *u = users_open(NULL, &e);
    if (*u)
        return CLI_OK;
    if (e.code == ERR_CONFIG || e.code == ERR_IO)
        return db_fail("setup", &e);
    /* the database may be missing (whatever language the server answers in): ask the
     * maintenance database; when it cannot help, the first error is the one to show */
    char name[128];
    errinfo me;
    if (users_conninfo_db(NULL, name, sizeof name, &me) != 0)
        return db_fail("setup", &me);
    users *m = users_open_db(NULL, db_maintenance(name), &me);
    if (!m)
        return db_fail("setup", &e);
    users_db_status rc = users_create_db(m, name, &me);
    users_close(m);
    if (rc != USERS_DB_DONE)
        return db_fail("setup", rc == USERS_DB_ALREADY ? &e : &me);
    *created = true;
    *u = users_open(NULL, &e);
    return *u ? CLI_OK : db_fail("setup", &e);
}

int cli_db_setup_step(void)
{
    users *u = NULL;
    bool created = false;
    int rc = db_setup_open(&u, &created);
    if (rc != CLI_OK)
        return rc;
    errinfo e;
    long added = 0, present = 0;
    if (users_run_file(u, "sql/schema.sql", &e) != 0) {
        rc = db_fail("setup", &e);
    } else if (users_seed(u, &added, &present, &e) != 0) {
        rc = db_fail("setup", &e);
    } else {
        char name[128];
        if (users_conninfo_db(NULL, name, sizeof name, NULL) != 0)
            snprintf(name, sizeof name, "?");
        printf("postgres: database %s %s on %s; schema ok; %ld user%s added (%ld present)\n", name,
               created ? "created" : "exists", users_server(u), added, added == 1 ? "" : "s",
               present);
    }
    users_close(u);
    /* As the original's bin/db/setup: the users' Cognito ids, when a pool is configured —
     * with --prod (real Cognito), or a Cognito endpoint override (a local stand-in); a
     * local stack never sends its made-up pool to AWS. */
    if (rc == CLI_OK && env_str("AWS_COGNITO_USER_POOL_ID") &&
        (db_prod || env_str("AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER")))
        rc = cli_cognito_sync_ids();
    return rc;
}

int cli_db(int argc, char **argv)
{
    static const struct option opts[] = {
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    /* run NULL: drop, the one with --force and --yes */
    static const struct {
        const char *name, *cmd, *usage;
        int (*run)(void);
    } subs[] = {
        { "create", "db create", db_create_usage, db_create },
        { "drop", "db drop", db_drop_usage, NULL },
        { "schema-load", "db schema-load", db_schema_usage, db_schema_load },
        { "seed", "db seed", db_seed_usage, db_seed },
        { "setup", "db setup", db_setup_usage, cli_db_setup_step },
        { "connect", "db connect", db_connect_usage, db_connect },
        { "check", "db check", db_check_usage, db_check },
        { "sessions", "db sessions", db_sessions_usage, db_sessions },
    };
    int c;
    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
        if (c == 'h') {
            fputs(db_usage, stdout);
            return CLI_OK;
        }
        return cli_usage_error("db", "unknown option '%s'", argv[optind - 1]);
    }
    if (optind >= argc)
        return cli_usage_error("db", "which subcommand? (create, drop, schema-load, seed, "
                                     "setup, connect, sessions, check)");
    const char *sub = argv[optind];
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++) {
        if (strcmp(sub, subs[i].name) != 0)
            continue;
        bool drop = !subs[i].run, force = false, yes = false;
        int rc = db_options(subs[i].cmd, subs[i].usage, argc - optind, argv + optind,
                            drop ? &force : NULL, drop ? &yes : NULL);
        if (rc != CLI_OK)
            return cli_exit_status(rc);
        return drop ? db_drop(force, yes) : subs[i].run();
    }
    return cli_usage_error("db",
                           "unknown subcommand '%s' (create, drop, schema-load, seed, "
                           "setup, connect, sessions, check)",
                           sub);
}
