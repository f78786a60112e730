/* ddb_av_check.c — deep validation of AttributeValues read from outside (ddb_av_validate):
 * types, numbers, base64, sets without duplicates, nesting; messages name the path of the
 * first bad value and show at most SHOW_MAX bytes of it. */
#include "config.h"
#include "aws/ddb_av.h"
#include "aws/ddb_av_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base64.h"
#include "base/utf8.h"

#define SHOW_MAX 48 /* bytes of a bad value or a name shown in a message */

/* ---- paths and messages ---------------------------------------------------------------- */

/* Where validation is, as text: attribute "msg".L[3].M."k" */
typedef struct av_path {
    size_t len;
    char s[240];
} av_path;

/* Writes s as a quoted, escaped, possibly shortened string for a log message. */
static void show(char *dst, size_t cap, const char *s, size_t len)
{
    size_t n = len, o = 0;
    bool cut = false;
    if (n > SHOW_MAX) {
        n = utf8_cut(s, SHOW_MAX); /* do not split a UTF-8 sequence */
        cut = true;
    }
    if (cap < 16) {
        if (cap)
            dst[0] = '\0';
        return;
    }
    dst[o++] = '"';
    for (size_t i = 0; i < n && o + 8 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            dst[o++] = '\\';
            dst[o++] = (char)c;
        } else if (c < 0x20 || c == 0x7f) {
            o += (size_t)snprintf(dst + o, cap - o, "\\x%02x", c);
        } else {
            dst[o++] = (char)c;
        }
    }
    dst[o++] = '"';
    if (cut && o + 4 < cap) {
        memcpy(dst + o, "...", 3);
        o += 3;
    }
    dst[o] = '\0';
}

/* Appends a segment; returns the old length for path_pop. A path too long for the buffer
 * keeps its head and ends in "...". */
__attribute__((format(printf, 2, 3))) static size_t path_push(av_path *p, const char *fmt, ...)
{
    size_t old = p->len;
    size_t room = sizeof p->s - p->len;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(p->s + p->len, room, fmt, ap);
    va_end(ap);
    if (n < 0) {
        p->s[p->len] = '\0';
    } else if ((size_t)n >= room) {
        p->len = sizeof p->s - 1;
        memcpy(p->s + p->len - 3, "...", 3);
    } else {
        p->len += (size_t)n;
    }
    return old;
}

static void path_pop(av_path *p, size_t old)
{
    p->len = old;
    p->s[old] = '\0';
}

__attribute__((format(printf, 4, 5))) static int path_fail(errinfo *e, const av_path *p,
                                                           enum err_code code, const char *fmt, ...)
{
    char msg[256];
    if (!e)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return errinfo_set(e, code, "%s: %s", p->s, msg);
}

/* ---- validation ------------------------------------------------------------------------ */

typedef struct set_key {
    const char *p;
    size_t len;
    size_t idx;
} set_key;

