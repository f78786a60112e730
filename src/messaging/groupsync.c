/* groupsync.c — access pattern E: moves the group rows of a conversation forward to each new
 * message seen on the table's stream, idempotently and never backwards. */
#include "config.h"
#include "messaging/groupsync.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "aws/ddb_av.h"
#include "base/clock.h"
#include "base/rnd.h"
#include "base/uuid.h"
#include "messaging/groupsync_cache.h"
#include "messaging/groupsync_internal.h"
#include "messaging/groupsync_plan.h"
#include "messaging/messaging.h"

#define GROUPSYNC_TS_MAX 39 /* longest created_at accepted (result field minus NUL) */
#define GROUPSYNC_BACKOFF_CAP_MS 200

const char *groupsync_action_name(groupsync_action a)
{
    switch (a) {
    case GROUPSYNC_IGNORED: return "ignored";
    case GROUPSYNC_MOVED: return "moved";
    case GROUPSYNC_CURRENT: return "current";
    case GROUPSYNC_NO_GROUP: return "no_group";
    }
    return "?";
}

/* ---- the record (pure) ------------------------------------------------------------------- */

static groupsync_status groupsync_bad(errinfo *e, const char *what)
{
    errinfo_set(e, ERR_INVALID, "stream record: %s", what);
    return GROUPSYNC_BAD;
}

groupsync_status groupsync_parse_record(const json_t *record, groupsync_msg *out, errinfo *e)
{
    groupsync_msg m;
    memset(&m, 0, sizeof m);
    if (out)
        *out = m;
    errinfo_clear(e);
    if (!out)
        return groupsync_bad(e, "no place for the result");
    if (!json_is_object(record))
        return groupsync_bad(e, "not a JSON object");
    const char *ev = json_string_value(json_object_get(record, "eventName"));
    if (!ev)
        return groupsync_bad(e, "no eventName");
    bool upsert = strcmp(ev, "INSERT") == 0 || strcmp(ev, "MODIFY") == 0;
    if (!upsert && strcmp(ev, "REMOVE") != 0)
        return groupsync_bad(e, "unknown eventName (want INSERT, MODIFY or REMOVE)");
    const json_t *dyn = json_object_get(record, "dynamodb");
    if (!json_is_object(dyn))
        return groupsync_bad(e, "no dynamodb object");
    if (!upsert)
        return GROUPSYNC_OK; /* a removal never moves a conversation */

    const json_t *keys = json_object_get(dyn, "Keys");
    const json_t *img = json_object_get(dyn, "NewImage");
    if (keys && !json_is_object(keys))
        return groupsync_bad(e, "Keys is not an object");
    if (img && !json_is_object(img))
        return groupsync_bad(e, "NewImage is not an object");
    const json_t *img_pk = img ? json_object_get(img, "pk") : NULL;
    const json_t *key_pk = keys ? json_object_get(keys, "pk") : NULL;
    const json_t *pk_av = img_pk ? img_pk : key_pk;
    size_t pk_len = 0;
    const char *pk = pk_av ? groupsync_plan_s(pk_av, &pk_len) : NULL;
    if (!pk_av)
        return groupsync_bad(e, "no pk in NewImage or Keys");
    if (!pk)
        return groupsync_bad(e, "pk is not a string");
    if (img_pk && key_pk && !groupsync_plan_same_s(img_pk, key_pk))
        return groupsync_bad(e, "Keys and NewImage disagree on pk");
    if (pk_len < 4 || memcmp(pk, "MSG#", 4) != 0)
        return GROUPSYNC_OK; /* a group row, an idempotency record, anything else */

    /* a message item: everything it needs must be there and sound */
    if (!uuid_is_text(pk + 4, pk_len - 4))
        return groupsync_bad(e, "message item pk is not MSG#<uuid>");
    if (!img)
        return groupsync_bad(e, "message item without NewImage (the stream view type must "
                                "include new images)");
    size_t sk_len = 0;
    const json_t *sk_av = json_object_get(img, "sk");
    const char *sk = sk_av ? groupsync_plan_s(sk_av, &sk_len) : NULL;
    if (!sk)
        return groupsync_bad(e, "message item without a string sk (created_at)");
    int64_t us;
    if (sk_len == 0 || sk_len > GROUPSYNC_TS_MAX || clock_parse_iso8601_us(sk, &us) != 0)
        return groupsync_bad(e, "message item sk is not an ISO-8601 timestamp");
    const json_t *key_sk = keys ? json_object_get(keys, "sk") : NULL;
    if (key_sk && !groupsync_plan_same_s(key_sk, sk_av))
        return groupsync_bad(e, "Keys and NewImage disagree on sk");
    const json_t *msg = json_object_get(img, "message");
    size_t msg_len = 0;
    if (!msg || !groupsync_plan_s(msg, &msg_len))
        return groupsync_bad(e, "message item without a string message");
    if (msg_len > GROUPSYNC_MESSAGE_MAX)
        return groupsync_bad(e, "message text longer than DynamoDB's item limit");

    m.is_message = true;
    size_t sender_len = 0;
    const char *sender = groupsync_plan_s(json_object_get(img, "user_uuid"), &sender_len);
    if (sender && uuid_is_text(sender, sender_len))
        memcpy(m.sender, sender, 36);
    memcpy(m.group, pk + 4, 36);
    memcpy(m.created_at, sk, sk_len);
    m.message = msg;
    *out = m;
    return GROUPSYNC_OK;
}

