/* live_streamd.c — cruddur-streamd, the binary, against DynamoDB Local: pattern E through the
 * real stream, concurrency, SIGKILL and restarts, replays, two daemons sharing a stream,
 * systemd notifications and dead letters. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "aws/ddb_av.h"
#include "base/clock.h"
#include "live_streamd.h"
#include "support_tmpdir.h"
#include "tap.h"

static char g_dir[256];

static void setup(void)
{
    live_ddb_endpoint();
    ck_assert(support_tmpdir_make("live-streamd", g_dir, sizeof g_dir) == 0);
}

static void log_path(char out[512], const char *name)
{
    snprintf(out, 512, "%s/%s.log", g_dir, name);
}

/* A test's start: a fresh table "<table_prefix>-..." into t, the log <dir>/<log>.log into lp,
 * users n and n + 1 into u. */
static void begin(const char *table_prefix, const char *log, int n, char t[64], char lp[512],
                  sd_user u[2])
{
    sd_table(table_prefix, t);
    log_path(lp, log);
    sd_user_make(&u[0], n);
    sd_user_make(&u[1], n + 1);
}

/* env for the daemon: table, quick polls, a short lease timeout */
typedef struct sd_env {
    char table[128], lease[160], poll[64], timeout[64], id[96];
    const char *v[8];
} sd_env;

static void env_make(sd_env *e, const char *table, const char *id, long timeout_ms)
{
    snprintf(e->table, sizeof e->table, "CRUDDUR_DDB_TABLE=%s", table);
    snprintf(e->lease, sizeof e->lease, "CRUDDUR_LEASE_TABLE=%s-leases", table);
    snprintf(e->poll, sizeof e->poll, "CRUDDUR_POLL_MS=50");
    snprintf(e->timeout, sizeof e->timeout, "CRUDDUR_LEASE_TIMEOUT_MS=%ld", timeout_ms);
    snprintf(e->id, sizeof e->id, "CRUDDUR_STREAMD_ID=%s", id ? id : "");
    size_t k = 0;
    e->v[k++] = e->table;
    e->v[k++] = e->lease;
    e->v[k++] = e->poll;
    e->v[k++] = e->timeout;
    if (id)
        e->v[k++] = e->id;
    e->v[k] = NULL;
}

/* The newest message of gid: its sk and text into the outputs. */
static void newest(ddb *d, const char *table, const char *gid, char sk[64], char text[128])
{
    ddb_page page;
    ddb_page_init(&page);
    ddb_error err;
    ddb_error_clear(&err);
    ck_assert_msg(messaging_conversation_page(d, table, gid, 1, NULL, &page, &err) == 0, "%s",
                  err.info.msg);
    ck_assert_int_eq(json_array_size(page.items), 1);
    json_t *m = json_array_get(page.items, 0);
    snprintf(sk, 64, "%s", ddb_av_get_s(m, "sk"));
    snprintf(text, 128, "%s", ddb_av_get_s(m, "message"));
    ddb_page_cleanup(&page);
}

/* Asserts both rows of gid stand at its newest message, whose text is want (NULL: any). */
static void assert_at_newest(ddb *d, const char *table, const char *gid, const char *want)
{
    char sk[64], text[128];
    newest(d, table, gid, sk, text);
    if (want)
        ck_assert_str_eq(text, want);
    sd_assert_rows(d, table, gid, sk, text);
}

/* Waits until both rows of gid are at the newest message (timeout_ms); true when they are. */
static bool wait_current(ddb *d, const char *table, const char *gid, long timeout_ms)
{
    char sk[64], text[128];
    newest(d, table, gid, sk, text);
    for (long t = 0; t <= timeout_ms; t += 100) {
        json_t *rows = sd_rows(d, table, gid);
        size_t ok = 0, i;
        json_t *row;
        json_array_foreach(rows, i, row)
        {
            const char *rsk = ddb_av_get_s(row, "sk");
            ok += rsk && strcmp(rsk, sk) == 0;
        }
        size_t n = json_array_size(rows);
        json_decref(rows);
        if (n == 2 && ok == 2)
            return true;
        support_server_sleep_ms(100);
    }
    return false;
}

