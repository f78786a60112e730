/* messaging.h — the single-table model of cruddur-messages: keys and items exactly as the
 * original boto3 code wrote them, and the access patterns as plain functions over a ddb
 * client, shared by the CLI, the API and the stream daemon. Items are Jansson objects in
 * the wire shape ({"pk": {"S": "MSG#..."}, ...}).
 *
 * Every item the table holds (the catalogue; builders below):
 *   MSG#<group>  sk created_at           a message: message, message_uuid, user_uuid,
 *                                        user_display_name, user_handle (the sender)
 *   GRP#<user>   sk last_message_at      a group row, one per member: message_group_uuid (in
 *                                        the GSI MESSAGING_GSI), message (the last one) and
 *                                        the OTHER member's user_uuid / display name / handle
 *   PAIR#<lo>#<hi> sk "PAIR"             the one conversation of a pair of users:
 *                                        pair_group_uuid, created_at (not in the GSI)
 *   IDEM#<user>  sk <Idempotency-Key>    a POST's idempotency record: kind "C"|"D",
 *                                        fingerprint, result (the JSON answer), created_at,
 *                                        ttl (epoch seconds; not in the GSI)
 * The stream daemon (pattern E) applies MSG# items and skips every other pk.
 *
 * Where each access pattern lives:
 *   A, B  (read a conversation, list my conversations): here
 *   C     (post into a conversation: collision retry, Idempotency-Key): messaging/post.h
 *   D     (start or join the one conversation of a pair): messaging/post.h
 *   membership and the pair rule: messaging/members.h
 *   E     (the stream daemon moves group rows): messaging/groupsync.h
 *   seed data (sample conversation, synthetic set): messaging/seed.h */
#ifndef CR_MESSAGING_H
#define CR_MESSAGING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "aws/ddb.h"
#include "base/buf.h"

#define MESSAGING_TABLE_DEFAULT "cruddur-messages" /* when no variable names the table */

/* The table the programs use: CRUDDUR_DDB_TABLE, else DDB_MESSAGE_TABLE (the name the
 * original Cruddur's prod branch reads), else MESSAGING_TABLE_DEFAULT. Static storage
 * (the environment's). */
const char *messaging_table(void);
#define MESSAGING_GSI "message-group-sk-index"
#define MESSAGING_PAGE_DEFAULT 20 /* pattern A's page, as in the original */
#define MESSAGING_KEY_MAX 64      /* "MSG#" / "GRP#" / "IDEM#" + a UUID, with room */
#define MESSAGING_TS_LEN 33       /* "2026-11-21T09:30:00.123456+00:00" + NUL */

/* The catalogue's key prefixes, fixed sort key and attributes beyond the boto3 ones. */
#define MESSAGING_MSG_PREFIX "MSG#"
#define MESSAGING_GRP_PREFIX "GRP#"
#define MESSAGING_PAIR_PREFIX "PAIR#"
#define MESSAGING_PAIR_SK "PAIR"               /* the pair item's fixed sort key */
#define MESSAGING_PAIR_GROUP "pair_group_uuid" /* its group attribute (not in the GSI) */
#define MESSAGING_PAIR_KEY_MAX 96              /* "PAIR#" + 36 + "#" + 36, with room */
#define MESSAGING_IDEM_PREFIX "IDEM#"
#define MESSAGING_IDEM_TTL_S 86400 /* an idempotency record's life */
#define MESSAGING_IDEM_KEY_MAX 64  /* an Idempotency-Key's length */

/* A participant; every string borrowed. */
typedef struct messaging_user {
    const char *uuid;
    const char *display_name;
    const char *handle;
} messaging_user;

/* ---- keys and items (pure) --------------------------------------------------------------- */

/* "MSG#<group_uuid>" / "GRP#<user_uuid>" into out. 0, or -1 when it does not fit. */
int messaging_msg_pk(char *out, size_t outlen, const char *group_uuid);
int messaging_grp_pk(char *out, size_t outlen, const char *user_uuid);
/* "PAIR#<lower uuid>#<higher uuid>" of users a and b (either order) into out; "IDEM#<user>"
 * into out. 0, or -1 when a string is NULL or it does not fit. */
int messaging_pair_pk(char *out, size_t outlen, const char *a, const char *b);
int messaging_idem_pk(char *out, size_t outlen, const char *user_uuid);

/* "Now" in the table's timestamp format (UTC, microseconds, "+00:00"). 0 or -1. */
int messaging_now(char out[MESSAGING_TS_LEN]);
/* "Now" in microseconds since the epoch: the wall clock, or the function tests set with
 * messaging_clock_for_tests (NULL: the wall clock again) to force two writes into the same
 * microsecond. */
int64_t messaging_now_us(void);
void messaging_clock_for_tests(int64_t (*now_us)(void));

/* A message item: pk MSG#<group>, sk created_at, message, message_uuid and the sender's
 * user_uuid / user_display_name / user_handle, all S. New reference; NULL when a string is
 * NULL or memory runs out. */
json_t *messaging_message_item(const char *group_uuid, const char *created_at,
                               const char *message_uuid, const messaging_user *sender,
                               const char *message);
