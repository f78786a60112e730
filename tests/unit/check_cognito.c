/* check_cognito.c — the Cognito client without a server: users extracted from ListUsers
 * replies (valid, missing, oversized, wrongly typed fields), pool id validation, and the
 * endpoint and region chosen from the environment. */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "aws/cognito.h"
#include "tap.h"

/* ---- helpers ------------------------------------------------------------------------------ */

static json_t *reply_of(const char *text)
{
    json_error_t je;
    json_t *j = json_loads(text, JSON_DECODE_ANY, &je);
    ck_assert_msg(j != NULL, "test JSON: %s", je.text);
    return j;
}

/* Parses text as one reply into a fresh list l; returns the parser's status. */
static int parse_text(const char *text, cognito_user_list *l, char *token, errinfo *e)
{
    json_t *j = reply_of(text);
    cognito_user_list_init(l);
    int rc = cognito_parse_list_users(j, l, token, e);
    json_decref(j);
    return rc;
}

/* A reply with one user whose attribute `attr` is the JSON `value` (raw) besides a sub. */
static int parse_one_attr(const char *attr, const char *value, cognito_user_list *l)
{
    char text[8192];
    snprintf(
        text, sizeof text,
        "{\"Users\":[{\"Username\":\"u1\",\"Enabled\":true,\"UserStatus\":\"CONFIRMED\","
        "\"Attributes\":[{\"Name\":\"sub\",\"Value\":\"11111111-2222-3333-4444-555555555555\"},"
        "{\"Name\":\"%s\",\"Value\":%s}]}]}",
        attr, value);
    char token[COGNITO_TOKEN_MAX + 1];
    errinfo e;
    int rc = parse_text(text, l, token, &e);
    ck_assert_msg(rc == 0, "%s", e.msg);
    return (int)l->n;
}

static char *repeat(char ch, size_t n)
{
    char *s = malloc(n + 3);
    ck_assert_ptr_nonnull(s);
    s[0] = '"';
    memset(s + 1, ch, n);
    s[n + 1] = '"';
    s[n + 2] = '\0';
    return s;
}

/* ---- replies ------------------------------------------------------------------------------- */

static const char multi[] =
    "{\"Users\":["
    " {\"Username\":\"andrew\",\"Enabled\":true,\"UserStatus\":\"CONFIRMED\","
    "  \"UserCreateDate\":1700000000.5,\"MFAOptions\":[],"
    "  \"Attributes\":[{\"Name\":\"sub\",\"Value\":\"0b6f3a8e-5c1d-4f3e-9a77-1c2d3e4f5a61\"},"
    "   {\"Name\":\"email_verified\",\"Value\":\"true\"},"
    "   {\"Name\":\"preferred_username\",\"Value\":\"andrewbrown\"},"
    "   {\"Name\":\"email\",\"Value\":\"andrew@example.com\"},"
    "   {\"Name\":\"name\",\"Value\":\"Andrew Br\\u00f8wn\"}]},"
    " {\"Username\":\"4e9f6dbf\",\"Enabled\":false,\"UserStatus\":\"FORCE_CHANGE_PASSWORD\","
    "  \"Attributes\":[{\"Name\":\"sub\",\"Value\":\"4e9f6dbf-8a4c-4c3d-8eaa-4f5a6b7c8d94\"}]},"
    " {\"Username\":\"nosub\",\"Enabled\":true,\"Attributes\":"
    "  [{\"Name\":\"preferred_username\",\"Value\":\"ghost\"}]}"
    "],\"PaginationToken\":\"CAISlAIIARLtAQgDEugBAEv+token/==\"}";

