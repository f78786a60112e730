/* support_server.h — the servers a live test runs as its children: the Python stand-ins of
 * tests/tools/ (a script printing its port on its first stdout line, stopped by closing its
 * stdin and SIGTERM) with their HTTP control API, and the built binaries of src/ started in
 * the background with env changes and a log file. Test code: failures are Check assertions,
 * but for support_server_start (usable from a program's main before any test case). */
#ifndef CR_TEST_SUPPORT_SERVER_H
#define CR_TEST_SUPPORT_SERVER_H

#include <stddef.h>
#include <sys/types.h>

#include <check.h>
#include <jansson.h>

/* A running stand-in; zero-initialised means none. */
typedef struct support_server {
    pid_t pid;
    int stdin_fd;
    int port;
} support_server;

/* Starts python3 <CR_SRCDIR>/<script_rel> and reads its port. 0, or -1 (python3 or the
 * script missing, no port line). No Check assertions. */
int support_server_start(support_server *s, const char *script_rel);
/* Stops and reaps it; s->pid 0 after. Accepts a server that never started. */
void support_server_stop(support_server *s);
/* One control call to the stand-in on port (tests/tools/streams_server.py,
 * gsi_lag_proxy.py): POST /_control/<name> with body (stolen; NULL: GET). Asserts 200 and
 * a JSON answer, which it returns (caller frees). */
json_t *support_server_ctl(int port, const char *name, json_t *body);

/* The whole main() of a live test around one stand-in: the env changes (may be NULL)
 * applied, script_rel started into *s (when it does not start: a line on stderr and 1), the
 * suite made and run (tap.h), the stand-in stopped. The exit status. */
int support_server_main(support_server *s, const char *script_rel, const char *const *env,
                        Suite *(*suite)(void));

/* The path of built binary rel (e.g. "src/streamd/cruddur-streamd") under $CR_BUILDDIR
 * (the harness sets it; "." without it) into out (n bytes). */
void support_server_bin(const char *rel, char *out, size_t n);
/* Starts built binary rel as argv0 with args (NULL-terminated, at most 14; may be NULL),
 * after the env changes (support_env.h lists; may be NULL); stdin and stdout /dev/null,
 * stderr appended to log_path. The pid (fork asserted). */
pid_t support_server_spawn(const char *rel, const char *argv0, const char *const *env,
                           const char *log_path, const char *const *args);
/* Waits for our child pid up to timeout_ms: its exit status (128 + signal), or -1 on
 * timeout (the child left running). */
int support_server_wait(pid_t pid, long timeout_ms);
/* Sleeps ms milliseconds (through signals). */
void support_server_sleep_ms(long ms);

#endif
