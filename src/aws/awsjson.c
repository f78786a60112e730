/* awsjson.c — the AWS JSON-protocol client: endpoints, signing, transport, retries, errors. */
#include "config.h"
#include "aws/awsjson.h"
#include "aws/awsjson_internal.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/sigv4.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/crc32.h"
#include "base/jdoc.h"
#include "base/jparse.h"
#include "base/jwrite.h"
#include "base/log.h"
#include "base/rnd.h"

#define AWSJSON_REQUEST_MAX ((size_t)16 << 20)
/* DynamoDB attribute values nest at most 32 deep; envelopes add a few levels. */
#define AWSJSON_DEPTH 48

struct awsjson {
    char label[32];
    char signing_name[32];
    char content_type[48];
    char region[64];
    retry_policy retry;
    creds *credentials;
    bool owns_credentials;
    sigv4_signer *signer;
    sigv4_result signed_req;
    http *http;
    http_response resp;
    buf body;
    buf hdr[6];
    aws_observe_fn observe;
    void *observe_arg;
    bool anonymous;
};

/* ---- endpoints ------------------------------------------------------------------------------ */

int awsjson_endpoint_parse(awsjson_endpoint *ep, const char *url, errinfo *e)
{
    size_t n = strlen(url);
    if (n == 0 || n >= AWSJSON_URL_MAX)
        return errinfo_set(e, ERR_CONFIG, "endpoint URL is empty or longer than %d bytes",
                           AWSJSON_URL_MAX - 1);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)url[i] <= ' ' || url[i] == 0x7f)
            return errinfo_set(e, ERR_CONFIG,
                               "endpoint URL %.200s contains a space or control "
                               "character",
                               url);
    const char *rest;
    if (strncmp(url, "http://", 7) == 0)
        rest = url + 7;
    else if (strncmp(url, "https://", 8) == 0)
        rest = url + 8;
    else
        return errinfo_set(e, ERR_CONFIG, "endpoint URL %.200s must start with http:// or https://",
                           url);
    size_t alen = strcspn(rest, "/?#");
    if (alen == 0 || alen >= sizeof ep->authority || memchr(rest, '@', alen))
        return errinfo_set(e, ERR_CONFIG, "endpoint URL %.200s has no usable host", url);
    if (rest[alen] == '?' || rest[alen] == '#')
        return errinfo_set(e, ERR_CONFIG, "endpoint URL %.200s must not have a query or fragment",
                           url);
    memcpy(ep->authority, rest, alen);
    ep->authority[alen] = '\0';
    const char *path = rest + alen;
    snprintf(ep->path, sizeof ep->path, "%s", *path ? path : "/");
    if (strpbrk(ep->path, "?#"))
        return errinfo_set(e, ERR_CONFIG, "endpoint URL %.200s must not have a query or fragment",
                           url);
    int w = snprintf(ep->url, sizeof ep->url, "%.*s%s", (int)(rest - url + alen), url, ep->path);
    if (w < 0 || (size_t)w >= sizeof ep->url)
        return errinfo_set(e, ERR_CONFIG, "endpoint URL is longer than %d bytes",
                           AWSJSON_URL_MAX - 2);
    return 0;
}

/* ---- lifecycle -------------------------------------------------------------------------------- */

static int awsjson_copy(char *dst, size_t cap, const char *src, const char *what, errinfo *e)
{
    size_t n = src ? strlen(src) : 0;
    if (n == 0 || n >= cap)
        return errinfo_set(e, ERR_CONFIG, "AWS client: %s is missing or too long", what);
    memcpy(dst, src, n + 1);
    return 0;
}

