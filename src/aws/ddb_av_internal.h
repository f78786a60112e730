/* ddb_av_internal.h — what the parts of the AttributeValue module share (ddb_av.c: types,
 * constructors, accessors; ddb_av_num.c: numbers; ddb_av_check.c: validation;
 * ddb_av_plain.c: plain JSON). Private to src/aws/ddb_av*.c. */
#ifndef CR_DDB_AV_INTERNAL_H
#define CR_DDB_AV_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "aws/ddb_av.h"

#define DDB_AV_MAX_DEPTH 32      /* DynamoDB nests L and M at most 32 levels deep */
#define DDB_AV_NUM_MAX_DIGITS 38 /* significant digits of a DynamoDB number */
#define DDB_AV_NUM_NORM_MAX 48   /* "-" + 38 digits + "e-130" + NUL, with room */

/* ---- numbers (ddb_av_num.c) ---- */

/* A parsed DynamoDB number: value = (-1)^neg * 0.D1D2..Dn * 10^(adj + 1), i.e. adj is the
 * power of ten of the first significant digit. Zero has no digits. */
typedef struct ddb_av_num {
    bool neg;
    int ndigits;
    long long adj;
    char digits[DDB_AV_NUM_MAX_DIGITS + 1];
} ddb_av_num;

/* Parses number text s[0..len) under DynamoDB's rules (<= 38 significant digits, magnitude
 * 1E-130 .. 9.99..E+125); 0, or -1 with *why set to the reason ("is not a number", ...). */
int ddb_av_num_parse(const char *s, size_t len, ddb_av_num *out, const char **why);
bool ddb_av_num_valid(const char *s, size_t len);
/* The canonical text of a number: equal values give equal text. */
void ddb_av_num_normal(const ddb_av_num *num, char out[DDB_AV_NUM_NORM_MAX]);
/* The number as int64 when it is an integer in range; 0, or -1 with *out untouched. */
int ddb_av_num_to_i64(const ddb_av_num *num, int64_t *out);
/* The nearest double (finite for a valid number); the locale does not matter. */
double ddb_av_num_to_double(const ddb_av_num *num);
/* printf's %g output made locale-proof: a decimal comma becomes a point. */
void ddb_av_fix_radix(char *s);

/* ---- type keys and shapes (ddb_av.c) ---- */

/* The type named by key ("S", "N", ...), or DDB_AV_INVALID. */
ddb_av_type ddb_av_type_from_key(const char *key);
/* Whether the JSON value v has the shape type t wants (shallow). */
bool ddb_av_shape_ok(ddb_av_type t, const json_t *v);
/* The key of av's single member (its value borrowed into *val), or NULL when av is not an
 * object with exactly one member. */
const char *ddb_av_single_member(const json_t *av, json_t **val);
/* {key: v}; steals v (NULL passes through as failure). */
json_t *ddb_av_wrap(const char *key, json_t *v);

#endif
