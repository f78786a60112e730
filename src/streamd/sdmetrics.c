/* sdmetrics.c — cruddur-streamd's counters and their listener; see sdmetrics.h. */
#include "config.h"
#include "streamd/sdmetrics.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/prom.h"

#define SDMETRICS_ID_MAX 128
#define SDMETRICS_REQ_MAX 4096        /* bytes of a request head read */
#define SDMETRICS_REQ_TIMEOUT_MS 2000 /* a scraper sends its request within this */

typedef struct sdmetrics_shard {
    char id[SDMETRICS_ID_MAX];
    uint64_t get_records, batches, records;
    int64_t lag_ms;
    int64_t seen_ms; /* last activity, for evicting the oldest when full */
} sdmetrics_shard;

struct sdmetrics {
    pthread_mutex_t mu;
    sdmetrics_shard *shards;
    size_t nshards;
    uint64_t dead_letters, taken, lost, errors[SDMETRICS_NERRORS];
    uint64_t held;
    /* the listener */
    int fd, stop_pipe[2];
    bool running;
    pthread_t thread;
    int port;
};

static const char *const sdmetrics_error_names[SDMETRICS_NERRORS] = {
    "get_records", "iterator", "checkpoint", "lease", "sync", "apply", "gap",
};

sdmetrics *sdmetrics_new(void)
{
    sdmetrics *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->shards = calloc(SDMETRICS_SHARDS_MAX, sizeof *m->shards);
    if (!m->shards) {
        free(m);
        return NULL;
    }
    pthread_mutex_init(&m->mu, NULL);
    m->fd = -1;
    m->stop_pipe[0] = m->stop_pipe[1] = -1;
    return m;
}

void sdmetrics_free(sdmetrics *m)
{
    if (!m)
        return;
    if (m->running) {
        char c = 'x';
        if (write(m->stop_pipe[1], &c, 1) != 1)
            pthread_cancel(m->thread);
        pthread_join(m->thread, NULL);
    }
    if (m->fd >= 0)
        close(m->fd);
    for (int i = 0; i < 2; i++)
        if (m->stop_pipe[i] >= 0)
            close(m->stop_pipe[i]);
    pthread_mutex_destroy(&m->mu);
    free(m->shards);
    free(m);
}

/* The entry of shard (made, evicting the longest idle when full); under mu. */
static sdmetrics_shard *sdmetrics_shard_of(sdmetrics *m, const char *shard)
{
    if (!shard)
        shard = "";
    int64_t now = clock_mono_ms();
    size_t oldest = 0;
    for (size_t i = 0; i < m->nshards; i++) {
        if (strcmp(m->shards[i].id, shard) == 0) {
            m->shards[i].seen_ms = now;
            return &m->shards[i];
        }
        if (m->shards[i].seen_ms < m->shards[oldest].seen_ms)
            oldest = i;
    }
    sdmetrics_shard *s =
        m->nshards < SDMETRICS_SHARDS_MAX ? &m->shards[m->nshards++] : &m->shards[oldest];
    memset(s, 0, sizeof *s);
    snprintf(s->id, sizeof s->id, "%s", shard);
    s->seen_ms = now;
    return s;
}

void sdmetrics_get_records(sdmetrics *m, const char *shard)
{
    if (!m)
        return;
    pthread_mutex_lock(&m->mu);
    sdmetrics_shard_of(m, shard)->get_records++;
    pthread_mutex_unlock(&m->mu);
}

void sdmetrics_batch(sdmetrics *m, const char *shard, size_t n, int64_t lag_ms)
{
    if (!m)
        return;
    pthread_mutex_lock(&m->mu);
    sdmetrics_shard *s = sdmetrics_shard_of(m, shard);
    if (n > 0) {
        s->batches++;
        s->records += n;
    }
    s->lag_ms = lag_ms > 0 ? lag_ms : 0;
    pthread_mutex_unlock(&m->mu);
}

#define SDMETRICS_BUMP(m, field)                                                                   \
    do {                                                                                           \
        if (m) {                                                                                   \
            pthread_mutex_lock(&(m)->mu);                                                          \
            (m)->field++;                                                                          \
            pthread_mutex_unlock(&(m)->mu);                                                        \
        }                                                                                          \
    } while (0)

void sdmetrics_dead_letter(sdmetrics *m)
{
    SDMETRICS_BUMP(m, dead_letters);
}

void sdmetrics_lease_event(sdmetrics *m, sdmetrics_lease ev)
{
    if (ev == SDMETRICS_LEASE_TAKEN)
        SDMETRICS_BUMP(m, taken);
    else
        SDMETRICS_BUMP(m, lost);
}

