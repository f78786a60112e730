/* streamd.h — the stream daemon's loop: discovers the table's stream shards, holds leases on
 * its share of them, reads every record of each held shard in order, applies pattern E
 * (messaging/groupsync.h) to the newest message of each conversation in a batch, and
 * checkpoints each batch in the lease table once it is fully applied. Records that cannot be
 * applied after bounded retries become dead letters (deadletter.h); the shard moves on. */
#ifndef CR_STREAMD_H
#define CR_STREAMD_H

#include <stdbool.h>
#include <stdint.h>

#include "aws/ddb.h"
#include "base/errinfo.h"

typedef struct streamd_options {
    ddb *d;                    /* borrowed */
    const char *table;         /* the messages table */
    const char *lease_table;   /* created when missing */
    const char *stream_arn;    /* NULL: the table's LatestStreamArn */
    const char *owner;         /* this daemon's lease owner name; NULL: host:pid:random
                                    (host:1 as PID 1, a container's main process) */
    bool latest;               /* new root shards start at LATEST, not TRIM_HORIZON */
    bool once;                 /* drain every available shard to its current end, exit */
    long give_up_ms;           /* with once: fail when a shard has failed this long in a
                                    row (an outage); 0: STREAMD_GIVE_UP_MS */
    long poll_ms;              /* pause between polls of a shard that is caught up */
    long lease_timeout_ms;     /* a lease whose counter stays put this long is taken over */
    int record_attempts;       /* tries of a record before it becomes a dead letter */
    long deadletter_ttl_s;     /* a dead letter expires this long after it is made */
    int batch_limit;           /* GetRecords Limit, 1..1000 */
    struct sdmetrics *metrics; /* borrowed: counted into (sdmetrics.h); NULL: none */
    long group_cache;          /* conversations whose group rows are kept between batches
                                    (groupsync_cache.h); 0: GROUPSYNC_CACHE_GROUPS_DEFAULT,
                                    -1: none (every record reads its rows); split
                                    evenly over the appliers */
    ddb **apply_clients;       /* borrowed: napply_clients clients, one per applier thread
                                    (a client is not thread safe), none of them d */
    int napply_clients;        /* 0 or 1: one applier, inline on d; 2..STREAMD_APPLIERS_MAX:
                                    that many threads apply a batch's conversations at once */
} streamd_options;

#define STREAMD_APPLIERS_MAX 32

#define STREAMD_GIVE_UP_MS 120000

typedef struct streamd streamd;

/* Copies what it needs from o. NULL with e set on a bad option or ENOMEM. */
streamd *streamd_new(const streamd_options *o, errinfo *e);
void streamd_free(streamd *s); /* accepts NULL */

/* Runs until streamd_request_stop() (or, with once, until drained): 0 after a clean stop
 * (batch in hand finished, checkpointed, leases released), -1 with e on a fatal error. */
int streamd_run(streamd *s, errinfo *e);

/* Asks every running loop to stop after its batch in hand; async-signal-safe. */
void streamd_request_stop(void);

/* Counters, for tests and the STATUS line. */
typedef struct streamd_stats {
    uint64_t records;      /* records read */
    uint64_t moved;        /* records that moved at least one group row */
    uint64_t superseded;   /* messages skipped for a newer one of the same conversation */
    uint64_t dead_letters; /* records stored as dead letters */
    int64_t lag_ms;        /* age of the newest record processed; 0 when caught up */
    uint64_t cache_hits, cache_misses, cache_stale; /* the group-row cache's lookups */
    int shards;                                     /* shards held */
} streamd_stats;
void streamd_get_stats(const streamd *s, streamd_stats *out);

#endif
