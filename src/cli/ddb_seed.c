/* ddb_seed.c — `cruddur ddb seed`: the sample conversation (also written by `cruddur
 * setup`), or a large synthetic data set written over several connections at once. */
#include "config.h"

#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/ddb.h"
#include "base/clock.h"
#include "base/env.h"
#include "cli/cli.h"
#include "cli/ddb_internal.h"
#include "messaging/messaging.h"
#include "messaging/seed.h"
#include "users/users.h"

#define DDBCLI_CHUNK 100 /* items per ddb_batch_write call */
#define DDBCLI_CONNECTIONS_MAX 32
#define DDBCLI_CONNECTIONS_DEFAULT 4
#define DDBCLI_HINT_STREAM_ITEMS 20000L /* suggest --stream-off from this many items */

static const char ddbcli_seed_usage[] =
    "Usage: cruddur ddb seed [--prod]\n"
    "       cruddur ddb seed --users U --groups G --messages M [--seed N] [--end-time TS]\n"
    "                        [--connections N] [--stream-off] [--dump] [--prod]\n"
    "\n"
    "Without options: writes the sample conversation, 40 messages between @mira and\n"
    "@tomasz over the last day plus both group rows, replacing an earlier copy (message\n"
    "group " SEED_SAMPLE_GROUP_UUID "). The users come from PostgreSQL\n"
    "(CONNECTION_URL) when it is configured, else the built-in values of sql/seed.sql.\n"
    "\n"
    "With --users/--groups/--messages: a synthetic data set for load tests, the same for\n"
    "the same options: users u1..uU, G groups between random pairs of them, M messages over\n"
    "the 30 days before --end-time, two group rows per group holding its last message.\n"
    "Written with BatchWriteItem (25 items a request, unprocessed items re-sent) over\n"
    "--connections connections; a progress bar on a terminal, a summary with items/s\n"
    "otherwise.\n"
    "\n"
    "Options:\n"
    "  --users U        users, 2..1000000\n"
    "  --groups G       message groups, 1..10000000\n"
    "  --messages M     messages, G..100000000 (every group gets at least one)\n"
    "  --seed N         the random seed (default 1)\n"
    "  --end-time TS    the last message's time, ISO-8601 (default: now)\n"
    "  --connections N  write over N connections at once, 1..32 (default 4)\n"
    "  --stream-off     disable the table's stream during the load and re-enable it after.\n"
    "                   DynamoDB Local slows down badly once a stream holds tens of\n"
    "                   thousands of records. Re-enabling creates a NEW stream ARN: stream\n"
    "                   readers (cruddur-streamd) must move to it, and the loaded items\n"
    "                   appear in no stream.\n"
    "  --dump           print the items as JSON lines instead of writing them\n"
    "  --prod           real AWS instead of the local endpoint\n"
    "  -h, --help       show this help\n";

/* ---- seed ------------------------------------------------------------------------------------ */

/* The two sample users: from PostgreSQL when it is configured and knows them, else the
 * fixed values of sql/seed.sql (seed_sample_mira / _tomasz). Notes why on stderr. */
void cli_ddb_seed_sample_users(user *ua, user *ub, messaging_user *a, messaging_user *b)
{
    *a = seed_sample_mira;
    *b = seed_sample_tomasz;
    if (!env_str("CONNECTION_URL"))
        return;
    errinfo e;
    users *u = users_open(NULL, &e);
    if (!u) {
        fprintf(stderr, "cruddur: note: %s; seeding with the built-in users @%s and @%s\n", e.msg,
                a->handle, b->handle);
        return;
    }
    if (users_by_handle(u, seed_sample_mira.handle, ua, &e) == 0 &&
        users_by_handle(u, seed_sample_tomasz.handle, ub, &e) == 0) {
        *a = (messaging_user){ ua->uuid, ua->display_name, ua->handle };
        *b = (messaging_user){ ub->uuid, ub->display_name, ub->handle };
    } else {
        fprintf(stderr, "cruddur: note: %s; seeding with the built-in users @%s and @%s\n", e.msg,
                a->handle, b->handle);
    }
    users_close(u);
}

