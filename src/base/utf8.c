/* utf8.c — see utf8.h. */
#include "config.h"
#include "base/utf8.h"

size_t utf8_next(const unsigned char *p, size_t n, uint32_t *cp)
{
    *cp = UTF8_REPLACEMENT;
    if (n == 0)
        return 0;
    unsigned char c = p[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    size_t len;
    uint32_t v, min;
    if (c >= 0xc2 && c <= 0xdf)
        len = 2, v = c & 0x1f, min = 0x80;
    else if (c >= 0xe0 && c <= 0xef)
        len = 3, v = c & 0x0f, min = 0x800;
    else if (c >= 0xf0 && c <= 0xf4)
        len = 4, v = c & 0x07, min = 0x10000;
    else
        return 0;
    if (n < len)
        return 0;
    for (size_t k = 1; k < len; k++) {
        if ((p[k] & 0xc0) != 0x80)
            return 0;
        v = (v << 6) | (p[k] & 0x3f);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        return 0;
    *cp = v;
    return len;
}

bool utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    uint32_t cp;
    for (size_t i = 0; i < n;) {
        if (p[i] < 0x80) { /* ASCII, most text: no decoding */
            i++;
            continue;
        }
        size_t k = utf8_next(p + i, n - i, &cp);
        if (k == 0)
            return false;
        i += k;
    }
    return true;
}

size_t utf8_count(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    uint32_t cp;
    size_t count = 0;
    for (size_t i = 0; i < n; count++) {
        size_t k = utf8_next(p + i, n - i, &cp);
        i += k ? k : 1;
    }
    return count;
}

size_t utf8_cut(const char *s, size_t n)
{
    while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
        n--;
    return n;
}
