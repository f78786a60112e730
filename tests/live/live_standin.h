/* live_standin.h — the control API of the Streams stand-in (tests/tools/streams_server.py)
 * for the tests that drive it. Header-only. */
#ifndef CR_TEST_LIVE_STANDIN_H
#define CR_TEST_LIVE_STANDIN_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "aws/http.h"
#include "live.h"

/* One control call to the stand-in on port: POST with body (stolen; NULL: GET). Asserts 200
 * and returns the parsed answer (caller frees). */
static inline json_t *standin_ctl(int port, const char *name, json_t *body)
{
    char url[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/_control/%s", port, name);
    errinfo e;
    http *h = http_new(NULL, &e);
    ck_assert_msg(h != NULL, "http_new: %s", e.msg);
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    const char *const hdr[] = { "Content-Type: application/json", NULL };
    http_response r;
    http_response_init(&r);
    int rc = http_request(h, text ? "POST" : "GET", url, hdr, text, text ? strlen(text) : 0, &r,
                          &e);
    ck_assert_msg(rc == 0, "control %s: %s", name, e.msg);
    ck_assert_msg(r.status == 200, "control %s: %ld %s", name, r.status, buf_cstr(&r.body));
    json_error_t je;
    json_t *out = json_loadb(r.body.data, r.body.len, 0, &je);
    ck_assert_msg(out != NULL, "control %s: %s", name, je.text);
    free(text);
    http_response_cleanup(&r);
    http_free(h);
    return out;
}

#endif
