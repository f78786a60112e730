/* standin.h — a Python stand-in server of tests/tools/ as a child with a command pipe, for the
 * live tests (through tests/live/live.h; the unit tests use the C servers of tests/support/
 * instead): its first stdout line is its port; then one command line in, one answer line
 * out. Test code: failures are Check assertions, but for standin_spawn. */
#ifndef CR_TEST_STANDIN_H
#define CR_TEST_STANDIN_H

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct standin {
    pid_t pid;
    FILE *in;  /* commands */
    FILE *out; /* answers */
    int port;
} standin;

/* Runs python3 path with args (NULL-terminated, at most 6) as a child whose stdin and
 * stdout are pipes: *to the write end of its stdin, *from the read end of its stdout. The
 * pid, or -1. No Check assertions: live tests use it from their set-up too. */
static inline pid_t standin_spawn(const char *path, const char *const *args, int *to, int *from)
{
    const char *argv[10] = { "python3", path };
    int n = 2;
    for (; args && args[n - 2] && n < 8; n++)
        argv[n] = args[n - 2];
    argv[n] = NULL;
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
        execvp("python3", (char *const *)argv);
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

/* Starts python3 tests/tools/<script> with args (NULL-terminated, at most 6) and reads its
 * port. */
static inline void standin_start(standin *s, const char *script, const char *const *args)
{
    const char *src = getenv("CR_SRCDIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/tools/%s", src && *src ? src : CR_SRCDIR, script);
    int to, from;
    pid_t pid = standin_spawn(path, args, &to, &from);
    ck_assert_int_ge(pid, 0);
    s->pid = pid;
    s->in = fdopen(to, "w");
    s->out = fdopen(from, "r");
    char line[64];
    ck_assert_msg(s->in && s->out && fgets(line, sizeof line, s->out),
                  "%s did not start (python3 and %s needed)", script, path);
    s->port = (int)strtol(line, NULL, 10);
    ck_assert_int_gt(s->port, 0);
}

/* Sends one command line and returns its answer, newline cut (static storage). */
static inline const char *standin_cmd(standin *s, const char *cmd)
{
    static char line[160];
    ck_assert(fprintf(s->in, "%s\n", cmd) > 0 && fflush(s->in) == 0);
    ck_assert_ptr_nonnull(fgets(line, sizeof line, s->out));
    line[strcspn(line, "\n")] = '\0';
    return line;
}

/* The answer to "count" ("count N"): N. */
static inline long standin_count(standin *s)
{
    const char *a = standin_cmd(s, "count");
    ck_assert_msg(strncmp(a, "count ", 6) == 0, "answer %s", a);
    return strtol(a + 6, NULL, 10);
}

static inline void standin_stop(standin *s)
{
    if (s->pid <= 0)
        return;
    fclose(s->in);
    fclose(s->out);
    kill(s->pid, SIGTERM);
    waitpid(s->pid, NULL, 0);
    s->pid = 0;
}

#endif