awsjson *awsjson_new(const awsjson_options *o, errinfo *e)
{
    awsjson *c = calloc(1, sizeof *c);
    if (!c) {
        errinfo_nomem(e);
        return NULL;
    }
    buf_init(&c->body, AWSJSON_REQUEST_MAX);
    for (size_t i = 0; i < sizeof c->hdr / sizeof c->hdr[0]; i++)
        buf_init(&c->hdr[i], 16384);
    sigv4_result_init(&c->signed_req);
    http_response_init(&c->resp);
    if (awsjson_copy(c->label, sizeof c->label, o->service_label, "service label", e) != 0 ||
        awsjson_copy(c->signing_name, sizeof c->signing_name, o->signing_name, "signing name", e) !=
            0 ||
        awsjson_copy(c->content_type, sizeof c->content_type, o->content_type, "content type", e) !=
            0 ||
        awsjson_copy(c->region, sizeof c->region, o->region, "region", e) != 0)
        goto fail;
    c->retry = o->retry;
    c->observe = o->observe;
    c->observe_arg = o->observe_arg;
    c->anonymous = o->anonymous;
    if (c->retry.max_attempts <= 0)
        c->retry.max_attempts = RETRY_POLICY_DEFAULT.max_attempts;
    if (c->retry.base_ms <= 0)
        c->retry.base_ms = RETRY_POLICY_DEFAULT.base_ms;
    if (c->retry.cap_ms <= 0)
        c->retry.cap_ms = RETRY_POLICY_DEFAULT.cap_ms;
    if (o->credentials || o->anonymous) {
        c->credentials = o->credentials;
    } else {
        c->credentials = creds_new(NULL);
        c->owns_credentials = true;
    }
    c->signer = sigv4_signer_new();
    if ((!c->credentials && !c->anonymous) || !c->signer) {
        errinfo_nomem(e);
        goto fail;
    }
    if (!(c->http = http_new(&o->http, e)))
        goto fail;
    return c;
fail:
    awsjson_free(c);
    return NULL;
}

void awsjson_free(awsjson *c)
{
    if (!c)
        return;
    http_free(c->http);
    http_response_cleanup(&c->resp);
    sigv4_signer_free(c->signer);
    sigv4_result_cleanup(&c->signed_req);
    if (c->owns_credentials)
        creds_free(c->credentials);
    buf_cleanup(&c->body);
    for (size_t i = 0; i < sizeof c->hdr / sizeof c->hdr[0]; i++)
        buf_cleanup_wipe(&c->hdr[i]);
    free(c);
}

/* ---- errors ----------------------------------------------------------------------------------- */

aws_reason aws_error_reason(const aws_error *err, int i)
{
    if (!err || i < 0 || i >= err->nreasons || i >= AWS_REASONS_MAX)
        return AWS_REASON_NONE;
    return (aws_reason)err->reasons[i];
}

const char *aws_reason_name(aws_reason r)
{
    switch (r) {
    case AWS_REASON_NONE: return "None";
    case AWS_REASON_CONDITION: return "ConditionalCheckFailed";
    case AWS_REASON_CONFLICT: return "TransactionConflict";
    case AWS_REASON_VALIDATION: return "ValidationError";
    case AWS_REASON_THROTTLED: return "ThrottlingError";
    case AWS_REASON_OTHER: break;
    }
    return "Other";
}

aws_reason aws_reason_parse(const char *code)
{
    if (!code || strcmp(code, "None") == 0)
        return AWS_REASON_NONE;
    if (strcmp(code, "ConditionalCheckFailed") == 0)
        return AWS_REASON_CONDITION;
    if (strcmp(code, "TransactionConflict") == 0)
        return AWS_REASON_CONFLICT;
    if (strcmp(code, "ValidationError") == 0)
        return AWS_REASON_VALIDATION;
    if (strcmp(code, "ThrottlingError") == 0 || strcmp(code, "ProvisionedThroughputExceeded") == 0)
        return AWS_REASON_THROTTLED;
    return AWS_REASON_OTHER;
}

void aws_error_clear(aws_error *err)
{
    if (!err)
        return;
    errinfo_clear(&err->info);
    err->http_status = 0;
    err->type[0] = '\0';
    err->fail = HTTP_FAIL_NONE;
    err->attempts = 0;
    err->nreasons = 0;
}

int aws_error_set(aws_error *err, enum err_code code, const char *fmt, ...)
{
    aws_error_clear(err);
    va_list ap;
    va_start(ap, fmt);
    errinfo_vset(err ? &err->info : NULL, code, fmt, ap);
    va_end(ap);
    return -1;
}

