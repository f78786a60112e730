/* live_leaks.c — the long-running programs free what they take. cruddur-api (master and two
 * workers) serves the whole front-end flow and every kind of error through nginx, then
 * drains on SIGTERM; cruddur-streamd --once moves a conversation's group rows. In the plain
 * build both run under valgrind (memcheck: no invalid access, no definite or indirect leak,
 * in every process); in the sanitizer build they are ASan/UBSan binaries, whose reports
 * would land in the same logs. Either way the logs must be clean and every answer right. */
#include "config.h"

#include <check.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "aws/ddb.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/embed.h"
#include "base/rnd.h"
#include "stack.h"
#include "messaging/messaging.h"
#include "messaging/post.h"
#include "tap.h"

#if defined(__SANITIZE_ADDRESS__)
#define LEAKS_VALGRIND 0 /* valgrind cannot run ASan binaries: their own checks apply */
#else
#define LEAKS_VALGRIND 1
#endif

enum {
    MIRA,
    TOMASZ
};

/* memcheck for every process, each in its own log <dir>/vg-<what>.<pid>.log. */
static void vg_args(const char *what, char *logopt, size_t n, const char *argv[12])
{
    snprintf(logopt, n, "--log-file=%s/vg-%s.%%p.log", g_stack.dir, what);
    size_t k = 0;
    argv[k++] = "valgrind";
    argv[k++] = "--quiet";
    argv[k++] = "--leak-check=full";
    argv[k++] = "--show-leak-kinds=definite,indirect";
    argv[k++] = "--errors-for-leak-kinds=definite,indirect";
    argv[k++] = "--error-exitcode=99";
    argv[k++] = logopt;
    argv[k] = NULL;
}

/* Asserts that every valgrind log of what (at least min of them) reports no error; with the
 * sanitizers, that the program's own log has no sanitizer report. */
static void assert_clean(const char *what, int min, const char *own_log)
{
    if (!LEAKS_VALGRIND) {
        FILE *f = fopen(own_log, "r");
        ck_assert_msg(f != NULL, "no log %s", own_log);
        char line[4096];
        while (fgets(line, sizeof line, f))
            ck_assert_msg(!strstr(line, "Sanitizer") && !strstr(line, "runtime error"), "%s: %s",
                          own_log, line);
        fclose(f);
        return;
    }
    char prefix[64];
    snprintf(prefix, sizeof prefix, "vg-%s.", what);
    DIR *d = opendir(g_stack.dir);
    ck_assert_ptr_nonnull(d);
    int logs = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, prefix, strlen(prefix)) != 0)
            continue;
        char path[600];
        snprintf(path, sizeof path, "%s/%s", g_stack.dir, e->d_name);
        buf text;
        buf_init(&text, 0);
        stack_read_file(path, &text);
        /* --quiet: a clean process writes nothing at all. */
        ck_assert_msg(text.len == 0, "valgrind found errors (%s):\n%.3000s", path, buf_cstr(&text));
        buf_cleanup(&text);
        logs++;
    }
    closedir(d);
    ck_assert_msg(logs >= min, "%d valgrind logs of %s, want at least %d", logs, what, min);
}

/* Waits up to timeout_ms for pid; its exit status, 128 + signal, or -1 (then killed). */
static int wait_exit(pid_t pid, long timeout_ms)
{
    for (long waited = 0; waited <= timeout_ms; waited += 50) {
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        stack_sleep_ms(50);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return -1;
}

static long call(int port, int who, const char *method, const char *path, const char *body,
                 const char *extra, buf *out, buf *head)
{
    char auth[2200];
    const char *h[4] = { "Content-Type: application/json", NULL, NULL, NULL };
    size_t k = 1;
    if (who >= 0) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", g_stack.tokens[who]);
        h[k++] = auth;
    }
    if (extra)
        h[k++] = extra;
    http_res r;
    stack_http(&r, port, NULL, method, path, h, body, body ? strlen(body) : 0);
    long st = r.status;
    if (out)
        buf_append(out, r.body.data ? r.body.data : "", r.body.len);
    if (head)
        buf_append(head, r.head.data ? r.head.data : "", r.head.len);
    http_res_free(&r);
    return st;
}

