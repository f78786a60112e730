/* creds.c — the AWS credentials provider chain: environment, shared files, container
 * endpoint, EC2 IMDSv2, with refresh of temporary credentials from the source that worked.
 *
 * Design note. Each provider answers FOUND (credentials in *out), NONE (not configured or
 * nothing there: a short note for the "tried ..." message, the chain goes on) or -1 (a hard
 * error that stops the chain: a half-set variable, a named profile that does not exist, a
 * configured container endpoint that fails). IMDS failures are NONE: off EC2 there is simply
 * no metadata service. Everything that comes from outside (files, variables, HTTP answers) is
 * bounded and checked before use; no message ever quotes a key, secret or token. */
#include "config.h"
#include "aws/creds.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "aws/creds_internal.h"
#include "aws/http.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/log.h"

#define CREDS_CONTAINER_HOST "http://169.254.170.2"
#define CREDS_IMDS_ENDPOINT "http://169.254.169.254"
#define CREDS_MAX_URI 2048            /* a URI or path from a variable */
#define CREDS_MAX_PATH 4096
#define CREDS_MAX_PROFILE 256
#define CREDS_MAX_AUTH_FILE ((size_t)16 << 10)
#define CREDS_MAX_IMDS_TOKEN 4096
#define CREDS_MAX_ROLE 128
#define CREDS_RETRY_AFTER_S 10        /* after a failed refresh while the old ones are valid */

enum { CREDS_FOUND = 0, CREDS_NONE = 1 };

struct creds {
    creds_options opts;           /* defaults filled in */
    http *http;                   /* made on the first container or IMDS request */
    creds_value cur;              /* access_key_id NULL: none held */
    int src;                      /* index in creds_chain of the source that worked; -1 none */
    int64_t retry_after_s;        /* no refresh attempt before this while cur is valid */
};

/* ---- values ------------------------------------------------------------------------------ */

static void creds_wipe_free(char *s)
{
    if (s) {
        OPENSSL_cleanse(s, strlen(s));
        free(s);
    }
}

static char *creds_dup(const char *p, size_t n)
{
    char *s = malloc(n + 1);
    if (s) {
        memcpy(s, p, n);
        s[n] = '\0';
    }
    return s;
}

void creds_value_cleanup(creds_value *v)
{
    if (!v)
        return;
    creds_wipe_free(v->access_key_id);
    creds_wipe_free(v->secret_access_key);
    creds_wipe_free(v->session_token);
    memset(v, 0, sizeof *v);
}

/* Fills out with copies (token may be NULL); 0, or -1 (ENOMEM) with out empty. */
static int creds_value_fill(creds_value *out, strv id, strv secret, strv token, int64_t exp_s,
                            errinfo *e)
{
    memset(out, 0, sizeof *out);
    out->access_key_id = creds_dup(id.ptr, id.len);
    out->secret_access_key = creds_dup(secret.ptr, secret.len);
    if (token.ptr)
        out->session_token = creds_dup(token.ptr, token.len);
    if (!out->access_key_id || !out->secret_access_key || (token.ptr && !out->session_token)) {
        creds_value_cleanup(out);
        return errinfo_set(e, ERR_NOMEM, "out of memory for AWS credentials");
    }
    out->expires_at_s = exp_s;
    return 0;
}

static int creds_check_bytes(const char *what, const char *s, size_t len, size_t max,
                             bool allow_space, errinfo *e)
{
    if (len == 0)
        return errinfo_set(e, ERR_INVALID, "%s: empty", what);
    if (len > max)
        return errinfo_set(e, ERR_INVALID, "%s: longer than %zu characters", what, max);
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch < 0x20 || ch == 0x7f || (ch == ' ' && !allow_space))
            return errinfo_set(e, ERR_INVALID, "%s: contains a %s", what,
                               ch == ' ' ? "space" : "control character");
    }
    return 0;
}

int creds_check_value(const char *what, const char *s, size_t len, size_t max, errinfo *e)
{
    return creds_check_bytes(what, s, len, max, false, e);
}

/* Checks a key id, secret and optional token; `where` prefixes the names in messages. */
static int creds_check_set(const char *where, const char *const names[3], strv id, strv secret,
                           strv token, errinfo *e)
{
    const strv vals[3] = { id, secret, token };
    const size_t max[3] = { CREDS_MAX_KEY_ID, CREDS_MAX_SECRET, CREDS_MAX_TOKEN };
    for (int i = 0; i < 3; i++) {
        if (!vals[i].ptr)
            continue;
        errinfo ve;
        if (creds_check_value(names[i], vals[i].ptr, vals[i].len, max[i], &ve) != 0)
            return errinfo_set(e, ve.code, "%s%s%s", where ? where : "", where ? ": " : "",
                               ve.msg);
    }
    return 0;
}

/* ---- files ------------------------------------------------------------------------------- */

/* Reads a whole regular file of at most max bytes into out (initialised here; the caller
 * wipes it). 0 with *missing set when there is no such file; -1 with e set otherwise. */
