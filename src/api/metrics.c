/* metrics.c — cruddur-api's shared-memory metrics and their /metrics page; see metrics.h. */
#include "config.h"
#include "api/metrics.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "api/router.h"
#include "base/prom.h"

#define METRICS_SLOTS_MAX 512
#define METRICS_ROUTES 16 /* route patterns (router.c has 6) + "none" */

/* Status codes counted by their own label; any other is "other". */
static const int metrics_codes[] = { 200, 204, 400, 401, 403, 404, 405, 409,
                                     413, 415, 422, 429, 500, 502, 503, 504 };
#define METRICS_NCODES (sizeof metrics_codes / sizeof metrics_codes[0] + 1)

/* DynamoDB operations by their own label; any other is "other". */
static const char *const metrics_ops[] = { "Query",          "GetItem",    "PutItem",
                                           "DeleteItem",     "UpdateItem", "TransactWriteItems",
                                           "BatchWriteItem", "Scan",       "DescribeTable" };
#define METRICS_NOPS (sizeof metrics_ops / sizeof metrics_ops[0] + 1)
static const char *const metrics_outcomes[] = { "ok", "retried", "throttled", "failed" };
#define METRICS_NOUTCOMES 4

/* Latency buckets, seconds (upper bounds). */
static const double metrics_bounds[] = { 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                         0.1,    0.25,  0.5,    1,     2.5,  5 };
#define METRICS_NB (sizeof metrics_bounds / sizeof metrics_bounds[0])

struct metrics_slot {
    uint64_t req[METRICS_ROUTES][METRICS_NCODES];
    uint64_t req_hist[METRICS_ROUTES][METRICS_NB + 1];
    uint64_t req_us[METRICS_ROUTES];
    uint64_t ddb[METRICS_NOPS][METRICS_NOUTCOMES];
    uint64_t ddb_hist[METRICS_NOPS][METRICS_NB + 1];
    uint64_t ddb_us[METRICS_NOPS];
    uint64_t counters[METRICS_NCOUNTERS];
};

struct metrics {
    size_t nslots;
    size_t bytes;
    master_stats master;
    metrics_slot slots[];
};

metrics *metrics_new(size_t nslots, errinfo *e)
{
    if (nslots < 1 || nslots > METRICS_SLOTS_MAX) {
        errinfo_set(e, ERR_INVALID, "metrics: %zu slots (1..%d)", nslots, METRICS_SLOTS_MAX);
        return NULL;
    }
    size_t bytes = sizeof(metrics) + nslots * sizeof(metrics_slot);
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        errinfo_set(e, ERR_NOMEM, "metrics: mmap of %zu bytes: %s", bytes, strerror(errno));
        return NULL;
    }
    metrics *m = p; /* zero-filled by the kernel */
    m->nslots = nslots;
    m->bytes = bytes;
    return m;
}

void metrics_free(metrics *m)
{
    if (m)
        munmap(m, m->bytes);
}

metrics_slot *metrics_slot_at(metrics *m, size_t i)
{
    return m && i < m->nslots ? &m->slots[i] : NULL;
}

master_stats *metrics_master_of(metrics *m)
{
    return m ? &m->master : NULL;
}

/* One writer per slot: a relaxed load and store (no lock prefix), which a reader in another
 * process sees whole. */
static inline void metrics_add(uint64_t *p, uint64_t v)
{
    __atomic_store_n(p, __atomic_load_n(p, __ATOMIC_RELAXED) + v, __ATOMIC_RELAXED);
}

