/* provision.h — users provisioned just in time (the original's post-confirmation Lambda):
 * see provision.c. */
#ifndef CR_API_PROVISION_H
#define CR_API_PROVISION_H

#include "api/api.h"

/* The Cruddur user of a verified access token whose sub no row has: asks Cognito (GetUser
 * with the token) and inserts or claims the row. 0 with *out; -1 with resp filled: 401 when
 * provisioning is off (ctx->cognito NULL), Cognito refuses the token, or its attributes
 * cannot make a user (remembered a minute per sub); 409 when the handle is another user's;
 * 503 when Cognito or Postgres cannot be reached. token is NUL-terminated; never logged. */
int api_provision(api_ctx *ctx, const char *token, const char *sub, user *out, api_response *resp);
/* Frees ctx->provision_misses (set to NULL); accepts NULL. */
void api_provision_free(api_ctx *ctx);

#endif
