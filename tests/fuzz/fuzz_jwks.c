/* fuzz_jwks.c — loading a JSON Web Key Set (auth/jwks.c, jwks_load_json) from any bytes:
 * a load that fails keeps the old set; one that succeeds has 1..JWKS_MAX_KEYS usable keys,
 * and each kid of the document whose key is usable (looked up with jwks_get) is an RSA key
 * of JWKS_MIN_BITS..JWKS_MAX_BITS. */
#include "config.h"

#include <jansson.h>
#include <openssl/evp.h>

#include "auth/jwks.h"
#include "fuzz.h"

#define FUZZ_JWKS_MAX_INPUT (JWKS_MAX_BYTES + 1)

/* A set to start from: one known key, so that a failed load can be seen to keep it. */
static const char fuzz_jwks_base[] =
    "{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"base\",\"alg\":\"RS256\",\"use\":\"sig\",\"e\":\"AQAB\","
    "\"n\":\"rcZKSohTZEiPZD8a4-0kPrwt8lU0am55f7VLsYN-7nk-v6D1EspUGK1JfUmUYg8pD6e46Ew82kq1Dnhk17f9"
    "qO03zC5ziZ5yV7i6681gvK2a85GAdf_nok-3eDZ3Pq7UJQI5crWxMU59zFLXUg2mvpzuVp8YgzkikMEIibh5"
    "QCErf8mfJMOG48p7UW8J1Xp8jcYmKTpI_qln4txi7jujMzWgR7vcPHgTVtmwMJbIMeljrwqQmMZBkBRKOJVU"
    "zxh2sdlaU0hEtnUuclCeXAtgebGEiAzAgopnOL6L_Qlh5xHHlhliZ2R6aiD5ffNG6_8ca2TdF1yZQ9-azsTG"
    "UNW20Q\"}]}";

static int64_t fuzz_jwks_now(void *ud)
{
    (void)ud;
    return 1000;
}

static void fuzz_jwks_check_key(jwks *k, const char *kid)
{
    EVP_PKEY *pkey = NULL;
    errinfo e;
    if (jwks_get(k, kid, &pkey, &e) != 0) {
        FUZZ_CHECK(pkey == NULL);
        return;
    }
    FUZZ_CHECK(pkey != NULL);
    FUZZ_CHECK(EVP_PKEY_is_a(pkey, "RSA"));
    int bits = EVP_PKEY_get_bits(pkey);
    FUZZ_CHECK(bits >= JWKS_MIN_BITS && bits <= JWKS_MAX_BITS);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > FUZZ_JWKS_MAX_INPUT)
        return 0;
    errinfo e;
    jwks_options o = { .source = "/nonexistent/cruddur-fuzz/jwks.json", .now_s_fn = fuzz_jwks_now };
    jwks *k = jwks_new(&o, &e);
    FUZZ_CHECK(k != NULL);
    jwks_info before, after;
    FUZZ_CHECK(jwks_load_json(k, fuzz_jwks_base, sizeof fuzz_jwks_base - 1, &e) == 0);
    jwks_get_info(k, &before);
    char *p = fuzz_dup(data, size);
    int rc = jwks_load_json(k, p, size, &e);
    free(p);
    jwks_get_info(k, &after);
    if (rc != 0) {
        FUZZ_CHECK(e.code == ERR_INVALID || e.code == ERR_TOOBIG);
        FUZZ_CHECK(after.keys == before.keys && after.skipped == before.skipped);
        EVP_PKEY *pkey = NULL;
        FUZZ_CHECK(jwks_get(k, "base", &pkey, &e) == 0 && pkey != NULL);
    } else {
        FUZZ_CHECK(after.keys >= 1 && after.keys <= JWKS_MAX_KEYS);
        json_t *doc = json_loadb((const char *)data, size, 0, NULL);
        json_t *keys = json_object_get(doc, "keys"), *key;
        size_t i;
        json_array_foreach(keys, i, key)
        {
            const char *kid = json_string_value(json_object_get(key, "kid"));
            if (kid)
                fuzz_jwks_check_key(k, kid);
        }
        json_decref(doc);
    }
    jwks_free(k);
    return 0;
}
