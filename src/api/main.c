/* main.c — cruddur-api: binds (or inherits) the FastCGI socket, checks the configuration,
 * then runs the prefork master (master.c) whose workers serve the API (worker.c). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "api/master.h"
#include "api/metrics.h"
#include "api/worker.h"
#include "base/env.h"
#include "base/log.h"
#include "messaging/messaging.h"

static const char main_usage[] =
    "Usage: cruddur-api [--help]\n"
    "\n"
    "The Cruddur messaging API as a FastCGI server behind nginx: a master process that\n"
    "forks CRUDDUR_WORKERS workers on one listening socket, replaces a worker that dies,\n"
    "drains on SIGTERM (requests in hand finish; exit 0) and restarts the workers one by\n"
    "one on SIGHUP. One JSON log line per request on stderr.\n"
    "\n"
    "The socket, first found of:\n"
    "  a listening socket on fd 0 (spawn-fcgi) or LISTEN_FDS=1 (systemd, fd 3)\n"
    "  CRUDDUR_FCGI_SOCKET   unix socket path (created with mode 0660)\n"
    "  CRUDDUR_FCGI_LISTEN   TCP address, e.g. 127.0.0.1:9000\n"
    "\n"
    "Environment:\n"
    "  CRUDDUR_WORKERS                  worker processes (default: 12 per core; each waits on\n"
    "                                   DynamoDB and Postgres most of a request, milliseconds\n"
    "                                   when DynamoDB is a few ms away as on AWS)\n"
    "  AWS_COGNITO_USER_POOL_ID         the user pool whose access tokens are accepted\n"
    "  AWS_COGNITO_USER_POOL_CLIENT_ID  the app client id tokens must carry\n"
    "  CRUDDUR_JWKS_URL                 the key set, URL or file (default: the pool's JWKS)\n"
    "  CONNECTION_URL                   PostgreSQL (the API answers 503 while it is down)\n"
    "  CRUDDUR_DDB_TABLE                DynamoDB table (else DDB_MESSAGE_TABLE; "
    "default " MESSAGING_TABLE_DEFAULT ")\n"
    "  AWS_ENDPOINT_URL, AWS_DEFAULT_REGION, AWS_* credentials: DynamoDB as for cruddur\n"
    "  FRONTEND_URL, BACKEND_URL        origins allowed by CORS\n"
    "  CRUDDUR_METRICS_ALLOW            CIDRs besides loopback that may GET /metrics\n"
    "  CRUDDUR_LOG_LEVEL                debug|info|warn|error|off (default info)\n"
    "\n"
    "Exit status: 0 after a drain, 1 on a runtime or configuration error, 2 usage error.\n";

static int main_worker(void *ud, int listen_fd, int ready_fd, size_t slot)
{
    metrics *mx = ud;
    errinfo e;
    worker_options o = { .connect = true, .metrics = mx, .metrics_slot = slot };
    worker *w = worker_new(&o, &e);
    if (!w) {
        log_msg(LOG_ERROR, "worker_failed", "%s", e.msg);
        return 1;
    }
    int rc = worker_run(w, listen_fd, ready_fd);
    worker_free(w);
    return rc;
}

static bool main_is_listening(int fd)
{
    int v = 0;
    socklen_t len = sizeof v;
    return getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &len) == 0 && v;
}

/* The listening socket; *created_path set when we made a unix socket file. -1 on error. */
static int main_listen(const char **created_path)
{
    *created_path = NULL;
    if (main_is_listening(0))
        return 0;
    const char *lfds = env_str("LISTEN_FDS"), *lpid = env_str("LISTEN_PID");
    if (lfds && strcmp(lfds, "1") == 0 && lpid && strtol(lpid, NULL, 10) == (long)getpid() &&
        main_is_listening(3))
        return 3;
    const char *path = env_str("CRUDDUR_FCGI_SOCKET");
    const char *addr = env_str("CRUDDUR_FCGI_LISTEN");
    if (path) {
        if (strchr(path, ':')) {
            fprintf(stderr, "cruddur-api: CRUDDUR_FCGI_SOCKET must be a path without ':' "
                            "(for TCP use CRUDDUR_FCGI_LISTEN=127.0.0.1:9000)\n");
            return -1;
        }
        mode_t old = umask(0117);
        int fd = FCGX_OpenSocket(path, 128);
        umask(old);
        if (fd < 0 || chmod(path, 0660) != 0) {
            fprintf(stderr, "cruddur-api: cannot listen on unix socket %s: %s\n", path,
                    strerror(errno));
            return -1;
        }
        *created_path = path;
        return fd;
    }
    if (addr) {
        if (!strchr(addr, ':')) {
            fprintf(stderr, "cruddur-api: CRUDDUR_FCGI_LISTEN must be host:port, e.g. "
                            "127.0.0.1:9000\n");
            return -1;
        }
        int fd = FCGX_OpenSocket(addr, 128);
        if (fd < 0) {
            fprintf(stderr, "cruddur-api: cannot listen on %s: %s\n", addr, strerror(errno));
            return -1;
        }
        return fd;
    }
    fprintf(stderr, "cruddur-api: no socket: set CRUDDUR_FCGI_SOCKET=/path/api.sock or "
                    "CRUDDUR_FCGI_LISTEN=127.0.0.1:9000, or start it with spawn-fcgi "
                    "(script/server does this for you)\n");
    return -1;
}

