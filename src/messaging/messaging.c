/* messaging.c — keys, items and access patterns of the cruddur-messages table, and the pure
 * helpers that print them. */
#include "config.h"
#include "messaging/messaging.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "aws/ddb_av.h"
#include "base/clock.h"
#include "base/env.h"
#include "base/utf8.h"

const char *messaging_table(void)
{
    const char *t = env_str("CRUDDUR_DDB_TABLE");
    if (!t)
        t = env_str("DDB_MESSAGE_TABLE");
    return t ? t : MESSAGING_TABLE_DEFAULT;
}

/* ---- keys and items ------------------------------------------------------------------------ */

static int messaging_key(char *out, size_t outlen, const char *prefix, const char *id)
{
    if (!out || outlen == 0 || !id)
        return -1;
    int n = snprintf(out, outlen, "%s%s", prefix, id);
    return (n > 0 && (size_t)n < outlen) ? 0 : -1;
}

int messaging_msg_pk(char *out, size_t outlen, const char *group_uuid)
{
    return messaging_key(out, outlen, MESSAGING_MSG_PREFIX, group_uuid);
}

int messaging_grp_pk(char *out, size_t outlen, const char *user_uuid)
{
    return messaging_key(out, outlen, MESSAGING_GRP_PREFIX, user_uuid);
}

int messaging_pair_pk(char *out, size_t outlen, const char *a, const char *b)
{
    if (!out || outlen == 0 || !a || !b)
        return -1;
    const char *lo = strcmp(a, b) <= 0 ? a : b, *hi = lo == a ? b : a;
    int n = snprintf(out, outlen, MESSAGING_PAIR_PREFIX "%s#%s", lo, hi);
    return (n > 0 && (size_t)n < outlen) ? 0 : -1;
}

int messaging_idem_pk(char *out, size_t outlen, const char *user_uuid)
{
    return messaging_key(out, outlen, MESSAGING_IDEM_PREFIX, user_uuid);
}

static int64_t (*messaging_clock)(void);

void messaging_clock_for_tests(int64_t (*now_us)(void))
{
    messaging_clock = now_us;
}

int64_t messaging_now_us(void)
{
    return messaging_clock ? messaging_clock() : clock_real_us();
}

int messaging_now(char out[MESSAGING_TS_LEN])
{
    return clock_iso8601_us(out, MESSAGING_TS_LEN, messaging_now_us());
}

/* {"pk": S, "sk": S, name[i]: S value[i]...}; NULL when any string is NULL. */
static json_t *messaging_item(const char *pk, const char *sk, const char *const *names,
                              const char *const *values, size_t n)
{
    json_t *item = json_object();
    if (!item || !sk)
        goto fail;
    if (json_object_set_new(item, "pk", ddb_av_s(pk)) != 0 ||
        json_object_set_new(item, "sk", ddb_av_s(sk)) != 0)
        goto fail;
    for (size_t i = 0; i < n; i++) {
        if (!values[i] || json_object_set_new(item, names[i], ddb_av_s(values[i])) != 0)
            goto fail;
    }
    return item;
fail:
    json_decref(item);
    return NULL;
}

json_t *messaging_message_item(const char *group_uuid, const char *created_at,
                               const char *message_uuid, const messaging_user *sender,
                               const char *message)
{
    char pk[MESSAGING_KEY_MAX];
    if (!sender || messaging_msg_pk(pk, sizeof pk, group_uuid) != 0)
        return NULL;
    static const char *const names[] = { "message", "message_uuid", "user_uuid",
                                         "user_display_name", "user_handle" };
    const char *const values[] = { message, message_uuid, sender->uuid, sender->display_name,
                                   sender->handle };
    return messaging_item(pk, created_at, names, values, 5);
}

json_t *messaging_group_item(const char *me_uuid, const char *last_message_at,
                             const char *group_uuid, const messaging_user *other,
                             const char *message)
{
    char pk[MESSAGING_KEY_MAX];
    if (!other || messaging_grp_pk(pk, sizeof pk, me_uuid) != 0)
        return NULL;
    static const char *const names[] = { "message_group_uuid", "message", "user_uuid",
                                         "user_display_name", "user_handle" };
    const char *const values[] = { group_uuid, message, other->uuid, other->display_name,
                                   other->handle };
    return messaging_item(pk, last_message_at, names, values, 5);
}

