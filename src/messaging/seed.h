/* seed.h — seed data for the cruddur-messages table: the sample conversation between two
 * seeded users, and a large deterministic synthetic data set for load tests. Pure: builds
 * items (wire shape), writes nothing. */
#ifndef CR_SEED_H
#define CR_SEED_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "base/errinfo.h"
#include "base/uuid.h"
#include "messaging/messaging.h"

/* The sample conversation's message group (fixed, so setup can find it again). */
#define SEED_SAMPLE_GROUP_UUID "4c1f9a3e-7d2b-4e85-a6c0-3b9d8e2f1a57"
/* Messages in the sample conversation. */
#define SEED_SAMPLE_MESSAGES 40

/* The two seeded users of sql/seed.sql, as fallback when Postgres cannot be asked. */
extern const messaging_user seed_sample_mira;
extern const messaging_user seed_sample_tomasz;

/* The sample conversation between a (who speaks first) and b: SEED_SAMPLE_MESSAGES message
 * items oldest first, spread over the day before end_us (the last one at end_us), then a's
 * group row and b's, both holding the last message. New array, or NULL on ENOMEM or a NULL
 * field. Message uuids are derived from the group and the line, so equal inputs give equal
 * items. */
json_t *seed_sample_items(const messaging_user *a, const messaging_user *b, int64_t end_us);

/* ---- the synthetic data set ---------------------------------------------------------------- */

#define SEED_BULK_SPAN_DEFAULT_US ((int64_t)30 * 24 * 3600 * 1000000)
#define SEED_BULK_USERS_MAX 1000000L
#define SEED_BULK_GROUPS_MAX 10000000L
#define SEED_BULK_MESSAGES_MAX 100000000L

typedef struct seed_bulk_options {
    long users;      /* >= 2: u1..uU */
    long groups;     /* >= 1: each between two distinct random users */
    long messages;   /* >= groups: the first G open one group each, the rest land at random */
    uint64_t seed;   /* same seed and options -> same items */
    int64_t end_us;  /* the last message's time (epoch microseconds) */
    int64_t span_us; /* messages spread evenly over (end - span, end]; 0: 30 days */
} seed_bulk_options;

/* One generated user; handle "u<k>", display name "User <k>". */
typedef struct seed_person {
    char uuid[UUID_BUF];
    char handle[24];
    char display_name[32];
} seed_person;

typedef struct seed_bulk seed_bulk;

/* Validates the options and plans the data set (O(groups) memory). NULL with e set:
 * ERR_INVALID naming the bad option, ERR_NOMEM. */
seed_bulk *seed_bulk_new(const seed_bulk_options *o, errinfo *e);
void seed_bulk_free(seed_bulk *b); /* accepts NULL */

/* Items in the set: messages + 2 * groups. */
size_t seed_bulk_count(const seed_bulk *b);
/* Item i: i < messages are the message items in time order (strictly increasing sk), then
 * two group rows per group (group g: items messages + 2g and + 2g + 1), each holding the
 * group's last message. New reference, or NULL on ENOMEM or i out of range. */
json_t *seed_bulk_item(const seed_bulk *b, size_t i);
/* User k (0-based, handle "u<k+1>"); 0, or -1 when k is out of range. */
int seed_bulk_user(const seed_bulk *b, long k, seed_person *out);

#endif
