/* main.c — cruddur-streamd: the daemon (run, --once) and its operator commands (leases,
 * dead-letters). Configured by the environment, like the API. */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/ddb.h"
#include "base/env.h"
#include "base/log.h"
#include "messaging/groupsync.h"
#include "messaging/messaging.h"
#include "streamd/deadletter.h"
#include "streamd/lease.h"
#include "streamd/sdmetrics.h"
#include "streamd/streamd.h"

enum {
    MAIN_OK = 0,
    MAIN_FAIL = 1,
    MAIN_USAGE = 2
};

static const char main_usage[] =
    "Usage: cruddur-streamd [--once [--give-up-after SECONDS]] [--latest]\n"
    "       cruddur-streamd leases\n"
    "       cruddur-streamd dead-letters [list] [--json]\n"
    "       cruddur-streamd dead-letters replay (--all | ID...)\n"
    "       cruddur-streamd dead-letters delete ID...\n"
    "\n"
    "Reads the DynamoDB Stream of the messages table and keeps both group rows of each\n"
    "conversation at its newest message (access pattern E): forward only, so replays,\n"
    "duplicates and several daemons leave the same table. Shards are shared between daemons\n"
    "through leases in the lease table (created when missing), each with a checkpoint\n"
    "stored after every applied batch. A record that still fails after\n"
    "CRUDDUR_RECORD_ATTEMPTS tries becomes a dead letter and the shard moves on.\n"
    "\n"
    "  --once     drain every shard to its current end, then exit (tests, cron, recovery)\n"
    "  --give-up-after SECONDS\n"
    "             with --once: exit 1 when a shard has failed this long in a row, e.g. the\n"
    "             table is down (1..86400, default 120); the daemon itself waits forever\n"
    "  --latest   new shards without a checkpoint start at the newest record, not the oldest\n"
    "  leases                     list the leases: shard, owner, counter, checkpoint, parents\n"
    "  dead-letters list          list the dead letters (id, shard, sequence, reason)\n"
    "  dead-letters replay        apply dead letters again; each applied one is deleted\n"
    "  dead-letters delete        drop dead letters without applying them\n"
    "\n"
    "Environment:\n"
    "  CRUDDUR_DDB_TABLE          messages table (else DDB_MESSAGE_TABLE; "
    "default " MESSAGING_TABLE_DEFAULT ")\n"
    "  CRUDDUR_LEASE_TABLE        lease table (default <table>-leases)\n"
    "  CRUDDUR_STREAM_ARN         stream to read (default: the table's latest stream)\n"
    "  CRUDDUR_POLL_MS            pause before polling a caught-up shard again (default 250)\n"
    "  CRUDDUR_LEASE_TIMEOUT_MS   a lease not renewed this long is taken over (default 10000)\n"
    "  CRUDDUR_STREAMD_ID         this daemon's lease owner name (default host:pid:random;\n"
    "                             host:1 as PID 1, a container's own process);\n"
    "                             a fixed name resumes its own leases at once after a restart\n"
    "  CRUDDUR_RECORD_ATTEMPTS    tries of a failing record before it is a dead letter (5)\n"
    "  CRUDDUR_BATCH_LIMIT        records per GetRecords call, 1..1000 (default 1000)\n"
    "  CRUDDUR_DEADLETTER_TTL_DAYS  days a dead letter is kept, 1..3650 (default 14)\n"
    "  CRUDDUR_APPLY_THREADS      conversations of a batch applied at once, each thread with\n"
    "                             its own DynamoDB connection, 1..32 (default 4)\n"
    "  AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_DYNAMODB_STREAMS, AWS_DEFAULT_REGION, AWS_*\n"
    "                             credentials: DynamoDB as for cruddur\n"
    "  CRUDDUR_METRICS_LISTEN     HOST:PORT for Prometheus (GET /metrics), e.g. 127.0.0.1:9464;\n"
    "                             unset: no metrics listener\n"
    "  CRUDDUR_LOG_LEVEL          debug|info|warn|error|off (default info)\n"
    "\n"
    "Under systemd (Type=notify) it reports READY, WATCHDOG pings and a STATUS line with its\n"
    "lag. SIGTERM or SIGINT: the batch in hand is finished and checkpointed, the leases are\n"
    "released, exit 0.\n"
    "\n"
    "Exit status: 0 ok, 1 runtime or configuration error, 2 usage error.\n";

typedef struct main_config {
    const char *table;
    char lease_table[256];
    long poll_ms, lease_timeout_ms, attempts, batch_limit, deadletter_ttl_days, apply_threads;
} main_config;

