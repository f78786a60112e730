/* ddbscript.c — see ddbscript.h. */
#include "config.h"

#include "ddbscript.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DDBSCRIPT_MAX 256

typedef struct ddbscript_answer {
    char op[48]; /* "" : any */
    long status;
    http_fail fail;
    char *body;
} ddbscript_answer;

struct ddbscript {
    ddb *d;
    creds *cr;
    ddbscript_answer answers[DDBSCRIPT_MAX];
    size_t nanswers, next;
    char ops[DDBSCRIPT_MAX][48];
    json_t *bodies[DDBSCRIPT_MAX];
    size_t ncalls;
    size_t unexpected;
};

static void *ddbscript_must(void *p)
{
    if (!p) {
        fprintf(stderr, "ddbscript: out of memory\n");
        abort();
    }
    return p;
}

static const char *ddbscript_env(const char *name)
{
    if (strcmp(name, "AWS_ACCESS_KEY_ID") == 0)
        return "AKIDSCRIPT";
    if (strcmp(name, "AWS_SECRET_ACCESS_KEY") == 0)
        return "scripted-secret";
    return NULL;
}

/* The operation named by the X-Amz-Target header ("DynamoDB_20120810.PutItem"). */
static void ddbscript_target(const char *const *headers, char *op, size_t n)
{
    op[0] = '\0';
    for (const char *const *h = headers; h && *h; h++) {
        if (strncasecmp(*h, "x-amz-target:", 13) != 0)
            continue;
        const char *dot = strrchr(*h, '.');
        snprintf(op, n, "%s", dot ? dot + 1 : *h + 13);
        return;
    }
}

static int ddbscript_transport(void *arg, const char *method, const char *url,
                               const char *const *headers, const void *body, size_t body_len,
                               http_response *resp, errinfo *e)
{
    ddbscript *s = arg;
    (void)method;
    (void)url;
    char op[48];
    ddbscript_target(headers, op, sizeof op);
    if (s->ncalls < DDBSCRIPT_MAX) {
        memcpy(s->ops[s->ncalls], op, sizeof op);
        s->bodies[s->ncalls] = json_loadb(body, body_len, 0, NULL);
        s->ncalls++;
    }
    ddbscript_answer *a = s->next < s->nanswers ? &s->answers[s->next] : NULL;
    if (!a || (a->op[0] && strcmp(a->op, op) != 0)) {
        s->unexpected++;
        resp->status = 500;
        const char *msg = "{\"__type\":\"ddbscript#Unexpected\",\"message\":\"no answer queued\"}";
        buf_append(&resp->body, msg, strlen(msg));
        return 0;
    }
    s->next++;
    if (a->fail != HTTP_FAIL_NONE) {
        resp->fail = a->fail;
        errinfo_set(e, ERR_IO, "scripted transport failure: %s", http_fail_name(a->fail));
        return -1;
    }
    resp->status = a->status;
    snprintf(resp->request_id, sizeof resp->request_id, "SCRIPT%zu", s->next);
    buf_append(&resp->body, a->body, strlen(a->body));
    return 0;
}

ddbscript *ddbscript_new(int max_attempts)
{
    return ddbscript_new_observed(max_attempts, NULL, NULL);
}

ddbscript *ddbscript_new_observed(int max_attempts, aws_observe_fn observe, void *arg)
{
    ddbscript *s = ddbscript_must(calloc(1, sizeof *s));
    s->cr = ddbscript_must(creds_new(&(creds_options){ .getenv_fn = ddbscript_env }));
    ddb_options o = {
        .region = "us-east-1",
        .endpoint = "http://ddbscript.invalid/",
        .streams_endpoint = "http://ddbscript-streams.invalid/",
        .ignore_endpoint_env = true,
        .retry = { .max_attempts = max_attempts, .base_ms = 1, .cap_ms = 2 },
        .credentials = s->cr,
        .transport = ddbscript_transport,
        .transport_arg = s,
        .observe = observe,
        .observe_arg = arg,
    };
    errinfo e = { 0 };
    s->d = ddb_new(&o, &e);
    if (!s->d) {
        fprintf(stderr, "ddbscript: %s\n", e.msg);
        abort();
    }
    return s;
}

void ddbscript_free(ddbscript *s)
{
    if (!s)
        return;
    ddb_free(s->d);
    creds_free(s->cr);
    for (size_t i = 0; i < s->nanswers; i++)
        free(s->answers[i].body);
    for (size_t i = 0; i < s->ncalls; i++)
        json_decref(s->bodies[i]);
    free(s);
}

ddb *ddbscript_ddb(ddbscript *s)
{
    return s->d;
}

static void ddbscript_push(ddbscript *s, const char *op, long status, http_fail f, const char *body)
{
    if (s->nanswers == DDBSCRIPT_MAX) {
        fprintf(stderr, "ddbscript: more than %d answers queued\n", DDBSCRIPT_MAX);
        abort();
    }
    ddbscript_answer *a = &s->answers[s->nanswers++];
    snprintf(a->op, sizeof a->op, "%s", op ? op : "");
    a->status = status;
    a->fail = f;
    a->body = ddbscript_must(strdup(body ? body : ""));
}

void ddbscript_reply(ddbscript *s, const char *op, long status, const char *body)
{
    ddbscript_push(s, op, status, HTTP_FAIL_NONE, body);
}

void ddbscript_ok(ddbscript *s, const char *op, const char *body)
{
    ddbscript_push(s, op, 200, HTTP_FAIL_NONE, body ? body : "{}");
}

void ddbscript_error(ddbscript *s, const char *op, const char *type)
{
    char body[256];
    snprintf(body, sizeof body,
             "{\"__type\":\"com.amazonaws.dynamodb.v20120810#%s\",\"message\":\"scripted\"}", type);
    ddbscript_push(s, op, 400, HTTP_FAIL_NONE, body);
}

void ddbscript_cancel(ddbscript *s, const char *reasons)
{
    json_t *list = ddbscript_must(json_array());
    const char *p = reasons;
    while (*p) {
        size_t n = strcspn(p, ",");
        char code[64];
        snprintf(code, sizeof code, "%.*s", (int)n, p);
        json_t *r = strcmp(code, "None") == 0
                        ? json_pack("{s:s}", "Code", "None")
                        : json_pack("{s:s,s:s}", "Code", code, "Message", "scripted");
        json_array_append_new(list, ddbscript_must(r));
        p += n;
        if (*p == ',')
            p++;
    }
    json_t *o = ddbscript_must(json_pack(
        "{s:s,s:s,s:o}", "__type", "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
        "message", "Transaction cancelled, please refer cancellation reasons for specific reasons",
        "CancellationReasons", list));
    char *text = ddbscript_must(json_dumps(o, JSON_COMPACT));
    json_decref(o);
    ddbscript_push(s, "TransactWriteItems", 400, HTTP_FAIL_NONE, text);
    free(text);
}

void ddbscript_fail(ddbscript *s, const char *op, http_fail f)
{
    ddbscript_push(s, op, 0, f, "");
}

size_t ddbscript_calls(const ddbscript *s)
{
    return s->ncalls;
}

const char *ddbscript_op(const ddbscript *s, size_t i)
{
    return i < s->ncalls ? s->ops[i] : "";
}

const json_t *ddbscript_body(const ddbscript *s, size_t i)
{
    return i < s->ncalls ? s->bodies[i] : NULL;
}

size_t ddbscript_pending(const ddbscript *s)
{
    return s->nanswers - s->next;
}

size_t ddbscript_unexpected(const ddbscript *s)
{
    return s->unexpected;
}
