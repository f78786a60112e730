/* plan.h — the daemon's decisions as pure functions: which shards are ready (parents read
 * to their end), which leases are free or expired and how many to take, and which records
 * of a batch can change the table. No I/O; the daemon (streamd.c) acts on the answers. */
#ifndef CR_PLAN_H
#define CR_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "streamd/lease.h"

/* What this daemon saw of a lease over time: its counter and owner, and since when (on the
 * monotonic clock) they have not changed. A lease held by another owner is expired when its
 * counter stayed put for the lease timeout — judged by our own clock, never the other's. */
typedef struct plan_obs {
    char shard_id[LEASE_ID_MAX];
    char owner[LEASE_OWNER_MAX];
    int64_t counter;
    int64_t since_ms;
} plan_obs;

/* Updates obs (an array of *nobs entries, capacity cap) with the leases seen now; entries of
 * leases that are gone are dropped. -1 when cap is too small (obs unchanged past *nobs). */
int plan_observe(plan_obs *obs, size_t *nobs, size_t cap, const lease *leases, size_t n,
                 int64_t now_ms);

/* Whether l is free (no owner) or held by another owner whose counter did not move for
 * timeout_ms. A lease at SHARD_END is never available. */
bool plan_available(const lease *l, const char *me, const plan_obs *obs, size_t nobs,
                    int64_t now_ms, long timeout_ms);

/* Whether every parent of l is read to its end: its lease is at SHARD_END, or it has no
 * lease and is no longer in the stream (shard_ids, the stream's shards now). */
bool plan_parents_done(const lease *l, const lease *leases, size_t n,
                       const char *const *shard_ids, size_t nshards);

/* How many leases this daemon should hold: the unfinished leases spread evenly over the live
 * owners (owners of unexpired leases, plus me), rounded up. */
size_t plan_target(const lease *leases, size_t n, const char *me, const plan_obs *obs,
                   size_t nobs, int64_t now_ms, long timeout_ms);

/* The batch plan: for each record, whether to apply it. Within one batch only the newest
 * message of each conversation can move its group rows (pattern E goes forward only), so an
 * older message of a conversation that has a newer one later in the batch is "superseded";
 * everything else — other items, records that cannot be read — is applied (and judged) as it
 * comes. Superseded records are ordered newest-first behind their winner in fallback[], so
 * the daemon can apply the next one when the winner proves bad. apply[] and fallback[] have
 * n entries; fallback[i] is the index of the next-older message of the same conversation, or
 * -1. Returns the number of records to apply, or -1 on ENOMEM. */
long plan_batch(const json_t *records, bool *apply, long *fallback);

/* The conversation and created_at of a message record (pk "MSG#<group>", sk), borrowed from
 * the record; false when the record is not an INSERT/MODIFY of a message item. */
bool plan_message_key(const json_t *record, const char **group, const char **created_at);

#endif
