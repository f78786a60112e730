/* metasrv.h — a stand-in for the ECS container credentials endpoint and EC2 IMDSv2 on
 * loopsrv (plain http, in a child process). Endpoints: GET /creds... (container; demands the Authorization set by "auth");
 * PUT /latest/api/token (needs X-aws-ec2-metadata-token-ttl-seconds 1..21600: 400 else);
 * GET /latest/meta-data/iam/security-credentials/ (the role, test-role) and .../test-role
 * (the credentials), both needing a token from the PUT in X-aws-ec2-metadata-token (401
 * else). Every credentials answer carries a new AccessKeyId (ASIACONTAINER0001,
 * ASIAIMDS0001, ...), secret (containerSecret0001/abcDEF+ghiJKL) and token
 * (containerToken0001+ and 64 x), so rotation is visible. Test code: Check assertions. */
#ifndef CR_TEST_METASRV_H
#define CR_TEST_METASRV_H

typedef struct metasrv metasrv;

metasrv *metasrv_start(void);
int metasrv_port(const metasrv *s);
void metasrv_stop(metasrv *s); /* accepts NULL */

/* One command, answered with one line (static storage), as the Python stand-in takes them:
 *   expires_in N           Expiration of what is handed out: now + N s (default 3600) -> ok
 *   mode container|imds M  how that endpoint answers: ok, garbage (not JSON), error500,
 *                          badsecret (a control character in SecretAccessKey), expired,
 *                          failcode (IMDS Code "Failure"), norole (IMDS: 404 for the role)
 *   auth VALUE|-           the Authorization the container endpoint demands (- none)  -> ok
 *   stats                  "requests=N container=N token_puts=N imds_creds=N unauthorized=N"
 * Anything else: "error unknown command". */
const char *metasrv_command(metasrv *s, const char *line);

#endif
