/* streamd_apply.c — applying one batch: the newest message of each conversation (pattern E,
 * groupsync.h) with bounded retries, or a dead letter; the conversations of a batch are
 * independent, so they are spread over the applier threads, each with its own DynamoDB
 * client and row cache. One conversation always goes to the same applier (a hash of its
 * uuid), so its cache entry stays warm and its records are applied in batch order. Before
 * handing the batch out, the loop moves the conversations whose rows an applier's cache
 * holds — those in use — together, in one TransactWriteItems for the whole batch
 * (groupsync_together_apply); the appliers then do the rest one by one. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aws/retry.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/rnd.h"
#include "messaging/groupsync.h"
#include "messaging/groupsync_cache.h"
#include "messaging/groupsync_together.h"
#include "streamd/deadletter.h"
#include "streamd/lease.h"
#include "streamd/plan.h"
#include "streamd/streamd_internal.h"

#define STREAMD_WAIT_SLICE_MS 100 /* the loop's keepalive while appliers work */

struct streamd_applier {
    streamd *s;
    ddb *d;                 /* borrowed: s->d when inline, else its own client */
    groupsync_cache *cache; /* owned; NULL: none */
    pthread_t thread;
    bool started;
    uint64_t moved, dead_letters; /* this batch's, summed by the loop afterwards */
    int rc;                       /* this batch's: 0, or -1 (read the batch again) */
};

/* One batch as the appliers see it: read-only while they work. */
struct streamd_batch {
    const char *shard;     /* a copy: keepalive may rewrite the lease meanwhile */
    const json_t *records; /* stream order */
    const bool *apply;     /* plan_batch */
    const long *fallback;  /* plan_batch */
    const int *owner;      /* the applier of record i; -1: superseded, nothing to do */
    const bool *done;      /* record i moved together already; NULL: none was */
    size_t n;
};

/* ---- one record ------------------------------------------------------------------------ */

static int64_t streamd_record_lag(const json_t *record);

/* Whether the messages table answers at all: tells a record that keeps failing (a dead
 * letter) from DynamoDB failing everything (an outage: wait, then read the batch again). */
static bool streamd_table_answers(streamd *s, ddb *d)
{
    json_t *desc = NULL;
    ddb_error err;
    ddb_error_clear(&err);
    int rc = ddb_describe_table(d, s->table, &desc, &err);
    json_decref(desc);
    return rc == 0;
}

/* Applies one record with bounded retries; a record that cannot be applied becomes a dead
 * letter. 0 when applied or dead-lettered (the shard may move on), -1 when the batch must be
 * read again: the table does not answer (an outage is no reason to dead-letter every record)
 * or not even the dead letter could be stored. *bad set when the record proved malformed or
 * unappliable. */
