/* env.h — bounded, validated reads of configuration from the environment. */
#ifndef CR_ENV_H
#define CR_ENV_H

#include <stdbool.h>

#include "base/errinfo.h"

/* Longest value accepted from any variable. */
#define ENV_MAX_LEN 8192

/* The variable's value, or NULL when it is unset, empty, or longer than ENV_MAX_LEN. */
const char *env_str(const char *name);
/* Like env_str, falling back to dflt. */
const char *env_str_or(const char *name, const char *dflt);
/* Reads a decimal integer in [min, max]; *out = dflt when unset. 0, or -1 with e set when
 * the value is not a number in range (the message names the variable and the range). */
int env_long(const char *name, long min, long max, long dflt, long *out, errinfo *e);

#endif