START_TEST(new_message_moves_both_rows_forward_only)
{
    ddb *d = live_ddb();
    char t[64], gid[37], ts[MESSAGING_TS_LEN], lp[512];
    sd_table("sd-basic", t);
    log_path(lp, "basic");
    sd_user a, b;
    sd_user_make(&a, 1);
    sd_user_make(&b, 2);
    sd_group(d, t, &a, &b, "2024-01-01T00:00:00.000000+00:00", gid);
    sd_message(d, t, gid, &b, "reply from b: secret-text-1", NULL, ts);
    sd_env e;
    env_make(&e, t, NULL, 2000);
    sd_once(e.v, lp);
    sd_assert_rows(d, t, gid, ts, "reply from b: secret-text-1");

    /* An older message (written later) changes nothing. */
    sd_message(d, t, gid, &a, "older: secret-text-2", "2025-06-01T00:00:00.000000+00:00", NULL);
    sd_once(e.v, lp);
    sd_assert_rows(d, t, gid, ts, "reply from b: secret-text-1");
    /* The other participant's details stay on each row. */
    json_t *rows = sd_rows(d, t, gid);
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row)
    {
        const char *pk = ddb_av_get_s(row, "pk");
        const char *other = ddb_av_get_s(row, "user_uuid");
        ck_assert(pk && other);
        ck_assert_str_eq(other, strstr(pk, a.uuid) ? b.uuid : a.uuid);
    }
    json_decref(rows);
    /* Never message text in the log. */
    ck_assert(sd_file_has(lp, "\"action\":\"moved\""));
    ck_assert(!sd_file_has(lp, "secret-text"));
    sd_table_drop(d, t);
    ddb_free(d);
}
END_TEST

START_TEST(concurrent_senders_end_at_the_newest_message)
{
    ddb *d = live_ddb();
    char t[64], gid[37], lp[512];
    sd_table("sd-conc", t);
    log_path(lp, "conc");
    sd_user a, b;
    sd_user_make(&a, 11);
    sd_user_make(&b, 12);
    sd_group(d, t, &a, &b, NULL, gid);
    sd_env e;
    env_make(&e, t, NULL, 3000);
    pid_t daemon = sd_start(e.v, lp, NULL);
    pid_t kids[20];
    for (int k = 0; k < 20; k++) {
        kids[k] = fork();
        ck_assert_int_ge(kids[k], 0);
        if (kids[k] == 0) {
            ddb *dk = live_ddb();
            for (int i = 0; i < 50; i++) {
                char text[64];
                snprintf(text, sizeof text, "sender %d message %d", k, i);
                sd_message(dk, t, gid, k % 2 ? &a : &b, text, NULL, NULL);
            }
            ddb_free(dk);
            _exit(0);
        }
    }
    for (int k = 0; k < 20; k++) {
        int st;
        waitpid(kids[k], &st, 0);
        ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    ck_assert_msg(wait_current(d, t, gid, 60000), "the daemon did not catch up in 60 s");
    /* idle: still current after a few more polls */
    support_server_sleep_ms(500);
    assert_at_newest(d, t, gid, NULL);
    kill(daemon, SIGTERM);
    ck_assert_int_eq(support_server_wait(daemon, 10000), 0);
    sd_table_drop(d, t);
    ddb_free(d);
}
END_TEST

/* Writes n messages round-robin over the groups, pausing pause_ms between them. */
static pid_t writer_start(const char *t, char gids[][37], int ngroups, const sd_user *u, int n,
                          long pause_ms)
{
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        ddb *d = live_ddb();
        for (int i = 0; i < n; i++) {
            char text[64];
            snprintf(text, sizeof text, "w%d", i);
            sd_message(d, t, gids[i % ngroups], &u[i % 2], text, NULL, NULL);
            if (pause_ms)
                support_server_sleep_ms(pause_ms);
        }
        ddb_free(d);
        _exit(0);
    }
    return pid;
}

