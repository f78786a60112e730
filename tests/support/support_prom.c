/* support_prom.c — see support_prom.h. */
#include "config.h"
#include "support_prom.h"

#include <stdlib.h>
#include <string.h>

double support_prom_value(const char *text, const char *series)
{
    size_t n = strlen(series);
    for (const char *p = text; p && *p;) {
        if (strncmp(p, series, n) == 0 && p[n] == ' ')
            return strtod(p + n + 1, NULL);
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    return -1;
}
