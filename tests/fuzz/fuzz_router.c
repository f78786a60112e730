/* fuzz_router.c — the API's route table (api/router.c, router_find): the input is a method,
 * a newline, and a path (no query). Invariants: a found route has a handler and a pattern,
 * a path parameter is a view into the path (a {uuid} one a canonical UUID, a handle one
 * non-empty and without '/'), a known path answers OPTIONS with a preflight, and matching is
 * exact: the same path with a trailing '/' is never found. */
#include "config.h"

#include "api/router.h"
#include "base/uuid.h"
#include "fuzz.h"

#define FUZZ_ROUTER_MAX_INPUT 2048

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > FUZZ_ROUTER_MAX_INPUT)
        return 0;
    const uint8_t *m, *p;
    size_t mn, pn;
    fuzz_split(data, size, '\n', &m, &mn, &p, &pn);
    char *method = fuzz_cstr(m, mn);
    char *path = malloc(pn + 1); /* one byte more for the trailing '/' below */
    FUZZ_CHECK(path != NULL);
    if (pn)
        memcpy(path, p, pn);
    router_match r;
    memset(&r, 0xa5, sizeof r);
    router_find(method, (strv){ path, pn }, &r);
    FUZZ_CHECK(r.pattern != NULL);
    FUZZ_CHECK(r.nparams <= ROUTER_MAX_PARAMS);
    switch (r.result) {
    case ROUTER_FOUND:
        FUZZ_CHECK(r.handler != NULL && r.pattern[0] == '/' && r.allow != NULL);
        for (size_t i = 0; i < r.nparams; i++) {
            FUZZ_CHECK(r.params[i].ptr >= path && r.params[i].ptr + r.params[i].len <= path + pn);
            FUZZ_CHECK(r.params[i].len > 0);
            FUZZ_CHECK(!memchr(r.params[i].ptr, '/', r.params[i].len));
            if (strstr(r.pattern, "{uuid}"))
                FUZZ_CHECK(uuid_is_text(r.params[i].ptr, r.params[i].len));
        }
        /* fallthrough */
    case ROUTER_PREFLIGHT:
    case ROUTER_BAD_METHOD:
    case ROUTER_BAD_PARAM: {
        FUZZ_CHECK(r.pattern[0] == '/' && r.allow != NULL);
        if (r.result == ROUTER_BAD_PARAM)
            FUZZ_CHECK(strstr(r.pattern, "{uuid}") != NULL);
        router_match o;
        router_find("OPTIONS", (strv){ path, pn }, &o);
        FUZZ_CHECK(o.result == ROUTER_PREFLIGHT || o.result == ROUTER_BAD_PARAM ||
                   (o.result == ROUTER_FOUND && strcmp(method, "OPTIONS") == 0));
        if (pn > 0 && path[pn - 1] != '/') {
            path[pn] = '/';
            router_find(method, (strv){ path, pn + 1 }, &o);
            FUZZ_CHECK(o.result == ROUTER_NOT_FOUND);
        }
        break;
    }
    case ROUTER_NOT_FOUND: FUZZ_CHECK(r.nparams == 0); break;
    default: FUZZ_CHECK(!"router_find left the result unset");
    }
    free(path);
    free(method);
    return 0;
}
