/* utf8.h — decoding UTF-8 as RFC 3629 defines it: no overlong forms, no surrogates
 * (U+D800..U+DFFF), nothing above U+10FFFF, no sequence cut short. Pure; nothing allocates.
 * (The JSON lexer, base/jlex.c, keeps its own inline check on its hot path.) */
#ifndef CR_UTF8_H
#define CR_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define UTF8_REPLACEMENT 0xfffdu /* U+FFFD, what an invalid byte stands for on display */

/* Decodes the sequence at p (n bytes available). Returns the bytes it takes (1-4) with its
 * code point in *cp; 0 when p does not start a valid sequence (or n is 0), with *cp =
 * UTF8_REPLACEMENT: a caller that shows text skips one byte, one that checks rejects. */
size_t utf8_next(const unsigned char *p, size_t n, uint32_t *cp);

/* Whether s[0..n) is valid UTF-8 throughout (NUL is a valid code point here). */
bool utf8_valid(const char *s, size_t n);

/* The code points in s[0..n), each byte of an invalid sequence counted as one (as
 * utf8_next's callers that skip one byte see it). */
size_t utf8_count(const char *s, size_t n);

/* The largest k <= n at which s can be cut without splitting a sequence: backs up over
 * continuation bytes. s[n] must be readable (n < the string's length). */
size_t utf8_cut(const char *s, size_t n);

#endif
