/* live_streams_standin.c — the Streams client against tests/tools/streams_server.py, the
 * stand-in that does what DynamoDB Local cannot: DescribeStream paging, a parent shard closing
 * into two children, expired iterators, trimmed data, throttling, 500s and duplicate delivery.
 * Each test loads its own scenario through the stand-in's control API. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/ddb.h"
#include "aws/ddbstreams.h"
#include "aws/http.h"
#include "base/clock.h"
#include "live.h"
#include "support_server.h"
#include "tap.h"

#define ARN "arn:aws:dynamodb:us-east-1:000000000000:table/standin-t/stream/2026-01-01T00:00:00.000"

static support_server g_standin;

static json_t *ctl(const char *name, json_t *body)
{
    return support_server_ctl(g_standin.port, name, body);
}

static void ctl_ok(const char *name, json_t *body)
{
    json_decref(ctl(name, body));
}

/* A record as the tests append it: the stand-in fills in the rest. */
static json_t *rec(const char *group, int i)
{
    char pk[64], sk[48], text[32];
    snprintf(pk, sizeof pk, "MSG#%s", group);
    snprintf(sk, sizeof sk, "2026-11-21T09:30:%02d.000000+00:00", i % 60);
    snprintf(text, sizeof text, "message %d", i);
    return json_pack("{s:{s:{s:{s:s}, s:{s:s}, s:{s:s}}}}", "dynamodb", "NewImage", "pk", "S", pk,
                     "sk", "S", sk, "message", "S", text);
}

static json_t *recs(const char *group, int from, int n)
{
    json_t *a = json_array();
    for (int i = from; i < from + n; i++)
        json_array_append_new(a, rec(group, i));
    return a;
}

/* Loads a scenario: TableName standin-t and the shards given (stolen). */
static void scenario(json_t *shards, json_t *config)
{
    json_t *sc = json_pack("{s:s, s:o}", "TableName", "standin-t", "shards", shards);
    if (config)
        json_object_set_new(sc, "config", config);
    ctl_ok("scenario", sc);
}

static ddb *client(int max_attempts)
{
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", g_standin.port);
    ddb_options o = {
        .region = "us-east-1",
        .endpoint = url,
        .streams_endpoint = url,
        .timeout_ms = 5000,
        .retry = { .max_attempts = max_attempts, .base_ms = 1, .cap_ms = 5 },
    };
    errinfo e;
    ddb *d = ddb_new(&o, &e);
    ck_assert_msg(d != NULL, "ddb_new: %s", e.msg);
    return d;
}

static const char *seq_of(const json_t *r)
{
    return json_string_value(json_object_get(json_object_get(r, "dynamodb"), "SequenceNumber"));
}

static const char *text_of(const json_t *r)
{
    json_t *img = json_object_get(json_object_get(r, "dynamodb"), "NewImage");
    return json_string_value(json_object_get(json_object_get(img, "message"), "S"));
}

static char *iter(ddb *d, const char *shard, ddbstreams_position pos, const char *seq)
{
    char *it = NULL;
    ddb_error err;
    ck_assert_msg(ddbstreams_iterator(d, ARN, shard, pos, seq, &it, &err) == 0, "%s", err.info.msg);
    return it;
}

/* One GetRecords that must succeed: *batch gets the records; returns the next iterator. The
 * iterator passed in is freed. */
static char *read_ok(ddb *d, char *it, int limit, json_t **batch)
{
    ddb_error err;
    char *next = NULL;
    ck_assert_msg(ddbstreams_records(d, it, limit, batch, &next, &err) == 0, "%s", err.info.msg);
    free(it);
    return next;
}