json_t *messaging_pair_key(const char *a, const char *b)
{
    char pk[MESSAGING_PAIR_KEY_MAX];
    if (messaging_pair_pk(pk, sizeof pk, a, b) != 0)
        return NULL;
    return messaging_item(pk, MESSAGING_PAIR_SK, NULL, NULL, 0);
}

json_t *messaging_pair_item(const char *a, const char *b, const char *group_uuid,
                            const char *created_at)
{
    char pk[MESSAGING_PAIR_KEY_MAX];
    if (messaging_pair_pk(pk, sizeof pk, a, b) != 0)
        return NULL;
    static const char *const names[] = { MESSAGING_PAIR_GROUP, "created_at" };
    const char *const values[] = { group_uuid, created_at };
    return messaging_item(pk, MESSAGING_PAIR_SK, names, values, 2);
}

json_t *messaging_idem_key(const char *user_uuid, const char *key)
{
    char pk[MESSAGING_KEY_MAX];
    if (messaging_idem_pk(pk, sizeof pk, user_uuid) != 0)
        return NULL;
    return messaging_item(pk, key, NULL, NULL, 0);
}

json_t *messaging_idem_item(const char *user_uuid, const char *key, const char *kind,
                            const char *fingerprint, const char *result, const char *created_at,
                            int64_t ttl_s)
{
    char pk[MESSAGING_KEY_MAX];
    if (messaging_idem_pk(pk, sizeof pk, user_uuid) != 0)
        return NULL;
    static const char *const names[] = { "kind", "fingerprint", "result", "created_at" };
    const char *const values[] = { kind, fingerprint, result, created_at };
    json_t *item = messaging_item(pk, key, names, values, 4);
    if (item && json_object_set_new(item, MESSAGING_TTL_ATTRIBUTE, ddb_av_n_i64(ttl_s)) != 0) {
        json_decref(item);
        return NULL;
    }
    return item;
}

/* ---- access patterns ----------------------------------------------------------------------- */

/* Query key = value, newest first, into page (a Jansson page) or view (a flat one): exactly
 * one of them is given. key_condition: "<key> = :v" (pk and message_group_uuid are not
 * reserved words: no attribute names needed). */
static int messaging_query_eq(ddb *d, const char *table, const char *index,
                              const char *key_condition, const char *value, int limit,
                              const json_t *start_key, ddb_page *page, ddb_page_view *view,
                              ddb_error *err)
{
    json_t *values = json_object();
    int rc = -1;
    if (!values || json_object_set_new(values, ":v", ddb_av_s(value)) != 0) {
        aws_error_nomem(err);
        goto out;
    }
    ddb_query_options q = {
        .table = table,
        .index = index,
        .key_condition = key_condition,
        .values = values,
        .limit = limit > 0 ? limit : 0,
        .descending = true,
        .start_key = start_key,
    };
    rc = page ? ddb_query(d, &q, page, err) : ddb_query_view(d, &q, view, err);
out:
    json_decref(values);
    return rc;
}

/* The partition key of pattern A (msg: MSG#<group>) or B (GRP#<user>) for id into pk. 0, or
 * -1 with err set (ERR_INVALID: the id is too long). */
static int messaging_pattern_pk(char pk[MESSAGING_KEY_MAX], bool msg, const char *id,
                                ddb_error *err)
{
    if (msg ? messaging_msg_pk(pk, MESSAGING_KEY_MAX, id) != 0
            : messaging_grp_pk(pk, MESSAGING_KEY_MAX, id) != 0)
        return aws_error_set(err, ERR_INVALID,
                             msg ? "message group id too long" : "user id too long");
    return 0;
}

/* One page of pattern A (msg) or B for id, newest first, into page or view (exactly one of
 * them is given). */
static int messaging_pattern_query(ddb *d, const char *table, bool msg, const char *id, int limit,
                                   const json_t *start_key, ddb_page *page, ddb_page_view *view,
                                   ddb_error *err)
{
    char pk[MESSAGING_KEY_MAX];
    if (messaging_pattern_pk(pk, msg, id, err) != 0)
        return -1;
    return messaging_query_eq(d, table, NULL, "pk = :v", pk, limit, start_key, page, view, err);
}

int messaging_conversation_page(ddb *d, const char *table, const char *group_uuid, int limit,
                                const json_t *start_key, ddb_page *page, ddb_error *err)
{
    return messaging_pattern_query(d, table, true, group_uuid, limit, start_key, page, NULL, err);
}