START_TEST(parses_a_multi_user_page)
{
    cognito_user_list l;
    char token[COGNITO_TOKEN_MAX + 1];
    errinfo e;
    ck_assert_int_eq(parse_text(multi, &l, token, &e), 0);
    ck_assert_str_eq(token, "CAISlAIIARLtAQgDEugBAEv+token/==");
    ck_assert_uint_eq(l.n, 2);
    const cognito_user *u = &l.users[0];
    ck_assert_str_eq(u->username, "andrew");
    ck_assert_str_eq(u->sub, "0b6f3a8e-5c1d-4f3e-9a77-1c2d3e4f5a61");
    ck_assert_str_eq(u->preferred_username, "andrewbrown");
    ck_assert_str_eq(u->email, "andrew@example.com");
    ck_assert_str_eq(u->name, "Andrew Br\xc3\xb8wn");
    ck_assert_str_eq(u->status, "CONFIRMED");
    ck_assert(u->enabled);
    u = &l.users[1];
    ck_assert_str_eq(u->username, "4e9f6dbf");
    ck_assert_str_eq(u->preferred_username, "");
    ck_assert_str_eq(u->email, "");
    ck_assert_str_eq(u->status, "FORCE_CHANGE_PASSWORD");
    ck_assert(!u->enabled);
    /* the user without a sub is flagged, not returned */
    ck_assert_uint_eq(l.nskipped, 1);
    ck_assert_str_eq(l.skipped[0].username, "nosub");
    ck_assert_str_eq(l.skipped[0].reason, "no sub attribute");
    cognito_user_list_cleanup(&l);
    ck_assert_uint_eq(l.n, 0);
    cognito_user_list_cleanup(NULL);
}
END_TEST

START_TEST(pages_accumulate_and_the_last_has_no_token)
{
    cognito_user_list l;
    char token[COGNITO_TOKEN_MAX + 1];
    errinfo e;
    ck_assert_int_eq(parse_text(multi, &l, token, &e), 0);
    json_t *last = reply_of("{\"Users\":[{\"Username\":\"z\",\"Attributes\":[{\"Name\":\"sub\","
                            "\"Value\":\"abc-1\"}]}]}");
    ck_assert_int_eq(cognito_parse_list_users(last, &l, token, &e), 0);
    ck_assert_str_eq(token, "");
    ck_assert_uint_eq(l.n, 3);
    ck_assert_str_eq(l.users[2].username, "z");
    ck_assert(!l.users[2].enabled); /* Enabled absent */
    ck_assert_str_eq(l.users[2].status, "");
    json_decref(last);
    /* an empty page, a null token, no Users at all */
    last = reply_of("{\"Users\":[],\"PaginationToken\":null}");
    ck_assert_int_eq(cognito_parse_list_users(last, &l, token, &e), 0);
    json_decref(last);
    last = reply_of("{}");
    ck_assert_int_eq(cognito_parse_list_users(last, &l, token, &e), 0);
    ck_assert_str_eq(token, "");
    ck_assert_uint_eq(l.n, 3);
    json_decref(last);
    cognito_user_list_cleanup(&l);
}
END_TEST

START_TEST(bad_replies_are_errors)
{
    static const char *const bad[] = {
        "[]",
        "\"Users\"",
        "{\"Users\":{}}",
        "{\"Users\":\"none\"}",
        "{\"Users\":[],\"PaginationToken\":42}",
        "{\"Users\":[],\"PaginationToken\":[\"a\"]}",
        "{\"Users\":[],\"PaginationToken\":\"a\\nb\"}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cognito_user_list l;
        char token[COGNITO_TOKEN_MAX + 1];
        errinfo e;
        ck_assert_msg(parse_text(bad[i], &l, token, &e) == -1, "accepted %s", bad[i]);
        ck_assert_int_eq(e.code, ERR_INVALID);
        ck_assert_str_eq(token, "");
        cognito_user_list_cleanup(&l);
    }
    /* a token over the bound */
    char *tok = repeat('t', COGNITO_TOKEN_MAX + 1);
    char text[COGNITO_TOKEN_MAX + 64];
    snprintf(text, sizeof text, "{\"PaginationToken\":%s}", tok);
    free(tok);
    cognito_user_list l;
    char token[COGNITO_TOKEN_MAX + 1];
    errinfo e;
    ck_assert_int_eq(parse_text(text, &l, token, &e), -1);
    cognito_user_list_cleanup(&l);
    /* exactly at the bound is fine */
    tok = repeat('t', COGNITO_TOKEN_MAX);
    snprintf(text, sizeof text, "{\"PaginationToken\":%s}", tok);
    free(tok);
    ck_assert_int_eq(parse_text(text, &l, token, &e), 0);
    ck_assert_uint_eq(strlen(token), COGNITO_TOKEN_MAX);
    cognito_user_list_cleanup(&l);
}
END_TEST

