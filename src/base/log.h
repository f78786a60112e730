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

#endif