static int streamd_apply(streamd_applier *a, const char *shard, const json_t *record, bool *bad,
                         groupsync_result *res)
{
    streamd *s = a->s;
    const char *seq = plan_record_seq(record);
    ddb_error err;
    ddb_error_clear(&err);
    groupsync_status rc = GROUPSYNC_RETRY;
    int attempt;
    *bad = false;
    retry_policy rp = { .max_attempts = s->record_attempts, .base_ms = 100, .cap_ms = 2000 };
    for (attempt = 1; attempt <= s->record_attempts; attempt++) {
        ddb_error_clear(&err);
        rc = groupsync_apply_cached(a->d, s->table, a->cache, record, res, &err);
        if (rc != GROUPSYNC_RETRY)
            break;
        if (attempt < s->record_attempts) {
            json_t *f = json_pack("{s:s, s:s, s:i, s:s}", "shard", shard, "sequence",
                                  seq ? seq : "", "attempt", attempt, "error", err.info.msg);
            log_fields(LOG_WARN, "record_retry", f);
            clock_sleep_ms(retry_delay_ms(&rp, attempt - 1, rnd_u64()));
        }
    }
    if (rc == GROUPSYNC_RETRY) {
        if (!streamd_table_answers(s, a->d)) {
            json_t *f = json_pack("{s:s, s:s, s:s}", "shard", shard, "sequence", seq ? seq : "",
                                  "error", err.info.msg);
            log_fields(LOG_ERROR, "table_unavailable", f);
            return -1;
        }
        /* The table answers: when the failures were an outage that has just ended, one more
         * try settles the record instead of making it a dead letter. */
        ddb_error_clear(&err);
        rc = groupsync_apply_cached(a->d, s->table, a->cache, record, res, &err);
    }
    int64_t age = streamd_record_lag(record);
    groupsync_msg m;
    errinfo pe;
    if (rc == GROUPSYNC_OK && res->action == GROUPSYNC_NO_GROUP && age >= 0 &&
        age < STREAMD_YOUNG_MS && groupsync_parse_record(record, &m, &pe) == GROUPSYNC_OK &&
        !m.sender[0]) {
        /* On AWS the index may not show a conversation created a moment ago, and without
         * its sender the message cannot be traced through the base table (groupsync does
         * that otherwise): look once more before deciding that it has no rows. */
        clock_sleep_ms(STREAMD_NO_GROUP_PAUSE_MS);
        ddb_error_clear(&err);
        rc = groupsync_apply_cached(a->d, s->table, a->cache, record, res, &err);
        if (rc == GROUPSYNC_RETRY)
            rc = GROUPSYNC_OK; /* it had no rows a moment ago: nothing to move then */
    }
    if (rc == GROUPSYNC_OK) {
        if (res->action == GROUPSYNC_MOVED)
            a->moved++;
        return 0;
    }
    *bad = rc == GROUPSYNC_BAD;
    if (attempt > s->record_attempts)
        attempt = s->record_attempts;
    ddb_error dl;
    ddb_error_clear(&dl);
    if (!seq || !lease_is_seq(seq) ||
        deadletter_put(a->d, s->lease_table, s->arn, shard, seq, record, err.info.msg, attempt,
                       s->deadletter_ttl_s, &dl) != 0) {
        json_t *f = json_pack("{s:s, s:s, s:s, s:s}", "shard", shard, "sequence", seq ? seq : "",
                              "reason", err.info.msg, "error",
                              seq && lease_is_seq(seq) ? dl.info.msg : "no sequence number");
        log_fields(LOG_ERROR, "dead_letter_failed", f);
        /* A record without a sequence number cannot be stored nor re-read: skip it. */
        return seq && lease_is_seq(seq) ? -1 : 0;
    }
    a->dead_letters++;
    sdmetrics_dead_letter(s->metrics);
    json_t *f = json_pack("{s:s, s:s, s:s, s:s, s:i}", "shard", shard, "sequence", seq, "group",
                          res->group, "reason", err.info.msg, "attempts", attempt);
    log_fields(LOG_ERROR, "dead_letter", f);
    return 0;
}

/* The age of a message record: now minus its created_at (microseconds), or -1 for any
 * other record (the stream's ApproximateCreationDateTime is too coarse to tell a lag). */
static int64_t streamd_record_lag(const json_t *record)
{
    const char *group, *created_at;
    int64_t us;
    if (!plan_message_key(record, &group, &created_at) ||
        clock_parse_iso8601_us(created_at, &us) != 0)
        return -1;
    int64_t lag = (clock_real_us() - us) / 1000;
    return lag > 0 ? lag : 0;
}

/* ---- one applier's share of a batch ---------------------------------------------------- */

/* Record i, one the plan supersedes but that may be malformed: a malformed one is still a
 * dead letter for an operator to see. */
static int streamd_apply_superseded(streamd_applier *a, const struct streamd_batch *b, size_t i)
{
    groupsync_result dummy;
    bool bad;
    memset(&dummy, 0, sizeof dummy);
    return streamd_apply(a, b->shard, json_array_get(b->records, i), &bad, &dummy);
}