/* ---- applying a message ------------------------------------------------------------------ */

typedef enum groupsync_step {
    GS_DONE,      /* the row was moved */
    GS_REMOVED,   /* the row was a stale duplicate and is gone */
    GS_RACE,      /* lost a race: re-read and decide again */
    GS_COLLISION, /* the target key holds another conversation's row */
    GS_RETRY,     /* err filled */
    GS_BAD,       /* err filled */
} groupsync_step;

static groupsync_status groupsync_nomem(ddb_error *err)
{
    aws_error_set(err, ERR_NOMEM, "groupsync: out of memory");
    return GROUPSYNC_RETRY;
}

/* The step a failed write (or GetItem) ends in: BAD or RETRY (err kept). */
static groupsync_step groupsync_fail(const ddb_error *err)
{
    return groupsync_plan_failure(err) == GROUPSYNC_NEXT_BAD ? GS_BAD : GS_RETRY;
}

/* ---- reading the rows -------------------------------------------------------------------- */

/* Appends page's rows to all within GROUPSYNC_ROWS_MAX. GROUPSYNC_OK, or BAD / RETRY (no
 * memory) with err filled. */
static groupsync_status groupsync_add_rows(groupsync_ctx *c, json_t *all, const ddb_page *page)
{
    if (json_array_size(all) + json_array_size(page->items) > GROUPSYNC_ROWS_MAX) {
        aws_error_set(c->err, ERR_INVALID, "group %s has more than %d group rows: not moving any",
                      c->m->group, GROUPSYNC_ROWS_MAX);
        return GROUPSYNC_BAD;
    }
    return json_array_extend(all, page->items) == 0 ? GROUPSYNC_OK : groupsync_nomem(c->err);
}

/* Appends user's group rows of the group (strongly consistent, at most GROUPSYNC_SCAN_PAGES
 * pages) to all. GROUPSYNC_OK, or RETRY / BAD with err filled. */
static groupsync_status groupsync_user_rows(groupsync_ctx *c, const char *user, json_t *all)
{
    json_t *start = NULL;
    ddb_page page;
    ddb_page_init(&page);
    groupsync_status rc = GROUPSYNC_OK;
    for (int n = 0; n < GROUPSYNC_SCAN_PAGES && rc == GROUPSYNC_OK; n++) {
        if (messaging_user_rows_page(c->d, c->table, user, "message_group_uuid", c->m->group, start,
                                     &page, c->err) != 0) {
            rc = GROUPSYNC_RETRY;
            break;
        }
        rc = groupsync_add_rows(c, all, &page);
        json_decref(start);
        start = page.last_key ? json_incref(page.last_key) : NULL;
        if (!start)
            break;
    }
    json_decref(start);
    ddb_page_cleanup(&page);
    return rc;
}

