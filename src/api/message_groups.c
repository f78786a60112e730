/* message_groups.c — GET /api/message_groups (pattern B): the signed-in user's
 * conversations, newest first, one page at a time (?limit=, ?cursor=, X-Next-Cursor). */
#include "config.h"
#include "api/api.h"

#include <stdlib.h>

#include "api/cursor.h"
#include "aws/ddb_av.h"
#include "base/log.h"
#include "messaging/messaging.h"

int api_message_groups_list(api_ctx *ctx, api_request *req, api_response *resp, const strv *params)
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
    ddb_page_view page;
    ddb_page_view_init(&page);
    ddb_error err;
    int rc = -1;
    if (messaging_groups_view(ctx->db, ctx->table, req->me.uuid, args.limit, args.start_key, &page,
                              &err) != 0) {
        log_msg(LOG_ERROR, "message_groups_query_failed", "%s", err.info.msg);
        rc = api_error(resp, 503, "unavailable", "the message store is not reachable");
        goto out;
    }
    rc = api_page_reply(resp, &page, "message_group_uuid", false, "message_groups_cursor_failed");
out:
    ddb_page_view_cleanup(&page);
    cursor_page_args_cleanup(&args);
    return rc;
}