/* The record line of a record applied (not one ignored, below info). */
static void streamd_log_record(const struct streamd_batch *b, const json_t *record,
                               const groupsync_result *res)
{
    log_level lvl = res->action == GROUPSYNC_IGNORED ? LOG_DEBUG : LOG_INFO;
    if (!log_enabled(lvl))
        return;
    const char *seq = plan_record_seq(record);
    int64_t lag = streamd_record_lag(record);
    log_fields(lvl, "record",
               json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:I}", "shard", b->shard, "sequence",
                         seq ? seq : "", "group", res->group, "created_at", res->created_at,
                         "action", groupsync_action_name(res->action), "moved", res->moved,
                         "lag_ms", (json_int_t)(lag > 0 ? lag : 0)));
}

/* The newest message of a conversation, falling back to the next-older one of the batch
 * while the one in hand proves bad (it is a dead letter then). */
static int streamd_apply_newest(streamd_applier *a, const struct streamd_batch *b, size_t i)
{
    long at = (long)i;
    while (at >= 0) {
        const json_t *cur = json_array_get(b->records, (size_t)at);
        groupsync_result res;
        memset(&res, 0, sizeof res);
        bool bad;
        if (streamd_apply(a, b->shard, cur, &bad, &res) != 0)
            return -1;
        if (!bad) {
            streamd_log_record(b, cur, &res);
            return 0;
        }
        at = b->fallback[at];
    }
    return 0;
}

/* The newest messages of the batch's conversations whose rows an applier's cache holds,
 * moved together in as few transactions as they fit (groupsync_together_apply), by the
 * loop's client while the appliers wait for the batch: one commit for the conversations in
 * use instead of one each. On DynamoDB transactions take turns, and a consistent read that
 * meets one waits for it, so one commit for all makes every row visible soonest. done[i] is
 * set for each record i so applied; the rest, and all of them when memory runs short, go
 * one by one. The number moved. */
static uint64_t streamd_apply_together(streamd *s, const struct streamd_batch *b, bool *done)
{
    /* caches[i]: the cache of record i's applier when it is the newest message of its
     * conversation; NULL (not to move together) for every other record */
    groupsync_cache **caches = calloc(b->n, sizeof *caches);
    const json_t **recs = malloc(b->n * sizeof *recs);
    groupsync_result *res = malloc(b->n * sizeof *res);
    uint64_t moved = 0;
    if (caches && recs && res) {
        size_t k = 0;
        for (size_t i = 0; i < b->n; i++) {
            recs[i] = json_array_get(b->records, i);
            if (b->owner[i] >= 0 && b->apply[i])
                k += (caches[i] = s->appliers[b->owner[i]].cache) != NULL;
        }
        if (k >= 2)
            moved = groupsync_together_apply(s->d, s->table, caches, recs, b->n, done, res);
        for (size_t i = 0; moved > 0 && i < b->n; i++)
            if (done[i])
                streamd_log_record(b, recs[i], &res[i]);
    }
    free(caches);
    free(recs);
    free(res);
    return moved;
}

/* Applies the records of b that are a's and not moved together already, in batch order;
 * inline, keeps the leases alive between records. 0, or -1 at the first record that needs
 * the batch read again. */
static int streamd_applier_do(streamd_applier *a, const struct streamd_batch *b, int self,
                              bool inline_run)
{
    for (size_t i = 0; i < b->n; i++) {
        if (b->owner[i] != self || (b->done && b->done[i]))
            continue;
        if (inline_run)
            streamd_keepalive(a->s);
        int rc = b->apply[i] ? streamd_apply_newest(a, b, i) : streamd_apply_superseded(a, b, i);
        if (rc != 0)
            return -1;
    }
    return 0;
}

