/* notify.c — sd_notify(3) by hand: an AF_UNIX datagram to $NOTIFY_SOCKET. */
#include "config.h"

#include "streamd/notify.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/env.h"

int notify_addr(const char *value, struct sockaddr_un *addr)
{
    if (!value || (value[0] != '/' && value[0] != '@') || value[1] == '\0')
        return -1;
    size_t len = strlen(value);
    if (len > sizeof addr->sun_path - (value[0] == '/'))
        return -1;
    memset(addr, 0, sizeof *addr);
    addr->sun_family = AF_UNIX;
    memcpy(addr->sun_path, value, len);
    if (value[0] == '@')
        addr->sun_path[0] = '\0';
    return (int)(offsetof(struct sockaddr_un, sun_path) + len);
}

int notify_send(const char *state)
{
    const char *value = env_str("NOTIFY_SOCKET");
    if (!value)
        return 0;
    struct sockaddr_un addr;
    int alen = notify_addr(value, &addr);
    if (alen < 0 || !state)
        return -1;
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    ssize_t n =
        sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&addr, (socklen_t)alen);
    int saved = errno;
    close(fd);
    errno = saved;
    return n == (ssize_t)strlen(state) ? 1 : -1;
}

int64_t notify_watchdog_usec(void)
{
    const char *usec = env_str("WATCHDOG_USEC");
    if (!usec)
        return 0;
    const char *pid = env_str("WATCHDOG_PID");
    if (pid) {
        char *end;
        errno = 0;
        long p = strtol(pid, &end, 10);
        if (errno || *end || p != (long)getpid())
            return 0;
    }
    char *end;
    errno = 0;
    long long v = strtoll(usec, &end, 10);
    if (errno || *end || v <= 0 || v > (long long)1000000 * 3600 * 24)
        return 0;
    return (int64_t)v;
}
