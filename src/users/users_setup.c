/* users_setup.c — the setup side of the users module: running a built-in SQL file as one
 * script, the seed, and administering databases of the server (create, drop, the sessions
 * that block a drop). */
#include "config.h"
#include "users/users.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "base/buf.h"
#include "users/users_internal.h"

/* The longest database name PostgreSQL keeps (NAMEDATALEN - 1). */
#define USERS_DBNAME_MAX 63

/* ---- running the SQL files of sql/ ------------------------------------------------------ */

int users_run_file(users *u, const char *name, errinfo *e)
{
    const char *sql = users_sql(name, e);
    if (!sql)
        return -1;
    if (!u || !u->conn)
        return errinfo_set(e, ERR_INVALID, "users: no connection");
    if (PQstatus(u->conn) != CONNECTION_OK && !users_ping(u))
        return errinfo_set(e, ERR_IO, "PostgreSQL not reachable at %s", u->server);
    if (!PQsendQuery(u->conn, sql))
        return errinfo_set(e, ERR_IO, "PostgreSQL connection to %s lost before %s", u->server,
                           name);
    int rc = 0;
    PGresult *res;
    while ((res = PQgetResult(u->conn)) != NULL) {
        ExecStatusType st = PQresultStatus(res);
        if (rc == 0 && st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && st != PGRES_EMPTY_QUERY)
            rc = users_result_error(u, res, name, e);
        PQclear(res);
    }
    if (rc == 0 && PQstatus(u->conn) != CONNECTION_OK)
        rc = errinfo_set(e, ERR_IO, "PostgreSQL connection to %s lost during %s", u->server, name);
    return rc;
}

/* Column name of row 0 of res as a non-negative integer. */
static int users_count(const PGresult *res, const char *file, const char *name, long *out,
                       errinfo *e)
{
    int col = PQfnumber(res, name);
    if (col < 0 || PQntuples(res) != 1 || PQgetisnull(res, 0, col))
        return errinfo_set(e, ERR_INTERNAL, "users: %s returns no count %s", file, name);
    const char *v = PQgetvalue(res, 0, col);
    char *end = NULL;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno != 0 || end == v || *end != '\0' || n < 0)
        return errinfo_set(e, ERR_INTERNAL, "users: %s: %s is not a count", file, name);
    *out = n;
    return 0;
}

int users_seed(users *u, long *added, long *present, errinfo *e)
{
    const char *file = "sql/seed.sql";
    PGresult *res = users_exec(u, file, 0, NULL, e);
    if (!res)
        return -1;
    long a = 0, p = 0;
    int rc = users_count(res, file, "added", &a, e);
    if (rc == 0)
        rc = users_count(res, file, "present", &p, e);
    PQclear(res);
    if (rc == 0) {
        *added = a;
        *present = p;
    }
    return rc;
}

/* ---- administration ------------------------------------------------------------------- */

static int users_dbname_ok(const char *dbname, errinfo *e)
{
    if (!dbname || !*dbname)
        return errinfo_set(e, ERR_INVALID, "the database name is empty");
    if (strlen(dbname) > USERS_DBNAME_MAX)
        return errinfo_set(e, ERR_INVALID, "the database name is longer than %d bytes",
                           USERS_DBNAME_MAX);
    return 0;
}

/* Runs the one statement of file (a template naming :"dbname") for dbname. 0, or the
 * SQLSTATE of the failure into state (6 bytes) and -1 with e set. */
static int users_exec_ident(users *u, const char *file, const char *dbname, char state[6],
                            errinfo *e)
{
    static const char var[] = ":\"dbname\"";
    state[0] = '\0';
    if (users_dbname_ok(dbname, e) != 0)
        return -1;
    const char *tmpl = users_sql(file, e);
    if (!tmpl)
        return -1;
    if (!u || !u->conn)
        return errinfo_set(e, ERR_INVALID, "users: no connection");
    if (PQstatus(u->conn) != CONNECTION_OK && !users_ping(u))
        return errinfo_set(e, ERR_IO, "PostgreSQL not reachable at %s", u->server);
    int rc = -1;
    PGresult *res = NULL;
    buf sql;
    buf_init(&sql, 1 << 16);
    char *ident = PQescapeIdentifier(u->conn, dbname, strlen(dbname));
    if (!ident) {
        errinfo_set(e, ERR_INVALID, "the database name cannot be quoted");
        goto out;
    }
    const char *p = tmpl;
    const char *hit;
    int found = 0;
    while ((hit = strstr(p, var)) != NULL) {
        buf_append(&sql, p, (size_t)(hit - p));
        buf_append_str(&sql, ident);
        p = hit + strlen(var);
        found++;
    }
    buf_append_str(&sql, p);
    if (sql.failed || found == 0) {
        errinfo_set(e, ERR_INTERNAL, "users: %s: %s", file,
                    found ? "out of memory" : "no :\"dbname\" in the template");
        goto out;
    }
    res = PQexec(u->conn, buf_cstr(&sql));
    if (res && PQresultStatus(res) == PGRES_COMMAND_OK) {
        rc = 0;
        goto out;
    }
    const char *st = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    snprintf(state, 6, "%s", st ? st : "");
    users_result_error(u, res, file, e);
out:
    PQclear(res);
    PQfreemem(ident);
    buf_cleanup(&sql);
    return rc;
}

