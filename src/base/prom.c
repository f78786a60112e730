/* prom.c — the Prometheus text format; see prom.h. */
#include "config.h"
#include "base/prom.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int prom_family(buf *out, const char *name, const char *type, const char *help)
{
    buf_printf(out, "# HELP %s ", name);
    for (const char *p = help; *p; p++) {
        if (*p == '\\')
            buf_append_str(out, "\\\\");
        else if (*p == '\n')
            buf_append_str(out, "\\n");
        else
            buf_putc(out, *p);
    }
    buf_printf(out, "\n# TYPE %s %s\n", name, type);
    return out->failed ? -1 : 0;
}

static void prom_labels(buf *out, const prom_label *labels, size_t n, const char *le)
{
    if (n == 0 && !le)
        return;
    buf_putc(out, '{');
    for (size_t i = 0; i < n; i++) {
        if (i)
            buf_putc(out, ',');
        buf_printf(out, "%s=\"", labels[i].name);
        for (const char *p = labels[i].value ? labels[i].value : ""; *p; p++) {
            if (*p == '\\')
                buf_append_str(out, "\\\\");
            else if (*p == '"')
                buf_append_str(out, "\\\"");
            else if (*p == '\n')
                buf_append_str(out, "\\n");
            else
                buf_putc(out, *p);
        }
        buf_putc(out, '"');
    }
    if (le)
        buf_printf(out, "%sle=\"%s\"", n ? "," : "", le);
    buf_putc(out, '}');
}

int prom_sample_u64(buf *out, const char *name, const prom_label *labels, size_t nlabels,
                    uint64_t value)
{
    buf_append_str(out, name);
    prom_labels(out, labels, nlabels, NULL);
    buf_printf(out, " %llu\n", (unsigned long long)value);
    return out->failed ? -1 : 0;
}

/* A float as Prometheus reads it: shortest round-trip form, +Inf/-Inf/NaN spelled so. */
static void prom_f64(buf *out, double v)
{
    if (isnan(v))
        buf_append_str(out, "NaN");
    else if (isinf(v))
        buf_append_str(out, v > 0 ? "+Inf" : "-Inf");
    else {
        char t[40];
        snprintf(t, sizeof t, "%.15g", v);
        if (strtod(t, NULL) != v)
            snprintf(t, sizeof t, "%.17g", v);
        buf_append_str(out, t);
    }
}

int prom_sample_f64(buf *out, const char *name, const prom_label *labels, size_t nlabels,
                    double value)
{
    buf_append_str(out, name);
    prom_labels(out, labels, nlabels, NULL);
    buf_putc(out, ' ');
    prom_f64(out, value);
    buf_putc(out, '\n');
    return out->failed ? -1 : 0;
}

int prom_histogram(buf *out, const char *name, const prom_label *labels, size_t nlabels,
                   const double *bounds, size_t nbounds, const uint64_t *counts, double sum)
{
    uint64_t cum = 0;
    for (size_t i = 0; i <= nbounds; i++) {
        char le[32];
        if (i < nbounds)
            snprintf(le, sizeof le, "%g", bounds[i]);
        else
            snprintf(le, sizeof le, "+Inf");
        cum += counts[i];
        buf_printf(out, "%s_bucket", name);
        prom_labels(out, labels, nlabels, le);
        buf_printf(out, " %llu\n", (unsigned long long)cum);
    }
    buf_printf(out, "%s_sum", name);
    prom_labels(out, labels, nlabels, NULL);
    buf_putc(out, ' ');
    prom_f64(out, sum);
    buf_printf(out, "\n%s_count", name);
    prom_labels(out, labels, nlabels, NULL);
    buf_printf(out, " %llu\n", (unsigned long long)cum);
    return out->failed ? -1 : 0;
}
