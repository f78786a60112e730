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

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/jlex.h"

/* Parses the number at q (a '-' or a digit); returns the value and sets *next. */
static json_t *jp_number(jp *s, const unsigned char *q, const unsigned char **next)
{
    json_int_t i = 0;
    double d = 0;
    json_t *r;
    switch (jp_number_scan(s, q, next, &i, &d)) {
    case JP_NUM_INT:
        r = json_integer(i);
        break;
    case JP_NUM_REAL:
        r = json_real(d);
        break;
    default:
        return NULL;
    }
    return r ? r : jp_fail(s, q, ERR_NOMEM, "out of memory");
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
    switch (jp_after_value(&s, &q, end, json_is_object(stack[depth - 1]))) {
    case JP_AFTER_MEMBER:
        goto member;
    case JP_AFTER_VALUE:
        goto value;
    case JP_AFTER_CLOSE:
        depth--;
        goto next;
    case JP_AFTER_FAIL:
        break;
    }
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