static int creds_read_file(const char *path, size_t max, buf *out, bool *missing, errinfo *e)
{
    unsigned char chunk[4096];
    int rc = -1;
    buf_init(out, max);
    *missing = false;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR) {
            *missing = true;
            return 0;
        }
        return errinfo_set(e, ERR_IO, "cannot open %s: %s", path, strerror(errno));
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        errinfo_set(e, ERR_IO, "cannot stat %s: %s", path, strerror(errno));
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        errinfo_set(e, ERR_IO, "%s is not a regular file", path);
        goto out;
    }
    if ((unsigned long long)st.st_size > max) {
        errinfo_set(e, ERR_TOOBIG, "%s is larger than %zu bytes", path, max);
        goto out;
    }
    /* One allocation up front, so no copy of the contents is left behind by a realloc. */
    if (buf_reserve(out, (size_t)st.st_size + 1) != 0) {
        errinfo_set(e, ERR_NOMEM, "out of memory reading %s", path);
        goto out;
    }
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            errinfo_set(e, ERR_IO, "cannot read %s: %s", path, strerror(errno));
            goto out;
        }
        if (n == 0)
            break;
        if (buf_append(out, chunk, (size_t)n) != 0) {
            errinfo_set(e, ERR_TOOBIG, "%s is larger than %zu bytes", path, max);
            goto out;
        }
    }
    rc = 0;
out:
    OPENSSL_cleanse(chunk, sizeof chunk);
    close(fd);
    if (rc != 0)
        buf_cleanup_wipe(out);
    return rc;
}

/* ---- the shared file parser -------------------------------------------------------------- */

void creds_profile_init(creds_profile *p)
{
    memset(p, 0, sizeof *p);
}

void creds_profile_cleanup(creds_profile *p)
{
    if (!p)
        return;
    creds_wipe_free(p->access_key_id);
    creds_wipe_free(p->secret_access_key);
    creds_wipe_free(p->session_token);
    creds_wipe_free(p->ca_bundle);
    creds_profile_init(p);
}

static bool creds_is_blank(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\f' || ch == '\v';
}

static strv creds_trim(strv v)
{
    while (v.len && creds_is_blank(v.ptr[0])) {
        v.ptr++;
        v.len--;
    }
    while (v.len && creds_is_blank(v.ptr[v.len - 1]))
        v.len--;
    return v;
}

static bool creds_strv_ieq(strv a, const char *s)
{
    return a.len == strlen(s) && strncasecmp(a.ptr, s, a.len) == 0;
}

static bool creds_section_matches(strv name, const char *profile, bool config_form)
{
    if (!config_form)
        return strv_eq_cstr(name, profile);
    if (strcmp(profile, "default") == 0 && strv_eq_cstr(name, "default"))
        return true;
    if (name.len > 7 && memcmp(name.ptr, "profile", 7) == 0 && creds_is_blank(name.ptr[7]))
        return strv_eq_cstr(creds_trim((strv){ name.ptr + 7, name.len - 7 }), profile);
    return false;
}

/* The value part of a key line, without an inline comment (# or ; after whitespace). */
static strv creds_ini_value(strv v)
{
    v = creds_trim(v);
    for (size_t i = 1; i < v.len; i++) {
        if ((v.ptr[i] == '#' || v.ptr[i] == ';') && creds_is_blank(v.ptr[i - 1])) {
            v.len = i;
            break;
        }
    }
    return creds_trim(v);
}

int creds_ini_profile(strv text, const char *profile, bool config_form, creds_profile *p,
                      errinfo *e)
{
    bool in_target = false, after_key = false;
    size_t lineno = 0, pos = 0;
    creds_profile_init(p);
    while (pos < text.len) {
        const char *start = text.ptr + pos;
        const char *nl = memchr(start, '\n', text.len - pos);
        size_t len = nl ? (size_t)(nl - start) : text.len - pos;
        pos += len + (nl ? 1 : 0);
        lineno++;
        if (len > CREDS_MAX_LINE) {
            errinfo_set(e, ERR_INVALID, "line %zu is longer than %d bytes", lineno,
                        CREDS_MAX_LINE);
            goto fail;
        }
        strv line = creds_trim((strv){ start, len });
        if (line.len == 0 || line.ptr[0] == '#' || line.ptr[0] == ';')
            continue;
        if (creds_is_blank(start[0]) && after_key)
            continue;  /* continues the key above (a nested setting) */
        if (memchr(line.ptr, '\0', line.len)) {
            errinfo_set(e, ERR_INVALID, "line %zu contains a NUL byte", lineno);
            goto fail;
        }
        if (line.ptr[0] == '[') {
            const char *close = memchr(line.ptr, ']', line.len);
            if (!close) {
                errinfo_set(e, ERR_INVALID, "line %zu: a section header without ]", lineno);
                goto fail;
            }
            strv name = creds_trim((strv){ line.ptr + 1, (size_t)(close - line.ptr - 1) });
            in_target = creds_section_matches(name, profile, config_form);
            p->found = p->found || in_target;
            after_key = false;
            continue;
        }
        const char *eq = memchr(line.ptr, '=', line.len);
        if (!eq) {
            errinfo_set(e, ERR_INVALID, "line %zu: expected key = value", lineno);
            goto fail;
        }
        after_key = true;
        if (!in_target)
            continue;
        strv key = creds_trim((strv){ line.ptr, (size_t)(eq - line.ptr) });
        strv value = creds_ini_value((strv){ eq + 1, line.len - (size_t)(eq - line.ptr) - 1 });
        char **slot = NULL;
        if (creds_strv_ieq(key, "aws_access_key_id"))
            slot = &p->access_key_id;
        else if (creds_strv_ieq(key, "aws_secret_access_key"))
            slot = &p->secret_access_key;
        else if (creds_strv_ieq(key, "aws_session_token"))
            slot = &p->session_token;
        else if (creds_strv_ieq(key, "ca_bundle"))
            slot = &p->ca_bundle;
        if (!slot)
            continue;
        creds_wipe_free(*slot);
        *slot = NULL;
        if (value.len && !(*slot = creds_dup(value.ptr, value.len))) {
            errinfo_set(e, ERR_NOMEM, "out of memory");
            goto fail;
        }
    }
    return 0;
fail:
    creds_profile_cleanup(p);
    return -1;
}

