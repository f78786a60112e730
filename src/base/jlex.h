/* jlex.h — the lexer shared by the strict JSON parsers (jparse.c: Jansson values, jdoc.c:
 * flat documents): bounds-checked scanning of whitespace, strings (UTF-8 validated, escapes
 * decoded) and numbers, errors as "offset N: reason". Private to those two files. */
#ifndef CR_JLEX_H
#define CR_JLEX_H

#include <limits.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "base/errinfo.h"

#define JP_STACK_INLINE 32 /* open containers kept on the C stack before the heap */
#define JP_NUM_INLINE 64   /* a real literal up to this long is copied on the C stack */

#if JSON_INTEGER_IS_LONG_LONG
#define JP_INT_MAX LLONG_MAX
#else
#define JP_INT_MAX LONG_MAX
#endif

/* A growable scratch buffer; never larger than the input it decodes. */
typedef struct jp_scratch {
    char *p;
    size_t cap;
} jp_scratch;

typedef struct jp {
    const unsigned char *start; /* p: offsets in messages are counted from here */
    const unsigned char *end;   /* p + n: never read at or past this */
    errinfo *e;
    int failed;
} jp;

/* Byte classes inside a string: 0 = plain ASCII that needs no work. */
enum { JP_PLAIN = 0, JP_QUOTE, JP_BSLASH, JP_CTRL, JP_HIGH };

static const unsigned char jp_strclass[256] = {
    /* 0x00-0x1f: control characters */
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
    /* 0x20-0x7f: '"' and '\\' are special */
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    /* 0x80-0xff: UTF-8 lead and continuation bytes */
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
};

static pthread_once_t jp_locale_once = PTHREAD_ONCE_INIT;
static locale_t jp_c_locale;

static inline void jp_locale_init(void)
{
    jp_c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
}


/* Records the first error at q; always returns NULL so callers can return it. */
static inline void *jp_fail(jp *s, const unsigned char *q, enum err_code code, const char *reason)
{
    if (!s->failed) {
        s->failed = 1;
        errinfo_set(s->e, code, "offset %zu: %s", (size_t)(q - s->start), reason);
    }
    return NULL;
}

static inline void *jp_fail_byte(jp *s, const unsigned char *q, const char *what)
{
    char reason[96];
    if (q >= s->end)
        return jp_fail(s, q, ERR_INVALID, "unexpected end of input");
    if (*q >= 0x21 && *q <= 0x7e)
        snprintf(reason, sizeof reason, "%s, found '%c'", what, *q);
    else
        snprintf(reason, sizeof reason, "%s, found byte 0x%02x", what, *q);
    return jp_fail(s, q, ERR_INVALID, reason);
}

static inline const unsigned char *jp_ws(const unsigned char *q, const unsigned char *end)
{
    while (q < end && (*q == ' ' || *q == '\n' || *q == '\r' || *q == '\t'))
        q++;
    return q;
}

/* What follows a value inside an open container. */
typedef enum jp_after {
    JP_AFTER_FAIL,               /* s holds the error */
    JP_AFTER_MEMBER,             /* ',' in an object: the next member */
    JP_AFTER_VALUE,              /* ',' in an array: the next element */
    JP_AFTER_CLOSE,              /* the container's closing bracket */
} jp_after;

/* Consumes the separator or closing bracket after a value in an open object (in_object) or
 * array at *q (whitespace already skipped); *q moves past it. */
static inline jp_after jp_after_value(jp *s, const unsigned char **q, const unsigned char *end,
                                      bool in_object)
{
    if (*q < end && **q == ',') {
        (*q)++;
        return in_object ? JP_AFTER_MEMBER : JP_AFTER_VALUE;
    }
    if (*q < end && **q == (in_object ? '}' : ']')) {
        (*q)++;
        return JP_AFTER_CLOSE;
    }
    jp_fail_byte(s, *q, in_object ? "',' or '}' expected" : "',' or ']' expected");
    return JP_AFTER_FAIL;
}

