/* jparse.h — a strict, fast JSON parser for service responses that builds Jansson values. */
#ifndef CR_JPARSE_H
#define CR_JPARSE_H

#include <stddef.h>

#include <jansson.h>

#include "base/errinfo.h"

/* Parses exactly one JSON text from p[0..n) into a new Jansson value (any type at the top,
 * like json_loadb with JSON_DECODE_ANY), or NULL with e set ("offset 123: <reason>";
 * ERR_INVALID for bad input, ERR_NOMEM when an allocation fails). p need not be
 * NUL-terminated and is never read past p + n; any bytes are safe. The caller owns the result.
 *
 * Strict RFC 8259: no trailing garbage except whitespace, no comments, no NaN/Infinity,
 * no leading zeros, no control characters (< 0x20) raw in strings, valid UTF-8 only
 * (no overlongs, no surrogates encoded in UTF-8, nothing above U+10FFFF), \u escapes with
 * proper surrogate pairs (a lone surrogate is an error), "\u0000" rejected (as Jansson
 * does without JSON_ALLOW_NUL), nesting deeper than max_depth rejected (Jansson's own limit
 * is JSON_PARSER_MAX_DEPTH, 2048), duplicate keys: the last one wins (as Jansson's default).
 * Numbers: an integer literal that fits in json_int_t becomes json_integer, otherwise
 * (fraction/exponent/too big) json_real via strtod under the "C" locale; a real that
 * overflows to inf is an error (as Jansson). Differences from Jansson: an integer literal
 * outside json_int_t is a real here, an error there ("too big integer"); a NUL byte right
 * after a number or literal ("[1\0]") is an error here, skipped there (its lexer loses it).
 * Thread-safe; the process locale does not matter. */
json_t *jparse(const char *p, size_t n, size_t max_depth, errinfo *e);

#endif
