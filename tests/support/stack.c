/* stack.c — the API stack of the live tests that go through nginx (see stack.h): set-up,
 * processes, HTTP and FastCGI clients, table counts. */
#include "config.h"
#include "stack.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <libpq-fe.h>

#include "auth/devkey.h"
#include "auth/jwt.h"
#include "base/clock.h"
#include "base/embed.h"
#include "base/rnd.h"
#include "live.h"
#include "pg.h"
#include "support_server.h"
#include "support_tmpdir.h"
#include "tap.h"

stack g_stack;

void stack_sleep_ms(long ms)
{
    support_server_sleep_ms(ms);
}

int stack_free_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof a;
    if (bind(s, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(s, (struct sockaddr *)&a, &len) != 0) {
        close(s);
        return -1;
    }
    close(s);
    return ntohs(a.sin_port);
}

int stack_wait_port(int port, pid_t *pid)
{
    for (int i = 0; i < 100; i++) {
        int s = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in in = { .sin_family = AF_INET,
                                  .sin_port = htons((uint16_t)port),
                                  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        int ok = s >= 0 && connect(s, (struct sockaddr *)&in, sizeof in) == 0;
        if (s >= 0)
            close(s);
        if (ok)
            return 0;
        if (pid && *pid > 0 && waitpid(*pid, NULL, WNOHANG) == *pid) {
            *pid = -1;
            return -1;
        }
        stack_sleep_ms(50);
    }
    return -1;
}

/* ---- set-up ---------------------------------------------------------------------------- */

int stack_make_db(const char *db, const char *url, user *users_out, int n, char *err, size_t errlen)
{
    errinfo e;
    users *m = users_open_db(NULL, "postgres", &e);
    users *u = NULL;
    PGconn *c = NULL;
    int rc = -1;
    long added, present;
    if (!m || users_create_db(m, db, &e) != 0) {
        snprintf(err, errlen, "create database: %s", e.msg);
        goto out;
    }
    u = users_open(url, &e);
    if (!u || users_run_file(u, "sql/schema.sql", &e) != 0 ||
        users_seed(u, &added, &present, &e) != 0) {
        snprintf(err, errlen, "schema/seed: %s", e.msg);
        goto out;
    }
    c = PQconnectdb(url);
    for (int i = 0; i < n - 2; i++) {
        char sql[512];
        snprintf(sql, sizeof sql,
                 "INSERT INTO users (display_name, handle, email) VALUES "
                 "('User %d', 'u%d', 'u%d@example.com')",
                 i, i, i);
        PGresult *pr = PQexec(c, sql);
        bool ok = PQresultStatus(pr) == PGRES_COMMAND_OK;
        PQclear(pr);
        if (!ok) {
            snprintf(err, errlen, "insert: %s", PQerrorMessage(c));
            goto out;
        }
    }
    for (int i = 0; i < n; i++) {
        char handle[16], sub[37];
        if (i < 2)
            snprintf(handle, sizeof handle, "%s", i == 0 ? "mira" : "tomasz");
        else
            snprintf(handle, sizeof handle, "u%d", i - 2);
        rnd_uuid4(sub);
        if (users_set_cognito_sub(u, handle, sub, &e) != 0 ||
            users_by_handle(u, handle, &users_out[i], &e) != 0) {
            snprintf(err, errlen, "user %s: %s", handle, e.msg);
            goto out;
        }
    }
    rc = 0;
out:
    PQfinish(c);
    users_close(u);
    users_close(m);
    return rc;
}

int stack_make_tokens(const char *keydir, const char *pool, const char *client, const user *u,
                      int n, char (*tokens)[STACK_TOKEN_BUF], char *issuer, size_t issuer_len,
                      char *err, size_t errlen)
{
    errinfo e;
    buf iss;
    buf_init(&iss, issuer_len - 1);
    devkey *k = NULL;
    int rc = -1;
    if (jwt_issuer_for_pool(NULL, pool, &iss, &e) != 0 || devkey_generate(keydir, &k, &e) != 0) {
        snprintf(err, errlen, "key: %s", e.msg);
        goto out;
    }
    snprintf(issuer, issuer_len, "%s", buf_cstr(&iss));
    for (int i = 0; i < n; i++) {
        buf t;
        buf_init(&t, STACK_TOKEN_BUF - 1);
        devkey_claims c = {
            .sub = u[i].cognito_user_id, .issuer = issuer, .client_id = client, .ttl_s = 3600
        };
        int r = devkey_mint(k, &c, &t, &e);
        snprintf(tokens[i], STACK_TOKEN_BUF, "%s", buf_cstr(&t));
        buf_cleanup(&t);
        if (r != 0) {
            snprintf(err, errlen, "mint: %s", e.msg);
            goto out;
        }
    }
    rc = 0;
out:
    devkey_free(k);
    buf_cleanup(&iss);
    return rc;
}

void stack_drop(const char *db, ddb *d, const char *table)
{
    if (db && db[0])
        pg_drop_dbs((const char *const[]){ db }, 1);
    if (d && table && table[0]) {
        ddb_error err;
        if (ddb_delete_table(d, table, &err) != 0)
            fprintf(stderr, "# cleanup of %s: %s\n", table, err.info.msg);
    }
}

static int stack_setup(void)
{
    char err[1024];
    errinfo e;
    g_stack.ddb = live_ddb_open(&e);
    bool created;
    int rc = live_make_table(g_stack.ddb, g_stack.table, false, &created, err, sizeof err);
    if (rc != 0 && !created)
        g_stack.table[0] = '\0';
    if (rc == 0)
        rc = stack_make_db(g_stack.db, g_stack.pg_url, g_stack.users, STACK_USERS, err, sizeof err);
    if (rc == 0)
        rc = stack_make_tokens(g_stack.keydir, STACK_POOL_ID, STACK_CLIENT_ID, g_stack.users,
                               STACK_USERS, g_stack.tokens, g_stack.issuer, sizeof g_stack.issuer,
                               err, sizeof err);
    if (rc != 0)
        fprintf(stderr, "%s\n", err);
    return rc;
}

int stack_init(const char *name)
{
    live_ddb_endpoint();
    pg_require();
    const char *b = getenv("CR_BUILDDIR");
    snprintf(g_stack.builddir, sizeof g_stack.builddir, "%s", b && *b ? b : ".");
    char tmp[64];
    snprintf(tmp, sizeof tmp, "cr-%s", name);
    if (support_tmpdir_make(tmp, g_stack.dir, sizeof g_stack.dir) != 0)
        return -1;
    chmod(g_stack.dir, 0755); /* nginx workers (root or nobody) reach the sockets */
    live_name(name, g_stack.table);
    live_name("cruddur_stack", g_stack.db);
    for (char *p = g_stack.db; *p; p++)
        if (*p == '-')
            *p = '_';
    pg_conninfo(g_stack.db, "", g_stack.pg_url, sizeof g_stack.pg_url);
    snprintf(g_stack.keydir, sizeof g_stack.keydir, "%s/devkey", g_stack.dir);
    if (stack_setup() != 0)
        return -1;
    setenv("AWS_COGNITO_USER_POOL_ID", STACK_POOL_ID, 1);
    setenv("AWS_COGNITO_USER_POOL_CLIENT_ID", STACK_CLIENT_ID, 1);
    setenv("FRONTEND_URL", STACK_FRONTEND_URL, 1);
    return 0;
}

void stack_cleanup(void)
{
    stack_drop(g_stack.db, g_stack.ddb, g_stack.table);
    ddb_free(g_stack.ddb);
    g_stack.ddb = NULL;
    if (!getenv("LIVE_API_KEEP"))
        support_tmpdir_remove(g_stack.dir);
}

/* ---- processes ------------------------------------------------------------------------- */

static int stack_unix_listener(const char *path)
{
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    snprintf(a.sun_path, sizeof a.sun_path, "%.100s", path);
    unlink(path);
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) != 0 || listen(s, 64) != 0) {
        if (s >= 0)
            close(s);
        return -1;
    }
    chmod(path, 0666);
    return s;
}

