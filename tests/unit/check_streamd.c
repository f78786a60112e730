/* check_streamd.c — the stream daemon's pure parts: lease items, lease expiry and shares,
 * parent-before-child readiness, the sync plan (what to create, delete, drop, renew, take)
 * as a table of cases, batch planning, and the systemd notification address. */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include "aws/ddb_av.h"
#include "streamd/deadletter.h"
#include "streamd/lease.h"
#include "streamd/notify.h"
#include "streamd/plan.h"
#include "streamd/sdmetrics.h"
#include "support_prom.h"
#include "tap.h"

static lease mk(const char *id, const char *owner, int64_t counter, const char *cp,
                const char *parent)
{
    lease l;
    memset(&l, 0, sizeof l);
    snprintf(l.shard_id, sizeof l.shard_id, "%s", id);
    snprintf(l.owner, sizeof l.owner, "%s", owner ? owner : "");
    l.counter = counter;
    snprintf(l.checkpoint, sizeof l.checkpoint, "%s", cp);
    if (parent) {
        snprintf(l.parents[0], sizeof l.parents[0], "%s", parent);
        l.nparents = 1;
    }
    snprintf(l.stream_arn, sizeof l.stream_arn, "arn:s");
    return l;
}

START_TEST(lease_items_round_trip_and_reject_bad_ones)
{
    lease a = mk("shard-1", "me", 7, "000000000000000000123", "shard-0"), b;
    json_t *item = lease_to_item(&a);
    ck_assert(item != NULL);
    errinfo e;
    ck_assert_int_eq(lease_from_item(item, &b, &e), 0);
    ck_assert_str_eq(b.shard_id, "shard-1");
    ck_assert_str_eq(b.owner, "me");
    ck_assert_int_eq(b.counter, 7);
    ck_assert_str_eq(b.checkpoint, "000000000000000000123");
    ck_assert_int_eq(b.nparents, 1);
    ck_assert_str_eq(b.parents[0], "shard-0");
    /* a free lease has no owner attribute */
    lease f = mk("shard-2", NULL, 0, LEASE_TRIM_HORIZON, NULL);
    json_t *fi = lease_to_item(&f);
    ck_assert(json_object_get(fi, "leaseOwner") == NULL);
    ck_assert_int_eq(lease_from_item(fi, &b, &e), 0);
    ck_assert_str_eq(b.owner, "");
    json_decref(fi);
    /* bad checkpoint, counter, owner type, key */
    json_object_set_new(item, "checkpoint", ddb_av_s("12abc"));
    ck_assert_int_eq(lease_from_item(item, &b, &e), -1);
    json_object_set_new(item, "checkpoint", ddb_av_s(LEASE_SHARD_END));
    ck_assert_int_eq(lease_from_item(item, &b, &e), 0);
    json_object_set_new(item, "leaseCounter", ddb_av_s("7"));
    ck_assert_int_eq(lease_from_item(item, &b, &e), -1);
    json_object_set_new(item, "leaseCounter", ddb_av_n_i64(8));
    json_object_set_new(item, "leaseOwner", ddb_av_n_i64(1));
    ck_assert_int_eq(lease_from_item(item, &b, &e), -1);
    json_object_set_new(item, "leaseOwner", ddb_av_s("me"));
    char big[300];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    json_object_set_new(item, "leaseKey", ddb_av_s(big));
    ck_assert_int_eq(lease_from_item(item, &b, &e), -1);
    ck_assert(strstr(e.msg, "leaseKey") != NULL);
    json_decref(item);
    ck_assert(lease_is_seq("1"));
    ck_assert(!lease_is_seq(""));
    ck_assert(!lease_is_seq("LATEST"));
    ck_assert(!lease_is_seq("-1"));
}
END_TEST

