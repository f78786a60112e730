/* router.h — the route table behind api_route(), exposed for the FastCGI layer (which logs
 * the matched pattern and answers 413 before routing) and for the unit tests. Pure: no I/O. */
#ifndef CR_API_ROUTER_H
#define CR_API_ROUTER_H

#include <stdbool.h>

#include "api/api.h"

#define ROUTER_MAX_PARAMS 2

/* The outcome of matching a method and path against the table. */
typedef enum router_result {
    ROUTER_FOUND,      /* handler set: call it */
    ROUTER_PREFLIGHT,  /* OPTIONS on a known path: answer 204 */
    ROUTER_BAD_METHOD, /* known path, other method: 405 with allow */
    ROUTER_BAD_PARAM,  /* a path parameter is malformed (uuid): 400 */
    ROUTER_NOT_FOUND,  /* no such path: 404 */
} router_result;

typedef struct router_match {
    router_result result;
    const char *pattern;            /* "/api/messages/{uuid}"; "" when not found (static) */
    api_handler handler;            /* ROUTER_FOUND only */
    const char *allow;              /* methods the path takes, e.g. "GET, OPTIONS" (static) */
    bool needs_backend;             /* the handler needs Postgres (authenticated routes) */
    strv params[ROUTER_MAX_PARAMS]; /* views into the path: uuid, or handle without '@' */
    size_t nparams;
} router_match;

/* Matches method and path (no query) against the table. Path parameters: {uuid} must be
 * a canonical UUID (8-4-4-4-12 hex digits, either case) or the result is ROUTER_BAD_PARAM;
 * @{handle} is one non-empty segment after '@', passed on without the '@' and not
 * validated here (users_by_handle checks it). Matching is exact: no trailing '/', no
 * percent-decoding, no dot segments. Always fills *m. */
void router_find(const char *method, strv path, router_match *m);

/* api_route(), also returning the matched pattern (static; "" for 404) for the log line. */
void router_dispatch(api_ctx *ctx, api_request *req, api_response *resp, const char **pattern);

/* The route patterns ("/api/messages/{uuid}", ...), each once: how many, the k-th (NULL past
 * the end), and the index of one (-1: not a pattern of the table). For metrics labels. */
int router_pattern_count(void);
const char *router_pattern_at(int k);
int router_pattern_index(const char *pattern);

/* Whether origin is one of ctx->cors_origins (exact match; a trailing '/' on the configured
 * value is ignored). NULL or empty origin: false. */
bool router_cors_allowed(const api_ctx *ctx, const char *origin);

/* The CORS preflight answer's fixed values. */
#define ROUTER_CORS_METHODS "GET, POST, OPTIONS"
#define ROUTER_CORS_HEADERS "Authorization, Content-Type, Idempotency-Key"
#define ROUTER_CORS_MAX_AGE "600"

#endif
