/* master.c — the prefork master: one listening socket, N workers forked on it, supervised
 * with sigtimedwait (no signal handlers in the master). Design notes in DESIGN.md. */
#include "config.h"
#include "api/master.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/log.h"

#define MASTER_TICK_MS 200
#define MASTER_RESEND_MS 1000    /* SIGTERM again to a draining worker */
#define MASTER_FAST_EXIT_MS 2000 /* a worker dying sooner counts as a crash loop */
#define MASTER_BACKOFF_MIN_MS 100
#define MASTER_BACKOFF_MAX_MS 5000

typedef struct master_slot {
    pid_t pid;     /* 0: free, or waiting for restart_at_ms */
    unsigned gen;  /* the SIGHUP generation it was started in */
    bool draining; /* told to stop; not replaced when it exits */
    int64_t started_ms;
    int64_t term_first_ms; /* first SIGTERM (the drain deadline counts from it) */
    int64_t term_sent_ms;  /* last SIGTERM */
    int64_t restart_at_ms; /* pid 0 and > 0: restart due then */
    int64_t backoff_ms;
} master_slot;

typedef struct master {
    const master_options *o;
    master_slot slots[2 * MASTER_MAX_WORKERS];
    size_t nslots;
    unsigned gen;
    bool stopping;
    int64_t stop_deadline_ms;
    bool killed;
    sigset_t old_mask;
    size_t spawned; /* workers forked so far */
} master;

/* Forks a worker into slot s; waits for its ready byte when wait_ready. 0 or -1. */
static int master_spawn(master *m, master_slot *s, bool wait_ready)
{
    int p[2];
    if (pipe(p) != 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0) {
        close(p[0]);
        close(p[1]);
        log_msg(LOG_ERROR, "worker_fork_failed", "fork: %s", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        close(p[0]);
        /* worker_main installs its handlers, then unblocks the signals. */
        int rc = m->o->worker_main(m->o->ud, m->o->listen_fd, p[1], (size_t)(s - m->slots));
        exit(rc);
    }
    close(p[1]);
    if (m->o->stats && m->spawned++ >= m->nslots / 2)
        __atomic_store_n(&m->o->stats->restarts, m->o->stats->restarts + 1, __ATOMIC_RELAXED);
    s->pid = pid;
    s->gen = m->gen;
    s->draining = false;
    s->started_ms = clock_mono_ms();
    s->term_first_ms = 0;
    s->term_sent_ms = 0;
    s->restart_at_ms = 0;
    if (wait_ready) {
        long tmo = m->o->ready_timeout_ms > 0 ? m->o->ready_timeout_ms : 10000;
        struct pollfd pf = { .fd = p[0], .events = POLLIN };
        int r;
        do
            r = poll(&pf, 1, (int)tmo);
        while (r < 0 && errno == EINTR);
        char c;
        if (r <= 0 || read(p[0], &c, 1) != 1)
            log_msg(LOG_WARN, "worker_not_ready", "worker %ld did not report ready in %ld ms",
                    (long)pid, tmo);
    }
    close(p[0]);
    log_msg(LOG_INFO, "worker_started", "worker %ld started (generation %u)", (long)pid, m->gen);
    return 0;
}

static master_slot *master_by_pid(master *m, pid_t pid)
{
    for (size_t i = 0; i < m->nslots; i++)
        if (m->slots[i].pid == pid)
            return &m->slots[i];
    return NULL;
}

static void master_term(master_slot *s, int64_t now)
{
    s->draining = true;
    s->term_first_ms = now;
    s->term_sent_ms = now;
    kill(s->pid, SIGTERM);
}

static void master_reap(master *m)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        master_slot *s = master_by_pid(m, pid);
        if (!s)
            continue;
        int64_t now = clock_mono_ms();
        bool crashed = !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        if (WIFSIGNALED(status))
            log_msg(s->draining ? LOG_INFO : LOG_WARN, "worker_exited",
                    "worker %ld killed by signal %d", (long)pid, WTERMSIG(status));
        else
            log_msg(s->draining && !crashed ? LOG_INFO : LOG_WARN, "worker_exited",
                    "worker %ld exited with status %d", (long)pid, WEXITSTATUS(status));
        s->pid = 0;
        if (s->draining || m->stopping) {
            s->restart_at_ms = 0; /* the slot is free */
            s->draining = false;
            s->backoff_ms = 0;
            continue;
        }
        /* Replace it; back off when workers die young (a crash loop). */
        if (now - s->started_ms < MASTER_FAST_EXIT_MS) {
            s->backoff_ms = s->backoff_ms == 0 ? MASTER_BACKOFF_MIN_MS : s->backoff_ms * 2;
            if (s->backoff_ms > MASTER_BACKOFF_MAX_MS)
                s->backoff_ms = MASTER_BACKOFF_MAX_MS;
        } else {
            s->backoff_ms = 0;
        }
        s->restart_at_ms = now + s->backoff_ms;
        if (s->restart_at_ms == 0)
            s->restart_at_ms = 1;
    }
}

