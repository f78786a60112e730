/* check_cli.c — the CLI's pure parts: the display helpers its tables are printed with
 * (columns, one safe line, local time), the statuses commands return, and `cruddur ddb`'s
 * table creation against a scripted DynamoDB (tests/support/ddbscript.h). */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/buf.h"
#include "cli/cli.h"
#include "cli/ddb_internal.h"
#include "cli/display.h"
#include "ddbscript.h"
#include "messaging/messaging.h"
#include "tap.h"

/* ---- display helpers ----------------------------------------------------------------------- */

static void assert_fit(const char *s, size_t cols, const char *want)
{
    buf b;
    buf_init(&b, 0);
    ck_assert_int_eq(cli_display_fit(&b, s, cols), 0);
    ck_assert_msg(strcmp(buf_cstr(&b), want) == 0, "fit('%s', %zu) = '%s', want '%s'", s, cols,
                  buf_cstr(&b), want);
    ck_assert_uint_le(cli_display_cols(buf_cstr(&b)), cols);
    buf_cleanup(&b);
}

START_TEST(fit_cuts_at_code_points)
{
    assert_fit("hello", 10, "hello");
    assert_fit("hello", 5, "hello");
    assert_fit("hello world", 5, "hell\xe2\x80\xa6");
    assert_fit("hello", 1, "\xe2\x80\xa6");
    assert_fit("hello", 0, "");
    /* "żółć gęś": two-byte letters never split */
    assert_fit("\xc5\xbc\xc3\xb3\xc5\x82\xc4\x87 g\xc4\x99\xc5\x9b", 3,
               "\xc5\xbc\xc3\xb3\xe2\x80\xa6");
    /* a four-byte emoji counts one column */
    assert_fit("ok \xf0\x9f\x91\x8d!", 4, "ok \xe2\x80\xa6");
    assert_fit("ok \xf0\x9f\x91\x8d!", 5, "ok \xf0\x9f\x91\x8d!");
    ck_assert_uint_eq(cli_display_cols("\xc5\xbc\xc3\xb3\xc5\x82\xc4\x87"), 4);
    ck_assert_uint_eq(cli_display_cols(NULL), 0);
}
END_TEST

START_TEST(fit_makes_one_safe_line)
{
    assert_fit("a\nb\tc\x1b[31m", 20, "a b c [31m");
    /* invalid bytes, a truncated sequence, an overlong: U+FFFD each */
    assert_fit("x\xff"
               "y",
               10, "x\xef\xbf\xbdy");
    assert_fit("x\xc3", 10, "x\xef\xbf\xbd");
    assert_fit("\xc0\xaf", 10, "\xef\xbf\xbd\xef\xbf\xbd");
    /* C1 controls (U+0085) become spaces too */
    assert_fit("a\xc2\x85"
               "b",
               10, "a b");
}
END_TEST

START_TEST(local_time_formats_like_the_scripts)
{
    setenv("TZ", "UTC0", 1);
    tzset();
    char out[64];
    ck_assert_int_eq(cli_display_local_time(out, sizeof out, "2026-11-21T09:30:00.123456+00:00"),
                     0);
    ck_assert_str_eq(out, "2026-11-21 09:30 AM");
    ck_assert_int_eq(cli_display_local_time(out, sizeof out, "2026-11-21T09:30:00.5-05:00"), 0);
    ck_assert_str_eq(out, "2026-11-21 02:30 PM");
    ck_assert_int_eq(cli_display_local_time(out, sizeof out, "2026-11-21T23:59:59Z"), 0);
    ck_assert_str_eq(out, "2026-11-21 11:59 PM");
    setenv("TZ", "EST5", 1);
    tzset();
    ck_assert_int_eq(cli_display_local_time(out, sizeof out, "2026-11-21T02:00:00.000000+00:00"),
                     0);
    ck_assert_str_eq(out, "2026-11-20 09:00 PM");
    setenv("TZ", "UTC0", 1);
    tzset();
    ck_assert_int_eq(cli_display_local_time(out, sizeof out, "yesterday"), -1);
    ck_assert_str_eq(out, "yesterday");
    ck_assert_int_eq(cli_display_local_time(out, sizeof out, "2026-11-21T09:30:00+0000"), -1);
}
END_TEST

