/* cli.c — shared helpers of the `cruddur` commands. */
#include "config.h"
#include "cli/cli.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "base/env.h"
#include "messaging/messaging.h"

const char *cli_table(void)
{
    return messaging_table();
}

const char *cli_local_endpoint(void)
{
    const char *e = env_str("AWS_ENDPOINT_URL_DYNAMODB");
    if (!e)
        e = env_str("AWS_ENDPOINT_URL");
    return e ? e : "http://127.0.0.1:8000";
}

void cli_positional_prod(int argc, char **argv, int min_operands)
{
    if (argc < 2 || strcmp(argv[argc - 1], "prod") != 0)
        return;
    int operands = 0;
    for (int i = 1; i < argc - 1; i++)
        operands += argv[i][0] != '-';
    if (operands >= min_operands)
        argv[argc - 1] = (char *)"--prod";
}

int cli_exit_status(int status)
{
    return status == CLI_HELP ? CLI_OK : status;
}

int cli_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("cruddur: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return CLI_FAIL;
}

int cli_nomem(void)
{
    return cli_fail("out of memory");
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "cruddur %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nRun 'cruddur %s --help' for usage.\n", cmd);
    va_end(ap);
    return CLI_USAGE;
}

bool cli_stdout_is_tty(void)
{
    return isatty(STDOUT_FILENO) == 1;
}

bool cli_confirm(const char *question)
{
    FILE *tty = fopen("/dev/tty", "r+");
    if (!tty)
        return false;
    fprintf(tty, "%s [y/N] ", question);
    fflush(tty);
    char line[16];
    bool yes = false;
    if (fgets(line, sizeof line, tty)) {
        line[strcspn(line, "\r\n")] = '\0';
        yes = strcasecmp(line, "y") == 0 || strcasecmp(line, "yes") == 0;
    }
    fclose(tty);
    return yes;
}

ddb *cli_ddb_open(bool prod)
{
    ddb_options o = { 0 };
    if (prod) {
        o.ignore_endpoint_env = true;
    } else {
        o.endpoint = cli_local_endpoint();
        /* A local stack never has instance metadata: do not let the credentials chain
         * look for it (no traffic beyond the endpoint the user named). */
        if (!env_str("AWS_EC2_METADATA_DISABLED"))
            setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
    }
    errinfo e;
    ddb *d = ddb_new(&o, &e);
    if (!d)
        cli_fail("%s", e.msg);
    return d;
}

int cli_ddb_fail(const ddb *d, const ddb_error *err, const char *what)
{
    if (err->fail == HTTP_FAIL_CONNECT || err->fail == HTTP_FAIL_TIMEOUT) {
        const char *ep = d ? ddb_endpoint(d) : "?";
        bool local =
            strstr(ep, "://127.0.0.1") || strstr(ep, "://localhost") || strstr(ep, "://[::1]");
        return cli_fail("%s: DynamoDB%s not reachable at %s — is the stack up? (script/server)",
                        what, local ? " Local" : "", ep);
    }
    if (ddb_error_is(err, "ResourceNotFoundException"))
        return cli_fail("%s: %s (create the table with: cruddur ddb schema-load)", what,
                        err->info.msg);
    return cli_fail("%s: %s", what, err->info.msg);
}

users *cli_users_open(void)
{
    errinfo e;
    users *u = users_open(NULL, &e);
    if (u)
        return u;
    if (e.code == ERR_CONFIG)
        cli_fail("%s (for the local stack: eval \"$(script/server env)\")", e.msg);
    else if (e.code == ERR_NOTFOUND)
        cli_fail("%s (create it with: cruddur db setup)", e.msg);
    else if (e.code == ERR_SERVICE)
        cli_fail("%s", e.msg);
    else
        cli_fail("%s — is PostgreSQL up? (script/server)", e.msg);
    return NULL;
}
