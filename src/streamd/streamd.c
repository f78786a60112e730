/* streamd.c — the stream daemon's loop: sync (shards, leases: streamd_lease.c), then one
 * batch per ready shard (streamd_poll.c), then sleep until the next poll. Only the
 * conversations of one batch are applied at once (streamd_apply.c); the loop waits for all
 * of them before it checkpoints, so a batch's checkpoint never races with its records. */
#include "config.h"

#include "streamd/streamd.h"

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/rnd.h"
#include "messaging/groupsync_cache.h"
#include "streamd/deadletter.h"
#include "streamd/lease.h"
#include "streamd/notify.h"
#include "streamd/streamd_internal.h"

static volatile sig_atomic_t streamd_stop_flag;

void streamd_request_stop(void)
{
    streamd_stop_flag = 1;
}

/* A shard this daemon holds. */
static char *streamd_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

streamd *streamd_new(const streamd_options *o, errinfo *e)
{
    if (!o || !o->d || !o->table || !*o->table || !o->lease_table || !*o->lease_table) {
        errinfo_set(e, ERR_CONFIG, "streamd: the client, table and lease table are required");
        return NULL;
    }
    if (o->poll_ms < 1 || o->lease_timeout_ms < 100 || o->record_attempts < 1 ||
        o->batch_limit < 1 || o->batch_limit > 1000) {
        errinfo_set(e, ERR_CONFIG,
                    "streamd: poll, lease timeout, attempts or batch limit "
                    "out of range");
        return NULL;
    }
    streamd *s = calloc(1, sizeof *s);
    if (!s)
        goto nomem;
    s->d = o->d;
    s->latest = o->latest;
    s->once = o->once;
    s->give_up_ms = o->give_up_ms > 0 ? o->give_up_ms : STREAMD_GIVE_UP_MS;
    s->poll_ms = o->poll_ms;
    s->metrics = o->metrics;
    s->lease_timeout_ms = o->lease_timeout_ms;
    s->record_attempts = o->record_attempts;
    s->deadletter_ttl_s =
        o->deadletter_ttl_s > 0 ? o->deadletter_ttl_s : DEADLETTER_TTL_DAYS_DEFAULT * 86400L;
    s->batch_limit = o->batch_limit;
    s->table = streamd_strdup(o->table);
    s->lease_table = streamd_strdup(o->lease_table);
    s->arn_option = o->stream_arn ? streamd_strdup(o->stream_arn) : NULL;
    if (o->owner) {
        if (!*o->owner || strlen(o->owner) >= LEASE_OWNER_MAX) {
            streamd_free(s);
            errinfo_set(e, ERR_CONFIG, "streamd: the owner name must be 1..%d characters",
                        LEASE_OWNER_MAX - 1);
            return NULL;
        }
        s->owner = streamd_strdup(o->owner);
    } else {
        char host[64] = "host", name[LEASE_OWNER_MAX];
        gethostname(host, sizeof host - 1);
        host[sizeof host - 1] = '\0';
        /* PID 1 is a container's own process: its host name (the container's) stays the same
         * across restarts of that container and differs between containers, so a restarted
         * daemon resumes its leases at once instead of waiting out the lease timeout. */
        if (getpid() == 1)
            snprintf(name, sizeof name, "%s:1", host);
        else
            snprintf(name, sizeof name, "%s:%ld:%04x", host, (long)getpid(),
                     (unsigned)rnd_below(0x10000));
        s->owner = streamd_strdup(name);
    }
    s->held = calloc(STREAMD_MAX_SHARDS, sizeof *s->held);
    s->obs = calloc(STREAMD_MAX_SHARDS, sizeof *s->obs);
    if (!s->table || !s->lease_table || (o->stream_arn && !s->arn_option) || !s->owner ||
        !s->held || !s->obs) {
        streamd_free(s);
        goto nomem;
    }
    if (streamd_appliers_start(s, o, e) != 0) {
        streamd_free(s);
        return NULL;
    }
    return s;
nomem:
    errinfo_nomem(e);
    return NULL;
}

