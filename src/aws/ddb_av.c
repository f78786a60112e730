/* ddb_av.c — DynamoDB AttributeValue marshalling: building, validating, reading and
 * converting the {"S": ...} JSON values of DynamoDB's wire format. */
#include "config.h"
#include "aws/ddb_av.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base64.h"
#include "base/utf8.h"

#define AV_MAX_DEPTH 32         /* DynamoDB nests L and M at most 32 levels deep */
#define NUM_MAX_DIGITS 38       /* significant digits of a DynamoDB number */
#define NUM_MAX_ADJ 125         /* largest magnitude 9.99...E+125 */
#define NUM_MIN_ADJ (-130)      /* smallest magnitude 1E-130 */
#define NUM_NORM_MAX 48         /* "-" + 38 digits + "e-130" + NUL, with room */
#define SHOW_MAX 48             /* bytes of a bad value or a name shown in a message */

static const char *const type_keys[] = {
    [DDB_AV_INVALID] = "?",
    [DDB_AV_S] = "S", [DDB_AV_N] = "N", [DDB_AV_B] = "B", [DDB_AV_BOOL] = "BOOL",
    [DDB_AV_NULL] = "NULL", [DDB_AV_L] = "L", [DDB_AV_M] = "M", [DDB_AV_SS] = "SS",
    [DDB_AV_NS] = "NS", [DDB_AV_BS] = "BS",
};

/* ---- numbers --------------------------------------------------------------------------- */

/* A parsed DynamoDB number: value = (-1)^neg * 0.D1D2..Dn * 10^(adj + 1), i.e. adj is the
 * power of ten of the first significant digit. Zero has no digits. */
typedef struct ddb_num {
    bool neg;
    int ndigits;
    long long adj;
    char digits[NUM_MAX_DIGITS + 1];
} ddb_num;

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Parses number text; 0, or -1 with *why set to the reason ("is not a number", ...). */
static int num_parse(const char *s, size_t len, ddb_num *out, const char **why)
{
    const long long exp_cap = 1000000000000LL;   /* saturate: far beyond any valid range */
    size_t i = 0;
    long long pos = 0;          /* index of the current mantissa digit */
    long long int_len = 0;      /* mantissa digits before the point */
    long long first = -1;       /* index of the first non-zero digit */
    long long pending_zeros = 0;
    long long exp = 0;
    bool seen_point = false;

    memset(out, 0, sizeof *out);
    *why = "is not a number";
    if (i < len && (s[i] == '+' || s[i] == '-'))
        out->neg = s[i++] == '-';
    for (; i < len; i++) {
        char c = s[i];
        if (c == '.' && !seen_point) {
            seen_point = true;
            continue;
        }
        if (!is_digit(c))
            break;
        if (!seen_point)
            int_len++;
        if (c == '0') {
            if (first >= 0)
                pending_zeros++;
        } else {
            if (first < 0)
                first = pos;
            if (out->ndigits + pending_zeros + 1 > NUM_MAX_DIGITS) {
                *why = "has more than 38 significant digits";
                return -1;
            }
            for (; pending_zeros > 0; pending_zeros--)
                out->digits[out->ndigits++] = '0';
            out->digits[out->ndigits++] = c;
        }
        pos++;
    }
    if (pos == 0)
        return -1;
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        bool eneg = false;
        i++;
        if (i < len && (s[i] == '+' || s[i] == '-'))
            eneg = s[i++] == '-';
        if (i >= len || !is_digit(s[i]))
            return -1;
        for (; i < len && is_digit(s[i]); i++) {
            if (exp < exp_cap)
                exp = exp * 10 + (s[i] - '0');
        }
        if (eneg)
            exp = -exp;
    }
    if (i != len)
        return -1;
    out->digits[out->ndigits] = '\0';
    if (first < 0) {            /* zero, whatever its sign and exponent */
        out->neg = false;
        out->adj = 0;
        return 0;
    }
    out->adj = int_len - 1 - first + exp;
    if (out->adj > NUM_MAX_ADJ || out->adj < NUM_MIN_ADJ) {
        *why = "is out of range (1E-130 to 9.9999999999999999999999999999999999999E+125)";
        return -1;
    }
    return 0;
}

static bool num_valid(const char *s, size_t len)
{
    ddb_num num;
    const char *why;
    return num_parse(s, len, &num, &why) == 0;
}

