/* streamd.c — the stream daemon's loop: sync (shards, leases), then one batch per ready
 * shard, then sleep until the next poll; single-threaded, so a record's retries and a
 * batch's checkpoint never race with each other. */
#include "config.h"

#include "streamd/streamd.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "aws/ddb_av.h"
#include "aws/ddbstreams.h"
#include "aws/retry.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/rnd.h"
#include "messaging/groupsync.h"
#include "streamd/deadletter.h"
#include "streamd/lease.h"
#include "streamd/notify.h"
#include "streamd/plan.h"

#define STREAMD_MAX_SHARDS 4096       /* leases and shards tracked; far above any table's */
#define STREAMD_BACKOFF_MAX_MS 5000
#define STREAMD_YOUNG_MS 30000         /* a record this young may precede its index entries */
#define STREAMD_NO_GROUP_PAUSE_MS 500

static volatile sig_atomic_t streamd_stop_flag;

void streamd_request_stop(void)
{
    streamd_stop_flag = 1;
}

/* A shard this daemon holds. */
typedef struct streamd_shard {
    lease l;                      /* our copy: owner = us, counter = the last we wrote */
    char *iterator;               /* NULL: acquire from the checkpoint */
    int64_t next_poll_ms;
    int64_t backoff_ms;
    int64_t renewed_ms;           /* when we last bumped the counter */
    int64_t lag_ms;
    bool drained;                 /* read to its current end (an empty batch) */
    int64_t failing_ms;           /* when its current run of failed polls began; 0: none */
    char why[sizeof ((errinfo *)0)->msg]; /* the last failure, for --once giving up */
    bool lost;                    /* a renewal found it taken: drop after the batch */
} streamd_shard;

struct streamd {
    ddb *d;
    char *table, *lease_table, *arn_option, *owner;
    char arn[LEASE_ARN_MAX];
    bool latest, once;
    long poll_ms, lease_timeout_ms, give_up_ms;
    int record_attempts, batch_limit;
    long deadletter_ttl_s;

    streamd_shard *held;
    size_t nheld;
    plan_obs *obs;
    size_t nobs;
    int64_t next_sync_ms;
    bool sync_again;              /* a shard ended: its children may be ready now */
    bool took_nothing;            /* the last sync found nothing left to take */
    size_t others_hold;           /* unfinished leases other owners hold (last sync) */
    int64_t wd_every_ms, next_wd_ms;
    streamd_stats stats;
};

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
        errinfo_set(e, ERR_CONFIG, "streamd: poll, lease timeout, attempts or batch limit "
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
    s->lease_timeout_ms = o->lease_timeout_ms;
    s->record_attempts = o->record_attempts;
    s->deadletter_ttl_s = o->deadletter_ttl_s > 0 ? o->deadletter_ttl_s
                                                  : DEADLETTER_TTL_DAYS_DEFAULT * 86400L;
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
    return s;
nomem:
    errinfo_set(e, ERR_NOMEM, "out of memory");
    return NULL;
}

