/* token.c — `cruddur token`: a Cognito-shaped access token for a local user, signed with the
 * development key (auth/devkey.h) that script/server tells the API to trust. */
#include "config.h"
#include "cli/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/devkey.h"
#include "auth/jwt.h"
#include "base/env.h"
#include "base/rnd.h"

#define CLI_TOKEN_POOL_DEFAULT "us-east-1_CruddurLocal"
#define CLI_TOKEN_CLIENT_DEFAULT "cruddurlocalclient"
#define CLI_TOKEN_DIR_DEFAULT ".state/server/devkey"
#define CLI_TOKEN_TTL_MAX_S 86400

static const char cli_token_usage[] =
    "Usage: cruddur token --handle HANDLE [--key-dir DIR] [--ttl-seconds N]\n"
    "       cruddur token --print-jwks [--key-dir DIR]\n"
    "\n"
    "Prints an access token for the Cruddur user HANDLE, shaped like an Amazon Cognito\n"
    "user-pool access token and signed with the local development key, for use as\n"
    "'Authorization: Bearer <token>' against a local cruddur-api. Local development only.\n"
    "\n"
    "The user is looked up in PostgreSQL (CONNECTION_URL). A user without a\n"
    "cognito_user_id gets a new random one (written to users.cognito_user_id), so the\n"
    "API maps the token's sub back to the user. The key is created in DIR when missing.\n"
    "\n"
    "Options:\n"
    "  --handle HANDLE    the user (without '@')\n"
    "  --key-dir DIR      the development key's directory (default: $CRUDDUR_DEVKEY_DIR,\n"
    "                     else " CLI_TOKEN_DIR_DEFAULT ")\n"
    "  --ttl-seconds N    lifetime, 1..86400 (default 3600)\n"
    "  --print-jwks       print the JWKS (public key) the API must trust instead\n"
    "                     (CRUDDUR_JWKS_URL=DIR/jwks.json)\n"
    "  -h, --help         show this help\n"
    "\n"
    "Environment:\n"
    "  CONNECTION_URL                   PostgreSQL\n"
    "  AWS_COGNITO_USER_POOL_ID         the pool the token claims (default\n"
    "                                   " CLI_TOKEN_POOL_DEFAULT "; the issuer follows it)\n"
    "  AWS_COGNITO_USER_POOL_CLIENT_ID  the client_id claim (default " CLI_TOKEN_CLIENT_DEFAULT
    ")\n"
    "  CRUDDUR_DEVKEY_DIR               the default key directory\n"
    "\n"
    "The token is a credential: it is printed on stdout only, never logged.\n"
    "Exit status: 0 ok, 1 runtime error (database, unknown user, key), 2 usage error.\n";

/* Parses a decimal in 1..CLI_TOKEN_TTL_MAX_S. */
static int cli_token_ttl(const char *s, long *out)
{
    if (!s || !*s || strlen(s) > 6)
        return -1;
    long v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        v = v * 10 + (*p - '0');
    }
    if (v < 1 || v > CLI_TOKEN_TTL_MAX_S)
        return -1;
    *out = v;
    return 0;
}

