/* ddb_av.c — DynamoDB AttributeValue marshalling: the type keys, building AVs and reading
 * typed attributes of items (validation: ddb_av_check.c; plain JSON: ddb_av_plain.c;
 * numbers: ddb_av_num.c). */
#include "config.h"
#include "aws/ddb_av.h"
#include "aws/ddb_av_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base64.h"

static const char *const type_keys[] = {
    [DDB_AV_INVALID] = "?", [DDB_AV_S] = "S",       [DDB_AV_N] = "N",   [DDB_AV_B] = "B",
    [DDB_AV_BOOL] = "BOOL", [DDB_AV_NULL] = "NULL", [DDB_AV_L] = "L",   [DDB_AV_M] = "M",
    [DDB_AV_SS] = "SS",     [DDB_AV_NS] = "NS",     [DDB_AV_BS] = "BS",
};

/* ---- type keys ------------------------------------------------------------------------- */

ddb_av_type ddb_av_type_from_key(const char *key)
{
    for (int t = DDB_AV_S; t <= DDB_AV_BS; t++) {
        if (strcmp(key, type_keys[t]) == 0)
            return (ddb_av_type)t;
    }
    return DDB_AV_INVALID;
}

const char *ddb_av_type_name(ddb_av_type t)
{
    if (t < DDB_AV_S || t > DDB_AV_BS)
        return "?";
    return type_keys[t];
}

/* Whether the JSON value v has the shape type t wants (shallow). */
bool ddb_av_shape_ok(ddb_av_type t, const json_t *v)
{
    switch (t) {
    case DDB_AV_S:
    case DDB_AV_N:
    case DDB_AV_B: return json_is_string(v);
    case DDB_AV_BOOL: return json_is_boolean(v);
    case DDB_AV_NULL: return json_is_true(v);
    case DDB_AV_L:
    case DDB_AV_SS:
    case DDB_AV_NS:
    case DDB_AV_BS: return json_is_array(v);
    case DDB_AV_M: return json_is_object(v);
    case DDB_AV_INVALID: break;
    }
    return false;
}

/* The single member of av when it is an object with exactly one key. */
const char *ddb_av_single_member(const json_t *av, json_t **val)
{
    if (!json_is_object(av) || json_object_size(av) != 1)
        return NULL;
    void *it = json_object_iter((json_t *)av);
    *val = json_object_iter_value(it);
    return json_object_iter_key(it);
}

ddb_av_type ddb_av_type_of(const json_t *av)
{
    json_t *v;
    const char *key = ddb_av_single_member(av, &v);
    if (!key)
        return DDB_AV_INVALID;
    ddb_av_type t = ddb_av_type_from_key(key);
    return t != DDB_AV_INVALID && ddb_av_shape_ok(t, v) ? t : DDB_AV_INVALID;
}

/* ---- constructors ---------------------------------------------------------------------- */