/* A GetRecords that must fail with this type; returns err.attempts. */
static int read_fails(ddb *d, const char *it, const char *type, long status)
{
    ddb_error err;
    json_t *batch = NULL;
    char *next = NULL;
    ck_assert_int_eq(ddbstreams_records(d, it, 0, &batch, &next, &err), -1);
    ck_assert_msg(ddb_error_is(&err, type), "wanted %s, got %s (%s)", type, err.type, err.info.msg);
    ck_assert_int_eq(err.http_status, status);
    ck_assert_ptr_null(batch);
    ck_assert_ptr_null(next);
    return err.attempts;
}

/* The texts of a batch joined with ',' into out. */
static const char *texts(const json_t *batch, char *out, size_t outlen)
{
    size_t i, used = 0;
    json_t *r;
    out[0] = '\0';
    json_array_foreach(batch, i, r)
    {
        int n = snprintf(out + used, outlen - used, "%s%s", i ? "," : "", text_of(r));
        ck_assert(n > 0 && (size_t)n < outlen - used);
        used += (size_t)n;
    }
    return out;
}

static void batch_is(json_t *batch, const char *want)
{
    char got[512];
    ck_assert_str_eq(texts(batch, got, sizeof got), want);
    json_decref(batch);
}

static long stat_int(const json_t *stats, const char *a, const char *b, const char *c)
{
    json_t *v = json_object_get(json_object_get(stats, a), b);
    if (c)
        v = json_object_get(v, c);
    ck_assert_msg(json_is_integer(v), "stats %s.%s%s%s is not a number", a, b, c ? "." : "",
                  c ? c : "");
    return (long)json_integer_value(v);
}

START_TEST(describe_pages_through_every_shard)
{
    json_t *shards = json_array();
    for (int i = 1; i <= 5; i++) {
        char id[32], parent[32];
        snprintf(id, sizeof id, "shardId-%d", i);
        snprintf(parent, sizeof parent, "shardId-%d", i - 1);
        json_t *s = json_pack("{s:s, s:b}", "ShardId", id, "closed", i < 5);
        if (i > 1)
            json_object_set_new(s, "ParentShardId", json_string(parent));
        json_array_append_new(shards, s);
    }
    scenario(shards, json_pack("{s:i}", "page_size", 2));
    ddb *d = client(1);
    ddb_error err;
    json_t *desc = NULL, *all = NULL;
    ck_assert_msg(ddbstreams_describe(d, ARN, &desc, &all, &err) == 0, "%s", err.info.msg);
    ck_assert_uint_eq(json_array_size(all), 5);
    for (size_t i = 0; i < 5; i++) {
        char id[32];
        snprintf(id, sizeof id, "shardId-%zu", i + 1);
        json_t *s = json_array_get(all, i);
        ck_assert_str_eq(json_string_value(json_object_get(s, "ShardId")), id);
        json_t *rng = json_object_get(s, "SequenceNumberRange");
        ck_assert_ptr_nonnull(json_string_value(json_object_get(rng, "StartingSequenceNumber")));
        ck_assert_int_eq(json_object_get(rng, "EndingSequenceNumber") != NULL, i < 4);
        ck_assert_int_eq(json_object_get(s, "ParentShardId") != NULL, i > 0);
    }
    ck_assert_str_eq(json_string_value(json_object_get(desc, "StreamArn")), ARN);
    ck_assert_str_eq(json_string_value(json_object_get(desc, "TableName")), "standin-t");
    ck_assert_ptr_null(json_object_get(desc, "Shards"));
    ck_assert_ptr_null(json_object_get(desc, "LastEvaluatedShardId"));
    json_decref(desc);
    json_decref(all);
    json_t *st = ctl("stats", NULL);
    ck_assert_int_eq(stat_int(st, "calls", "DescribeStream", NULL), 3); /* 2 + 2 + 1 */
    json_decref(st);

    /* children listed before their parents, three a page */
    ctl_ok("config", json_pack("{s:i, s:s}", "page_size", 3, "shard_order", "reverse"));
    ck_assert_int_eq(ddbstreams_describe(d, ARN, NULL, &all, &err), 0);
    ck_assert_uint_eq(json_array_size(all), 5);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(all, 0), "ShardId")),
                     "shardId-5");
    json_decref(all);

    json_t *streams = NULL;
    ck_assert_int_eq(ddbstreams_list(d, "standin-t", &streams, &err), 0);
    ck_assert_uint_eq(json_array_size(streams), 1);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(streams, 0), "StreamArn")),
                     ARN);
    json_decref(streams);
    ck_assert_int_eq(ddbstreams_list(d, "other-table", &streams, &err), 0);
    ck_assert_uint_eq(json_array_size(streams), 0);
    json_decref(streams);

    ck_assert_int_eq(ddbstreams_describe(d, ARN "x", NULL, &all, &err), -1);
    ck_assert_str_eq(err.type, "ResourceNotFoundException");
    ddb_free(d);
}
END_TEST

