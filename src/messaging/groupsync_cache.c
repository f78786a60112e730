/* groupsync_cache.c — pattern E's cache of group rows: a set-associative table (LRU within
 * each set of GROUPSYNC_CACHE_WAYS) keyed by the conversation's uuid. */
#include "config.h"
#include "messaging/groupsync_cache.h"

#include <stdlib.h>
#include <string.h>

#include "base/uuid.h"

typedef struct groupsync_cache_slot {
    char group[UUID_BUF]; /* "" when empty */
    json_t *rows;         /* owned */
    uint64_t used;        /* tick of the last get or put */
} groupsync_cache_slot;

struct groupsync_cache {
    groupsync_cache_slot *slots; /* nsets * GROUPSYNC_CACHE_WAYS */
    size_t nsets;                /* a power of two */
    uint64_t tick;
    groupsync_cache_stats st;
};

groupsync_cache *groupsync_cache_new(size_t max_groups)
{
    if (max_groups == 0 || max_groups > (size_t)GROUPSYNC_CACHE_GROUPS_MAX)
        return NULL;
    size_t nsets = 1;
    while (nsets * GROUPSYNC_CACHE_WAYS < max_groups)
        nsets *= 2;
    groupsync_cache *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->slots = calloc(nsets * GROUPSYNC_CACHE_WAYS, sizeof *c->slots);
    if (!c->slots) {
        free(c);
        return NULL;
    }
    c->nsets = nsets;
    return c;
}

void groupsync_cache_free(groupsync_cache *c)
{
    if (!c)
        return;
    for (size_t i = 0; c->slots && i < c->nsets * GROUPSYNC_CACHE_WAYS; i++)
        json_decref(c->slots[i].rows);
    free(c->slots);
    free(c);
}

/* The first slot of group's set (FNV-1a of the uuid text). */
static groupsync_cache_slot *groupsync_cache_set(const groupsync_cache *c, const char *group)
{
    uint64_t h = 1469598103934665603ULL;
    for (const unsigned char *p = (const unsigned char *)group; *p; p++)
        h = (h ^ *p) * 1099511628211ULL;
    return &c->slots[(h & (c->nsets - 1)) * GROUPSYNC_CACHE_WAYS];
}

static bool groupsync_cache_key_ok(const char *group)
{
    return group && strlen(group) < UUID_BUF && group[0];
}

static groupsync_cache_slot *groupsync_cache_find(const groupsync_cache *c, const char *group)
{
    groupsync_cache_slot *set = groupsync_cache_set(c, group);
    for (int w = 0; w < GROUPSYNC_CACHE_WAYS; w++)
        if (set[w].rows && strcmp(set[w].group, group) == 0)
            return &set[w];
    return NULL;
}

json_t *groupsync_cache_get(groupsync_cache *c, const char *group)
{
    if (!c || !groupsync_cache_key_ok(group))
        return NULL;
    groupsync_cache_slot *s = groupsync_cache_find(c, group);
    if (!s) {
        c->st.misses++;
        return NULL;
    }
    c->st.hits++;
    s->used = ++c->tick;
    return json_incref(s->rows);
}

bool groupsync_cache_held(const groupsync_cache *c, const char *group)
{
    return c && groupsync_cache_key_ok(group) && groupsync_cache_find(c, group) != NULL;
}

/* Bytes of every string in v (keys and values), stopping once past cap. */
static size_t groupsync_cache_bytes(const json_t *v, size_t cap, size_t sum)
{
    if (sum > cap)
        return sum;
    if (json_is_string(v))
        return sum + json_string_length(v);
    if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v) && sum <= cap; i++)
            sum = groupsync_cache_bytes(json_array_get(v, i), cap, sum);
        return sum;
    }
    if (json_is_object(v)) {
        const char *k;
        json_t *x;
        json_object_foreach((json_t *)v, k, x)
        {
            sum = groupsync_cache_bytes(x, cap, sum + strlen(k));
            if (sum > cap)
                break;
        }
    }
    return sum + 8;
}

static void groupsync_cache_clear_slot(groupsync_cache *c, groupsync_cache_slot *s)
{
    json_decref(s->rows);
    s->rows = NULL;
    s->group[0] = '\0';
    c->st.entries--;
}

void groupsync_cache_forget(groupsync_cache *c, const char *group, bool stale)
{
    if (!c || !groupsync_cache_key_ok(group))
        return;
    groupsync_cache_slot *s = groupsync_cache_find(c, group);
    if (s) {
        groupsync_cache_clear_slot(c, s);
        if (stale)
            c->st.stale++;
    }
}

void groupsync_cache_put(groupsync_cache *c, const char *group, json_t *rows)
{
    if (!c || !groupsync_cache_key_ok(group)) {
        json_decref(rows);
        return;
    }
    if (!json_is_array(rows) || groupsync_cache_bytes(rows, GROUPSYNC_CACHE_ENTRY_BYTES_MAX, 0) >
                                    GROUPSYNC_CACHE_ENTRY_BYTES_MAX) {
        json_decref(rows);
        groupsync_cache_forget(c, group, false);
        return;
    }
    groupsync_cache_slot *s = groupsync_cache_find(c, group);
    if (!s) {
        groupsync_cache_slot *set = groupsync_cache_set(c, group);
        s = &set[0];
        for (int w = 0; w < GROUPSYNC_CACHE_WAYS; w++) {
            if (!set[w].rows) {
                s = &set[w];
                break;
            }
            if (set[w].used < s->used)
                s = &set[w];
        }
        if (s->rows)
            groupsync_cache_clear_slot(c, s); /* the set's least recently used */
        memcpy(s->group, group, strlen(group) + 1);
        c->st.entries++;
    } else {
        json_decref(s->rows);
    }
    s->rows = rows;
    s->used = ++c->tick;
}

void groupsync_cache_get_stats(const groupsync_cache *c, groupsync_cache_stats *out)
{
    if (!out)
        return;
    memset(out, 0, sizeof *out);
    if (c)
        *out = c->st;
}
