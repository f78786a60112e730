/* groupsync.h — access pattern E: keep both group rows of a conversation at its newest
 * message. Applied by cruddur-streamd to every record of the table's stream; idempotent and
 * forward-only, so replays, duplicates, reordering and concurrent appliers all leave the same
 * table: each group row of the group ends at the newest message any applier has seen. */
#ifndef CR_GROUPSYNC_H
#define CR_GROUPSYNC_H

#include <stdbool.h>

#include <jansson.h>

#include "aws/ddb.h"
#include "base/errinfo.h"
#include "base/uuid.h"

/* Bounds on what one call reads and tries (the stream record is external input). */
#define GROUPSYNC_MESSAGE_MAX (400 * 1024) /* bytes of message text: DynamoDB's item limit */
#define GROUPSYNC_ROWS_MAX 16              /* group rows of one group read (the model has two) */
#define GROUPSYNC_ROUNDS 8      /* read-and-decide rounds per call before GROUPSYNC_RETRY */
#define GROUPSYNC_SCAN_PAGES 64 /* pages of one user's rows in the consistent fallback */

typedef enum groupsync_action {
    GROUPSYNC_IGNORED,  /* not a new message item: a group row, an IDEM# item, a REMOVE... */
    GROUPSYNC_MOVED,    /* at least one group row moved forward to this message */
    GROUPSYNC_CURRENT,  /* every group row was already at or past this message */
    GROUPSYNC_NO_GROUP, /* a message whose group has no group rows (nothing to move) */
} groupsync_action;

typedef struct groupsync_result {
    groupsync_action action;
    int moved;            /* group rows moved by this call */
    int races;            /* lost races (condition failed or TransactionConflict), each
                            followed by a jittered pause and a re-read */
    int removed;          /* stale duplicate group rows deleted: a row of the same user and
                            group already stood at this message (counts as MOVED) */
    bool cached;          /* the rows came from the cache (groupsync_apply_cached) */
    char group[UUID_BUF]; /* the message's group uuid, "" when ignored */
    char created_at[40];  /* the message's created_at (its sk), "" when ignored */
} groupsync_result;

/* What groupsync_parse_record and groupsync_apply return. */
typedef enum groupsync_status {
    GROUPSYNC_OK = 0,
    GROUPSYNC_RETRY = -1, /* DynamoDB failed (err filled): trying again later may work */
    GROUPSYNC_BAD = -2,   /* the record can never be applied (err->info says why):
                              malformed image, or a conflict that cannot resolve */
} groupsync_status;

/* A stream record classified and validated (no I/O). */
typedef struct groupsync_msg {
    bool is_message;       /* false: the record is to be ignored (the rest is zero) */
    char group[UUID_BUF];  /* the group uuid from pk "MSG#<uuid>" */
    char created_at[40];   /* the message's sk: an ISO-8601 timestamp */
    const json_t *message; /* the image's "message" AV ({"S": ...}), borrowed from the
                                record: never log it */
    char sender[UUID_BUF]; /* the image's user_uuid when it is a uuid, else "" */
} groupsync_msg;

/* Classifies one stream record: an INSERT or MODIFY whose pk (NewImage, else Keys) is
 * "MSG#..." is a message; every other well-formed record (REMOVE, GRP#, IDEM#..., any other
 * pk) is to be ignored. A message must carry a NewImage with pk "MSG#<uuid>", sk an ISO-8601
 * timestamp (< 40 chars) and message an S of at most GROUPSYNC_MESSAGE_MAX bytes, agreeing
 * with Keys when both are present. GROUPSYNC_OK with *out filled, or GROUPSYNC_BAD with e
 * saying why (never quoting message text) for a malformed record: not an object, no or an
 * unknown eventName, no dynamodb object, or a message item that breaks the rules above. */
groupsync_status groupsync_parse_record(const json_t *record, groupsync_msg *out, errinfo *e);

/* Applies one stream record — an element of GetRecords' Records array, borrowed:
 * {"eventName": "INSERT"|"MODIFY"|"REMOVE", "dynamodb": {"Keys":…, "NewImage":…,
 * "SequenceNumber":…}, …}. For an INSERT or MODIFY of a message item (pk "MSG#<group>"):
 * reads the group rows of the group through the GSI, asks the planner (groupsync_plan.h)
 * and moves each whose sk is older than
 * the message's created_at to sk = created_at with message = the message text, delete-old
 * and put-new in one transaction conditioned on the state read; a lost race re-reads and
 * decides again (bounded). Never logs message text. res is always filled. The GSI is
 * eventually consistent: when it shows fewer than a group's two rows and the message names
 * its sender (user_uuid), the rows are read strongly consistent instead — the sender's row
 * from pk GRP#<sender>, then the partner's (that row's user_uuid) from GRP#<partner>, each
 * at most GROUPSYNC_SCAN_PAGES pages — so a conversation created or moved a moment ago is
 * never mistaken for one without rows.
 *
 * Each move is one TransactWriteItems: Delete of the old key conditioned on
 * attribute_exists(pk) and every other attribute as read (message absent when it was), and Put of the same item
 * (every other attribute copied unchanged, types kept) at sk = created_at with the new
 * message, conditioned on attribute_not_exists(pk). When a failed condition cancels the
 * transaction, the target key is read (GetItem, consistent): a row of the same user and group
 * there means the old row is a stale duplicate and it is deleted (conditioned as above; a
 * row read beside a twin of the same pk and group already at created_at is deleted so
 * without trying the move); a row of
 * ANOTHER conversation there (two conversations of one user with messages in the same
 * microsecond) is never overwritten: the other rows are still moved, then GROUPSYNC_BAD.
 * Otherwise (and on TransactionConflict) a jittered pause, re-read, decide again — up to
 * GROUPSYNC_ROUNDS rounds, then GROUPSYNC_RETRY. Throttling, transport and other service
 * errors (after the client's own retries) are GROUPSYNC_RETRY; a ValidationException is
 * GROUPSYNC_BAD. err is cleared on GROUPSYNC_OK. On AWS the GSI is eventually consistent: a
 * stale read only costs lost races (rows move forward only), but rows written a moment ago
 * may not be seen yet, so NO_GROUP right after a group was created is not proof of absence. */
groupsync_status groupsync_apply(ddb *d, const char *table, const json_t *record,
                                 groupsync_result *res, ddb_error *err);

struct groupsync_cache;

/* groupsync_apply with a cache of the rows (groupsync_cache.h; NULL: none). The first round
 * plans from the cached rows when the cache holds two rows of the group, instead of the
 * Query; a finished call stores the rows as it left them, and forgets them on anything it
 * did not foresee. A move from cached rows is conditioned on every attribute as cached (as
 * every move is), and a cancelled one is a lost race: the entry is forgotten and the rows
 * read again. When the plan moves both rows, they move in one TransactWriteItems (four
 * actions); a cancelled one from rows just read falls back to moving them one by one. */
groupsync_status groupsync_apply_cached(ddb *d, const char *table, struct groupsync_cache *cache,
                                        const json_t *record, groupsync_result *res,
                                        ddb_error *err);

const char *groupsync_action_name(groupsync_action a); /* "ignored", "moved", ... */

#endif
