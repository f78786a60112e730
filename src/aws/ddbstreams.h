/* ddbstreams.h — the DynamoDB Streams calls: ListStreams, DescribeStream (every shard
 * page), GetShardIterator, GetRecords. Uses the client of ddb.h. */
#ifndef CR_DDBSTREAMS_H
#define CR_DDBSTREAMS_H

#include <jansson.h>

#include "aws/ddb.h"

/* Every stream (all pages), optionally of one table (NULL: all); *streams is a new array of
 * {StreamArn, TableName, StreamLabel}. */
int ddbstreams_list(ddb *d, const char *table, json_t **streams, ddb_error *err);

/* DescribeStream over every page of shards: *desc (optional) gets the StreamDescription
 * without Shards, *shards a new array of every Shard {ShardId, ParentShardId,
 * SequenceNumberRange}. */
int ddbstreams_describe(ddb *d, const char *arn, json_t **desc, json_t **shards, ddb_error *err);

typedef enum ddbstreams_position {
    DDBSTREAMS_TRIM_HORIZON,
    DDBSTREAMS_LATEST,
    DDBSTREAMS_AT_SEQUENCE_NUMBER,
    DDBSTREAMS_AFTER_SEQUENCE_NUMBER,
} ddbstreams_position;

/* A shard iterator (malloc'd string, caller frees). seq is required for the *_SEQUENCE_NUMBER
 * positions and ignored otherwise. */
int ddbstreams_iterator(ddb *d, const char *arn, const char *shard_id, ddbstreams_position pos,
                        const char *seq, char **iterator, ddb_error *err);

/* GetRecords (limit 1..1000, 0: service default): *records a new array; *next the next
 * iterator (malloc'd) or NULL when the shard is closed and fully read. */
int ddbstreams_records(ddb *d, const char *iterator, int limit, json_t **records, char **next,
                       ddb_error *err);

#endif