#define want(st, ...)                                                                              \
    do {                                                                                           \
        long _got = call(__VA_ARGS__);                                                             \
        ck_assert_msg(_got == (st), "%s: %ld, want %ld", #__VA_ARGS__, _got, (long)(st));          \
    } while (0)

START_TEST(api_serves_everything_and_frees_it)
{
    char logopt[700];
    const char *vg[12];
    vg_args("api", logopt, sizeof logopt, vg);
    stack_api api;
    ck_assert_int_eq(
        stack_api_start_wrapped(&api, LEAKS_VALGRIND ? vg : NULL, STACK_UNIX, "api", 2, NULL), 0);
    int port = stack_free_port();
    pid_t ng = stack_nginx_start("nginx", port, &api);
    ck_assert_int_gt(ng, 0);

    /* The front end's flow: a conversation by handle, a reply, both lists, paging. */
    buf out, head;
    buf_init(&out, 0);
    buf_init(&head, 0);
    char body[256];
    snprintf(body, sizeof body, "{\"handle\":\"%s\",\"message\":\"hello\"}",
             g_stack.users[TOMASZ].handle);
    want(200, port, MIRA, "POST", "/api/messages", body, NULL, &out, NULL);
    json_t *j = json_loads(buf_cstr(&out), 0, NULL);
    const char *g = json_string_value(json_object_get(j, "message_group_uuid"));
    ck_assert_ptr_nonnull(g);
    char group[37];
    snprintf(group, sizeof group, "%s", g);
    json_decref(j);
    snprintf(body, sizeof body, "{\"message_group_uuid\":\"%s\",\"message\":\"reply \xc3\xa9\"}",
             group);
    want(200, port, TOMASZ, "POST", "/api/messages", body, NULL, NULL, NULL);
    want(200, port, TOMASZ, "POST", "/api/messages", body, "Idempotency-Key: leak-1", NULL, NULL);
    want(200, port, TOMASZ, "POST", "/api/messages", body, "Idempotency-Key: leak-1", NULL, NULL);
    char path[1000];
    snprintf(path, sizeof path, "/api/messages/%s?limit=2", group);
    want(200, port, MIRA, "GET", path, NULL, NULL, NULL, &head);
    char cursor[600];
    ck_assert(stack_header(&head, "X-Next-Cursor", cursor, sizeof cursor));
    snprintf(path, sizeof path, "/api/messages/%s?limit=2&cursor=%s", group, cursor);
    want(200, port, MIRA, "GET", path, NULL, NULL, NULL, NULL);
    want(200, port, MIRA, "GET", "/api/message_groups", NULL, NULL, NULL, NULL);
    want(200, port, TOMASZ, "GET", "/api/message_groups?limit=1", NULL, NULL, NULL, NULL);
    snprintf(path, sizeof path, "/api/users/@%s/short", g_stack.users[TOMASZ].handle);
    want(200, port, MIRA, "GET", path, NULL, NULL, NULL, NULL);
    want(200, port, -1, "GET", "/api/health-check?deep=1", NULL, NULL, NULL, NULL);
    want(204, port, -1, "OPTIONS", "/api/messages", NULL, "Origin: http://localhost:3000", NULL,
         NULL);

    /* Every kind of refusal. */
    want(401, port, -1, "GET", "/api/message_groups", NULL, NULL, NULL, NULL);
    want(401, port, -1, "GET", "/api/message_groups", NULL, "Authorization: Bearer a.b.c", NULL,
         NULL);
    want(404, port, MIRA, "GET", "/api/nothing-here", NULL, NULL, NULL, NULL);
    want(405, port, MIRA, "DELETE", "/api/messages", NULL, NULL, NULL, NULL);
    want(400, port, MIRA, "GET", "/api/messages/not-a-uuid", NULL, NULL, NULL, NULL);
    snprintf(path, sizeof path, "/api/messages/%s?cursor=%%%%%%", group);
    want(400, port, MIRA, "GET", path, NULL, NULL, NULL, NULL);
    want(400, port, MIRA, "POST", "/api/messages", "{\"message\":", NULL, NULL, NULL);
    snprintf(body, sizeof body, "{\"message_group_uuid\":\"%s\",\"message\":\"  \"}", group);
    want(422, port, MIRA, "POST", "/api/messages", body, NULL, NULL, NULL);
    want(404, port, MIRA, "POST", "/api/messages", "{\"handle\":\"nobody_here\",\"message\":\"x\"}",
         NULL, NULL, NULL);
    buf big;
    buf_init(&big, 0);
    for (int i = 0; i < 17 * 1024; i++)
        buf_putc(&big, 'a');
    buf reply;
    buf_init(&reply, 0);
    ck_assert_int_eq(stack_fcgi(&api, "POST", "/api/messages", big.data, big.len, &reply), 413);
    buf_cleanup(&reply);
    buf_cleanup(&big);
    buf_cleanup(&out);
    buf_cleanup(&head);

    /* Drain and exit: the master reaps both workers; each process checks its heap. */
    stack_stop(&ng, SIGTERM);
    kill(api.pid, SIGTERM);
    int st = wait_exit(api.pid, 90000);
    api.pid = -1;
    ck_assert_msg(st == 0, "cruddur-api exit status %d (log %s)", st, api.log);
    assert_clean("api", 3, api.log);
}
END_TEST

START_TEST(streamd_moves_rows_and_frees_everything)
{
    /* A table with its stream (the stack's has none); a conversation whose group rows
     * still show its first message, then a newer one. */
    ddb *d = g_stack.ddb;
    char table[96];
    snprintf(table, sizeof table, "%s-s", g_stack.table);
    const char *schema = embed_get("ddb-schema/cruddur-messages.json", NULL);
    json_t *def = schema ? json_loads(schema, 0, NULL) : NULL;
    ck_assert_ptr_nonnull(def);
    json_object_set_new(def, "TableName", json_string(table));
    ddb_error err;
    ck_assert_msg(ddb_create_table(d, def, NULL, &err) == 0 &&
                      ddb_wait_active(d, table, 30000, &err) == 0,
                  "%s", err.info.msg);
    json_decref(def);
    messaging_user a = { g_stack.users[MIRA].uuid, g_stack.users[MIRA].display_name,
                         g_stack.users[MIRA].handle };
    messaging_user b = { g_stack.users[TOMASZ + 1].uuid, g_stack.users[TOMASZ + 1].display_name,
                         g_stack.users[TOMASZ + 1].handle };
    char group[37], m1[37], m2[37], t1[MESSAGING_TS_LEN], t2[MESSAGING_TS_LEN];
    ck_assert_int_eq(rnd_uuid4(group), 0);
    ck_assert_int_eq(rnd_uuid4(m1), 0);
    ck_assert_int_eq(rnd_uuid4(m2), 0);
    int64_t now = clock_real_us();
    clock_iso8601_us(t1, sizeof t1, now - 2000000);
    clock_iso8601_us(t2, sizeof t2, now - 1000000);
    messaging_store store = { .db = d, .table = table };
    messaging_post first = { .me = &a, .message = "first", .at_us = now - 2000000 };
    messaging_post_result res;
    messaging_post_result_init(&res);
    ck_assert_msg(messaging_start(&store, &first, &b, &res) == 0 &&
                      res.outcome == MESSAGING_POST_CREATED,
                  "%d %s", res.outcome, res.err.info.msg);
    memcpy(group, res.group, sizeof group);
    messaging_post_result_cleanup(&res);
    json_t *item = messaging_message_item(group, t2, m2, &b, "the newest");
    ck_assert_msg(messaging_put_message(d, table, item, &err) == 0, "%s", err.info.msg);
    json_decref(item);

    char logopt[700], exe[1200], own_log[600], env_table[200], lease[200];
    const char *vg[12];
    vg_args("streamd", logopt, sizeof logopt, vg);
    snprintf(exe, sizeof exe, "%s/src/streamd/cruddur-streamd", g_stack.builddir);
    snprintf(own_log, sizeof own_log, "%s/streamd.log", g_stack.dir);
    snprintf(env_table, sizeof env_table, "%s", table);
    snprintf(lease, sizeof lease, "%s-leases", table);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        FILE *f = freopen(own_log, "a", stderr);
        (void)f;
        setenv("CRUDDUR_DDB_TABLE", env_table, 1);
        setenv("CRUDDUR_LEASE_TABLE", lease, 1);
        setenv("CRUDDUR_LOG_LEVEL", "info", 1);
        setenv("CRUDDUR_POLL_MS", "50", 1);
        const char *argv[16];
        size_t k = 0;
        for (size_t i = 0; LEAKS_VALGRIND && vg[i]; i++)
            argv[k++] = vg[i];
        argv[k++] = exe;
        argv[k++] = "--once";
        argv[k] = NULL;
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    int st = wait_exit(pid, 120000);
    ck_assert_msg(st == 0, "cruddur-streamd --once exit status %d (log %s)", st, own_log);

    /* Both group rows now show the newest message. */
    const char *who[2] = { a.uuid, b.uuid };
    for (int i = 0; i < 2; i++) {
        char pk[64];
        snprintf(pk, sizeof pk, "GRP#%s", who[i]);
        json_t *values = json_pack("{s:{s:s}, s:{s:s}}", ":pk", "S", pk, ":g", "S", group);
        ddb_query_options q = { .table = table,
                                .key_condition = "pk = :pk",
                                .filter = "message_group_uuid = :g",
                                .values = values,
                                .consistent = true };
        ddb_page page;
        ddb_page_init(&page);
        ck_assert_msg(ddb_query(d, &q, &page, &err) == 0, "%s", err.info.msg);
        ck_assert_int_eq(json_array_size(page.items), 1);
        const json_t *row = json_array_get(page.items, 0);
        ck_assert_str_eq(json_string_value(json_object_get(json_object_get(row, "message"), "S")),
                         "the newest");
        ck_assert_str_eq(json_string_value(json_object_get(json_object_get(row, "sk"), "S")), t2);
        ddb_page_cleanup(&page);
        json_decref(values);
    }
    assert_clean("streamd", 1, own_log);
    ddb_error_clear(&err);
    ddb_delete_table(d, lease, &err);
    ddb_error_clear(&err);
    ddb_delete_table(d, table, &err);
}
END_TEST

static int setup_all(void)
{
    return stack_init("live-leaks");
}

static void teardown_all(void)
{
    stack_cleanup();
}

static Suite *live_leaks_suite(void)
{
    Suite *s = suite_create("live_leaks");
    TCase *tc = tcase_create(LEAKS_VALGRIND ? "valgrind" : "sanitizers");
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, api_serves_everything_and_frees_it);
    tcase_add_test(tc, streamd_moves_rows_and_frees_everything);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return stack_main("live_leaks", setup_all, teardown_all, live_leaks_suite);
}
