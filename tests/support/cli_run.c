/* cli_run.c — the built `cruddur` binary run as a user would (cli_run.h). */
#include "config.h"
#include "cli_run.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support_env.h"
#include "support_server.h"

void cli_result_cleanup(cli_result *r)
{
    buf_cleanup(&r->out);
    buf_cleanup(&r->err);
}

void cli_runv(cli_result *r, const char *const *env, const char *stdin_text,
              const char *const *args)
{
    char path[1024];
    support_server_bin("src/cli/cruddur", path, sizeof path);
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
        close(in[0]);
        close(in[1]);
        close(out[0]);
        close(out[1]);
        close(err[0]);
        close(err[1]);
        support_env_apply(env);
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

json_t *cli_json_lines(const buf *b)
{
    json_t *all = json_array();
    const char *p = buf_cstr(b);
    while (*p) {
        size_t n = strcspn(p, "\n");
        json_error_t je;
        json_t *v = json_loadb(p, n, 0, &je);
        ck_assert_msg(json_is_object(v), "not a JSON object: %.*s (%s)", (int)n, p, je.text);
        json_array_append_new(all, v);
        p += n + (p[n] == '\n');
    }
    return all;
}
