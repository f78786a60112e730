/* users.h — the Postgres side: one libpq connection, the users table, the SQL from sql/
 * (built in). Every query is parameterised; no SQL is written in C strings. */
#ifndef CR_USERS_H
#define CR_USERS_H

#include <stdbool.h>
#include <stddef.h>

#include "base/errinfo.h"
#include "base/uuid.h"

/* A handle: 1 to USERS_HANDLE_MAX of the URL-safe characters A-Z a-z 0-9 . _ ~ - (RFC 3986's
 * unreserved set), a superset of what Cognito pools hold as preferred_username for real
 * users ("andrew.brown", "mary-jane"); the same rule is sql/schema.sql's users_handle_format
 * and sql/db/check.sql's. */
#define USERS_HANDLE_MAX 128
#define USERS_HANDLE_RULE "1 to 128 of the letters A-Z a-z, digits and . _ ~ -"

typedef struct user {
    char uuid[UUID_BUF];
    char handle[USERS_HANDLE_MAX + 1];
    char display_name[128];
    char email[256];
    char cognito_user_id[64]; /* "" when not set */
} user;

typedef struct users users;

/* Connects to conninfo (a libpq URI or key=value string; NULL: CONNECTION_URL), with
 * connect_timeout=5 unless it sets one. NULL with e set: ERR_CONFIG when nothing is
 * configured or conninfo does not parse, ERR_IO when the server cannot be reached
 * ("PostgreSQL not reachable at host:port (reason)"), ERR_NOTFOUND when the server says the
 * database does not exist, ERR_SERVICE when it refuses us (e.g. authentication). Messages
 * name host and port, never the password. */
users *users_open(const char *conninfo, errinfo *e);
/* As users_open, but on database dbname of the same server with the same credentials
 * (dbname NULL: the one conninfo names), e.g. "postgres" to create or drop a database. */
users *users_open_db(const char *conninfo, const char *dbname, errinfo *e);
void users_close(users *u); /* accepts NULL */
/* "host:port" of the connection, for messages (no credentials); valid until users_close. */
const char *users_server(const users *u);

/* Whether the n bytes at h are a handle (without '@'): USERS_HANDLE_RULE. Pure. */
bool users_handle_valid(const char *h, size_t n);

/* The user with this handle (without '@'). 0 found, -1 with e: ERR_NOTFOUND when there is
 * none, ERR_INVALID for a malformed handle (checked before any query: users_handle_valid),
 * ERR_IO when the connection failed. A connection found broken is reset once and the
 * query re-run. *out is written only on success. */
int users_by_handle(users *u, const char *handle, user *out, errinfo *e);
/* The user with this Cognito sub ([A-Za-z0-9._:-]{1,63}); as users_by_handle. */
int users_by_cognito_sub(users *u, const char *sub, user *out, errinfo *e);
/* The Cruddur user of a Cognito user seen for the first time (sql/users/provision.sql): a
 * seeded row with this handle and no Cognito id is claimed, else a row is inserted; racing
 * callers for one sub all end with the same row. 0 with *out, or -1 with e: ERR_INVALID for
 * a handle, sub, display name or email the table refuses, ERR_CONFLICT when the handle is
 * another user's, ERR_IO when the connection failed. */
int users_provision(users *u, const char *handle, const char *display_name, const char *email,
                    const char *sub, user *out, errinfo *e);
/* Sets users.cognito_user_id for the user whose handle is handle; ERR_NOTFOUND when no
 * user has that handle, ERR_INVALID for a malformed handle or sub, or a sub another user
 * already has (nothing changed then). */
int users_set_cognito_sub(users *u, const char *handle, const char *sub, errinfo *e);

/* Runs a built-in SQL file (e.g. "sql/schema.sql") as one script: all of it or nothing.
 * ERR_SERVICE with the server's message and SQLSTATE when a statement fails. */
int users_run_file(users *u, const char *name, errinfo *e);
/* Runs sql/seed.sql: *added = sample users inserted, *present = those already there. */
int users_seed(users *u, long *added, long *present, errinfo *e);

/* Whether the connection is usable (one round trip); tries one reset when it is not. */
bool users_ping(users *u);

/* ---- administration: for a connection to another database of the same server ---- */

/* The database conninfo (NULL: CONNECTION_URL) names, into out (n bytes). ERR_CONFIG when
 * nothing is configured, it does not parse or names no database; ERR_TOOBIG when it does
 * not fit. */
int users_conninfo_db(const char *conninfo, char *out, size_t n, errinfo *e);
/* Sets libpq's environment variables (PGHOST, PGPORT, PGDATABASE, PGUSER, PGPASSWORD,
 * PGSSLMODE, ...) to the settings of conninfo (NULL: CONNECTION_URL), for a psql run with no
 * connection arguments: the password never shows on a command line. 0, or -1 with e as for
 * users_conninfo_db. */
int users_conninfo_to_env(const char *conninfo, errinfo *e);

/* What users_create_db and users_drop_db did (the values are part of the contract). */
typedef enum users_db_status {
    USERS_DB_FAILED = -1, /* e says why */
    USERS_DB_DONE = 0,    /* created, or dropped */
    USERS_DB_ALREADY = 1, /* nothing to do: create found it there, drop found none (e says so) */
    USERS_DB_IN_USE = 2,  /* drop only: other sessions use it, nothing dropped (e says so) */
} users_db_status;

/* Creates database dbname (sql/db/create.sql, the name quoted as an identifier):
 * USERS_DB_DONE, USERS_DB_ALREADY, or USERS_DB_FAILED with e (ERR_INVALID for an empty or
 * over-long name). */
users_db_status users_create_db(users *u, const char *dbname, errinfo *e);
/* Drops database dbname (sql/db/drop.sql): USERS_DB_DONE, USERS_DB_ALREADY (there was
 * none), USERS_DB_IN_USE, or USERS_DB_FAILED with e. */
users_db_status users_drop_db(users *u, const char *dbname, errinfo *e);

/* A client session connected to a database (from pg_stat_activity). */
typedef struct users_session {
    long pid;
    char application_name[64]; /* "" when the client set none */
    char client[64];           /* address, "local socket" or "unknown" */
    char user[64];
} users_session;

/* The other sessions connected to dbname (those that block a drop; sql/db/sessions.sql):
 * the first max of them into out, their number into *count. */
int users_db_sessions(users *u, const char *dbname, users_session *out, size_t max, size_t *count,
                      errinfo *e);
/* A row of users that breaks a rule of sql/schema.sql (sql/db/check.sql). Strings are cut
 * to fit; handle may hold any bytes (it is what breaks the rule): print it made safe. */
typedef struct users_broken {
    char uuid[UUID_BUF];
    char handle[USERS_HANDLE_MAX + 1];
    char rule[32]; /* "handle", "display_name", "email", "cognito_user_id" */
} users_broken;
/* The rows that break a rule (at most 1000, one per rule broken): the first max into out,
 * their number into *count. 0, or -1 with e. */
int users_check_rows(users *u, users_broken *out, size_t max, size_t *count, errinfo *e);

/* Ends those sessions (pg_terminate_backend, waiting up to 5 s each;
 * sql/db/end_sessions.sql); *ended = how many. */
int users_end_sessions(users *u, const char *dbname, size_t *ended, errinfo *e);

#endif
