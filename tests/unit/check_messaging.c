/* check_messaging.c — the messaging module: keys and items exactly as the original boto3
 * code wrote them, the seed data (sample conversation and synthetic set), and the pure
 * helpers the CLI prints tables with. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aws/ddb_av.h"
#include "base/buf.h"
#include "base/clock.h"
#include "messaging/messaging.h"
#include "messaging/seed.h"
#include "tap.h"

static const messaging_user alice = { "11111111-2222-4333-8444-555555555555", "Alice A", "alice" };
static const messaging_user bob = { "66666666-7777-4888-9999-aaaaaaaaaaaa", "Bob B", "bob" };

/* Asserts item has exactly the attributes names (NULL-terminated), each of type S. */
static void assert_shape(const json_t *item, const char *const *names)
{
    size_t n = 0;
    for (; names[n]; n++) {
        json_t *av = json_object_get(item, names[n]);
        ck_assert_msg(av != NULL, "attribute %s missing", names[n]);
        ck_assert_msg(ddb_av_type_of(av) == DDB_AV_S, "attribute %s is not S", names[n]);
    }
    ck_assert_uint_eq(json_object_size(item), n);
    errinfo e;
    ck_assert_msg(ddb_av_validate_item(item, &e) == 0, "%s", e.msg);
}

static const char *const message_names[] = { "pk",           "sk",        "message",
                                             "message_uuid", "user_uuid", "user_display_name",
                                             "user_handle",  NULL };
static const char *const group_names[] = { "pk",          "sk",        "message_group_uuid",
                                           "message",     "user_uuid", "user_display_name",
                                           "user_handle", NULL };

static bool is_uuid(const char *s)
{
    if (!s || strlen(s) != 36)
        return false;
    for (int i = 0; i < 36; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !strchr("0123456789abcdef", s[i]))
            return false;
    }
    return true;
}

/* ---- keys and items ------------------------------------------------------------------------ */

/* The table: CRUDDUR_DDB_TABLE wins over DDB_MESSAGE_TABLE (the original's prod branch),
 * which wins over the default. */
START_TEST(table_name_from_either_variable)
{
    unsetenv("CRUDDUR_DDB_TABLE");
    unsetenv("DDB_MESSAGE_TABLE");
    ck_assert_str_eq(messaging_table(), "cruddur-messages");
    setenv("DDB_MESSAGE_TABLE", "cruddur-messages-prod", 1);
    ck_assert_str_eq(messaging_table(), "cruddur-messages-prod");
    setenv("CRUDDUR_DDB_TABLE", "mine", 1);
    ck_assert_str_eq(messaging_table(), "mine");
    setenv("CRUDDUR_DDB_TABLE", "", 1); /* empty is unset, as for every variable */
    ck_assert_str_eq(messaging_table(), "cruddur-messages-prod");
    unsetenv("CRUDDUR_DDB_TABLE");
    unsetenv("DDB_MESSAGE_TABLE");
}
END_TEST

START_TEST(keys_are_prefixed)
{
    char k[MESSAGING_KEY_MAX];
    ck_assert_int_eq(messaging_msg_pk(k, sizeof k, "g-1"), 0);
    ck_assert_str_eq(k, "MSG#g-1");
    ck_assert_int_eq(messaging_grp_pk(k, sizeof k, alice.uuid), 0);
    ck_assert_str_eq(k, "GRP#11111111-2222-4333-8444-555555555555");
    char small[8];
    ck_assert_int_eq(messaging_grp_pk(small, sizeof small, alice.uuid), -1);
    ck_assert_int_eq(messaging_msg_pk(k, sizeof k, NULL), -1);
}
END_TEST

START_TEST(message_item_matches_original)
{
    json_t *m =
        messaging_message_item("g-1", "2026-11-21T09:30:00.123456+00:00", "m-1", &alice, "hello");
    ck_assert_ptr_nonnull(m);
    assert_shape(m, message_names);
    ck_assert_str_eq(ddb_av_get_s(m, "pk"), "MSG#g-1");
    ck_assert_str_eq(ddb_av_get_s(m, "sk"), "2026-11-21T09:30:00.123456+00:00");
    ck_assert_str_eq(ddb_av_get_s(m, "message"), "hello");
    ck_assert_str_eq(ddb_av_get_s(m, "message_uuid"), "m-1");
    ck_assert_str_eq(ddb_av_get_s(m, "user_uuid"), alice.uuid);
    ck_assert_str_eq(ddb_av_get_s(m, "user_display_name"), "Alice A");
    ck_assert_str_eq(ddb_av_get_s(m, "user_handle"), "alice");
    /* no message_group_uuid: the GSI stays sparse */
    ck_assert_ptr_null(json_object_get(m, "message_group_uuid"));
    json_decref(m);
}
END_TEST

