/* jparse.c — a strict, single-pass JSON parser that builds Jansson values directly.
 *
 * Design: one iterative loop with an explicit stack of open containers (no recursion, so
 * max_depth costs heap, not C stack). A container is attached to its parent as soon as it
 * is created, so the partial tree is always reachable from the root and every error path
 * is one json_decref(root). Strings without escapes are handed to Jansson straight from the
 * input; strings with escapes are decoded into one of two reusable scratch buffers (one for
 * keys, one for values, because a key waits while its value is parsed). UTF-8 is validated
 * here, so the Jansson calls used are the *_nocheck ones. */
#include "config.h"
#include "base/jparse.h"

#include <limits.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static void jp_locale_init(void)
{
    jp_c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
}

/* Records the first error at q; always returns NULL so callers can return it. */
static void *jp_fail(jp *s, const unsigned char *q, enum err_code code, const char *reason)
{
    if (!s->failed) {
        s->failed = 1;
        errinfo_set(s->e, code, "offset %zu: %s", (size_t)(q - s->start), reason);
    }
    return NULL;
}

static void *jp_fail_byte(jp *s, const unsigned char *q, const char *what)
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

/* Skips plain string bytes (ASCII, not '"', '\\' or a control character), 8 at a time where
 * it can; returns the first byte that needs a look, or end. */
