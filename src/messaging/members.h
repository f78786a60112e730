/* members.h — who belongs to a conversation, and the one conversation a pair of users
 * shares: the rules patterns C and D (messaging/post.h) and the API's reads decide with.
 * The design is in the comment at the top of members.c. */
#ifndef CR_MESSAGING_MEMBERS_H
#define CR_MESSAGING_MEMBERS_H

#include <jansson.h>

#include "aws/ddb.h"
#include "base/uuid.h"

/* Positive membership answers remembered for a while (a direct-mapped table, one per API
 * worker; not thread-safe). _free accepts NULL. _new: NULL when memory runs out (callers
 * then go without a cache). */
typedef struct messaging_member_cache messaging_member_cache;
messaging_member_cache *messaging_member_cache_new(void);
void messaging_member_cache_free(messaging_member_cache *c);

/* Where the operations read and write: the table, and an optional cache (NULL: none).
 * All borrowed. */
typedef struct messaging_store {
    ddb *db;
    const char *table;
    messaging_member_cache *cache;
    /* Told of every lookup of the cache (hit: the membership was there); NULL: nobody. */
    void (*cache_observe)(void *arg, bool hit);
    void *cache_observe_arg;
} messaging_store;

typedef enum messaging_membership {
    MESSAGING_MEMBER,            /* me holds a group row of the group */
    MESSAGING_NOT_MEMBER,        /* no row of mine (or no such group) */
    MESSAGING_MEMBERSHIP_FAILED, /* the store did not answer: err filled */
} messaging_membership;

/* Whether user me (a canonical lowercase uuid) holds a group row of group: the cache, then
 * the GSI (eventually consistent; a row of mine there proves membership, since group rows
 * never change pk), then — only when the GSI shows no row of mine and not both of the
 * group's members — a strongly consistent read of my own group rows, so a conversation
 * created a moment ago is readable at once. A positive answer goes into the cache. */
messaging_membership messaging_members_check(const messaging_store *st, const char *me,
                                             const char *group, ddb_error *err);

typedef enum messaging_pair {
    MESSAGING_PAIR_FOUND,  /* group holds the pair's conversation */
    MESSAGING_PAIR_NONE,   /* the pair has none (group "") */
    MESSAGING_PAIR_FAILED, /* err filled, group "" */
} messaging_pair;

/* The conversation users a and b share, into group (lowercase uuid): the pair item
 * PAIR#<lower>#<higher> (consistent GetItem), else — for conversations written before pair
 * items existed, e.g. by the original boto3 code — a consistent read of a's group rows
 * whose user_uuid is b, after which the missing pair item is written (conditionally, so it
 * never replaces another; a failure there is only logged). */
messaging_pair messaging_members_pair_find(const messaging_store *st, const char *a, const char *b,
                                           char group[UUID_BUF], ddb_error *err);

/* The TransactWriteItems action that makes creating group the pair's only conversation: a
 * Put of the pair item conditional on attribute_not_exists(pk) or, with replaces (a stale
 * pair item's group, whose rows are gone), on the item still naming replaces. New
 * reference, or NULL (a string NULL, no memory). A transaction losing on it (reason
 * ConditionalCheckFailed or TransactionConflict) should find the pair again. */
json_t *messaging_members_pair_put(const char *table, const char *a, const char *b,
                                   const char *group, const char *created_at, const char *replaces);

#endif