int stack_fcgi_connect(const stack_api *a)
{
    int s;
    if (a->how == STACK_TCP) {
        s = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in in = { .sin_family = AF_INET,
                                  .sin_port = htons((uint16_t)a->port),
                                  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        if (connect(s, (struct sockaddr *)&in, sizeof in) == 0)
            return s;
    } else {
        s = socket(AF_UNIX, SOCK_STREAM, 0);
        struct sockaddr_un un = { .sun_family = AF_UNIX };
        snprintf(un.sun_path, sizeof un.sun_path, "%.100s", a->sock);
        if (connect(s, (struct sockaddr *)&un, sizeof un) == 0)
            return s;
    }
    close(s);
    return -1;
}

static int stack_api_spawn(stack_api *a, const char *const *wrapper, stack_listen how,
                           const char *name, int workers, const char *const *env)
{
    memset(a, 0, sizeof *a);
    a->pid = -1;
    a->how = how;
    char exe[1200];
    snprintf(exe, sizeof exe, "%s/src/api/cruddur-api", g_stack.builddir);
    snprintf(a->sock, sizeof a->sock, "%s/%s.sock", g_stack.dir, name);
    snprintf(a->log, sizeof a->log, "%s/%s.log", g_stack.dir, name);
    unlink(a->sock);
    int lfd = -1;
    if (how == STACK_TCP) {
        a->port = stack_free_port();
    } else if (how == STACK_FD0 || how == STACK_SYSTEMD) {
        lfd = stack_unix_listener(a->sock);
        if (lfd < 0)
            return -1;
    }
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(a->log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (fd >= 0) {
            dup2(fd, 2);
            close(fd);
        }
        if (how == STACK_FD0) {
            dup2(lfd, 0);
        } else {
            int devnull = open("/dev/null", O_RDONLY);
            dup2(devnull, 0);
            if (devnull > 0)
                close(devnull);
        }
        if (how == STACK_SYSTEMD) {
            dup2(lfd, 3);
            char lpid[32];
            snprintf(lpid, sizeof lpid, "%ld", (long)getpid());
            setenv("LISTEN_FDS", "1", 1);
            setenv("LISTEN_PID", lpid, 1);
        }
        if (lfd > 3)
            close(lfd);
        unsetenv("CRUDDUR_FCGI_SOCKET");
        unsetenv("CRUDDUR_FCGI_LISTEN");
        if (how == STACK_UNIX)
            setenv("CRUDDUR_FCGI_SOCKET", a->sock, 1);
        if (how == STACK_TCP) {
            char addr[64];
            snprintf(addr, sizeof addr, "127.0.0.1:%d", a->port);
            setenv("CRUDDUR_FCGI_LISTEN", addr, 1);
        }
        char w[16], jwks_path[400];
        snprintf(w, sizeof w, "%d", workers);
        snprintf(jwks_path, sizeof jwks_path, "%s/%s", g_stack.keydir, DEVKEY_JWKS_NAME);
        setenv("CRUDDUR_WORKERS", w, 1);
        setenv("CRUDDUR_LOG_LEVEL", "info", 1);
        setenv("CRUDDUR_DDB_TABLE", g_stack.table, 1);
        setenv("CRUDDUR_JWKS_URL", jwks_path, 1);
        setenv("CONNECTION_URL", g_stack.pg_url, 1);
        for (size_t i = 0; env && env[i]; i++)
            putenv((char *)env[i]);
        if (wrapper && wrapper[0]) {
            const char *argv[40];
            size_t k = 0;
            for (; wrapper[k] && k + 2 < sizeof argv / sizeof *argv; k++)
                argv[k] = wrapper[k];
            argv[k++] = exe;
            argv[k] = NULL;
            execvp(argv[0], (char *const *)argv);
        } else {
            execl(exe, exe, (char *)NULL);
        }
        _exit(127);
    }
    if (lfd >= 0)
        close(lfd);
    if (pid < 0)
        return -1;
    a->pid = pid;
    int tries = wrapper && wrapper[0] ? 1200 : 100; /* 60 s for a slow wrapper, else 5 s */
    for (int i = 0; i < tries; i++) {
        int s = stack_fcgi_connect(a);
        if (s >= 0) {
            close(s);
            return 0;
        }
        if (waitpid(pid, NULL, WNOHANG) == pid) {
            a->pid = -1;
            return -1;
        }
        stack_sleep_ms(50);
    }
    stack_stop(&a->pid, SIGKILL);
    return -1;
}

void stack_stop(pid_t *pid, int sig)
{
    if (*pid <= 0)
        return;
    kill(*pid, sig);
    for (int i = 0; i < 100; i++) {
        if (waitpid(*pid, NULL, WNOHANG) != 0) {
            *pid = -1;
            return;
        }
        stack_sleep_ms(50);
    }
    kill(*pid, SIGKILL);
    waitpid(*pid, NULL, 0);
    *pid = -1;
}

int stack_api_start(stack_api *a, stack_listen how, const char *name, int workers,
                    const char *const *env)
{
    return stack_api_start_wrapped(a, NULL, how, name, workers, env);
}

int stack_api_start_wrapped(stack_api *a, const char *const *wrapper, stack_listen how,
                            const char *name, int workers, const char *const *env)
{
    int rc = stack_api_spawn(a, wrapper, how, name, workers, env);
    if (rc != 0)
        fprintf(stderr, "cruddur-api (%s) did not start (log: %s)\n", name, a->log);
    return rc;
}

static pid_t stack_nginx_spawn(const char *name, int port, const stack_api *a,
                               const stack_nginx_options *opt)
{
    char src[1200], text[32768], dir[600], conf[700], upstream[600], real_ip[1200];
    const char *srcdir = getenv("CR_SRCDIR");
    snprintf(src, sizeof src, "%s/nginx/cruddur-api.conf", srcdir && *srcdir ? srcdir : CR_SRCDIR);
    FILE *f = fopen(src, "r");
    if (!f)
        return -1;
    size_t n = fread(text, 1, sizeof text - 1, f);
    bool whole = feof(f) != 0;
    fclose(f);
    if (!whole) {
        fprintf(stderr, "%s is larger than %zu bytes\n", src, sizeof text - 1);
        return -1;
    }
    text[n] = '\0';
    /* "set_real_ip_from A; set_real_ip_from B;" from the space-separated list */
    real_ip[0] = '\0';
    for (const char *p = opt->real_ip_from ? opt->real_ip_from : ""; *p;) {
        size_t k = strcspn(p, " ");
        if (k > 0) {
            size_t used = strlen(real_ip);
            snprintf(real_ip + used, sizeof real_ip - used, "set_real_ip_from %.*s; ", (int)k, p);
        }
        p += k + (p[k] == ' ');
    }
    snprintf(dir, sizeof dir, "%s/%s", g_stack.dir, name);
    mkdir(dir, 0755);
    char portstr[16];
    snprintf(portstr, sizeof portstr, "%d", port);
    if (a->how == STACK_TCP)
        snprintf(upstream, sizeof upstream, "127.0.0.1:%d", a->port);
    else
        snprintf(upstream, sizeof upstream, "unix:%s", a->sock);
    const char *subst[][2] = { { "unix:@SOCKET@", upstream },
                               { "@PREFIX@", dir },
                               { "@PORT@", portstr },
                               { "@USER@", geteuid() == 0 ? "user root root;" : "" },
                               { "@BODY_MAX@", opt->body_max ? opt->body_max : "16k" },
                               { "@KEEPALIVE@", "" },
                               { "@KEEP_CONN@", "" },
                               { "@CORS_ORIGIN@", STACK_FRONTEND_URL },
                               { "@REAL_IP_FROM@", real_ip },
                               { "@BACKEND_SERVER@", "server 127.0.0.1:9 down;" },
                               { "@OTHER_API@", "fastcgi_pass cruddur_api;" } };
    buf out;
    buf_init(&out, 0);
    for (const char *p = text; *p;) {
        size_t k;
        for (k = 0; k < sizeof subst / sizeof subst[0]; k++)
            if (strncmp(p, subst[k][0], strlen(subst[k][0])) == 0)
                break;
        if (k < sizeof subst / sizeof subst[0]) {
            buf_append_str(&out, subst[k][1]);
            p += strlen(subst[k][0]);
        } else {
            buf_putc(&out, *p++);
        }
    }
    snprintf(conf, sizeof conf, "%s/nginx.conf", dir);
    f = fopen(conf, "w");
    if (!f) {
        buf_cleanup(&out);
        return -1;
    }
    fputs(buf_cstr(&out), f);
    fclose(f);
    buf_cleanup(&out);
    char logs[700], tmp[700], elog[800];
    snprintf(logs, sizeof logs, "%s/logs", dir);
    snprintf(tmp, sizeof tmp, "%s/tmp", dir);
    snprintf(elog, sizeof elog, "%s/logs/error.log", dir);
    mkdir(logs, 0755);
    mkdir(tmp, 0755);
    pid_t pid = fork();
    if (pid == 0) {
        execl("/usr/sbin/nginx", "nginx", "-p", dir, "-e", elog, "-c", conf, "-g", "daemon off;",
              (char *)NULL);
        _exit(127);
    }
    if (pid < 0)
        return -1;
    if (stack_wait_port(port, &pid) == 0)
        return pid;
    stack_stop(&pid, SIGKILL); /* none left when it exited by itself */
    return -1;
}

pid_t stack_nginx_start(const char *name, int port, const stack_api *a)
{
    stack_nginx_options opt = { 0 };
    return stack_nginx_start_opts(name, port, a, &opt);
}

pid_t stack_nginx_start_limit(const char *name, int port, const stack_api *a, const char *body_max)
{
    stack_nginx_options opt = { .body_max = body_max };
    return stack_nginx_start_opts(name, port, a, &opt);
}

pid_t stack_nginx_start_opts(const char *name, int port, const stack_api *a,
                             const stack_nginx_options *opt)
{
    pid_t pid = stack_nginx_spawn(name, port, a, opt);
    if (pid < 0)
        fprintf(stderr, "nginx (%s) did not start (log: %s/%s/logs/error.log)\n", name, g_stack.dir,
                name);
    return pid;
}

void stack_read_file(const char *path, buf *out)
{
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        buf_append(out, chunk, n);
    fclose(f);
}

/* ---- HTTP ------------------------------------------------------------------------------ */

static size_t stack_on_data(char *p, size_t sz, size_t n, void *ud)
{
    buf_append((buf *)ud, p, sz * n);
    return sz * n;
}

void stack_http(http_res *r, int port, const char *src, const char *method, const char *path,
                const char *const *headers, const char *body, size_t body_len)
{
    memset(r, 0, sizeof *r);
    buf_init(&r->body, 0);
    buf_init(&r->head, 0);
    char url[4600];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    CURL *c = curl_easy_init();
    ck_assert_ptr_nonnull(c);
    struct curl_slist *hl = NULL;
    for (size_t i = 0; headers && headers[i]; i++)
        hl = curl_slist_append(hl, headers[i]);
    hl = curl_slist_append(hl, "Expect:");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 15000L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, stack_on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r->body);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, stack_on_data);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &r->head);
    if (src)
        curl_easy_setopt(c, CURLOPT_INTERFACE, src);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)body_len);
    }
    CURLcode rc = curl_easy_perform(c);
    ck_assert_msg(rc == CURLE_OK, "%s %s: %s", method, path, curl_easy_strerror(rc));
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    curl_slist_free_all(hl);
    curl_easy_cleanup(c);
}