START_TEST(sigkill_and_restart_lose_nothing_and_never_go_back)
{
    ddb *d = live_ddb();
    char t[64], lp[512], gids[5][37];
    sd_user u[2];
    begin("sd-kill", "kill", 21, t, lp, u);
    for (int g = 0; g < 5; g++) {
        sd_user other;
        sd_user_make(&other, 30 + g);
        sd_group(d, t, &u[0], &other, NULL, gids[g]);
    }
    pid_t writer = writer_start(t, gids, 5, u, 250, 8);
    sd_env e;
    env_make(&e, t, NULL, 1000);
    char last_sk[5][2][64];
    memset(last_sk, 0, sizeof last_sk);
    int kills = 0;
    pid_t daemon = sd_start(e.v, lp, NULL);
    int64_t next_kill = clock_mono_ms() + 300 + (int64_t)rnd_below(500);
    bool writing = true;
    while (writing || kills < 4) {
        /* the rows never move backwards, and every group always has exactly two */
        for (int g = 0; g < 5; g++) {
            json_t *rows = sd_rows(d, t, gids[g]);
            ck_assert_msg(json_array_size(rows) == 2, "group %d has %zu rows", g,
                          json_array_size(rows));
            for (size_t i = 0; i < 2; i++) {
                json_t *row = json_array_get(rows, i);
                const char *pk = ddb_av_get_s(row, "pk"), *sk = ddb_av_get_s(row, "sk");
                int side = strstr(pk, u[0].uuid) ? 0 : 1;
                ck_assert_msg(strcmp(sk, last_sk[g][side]) >= 0, "group %d moved back: %s < %s", g,
                              sk, last_sk[g][side]);
                snprintf(last_sk[g][side], 64, "%s", sk);
            }
            json_decref(rows);
        }
        /* kill the daemon only once it holds the lease, so each kill lands mid-stream */
        if (kills < 4 && clock_mono_ms() >= next_kill &&
            sd_log_count(lp, "\"event\":\"lease_taken\"") > kills) {
            kill(daemon, SIGKILL);
            ck_assert_int_eq(support_server_wait(daemon, 5000), 128 + SIGKILL);
            kills++;
            daemon = sd_start(e.v, lp, NULL);
            next_kill = clock_mono_ms() + 300 + (int64_t)rnd_below(1200);
        }
        if (writing && waitpid(writer, NULL, WNOHANG) == writer)
            writing = false;
        support_server_sleep_ms(40);
    }
    /* One more message per group: only the last daemon, once it holds the lease, can
     * apply them. */
    for (int g = 0; g < 5; g++)
        sd_message(d, t, gids[g], &u[1], "after the last kill", NULL, NULL);
    for (int g = 0; g < 5; g++)
        ck_assert_msg(wait_current(d, t, gids[g], 30000), "group %d not current", g);
    for (int g = 0; g < 5; g++)
        assert_at_newest(d, t, gids[g], "after the last kill");
    kill(daemon, SIGTERM);
    ck_assert_int_eq(support_server_wait(daemon, 10000), 0);
    /* The leases were taken over after each kill. */
    ck_assert_int_ge(sd_log_count(lp, "\"event\":\"lease_taken\""), 5);
    sd_table_drop(d, t);
    ddb_free(d);
}
END_TEST

START_TEST(replay_from_trim_horizon_changes_nothing)
{
    ddb *d = live_ddb();
    char t[64], lp[512], gids[3][37];
    sd_user u[2];
    begin("sd-replay", "replay", 41, t, lp, u);
    for (int g = 0; g < 3; g++)
        sd_group(d, t, &u[0], &u[1], NULL, gids[g]);
    for (int i = 0; i < 30; i++)
        sd_message(d, t, gids[i % 3], &u[i % 2], i % 7 ? "newer" : "x", NULL, NULL);
    /* an out-of-order old message too */
    sd_message(d, t, gids[0], &u[0], "old", "2020-01-01T00:00:00.000000+00:00", NULL);
    sd_env e;
    env_make(&e, t, NULL, 2000);
    sd_once(e.v, lp);
    char *before = sd_snapshot(d, t);
    /* Three replays of the whole stream, each with a lease table of its own (so from
     * TRIM_HORIZON), change nothing. */
    for (int r = 0; r < 3; r++) {
        char lt[160];
        snprintf(lt, sizeof lt, "CRUDDUR_LEASE_TABLE=%s-replay%d", t, r);
        const char *env[] = { e.table, lt, e.poll, e.timeout, NULL };
        sd_once(env, lp);
        char *after = sd_snapshot(d, t);
        ck_assert_msg(strcmp(before, after) == 0, "replay %d changed the table", r);
        free(after);
        ddb_error err;
        ddb_error_clear(&err);
        ddb_delete_table(d, lt + strlen("CRUDDUR_LEASE_TABLE="), &err);
    }
    free(before);
    for (int g = 0; g < 3; g++)
        assert_at_newest(d, t, gids[g], NULL);
    sd_table_drop(d, t);
    ddb_free(d);
}
END_TEST

