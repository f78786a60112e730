/* log.h — one JSON object per line on stderr. Never pass tokens, secrets or message text. */
#ifndef CR_LOG_H
#define CR_LOG_H

#include <stdbool.h>

#include <jansson.h>

typedef enum log_level {
    LOG_DEBUG,
    LOG_INFO,
    LOG_WARN,
    LOG_ERROR,
    LOG_OFF
} log_level;

/* Reads CRUDDUR_LOG_LEVEL (debug|info|warn|error|off; default info). Done on first use
 * when not called. */
void log_init_from_env(void);
void log_set_level(log_level level);
log_level log_get_level(void);
bool log_enabled(log_level level);

/* Writes {"time":..., "level":..., "event": event, "msg": <formatted>} . */
void log_msg(log_level level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Writes {"time", "level", "event"} plus the members of fields; takes ownership of fields
 * (which may be NULL). */
void log_fields(log_level level, const char *event, json_t *fields);

/* A line built field by field in a fixed buffer, for per-request paths: no allocation, one
 * write(2) at log_line_end. The same shape as log_fields: {"time", "level", "event", ...}.
 * Keys are the caller's literals (written as they are); string values are JSON-escaped, a
 * NULL one is null, one that is not UTF-8 is written as "\ufffd". A field that does not fit
 * is left out and the line ends with "truncated":true. Nothing is written when level is
 * not enabled. */
#define LOG_LINE_MAX 2048
typedef struct log_line {
    char text[LOG_LINE_MAX];
    size_t len;
    bool on, cut;
} log_line;

void log_line_begin(log_line *l, log_level level, const char *event);
void log_line_str(log_line *l, const char *key, const char *value);
void log_line_int(log_line *l, const char *key, long long value);
void log_line_end(log_line *l);

#endif
