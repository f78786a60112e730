/* display.c — pure helpers the CLI prints its tables with (columns, safe lines, local
 * time). */
#include "config.h"
#include "cli/display.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "base/utf8.h"

size_t cli_display_cols(const char *s)
{
    return s ? utf8_count(s, strlen(s)) : 0;
}

int cli_display_fit(buf *out, const char *s, size_t max_cols)
{
    if (!s || max_cols == 0)
        return 0;
    size_t total = cli_display_cols(s);
    size_t keep = total <= max_cols ? total : max_cols - 1;
    const unsigned char *p = (const unsigned char *)s;
    size_t left = strlen(s);
    uint32_t cp;
    int rc = 0;
    for (size_t i = 0; i < keep; i++) {
        size_t n = utf8_next(p, left, &cp);
        if (n == 0) {
            n = 1;
            rc |= buf_append_str(out, "\xef\xbf\xbd"); /* U+FFFD */
        } else if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0)) {
            rc |= buf_putc(out, ' ');
        } else {
            rc |= buf_append(out, p, n);
        }
        p += n;
        left -= n;
    }
    if (keep < total)
        rc |= buf_append_str(out, "\xe2\x80\xa6"); /* … */
    return rc ? -1 : 0;
}

int cli_display_cell(buf *out, const char *s, size_t cols)
{
    size_t before = cli_display_cols(buf_cstr(out));
    int rc = cli_display_fit(out, s, cols);
    size_t now = cli_display_cols(buf_cstr(out));
    for (size_t k = now - before; k < cols; k++)
        rc |= buf_putc(out, ' ');
    return rc ? -1 : 0;
}

int cli_display_local_time(char *out, size_t outlen, const char *iso)
{
    if (!out || outlen == 0)
        return -1;
    int64_t us;
    struct tm tm;
    if (clock_parse_iso8601_us(iso, &us) == 0) {
        time_t t = (time_t)(us / 1000000 - (us % 1000000 < 0));
        if (localtime_r(&t, &tm) && strftime(out, outlen, "%Y-%m-%d %I:%M %p", &tm) > 0)
            return 0;
    }
    snprintf(out, outlen, "%s", iso ? iso : "");
    return -1;
}
