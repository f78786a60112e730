/* live.h — where the live tests' servers are and unique names so runs never collide. A
 * missing server makes the program skip (exit 77), or fail under CRUDDUR_LIVE=1. */
#ifndef CR_TEST_LIVE_H
#define CR_TEST_LIVE_H

/* The DynamoDB Local endpoint from CRUDDUR_TEST_DDB_ENDPOINT. Without it the program
 * exits 77 (skip) — unless CRUDDUR_LIVE=1, where a missing server is a failure (exit 1). */
const char *live_ddb_endpoint(void);

/* "<prefix>-<12 random hex>" into out (64 bytes). */
void live_name(const char *prefix, char out[64]);

#endif
