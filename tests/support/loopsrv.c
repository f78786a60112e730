/* loopsrv.c — the loopback HTTP/1.1 test server (loopsrv.h): the parent binds and listens,
 * forks; the child accepts, one detached thread per connection, and dies with its parent
 * (PR_SET_PDEATHSIG) or when loopsrv_stop kills it. */
#include "config.h"
#include "loopsrv.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#define LOOPSRV_IN_MAX ((size_t)1 << 20) /* one request's bytes */

/* The start of the shared mapping; the handler's area follows at LOOPSRV_AREA. */
typedef struct loopsrv_common {
    pthread_mutex_t mu;
    long requests, conns, resumed;
} loopsrv_common;

#define LOOPSRV_AREA ((sizeof(loopsrv_common) + 63) / 64 * 64)

struct loopsrv {
    pid_t pid;
    int port;
    loopsrv_common *common; /* MAP_SHARED */
    size_t map_len;
};

/* What the child's threads share (child memory only). */
typedef struct loopsrv_child {
    loopsrv *s;
    SSL_CTX *ctx; /* NULL: plain http */
    loopsrv_handler fn;
} loopsrv_child;

typedef struct loopsrv_conn {
    loopsrv_child *ch;
    int fd;
    SSL *ssl;
} loopsrv_conn;

static ssize_t loopsrv_read(loopsrv_conn *c, char *p, size_t n)
{
    if (c->ssl) {
        int k = SSL_read(c->ssl, p, n > INT32_MAX ? INT32_MAX : (int)n);
        return k > 0 ? k : -1;
    }
    for (;;) {
        ssize_t k = recv(c->fd, p, n, 0);
        if (k < 0 && errno == EINTR)
            continue;
        return k > 0 ? k : -1;
    }
}

static int loopsrv_write(loopsrv_conn *c, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t k;
        if (c->ssl) {
            int w = SSL_write(c->ssl, p, n > INT32_MAX ? INT32_MAX : (int)n);
            k = w > 0 ? w : -1;
        } else {
            k = send(c->fd, p, n, MSG_NOSIGNAL);
            if (k < 0 && errno == EINTR)
                continue;
        }
        if (k <= 0)
            return -1;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

static void *loopsrv_conn_main(void *arg)
{
    loopsrv_conn *c = arg;
    loopsrv *s = c->ch->s;
    char *in = malloc(LOOPSRV_IN_MAX + 1);
    size_t len = 0;
    if (!in)
        goto out;
    if (c->ch->ctx) {
        c->ssl = SSL_new(c->ch->ctx);
        if (!c->ssl || SSL_set_fd(c->ssl, c->fd) != 1 || SSL_accept(c->ssl) != 1)
            goto out; /* a refused certificate, a broken handshake: not a connection */
    }
    pthread_mutex_lock(&s->common->mu);
    s->common->conns++;
    if (c->ssl && SSL_session_reused(c->ssl))
        s->common->resumed++;
    pthread_mutex_unlock(&s->common->mu);
    for (;;) {
        char *end;
        for (;;) {
            in[len] = '\0';
            if ((end = strstr(in, "\r\n\r\n")) != NULL)
                break;
            if (len == LOOPSRV_IN_MAX)
                goto out;
            ssize_t k = loopsrv_read(c, in + len, LOOPSRV_IN_MAX - len);
            if (k <= 0)
                goto out;
            len += (size_t)k;
        }
        size_t head = (size_t)(end + 4 - in), body = 0;
        for (char *l = strstr(in, "\r\n"); l && l < end; l = strstr(l + 2, "\r\n"))
            if (strncasecmp(l + 2, "Content-Length:", 15) == 0)
                body = strtoul(l + 17, NULL, 10);
        if (body > LOOPSRV_IN_MAX - head)
            goto out;
        while (len < head + body) {
            ssize_t k = loopsrv_read(c, in + len, LOOPSRV_IN_MAX - len);
            if (k <= 0)
                goto out;
            len += (size_t)k;
        }
        char method[16] = "", target[2048] = "";
        if (sscanf(in, "%15s %2047s", method, target) != 2)
            goto out;
        loopsrv_reply rp = { .status = 200, .content_type = "application/json" };
        char *hdrs = strstr(in, "\r\n") + 2, saved = end[2];
        end[2] = '\0'; /* the header lines, each with its CRLF */
        pthread_mutex_lock(&s->common->mu);
        c->ch->fn((char *)s->common + LOOPSRV_AREA, method, target, hdrs, &rp);
        end[2] = saved;
        s->common->requests++;
        size_t blen = rp.body ? rp.body_len : 0;
        char *out = malloc(blen + 512);
        int hl = out ? snprintf(out, 512,
                                "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
                                "Content-Length: %zu\r\n%s\r\n",
                                rp.status, rp.status == 200 ? "OK" : "Status", rp.content_type,
                                blen, rp.close ? "Connection: close\r\n" : "")
                     : 0;
        if (out && blen)
            memcpy(out + hl, rp.body, blen);
        pthread_mutex_unlock(&s->common->mu);
        if (!out || loopsrv_write(c, out, (size_t)hl + blen) != 0) {
            free(out);
            goto out;
        }
        free(out);
        memmove(in, in + head + body, len - head - body);
        len -= head + body;
        if (rp.close)
            goto out;
    }
out:
    if (c->ssl) {
        SSL_shutdown(c->ssl);
        SSL_free(c->ssl);
    }
    close(c->fd);
    free(in);
    free(c);
    return NULL;
}

/* The child: never returns. */
static void loopsrv_child_main(loopsrv *s, int lfd, const char *pem, loopsrv_handler fn,
                               pid_t parent)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(0);
    signal(SIGPIPE, SIG_IGN);
    loopsrv_child ch = { .s = s, .fn = fn };
    if (pem) {
        ch.ctx = SSL_CTX_new(TLS_server_method());
        if (!ch.ctx || SSL_CTX_use_certificate_chain_file(ch.ctx, pem) != 1 ||
            SSL_CTX_use_PrivateKey_file(ch.ctx, pem, SSL_FILETYPE_PEM) != 1) {
            fprintf(stderr, "loopsrv: cannot load %s\n", pem);
            _exit(1);
        }
        SSL_CTX_set_session_id_context(ch.ctx, (const unsigned char *)"loopsrv", 7);
    }
    for (;;) {
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            _exit(1);
        }
        loopsrv_conn *c = calloc(1, sizeof *c);
        pthread_t t;
        if (!c) {
            close(fd);
            continue;
        }
        c->ch = &ch;
        c->fd = fd;
        if (pthread_create(&t, NULL, loopsrv_conn_main, c) != 0) {
            close(fd);
            free(c);
            continue;
        }
        pthread_detach(t);
    }
}

