/* bench_delay.c — a loopback TCP proxy that adds a fixed delay to every byte each way, for
 * the latency points of tests/bench/api/run: what the API gives when DynamoDB is a few
 * milliseconds away, as it is in production.
 *
 *   bench_delay LISTEN_PORT TARGET_PORT DELAY_MS [MAX_CONNECTIONS] [MAX_SECONDS]
 *
 * Listens on 127.0.0.1:LISTEN_PORT and connects each client to 127.0.0.1:TARGET_PORT; only
 * loopback, both ends. Bytes read at time t are written at t + DELAY_MS (so a request and
 * its answer each pay DELAY_MS, and bytes arriving together leave together: the delay does
 * not add up over the chunks of one message); an end of stream (FIN) is passed on DELAY_MS
 * after it arrives too. Bounded: at most MAX_CONNECTIONS (default 256) at once, at most
 * DELAY_QUEUE_CHUNKS reads and DELAY_QUEUE_BYTES bytes held per direction (beyond that the
 * proxy stops reading that side until the queue drains, as a full TCP window would), and
 * the process exits after MAX_SECONDS (default 3600). Prints "ready" on stdout once it
 * listens.
 *
 * One thread: an epoll loop over the sockets whose wait ends when the earliest chunk held
 * is due (epoll_pwait2's nanosecond timeout; the kernel's timer slack, 50 us, applies as it
 * did to clock_nanosleep in the thread-per-direction proxy). All socket I/O is
 * MSG_DONTWAIT. The delay is the same for every chunk, so the
 * directions with data waiting are kept in one list ordered by the due time of their first
 * chunk; a new chunk is due after every chunk already held, and a direction goes back near
 * the tail when its first chunk leaves. The proxy is meant to cost the machine little: a
 * real network delay costs the API host nothing (the thread-per-direction proxy it
 * replaces spent ~100 us of CPU per proxied request on the benchmark's two cores). */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum {
    DELAY_QUEUE_CHUNKS = 64,         /* reads held per direction */
    DELAY_QUEUE_BYTES = 1024 * 1024, /* bytes held per direction */
    DELAY_READ_MAX = 64 * 1024,      /* bytes per read */
    DELAY_EVENTS = 256,              /* epoll events per wait */
};

/* epoll data of the listening socket; a connection's side is (gen << 32 | slot << 1 |
 * side), gen >= 1. */
#define DELAY_EV_LISTEN UINT64_C(0)

/* One read: its bytes (data[off..len) still to write) and when they are due; len 0 is the
 * end of stream. */
typedef struct delay_chunk {
    struct delay_chunk *next;
    int64_t due_ns;
    size_t off, len;
    char data[];
} delay_chunk;

struct delay_conn;

/* One direction: bytes read from side `from` are written to the other side. */
typedef struct delay_dir {
    struct delay_conn *conn;
    int from; /* 0: the client, 1: the target */
    delay_chunk *head, *tail;
    int nchunks;
    size_t nbytes;
    bool eof_read; /* the end of stream was read (queued as a len-0 chunk) */
    bool done;     /* the end of stream was passed on */
    bool blocked;  /* the destination's buffer is full: waiting for EPOLLOUT */
    bool listed;   /* in the due list */
    struct delay_dir *prev, *next;
} delay_dir;

typedef struct delay_conn {
    uint32_t gen; /* 0: the slot is free */
    int fd[2];
    uint32_t mask[2]; /* the events registered for fd[i] (0: not registered) */
    delay_dir dir[2]; /* dir[i] reads fd[i] and writes fd[1 - i] */
} delay_conn;

typedef struct delay_state {
    int ep, ls;
    int64_t delay_ns;
    int target_port;
    int max_conns, nconns;
    uint32_t next_gen;
    delay_conn *slots;
    delay_dir *due_head, *due_tail; /* ordered by head->due_ns */
    char buf[DELAY_READ_MAX];
} delay_state;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* parse_long S LO HI OUT: 0 when S is a decimal number within LO..HI. */
static int parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static uint64_t ev_data(const delay_state *st, const delay_conn *c, int side)
{
    return (uint64_t)c->gen << 32 | (uint64_t)(c - st->slots) << 1 | (uint64_t)side;
}

/* Registers fd[side] for what its two directions need now: EPOLLIN while the direction
 * reading it has room, EPOLLOUT while the one writing it is blocked. A socket with
 * nothing to wait for is removed, so a hung-up peer does not wake the loop. */
static int conn_watch(delay_state *st, delay_conn *c, int side)
{
    const delay_dir *rd = &c->dir[side], *wr = &c->dir[1 - side];
    uint32_t want = 0;
    if (!rd->eof_read && rd->nchunks < DELAY_QUEUE_CHUNKS && rd->nbytes < DELAY_QUEUE_BYTES)
        want |= EPOLLIN;
    if (wr->blocked)
        want |= EPOLLOUT;
    if (want == c->mask[side])
        return 0;
    struct epoll_event ev = { .events = want, .data.u64 = ev_data(st, c, side) };
    int op = want == 0 ? EPOLL_CTL_DEL : c->mask[side] == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
    if (epoll_ctl(st->ep, op, c->fd[side], &ev) != 0)
        return -1;
    c->mask[side] = want;
    return 0;
}

