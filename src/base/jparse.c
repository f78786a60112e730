/* jparse.c — a strict, single-pass JSON parser that builds Jansson values directly from the
 * events of the shared grammar (jlex_internal.h).
 *
 * Design: a container is attached to its parent as soon as it is created, so the partial
 * tree is always reachable from the root and every error path is one json_decref(root).
 * Strings come decoded and UTF-8-validated from jlex (in place or in its scratch buffers),
 * so the Jansson calls used are the *_nocheck ones. */
#include "config.h"
#include "base/jparse.h"

#include <stdlib.h>
#include <string.h>

#include "base/jlex_internal.h"

#if JANSSON_VERSION_HEX >= 0x020e00 && !defined(JP_KEY_COPY)
/* Jansson 2.14 copies a key by length, so it may point into the input. */
static inline int jparse_set(jlex *s, json_t *obj, const char *key, size_t len, json_t *v)
{
    (void)s;
    return json_object_setn_new_nocheck(obj, key, len, v);
}
#else
/* Jansson before 2.14 takes a key as a C string: terminate it in the key buffer (which may
 * hold it already). */
static int jparse_set(jlex *s, json_t *obj, const char *key, size_t len, json_t *v)
{
    jlex_scratch *kb = &s->keybuf;
    if (key != kb->p) {
        if (jlex_reserve(s, kb, len + 1) != 0) {
            json_decref(v);
            return -1;
        }
        memcpy(kb->p, key, len);
    }
    kb->p[len] = '\0'; /* a decoded key always has 4 spare bytes */
    return json_object_set_new_nocheck(obj, kb->p, v);
}
#endif

json_t *jparse(const char *p, size_t n, size_t max_depth, errinfo *e)
{
    jlex s;
    jlex_tok t;
    json_t *root = NULL, *v;
    jlex_init(&s, p, n, max_depth, e);
    for (;;) {
        switch (jlex_next(&s, &t)) {
        case JLEX_DONE: goto out;
        case JLEX_ERROR: goto out;
        case JLEX_OBJECT: v = json_object(); break;
        case JLEX_ARRAY: v = json_array(); break;
        case JLEX_STRING: v = json_stringn_nocheck(t.str, t.len); break;
        case JLEX_INTEGER: v = json_integer(t.i); break;
        case JLEX_REAL: v = json_real(t.d); break;
        case JLEX_TRUE: v = json_true(); break;
        case JLEX_FALSE: v = json_false(); break;
        case JLEX_NULL:
        default: v = json_null(); break;
        }
        if (!v) {
            jlex_fail(&s, t.at, ERR_NOMEM, "out of memory");
            goto out;
        }
        /* attach at once (the parent owns it from here) */
        if (!t.in)
            root = v;
        else if (t.in->object ? jparse_set(&s, t.in->u.ptr, t.key, t.keylen, v) != 0
                              : json_array_append_new(t.in->u.ptr, v) != 0) {
            jlex_fail(&s, t.at, ERR_NOMEM, "out of memory");
            goto out;
        }
        if (t.open)
            t.open->u.ptr = v;
    }
out:
    jlex_cleanup(&s);
    if (s.failed) {
        json_decref(root);
        return NULL;
    }
    return root;
}
