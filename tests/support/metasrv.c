/* metasrv.c — the container and IMDSv2 credentials stand-in (metasrv.h); its state lives in
 * the loopsrv shared area. */
#include "config.h"
#include "metasrv.h"

#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "loopsrv.h"

#define METASRV_ROLE "test-role"
#define METASRV_CREDS_PATH "/latest/meta-data/iam/security-credentials/"
#define METASRV_TOKENS 32
#define METASRV_TOKEN_LEN 48

enum {
    MS_CONTAINER,
    MS_IMDS
};

typedef struct metasrv_state {
    long expires_in;
    char mode[2][16];
    bool auth_set;
    char auth[512];
    char tokens[METASRV_TOKENS][METASRV_TOKEN_LEN];
    int ntokens;
    long requests, container, token_puts, imds_creds, unauthorized;
    int serial[2];
    char body[2048];
} metasrv_state;

struct metasrv {
    loopsrv *srv;
};

static void ms_answer(loopsrv_reply *rp, int status, const char *body, const char *ctype)
{
    rp->status = status;
    rp->body = body;
    rp->body_len = strlen(body);
    rp->content_type = ctype;
}

static void ms_iso(time_t t, char out[32])
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The credentials answer for kind into st->body. */
static void ms_credentials(metasrv_state *st, int kind, loopsrv_reply *rp)
{
    const char *mode = st->mode[kind];
    int n = ++st->serial[kind];
    if (strcmp(mode, "garbage") == 0)
        return ms_answer(rp, 200, "this is {not json", "application/json");
    if (strcmp(mode, "error500") == 0)
        return ms_answer(rp, 500, "{\"message\":\"internal error\"}", "application/json");
    const char *tag = kind == MS_CONTAINER ? "CONTAINER" : "IMDS";
    const char *word = kind == MS_CONTAINER ? "container" : "imds";
    time_t now = time(NULL);
    char exp[32], upd[32], secret[128], x64[65];
    ms_iso(now + (strcmp(mode, "expired") == 0 ? -60 : st->expires_in), exp);
    ms_iso(now, upd);
    memset(x64, 'x', 64);
    x64[64] = '\0';
    if (strcmp(mode, "badsecret") == 0)
        snprintf(secret, sizeof secret, "%sSecret%04d\\u0001/abc", word, n);
    else
        snprintf(secret, sizeof secret, "%sSecret%04d/abcDEF+ghiJKL", word, n);
    char imds[160] = "";
    if (kind == MS_IMDS)
        snprintf(imds, sizeof imds, "\"Code\":\"%s\",\"LastUpdated\":\"%s\",\"Type\":\"AWS-HMAC\",",
                 strcmp(mode, "failcode") == 0 ? "Failure" : "Success", upd);
    snprintf(st->body, sizeof st->body,
             "{%s\"AccessKeyId\":\"ASIA%s%04d\",\"SecretAccessKey\":\"%s\","
             "\"Token\":\"%sToken%04d+%s\",\"Expiration\":\"%s\"}",
             imds, tag, n, secret, word, n, x64, exp);
    ms_answer(rp, 200, st->body, "application/json");
}

static bool ms_token_ok(metasrv_state *st, const char *headers)
{
    char tok[METASRV_TOKEN_LEN + 8];
    if (loopsrv_header(headers, "X-aws-ec2-metadata-token", tok, sizeof tok))
        for (int i = 0; i < st->ntokens; i++)
            if (strcmp(st->tokens[i], tok) == 0)
                return true;
    st->unauthorized++;
    return false;
}