int cli_token(int argc, char **argv)
{
    const char *handle = NULL, *dir = NULL;
    long ttl = DEVKEY_TTL_DEFAULT_S;
    bool print_jwks = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(cli_token_usage, stdout);
            return CLI_OK;
        }
        if (strcmp(a, "--print-jwks") == 0) {
            print_jwks = true;
            continue;
        }
        bool takes = strcmp(a, "--handle") == 0 || strcmp(a, "--key-dir") == 0 ||
                     strcmp(a, "--ttl-seconds") == 0;
        if (!takes)
            return cli_usage_error("token", "%s '%.64s'",
                                   a[0] == '-' ? "unknown option" : "unexpected argument", a);
        if (i + 1 >= argc)
            return cli_usage_error("token", "%s needs a value", a);
        const char *v = argv[++i];
        if (strcmp(a, "--handle") == 0) {
            handle = v[0] == '@' ? v + 1 : v;
        } else if (strcmp(a, "--key-dir") == 0) {
            if (!*v)
                return cli_usage_error("token", "--key-dir needs a directory");
            dir = v;
        } else if (cli_token_ttl(v, &ttl) != 0) {
            return cli_usage_error("token", "--ttl-seconds must be a whole number from 1 to %d",
                                   CLI_TOKEN_TTL_MAX_S);
        }
    }
    if (!print_jwks && !handle)
        return cli_usage_error("token", "--handle is required");
    if (print_jwks && handle)
        return cli_usage_error("token", "--print-jwks takes no --handle");
    if (!dir)
        dir = env_str_or("CRUDDUR_DEVKEY_DIR", CLI_TOKEN_DIR_DEFAULT);
    const char *pool = env_str_or("AWS_COGNITO_USER_POOL_ID", CLI_TOKEN_POOL_DEFAULT);
    const char *client = env_str_or("AWS_COGNITO_USER_POOL_CLIENT_ID", CLI_TOKEN_CLIENT_DEFAULT);

    errinfo e;
    buf issuer, out;
    buf_init(&issuer, 512);
    buf_init(&out, 64 * 1024);
    devkey *k = NULL;
    users *u = NULL;
    int rc = CLI_FAIL;
    if (!print_jwks && jwt_issuer_for_pool(NULL, pool, &issuer, &e) != 0) {
        rc = cli_usage_error("token", "%s (check AWS_COGNITO_USER_POOL_ID)", e.msg);
        goto out;
    }
    user me;
    if (!print_jwks) {
        u = cli_users_open();
        if (!u)
            goto out;
        if (users_by_handle(u, handle, &me, &e) != 0) {
            if (e.code == ERR_NOTFOUND)
                cli_fail("no user has the handle '%.64s' (see 'cruddur db seed' or the users "
                         "table)",
                         handle);
            else if (e.code == ERR_INVALID)
                rc = cli_usage_error("token", "%s", e.msg);
            else
                cli_fail("%s", e.msg);
            goto out;
        }
        if (me.cognito_user_id[0] == '\0') {
            char sub[UUID_BUF];
            if (rnd_uuid4(sub) != 0 || users_set_cognito_sub(u, me.handle, sub, &e) != 0) {
                cli_fail("cannot give '%s' a cognito_user_id: %s", me.handle,
                         e.msg[0] ? e.msg : "no randomness");
                goto out;
            }
            snprintf(me.cognito_user_id, sizeof me.cognito_user_id, "%s", sub);
            fprintf(stderr, "cruddur: set cognito_user_id of '%s' to %s\n", me.handle, sub);
        }
    }
    if (devkey_open(dir, &k, &e) != 0) {
        cli_fail("development key in %s: %s (check --key-dir / CRUDDUR_DEVKEY_DIR)", dir, e.msg);
        goto out;
    }
    if (print_jwks) {
        if (devkey_jwks_json(k, &out, &e) != 0) {
            cli_fail("%s", e.msg);
            goto out;
        }
    } else {
        devkey_claims c = { .sub = me.cognito_user_id,
                            .username = me.handle,
                            .issuer = buf_cstr(&issuer),
                            .client_id = client,
                            .ttl_s = ttl };
        if (devkey_mint(k, &c, &out, &e) != 0) {
            cli_fail("cannot mint a token: %s", e.msg);
            goto out;
        }
    }
    if (fputs(buf_cstr(&out), stdout) == EOF || fputc('\n', stdout) == EOF || fflush(stdout) != 0) {
        cli_fail("cannot write the output");
        goto out;
    }
    rc = CLI_OK;
out:
    devkey_free(k);
    users_close(u);
    buf_cleanup(&issuer);
    buf_cleanup_wipe(&out);
    return rc;
}
