/* support_tmpdir.c — private temporary folders for test programs (support_tmpdir.h). */
#include "config.h"
#include "support_tmpdir.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int support_tmpdir_make(const char *name, char *dir, size_t n)
{
    int len = snprintf(dir, n, "/tmp/%s-XXXXXX", name);
    if (len < 0 || (size_t)len >= n || !mkdtemp(dir)) {
        if (n > 0)
            dir[0] = '\0';
        return -1;
    }
    return 0;
}

int support_tmpdir_remove(const char *dir)
{
    if (!dir || !dir[0])
        return 0;
    if (strchr(dir, '\'')) {
        fprintf(stderr, "# not removing %s (a quote in its name)\n", dir);
        return -1;
    }
    char cmd[1100];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "# could not remove %s\n", dir);
        return -1;
    }
    return 0;
}
