/* users.c — the Postgres side: one libpq connection and the queries of sql/ (built in),
 * each run with PQexecParams and its result checked before it reaches a struct user; the
 * lookups of the users table. Loading SQL files and administering databases: users_setup.c. */
#include "config.h"
#include "users/users.h"
#include "users/users_internal.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "base/buf.h"
#include "base/embed.h"
#include "base/env.h"
#include "base/log.h"
#include "base/uuid.h"

/* Type OIDs (stable across PostgreSQL versions; catalog/pg_type_d.h is a server header). */
#define USERS_OID_NAME 19
#define USERS_OID_TEXT 25
#define USERS_OID_VARCHAR 1043
#define USERS_OID_UUID 2950

/* ---- connecting ----------------------------------------------------------------------- */

static void users_notice(void *arg, const char *message)
{
    (void)arg;
    size_t n = strcspn(message, "\n");
    log_msg(LOG_DEBUG, "pg_notice", "%.*s", (int)(n > 300 ? 300 : n), message);
}

/* "host:port" of conn, IPv6 addresses in brackets. */
static void users_describe(PGconn *conn, char *out, size_t n)
{
    const char *host = conn ? PQhost(conn) : NULL;
    const char *port = conn ? PQport(conn) : NULL;
    if (!host || !*host)
        host = "localhost";
    if (!port || !*port)
        port = "5432";
    if (strchr(host, ':') && host[0] != '/')
        snprintf(out, n, "[%s]:%s", host, port);
    else
        snprintf(out, n, "%s:%s", host, port);
}

/* The reason libpq gives for a failed connection: the first line, after "failed: ". */
static void users_reason(const char *msg, char *out, size_t n)
{
    const char *line = msg ? msg : "";
    size_t len = strcspn(line, "\n");
    const char *p = line;
    for (const char *f = line; (f = strstr(f, "failed: ")) && f < line + len; f++)
        p = f + strlen("failed: ");
    if (strncmp(p, "FATAL:", 6) == 0)
        p += 6;
    while (*p == ' ')
        p++;
    len = strcspn(p, "\n");
    while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\r'))
        len--;
    if (len == 0) {
        p = "unknown error";
        len = strlen(p);
    }
    snprintf(out, n, "%.*s", (int)(len > 200 ? 200 : len), p);
}

static int users_connect_error(PGconn *conn, const char *dbname, errinfo *e)
{
    char server[256], reason[224];
    users_describe(conn, server, sizeof server);
    const char *msg = conn ? PQerrorMessage(conn) : "";
    users_reason(msg, reason, sizeof reason);
    const char *db = conn && PQdb(conn) ? PQdb(conn) : (dbname ? dbname : "?");
    if (strstr(msg, "database \"") && strstr(msg, "\" does not exist"))
        return errinfo_set(e, ERR_NOTFOUND, "database %s does not exist on %s", db, server);
    if (strstr(msg, "FATAL") || strstr(msg, "password") || strstr(msg, "SSL"))
        return errinfo_set(e, ERR_SERVICE, "PostgreSQL at %s refused the connection (%s)", server,
                           reason);
    return errinfo_set(e, ERR_IO, "PostgreSQL not reachable at %s (%s)", server, reason);
}

/* The configured conninfo, parsed; NULL with e set. */
static PQconninfoOption *users_parse(const char *conninfo, errinfo *e)
{
    const char *what = "the connection string";
    if (!conninfo) {
        what = "CONNECTION_URL";
        conninfo = env_str("CONNECTION_URL");
        if (!conninfo) {
            const char *raw = getenv("CONNECTION_URL");
            if (raw && *raw)
                errinfo_set(e, ERR_CONFIG, "CONNECTION_URL is longer than %d bytes", ENV_MAX_LEN);
            else
                errinfo_set(e, ERR_CONFIG, "CONNECTION_URL is not set");
            return NULL;
        }
    }
    char *err = NULL;
    PQconninfoOption *opts = PQconninfoParse(conninfo, &err);
    if (!opts) {
        /* libpq's message can quote parts of the string (a password among them): left out */
        if (err)
            PQfreemem(err);
        else
            return errinfo_set(e, ERR_NOMEM, "users: out of memory"), NULL;
        errinfo_set(e, ERR_CONFIG,
                    "%s is not a valid libpq connection string "
                    "(expected postgresql://USER:PASSWORD@HOST:PORT/DBNAME)",
                    what);
        return NULL;
    }
    return opts;
}