void http_res_free(http_res *r)
{
    buf_cleanup(&r->body);
    buf_cleanup(&r->head);
}

void stack_http_raw(http_res *r, int port, const char *req, size_t len)
{
    memset(r, 0, sizeof *r);
    buf_init(&r->body, 0);
    buf_init(&r->head, 0);
    int s = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(s, 0);
    struct sockaddr_in a = { .sin_family = AF_INET,
                             .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    ck_assert_msg(connect(s, (struct sockaddr *)&a, sizeof a) == 0, "connect to %d: %s", port,
                  strerror(errno));
    for (size_t off = 0; off < len;) {
        ssize_t w = send(s, req + off, len - off, MSG_NOSIGNAL);
        if (w <= 0)
            break; /* nginx may answer and close before reading it all */
        off += (size_t)w;
    }
    buf all;
    buf_init(&all, 0);
    int64_t deadline = clock_mono_ms() + 5000;
    while (clock_mono_ms() < deadline) {
        struct pollfd pf = { .fd = s, .events = POLLIN };
        if (poll(&pf, 1, 100) <= 0)
            continue;
        char chunk[8192];
        ssize_t got = recv(s, chunk, sizeof chunk, 0);
        if (got <= 0)
            break;
        buf_append(&all, chunk, (size_t)got);
    }
    close(s);
    const char *t = buf_cstr(&all);
    const char *end = t ? strstr(t, "\r\n\r\n") : NULL;
    ck_assert_msg(end != NULL, "no HTTP head in: %s", t ? t : "(nothing)");
    buf_append(&r->head, t, (size_t)(end - t) + 4);
    buf_append_str(&r->body, end + 4);
    ck_assert_msg(sscanf(t, "HTTP/1.%*d %ld", &r->status) == 1, "no status line: %s", t);
    buf_cleanup(&all);
}

bool stack_header(const buf *head, const char *name, char *out, size_t n)
{
    size_t nl = strlen(name);
    for (const char *p = buf_cstr(head); p && *p;) {
        const char *eol = strstr(p, "\r\n");
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        if (len > nl + 1 && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            const char *v = p + nl + 1;
            while (*v == ' ')
                v++;
            snprintf(out, n, "%.*s", (int)(len - (size_t)(v - p)), v);
            return true;
        }
        p = eol ? eol + 2 : p + len;
    }
    return false;
}

json_t *stack_json(const buf *b)
{
    json_error_t je;
    json_t *j = json_loadb(b->data ? b->data : "", b->len, JSON_DECODE_ANY, &je);
    ck_assert_msg(j != NULL, "not JSON: %s", buf_cstr(b));
    return j;
}

void stack_assert_error(const http_res *r, long status, const char *code)
{
    ck_assert_msg(r->status == status, "status %ld, want %ld: %s", r->status, status,
                  buf_cstr(&r->body));
    char ct[128];
    ck_assert(stack_header(&r->head, "Content-Type", ct, sizeof ct));
    ck_assert_str_eq(ct, "application/json; charset=utf-8");
    json_t *j = stack_json(&r->body);
    const char *got = json_string_value(json_object_get(j, "error"));
    ck_assert_msg(got && strcmp(got, code) == 0, "error %s, want %s", got ? got : "(none)", code);
    ck_assert(json_is_string(json_object_get(j, "message")));
    json_decref(j);
}

/* ---- FastCGI --------------------------------------------------------------------------- */

static void stack_fcgi_record(buf *b, int type, const void *p, size_t n)
{
    unsigned char h[8] = {
        1, (unsigned char)type, 0, 1, (unsigned char)(n >> 8), (unsigned char)(n & 255), 0, 0
    };
    buf_append(b, h, 8);
    buf_append(b, p, n);
}

static void stack_fcgi_param(buf *b, const char *name, const char *value)
{
    size_t nl = strlen(name), vl = strlen(value);
    unsigned char l[8];
    size_t k = 0;
    l[k++] = (unsigned char)nl;
    if (vl < 128) {
        l[k++] = (unsigned char)vl;
    } else {
        l[k++] = (unsigned char)((vl >> 24) | 0x80);
        l[k++] = (unsigned char)(vl >> 16);
        l[k++] = (unsigned char)(vl >> 8);
        l[k++] = (unsigned char)vl;
    }
    buf_append(b, l, k);
    buf_append(b, name, nl);
    buf_append(b, value, vl);
}

static void stack_write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n > 0) {
        ssize_t w = write(fd, c, n);
        ck_assert(w > 0);
        c += w;
        n -= (size_t)w;
    }
}

