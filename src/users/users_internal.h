/* users_internal.h — what users.c (connection, lookups) and users_setup.c (SQL files,
 * databases) share: the connection struct and the statement runner. Not for other
 * modules. */
#ifndef CR_USERS_INTERNAL_H
#define CR_USERS_INTERNAL_H

#include <libpq-fe.h>

#include "base/errinfo.h"
#include "users/users.h"

struct users {
    PGconn *conn;
    char server[256]; /* "host:port" */
    char db[128];
};

/* The built-in SQL of file name (EMBED_FILES); NULL with e set (ERR_INTERNAL). */
const char *users_sql(const char *name, errinfo *e);
/* Sets e from a failed result res of file (NULL: out of memory): ERR_IO when the connection
 * was lost, ERR_INVALID for an integrity violation, ERR_SERVICE otherwise; returns -1. */
int users_result_error(users *u, const PGresult *res, const char *file, errinfo *e);
/* Runs one statement of file with text parameters. The result (tuples or command; the
 * caller PQclear()s it) or NULL with e set. A connection found broken, or lost during the
 * statement, is reset and the statement re-run once (every statement here is safe to
 * repeat). */
PGresult *users_exec(users *u, const char *file, int nparams, const char *const *params,
                     errinfo *e);

#endif
