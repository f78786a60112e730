/* bench_streamd.c — propagation delay of cruddur-streamd against DynamoDB Local: from a
 * message's PutItem returning to both group rows of its conversation showing it, at a steady
 * rate, and the highest rate the daemon sustains.
 *
 * usage: bench_streamd [--rate N] [--seconds S] [--no-ramp] [--warmup S] [--daemon-endpoint URL]
 *   endpoint: CRUDDUR_TEST_DDB_ENDPOINT or AWS_ENDPOINT_URL (use a fresh DynamoDB Local:
 *   its streams slow down as they fill); the daemon: $CR_BUILDDIR/src/streamd/cruddur-streamd
 *   (default ./src/streamd/cruddur-streamd). Default: 50 messages/s for 60 s, then (--ramp,
 *   on by default) 10 s at each of 100, 200, 400, 800 messages/s until one is not sustained
 *   (p99 over 1 s, or messages still unpropagated 3 s after the phase). --warmup S: S seconds
 *   at the rate before the steady phase, printed but not counted. --daemon-endpoint:
 *   the daemon's AWS_ENDPOINT_URL (for example a TLS terminator in front of the same
 *   DynamoDB Local, with AWS_CA_BUNDLE in the environment); the bench itself writes and reads
 *   over the plain endpoint. Prints the daemon's CPU per message and per GetRecords call.
 *   BENCH_STREAMD_LOG_LEVEL=info: the daemon logs a line per record (its log: /tmp/<table>.log). */
#include "config.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/wait.h>
#include <unistd.h>

#include "aws/ddb.h"
#include "aws/ddb_av.h"
#include "base/clock.h"
#include "base/embed.h"
#include "base/jparse.h"
#include "base/rnd.h"
#include "messaging/messaging.h"
#include "messaging/post.h"
#include "support_env.h"

#define BENCH_GROUPS 64
#define BENCH_WRITERS 4
#define BENCH_MAX_PENDING 100000
#define BENCH_CHECKERS 2        /* checker threads; group g is read by checker g % BENCH_CHECKERS */
#define BENCH_CHECK_GAP_US 4000 /* a checker starts a round at most this often */

typedef struct pending {
    int group;
    char created_at[MESSAGING_TS_LEN];
    int64_t put_done_us;
    int64_t put_done_real_us; /* the same moment on the wall clock, for the trace */
} pending;

static FILE *g_trace; /* BENCH_STREAMD_TRACE: a line per propagated message; NULL: none */

static char g_table[64];
static char g_users[BENCH_GROUPS * 2][37];
static char g_groups[BENCH_GROUPS][37];
static const char *g_endpoint;

/* the queues of messages written and not yet seen propagated, one per checker */
static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static pending *g_q[BENCH_CHECKERS];
static size_t g_qlen[BENCH_CHECKERS];
static int64_t *g_delays;
static size_t g_ndelays;
static volatile int g_rate, g_stop_writers, g_stop_checker;
static volatile uint64_t g_written;
/* what the checkers did: calls sent, rounds, and the time a round took (us) */
static uint64_t g_queries, g_rounds;
static int64_t g_round_us_sum, g_round_us_max;
static const char *g_daemon_endpoint; /* the daemon's AWS_ENDPOINT_URL (default: ours) */
static int64_t g_check_gap_us = BENCH_CHECK_GAP_US;

static ddb *bench_ddb(void)
{
    ddb_options o = { .endpoint = g_endpoint, .region = "us-east-1" };
    errinfo e;
    ddb *d = ddb_new(&o, &e);
    if (!d) {
        fprintf(stderr, "bench: %s\n", e.msg);
        exit(1);
    }
    return d;
}

