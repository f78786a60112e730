/* provision.c — users provisioned just in time. In the original Cruddur a Cognito
 * post-confirmation Lambda inserted every new user into Postgres; here the first request of
 * a user whose valid access token carries an unknown sub asks Cognito who it is (GetUser
 * takes that access token itself: no AWS credentials) and inserts the row (handle from
 * preferred_username, display name from name, email), once: racing workers all end with the
 * same row (users_provision). Bounded: one GetUser at a time per worker with the client's
 * short timeout; a sub Cognito refused, or whose attributes the table cannot take, is
 * remembered for API_PROVISION_MISS_MS so a client retrying does not make us ask again;
 * Cognito unreachable is 503, never 500. The token is never logged. */
#include "config.h"
#include "api/provision.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/metrics.h"
#include "aws/cognito.h"
#include "base/clock.h"
#include "base/log.h"

#define API_PROVISION_MISS_SLOTS 64
#define API_PROVISION_MISS_MS 60000

struct api_provision_misses {
    struct {
        char sub[65];
        int64_t until_ms; /* 0: free */
    } slot[API_PROVISION_MISS_SLOTS];
};

static bool api_provision_missed(const api_ctx *ctx, const char *sub, int64_t now)
{
    const struct api_provision_misses *m = ctx->provision_misses;
    for (size_t i = 0; m && i < API_PROVISION_MISS_SLOTS; i++)
        if (m->slot[i].until_ms > now && strcmp(m->slot[i].sub, sub) == 0)
            return true;
    return false;
}

static void api_provision_remember_miss(api_ctx *ctx, const char *sub, int64_t now)
{
    if (!ctx->provision_misses &&
        !(ctx->provision_misses = calloc(1, sizeof *ctx->provision_misses)))
        return;
    struct api_provision_misses *m = ctx->provision_misses;
    size_t victim = 0;
    for (size_t i = 0; i < API_PROVISION_MISS_SLOTS; i++) {
        if (m->slot[i].until_ms <= now) {
            victim = i;
            break;
        }
        if (m->slot[i].until_ms < m->slot[victim].until_ms)
            victim = i;
    }
    snprintf(m->slot[victim].sub, sizeof m->slot[victim].sub, "%s", sub);
    m->slot[victim].until_ms = now + API_PROVISION_MISS_MS;
}

void api_provision_free(api_ctx *ctx)
{
    if (!ctx)
        return;
    free(ctx->provision_misses);
    ctx->provision_misses = NULL;
}

/* 401 for a user we cannot make, remembered; -1. */
static int api_provision_refuse(api_ctx *ctx, const char *sub, int64_t now, api_response *resp,
                                const char *event, const char *why)
{
    api_provision_remember_miss(ctx, sub, now);
    log_fields(LOG_INFO, event, json_pack("{s:s, s:s}", "sub", sub, "reason", why));
    api_error(resp, 401, "unauthorized", "no Cruddur user has this sign-in (%s)", why);
    return -1;
}

int api_provision(api_ctx *ctx, const char *token, const char *sub, user *out, api_response *resp)
{
    int64_t now = clock_mono_ms();
    if (!ctx->cognito || api_provision_missed(ctx, sub, now)) {
        api_error(resp, 401, "unauthorized", "no Cruddur user has this sign-in");
        return -1;
    }
    cognito_user cu;
    aws_error err;
    if (cognito_get_user(ctx->cognito, token, &cu, &err) != 0) {
        if (err.http_status >= 400 && err.http_status < 500 &&
            (aws_error_is(&err, "NotAuthorizedException") ||
             aws_error_is(&err, "UserNotFoundException") ||
             aws_error_is(&err, "InvalidParameterException")))
            return api_provision_refuse(ctx, sub, now, resp, "provision_refused",
                                        "Cognito does not know the token");
        log_msg(LOG_ERROR, "provision_unavailable", "%s", err.info.msg);
        api_error(resp, 503, "unavailable", "the user directory cannot be reached; try again");
        return -1;
    }
    if (strcmp(cu.sub, sub) != 0)
        return api_provision_refuse(ctx, sub, now, resp, "provision_refused",
                                    "Cognito names another user");
    if (!users_handle_valid(cu.preferred_username, strlen(cu.preferred_username)))
        return api_provision_refuse(ctx, sub, now, resp, "provision_refused",
                                    "its preferred_username is not a handle (" USERS_HANDLE_RULE
                                    ")");
    const char *name = cu.name[0] ? cu.name : cu.preferred_username;
    if (!ctx->pg) {
        api_error(resp, 503, "unavailable", "the user database is not reachable");
        return -1;
    }
    errinfo e;
    if (users_provision(ctx->pg, cu.preferred_username, name, cu.email, sub, out, &e) != 0) {
        if (e.code == ERR_CONFLICT) {
            log_fields(LOG_WARN, "provision_conflict",
                       json_pack("{s:s, s:s}", "sub", sub, "handle", cu.preferred_username));
            api_error(resp, 409, "conflict",
                      "the handle @%s belongs to another Cruddur user; ask an operator",
                      cu.preferred_username);
            return -1;
        }
        if (e.code == ERR_INVALID)
            return api_provision_refuse(ctx, sub, now, resp, "provision_refused",
                                        "its name or email cannot be stored");
        api_users_unavailable(ctx, resp, "provision_failed", e.msg);
        return -1;
    }
    log_fields(LOG_INFO, "user_provisioned",
               json_pack("{s:s, s:s, s:s}", "sub", sub, "handle", out->handle, "uuid", out->uuid));
    return 0;
}