static const char *users_opt(const PQconninfoOption *opts, const char *key)
{
    for (const PQconninfoOption *o = opts; o->keyword; o++)
        if (strcmp(o->keyword, key) == 0)
            return o->val && *o->val ? o->val : NULL;
    return NULL;
}

users *users_open_db(const char *conninfo, const char *dbname, errinfo *e)
{
    users *u = NULL;
    PGconn *conn = NULL;
    const char **kw = NULL, **val = NULL;
    PQconninfoOption *opts = users_parse(conninfo, e);
    if (!opts)
        return NULL;
    size_t n = 0;
    for (const PQconninfoOption *o = opts; o->keyword; o++)
        n++;
    kw = calloc(n + 4, sizeof *kw);
    val = calloc(n + 4, sizeof *val);
    if (!kw || !val) {
        errinfo_set(e, ERR_NOMEM, "users: out of memory");
        goto out;
    }
    size_t k = 0;
    for (const PQconninfoOption *o = opts; o->keyword; o++) {
        if (!o->val || !*o->val || (dbname && strcmp(o->keyword, "dbname") == 0))
            continue;
        kw[k] = o->keyword;
        val[k++] = o->val;
    }
    if (dbname) {
        kw[k] = "dbname";
        val[k++] = dbname;
    }
    if (!users_opt(opts, "connect_timeout")) {
        kw[k] = "connect_timeout";
        val[k++] = "5";
    }
    if (!users_opt(opts, "fallback_application_name")) {
        kw[k] = "fallback_application_name";
        val[k++] = "cruddur";
    }
    kw[k] = NULL;
    val[k] = NULL;
    conn = PQconnectdbParams(kw, val, 0);
    if (!conn) {
        errinfo_set(e, ERR_NOMEM, "users: out of memory");
        goto out;
    }
    if (PQstatus(conn) != CONNECTION_OK) {
        users_connect_error(conn, dbname, e);
        goto out;
    }
    u = calloc(1, sizeof *u);
    if (!u) {
        errinfo_set(e, ERR_NOMEM, "users: out of memory");
        goto out;
    }
    PQsetNoticeProcessor(conn, users_notice, NULL);
    users_describe(conn, u->server, sizeof u->server);
    snprintf(u->db, sizeof u->db, "%s", PQdb(conn) ? PQdb(conn) : "");
    u->conn = conn;
    conn = NULL;
    errinfo_clear(e);
out:
    if (conn)
        PQfinish(conn);
    free(kw);
    free(val);
    PQconninfoFree(opts);
    return u;
}

users *users_open(const char *conninfo, errinfo *e)
{
    return users_open_db(conninfo, NULL, e);
}

void users_close(users *u)
{
    if (!u)
        return;
    if (u->conn)
        PQfinish(u->conn);
    free(u);
}

const char *users_server(const users *u)
{
    return u ? u->server : "";
}

int users_conninfo_db(const char *conninfo, char *out, size_t n, errinfo *e)
{
    PQconninfoOption *opts = users_parse(conninfo, e);
    if (!opts)
        return -1;
    int rc = 0;
    const char *db = users_opt(opts, "dbname");
    if (!db)
        rc = errinfo_set(e, ERR_CONFIG,
                         "%s names no database (postgresql://USER:PASSWORD@HOST:PORT/DBNAME)",
                         conninfo ? "the connection string" : "CONNECTION_URL");
    else if ((size_t)snprintf(out, n, "%s", db) >= n)
        rc = errinfo_set(e, ERR_TOOBIG, "the database name is longer than %zu bytes", n - 1);
    PQconninfoFree(opts);
    return rc;
}