START_TEST(iterators_start_where_they_say)
{
    json_t *full = json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:{s:i, s:{s:{s:s}, s:{s:s}},"
        " s:{s:{s:s}, s:{s:s}, s:{s:s}}, s:s, s:i, s:s}}",
        "eventID", "0f1e2d3c4b5a69788796a5b4c3d2e1f0", "eventName", "MODIFY", "eventVersion", "1.1",
        "eventSource", "aws:dynamodb", "awsRegion", "us-east-1", "dynamodb",
        "ApproximateCreationDateTime", 1795000000, "Keys", "pk", "S", "MSG#g0", "sk", "S", "k",
        "NewImage", "pk", "S", "MSG#g0", "sk", "S", "k", "message", "S", "message 0",
        "SequenceNumber", "300000000000000000000", "SizeBytes", 77, "StreamViewType", "NEW_IMAGE");
    json_t *r = recs("g1", 1, 4);
    json_array_insert(r, 0, full);
    scenario(json_pack("[{s:s, s:o}]", "ShardId", "s1", "records", r), NULL);
    ddb *d = client(1);

    /* TRIM_HORIZON, two at a time; an open shard at its end gives [] and an iterator */
    json_t *b;
    char *it = read_ok(d, iter(d, "s1", DDBSTREAMS_TRIM_HORIZON, NULL), 2, &b);
    ck_assert(json_equal(json_array_get(b, 0), full)); /* a full record comes back as given */
    batch_is(b, "message 0,message 1");
    it = read_ok(d, it, 2, &b);
    batch_is(b, "message 2,message 3");
    it = read_ok(d, it, 2, &b);
    batch_is(b, "message 4");
    it = read_ok(d, it, 2, &b);
    batch_is(b, "");
    ck_assert_ptr_nonnull(it);

    /* what the stand-in fills in, and sequence numbers that grow */
    json_t *st = ctl("state", NULL);
    json_t *kept = json_object_get(json_array_get(json_object_get(st, "shards"), 0), "records");
    json_t *r2 = json_array_get(kept, 2);
    ck_assert_str_eq(json_string_value(json_object_get(r2, "eventSource")), "aws:dynamodb");
    ck_assert_str_eq(json_string_value(json_object_get(r2, "eventName")), "INSERT");
    json_t *dd = json_object_get(r2, "dynamodb");
    ck_assert_str_eq(json_string_value(json_object_get(dd, "StreamViewType")), "NEW_IMAGE");
    ck_assert_str_eq(
        json_string_value(json_object_get(json_object_get(json_object_get(dd, "Keys"), "pk"), "S")),
        "MSG#g1");
    char seq1[64], seq2[64];
    snprintf(seq1, sizeof seq1, "%s", seq_of(json_array_get(kept, 1)));
    snprintf(seq2, sizeof seq2, "%s", seq_of(r2));
    ck_assert_uint_eq(strlen(seq1), 21);
    ck_assert_int_lt(strcmp(seq1, seq2), 0);
    ck_assert_int_lt(strcmp("300000000000000000000", seq1), 0);
    json_decref(st);

    /* AT and AFTER; a server-wide cap of 3 makes a full batch out of a default Limit */
    ctl_ok("config", json_pack("{s:i}", "records_cap", 3));
    char *at = read_ok(d, iter(d, "s1", DDBSTREAMS_AT_SEQUENCE_NUMBER, seq2), 0, &b);
    batch_is(b, "message 2,message 3,message 4");
    free(at);
    char *after = read_ok(d, iter(d, "s1", DDBSTREAMS_AFTER_SEQUENCE_NUMBER, seq2), 0, &b);
    batch_is(b, "message 3,message 4");
    free(after);

    /* LATEST sees only what is appended after it; so does the held end-of-shard iterator */
    char *late = iter(d, "s1", DDBSTREAMS_LATEST, NULL);
    ctl_ok("append", json_pack("{s:s, s:o}", "shard", "s1", "records", recs("g1", 5, 1)));
    late = read_ok(d, late, 0, &b);
    batch_is(b, "message 5");
    it = read_ok(d, it, 0, &b);
    batch_is(b, "message 5");

    ddb_error err;
    ck_assert_int_eq(read_fails(d, "not-an-iterator", "ValidationException", 400), 1);
    char *none = NULL;
    ck_assert_int_eq(ddbstreams_iterator(d, ARN, "s9", DDBSTREAMS_TRIM_HORIZON, NULL, &none, &err),
                     -1);
    ck_assert_str_eq(err.type, "ResourceNotFoundException");
    free(late);
    free(it);
    json_decref(full);
    ddb_free(d);
}
END_TEST