START_TEST(cell_pads_and_cuts_to_the_width)
{
    buf b;
    buf_init(&b, 0);
    ck_assert_int_eq(cli_display_cell(&b, "ab", 4), 0);
    ck_assert_str_eq(buf_cstr(&b), "ab  ");
    /* the width counts columns, not bytes, and after what the line already holds */
    ck_assert_int_eq(cli_display_cell(&b, "\xc5\xbc\xc3\xb3\xc5\x82\xc4\x87", 3), 0);
    ck_assert_str_eq(buf_cstr(&b), "ab  \xc5\xbc\xc3\xb3\xe2\x80\xa6");
    ck_assert_int_eq(cli_display_cell(&b, NULL, 2), 0);
    ck_assert_str_eq(buf_cstr(&b), "ab  \xc5\xbc\xc3\xb3\xe2\x80\xa6  ");
    ck_assert_uint_eq(cli_display_cols(buf_cstr(&b)), 9);
    buf_cleanup(&b);
}
END_TEST

START_TEST(fit_reports_a_full_buffer)
{
    buf b;
    buf_init(&b, 4);
    ck_assert_int_eq(cli_display_fit(&b, "abc", 10), 0);
    ck_assert_int_eq(cli_display_fit(&b, "defgh", 10), -1);
    ck_assert(b.failed);
    buf_reset(&b);
    ck_assert_int_eq(cli_display_cell(&b, "a", 8), -1);
    buf_cleanup(&b);
    char out[8] = "x";
    ck_assert_int_eq(cli_display_local_time(out, 0, "2026-11-21T09:30:00Z"), -1);
    ck_assert_str_eq(out, "x");
    ck_assert_int_eq(cli_display_local_time(NULL, 8, "2026-11-21T09:30:00Z"), -1);
}
END_TEST

/* ---- the original scripts' positional prod ------------------------------------------------- */

