/* pg.c — PostgreSQL for the live tests (pg.h). */
#include "config.h"
#include "pg.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "live.h"
#include "users/users.h"

const char *pg_require(void)
{
    return live_require_env("CONNECTION_URL");
}

void pg_drop_dbs(const char *const *dbs, size_t n)
{
    errinfo e;
    users *m = users_open_db(NULL, "postgres", &e);
    if (!m) {
        fprintf(stderr, "# cleanup: %s\n", e.msg);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        size_t ended = 0;
        if (!dbs[i] || !dbs[i][0])
            continue;
        if (users_end_sessions(m, dbs[i], &ended, &e) != 0 || users_drop_db(m, dbs[i], &e) < 0)
            fprintf(stderr, "# cleanup of %s: %s\n", dbs[i], e.msg);
    }
    users_close(m);
}

void pg_conninfo(const char *dbname, const char *extra, char *out, size_t n)
{
    char *err = NULL;
    PQconninfoOption *opts = PQconninfoParse(pg_require(), &err);
    if (!opts) {
        fprintf(stderr, "CONNECTION_URL does not parse\n");
        exit(1);
    }
    size_t len = 0;
    out[0] = '\0';
    for (PQconninfoOption *o = opts; o->keyword; o++) {
        const char *v = o->val;
        if (strcmp(o->keyword, "dbname") == 0)
            v = dbname;
        if (!v || !*v)
            continue;
        len += (size_t)snprintf(out + len, n - len, "%s='", o->keyword);
        for (const char *p = v; *p && len + 4 < n; p++) {
            if (*p == '\'' || *p == '\\')
                out[len++] = '\\';
            out[len++] = *p;
        }
        len += (size_t)snprintf(out + len, n - len, "' ");
    }
    if (!strstr(out, "dbname="))
        len += (size_t)snprintf(out + len, n - len, "dbname='%s' ", dbname);
    snprintf(out + len, n - len, "%s", extra);
    PQconninfoFree(opts);
}
