/* rnd.c — xoshiro256** seeded from getrandom(2), and UUIDs. */
#include "config.h"
#include "base/rnd.h"

#include <errno.h>
#include <stdio.h>
#include <sys/random.h>
#include <unistd.h>

static _Thread_local uint64_t rnd_state[4]; /* per thread: streamd's appliers draw at once */
static _Thread_local pid_t rnd_pid;         /* 0 in a new thread: seeds it */

static uint64_t rnd_rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

int rnd_bytes(void *p, size_t n)
{
    unsigned char *o = p;
    while (n > 0) {
        ssize_t got = getrandom(o, n, 0);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        o += got;
        n -= (size_t)got;
    }
    return 0;
}

static void rnd_seed(void)
{
    if (rnd_bytes(rnd_state, sizeof rnd_state) != 0 ||
        (rnd_state[0] | rnd_state[1] | rnd_state[2] | rnd_state[3]) == 0) {
        rnd_state[0] = (uint64_t)getpid() * 0x9e3779b97f4a7c15ULL + 1;
        rnd_state[1] = 0xbf58476d1ce4e5b9ULL;
        rnd_state[2] = 0x94d049bb133111ebULL;
        rnd_state[3] = 0x2545f4914f6cdd1dULL;
    }
    rnd_pid = getpid();
}

uint64_t rnd_u64(void)
{
    if (rnd_pid != getpid())
        rnd_seed();
    uint64_t *s = rnd_state;
    uint64_t result = rnd_rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rnd_rotl(s[3], 45);
    return result;
}

uint64_t rnd_below(uint64_t n)
{
    if (n == 0)
        return 0;
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t v;
    do
        v = rnd_u64();
    while (v >= limit);
    return v % n;
}

int rnd_uuid4(char out[UUID_BUF])
{
    unsigned char b[16];
    if (rnd_bytes(b, sizeof b) != 0)
        return -1;
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
             b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15]);
    return 0;
}