START_TEST(a_parent_closes_into_two_children)
{
    scenario(json_pack("[{s:s, s:o}]", "ShardId", "parent", "records", recs("g1", 0, 4)),
             json_pack("{s:i}", "records_cap", 3));
    ddb *d = client(1);
    json_t *b;
    char *it = read_ok(d, iter(d, "parent", DDBSTREAMS_TRIM_HORIZON, NULL), 0, &b);
    batch_is(b, "message 0,message 1,message 2"); /* a full batch */
    it = read_ok(d, it, 0, &b);
    batch_is(b, "message 3");
    it = read_ok(d, it, 0, &b); /* open: [] and more to come */
    batch_is(b, "");
    ck_assert_ptr_nonnull(it);

    json_t *split = ctl(
        "split", json_pack("{s:s, s:[s,s]}", "shard", "parent", "children", "child-a", "child-b"));
    char end[64];
    snprintf(end, sizeof end, "%s",
             json_string_value(json_object_get(split, "EndingSequenceNumber")));
    json_decref(split);
    it = read_ok(d, it, 0, &b); /* closed and read: no next iterator */
    batch_is(b, "");
    ck_assert_ptr_null(it);

    ddb_error err;
    json_t *shards = NULL;
    ck_assert_int_eq(ddbstreams_describe(d, ARN, NULL, &shards, &err), 0);
    ck_assert_uint_eq(json_array_size(shards), 3);
    json_t *p = json_array_get(shards, 0);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(p, "SequenceNumberRange"),
                                                       "EndingSequenceNumber")),
                     end);
    for (size_t i = 1; i < 3; i++) {
        json_t *c = json_array_get(shards, i);
        ck_assert_str_eq(json_string_value(json_object_get(c, "ParentShardId")), "parent");
        ck_assert_ptr_null(
            json_object_get(json_object_get(c, "SequenceNumberRange"), "EndingSequenceNumber"));
    }
    json_decref(shards);

    ctl_ok("append", json_pack("{s:s, s:o}", "shard", "child-a", "records", recs("g1", 4, 2)));
    ctl_ok("append", json_pack("{s:s, s:o}", "shard", "child-b", "records", recs("g2", 6, 2)));
    ctl_ok("close", json_pack("{s:s}", "shard", "child-a"));
    /* eager end: the batch that reaches a closed shard's end carries no next iterator */
    it = read_ok(d, iter(d, "child-a", DDBSTREAMS_TRIM_HORIZON, NULL), 0, &b);
    ck_assert_int_lt(strcmp(end, seq_of(json_array_get(b, 0))), 0);
    batch_is(b, "message 4,message 5");
    ck_assert_ptr_null(it);
    /* lazy end: one more call, which answers [] */
    ctl_ok("config", json_pack("{s:s}", "end_mode", "lazy"));
    ctl_ok("close", json_pack("{s:s}", "shard", "child-b"));
    it = read_ok(d, iter(d, "child-b", DDBSTREAMS_TRIM_HORIZON, NULL), 0, &b);
    batch_is(b, "message 6,message 7");
    ck_assert_ptr_nonnull(it);
    it = read_ok(d, it, 0, &b);
    batch_is(b, "");
    ck_assert_ptr_null(it);

    /* the stats show the parent read to its end before either child was read */
    json_t *st = ctl("stats", NULL);
    long parent_end = stat_int(st, "shards", "parent", "ended");
    ck_assert_int_lt(parent_end, stat_int(st, "shards", "child-a", "first_read"));
    ck_assert_int_lt(parent_end, stat_int(st, "shards", "child-b", "first_read"));
    ck_assert_int_eq(stat_int(st, "shards", "parent", "records_returned"), 4);
    ck_assert_int_eq(stat_int(st, "shards", "parent", "empty_batches"), 2);
    json_decref(st);
    ddb_free(d);
}
END_TEST

