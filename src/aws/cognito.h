/* cognito.h — a Cognito user-pool client: ListUsers over every page (AWS JSON 1.1, target
 * AWSCognitoIdentityProviderService.*, signing name cognito-idp, aws/awsjson.h), and the pure
 * extraction of bounded, validated users from one ListUsers reply.
 *
 * Environment (read by cognito_new when the option is NULL):
 *   AWS_COGNITO_USER_POOL_ID                     the pool, "<region>_<id>"
 *   AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER   endpoint override (a local stand-in)
 *   AWS_REGION, AWS_DEFAULT_REGION               region; else the pool id's region
 * The global AWS_ENDPOINT_URL is deliberately NOT read: in this product (as in the original
 * design's docker set-up) it means the DynamoDB endpoint, and must never send Cognito calls
 * (with real credentials) to DynamoDB Local. Without an override the endpoint is
 * https://cognito-idp.<region>.amazonaws.com/. */
#ifndef CR_COGNITO_H
#define CR_COGNITO_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "aws/awsjson.h"
#include "aws/creds.h"
#include "aws/retry.h"
#include "base/errinfo.h"

#define COGNITO_POOL_ID_MAX 55   /* the service's limit */
#define COGNITO_TOKEN_MAX 4096   /* PaginationToken bytes accepted */
#define COGNITO_PAGE_LIMIT 60    /* users per ListUsers call (the service's maximum) */
#define COGNITO_USERS_MAX 100000 /* users accepted over all pages */
#define COGNITO_PAGES_MAX 5000   /* ListUsers calls at most (pages may be empty) */

/* One user, every field validated: no control characters, within its bound. */
typedef struct cognito_user {
    char username[129];           /* Username (required) */
    char sub[64];                 /* attribute sub (required): letters, digits, '-' */
    char preferred_username[129]; /* the Cruddur handle; "" when the user has none */
    char email[257];              /* "" when absent */
    char name[257];               /* "" when absent */
    char status[33];              /* UserStatus ("CONFIRMED", ...); "" when absent */
    bool enabled;                 /* Enabled; false when absent */
} cognito_user;

/* A user the reply carried but that failed validation (e.g. no sub). */
typedef struct cognito_skip {
    char username[129]; /* as far as it could be read; "" when unusable */
    char reason[96];
} cognito_skip;

/* Users gathered from one or more replies. Owned arrays; init/cleanup. */
typedef struct cognito_user_list {
    cognito_user *users;
    size_t n;
    cognito_skip *skipped;
    size_t nskipped;
    size_t cap_users, cap_skipped;
} cognito_user_list;

void cognito_user_list_init(cognito_user_list *l);
void cognito_user_list_cleanup(cognito_user_list *l); /* accepts NULL; leaves it empty */

/* Pure: appends the users of one ListUsers reply to l (the bad ones to l->skipped) and
 * copies its PaginationToken into next_token (COGNITO_TOKEN_MAX + 1 bytes; "" on the last
 * page). -1 with e set (ERR_INVALID: not an object, Users not an array, a malformed token;
 * ERR_TOOBIG: over COGNITO_USERS_MAX; ERR_NOMEM); l then holds what was appended so far. */
int cognito_parse_list_users(const json_t *reply, cognito_user_list *l, char *next_token,
                             errinfo *e);

/* Whether id has the form <region>_<id> (region like "us-east-1", id letters and digits,
 * at most COGNITO_POOL_ID_MAX bytes). 0, or -1 with e set (ERR_INVALID). */
int cognito_pool_id_check(const char *id, errinfo *e);

typedef struct cognito_options {
    const char *pool_id;     /* NULL: AWS_COGNITO_USER_POOL_ID */
    const char *region;      /* NULL: AWS_REGION, AWS_DEFAULT_REGION, the pool's region */
    const char *endpoint;    /* NULL: AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER, else
                                     https://cognito-idp.<region>.amazonaws.com/ */
    long connect_timeout_ms; /* 0: 3000 */
    long timeout_ms;         /* 0: 10000 */
    retry_policy retry;      /* zeros: RETRY_POLICY_DEFAULT */
    creds *credentials;      /* borrowed; NULL: the client owns a default chain */
} cognito_options;

typedef struct cognito cognito;

/* Resolves pool, region and endpoint; contacts nothing. NULL with e set: ERR_CONFIG when
 * no pool id is configured (the message names AWS_COGNITO_USER_POOL_ID) or the endpoint or
 * region is unusable, ERR_INVALID when the pool id is malformed. opts may be NULL. */
cognito *cognito_new(const cognito_options *opts, errinfo *e);
void cognito_free(cognito *c); /* accepts NULL */
const char *cognito_endpoint(const cognito *c);
const char *cognito_region(const cognito *c);
const char *cognito_pool_id(const cognito *c);

/* ListUsers over every page (COGNITO_PAGE_LIMIT per call), appending to l. -1 with err
 * filled when a call failed (after retries), a reply was malformed (ERR_INVALID), or the
 * pages did not end (a repeated token, over COGNITO_PAGES_MAX or COGNITO_USERS_MAX); l then
 * holds the pages read so far. */
int cognito_list_users(cognito *c, cognito_user_list *l, aws_error *err);

/* Pure: the user of one GetUser reply ({"Username", "UserAttributes": [{"Name", "Value"}]}),
 * validated as ListUsers' users are (sub required). 0, or -1 with e (ERR_INVALID). */
int cognito_parse_get_user(const json_t *reply, cognito_user *u, errinfo *e);

/* GetUser: who the access token belongs to. Unsigned (the token is the credential: no AWS
 * credentials needed), with the client's timeouts and retries. 0 with *u filled, or -1 with
 * err (NotAuthorizedException for a token Cognito refuses; a transport failure when the
 * service is unreachable). The token is never logged. */
int cognito_get_user(cognito *c, const char *access_token, cognito_user *u, aws_error *err);

#endif
