/* groupsync_plan.c — pattern E's decisions (pure): which group rows move, which are
 * current or stale duplicates, what a failed condition found, what a failed write means. */
#include "config.h"
#include "messaging/groupsync_plan.h"

#include <string.h>

#include "aws/awsjson.h"
#include "aws/ddb_av.h"
#include "messaging/messaging.h"

const char *groupsync_plan_s(const json_t *av, size_t *len)
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

bool groupsync_plan_same_s(const json_t *a, const json_t *b)
{
    size_t la, lb;
    const char *sa = groupsync_plan_s(a, &la), *sb = groupsync_plan_s(b, &lb);
    return sa && sb && la == lb && memcmp(sa, sb, la) == 0;
}

/* Length-aware string order (sk values may in principle hold anything). */
static int groupsync_plan_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    int r = memcmp(a, b, alen < blen ? alen : blen);
    if (r != 0)
        return r;
    return alen < blen ? -1 : alen > blen ? 1 : 0;
}

/* A group row this module may move: pk "GRP#..." (bounded) not in skip, sk an S. */
static bool groupsync_plan_usable(const json_t *row, const char *const *skip, size_t nskip,
                                  const char **sk, size_t *sk_len)
{
    size_t pk_len = 0;
    const char *pk = groupsync_plan_s(json_object_get(row, "pk"), &pk_len);
    if (!pk || pk_len < 5 || pk_len >= MESSAGING_KEY_MAX || memcmp(pk, "GRP#", 4) != 0)
        return false;
    for (size_t i = 0; i < nskip; i++)
        if (skip[i] && strlen(skip[i]) == pk_len && memcmp(skip[i], pk, pk_len) == 0)
            return false;
    *sk = groupsync_plan_s(json_object_get(row, "sk"), sk_len);
    return *sk != NULL;
}

int groupsync_plan_rows(const json_t *rows, const char *created_at, const char *const *skip,
                        size_t nskip, groupsync_plan *out)
{
    if (!out)
        return -1;
    memset(out, 0, sizeof *out);
    if (!json_is_array(rows) || json_array_size(rows) > GROUPSYNC_ROWS_MAX || !created_at)
        return -1;
    size_t ts_len = strlen(created_at);
    size_t n = json_array_size(rows);
    out->nrows = n;
    for (size_t i = 0; i < n; i++) {
        const json_t *row = json_array_get(rows, i);
        const char *sk;
        size_t sk_len;
        if (!groupsync_plan_usable(row, skip, nskip, &sk, &sk_len)) {
            out->verdict[i] = GROUPSYNC_ROW_SKIP;
            continue;
        }
        out->usable++;
        if (groupsync_plan_cmp(sk, sk_len, created_at, ts_len) >= 0) {
            out->verdict[i] = GROUPSYNC_ROW_CURRENT; /* forward only */
            continue;
        }
        /* older: a twin of the same pk and group already at the message makes it stale */
        bool twin = false;
        for (size_t k = 0; k < n && !twin; k++) {
            const json_t *o = json_array_get(rows, k);
            const char *osk;
            size_t osk_len;
            twin = k != i && groupsync_plan_usable(o, skip, nskip, &osk, &osk_len) &&
                   groupsync_plan_cmp(osk, osk_len, created_at, ts_len) == 0 &&
                   groupsync_plan_same_s(json_object_get(o, "pk"), json_object_get(row, "pk")) &&
                   groupsync_plan_same_s(json_object_get(o, "message_group_uuid"),
                                         json_object_get(row, "message_group_uuid"));
        }
        out->verdict[i] = twin ? GROUPSYNC_ROW_DELETE : GROUPSYNC_ROW_MOVE;
        if (twin)
            out->deletes++;
        else
            out->moves++;
    }
    return 0;
}

