/* rnd.h — fast non-cryptographic randomness (jitter) and cryptographic random bytes. */
#ifndef CR_RND_H
#define CR_RND_H

#include <stddef.h>
#include <stdint.h>

#include "base/uuid.h"

/* A uniformly distributed 64-bit value from a per-process generator seeded by the kernel
 * (reseeded after fork). Not for secrets. */
uint64_t rnd_u64(void);
/* A uniform value in [0, n); 0 when n is 0. */
uint64_t rnd_below(uint64_t n);
/* Fills p with n bytes from the kernel's CSPRNG. 0 or -1. */
int rnd_bytes(void *p, size_t n);
/* A random (version 4) UUID in lowercase canonical form into out. 0 or -1. */
int rnd_uuid4(char out[UUID_BUF]);

#endif
