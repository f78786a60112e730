/* deadletter.h — records the daemon could not apply, kept in the lease table under keys
 * "dlq#<shard id>#<sequence number>" so the shard moves on and an operator can list them and
 * replay them (`cruddur-streamd dead-letters ...`). The stored record is the stream record as
 * read (it holds message text: it stays in DynamoDB and never reaches a log). */
#ifndef CR_DEADLETTER_H
#define CR_DEADLETTER_H

#include <jansson.h>

#include "aws/ddb.h"

/* Largest record text stored; a larger one is stored without its NewImage (Keys kept). */
#define DEADLETTER_RECORD_MAX (300 * 1024)

/* Stores one dead letter (idempotent per shard and sequence number). record is borrowed.
 * 0, or -1 with err. */
int deadletter_put(ddb *d, const char *table, const char *stream_arn, const char *shard_id,
                   const char *seq, const json_t *record, const char *reason, int attempts,
                   ddb_error *err);

/* Every dead letter, oldest first: *out a new array of plain objects {id, shard_id,
 * sequence_number, reason, attempts, created_at, stream_arn, record} (record parsed back
 * into the stream record shape). 0, or -1 with err. */
int deadletter_list(ddb *d, const char *table, json_t **out, ddb_error *err);

/* Deletes the dead letter with this id ("dlq#..."); 0 also when it was already gone. */
int deadletter_delete(ddb *d, const char *table, const char *id, ddb_error *err);

#endif