/* Appends a DeleteRequest for each item of page to dels. */
static int ddbcli_add_deletes(json_t *dels, const json_t *items)
{
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it)
    {
        json_t *del = json_pack("{s:{s:{s:O, s:O}}}", "DeleteRequest", "Key", "pk",
                                json_object_get(it, "pk"), "sk", json_object_get(it, "sk"));
        if (!del || json_array_append_new(dels, del) != 0)
            return -1;
    }
    return 0;
}

/* Writes the sample conversation, deleting an earlier copy first. *replaced: items
 * deleted. 0, or -1 with err. */
int cli_ddb_seed_sample(ddbcli *c, const messaging_user *a, const messaging_user *b,
                        size_t *replaced, ddb_error *err)
{
    int rc = -1;
    json_t *dels = json_array();
    json_t *items = NULL;
    json_t *writes = json_array();
    json_t *start = NULL;
    ddb_page page;
    ddb_page_init(&page);
    *replaced = 0;
    if (!dels || !writes)
        goto nomem;
    for (int pass = 0; pass < 2; pass++) {
        do {
            int qrc = pass == 0 ? messaging_conversation_page(
                                      c->d, c->table, SEED_SAMPLE_GROUP_UUID, 0, start, &page, err)
                                : messaging_group_rows_page(c->d, c->table, SEED_SAMPLE_GROUP_UUID,
                                                            start, &page, err);
            if (qrc != 0)
                goto out;
            if (ddbcli_add_deletes(dels, page.items) != 0)
                goto nomem;
            json_decref(start);
            start = json_incref(page.last_key);
        } while (start);
    }
    if (json_array_size(dels) > 0 && ddb_batch_write(c->d, c->table, dels, NULL, err) != 0)
        goto out;
    *replaced = json_array_size(dels);
    items = seed_sample_items(a, b, clock_real_us());
    if (!items)
        goto nomem;
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it)
    {
        if (json_array_append_new(writes, json_pack("{s:{s:O}}", "PutRequest", "Item", it)) != 0)
            goto nomem;
    }
    rc = ddb_batch_write(c->d, c->table, writes, NULL, err);
    goto out;
nomem:
    aws_error_nomem(err);
out:
    ddb_page_cleanup(&page);
    json_decref(start);
    json_decref(dels);
    json_decref(items);
    json_decref(writes);
    return rc;
}

/* A progress bar on a terminal; nothing otherwise. */
typedef struct ddbcli_progress {
    bool tty;
    size_t total;
    int64_t t0_us;
    int64_t shown_us;
} ddbcli_progress;

static void ddbcli_progress_show(ddbcli_progress *p, size_t done, bool final)
{
    if (!p->tty)
        return;
    int64_t now = clock_mono_us();
    if (!final && now - p->shown_us < 100000)
        return;
    p->shown_us = now;
    double secs = (double)(now - p->t0_us) / 1e6;
    int pct = p->total ? (int)((double)done * 100.0 / (double)p->total) : 100;
    char bar[31];
    int fill = pct * 30 / 100;
    for (int i = 0; i < 30; i++)
        bar[i] = i < fill ? '#' : '-';
    bar[30] = '\0';
    printf("\r[%s] %3d%%  %zu/%zu items  %.0f items/s ", bar, pct, done, p->total,
           secs > 0 ? (double)done / secs : 0.0);
    if (final)
        putchar('\n');
    fflush(stdout);
}

/* The bulk load: `connections` workers, each with its own client (one keep-alive
 * connection), take chunks of DDBCLI_CHUNK items in turn; the calling thread shows the
 * progress. The first failure stops every worker. */
typedef struct ddbcli_load_job {
    ddbcli *c;
    const seed_bulk *b;
    size_t total;
    atomic_size_t next;    /* offset of the next chunk to take */
    atomic_size_t written; /* items in chunks written completely */
    atomic_int running;    /* workers not finished */
    atomic_bool failed;
    pthread_mutex_t lock; /* guards err and err_set */
    ddb_error err;
    bool err_set;
} ddbcli_load_job;