START_TEST(a_lease_expires_only_when_its_counter_stays_put_for_the_timeout)
{
    plan_obs obs[8];
    size_t nobs = 0;
    lease v[3] = { mk("s1", "other", 5, "1", NULL), mk("s2", "", 0, "1", NULL),
                   mk("s3", "me", 2, "1", NULL) };
    ck_assert_int_eq(plan_observe(obs, &nobs, 8, v, 3, 1000), 0);
    ck_assert_uint_eq(nobs, 3);
    /* free: available at once; mine: not "available"; other's: only after the timeout */
    ck_assert(plan_available(&v[1], "me", obs, nobs, 1000, 10000));
    ck_assert(!plan_available(&v[2], "me", obs, nobs, 99999, 10000));
    ck_assert(!plan_available(&v[0], "me", obs, nobs, 1000, 10000));
    ck_assert(!plan_available(&v[0], "me", obs, nobs, 10999, 10000));
    ck_assert(plan_available(&v[0], "me", obs, nobs, 11000, 10000));
    /* the holder renews: the clock starts again */
    v[0].counter = 6;
    ck_assert_int_eq(plan_observe(obs, &nobs, 8, v, 3, 9000), 0);
    ck_assert(!plan_available(&v[0], "me", obs, nobs, 11000, 10000));
    ck_assert(plan_available(&v[0], "me", obs, nobs, 19000, 10000));
    /* a lease seen for the first time is never expired yet */
    lease fresh = mk("s9", "ghost", 1, "1", NULL);
    ck_assert(!plan_available(&fresh, "me", obs, nobs, 1000000, 10000));
    /* finished shards are never available */
    lease done = mk("s4", "", 3, LEASE_SHARD_END, NULL);
    ck_assert(!plan_available(&done, "me", obs, nobs, 1000, 10000));
    /* too small a table is refused */
    ck_assert_int_eq(plan_observe(obs, &nobs, 2, v, 3, 1000), -1);
}
END_TEST

START_TEST(leases_are_shared_evenly_between_live_owners)
{
    plan_obs obs[8];
    size_t nobs = 0;
    lease v[5] = { mk("a", "x", 1, "1", NULL), mk("b", "x", 1, "1", NULL),
                   mk("c", "", 0, "1", NULL), mk("d", "", 0, "1", NULL),
                   mk("e", "", 0, LEASE_SHARD_END, NULL) };
    plan_observe(obs, &nobs, 8, v, 5, 0);
    /* 4 unfinished leases, owners x and me: 2 each */
    ck_assert_uint_eq(plan_target(v, 5, "me", obs, nobs, 0, 10000), 2);
    /* alone: all of them */
    lease w[2] = { mk("a", "", 0, "1", NULL), mk("b", "", 0, "1", NULL) };
    ck_assert_uint_eq(plan_target(w, 2, "me", obs, nobs, 0, 10000), 2);
    /* x went quiet: its leases count as free */
    ck_assert_uint_eq(plan_target(v, 5, "me", obs, nobs, 20000, 10000), 4);
    /* three owners over 4 leases: 2 (rounded up) */
    lease t[4] = { mk("a", "x", 1, "1", NULL), mk("b", "y", 1, "1", NULL),
                   mk("c", "", 0, "1", NULL), mk("d", "", 0, "1", NULL) };
    plan_observe(obs, &nobs, 8, t, 4, 0);
    ck_assert_uint_eq(plan_target(t, 4, "me", obs, nobs, 0, 10000), 2);
}
END_TEST

START_TEST(children_wait_for_their_parents_to_end)
{
    lease v[3] = { mk("P", "", 0, "100", NULL), mk("C1", "", 0, LEASE_TRIM_HORIZON, "P"),
                   mk("R", "", 0, LEASE_TRIM_HORIZON, "gone") };
    const char *ids[] = { "P", "C1", "R" };
    ck_assert(plan_parents_done(&v[0], v, 3, ids, 3));  /* no parent */
    ck_assert(!plan_parents_done(&v[1], v, 3, ids, 3)); /* parent not at its end */
    ck_assert(plan_parents_done(&v[2], v, 3, ids, 3));  /* parent trimmed away */
    snprintf(v[0].checkpoint, sizeof v[0].checkpoint, "%s", LEASE_SHARD_END);
    ck_assert(plan_parents_done(&v[1], v, 3, ids, 3));
    /* a listed parent without a lease yet is not read */
    lease orphan = mk("C2", "", 0, LEASE_TRIM_HORIZON, "Q");
    const char *ids2[] = { "Q", "C2" };
    ck_assert(!plan_parents_done(&orphan, v, 3, ids2, 2));
}
END_TEST

