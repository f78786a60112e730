/* notify.h — the systemd notification protocol (sd_notify(3)) without libsystemd: one
 * datagram to $NOTIFY_SOCKET per state change. Every call is a no-op outside systemd. */
#ifndef CR_NOTIFY_H
#define CR_NOTIFY_H

#include <stdint.h>

/* Sends state ("READY=1", "WATCHDOG=1", "STATUS=...", "STOPPING=1", newline-separated
 * assignments). 1 when sent, 0 when NOTIFY_SOCKET is unset, -1 when it could not be sent. */
int notify_send(const char *state);

/* The watchdog interval systemd asked for in microseconds (WATCHDOG_USEC, honoured only when
 * WATCHDOG_PID is unset or this process), or 0 when there is none. Ping at half of it. */
int64_t notify_watchdog_usec(void);

/* Parses a NOTIFY_SOCKET value into a sockaddr_un path ('@' = abstract namespace) — pure,
 * for tests. The number of bytes of addr used (sun_path offset + length), or -1 when the
 * value is not an absolute path or an abstract name, or does not fit. */
struct sockaddr_un;
int notify_addr(const char *value, struct sockaddr_un *addr);

#endif
