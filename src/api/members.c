/* members.c — the worker's messaging store and its membership cache (members.h). The cache
 * lives as long as the worker's api_ctx; what it may hold is decided by messaging. */
#include "config.h"
#include "api/members.h"
#include "api/metrics.h"

/* The membership cache's lookups, counted in the worker's metrics. */
static void api_members_observe(void *slot, bool hit)
{
    metrics_count(slot, hit ? METRICS_MEMBER_HIT : METRICS_MEMBER_MISS);
}

messaging_store api_members_store(api_ctx *ctx)
{
    if (!ctx->member_cache)
        ctx->member_cache = messaging_member_cache_new();
    return (messaging_store){ .db = ctx->db,
                              .table = ctx->table,
                              .cache = ctx->member_cache,
                              .cache_observe = api_members_observe,
                              .cache_observe_arg = ctx->metrics_slot };
}

void api_members_cache_free(api_ctx *ctx)
{
    if (!ctx)
        return;
    messaging_member_cache_free(ctx->member_cache);
    ctx->member_cache = NULL;
}
