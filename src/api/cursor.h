/* cursor.h — opaque paging cursors for the API (?cursor=, X-Next-Cursor): a DynamoDB
 * LastEvaluatedKey of one partition, as base64url(version byte 0x01 + compact JSON
 * {"pk":"..","sk":".."}), and the ?limit=/?cursor= query parameters of a page request.
 * Pure: no I/O. */
#ifndef CR_CURSOR_H
#define CR_CURSOR_H

#include <stddef.h>

#include <jansson.h>

#include "base/buf.h"
#include "base/errinfo.h"

#define CURSOR_VERSION 1
#define CURSOR_MAX_LEN 1024 /* longest encoded cursor accepted (and written), bytes */
#define CURSOR_KEY_MAX 256  /* longest pk or sk a cursor may carry */

/* Encodes a LastEvaluatedKey ({"pk":{"S":..},"sk":{"S":..}}, borrowed) into out (outlen
 * bytes, NUL-terminated). 0, or -1 with e set (ERR_INVALID: other attributes or types, or
 * a key outside CURSOR_KEY_MAX; ERR_TOOBIG: does not fit in outlen). */
int cursor_encode(const json_t *last_key, char *out, size_t outlen, errinfo *e);
/* The same from the key's two strings (pk[0..pklen), sk[0..sklen): UTF-8 without NUL). */
int cursor_encode_pair(const char *pk, size_t pklen, const char *sk, size_t sklen, char *out,
                       size_t outlen, errinfo *e);

/* Decodes text into a new ExclusiveStartKey {"pk":{"S":..},"sk":{"S":..}} (caller owns
 * *start_key). The cursor must be at most CURSOR_MAX_LEN bytes of strict base64url, carry
 * version CURSOR_VERSION and a JSON object with exactly the string members pk and sk
 * (1..CURSOR_KEY_MAX bytes each), and pk must equal expect_pk (a cursor of another
 * partition is refused). 0, or -1 with e set (ERR_INVALID, reason safe to show) and
 * *start_key NULL. */
int cursor_decode(strv text, const char *expect_pk, json_t **start_key, errinfo *e);

/* The paging parameters of a query string ("limit=20&cursor=..", no '?'). */
typedef struct cursor_page_args {
    int limit;         /* 1..max; dflt when absent */
    json_t *start_key; /* owned; NULL when no cursor was given */
} cursor_page_args;

/* Parses limit (decimal 1..max) and cursor (cursor_decode against expect_pk) out of query;
 * other parameters are ignored, a repeated limit or cursor is refused. 0 with *out filled
 * (release with cursor_page_args_cleanup), or -1 with e set (ERR_INVALID; the message
 * names the parameter) and *out empty. */
int cursor_page_args_parse(strv query, const char *expect_pk, int dflt, int max,
                           cursor_page_args *out, errinfo *e);
void cursor_page_args_cleanup(cursor_page_args *a); /* accepts NULL */

#endif
