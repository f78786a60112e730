/* file.c — see file.h. */
#include "config.h"
#include "base/file.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

int file_open_regular(const char *path, struct stat *st)
{
    struct stat own;
    if (!st)
        st = &own;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        return -1;
    if (fstat(fd, st) != 0) {
        int err = errno;
        close(fd);
        errno = err;
        return -1;
    }
    if (!S_ISREG(st->st_mode)) {
        close(fd);
        return FILE_NOT_REGULAR;
    }
    return fd;
}
