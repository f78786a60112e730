/* replay.c — the fuzz inputs of one target as a Check program: every file of
 * tests/fuzz/corpus/<target> (the seeds) and tests/fuzz/regress/<target> (every input that
 * ever crashed or broke an invariant) goes through the target's LLVMFuzzerTestOneInput, so
 * they run on every build, with or without clang. FUZZ_TARGET names the target (set by
 * mk/fuzz.am); a violated invariant aborts, which Check reports as a failed test, and the
 * file being replayed is named on stderr. */
#include "config.h"

#include <dirent.h>
#include <signal.h>
#include <unistd.h>

#include "base/buf.h"
#include "fuzz.h"
#include "tap.h"

#ifndef FUZZ_TARGET
#error "FUZZ_TARGET must name the target"
#endif

#define REPLAY_MAX_FILES 4096
#define REPLAY_MAX_BYTES ((size_t)1 << 20)

static char replay_current[1024];

/* On a crash: which file it was, then the default action. */
static void replay_on_signal(int sig)
{
    static const char what[] = "replay: crashed on ";
    ssize_t w = write(2, what, sizeof what - 1);
    w = write(2, replay_current, strlen(replay_current));
    w = write(2, "\n", 1);
    (void)w;
    signal(sig, SIG_DFL);
    raise(sig);
}

static int replay_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Replays every regular file of <srcdir>/tests/fuzz/<set>/<target>; returns how many. */
static size_t replay_dir(const char *set)
{
    const char *src = getenv("CR_SRCDIR");
    char dir[768];
    snprintf(dir, sizeof dir, "%s/tests/fuzz/%s/%s", src && *src ? src : CR_SRCDIR, set,
             FUZZ_TARGET);
    DIR *d = opendir(dir);
    if (!d)
        return 0; /* no such set (yet): nothing to replay */
    char *names[REPLAY_MAX_FILES];
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d)) && n < REPLAY_MAX_FILES)
        if (de->d_name[0] != '.')
            names[n++] = strdup(de->d_name);
    closedir(d);
    qsort(names, n, sizeof names[0], replay_cmp);
    size_t done = 0;
    for (size_t i = 0; i < n; i++) {
        ck_assert_ptr_nonnull(names[i]);
        snprintf(replay_current, sizeof replay_current, "%s/%s", dir, names[i]);
        FILE *f = fopen(replay_current, "rb");
        ck_assert_msg(f != NULL, "cannot open %s", replay_current);
        buf b;
        buf_init(&b, REPLAY_MAX_BYTES);
        char chunk[4096];
        size_t got;
        while ((got = fread(chunk, 1, sizeof chunk, f)) > 0)
            ck_assert_msg(buf_append(&b, chunk, got) == 0, "%s is too big", replay_current);
        fclose(f);
        /* an exact-size copy: reading past the input's end is a bug the sanitizers see */
        size_t len = b.len;
        uint8_t *p = malloc(len ? len : 1);
        ck_assert_ptr_nonnull(p);
        if (len)
            memcpy(p, b.data, len);
        buf_cleanup(&b);
        ck_assert_int_eq(LLVMFuzzerTestOneInput(p, len), 0);
        free(p);
        free(names[i]);
        done++;
    }
    return done;
}

START_TEST(replay_corpus)
{
    size_t n = replay_dir("corpus");
    ck_assert_msg(n > 0, "no seeds in tests/fuzz/corpus/%s", FUZZ_TARGET);
}
END_TEST

START_TEST(replay_regressions)
{
    replay_dir("regress");
}
END_TEST

int main(void)
{
    signal(SIGABRT, replay_on_signal);
    signal(SIGSEGV, replay_on_signal);
    signal(SIGBUS, replay_on_signal);
    Suite *s = suite_create("fuzz_" FUZZ_TARGET);
    TCase *tc = tcase_create("replay");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, replay_corpus);
    tcase_add_test(tc, replay_regressions);
    suite_add_tcase(s, tc);
    return tap_run(s);
}
