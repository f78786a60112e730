/* jwrite.c — JSON text into a buf: strings and Jansson values. */
#include "config.h"
#include "base/jwrite.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "base/utf8.h"

/* Which bytes need an escape: '"', '\\' and the control characters. */
static inline int jwrite_needs_escape(unsigned char c)
{
    return c < 0x20 || c == '"' || c == '\\';
}

/* Counts k more bytes at *o and copies them to dst when they fit within cap. */
static inline void jwrite_put(char *dst, size_t cap, size_t *o, const void *p, size_t k)
{
    if (k && *o + k <= cap)
        memcpy(dst + *o, p, k);
    *o += k;
}

ptrdiff_t jwrite_escape(char *dst, size_t cap, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    if (!s || n > (size_t)PTRDIFF_MAX / 6 - 2)
        return -1;
    size_t o = 0; /* what the whole string takes so far; bytes past cap are not written */
    jwrite_put(dst, cap, &o, "\"", 1);
    /* one pass: ASCII checked for escapes, each other sequence for UTF-8 */
    const unsigned char *p = (const unsigned char *)s;
    size_t run = 0;
    for (size_t i = 0; i < n;) {
        unsigned char c = p[i];
        if (c >= 0x80) {
            uint32_t cp;
            size_t k = utf8_next(p + i, n - i, &cp);
            if (k == 0)
                return -1;
            i += k;
            continue;
        }
        if (!jwrite_needs_escape(c)) {
            i++;
            continue;
        }
        jwrite_put(dst, cap, &o, s + run, i - run);
        char esc[6] = { '\\', (char)c, 0, 0, 0, 0 };
        size_t en = 2;
        switch (c) {
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        case '"':
        case '\\': break;
        default:
            memcpy(esc + 1, "u00", 3);
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            en = 6;
            break;
        }
        jwrite_put(dst, cap, &o, esc, en);
        run = ++i;
    }
    jwrite_put(dst, cap, &o, s + run, n - run);
    jwrite_put(dst, cap, &o, "\"", 1);
    return (ptrdiff_t)o;
}

int jwrite_str(buf *b, const char *s, size_t n)
{
    if (!s)
        return -1;
    /* the text takes at least n + 2 bytes: most strings need no escape and fit at once */
    if (n > SIZE_MAX - 2 || buf_reserve(b, n + 2) != 0)
        return -1;
    size_t room = b->cap - 1 - b->len; /* the free space before the NUL's byte */
    ptrdiff_t k = jwrite_escape(b->data + b->len, room, s, n);
    if (k >= 0 && (size_t)k > room) {
        b->data[b->len] = '\0';
        if (buf_reserve(b, (size_t)k) != 0)
            return -1;
        k = jwrite_escape(b->data + b->len, (size_t)k, s, n);
    }
    if (k < 0) {
        b->data[b->len] = '\0'; /* not UTF-8: b as it was */
        return -1;
    }
    b->len += (size_t)k;
    b->data[b->len] = '\0';
    return 0;
}

int jwrite_int(buf *b, long long v)
{
    char tmp[24];
    char *p = tmp + sizeof tmp;
    /* the magnitude as unsigned: INT64_MIN has no positive twin */
    unsigned long long m = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    do
        *--p = (char)('0' + m % 10);
    while ((m /= 10) != 0);
    if (v < 0)
        *--p = '-';
    return buf_append(b, p, (size_t)(tmp + sizeof tmp - p));
}

/* A real as json_dumps writes it: "%.17g", with ".0" when that reads as an integer, and the
 * exponent without '+' or leading zeros ("1e300", "1e-7"). */
static int jwrite_real(buf *b, double d)
{
    if (!isfinite(d))
        return -1;
    char tmp[40];
    int n = snprintf(tmp, sizeof tmp, "%.17g", d);
    if (n <= 0 || (size_t)n >= sizeof tmp - 2)
        return -1;
    char *e = strchr(tmp, 'e');
    if (!e && !strchr(tmp, '.')) {
        memcpy(tmp + n, ".0", 3);
        n += 2;
    } else if (e) {
        char *digits = e + 1, *from = digits;
        if (*from == '-')
            digits = ++from;
        else if (*from == '+')
            from++;
        while (*from == '0' && from[1])
            from++;
        memmove(digits, from, strlen(from) + 1);
        n = (int)strlen(tmp);
    }
    return buf_append(b, tmp, (size_t)n);
}

static int jwrite_at(buf *b, const json_t *v, int depth)
{
    if (!v || depth > JWRITE_MAX_DEPTH)
        return -1;
    switch (json_typeof(v)) {
    case JSON_NULL: return buf_append(b, "null", 4);
    case JSON_TRUE: return buf_append(b, "true", 4);
    case JSON_FALSE: return buf_append(b, "false", 5);
    case JSON_INTEGER: return jwrite_int(b, json_integer_value(v));
    case JSON_REAL: return jwrite_real(b, json_real_value(v));
    case JSON_STRING: return jwrite_str(b, json_string_value(v), json_string_length(v));
    case JSON_ARRAY: {
        if (buf_putc(b, '[') != 0)
            return -1;
        size_t n = json_array_size(v);
        for (size_t i = 0; i < n; i++)
            if ((i && buf_putc(b, ',') != 0) || jwrite_at(b, json_array_get(v, i), depth + 1) != 0)
                return -1;
        return buf_putc(b, ']');
    }
    case JSON_OBJECT: {
        if (buf_putc(b, '{') != 0)
            return -1;
        int first = 1;
        for (void *it = json_object_iter((json_t *)v); it;
             it = json_object_iter_next((json_t *)v, it)) {
            const char *key = json_object_iter_key(it);
            if ((!first && buf_putc(b, ',') != 0) ||
                jwrite_str(b, key, json_object_iter_key_len(it)) != 0 || buf_putc(b, ':') != 0 ||
                jwrite_at(b, json_object_iter_value(it), depth + 1) != 0)
                return -1;
            first = 0;
        }
        return buf_putc(b, '}');
    }
    }
    return -1;
}

int jwrite_value(buf *b, const json_t *v)
{
    return jwrite_at(b, v, 1);
}
