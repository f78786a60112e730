/* sigv4_internal.h — the canonicalisation stages of sigv4.c, exposed for the unit tests only. */
#ifndef CR_SIGV4_INTERNAL_H
#define CR_SIGV4_INTERNAL_H

#include <stdbool.h>

#include "base/buf.h"
#include "base/errinfo.h"

/* Hard limits on the input; a request past any of them is refused with ERR_TOOBIG. */
#define SIGV4_MAX_HEADERS 64       /* headers in the request (the signer adds up to 3) */
#define SIGV4_MAX_QUERY_PARAMS 128 /* parameters in the query (presigning adds up to 6) */
#define SIGV4_MAX_PATH 8192        /* bytes of path */
#define SIGV4_MAX_QUERY 16384      /* bytes of query */
#define SIGV4_MAX_HEADER_NAME 256
#define SIGV4_MAX_HEADER_VALUE 16384
#define SIGV4_MAX_TOKEN 16384 /* bytes of session token */
#define SIGV4_MAX_PAYLOAD ((size_t)64 << 20)

/* Appends s percent-encoded the SigV4 way: A-Za-z0-9-._~ kept, every other byte as %XX
 * (uppercase hex); '/' kept when keep_slash. 0, or -1 when out is full. */
int sigv4_uri_encode(buf *out, strv s, bool keep_slash);

/* Appends the canonical URI of path (which must start with '/'): with normalize, dot
 * segments removed and runs of '/' folded; each segment encoded as by sigv4_uri_encode, so
 * a '%' already in the path is encoded again (AWS's double encoding for all but S3).
 * 0, or -1 with e set. */
int sigv4_canonical_uri(buf *out, strv path, bool normalize, errinfo *e);

/* Appends the canonical query of a raw query (no '?'): each key and value percent-decoded
 * then strictly encoded, "k" taken as "k=", empty parameters dropped, sorted by key then
 * value. 0, or -1 with e set. */
int sigv4_canonical_query(buf *out, strv query, errinfo *e);

/* How many signing keys the signer derived (4 HMACs each); the cache keeps one per day,
 * region, service and secret. */
struct sigv4_signer;
unsigned long sigv4_key_derivations(const struct sigv4_signer *s);

#endif
