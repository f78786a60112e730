/* creds_remote.c — the providers that ask an endpoint: the container credentials endpoint
 * (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI / _FULL_URI, with its authorization token) and
 * EC2 IMDSv2 (a session token, then the role's credentials); the URI rule and the JSON
 * reader they share. */
#include "config.h"
#include "aws/creds.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "aws/creds_chain.h"
#include "aws/creds_internal.h"
#include "aws/http.h"
#include "base/buf.h"
#include "base/clock.h"

#define CREDS_CONTAINER_HOST "http://169.254.170.2"
#define CREDS_IMDS_ENDPOINT "http://169.254.169.254"
#define CREDS_MAX_AUTH_FILE ((size_t)16 << 10)
#define CREDS_MAX_IMDS_TOKEN 4096
#define CREDS_MAX_ROLE 128

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
        return errinfo_set(e, ERR_CONFIG,
                           "%s: not a usable URI (empty, too long or with "
                           "spaces or control characters)",
                           var);
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
    return errinfo_set(e, ERR_CONFIG,
                       "%s: refused: http host %.*s is neither loopback nor the "
                       "ECS/EKS credentials address (use https)",
                       var, (int)host.len, host.ptr);
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
        return errinfo_set(e,
                           resp->fail == HTTP_FAIL_TIMEOUT  ? ERR_TIMEOUT
                           : resp->fail == HTTP_FAIL_TOOBIG ? ERR_TOOBIG
                                                            : ERR_IO,
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
    if (!root) /* jerr.text may quote the input, so only the position is shown */
        return errinfo_set(e, ERR_SERVICE, "%s: invalid JSON (line %d, column %d)", from, jerr.line,
                           jerr.column);
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
                    !id.ptr           ? names[0]
                    : !secret.ptr     ? names[1]
                    : !expiration.ptr ? "Expiration"
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
        errinfo_nomem(e);
        goto out;
    }
    rc = 0;
out:
    buf_cleanup_wipe(&fb);
    return rc;
}

int creds_from_container(creds *c, creds_value *out, buf *note, errinfo *e)
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
        errinfo_nomem(e);
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
        errinfo_nomem(e);
        goto out;
    }
    if (creds_http(c, "GET", buf_cstr(&url), headers, buf_cstr(&what), &resp, e) != 0 ||
        creds_parse_json(resp.body.data ? resp.body.data : "", resp.body.len, true, buf_cstr(&what),
                         out, e) != 0)
        goto out;
    rc = 0;
out:
    creds_response_cleanup(&resp);
    buf_cleanup_wipe(&tokhdr);
    buf_cleanup(&url);
    buf_cleanup(&what);
    return rc;
}

int creds_from_imds(creds *c, creds_value *out, buf *note, errinfo *e)
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