START_TEST(two_daemons_one_holder_then_takeover)
{
    ddb *d = live_ddb();
    char t[64], la[512], lb[512], gid[37];
    sd_table("sd-two", t);
    log_path(la, "two-a");
    log_path(lb, "two-b");
    sd_user u[2];
    sd_user_make(&u[0], 51);
    sd_user_make(&u[1], 52);
    sd_group(d, t, &u[0], &u[1], NULL, gid);
    sd_env ea, eb;
    env_make(&ea, t, "daemon-a", 1500);
    env_make(&eb, t, "daemon-b", 1500);
    pid_t a = sd_start(ea.v, la, NULL);
    for (int i = 0; i < 100 && !sd_file_has(la, "\"event\":\"lease_taken\""); i++)
        support_server_sleep_ms(50);
    ck_assert(sd_file_has(la, "\"event\":\"lease_taken\""));
    pid_t b = sd_start(eb.v, lb, NULL);
    support_server_sleep_ms(1000);
    for (int i = 0; i < 10; i++)
        sd_message(d, t, gid, &u[i % 2], "to both", NULL, NULL);
    ck_assert(wait_current(d, t, gid, 20000));
    /* past two lease timeouts: B must not have taken A's live lease */
    support_server_sleep_ms(3500);
    ck_assert_int_gt(sd_log_count(la, "\"event\":\"record\""), 0);
    ck_assert_int_eq(sd_log_count(lb, "\"event\":\"record\""), 0);
    ck_assert_int_eq(sd_log_count(lb, "\"event\":\"lease_taken\""), 0);

    /* The holder dies: B takes over within the lease timeout (plus a sync). */
    kill(a, SIGKILL);
    ck_assert_int_eq(support_server_wait(a, 5000), 128 + SIGKILL);
    int64_t t0 = clock_mono_ms();
    sd_message(d, t, gid, &u[0], "after the kill", NULL, NULL);
    ck_assert(wait_current(d, t, gid, 20000));
    int64_t took = clock_mono_ms() - t0;
    ck_assert_msg(took < 1500 + 4000, "takeover took %lld ms", (long long)took);
    ck_assert_int_gt(sd_log_count(lb, "\"event\":\"lease_taken\""), 0);
    /* B logs the record just after its write lands: give the line a moment. */
    for (int i = 0; i < 40 && sd_log_count(lb, "\"event\":\"record\"") == 0; i++)
        support_server_sleep_ms(50);
    ck_assert_int_gt(sd_log_count(lb, "\"event\":\"record\""), 0);
    kill(b, SIGTERM);
    ck_assert_int_eq(support_server_wait(b, 10000), 0);
    /* B released its lease on the way out. */
    char out[4096];
    ck_assert_int_eq(sd_cli(t, "leases", out, sizeof out), 0);
    ck_assert_msg(strstr(out, "1 lease in") && !strstr(out, "daemon-b"), "%s", out);
    sd_table_drop(d, t);
    ddb_free(d);
}
END_TEST

START_TEST(systemd_notify_ready_watchdog_status_stopping)
{
    ddb *d = live_ddb();
    char t[64], lp[512], sock[300];
    sd_table("sd-notify", t);
    log_path(lp, "notify");
    snprintf(sock, sizeof sock, "%s/notify.sock", g_dir);
    int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
    ck_assert_int_ge(fd, 0);
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    ck_assert(strlen(sock) < sizeof addr.sun_path);
    memcpy(addr.sun_path, sock, strlen(sock) + 1);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&addr, sizeof addr), 0);
    sd_env e;
    env_make(&e, t, NULL, 2000);
    char ns[400];
    snprintf(ns, sizeof ns, "NOTIFY_SOCKET=%s", sock);
    const char *env[] = { e.table, e.lease, e.poll, e.timeout, ns, "WATCHDOG_USEC=400000", NULL };
    pid_t pid = sd_start(env, lp, NULL);
    bool ready = false, status = false;
    int watchdog = 0;
    int64_t until = clock_mono_ms() + 10000;
    while (clock_mono_ms() < until && !(ready && status && watchdog >= 3)) {
        struct pollfd pf = { fd, POLLIN, 0 };
        if (poll(&pf, 1, 200) <= 0)
            continue;
        char msg[512];
        ssize_t n = recv(fd, msg, sizeof msg - 1, 0);
        if (n <= 0)
            continue;
        msg[n] = '\0';
        ready |= strcmp(msg, "READY=1") == 0;
        status |= strncmp(msg, "STATUS=", 7) == 0 && strstr(msg, "lag") != NULL;
        watchdog += strcmp(msg, "WATCHDOG=1") == 0;
    }
    ck_assert(ready);
    ck_assert(status);
    ck_assert_int_ge(watchdog, 3); /* every 200 ms (half of WATCHDOG_USEC) */
    kill(pid, SIGTERM);
    bool stopping = false;
    until = clock_mono_ms() + 5000;
    while (clock_mono_ms() < until && !stopping) {
        struct pollfd pf = { fd, POLLIN, 0 };
        if (poll(&pf, 1, 200) <= 0)
            continue;
        char msg[512];
        ssize_t n = recv(fd, msg, sizeof msg - 1, 0);
        if (n > 0) {
            msg[n] = '\0';
            stopping |= strcmp(msg, "STOPPING=1") == 0;
        }
    }
    ck_assert(stopping);
    ck_assert_int_eq(support_server_wait(pid, 10000), 0);
    close(fd);
    sd_table_drop(d, t);
    ddb_free(d);
}
END_TEST

