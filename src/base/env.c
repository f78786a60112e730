/* env.c — configuration from the environment, bounded and validated. */
#include "config.h"
#include "base/env.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

const char *env_str(const char *name)
{
    const char *v = getenv(name);
    if (!v || !*v || strnlen(v, ENV_MAX_LEN + 1) > ENV_MAX_LEN)
        return NULL;
    return v;
}

const char *env_str_or(const char *name, const char *dflt)
{
    const char *v = env_str(name);
    return v ? v : dflt;
}

int env_long(const char *name, long min, long max, long dflt, long *out, errinfo *e)
{
    const char *v = env_str(name);
    if (!v) {
        *out = dflt;
        return 0;
    }
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || end == v || *end != '\0' || n < min || n > max)
        return errinfo_set(e, ERR_CONFIG, "%s must be a whole number from %ld to %ld", name, min,
                           max);
    *out = n;
    return 0;
}