void streamd_free(streamd *s)
{
    if (!s)
        return;
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

static void streamd_log_error(const char *event, const char *shard, const ddb_error *err)
{
    json_t *f = json_pack("{s:s, s:s, s:s, s:I}", "shard", shard ? shard : "", "error",
                          err->info.msg, "type", err->type, "http_status",
                          (json_int_t)err->http_status);
    log_fields(LOG_WARN, event, f);
}

/* ---- the stream ------------------------------------------------------------------------ */

static int streamd_resolve_arn(streamd *s, ddb_error *err)
{
    if (s->arn_option) {
        snprintf(s->arn, sizeof s->arn, "%s", s->arn_option);
        return 0;
    }
    json_t *desc = NULL;
    if (ddb_describe_table(s->d, s->table, &desc, err) != 0)
        return -1;
    const char *arn = json_string_value(json_object_get(desc, "LatestStreamArn"));
    const json_t *spec = json_object_get(desc, "StreamSpecification");
    bool enabled = json_is_true(json_object_get(spec, "StreamEnabled"));
    if (!arn || !enabled || strlen(arn) >= sizeof s->arn) {
        json_decref(desc);
        errinfo_set(&err->info, ERR_CONFIG,
                    "table %s has no stream: enable it (NEW_IMAGE), e.g. cruddur ddb "
                    "schema-load creates the table with its stream",
                    s->table);
        return -1;
    }
    if (strcmp(arn, s->arn) != 0)
        log_fields(LOG_INFO, "stream", json_pack("{s:s, s:s}", "table", s->table, "stream",
                                                 arn));
    snprintf(s->arn, sizeof s->arn, "%s", arn);
    json_decref(desc);
    return 0;
}

static streamd_shard *streamd_held(streamd *s, const char *shard_id)
{
    for (size_t i = 0; i < s->nheld; i++)
        if (strcmp(s->held[i].l.shard_id, shard_id) == 0)
            return &s->held[i];
    return NULL;
}

static void streamd_drop(streamd *s, streamd_shard *sh, const char *why)
{
    log_fields(LOG_INFO, "lease_dropped", json_pack("{s:s, s:s}", "shard", sh->l.shard_id,
                                                    "reason", why));
    free(sh->iterator);
    size_t i = (size_t)(sh - s->held);
    s->held[i] = s->held[s->nheld - 1];
    s->nheld--;
}

static void streamd_hold(streamd *s, const lease *l, int64_t now)
{
    streamd_shard *sh = &s->held[s->nheld++];
    memset(sh, 0, sizeof *sh);
    sh->l = *l;
    sh->next_poll_ms = now;
    sh->renewed_ms = now;
    log_fields(LOG_INFO, "lease_taken", json_pack("{s:s, s:s, s:I}", "shard", l->shard_id,
                                                  "checkpoint", l->checkpoint, "counter",
                                                  (json_int_t)l->counter));
}

/* Creates a lease for every shard of the stream that has none. */
static int streamd_create_leases(streamd *s, const json_t *shards, const lease *leases,
                                 size_t n, bool *created, ddb_error *err)
{
    size_t i;
    const json_t *sh;
    json_array_foreach(shards, i, sh) {
        const char *id = json_string_value(json_object_get(sh, "ShardId"));
        const char *parent = json_string_value(json_object_get(sh, "ParentShardId"));
        if (!id || !*id || strlen(id) >= LEASE_ID_MAX)
            continue;
        bool have = false;
        for (size_t k = 0; k < n && !have; k++)
            have = strcmp(leases[k].shard_id, id) == 0;
        if (have)
            continue;
        lease l;
        memset(&l, 0, sizeof l);
        snprintf(l.shard_id, sizeof l.shard_id, "%s", id);
        snprintf(l.stream_arn, sizeof l.stream_arn, "%s", s->arn);
        bool known_parent = false;
        if (parent && *parent && strlen(parent) < LEASE_ID_MAX) {
            snprintf(l.parents[0], sizeof l.parents[0], "%s", parent);
            l.nparents = 1;
            for (size_t k = 0; k < n && !known_parent; k++)
                known_parent = strcmp(leases[k].shard_id, parent) == 0;
            for (size_t j = 0; j < json_array_size(shards) && !known_parent; j++) {
                const char *other = json_string_value(
                    json_object_get(json_array_get(shards, j), "ShardId"));
                known_parent = other && strcmp(other, parent) == 0;
            }
        }
        /* A child of a shard we know always starts at its beginning; --latest only skips
         * the history of the shards there when we first came. */
        snprintf(l.checkpoint, sizeof l.checkpoint, "%s",
                 s->latest && !known_parent ? LEASE_LATEST : LEASE_TRIM_HORIZON);
        int rc = lease_create(s->d, s->lease_table, &l, err);
        if (rc < 0)
            return -1;
        if (rc == 0) {
            *created = true;
            log_fields(LOG_INFO, "lease_created",
                       json_pack("{s:s, s:s, s:s}", "shard", id, "parent", parent ? parent : "",
                                 "checkpoint", l.checkpoint));
        }
    }
    return 0;
}

/* One sync: shards of the stream, leases (created, observed, renewed, taken). */
static int streamd_sync(streamd *s, int64_t now, ddb_error *err)
{
    json_t *shards = NULL;
    lease *leases = NULL;
    size_t n = 0;
    const char **ids = NULL;
    int rc = -1;

    if (ddbstreams_describe(s->d, s->arn, NULL, &shards, err) != 0) {
        if (ddb_error_is(err, "ResourceNotFoundException") && !s->arn_option) {
            /* The table was re-created with a new stream: follow it. */
            ddb_error_clear(err);
            if (streamd_resolve_arn(s, err) != 0)
                goto out;
            if (ddbstreams_describe(s->d, s->arn, NULL, &shards, err) != 0)
                goto out;
        } else {
            goto out;
        }
    }
    if (lease_scan(s->d, s->lease_table, s->arn, &leases, &n, err) != 0)
        goto out;
    bool created = false;
    if (streamd_create_leases(s, shards, leases, n, &created, err) != 0)
        goto out;
    if (created) {
        free(leases);
        leases = NULL;
        if (lease_scan(s->d, s->lease_table, s->arn, &leases, &n, err) != 0)
            goto out;
    }
    if (n > STREAMD_MAX_SHARDS) {
        errinfo_set(&err->info, ERR_TOOBIG, "more than %d leases in %s", STREAMD_MAX_SHARDS,
                    s->lease_table);
        goto out;
    }
    plan_observe(s->obs, &s->nobs, STREAMD_MAX_SHARDS, leases, n, now);

    size_t nshards = json_array_size(shards);
    ids = malloc((nshards ? nshards : 1) * sizeof *ids);
    if (!ids) {
        errinfo_set(&err->info, ERR_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < nshards; i++) {
        const char *id = json_string_value(json_object_get(json_array_get(shards, i),
                                                           "ShardId"));
        ids[i] = id ? id : "";
    }

    /* Finished shards that are gone from the stream (trimmed after 24 h): their leases have
     * done their work — children treat a parent with neither lease nor listing as read. */
    for (size_t k = 0; k < n; k++) {
        if (strcmp(leases[k].checkpoint, LEASE_SHARD_END) != 0 || leases[k].owner[0])
            continue;
        bool listed = false;
        for (size_t i = 0; i < nshards && !listed; i++)
            listed = strcmp(ids[i], leases[k].shard_id) == 0;
        if (listed)
            continue;
        ddb_error derr;
        ddb_error_clear(&derr);
        if (lease_delete(s->d, s->lease_table, &leases[k], &derr) == 0)
            log_fields(LOG_INFO, "lease_deleted",
                       json_pack("{s:s, s:s}", "shard", leases[k].shard_id, "reason",
                                 "finished and gone from the stream"));
    }

    /* Leases we hold: still ours? renew when due. */
    for (size_t i = 0; i < s->nheld;) {
        streamd_shard *sh = &s->held[i];
        const lease *cur = NULL;
        for (size_t k = 0; k < n && !cur; k++)
            if (strcmp(leases[k].shard_id, sh->l.shard_id) == 0)
                cur = &leases[k];
        if (sh->lost || !cur || strcmp(cur->owner, s->owner) != 0 ||
            cur->counter != sh->l.counter) {
            streamd_drop(s, sh, "taken by another owner");
            continue;
        }
        if (now - sh->renewed_ms >= s->lease_timeout_ms / 3) {
            int r = lease_renew(s->d, s->lease_table, &sh->l, err);
            if (r == LEASE_LOST) {
                ddb_error_clear(err);
                streamd_drop(s, sh, "lost on renewal");
                continue;
            }
            if (r < 0)
                goto out;
            sh->renewed_ms = now;
        }
        i++;
    }

    /* Take what is available, up to our share (all of it with --once). */
    size_t target = s->once ? STREAMD_MAX_SHARDS
                            : plan_target(leases, n, s->owner, s->obs, s->nobs, now,
                                          s->lease_timeout_ms);
    s->took_nothing = true;
    s->others_hold = 0;
    for (size_t k = 0; k < n; k++)
        if (leases[k].owner[0] && strcmp(leases[k].owner, s->owner) != 0 &&
            strcmp(leases[k].checkpoint, LEASE_SHARD_END) != 0)
            s->others_hold++;
    for (size_t k = 0; k < n && s->nheld < target && s->nheld < STREAMD_MAX_SHARDS; k++) {
        lease l = leases[k];
        if (streamd_held(s, l.shard_id))
            continue;
        bool mine = strcmp(l.owner, s->owner) == 0;   /* ours from before, e.g. a lost reply */
        if (!mine && !plan_available(&l, s->owner, s->obs, s->nobs, now, s->lease_timeout_ms))
            continue;
        if (strcmp(l.checkpoint, LEASE_SHARD_END) == 0 ||
            !plan_parents_done(&l, leases, n, ids, nshards))
            continue;
        if (!mine) {
            int r = lease_take(s->d, s->lease_table, &l, s->owner, err);
            if (r == LEASE_LOST) {
                ddb_error_clear(err);
                continue;
            }
            if (r < 0)
                goto out;
        }
        streamd_hold(s, &l, now);
        s->took_nothing = false;
    }
    rc = 0;
out:
    free(ids);
    free(leases);
    json_decref(shards);
    return rc;
}

/* Pings the watchdog and renews the leases that are due; called between records too, so a
 * long batch neither trips the watchdog nor lets our leases look dead. A lease found taken
 * is marked lost (dropped by the caller once the batch is done). */
static void streamd_keepalive(streamd *s)
{
    int64_t now = clock_mono_ms();
    if (s->wd_every_ms && now >= s->next_wd_ms) {
        notify_send("WATCHDOG=1");
        s->next_wd_ms = now + s->wd_every_ms;
    }
    for (size_t i = 0; i < s->nheld; i++) {
        streamd_shard *sh = &s->held[i];
        if (sh->lost || now - sh->renewed_ms < s->lease_timeout_ms / 3)
            continue;
        ddb_error err;
        ddb_error_clear(&err);
        int r = lease_renew(s->d, s->lease_table, &sh->l, &err);
        if (r == LEASE_LOST)
            sh->lost = true;
        else if (r < 0)
            streamd_log_error("renew_failed", sh->l.shard_id, &err);
        else
            sh->renewed_ms = now;
    }
}

/* ---- one batch ------------------------------------------------------------------------- */

static int64_t streamd_record_lag(const json_t *record);

/* Whether the messages table answers at all: tells a record that keeps failing (a dead
 * letter) from DynamoDB failing everything (an outage: wait, then read the batch again). */
static bool streamd_table_answers(streamd *s)
{
    json_t *desc = NULL;
    ddb_error err;
    ddb_error_clear(&err);
    int rc = ddb_describe_table(s->d, s->table, &desc, &err);
    json_decref(desc);
    return rc == 0;
}

/* Applies one record with bounded retries; a record that cannot be applied becomes a dead
 * letter. 0 when applied or dead-lettered (the shard may move on), -1 when the batch must be
 * read again: the table does not answer (an outage is no reason to dead-letter every record)
 * or not even the dead letter could be stored. *bad set when the record proved malformed or
 * unappliable. */
static int streamd_apply(streamd *s, streamd_shard *sh, const json_t *record, bool *bad,
                         groupsync_result *res)
{
    const json_t *dyn = json_object_get(record, "dynamodb");
    const char *seq = json_string_value(json_object_get(dyn, "SequenceNumber"));
    ddb_error err;
    ddb_error_clear(&err);
    int rc = GROUPSYNC_RETRY;
    int attempt;
    *bad = false;
    retry_policy rp = { .max_attempts = s->record_attempts, .base_ms = 100, .cap_ms = 2000 };
    for (attempt = 1; attempt <= s->record_attempts; attempt++) {
        ddb_error_clear(&err);
        rc = groupsync_apply(s->d, s->table, record, res, &err);
        if (rc != GROUPSYNC_RETRY)
            break;
        if (attempt < s->record_attempts) {
            json_t *f = json_pack("{s:s, s:s, s:i, s:s}", "shard", sh->l.shard_id, "sequence",
                                  seq ? seq : "", "attempt", attempt, "error", err.info.msg);
            log_fields(LOG_WARN, "record_retry", f);
            clock_sleep_ms(retry_delay_ms(&rp, attempt - 1, rnd_u64()));
        }
    }
    if (rc == GROUPSYNC_RETRY) {
        if (!streamd_table_answers(s)) {
            json_t *f = json_pack("{s:s, s:s, s:s}", "shard", sh->l.shard_id, "sequence",
                                  seq ? seq : "", "error", err.info.msg);
            log_fields(LOG_ERROR, "table_unavailable", f);
            return -1;
        }
        /* The table answers: when the failures were an outage that has just ended, one more
         * try settles the record instead of making it a dead letter. */
        ddb_error_clear(&err);
        rc = groupsync_apply(s->d, s->table, record, res, &err);
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
        rc = groupsync_apply(s->d, s->table, record, res, &err);
        if (rc == GROUPSYNC_RETRY)
            rc = GROUPSYNC_OK;   /* it had no rows a moment ago: nothing to move then */
    }
    if (rc == GROUPSYNC_OK) {
        if (res->action == GROUPSYNC_MOVED)
            s->stats.moved++;
        return 0;
    }
    *bad = rc == GROUPSYNC_BAD;
    if (attempt > s->record_attempts)
        attempt = s->record_attempts;
    ddb_error dl;
    ddb_error_clear(&dl);
    if (!seq || !lease_is_seq(seq) ||
        deadletter_put(s->d, s->lease_table, s->arn, sh->l.shard_id, seq, record, err.info.msg,
                       attempt, s->deadletter_ttl_s, &dl) != 0) {
        json_t *f = json_pack("{s:s, s:s, s:s, s:s}", "shard", sh->l.shard_id, "sequence",
                              seq ? seq : "", "reason", err.info.msg, "error",
                              seq && lease_is_seq(seq) ? dl.info.msg : "no sequence number");
        log_fields(LOG_ERROR, "dead_letter_failed", f);
        /* A record without a sequence number cannot be stored nor re-read: skip it. */
        return seq && lease_is_seq(seq) ? -1 : 0;
    }
    s->stats.dead_letters++;
    json_t *f = json_pack("{s:s, s:s, s:s, s:s, s:i}", "shard", sh->l.shard_id, "sequence", seq,
                          "group", res->group, "reason", err.info.msg, "attempts", attempt);
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

/* Applies a batch: the newest message of each conversation (falling back to the next-older
 * one when it proves bad), every other record as it comes. 0, or -1 when the batch must be
 * read again. */
static int streamd_apply_batch(streamd *s, streamd_shard *sh, const json_t *records)
{
    size_t n = json_array_size(records);
    if (n == 0)
        return 0;
    bool *apply = malloc(n * sizeof *apply);
    long *fallback = malloc(n * sizeof *fallback);
    int rc = -1;
    if (!apply || !fallback || plan_batch(records, apply, fallback) < 0) {
        log_msg(LOG_ERROR, "out_of_memory", "applying a batch of %zu records", n);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        const json_t *r = json_array_get(records, i);
        const char *seq = json_string_value(
            json_object_get(json_object_get(r, "dynamodb"), "SequenceNumber"));
        s->stats.records++;
        int64_t lag = streamd_record_lag(r);
        if (lag >= 0)
            sh->lag_ms = lag;
        streamd_keepalive(s);
        if (!apply[i]) {
            /* A newer message of the same conversation follows in this batch. A malformed
             * one is still a dead letter for an operator to see. */
            groupsync_msg m;
            errinfo pe;
            if (groupsync_parse_record(r, &m, &pe) == GROUPSYNC_BAD) {
                groupsync_result dummy;
                bool bad;
                memset(&dummy, 0, sizeof dummy);
                if (streamd_apply(s, sh, r, &bad, &dummy) != 0)
                    goto out;
            } else {
                s->stats.superseded++;
                if (log_enabled(LOG_DEBUG))
                    log_fields(LOG_DEBUG, "record",
                               json_pack("{s:s, s:s, s:s, s:s, s:I}", "shard", sh->l.shard_id,
                                         "sequence", seq ? seq : "", "group", m.group, "action",
                                         "superseded", "lag_ms", (json_int_t)sh->lag_ms));
            }
            continue;
        }
        long at = (long)i;
        while (at >= 0) {
            const json_t *cur = json_array_get(records, (size_t)at);
            const char *cseq = json_string_value(
                json_object_get(json_object_get(cur, "dynamodb"), "SequenceNumber"));
            groupsync_result res;
            memset(&res, 0, sizeof res);
            bool bad;
            if (streamd_apply(s, sh, cur, &bad, &res) != 0)
                goto out;
            if (!bad) {
                log_level lvl = res.action == GROUPSYNC_IGNORED ? LOG_DEBUG : LOG_INFO;
                if (log_enabled(lvl))
                    log_fields(lvl, "record",
                               json_pack("{s:s, s:s, s:s, s:s, s:i, s:I}", "shard",
                                         sh->l.shard_id, "sequence", cseq ? cseq : "", "group",
                                         res.group, "action", groupsync_action_name(res.action),
                                         "moved", res.moved, "lag_ms", (json_int_t)sh->lag_ms));
                break;
            }
            /* The newest proved bad (now a dead letter): the next-older one of the same
             * conversation in this batch may still move the rows. */
            at = fallback[at];
        }
    }
    rc = 0;
out:
    free(apply);
    free(fallback);
    return rc;
}

/* ---- reading a shard ------------------------------------------------------------------- */

/* A failed poll of sh (why: what failed): the next one after a growing, jittered pause. */
static void streamd_backoff(streamd *s, streamd_shard *sh, int64_t now, const char *why)
{
    if (!sh->failing_ms)
        sh->failing_ms = now;
    snprintf(sh->why, sizeof sh->why, "%s", why ? why : "unknown error");
    int64_t b = sh->backoff_ms ? sh->backoff_ms * 2 : s->poll_ms;
    if (b > STREAMD_BACKOFF_MAX_MS)
        b = STREAMD_BACKOFF_MAX_MS;
    sh->backoff_ms = b;
    sh->next_poll_ms = now + b / 2 + (int64_t)rnd_below((uint64_t)b / 2 + 1);
}

/* An iterator from the checkpoint. 0, 1 when the shard is already at its end, -1 on error
 * (logged; backoff set). */
static int streamd_acquire(streamd *s, streamd_shard *sh, int64_t now)
{
    ddb_error err;
    ddb_error_clear(&err);
    const char *cp = sh->l.checkpoint;
    if (strcmp(cp, LEASE_SHARD_END) == 0)
        return 1;
    ddbstreams_position pos = lease_is_seq(cp) ? DDBSTREAMS_AFTER_SEQUENCE_NUMBER
                              : strcmp(cp, LEASE_LATEST) == 0 ? DDBSTREAMS_LATEST
                                                               : DDBSTREAMS_TRIM_HORIZON;
    int rc = ddbstreams_iterator(s->d, s->arn, sh->l.shard_id, pos,
                                 pos == DDBSTREAMS_AFTER_SEQUENCE_NUMBER ? cp : NULL,
                                 &sh->iterator, &err);
    if (rc != 0 && ddb_error_is(&err, "TrimmedDataAccessException")) {
        /* The records after our checkpoint are gone (past the 24 h retention): say what
         * could not be read and go on from the oldest record there is. */
        log_fields(LOG_ERROR, "gap",
                   json_pack("{s:s, s:s, s:s}", "shard", sh->l.shard_id, "after_sequence", cp,
                             "reason", "records trimmed before they were read; continuing "
                                       "from the oldest record available"));
        ddb_error_clear(&err);
        rc = ddbstreams_iterator(s->d, s->arn, sh->l.shard_id, DDBSTREAMS_TRIM_HORIZON, NULL,
                                 &sh->iterator, &err);
    }
    if (rc != 0) {
        streamd_log_error("iterator_failed", sh->l.shard_id, &err);
        streamd_backoff(s, sh, now, err.info.msg);
        return -1;
    }
    return 0;
}

/* Reads and applies one batch of sh. */
static void streamd_poll(streamd *s, streamd_shard *sh, int64_t now)
{
    if (!sh->iterator) {
        int a = streamd_acquire(s, sh, now);
        if (a != 0) {
            if (a == 1)
                sh->drained = true;
            return;
        }
    }
    ddb_error err;
    ddb_error_clear(&err);
    json_t *records = NULL;
    char *next = NULL;
    if (ddbstreams_records(s->d, sh->iterator, s->batch_limit, &records, &next, &err) != 0) {
        if (ddb_error_is(&err, "ExpiredIteratorException")) {
            log_fields(LOG_INFO, "iterator_expired", json_pack("{s:s, s:s}", "shard",
                                                               sh->l.shard_id, "checkpoint",
                                                               sh->l.checkpoint));
            free(sh->iterator);
            sh->iterator = NULL;     /* re-acquire from the checkpoint at once */
            return;
        }
        if (ddb_error_is(&err, "TrimmedDataAccessException")) {
            log_fields(LOG_ERROR, "gap",
                       json_pack("{s:s, s:s, s:s}", "shard", sh->l.shard_id, "after_sequence",
                                 sh->l.checkpoint, "reason",
                                 "records trimmed before they were read; continuing from the "
                                 "oldest record available"));
            free(sh->iterator);
            sh->iterator = NULL;
            ddb_error_clear(&err);
            if (ddbstreams_iterator(s->d, s->arn, sh->l.shard_id, DDBSTREAMS_TRIM_HORIZON, NULL,
                                    &sh->iterator, &err) != 0) {
                streamd_log_error("iterator_failed", sh->l.shard_id, &err);
                streamd_backoff(s, sh, now, err.info.msg);
            }
            return;
        }
        streamd_log_error("get_records_failed", sh->l.shard_id, &err);
        streamd_backoff(s, sh, now, err.info.msg);
        return;
    }
    sh->backoff_ms = 0;
    size_t n = json_array_size(records);
    if (streamd_apply_batch(s, sh, records) != 0) {
        /* Not applied in full: read again from the checkpoint after a pause. */
        free(sh->iterator);
        sh->iterator = NULL;
        streamd_backoff(s, sh, now, "the batch could not be applied: the messages table does "
                                    "not answer");
        goto out;
    }
    if (sh->lost) {
        streamd_drop(s, sh, "taken by another owner during the batch");
        goto out;
    }
    const char *last = n ? json_string_value(json_object_get(
                               json_object_get(json_array_get(records, n - 1), "dynamodb"),
                               "SequenceNumber"))
                         : NULL;
    const char *cp = !next ? LEASE_SHARD_END : (last && lease_is_seq(last) ? last : NULL);
    if (cp) {
        int r = lease_checkpoint(s->d, s->lease_table, &sh->l, cp, &err);
        if (r == LEASE_LOST) {
            streamd_drop(s, sh, "lost at checkpoint");
            goto out;
        }
        if (r < 0) {
            /* Applied but not recorded: the next checkpoint covers it, or a replay does no
             * harm (pattern E is idempotent). */
            streamd_log_error("checkpoint_failed", sh->l.shard_id, &err);
        } else {
            sh->renewed_ms = clock_mono_ms();
        }
    }
    free(sh->iterator);
    sh->iterator = next;
    next = NULL;
    sh->failing_ms = 0;
    if (n)
        log_fields(LOG_INFO, "batch",
                   json_pack("{s:s, s:I, s:s, s:I}", "shard", sh->l.shard_id, "records",
                             (json_int_t)n, "sequence", last ? last : "", "lag_ms",
                             (json_int_t)sh->lag_ms));
    if (!sh->iterator) {
        /* Closed and read to its end: its children can start now. */
        log_fields(LOG_INFO, "shard_end", json_pack("{s:s}", "shard", sh->l.shard_id));
        if (strcmp(sh->l.checkpoint, LEASE_SHARD_END) == 0) {
            ddb_error_clear(&err);
            if (lease_release(s->d, s->lease_table, &sh->l, &err) < 0)
                streamd_log_error("release_failed", sh->l.shard_id, &err);
            s->sync_again = true;
            streamd_drop(s, sh, "shard end");
        } else {
            /* SHARD_END not stored yet: try again */
            streamd_backoff(s, sh, now, "the shard's end could not be checkpointed");
        }
        goto out;
    }
    if (n == 0) {
        sh->lag_ms = 0;
        sh->drained = true;
    } else {
        sh->drained = false;
    }
    sh->next_poll_ms = (long)n >= s->batch_limit ? now : now + s->poll_ms;
out:
    free(next);
    json_decref(records);
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
        if (lease_release(s->d, s->lease_table, &sh->l, &err) < 0)
            streamd_log_error("release_failed", sh->l.shard_id, &err);
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
        streamd_log_error("startup_waiting", NULL, &err);
        notify_send("STATUS=waiting for the table, its stream and the lease table");
        streamd_nap(5000);
    }
    log_fields(LOG_INFO, "started",
               json_pack("{s:s, s:s, s:s, s:s, s:b}", "owner", s->owner, "table", s->table,
                         "lease_table", s->lease_table, "stream", s->arn, "once", s->once));
    notify_send("READY=1");

    int sync_failures = 0;
    while (!streamd_stop_flag) {
        int64_t now = clock_mono_ms();
        streamd_keepalive(s);
        if (now >= s->next_sync_ms || s->sync_again) {
            s->sync_again = false;
            ddb_error_clear(&err);
            if (streamd_sync(s, now, &err) != 0) {
                streamd_log_error("sync_failed", NULL, &err);
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
                i++;    /* else the slot now holds another shard: look at it */
        }
        /* --once gives up on an outage that lasts: a shard failing give_up_ms in a row. */
        for (size_t i = 0; s->once && i < s->nheld; i++) {
            const streamd_shard *sh = &s->held[i];
            if (sh->failing_ms && clock_mono_ms() - sh->failing_ms >= s->give_up_ms) {
                errinfo_set(e, ERR_SERVICE, "--once gives up: shard %s has failed for %.1f s "
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
            (s->others_hold == 0 ||
             clock_mono_ms() - started_ms > s->lease_timeout_ms + 2000)) {
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
               json_pack("{s:I, s:I, s:I, s:I}", "records", (json_int_t)st.records, "moved",
                         (json_int_t)st.moved, "superseded", (json_int_t)st.superseded,
                         "dead_letters", (json_int_t)st.dead_letters));
    return 0;
}