static inline uint64_t metrics_get(const uint64_t *p)
{
    return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static size_t metrics_bucket(int64_t us)
{
    double s = (double)us / 1e6;
    size_t b = 0;
    while (b < METRICS_NB && s > metrics_bounds[b])
        b++;
    return b;
}

static size_t metrics_route(const char *pattern)
{
    int i = pattern && *pattern ? router_pattern_index(pattern) : -1;
    return i >= 0 && i < METRICS_ROUTES - 1 ? (size_t)i : METRICS_ROUTES - 1;
}

void metrics_request(metrics_slot *s, const char *pattern, int status, int64_t us)
{
    if (!s)
        return;
    size_t r = metrics_route(pattern), c = METRICS_NCODES - 1;
    for (size_t i = 0; i < METRICS_NCODES - 1; i++)
        if (metrics_codes[i] == status)
            c = i;
    if (us < 0)
        us = 0;
    metrics_add(&s->req[r][c], 1);
    metrics_add(&s->req_hist[r][metrics_bucket(us)], 1);
    metrics_add(&s->req_us[r], (uint64_t)us);
}

void metrics_ddb(void *slot, const char *op, aws_outcome outcome, int64_t us)
{
    metrics_slot *s = slot;
    if (!s || (unsigned)outcome >= METRICS_NOUTCOMES)
        return;
    size_t o = METRICS_NOPS - 1;
    for (size_t i = 0; i < METRICS_NOPS - 1; i++)
        if (op && strcmp(op, metrics_ops[i]) == 0)
            o = i;
    if (us < 0)
        us = 0;
    metrics_add(&s->ddb[o][outcome], 1);
    metrics_add(&s->ddb_hist[o][metrics_bucket(us)], 1);
    metrics_add(&s->ddb_us[o], (uint64_t)us);
}

void metrics_count(metrics_slot *s, metrics_counter c)
{
    if (s && c < METRICS_NCOUNTERS)
        metrics_add(&s->counters[c], 1);
}

/* ---- rendering ---------------------------------------------------------------------------- */

static uint64_t metrics_sum(const metrics *m, size_t off)
{
    uint64_t t = 0;
    for (size_t i = 0; i < m->nslots; i++)
        t += metrics_get((const uint64_t *)((const char *)&m->slots[i] + off));
    return t;
}

#define METRICS_SUM(m, field) metrics_sum((m), offsetof(metrics_slot, field))

static const char *metrics_route_name(size_t r)
{
    const char *p = r < METRICS_ROUTES - 1 ? router_pattern_at((int)r) : NULL;
    return p ? p : "none";
}

int metrics_render(const metrics *m, buf *out)
{
    size_t nroutes = (size_t)router_pattern_count();
    if (nroutes > METRICS_ROUTES - 1)
        nroutes = METRICS_ROUTES - 1;
    char code[16];

    prom_family(out, "cruddur_api_requests_total", "counter",
                "HTTP requests answered, by route pattern and status code");
    for (size_t r = 0; r < METRICS_ROUTES; r++) {
        if (r >= nroutes && r != METRICS_ROUTES - 1)
            continue;
        for (size_t c = 0; c < METRICS_NCODES; c++) {
            uint64_t v = METRICS_SUM(m, req[r][c]);
            if (v == 0 && c != 0)
                continue; /* absent codes are not listed; every route shows its 200 */
            if (c < METRICS_NCODES - 1)
                snprintf(code, sizeof code, "%d", metrics_codes[c]);
            else
                snprintf(code, sizeof code, "other");
            prom_label l[] = { { "route", metrics_route_name(r) }, { "code", code } };
            prom_sample_u64(out, "cruddur_api_requests_total", l, 2, v);
        }
    }
    prom_family(out, "cruddur_api_request_duration_seconds", "histogram",
                "Time from the request's arrival in the worker to its answer, by route");
    for (size_t r = 0; r < METRICS_ROUTES; r++) {
        if (r >= nroutes && r != METRICS_ROUTES - 1)
            continue;
        uint64_t counts[METRICS_NB + 1];
        for (size_t b = 0; b <= METRICS_NB; b++)
            counts[b] = METRICS_SUM(m, req_hist[r][b]);
        prom_label l[] = { { "route", metrics_route_name(r) } };
        prom_histogram(out, "cruddur_api_request_duration_seconds", l, 1, metrics_bounds,
                       METRICS_NB, counts, (double)METRICS_SUM(m, req_us[r]) / 1e6);
    }

    prom_family(out, "cruddur_dynamodb_calls_total", "counter",
                "DynamoDB calls by operation and outcome (ok at once, ok after retries, "
                "given up throttled, failed)");
    for (size_t o = 0; o < METRICS_NOPS; o++)
        for (size_t k = 0; k < METRICS_NOUTCOMES; k++) {
            uint64_t v = METRICS_SUM(m, ddb[o][k]);
            if (v == 0 && k != 0)
                continue;
            prom_label l[] = { { "operation", o < METRICS_NOPS - 1 ? metrics_ops[o] : "other" },
                               { "outcome", metrics_outcomes[k] } };
            prom_sample_u64(out, "cruddur_dynamodb_calls_total", l, 2, v);
        }
    prom_family(out, "cruddur_dynamodb_call_duration_seconds", "histogram",
                "DynamoDB call time including the client's retries, by operation");
    for (size_t o = 0; o < METRICS_NOPS; o++) {
        uint64_t counts[METRICS_NB + 1];
        for (size_t b = 0; b <= METRICS_NB; b++)
            counts[b] = METRICS_SUM(m, ddb_hist[o][b]);
        prom_label l[] = { { "operation", o < METRICS_NOPS - 1 ? metrics_ops[o] : "other" } };
        prom_histogram(out, "cruddur_dynamodb_call_duration_seconds", l, 1, metrics_bounds,
                       METRICS_NB, counts, (double)METRICS_SUM(m, ddb_us[o]) / 1e6);
    }

    prom_family(out, "cruddur_postgres_errors_total", "counter",
                "Postgres queries or connections that failed");
    prom_sample_u64(out, "cruddur_postgres_errors_total", NULL, 0,
                    METRICS_SUM(m, counters[METRICS_PG_ERRORS]));
    prom_family(out, "cruddur_api_cache_lookups_total", "counter",
                "Lookups of the per-worker caches (token: verified access tokens; member: "
                "memberships of conversations), by result");
    const struct {
        const char *cache, *result;
        metrics_counter c;
    } caches[] = { { "token", "hit", METRICS_TOKEN_HIT },
                   { "token", "miss", METRICS_TOKEN_MISS },
                   { "member", "hit", METRICS_MEMBER_HIT },
                   { "member", "miss", METRICS_MEMBER_MISS } };
    for (size_t i = 0; i < sizeof caches / sizeof caches[0]; i++) {
        prom_label l[] = { { "cache", caches[i].cache }, { "result", caches[i].result } };
        prom_sample_u64(out, "cruddur_api_cache_lookups_total", l, 2,
                        METRICS_SUM(m, counters[caches[i].c]));
    }
    prom_family(out, "cruddur_api_workers", "gauge", "Worker processes running now");
    prom_sample_u64(out, "cruddur_api_workers", NULL, 0, metrics_get(&m->master.alive));
    prom_family(out, "cruddur_api_worker_restarts_total", "counter",
                "Workers started after the first set (a dead one replaced, a rolling restart)");
    prom_sample_u64(out, "cruddur_api_worker_restarts_total", NULL, 0,
                    metrics_get(&m->master.restarts));
    return out->failed ? -1 : 0;
}

int api_metrics(api_ctx *ctx, api_request *req, api_response *resp, const strv *params)
{
    (void)params;
    if (!api_health_allowed(req->remote_addr, ctx ? ctx->metrics_allow : NULL))
        return api_error(resp, 403, "forbidden",
                         "metrics are for the configured scrapers only "
                         "(loopback or CRUDDUR_METRICS_ALLOW)");
    if (!ctx || !ctx->metrics)
        return api_error(resp, 503, "unavailable", "metrics are not kept by this process");
    buf_reset(&resp->body);
    resp->body.max = 4 << 20;
    if (metrics_render(ctx->metrics, &resp->body) != 0)
        return api_error(resp, 500, "internal", "the metrics page does not fit");
    resp->status = 200;
    resp->content_type = PROM_CONTENT_TYPE;
    return 0;
}