static void *streamd_applier_main(void *arg)
{
    streamd_applier *a = arg;
    streamd *s = a->s;
    int self = (int)(a - s->appliers);
    uint64_t seen = 0;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        while (!s->quit && s->generation == seen)
            pthread_cond_wait(&s->work, &s->mu);
        if (s->quit)
            break;
        seen = s->generation;
        const struct streamd_batch *b = s->batch;
        pthread_mutex_unlock(&s->mu);
        a->rc = streamd_applier_do(a, b, self, false);
        pthread_mutex_lock(&s->mu);
        if (--s->busy == 0)
            pthread_cond_signal(&s->done);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/* ---- the appliers ---------------------------------------------------------------------- */

int streamd_appliers_start(streamd *s, const streamd_options *o, errinfo *e)
{
    int k = o->napply_clients > 1 ? o->napply_clients : 1;
    if (o->napply_clients > STREAMD_APPLIERS_MAX) {
        errinfo_set(e, ERR_CONFIG, "streamd: at most %d appliers", STREAMD_APPLIERS_MAX);
        return -1;
    }
    for (int i = 0; k > 1 && i < k; i++)
        if (!o->apply_clients || !o->apply_clients[i] || o->apply_clients[i] == o->d) {
            errinfo_set(e, ERR_CONFIG, "streamd: each applier needs a client of its own");
            return -1;
        }
    if (!(s->appliers = calloc((size_t)k, sizeof *s->appliers)))
        goto nomem;
    s->nappliers = k;
    size_t groups =
        o->group_cache > 0 ? (size_t)o->group_cache : (size_t)GROUPSYNC_CACHE_GROUPS_DEFAULT;
    size_t share = groups / (size_t)k ? groups / (size_t)k : 1;
    for (int i = 0; i < k; i++) {
        streamd_applier *a = &s->appliers[i];
        a->s = s;
        a->d = k > 1 ? o->apply_clients[i] : o->d;
        if (o->group_cache >= 0 && !(a->cache = groupsync_cache_new(share)))
            goto nomem;
    }
    if (k == 1)
        return 0;
    pthread_condattr_t ca;
    if (pthread_condattr_init(&ca) != 0)
        goto nomem;
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    bool ok = pthread_mutex_init(&s->mu, NULL) == 0;
    ok = pthread_cond_init(&s->work, NULL) == 0 && ok;
    ok = pthread_cond_init(&s->done, &ca) == 0 && ok;
    pthread_condattr_destroy(&ca);
    if (!ok)
        goto nomem;
    s->pool_ready = true;
    for (int i = 0; i < k; i++) {
        if (pthread_create(&s->appliers[i].thread, NULL, streamd_applier_main, &s->appliers[i]) !=
            0) {
            errinfo_set(e, ERR_SERVICE, "streamd: cannot start applier thread %d", i);
            return -1;
        }
        s->appliers[i].started = true;
    }
    return 0;
nomem:
    errinfo_nomem(e);
    return -1;
}

void streamd_appliers_stop(streamd *s)
{
    if (!s->appliers)
        return;
    if (s->pool_ready) {
        pthread_mutex_lock(&s->mu);
        s->quit = true;
        pthread_cond_broadcast(&s->work);
        pthread_mutex_unlock(&s->mu);
        for (int i = 0; i < s->nappliers; i++)
            if (s->appliers[i].started)
                pthread_join(s->appliers[i].thread, NULL);
        pthread_cond_destroy(&s->work);
        pthread_cond_destroy(&s->done);
        pthread_mutex_destroy(&s->mu);
        s->pool_ready = false;
    }
    for (int i = 0; i < s->nappliers; i++)
        groupsync_cache_free(s->appliers[i].cache);
    free(s->appliers);
    s->appliers = NULL;
    s->nappliers = 0;
}

void streamd_appliers_cache_stats(const streamd *s, groupsync_cache_stats *out)
{
    memset(out, 0, sizeof *out);
    for (int i = 0; i < s->nappliers; i++) {
        groupsync_cache_stats one;
        groupsync_cache_get_stats(s->appliers[i].cache, &one);
        out->hits += one.hits;
        out->misses += one.misses;
        out->stale += one.stale;
        out->entries += one.entries;
    }
}

/* Hands b to every applier thread and waits for all of them, keeping the leases alive
 * meanwhile. 0, or -1 when any of them needs the batch read again. */
static int streamd_appliers_run(streamd *s, const struct streamd_batch *b)
{
    pthread_mutex_lock(&s->mu);
    s->batch = b;
    s->busy = s->nappliers;
    s->generation++;
    pthread_cond_broadcast(&s->work);
    while (s->busy > 0) {
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_nsec += STREAMD_WAIT_SLICE_MS * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        int w = pthread_cond_timedwait(&s->done, &s->mu, &until);
        if (w == ETIMEDOUT && s->busy > 0) {
            pthread_mutex_unlock(&s->mu);
            streamd_keepalive(s);
            pthread_mutex_lock(&s->mu);
        }
    }
    s->batch = NULL;
    pthread_mutex_unlock(&s->mu);
    int rc = 0;
    for (int i = 0; i < s->nappliers; i++)
        if (s->appliers[i].rc != 0)
            rc = -1;
    return rc;
}

/* FNV-1a of a conversation's uuid: which applier it belongs to. */
static int streamd_applier_of(const streamd *s, const char *group)
{
    uint32_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)group; *p; p++)
        h = (h ^ *p) * 16777619u;
    return (int)(h % (uint32_t)s->nappliers);
}

