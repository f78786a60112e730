/* live_streamd.h — helpers for the live tests of cruddur-streamd: a fresh messages table
 * with its stream, conversations and messages written as the API writes them, the daemon
 * binary run in the background or with --once, and the group rows read back. Header-only. */
#ifndef CR_TEST_LIVE_STREAMD_H
#define CR_TEST_LIVE_STREAMD_H

#include <check.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "aws/ddb.h"
#include "aws/ddb_av.h"
#include "base/buf.h"
#include "base/rnd.h"
#include "cli_run.h"
#include "live.h"
#include "messaging/messaging.h"
#include "messaging/post.h"
#include "support_env.h"
#include "support_server.h"

/* A new table (with its stream) named "<prefix>-<random>" into out (64 bytes). */
static inline void sd_table(const char *prefix, char out[64])
{
    live_name(prefix, out);
    char env[128];
    snprintf(env, sizeof env, "CRUDDUR_DDB_TABLE=%s", out);
    char ep[256];
    snprintf(ep, sizeof ep, "AWS_ENDPOINT_URL=%s", live_ddb_endpoint());
    cli_result r;
    cli_run(&r, ((const char *const[]){ env, ep, NULL }), NULL, "ddb", "schema-load", NULL);
    cli_assert_status(&r, 0);
    cli_result_cleanup(&r);
}

/* Deletes the table and its lease table (when there is one). */
static inline void sd_table_drop(ddb *d, const char *table)
{
    ddb_error err;
    ddb_error_clear(&err);
    ddb_delete_table(d, table, &err);
    char lt[128];
    snprintf(lt, sizeof lt, "%s-leases", table);
    ddb_error_clear(&err);
    ddb_delete_table(d, lt, &err);
}

/* Participants of test conversations: "u<n>" with a stable uuid per n. */
typedef struct sd_user {
    char uuid[UUID_BUF];
    char name[32];
    char handle[32];
    messaging_user u;
} sd_user;

static inline void sd_user_make(sd_user *x, int n)
{
    snprintf(x->uuid, sizeof x->uuid, "%08x-1111-4222-8333-%012x", n, n);
    snprintf(x->name, sizeof x->name, "User %d", n);
    snprintf(x->handle, sizeof x->handle, "u%d", n);
    x->u = (messaging_user){ x->uuid, x->name, x->handle };
}

/* A conversation between a and b (pattern D) with its first message at created_at (NULL:
 * now); group uuid into gid. */
static inline void sd_group(ddb *d, const char *table, const sd_user *a, const sd_user *b,
                            const char *created_at, char gid[UUID_BUF])
{
    messaging_store st = { .db = d, .table = table };
    messaging_post p = { .me = &a->u, .message = "first" };
    ck_assert(!created_at || clock_parse_iso8601_us(created_at, &p.at_us) == 0);
    messaging_post_result res;
    messaging_post_result_init(&res);
    ck_assert_msg(
        messaging_start(&st, &p, &b->u, &res) == 0 &&
            (res.outcome == MESSAGING_POST_CREATED || res.outcome == MESSAGING_POST_JOINED),
        "%d %s", res.outcome, res.err.info.msg);
    memcpy(gid, res.group, UUID_BUF);
    messaging_post_result_cleanup(&res);
}

/* A message (pattern C) at created_at (NULL: now, retried on a same-microsecond clash);
 * its created_at into ts_out when not NULL. */
static inline void sd_message(ddb *d, const char *table, const char *gid, const sd_user *from,
                              const char *text, const char *created_at,
                              char ts_out[MESSAGING_TS_LEN])
{
    for (int attempt = 0; attempt < 20; attempt++) {
        char mid[UUID_BUF], ts[MESSAGING_TS_LEN];
        rnd_uuid4(mid);
        if (created_at)
            snprintf(ts, sizeof ts, "%s", created_at);
        else
            messaging_now(ts);
        json_t *item = messaging_message_item(gid, ts, mid, &from->u, text);
        ck_assert(item != NULL);
        ddb_error err;
        ddb_error_clear(&err);
        int rc = messaging_put_message(d, table, item, &err);
        json_decref(item);
        if (rc == 0) {
            if (ts_out)
                memcpy(ts_out, ts, MESSAGING_TS_LEN);
            return;
        }
        ck_assert_msg(!created_at && ddb_error_is(&err, "ConditionalCheckFailedException"), "%s",
                      err.info.msg);
    }
    ck_abort_msg("could not write a message");
}

/* The group rows of gid (through the GSI; DynamoDB Local's GSI reads are consistent): a
 * new array of items. */
static inline json_t *sd_rows(ddb *d, const char *table, const char *gid)
{
    json_t *all = json_array();
    json_t *start = NULL;
    ddb_page page;
    ddb_page_init(&page);
    for (;;) {
        ddb_error err;
        ddb_error_clear(&err);
        ck_assert_msg(messaging_group_rows_page(d, table, gid, start, &page, &err) == 0, "%s",
                      err.info.msg);
        json_array_extend(all, page.items);
        json_decref(start);
        start = page.last_key ? json_incref(page.last_key) : NULL;
        if (!start)
            break;
    }
    ddb_page_cleanup(&page);
    return all;
}

