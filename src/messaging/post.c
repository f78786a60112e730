/* post.c — patterns C and D as the product runs them (post.h).
 *
 * Messages never overwrite each other. A message item's key is (MSG#<group>, created_at in
 * microseconds); the Put is conditional on attribute_not_exists(sk), and on a collision
 * the write is retried with the next microsecond (at most MESSAGING_POST_TS_TRIES times).
 * D's group rows are conditioned the same way (a row of the same user at the same
 * microsecond belongs to another conversation).
 *
 * One conversation per pair (members.c): D looks up the pair item, posts as C into the
 * conversation it names when I hold a row there, and otherwise creates a conversation whose
 * transaction carries the pair item (index 3). Losing on it (another creator won, or is
 * still writing) sends D round again, sleeping a little from the third round.
 *
 * Idempotency-Key. A post that carries one writes, in the SAME TransactWriteItems as its
 * message (C) or its group rows, first message and pair item (D), the idempotency record
 * (messaging_idem_item: pk IDEM#<my uuid>, sk <key>, kind "C"|"D", fingerprint, result =
 * the JSON answer, created_at, ttl = now + MESSAGING_IDEM_TTL_S), last, conditional on
 * attribute_not_exists(pk) OR ttl < now. So either everything of the request is written
 * together with the record or nothing is. A retry first reads the record (consistent
 * GetItem, messaging_post_replay) and answers the stored result; a retry racing the
 * original loses the condition and does the same; one whose body differs is KEY_REUSED.
 * The transaction also carries a ClientRequestToken derived from (table, me, key,
 * fingerprint, timestamp, attempt) — SHA-256, 36 hex characters — so the DynamoDB client's
 * own re-send of the identical request after a lost reply succeeds instead of tripping
 * over its own record; a token reused with other parameters (IdempotentParameterMismatch)
 * is treated like a lost condition. The record has no message_group_uuid attribute, so it
 * stays out of the GSI; stream consumers skip pk IDEM#. Without a key C is a plain
 * conditional PutItem and D a plain transaction (token = the message uuid). */
#include "config.h"
#include "messaging/post.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "aws/ddb_av.h"
#include "base/clock.h"
#include "base/hex.h"
#include "base/jparse.h"
#include "base/log.h"
#include "base/rnd.h"

#define MESSAGING_POST_JSON_DEPTH 8     /* a stored answer is a flat object */
#define MESSAGING_POST_D_TOKEN_BASE 100 /* D's token attempts, apart from C's */

/* One operation being run. */
typedef struct messaging_post_run {
    const messaging_store *st;
    const messaging_post *p;
    char kind[2]; /* "C" or "D" */
    messaging_post_result *res;
} messaging_post_run;

void messaging_post_result_init(messaging_post_result *r)
{
    memset(r, 0, sizeof *r);
    r->outcome = MESSAGING_POST_FRESH;
}

void messaging_post_result_cleanup(messaging_post_result *r)
{
    if (!r)
        return;
    json_decref(r->answer);
    r->answer = NULL;
}

/* Ends the operation in outcome; answer (a new reference, or NULL) becomes the result's. */
static int messaging_post_end(messaging_post_result *r, messaging_post_outcome outcome,
                              json_t *answer)
{
    json_decref(r->answer);
    r->answer = answer;
    r->outcome = outcome;
    return 0;
}

static int messaging_post_failed(messaging_post_result *r, const char *step)
{
    r->step = step;
    return messaging_post_end(r, MESSAGING_POST_FAILED, NULL);
}

/* ---- fingerprints and tokens (pure) ----------------------------------------------------- */

/* Lowercase hex SHA-256 of the parts, each followed by '\n', into out. 0 or -1. */
static int messaging_post_sha256(char out[65], const char *const *parts, size_t n)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char h[32];
    unsigned int hlen = 0;
    int ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1;
    for (size_t i = 0; ok && i < n; i++)
        ok = parts[i] && EVP_DigestUpdate(md, parts[i], strlen(parts[i])) == 1 &&
             EVP_DigestUpdate(md, "\n", 1) == 1;
    ok = ok && EVP_DigestFinal_ex(md, h, &hlen) == 1 && hlen == 32;
    EVP_MD_CTX_free(md);
    if (!ok)
        return -1;
    hex_encode(h, 32, out);
    return 0;
}

