/* messages.c — GET /api/messages/{uuid} (pattern A) and POST /api/messages (patterns C and
 * D): reading and writing conversations for their members only.
 *
 * Membership and the one conversation per pair of users: members.c (the GSI, with a
 * strongly consistent fallback for a conversation created a moment ago; a PAIR# item written
 * in D's transaction so concurrent first messages create one conversation). A non-member
 * and an unknown group both get 404 (no way to probe for group uuids).
 *
 * Messages never overwrite each other. A message item's key is (MSG#<group>, created_at in
 * microseconds); the Put is conditional on attribute_not_exists(sk), and on a collision
 * the write is retried with the next microsecond (at most API_MESSAGES_TS_TRIES times).
 *
 * Idempotency-Key (1..64 printable ASCII characters, else 400). A POST that carries one
 * writes, in the SAME TransactWriteItems as its message (C) or its group rows and first
 * message (D), an idempotency item
 *     pk "IDEM#<my uuid>", sk "<key>", kind "C"|"D", fingerprint (SHA-256 of the request),
 *     result (the JSON answer), created_at, ttl (epoch seconds, +24 h)
 * conditional on attribute_not_exists(pk) OR ttl < now. So either everything of the request
 * is written together with the record or nothing is. A retry first reads the record
 * (consistent GetItem) and answers the stored result; a retry racing the original loses the
 * condition and does the same; one whose body differs gets 422. The transaction also carries
 * a ClientRequestToken derived from (me, key, attempt) — SHA-256, 36 hex characters — so the
 * DynamoDB client's own re-send of the identical request after a lost reply succeeds
 * instead of tripping over its own record; a token reused with other parameters
 * (IdempotentParameterMismatch) is treated like a lost condition. The record has no
 * message_group_uuid attribute (the result is a JSON string), so it stays out of the GSI;
 * stream consumers must skip pk IDEM#. Without the header C is a plain conditional PutItem
 * and D a plain transaction (token = the message uuid).
 *
 * Choices: a message to oneself by handle is 422 (well-formed, not allowed); a missing or
 * non-string "message" is 400, an empty / whitespace-only / over-1024-code-point one 422; a
 * body that is not valid UTF-8 is 422, other malformed JSON (a lone "\udc00" escape too)
 * 400; both or neither of message_group_uuid and handle is 400. Answers are 200 as in the
 * original: the message object for C, {message_group_uuid} for D. */
#include "config.h"
#include "api/api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "api/cursor.h"
#include "api/members.h"
#include "aws/ddb_av.h"
#include "base/clock.h"
#include "base/jparse.h"
#include "base/log.h"
#include "base/rnd.h"
#include "base/uuid.h"
#include "messaging/messaging.h"

#define API_MESSAGES_TS_TRIES 8          /* microseconds tried for one message */
#define API_MESSAGES_IDEM_TTL_S 86400
#define API_MESSAGES_IDEM_KEY_MAX 64
#define API_MESSAGES_PAIR_TRIES 8        /* D's create-or-join rounds */
#define API_MESSAGES_D_TOKEN_BASE 100    /* D's token attempts, apart from C's */

/* ---- small helpers ------------------------------------------------------------------------- */

/* Replaces resp's body with v's JSON text (v borrowed). 0, or -1 (no memory). */
static int api_messages_reply(api_response *resp, int status, const json_t *v)
{
    char *text = v ? json_dumps(v, JSON_COMPACT) : NULL;
    buf_reset(&resp->body);
    int rc = text && buf_append_str(&resp->body, text) == 0 ? 0 : -1;
    free(text);
    if (rc == 0)
        resp->status = status;
    return rc;
}

static int api_messages_unavailable(api_response *resp, const char *event, const char *why)
{
    log_msg(LOG_ERROR, event, "%s", why);
    return api_error(resp, 503, "unavailable", "the message store is not reachable");
}

/* Lowercase hex SHA-256 of the parts joined by '\n' into out (65 bytes). 0 or -1. */
static int api_messages_sha256(char out[65], const char *const *parts, size_t n)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char h[32];
    unsigned int hlen = 0;
    int ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1;
    for (size_t i = 0; ok && i < n; i++)
        ok = EVP_DigestUpdate(md, parts[i], strlen(parts[i])) == 1 &&
             EVP_DigestUpdate(md, "\n", 1) == 1;
    ok = ok && EVP_DigestFinal_ex(md, h, &hlen) == 1 && hlen == 32;
    EVP_MD_CTX_free(md);
    if (!ok)
        return -1;
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < 32; i++) {
        out[2 * i] = hex[h[i] >> 4];
        out[2 * i + 1] = hex[h[i] & 15];
    }
    out[64] = '\0';
    return 0;
}