/* Asserts gid has exactly two group rows, both at (sk, message). */
static inline void sd_assert_rows(ddb *d, const char *table, const char *gid, const char *sk,
                                  const char *message)
{
    json_t *rows = sd_rows(d, table, gid);
    ck_assert_msg(json_array_size(rows) == 2, "group %s has %zu group rows, want 2", gid,
                  json_array_size(rows));
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row)
    {
        const char *rsk = ddb_av_get_s(row, "sk"), *rmsg = ddb_av_get_s(row, "message");
        ck_assert_msg(rsk && strcmp(rsk, sk) == 0, "group %s row %s: sk %s, want %s", gid,
                      ddb_av_get_s(row, "pk"), rsk ? rsk : "-", sk);
        ck_assert_msg(rmsg && strcmp(rmsg, message) == 0, "group %s row %s: message %s, want %s",
                      gid, ddb_av_get_s(row, "pk"), rmsg ? rmsg : "-", message);
    }
    json_decref(rows);
}

/* Every item of the table as one canonical JSON text (sorted), for before/after checks. */
static inline char *sd_snapshot(ddb *d, const char *table)
{
    json_t *all = json_array(), *start = NULL;
    ddb_page page;
    ddb_page_init(&page);
    for (;;) {
        ddb_query_options q = { .table = table, .consistent = true, .start_key = start };
        ddb_error err;
        ddb_error_clear(&err);
        ck_assert_msg(ddb_scan(d, &q, &page, &err) == 0, "%s", err.info.msg);
        size_t i;
        json_t *it;
        json_array_foreach(page.items, i, it)
        {
            char *s = json_dumps(it, JSON_SORT_KEYS | JSON_COMPACT);
            json_array_append_new(all, json_string(s));
            free(s);
        }
        json_decref(start);
        start = page.last_key ? json_incref(page.last_key) : NULL;
        if (!start)
            break;
    }
    ddb_page_cleanup(&page);
    /* sort the item texts */
    size_t n = json_array_size(all);
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && strcmp(json_string_value(json_array_get(all, j - 1)),
                                           json_string_value(json_array_get(all, j))) > 0;
             j--) {
            json_t *a = json_incref(json_array_get(all, j - 1));
            json_array_set(all, j - 1, json_array_get(all, j));
            json_array_set_new(all, j, a);
        }
    char *s = json_dumps(all, JSON_COMPACT);
    json_decref(all);
    return s;
}

/* The daemon binary, started in the background with env changes ("NAME=value", "NAME="
 * unsets) and the arguments args (NULL-terminated), stderr (its JSON log) to log_path. */
static inline pid_t sd_start_args(const char *const *env, const char *log_path,
                                  const char *const *args)
{
    char ep[512];
    snprintf(ep, sizeof ep, "AWS_ENDPOINT_URL=%s", live_ddb_endpoint());
    const char *all[SUPPORT_ENV_MAX + 3] = { ep, "CRUDDUR_LOG_LEVEL=info" };
    for (size_t i = 0; env && env[i]; i++) {
        ck_assert(i < SUPPORT_ENV_MAX);
        all[i + 2] = env[i];
    }
    return support_server_spawn("src/streamd/cruddur-streamd", "cruddur-streamd", all, log_path,
                                args);
}

/* sd_start_args with one argument (NULL: none). */
static inline pid_t sd_start(const char *const *env, const char *log_path, const char *arg)
{
    const char *args[] = { arg, NULL };
    return sd_start_args(env, log_path, args);
}

/* Runs `cruddur-streamd ARGS` (an operator command) for table and its default lease table;
 * stdout and stderr into out; the exit status. */
static inline int sd_cli(const char *table, const char *args, char *out, size_t outlen)
{
    const char *bd = getenv("CR_BUILDDIR");
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "env CRUDDUR_DDB_TABLE=%s AWS_ENDPOINT_URL=%s CRUDDUR_LOG_LEVEL=warn "
             "%s/src/streamd/cruddur-streamd %s 2>&1",
             table, live_ddb_endpoint(), bd && *bd ? bd : ".", args);
    FILE *p = popen(cmd, "r");
    ck_assert(p != NULL);
    size_t got = fread(out, 1, outlen - 1, p);
    out[got] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* Runs `cruddur-streamd --once` to completion (60 s at most); asserts exit 0. */
static inline void sd_once(const char *const *env, const char *log_path)
{
    pid_t pid = sd_start(env, log_path, "--once");
    int st = support_server_wait(pid, 60000);
    if (st < 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
    ck_assert_msg(st == 0, "cruddur-streamd --once: status %d (log %s)", st, log_path);
}

/* How many lines of the log file contain needle. */
static inline int sd_log_count(const char *log_path, const char *needle)
{
    FILE *f = fopen(log_path, "r");
    if (!f)
        return 0;
    char line[8192];
    int n = 0;
    while (fgets(line, sizeof line, f))
        n += strstr(line, needle) != NULL;
    fclose(f);
    return n;
}

/* Whether the file contains needle anywhere. */
static inline bool sd_file_has(const char *path, const char *needle)
{
    return sd_log_count(path, needle) > 0;
}

#endif