int users_conninfo_to_env(const char *conninfo, errinfo *e)
{
    PQconninfoOption *opts = users_parse(conninfo, e);
    if (!opts)
        return -1;
    int rc = 0;
    for (PQconninfoOption *o = opts; o->keyword && rc == 0; o++)
        if (o->val && *o->val && o->envvar && setenv(o->envvar, o->val, 1) != 0)
            rc = errinfo_nomem(e);
    PQconninfoFree(opts);
    return rc;
}

bool users_ping(users *u)
{
    if (!u || !u->conn)
        return false;
    for (int attempt = 0; attempt < 2; attempt++) {
        if (attempt > 0 || PQstatus(u->conn) != CONNECTION_OK) {
            log_msg(LOG_INFO, "pg_reset", "resetting the connection to %s", u->server);
            PQreset(u->conn);
            if (PQstatus(u->conn) != CONNECTION_OK)
                continue;
        }
        /* an empty query: one round trip, no statement */
        PGresult *res = PQexec(u->conn, "");
        bool ok = res && PQresultStatus(res) == PGRES_EMPTY_QUERY;
        PQclear(res);
        if (ok && PQstatus(u->conn) == CONNECTION_OK)
            return true;
    }
    return false;
}

/* ---- running the SQL of sql/ ---------------------------------------------------------- */

const char *users_sql(const char *name, errinfo *e)
{
    const char *sql = embed_get(name, NULL);
    if (!sql)
        errinfo_set(e, ERR_INTERNAL, "users: %s is not built in (add it to EMBED_FILES)", name);
    return sql;
}

int users_result_error(users *u, const PGresult *res, const char *file, errinfo *e)
{
    if (!res)
        return errinfo_set(e, ERR_NOMEM, "users: %s: out of memory", file);
    if (PQstatus(u->conn) != CONNECTION_OK)
        return errinfo_set(e, ERR_IO, "PostgreSQL connection to %s lost during %s", u->server,
                           file);
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    if (!state)
        state = "";
    if (!msg) {
        msg = PQresultErrorMessage(res);
        if (!msg || !*msg)
            msg = PQresStatus(PQresultStatus(res));
    }
    int mlen = (int)strcspn(msg, "\n");
    if (mlen > 200)
        mlen = 200;
    if (strcmp(state, "42P01") == 0)
        return errinfo_set(e, ERR_SERVICE,
                           "%s: %.*s in %s/%s (load the schema: cruddur db schema-load)", file,
                           mlen, msg, u->server, u->db);
    if (strncmp(state, "23", 2) == 0) /* integrity: unique, check, not null */
        return errinfo_set(e, ERR_INVALID, "%s: %.*s", file, mlen, msg);
    return errinfo_set(e, ERR_SERVICE, "%s: %.*s (SQLSTATE %s)", file, mlen, msg, state);
}

PGresult *users_exec(users *u, const char *file, int nparams, const char *const *params, errinfo *e)
{
    const char *sql = users_sql(file, e);
    if (!sql)
        return NULL;
    if (!u || !u->conn)
        return errinfo_set(e, ERR_INVALID, "users: no connection"), NULL;
    for (int attempt = 0;; attempt++) {
        if (PQstatus(u->conn) != CONNECTION_OK) {
            log_msg(LOG_INFO, "pg_reset", "resetting the connection to %s", u->server);
            PQreset(u->conn);
            if (PQstatus(u->conn) != CONNECTION_OK) {
                char reason[224];
                users_reason(PQerrorMessage(u->conn), reason, sizeof reason);
                errinfo_set(e, ERR_IO, "PostgreSQL not reachable at %s (%s)", u->server, reason);
                return NULL;
            }
        }
        PGresult *res = PQexecParams(u->conn, sql, nparams, NULL, params, NULL, NULL, 0);
        ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
        if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
            return res;
        if (attempt == 0 && PQstatus(u->conn) != CONNECTION_OK) {
            PQclear(res);
            continue;
        }
        users_result_error(u, res, file, e);
        PQclear(res);
        return NULL;
    }
}

