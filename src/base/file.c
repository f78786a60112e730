/* file.c — see file.h. */
#include "config.h"
#include "base/file.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

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

int file_read_regular(const char *path, buf *out, errinfo *e)
{
    struct stat st;
    int fd = file_open_regular(path, &st);
    if (fd == FILE_NOT_REGULAR)
        return errinfo_set(e, ERR_IO, "%s is not a regular file", path);
    if (fd < 0)
        return errinfo_set(e, errno == ENOENT || errno == ENOTDIR ? ERR_NOTFOUND : ERR_IO,
                           "cannot open %s: %s", path, strerror(errno));
    size_t start = out->len;
    unsigned char chunk[4096];
    int rc = -1;
    if ((unsigned long long)st.st_size > out->max - start) {
        errinfo_set(e, ERR_TOOBIG, "%s is larger than %zu bytes", path, out->max);
        goto out;
    }
    /* one allocation up front: no copy of the contents left behind by a realloc */
    if (buf_reserve(out, (size_t)st.st_size) != 0) {
        errinfo_set(e, ERR_NOMEM, "out of memory reading %s", path);
        goto out;
    }
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            errinfo_set(e, ERR_IO, "cannot read %s: %s", path, strerror(errno));
            goto out;
        }
        if (n == 0)
            break;
        if (buf_append(out, chunk, (size_t)n) != 0) { /* it grew while we read */
            errinfo_set(e, ERR_TOOBIG, "%s is larger than %zu bytes", path, out->max);
            goto out;
        }
    }
    rc = 0;
out:
    OPENSSL_cleanse(chunk, sizeof chunk);
    close(fd);
    if (rc != 0) {
        if (out->data) {
            OPENSSL_cleanse(out->data + start, out->len - start);
            out->data[start] = '\0';
        }
        out->len = start;
        out->failed = false;
    }
    return rc;
}