int aws_error_nomem(aws_error *err)
{
    aws_error_clear(err);
    return errinfo_nomem(err ? &err->info : NULL);
}

bool aws_error_is(const aws_error *err, const char *type)
{
    return err && strcmp(err->type, type) == 0;
}

void awsjson_error_parse(const char *label, const char *op, long status, const char *body,
                         size_t len, aws_error *err)
{
    json_t *j = jparse(body, len, AWSJSON_DEPTH, NULL);
    const char *type = json_string_value(json_object_get(j, "__type"));
    const char *msg = json_string_value(json_object_get(j, "message"));
    if (!msg)
        msg = json_string_value(json_object_get(j, "Message"));
    snprintf(err->type, sizeof err->type, "%s", retry_short_type(type));
    json_t *reasons = json_object_get(j, "CancellationReasons");
    err->nreasons = 0;
    if (json_is_array(reasons)) {
        size_t i;
        json_t *r;
        json_array_foreach(reasons, i, r)
        {
            if (err->nreasons >= (int)(sizeof err->reasons / sizeof err->reasons[0]))
                break;
            err->reasons[err->nreasons++] =
                (unsigned char)aws_reason_parse(json_string_value(json_object_get(r, "Code")));
        }
    }
    if (err->type[0])
        errinfo_set(&err->info, ERR_SERVICE, "%s %s: %s: %.200s", label, op, err->type,
                    msg ? msg : "(no message)");
    else
        errinfo_set(&err->info, ERR_SERVICE, "%s %s: HTTP %ld with no error type", label, op,
                    status);
    if (strcmp(err->type, "ResourceNotFoundException") == 0)
        err->info.code = ERR_NOTFOUND;
    else if (strcmp(err->type, "ValidationException") == 0 ||
             strcmp(err->type, "SerializationException") == 0)
        err->info.code = ERR_INVALID;
    json_decref(j);
}

/* Fills err from an error answer's body: __type, message (either case), and the
 * cancellation reasons of a cancelled transaction. */
static void awsjson_error_decode(const awsjson *c, aws_error *err, const char *op, long status,
                                 const buf *body)
{
    awsjson_error_parse(c->label, op, status, buf_cstr(body), body->len, err);
}

/* ---- the call ------------------------------------------------------------------------------- */

/* Builds the signed header lines for one try into d->hdr and lines[]. */
static int awsjson_sign(awsjson *d, const awsjson_endpoint *ep, const char *target,
                        const char **lines, errinfo *e)
{
    if (d->anonymous) {
        static const char *const names[] = { "Host: ", "Content-Type: ", "X-Amz-Target: " };
        const char *values[] = { ep->authority, d->content_type, target };
        for (size_t i = 0; i < 3; i++) {
            buf_reset(&d->hdr[i]);
            buf_append_str(&d->hdr[i], names[i]);
            buf_append_str(&d->hdr[i], values[i]);
            if (d->hdr[i].failed)
                return errinfo_set(e, ERR_TOOBIG, "request header too long");
            lines[i] = buf_cstr(&d->hdr[i]);
        }
        lines[3] = NULL;
        return 0;
    }
    const creds_value *cv;
    if (creds_get(d->credentials, &cv, e) != 0)
        return -1;
    sigv4_header h[3] = {
        { STRV("host"), strv_from(ep->authority) },
        { STRV("content-type"), strv_from(d->content_type) },
        { STRV("x-amz-target"), strv_from(target) },
    };
    sigv4_request req = {
        .method = STRV("POST"),
        .path = strv_from(ep->path),
        .query = STRV_EMPTY,
        .headers = h,
        .nheaders = 3,
        .payload = d->body.data,
        .payload_len = d->body.len,
    };
    sigv4_credentials sc = { cv->access_key_id, cv->secret_access_key, cv->session_token };
    sigv4_options so = {
        .region = d->region,
        .service = d->signing_name,
        .time_s = clock_real_us() / 1000000,
        .normalize_path = true,
    };
    if (sigv4_sign(d->signer, &req, &sc, &so, &d->signed_req, e) != 0)
        return -1;
    size_t n = 0;
    for (size_t i = 0; i < sizeof d->hdr / sizeof d->hdr[0]; i++)
        buf_reset(&d->hdr[i]);
    static const char *const names[] = {
        "Host: ",       "Content-Type: ",  "X-Amz-Target: ",
        "X-Amz-Date: ", "Authorization: ", "X-Amz-Security-Token: "
    };
    const char *values[] = { ep->authority,
                             d->content_type,
                             target,
                             d->signed_req.amz_date,
                             buf_cstr(&d->signed_req.authorization),
                             cv->session_token };
    size_t used = cv->session_token && *cv->session_token ? 6 : 5;
    for (size_t i = 0; i < used; i++) {
        buf_append_str(&d->hdr[i], names[i]);
        buf_append_str(&d->hdr[i], values[i]);
    }
    for (size_t i = 0; i < used; i++) {
        if (d->hdr[i].failed)
            return errinfo_set(e, ERR_TOOBIG, "request header too long");
        lines[n++] = buf_cstr(&d->hdr[i]);
    }
    lines[n] = NULL;
    return 0;
}

