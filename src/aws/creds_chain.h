/* creds_chain.h — what the files of the credentials module share (private to
 * src/aws/creds*.c): the provider's state, the providers of the chain and the helpers they
 * use. Each provider answers CREDS_FOUND (credentials in *out, source left for the chain),
 * CREDS_NONE (not configured or nothing there: a short note for the "tried ..." message) or
 * -1 with e set (a hard error that stops the chain). No message quotes a secret. */
#ifndef CR_CREDS_CHAIN_H
#define CR_CREDS_CHAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aws/creds.h"
#include "aws/http.h"
#include "base/buf.h"
#include "base/errinfo.h"

#define CREDS_MAX_URI 2048 /* a URI or path from a variable */
#define CREDS_MAX_PATH 4096
#define CREDS_MAX_PROFILE 256

enum {
    CREDS_FOUND = 0,
    CREDS_NONE = 1
};

struct creds {
    creds_options opts;    /* defaults filled in */
    http *http;            /* made on the first container or IMDS request */
    creds_value cur;       /* access_key_id NULL: none held */
    int src;               /* index in creds_chain of the source that worked; -1 none */
    int64_t retry_after_s; /* no refresh attempt before this while cur is valid */
};

/* ---- the providers, in the chain's order ---- */
int creds_from_env(creds *c, creds_value *out, buf *note, errinfo *e);       /* creds.c */
int creds_from_files(creds *c, creds_value *out, buf *note, errinfo *e);     /* creds_file.c */
int creds_from_container(creds *c, creds_value *out, buf *note, errinfo *e); /* creds_remote.c */
int creds_from_imds(creds *c, creds_value *out, buf *note, errinfo *e);      /* creds_remote.c */

/* ---- helpers (creds.c) ---- */
void creds_wipe_free(char *s);            /* cleanses and frees; accepts NULL */
char *creds_dup(const char *p, size_t n); /* NUL-terminated copy; NULL on ENOMEM */
/* Fills out with copies (token.ptr may be NULL); 0, or -1 (ENOMEM) with out empty. */
int creds_value_fill(creds_value *out, strv id, strv secret, strv token, int64_t exp_s, errinfo *e);
/* Length 1..max, no control characters (nor spaces unless allow_space). 0 or -1. */
int creds_check_bytes(const char *what, const char *s, size_t len, size_t max, bool allow_space,
                      errinfo *e);
/* Checks a key id, secret and optional token (ptr NULL: absent); `where` prefixes names. */
int creds_check_set(const char *where, const char *const names[3], strv id, strv secret, strv token,
                    errinfo *e);
/* The variable through opts.getenv_fn (or getenv); NULL when unset or empty. */
const char *creds_env(const creds *c, const char *name);

/* ---- helpers (creds_file.c) ---- */
/* Reads a whole regular file of at most max bytes into out (initialised here; the caller
 * wipes it). 0 with *missing set when there is no such file; -1 with e set otherwise. */
int creds_read_file(const char *path, size_t max, buf *out, bool *missing, errinfo *e);
strv creds_trim(strv v); /* without leading and trailing blanks */

#endif
