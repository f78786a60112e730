/* pg.c — PostgreSQL for the live tests (pg.h). */
#include "config.h"
#include "pg.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *pg_require(void)
{
    const char *url = getenv("CONNECTION_URL");
    if (url && *url)
        return url;
    const char *live = getenv("CRUDDUR_LIVE");
    if (live && strcmp(live, "1") == 0) {
        fprintf(stderr, "CRUDDUR_LIVE=1 but CONNECTION_URL is not set\n");
        exit(1);
    }
    printf("1..0 # SKIP CONNECTION_URL not set (script/test sets it)\n");
    exit(77);
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