static void ddbcli_load_fail(ddbcli_load_job *j, const ddb_error *err)
{
    pthread_mutex_lock(&j->lock);
    if (!j->err_set) {
        j->err = *err;
        j->err_set = true;
    }
    pthread_mutex_unlock(&j->lock);
    atomic_store(&j->failed, true);
}

static void ddbcli_load_chunks(ddbcli_load_job *j, ddb *d)
{
    ddb_error err;
    while (!atomic_load(&j->failed)) {
        size_t off = atomic_fetch_add(&j->next, (size_t)DDBCLI_CHUNK);
        if (off >= j->total)
            break;
        size_t end = off + DDBCLI_CHUNK < j->total ? off + DDBCLI_CHUNK : j->total;
        json_t *reqs = json_array();
        bool ok = reqs != NULL;
        for (size_t i = off; i < end && ok; i++) {
            json_t *item = seed_bulk_item(j->b, i);
            json_t *req = item ? json_pack("{s:{s:o}}", "PutRequest", "Item", item) : NULL;
            ok = req && json_array_append_new(reqs, req) == 0;
        }
        if (!ok) {
            json_decref(reqs);
            aws_error_nomem(&err);
            ddbcli_load_fail(j, &err);
            break;
        }
        int rc = ddb_batch_write(d, j->c->table, reqs, NULL, &err);
        json_decref(reqs);
        if (rc != 0) {
            ddbcli_load_fail(j, &err);
            break;
        }
        atomic_fetch_add(&j->written, end - off);
    }
}

static void *ddbcli_load_worker(void *arg)
{
    ddbcli_load_job *j = arg;
    ddb *d = cli_ddb_open(j->c->prod);
    if (d) {
        ddbcli_load_chunks(j, d);
    } else {
        ddb_error err;
        aws_error_set(&err, ERR_CONFIG, "cannot open another DynamoDB client");
        ddbcli_load_fail(j, &err);
    }
    ddb_free(d);
    atomic_fetch_sub(&j->running, 1);
    return NULL;
}

/* Writes every item of b over `connections` connections; *written counts the items known
 * to be in. 0, or -1 with err (the first failure). */
static int ddbcli_load(ddbcli *c, const seed_bulk *b, int connections, ddbcli_progress *pr,
                       size_t *written, ddb_error *err)
{
    ddbcli_load_job j = { .c = c, .b = b, .total = seed_bulk_count(b) };
    atomic_init(&j.next, 0);
    atomic_init(&j.written, 0);
    atomic_init(&j.running, connections);
    atomic_init(&j.failed, false);
    pthread_mutex_init(&j.lock, NULL);
    pthread_t tids[DDBCLI_CONNECTIONS_MAX];
    int started = 0;
    for (; started < connections; started++) {
        if (pthread_create(&tids[started], NULL, ddbcli_load_worker, &j) != 0)
            break;
    }
    if (started < connections) {
        atomic_fetch_sub(&j.running, connections - started);
        if (started == 0) {
            ddb_error e;
            aws_error_set(&e, ERR_INTERNAL, "cannot start a thread");
            ddbcli_load_fail(&j, &e);
        }
    }
    while (atomic_load(&j.running) > 0) {
        ddbcli_progress_show(pr, atomic_load(&j.written), false);
        clock_sleep_ms(50);
    }
    for (int i = 0; i < started; i++)
        pthread_join(tids[i], NULL);
    pthread_mutex_destroy(&j.lock);
    *written = atomic_load(&j.written);
    if (j.err_set) {
        *err = j.err;
        return -1;
    }
    return 0;
}

typedef struct ddbcli_bulk_args {
    long users, groups, messages, seed;
    int connections;
    const char *end_time;
    bool stream_off;
    bool dump;
} ddbcli_bulk_args;

