/* buf.h — one owning, growable, size-capped, always NUL-terminated byte buffer, and a
 * non-owning {ptr, len} view passed by value. */
#ifndef CR_BUF_H
#define CR_BUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

/* A borrowed run of bytes; not necessarily NUL-terminated. */
typedef struct strv {
    const char *ptr;
    size_t len;
} strv;

#define STRV(lit) ((strv){ (lit), sizeof(lit) - 1 })
#define STRV_EMPTY ((strv){ "", 0 })

/* A view of a C string (NULL gives the empty view). */
strv strv_from(const char *s);
bool strv_eq(strv a, strv b);
bool strv_eq_cstr(strv a, const char *s);
/* Copies v and a NUL into dst (size bytes). false, dst unchanged, when v does not fit
 * (v.len >= size). */
bool strv_copy(strv v, char *dst, size_t size);

/* An owning buffer. `max` is the hard cap on `len`; an append past it fails and marks the
 * buffer failed, after which every append fails until buf_reset(). data is NULL until the
 * first append; buf_cstr() never returns NULL. */
typedef struct buf {
    char *data;
    size_t len;
    size_t cap;
    size_t max;
    bool failed;
} buf;

#define BUF_MAX_DEFAULT ((size_t)1 << 20)

/* Makes an empty buffer capped at max bytes (0 means BUF_MAX_DEFAULT). Allocates nothing. */
void buf_init(buf *b, size_t max);
/* Frees the memory (wiping it first when wipe is set) and leaves an empty buffer with the
 * same cap. Accepts NULL. */
void buf_cleanup(buf *b);
void buf_cleanup_wipe(buf *b);
/* Empties the buffer and clears the failed mark; keeps the memory. */
void buf_reset(buf *b);

/* Appends; 0 on success, -1 when the cap is hit or memory runs out (contents unchanged by
 * the failed call, buffer marked failed). */
int buf_append(buf *b, const void *p, size_t n);
int buf_append_str(buf *b, const char *s);
int buf_append_strv(buf *b, strv v);
int buf_putc(buf *b, char c);
int buf_printf(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_vprintf(buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* Appends n bytes as lowercase hex. */
int buf_append_hex(buf *b, const unsigned char *p, size_t n);
/* Makes room for n more bytes without changing len; 0 or -1 as for buf_append. */
int buf_reserve(buf *b, size_t n);

/* The contents as a C string ("" when empty); valid until the next change. */
const char *buf_cstr(const buf *b);
strv buf_view(const buf *b);
/* Hands the contents to the caller (free() them); the buffer is left empty. NULL on ENOMEM. */
char *buf_take(buf *b);

#endif
