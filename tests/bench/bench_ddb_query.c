/* bench_ddb_query.c — Query round trips per second through this client against DynamoDB
 * Local, next to wrk sending the same signed request on one connection in the same run.
 * Both client paths run: ddb_query_view (the page as a flat document: what a list answer
 * such as the API's GET /api/messages/{uuid} needs) and ddb_query (the page as Jansson
 * values); each signs the request, checks the reply's CRC32, parses and checks all of it
 * and hands back the 20 items and LastEvaluatedKey.
 *
 * usage: bench_ddb_query [seconds [clients]]
 *   endpoint: CRUDDUR_TEST_DDB_ENDPOINT or AWS_ENDPOINT_URL; 3 rounds of [seconds] s per
 *   side, default 3. With clients > 1 (at most 64) only the ddb_query_view path runs, in
 *   that many processes at once for [seconds] s, each with its own client and connection:
 *   the same Query's client CPU when as many callers wait on DynamoDB at once as the API
 *   has workers, and the context switches each query costs. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "aws/creds.h"
#include "aws/ddb.h"
#include "aws/ddb_av.h"
#include "aws/http.h"
#include "aws/sigv4.h"
#include "base/clock.h"
#include "base/jdoc.h"
#include "base/rnd.h"
#include "support_env.h"

#define BENCH_MAX_SAMPLES 2000000

static int bench_cmp(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int bench_cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int bench_setup(ddb *d, const char *table, const char *pk)
{
    ddb_error err;
    json_t *def = json_pack("{s:s, s:[{s:s,s:s},{s:s,s:s}], s:[{s:s,s:s},{s:s,s:s}], s:s}",
                            "TableName", table, "AttributeDefinitions", "AttributeName", "pk",
                            "AttributeType", "S", "AttributeName", "sk", "AttributeType", "S",
                            "KeySchema", "AttributeName", "pk", "KeyType", "HASH", "AttributeName",
                            "sk", "KeyType", "RANGE", "BillingMode", "PAY_PER_REQUEST");
    int rc = ddb_create_table(d, def, NULL, &err);
    json_decref(def);
    if (rc != 0 || ddb_wait_active(d, table, 10000, &err) != 0) {
        fprintf(stderr, "bench: create table: %s\n", err.info.msg);
        return -1;
    }
    json_t *reqs = json_array();
    for (int i = 0; i < 40; i++) {
        char sk[40], text[80];
        snprintf(sk, sizeof sk, "2026-11-21T09:30:%02d.000000+00:00", i);
        snprintf(text, sizeof text, "benchmark message number %d with a little text in it", i);
        json_array_append_new(
            reqs,
            json_pack("{s:{s:{s:o,s:o,s:o,s:o,s:o,s:o,s:o}}}", "PutRequest", "Item", "pk",
                      ddb_av_s(pk), "sk", ddb_av_s(sk), "message", ddb_av_s(text), "message_uuid",
                      ddb_av_s("5ae290ed-55d1-47a0-bc6d-fe2bc2700399"), "user_uuid",
                      ddb_av_s("90324830-2948-4230-9484-23424ab30924"), "user_display_name",
                      ddb_av_s("Andrew Brown"), "user_handle", ddb_av_s("andrewbrown")));
    }
    rc = ddb_batch_write(d, table, reqs, NULL, &err);
    json_decref(reqs);
    if (rc != 0)
        fprintf(stderr, "bench: seed: %s\n", err.info.msg);
    return rc;
}

/* The signed header lines of the request (for the transport floor), NULL-terminated. */
static char *bench_lines[8];

/* The same request the client sends, signed once, as a wrk script; also kept in
 * bench_lines. */
