/* creds_file.c — the shared credentials and config files: reading them (bounded, regular
 * files only), the INI parser (creds_ini_profile), the shared-file provider of the chain and
 * the CA bundle lookup (creds_ca_bundle). */
#include "config.h"
#include "aws/creds.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "aws/creds_chain.h"
#include "aws/creds_internal.h"
#include "base/buf.h"
#include "base/file.h"

/* ---- files ------------------------------------------------------------------------------- */

/* Reads a whole regular file of at most max bytes into out (initialised here; the caller
 * wipes it). 0 with *missing set when there is no such file; -1 with e set otherwise. */
int creds_read_file(const char *path, size_t max, buf *out, bool *missing, errinfo *e)
{
    buf_init(out, max);
    errinfo fe;
    *missing = false;
    if (file_read_regular(path, out, &fe) == 0)
        return 0;
    buf_cleanup_wipe(out);
    if (fe.code == ERR_NOTFOUND) {
        *missing = true;
        return 0;
    }
    if (e)
        *e = fe;
    return -1;
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

strv creds_trim(strv v)
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
            errinfo_set(e, ERR_INVALID, "line %zu is longer than %d bytes", lineno, CREDS_MAX_LINE);
            goto fail;
        }
        strv line = creds_trim((strv){ start, len });
        if (line.len == 0 || line.ptr[0] == '#' || line.ptr[0] == ';')
            continue;
        if (creds_is_blank(start[0]) && after_key)
            continue; /* continues the key above (a nested setting) */
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
            errinfo_nomem(e);
            goto fail;
        }
    }
    return 0;
fail:
    creds_profile_cleanup(p);
    return -1;
}

/* ---- shared files ------------------------------------------------------------------------ */

/* The path from variable `var` (a leading ~/ means $HOME), else $HOME + home_suffix. *path is
 * NULL when neither is known. 0, or -1 with e set. */
static int creds_file_path(const creds *c, const char *var, const char *home_suffix, char **path,
                           errinfo *e)
{
    const char *v = creds_env(c, var);
    const char *home = creds_env(c, "HOME");
    buf b;
    buf_init(&b, CREDS_MAX_PATH);
    *path = NULL;
    if (v && creds_check_bytes(var, v, strnlen(v, CREDS_MAX_PATH + 1), CREDS_MAX_PATH, true, e))
        return -1;
    if (home &&
        creds_check_bytes("HOME", home, strnlen(home, CREDS_MAX_PATH + 1), CREDS_MAX_PATH, true, e))
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
    return *path ? 0 : errinfo_nomem(e);
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

int creds_from_files(creds *c, creds_value *out, buf *note, errinfo *e)
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
        buf_printf(note, "shared file %s (profile %s)", cred_path ? cred_path : conf_path, profile);
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

int creds_ca_bundle(char *out, size_t n, errinfo *e)
{
    if (n == 0)
        return errinfo_set(e, ERR_INTERNAL, "creds_ca_bundle: no room");
    out[0] = '\0';
    creds c0;
    memset(&c0, 0, sizeof c0); /* the process environment, no provider */
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
            rc = errinfo_set(e, ERR_CONFIG,
                             "the CA bundle path (AWS_CA_BUNDLE or ca_bundle) "
                             "is longer than %zu bytes",
                             n - 1);
        }
    }
    free(from_file);
    free(conf_path);
    return rc;
}
