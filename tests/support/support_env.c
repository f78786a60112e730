/* support_env.c — environment changes for test programs (support_env.h). */
#include "config.h"
#include "support_env.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The name part of "NAME=value" (or all of "NAME") into out. */
static void support_env_name(const char *e, char out[256])
{
    const char *eq = strchr(e, '=');
    size_t n = eq ? (size_t)(eq - e) : strlen(e);
    snprintf(out, 256, "%.*s", (int)n, e);
}

void support_env_apply(const char *const *env)
{
    for (const char *const *e = env; e && *e; e++) {
        char name[256];
        support_env_name(*e, name);
        const char *eq = strchr(*e, '=');
        if (eq && eq[1])
            setenv(name, eq + 1, 1);
        else
            unsetenv(name);
    }
}

void support_env_init(support_env *t)
{
    memset(t, 0, sizeof *t);
}

void support_env_set(support_env *t, const char *const *env)
{
    for (const char *const *e = env; e && *e; e++) {
        ck_assert_msg(t->n < SUPPORT_ENV_MAX, "more than %d environment changes", SUPPORT_ENV_MAX);
        char name[256];
        support_env_name(*e, name);
        const char *v = getenv(name);
        t->name[t->n] = strdup(name);
        t->old[t->n] = v ? strdup(v) : NULL;
        ck_assert(t->name[t->n] != NULL && (!v || t->old[t->n] != NULL));
        t->n++;
    }
    support_env_apply(env);
}

void support_env_restore(support_env *t)
{
    if (!t)
        return;
    while (t->n > 0) {
        t->n--;
        if (t->old[t->n])
            setenv(t->name[t->n], t->old[t->n], 1);
        else
            unsetenv(t->name[t->n]);
        free(t->name[t->n]);
        free(t->old[t->n]);
        t->name[t->n] = t->old[t->n] = NULL;
    }
}

void support_env_local_aws(void)
{
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
}