/* What the retry log line calls the failure: the service's type, the transport class, or
 * the HTTP status. */
static const char *awsjson_error_label(const aws_error *err, char *tmp, size_t tmplen)
{
    if (err->type[0])
        return err->type;
    if (err->fail != HTTP_FAIL_NONE)
        return http_fail_name(err->fail);
    snprintf(tmp, tmplen, "http-%ld", err->http_status);
    return tmp;
}

/* The call of awsjson_call and awsjson_call_doc: the reply becomes *resp (Jansson) when resp
 * is set, else *doc (flat). */
static int awsjson_do(awsjson *d, const awsjson_endpoint *ep, const char *target, const char *op,
                      awsjson_writer write, const void *arg, json_t **resp, jdoc **doc,
                      aws_error *err)
{
    aws_error scratch;
    if (!err)
        err = &scratch;
    aws_error_clear(err);
    if (resp)
        *resp = NULL;
    else
        *doc = NULL;
    buf_reset(&d->body);
    if (write(&d->body, arg) != 0)
        return errinfo_set(&err->info, d->body.failed ? ERR_TOOBIG : ERR_INVALID,
                           "%s %s: request cannot be encoded (over %zu bytes?)", d->label, op,
                           d->body.max);

    for (int attempt = 1;; attempt++) {
        const char *lines[8];
        err->attempts = attempt;
        if (awsjson_sign(d, ep, target, lines, &err->info) != 0)
            return -1;
        errinfo te;
        bool retry;
        if (http_request(d->http, "POST", ep->url, lines, d->body.data, d->body.len, &d->resp,
                         &te) != 0) {
            err->fail = d->resp.fail;
            err->http_status = 0;
            err->type[0] = '\0';
            errinfo_set(&err->info, te.code, "%s %s: %s", d->label, op, te.msg);
            retry = retry_is_retryable(0, NULL, err->fail);
        } else if (d->resp.status == 200) {
            if (d->resp.amz_crc32[0]) {
                unsigned long want = strtoul(d->resp.amz_crc32, NULL, 10);
                if (want != crc32_of(0, d->resp.body.data, d->resp.body.len)) {
                    errinfo_set(&err->info, ERR_IO, "%s %s: response CRC32 mismatch", d->label, op);
                    err->fail = HTTP_FAIL_RESET;
                    retry = true;
                    goto again;
                }
            }
            errinfo pe;
            bool parsed, is_object;
            if (d->resp.body.data)
                awsjson_nul_to_replacement(d->resp.body.data, d->resp.body.len);
            if (resp) {
                json_t *j = jparse(d->resp.body.data, d->resp.body.len, AWSJSON_DEPTH, &pe);
                parsed = j != NULL;
                is_object = json_is_object(j);
                if (is_object)
                    *resp = j;
                else
                    json_decref(j);
            } else {
                jdoc *j = jdoc_parse(d->resp.body.data, d->resp.body.len, AWSJSON_DEPTH, &pe);
                parsed = j != NULL;
                is_object = jdoc_is(jdoc_root(j), JDOC_OBJECT);
                if (is_object)
                    *doc = j;
                else
                    jdoc_free(j);
            }
            if (!is_object) {
                err->http_status = 200;
                return errinfo_set(&err->info, ERR_SERVICE,
                                   "%s %s: response is not a JSON object (%s)", d->label, op,
                                   parsed ? "another JSON type" : pe.msg);
            }
            return 0;
        } else {
            err->fail = HTTP_FAIL_NONE;
            err->http_status = d->resp.status;
            awsjson_error_decode(d, err, op, d->resp.status, &d->resp.body);
            retry = retry_is_retryable(d->resp.status, err->type, HTTP_FAIL_NONE);
        }
    again:
        if (!retry || attempt >= d->retry.max_attempts)
            return -1;
        long delay = retry_delay_ms(&d->retry, attempt - 1, rnd_u64());
        if (log_enabled(LOG_INFO)) {
            char label[32];
            json_t *f = json_pack("{s:s, s:s, s:i, s:I, s:s}", "op", op, "error",
                                  awsjson_error_label(err, label, sizeof label), "attempt", attempt,
                                  "delay_ms", (json_int_t)delay, "endpoint", ep->authority);
            log_fields(LOG_INFO, "aws.retry", f);
        }
        clock_sleep_ms(delay);
    }
}