/* The group's rows read strongly consistent through its sender: the sender's row, then the
 * partner's (the user_uuid of the sender's row). GROUPSYNC_OK with *rows a new array, or
 * RETRY / BAD with err filled. */
static groupsync_status groupsync_read_rows_consistent(groupsync_ctx *c, json_t **rows)
{
    json_t *all = json_array();
    if (!all)
        return groupsync_nomem(c->err);
    groupsync_status rc = groupsync_user_rows(c, c->m->sender, all);
    size_t len = 0;
    const json_t *first = json_array_get(all, 0);
    const char *partner =
        first ? groupsync_plan_s(json_object_get(first, "user_uuid"), &len) : NULL;
    char p[UUID_BUF] = "";
    if (partner && uuid_is_text(partner, len) && memcmp(partner, c->m->sender, 36) != 0)
        memcpy(p, partner, 36);
    if (rc == GROUPSYNC_OK && p[0])
        rc = groupsync_user_rows(c, p, all);
    if (rc != GROUPSYNC_OK) {
        json_decref(all);
        return rc;
    }
    *rows = all;
    return GROUPSYNC_OK;
}

/* Every group row of the group (all pages of the GSI, or the consistent read when the GSI
 * shows fewer than two usable rows), judged by the planner into *plan. GROUPSYNC_OK with
 * *rows a new array, or RETRY / BAD with err filled. */
static groupsync_status groupsync_read_rows(groupsync_ctx *c, json_t **rows, groupsync_plan *plan)
{
    json_t *all = json_array();
    json_t *start = NULL;
    ddb_page page;
    ddb_page_init(&page);
    groupsync_status rc = GROUPSYNC_RETRY;
    if (!all) {
        rc = groupsync_nomem(c->err);
        goto out;
    }
    for (;;) {
        if (messaging_group_rows_page(c->d, c->table, c->m->group, start, &page, c->err) != 0) {
            rc = GROUPSYNC_RETRY;
            goto out;
        }
        rc = groupsync_add_rows(c, all, &page);
        if (rc != GROUPSYNC_OK)
            goto out;
        json_decref(start);
        start = page.last_key ? json_incref(page.last_key) : NULL;
        if (!start)
            break;
    }
    groupsync_plan_rows(all, c->m->created_at, c->skip, (size_t)c->ncollided, plan);
    if (plan->usable < 2 && c->m->sender[0]) {
        json_decref(all);
        all = NULL;
        rc = groupsync_read_rows_consistent(c, &all);
        if (rc != GROUPSYNC_OK)
            goto out;
        groupsync_plan_rows(all, c->m->created_at, c->skip, (size_t)c->ncollided, plan);
    }
    *rows = all;
    all = NULL;
    rc = GROUPSYNC_OK;
out:
    json_decref(start);
    ddb_page_cleanup(&page);
    json_decref(all);
    return rc;
}

/* ---- writing ----------------------------------------------------------------------------- */

/* The Delete of row's key conditioned on what was read: it exists, and message_group_uuid
 * and message are as read. Fills a ddb_expr whose maps the caller releases. */
static int groupsync_old_cond(const json_t *row, ddb_expr *x, json_t **names, json_t **values)
{
    const json_t *msg = json_object_get(row, "message");
    *names = json_pack("{s:s, s:s}", "#g", "message_group_uuid", "#m", "message");
    *values =
        msg ? json_pack("{s:O, s:O}", ":g", json_object_get(row, "message_group_uuid"), ":m", msg)
            : json_pack("{s:O}", ":g", json_object_get(row, "message_group_uuid"));
    x->expression = msg ? "attribute_exists(pk) AND #g = :g AND #m = :m"
                        : "attribute_exists(pk) AND #g = :g AND attribute_not_exists(#m)";
    x->names = *names;
    x->values = *values;
    return *names && *values ? 0 : -1;
}

/* Deletes row, a stale duplicate, conditioned on the state read: REMOVED, RACE (it changed),
 * or RETRY / BAD with err filled. */
