/* metrics.h — cruddur-api's metrics for Prometheus (GET /metrics). Counters and histograms
 * live in one block of shared memory that main maps before the master forks: one slot per
 * slot of the master, written only by the worker in it (relaxed atomic stores, no locks), so
 * a request pays a few additions; whichever worker answers /metrics sums every slot. A
 * worker that replaces a dead one takes over its slot, so no count ever goes back. Names
 * and meanings: README, "Metrics". */
#ifndef CR_API_METRICS_H
#define CR_API_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "api/api.h"
#include "api/master.h"
#include "aws/awsjson.h"
#include "base/buf.h"
#include "base/errinfo.h"

/* Per-worker counters besides requests and DynamoDB calls. */
typedef enum metrics_counter {
    METRICS_PG_ERRORS,   /* a Postgres query or connection failed */
    METRICS_TOKEN_HIT,   /* an access token found in the token cache */
    METRICS_TOKEN_MISS,  /* ... verified afresh */
    METRICS_MEMBER_HIT,  /* a membership found in the membership cache */
    METRICS_MEMBER_MISS, /* ... read from DynamoDB */
    METRICS_NCOUNTERS
} metrics_counter;

typedef struct metrics metrics;
typedef struct metrics_slot metrics_slot;

/* Maps the block for nslots worker slots (1..512). NULL with e set. */
metrics *metrics_new(size_t nslots, errinfo *e);
void metrics_free(metrics *m); /* accepts NULL; unmaps (every process that maps it) */
/* Slot i (< nslots), or NULL. */
metrics_slot *metrics_slot_at(metrics *m, size_t i);
/* The master's numbers in the same block (master_options.stats). */
master_stats *metrics_master_of(metrics *m);

/* Record one request: its route pattern ("" or NULL: none matched), status, duration. */
void metrics_request(metrics_slot *s, const char *pattern, int status, int64_t us);
/* Record one DynamoDB call (an awsjson observe hook: arg is the slot). */
void metrics_ddb(void *slot, const char *op, aws_outcome outcome, int64_t us);
void metrics_count(metrics_slot *s, metrics_counter c);

/* The text exposition of everything, summed over the slots. 0, or -1 when out is full. */
int metrics_render(const metrics *m, buf *out);

/* GET /metrics: for addresses api_health_allowed admits with ctx->metrics_allow (loopback,
 * the FastCGI socket, CRUDDUR_METRICS_ALLOW), JSON 403 for anyone else. */
int api_metrics(api_ctx *ctx, api_request *req, api_response *resp, const strv *params);

#endif
