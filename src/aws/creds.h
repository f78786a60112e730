/* creds.h — AWS credentials resolved in the SDKs' order: environment, shared files,
 * container endpoint, EC2 IMDSv2; temporary credentials are refreshed before they expire.
 * Secrets are wiped on free and never logged.
 *
 * Variables read (through getenv_fn): AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
 * AWS_SESSION_TOKEN; AWS_PROFILE, AWS_SHARED_CREDENTIALS_FILE, AWS_CONFIG_FILE, HOME;
 * AWS_CONTAINER_CREDENTIALS_RELATIVE_URI, AWS_CONTAINER_CREDENTIALS_FULL_URI (http only to
 * loopback, 169.254.170.2, 169.254.170.23 or [fd00:ec2::23]; https anywhere),
 * AWS_CONTAINER_AUTHORIZATION_TOKEN(_FILE); AWS_EC2_METADATA_DISABLED,
 * AWS_EC2_METADATA_SERVICE_ENDPOINT. For tests: CRUDDUR_CONTAINER_CREDENTIALS_HOST replaces
 * the host the relative URI is fetched from (default http://169.254.170.2). */
#ifndef CR_CREDS_H
#define CR_CREDS_H

#include <stddef.h>
#include <stdint.h>

#include "base/errinfo.h"

typedef struct creds_value {
    char *access_key_id;     /* owned */
    char *secret_access_key; /* owned */
    char *session_token;     /* owned; NULL when not temporary */
    int64_t expires_at_s;    /* 0: does not expire */
    const char *source;      /* static: "environment", "shared-file", "container", "imds" */
} creds_value;

typedef struct creds_options {
    /* Environment lookup; NULL reads the process environment. Lets tests pass a table. */
    const char *(*getenv_fn)(const char *name);
    /* Wall clock in seconds; NULL uses the real clock. */
    int64_t (*now_s_fn)(void);
    long http_timeout_ms;  /* container and IMDS requests; 0: 1000 */
    long refresh_before_s; /* refresh this long before expiry; 0: 300 */
} creds_options;

typedef struct creds creds;

/* Makes a provider; resolves nothing yet. NULL on ENOMEM. opts may be NULL. */
creds *creds_new(const creds_options *opts);
void creds_free(creds *c); /* accepts NULL; wipes secrets */

/* The current credentials: resolved through the chain on first use, cached, refreshed
 * from the same source when within refresh_before_s of expiry (on a failed refresh the old
 * ones are kept while still valid). *out is borrowed, valid until the next creds_get or
 * creds_free. -1 with e set (naming what was tried, never a secret) when none are found. */
int creds_get(creds *c, const creds_value **out, errinfo *e);

/* The CA bundle for HTTPS to AWS (and to the JWKS), as the AWS SDKs and CLI find it:
 * AWS_CA_BUNDLE, else ca_bundle of the profile (AWS_PROFILE, else default) in the shared
 * config file (AWS_CONFIG_FILE, else ~/.aws/config; "~/" expanded). Into out (n bytes);
 * "" when none is set (the system's trust store then). 0, or -1 with e set (ERR_CONFIG: a
 * malformed config file, a path too long). The file itself is not opened here. */
int creds_ca_bundle(char *out, size_t n, errinfo *e);

#endif