START_TEST(bad_record_becomes_a_dead_letter_and_the_shard_moves_on)
{
    ddb *d = live_ddb();
    char t[64], lp[512], gid[37], ts[MESSAGING_TS_LEN];
    sd_user u[2];
    begin("sd-dlq", "dlq", 61, t, lp, u);
    sd_group(d, t, &u[0], &u[1], NULL, gid);
    /* A message item whose text is a number: pattern E can never apply it. */
    char pk[64], now[MESSAGING_TS_LEN];
    snprintf(pk, sizeof pk, "MSG#%s", gid);
    messaging_now(now);
    json_t *item = json_pack("{s:o, s:o, s:o, s:o, s:o}", "pk", ddb_av_s(pk), "sk", ddb_av_s(now),
                             "message", ddb_av_n_i64(42), "message_uuid",
                             ddb_av_s("3e4d0c59-2c1a-4a8c-9d7e-5b6f7a8b9c0d"), "user_uuid",
                             ddb_av_s(u[0].uuid));
    ddb_error err;
    ddb_error_clear(&err);
    ck_assert_msg(ddb_put_item(d, t, item, NULL, &err) == 0, "%s", err.info.msg);
    json_decref(item);
    support_server_sleep_ms(2);
    /* ... and a good one in another conversation after it. */
    char gid2[37];
    sd_group(d, t, &u[0], &u[1], NULL, gid2);
    sd_message(d, t, gid2, &u[1], "fine", NULL, ts);
    sd_env e;
    env_make(&e, t, NULL, 2000);
    sd_once(e.v, lp);
    sd_assert_rows(d, t, gid2, ts, "fine");
    ck_assert(sd_file_has(lp, "\"event\":\"dead_letter\""));

    char out[8192];
    ck_assert_int_eq(sd_cli(t, "dead-letters list", out, sizeof out), 0);
    ck_assert_msg(strstr(out, "1 dead letter in") && strstr(out, "dlq#"), "%s", out);
    char id[256] = "";
    const char *p = strstr(out, "dlq#");
    ck_assert(p);
    sscanf(p, "%255s", id);
    /* Stored without the message's text, expiring in CRUDDUR_DEADLETTER_TTL_DAYS (14). */
    char lt[80];
    snprintf(lt, sizeof lt, "%s-leases", t);
    json_t *k = json_pack("{s:o}", "leaseKey", ddb_av_s(id)), *dl = NULL;
    ck_assert_msg(ddb_get_item(d, lt, k, true, &dl, &err) == 0 && dl, "%s", err.info.msg);
    json_decref(k);
    const char *stored = ddb_av_get_s(dl, "record");
    ck_assert_ptr_nonnull(stored);
    ck_assert_msg(!strstr(stored, "\"message\"") && strstr(stored, "\"message_uuid\""), "%s",
                  stored);
    int64_t exp = 0, want = clock_real_us() / 1000000 + 14 * 86400;
    ck_assert_int_eq(ddb_av_get_i64(dl, "expiresAt", &exp), 0);
    ck_assert_msg(exp > want - 300 && exp <= want + 5, "expiresAt %lld", (long long)exp);
    /* One past its expiry (DynamoDB's TTL deletes it within days) is no longer listed. */
    json_object_set_new(dl, "leaseKey", ddb_av_s("dlq#shard-expired#000000000000000000001"));
    json_object_set_new(dl, "expiresAt", ddb_av_n_i64(clock_real_us() / 1000000 - 10));
    ck_assert_msg(ddb_put_item(d, lt, dl, NULL, &err) == 0, "%s", err.info.msg);
    json_decref(dl);
    ck_assert_int_eq(sd_cli(t, "dead-letters list", out, sizeof out), 0);
    ck_assert_msg(strstr(out, "1 dead letter in") && !strstr(out, "shard-expired"), "%s", out);
    ck_assert_int_eq(sd_cli(t, "dead-letters list --json", out, sizeof out), 0);
    ck_assert_msg(strstr(out, "\"sequence_number\"") && !strstr(out, "\"record\""), "%s", out);
    /* Replaying it still fails: it stays. */
    ck_assert_int_eq(sd_cli(t, "dead-letters replay --all", out, sizeof out), 1);
    ck_assert_msg(strstr(out, "still fails") && strstr(out, "kept"), "%s", out);
    ck_assert_int_eq(sd_cli(t, "dead-letters list", out, sizeof out), 0);
    ck_assert_msg(strstr(out, "1 dead letter in"), "%s", out);
    /* Unknown ids and bad usage are refused. */
    ck_assert_int_eq(sd_cli(t, "dead-letters delete dlq#nope", out, sizeof out), 1);
    ck_assert_int_eq(sd_cli(t, "dead-letters replay", out, sizeof out), 2);
    ck_assert_int_eq(sd_cli(t, "--bogus", out, sizeof out), 2);
    char args[300];
    snprintf(args, sizeof args, "dead-letters delete '%s'", id);
    ck_assert_int_eq(sd_cli(t, args, out, sizeof out), 0);
    ck_assert_int_eq(sd_cli(t, "dead-letters list", out, sizeof out), 0);
    ck_assert_msg(strstr(out, "0 dead letters in"), "%s", out);
    sd_table_drop(d, t);
    ddb_free(d);
}
END_TEST