static int bench_cmp(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void *writer(void *arg)
{
    int id = (int)(intptr_t)arg;
    ddb *d = bench_ddb();
    int64_t next = clock_mono_us();
    while (!g_stop_writers) {
        int rate = g_rate;
        if (rate <= 0) {
            clock_sleep_ms(10);
            next = clock_mono_us();
            continue;
        }
        int64_t gap = (int64_t)1000000 * BENCH_WRITERS / rate;
        int64_t now = clock_mono_us();
        if (now < next) {
            clock_sleep_ms((next - now) / 1000 + ((next - now) % 1000 != 0));
            continue;
        }
        next += gap;
        if (now - next > 1000000)
            next = now; /* fell behind by a second: do not burst */
        int g = (int)rnd_below(BENCH_GROUPS);
        char mid[37], ts[MESSAGING_TS_LEN];
        rnd_uuid4(mid);
        messaging_now(ts);
        messaging_user u = { g_users[2 * g + (id & 1)], "Bench User", "bench" };
        json_t *item = messaging_message_item(g_groups[g], ts, mid, &u, "benchmark message");
        ddb_error err;
        ddb_error_clear(&err);
        int rc = messaging_put_message(d, g_table, item, &err);
        json_decref(item);
        if (rc != 0)
            continue; /* a same-microsecond clash: skip it */
        pending p = { .group = g,
                      .put_done_us = clock_mono_us(),
                      .put_done_real_us = clock_real_us() };
        memcpy(p.created_at, ts, sizeof ts);
        int c = g % BENCH_CHECKERS;
        pthread_mutex_lock(&g_mu);
        if (g_qlen[c] < BENCH_MAX_PENDING)
            g_q[c][g_qlen[c]++] = p;
        g_written++;
        pthread_mutex_unlock(&g_mu);
    }
    ddb_free(d);
    return NULL;
}

/* One checker: while messages of its groups are pending, one strongly consistent
 * BatchGetItem a round asks for both group rows of each such group (the base table's GRP#
 * items: what a user's list of conversations reads) at every position a row can stand at
 * now: the created_at of each pending message of the group, newest first (a row that shows
 * an older pending message is found there, one at a newer message there). A message counts
 * as propagated when a read that began after its PutItem returned found both rows at it or
 * at a newer message; its delay runs to the end of that read: an upper bound, at most one
 * round late. A round asks for the newest position of every group first, then older ones
 * while BatchGetItem's 100 keys allow (the rest wait a round). */
#define BENCH_BATCH_KEYS 100
static void *checker(void *arg)
{
    int id = (int)(intptr_t)arg;
    ddb *d = bench_ddb();
    int64_t last_round = 0;
    static _Thread_local pending mine[BENCH_MAX_PENDING];
    static _Thread_local bool asked[BENCH_MAX_PENDING];
    while (!g_stop_checker) {
        /* this checker's pending messages, a copy, newest first */
        pthread_mutex_lock(&g_mu);
        size_t np = g_qlen[id];
        memcpy(mine, g_q[id], np * sizeof *mine);
        pthread_mutex_unlock(&g_mu);
        int64_t start = clock_mono_us();
        if (np == 0 || start - last_round < g_check_gap_us) {
            clock_sleep_ms(1);
            continue;
        }
        last_round = start;
        /* the keys: for each group its newest pending position, then older ones */
        json_t *keys = json_array();
        size_t nkeys = 0;
        bool asked_group[BENCH_GROUPS] = { false };
        memset(asked, 0, np * sizeof *asked);
        for (int pass = 0; pass < 2; pass++)
            for (size_t i = np; i-- > 0 && nkeys + 2 <= BENCH_BATCH_KEYS;) {
                /* (a group's pending messages differ in created_at: a clash is not written) */
                const pending *p = &mine[i];
                if (asked[i] || (pass == 0 && asked_group[p->group]))
                    continue;
                asked[i] = asked_group[p->group] = true;
                for (int u = 0; u < 2; u++) {
                    char pk[MESSAGING_KEY_MAX];
                    messaging_grp_pk(pk, sizeof pk, g_users[2 * p->group + u]);
                    json_array_append_new(keys, json_pack("{s:{s:s}, s:{s:s}}", "pk", "S", pk, "sk",
                                                          "S", p->created_at));
                }
                nkeys += 2;
            }
        json_t *req = json_pack("{s:{s:{s:o, s:b}}}", "RequestItems", g_table, "Keys", keys,
                                "ConsistentRead", 1);
        json_t *resp = NULL;
        ddb_error err;
        ddb_error_clear(&err);
        int rc = ddb_call(d, "BatchGetItem", req, &resp, &err);
        int64_t end = clock_mono_us(), end_real = clock_real_us();
        /* where each row was found: the newest of its positions asked; "" not found */
        char at[BENCH_GROUPS * 2][MESSAGING_TS_LEN];
        memset(at, 0, sizeof at);
        const json_t *items = json_object_get(json_object_get(resp, "Responses"), g_table);
        for (size_t i = 0; rc == 0 && i < json_array_size(items); i++) {
            const json_t *item = json_array_get(items, i);
            const char *pk = ddb_av_get_s(item, "pk"), *sk = ddb_av_get_s(item, "sk");
            for (int k = 0; pk && sk && k < BENCH_GROUPS * 2; k++)
                if (strncmp(pk, "GRP#", 4) == 0 && strcmp(pk + 4, g_users[k]) == 0 &&
                    strcmp(sk, at[k]) > 0)
                    snprintf(at[k], sizeof at[k], "%s", sk);
        }
        json_decref(resp);
        json_decref(req);
        pthread_mutex_lock(&g_mu);
        g_queries++;
        g_rounds++;
        g_round_us_sum += end - start;
        if (end - start > g_round_us_max)
            g_round_us_max = end - start;
        size_t w = 0;
        for (size_t i = 0; i < g_qlen[id]; i++) {
            pending *p = &g_q[id][i];
            int g = p->group;
            if (p->put_done_us <= start && at[2 * g][0] && at[2 * g + 1][0] &&
                strcmp(at[2 * g], p->created_at) >= 0 &&
                strcmp(at[2 * g + 1], p->created_at) >= 0) {
                if (g_ndelays < BENCH_MAX_PENDING)
                    g_delays[g_ndelays++] = end - p->put_done_us;
                if (g_trace)
                    fprintf(g_trace, "%s %s %lld %lld %lld\n", g_groups[g], p->created_at,
                            (long long)p->put_done_real_us, (long long)(end_real - (end - start)),
                            (long long)end_real);
                continue;
            }
            g_q[id][w++] = *p;
        }
        g_qlen[id] = w;
        pthread_mutex_unlock(&g_mu);
    }
    ddb_free(d);
    return NULL;
}

/* Messages pending over all checkers; call with g_mu held. */
static size_t bench_pending(void)
{
    size_t n = 0;
    for (int c = 0; c < BENCH_CHECKERS; c++)
        n += g_qlen[c];
    return n;
}

/* One phase at rate for seconds; prints its figures; true when sustained. */
static bool phase(int rate, int seconds, const char *label)
{
    pthread_mutex_lock(&g_mu);
    g_ndelays = 0;
    uint64_t w0 = g_written;
    pthread_mutex_unlock(&g_mu);
    g_rate = rate;
    int64_t t0 = clock_mono_ms();
    clock_sleep_ms((int64_t)seconds * 1000);
    g_rate = 0;
    int64_t t1 = clock_mono_ms();
    /* let the last ones propagate (3 s at most) */
    size_t left = 1;
    for (int i = 0; i < 300 && left; i++) {
        pthread_mutex_lock(&g_mu);
        left = bench_pending();
        pthread_mutex_unlock(&g_mu);
        if (left)
            clock_sleep_ms(10);
    }
    pthread_mutex_lock(&g_mu);
    size_t n = g_ndelays;
    uint64_t written = g_written - w0;
    left = bench_pending();
    qsort(g_delays, n, sizeof *g_delays, bench_cmp);
    int64_t p50 = n ? g_delays[n / 2] : 0, p99 = n ? g_delays[(n * 99) / 100] : 0;
    int64_t mx = n ? g_delays[n - 1] : 0;
    for (int c = 0; c < BENCH_CHECKERS; c++)
        g_qlen[c] = 0; /* drop what never arrived */
    pthread_mutex_unlock(&g_mu);
    double achieved = (double)written / ((double)(t1 - t0) / 1000.0);
    printf("%-8s target %4d msg/s  written %6.1f msg/s  n %6zu  p50 %5.0f ms  p99 %5.0f ms  "
           "max %5.0f ms  not propagated %zu\n",
           label, rate, achieved, n, p50 / 1000.0, p99 / 1000.0, mx / 1000.0, left);
    fflush(stdout);
    return left == 0 && p99 < 1000000 && achieved >= rate * 0.9;
}

/* ---- the daemon's GetRecords calls, from its metrics (CRUDDUR_METRICS_LISTEN) ------------ */

static int g_metrics_port;

/* A free loopback port for the daemon's metrics (bound, read, released). */
static int bench_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t l = sizeof a;
    int port = 0;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &l) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

