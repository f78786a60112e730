/* jlex.c — the strict JSON grammar shared by jparse.c and jdoc.c (jlex_internal.h): bounds-
 * checked scanning of whitespace, strings (UTF-8 validated, escapes decoded) and numbers, and
 * one state machine for the structure, handing out a value event per call.
 *
 * Design: no recursion (the open containers are an explicit stack of frames, inline up to
 * JLEX_STACK_INLINE, so max_depth costs heap, not C stack). Strings without escapes are
 * handed out in place; strings with escapes are decoded into one of two reusable scratch
 * buffers (one for keys, one for values, because a key waits while its value is decoded).
 * A member's key travels with its value's event, so a builder attaches in one step. */
#include "config.h"
#include "base/jlex_internal.h"

#include <limits.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#define JLEX_NUM_INLINE 64 /* a real literal up to this long is copied on the C stack */

#if JSON_INTEGER_IS_LONG_LONG
#define JLEX_INT_MAX LLONG_MAX
#else
#define JLEX_INT_MAX LONG_MAX
#endif

/* Byte classes inside a string: 0 = plain ASCII that needs no work. */
enum {
    JLEX_PLAIN = 0,
    JLEX_QUOTE,
    JLEX_BSLASH,
    JLEX_CTRL,
    JLEX_HIGH
};

/* clang-format off */
static const unsigned char jlex_strclass[256] = {
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
/* clang-format on */

static pthread_once_t jlex_locale_once = PTHREAD_ONCE_INIT;
static locale_t jlex_c_locale;

static inline void jlex_locale_init(void)
{
    jlex_c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
}

void *jlex_fail(jlex *s, const unsigned char *q, enum err_code code, const char *reason)
{
    if (!s->failed) {
        s->failed = 1;
        errinfo_set(s->e, code, "offset %zu: %s", (size_t)(q - s->start), reason);
    }
    return NULL;
}

static inline void *jlex_fail_byte(jlex *s, const unsigned char *q, const char *what)
{
    char reason[96];
    if (q >= s->end)
        return jlex_fail(s, q, ERR_INVALID, "unexpected end of input");
    if (*q >= 0x21 && *q <= 0x7e)
        snprintf(reason, sizeof reason, "%s, found '%c'", what, *q);
    else
        snprintf(reason, sizeof reason, "%s, found byte 0x%02x", what, *q);
    return jlex_fail(s, q, ERR_INVALID, reason);
}

static inline const unsigned char *jlex_ws(const unsigned char *q, const unsigned char *end)
{
    while (q < end && (*q == ' ' || *q == '\n' || *q == '\r' || *q == '\t'))
        q++;
    return q;
}

/* Skips plain string bytes (ASCII, not '"', '\\' or a control character), 8 at a time where
 * it can; returns the first byte that needs a look, or end. */
static inline const unsigned char *jlex_plain(const unsigned char *q, const unsigned char *end)
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
    while (q < end && jlex_strclass[*q] == JLEX_PLAIN)
        q++;
    return q;
}

/* Length (2-4) of the valid UTF-8 sequence at q, or 0: no overlongs, no surrogates,
 * nothing above U+10FFFF, nothing past end. */
static inline size_t jlex_utf8(const unsigned char *q, const unsigned char *end)
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
        if (avail < 4 || q[1] < lo || q[1] > hi || (q[2] & 0xc0) != 0x80 || (q[3] & 0xc0) != 0x80)
            return 0;
        return 4;
    }
    return 0;
}

static inline int jlex_hex4(const unsigned char *q, unsigned *out)
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
int jlex_reserve(jlex *s, jlex_scratch *b, size_t need)
{
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
        jlex_fail(s, s->start, ERR_NOMEM, "out of memory");
        return -1;
    }
    b->p = p;
    b->cap = cap;
    return 0;
}

