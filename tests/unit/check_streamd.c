/* check_streamd.c — the stream daemon's pure parts: lease items, lease expiry and shares,
 * parent-before-child readiness, batch planning, and the systemd notification address. */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "aws/ddb_av.h"
#include "streamd/deadletter.h"
#include "streamd/lease.h"
#include "streamd/notify.h"
#include "streamd/plan.h"
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
    ck_assert(plan_parents_done(&v[0], v, 3, ids, 3));     /* no parent */
    ck_assert(!plan_parents_done(&v[1], v, 3, ids, 3));    /* parent not at its end */
    ck_assert(plan_parents_done(&v[2], v, 3, ids, 3));     /* parent trimmed away */
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
    return json_pack("{s:s, s:{s:{s:{s:s}, s:{s:s}}}}", "eventName", ev, "dynamodb", "Keys",
                     "pk", "S", pk, "sk", "S", sk);
}

START_TEST(a_batch_applies_the_newest_message_of_each_conversation)
{
    json_t *r = json_array();
    json_array_append_new(r, rec("INSERT", "MSG#g1", "2026-01-01T00:00:02"));   /* 0 */
    json_array_append_new(r, rec("INSERT", "MSG#g2", "2026-01-01T00:00:01"));   /* 1 */
    json_array_append_new(r, rec("INSERT", "GRP#u1", "2026-01-01T00:00:03"));   /* 2 */
    json_array_append_new(r, rec("INSERT", "MSG#g1", "2026-01-01T00:00:05"));   /* 3 */
    json_array_append_new(r, rec("INSERT", "MSG#g1", "2026-01-01T00:00:04"));   /* 4 */
    json_array_append_new(r, rec("REMOVE", "MSG#g2", "2026-01-01T00:00:09"));   /* 5 */
    json_array_append_new(r, rec("MODIFY", "MSG#g2", "2026-01-01T00:00:01"));   /* 6 */
    json_array_append_new(r, json_string("garbage"));                           /* 7 */
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
        "eventName", "INSERT", "dynamodb", "Keys", "pk", "S", "MSG#g", "sk", "S", "t1",
        "NewImage", "pk", "S", "MSG#g", "sk", "S", "t1", "message", "S", "secret words",
        "user_uuid", "S", "u", "OldImage", "message", "S", "older secret", "SequenceNumber",
        "42");
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
    ck_assert_ptr_nonnull(json_object_get(json_object_get(json_object_get(rec, "dynamodb"),
                                                          "NewImage"), "message"));
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
    setenv("WATCHDOG_PID", "1", 1);   /* meant for another process */
    ck_assert_int_eq(notify_watchdog_usec(), 0);
    unsetenv("WATCHDOG_PID");
    setenv("WATCHDOG_USEC", "abc", 1);
    ck_assert_int_eq(notify_watchdog_usec(), 0);
    unsetenv("WATCHDOG_USEC");
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
    return s;
}

int main(void)
{
    return tap_run(suite());
}
