/* lease.c — the lease table: conditional UpdateItem calls on one item per shard. */
#include "config.h"

#include "streamd/lease.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/ddb_av.h"
#include "base/log.h"
#include "streamd/deadletter.h"

#define LEASE_KEY "leaseKey"
#define LEASE_DLQ_PREFIX "dlq#"

bool lease_is_seq(const char *c)
{
    size_t n = 0;
    if (!c || !*c)
        return false;
    for (; c[n]; n++)
        if (c[n] < '0' || c[n] > '9' || n >= LEASE_SEQ_MAX - 1)
            return false;
    return true;
}

static bool lease_checkpoint_valid(const char *c)
{
    return lease_is_seq(c) || strcmp(c, LEASE_TRIM_HORIZON) == 0 || strcmp(c, LEASE_LATEST) == 0 ||
           strcmp(c, LEASE_SHARD_END) == 0;
}

/* Copies a bounded, non-empty string attribute; -1 when absent, not S, empty or too long. */
static int lease_copy_s(const json_t *item, const char *name, char *out, size_t outlen,
                        bool required, errinfo *e)
{
    const char *s = ddb_av_get_s(item, name);
    if (!s) {
        if (!required && !json_object_get(item, name)) {
            out[0] = '\0';
            return 0;
        }
        return errinfo_set(e, ERR_INVALID, "lease item: %s is missing or not a string", name);
    }
    size_t len = strlen(s);
    if (len == 0 || len >= outlen)
        return errinfo_set(e, ERR_INVALID, "lease item: %s is empty or longer than %zu", name,
                           outlen - 1);
    memcpy(out, s, len + 1);
    return 0;
}

int lease_from_item(const json_t *item, lease *l, errinfo *e)
{
    memset(l, 0, sizeof *l);
    if (!json_is_object(item))
        return errinfo_set(e, ERR_INVALID, "lease item: not an object");
    if (lease_copy_s(item, LEASE_KEY, l->shard_id, sizeof l->shard_id, true, e) != 0 ||
        lease_copy_s(item, "leaseOwner", l->owner, sizeof l->owner, false, e) != 0 ||
        lease_copy_s(item, "checkpoint", l->checkpoint, sizeof l->checkpoint, true, e) != 0 ||
        lease_copy_s(item, "streamArn", l->stream_arn, sizeof l->stream_arn, true, e) != 0)
        return -1;
    if (!lease_checkpoint_valid(l->checkpoint))
        return errinfo_set(e, ERR_INVALID, "lease %s: checkpoint is not a sequence number",
                           l->shard_id);
    if (ddb_av_get_i64(item, "leaseCounter", &l->counter) != 0 || l->counter < 0)
        return errinfo_set(e, ERR_INVALID, "lease %s: leaseCounter is not a number", l->shard_id);
    const json_t *ss = json_object_get(json_object_get(item, "parentShardIds"), "SS");
    if (json_object_get(item, "parentShardIds") && !json_is_array(ss))
        return errinfo_set(e, ERR_INVALID, "lease %s: parentShardIds is not a string set",
                           l->shard_id);
    if (json_array_size(ss) > LEASE_MAX_PARENTS)
        return errinfo_set(e, ERR_INVALID, "lease %s: more than %d parents", l->shard_id,
                           LEASE_MAX_PARENTS);
    size_t i;
    const json_t *p;
    json_array_foreach(ss, i, p)
    {
        const char *s = json_string_value(p);
        if (!s || !*s || strlen(s) >= LEASE_ID_MAX)
            return errinfo_set(e, ERR_INVALID, "lease %s: bad parent shard id", l->shard_id);
        memcpy(l->parents[l->nparents++], s, strlen(s) + 1);
    }
    return 0;
}

json_t *lease_to_item(const lease *l)
{
    json_t *item = json_object();
    if (!item)
        return NULL;
    int rc = 0;
    rc |= json_object_set_new(item, LEASE_KEY, ddb_av_s(l->shard_id));
    rc |= json_object_set_new(item, "leaseCounter", ddb_av_n_i64(l->counter));
    rc |= json_object_set_new(item, "checkpoint", ddb_av_s(l->checkpoint));
    rc |= json_object_set_new(item, "streamArn", ddb_av_s(l->stream_arn));
    if (l->owner[0])
        rc |= json_object_set_new(item, "leaseOwner", ddb_av_s(l->owner));
    if (l->nparents > 0) {
        const char *v[LEASE_MAX_PARENTS];
        for (int i = 0; i < l->nparents; i++)
            v[i] = l->parents[i];
        rc |= json_object_set_new(item, "parentShardIds", ddb_av_ss(v, (size_t)l->nparents));
    }
    if (rc != 0) {
        json_decref(item);
        return NULL;
    }
    return item;
}

