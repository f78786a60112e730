/* fuzz_message.c — a POST /api/messages body to a message (api/messages.c): the body goes
 * through the same steps as api_messages_create (jparse at the same depth, the "message"
 * string, the code point count and the blank test of messaging_text_chars), and the raw
 * body through the UTF-8 check that picks 422 over 400. Invariants: the code point counter
 * agrees with a plain reference decoder written here (valid UTF-8 without NUL, a count of
 * code points, only white space), and never rejects a string jparse has accepted. */
#include "config.h"

#include <stdbool.h>
#include <stdlib.h>

#include "api/api.h"
#include "base/jparse.h"
#include "messaging/messaging.h"

#include "fuzz.h"

#define FUZZ_MESSAGE_MAX_INPUT (16 * 1024)

/* The reference: code points of s[0..n) as RFC 3629 defines valid UTF-8, NUL excluded;
 * -1 when invalid. *blank: only the white space messaging_text_chars calls blank. */
static long fuzz_message_ref(const unsigned char *s, size_t n, bool *blank)
{
    static const unsigned long spaces[] = { ' ',  '\t',   '\n',   0x0b,   0x0c,  '\r',
                                            0xa0, 0x3000, 0x2028, 0x2029, 0xfeff };
    long count = 0;
    *blank = true;
    for (size_t i = 0; i < n; count++) {
        unsigned long cp;
        size_t len = s[i] < 0x80   ? 1
                     : s[i] < 0xc0 ? 0
                     : s[i] < 0xe0 ? 2
                     : s[i] < 0xf0 ? 3
                     : s[i] < 0xf8 ? 4
                                   : 0;
        if (len == 0 || n - i < len)
            return -1;
        cp = len == 1 ? s[i] : s[i] & (0x7f >> len);
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return -1;
            cp = cp << 6 | (s[i + k] & 0x3f);
        }
        static const unsigned long least[] = { 0, 0, 0x80, 0x800, 0x10000 };
        if (cp == 0 || cp < least[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return -1;
        bool space = cp >= 0x2000 && cp <= 0x200b;
        for (size_t k = 0; k < sizeof spaces / sizeof spaces[0]; k++)
            space = space || cp == spaces[k];
        if (!space)
            *blank = false;
        i += len;
    }
    return count;
}

static void fuzz_message_agree(const unsigned char *s, size_t n)
{
    bool blank_a, blank_b;
    long a = messaging_text_chars((const char *)s, n, &blank_a);
    long b = fuzz_message_ref(s, n, &blank_b);
    FUZZ_CHECK(a == b);
    if (a >= 0)
        FUZZ_CHECK(blank_a == blank_b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > FUZZ_MESSAGE_MAX_INPUT)
        return 0;
    char *p = fuzz_dup(data, size);
    fuzz_message_agree((const unsigned char *)p, size);
    errinfo e;
    json_t *body = jparse(p, size, API_MESSAGES_JSON_DEPTH, &e);
    const json_t *msg = json_object_get(body, "message");
    if (json_is_string(msg)) {
        const unsigned char *s = (const unsigned char *)json_string_value(msg);
        size_t n = json_string_length(msg);
        bool blank;
        long chars = messaging_text_chars((const char *)s, n, &blank);
        FUZZ_CHECK(chars >= 0 && (size_t)chars <= n);
        FUZZ_CHECK((chars == 0) <= blank);
        fuzz_message_agree(s, n);
    }
    json_decref(body);
    free(p);
    return 0;
}