int messaging_post_fingerprint(char out[65], char kind, const char *target, const char *message)
{
    const char k[2] = { kind, '\0' };
    const char *parts[] = { k, target, message };
    return messaging_post_sha256(out, parts, 3);
}

/* The ClientRequestToken of try `attempt` of this request, whose message is dated ts (36
 * hex characters). DynamoDB remembers a token for 10 minutes across the whole account and
 * region and refuses it with other parameters (IdempotentParameterMismatch), so it names
 * this one transaction: table, user, key, body, timestamp and try. */
static int messaging_post_token(const messaging_post_run *r, int attempt, const char *ts,
                                char out[37])
{
    char n[12], h[65];
    snprintf(n, sizeof n, "%d", attempt);
    const char *parts[] = { "cruddur-idempotency",
                            r->st->table,
                            r->p->me->uuid,
                            r->p->idem_key,
                            r->p->fingerprint,
                            ts,
                            n };
    if (messaging_post_sha256(h, parts, sizeof parts / sizeof *parts) != 0)
        return -1;
    memcpy(out, h, 36);
    out[36] = '\0';
    return 0;
}

/* ---- the idempotency record ------------------------------------------------------------- */

static int messaging_post_replay_run(const messaging_store *st, const messaging_post *p,
                                     messaging_post_result *res)
{
    json_t *key = messaging_idem_key(p->me->uuid, p->idem_key), *item = NULL;
    if (!key) {
        aws_error_nomem(&res->err);
        messaging_post_failed(res, "idempotency_read");
        return -1;
    }
    int rc = ddb_get_item(st->db, st->table, key, true, &item, &res->err);
    json_decref(key);
    if (rc != 0)
        return messaging_post_failed(res, "idempotency_read");
    int64_t ttl = 0;
    if (!item || (ddb_av_get_i64(item, MESSAGING_TTL_ATTRIBUTE, &ttl) == 0 &&
                  ttl < clock_real_us() / 1000000)) {
        json_decref(item);
        return messaging_post_end(res, MESSAGING_POST_FRESH, NULL);
    }
    const char *fp = ddb_av_get_s(item, "fingerprint");
    const char *result = ddb_av_get_s(item, "result");
    json_t *v = result ? jparse(result, strlen(result), MESSAGING_POST_JSON_DEPTH, NULL) : NULL;
    if (!fp || !p->fingerprint || strcmp(fp, p->fingerprint) != 0) {
        json_decref(v);
        messaging_post_end(res, MESSAGING_POST_KEY_REUSED, NULL);
    } else {
        messaging_post_end(res, v ? MESSAGING_POST_REPLAYED : MESSAGING_POST_BAD_RECORD, v);
    }
    json_decref(item);
    return 0;
}

int messaging_post_replay(const messaging_store *st, const messaging_post *p,
                          messaging_post_result *res)
{
    if (!p->idem_key)
        return messaging_post_end(res, MESSAGING_POST_FRESH, NULL);
    return messaging_post_replay_run(st, p, res);
}

/* Appends the Put of the idempotency record holding answer to actions. 0 or -1. */
static int messaging_post_add_idem(const messaging_post_run *r, json_t *actions,
                                   const json_t *answer, const char *created_at)
{
    char *result = json_dumps(answer, JSON_COMPACT);
    int64_t now_s = clock_real_us() / 1000000;
    json_t *item =
        result ? messaging_idem_item(r->p->me->uuid, r->p->idem_key, r->kind, r->p->fingerprint,
                                     result, created_at, now_s + MESSAGING_IDEM_TTL_S)
               : NULL;
    int rc = -1;
    if (!item)
        goto out;
    char now_text[24];
    snprintf(now_text, sizeof now_text, "%lld", (long long)now_s);
    json_t *put =
        json_pack("{s:{s:s, s:O, s:s, s:{s:s}, s:{s:{s:s}}}}", "Put", "TableName", r->st->table,
                  "Item", item, "ConditionExpression", "attribute_not_exists(pk) OR #ttl < :now",
                  "ExpressionAttributeNames", "#ttl", MESSAGING_TTL_ATTRIBUTE,
                  "ExpressionAttributeValues", ":now", "N", now_text);
    if (!put || json_array_append_new(actions, put) != 0)
        goto out;
    rc = 0;
out:
    json_decref(item);
    free(result);
    return rc;
}

