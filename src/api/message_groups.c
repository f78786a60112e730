/* message_groups.c — GET /api/message_groups (pattern B): the signed-in user's
 * conversations, newest first, one page at a time (?limit=, ?cursor=, X-Next-Cursor). */
#include "config.h"
#include "api/api.h"

#include <stdlib.h>

#include "api/cursor.h"
#include "aws/ddb_av.h"
#include "base/log.h"
#include "messaging/messaging.h"

/* Sets member name of o to the S attribute attr of item (JSON null when missing). */
static int api_message_groups_copy(json_t *o, const char *name, const json_t *item,
                                   const char *attr)
{
    const char *s = ddb_av_get_s(item, attr);
    return json_object_set_new(o, name, s ? json_string(s) : json_null());
}

int api_message_groups_list(api_ctx *ctx, api_request *req, api_response *resp,
                            const strv *params)
{
    (void)params;
    if (!req->authenticated && api_authenticate(ctx, req, resp) != 0)
        return 0;
    char pk[MESSAGING_KEY_MAX];
    if (messaging_grp_pk(pk, sizeof pk, req->me.uuid) != 0)
        return -1;
    cursor_page_args args;
    errinfo e;
    if (cursor_page_args_parse(req->query, pk, API_PAGE_DEFAULT, API_PAGE_MAX, &args, &e) != 0)
        return api_error(resp, 400, "bad_request", "%s", e.msg);
    ddb_page page;
    ddb_page_init(&page);
    ddb_error err;
    json_t *out = NULL;
    char *text = NULL;
    int rc = -1;
    if (messaging_groups_page(ctx->db, ctx->table, req->me.uuid, args.limit, args.start_key,
                              &page, &err) != 0) {
        log_msg(LOG_ERROR, "message_groups_query_failed", "%s", err.info.msg);
        rc = api_error(resp, 503, "unavailable", "the message store is not reachable");
        goto out;
    }
    out = json_array();
    size_t i;
    json_t *item;
    json_array_foreach(page.items, i, item) {
        json_t *o = json_object();
        if (!o || json_array_append_new(out, o) != 0 ||
            api_message_groups_copy(o, "uuid", item, "message_group_uuid") != 0 ||
            api_message_groups_copy(o, "display_name", item, "user_display_name") != 0 ||
            api_message_groups_copy(o, "handle", item, "user_handle") != 0 ||
            api_message_groups_copy(o, "message", item, "message") != 0 ||
            api_message_groups_copy(o, "created_at", item, "sk") != 0)
            goto out;
    }
    resp->next_cursor[0] = '\0';
    if (page.last_key &&
        cursor_encode(page.last_key, resp->next_cursor, sizeof resp->next_cursor, &e) != 0) {
        log_msg(LOG_ERROR, "message_groups_cursor_failed", "%s", e.msg);
        goto out;
    }
    text = json_dumps(out, JSON_COMPACT);
    buf_reset(&resp->body);
    if (!text || buf_append_str(&resp->body, text) != 0)
        goto out;
    resp->status = 200;
    rc = 0;
out:
    free(text);
    json_decref(out);
    ddb_page_cleanup(&page);
    cursor_page_args_cleanup(&args);
    return rc;
}