int main(int argc, char **argv)
{
    if (argc > 1) {
        if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
            fputs(main_usage, stdout);
            return 0;
        }
        fprintf(stderr,
                "cruddur-api: unknown argument %s (it is configured by the "
                "environment: see cruddur-api --help)\n",
                argv[1]);
        return 2;
    }
    log_init_from_env();
    if (FCGX_Init() != 0) {
        fprintf(stderr, "cruddur-api: FCGX_Init failed\n");
        return 1;
    }
    errinfo e;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    long workers;
    /* 12 per core: with DynamoDB ~2 ms away each way (AWS) a worker spends ~4.5 ms a read,
     * so 0.8 of the loopback throughput (~2500 reads/s on 2 cores) keeps ~11 workers busy
     * on average (Little's law); 4 per core gave 0.48 of the loopback throughput, 8 per
     * core 0.77, 12 per core 0.92 (a median on a busy shared machine; tests/bench/README.md,
     * session 19). Each worker is ~8.6 MB RSS but ~0.9 MB PSS (the rest is shared), and
     * holds one Postgres connection. */
    long dflt = 12 * (ncpu > 0 ? ncpu : 2);
    if (dflt > MASTER_MAX_WORKERS)
        dflt = MASTER_MAX_WORKERS;
    if (env_long("CRUDDUR_WORKERS", 1, MASTER_MAX_WORKERS, dflt, &workers, &e) != 0) {
        fprintf(stderr, "cruddur-api: %s\n", e.msg);
        return 1;
    }
    /* Check the configuration once, before binding anything. */
    worker_options check = { .connect = false };
    worker *w = worker_new(&check, &e);
    if (!w) {
        fprintf(stderr, "cruddur-api: %s\n", e.msg);
        return 1;
    }
    worker_free(w);

    const char *created = NULL;
    int fd = main_listen(&created);
    if (fd < 0)
        return 1;
    /* The metrics of every worker, in memory the master maps before it forks them. */
    metrics *mx = metrics_new(2 * (size_t)workers, &e);
    if (!mx) {
        fprintf(stderr, "cruddur-api: %s\n", e.msg);
        close(fd);
        if (created)
            unlink(created);
        return 1;
    }
    master_options mo = { .listen_fd = fd,
                          .workers = workers,
                          .worker_main = main_worker,
                          .ud = mx,
                          .stats = metrics_master_of(mx) };
    int rc = master_run(&mo);
    metrics_free(mx);
    if (created)
        unlink(created);
    return rc;
}
