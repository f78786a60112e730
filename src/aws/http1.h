/* http1.h — HTTP/1.1 for the raw path as pure functions over bytes (no sockets; private to
 * src/aws/http*.c, the unit tests and the fuzz target): the request written as libcurl would
 * send it, and the answer parsed as its bytes arrive — the status line and headers, then a
 * Content-Length, chunked (extensions, trailers) or read-to-close body; interim 1xx answers
 * are skipped. */
#ifndef CR_HTTP1_H
#define CR_HTTP1_H

#include <stdbool.h>
#include <stddef.h>

#include "aws/http.h"
#include "base/buf.h"
#include "base/errinfo.h"

#define HTTP1_HEAD_MAX ((size_t)64 << 10) /* status line and headers of one answer */
#define HTTP1_LINE_MAX 4096               /* a chunk-size or trailer line */

/* Writes the request into o (reset first): "METHOD target HTTP/1.1", a Host line unless
 * headers has one, the header lines ("Name:" alone drops a header, "Name;" sends it empty,
 * as with CURLOPT_HTTPHEADER), Content-Length unless a body-less GET, the body. 0; -1 with
 * e set: ERR_INVALID for a header line holding CR or LF, ERR_TOOBIG past o's cap. */
int http1_request_write(buf *o, const char *method, const char *host, const char *target,
                        const char *const *headers, const void *body, size_t body_len, errinfo *e);

/* The parse of one answer as its bytes arrive; start from a zeroed struct. */
typedef struct http1_parse {
    size_t head_end; /* offset of the body; 0 until the header is complete */
    size_t scan;     /* where to look for the end of the header next */
    long status;
    int minor; /* HTTP/1.<minor> */
    bool has_length, chunked, no_body, close;
    size_t length;
    size_t pos; /* chunked: the next undecoded byte */
    size_t chunk_left;
    int cstate; /* chunked: 0 size line, 1 data, 2 CRLF after data, 3 trailer */
} http1_parse;

/* What the parse functions return: HTTP1_DONE (0) when the answer (or the part asked for)
 * is complete, HTTP1_MORE when more bytes are needed, HTTP1_BAD for a malformed or truncated
 * answer, HTTP1_BIG past the size cap. */
typedef enum http1_status {
    HTTP1_DONE = 0,
    HTTP1_MORE,
    HTTP1_BAD,
    HTTP1_BIG
} http1_status;

/* Parses the status line and headers in in[0..end) (end: the offset of the blank line's
 * CRLF) into st (status, minor, has_length/length, chunked, close, no_body: HEAD, 1xx, 204,
 * 304), copying x-amz-crc32 and x-amzn-requestid into resp. HTTP1_DONE or HTTP1_BAD (a bad
 * status line, a line without a name, a Content-Length not all digits, over 15 digits or
 * disagreeing with another, a Transfer-Encoding other than chunked). */
int http1_parse_head(http1_parse *st, const char *in, size_t end, bool is_head,
                     http_response *resp);

/* Decodes what has arrived of a chunked body, in[st->pos..len), into resp->body, advancing
 * st->pos and st->cstate. HTTP1_DONE after the last chunk and the trailer's blank line,
 * HTTP1_MORE, HTTP1_BAD (a size that is not hex, a line without CRLF or over
 * HTTP1_LINE_MAX, data not followed by CRLF), HTTP1_BIG when resp->body is full. */
int http1_dechunk(http1_parse *st, const char *in, size_t len, http_response *resp);

/* Advances the parse of one answer over in[0..*in_len), the bytes received so far (eof: the
 * peer closed, nothing more comes). HTTP1_DONE when the answer is complete (st->status, the
 * body appended to resp->body, st->close: the connection must not be reused — HTTP/1.0
 * without keep-alive, Connection: close, read-to-close, bytes past the answer), else as
 * above (HTTP1_BIG past max_response_bytes or resp->body's cap; the header past
 * HTTP1_HEAD_MAX is HTTP1_BAD). It may drop bytes it has consumed (an interim 1xx answer,
 * decoded chunks) by moving the rest down and lowering *in_len; call it again with the same
 * st after appending more. A chunk-size or trailer line over HTTP1_LINE_MAX is malformed
 * whether it has arrived whole or not, so the verdict never depends on how the bytes were
 * split. Never reads at or past in + *in_len. */
int http1_parse_bytes(http1_parse *st, char *in, size_t *in_len, size_t max_response_bytes,
                      bool is_head, bool eof, http_response *resp);

/* Copies the value of the header line "Name: value\r\n" (len bytes) into out (outlen bytes,
 * cut to fit, NUL-terminated) when its name is `name` (any case); out unchanged otherwise. */
void http1_capture(const char *line, size_t len, const char *name, char *out, size_t outlen);

#endif
