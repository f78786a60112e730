/* streamd_poll.c — reading one held shard: an iterator from the checkpoint, one batch of
 * records, each applied (pattern E, groupsync.h) with bounded retries or made a dead letter,
 * then the checkpoint. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/ddbstreams.h"
#include "aws/retry.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/rnd.h"
#include "messaging/groupsync.h"
#include "streamd/deadletter.h"
#include "streamd/lease.h"
#include "streamd/plan.h"
#include "streamd/streamd_internal.h"

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
    groupsync_status rc = GROUPSYNC_RETRY;
    int attempt;
    *bad = false;
    retry_policy rp = { .max_attempts = s->record_attempts, .base_ms = 100, .cap_ms = 2000 };
    for (attempt = 1; attempt <= s->record_attempts; attempt++) {
        ddb_error_clear(&err);
        rc = groupsync_apply_cached(s->d, s->table, s->cache, record, res, &err);
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
        rc = groupsync_apply_cached(s->d, s->table, s->cache, record, res, &err);
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
        rc = groupsync_apply_cached(s->d, s->table, s->cache, record, res, &err);
        if (rc == GROUPSYNC_RETRY)
            rc = GROUPSYNC_OK; /* it had no rows a moment ago: nothing to move then */
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
    sdmetrics_dead_letter(s->metrics);
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
        const char *seq =
            json_string_value(json_object_get(json_object_get(r, "dynamodb"), "SequenceNumber"));
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
                               json_pack("{s:s, s:s, s:s, s:s, s:i, s:I}", "shard", sh->l.shard_id,
                                         "sequence", cseq ? cseq : "", "group", res.group, "action",
                                         groupsync_action_name(res.action), "moved", res.moved,
                                         "lag_ms", (json_int_t)sh->lag_ms));
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
    ddbstreams_position pos = lease_is_seq(cp)                ? DDBSTREAMS_AFTER_SEQUENCE_NUMBER
                              : strcmp(cp, LEASE_LATEST) == 0 ? DDBSTREAMS_LATEST
                                                              : DDBSTREAMS_TRIM_HORIZON;
    int rc = ddbstreams_iterator(s->d, s->arn, sh->l.shard_id, pos,
                                 pos == DDBSTREAMS_AFTER_SEQUENCE_NUMBER ? cp : NULL, &sh->iterator,
                                 &err);
    if (rc != 0 && ddb_error_is(&err, "TrimmedDataAccessException")) {
        /* The records after our checkpoint are gone (past the 24 h retention): say what
         * could not be read and go on from the oldest record there is. */
        sdmetrics_count_error(s->metrics, SDMETRICS_ERR_GAP);
        log_fields(LOG_ERROR, "gap",
                   json_pack("{s:s, s:s, s:s}", "shard", sh->l.shard_id, "after_sequence", cp,
                             "reason",
                             "records trimmed before they were read; continuing "
                             "from the oldest record available"));
        ddb_error_clear(&err);
        rc = ddbstreams_iterator(s->d, s->arn, sh->l.shard_id, DDBSTREAMS_TRIM_HORIZON, NULL,
                                 &sh->iterator, &err);
    }
    if (rc != 0) {
        streamd_log_error(s, "iterator_failed", sh->l.shard_id, &err);
        streamd_backoff(s, sh, now, err.info.msg);
        return -1;
    }
    return 0;
}

/* Reads and applies one batch of sh. */
void streamd_poll(streamd *s, streamd_shard *sh, int64_t now)
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
    sdmetrics_get_records(s->metrics, sh->l.shard_id);
    if (ddbstreams_records(s->d, sh->iterator, s->batch_limit, &records, &next, &err) != 0) {
        if (ddb_error_is(&err, "ExpiredIteratorException")) {
            log_fields(
                LOG_INFO, "iterator_expired",
                json_pack("{s:s, s:s}", "shard", sh->l.shard_id, "checkpoint", sh->l.checkpoint));
            free(sh->iterator);
            sh->iterator = NULL; /* re-acquire from the checkpoint at once */
            return;
        }
        if (ddb_error_is(&err, "TrimmedDataAccessException")) {
            sdmetrics_count_error(s->metrics, SDMETRICS_ERR_GAP);
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
                streamd_log_error(s, "iterator_failed", sh->l.shard_id, &err);
                streamd_backoff(s, sh, now, err.info.msg);
            }
            return;
        }
        streamd_log_error(s, "get_records_failed", sh->l.shard_id, &err);
        streamd_backoff(s, sh, now, err.info.msg);
        return;
    }
    sh->backoff_ms = 0;
    size_t n = json_array_size(records);
    if (streamd_apply_batch(s, sh, records) != 0) {
        /* Not applied in full: read again from the checkpoint after a pause. */
        free(sh->iterator);
        sh->iterator = NULL;
        sdmetrics_count_error(s->metrics, SDMETRICS_ERR_APPLY);
        streamd_backoff(s, sh, now,
                        "the batch could not be applied: the messages table does "
                        "not answer");
        goto out;
    }
    if (sh->lost) {
        streamd_lose(s, sh, "taken by another owner during the batch");
        goto out;
    }
    const char *last =
        n ? json_string_value(json_object_get(
                json_object_get(json_array_get(records, n - 1), "dynamodb"), "SequenceNumber"))
          : NULL;
    const char *cp = !next ? LEASE_SHARD_END : (last && lease_is_seq(last) ? last : NULL);
    if (cp) {
        lease_status r = lease_checkpoint(s->d, s->lease_table, &sh->l, cp, &err);
        if (r == LEASE_LOST) {
            streamd_lose(s, sh, "lost at checkpoint");
            goto out;
        }
        if (r == LEASE_ERROR) {
            /* Applied but not recorded: the next checkpoint covers it, or a replay does no
             * harm (pattern E is idempotent). */
            streamd_log_error(s, "checkpoint_failed", sh->l.shard_id, &err);
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
            if (lease_release(s->d, s->lease_table, &sh->l, &err) == LEASE_ERROR)
                streamd_log_error(s, "release_failed", sh->l.shard_id, &err);
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
    sdmetrics_batch(s->metrics, sh->l.shard_id, n, sh->lag_ms);
    /* A full batch: a backlog, read on at once. Some records: more are likely on their way,
     * so the shard is read again as soon as AWS's 5 GetRecords per second per shard allow
     * (STREAMD_POLL_MIN_MS after this call began; at once when applying took longer).
     * Caught up: poll_ms. */
    sh->next_poll_ms = (long)n >= s->batch_limit ? now
                       : n > 0                   ? now + STREAMD_POLL_MIN_MS
                                                 : now + s->poll_ms;
out:
    free(next);
    json_decref(records);
}
