/* members.h — who belongs to a conversation (the membership rule of GET/POST messages) and
 * the one conversation a pair of users shares (pattern D), for messages.c. Internal to the
 * API: the design is in the comment at the top of members.c. */
#ifndef CR_API_MEMBERS_H
#define CR_API_MEMBERS_H

#include <stdbool.h>

#include <jansson.h>

#include "api/api.h"
#include "aws/ddb.h"
#include "base/uuid.h"

#define API_MEMBERS_PAIR_SK "PAIR"            /* the pair item's fixed sort key */
#define API_MEMBERS_PAIR_GROUP "pair_group_uuid" /* its group attribute (not in the GSI) */

/* Whether user me (a canonical lowercase uuid) holds a group row of group: the GSI first
 * (eventually consistent; a row of mine there proves membership, since group rows never
 * change pk), then — only when the GSI shows no row of mine and not both of the group's
 * members — a strongly consistent read of my own group rows, so a conversation created a
 * moment ago is readable at once. Positive answers are cached per worker (ctx). 0 with
 * *member set, or -1 with err filled (the store is unreachable). */
int api_members_check(api_ctx *ctx, const char *me, const char *group, bool *member,
                      ddb_error *err);

/* The conversation users a and b share, into group (lowercase uuid; "" when none): the pair
 * item PAIR#<lower>#<higher> (consistent GetItem), else — for conversations written before
 * pair items existed, e.g. by the original boto3 code — a consistent read of a's group rows
 * whose user_uuid is b, after which the pair item is written for next time. 0, or -1 with
 * err filled. */
int api_members_pair_find(api_ctx *ctx, const char *a, const char *b, char group[UUID_BUF],
                          ddb_error *err);

/* The TransactWriteItems action that makes creating group the pair's only conversation: a
 * Put of the pair item conditional on attribute_not_exists(pk) or, with replaces (a stale
 * pair item's group, whose rows are gone), on the item still naming replaces. New
 * reference, or NULL (no memory). A transaction losing on it (reason
 * ConditionalCheckFailed or TransactionConflict) should api_members_pair_find again. */
json_t *api_members_pair_put(const char *table, const char *a, const char *b,
                             const char *group, const char *created_at, const char *replaces);

/* Frees the membership cache (ctx->member_cache, set to NULL); accepts NULL. */
void api_members_cache_free(api_ctx *ctx);

#endif