/* Decodes one escape at q (q[0] is '\\') into b->p + *o; returns the byte after it, or NULL. */
static inline const unsigned char *jlex_escape(jlex *s, const unsigned char *q, jlex_scratch *b,
                                               size_t *o)
{
    const unsigned char *end = s->end;
    char *w = b->p + *o;
    unsigned cp, lo;
    if (end - q < 2)
        return jlex_fail(s, end, ERR_INVALID, "unterminated string");
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
        if (end - q < 6 || jlex_hex4(q + 2, &cp) != 0)
            return jlex_fail(s, q, ERR_INVALID, "invalid \\u escape");
        if (cp == 0)
            return jlex_fail(s, q, ERR_INVALID, "\\u0000 is not allowed in a string");
        if (cp >= 0xdc00 && cp <= 0xdfff)
            return jlex_fail(s, q, ERR_INVALID, "unpaired low surrogate");
        if (cp >= 0xd800 && cp <= 0xdbff) {
            if (end - q < 12 || q[6] != '\\' || q[7] != 'u' || jlex_hex4(q + 8, &lo) != 0 ||
                lo < 0xdc00 || lo > 0xdfff)
                return jlex_fail(s, q, ERR_INVALID, "unpaired high surrogate");
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
    default: return jlex_fail(s, q, ERR_INVALID, "invalid escape");
    }
    *o += 1;
    return q + 2;
}

/* Parses the string whose opening quote is at q. On success *str and *len are the decoded text
 * (pointing into the input when it has no escapes, else into b) and returns the byte after
 * the closing quote; NULL on error. */
static inline const unsigned char *jlex_string(jlex *s, const unsigned char *q, jlex_scratch *b,
                                               const char **str, size_t *len)
{
    const unsigned char *end = s->end, *first = ++q;
    size_t k, o;
    for (;;) { /* fast path: plain ASCII and valid UTF-8 are used in place */
        q = jlex_plain(q, end);
        if (q == end)
            return jlex_fail(s, q, ERR_INVALID, "unterminated string");
        switch (jlex_strclass[*q]) {
        case JLEX_QUOTE:
            *str = (const char *)first;
            *len = (size_t)(q - first);
            return q + 1;
        case JLEX_HIGH:
            if ((k = jlex_utf8(q, end)) == 0)
                return jlex_fail(s, q, ERR_INVALID, "invalid UTF-8");
            q += k;
            continue;
        case JLEX_CTRL: return jlex_fail_byte(s, q, "control character in string");
        }
        break; /* a backslash */
    }
    o = (size_t)(q - first);
    if (jlex_reserve(s, b, o + 4) != 0)
        return NULL;
    memcpy(b->p, first, o);
    for (;;) { /* slow path: decode into b; room for 4 more bytes is kept at every turn */
        if (q == end)
            return jlex_fail(s, q, ERR_INVALID, "unterminated string");
        switch (jlex_strclass[*q]) {
        case JLEX_QUOTE:
            *str = b->p;
            *len = o;
            return q + 1;
        case JLEX_BSLASH:
            if (!(q = jlex_escape(s, q, b, &o)))
                return NULL;
            break;
        case JLEX_HIGH:
            if ((k = jlex_utf8(q, end)) == 0)
                return jlex_fail(s, q, ERR_INVALID, "invalid UTF-8");
            memcpy(b->p + o, q, k);
            o += k;
            q += k;
            break;
        case JLEX_CTRL: return jlex_fail_byte(s, q, "control character in string");
        default: {
            const unsigned char *r = jlex_plain(q, end);
            k = (size_t)(r - q);
            if (jlex_reserve(s, b, o + k + 4) != 0)
                return NULL;
            memcpy(b->p + o, q, k);
            o += k;
            q = r;
            break;
        }
        }
        if (jlex_reserve(s, b, o + 4) != 0)
            return NULL;
    }
}

/* Converts a real literal (already checked for syntax) with strtod in the "C" locale:
 * 0, or -1 with the error recorded. */
static inline int jlex_strtod(jlex *s, const unsigned char *q, size_t len, double *out)
{
    char inline_buf[JLEX_NUM_INLINE], *buf = inline_buf;
    pthread_once(&jlex_locale_once, jlex_locale_init);
    if (!jlex_c_locale) {
        jlex_fail(s, q, ERR_NOMEM, "out of memory (C locale)");
        return -1;
    }
    if (len >= sizeof inline_buf && !(buf = malloc(len + 1))) {
        jlex_fail(s, q, ERR_NOMEM, "out of memory");
        return -1;
    }
    memcpy(buf, q, len);
    buf[len] = '\0';
    locale_t old = uselocale(jlex_c_locale);
    double d = strtod(buf, NULL);
    uselocale(old);
    if (buf != inline_buf)
        free(buf);
    if (isinf(d)) {
        jlex_fail(s, q, ERR_INVALID, "real number overflow");
        return -1;
    }
    *out = d;
    return 0;
}

/* What a number literal is. */
enum {
    JLEX_NUM_BAD = 0,
    JLEX_NUM_INT,
    JLEX_NUM_REAL
};

