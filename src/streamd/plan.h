/* plan.h — the daemon's decisions as pure functions: which leases to create, delete, drop,
 * renew and take in one sync (plan_creates, plan_sync), which shards are ready (parents read
 * to their end), which leases are free or expired and how many to take, and which records
 * of a batch can change the table. No I/O; the daemon (streamd_lease.c, streamd_poll.c)
 * carries the plans out. */
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
bool plan_parents_done(const lease *l, const lease *leases, size_t n, const char *const *shard_ids,
                       size_t nshards);

/* How many leases this daemon should hold: the unfinished leases spread evenly over the live
 * owners (owners of unexpired leases, plus me), rounded up. */
size_t plan_target(const lease *leases, size_t n, const char *me, const plan_obs *obs, size_t nobs,
                   int64_t now_ms, long timeout_ms);

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

/* The record's dynamodb.SequenceNumber, borrowed; NULL when it has none (or record is NULL). */
const char *plan_record_seq(const json_t *record);

/* The leases to create: one for each shard of shards (DescribeStream's Shards array,
 * borrowed) whose ShardId is valid (1..LEASE_ID_MAX-1 characters) and has no lease in
 * leases (nor an earlier entry of shards), of stream_arn, its ParentShardId (when valid) as
 * its parent. The checkpoint is TRIM_HORIZON — LATEST when latest is set and the parent is
 * neither a lease nor a listed shard (a root shard as this daemon first finds the stream; a
 * child of a known shard always starts at its beginning). 0 with *out a new array (free();
 * NULL when none) of *nout leases, or -1 on ENOMEM (*out NULL, *nout 0). */
int plan_creates(const json_t *shards, const lease *leases, size_t n, const char *stream_arn,
                 bool latest, lease **out, size_t *nout);

/* A lease this daemon holds, as the sync planner needs it. */
typedef struct plan_held {
    const char *shard_id; /* borrowed */
    int64_t counter;      /* the counter we last wrote */
    int64_t renewed_ms;   /* when we last bumped it (monotonic) */
    bool lost;            /* a write of ours found it taken */
} plan_held;

typedef enum plan_op {
    PLAN_DELETE, /* delete leases[lease]: its shard is finished (SHARD_END, no owner) and
                      gone from the stream; conditioned on its counter */
    PLAN_DROP,   /* forget held[held] (no write): lost, its lease gone, or the lease now
                      names another owner or counter */
    PLAN_RENEW,  /* bump held[held]'s counter: lease_timeout/3 passed since the last bump */
    PLAN_TAKE,   /* take leases[lease] (free, or another owner's that expired by our
                      clock), parents done — while fewer than target are held */
    PLAN_RESUME, /* hold leases[lease] without a write: it names us already (ours from
                      before, e.g. a reply lost) — while fewer than target are held */
} plan_op;

typedef struct plan_action {
    plan_op op;
    size_t lease; /* index in leases (DELETE, TAKE, RESUME) */
    size_t held;  /* index in held (DROP, RENEW) */
} plan_action;

/* What one sync knows. Every array is borrowed. */
typedef struct plan_sync_in {
    const lease *leases; /* the lease table's leases of the stream, now */
    size_t nleases;
    const char *const *shard_ids; /* the stream's shards, now */
    size_t nshards;
    const plan_held *held; /* what this daemon holds */
    size_t nheld;
    const char *me;      /* this daemon's owner name */
    const plan_obs *obs; /* plan_observe's table, updated with leases */
    size_t nobs;
    int64_t now_ms;  /* monotonic */
    long timeout_ms; /* the lease timeout */
    size_t max_held; /* the most leases this daemon may hold */
    bool take_all;   /* --once: the target is max_held */
} plan_sync_in;

typedef struct plan_sync_out {
    plan_action *actions; /* owned (plan_sync_cleanup): DELETEs, then DROP/RENEW per held
                               lease, then TAKE/RESUME candidates in lease order */
    size_t nactions;
    size_t target;      /* hold at most this many after the takes (plan_target, or
                               max_held with take_all; never above max_held) */
    size_t others_hold; /* unfinished leases other owners hold */
} plan_sync_out;

/* Plans one sync. The executor carries the actions out in order, skipping TAKE/RESUME once
 * it holds target leases (a TAKE that loses its race just moves on to the next). 0 with
 * *out filled, or -1 on ENOMEM (*out empty). */
int plan_sync(const plan_sync_in *in, plan_sync_out *out);
void plan_sync_cleanup(plan_sync_out *out); /* accepts NULL and an empty out */

const char *plan_op_name(plan_op op); /* "delete", "drop", "renew", "take", "resume" */

#endif
