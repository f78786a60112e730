/* bench_delay.c — a loopback TCP proxy that adds a fixed delay to every byte each way, for
 * the latency points of tests/bench/api/run: what the API gives when DynamoDB is a few
 * milliseconds away, as it is in production.
 *
 *   bench_delay LISTEN_PORT TARGET_PORT DELAY_MS [MAX_CONNECTIONS] [MAX_SECONDS]
 *
 * Listens on 127.0.0.1:LISTEN_PORT and connects each client to 127.0.0.1:TARGET_PORT; only
 * loopback, both ends. Bytes read at time t are written at t + DELAY_MS (so a request and
 * its answer each pay DELAY_MS, and bytes arriving together leave together: the delay does
 * not add up over the chunks of one message). Bounded: at most MAX_CONNECTIONS (default 256)
 * at once, and the process exits after MAX_SECONDS (default 3600). Two threads per
 * connection, one per direction. Prints "ready" on stdout once it listens. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static long g_delay_ms;
static atomic_int g_conns;
static int g_target_port;

typedef struct pipe_end {
    int from, to;
    struct pipe_end *peer;
    atomic_int *refs;
} pipe_end;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void sleep_until(int64_t t)
{
    struct timespec ts = { .tv_sec = (time_t)(t / 1000000000), .tv_nsec = (long)(t % 1000000000) };
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
        ;
}

static bool write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        p += w;
        n -= (size_t)w;
    }
    return true;
}

/* One direction: read, hold until DELAY_MS after the read, write. */
static void *pump(void *arg)
{
    pipe_end *pe = arg;
    char buf[65536];
    for (;;) {
        ssize_t r = recv(pe->from, buf, sizeof buf, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        sleep_until(now_ns() + g_delay_ms * 1000000);
        if (!write_all(pe->to, buf, (size_t)r))
            break;
    }
    shutdown(pe->to, SHUT_WR);
    shutdown(pe->from, SHUT_RD);
    if (atomic_fetch_sub(pe->refs, 1) == 1) {
        close(pe->from);
        close(pe->to);
        free(pe->refs);
        free(pe->peer < pe ? pe->peer : pe);
        atomic_fetch_sub(&g_conns, 1);
    }
    return NULL;
}

static int connect_target(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)g_target_port) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

int main(int argc, char **argv)
{
    if (argc < 4 || argc > 6) {
        fprintf(stderr, "usage: bench_delay LISTEN_PORT TARGET_PORT DELAY_MS [MAX_CONNECTIONS] "
                        "[MAX_SECONDS]\n");
        return 2;
    }
    int port = atoi(argv[1]);
    g_target_port = atoi(argv[2]);
    g_delay_ms = atol(argv[3]);
    int max_conns = argc > 4 ? atoi(argv[4]) : 256;
    int max_s = argc > 5 ? atoi(argv[5]) : 3600;
    if (port < 1 || port > 65535 || g_target_port < 1 || g_target_port > 65535 || g_delay_ms < 0 ||
        g_delay_ms > 1000 || max_conns < 1 || max_conns > 4096 || max_s < 1) {
        fprintf(stderr, "bench_delay: ports 1..65535, delay 0..1000 ms, 1..4096 connections\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    alarm((unsigned)max_s); /* the bound in time: SIGALRM ends the process */
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (ls < 0 || bind(ls, (struct sockaddr *)&a, sizeof a) != 0 || listen(ls, 256) != 0) {
        perror("bench_delay: listen");
        return 1;
    }
    printf("ready\n");
    fflush(stdout);
    for (;;) {
        int c = accept(ls, NULL, NULL);
        if (c < 0) {
            if (errno == EINTR)
                continue;
            perror("bench_delay: accept");
            return 1;
        }
        if (atomic_load(&g_conns) >= max_conns) {
            close(c);
            continue;
        }
        setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        int t = connect_target();
        if (t < 0) {
            close(c);
            continue;
        }
        pipe_end *pe = calloc(2, sizeof *pe);
        atomic_int *refs = malloc(sizeof *refs);
        if (!pe || !refs) {
            free(pe);
            free(refs);
            close(c);
            close(t);
            continue;
        }
        atomic_init(refs, 2);
        pe[0] = (pipe_end){ .from = c, .to = t, .peer = &pe[1], .refs = refs };
        pe[1] = (pipe_end){ .from = t, .to = c, .peer = &pe[0], .refs = refs };
        atomic_fetch_add(&g_conns, 1);
        pthread_attr_t at;
        pthread_attr_init(&at);
        pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
        pthread_attr_setstacksize(&at, 256 * 1024);
        pthread_t th;
        if (pthread_create(&th, &at, pump, &pe[0]) != 0 ||
            pthread_create(&th, &at, pump, &pe[1]) != 0) {
            fprintf(stderr, "bench_delay: no thread\n");
            return 1;
        }
        pthread_attr_destroy(&at);
    }
}