static int set_key_cmp(const void *a, const void *b)
{
    const set_key *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = n ? memcmp(x->p, y->p, n) : 0;
    if (c != 0)
        return c;
    if (x->len != y->len)
        return x->len < y->len ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* SS, NS, BS: a non-empty array of valid, distinct elements. NS elements are compared by
 * value (their canonical text); BS elements by text, which is by bytes since only
 * canonical base64 is accepted. */
static int check_set(ddb_av_type t, const json_t *arr, av_path *path, errinfo *e)
{
    const char *tn = ddb_av_type_name(t);
    size_t n = json_array_size(arr);
    set_key *keys = NULL;
    char(*norm)[DDB_AV_NUM_NORM_MAX] = NULL;
    int rc = -1;

    if (n == 0)
        return path_fail(e, path, ERR_INVALID, "%s must not be empty", tn);
    keys = calloc(n, sizeof *keys);
    if (t == DDB_AV_NS)
        norm = calloc(n, sizeof *norm);
    if (!keys || (t == DDB_AV_NS && !norm)) {
        path_fail(e, path, ERR_NOMEM, "out of memory checking %s", tn);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        const json_t *el = json_array_get(arr, i);
        size_t old = path_push(path, ".%s[%zu]", tn, i);
        if (!json_is_string(el)) {
            path_fail(e, path, ERR_INVALID, "%s element is not a string", tn);
            goto out;
        }
        const char *s = json_string_value(el);
        size_t len = json_string_length(el);
        char shown[SHOW_MAX + 16];
        keys[i] = (set_key){ s, len, i };
        if (t == DDB_AV_SS && !utf8_valid(s, len)) {
            path_fail(e, path, ERR_INVALID, "string is not valid UTF-8");
            goto out;
        }
        if (t == DDB_AV_NS) {
            ddb_av_num num;
            const char *why;
            if (ddb_av_num_parse(s, len, &num, &why) != 0) {
                show(shown, sizeof shown, s, len);
                path_fail(e, path, ERR_INVALID, "%s %s", shown, why);
                goto out;
            }
            ddb_av_num_normal(&num, norm[i]);
            keys[i] = (set_key){ norm[i], strlen(norm[i]), i };
        }
        size_t dlen;
        if (t == DDB_AV_BS && base64_decode_raw(BASE64_STD, s, len, NULL, &dlen) != 0) {
            show(shown, sizeof shown, s, len);
            path_fail(e, path, ERR_INVALID, "%s is not valid base64", shown);
            goto out;
        }
        path_pop(path, old);
    }
    qsort(keys, n, sizeof *keys, set_key_cmp);
    for (size_t i = 1; i < n; i++) {
        if (keys[i - 1].len == keys[i].len &&
            (keys[i].len == 0 || memcmp(keys[i - 1].p, keys[i].p, keys[i].len) == 0)) {
            const json_t *el = json_array_get(arr, keys[i].idx);
            char shown[SHOW_MAX + 16];
            show(shown, sizeof shown, json_string_value(el), json_string_length(el));
            path_push(path, ".%s[%zu]", tn, keys[i].idx);
            path_fail(e, path, ERR_INVALID, "%s duplicates element [%zu] of the set", shown,
                      keys[i - 1].idx);
            goto out;
        }
    }
    rc = 0;
out:
    free(norm);
    free(keys);
    return rc;
}

/* depth is the number of L/M values around av. */
static int check_av(const json_t *av, int depth, av_path *path, errinfo *e)
{
    if (!json_is_object(av))
        return path_fail(e, path, ERR_INVALID, "not an AttributeValue object");
    size_t nkeys = json_object_size(av);
    if (nkeys == 0)
        return path_fail(e, path, ERR_INVALID, "AttributeValue has no type key");
    if (nkeys > 1) {
        void *it = json_object_iter((json_t *)av);
        char a[SHOW_MAX + 16], b[SHOW_MAX + 16];
        const char *k1 = json_object_iter_key(it);
        const char *k2 = json_object_iter_key(json_object_iter_next((json_t *)av, it));
        show(a, sizeof a, k1, strlen(k1));
        show(b, sizeof b, k2, strlen(k2));
        return path_fail(e, path, ERR_INVALID,
                         "AttributeValue has %zu type keys (%s, %s%s); exactly one is allowed",
                         nkeys, a, b, nkeys > 2 ? ", ..." : "");
    }
    json_t *v;
    const char *key = ddb_av_single_member(av, &v);
    ddb_av_type t = ddb_av_type_from_key(key);
    if (t == DDB_AV_INVALID) {
        char k[SHOW_MAX + 16];
        show(k, sizeof k, key, strlen(key));
        return path_fail(e, path, ERR_INVALID, "unknown type key %s", k);
    }
    const char *tn = ddb_av_type_name(t);
    if (!ddb_av_shape_ok(t, v)) {
        if (t == DDB_AV_NULL && json_is_false(v))
            return path_fail(e, path, ERR_INVALID, "NULL must be true");
        static const char *const want[] = {
            [DDB_AV_S] = "a string",         [DDB_AV_N] = "a string",  [DDB_AV_B] = "a string",
            [DDB_AV_BOOL] = "true or false", [DDB_AV_NULL] = "true",   [DDB_AV_L] = "an array",
            [DDB_AV_M] = "an object",        [DDB_AV_SS] = "an array", [DDB_AV_NS] = "an array",
            [DDB_AV_BS] = "an array",
        };
        return path_fail(e, path, ERR_INVALID, "%s value must be %s", tn, want[t]);
    }
    if ((t == DDB_AV_L || t == DDB_AV_M) && depth + 1 > DDB_AV_MAX_DEPTH)
        return path_fail(e, path, ERR_INVALID, "nested deeper than %d levels", DDB_AV_MAX_DEPTH);

    switch (t) {
    case DDB_AV_S:
        if (!utf8_valid(json_string_value(v), json_string_length(v)))
            return path_fail(e, path, ERR_INVALID, "S is not valid UTF-8");
        return 0;
    case DDB_AV_N: {
        ddb_av_num num;
        const char *why;
        if (ddb_av_num_parse(json_string_value(v), json_string_length(v), &num, &why) != 0) {
            char shown[SHOW_MAX + 16];
            show(shown, sizeof shown, json_string_value(v), json_string_length(v));
            return path_fail(e, path, ERR_INVALID, "N %s %s", shown, why);
        }
        return 0;
    }
    case DDB_AV_B: {
        size_t dlen;
        if (base64_decode_raw(BASE64_STD, json_string_value(v), json_string_length(v), NULL,
                              &dlen) != 0) {
            char shown[SHOW_MAX + 16];
            show(shown, sizeof shown, json_string_value(v), json_string_length(v));
            return path_fail(e, path, ERR_INVALID, "B %s is not valid base64", shown);
        }
        return 0;
    }
    case DDB_AV_BOOL:
    case DDB_AV_NULL: return 0;
    case DDB_AV_L:
        for (size_t i = 0; i < json_array_size(v); i++) {
            size_t old = path_push(path, ".L[%zu]", i);
            if (check_av(json_array_get(v, i), depth + 1, path, e) != 0)
                return -1;
            path_pop(path, old);
        }
        return 0;
    case DDB_AV_M: {
        const char *name;
        json_t *sub;
        json_object_foreach(v, name, sub)
        {
            char shown[SHOW_MAX + 16];
            show(shown, sizeof shown, name, strlen(name));
            size_t old = path_push(path, ".M.%s", shown);
            if (!utf8_valid(name, strlen(name)))
                return path_fail(e, path, ERR_INVALID, "map key is not valid UTF-8");
            if (check_av(sub, depth + 1, path, e) != 0)
                return -1;
            path_pop(path, old);
        }
        return 0;
    }
    case DDB_AV_SS:
    case DDB_AV_NS:
    case DDB_AV_BS: return check_set(t, v, path, e);
    case DDB_AV_INVALID: break;
    }
    return path_fail(e, path, ERR_INTERNAL, "unhandled type");
}

int ddb_av_validate(const json_t *av, errinfo *e)
{
    av_path path = { 0, "" };
    path_push(&path, "value");
    return check_av(av, 0, &path, e);
}

int ddb_av_validate_item(const json_t *item, errinfo *e)
{
    av_path path = { 0, "" };
    if (!json_is_object(item)) {
        path_push(&path, "item");
        return path_fail(e, &path, ERR_INVALID, "not a JSON object");
    }
    const char *name;
    json_t *av;
    json_object_foreach((json_t *)item, name, av)
    {
        char shown[SHOW_MAX + 16];
        size_t len = strlen(name);
        show(shown, sizeof shown, name, len);
        path_pop(&path, 0);
        path_push(&path, "attribute %s", shown);
        if (len == 0)
            return path_fail(e, &path, ERR_INVALID, "attribute name is empty");
        if (!utf8_valid(name, len))
            return path_fail(e, &path, ERR_INVALID, "attribute name is not valid UTF-8");
        if (check_av(av, 0, &path, e) != 0)
            return -1;
    }
    return 0;
}
