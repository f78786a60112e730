/* live.c — the live tests' servers and unique names (live.h). */
#include "config.h"
#include "live.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/embed.h"
#include "base/rnd.h"

const char *live_require_env(const char *name)
{
    const char *v = getenv(name);
    if (v && *v)
        return v;
    const char *live = getenv("CRUDDUR_LIVE");
    if (live && strcmp(live, "1") == 0) {
        fprintf(stderr, "CRUDDUR_LIVE=1 but %s is not set\n", name);
        exit(1);
    }
    printf("1..0 # SKIP %s not set (script/test sets it)\n", name);
    exit(77);
}

const char *live_ddb_endpoint(void)
{
    return live_require_env("CRUDDUR_TEST_DDB_ENDPOINT");
}

ddb *live_ddb_open(errinfo *e)
{
    ddb_options o = { .endpoint = live_ddb_endpoint(), .region = "us-east-1" };
    return ddb_new(&o, e);
}

ddb *live_ddb(void)
{
    errinfo e;
    ddb *d = live_ddb_open(&e);
    ck_assert_msg(d != NULL, "ddb_new: %s", e.msg);
    return d;
}

ddb *live_ddb_lagging(support_server *proxy)
{
    setenv("LAG_PROXY_UPSTREAM", live_ddb_endpoint(), 1);
    ck_assert_int_eq(support_server_start(proxy, "tests/tools/gsi_lag_proxy.py"), 0);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", proxy->port);
    ddb_options o = { .endpoint = url, .region = "us-east-1" };
    errinfo e;
    ddb *d = ddb_new(&o, &e);
    ck_assert_msg(d != NULL, "ddb_new: %s", e.msg);
    json_decref(support_server_ctl(proxy->port, "lag", json_pack("{s:b}", "on", 1)));
    return d;
}

void live_drop_tables(const char *prefix)
{
    errinfo e;
    ddb *d = live_ddb_open(&e);
    json_t *names = NULL;
    ddb_error err;
    if (d && ddb_list_tables(d, 0, &names, &err) == 0) {
        size_t i;
        json_t *n;
        json_array_foreach(names, i, n)
        {
            const char *s = json_string_value(n);
            if (s && strncmp(s, prefix, strlen(prefix)) == 0)
                ddb_delete_table(d, s, &err);
        }
    }
    json_decref(names);
    ddb_free(d);
}

void live_name(const char *prefix, char out[64])
{
    char u[UUID_BUF];
    rnd_uuid4(u);
    snprintf(out, 64, "%s-%.8s%.4s", prefix, u, u + 9);
}

int live_make_table(ddb *d, const char *name, bool with_stream, bool *created, char *err,
                    size_t errlen)
{
    const char *schema = embed_get("ddb-schema/cruddur-messages.json", NULL);
    json_error_t je;
    json_t *def = schema ? json_loads(schema, 0, &je) : NULL;
    ddb_error de;
    int rc = -1;
    *created = false;
    if (!d || !def) {
        snprintf(err, errlen, "ddb client or schema: %s",
                 d ? "the built-in schema does not load" : "no client");
        goto out;
    }
    json_object_set_new(def, "TableName", json_string(name));
    if (!with_stream)
        json_object_del(def, "StreamSpecification");
    if (ddb_create_table(d, def, NULL, &de) != 0) {
        snprintf(err, errlen, "create table: %s", de.info.msg);
        goto out;
    }
    *created = true;
    if (ddb_wait_active(d, name, 30000, &de) != 0) {
        snprintf(err, errlen, "table not active: %s", de.info.msg);
        goto out;
    }
    rc = 0;
out:
    json_decref(def);
    return rc;
}