static int main_config_read(main_config *c, errinfo *e)
{
    c->table = messaging_table();
    const char *lt = env_str("CRUDDUR_LEASE_TABLE");
    int n = lt ? snprintf(c->lease_table, sizeof c->lease_table, "%s", lt)
               : snprintf(c->lease_table, sizeof c->lease_table, "%s-leases", c->table);
    if (n < 0 || (size_t)n >= sizeof c->lease_table || strlen(c->table) > 255)
        return errinfo_set(e, ERR_CONFIG,
                           "CRUDDUR_DDB_TABLE / CRUDDUR_LEASE_TABLE: table "
                           "names are at most 255 characters");
    if (env_long("CRUDDUR_POLL_MS", 1, 60000, 250, &c->poll_ms, e) != 0 ||
        env_long("CRUDDUR_LEASE_TIMEOUT_MS", 300, 3600000, 10000, &c->lease_timeout_ms, e) != 0 ||
        env_long("CRUDDUR_RECORD_ATTEMPTS", 1, 100, 5, &c->attempts, e) != 0 ||
        env_long("CRUDDUR_BATCH_LIMIT", 1, 1000, 1000, &c->batch_limit, e) != 0 ||
        env_long("CRUDDUR_DEADLETTER_TTL_DAYS", 1, 3650, DEADLETTER_TTL_DAYS_DEFAULT,
                 &c->deadletter_ttl_days, e) != 0 ||
        env_long("CRUDDUR_APPLY_THREADS", 1, STREAMD_APPLIERS_MAX, 4, &c->apply_threads, e) != 0)
        return -1;
    return 0;
}

static void main_on_signal(int sig)
{
    (void)sig;
    streamd_request_stop();
}

static int main_run(ddb *d, const main_config *c, bool once, long give_up_s, bool latest)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = main_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    streamd_options o = {
        .d = d,
        .table = c->table,
        .lease_table = c->lease_table,
        .stream_arn = env_str("CRUDDUR_STREAM_ARN"),
        .owner = env_str("CRUDDUR_STREAMD_ID"),
        .latest = latest,
        .once = once,
        .give_up_ms = give_up_s * 1000,
        .poll_ms = c->poll_ms,
        .lease_timeout_ms = c->lease_timeout_ms,
        .record_attempts = (int)c->attempts,
        .deadletter_ttl_s = c->deadletter_ttl_days * 86400L,
        .batch_limit = (int)c->batch_limit,
    };
    errinfo e;
    int rc = MAIN_FAIL;
    sdmetrics *mx = NULL;
    streamd *s = NULL;
    /* Each applier thread gets a client of its own (a client is not thread safe). */
    ddb *clients[STREAMD_APPLIERS_MAX] = { 0 };
    int nclients = c->apply_threads > 1 ? (int)c->apply_threads : 0;
    for (int i = 0; i < nclients; i++)
        if (!(clients[i] = ddb_new(NULL, &e))) {
            fprintf(stderr, "cruddur-streamd: %s\n", e.msg);
            goto out;
        }
    o.apply_clients = clients;
    o.napply_clients = nclients;
    /* Metrics for Prometheus on CRUDDUR_METRICS_LISTEN (off when unset). */
    const char *listen_at = env_str("CRUDDUR_METRICS_LISTEN");
    if (listen_at) {
        if (!(mx = sdmetrics_new())) {
            fprintf(stderr, "cruddur-streamd: out of memory\n");
            goto out;
        }
        if (sdmetrics_listen(mx, listen_at, &e) != 0) {
            fprintf(stderr, "cruddur-streamd: %s\n", e.msg);
            goto out;
        }
        log_fields(LOG_INFO, "metrics_listening",
                   json_pack("{s:s, s:i}", "address", listen_at, "port", sdmetrics_port(mx)));
        o.metrics = mx;
    }
    if (!(s = streamd_new(&o, &e))) {
        fprintf(stderr, "cruddur-streamd: %s\n", e.msg);
        goto out;
    }
    if (streamd_run(s, &e) != 0) {
        log_msg(LOG_ERROR, "failed", "%s", e.msg);
        fprintf(stderr, "cruddur-streamd: %s\n", e.msg);
        goto out;
    }
    rc = MAIN_OK;
out:
    streamd_free(s); /* stops the applier threads before their clients go */
    sdmetrics_free(mx);
    for (int i = 0; i < nclients; i++)
        ddb_free(clients[i]);
    return rc;
}