/* Each user below is malformed in one way: it is skipped with a reason, the others stay. */
START_TEST(malformed_users_are_skipped_with_a_reason)
{
    static const struct {
        const char *user;
        const char *reason;
    } cases[] = {
        { "42", "the entry is not an object" },
        { "{\"Attributes\":[{\"Name\":\"sub\",\"Value\":\"a\"}]}", "no Username" },
        { "{\"Username\":7,\"Attributes\":[{\"Name\":\"sub\",\"Value\":\"a\"}]}",
          "Username is not a string" },
        { "{\"Username\":\"\",\"Attributes\":[{\"Name\":\"sub\",\"Value\":\"a\"}]}",
          "Username is empty" },
        { "{\"Username\":\"u\",\"Attributes\":{\"sub\":\"a\"}}", "Attributes is not an array" },
        { "{\"Username\":\"u\",\"Attributes\":[\"sub\"]}", "attribute 0 has no Name" },
        { "{\"Username\":\"u\",\"Attributes\":[{\"Value\":\"a\"}]}", "attribute 0 has no Name" },
        { "{\"Username\":\"u\",\"Attributes\":[{\"Name\":\"sub\",\"Value\":5}]}",
          "sub is not a string" },
        { "{\"Username\":\"u\",\"Attributes\":[{\"Name\":\"sub\"}]}", "sub is empty" },
        { "{\"Username\":\"u\",\"Attributes\":[{\"Name\":\"sub\",\"Value\":\"a b\"}]}",
          "sub has characters that are not allowed" },
        { "{\"Username\":\"u\",\"Attributes\":[{\"Name\":\"sub\",\"Value\":\"a\"},"
          "{\"Name\":\"sub\",\"Value\":\"b\"}]}",
          "attribute sub appears twice" },
        { "{\"Username\":\"u\",\"Attributes\":[{\"Name\":\"sub\",\"Value\":\"a\"},"
          "{\"Name\":\"email\",\"Value\":true}]}",
          "email is not a string" },
        { "{\"Username\":\"u\",\"Attributes\":[{\"Name\":\"sub\",\"Value\":\"a\"},"
          "{\"Name\":\"name\",\"Value\":\"x\\u001b[2Jy\"}]}",
          "name has characters that are not allowed" },
        { "{\"Username\":\"u\",\"Attributes\":[{\"Name\":\"sub\",\"Value\":\"a\"},"
          "{\"Name\":\"preferred_username\",\"Value\":\"x\\u009by\"}]}",
          "preferred_username has characters that are not allowed" },
        { "{\"Username\":\"u\",\"Enabled\":\"yes\",\"Attributes\":[{\"Name\":\"sub\","
          "\"Value\":\"a\"}]}",
          "Enabled is not a boolean" },
        { "{\"Username\":\"u\",\"UserStatus\":[],\"Attributes\":[{\"Name\":\"sub\","
          "\"Value\":\"a\"}]}",
          "UserStatus is not a string" },
        { "{\"Username\":\"u\",\"UserStatus\":\"confirmed; rm\",\"Attributes\":[{\"Name\":"
          "\"sub\",\"Value\":\"a\"}]}",
          "UserStatus has characters that are not allowed" },
        { "{\"Username\":\"u\"}", "no sub attribute" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[2048];
        snprintf(text, sizeof text,
                 "{\"Users\":[{\"Username\":\"ok1\",\"Attributes\":[{\"Name\":\"sub\","
                 "\"Value\":\"s1\"}]},%s,{\"Username\":\"ok2\",\"Attributes\":[{\"Name\":"
                 "\"sub\",\"Value\":\"s2\"}]}]}",
                 cases[i].user);
        cognito_user_list l;
        char token[COGNITO_TOKEN_MAX + 1];
        errinfo e;
        ck_assert_msg(parse_text(text, &l, token, &e) == 0, "%s: %s", cases[i].user, e.msg);
        ck_assert_msg(l.n == 2 && l.nskipped == 1, "case %zu: %zu users, %zu skipped", i, l.n,
                      l.nskipped);
        ck_assert_str_eq(l.users[0].username, "ok1");
        ck_assert_str_eq(l.users[1].username, "ok2");
        ck_assert_str_eq(l.skipped[0].reason, cases[i].reason);
        cognito_user_list_cleanup(&l);
    }
}
END_TEST

START_TEST(fields_are_bounded)
{
    static const struct {
        const char *attr;
        size_t max;
    } bounds[] = {
        { "sub", 63 },
        { "preferred_username", 128 },
        { "email", 256 },
        { "name", 256 },
    };
    for (size_t i = 0; i < sizeof bounds / sizeof bounds[0]; i++) {
        cognito_user_list l;
        char *at = repeat('a', bounds[i].max);
        char *over = repeat('a', bounds[i].max + 1);
        if (strcmp(bounds[i].attr, "sub") == 0) {
            /* the sub is given twice otherwise; give it alone */
            char text[1024];
            char token[COGNITO_TOKEN_MAX + 1];
            errinfo e;
            snprintf(text, sizeof text,
                     "{\"Users\":[{\"Username\":\"u\",\"Attributes\":"
                     "[{\"Name\":\"sub\",\"Value\":%s}]}]}",
                     at);
            ck_assert_int_eq(parse_text(text, &l, token, &e), 0);
            ck_assert_uint_eq(l.n, 1);
            ck_assert_uint_eq(strlen(l.users[0].sub), bounds[i].max);
            cognito_user_list_cleanup(&l);
            snprintf(text, sizeof text,
                     "{\"Users\":[{\"Username\":\"u\",\"Attributes\":"
                     "[{\"Name\":\"sub\",\"Value\":%s}]}]}",
                     over);
            ck_assert_int_eq(parse_text(text, &l, token, &e), 0);
            ck_assert_uint_eq(l.n, 0);
            ck_assert_str_eq(l.skipped[0].reason, "sub is longer than 63 bytes");
            cognito_user_list_cleanup(&l);
        } else {
            ck_assert_int_eq(parse_one_attr(bounds[i].attr, at, &l), 1);
            cognito_user_list_cleanup(&l);
            ck_assert_int_eq(parse_one_attr(bounds[i].attr, over, &l), 0);
            ck_assert_uint_eq(l.nskipped, 1);
            ck_assert(strstr(l.skipped[0].reason, "is longer than") != NULL);
            cognito_user_list_cleanup(&l);
        }
        free(at);
        free(over);
    }
    /* an oversized Username: skipped, and the skip record cannot name it */
    char *big = repeat('u', 129);
    char text[1024];
    snprintf(text, sizeof text,
             "{\"Users\":[{\"Username\":%s,\"Attributes\":[{\"Name\":\"sub\","
             "\"Value\":\"a\"}]}]}",
             big);
    free(big);
    cognito_user_list l;
    char token[COGNITO_TOKEN_MAX + 1];
    errinfo e;
    ck_assert_int_eq(parse_text(text, &l, token, &e), 0);
    ck_assert_uint_eq(l.n, 0);
    ck_assert_str_eq(l.skipped[0].username, "");
    ck_assert_str_eq(l.skipped[0].reason, "Username is longer than 128 bytes");
    cognito_user_list_cleanup(&l);
    /* unknown attributes of any shape are ignored; an absent optional Value is empty */
    ck_assert_int_eq(parse_one_attr("custom:x", "[1,{}]", &l), 1);
    cognito_user_list_cleanup(&l);
    ck_assert_int_eq(parse_one_attr("email", "\"\"", &l), 1);
    ck_assert_str_eq(l.users[0].email, "");
    cognito_user_list_cleanup(&l);
}
END_TEST

START_TEST(the_number_of_users_is_capped)
{
    json_t *reply = json_object();
    json_t *arr = json_array();
    json_t *one = json_object(); /* malformed: no Username; counted all the same */
    for (int i = 0; i < COGNITO_USERS_MAX + 1; i++)
        ck_assert_int_eq(json_array_append(arr, one), 0);
    json_object_set_new(reply, "Users", arr);
    cognito_user_list l;
    cognito_user_list_init(&l);
    char token[COGNITO_TOKEN_MAX + 1];
    errinfo e;
    ck_assert_int_eq(cognito_parse_list_users(reply, &l, token, &e), -1);
    ck_assert_int_eq(e.code, ERR_TOOBIG);
    ck_assert_uint_eq(l.nskipped, COGNITO_USERS_MAX);
    cognito_user_list_cleanup(&l);
    json_decref(one);
    json_decref(reply);
}
END_TEST

/* ---- pool ids ------------------------------------------------------------------------------ */

START_TEST(pool_ids_have_the_region_id_form)
{
    static const char *const good[] = {
        "us-east-1_TestPool1",
        "eu-west-2_AbC123",
        "us-gov-west-1_x",
        "ap-southeast-2_0aZ9",
        "us-east-1_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", /* 55 */
    };
    static const char *const bad[] = {
        "",
        "us-east-1",
        "_abc",
        "us-east-1_",
        "us-east-1_ab_c",
        "US-EAST-1_abc",
        "useast1_abc",
        "us-east-1_ab-c",
        "us-east-1_ab c",
        "us--east-1_abc",
        "-us-east-1_abc",
        "us-east-x_abc",
        "us-east-1_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", /* 56 */
        "us-east-1_\xc3\xa9",
        "../../etc_x",
    };
    errinfo e;
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        ck_assert_msg(cognito_pool_id_check(good[i], &e) == 0, "%s: %s", good[i], e.msg);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_msg(cognito_pool_id_check(bad[i], &e) == -1, "accepted %s", bad[i]);
        ck_assert_int_eq(e.code, ERR_INVALID);
        ck_assert(strstr(e.msg, "<region>_<id>") != NULL);
    }
    ck_assert_int_eq(cognito_pool_id_check(NULL, &e), -1);
}
END_TEST