/* The membership rule: *allowed set when the user of req belongs to group; otherwise resp
 * holds the answer (404 for a non-member, as for a conversation that does not exist; 503
 * when membership cannot be read). What the handler returns when not allowed. */
static int api_messages_require_member(api_ctx *ctx, const api_request *req,
                                       api_response *resp, const char *group, bool *allowed)
{
    *allowed = false;
    ddb_error err;
    bool member;
    if (api_members_check(ctx, req->me.uuid, group, &member, &err) != 0)
        return api_messages_unavailable(resp, "messages_membership_failed", err.info.msg);
    if (!member)
        return api_error(resp, 404, "not_found", "no such conversation");
    *allowed = true;
    return 0;
}

/* ---- GET /api/messages/{uuid} -------------------------------------------------------------- */

int api_messages_list(api_ctx *ctx, api_request *req, api_response *resp, const strv *params)
{
    if (!req->authenticated && api_authenticate(ctx, req, resp) != 0)
        return 0;
    char group[UUID_BUF];
    if (!params || !uuid_to_lower(params[0].ptr, params[0].len, group))
        return api_error(resp, 400, "bad_request", "the conversation id must be a UUID");
    char pk[MESSAGING_KEY_MAX];
    if (messaging_msg_pk(pk, sizeof pk, group) != 0)
        return -1;
    cursor_page_args args;
    errinfo e;
    if (cursor_page_args_parse(req->query, pk, API_PAGE_DEFAULT, API_PAGE_MAX, &args, &e) != 0)
        return api_error(resp, 400, "bad_request", "%s", e.msg);
    ddb_error err;
    ddb_page_view page;
    ddb_page_view_init(&page);
    bool allowed;
    int rc = api_messages_require_member(ctx, req, resp, group, &allowed);
    if (!allowed)
        goto out;
    if (messaging_conversation_view(ctx->db, ctx->table, group, args.limit, args.start_key,
                                    &page, &err) != 0) {
        rc = api_messages_unavailable(resp, "messages_query_failed", err.info.msg);
        goto out;
    }
    /* newest first from the table; oldest to newest on the wire */
    rc = api_page_reply(resp, &page, "message_uuid", true, "messages_cursor_failed");
out:
    ddb_page_view_cleanup(&page);
    cursor_page_args_cleanup(&args);
    return rc;
}

/* ---- POST /api/messages -------------------------------------------------------------------- */

/* One POST being served. */
typedef struct api_post {
    api_ctx *ctx;
    api_request *req;
    api_response *resp;
    const char *message;          /* borrowed from the parsed body */
    const char *idem_key;         /* NULL without Idempotency-Key */
    char kind[2];                 /* "C" or "D" */
    char fingerprint[65];
    char idem_pk[MESSAGING_KEY_MAX];
} api_post;

/* The idempotency record's key. New reference or NULL. */
static json_t *api_post_idem_key(const api_post *p)
{
    return json_pack("{s:{s:s}, s:{s:s}}", "pk", "S", p->idem_pk, "sk", "S", p->idem_key);
}

/* When the request's idempotency record exists (and has not expired): answers its result
 * (or 422 when it was made for another request) and sets *done. 0, or -1 with err set. */
static int api_post_replay(api_post *p, bool *done, ddb_error *err)
{
    *done = false;
    json_t *key = api_post_idem_key(p), *item = NULL;
    if (!key) {
        ddb_error_clear(err);
        return errinfo_set(&err->info, ERR_NOMEM, "out of memory");
    }
    int rc = ddb_get_item(p->ctx->db, p->ctx->table, key, true, &item, err);
    json_decref(key);
    if (rc != 0)
        return -1;
    int64_t ttl = 0;
    if (!item || (ddb_av_get_i64(item, MESSAGING_TTL_ATTRIBUTE, &ttl) == 0 &&
                  ttl < clock_real_us() / 1000000)) {
        json_decref(item);
        return 0;
    }
    *done = true;
    const char *fp = ddb_av_get_s(item, "fingerprint");
    const char *result = ddb_av_get_s(item, "result");
    json_t *v = result ? jparse(result, strlen(result), API_MESSAGES_JSON_DEPTH, NULL) : NULL;
    if (!fp || strcmp(fp, p->fingerprint) != 0)
        rc = api_error(p->resp, 422, "idempotency_key_reused",
                       "this Idempotency-Key was used for another request");
    else if (!v)
        rc = api_error(p->resp, 500, "internal", "the stored result is unreadable");
    else
        rc = api_messages_reply(p->resp, 200, v);
    json_decref(v);
    json_decref(item);
    return rc;
}

