/* support_env.h — environment changes for test programs: a NULL-terminated list of
 * "NAME=value" (sets) and "NAME=" or "NAME" (unsets), applied in a child before exec or in
 * the test's own process, where a support_env table saves what it replaced and puts it back.
 * Test code: a list longer than SUPPORT_ENV_MAX is a Check assertion. */
#ifndef CR_TEST_SUPPORT_ENV_H
#define CR_TEST_SUPPORT_ENV_H

#include <stddef.h>

#define SUPPORT_ENV_MAX 16

/* What support_env_set replaced: caller-owned, zero-initialised (or support_env_init). */
typedef struct support_env {
    size_t n;
    char *name[SUPPORT_ENV_MAX];
    char *old[SUPPORT_ENV_MAX]; /* NULL: the name was unset */
} support_env;

/* Applies the changes of env (may be NULL) to this process's environment, in order. No
 * allocation and no assertion: safe in a forked child before exec. */
void support_env_apply(const char *const *env);

void support_env_init(support_env *t);
/* Saves the current value of each name of env into t (added to what it holds), then
 * applies env. */
void support_env_set(support_env *t, const char *const *env);
/* Puts back every saved value, newest first; t is empty after. Accepts NULL and an empty t. */
void support_env_restore(support_env *t);

/* For programs that only ever talk to a local stack (the benchmarks): the AWS credentials
 * chain is told not to look for instance metadata (AWS_EC2_METADATA_DISABLED=true), so that
 * nothing they do reaches beyond the endpoint they are given. */
void support_env_local_aws(void);

#endif