START_TEST(expired_iterators_stay_expired)
{
    scenario(json_pack("[{s:s, s:o}, {s:s, s:o}]", "ShardId", "s1", "records", recs("g1", 0, 3),
                       "ShardId", "s2", "records", recs("g2", 0, 1)),
             NULL);
    ddb *d = client(3);
    char *it = iter(d, "s1", DDBSTREAMS_TRIM_HORIZON, NULL);
    char *other = iter(d, "s2", DDBSTREAMS_TRIM_HORIZON, NULL);
    ctl_ok("fault", json_pack("{s:s, s:s}", "kind", "expired", "shard", "s1"));
    json_t *b;
    other = read_ok(d, other, 0, &b); /* the fault is for s1 only */
    batch_is(b, "message 0");
    ck_assert_int_eq(read_fails(d, it, "ExpiredIteratorException", 400), 1); /* no retry */
    ck_assert_int_eq(read_fails(d, it, "ExpiredIteratorException", 400), 1); /* still */
    free(it);
    it = read_ok(d, iter(d, "s1", DDBSTREAMS_TRIM_HORIZON, NULL), 0, &b); /* re-acquired */
    batch_is(b, "message 0,message 1,message 2");

    /* real expiry: an iterator older than iterator_ttl_ms */
    ctl_ok("config", json_pack("{s:i}", "iterator_ttl_ms", 100));
    clock_sleep_ms(250);
    read_fails(d, it, "ExpiredIteratorException", 400);
    free(it);
    free(other);
    json_t *st = ctl("stats", NULL);
    ck_assert_int_eq(stat_int(st, "errors", "ExpiredIteratorException", NULL), 3);
    json_decref(st);
    ddb_free(d);
}
END_TEST

