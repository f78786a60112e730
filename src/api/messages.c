/* messages.c — GET /api/messages/{uuid} (pattern A) and POST /api/messages (patterns C and
 * D): reading and writing conversations for their members only. This file authenticates,
 * validates the request and turns the messaging module's outcomes into HTTP answers; the
 * rules are in messaging/members.h (membership, one conversation per pair) and
 * messaging/post.h (C and D: collisions, Idempotency-Key). A non-member and an unknown
 * group both get 404 (no way to probe for group uuids).
 *
 * Choices: Idempotency-Key is 1..64 printable ASCII characters, else 400; a key reused with
 * another body is 422, one whose first request is still running 409; a message to oneself
 * by handle is 422 (well-formed, not allowed); a missing or non-string "message" is 400,
 * an empty / whitespace-only / over-1024-code-point one 422; a body that is not valid UTF-8
 * is 422, other malformed JSON (a lone "\udc00" escape too) 400; both or neither of
 * message_group_uuid and handle is 400; every microsecond or round taken is 503 busy.
 * Answers are 200 as in the original: the message object for C, {message_group_uuid} for
 * D. */
#include "config.h"
#include "api/api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/cursor.h"
#include "api/members.h"
#include "base/jparse.h"
#include "base/uuid.h"
#include "messaging/messaging.h"
#include "messaging/post.h"

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
    if (api_list_args(resp, req->query, pk, &args) != 0)
        return 0;
    api_list_options o = {
        .read = messaging_conversation_view,
        .id = group,
        .limit = args.limit,
        .start_key = args.start_key,
        .uuid_attr = "message_uuid",
        .reversed = true, /* newest first from the table; oldest to newest on the wire */
        .read_event = "messages_query_failed",
        .cursor_event = "messages_cursor_failed",
    };
    ddb_error err;
    messaging_store st = api_members_store(ctx);
    int rc;
    switch (messaging_members_check(&st, req->me.uuid, group, &err)) {
    case MESSAGING_MEMBER: rc = api_list_page(ctx, resp, &o); break;
    case MESSAGING_NOT_MEMBER:
        rc = api_error(resp, 404, "not_found", "no such conversation");
        break;
    default: rc = api_store_unavailable(resp, "messages_membership_failed", err.info.msg); break;
    }
    cursor_page_args_cleanup(&args);
    return rc;
}

/* ---- POST /api/messages -------------------------------------------------------------------- */

/* The answer to a post's outcome (res filled by messaging). 0, or -1 (no memory). */
static int api_messages_answer(api_response *resp, const messaging_post_result *res)
{
    switch (res->outcome) {
    case MESSAGING_POST_POSTED:
    case MESSAGING_POST_CREATED:
    case MESSAGING_POST_JOINED:
    case MESSAGING_POST_REPLAYED: return api_messages_reply(resp, 200, res->answer);
    case MESSAGING_POST_KEY_REUSED:
        return api_error(resp, 422, "idempotency_key_reused",
                         "this Idempotency-Key was used for another request");
    case MESSAGING_POST_BAD_RECORD:
        return api_error(resp, 500, "internal", "the stored result is unreadable");
    case MESSAGING_POST_IN_PROGRESS:
        return api_error(resp, 409, "conflict",
                         "a request with this Idempotency-Key is in progress; retry");
    case MESSAGING_POST_NOT_MEMBER:
        return api_error(resp, 404, "not_found", "no such conversation");
    case MESSAGING_POST_SELF:
        return api_error(resp, 422, "invalid_recipient",
                         "you cannot start a conversation with yourself");
    case MESSAGING_POST_BUSY:
        return api_error(resp, 503, "busy", "too many messages at once; retry");
    case MESSAGING_POST_BUSY_CREATING:
        return api_error(resp, 503, "busy", "too many conversations at once; retry");
    case MESSAGING_POST_CONTENDED:
        return api_error(resp, 503, "busy",
                         "too many conversations being started at once; "
                         "retry");
    case MESSAGING_POST_FAILED: {
        char event[64];
        snprintf(event, sizeof event, "messages_%s_failed", res->step ? res->step : "post");
        return api_store_unavailable(resp, event, res->err.info.msg);
    }
    case MESSAGING_POST_FRESH: break;
    }
    return -1; /* FRESH is not an answer */
}

