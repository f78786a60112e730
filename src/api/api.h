/* api.h — the contract between cruddur-api's FastCGI layer (worker.c, router.c) and its
 * resource handlers (one file per resource). Handlers never see FastCGI: they read an
 * api_request, fill an api_response, and use the worker's api_ctx. */
#ifndef CR_API_H
#define CR_API_H

#include <stdbool.h>
#include <stddef.h>

#include "api/cursor.h"
#include "auth/jwks.h"
#include "auth/jwt.h"
#include "aws/ddb.h"
#include "base/buf.h"
#include "base/jdoc.h"
#include "base/uuid.h"
#include "users/users.h"

#define API_BODY_MAX (16 * 1024)   /* larger bodies get 413 before any handler */
#define API_MESSAGE_MAX_CHARS 1024 /* characters (code points), not bytes */
#define API_MESSAGES_JSON_DEPTH 8  /* nesting jparse allows in a messages body */
#define API_PAGE_DEFAULT 20
#define API_PAGE_MAX 100

/* Everything a worker holds for its lifetime: one Postgres connection, one DynamoDB
 * client, the JWKS cache, short-lived caches of users by Cognito sub and of memberships. */
typedef struct api_ctx {
    ddb *db;
    users *pg;
    jwks *keys;
    jwt_expect expect;                           /* issuer, client id, token_use access, leeway */
    const char *table;                           /* CRUDDUR_DDB_TABLE */
    struct api_user_cache *user_cache;           /* owned by auth.c */
    struct messaging_member_cache *member_cache; /* api_members_store makes it */
    const char *cors_origins[4];                 /* FRONTEND_URL, BACKEND_URL (NULL-terminated) */
    /* The deep health check (health.c): its own DynamoDB client (one attempt, short
     * timeouts), who may ask, and the last answer, kept for health_cache_ms. */
    ddb *health_db;           /* NULL: use db */
    const char *health_allow; /* CRUDDUR_HEALTH_ALLOW: CIDRs besides loopback */
    long health_cache_ms;     /* CRUDDUR_HEALTH_CACHE_MS */
    struct api_health_cache {
        int64_t at_ms; /* monotonic; 0: nothing cached */
        int status;
        char body[160];
    } health;
    /* Metrics (metrics.h): the shared block and this worker's slot in it (NULL: none), and
     * who besides loopback may read them (CRUDDUR_METRICS_ALLOW, CIDRs). */
    /* Users provisioned just in time (provision.h): the Cognito client (NULL: off) and the
     * subs it refused lately. */
    struct cognito *cognito;
    struct api_provision_misses *provision_misses;
    struct metrics *metrics;
    struct metrics_slot *metrics_slot;
    const char *metrics_allow;
} api_ctx;

/* One request, as the FastCGI layer hands it over (all borrowed for the request). */
typedef struct api_request {
    const char *method;        /* "GET", "POST", "OPTIONS", ... */
    strv path;                 /* "/api/messages/<uuid>", no query */
    strv query;                /* without '?', possibly empty */
    const char *authorization; /* header values, NULL when absent */
    const char *origin;
    const char *idempotency_key;
    const char *content_type;
    const char *remote_addr; /* REMOTE_ADDR; NULL when absent (a local FastCGI client) */
    strv body;               /* at most API_BODY_MAX bytes */
    char request_id[40];     /* also sent back as X-Request-Id */
    /* Filled by api_authenticate(): */
    bool authenticated;
    user me;
} api_request;

/* What a handler answers. Initialise with api_response_init, clean with _cleanup. */
typedef struct api_response {
    int status;               /* 200 unless set */
    buf body;                 /* JSON text */
    char next_cursor[1024];   /* X-Next-Cursor header when not empty */
    const char *allow;        /* Allow header for 405 */
    const char *content_type; /* static; NULL: application/json; charset=utf-8 */
    char user_uuid[UUID_BUF]; /* for the request log line ("" when anonymous) */
} api_response;

void api_response_init(api_response *r);
void api_response_cleanup(api_response *r); /* accepts NULL */
/* Replaces the body with {"error": code, "message": <formatted>} and sets status. Returns
 * 0 so handlers can `return api_error(...)`. The message never holds a token or message
 * text. */
