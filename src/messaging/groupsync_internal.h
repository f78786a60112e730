/* groupsync_internal.h — what groupsync.c shares with groupsync_together.c: the state of
 * one message's apply, the parts of one row's move, and the transaction that carries moves.
 * Not for use outside src/messaging/groupsync*.c. */
#ifndef CRUDDUR_GROUPSYNC_INTERNAL_H
#define CRUDDUR_GROUPSYNC_INTERNAL_H

#include <jansson.h>

#include "aws/ddb.h"
#include "messaging/groupsync.h"
#include "messaging/groupsync_plan.h"
#include "messaging/messaging.h"

typedef struct groupsync_ctx {
    ddb *d;
    const char *table;
    const groupsync_msg *m;
    ddb_error *err;
    char collision[sizeof((errinfo *)0)->msg]; /* why the first collision is unresolvable */
    char collided[GROUPSYNC_ROWS_MAX][MESSAGING_KEY_MAX]; /* pks not to try again */
    const char *skip[GROUPSYNC_ROWS_MAX];                 /* the same, for the planner */
    int ncollided;
} groupsync_ctx;

/* The parts of one move, built from row (borrowed) and the message. */
typedef struct groupsync_move_parts {
    json_t *names, *values, *old_key, *new_item, *new_key;
    ddb_expr cond;
    char expr[640];
} groupsync_move_parts;

/* Frees what p holds and zeroes it (a zeroed p too). */
void groupsync_move_parts_cleanup(groupsync_move_parts *p);

/* Builds p from row (borrowed) and c->m and appends the move's two actions (Delete old,
 * Put new, each conditioned on the state read) to items. 0, or -1 (no memory: p holds what
 * was built, for groupsync_move_parts_cleanup). */
int groupsync_move_actions(groupsync_ctx *c, const json_t *row, groupsync_move_parts *p,
                           json_t *items);

/* Sends items as one TransactWriteItems with a fresh idempotency token. 0, or -1 with
 * c->err filled. */
int groupsync_transact(groupsync_ctx *c, json_t *items);

#endif
