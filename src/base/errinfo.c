/* errinfo.c — error values with messages. */
#include "config.h"
#include "base/errinfo.h"

#include <stdarg.h>
#include <stdio.h>

int errinfo_vset(errinfo *e, enum err_code code, const char *fmt, va_list ap)
{
    if (e) {
        e->code = code;
        vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    }
    return -1;
}

int errinfo_set(errinfo *e, enum err_code code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    errinfo_vset(e, code, fmt, ap);
    va_end(ap);
    return -1;
}

void errinfo_clear(errinfo *e)
{
    if (e) {
        e->code = ERR_OK;
        e->msg[0] = '\0';
    }
}

const char *errinfo_code_name(enum err_code code)
{
    switch (code) {
    case ERR_OK: return "ok";
    case ERR_NOMEM: return "nomem";
    case ERR_INVALID: return "invalid";
    case ERR_TOOBIG: return "toobig";
    case ERR_CONFIG: return "config";
    case ERR_IO: return "io";
    case ERR_TIMEOUT: return "timeout";
    case ERR_SERVICE: return "service";
    case ERR_NOTFOUND: return "notfound";
    case ERR_INTERNAL: return "internal";
    case ERR_CONFLICT: return "conflict";
    }
    return "unknown";
}

int errinfo_nomem(errinfo *e)
{
    return errinfo_set(e, ERR_NOMEM, "out of memory");
}
