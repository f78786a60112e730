/* log.c — JSON log lines on stderr. */
#include "config.h"
#include "base/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/jwrite.h"

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

/* The time of a line, as clock_iso8601_us writes it; the date and time of day are made once
 * a second (per thread). */
static void log_time(char out[40])
{
    static _Thread_local int64_t sec = -1;
    static _Thread_local char head[24]; /* "YYYY-MM-DDTHH:MM:SS." */
    int64_t now = clock_real_us();
    int64_t s = now / 1000000;
    long us = (long)(now % 1000000);
    if (s != sec) {
        char full[40];
        if (now < 0 || clock_iso8601_us(full, sizeof full, s * 1000000) != 0) {
            clock_iso8601_us(out, 40, now);
            return;
        }
        memcpy(head, full, 20);
        head[20] = '\0';
        sec = s;
    }
    memcpy(out, head, 20);
    for (int i = 25; i >= 20; i--) {
        out[i] = (char)('0' + us % 10);
        us /= 10;
    }
    memcpy(out + 26, "+00:00", 7);
}

void log_fields(log_level level, const char *event, json_t *fields)
{
    if (!log_enabled(level)) {
        json_decref(fields);
        return;
    }
    char ts[40];
    log_time(ts);
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

/* ---- log_line ------------------------------------------------------------------------ */

/* Appends n bytes when they fit, leaving room for the closing "truncated" member. */
#define LOG_LINE_TAIL sizeof(",\"truncated\":true}\n")

static bool log_line_put(log_line *l, const char *p, size_t n)
{
    if (l->len + n + LOG_LINE_TAIL > sizeof l->text)
        return false;
    memcpy(l->text + l->len, p, n);
    l->len += n;
    return true;
}

/* Appends s JSON-escaped and quoted (jwrite's escapes); false when it does not fit. */
static bool log_line_quoted(log_line *l, const char *s)
{
    size_t room = sizeof l->text - LOG_LINE_TAIL - l->len; /* every put keeps the tail free */
    ptrdiff_t k = jwrite_escape(l->text + l->len, room, s, strlen(s));
    if (k < 0)
        return log_line_put(l, "\"\\ufffd\"", 8);
    if ((size_t)k > room)
        return false;
    l->len += (size_t)k;
    return true;
}

/* Appends ,"key": and then the value written by the caller; on overflow the line goes back
 * to where the field began and is marked cut. */
static bool log_line_key(log_line *l, const char *key)
{
    return log_line_put(l, ",\"", 2) && log_line_put(l, key, strlen(key)) &&
           log_line_put(l, "\":", 2);
}

void log_line_begin(log_line *l, log_level level, const char *event)
{
    l->len = 0;
    l->cut = false;
    l->on = log_enabled(level);
    if (!l->on)
        return;
    char ts[40];
    log_time(ts);
    const char *name = log_level_name(level);
    log_line_put(l, "{\"time\":\"", 9);
    log_line_put(l, ts, strlen(ts));
    log_line_put(l, "\",\"level\":\"", 11);
    log_line_put(l, name, strlen(name));
    log_line_put(l, "\",\"event\":", 10);
    if (!log_line_quoted(l, event ? event : "")) {
        l->len = 0;
        l->on = false;
    }
}

void log_line_str(log_line *l, const char *key, const char *value)
{
    if (!l->on)
        return;
    size_t at = l->len;
    bool ok =
        log_line_key(l, key) && (value ? log_line_quoted(l, value) : log_line_put(l, "null", 4));
    if (!ok) {
        l->len = at;
        l->cut = true;
    }
}

void log_line_int(log_line *l, const char *key, long long value)
{
    if (!l->on)
        return;
    char num[24];
    int n = snprintf(num, sizeof num, "%lld", value);
    size_t at = l->len;
    if (!log_line_key(l, key) || !log_line_put(l, num, (size_t)n)) {
        l->len = at;
        l->cut = true;
    }
}

void log_line_end(log_line *l)
{
    if (!l->on)
        return;
    /* LOG_LINE_TAIL was kept free by every put */
    static const char cut[] = ",\"truncated\":true}\n";
    if (l->cut) {
        memcpy(l->text + l->len, cut, sizeof cut - 1);
        l->len += sizeof cut - 1;
    } else {
        memcpy(l->text + l->len, "}\n", 2);
        l->len += 2;
    }
    fflush(stderr); /* keeps the order with lines written through stdio */
    const char *p = l->text;
    size_t left = l->len;
    while (left > 0) {
        ssize_t w = write(STDERR_FILENO, p, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        p += w;
        left -= (size_t)w;
    }
    l->on = false;
}