static void due_unlink(delay_state *st, delay_dir *d)
{
    if (!d->listed)
        return;
    if (d->prev)
        d->prev->next = d->next;
    else
        st->due_head = d->next;
    if (d->next)
        d->next->prev = d->prev;
    else
        st->due_tail = d->prev;
    d->prev = d->next = NULL;
    d->listed = false;
}

/* Puts d (with a first chunk) in the due list by that chunk's due time: from the tail,
 * where it nearly always belongs (every chunk is due DELAY after its read). */
static void due_insert(delay_state *st, delay_dir *d)
{
    delay_dir *p = st->due_tail;
    while (p && p->head->due_ns > d->head->due_ns)
        p = p->prev;
    d->prev = p;
    d->next = p ? p->next : st->due_head;
    if (d->next)
        d->next->prev = d;
    else
        st->due_tail = d;
    if (p)
        p->next = d;
    else
        st->due_head = d;
    d->listed = true;
}

static void conn_close(delay_state *st, delay_conn *c)
{
    for (int i = 0; i < 2; i++) {
        delay_dir *d = &c->dir[i];
        due_unlink(st, d);
        while (d->head) {
            delay_chunk *k = d->head;
            d->head = k->next;
            free(k);
        }
        close(c->fd[i]); /* also leaves the epoll set */
    }
    memset(c, 0, sizeof *c);
    st->nconns--;
}

/* Writes d's chunks that are due at now_ns, in order. Returns 0, or -1 when the
 * connection is to be closed (a write failed, or both ends of stream were passed on). */
static int dir_flush(delay_state *st, delay_dir *d, int64_t t_ns)
{
    delay_conn *c = d->conn;
    int to = c->fd[1 - d->from];
    due_unlink(st, d);
    d->blocked = false;
    while (d->head && d->head->due_ns <= t_ns) {
        delay_chunk *k = d->head;
        if (k->len == 0) {
            shutdown(to, SHUT_WR);
            d->done = true;
        } else {
            while (k->off < k->len) {
                ssize_t w =
                    send(to, k->data + k->off, k->len - k->off, MSG_NOSIGNAL | MSG_DONTWAIT);
                if (w < 0 && errno == EINTR)
                    continue;
                if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                    d->blocked = true;
                    break;
                }
                if (w <= 0)
                    return -1;
                k->off += (size_t)w;
            }
            if (d->blocked)
                break;
        }
        d->head = k->next;
        if (!d->head)
            d->tail = NULL;
        d->nchunks--;
        d->nbytes -= k->len;
        free(k);
    }
    if (d->head && !d->blocked)
        due_insert(st, d);
    if (c->dir[0].done && c->dir[1].done)
        return -1;
    if (conn_watch(st, c, d->from) != 0 || conn_watch(st, c, 1 - d->from) != 0)
        return -1;
    return 0;
}

/* One read from fd[side], queued for DELAY later. Returns -1 when the connection is to be
 * closed (a read error, or no memory). */