/* Copies column name of row 0 into dst (size bytes), checking its type and length.
 * A NULL gives "" when nullable. */
static int users_column(const PGresult *res, const char *file, const char *name, bool is_uuid,
                        bool nullable, char *dst, size_t size, errinfo *e)
{
    int col = PQfnumber(res, name);
    if (col < 0)
        return errinfo_set(e, ERR_INTERNAL, "users: %s returns no column %s", file, name);
    Oid type = PQftype(res, col);
    bool type_ok =
        is_uuid ? type == USERS_OID_UUID
                : (type == USERS_OID_TEXT || type == USERS_OID_VARCHAR || type == USERS_OID_NAME);
    if (!type_ok || PQfformat(res, col) != 0)
        return errinfo_set(e, ERR_INTERNAL, "users: %s: column %s has type oid %u", file, name,
                           (unsigned)type);
    if (PQgetisnull(res, 0, col)) {
        if (!nullable)
            return errinfo_set(e, ERR_INTERNAL, "users: %s: column %s is NULL", file, name);
        dst[0] = '\0';
        return 0;
    }
    const char *v = PQgetvalue(res, 0, col);
    size_t len = (size_t)PQgetlength(res, 0, col);
    if (len >= size || memchr(v, '\0', len))
        return errinfo_set(e, ERR_TOOBIG, "users: %s: %s is %zu bytes (at most %zu)", file, name,
                           len, size - 1);
    if (is_uuid && !uuid_is_text(v, len))
        return errinfo_set(e, ERR_INTERNAL, "users: %s: %s is not a UUID", file, name);
    memcpy(dst, v, len);
    dst[len] = '\0';
    return 0;
}

/* The single user row of res into *out; ERR_NOTFOUND (with what) when there is none. */
static int users_row(const PGresult *res, const char *file, const char *what, user *out, errinfo *e)
{
    int rows = PQntuples(res);
    if (rows == 0)
        return errinfo_set(e, ERR_NOTFOUND, "no user with %s", what);
    if (rows > 1)
        return errinfo_set(e, ERR_INTERNAL, "users: %s returned %d rows", file, rows);
    if (PQnfields(res) != 5)
        return errinfo_set(e, ERR_INTERNAL, "users: %s returns %d columns, not 5", file,
                           PQnfields(res));
    user t;
    memset(&t, 0, sizeof t);
    if (users_column(res, file, "uuid", true, false, t.uuid, sizeof t.uuid, e) != 0 ||
        users_column(res, file, "handle", false, false, t.handle, sizeof t.handle, e) != 0 ||
        users_column(res, file, "display_name", false, false, t.display_name, sizeof t.display_name,
                     e) != 0 ||
        users_column(res, file, "email", false, false, t.email, sizeof t.email, e) != 0 ||
        users_column(res, file, "cognito_user_id", false, true, t.cognito_user_id,
                     sizeof t.cognito_user_id, e) != 0)
        return -1;
    *out = t;
    return 0;
}

/* ---- users ---------------------------------------------------------------------------- */

bool users_handle_valid(const char *h, size_t n)
{
    if (!h || n == 0 || n > USERS_HANDLE_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = h[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-' || c == '~'))
            return false;
    }
    return true;
}

static bool users_handle_ok(const char *h)
{
    return h && users_handle_valid(h, strlen(h));
}

static bool users_sub_ok(const char *s)
{
    if (!s)
        return false;
    size_t n = 0;
    for (; s[n]; n++) {
        char c = s[n];
        if (n >= 63 || !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                         (c >= '0' && c <= '9') || c == '.' || c == '_' || c == ':' || c == '-'))
            return false;
    }
    return n > 0;
}

