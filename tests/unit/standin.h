/* standin.h — a Python stand-in server of tests/tools/ (jwks_server.py, tls_server.py) as
 * a child with a command pipe: its first stdout line is its port; then one command line in,
 * one answer line out. Test code: failures are Check assertions. */
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
    FILE *in;   /* commands */
    FILE *out;  /* answers */
    int port;
} standin;

/* Starts python3 tests/tools/<script> with args (NULL-terminated, at most 6) and reads its
 * port. */
static inline void standin_start(standin *s, const char *script, const char *const *args)
{
    const char *src = getenv("CR_SRCDIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/tools/%s", src && *src ? src : CR_SRCDIR, script);
    const char *argv[10] = { "python3", path };
    int n = 2;
    for (; args && args[n - 2] && n < 8; n++)
        argv[n] = args[n - 2];
    argv[n] = NULL;
    int in[2], out[2];
    ck_assert(pipe(in) == 0 && pipe(out) == 0);
    pid_t pid = fork();
    ck_assert(pid >= 0);
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
    s->pid = pid;
    s->in = fdopen(in[1], "w");
    s->out = fdopen(out[0], "r");
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