/* Scans the number at q (a '-' or a digit) and sets *next past it: JLEX_NUM_INT with *iv for
 * an integer literal that fits json_int_t, JLEX_NUM_REAL with *dv otherwise (fraction,
 * exponent, too big), JLEX_NUM_BAD with the error recorded. */
static inline int jlex_number_scan(jlex *s, const unsigned char *q, const unsigned char **next,
                                   json_int_t *iv, double *dv)
{
    const unsigned char *first = q, *end = s->end;
    int neg = 0, big = 0;
    uint64_t v = 0, limit = (uint64_t)JLEX_INT_MAX;
    if (*q == '-') {
        neg = 1;
        limit += 1;
        q++;
    }
    if (q == end || *q < '0' || *q > '9') {
        jlex_fail_byte(s, q, "digit expected");
        return JLEX_NUM_BAD;
    }
    if (*q == '0') {
        q++;
        if (q < end && *q >= '0' && *q <= '9') {
            jlex_fail(s, q, ERR_INVALID, "leading zero in a number");
            return JLEX_NUM_BAD;
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
            jlex_fail_byte(s, q, "digit expected after '.'");
            return JLEX_NUM_BAD;
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
            jlex_fail_byte(s, q, "digit expected in exponent");
            return JLEX_NUM_BAD;
        }
        while (q < end && *q >= '0' && *q <= '9')
            q++;
    }
    *next = q;
    if (!is_int || big)
        return jlex_strtod(s, first, (size_t)(q - first), dv) == 0 ? JLEX_NUM_REAL : JLEX_NUM_BAD;
    if (!neg)
        *iv = (json_int_t)v;
    else if (v == limit)
        *iv = -JLEX_INT_MAX - 1;
    else
        *iv = -(json_int_t)v;
    return JLEX_NUM_INT;
}

/* ---- the structure ------------------------------------------------------------------------ */

enum {
    JLEX_ST_VALUE = 0, /* a value is expected (the start of the text) */
    JLEX_ST_OPENED,    /* right after '{' or '[': a closing bracket, or what comes first */
    JLEX_ST_NEXT,      /* after a value: a separator, a closing bracket, or the end */
    JLEX_ST_DONE,
};

void jlex_init(jlex *s, const char *p, size_t n, size_t max_depth, errinfo *e)
{
    if (!p) { /* no input is an empty input */
        p = "";
        n = 0;
    }
    s->start = s->q = (const unsigned char *)p;
    s->end = s->start + n;
    s->e = e;
    s->failed = 0;
    s->state = JLEX_ST_VALUE;
    s->max_depth = max_depth;
    s->depth = 0;
    s->cap = JLEX_STACK_INLINE;
    s->stack = s->inline_stack;
    s->keybuf = (jlex_scratch){ NULL, 0 };
    s->strbuf = (jlex_scratch){ NULL, 0 };
}

void jlex_cleanup(jlex *s)
{
    if (!s)
        return;
    if (s->stack != s->inline_stack)
        free(s->stack);
    s->stack = s->inline_stack;
    free(s->keybuf.p);
    free(s->strbuf.p);
    s->keybuf = (jlex_scratch){ NULL, 0 };
    s->strbuf = (jlex_scratch){ NULL, 0 };
}

/* Pushes a frame for the container opening at q: 0, or -1 with the error recorded. */
static int jlex_push(jlex *s, const unsigned char *q, bool object)
{
    if (s->depth == s->max_depth) {
        char reason[64];
        snprintf(reason, sizeof reason, "nesting deeper than %zu", s->max_depth);
        jlex_fail(s, q, ERR_INVALID, reason);
        return -1;
    }
    if (s->depth == s->cap) {
        size_t cap = 2 * s->cap;
        jlex_frame *grown = s->stack == s->inline_stack ? malloc(cap * sizeof *grown)
                                                        : realloc(s->stack, cap * sizeof *grown);
        if (!grown) {
            jlex_fail(s, q + 1, ERR_NOMEM, "out of memory");
            return -1;
        }
        if (s->stack == s->inline_stack)
            memcpy(grown, s->inline_stack, sizeof s->inline_stack);
        s->stack = grown;
        s->cap = cap;
    }
    s->stack[s->depth++].object = object;
    return 0;
}

