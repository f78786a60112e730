/* jwkssrv.h — a stand-in for a Cognito pool's JWKS endpoint on loopsrv (plain http, in a
 * child process): GET of any path ending in jwks.json (query ignored) answers the current
 * document with the current status; other paths 404. The document starts as {"keys":[]}.
 * A change is in effect for the next request once the call returns. Test code: failures are
 * Check assertions. */
#ifndef CR_TEST_JWKSSRV_H
#define CR_TEST_JWKSSRV_H

#include <stddef.h>

typedef struct jwkssrv jwkssrv;

#define JWKSSRV_BODY_MAX ((size_t)256 << 10)

jwkssrv *jwkssrv_start(void);
int jwkssrv_port(const jwkssrv *s);
void jwkssrv_stop(jwkssrv *s); /* accepts NULL; the port refuses connections after */

/* One command:
 *   serve PATH   serve PATH's bytes from now on (status 200)
 *   status N     answer with HTTP status N (same body)
 *   garbage      serve a body that is not JSON (status 200)
 *   big N        serve a valid JSON object of N bytes (status 200)
 *   reset        set the fetch count to 0
 * 0, or -1 for an unknown command or an unreadable file. */
int jwkssrv_command(jwkssrv *s, const char *line);

/* jwks.json requests answered so far (since the last reset). */
long jwkssrv_count(jwkssrv *s);

#endif
