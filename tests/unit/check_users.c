/* check_users.c — the users module's pure part: the handle rule (the Postgres side is
 * tests/live/live_users.c). */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <string.h>

#include "base/embed.h"
#include "users/users.h"
#include "tap.h"

START_TEST(handle_rule)
{
    static const struct {
        const char *h;
        bool ok;
    } cases[] = {
        { "andrewbrown", true },
        { "A_b_9", true },
        { "_", true },
        { "andrew.brown", true }, /* what Cognito pools hold as preferred_username */
        { "mary-jane", true },
        { "a~b", true },
        { "abcdefghijklmnopqrstuvwxyz01234", true }, /* 31: over the old limit of 30 */
        { "", false },
        { "@andrew", false },
        { "andrew brown", false },
        { "andr\xc3\xa9", false },
        { "a/b", false },
        { "a?b", false },
        { "a%2Fb", false },
        { "a+b", false },
        { "a\"b", false },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        ck_assert_msg(users_handle_valid(cases[i].h, strlen(cases[i].h)) == cases[i].ok, "%s",
                      cases[i].h);
    /* the length is what counts: an embedded NUL is not a handle character */
    ck_assert(!users_handle_valid("ab\0c", 4));
    ck_assert(users_handle_valid("abXYZ!", 2));
    ck_assert(!users_handle_valid(NULL, 3));
    char longest[USERS_HANDLE_MAX + 2];
    memset(longest, 'a', sizeof longest);
    ck_assert(users_handle_valid(longest, USERS_HANDLE_MAX));
    ck_assert(!users_handle_valid(longest, USERS_HANDLE_MAX + 1));
}
END_TEST

START_TEST(handle_rule_matches_the_schema)
{
    char rule[64];
    snprintf(rule, sizeof rule, "handle ~ '^[A-Za-z0-9._~-]{1,%d}$'", USERS_HANDLE_MAX);
    const char *schema = embed_get("sql/schema.sql", NULL);
    ck_assert_ptr_nonnull(schema);
    /* the table's CHECK and the migration of an older table's, both */
    const char *first = strstr(schema, rule);
    ck_assert_msg(first != NULL, "sql/schema.sql lacks %s", rule);
    ck_assert_msg(strstr(first + 1, rule) != NULL, "sql/schema.sql's migration lacks %s", rule);
    /* and `cruddur db check` looks for rows that break the same rule */
    snprintf(rule, sizeof rule, "handle !~ '^[A-Za-z0-9._~-]{1,%d}$'", USERS_HANDLE_MAX);
    const char *check = embed_get("sql/db/check.sql", NULL);
    ck_assert_ptr_nonnull(check);
    ck_assert_msg(strstr(check, rule) != NULL, "sql/db/check.sql lacks %s", rule);
}
END_TEST

static Suite *users_suite(void)
{
    Suite *s = suite_create("users");
    TCase *tc = tcase_create("handles");
    tcase_add_test(tc, handle_rule);
    tcase_add_test(tc, handle_rule_matches_the_schema);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tap_run(users_suite());
}
