/* support_tmpdir.h — a private temporary folder for one test program or test case:
 * /tmp/<name>-XXXXXX made with mkdtemp, and removed with everything in it. */
#ifndef CR_TEST_SUPPORT_TMPDIR_H
#define CR_TEST_SUPPORT_TMPDIR_H

#include <stddef.h>

/* Makes /tmp/<name>-XXXXXX (mode 0700) and writes its path into dir (n bytes). 0, or -1
 * with dir "" (errno from mkdtemp). */
int support_tmpdir_make(const char *name, char *dir, size_t n);
/* Removes dir and everything below it (rm -rf); "" is a no-op. 0, or -1 with a line on
 * stderr naming what stayed. */
int support_tmpdir_remove(const char *dir);

#endif
