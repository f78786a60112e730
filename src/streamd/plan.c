/* plan.c — pure decisions of the stream daemon. */
#include "config.h"

#include "streamd/plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/ddb_av.h"

static const plan_obs *plan_find_obs(const plan_obs *obs, size_t nobs, const char *shard)
{
    for (size_t i = 0; i < nobs; i++)
        if (strcmp(obs[i].shard_id, shard) == 0)
            return &obs[i];
    return NULL;
}

int plan_observe(plan_obs *obs, size_t *nobs, size_t cap, const lease *leases, size_t n,
                 int64_t now_ms)
{
    if (n > cap)
        return -1;
    /* Build the new table in place order of leases; old entries are looked up first. */
    plan_obs *next = malloc((n ? n : 1) * sizeof *next);
    if (!next)
        return -1;
    for (size_t i = 0; i < n; i++) {
        const plan_obs *old = plan_find_obs(obs, *nobs, leases[i].shard_id);
        plan_obs *o = &next[i];
        memcpy(o->shard_id, leases[i].shard_id, sizeof o->shard_id);
        memcpy(o->owner, leases[i].owner, sizeof o->owner);
        o->counter = leases[i].counter;
        if (old && old->counter == leases[i].counter && strcmp(old->owner, leases[i].owner) == 0)
            o->since_ms = old->since_ms;
        else
            o->since_ms = now_ms;
    }
    if (n)
        memcpy(obs, next, n * sizeof *next);
    *nobs = n;
    free(next);
    return 0;
}

static bool plan_expired(const lease *l, const plan_obs *obs, size_t nobs, int64_t now_ms,
                         long timeout_ms)
{
    const plan_obs *o = plan_find_obs(obs, nobs, l->shard_id);
    /* Not watched long enough yet: not expired. */
    if (!o || o->counter != l->counter || strcmp(o->owner, l->owner) != 0)
        return false;
    return now_ms - o->since_ms >= timeout_ms;
}

bool plan_available(const lease *l, const char *me, const plan_obs *obs, size_t nobs,
                    int64_t now_ms, long timeout_ms)
{
    if (strcmp(l->checkpoint, LEASE_SHARD_END) == 0)
        return false;
    if (l->owner[0] == '\0')
        return true;
    if (strcmp(l->owner, me) == 0)
        return false;
    return plan_expired(l, obs, nobs, now_ms, timeout_ms);
}

bool plan_parents_done(const lease *l, const lease *leases, size_t n, const char *const *shard_ids,
                       size_t nshards)
{
    for (int p = 0; p < l->nparents; p++) {
        const char *parent = l->parents[p];
        const lease *pl = NULL;
        for (size_t i = 0; i < n && !pl; i++)
            if (strcmp(leases[i].shard_id, parent) == 0)
                pl = &leases[i];
        if (pl) {
            if (strcmp(pl->checkpoint, LEASE_SHARD_END) != 0)
                return false;
            continue;
        }
        for (size_t i = 0; i < nshards; i++)
            if (strcmp(shard_ids[i], parent) == 0)
                return false; /* listed but no lease yet: not read */
    }
    return true;
}

size_t plan_target(const lease *leases, size_t n, const char *me, const plan_obs *obs, size_t nobs,
                   int64_t now_ms, long timeout_ms)
{
    size_t active = 0, owners = 1;
    for (size_t i = 0; i < n; i++) {
        const lease *l = &leases[i];
        if (strcmp(l->checkpoint, LEASE_SHARD_END) == 0)
            continue;
        active++;
        if (!l->owner[0] || strcmp(l->owner, me) == 0 ||
            plan_expired(l, obs, nobs, now_ms, timeout_ms))
            continue;
        bool seen = false; /* counted this owner already? */
        for (size_t j = 0; j < i && !seen; j++)
            seen = strcmp(leases[j].owner, l->owner) == 0 &&
                   strcmp(leases[j].checkpoint, LEASE_SHARD_END) != 0 &&
                   !plan_expired(&leases[j], obs, nobs, now_ms, timeout_ms);
        if (!seen)
            owners++;
    }
    return (active + owners - 1) / owners;
}

const char *plan_record_seq(const json_t *record)
{
    return json_string_value(
        json_object_get(json_object_get(record, "dynamodb"), "SequenceNumber"));
}

