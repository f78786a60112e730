/* cli_run.h — runs the built `cruddur` binary as a user would, capturing its output and
 * exit status, for the live CLI tests. Test code: failures are Check assertions. */
#ifndef CR_TEST_CLI_RUN_H
#define CR_TEST_CLI_RUN_H

#include <check.h>
#include <jansson.h>

#include "base/buf.h"

/* What one run gave; caller-owned, released with cli_result_cleanup. */
typedef struct cli_result {
    int status; /* exit status, or 128 + signal */
    buf out;
    buf err;
} cli_result;

void cli_result_cleanup(cli_result *r);

/* Runs `cruddur ARGS...` (NULL-terminated) with env changes ("NAME=value" sets,
 * "NAME=" unsets; NULL-terminated list, may be NULL) and stdin_text (NULL: /dev/null).
 * The binary is $CR_BUILDDIR/src/cli/cruddur (the harness sets CR_BUILDDIR). */
void cli_runv(cli_result *r, const char *const *env, const char *stdin_text,
              const char *const *args);

/* The lines of b (say a --json output) as a new array of JSON objects; a line that is not
 * one is a Check assertion. */
json_t *cli_json_lines(const buf *b);

/* cli_run(&r, env, stdin_text, "ddb", "scan", NULL) */
#define cli_run(r, env, stdin_text, ...)                                                           \
    cli_runv((r), (env), (stdin_text), (const char *const[]){ __VA_ARGS__ })

/* Asserts the exit status, showing stderr when it differs. */
#define cli_assert_status(r, want)                                                                 \
    ck_assert_msg((r)->status == (want), "exit %d, want %d; stderr: %s; stdout: %.400s",           \
                  (r)->status, (want), buf_cstr(&(r)->err), buf_cstr(&(r)->out))

#endif