static int main_fail(const char *what, const ddb_error *err)
{
    fprintf(stderr, "cruddur-streamd: %s: %s\n", what, err->info.msg);
    return MAIN_FAIL;
}

static int main_leases(ddb *d, const main_config *c)
{
    ddb_error err;
    ddb_error_clear(&err);
    lease *v = NULL;
    size_t n = 0;
    if (lease_scan(d, c->lease_table, NULL, &v, &n, &err) != 0) {
        if (ddb_error_is(&err, "ResourceNotFoundException")) {
            printf("no lease table %s yet (the daemon creates it when it starts)\n",
                   c->lease_table);
            return MAIN_OK;
        }
        return main_fail("listing leases", &err);
    }
    printf("%-40s %-32s %8s %-24s %s\n", "SHARD", "OWNER", "COUNTER", "CHECKPOINT", "PARENTS");
    for (size_t i = 0; i < n; i++)
        printf("%-40s %-32s %8lld %-24s %s%s%s\n", v[i].shard_id, v[i].owner[0] ? v[i].owner : "-",
               (long long)v[i].counter, v[i].checkpoint, v[i].nparents > 0 ? v[i].parents[0] : "-",
               v[i].nparents > 1 ? "," : "", v[i].nparents > 1 ? v[i].parents[1] : "");
    printf("%zu lease%s in %s\n", n, n == 1 ? "" : "s", c->lease_table);
    free(v);
    return MAIN_OK;
}

static int main_dl_list(ddb *d, const main_config *c, bool as_json)
{
    ddb_error err;
    ddb_error_clear(&err);
    json_t *all = NULL;
    if (deadletter_list(d, c->lease_table, &all, &err) != 0) {
        if (ddb_error_is(&err, "ResourceNotFoundException")) {
            if (as_json)
                puts("[]");
            else
                printf("no lease table %s yet: no dead letters\n", c->lease_table);
            return MAIN_OK;
        }
        return main_fail("listing dead letters", &err);
    }
    size_t i;
    json_t *dl;
    if (as_json) {
        /* Without the records: they hold message text. */
        json_array_foreach(all, i, dl) json_object_del(dl, "record");
        char *s = json_dumps(all, JSON_INDENT(2));
        if (s)
            puts(s);
        free(s);
    } else {
        json_array_foreach(all, i, dl)
            printf("%s  %s  attempts %lld  %s\n", json_string_value(json_object_get(dl, "id")),
                   json_string_value(json_object_get(dl, "created_at")),
                   (long long)json_integer_value(json_object_get(dl, "attempts")),
                   json_string_value(json_object_get(dl, "reason")));
        printf("%zu dead letter%s in %s\n", json_array_size(all),
               json_array_size(all) == 1 ? "" : "s", c->lease_table);
    }
    json_decref(all);
    return MAIN_OK;
}

/* Replays (or deletes) the dead letters named in ids (NULL: all). */
static int main_dl_apply(ddb *d, const main_config *c, char **ids, int nids, bool replay)
{
    ddb_error err;
    ddb_error_clear(&err);
    json_t *all = NULL;
    if (deadletter_list(d, c->lease_table, &all, &err) != 0)
        return main_fail("listing dead letters", &err);
    int failed = 0, done = 0;
    for (int k = 0; ids && k < nids; k++) {
        bool found = false;
        size_t i;
        json_t *dl;
        json_array_foreach(all, i, dl) found |=
            strcmp(json_string_value(json_object_get(dl, "id")), ids[k]) == 0;
        if (!found) {
            fprintf(stderr,
                    "cruddur-streamd: no dead letter %s (see: cruddur-streamd "
                    "dead-letters list)\n",
                    ids[k]);
            failed++;
        }
    }
    size_t i;
    json_t *dl;
    json_array_foreach(all, i, dl)
    {
        const char *id = json_string_value(json_object_get(dl, "id"));
        bool wanted = !ids;
        for (int k = 0; ids && k < nids && !wanted; k++)
            wanted = strcmp(ids[k], id) == 0;
        if (!wanted)
            continue;
        if (replay) {
            groupsync_result res;
            ddb_error_clear(&err);
            json_t *record = json_object_get(dl, "record");
            int rc = deadletter_restore(d, c->table, record, &err) == 0
                         ? groupsync_apply(d, c->table, record, &res, &err)
                         : GROUPSYNC_BAD;
            if (rc != GROUPSYNC_OK) {
                fprintf(stderr, "cruddur-streamd: %s: still fails: %s (kept)\n", id, err.info.msg);
                failed++;
                continue;
            }
            printf("%s: %s\n", id, groupsync_action_name(res.action));
        }
        ddb_error_clear(&err);
        if (deadletter_delete(d, c->lease_table, id, &err) != 0) {
            fprintf(stderr, "cruddur-streamd: %s: could not delete: %s\n", id, err.info.msg);
            failed++;
            continue;
        }
        if (!replay)
            printf("%s: deleted\n", id);
        done++;
    }
    printf("%d dead letter%s %s, %d failed\n", done, done == 1 ? "" : "s",
           replay ? "replayed" : "deleted", failed);
    json_decref(all);
    return failed ? MAIN_FAIL : MAIN_OK;
}