static inline const unsigned char *jp_plain(const unsigned char *q, const unsigned char *end)
{
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
static size_t jp_utf8(const unsigned char *q, const unsigned char *end)
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

static int jp_hex4(const unsigned char *q, unsigned *out)
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
static int jp_reserve(jp *s, jp_scratch *b, size_t need)
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
static const unsigned char *jp_escape(jp *s, const unsigned char *q, jp_scratch *b, size_t *o)
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
static const unsigned char *jp_string(jp *s, const unsigned char *q, jp_scratch *b,
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

/* A real literal (already checked for syntax) converted by strtod in the "C" locale. */
static json_t *jp_real(jp *s, const unsigned char *q, size_t len)
{
    char inline_buf[JP_NUM_INLINE], *buf = inline_buf;
    pthread_once(&jp_locale_once, jp_locale_init);
    if (!jp_c_locale)
        return jp_fail(s, q, ERR_NOMEM, "out of memory (C locale)");
    if (len >= sizeof inline_buf && !(buf = malloc(len + 1)))
        return jp_fail(s, q, ERR_NOMEM, "out of memory");
    memcpy(buf, q, len);
    buf[len] = '\0';
    locale_t old = uselocale(jp_c_locale);
    double d = strtod(buf, NULL);
    uselocale(old);
    if (buf != inline_buf)
        free(buf);
    if (isinf(d))
        return jp_fail(s, q, ERR_INVALID, "real number overflow");
    json_t *v = json_real(d);
    return v ? v : jp_fail(s, q, ERR_NOMEM, "out of memory");
}

/* Parses the number at q (a '-' or a digit); returns the value and sets *next. */
static json_t *jp_number(jp *s, const unsigned char *q, const unsigned char **next)
{
    const unsigned char *first = q, *end = s->end;
    int neg = 0, big = 0;
    uint64_t v = 0, limit = (uint64_t)JP_INT_MAX;
    if (*q == '-') {
        neg = 1;
        limit += 1;
        q++;
    }
    if (q == end || *q < '0' || *q > '9')
        return jp_fail_byte(s, q, "digit expected");
    if (*q == '0') {
        q++;
        if (q < end && *q >= '0' && *q <= '9')
            return jp_fail(s, q, ERR_INVALID, "leading zero in a number");
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
        if (q == end || *q < '0' || *q > '9')
            return jp_fail_byte(s, q, "digit expected after '.'");
        while (q < end && *q >= '0' && *q <= '9')
            q++;
    }
    if (q < end && (*q == 'e' || *q == 'E')) {
        is_int = 0;
        q++;
        if (q < end && (*q == '+' || *q == '-'))
            q++;
        if (q == end || *q < '0' || *q > '9')
            return jp_fail_byte(s, q, "digit expected in exponent");
        while (q < end && *q >= '0' && *q <= '9')
            q++;
    }
    *next = q;
    if (!is_int || big)
        return jp_real(s, first, (size_t)(q - first));
    json_int_t i;
    if (!neg)
        i = (json_int_t)v;
    else if (v == limit)
        i = -JP_INT_MAX - 1;
    else
        i = -(json_int_t)v;
    json_t *r = json_integer(i);
    return r ? r : jp_fail(s, first, ERR_NOMEM, "out of memory");
}

#if JANSSON_VERSION_HEX >= 0x020e00 && !defined(JP_KEY_COPY)
/* Jansson 2.14 copies a key by length, so it may point into the input. */
static inline int jp_set(jp *s, json_t *obj, const char *key, size_t len, json_t *v,
                         jp_scratch *kb)
{
    (void)s;
    (void)kb;
    return json_object_setn_new_nocheck(obj, key, len, v);
}
#else
/* Jansson before 2.14 takes a key as a C string: terminate it in kb (which may hold it). */
static int jp_set(jp *s, json_t *obj, const char *key, size_t len, json_t *v, jp_scratch *kb)
{
    if (key != kb->p) {
        if (jp_reserve(s, kb, len + 1) != 0) {
            json_decref(v);
            return -1;
        }
        memcpy(kb->p, key, len);
    }
    kb->p[len] = '\0'; /* a decoded key always has 4 spare bytes */
    return json_object_set_new_nocheck(obj, kb->p, v);
}
#endif

static json_t *jp_literal(jp *s, const unsigned char *q, const char *word, size_t len,
                          json_t *value)
{
    if ((size_t)(s->end - q) < len || memcmp(q, word, len) != 0)
        return jp_fail(s, q, ERR_INVALID, "invalid literal");
    return value;
}

json_t *jparse(const char *p, size_t n, size_t max_depth, errinfo *e)
{
    if (!p) { /* no input is an empty input */
        p = "";
        n = 0;
    }
    const unsigned char *q = (const unsigned char *)p, *end = q + n;
    jp s = { .start = q, .end = end, .e = e, .failed = 0 };
    jp_scratch keybuf = { NULL, 0 }, strbuf = { NULL, 0 };
    json_t *inline_stack[JP_STACK_INLINE], **stack = inline_stack, *root = NULL, *v;
    size_t depth = 0, cap = JP_STACK_INLINE, keylen = 0, len;
    const char *key = NULL, *str;

value: /* a value is expected at q (after whitespace) */
    q = jp_ws(q, end);
    if (q == end) {
        jp_fail(&s, q, ERR_INVALID, "unexpected end of input");
        goto out;
    }
    switch (*q) {
    case '{':
    case '[':
        if (depth == max_depth) {
            char reason[64];
            snprintf(reason, sizeof reason, "nesting deeper than %zu", max_depth);
            jp_fail(&s, q, ERR_INVALID, reason);
            goto out;
        }
        v = *q == '{' ? json_object() : json_array();
        break;
    case '"':
        if (!(q = jp_string(&s, q, &strbuf, &str, &len)))
            goto out;
        v = json_stringn_nocheck(str, len);
        q--; /* back on the closing quote, like the other cases */
        break;
    case 't':
        v = jp_literal(&s, q, "true", 4, json_true());
        q += 3;
        break;
    case 'f':
        v = jp_literal(&s, q, "false", 5, json_false());
        q += 4;
        break;
    case 'n':
        v = jp_literal(&s, q, "null", 4, json_null());
        q += 3;
        break;
    case '-':
    case '0': case '1': case '2': case '3': case '4':
    case '5': case '6': case '7': case '8': case '9':
        if (!(v = jp_number(&s, q, &q)))
            goto out;
        q--;
        break;
    default:
        jp_fail_byte(&s, q, "value expected");
        goto out;
    }
    if (!v) {
        jp_fail(&s, q, ERR_NOMEM, "out of memory");
        goto out;
    }
    /* attach at once (the parent owns it from here), then descend into a container */
    if (depth == 0)
        root = v;
    else if (json_is_object(stack[depth - 1])
                 ? jp_set(&s, stack[depth - 1], key, keylen, v, &keybuf) != 0
                 : json_array_append_new(stack[depth - 1], v) != 0) {
        jp_fail(&s, q, ERR_NOMEM, "out of memory");
        goto out;
    }
    q++;
    if (json_is_object(v) || json_is_array(v)) {
        if (depth == cap) {
            json_t **grown = stack == inline_stack ? malloc(2 * cap * sizeof *grown)
                                                   : realloc(stack, 2 * cap * sizeof *grown);
            if (!grown) {
                jp_fail(&s, q, ERR_NOMEM, "out of memory");
                goto out;
            }
            if (stack == inline_stack)
                memcpy(grown, inline_stack, sizeof inline_stack);
            stack = grown;
            cap *= 2;
        }
        stack[depth++] = v;
        q = jp_ws(q, end);
        if (q < end && *q == (json_is_object(v) ? '}' : ']')) {
            depth--;
            q++;
            goto next;
        }
        if (json_is_object(v))
            goto member;
        goto value;
    }

next: /* after a value: a separator, a closing bracket, or the end of the text */
    q = jp_ws(q, end);
    if (depth == 0) {
        if (q != end)
            jp_fail_byte(&s, q, "end of input expected");
        goto out;
    }
    if (json_is_object(stack[depth - 1])) {
        if (q < end && *q == ',') {
            q++;
            goto member;
        }
        if (q < end && *q == '}') {
            depth--;
            q++;
            goto next;
        }
        jp_fail_byte(&s, q, "',' or '}' expected");
        goto out;
    }
    if (q < end && *q == ',') {
        q++;
        goto value;
    }
    if (q < end && *q == ']') {
        depth--;
        q++;
        goto next;
    }
    jp_fail_byte(&s, q, "',' or ']' expected");
    goto out;

member: /* an object member: "key" : value */
    q = jp_ws(q, end);
    if (q == end || *q != '"') {
        jp_fail_byte(&s, q, "object key expected");
        goto out;
    }
    if (!(q = jp_string(&s, q, &keybuf, &key, &keylen)))
        goto out;
    q = jp_ws(q, end);
    if (q == end || *q != ':') {
        jp_fail_byte(&s, q, "':' expected");
        goto out;
    }
    q++;
    goto value;

out:
    if (stack != inline_stack)
        free(stack);
    free(keybuf.p);
    free(strbuf.p);
    if (s.failed) {
        json_decref(root);
        return NULL;
    }
    return root;
}
