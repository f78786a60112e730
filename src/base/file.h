/* file.h — opening and reading a file named by configuration (a path from the environment
 * or a config file) without being held up by what stands there. */
#ifndef CR_FILE_H
#define CR_FILE_H

#include <sys/stat.h>

#include "base/buf.h"
#include "base/errinfo.h"

/* What file_open_regular returns besides a descriptor. */
#define FILE_NOT_REGULAR (-2)

/* Opens path read-only, close-on-exec, never as a controlling terminal and without waiting
 * (O_NONBLOCK: a FIFO nobody writes to would block the open), and keeps it only if it is a
 * regular file, whose reads never block. The descriptor (st, when not NULL, filled); -1
 * with errno set when it cannot be opened or examined; FILE_NOT_REGULAR (nothing left
 * open) when it is a FIFO, a directory, a device or a socket. */
int file_open_regular(const char *path, struct stat *st);

/* Appends the whole regular file path (opened as file_open_regular opens it) to out, whose
 * cap bounds its size; the read chunk is wiped after (credentials pass through it). 0; else
 * -1 with e set and out as it was: ERR_NOTFOUND when there is no such file (ENOENT,
 * ENOTDIR), ERR_IO when it is not a regular file or cannot be opened or read, ERR_TOOBIG
 * when it does not fit ("... is larger than N bytes"), ERR_NOMEM. Messages name path. */
int file_read_regular(const char *path, buf *out, errinfo *e);

#endif