/* Whether a failed transaction lost on the idempotency record (its action is last): it
 * exists, or another transaction is writing it. */
static bool messaging_post_idem_lost(const ddb_error *err, size_t nactions)
{
    if (ddb_error_is(err, "IdempotentParameterMismatchException"))
        return true;
    return ddb_error_is(err, "TransactionCanceledException") && nactions > 0 &&
           err->nreasons == (int)nactions &&
           (aws_error_reason_is(err, nactions - 1, AWS_REASON_CONDITION) ||
            aws_error_reason_is(err, nactions - 1, AWS_REASON_CONFLICT));
}

/* After losing on the idempotency record: the stored result, or IN_PROGRESS when the
 * other request has not finished. */
static int messaging_post_after_idem_lost(const messaging_post_run *r)
{
    int rc = messaging_post_replay_run(r->st, r->p, r->res);
    if (rc == 0 && r->res->outcome == MESSAGING_POST_FRESH)
        messaging_post_end(r->res, MESSAGING_POST_IN_PROGRESS, NULL);
    return rc;
}

/* ---- the microsecond of a post ----------------------------------------------------------- */

/* One try of a post at microsecond us (try t, from 0): *collided set when a row of the same
 * key already holds it (the next microsecond is tried), otherwise the outcome is set. 0, or
 * -1 (no memory). arg is the try's own state. */
typedef int messaging_post_try_fn(const messaging_post_run *r, const void *arg, int t, int64_t us,
                                  bool *collided);

/* Runs try_at at consecutive microseconds from the request's (p->at_us, else now) while
 * they collide; after MESSAGING_POST_TS_TRIES of them logs event and ends in busy. */
static int messaging_post_each_us(const messaging_post_run *r, messaging_post_try_fn *try_at,
                                  const void *arg, const char *event, messaging_post_outcome busy)
{
    int64_t us = r->p->at_us ? r->p->at_us : messaging_now_us();
    for (int t = 0; t < MESSAGING_POST_TS_TRIES; t++) {
        bool collided = false;
        int rc = try_at(r, arg, t, us + t, &collided);
        if (!collided)
            return rc;
    }
    log_msg(LOG_WARN, event, "%d timestamps taken in a row", MESSAGING_POST_TS_TRIES);
    return messaging_post_end(r->res, busy, NULL);
}

/* ---- C ----------------------------------------------------------------------------------- */

/* What every try of pattern C shares. */
typedef struct messaging_post_c {
    const char *group;
    bool answer_group;
    char msg_uuid[UUID_BUF]; /* the same message on every try */
} messaging_post_c;

/* One try of C (messaging_post_try_fn): the message item, with the idempotency record in
 * one transaction when the request has a key. */
static int messaging_post_to_group_at(const messaging_post_run *r, const void *arg, int attempt,
                                      int64_t us, bool *collided)
{
    const messaging_post_c *c = arg;
    const messaging_user *me = r->p->me;
    char ts[MESSAGING_TS_LEN];
    if (clock_iso8601_us(ts, sizeof ts, us) != 0)
        return -1;
    ddb_error *err = &r->res->err;
    json_t *item = messaging_message_item(c->group, ts, c->msg_uuid, me, r->p->message);
    json_t *answer = c->answer_group
                         ? json_pack("{s:s}", "message_group_uuid", c->group)
                         : json_pack("{s:s, s:s, s:s, s:s, s:s}", "uuid", c->msg_uuid,
                                     "display_name", me->display_name, "handle", me->handle,
                                     "message", r->p->message, "created_at", ts);
    json_t *actions = NULL;
    int rc = -1;
    bool lost = false;
    if (!item || !answer)
        goto out;
    if (!r->p->idem_key) {
        rc = messaging_put_message(r->st->db, r->st->table, item, err);
        *collided = rc != 0 && ddb_error_is(err, "ConditionalCheckFailedException");
    } else {
        char token[37];
        actions = json_pack("[{s:{s:s, s:O, s:s}}]", "Put", "TableName", r->st->table, "Item", item,
                            "ConditionExpression", "attribute_not_exists(sk)");
        if (!actions || messaging_post_add_idem(r, actions, answer, ts) != 0 ||
            messaging_post_token(r, attempt, ts, token) != 0)
            goto out;
        rc = ddb_transact_write(r->st->db, actions, token, err);
        lost = rc != 0 && messaging_post_idem_lost(err, 2);
        *collided = rc != 0 && !lost && ddb_error_is(err, "TransactionCanceledException") &&
                    err->nreasons == 2 && aws_error_reason_is(err, 0, AWS_REASON_CONDITION);
    }
    if (rc == 0) {
        if (c->answer_group)
            snprintf(r->res->group, sizeof r->res->group, "%s", c->group);
        rc = messaging_post_end(
            r->res, c->answer_group ? MESSAGING_POST_JOINED : MESSAGING_POST_POSTED, answer);
        answer = NULL;
    } else if (lost) {
        rc = messaging_post_after_idem_lost(r);
    } else if (!*collided) {
        rc = messaging_post_failed(r->res, "put");
    }
out:
    json_decref(item);
    json_decref(answer);
    json_decref(actions);
    return rc;
}

