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
#include "messaging/messaging.h"

#define GROUPSYNC_TS_MAX 39      /* longest created_at accepted (result field minus NUL) */
#define GROUPSYNC_BACKOFF_CAP_MS 200

const char *groupsync_action_name(groupsync_action a)
{
    switch (a) {
    case GROUPSYNC_IGNORED:
        return "ignored";
    case GROUPSYNC_MOVED:
        return "moved";
    case GROUPSYNC_CURRENT:
        return "current";
    case GROUPSYNC_NO_GROUP:
        return "no_group";
    }
    return "?";
}

/* ---- the record (pure) ------------------------------------------------------------------- */

static int groupsync_bad(errinfo *e, const char *what)
{
    errinfo_set(e, ERR_INVALID, "stream record: %s", what);
    return GROUPSYNC_BAD;
}

/* The string of an S AV with its length; NULL when av is not an S or holds a NUL byte. */
static const char *groupsync_s(const json_t *av, size_t *len)
{
    if (ddb_av_type_of(av) != DDB_AV_S)
        return NULL;
    const json_t *s = json_object_get(av, "S");
    const char *v = json_string_value(s);
    size_t n = json_string_length(s);
    if (!v || memchr(v, '\0', n))
        return NULL;
    *len = n;
    return v;
}

/* Whether two S AVs hold the same string (both must be S). */
static bool groupsync_same_s(const json_t *a, const json_t *b)
{
    size_t la, lb;
    const char *sa = groupsync_s(a, &la), *sb = groupsync_s(b, &lb);
    return sa && sb && la == lb && memcmp(sa, sb, la) == 0;
}

int groupsync_parse_record(const json_t *record, groupsync_msg *out, errinfo *e)
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
    const char *pk = pk_av ? groupsync_s(pk_av, &pk_len) : NULL;
    if (!pk_av)
        return groupsync_bad(e, "no pk in NewImage or Keys");
    if (!pk)
        return groupsync_bad(e, "pk is not a string");
    if (img_pk && key_pk && !groupsync_same_s(img_pk, key_pk))
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
    const char *sk = sk_av ? groupsync_s(sk_av, &sk_len) : NULL;
    if (!sk)
        return groupsync_bad(e, "message item without a string sk (created_at)");
    int64_t us;
    if (sk_len == 0 || sk_len > GROUPSYNC_TS_MAX || clock_parse_iso8601_us(sk, &us) != 0)
        return groupsync_bad(e, "message item sk is not an ISO-8601 timestamp");
    const json_t *key_sk = keys ? json_object_get(keys, "sk") : NULL;
    if (key_sk && !groupsync_same_s(key_sk, sk_av))
        return groupsync_bad(e, "Keys and NewImage disagree on sk");
    const json_t *msg = json_object_get(img, "message");
    size_t msg_len = 0;
    if (!msg || !groupsync_s(msg, &msg_len))
        return groupsync_bad(e, "message item without a string message");
    if (msg_len > GROUPSYNC_MESSAGE_MAX)
        return groupsync_bad(e, "message text longer than DynamoDB's item limit");

    m.is_message = true;
    size_t sender_len = 0;
    const char *sender = groupsync_s(json_object_get(img, "user_uuid"), &sender_len);
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
    GS_DONE,       /* the row was moved */
    GS_REMOVED,    /* the row was a stale duplicate and is gone */
    GS_RACE,       /* lost a race: re-read and decide again */
    GS_COLLISION,  /* the target key holds another conversation's row */
    GS_RETRY,      /* err filled */
    GS_BAD,        /* err filled */
} groupsync_step;

typedef struct groupsync_ctx {
    ddb *d;
    const char *table;
    const groupsync_msg *m;
    ddb_error *err;
    char collision[sizeof ((errinfo *)0)->msg];   /* why the first collision is unresolvable */
    char collided[GROUPSYNC_ROWS_MAX][MESSAGING_KEY_MAX];  /* pks not to try again */
    int ncollided;
} groupsync_ctx;

static int groupsync_nomem(ddb_error *err)
{
    ddb_error_clear(err);
    errinfo_set(&err->info, ERR_NOMEM, "groupsync: out of memory");
    return GROUPSYNC_RETRY;
}

/* Appends page's rows to all within GROUPSYNC_ROWS_MAX. GROUPSYNC_OK, or BAD / RETRY (no
 * memory) with err filled. */