int messaging_groups_page(ddb *d, const char *table, const char *me_uuid, int limit,
                          const json_t *start_key, ddb_page *page, ddb_error *err)
{
    return messaging_pattern_query(d, table, false, me_uuid, limit, start_key, page, NULL, err);
}

int messaging_conversation_view(ddb *d, const char *table, const char *group_uuid, int limit,
                                const json_t *start_key, ddb_page_view *view, ddb_error *err)
{
    return messaging_pattern_query(d, table, true, group_uuid, limit, start_key, NULL, view, err);
}

int messaging_groups_view(ddb *d, const char *table, const char *me_uuid, int limit,
                          const json_t *start_key, ddb_page_view *view, ddb_error *err)
{
    return messaging_pattern_query(d, table, false, me_uuid, limit, start_key, NULL, view, err);
}

int messaging_group_rows_page(ddb *d, const char *table, const char *group_uuid,
                              const json_t *start_key, ddb_page *page, ddb_error *err)
{
    return messaging_query_eq(d, table, MESSAGING_GSI, "message_group_uuid = :v", group_uuid, 0,
                              start_key, page, NULL, err);
}

int messaging_user_rows_page(ddb *d, const char *table, const char *user_uuid, const char *attr,
                             const char *value, const json_t *start_key, ddb_page *page,
                             ddb_error *err)
{
    char pk[MESSAGING_KEY_MAX];
    if (messaging_pattern_pk(pk, false, user_uuid, err) != 0)
        return -1;
    json_t *names = json_pack("{s:s}", "#f", attr ? attr : "");
    json_t *values = json_pack("{s:{s:s}, s:{s:s}}", ":pk", "S", pk, ":f", "S", value ? value : "");
    int rc = -1;
    if (!names || !values) {
        aws_error_nomem(err);
        goto out;
    }
    ddb_query_options q = {
        .table = table,
        .key_condition = "pk = :pk",
        .filter = "#f = :f",
        .names = names,
        .values = values,
        .consistent = true,
        .start_key = start_key,
    };
    rc = ddb_query(d, &q, page, err);
out:
    json_decref(names);
    json_decref(values);
    return rc;
}

int messaging_put_message(ddb *d, const char *table, const json_t *message_item, ddb_error *err)
{
    const ddb_expr cond = { .expression = "attribute_not_exists(sk)" };
    return ddb_put_item(d, table, message_item, &cond, err);
}

json_t *messaging_create_group_actions(const char *table, const char *group_uuid,
                                       const char *message_uuid, const char *created_at,
                                       const messaging_user *me, const messaging_user *other,
                                       const char *message)
{
    json_t *rows[3] = {
        messaging_group_item(me ? me->uuid : NULL, created_at, group_uuid, other, message),
        messaging_group_item(other ? other->uuid : NULL, created_at, group_uuid, me, message),
        messaging_message_item(group_uuid, created_at, message_uuid, me, message),
    };
    json_t *items = table ? json_array() : NULL;
    bool ok = items != NULL;
    for (int i = 0; i < 3 && ok; i++) {
        json_t *put = rows[i]
                          ? json_pack("{s:{s:s, s:O, s:s}}", "Put", "TableName", table, "Item",
                                      rows[i], "ConditionExpression", "attribute_not_exists(pk)")
                          : NULL;
        ok = put && json_array_append_new(items, put) == 0;
    }
    for (int i = 0; i < 3; i++)
        json_decref(rows[i]);
    if (!ok) {
        json_decref(items);
        return NULL;
    }
    return items;
}

/* ---- display helpers ----------------------------------------------------------------------- */

long messaging_text_chars(const char *s, size_t n, bool *blank)
{
    const unsigned char *p = (const unsigned char *)s;
    long count = 0;
    uint32_t cp;
    *blank = true;
    for (size_t i = 0; i < n; count++) {
        size_t k = utf8_next(p + i, n - i, &cp);
        if (k == 0 || cp == 0)
            return -1;
        if (!(cp == ' ' || (cp >= '\t' && cp <= '\r') || cp == 0xa0 || cp == 0x3000 ||
              (cp >= 0x2000 && cp <= 0x200b) || cp == 0x2028 || cp == 0x2029 || cp == 0xfeff))
            *blank = false;
        i += k;
    }
    return count;
}