bool plan_message_key(const json_t *record, const char **group, const char **created_at)
{
    const char *ev = json_string_value(json_object_get(record, "eventName"));
    if (!ev || (strcmp(ev, "INSERT") != 0 && strcmp(ev, "MODIFY") != 0))
        return false;
    const json_t *keys = json_object_get(json_object_get(record, "dynamodb"), "Keys");
    const char *pk = ddb_av_get_s(keys, "pk");
    const char *sk = ddb_av_get_s(keys, "sk");
    if (!pk || !sk || strncmp(pk, "MSG#", 4) != 0 || !pk[4] || !sk[0])
        return false;
    *group = pk + 4;
    *created_at = sk;
    return true;
}

typedef struct plan_msg {
    const char *group;
    const char *created_at;
    long index;
} plan_msg;

static int plan_msg_cmp(const void *a, const void *b)
{
    const plan_msg *x = a, *y = b;
    int c = strcmp(x->group, y->group);
    if (c)
        return c;
    c = strcmp(x->created_at, y->created_at);
    if (c)
        return c;
    return (x->index > y->index) - (x->index < y->index);
}

long plan_batch(const json_t *records, bool *apply, long *fallback)
{
    size_t n = json_array_size(records);
    plan_msg *m = malloc((n ? n : 1) * sizeof *m);
    if (!m)
        return -1;
    size_t nm = 0;
    for (size_t i = 0; i < n; i++) {
        apply[i] = true;
        fallback[i] = -1;
        if (plan_message_key(json_array_get(records, i), &m[nm].group, &m[nm].created_at))
            m[nm++].index = (long)i;
    }
    /* By conversation, then time, then position: in each run the last one is the newest
     * (the later of two equal ones is the same item written again) and wins; each one falls
     * back to the one before it. */
    qsort(m, nm, sizeof *m, plan_msg_cmp);
    for (size_t k = 0; k < nm; k++) {
        bool same_next = k + 1 < nm && strcmp(m[k].group, m[k + 1].group) == 0;
        bool same_prev = k > 0 && strcmp(m[k].group, m[k - 1].group) == 0;
        apply[m[k].index] = !same_next;
        fallback[m[k].index] = same_prev ? m[k - 1].index : -1;
    }
    free(m);
    long count = 0;
    for (size_t i = 0; i < n; i++)
        count += apply[i];
    return count;
}

/* ---- one sync ------------------------------------------------------------------------------ */

static const lease *plan_find_lease(const lease *leases, size_t n, const char *shard)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(leases[i].shard_id, shard) == 0)
            return &leases[i];
    return NULL;
}

/* The ShardId of shards[i] when it is usable as a lease key, else NULL. */
static const char *plan_shard_id(const json_t *shards, size_t i)
{
    const char *id = json_string_value(json_object_get(json_array_get(shards, i), "ShardId"));
    return id && *id && strlen(id) < LEASE_ID_MAX ? id : NULL;
}

int plan_creates(const json_t *shards, const lease *leases, size_t n, const char *stream_arn,
                 bool latest, lease **out, size_t *nout)
{
    *out = NULL;
    *nout = 0;
    size_t ns = json_array_size(shards);
    if (ns == 0)
        return 0;
    lease *v = calloc(ns, sizeof *v);
    if (!v)
        return -1;
    size_t nv = 0;
    for (size_t i = 0; i < ns; i++) {
        const char *id = plan_shard_id(shards, i);
        if (!id || plan_find_lease(leases, n, id) || plan_find_lease(v, nv, id))
            continue;
        const char *parent =
            json_string_value(json_object_get(json_array_get(shards, i), "ParentShardId"));
        lease *l = &v[nv++];
        snprintf(l->shard_id, sizeof l->shard_id, "%s", id);
        snprintf(l->stream_arn, sizeof l->stream_arn, "%s", stream_arn ? stream_arn : "");
        bool known_parent = false;
        if (parent && *parent && strlen(parent) < LEASE_ID_MAX) {
            snprintf(l->parents[0], sizeof l->parents[0], "%s", parent);
            l->nparents = 1;
            known_parent = plan_find_lease(leases, n, parent) != NULL;
            for (size_t j = 0; j < ns && !known_parent; j++) {
                const char *other =
                    json_string_value(json_object_get(json_array_get(shards, j), "ShardId"));
                known_parent = other && strcmp(other, parent) == 0;
            }
        }
        /* A child of a shard we know always starts at its beginning; latest only skips the
         * history of the shards there when we first came. */
        snprintf(l->checkpoint, sizeof l->checkpoint, "%s",
                 latest && !known_parent ? LEASE_LATEST : LEASE_TRIM_HORIZON);
    }
    if (nv == 0) {
        free(v);
        return 0;
    }
    *out = v;
    *nout = nv;
    return 0;
}