void streamd_free(streamd *s)
{
    if (!s)
        return;
    streamd_appliers_stop(s);
    for (size_t i = 0; i < s->nheld; i++)
        free(s->held[i].iterator);
    free(s->held);
    free(s->obs);
    free(s->table);
    free(s->lease_table);
    free(s->arn_option);
    free(s->owner);
    free(s);
}

void streamd_get_stats(const streamd *s, streamd_stats *out)
{
    *out = s->stats;
    groupsync_cache_stats cs;
    streamd_appliers_cache_stats(s, &cs);
    out->cache_hits = cs.hits;
    out->cache_misses = cs.misses;
    out->cache_stale = cs.stale;
    out->shards = (int)s->nheld;
    out->lag_ms = 0;
    for (size_t i = 0; i < s->nheld; i++)
        if (s->held[i].lag_ms > out->lag_ms)
            out->lag_ms = s->held[i].lag_ms;
}

/* Sleeps up to ms, in slices, returning early when a stop is asked for. */
static void streamd_nap(int64_t ms)
{
    while (ms > 0 && !streamd_stop_flag) {
        int64_t slice = ms < 100 ? ms : 100;
        struct timespec ts = { .tv_sec = 0, .tv_nsec = (long)slice * 1000000L };
        nanosleep(&ts, NULL);
        ms -= slice;
    }
}

void streamd_log_error(streamd *s, const char *event, const char *shard, const ddb_error *err)
{
    static const struct {
        const char *event;
        sdmetrics_error kind;
    } kinds[] = {
        { "get_records_failed", SDMETRICS_ERR_GET_RECORDS },
        { "iterator_failed", SDMETRICS_ERR_ITERATOR },
        { "checkpoint_failed", SDMETRICS_ERR_CHECKPOINT },
        { "renew_failed", SDMETRICS_ERR_LEASE },
        { "release_failed", SDMETRICS_ERR_LEASE },
        { "sync_failed", SDMETRICS_ERR_SYNC },
        { "startup_waiting", SDMETRICS_ERR_SYNC },
    };
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (strcmp(event, kinds[i].event) == 0)
            sdmetrics_count_error(s->metrics, kinds[i].kind);
    json_t *f =
        json_pack("{s:s, s:s, s:s, s:I}", "shard", shard ? shard : "", "error", err->info.msg,
                  "type", err->type, "http_status", (json_int_t)err->http_status);
    log_fields(LOG_WARN, event, f);
}

/* ---- the loop -------------------------------------------------------------------------- */

static void streamd_status(streamd *s)
{
    streamd_stats st;
    streamd_get_stats(s, &st);
    char line[256];
    snprintf(line, sizeof line,
             "STATUS=%d shards, lag %" PRId64 " ms, %" PRIu64 " records, %" PRIu64
             " moved, %" PRIu64 " dead letters",
             st.shards, st.lag_ms, st.records, st.moved, st.dead_letters);
    notify_send(line);
}

static void streamd_release_all(streamd *s)
{
    while (s->nheld > 0) {
        streamd_shard *sh = &s->held[s->nheld - 1];
        ddb_error err;
        ddb_error_clear(&err);
        if (lease_release(s->d, s->lease_table, &sh->l, &err) == LEASE_ERROR)
            streamd_log_error(s, "release_failed", sh->l.shard_id, &err);
        streamd_drop(s, sh, "stopping");
    }
}

