/* display.h — pure helpers the CLI prints its tables with: cutting text to a number of
 * columns as one safe line, and timestamps in local time. No I/O. */
#ifndef CR_CLI_DISPLAY_H
#define CR_CLI_DISPLAY_H

#include <stddef.h>

#include "base/buf.h"

/* Appends s to out cut to at most max_cols columns (one per code point), never splitting a
 * UTF-8 sequence: a cut string ends in "…" within the budget. Control characters (newline,
 * tab, ESC...) become spaces and invalid bytes U+FFFD, so a row stays one safe line.
 * s NULL or max_cols 0 appends nothing. 0, or -1 when out is full (buffer marked failed). */
int cli_display_fit(buf *out, const char *s, size_t max_cols);
/* The number of columns cli_display_fit counts for s (code points; 0 for NULL). */
size_t cli_display_cols(const char *s);
/* Appends s in exactly cols columns: cut as cli_display_fit does, then padded with spaces.
 * 0, or -1 when out is full. */
int cli_display_cell(buf *out, const char *s, size_t cols);
/* An ISO-8601 timestamp with any UTC offset ("...+00:00", "...-05:00", "...Z") in the local
 * time zone as "2026-11-21 09:30 AM" (the original scripts' format). Writes the input,
 * truncated, when it cannot be parsed. 0 when parsed, -1 otherwise (also for out NULL or
 * outlen 0, then nothing is written). */
int cli_display_local_time(char *out, size_t outlen, const char *iso);

#endif
