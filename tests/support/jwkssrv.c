/* jwkssrv.c — the JWKS stand-in (jwkssrv.h): its state lives in the loopsrv shared area. */
#include "config.h"
#include "jwkssrv.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loopsrv.h"

typedef struct jwkssrv_state {
    int status;
    long fetches;
    size_t len;
    char body[JWKSSRV_BODY_MAX];
} jwkssrv_state;

struct jwkssrv {
    loopsrv *srv;
};

static void jwkssrv_handle(void *shared, const char *method, const char *target,
                           const char *headers, loopsrv_reply *rp)
{
    jwkssrv_state *st = shared;
    (void)headers;
    size_t n = strcspn(target, "?");
    static const char nf[] = "{\"message\":\"not found\"}";
    if (strcmp(method, "GET") != 0 || n < 9 || memcmp(target + n - 9, "jwks.json", 9) != 0) {
        rp->status = 404;
        rp->body = nf;
        rp->body_len = sizeof nf - 1;
        return;
    }
    st->fetches++;
    rp->status = st->status;
    rp->body = st->body;
    rp->body_len = st->len;
}

static void jwkssrv_set(jwkssrv_state *st, const char *p, size_t n)
{
    memcpy(st->body, p, n);
    st->len = n;
    st->status = 200;
}

jwkssrv *jwkssrv_start(void)
{
    jwkssrv *s = calloc(1, sizeof *s);
    ck_assert_ptr_nonnull(s);
    s->srv = loopsrv_start(NULL, jwkssrv_handle, sizeof(jwkssrv_state));
    jwkssrv_state *st = loopsrv_shared(s->srv);
    loopsrv_lock(s->srv);
    jwkssrv_set(st, "{\"keys\":[]}", 11);
    loopsrv_unlock(s->srv);
    return s;
}

int jwkssrv_port(const jwkssrv *s)
{
    return loopsrv_port(s->srv);
}

void jwkssrv_stop(jwkssrv *s)
{
    if (!s)
        return;
    loopsrv_stop(s->srv);
    free(s);
}

int jwkssrv_command(jwkssrv *s, const char *line)
{
    jwkssrv_state *st = loopsrv_shared(s->srv);
    int rc = 0;
    loopsrv_lock(s->srv);
    if (strncmp(line, "serve ", 6) == 0) {
        FILE *f = fopen(line + 6, "rb");
        if (f) {
            size_t n = fread(st->body, 1, sizeof st->body, f);
            st->len = n;
            st->status = 200;
            fclose(f);
        } else {
            rc = -1;
        }
    } else if (strncmp(line, "status ", 7) == 0) {
        st->status = (int)strtol(line + 7, NULL, 10);
    } else if (strcmp(line, "garbage") == 0) {
        static const char g[] = "<html>this is not a key set {";
        jwkssrv_set(st, g, sizeof g - 1);
    } else if (strncmp(line, "big ", 4) == 0) {
        static const char pre[] = "{\"keys\":[],\"pad\":\"", post[] = "\"}";
        size_t want = strtoul(line + 4, NULL, 10), fixed = sizeof pre - 1 + sizeof post - 1;
        size_t pad = want > fixed ? want - fixed : 0;
        if (fixed + pad > sizeof st->body) {
            rc = -1;
        } else {
            memcpy(st->body, pre, sizeof pre - 1);
            memset(st->body + sizeof pre - 1, 'x', pad);
            memcpy(st->body + sizeof pre - 1 + pad, post, sizeof post - 1);
            st->len = fixed + pad;
            st->status = 200;
        }
    } else if (strcmp(line, "reset") == 0) {
        st->fetches = 0;
    } else {
        rc = -1;
    }
    loopsrv_unlock(s->srv);
    return rc;
}

long jwkssrv_count(jwkssrv *s)
{
    jwkssrv_state *st = loopsrv_shared(s->srv);
    loopsrv_lock(s->srv);
    long n = st->fetches;
    loopsrv_unlock(s->srv);
    return n;
}