/* Pattern C: the message into group (I am a member). answer_group: answer
 * {message_group_uuid} and end JOINED (D into an existing conversation) instead of the
 * message and POSTED. */
static int messaging_post_to_group(const messaging_post_run *r, const char *group,
                                   bool answer_group)
{
    messaging_post_c c = { .group = group, .answer_group = answer_group };
    if (rnd_uuid4(c.msg_uuid) != 0)
        return -1;
    return messaging_post_each_us(r, messaging_post_to_group_at, &c, "messages_put_collisions",
                                  MESSAGING_POST_BUSY);
}

int messaging_post_message(const messaging_store *st, const messaging_post *p, const char *group,
                           messaging_post_result *res)
{
    messaging_post_run r = { .st = st, .p = p, .kind = "C", .res = res };
    res->group[0] = '\0';
    switch (messaging_members_check(st, p->me->uuid, group, &res->err)) {
    case MESSAGING_MEMBER: return messaging_post_to_group(&r, group, false);
    case MESSAGING_NOT_MEMBER: return messaging_post_end(res, MESSAGING_POST_NOT_MEMBER, NULL);
    default: return messaging_post_failed(res, "membership");
    }
}

/* ---- D ----------------------------------------------------------------------------------- */

/* What every try of D's transaction for one new group shares. */
typedef struct messaging_post_d {
    const messaging_user *ou;
    int attempt; /* the round of messaging_start, for the token */
    char group[UUID_BUF];
    const char *replaces;
    bool *lost_pair;
} messaging_post_d;

/* One try of D's transaction (messaging_post_try_fn): both group rows, the first message,
 * the pair item (index 3: the pair's only conversation; replacing the stale pair item naming
 * `replaces` when not NULL) and the idempotency record (last, with a key). *lost_pair set
 * (nothing decided) when it lost on the pair item, *collided when a group row of the same
 * user already holds this microsecond; otherwise the outcome is set. 0, or -1 (no
 * memory). */