void stack_fcgi_begin(int s, const char *method, const char *uri, size_t clen)
{
    buf b, p;
    buf_init(&b, 0);
    buf_init(&p, 0);
    unsigned char begin[8] = { 0, 1, 0, 0, 0, 0, 0, 0 };
    stack_fcgi_record(&b, 1, begin, 8);
    char cl[32];
    snprintf(cl, sizeof cl, "%zu", clen);
    stack_fcgi_param(&p, "REQUEST_METHOD", method);
    stack_fcgi_param(&p, "REQUEST_URI", uri);
    stack_fcgi_param(&p, "CONTENT_LENGTH", cl);
    stack_fcgi_param(&p, "CONTENT_TYPE", "application/json");
    stack_fcgi_record(&b, 4, p.data, p.len);
    stack_fcgi_record(&b, 4, NULL, 0);
    stack_write_all(s, b.data, b.len);
    buf_cleanup(&b);
    buf_cleanup(&p);
}

void stack_fcgi_stdin(int s, const char *p, size_t n, bool last)
{
    buf b;
    buf_init(&b, 0);
    while (n > 0) {
        size_t k = n > 65535 ? 65535 : n;
        stack_fcgi_record(&b, 5, p, k);
        p += k;
        n -= k;
    }
    if (last)
        stack_fcgi_record(&b, 5, NULL, 0);
    if (b.len > 0)
        stack_write_all(s, b.data, b.len);
    buf_cleanup(&b);
}

