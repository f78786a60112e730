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

json_t *deadletter_redact(const json_t *record)
{
    json_t *copy = json_deep_copy(record);
    json_t *part = json_object_get(copy, "dynamodb");
    if (json_is_object(part)) {
        json_object_del(part, "OldImage");
        json_t *img = json_object_get(part, "NewImage");
        if (json_is_object(img))
            json_object_del(img, "message");
    }
    return copy;
}

int deadletter_restore(ddb *d, const char *table, json_t *record, ddb_error *err)
{
    json_t *part = json_object_get(record, "dynamodb");
    json_t *img = json_object_get(part, "NewImage");
    if (json_is_object(img) && json_object_get(img, "message"))
        return 0;
    const json_t *keys = json_object_get(part, "Keys");
    if (!json_is_object(keys))
        keys = img;
    const char *pk = ddb_av_get_s(keys, "pk"), *sk = ddb_av_get_s(keys, "sk");
    if (!pk || !sk) {
        ddb_error_clear(err);
        return errinfo_set(&err->info, ERR_INVALID, "the dead letter names no message key");
    }
    json_t *key = json_pack("{s:o, s:o}", "pk", ddb_av_s(pk), "sk", ddb_av_s(sk));
    json_t *item = NULL;
    int rc = key ? ddb_get_item(d, table, key, true, &item, err) : -1;
    json_decref(key);
    if (rc == 0 && !item) {
        ddb_error_clear(err);
        rc = errinfo_set(&err->info, ERR_NOTFOUND, "the message is no longer in the table");
    }
    if (rc == 0 && json_object_set_new(part, "NewImage", item) != 0)
        rc = errinfo_nomem(&err->info);
    else if (rc != 0)
        json_decref(item);
    return rc;
}

int deadletter_put(ddb *d, const char *table, const char *stream_arn, const char *shard_id,
                   const char *seq, const json_t *record, const char *reason, int attempts,
                   long ttl_s, ddb_error *err)
{
    char now[40];
    json_t *redacted = deadletter_redact(record);
    char *text = redacted ? json_dumps(redacted, JSON_COMPACT) : NULL;
    json_t *item = NULL;
    int rc = -1;
    if (text && strlen(text) > DEADLETTER_RECORD_MAX) {
        /* Keep what identifies the record; the image is too big to keep beside the key. */
        json_t *ddbpart = json_object_get(redacted, "dynamodb");
        if (ddbpart)
            json_object_del(ddbpart, "NewImage");
        free(text);
        text = json_dumps(redacted, JSON_COMPACT);
    }
    int64_t now_us = clock_real_us();
    if (!text || clock_iso8601_us(now, sizeof now, now_us) != 0)
        goto nomem;
    buf key;
    buf_init(&key, 512);
    if (buf_printf(&key, DEADLETTER_PREFIX "%s#%s", shard_id, seq) != 0) {
        buf_cleanup(&key);
        errinfo_set(&err->info, ERR_INVALID, "dead letter key too long");
        goto out;
    }
    item = json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "leaseKey",
                     ddb_av_s(buf_cstr(&key)), "kind", ddb_av_s("dead_letter"), "streamArn",
                     ddb_av_s(stream_arn), "shardId", ddb_av_s(shard_id), "sequenceNumber",
                     ddb_av_s(seq), "record", ddb_av_s(text), "reason",
                     ddb_av_s(reason && *reason ? reason : "unknown"), "attempts",
                     ddb_av_n_i64(attempts), "createdAt", ddb_av_s(now), DEADLETTER_TTL_ATTR,
                     ddb_av_n_i64(now_us / 1000000 + (ttl_s > 0 ? ttl_s : 0)));
    buf_cleanup(&key);
    if (!item)
        goto nomem;
    rc = ddb_put_item(d, table, item, NULL, err);
    goto out;
nomem:
    errinfo_nomem(&err->info);
out:
    free(text);
    json_decref(redacted);
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
    int64_t attempts = 0, expires = 0;
    if (!id || !shard || !seq || !text || !reason || !created || !arn ||
        ddb_av_get_i64(item, "attempts", &attempts) != 0)
        return NULL;
    if (json_object_get(item, DEADLETTER_TTL_ATTR) &&
        ddb_av_get_i64(item, DEADLETTER_TTL_ATTR, &expires) != 0)
        return NULL;
    errinfo e;
    json_t *record = jparse(text, strlen(text), 64, &e);
    if (!record)
        return NULL;
    return json_pack("{s:s, s:s, s:s, s:s, s:I, s:s, s:I, s:s, s:o}", "id", id, "shard_id", shard,
                     "sequence_number", seq, "reason", reason, "attempts", (json_int_t)attempts,
                     "created_at", created, "expires_at", (json_int_t)expires, "stream_arn", arn,
                     "record", record);
}

int deadletter_list(ddb *d, const char *table, json_t **out, ddb_error *err)
{
    *out = NULL;
    int64_t now_s = clock_real_us() / 1000000;
    json_t *all = json_array();
    json_t *values = json_pack("{s:o}", ":p", ddb_av_s(DEADLETTER_PREFIX));
    json_t *start = NULL;
    ddb_page page;
    ddb_page_init(&page);
    int rc = -1;
    if (!all || !values) {
        errinfo_nomem(&err->info);
        goto out;
    }
    for (;;) {
        ddb_query_options q = { .table = table,
                                .consistent = true,
                                .start_key = start,
                                .filter = "begins_with(leaseKey, :p)",
                                .values = values };
        if (ddb_scan(d, &q, &page, err) != 0)
            goto out;
        size_t i;
        json_t *item;
        json_array_foreach(page.items, i, item)
        {
            json_t *dl = deadletter_from_item(item);
            if (!dl) {
                log_msg(LOG_WARN, "dead_letter_malformed", "%s: %s", table,
                        ddb_av_get_s(item, "leaseKey") ? ddb_av_get_s(item, "leaseKey") : "?");
                continue;
            }
            /* Expired: DynamoDB's TTL deletes it within days; it is gone for us now. */
            json_int_t exp = json_integer_value(json_object_get(dl, "expires_at"));
            if (exp > 0 && exp <= now_s) {
                json_decref(dl);
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
        errinfo_nomem(&err->info);
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
        errinfo_nomem(&err->info);
        return -1;
    }
    int rc = ddb_delete_item(d, table, key, NULL, err);
    json_decref(key);
    return rc;
}
