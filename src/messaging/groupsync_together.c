/* groupsync_together.c — many conversations in one transaction: the moves of the
 * conversations whose rows a cache holds, gathered into as few TransactWriteItems as fit
 * (groupsync_together.h). Every action is the one groupsync.c would send for that
 * conversation alone, conditioned the same way. */
#include "config.h"
#include "messaging/groupsync_together.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "messaging/groupsync_cache.h"
#include "messaging/groupsync_internal.h"
#include "messaging/groupsync_plan.h"

/* One conversation of groupsync_together_apply: the rows the cache held and their move. */
typedef struct groupsync_together_one {
    size_t idx;             /* its record's index */
    groupsync_cache *cache; /* the cache that holds its rows (borrowed) */
    groupsync_msg m;
    json_t *rows; /* the cached rows (a reference) */
    groupsync_plan plan;
    size_t pa, pb;
    groupsync_move_parts p[2];
} groupsync_together_one;

/* The four keys a move of o touches: each row's old key and its new one. */
static void groupsync_together_keys(const groupsync_together_one *o, const char *pk[4],
                                    const char *sk[4])
{
    const json_t *a = json_array_get(o->rows, o->pa), *b = json_array_get(o->rows, o->pb);
    size_t len;
    pk[0] = pk[2] = groupsync_plan_s(json_object_get(a, "pk"), &len);
    pk[1] = pk[3] = groupsync_plan_s(json_object_get(b, "pk"), &len);
    sk[0] = groupsync_plan_s(json_object_get(a, "sk"), &len);
    sk[1] = groupsync_plan_s(json_object_get(b, "sk"), &len);
    sk[2] = sk[3] = o->m.created_at;
}

/* Whether x and y touch a key in common: one transaction may not (two conversations of one
 * user with messages in the same microsecond; the call of its own tells what to do). */
static bool groupsync_together_clash(const groupsync_together_one *x,
                                     const groupsync_together_one *y)
{
    const char *xp[4], *xs[4], *yp[4], *ys[4];
    groupsync_together_keys(x, xp, xs);
    groupsync_together_keys(y, yp, ys);
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++)
            if (!xp[i] || !xs[i] || !yp[j] || !ys[j] ||
                (strcmp(xp[i], yp[j]) == 0 && strcmp(xs[i], ys[j]) == 0))
                return true;
    return false;
}

static void groupsync_together_clear(groupsync_together_one *o)
{
    json_decref(o->rows);
    groupsync_move_parts_cleanup(&o->p[0]);
    groupsync_move_parts_cleanup(&o->p[1]);
    memset(o, 0, sizeof *o);
}

/* Sends the moves of one[0..k) (their actions in items) as one transaction; on success
 * stores each conversation's rows as moved and fills its result. Clears one[] and items.
 * The number moved: k, or 0. */
static size_t groupsync_together_send(groupsync_ctx *c, groupsync_together_one *one, size_t k,
                                      json_t *items, bool *done, groupsync_result *res)
{
    size_t moved = 0;
    if (k > 0 && groupsync_transact(c, items) == 0) {
        for (size_t i = 0; i < k; i++) {
            groupsync_together_one *o = &one[i];
            groupsync_cache_put(
                o->cache, o->m.group,
                groupsync_plan_after(o->rows, &o->plan, o->m.created_at, o->m.message));
            groupsync_result *r = &res[o->idx];
            memset(r, 0, sizeof *r);
            r->action = groupsync_plan_outcome(2, 0, o->plan.usable, 0);
            r->moved = 2;
            r->cached = true;
            memcpy(r->group, o->m.group, sizeof r->group);
            memcpy(r->created_at, o->m.created_at, sizeof r->created_at);
            done[o->idx] = true;
        }
        moved = k;
    }
    for (size_t i = 0; i < k; i++)
        groupsync_together_clear(&one[i]);
    json_array_clear(items);
    return moved;
}

/* Whether record is a message whose conversation can move together with others: its rows
 * are in the cache, and the plan from them moves both. Fills o (o->rows a reference). */
static bool groupsync_together_fit(groupsync_cache *cache, const json_t *record,
                                   groupsync_together_one *o)
{
    errinfo pe;
    if (!cache || groupsync_parse_record(record, &o->m, &pe) != GROUPSYNC_OK || !o->m.is_message ||
        !groupsync_cache_held(cache, o->m.group))
        return false;
    o->cache = cache;
    o->rows = groupsync_cache_get(cache, o->m.group);
    if (o->rows && groupsync_plan_rows(o->rows, o->m.created_at, NULL, 0, &o->plan) == 0 &&
        groupsync_plan_cacheable(o->rows, &o->plan) &&
        groupsync_plan_pair(o->rows, &o->plan, &o->pa, &o->pb))
        return true;
    json_decref(o->rows);
    o->rows = NULL;
    return false;
}

size_t groupsync_together_apply(ddb *d, const char *table, groupsync_cache *const *caches,
                                const json_t *const *records, size_t n, bool *done,
                                groupsync_result *res)
{
    for (size_t i = 0; i < n; i++)
        done[i] = false;
    if (!d || !table || !*table || !caches || n == 0)
        return 0;
    size_t cap = n < GROUPSYNC_TOGETHER_MAX ? n : GROUPSYNC_TOGETHER_MAX;
    groupsync_together_one *one = calloc(cap, sizeof *one);
    json_t *items = json_array();
    size_t moved = 0, k = 0, bytes = 0;
    ddb_error err;
    ddb_error_clear(&err);
    groupsync_ctx c = { .d = d, .table = table, .err = &err };
    for (size_t i = 0; one && items && i < n; i++) {
        groupsync_together_one *o = &one[k];
        o->idx = i;
        if (!groupsync_together_fit(caches[i], records[i], o))
            continue;
        size_t len = 0;
        groupsync_plan_s(o->m.message, &len);
        size_t cost = 2 * (len + GROUPSYNC_CACHE_ENTRY_BYTES_MAX);
        bool clash = false;
        for (size_t j = 0; j < k && !clash; j++)
            clash = groupsync_together_clash(&one[j], o);
        if (clash || cost > GROUPSYNC_TOGETHER_BYTES) {
            groupsync_together_clear(o); /* alone, by the caller */
            continue;
        }
        if (bytes + cost > GROUPSYNC_TOGETHER_BYTES) {
            /* full: send what is gathered, then start the next transaction with this one */
            groupsync_together_one keep = *o;
            memset(o, 0, sizeof *o);
            moved += groupsync_together_send(&c, one, k, items, done, res);
            k = 0;
            bytes = 0;
            one[0] = keep;
            o = &one[0];
        }
        c.m = &o->m;
        const json_t *ra = json_array_get(o->rows, o->pa), *rb = json_array_get(o->rows, o->pb);
        if (groupsync_move_actions(&c, ra, &o->p[0], items) != 0 ||
            groupsync_move_actions(&c, rb, &o->p[1], items) != 0) {
            /* no memory: send nothing of this transaction */
            for (size_t j = 0; j <= k; j++)
                groupsync_together_clear(&one[j]);
            json_array_clear(items);
            k = bytes = 0;
            continue;
        }
        bytes += cost;
        if (++k == cap) {
            moved += groupsync_together_send(&c, one, k, items, done, res);
            k = bytes = 0;
        }
    }
    if (one && items)
        moved += groupsync_together_send(&c, one, k, items, done, res);
    json_decref(items);
    free(one);
    return moved;
}