static bool plan_listed(const char *const *ids, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (ids[i] && strcmp(ids[i], id) == 0)
            return true;
    return false;
}

static bool plan_is_end(const lease *l)
{
    return strcmp(l->checkpoint, LEASE_SHARD_END) == 0;
}

int plan_sync(const plan_sync_in *in, plan_sync_out *out)
{
    memset(out, 0, sizeof *out);
    size_t cap = in->nleases * 2 + in->nheld + 1;
    plan_action *a = malloc(cap * sizeof *a);
    if (!a)
        return -1;
    size_t na = 0;
    const lease *v = in->leases;
    size_t n = in->nleases;

    /* Finished shards that are gone from the stream (trimmed after 24 h): their leases have
     * done their work — children treat a parent with neither lease nor listing as read. */
    for (size_t k = 0; k < n; k++)
        if (plan_is_end(&v[k]) && !v[k].owner[0] &&
            !plan_listed(in->shard_ids, in->nshards, v[k].shard_id))
            a[na++] = (plan_action){ .op = PLAN_DELETE, .lease = k };

    /* Leases we hold: still ours? renew when due. */
    bool *dropped = calloc(in->nheld ? in->nheld : 1, sizeof *dropped);
    if (!dropped) {
        free(a);
        return -1;
    }
    for (size_t h = 0; h < in->nheld; h++) {
        const plan_held *ph = &in->held[h];
        const lease *cur = plan_find_lease(v, n, ph->shard_id);
        if (ph->lost || !cur || strcmp(cur->owner, in->me) != 0 || cur->counter != ph->counter) {
            a[na++] = (plan_action){ .op = PLAN_DROP, .held = h };
            dropped[h] = true;
        } else if (in->now_ms - ph->renewed_ms >= in->timeout_ms / 3) {
            a[na++] = (plan_action){ .op = PLAN_RENEW, .held = h };
        }
    }

    /* What is available, in lease order, up to our share (all of it with take_all). */
    size_t target = in->take_all
                        ? in->max_held
                        : plan_target(v, n, in->me, in->obs, in->nobs, in->now_ms, in->timeout_ms);
    out->target = target < in->max_held ? target : in->max_held;
    for (size_t k = 0; k < n; k++) {
        const lease *l = &v[k];
        if (l->owner[0] && strcmp(l->owner, in->me) != 0 && !plan_is_end(l))
            out->others_hold++;
        bool held = false;
        for (size_t h = 0; h < in->nheld && !held; h++)
            held = !dropped[h] && strcmp(in->held[h].shard_id, l->shard_id) == 0;
        if (held)
            continue;
        bool mine = strcmp(l->owner, in->me) == 0;
        if (!mine && !plan_available(l, in->me, in->obs, in->nobs, in->now_ms, in->timeout_ms))
            continue;
        if (plan_is_end(l) || !plan_parents_done(l, v, n, in->shard_ids, in->nshards))
            continue;
        a[na++] = (plan_action){ .op = mine ? PLAN_RESUME : PLAN_TAKE, .lease = k };
    }
    free(dropped);
    out->actions = a;
    out->nactions = na;
    return 0;
}

void plan_sync_cleanup(plan_sync_out *out)
{
    if (!out)
        return;
    free(out->actions);
    memset(out, 0, sizeof *out);
}

const char *plan_op_name(plan_op op)
{
    switch (op) {
    case PLAN_DELETE: return "delete";
    case PLAN_DROP: return "drop";
    case PLAN_RENEW: return "renew";
    case PLAN_TAKE: return "take";
    case PLAN_RESUME: return "resume";
    }
    return "?";
}
