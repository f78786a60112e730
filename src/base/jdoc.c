/* jdoc.c — flat JSON documents: jparse's lexer (base/jlex.h) filling one node table.
 *
 * Layout: the text is copied once; strings are decoded in place in the copy (a decoded
 * string is never longer than its escaped form) and NUL-terminated where their closing
 * quote was. Nodes are stored in document order, a container right before its first
 * child; each child links to its next sibling. An object member's key lives on its value
 * node. */
#include "config.h"
#include "base/jdoc.h"

#include "base/jlex.h"

#define JDOC_MAX_BYTES ((size_t)UINT32_MAX - 1)

typedef struct jdoc_node {
    uint8_t type;                 /* jdoc_type */
    uint32_t size;                /* container: children; string: bytes */
    uint32_t key;                 /* offset of the member's key in text + 1; 0: none */
    uint32_t next;                /* the next sibling's index; 0: the last child */
    union {
        uint32_t off;             /* string: offset in text */
        json_int_t i;
        double d;
    } v;
} jdoc_node;

struct jdoc {
    char *text;
    jdoc_node *nodes;
    uint32_t n, cap;
};

void jdoc_free(jdoc *d)
{
    if (!d)
        return;
    free(d->text);
    free(d->nodes);
    free(d);
}

/* Doubles the node table; 0, or -1 with the error set. */
static int jdoc_grow(jdoc *d, jp *s, const unsigned char *q)
{
    if (d->cap >= UINT32_MAX / 2) {
        jp_fail(s, q, ERR_TOOBIG, "too many values");
        return -1;
    }
    uint32_t cap = d->cap * 2;
    jdoc_node *g = realloc(d->nodes, (size_t)cap * sizeof *g);
    if (!g) {
        jp_fail(s, q, ERR_NOMEM, "out of memory");
        return -1;
    }
    d->nodes = g;
    d->cap = cap;
    return 0;
}

/* A new node at the end of the table (its index in *at), or NULL with the error set. */
static inline jdoc_node *jdoc_add(jdoc *d, jp *s, const unsigned char *q, uint8_t type,
                                  uint32_t *at)
{
    if (d->n == d->cap && jdoc_grow(d, s, q) != 0)
        return NULL;
    *at = d->n;
    jdoc_node *x = &d->nodes[d->n++];
    x->type = type;
    x->size = 0;
    x->key = 0;
    x->next = 0;
    x->v.i = 0;
    return x;
}

/* Parses the string at q in place: its decoded text goes where it was written, NUL
 * after it; *off and *len say where. Returns the byte after the closing quote, or NULL. */
static const unsigned char *jdoc_string(jdoc *d, jp *s, const unsigned char *q,
                                        jp_scratch *b, uint32_t *off, uint32_t *len)
{
    const char *str;
    size_t l;
    char *first = d->text + (q + 1 - s->start);
    const unsigned char *r = jp_string(s, q, b, &str, &l);
    if (!r)
        return NULL;
    if (str != first)
        memcpy(first, str, l); /* decoded from escapes: never longer than the input */
    first[l] = '\0';
    *off = (uint32_t)(first - d->text);
    *len = (uint32_t)l;
    return r;
}