static groupsync_step groupsync_delete_stale(groupsync_ctx *c, const json_t *row)
{
    json_t *names = NULL, *values = NULL;
    ddb_expr cond = { 0 };
    groupsync_step step = GS_RETRY;
    json_t *old_key =
        json_pack("{s:O, s:O}", "pk", json_object_get(row, "pk"), "sk", json_object_get(row, "sk"));
    if (!old_key || groupsync_old_cond(row, &cond, &names, &values) != 0) {
        groupsync_nomem(c->err);
        goto out;
    }
    if (ddb_delete_item(c->d, c->table, old_key, &cond, c->err) == 0)
        step = GS_REMOVED;
    else if (groupsync_plan_failure(c->err) == GROUPSYNC_NEXT_CHECK)
        step = GS_RACE;
    else
        step = groupsync_fail(c->err);
out:
    json_decref(names);
    json_decref(values);
    json_decref(old_key);
    return step;
}

/* Remembers that row's pk collided (its target key holds another conversation's row). */
static void groupsync_collided(groupsync_ctx *c, const json_t *row, const json_t *have)
{
    size_t pk_len = 0, g_len = 0;
    const char *pk = groupsync_plan_s(json_object_get(row, "pk"), &pk_len);
    const char *other = groupsync_plan_s(json_object_get(have, "message_group_uuid"), &g_len);
    bool named = other && uuid_is_text(other, g_len);
    snprintf(c->collision, sizeof c->collision,
             "group row %.*s cannot move to %s: that key already holds the row of %s%.*s (two "
             "conversations of one user with messages in the same microsecond); not "
             "overwritten",
             (int)pk_len, pk ? pk : "", c->m->created_at, named ? "conversation " : "another item",
             named ? (int)g_len : 0, named ? other : "");
    if (c->ncollided < GROUPSYNC_ROWS_MAX) {
        snprintf(c->collided[c->ncollided], MESSAGING_KEY_MAX, "%.*s", (int)pk_len, pk ? pk : "");
        c->skip[c->ncollided] = c->collided[c->ncollided];
        c->ncollided++;
    }
}

/* Whether row's pk collided earlier in this call. */
static bool groupsync_is_collided(const groupsync_ctx *c, const json_t *row)
{
    size_t pk_len = 0;
    const char *pk = groupsync_plan_s(json_object_get(row, "pk"), &pk_len);
    for (int i = 0; pk && i < c->ncollided; i++)
        if (strlen(c->collided[i]) == pk_len && memcmp(c->collided[i], pk, pk_len) == 0)
            return true;
    return false;
}

/* After a failed condition: what stands at the target key decides (groupsync_plan_target). */
static groupsync_step groupsync_check_target(groupsync_ctx *c, const json_t *row,
                                             const json_t *target_key)
{
    json_t *have = NULL;
    groupsync_step step = GS_RETRY;
    if (ddb_get_item(c->d, c->table, target_key, true, &have, c->err) != 0)
        return groupsync_fail(c->err);
    switch (groupsync_plan_target(row, have)) {
    case GROUPSYNC_TARGET_EMPTY:
        step = GS_RACE; /* the old row changed under us */
        break;
    case GROUPSYNC_TARGET_DUPLICATE:
        /* this user's row of this group is already at the message */
        step = groupsync_delete_stale(c, row);
        break;
    case GROUPSYNC_TARGET_COLLISION:
        groupsync_collided(c, row, have);
        step = GS_COLLISION;
        break;
    }
    json_decref(have);
    return step;
}

/* The condition of a move's Delete: the old key exists and every other attribute holds the
 * value read (or cached) — a row moved, deleted or changed in any way since cancels the move —
 * and message is absent when it was. Rows with more than GROUPSYNC_COND_ATTRS other
 * attributes are held to message_group_uuid and message only (groupsync_old_cond). The
 * expression is written into expr; names and values are new maps the caller releases. */
