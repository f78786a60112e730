/* streamd_internal.h — what the parts of cruddur-streamd share (not a public contract):
 * the daemon's state, and the functions one part calls in another. streamd.c runs the loop;
 * streamd_lease.c syncs shards and leases (plan_sync's executor) and keeps them alive;
 * streamd_poll.c reads a shard and checkpoints it; streamd_apply.c applies a batch, on the
 * applier threads when there are several. */
#ifndef CR_STREAMD_INTERNAL_H
#define CR_STREAMD_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "aws/ddb.h"
#include "base/errinfo.h"
#include "streamd/lease.h"
#include "streamd/plan.h"
#include "streamd/sdmetrics.h"
#include "streamd/streamd.h"

#define STREAMD_MAX_SHARDS 4096 /* leases and shards tracked; far above any table's */
#define STREAMD_BACKOFF_MAX_MS 5000
#define STREAMD_YOUNG_MS 30000 /* a record this young may precede its index entries */
#define STREAMD_NO_GROUP_PAUSE_MS 500
#define STREAMD_POLL_MIN_MS 201 /* between two GetRecords of one shard: AWS allows 5 a second */

typedef struct streamd_shard {
    lease l;        /* our copy: owner = us, counter = the last we wrote */
    char *iterator; /* NULL: acquire from the checkpoint */
    int64_t next_poll_ms;
    int64_t backoff_ms;
    int64_t renewed_ms; /* when we last bumped the counter */
    int64_t lag_ms;
    bool drained;                        /* read to its current end (an empty batch) */
    int64_t failing_ms;                  /* when its current run of failed polls began; 0: none */
    char why[sizeof((errinfo *)0)->msg]; /* the last failure, for --once giving up */
    bool lost;                           /* a renewal found it taken: drop after the batch */
} streamd_shard;

struct streamd {
    ddb *d;
    char *table, *lease_table, *arn_option, *owner;
    char arn[LEASE_ARN_MAX];
    bool latest, once;
    long poll_ms, lease_timeout_ms, give_up_ms;
    int record_attempts, batch_limit;
    long deadletter_ttl_s;

    streamd_shard *held;
    size_t nheld;
    plan_obs *obs;
    size_t nobs;
    int64_t next_sync_ms;
    bool sync_again;    /* a shard ended: its children may be ready now */
    bool took_nothing;  /* the last sync found nothing left to take */
    size_t others_hold; /* unfinished leases other owners hold (last sync) */
    int64_t wd_every_ms, next_wd_ms;
    streamd_stats stats;
    sdmetrics *metrics; /* borrowed; NULL: none */

    /* The appliers (streamd_apply.c): one runs inline on the loop's thread and client;
     * several run on threads of their own, each with its own client, handed one batch at a
     * time under mu (generation counts the batches handed out, busy those not done). */
    struct streamd_applier *appliers; /* owned: nappliers, each with its own row cache */
    int nappliers;
    bool pool_ready; /* mu, work and done exist (several appliers) */
    pthread_mutex_t mu;
    pthread_cond_t work, done;
    uint64_t generation;
    int busy;
    bool quit;
    const struct streamd_batch *batch;
};

typedef struct streamd_applier streamd_applier;

/* Logs a failed call (event, shard or NULL, the error's message, type and HTTP status) and
 * counts it in the metrics by its kind. */
void streamd_log_error(streamd *s, const char *event, const char *shard, const ddb_error *err);

/* The stream's ARN into s->arn: the option, else the table's LatestStreamArn (logged when
 * it changes). 0, or -1 with err (no stream: ERR_CONFIG saying how to enable it). */
int streamd_resolve_arn(streamd *s, ddb_error *err);

/* One sync: the stream's shards and the lease table, then plan_sync's actions carried out
 * (delete, drop, renew, take). 0, or -1 with err (the sync stops at the first failure that
 * is not a lost race; what was done stays done). */
int streamd_sync(streamd *s, int64_t now, ddb_error *err);

/* Forgets sh (logs lease_dropped with why); the last slot moves into sh's. */
void streamd_drop(streamd *s, streamd_shard *sh, const char *why);
/* streamd_drop for a lease another owner took: counted as lost. */
void streamd_lose(streamd *s, streamd_shard *sh, const char *why);

/* Pings the watchdog and renews the leases that are due; a lease found taken is marked
 * lost (dropped by the caller once the batch in hand is done). */
void streamd_keepalive(streamd *s);

/* The appliers of o (streamd_options.apply_clients): their caches, and their threads when
 * there are several. 0, or -1 with e (what was started is stopped by streamd_appliers_stop). */
int streamd_appliers_start(streamd *s, const streamd_options *o, errinfo *e);
/* Stops the threads after the batch in hand and frees the appliers; accepts none started. */
void streamd_appliers_stop(streamd *s);
/* The row caches' counters, summed over the appliers; only between batches. */
struct groupsync_cache_stats;
void streamd_appliers_cache_stats(const streamd *s, struct groupsync_cache_stats *out);

/* Applies a batch of sh's records (stream order): the newest message of each conversation,
 * falling back to the next-older one when it proves bad; conversations spread over the
 * appliers. Updates s->stats and sh->lag_ms. 0, or -1 when the batch must be read again. */
int streamd_apply_batch(streamd *s, streamd_shard *sh, const json_t *records);

/* Reads and applies one batch of sh, then checkpoints it; may drop sh. */
void streamd_poll(streamd *s, streamd_shard *sh, int64_t now);

#endif
