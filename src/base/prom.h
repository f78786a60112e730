/* prom.h — the Prometheus text exposition format (version 0.0.4), the one operators'
 * scrapers read: metric families (HELP and TYPE lines) and their samples, with label values
 * escaped, written into a buf. Pure; the callers (cruddur-api's /metrics, cruddur-streamd's
 * listener) own the numbers. Every function returns 0, or -1 when out is full (out->failed). */
#ifndef CR_PROM_H
#define CR_PROM_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

#define PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

typedef struct prom_label {
    const char *name;  /* [a-zA-Z_][a-zA-Z0-9_]* (the caller's constant) */
    const char *value; /* any text: \, " and newline are escaped */
} prom_label;

/* "# HELP name help" and "# TYPE name type" (counter, gauge, histogram). */
int prom_family(buf *out, const char *name, const char *type, const char *help);
/* One sample line: name{labels} value. */
int prom_sample_u64(buf *out, const char *name, const prom_label *labels, size_t nlabels,
                    uint64_t value);
int prom_sample_f64(buf *out, const char *name, const prom_label *labels, size_t nlabels,
                    double value);
/* A histogram's samples: name_bucket{labels,le="b"} (cumulative) for each of the nbounds
 * upper bounds and for +Inf, then name_sum and name_count. counts has nbounds + 1 entries,
 * one per bucket, NOT cumulative (the last: above every bound). */
int prom_histogram(buf *out, const char *name, const prom_label *labels, size_t nlabels,
                   const double *bounds, size_t nbounds, const uint64_t *counts, double sum);

#endif
