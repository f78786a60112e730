/* errinfo.h — an error value that carries a code and a human message for the log. */
#ifndef CR_ERRINFO_H
#define CR_ERRINFO_H

#include <stdarg.h>

enum err_code {
    ERR_OK = 0,
    ERR_NOMEM,    /* out of memory */
    ERR_INVALID,  /* bad input: caller or external data */
    ERR_TOOBIG,   /* over a size cap */
    ERR_CONFIG,   /* missing or bad configuration */
    ERR_IO,       /* file or network I/O */
    ERR_TIMEOUT,  /* a deadline passed */
    ERR_SERVICE,  /* a remote service answered with an error */
    ERR_NOTFOUND, /* the thing asked for does not exist */
    ERR_INTERNAL, /* a bug or a library failure */
    ERR_CONFLICT, /* the thing is already someone else's (a unique key taken) */
};

typedef struct errinfo {
    enum err_code code;
    char msg[384];
} errinfo;

/* ERR_NOMEM "out of memory" into *e (when not NULL); returns -1, as errinfo_set does. */
int errinfo_nomem(errinfo *e);
/* Sets *e (when e is not NULL) and returns -1, so callers can `return errinfo_set(...)`. */
int errinfo_set(errinfo *e, enum err_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* errinfo_set with the arguments as a va_list (for wrappers that take their own ...). */
int errinfo_vset(errinfo *e, enum err_code code, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
/* Clears *e to ERR_OK and an empty message. Accepts NULL. */
void errinfo_clear(errinfo *e);
/* A short name for a code ("invalid", "timeout", ...). */
const char *errinfo_code_name(enum err_code code);

#endif
