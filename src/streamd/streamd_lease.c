/* streamd_lease.c — the daemon's sync: the stream's shards and the lease table read, the
 * plan (plan_creates, plan_sync) carried out; and the keepalive that renews held leases
 * between records. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/ddbstreams.h"
#include "base/clock.h"
#include "base/log.h"
#include "streamd/lease.h"
#include "streamd/notify.h"
#include "streamd/plan.h"
#include "streamd/streamd_internal.h"

/* ---- the stream ------------------------------------------------------------------------ */

int streamd_resolve_arn(streamd *s, ddb_error *err)
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
        log_fields(LOG_INFO, "stream", json_pack("{s:s, s:s}", "table", s->table, "stream", arn));
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

void streamd_drop(streamd *s, streamd_shard *sh, const char *why)
{
    log_fields(LOG_INFO, "lease_dropped",
               json_pack("{s:s, s:s}", "shard", sh->l.shard_id, "reason", why));
    free(sh->iterator);
    size_t i = (size_t)(sh - s->held);
    s->held[i] = s->held[s->nheld - 1];
    s->nheld--;
    sdmetrics_leases_held(s->metrics, s->nheld);
}

void streamd_lose(streamd *s, streamd_shard *sh, const char *why)
{
    sdmetrics_lease_event(s->metrics, SDMETRICS_LEASE_LOST);
    streamd_drop(s, sh, why);
}

static void streamd_hold(streamd *s, const lease *l, int64_t now)
{
    streamd_shard *sh = &s->held[s->nheld++];
    memset(sh, 0, sizeof *sh);
    sh->l = *l;
    sh->next_poll_ms = now;
    sh->renewed_ms = now;
    sdmetrics_lease_event(s->metrics, SDMETRICS_LEASE_TAKEN);
    sdmetrics_leases_held(s->metrics, s->nheld);
    log_fields(LOG_INFO, "lease_taken",
               json_pack("{s:s, s:s, s:I}", "shard", l->shard_id, "checkpoint", l->checkpoint,
                         "counter", (json_int_t)l->counter));
}

/* Creates the leases plan_creates names; *created when at least one was. 0, or -1 with
 * err. */
static int streamd_create_leases(streamd *s, const json_t *shards, const lease *leases, size_t n,
                                 bool *created, ddb_error *err)
{
    lease *todo = NULL;
    size_t ntodo = 0;
    int rc = -1;
    if (plan_creates(shards, leases, n, s->arn, s->latest, &todo, &ntodo) != 0) {
        errinfo_nomem(&err->info);
        return -1;
    }
    for (size_t i = 0; i < ntodo; i++) {
        const lease *l = &todo[i];
        lease_status r = lease_create(s->d, s->lease_table, l, err);
        if (r == LEASE_ERROR)
            goto out;
        if (r == LEASE_OK) {
            *created = true;
            log_fields(LOG_INFO, "lease_created",
                       json_pack("{s:s, s:s, s:s}", "shard", l->shard_id, "parent",
                                 l->nparents ? l->parents[0] : "", "checkpoint", l->checkpoint));
        }
        ddb_error_clear(err); /* LEASE_LOST: another daemon created it */
    }
    rc = 0;
out:
    free(todo);
    return rc;
}

/* The stream's shards (following a re-created table's new stream) and the leases of the
 * stream, creating those missing. 0 with *shards and *leases new, or -1 with err. */
static int streamd_read_state(streamd *s, json_t **shards, lease **leases, size_t *n,
                              ddb_error *err)
{
    if (ddbstreams_describe(s->d, s->arn, NULL, shards, err) != 0) {
        if (!ddb_error_is(err, "ResourceNotFoundException") || s->arn_option)
            return -1;
        /* The table was re-created with a new stream: follow it. */
        ddb_error_clear(err);
        if (streamd_resolve_arn(s, err) != 0 ||
            ddbstreams_describe(s->d, s->arn, NULL, shards, err) != 0)
            return -1;
    }
    if (lease_scan(s->d, s->lease_table, s->arn, leases, n, err) != 0)
        return -1;
    bool created = false;
    if (streamd_create_leases(s, *shards, *leases, *n, &created, err) != 0)
        return -1;
    if (created) {
        free(*leases);
        *leases = NULL;
        if (lease_scan(s->d, s->lease_table, s->arn, leases, n, err) != 0)
            return -1;
    }
    if (*n > STREAMD_MAX_SHARDS) {
        errinfo_set(&err->info, ERR_TOOBIG, "more than %d leases in %s", STREAMD_MAX_SHARDS,
                    s->lease_table);
        return -1;
    }
    return 0;
}

/* The shard ids whose renewal was lost in this sync: the scan before it still names us, but
 * they are not to be resumed from it. */
typedef struct streamd_lost {
    char (*ids)[LEASE_ID_MAX];
    size_t n, cap;
} streamd_lost;

