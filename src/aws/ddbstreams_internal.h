/* ddbstreams_internal.h — the pure part of the Streams client that reads a GetRecords
 * reply, exposed for the unit tests and the fuzz targets. */
#ifndef CR_DDBSTREAMS_INTERNAL_H
#define CR_DDBSTREAMS_INTERNAL_H

#include <jansson.h>

#include "aws/ddb.h"

/* Reads a parsed GetRecords reply (borrowed): *records a new reference to its Records
 * array (an empty array when absent), *next a copy of NextShardIterator (NULL when absent,
 * the shard is closed); the caller owns both. 0, or -1 with err set (ERR_SERVICE: Records
 * not an array or an iterator over 8192 bytes; ERR_NOMEM) and both NULL. */
int ddbstreams_records_reply(const json_t *resp, json_t **records, char **next, ddb_error *err);

#endif