/* The canonical text of a number: equal values give equal text. */
static void num_normal(const ddb_num *num, char out[NUM_NORM_MAX])
{
    if (num->ndigits == 0)
        snprintf(out, NUM_NORM_MAX, "0");
    else
        snprintf(out, NUM_NORM_MAX, "%s%se%lld", num->neg ? "-" : "", num->digits, num->adj);
}

/* The number as int64 when it is an integer in range; 0 or -1. */
static int num_to_i64(const ddb_num *num, int64_t *out)
{
    if (num->ndigits == 0) {
        *out = 0;
        return 0;
    }
    if (num->adj < num->ndigits - 1 || num->adj > 18)
        return -1;
    uint64_t u = 0;
    for (int i = 0; i < num->ndigits; i++)
        u = u * 10 + (uint64_t)(num->digits[i] - '0');   /* at most 19 digits: no wrap */
    for (long long k = num->adj - (num->ndigits - 1); k > 0; k--) {
        if (u > UINT64_MAX / 10)
            return -1;
        u *= 10;
    }
    if (num->neg) {
        if (u > (uint64_t)INT64_MAX + 1)
            return -1;
        *out = u == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)u;
    } else {
        if (u > (uint64_t)INT64_MAX)
            return -1;
        *out = (int64_t)u;
    }
    return 0;
}

/* The nearest double; the text handed to strtod has no decimal point, so the locale does
 * not matter. Always finite for a valid DynamoDB number. */
static double num_to_double(const ddb_num *num)
{
    char t[NUM_NORM_MAX + 8];
    if (num->ndigits == 0)
        return 0.0;
    snprintf(t, sizeof t, "%s%se%lld", num->neg ? "-" : "", num->digits,
             num->adj - (num->ndigits - 1));
    return strtod(t, NULL);
}

/* printf's %g output made locale-proof: a decimal comma becomes a point. */
static void fix_radix(char *s)
{
    for (; *s; s++) {
        if (*s == ',')
            *s = '.';
    }
}

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
__attribute__((format(printf, 2, 3)))
static size_t path_push(av_path *p, const char *fmt, ...)
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

__attribute__((format(printf, 4, 5)))
static int path_fail(errinfo *e, const av_path *p, enum err_code code, const char *fmt, ...)
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

/* ---- type keys ------------------------------------------------------------------------- */

static ddb_av_type type_from_key(const char *key)
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
static bool shape_ok(ddb_av_type t, const json_t *v)
{
    switch (t) {
    case DDB_AV_S:
    case DDB_AV_N:
    case DDB_AV_B:
        return json_is_string(v);
    case DDB_AV_BOOL:
        return json_is_boolean(v);
    case DDB_AV_NULL:
        return json_is_true(v);
    case DDB_AV_L:
    case DDB_AV_SS:
    case DDB_AV_NS:
    case DDB_AV_BS:
        return json_is_array(v);
    case DDB_AV_M:
        return json_is_object(v);
    case DDB_AV_INVALID:
        break;
    }
    return false;
}

