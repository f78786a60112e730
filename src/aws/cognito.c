/* cognito.c — the Cognito user-pool client: configuration from the environment, ListUsers
 * over every page, and the validation of what the replies say about each user. */
#include "config.h"
#include "aws/cognito.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/env.h"

#define COGNITO_TARGET_PREFIX "AWSCognitoIdentityProviderService."

struct cognito {
    char pool_id[COGNITO_POOL_ID_MAX + 1];
    char region[64];
    awsjson_endpoint ep;
    awsjson *client;
    awsjson *anon; /* unsigned calls (GetUser); made on first use */
    awsjson_options anon_opts;
};

/* ---- the user list ----------------------------------------------------------------------- */

void cognito_user_list_init(cognito_user_list *l)
{
    memset(l, 0, sizeof *l);
}

void cognito_user_list_cleanup(cognito_user_list *l)
{
    if (!l)
        return;
    free(l->users);
    free(l->skipped);
    cognito_user_list_init(l);
}

/* Makes room for one more element in *arr (of size elem, *cap allocated). */
static int cognito_grow(void **arr, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap)
        return 0;
    size_t ncap = *cap ? *cap * 2 : 16;
    if (ncap > SIZE_MAX / elem)
        return -1;
    void *p = realloc(*arr, ncap * elem);
    if (!p)
        return -1;
    *arr = p;
    *cap = ncap;
    return 0;
}

/* ---- validation of one user -------------------------------------------------------------- */

/* Whether s (n bytes) holds no C0/C1 control character or DEL, and no NUL: the values end
 * up on terminals and in logs. jparse guarantees valid UTF-8, so C1 is 0xC2 0x80..0x9F. */
static bool cognito_printable(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch < 0x20 || ch == 0x7f)
            return false;
        if (ch == 0xc2 && i + 1 < n && (unsigned char)s[i + 1] >= 0x80 &&
            (unsigned char)s[i + 1] <= 0x9f)
            return false;
    }
    return true;
}

/* Copies s (n bytes) into dst (cap bytes). 0, or -1 with reason set: empty (when
 * required), too long, control characters, or outside charset (when given). */
static int cognito_take_str(const char *s, size_t n, char *dst, size_t cap, bool required,
                            const char *charset, const char *what, char *reason, size_t rcap)
{
    dst[0] = '\0';
    if (n == 0 && required) {
        snprintf(reason, rcap, "%s is empty", what);
        return -1;
    }
    if (n >= cap) {
        snprintf(reason, rcap, "%s is longer than %zu bytes", what, cap - 1);
        return -1;
    }
    if (strlen(s) != n || !cognito_printable(s, n) || (charset && strspn(s, charset) != n)) {
        snprintf(reason, rcap, "%s has characters that are not allowed", what);
        return -1;
    }
    memcpy(dst, s, n + 1);
    return 0;
}

/* cognito_take_str for the JSON value v, which must be a string when present. */
static int cognito_take(const json_t *v, char *dst, size_t cap, bool required, const char *charset,
                        const char *what, char *reason, size_t rcap)
{
    dst[0] = '\0';
    if (!v) {
        if (!required)
            return 0;
        snprintf(reason, rcap, "no %s", what);
        return -1;
    }
    if (!json_is_string(v)) {
        snprintf(reason, rcap, "%s is not a string", what);
        return -1;
    }
    return cognito_take_str(json_string_value(v), json_string_length(v), dst, cap, required,
                            charset, what, reason, rcap);
}

static const char cognito_sub_chars[] =
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-";

/* The attributes this client keeps: where each goes and its rules. */
typedef struct cognito_attr {
    const char *name;
    size_t offset;
    size_t cap;
    bool required;
    const char *charset;
} cognito_attr;

static const cognito_attr cognito_attrs[] = {
    { "sub", offsetof(cognito_user, sub), sizeof((cognito_user *)0)->sub, true, cognito_sub_chars },
    { "preferred_username", offsetof(cognito_user, preferred_username),
      sizeof((cognito_user *)0)->preferred_username, false, NULL },
    { "email", offsetof(cognito_user, email), sizeof((cognito_user *)0)->email, false, NULL },
    { "name", offsetof(cognito_user, name), sizeof((cognito_user *)0)->name, false, NULL },
};
#define COGNITO_NATTRS (sizeof cognito_attrs / sizeof cognito_attrs[0])