START_TEST(group_item_names_the_other_person)
{
    json_t *g = messaging_group_item(alice.uuid, "2026-11-21T09:30:00.123456+00:00", "g-1", &bob,
                                     "last words");
    ck_assert_ptr_nonnull(g);
    assert_shape(g, group_names);
    ck_assert_str_eq(ddb_av_get_s(g, "pk"), "GRP#11111111-2222-4333-8444-555555555555");
    ck_assert_str_eq(ddb_av_get_s(g, "sk"), "2026-11-21T09:30:00.123456+00:00");
    ck_assert_str_eq(ddb_av_get_s(g, "message_group_uuid"), "g-1");
    ck_assert_str_eq(ddb_av_get_s(g, "message"), "last words");
    ck_assert_str_eq(ddb_av_get_s(g, "user_uuid"), bob.uuid);
    ck_assert_str_eq(ddb_av_get_s(g, "user_display_name"), "Bob B");
    ck_assert_str_eq(ddb_av_get_s(g, "user_handle"), "bob");
    json_decref(g);
}
END_TEST

START_TEST(items_refuse_missing_fields)
{
    messaging_user partial = { alice.uuid, NULL, "alice" };
    ck_assert_ptr_null(messaging_message_item("g", "t", "m", &partial, "x"));
    ck_assert_ptr_null(messaging_message_item("g", NULL, "m", &alice, "x"));
    ck_assert_ptr_null(messaging_message_item("g", "t", "m", NULL, "x"));
    ck_assert_ptr_null(messaging_message_item("g", "t", "m", &alice, NULL));
    ck_assert_ptr_null(messaging_group_item(NULL, "t", "g", &bob, "x"));
    ck_assert_ptr_null(messaging_group_item(alice.uuid, "t", NULL, &bob, "x"));
}
END_TEST

START_TEST(now_is_utc_with_microseconds)
{
    char ts[MESSAGING_TS_LEN];
    ck_assert_int_eq(messaging_now(ts), 0);
    ck_assert_uint_eq(strlen(ts), 32);
    ck_assert_str_eq(ts + 26, "+00:00");
    ck_assert_int_eq(ts[19], '.');
    int64_t us;
    ck_assert_int_eq(clock_parse_iso8601_us(ts, &us), 0);
    int64_t now = clock_real_us();
    ck_assert(us <= now && now - us < 5000000);
}
END_TEST

/* ---- the sample conversation --------------------------------------------------------------- */

