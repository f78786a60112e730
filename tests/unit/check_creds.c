/* check_creds.c — the credentials chain: environment, shared files, container endpoint and
 * IMDSv2 (against tests/tools/metadata_server.py), refresh, and secrets kept out of errors. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "aws/creds.h"
#include "aws/creds_internal.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/log.h"
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

static pid_t t_srv_pid = -1;
static int t_srv_in = -1, t_srv_out = -1;
static int t_port;

/* One line from fd into out (without the newline), waiting at most 10 s. */
static void t_readline(int fd, char *out, size_t outlen)
{
    size_t n = 0;
    for (;;) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        ck_assert_msg(poll(&p, 1, 10000) == 1, "metadata server did not answer");
        char ch;
        ssize_t r = read(fd, &ch, 1);
        ck_assert_msg(r == 1, "metadata server closed its output");
        if (ch == '\n')
            break;
        if (n + 1 < outlen)
            out[n++] = ch;
    }
    out[n] = '\0';
}

/* Sends one command to the server and returns its one-line reply. */
static const char *t_cmd(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static const char *t_cmd(const char *fmt, ...)
{
    static char reply[512];
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line - 1, fmt, ap);
    va_end(ap);
    ck_assert(n > 0 && (size_t)n < sizeof line - 1);
    line[n++] = '\n';
    ck_assert_int_eq(write(t_srv_in, line, (size_t)n), n);
    t_readline(t_srv_out, reply, sizeof reply);
    return reply;
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

static void t_cloexec(int fd)
{
    fcntl(fd, F_SETFD, FD_CLOEXEC);
}

static void t_server_setup(void)
{
    t_setup();
    const char *srcdir = getenv("CR_SRCDIR");
    char script[1024];
    snprintf(script, sizeof script, "%s/tests/tools/metadata_server.py",
             srcdir && *srcdir ? srcdir : CR_SRCDIR);
    int in[2], out[2];
    ck_assert_int_eq(pipe(in), 0);
    ck_assert_int_eq(pipe(out), 0);
    t_srv_pid = fork();
    ck_assert_int_ge(t_srv_pid, 0);
    if (t_srv_pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        close(in[0]);
        close(in[1]);
        close(out[0]);
        close(out[1]);
        execlp("python3", "python3", script, "--max-seconds", "120", (char *)NULL);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    t_srv_in = in[1];
    t_srv_out = out[0];
    t_cloexec(t_srv_in);
    t_cloexec(t_srv_out);
    char line[64];
    t_readline(t_srv_out, line, sizeof line);
    t_port = (int)strtol(line, NULL, 10);
    ck_assert_int_gt(t_port, 0);
    t_unsetenv("AWS_EC2_METADATA_DISABLED");
    t_setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:%d", t_port);
    t_setenv("CRUDDUR_CONTAINER_CREDENTIALS_HOST", "http://127.0.0.1:%d", t_port);
}

static void t_server_teardown(void)
{
    if (t_srv_in >= 0)
        close(t_srv_in);  /* the server exits when its stdin closes */
    if (t_srv_pid > 0) {
        int status;
        int64_t deadline = clock_mono_ms() + 3000;
        while (waitpid(t_srv_pid, &status, WNOHANG) == 0) {
            if (clock_mono_ms() > deadline) {
                kill(t_srv_pid, SIGKILL);
                waitpid(t_srv_pid, &status, 0);
                break;
            }
            clock_sleep_ms(10);
        }
    }
    if (t_srv_out >= 0)
        close(t_srv_out);
    t_srv_pid = -1;
    t_srv_in = t_srv_out = -1;
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

#define T_ASSERT_HAS(msg, part) \
    ck_assert_msg(strstr((msg), (part)) != NULL, "\"%s\" lacks \"%s\"", (msg), (part))
#define T_ASSERT_LACKS(msg, part) \
    ck_assert_msg(strstr((msg), (part)) == NULL, "\"%s\" contains \"%s\"", (msg), (part))

/* ---- environment -------------------------------------------------------------------------- */

START_TEST(env_full_set)
{
    t_setenv("AWS_ACCESS_KEY_ID", "AKIDENVEXAMPLE");
    t_setenv("AWS_SECRET_ACCESS_KEY", "envSecret/K7MDENG+bPxRfiCY");
    creds_options o = t_opts();
    creds *c = creds_new(&o);
    const creds_value *v;
    errinfo e;
    ck_assert_int_eq(creds_get(c, &v, &e), 0);
    ck_assert_str_eq(v->access_key_id, "AKIDENVEXAMPLE");
    ck_assert_str_eq(v->secret_access_key, "envSecret/K7MDENG+bPxRfiCY");
    ck_assert_ptr_null(v->session_token);
    ck_assert_int_eq(v->expires_at_s, 0);
    ck_assert_str_eq(v->source, "environment");
    ck_assert_int_eq(creds_get(c, &v, &e), 0);
    ck_assert_str_eq(v->access_key_id, "AKIDENVEXAMPLE");
    creds_free(c);
}
END_TEST

START_TEST(env_with_session_token)
{
    t_setenv("AWS_ACCESS_KEY_ID", "ASIAENVEXAMPLE");
    t_setenv("AWS_SECRET_ACCESS_KEY", "envSecret");
    t_setenv("AWS_SESSION_TOKEN", "envSessionToken+/=");
    creds_options o = t_opts();
    creds *c = creds_new(&o);
    const creds_value *v;
    errinfo e;
    ck_assert_int_eq(creds_get(c, &v, &e), 0);
    ck_assert_str_eq(v->session_token, "envSessionToken+/=");
    creds_free(c);
}
END_TEST

START_TEST(env_key_without_secret_is_an_error)
{
    t_setenv("AWS_ACCESS_KEY_ID", "AKIDENVEXAMPLE");
    creds_options o = t_opts();
    errinfo e;
    t_expect_error(&o, &e);
    ck_assert_int_eq(e.code, ERR_CONFIG);
    T_ASSERT_HAS(e.msg, "AWS_SECRET_ACCESS_KEY");
}
END_TEST

START_TEST(env_secret_without_key_is_an_error_without_the_secret)
{
    t_setenv("AWS_SECRET_ACCESS_KEY", "lonelySecretValue");
    creds_options o = t_opts();
    errinfo e;
    t_expect_error(&o, &e);
    T_ASSERT_HAS(e.msg, "AWS_ACCESS_KEY_ID");
    T_ASSERT_LACKS(e.msg, "lonelySecretValue");
}
END_TEST

START_TEST(env_bad_values_are_refused_without_quoting_them)
{
    t_setenv("AWS_ACCESS_KEY_ID", "AKIDENVEXAMPLE");
    t_setenv("AWS_SECRET_ACCESS_KEY", "badSecretValue\x01tail");
    creds_options o = t_opts();
    errinfo e;
    t_expect_error(&o, &e);
    T_ASSERT_HAS(e.msg, "AWS_SECRET_ACCESS_KEY");
    T_ASSERT_HAS(e.msg, "control character");
    T_ASSERT_LACKS(e.msg, "badSecretValue");

    char longkey[200];
    memset(longkey, 'A', 129);
    longkey[129] = '\0';
    t_setenv("AWS_ACCESS_KEY_ID", "%s", longkey);
    t_setenv("AWS_SECRET_ACCESS_KEY", "fineSecretValue");
    t_expect_error(&o, &e);
    T_ASSERT_HAS(e.msg, "AWS_ACCESS_KEY_ID: longer than 128");
    T_ASSERT_LACKS(e.msg, "fineSecretValue");
}
END_TEST

START_TEST(env_comes_before_shared_file)
{
    t_write(".aws/credentials", "[default]\naws_access_key_id = AKIDFILE\n"
                                "aws_secret_access_key = fileSecret\n");
    t_setenv("AWS_ACCESS_KEY_ID", "AKIDENV");
    t_setenv("AWS_SECRET_ACCESS_KEY", "envSecret");
    creds_options o = t_opts();
    creds *c = creds_new(&o);
    const creds_value *v;
    errinfo e;
    ck_assert_int_eq(creds_get(c, &v, &e), 0);
    ck_assert_str_eq(v->access_key_id, "AKIDENV");
    creds_free(c);
}
END_TEST

/* ---- shared files ------------------------------------------------------------------------- */

static const char t_two_profiles[] =
    "[default]\n"
    "aws_access_key_id = AKIDDEFAULT\n"
    "aws_secret_access_key = defaultSecret\n"
    "\n"
    "[other]\n"
    "aws_access_key_id = ASIAOTHER\n"
    "aws_secret_access_key = otherSecret\n"
    "aws_session_token = otherToken\n";

/* creds_get on a fresh provider that must succeed; returns a copy of the key id. */
static void t_expect_key(const creds_options *o, const char *key_id, const char *secret,
                         const char *source)
{
    creds *c = creds_new(o);
    const creds_value *v;
    errinfo e;
    int rc = creds_get(c, &v, &e);
    ck_assert_msg(rc == 0, "creds_get failed: %s", e.msg);
    ck_assert_str_eq(v->access_key_id, key_id);
    if (secret)
        ck_assert_str_eq(v->secret_access_key, secret);
    ck_assert_str_eq(v->source, source);
    creds_free(c);
}

START_TEST(file_default_profile)
{
    t_write(".aws/credentials", t_two_profiles);
    creds_options o = t_opts();
    t_expect_key(&o, "AKIDDEFAULT", "defaultSecret", "shared-file");
}
END_TEST

START_TEST(file_aws_profile_selects)
{
    t_write(".aws/credentials", t_two_profiles);
    t_setenv("AWS_PROFILE", "other");
    creds_options o = t_opts();
    creds *c = creds_new(&o);
    const creds_value *v;
    errinfo e;
    ck_assert_int_eq(creds_get(c, &v, &e), 0);
    ck_assert_str_eq(v->access_key_id, "ASIAOTHER");
    ck_assert_str_eq(v->secret_access_key, "otherSecret");
    ck_assert_str_eq(v->session_token, "otherToken");
    ck_assert_int_eq(v->expires_at_s, 0);
    creds_free(c);
}
END_TEST

START_TEST(file_comments_and_whitespace)
{
    t_write(".aws/credentials",
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
            "aws_access_key_id = AKIDWRONG\r\n");
    creds_options o = t_opts();
    t_expect_key(&o, "AKIDSPACED", "spaced/Secret+Value", "shared-file");
}
END_TEST

START_TEST(file_config_profile_form)
{
    t_write(".aws/config",
            "[default]\n"
            "aws_access_key_id = AKIDCONFIGDEFAULT\n"
            "aws_secret_access_key = configDefaultSecret\n"
            "[dev]\n"
            "aws_access_key_id = AKIDNOTAPROFILE\n"
            "aws_secret_access_key = notAProfileSecret\n"
            "[profile   dev ]\n"
            "region = us-east-1\n"
            "aws_access_key_id = AKIDCONFIGDEV\n"
            "aws_secret_access_key = configDevSecret\n");
    creds_options o = t_opts();
    t_expect_key(&o, "AKIDCONFIGDEFAULT", "configDefaultSecret", "shared-file");
    t_setenv("AWS_PROFILE", "dev");
    t_expect_key(&o, "AKIDCONFIGDEV", "configDevSecret", "shared-file");
}
END_TEST

START_TEST(file_credentials_file_wins_over_config)
{
    t_write(".aws/config", "[profile other]\naws_access_key_id = AKIDFROMCONFIG\n"
                           "aws_secret_access_key = configSecret\n");
    t_write(".aws/credentials", t_two_profiles);
    t_setenv("AWS_PROFILE", "other");
    creds_options o = t_opts();
    t_expect_key(&o, "ASIAOTHER", "otherSecret", "shared-file");
}
END_TEST

START_TEST(file_locations_from_variables)
{
    t_write("my-creds", "[default]\naws_access_key_id = AKIDMOVED\naws_secret_access_key = s\n");
    t_write("my-config", "[profile x]\naws_access_key_id = AKIDMOVEDCONF\n"
                         "aws_secret_access_key = s\n");
    t_write(".aws/credentials", t_two_profiles);
    t_setenv("AWS_SHARED_CREDENTIALS_FILE", "~/my-creds");
    t_setenv("AWS_CONFIG_FILE", "%s", t_path("my-config"));
    creds_options o = t_opts();
    t_expect_key(&o, "AKIDMOVED", NULL, "shared-file");
    t_setenv("AWS_PROFILE", "x");
    t_expect_key(&o, "AKIDMOVEDCONF", NULL, "shared-file");
}
END_TEST

START_TEST(file_named_profile_missing_is_an_error)
{
    t_write(".aws/credentials", t_two_profiles);
    t_setenv("AWS_PROFILE", "nosuch");
    creds_options o = t_opts();
    errinfo e;
    t_expect_error(&o, &e);
    ck_assert_int_eq(e.code, ERR_CONFIG);
    T_ASSERT_HAS(e.msg, "nosuch");
    T_ASSERT_HAS(e.msg, t_path(".aws/credentials"));
    /* Also with no files at all. */
    t_teardown();
    snprintf(t_home, sizeof t_home, "/tmp/check_creds.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(t_home));
    t_setenv("HOME", "%s", t_home);
    t_expect_error(&o, &e);
    ck_assert_int_eq(e.code, ERR_CONFIG);
    T_ASSERT_HAS(e.msg, "nosuch");
}
END_TEST

START_TEST(file_absent_falls_through)
{
    creds_options o = t_opts();
    errinfo e;
    t_expect_error(&o, &e);
    ck_assert_int_eq(e.code, ERR_NOTFOUND);
    char want[512];
    snprintf(want, sizeof want, "no AWS credentials: tried environment, shared file %s "
             "(profile default), container (not configured), IMDS (disabled",
             t_path(".aws/credentials"));
    T_ASSERT_HAS(e.msg, want);
}
END_TEST

START_TEST(file_profile_without_keys_falls_through)
{
    t_write(".aws/config", "[default]\nregion = us-east-1\n");
    creds_options o = t_opts();
    errinfo e;
    t_expect_error(&o, &e);
    ck_assert_int_eq(e.code, ERR_NOTFOUND);
    T_ASSERT_HAS(e.msg, "profile default has no keys");
}
END_TEST

START_TEST(file_partial_profile_is_an_error)
{
    t_write(".aws/credentials", "[default]\naws_secret_access_key = partialSecretValue\n");
    creds_options o = t_opts();
    errinfo e;
    t_expect_error(&o, &e);
    ck_assert_int_eq(e.code, ERR_CONFIG);
    T_ASSERT_HAS(e.msg, "aws_access_key_id");
    T_ASSERT_LACKS(e.msg, "partialSecretValue");
}
END_TEST

START_TEST(file_malformed_line_names_the_line_not_the_secret)
{
    t_write(".aws/credentials", "[default]\naws_secret_access_key = malformedSecret\n"
                                "malformedSecret is not a key line\n");
    creds_options o = t_opts();
    errinfo e;
    t_expect_error(&o, &e);
    ck_assert_int_eq(e.code, ERR_INVALID);
    T_ASSERT_HAS(e.msg, "line 3");
    T_ASSERT_LACKS(e.msg, "malformedSecret");
}
END_TEST

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
    ck_assert_int_eq(creds_ini_profile(STRV("[profile a]\naws_access_key_id=K\n"), "a", false, &p,
                                       &e),
                     0);
    ck_assert(!p.found);
    creds_profile_cleanup(&p);
    ck_assert_int_eq(creds_ini_profile(STRV("[profile a]\naws_access_key_id=K\n"), "a", true, &p,
                                       &e),
                     0);
    ck_assert(p.found);
    ck_assert_str_eq(p.access_key_id, "K");
    creds_profile_cleanup(&p);
    creds_profile_cleanup(NULL);
}
END_TEST

/* ---- the full-URI rule and the answer reader (no network) --------------------------------- */

START_TEST(full_uri_rule)
{
    static const char *const allowed[] = {
        "http://127.0.0.1/creds", "http://127.1.2.3:8080/x?y=1", "http://localhost:51679/",
        "HTTP://LOCALHOST/x", "http://[::1]:80/creds", "http://169.254.170.2/v2/creds",
        "http://169.254.170.23/v1/credentials", "http://[fd00:ec2::23]/v1/credentials",
        "https://creds.example.com/path", "https://10.0.0.5:8443/x",
    };
    static const char *const refused[] = {
        "http://192.0.2.1/creds", "http://10.0.0.5/creds", "http://0.0.0.0:80/creds",
        "http://169.254.169.254/latest", "http://169.254.170.3/", "http://127.0.0.1.evil.example/",
        "http://127.0.0.1@evil.example/", "http://evil.example#@127.0.0.1/",
        "http://localhost.evil.example/", "http://[::2]/", "http://[::1/", "http://127.0.0.1:x/",
        "ftp://127.0.0.1/", "/relative/only", "http:///nohost", "http://127.0.0.1/a b",
        "http://0177.0.0.1/", "http://2130706433/",
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
          "\"Expiration\":\"2030-01-01T00:00:00Z\"}", false, "AccessKeyId is not a string" },
        { "{\"AccessKeyId\":\"AK\",\"SecretAccessKey\":\"jsonSecret1\"}", false,
          "missing Expiration" },
        { "{\"AccessKeyId\":\"AK\",\"SecretAccessKey\":\"jsonSecret1\",\"Expiration\":\"soon\"}",
          false, "Expiration is not" },
        { "{\"AccessKeyId\":\"AK\",\"SecretAccessKey\":\"jsonSecret1\",\"Token\":\"T\","
          "\"Expiration\":\"2030-01-01T00:00:00Z\"}", true, "Code" },
        { "{\"Code\":\"Success\",\"AccessKeyId\":\"AK\",\"SecretAccessKey\":\"jsonSecret1\","
          "\"Expiration\":\"2030-01-01T00:00:00Z\"}", true, "missing Token" },
        { "{\"AccessKeyId\":\"AK\",\"SecretAccessKey\":\"jsonSecret1 x\","
          "\"Expiration\":\"2030-01-01T00:00:00Z\"}", false, "SecretAccessKey: contains a space" },
        { "{\"AccessKeyId\":\"AK\",\"SecretAccessKey\":\"jsonSecret1\\u0001\","
          "\"Expiration\":\"2030-01-01T00:00:00Z\"}", false, "control character" },
        { "{\"AccessKeyId\":\"AK\",\"AccessKeyId\":\"AK2\"}", false, "invalid JSON" },
    };
    creds_value v;
    errinfo e;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_int_eq(creds_parse_json(bad[i].json, strlen(bad[i].json), bad[i].imds, "test",
                                          &v, &e),
                         -1);
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

/* ---- container ---------------------------------------------------------------------------- */

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

START_TEST(container_full_uri_with_auth_token)
{
    ck_assert_str_eq(t_cmd("auth Bearer envAuthToken123"), "ok");
    t_setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1:%d/creds/full", t_port);
    t_setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "Bearer envAuthToken123");
    creds_options o = t_opts();
    t_expect_key(&o, "ASIACONTAINER0001", NULL, "container");
    ck_assert_int_eq(t_stat("unauthorized"), 0);
}
END_TEST

START_TEST(container_token_file_wins)
{
    ck_assert_str_eq(t_cmd("auth fileAuthToken456"), "ok");
    t_write("token", "fileAuthToken456\n");
    t_setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://localhost:%d/creds/full", t_port);
    t_setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "envAuthTokenWrong");
    t_setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "%s", t_path("token"));
    creds_options o = t_opts();
    t_expect_key(&o, "ASIACONTAINER0001", NULL, "container");
    ck_assert_int_eq(t_stat("unauthorized"), 0);
}
END_TEST