/* ---- environment ------------------------------------------------------------------------- */

static const char *creds_env(const creds *c, const char *name)
{
    const char *v = c->opts.getenv_fn ? c->opts.getenv_fn(name) : getenv(name);
    return v && *v ? v : NULL;
}

static int creds_from_env(creds *c, creds_value *out, buf *note, errinfo *e)
{
    static const char *const names[3] = { "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                                          "AWS_SESSION_TOKEN" };
    const char *id = creds_env(c, names[0]);
    const char *secret = creds_env(c, names[1]);
    const char *token = creds_env(c, names[2]);
    buf_append_str(note, "environment");
    if (!id && !secret)
        return CREDS_NONE;
    if (!secret)
        return errinfo_set(e, ERR_CONFIG, "%s is set but %s is not", names[0], names[1]);
    if (!id)
        return errinfo_set(e, ERR_CONFIG, "%s is set but %s is not", names[1], names[0]);
    strv vid = { id, strnlen(id, CREDS_MAX_KEY_ID + 1) };
    strv vsecret = { secret, strnlen(secret, CREDS_MAX_SECRET + 1) };
    strv vtoken = token ? (strv){ token, strnlen(token, CREDS_MAX_TOKEN + 1) } : (strv){ 0 };
    if (creds_check_set(NULL, names, vid, vsecret, vtoken, e) != 0 ||
        creds_value_fill(out, vid, vsecret, vtoken, 0, e) != 0)
        return -1;
    return CREDS_FOUND;
}

/* ---- shared files ------------------------------------------------------------------------ */

/* The path from variable `var` (a leading ~/ means $HOME), else $HOME + home_suffix. *path is
 * NULL when neither is known. 0, or -1 with e set. */
static int creds_file_path(const creds *c, const char *var, const char *home_suffix,
                           char **path, errinfo *e)
{
    const char *v = creds_env(c, var);
    const char *home = creds_env(c, "HOME");
    buf b;
    buf_init(&b, CREDS_MAX_PATH);
    *path = NULL;
    if (v && creds_check_bytes(var, v, strnlen(v, CREDS_MAX_PATH + 1), CREDS_MAX_PATH, true, e))
        return -1;
    if (home && creds_check_bytes("HOME", home, strnlen(home, CREDS_MAX_PATH + 1),
                                  CREDS_MAX_PATH, true, e))
        return -1;
    int rc = 0;
    if (v && strncmp(v, "~/", 2) == 0) {
        if (home)
            rc = buf_printf(&b, "%s%s", home, v + 1);
    } else if (v) {
        rc = buf_append_str(&b, v);
    } else if (home) {
        rc = buf_printf(&b, "%s%s", home, home_suffix);
    }
    if (rc != 0) {
        buf_cleanup(&b);
        return errinfo_set(e, ERR_CONFIG, "%s: the path is longer than %d bytes", var,
                           CREDS_MAX_PATH);
    }
    if (b.len == 0)
        return 0;
    *path = buf_take(&b);
    return *path ? 0 : errinfo_set(e, ERR_NOMEM, "out of memory");
}

/* Reads path (NULL or absent: an empty profile) and parses it for profile. 0 or -1. */
static int creds_load_profile(const char *path, const char *profile, bool config_form,
                              creds_profile *p, errinfo *e)
{
    buf text;
    bool missing;
    creds_profile_init(p);
    if (!path)
        return 0;
    if (creds_read_file(path, CREDS_MAX_FILE, &text, &missing, e) != 0)
        return -1;
    int rc = 0;
    errinfo pe;
    if (!missing && creds_ini_profile(buf_view(&text), profile, config_form, p, &pe) != 0)
        rc = errinfo_set(e, pe.code, "%s: %s", path, pe.msg);
    buf_cleanup_wipe(&text);
    return rc;
}

static int creds_from_files(creds *c, creds_value *out, buf *note, errinfo *e)
{
    static const char *const names[3] = { "aws_access_key_id", "aws_secret_access_key",
                                          "aws_session_token" };
    const char *named = creds_env(c, "AWS_PROFILE");
    const char *profile = named ? named : "default";
    char *cred_path = NULL, *conf_path = NULL;
    creds_profile cp, fp;
    creds_profile_init(&cp);
    creds_profile_init(&fp);
    int rc = -1;

    if (named && creds_check_bytes("AWS_PROFILE", named, strnlen(named, CREDS_MAX_PROFILE + 1),
                                   CREDS_MAX_PROFILE, true, e))
        goto out;
    if (creds_file_path(c, "AWS_SHARED_CREDENTIALS_FILE", "/.aws/credentials", &cred_path, e) ||
        creds_file_path(c, "AWS_CONFIG_FILE", "/.aws/config", &conf_path, e))
        goto out;
    if (!cred_path && !conf_path)
        buf_printf(note, "shared file (HOME not set, profile %s)", profile);
    else
        buf_printf(note, "shared file %s (profile %s)", cred_path ? cred_path : conf_path,
                   profile);
    if (creds_load_profile(cred_path, profile, false, &cp, e) != 0 ||
        creds_load_profile(conf_path, profile, true, &fp, e) != 0)
        goto out;
    if (!cp.found && !fp.found) {
        if (named) {
            errinfo_set(e, ERR_CONFIG,
                        "AWS_PROFILE names profile %s, which is in neither %s nor %s", profile,
                        cred_path ? cred_path : "(no credentials file)",
                        conf_path ? conf_path : "(no config file)");
            goto out;
        }
        rc = CREDS_NONE;
        goto out;
    }
    /* Whole profiles, not keys, are taken from one file: the credentials file first. */
    const creds_profile *use = &cp;
    const char *path = cred_path;
    if (!cp.access_key_id && !cp.secret_access_key) {
        use = &fp;
        path = conf_path;
    }
    if (!use->access_key_id && !use->secret_access_key) {
        buf_reset(note);
        buf_printf(note, "shared file %s (profile %s has no keys)",
                   cred_path ? cred_path : conf_path, profile);
        rc = CREDS_NONE;
        goto out;
    }
    if (!use->access_key_id || !use->secret_access_key) {
        errinfo_set(e, ERR_CONFIG, "%s, profile %s: %s is set but %s is not", path, profile,
                    use->access_key_id ? names[0] : names[1],
                    use->access_key_id ? names[1] : names[0]);
        goto out;
    }
    buf where;
    buf_init(&where, CREDS_MAX_PATH + CREDS_MAX_PROFILE + 32);
    buf_printf(&where, "%s, profile %s", path, profile);
    strv vid = strv_from(use->access_key_id), vsecret = strv_from(use->secret_access_key);
    strv vtoken = use->session_token ? strv_from(use->session_token) : (strv){ 0 };
    if (creds_check_set(buf_cstr(&where), names, vid, vsecret, vtoken, e) == 0 &&
        creds_value_fill(out, vid, vsecret, vtoken, 0, e) == 0)
        rc = CREDS_FOUND;
    buf_cleanup(&where);
out:
    creds_profile_cleanup(&cp);
    creds_profile_cleanup(&fp);
    free(cred_path);
    free(conf_path);
    return rc;
}

/* ---- URIs -------------------------------------------------------------------------------- */

/* Length of url up to a query or fragment: what messages show of it. */
static int creds_url_shown(const char *url)
{
    size_t n = strcspn(url, "?#");
    return n > CREDS_MAX_URI ? CREDS_MAX_URI : (int)n;
}

/* An http or https base URL from variable `var`; *len is its length without trailing '/'. */
static int creds_base_url(const char *var, const char *url, size_t *len, errinfo *e)
{
    size_t n = strnlen(url, CREDS_MAX_URI + 1);
    if (creds_check_bytes(var, url, n, CREDS_MAX_URI, false, e) != 0)
        return -1;
    if (strncasecmp(url, "http://", 7) != 0 && strncasecmp(url, "https://", 8) != 0)
        return errinfo_set(e, ERR_CONFIG, "%s: must start with http:// or https://", var);
    while (n && url[n - 1] == '/')
        n--;
    *len = n;
    return 0;
}

static bool creds_host_allowed(strv host, bool bracketed)
{
    char tmp[64];
    if (host.len == 0 || host.len >= sizeof tmp)
        return false;
    memcpy(tmp, host.ptr, host.len);
    tmp[host.len] = '\0';
    if (bracketed) {
        struct in6_addr a6, eks;
        if (inet_pton(AF_INET6, tmp, &a6) != 1 || inet_pton(AF_INET6, "fd00:ec2::23", &eks) != 1)
            return false;
        return IN6_IS_ADDR_LOOPBACK(&a6) || memcmp(&a6, &eks, sizeof a6) == 0;
    }
    if (strcasecmp(tmp, "localhost") == 0)
        return true;
    unsigned char a4[4];
    if (inet_pton(AF_INET, tmp, a4) != 1)
        return false;
    return a4[0] == 127 ||
           (a4[0] == 169 && a4[1] == 254 && a4[2] == 170 && (a4[3] == 2 || a4[3] == 23));
}

int creds_full_uri_check(const char *uri, errinfo *e)
{
    static const char var[] = "AWS_CONTAINER_CREDENTIALS_FULL_URI";
    size_t n = strnlen(uri, CREDS_MAX_URI + 1);
    if (creds_check_bytes(var, uri, n, CREDS_MAX_URI, false, e) != 0)
        return errinfo_set(e, ERR_CONFIG, "%s: not a usable URI (empty, too long or with "
                           "spaces or control characters)", var);
    bool https = strncasecmp(uri, "https://", 8) == 0;
    if (!https && strncasecmp(uri, "http://", 7) != 0)
        return errinfo_set(e, ERR_CONFIG, "%s: must start with http:// or https://", var);
    const char *auth = uri + (https ? 8 : 7);
    size_t alen = strcspn(auth, "/?#");
    if (alen == 0)
        return errinfo_set(e, ERR_CONFIG, "%s: no host", var);
    if (memchr(auth, '@', alen) || memchr(auth, '\\', alen))
        return errinfo_set(e, ERR_CONFIG, "%s: user information is not allowed", var);
    strv host;
    const char *rest;
    bool bracketed = auth[0] == '[';
    if (bracketed) {
        const char *close = memchr(auth, ']', alen);
        if (!close)
            return errinfo_set(e, ERR_CONFIG, "%s: unclosed [ in the host", var);
        host = (strv){ auth + 1, (size_t)(close - auth - 1) };
        rest = close + 1;
    } else {
        const char *colon = memchr(auth, ':', alen);
        host = (strv){ auth, colon ? (size_t)(colon - auth) : alen };
        rest = auth + host.len;
    }
    const char *end = auth + alen;
    if (rest != end) {
        size_t digits = (size_t)(end - rest) - 1;
        if (rest[0] != ':' || digits < 1 || digits > 5 || strspn(rest + 1, "0123456789") < digits)
            return errinfo_set(e, ERR_CONFIG, "%s: bad port", var);
    }
    if (host.len == 0)
        return errinfo_set(e, ERR_CONFIG, "%s: no host", var);
    if (https || creds_host_allowed(host, bracketed))
        return 0;
    return errinfo_set(e, ERR_CONFIG, "%s: refused: http host %.*s is neither loopback nor the "
                       "ECS/EKS credentials address (use https)", var, (int)host.len, host.ptr);
}

/* ---- HTTP -------------------------------------------------------------------------------- */

/* One request that must answer 200; `what` names it in messages. resp is the caller's (who
 * wipes the body). 0, or -1 with e set. */
static int creds_http(creds *c, const char *method, const char *url, const char *const *headers,
                      const char *what, http_response *resp, errinfo *e)
{
    if (!c->http) {
        http_options o = { .connect_timeout_ms = c->opts.http_timeout_ms,
                           .timeout_ms = c->opts.http_timeout_ms,
                           .max_response_bytes = CREDS_MAX_RESPONSE,
                           .no_proxy = true };
        errinfo he;
        if (!(c->http = http_new(&o, &he)))
            return errinfo_set(e, he.code, "%s: %s", what, he.msg);
    }
    errinfo he;
    if (http_request(c->http, method, url, headers, NULL, 0, resp, &he) != 0)
        return errinfo_set(e, resp->fail == HTTP_FAIL_TIMEOUT ? ERR_TIMEOUT :
                           resp->fail == HTTP_FAIL_TOOBIG ? ERR_TOOBIG : ERR_IO,
                           "%s: %s failed", what, http_fail_name(resp->fail));
    if (resp->status != 200)
        return errinfo_set(e, ERR_SERVICE, "%s: HTTP %ld", what, resp->status);
    return 0;
}

static void creds_response_cleanup(http_response *resp)
{
    buf_cleanup_wipe(&resp->body);
    http_response_cleanup(resp);
}

/* A string member, or NULL when absent or JSON null; -1 when it has another type. */
static int creds_json_str(json_t *o, const char *key, strv *out, const char *from, errinfo *e)
{
    json_t *v = json_object_get(o, key);
    *out = (strv){ 0 };
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return errinfo_set(e, ERR_SERVICE, "%s: %s is not a string", from, key);
    *out = (strv){ json_string_value(v), json_string_length(v) };
    return 0;
}

int creds_parse_json(const char *body, size_t len, bool imds, const char *from, creds_value *out,
                     errinfo *e)
{
    static const char *const names[3] = { "AccessKeyId", "SecretAccessKey", "Token" };
    json_error_t jerr;
    strv code, id, secret, token, expiration;
    int64_t exp_s = 0;
    int rc = -1;
    memset(out, 0, sizeof *out);
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)  /* jerr.text may quote the input, so only the position is shown */
        return errinfo_set(e, ERR_SERVICE, "%s: invalid JSON (line %d, column %d)", from,
                           jerr.line, jerr.column);
    if (!json_is_object(root)) {
        errinfo_set(e, ERR_SERVICE, "%s: the answer is not a JSON object", from);
        goto out;
    }
    if (creds_json_str(root, "Code", &code, from, e) ||
        creds_json_str(root, names[0], &id, from, e) ||
        creds_json_str(root, names[1], &secret, from, e) ||
        creds_json_str(root, names[2], &token, from, e) ||
        creds_json_str(root, "Expiration", &expiration, from, e))
        goto out;
    if (imds && !strv_eq_cstr(code, "Success")) {
        errinfo_set(e, ERR_SERVICE, "%s: Code is not \"Success\"", from);
        goto out;
    }
    if (!id.ptr || !secret.ptr || (imds && !token.ptr) || !expiration.ptr) {
        errinfo_set(e, ERR_SERVICE, "%s: missing %s", from,
                    !id.ptr ? names[0] : !secret.ptr ? names[1] : !expiration.ptr ? "Expiration"
                                                                                 : names[2]);
        goto out;
    }
    if (creds_check_set(from, names, id, secret, token, e) != 0)
        goto out;
    if (expiration.len > 64 || strlen(expiration.ptr) != expiration.len ||
        clock_parse_iso8601(expiration.ptr, &exp_s) != 0) {
        errinfo_set(e, ERR_SERVICE, "%s: Expiration is not an ISO-8601 UTC time", from);
        goto out;
    }
    if (exp_s <= 0)
        exp_s = 1; /* at or before 1970: long expired (0 would mean "never expires") */
    rc = creds_value_fill(out, id, secret, token, exp_s, e);
out:
    json_decref(root);
    return rc;
}

