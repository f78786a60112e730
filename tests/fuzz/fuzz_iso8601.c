/* fuzz_iso8601.c — ISO-8601 timestamps from outside (base/clock.c: credential expiry,
 * stream records' sort keys): any text into clock_parse_iso8601_us. Invariants: what
 * parses prints (clock_iso8601_us, UTC; years 0..9999) to a text that parses to the same
 * instant, and the whole-second parser gives the same instant rounded down; what does not
 * parse fails in both. */
#include "config.h"

#include "base/clock.h"
#include "fuzz.h"

#define FUZZ_ISO8601_MAX_INPUT 128

static int64_t fuzz_iso8601_floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > FUZZ_ISO8601_MAX_INPUT)
        return 0;
    char *s = fuzz_cstr(data, size);
    int64_t us = 0, sec = 0;
    int rc = clock_parse_iso8601_us(s, &us);
    int rcs = clock_parse_iso8601(s, &sec);
    FUZZ_CHECK(rc == 0 || rc == -1);
    FUZZ_CHECK(rc == rcs);
    if (rc == 0) {
        FUZZ_CHECK(sec == fuzz_iso8601_floor_div(us, 1000000));
        char out[40];
        /* years past 9999 print with five digits, which no parser here reads */
        if (clock_iso8601_us(out, sizeof out, us) == 0 && strlen(out) == 32) {
            int64_t again = 0;
            FUZZ_CHECK(clock_parse_iso8601_us(out, &again) == 0);
            FUZZ_CHECK(again == us);
        }
    }
    free(s);
    return 0;
}