static int users_invalid_handle(const char *h, errinfo *e)
{
    if (!h || !*h)
        return errinfo_set(e, ERR_INVALID, "the handle is empty");
    return errinfo_set(e, ERR_INVALID, "'%.40s%s' is not a valid handle (" USERS_HANDLE_RULE ")", h,
                       strlen(h) > 40 ? "..." : "");
}

static int users_invalid_sub(errinfo *e)
{
    return errinfo_set(e, ERR_INVALID,
                       "not a valid Cognito sub (1-63 characters: letters, digits, . _ : -)");
}

static int users_find(users *u, const char *file, const char *param, const char *what, user *out,
                      errinfo *e)
{
    const char *params[1] = { param };
    PGresult *res = users_exec(u, file, 1, params, e);
    if (!res)
        return -1;
    int rc = users_row(res, file, what, out, e);
    PQclear(res);
    return rc;
}

int users_by_handle(users *u, const char *handle, user *out, errinfo *e)
{
    if (!users_handle_ok(handle))
        return users_invalid_handle(handle, e);
    char what[64];
    snprintf(what, sizeof what, "handle @%s", handle);
    return users_find(u, "sql/users/by_handle.sql", handle, what, out, e);
}

int users_by_cognito_sub(users *u, const char *sub, user *out, errinfo *e)
{
    if (!users_sub_ok(sub))
        return users_invalid_sub(e);
    char what[96];
    snprintf(what, sizeof what, "Cognito sub %s", sub);
    return users_find(u, "sql/users/by_cognito_sub.sql", sub, what, out, e);
}

int users_provision(users *u, const char *handle, const char *display_name, const char *email,
                    const char *sub, user *out, errinfo *e)
{
    if (!users_handle_ok(handle))
        return users_invalid_handle(handle, e);
    if (!users_sub_ok(sub))
        return users_invalid_sub(e);
    size_t dl = display_name ? strlen(display_name) : 0, el = email ? strlen(email) : 0;
    if (dl == 0 || dl > 127 || el < 3 || el > 255 || !strchr(email, '@'))
        return errinfo_set(e, ERR_INVALID,
                           "a user needs a display name (1-127 bytes) and an "
                           "email address");
    const char *file = "sql/users/provision.sql";
    const char *params[4] = { handle, display_name, email, sub };
    PGresult *res = users_exec(u, file, 4, params, e);
    if (!res)
        return -1;
    PQclear(res);
    /* whoever won (this call, a racing worker, a claimed seeded row): the row by sub */
    if (users_by_cognito_sub(u, sub, out, e) == 0)
        return 0;
    if (e && e->code == ERR_NOTFOUND)
        errinfo_set(e, ERR_CONFLICT, "the handle @%s belongs to another user", handle);
    return -1;
}

int users_set_cognito_sub(users *u, const char *handle, const char *sub, errinfo *e)
{
    if (!users_handle_ok(handle))
        return users_invalid_handle(handle, e);
    if (!users_sub_ok(sub))
        return users_invalid_sub(e);
    const char *file = "sql/users/set_cognito_sub.sql";
    const char *params[2] = { handle, sub };
    PGresult *res = users_exec(u, file, 2, params, e);
    if (!res) {
        if (e && e->code == ERR_INVALID)
            errinfo_set(e, ERR_INVALID, "Cognito sub %s already belongs to another user", sub);
        return -1;
    }
    int rc = 0;
    const char *n = PQcmdTuples(res);
    if (!n || strcmp(n, "0") == 0)
        rc = errinfo_set(e, ERR_NOTFOUND, "no user with handle @%s", handle);
    PQclear(res);
    return rc;
}
