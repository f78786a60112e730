/* master.h — the prefork master of cruddur-api: forks the workers on one listening
 * socket, replaces a worker that dies (with a backoff against crash loops), drains on
 * SIGTERM/SIGINT and restarts the workers one by one on SIGHUP. See DESIGN.md. */
#ifndef CR_API_MASTER_H
#define CR_API_MASTER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define MASTER_MAX_WORKERS 256

/* Runs in a new child process: serve listen_fd, write one byte to ready_fd once ready
 * (then close it), return the child's exit status. slot (0 .. 2 * workers - 1) is the
 * master's slot the worker runs in: a replacement of a dead or restarted worker may get
 * the same one (the metrics keep one set of counters per slot). */
typedef int (*master_worker_fn)(void *ud, int listen_fd, int ready_fd, size_t slot);

/* What the master keeps current for the metrics (in memory its workers can read). */
typedef struct master_stats {
    uint64_t alive;    /* workers running */
    uint64_t restarts; /* workers started after the first set */
} master_stats;

typedef struct master_options {
    int listen_fd; /* the listening socket, shared by every worker */
    long workers;  /* 1..MASTER_MAX_WORKERS */
    master_worker_fn worker_main;
    void *ud;              /* passed to worker_main */
    long drain_timeout_ms; /* SIGTERM → SIGKILL for a worker that does not finish;
                                  * 0: 30000 */
    long ready_timeout_ms; /* how long a rolling restart waits for a new worker; 0: 10000 */
    master_stats *stats;   /* NULL, or kept current (relaxed atomic stores) */
} master_options;

/* Forks the workers and supervises them until SIGTERM or SIGINT, after which it stops
 * accepting (each worker finishes the request in hand and exits) and returns 0 once every
 * worker is gone (1 when one had to be killed after drain_timeout_ms). Blocks SIGTERM,
 * SIGINT, SIGHUP and SIGCHLD in the calling process (workers start with them unblocked by
 * worker_main). Returns 1 at once when no worker could be forked. */
int master_run(const master_options *o);

#endif