/* Items any user (or anyone with write access to the table) can cause: odd but valid text,
 * the longest message, text that looks like JSON or a log line, NUL and control characters,
 * and message items missing their sender or uuid. None stops or crashes the daemon: each
 * is applied or becomes a dead letter, and a normal message after them still arrives;
 * the log never holds any of the texts. */
START_TEST(crafted_records_never_stop_the_daemon)
{
    ddb *d = live_ddb();
    char t[64], lp[512], gid[37], ts[MESSAGING_TS_LEN];
    sd_user u[2];
    begin("sd-craft", "craft", 71, t, lp, u);
    sd_group(d, t, &u[0], &u[1], NULL, gid);
    static char longest[1024 * 4 + 1];
    for (int i = 0; i < 1024; i++)
        memcpy(longest + 4 * i, "\xf0\x9d\x84\x9e", 4); /* U+1D11E, 4 bytes each */
    const char *texts[] = { longest, "\"}]}{\"event\":\"forged\",\"level\":\"error\"",
                            "line one\nline two\r\n\t\x1b[31mred", "  ", "%s%n%x" };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        sd_group(d, t, &u[0], &u[1], NULL, gid);
        sd_message(d, t, gid, &u[i % 2], texts[i], NULL, NULL);
    }
    /* NUL inside the text, and items without sender or uuid */
    char pk[64], now[MESSAGING_TS_LEN];
    ddb_error err;
    for (int i = 0; i < 3; i++) {
        sd_group(d, t, &u[0], &u[1], NULL, gid);
        snprintf(pk, sizeof pk, "MSG#%s", gid);
        messaging_now(now);
        json_t *item = json_pack("{s:o, s:o}", "pk", ddb_av_s(pk), "sk", ddb_av_s(now));
        if (i == 0) {
            json_object_set_new(item, "message", json_pack("{s:s%}", "S", "a\0b", (size_t)3));
            json_object_set_new(item, "message_uuid",
                                ddb_av_s("3e4d0c59-2c1a-4a8c-9d7e-5b6f7a8b9c01"));
            json_object_set_new(item, "user_uuid", ddb_av_s(u[0].u.uuid));
        } else if (i == 1) {
            json_object_set_new(item, "message", ddb_av_s("no sender"));
            json_object_set_new(item, "message_uuid",
                                ddb_av_s("3e4d0c59-2c1a-4a8c-9d7e-5b6f7a8b9c02"));
        } else {
            json_object_set_new(item, "message", ddb_av_s("no uuid"));
            json_object_set_new(item, "user_uuid", ddb_av_s(u[1].u.uuid));
        }
        ddb_error_clear(&err);
        ck_assert_msg(ddb_put_item(d, t, item, NULL, &err) == 0, "%s", err.info.msg);
        json_decref(item);
        support_server_sleep_ms(2);
    }
    char gid2[37];
    sd_group(d, t, &u[0], &u[1], NULL, gid2);
    sd_message(d, t, gid2, &u[1], "after the crafted ones", NULL, ts);
    sd_env e;
    env_make(&e, t, NULL, 2000);
    sd_once(e.v, lp);
    sd_assert_rows(d, t, gid2, ts, "after the crafted ones");
    ck_assert(!sd_file_has(lp, "forged"));
    ck_assert(!sd_file_has(lp, "line two"));
    ck_assert(!sd_file_has(lp, "no sender"));
    ck_assert(!sd_file_has(lp, "\xf0\x9d\x84\x9e"));
    /* and a daemon (not --once) keeps running over the same stream */
    pid_t pid = sd_start(e.v, lp, NULL);
    support_server_sleep_ms(1500);
    ck_assert_int_eq(waitpid(pid, NULL, WNOHANG), 0);
    kill(pid, SIGTERM);
    ck_assert_int_eq(support_server_wait(pid, 20000), 0);
    sd_table_drop(d, t);
    ddb_free(d);
}
END_TEST

