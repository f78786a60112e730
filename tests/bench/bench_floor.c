/* bench_floor.c — the floor of this architecture for tests/bench/api/run: a minimal FastCGI
 * responder (libfcgi, as cruddur-api uses it) that answers every request with one fixed JSON
 * body, so nginx + FastCGI cost per request can be measured in the same run as the API.
 *
 *   bench_floor ANSWER_FILE SOCKET_PATH WORKERS [MAX_SECONDS]
 *
 * Reads ANSWER_FILE (the API's own answer to the read being measured, at most 1 MiB), listens
 * on the unix socket SOCKET_PATH, forks WORKERS (1..64) processes that accept and answer
 * "200, application/json, the file" to every request, and exits after MAX_SECONDS (default
 * 3600) or on SIGTERM, taking the workers with it. */
#include "config.h"

#include <errno.h>
#include <fcgiapp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char *g_body;
static size_t g_len;

static int serve(int sock)
{
    FCGX_Request r;
    if (FCGX_InitRequest(&r, sock, 0) != 0)
        return 1;
    char head[256];
    int hl = snprintf(head, sizeof head,
                      "Status: 200 OK\r\nContent-Type: application/json\r\n"
                      "Content-Length: %zu\r\n\r\n",
                      g_len);
    while (FCGX_Accept_r(&r) >= 0) {
        FCGX_PutStr(head, hl, r.out);
        FCGX_PutStr(g_body, (int)g_len, r.out);
        FCGX_Finish_r(&r);
    }
    return 0;
}

static void stop(int sig)
{
    (void)sig;
    kill(0, SIGTERM);
    _exit(0);
}

int main(int argc, char **argv)
{
    if (argc < 4 || argc > 5) {
        fprintf(stderr, "usage: bench_floor ANSWER_FILE SOCKET_PATH WORKERS [MAX_SECONDS]\n");
        return 2;
    }
    int workers = atoi(argv[3]);
    int max_s = argc > 4 ? atoi(argv[4]) : 3600;
    if (workers < 1 || workers > 64 || max_s < 1) {
        fprintf(stderr, "bench_floor: 1..64 workers\n");
        return 2;
    }
    FILE *f = fopen(argv[1], "rb");
    if (!f) {
        perror(argv[1]);
        return 1;
    }
    g_body = malloc(1 << 20);
    g_len = g_body ? fread(g_body, 1, 1 << 20, f) : 0;
    fclose(f);
    if (g_len == 0) {
        fprintf(stderr, "bench_floor: %s is empty or unreadable\n", argv[1]);
        return 1;
    }
    if (FCGX_Init() != 0)
        return 1;
    unlink(argv[2]);
    int sock = FCGX_OpenSocket(argv[2], 128);
    if (sock < 0) {
        fprintf(stderr, "bench_floor: cannot listen on %s\n", argv[2]);
        return 1;
    }
    chmod(argv[2], 0666);
    setpgid(0, 0);
    for (int i = 0; i < workers; i++) {
        pid_t p = fork();
        if (p == 0) {
            signal(SIGTERM, SIG_DFL);
            return serve(sock);
        }
        if (p < 0) {
            perror("fork");
            return 1;
        }
    }
    signal(SIGTERM, stop);
    signal(SIGALRM, stop);
    alarm((unsigned)max_s);
    while (wait(NULL) > 0 || errno == EINTR)
        ;
    return 0;
}