int streamd_run(streamd *s, errinfo *e)
{
    ddb_error err;
    ddb_error_clear(&err);
    int64_t wd_usec = notify_watchdog_usec();
    s->wd_every_ms = wd_usec > 0 ? wd_usec / 2000 : 0;
    s->next_wd_ms = 0;
    int64_t started_ms = clock_mono_ms();

    /* Start-up: the lease table and the stream. A daemon waits for them (the table may be
     * created a moment later by `cruddur setup`); --once fails at once. */
    for (;;) {
        ddb_error_clear(&err);
        if (lease_table_ensure(s->d, s->lease_table, 60000, &err) == 0 &&
            streamd_resolve_arn(s, &err) == 0)
            break;
        if (s->once || streamd_stop_flag) {
            errinfo_set(e, ERR_SERVICE, "%s", err.info.msg);
            return -1;
        }
        streamd_log_error(s, "startup_waiting", NULL, &err);
        notify_send("STATUS=waiting for the table, its stream and the lease table");
        streamd_nap(5000);
    }
    log_fields(LOG_INFO, "started",
               json_pack("{s:s, s:s, s:s, s:s, s:b, s:i}", "owner", s->owner, "table", s->table,
                         "lease_table", s->lease_table, "stream", s->arn, "once", s->once,
                         "apply_threads", s->nappliers));
    notify_send("READY=1");

    int sync_failures = 0;
    while (!streamd_stop_flag) {
        int64_t now = clock_mono_ms();
        streamd_keepalive(s);
        if (now >= s->next_sync_ms || s->sync_again) {
            s->sync_again = false;
            ddb_error_clear(&err);
            if (streamd_sync(s, now, &err) != 0) {
                streamd_log_error(s, "sync_failed", NULL, &err);
                if (s->once && ++sync_failures >= 5) {
                    errinfo_set(e, ERR_SERVICE, "%s", err.info.msg);
                    streamd_release_all(s);
                    return -1;
                }
                s->next_sync_ms = now + 1000;
            } else {
                sync_failures = 0;
                long every = s->lease_timeout_ms / 3 < 1000 ? s->lease_timeout_ms / 3 : 1000;
                s->next_sync_ms = now + every;
            }
            streamd_status(s);
        }
        /* One batch for each held shard whose turn it is. */
        for (size_t i = 0; i < s->nheld && !streamd_stop_flag;) {
            streamd_shard *sh = &s->held[i];
            size_t before = s->nheld;
            if (clock_mono_ms() >= sh->next_poll_ms && !(s->once && sh->drained))
                streamd_poll(s, sh, clock_mono_ms());
            if (s->nheld == before)
                i++; /* else the slot now holds another shard: look at it */
        }
        /* --once gives up on an outage that lasts: a shard failing give_up_ms in a row. */
        for (size_t i = 0; s->once && i < s->nheld; i++) {
            const streamd_shard *sh = &s->held[i];
            if (sh->failing_ms && clock_mono_ms() - sh->failing_ms >= s->give_up_ms) {
                errinfo_set(e, ERR_SERVICE,
                            "--once gives up: shard %s has failed for %.1f s "
                            "(last: %s); its checkpoint stays after the last applied batch",
                            sh->l.shard_id, (double)s->give_up_ms / 1000.0, sh->why);
                streamd_release_all(s);
                return -1;
            }
        }
        /* --once is done when every shard it holds is drained and nothing is left to take —
         * after waiting out the lease timeout when other owners hold leases, so the leases
         * of a dead daemon are taken over and drained too. */
        if (s->once && !s->sync_again && s->took_nothing &&
            (s->others_hold == 0 || clock_mono_ms() - started_ms > s->lease_timeout_ms + 2000)) {
            bool all = true;
            for (size_t i = 0; i < s->nheld && all; i++)
                all = s->held[i].drained;
            if (all)
                break;
        }
        /* Sleep until the next poll or sync. */
        int64_t wake = s->next_sync_ms;
        for (size_t i = 0; i < s->nheld; i++)
            if (!(s->once && s->held[i].drained) && s->held[i].next_poll_ms < wake)
                wake = s->held[i].next_poll_ms;
        if (s->wd_every_ms && s->next_wd_ms < wake)
            wake = s->next_wd_ms;
        int64_t pause = wake - clock_mono_ms();
        if (pause > 0 && !s->sync_again)
            streamd_nap(pause);
    }
    notify_send("STOPPING=1");
    streamd_release_all(s);
    streamd_stats st;
    streamd_get_stats(s, &st);
    log_fields(LOG_INFO, "stopped",
               json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "records", (json_int_t)st.records,
                         "moved", (json_int_t)st.moved, "superseded", (json_int_t)st.superseded,
                         "dead_letters", (json_int_t)st.dead_letters, "cache_hits",
                         (json_int_t)st.cache_hits, "cache_misses", (json_int_t)st.cache_misses,
                         "cache_stale", (json_int_t)st.cache_stale));
    return 0;
}