static json_t *rec(const char *ev, const char *pk, const char *sk)
{
    return json_pack("{s:s, s:{s:{s:{s:s}, s:{s:s}}}}", "eventName", ev, "dynamodb", "Keys", "pk",
                     "S", pk, "sk", "S", sk);
}

START_TEST(a_batch_applies_the_newest_message_of_each_conversation)
{
    json_t *r = json_array();
    json_array_append_new(r, rec("INSERT", "MSG#g1", "2026-01-01T00:00:02")); /* 0 */
    json_array_append_new(r, rec("INSERT", "MSG#g2", "2026-01-01T00:00:01")); /* 1 */
    json_array_append_new(r, rec("INSERT", "GRP#u1", "2026-01-01T00:00:03")); /* 2 */
    json_array_append_new(r, rec("INSERT", "MSG#g1", "2026-01-01T00:00:05")); /* 3 */
    json_array_append_new(r, rec("INSERT", "MSG#g1", "2026-01-01T00:00:04")); /* 4 */
    json_array_append_new(r, rec("REMOVE", "MSG#g2", "2026-01-01T00:00:09")); /* 5 */
    json_array_append_new(r, rec("MODIFY", "MSG#g2", "2026-01-01T00:00:01")); /* 6 */
    json_array_append_new(r, json_string("garbage"));                         /* 7 */
    bool apply[8];
    long fb[8];
    ck_assert_int_eq(plan_batch(r, apply, fb), 5);
    /* g1: only the 00:05 one, falling back to 00:04, then 00:02 */
    ck_assert(!apply[0]);
    ck_assert(apply[3]);
    ck_assert(!apply[4]);
    ck_assert_int_eq(fb[3], 4);
    ck_assert_int_eq(fb[4], 0);
    ck_assert_int_eq(fb[0], -1);
    /* g2: the same item twice: the later one wins */
    ck_assert(!apply[1]);
    ck_assert(apply[6]);
    ck_assert_int_eq(fb[6], 1);
    /* everything else is applied (and judged) as it comes */
    ck_assert(apply[2]);
    ck_assert(apply[5]);
    ck_assert(apply[7]);
    json_decref(r);
    json_t *empty = json_array();
    ck_assert_int_eq(plan_batch(empty, apply, fb), 0);
    json_decref(empty);
    const char *g, *t;
    json_t *one = rec("INSERT", "MSG#", "x");
    ck_assert(!plan_message_key(one, &g, &t));
    json_decref(one);
}
END_TEST

/* A dead letter keeps what a replay needs, never the message text. */
START_TEST(dead_letters_are_stored_without_message_text)
{
    json_t *rec = json_pack(
        "{s:s, s:{s:{s:{s:s}, s:{s:s}}, s:{s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s}}, "
        "s:{s:{s:s}}, s:s}}",
        "eventName", "INSERT", "dynamodb", "Keys", "pk", "S", "MSG#g", "sk", "S", "t1", "NewImage",
        "pk", "S", "MSG#g", "sk", "S", "t1", "message", "S", "secret words", "user_uuid", "S", "u",
        "OldImage", "message", "S", "older secret", "SequenceNumber", "42");
    ck_assert_ptr_nonnull(rec);
    json_t *r = deadletter_redact(rec);
    ck_assert_ptr_nonnull(r);
    char *text = json_dumps(r, JSON_COMPACT);
    ck_assert_msg(!strstr(text, "secret"), "%s", text);
    ck_assert_ptr_nonnull(strstr(text, "\"Keys\""));
    ck_assert_ptr_nonnull(strstr(text, "\"user_uuid\""));
    ck_assert_ptr_nonnull(strstr(text, "\"SequenceNumber\":\"42\""));
    free(text);
    /* the record itself is untouched */
    ck_assert_ptr_nonnull(
        json_object_get(json_object_get(json_object_get(rec, "dynamodb"), "NewImage"), "message"));
    json_decref(r);
    /* records of other shapes pass through */
    json_t *odd = json_pack("{s:i}", "dynamodb", 3);
    r = deadletter_redact(odd);
    ck_assert(json_equal(r, odd));
    json_decref(r);
    json_decref(odd);
    json_decref(rec);
}
END_TEST

