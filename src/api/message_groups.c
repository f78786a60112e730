/* message_groups.c — GET /api/message_groups (pattern B): the signed-in user's
 * conversations, newest first, one page at a time (?limit=, ?cursor=, X-Next-Cursor). */
#include "config.h"
#include "api/api.h"

#include <stdlib.h>

#include "api/cursor.h"
#include "aws/ddb_av.h"
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
    if (api_list_args(resp, req->query, pk, &args) != 0)
        return 0;
    api_list_options o = {
        .read = messaging_groups_view,
        .id = req->me.uuid,
        .limit = args.limit,
        .start_key = args.start_key,
        .uuid_attr = "message_group_uuid",
        .read_event = "message_groups_query_failed",
        .cursor_event = "message_groups_cursor_failed",
    };
    int rc = api_list_page(ctx, resp, &o);
    cursor_page_args_cleanup(&args);
    return rc;
}
