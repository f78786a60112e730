/* sdmetrics.h — cruddur-streamd's metrics for Prometheus: counters the daemon's loop bumps
 * (under a mutex: the loop is one thread, the listener another) and, with
 * CRUDDUR_METRICS_LISTEN, a small HTTP listener thread that answers GET /metrics with them in
 * the text format. Names and meanings: README, "Metrics". Every function accepts m NULL (no
 * metrics kept) and does nothing then. */
#ifndef CR_SDMETRICS_H
#define CR_SDMETRICS_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/errinfo.h"

#define SDMETRICS_SHARDS_MAX 1024 /* shards with their own series; older finished ones go */

typedef struct sdmetrics sdmetrics;

/* Kinds of errors counted (the log event of each). */
typedef enum sdmetrics_error {
    SDMETRICS_ERR_GET_RECORDS, /* get_records_failed */
    SDMETRICS_ERR_ITERATOR,    /* iterator_failed */
    SDMETRICS_ERR_CHECKPOINT,  /* checkpoint_failed */
    SDMETRICS_ERR_LEASE,       /* renew_failed, release_failed */
    SDMETRICS_ERR_SYNC,        /* sync_failed, startup_waiting */
    SDMETRICS_ERR_APPLY,       /* a batch not applied in full (the messages table) */
    SDMETRICS_ERR_GAP,         /* records trimmed before they were read */
    SDMETRICS_NERRORS
} sdmetrics_error;

/* Lease events. */
typedef enum sdmetrics_lease {
    SDMETRICS_LEASE_TAKEN,
    SDMETRICS_LEASE_LOST, /* taken by another owner, lost on renewal or at a checkpoint */
} sdmetrics_lease;

/* NULL on ENOMEM. */
sdmetrics *sdmetrics_new(void);
/* Stops the listener (when one runs) and frees m; accepts NULL. */
void sdmetrics_free(sdmetrics *m);

/* Listens on "HOST:PORT" (an IPv4 or [IPv6] literal: "127.0.0.1:9464") and serves GET
 * /metrics from a thread; other paths 404, other methods 405, slow or oversized requests
 * are dropped. 0, or -1 with e (ERR_CONFIG: a bad address; ERR_IO: cannot listen). */
int sdmetrics_listen(sdmetrics *m, const char *addr, errinfo *e);
/* The port the listener got (tests listen on port 0); 0 when none. */
int sdmetrics_port(const sdmetrics *m);

/* One GetRecords call on shard. */
void sdmetrics_get_records(sdmetrics *m, const char *shard);
/* One batch of n records applied on shard; lag_ms: now minus the approximate creation time
 * of its newest record (the iterator age), 0 when the batch was empty (caught up). */
void sdmetrics_batch(sdmetrics *m, const char *shard, size_t n, int64_t lag_ms);
void sdmetrics_dead_letter(sdmetrics *m);
void sdmetrics_lease_event(sdmetrics *m, sdmetrics_lease ev);
void sdmetrics_leases_held(sdmetrics *m, size_t n);
void sdmetrics_count_error(sdmetrics *m, sdmetrics_error kind);

/* The text exposition into out. 0, or -1 when out is full. */
int sdmetrics_render(sdmetrics *m, buf *out);

#endif