int stack_fcgi_read(int s, buf *out)
{
    unsigned char h[8];
    for (;;) {
        size_t got = 0;
        while (got < 8) {
            ssize_t r = read(s, h + got, 8 - got);
            ck_assert_msg(r > 0, "FastCGI connection closed early");
            got += (size_t)r;
        }
        size_t n = ((size_t)h[4] << 8 | h[5]) + h[6];
        char rec[65536 + 256];
        got = 0;
        while (got < n) {
            ssize_t r = read(s, rec + got, n - got);
            ck_assert(r > 0);
            got += (size_t)r;
        }
        if (h[1] == 6)
            buf_append(out, rec, n - h[6]);
        if (h[1] == 3)
            break;
    }
    const char *st = strstr(buf_cstr(out), "Status: ");
    return st ? (int)strtol(st + 8, NULL, 10) : 0;
}

int stack_fcgi(const stack_api *a, const char *method, const char *uri, const char *body,
               size_t body_len, buf *out)
{
    int s = stack_fcgi_connect(a);
    ck_assert_msg(s >= 0, "cannot connect to the API");
    stack_fcgi_begin(s, method, uri, body_len);
    stack_fcgi_stdin(s, body, body_len, true);
    int status = stack_fcgi_read(s, out);
    close(s);
    return status;
}