/* Appends the Put of the idempotency record holding answer to actions. 0 or -1. */
static int api_post_add_idem(const api_post *p, json_t *actions, const json_t *answer,
                             const char *created_at)
{
    char *result = json_dumps(answer, JSON_COMPACT);
    json_t *item = result ? api_post_idem_key(p) : NULL;
    int rc = -1;
    if (!item)
        goto out;
    int64_t now_s = clock_real_us() / 1000000;
    if (json_object_set_new(item, "kind", ddb_av_s(p->kind)) != 0 ||
        json_object_set_new(item, "fingerprint", ddb_av_s(p->fingerprint)) != 0 ||
        json_object_set_new(item, "result", ddb_av_s(result)) != 0 ||
        json_object_set_new(item, "created_at", ddb_av_s(created_at)) != 0 ||
        json_object_set_new(item, MESSAGING_TTL_ATTRIBUTE,
                            ddb_av_n_i64(now_s + API_MESSAGES_IDEM_TTL_S)) != 0)
        goto out;
    char now_text[24];
    snprintf(now_text, sizeof now_text, "%lld", (long long)now_s);
    json_t *put = json_pack("{s:{s:s, s:O, s:s, s:{s:s}, s:{s:{s:s}}}}", "Put", "TableName",
                            p->ctx->table, "Item", item, "ConditionExpression",
                            "attribute_not_exists(pk) OR #ttl < :now",
                            "ExpressionAttributeNames", "#ttl", "ttl",
                            "ExpressionAttributeValues", ":now", "N", now_text);
    if (!put || json_array_append_new(actions, put) != 0)
        goto out;
    rc = 0;
out:
    json_decref(item);
    free(result);
    return rc;
}

/* The ClientRequestToken of try `attempt` of this request, whose message is dated ts (36
 * hex characters). DynamoDB remembers a token for 10 minutes across the whole account and
 * region and refuses it with other parameters (IdempotentParameterMismatch), so it names
 * this one transaction: table, user, key, body, timestamp and try. The client's own resends
 * of the transaction reuse it; a later request with the same Idempotency-Key meets the
 * idempotency record instead. */
static int api_post_token(const api_post *p, int attempt, const char *ts, char out[37])
{
    char n[12], h[65];
    snprintf(n, sizeof n, "%d", attempt);
    const char *parts[] = { "cruddur-idempotency", p->ctx->table, p->req->me.uuid, p->idem_key,
                            p->fingerprint, ts, n };
    if (api_messages_sha256(h, parts, sizeof parts / sizeof *parts) != 0)
        return -1;
    memcpy(out, h, 36);
    out[36] = '\0';
    return 0;
}

/* Whether a failed transaction lost on the idempotency record (its action is last): it
 * exists, or another transaction is writing it. */
static bool api_post_idem_lost(const ddb_error *err, size_t nactions)
{
    if (ddb_error_is(err, "IdempotentParameterMismatchException"))
        return true;
    return ddb_error_is(err, "TransactionCanceledException") && nactions > 0 &&
           err->nreasons == (int)nactions &&
           (aws_error_reason_is(err, nactions - 1, AWS_REASON_CONDITION) ||
            aws_error_reason_is(err, nactions - 1, AWS_REASON_CONFLICT));
}

/* After losing on the idempotency record: answers the stored result, or 409 when the
 * other request has not finished. */
static int api_post_after_idem_lost(api_post *p)
{
    bool done;
    ddb_error err;
    if (api_post_replay(p, &done, &err) != 0)
        return api_messages_unavailable(p->resp, "messages_idempotency_read_failed",
                                        err.info.msg);
    if (!done)
        return api_error(p->resp, 409, "conflict",
                         "a request with this Idempotency-Key is in progress; retry");
    return 0;
}

/* Pattern C: the message into group (I am a member). answer_group: answer
 * {message_group_uuid} (D into an existing conversation) instead of the message. */
