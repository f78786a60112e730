/* api.c — the response lifecycle shared by the FastCGI layer and the handlers, and the one
 * JSON error shape every failure answers with. */
#include "config.h"
#include "api/api.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api/cursor.h"
#include "api/metrics.h"
#include "base/jwrite.h"
#include "base/log.h"

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

/* Appends attribute value av's S as a JSON string, or null when it has none (missing or not
 * S). */
static int api_json_str(buf *b, jdoc_val av)
{
    jdoc_val s = jdoc_get(av, "S");
    const char *p = jdoc_str(s);
    return p ? jwrite_str(b, p, jdoc_size(s)) : buf_append_str(b, "null");
}

int api_list_reply(api_response *resp, const jdoc_val *items, size_t n, const char *uuid_attr,
                   bool reversed)
{
    static const char *const names[] = { "{\"uuid\":", ",\"display_name\":", ",\"handle\":",
                                         ",\"message\":", ",\"created_at\":" };
    const char *attrs[] = { uuid_attr, "user_display_name", "user_handle", "message", "sk" };
    buf *b = &resp->body;
    buf_reset(b);
    int rc = buf_putc(b, '[');
    for (size_t k = 0; k < n && rc == 0; k++) {
        jdoc_val item = items[reversed ? n - 1 - k : k];
        /* one pass over the item's attributes (the last of a repeated name wins, as in
         * jdoc_get) */
        jdoc_val at[5] = { JDOC_VAL_NONE, JDOC_VAL_NONE, JDOC_VAL_NONE, JDOC_VAL_NONE,
                           JDOC_VAL_NONE };
        for (jdoc_val m = jdoc_first(item); m.doc; m = jdoc_next(m)) {
            const char *key = jdoc_key(m);
            if (!key)
                continue;
            for (size_t a = 0; a < 5; a++)
                if (key[0] == attrs[a][0] && strcmp(key, attrs[a]) == 0) {
                    at[a] = m;
                    break;
                }
        }
        if (k)
            rc |= buf_putc(b, ',');
        for (size_t a = 0; a < 5 && rc == 0; a++) {
            rc |= buf_append_str(b, names[a]);
            rc |= api_json_str(b, at[a]);
        }
        rc |= buf_putc(b, '}');
    }
    rc |= buf_putc(b, ']');
    if (rc != 0)
        return -1;
    resp->status = 200;
    return 0;
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
    char *text = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII) : NULL;
    json_decref(o);
    if (!text || buf_append_str(&r->body, text) != 0) {
        /* Out of memory or a message that is not UTF-8: still a JSON error. */
        buf_reset(&r->body);
        buf_append_str(&r->body, "{\"error\":\"internal\",\"message\":\"error text unavailable\"}");
    }
    free(text);
    return 0;
}

int api_page_reply(api_response *resp, const ddb_page_view *page, const char *uuid_attr,
                   bool reversed, const char *event)
{
    jdoc_val items[API_PAGE_MAX];
    size_t n = jdoc_elements(page->items, items, API_PAGE_MAX);
    resp->next_cursor[0] = '\0';
    if (jdoc_type_of(page->last_key) != JDOC_NONE) {
        /* {"pk":{"S":..},"sk":{"S":..}} and nothing else, read in place */
        jdoc_val pk = jdoc_get(page->last_key, "pk"), sk = jdoc_get(page->last_key, "sk");
        const char *p = jdoc_size(pk) == 1 ? jdoc_get_str(pk, "S") : NULL;
        const char *s = jdoc_size(sk) == 1 ? jdoc_get_str(sk, "S") : NULL;
        errinfo e;
        int rc =
            jdoc_size(page->last_key) == 2 && p && s
                ? cursor_encode_pair(p, jdoc_size(jdoc_get(pk, "S")), s,
                                     jdoc_size(jdoc_get(sk, "S")), resp->next_cursor,
                                     sizeof resp->next_cursor, &e)
                : errinfo_set(&e, ERR_INVALID, "cursor: the key is not a pk/sk pair of strings");
        if (rc != 0) {
            log_msg(LOG_ERROR, event, "%s", e.msg);
            return -1;
        }
    }
    return api_list_reply(resp, items, n, uuid_attr, reversed);
}

int api_store_unavailable(api_response *resp, const char *event, const char *why)
{
    log_msg(LOG_ERROR, event, "%s", why);
    return api_error(resp, 503, "unavailable", "the message store is not reachable");
}

int api_users_unavailable(api_ctx *ctx, api_response *resp, const char *event, const char *why)
{
    metrics_count(ctx->metrics_slot, METRICS_PG_ERRORS);
    log_msg(LOG_ERROR, event, "%s", why);
    return api_error(resp, 503, "unavailable", "the user database is not reachable");
}

int api_list_args(api_response *resp, strv query, const char *pk, cursor_page_args *args)
{
    errinfo e;
    if (cursor_page_args_parse(query, pk, API_PAGE_DEFAULT, API_PAGE_MAX, args, &e) == 0)
        return 0;
    api_error(resp, 400, "bad_request", "%s", e.msg);
    return -1;
}

int api_list_page(api_ctx *ctx, api_response *resp, const api_list_options *o)
{
    ddb_page_view page;
    ddb_page_view_init(&page);
    ddb_error err;
    int rc;
    if (o->read(ctx->db, ctx->table, o->id, o->limit, o->start_key, &page, &err) != 0)
        rc = api_store_unavailable(resp, o->read_event, err.info.msg);
    else
        rc = api_page_reply(resp, &page, o->uuid_attr, o->reversed, o->cursor_event);
    ddb_page_view_cleanup(&page);
    return rc;
}