static int bench_wrk_script(const char *path, const char *endpoint, const char *body)
{
    const char *auth = strstr(endpoint, "://");
    char host[256];
    snprintf(host, sizeof host, "%s", auth ? auth + 3 : endpoint);
    host[strcspn(host, "/")] = '\0';
    creds *c = creds_new(NULL);
    const creds_value *cv;
    errinfo e;
    if (!c || creds_get(c, &cv, &e) != 0) {
        fprintf(stderr, "bench: credentials: %s\n", c ? e.msg : "nomem");
        creds_free(c);
        return -1;
    }
    sigv4_header h[3] = { { STRV("host"), strv_from(host) },
                          { STRV("content-type"), STRV("application/x-amz-json-1.0") },
                          { STRV("x-amz-target"), STRV("DynamoDB_20120810.Query") } };
    sigv4_request req = { .method = STRV("POST"),
                          .path = STRV("/"),
                          .query = STRV_EMPTY,
                          .headers = h,
                          .nheaders = 3,
                          .payload = body,
                          .payload_len = strlen(body) };
    sigv4_credentials sc = { cv->access_key_id, cv->secret_access_key, cv->session_token };
    sigv4_options so = { .region = "us-east-1",
                         .service = "dynamodb",
                         .time_s = clock_real_us() / 1000000,
                         .normalize_path = true };
    sigv4_signer *s = sigv4_signer_new();
    sigv4_result r;
    sigv4_result_init(&r);
    int rc = sigv4_sign(s, &req, &sc, &so, &r, &e);
    FILE *f = rc == 0 ? fopen(path, "w") : NULL;
    if (f) {
        buf l;
        int k = 0;
        const char *name[] = { "Host", "Content-Type", "X-Amz-Target", "X-Amz-Date",
                               "Authorization" };
        const char *value[] = { host, "application/x-amz-json-1.0", "DynamoDB_20120810.Query",
                                r.amz_date, buf_cstr(&r.authorization) };
        for (; k < 5; k++) {
            buf_init(&l, 8192);
            buf_printf(&l, "%s: %s", name[k], value[k]);
            bench_lines[k] = buf_take(&l);
        }
        if (cv->session_token) {
            buf_init(&l, 16384);
            buf_printf(&l, "X-Amz-Security-Token: %s", cv->session_token);
            bench_lines[k++] = buf_take(&l);
        }
        bench_lines[k] = NULL;
        fprintf(f, "wrk.method = \"POST\"\nwrk.body = [==[%s]==]\n", body);
        fprintf(f, "wrk.headers[\"Content-Type\"] = \"application/x-amz-json-1.0\"\n");
        fprintf(f, "wrk.headers[\"X-Amz-Target\"] = \"DynamoDB_20120810.Query\"\n");
        fprintf(f, "wrk.headers[\"X-Amz-Date\"] = \"%s\"\n", r.amz_date);
        fprintf(f, "wrk.headers[\"Authorization\"] = \"%s\"\n", buf_cstr(&r.authorization));
        if (cv->session_token)
            fprintf(f, "wrk.headers[\"X-Amz-Security-Token\"] = \"%s\"\n", cv->session_token);
        fclose(f);
    } else {
        rc = -1;
    }
    sigv4_result_cleanup(&r);
    sigv4_signer_free(s);
    creds_free(c);
    return rc;
}

/* A wrk latency figure in milliseconds. */
static double bench_ms(double v, const char *unit)
{
    return strcmp(unit, "us") == 0 ? v / 1000 : strcmp(unit, "s") == 0 ? v * 1000 : v;
}

/* Runs wrk with one connection; *rps and the non-2xx count from its report. */
static int bench_wrk(const char *script, const char *url, int seconds, double *rps, double *p50_ms,
                     double *p99_ms, long *bad)
{
    int fd[2];
    if (pipe(fd) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fd[1], 1);
        close(fd[0]);
        char dur[16];
        snprintf(dur, sizeof dur, "%ds", seconds);
        execlp("wrk", "wrk", "-t1", "-c1", "-d", dur, "--latency", "-s", script, url, (char *)NULL);
        _exit(127);
    }
    close(fd[1]);
    FILE *f = fdopen(fd[0], "r");
    char line[512];
    *rps = 0;
    *bad = 0;
    *p99_ms = 0;
    *p50_ms = 0;
    while (f && fgets(line, sizeof line, f)) {
        double v;
        char unit[8];
        if (sscanf(line, "Requests/sec: %lf", &v) == 1)
            *rps = v;
        else if (sscanf(line, " Non-2xx or 3xx responses: %lf", &v) == 1)
            *bad = (long)v;
        else if (sscanf(line, " 99%% %lf%7s", &v, unit) == 2)
            *p99_ms = bench_ms(v, unit);
        else if (sscanf(line, " 50%% %lf%7s", &v, unit) == 2)
            *p50_ms = bench_ms(v, unit);
    }
    if (f)
        fclose(f);
    int status;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 && *rps > 0 ? 0 : -1;
}

