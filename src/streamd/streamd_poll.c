/* streamd_poll.c — reading one held shard: an iterator from the checkpoint, one batch of
 * records, applied (streamd_apply.c), then the checkpoint. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/ddbstreams.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/rnd.h"
#include "streamd/lease.h"
#include "streamd/plan.h"
#include "streamd/streamd_internal.h"

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
    int64_t t_read = clock_mono_us();
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
    int64_t t_apply = clock_mono_us();
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
    const char *last = n ? plan_record_seq(json_array_get(records, n - 1)) : NULL;
    const char *cp = !next ? LEASE_SHARD_END : (last && lease_is_seq(last) ? last : NULL);
    int64_t t_checkpoint = clock_mono_us();
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
    if (n) {
        /* how long each step took: the reading, the applying and the checkpoint */
        int64_t t_end = clock_mono_us();
        log_fields(LOG_INFO, "batch",
                   json_pack("{s:s, s:I, s:s, s:I, s:I, s:I, s:I}", "shard", sh->l.shard_id,
                             "records", (json_int_t)n, "sequence", last ? last : "", "lag_ms",
                             (json_int_t)sh->lag_ms, "read_us", (json_int_t)(t_apply - t_read),
                             "apply_us", (json_int_t)(t_checkpoint - t_apply), "checkpoint_us",
                             (json_int_t)(t_end - t_checkpoint)));
    }
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
