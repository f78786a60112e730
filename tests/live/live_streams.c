/* live_streams.c — DynamoDB Streams through the client against the real DynamoDB Local:
 * finding the stream, its shards, iterators at every position, and reading back the
 * records the test wrote. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/ddb.h"
#include "aws/ddb_av.h"
#include "aws/ddbstreams.h"
#include "base/clock.h"
#include "live.h"
#include "tap.h"

/* A fresh table with a NEW_IMAGE stream; *arn gets its stream ARN (malloc'd). */
static void stream_table(ddb *d, char name[64], char **arn)
{
    live_name("strm", name);
    json_t *def = json_pack(
        "{s:s, s:[{s:s,s:s},{s:s,s:s}], s:[{s:s,s:s},{s:s,s:s}], s:s,"
        " s:{s:b,s:s}}",
        "TableName", name, "AttributeDefinitions", "AttributeName", "pk", "AttributeType", "S",
        "AttributeName", "sk", "AttributeType", "S", "KeySchema", "AttributeName", "pk", "KeyType",
        "HASH", "AttributeName", "sk", "KeyType", "RANGE", "BillingMode", "PAY_PER_REQUEST",
        "StreamSpecification", "StreamEnabled", 1, "StreamViewType", "NEW_IMAGE");
    ddb_error err;
    json_t *desc = NULL;
    ck_assert_msg(ddb_create_table(d, def, &desc, &err) == 0, "%s", err.info.msg);
    const char *a = json_string_value(json_object_get(desc, "LatestStreamArn"));
    ck_assert_ptr_nonnull(a);
    *arn = strdup(a);
    json_decref(desc);
    json_decref(def);
    ck_assert_int_eq(ddb_wait_active(d, name, 10000, &err), 0);
}

static json_t *item(int i)
{
    char sk[40], text[32];
    snprintf(sk, sizeof sk, "2026-11-21T09:30:%02d.000000+00:00", i % 60);
    snprintf(text, sizeof text, "message %d", i);
    return json_pack("{s:o, s:o, s:o}", "pk", ddb_av_s("MSG#g1"), "sk", ddb_av_s(sk), "message",
                     ddb_av_s(text));
}

/* Reads records from it until want have arrived or 10 s pass; appends them to out. */
static char *read_records(ddb *d, char *it, size_t want, json_t *out)
{
    ddb_error err;
    int64_t deadline = clock_mono_ms() + 10000;
    while (it && json_array_size(out) < want && clock_mono_ms() < deadline) {
        json_t *recs = NULL;
        char *next = NULL;
        ck_assert_msg(ddbstreams_records(d, it, 100, &recs, &next, &err) == 0, "%s", err.info.msg);
        json_array_extend(out, recs);
        json_decref(recs);
        free(it);
        it = next;
        if (json_array_size(out) < want)
            clock_sleep_ms(50);
    }
    return it;
}

static const char *rec_seq(const json_t *r)
{
    return json_string_value(json_object_get(json_object_get(r, "dynamodb"), "SequenceNumber"));
}

START_TEST(stream_is_found_and_described)
{
    ddb *d = live_ddb();
    char name[64];
    char *arn;
    stream_table(d, name, &arn);
    ddb_error err;
    json_t *streams = NULL;
    ck_assert_msg(ddbstreams_list(d, name, &streams, &err) == 0, "%s", err.info.msg);
    ck_assert_uint_eq(json_array_size(streams), 1);
    json_t *s0 = json_array_get(streams, 0);
    ck_assert_str_eq(json_string_value(json_object_get(s0, "StreamArn")), arn);
    ck_assert_str_eq(json_string_value(json_object_get(s0, "TableName")), name);
    json_decref(streams);

    ck_assert_int_eq(ddbstreams_list(d, NULL, &streams, &err), 0);
    ck_assert_uint_ge(json_array_size(streams), 1);
    json_decref(streams);

    json_t *desc = NULL, *shards = NULL;
    ck_assert_msg(ddbstreams_describe(d, arn, &desc, &shards, &err) == 0, "%s", err.info.msg);
    ck_assert_str_eq(json_string_value(json_object_get(desc, "StreamViewType")), "NEW_IMAGE");
    ck_assert_str_eq(json_string_value(json_object_get(desc, "StreamStatus")), "ENABLED");
    ck_assert_ptr_null(json_object_get(desc, "Shards"));
    ck_assert_uint_ge(json_array_size(shards), 1);
    ck_assert_ptr_nonnull(json_string_value(json_object_get(json_array_get(shards, 0), "ShardId")));
    json_decref(desc);
    json_decref(shards);

    /* an unknown stream is a clear not-found */
    ck_assert_int_eq(ddbstreams_describe(d,
                                         "arn:aws:dynamodb:ddblocal:000000000000:table/nope/"
                                         "stream/2026-01-01T00:00:00.000",
                                         NULL, &shards, &err),
                     -1);
    ck_assert_str_eq(err.type, "ResourceNotFoundException");
    ddb_delete_table(d, name, &err);
    free(arn);
    ddb_free(d);
}
END_TEST

