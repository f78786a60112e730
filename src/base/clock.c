/* clock.c — time sources and formats. */
#include "config.h"
#include "base/clock.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int64_t clock_real_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t clock_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t clock_mono_ms(void)
{
    return clock_mono_us() / 1000;
}

void clock_sleep_ms(int64_t ms)
{
    if (ms <= 0)
        return;
    struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

int clock_iso8601_us(char *out, size_t outlen, int64_t epoch_us)
{
    time_t s = (time_t)(epoch_us / 1000000);
    long us = (long)(epoch_us % 1000000);
    if (us < 0) {
        us += 1000000;
        s -= 1;
    }
    struct tm tm;
    if (!gmtime_r(&s, &tm))
        return -1;
    int n = snprintf(out, outlen, "%04d-%02d-%02dT%02d:%02d:%02d.%06ld+00:00", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, us);
    return (n > 0 && (size_t)n < outlen) ? 0 : -1;
}

static int clock_digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

#define CLOCK_ISO8601_MIN_US (-62167219200LL * 1000000)          /* 0000-01-01T00:00:00Z */
#define CLOCK_ISO8601_MAX_US (253402300799LL * 1000000 + 999999) /* 9999-12-31T23:59:59.999999Z */

int clock_parse_iso8601_us(const char *s, int64_t *epoch_us)
{
    int Y, M, D, h, m, sec;
    if (!s || strlen(s) < 19 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != ' ') ||
        s[13] != ':' || s[16] != ':')
        return -1;
    if (clock_digits(s, 4, &Y) || clock_digits(s + 5, 2, &M) || clock_digits(s + 8, 2, &D) ||
        clock_digits(s + 11, 2, &h) || clock_digits(s + 14, 2, &m) || clock_digits(s + 17, 2, &sec))
        return -1;
    if (M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60)
        return -1;
    const char *p = s + 19;
    long us = 0;
    if (*p == '.') {
        p++;
        int nd = 0;
        if (*p < '0' || *p > '9')
            return -1;
        for (; *p >= '0' && *p <= '9'; p++, nd++)
            if (nd < 6)
                us = us * 10 + (*p - '0');
        for (; nd < 6; nd++)
            us *= 10;
    }
    long off_s = 0;
    if (*p == 'Z' && p[1] == '\0') {
        off_s = 0;
    } else if ((*p == '+' || *p == '-') && strlen(p) == 6 && p[3] == ':') {
        int oh, om;
        if (clock_digits(p + 1, 2, &oh) || clock_digits(p + 4, 2, &om) || oh > 23 || om > 59)
            return -1;
        off_s = (oh * 3600L + om * 60L) * (*p == '-' ? -1 : 1);
    } else if (*p != '\0') {
        return -1;
    }
    struct tm tm = {
        .tm_year = Y - 1900, .tm_mon = M - 1, .tm_mday = D, .tm_hour = h, .tm_min = m, .tm_sec = sec
    };
    int64_t t = ((int64_t)timegm(&tm) - off_s) * 1000000 + us;
    /* The instant must be one clock_iso8601_us can write back: 0000-01-01 to 9999-12-31 in
     * UTC (an offset can push "0000-01-01T00:00:00+14:00" before year 0). */
    if (t < CLOCK_ISO8601_MIN_US || t > CLOCK_ISO8601_MAX_US)
        return -1;
    *epoch_us = t;
    return 0;
}

int clock_parse_iso8601(const char *s, int64_t *epoch_s)
{
    int64_t us;
    if (clock_parse_iso8601_us(s, &us) != 0)
        return -1;
    *epoch_s = us / 1000000 - (us % 1000000 < 0);
    return 0;
}
