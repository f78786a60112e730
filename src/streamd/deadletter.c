/* deadletter.c — dead letters as items of the lease table. */
#include "config.h"

#include "streamd/deadletter.h"

#include <stdlib.h>
#include <string.h>

#include "aws/ddb_av.h"
#include "base/clock.h"
#include "base/jparse.h"
#include "base/log.h"

#define DEADLETTER_PREFIX "dlq#"

int deadletter_put(ddb *d, const char *table, const char *stream_arn, const char *shard_id,
                   const char *seq, const json_t *record, const char *reason, int attempts,
                   ddb_error *err)
{
    char now[40];
    char *text = json_dumps(record, JSON_COMPACT);
    json_t *item = NULL;
    int rc = -1;
    if (text && strlen(text) > DEADLETTER_RECORD_MAX) {
        /* Keep what identifies the record; the image is too big to keep beside the key. */
        json_t *slim = json_deep_copy(record);
        json_t *ddbpart = json_object_get(slim, "dynamodb");
        if (ddbpart)
            json_object_del(ddbpart, "NewImage");
        free(text);
        text = slim ? json_dumps(slim, JSON_COMPACT) : NULL;
        json_decref(slim);
    }
    if (!text || clock_iso8601_us(now, sizeof now, clock_real_us()) != 0)
        goto nomem;
    buf key;
    buf_init(&key, 512);
    if (buf_printf(&key, DEADLETTER_PREFIX "%s#%s", shard_id, seq) != 0) {
        buf_cleanup(&key);
        errinfo_set(&err->info, ERR_INVALID, "dead letter key too long");
        goto out;
    }
    item = json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "leaseKey",
                     ddb_av_s(buf_cstr(&key)), "kind", ddb_av_s("dead_letter"), "streamArn",
                     ddb_av_s(stream_arn), "shardId", ddb_av_s(shard_id), "sequenceNumber",
                     ddb_av_s(seq), "record", ddb_av_s(text), "reason",
                     ddb_av_s(reason && *reason ? reason : "unknown"), "attempts",
                     ddb_av_n_i64(attempts), "createdAt", ddb_av_s(now));
    buf_cleanup(&key);
    if (!item)
        goto nomem;
    rc = ddb_put_item(d, table, item, NULL, err);
    goto out;
nomem:
    errinfo_set(&err->info, ERR_NOMEM, "out of memory");
out:
    free(text);
    json_decref(item);
    return rc;
}

static int deadletter_cmp(const void *a, const void *b)
{
    const json_t *x = *(const json_t *const *)a, *y = *(const json_t *const *)b;
    const char *tx = json_string_value(json_object_get(x, "created_at"));
    const char *ty = json_string_value(json_object_get(y, "created_at"));
    int c = strcmp(tx ? tx : "", ty ? ty : "");
    if (c)
        return c;
    const char *ix = json_string_value(json_object_get(x, "id"));
    const char *iy = json_string_value(json_object_get(y, "id"));
    return strcmp(ix ? ix : "", iy ? iy : "");
}

/* One dead letter item as a plain object, or NULL when malformed. */
static json_t *deadletter_from_item(const json_t *item)
{
    const char *id = ddb_av_get_s(item, "leaseKey");
    const char *shard = ddb_av_get_s(item, "shardId");
    const char *seq = ddb_av_get_s(item, "sequenceNumber");
    const char *text = ddb_av_get_s(item, "record");
    const char *reason = ddb_av_get_s(item, "reason");
    const char *created = ddb_av_get_s(item, "createdAt");
    const char *arn = ddb_av_get_s(item, "streamArn");
    int64_t attempts = 0;
    if (!id || !shard || !seq || !text || !reason || !created || !arn ||
        ddb_av_get_i64(item, "attempts", &attempts) != 0)
        return NULL;
    errinfo e;
    json_t *record = jparse(text, strlen(text), 64, &e);
    if (!record)
        return NULL;
    return json_pack("{s:s, s:s, s:s, s:s, s:I, s:s, s:s, s:o}", "id", id, "shard_id", shard,
                     "sequence_number", seq, "reason", reason, "attempts", (json_int_t)attempts,
                     "created_at", created, "stream_arn", arn, "record", record);
}

int deadletter_list(ddb *d, const char *table, json_t **out, ddb_error *err)
{
    *out = NULL;
    json_t *all = json_array();
    json_t *values = json_pack("{s:o}", ":p", ddb_av_s(DEADLETTER_PREFIX));
    json_t *start = NULL;
    ddb_page page;
    ddb_page_init(&page);
    int rc = -1;
    if (!all || !values) {
        errinfo_set(&err->info, ERR_NOMEM, "out of memory");
        goto out;
    }
    for (;;) {
        ddb_query_options q = { .table = table, .consistent = true, .start_key = start,
                                .filter = "begins_with(leaseKey, :p)", .values = values };
        if (ddb_scan(d, &q, &page, err) != 0)
            goto out;
        size_t i;
        json_t *item;
        json_array_foreach(page.items, i, item) {
            json_t *dl = deadletter_from_item(item);
            if (!dl) {
                log_msg(LOG_WARN, "dead_letter_malformed", "%s: %s", table,
                        ddb_av_get_s(item, "leaseKey") ? ddb_av_get_s(item, "leaseKey") : "?");
                continue;
            }
            json_array_append_new(all, dl);
        }
        json_decref(start);
        start = page.last_key ? json_incref(page.last_key) : NULL;
        if (!start)
            break;
    }
    /* oldest first */
    size_t n = json_array_size(all);
    json_t **v = n ? malloc(n * sizeof *v) : NULL;
    if (n && !v) {
        errinfo_set(&err->info, ERR_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        v[i] = json_incref(json_array_get(all, i));
    if (n > 1)
        qsort(v, n, sizeof *v, deadletter_cmp);
    json_array_clear(all);
    for (size_t i = 0; i < n; i++)
        json_array_append_new(all, v[i]);
    free(v);
    *out = all;
    all = NULL;
    rc = 0;
out:
    json_decref(all);
    json_decref(values);
    json_decref(start);
    ddb_page_cleanup(&page);
    return rc;
}

int deadletter_delete(ddb *d, const char *table, const char *id, ddb_error *err)
{
    if (!id || strncmp(id, DEADLETTER_PREFIX, strlen(DEADLETTER_PREFIX)) != 0) {
        errinfo_set(&err->info, ERR_INVALID, "not a dead letter id (they start with \"%s\")",
                    DEADLETTER_PREFIX);
        return -1;
    }
    json_t *key = json_pack("{s:o}", "leaseKey", ddb_av_s(id));
    if (!key) {
        errinfo_set(&err->info, ERR_NOMEM, "out of memory");
        return -1;
    }
    int rc = ddb_delete_item(d, table, key, NULL, err);
    json_decref(key);
    return rc;
}