/* ---- configuration from the environment -------------------------------------------------- */

static void env_clean(void)
{
    unsetenv("AWS_COGNITO_USER_POOL_ID");
    unsetenv("AWS_REGION");
    unsetenv("AWS_DEFAULT_REGION");
    unsetenv("AWS_ENDPOINT_URL");
    unsetenv("AWS_ENDPOINT_URL_DYNAMODB");
    unsetenv("AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER");
}

/* cognito_new from the current environment: the endpoint it chose, or NULL with *e. */
static cognito *open_env(errinfo *e)
{
    return cognito_new(NULL, e);
}

START_TEST(endpoint_and_region_come_from_the_environment)
{
    errinfo e;
    env_clean();
    setenv("AWS_COGNITO_USER_POOL_ID", "eu-central-1_Pool9", 1);
    /* no region variables: the pool's region */
    cognito *c = open_env(&e);
    ck_assert_msg(c != NULL, "%s", e.msg);
    ck_assert_str_eq(cognito_endpoint(c), "https://cognito-idp.eu-central-1.amazonaws.com/");
    ck_assert_str_eq(cognito_region(c), "eu-central-1");
    ck_assert_str_eq(cognito_pool_id(c), "eu-central-1_Pool9");
    cognito_free(c);
    /* AWS_DEFAULT_REGION, then AWS_REGION over it */
    setenv("AWS_DEFAULT_REGION", "us-west-2", 1);
    c = open_env(&e);
    ck_assert_str_eq(cognito_endpoint(c), "https://cognito-idp.us-west-2.amazonaws.com/");
    cognito_free(c);
    setenv("AWS_REGION", "ap-south-1", 1);
    c = open_env(&e);
    ck_assert_str_eq(cognito_endpoint(c), "https://cognito-idp.ap-south-1.amazonaws.com/");
    ck_assert_str_eq(cognito_region(c), "ap-south-1");
    cognito_free(c);
    /* the override */
    setenv("AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER", "http://127.0.0.1:9229", 1);
    c = open_env(&e);
    ck_assert_str_eq(cognito_endpoint(c), "http://127.0.0.1:9229/");
    cognito_free(c);
    /* options win over the environment */
    cognito_options o = { .pool_id = "us-east-1_Opt",
                          .region = "us-east-2",
                          .endpoint = "http://localhost:1/base" };
    c = cognito_new(&o, &e);
    ck_assert_str_eq(cognito_endpoint(c), "http://localhost:1/base");
    ck_assert_str_eq(cognito_region(c), "us-east-2");
    ck_assert_str_eq(cognito_pool_id(c), "us-east-1_Opt");
    cognito_free(c);
    cognito_free(NULL);
}
END_TEST

