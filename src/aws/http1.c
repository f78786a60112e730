/* http1.c — HTTP/1.1 as pure functions over bytes (aws/http1.h): the request written the
 * way libcurl would send it, the answer parsed as its bytes arrive (status line, headers,
 * Content-Length, chunked with extensions and trailers, read-to-close, 1xx skipped). No
 * sockets here: the raw path's socket loop is http_raw.c. */
#include "config.h"
#include "aws/http1.h"

#include <stdint.h>
#include <string.h>
#include <strings.h>

void http1_capture(const char *line, size_t len, const char *name, char *out, size_t outlen)
{
    size_t nl = strlen(name);
    if (len <= nl + 1 || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
        return;
    const char *v = line + nl + 1;
    const char *end = line + len;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
        end--;
    size_t vl = (size_t)(end - v);
    if (vl >= outlen)
        vl = outlen - 1;
    memcpy(out, v, vl);
    out[vl] = '\0';
}

/* As libcurl would send the request for these arguments (CURLOPT_HTTPHEADER's rules). */
int http1_request_write(buf *o, const char *method, const char *host, const char *target,
                        const char *const *headers, const void *body, size_t body_len, errinfo *e)
{
    bool is_get = strcmp(method, "GET") == 0;
    bool has_host = false;
    buf_reset(o);
    buf_append_str(o, method);
    buf_putc(o, ' ');
    if (*target != '/')
        buf_putc(o, '/');
    buf_append_str(o, target);
    buf_append_str(o, " HTTP/1.1\r\n");
    for (const char *const *p = headers; p && *p; p++)
        if (strncasecmp(*p, "Host:", 5) == 0)
            has_host = true;
    if (!has_host)
        buf_printf(o, "Host: %s\r\n", host);
    for (const char *const *p = headers; p && *p; p++) {
        const char *l = *p;
        size_t n = strlen(l);
        if (strpbrk(l, "\r\n"))
            return errinfo_set(e, ERR_INVALID, "HTTP header line contains CR or LF");
        const char *colon = strchr(l, ':');
        if (colon && colon[1 + strspn(colon + 1, " \t")] == '\0')
            continue; /* "Name:" removes a header libcurl would add; here none is added */
        if (!colon && n > 0 && l[n - 1] == ';') {
            buf_append(o, l, n - 1);
            buf_append_str(o, ":\r\n");
            continue;
        }
        buf_append(o, l, n);
        buf_append_str(o, "\r\n");
    }
    if (!is_get || body) {
        char digits[24];
        size_t n = body ? body_len : 0, at = sizeof digits;
        do
            digits[--at] = (char)('0' + n % 10);
        while ((n /= 10) > 0);
        buf_append_str(o, "Content-Length: ");
        buf_append(o, digits + at, sizeof digits - at);
        buf_append_str(o, "\r\n");
    }
    buf_append_str(o, "\r\n");
    if (body && body_len)
        buf_append(o, body, body_len);
    if (o->failed)
        return errinfo_set(e, ERR_TOOBIG, "HTTP request too large");
    return 0;
}

static bool http1_token(const char *v, size_t n, const char *tok)
{
    size_t tl = strlen(tok);
    for (size_t i = 0; i + tl <= n; i++)
        if (strncasecmp(v + i, tok, tl) == 0 && (i == 0 || v[i - 1] == ' ' || v[i - 1] == ',') &&
            (i + tl == n || v[i + tl] == ' ' || v[i + tl] == ','))
            return true;
    return false;
}

/* Parses the status line and headers in in[0..end) (end: the blank line's CRLF). */
int http1_parse_head(http1_parse *st, const char *in, size_t end, bool is_head, http_response *resp)
{
    if (end < 12 || memcmp(in, "HTTP/1.", 7) != 0 || in[7] < '0' || in[7] > '9' || in[8] != ' ' ||
        in[9] < '1' || in[9] > '5' || in[10] < '0' || in[10] > '9' || in[11] < '0' ||
        in[11] > '9' || (end > 12 && in[12] != ' ' && in[12] != '\r'))
        return HTTP1_BAD;
    st->minor = in[7] - '0';
    st->status = (in[9] - '0') * 100 + (in[10] - '0') * 10 + (in[11] - '0');
    st->close = st->minor == 0;
    const char *l = memchr(in, '\n', end);
    while (l && (size_t)(l + 1 - in) < end) {
        l++;
        const char *nl = memchr(l, '\n', (size_t)(in + end - l));
        size_t len = nl ? (size_t)(nl - l) : (size_t)(in + end - l);
        if (len > 0 && l[len - 1] == '\r')
            len--;
        const char *colon = memchr(l, ':', len);
        if (!colon || colon == l)
            return HTTP1_BAD;
        size_t nlen = (size_t)(colon - l);
        const char *v = colon + 1, *ve = l + len;
        while (v < ve && (*v == ' ' || *v == '\t'))
            v++;
        while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
            ve--;
        size_t vlen = (size_t)(ve - v);
        if (nlen == 14 && strncasecmp(l, "content-length", 14) == 0) {
            size_t n = 0;
            if (vlen == 0 || vlen > 15)
                return HTTP1_BAD;
            for (size_t i = 0; i < vlen; i++) {
                if (v[i] < '0' || v[i] > '9')
                    return HTTP1_BAD;
                n = n * 10 + (size_t)(v[i] - '0');
            }
            if (st->has_length && st->length != n)
                return HTTP1_BAD;
            st->has_length = true;
            st->length = n;
        } else if (nlen == 17 && strncasecmp(l, "transfer-encoding", 17) == 0) {
            if (vlen != 7 || strncasecmp(v, "chunked", 7) != 0)
                return HTTP1_BAD; /* nothing else was asked for */
            st->chunked = true;
        } else if (nlen == 10 && strncasecmp(l, "connection", 10) == 0) {
            if (http1_token(v, vlen, "close"))
                st->close = true;
            else if (http1_token(v, vlen, "keep-alive"))
                st->close = false;
        } else {
            http1_capture(l, len, "x-amz-crc32", resp->amz_crc32, sizeof resp->amz_crc32);
            http1_capture(l, len, "x-amzn-requestid", resp->request_id, sizeof resp->request_id);
        }
        l = nl;
    }
    if (st->chunked)
        st->has_length = false;
    st->no_body = is_head || st->status == 204 || st->status == 304 ||
                  (st->status >= 100 && st->status < 200);
    return 0;
}

/* Decodes what has arrived of a chunked body into resp->body: 0 when complete. */
int http1_dechunk(http1_parse *st, const char *in, size_t len, http_response *resp)
{
    for (;;) {
        if (st->cstate == 1) {
            size_t take = len - st->pos < st->chunk_left ? len - st->pos : st->chunk_left;
            if (take && buf_append(&resp->body, in + st->pos, take) != 0)
                return HTTP1_BIG;
            st->pos += take;
            st->chunk_left -= take;
            if (st->chunk_left)
                return HTTP1_MORE;
            st->cstate = 2;
        }
        if (st->cstate == 2) {
            if (len - st->pos < 2)
                return HTTP1_MORE;
            if (in[st->pos] != '\r' || in[st->pos + 1] != '\n')
                return HTTP1_BAD;
            st->pos += 2;
            st->cstate = 0;
        }
        const char *l = in + st->pos;
        const char *nl = memchr(l, '\n', len - st->pos);
        if (!nl)
            return len - st->pos > HTTP1_LINE_MAX ? HTTP1_BAD : HTTP1_MORE;
        size_t ll = (size_t)(nl - l);
        /* the same cap as for a line still arriving, so the verdict does not depend on how
         * the bytes were split across reads */
        if (ll == 0 || ll > HTTP1_LINE_MAX || l[ll - 1] != '\r')
            return HTTP1_BAD;
        ll--;
        st->pos += ll + 2;
        if (st->cstate == 3) {
            if (ll == 0)
                return 0;
            continue; /* a trailer line */
        }
        size_t n = 0, i = 0;
        for (; i < ll && i < 15; i++) {
            char c = l[i];
            int d = c >= '0' && c <= '9'                     ? c - '0'
                    : (c | 0x20) >= 'a' && (c | 0x20) <= 'f' ? (c | 0x20) - 'a' + 10
                                                             : -1;
            if (d < 0)
                break;
            n = n * 16 + (size_t)d;
        }
        if (i == 0 || (i < ll && l[i] != ';' && l[i] != ' ' && l[i] != '\t'))
            return HTTP1_BAD;
        if (n == 0) {
            st->cstate = 3;
        } else {
            st->chunk_left = n;
            st->cstate = 1;
        }
    }
}

int http1_parse_bytes(http1_parse *st, char *in_buf, size_t *in_len, size_t max_response_bytes,
                      bool is_head, bool eof, http_response *resp)
{
    while (st->head_end == 0) {
        const char *in = in_buf, *hit = NULL;
        for (size_t i = st->scan; i + 4 <= *in_len; i++)
            if (in[i] == '\r' && memcmp(in + i, "\r\n\r\n", 4) == 0) {
                hit = in + i;
                break;
            }
        if (!hit) {
            if (*in_len > HTTP1_HEAD_MAX)
                return HTTP1_BAD;
            st->scan = *in_len > 3 ? *in_len - 3 : 0;
            return eof ? HTTP1_BAD : HTTP1_MORE;
        }
        size_t end = (size_t)(hit - in) + 2;
        http1_parse fresh = { 0 };
        *st = fresh;
        if (http1_parse_head(st, in, end, is_head, resp) != 0)
            return HTTP1_BAD;
        if (st->status < 200) { /* an interim answer (100 Continue): drop it, read on */
            size_t used = end + 2;
            memmove(in_buf, in_buf + used, *in_len - used);
            *in_len -= used;
            *st = fresh;
            continue;
        }
        st->head_end = end + 2;
        st->pos = st->head_end;
    }
    size_t have = *in_len - st->head_end;
    if (st->no_body)
        return 0;
    if (st->chunked) {
        int r = http1_dechunk(st, in_buf, *in_len, resp);
        if (r == HTTP1_MORE && st->pos > st->head_end) { /* drop what is decoded */
            memmove(in_buf + st->head_end, in_buf + st->pos, *in_len - st->pos);
            *in_len -= st->pos - st->head_end;
            st->pos = st->head_end;
        }
        if (r == 0 && st->pos < *in_len)
            st->close = true; /* bytes nobody asked for: do not reuse the connection */
        return r == HTTP1_MORE && eof ? HTTP1_BAD : r;
    }
    if (st->has_length) {
        if (st->length > max_response_bytes)
            return HTTP1_BIG;
        if (have < st->length)
            return eof ? HTTP1_BAD : HTTP1_MORE;
        if (have > st->length)
            st->close = true; /* bytes nobody asked for: do not reuse the connection */
        return buf_append(&resp->body, in_buf + st->head_end, st->length) != 0 ? HTTP1_BIG : 0;
    }
    if (have > max_response_bytes)
        return HTTP1_BIG;
    if (!eof)
        return HTTP1_MORE;
    st->close = true;
    return buf_append(&resp->body, in_buf + st->head_end, have) != 0 ? HTTP1_BIG : 0;
}
