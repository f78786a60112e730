/* jwrite.h — JSON text written straight into a buf (base/buf.h): a string, escaped and
 * quoted, and a whole Jansson value in compact form. The bytes are json_dumps(v,
 * JSON_COMPACT)'s (members in insertion order, the same escapes), without its per-token
 * callbacks and printf: what every DynamoDB request body and the API's list answers are
 * written with. Nothing here allocates but the buf. */
#ifndef CR_JWRITE_H
#define CR_JWRITE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "base/buf.h"

/* Deepest nesting jwrite_value writes (a request is a few levels deep); deeper is an error. */
#define JWRITE_MAX_DEPTH 64

/* Appends s[0..n) as a quoted JSON string: '"' and '\\' escaped, control characters as \b
 * \f \n \r \t or \u00XX, everything else (UTF-8) as it is. 0; -1 with b unchanged when s
 * is NULL or not valid UTF-8; -1 with b marked failed when its cap or memory runs out. */
int jwrite_str(buf *b, const char *s, size_t n);

/* The same text as jwrite_str, written into dst[0..cap) (no NUL added; dst may be NULL
 * when cap is 0): the length the whole of it takes, as snprintf counts. A return above cap
 * means it did not fit, and dst[0..cap) holds a part of it. -1 when s is NULL or not valid
 * UTF-8. Allocates nothing: for a writer with a fixed array (log.c's lines). */
ptrdiff_t jwrite_escape(char *dst, size_t cap, const char *s, size_t n);

/* Appends v's decimal digits (as json_dumps writes an integer). 0, or -1 (b marked failed). */
int jwrite_int(buf *b, long long v);

/* Appends v as compact JSON text. 0, or -1 when v is NULL, nests deeper than
 * JWRITE_MAX_DEPTH, holds a string that is not valid UTF-8 or a real that is not finite, or
 * the buf runs out (b->failed then tells the last case apart). On -1, b may hold a part of
 * the text: callers reset it. */
int jwrite_value(buf *b, const json_t *v);

#endif
