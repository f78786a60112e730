/* stack.h — the API stack for live tests that go through nginx: a temporary
 * folder, a DynamoDB table with the real schema, a PostgreSQL database with users and their
 * Cognito subs, a dev signing key with a token per user, cruddur-api processes (unix socket,
 * TCP, an inherited socket on fd 0 or systemd's fd 3) and nginx instances rendered from
 * nginx/cruddur-api.conf; plus HTTP (libcurl), a minimal FastCGI client and main(). Test
 * code: failures are Check assertions or -1 from the set-up functions. */
#ifndef CR_TEST_STACK_H
#define CR_TEST_STACK_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <check.h>
#include <jansson.h>

#include "aws/ddb.h"
#include "base/buf.h"
#include "users/users.h"

#define STACK_USERS 24 /* handles mira, tomasz, u0 .. u21 */
#define STACK_POOL_ID "us-east-1_StackTest"
#define STACK_CLIENT_ID "stackclient"
#define STACK_FRONTEND_URL "http://localhost:3000" /* FRONTEND_URL: the CORS origin */
#define STACK_TOKEN_BUF 2048                       /* one token of stack_make_tokens */

typedef struct stack {
    char dir[256]; /* temporary folder (removed unless LIVE_API_KEEP) */
    char table[64];
    char db[64];
    char pg_url[4096]; /* conninfo of the test database */
    char keydir[300];  /* devkey folder; jwks at keydir/jwks.json */
    char issuer[256];
    char builddir[1024];
    user users[STACK_USERS];
    char tokens[STACK_USERS][STACK_TOKEN_BUF];
    ddb *ddb; /* a client for the test's own checks */
} stack;

extern stack g_stack;

/* Everything above; 0, or -1 with the reason on stderr. stack_cleanup removes it all
 * (safe after a partial stack_init). */
int stack_init(const char *name);
void stack_cleanup(void);

/* The pieces of stack_init (with live_make_table), for live tests with their own layout
 * (live_api_handlers). Each returns 0, or -1 with the reason in err (errlen bytes). */
/* Database db (its conninfo url) on CONNECTION_URL's server with sql/schema.sql, the seed
 * and users u0 .. u<n-3>; users[0 .. n) are mira, tomasz, u0 .. each with a fresh Cognito
 * sub. */
int stack_make_db(const char *db, const char *url, user *users, int n, char *err, size_t errlen);
/* A dev signing key generated in keydir and a token per user (issuer: pool's, audience
 * client, 1 h) into tokens[i]; the issuer into issuer (issuer_len bytes). */
int stack_make_tokens(const char *keydir, const char *pool, const char *client, const user *users,
                      int n, char (*tokens)[STACK_TOKEN_BUF], char *issuer, size_t issuer_len,
                      char *err, size_t errlen);
/* Drops database db and table (on d), each when given (NULL or ""); failures are lines
 * "# cleanup of ..." on stderr. */
void stack_drop(const char *db, ddb *d, const char *table);

typedef enum stack_listen {
    STACK_UNIX,    /* CRUDDUR_FCGI_SOCKET=<dir>/<name>.sock */
    STACK_TCP,     /* CRUDDUR_FCGI_LISTEN=127.0.0.1:<free port> */
    STACK_FD0,     /* a listening unix socket on fd 0 (spawn-fcgi) */
    STACK_SYSTEMD, /* LISTEN_FDS=1, LISTEN_PID, the socket on fd 3 */
} stack_listen;

typedef struct stack_api {
    pid_t pid;
    stack_listen how;
    char sock[512]; /* unix modes */
    int port;       /* TCP mode */
    char log[600];  /* its stderr: the request log */
} stack_api;

/* Starts cruddur-api with workers workers, the stack's table, database and key, plus env
 * overrides (NAME=VALUE, NULL-terminated; later ones win); its socket <dir>/<name>.sock, its
 * log <dir>/<name>.log. 0 once it accepts, else -1 with a line naming the log on stderr. */
int stack_api_start(stack_api *a, stack_listen how, const char *name, int workers,
                    const char *const *env);
/* The same, run through wrapper (a command prefix such as valgrind and its options,
 * NULL-terminated; NULL: none), waiting up to 60 s for its socket. */
int stack_api_start_wrapped(stack_api *a, const char *const *wrapper, stack_listen how,
                            const char *name, int workers, const char *const *env);
