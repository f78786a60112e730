/* cli_run.h — runs the built `cruddur` binary as a user would, capturing its output and
 * exit status, for the live CLI tests. Header-only. */
#ifndef CR_TEST_CLI_RUN_H
#define CR_TEST_CLI_RUN_H

#include <check.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/buf.h"
#include "live.h"

typedef struct cli_result {
    int status;   /* exit status, or 128 + signal */
    buf out;
    buf err;
} cli_result;

static inline void cli_result_cleanup(cli_result *r)
{
    buf_cleanup(&r->out);
    buf_cleanup(&r->err);
}

/* Runs `cruddur ARGS...` (NULL-terminated) with env changes ("NAME=value" sets,
 * "NAME=" unsets; NULL-terminated list, may be NULL) and stdin_text (NULL: /dev/null).
 * The binary is $CR_BUILDDIR/src/cli/cruddur (the harness sets CR_BUILDDIR). */
static inline void cli_runv(cli_result *r, const char *const *env, const char *stdin_text,
                            const char *const *args)
{
    const char *bd = getenv("CR_BUILDDIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/src/cli/cruddur", bd && *bd ? bd : ".");
    buf_init(&r->out, 64 << 20);
    buf_init(&r->err, 1 << 20);
    int in[2], out[2], err[2];
    ck_assert(pipe(in) == 0 && pipe(out) == 0 && pipe(err) == 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        dup2(err[1], 2);
        close(in[0]); close(in[1]); close(out[0]); close(out[1]); close(err[0]); close(err[1]);
        live_setenv_list(env);
        const char *argv[64] = { "cruddur" };
        size_t i = 1;
        for (; args[i - 1] && i < 63; i++)
            argv[i] = args[i - 1];
        argv[i] = NULL;
        execv(path, (char *const *)argv);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    close(err[1]);
    if (stdin_text) {
        ssize_t w = write(in[1], stdin_text, strlen(stdin_text));
        (void)w;
    }
    close(in[1]);
    struct pollfd p[2] = { { out[0], POLLIN, 0 }, { err[0], POLLIN, 0 } };
    buf *dst[2] = { &r->out, &r->err };
    int open_fds = 2;
    while (open_fds > 0) {
        if (poll(p, 2, 120000) <= 0)
            break;
        for (int k = 0; k < 2; k++) {
            if (p[k].fd < 0 || !(p[k].revents & (POLLIN | POLLHUP)))
                continue;
            char chunk[8192];
            ssize_t n = read(p[k].fd, chunk, sizeof chunk);
            if (n <= 0) {
                close(p[k].fd);
                p[k].fd = -1;
                open_fds--;
            } else {
                buf_append(dst[k], chunk, (size_t)n);
            }
        }
    }
    int st = 0;
    waitpid(pid, &st, 0);
    r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* cli_run(&r, env, stdin_text, "ddb", "scan", NULL) */
#define cli_run(r, env, stdin_text, ...)                                                       \
    cli_runv((r), (env), (stdin_text), (const char *const[]){ __VA_ARGS__ })

/* Asserts the exit status, showing stderr when it differs. */
#define cli_assert_status(r, want)                                                             \
    ck_assert_msg((r)->status == (want), "exit %d, want %d; stderr: %s; stdout: %.400s",       \
                  (r)->status, (want), buf_cstr(&(r)->err), buf_cstr(&(r)->out))

#endif