/* The sum of cruddur_streamd_get_records_total over the shards, and their number; -1 when
 * the metrics cannot be read. */
static long bench_get_records(int *shards)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)g_metrics_port) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    const char req[] = "GET /metrics HTTP/1.0\r\n\r\n";
    if (write(fd, req, sizeof req - 1) != (ssize_t)(sizeof req - 1)) {
        close(fd);
        return -1;
    }
    static char text[1 << 20];
    size_t n = 0;
    ssize_t r;
    while (n < sizeof text - 1 && (r = read(fd, text + n, sizeof text - 1 - n)) > 0)
        n += (size_t)r;
    text[n] = '\0';
    close(fd);
    long sum = 0;
    *shards = 0;
    const char key[] = "cruddur_streamd_get_records_total{";
    for (const char *p = strstr(text, key); p; p = strstr(p + 1, key)) {
        const char *v = strchr(p, '}');
        if (!v)
            break;
        sum += strtol(v + 1, NULL, 10);
        (*shards)++;
    }
    return sum;
}

/* utime + stime of pid in clock ticks, or -1. */
static long bench_cpu_ticks(pid_t pid)
{
    char path[64], text[1024];
    snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    const char *p = strrchr(text, ')'); /* the name may hold spaces */
    if (!p)
        return -1;
    long ut = -1, st = -1;
    /* after ") ": state(3) ... utime is field 14, stime 15 */
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %ld %ld", &ut, &st) != 2)
        return -1;
    return ut + st;
}