/* Pattern D: a message to the user with this handle. */
static int api_messages_to_handle(api_ctx *ctx, api_response *resp, const messaging_post *p,
                                  const char *handle, messaging_post_result *res)
{
    user other;
    errinfo e;
    if (users_by_handle(ctx->pg, handle, &other, &e) != 0) {
        if (e.code == ERR_NOTFOUND)
            return api_error(resp, 404, "not_found", "no user has this handle");
        if (e.code == ERR_INVALID)
            return api_error(resp, 400, "bad_request", "a handle is " USERS_HANDLE_RULE);
        return api_users_unavailable(ctx, resp, "messages_user_lookup_failed", e.msg);
    }
    messaging_user ou = { other.uuid, other.display_name, other.handle };
    messaging_store st = api_members_store(ctx);
    if (messaging_start(&st, p, &ou, res) != 0)
        return -1;
    return api_messages_answer(resp, res);
}

static bool api_messages_idem_key_ok(const char *k)
{
    size_t n = strlen(k);
    if (n == 0 || n > MESSAGING_IDEM_KEY_MAX)
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
    const char *idem_key = req->idempotency_key;
    if (idem_key && !api_messages_idem_key_ok(idem_key))
        return api_error(resp, 400, "bad_request",
                         "Idempotency-Key must be 1 to %d printable ASCII characters",
                         MESSAGING_IDEM_KEY_MAX);
    errinfo e;
    json_t *body =
        jparse(req->body.ptr ? req->body.ptr : "", req->body.len, API_MESSAGES_JSON_DEPTH, &e);
    int rc = -1;
    if (!body) {
        bool blank;
        if (req->body.len > 0 && messaging_text_chars(req->body.ptr, req->body.len, &blank) < 0)
            return api_error(resp, 422, "invalid_message", "the request is not valid UTF-8");
        return api_error(resp, 400, "bad_request", "the body is not valid JSON (%s)", e.msg);
    }
    messaging_post_result res;
    messaging_post_result_init(&res);
    const json_t *msg = json_object_get(body, "message");
    const json_t *jgroup = json_object_get(body, "message_group_uuid");
    const json_t *jhandle = json_object_get(body, "handle");
    if (!json_is_object(body) || !json_is_string(msg)) {
        rc = api_error(resp, 400, "bad_request",
                       "the body must be an object with a "
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
    char group[UUID_BUF] = "";
    const char *handle = NULL;
    if (jgroup) {
        const char *jg = json_string_value(jgroup);
        if (!jg || !uuid_to_lower(jg, strlen(jg), group)) {
            rc = api_error(resp, 400, "bad_request", "message_group_uuid must be a UUID");
            goto out;
        }
    } else {
        handle = json_string_value(jhandle);
        if (handle[0] == '@')
            handle++;
    }
    const user *me = &req->me;
    messaging_user mu = { me->uuid, me->display_name, me->handle };
    char fingerprint[65];
    messaging_post p = { .me = &mu,
                         .message = json_string_value(msg),
                         .idem_key = idem_key,
                         .fingerprint = fingerprint };
    messaging_store st = api_members_store(ctx);
    if (idem_key) {
        if (messaging_post_fingerprint(fingerprint, jgroup ? 'C' : 'D', jgroup ? group : handle,
                                       p.message) != 0 ||
            messaging_post_replay(&st, &p, &res) != 0)
            goto out;
        if (res.outcome != MESSAGING_POST_FRESH) {
            rc = api_messages_answer(resp, &res);
            goto out;
        }
    }
    if (!jgroup)
        rc = api_messages_to_handle(ctx, resp, &p, handle, &res);
    else if (messaging_post_message(&st, &p, group, &res) == 0)
        rc = api_messages_answer(resp, &res);
out:
    messaging_post_result_cleanup(&res);
    json_decref(body);
    return rc;
}