/* ---- one batch ------------------------------------------------------------------------- */

int streamd_apply_batch(streamd *s, streamd_shard *sh, const json_t *records)
{
    size_t n = json_array_size(records);
    if (n == 0)
        return 0;
    bool *apply = malloc(n * sizeof *apply);
    long *fallback = malloc(n * sizeof *fallback);
    int *owner = malloc(n * sizeof *owner);
    bool *done = calloc(n, sizeof *done);
    char shard[LEASE_ID_MAX];
    int rc = -1;
    if (!apply || !fallback || !owner || plan_batch(records, apply, fallback) < 0) {
        log_msg(LOG_ERROR, "out_of_memory", "applying a batch of %zu records", n);
        goto out;
    }
    snprintf(shard, sizeof shard, "%s", sh->l.shard_id);
    /* Decide who does what: superseded messages are only counted (a malformed one is still
     * a dead letter), the rest goes to the applier of its conversation. */
    for (size_t i = 0; i < n; i++) {
        const json_t *r = json_array_get(records, i);
        const char *group, *created_at;
        s->stats.records++;
        owner[i] = plan_message_key(r, &group, &created_at) ? streamd_applier_of(s, group)
                                                            : (int)(i % (size_t)s->nappliers);
        if (apply[i])
            continue;
        groupsync_msg m;
        errinfo pe;
        if (groupsync_parse_record(r, &m, &pe) == GROUPSYNC_BAD)
            continue;
        owner[i] = -1;
        s->stats.superseded++;
        if (log_enabled(LOG_DEBUG)) {
            const char *seq = plan_record_seq(r);
            log_fields(LOG_DEBUG, "record",
                       json_pack("{s:s, s:s, s:s, s:s}", "shard", shard, "sequence", seq ? seq : "",
                                 "group", m.group, "action", "superseded"));
        }
    }
    struct streamd_batch b = { .shard = shard,
                               .records = records,
                               .apply = apply,
                               .fallback = fallback,
                               .owner = owner,
                               .n = n };
    if (done) { /* without memory for it, all go one by one */
        streamd_keepalive(s);
        s->stats.moved += streamd_apply_together(s, &b, done);
        b.done = done;
    }
    for (int i = 0; i < s->nappliers; i++)
        s->appliers[i].moved = s->appliers[i].dead_letters = 0;
    rc = s->nappliers == 1 ? streamd_applier_do(&s->appliers[0], &b, 0, true)
                           : streamd_appliers_run(s, &b);
    for (int i = 0; i < s->nappliers; i++) {
        s->stats.moved += s->appliers[i].moved;
        s->stats.dead_letters += s->appliers[i].dead_letters;
    }
    /* The shard's lag: the age of the newest message record of the batch, now applied. */
    for (size_t i = n; i-- > 0;) {
        int64_t lag = streamd_record_lag(json_array_get(records, i));
        if (lag >= 0) {
            sh->lag_ms = lag;
            break;
        }
    }
out:
    free(apply);
    free(fallback);
    free(owner);
    free(done);
    return rc;
}