static int setup_table(ddb *d)
{
    size_t len;
    const char *text = embed_get("ddb-schema/cruddur-messages.json", &len);
    errinfo e;
    json_t *def = text ? jparse(text, len, 64, &e) : NULL;
    if (!def)
        return -1;
    json_object_set_new(def, "TableName", json_string(g_table));
    ddb_error err;
    ddb_error_clear(&err);
    int rc = ddb_create_table(d, def, NULL, &err);
    json_decref(def);
    if (rc != 0 || ddb_wait_active(d, g_table, 20000, &err) != 0) {
        fprintf(stderr, "bench: create table: %s\n", err.info.msg);
        return -1;
    }
    for (int g = 0; g < BENCH_GROUPS; g++) {
        rnd_uuid4(g_users[2 * g]);
        rnd_uuid4(g_users[2 * g + 1]);
        rnd_uuid4(g_groups[g]);
        char mid[37], ts[MESSAGING_TS_LEN];
        rnd_uuid4(mid);
        messaging_now(ts);
        messaging_user a = { g_users[2 * g], "A", "a" }, b = { g_users[2 * g + 1], "B", "b" };
        messaging_store st = { .db = d, .table = g_table };
        messaging_post p = { .me = &a, .message = "hi" };
        messaging_post_result res;
        messaging_post_result_init(&res);
        rc = messaging_start(&st, &p, &b, &res);
        if (rc == 0 && res.outcome != MESSAGING_POST_CREATED)
            rc = -1;
        memcpy(g_groups[g], res.group, sizeof g_groups[g]);
        err = res.err;
        messaging_post_result_cleanup(&res);
        if (rc != 0) {
            fprintf(stderr, "bench: create group: %s\n", err.info.msg);
            return -1;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    support_env_local_aws(); /* a local stack only: never instance metadata */
    int rate = 50, seconds = 60, warmup = 0;
    bool ramp = true;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--rate") == 0 && i + 1 < argc)
            rate = atoi(argv[++i]);
        else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
            seconds = atoi(argv[++i]);
        else if (strcmp(argv[i], "--no-ramp") == 0)
            ramp = false;
        else if (strcmp(argv[i], "--warmup") == 0 && i + 1 < argc)
            warmup = atoi(argv[++i]);
        else if (strcmp(argv[i], "--daemon-endpoint") == 0 && i + 1 < argc)
            g_daemon_endpoint = argv[++i];
        else {
            fprintf(stderr, "usage: bench_streamd [--rate N] [--seconds S] [--no-ramp] "
                            "[--warmup S] [--daemon-endpoint URL]\n");
            return 2;
        }
    }
    if (rate < 1 || rate > 5000 || seconds < 1 || seconds > 600 || warmup < 0 || warmup > 600) {
        fprintf(stderr, "bench: --rate 1..5000, --seconds 1..600, --warmup 0..600\n");
        return 2;
    }
    g_endpoint = getenv("CRUDDUR_TEST_DDB_ENDPOINT");
    if (!g_endpoint || !*g_endpoint)
        g_endpoint = getenv("AWS_ENDPOINT_URL");
    if (!g_endpoint || strncmp(g_endpoint, "http://127.0.0.1:", 17) != 0) {
        fprintf(stderr, "bench: set CRUDDUR_TEST_DDB_ENDPOINT=http://127.0.0.1:PORT (a fresh "
                        "DynamoDB Local)\n");
        return 2;
    }
    snprintf(g_table, sizeof g_table, "bench-streamd-%04x", (unsigned)rnd_below(0x10000));
    for (int c = 0; c < BENCH_CHECKERS; c++)
        if (!(g_q[c] = calloc(BENCH_MAX_PENDING, sizeof *g_q[c])))
            return 1;
    g_delays = calloc(BENCH_MAX_PENDING, sizeof *g_delays);
    /* BENCH_STREAMD_TRACE=FILE: "group created_at put_done_us read_start_us read_end_us"
     * (wall clock) per propagated message, to set beside the daemon's record lines. */
    if (getenv("BENCH_STREAMD_CHECK_GAP_US"))
        g_check_gap_us = atol(getenv("BENCH_STREAMD_CHECK_GAP_US"));
    const char *trace = getenv("BENCH_STREAMD_TRACE");
    if (trace && *trace && !(g_trace = fopen(trace, "w"))) {
        perror(trace);
        return 1;
    }
    ddb *d = bench_ddb();
    if (!g_delays || setup_table(d) != 0)
        return 1;

    const char *bd = getenv("CR_BUILDDIR");
    char exe[1024], log[128];
    snprintf(exe, sizeof exe, "%s/src/streamd/cruddur-streamd", bd && *bd ? bd : ".");
    snprintf(log, sizeof log, "/tmp/%s.log", g_table);
    g_metrics_port = bench_free_port();
    pid_t daemon = fork();
    if (daemon == 0) {
        setenv("CRUDDUR_DDB_TABLE", g_table, 1);
        setenv("AWS_ENDPOINT_URL", g_daemon_endpoint ? g_daemon_endpoint : g_endpoint, 1);
        const char *lvl = getenv("BENCH_STREAMD_LOG_LEVEL"); /* info: a line per record */
        setenv("CRUDDUR_LOG_LEVEL", lvl && *lvl ? lvl : "warn", 1);
        char listen_at[32];
        snprintf(listen_at, sizeof listen_at, "127.0.0.1:%d", g_metrics_port);
        setenv("CRUDDUR_METRICS_LISTEN", listen_at, 1);
        if (!freopen(log, "a", stderr))
            _exit(127);
        execl(exe, "cruddur-streamd", (char *)NULL);
        _exit(127);
    }
    clock_sleep_ms(1500); /* lease table, first sync */
    printf("cruddur-streamd (CRUDDUR_POLL_MS default 250) on table %s; delay = PutItem "
           "returned -> both group rows show the message (polled by %d checker threads)\n",
           g_table, BENCH_CHECKERS);
    pthread_t wt[BENCH_WRITERS], ct[BENCH_CHECKERS];
    for (int i = 0; i < BENCH_CHECKERS; i++)
        pthread_create(&ct[i], NULL, checker, (void *)(intptr_t)i);
    for (int i = 0; i < BENCH_WRITERS; i++)
        pthread_create(&wt[i], NULL, writer, (void *)(intptr_t)i);
    if (warmup > 0)
        phase(rate, warmup, "warmup"); /* a fresh DynamoDB Local's JVM is cold: not counted */
    int shards = 0;
    long calls0 = bench_get_records(&shards);
    int64_t c0 = clock_mono_ms();
    long cpu0 = bench_cpu_ticks(daemon);
    pthread_mutex_lock(&g_mu);
    uint64_t w0 = g_written, q0 = g_queries, r0 = g_rounds;
    int64_t rs0 = g_round_us_sum;
    g_round_us_max = 0;
    pthread_mutex_unlock(&g_mu);
    bool ok = phase(rate, seconds, "steady");
    long calls1 = bench_get_records(&shards);
    long cpu1 = bench_cpu_ticks(daemon);
    double secs = (double)(clock_mono_ms() - c0) / 1000.0;
    pthread_mutex_lock(&g_mu);
    uint64_t written = g_written - w0, queries = g_queries - q0, rounds = g_rounds - r0;
    int64_t round_sum = g_round_us_sum - rs0, round_max = g_round_us_max;
    pthread_mutex_unlock(&g_mu);
    if (calls0 >= 0 && calls1 >= calls0 && shards > 0)
        printf("GetRecords: %.2f calls per shard per second during the steady phase (%d shard%s; "
               "AWS allows 5)\n",
               (double)(calls1 - calls0) / shards / secs, shards, shards == 1 ? "" : "s");
    else
        printf("GetRecords: the daemon's metrics could not be read\n");
    printf("checker: %d threads, %.0f BatchGetItem/s (each: both rows of every pending group "
           "of a thread, consistent), a round took %.1f ms on average, %.1f ms at most, one "
           "starts every %d ms at most: the resolution of the delays\n",
           BENCH_CHECKERS, (double)queries / secs,
           rounds ? (double)round_sum / (double)rounds / 1000.0 : 0.0, round_max / 1000.0,
           (int)(g_check_gap_us / 1000));
    if (cpu0 >= 0 && cpu1 >= cpu0) {
        double cpu_us = (double)(cpu1 - cpu0) * 1e6 / (double)sysconf(_SC_CLK_TCK);
        long calls = calls1 - calls0;
        printf("daemon CPU (%s): %.0f ms in the steady phase, %.0f us per message written, %.0f "
               "us per GetRecords call\n",
               g_daemon_endpoint ? g_daemon_endpoint : g_endpoint, cpu_us / 1000.0,
               written ? cpu_us / (double)written : 0.0, calls > 0 ? cpu_us / (double)calls : 0.0);
    }
    int best = ok ? rate : 0;
    if (ramp)
        for (int r = 100; r <= 800; r *= 2) {
            if (!phase(r, 10, "ramp"))
                break;
            best = r;
        }
    g_stop_writers = 1;
    for (int i = 0; i < BENCH_WRITERS; i++)
        pthread_join(wt[i], NULL);
    g_stop_checker = 1;
    for (int i = 0; i < BENCH_CHECKERS; i++)
        pthread_join(ct[i], NULL);
    printf("highest sustained rate tried: %d msg/s (p99 < 1 s, all propagated)\n", best);
    kill(daemon, SIGTERM);
    int st;
    waitpid(daemon, &st, 0);
    ddb_error err;
    ddb_error_clear(&err);
    ddb_delete_table(d, g_table, &err);
    char lt[96];
    snprintf(lt, sizeof lt, "%s-leases", g_table);
    ddb_delete_table(d, lt, &err);
    ddb_free(d);
    for (int c = 0; c < BENCH_CHECKERS; c++)
        free(g_q[c]);
    free(g_delays);
    if (g_trace)
        fclose(g_trace);
    return 0;
}