START_TEST(trimmed_data_is_refused_and_the_horizon_moves)
{
    scenario(json_pack("[{s:s, s:o}]", "ShardId", "s1", "records", recs("g1", 0, 5)), NULL);
    ddb *d = client(3);
    json_t *st = ctl("state", NULL);
    json_t *kept = json_object_get(json_array_get(json_object_get(st, "shards"), 0), "records");
    char seq[5][64];
    for (size_t i = 0; i < 5; i++)
        snprintf(seq[i], sizeof seq[i], "%s", seq_of(json_array_get(kept, i)));
    json_decref(st);

    char *old = iter(d, "s1", DDBSTREAMS_TRIM_HORIZON, NULL);
    char *later = iter(d, "s1", DDBSTREAMS_AFTER_SEQUENCE_NUMBER, seq[2]);
    json_t *tr = ctl("trim", json_pack("{s:s, s:i}", "shard", "s1", "count", 2));
    ck_assert_str_eq(json_string_value(json_object_get(tr, "oldest")), seq[2]);
    json_decref(tr);

    ck_assert_int_eq(read_fails(d, old, "TrimmedDataAccessException", 400), 1);
    ddb_error err;
    char *it = NULL;
    ck_assert_int_eq(
        ddbstreams_iterator(d, ARN, "s1", DDBSTREAMS_AT_SEQUENCE_NUMBER, seq[0], &it, &err), -1);
    ck_assert_str_eq(err.type, "TrimmedDataAccessException");
    ck_assert_int_eq(
        ddbstreams_iterator(d, ARN, "s1", DDBSTREAMS_AFTER_SEQUENCE_NUMBER, seq[0], &it, &err), -1);
    ck_assert_str_eq(err.type, "TrimmedDataAccessException");
    json_t *b;
    /* after the last trimmed record nothing is lost: allowed */
    free(read_ok(d, iter(d, "s1", DDBSTREAMS_AFTER_SEQUENCE_NUMBER, seq[1]), 1, &b));
    batch_is(b, "message 2");
    free(read_ok(d, iter(d, "s1", DDBSTREAMS_TRIM_HORIZON, NULL), 0, &b));
    batch_is(b, "message 2,message 3,message 4");
    free(read_ok(d, later, 0, &b)); /* an iterator past the trim still reads */
    batch_is(b, "message 3,message 4");
    free(old);
    ddb_free(d);
}
END_TEST

START_TEST(throttling_is_retried_then_surfaces)
{
    scenario(json_pack("[{s:s, s:o}, {s:s}]", "ShardId", "s1", "records", recs("g1", 0, 2),
                       "ShardId", "s2"),
             NULL);
    ddb *d = client(3);
    char *it = iter(d, "s1", DDBSTREAMS_TRIM_HORIZON, NULL);
    ctl_ok("reset_stats", json_object());

    /* two throttles and a budget of three tries: the client gets through */
    ctl_ok("fault", json_pack("{s:s, s:i}", "kind", "throttle", "count", 2));
    json_t *b;
    char *next = NULL;
    ddb_error err;
    ck_assert_msg(ddbstreams_records(d, it, 0, &b, &next, &err) == 0, "%s", err.info.msg);
    ck_assert_int_eq(err.attempts, 3);
    batch_is(b, "message 0,message 1");
    free(next);
    json_t *st = ctl("stats", NULL);
    ck_assert_int_eq(stat_int(st, "calls", "GetRecords", NULL), 3);
    ck_assert_int_eq(stat_int(st, "errors", "LimitExceededException", NULL), 2);
    json_decref(st);

    /* three throttles use up the budget: the error surfaces, and nothing was consumed */
    ctl_ok("fault", json_pack("{s:s, s:i, s:s}", "kind", "throttle", "count", 3, "type",
                              "ThrottlingException"));
    ck_assert_int_eq(read_fails(d, it, "ThrottlingException", 400), 3);
    free(read_ok(d, it, 0, &b));
    batch_is(b, "message 0,message 1");

    /* per shard and per operation */
    ctl_ok("fault", json_pack("{s:s, s:i, s:s, s:s}", "kind", "throttle", "count", 3, "shard", "s2",
                              "op", "GetShardIterator"));
    free(iter(d, "s1", DDBSTREAMS_LATEST, NULL));
    char *none = NULL;
    ck_assert_int_eq(ddbstreams_iterator(d, ARN, "s2", DDBSTREAMS_LATEST, NULL, &none, &err), -1);
    ck_assert_str_eq(err.type, "LimitExceededException");
    ck_assert_int_eq(err.attempts, 3);
    free(iter(d, "s2", DDBSTREAMS_LATEST, NULL)); /* the fault is used up */
    ddb_free(d);
}
END_TEST