static void ms_handle(void *shared, const char *method, const char *target, const char *headers,
                      loopsrv_reply *rp)
{
    metasrv_state *st = shared;
    st->requests++;
    if (strcmp(method, "PUT") == 0) {
        if (strcmp(target, "/latest/api/token") != 0)
            return ms_answer(rp, 404, "not found", "text/plain");
        char ttl[32];
        char *end = NULL;
        long v = loopsrv_header(headers, "X-aws-ec2-metadata-token-ttl-seconds", ttl, sizeof ttl)
                     ? strtol(ttl, &end, 10)
                     : 0;
        if (!end || end == ttl || *end || v < 1 || v > 21600)
            return ms_answer(rp, 400, "bad ttl", "text/plain");
        st->token_puts++;
        int i = st->ntokens < METASRV_TOKENS ? st->ntokens++ : METASRV_TOKENS - 1;
        snprintf(st->tokens[i], sizeof st->tokens[i], "tok-%08x-%ld-%d", (unsigned)rand(),
                 st->token_puts, i);
        return ms_answer(rp, 200, st->tokens[i], "text/plain");
    }
    if (strcmp(method, "GET") != 0)
        return ms_answer(rp, 404, "not found", "text/plain");
    if (strncmp(target, "/creds", 6) == 0) {
        st->container++;
        char got[512];
        if (st->auth_set && (!loopsrv_header(headers, "Authorization", got, sizeof got) ||
                             strcmp(got, st->auth) != 0)) {
            st->unauthorized++;
            return ms_answer(rp, 401, "{\"message\":\"unauthorized\"}", "application/json");
        }
        return ms_credentials(st, MS_CONTAINER, rp);
    }
    if (strcmp(target, METASRV_CREDS_PATH) == 0) {
        if (!ms_token_ok(st, headers))
            return ms_answer(rp, 401, "", "text/plain");
        if (strcmp(st->mode[MS_IMDS], "norole") == 0)
            return ms_answer(rp, 404, "not found", "text/plain");
        return ms_answer(rp, 200, METASRV_ROLE, "text/plain");
    }
    if (strcmp(target, METASRV_CREDS_PATH METASRV_ROLE) == 0) {
        if (!ms_token_ok(st, headers))
            return ms_answer(rp, 401, "", "text/plain");
        st->imds_creds++;
        return ms_credentials(st, MS_IMDS, rp);
    }
    ms_answer(rp, 404, "not found", "text/plain");
}

metasrv *metasrv_start(void)
{
    metasrv *s = calloc(1, sizeof *s);
    ck_assert_ptr_nonnull(s);
    s->srv = loopsrv_start(NULL, ms_handle, sizeof(metasrv_state));
    metasrv_state *st = loopsrv_shared(s->srv);
    loopsrv_lock(s->srv);
    st->expires_in = 3600;
    snprintf(st->mode[MS_CONTAINER], sizeof st->mode[0], "ok");
    snprintf(st->mode[MS_IMDS], sizeof st->mode[0], "ok");
    loopsrv_unlock(s->srv);
    return s;
}

int metasrv_port(const metasrv *s)
{
    return loopsrv_port(s->srv);
}

void metasrv_stop(metasrv *s)
{
    if (!s)
        return;
    loopsrv_stop(s->srv);
    free(s);
}

const char *metasrv_command(metasrv *s, const char *line)
{
    static char reply[256];
    metasrv_state *st = loopsrv_shared(s->srv);
    char word[16] = "", kind[16] = "", mode[16] = "";
    snprintf(reply, sizeof reply, "ok");
    loopsrv_lock(s->srv);
    if (sscanf(line, "expires_in %15s", word) == 1) {
        st->expires_in = strtol(word, NULL, 10);
    } else if (sscanf(line, "mode %15s %15s", kind, mode) == 2 &&
               (strcmp(kind, "container") == 0 || strcmp(kind, "imds") == 0)) {
        snprintf(st->mode[strcmp(kind, "imds") == 0], sizeof st->mode[0], "%s", mode);
    } else if (strncmp(line, "auth ", 5) == 0) {
        const char *v = line + 5 + strspn(line + 5, " ");
        st->auth_set = strcmp(v, "-") != 0;
        snprintf(st->auth, sizeof st->auth, "%s", st->auth_set ? v : "");
    } else if (strcmp(line, "stats") == 0) {
        snprintf(reply, sizeof reply,
                 "requests=%ld container=%ld token_puts=%ld imds_creds=%ld unauthorized=%ld",
                 st->requests, st->container, st->token_puts, st->imds_creds, st->unauthorized);
    } else {
        snprintf(reply, sizeof reply, "error unknown command");
    }
    loopsrv_unlock(s->srv);
    return reply;
}