/* awsjson_do, reported to the observer. */
static int awsjson_run(awsjson *d, const awsjson_endpoint *ep, const char *target, const char *op,
                       awsjson_writer write, const void *arg, json_t **resp, jdoc **doc,
                       aws_error *err)
{
    if (!d->observe)
        return awsjson_do(d, ep, target, op, write, arg, resp, doc, err);
    aws_error scratch;
    if (!err)
        err = &scratch;
    int64_t t0 = clock_mono_us();
    int rc = awsjson_do(d, ep, target, op, write, arg, resp, doc, err);
    aws_outcome o = rc == 0 ? (err->attempts > 1 ? AWS_OUTCOME_RETRIED : AWS_OUTCOME_OK)
                    : retry_is_throttle(err->type) ? AWS_OUTCOME_THROTTLED
                                                   : AWS_OUTCOME_FAILED;
    d->observe(d->observe_arg, op, o, clock_mono_us() - t0);
    return rc;
}

/* The body of a Jansson request. */
static int awsjson_write_json(buf *b, const void *req)
{
    return jwrite_value(b, req);
}

int awsjson_call(awsjson *d, const awsjson_endpoint *ep, const char *target, const char *op,
                 const json_t *req, json_t **resp, aws_error *err)
{
    return awsjson_run(d, ep, target, op, awsjson_write_json, req, resp, NULL, err);
}

int awsjson_call_doc(awsjson *d, const awsjson_endpoint *ep, const char *target, const char *op,
                     const json_t *req, jdoc **resp, aws_error *err)
{
    return awsjson_run(d, ep, target, op, awsjson_write_json, req, NULL, resp, err);
}

int awsjson_call_written(awsjson *d, const awsjson_endpoint *ep, const char *target, const char *op,
                         awsjson_writer write, const void *arg, json_t **resp, aws_error *err)
{
    return awsjson_run(d, ep, target, op, write, arg, resp, NULL, err);
}

int awsjson_call_doc_written(awsjson *d, const awsjson_endpoint *ep, const char *target,
                             const char *op, awsjson_writer write, const void *arg, jdoc **resp,
                             aws_error *err)
{
    return awsjson_run(d, ep, target, op, write, arg, NULL, resp, err);
}

size_t awsjson_nul_to_replacement(char *p, size_t n)
{
    /* On every reply of the hot path: memchr to each backslash, most replies have few. */
    size_t count = 0;
    char *end = p + n;
    for (char *q = p; (q = memchr(q, '\\', (size_t)(end - q))) != NULL && end - q >= 2; q += 2) {
        if (q[1] == 'u' && end - q >= 6 && memcmp(q + 2, "0000", 4) == 0) {
            memcpy(q + 2, "FFFD", 4);
            count++;
        }
        /* q += 2: the escaped character; a second backslash starts no escape */
    }
    return count;
}