START_TEST(container_wrong_token_error_hides_it)
{
    ck_assert_str_eq(t_cmd("auth rightToken"), "ok");
    t_setenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/creds/x");
    t_setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "wrongSecretToken789");
    creds_options o = t_opts();
    errinfo e;
    t_expect_error(&o, &e);
    ck_assert_int_eq(e.code, ERR_SERVICE);
    T_ASSERT_HAS(e.msg, "HTTP 401");
    T_ASSERT_LACKS(e.msg, "wrongSecretToken789");
    ck_assert_int_eq(t_stat("unauthorized"), 1);
}
END_TEST

START_TEST(container_token_with_line_break_is_refused)
{
    t_write("token", "firstHalfSecret\nX-Injected: yes\n");
    t_setenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/creds/x");
    t_setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "%s", t_path("token"));
    creds_options o = t_opts();
    errinfo e;
    t_expect_error(&o, &e);
    ck_assert_int_eq(e.code, ERR_CONFIG);
    T_ASSERT_HAS(e.msg, "line break");
    T_ASSERT_LACKS(e.msg, "firstHalfSecret");
    ck_assert_int_eq(t_stat("requests"), 0);
}
END_TEST

START_TEST(container_full_uri_non_loopback_is_refused_without_a_request)
{
    creds_options o = t_opts();
    errinfo e;
    t_setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://192.0.2.1:%d/creds/full", t_port);
    int64_t t0 = clock_mono_ms();
    t_expect_error(&o, &e);
    ck_assert_int_lt(clock_mono_ms() - t0, 500);
    ck_assert_int_eq(e.code, ERR_CONFIG);
    T_ASSERT_HAS(e.msg, "refused");
    T_ASSERT_HAS(e.msg, "192.0.2.1");
    /* 0.0.0.0 would reach this machine's listeners: still not loopback by the rule. */
    t_setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://0.0.0.0:%d/creds/full", t_port);
    t_expect_error(&o, &e);
    ck_assert_int_eq(e.code, ERR_CONFIG);
    ck_assert_int_eq(t_stat("requests"), 0);
}
END_TEST

