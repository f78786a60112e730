/* post.h — patterns C and D as the product runs them: a message into a conversation of
 * mine (C), and a message to a user that starts or joins the one conversation of the pair
 * (D), each never overwriting another message and optionally idempotent per
 * Idempotency-Key. Every operation ends in an outcome the caller maps to its answer (the
 * API: HTTP status + JSON). The design is in the comment at the top of post.c. */
#ifndef CR_MESSAGING_POST_H
#define CR_MESSAGING_POST_H

#include <stdint.h>

#include <jansson.h>

#include "aws/ddb.h"
#include "base/uuid.h"
#include "messaging/members.h"
#include "messaging/messaging.h"

#define MESSAGING_POST_TS_TRIES 8   /* microseconds tried for one message or group */
#define MESSAGING_POST_PAIR_TRIES 8 /* D's create-or-join rounds */

/* One post: borrowed for the call. */
typedef struct messaging_post {
    const messaging_user *me; /* the sender (uuid lowercase) */
    const char *message;      /* valid text (messaging_text_chars), never logged */
    const char *idem_key;     /* Idempotency-Key, or NULL */
    const char *fingerprint;  /* with idem_key: messaging_post_fingerprint's */
    int64_t at_us;            /* the first microsecond tried; 0: now (the product) */
} messaging_post;

typedef enum messaging_post_outcome {
    MESSAGING_POST_FRESH,         /* replay only: no record of the key; go on */
    MESSAGING_POST_POSTED,        /* C: written; answer = the message object */
    MESSAGING_POST_CREATED,       /* D: a new conversation; answer {message_group_uuid} */
    MESSAGING_POST_JOINED,        /* D: into the pair's conversation; answer as CREATED */
    MESSAGING_POST_REPLAYED,      /* the key's stored answer (byte for byte) */
    MESSAGING_POST_KEY_REUSED,    /* the key was used with another request */
    MESSAGING_POST_IN_PROGRESS,   /* another request with the key has not finished */
    MESSAGING_POST_BAD_RECORD,    /* the key's stored answer cannot be read */
    MESSAGING_POST_NOT_MEMBER,    /* C: no such conversation of mine */
    MESSAGING_POST_SELF,          /* D: the other user is me */
    MESSAGING_POST_BUSY,          /* MESSAGING_POST_TS_TRIES microseconds all taken */
    MESSAGING_POST_BUSY_CREATING, /* D: the same, for the new conversation's rows */
    MESSAGING_POST_CONTENDED,     /* D: MESSAGING_POST_PAIR_TRIES rounds lost on the pair */
    MESSAGING_POST_FAILED,        /* the store did not answer: step and err filled */
} messaging_post_outcome;

/* What an operation ended in. _init before, _cleanup after (accepts NULL). */
typedef struct messaging_post_result {
    messaging_post_outcome outcome;
    json_t *answer;       /* POSTED, CREATED, JOINED, REPLAYED: owned */
    char group[UUID_BUF]; /* CREATED, JOINED: the conversation; else "" */
    const char *step;     /* FAILED: "membership", "put", "idempotency_read",
                                      * "pair_lookup", "member_lookup", "create_group" */
    ddb_error err;        /* FAILED: why */
} messaging_post_result;

void messaging_post_result_init(messaging_post_result *r);
void messaging_post_result_cleanup(messaging_post_result *r);

/* The fingerprint of a request for its idempotency record: lowercase hex SHA-256 of kind
 * ('C' or 'D'), target (C: the group uuid; D: the handle as given, without '@') and the
 * message, each followed by '\n'. 0, or -1 (a string NULL, no memory). */
int messaging_post_fingerprint(char out[65], char kind, const char *target, const char *message);

/* Whether p->idem_key's record exists and has not expired (consistent GetItem): REPLAYED
 * (its answer), KEY_REUSED (another fingerprint), BAD_RECORD, FRESH (none, or no key), or
 * FAILED (step "idempotency_read"). 0, or -1 (no memory; res->outcome FAILED). */
int messaging_post_replay(const messaging_store *st, const messaging_post *p,
                          messaging_post_result *res);

/* Pattern C: p's message into group (lowercase uuid) when p->me is a member
 * (messaging_members_check; else NOT_MEMBER, or FAILED step "membership"): a PutItem on
 * attribute_not_exists(sk) at p->at_us, or — with an idempotency key — a TransactWriteItems
 * of that Put and the record (answer stored), retried at the next microsecond on a
 * collision. POSTED, REPLAYED / KEY_REUSED / IN_PROGRESS / BAD_RECORD (the key's record
 * was written meanwhile), BUSY, FAILED (step "put", or "idempotency_read" re-reading the
 * record after losing on it). 0, or -1 (no memory). */
int messaging_post_message(const messaging_store *st, const messaging_post *p, const char *group,
                           messaging_post_result *res);

/* Pattern D: p's message to other, in the pair's one conversation: JOINED when it exists
 * and p->me holds a row of it (as C, answer {message_group_uuid}), otherwise CREATED — a
 * new group (both rows, the first message and the pair item in one transaction; a stale
 * pair item whose group has no row of mine is replaced). A round lost on the pair item
 * (another creator won) looks again, up to MESSAGING_POST_PAIR_TRIES. SELF, BUSY (joining),
 * BUSY_CREATING, CONTENDED, the key outcomes as C, FAILED (steps "pair_lookup",
 * "member_lookup", "put", "create_group", "idempotency_read"). The conversation's uuid is
 * always new and random; p->at_us dates its first message. 0, or -1 (no memory). */
int messaging_start(const messaging_store *st, const messaging_post *p, const messaging_user *other,
                    messaging_post_result *res);

#endif
