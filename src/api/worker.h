/* worker.h — one cruddur-api worker process: its api_ctx (DynamoDB client, Postgres
 * connection, JWKS cache, token expectations, CORS origins) and the FastCGI accept loop
 * (reentrant FCGX_* API). Also the pure pieces of the loop, for the unit tests. */
#ifndef CR_API_WORKER_H
#define CR_API_WORKER_H

#include <signal.h>
#include <stdbool.h>

#include "api/api.h"
#include "base/buf.h"
#include "base/errinfo.h"

typedef struct worker worker;

typedef struct worker_options {
    bool connect;            /* false: only build and check the configuration (the master's
                            * start-up check): no Postgres connection */
    struct metrics *metrics; /* the shared metrics (NULL: none kept) and this worker's slot */
    size_t metrics_slot;
} worker_options;

/* Builds a worker from the environment: CRUDDUR_DDB_TABLE (default MESSAGING_TABLE_DEFAULT),
 * AWS_COGNITO_USER_POOL_ID and AWS_COGNITO_USER_POOL_CLIENT_ID (required),
 * CRUDDUR_JWKS_URL (URL or file; default: the pool's JWKS URL), FRONTEND_URL and
 * BACKEND_URL (CORS origins), CONNECTION_URL (Postgres) and the AWS variables ddb_new reads.
 * Postgres being down is not an error: ctx->pg stays NULL and the loop reconnects with
 * backoff. NULL with e set (ERR_CONFIG naming the variable, ERR_NOMEM). */
worker *worker_new(const worker_options *o, errinfo *e);
void worker_free(worker *w); /* accepts NULL */
/* The worker's context (owned by w). */
api_ctx *worker_ctx(worker *w);

/* Serves FastCGI requests on listen_fd until SIGTERM/SIGINT (which it installs handlers
 * for): the request in hand is finished first. Writes one byte to ready_fd (then closes it)
 * once it is about to accept, when ready_fd >= 0. Returns 0, or 1 after a fatal error. */
int worker_run(worker *w, int listen_fd, int ready_fd);

/* ---- pure helpers (tested in check_api) ------------------------------------------------ */

/* The request id: incoming when it is 8..36 characters of [A-Za-z0-9._-], else 32 random
 * hex digits. out gets a NUL-terminated id. */
void worker_request_id(const char *incoming, char out[40]);

/* Splits a REQUEST_URI at the first '?' (the fragment, never sent, is not handled). */
void worker_split_uri(const char *uri, strv *path, strv *query);

/* Parses CONTENT_LENGTH: NULL or "" is 0; otherwise 1..12 decimal digits. 0 with *n set,
 * or -1 when malformed. */
int worker_content_length(const char *s, long long *n);

/* Appends the CGI response head (Status line, headers, blank line) for resp: Content-Type
 * application/json; charset=utf-8 (not on 204), X-Request-Id, X-Next-Cursor when set,
 * Allow when set, the security headers, CORS headers when req->origin is allowed (with the
 * preflight's Allow-Methods/Headers/Max-Age on a 204 to OPTIONS). 0 or -1 (out's cap). */
int worker_format_head(const api_ctx *ctx, const api_request *req, const api_response *resp,
                       buf *out);

/* "Not Found" for 404, ... ("Unknown" for codes not in the table). */
const char *worker_reason(int status);

#endif