static int dir_read(delay_state *st, delay_dir *d)
{
    delay_conn *c = d->conn;
    ssize_t r;
    do
        r = recv(c->fd[d->from], st->buf, sizeof st->buf, MSG_DONTWAIT);
    while (r < 0 && errno == EINTR);
    if (r < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
    delay_chunk *k = malloc(sizeof *k + (size_t)r);
    if (!k)
        return -1;
    *k = (delay_chunk){ .due_ns = now_ns() + st->delay_ns, .len = (size_t)r };
    memcpy(k->data, st->buf, (size_t)r);
    if (d->tail)
        d->tail->next = k;
    else
        d->head = k;
    d->tail = k;
    d->nchunks++;
    d->nbytes += (size_t)r;
    if (r == 0)
        d->eof_read = true;
    if (!d->listed && !d->blocked && d->head == k)
        due_insert(st, d);
    return conn_watch(st, c, d->from);
}

/* Waits for events until the first due chunk is due (without one, for events only):
 * epoll_pwait2's timeout in nanoseconds, or epoll_wait's in milliseconds, rounded up, where
 * the kernel lacks epoll_pwait2 (before Linux 5.11). */
static int wait_events(const delay_state *st, struct epoll_event *evs)
{
    static bool no_pwait2;
    int64_t wait_ns = -1;
    if (st->due_head) {
        wait_ns = st->due_head->head->due_ns - now_ns();
        if (wait_ns < 0)
            wait_ns = 0;
    }
    if (!no_pwait2) {
        struct timespec ts = { .tv_sec = (time_t)(wait_ns / 1000000000),
                               .tv_nsec = (long)(wait_ns % 1000000000) };
        int n = epoll_pwait2(st->ep, evs, DELAY_EVENTS, wait_ns < 0 ? NULL : &ts, NULL);
        if (n >= 0 || errno != ENOSYS)
            return n;
        no_pwait2 = true;
    }
    return epoll_wait(st->ep, evs, DELAY_EVENTS,
                      wait_ns < 0 ? -1 : (int)((wait_ns + 999999) / 1000000));
}

static int connect_target(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Takes every pending connection; past max_conns, or when the target refuses, the client
 * is closed at once. */
static void accept_all(delay_state *st)
{
    for (;;) {
        int fd = accept(st->ls, NULL, NULL);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            return; /* EAGAIN, or out of descriptors: the next wake-up tries again */
        }
        delay_conn *c = NULL;
        for (int i = 0; st->nconns < st->max_conns && i < st->max_conns; i++)
            if (st->slots[i].gen == 0) {
                c = &st->slots[i];
                break;
            }
        int t = c ? connect_target(st->target_port) : -1;
        if (t < 0) {
            close(fd);
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        setsockopt(t, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        *c = (delay_conn){ .gen = st->next_gen++, .fd = { fd, t } };
        if (st->next_gen == 0)
            st->next_gen = 1;
        for (int i = 0; i < 2; i++)
            c->dir[i] = (delay_dir){ .conn = c, .from = i };
        st->nconns++;
        if (conn_watch(st, c, 0) != 0 || conn_watch(st, c, 1) != 0)
            conn_close(st, c);
    }
}

static int listen_on(int port)
{
    int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (ls < 0)
        return -1;
    int one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(ls, (struct sockaddr *)&a, sizeof a) != 0 || listen(ls, 256) != 0) {
        close(ls);
        return -1;
    }
    return ls;
}

static int delay_loop(delay_state *st)
{
    struct epoll_event evs[DELAY_EVENTS];
    for (;;) {
        int n = wait_events(st, evs);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            perror("bench_delay: epoll_wait");
            return 1;
        }
        for (int i = 0; i < n; i++) {
            uint64_t u = evs[i].data.u64;
            if (u == DELAY_EV_LISTEN) {
                accept_all(st);
                continue;
            }
            delay_conn *c = &st->slots[(u & 0xffffffffu) >> 1];
            int side = (int)(u & 1);
            if (c->gen != (uint32_t)(u >> 32))
                continue; /* closed earlier in this batch */
            int rc = 0;
            if (evs[i].events & EPOLLERR)
                rc = -1;
            if (rc == 0 && (evs[i].events & EPOLLOUT))
                rc = dir_flush(st, &c->dir[1 - side], now_ns());
            if (rc == 0 && (evs[i].events & (EPOLLIN | EPOLLHUP)) && (c->mask[side] & EPOLLIN))
                rc = dir_read(st, &c->dir[side]);
            if (rc != 0)
                conn_close(st, c);
        }
        int64_t t = now_ns();
        while (st->due_head && st->due_head->head->due_ns <= t) {
            delay_dir *d = st->due_head;
            if (dir_flush(st, d, t) != 0)
                conn_close(st, d->conn);
        }
    }
}

int main(int argc, char **argv)
{
    if (argc < 4 || argc > 6) {
        fprintf(stderr, "usage: bench_delay LISTEN_PORT TARGET_PORT DELAY_MS [MAX_CONNECTIONS] "
                        "[MAX_SECONDS]\n");
        return 2;
    }
    long port, target, delay_ms, max_conns = 256, max_s = 3600;
    if (parse_long(argv[1], 1, 65535, &port) != 0 || parse_long(argv[2], 1, 65535, &target) != 0 ||
        parse_long(argv[3], 0, 1000, &delay_ms) != 0 ||
        (argc > 4 && parse_long(argv[4], 1, 4096, &max_conns) != 0) ||
        (argc > 5 && parse_long(argv[5], 1, 86400 * 7, &max_s) != 0)) {
        fprintf(stderr, "bench_delay: ports 1..65535, delay 0..1000 ms, 1..4096 connections\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    alarm((unsigned)max_s); /* the bound in time: SIGALRM ends the process */
    static delay_state st;
    st.delay_ns = delay_ms * 1000000;
    st.target_port = (int)target;
    st.max_conns = (int)max_conns;
    st.next_gen = 1;
    st.slots = calloc((size_t)max_conns, sizeof *st.slots);
    st.ls = listen_on((int)port);
    st.ep = epoll_create1(EPOLL_CLOEXEC);
    if (!st.slots || st.ls < 0 || st.ep < 0) {
        perror("bench_delay: listen");
        return 1;
    }
    struct epoll_event el = { .events = EPOLLIN, .data.u64 = DELAY_EV_LISTEN };
    if (epoll_ctl(st.ep, EPOLL_CTL_ADD, st.ls, &el) != 0) {
        perror("bench_delay: epoll_ctl");
        return 1;
    }
    printf("ready\n");
    fflush(stdout);
    return delay_loop(&st);
}