START_TEST(notify_addresses_are_paths_or_abstract_names)
{
    struct sockaddr_un a;
    ck_assert_int_gt(notify_addr("/run/systemd/notify", &a), 0);
    ck_assert_str_eq(a.sun_path, "/run/systemd/notify");
    int n = notify_addr("@abstract", &a);
    ck_assert_int_gt(n, 0);
    ck_assert_int_eq(a.sun_path[0], '\0');
    ck_assert(memcmp(a.sun_path + 1, "abstract", 8) == 0);
    ck_assert_int_eq(notify_addr("relative", &a), -1);
    ck_assert_int_eq(notify_addr("@", &a), -1);
    ck_assert_int_eq(notify_addr("", &a), -1);
    ck_assert_int_eq(notify_addr(NULL, &a), -1);
    char big[200];
    memset(big, 'a', sizeof big - 1);
    big[0] = '/';
    big[sizeof big - 1] = '\0';
    ck_assert_int_eq(notify_addr(big, &a), -1);
    /* outside systemd: nothing sent, no error */
    unsetenv("NOTIFY_SOCKET");
    ck_assert_int_eq(notify_send("READY=1"), 0);
    setenv("WATCHDOG_USEC", "30000000", 1);
    unsetenv("WATCHDOG_PID");
    ck_assert_int_eq(notify_watchdog_usec(), 30000000);
    setenv("WATCHDOG_PID", "1", 1); /* meant for another process */
    ck_assert_int_eq(notify_watchdog_usec(), 0);
    unsetenv("WATCHDOG_PID");
    setenv("WATCHDOG_USEC", "abc", 1);
    ck_assert_int_eq(notify_watchdog_usec(), 0);
    unsetenv("WATCHDOG_USEC");
}
END_TEST

/* ---- one sync (plan_sync, plan_creates) ------------------------------------------------ */

#define T_MS 9000 /* the lease timeout of the sync cases: a renewal is due after 3000 */

typedef struct lspec {
    const char *id, *owner;
    int64_t counter;
    const char *cp, *parent;
} lspec;

typedef struct hspec {
    const char *id;
    int64_t counter, renewed_ms;
    bool lost;
} hspec;

typedef struct aspec {
    plan_op op;
    const char *id;
} aspec;

typedef struct sync_case {
    const char *name;
    lspec leases[6];
    const char *shards[6];
    hspec held[3];
    int64_t seen_ms, now_ms; /* leases first seen (plan_observe), then the sync */
    bool take_all;
    aspec want[8];
    size_t target, others;
} sync_case;

#define LS(...)                                                                                    \
    {                                                                                              \
        __VA_ARGS__                                                                                \
    }

