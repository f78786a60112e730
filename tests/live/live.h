/* live.h — helpers for the live tests: where the servers are, local stand-in servers, and
 * unique names so runs never collide. Header-only; each live test is one program. */
#ifndef CR_TEST_LIVE_H
#define CR_TEST_LIVE_H

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/rnd.h"
#include "standin.h"

/* The DynamoDB Local endpoint from CRUDDUR_TEST_DDB_ENDPOINT. Without it the program
 * exits 77 (skip) — unless CRUDDUR_LIVE=1, where a missing server is a failure. */
static inline const char *live_ddb_endpoint(void)
{
    const char *ep = getenv("CRUDDUR_TEST_DDB_ENDPOINT");
    if (ep && *ep)
        return ep;
    const char *live = getenv("CRUDDUR_LIVE");
    if (live && strcmp(live, "1") == 0) {
        fprintf(stderr, "CRUDDUR_LIVE=1 but CRUDDUR_TEST_DDB_ENDPOINT is not set\n");
        exit(1);
    }
    printf("1..0 # SKIP CRUDDUR_TEST_DDB_ENDPOINT not set (script/test sets it)\n");
    exit(77);
}

/* Applies env changes in a child before exec: "NAME=value" sets, "NAME=" unsets
 * (NULL-terminated list, may be NULL). */
static inline void live_setenv_list(const char *const *env)
{
    for (const char *const *e = env; e && *e; e++) {
        char name[256];
        const char *eq = strchr(*e, '=');
        size_t n = eq ? (size_t)(eq - *e) : strlen(*e);
        snprintf(name, sizeof name, "%.*s", (int)n, *e);
        if (eq && eq[1])
            setenv(name, eq + 1, 1);
        else
            unsetenv(name);
    }
}

/* "<prefix>-<12 random hex>" into out (64 bytes). */
static inline void live_name(const char *prefix, char out[64])
{
    char u[UUID_BUF];
    rnd_uuid4(u);
    snprintf(out, 64, "%s-%.8s%.4s", prefix, u, u + 9);
}

/* A local stand-in server (python3 script printing its port on its first line). */
typedef struct live_server {
    pid_t pid;
    int stdin_fd;
    int port;
} live_server;

static inline int live_server_start(live_server *s, const char *script_rel)
{
    const char *src = getenv("CR_SRCDIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", src && *src ? src : CR_SRCDIR, script_rel);
    int to, from;
    pid_t pid = standin_spawn(path, NULL, &to, &from);
    if (pid < 0)
        return -1;
    char line[32] = { 0 };
    size_t n = 0;
    while (n < sizeof line - 1) {
        ssize_t r = read(from, line + n, 1);
        if (r <= 0 || line[n] == '\n')
            break;
        n++;
    }
    close(from);
    s->pid = pid;
    s->stdin_fd = to;
    s->port = atoi(line); /* test code: the line is ours */
    return s->port > 0 ? 0 : -1;
}

static inline void live_server_stop(live_server *s)
{
    if (s->pid <= 0)
        return;
    close(s->stdin_fd);
    kill(s->pid, SIGTERM);
    waitpid(s->pid, NULL, 0);
    s->pid = 0;
}

#endif