static int api_post_to_group(api_post *p, const char *group, bool answer_group)
{
    const user *me = &p->req->me;
    messaging_user sender = { me->uuid, me->display_name, me->handle };
    char msg_uuid[UUID_BUF], ts[MESSAGING_TS_LEN];
    if (rnd_uuid4(msg_uuid) != 0)
        return -1;
    int64_t us = messaging_now_us();
    for (int attempt = 0; attempt < API_MESSAGES_TS_TRIES; attempt++) {
        if (clock_iso8601_us(ts, sizeof ts, us + attempt) != 0)
            return -1;
        json_t *item = messaging_message_item(group, ts, msg_uuid, &sender, p->message);
        json_t *answer = answer_group
                             ? json_pack("{s:s}", "message_group_uuid", group)
                             : json_pack("{s:s, s:s, s:s, s:s, s:s}", "uuid", msg_uuid,
                                         "display_name", me->display_name, "handle",
                                         me->handle, "message", p->message, "created_at", ts);
        json_t *actions = NULL;
        ddb_error err;
        int rc = -1;
        bool collided = false, lost = false;
        if (!item || !answer)
            goto next;
        if (!p->idem_key) {
            rc = messaging_put_message(p->ctx->db, p->ctx->table, item, &err);
            collided = rc != 0 && ddb_error_is(&err, "ConditionalCheckFailedException");
        } else {
            char token[37];
            actions = json_pack("[{s:{s:s, s:O, s:s}}]", "Put", "TableName", p->ctx->table,
                                "Item", item, "ConditionExpression",
                                "attribute_not_exists(sk)");
            if (!actions || api_post_add_idem(p, actions, answer, ts) != 0 ||
                api_post_token(p, attempt, ts, token) != 0)
                goto next;
            rc = ddb_transact_write(p->ctx->db, actions, token, &err);
            lost = rc != 0 && api_post_idem_lost(&err, 2);
            collided = rc != 0 && !lost && ddb_error_is(&err, "TransactionCanceledException") &&
                       err.nreasons == 2 &&
                       aws_error_reason_is(&err, 0, AWS_REASON_CONDITION);
        }
        if (rc == 0)
            rc = api_messages_reply(p->resp, 200, answer);
        else if (lost)
            rc = api_post_after_idem_lost(p);
        else if (!collided)
            rc = api_messages_unavailable(p->resp, "messages_put_failed", err.info.msg);
    next:
        json_decref(item);
        json_decref(answer);
        json_decref(actions);
        if (!collided)
            return rc;
    }
    log_msg(LOG_WARN, "messages_put_collisions", "%d timestamps taken in a row",
            API_MESSAGES_TS_TRIES);
    return api_error(p->resp, 503, "busy", "too many messages at once; retry");
}

/* One try at pattern D's transaction at microsecond us: both group rows, the first message,
 * the pair item (index 3: the pair's only conversation; replacing the stale pair item
 * naming `replaces` when not NULL) and the idempotency record (last, with a key). *lost_pair
 * set (nothing answered) when it lost on the pair item, *collided when a group row of the
 * same user already holds this microsecond; otherwise resp is filled. 0, or -1 on a
 * bug-level failure. */
static int api_post_create_group_at(api_post *p, const messaging_user *mu,
                                    const messaging_user *ou, int attempt, const char *group,
                                    int64_t us, const char *replaces, bool *lost_pair,
                                    bool *collided)
{
    char msg_uuid[UUID_BUF], ts[MESSAGING_TS_LEN], token[37];
    if (rnd_uuid4(msg_uuid) != 0 || clock_iso8601_us(ts, sizeof ts, us) != 0)
        return -1;
    json_t *answer = json_pack("{s:s}", "message_group_uuid", group);
    json_t *actions = messaging_create_group_actions(p->ctx->table, group, msg_uuid, ts, mu,
                                                     ou, p->message);
    ddb_error err;
    int rc = -1;
    if (!answer || !actions ||
        json_array_append_new(actions, api_members_pair_put(p->ctx->table, mu->uuid,
                                                            ou->uuid, group, ts, replaces)) != 0)
        goto out;
    if (p->idem_key) {
        if (api_post_add_idem(p, actions, answer, ts) != 0 ||
            api_post_token(p, API_MESSAGES_D_TOKEN_BASE + attempt, ts, token) != 0)
            goto out;
    } else {
        memcpy(token, msg_uuid, sizeof token);
    }
    bool cancelled = false;
    if (ddb_transact_write(p->ctx->db, actions, token, &err) == 0) {
        rc = api_messages_reply(p->resp, 200, answer);
    } else if (p->idem_key && api_post_idem_lost(&err, json_array_size(actions))) {
        rc = api_post_after_idem_lost(p);
    } else if ((cancelled = ddb_error_is(&err, "TransactionCanceledException")) &&
               err.nreasons > 3 &&
               (aws_error_reason_is(&err, 3, AWS_REASON_CONDITION) ||
                aws_error_reason_is(&err, 3, AWS_REASON_CONFLICT))) {
        *lost_pair = true;
        rc = 0;
    } else if (cancelled && err.nreasons > 2 &&
               (aws_error_reason_is(&err, 0, AWS_REASON_CONDITION) ||
                aws_error_reason_is(&err, 1, AWS_REASON_CONDITION) ||
                aws_error_reason_is(&err, 2, AWS_REASON_CONDITION))) {
        *collided = true;
        rc = 0;
    } else {
        rc = api_messages_unavailable(p->resp, "messages_create_group_failed", err.info.msg);
    }
out:
    json_decref(answer);
    json_decref(actions);
    return rc;
}

