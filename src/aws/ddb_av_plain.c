/* ddb_av_plain.c — AttributeValues to and from plain JSON (boto3's TypeDeserializer and
 * TypeSerializer shapes; see ddb_av.h). */
#include "config.h"
#include "aws/ddb_av.h"
#include "aws/ddb_av_internal.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- plain JSON ------------------------------------------------------------------------ */

/* An N text as plain JSON: integer, exact real, or the text itself. */
static json_t *plain_number(const char *s, size_t len)
{
    ddb_av_num num, back;
    const char *why;
    int64_t i;
    if (ddb_av_num_parse(s, len, &num, &why) != 0)
        return NULL;
    if (ddb_av_num_to_i64(&num, &i) == 0)
        return json_integer((json_int_t)i);
    double d = ddb_av_num_to_double(&num);
    char t[40];
    snprintf(t, sizeof t, "%.17g", d);
    ddb_av_fix_radix(t);
    char a[DDB_AV_NUM_NORM_MAX], b[DDB_AV_NUM_NORM_MAX];
    if (isfinite(d) && ddb_av_num_parse(t, strlen(t), &back, &why) == 0) {
        ddb_av_num_normal(&num, a);
        ddb_av_num_normal(&back, b);
        if (strcmp(a, b) == 0)
            return json_real(d);
    }
    return json_stringn_nocheck(s, len);
}

static json_t *plain_strings(const json_t *arr, bool numbers)
{
    json_t *out = json_array();
    if (!out)
        return NULL;
    for (size_t i = 0; i < json_array_size(arr); i++) {
        const json_t *el = json_array_get(arr, i);
        const char *s = json_string_value(el);
        size_t len = json_string_length(el);
        json_t *p = numbers ? plain_number(s, len) : json_stringn_nocheck(s, len);
        if (json_array_append_new(out, p) != 0) {
            json_decref(out);
            return NULL;
        }
    }
    return out;
}

/* Converts an AV already validated. */
static json_t *plain_of(const json_t *av)
{
    json_t *v;
    if (!ddb_av_single_member(av, &v))
        return NULL;
    ddb_av_type t = ddb_av_type_of(av);
    switch (t) {
    case DDB_AV_S:
    case DDB_AV_B: return json_stringn_nocheck(json_string_value(v), json_string_length(v));
    case DDB_AV_N: return plain_number(json_string_value(v), json_string_length(v));
    case DDB_AV_BOOL: return json_boolean(json_is_true(v));
    case DDB_AV_NULL: return json_null();
    case DDB_AV_L: {
        json_t *out = json_array();
        if (!out)
            return NULL;
        for (size_t i = 0; i < json_array_size(v); i++) {
            if (json_array_append_new(out, plain_of(json_array_get(v, i))) != 0) {
                json_decref(out);
                return NULL;
            }
        }
        return out;
    }
    case DDB_AV_M: {
        json_t *out = json_object();
        const char *name;
        json_t *sub;
        if (!out)
            return NULL;
        json_object_foreach(v, name, sub)
        {
            if (json_object_set_new(out, name, plain_of(sub)) != 0) {
                json_decref(out);
                return NULL;
            }
        }
        return out;
    }
    case DDB_AV_SS:
    case DDB_AV_BS: return plain_strings(v, false);
    case DDB_AV_NS: return plain_strings(v, true);
    case DDB_AV_INVALID: break;
    }
    return NULL;
}

json_t *ddb_av_to_plain(const json_t *av)
{
    if (ddb_av_validate(av, NULL) != 0)
        return NULL;
    return plain_of(av);
}

json_t *ddb_av_item_to_plain(const json_t *item)
{
    if (ddb_av_validate_item(item, NULL) != 0)
        return NULL;
    json_t *out = json_object();
    const char *name;
    json_t *av;
    if (!out)
        return NULL;
    json_object_foreach((json_t *)item, name, av)
    {
        if (json_object_set_new(out, name, plain_of(av)) != 0) {
            json_decref(out);
            return NULL;
        }
    }
    return out;
}

/* The shortest %g text that reads back as d (DynamoDB-valid or not). */
static json_t *av_from_real(double d)
{
    if (!isfinite(d))
        return NULL;
    char t[40];
    for (int prec = 15; prec <= 17; prec++) {
        ddb_av_num num;
        const char *why;
        snprintf(t, sizeof t, "%.*g", prec, d);
        ddb_av_fix_radix(t);
        if (ddb_av_num_parse(t, strlen(t), &num, &why) != 0)
            return NULL; /* out of DynamoDB's range */
        if (ddb_av_num_to_double(&num) == d)
            return ddb_av_n_str(t);
    }
    return NULL;
}

static json_t *from_plain(const json_t *v, int depth)
{
    switch (json_typeof(v)) {
    case JSON_STRING:
        return ddb_av_wrap("S", json_stringn(json_string_value(v), json_string_length(v)));
    case JSON_INTEGER: return ddb_av_n_i64((int64_t)json_integer_value(v));
    case JSON_REAL: return av_from_real(json_real_value(v));
    case JSON_TRUE: return ddb_av_bool(true);
    case JSON_FALSE: return ddb_av_bool(false);
    case JSON_NULL: return ddb_av_null();
    case JSON_ARRAY: {
        if (depth + 1 > DDB_AV_MAX_DEPTH)
            return NULL;
        json_t *list = json_array();
        if (!list)
            return NULL;
        for (size_t i = 0; i < json_array_size(v); i++) {
            if (json_array_append_new(list, from_plain(json_array_get(v, i), depth + 1)) != 0) {
                json_decref(list);
                return NULL;
            }
        }
        return ddb_av_wrap("L", list);
    }
    case JSON_OBJECT: {
        if (depth + 1 > DDB_AV_MAX_DEPTH)
            return NULL;
        json_t *map = json_object();
        const char *name;
        json_t *sub;
        if (!map)
            return NULL;
        json_object_foreach((json_t *)v, name, sub)
        {
            if (json_object_set_new(map, name, from_plain(sub, depth + 1)) != 0) {
                json_decref(map);
                return NULL;
            }
        }
        return ddb_av_wrap("M", map);
    }
    }
    return NULL;
}

json_t *ddb_av_from_plain(const json_t *v)
{
    return v ? from_plain(v, 0) : NULL;
}

json_t *ddb_av_item_from_plain(const json_t *obj)
{
    if (!json_is_object(obj))
        return NULL;
    json_t *item = json_object();
    const char *name;
    json_t *v;
    if (!item)
        return NULL;
    json_object_foreach((json_t *)obj, name, v)
    {
        if (name[0] == '\0' || json_object_set_new(item, name, from_plain(v, 0)) != 0) {
            json_decref(item);
            return NULL;
        }
    }
    return item;
}