static const sync_case sync_cases[] = {
    { "a free lease is taken",
      { LS("s1", "", 0, "TRIM_HORIZON", NULL) },
      { "s1" },
      { { NULL } },
      0,
      0,
      false,
      { { PLAN_TAKE, "s1" } },
      1,
      0 },
    { "another owner's lease is not taken before the timeout by our clock",
      { LS("s1", "x", 5, "1", NULL) },
      { "s1" },
      { { NULL } },
      1000,
      1000 + T_MS - 1,
      false,
      { { 0, NULL } },
      1,
      1 },
    { "another owner's lease is taken once its counter stood still for the timeout",
      { LS("s1", "x", 5, "1", NULL) },
      { "s1" },
      { { NULL } },
      1000,
      1000 + T_MS,
      false,
      { { PLAN_TAKE, "s1" } },
      1,
      1 },
    { "the target spreads the leases over the live owners",
      { LS("a", "x", 1, "1", NULL), LS("b", "y", 1, "1", NULL), LS("c", "", 0, "1", NULL),
        LS("d", "", 0, "1", NULL), LS("e", "", 0, "1", NULL), LS("f", "", 0, "1", NULL) },
      { "a", "b", "c", "d", "e", "f" },
      { { NULL } },
      0,
      0,
      false,
      { { PLAN_TAKE, "c" }, { PLAN_TAKE, "d" }, { PLAN_TAKE, "e" }, { PLAN_TAKE, "f" } },
      2,
      2 },
    { "--once takes everything available",
      { LS("a", "x", 1, "1", NULL), LS("b", "", 0, "1", NULL), LS("c", "", 0, "1", NULL) },
      { "a", "b", "c" },
      { { NULL } },
      0,
      0,
      true,
      { { PLAN_TAKE, "b" }, { PLAN_TAKE, "c" } },
      64,
      1 },
    { "a finished shard gone from the stream is deleted; its child is ready",
      { LS("P", "", 4, LEASE_SHARD_END, NULL), LS("C", "", 0, "TRIM_HORIZON", "P") },
      { "C" },
      { { NULL } },
      0,
      0,
      false,
      { { PLAN_DELETE, "P" }, { PLAN_TAKE, "C" } },
      1,
      0 },
    { "a finished shard still listed is kept; its child is ready",
      { LS("P", "", 4, LEASE_SHARD_END, NULL), LS("C", "", 0, "TRIM_HORIZON", "P") },
      { "P", "C" },
      { { NULL } },
      0,
      0,
      false,
      { { PLAN_TAKE, "C" } },
      1,
      0 },
    { "a finished shard someone still holds is not deleted",
      { LS("P", "x", 4, LEASE_SHARD_END, NULL) },
      { NULL },
      { { NULL } },
      0,
      0,
      false,
      { { 0, NULL } },
      0,
      0 },
    { "a child waits while its parent is not read to its end",
      { LS("P", "x", 4, "17", NULL), LS("C", "", 0, "TRIM_HORIZON", "P") },
      { "P", "C" },
      { { NULL } },
      0,
      0,
      false,
      { { 0, NULL } },
      1,
      1 },
    { "a child waits while its listed parent has no lease yet",
      { LS("C", "", 0, "TRIM_HORIZON", "P") },
      { "P", "C" },
      { { NULL } },
      0,
      0,
      false,
      { { 0, NULL } },
      1,
      0 },
    { "a lease we hold that another owner took is dropped",
      { LS("s1", "x", 4, "1", NULL) },
      { "s1" },
      { { "s1", 3, 0, false } },
      0,
      0,
      false,
      { { PLAN_DROP, "s1" } },
      1,
      1 },
    { "a lease we hold that a write found lost is dropped",
      { LS("s1", "me", 3, "1", NULL) },
      { "s1" },
      { { "s1", 3, 0, true } },
      0,
      0,
      false,
      { { PLAN_DROP, "s1" }, { PLAN_RESUME, "s1" } },
      1,
      0 },
    { "a lease we hold that is gone from the table is dropped",
      { { NULL } },
      { "s1" },
      { { "s1", 3, 0, false } },
      0,
      0,
      false,
      { { PLAN_DROP, "s1" } },
      0,
      0 },
    { "a lease we hold is renewed when a third of the timeout passed",
      { LS("s1", "me", 3, "1", NULL) },
      { "s1" },
      { { "s1", 3, 1000, false } },
      0,
      1000 + T_MS / 3,
      false,
      { { PLAN_RENEW, "s1" } },
      1,
      0 },
    { "a lease we hold is left alone before that",
      { LS("s1", "me", 3, "1", NULL) },
      { "s1" },
      { { "s1", 3, 1000, false } },
      0,
      1000 + T_MS / 3 - 1,
      false,
      { { 0, NULL } },
      1,
      0 },
    { "a lease naming us that we do not hold is resumed without a write",
      { LS("s1", "me", 2, "1", NULL) },
      { "s1" },
      { { NULL } },
      0,
      0,
      false,
      { { PLAN_RESUME, "s1" } },
      1,
      0 },
    { "a finished lease is never taken",
      { LS("s1", "", 0, LEASE_SHARD_END, NULL) },
      { "s1" },
      { { NULL } },
      0,
      0,
      false,
      { { 0, NULL } },
      0,
      0 },
};