/* Skips plain string bytes (ASCII, not '"', '\\' or a control character), 8 at a time where
 * it can; returns the first byte that needs a look, or end. */
static inline const unsigned char *jp_plain(const unsigned char *q, const unsigned char *end)
{
#ifdef __SSE2__
    /* 16 at a time: a signed byte below 0x20 is a control character or any byte >= 0x80 */
    const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\'),
                  ctrl = _mm_set1_epi8(0x20);
    while (end - q >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)q);
        __m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bslash)),
                                 _mm_cmplt_epi8(v, ctrl));
        unsigned mask = (unsigned)_mm_movemask_epi8(m);
        if (mask)
            return q + __builtin_ctz(mask);
        q += 16;
    }
#endif
    const uint64_t ones = 0x0101010101010101u, high = 0x8080808080808080u;
    while (end - q >= 8) {
        uint64_t w;
        memcpy(&w, q, sizeof w);
        uint64_t xq = w ^ (ones * '"'), xb = w ^ (ones * '\\');
        /* any byte >= 0x80, < 0x20, == '"' or == '\\' (a false alarm only costs time) */
        uint64_t t = w | (w - ones * 0x20) | ((xq - ones) & ~xq) | ((xb - ones) & ~xb);
        if (t & high)
            break;
        q += 8;
    }
    while (q < end && jp_strclass[*q] == JP_PLAIN)
        q++;
    return q;
}

/* Length (2-4) of the valid UTF-8 sequence at q, or 0: no overlongs, no surrogates,
 * nothing above U+10FFFF, nothing past end. */
static inline size_t jp_utf8(const unsigned char *q, const unsigned char *end)
{
    size_t avail = (size_t)(end - q);
    unsigned c = q[0], lo = 0x80, hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf)
        return avail >= 2 && (q[1] & 0xc0) == 0x80 ? 2 : 0;
    if (c >= 0xe0 && c <= 0xef) {
        if (c == 0xe0)
            lo = 0xa0; /* overlong below U+0800 */
        else if (c == 0xed)
            hi = 0x9f; /* U+D800..U+DFFF */
        if (avail < 3 || q[1] < lo || q[1] > hi || (q[2] & 0xc0) != 0x80)
            return 0;
        return 3;
    }
    if (c >= 0xf0 && c <= 0xf4) {
        if (c == 0xf0)
            lo = 0x90; /* overlong below U+10000 */
        else if (c == 0xf4)
            hi = 0x8f; /* above U+10FFFF */
        if (avail < 4 || q[1] < lo || q[1] > hi || (q[2] & 0xc0) != 0x80
            || (q[3] & 0xc0) != 0x80)
            return 0;
        return 4;
    }
    return 0;
}

static inline int jp_hex4(const unsigned char *q, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned c = q[i], d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
            d = (c | 0x20) - 'a' + 10;
        else
            return -1;
        v = v << 4 | d;
    }
    *out = v;
    return 0;
}

/* Makes room for need bytes; need never exceeds the input length. */
static inline int jp_reserve(jp *s, jp_scratch *b, size_t need)
{
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
        jp_fail(s, s->start, ERR_NOMEM, "out of memory");
        return -1;
    }
    b->p = p;
    b->cap = cap;
    return 0;
}