void sdmetrics_leases_held(sdmetrics *m, size_t n)
{
    if (!m)
        return;
    pthread_mutex_lock(&m->mu);
    m->held = n;
    pthread_mutex_unlock(&m->mu);
}

void sdmetrics_count_error(sdmetrics *m, sdmetrics_error kind)
{
    if (m && kind < SDMETRICS_NERRORS)
        SDMETRICS_BUMP(m, errors[kind]);
}

int sdmetrics_render(sdmetrics *m, buf *out)
{
    if (!m)
        return 0;
    pthread_mutex_lock(&m->mu);
    static const struct {
        const char *name, *type, *help;
        size_t off;
    } per_shard[] = {
        { "cruddur_streamd_get_records_total", "counter", "GetRecords calls, by shard",
          offsetof(sdmetrics_shard, get_records) },
        { "cruddur_streamd_batches_total", "counter", "Non-empty batches applied, by shard",
          offsetof(sdmetrics_shard, batches) },
        { "cruddur_streamd_records_total", "counter", "Stream records applied, by shard",
          offsetof(sdmetrics_shard, records) },
    };
    for (size_t k = 0; k < sizeof per_shard / sizeof per_shard[0]; k++) {
        prom_family(out, per_shard[k].name, per_shard[k].type, per_shard[k].help);
        for (size_t i = 0; i < m->nshards; i++) {
            prom_label l[] = { { "shard", m->shards[i].id } };
            uint64_t v = *(const uint64_t *)((const char *)&m->shards[i] + per_shard[k].off);
            prom_sample_u64(out, per_shard[k].name, l, 1, v);
        }
    }
    prom_family(out, "cruddur_streamd_lag_seconds", "gauge",
                "Now minus the approximate creation time of the newest record of the shard's "
                "last batch (the iterator age); 0 once a read finds the shard caught up");
    for (size_t i = 0; i < m->nshards; i++) {
        prom_label l[] = { { "shard", m->shards[i].id } };
        prom_sample_f64(out, "cruddur_streamd_lag_seconds", l, 1,
                        (double)m->shards[i].lag_ms / 1000.0);
    }
    prom_family(out, "cruddur_streamd_dead_letters_total", "counter",
                "Records stored as dead letters (they could not be applied)");
    prom_sample_u64(out, "cruddur_streamd_dead_letters_total", NULL, 0, m->dead_letters);
    prom_family(out, "cruddur_streamd_leases_held", "gauge", "Shard leases this daemon holds");
    prom_sample_u64(out, "cruddur_streamd_leases_held", NULL, 0, m->held);
    prom_family(out, "cruddur_streamd_lease_events_total", "counter",
                "Leases taken, and lost to another owner");
    prom_label lt[] = { { "event", "taken" } }, ll[] = { { "event", "lost" } };
    prom_sample_u64(out, "cruddur_streamd_lease_events_total", lt, 1, m->taken);
    prom_sample_u64(out, "cruddur_streamd_lease_events_total", ll, 1, m->lost);
    prom_family(out, "cruddur_streamd_errors_total", "counter", "Failures, by kind");
    for (size_t k = 0; k < SDMETRICS_NERRORS; k++) {
        prom_label l[] = { { "kind", sdmetrics_error_names[k] } };
        prom_sample_u64(out, "cruddur_streamd_errors_total", l, 1, m->errors[k]);
    }
    pthread_mutex_unlock(&m->mu);
    return out->failed ? -1 : 0;
}

/* ---- the listener ---------------------------------------------------------------------- */

static void sdmetrics_write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        p += w;
        n -= (size_t)w;
    }
}

static void sdmetrics_answer(int fd, const char *status, const char *type, const char *body,
                             size_t len)
{
    char head[256];
    int hl = snprintf(head, sizeof head,
                      "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                      "Connection: close\r\n\r\n",
                      status, type, len);
    sdmetrics_write_all(fd, head, (size_t)hl);
    sdmetrics_write_all(fd, body, len);
}