static int groupsync_add_rows(groupsync_ctx *c, json_t *all, const ddb_page *page)
{
    if (json_array_size(all) + json_array_size(page->items) > GROUPSYNC_ROWS_MAX) {
        ddb_error_clear(c->err);
        errinfo_set(&c->err->info, ERR_INVALID,
                    "group %s has more than %d group rows: not moving any", c->m->group,
                    GROUPSYNC_ROWS_MAX);
        return GROUPSYNC_BAD;
    }
    return json_array_extend(all, page->items) == 0 ? GROUPSYNC_OK : groupsync_nomem(c->err);
}

/* Appends user's group rows of the group (strongly consistent, at most GROUPSYNC_SCAN_PAGES
 * pages) to all. GROUPSYNC_OK, or RETRY / BAD with err filled. */
static int groupsync_user_rows(groupsync_ctx *c, const char *user, json_t *all)
{
    json_t *start = NULL;
    ddb_page page;
    ddb_page_init(&page);
    int rc = GROUPSYNC_OK;
    for (int n = 0; n < GROUPSYNC_SCAN_PAGES && rc == GROUPSYNC_OK; n++) {
        if (messaging_user_rows_page(c->d, c->table, user, "message_group_uuid", c->m->group,
                                     start, &page, c->err) != 0) {
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
static int groupsync_read_rows_consistent(groupsync_ctx *c, json_t **rows)
{
    json_t *all = json_array();
    if (!all)
        return groupsync_nomem(c->err);
    int rc = groupsync_user_rows(c, c->m->sender, all);
    size_t len = 0;
    const char *partner = json_array_size(all) > 0
                              ? groupsync_s(json_object_get(json_array_get(all, 0), "user_uuid"),
                                            &len)
                              : NULL;
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

static bool groupsync_row_ok(const groupsync_ctx *c, const json_t *row, const char **sk,
                             size_t *sk_len);

/* How many rows of rows groupsync_row_ok accepts. */
static int groupsync_count_ok(const groupsync_ctx *c, const json_t *rows)
{
    int n = 0;
    size_t i;
    const json_t *row;
    json_array_foreach(rows, i, row) {
        const char *sk;
        size_t sk_len;
        n += groupsync_row_ok(c, row, &sk, &sk_len) ? 1 : 0;
    }
    return n;
}

/* Every group row of the group (all pages of the GSI, or the consistent read when the GSI
 * shows fewer than two), validated as group rows by the caller. GROUPSYNC_OK with *rows a
 * new array, or RETRY / BAD with err filled. */
static int groupsync_read_rows(groupsync_ctx *c, json_t **rows)
{
    json_t *all = json_array();
    json_t *start = NULL;
    ddb_page page;
    ddb_page_init(&page);
    int rc = GROUPSYNC_RETRY;
    if (!all) {
        rc = groupsync_nomem(c->err);
        goto out;
    }
    for (;;) {
        if (messaging_group_rows_page(c->d, c->table, c->m->group, start, &page,
                                      c->err) != 0) {
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
    if (groupsync_count_ok(c, all) < 2 && c->m->sender[0]) {
        rc = groupsync_read_rows_consistent(c, rows);
        goto out;
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

/* The Delete of row's key conditioned on what was read: it exists, and message_group_uuid
 * and message are as read. Fills a ddb_expr whose maps the caller releases. */
static int groupsync_old_cond(const json_t *row, ddb_expr *x, json_t **names, json_t **values)
{
    const json_t *msg = json_object_get(row, "message");
    *names = json_pack("{s:s, s:s}", "#g", "message_group_uuid", "#m", "message");
    *values = msg ? json_pack("{s:O, s:O}", ":g", json_object_get(row, "message_group_uuid"),
                              ":m", msg)
                  : json_pack("{s:O}", ":g", json_object_get(row, "message_group_uuid"));
    x->expression = msg ? "attribute_exists(pk) AND #g = :g AND #m = :m"
                        : "attribute_exists(pk) AND #g = :g AND attribute_not_exists(#m)";
    x->names = *names;
    x->values = *values;
    return *names && *values ? 0 : -1;
}

static groupsync_step groupsync_fail(ddb_error *err)
{
    if (ddb_error_is(err, "ValidationException"))
        return GS_BAD;
    return GS_RETRY;
}

/* After a failed condition: what stands at the target key decides. */
static groupsync_step groupsync_check_target(groupsync_ctx *c, const json_t *row,
                                             const json_t *target_key, const ddb_expr *old_cond)
{
    json_t *have = NULL;
    groupsync_step step;
    if (ddb_get_item(c->d, c->table, target_key, true, &have, c->err) != 0)
        return groupsync_fail(c->err);
    if (!have) {
        step = GS_RACE; /* the old row changed under us */
        goto out;
    }
    const json_t *have_g = json_object_get(have, "message_group_uuid");
    if (groupsync_same_s(have_g, json_object_get(row, "message_group_uuid"))) {
        /* this user's row of this group is already at the message: the old one is a stale
         * duplicate */
        json_t *old_key = json_pack("{s:O, s:O}", "pk", json_object_get(row, "pk"), "sk",
                                    json_object_get(row, "sk"));
        if (!old_key) {
            groupsync_nomem(c->err);
            step = GS_RETRY;
            goto out;
        }
        int rc = ddb_delete_item(c->d, c->table, old_key, old_cond, c->err);
        json_decref(old_key);
        if (rc == 0)
            step = GS_REMOVED;
        else if (ddb_error_is(c->err, "ConditionalCheckFailedException"))
            step = GS_RACE;
        else
            step = groupsync_fail(c->err);
        goto out;
    }
    size_t pk_len = 0, g_len = 0;
    const char *pk = groupsync_s(json_object_get(row, "pk"), &pk_len);
    const char *other = groupsync_s(have_g, &g_len);
    snprintf(c->collision, sizeof c->collision,
             "group row %.*s cannot move to %s: that key already holds the row of %s%.*s (two "
             "conversations of one user with messages in the same microsecond); not "
             "overwritten",
             (int)pk_len, pk, c->m->created_at,
             other && uuid_is_text(other, g_len) ? "conversation " : "another item",
             other && uuid_is_text(other, g_len) ? (int)g_len : 0, other ? other : "");
    if (c->ncollided < GROUPSYNC_ROWS_MAX)
        snprintf(c->collided[c->ncollided++], MESSAGING_KEY_MAX, "%.*s", (int)pk_len, pk);
    step = GS_COLLISION;
out:
    json_decref(have);
    return step;
}

/* One move: Delete old + Put new in one transaction, each conditioned on the state read. */
static groupsync_step groupsync_move(groupsync_ctx *c, const json_t *row)
{
    json_t *names = NULL, *values = NULL, *old_key = NULL, *new_item = NULL, *new_key = NULL;
    json_t *items = NULL;
    ddb_expr cond = { 0 };
    groupsync_step step = GS_RETRY;
    char token[UUID_BUF];

    old_key = json_pack("{s:O, s:O}", "pk", json_object_get(row, "pk"), "sk",
                        json_object_get(row, "sk"));
    new_item = json_copy((json_t *)row); /* shallow: the AVs are shared, never changed */
    json_t *sk = ddb_av_s(c->m->created_at);
    if (!new_item || !sk || json_object_set_new(new_item, "sk", sk) != 0 ||
        json_object_set(new_item, "message", (json_t *)c->m->message) != 0) {
        if (!new_item)
            json_decref(sk);
        goto nomem;
    }
    new_key = json_pack("{s:O, s:O}", "pk", json_object_get(new_item, "pk"), "sk",
                        json_object_get(new_item, "sk"));
    if (!old_key || !new_key || groupsync_old_cond(row, &cond, &names, &values) != 0)
        goto nomem;
    items = json_pack("[{s:{s:s, s:O, s:s, s:O, s:O}}, {s:{s:s, s:O, s:s}}]", "Delete",
                      "TableName", c->table, "Key", old_key, "ConditionExpression",
                      cond.expression, "ExpressionAttributeNames", names,
                      "ExpressionAttributeValues", values, "Put", "TableName", c->table, "Item",
                      new_item, "ConditionExpression", "attribute_not_exists(pk)");
    if (!items || rnd_uuid4(token) != 0)
        goto nomem;
    /* the token makes the client's own resends of this very transaction idempotent */
    if (ddb_transact_write(c->d, items, token, c->err) == 0) {
        step = GS_DONE;
        goto out;
    }
    if (ddb_error_is(c->err, "TransactionCanceledException")) {
        bool cond_failed = c->err->nreasons == 0, conflict = false, invalid = false;
        for (int i = 0; i < c->err->nreasons; i++) {
            cond_failed |= aws_error_reason_is(c->err, i, AWS_REASON_CONDITION);
            conflict |= aws_error_reason_is(c->err, i, AWS_REASON_CONFLICT);
            invalid |= aws_error_reason_is(c->err, i, AWS_REASON_VALIDATION);
        }
        if (cond_failed)
            step = groupsync_check_target(c, row, new_key, &cond);
        else if (conflict)
            step = GS_RACE;
        else
            step = invalid ? GS_BAD : GS_RETRY;
        goto out;
    }
    if (ddb_error_is(c->err, "TransactionConflictException"))
        step = GS_RACE;
    else
        step = groupsync_fail(c->err);
    goto out;
nomem:
    groupsync_nomem(c->err);
    step = GS_RETRY;
out:
    json_decref(items);
    json_decref(names);
    json_decref(values);
    json_decref(new_key);
    json_decref(new_item);
    json_decref(old_key);
    return step;
}

/* Length-aware string order (sk values may in principle hold anything). */
static int groupsync_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    int r = memcmp(a, b, alen < blen ? alen : blen);
    if (r != 0)
        return r;
    return alen < blen ? -1 : alen > blen ? 1 : 0;
}

/* A group row this module may move: pk "GRP#..." (bounded), sk S. */
static bool groupsync_row_ok(const groupsync_ctx *c, const json_t *row, const char **sk,
                             size_t *sk_len)
{
    size_t pk_len = 0;
    const char *pk = groupsync_s(json_object_get(row, "pk"), &pk_len);
    if (!pk || pk_len < 5 || pk_len >= MESSAGING_KEY_MAX || memcmp(pk, "GRP#", 4) != 0)
        return false;
    for (int i = 0; i < c->ncollided; i++)
        if (strlen(c->collided[i]) == pk_len && memcmp(c->collided[i], pk, pk_len) == 0)
            return false;
    *sk = groupsync_s(json_object_get(row, "sk"), sk_len);
    return *sk != NULL;
}

int groupsync_apply(ddb *d, const char *table, const json_t *record, groupsync_result *res,
                    ddb_error *err)
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
    size_t ts_len = strlen(m.created_at);
    int rows_seen = 0;

    for (int round = 0; round < GROUPSYNC_ROUNDS; round++) {
        if (round > 0) {
            long cap = 5L << round;
            clock_sleep_ms(1 + (int64_t)rnd_below(cap < GROUPSYNC_BACKOFF_CAP_MS
                                                      ? (uint64_t)cap
                                                      : GROUPSYNC_BACKOFF_CAP_MS));
        }
        json_t *rows = NULL;
        int rc = groupsync_read_rows(&c, &rows);
        if (rc != GROUPSYNC_OK)
            return rc;
        bool again = false;
        rows_seen = 0;
        size_t i;
        json_t *row;
        json_array_foreach(rows, i, row) {
            const char *sk;
            size_t sk_len;
            if (!groupsync_row_ok(&c, row, &sk, &sk_len))
                continue;
            rows_seen++;
            if (groupsync_cmp(sk, sk_len, m.created_at, ts_len) >= 0)
                continue; /* at or past this message: forward only */
            groupsync_step step = groupsync_move(&c, row);
            switch (step) {
            case GS_DONE:
                res->moved++;
                break;
            case GS_REMOVED:
                res->removed++;
                break;
            case GS_RACE:
                res->races++;
                again = true;
                break;
            case GS_COLLISION:
                break;
            case GS_RETRY:
            case GS_BAD:
                json_decref(rows);
                if (res->moved > 0 || res->removed > 0)
                    res->action = GROUPSYNC_MOVED;
                return step == GS_BAD ? GROUPSYNC_BAD : GROUPSYNC_RETRY;
            }
        }
        json_decref(rows);
        if (!again) {
            if (res->moved > 0 || res->removed > 0)
                res->action = GROUPSYNC_MOVED;
            else if (rows_seen == 0 && c.ncollided == 0)
                res->action = GROUPSYNC_NO_GROUP;
            ddb_error_clear(err);
            if (c.ncollided > 0) {
                errinfo_set(&err->info, ERR_INVALID, "%s", c.collision);
                return GROUPSYNC_BAD;
            }
            return GROUPSYNC_OK;
        }
    }
    if (res->moved > 0 || res->removed > 0)
        res->action = GROUPSYNC_MOVED;
    ddb_error_clear(err);
    errinfo_set(&err->info, ERR_SERVICE,
                "group %s: lost the race for its group rows %d times; try again later",
                m.group, res->races);
    return GROUPSYNC_RETRY;
}
