/* plan.c — pure decisions of the stream daemon. */
#include "config.h"

#include "streamd/plan.h"

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

bool plan_parents_done(const lease *l, const lease *leases, size_t n,
                       const char *const *shard_ids, size_t nshards)
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
                return false;   /* listed but no lease yet: not read */
    }
    return true;
}

size_t plan_target(const lease *leases, size_t n, const char *me, const plan_obs *obs,
                   size_t nobs, int64_t now_ms, long timeout_ms)
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
        bool seen = false;  /* counted this owner already? */
        for (size_t j = 0; j < i && !seen; j++)
            seen = strcmp(leases[j].owner, l->owner) == 0 &&
                   strcmp(leases[j].checkpoint, LEASE_SHARD_END) != 0 &&
                   !plan_expired(&leases[j], obs, nobs, now_ms, timeout_ms);
        if (!seen)
            owners++;
    }
    return (active + owners - 1) / owners;
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
