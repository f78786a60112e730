/* check_creds.c — the credentials chain: environment, shared files, container endpoint and
 * IMDSv2 (against the metadata stand-in tests/support/metasrv.h, in a child process),
 * refresh, and secrets kept out of errors. What one creds_get on a fresh provider yields
 * for a given environment and files (and stand-in commands) is a table of cases, t_cases
 * and t_server_cases, each run as its own test; sequences (caching, rotation, refresh) and
 * the pure parts are tests of their own. */
#include "config.h"

#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "aws/creds.h"
#include "aws/creds_internal.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/log.h"
#include "metasrv.h"
#include "tap.h"

/* ---- a private environment ---------------------------------------------------------------- */

#define T_ENV_MAX 32

static struct {
    char name[64];
    char value[10000];
} t_env[T_ENV_MAX];
static int t_nenv;

static const char *t_getenv(const char *name)
{
    for (int i = 0; i < t_nenv; i++)
        if (strcmp(t_env[i].name, name) == 0)
            return t_env[i].value;
    return NULL;
}

static void t_setenv(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void t_setenv(const char *name, const char *fmt, ...)
{
    int i = 0;
    while (i < t_nenv && strcmp(t_env[i].name, name) != 0)
        i++;
    ck_assert_int_lt(i, T_ENV_MAX);
    if (i == t_nenv)
        t_nenv++;
    snprintf(t_env[i].name, sizeof t_env[i].name, "%s", name);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t_env[i].value, sizeof t_env[i].value, fmt, ap);
    va_end(ap);
}

static void t_unsetenv(const char *name)
{
    for (int i = 0; i < t_nenv; i++) {
        if (strcmp(t_env[i].name, name) == 0) {
            t_env[i] = t_env[--t_nenv];
            return;
        }
    }
}

static int64_t t_now;

static int64_t t_now_fn(void)
{
    return t_now;
}

static creds_options t_opts(void)
{
    return (creds_options){ .getenv_fn = t_getenv, .http_timeout_ms = 2000 };
}

/* ---- a temporary HOME --------------------------------------------------------------------- */

static char t_home[64];
static char t_paths[16][256];
static int t_npaths;

static const char *t_path(const char *rel)
{
    static char p[256];
    snprintf(p, sizeof p, "%s/%s", t_home, rel);
    return p;
}

/* Writes HOME/rel (making HOME/.aws when rel is under it); remembered for teardown. */
static void t_write(const char *rel, const char *content)
{
    if (strncmp(rel, ".aws/", 5) == 0 && mkdir(t_path(".aws"), 0700) == 0)
        snprintf(t_paths[t_npaths++], sizeof t_paths[0], "%s", t_path(".aws"));
    FILE *f = fopen(t_path(rel), "w");
    ck_assert_ptr_nonnull(f);
    fputs(content, f);
    ck_assert_int_eq(fclose(f), 0);
    snprintf(t_paths[t_npaths++], sizeof t_paths[0], "%s", t_path(rel));
}

