/* groupsync_together.h — pattern E for many conversations at once: the daemon's batch of
 * conversations in use (their rows cached) moved in one TransactWriteItems instead of one
 * each. Why it pays, and why the rules stay those of groupsync_apply_cached:
 * src/streamd/DESIGN.md, "Conversations in use". */
#ifndef CRUDDUR_GROUPSYNC_TOGETHER_H
#define CRUDDUR_GROUPSYNC_TOGETHER_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "aws/ddb.h"
#include "messaging/groupsync.h"

struct groupsync_cache;

/* Conversations per groupsync_together_apply transaction (AWS: 100 actions, four each), and
 * the bytes its moves may carry (AWS: 4 MB of items; each conversation counts twice its
 * message and twice GROUPSYNC_CACHE_ENTRY_BYTES_MAX). */
#define GROUPSYNC_TOGETHER_MAX 25
#define GROUPSYNC_TOGETHER_BYTES (1024 * 1024)

/* Moves many conversations in few transactions: of records[0..n) (stream records, borrowed,
 * each of a different conversation), every message whose rows its cache caches[i] holds
 * (borrowed; NULL: none) and whose plan from them moves both rows — a conversation in use —
 * goes into one TransactWriteItems with the others (up to GROUPSYNC_TOGETHER_MAX and
 * GROUPSYNC_TOGETHER_BYTES each; two that would touch the same key are not put together).
 * On success done[i] is set, res[i] filled as groupsync_apply_cached would and caches[i]
 * updated. Every other record is left (done[i] false) for groupsync_apply_cached: not a
 * message, not cached, another plan, or in a transaction that failed in any way — one stale
 * row cancels all of it; nothing is forgotten, and that call then finds out why. Returns
 * the number of records moved. */
size_t groupsync_together_apply(ddb *d, const char *table, struct groupsync_cache *const *caches,
                                const json_t *const *records, size_t n, bool *done,
                                groupsync_result *res);

#endif