/* Pattern D's transaction for a new group, retried at the next microsecond while a group
 * row of either user holds the one tried (at most API_MESSAGES_TS_TRIES). */
static int api_post_create_group(api_post *p, const messaging_user *mu,
                                 const messaging_user *ou, int attempt, const char *replaces,
                                 bool *lost_pair)
{
    *lost_pair = false;
    char group[UUID_BUF];
    if (rnd_uuid4(group) != 0)
        return -1;
    int64_t us = messaging_now_us();
    for (int t = 0; t < API_MESSAGES_TS_TRIES; t++) {
        bool collided = false;
        int rc = api_post_create_group_at(p, mu, ou, attempt, group, us + t, replaces,
                                          lost_pair, &collided);
        if (!collided)
            return rc;
    }
    log_msg(LOG_WARN, "messages_group_collisions", "%d timestamps taken in a row",
            API_MESSAGES_TS_TRIES);
    return api_error(p->resp, 503, "busy", "too many conversations at once; retry");
}

/* Pattern D: a message to the user with this handle. */
static int api_post_to_handle(api_post *p, const char *handle)
{
    const user *me = &p->req->me;
    user other;
    errinfo e;
    if (users_by_handle(p->ctx->pg, handle, &other, &e) != 0) {
        if (e.code == ERR_NOTFOUND)
            return api_error(p->resp, 404, "not_found", "no user has this handle");
        if (e.code == ERR_INVALID)
            return api_error(p->resp, 400, "bad_request",
                             "a handle is 1 to 30 letters, digits or underscores");
        log_msg(LOG_ERROR, "messages_user_lookup_failed", "%s", e.msg);
        return api_error(p->resp, 503, "unavailable", "the user database is not reachable");
    }
    if (strcmp(other.uuid, me->uuid) == 0)
        return api_error(p->resp, 422, "invalid_recipient",
                         "you cannot start a conversation with yourself");
    messaging_user mu = { me->uuid, me->display_name, me->handle };
    messaging_user ou = { other.uuid, other.display_name, other.handle };
    char stale[UUID_BUF] = "";
    for (int attempt = 0; attempt < API_MESSAGES_PAIR_TRIES; attempt++) {
        if (attempt > 1) /* lost twice: the winner's transaction may still be in flight */
            clock_sleep_ms(5 + 10 * (attempt - 2));
        /* The pair's conversation, if it has one (another request may have just made it). */
        ddb_error err;
        char group[UUID_BUF];
        bool member = false;
        if (api_members_pair_find(p->ctx, me->uuid, other.uuid, group, &err) != 0)
            return api_messages_unavailable(p->resp, "messages_pair_lookup_failed",
                                            err.info.msg);
        if (group[0] && api_members_check(p->ctx, me->uuid, group, &member, &err) != 0)
            return api_messages_unavailable(p->resp, "messages_member_lookup_failed",
                                            err.info.msg);
        if (member)
            return api_post_to_group(p, group, true);
        /* A pair item whose conversation has no row of mine (deleted by hand): a message
         * there would be invisible, so a new conversation replaces it. */
        if (group[0] && strcmp(group, stale) != 0) {
            log_msg(LOG_WARN, "messages_pair_stale", "pair item names group %s without a "
                    "row of the sender; starting a new conversation", group);
            memcpy(stale, group, sizeof stale);
        }
        bool lost_pair = false;
        int rc = api_post_create_group(p, &mu, &ou, attempt, group[0] ? stale : NULL,
                                       &lost_pair);
        if (!lost_pair)
            return rc;
    }
    log_msg(LOG_WARN, "messages_pair_contended", "%d rounds lost on one pair",
            API_MESSAGES_PAIR_TRIES);
    return api_error(p->resp, 503, "busy", "too many conversations being started at once; "
                                          "retry");
}

