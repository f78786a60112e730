/* live.c — the live tests' servers and unique names (live.h). */
#include "config.h"
#include "live.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/rnd.h"

const char *live_ddb_endpoint(void)
{
    const char *ep = getenv("CRUDDUR_TEST_DDB_ENDPOINT");
    if (ep && *ep)
        return ep;
    const char *live = getenv("CRUDDUR_LIVE");
    if (live && strcmp(live, "1") == 0) {
        fprintf(stderr, "CRUDDUR_LIVE=1 but CRUDDUR_TEST_DDB_ENDPOINT is not set\n");
        exit(1);
    }
    printf("1..0 # SKIP CRUDDUR_TEST_DDB_ENDPOINT not set (script/test sets it)\n");
    exit(77);
}

void live_name(const char *prefix, char out[64])
{
    char u[UUID_BUF];
    rnd_uuid4(u);
    snprintf(out, 64, "%s-%.8s%.4s", prefix, u, u + 9);
}