static inline int jlex_literal(jlex *s, const unsigned char *q, const char *word, size_t len)
{
    if ((size_t)(s->end - q) < len || memcmp(q, word, len) != 0) {
        jlex_fail(s, q, ERR_INVALID, "invalid literal");
        return -1;
    }
    return 0;
}

jlex_event jlex_next(jlex *s, jlex_tok *t)
{
    const unsigned char *q = s->q, *end = s->end;
    jlex_event ev;
    if (s->failed)
        return JLEX_ERROR;
    t->keyat = NULL;
    t->key = NULL;
    t->keylen = 0;
    switch (s->state) {
    case JLEX_ST_VALUE: goto value;
    case JLEX_ST_OPENED:
        q = jlex_ws(q, end);
        if (q < end && *q == (s->stack[s->depth - 1].object ? '}' : ']')) {
            s->depth--;
            q++;
            goto next;
        }
        if (s->stack[s->depth - 1].object)
            goto member;
        goto value;
    case JLEX_ST_NEXT: goto next;
    default: return JLEX_DONE;
    }

next: /* after a value: a separator, a closing bracket, or the end of the text */
    q = jlex_ws(q, end);
    if (s->depth == 0) {
        if (q != end) {
            jlex_fail_byte(s, q, "end of input expected");
            return JLEX_ERROR;
        }
        s->q = q;
        s->state = JLEX_ST_DONE;
        return JLEX_DONE;
    }
    bool in_object = s->stack[s->depth - 1].object;
    if (q < end && *q == ',') {
        q++;
        if (in_object)
            goto member;
        goto value;
    }
    if (q < end && *q == (in_object ? '}' : ']')) {
        q++;
        s->depth--;
        goto next;
    }
    jlex_fail_byte(s, q, in_object ? "',' or '}' expected" : "',' or ']' expected");
    return JLEX_ERROR;

member: /* an object member: "key" : value */
    q = jlex_ws(q, end);
    if (q == end || *q != '"') {
        jlex_fail_byte(s, q, "object key expected");
        return JLEX_ERROR;
    }
    t->keyat = q;
    if (!(q = jlex_string(s, q, &s->keybuf, &t->key, &t->keylen)))
        return JLEX_ERROR;
    q = jlex_ws(q, end);
    if (q == end || *q != ':') {
        jlex_fail_byte(s, q, "':' expected");
        return JLEX_ERROR;
    }
    q++;

value: /* a value is expected at q (after whitespace) */
    q = jlex_ws(q, end);
    if (q == end) {
        jlex_fail(s, q, ERR_INVALID, "unexpected end of input");
        return JLEX_ERROR;
    }
    t->at = q;
    s->state = JLEX_ST_NEXT;
    switch (*q) {
    case '{':
    case '[':
        if (jlex_push(s, q, *q == '{') != 0)
            return JLEX_ERROR;
        t->open = &s->stack[s->depth - 1];
        t->in = s->depth > 1 ? t->open - 1 : NULL;
        s->q = q + 1;
        s->state = JLEX_ST_OPENED;
        return *q == '{' ? JLEX_OBJECT : JLEX_ARRAY;
    case '"':
        if (!(q = jlex_string(s, q, &s->strbuf, &t->str, &t->len)))
            return JLEX_ERROR;
        ev = JLEX_STRING;
        break;
    case 't':
        if (jlex_literal(s, q, "true", 4) != 0)
            return JLEX_ERROR;
        q += 4;
        ev = JLEX_TRUE;
        break;
    case 'f':
        if (jlex_literal(s, q, "false", 5) != 0)
            return JLEX_ERROR;
        q += 5;
        ev = JLEX_FALSE;
        break;
    case 'n':
        if (jlex_literal(s, q, "null", 4) != 0)
            return JLEX_ERROR;
        q += 4;
        ev = JLEX_NULL;
        break;
    case '-':
    case '0':
    case '1':
    case '2':
    case '3':
    case '4':
    case '5':
    case '6':
    case '7':
    case '8':
    case '9':
        switch (jlex_number_scan(s, q, &q, &t->i, &t->d)) {
        case JLEX_NUM_INT: ev = JLEX_INTEGER; break;
        case JLEX_NUM_REAL: ev = JLEX_REAL; break;
        default: return JLEX_ERROR;
        }
        break;
    default: jlex_fail_byte(s, q, "value expected"); return JLEX_ERROR;
    }
    t->open = NULL;
    t->in = s->depth ? &s->stack[s->depth - 1] : NULL;
    s->q = q;
    return ev;
}
