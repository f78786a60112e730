/* check_tls.c — HTTPS with a private CA (AWS_CA_BUNDLE, the shared config's ca_bundle)
 * against TLS servers on loopback (tests/support/loopsrv.h, in child processes) answering as
 * DynamoDB's ListTables (POST /close also closes the connection after answering) and as a
 * JWKS endpoint ({"keys":[]}), with certificates this test makes: the
 * DynamoDB client trusts exactly the configured bundle, and a wrong host name, an expired
 * certificate or an untrusted CA fail with HTTP_FAIL_TLS before any request is sent. The
 * JWKS fetch goes through the same transport and trusts the same bundle. */
#include "config.h"

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "auth/jwks.h"
#include "aws/ddb.h"
#include "aws/http.h"
#include "loopsrv.h"
#include "tap.h"

static char g_dir[] = "/tmp/check-tls-XXXXXX";
static char g_ca[300], g_other_ca[300];

/* ---- certificates ---------------------------------------------------------------------- */

static EVP_PKEY *tls_key(void)
{
    EVP_PKEY *k = EVP_RSA_gen(2048);
    ck_assert_ptr_nonnull(k);
    return k;
}

static void tls_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    ck_assert_ptr_nonnull(ext);
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
}

/* A certificate for key, signed by (ca, ca_key) or self-signed when ca is NULL; valid from
 * from_s to to_s seconds from now; san NULL for a CA. */
static X509 *tls_cert(EVP_PKEY *key, X509 *ca, EVP_PKEY *ca_key, const char *cn, const char *san,
                      long from_s, long to_s)
{
    static long serial = 1;
    X509 *x = X509_new();
    ck_assert_ptr_nonnull(x);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
    X509_gmtime_adj(X509_getm_notBefore(x), from_s);
    X509_gmtime_adj(X509_getm_notAfter(x), to_s);
    X509_set_pubkey(x, key);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, ca ? X509_get_subject_name(ca) : name);
    if (san) {
        tls_ext(x, ca, NID_basic_constraints, "critical,CA:FALSE");
        tls_ext(x, ca, NID_subject_alt_name, san);
    } else {
        tls_ext(x, x, NID_basic_constraints, "critical,CA:TRUE");
        tls_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign");
    }
    ck_assert_int_gt(X509_sign(x, ca_key ? ca_key : key, EVP_sha256()), 0);
    return x;
}

static void tls_write(const char *path, X509 *x, EVP_PKEY *k)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    if (x)
        ck_assert(PEM_write_X509(f, x));
    if (k)
        ck_assert(PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL));
    fclose(f);
}

/* ---- the servers --------------------------------------------------------------------------- */

/* Bodies of GET /big/N: N bytes of a pattern (big_byte), for answers of many TLS records. */
#define BIG_MAX 200000
static char g_big[BIG_MAX];

static char big_byte(size_t i)
{
    return (char)('a' + (i * 7 + i / 251) % 26);
}

/* The DynamoDB and JWKS stand-in: POST (any path) answers a ListTables reply, POST /close
 * then closes the connection; GET of a path ending in jwks.json an empty key set; GET
 * /big/N N bytes of g_big; else 404. */
static void srv_handle(void *shared, const char *method, const char *target, const char *headers,
                       loopsrv_reply *rp)
{
    (void)shared;
    (void)headers;
    static const char tables[] = "{\"TableNames\":[\"tls-table\"]}", keys[] = "{\"keys\":[]}";
    size_t n = strlen(target);
    if (strcmp(method, "POST") == 0) {
        rp->content_type = "application/x-amz-json-1.0";
        rp->body = tables;
        rp->body_len = sizeof tables - 1;
        rp->close = strcmp(target, "/close") == 0;
    } else if (strcmp(method, "GET") == 0 && strncmp(target, "/big/", 5) == 0) {
        size_t len = strtoul(target + 5, NULL, 10);
        rp->body = g_big;
        rp->body_len = len < BIG_MAX ? len : BIG_MAX;
    } else if (strcmp(method, "GET") == 0 && n >= 9 && strcmp(target + n - 9, "jwks.json") == 0) {
        rp->body = keys;
        rp->body_len = sizeof keys - 1;
    } else {
        rp->status = 404;
    }
}