/* Fills u from one element of Users. 0, or -1 with reason set. */
static int cognito_user_from(const json_t *j, const char *attrs_key, cognito_user *u, char *reason,
                             size_t rcap)
{
    memset(u, 0, sizeof *u);
    if (!json_is_object(j)) {
        snprintf(reason, rcap, "the entry is not an object");
        return -1;
    }
    if (cognito_take(json_object_get(j, "Username"), u->username, sizeof u->username, true, NULL,
                     "Username", reason, rcap) != 0)
        return -1;
    if (cognito_take(json_object_get(j, "UserStatus"), u->status, sizeof u->status, false,
                     "ABCDEFGHIJKLMNOPQRSTUVWXYZ_", "UserStatus", reason, rcap) != 0)
        return -1;
    const json_t *en = json_object_get(j, "Enabled");
    if (en && !json_is_boolean(en)) {
        snprintf(reason, rcap, "Enabled is not a boolean");
        return -1;
    }
    u->enabled = json_is_true(en);

    const json_t *attrs = json_object_get(j, attrs_key);
    if (attrs && !json_is_array(attrs)) {
        snprintf(reason, rcap, "%s is not an array", attrs_key);
        return -1;
    }
    bool seen[COGNITO_NATTRS] = { false };
    size_t i;
    const json_t *a;
    json_array_foreach(attrs, i, a)
    {
        const char *name = json_string_value(json_object_get(a, "Name"));
        if (!json_is_object(a) || !name) {
            snprintf(reason, rcap, "attribute %zu has no Name", i);
            return -1;
        }
        for (size_t k = 0; k < COGNITO_NATTRS; k++) {
            const cognito_attr *d = &cognito_attrs[k];
            if (strcmp(name, d->name) != 0)
                continue;
            if (seen[k]) {
                snprintf(reason, rcap, "attribute %s appears twice", d->name);
                return -1;
            }
            seen[k] = true;
            /* Cognito leaves Value out of an attribute that is set empty. */
            const json_t *v = json_object_get(a, "Value");
            char *dst = (char *)u + d->offset;
            int rc =
                v ? cognito_take(v, dst, d->cap, d->required, d->charset, d->name, reason, rcap)
                  : cognito_take_str("", 0, dst, d->cap, d->required, d->charset, d->name, reason,
                                     rcap);
            if (rc != 0)
                return -1;
        }
    }
    for (size_t k = 0; k < COGNITO_NATTRS; k++)
        if (cognito_attrs[k].required && !seen[k]) {
            snprintf(reason, rcap, "no %s attribute", cognito_attrs[k].name);
            return -1;
        }
    return 0;
}

/* ---- one reply ----------------------------------------------------------------------------- */

int cognito_parse_list_users(const json_t *reply, cognito_user_list *l, char *next_token,
                             errinfo *e)
{
    next_token[0] = '\0';
    if (!json_is_object(reply))
        return errinfo_set(e, ERR_INVALID, "ListUsers reply is not a JSON object");
    const json_t *tok = json_object_get(reply, "PaginationToken");
    if (tok && !json_is_null(tok)) {
        size_t n = json_string_length(tok);
        if (!json_is_string(tok) || n > COGNITO_TOKEN_MAX || strlen(json_string_value(tok)) != n ||
            !cognito_printable(json_string_value(tok), n))
            return errinfo_set(e, ERR_INVALID,
                               "ListUsers reply: PaginationToken is not a "
                               "string of at most %d printable bytes",
                               COGNITO_TOKEN_MAX);
    }
    const json_t *users = json_object_get(reply, "Users");
    if (users && !json_is_array(users))
        return errinfo_set(e, ERR_INVALID, "ListUsers reply: Users is not an array");
    size_t i;
    const json_t *j;
    json_array_foreach(users, i, j)
    {
        if (l->n + l->nskipped >= COGNITO_USERS_MAX)
            return errinfo_set(e, ERR_TOOBIG, "ListUsers: more than %d users", COGNITO_USERS_MAX);
        if (cognito_grow((void **)&l->users, &l->cap_users, l->n, sizeof *l->users) != 0)
            return errinfo_nomem(e);
        char reason[sizeof l->skipped->reason];
        cognito_user *u = &l->users[l->n];
        if (cognito_user_from(j, "Attributes", u, reason, sizeof reason) == 0) {
            l->n++;
            continue;
        }
        if (cognito_grow((void **)&l->skipped, &l->cap_skipped, l->nskipped, sizeof *l->skipped) !=
            0)
            return errinfo_nomem(e);
        cognito_skip *s = &l->skipped[l->nskipped++];
        char why[8];
        if (cognito_take(json_object_get(j, "Username"), s->username, sizeof s->username, true,
                         NULL, "Username", why, sizeof why) != 0)
            s->username[0] = '\0';
        snprintf(s->reason, sizeof s->reason, "%s", reason);
    }
    if (json_is_string(tok))
        memcpy(next_token, json_string_value(tok), json_string_length(tok) + 1);
    return 0;
}

