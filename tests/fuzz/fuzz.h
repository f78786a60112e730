/* fuzz.h — what the fuzz targets share: the libFuzzer entry point, the invariant check
 * (a violated invariant aborts, which libFuzzer and the replay test both report), and
 * exact-size copies of the input so that AddressSanitizer sees any read past its end.
 *
 * Each target is one file tests/fuzz/fuzz_<name>.c defining LLVMFuzzerTestOneInput; the
 * same file is linked with libFuzzer (make fuzz) and with tests/fuzz/replay.c into a Check
 * program that replays tests/fuzz/corpus/<name> and tests/fuzz/regress/<name> (make
 * check). A target returns 0 for every input and keeps no memory between calls but what
 * it sets up once (a key, a table). */
#ifndef CR_FUZZ_H
#define CR_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Aborts with the failed condition when cond is false (also under NDEBUG). */
#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond))                                                                               \
            fuzz_fail(#cond, __FILE__, __LINE__);                                                  \
    } while (0)

static inline void fuzz_fail(const char *what, const char *file, int line)
{
    fprintf(stderr, "fuzz invariant violated: %s (%s:%d)\n", what, file, line);
    abort();
}

/* A malloc'd copy of p[0..n) of exactly n bytes (no terminator; never NULL for n == 0:
 * one byte is allocated, not to be read). Aborts when out of memory. */
static inline char *fuzz_dup(const uint8_t *p, size_t n)
{
    char *c = malloc(n ? n : 1);
    FUZZ_CHECK(c != NULL);
    if (n)
        memcpy(c, p, n);
    return c;
}

/* A malloc'd NUL-terminated copy of p[0..n) (a NUL inside ends the string early). */
static inline char *fuzz_cstr(const uint8_t *p, size_t n)
{
    char *c = malloc(n + 1);
    FUZZ_CHECK(c != NULL);
    if (n)
        memcpy(c, p, n);
    c[n] = '\0';
    return c;
}

/* Splits p[0..n) at the first byte sep: *a is the part before, *rest after (empty when
 * there is no sep). */
static inline void fuzz_split(const uint8_t *p, size_t n, uint8_t sep, const uint8_t **a,
                              size_t *alen, const uint8_t **rest, size_t *rlen)
{
    const uint8_t *s = n ? memchr(p, sep, n) : NULL;
    *a = p;
    *alen = s ? (size_t)(s - p) : n;
    *rest = s ? s + 1 : p + n;
    *rlen = s ? n - *alen - 1 : 0;
}

#endif
