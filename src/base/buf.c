/* buf.c — the capped byte buffer and string views. */
#include "config.h"
#include "base/buf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "base/hex.h"

strv strv_from(const char *s)
{
    if (!s)
        return STRV_EMPTY;
    return (strv){ s, strlen(s) };
}

bool strv_eq(strv a, strv b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

bool strv_eq_cstr(strv a, const char *s)
{
    return strv_eq(a, strv_from(s));
}

bool strv_copy(strv v, char *dst, size_t size)
{
    if (v.len >= size)
        return false;
    if (v.len > 0)
        memcpy(dst, v.ptr, v.len);
    dst[v.len] = '\0';
    return true;
}

void buf_init(buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max ? max : BUF_MAX_DEFAULT;
    b->failed = false;
}

static void buf_release(buf *b, bool wipe)
{
    if (!b)
        return;
    if (b->data && wipe)
        OPENSSL_cleanse(b->data, b->cap);
    free(b->data);
    buf_init(b, b->max);
}

void buf_cleanup(buf *b)
{
    buf_release(b, false);
}

void buf_cleanup_wipe(buf *b)
{
    buf_release(b, true);
}

void buf_reset(buf *b)
{
    b->len = 0;
    b->failed = false;
    if (b->data)
        b->data[0] = '\0';
}

int buf_reserve(buf *b, size_t n)
{
    if (b->failed)
        return -1;
    if (n > b->max || b->len > b->max - n) {
        b->failed = true;
        return -1;
    }
    size_t need = b->len + n + 1;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    if (cap > b->max + 1)
        cap = b->max + 1;
    char *p = realloc(b->data, cap);
    if (!p) {
        b->failed = true;
        return -1;
    }
    b->data = p;
    b->cap = cap;
    return 0;
}

int buf_append(buf *b, const void *p, size_t n)
{
    if (buf_reserve(b, n) != 0)
        return -1;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int buf_append_str(buf *b, const char *s)
{
    return buf_append(b, s, s ? strlen(s) : 0);
}

int buf_append_strv(buf *b, strv v)
{
    return buf_append(b, v.ptr, v.len);
}

int buf_putc(buf *b, char c)
{
    return buf_append(b, &c, 1);
}

int buf_vprintf(buf *b, const char *fmt, va_list ap)
{
    va_list cp;
    va_copy(cp, ap);
    int n = vsnprintf(NULL, 0, fmt, cp);
    va_end(cp);
    if (n < 0 || buf_reserve(b, (size_t)n) != 0) {
        b->failed = true;
        return -1;
    }
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return 0;
}

int buf_printf(buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

int buf_append_hex(buf *b, const unsigned char *p, size_t n)
{
    if (n > SIZE_MAX / 2 || buf_reserve(b, n * 2) != 0)
        return -1;
    hex_encode(p, n, b->data + b->len);
    b->len += n * 2;
    return 0;
}

const char *buf_cstr(const buf *b)
{
    return b->data ? b->data : "";
}

strv buf_view(const buf *b)
{
    return (strv){ buf_cstr(b), b->len };
}

char *buf_take(buf *b)
{
    char *p = b->data;
    if (!p)
        p = calloc(1, 1);
    buf_init(b, b->max);
    return p;
}