/* The single member of av when it is an object with exactly one key. */
static const char *single_member(const json_t *av, json_t **val)
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
    const char *key = single_member(av, &v);
    if (!key)
        return DDB_AV_INVALID;
    ddb_av_type t = type_from_key(key);
    return t != DDB_AV_INVALID && shape_ok(t, v) ? t : DDB_AV_INVALID;
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
    const char *tn = type_keys[t];
    size_t n = json_array_size(arr);
    set_key *keys = NULL;
    char (*norm)[NUM_NORM_MAX] = NULL;
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
            ddb_num num;
            const char *why;
            if (num_parse(s, len, &num, &why) != 0) {
                show(shown, sizeof shown, s, len);
                path_fail(e, path, ERR_INVALID, "%s %s", shown, why);
                goto out;
            }
            num_normal(&num, norm[i]);
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
        if (keys[i - 1].len == keys[i].len
            && (keys[i].len == 0 || memcmp(keys[i - 1].p, keys[i].p, keys[i].len) == 0)) {
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
    const char *key = single_member(av, &v);
    ddb_av_type t = type_from_key(key);
    if (t == DDB_AV_INVALID) {
        char k[SHOW_MAX + 16];
        show(k, sizeof k, key, strlen(key));
        return path_fail(e, path, ERR_INVALID, "unknown type key %s", k);
    }
    const char *tn = type_keys[t];
    if (!shape_ok(t, v)) {
        if (t == DDB_AV_NULL && json_is_false(v))
            return path_fail(e, path, ERR_INVALID, "NULL must be true");
        static const char *const want[] = {
            [DDB_AV_S] = "a string", [DDB_AV_N] = "a string", [DDB_AV_B] = "a string",
            [DDB_AV_BOOL] = "true or false", [DDB_AV_NULL] = "true", [DDB_AV_L] = "an array",
            [DDB_AV_M] = "an object", [DDB_AV_SS] = "an array", [DDB_AV_NS] = "an array",
            [DDB_AV_BS] = "an array",
        };
        return path_fail(e, path, ERR_INVALID, "%s value must be %s", tn, want[t]);
    }
    if ((t == DDB_AV_L || t == DDB_AV_M) && depth + 1 > AV_MAX_DEPTH)
        return path_fail(e, path, ERR_INVALID, "nested deeper than %d levels", AV_MAX_DEPTH);

    switch (t) {
    case DDB_AV_S:
        if (!utf8_valid(json_string_value(v), json_string_length(v)))
            return path_fail(e, path, ERR_INVALID, "S is not valid UTF-8");
        return 0;
    case DDB_AV_N: {
        ddb_num num;
        const char *why;
        if (num_parse(json_string_value(v), json_string_length(v), &num, &why) != 0) {
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
    case DDB_AV_NULL:
        return 0;
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
        json_object_foreach(v, name, sub) {
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
    case DDB_AV_BS:
        return check_set(t, v, path, e);
    case DDB_AV_INVALID:
        break;
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
    json_object_foreach((json_t *)item, name, av) {
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

/* ---- constructors ---------------------------------------------------------------------- */

/* {key: v}; steals v (NULL passes through as failure). */
static json_t *wrap(const char *key, json_t *v)
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
    return s ? wrap("S", json_string(s)) : NULL;
}

json_t *ddb_av_s_len(const char *s, size_t len)
{
    return s ? wrap("S", json_stringn(s, len)) : NULL;
}

json_t *ddb_av_n_i64(int64_t n)
{
    char t[24];
    snprintf(t, sizeof t, "%" PRId64, n);
    return wrap("N", json_string_nocheck(t));
}

json_t *ddb_av_n_str(const char *number)
{
    if (!number || !num_valid(number, strlen(number)))
        return NULL;
    return wrap("N", json_string_nocheck(number));
}

/* The standard padded base64 of p[0..n) as a new JSON string, or NULL. */
static json_t *b64_string(const void *p, size_t n)
{
    buf b;
    buf_init(&b, base64_encoded_len(BASE64_STD, n)); /* no cap but the value's own */
    json_t *s = base64_encode(BASE64_STD, p, n, &b) == 0 ? json_stringn_nocheck(buf_cstr(&b), b.len)
                                                         : NULL;
    buf_cleanup(&b);
    return s;
}

json_t *ddb_av_b(const void *p, size_t n)
{
    if (!p && n > 0)
        return NULL;
    return wrap("B", b64_string(p, n));
}

json_t *ddb_av_bool(bool v)
{
    return wrap("BOOL", json_boolean(v));
}

json_t *ddb_av_null(void)
{
    return wrap("NULL", json_true());
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
    return wrap("L", list);
}

json_t *ddb_av_m_new(json_t *map)
{
    if (!json_is_object(map)) {
        json_decref(map);
        return NULL;
    }
    const char *name;
    json_t *av;
    json_object_foreach(map, name, av) {
        if (ddb_av_type_of(av) == DDB_AV_INVALID) {
            json_decref(map);
            return NULL;
        }
    }
    return wrap("M", map);
}

/* {type: [strings...]} for SS and NS: every element present, the set validated. */
static json_t *string_set(const char *type, const char *const *v, size_t n)
{
    if (n == 0 || !v)
        return NULL;
    json_t *arr = json_array();
    if (!arr)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (!v[i] || json_array_append_new(arr, json_string(v[i])) != 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return checked(wrap(type, arr));
}

json_t *ddb_av_ss(const char *const *v, size_t n)
{
    return string_set("SS", v, n);
}

json_t *ddb_av_ns_str(const char *const *v, size_t n)
{
    return string_set("NS", v, n);
}

json_t *ddb_av_ns_i64(const int64_t *v, size_t n)
{
    if (n == 0 || !v)
        return NULL;
    json_t *arr = json_array();
    if (!arr)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        char t[24];
        snprintf(t, sizeof t, "%" PRId64, v[i]);
        if (json_array_append_new(arr, json_string_nocheck(t)) != 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return checked(wrap("NS", arr));
}

json_t *ddb_av_bs(const void *const *p, const size_t *len, size_t n)
{
    if (n == 0 || !p || !len)
        return NULL;
    json_t *arr = json_array();
    if (!arr)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        json_t *s = (p[i] || len[i] == 0) ? b64_string(p[i], len[i]) : NULL;
        if (json_array_append_new(arr, s) != 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return checked(wrap("BS", arr));
}

/* ---- accessors ------------------------------------------------------------------------- */

/* The value under the type key when item[name] is an AV of type t (shallow). */
static json_t *typed(const json_t *item, const char *name, ddb_av_type t)
{
    if (!json_is_object(item) || !name)
        return NULL;
    json_t *av = json_object_get(item, name);
    json_t *v;
    if (ddb_av_type_of(av) != t || !single_member(av, &v))
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
    ddb_num num;
    const char *why;
    int64_t r;
    if (!v || num_parse(json_string_value(v), json_string_length(v), &num, &why) != 0
        || num_to_i64(&num, &r) != 0)
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

/* ---- plain JSON ------------------------------------------------------------------------ */

/* An N text as plain JSON: integer, exact real, or the text itself. */
static json_t *plain_number(const char *s, size_t len)
{
    ddb_num num, back;
    const char *why;
    int64_t i;
    if (num_parse(s, len, &num, &why) != 0)
        return NULL;
    if (num_to_i64(&num, &i) == 0)
        return json_integer((json_int_t)i);
    double d = num_to_double(&num);
    char t[40];
    snprintf(t, sizeof t, "%.17g", d);
    fix_radix(t);
    char a[NUM_NORM_MAX], b[NUM_NORM_MAX];
    if (isfinite(d) && num_parse(t, strlen(t), &back, &why) == 0) {
        num_normal(&num, a);
        num_normal(&back, b);
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
    if (!single_member(av, &v))
        return NULL;
    ddb_av_type t = ddb_av_type_of(av);
    switch (t) {
    case DDB_AV_S:
    case DDB_AV_B:
        return json_stringn_nocheck(json_string_value(v), json_string_length(v));
    case DDB_AV_N:
        return plain_number(json_string_value(v), json_string_length(v));
    case DDB_AV_BOOL:
        return json_boolean(json_is_true(v));
    case DDB_AV_NULL:
        return json_null();
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
        json_object_foreach(v, name, sub) {
            if (json_object_set_new(out, name, plain_of(sub)) != 0) {
                json_decref(out);
                return NULL;
            }
        }
        return out;
    }
    case DDB_AV_SS:
    case DDB_AV_BS:
        return plain_strings(v, false);
    case DDB_AV_NS:
        return plain_strings(v, true);
    case DDB_AV_INVALID:
        break;
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
    json_object_foreach((json_t *)item, name, av) {
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
        ddb_num num;
        const char *why;
        snprintf(t, sizeof t, "%.*g", prec, d);
        fix_radix(t);
        if (num_parse(t, strlen(t), &num, &why) != 0)
            return NULL;        /* out of DynamoDB's range */
        if (num_to_double(&num) == d)
            return ddb_av_n_str(t);
    }
    return NULL;
}

static json_t *from_plain(const json_t *v, int depth)
{
    switch (json_typeof(v)) {
    case JSON_STRING:
        return wrap("S", json_stringn(json_string_value(v), json_string_length(v)));
    case JSON_INTEGER:
        return ddb_av_n_i64((int64_t)json_integer_value(v));
    case JSON_REAL:
        return av_from_real(json_real_value(v));
    case JSON_TRUE:
        return ddb_av_bool(true);
    case JSON_FALSE:
        return ddb_av_bool(false);
    case JSON_NULL:
        return ddb_av_null();
    case JSON_ARRAY: {
        if (depth + 1 > AV_MAX_DEPTH)
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
        return wrap("L", list);
    }
    case JSON_OBJECT: {
        if (depth + 1 > AV_MAX_DEPTH)
            return NULL;
        json_t *map = json_object();
        const char *name;
        json_t *sub;
        if (!map)
            return NULL;
        json_object_foreach((json_t *)v, name, sub) {
            if (json_object_set_new(map, name, from_plain(sub, depth + 1)) != 0) {
                json_decref(map);
                return NULL;
            }
        }
        return wrap("M", map);
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
    json_object_foreach((json_t *)obj, name, v) {
        if (name[0] == '\0' || json_object_set_new(item, name, from_plain(v, 0)) != 0) {
            json_decref(item);
            return NULL;
        }
    }
    return item;
}
