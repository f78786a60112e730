/* live_ddb_view.c — Query and Scan pages as flat documents (ddb_query_view, ddb_scan_view)
 * against the real DynamoDB Local: the same items, keys and counts as ddb_query / ddb_scan,
 * page by page, over an index, with a filter, and with service errors surfaced. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/ddb.h"
#include "aws/ddb_av.h"
#include "live.h"
#include "tap.h"

#define LV_ITEMS 45

/* A pk/sk table with a GSI on message_group_uuid, filled with LV_ITEMS messages of one
 * group (texts with escapes and non-ASCII) and a few rows of another partition. */
static void lv_fill(ddb *d, const char *name, const char *pk)
{
    json_t *def = json_pack(
        "{s:s, s:[{s:s,s:s},{s:s,s:s},{s:s,s:s}], s:[{s:s,s:s},{s:s,s:s}],"
        " s:[{s:s, s:[{s:s,s:s},{s:s,s:s}], s:{s:s}}], s:s}",
        "TableName", name, "AttributeDefinitions", "AttributeName", "pk", "AttributeType", "S",
        "AttributeName", "sk", "AttributeType", "S", "AttributeName", "message_group_uuid",
        "AttributeType", "S", "KeySchema", "AttributeName", "pk", "KeyType", "HASH",
        "AttributeName", "sk", "KeyType", "RANGE", "GlobalSecondaryIndexes", "IndexName",
        "message-group-sk-index", "KeySchema", "AttributeName", "message_group_uuid", "KeyType",
        "HASH", "AttributeName", "sk", "KeyType", "RANGE", "Projection", "ProjectionType", "ALL",
        "BillingMode", "PAY_PER_REQUEST");
    ddb_error err;
    ck_assert_msg(ddb_create_table(d, def, NULL, &err) == 0, "%s", err.info.msg);
    json_decref(def);
    ck_assert_msg(ddb_wait_active(d, name, 10000, &err) == 0, "%s", err.info.msg);
    json_t *reqs = json_array();
    for (int i = 0; i < LV_ITEMS + 5; i++) {
        char sk[48], text[96], n[16];
        snprintf(sk, sizeof sk, "2026-11-21T09:30:%02d.%06d+00:00", i % 60, i);
        snprintf(text, sizeof text, "message %d: \"quoted\", caf\xc3\xa9 \xe2\x82\xac, tab\there",
                 i);
        snprintf(n, sizeof n, "%d", i);
        json_array_append_new(reqs,
                              json_pack("{s:{s:{s:o,s:o,s:o,s:o,s:o}}}", "PutRequest", "Item", "pk",
                                        ddb_av_s(i < LV_ITEMS ? pk : "OTHER"), "sk", ddb_av_s(sk),
                                        "message", ddb_av_s(text), "message_group_uuid",
                                        ddb_av_s(i < LV_ITEMS ? "g-1" : "g-2"), "n",
                                        json_pack("{s:s}", "N", n)));
    }
    ck_assert_msg(ddb_batch_write(d, name, reqs, NULL, &err) == 0, "%s", err.info.msg);
    json_decref(reqs);
}

/* The view page equals the Jansson page: items, key, counts. */
static void lv_same(const ddb_page_view *v, const ddb_page *p)
{
    json_t *items = jdoc_to_json(v->items);
    if (!items)
        items = json_array();
    ck_assert_msg(json_equal(items, p->items), "items differ");
    json_decref(items);
    ck_assert_uint_eq(jdoc_size(v->items), json_array_size(p->items));
    json_t *key = jdoc_to_json(v->last_key);
    ck_assert((key == NULL) == (p->last_key == NULL));
    if (key)
        ck_assert(json_equal(key, p->last_key));
    json_decref(key);
    ck_assert_int_eq(v->count, p->count);
    ck_assert_int_eq(v->scanned_count, p->scanned_count);
}