/* One client path's totals. */
typedef struct bench_side {
    const char *name;
    size_t n;
    double us, cpu_us, rps, cs;
} bench_side;

/* A Query through ddb_query_view, used as a caller would: every item's attributes read, the
 * next page's key taken as a Jansson value. */
static int bench_view_query(ddb *d, const ddb_query_options *q, ddb_page_view *v, ddb_error *err)
{
    if (ddb_query_view(d, q, v, err) != 0)
        return -1;
    size_t n = 0, bytes = 0;
    for (jdoc_val it = jdoc_first(v->items); it.doc; it = jdoc_next(it), n++) {
        const char *m = jdoc_get_str(jdoc_get(it, "message"), "S");
        const char *sk = jdoc_get_str(jdoc_get(it, "sk"), "S");
        bytes += (m ? strlen(m) : 0) + (sk ? strlen(sk) : 0);
    }
    json_t *next = jdoc_to_json(v->last_key);
    int ok = n == 20 && bytes > 0 && next != NULL;
    json_decref(next);
    if (!ok)
        snprintf(err->info.msg, sizeof err->info.msg, "%zu items, %zu bytes of text", n, bytes);
    return ok ? 0 : -1;
}

/* CPU microseconds and context switches (voluntary and not) in a struct rusage. */
static double bench_ru_cpu(const struct rusage *r)
{
    return (double)r->ru_utime.tv_sec * 1e6 + (double)r->ru_utime.tv_usec +
           (double)r->ru_stime.tv_sec * 1e6 + (double)r->ru_stime.tv_usec;
}

static double bench_ru_cs(const struct rusage *r)
{
    return (double)r->ru_nvcsw + (double)r->ru_nivcsw;
}

/* The parallel mode: clients processes, each with its own ddb client, send q through
 * ddb_query_view for seconds s; prints their throughput, CPU and context switches per
 * query (the children's own: RUSAGE_CHILDREN). 0, or 1 when a child failed. */
