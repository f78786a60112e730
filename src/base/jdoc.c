/* jdoc.c — flat JSON documents: the events of the shared grammar (jlex_internal.h) filling
 * one node table.
 *
 * Layout: the text is copied once; strings are decoded in place in the copy (a decoded
 * string is never longer than its escaped form) and NUL-terminated where their closing
 * quote was. Nodes are stored in document order, a container right before its first
 * child; each child links to its next sibling. An object member's key lives on its value
 * node. */
#include "config.h"
#include "base/jdoc.h"

#include <stdlib.h>
#include <string.h>

#include "base/jlex_internal.h"

#define JDOC_MAX_BYTES ((size_t)UINT32_MAX - 1)

typedef struct jdoc_node {
    uint8_t type;  /* jdoc_type */
    uint32_t size; /* container: children; string: bytes */
    uint32_t key;  /* offset of the member's key in text + 1; 0: none */
    uint32_t next; /* the next sibling's index; 0: the last child */
    union {
        uint32_t off; /* string: offset in text */
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
static int jdoc_grow(jdoc *d, jlex *s, const unsigned char *q)
{
    if (d->cap >= UINT32_MAX / 2) {
        jlex_fail(s, q, ERR_TOOBIG, "too many values");
        return -1;
    }
    uint32_t cap = d->cap * 2;
    jdoc_node *g = realloc(d->nodes, (size_t)cap * sizeof *g);
    if (!g) {
        jlex_fail(s, q, ERR_NOMEM, "out of memory");
        return -1;
    }
    d->nodes = g;
    d->cap = cap;
    return 0;
}

/* A new node at the end of the table (its index in *at), or NULL with the error set. */
static inline jdoc_node *jdoc_add(jdoc *d, jlex *s, const unsigned char *q, uint8_t type,
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

/* Copies a decoded string (or key) that starts after the quote at q into the document's
 * text where it was written, NUL after it; returns its offset in the text. */
static inline uint32_t jdoc_place(jdoc *d, const jlex *s, const unsigned char *q, const char *str,
                                  size_t len)
{
    char *first = d->text + (q + 1 - s->start);
    if (str != first)
        memcpy(first, str, len); /* decoded from escapes: never longer than the input */
    first[len] = '\0';
    return (uint32_t)(first - d->text);
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
    jlex s;
    jlex_tok t;
    jlex_init(&s, d->text, n, max_depth, e);
    for (;;) {
        jlex_event ev = jlex_next(&s, &t);
        uint8_t type;
        uint32_t at;
        jdoc_node *x;
        switch (ev) {
        case JLEX_DONE:
        case JLEX_ERROR: goto out;
        case JLEX_OBJECT: type = JDOC_OBJECT; break;
        case JLEX_ARRAY: type = JDOC_ARRAY; break;
        case JLEX_STRING: type = JDOC_STRING; break;
        case JLEX_INTEGER: type = JDOC_INTEGER; break;
        case JLEX_REAL: type = JDOC_REAL; break;
        case JLEX_TRUE: type = JDOC_TRUE; break;
        case JLEX_FALSE: type = JDOC_FALSE; break;
        case JLEX_NULL:
        default: type = JDOC_NULL; break;
        }
        if (!(x = jdoc_add(d, &s, t.at, type, &at)))
            goto out;
        if (ev == JLEX_STRING) {
            x->v.off = jdoc_place(d, &s, t.at, t.str, t.len);
            x->size = (uint32_t)t.len;
        } else if (ev == JLEX_INTEGER) {
            x->v.i = t.i;
        } else if (ev == JLEX_REAL) {
            x->v.d = t.d;
        }
        if (t.in) {
            jdoc_node *parent = &d->nodes[t.in->u.ix.node];
            parent->size++;
            if (t.in->object) {
                /* the key sits before the value in the text, so placing it now overwrites
                 * nothing still needed */
                x->key = jdoc_place(d, &s, t.keyat, t.key, t.keylen) + 1;
            }
            if (t.in->u.ix.last)
                d->nodes[t.in->u.ix.last].next = at;
            t.in->u.ix.last = at;
        }
        if (t.open) {
            t.open->u.ix.node = at;
            t.open->u.ix.last = 0;
        }
    }
out:
    jlex_cleanup(&s);
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
               ? x->size
               : 0;
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
    for (uint32_t i = x->size ? obj.i + 1 : 0; i; i = d->nodes[i].next) {
        const char *k = d->text + d->nodes[i].key - 1;
        if (k[0] == key[0] && strcmp(k, key) == 0) /* the first byte settles most */
            hit = (jdoc_val){ d, i };
    }
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
    case JDOC_STRING: return json_stringn_nocheck(d->text + x->v.off, x->size);
    case JDOC_INTEGER: return json_integer(x->v.i);
    case JDOC_REAL: return json_real(x->v.d);
    case JDOC_TRUE: return json_true();
    case JDOC_FALSE: return json_false();
    case JDOC_NULL: return json_null();
    case JDOC_OBJECT:
    case JDOC_ARRAY: break;
    case JDOC_NONE: return NULL;
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