/* ---- container --------------------------------------------------------------------------- */

/* "Authorization: <token>" into hdr from the token file or variable; empty when neither. */
static int creds_container_auth(const creds *c, buf *hdr, errinfo *e)
{
    static const char fvar[] = "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE";
    static const char tvar[] = "AWS_CONTAINER_AUTHORIZATION_TOKEN";
    const char *file = creds_env(c, fvar);
    const char *tok = creds_env(c, tvar);
    const char *what = file ? fvar : tvar;
    buf fb;
    strv t;
    int rc = -1;
    buf_init(&fb, CREDS_MAX_AUTH_FILE);
    if (file) {
        bool missing;
        if (creds_read_file(file, CREDS_MAX_AUTH_FILE, &fb, &missing, e) != 0)
            goto out;
        if (missing) {
            errinfo_set(e, ERR_CONFIG, "%s: %s does not exist", fvar, file);
            goto out;
        }
        t = buf_view(&fb);
    } else if (tok) {
        t = (strv){ tok, strnlen(tok, CREDS_MAX_TOKEN + 1) };
    } else {
        rc = 0;
        goto out;
    }
    while (t.len && (t.ptr[t.len - 1] == '\n' || t.ptr[t.len - 1] == '\r'))
        t.len--;
    if (memchr(t.ptr, '\n', t.len) || memchr(t.ptr, '\r', t.len)) {
        errinfo_set(e, ERR_CONFIG, "%s: the token contains a line break", what);
        goto out;
    }
    if (creds_check_bytes(what, t.ptr, t.len, CREDS_MAX_TOKEN, true, e) != 0)
        goto out;
    if (buf_append_str(hdr, "Authorization: ") != 0 || buf_append_strv(hdr, t) != 0) {
        errinfo_set(e, ERR_NOMEM, "out of memory");
        goto out;
    }
    rc = 0;
out:
    buf_cleanup_wipe(&fb);
    return rc;
}