/* Pages through q with both calls side by side; returns the item count. */
static size_t lv_pages(ddb *d, ddb_query_options q, bool scan)
{
    ddb_page p;
    ddb_page_view v;
    ddb_page_init(&p);
    ddb_page_view_init(&v);
    ddb_error err;
    json_t *start = NULL;
    size_t total = 0;
    for (int guard = 0; guard < 100; guard++) {
        q.start_key = start;
        int rc1 = scan ? ddb_scan_view(d, &q, &v, &err) : ddb_query_view(d, &q, &v, &err);
        ck_assert_msg(rc1 == 0, "%s", err.info.msg);
        int rc2 = scan ? ddb_scan(d, &q, &p, &err) : ddb_query(d, &q, &p, &err);
        ck_assert_msg(rc2 == 0, "%s", err.info.msg);
        lv_same(&v, &p);
        total += jdoc_size(v.items);
        json_decref(start);
        start = jdoc_to_json(v.last_key);
        if (!start)
            break;
    }
    ddb_page_cleanup(&p);
    ddb_page_view_cleanup(&v);
    return total;
}

START_TEST(view_pages_match_jansson_pages)
{
    ddb *d = live_ddb();
    char name[64], pk[80];
    live_name("view", name);
    snprintf(pk, sizeof pk, "MSG#%s", name);
    lv_fill(d, name, pk);
    json_t *vals = json_pack("{s:{s:s}}", ":pk", "S", pk);
    ddb_query_options q = {
        .table = name, .key_condition = "pk = :pk", .values = vals, .limit = 20, .descending = true
    };
    ck_assert_uint_eq(lv_pages(d, q, false), LV_ITEMS);

    /* the newest first, its attributes readable in place */
    ddb_page_view v;
    ddb_page_view_init(&v);
    ddb_error err;
    ck_assert_msg(ddb_query_view(d, &q, &v, &err) == 0, "%s", err.info.msg);
    jdoc_val first = jdoc_first(v.items);
    ck_assert_str_eq(jdoc_get_str(jdoc_get(first, "message"), "S"),
                     "message 44: \"quoted\", caf\xc3\xa9 \xe2\x82\xac, tab\there");
    ck_assert_str_eq(jdoc_get_str(jdoc_get(first, "n"), "N"), "44");
    ck_assert_int_eq(v.count, 20);
    ck_assert(jdoc_is(v.last_key, JDOC_OBJECT));

    /* an index with a filter and names */
    json_t *names = json_pack("{s:s}", "#g", "message_group_uuid");
    json_t *gv = json_pack("{s:{s:s}, s:{s:s}}", ":g", "S", "g-1", ":lo", "N", "40");
    ddb_query_options gi = { .table = name,
                             .index = "message-group-sk-index",
                             .key_condition = "#g = :g",
                             .filter = "n >= :lo",
                             .names = names,
                             .values = gv,
                             .limit = 7 };
    ck_assert_uint_eq(lv_pages(d, gi, false), 5);

    /* a scan of the whole table, in pages of 13 */
    ddb_query_options sc = { .table = name, .limit = 13 };
    ck_assert_uint_eq(lv_pages(d, sc, true), LV_ITEMS + 5);

    /* service errors come through as with ddb_query, and leave the page empty */
    ddb_query_options missing = { .table = "no-such-table-for-view",
                                  .key_condition = "pk = :pk",
                                  .values = vals };
    ck_assert_int_eq(ddb_query_view(d, &missing, &v, &err), -1);
    ck_assert_str_eq(err.type, "ResourceNotFoundException");
    ck_assert_int_eq(err.info.code, ERR_NOTFOUND);
    ck_assert_ptr_null(v.doc);
    ck_assert_uint_eq(jdoc_size(v.items), 0);
    ddb_page_view_cleanup(&v);
    ddb_page_view_cleanup(NULL);

    json_decref(names);
    json_decref(gv);
    json_decref(vals);
    ck_assert_msg(ddb_delete_table(d, name, &err) == 0, "%s", err.info.msg);
    ddb_free(d);
}
END_TEST

static Suite *view_suite(void)
{
    Suite *s = suite_create("ddb_view");
    TCase *tc = tcase_create("pages");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, view_pages_match_jansson_pages);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tap_run(view_suite());
}
