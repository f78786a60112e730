/* support_server.c — the stand-ins and built binaries the live tests run (support_server.h). */
#include "config.h"
#include "support_server.h"

#include <check.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "aws/http.h"
#include "support_env.h"
#include "tap.h"

/* python3 path as a child with pipes on stdin (*to) and stdout (*from). pid, or -1. */
static pid_t support_server_python(const char *path, int *to, int *from)
{
    int in[2], out[2];
    if (pipe(in) != 0)
        return -1;
    if (pipe(out) != 0) {
        close(in[0]);
        close(in[1]);
        return -1;
    }
    pid_t pid = fork();
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        close(in[0]);
        close(in[1]);
        close(out[0]);
        close(out[1]);
        execlp("python3", "python3", path, (char *)NULL);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    if (pid < 0) {
        close(in[1]);
        close(out[0]);
        return -1;
    }
    *to = in[1];
    *from = out[0];
    return pid;
}

int support_server_start(support_server *s, const char *script_rel)
{
    const char *src = getenv("CR_SRCDIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", src && *src ? src : CR_SRCDIR, script_rel);
    int to, from;
    pid_t pid = support_server_python(path, &to, &from);
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
    s->port = (int)strtol(line, NULL, 10); /* test code: the line is ours */
    return s->port > 0 ? 0 : -1;
}

void support_server_stop(support_server *s)
{
    if (s->pid <= 0)
        return;
    close(s->stdin_fd);
    kill(s->pid, SIGTERM);
    waitpid(s->pid, NULL, 0);
    s->pid = 0;
}

json_t *support_server_ctl(int port, const char *name, json_t *body)
{
    char url[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/_control/%s", port, name);
    errinfo e;
    http *h = http_new(NULL, &e);
    ck_assert_msg(h != NULL, "http_new: %s", e.msg);
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    const char *const hdr[] = { "Content-Type: application/json", NULL };
    http_response r;
    http_response_init(&r);
    int rc =
        http_request(h, text ? "POST" : "GET", url, hdr, text, text ? strlen(text) : 0, &r, &e);
    ck_assert_msg(rc == 0, "control %s: %s", name, e.msg);
    ck_assert_msg(r.status == 200, "control %s: %ld %s", name, r.status, buf_cstr(&r.body));
    json_error_t je;
    json_t *out = json_loadb(r.body.data, r.body.len, 0, &je);
    ck_assert_msg(out != NULL, "control %s: %s", name, je.text);
    free(text);
    http_response_cleanup(&r);
    http_free(h);
    return out;
}

int support_server_main(support_server *s, const char *script_rel, const char *const *env,
                        Suite *(*suite)(void))
{
    support_env_apply(env);
    if (support_server_start(s, script_rel) != 0) {
        fprintf(stderr, "cannot start %s (python3 missing?)\n", script_rel);
        return 1;
    }
    int rc = tap_run(suite());
    support_server_stop(s);
    return rc;
}

void support_server_bin(const char *rel, char *out, size_t n)
{
    const char *bd = getenv("CR_BUILDDIR");
    snprintf(out, n, "%s/%s", bd && *bd ? bd : ".", rel);
}

pid_t support_server_spawn(const char *rel, const char *argv0, const char *const *env,
                           const char *log_path, const char *const *args)
{
    char path[1024];
    support_server_bin(rel, path, sizeof path);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        support_env_apply(env);
        int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 2);
            close(fd);
        }
        int nul = open("/dev/null", O_RDWR);
        if (nul >= 0) {
            dup2(nul, 0);
            dup2(nul, 1);
            close(nul);
        }
        const char *argv[16] = { argv0 };
        for (size_t i = 0; args && args[i] && i + 2 < sizeof argv / sizeof *argv; i++)
            argv[i + 1] = args[i];
        execv(path, (char *const *)argv);
        _exit(127);
    }
    return pid;
}

int support_server_wait(pid_t pid, long timeout_ms)
{
    for (long waited = 0; waited <= timeout_ms; waited += 20) {
        int st;
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        support_server_sleep_ms(20);
    }
    return -1;
}

void support_server_sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0)
        ;
}