/* Decodes one escape at q (q[0] is '\\') into b->p + *o; returns the byte after it, or NULL. */
static inline const unsigned char *jp_escape(jp *s, const unsigned char *q, jp_scratch *b, size_t *o)
{
    const unsigned char *end = s->end;
    char *w = b->p + *o;
    unsigned cp, lo;
    if (end - q < 2)
        return jp_fail(s, end, ERR_INVALID, "unterminated string");
    switch (q[1]) {
    case '"': *w = '"'; break;
    case '\\': *w = '\\'; break;
    case '/': *w = '/'; break;
    case 'b': *w = '\b'; break;
    case 'f': *w = '\f'; break;
    case 'n': *w = '\n'; break;
    case 'r': *w = '\r'; break;
    case 't': *w = '\t'; break;
    case 'u':
        if (end - q < 6 || jp_hex4(q + 2, &cp) != 0)
            return jp_fail(s, q, ERR_INVALID, "invalid \\u escape");
        if (cp == 0)
            return jp_fail(s, q, ERR_INVALID, "\\u0000 is not allowed in a string");
        if (cp >= 0xdc00 && cp <= 0xdfff)
            return jp_fail(s, q, ERR_INVALID, "unpaired low surrogate");
        if (cp >= 0xd800 && cp <= 0xdbff) {
            if (end - q < 12 || q[6] != '\\' || q[7] != 'u' || jp_hex4(q + 8, &lo) != 0
                || lo < 0xdc00 || lo > 0xdfff)
                return jp_fail(s, q, ERR_INVALID, "unpaired high surrogate");
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            q += 6;
        }
        if (cp < 0x80) {
            w[0] = (char)cp;
            *o += 1;
        } else if (cp < 0x800) {
            w[0] = (char)(0xc0 | cp >> 6);
            w[1] = (char)(0x80 | (cp & 0x3f));
            *o += 2;
        } else if (cp < 0x10000) {
            w[0] = (char)(0xe0 | cp >> 12);
            w[1] = (char)(0x80 | (cp >> 6 & 0x3f));
            w[2] = (char)(0x80 | (cp & 0x3f));
            *o += 3;
        } else {
            w[0] = (char)(0xf0 | cp >> 18);
            w[1] = (char)(0x80 | (cp >> 12 & 0x3f));
            w[2] = (char)(0x80 | (cp >> 6 & 0x3f));
            w[3] = (char)(0x80 | (cp & 0x3f));
            *o += 4;
        }
        return q + 6;
    default:
        return jp_fail(s, q, ERR_INVALID, "invalid escape");
    }
    *o += 1;
    return q + 2;
}

/* Parses the string whose opening quote is at q. On success *str and *len are the decoded text
 * (pointing into the input when it has no escapes, else into b) and returns the byte after
 * the closing quote; NULL on error. */
static inline const unsigned char *jp_string(jp *s, const unsigned char *q, jp_scratch *b,
                                      const char **str, size_t *len)
{
    const unsigned char *end = s->end, *first = ++q;
    size_t k, o;
    for (;;) { /* fast path: plain ASCII and valid UTF-8 are used in place */
        q = jp_plain(q, end);
        if (q == end)
            return jp_fail(s, q, ERR_INVALID, "unterminated string");
        switch (jp_strclass[*q]) {
        case JP_QUOTE:
            *str = (const char *)first;
            *len = (size_t)(q - first);
            return q + 1;
        case JP_HIGH:
            if ((k = jp_utf8(q, end)) == 0)
                return jp_fail(s, q, ERR_INVALID, "invalid UTF-8");
            q += k;
            continue;
        case JP_CTRL:
            return jp_fail_byte(s, q, "control character in string");
        }
        break; /* a backslash */
    }
    o = (size_t)(q - first);
    if (jp_reserve(s, b, o + 4) != 0)
        return NULL;
    memcpy(b->p, first, o);
    for (;;) { /* slow path: decode into b; room for 4 more bytes is kept at every turn */
        if (q == end)
            return jp_fail(s, q, ERR_INVALID, "unterminated string");
        switch (jp_strclass[*q]) {
        case JP_QUOTE:
            *str = b->p;
            *len = o;
            return q + 1;
        case JP_BSLASH:
            if (!(q = jp_escape(s, q, b, &o)))
                return NULL;
            break;
        case JP_HIGH:
            if ((k = jp_utf8(q, end)) == 0)
                return jp_fail(s, q, ERR_INVALID, "invalid UTF-8");
            memcpy(b->p + o, q, k);
            o += k;
            q += k;
            break;
        case JP_CTRL:
            return jp_fail_byte(s, q, "control character in string");
        default: {
            const unsigned char *r = jp_plain(q, end);
            k = (size_t)(r - q);
            if (jp_reserve(s, b, o + k + 4) != 0)
                return NULL;
            memcpy(b->p + o, q, k);
            o += k;
            q = r;
            break;
        }
        }
        if (jp_reserve(s, b, o + 4) != 0)
            return NULL;
    }
}

