/* sigv4_canon.c — the canonical-request stage of SigV4: percent-encoding, the canonical URI
 * and query, header names lowercased and values folded, the headers checked and sorted.
 * Pure string building (aws/sigv4_stages.h states each function's contract). */
#include "config.h"
#include "aws/sigv4.h"
#include "aws/sigv4_internal.h"
#include "aws/sigv4_stages.h"

#include <stdlib.h>
#include <string.h>

#include "base/hex.h"

static const char HEX_UPPER[] = "0123456789ABCDEF";

#define MAX_QPARAMS (SIGV4_MAX_QUERY_PARAMS + 6)

typedef struct qparam {
    size_t koff, klen, voff, vlen; /* into the scratch buffer */
} qparam;

/* ---- small helpers ---------------------------------------------------------------------- */

static unsigned char lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + ('a' - 'A')) : c;
}

bool sigv4_is_alnum(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_unreserved(unsigned char c)
{
    return sigv4_is_alnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

/* RFC 9110 token characters, for header names. */
static bool sigv4_is_tchar(unsigned char c)
{
    return sigv4_is_alnum(c) || (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static void truncate_to(buf *b, size_t len)
{
    b->len = len;
    if (b->data)
        b->data[len] = '\0';
}

/* Case-insensitive order of header names; equal names compare 0. */
int sigv4_name_cmp(strv a, strv b)
{
    size_t n = a.len < b.len ? a.len : b.len;
    for (size_t i = 0; i < n; i++) {
        unsigned char x = lower((unsigned char)a.ptr[i]), y = lower((unsigned char)b.ptr[i]);
        if (x != y)
            return x < y ? -1 : 1;
    }
    return a.len < b.len ? -1 : a.len > b.len ? 1 : 0;
}

static int bytes_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    if (c != 0)
        return c;
    return alen < blen ? -1 : alen > blen ? 1 : 0;
}

/* Writes n in decimal to out (24 bytes) and returns the length; no NUL. */
size_t sigv4_format_uint(unsigned long long n, char out[24])
{
    char tmp[24];
    size_t i = sizeof tmp;
    do {
        tmp[--i] = (char)('0' + n % 10);
        n /= 10;
    } while (n);
    memcpy(out, tmp + i, sizeof tmp - i);
    return sizeof tmp - i;
}

int sigv4_fail_buf(const buf *b, const char *what, errinfo *e)
{
    return errinfo_set(e, ERR_TOOBIG, "sigv4: the %s does not fit in %zu bytes (or memory ran out)",
                       what, b->max);
}

/* Header values and tokens: no control characters but tab. */
bool sigv4_ok_field_value(unsigned char c)
{
    return c == '\t' || (c >= 0x20 && c != 0x7f);
}

/* ---- encoding stages ---------------------------------------------------------------------- */

/* Appends p[0..n) strictly encoded, percent-decoding it first when decode is set. */
static int encode_into(buf *b, const char *p, size_t n, bool decode, bool keep_slash)
{
    if (n > (SIZE_MAX - 1) / 3 || buf_reserve(b, n * 3) != 0)
        return -1;
    char *o = b->data + b->len;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (decode && c == '%' && i + 2 < n && hex_value((unsigned char)p[i + 1]) >= 0 &&
            hex_value((unsigned char)p[i + 2]) >= 0) {
            c = (unsigned char)(hex_value((unsigned char)p[i + 1]) * 16 +
                                hex_value((unsigned char)p[i + 2]));
            i += 2;
        }
        if (is_unreserved(c) || (keep_slash && c == '/')) {
            *o++ = (char)c;
        } else {
            *o++ = '%';
            *o++ = HEX_UPPER[c >> 4];
            *o++ = HEX_UPPER[c & 15];
        }
    }
    b->len = (size_t)(o - b->data);
    b->data[b->len] = '\0';
    return 0;
}

int sigv4_uri_encode(buf *out, strv s, bool keep_slash)
{
    return encode_into(out, s.ptr, s.len, false, keep_slash);
}

int sigv4_canonical_uri(buf *out, strv path, bool normalize, errinfo *e)
{
    if (path.len == 0 || path.ptr[0] != '/')
        return errinfo_set(e, ERR_INVALID, "sigv4: the path must start with '/'");
    if (path.len > SIGV4_MAX_PATH)
        return errinfo_set(e, ERR_TOOBIG, "sigv4: the path is longer than %d bytes",
                           SIGV4_MAX_PATH);
    if (!normalize) {
        if (encode_into(out, path.ptr, path.len, false, true) != 0)
            return sigv4_fail_buf(out, "canonical request", e);
        return 0;
    }
    /* Remove dot segments (RFC 3986 5.2.4) and fold runs of '/'. The output stays "/" or
     * "/seg/seg" (no trailing '/') until the end, so ".." truncates to the last '/'. */
    size_t base = out->len;
    if (buf_putc(out, '/') != 0)
        return sigv4_fail_buf(out, "canonical request", e);
    bool trailing = false;
    size_t i = 1;
    while (i <= path.len) {
        const char *seg = path.ptr + i;
        const char *slash = memchr(seg, '/', path.len - i);
        size_t n = slash ? (size_t)(slash - seg) : path.len - i;
        bool last = slash == NULL;
        i += n + 1;
        if (n == 0 || (n == 1 && seg[0] == '.')) {
            trailing = true;
            continue;
        }
        if (n == 2 && seg[0] == '.' && seg[1] == '.') {
            size_t j = out->len;
            while (j > base + 1 && out->data[j - 1] != '/')
                j--;
            truncate_to(out, j > base + 1 ? j - 1 : base + 1);
            trailing = true;
            continue;
        }
        if (out->len > base + 1 && buf_putc(out, '/') != 0)
            return sigv4_fail_buf(out, "canonical request", e);
        if (encode_into(out, seg, n, false, false) != 0)
            return sigv4_fail_buf(out, "canonical request", e);
        trailing = !last;
    }
    if (trailing && out->len > base + 1 && buf_putc(out, '/') != 0)
        return sigv4_fail_buf(out, "canonical request", e);
    return 0;
}

static int query_add(buf *scratch, qparam *p, strv k, strv v, bool decode)
{
    p->koff = scratch->len;
    if (encode_into(scratch, k.ptr, k.len, decode, false) != 0)
        return -1;
    p->klen = scratch->len - p->koff;
    p->voff = scratch->len;
    if (encode_into(scratch, v.ptr, v.len, decode, false) != 0)
        return -1;
    p->vlen = scratch->len - p->voff;
    return 0;
}

/* Appends the canonical query of query plus the already-raw extras; scratch is reused. */
int sigv4_canon_query(buf *out, buf *scratch, strv query, const sigv4_qextra *extra, size_t nextra,
                      errinfo *e)
{
    qparam p[MAX_QPARAMS];
    size_t n = 0;

    if (query.len > SIGV4_MAX_QUERY)
        return errinfo_set(e, ERR_TOOBIG, "sigv4: the query is longer than %d bytes",
                           SIGV4_MAX_QUERY);
    buf_reset(scratch);
    size_t i = 0;
    while (i < query.len) {
        const char *piece = query.ptr + i;
        const char *amp = memchr(piece, '&', query.len - i);
        size_t len = amp ? (size_t)(amp - piece) : query.len - i;
        i += len + 1;
        if (len == 0)
            continue;
        if (n == SIGV4_MAX_QUERY_PARAMS)
            return errinfo_set(e, ERR_TOOBIG, "sigv4: the query has more than %d parameters",
                               SIGV4_MAX_QUERY_PARAMS);
        const char *eq = memchr(piece, '=', len);
        strv k = { piece, eq ? (size_t)(eq - piece) : len };
        strv v = eq ? (strv){ eq + 1, len - k.len - 1 } : STRV_EMPTY;
        if (query_add(scratch, &p[n++], k, v, true) != 0)
            return sigv4_fail_buf(scratch, "encoded query", e);
    }
    for (size_t x = 0; x < nextra; x++)
        if (query_add(scratch, &p[n++], extra[x].key, extra[x].value, false) != 0)
            return sigv4_fail_buf(scratch, "encoded query", e);

    /* Insertion sort by key, then value: short lists, stable, no allocation. */
    const char *d = buf_cstr(scratch);
    for (size_t a = 1; a < n; a++) {
        qparam t = p[a];
        size_t b = a;
        while (b > 0) {
            const qparam *q = &p[b - 1];
            int c = bytes_cmp(d + q->koff, q->klen, d + t.koff, t.klen);
            if (c == 0)
                c = bytes_cmp(d + q->voff, q->vlen, d + t.voff, t.vlen);
            if (c <= 0)
                break;
            p[b] = p[b - 1];
            b--;
        }
        p[b] = t;
    }
    for (size_t a = 0; a < n; a++) {
        if (a > 0)
            buf_putc(out, '&');
        buf_append(out, d + p[a].koff, p[a].klen);
        buf_putc(out, '=');
        buf_append(out, d + p[a].voff, p[a].vlen);
    }
    if (out->failed)
        return sigv4_fail_buf(out, "canonical request", e);
    return 0;
}

int sigv4_canonical_query(buf *out, strv query, errinfo *e)
{
    buf scratch;
    buf_init(&scratch, 0);
    int rc = sigv4_canon_query(out, &scratch, query, NULL, 0, e);
    buf_cleanup(&scratch);
    return rc;
}

/* Appends a header value trimmed of spaces and tabs, inner runs folded to one space. */
int sigv4_append_folded(buf *b, strv v)
{
    size_t i = 0, n = v.len;
    while (i < n && (v.ptr[i] == ' ' || v.ptr[i] == '\t'))
        i++;
    while (n > i && (v.ptr[n - 1] == ' ' || v.ptr[n - 1] == '\t'))
        n--;
    while (i < n) {
        size_t j = i;
        while (j < n && v.ptr[j] != ' ' && v.ptr[j] != '\t')
            j++;
        if (buf_append(b, v.ptr + i, j - i) != 0)
            return -1;
        if (j == n)
            break;
        if (buf_putc(b, ' ') != 0)
            return -1;
        while (j < n && (v.ptr[j] == ' ' || v.ptr[j] == '\t'))
            j++;
        i = j;
    }
    return 0;
}

int sigv4_append_lower(buf *b, strv s)
{
    if (buf_reserve(b, s.len) != 0)
        return -1;
    for (size_t i = 0; i < s.len; i++)
        b->data[b->len + i] = (char)lower((unsigned char)s.ptr[i]);
    b->len += s.len;
    b->data[b->len] = '\0';
    return 0;
}

/* ---- headers ------------------------------------------------------------------------------ */

/* Checks the caller's headers and gathers them, with the ones the signer adds, sorted by
 * name (stable, so duplicates keep their order). */
int sigv4_gather_headers(const sigv4_request *req, const sigv4_options *opt,
                         const sigv4_hdr_ent *added, size_t nadded, sigv4_hdr_ent *ent,
                         size_t *nent, errinfo *e)
{
    bool host = false;
    size_t n = 0;

    if (req->nheaders > SIGV4_MAX_HEADERS)
        return errinfo_set(e, ERR_TOOBIG, "sigv4: more than %d headers", SIGV4_MAX_HEADERS);
    if (req->nheaders > 0 && !req->headers)
        return errinfo_set(e, ERR_INVALID, "sigv4: headers is NULL");
    for (size_t i = 0; i < req->nheaders; i++) {
        strv name = req->headers[i].name, value = req->headers[i].value;
        if (name.len == 0 || !name.ptr)
            return errinfo_set(e, ERR_INVALID, "sigv4: header %zu has no name", i);
        if (name.len > SIGV4_MAX_HEADER_NAME)
            return errinfo_set(e, ERR_TOOBIG, "sigv4: header %zu's name is longer than %d bytes", i,
                               SIGV4_MAX_HEADER_NAME);
        for (size_t j = 0; j < name.len; j++)
            if (!sigv4_is_tchar((unsigned char)name.ptr[j]))
                return errinfo_set(e, ERR_INVALID, "sigv4: header %zu's name has a bad character",
                                   i);
        if (value.len > SIGV4_MAX_HEADER_VALUE)
            return errinfo_set(e, ERR_TOOBIG, "sigv4: header %.*s is longer than %d bytes",
                               (int)name.len, name.ptr, SIGV4_MAX_HEADER_VALUE);
        if (value.len > 0 && !value.ptr)
            return errinfo_set(e, ERR_INVALID, "sigv4: header %.*s has a NULL value", (int)name.len,
                               name.ptr);
        for (size_t j = 0; j < value.len; j++)
            if (!sigv4_ok_field_value((unsigned char)value.ptr[j]))
                return errinfo_set(e, ERR_INVALID,
                                   "sigv4: header %.*s has a control character in its value",
                                   (int)name.len, name.ptr);
        if (sigv4_name_cmp(name, STRV("authorization")) == 0 ||
            sigv4_name_cmp(name, STRV("x-amz-date")) == 0 ||
            sigv4_name_cmp(name, STRV("x-amz-security-token")) == 0 ||
            (opt->sign_body && !opt->presign &&
             sigv4_name_cmp(name, STRV("x-amz-content-sha256")) == 0))
            return errinfo_set(e, ERR_INVALID, "sigv4: header %.*s is set by the signer",
                               (int)name.len, name.ptr);
        if (sigv4_name_cmp(name, STRV("host")) == 0) {
            size_t k = 0;
            while (k < value.len && (value.ptr[k] == ' ' || value.ptr[k] == '\t'))
                k++;
            if (k == value.len)
                return errinfo_set(e, ERR_INVALID, "sigv4: the Host header is empty");
            host = true;
        }
        ent[n].name = name;
        ent[n].value = value;
        n++;
    }
    if (!host)
        return errinfo_set(e, ERR_INVALID, "sigv4: the request has no Host header");
    for (size_t i = 0; i < nadded; i++)
        ent[n++] = added[i];
    for (size_t a = 1; a < n; a++) {
        sigv4_hdr_ent t = ent[a];
        size_t b = a;
        while (b > 0 && sigv4_name_cmp(ent[b - 1].name, t.name) > 0) {
            ent[b] = ent[b - 1];
            b--;
        }
        ent[b] = t;
    }
    *nent = n;
    return 0;
}