START_TEST(sync_plans)
{
    const sync_case *c = &sync_cases[_i];
    lease v[6];
    size_t n = 0;
    for (; n < 6 && c->leases[n].id; n++)
        v[n] = mk(c->leases[n].id, c->leases[n].owner, c->leases[n].counter, c->leases[n].cp,
                  c->leases[n].parent);
    size_t ns = 0;
    while (ns < 6 && c->shards[ns])
        ns++;
    plan_held h[3];
    size_t nh = 0;
    for (; nh < 3 && c->held[nh].id; nh++)
        h[nh] = (plan_held){ .shard_id = c->held[nh].id,
                             .counter = c->held[nh].counter,
                             .renewed_ms = c->held[nh].renewed_ms,
                             .lost = c->held[nh].lost };
    plan_obs obs[8];
    size_t nobs = 0;
    ck_assert_int_eq(plan_observe(obs, &nobs, 8, v, n, c->seen_ms), 0);
    plan_sync_in in = { .leases = v,
                        .nleases = n,
                        .shard_ids = c->shards,
                        .nshards = ns,
                        .held = h,
                        .nheld = nh,
                        .me = "me",
                        .obs = obs,
                        .nobs = nobs,
                        .now_ms = c->now_ms,
                        .timeout_ms = T_MS,
                        .max_held = 64,
                        .take_all = c->take_all };
    plan_sync_out out;
    ck_assert_int_eq(plan_sync(&in, &out), 0);
    size_t nw = 0;
    while (nw < 8 && c->want[nw].id)
        nw++;
    char got[512] = "";
    for (size_t i = 0; i < out.nactions; i++) {
        const plan_action *a = &out.actions[i];
        const char *id =
            a->op == PLAN_DROP || a->op == PLAN_RENEW ? h[a->held].shard_id : v[a->lease].shard_id;
        size_t len = strlen(got);
        snprintf(got + len, sizeof got - len, "%s %s; ", plan_op_name(a->op), id);
    }
    ck_assert_msg(out.nactions == nw, "%s: %s", c->name, got);
    for (size_t i = 0; i < nw; i++) {
        const plan_action *a = &out.actions[i];
        const char *id =
            a->op == PLAN_DROP || a->op == PLAN_RENEW ? h[a->held].shard_id : v[a->lease].shard_id;
        ck_assert_msg(a->op == c->want[i].op && strcmp(id, c->want[i].id) == 0, "%s: %s", c->name,
                      got);
    }
    ck_assert_msg(out.target == c->target, "%s: target %zu", c->name, out.target);
    ck_assert_msg(out.others_hold == c->others, "%s: others %zu", c->name, out.others_hold);
    plan_sync_cleanup(&out);
    ck_assert_ptr_null(out.actions);
    plan_sync_cleanup(NULL);
}
END_TEST

START_TEST(sync_names_its_actions)
{
    ck_assert_str_eq(plan_op_name(PLAN_DELETE), "delete");
    ck_assert_str_eq(plan_op_name(PLAN_DROP), "drop");
    ck_assert_str_eq(plan_op_name(PLAN_RENEW), "renew");
    ck_assert_str_eq(plan_op_name(PLAN_TAKE), "take");
    ck_assert_str_eq(plan_op_name(PLAN_RESUME), "resume");
    ck_assert_str_eq(plan_op_name((plan_op)42), "?");
}
END_TEST