enum {
    SRV_GOOD,
    SRV_WRONG_HOST,
    SRV_EXPIRED,
    SRV_N
};
static loopsrv *g_srv[SRV_N];
static int g_port[SRV_N];

/* HTTP requests the server answered (a client that refused the certificate sends none). */
static long srv_count(loopsrv *s)
{
    long n;
    loopsrv_counts(s, &n, NULL, NULL);
    return n;
}

/* The server's TLS connections and how many resumed a session. */
static void srv_conns(loopsrv *s, long *conns, long *resumed)
{
    loopsrv_counts(s, NULL, conns, resumed);
}

static void setup(void)
{
    for (size_t i = 0; i < BIG_MAX; i++)
        g_big[i] = big_byte(i);
    ck_assert_ptr_nonnull(mkdtemp(g_dir));
    EVP_PKEY *ca_key = tls_key(), *other_key = tls_key(), *key = tls_key();
    X509 *ca = tls_cert(ca_key, NULL, NULL, "Cruddur test CA", NULL, -3600, 86400);
    X509 *other = tls_cert(other_key, NULL, NULL, "Another CA", NULL, -3600, 86400);
    snprintf(g_ca, sizeof g_ca, "%s/ca.pem", g_dir);
    snprintf(g_other_ca, sizeof g_other_ca, "%s/other-ca.pem", g_dir);
    tls_write(g_ca, ca, NULL);
    tls_write(g_other_ca, other, NULL);
    static const struct {
        const char *san;
        long from, to;
    } leaf[SRV_N] = {
        [SRV_GOOD] = { "IP:127.0.0.1,DNS:localhost", -3600, 86400 },
        [SRV_WRONG_HOST] = { "DNS:other.example", -3600, 86400 },
        [SRV_EXPIRED] = { "IP:127.0.0.1,DNS:localhost", -7200, -3600 },
    };
    for (int i = 0; i < SRV_N; i++) {
        X509 *x = tls_cert(key, ca, ca_key, "server", leaf[i].san, leaf[i].from, leaf[i].to);
        char pem[320];
        snprintf(pem, sizeof pem, "%s/server%d.pem", g_dir, i);
        tls_write(pem, x, key);
        X509_free(x);
        g_srv[i] = loopsrv_start(pem, srv_handle, 0);
        g_port[i] = loopsrv_port(g_srv[i]);
    }
    X509_free(ca);
    X509_free(other);
    EVP_PKEY_free(ca_key);
    EVP_PKEY_free(other_key);
    EVP_PKEY_free(key);
    /* nothing of the developer's: no shared config, test credentials */
    setenv("AWS_CONFIG_FILE", "/nonexistent/cruddur-check-tls", 1);
    setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/cruddur-check-tls", 1);
    setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", 1);
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
    unsetenv("AWS_PROFILE");
    unsetenv("AWS_CA_BUNDLE");
}

static void teardown(void)
{
    for (int i = 0; i < SRV_N; i++)
        loopsrv_stop(g_srv[i]);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", g_dir);
}

/* ListTables against server i by host (127.0.0.1 or localhost): 0 with the table name, or
 * -1 with *fail. Creates the client with the environment as it is. */
static int list_tables(int i, const char *host, http_fail *fail, char *msg, size_t msglen)
{
    char ep[128];
    snprintf(ep, sizeof ep, "https://%s:%d", host, g_port[i]);
    ddb_options o = { .endpoint = ep, .region = "us-east-1", .retry = { .max_attempts = 1 } };
    errinfo e;
    ddb *d = ddb_new(&o, &e);
    if (!d) {
        snprintf(msg, msglen, "%s", e.msg);
        *fail = HTTP_FAIL_OTHER;
        return -2;
    }
    json_t *names = NULL;
    ddb_error err;
    ddb_error_clear(&err);
    int rc = ddb_list_tables(d, 10, &names, &err);
    *fail = err.fail;
    snprintf(msg, msglen, "%s",
             rc == 0 ? json_string_value(json_array_get(names, 0)) : err.info.msg);
    json_decref(names);
    ddb_free(d);
    return rc;
}