/* One connection: read the request head (bounded in size and time), answer, close. */
static void sdmetrics_serve(sdmetrics *m, int fd)
{
    char req[SDMETRICS_REQ_MAX + 1];
    size_t got = 0;
    int64_t deadline = clock_mono_ms() + SDMETRICS_REQ_TIMEOUT_MS;
    while (got < SDMETRICS_REQ_MAX) {
        int64_t left = deadline - clock_mono_ms();
        struct pollfd p = { .fd = fd, .events = POLLIN };
        if (left <= 0 || poll(&p, 1, (int)left) <= 0)
            return;
        ssize_t r = recv(fd, req + got, SDMETRICS_REQ_MAX - got, 0);
        if (r <= 0)
            return;
        got += (size_t)r;
        req[got] = '\0';
        if (strstr(req, "\r\n\r\n") || strstr(req, "\n\n"))
            break;
    }
    req[got] = '\0';
    const char *json = "application/json";
    if (strncmp(req, "GET ", 4) != 0 && strncmp(req, "HEAD ", 5) != 0) {
        const char *b = "{\"error\":\"method_not_allowed\",\"message\":\"GET /metrics only\"}\n";
        sdmetrics_answer(fd, "405 Method Not Allowed", json, b, strlen(b));
        return;
    }
    const char *path = strchr(req, ' ') + 1;
    size_t plen = strcspn(path, " ?\r\n");
    if (plen != 8 || strncmp(path, "/metrics", 8) != 0) {
        const char *b = "{\"error\":\"not_found\",\"message\":\"the metrics are at /metrics\"}\n";
        sdmetrics_answer(fd, "404 Not Found", json, b, strlen(b));
        return;
    }
    buf out;
    buf_init(&out, (size_t)8 << 20);
    if (sdmetrics_render(m, &out) != 0) {
        const char *b = "{\"error\":\"internal\",\"message\":\"the metrics do not fit\"}\n";
        sdmetrics_answer(fd, "500 Internal Server Error", json, b, strlen(b));
    } else {
        sdmetrics_answer(fd, "200 OK", PROM_CONTENT_TYPE, out.data ? out.data : "",
                         req[0] == 'H' ? 0 : out.len);
    }
    buf_cleanup(&out);
}

static void *sdmetrics_loop(void *arg)
{
    sdmetrics *m = arg;
    for (;;) {
        struct pollfd p[2] = { { .fd = m->fd, .events = POLLIN },
                               { .fd = m->stop_pipe[0], .events = POLLIN } };
        int r = poll(p, 2, -1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 || p[1].revents)
            return NULL;
        if (!(p[0].revents & POLLIN))
            continue;
        int c = accept(m->fd, NULL, NULL);
        if (c < 0)
            continue;
        sdmetrics_serve(m, c);
        close(c);
    }
}

int sdmetrics_listen(sdmetrics *m, const char *addr, errinfo *e)
{
    if (!m)
        return 0;
    char host[64];
    const char *colon = strrchr(addr, ':');
    size_t hl = colon ? (size_t)(colon - addr) : 0;
    char *end = NULL;
    long port = colon ? strtol(colon + 1, &end, 10) : -1;
    if (!colon || hl == 0 || hl >= sizeof host || !end || *end || end == colon + 1 || port < 0 ||
        port > 65535)
        return errinfo_set(e, ERR_CONFIG,
                           "CRUDDUR_METRICS_LISTEN must be HOST:PORT with an IP address "
                           "(127.0.0.1:9464, [::1]:9464), got '%.80s'",
                           addr);
    memcpy(host, addr, hl);
    host[hl] = '\0';
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    socklen_t sl;
    if (host[0] == '[' && host[hl - 1] == ']') {
        host[hl - 1] = '\0';
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
        if (inet_pton(AF_INET6, host + 1, &a6->sin6_addr) != 1)
            return errinfo_set(e, ERR_CONFIG, "CRUDDUR_METRICS_LISTEN: '%s' is not an IPv6 address",
                               host + 1);
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        sl = sizeof *a6;
    } else {
        struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
        if (inet_pton(AF_INET, host, &a4->sin_addr) != 1)
            return errinfo_set(e, ERR_CONFIG, "CRUDDUR_METRICS_LISTEN: '%s' is not an IPv4 address",
                               host);
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)port);
        sl = sizeof *a4;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(fd, (struct sockaddr *)&ss, sl) != 0 || listen(fd, 16) != 0) {
        int err = errno;
        if (fd >= 0)
            close(fd);
        return errinfo_set(e, ERR_IO, "metrics: cannot listen on %s: %s", addr, strerror(err));
    }
    struct sockaddr_storage got;
    socklen_t gl = sizeof got;
    if (getsockname(fd, (struct sockaddr *)&got, &gl) == 0)
        m->port = ntohs(got.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&got)->sin6_port
                                                  : ((struct sockaddr_in *)&got)->sin_port);
    if (pipe(m->stop_pipe) != 0) {
        close(fd);
        return errinfo_set(e, ERR_IO, "metrics: pipe: %s", strerror(errno));
    }
    m->fd = fd;
    if (pthread_create(&m->thread, NULL, sdmetrics_loop, m) != 0)
        return errinfo_set(e, ERR_INTERNAL, "metrics: cannot start the listener thread");
    m->running = true;
    return 0;
}

int sdmetrics_port(const sdmetrics *m)
{
    return m ? m->port : 0;
}