static int ddbcli_seed_bulk(ddbcli *c, const ddbcli_bulk_args *a)
{
    seed_bulk_options so = {
        .users = a->users,
        .groups = a->groups,
        .messages = a->messages,
        .seed = (uint64_t)a->seed,
        .end_us = clock_real_us(),
    };
    if (a->end_time && clock_parse_iso8601_us(a->end_time, &so.end_us) != 0)
        return cli_usage_error(c->cmd,
                               "--end-time wants an ISO-8601 time like "
                               "2026-11-21T09:30:00.000000+00:00, not '%.60s'",
                               a->end_time);
    errinfo e;
    seed_bulk *b = seed_bulk_new(&so, &e);
    if (!b)
        return e.code == ERR_INVALID ? cli_usage_error(c->cmd, "%s", e.msg) : cli_nomem();
    size_t total = seed_bulk_count(b);
    int rc = CLI_OK;
    if (a->dump) {
        for (size_t i = 0; i < total && rc == CLI_OK; i++) {
            json_t *item = seed_bulk_item(b, i);
            if (!item || cli_ddb_print_json(item) != 0)
                rc = cli_nomem();
            json_decref(item);
        }
        seed_bulk_free(b);
        return rc;
    }
    rc = cli_ddb_connect(c);
    if (rc != CLI_OK) {
        seed_bulk_free(b);
        return rc;
    }
    ddb_error err;
    char view[32], arn[512];
    bool stream_was_on = false;
    if (cli_ddb_tables_stream(c, view, arn, &err) != 0) {
        rc = cli_ddb_fail(c->d, &err, "DescribeTable");
        goto out;
    }
    if (view[0] && a->stream_off) {
        if (cli_ddb_tables_set_stream(c, NULL, &err) != 0) {
            rc = cli_ddb_fail(c->d, &err, "disabling the stream");
            goto out;
        }
        stream_was_on = true;
        fprintf(stderr, "stream of %s disabled for the load\n", c->table);
    } else if (view[0] && (long)total >= DDBCLI_HINT_STREAM_ITEMS && !c->prod) {
        fprintf(stderr,
                "cruddur: note: %s has a stream; DynamoDB Local slows down once a stream "
                "holds tens of thousands of records (--stream-off avoids that)\n",
                c->table);
    }
    ddbcli_progress pr = { .tty = cli_stdout_is_tty(), .total = total, .t0_us = clock_mono_us() };
    size_t written = 0;
    int lrc = ddbcli_load(c, b, a->connections, &pr, &written, &err);
    double secs = (double)(clock_mono_us() - pr.t0_us) / 1e6;
    if (lrc == 0) {
        ddbcli_progress_show(&pr, written, true);
        printf("seeded %zu items into %s: %ld messages, %ld group rows (%ld users, %ld groups) "
               "in %.1f s, %.0f items/s over %d connection%s\n",
               written, c->table, a->messages, 2 * a->groups, a->users, a->groups, secs,
               secs > 0 ? (double)written / secs : 0.0, a->connections,
               a->connections == 1 ? "" : "s");
    } else {
        if (pr.tty)
            putchar('\n');
        rc = cli_ddb_fail(c->d, &err, "BatchWriteItem");
        fprintf(stderr,
                "cruddur: %zu of %zu items were written before the failure; seeding "
                "again with the same options rewrites the same items\n",
                written, total);
    }
    if (stream_was_on) {
        ddb_error serr;
        if (cli_ddb_tables_set_stream(c, view, &serr) != 0 ||
            cli_ddb_tables_stream(c, view, arn, &serr) != 0) {
            cli_ddb_fail(c->d, &serr, "re-enabling the stream");
            fprintf(stderr,
                    "cruddur: the stream of %s is OFF; turn it on again (StreamViewType "
                    "NEW_IMAGE) before running cruddur-streamd\n",
                    c->table);
            rc = CLI_FAIL;
        } else {
            printf("stream of %s re-enabled (%s): new stream ARN %s — stream readers such as "
                   "cruddur-streamd must follow the new ARN; the loaded items are in no "
                   "stream\n",
                   c->table, view, arn);
        }
    }
out:
    seed_bulk_free(b);
    ddb_free(c->d);
    c->d = NULL;
    return rc;
}