START_TEST(new_shards_get_leases_parents_first)
{
    json_t *shards =
        json_pack("[{s:s}, {s:s, s:s}, {s:s, s:s}, {s:s}, {s:s}, {s:s}, {s:s, s:s}, {s:i}]",
                  "ShardId", "root", "ShardId", "child", "ParentShardId", "root", "ShardId",
                  "orphan", "ParentShardId", "trimmed", "ShardId", "has", "ShardId", "", "ShardId",
                  "root", "ShardId", "late", "ParentShardId", "has", "ShardId", 7);
    lease have = mk("has", "x", 3, "5", NULL);
    for (int latest = 0; latest <= 1; latest++) {
        lease *out = NULL;
        size_t n = 0;
        ck_assert_int_eq(plan_creates(shards, &have, 1, "arn:s", latest, &out, &n), 0);
        ck_assert_uint_eq(n, 4); /* root (once), child, orphan, late */
        ck_assert_str_eq(out[0].shard_id, "root");
        ck_assert_int_eq(out[0].nparents, 0);
        ck_assert_str_eq(out[0].checkpoint, latest ? LEASE_LATEST : LEASE_TRIM_HORIZON);
        ck_assert_str_eq(out[0].stream_arn, "arn:s");
        ck_assert_str_eq(out[0].owner, "");
        ck_assert_str_eq(out[1].shard_id, "child"); /* parent listed: from its beginning */
        ck_assert_str_eq(out[1].parents[0], "root");
        ck_assert_str_eq(out[1].checkpoint, LEASE_TRIM_HORIZON);
        ck_assert_str_eq(out[2].shard_id, "orphan"); /* parent unknown: a root for us */
        ck_assert_str_eq(out[2].parents[0], "trimmed");
        ck_assert_str_eq(out[2].checkpoint, latest ? LEASE_LATEST : LEASE_TRIM_HORIZON);
        ck_assert_str_eq(out[3].shard_id, "late"); /* parent known by its lease */
        ck_assert_str_eq(out[3].checkpoint, LEASE_TRIM_HORIZON);
        free(out);
    }
    lease *out = (lease *)1;
    size_t n = 9;
    json_t *none = json_array();
    ck_assert_int_eq(plan_creates(none, NULL, 0, "arn:s", false, &out, &n), 0);
    ck_assert_ptr_null(out);
    ck_assert_uint_eq(n, 0);
    json_decref(none);
    json_decref(shards);
}
END_TEST

/* ---- metrics ------------------------------------------------------------------------- */

START_TEST(metrics_count_what_the_loop_reports)
{
    sdmetrics *m = sdmetrics_new();
    ck_assert_ptr_nonnull(m);
    sdmetrics_get_records(m, "shardId-1");
    sdmetrics_get_records(m, "shardId-1");
    sdmetrics_get_records(m, "shardId-2");
    sdmetrics_batch(m, "shardId-1", 7, 2500);
    sdmetrics_batch(m, "shardId-2", 3, 400);
    sdmetrics_batch(m, "shardId-2", 0, 0); /* caught up */
    sdmetrics_dead_letter(m);
    sdmetrics_lease_event(m, SDMETRICS_LEASE_TAKEN);
    sdmetrics_lease_event(m, SDMETRICS_LEASE_TAKEN);
    sdmetrics_lease_event(m, SDMETRICS_LEASE_LOST);
    sdmetrics_leases_held(m, 1);
    sdmetrics_count_error(m, SDMETRICS_ERR_GET_RECORDS);
    sdmetrics_count_error(m, SDMETRICS_NERRORS); /* out of range: ignored */
    buf out;
    buf_init(&out, 0);
    ck_assert_int_eq(sdmetrics_render(m, &out), 0);
    const char *t = buf_cstr(&out);
    ck_assert_double_eq(
        support_prom_value(t, "cruddur_streamd_get_records_total{shard=\"shardId-1\"}"), 2);
    ck_assert_double_eq(support_prom_value(t, "cruddur_streamd_records_total{shard=\"shardId-1\"}"),
                        7);
    ck_assert_double_eq(support_prom_value(t, "cruddur_streamd_batches_total{shard=\"shardId-2\"}"),
                        1);
    ck_assert_double_eq(support_prom_value(t, "cruddur_streamd_lag_seconds{shard=\"shardId-1\"}"),
                        2.5);
    ck_assert_double_eq(support_prom_value(t, "cruddur_streamd_lag_seconds{shard=\"shardId-2\"}"),
                        0);
    ck_assert_double_eq(support_prom_value(t, "cruddur_streamd_dead_letters_total"), 1);
    ck_assert_double_eq(support_prom_value(t, "cruddur_streamd_leases_held"), 1);
    ck_assert_double_eq(
        support_prom_value(t, "cruddur_streamd_lease_events_total{event=\"taken\"}"), 2);
    ck_assert_double_eq(support_prom_value(t, "cruddur_streamd_lease_events_total{event=\"lost\"}"),
                        1);
    ck_assert_double_eq(support_prom_value(t, "cruddur_streamd_errors_total{kind=\"get_records\"}"),
                        1);
    ck_assert_double_eq(support_prom_value(t, "cruddur_streamd_errors_total{kind=\"apply\"}"), 0);
    buf_cleanup(&out);
    sdmetrics_free(m);
    /* no metrics kept: every call is a no-op */
    sdmetrics_batch(NULL, "x", 1, 1);
    sdmetrics_free(NULL);
}
END_TEST