/* ---- configuration ------------------------------------------------------------------------- */

/* Whether r looks like an AWS region name: lowercase letters, digits and single hyphens,
 * starting with a letter, with at least one hyphen, ending in a digit ("us-east-1"). */
static bool cognito_region_form(const char *r, size_t n)
{
    if (n < 4 || n > 40 || r[0] < 'a' || r[0] > 'z' || r[n - 1] < '0' || r[n - 1] > '9')
        return false;
    bool hyphen = false;
    for (size_t i = 0; i < n; i++) {
        char ch = r[i];
        if (ch == '-') {
            if (r[i - 1] == '-')
                return false;
            hyphen = true;
        } else if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9'))) {
            return false;
        }
    }
    return hyphen;
}

int cognito_pool_id_check(const char *id, errinfo *e)
{
    static const char ex[] = "the form <region>_<id>, e.g. us-east-1_AbCdEf123";
    if (!id || !*id)
        return errinfo_set(e, ERR_INVALID, "the user pool id is empty; it has %s", ex);
    size_t n = strlen(id);
    if (n > COGNITO_POOL_ID_MAX)
        return errinfo_set(e, ERR_INVALID,
                           "the user pool id is longer than %d characters; it "
                           "has %s",
                           COGNITO_POOL_ID_MAX, ex);
    const char *us = strchr(id, '_');
    size_t idlen = us ? strlen(us + 1) : 0;
    if (!us || !cognito_region_form(id, (size_t)(us - id)) || idlen == 0 ||
        strspn(us + 1, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") != idlen)
        return errinfo_set(e, ERR_INVALID, "'%.60s' is not a user pool id: it has %s",
                           cognito_printable(id, n) ? id : "(unprintable)", ex);
    return 0;
}

cognito *cognito_new(const cognito_options *opts, errinfo *e)
{
    cognito_options o = { 0 };
    if (opts)
        o = *opts;
    cognito *c = calloc(1, sizeof *c);
    if (!c) {
        errinfo_nomem(e);
        return NULL;
    }
    const char *pool = o.pool_id ? o.pool_id : env_str("AWS_COGNITO_USER_POOL_ID");
    if (!pool) {
        errinfo_set(e, ERR_CONFIG,
                    "AWS_COGNITO_USER_POOL_ID is not set: export it with the "
                    "Cognito user pool id (e.g. us-east-1_AbCdEf123)");
        goto fail;
    }
    errinfo pe;
    if (cognito_pool_id_check(pool, &pe) != 0) {
        errinfo_set(e, ERR_INVALID, "AWS_COGNITO_USER_POOL_ID: %s", pe.msg);
        goto fail;
    }
    memcpy(c->pool_id, pool, strlen(pool) + 1);

    const char *region = o.region;
    if (!region)
        region = env_str("AWS_REGION");
    if (!region)
        region = env_str("AWS_DEFAULT_REGION");
    if (region) {
        if (!cognito_region_form(region, strlen(region))) {
            errinfo_set(e, ERR_CONFIG, "AWS region %.64s is not a region name",
                        cognito_printable(region, strlen(region)) ? region : "(unprintable)");
            goto fail;
        }
        memcpy(c->region, region, strlen(region) + 1);
    } else {
        size_t rl = (size_t)(strchr(c->pool_id, '_') - c->pool_id);
        memcpy(c->region, c->pool_id, rl);
        c->region[rl] = '\0';
    }

    const char *endpoint = o.endpoint;
    const char *var = NULL;
    if (!endpoint && (endpoint = env_str("AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER")))
        var = "AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER";
    char url[AWSJSON_URL_MAX];
    if (!endpoint) {
        snprintf(url, sizeof url, "https://cognito-idp.%s.amazonaws.com/", c->region);
        endpoint = url;
    }
    if (awsjson_endpoint_parse(&c->ep, endpoint, &pe) != 0) {
        errinfo_set(e, ERR_CONFIG, "%s%s%s", var ? var : "", var ? ": " : "", pe.msg);
        goto fail;
    }

    awsjson_options ao = {
        .service_label = "Cognito",
        .signing_name = "cognito-idp",
        .content_type = "application/x-amz-json-1.1",
        .region = c->region,
        .http = { .connect_timeout_ms = o.connect_timeout_ms ? o.connect_timeout_ms : 3000,
                  .timeout_ms = o.timeout_ms ? o.timeout_ms : 10000 },
        .retry = o.retry,
        .credentials = o.credentials,
    };
    if (!(c->client = awsjson_new(&ao, e)))
        goto fail;
    c->anon_opts = ao;
    c->anon_opts.anonymous = true;
    c->anon_opts.credentials = NULL;
    c->anon_opts.region = c->region;
    return c;
fail:
    cognito_free(c);
    return NULL;
}

void cognito_free(cognito *c)
{
    if (!c)
        return;
    awsjson_free(c->client);
    awsjson_free(c->anon);
    free(c);
}

const char *cognito_endpoint(const cognito *c)
{
    return c->ep.url;
}

const char *cognito_region(const cognito *c)
{
    return c->region;
}

const char *cognito_pool_id(const cognito *c)
{
    return c->pool_id;
}

/* ---- ListUsers ----------------------------------------------------------------------------- */

int cognito_list_users(cognito *c, cognito_user_list *l, aws_error *err)
{
    aws_error scratch;
    if (!err)
        err = &scratch;
    char token[COGNITO_TOKEN_MAX + 1] = "";
    char prev[COGNITO_TOKEN_MAX + 1];
    for (int pages = 1;; pages++) {
        if (pages > COGNITO_PAGES_MAX)
            return aws_error_set(err, ERR_TOOBIG, "Cognito ListUsers: more than %d pages",
                                 COGNITO_PAGES_MAX);
        json_t *req =
            json_pack("{s:s, s:i}", "UserPoolId", c->pool_id, "Limit", COGNITO_PAGE_LIMIT);
        if (req && token[0] &&
            json_object_set_new(req, "PaginationToken", json_string(token)) != 0) {
            json_decref(req);
            req = NULL;
        }
        if (!req)
            return aws_error_nomem(err);
        json_t *resp = NULL;
        int rc = awsjson_call(c->client, &c->ep, COGNITO_TARGET_PREFIX "ListUsers", "ListUsers",
                              req, &resp, err);
        json_decref(req);
        if (rc != 0)
            return -1;
        memcpy(prev, token, sizeof prev);
        errinfo pe;
        rc = cognito_parse_list_users(resp, l, token, &pe);
        json_decref(resp);
        if (rc != 0)
            return aws_error_set(err, pe.code, "Cognito %s", pe.msg);
        if (!token[0])
            return 0;
        if (strcmp(token, prev) == 0)
            return aws_error_set(err, ERR_SERVICE,
                                 "Cognito ListUsers: the service "
                                 "repeated its PaginationToken");
    }
}

/* ---- GetUser -------------------------------------------------------------------------------- */

int cognito_parse_get_user(const json_t *reply, cognito_user *u, errinfo *e)
{
    char reason[96];
    if (cognito_user_from(reply, "UserAttributes", u, reason, sizeof reason) != 0)
        return errinfo_set(e, ERR_INVALID, "GetUser: %s", reason);
    u->enabled = true; /* GetUser answers for an enabled, signed-in user only */
    return 0;
}

int cognito_get_user(cognito *c, const char *access_token, cognito_user *u, aws_error *err)
{
    aws_error scratch;
    if (!err)
        err = &scratch;
    aws_error_clear(err);
    if (!c->anon && !(c->anon = awsjson_new(&c->anon_opts, &err->info)))
        return -1;
    json_t *req = json_pack("{s:s}", "AccessToken", access_token);
    if (!req)
        return errinfo_nomem(&err->info);
    json_t *resp = NULL;
    int rc =
        awsjson_call(c->anon, &c->ep, COGNITO_TARGET_PREFIX "GetUser", "GetUser", req, &resp, err);
    json_decref(req);
    if (rc != 0)
        return -1;
    errinfo pe;
    rc = cognito_parse_get_user(resp, u, &pe);
    json_decref(resp);
    if (rc != 0)
        return aws_error_set(err, pe.code, "Cognito %s", pe.msg);
    return 0;
}