START_TEST(sample_has_shape_and_order)
{
    const int64_t end = (int64_t)1795253400 * 1000000 + 123456; /* 2026-11-21T09:30:00.123456Z */
    json_t *items = seed_sample_items(&alice, &bob, end);
    ck_assert_ptr_nonnull(items);
    ck_assert_uint_eq(json_array_size(items), SEED_SAMPLE_MESSAGES + 2);
    ck_assert_int_ge(SEED_SAMPLE_MESSAGES, 35);
    char pk[MESSAGING_KEY_MAX];
    messaging_msg_pk(pk, sizeof pk, SEED_SAMPLE_GROUP_UUID);
    ck_assert(is_uuid(SEED_SAMPLE_GROUP_UUID));
    const char *prev = "";
    int64_t first_us = 0, last_us = 0;
    for (int i = 0; i < SEED_SAMPLE_MESSAGES; i++) {
        json_t *m = json_array_get(items, (size_t)i);
        assert_shape(m, message_names);
        ck_assert_str_eq(ddb_av_get_s(m, "pk"), pk);
        const char *sk = ddb_av_get_s(m, "sk");
        ck_assert_msg(strcmp(prev, sk) < 0, "sk %s not after %s", sk, prev);
        prev = sk;
        ck_assert_uint_eq(strlen(sk), 32);
        int64_t us;
        ck_assert_int_eq(clock_parse_iso8601_us(sk, &us), 0);
        if (i == 0)
            first_us = us;
        last_us = us;
        ck_assert_str_eq(ddb_av_get_s(m, "user_handle"), i % 2 == 0 ? "alice" : "bob");
        ck_assert(is_uuid(ddb_av_get_s(m, "message_uuid")));
        for (int j = 0; j < i; j++)
            ck_assert_str_ne(ddb_av_get_s(json_array_get(items, (size_t)j), "message_uuid"),
                             ddb_av_get_s(m, "message_uuid"));
    }
    ck_assert_int_eq(last_us, end);
    ck_assert(end - first_us < (int64_t)24 * 3600 * 1000000);
    ck_assert(end - first_us > (int64_t)12 * 3600 * 1000000);

    json_t *last = json_array_get(items, SEED_SAMPLE_MESSAGES - 1);
    json_t *ga = json_array_get(items, SEED_SAMPLE_MESSAGES);
    json_t *gb = json_array_get(items, SEED_SAMPLE_MESSAGES + 1);
    assert_shape(ga, group_names);
    assert_shape(gb, group_names);
    messaging_grp_pk(pk, sizeof pk, alice.uuid);
    ck_assert_str_eq(ddb_av_get_s(ga, "pk"), pk);
    ck_assert_str_eq(ddb_av_get_s(ga, "user_handle"), "bob");
    messaging_grp_pk(pk, sizeof pk, bob.uuid);
    ck_assert_str_eq(ddb_av_get_s(gb, "pk"), pk);
    ck_assert_str_eq(ddb_av_get_s(gb, "user_uuid"), alice.uuid);
    for (int k = 0; k < 2; k++) {
        json_t *g = k ? gb : ga;
        ck_assert_str_eq(ddb_av_get_s(g, "sk"), ddb_av_get_s(last, "sk"));
        ck_assert_str_eq(ddb_av_get_s(g, "message"), ddb_av_get_s(last, "message"));
        ck_assert_str_eq(ddb_av_get_s(g, "message_group_uuid"), SEED_SAMPLE_GROUP_UUID);
    }

    json_t *again = seed_sample_items(&alice, &bob, end);
    ck_assert(json_equal(items, again));
    json_decref(again);
    json_decref(items);
    ck_assert_ptr_null(seed_sample_items(NULL, &bob, end));
}
END_TEST

START_TEST(sample_users_match_sql_seed)
{
    ck_assert_str_eq(seed_sample_mira.uuid, "6f1c2c1e-3d4b-4a8e-9c61-2b7f0d5a9e11");
    ck_assert_str_eq(seed_sample_mira.handle, "mira");
    ck_assert_str_eq(seed_sample_mira.display_name, "Mira Okafor");
    ck_assert_str_eq(seed_sample_tomasz.uuid, "0b8e5c7a-91d2-4f37-8a44-c3e6d1f2a7b9");
    ck_assert_str_eq(seed_sample_tomasz.handle, "tomasz");
    ck_assert_str_eq(seed_sample_tomasz.display_name, "Tomasz Wierzba");
}
END_TEST

/* ---- the synthetic data set ---------------------------------------------------------------- */

static seed_bulk *bulk(long u, long g, long m, uint64_t seed)
{
    seed_bulk_options o = { .users = u,
                            .groups = g,
                            .messages = m,
                            .seed = seed,
                            .end_us = (int64_t)1795253400 * 1000000 };
    errinfo e;
    seed_bulk *b = seed_bulk_new(&o, &e);
    ck_assert_msg(b != NULL, "%s", e.msg);
    return b;
}