static int messaging_post_create_at(const messaging_post_run *r, const void *arg, int t, int64_t us,
                                    bool *collided)
{
    (void)t; /* D's token is per round (its timestamp tells the tries apart) */
    const messaging_post_d *d = arg;
    const messaging_user *mu = r->p->me, *ou = d->ou;
    char msg_uuid[UUID_BUF], ts[MESSAGING_TS_LEN], token[37];
    if (rnd_uuid4(msg_uuid) != 0 || clock_iso8601_us(ts, sizeof ts, us) != 0)
        return -1;
    json_t *answer = json_pack("{s:s}", "message_group_uuid", d->group);
    json_t *actions =
        messaging_create_group_actions(r->st->table, d->group, msg_uuid, ts, mu, ou, r->p->message);
    ddb_error *err = &r->res->err;
    int rc = -1;
    if (!answer || !actions ||
        json_array_append_new(actions, messaging_members_pair_put(r->st->table, mu->uuid, ou->uuid,
                                                                  d->group, ts, d->replaces)) != 0)
        goto out;
    if (r->p->idem_key) {
        if (messaging_post_add_idem(r, actions, answer, ts) != 0 ||
            messaging_post_token(r, MESSAGING_POST_D_TOKEN_BASE + d->attempt, ts, token) != 0)
            goto out;
    } else {
        memcpy(token, msg_uuid, sizeof token);
    }
    bool cancelled = false;
    if (ddb_transact_write(r->st->db, actions, token, err) == 0) {
        snprintf(r->res->group, sizeof r->res->group, "%s", d->group);
        rc = messaging_post_end(r->res, MESSAGING_POST_CREATED, answer);
        answer = NULL;
    } else if (r->p->idem_key && messaging_post_idem_lost(err, json_array_size(actions))) {
        rc = messaging_post_after_idem_lost(r);
    } else if ((cancelled = ddb_error_is(err, "TransactionCanceledException")) &&
               err->nreasons > 3 &&
               (aws_error_reason_is(err, 3, AWS_REASON_CONDITION) ||
                aws_error_reason_is(err, 3, AWS_REASON_CONFLICT))) {
        *d->lost_pair = true;
        rc = 0;
    } else if (cancelled && err->nreasons > 2 &&
               (aws_error_reason_is(err, 0, AWS_REASON_CONDITION) ||
                aws_error_reason_is(err, 1, AWS_REASON_CONDITION) ||
                aws_error_reason_is(err, 2, AWS_REASON_CONDITION))) {
        *collided = true;
        rc = 0;
    } else {
        rc = messaging_post_failed(r->res, "create_group");
    }
out:
    json_decref(answer);
    json_decref(actions);
    return rc;
}

/* D's transaction for a new group, retried at the next microsecond while a group row of
 * either user holds the one tried (at most MESSAGING_POST_TS_TRIES). */
static int messaging_post_create(const messaging_post_run *r, const messaging_user *ou, int attempt,
                                 const char *replaces, bool *lost_pair)
{
    *lost_pair = false;
    messaging_post_d d = {
        .ou = ou, .attempt = attempt, .replaces = replaces, .lost_pair = lost_pair
    };
    if (rnd_uuid4(d.group) != 0)
        return -1;
    return messaging_post_each_us(r, messaging_post_create_at, &d, "messages_group_collisions",
                                  MESSAGING_POST_BUSY_CREATING);
}

int messaging_start(const messaging_store *st, const messaging_post *p, const messaging_user *other,
                    messaging_post_result *res)
{
    messaging_post_run r = { .st = st, .p = p, .kind = "D", .res = res };
    const char *me = p->me->uuid;
    res->group[0] = '\0';
    if (strcmp(other->uuid, me) == 0)
        return messaging_post_end(res, MESSAGING_POST_SELF, NULL);
    char stale[UUID_BUF] = "";
    for (int attempt = 0; attempt < MESSAGING_POST_PAIR_TRIES; attempt++) {
        if (attempt > 1) /* lost twice: the winner's transaction may still be in flight */
            clock_sleep_ms(5 + 10 * (attempt - 2));
        /* The pair's conversation, if it has one (another request may have just made it). */
        char group[UUID_BUF];
        messaging_pair found = messaging_members_pair_find(st, me, other->uuid, group, &res->err);
        if (found == MESSAGING_PAIR_FAILED)
            return messaging_post_failed(res, "pair_lookup");
        if (found == MESSAGING_PAIR_FOUND) {
            messaging_membership m = messaging_members_check(st, me, group, &res->err);
            if (m == MESSAGING_MEMBERSHIP_FAILED)
                return messaging_post_failed(res, "member_lookup");
            if (m == MESSAGING_MEMBER)
                return messaging_post_to_group(&r, group, true);
            /* A pair item whose conversation has no row of mine (deleted by hand): a
             * message there would be invisible, so a new conversation replaces it. */
            if (strcmp(group, stale) != 0) {
                log_msg(LOG_WARN, "messages_pair_stale",
                        "pair item names group %s without "
                        "a row of the sender; starting a new conversation",
                        group);
                memcpy(stale, group, sizeof stale);
            }
        }
        bool lost_pair = false;
        int rc = messaging_post_create(&r, other, attempt,
                                       found == MESSAGING_PAIR_FOUND ? stale : NULL, &lost_pair);
        if (!lost_pair)
            return rc;
    }
    log_msg(LOG_WARN, "messages_pair_contended", "%d rounds lost on one pair",
            MESSAGING_POST_PAIR_TRIES);
    return messaging_post_end(res, MESSAGING_POST_CONTENDED, NULL);
}