START_TEST(the_bundle_is_trusted_and_nothing_else)
{
    http_fail f;
    char msg[512];
    long before = srv_count(g_srv[SRV_GOOD]);
    setenv("AWS_CA_BUNDLE", g_ca, 1);
    ck_assert_msg(list_tables(SRV_GOOD, "127.0.0.1", &f, msg, sizeof msg) == 0, "%s", msg);
    ck_assert_str_eq(msg, "tls-table");
    ck_assert_msg(list_tables(SRV_GOOD, "localhost", &f, msg, sizeof msg) == 0, "%s", msg);
    ck_assert_int_eq(srv_count(g_srv[SRV_GOOD]), before + 2);

    /* The system's trust store does not know the private CA; another CA is no better. */
    unsetenv("AWS_CA_BUNDLE");
    ck_assert_int_eq(list_tables(SRV_GOOD, "127.0.0.1", &f, msg, sizeof msg), -1);
    ck_assert_msg(f == HTTP_FAIL_TLS, "%s: %s", http_fail_name(f), msg);
    setenv("AWS_CA_BUNDLE", g_other_ca, 1);
    ck_assert_int_eq(list_tables(SRV_GOOD, "127.0.0.1", &f, msg, sizeof msg), -1);
    ck_assert_msg(f == HTTP_FAIL_TLS, "%s: %s", http_fail_name(f), msg);
    ck_assert_int_eq(srv_count(g_srv[SRV_GOOD]), before + 2); /* nothing was sent */
    unsetenv("AWS_CA_BUNDLE");
}
END_TEST

START_TEST(a_wrong_host_or_an_expired_certificate_fails_before_the_request)
{
    http_fail f;
    char msg[512];
    setenv("AWS_CA_BUNDLE", g_ca, 1);
    ck_assert_int_eq(list_tables(SRV_WRONG_HOST, "127.0.0.1", &f, msg, sizeof msg), -1);
    ck_assert_msg(f == HTTP_FAIL_TLS, "wrong host: %s: %s", http_fail_name(f), msg);
    ck_assert_int_eq(list_tables(SRV_EXPIRED, "127.0.0.1", &f, msg, sizeof msg), -1);
    ck_assert_msg(f == HTTP_FAIL_TLS, "expired: %s: %s", http_fail_name(f), msg);
    ck_assert_int_eq(srv_count(g_srv[SRV_WRONG_HOST]), 0);
    ck_assert_int_eq(srv_count(g_srv[SRV_EXPIRED]), 0);
    unsetenv("AWS_CA_BUNDLE");
}
END_TEST

START_TEST(ca_bundle_of_the_profile_in_the_shared_config)
{
    char conf[320], text[1024], msg[512];
    snprintf(conf, sizeof conf, "%s/config", g_dir);
    FILE *f = fopen(conf, "w");
    ck_assert_ptr_nonnull(f);
    snprintf(text, sizeof text,
             "[default]\nregion = us-east-1\nca_bundle = %s\n\n"
             "[profile other]\nca_bundle = %s\n",
             g_other_ca, g_ca);
    fputs(text, f);
    fclose(f);
    setenv("AWS_CONFIG_FILE", conf, 1);
    http_fail hf;
    /* default: the other CA, so the server is not trusted */
    ck_assert_int_eq(list_tables(SRV_GOOD, "127.0.0.1", &hf, msg, sizeof msg), -1);
    ck_assert_int_eq(hf, HTTP_FAIL_TLS);
    setenv("AWS_PROFILE", "other", 1);
    ck_assert_msg(list_tables(SRV_GOOD, "127.0.0.1", &hf, msg, sizeof msg) == 0, "%s", msg);
    /* AWS_CA_BUNDLE wins over the file */
    setenv("AWS_CA_BUNDLE", g_other_ca, 1);
    ck_assert_int_eq(list_tables(SRV_GOOD, "127.0.0.1", &hf, msg, sizeof msg), -1);
    unsetenv("AWS_CA_BUNDLE");
    unsetenv("AWS_PROFILE");
    setenv("AWS_CONFIG_FILE", "/nonexistent/cruddur-check-tls", 1);

    /* what creds_ca_bundle finds, "~/" expanded */
    char out[512];
    errinfo e;
    setenv("AWS_CA_BUNDLE", "~/certs/ca.pem", 1);
    setenv("HOME", "/home/someone", 1);
    ck_assert_int_eq(creds_ca_bundle(out, sizeof out, &e), 0);
    ck_assert_str_eq(out, "/home/someone/certs/ca.pem");
    ck_assert_int_eq(creds_ca_bundle(out, 8, &e), -1); /* too long for the room */
    unsetenv("AWS_CA_BUNDLE");
    ck_assert_int_eq(creds_ca_bundle(out, sizeof out, &e), 0);
    ck_assert_str_eq(out, "");
}
END_TEST