int cli_ddb_seed(int argc, char **argv)
{
    static const struct option opts[] = {
        { "users", required_argument, NULL, 'U' },
        { "groups", required_argument, NULL, 'G' },
        { "messages", required_argument, NULL, 'M' },
        { "seed", required_argument, NULL, 's' },
        { "end-time", required_argument, NULL, 'e' },
        { "stream-off", no_argument, NULL, 'S' },
        { "dump", no_argument, NULL, 'D' },
        { "connections", required_argument, NULL, 'c' },
        { "prod", no_argument, NULL, 'p' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    ddbcli c = { .cmd = "ddb seed", .table = cli_table() };
    ddbcli_bulk_args a = { .users = -1,
                           .groups = -1,
                           .messages = -1,
                           .seed = 1,
                           .connections = DDBCLI_CONNECTIONS_DEFAULT };
    long conns = DDBCLI_CONNECTIONS_DEFAULT;
    bool bulk_only = false;
    int o;
    while ((o = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        long *dst = NULL;
        const char *name = NULL;
        long max = 0;
        switch (o) {
        case 'U': dst = &a.users, name = "--users", max = SEED_BULK_USERS_MAX; break;
        case 'G': dst = &a.groups, name = "--groups", max = SEED_BULK_GROUPS_MAX; break;
        case 'M': dst = &a.messages, name = "--messages", max = SEED_BULK_MESSAGES_MAX; break;
        case 's': dst = &a.seed, name = "--seed", max = 2147483647L; break;
        case 'e': a.end_time = optarg, bulk_only = true; break;
        case 'c': dst = &conns, name = "--connections", max = DDBCLI_CONNECTIONS_MAX; break;
        case 'S': a.stream_off = true, bulk_only = true; break;
        case 'D': a.dump = true, bulk_only = true; break;
        case 'p': c.prod = true; break;
        case 'h': fputs(ddbcli_seed_usage, stdout); return CLI_OK;
        default: return cli_ddb_bad_option(c.cmd, o, argv);
        }
        if (dst) {
            long min = o == 's' ? 0 : o == 'U' ? 2 : 1;
            if (cli_ddb_long(optarg, min, max, dst) != 0)
                return cli_usage_error(c.cmd,
                                       "%s wants a whole number from %ld to %ld, not "
                                       "'%.40s'",
                                       name, min, max, optarg);
            if (o == 's' || o == 'c')
                bulk_only = true;
        }
    }
    if (optind < argc)
        return cli_usage_error(c.cmd, "unexpected argument '%s'", argv[optind]);
    a.connections = (int)conns;
    bool bulk = a.users >= 0 || a.groups >= 0 || a.messages >= 0;
    if (bulk && (a.users < 0 || a.groups < 0 || a.messages < 0))
        return cli_usage_error(c.cmd,
                               "a synthetic data set needs all of --users, --groups "
                               "and --messages (missing %s)",
                               a.users < 0    ? "--users"
                               : a.groups < 0 ? "--groups"
                                              : "--messages");
    if (!bulk && bulk_only)
        return cli_usage_error(c.cmd, "--seed, --end-time, --connections, --stream-off and "
                                      "--dump go with --users/--groups/--messages");
    if (bulk)
        return ddbcli_seed_bulk(&c, &a);

    user ua, ub;
    messaging_user ma, mb;
    cli_ddb_seed_sample_users(&ua, &ub, &ma, &mb);
    int rc = cli_ddb_connect(&c);
    if (rc != CLI_OK)
        return rc;
    size_t replaced = 0;
    ddb_error err;
    if (cli_ddb_seed_sample(&c, &ma, &mb, &replaced, &err) != 0) {
        rc = cli_ddb_fail(c.d, &err, "seeding the sample conversation");
    } else {
        printf("seeded the sample conversation into %s: %d messages between @%s and @%s, "
               "group %s",
               c.table, SEED_SAMPLE_MESSAGES, ma.handle, mb.handle, SEED_SAMPLE_GROUP_UUID);
        if (replaced)
            printf(" (replaced an earlier copy: %zu items)", replaced);
        putchar('\n');
    }
    ddb_free(c.d);
    return rc;
}