static int creds_from_container(creds *c, creds_value *out, buf *note, errinfo *e)
{
    static const char rvar[] = "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI";
    const char *rel = creds_env(c, rvar);
    const char *full = creds_env(c, "AWS_CONTAINER_CREDENTIALS_FULL_URI");
    buf url, auth, what;
    http_response resp;
    int rc = -1;
    if (!rel && !full) {
        buf_append_str(note, "container (not configured)");
        return CREDS_NONE;
    }
    buf_init(&url, 2 * CREDS_MAX_URI + 1);
    buf_init(&auth, CREDS_MAX_TOKEN + 64);
    buf_init(&what, 3 * CREDS_MAX_URI);
    http_response_init(&resp);
    if (rel) {
        const char *host = creds_env(c, "CRUDDUR_CONTAINER_CREDENTIALS_HOST");
        size_t hlen;
        if (!host)
            host = CREDS_CONTAINER_HOST;
        if (creds_check_bytes(rvar, rel, strnlen(rel, CREDS_MAX_URI + 1), CREDS_MAX_URI, false,
                              e) != 0 ||
            creds_base_url("CRUDDUR_CONTAINER_CREDENTIALS_HOST", host, &hlen, e) != 0)
            goto out;
        if (rel[0] != '/') {
            errinfo_set(e, ERR_CONFIG, "%s: must start with /", rvar);
            goto out;
        }
        buf_append(&url, host, hlen);
        buf_append_str(&url, rel);
    } else {
        if (creds_full_uri_check(full, e) != 0)
            goto out;
        buf_append_str(&url, full);
    }
    if (creds_container_auth(c, &auth, e) != 0)
        goto out;
    buf_printf(&what, "container endpoint %.*s", creds_url_shown(buf_cstr(&url)), buf_cstr(&url));
    if (url.failed || what.failed) {
        errinfo_set(e, ERR_NOMEM, "out of memory");
        goto out;
    }
    const char *const headers[] = { auth.len ? buf_cstr(&auth) : NULL, NULL };
    if (creds_http(c, "GET", buf_cstr(&url), headers, buf_cstr(&what), &resp, e) != 0 ||
        creds_parse_json(resp.body.data ? resp.body.data : "", resp.body.len, false,
                         buf_cstr(&what), out, e) != 0)
        goto out;
    rc = CREDS_FOUND;
out:
    creds_response_cleanup(&resp);
    buf_cleanup_wipe(&auth);
    buf_cleanup(&url);
    buf_cleanup(&what);
    return rc;
}