START_TEST(a_missing_bundle_is_a_clear_error_at_start)
{
    setenv("AWS_CA_BUNDLE", "/nonexistent/ca.pem", 1);
    ddb_options o = { .endpoint = "https://127.0.0.1:9", .region = "us-east-1" };
    errinfo e;
    ddb *d = ddb_new(&o, &e);
    ck_assert_ptr_null(d);
    ck_assert_msg(strstr(e.msg, "/nonexistent/ca.pem") && strstr(e.msg, "cannot be read"), "%s",
                  e.msg);
    /* a FIFO (nobody writing) and a directory: the same error at once, no wait for a writer */
    char fifo[320];
    snprintf(fifo, sizeof fifo, "%s/ca.fifo", g_dir);
    ck_assert_int_eq(mkfifo(fifo, 0600), 0);
    const char *odd[] = { fifo, g_dir };
    for (int i = 0; i < 2; i++) {
        setenv("AWS_CA_BUNDLE", odd[i], 1);
        ck_assert_ptr_null(ddb_new(&o, &e));
        ck_assert_msg(strstr(e.msg, "cannot be read: not a regular file"), "%s", e.msg);
    }
    unlink(fifo);
    unsetenv("AWS_CA_BUNDLE");
}
END_TEST

/* HTTPS keeps its connection: one handshake for many requests, and a reconnect after the
 * server closed the connection resumes the TLS session. */
START_TEST(https_keeps_its_connection_and_resumes_the_session)
{
    setenv("AWS_CA_BUNDLE", g_ca, 1);
    errinfo e;
    http *h = http_new(NULL, &e);
    ck_assert_msg(h != NULL, "%s", e.msg);
    char url[128], close_url[128];
    snprintf(url, sizeof url, "https://127.0.0.1:%d/", g_port[SRV_GOOD]);
    snprintf(close_url, sizeof close_url, "https://127.0.0.1:%d/close", g_port[SRV_GOOD]);
    long c0, r0, c1, r1;
    srv_conns(g_srv[SRV_GOOD], &c0, &r0);
    http_response resp;
    http_response_init(&resp);
    for (int i = 0; i < 20; i++) {
        ck_assert_msg(http_request(h, "POST", url, NULL, "{}", 2, &resp, &e) == 0, "%s", e.msg);
        ck_assert_int_eq(resp.status, 200);
        ck_assert_str_eq(buf_cstr(&resp.body), "{\"TableNames\":[\"tls-table\"]}");
    }
    srv_conns(g_srv[SRV_GOOD], &c1, &r1);
    ck_assert_int_eq(c1 - c0, 1);
    /* the server closes; the next request reconnects, resuming the session */
    ck_assert_msg(http_request(h, "POST", close_url, NULL, "{}", 2, &resp, &e) == 0, "%s", e.msg);
    ck_assert_msg(http_request(h, "POST", url, NULL, "{}", 2, &resp, &e) == 0, "%s", e.msg);
    ck_assert_int_eq(resp.status, 200);
    srv_conns(g_srv[SRV_GOOD], &c1, &r1);
    ck_assert_int_eq(c1 - c0, 2);
    ck_assert_msg(r1 - r0 == 1, "resumed %ld of %ld", r1 - r0, c1 - c0);
    /* and https took the raw keep-alive path, as plain http does */
    ck_assert_int_eq(http_connections(h), 2);
    http_response_cleanup(&resp);
    http_free(h);
    unsetenv("AWS_CA_BUNDLE");
}
END_TEST

