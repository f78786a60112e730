/* deadletter.h — records the daemon could not apply, kept in the lease table under keys
 * "dlq#<shard id>#<sequence number>" so the shard moves on and an operator can list them and
 * replay them (`cruddur-streamd dead-letters ...`). The stored record holds no message text:
 * the NewImage's "message" and the OldImage are left out (deadletter_redact), and a replay
 * reads the message item back from the table by its keys (deadletter_restore). Each dead
 * letter expires (attribute expiresAt, the lease table's TTL attribute) after
 * CRUDDUR_DEADLETTER_TTL_DAYS days; one past it is no longer listed or replayed. */
#ifndef CR_DEADLETTER_H
#define CR_DEADLETTER_H

#include <jansson.h>

#include "aws/ddb.h"

/* Largest record text stored; a larger one is stored without its NewImage (Keys kept). */
#define DEADLETTER_RECORD_MAX (300 * 1024)

/* The attribute DynamoDB's TTL deletes dead letters by (epoch seconds, N). */
#define DEADLETTER_TTL_ATTR "expiresAt"
#define DEADLETTER_TTL_DAYS_DEFAULT 14

/* Stores one dead letter (idempotent per shard and sequence number), redacted, expiring
 * ttl_s seconds from now. record is borrowed. 0, or -1 with err. */
int deadletter_put(ddb *d, const char *table, const char *stream_arn, const char *shard_id,
                   const char *seq, const json_t *record, const char *reason, int attempts,
                   long ttl_s, ddb_error *err);

/* A copy of the stream record without message text: no dynamodb.OldImage, no "message" in
 * dynamodb.NewImage. New reference; NULL on ENOMEM. Pure. */
json_t *deadletter_redact(const json_t *record);

/* Puts the message back into a redacted record (borrowed, changed in place): its NewImage
 * becomes the message item read (strongly consistent) from table by the record's keys.
 * A record whose NewImage has its message is left alone. 0; -1 with err (ERR_NOTFOUND:
 * the message is no longer in the table). */
int deadletter_restore(ddb *d, const char *table, json_t *record, ddb_error *err);

/* Every dead letter not yet expired, oldest first: *out a new array of plain objects {id,
 * shard_id, sequence_number, reason, attempts, created_at, expires_at (epoch s, 0: never),
 * stream_arn, record} (record parsed back into the stream record shape, redacted). 0, or -1
 * with err. */
int deadletter_list(ddb *d, const char *table, json_t **out, ddb_error *err);

/* Deletes the dead letter with this id ("dlq#..."); 0 also when it was already gone. */
int deadletter_delete(ddb *d, const char *table, const char *id, ddb_error *err);

#endif
