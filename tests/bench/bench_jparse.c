/* bench_jparse.c — µs per parse of a synthetic 8 KB DynamoDB Query response (20 items × 7
 * string attributes), jparse next to Jansson's json_loadb, best of 5 rounds.
 *
 * usage: bench_jparse [parses per round]    (default 20000) */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "base/buf.h"
#include "base/jparse.h"

#define BENCH_ROUNDS 5

static double bench_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int bench_response(buf *b)
{
    buf_append_str(b, "{\"Count\":20,\"Items\":[");
    for (int i = 0; i < 20; i++) {
        buf_printf(b,
                   "%s{\"message\":{\"S\":\"benchmark message number %d with a little text in "
                   "it, and a caf\\u00e9 \xe2\x98\x95\"},"
                   "\"user_handle\":{\"S\":\"andrewbrown\"},"
                   "\"user_display_name\":{\"S\":\"Andrew Brown\"},"
                   "\"sk\":{\"S\":\"2026-11-21T09:30:%02d.000000+00:00\"},"
                   "\"message_uuid\":{\"S\":\"5ae290ed-55d1-47a0-bc6d-fe2bc27003%02d\"},"
                   "\"pk\":{\"S\":\"MSG#5ae290ed-55d1-47a0-bc6d-fe2bc2700399\"},"
                   "\"user_uuid\":{\"S\":\"90324830-2948-4230-9484-23424ab30924\"}}",
                   i ? "," : "", i, i, i);
    }
    buf_append_str(b, "],\"ScannedCount\":20,\"LastEvaluatedKey\":{\"pk\":{\"S\":\"MSG#5ae290ed-"
                      "55d1-47a0-bc6d-fe2bc2700399\"},\"sk\":{\"S\":\"2026-11-21T09:30:19.000000"
                      "+00:00\"}},\"ConsumedCapacity\":{\"TableName\":\"cruddur-messages\","
                      "\"CapacityUnits\":1.5}}");
    return b->failed ? -1 : 0;
}

int main(int argc, char **argv)
{
    long iters = argc > 1 ? strtol(argv[1], NULL, 10) : 20000;
    if (iters < 1)
        iters = 1;
    buf b;
    buf_init(&b, 1 << 20);
    if (bench_response(&b) != 0)
        return 1;
    const char *text = buf_cstr(&b);
    size_t n = b.len;

    errinfo e;
    json_t *a = jparse(text, n, 64, &e), *j = json_loadb(text, n, JSON_DECODE_ANY, NULL);
    if (!a || !j || !json_equal(a, j)) {
        fprintf(stderr, "bench_jparse: parsers disagree (%s)\n", a ? "values" : e.msg);
        return 1;
    }
    json_decref(a);
    json_decref(j);

    double best_jp = 1e300, best_jl = 1e300;
    for (int r = 0; r < BENCH_ROUNDS; r++) {
        double t0 = bench_now_us();
        for (long i = 0; i < iters; i++)
            json_decref(jparse(text, n, 64, NULL));
        double t1 = bench_now_us();
        for (long i = 0; i < iters; i++)
            json_decref(json_loadb(text, n, JSON_DECODE_ANY, NULL));
        double t2 = bench_now_us();
        if ((t1 - t0) / (double)iters < best_jp)
            best_jp = (t1 - t0) / (double)iters;
        if ((t2 - t1) / (double)iters < best_jl)
            best_jl = (t2 - t1) / (double)iters;
    }
    printf("input: %zu bytes, %ld parses x %d rounds (best round, parse + json_decref)\n", n, iters,
           BENCH_ROUNDS);
    printf("jparse:     %8.2f us/parse\n", best_jp);
    printf("json_loadb: %8.2f us/parse\n", best_jl);
    printf("speed-up:   %8.2fx\n", best_jl / best_jp);
    buf_cleanup(&b);
    return 0;
}