loopsrv *loopsrv_start(const char *pem, loopsrv_handler fn, size_t shared_size)
{
    loopsrv *s = calloc(1, sizeof *s);
    ck_assert_ptr_nonnull(s);
    s->map_len = LOOPSRV_AREA + shared_size;
    s->common = mmap(NULL, s->map_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ck_assert(s->common != MAP_FAILED);
    pthread_mutexattr_t ma;
    pthread_mutexattr_init(&ma);
    pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
    ck_assert_int_eq(pthread_mutex_init(&s->common->mu, &ma), 0);
    pthread_mutexattr_destroy(&ma);

    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(lfd, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t al = sizeof a;
    ck_assert_int_eq(bind(lfd, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(listen(lfd, 64), 0);
    ck_assert_int_eq(getsockname(lfd, (struct sockaddr *)&a, &al), 0);
    s->port = ntohs(a.sin_port);
    fflush(NULL);
    pid_t parent = getpid();
    s->pid = fork();
    ck_assert_int_ge(s->pid, 0);
    if (s->pid == 0)
        loopsrv_child_main(s, lfd, pem, fn, parent);
    close(lfd);
    return s;
}

bool loopsrv_header(const char *headers, const char *name, char *out, size_t n)
{
    size_t nl = strlen(name);
    for (const char *l = headers; *l;) {
        const char *e = strstr(l, "\r\n");
        if (!e)
            e = l + strlen(l);
        if (strncasecmp(l, name, nl) == 0 && l[nl] == ':') {
            const char *v = l + nl + 1;
            while (v < e && (*v == ' ' || *v == '\t'))
                v++;
            while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
                e--;
            size_t k = (size_t)(e - v) < n ? (size_t)(e - v) : n - 1;
            memcpy(out, v, k);
            out[k] = '\0';
            return true;
        }
        l = *e ? e + 2 : e;
    }
    return false;
}

int loopsrv_port(const loopsrv *s)
{
    return s->port;
}

void *loopsrv_shared(loopsrv *s)
{
    return (char *)s->common + LOOPSRV_AREA;
}

void loopsrv_lock(loopsrv *s)
{
    pthread_mutex_lock(&s->common->mu);
}

void loopsrv_unlock(loopsrv *s)
{
    pthread_mutex_unlock(&s->common->mu);
}

void loopsrv_counts(loopsrv *s, long *requests, long *conns, long *resumed)
{
    loopsrv_lock(s);
    if (requests)
        *requests = s->common->requests;
    if (conns)
        *conns = s->common->conns;
    if (resumed)
        *resumed = s->common->resumed;
    loopsrv_unlock(s);
}

void loopsrv_stop(loopsrv *s)
{
    if (!s)
        return;
    if (s->pid > 0) {
        kill(s->pid, SIGKILL);
        waitpid(s->pid, NULL, 0);
    }
    munmap(s->common, s->map_len);
    free(s);
}
