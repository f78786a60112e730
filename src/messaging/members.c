/* members.c — conversation membership and the one-conversation-per-pair rule (members.h).
 *
 * Membership. A conversation's members are the users holding a group row for it (pk
 * GRP#<user>, message_group_uuid = the group); group rows move in time (the stream daemon
 * rewrites their sk) but never change pk. So one Query of the GSI (message_group_uuid → the
 * group's two rows) decides it cheaply: a row with pk GRP#<me> proves membership. The GSI
 * is eventually consistent, so when it shows no row of mine:
 *   - if it shows two different members (a conversation has exactly two), I am not one;
 *   - otherwise (none or one row: a conversation created a moment ago, or none at all) the
 *     strongly consistent read decides: my own group rows (pk GRP#<me>) filtered on
 *     message_group_uuid, paged (a filter does not shrink the read, so this costs about
 *     one 4 KB read unit per ~15 of my conversations — rare, hence acceptable).
 * A positive answer never changes (no one leaves a conversation), so it is cached per
 * worker: MESSAGING_MEMBERS_CACHE_SLOTS direct-mapped slots, each good for
 * MESSAGING_MEMBERS_CACHE_TTL_MS (bounded in case an operator deletes a conversation).
 * Negative answers are not cached. The cache is part of the rule (what may be remembered,
 * for how long), so it lives here as an opaque messaging_member_cache; its owner (the API
 * worker's api_ctx) only creates and frees it and passes it in messaging_store.
 *
 * One conversation per pair. Pattern D writes, in the same TransactWriteItems as the two
 * group rows and the first message, a pair item
 *     pk "PAIR#<lower uuid>#<higher uuid>", sk "PAIR", pair_group_uuid, created_at
 * (messaging_pair_item) conditional on attribute_not_exists(pk). Of concurrent creators
 * exactly one commits; the others lose on that action (ConditionalCheckFailed, or
 * TransactionConflict while the winner's transaction is in flight), re-read the pair item
 * and post into the winner's conversation. The pair item has no message_group_uuid
 * attribute, so it stays out of the GSI and out of group-row queries; the stream daemon
 * skips every pk that is not MSG#.
 * Conversations written before pair items existed (the original boto3 code, `cruddur ddb
 * seed`) have none: messaging_members_pair_find falls back to the consistent read of my
 * group rows filtered on user_uuid and then writes the missing pair item (conditionally,
 * so it never replaces another). */
#include "config.h"
#include "messaging/members.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/ddb_av.h"
#include "base/clock.h"
#include "base/log.h"
#include "messaging/messaging.h"

#define MESSAGING_MEMBERS_CACHE_SLOTS 512
#define MESSAGING_MEMBERS_CACHE_TTL_MS (10 * 60 * 1000)
#define MESSAGING_MEMBERS_SCAN_PAGES 1000 /* bound on the consistent read of my rows */
#define MESSAGING_MEMBERS_GSI_PAGES 4     /* a group has two rows: one page in practice */

struct messaging_member_cache {
    struct {
        char me[UUID_BUF];
        char group[UUID_BUF];
        int64_t expires_ms; /* 0: empty */
    } slot[MESSAGING_MEMBERS_CACHE_SLOTS];
};

messaging_member_cache *messaging_member_cache_new(void)
{
    return calloc(1, sizeof(messaging_member_cache));
}

void messaging_member_cache_free(messaging_member_cache *c)
{
    free(c);
}

