/* jdoc.h — a parsed JSON text as one flat document: the strict parser of jparse.h (same
 * rules, same error messages) without a Jansson value per node. For service replies that
 * are read once and dropped (a Query page): two allocations per document (the text and the
 * node table) instead of several per value. Values are addressed by jdoc_val handles, valid
 * while their document lives; strings are NUL-terminated in the document's own copy. */
#ifndef CR_JDOC_H
#define CR_JDOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "base/errinfo.h"

typedef enum jdoc_type {
    JDOC_NONE = 0, /* no value: a missing key, past the last element */
    JDOC_OBJECT,
    JDOC_ARRAY,
    JDOC_STRING,
    JDOC_INTEGER, /* an integer literal that fits json_int_t */
    JDOC_REAL,    /* any other number (as jparse: fraction, exponent, big) */
    JDOC_TRUE,
    JDOC_FALSE,
    JDOC_NULL,
} jdoc_type;

typedef struct jdoc jdoc;

/* A value of a document, or none ({NULL, 0}). Every accessor accepts none (and any value of
 * the wrong type) and answers as for a missing value. */
typedef struct jdoc_val {
    const jdoc *doc;
    uint32_t i;
} jdoc_val;

#define JDOC_VAL_NONE ((jdoc_val){ NULL, 0 })

/* Parses exactly one JSON text from p[0..n) under jparse's rules (see jparse.h; max_depth
 * likewise), copying it first: p may be reused at once. NULL with e set ("offset N: ...",
 * ERR_INVALID or ERR_NOMEM; ERR_TOOBIG past 4 GiB). */
jdoc *jdoc_parse(const char *p, size_t n, size_t max_depth, errinfo *e);
void jdoc_free(jdoc *d); /* accepts NULL */

jdoc_val jdoc_root(const jdoc *d); /* none for NULL */

jdoc_type jdoc_type_of(jdoc_val v);
static inline bool jdoc_is(jdoc_val v, jdoc_type t)
{
    return jdoc_type_of(v) == t;
}

/* Members of an object as written (a repeated key counts each time), elements of an array,
 * bytes of a string; 0 for anything else. */
size_t jdoc_size(jdoc_val v);
/* The value of key in an object (the last one when a key repeats, as jparse), or none. */
jdoc_val jdoc_get(jdoc_val obj, const char *key);
/* Iteration: the first element or member value of a container, then each next one; none
 * after the last. for (jdoc_val x = jdoc_first(a); x.doc; x = jdoc_next(x)) */
jdoc_val jdoc_first(jdoc_val container);
jdoc_val jdoc_next(jdoc_val v);
/* Fills out[] with the first max elements (or member values) of a container, in order, for
 * walking by index or backwards; returns how many it filled. */
size_t jdoc_elements(jdoc_val container, jdoc_val *out, size_t max);
/* The key of an object member (given its value), else NULL. */
const char *jdoc_key(jdoc_val v);
/* A string's text (NUL-terminated; jdoc_size gives its length), else NULL. */
const char *jdoc_str(jdoc_val v);
/* An integer's value, else 0. */
json_int_t jdoc_int(jdoc_val v);
/* A number's value (integer or real), else 0. */
double jdoc_real(jdoc_val v);
/* The string member key of an object, as jdoc_str(jdoc_get(obj, key)). */
const char *jdoc_get_str(jdoc_val obj, const char *key);

/* A new Jansson value equal to v (what jparse gives for the same text), or NULL for none or
 * when memory runs out. */
json_t *jdoc_to_json(jdoc_val v);

#endif