static size_t master_alive(const master *m)
{
    size_t n = 0;
    for (size_t i = 0; i < m->nslots; i++)
        n += m->slots[i].pid > 0;
    return n;
}

static master_slot *master_free_slot(master *m)
{
    for (size_t i = 0; i < m->nslots; i++)
        if (m->slots[i].pid == 0 && m->slots[i].restart_at_ms == 0)
            return &m->slots[i];
    return NULL;
}

/* One step of a rolling restart: replace the first worker of an older generation. */
static void master_roll_one(master *m)
{
    for (size_t i = 0; i < m->nslots; i++) {
        master_slot *old = &m->slots[i];
        if (old->pid <= 0 || old->draining || old->gen == m->gen)
            continue;
        master_slot *fresh = master_free_slot(m);
        if (!fresh || master_spawn(m, fresh, true) != 0)
            return; /* try again next tick */
        master_term(old, clock_mono_ms());
        return;
    }
}

int master_run(const master_options *o)
{
    master *m = calloc(1, sizeof *m);
    if (!m)
        return 1;
    m->o = o;
    long n = o->workers < 1 ? 1 : o->workers > MASTER_MAX_WORKERS ? MASTER_MAX_WORKERS : o->workers;
    m->nslots = 2 * (size_t)n;
    long drain_ms = o->drain_timeout_ms > 0 ? o->drain_timeout_ms : 30000;

    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGCHLD);
    sigprocmask(SIG_BLOCK, &set, &m->old_mask);

    for (long i = 0; i < n; i++)
        master_spawn(m, &m->slots[i], false);
    if (master_alive(m) == 0) {
        log_msg(LOG_ERROR, "master_failed", "no worker could be started");
        free(m);
        return 1;
    }
    log_msg(LOG_INFO, "master_started", "%ld workers", n);

    for (;;) {
        struct timespec ts = { 0, MASTER_TICK_MS * 1000000L };
        siginfo_t si;
        int sig = sigtimedwait(&set, &si, &ts);
        int64_t now = clock_mono_ms();
        if ((sig == SIGTERM || sig == SIGINT) && !m->stopping) {
            log_msg(LOG_INFO, "master_draining", "SIG%s: draining %zu workers",
                    sig == SIGTERM ? "TERM" : "INT", master_alive(m));
            m->stopping = true;
            m->stop_deadline_ms = now + drain_ms;
            for (size_t i = 0; i < m->nslots; i++) {
                m->slots[i].restart_at_ms = 0;
                if (m->slots[i].pid > 0)
                    master_term(&m->slots[i], now);
            }
        } else if (sig == SIGHUP && !m->stopping) {
            m->gen++;
            log_msg(LOG_INFO, "master_rolling_restart",
                    "SIGHUP: restarting the workers one by one");
        }
        master_reap(m);
        now = clock_mono_ms();

        if (m->stopping && master_alive(m) == 0)
            break;
        for (size_t i = 0; i < m->nslots; i++) {
            master_slot *s = &m->slots[i];
            if (s->pid > 0 && s->draining) {
                int64_t deadline = m->stopping ? m->stop_deadline_ms : s->term_first_ms + drain_ms;
                if (now >= deadline) {
                    log_msg(LOG_WARN, "worker_killed", "worker %ld did not finish in %ld ms",
                            (long)s->pid, drain_ms);
                    kill(s->pid, SIGKILL);
                    m->killed = true;
                } else if (now - s->term_sent_ms >= MASTER_RESEND_MS) {
                    /* A SIGTERM that landed just before accept() did not interrupt it. */
                    kill(s->pid, SIGTERM);
                    s->term_sent_ms = now;
                }
            } else if (s->pid == 0 && s->restart_at_ms > 0 && now >= s->restart_at_ms &&
                       !m->stopping) {
                if (master_spawn(m, s, false) != 0)
                    s->restart_at_ms = now + MASTER_BACKOFF_MAX_MS;
            }
        }
        if (!m->stopping)
            master_roll_one(m);
        if (m->o->stats)
            __atomic_store_n(&m->o->stats->alive, (uint64_t)master_alive(m), __ATOMIC_RELAXED);
    }
    if (m->o->stats)
        __atomic_store_n(&m->o->stats->alive, 0, __ATOMIC_RELAXED);
    int rc = m->killed ? 1 : 0;
    log_msg(LOG_INFO, "master_stopped", "all workers stopped");
    sigprocmask(SIG_SETMASK, &m->old_mask, NULL);
    free(m);
    return rc;
}