int api_error(api_response *r, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The list answer of the design, [{uuid, display_name, handle, message, created_at}, ...],
 * from n items of a flat Query page (uuid from uuid_attr; display_name, handle, message and
 * created_at from user_display_name, user_handle, message and sk; null when an attribute is
 * missing or not S), in page order or reversed. Sets the body and status 200; 0, or -1 when
 * the body cap is hit. */
int api_list_reply(api_response *resp, const jdoc_val *items, size_t n, const char *uuid_attr,
                   bool reversed);
/* A list endpoint's answer from one Query page: its items (at most API_PAGE_MAX) as
 * api_list_reply writes them, and its LastEvaluatedKey, if any, as the opaque next cursor
 * (X-Next-Cursor). 0, or -1 (logged under event) when the cursor cannot be made. */
int api_page_reply(api_response *resp, const ddb_page_view *page, const char *uuid_attr,
                   bool reversed, const char *event);

/* Logs why under event and answers 503 "the message store is not reachable". Returns 0. */
int api_store_unavailable(api_response *resp, const char *event, const char *why);
/* The same for PostgreSQL: 503 "the user database is not reachable", counted as a Postgres
 * error in ctx's metrics (cruddur_postgres_errors_total). Returns 0. */
int api_users_unavailable(api_ctx *ctx, api_response *resp, const char *event, const char *why);

/* The ?limit= (default API_PAGE_DEFAULT, at most API_PAGE_MAX) and ?cursor= of a list
 * endpoint whose items have partition key pk: 0 with args filled (release with
 * cursor_page_args_cleanup), or -1 after answering 400 (args empty). */
int api_list_args(api_response *resp, strv query, const char *pk, cursor_page_args *args);

/* One page of a list endpoint, to read and answer (api_list_page). */
typedef struct api_list_options {
    /* the read: messaging_conversation_view (pattern A) or messaging_groups_view (B) */
    int (*read)(ddb *d, const char *table, const char *id, int limit, const json_t *start_key,
                ddb_page_view *view, ddb_error *err);
    const char *id;           /* its group uuid (A) or user uuid (B) */
    int limit;                /* 1..API_PAGE_MAX */
    const json_t *start_key;  /* the cursor's key, borrowed; NULL: the first page */
    const char *uuid_attr;    /* as api_page_reply */
    bool reversed;            /* as api_page_reply */
    const char *read_event;   /* logged when the read fails */
    const char *cursor_event; /* logged when the next cursor cannot be made */
} api_list_options;

/* Reads the page o names from ctx's table and answers it as api_page_reply does, or 503
 * (api_store_unavailable) when the read fails. 0, or -1 as api_page_reply. */
int api_list_page(api_ctx *ctx, api_response *resp, const api_list_options *o);

/* Bearer token → verified Cognito access token → Postgres user by sub (cached briefly).
 * 0 with req->me set; -1 with resp filled: 401 for a missing/bad token or an unknown user,
 * 503 when the key set or Postgres cannot be reached. */
int api_authenticate(api_ctx *ctx, api_request *req, api_response *resp);
/* Frees the per-worker caches allocated on first use: users by sub (api_authenticate) and
 * memberships (messages), both set to NULL. Call when the worker tears its ctx down;
 * accepts NULL and empty caches. */
void api_user_cache_free(api_ctx *ctx);

/* Handlers: params[i] are the path's variable parts (uuid, handle). Each returns 0 after
 * filling resp (an error response included); -1 only on a bug-level failure (the caller
 * answers 500). */
typedef int (*api_handler)(api_ctx *ctx, api_request *req, api_response *resp, const strv *params);
int api_health(api_ctx *ctx, api_request *req, api_response *resp, const strv *params);
/* Whether addr (REMOTE_ADDR) may run the deep health check: absent or empty (a client on the
 * FastCGI socket itself), loopback (127.0.0.0/8, ::1, ::ffff:127.0.0.0/104), or inside one
 * of the CIDRs of allow ("10.0.0.0/8, fd00::/8", commas or spaces; NULL: none). An address
 * or CIDR that does not parse matches nothing. Pure. */
bool api_health_allowed(const char *addr, const char *allow);
int api_message_groups_list(api_ctx *ctx, api_request *req, api_response *resp, const strv *params);
int api_messages_list(api_ctx *ctx, api_request *req, api_response *resp, const strv *params);
int api_messages_create(api_ctx *ctx, api_request *req, api_response *resp, const strv *params);
int api_users_short(api_ctx *ctx, api_request *req, api_response *resp, const strv *params);

/* Routes req to its handler: 404 unknown route, 405 wrong method (with Allow), CORS
 * preflight (OPTIONS) answered here. Always fills resp. */
void api_route(api_ctx *ctx, api_request *req, api_response *resp);

#endif