START_TEST(positional_prod_is_read_as_the_option)
{
    const struct {
        const char *args[5];
        int operands;
        const char *last;
    } cases[] = {
        { { "schema-load", "prod" }, 0, "--prod" }, /* bin/ddb/schema-load prod */
        { { "drop", "cruddur-messages", "prod" }, 1, "--prod" },
        { { "drop", "prod" }, 1, "prod" }, /* a table named prod */
        { { "drop", "--yes", "prod" }, 1, "prod" },
        { { "get-conversation", "5f9c2a3e-1b2c-4d5e-8f90-a1b2c3d4e5f6", "prod" }, 1, "--prod" },
        { { "setup", "production" }, 0, "production" }, /* only the word itself */
        { { "setup", "--prod" }, 0, "--prod" },
        { { "setup" }, 0, "setup" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *argv[5] = { 0 };
        int argc = 0;
        while (argc < 5 && cases[i].args[argc]) {
            argv[argc] = (char *)cases[i].args[argc];
            argc++;
        }
        cli_positional_prod(argc, argv, cases[i].operands);
        ck_assert_msg(strcmp(argv[argc - 1], cases[i].last) == 0, "case %zu: %s", i,
                      argv[argc - 1]);
    }
}
END_TEST

/* ---- statuses ----------------------------------------------------------------------------- */

START_TEST(help_shown_exits_ok)
{
    /* the exit statuses the live tests check, unchanged */
    ck_assert_int_eq(CLI_OK, 0);
    ck_assert_int_eq(CLI_FAIL, 1);
    ck_assert_int_eq(CLI_USAGE, 2);
    /* "help shown" is none of them, and exits 0 */
    ck_assert(CLI_HELP != CLI_OK && CLI_HELP != CLI_FAIL && CLI_HELP != CLI_USAGE);
    ck_assert_int_eq(cli_exit_status(CLI_HELP), CLI_OK);
    ck_assert_int_eq(cli_exit_status(CLI_OK), CLI_OK);
    ck_assert_int_eq(cli_exit_status(CLI_FAIL), CLI_FAIL);
    ck_assert_int_eq(cli_exit_status(CLI_USAGE), CLI_USAGE);
}
END_TEST

/* ---- creating the table (scripted DynamoDB) ------------------------------------------------ */

static const char active_table[] =
    "{\"Table\": {\"TableName\": \"t1\", \"TableStatus\": \"ACTIVE\","
    " \"GlobalSecondaryIndexes\": [{\"IndexName\": \"message-group-sk-index\","
    " \"IndexStatus\": \"ACTIVE\"}]}}";

static void assert_created(bool stream)
{
    ddbscript *s = ddbscript_new(0);
    ddbscript_ok(s, "CreateTable", "{\"TableDescription\": {\"TableStatus\": \"CREATING\"}}");
    ddbscript_ok(s, "DescribeTable", active_table);
    ddbscript_ok(s, "UpdateTimeToLive", NULL);
    ddbcli c = { .cmd = "test", .table = "t1", .d = ddbscript_ddb(s) };
    ck_assert_int_eq(cli_ddb_tables_create(&c, stream), CLI_DDB_CREATED);
    ck_assert_uint_eq(ddbscript_calls(s), 3);
    ck_assert_uint_eq(ddbscript_pending(s), 0);
    ck_assert_uint_eq(ddbscript_unexpected(s), 0);
    const json_t *create = ddbscript_body(s, 0);
    ck_assert_str_eq(json_string_value(json_object_get(create, "TableName")), "t1");
    ck_assert(json_object_get(create, "KeySchema") != NULL);
    ck_assert_int_eq(json_object_get(create, "StreamSpecification") != NULL, stream);
    const json_t *ttl = json_object_get(ddbscript_body(s, 2), "TimeToLiveSpecification");
    ck_assert(json_is_true(json_object_get(ttl, "Enabled")));
    ck_assert_str_eq(json_string_value(json_object_get(ttl, "AttributeName")),
                     MESSAGING_TTL_ATTRIBUTE);
    ddbscript_free(s);
}

START_TEST(create_table_creates_waits_and_enables_ttl)
{
    assert_created(true);
    assert_created(false); /* schema-load --no-stream */
}
END_TEST

START_TEST(create_table_tells_exists_from_failed)
{
    ddbscript *s = ddbscript_new(0);
    ddbcli c = { .cmd = "test", .table = "t1", .d = ddbscript_ddb(s) };
    /* there already: no wait, no time to live, nothing printed */
    ddbscript_error(s, "CreateTable", "ResourceInUseException");
    ck_assert_int_eq(cli_ddb_tables_create(&c, true), CLI_DDB_EXISTS);
    ck_assert_uint_eq(ddbscript_calls(s), 1);
    /* refused */
    ddbscript_error(s, "CreateTable", "ValidationException");
    ck_assert_int_eq(cli_ddb_tables_create(&c, true), CLI_DDB_CREATE_FAILED);
    ck_assert_uint_eq(ddbscript_calls(s), 2);
    /* created, but the time to live cannot be set */
    ddbscript_ok(s, "CreateTable", NULL);
    ddbscript_ok(s, "DescribeTable", active_table);
    ddbscript_error(s, "UpdateTimeToLive", "ValidationException");
    ck_assert_int_eq(cli_ddb_tables_create(&c, true), CLI_DDB_CREATE_FAILED);
    ck_assert_uint_eq(ddbscript_calls(s), 5);
    ck_assert_uint_eq(ddbscript_pending(s), 0);
    ck_assert_uint_eq(ddbscript_unexpected(s), 0);
    ddbscript_free(s);
}
END_TEST

static Suite *cli_suite(void)
{
    Suite *s = suite_create("cli");
    TCase *t = tcase_create("display");
    tcase_add_test(t, fit_cuts_at_code_points);
    tcase_add_test(t, fit_makes_one_safe_line);
    tcase_add_test(t, local_time_formats_like_the_scripts);
    tcase_add_test(t, cell_pads_and_cuts_to_the_width);
    tcase_add_test(t, fit_reports_a_full_buffer);
    suite_add_tcase(s, t);
    t = tcase_create("prod");
    tcase_add_test(t, positional_prod_is_read_as_the_option);
    suite_add_tcase(s, t);
    t = tcase_create("status");
    tcase_add_test(t, help_shown_exits_ok);
    suite_add_tcase(s, t);
    t = tcase_create("ddb");
    tcase_add_test(t, create_table_creates_waits_and_enables_ttl);
    tcase_add_test(t, create_table_tells_exists_from_failed);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return tap_run(cli_suite());
}