bool groupsync_plan_pair(const json_t *rows, const groupsync_plan *p, size_t *a, size_t *b)
{
    if (!p || p->moves != 2 || p->deletes != 0 || !json_is_array(rows) ||
        json_array_size(rows) != p->nrows)
        return false;
    size_t idx[2], n = 0;
    for (size_t i = 0; i < p->nrows && n < 2; i++)
        if (p->verdict[i] == GROUPSYNC_ROW_MOVE)
            idx[n++] = i;
    if (n != 2 || groupsync_plan_same_s(json_object_get(json_array_get(rows, idx[0]), "pk"),
                                        json_object_get(json_array_get(rows, idx[1]), "pk")))
        return false;
    *a = idx[0];
    *b = idx[1];
    return true;
}

bool groupsync_plan_cacheable(const json_t *rows, const groupsync_plan *p)
{
    if (!p || p->nrows != 2 || p->usable != 2 || p->deletes != 0 || !json_is_array(rows) ||
        json_array_size(rows) != 2)
        return false;
    const json_t *r0 = json_array_get(rows, 0), *r1 = json_array_get(rows, 1);
    return !groupsync_plan_same_s(json_object_get(r0, "pk"), json_object_get(r1, "pk")) &&
           groupsync_plan_same_s(json_object_get(r0, "message_group_uuid"),
                                 json_object_get(r1, "message_group_uuid"));
}

json_t *groupsync_plan_after(const json_t *rows, const groupsync_plan *p, const char *created_at,
                             const json_t *message)
{
    if (!created_at || !groupsync_plan_s(message, &(size_t){ 0 }) ||
        !groupsync_plan_cacheable(rows, p))
        return NULL;
    json_t *out = json_array();
    for (size_t i = 0; out && i < p->nrows; i++) {
        json_t *row = json_deep_copy(json_array_get(rows, i));
        bool ok = row != NULL;
        if (ok && p->verdict[i] == GROUPSYNC_ROW_MOVE)
            ok = json_object_set_new(row, "sk", ddb_av_s(created_at)) == 0 &&
                 json_object_set_new(row, "message", json_deep_copy(message)) == 0;
        if (!ok || json_array_append_new(out, row) != 0) {
            if (!ok)
                json_decref(row);
            json_decref(out);
            out = NULL;
        }
    }
    return out;
}

groupsync_target groupsync_plan_target(const json_t *row, const json_t *have)
{
    if (!have)
        return GROUPSYNC_TARGET_EMPTY;
    if (groupsync_plan_same_s(json_object_get(have, "message_group_uuid"),
                              json_object_get(row, "message_group_uuid")))
        return GROUPSYNC_TARGET_DUPLICATE;
    return GROUPSYNC_TARGET_COLLISION;
}

groupsync_next groupsync_plan_failure(const ddb_error *err)
{
    if (!err)
        return GROUPSYNC_NEXT_RETRY;
    if (ddb_error_is(err, "ConditionalCheckFailedException"))
        return GROUPSYNC_NEXT_CHECK;
    if (ddb_error_is(err, "TransactionCanceledException")) {
        bool cond_failed = err->nreasons == 0, conflict = false, invalid = false;
        for (int i = 0; i < err->nreasons; i++) {
            cond_failed |= aws_error_reason_is(err, i, AWS_REASON_CONDITION);
            conflict |= aws_error_reason_is(err, i, AWS_REASON_CONFLICT);
            invalid |= aws_error_reason_is(err, i, AWS_REASON_VALIDATION);
        }
        if (cond_failed)
            return GROUPSYNC_NEXT_CHECK;
        if (conflict)
            return GROUPSYNC_NEXT_REREAD;
        return invalid ? GROUPSYNC_NEXT_BAD : GROUPSYNC_NEXT_RETRY;
    }
    if (ddb_error_is(err, "TransactionConflictException"))
        return GROUPSYNC_NEXT_REREAD;
    if (ddb_error_is(err, "ValidationException"))
        return GROUPSYNC_NEXT_BAD;
    return GROUPSYNC_NEXT_RETRY;
}

groupsync_action groupsync_plan_outcome(int moved, int removed, int usable, int collided)
{
    if (moved > 0 || removed > 0)
        return GROUPSYNC_MOVED;
    if (usable == 0 && collided == 0)
        return GROUPSYNC_NO_GROUP;
    return GROUPSYNC_CURRENT;
}
