/* base64.h — strict base64 (RFC 4648) in the two forms the system uses: the standard
 * alphabet padded (DynamoDB B and BS values) and the url-safe alphabet unpadded (JWS parts,
 * JWK members, API cursors). Decoding accepts exactly one encoding per value: no whitespace,
 * no characters outside the alphabet, padding only as the form requires, zero unused bits. */
#ifndef CR_BASE64_H
#define CR_BASE64_H

#include <stddef.h>

#include "base/buf.h"
#include "base/errinfo.h"

typedef enum base64_kind {
    BASE64_STD, /* section 4: A-Z a-z 0-9 + /, '=' pads to a multiple of 4 (required) */
    BASE64_URL, /* section 5: A-Z a-z 0-9 - _, no padding (a '=' is rejected) */
} base64_kind;

/* Bytes the encoding of n bytes takes (no NUL), or SIZE_MAX when it does not fit a size_t. */
size_t base64_encoded_len(base64_kind k, size_t n);

/* Appends the encoding of p[0..n) to out (p may be NULL when n is 0). 0, or -1 when out's
 * cap is hit or memory runs out (out's contents unchanged). */
int base64_encode(base64_kind k, const void *p, size_t n, buf *out);

/* The 6-bit value of c in k's alphabet, or -1 (always for '='). */
int base64_value(base64_kind k, unsigned char c);

/* Checks s[0..len) and decodes it into out, which must have room for len / 4 * 3 bytes
 * (len / 4 * 3 + 2 for BASE64_URL); out NULL only checks. 0 with *outlen set, or -1 when
 * s is not the one canonical encoding of anything (out's contents then undefined). */
int base64_decode_raw(base64_kind k, const char *s, size_t len, unsigned char *out, size_t *outlen);

/* Appends the decoding of in to out. 0, or -1 with out unchanged and e set: ERR_INVALID
 * ("not canonical padded base64" / "not canonical unpadded base64url"), ERR_TOOBIG when
 * out's cap is hit or memory runs out. */
int base64_decode(base64_kind k, strv in, buf *out, errinfo *e);

#endif