/* Converts a real literal (already checked for syntax) with strtod in the "C" locale:
 * 0, or -1 with the error recorded. */
static inline int jp_strtod(jp *s, const unsigned char *q, size_t len, double *out)
{
    char inline_buf[JP_NUM_INLINE], *buf = inline_buf;
    pthread_once(&jp_locale_once, jp_locale_init);
    if (!jp_c_locale) {
        jp_fail(s, q, ERR_NOMEM, "out of memory (C locale)");
        return -1;
    }
    if (len >= sizeof inline_buf && !(buf = malloc(len + 1))) {
        jp_fail(s, q, ERR_NOMEM, "out of memory");
        return -1;
    }
    memcpy(buf, q, len);
    buf[len] = '\0';
    locale_t old = uselocale(jp_c_locale);
    double d = strtod(buf, NULL);
    uselocale(old);
    if (buf != inline_buf)
        free(buf);
    if (isinf(d)) {
        jp_fail(s, q, ERR_INVALID, "real number overflow");
        return -1;
    }
    *out = d;
    return 0;
}

/* What a number literal is. */
enum { JP_NUM_BAD = 0, JP_NUM_INT, JP_NUM_REAL };

/* Scans the number at q (a '-' or a digit) and sets *next past it: JP_NUM_INT with *iv for
 * an integer literal that fits json_int_t, JP_NUM_REAL with *dv otherwise (fraction,
 * exponent, too big), JP_NUM_BAD with the error recorded. */
static inline int jp_number_scan(jp *s, const unsigned char *q, const unsigned char **next,
                                 json_int_t *iv, double *dv)
{
    const unsigned char *first = q, *end = s->end;
    int neg = 0, big = 0;
    uint64_t v = 0, limit = (uint64_t)JP_INT_MAX;
    if (*q == '-') {
        neg = 1;
        limit += 1;
        q++;
    }
    if (q == end || *q < '0' || *q > '9') {
        jp_fail_byte(s, q, "digit expected");
        return JP_NUM_BAD;
    }
    if (*q == '0') {
        q++;
        if (q < end && *q >= '0' && *q <= '9') {
            jp_fail(s, q, ERR_INVALID, "leading zero in a number");
            return JP_NUM_BAD;
        }
    } else {
        for (; q < end && *q >= '0' && *q <= '9'; q++) {
            unsigned d = (unsigned)(*q - '0');
            if (v > (limit - d) / 10)
                big = 1;
            else
                v = v * 10 + d;
        }
    }
    int is_int = 1;
    if (q < end && *q == '.') {
        is_int = 0;
        q++;
        if (q == end || *q < '0' || *q > '9') {
            jp_fail_byte(s, q, "digit expected after '.'");
            return JP_NUM_BAD;
        }
        while (q < end && *q >= '0' && *q <= '9')
            q++;
    }
    if (q < end && (*q == 'e' || *q == 'E')) {
        is_int = 0;
        q++;
        if (q < end && (*q == '+' || *q == '-'))
            q++;
        if (q == end || *q < '0' || *q > '9') {
            jp_fail_byte(s, q, "digit expected in exponent");
            return JP_NUM_BAD;
        }
        while (q < end && *q >= '0' && *q <= '9')
            q++;
    }
    *next = q;
    if (!is_int || big)
        return jp_strtod(s, first, (size_t)(q - first), dv) == 0 ? JP_NUM_REAL : JP_NUM_BAD;
    if (!neg)
        *iv = (json_int_t)v;
    else if (v == limit)
        *iv = -JP_INT_MAX - 1;
    else
        *iv = -(json_int_t)v;
    return JP_NUM_INT;
}

#endif
