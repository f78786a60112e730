/* creds_internal.h — the credentials module's pure parts, exposed for its tests: the shared
 * file parser, the container URI rule, the endpoint JSON reader and the value checks. */
#ifndef CR_CREDS_INTERNAL_H
#define CR_CREDS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "aws/creds.h"
#include "base/buf.h"
#include "base/errinfo.h"

#define CREDS_MAX_KEY_ID 128                  /* access key id, characters */
#define CREDS_MAX_SECRET 128                  /* secret access key */
#define CREDS_MAX_TOKEN 8192                  /* session token */
#define CREDS_MAX_FILE ((size_t)1 << 20)      /* a shared credentials or config file */
#define CREDS_MAX_LINE 16384                  /* one line of a shared file */
#define CREDS_MAX_RESPONSE ((size_t)64 << 10) /* a container or IMDS answer */

/* The static keys of one profile, as found in one shared file. */
typedef struct creds_profile {
    bool found;              /* the profile's section is in the file */
    char *access_key_id;     /* owned; NULL when absent or empty */
    char *secret_access_key; /* owned */
    char *session_token;     /* owned */
    char *ca_bundle;         /* owned; the profile's ca_bundle (a path, not a secret) */
} creds_profile;

void creds_profile_init(creds_profile *p);
void creds_profile_cleanup(creds_profile *p); /* accepts NULL; wipes the values */

/* Parses the text of a shared file and fills p with the keys of `profile`. config_form: the
 * AWS config file, where sections are [profile NAME] and [default]; otherwise the credentials
 * file, where they are [NAME]. Comments start with # or ; (also after a value, following
 * whitespace), indented lines after a key continue it and are skipped, keys compare without
 * case, later values win. 0, or -1 with e set (a line number, never file content) on a
 * malformed file; p then holds nothing. */
int creds_ini_profile(strv text, const char *profile, bool config_form, creds_profile *p,
                      errinfo *e);

/* Whether AWS_CONTAINER_CREDENTIALS_FULL_URI may be fetched: any https URI, or http to
 * 127.0.0.0/8, [::1], localhost, 169.254.170.2, 169.254.170.23 or [fd00:ec2::23]. 0, or -1
 * with e (ERR_CONFIG) set. */
int creds_full_uri_check(const char *uri, errinfo *e);

/* Checks one value from outside (length 1..max, no control characters); `what` names it in
 * the message, which never quotes the value. 0 or -1. */
int creds_check_value(const char *what, const char *s, size_t len, size_t max, errinfo *e);

/* Reads a container (imds false) or IMDS (imds true: Code must be "Success") credentials
 * answer: AccessKeyId, SecretAccessKey, Token (required for IMDS), Expiration (ISO-8601; one
 * at or before 1970 becomes expires_at_s 1, long expired, never 0 "does not expire").
 * Fills *out (source left for the caller); 0, or -1 with e set and *out empty. `from` names
 * the endpoint in messages. */
int creds_parse_json(const char *body, size_t len, bool imds, const char *from, creds_value *out,
                     errinfo *e);

/* Frees and wipes the strings of v and zeroes it. Accepts NULL. */
void creds_value_cleanup(creds_value *v);

#endif