jdoc *jdoc_parse(const char *p, size_t n, size_t max_depth, errinfo *e)
{
    if (!p) {
        p = "";
        n = 0;
    }
    if (n > JDOC_MAX_BYTES) {
        errinfo_set(e, ERR_TOOBIG, "offset 0: document larger than 4 GiB");
        return NULL;
    }
    jdoc *d = calloc(1, sizeof *d);
    if (d) {
        d->cap = (uint32_t)(n / 16 + 16);
        d->text = malloc(n + 1);
        d->nodes = malloc((size_t)d->cap * sizeof *d->nodes);
    }
    if (!d || !d->text || !d->nodes) {
        jdoc_free(d);
        errinfo_set(e, ERR_NOMEM, "offset 0: out of memory");
        return NULL;
    }
    memcpy(d->text, p, n);
    d->text[n] = '\0';
    const unsigned char *q = (const unsigned char *)d->text, *end = q + n;
    jp s = { .start = q, .end = end, .e = e, .failed = 0 };
    jp_scratch scratch = { NULL, 0 };
    /* the open containers: index and last child (0: none yet) */
    uint32_t inline_stack[2 * JP_STACK_INLINE], *stack = inline_stack, at = 0, key = 0, off, len;
    size_t depth = 0, cap = JP_STACK_INLINE;
    jdoc_node *x;

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
        if (!(x = jdoc_add(d, &s, q, *q == '{' ? JDOC_OBJECT : JDOC_ARRAY, &at)))
            goto out;
        q++;
        break;
    case '"':
        if (!(q = jdoc_string(d, &s, q, &scratch, &off, &len)))
            goto out;
        if (!(x = jdoc_add(d, &s, q, JDOC_STRING, &at)))
            goto out;
        x->v.off = off;
        x->size = len;
        break;
    case 't':
    case 'f':
    case 'n': {
        static const char *const words[] = { "true", "false", "null" };
        static const uint8_t types[] = { JDOC_TRUE, JDOC_FALSE, JDOC_NULL };
        int w = *q == 't' ? 0 : *q == 'f' ? 1 : 2;
        size_t wl = strlen(words[w]);
        if ((size_t)(end - q) < wl || memcmp(q, words[w], wl) != 0) {
            jp_fail(&s, q, ERR_INVALID, "invalid literal");
            goto out;
        }
        if (!(x = jdoc_add(d, &s, q, types[w], &at)))
            goto out;
        q += wl;
        break;
    }
    case '-':
    case '0': case '1': case '2': case '3': case '4':
    case '5': case '6': case '7': case '8': case '9': {
        json_int_t iv = 0;
        double dv = 0;
        const unsigned char *first = q;
        int kind = jp_number_scan(&s, first, &q, &iv, &dv);
        if (kind == JP_NUM_BAD || !(x = jdoc_add(d, &s, first, kind == JP_NUM_INT
                                                               ? JDOC_INTEGER : JDOC_REAL, &at)))
            goto out;
        if (kind == JP_NUM_INT)
            x->v.i = iv;
        else
            x->v.d = dv;
        break;
    }
    default:
        jp_fail_byte(&s, q, "value expected");
        goto out;
    }
    if (depth > 0) {
        jdoc_node *parent = &d->nodes[stack[2 * depth - 2]];
        parent->size++;
        if (parent->type == JDOC_OBJECT)
            x->key = key;
        if (stack[2 * depth - 1])
            d->nodes[stack[2 * depth - 1]].next = at;
        stack[2 * depth - 1] = at;
    }
    if (x->type == JDOC_OBJECT || x->type == JDOC_ARRAY) {
        if (depth == cap) {
            uint32_t *grown = stack == inline_stack ? malloc(4 * cap * sizeof *grown)
                                                    : realloc(stack, 4 * cap * sizeof *grown);
            if (!grown) {
                jp_fail(&s, q, ERR_NOMEM, "out of memory");
                goto out;
            }
            if (stack == inline_stack)
                memcpy(grown, inline_stack, sizeof inline_stack);
            stack = grown;
            cap *= 2;
        }
        stack[2 * depth] = at;
        stack[2 * depth + 1] = 0;
        depth++;
        bool is_obj = x->type == JDOC_OBJECT;
        q = jp_ws(q, end);
        if (q < end && *q == (is_obj ? '}' : ']')) {
            depth--;
            q++;
            goto next;
        }
        if (is_obj)
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
    switch (jp_after_value(&s, &q, end, d->nodes[stack[2 * depth - 2]].type == JDOC_OBJECT)) {
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
    if (!(q = jdoc_string(d, &s, q, &scratch, &off, &len)))
        goto out;
    key = off + 1;
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
    free(scratch.p);
    if (s.failed) {
        jdoc_free(d);
        return NULL;
    }
    return d;
}

/* ---- access ------------------------------------------------------------------------------- */

static inline const jdoc_node *jdoc_node_of(jdoc_val v)
{
    return v.doc && v.i < v.doc->n ? &v.doc->nodes[v.i] : NULL;
}

jdoc_val jdoc_root(const jdoc *d)
{
    return d && d->n > 0 ? (jdoc_val){ d, 0 } : JDOC_VAL_NONE;
}

jdoc_type jdoc_type_of(jdoc_val v)
{
    const jdoc_node *x = jdoc_node_of(v);
    return x ? (jdoc_type)x->type : JDOC_NONE;
}

size_t jdoc_size(jdoc_val v)
{
    const jdoc_node *x = jdoc_node_of(v);
    return x && (x->type == JDOC_OBJECT || x->type == JDOC_ARRAY || x->type == JDOC_STRING)
               ? x->size : 0;
}

jdoc_val jdoc_first(jdoc_val v)
{
    const jdoc_node *x = jdoc_node_of(v);
    if (!x || (x->type != JDOC_OBJECT && x->type != JDOC_ARRAY) || x->size == 0)
        return JDOC_VAL_NONE;
    return (jdoc_val){ v.doc, v.i + 1 };
}

jdoc_val jdoc_next(jdoc_val v)
{
    const jdoc_node *x = jdoc_node_of(v);
    return x && x->next ? (jdoc_val){ v.doc, x->next } : JDOC_VAL_NONE;
}

size_t jdoc_elements(jdoc_val container, jdoc_val *out, size_t max)
{
    size_t n = 0;
    for (jdoc_val x = jdoc_first(container); x.doc && n < max; x = jdoc_next(x))
        out[n++] = x;
    return n;
}

const char *jdoc_key(jdoc_val v)
{
    const jdoc_node *x = jdoc_node_of(v);
    return x && x->key ? v.doc->text + x->key - 1 : NULL;
}

const char *jdoc_str(jdoc_val v)
{
    const jdoc_node *x = jdoc_node_of(v);
    return x && x->type == JDOC_STRING ? v.doc->text + x->v.off : NULL;
}

json_int_t jdoc_int(jdoc_val v)
{
    const jdoc_node *x = jdoc_node_of(v);
    return x && x->type == JDOC_INTEGER ? x->v.i : 0;
}

double jdoc_real(jdoc_val v)
{
    const jdoc_node *x = jdoc_node_of(v);
    if (!x)
        return 0;
    return x->type == JDOC_INTEGER ? (double)x->v.i : x->type == JDOC_REAL ? x->v.d : 0;
}

jdoc_val jdoc_get(jdoc_val obj, const char *key)
{
    const jdoc_node *x = jdoc_node_of(obj);
    jdoc_val hit = JDOC_VAL_NONE;
    if (!x || x->type != JDOC_OBJECT || !key)
        return hit;
    const jdoc *d = obj.doc;
    for (uint32_t i = x->size ? obj.i + 1 : 0; i; i = d->nodes[i].next)
        if (strcmp(d->text + d->nodes[i].key - 1, key) == 0)
            hit = (jdoc_val){ d, i };
    return hit;
}

const char *jdoc_get_str(jdoc_val obj, const char *key)
{
    return jdoc_str(jdoc_get(obj, key));
}

json_t *jdoc_to_json(jdoc_val v)
{
    const jdoc_node *x = jdoc_node_of(v);
    if (!x)
        return NULL;
    const jdoc *d = v.doc;
    switch ((jdoc_type)x->type) {
    case JDOC_STRING:
        return json_stringn_nocheck(d->text + x->v.off, x->size);
    case JDOC_INTEGER:
        return json_integer(x->v.i);
    case JDOC_REAL:
        return json_real(x->v.d);
    case JDOC_TRUE:
        return json_true();
    case JDOC_FALSE:
        return json_false();
    case JDOC_NULL:
        return json_null();
    case JDOC_OBJECT:
    case JDOC_ARRAY:
        break;
    case JDOC_NONE:
        return NULL;
    }
    bool is_obj = x->type == JDOC_OBJECT;
    json_t *c = is_obj ? json_object() : json_array();
    for (uint32_t i = x->size ? v.i + 1 : 0; c && i; i = d->nodes[i].next) {
        json_t *m = jdoc_to_json((jdoc_val){ d, i });
        int bad = !m || (is_obj ? json_object_set_new_nocheck(c, d->text + d->nodes[i].key - 1, m)
                                : json_array_append_new(c, m));
        if (bad) {
            json_decref(c);
            c = NULL;
        }
    }
    return c;
}