/* {key: v}; steals v (NULL passes through as failure). */
json_t *ddb_av_wrap(const char *key, json_t *v)
{
    if (!v)
        return NULL;
    json_t *o = json_object();
    if (!o) {
        json_decref(v);
        return NULL;
    }
    if (json_object_set_new_nocheck(o, key, v) != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* Keeps av only when it validates; steals av. */
static json_t *checked(json_t *av)
{
    if (av && ddb_av_validate(av, NULL) != 0) {
        json_decref(av);
        return NULL;
    }
    return av;
}

json_t *ddb_av_s(const char *s)
{
    return s ? ddb_av_wrap("S", json_string(s)) : NULL;
}

json_t *ddb_av_s_len(const char *s, size_t len)
{
    return s ? ddb_av_wrap("S", json_stringn(s, len)) : NULL;
}

/* The decimal text of n as a new JSON string, or NULL. */
static json_t *i64_string(int64_t n)
{
    char t[24];
    snprintf(t, sizeof t, "%" PRId64, n);
    return json_string_nocheck(t);
}

json_t *ddb_av_n_i64(int64_t n)
{
    return ddb_av_wrap("N", i64_string(n));
}

json_t *ddb_av_n_str(const char *number)
{
    if (!number || !ddb_av_num_valid(number, strlen(number)))
        return NULL;
    return ddb_av_wrap("N", json_string_nocheck(number));
}

/* The standard padded base64 of p[0..n) as a new JSON string, or NULL. */
static json_t *b64_string(const void *p, size_t n)
{
    buf b;
    buf_init(&b, base64_encoded_len(BASE64_STD, n)); /* no cap but the value's own */
    json_t *s =
        base64_encode(BASE64_STD, p, n, &b) == 0 ? json_stringn_nocheck(buf_cstr(&b), b.len) : NULL;
    buf_cleanup(&b);
    return s;
}

json_t *ddb_av_b(const void *p, size_t n)
{
    if (!p && n > 0)
        return NULL;
    return ddb_av_wrap("B", b64_string(p, n));
}

json_t *ddb_av_bool(bool v)
{
    return ddb_av_wrap("BOOL", json_boolean(v));
}

json_t *ddb_av_null(void)
{
    return ddb_av_wrap("NULL", json_true());
}

json_t *ddb_av_l_new(json_t *list)
{
    if (!json_is_array(list)) {
        json_decref(list);
        return NULL;
    }
    for (size_t i = 0; i < json_array_size(list); i++) {
        if (ddb_av_type_of(json_array_get(list, i)) == DDB_AV_INVALID) {
            json_decref(list);
            return NULL;
        }
    }
    return ddb_av_wrap("L", list);
}

json_t *ddb_av_m_new(json_t *map)
{
    if (!json_is_object(map)) {
        json_decref(map);
        return NULL;
    }
    const char *name;
    json_t *av;
    json_object_foreach(map, name, av)
    {
        if (ddb_av_type_of(av) == DDB_AV_INVALID) {
            json_decref(map);
            return NULL;
        }
    }
    return ddb_av_wrap("M", map);
}

/* Element i of a set (a new JSON string), or NULL when it is missing or memory ran out. */
typedef json_t *set_element_fn(const void *set, size_t i);

/* {type: [element(set, 0) .. element(set, n - 1)]} for SS, NS and BS: NULL for no elements,
 * a missing one or no memory; the set validated. */
static json_t *set_of(const char *type, set_element_fn *element, const void *set, size_t n)
{
    if (n == 0 || !set)
        return NULL;
    json_t *arr = json_array();
    if (!arr)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (json_array_append_new(arr, element(set, i)) != 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return checked(ddb_av_wrap(type, arr));
}

static json_t *string_element(const void *set, size_t i)
{
    const char *s = ((const char *const *)set)[i];
    return s ? json_string(s) : NULL;
}

static json_t *i64_element(const void *set, size_t i)
{
    return i64_string(((const int64_t *)set)[i]);
}

/* The elements of a BS: n buffers and their lengths. */
typedef struct binary_set {
    const void *const *p;
    const size_t *len;
} binary_set;

static json_t *binary_element(const void *set, size_t i)
{
    const binary_set *b = set;
    return (b->p[i] || b->len[i] == 0) ? b64_string(b->p[i], b->len[i]) : NULL;
}

json_t *ddb_av_ss(const char *const *v, size_t n)
{
    return set_of("SS", string_element, v, n);
}

json_t *ddb_av_ns_str(const char *const *v, size_t n)
{
    return set_of("NS", string_element, v, n);
}

json_t *ddb_av_ns_i64(const int64_t *v, size_t n)
{
    return set_of("NS", i64_element, v, n);
}

json_t *ddb_av_bs(const void *const *p, const size_t *len, size_t n)
{
    if (!p || !len)
        return NULL;
    const binary_set b = { p, len };
    return set_of("BS", binary_element, &b, n);
}

/* ---- accessors ------------------------------------------------------------------------- */

/* The value under the type key when item[name] is an AV of type t (shallow). */
static json_t *typed(const json_t *item, const char *name, ddb_av_type t)
{
    if (!json_is_object(item) || !name)
        return NULL;
    json_t *av = json_object_get(item, name);
    json_t *v;
    if (ddb_av_type_of(av) != t || !ddb_av_single_member(av, &v))
        return NULL;
    return v;
}

const char *ddb_av_get_s(const json_t *item, const char *name)
{
    json_t *v = typed(item, name, DDB_AV_S);
    return v ? json_string_value(v) : NULL;
}

int ddb_av_get_i64(const json_t *item, const char *name, int64_t *out)
{
    json_t *v = typed(item, name, DDB_AV_N);
    ddb_av_num num;
    const char *why;
    int64_t r;
    if (!v || ddb_av_num_parse(json_string_value(v), json_string_length(v), &num, &why) != 0 ||
        ddb_av_num_to_i64(&num, &r) != 0)
        return -1;
    *out = r;
    return 0;
}

int ddb_av_get_bool(const json_t *item, const char *name, bool *out)
{
    json_t *v = typed(item, name, DDB_AV_BOOL);
    if (!v)
        return -1;
    *out = json_is_true(v);
    return 0;
}

int ddb_av_get_b(const json_t *item, const char *name, buf *out)
{
    json_t *v = typed(item, name, DDB_AV_B);
    if (!v)
        return -1;
    return base64_decode(BASE64_STD, (strv){ json_string_value(v), json_string_length(v) }, out,
                         NULL);
}