/* Turns on the table's TTL on the dead letters' expiry attribute when it is off. A failure
 * (no permission for UpdateTimeToLive, say) is a warning: expired dead letters are then
 * no longer listed, only not deleted. */
static void lease_table_ttl(ddb *d, const char *table)
{
    ddb_error err;
    ddb_error_clear(&err);
    json_t *req = json_pack("{s:s}", "TableName", table), *resp = NULL;
    const char *status = NULL;
    if (req && ddb_call(d, "DescribeTimeToLive", req, &resp, &err) == 0)
        status = json_string_value(
            json_object_get(json_object_get(resp, "TimeToLiveDescription"), "TimeToLiveStatus"));
    json_decref(req);
    bool on = status && (strcmp(status, "ENABLED") == 0 || strcmp(status, "ENABLING") == 0);
    json_decref(resp);
    resp = NULL;
    if (on)
        return;
    ddb_error_clear(&err);
    req = json_pack("{s:s, s:{s:b, s:s}}", "TableName", table, "TimeToLiveSpecification", "Enabled",
                    1, "AttributeName", DEADLETTER_TTL_ATTR);
    if (!req || ddb_call(d, "UpdateTimeToLive", req, &resp, &err) != 0)
        log_msg(LOG_WARN, "lease_table_ttl_failed",
                "%s: dead letters will not be deleted "
                "when they expire: %s",
                table, req ? err.info.msg : "out of memory");
    else
        log_msg(LOG_INFO, "lease_table_ttl", "%s: TTL on %s", table, DEADLETTER_TTL_ATTR);
    json_decref(req);
    json_decref(resp);
}

int lease_table_ensure(ddb *d, const char *table, long timeout_ms, ddb_error *err)
{
    json_t *desc = NULL;
    if (ddb_describe_table(d, table, &desc, err) == 0) {
        json_decref(desc);
        int rc = ddb_wait_active(d, table, timeout_ms, err);
        if (rc == 0)
            lease_table_ttl(d, table);
        return rc;
    }
    if (!ddb_error_is(err, "ResourceNotFoundException"))
        return -1;
    json_t *def = json_pack("{s:s, s:[{s:s, s:s}], s:[{s:s, s:s}], s:s}", "TableName", table,
                            "AttributeDefinitions", "AttributeName", LEASE_KEY, "AttributeType",
                            "S", "KeySchema", "AttributeName", LEASE_KEY, "KeyType", "HASH",
                            "BillingMode", "PAY_PER_REQUEST");
    if (!def) {
        errinfo_nomem(&err->info);
        return -1;
    }
    ddb_error_clear(err);
    int rc = ddb_create_table(d, def, NULL, err);
    json_decref(def);
    /* Another daemon may have created it a moment ago. */
    if (rc != 0 && !ddb_error_is(err, "ResourceInUseException"))
        return -1;
    log_msg(LOG_INFO, "lease_table_created", "%s", table);
    ddb_error_clear(err);
    rc = ddb_wait_active(d, table, timeout_ms, err);
    if (rc == 0)
        lease_table_ttl(d, table);
    return rc;
}

int lease_scan(ddb *d, const char *table, const char *stream_arn, lease **out, size_t *n,
               ddb_error *err)
{
    *out = NULL;
    *n = 0;
    lease *v = NULL;
    size_t len = 0, cap = 0;
    ddb_page page;
    ddb_page_init(&page);
    json_t *start = NULL;
    int rc = -1;
    for (;;) {
        ddb_query_options q = { .table = table, .consistent = true, .start_key = start };
        if (ddb_scan(d, &q, &page, err) != 0)
            goto out;
        size_t i;
        json_t *item;
        json_array_foreach(page.items, i, item)
        {
            const char *key = ddb_av_get_s(item, LEASE_KEY);
            if (key && strncmp(key, LEASE_DLQ_PREFIX, strlen(LEASE_DLQ_PREFIX)) == 0)
                continue;
            if (len == cap) {
                size_t ncap = cap ? cap * 2 : 16;
                lease *nv = realloc(v, ncap * sizeof *nv);
                if (!nv) {
                    errinfo_nomem(&err->info);
                    goto out;
                }
                v = nv;
                cap = ncap;
            }
            errinfo e;
            if (lease_from_item(item, &v[len], &e) != 0) {
                log_msg(LOG_WARN, "lease_malformed", "%s: %s", table, e.msg);
                continue;
            }
            if (stream_arn && strcmp(v[len].stream_arn, stream_arn) != 0)
                continue;
            len++;
        }
        json_decref(start);
        start = page.last_key ? json_incref(page.last_key) : NULL;
        if (!start)
            break;
    }
    *out = v;
    *n = len;
    v = NULL;
    rc = 0;
out:
    json_decref(start);
    ddb_page_cleanup(&page);
    free(v);
    return rc;
}