static int bench_parallel(const ddb_options *o, const ddb_query_options *q, int clients,
                          int seconds)
{
    int fd[2];
    if (pipe(fd) != 0)
        return 1;
    int64_t t0 = clock_mono_us();
    pid_t pid[64];
    int started = 0;
    for (; started < clients; started++) {
        pid[started] = fork();
        if (pid[started] < 0)
            break;
        if (pid[started] == 0) {
            close(fd[0]);
            errinfo e;
            ddb_error err;
            ddb *d = ddb_new(o, &e);
            ddb_page_view v;
            ddb_page_view_init(&v);
            long n = 0;
            int rc = d ? 0 : 1;
            int64_t end = clock_mono_us() + (int64_t)seconds * 1000000;
            while (rc == 0 && clock_mono_us() < end)
                if (bench_view_query(d, q, &v, &err) == 0)
                    n++;
                else
                    rc = 1;
            ddb_page_view_cleanup(&v);
            ddb_free(d);
            if (write(fd[1], &n, sizeof n) != (ssize_t)sizeof n)
                rc = 1;
            _exit(rc);
        }
    }
    close(fd[1]);
    long total = 0, n;
    while (read(fd[0], &n, sizeof n) == (ssize_t)sizeof n)
        total += n;
    close(fd[0]);
    int bad = started < clients;
    for (int i = 0; i < started; i++) {
        int st;
        if (waitpid(pid[i], &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
            bad = 1;
    }
    double us = (double)(clock_mono_us() - t0);
    struct rusage ru;
    getrusage(RUSAGE_CHILDREN, &ru);
    printf("ddb-query: %d clients in parallel: %.0f queries/s with ddb_query_view, %.0f us CPU "
           "and %.2f context switches per query in the clients (%ld queries)\n",
           clients, us > 0 ? (double)total * 1e6 / us : 0.0,
           total ? bench_ru_cpu(&ru) / (double)total : 0.0,
           total ? bench_ru_cs(&ru) / (double)total : 0.0, total);
    return bad || total == 0;
}

int main(int argc, char **argv)
{
    support_env_local_aws();                    /* a local stack only: never instance metadata */
    int seconds = argc > 1 ? atoi(argv[1]) : 3; /* bench tool: trusted argument */
    if (seconds < 1 || seconds > 120)
        seconds = 3;
    int clients = argc > 2 ? atoi(argv[2]) : 1;
    if (clients < 1 || clients > 64)
        clients = 1;
    const char *ep = getenv("CRUDDUR_TEST_DDB_ENDPOINT");
    if (!ep || !*ep)
        ep = getenv("AWS_ENDPOINT_URL");
    if (!ep || !*ep) {
        fprintf(stderr, "bench: set CRUDDUR_TEST_DDB_ENDPOINT to DynamoDB Local\n");
        return 2;
    }
    ddb_options o = { .endpoint = ep, .region = "us-east-1" };
    errinfo e;
    ddb *d = ddb_new(&o, &e);
    if (!d) {
        fprintf(stderr, "bench: %s\n", e.msg);
        return 1;
    }
    char table[64], uuid[37], pk[64];
    rnd_uuid4(uuid);
    snprintf(table, sizeof table, "bench-%.8s", uuid);
    snprintf(pk, sizeof pk, "MSG#%s", uuid);
    if (bench_setup(d, table, pk) != 0)
        return 1;

    json_t *vals = json_pack("{s:o}", ":pk", ddb_av_s(pk));
    ddb_query_options q = {
        .table = table, .key_condition = "pk = :pk", .values = vals, .limit = 20, .descending = true
    };
    /* the wrk body is what the client sends for q */
    json_t *body = json_pack("{s:s, s:s, s:O, s:i, s:b}", "TableName", table,
                             "KeyConditionExpression", "pk = :pk", "ExpressionAttributeValues",
                             vals, "Limit", 20, "ScanIndexForward", 0);
    char *body_text = json_dumps(body, JSON_COMPACT);
    json_decref(body);

    ddb_page page;
    ddb_page_init(&page);
    ddb_error err;
    for (int i = 0; i < 200; i++) /* warm up both sides */
        if (ddb_query(d, &q, &page, &err) != 0 || json_array_size(page.items) != 20) {
            fprintf(stderr, "bench: query: %s\n", err.info.msg);
            return 1;
        }

    if (clients > 1) {
        int prc = bench_parallel(&o, &q, clients, seconds);
        ddb_delete_table(d, table, &err);
        ddb_page_cleanup(&page);
        json_decref(vals);
        free(body_text);
        ddb_free(d);
        return prc;
    }
    /* Rounds alternate the two client paths, the transport floor and wrk, so JVM warm-up
     * and machine noise fall on all of them. */
    const int rounds = 3;
    int64_t *lat = malloc(sizeof *lat * BENCH_MAX_SAMPLES);
    bench_side side[2] = { { "view", 0, 0, 0, 0, 0 }, { "jansson", 0, 0, 0, 0, 0 } };
    double wrk_sum = 0, wrk_p99 = 0, wrk_p50[3] = { 0, 0, 0 };
    long bad = 0;
    int wrc = 0;
    char script[] = "/tmp/cruddur-bench-XXXXXX";
    int sfd = mkstemp(script);
    if (sfd < 0 || bench_wrk_script(script, ep, body_text) != 0)
        wrc = -1;
    if (sfd >= 0)
        close(sfd);
    http *h = http_new(NULL, &e);
    http_response hr;
    http_response_init(&hr);
    ddb_page_view view;
    ddb_page_view_init(&view);
    double floor_us = 0;
    long floor_n = 0;
    for (int r = 0; r < rounds; r++) {
        for (int k = 0; k < 2; k++) {
            bench_side *sd = &side[k];
            struct rusage ru0, ru1;
            getrusage(RUSAGE_SELF, &ru0);
            int64_t t0 = clock_mono_us(), end = t0 + (int64_t)seconds * 1000000;
            size_t n0 = sd->n;
            while (sd->n - n0 < BENCH_MAX_SAMPLES / 6) {
                int64_t a = clock_mono_us();
                if (a >= end)
                    break;
                if (k == 0 ? bench_view_query(d, &q, &view, &err) != 0
                           : ddb_query(d, &q, &page, &err) != 0 ||
                                 json_array_size(page.items) != 20 || !page.last_key) {
                    fprintf(stderr, "bench: query (%s): %s\n", sd->name, err.info.msg);
                    return 1;
                }
                if (k == 0)
                    lat[sd->n] = clock_mono_us() - a;
                sd->n++;
            }
            sd->us += (double)(clock_mono_us() - t0);
            getrusage(RUSAGE_SELF, &ru1);
            sd->cpu_us += bench_ru_cpu(&ru1) - bench_ru_cpu(&ru0);
            sd->cs += bench_ru_cs(&ru1) - bench_ru_cs(&ru0);
        }
        if (wrc == 0 && bench_lines[0]) {
            /* transport floor: the pre-signed request through http.c, no signing, no JSON */
            int64_t f0 = clock_mono_us(), fend = f0 + (int64_t)seconds * 1000000;
            while (clock_mono_us() < fend) {
                if (http_request(h, "POST", ep, (const char *const *)bench_lines, body_text,
                                 strlen(body_text), &hr, &e) != 0 ||
                    hr.status != 200) {
                    fprintf(stderr, "bench: floor request failed (%ld)\n", hr.status);
                    return 1;
                }
                floor_n++;
            }
            floor_us += (double)(clock_mono_us() - f0);
        }
        if (wrc == 0) {
            double rps = 0, p99w = 0;
            long b = 0;
            wrc = bench_wrk(script, ep, seconds, &rps, &wrk_p50[r], &p99w, &b);
            wrk_sum += rps;
            bad += b;
            if (p99w > wrk_p99)
                wrk_p99 = p99w;
        }
    }
    unlink(script);
    double wrk_rps = wrk_sum / rounds;
    size_t n = side[0].n;
    qsort(lat, n, sizeof *lat, bench_cmp);
    double p50 = n ? (double)lat[n / 2] / 1000 : 0, p99 = n ? (double)lat[n * 99 / 100] / 1000 : 0;
    for (int k = 0; k < 2; k++)
        side[k].rps = side[k].us > 0 ? (double)side[k].n * 1e6 / side[k].us : 0;

    printf("ddb-query: client %.0f queries/s with ddb_query_view (p50 %.2f ms, p99 %.2f ms, %zu "
           "queries, 1 connection, %.0f us CPU per query in the client, %.2f context switches)\n",
           side[0].rps, p50, p99, n, n ? side[0].cpu_us / (double)n : 0.0,
           n ? side[0].cs / (double)n : 0.0);
    printf("ddb-query: client %.0f queries/s with ddb_query (Jansson items, %zu queries, %.0f us "
           "CPU per query in the client)\n",
           side[1].rps, side[1].n, side[1].n ? side[1].cpu_us / (double)side[1].n : 0.0);
    if (wrc == 0 && bad == 0) {
        qsort(wrk_p50, 3, sizeof wrk_p50[0], bench_cmp_d);
        printf("ddb-query: wrk    %.0f queries/s (median p50 %.2f ms, worst p99 %.2f ms, same "
               "signed request, 1 connection)\n",
               wrk_rps, wrk_p50[1], wrk_p99);
        printf("ddb-query: floor  %.0f queries/s (the pre-signed request through http.c, no "
               "signing, no JSON: the transport's own ceiling)\n",
               floor_us > 0 ? floor_n * 1e6 / floor_us : 0.0);
        printf("ddb-query: ratio client/wrk %.3f with ddb_query_view, %.3f with ddb_query, over "
               "%d alternating rounds of %d s (target >= 0.90 with ddb_query_view: %s)\n",
               side[0].rps / wrk_rps, side[1].rps / wrk_rps, rounds, seconds,
               side[0].rps / wrk_rps >= 0.90 ? "met" : "NOT met");
        printf("ddb-query: p50 latency wrk/client %.3f with ddb_query_view (the median, less "
               "moved by other load on a shared machine)\n",
               p50 > 0 ? wrk_p50[1] / p50 : 0.0);
    } else {
        printf("ddb-query: wrk reference failed (wrk missing, or %ld non-2xx answers)\n", bad);
    }
    ddb_page_view_cleanup(&view);
    http_response_cleanup(&hr);
    http_free(h);
    for (int k = 0; bench_lines[k]; k++)
        free(bench_lines[k]);
    ddb_delete_table(d, table, &err);
    ddb_page_cleanup(&page);
    json_decref(vals);
    free(body_text);
    free(lat);
    ddb_free(d);
    return wrc == 0 && bad == 0 ? 0 : 1;
}
