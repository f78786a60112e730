/* live_health.c — the deep health check cannot tie up the API: cruddur-api (two workers)
 * with DynamoDB at an endpoint that accepts connections and never answers (a listening
 * socket nobody accepts from: the kernel completes the handshake, no byte ever comes
 * back). Deep checks answer 503 within about a second, a plain request sent behind a burst
 * of them is not kept waiting longer than about a second, and a second burst is answered
 * from the cache without asking DynamoDB again. Straight over FastCGI (no REMOTE_ADDR: a
 * caller on the socket itself, which the deep check admits). */
#include "config.h"

#include <netinet/in.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "stack.h"

#define HEALTH_BURST 6

static stack_api g_api;
static int g_hole = -1; /* the endpoint that never answers */
static int g_hole_port;

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* n children, each one deep check; their pids into pids. Each exits 0 when it got a 503
 * within 3 s, 1 otherwise. */
static void burst(pid_t *pids, int n)
{
    for (int i = 0; i < n; i++) {
        pids[i] = fork();
        ck_assert_int_ge(pids[i], 0);
        if (pids[i] == 0) {
            buf out;
            buf_init(&out, 0);
            long t0 = now_ms();
            int st = stack_fcgi(&g_api, "GET", "/api/health-check?deep=1", "", 0, &out);
            _exit(st == 503 && now_ms() - t0 < 3000 && strstr(buf_cstr(&out), "unreachable") ? 0
                                                                                             : 1);
        }
    }
}

static int reap(pid_t *pids, int n)
{
    int bad = 0;
    for (int i = 0; i < n; i++) {
        int status = 0;
        if (waitpid(pids[i], &status, 0) != pids[i] || !WIFEXITED(status) ||
            WEXITSTATUS(status) != 0)
            bad++;
    }
    return bad;
}

START_TEST(test_deep_checks_do_not_hold_the_workers)
{
    pid_t pids[HEALTH_BURST];
    burst(pids, HEALTH_BURST);
    stack_sleep_ms(100); /* the burst has both workers now */
    buf out;
    buf_init(&out, 0);
    long t0 = now_ms();
    int st = stack_fcgi(&g_api, "GET", "/api/health-check", "", 0, &out);
    long waited = now_ms() - t0;
    ck_assert_int_eq(st, 200);
    ck_assert_msg(waited < 1500, "a plain health check waited %ld ms behind deep ones", waited);
    ck_assert_int_eq(reap(pids, HEALTH_BURST), 0);

    /* Within CRUDDUR_HEALTH_CACHE_MS every worker answers from its cache, at once. */
    t0 = now_ms();
    for (int i = 0; i < 4; i++) {
        buf_reset(&out);
        st = stack_fcgi(&g_api, "GET", "/api/health-check?deep=1", "", 0, &out);
        ck_assert_int_eq(st, 503);
    }
    waited = now_ms() - t0;
    ck_assert_msg(waited < 500, "4 cached deep checks took %ld ms", waited);
    buf_cleanup(&out);
}
END_TEST

static int setup(void)
{
    if (stack_init("live_health") != 0)
        return -1;
    g_hole = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof a;
    if (g_hole < 0 || bind(g_hole, (struct sockaddr *)&a, sizeof a) != 0 ||
        listen(g_hole, 64) != 0 || getsockname(g_hole, (struct sockaddr *)&a, &len) != 0)
        return -1;
    g_hole_port = ntohs(a.sin_port);
    char ep[64];
    snprintf(ep, sizeof ep, "AWS_ENDPOINT_URL=http://127.0.0.1:%d", g_hole_port);
    const char *env[] = { ep, "CRUDDUR_HEALTH_CACHE_MS=20000", NULL };
    return stack_api_start(&g_api, STACK_UNIX, "api-hole", 2, env);
}

static void teardown(void)
{
    stack_stop(&g_api.pid, SIGTERM);
    if (g_hole >= 0)
        close(g_hole);
    stack_cleanup();
}

static Suite *suite(void)
{
    Suite *s = suite_create("health");
    TCase *tc = tcase_create("deep");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_deep_checks_do_not_hold_the_workers);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return stack_main("live_health", setup, teardown, suite);
}
