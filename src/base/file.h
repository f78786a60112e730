/* file.h — opening a file named by configuration (a path from the environment or a config
 * file) without being held up by what stands there. */
#ifndef CR_FILE_H
#define CR_FILE_H

#include <sys/stat.h>

/* What file_open_regular returns besides a descriptor. */
#define FILE_NOT_REGULAR (-2)

/* Opens path read-only, close-on-exec, never as a controlling terminal and without waiting
 * (O_NONBLOCK: a FIFO nobody writes to would block the open), and keeps it only if it is a
 * regular file, whose reads never block. The descriptor (st, when not NULL, filled); -1
 * with errno set when it cannot be opened or examined; FILE_NOT_REGULAR (nothing left
 * open) when it is a FIFO, a directory, a device or a socket. */
int file_open_regular(const char *path, struct stat *st);

#endif
