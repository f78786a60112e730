/* users_short.c — GET /api/users/@{handle}/short: the public card of a user
 * ({uuid, handle, display_name}), no sign-in needed. */
#include "config.h"
#include "api/api.h"
#include "api/metrics.h"

#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

int api_users_short(api_ctx *ctx, api_request *req, api_response *resp, const strv *params)
{
    (void)req;
    if (!params || !users_handle_valid(params[0].ptr, params[0].len))
        return api_error(resp, 400, "bad_request", "a handle is " USERS_HANDLE_RULE);
    char handle[USERS_HANDLE_MAX + 1];
    snprintf(handle, sizeof handle, "%.*s", (int)params[0].len, params[0].ptr);
    user u;
    errinfo e;
    if (users_by_handle(ctx->pg, handle, &u, &e) != 0) {
        if (e.code == ERR_NOTFOUND)
            return api_error(resp, 404, "not_found", "no user has this handle");
        if (e.code == ERR_INVALID)
            return api_error(resp, 400, "bad_request", "malformed handle");
        return api_users_unavailable(ctx, resp, "users_short_lookup_failed", e.msg);
    }
    json_t *o = json_pack("{s:s, s:s, s:s}", "uuid", u.uuid, "handle", u.handle, "display_name",
                          u.display_name);
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    buf_reset(&resp->body);
    int rc = -1;
    if (text && buf_append_str(&resp->body, text) == 0) {
        resp->status = 200;
        rc = 0;
    }
    free(text);
    return rc;
}