START_TEST(no_stream_is_a_clear_error_with_once)
{
    char out[4096];
    int st = sd_cli("sd-no-such-table-xyz", "--once", out, sizeof out);
    ck_assert_int_eq(st, 1);
    ck_assert_msg(strstr(out, "cruddur-streamd:"), "%s", out);
    ck_assert_int_eq(sd_cli("x", "--help", out, sizeof out), 0);
    ck_assert(strstr(out, "Usage: cruddur-streamd"));
    ck_assert(strstr(out, "--give-up-after SECONDS"));
    ck_assert_int_eq(sd_cli("x", "--give-up-after 5", out, sizeof out), 2);
    ck_assert_msg(strstr(out, "--give-up-after goes with --once"), "%s", out);
    ck_assert_int_eq(sd_cli("x", "--once --give-up-after 0", out, sizeof out), 2);
    ck_assert_int_eq(sd_cli("x", "--once --give-up-after 5s", out, sizeof out), 2);
    ck_assert_int_eq(sd_cli("x", "--once --give-up-after", out, sizeof out), 2);
    ck_assert_msg(strstr(out, "1..86400"), "%s", out);
}
END_TEST

/* The daemon's environment with its table behind the proxy on port (its stream read
 * straight from DynamoDB Local) and CRUDDUR_APPLY_THREADS=threads. */
typedef struct proxied_env {
    sd_env e;
    char table_url[96], streams_url[600], threads[64];
    const char *v[12];
} proxied_env;

static void proxied_env_make(proxied_env *p, const char *table, long timeout_ms, int port,
                             const char *threads)
{
    snprintf(p->table_url, sizeof p->table_url, "AWS_ENDPOINT_URL=http://127.0.0.1:%d", port);
    snprintf(p->streams_url, sizeof p->streams_url, "AWS_ENDPOINT_URL_DYNAMODB_STREAMS=%s",
             live_ddb_endpoint());
    snprintf(p->threads, sizeof p->threads, "CRUDDUR_APPLY_THREADS=%s", threads);
    env_make(&p->e, table, NULL, timeout_ms);
    size_t k = 0;
    for (; p->e.v[k]; k++)
        p->v[k] = p->e.v[k];
    p->v[k++] = p->table_url;
    p->v[k++] = p->streams_url;
    p->v[k++] = p->threads;
    p->v[k] = NULL;
}

/* One --once run over a batch of 12 conversations, one new message each, with every
 * TransactWriteItems held 150 ms by a proxy in front of the table: how many of them were in
 * flight at once. Asserts every conversation ends at its newest message. */
static long batch_in_flight_peak(const char *threads, int first_user)
{
    ddb *d = live_ddb();
    char t[64], lp[512], gids[12][37];
    sd_table("sd-par", t);
    log_path(lp, threads);
    sd_user a, b[12];
    sd_user_make(&a, first_user);
    for (int i = 0; i < 12; i++) {
        sd_user_make(&b[i], first_user + 1 + i);
        sd_group(d, t, &a, &b[i], NULL, gids[i]);
        sd_message(d, t, gids[i], &b[i], "newest", NULL, NULL);
    }
    support_server proxy;
    setenv("LAG_PROXY_UPSTREAM", live_ddb_endpoint(), 1);
    ck_assert_int_eq(support_server_start(&proxy, "tests/tools/gsi_lag_proxy.py"), 0);
    json_decref(support_server_ctl(
        proxy.port, "hold", json_pack("{s:s, s:i}", "operation", "TransactWriteItems", "ms", 150)));
    proxied_env pe;
    proxied_env_make(&pe, t, 3000, proxy.port, threads);
    sd_once(pe.v, lp);
    json_t *st = support_server_ctl(proxy.port, "stats", NULL);
    long peak = (long)json_integer_value(json_object_get(st, "peak_in_flight"));
    ck_assert_int_ge(json_integer_value(json_object_get(st, "held")), 12);
    json_decref(st);
    support_server_stop(&proxy);
    for (int i = 0; i < 12; i++)
        assert_at_newest(d, t, gids[i], "newest");
    sd_table_drop(d, t);
    ddb_free(d);
    return peak;
}

START_TEST(the_conversations_of_a_batch_are_applied_at_once)
{
    /* CRUDDUR_APPLY_THREADS appliers, each with its own connection: several transactions
     * at once (the 12 conversations hash over 4 appliers); one applier: one at a time. */
    long four = batch_in_flight_peak("4", 300);
    ck_assert_msg(four >= 2, "4 appliers: at most %ld transaction in flight", four);
    ck_assert_int_le(four, 4);
    ck_assert_int_eq(batch_in_flight_peak("1", 320), 1);
    /* A count out of range is a clear error, not a silent default. */
    const char *bad[] = { "0", "33", "four", NULL };
    for (int i = 0; bad[i]; i++) {
        char lp[512], v[64];
        log_path(lp, "bad-threads");
        snprintf(v, sizeof v, "CRUDDUR_APPLY_THREADS=%s", bad[i]);
        const char *env[] = { v, NULL };
        pid_t pid = sd_start(env, lp, "--once");
        ck_assert_int_eq(support_server_wait(pid, 30000), 1);
        ck_assert_msg(sd_file_has(lp, "CRUDDUR_APPLY_THREADS"), "%s: no message naming it", bad[i]);
    }
}
END_TEST

