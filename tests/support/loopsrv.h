/* loopsrv.h — a loopback HTTP/1.1 server for unit tests, plain or TLS (OpenSSL), in a
 * forked child process: so it serves while the test process blocks in a request, and it
 * outlives Check's per-test forks when started from an unchecked fixture. A thread of the
 * child serves each connection (keep-alive until the client closes or a reply says close).
 * Every request goes to the handler, which fills the reply; the handler and the test share a
 * zeroed memory area (loopsrv_shared, MAP_SHARED) guarded by one process-shared lock the
 * server holds around each handler call. The server counts the requests it answered, the
 * connections it accepted (TLS: whose handshake completed; a client that refused the
 * certificate is not counted) and, with TLS, how many of those resumed an earlier session.
 * Test code: start and stop fail with Check assertions. */
#ifndef CR_TEST_LOOPSRV_H
#define CR_TEST_LOOPSRV_H

#include <stdbool.h>
#include <stddef.h>

typedef struct loopsrv loopsrv;

typedef struct loopsrv_reply {
    int status;               /* 200 unless set */
    const char *content_type; /* "application/json" unless set */
    const void *body;         /* copied before the lock is released */
    size_t body_len;
    bool close; /* send Connection: close and close after the answer */
} loopsrv_reply;

/* Called in the server, under the lock, once per request with the shared area, its method,
 * its target ("/a/b?q") and its header lines ("Name: value\r\n" each; read them with
 * loopsrv_header). */
typedef void (*loopsrv_handler)(void *shared, const char *method, const char *target,
                                const char *headers, loopsrv_reply *reply);

/* The value of header `name` (any case, blanks trimmed) from a handler's headers into out
 * (n bytes, cut to fit). true when present. */
bool loopsrv_header(const char *headers, const char *name, char *out, size_t n);

/* Starts a server on 127.0.0.1 (an ephemeral port). pem: a PEM file with the certificate
 * (chain) and the private key for TLS, NULL for plain http. shared_size: bytes of the
 * shared area (0: none). */
loopsrv *loopsrv_start(const char *pem, loopsrv_handler fn, size_t shared_size);

int loopsrv_port(const loopsrv *s);
void *loopsrv_shared(loopsrv *s);
void loopsrv_lock(loopsrv *s); /* around the test's own reads and writes of the area */
void loopsrv_unlock(loopsrv *s);

/* Requests answered, connections accepted, sessions resumed (each may be NULL). */
void loopsrv_counts(loopsrv *s, long *requests, long *conns, long *resumed);

/* Kills the server (its port refuses connections from then on) and frees s. Accepts NULL. */
void loopsrv_stop(loopsrv *s);

#endif