#define GROUPSYNC_COND_ATTRS 16
static int groupsync_move_cond(const json_t *row, char *expr, size_t cap, ddb_expr *x,
                               json_t **names, json_t **values)
{
    if (json_object_size(row) > GROUPSYNC_COND_ATTRS + 2)
        return groupsync_old_cond(row, x, names, values);
    *names = json_object();
    *values = json_object();
    if (!*names || !*values)
        return -1;
    size_t len = (size_t)snprintf(expr, cap, "attribute_exists(pk)");
    int n = 0;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)row, k, v)
    {
        if (strcmp(k, "pk") == 0 || strcmp(k, "sk") == 0)
            continue;
        char nm[16], vl[16];
        snprintf(nm, sizeof nm, "#a%d", n);
        snprintf(vl, sizeof vl, ":a%d", n);
        n++;
        if (json_object_set_new(*names, nm, json_string(k)) != 0 ||
            json_object_set(*values, vl, v) != 0)
            return -1;
        len += (size_t)snprintf(expr + len, len < cap ? cap - len : 0, " AND %s = %s", nm, vl);
    }
    if (!json_object_get(row, "message")) {
        if (json_object_set_new(*names, "#m", json_string("message")) != 0)
            return -1;
        len += (size_t)snprintf(expr + len, len < cap ? cap - len : 0,
                                " AND attribute_not_exists(#m)");
    }
    if (len >= cap)
        return -1;
    x->expression = expr;
    x->names = *names;
    x->values = *values;
    return 0;
}

void groupsync_move_parts_cleanup(groupsync_move_parts *p)
{
    json_decref(p->names);
    json_decref(p->values);
    json_decref(p->old_key);
    json_decref(p->new_item);
    json_decref(p->new_key);
    memset(p, 0, sizeof *p);
}

/* Builds p and appends the move's two actions (Delete old, Put new) to items. 0, or -1 (no
 * memory: p holds what was built, for groupsync_move_parts_cleanup). */
int groupsync_move_actions(groupsync_ctx *c, const json_t *row, groupsync_move_parts *p,
                           json_t *items)
{
    memset(p, 0, sizeof *p);
    p->old_key =
        json_pack("{s:O, s:O}", "pk", json_object_get(row, "pk"), "sk", json_object_get(row, "sk"));
    p->new_item = json_copy((json_t *)row); /* shallow: the AVs are shared, never changed */
    json_t *sk = ddb_av_s(c->m->created_at);
    if (!p->new_item || !sk || json_object_set_new(p->new_item, "sk", sk) != 0 ||
        json_object_set(p->new_item, "message", (json_t *)c->m->message) != 0) {
        if (!p->new_item)
            json_decref(sk);
        return -1;
    }
    p->new_key = json_pack("{s:O, s:O}", "pk", json_object_get(p->new_item, "pk"), "sk",
                           json_object_get(p->new_item, "sk"));
    if (!p->old_key || !p->new_key ||
        groupsync_move_cond(row, p->expr, sizeof p->expr, &p->cond, &p->names, &p->values) != 0)
        return -1;
    return json_array_append_new(items,
                                 json_pack("{s:{s:s, s:O, s:s, s:O, s:O}}", "Delete", "TableName",
                                           c->table, "Key", p->old_key, "ConditionExpression",
                                           p->cond.expression, "ExpressionAttributeNames", p->names,
                                           "ExpressionAttributeValues", p->values)) != 0 ||
                   json_array_append_new(items, json_pack("{s:{s:s, s:O, s:s}}", "Put", "TableName",
                                                          c->table, "Item", p->new_item,
                                                          "ConditionExpression",
                                                          "attribute_not_exists(pk)")) != 0
               ? -1
               : 0;
}

/* Sends items as one TransactWriteItems. 0, or -1 with err filled. */
int groupsync_transact(groupsync_ctx *c, json_t *items)
{
    char token[UUID_BUF];
    if (rnd_uuid4(token) != 0) {
        groupsync_nomem(c->err);
        return -1;
    }
    /* the token makes the client's own resends of this very transaction idempotent */
    return ddb_transact_write(c->d, items, token, c->err);
}

/* Moves rows[0..n) (one row, or both rows of the conversation: groupsync_plan_pair) in one
 * transaction, each Delete old + Put new conditioned on the state read. DONE; RACE when a
 * condition or a conflict cancelled it and the rows are to be read again (always for a pair,
 * which the caller then falls back to moving row by row, and for a row from the cache: the
 * cache is stale); for one row just read, what its target key holds decides
 * (groupsync_check_target); or RETRY / BAD with err filled. */
