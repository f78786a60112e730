/* messaging.h — the single-table model of cruddur-messages: keys and items exactly as the
 * original boto3 code wrote them, and the access patterns as plain functions over a ddb
 * client, shared by the CLI, the API and the stream daemon. Items are Jansson objects in
 * the wire shape ({"pk": {"S": "MSG#..."}, ...}). */
#ifndef CR_MESSAGING_H
#define CR_MESSAGING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "aws/ddb.h"
#include "base/buf.h"

#define MESSAGING_TABLE_DEFAULT "cruddur-messages" /* when CRUDDUR_DDB_TABLE is unset */
#define MESSAGING_GSI "message-group-sk-index"
#define MESSAGING_PAGE_DEFAULT 20      /* pattern A's page, as in the original */
#define MESSAGING_KEY_MAX 64           /* "MSG#" / "GRP#" + a UUID, with room to spare */
#define MESSAGING_TS_LEN 33            /* "2026-11-21T09:30:00.123456+00:00" + NUL */

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
int messaging_user_rows_page(ddb *d, const char *table, const char *user_uuid,
                             const char *attr, const char *value, const json_t *start_key,
                             ddb_page *page, ddb_error *err);

/* C: a new message in an existing group (PutItem that never overwrites: a message with the
 * same group and created_at fails with ConditionalCheckFailedException). */
int messaging_put_message(ddb *d, const char *table, const json_t *message_item,
                          ddb_error *err);
/* D: a new group — both group rows and the first message in one transaction, idempotent
 * for ten minutes per message_uuid. Nothing is written on failure. */
int messaging_create_group(ddb *d, const char *table, const char *group_uuid,
                           const char *message_uuid, const char *created_at,
                           const messaging_user *me, const messaging_user *other,
                           const char *message, ddb_error *err);

/* D's transaction actions, for a caller that adds its own (e.g. an idempotency record) to
 * the same TransactWriteItems: Put of both group rows and Put of the first message, in that
 * order, each conditioned on attribute_not_exists(pk): a row of the same user at the same
 * microsecond (another conversation's) is never replaced; the transaction is cancelled
 * with ConditionalCheckFailed at that index and the caller retries at the next
 * microsecond. New array, or NULL when a string is NULL or memory runs out. */
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