const char *stack_cgi_body(const buf *b)
{
    const char *p = strstr(buf_cstr(b), "\r\n\r\n");
    return p ? p + 4 : "";
}

/* ---- the table ------------------------------------------------------------------------- */

long stack_count_pk(const char *pk)
{
    json_t *values = json_pack("{s:{s:s}}", ":pk", "S", pk);
    ddb_query_options q = {
        .table = g_stack.table, .key_condition = "pk = :pk", .values = values, .consistent = true
    };
    ddb_page page;
    ddb_page_init(&page);
    ddb_error err;
    long n = 0;
    json_t *start = NULL;
    do {
        q.start_key = start;
        ck_assert_msg(ddb_query(g_stack.ddb, &q, &page, &err) == 0, "%s", err.info.msg);
        n += (long)json_array_size(page.items);
        json_decref(start);
        start = json_incref(page.last_key);
    } while (start);
    ddb_page_cleanup(&page);
    json_decref(values);
    return n;
}

long stack_count_group_rows(int who)
{
    char pk[64];
    snprintf(pk, sizeof pk, "GRP#%s", g_stack.users[who].uuid);
    return stack_count_pk(pk);
}

long stack_count_messages(const char *group)
{
    char pk[64];
    snprintf(pk, sizeof pk, "MSG#%s", group);
    return stack_count_pk(pk);
}

/* ---- main ------------------------------------------------------------------------------ */

int stack_main(const char *name, int (*setup)(void), void (*teardown)(void), Suite *(*suite)(void))
{
    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc;
    if (setup() != 0) {
        teardown();
        printf("1..1\nnot ok 1 - %s setup failed (see above)\n", name);
        rc = 1;
    } else {
        rc = tap_run(suite());
        teardown();
    }
    curl_global_cleanup();
    return rc;
}