START_TEST(records_written_are_read_back_in_order)
{
    ddb *d = live_ddb();
    char name[64];
    char *arn;
    stream_table(d, name, &arn);
    ddb_error err;
    for (int i = 0; i < 5; i++) {
        json_t *it = item(i);
        ck_assert_int_eq(ddb_put_item(d, name, it, NULL, &err), 0);
        json_decref(it);
    }
    /* update one and delete another: MODIFY and REMOVE records follow */
    json_t *changed = item(1);
    json_object_set_new(changed, "message", ddb_av_s("edited"));
    ck_assert_int_eq(ddb_put_item(d, name, changed, NULL, &err), 0);
    json_t *gone = item(2);
    json_object_del(gone, "message");
    ck_assert_int_eq(ddb_delete_item(d, name, gone, NULL, &err), 0);
    json_decref(gone);

    json_t *shards = NULL;
    ck_assert_int_eq(ddbstreams_describe(d, arn, NULL, &shards, &err), 0);
    json_t *recs = json_array();
    size_t i;
    json_t *sh;
    json_array_foreach(shards, i, sh)
    {
        char *it = NULL;
        const char *sid = json_string_value(json_object_get(sh, "ShardId"));
        ck_assert_msg(ddbstreams_iterator(d, arn, sid, DDBSTREAMS_TRIM_HORIZON, NULL, &it, &err) ==
                          0,
                      "%s", err.info.msg);
        free(read_records(d, it, 7, recs));
    }
    ck_assert_uint_eq(json_array_size(recs), 7);
    const char *events[] = { "INSERT", "INSERT", "INSERT", "INSERT", "INSERT", "MODIFY", "REMOVE" };
    json_t *r;
    json_array_foreach(recs, i, r)
    {
        ck_assert_str_eq(json_string_value(json_object_get(r, "eventName")), events[i]);
        json_t *img = json_object_get(json_object_get(r, "dynamodb"), "NewImage");
        if (i < 5) {
            json_t *want = item((int)i);
            ck_assert_msg(json_equal(img, want), "record %zu image differs", i);
            json_decref(want);
        } else if (i == 5) {
            ck_assert(json_equal(img, changed));
        } else {
            ck_assert_ptr_null(img); /* NEW_IMAGE of a removal is empty */
        }
        if (i > 0) /* sequence numbers grow: compare as decimal strings */
            ck_assert_int_le(strlen(rec_seq(json_array_get(recs, i - 1))), strlen(rec_seq(r)));
    }

    /* AT and AFTER a sequence number start where they say */
    const char *shard0 = json_string_value(json_object_get(json_array_get(shards, 0), "ShardId"));
    const char *seq2 = rec_seq(json_array_get(recs, 2));
    char *it = NULL;
    json_t *more = json_array();
    ck_assert_int_eq(
        ddbstreams_iterator(d, arn, shard0, DDBSTREAMS_AT_SEQUENCE_NUMBER, seq2, &it, &err), 0);
    free(read_records(d, it, 1, more));
    ck_assert_str_eq(rec_seq(json_array_get(more, 0)), seq2);
    json_array_clear(more);
    ck_assert_int_eq(
        ddbstreams_iterator(d, arn, shard0, DDBSTREAMS_AFTER_SEQUENCE_NUMBER, seq2, &it, &err), 0);
    free(read_records(d, it, 1, more));
    ck_assert_str_eq(rec_seq(json_array_get(more, 0)), rec_seq(json_array_get(recs, 3)));
    json_array_clear(more);

    /* LATEST sees only what comes after it */
    ck_assert_int_eq(ddbstreams_iterator(d, arn, shard0, DDBSTREAMS_LATEST, NULL, &it, &err), 0);
    json_t *late = item(9);
    ck_assert_int_eq(ddb_put_item(d, name, late, NULL, &err), 0);
    free(read_records(d, it, 1, more));
    ck_assert_uint_eq(json_array_size(more), 1);
    ck_assert(json_equal(
        json_object_get(json_object_get(json_array_get(more, 0), "dynamodb"), "NewImage"), late));

    /* a sequence position without a sequence number is refused before any call */
    ck_assert_int_eq(
        ddbstreams_iterator(d, arn, shard0, DDBSTREAMS_AFTER_SEQUENCE_NUMBER, NULL, &it, &err), -1);
    ck_assert_int_eq(err.info.code, ERR_INVALID);

    json_decref(late);
    json_decref(more);
    json_decref(changed);
    json_decref(recs);
    json_decref(shards);
    ddb_delete_table(d, name, &err);
    free(arn);
    ddb_free(d);
}
END_TEST

static Suite *streams_suite(void)
{
    Suite *s = suite_create("streams");
    TCase *tc = tcase_create("streams");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, stream_is_found_and_described);
    tcase_add_test(tc, records_written_are_read_back_in_order);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    live_ddb_endpoint();
    return tap_run(streams_suite());
}
