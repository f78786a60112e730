/* clock.h — wall and monotonic time, and the timestamp formats the system writes. */
#ifndef CR_CLOCK_H
#define CR_CLOCK_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Microseconds since the Unix epoch (wall clock). */
int64_t clock_real_us(void);
/* Milliseconds on the monotonic clock (for timeouts and durations). */
int64_t clock_mono_ms(void);
int64_t clock_mono_us(void);
/* Sleeps for ms milliseconds (resumes after signals). */
void clock_sleep_ms(int64_t ms);

/* "2026-11-21T09:30:00.123456+00:00" (32 chars); out must hold 33 bytes. 0 or -1. */
int clock_iso8601_us(char *out, size_t outlen, int64_t epoch_us);
/* Parses an ISO-8601 time ("2026-11-21T09:30:00", optional fraction, then "Z", "+hh:mm",
 * "-hh:mm" or nothing for UTC) into epoch microseconds (fraction digits past 6 ignored).
 * 0, or -1 on a malformed string or an instant outside 0000-01-01..9999-12-31 UTC (what
 * clock_iso8601_us can write back). */
int clock_parse_iso8601_us(const char *s, int64_t *epoch_us);
/* The same in whole epoch seconds (rounded down). */
int clock_parse_iso8601(const char *s, int64_t *epoch_s);

#endif
