/* log.c — JSON log lines on stderr. */
#include "config.h"
#include "base/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/clock.h"

static log_level log_threshold = LOG_INFO;
static bool log_configured;

static const char *log_level_name(log_level level)
{
    switch (level) {
    case LOG_DEBUG: return "debug";
    case LOG_INFO: return "info";
    case LOG_WARN: return "warn";
    case LOG_ERROR: return "error";
    case LOG_OFF: return "off";
    }
    return "info";
}

void log_init_from_env(void)
{
    log_configured = true;
    const char *v = getenv("CRUDDUR_LOG_LEVEL");
    if (!v || !*v)
        return;
    for (log_level l = LOG_DEBUG; l <= LOG_OFF; l++)
        if (strcasecmp(v, log_level_name(l)) == 0)
            log_threshold = l;
}

void log_set_level(log_level level)
{
    log_configured = true;
    log_threshold = level;
}

log_level log_get_level(void)
{
    return log_threshold;
}

bool log_enabled(log_level level)
{
    if (!log_configured)
        log_init_from_env();
    return level >= log_threshold && level != LOG_OFF;
}

void log_fields(log_level level, const char *event, json_t *fields)
{
    if (!log_enabled(level)) {
        json_decref(fields);
        return;
    }
    char ts[40];
    clock_iso8601_us(ts, sizeof ts, clock_real_us());
    json_t *o = json_object();
    if (!o) {
        json_decref(fields);
        return;
    }
    json_object_set_new(o, "time", json_string(ts));
    json_object_set_new(o, "level", json_string(log_level_name(level)));
    json_object_set_new(o, "event", json_string(event ? event : ""));
    if (json_is_object(fields))
        json_object_update(o, fields);
    json_decref(fields);
    char *line = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (line) {
        fprintf(stderr, "%s\n", line);
        free(line);
    }
}

void log_msg(log_level level, const char *event, const char *fmt, ...)
{
    if (!log_enabled(level))
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    json_t *f = json_object();
    if (f)
        json_object_set_new(f, "msg", json_string(msg));
    log_fields(level, event, f);
}
