/* cursor.c — opaque paging cursors (base64url of a versioned compact JSON key) and the
 * ?limit=/?cursor= parameters of the API's list endpoints. */
#include "config.h"
#include "api/cursor.h"

#include <stdlib.h>
#include <string.h>

#include "aws/ddb_av.h"
#include "base/base64.h"
#include "base/hex.h"
#include "base/jparse.h"
#include "base/jwrite.h"
#include "base/utf8.h"

/* The S value of attribute name in key, with its length; NULL when missing or not S. */
static const char *cursor_key_s(const json_t *key, const char *name, size_t *len)
{
    const json_t *av = json_object_get(key, name);
    const json_t *s = ddb_av_type_of(av) == DDB_AV_S ? json_object_get(av, "S") : NULL;
    if (!s)
        return NULL;
    *len = json_string_length(s);
    return json_string_value(s);
}

int cursor_encode_pair(const char *pk, size_t pklen, const char *sk, size_t sklen, char *out,
                       size_t outlen, errinfo *e)
{
    if (!pk || !sk || pklen == 0 || sklen == 0 || pklen > CURSOR_KEY_MAX ||
        sklen > CURSOR_KEY_MAX || memchr(pk, 0, pklen) || memchr(sk, 0, sklen) ||
        !utf8_valid(pk, pklen) || !utf8_valid(sk, sklen))
        return errinfo_set(e, ERR_INVALID, "cursor: the key is not a pk/sk pair of strings");
    buf r, enc;
    buf_init(&r, 16 * CURSOR_KEY_MAX); /* room for both keys, every byte escaped */
    buf_init(&enc, CURSOR_MAX_LEN);
    int rc = -1;
    /* {"pk":..,"sk":..}: the compact, sorted text json_dumps wrote before */
    if (buf_putc(&r, CURSOR_VERSION) != 0 || buf_append_str(&r, "{\"pk\":") != 0 ||
        jwrite_str(&r, pk, pklen) != 0 || buf_append_str(&r, ",\"sk\":") != 0 ||
        jwrite_str(&r, sk, sklen) != 0 || buf_putc(&r, '}') != 0 ||
        base64_encode(BASE64_URL, r.data, r.len, &enc) != 0 || enc.len >= outlen) {
        errinfo_set(e, ERR_TOOBIG, "cursor: too long");
        goto out;
    }
    memcpy(out, enc.data, enc.len + 1);
    rc = 0;
out:
    buf_cleanup(&r);
    buf_cleanup(&enc);
    return rc;
}

int cursor_encode(const json_t *last_key, char *out, size_t outlen, errinfo *e)
{
    size_t pklen = 0, sklen = 0;
    const char *pk = cursor_key_s(last_key, "pk", &pklen);
    const char *sk = cursor_key_s(last_key, "sk", &sklen);
    if (!pk || !sk || json_object_size(last_key) != 2)
        return errinfo_set(e, ERR_INVALID, "cursor: the key is not a pk/sk pair of strings");
    return cursor_encode_pair(pk, pklen, sk, sklen, out, outlen, e);
}

int cursor_decode(strv text, const char *expect_pk, json_t **start_key, errinfo *e)
{
    *start_key = NULL;
    if (text.len == 0 || text.len > CURSOR_MAX_LEN)
        return errinfo_set(e, ERR_INVALID, "cursor: empty or longer than %d bytes", CURSOR_MAX_LEN);
    buf raw;
    buf_init(&raw, CURSOR_MAX_LEN);
    json_t *v = NULL;
    int rc = -1;
    errinfo de;
    if (base64_decode(BASE64_URL, text, &raw, &de) != 0 || raw.len < 2) {
        errinfo_set(e, ERR_INVALID, "cursor: not a cursor this API wrote");
        goto out;
    }
    if ((unsigned char)raw.data[0] != CURSOR_VERSION) {
        errinfo_set(e, ERR_INVALID, "cursor: unknown version");
        goto out;
    }
    v = jparse(raw.data + 1, raw.len - 1, 2, &de);
    const json_t *pk = json_object_get(v, "pk"), *sk = json_object_get(v, "sk");
    if (!json_is_object(v) || json_object_size(v) != 2 || !json_is_string(pk) ||
        !json_is_string(sk) || json_string_length(pk) == 0 || json_string_length(sk) == 0 ||
        json_string_length(pk) > CURSOR_KEY_MAX || json_string_length(sk) > CURSOR_KEY_MAX) {
        errinfo_set(e, ERR_INVALID, "cursor: malformed");
        goto out;
    }
    if (!expect_pk || strcmp(json_string_value(pk), expect_pk) != 0) {
        errinfo_set(e, ERR_INVALID, "cursor: belongs to another list");
        goto out;
    }
    *start_key = json_pack("{s:{s:O}, s:{s:O}}", "pk", "S", pk, "sk", "S", sk);
    if (!*start_key) {
        errinfo_set(e, ERR_NOMEM, "cursor: out of memory");
        goto out;
    }
    rc = 0;
out:
    json_decref(v);
    buf_cleanup(&raw);
    return rc;
}