START_TEST(answers_of_many_tls_records_arrive_whole)
{
    /* The raw path lets OpenSSL read ahead: one recv may take several TLS records, the last
     * of an answer among them. Every size around a record's 16 kB comes back whole, on one
     * kept connection (a record left unread would wait out the timeout and fail). */
    setenv("AWS_CA_BUNDLE", g_ca, 1);
    errinfo e;
    http *h = http_new(NULL, &e);
    ck_assert_msg(h != NULL, "%s", e.msg);
    static const size_t sizes[] = { 0,     1,     5,     16383, 16384,  16385,
                                    32768, 49153, 65536, 99999, 150000, BIG_MAX };
    http_response resp;
    http_response_init(&resp);
    for (int round = 0; round < 3; round++)
        for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
            char url[128];
            snprintf(url, sizeof url, "https://127.0.0.1:%d/big/%zu", g_port[SRV_GOOD], sizes[k]);
            ck_assert_msg(http_request(h, "GET", url, NULL, NULL, 0, &resp, &e) == 0, "%zu: %s",
                          sizes[k], e.msg);
            ck_assert_int_eq(resp.status, 200);
            ck_assert_uint_eq(resp.body.len, sizes[k]);
            size_t bad = 0;
            while (bad < sizes[k] && resp.body.data[bad] == big_byte(bad))
                bad++;
            ck_assert_msg(bad == sizes[k], "%zu bytes: byte %zu differs", sizes[k], bad);
        }
    ck_assert_int_eq(http_connections(h), 1);
    http_response_cleanup(&resp);
    http_free(h);
    unsetenv("AWS_CA_BUNDLE");
}
END_TEST

START_TEST(the_jwks_fetch_trusts_the_same_bundle)
{
    char url[128];
    snprintf(url, sizeof url, "https://127.0.0.1:%d/pool/.well-known/jwks.json", g_port[SRV_GOOD]);
    jwks_options o = { .source = url };
    errinfo e;
    /* The stand-in serves {"keys": []}: fetched, then refused for its content. */
    setenv("AWS_CA_BUNDLE", g_ca, 1);
    jwks *k = jwks_new(&o, &e);
    ck_assert_msg(k != NULL, "%s", e.msg);
    long before = srv_count(g_srv[SRV_GOOD]);
    ck_assert_int_eq(jwks_refresh(k, &e), -1);
    ck_assert_msg(strstr(e.msg, "no usable RS256 key"), "%s", e.msg);
    ck_assert_int_eq(srv_count(g_srv[SRV_GOOD]), before + 1);
    jwks_free(k);
    /* Without the bundle the fetch never reaches it. */
    unsetenv("AWS_CA_BUNDLE");
    k = jwks_new(&o, &e);
    ck_assert_msg(k != NULL, "%s", e.msg);
    ck_assert_int_eq(jwks_refresh(k, &e), -1);
    ck_assert_msg(!strstr(e.msg, "no usable RS256 key"), "%s", e.msg);
    ck_assert_int_eq(srv_count(g_srv[SRV_GOOD]), before + 1);
    jwks_free(k);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("tls");
    TCase *tc = tcase_create("ca_bundle");
    tcase_add_unchecked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, the_bundle_is_trusted_and_nothing_else);
    tcase_add_test(tc, a_wrong_host_or_an_expired_certificate_fails_before_the_request);
    tcase_add_test(tc, ca_bundle_of_the_profile_in_the_shared_config);
    tcase_add_test(tc, a_missing_bundle_is_a_clear_error_at_start);
    tcase_add_test(tc, the_jwks_fetch_trusts_the_same_bundle);
    tcase_add_test(tc, https_keeps_its_connection_and_resumes_the_session);
    tcase_add_test(tc, answers_of_many_tls_records_arrive_whole);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tap_run(suite());
}