static size_t messaging_members_slot(const char *me, const char *group)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (const char *p = me; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    h = (h ^ '/') * 1099511628211ULL;
    for (const char *p = group; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    return (size_t)(h % MESSAGING_MEMBERS_CACHE_SLOTS);
}

static bool messaging_members_cached(const messaging_member_cache *c, const char *me,
                                     const char *group)
{
    if (!c)
        return false;
    size_t i = messaging_members_slot(me, group);
    return c->slot[i].expires_ms > clock_mono_ms() && strcmp(c->slot[i].me, me) == 0 &&
           strcmp(c->slot[i].group, group) == 0;
}

static void messaging_members_remember(messaging_member_cache *c, const char *me, const char *group)
{
    if (!c || strlen(me) > 36 || strlen(group) > 36)
        return;
    size_t i = messaging_members_slot(me, group);
    memcpy(c->slot[i].me, me, strlen(me) + 1);
    memcpy(c->slot[i].group, group, strlen(group) + 1);
    c->slot[i].expires_ms = clock_mono_ms() + MESSAGING_MEMBERS_CACHE_TTL_MS;
}

/* Whether my group rows (consistent read) hold one whose attribute attr is value; its
 * message_group_uuid into group_out (when not NULL, UUID_BUF bytes; "" when none). 0 or
 * -1. */
static int messaging_members_my_rows(const messaging_store *st, const char *me, const char *attr,
                                     const char *value, bool *found, char *group_out,
                                     ddb_error *err)
{
    *found = false;
    if (group_out)
        group_out[0] = '\0';
    json_t *start = NULL;
    ddb_page page;
    ddb_page_init(&page);
    int rc = -1;
    for (int n = 0; n < MESSAGING_MEMBERS_SCAN_PAGES; n++) {
        if (messaging_user_rows_page(st->db, st->table, me, attr, value, start, &page, err) != 0)
            goto out;
        if (json_array_size(page.items) > 0) {
            const char *g = ddb_av_get_s(json_array_get(page.items, 0), "message_group_uuid");
            *found = true;
            if (group_out)
                snprintf(group_out, UUID_BUF, "%s", g && strlen(g) == 36 ? g : "");
            break;
        }
        json_decref(start);
        start = json_incref(page.last_key);
        if (!start)
            break;
    }
    rc = 0;
out:
    json_decref(start);
    ddb_page_cleanup(&page);
    return rc;
}

messaging_membership messaging_members_check(const messaging_store *st, const char *me,
                                             const char *group, ddb_error *err)
{
    bool hit = messaging_members_cached(st->cache, me, group);
    if (st->cache && st->cache_observe)
        st->cache_observe(st->cache_observe_arg, hit);
    if (hit)
        return MESSAGING_MEMBER;
    char mine[MESSAGING_KEY_MAX], first_other[MESSAGING_KEY_MAX] = "";
    if (messaging_grp_pk(mine, sizeof mine, me) != 0) {
        aws_error_set(err, ERR_INVALID, "user id too long");
        return MESSAGING_MEMBERSHIP_FAILED;
    }
    ddb_page page;
    ddb_page_init(&page);
    json_t *start = NULL;
    bool member = false, two_others = false;
    messaging_membership m = MESSAGING_MEMBERSHIP_FAILED;
    for (int n = 0; n < MESSAGING_MEMBERS_GSI_PAGES && !member; n++) {
        if (messaging_group_rows_page(st->db, st->table, group, start, &page, err) != 0)
            goto out;
        size_t i;
        json_t *item;
        json_array_foreach(page.items, i, item)
        {
            const char *pk = ddb_av_get_s(item, "pk");
            if (!pk || strncmp(pk, MESSAGING_GRP_PREFIX, strlen(MESSAGING_GRP_PREFIX)) != 0)
                continue;
            if (strcmp(pk, mine) == 0) {
                member = true;
                break;
            }
            if (!first_other[0])
                snprintf(first_other, sizeof first_other, "%s", pk);
            else if (strcmp(first_other, pk) != 0)
                two_others = true;
        }
        json_decref(start);
        start = json_incref(page.last_key);
        if (!start)
            break;
    }
    if (!member && !two_others &&
        messaging_members_my_rows(st, me, "message_group_uuid", group, &member, NULL, err) != 0)
        goto out;
    if (member)
        messaging_members_remember(st->cache, me, group);
    m = member ? MESSAGING_MEMBER : MESSAGING_NOT_MEMBER;
out:
    json_decref(start);
    ddb_page_cleanup(&page);
    return m;
}

json_t *messaging_members_pair_put(const char *table, const char *a, const char *b,
                                   const char *group, const char *created_at, const char *replaces)
{
    json_t *item = messaging_pair_item(a, b, group, created_at);
    if (!item || !table) {
        json_decref(item);
        return NULL;
    }
    if (!replaces)
        return json_pack("{s:{s:s, s:o, s:s}}", "Put", "TableName", table, "Item", item,
                         "ConditionExpression", "attribute_not_exists(pk)");
    return json_pack("{s:{s:s, s:o, s:s, s:{s:s}, s:{s:{s:s}}}}", "Put", "TableName", table, "Item",
                     item, "ConditionExpression", "#g = :old", "ExpressionAttributeNames", "#g",
                     MESSAGING_PAIR_GROUP, "ExpressionAttributeValues", ":old", "S", replaces);
}

messaging_pair messaging_members_pair_find(const messaging_store *st, const char *a, const char *b,
                                           char group[UUID_BUF], ddb_error *err)
{
    group[0] = '\0';
    json_t *key = messaging_pair_key(a, b);
    json_t *item = NULL;
    if (!key) {
        aws_error_set(err, ERR_INVALID, "user id too long or out of memory");
        return MESSAGING_PAIR_FAILED;
    }
    int rc = ddb_get_item(st->db, st->table, key, true, &item, err);
    json_decref(key);
    if (rc != 0)
        return MESSAGING_PAIR_FAILED;
    if (item) {
        const char *g = ddb_av_get_s(item, MESSAGING_PAIR_GROUP);
        if (g && strlen(g) == 36)
            memcpy(group, g, UUID_BUF);
        json_decref(item);
        if (group[0])
            return MESSAGING_PAIR_FOUND;
        char pk[MESSAGING_PAIR_KEY_MAX];
        messaging_pair_pk(pk, sizeof pk, a, b);
        log_msg(LOG_WARN, "members_pair_malformed", "pair item %s has no group", pk);
    }
    /* No pair item: a conversation from before them, or none. */
    bool found;
    if (messaging_members_my_rows(st, a, "user_uuid", b, &found, group, err) != 0)
        return MESSAGING_PAIR_FAILED;
    if (!found || !group[0])
        return MESSAGING_PAIR_NONE;
    char now[MESSAGING_TS_LEN];
    json_t *pitem = messaging_now(now) == 0 ? messaging_pair_item(a, b, group, now) : NULL;
    const ddb_expr cond = { .expression = "attribute_not_exists(pk)" };
    ddb_error perr;
    if (pitem && ddb_put_item(st->db, st->table, pitem, &cond, &perr) != 0 &&
        !ddb_error_is(&perr, "ConditionalCheckFailedException"))
        log_msg(LOG_WARN, "members_pair_backfill_failed", "%s", perr.info.msg);
    json_decref(pitem);
    return MESSAGING_PAIR_FOUND;
}