/* ---- EC2 IMDSv2 -------------------------------------------------------------------------- */

static bool creds_role_ok(strv role)
{
    if (role.len == 0 || role.len > CREDS_MAX_ROLE)
        return false;
    for (size_t i = 0; i < role.len; i++) {
        char ch = role.ptr[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              strchr("+=,.@_-", ch)))
            return false;
    }
    return true;
}

/* Token, role name, role credentials; every failure is in e, prefixed with the endpoint. */
static int creds_imds_fetch(creds *c, const char *ep, size_t eplen, creds_value *out, errinfo *e)
{
    static const char creds_path[] = "/latest/meta-data/iam/security-credentials/";
    buf url, tokhdr, what;
    http_response resp;
    int rc = -1;
    buf_init(&url, CREDS_MAX_URI + 256);
    buf_init(&tokhdr, CREDS_MAX_IMDS_TOKEN + 64);
    buf_init(&what, CREDS_MAX_URI + 256);
    http_response_init(&resp);

    buf_printf(&what, "%.*s", (int)eplen, ep);
    buf_printf(&url, "%.*s/latest/api/token", (int)eplen, ep);
    const char *const put_headers[] = { "X-aws-ec2-metadata-token-ttl-seconds: 21600", NULL };
    if (creds_http(c, "PUT", buf_cstr(&url), put_headers, buf_cstr(&what), &resp, e) != 0)
        goto out;
    strv tok = creds_trim(buf_view(&resp.body));
    while (tok.len && tok.ptr[tok.len - 1] == '\n')
        tok.len--;
    errinfo ve;
    if (creds_check_value("session token", tok.ptr, tok.len, CREDS_MAX_IMDS_TOKEN, &ve) != 0) {
        errinfo_set(e, ERR_SERVICE, "%s: %s", buf_cstr(&what), ve.msg);
        goto out;
    }
    buf_append_str(&tokhdr, "X-aws-ec2-metadata-token: ");
    buf_append_strv(&tokhdr, tok);
    const char *const headers[] = { buf_cstr(&tokhdr), NULL };

    buf_reset(&url);
    buf_printf(&url, "%.*s%s", (int)eplen, ep, creds_path);
    creds_response_cleanup(&resp);
    http_response_init(&resp);
    if (creds_http(c, "GET", buf_cstr(&url), headers, buf_cstr(&what), &resp, e) != 0) {
        if (resp.status == 404)
            errinfo_set(e, ERR_NOTFOUND, "%s: no IAM role attached", buf_cstr(&what));
        goto out;
    }
    strv role = buf_view(&resp.body);
    const char *nl = memchr(role.ptr, '\n', role.len);
    role = creds_trim((strv){ role.ptr, nl ? (size_t)(nl - role.ptr) : role.len });
    if (!creds_role_ok(role)) {
        errinfo_set(e, ERR_SERVICE, "%s: the IAM role name is not valid", buf_cstr(&what));
        goto out;
    }
    buf_append_strv(&url, role);
    buf_printf(&what, ", role %.*s", (int)role.len, role.ptr);
    creds_response_cleanup(&resp);
    http_response_init(&resp);
    if (tokhdr.failed || url.failed || what.failed) {
        errinfo_set(e, ERR_NOMEM, "out of memory");
        goto out;
    }
    if (creds_http(c, "GET", buf_cstr(&url), headers, buf_cstr(&what), &resp, e) != 0 ||
        creds_parse_json(resp.body.data ? resp.body.data : "", resp.body.len, true,
                         buf_cstr(&what), out, e) != 0)
        goto out;
    rc = 0;
out:
    creds_response_cleanup(&resp);
    buf_cleanup_wipe(&tokhdr);
    buf_cleanup(&url);
    buf_cleanup(&what);
    return rc;
}

