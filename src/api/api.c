/* api.c — the response lifecycle shared by the FastCGI layer and the handlers, and the one
 * JSON error shape every failure answers with. */
#include "config.h"
#include "api/api.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

void api_response_init(api_response *r)
{
    memset(r, 0, sizeof *r);
    r->status = 200;
    buf_init(&r->body, 0);
}

void api_response_cleanup(api_response *r)
{
    if (!r)
        return;
    buf_cleanup(&r->body);
}

int api_error(api_response *r, int status, const char *code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);

    r->status = status;
    buf_reset(&r->body);
    json_t *o = json_pack("{s:s, s:s}", "error", code ? code : "error", "message", msg);
    char *text = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII)
                   : NULL;
    json_decref(o);
    if (!text || buf_append_str(&r->body, text) != 0) {
        /* Out of memory or a message that is not UTF-8: still a JSON error. */
        buf_reset(&r->body);
        buf_append_str(&r->body, "{\"error\":\"internal\",\"message\":\"error text unavailable\"}");
    }
    free(text);
    return 0;
}