/* Renders nginx/cruddur-api.conf for api a under <dir>/<name>/ and starts nginx on port in
 * the foreground as our child. pid, or -1 with a line naming its error log on stderr. */
pid_t stack_nginx_start(const char *name, int port, const stack_api *a);
/* The same with nginx's request body limit set to body_max (nginx syntax, e.g. "8m"), to
 * reach the API's own cap; stack_nginx_start uses the template's 16k. */
pid_t stack_nginx_start_limit(const char *name, int port, const stack_api *a, const char *body_max);

/* How stack_nginx_start_opts renders the template; zero = stack_nginx_start's defaults.
 * @CORS_ORIGIN@ is always STACK_FRONTEND_URL. */
typedef struct stack_nginx_options {
    const char *body_max;     /* client_max_body_size; NULL: 16k */
    const char *real_ip_from; /* trusted proxies, space-separated; NULL: none */
} stack_nginx_options;

/* The same with the options above. */
pid_t stack_nginx_start_opts(const char *name, int port, const stack_api *a,
                             const stack_nginx_options *opt);
/* Sends sig, waits up to 5 s, then SIGKILL. *pid set to -1. */
void stack_stop(pid_t *pid, int sig);
int stack_free_port(void);
/* 0 once 127.0.0.1:port accepts; -1 after 5 s, or when *pid (our child; NULL: none) exits
 * first (then reaped and *pid set to -1). */
int stack_wait_port(int port, pid_t *pid);
void stack_sleep_ms(long ms);

/* ---- HTTP ------------------------------------------------------------------------------ */

typedef struct http_res {
    long status;
    buf body;
    buf head;
} http_res;

/* One request to 127.0.0.1:port from source address src (NULL: 127.0.0.1; nginx limits POST
 * per client address, so tests that POST a lot each use their own 127.x.y.z). Asserts the
 * transfer worked. Free with http_res_free. */
void stack_http(http_res *r, int port, const char *src, const char *method, const char *path,
                const char *const *headers, const char *body, size_t body_len);
void http_res_free(http_res *r);
/* One raw HTTP/1.x request (bytes as given, e.g. what libcurl would refuse to send) to
 * 127.0.0.1:port; the answer read until nginx closes (send "Connection: close") or 5 s,
 * split into status, head (status line and headers) and body. Asserts it connected. */
void stack_http_raw(http_res *r, int port, const char *req, size_t len);
/* The value of header name (case-insensitive) into out, or false. */
bool stack_header(const buf *head, const char *name, char *out, size_t n);
/* The body as JSON (asserted). New reference. */
json_t *stack_json(const buf *body);
/* Asserts status, the JSON content type and a body {"error": code, "message": "..."}. */
void stack_assert_error(const http_res *r, long status, const char *code);
/* The whole file at path appended to out (asserts it can be opened). */
void stack_read_file(const char *path, buf *out);

/* ---- FastCGI straight to an API (unix or TCP) -------------------------------------------- */

/* One request; returns the status of the CGI head (0 when none), head + body into out. */
int stack_fcgi(const stack_api *a, const char *method, const char *uri, const char *body,
               size_t body_len, buf *out);
/* The same in steps (a request left half-sent, say): a connected socket (caller closes) or
 * -1; BEGIN_REQUEST with the params of method uri and content length clen; STDIN records
 * (the closing empty one too when last); the reply up to END_REQUEST appended to out, with
 * the status of its CGI head (0 when none). Write and read failures are assertions. */
int stack_fcgi_connect(const stack_api *a);
void stack_fcgi_begin(int s, const char *method, const char *uri, size_t clen);
void stack_fcgi_stdin(int s, const char *p, size_t n, bool last);
int stack_fcgi_read(int s, buf *out);
const char *stack_cgi_body(const buf *b);

/* ---- the table --------------------------------------------------------------------------- */

/* Items in partition pk (strongly consistent). */
long stack_count_pk(const char *pk);
long stack_count_group_rows(int who);
long stack_count_messages(const char *group);

/* ---- main -------------------------------------------------------------------------------- */

/* The whole main() of a live test: SIGPIPE ignored, libcurl set up, setup (non-zero: a
 * failing TAP line naming name), the suite, then teardown (also after a failed setup). The
 * exit status. */
int stack_main(const char *name, int (*setup)(void), void (*teardown)(void), Suite *(*suite)(void));

#endif
