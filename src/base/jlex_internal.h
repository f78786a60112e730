/* jlex_internal.h — the one strict JSON grammar behind jparse.c (Jansson values) and jdoc.c
 * (flat documents): a pull parser handing out one value event at a time, with the lexing
 * (strings UTF-8 validated and unescaped, numbers, literals), the structure (separators,
 * brackets, nesting depth, trailing bytes) and the errors ("offset N: reason") in one place.
 * Private to those two files; the rules are the ones jparse.h states. */
#ifndef CR_JLEX_INTERNAL_H
#define CR_JLEX_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "base/errinfo.h"

#define JLEX_STACK_INLINE 32 /* open containers kept inside the jlex before the heap */

/* A growable scratch buffer for decoded strings; never larger than the input plus 4. */
typedef struct jlex_scratch {
    char *p;
    size_t cap;
} jlex_scratch;

/* An open container. u is the builder's, to find the container again (jparse: the
 * json_t; jdoc: its node and its last child so far); jlex never reads it. */
typedef struct jlex_frame {
    union {
        void *ptr;
        struct {
            uint32_t node, last;
        } ix;
    } u;
    bool object;
} jlex_frame;

typedef enum jlex_event {
    JLEX_ERROR = 0, /* the error is in e (the first one recorded); repeated from here on */
    JLEX_DONE,      /* the one value is complete and only whitespace follows */
    JLEX_OBJECT,    /* '{' opened a container: tok.open is its new frame */
    JLEX_ARRAY,     /* '[' likewise */
    JLEX_STRING,    /* tok.str, tok.len */
    JLEX_INTEGER,   /* tok.i: an integer literal that fits json_int_t */
    JLEX_REAL,      /* tok.d: any other number (fraction, exponent, too big) */
    JLEX_TRUE,
    JLEX_FALSE,
    JLEX_NULL,
} jlex_event;

/* What came with the last event. Containers close silently: a builder attaches each value
 * to tok.in as it comes. Pointers into frames are valid until the next jlex_next. */
typedef struct jlex_tok {
    const unsigned char *at;    /* the value's first byte (a string's opening quote) */
    jlex_frame *in;             /* the open container the value goes into; NULL at the top */
    jlex_frame *open;           /* JLEX_OBJECT, JLEX_ARRAY: the new container's frame */
    const unsigned char *keyat; /* in->object: the member key's opening quote, */
    const char *key;            /* its decoded text (in keybuf or the input) */
    size_t keylen;
    const char *str; /* JLEX_STRING: the decoded text, in strbuf or the input */
    size_t len;
    json_int_t i;
    double d;
} jlex_tok;

typedef struct jlex {
    const unsigned char *start; /* offsets in messages are counted from here */
    const unsigned char *end;   /* never read at or past this */
    const unsigned char *q;     /* where the next event is read */
    errinfo *e;
    int failed;
    int state;
    size_t max_depth, depth, cap;
    jlex_frame *stack;
    jlex_scratch keybuf, strbuf; /* a key waits in keybuf while its value is decoded */
    jlex_frame inline_stack[JLEX_STACK_INLINE];
} jlex;

/* Starts reading exactly one JSON text from p[0..n) (p may be NULL when n is 0); errors go
 * to e (may be NULL). Nothing is allocated yet; jlex_cleanup releases what reading took. */
void jlex_init(jlex *s, const char *p, size_t n, size_t max_depth, errinfo *e);
void jlex_cleanup(jlex *s);

/* The next value event, filling *t. JLEX_DONE once, then (like JLEX_ERROR) for ever. */
jlex_event jlex_next(jlex *s, jlex_tok *t);

/* Records the builder's own failure at q (the first error wins; later ones are dropped), so
 * jlex_next answers JLEX_ERROR from here on. Returns NULL so callers can return it. */
void *jlex_fail(jlex *s, const unsigned char *q, enum err_code code, const char *reason);

/* Makes room for need bytes in b: 0, or -1 with ERR_NOMEM recorded. */
int jlex_reserve(jlex *s, jlex_scratch *b, size_t need);

#endif