/* A running daemon with threads appliers, 12 conversations moved once (its cache now holds
 * their rows), then a new message in each while the daemon is stopped, so that one batch
 * carries all 12: the TransactWriteItems of that batch and their actions, through a proxy
 * in front of the table. Asserts every conversation ends at its newest message. */
static void in_use_batch(const char *threads, int first_user, long *transactions, long *actions)
{
    ddb *d = live_ddb();
    char t[64], lp[512], gids[12][37], name[32];
    sd_table("sd-tog", t);
    snprintf(name, sizeof name, "together-%s", threads);
    log_path(lp, name);
    sd_user a, b[12];
    sd_user_make(&a, first_user);
    for (int i = 0; i < 12; i++) {
        sd_user_make(&b[i], first_user + 1 + i);
        sd_group(d, t, &a, &b[i], NULL, gids[i]);
        sd_message(d, t, gids[i], &b[i], "first", NULL, NULL);
    }
    support_server proxy;
    setenv("LAG_PROXY_UPSTREAM", live_ddb_endpoint(), 1);
    ck_assert_int_eq(support_server_start(&proxy, "tests/tools/gsi_lag_proxy.py"), 0);
    proxied_env pe;
    proxied_env_make(&pe, t, 5000, proxy.port, threads);
    pid_t pid = sd_start(pe.v, lp, NULL);
    for (int i = 0; i < 12; i++)
        ck_assert_msg(wait_current(d, t, gids[i], 20000), "conversation %d not moved", i);
    ck_assert_int_eq(kill(pid, SIGSTOP), 0);
    support_server_sleep_ms(200); /* a GetRecords in flight has its answer by now */
    json_decref(support_server_ctl(
        proxy.port, "hold", json_pack("{s:s, s:i}", "operation", "TransactWriteItems", "ms", 1)));
    for (int i = 0; i < 12; i++)
        sd_message(d, t, gids[i], &b[i], "second", NULL, NULL);
    ck_assert_int_eq(kill(pid, SIGCONT), 0);
    for (int i = 0; i < 12; i++)
        ck_assert_msg(wait_current(d, t, gids[i], 20000), "conversation %d not moved again", i);
    json_t *st = support_server_ctl(proxy.port, "stats", NULL);
    *transactions = (long)json_integer_value(json_object_get(st, "held"));
    *actions = (long)json_integer_value(json_object_get(st, "actions"));
    json_decref(st);
    kill(pid, SIGTERM);
    ck_assert_int_eq(support_server_wait(pid, 30000), 0);
    support_server_stop(&proxy);
    for (int i = 0; i < 12; i++)
        assert_at_newest(d, t, gids[i], "second");
    sd_table_drop(d, t);
    ddb_free(d);
}

START_TEST(conversations_in_use_share_one_transaction)
{
    /* Rows the caches hold move together: the batch's 12 moves (48 actions) go in one
     * transaction, with one applier and with four (each caching its own share).
     * Without: 12 transactions; with one per applier's share: up to 4. */
    long tx, actions;
    in_use_batch("1", 340, &tx, &actions);
    ck_assert_msg(tx == 1, "1 applier: %ld transactions for one batch of 12 conversations", tx);
    ck_assert_int_eq(actions, 48);
    in_use_batch("4", 360, &tx, &actions);
    ck_assert_msg(tx == 1, "4 appliers: %ld transactions for one batch of 12 conversations", tx);
    ck_assert_int_eq(actions, 48);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("streamd");
    TCase *tc = tcase_create("daemon");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_set_timeout(tc, 180);
    tcase_add_test(tc, new_message_moves_both_rows_forward_only);
    tcase_add_test(tc, concurrent_senders_end_at_the_newest_message);
    tcase_add_test(tc, sigkill_and_restart_lose_nothing_and_never_go_back);
    tcase_add_test(tc, replay_from_trim_horizon_changes_nothing);
    tcase_add_test(tc, two_daemons_one_holder_then_takeover);
    tcase_add_test(tc, systemd_notify_ready_watchdog_status_stopping);
    tcase_add_test(tc, bad_record_becomes_a_dead_letter_and_the_shard_moves_on);
    tcase_add_test(tc, crafted_records_never_stop_the_daemon);
    tcase_add_test(tc, no_stream_is_a_clear_error_with_once);
    tcase_add_test(tc, the_conversations_of_a_batch_are_applied_at_once);
    tcase_add_test(tc, conversations_in_use_share_one_transaction);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tap_run(suite());
}
