/* support_prom.h — reading a Prometheus text page in tests: the value of one sample. */
#ifndef CR_TEST_SUPPORT_PROM_H
#define CR_TEST_SUPPORT_PROM_H

/* The value of the sample line that starts with exactly `series` (name and labels, e.g.
 * cruddur_api_workers or x_total{code="200"}) followed by a space; -1 when text has none. */
double support_prom_value(const char *text, const char *series);

#endif