static void t_setup(void)
{
    log_set_level(LOG_ERROR);
    t_nenv = 0;
    t_npaths = 0;
    t_now = clock_real_us() / 1000000;
    snprintf(t_home, sizeof t_home, "/tmp/check_creds.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(t_home));
    t_setenv("HOME", "%s", t_home);
    /* Nothing reaches 169.254.x: IMDS is off and both endpoints point at a closed port. */
    t_setenv("AWS_EC2_METADATA_DISABLED", "true");
    t_setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:1");
    t_setenv("CRUDDUR_CONTAINER_CREDENTIALS_HOST", "http://127.0.0.1:1");
}

static void t_teardown(void)
{
    while (t_npaths > 0) {
        const char *p = t_paths[--t_npaths];
        if (unlink(p) != 0)
            rmdir(p);
    }
    rmdir(t_home);
}

/* ---- the metadata stand-in ---------------------------------------------------------------- */

static metasrv *t_srv;
static int t_port;

/* Sends one command to the stand-in and returns its one-line reply. */
static const char *t_cmd(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static const char *t_cmd(const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    ck_assert(n > 0 && (size_t)n < sizeof line);
    return metasrv_command(t_srv, line);
}

static long t_stat(const char *name)
{
    const char *s = t_cmd("stats");
    char key[64];
    snprintf(key, sizeof key, "%s=", name);
    const char *p = strstr(s, key);
    ck_assert_ptr_nonnull(p);
    return strtol(p + strlen(key), NULL, 10);
}

static void t_server_setup(void)
{
    t_setup();
    t_srv = metasrv_start();
    t_port = metasrv_port(t_srv);
    t_unsetenv("AWS_EC2_METADATA_DISABLED");
    t_setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:%d", t_port);
    t_setenv("CRUDDUR_CONTAINER_CREDENTIALS_HOST", "http://127.0.0.1:%d", t_port);
}

static void t_server_teardown(void)
{
    metasrv_stop(t_srv);
    t_srv = NULL;
    t_teardown();
}

/* ---- helpers ------------------------------------------------------------------------------ */

/* creds_get on a fresh provider that must fail; copies the error into *e. */
static void t_expect_error(const creds_options *o, errinfo *e)
{
    creds *c = creds_new(o);
    ck_assert_ptr_nonnull(c);
    const creds_value *v = (const creds_value *)1;
    ck_assert_int_eq(creds_get(c, &v, e), -1);
    ck_assert_ptr_null(v);
    creds_free(c);
}

#define T_ASSERT_HAS(msg, part)                                                                    \
    ck_assert_msg(strstr((msg), (part)) != NULL, "\"%s\" lacks \"%s\"", (msg), (part))
#define T_ASSERT_LACKS(msg, part)                                                                  \
    ck_assert_msg(strstr((msg), (part)) == NULL, "\"%s\" contains \"%s\"", (msg), (part))

/* ---- the cases ---------------------------------------------------------------------------- */

#define T_A16 "AAAAAAAAAAAAAAAA"
#define T_NO_TOKEN "(none)" /* token: the credentials must have no session token */

/* One creds_get on a fresh provider. In every string, @HOME@ stands for the test's HOME and
 * @PORT@ for the stand-in's port. Success when key_id is set: the key id, and when set the
 * secret, the token (T_NO_TOKEN: none) and the source; a second creds_get gives the same
 * (cached) key; static credentials never expire. Otherwise an error: code (when not
 * ERR_OK), each of has in the message and none of lacks. Server cases also send cmds to the
 * stand-in first and check how its counters moved (stats) and how long the call took. */
typedef struct t_case {
    const char *name;
    const char *env[5][2];   /* variables set over the fixture's */
    const char *files[3][2]; /* HOME-relative path, content */
    const char *cmds[2];     /* stand-in commands, each must answer ok */
    const char *key_id, *secret, *token, *source;
    enum err_code code;
    const char *has[3], *lacks[2];
    struct {
        const char *name;
        long delta;
    } stats[2];
    long max_ms; /* > 0: creds_get returns within this */
} t_case;

static const char t_two_profiles[] = "[default]\n"
                                     "aws_access_key_id = AKIDDEFAULT\n"
                                     "aws_secret_access_key = defaultSecret\n"
                                     "\n"
                                     "[other]\n"
                                     "aws_access_key_id = ASIAOTHER\n"
                                     "aws_secret_access_key = otherSecret\n"
                                     "aws_session_token = otherToken\n";

static const char t_config_forms[] = "[default]\n"
                                     "aws_access_key_id = AKIDCONFIGDEFAULT\n"
                                     "aws_secret_access_key = configDefaultSecret\n"
                                     "[dev]\n"
                                     "aws_access_key_id = AKIDNOTAPROFILE\n"
                                     "aws_secret_access_key = notAProfileSecret\n"
                                     "[profile   dev ]\n"
                                     "region = us-east-1\n"
                                     "aws_access_key_id = AKIDCONFIGDEV\n"
                                     "aws_secret_access_key = configDevSecret\n";

static const char t_moved_creds[] =
    "[default]\naws_access_key_id = AKIDMOVED\naws_secret_access_key = s\n";
static const char t_moved_config[] =
    "[profile x]\naws_access_key_id = AKIDMOVEDCONF\naws_secret_access_key = s\n";

/* The environment and the shared files; IMDS is disabled and the container host closed. */
static const t_case t_cases[] = {
    { .name = "env: a full set",
      .env = { { "AWS_ACCESS_KEY_ID", "AKIDENVEXAMPLE" },
               { "AWS_SECRET_ACCESS_KEY", "envSecret/K7MDENG+bPxRfiCY" } },
      .key_id = "AKIDENVEXAMPLE",
      .secret = "envSecret/K7MDENG+bPxRfiCY",
      .token = T_NO_TOKEN,
      .source = "environment" },
    { .name = "env: with a session token",
      .env = { { "AWS_ACCESS_KEY_ID", "ASIAENVEXAMPLE" },
               { "AWS_SECRET_ACCESS_KEY", "envSecret" },
               { "AWS_SESSION_TOKEN", "envSessionToken+/=" } },
      .key_id = "ASIAENVEXAMPLE",
      .secret = "envSecret",
      .token = "envSessionToken+/=",
      .source = "environment" },
    { .name = "env: a key without a secret is an error",
      .env = { { "AWS_ACCESS_KEY_ID", "AKIDENVEXAMPLE" } },
      .code = ERR_CONFIG,
      .has = { "AWS_SECRET_ACCESS_KEY" } },
    { .name = "env: a secret without a key is an error that does not quote it",
      .env = { { "AWS_SECRET_ACCESS_KEY", "lonelySecretValue" } },
      .has = { "AWS_ACCESS_KEY_ID" },
      .lacks = { "lonelySecretValue" } },
    { .name = "env: a control character in the secret is refused, not quoted",
      .env = { { "AWS_ACCESS_KEY_ID", "AKIDENVEXAMPLE" },
               { "AWS_SECRET_ACCESS_KEY", "badSecretValue\x01tail" } },
      .has = { "AWS_SECRET_ACCESS_KEY", "control character" },
      .lacks = { "badSecretValue" } },
    { .name = "env: a key id over 128 characters is refused",
      .env = { { "AWS_ACCESS_KEY_ID", T_A16 T_A16 T_A16 T_A16 T_A16 T_A16 T_A16 T_A16 "A" },
               { "AWS_SECRET_ACCESS_KEY", "fineSecretValue" } },
      .has = { "AWS_ACCESS_KEY_ID: longer than 128" },
      .lacks = { "fineSecretValue" } },
    { .name = "env comes before the shared file",
      .env = { { "AWS_ACCESS_KEY_ID", "AKIDENV" }, { "AWS_SECRET_ACCESS_KEY", "envSecret" } },
      .files = { { ".aws/credentials", "[default]\naws_access_key_id = AKIDFILE\n"
                                       "aws_secret_access_key = fileSecret\n" } },
      .key_id = "AKIDENV",
      .source = "environment" },
    { .name = "file: the default profile",
      .files = { { ".aws/credentials", t_two_profiles } },
      .key_id = "AKIDDEFAULT",
      .secret = "defaultSecret",
      .token = T_NO_TOKEN,
      .source = "shared-file" },
    { .name = "file: AWS_PROFILE selects",
      .env = { { "AWS_PROFILE", "other" } },
      .files = { { ".aws/credentials", t_two_profiles } },
      .key_id = "ASIAOTHER",
      .secret = "otherSecret",
      .token = "otherToken",
      .source = "shared-file" },
    { .name = "file: comments, blanks, CRLF, nested keys",
      .files = { { ".aws/credentials",
                   "# a comment\r\n"
                   "; another = comment\r\n"
                   "   [default]   # trailing comment\r\n"
                   " \tAWS_ACCESS_KEY_ID=AKIDSPACED   # inline comment\r\n"
                   "region = eu-west-1\r\n"
                   "s3 =\r\n"
                   "    aws_access_key_id = NESTEDWRONG\r\n"
                   "aws_secret_access_key   =   spaced/Secret+Value  ; why not\r\n"
                   "\r\n"
                   "[elsewhere]\r\n"
                   "aws_access_key_id = AKIDWRONG\r\n" } },
      .key_id = "AKIDSPACED",
      .secret = "spaced/Secret+Value",
      .source = "shared-file" },
    { .name = "file: the config file's [default]",
      .files = { { ".aws/config", t_config_forms } },
      .key_id = "AKIDCONFIGDEFAULT",
      .secret = "configDefaultSecret",
      .source = "shared-file" },
    { .name = "file: the config file's [profile dev], not [dev]",
      .env = { { "AWS_PROFILE", "dev" } },
      .files = { { ".aws/config", t_config_forms } },
      .key_id = "AKIDCONFIGDEV",
      .secret = "configDevSecret",
      .source = "shared-file" },
    { .name = "file: the credentials file wins over the config",
      .env = { { "AWS_PROFILE", "other" } },
      .files = { { ".aws/config", "[profile other]\naws_access_key_id = AKIDFROMCONFIG\n"
                                  "aws_secret_access_key = configSecret\n" },
                 { ".aws/credentials", t_two_profiles } },
      .key_id = "ASIAOTHER",
      .secret = "otherSecret",
      .source = "shared-file" },
    { .name = "file: AWS_SHARED_CREDENTIALS_FILE with ~/",
      .env = { { "AWS_SHARED_CREDENTIALS_FILE", "~/my-creds" },
               { "AWS_CONFIG_FILE", "@HOME@/my-config" } },
      .files = { { "my-creds", t_moved_creds },
                 { "my-config", t_moved_config },
                 { ".aws/credentials", t_two_profiles } },
      .key_id = "AKIDMOVED",
      .source = "shared-file" },
    { .name = "file: AWS_CONFIG_FILE",
      .env = { { "AWS_SHARED_CREDENTIALS_FILE", "~/my-creds" },
               { "AWS_CONFIG_FILE", "@HOME@/my-config" },
               { "AWS_PROFILE", "x" } },
      .files = { { "my-creds", t_moved_creds },
                 { "my-config", t_moved_config },
                 { ".aws/credentials", t_two_profiles } },
      .key_id = "AKIDMOVEDCONF",
      .source = "shared-file" },
    { .name = "file: a named profile that is missing is an error",
      .env = { { "AWS_PROFILE", "nosuch" } },
      .files = { { ".aws/credentials", t_two_profiles } },
      .code = ERR_CONFIG,
      .has = { "nosuch", "@HOME@/.aws/credentials" } },
    { .name = "file: a named profile with no files at all is an error",
      .env = { { "AWS_PROFILE", "nosuch" } },
      .code = ERR_CONFIG,
      .has = { "nosuch" } },
    { .name = "file: none falls through, naming what was tried",
      .code = ERR_NOTFOUND,
      .has = { "no AWS credentials: tried environment, shared file @HOME@/.aws/credentials "
               "(profile default), container (not configured), IMDS (disabled" } },
    { .name = "file: a profile without keys falls through",
      .files = { { ".aws/config", "[default]\nregion = us-east-1\n" } },
      .code = ERR_NOTFOUND,
      .has = { "profile default has no keys" } },
    { .name = "file: half a profile is an error that does not quote the secret",
      .files = { { ".aws/credentials",
                   "[default]\naws_secret_access_key = partialSecretValue\n" } },
      .code = ERR_CONFIG,
      .has = { "aws_access_key_id" },
      .lacks = { "partialSecretValue" } },
    { .name = "file: a malformed line is named by number, not quoted",
      .files = { { ".aws/credentials", "[default]\naws_secret_access_key = malformedSecret\n"
                                       "malformedSecret is not a key line\n" } },
      .code = ERR_INVALID,
      .has = { "line 3" },
      .lacks = { "malformedSecret" } },
};

/* With the stand-in: IMDS is enabled and both endpoints point at it. */
static const t_case t_server_cases[] = {
    { .name = "container: the full URI with an authorization token",
      .cmds = { "auth Bearer envAuthToken123" },
      .env = { { "AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1:@PORT@/creds/full" },
               { "AWS_CONTAINER_AUTHORIZATION_TOKEN", "Bearer envAuthToken123" } },
      .key_id = "ASIACONTAINER0001",
      .source = "container",
      .stats = { { "unauthorized", 0 }, { "container", 1 } } },
    { .name = "container: the token file wins over the variable",
      .cmds = { "auth fileAuthToken456" },
      .files = { { "token", "fileAuthToken456\n" } },
      .env = { { "AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://localhost:@PORT@/creds/full" },
               { "AWS_CONTAINER_AUTHORIZATION_TOKEN", "envAuthTokenWrong" },
               { "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "@HOME@/token" } },
      .key_id = "ASIACONTAINER0001",
      .source = "container",
      .stats = { { "unauthorized", 0 } } },
    { .name = "container: a wrong token is an error that does not quote it",
      .cmds = { "auth rightToken" },
      .env = { { "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/creds/x" },
               { "AWS_CONTAINER_AUTHORIZATION_TOKEN", "wrongSecretToken789" } },
      .code = ERR_SERVICE,
      .has = { "HTTP 401" },
      .lacks = { "wrongSecretToken789" },
      .stats = { { "unauthorized", 1 } } },
    { .name = "container: a token with a line break is refused before any request",
      .files = { { "token", "firstHalfSecret\nX-Injected: yes\n" } },
      .env = { { "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/creds/x" },
               { "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "@HOME@/token" } },
      .code = ERR_CONFIG,
      .has = { "line break" },
      .lacks = { "firstHalfSecret" },
      .stats = { { "requests", 0 } } },
    { .name = "container: a full URI off loopback is refused at once, without a request",
      .env = { { "AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://192.0.2.1:@PORT@/creds/full" } },
      .code = ERR_CONFIG,
      .has = { "refused", "192.0.2.1" },
      .max_ms = 500,
      .stats = { { "requests", 0 } } },
    { .name = "container: 0.0.0.0 is not loopback by the rule",
      .env = { { "AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://0.0.0.0:@PORT@/creds/full" } },
      .code = ERR_CONFIG,
      .stats = { { "requests", 0 } } },
    { .name = "container: an answer that is not JSON is a clear error",
      .cmds = { "mode container garbage" },
      .env = { { "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/creds/x" } },
      .code = ERR_SERVICE,
      .has = { "container endpoint http://127.0.0.1:@PORT@/creds/x: invalid JSON" } },
    { .name = "container: a bad secret is refused, not quoted",
      .cmds = { "mode container badsecret" },
      .env = { { "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/creds/x" } },
      .has = { "SecretAccessKey: contains a control character" },
      .lacks = { "containerSecret0001" } },
    { .name = "container: an expired answer is an error",
      .cmds = { "mode container expired" },
      .env = { { "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/creds/x" } },
      .has = { "already expired" } },
    { .name = "imds: an answer that is not JSON is a clear error",
      .cmds = { "mode imds garbage" },
      .has = { "IMDS (http://127.0.0.1:@PORT@, role test-role: invalid JSON" } },
    { .name = "imds: a Code other than Success",
      .cmds = { "mode imds failcode" },
      .has = { "Code is not \"Success\"" } },
    { .name = "imds: no role attached",
      .cmds = { "mode imds norole" },
      .has = { "no IAM role attached" } },
    { .name = "imds: disabled, it is not contacted",
      .env = { { "AWS_EC2_METADATA_DISABLED", "TRUE" } },
      .has = { "IMDS (disabled by AWS_EC2_METADATA_DISABLED)" },
      .stats = { { "requests", 0 } } },
    { .name = "imds: unreachable, the message names what was tried",
      .env = { { "AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:1/" } },
      .code = ERR_NOTFOUND,
      .has = { "no AWS credentials: tried environment, shared file",
               "container (not configured), IMDS (http://127.0.0.1:1: connect failed)" } },
};

#define T_NCASES (sizeof t_cases / sizeof t_cases[0])
#define T_NSERVER_CASES (sizeof t_server_cases / sizeof t_server_cases[0])

/* s with @HOME@ and @PORT@ replaced (static storage, one of four in turn). */
static const char *t_expand(const char *s)
{
    static char out[4][1024];
    static int turn;
    char *o = out[turn++ % 4];
    size_t n = 0;
    o[0] = '\0';
    while (*s) {
        char port[16];
        snprintf(port, sizeof port, "%d", t_port);
        const char *with = strncmp(s, "@HOME@", 6) == 0   ? t_home
                           : strncmp(s, "@PORT@", 6) == 0 ? port
                                                          : NULL;
        if (with) {
            n += (size_t)snprintf(o + n, 1024 - n, "%s", with);
            s += 6;
        } else if (n + 1 < 1024) {
            o[n++] = *s++;
            o[n] = '\0';
        } else {
            s++;
        }
        ck_assert_uint_lt(n, 1024);
    }
    return o;
}

static void t_run(const t_case *tc)
{
    long before[2] = { 0, 0 };
    for (int i = 0; i < 2 && tc->cmds[i]; i++)
        ck_assert_msg(strcmp(t_cmd("%s", tc->cmds[i]), "ok") == 0, "%s: %s", tc->name, tc->cmds[i]);
    for (int i = 0; i < 5 && tc->env[i][0]; i++)
        t_setenv(tc->env[i][0], "%s", t_expand(tc->env[i][1]));
    for (int i = 0; i < 3 && tc->files[i][0]; i++)
        t_write(tc->files[i][0], tc->files[i][1]);
    for (int i = 0; i < 2 && tc->stats[i].name; i++)
        before[i] = t_stat(tc->stats[i].name);

    creds_options o = t_opts();
    creds *c = creds_new(&o);
    ck_assert_ptr_nonnull(c);
    const creds_value *v = (const creds_value *)1;
    errinfo e;
    int64_t t0 = clock_mono_ms();
    int rc = creds_get(c, &v, &e);
    int64_t took = clock_mono_ms() - t0;
    if (tc->key_id) {
        ck_assert_msg(rc == 0, "%s: creds_get failed: %s", tc->name, e.msg);
        ck_assert_str_eq(v->access_key_id, tc->key_id);
        if (tc->secret)
            ck_assert_str_eq(v->secret_access_key, tc->secret);
        if (tc->token && strcmp(tc->token, T_NO_TOKEN) == 0)
            ck_assert_ptr_null(v->session_token);
        else if (tc->token)
            ck_assert_str_eq(v->session_token, tc->token);
        ck_assert_str_eq(v->source, tc->source);
        if (strcmp(tc->source, "environment") == 0 || strcmp(tc->source, "shared-file") == 0)
            ck_assert_int_eq(v->expires_at_s, 0);
        ck_assert_int_eq(creds_get(c, &v, &e), 0);
        ck_assert_str_eq(v->access_key_id, tc->key_id);
    } else {
        ck_assert_msg(rc == -1, "%s: creds_get succeeded", tc->name);
        ck_assert_ptr_null(v);
        if (tc->code != ERR_OK)
            ck_assert_msg(e.code == tc->code, "%s: code %d, expected %d: %s", tc->name, e.code,
                          tc->code, e.msg);
        for (int i = 0; i < 3 && tc->has[i]; i++) {
            const char *part = t_expand(tc->has[i]);
            ck_assert_msg(strstr(e.msg, part) != NULL, "%s: \"%s\" lacks \"%s\"", tc->name, e.msg,
                          part);
        }
        for (int i = 0; i < 2 && tc->lacks[i]; i++)
            ck_assert_msg(strstr(e.msg, tc->lacks[i]) == NULL, "%s: \"%s\" contains \"%s\"",
                          tc->name, e.msg, tc->lacks[i]);
    }
    creds_free(c);
    if (tc->max_ms > 0)
        ck_assert_msg(took < tc->max_ms, "%s: took %lld ms", tc->name, (long long)took);
    for (int i = 0; i < 2 && tc->stats[i].name; i++)
        ck_assert_msg(t_stat(tc->stats[i].name) - before[i] == tc->stats[i].delta,
                      "%s: %s moved by %ld, expected %ld", tc->name, tc->stats[i].name,
                      t_stat(tc->stats[i].name) - before[i], tc->stats[i].delta);
}

START_TEST(chain_cases)
{
    t_run(&t_cases[_i]);
}
END_TEST

START_TEST(chain_cases_with_the_stand_in)
{
    t_run(&t_server_cases[_i]);
}
END_TEST

/* ---- shared files and the pure parts ------------------------------------------------------ */

START_TEST(file_too_big_is_refused)
{
    size_t n = CREDS_MAX_FILE + 10;
    char *big = malloc(n + 1);
    ck_assert_ptr_nonnull(big);
    memset(big, '#', n);
    big[n] = '\0';
    t_write(".aws/credentials", big);
    free(big);
    creds_options o = t_opts();
    errinfo e;
    t_expect_error(&o, &e);
    ck_assert_int_eq(e.code, ERR_TOOBIG);
}
END_TEST

START_TEST(file_of_exactly_the_cap_is_read)
{
    /* a valid profile padded with a comment to CREDS_MAX_FILE bytes: read (one byte more is
     * file_too_big_is_refused's case; the old reader asked for the cap plus one and said
     * "out of memory") */
    static const char head[] = "[default]\naws_access_key_id = AKIDEXACT\n"
                               "aws_secret_access_key = secretexact\n";
    size_t n = CREDS_MAX_FILE;
    char *text = malloc(n + 1);
    ck_assert_ptr_nonnull(text);
    memset(text, '#', n);
    memcpy(text, head, sizeof head - 1);
    for (size_t i = sizeof head + 100; i < n; i += 100) /* comment lines of 100 bytes */
        text[i] = '\n';
    text[n - 1] = '\n';
    text[n] = '\0';
    t_write(".aws/credentials", text);
    free(text);
    creds_options o = t_opts();
    creds *c = creds_new(&o);
    ck_assert_ptr_nonnull(c);
    const creds_value *v = NULL;
    errinfo e;
    ck_assert_msg(creds_get(c, &v, &e) == 0, "%s", e.msg);
    ck_assert_str_eq(v->access_key_id, "AKIDEXACT");
    ck_assert_str_eq(v->source, "shared-file");
    creds_free(c);
}
END_TEST

START_TEST(ini_parser_bounds_and_edges)
{
    creds_profile p;
    errinfo e;
    /* A line over the limit. */
    size_t n = CREDS_MAX_LINE + 40;
    char *text = malloc(n + 1);
    ck_assert_ptr_nonnull(text);
    memcpy(text, "[default]\naws_session_token = ", 30);
    memset(text + 30, 'x', n - 30);
    text[n] = '\0';
    ck_assert_int_eq(creds_ini_profile((strv){ text, n }, "default", false, &p, &e), -1);
    T_ASSERT_HAS(e.msg, "line 2 is longer than");
    ck_assert_ptr_null(p.session_token);
    free(text);
    /* A header without its bracket, and later values winning, and NUL bytes. */
    ck_assert_int_eq(creds_ini_profile(STRV("[default\n"), "default", false, &p, &e), -1);
    T_ASSERT_HAS(e.msg, "line 1");
    ck_assert_int_eq(creds_ini_profile(STRV("[a]\naws_access_key_id=1\n[a]\naws_access_key_id=2\n"
                                            "aws_session_token=\n"),
                                       "a", false, &p, &e),
                     0);
    ck_assert(p.found);
    ck_assert_str_eq(p.access_key_id, "2");
    ck_assert_ptr_null(p.session_token);
    creds_profile_cleanup(&p);
    ck_assert_int_eq(creds_ini_profile(STRV("[a]\nx=1\0y\n"), "a", false, &p, &e), -1);
    T_ASSERT_HAS(e.msg, "NUL");
    /* Sections by form: [profile a] only counts in the config file. */
    ck_assert_int_eq(
        creds_ini_profile(STRV("[profile a]\naws_access_key_id=K\n"), "a", false, &p, &e), 0);
    ck_assert(!p.found);
    creds_profile_cleanup(&p);
    ck_assert_int_eq(
        creds_ini_profile(STRV("[profile a]\naws_access_key_id=K\n"), "a", true, &p, &e), 0);
    ck_assert(p.found);
    ck_assert_str_eq(p.access_key_id, "K");
    creds_profile_cleanup(&p);
    creds_profile_cleanup(NULL);
}
END_TEST

START_TEST(full_uri_rule)
{
    static const char *const allowed[] = {
        "http://127.0.0.1/creds",
        "http://127.1.2.3:8080/x?y=1",
        "http://localhost:51679/",
        "HTTP://LOCALHOST/x",
        "http://[::1]:80/creds",
        "http://169.254.170.2/v2/creds",
        "http://169.254.170.23/v1/credentials",
        "http://[fd00:ec2::23]/v1/credentials",
        "https://creds.example.com/path",
        "https://10.0.0.5:8443/x",
    };
    static const char *const refused[] = {
        "http://192.0.2.1/creds",
        "http://10.0.0.5/creds",
        "http://0.0.0.0:80/creds",
        "http://169.254.169.254/latest",
        "http://169.254.170.3/",
        "http://127.0.0.1.evil.example/",
        "http://127.0.0.1@evil.example/",
        "http://evil.example#@127.0.0.1/",
        "http://localhost.evil.example/",
        "http://[::2]/",
        "http://[::1/",
        "http://127.0.0.1:x/",
        "ftp://127.0.0.1/",
        "/relative/only",
        "http:///nohost",
        "http://127.0.0.1/a b",
        "http://0177.0.0.1/",
        "http://2130706433/",
    };
    errinfo e;
    for (size_t i = 0; i < sizeof allowed / sizeof allowed[0]; i++)
        ck_assert_msg(creds_full_uri_check(allowed[i], &e) == 0, "%s refused: %s", allowed[i],
                      e.msg);
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        ck_assert_msg(creds_full_uri_check(refused[i], &e) == -1, "%s allowed", refused[i]);
        ck_assert_int_eq(e.code, ERR_CONFIG);
    }
}
END_TEST

START_TEST(answer_reader_validates)
{
    static const struct {
        const char *json;
        bool imds;
        const char *want;
    } bad[] = {
        { "[1]", false, "not a JSON object" },
        { "{\"AccessKeyId\":7,\"SecretAccessKey\":\"jsonSecret1\","
          "\"Expiration\":\"2030-01-01T00:00:00Z\"}",
          false, "AccessKeyId is not a string" },
        { "{\"AccessKeyId\":\"AK\",\"SecretAccessKey\":\"jsonSecret1\"}", false,
          "missing Expiration" },
        { "{\"AccessKeyId\":\"AK\",\"SecretAccessKey\":\"jsonSecret1\",\"Expiration\":\"soon\"}",
          false, "Expiration is not" },
        { "{\"AccessKeyId\":\"AK\",\"SecretAccessKey\":\"jsonSecret1\",\"Token\":\"T\","
          "\"Expiration\":\"2030-01-01T00:00:00Z\"}",
          true, "Code" },
        { "{\"Code\":\"Success\",\"AccessKeyId\":\"AK\",\"SecretAccessKey\":\"jsonSecret1\","
          "\"Expiration\":\"2030-01-01T00:00:00Z\"}",
          true, "missing Token" },
        { "{\"AccessKeyId\":\"AK\",\"SecretAccessKey\":\"jsonSecret1 x\","
          "\"Expiration\":\"2030-01-01T00:00:00Z\"}",
          false, "SecretAccessKey: contains a space" },
        { "{\"AccessKeyId\":\"AK\",\"SecretAccessKey\":\"jsonSecret1\\u0001\","
          "\"Expiration\":\"2030-01-01T00:00:00Z\"}",
          false, "control character" },
        { "{\"AccessKeyId\":\"AK\",\"AccessKeyId\":\"AK2\"}", false, "invalid JSON" },
    };
    creds_value v;
    errinfo e;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_int_eq(
            creds_parse_json(bad[i].json, strlen(bad[i].json), bad[i].imds, "test", &v, &e), -1);
        T_ASSERT_HAS(e.msg, bad[i].want);
        T_ASSERT_LACKS(e.msg, "jsonSecret1");
        ck_assert_ptr_null(v.access_key_id);
    }
    /* A token one over the limit. */
    buf b;
    buf_init(&b, 0);
    buf_append_str(&b, "{\"AccessKeyId\":\"AK\",\"SecretAccessKey\":\"S\",\"Token\":\"");
    for (int i = 0; i <= CREDS_MAX_TOKEN; i++)
        buf_putc(&b, 't');
    buf_append_str(&b, "\",\"Expiration\":\"2030-01-01T00:00:00Z\"}");
    ck_assert_int_eq(creds_parse_json(b.data, b.len, false, "test", &v, &e), -1);
    T_ASSERT_HAS(e.msg, "Token: longer than 8192");
    buf_cleanup(&b);
    const char *ok = "{\"AccessKeyId\":\"AK\",\"SecretAccessKey\":\"S\",\"Token\":null,"
                     "\"Expiration\":\"2030-01-01T00:00:00Z\"}";
    ck_assert_int_eq(creds_parse_json(ok, strlen(ok), false, "test", &v, &e), 0);
    ck_assert_str_eq(v.access_key_id, "AK");
    ck_assert_ptr_null(v.session_token);
    ck_assert_int_eq(v.expires_at_s, 1893456000);
    creds_value_cleanup(&v);
    creds_value_cleanup(NULL);
}
END_TEST

/* ---- sequences against the stand-in: caching, rotation, refresh ---------------------------- */

START_TEST(container_relative_uri_after_absent_files)
{
    t_setenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/creds/v2/task-id");
    creds_options o = t_opts();
    creds *c = creds_new(&o);
    const creds_value *v;
    errinfo e;
    int rc = creds_get(c, &v, &e);
    ck_assert_msg(rc == 0, "creds_get failed: %s", e.msg);
    ck_assert_str_eq(v->access_key_id, "ASIACONTAINER0001");
    ck_assert_str_eq(v->secret_access_key, "containerSecret0001/abcDEF+ghiJKL");
    ck_assert_ptr_nonnull(v->session_token);
    ck_assert(strncmp(v->session_token, "containerToken0001+", 19) == 0);
    ck_assert_str_eq(v->source, "container");
    int64_t now = clock_real_us() / 1000000;
    ck_assert_int_ge(v->expires_at_s, now + 3590);
    ck_assert_int_le(v->expires_at_s, now + 3610);
    /* Cached: far from expiry, no second request. */
    ck_assert_int_eq(creds_get(c, &v, &e), 0);
    ck_assert_str_eq(v->access_key_id, "ASIACONTAINER0001");
    ck_assert_int_eq(t_stat("container"), 1);
    creds_free(c);
}
END_TEST

START_TEST(container_rotation)
{
    ck_assert_str_eq(t_cmd("expires_in 2"), "ok");
    t_setenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/creds/x");
    creds_options o = t_opts();
    creds *c = creds_new(&o);
    const creds_value *v;
    errinfo e;
    ck_assert_int_eq(creds_get(c, &v, &e), 0);
    ck_assert_str_eq(v->access_key_id, "ASIACONTAINER0001");
    ck_assert_int_eq(creds_get(c, &v, &e), 0);
    ck_assert_str_eq(v->access_key_id, "ASIACONTAINER0002");
    ck_assert_str_eq(v->secret_access_key, "containerSecret0002/abcDEF+ghiJKL");
    creds_free(c);
}
END_TEST

START_TEST(imds_serves_credentials_with_the_token)
{
    creds_options o = t_opts();
    creds *c = creds_new(&o);
    const creds_value *v;
    errinfo e;
    int rc = creds_get(c, &v, &e);
    ck_assert_msg(rc == 0, "creds_get failed: %s", e.msg);
    ck_assert_str_eq(v->access_key_id, "ASIAIMDS0001");
    ck_assert_str_eq(v->secret_access_key, "imdsSecret0001/abcDEF+ghiJKL");
    ck_assert(strncmp(v->session_token, "imdsToken0001+", 14) == 0);
    ck_assert_str_eq(v->source, "imds");
    ck_assert_int_gt(v->expires_at_s, clock_real_us() / 1000000 + 3000);
    /* One token PUT, and every GET carried it (the server answers 401 without). */
    ck_assert_int_eq(t_stat("token_puts"), 1);
    ck_assert_int_eq(t_stat("unauthorized"), 0);
    ck_assert_int_eq(t_stat("imds_creds"), 1);
    creds_free(c);
}
END_TEST

START_TEST(imds_rotation)
{
    ck_assert_str_eq(t_cmd("expires_in 2"), "ok");
    creds_options o = t_opts();
    creds *c = creds_new(&o);
    const creds_value *v;
    errinfo e;
    ck_assert_int_eq(creds_get(c, &v, &e), 0);
    ck_assert_str_eq(v->access_key_id, "ASIAIMDS0001");
    ck_assert_int_eq(creds_get(c, &v, &e), 0);
    ck_assert_str_eq(v->access_key_id, "ASIAIMDS0002");
    ck_assert_str_eq(v->source, "imds");
    ck_assert_int_eq(t_stat("unauthorized"), 0);
    creds_free(c);
}
END_TEST

START_TEST(imds_refresh_window_with_a_fake_clock)
{
    creds_options o = t_opts();
    o.now_s_fn = t_now_fn;
    creds *c = creds_new(&o);
    const creds_value *v;
    errinfo e;
    ck_assert_int_eq(creds_get(c, &v, &e), 0);
    ck_assert_str_eq(v->access_key_id, "ASIAIMDS0001");
    t_now += 3000; /* 600 s left: still cached */
    ck_assert_int_eq(creds_get(c, &v, &e), 0);
    ck_assert_str_eq(v->access_key_id, "ASIAIMDS0001");
    ck_assert_int_eq(t_stat("imds_creds"), 1);
    t_now += 400; /* 200 s left: inside refresh_before_s */
    ck_assert_int_eq(creds_get(c, &v, &e), 0);
    ck_assert_str_eq(v->access_key_id, "ASIAIMDS0002");
    creds_free(c);
}
END_TEST

START_TEST(imds_refresh_failure_keeps_valid_credentials)
{
    creds_options o = t_opts();
    o.now_s_fn = t_now_fn;
    creds *c = creds_new(&o);
    const creds_value *v;
    errinfo e;
    ck_assert_int_eq(creds_get(c, &v, &e), 0);
    ck_assert_str_eq(v->access_key_id, "ASIAIMDS0001");
    ck_assert_str_eq(t_cmd("mode imds error500"), "ok");
    t_now += 3400; /* 200 s left: the refresh fails, the old ones stay */
    ck_assert_int_eq(creds_get(c, &v, &e), 0);
    ck_assert_str_eq(v->access_key_id, "ASIAIMDS0001");
    ck_assert_str_eq(v->secret_access_key, "imdsSecret0001/abcDEF+ghiJKL");
    ck_assert_int_eq(t_stat("imds_creds"), 2);
    ck_assert_int_eq(creds_get(c, &v, &e), 0); /* no retry at once */
    ck_assert_int_eq(t_stat("imds_creds"), 2);
    t_now += 250; /* expired: the failure is an error now */
    ck_assert_int_eq(creds_get(c, &v, &e), -1);
    ck_assert_ptr_null(v);
    T_ASSERT_HAS(e.msg, "expired");
    T_ASSERT_HAS(e.msg, "HTTP 500");
    T_ASSERT_LACKS(e.msg, "imdsSecret0001");
    T_ASSERT_LACKS(e.msg, "ASIAIMDS0001");
    ck_assert_str_eq(t_cmd("mode imds ok"), "ok");
    t_now = clock_real_us() / 1000000;
    ck_assert_int_eq(creds_get(c, &v, &e), 0);
    ck_assert_str_eq(v->access_key_id, "ASIAIMDS0004");
    creds_free(c);
}
END_TEST

static Suite *creds_suite(void)
{
    Suite *s = suite_create("creds");
    TCase *tc = tcase_create("chain");
    tcase_add_checked_fixture(tc, t_setup, t_teardown);
    tcase_add_loop_test(tc, chain_cases, 0, (int)T_NCASES);
    suite_add_tcase(s, tc);

    tc = tcase_create("shared-files");
    tcase_add_checked_fixture(tc, t_setup, t_teardown);
    tcase_add_test(tc, file_too_big_is_refused);
    tcase_add_test(tc, file_of_exactly_the_cap_is_read);
    tcase_add_test(tc, ini_parser_bounds_and_edges);
    suite_add_tcase(s, tc);

    tc = tcase_create("validation");
    tcase_add_test(tc, full_uri_rule);
    tcase_add_test(tc, answer_reader_validates);
    suite_add_tcase(s, tc);

    tc = tcase_create("endpoints");
    tcase_add_checked_fixture(tc, t_server_setup, t_server_teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_loop_test(tc, chain_cases_with_the_stand_in, 0, (int)T_NSERVER_CASES);
    tcase_add_test(tc, container_relative_uri_after_absent_files);
    tcase_add_test(tc, container_rotation);
    tcase_add_test(tc, imds_serves_credentials_with_the_token);
    tcase_add_test(tc, imds_rotation);
    tcase_add_test(tc, imds_refresh_window_with_a_fake_clock);
    tcase_add_test(tc, imds_refresh_failure_keeps_valid_credentials);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tap_run(creds_suite());
}
