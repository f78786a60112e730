/* lease.h — the lease table of cruddur-streamd (the Kinesis Client Library's model): one item
 * per shard holding its owner, a lease counter bumped by every write of the holder, the
 * checkpoint and the parent shard ids. Every write is conditioned on the counter and owner
 * the caller last saw, so two daemons never both believe they hold a shard for long. The
 * same table keeps the dead letters (deadletter.h) under keys starting "dlq#". */
#ifndef CR_LEASE_H
#define CR_LEASE_H

#include <stdbool.h>
#include <stdint.h>

#include "aws/ddb.h"

#define LEASE_ID_MAX 128 /* shard ids are at most 65 characters */
#define LEASE_OWNER_MAX 128
#define LEASE_SEQ_MAX 48 /* sequence numbers are 21..40 digits */
#define LEASE_ARN_MAX 1024
#define LEASE_MAX_PARENTS 2

/* Checkpoint values besides a sequence number. */
#define LEASE_TRIM_HORIZON "TRIM_HORIZON"
#define LEASE_LATEST "LATEST"
#define LEASE_SHARD_END "SHARD_END"

typedef struct lease {
    char shard_id[LEASE_ID_MAX];
    char owner[LEASE_OWNER_MAX]; /* "" when free */
    int64_t counter;
    char checkpoint[LEASE_SEQ_MAX]; /* a sequence number or one of the values above */
    char parents[LEASE_MAX_PARENTS][LEASE_ID_MAX];
    int nparents;
    char stream_arn[LEASE_ARN_MAX];
} lease;

/* What the conditional writes return. */
typedef enum lease_status {
    LEASE_ERROR = -1, /* DynamoDB failed or a bad argument: err filled, l unchanged */
    LEASE_OK = 0,     /* written; l holds what was written */
    LEASE_LOST = 1,   /* the condition failed: someone else wrote it (l unchanged) */
} lease_status;

/* Creates the table (on-demand, key leaseKey S) when it does not exist and waits until it
 * is ACTIVE. 0, or -1 with err. */
int lease_table_ensure(ddb *d, const char *table, long timeout_ms, ddb_error *err);

/* Every lease of stream_arn (NULL: of any stream) by a strongly consistent Scan over all
 * pages; *out is a new array (free()) of *n leases. Dead letters and malformed items are
 * skipped (malformed ones are logged). 0, or -1 with err. */
int lease_scan(ddb *d, const char *table, const char *stream_arn, lease **out, size_t *n,
               ddb_error *err);

/* Puts a new lease when none exists for the shard: LEASE_OK created, LEASE_LOST when one
 * exists, LEASE_ERROR with err. */
lease_status lease_create(ddb *d, const char *table, const lease *l, ddb_error *err);

/* Takes l (free, or held by an owner whose counter stopped moving) for me: conditioned on
 * the counter and owner in l; on LEASE_OK, l holds the new owner and counter. LEASE_LOST
 * or LEASE_ERROR. */
lease_status lease_take(ddb *d, const char *table, lease *l, const char *me, ddb_error *err);
/* Bumps the counter of a lease l->owner holds. LEASE_OK, LEASE_LOST or LEASE_ERROR. */
lease_status lease_renew(ddb *d, const char *table, lease *l, ddb_error *err);
/* Stores seq (or LEASE_SHARD_END) as the checkpoint and bumps the counter. LEASE_OK,
 * LEASE_LOST or LEASE_ERROR. */
lease_status lease_checkpoint(ddb *d, const char *table, lease *l, const char *seq, ddb_error *err);
/* Gives the lease up (no owner) so another daemon takes it at once. LEASE_OK, LEASE_LOST
 * or LEASE_ERROR. */
lease_status lease_release(ddb *d, const char *table, lease *l, ddb_error *err);

/* Deletes the lease of a finished shard that is gone from the stream, conditioned on the
 * counter in l (so a lease someone just wrote stays). LEASE_OK, LEASE_LOST or
 * LEASE_ERROR. */
lease_status lease_delete(ddb *d, const char *table, const lease *l, ddb_error *err);

/* Parses a lease item (pure, for tests). 0, or -1 with e when it is not a well-formed
 * lease. */
int lease_from_item(const json_t *item, lease *l, errinfo *e);
/* The item of l (new reference) or NULL on ENOMEM. */
json_t *lease_to_item(const lease *l);

/* Whether a checkpoint value is a sequence number (decimal digits, 1..47 of them). */
bool lease_is_seq(const char *checkpoint);

#endif
