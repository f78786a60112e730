/* fuzz_creds.c — what the credentials chain reads from outside (aws/creds_internal.h): the
 * first input byte picks
 *   bits 0-1 == 0..1: a shared file (creds_ini_profile; bit 0: the config form), bit 2-3: the
 *                     profile ("default", "dev", "a b" or "DEV");
 *   bits 0-1 == 2..3: a container (2) or IMDS (3) credentials answer (creds_parse_json).
 * Invariants: a shared file parses to values without NUL or LF and non-empty (the chain
 * checks their characters afterwards: creds_check_value), the same with a comment line
 * added at its end, and nothing on a failure; an endpoint answer gives
 * an access key id and secret of 1..128 bytes and a token of at most 8192, none with control
 * characters, and an expiry (never 0, which means "does not expire"), or nothing. */
#include "config.h"

#include "aws/creds_internal.h"
#include "fuzz.h"

#define FUZZ_CREDS_MAX_INPUT (64 * 1024)

static const char *const fuzz_creds_profiles[4] = { "default", "dev", "a b", "DEV" };

static void fuzz_creds_value_ok(const char *v, size_t max)
{
    if (!v)
        return;
    size_t n = strlen(v);
    FUZZ_CHECK(n >= 1 && n <= max);
    for (size_t i = 0; i < n; i++)
        FUZZ_CHECK((unsigned char)v[i] >= 0x20 && v[i] != 0x7f);
}

static bool fuzz_creds_same(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static void fuzz_creds_ini(const uint8_t *data, size_t size, unsigned mode)
{
    bool config_form = mode & 1;
    const char *profile = fuzz_creds_profiles[(mode >> 2) & 3];
    char *t = fuzz_dup(data, size);
    creds_profile p, q;
    errinfo e;
    int rc = creds_ini_profile((strv){ t, size }, profile, config_form, &p, &e);
    if (rc != 0) {
        FUZZ_CHECK(!p.found && !p.access_key_id && !p.secret_access_key && !p.session_token);
        FUZZ_CHECK(e.code == ERR_INVALID && strncmp(e.msg, "line ", 5) == 0);
    } else {
        const char *vals[3] = { p.access_key_id, p.secret_access_key, p.session_token };
        for (int i = 0; i < 3; i++)
            if (vals[i]) {
                FUZZ_CHECK(p.found);
                FUZZ_CHECK(vals[i][0] != '\0' && !strchr(vals[i], '\n'));
            }
    }
    /* a comment line at the end changes nothing */
    char *t2 = malloc(size + 12);
    FUZZ_CHECK(t2 != NULL);
    memcpy(t2, data, size);
    memcpy(t2 + size, "\n# comment\n", 11);
    int rc2 = creds_ini_profile((strv){ t2, size + 11 }, profile, config_form, &q, &e);
    FUZZ_CHECK(rc2 == rc);
    if (rc == 0) {
        FUZZ_CHECK(p.found == q.found);
        FUZZ_CHECK(fuzz_creds_same(p.access_key_id, q.access_key_id));
        FUZZ_CHECK(fuzz_creds_same(p.secret_access_key, q.secret_access_key));
        FUZZ_CHECK(fuzz_creds_same(p.session_token, q.session_token));
    }
    creds_profile_cleanup(&q);
    creds_profile_cleanup(&p);
    free(t2);
    free(t);
}

static void fuzz_creds_json(const uint8_t *data, size_t size, bool imds)
{
    char *b = fuzz_dup(data, size);
    creds_value v;
    errinfo e;
    memset(&v, 0x5a, sizeof v);
    if (creds_parse_json(b, size, imds, "fuzz", &v, &e) == 0) {
        FUZZ_CHECK(v.access_key_id && v.secret_access_key);
        fuzz_creds_value_ok(v.access_key_id, CREDS_MAX_KEY_ID);
        fuzz_creds_value_ok(v.secret_access_key, CREDS_MAX_SECRET);
        fuzz_creds_value_ok(v.session_token, CREDS_MAX_TOKEN);
        if (imds)
            FUZZ_CHECK(v.session_token != NULL);
        FUZZ_CHECK(v.expires_at_s != 0); /* an endpoint's credentials always expire */
    } else {
        FUZZ_CHECK(!v.access_key_id && !v.secret_access_key && !v.session_token);
        FUZZ_CHECK(e.msg[0] != '\0');
    }
    creds_value_cleanup(&v);
    free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > FUZZ_CREDS_MAX_INPUT)
        return 0;
    unsigned mode = data[0];
    if ((mode & 3) < 2)
        fuzz_creds_ini(data + 1, size - 1, mode);
    else
        fuzz_creds_json(data + 1, size - 1, (mode & 3) == 3);
    return 0;
}