static int creds_from_imds(creds *c, creds_value *out, buf *note, errinfo *e)
{
    static const char evar[] = "AWS_EC2_METADATA_SERVICE_ENDPOINT";
    const char *disabled = creds_env(c, "AWS_EC2_METADATA_DISABLED");
    if (disabled && strcasecmp(disabled, "true") == 0) {
        buf_append_str(note, "IMDS (disabled by AWS_EC2_METADATA_DISABLED)");
        return CREDS_NONE;
    }
    const char *ep = creds_env(c, evar);
    size_t eplen;
    if (!ep)
        ep = CREDS_IMDS_ENDPOINT;
    if (creds_base_url(evar, ep, &eplen, e) != 0)
        return -1;
    errinfo fe;
    if (creds_imds_fetch(c, ep, eplen, out, &fe) == 0)
        return CREDS_FOUND;
    if (fe.code == ERR_NOMEM) {
        *e = fe;
        return -1;
    }
    buf_printf(note, "IMDS (%s)", fe.msg);
    return CREDS_NONE;
}

/* ---- the chain --------------------------------------------------------------------------- */

typedef int (*creds_provider)(creds *c, creds_value *out, buf *note, errinfo *e);

static const struct {
    const char *name;
    creds_provider fn;
} creds_chain[] = {
    { "environment", creds_from_env },
    { "shared-file", creds_from_files },
    { "container", creds_from_container },
    { "imds", creds_from_imds },
};

#define CREDS_NCHAIN ((int)(sizeof creds_chain / sizeof creds_chain[0]))

static int64_t creds_now(const creds *c)
{
    return c->opts.now_s_fn ? c->opts.now_s_fn() : clock_real_us() / 1000000;
}

/* Asks provider i. CREDS_FOUND with *out filled, CREDS_NONE with a note, or -1 with e set. */
static int creds_ask(creds *c, int i, int64_t now, creds_value *out, buf *note, errinfo *e)
{
    int r = creds_chain[i].fn(c, out, note, e);
    if (r != CREDS_FOUND)
        return r;
    out->source = creds_chain[i].name;
    if (out->expires_at_s != 0 && out->expires_at_s <= now) {
        creds_value_cleanup(out);
        return errinfo_set(e, ERR_SERVICE, "AWS credentials from %s have already expired",
                           creds_chain[i].name);
    }
    return CREDS_FOUND;
}

