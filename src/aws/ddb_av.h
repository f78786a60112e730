/* ddb_av.h — DynamoDB AttributeValue marshalling over Jansson values: constructors,
 * validation of values read from the wire, typed accessors on items, and conversion to
 * and from plain JSON. An "item" is a JSON object mapping attribute names to AVs.
 * (Implemented by ddb_av.c: types, constructors, accessors; ddb_av_num.c: number texts;
 * ddb_av_check.c: validation; ddb_av_plain.c: plain JSON.) */
#ifndef CR_DDB_AV_H
#define CR_DDB_AV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "base/buf.h"
#include "base/errinfo.h"

typedef enum ddb_av_type {
    DDB_AV_INVALID = 0,
    DDB_AV_S,
    DDB_AV_N,
    DDB_AV_B,
    DDB_AV_BOOL,
    DDB_AV_NULL,
    DDB_AV_L,
    DDB_AV_M,
    DDB_AV_SS,
    DDB_AV_NS,
    DDB_AV_BS,
} ddb_av_type;

/* Constructors: each returns a new reference, or NULL on ENOMEM or invalid input
 * (a NULL string, a malformed number, an empty set, a set with duplicates). */
json_t *ddb_av_s(const char *s);
json_t *ddb_av_s_len(const char *s, size_t len); /* must be valid UTF-8 */
json_t *ddb_av_n_i64(int64_t n);
json_t *ddb_av_n_str(const char *number);  /* validated DynamoDB number text */
json_t *ddb_av_b(const void *p, size_t n); /* base64 on the wire */
json_t *ddb_av_bool(bool v);
json_t *ddb_av_null(void);
json_t *ddb_av_l_new(json_t *list); /* steals list (array of AVs) */
json_t *ddb_av_m_new(json_t *map);  /* steals map (object of AVs) */
json_t *ddb_av_ss(const char *const *v, size_t n);
json_t *ddb_av_ns_i64(const int64_t *v, size_t n);
json_t *ddb_av_ns_str(const char *const *v, size_t n); /* number texts as for ddb_av_n_str */
json_t *ddb_av_bs(const void *const *p, const size_t *len, size_t n);

/* The type of av: DDB_AV_INVALID unless it is an object with exactly one known type key
 * whose JSON value has the right JSON type (shallow). */
ddb_av_type ddb_av_type_of(const json_t *av);
const char *ddb_av_type_name(ddb_av_type t); /* "S", "N", ... or "?" */

/* Deep validation of an AV from outside: types, number syntax (<= 38 significant digits,
 * magnitude 1E-130 .. 9.99..E+125), canonical padded base64, non-empty sets without
 * duplicates (NS compared by value, so "1" and "1.0" clash), L/M nesting <= 32. 0, or -1
 * with e set naming the path of the first bad value: attribute "msg".L[3]: N "1e" is ... */
int ddb_av_validate(const json_t *av, errinfo *e);
/* Every member of item validated as above. */
int ddb_av_validate_item(const json_t *item, errinfo *e);

/* Item accessors: borrow from item; NULL / -1 when the attribute is missing or of
 * another type, *out untouched. get_i64 takes any N whose value is an integer in int64
 * range ("7.0" and "1e3" too); get_b leaves out unchanged on failure (marked failed when
 * its cap was hit). */
const char *ddb_av_get_s(const json_t *item, const char *name);
int ddb_av_get_i64(const json_t *item, const char *name, int64_t *out);
int ddb_av_get_bool(const json_t *item, const char *name, bool *out);
int ddb_av_get_b(const json_t *item, const char *name, buf *out); /* decoded bytes appended */

/* Plain JSON, as boto3's TypeDeserializer gives it: S -> string, N -> integer when it fits
 * in int64 else real when exact (prints back with %.17g as the same number) else the
 * string ("0.1" stays "0.1"), B -> base64 string, BOOL, NULL, L -> array, M -> object,
 * sets -> arrays. New reference or NULL on invalid input / ENOMEM. */
json_t *ddb_av_to_plain(const json_t *av);
json_t *ddb_av_item_to_plain(const json_t *item);
/* The reverse for plain JSON: string -> S, integer -> N, real -> N in its shortest
 * round-trip text (NULL when outside DynamoDB's range), true/false -> BOOL, null -> NULL,
 * array -> L, object -> M (NULL deeper than 32 levels). */
json_t *ddb_av_from_plain(const json_t *v);
json_t *ddb_av_item_from_plain(const json_t *obj);

#endif