/* Sends req to 127.0.0.1:port and returns the whole answer (static buffer). */
static const char *ask(int port, const char *req)
{
    static char got[65536];
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(fd, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(send(fd, req, strlen(req), 0), (ssize_t)strlen(req));
    size_t n = 0;
    ssize_t r;
    while (n < sizeof got - 1 && (r = recv(fd, got + n, sizeof got - 1 - n, 0)) > 0)
        n += (size_t)r;
    got[n] = '\0';
    close(fd);
    return got;
}

START_TEST(metrics_listener_answers_get_metrics_only)
{
    sdmetrics *m = sdmetrics_new();
    errinfo e;
    ck_assert_int_eq(sdmetrics_listen(m, "127.0.0.1:0", &e), 0);
    int port = sdmetrics_port(m);
    ck_assert_int_gt(port, 0);
    sdmetrics_batch(m, "shardId-9", 4, 100);
    const char *r = ask(port, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    ck_assert_msg(strncmp(r, "HTTP/1.1 200 OK\r\n", 17) == 0, "%s", r);
    ck_assert_ptr_nonnull(strstr(r, "Content-Type: text/plain; version=0.0.4; charset=utf-8"));
    ck_assert_ptr_nonnull(strstr(r, "cruddur_streamd_records_total{shard=\"shardId-9\"} 4\n"));
    r = ask(port, "GET /other HTTP/1.1\r\n\r\n");
    ck_assert_msg(strncmp(r, "HTTP/1.1 404", 12) == 0, "%s", r);
    r = ask(port, "POST /metrics HTTP/1.1\r\n\r\n");
    ck_assert_msg(strncmp(r, "HTTP/1.1 405", 12) == 0, "%s", r);
    sdmetrics_free(m); /* stops the thread */
    m = sdmetrics_new();
    ck_assert_int_eq(sdmetrics_listen(m, "localhost:9464", &e), -1);
    ck_assert_int_eq(e.code, ERR_CONFIG);
    ck_assert_int_eq(sdmetrics_listen(m, "127.0.0.1", &e), -1);
    ck_assert_int_eq(sdmetrics_listen(m, "127.0.0.1:99999", &e), -1);
    sdmetrics_free(m);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("streamd");
    TCase *tc = tcase_create("pure");
    tcase_add_test(tc, lease_items_round_trip_and_reject_bad_ones);
    tcase_add_test(tc, a_lease_expires_only_when_its_counter_stays_put_for_the_timeout);
    tcase_add_test(tc, leases_are_shared_evenly_between_live_owners);
    tcase_add_test(tc, children_wait_for_their_parents_to_end);
    tcase_add_test(tc, a_batch_applies_the_newest_message_of_each_conversation);
    tcase_add_test(tc, notify_addresses_are_paths_or_abstract_names);
    tcase_add_test(tc, dead_letters_are_stored_without_message_text);
    suite_add_tcase(s, tc);
    tc = tcase_create("metrics");
    tcase_add_test(tc, metrics_count_what_the_loop_reports);
    tcase_add_test(tc, metrics_listener_answers_get_metrics_only);
    suite_add_tcase(s, tc);
    tc = tcase_create("sync");
    tcase_add_loop_test(tc, sync_plans, 0, (int)(sizeof sync_cases / sizeof sync_cases[0]));
    tcase_add_test(tc, sync_names_its_actions);
    tcase_add_test(tc, new_shards_get_leases_parents_first);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tap_run(suite());
}
