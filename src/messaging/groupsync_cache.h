/* groupsync_cache.h — a bounded cache of each conversation's group rows as this process last
 * read or wrote them, so pattern E can skip the Query of a conversation it moved a moment
 * ago. Never trusted for correctness: a move from cached rows is conditioned on every
 * attribute of the old row as cached (groupsync.c), so a stale entry only cancels the
 * transaction, and the caller then forgets the entry and reads the rows again. Not thread
 * safe: one cache per applying thread. */
#ifndef CR_GROUPSYNC_CACHE_H
#define CR_GROUPSYNC_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define GROUPSYNC_CACHE_WAYS 4                /* entries per set: LRU within a set */
#define GROUPSYNC_CACHE_ENTRY_BYTES_MAX 4096  /* rows whose strings hold more are not kept */
#define GROUPSYNC_CACHE_GROUPS_DEFAULT 4096   /* cruddur-streamd's default size */
#define GROUPSYNC_CACHE_GROUPS_MAX (1L << 20) /* the most groups one cache may hold */

typedef struct groupsync_cache groupsync_cache;

typedef struct groupsync_cache_stats {
    uint64_t hits;    /* lookups that found the group */
    uint64_t misses;  /* lookups that did not */
    uint64_t stale;   /* entries found stale (a write from them was cancelled) */
    uint64_t entries; /* groups held now */
} groupsync_cache_stats;

/* A cache of at most max_groups groups (rounded up to a power of two times
 * GROUPSYNC_CACHE_WAYS; memory is about max_groups * GROUPSYNC_CACHE_ENTRY_BYTES_MAX at
 * worst). NULL when max_groups is 0 or above GROUPSYNC_CACHE_GROUPS_MAX, or on ENOMEM. */
groupsync_cache *groupsync_cache_new(size_t max_groups);
void groupsync_cache_free(groupsync_cache *c); /* accepts NULL */

/* The rows last stored for group (a uuid), as a new reference the caller must not change;
 * NULL when not held (or c is NULL). Counts a hit or a miss. */
json_t *groupsync_cache_get(groupsync_cache *c, const char *group);

/* Whether group is held, counting neither a hit nor a miss. */
bool groupsync_cache_held(const groupsync_cache *c, const char *group);

/* Stores rows (an array of DynamoDB items; the reference is stolen, also on failure) as
 * group's, replacing what was held and evicting the set's least recently used entry when
 * full. Rows whose strings exceed GROUPSYNC_CACHE_ENTRY_BYTES_MAX, or a NULL rows, forget
 * the group instead. */
void groupsync_cache_put(groupsync_cache *c, const char *group, json_t *rows);

/* Forgets group; with stale, counts the entry as found stale. */
void groupsync_cache_forget(groupsync_cache *c, const char *group, bool stale);

void groupsync_cache_get_stats(const groupsync_cache *c, groupsync_cache_stats *out);

#endif