static int main_usage_error(const char *what, const char *arg)
{
    fprintf(stderr, "cruddur-streamd: %s%s (see cruddur-streamd --help)\n", what, arg);
    return MAIN_USAGE;
}

int main(int argc, char **argv)
{
    bool once = false, latest = false, as_json = false, all = false;
    long give_up_s = 0;
    const char *cmd = NULL, *sub = NULL;
    char **ids = NULL;
    int nids = 0;
    int rc = MAIN_OK;
    if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        fputs(main_usage, stdout);
        return MAIN_OK;
    }
    ids = calloc((size_t)argc, sizeof *ids);
    if (!ids)
        return MAIN_FAIL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(main_usage, stdout);
            goto out;
        } else if (strcmp(a, "--once") == 0 && !cmd) {
            once = true;
        } else if (strcmp(a, "--give-up-after") == 0 && !cmd) {
            char *end = NULL;
            long v = i + 1 < argc ? strtol(argv[i + 1], &end, 10) : 0;
            if (i + 1 >= argc || end == argv[i + 1] || *end || v < 1 || v > 86400) {
                rc = main_usage_error("--give-up-after takes a number of seconds, 1..86400", "");
                goto out;
            }
            give_up_s = v;
            i++;
        } else if (strcmp(a, "--latest") == 0 && !cmd) {
            latest = true;
        } else if (strcmp(a, "--json") == 0 && cmd && strcmp(cmd, "dead-letters") == 0) {
            as_json = true;
        } else if (strcmp(a, "--all") == 0 && sub && strcmp(sub, "replay") == 0) {
            all = true;
        } else if (a[0] == '-') {
            rc = main_usage_error("unknown option ", a);
            goto out;
        } else if (!cmd && (strcmp(a, "leases") == 0 || strcmp(a, "dead-letters") == 0)) {
            cmd = a;
        } else if (cmd && strcmp(cmd, "dead-letters") == 0 && !sub &&
                   (strcmp(a, "list") == 0 || strcmp(a, "replay") == 0 ||
                    strcmp(a, "delete") == 0)) {
            sub = a;
        } else if (sub && (strcmp(sub, "replay") == 0 || strcmp(sub, "delete") == 0)) {
            ids[nids++] = argv[i];
        } else {
            rc = main_usage_error("unexpected argument ", a);
            goto out;
        }
    }
    if (give_up_s && !once) {
        rc = main_usage_error("--give-up-after goes with --once", "");
        goto out;
    }
    if (cmd && (once || latest)) {
        rc = main_usage_error(cmd, " takes no --once or --latest");
        goto out;
    }
    if (sub && strcmp(sub, "replay") == 0 && all == (nids > 0)) {
        rc = main_usage_error("dead-letters replay takes --all or dead letter ids", "");
        goto out;
    }
    if (sub && strcmp(sub, "delete") == 0 && nids == 0) {
        rc = main_usage_error("dead-letters delete takes the ids to delete", "");
        goto out;
    }

    log_init_from_env();
    errinfo e;
    main_config c;
    if (main_config_read(&c, &e) != 0) {
        fprintf(stderr, "cruddur-streamd: %s\n", e.msg);
        rc = MAIN_FAIL;
        goto out;
    }
    ddb *d = ddb_new(NULL, &e);
    if (!d) {
        fprintf(stderr, "cruddur-streamd: %s\n", e.msg);
        rc = MAIN_FAIL;
        goto out;
    }
    if (!cmd)
        rc = main_run(d, &c, once, give_up_s, latest);
    else if (strcmp(cmd, "leases") == 0)
        rc = main_leases(d, &c);
    else if (!sub || strcmp(sub, "list") == 0)
        rc = main_dl_list(d, &c, as_json);
    else
        rc = main_dl_apply(d, &c, all ? NULL : ids, nids, strcmp(sub, "replay") == 0);
    ddb_free(d);
out:
    free(ids);
    return rc;
}