static groupsync_step groupsync_move(groupsync_ctx *c, const json_t *const *rows, size_t n,
                                     bool cached)
{
    groupsync_move_parts p[2];
    memset(p, 0, sizeof p);
    groupsync_step step = GS_RETRY;
    json_t *items = json_array();
    bool built = items != NULL && n <= 2;
    for (size_t i = 0; built && i < n; i++)
        built = groupsync_move_actions(c, rows[i], &p[i], items) == 0;
    if (!built) {
        groupsync_nomem(c->err);
        goto out;
    }
    if (groupsync_transact(c, items) == 0) {
        step = GS_DONE;
        goto out;
    }
    switch (groupsync_plan_failure(c->err)) {
    case GROUPSYNC_NEXT_CHECK:
        step = n == 1 && !cached ? groupsync_check_target(c, rows[0], p[0].new_key) : GS_RACE;
        break;
    case GROUPSYNC_NEXT_REREAD: step = GS_RACE; break;
    case GROUPSYNC_NEXT_BAD: step = GS_BAD; break;
    case GROUPSYNC_NEXT_RETRY: step = GS_RETRY; break;
    }
out:
    json_decref(items);
    for (size_t i = 0; i < 2; i++)
        groupsync_move_parts_cleanup(&p[i]);
    return step;
}

/* ---- the call ---------------------------------------------------------------------------- */

groupsync_status groupsync_apply(ddb *d, const char *table, const json_t *record,
                                 groupsync_result *res, ddb_error *err)
{
    return groupsync_apply_cached(d, table, NULL, record, res, err);
}

/* The rows of this round: the cache's (round 0, when it holds the group and they are fit to
 * plan from), else read. *cached tells which. GROUPSYNC_OK, or RETRY / BAD with err. */
static groupsync_status groupsync_rows_for_round(groupsync_ctx *c, groupsync_cache *cache,
                                                 int round, json_t **rows, groupsync_plan *plan,
                                                 bool *cached)
{
    *cached = false;
    json_t *held = round == 0 ? groupsync_cache_get(cache, c->m->group) : NULL;
    if (held &&
        groupsync_plan_rows(held, c->m->created_at, c->skip, (size_t)c->ncollided, plan) == 0 &&
        groupsync_plan_cacheable(held, plan)) {
        *rows = held;
        *cached = true;
        return GROUPSYNC_OK;
    }
    if (held) {
        json_decref(held);
        groupsync_cache_forget(cache, c->m->group, false);
    }
    return groupsync_read_rows(c, rows, plan);
}