START_TEST(container_garbage_json_is_a_clear_error)
{
    ck_assert_str_eq(t_cmd("mode container garbage"), "ok");
    t_setenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/creds/x");
    creds_options o = t_opts();
    errinfo e;
    t_expect_error(&o, &e);
    ck_assert_int_eq(e.code, ERR_SERVICE);
    char want[128];
    snprintf(want, sizeof want, "container endpoint http://127.0.0.1:%d/creds/x: invalid JSON",
             t_port);
    T_ASSERT_HAS(e.msg, want);
}
END_TEST

START_TEST(container_bad_secret_is_refused_without_quoting_it)
{
    ck_assert_str_eq(t_cmd("mode container badsecret"), "ok");
    t_setenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/creds/x");
    creds_options o = t_opts();
    errinfo e;
    t_expect_error(&o, &e);
    T_ASSERT_HAS(e.msg, "SecretAccessKey: contains a control character");
    T_ASSERT_LACKS(e.msg, "containerSecret0001");
}
END_TEST

START_TEST(container_expired_answer_is_an_error)
{
    ck_assert_str_eq(t_cmd("mode container expired"), "ok");
    t_setenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/creds/x");
    creds_options o = t_opts();
    errinfo e;
    t_expect_error(&o, &e);
    T_ASSERT_HAS(e.msg, "already expired");
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

/* ---- IMDSv2 ------------------------------------------------------------------------------- */

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
    t_now += 3000;  /* 600 s left: still cached */
    ck_assert_int_eq(creds_get(c, &v, &e), 0);
    ck_assert_str_eq(v->access_key_id, "ASIAIMDS0001");
    ck_assert_int_eq(t_stat("imds_creds"), 1);
    t_now += 400;   /* 200 s left: inside refresh_before_s */
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
    t_now += 3400;  /* 200 s left: the refresh fails, the old ones stay */
    ck_assert_int_eq(creds_get(c, &v, &e), 0);
    ck_assert_str_eq(v->access_key_id, "ASIAIMDS0001");
    ck_assert_str_eq(v->secret_access_key, "imdsSecret0001/abcDEF+ghiJKL");
    ck_assert_int_eq(t_stat("imds_creds"), 2);
    ck_assert_int_eq(creds_get(c, &v, &e), 0);  /* no retry at once */
    ck_assert_int_eq(t_stat("imds_creds"), 2);
    t_now += 250;   /* expired: the failure is an error now */
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

START_TEST(imds_garbage_json_is_a_clear_error)
{
    ck_assert_str_eq(t_cmd("mode imds garbage"), "ok");
    creds_options o = t_opts();
    errinfo e;
    t_expect_error(&o, &e);
    char want[128];
    snprintf(want, sizeof want, "IMDS (http://127.0.0.1:%d, role test-role: invalid JSON",
             t_port);
    T_ASSERT_HAS(e.msg, want);
}
END_TEST

START_TEST(imds_failure_code_and_missing_role)
{
    creds_options o = t_opts();
    errinfo e;
    ck_assert_str_eq(t_cmd("mode imds failcode"), "ok");
    t_expect_error(&o, &e);
    T_ASSERT_HAS(e.msg, "Code is not \"Success\"");
    ck_assert_str_eq(t_cmd("mode imds norole"), "ok");
    t_expect_error(&o, &e);
    T_ASSERT_HAS(e.msg, "no IAM role attached");
}
END_TEST

START_TEST(imds_disabled_is_not_contacted)
{
    t_setenv("AWS_EC2_METADATA_DISABLED", "TRUE");
    creds_options o = t_opts();
    errinfo e;
    t_expect_error(&o, &e);
    T_ASSERT_HAS(e.msg, "IMDS (disabled by AWS_EC2_METADATA_DISABLED)");
    ck_assert_int_eq(t_stat("requests"), 0);
}
END_TEST

START_TEST(imds_unreachable_names_what_was_tried)
{
    t_setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:1/");
    creds_options o = t_opts();
    errinfo e;
    t_expect_error(&o, &e);
    ck_assert_int_eq(e.code, ERR_NOTFOUND);
    T_ASSERT_HAS(e.msg, "no AWS credentials: tried environment, shared file");
    T_ASSERT_HAS(e.msg, "container (not configured), IMDS (http://127.0.0.1:1: connect failed)");
}
END_TEST

static Suite *creds_suite(void)
{
    Suite *s = suite_create("creds");
    TCase *tc = tcase_create("environment");
    tcase_add_checked_fixture(tc, t_setup, t_teardown);
    tcase_add_test(tc, env_full_set);
    tcase_add_test(tc, env_with_session_token);
    tcase_add_test(tc, env_key_without_secret_is_an_error);
    tcase_add_test(tc, env_secret_without_key_is_an_error_without_the_secret);
    tcase_add_test(tc, env_bad_values_are_refused_without_quoting_them);
    tcase_add_test(tc, env_comes_before_shared_file);
    suite_add_tcase(s, tc);

    tc = tcase_create("shared-files");
    tcase_add_checked_fixture(tc, t_setup, t_teardown);
    tcase_add_test(tc, file_default_profile);
    tcase_add_test(tc, file_aws_profile_selects);
    tcase_add_test(tc, file_comments_and_whitespace);
    tcase_add_test(tc, file_config_profile_form);
    tcase_add_test(tc, file_credentials_file_wins_over_config);
    tcase_add_test(tc, file_locations_from_variables);
    tcase_add_test(tc, file_named_profile_missing_is_an_error);
    tcase_add_test(tc, file_absent_falls_through);
    tcase_add_test(tc, file_profile_without_keys_falls_through);
    tcase_add_test(tc, file_partial_profile_is_an_error);
    tcase_add_test(tc, file_malformed_line_names_the_line_not_the_secret);
    tcase_add_test(tc, file_too_big_is_refused);
    tcase_add_test(tc, ini_parser_bounds_and_edges);
    suite_add_tcase(s, tc);

    tc = tcase_create("validation");
    tcase_add_test(tc, full_uri_rule);
    tcase_add_test(tc, answer_reader_validates);
    suite_add_tcase(s, tc);

    tc = tcase_create("container");
    tcase_add_checked_fixture(tc, t_server_setup, t_server_teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, container_relative_uri_after_absent_files);
    tcase_add_test(tc, container_full_uri_with_auth_token);
    tcase_add_test(tc, container_token_file_wins);
    tcase_add_test(tc, container_wrong_token_error_hides_it);
    tcase_add_test(tc, container_token_with_line_break_is_refused);
    tcase_add_test(tc, container_full_uri_non_loopback_is_refused_without_a_request);
    tcase_add_test(tc, container_garbage_json_is_a_clear_error);
    tcase_add_test(tc, container_bad_secret_is_refused_without_quoting_it);
    tcase_add_test(tc, container_expired_answer_is_an_error);
    tcase_add_test(tc, container_rotation);
    suite_add_tcase(s, tc);

    tc = tcase_create("imds");
    tcase_add_checked_fixture(tc, t_server_setup, t_server_teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, imds_serves_credentials_with_the_token);
    tcase_add_test(tc, imds_rotation);
    tcase_add_test(tc, imds_refresh_window_with_a_fake_clock);
    tcase_add_test(tc, imds_refresh_failure_keeps_valid_credentials);
    tcase_add_test(tc, imds_garbage_json_is_a_clear_error);
    tcase_add_test(tc, imds_failure_code_and_missing_role);
    tcase_add_test(tc, imds_disabled_is_not_contacted);
    tcase_add_test(tc, imds_unreachable_names_what_was_tried);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tap_run(creds_suite());
}