/* Carries out one action of the plan. 0, or -1 with err (the sync stops). */
static int streamd_do(streamd *s, const plan_sync_in *in, const plan_sync_out *plan,
                      const plan_action *a, streamd_lost *lost, ddb_error *err)
{
    const lease *l = a->op == PLAN_DELETE || a->op == PLAN_TAKE || a->op == PLAN_RESUME
                         ? &in->leases[a->lease]
                         : NULL;
    streamd_shard *sh = l ? NULL : streamd_held(s, in->held[a->held].shard_id);
    switch (a->op) {
    case PLAN_DELETE: {
        ddb_error derr;
        ddb_error_clear(&derr);
        if (lease_delete(s->d, s->lease_table, l, &derr) == LEASE_OK)
            log_fields(LOG_INFO, "lease_deleted",
                       json_pack("{s:s, s:s}", "shard", l->shard_id, "reason",
                                 "finished and gone from the stream"));
        return 0; /* a failure costs nothing: the next sync tries again */
    }
    case PLAN_DROP:
        if (sh)
            streamd_lose(s, sh, "taken by another owner");
        return 0;
    case PLAN_RENEW: {
        if (!sh)
            return 0;
        lease_status r = lease_renew(s->d, s->lease_table, &sh->l, err);
        if (r == LEASE_LOST) {
            ddb_error_clear(err);
            if (lost->n < lost->cap)
                snprintf(lost->ids[lost->n++], LEASE_ID_MAX, "%s", sh->l.shard_id);
            streamd_lose(s, sh, "lost on renewal");
            return 0;
        }
        if (r == LEASE_ERROR)
            return -1;
        sh->renewed_ms = in->now_ms;
        return 0;
    }
    case PLAN_TAKE:
    case PLAN_RESUME: {
        if (s->nheld >= plan->target || s->nheld >= STREAMD_MAX_SHARDS ||
            streamd_held(s, l->shard_id))
            return 0;
        for (size_t i = 0; i < lost->n; i++)
            if (strcmp(lost->ids[i], l->shard_id) == 0)
                return 0;
        lease mine = *l;
        if (a->op == PLAN_TAKE) {
            lease_status r = lease_take(s->d, s->lease_table, &mine, s->owner, err);
            if (r == LEASE_LOST) {
                ddb_error_clear(err);
                return 0; /* someone was quicker: the next candidate */
            }
            if (r == LEASE_ERROR)
                return -1;
        }
        streamd_hold(s, &mine, in->now_ms);
        s->took_nothing = false;
        return 0;
    }
    }
    return 0;
}

int streamd_sync(streamd *s, int64_t now, ddb_error *err)
{
    json_t *shards = NULL;
    lease *leases = NULL;
    size_t n = 0;
    const char **ids = NULL;
    plan_held *held = NULL;
    char(*held_ids)[LEASE_ID_MAX] = NULL;
    streamd_lost lost = { .cap = s->nheld };
    plan_sync_out plan = { 0 };
    int rc = -1;

    if (streamd_read_state(s, &shards, &leases, &n, err) != 0)
        goto out;
    plan_observe(s->obs, &s->nobs, STREAMD_MAX_SHARDS, leases, n, now);
    size_t nshards = json_array_size(shards);
    size_t nheld = s->nheld;
    ids = malloc((nshards ? nshards : 1) * sizeof *ids);
    held = malloc((nheld ? nheld : 1) * sizeof *held);
    held_ids = malloc((nheld ? nheld : 1) * sizeof *held_ids);
    lost.ids = malloc((nheld ? nheld : 1) * sizeof *lost.ids);
    if (!ids || !held || !held_ids || !lost.ids)
        goto nomem;
    for (size_t i = 0; i < nshards; i++) {
        const char *id = json_string_value(json_object_get(json_array_get(shards, i), "ShardId"));
        ids[i] = id ? id : "";
    }
    /* copies of the ids: a drop moves the slots under the plan */
    for (size_t i = 0; i < nheld; i++) {
        snprintf(held_ids[i], LEASE_ID_MAX, "%s", s->held[i].l.shard_id);
        held[i] = (plan_held){ .shard_id = held_ids[i],
                               .counter = s->held[i].l.counter,
                               .renewed_ms = s->held[i].renewed_ms,
                               .lost = s->held[i].lost };
    }
    plan_sync_in in = { .leases = leases,
                        .nleases = n,
                        .shard_ids = ids,
                        .nshards = nshards,
                        .held = held,
                        .nheld = nheld,
                        .me = s->owner,
                        .obs = s->obs,
                        .nobs = s->nobs,
                        .now_ms = now,
                        .timeout_ms = s->lease_timeout_ms,
                        .max_held = STREAMD_MAX_SHARDS,
                        .take_all = s->once };
    if (plan_sync(&in, &plan) != 0)
        goto nomem;
    rc = 0;
    bool taking = false;
    for (size_t i = 0; i < plan.nactions && rc == 0; i++) {
        const plan_action *a = &plan.actions[i];
        if (!taking && (a->op == PLAN_TAKE || a->op == PLAN_RESUME)) {
            taking = true; /* the held leases are settled: what is left to take? */
            s->took_nothing = true;
            s->others_hold = plan.others_hold;
        }
        rc = streamd_do(s, &in, &plan, a, &lost, err);
    }
    if (rc == 0 && !taking) {
        s->took_nothing = true;
        s->others_hold = plan.others_hold;
    }
    goto out;
nomem:
    errinfo_nomem(&err->info);
out:
    plan_sync_cleanup(&plan);
    free(lost.ids);
    free(held_ids);
    free(held);
    free(ids);
    free(leases);
    json_decref(shards);
    return rc;
}

/* Pings the watchdog and renews the leases that are due; called between records too, so a
 * long batch neither trips the watchdog nor lets our leases look dead. A lease found taken
 * is marked lost (dropped by the caller once the batch is done). */
void streamd_keepalive(streamd *s)
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
        lease_status r = lease_renew(s->d, s->lease_table, &sh->l, &err);
        if (r == LEASE_LOST)
            sh->lost = true;
        else if (r == LEASE_ERROR)
            streamd_log_error(s, "renew_failed", sh->l.shard_id, &err);
        else
            sh->renewed_ms = now;
    }
}