static bool api_post_idem_key_ok(const char *k)
{
    size_t n = strlen(k);
    if (n == 0 || n > API_MESSAGES_IDEM_KEY_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (k[i] < 0x21 || k[i] > 0x7e)
            return false;
    }
    return true;
}

int api_messages_create(api_ctx *ctx, api_request *req, api_response *resp, const strv *params)
{
    (void)params;
    if (!req->authenticated && api_authenticate(ctx, req, resp) != 0)
        return 0;
    api_post p = { .ctx = ctx, .req = req, .resp = resp, .idem_key = req->idempotency_key };
    if (p.idem_key && !api_post_idem_key_ok(p.idem_key))
        return api_error(resp, 400, "bad_request",
                         "Idempotency-Key must be 1 to %d printable ASCII characters",
                         API_MESSAGES_IDEM_KEY_MAX);
    errinfo e;
    json_t *body = jparse(req->body.ptr ? req->body.ptr : "", req->body.len,
                          API_MESSAGES_JSON_DEPTH, &e);
    int rc = -1;
    if (!body) {
        bool blank;
        if (req->body.len > 0 &&
            messaging_text_chars(req->body.ptr, req->body.len, &blank) < 0)
            return api_error(resp, 422, "invalid_message", "the request is not valid UTF-8");
        return api_error(resp, 400, "bad_request", "the body is not valid JSON (%s)", e.msg);
    }
    const json_t *msg = json_object_get(body, "message");
    const json_t *jgroup = json_object_get(body, "message_group_uuid");
    const json_t *jhandle = json_object_get(body, "handle");
    if (!json_is_object(body) || !json_is_string(msg)) {
        rc = api_error(resp, 400, "bad_request", "the body must be an object with a "
                                                 "\"message\" string");
        goto out;
    }
    if ((jgroup && jhandle) || (!jgroup && !jhandle) || (jgroup && !json_is_string(jgroup)) ||
        (jhandle && !json_is_string(jhandle))) {
        rc = api_error(resp, 400, "bad_request",
                       "give either \"message_group_uuid\" or \"handle\" (a string)");
        goto out;
    }
    bool blank;
    long chars = messaging_text_chars(json_string_value(msg), json_string_length(msg), &blank);
    if (chars < 0) {
        rc = api_error(resp, 422, "invalid_message", "the message is not valid UTF-8");
        goto out;
    }
    if (chars == 0 || blank) {
        rc = api_error(resp, 422, "invalid_message", "the message is empty");
        goto out;
    }
    if (chars > API_MESSAGE_MAX_CHARS) {
        rc = api_error(resp, 422, "invalid_message", "the message is longer than %d characters",
                       API_MESSAGE_MAX_CHARS);
        goto out;
    }
    p.message = json_string_value(msg);
    char group[UUID_BUF] = "";
    const char *handle = NULL;
    if (jgroup) {
        const char *jg = json_string_value(jgroup);
        if (!jg || !uuid_to_lower(jg, strlen(jg), group)) {
            rc = api_error(resp, 400, "bad_request", "message_group_uuid must be a UUID");
            goto out;
        }
        p.kind[0] = 'C';
    } else {
        handle = json_string_value(jhandle);
        if (handle[0] == '@')
            handle++;
        p.kind[0] = 'D';
    }
    if (p.idem_key) {
        const char *parts[] = { p.kind, jgroup ? group : handle, p.message };
        ddb_error err;
        bool done;
        int n = snprintf(p.idem_pk, sizeof p.idem_pk, "IDEM#%s", req->me.uuid);
        if (n < 0 || (size_t)n >= sizeof p.idem_pk ||
            api_messages_sha256(p.fingerprint, parts, 3) != 0)
            goto out;
        if (api_post_replay(&p, &done, &err) != 0) {
            rc = api_messages_unavailable(resp, "messages_idempotency_read_failed",
                                          err.info.msg);
            goto out;
        }
        if (done) {
            rc = 0;
            goto out;
        }
    }
    if (jgroup) {
        bool allowed;
        rc = api_messages_require_member(ctx, req, resp, group, &allowed);
        if (allowed)
            rc = api_post_to_group(&p, group, false);
    } else {
        rc = api_post_to_handle(&p, handle);
    }
out:
    json_decref(body);
    return rc;
}
