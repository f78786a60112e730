/* http_internal.h — the raw path's answer parser (status line, headers, Content-Length,
 * chunked, read-to-close, 1xx skipped) as a pure function over the bytes received so far,
 * exposed for the unit tests and the fuzz targets. */
#ifndef CR_HTTP_INTERNAL_H
#define CR_HTTP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "aws/http.h"

/* The parse of one answer as its bytes arrive; start from a zeroed struct. */
typedef struct http_raw_state {
    size_t head_end;              /* offset of the body; 0 until the header is complete */
    size_t scan;                  /* where to look for the end of the header next */
    long status;
    int minor;                    /* HTTP/1.<minor> */
    bool has_length, chunked, no_body, close;
    size_t length;
    size_t pos;                   /* chunked: the next undecoded byte */
    size_t chunk_left;
    int cstate;                   /* chunked: 0 size line, 1 data, 2 CRLF after data, 3 trailer */
} http_raw_state;

/* What http_raw_parse_bytes returns besides 0 (the answer is complete). */
enum { HTTP_RAW_MORE = 1, HTTP_RAW_BAD = 2, HTTP_RAW_BIG = 3 };

/* Advances the parse of one answer over in[0..*in_len), the bytes received so far (eof: the
 * peer closed, nothing more comes). Returns 0 when the answer is complete (st->status, the
 * body appended to resp->body, st->close: the connection must not be reused), HTTP_RAW_MORE
 * when more bytes are needed, HTTP_RAW_BAD for a malformed or truncated answer, HTTP_RAW_BIG
 * past max_response_bytes (or resp->body's cap). It may drop bytes it has consumed (an
 * interim 1xx answer, decoded chunks) by moving the rest down and lowering *in_len; call it
 * again with the same st after appending more. x-amz-crc32 and x-amzn-requestid are copied
 * into resp. A chunk-size or trailer line over 4096 bytes is malformed, whether it has
 * arrived whole or not. Never reads at or past in + *in_len. */
int http_raw_parse_bytes(http_raw_state *st, char *in, size_t *in_len, size_t max_response_bytes,
                         bool is_head, bool eof, http_response *resp);

#endif
