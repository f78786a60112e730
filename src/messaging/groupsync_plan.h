/* groupsync_plan.h — pattern E's decisions as pure functions: given the group rows read and
 * the message, which rows move, which are current, which are stale duplicates; given what a
 * failed condition left at the target key, whether it is a race, a duplicate or a collision
 * with another conversation; given a failed write, what to do next. No I/O: groupsync.c
 * reads, asks these, and writes. */
#ifndef CR_GROUPSYNC_PLAN_H
#define CR_GROUPSYNC_PLAN_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "aws/ddb.h"
#include "messaging/groupsync.h"

/* What to do with one row of the rows read. */
typedef enum groupsync_verdict {
    GROUPSYNC_ROW_SKIP,    /* not a group row this module may move (pk not "GRP#..."
                               within MESSAGING_KEY_MAX, sk not an S), or its pk is in
                               skip[] (its target key holds another conversation's row) */
    GROUPSYNC_ROW_CURRENT, /* at or past the message (sk >= created_at): forward only */
    GROUPSYNC_ROW_MOVE,    /* older than the message: move it to sk = created_at */
    GROUPSYNC_ROW_DELETE,  /* older than the message while a row of the same pk and group
                               already stands at created_at in the rows read: a stale
                               duplicate */
} groupsync_verdict;

typedef struct groupsync_plan {
    size_t nrows; /* rows judged (= the array's size) */
    groupsync_verdict verdict[GROUPSYNC_ROWS_MAX];
    int usable;  /* rows that are group rows of the group (all but ROW_SKIP) */
    int moves;   /* rows to ROW_MOVE */
    int deletes; /* rows to ROW_DELETE */
} groupsync_plan;

/* Judges each row of rows (an array of DynamoDB items, borrowed) against the message's
 * created_at (its sk). skip: nskip pks (NUL-terminated) whose rows are ROW_SKIP. 0 with *out
 * filled, or -1 (*out zeroed) when rows is not an array, holds more than GROUPSYNC_ROWS_MAX
 * rows, or created_at is NULL. Sort keys compare as byte strings, length-aware. */
int groupsync_plan_rows(const json_t *rows, const char *created_at, const char *const *skip,
                        size_t nskip, groupsync_plan *out);

/* Whether p's moves go in one transaction (both rows of a conversation at once): exactly two
 * rows to ROW_MOVE, with different pks, and none to ROW_DELETE; their indexes in *a < *b.
 * A cancelled pair falls back to moving row by row (which tells races, duplicates and
 * collisions apart). */
bool groupsync_plan_pair(const json_t *rows, const groupsync_plan *p, size_t *a, size_t *b);

/* Whether rows (judged in p) may stand in the cache (groupsync_cache.h): exactly two rows,
 * both usable, of the same message_group_uuid, with different pks. */
bool groupsync_plan_cacheable(const json_t *rows, const groupsync_plan *p);

/* The rows as they stand once every ROW_MOVE of p moved to sk = created_at with message
 * (an S AV, borrowed): a new array of deep copies, the other rows as read. NULL when rows
 * are not cacheable or on ENOMEM. */
json_t *groupsync_plan_after(const json_t *rows, const groupsync_plan *p, const char *created_at,
                             const json_t *message);

/* What stands at the target key of a move whose condition failed. */
typedef enum groupsync_target {
    GROUPSYNC_TARGET_EMPTY,     /* nothing (have is NULL): the old row changed under us —
                                    re-read and decide again */
    GROUPSYNC_TARGET_DUPLICATE, /* a row of the same group (message_group_uuid as row's):
                                    row is a stale duplicate — delete it */
    GROUPSYNC_TARGET_COLLISION, /* a row of another conversation, or another item: never
                                    overwritten */
} groupsync_target;

/* Judges have (the item read at the target key, or NULL) against row (the row that was to
 * move there); both borrowed. */
groupsync_target groupsync_plan_target(const json_t *row, const json_t *have);

/* What to do after a write of pattern E failed. */
typedef enum groupsync_next {
    GROUPSYNC_NEXT_CHECK,  /* a condition failed (ConditionalCheckFailedException, or a
                               cancelled transaction with a ConditionalCheckFailed reason or
                               no reasons at all): a move reads its target key; a delete
                               re-reads */
    GROUPSYNC_NEXT_REREAD, /* lost a race with another writer (TransactionConflict as a
                               reason or as TransactionConflictException): pause, re-read,
                               decide again */
    GROUPSYNC_NEXT_BAD,    /* the request can never succeed (ValidationException, or a
                               ValidationError reason): the record is bad */
    GROUPSYNC_NEXT_RETRY,  /* anything else (throttling, transport, other service errors):
                               GROUPSYNC_RETRY, later */
} groupsync_next;

/* Classifies err, the failure of a TransactWriteItems or DeleteItem; reasons are read
 * with aws_error_reason_is. A condition outranks a conflict, a conflict a validation
 * error. */
groupsync_next groupsync_plan_failure(const ddb_error *err);

/* The string of an S AV (borrowed) with its length in *len; NULL when av is not an S or the
 * string holds a NUL byte. The one reading of strings every rule of pattern E uses. */
const char *groupsync_plan_s(const json_t *av, size_t *len);
/* Whether a and b are both S AVs holding the same string. */
bool groupsync_plan_same_s(const json_t *a, const json_t *b);

/* The action a finished call reports: MOVED when a row moved or was removed, NO_GROUP when
 * no usable row was seen and none collided, else CURRENT. */
groupsync_action groupsync_plan_outcome(int moved, int removed, int usable, int collided);

#endif