START_TEST(aws_endpoint_url_alone_does_not_redirect_cognito)
{
    errinfo e;
    env_clean();
    setenv("AWS_COGNITO_USER_POOL_ID", "us-east-1_TestPool1", 1);
    setenv("AWS_DEFAULT_REGION", "us-east-1", 1);
    setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:18000", 1);
    setenv("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:18001", 1);
    cognito *c = open_env(&e);
    ck_assert_msg(c != NULL, "%s", e.msg);
    ck_assert_str_eq(cognito_endpoint(c), "https://cognito-idp.us-east-1.amazonaws.com/");
    cognito_free(c);
    /* only the Cognito variable redirects it */
    setenv("AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER", "http://127.0.0.1:4599/", 1);
    c = open_env(&e);
    ck_assert_str_eq(cognito_endpoint(c), "http://127.0.0.1:4599/");
    cognito_free(c);
}
END_TEST

START_TEST(bad_configuration_is_refused)
{
    errinfo e;
    env_clean();
    /* no pool */
    ck_assert_ptr_null(open_env(&e));
    ck_assert_int_eq(e.code, ERR_CONFIG);
    ck_assert(strstr(e.msg, "AWS_COGNITO_USER_POOL_ID") != NULL);
    /* a malformed pool: ERR_INVALID (the CLI's usage error) */
    setenv("AWS_COGNITO_USER_POOL_ID", "TestPool1", 1);
    ck_assert_ptr_null(open_env(&e));
    ck_assert_int_eq(e.code, ERR_INVALID);
    ck_assert(strstr(e.msg, "AWS_COGNITO_USER_POOL_ID") != NULL);
    /* a bad region */
    setenv("AWS_COGNITO_USER_POOL_ID", "us-east-1_TestPool1", 1);
    setenv("AWS_REGION", "us-east-1/../x", 1);
    ck_assert_ptr_null(open_env(&e));
    ck_assert_int_eq(e.code, ERR_CONFIG);
    unsetenv("AWS_REGION");
    /* a bad override names its variable */
    setenv("AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER", "ftp://127.0.0.1:1", 1);
    ck_assert_ptr_null(open_env(&e));
    ck_assert_int_eq(e.code, ERR_CONFIG);
    ck_assert(strstr(e.msg, "AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER") != NULL);
    setenv("AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER", "http://127.0.0.1:1/?q=1", 1);
    ck_assert_ptr_null(open_env(&e));
}
END_TEST

static Suite *cognito_suite(void)
{
    Suite *s = suite_create("cognito");
    TCase *tc = tcase_create("list_users_reply");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, parses_a_multi_user_page);
    tcase_add_test(tc, pages_accumulate_and_the_last_has_no_token);
    tcase_add_test(tc, bad_replies_are_errors);
    tcase_add_test(tc, malformed_users_are_skipped_with_a_reason);
    tcase_add_test(tc, fields_are_bounded);
    tcase_add_test(tc, the_number_of_users_is_capped);
    suite_add_tcase(s, tc);
    tc = tcase_create("pool_id");
    tcase_add_test(tc, pool_ids_have_the_region_id_form);
    suite_add_tcase(s, tc);
    tc = tcase_create("configuration");
    tcase_add_test(tc, endpoint_and_region_come_from_the_environment);
    tcase_add_test(tc, aws_endpoint_url_alone_does_not_redirect_cognito);
    tcase_add_test(tc, bad_configuration_is_refused);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tap_run(cognito_suite());
}
