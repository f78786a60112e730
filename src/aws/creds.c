/* creds.c — the AWS credentials provider chain: environment (here), shared files
 * (creds_file.c), container endpoint and EC2 IMDSv2 (creds_remote.c), with refresh of
 * temporary credentials from the source that worked; the checks every provider shares.
 *
 * Design note. Each provider answers FOUND (credentials in *out), NONE (not configured or
 * nothing there: a short note for the "tried ..." message, the chain goes on) or -1 (a hard
 * error that stops the chain: a half-set variable, a named profile that does not exist, a
 * configured container endpoint that fails). IMDS failures are NONE: off EC2 there is simply
 * no metadata service. Everything that comes from outside (files, variables, HTTP answers) is
 * bounded and checked before use; no message ever quotes a key, secret or token. */
#include "config.h"
#include "aws/creds.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "aws/creds_chain.h"
#include "aws/creds_internal.h"
#include "aws/http.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/log.h"

#define CREDS_RETRY_AFTER_S 10 /* after a failed refresh while the old ones are valid */

/* ---- values ------------------------------------------------------------------------------ */

void creds_wipe_free(char *s)
{
    if (s) {
        OPENSSL_cleanse(s, strlen(s));
        free(s);
    }
}

char *creds_dup(const char *p, size_t n)
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
int creds_value_fill(creds_value *out, strv id, strv secret, strv token, int64_t exp_s, errinfo *e)
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

int creds_check_bytes(const char *what, const char *s, size_t len, size_t max, bool allow_space,
                      errinfo *e)
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
int creds_check_set(const char *where, const char *const names[3], strv id, strv secret, strv token,
                    errinfo *e)
{
    const strv vals[3] = { id, secret, token };
    const size_t max[3] = { CREDS_MAX_KEY_ID, CREDS_MAX_SECRET, CREDS_MAX_TOKEN };
    for (int i = 0; i < 3; i++) {
        if (!vals[i].ptr)
            continue;
        errinfo ve;
        if (creds_check_value(names[i], vals[i].ptr, vals[i].len, max[i], &ve) != 0)
            return errinfo_set(e, ve.code, "%s%s%s", where ? where : "", where ? ": " : "", ve.msg);
    }
    return 0;
}

/* ---- environment ------------------------------------------------------------------------- */

const char *creds_env(const creds *c, const char *name)
{
    const char *v = c->opts.getenv_fn ? c->opts.getenv_fn(name) : getenv(name);
    return v && *v ? v : NULL;
}

int creds_from_env(creds *c, creds_value *out, buf *note, errinfo *e)
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
                "expire in %lld s: %s",
                creds_chain[c->src].name, (long long)(exp - now), re.msg);
        c->retry_after_s = now + CREDS_RETRY_AFTER_S;
        *out = &c->cur;
        return 0;
    }
    creds_value_cleanup(&c->cur);
    return errinfo_set(e, re.code, "AWS credentials from %s expired and the refresh failed: %s",
                       creds_chain[c->src].name, re.msg);
}