START_TEST(bulk_refuses_bad_options)
{
    const long cases[][3] = {
        { 1, 1, 1 },
        { 2, 0, 1 },
        { 10, 20, 19 },
        { 10, 1, 0 },
        { SEED_BULK_USERS_MAX + 1, 1, 1 },
        { 2, 1, SEED_BULK_MESSAGES_MAX + 1 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        seed_bulk_options o = { .users = cases[i][0],
                                .groups = cases[i][1],
                                .messages = cases[i][2] };
        errinfo e;
        ck_assert_ptr_null(seed_bulk_new(&o, &e));
        ck_assert_int_eq(e.code, ERR_INVALID);
        ck_assert(strstr(e.msg, "--") != NULL);
    }
    seed_bulk_free(NULL);
}
END_TEST

START_TEST(bulk_has_the_promised_shape)
{
    const long U = 10, G = 20, M = 500;
    seed_bulk *b = bulk(U, G, M, 7);
    size_t total = seed_bulk_count(b);
    ck_assert_uint_eq(total, (size_t)(M + 2 * G));
    ck_assert_ptr_null(seed_bulk_item(b, total));

    /* users u1..uU */
    seed_person p;
    for (long k = 0; k < U; k++) {
        ck_assert_int_eq(seed_bulk_user(b, k, &p), 0);
        ck_assert(is_uuid(p.uuid));
        char h[24];
        snprintf(h, sizeof h, "u%ld", k + 1);
        ck_assert_str_eq(p.handle, h);
    }
    ck_assert_int_eq(seed_bulk_user(b, U, &p), -1);

    json_t *msgs = json_object(); /* pk -> last message item */
    json_t *keys = json_object(); /* pk|sk -> true: every key unique */
    const char *prev = "";
    json_t *items = json_array();
    for (size_t i = 0; i < total; i++) {
        json_t *it = seed_bulk_item(b, i);
        ck_assert_ptr_nonnull(it);
        json_array_append_new(items, it);
        char key[160];
        snprintf(key, sizeof key, "%s|%s", ddb_av_get_s(it, "pk"), ddb_av_get_s(it, "sk"));
        ck_assert_msg(json_object_get(keys, key) == NULL, "duplicate key %s", key);
        json_object_set_new(keys, key, json_true());
        if (i < (size_t)M) {
            assert_shape(it, message_names);
            const char *sk = ddb_av_get_s(it, "sk");
            ck_assert_msg(strcmp(prev, sk) < 0, "message %zu out of order", i);
            prev = sk;
            ck_assert(strncmp(ddb_av_get_s(it, "pk"), "MSG#", 4) == 0);
            json_object_set(msgs, ddb_av_get_s(it, "pk"), it);
        } else {
            assert_shape(it, group_names);
        }
    }
    ck_assert_uint_eq(json_object_size(msgs), (size_t)G);
    /* the last message is at end_us */
    int64_t us;
    ck_assert_int_eq(clock_parse_iso8601_us(prev, &us), 0);
    ck_assert_int_eq(us, (int64_t)1795253400 * 1000000);

    /* every group: exactly two rows, for two different users naming each other, holding the
     * group's last message; every sender is one of the two */
    const char *gpk;
    json_t *lastm;
    json_object_foreach(msgs, gpk, lastm)
    {
        const char *gid = gpk + 4;
        json_t *rows[2] = { NULL, NULL };
        int nrows = 0;
        for (size_t i = (size_t)M; i < total; i++) {
            json_t *g = json_array_get(items, i);
            if (strcmp(ddb_av_get_s(g, "message_group_uuid"), gid) == 0) {
                ck_assert_int_lt(nrows, 2);
                rows[nrows++] = g;
            }
        }
        ck_assert_int_eq(nrows, 2);
        for (int k = 0; k < 2; k++) {
            ck_assert_str_eq(ddb_av_get_s(rows[k], "sk"), ddb_av_get_s(lastm, "sk"));
            ck_assert_str_eq(ddb_av_get_s(rows[k], "message"), ddb_av_get_s(lastm, "message"));
        }
        char pa[MESSAGING_KEY_MAX], pb[MESSAGING_KEY_MAX];
        messaging_grp_pk(pa, sizeof pa, ddb_av_get_s(rows[1], "user_uuid"));
        messaging_grp_pk(pb, sizeof pb, ddb_av_get_s(rows[0], "user_uuid"));
        ck_assert_str_eq(ddb_av_get_s(rows[0], "pk"), pa);
        ck_assert_str_eq(ddb_av_get_s(rows[1], "pk"), pb);
        ck_assert_str_ne(pa, pb);
        for (size_t i = 0; i < (size_t)M; i++) {
            json_t *m = json_array_get(items, i);
            if (strcmp(ddb_av_get_s(m, "pk"), gpk) != 0)
                continue;
            const char *from = ddb_av_get_s(m, "user_uuid");
            ck_assert(strcmp(from, ddb_av_get_s(rows[0], "user_uuid")) == 0 ||
                      strcmp(from, ddb_av_get_s(rows[1], "user_uuid")) == 0);
        }
    }
    json_decref(items);
    json_decref(msgs);
    json_decref(keys);
    seed_bulk_free(b);
}
END_TEST

START_TEST(bulk_is_deterministic)
{
    seed_bulk *a = bulk(50, 100, 1000, 42);
    seed_bulk *b = bulk(50, 100, 1000, 42);
    seed_bulk *c = bulk(50, 100, 1000, 43);
    size_t differ = 0;
    for (size_t i = 0; i < seed_bulk_count(a); i++) {
        json_t *x = seed_bulk_item(a, i), *y = seed_bulk_item(b, i), *z = seed_bulk_item(c, i);
        ck_assert(json_equal(x, y));
        differ += !json_equal(x, z);
        json_decref(x);
        json_decref(y);
        json_decref(z);
    }
    ck_assert_uint_gt(differ, seed_bulk_count(a) / 2);
    seed_bulk_free(a);
    seed_bulk_free(b);
    seed_bulk_free(c);
}
END_TEST

/* ---- display helpers ----------------------------------------------------------------------- */

START_TEST(text_chars_counts_and_refuses)
{
    static const struct {
        const char *s;
        size_t n;
        long chars;
        bool blank;
    } cases[] = {
        { "", 0, 0, true },
        { "hi", 2, 2, false },
        { " \t\r\n", 4, 4, true },
        /* NBSP, U+3000, ZWSP, BOM */
        { "\xc2\xa0\xe3\x80\x80\xe2\x80\x8b\xef\xbb\xbf", 11, 4, true },
        { "\xe2\x80\xa8 x", 5, 3, false },
        { "\xf0\x9f\x98\x80", 4, 1, false },
        { "a\0b", 3, -1, false },         /* NUL */
        { "\xc3", 1, -1, false },         /* truncated */
        { "\xed\xa0\x80", 3, -1, false }, /* surrogate */
        { "\xc0\xaf", 2, -1, false },     /* overlong */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        bool blank = !cases[i].blank;
        ck_assert_msg(messaging_text_chars(cases[i].s, cases[i].n, &blank) == cases[i].chars,
                      "case %zu", i);
        if (cases[i].chars >= 0)
            ck_assert_msg(blank == cases[i].blank, "case %zu: blank", i);
    }
}
END_TEST

START_TEST(parse_time_reads_offsets_and_fractions)
{
    int64_t us;
    ck_assert_int_eq(clock_parse_iso8601_us("1970-01-01T00:00:01.5+00:00", &us), 0);
    ck_assert_int_eq(us, 1500000);
    ck_assert_int_eq(clock_parse_iso8601_us("1970-01-01T01:00:00.000001+01:00", &us), 0);
    ck_assert_int_eq(us, 1);
    ck_assert_int_eq(clock_parse_iso8601_us("1970-01-01T00:00:00.1234567Z", &us), 0);
    ck_assert_int_eq(us, 123456);
    ck_assert_int_eq(clock_parse_iso8601_us("1970-01-01T00:00:00.Z", &us), -1);
    ck_assert_int_eq(clock_parse_iso8601_us("1970-13-01T00:00:00Z", &us), -1);
    ck_assert_int_eq(clock_parse_iso8601_us(NULL, &us), -1);
}
END_TEST

static Suite *messaging_suite(void)
{
    Suite *s = suite_create("messaging");
    TCase *t = tcase_create("items");
    tcase_add_test(t, table_name_from_either_variable);
    tcase_add_test(t, keys_are_prefixed);
    tcase_add_test(t, message_item_matches_original);
    tcase_add_test(t, group_item_names_the_other_person);
    tcase_add_test(t, items_refuse_missing_fields);
    tcase_add_test(t, now_is_utc_with_microseconds);
    suite_add_tcase(s, t);
    t = tcase_create("seed");
    tcase_add_test(t, sample_has_shape_and_order);
    tcase_add_test(t, sample_users_match_sql_seed);
    tcase_add_test(t, bulk_refuses_bad_options);
    tcase_add_test(t, bulk_has_the_promised_shape);
    tcase_add_test(t, bulk_is_deterministic);
    suite_add_tcase(s, t);
    t = tcase_create("display");
    tcase_add_test(t, text_chars_counts_and_refuses);
    tcase_add_test(t, parse_time_reads_offsets_and_fractions);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return tap_run(messaging_suite());
}
