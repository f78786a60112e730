/* members.h — the API worker's view of the messaging store: its table, its client and its
 * membership cache (the rules are in messaging/members.h and messaging/post.h). */
#ifndef CR_API_MEMBERS_H
#define CR_API_MEMBERS_H

#include "api/api.h"
#include "messaging/members.h"

/* The store a handler hands to messaging: ctx's client and table, and the worker's
 * membership cache (ctx->member_cache), created on first use; without memory for it the
 * cache is NULL and every check asks DynamoDB. */
messaging_store api_members_store(api_ctx *ctx);

/* Frees the membership cache (ctx->member_cache, set to NULL); accepts NULL. */
void api_members_cache_free(api_ctx *ctx);

#endif
