/* fuzz_http.c — the raw HTTP/1.1 answer parser (aws/http1.h: status line, headers,
 * Content-Length, chunked, read-to-close, 1xx skipped) on any bytes, fed in pieces the way
 * recv delivers them. The first input byte picks HEAD or not and the piece sizes; the rest
 * is the answer. Invariants: the outcome is one of the four, a complete answer has a final
 * status in 200..599 and a body within the cap (exactly Content-Length when one was given,
 * empty for HEAD, 204 and 304), the parse never reads past what arrived, and feeding the
 * bytes in pieces gives the same outcome, status and body as feeding them all at once. */
#include "config.h"

#include "aws/http1.h"
#include "fuzz.h"

#define FUZZ_HTTP_MAX_INPUT (32 * 1024)
#define FUZZ_HTTP_MAX_BODY ((size_t)8 * 1024)

typedef struct fuzz_http_outcome {
    int r;
    long status;
    bool close;
    http_response resp;
} fuzz_http_outcome;

/* Feeds in[0..n) in pieces of step bytes (all at once for step 0), then eof, as the raw
 * exchange does: stops at the first outcome that is not HTTP1_MORE. */
static void fuzz_http_feed(const uint8_t *in, size_t n, size_t step, bool is_head,
                           fuzz_http_outcome *o)
{
    http1_parse st = { 0 };
    char *b = malloc(n ? n : 1); /* exactly what arrived so far is readable */
    FUZZ_CHECK(b != NULL);
    size_t have = 0, fed = 0;
    http_response_init(&o->resp);
    o->resp.body.max = FUZZ_HTTP_MAX_BODY;
    for (;;) {
        bool eof = fed == n;
        size_t before = have;
        int r = http1_parse_bytes(&st, b, &have, FUZZ_HTTP_MAX_BODY, is_head, eof, &o->resp);
        FUZZ_CHECK(have <= before);
        FUZZ_CHECK(r == 0 || r == HTTP1_MORE || r == HTTP1_BAD || r == HTTP1_BIG);
        FUZZ_CHECK(!(eof && r == HTTP1_MORE));
        if (r != HTTP1_MORE) {
            o->r = r;
            o->status = st.status;
            o->close = st.close;
            if (r == 0) {
                FUZZ_CHECK(st.status >= 200 && st.status <= 599);
                FUZZ_CHECK(o->resp.body.len <= FUZZ_HTTP_MAX_BODY);
                if (st.no_body)
                    FUZZ_CHECK(o->resp.body.len == 0);
                else if (st.has_length)
                    FUZZ_CHECK(o->resp.body.len == st.length);
                if (is_head || st.status == 204 || st.status == 304)
                    FUZZ_CHECK(o->resp.body.len == 0);
            }
            FUZZ_CHECK(strlen(o->resp.amz_crc32) < sizeof o->resp.amz_crc32);
            FUZZ_CHECK(strlen(o->resp.request_id) < sizeof o->resp.request_id);
            break;
        }
        size_t k = step == 0 || n - fed < step ? n - fed : step;
        /* a shrinking parse keeps the kept bytes at the front; grow the copy by k */
        char *nb = malloc(have + k ? have + k : 1);
        FUZZ_CHECK(nb != NULL);
        memcpy(nb, b, have);
        memcpy(nb + have, in + fed, k);
        free(b);
        b = nb;
        have += k;
        fed += k;
    }
    free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > FUZZ_HTTP_MAX_INPUT)
        return 0;
    bool is_head = data[0] & 1;
    size_t step = (size_t)(data[0] >> 1) + 1; /* 1..128 bytes a piece */
    data++;
    size--;
    fuzz_http_outcome whole, pieces;
    fuzz_http_feed(data, size, 0, is_head, &whole);
    fuzz_http_feed(data, size, step, is_head, &pieces);
    FUZZ_CHECK(whole.r == pieces.r);
    if (whole.r == 0) {
        FUZZ_CHECK(whole.status == pieces.status);
        FUZZ_CHECK(whole.resp.body.len == pieces.resp.body.len);
        FUZZ_CHECK(whole.resp.body.len == 0 ||
                   memcmp(whole.resp.body.data, pieces.resp.body.data, whole.resp.body.len) == 0);
        FUZZ_CHECK(strcmp(whole.resp.amz_crc32, pieces.resp.amz_crc32) == 0);
        FUZZ_CHECK(strcmp(whole.resp.request_id, pieces.resp.request_id) == 0);
    }
    http_response_cleanup(&whole.resp);
    http_response_cleanup(&pieces.resp);
    return 0;
}