START_TEST(server_errors_are_retried_then_surface)
{
    scenario(json_pack("[{s:s, s:o}]", "ShardId", "s1", "records", recs("g1", 0, 1)), NULL);
    ddb *d = client(3);
    char *it = iter(d, "s1", DDBSTREAMS_TRIM_HORIZON, NULL);
    ctl_ok("fault", json_pack("{s:s, s:i}", "kind", "error500", "count", 3));
    ck_assert_int_eq(read_fails(d, it, "InternalServerError", 500), 3);
    ctl_ok("fault", json_pack("{s:s, s:s}", "kind", "error500", "op", "*"));
    ddb_error err;
    json_t *shards = NULL;
    ck_assert_int_eq(ddbstreams_describe(d, ARN, NULL, &shards, &err), 0); /* retried once */
    ck_assert_int_eq(err.attempts, 2);
    json_decref(shards);
    json_t *b;
    free(read_ok(d, it, 0, &b));
    batch_is(b, "message 0");
    ddb_free(d);
}
END_TEST

START_TEST(a_duplicate_batch_comes_twice)
{
    scenario(json_pack("[{s:s, s:o}, {s:s, s:o}]", "ShardId", "s1", "records", recs("g1", 0, 4),
                       "ShardId", "s2", "records", recs("g2", 0, 2)),
             json_pack("{s:i}", "records_cap", 2));
    ddb *d = client(1);
    ctl_ok("fault", json_pack("{s:s, s:s, s:i}", "kind", "duplicate", "shard", "s1", "after", 1));
    json_t *b;
    char *other = read_ok(d, iter(d, "s2", DDBSTREAMS_TRIM_HORIZON, NULL), 0, &b);
    batch_is(b, "message 0,message 1"); /* s2 is not touched */
    char *it = read_ok(d, iter(d, "s1", DDBSTREAMS_TRIM_HORIZON, NULL), 0, &b);
    batch_is(b, "message 0,message 1"); /* "after": 1 lets this one pass */
    it = read_ok(d, it, 0, &b);
    batch_is(b, "message 2,message 3");
    it = read_ok(d, it, 0, &b);
    batch_is(b, "message 2,message 3"); /* delivered again */
    it = read_ok(d, it, 0, &b);
    batch_is(b, "");
    json_t *st = ctl("stats", NULL);
    ck_assert_int_eq(stat_int(st, "shards", "s1", "records_returned"), 6);
    ck_assert_uint_eq(json_array_size(json_object_get(st, "faults")), 0);
    json_decref(st);
    free(it);
    free(other);
    ddb_free(d);
}
END_TEST

static Suite *standin_suite(void)
{
    Suite *s = suite_create("streams_standin");
    TCase *tc = tcase_create("shards");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, describe_pages_through_every_shard);
    tcase_add_test(tc, iterators_start_where_they_say);
    tcase_add_test(tc, a_parent_closes_into_two_children);
    suite_add_tcase(s, tc);
    tc = tcase_create("faults");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, expired_iterators_stay_expired);
    tcase_add_test(tc, trimmed_data_is_refused_and_the_horizon_moves);
    tcase_add_test(tc, throttling_is_retried_then_surfaces);
    tcase_add_test(tc, server_errors_are_retried_then_surface);
    tcase_add_test(tc, a_duplicate_batch_comes_twice);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    const char *const env[] = { "AWS_ACCESS_KEY_ID=AKIDSTANDINTEST",
                                "AWS_SECRET_ACCESS_KEY=standin-test-secret",
                                "AWS_EC2_METADATA_DISABLED=true", NULL };
    return support_server_main(&g_standin, "tests/tools/streams_server.py", env, standin_suite);
}