groupsync_status groupsync_apply_cached(ddb *d, const char *table, groupsync_cache *cache,
                                        const json_t *record, groupsync_result *res, ddb_error *err)
{
    groupsync_result res_local;
    ddb_error err_local;
    if (!res)
        res = &res_local;
    if (!err)
        err = &err_local;
    memset(res, 0, sizeof *res);
    res->action = GROUPSYNC_IGNORED;
    ddb_error_clear(err);

    groupsync_msg m;
    if (groupsync_parse_record(record, &m, &err->info) != GROUPSYNC_OK)
        return GROUPSYNC_BAD;
    if (!m.is_message)
        return GROUPSYNC_OK;
    if (!d || !table || !*table) {
        errinfo_set(&err->info, ERR_INVALID, "groupsync: no DynamoDB client or table");
        return GROUPSYNC_BAD;
    }
    memcpy(res->group, m.group, sizeof res->group);
    memcpy(res->created_at, m.created_at, sizeof res->created_at);
    res->action = GROUPSYNC_CURRENT;

    groupsync_ctx c = { .d = d, .table = table, .m = &m, .err = err };
    for (int round = 0; round < GROUPSYNC_ROUNDS; round++) {
        if (round > 0) {
            long cap = 5L << round;
            clock_sleep_ms(1 + (int64_t)rnd_below(cap < GROUPSYNC_BACKOFF_CAP_MS
                                                      ? (uint64_t)cap
                                                      : GROUPSYNC_BACKOFF_CAP_MS));
        }
        json_t *rows = NULL;
        groupsync_plan plan;
        bool cached = false;
        groupsync_status rc = groupsync_rows_for_round(&c, cache, round, &rows, &plan, &cached);
        if (rc != GROUPSYNC_OK) {
            groupsync_cache_forget(cache, m.group, false);
            return rc;
        }
        res->cached = res->cached || cached;
        bool again = false, pair_done = false;
        int moved = 0, removed = 0; /* this round */
        size_t pa, pb;
        if (groupsync_plan_pair(rows, &plan, &pa, &pb)) {
            const json_t *both[2] = { json_array_get(rows, pa), json_array_get(rows, pb) };
            groupsync_step step = groupsync_move(&c, both, 2, cached);
            if (step == GS_DONE) {
                moved = 2;
                pair_done = true;
            } else if (step == GS_RACE && cached) {
                /* the cached rows are stale: forget them, read them again */
                groupsync_cache_forget(cache, m.group, true);
                res->races++;
                again = true;
                pair_done = true;
            } else if (step == GS_RETRY || step == GS_BAD) {
                json_decref(rows);
                groupsync_cache_forget(cache, m.group, false);
                return step == GS_BAD ? GROUPSYNC_BAD : GROUPSYNC_RETRY;
            }
            /* a cancelled pair of rows just read: row by row, which tells why */
        }
        for (size_t i = 0; !pair_done && i < plan.nrows; i++) {
            const json_t *row = json_array_get(rows, i);
            groupsync_verdict v = plan.verdict[i];
            if (v != GROUPSYNC_ROW_MOVE && v != GROUPSYNC_ROW_DELETE)
                continue;
            if (groupsync_is_collided(&c, row))
                continue; /* a row of the same pk collided earlier in this round */
            groupsync_step step = v == GROUPSYNC_ROW_MOVE ? groupsync_move(&c, &row, 1, cached)
                                                          : groupsync_delete_stale(&c, row);
            switch (step) {
            case GS_DONE: moved++; break;
            case GS_REMOVED: removed++; break;
            case GS_RACE:
                res->races++;
                again = true;
                if (cached) {
                    groupsync_cache_forget(cache, m.group, true);
                    cached = false;
                }
                break;
            case GS_COLLISION: break;
            case GS_RETRY:
            case GS_BAD:
                json_decref(rows);
                res->moved += moved;
                res->removed += removed;
                if (res->moved > 0 || res->removed > 0)
                    res->action = GROUPSYNC_MOVED;
                groupsync_cache_forget(cache, m.group, false);
                return step == GS_BAD ? GROUPSYNC_BAD : GROUPSYNC_RETRY;
            }
        }
        res->moved += moved;
        res->removed += removed;
        if (!again) {
            /* Every move of the plan done and nothing else found: the rows now stand as the
             * plan says, which is what the cache keeps. Anything else: forget them. */
            if (cache && moved == plan.moves && removed == 0 && c.ncollided == 0 &&
                (moved > 0 || !cached))
                groupsync_cache_put(cache, m.group,
                                    groupsync_plan_after(rows, &plan, m.created_at, m.message));
            else if (cache && !(cached && moved == 0 && plan.moves == 0))
                groupsync_cache_forget(cache, m.group, false);
            json_decref(rows);
            res->action =
                groupsync_plan_outcome(res->moved, res->removed, plan.usable, c.ncollided);
            ddb_error_clear(err);
            if (c.ncollided > 0) {
                errinfo_set(&err->info, ERR_INVALID, "%s", c.collision);
                return GROUPSYNC_BAD;
            }
            return GROUPSYNC_OK;
        }
        json_decref(rows);
    }
    groupsync_cache_forget(cache, m.group, false);
    if (res->moved > 0 || res->removed > 0)
        res->action = GROUPSYNC_MOVED;
    aws_error_set(err, ERR_SERVICE,
                  "group %s: lost the race for its group rows %d times; try again later", m.group,
                  res->races);
    return GROUPSYNC_RETRY;
}