users_db_status users_create_db(users *u, const char *dbname, errinfo *e)
{
    char state[6];
    if (users_exec_ident(u, "sql/db/create.sql", dbname, state, e) == 0)
        return USERS_DB_DONE;
    if (strcmp(state, "42P04") == 0) { /* duplicate_database */
        errinfo_set(e, ERR_INVALID, "database %s already exists on %s", dbname, u->server);
        return USERS_DB_ALREADY;
    }
    return USERS_DB_FAILED;
}

users_db_status users_drop_db(users *u, const char *dbname, errinfo *e)
{
    char state[6];
    if (users_exec_ident(u, "sql/db/drop.sql", dbname, state, e) == 0)
        return USERS_DB_DONE;
    if (strcmp(state, "3D000") == 0) { /* invalid_catalog_name */
        errinfo_set(e, ERR_NOTFOUND, "database %s does not exist on %s", dbname, u->server);
        return USERS_DB_ALREADY;
    }
    if (strcmp(state, "55006") == 0) { /* object_in_use */
        errinfo_set(e, ERR_SERVICE, "database %s on %s is being used by other sessions", dbname,
                    u->server);
        return USERS_DB_IN_USE;
    }
    return USERS_DB_FAILED;
}

/* Copies column col of row r of res into dst (size bytes), cut to fit; NULL gives "". */
static void users_copy_cut(const PGresult *res, int r, int col, char *dst, size_t size)
{
    if (col < 0 || PQgetisnull(res, r, col)) {
        dst[0] = '\0';
        return;
    }
    snprintf(dst, size, "%s", PQgetvalue(res, r, col));
}

int users_db_sessions(users *u, const char *dbname, users_session *out, size_t max, size_t *count,
                      errinfo *e)
{
    const char *file = "sql/db/sessions.sql";
    if (users_dbname_ok(dbname, e) != 0)
        return -1;
    const char *params[1] = { dbname };
    PGresult *res = users_exec(u, file, 1, params, e);
    if (!res)
        return -1;
    int rc = 0;
    int rows = PQntuples(res);
    int c_pid = PQfnumber(res, "pid"), c_app = PQfnumber(res, "application_name");
    int c_client = PQfnumber(res, "client"), c_user = PQfnumber(res, "usename");
    if (c_pid < 0 || c_app < 0 || c_client < 0 || c_user < 0) {
        rc = errinfo_set(e, ERR_INTERNAL, "users: %s returns unexpected columns", file);
        goto out;
    }
    for (int r = 0; r < rows && (size_t)r < max; r++) {
        users_session *s = &out[r];
        memset(s, 0, sizeof *s);
        const char *v = PQgetvalue(res, r, c_pid);
        char *end = NULL;
        errno = 0;
        s->pid = strtol(v, &end, 10);
        if (errno != 0 || end == v || *end != '\0') {
            rc = errinfo_set(e, ERR_INTERNAL, "users: %s: pid is not a number", file);
            goto out;
        }
        users_copy_cut(res, r, c_app, s->application_name, sizeof s->application_name);
        users_copy_cut(res, r, c_client, s->client, sizeof s->client);
        users_copy_cut(res, r, c_user, s->user, sizeof s->user);
    }
    *count = (size_t)rows;
out:
    PQclear(res);
    return rc;
}

int users_check_rows(users *u, users_broken *out, size_t max, size_t *count, errinfo *e)
{
    const char *file = "sql/db/check.sql";
    PGresult *res = users_exec(u, file, 0, NULL, e);
    if (!res)
        return -1;
    int rc = 0;
    int c_uuid = PQfnumber(res, "uuid"), c_handle = PQfnumber(res, "handle");
    int c_rule = PQfnumber(res, "rule");
    if (c_uuid < 0 || c_handle < 0 || c_rule < 0) {
        rc = errinfo_set(e, ERR_INTERNAL, "users: %s returns unexpected columns", file);
        goto out;
    }
    int rows = PQntuples(res);
    for (int r = 0; r < rows && (size_t)r < max; r++) {
        memset(&out[r], 0, sizeof out[r]);
        users_copy_cut(res, r, c_uuid, out[r].uuid, sizeof out[r].uuid);
        users_copy_cut(res, r, c_handle, out[r].handle, sizeof out[r].handle);
        users_copy_cut(res, r, c_rule, out[r].rule, sizeof out[r].rule);
    }
    *count = (size_t)rows;
out:
    PQclear(res);
    return rc;
}

int users_end_sessions(users *u, const char *dbname, size_t *ended, errinfo *e)
{
    const char *file = "sql/db/end_sessions.sql";
    if (users_dbname_ok(dbname, e) != 0)
        return -1;
    const char *params[1] = { dbname };
    PGresult *res = users_exec(u, file, 1, params, e);
    if (!res)
        return -1;
    long n = 0;
    int rc = users_count(res, file, "ended", &n, e);
    PQclear(res);
    if (rc == 0)
        *ended = (size_t)n;
    return rc;
}