/* Walks the chain; on success remembers the source. 0, or -1 with e naming what was tried. */
static int creds_resolve(creds *c, int64_t now, creds_value *out, errinfo *e)
{
    buf tried, note;
    int rc = -1;
    buf_init(&tried, 4096);
    buf_init(&note, 2048);
    for (int i = 0; i < CREDS_NCHAIN; i++) {
        buf_reset(&note);
        int r = creds_ask(c, i, now, out, &note, e);
        if (r < 0)
            goto out;
        if (r == CREDS_FOUND) {
            c->src = i;
            rc = 0;
            goto out;
        }
        if (tried.len)
            buf_append_str(&tried, ", ");
        buf_append_strv(&tried, buf_view(&note));
    }
    errinfo_set(e, ERR_NOTFOUND, "no AWS credentials: tried %s", buf_cstr(&tried));
out:
    buf_cleanup(&tried);
    buf_cleanup(&note);
    return rc;
}

/* Asks the remembered source again. 0, or -1 with e set. */
static int creds_refresh(creds *c, int64_t now, creds_value *out, errinfo *e)
{
    buf note;
    buf_init(&note, 2048);
    int r = creds_ask(c, c->src, now, out, &note, e);
    if (r == CREDS_NONE)
        errinfo_set(e, ERR_NOTFOUND, "%s", buf_cstr(&note));
    buf_cleanup(&note);
    return r == CREDS_FOUND ? 0 : -1;
}

creds *creds_new(const creds_options *opts)
{
    creds *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    if (opts)
        c->opts = *opts;
    if (c->opts.http_timeout_ms <= 0)
        c->opts.http_timeout_ms = 1000;
    if (c->opts.refresh_before_s <= 0)
        c->opts.refresh_before_s = 300;
    c->src = -1;
    return c;
}

void creds_free(creds *c)
{
    if (!c)
        return;
    creds_value_cleanup(&c->cur);
    http_free(c->http);
    free(c);
}

int creds_get(creds *c, const creds_value **out, errinfo *e)
{
    int64_t now = creds_now(c);
    creds_value v;
    errinfo re;
    *out = NULL;
    if (c->src < 0) {
        if (creds_resolve(c, now, &v, e) != 0)
            return -1;
        c->cur = v;
        log_msg(LOG_INFO, "creds.resolved", "AWS credentials from %s", v.source);
        *out = &c->cur;
        return 0;
    }
    bool have = c->cur.access_key_id != NULL;
    int64_t exp = c->cur.expires_at_s;
    bool valid = have && (exp == 0 || now < exp);
    if (valid && (exp == 0 || now < exp - c->opts.refresh_before_s || now < c->retry_after_s)) {
        *out = &c->cur;
        return 0;
    }
    if (creds_refresh(c, now, &v, &re) == 0) {
        creds_value_cleanup(&c->cur);
        c->cur = v;
        c->retry_after_s = 0;
        *out = &c->cur;
        return 0;
    }
    if (valid) {
        log_msg(LOG_WARN, "creds.refresh_failed",
                "refreshing AWS credentials from %s failed; keeping the current ones, which "
                "expire in %lld s: %s", creds_chain[c->src].name, (long long)(exp - now), re.msg);
        c->retry_after_s = now + CREDS_RETRY_AFTER_S;
        *out = &c->cur;
        return 0;
    }
    creds_value_cleanup(&c->cur);
    return errinfo_set(e, re.code, "AWS credentials from %s expired and the refresh failed: %s",
                       creds_chain[c->src].name, re.msg);
}

int creds_ca_bundle(char *out, size_t n, errinfo *e)
{
    if (n == 0)
        return errinfo_set(e, ERR_INTERNAL, "creds_ca_bundle: no room");
    out[0] = '\0';
    creds c0;
    memset(&c0, 0, sizeof c0);   /* the process environment, no provider */
    const char *v = creds_env(&c0, "AWS_CA_BUNDLE");
    char *conf_path = NULL, *from_file = NULL;
    int rc = 0;
    if (!v) {
        const char *named = creds_env(&c0, "AWS_PROFILE");
        creds_profile fp;
        creds_profile_init(&fp);
        if (creds_file_path(&c0, "AWS_CONFIG_FILE", "/.aws/config", &conf_path, e) != 0 ||
            creds_load_profile(conf_path, named ? named : "default", true, &fp, e) != 0) {
            rc = -1;
        } else if (fp.ca_bundle) {
            from_file = fp.ca_bundle;
            fp.ca_bundle = NULL;
        }
        creds_profile_cleanup(&fp);
        v = from_file;
    }
    if (rc == 0 && v) {
        const char *home = creds_env(&c0, "HOME");
        int k = strncmp(v, "~/", 2) == 0 && home ? snprintf(out, n, "%s%s", home, v + 1)
                                                 : snprintf(out, n, "%s", v);
        if (k < 0 || (size_t)k >= n) {
            out[0] = '\0';
            rc = errinfo_set(e, ERR_CONFIG, "the CA bundle path (AWS_CA_BUNDLE or ca_bundle) "
                                            "is longer than %zu bytes", n - 1);
        }
    }
    free(from_file);
    free(conf_path);
    return rc;
}
