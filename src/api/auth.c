/* auth.c — api_authenticate: the Bearer token of a request, verified as a Cognito access
 * token (auth/jwt.h), mapped to the Postgres user whose cognito_user_id is the token's sub,
 * through a small per-worker cache (API_USER_CACHE_SLOTS entries, API_USER_CACHE_TTL_MS each;
 * only found users are cached, so a sub set a moment ago works at once, and a user changed
 * in Postgres is seen within the TTL), and verified tokens by hash (tokcache.h). The token
 * is never logged or echoed. */
#include "config.h"
#include "api/api.h"
#include "api/metrics.h"
#include "api/members.h"
#include "api/provision.h"
#include "api/tokcache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/clock.h"
#include "base/log.h"

#define API_USER_CACHE_SLOTS 64
#define API_USER_CACHE_TTL_MS 30000

struct api_user_cache {
    struct {
        char sub[65];
        user u;
        int64_t expires_ms; /* 0: free slot */
    } slot[API_USER_CACHE_SLOTS];
    tokcache tokens; /* verified tokens (tokcache.h) */
};

void api_user_cache_free(api_ctx *ctx)
{
    if (!ctx)
        return;
    free(ctx->user_cache);
    ctx->user_cache = NULL;
    api_members_cache_free(ctx);
    api_provision_free(ctx);
}

/* The cached user for sub, or NULL. */
static const user *api_user_cache_get(struct api_user_cache *c, const char *sub, int64_t now)
{
    for (size_t i = 0; c && i < API_USER_CACHE_SLOTS; i++) {
        if (c->slot[i].expires_ms > now && strcmp(c->slot[i].sub, sub) == 0)
            return &c->slot[i].u;
    }
    return NULL;
}

/* Stores u for sub in a free or expired slot, else over the one expiring first. */
static void api_user_cache_put(api_ctx *ctx, const char *sub, const user *u, int64_t now)
{
    if (!ctx->user_cache) {
        ctx->user_cache = calloc(1, sizeof *ctx->user_cache);
        if (!ctx->user_cache)
            return; /* no cache: every request asks Postgres */
    }
    struct api_user_cache *c = ctx->user_cache;
    size_t victim = 0;
    for (size_t i = 0; i < API_USER_CACHE_SLOTS; i++) {
        if (c->slot[i].expires_ms <= now || strcmp(c->slot[i].sub, sub) == 0) {
            victim = i;
            break;
        }
        if (c->slot[i].expires_ms < c->slot[victim].expires_ms)
            victim = i;
    }
    snprintf(c->slot[victim].sub, sizeof c->slot[victim].sub, "%s", sub);
    c->slot[victim].u = *u;
    c->slot[victim].expires_ms = now + API_USER_CACHE_TTL_MS;
}

/* The token of "Bearer <token>" (scheme case-insensitive, one space, no spaces inside). */
static bool api_bearer_token(const char *h, strv *tok)
{
    if (!h || strncasecmp(h, "Bearer ", 7) != 0)
        return false;
    const char *t = h + 7;
    size_t n = strlen(t);
    if (n == 0 || n > JWT_MAX_LEN)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)t[i];
        if (c <= 0x20 || c >= 0x7f)
            return false;
    }
    *tok = (strv){ t, n };
    return true;
}

static int api_unauthorized(api_response *resp, const char *why)
{
    api_error(resp, 401, "unauthorized", "%s", why);
    return -1;
}

int api_authenticate(api_ctx *ctx, api_request *req, api_response *resp)
{
    req->authenticated = false;
    strv tok;
    if (!api_bearer_token(req->authorization, &tok))
        return api_unauthorized(resp, "a Bearer access token is required");
    jwt_claims claims;
    errinfo e;
    int64_t now_s = clock_real_us() / 1000000;
    unsigned char hash[32];
    bool hashed = tokcache_hash(tok.ptr, tok.len, hash) == 0;
    if (!ctx->user_cache)
        ctx->user_cache = calloc(1, sizeof *ctx->user_cache); /* NULL: no caching */
    struct api_user_cache *uc = ctx->user_cache;
    /* A token verified a moment ago (same bytes, still before its exp) skips the RS256 check. */
    bool known = hashed && uc && tokcache_get(&uc->tokens, hash, now_s, claims.sub);
    metrics_count(ctx->metrics_slot, known ? METRICS_TOKEN_HIT : METRICS_TOKEN_MISS);
    if (!known) {
        if (jwt_verify(ctx->keys, tok.ptr, tok.len, &ctx->expect, now_s, &claims, &e) != 0) {
            switch (e.code) {
            case ERR_IO:
            case ERR_TIMEOUT:
            case ERR_SERVICE:
            case ERR_TOOBIG:
                log_msg(LOG_ERROR, "auth_keys_unavailable", "%s", e.msg);
                api_error(resp, 503, "unavailable", "the token signing keys cannot be loaded");
                return -1;
            case ERR_INVALID:
                log_msg(LOG_DEBUG, "auth_token_rejected", "%s", e.msg);
                return api_unauthorized(resp, "the access token is not valid");
            default:
                log_msg(LOG_ERROR, "auth_verify_failed", "%s", e.msg);
                api_error(resp, 500, "internal", "token verification failed");
                return -1;
            }
        }
        if (hashed && uc)
            tokcache_put(&uc->tokens, hash, claims.sub, claims.exp, now_s);
    }
    int64_t now_ms = clock_mono_ms();
    const user *cached = api_user_cache_get(ctx->user_cache, claims.sub, now_ms);
    if (cached) {
        req->me = *cached;
    } else if (users_by_cognito_sub(ctx->pg, claims.sub, &req->me, &e) == 0) {
        api_user_cache_put(ctx, claims.sub, &req->me, now_ms);
    } else if (e.code == ERR_NOTFOUND) {
        /* a user who signed up since the last sync: provisioned now, when Cognito knows them */
        if (api_provision(ctx, tok.ptr, claims.sub, &req->me, resp) != 0)
            return -1;
        api_user_cache_put(ctx, claims.sub, &req->me, now_ms);
    } else if (e.code == ERR_INVALID) {
        return api_unauthorized(resp, "no Cruddur user has this sign-in");
    } else {
        api_users_unavailable(ctx, resp, "auth_user_lookup_failed", e.msg);
        return -1;
    }
    req->authenticated = true;
    snprintf(resp->user_uuid, sizeof resp->user_uuid, "%s", req->me.uuid);
    return 0;
}