/* The status of a conditional write that returned rc (0 / -1 with err). */
static lease_status lease_status_of(int rc, const ddb_error *err)
{
    if (rc == 0)
        return LEASE_OK;
    return ddb_error_is(err, "ConditionalCheckFailedException") ? LEASE_LOST : LEASE_ERROR;
}

lease_status lease_create(ddb *d, const char *table, const lease *l, ddb_error *err)
{
    json_t *item = lease_to_item(l);
    if (!item) {
        errinfo_nomem(&err->info);
        return LEASE_ERROR;
    }
    ddb_expr cond = { .expression = "attribute_not_exists(" LEASE_KEY ")" };
    int rc = ddb_put_item(d, table, item, &cond, err);
    json_decref(item);
    return lease_status_of(rc, err);
}

/* UpdateItem of l's item: `update` with :n = the new counter (and :o = new_owner, :s = seq
 * when given), conditioned on the counter in l and on the owner in l (no owner: absent).
 * On 0 l takes the new counter and owner. */
static lease_status lease_update(ddb *d, const char *table, lease *l, const char *update,
                                 const char *new_owner, const char *seq, ddb_error *err)
{
    int64_t next = l->counter + 1;
    const char *cond = l->owner[0] ? "leaseCounter = :c AND leaseOwner = :w"
                                   : "leaseCounter = :c AND attribute_not_exists(leaseOwner)";
    json_t *values =
        json_pack("{s:o, s:o}", ":c", ddb_av_n_i64(l->counter), ":n", ddb_av_n_i64(next));
    json_t *req = NULL;
    lease_status rc = LEASE_ERROR;
    if (!values)
        goto nomem;
    if (l->owner[0] && json_object_set_new(values, ":w", ddb_av_s(l->owner)) != 0)
        goto nomem;
    if (new_owner && json_object_set_new(values, ":o", ddb_av_s(new_owner)) != 0)
        goto nomem;
    if (seq && json_object_set_new(values, ":s", ddb_av_s(seq)) != 0)
        goto nomem;
    req = json_pack("{s:s, s:{s:{s:s}}, s:s, s:s, s:O}", "TableName", table, "Key", LEASE_KEY, "S",
                    l->shard_id, "UpdateExpression", update, "ConditionExpression", cond,
                    "ExpressionAttributeValues", values);
    if (!req)
        goto nomem;
    json_t *resp = NULL;
    rc = lease_status_of(ddb_call(d, "UpdateItem", req, &resp, err), err);
    json_decref(resp);
    if (rc != LEASE_OK)
        goto out;
    l->counter = next;
    if (new_owner)
        snprintf(l->owner, sizeof l->owner, "%s", new_owner);
    if (strstr(update, "REMOVE leaseOwner"))
        l->owner[0] = '\0';
    if (seq)
        snprintf(l->checkpoint, sizeof l->checkpoint, "%s", seq);
    goto out;
nomem:
    errinfo_nomem(&err->info);
out:
    json_decref(values);
    json_decref(req);
    return rc;
}

lease_status lease_take(ddb *d, const char *table, lease *l, const char *me, ddb_error *err)
{
    if (!me || !*me || strlen(me) >= LEASE_OWNER_MAX) {
        errinfo_set(&err->info, ERR_INVALID, "bad lease owner name");
        return LEASE_ERROR;
    }
    return lease_update(d, table, l, "SET leaseCounter = :n, leaseOwner = :o", me, NULL, err);
}

lease_status lease_renew(ddb *d, const char *table, lease *l, ddb_error *err)
{
    return lease_update(d, table, l, "SET leaseCounter = :n", NULL, NULL, err);
}

lease_status lease_checkpoint(ddb *d, const char *table, lease *l, const char *seq, ddb_error *err)
{
    if (!seq || !lease_checkpoint_valid(seq)) {
        errinfo_set(&err->info, ERR_INVALID, "bad checkpoint value");
        return LEASE_ERROR;
    }
    return lease_update(d, table, l, "SET leaseCounter = :n, checkpoint = :s", NULL, seq, err);
}

lease_status lease_release(ddb *d, const char *table, lease *l, ddb_error *err)
{
    return lease_update(d, table, l, "SET leaseCounter = :n REMOVE leaseOwner", NULL, NULL, err);
}

lease_status lease_delete(ddb *d, const char *table, const lease *l, ddb_error *err)
{
    json_t *key = json_pack("{s:o}", LEASE_KEY, ddb_av_s(l->shard_id));
    json_t *values = json_pack("{s:o}", ":c", ddb_av_n_i64(l->counter));
    lease_status rc = LEASE_ERROR;
    if (!key || !values) {
        errinfo_nomem(&err->info);
        goto out;
    }
    ddb_expr cond = { .expression = "leaseCounter = :c", .values = values };
    rc = lease_status_of(ddb_delete_item(d, table, key, &cond, err), err);
out:
    json_decref(key);
    json_decref(values);
    return rc;
}