/* ---- query parameters ---------------------------------------------------------------------- */

/* Percent-decodes v ('+' is a space) into out. 0, or -1 on a bad escape or overflow. */
static int cursor_unescape(strv v, buf *out)
{
    for (size_t i = 0; i < v.len; i++) {
        char c = v.ptr[i];
        if (c == '%') {
            int hi = i + 2 < v.len ? hex_value((unsigned char)v.ptr[i + 1]) : -1;
            int lo = i + 2 < v.len ? hex_value((unsigned char)v.ptr[i + 2]) : -1;
            if (hi < 0 || lo < 0)
                return -1;
            c = (char)(hi * 16 + lo);
            i += 2;
        } else if (c == '+') {
            c = ' ';
        }
        if (buf_putc(out, c) != 0)
            return -1;
    }
    return 0;
}

static int cursor_parse_limit(strv v, int max, int *out)
{
    if (v.len == 0 || v.len > 3)
        return -1;
    int n = 0;
    for (size_t i = 0; i < v.len; i++) {
        if (v.ptr[i] < '0' || v.ptr[i] > '9')
            return -1;
        n = n * 10 + (v.ptr[i] - '0');
    }
    if (n < 1 || n > max)
        return -1;
    *out = n;
    return 0;
}

int cursor_page_args_parse(strv query, const char *expect_pk, int dflt, int max,
                           cursor_page_args *out, errinfo *e)
{
    out->limit = dflt;
    out->start_key = NULL;
    bool seen_limit = false, seen_cursor = false;
    buf val;
    buf_init(&val, CURSOR_MAX_LEN);
    size_t i = 0;
    int rc = -1;
    while (i < query.len) {
        size_t end = i;
        while (end < query.len && query.ptr[end] != '&')
            end++;
        strv part = { query.ptr + i, end - i };
        i = end + 1;
        const char *eq = memchr(part.ptr, '=', part.len);
        strv name = { part.ptr, eq ? (size_t)(eq - part.ptr) : part.len };
        strv raw = eq ? (strv){ eq + 1, part.len - name.len - 1 } : STRV_EMPTY;
        bool is_limit = strv_eq_cstr(name, "limit"), is_cursor = strv_eq_cstr(name, "cursor");
        if (!is_limit && !is_cursor)
            continue;
        buf_reset(&val);
        if (cursor_unescape(raw, &val) != 0) {
            errinfo_set(e, ERR_INVALID, "%s: malformed", is_limit ? "limit" : "cursor");
            goto out;
        }
        if (is_limit) {
            if (seen_limit || cursor_parse_limit(buf_view(&val), max, &out->limit) != 0) {
                errinfo_set(e, ERR_INVALID, "limit must be one whole number from 1 to %d", max);
                goto out;
            }
            seen_limit = true;
        } else {
            if (seen_cursor) {
                errinfo_set(e, ERR_INVALID, "cursor given twice");
                goto out;
            }
            seen_cursor = true;
            if (cursor_decode(buf_view(&val), expect_pk, &out->start_key, e) != 0)
                goto out;
        }
    }
    rc = 0;
out:
    buf_cleanup(&val);
    if (rc != 0) {
        cursor_page_args_cleanup(out);
        out->limit = dflt;
    }
    return rc;
}

void cursor_page_args_cleanup(cursor_page_args *a)
{
    if (!a)
        return;
    json_decref(a->start_key);
    a->start_key = NULL;
}
