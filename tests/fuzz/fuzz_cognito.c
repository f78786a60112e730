/* fuzz_cognito.c — the Cognito replies the programs read (aws/cognito.c): any bytes as a
 * ListUsers page (cognito_parse_list_users) and as a GetUser answer (cognito_parse_get_user,
 * what the API provisions a user from). Whatever comes, every user handed back has a
 * non-empty sub of letters, digits and '-', and every field is NUL-terminated within its
 * buffer and free of control characters; a skipped user has a reason. */
#include "config.h"

#include <string.h>

#include <jansson.h>

#include "aws/cognito.h"
#include "base/jparse.h"
#include "fuzz.h"

static void fuzz_cognito_check_field(const char *s, size_t cap)
{
    size_t n = strnlen(s, cap);
    FUZZ_CHECK(n < cap);
    for (size_t i = 0; i < n; i++)
        FUZZ_CHECK((unsigned char)s[i] >= 0x20 && s[i] != 0x7f);
}

static void fuzz_cognito_check_user(const cognito_user *u)
{
    FUZZ_CHECK(u->sub[0] != '\0');
    for (const char *p = u->sub; *p; p++)
        FUZZ_CHECK((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                   (*p >= '0' && *p <= '9') || *p == '-');
    fuzz_cognito_check_field(u->username, sizeof u->username);
    fuzz_cognito_check_field(u->sub, sizeof u->sub);
    fuzz_cognito_check_field(u->preferred_username, sizeof u->preferred_username);
    fuzz_cognito_check_field(u->email, sizeof u->email);
    fuzz_cognito_check_field(u->name, sizeof u->name);
    fuzz_cognito_check_field(u->status, sizeof u->status);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 1 << 16)
        return 0;
    json_t *j = jparse((const char *)data, size, 32, NULL);
    if (!j)
        return 0;
    cognito_user_list l;
    cognito_user_list_init(&l);
    char token[COGNITO_TOKEN_MAX + 1];
    errinfo e;
    if (cognito_parse_list_users(j, &l, token, &e) == 0)
        FUZZ_CHECK(strnlen(token, sizeof token) <= COGNITO_TOKEN_MAX);
    for (size_t i = 0; i < l.n; i++)
        fuzz_cognito_check_user(&l.users[i]);
    for (size_t i = 0; i < l.nskipped; i++)
        FUZZ_CHECK(l.skipped[i].reason[0] != '\0');
    cognito_user_list_cleanup(&l);
    cognito_user u;
    if (cognito_parse_get_user(j, &u, &e) == 0)
        fuzz_cognito_check_user(&u);
    else
        FUZZ_CHECK(e.code == ERR_INVALID);
    json_decref(j);
    return 0;
}