/* The group row of `me`: pk GRP#<me>, sk last_message_at, message_group_uuid, message (the
 * last one) and user_uuid / user_display_name / user_handle of the OTHER participant, all
 * S. New reference or NULL as above. */
json_t *messaging_group_item(const char *me_uuid, const char *last_message_at,
                             const char *group_uuid, const messaging_user *other,
                             const char *message);

/* The pair item of users a and b naming group: pk PAIR#<lo>#<hi>, sk "PAIR",
 * pair_group_uuid, created_at, all S. Its key alone: messaging_pair_key. New reference;
 * NULL when a string is NULL, too long, or memory runs out. */
json_t *messaging_pair_item(const char *a, const char *b, const char *group_uuid,
                            const char *created_at);
json_t *messaging_pair_key(const char *a, const char *b);
/* The key of user_uuid's idempotency record for key (pk IDEM#<user>, sk key); the whole
 * record: kind, fingerprint, result (JSON text), created_at (S) and ttl (N, epoch seconds).
 * New reference, or NULL as above. */
json_t *messaging_idem_key(const char *user_uuid, const char *key);
json_t *messaging_idem_item(const char *user_uuid, const char *key, const char *kind,
                            const char *fingerprint, const char *result, const char *created_at,
                            int64_t ttl_s);

/* ---- access patterns ---------------------------------------------------------------------
 * Each returns 0, or -1 with err filled; page is cleaned and refilled (items in the wire
 * shape, page->last_key for the next page). No key condition depends on the date. */

/* A: one page of a conversation, newest first (limit <= 0: the service's page size;
 * start_key: ExclusiveStartKey or NULL). Show it reversed, oldest -> newest. */
int messaging_conversation_page(ddb *d, const char *table, const char *group_uuid, int limit,
                                const json_t *start_key, ddb_page *page, ddb_error *err);
/* B: one page of my conversations (group rows), newest first. */
int messaging_groups_page(ddb *d, const char *table, const char *me_uuid, int limit,
                          const json_t *start_key, ddb_page *page, ddb_error *err);
/* A and B as flat documents (aws/ddb.h, ddb_query_view): the same pages without building a
 * Jansson tree, for callers that only read them once (the API's list endpoints). */
int messaging_conversation_view(ddb *d, const char *table, const char *group_uuid, int limit,
                                const json_t *start_key, ddb_page_view *view, ddb_error *err);
int messaging_groups_view(ddb *d, const char *table, const char *me_uuid, int limit,
                          const json_t *start_key, ddb_page_view *view, ddb_error *err);
/* The group rows of one group (both participants) through the GSI. */
int messaging_group_rows_page(ddb *d, const char *table, const char *group_uuid,
                              const json_t *start_key, ddb_page *page, ddb_error *err);
/* One page of user_uuid's group rows whose S attribute attr equals value
 * (message_group_uuid: the user's row of a group; user_uuid: a row with that partner), read
 * strongly consistent from pk GRP#<user> — what the eventually consistent GSI may not show
 * yet. A filter: a page may be empty with last_key set; the caller bounds the pages. */
int messaging_user_rows_page(ddb *d, const char *table, const char *user_uuid, const char *attr,
                             const char *value, const json_t *start_key, ddb_page *page,
                             ddb_error *err);

/* C's write: a message item into an existing group (PutItem that never overwrites: a
 * message with the same group and created_at fails with ConditionalCheckFailedException).
 * The product's C (membership, retry at the next microsecond, Idempotency-Key) is
 * messaging_post_message in messaging/post.h. */
int messaging_put_message(ddb *d, const char *table, const json_t *message_item, ddb_error *err);

/* D's transaction actions, for a caller that adds its own (the pair item, an idempotency
 * record) to the same TransactWriteItems: Put of both group rows and Put of the first
 * message, in that order, each conditioned on attribute_not_exists(pk): a row of the same
 * user at the same microsecond (another conversation's) is never replaced; the transaction
 * is cancelled with ConditionalCheckFailed at that index and the caller retries at the next
 * microsecond. These three alone are a conversation as the boto3 code wrote it (no pair
 * item). The product's D is messaging_start in messaging/post.h. New array, or NULL when a
 * string is NULL or memory runs out. */
json_t *messaging_create_group_actions(const char *table, const char *group_uuid,
                                       const char *message_uuid, const char *created_at,
                                       const messaging_user *me, const messaging_user *other,
                                       const char *message);

/* ---- message text (pure) ------------------------------------------------------------------ */

/* The code points of message text s[0..n): -1 when it is not valid UTF-8 (base/utf8.h) or
 * holds a NUL; *blank: whether every one is white space (ASCII, NBSP, U+2000..U+200B,
 * U+2028/2029, U+3000, BOM), so a post of nothing but spaces can be refused. */
long messaging_text_chars(const char *s, size_t n, bool *blank);

/* The attribute DynamoDB's time to live reads (epoch seconds); the table enables it. */
#define MESSAGING_TTL_ATTRIBUTE "ttl"

#endif
