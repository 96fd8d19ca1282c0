/*
 * test_ffi: exercises every function of pec.h, including the error paths (NULL arguments,
 * invalid UTF-8, garbage messages, wrong PIN), and two threads using the library at once.
 * Run under valgrind and as an AddressSanitizer build by `make check`.
 *
 *   test_ffi FIXTURES_DIR        (made by make-fixtures.sh)
 *
 * The callback signer is implemented with OpenSSL's libcrypto, as an HSM-specific API would be.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "common.h"

static int failures, checks;
static const char *fixtures;
/* false while pec-core's certificate module (chain.rs, revocation.rs) is a placeholder that
 * accepts anything: the checks that need real parsing are then skipped, loudly */
static bool chain_ready;

#define CHECK(cond)                                                                            \
    do {                                                                                       \
        checks++;                                                                              \
        if (!(cond)) {                                                                         \
            failures++;                                                                        \
            fprintf(stderr, "%s:%d: CHECK failed: %s (last error: %s)\n", __FILE__, __LINE__,  \
                    #cond, last_error());                                                      \
        }                                                                                      \
    } while (0)

#define CHECK_RC(call, expected)                                                               \
    do {                                                                                       \
        pec_result rc_ = (call);                                                               \
        checks++;                                                                              \
        if (rc_ != (pec_result)(expected)) {                                                   \
            failures++;                                                                        \
            fprintf(stderr, "%s:%d: %s returned %u, expected %u (last error: %s)\n",           \
                    __FILE__, __LINE__, #call, (unsigned)rc_, (unsigned)(expected),            \
                    last_error());                                                             \
        }                                                                                      \
    } while (0)

#define S(lit) lit, (sizeof lit - 1)

static unsigned char *fixture(const char *name, size_t *len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", fixtures, name);
    unsigned char *b = read_file(path, len);
    if (b == NULL) {
        fprintf(stderr, "missing fixture %s\n", path);
        exit(2);
    }
    return b;
}

/* A skipped test is a failure in CI (CI=true), where every tool must be installed. */
static void skip(const char *what)
{
    const char *ci = getenv("CI");
    fprintf(stderr, "skip: %s\n", what);
    if (ci != NULL && strcmp(ci, "true") == 0) {
        fprintf(stderr, "CI=true: skipping is a failure\n");
        failures++;
    }
}

static bool view_is(const char *s, size_t n, const char *expected)
{
    return s != NULL && n == strlen(expected) && memcmp(s, expected, n) == 0 && s[n] == '\0';
}

static bool contains(const uint8_t *hay, size_t n, const char *needle)
{
    size_t m = strlen(needle);
    for (size_t i = 0; i + m <= n; i++)
        if (memcmp(hay + i, needle, m) == 0)
            return true;
    return false;
}

/* ---------------------------------------------------------------- version and result codes */

static void test_version_and_results(void)
{
    CHECK(strcmp(pec_version(), PEC_VERSION) == 0);

    char buf[256];
    size_t n = 0;
    CHECK_RC(pec_result_message(PEC_RESULT_OK, buf, sizeof buf, &n), PEC_RESULT_OK);
    CHECK(strcmp(buf, "success") == 0 && n == 7);
    CHECK_RC(pec_result_message(PEC_RESULT_PKCS11_PIN_INCORRECT, NULL, 0, &n),
             PEC_RESULT_INSUFFICIENT_SIZE);
    CHECK(n > 0);
    CHECK_RC(pec_result_message(PEC_RESULT_PKCS11_PIN_INCORRECT, buf, n, &n),
             PEC_RESULT_INSUFFICIENT_SIZE); /* no room for the NUL */
    CHECK_RC(pec_result_message(PEC_RESULT_PKCS11_PIN_INCORRECT, buf, n + 1, &n), PEC_RESULT_OK);
    CHECK(strlen(buf) == n);
    CHECK_RC(pec_result_message(9999, buf, sizeof buf, &n), PEC_RESULT_OK);
    CHECK(strcmp(buf, "unknown result code") == 0);
    CHECK_RC(pec_result_message(PEC_RESULT_OK, buf, sizeof buf, NULL), PEC_RESULT_NULL_PARAMETER);

    CHECK_RC(pec_result_name(PEC_RESULT_MALFORMED_MESSAGE, buf, sizeof buf, &n), PEC_RESULT_OK);
    CHECK(strcmp(buf, "malformed_message") == 0);
    CHECK_RC(pec_result_name(PEC_RESULT_FROM_DOMAIN_MISMATCH, buf, sizeof buf, &n), PEC_RESULT_OK);
    CHECK(strcmp(buf, "from_domain_mismatch") == 0);
    CHECK_RC(pec_result_name(42, buf, sizeof buf, &n), PEC_RESULT_INVALID_PARAMETER);
    CHECK_RC(pec_result_name(PEC_RESULT_OK, NULL, 0, NULL), PEC_RESULT_NULL_PARAMETER);

    /* every code from 0 to 999 that has a name has a message, and the reverse */
    int named = 0;
    for (uint32_t c = 0; c < 1000; c++) {
        size_t a = 0, b = 0;
        pec_result rn = pec_result_name(c, NULL, 0, &a);
        pec_result rm = pec_result_message(c, NULL, 0, &b);
        CHECK(rm == PEC_RESULT_INSUFFICIENT_SIZE);
        if (rn == PEC_RESULT_INSUFFICIENT_SIZE) {
            named++;
            char msg[256];
            CHECK_RC(pec_result_message(c, msg, sizeof msg, &b), PEC_RESULT_OK);
            CHECK(strcmp(msg, "unknown result code") != 0);
        } else {
            CHECK(rn == PEC_RESULT_INVALID_PARAMETER);
        }
    }
    CHECK(named >= 50);

    /* the last error: set by a failing call, untouched by the error functions themselves */
    pec_message *m = NULL;
    CHECK_RC(pec_message_parse(NULL, 10, &m), PEC_RESULT_NULL_PARAMETER);
    CHECK(m == NULL);
    size_t needed = 0;
    CHECK_RC(pec_last_error_message(NULL, 0, &needed), PEC_RESULT_INSUFFICIENT_SIZE);
    CHECK(needed > 0);
    char *msg = malloc(needed + 1);
    CHECK_RC(pec_last_error_message(msg, needed + 1, &n), PEC_RESULT_OK);
    CHECK(n == needed && strstr(msg, "bytes") != NULL);
    CHECK_RC(pec_result_name(42, buf, sizeof buf, &n), PEC_RESULT_INVALID_PARAMETER);
    CHECK_RC(pec_last_error_message(msg, needed + 1, &n), PEC_RESULT_OK);
    CHECK(strstr(msg, "bytes") != NULL); /* still the parse error */
    free(msg);
    CHECK_RC(pec_last_error_message(buf, sizeof buf, NULL), PEC_RESULT_NULL_PARAMETER);
}

/* ---------------------------------------------------------------- bytes */

static void check_bytes(const pec_bytes *b)
{
    size_t n = 0;
    CHECK(pec_bytes_len(b) > 0);
    CHECK_RC(pec_bytes_copy(b, NULL, 0, &n), PEC_RESULT_INSUFFICIENT_SIZE);
    CHECK(n == pec_bytes_len(b));
    uint8_t *copy = malloc(n);
    CHECK_RC(pec_bytes_copy(b, copy, n, &n), PEC_RESULT_OK);
    CHECK(memcmp(copy, pec_bytes_data(b), n) == 0);
    free(copy);
    CHECK_RC(pec_bytes_copy(NULL, NULL, 0, &n), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_bytes_copy(b, NULL, 0, NULL), PEC_RESULT_NULL_PARAMETER);
}

static void test_bytes_null(void)
{
    CHECK(pec_bytes_data(NULL) == NULL);
    CHECK(pec_bytes_len(NULL) == 0);
    pec_bytes_free(NULL);
}

/* ---------------------------------------------------------------- messages */

static void test_message_plain(void)
{
    size_t len;
    unsigned char *raw = fixture("message.eml", &len);
    pec_message *m = NULL;
    const char *s;
    size_t n;
    bool b;

    CHECK_RC(pec_message_parse(raw, len, NULL), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_message_parse(raw, len, &m), PEC_RESULT_OK);
    free(raw); /* the message keeps its own copy */
    CHECK(m != NULL);

    CHECK_RC(pec_message_kind(m, &s, &n), PEC_RESULT_OK);
    CHECK(s == NULL && n == 0);
    CHECK_RC(pec_message_header_kind(m, &s, &n), PEC_RESULT_OK);
    CHECK(s == NULL && n == 0);
    CHECK_RC(pec_message_signed_scope(m, &s, &n), PEC_RESULT_OK);
    CHECK(s == NULL && n == 0);
    CHECK_RC(pec_message_header_kind(NULL, &s, &n), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_message_signed_scope(NULL, &s, &n), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_message_signed_scope(m, NULL, &n), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_message_is_pec(m, &b), PEC_RESULT_OK);
    CHECK(!b);
    CHECK_RC(pec_message_is_signed(m, &b), PEC_RESULT_OK);
    CHECK(!b);
    CHECK_RC(pec_message_security_error(m, &b), PEC_RESULT_OK);
    CHECK(!b);
    CHECK_RC(pec_message_subject(m, &s, &n), PEC_RESULT_OK);
    CHECK(view_is(s, n, "Fattura 42"));
    CHECK_RC(pec_message_message_id(m, &s, &n), PEC_RESULT_OK);
    CHECK(view_is(s, n, "client-42@pec.example.it"));
    CHECK_RC(pec_message_from(m, &s, &n), PEC_RESULT_OK);
    CHECK(view_is(s, n, "Mario Rossi <mario.rossi@pec.example.it>"));
    CHECK_RC(pec_message_from_domain(m, &s, &n), PEC_RESULT_OK);
    CHECK(view_is(s, n, "pec.example.it"));
    CHECK_RC(pec_message_header(m, S("cc"), &s, &n), PEC_RESULT_OK);
    CHECK(view_is(s, n, "info@example.com"));
    CHECK_RC(pec_message_header(m, S("X-Absent"), &s, &n), PEC_RESULT_OK);
    CHECK(s == NULL && n == 0);
    CHECK_RC(pec_message_header(m, "\xff\xfe", 2, &s, &n), PEC_RESULT_INVALID_UTF8);
    CHECK_RC(pec_message_header(m, NULL, 3, &s, &n), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_message_identifier(m, &s, &n), PEC_RESULT_OK);
    CHECK(s == NULL);
    CHECK_RC(pec_message_msgid(m, &s, &n), PEC_RESULT_OK);
    CHECK_RC(pec_message_receipt_type(m, &s, &n), PEC_RESULT_OK);
    CHECK(s == NULL);

    const uint8_t *bytes;
    CHECK_RC(pec_message_bytes(m, &bytes, &n), PEC_RESULT_OK);
    CHECK(n == len && contains(bytes, n, "In allegato la fattura."));
    CHECK_RC(pec_message_original(m, &bytes, &n), PEC_RESULT_OK);
    CHECK(bytes == NULL && n == 0);

    const pec_daticert *d = (const pec_daticert *)1;
    CHECK_RC(pec_message_daticert(m, &d), PEC_RESULT_OK);
    CHECK(d == NULL);

    CHECK(pec_message_warning_count(m) == 0);
    CHECK_RC(pec_message_warning(m, 0, &s, &n), PEC_RESULT_INVALID_PARAMETER);
    CHECK(pec_message_hash_count(m) == 0);
    CHECK_RC(pec_message_hash_filename(m, 0, &s, &n), PEC_RESULT_INVALID_PARAMETER);
    CHECK_RC(pec_message_hash_sha1(m, 0, &s, &n), PEC_RESULT_INVALID_PARAMETER);

    /* NULL handles and NULL out-parameters */
    CHECK_RC(pec_message_kind(NULL, &s, &n), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_message_kind(m, NULL, &n), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_message_subject(m, &s, NULL), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_message_is_pec(m, NULL), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_message_is_signed(NULL, &b), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_message_security_error(NULL, &b), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_message_receipt_type(NULL, &s, &n), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_message_message_id(NULL, &s, &n), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_message_identifier(NULL, &s, &n), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_message_msgid(NULL, &s, &n), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_message_from(NULL, &s, &n), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_message_from_domain(NULL, &s, &n), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_message_bytes(NULL, &bytes, &n), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_message_original(m, NULL, &n), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_message_daticert(m, NULL), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_message_warning(NULL, 0, &s, &n), PEC_RESULT_NULL_PARAMETER);
    CHECK(pec_message_warning_count(NULL) == 0);
    CHECK(pec_message_hash_count(NULL) == 0);
    pec_message_free(m);
    pec_message_free(NULL);
}

static void test_message_garbage(void)
{
    pec_message *m = NULL;
    CHECK_RC(pec_message_parse((const uint8_t *)"", 0, &m), PEC_RESULT_MALFORMED_MESSAGE);
    CHECK_RC(pec_message_parse(NULL, 0, &m), PEC_RESULT_MALFORMED_MESSAGE);
    CHECK_RC(pec_message_parse((const uint8_t *)"   \r\n\r\n", 6, &m), PEC_RESULT_MALFORMED_MESSAGE);
    CHECK(m == NULL);

    /* pseudo-random bytes and truncations of a real message: an error code or a message, never
     * a crash */
    uint8_t junk[4096];
    uint32_t x = 12345;
    for (int round = 0; round < 50; round++) {
        size_t len = (size_t)(round * 80 + 1);
        for (size_t i = 0; i < len; i++) {
            x = x * 1103515245u + 12345u;
            junk[i] = (uint8_t)(x >> 16);
        }
        if (round % 3 == 0)
            memcpy(junk, "Content-Type: multipart/signed; boundary=\"b\"\r\n\r\n--b\r\n", 52);
        pec_result rc = pec_message_parse(junk, len, &m);
        if (rc == PEC_RESULT_OK) {
            pec_message_free(m);
            m = NULL;
        } else {
            CHECK(rc >= 200 && rc < 300);
            CHECK(m == NULL);
        }
    }
    size_t len;
    unsigned char *raw = fixture("envelope-for-tests.eml", &len);
    for (size_t cut = 1; cut < len; cut += len / 40 + 1) {
        pec_result rc = pec_message_parse(raw, cut, &m);
        if (rc == PEC_RESULT_OK) {
            pec_message_free(m);
            m = NULL;
        }
        CHECK(rc == PEC_RESULT_OK || (rc >= 200 && rc < 300));
    }
    free(raw);
}

static void check_daticert_nulls(void)
{
    const char *s;
    size_t n;
    CHECK_RC(pec_daticert_kind(NULL, &s, &n), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_daticert_error(NULL, &s, &n), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_daticert_sender(NULL, &s, &n), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_daticert_reply_to(NULL, &s, &n), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_daticert_subject(NULL, &s, &n), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_daticert_issuer(NULL, &s, &n), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_daticert_date_day(NULL, &s, &n), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_daticert_date_time(NULL, &s, &n), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_daticert_date_zone(NULL, &s, &n), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_daticert_identifier(NULL, &s, &n), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_daticert_msgid(NULL, &s, &n), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_daticert_receipt_type(NULL, &s, &n), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_daticert_delivery(NULL, &s, &n), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_daticert_extended_error(NULL, &s, &n), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_daticert_recipient(NULL, 0, &s, &n), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_daticert_recipient_type(NULL, 0, &s, &n), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_daticert_received(NULL, 0, &s, &n), PEC_RESULT_NULL_PARAMETER);
    CHECK(pec_daticert_recipient_count(NULL) == 0);
    CHECK(pec_daticert_received_count(NULL) == 0);
}

/* The transport envelope built by test_build (fixture envelope-for-tests.eml). */
static void test_message_envelope(void)
{
    size_t len;
    unsigned char *raw = fixture("envelope-for-tests.eml", &len);
    pec_message *m = NULL;
    const char *s;
    size_t n;
    bool b;
    CHECK_RC(pec_message_parse(raw, len, &m), PEC_RESULT_OK);
    CHECK_RC(pec_message_kind(m, &s, &n), PEC_RESULT_OK);
    CHECK(view_is(s, n, "posta-certificata"));
    CHECK_RC(pec_message_header_kind(m, &s, &n), PEC_RESULT_OK);
    CHECK(view_is(s, n, "posta-certificata"));
    CHECK_RC(pec_message_signed_scope(m, &s, &n), PEC_RESULT_OK);
    CHECK(view_is(s, n, "whole"));
    CHECK_RC(pec_message_is_pec(m, &b), PEC_RESULT_OK);
    CHECK(b);
    CHECK_RC(pec_message_is_signed(m, &b), PEC_RESULT_OK);
    CHECK(b);
    CHECK_RC(pec_message_subject(m, &s, &n), PEC_RESULT_OK);
    CHECK(view_is(s, n, "Fattura 42"));
    CHECK_RC(pec_message_identifier(m, &s, &n), PEC_RESULT_OK);
    CHECK(s != NULL && n > 0);
    CHECK_RC(pec_message_msgid(m, &s, &n), PEC_RESULT_OK);
    CHECK(view_is(s, n, "<client-42@pec.example.it>"));

    /* the original as carried in postacert.eml (the access point sets its Message-ID) */
    const uint8_t *ob;
    CHECK_RC(pec_message_original(m, &ob, &n), PEC_RESULT_OK);
    CHECK(ob != NULL && contains(ob, n, "Subject: Fattura 42\r\n") &&
          contains(ob, n, "\r\n\r\nIn allegato la fattura.\r\n"));
    const uint8_t *whole;
    size_t whole_len;
    CHECK_RC(pec_message_bytes(m, &whole, &whole_len), PEC_RESULT_OK);
    CHECK(ob >= whole && ob + n <= whole + whole_len); /* a view into the message, not a copy */

    const pec_daticert *d = NULL;
    CHECK_RC(pec_message_daticert(m, &d), PEC_RESULT_OK);
    CHECK(d != NULL);
    if (d != NULL) {
        CHECK_RC(pec_daticert_kind(d, &s, &n), PEC_RESULT_OK);
        CHECK(view_is(s, n, "posta-certificata"));
        CHECK_RC(pec_daticert_error(d, &s, &n), PEC_RESULT_OK);
        CHECK(view_is(s, n, "nessuno"));
        CHECK_RC(pec_daticert_sender(d, &s, &n), PEC_RESULT_OK);
        CHECK(view_is(s, n, "mario.rossi@pec.example.it"));
        CHECK_RC(pec_daticert_reply_to(d, &s, &n), PEC_RESULT_OK);
        CHECK(s != NULL);
        CHECK_RC(pec_daticert_subject(d, &s, &n), PEC_RESULT_OK);
        CHECK(view_is(s, n, "Fattura 42"));
        CHECK_RC(pec_daticert_issuer(d, &s, &n), PEC_RESULT_OK);
        CHECK(view_is(s, n, "Example PEC S.p.A."));
        CHECK_RC(pec_daticert_date_day(d, &s, &n), PEC_RESULT_OK);
        CHECK(view_is(s, n, "25/11/2024"));
        CHECK_RC(pec_daticert_date_time(d, &s, &n), PEC_RESULT_OK);
        CHECK(view_is(s, n, "10:00:00"));
        CHECK_RC(pec_daticert_date_zone(d, &s, &n), PEC_RESULT_OK);
        CHECK(view_is(s, n, "+0100"));
        CHECK_RC(pec_daticert_identifier(d, &s, &n), PEC_RESULT_OK);
        CHECK(s != NULL && n > 0);
        CHECK_RC(pec_daticert_msgid(d, &s, &n), PEC_RESULT_OK);
        CHECK(view_is(s, n, "<client-42@pec.example.it>"));
        CHECK_RC(pec_daticert_receipt_type(d, &s, &n), PEC_RESULT_OK);
        CHECK_RC(pec_daticert_delivery(d, &s, &n), PEC_RESULT_OK);
        CHECK(s == NULL);
        CHECK_RC(pec_daticert_extended_error(d, &s, &n), PEC_RESULT_OK);
        CHECK(s == NULL);
        CHECK(pec_daticert_recipient_count(d) == 2);
        CHECK_RC(pec_daticert_recipient(d, 0, &s, &n), PEC_RESULT_OK);
        CHECK(view_is(s, n, "anna.bianchi@pec.cliente.example"));
        CHECK_RC(pec_daticert_recipient_type(d, 0, &s, &n), PEC_RESULT_OK);
        CHECK(view_is(s, n, "certificato"));
        CHECK_RC(pec_daticert_recipient(d, 1, &s, &n), PEC_RESULT_OK);
        CHECK(view_is(s, n, "info@example.com"));
        CHECK_RC(pec_daticert_recipient_type(d, 1, &s, &n), PEC_RESULT_OK);
        CHECK(view_is(s, n, "esterno"));
        CHECK_RC(pec_daticert_recipient(d, 2, &s, &n), PEC_RESULT_INVALID_PARAMETER);
        CHECK_RC(pec_daticert_recipient_type(d, 2, &s, &n), PEC_RESULT_INVALID_PARAMETER);
        CHECK(pec_daticert_received_count(d) == 0);
        CHECK_RC(pec_daticert_received(d, 0, &s, &n), PEC_RESULT_INVALID_PARAMETER);
        CHECK_RC(pec_daticert_sender(d, NULL, &n), PEC_RESULT_NULL_PARAMETER);
    }
    check_daticert_nulls();
    pec_message_free(m);
    free(raw);
}

static void test_daticert_parse(void)
{
    static const char xml[] =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<postacert tipo=\"presa-in-carico\" errore=\"nessuno\">\n"
        "  <intestazione>\n"
        "    <mittente>mario.rossi@pec.example.it</mittente>\n"
        "    <destinatari tipo=\"certificato\">anna.bianchi@pec.cliente.example</destinatari>\n"
        "    <destinatari tipo=\"certificato\">luca.verdi@pec.cliente.example</destinatari>\n"
        "    <risposte>mario.rossi@pec.example.it</risposte>\n"
        "    <oggetto>Fattura 42</oggetto>\n"
        "  </intestazione>\n"
        "  <dati>\n"
        "    <gestore-emittente>Cliente PEC</gestore-emittente>\n"
        "    <data zona=\"+0100\"><giorno>25/11/2024</giorno><ora>10:00:05</ora></data>\n"
        "    <identificativo>opec-1@pec.example.it</identificativo>\n"
        "    <msgid>&lt;client-42@pec.example.it&gt;</msgid>\n"
        "    <ricezione>anna.bianchi@pec.cliente.example</ricezione>\n"
        "    <ricezione>luca.verdi@pec.cliente.example</ricezione>\n"
        "  </dati>\n"
        "</postacert>\n";
    pec_daticert *d = NULL;
    const char *s;
    size_t n;
    CHECK_RC(pec_daticert_parse((const uint8_t *)xml, sizeof xml - 1, &d), PEC_RESULT_OK);
    CHECK_RC(pec_daticert_kind(d, &s, &n), PEC_RESULT_OK);
    CHECK(view_is(s, n, "presa-in-carico"));
    CHECK(pec_daticert_recipient_count(d) == 2);
    CHECK(pec_daticert_received_count(d) == 2);
    CHECK_RC(pec_daticert_received(d, 1, &s, &n), PEC_RESULT_OK);
    CHECK(view_is(s, n, "luca.verdi@pec.cliente.example"));
    CHECK_RC(pec_daticert_msgid(d, &s, &n), PEC_RESULT_OK);
    CHECK(view_is(s, n, "<client-42@pec.example.it>"));
    CHECK_RC(pec_daticert_identifier(d, &s, &n), PEC_RESULT_OK);
    CHECK(view_is(s, n, "opec-1@pec.example.it"));
    pec_daticert_free(d);
    pec_daticert_free(NULL);

    d = NULL;
    CHECK_RC(pec_daticert_parse((const uint8_t *)"<postacert", 10, &d), PEC_RESULT_DATICERT_MALFORMED);
    CHECK(d == NULL);
    static const char bomb[] = "<?xml version=\"1.0\"?><!DOCTYPE p [<!ENTITY a \"aaaa\">]>"
                               "<postacert>&a;</postacert>";
    CHECK_RC(pec_daticert_parse((const uint8_t *)bomb, sizeof bomb - 1, &d),
             PEC_RESULT_DATICERT_MALFORMED);
    CHECK_RC(pec_daticert_parse((const uint8_t *)"<other/>", 8, &d), PEC_RESULT_DATICERT_INVALID);
    CHECK_RC(pec_daticert_parse(NULL, 5, &d), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_daticert_parse((const uint8_t *)xml, sizeof xml - 1, NULL), PEC_RESULT_NULL_PARAMETER);
}

/* Real PEC messages from ../shared/interop, when present: parse and classify. */
static void test_interop(void)
{
    const char *dir = getenv("PEC_INTEROP_DIR");
    char path[4096];
    static const char *files[][2] = {
        {"go-pec/accettazione.eml", "accettazione"},
        {"go-pec/consegna.eml", "errore-consegna"},
        {"go-pec/email_2.eml", "avvenuta-consegna"},
        {"java-pec-parser/accettazione.eml", "accettazione"},
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir != NULL ? dir : "../../../shared/interop",
                 files[i][0]);
        FILE *f = fopen(path, "rb");
        if (f == NULL) {
            skip(path);
            continue;
        }
        size_t len = 0;
        unsigned char *raw = read_stream(f, &len);
        fclose(f);
        pec_message *m = NULL;
        CHECK_RC(pec_message_parse(raw, len, &m), PEC_RESULT_OK);
        const char *s = NULL;
        size_t n = 0;
        CHECK_RC(pec_message_kind(m, &s, &n), PEC_RESULT_OK);
        CHECK(view_is(s, n, files[i][1]));
        CHECK_RC(pec_message_header_kind(m, &s, &n), PEC_RESULT_OK);
        CHECK(view_is(s, n, files[i][1]));
        CHECK_RC(pec_message_signed_scope(m, &s, &n), PEC_RESULT_OK);
        CHECK(view_is(s, n, "whole"));
        const pec_daticert *d = NULL;
        CHECK_RC(pec_message_daticert(m, &d), PEC_RESULT_OK);
        CHECK(d != NULL);
        pec_message_free(m);
        free(raw);
    }
}

/* ---------------------------------------------------------------- signers */

typedef struct {
    EVP_PKEY *key;
    int calls;
    bool fail;
} callback_state;

static uint32_t sign_with_openssl(void *userdata, const uint8_t *digest, size_t digest_len,
                                  uint8_t *sig_out, size_t sig_cap, size_t *sig_len)
{
    callback_state *st = userdata;
    __atomic_add_fetch(&st->calls, 1, __ATOMIC_SEQ_CST);
    if (st->fail || digest_len != 32)
        return 7;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(st->key, NULL);
    size_t n = sig_cap;
    int ok = ctx != NULL && EVP_PKEY_sign_init(ctx) == 1 &&
             EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1 &&
             EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) == 1 &&
             EVP_PKEY_sign(ctx, sig_out, &n, digest, digest_len) == 1;
    EVP_PKEY_CTX_free(ctx);
    if (!ok)
        return 1;
    *sig_len = n;
    return 0;
}

static pec_signer *software_signer(void)
{
    size_t kl, cl;
    unsigned char *key = fixture("signer.key", &kl), *cert = fixture("signer.pem", &cl);
    pec_signer *s = NULL;
    CHECK_RC(pec_signer_new_software(key, kl, cert, cl, NULL, 0, &s), PEC_RESULT_OK);
    free(key);
    free(cert);
    return s;
}

static void test_signers(void)
{
    size_t kl, cl, ol, dl, cal;
    unsigned char *key = fixture("signer.key", &kl), *cert = fixture("signer.pem", &cl);
    unsigned char *other = fixture("other.key", &ol), *der = fixture("signer.der", &dl);
    unsigned char *ca = fixture("ca.pem", &cal);
    pec_signer *s = NULL;

    CHECK_RC(pec_signer_new_software(key, kl, cert, cl, ca, cal, &s), PEC_RESULT_OK);
    pec_signer_free(s);
    s = NULL;
    CHECK_RC(pec_signer_new_software(NULL, 0, cert, cl, NULL, 0, &s), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_signer_new_software(key, kl, NULL, 0, NULL, 0, &s), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_signer_new_software(key, kl, cert, cl, NULL, 0, NULL), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_signer_new_software(other, ol, cert, cl, NULL, 0, &s), PEC_RESULT_BAD_KEY);
    CHECK_RC(pec_signer_new_software((const uint8_t *)"garbage", 7, cert, cl, NULL, 0, &s),
             PEC_RESULT_BAD_KEY);
    CHECK_RC(pec_signer_new_software(key, kl, (const uint8_t *)"garbage", 7, NULL, 0, &s),
             PEC_RESULT_BAD_CERTIFICATE);
    CHECK(s == NULL);

    CHECK_RC(pec_signer_new_callback(NULL, der, dl, NULL, 0, NULL, &s), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_signer_new_callback(NULL, NULL, 0, NULL, 0, sign_with_openssl, &s),
             PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_signer_new_callback(NULL, der, dl, NULL, 0, sign_with_openssl, NULL),
             PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_signer_new_callback(NULL, der, dl, (const uint8_t *)"-----BEGIN CERTIFICATE-----\nxx\n", 31,
                                     sign_with_openssl, &s),
             PEC_RESULT_BAD_CERTIFICATE);
    CHECK(s == NULL);
    pec_signer_free(NULL);

    /* PKCS#11 error paths (the token is made by make-fixtures.sh when SoftHSM is installed) */
    static const char module[] = "/usr/lib/softhsm/libsofthsm2.so";
    CHECK_RC(pec_signer_new_pkcs11(NULL, 0, S(module), cert, cl, NULL, 0, &s), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_signer_new_pkcs11("\xc3\x28", 2, S(module), cert, cl, NULL, 0, &s),
             PEC_RESULT_INVALID_UTF8);
    CHECK(s == NULL);

    free(key);
    free(cert);
    free(other);
    free(der);
    free(ca);
}

/* ---------------------------------------------------------------- sign and verify */

static pec_verifier *make_verifier(bool with_index)
{
    size_t cal, crll, ldl;
    unsigned char *ca = fixture("ca.pem", &cal), *crl = fixture("crl.pem", &crll);
    pec_trust_store *trust = NULL;
    pec_crl_store *crls = NULL;
    pec_verifier *v = NULL;
    size_t added = 0;
    CHECK_RC(pec_trust_store_new(&trust), PEC_RESULT_OK);
    CHECK_RC(pec_trust_store_add_pem(trust, ca, cal, &added), PEC_RESULT_OK);
    CHECK(!chain_ready || (added == 1 && pec_trust_store_len(trust) == 1));
    CHECK_RC(pec_crl_store_new(&crls), PEC_RESULT_OK);
    CHECK_RC(pec_crl_store_add(crls, crl, crll, &added), PEC_RESULT_OK);
    CHECK(added == 1 && pec_crl_store_len(crls) == 1);
    CHECK_RC(pec_verifier_new(&v), PEC_RESULT_OK);
    CHECK_RC(pec_verifier_set_trust(v, trust), PEC_RESULT_OK);
    CHECK_RC(pec_verifier_set_crls(v, crls), PEC_RESULT_OK);
    if (with_index) {
        unsigned char *ldif = fixture("index.ldif", &ldl);
        pec_index *idx = NULL;
        CHECK_RC(pec_index_from_ldif(ldif, ldl, &idx), PEC_RESULT_OK);
        CHECK_RC(pec_verifier_set_index(v, idx), PEC_RESULT_OK);
        pec_index_free(idx); /* the verifier keeps its reference */
        free(ldif);
    }
    pec_trust_store_free(trust); /* copied by the verifier */
    pec_crl_store_free(crls);
    free(ca);
    free(crl);
    return v;
}

static bool has_reason(const pec_report *r, uint32_t code)
{
    for (size_t i = 0; i < pec_report_reason_count(r); i++) {
        uint32_t c = 0;
        if (pec_report_reason(r, i, &c) == PEC_RESULT_OK && c == code)
            return true;
    }
    return false;
}

static void check_report_nulls(void)
{
    const char *s;
    size_t n;
    uint32_t u;
    bool b;
    int64_t t;
    const uint8_t *p;
    CHECK_RC(pec_report_verdict(NULL, &u), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_report_verdict_name(NULL, &s, &n), PEC_RESULT_NULL_PARAMETER);
    CHECK(pec_report_reason_count(NULL) == 0);
    CHECK_RC(pec_report_reason(NULL, 0, &u), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_report_reason_name(NULL, 0, &s, &n), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_report_digest(NULL, &s, &n), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_report_weak_digest(NULL, &b), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_report_canonicalized(NULL, &b), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_report_signing_time(NULL, &t, &b), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_report_evaluated_at(NULL, &t, &b), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_report_revocation(NULL, &s, &n), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_report_has_signer(NULL, &b), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_report_signer_subject(NULL, &s, &n), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_report_signer_issuer(NULL, &s, &n), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_report_signer_serial(NULL, &s, &n), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_report_signer_sha1(NULL, &s, &n), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_report_signer_email(NULL, &s, &n), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_report_signer_not_before(NULL, &t, &b), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_report_signer_not_after(NULL, &t, &b), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_report_signer_der(NULL, &p, &n), PEC_RESULT_NULL_PARAMETER);
    CHECK(pec_report_chain_count(NULL) == 0);
    CHECK_RC(pec_report_chain_subject(NULL, 0, &s, &n), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_report_provider_name(NULL, &s, &n), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_report_provider_mail_receipt(NULL, &s, &n), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_report_time_source(NULL, &s, &n), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_report_signed_scope(NULL, &s, &n), PEC_RESULT_NULL_PARAMETER);
    CHECK(pec_report_weakness_count(NULL) == 0);
    CHECK_RC(pec_report_weakness(NULL, 0, &s, &n), PEC_RESULT_NULL_PARAMETER);
    pec_report_free(NULL);
}

/* Checks a report of a message signed by the fixture signer at 1732525200. */
static void check_good_report(const pec_report *r, bool with_index)
{
    const char *s;
    size_t n;
    uint32_t u = 99;
    bool b;
    int64_t t;
    const uint8_t *p;
    CHECK_RC(pec_report_verdict(r, &u), PEC_RESULT_OK);
    CHECK(!chain_ready || u == PEC_VERDICT_VALID);
    CHECK_RC(pec_report_verdict_name(r, &s, &n), PEC_RESULT_OK);
    CHECK(view_is(s, n, u == PEC_VERDICT_VALID ? "valid" : u == PEC_VERDICT_INVALID ? "invalid" : "indeterminate"));
    CHECK(!has_reason(r, PEC_RESULT_BAD_SIGNATURE));
    CHECK(!has_reason(r, PEC_RESULT_CONTENT_MISMATCH));
    CHECK(!has_reason(r, PEC_RESULT_MALFORMED_SIGNATURE));
    CHECK(!has_reason(r, PEC_RESULT_NO_SIGNATURE));
    size_t count = pec_report_reason_count(r);
    for (size_t i = 0; i < count; i++) {
        uint32_t c;
        char name[64];
        size_t nn;
        CHECK_RC(pec_report_reason(r, i, &c), PEC_RESULT_OK);
        CHECK_RC(pec_report_reason_name(r, i, &s, &n), PEC_RESULT_OK);
        CHECK_RC(pec_result_name(c, name, sizeof name, &nn), PEC_RESULT_OK);
        /* "untrusted-chain" is the wire name of PEC_RESULT_UNTRUSTED_CHAIN ("untrusted_chain") */
        for (size_t k = 0; k < nn; k++)
            if (name[k] == '_')
                name[k] = '-';
        CHECK(view_is(s, n, name));
    }
    CHECK_RC(pec_report_reason(r, count, &u), PEC_RESULT_INVALID_PARAMETER);
    CHECK_RC(pec_report_reason_name(r, count, &s, &n), PEC_RESULT_INVALID_PARAMETER);
    CHECK_RC(pec_report_digest(r, &s, &n), PEC_RESULT_OK);
    CHECK(view_is(s, n, "sha256"));
    CHECK_RC(pec_report_weak_digest(r, &b), PEC_RESULT_OK);
    CHECK(!b);
    CHECK_RC(pec_report_canonicalized(r, &b), PEC_RESULT_OK);
    CHECK_RC(pec_report_signing_time(r, &t, &b), PEC_RESULT_OK);
    CHECK(b && t == 1732525200);
    CHECK_RC(pec_report_evaluated_at(r, &t, &b), PEC_RESULT_OK);
    CHECK_RC(pec_report_has_signer(r, &b), PEC_RESULT_OK);
    CHECK(b);
    CHECK_RC(pec_report_signer_subject(r, &s, &n), PEC_RESULT_OK);
    CHECK_RC(pec_report_signer_issuer(r, &s, &n), PEC_RESULT_OK);
    CHECK_RC(pec_report_signer_serial(r, &s, &n), PEC_RESULT_OK);
    CHECK_RC(pec_report_signer_email(r, &s, &n), PEC_RESULT_OK);
    CHECK_RC(pec_report_signer_not_before(r, &t, &b), PEC_RESULT_OK);
    CHECK_RC(pec_report_signer_not_after(r, &t, &b), PEC_RESULT_OK);
    size_t hl;
    unsigned char *sha1 = fixture("signer.sha1", &hl);
    CHECK_RC(pec_report_signer_sha1(r, &s, &n), PEC_RESULT_OK);
    CHECK(s != NULL && n == 40 && memcmp(s, sha1, 40) == 0);
    free(sha1);
    size_t dl;
    unsigned char *der = fixture("signer.der", &dl);
    CHECK_RC(pec_report_signer_der(r, &p, &n), PEC_RESULT_OK);
    CHECK(p != NULL && n == dl && memcmp(p, der, dl) == 0);
    free(der);
    count = pec_report_chain_count(r);
    for (size_t i = 0; i < count; i++)
        CHECK_RC(pec_report_chain_subject(r, i, &s, &n), PEC_RESULT_OK);
    CHECK_RC(pec_report_chain_subject(r, count, &s, &n), PEC_RESULT_INVALID_PARAMETER);
    CHECK_RC(pec_report_revocation(r, &s, &n), PEC_RESULT_OK);
    CHECK(s != NULL && n > 0);
    CHECK(!chain_ready || view_is(s, n, "good"));
    CHECK(!chain_ready || pec_report_chain_count(r) == 2);
    CHECK_RC(pec_report_provider_name(r, &s, &n), PEC_RESULT_OK);
    if (with_index && u == PEC_VERDICT_VALID)
        CHECK(view_is(s, n, "Example PEC S.p.A."));
    CHECK_RC(pec_report_provider_mail_receipt(r, &s, &n), PEC_RESULT_OK);
    CHECK_RC(pec_report_signer_der(r, NULL, &n), PEC_RESULT_NULL_PARAMETER);
    /* verified at the verifier's clock, the whole message signed, SHA-256 and RSA 2048 */
    CHECK_RC(pec_report_time_source(r, &s, &n), PEC_RESULT_OK);
    CHECK(view_is(s, n, "now"));
    CHECK_RC(pec_report_signed_scope(r, &s, &n), PEC_RESULT_OK);
    CHECK(view_is(s, n, "whole"));
    CHECK(pec_report_weakness_count(r) == 0);
    CHECK_RC(pec_report_weakness(r, 0, &s, &n), PEC_RESULT_INVALID_PARAMETER);
    CHECK_RC(pec_report_time_source(r, NULL, &n), PEC_RESULT_NULL_PARAMETER);
}

static void test_sign_and_verify(void)
{
    size_t ml, dl, kl;
    unsigned char *msg = fixture("message.eml", &ml), *der = fixture("signer.der", &dl);
    unsigned char *keypem = fixture("signer.key", &kl);
    pec_signer *soft = software_signer();
    pec_bytes *signed_msg = NULL;

    CHECK_RC(pec_sign_message(NULL, msg, ml, -1, &signed_msg), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_sign_message(soft, NULL, 5, -1, &signed_msg), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_sign_message(soft, msg, ml, -1, NULL), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_sign_message(soft, (const uint8_t *)"", 0, -1, &signed_msg), PEC_RESULT_MALFORMED_MESSAGE);
    CHECK_RC(pec_sign_message(soft, msg, ml, INT64_MAX, &signed_msg), PEC_RESULT_INVALID_TIME);
    CHECK(signed_msg == NULL);
    CHECK_RC(pec_sign_message(soft, msg, ml, 1732525200, &signed_msg), PEC_RESULT_OK);
    check_bytes(signed_msg);

    pec_verifier *v = make_verifier(true);
    pec_report *r = NULL;
    CHECK_RC(pec_verifier_verify(v, pec_bytes_data(signed_msg), pec_bytes_len(signed_msg), &r),
             PEC_RESULT_OK);
    check_good_report(r, true);
    pec_report_free(r);

    /* time settings, and the time source the report names */
    CHECK_RC(pec_verifier_set_time_unix(v, 1732525300), PEC_RESULT_OK);
    CHECK_RC(pec_verifier_set_time_unix(v, INT64_MAX), PEC_RESULT_INVALID_TIME);
    r = NULL;
    CHECK_RC(pec_verifier_verify(v, pec_bytes_data(signed_msg), pec_bytes_len(signed_msg), &r),
             PEC_RESULT_OK);
    {
        const char *ts;
        size_t tn;
        CHECK_RC(pec_report_time_source(r, &ts, &tn), PEC_RESULT_OK);
        CHECK(view_is(ts, tn, "given"));
    }
    pec_report_free(r);
    CHECK_RC(pec_verifier_set_time_signing(v), PEC_RESULT_OK);
    r = NULL;
    CHECK_RC(pec_verifier_verify(v, pec_bytes_data(signed_msg), pec_bytes_len(signed_msg), &r),
             PEC_RESULT_OK);
    int64_t t = 0;
    bool present = false;
    CHECK_RC(pec_report_evaluated_at(r, &t, &present), PEC_RESULT_OK);
    CHECK(!present || t == 1732525200);
    {
        const char *ts;
        size_t tn;
        CHECK_RC(pec_report_time_source(r, &ts, &tn), PEC_RESULT_OK);
        CHECK(view_is(ts, tn, "signing-time-claimed"));
    }
    pec_report_free(r);
    CHECK_RC(pec_verifier_set_time_now(v), PEC_RESULT_OK);

    /* a tampered body: content-mismatch, verdict invalid */
    uint8_t *tampered = malloc(pec_bytes_len(signed_msg));
    memcpy(tampered, pec_bytes_data(signed_msg), pec_bytes_len(signed_msg));
    for (size_t i = 0; i + 8 < pec_bytes_len(signed_msg); i++)
        if (memcmp(tampered + i, "allegato", 8) == 0) {
            tampered[i] = 'A';
            break;
        }
    r = NULL;
    CHECK_RC(pec_verifier_verify(v, tampered, pec_bytes_len(signed_msg), &r), PEC_RESULT_OK);
    uint32_t verdict = 0;
    CHECK_RC(pec_report_verdict(r, &verdict), PEC_RESULT_OK);
    CHECK(verdict == PEC_VERDICT_INVALID);
    CHECK(has_reason(r, PEC_RESULT_CONTENT_MISMATCH));
    pec_report_free(r);
    free(tampered);

    /* an unsigned message: no-signature */
    r = NULL;
    CHECK_RC(pec_verifier_verify(v, msg, ml, &r), PEC_RESULT_OK);
    CHECK(has_reason(r, PEC_RESULT_NO_SIGNATURE));
    bool b = true;
    CHECK_RC(pec_report_has_signer(r, &b), PEC_RESULT_OK);
    CHECK(!b);
    const char *s;
    size_t n;
    CHECK_RC(pec_report_signer_subject(r, &s, &n), PEC_RESULT_OK);
    CHECK(s == NULL && n == 0);
    CHECK_RC(pec_report_signed_scope(r, &s, &n), PEC_RESULT_OK);
    CHECK(s == NULL && n == 0);
    pec_report_free(r);

    /* garbage is an error, not a report */
    r = NULL;
    CHECK_RC(pec_verifier_verify(v, (const uint8_t *)"", 0, &r), PEC_RESULT_MALFORMED_MESSAGE);
    CHECK(r == NULL);
    CHECK_RC(pec_verifier_verify(NULL, msg, ml, &r), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_verifier_verify(v, NULL, 3, &r), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_verifier_verify(v, msg, ml, NULL), PEC_RESULT_NULL_PARAMETER);
    check_report_nulls();

    /* a callback signer gives the same verification outcome */
    BIO *bio = BIO_new_mem_buf(keypem, (int)kl);
    callback_state st = {PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL), 0, false};
    BIO_free(bio);
    CHECK(st.key != NULL);
    pec_signer *cb = NULL;
    CHECK_RC(pec_signer_new_callback(&st, der, dl, NULL, 0, sign_with_openssl, &cb), PEC_RESULT_OK);
    pec_bytes *cb_signed = NULL;
    CHECK_RC(pec_sign_message(cb, msg, ml, 1732525200, &cb_signed), PEC_RESULT_OK);
    CHECK(st.calls == 1);
    r = NULL;
    CHECK_RC(pec_verifier_verify(v, pec_bytes_data(cb_signed), pec_bytes_len(cb_signed), &r),
             PEC_RESULT_OK);
    check_good_report(r, true);
    pec_report_free(r);
    pec_bytes_free(cb_signed);
    cb_signed = NULL;
    st.fail = true;
    CHECK_RC(pec_sign_message(cb, msg, ml, 1732525200, &cb_signed), PEC_RESULT_SIGNING_FAILED);
    CHECK(cb_signed == NULL);
    pec_signer_free(cb);
    EVP_PKEY_free(st.key);

    /* store and verifier error paths */
    pec_trust_store *trust = NULL;
    pec_crl_store *crls = NULL;
    size_t added = 0;
    CHECK_RC(pec_trust_store_new(NULL), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_trust_store_new(&trust), PEC_RESULT_OK);
    CHECK_RC(pec_trust_store_add_pem(NULL, msg, ml, &added), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_trust_store_add_pem(trust, msg, ml, NULL), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_trust_store_add_der(NULL, der, dl), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_trust_store_add_der(trust, der, dl), PEC_RESULT_OK);
    CHECK(pec_trust_store_len(trust) == 1);
    CHECK_RC(pec_trust_store_add_dir(trust, "\xff", 1, &added), PEC_RESULT_INVALID_UTF8);
    CHECK_RC(pec_trust_store_add_dir(NULL, S("/tmp"), &added), PEC_RESULT_NULL_PARAMETER);
    CHECK(pec_trust_store_len(NULL) == 0);
    CHECK_RC(pec_crl_store_new(NULL), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_crl_store_new(&crls), PEC_RESULT_OK);
    CHECK_RC(pec_crl_store_add(NULL, msg, ml, &added), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_crl_store_add(crls, msg, ml, NULL), PEC_RESULT_NULL_PARAMETER);
    CHECK(pec_crl_store_len(NULL) == 0);
    if (chain_ready) {
        CHECK_RC(pec_trust_store_add_pem(trust, (const uint8_t *)"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", 58, &added),
                 PEC_RESULT_BAD_CERTIFICATE);
        CHECK_RC(pec_trust_store_add_der(trust, (const uint8_t *)"\x30\x03\x02\x01", 4), PEC_RESULT_BAD_CERTIFICATE);
        CHECK(pec_trust_store_len(trust) == 1);
        CHECK_RC(pec_trust_store_add_dir(trust, S("/nonexistent/dir"), &added), PEC_RESULT_IO);
        CHECK_RC(pec_trust_store_add_dir(trust, fixtures, strlen(fixtures), &added), PEC_RESULT_OK);
        CHECK(added >= 1);
        CHECK_RC(pec_crl_store_add(crls, (const uint8_t *)"not a crl", 9, &added), PEC_RESULT_BAD_CRL);
        CHECK(pec_crl_store_len(crls) == 0);
    } else {
        skip("certificate and CRL parsing checks (pec-core chain module is a placeholder)");
    }
    CHECK_RC(pec_verifier_new(NULL), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_verifier_set_trust(v, NULL), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_verifier_set_trust(NULL, trust), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_verifier_set_trust(v, trust), PEC_RESULT_OK);
    CHECK_RC(pec_verifier_set_crls(v, NULL), PEC_RESULT_OK);
    CHECK_RC(pec_verifier_set_crls(NULL, crls), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_verifier_set_index(v, NULL), PEC_RESULT_OK);
    CHECK_RC(pec_verifier_set_index(NULL, NULL), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_verifier_set_time_now(NULL), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_verifier_set_time_unix(NULL, 0), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_verifier_set_time_signing(NULL), PEC_RESULT_NULL_PARAMETER);
    pec_trust_store_free(trust);
    pec_trust_store_free(NULL);
    pec_crl_store_free(crls);
    pec_crl_store_free(NULL);
    pec_verifier_free(v);
    pec_verifier_free(NULL);

    pec_bytes_free(signed_msg);
    pec_signer_free(soft);
    free(msg);
    free(der);
    free(keypem);
}

/* ---------------------------------------------------------------- providers index */

static void test_index(void)
{
    size_t ll, hl;
    unsigned char *ldif = fixture("index.ldif", &ll), *sha1 = fixture("signer.sha1", &hl);
    pec_index *idx = NULL;
    pec_provider_record *rec = NULL;
    const char *s;
    size_t n;
    bool b;

    CHECK_RC(pec_index_from_ldif(NULL, 4, &idx), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_index_from_ldif(ldif, ll, NULL), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_index_from_ldif((const uint8_t *)"dn: x\nnot ldif at all\n:::\n", 26, &idx),
             PEC_RESULT_LDIF_MALFORMED);
    CHECK(idx == NULL);
    CHECK_RC(pec_index_from_ldif(ldif, ll, &idx), PEC_RESULT_OK);
    CHECK(pec_index_len(idx) == 2);
    CHECK(pec_index_len(NULL) == 0);

    CHECK_RC(pec_index_is_certified(idx, S("anna@PEC.Cliente.example"), &b), PEC_RESULT_OK);
    CHECK(b);
    CHECK_RC(pec_index_is_certified(idx, S("someone@gmail.example"), &b), PEC_RESULT_OK);
    CHECK(!b);
    CHECK_RC(pec_index_is_certified(idx, "\xff@x", 3, &b), PEC_RESULT_INVALID_UTF8);
    CHECK_RC(pec_index_is_certified(NULL, S("a@b"), &b), PEC_RESULT_NULL_PARAMETER);

    CHECK_RC(pec_index_lookup_domain(idx, S("PEC.EXAMPLE.IT"), &rec), PEC_RESULT_OK);
    CHECK(rec != NULL);
    if (rec != NULL) {
        CHECK_RC(pec_provider_record_name(rec, &s, &n), PEC_RESULT_OK);
        CHECK(view_is(s, n, "Example PEC S.p.A."));
        CHECK_RC(pec_provider_record_dn(rec, &s, &n), PEC_RESULT_OK);
        CHECK(view_is(s, n, "providerName=Example PEC S.p.A.,o=postacert"));
        CHECK_RC(pec_provider_record_unit(rec, &s, &n), PEC_RESULT_OK);
        CHECK(s == NULL);
        CHECK_RC(pec_provider_record_mail_receipt(rec, &s, &n), PEC_RESULT_OK);
        CHECK(view_is(s, n, "posta-certificata@pec.example.it"));
        CHECK_RC(pec_provider_record_ldif_url(rec, &s, &n), PEC_RESULT_OK);
        CHECK(s == NULL);
        CHECK_RC(pec_provider_record_description(rec, &s, &n), PEC_RESULT_OK);
        CHECK(view_is(s, n, "Example PEC (test)"));
        CHECK(pec_provider_record_domain_count(rec) == 2);
        CHECK_RC(pec_provider_record_domain(rec, 1, &s, &n), PEC_RESULT_OK);
        CHECK(view_is(s, n, "pec.cliente.example"));
        CHECK_RC(pec_provider_record_domain(rec, 2, &s, &n), PEC_RESULT_INVALID_PARAMETER);
        CHECK(pec_provider_record_cert_hash_count(rec) == 1);
        CHECK_RC(pec_provider_record_cert_hash(rec, 0, &s, &n), PEC_RESULT_OK);
        CHECK(s != NULL && n == 40 && memcmp(s, sha1, 40) == 0);
        CHECK_RC(pec_provider_record_cert_hash(rec, 1, &s, &n), PEC_RESULT_INVALID_PARAMETER);
        CHECK(pec_provider_record_certificate_count(rec) == 1);
        size_t dl;
        unsigned char *der = fixture("signer.der", &dl);
        const uint8_t *p;
        CHECK_RC(pec_provider_record_certificate(rec, 0, &p, &n), PEC_RESULT_OK);
        CHECK(n == dl && memcmp(p, der, dl) == 0);
        free(der);
        CHECK_RC(pec_provider_record_certificate(rec, 1, &p, &n), PEC_RESULT_INVALID_PARAMETER);
        CHECK_RC(pec_provider_record_manages(rec, S("pec.example.it"), &b), PEC_RESULT_OK);
        CHECK(b);
        CHECK_RC(pec_provider_record_manages(rec, S("pec.other.example"), &b), PEC_RESULT_OK);
        CHECK(!b);
        CHECK_RC(pec_provider_record_manages(rec, NULL, 1, &b), PEC_RESULT_NULL_PARAMETER);
        pec_provider_record_free(rec);
    }
    rec = (pec_provider_record *)1;
    CHECK_RC(pec_index_lookup_domain(idx, S("example.com"), &rec), PEC_RESULT_OK);
    CHECK(rec == NULL);
    rec = NULL;
    CHECK_RC(pec_index_lookup_cert_hash(idx, (const char *)sha1, 40, &rec), PEC_RESULT_OK);
    CHECK(rec != NULL);
    pec_index_free(idx); /* records stay valid */
    if (rec != NULL) {
        CHECK_RC(pec_provider_record_name(rec, &s, &n), PEC_RESULT_OK);
        CHECK(view_is(s, n, "Example PEC S.p.A."));
    }
    pec_provider_record_free(rec);
    idx = NULL;
    CHECK_RC(pec_index_from_ldif(ldif, ll, &idx), PEC_RESULT_OK);
    CHECK_RC(pec_index_lookup_name(idx, S("other pec"), &rec), PEC_RESULT_OK);
    CHECK(rec != NULL);
    pec_provider_record_free(rec);
    CHECK_RC(pec_index_lookup_name(idx, "\xc3", 1, &rec), PEC_RESULT_INVALID_UTF8);
    CHECK_RC(pec_index_lookup_domain(NULL, S("x"), &rec), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_index_lookup_cert_hash(idx, S("00"), NULL), PEC_RESULT_NULL_PARAMETER);

    /* record accessors on NULL */
    CHECK_RC(pec_provider_record_name(NULL, &s, &n), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_provider_record_dn(NULL, &s, &n), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_provider_record_unit(NULL, &s, &n), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_provider_record_mail_receipt(NULL, &s, &n), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_provider_record_ldif_url(NULL, &s, &n), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_provider_record_description(NULL, &s, &n), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_provider_record_domain(NULL, 0, &s, &n), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_provider_record_cert_hash(NULL, 0, &s, &n), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_provider_record_certificate(NULL, 0, NULL, &n), PEC_RESULT_NULL_PARAMETER);
    CHECK(pec_provider_record_domain_count(NULL) == 0);
    CHECK(pec_provider_record_cert_hash_count(NULL) == 0);
    CHECK(pec_provider_record_certificate_count(NULL) == 0);
    pec_provider_record_free(NULL);

    /* LDAP: an unreachable server fails fast with a typed error */
    pec_index *ldap = NULL;
    pec_result rc = pec_index_from_ldap(S("ldap://127.0.0.1:1"), NULL, 0, 500, &ldap);
    CHECK(rc == PEC_RESULT_LDAP_CONNECT || rc == PEC_RESULT_LDAP_TIMEOUT);
    CHECK(ldap == NULL);
    CHECK_RC(pec_index_from_ldap(NULL, 0, NULL, 0, 500, &ldap), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_index_from_ldap("\xff", 1, NULL, 0, 500, &ldap), PEC_RESULT_INVALID_UTF8);
    CHECK_RC(pec_index_from_ldap(S("ldap://127.0.0.1:1"), NULL, 0, 500, NULL), PEC_RESULT_NULL_PARAMETER);

    pec_index_free(idx);
    pec_index_free(NULL);
    free(ldif);
    free(sha1);
}

/* The .p7m index is signed by the provider certificate, which chains to the CA like any
 * provider's: it is accepted only when that certificate is named as index signer. */
static void test_signed_index(void)
{
    size_t ll, pl, cal, sdl, spl;
    unsigned char *ldif = fixture("index.ldif", &ll), *p7m = fixture("index.ldif.p7m", &pl);
    unsigned char *ca = fixture("ca.pem", &cal), *sder = fixture("signer.der", &sdl);
    unsigned char *spem = fixture("signer.pem", &spl);
    pec_trust_store *trust = NULL;
    size_t added = 0;
    CHECK_RC(pec_trust_store_new(&trust), PEC_RESULT_OK);
    CHECK_RC(pec_trust_store_add_pem(trust, ca, cal, &added), PEC_RESULT_OK);
    pec_index *idx = NULL;

    /* plain LDIF needs no signer */
    CHECK_RC(pec_index_open(ldif, ll, NULL, NULL, 0, NULL, NULL, &idx), PEC_RESULT_OK);
    CHECK(pec_index_len(idx) == 2);
    pec_index_free(idx);
    idx = NULL;

    /* signed, no index signer named: refused although the signature chains to the CA */
    CHECK_RC(pec_index_open(p7m, pl, NULL, NULL, 0, trust, NULL, &idx), PEC_RESULT_INDEX_SIGNATURE);
    CHECK(idx == NULL);
    CHECK(strstr(last_error(), "index signer") != NULL);

    /* signed by a certificate that is not the named one (the CA is named): refused */
    const uint8_t *wrong[] = {ca};
    size_t wrong_len[] = {cal};
    CHECK_RC(pec_index_open(p7m, pl, wrong, wrong_len, 1, trust, NULL, &idx),
             PEC_RESULT_INDEX_SIGNATURE);
    CHECK(idx == NULL);
    CHECK(strstr(last_error(), "not a named index signer") != NULL);

    /* the named signer (DER, next to the CA in PEM): loads */
    const uint8_t *named[] = {ca, sder};
    size_t named_len[] = {cal, sdl};
    CHECK_RC(pec_index_open(p7m, pl, named, named_len, 2, trust, NULL, &idx), PEC_RESULT_OK);
    CHECK(pec_index_len(idx) == 2);
    pec_provider_record *rec = NULL;
    CHECK_RC(pec_index_lookup_domain(idx, S("pec.example.it"), &rec), PEC_RESULT_OK);
    CHECK(rec != NULL);
    pec_provider_record_free(rec);
    pec_index_free(idx);
    idx = NULL;

    /* named, but no trust anchors: the signature is not valid */
    const uint8_t *pem_only[] = {spem};
    size_t pem_len[] = {spl};
    CHECK_RC(pec_index_open(p7m, pl, pem_only, pem_len, 1, NULL, NULL, &idx),
             PEC_RESULT_INDEX_SIGNATURE);

    /* from a file: *.p7m is signed; the named signer as PEM */
    char path[4096];
    int pn = snprintf(path, sizeof path, "%s/index.ldif.p7m", fixtures);
    CHECK_RC(pec_index_open_file(path, (size_t)pn, pem_only, pem_len, 1, trust, NULL, &idx),
             PEC_RESULT_OK);
    CHECK(pec_index_len(idx) == 2);
    pec_index_free(idx);
    idx = NULL;
    CHECK_RC(pec_index_open_file(path, (size_t)pn, NULL, NULL, 0, trust, NULL, &idx),
             PEC_RESULT_INDEX_SIGNATURE);
    CHECK_RC(pec_index_open_file(S("/nonexistent/index.ldif"), NULL, NULL, 0, NULL, NULL, &idx),
             PEC_RESULT_IO);
    CHECK_RC(pec_index_open_file("\xff", 1, NULL, NULL, 0, NULL, NULL, &idx), PEC_RESULT_INVALID_UTF8);

    /* argument errors */
    const uint8_t *garbage[] = {(const uint8_t *)"not a certificate"};
    size_t garbage_len[] = {17};
    CHECK_RC(pec_index_open(p7m, pl, garbage, garbage_len, 1, trust, NULL, &idx),
             PEC_RESULT_BAD_CERTIFICATE);
    CHECK_RC(pec_index_open(p7m, pl, NULL, named_len, 1, trust, NULL, &idx), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_index_open(p7m, pl, named, NULL, 1, trust, NULL, &idx), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_index_open(NULL, 3, NULL, NULL, 0, NULL, NULL, &idx), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_index_open(ldif, ll, NULL, NULL, 0, NULL, NULL, NULL), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_index_open_file(NULL, 3, NULL, NULL, 0, NULL, NULL, &idx), PEC_RESULT_NULL_PARAMETER);
    CHECK(idx == NULL);

    pec_trust_store_free(trust);
    free(ldif);
    free(p7m);
    free(ca);
    free(sder);
    free(spem);
}

/* ---------------------------------------------------------------- building */

static pec_provider *make_provider(void)
{
    size_t tl;
    unsigned char *toml = fixture("provider.toml", &tl);
    pec_provider *p = NULL;
    CHECK_RC(pec_provider_new((const char *)toml, tl, &p), PEC_RESULT_OK);
    free(toml);
    return p;
}

static pec_bytes *build_envelope(const pec_provider *p, const pec_signer *signer)
{
    size_t ml;
    unsigned char *msg = fixture("message.eml", &ml);
    pec_build_options *o = NULL;
    pec_bytes *out = NULL;
    CHECK_RC(pec_build_options_new(&o), PEC_RESULT_OK);
    CHECK_RC(pec_build_options_set_original(o, msg, ml), PEC_RESULT_OK);
    CHECK_RC(pec_build_options_set_time_unix(o, 1732525200, 3600), PEC_RESULT_OK);
    CHECK_RC(pec_provider_build(p, S("posta-certificata"), o, signer, &out), PEC_RESULT_OK);
    pec_build_options_free(o);
    free(msg);
    return out;
}

static void test_build(void)
{
    pec_provider *p = make_provider();
    pec_signer *signer = software_signer();
    const char *s;
    size_t n;

    CHECK_RC(pec_provider_name(p, &s, &n), PEC_RESULT_OK);
    CHECK(view_is(s, n, "Example PEC S.p.A."));
    CHECK_RC(pec_provider_domain(p, &s, &n), PEC_RESULT_OK);
    CHECK(view_is(s, n, "pec.example.it"));
    CHECK_RC(pec_provider_name(NULL, &s, &n), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_provider_domain(p, NULL, &n), PEC_RESULT_NULL_PARAMETER);

    pec_provider *bad = NULL;
    CHECK_RC(pec_provider_new(S("name = \"x\""), &bad), PEC_RESULT_PROVIDER_CONFIG);
    CHECK_RC(pec_provider_new(S("name = \"x\"\ndomain = \"pec.x.it\"\nnope = 1\n"), &bad),
             PEC_RESULT_PROVIDER_CONFIG);
    CHECK_RC(pec_provider_new("name = \"\xff\"", 10, &bad), PEC_RESULT_INVALID_UTF8);
    CHECK_RC(pec_provider_new(NULL, 3, &bad), PEC_RESULT_NULL_PARAMETER);
    CHECK(bad == NULL);
    pec_provider_free(NULL);

    /* the transport envelope, signed: kept as a fixture for the parser tests */
    pec_bytes *env = build_envelope(p, signer);
    CHECK(env != NULL);
    if (env != NULL) {
        check_bytes(env);
        CHECK(contains(pec_bytes_data(env), pec_bytes_len(env), "X-Trasporto: posta-certificata"));
        char path[4096];
        snprintf(path, sizeof path, "%s/envelope-for-tests.eml", fixtures);
        FILE *f = fopen(path, "wb");
        CHECK(f != NULL);
        if (f != NULL) {
            fwrite(pec_bytes_data(env), 1, pec_bytes_len(env), f);
            fclose(f);
        }
    }

    size_t ml, bl, ll;
    unsigned char *msg = fixture("message.eml", &ml), *bad_orig = fixture("bad-original.eml", &bl);
    unsigned char *ldif = fixture("index.ldif", &ll);
    pec_build_options *o = NULL;
    pec_bytes *out = NULL;
    CHECK_RC(pec_build_options_new(NULL), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_build_options_new(&o), PEC_RESULT_OK);

    /* every kind: the access point's kinds from the original, the others from the envelope */
    CHECK_RC(pec_build_options_set_original(o, msg, ml), PEC_RESULT_OK);
    CHECK_RC(pec_build_options_set_time_rfc3339(o, S("2024-11-25T10:00:00+01:00")), PEC_RESULT_OK);
    CHECK_RC(pec_build_options_set_smtp_sender(o, S("mario.rossi@pec.example.it")), PEC_RESULT_OK);
    CHECK_RC(pec_build_options_add_smtp_recipient(o, S("anna.bianchi@pec.cliente.example")), PEC_RESULT_OK);
    CHECK_RC(pec_build_options_add_smtp_recipient(o, S("info@example.com")), PEC_RESULT_OK);
    CHECK_RC(pec_build_options_set_identifier(o, S("opec-test-1@pec.example.it")), PEC_RESULT_OK);
    CHECK_RC(pec_build_options_set_identifier(NULL, S("x@y.it")), PEC_RESULT_NULL_PARAMETER);
    static const char *from_original[] = {"posta-certificata", "accettazione"};
    for (size_t i = 0; i < 2; i++) {
        out = NULL;
        CHECK_RC(pec_provider_build(p, from_original[i], strlen(from_original[i]), o, signer, &out),
                 PEC_RESULT_OK);
        if (out != NULL) {
            pec_message *m = NULL;
            CHECK_RC(pec_message_parse(pec_bytes_data(out), pec_bytes_len(out), &m), PEC_RESULT_OK);
            CHECK_RC(pec_message_identifier(m, &s, &n), PEC_RESULT_OK);
            CHECK(view_is(s, n, "opec-test-1@pec.example.it"));
            pec_message_free(m);
        }
        pec_bytes_free(out);
    }
    if (env != NULL)
        CHECK_RC(pec_build_options_set_envelope(o, pec_bytes_data(env), pec_bytes_len(env)), PEC_RESULT_OK);
    CHECK_RC(pec_build_options_add_recipient(o, S("anna.bianchi@pec.cliente.example")), PEC_RESULT_OK);
    CHECK_RC(pec_build_options_set_receipt_type(o, S("breve")), PEC_RESULT_OK);
    CHECK_RC(pec_build_options_set_timeout(o, S("24h")), PEC_RESULT_OK);
    static const char *downstream[] = {"presa-in-carico", "avvenuta-consegna",
                                       "preavviso-errore-consegna", "rilevazione-virus", "errore"};
    for (size_t i = 0; i < sizeof downstream / sizeof downstream[0]; i++) {
        out = NULL;
        CHECK_RC(pec_provider_build(p, downstream[i], strlen(downstream[i]), o, signer, &out),
                 PEC_RESULT_OK);
        if (out != NULL) {
            pec_message *m = NULL;
            CHECK_RC(pec_message_parse(pec_bytes_data(out), pec_bytes_len(out), &m), PEC_RESULT_OK);
            CHECK_RC(pec_message_kind(m, &s, &n), PEC_RESULT_OK);
            CHECK(view_is(s, n, downstream[i]));
            pec_message_free(m);
        }
        pec_bytes_free(out);
    }
    CHECK_RC(pec_build_options_set_error(o, S("no-dest")), PEC_RESULT_OK);
    CHECK_RC(pec_build_options_set_error_text(o, S("5.1.1 user unknown")), PEC_RESULT_OK);
    out = NULL;
    CHECK_RC(pec_provider_build(p, S("errore-consegna"), o, NULL, &out), PEC_RESULT_OK);
    pec_bytes_free(out);

    /* the formal checks fail: non-acceptance instead */
    CHECK_RC(pec_build_options_set_original(o, bad_orig, bl), PEC_RESULT_OK);
    out = NULL;
    CHECK_RC(pec_provider_build(p, S("posta-certificata"), o, signer, &out), PEC_RESULT_FORMAL_CHECKS);
    CHECK(out == NULL);
    CHECK_RC(pec_build_options_set_error(o, S("altro")), PEC_RESULT_OK);
    CHECK_RC(pec_provider_build(p, S("non-accettazione"), o, signer, &out), PEC_RESULT_OK);
    CHECK(out != NULL && contains(pec_bytes_data(out), pec_bytes_len(out), "X-Ricevuta: non-accettazione"));
    pec_bytes_free(out);

    /* option and build error paths */
    out = NULL;
    CHECK_RC(pec_provider_build(p, S("mancata-consegna"), o, signer, &out), PEC_RESULT_UNKNOWN_KIND);
    CHECK_RC(pec_provider_build(p, "\xff", 1, o, signer, &out), PEC_RESULT_INVALID_UTF8);
    CHECK_RC(pec_provider_build(NULL, S("errore"), o, signer, &out), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_provider_build(p, S("errore"), NULL, signer, &out), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_provider_build(p, S("errore"), o, signer, NULL), PEC_RESULT_NULL_PARAMETER);
    CHECK(out == NULL);
    CHECK_RC(pec_build_options_add_recipient(o, S("evil@x.it\r\nBcc: victim@x.it")), PEC_RESULT_OK);
    CHECK_RC(pec_provider_build(p, S("avvenuta-consegna"), o, signer, &out), PEC_RESULT_HEADER_INJECTION);
    pec_build_options *empty = NULL;
    CHECK_RC(pec_build_options_new(&empty), PEC_RESULT_OK);
    CHECK_RC(pec_provider_build(p, S("avvenuta-consegna"), empty, signer, &out), PEC_RESULT_MISSING_INPUT);
    CHECK(out == NULL);
    pec_build_options_free(empty);
    CHECK_RC(pec_build_options_set_receipt_type(o, S("lunga")), PEC_RESULT_INVALID_PARAMETER);
    CHECK_RC(pec_build_options_set_error(o, S("boh")), PEC_RESULT_INVALID_PARAMETER);
    CHECK_RC(pec_build_options_set_timeout(o, S("48h")), PEC_RESULT_INVALID_PARAMETER);
    CHECK_RC(pec_build_options_set_time_rfc3339(o, S("yesterday")), PEC_RESULT_INVALID_TIME);
    CHECK_RC(pec_build_options_set_time_unix(o, 0, 100000), PEC_RESULT_INVALID_TIME);
    CHECK_RC(pec_build_options_set_time_unix(NULL, 0, 0), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_build_options_set_original(NULL, msg, ml), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_build_options_set_envelope(o, NULL, 4), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_build_options_add_recipient(o, "\xff", 1), PEC_RESULT_INVALID_UTF8);
    CHECK_RC(pec_build_options_set_error_text(o, NULL, 2), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_build_options_set_smtp_sender(o, "\xc0", 1), PEC_RESULT_INVALID_UTF8);
    CHECK_RC(pec_build_options_add_smtp_recipient(NULL, S("a@b.it")), PEC_RESULT_NULL_PARAMETER);
    pec_build_options_free(o);
    pec_build_options_free(NULL);

    /* classification through the index */
    pec_index *idx = NULL;
    CHECK_RC(pec_index_from_ldif(ldif, ll, &idx), PEC_RESULT_OK);
    CHECK_RC(pec_provider_set_index(p, idx), PEC_RESULT_OK);
    CHECK_RC(pec_provider_set_index(p, NULL), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_provider_set_index(NULL, idx), PEC_RESULT_NULL_PARAMETER);
    pec_index_free(idx);
    CHECK_RC(pec_provider_set_max_size(p, 0), PEC_RESULT_INVALID_PARAMETER);
    CHECK_RC(pec_provider_set_max_size(p, 10), PEC_RESULT_OK);
    CHECK_RC(pec_provider_set_max_size(NULL, 10), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_build_options_new(&o), PEC_RESULT_OK);
    CHECK_RC(pec_build_options_set_original(o, msg, ml), PEC_RESULT_OK);
    out = NULL;
    CHECK_RC(pec_provider_build(p, S("posta-certificata"), o, NULL, &out), PEC_RESULT_FORMAL_CHECKS);
    pec_build_options_free(o);

    pec_bytes_free(env);
    pec_signer_free(signer);
    pec_provider_free(p);
    free(msg);
    free(bad_orig);
    free(ldif);
}

/* ---------------------------------------------------------------- PKCS#11 (SoftHSM) */

static void test_pkcs11(void)
{
    static const char module[] = "/usr/lib/softhsm/libsofthsm2.so";
    char conf[4096];
    snprintf(conf, sizeof conf, "%s/softhsm/softhsm2.conf", fixtures);
    FILE *f = fopen(module, "rb");
    FILE *c = fopen(conf, "rb");
    if (f == NULL || c == NULL) {
        skip("SoftHSM token not available");
        if (f != NULL)
            fclose(f);
        if (c != NULL)
            fclose(c);
        return;
    }
    fclose(f);
    fclose(c);
    size_t cl, ml;
    unsigned char *cert = fixture("signer.pem", &cl), *msg = fixture("message.eml", &ml);
    pec_signer *s = NULL;
    CHECK_RC(pec_signer_new_pkcs11(S("pkcs11:token=PEC;object=signer;type=private?pin-value=0000"),
                                   S(module), cert, cl, NULL, 0, &s),
             PEC_RESULT_PKCS11_PIN_INCORRECT);
    CHECK(s == NULL);
    CHECK_RC(pec_signer_new_pkcs11(S("pkcs11:token=NOPE;object=signer?pin-value=1234"), S(module),
                                   cert, cl, NULL, 0, &s),
             PEC_RESULT_PKCS11_TOKEN_NOT_FOUND);
    CHECK_RC(pec_signer_new_pkcs11(S("not-a-uri"), S(module), cert, cl, NULL, 0, &s), PEC_RESULT_PKCS11_URI);
    CHECK_RC(pec_signer_new_pkcs11(S("pkcs11:token=PEC;object=signer?pin-value=1234"),
                                   S("/nonexistent/module.so"), cert, cl, NULL, 0, &s),
             PEC_RESULT_PKCS11_MODULE);
    CHECK_RC(pec_signer_new_pkcs11(S("pkcs11:token=PEC;object=signer;type=private?pin-value=1234"),
                                   S(module), cert, cl, NULL, 0, &s),
             PEC_RESULT_OK);
    if (s != NULL) {
        pec_bytes *out = NULL;
        CHECK_RC(pec_sign_message(s, msg, ml, 1732525200, &out), PEC_RESULT_OK);
        pec_verifier *v = make_verifier(true);
        pec_report *r = NULL;
        CHECK_RC(pec_verifier_verify(v, pec_bytes_data(out), pec_bytes_len(out), &r), PEC_RESULT_OK);
        check_good_report(r, true);
        pec_report_free(r);
        pec_verifier_free(v);
        pec_bytes_free(out);
        pec_signer_free(s);
    }
    free(cert);
    free(msg);
}

/* ---------------------------------------------------------------- two threads */

#define ROUNDS 8

typedef struct {
    const pec_verifier *verifier;
    const pec_provider *provider;
    const pec_signer *signer;
    const uint8_t *signed_msg;
    size_t signed_len;
    uint32_t verdicts[ROUNDS];
    size_t reasons[ROUNDS];
    size_t lens[ROUNDS];
    char kinds[ROUNDS][32];
} thread_job;

static void *verify_thread(void *arg)
{
    thread_job *j = arg;
    for (int i = 0; i < ROUNDS; i++) {
        pec_report *r = NULL;
        if (pec_verifier_verify(j->verifier, j->signed_msg, j->signed_len, &r) != PEC_RESULT_OK)
            continue;
        pec_report_verdict(r, &j->verdicts[i]);
        j->reasons[i] = pec_report_reason_count(r);
        pec_report_free(r);
    }
    return NULL;
}

static void *build_thread(void *arg)
{
    thread_job *j = arg;
    for (int i = 0; i < ROUNDS; i++) {
        pec_bytes *b = build_envelope(j->provider, j->signer);
        if (b == NULL)
            continue;
        j->lens[i] = pec_bytes_len(b);
        pec_message *m = NULL;
        if (pec_message_parse(pec_bytes_data(b), pec_bytes_len(b), &m) == PEC_RESULT_OK) {
            const char *s;
            size_t n;
            if (pec_message_kind(m, &s, &n) == PEC_RESULT_OK && s != NULL && n < 32)
                memcpy(j->kinds[i], s, n + 1);
            pec_message_free(m);
        }
        pec_bytes_free(b);
    }
    return NULL;
}

static void test_threads(void)
{
    pec_provider *p = make_provider();
    pec_signer *signer = software_signer();
    pec_verifier *v = make_verifier(true);
    size_t ml;
    unsigned char *msg = fixture("message.eml", &ml);
    pec_bytes *signed_msg = NULL;
    CHECK_RC(pec_sign_message(signer, msg, ml, 1732525200, &signed_msg), PEC_RESULT_OK);

    thread_job seq = {v, p, signer, pec_bytes_data(signed_msg), pec_bytes_len(signed_msg), {0}, {0}, {0}, {{0}}};
    thread_job par = seq;
    verify_thread(&seq);
    build_thread(&seq);

    pthread_t a, b;
    CHECK(pthread_create(&a, NULL, verify_thread, &par) == 0);
    CHECK(pthread_create(&b, NULL, build_thread, &par) == 0);
    pthread_join(a, NULL);
    pthread_join(b, NULL);

    for (int i = 0; i < ROUNDS; i++) {
        CHECK(par.verdicts[i] == seq.verdicts[0] && seq.verdicts[i] == seq.verdicts[0]);
        CHECK(par.reasons[i] == seq.reasons[0] && seq.reasons[i] == seq.reasons[0]);
        CHECK(strcmp(par.kinds[i], "posta-certificata") == 0);
        CHECK(strcmp(seq.kinds[i], "posta-certificata") == 0);
        /* identifiers differ per build, the length of the envelope barely */
        CHECK(par.lens[i] > 0 && seq.lens[i] > 0);
    }
    pec_bytes_free(signed_msg);
    free(msg);
    pec_verifier_free(v);
    pec_signer_free(signer);
    pec_provider_free(p);
}

/* ---------------------------------------------------------------- certificates and digests */

static void test_certificate_and_digest(void)
{
    size_t len = 0;
    unsigned char *pem = fixture("ca.pem", &len);
    pec_certificate *c = NULL;
    CHECK(pec_certificate_parse(NULL, 0, &c) != PEC_RESULT_OK);
    CHECK(c == NULL);
    CHECK_RC(pec_certificate_parse(pem, len, NULL), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_certificate_parse((const uint8_t *)"garbage", 7, &c), PEC_RESULT_BAD_CERTIFICATE);
    CHECK(c == NULL);
    CHECK_RC(pec_certificate_parse(pem, len, &c), PEC_RESULT_OK);
    const char *s = NULL;
    size_t n = 0;
    CHECK_RC(pec_certificate_subject(c, &s, &n), PEC_RESULT_OK);
    CHECK(s != NULL && n > 0 && s[n] == '\0');
    CHECK_RC(pec_certificate_issuer(c, &s, &n), PEC_RESULT_OK);
    CHECK(n > 0);
    CHECK_RC(pec_certificate_serial(c, &s, &n), PEC_RESULT_OK);
    CHECK(n > 0);
    CHECK_RC(pec_certificate_sha1(c, &s, &n), PEC_RESULT_OK);
    CHECK(n == 40);
    (void)pec_certificate_email(c, &s, &n);
    int64_t t = 0;
    bool present = false;
    CHECK_RC(pec_certificate_not_before(c, &t, &present), PEC_RESULT_OK);
    CHECK(present && t > 0);
    int64_t t2 = 0;
    CHECK_RC(pec_certificate_not_after(c, &t2, &present), PEC_RESULT_OK);
    CHECK(present && t2 > t);
    const uint8_t *der = NULL;
    size_t der_len = 0;
    CHECK_RC(pec_certificate_der(c, &der, &der_len), PEC_RESULT_OK);
    CHECK(der != NULL && der_len > 100 && der[0] == 0x30);
    pec_bytes *fp = NULL;
    CHECK_RC(pec_certificate_fingerprint(c, "sha256", 6, &fp), PEC_RESULT_OK);
    CHECK(pec_bytes_len(fp) == 32);
    pec_bytes_free(fp);
    fp = NULL;
    CHECK_RC(pec_certificate_fingerprint(c, "md5", 3, &fp), PEC_RESULT_OK);
    CHECK(pec_bytes_len(fp) == 16);
    pec_bytes_free(fp);
    fp = NULL;
    CHECK(pec_certificate_fingerprint(c, "crc32", 5, &fp) != PEC_RESULT_OK);
    CHECK(fp == NULL);
    CHECK_RC(pec_certificate_subject(NULL, &s, &n), PEC_RESULT_NULL_PARAMETER);
    pec_certificate_free(c);
    pec_certificate_free(NULL);
    free(pem);

    /* digest of "abc": SHA-256 and SHA-1 known answers, fed in pieces */
    pec_digest *d = NULL;
    CHECK(pec_digest_new("whirlpool", 9, &d) != PEC_RESULT_OK);
    CHECK(d == NULL);
    CHECK_RC(pec_digest_new("sha256", 6, &d), PEC_RESULT_OK);
    CHECK_RC(pec_digest_update(d, (const uint8_t *)"a", 1), PEC_RESULT_OK);
    CHECK_RC(pec_digest_update(d, (const uint8_t *)"bc", 2), PEC_RESULT_OK);
    CHECK_RC(pec_digest_update(NULL, (const uint8_t *)"x", 1), PEC_RESULT_NULL_PARAMETER);
    pec_bytes *out = NULL;
    CHECK_RC(pec_digest_finish(d, &out), PEC_RESULT_OK);
    static const uint8_t abc256[4] = {0xba, 0x78, 0x16, 0xbf};
    CHECK(pec_bytes_len(out) == 32 && memcmp(pec_bytes_data(out), abc256, 4) == 0);
    pec_bytes_free(out);
    pec_digest_free(d);
    pec_digest_free(NULL);
    d = NULL;
    out = NULL;
    CHECK_RC(pec_digest_new("sha1", 4, &d), PEC_RESULT_OK);
    CHECK_RC(pec_digest_update(d, (const uint8_t *)"abc", 3), PEC_RESULT_OK);
    CHECK_RC(pec_digest_finish(d, &out), PEC_RESULT_OK);
    static const uint8_t abc1[4] = {0xa9, 0x99, 0x3e, 0x36};
    CHECK(pec_bytes_len(out) == 20 && memcmp(pec_bytes_data(out), abc1, 4) == 0);
    pec_bytes_free(out);
    pec_digest_free(d);
}

/* ---------------------------------------------------------------- trust and CRL files */

static void fixture_path(char *path, size_t size, const char *name)
{
    snprintf(path, size, "%s/%s", fixtures, name);
}

/* pec_trust_store_add_file and pec_crl_store_add_file: PEM or DER detected (pec_core::open) */
static void test_trust_files(void)
{
    char path[4096];
    pec_trust_store *trust = NULL, *der_trust = NULL;
    pec_crl_store *crls = NULL;
    size_t added = 99;
    CHECK_RC(pec_trust_store_new(&trust), PEC_RESULT_OK);
    CHECK_RC(pec_trust_store_new(&der_trust), PEC_RESULT_OK);
    CHECK_RC(pec_crl_store_new(&crls), PEC_RESULT_OK);

    fixture_path(path, sizeof path, "ca.pem");
    CHECK_RC(pec_trust_store_add_file(trust, path, strlen(path), &added), PEC_RESULT_OK);
    CHECK(added == 1 && pec_trust_store_len(trust) == 1);
    fixture_path(path, sizeof path, "ca.der");
    CHECK_RC(pec_trust_store_add_file(trust, path, strlen(path), &added), PEC_RESULT_OK);
    CHECK(added == 0 && pec_trust_store_len(trust) == 1); /* the same anchor */
    CHECK_RC(pec_trust_store_add_file(der_trust, path, strlen(path), &added), PEC_RESULT_OK);
    CHECK(added == 1 && pec_trust_store_len(der_trust) == 1);

    /* errors: nothing added, outputs untouched */
    added = 99;
    fixture_path(path, sizeof path, "message.eml");
    CHECK_RC(pec_trust_store_add_file(trust, path, strlen(path), &added), PEC_RESULT_BAD_CERTIFICATE);
    fixture_path(path, sizeof path, "crl.pem");
    CHECK_RC(pec_trust_store_add_file(trust, path, strlen(path), &added), PEC_RESULT_BAD_CERTIFICATE);
    CHECK_RC(pec_trust_store_add_file(trust, S("/nonexistent/ca.pem"), &added), PEC_RESULT_IO);
    CHECK_RC(pec_trust_store_add_file(trust, "\xff", 1, &added), PEC_RESULT_INVALID_UTF8);
    CHECK_RC(pec_trust_store_add_file(trust, NULL, 3, &added), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_trust_store_add_file(NULL, S("/tmp"), &added), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_trust_store_add_file(trust, S("/tmp"), NULL), PEC_RESULT_NULL_PARAMETER);
    CHECK(added == 99 && pec_trust_store_len(trust) == 1);

    fixture_path(path, sizeof path, "crl.pem");
    CHECK_RC(pec_crl_store_add_file(crls, path, strlen(path), &added), PEC_RESULT_OK);
    CHECK(added == 1);
    fixture_path(path, sizeof path, "crl.der");
    CHECK_RC(pec_crl_store_add_file(crls, path, strlen(path), &added), PEC_RESULT_OK);
    CHECK(added == 1 && pec_crl_store_len(crls) == 2);
    added = 99;
    fixture_path(path, sizeof path, "ca.pem");
    CHECK_RC(pec_crl_store_add_file(crls, path, strlen(path), &added), PEC_RESULT_BAD_CRL);
    CHECK_RC(pec_crl_store_add_file(crls, S("/nonexistent/ca.crl"), &added), PEC_RESULT_IO);
    CHECK_RC(pec_crl_store_add_file(crls, "\xc0", 1, &added), PEC_RESULT_INVALID_UTF8);
    CHECK_RC(pec_crl_store_add_file(NULL, S("/tmp"), &added), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_crl_store_add_file(crls, NULL, 0, &added), PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_crl_store_add_file(crls, S("/tmp"), NULL), PEC_RESULT_NULL_PARAMETER);
    CHECK(added == 99 && pec_crl_store_len(crls) == 2);

    /* a verifier on the stores opened from files: the signed envelope is valid */
    size_t el;
    unsigned char *env = fixture("envelope-for-tests.eml", &el);
    pec_verifier *v = NULL;
    pec_report *r = NULL;
    uint32_t verdict = 99;
    CHECK_RC(pec_verifier_new(&v), PEC_RESULT_OK);
    CHECK_RC(pec_verifier_set_trust(v, der_trust), PEC_RESULT_OK);
    CHECK_RC(pec_verifier_set_crls(v, crls), PEC_RESULT_OK);
    CHECK_RC(pec_verifier_verify(v, env, el, &r), PEC_RESULT_OK);
    CHECK_RC(pec_report_verdict(r, &verdict), PEC_RESULT_OK);
    CHECK(verdict == PEC_VERDICT_VALID);
    pec_report_free(r);
    pec_verifier_free(v);
    free(env);
    pec_trust_store_free(trust);
    pec_trust_store_free(der_trust);
    pec_crl_store_free(crls);
}

/* ---------------------------------------------------------------- provider from fields */

static void test_provider_from_fields(void)
{
    static const char *domains[] = {"pec.example.it", "pec.cliente.example"};
    static const size_t lens[] = {14, 19};
    pec_provider *p = NULL, *bad = NULL;
    const char *s;
    size_t n;
    CHECK_RC(pec_provider_from_fields(S("Example PEC S.p.A."), S("pec.example.it"), domains, lens,
                                      2, S("Europe/Rome"), NULL, &p),
             PEC_RESULT_OK);
    CHECK(p != NULL);
    CHECK_RC(pec_provider_name(p, &s, &n), PEC_RESULT_OK);
    CHECK(view_is(s, n, "Example PEC S.p.A."));
    CHECK_RC(pec_provider_domain(p, &s, &n), PEC_RESULT_OK);
    CHECK(view_is(s, n, "pec.example.it"));

    /* builds like the provider of provider.toml: the same classification of recipients */
    pec_signer *signer = software_signer();
    pec_bytes *env = build_envelope(p, signer);
    CHECK(env != NULL);
    if (env != NULL) {
        pec_message *m = NULL;
        const pec_daticert *d = NULL;
        CHECK_RC(pec_message_parse(pec_bytes_data(env), pec_bytes_len(env), &m), PEC_RESULT_OK);
        CHECK_RC(pec_message_daticert(m, &d), PEC_RESULT_OK);
        if (d != NULL) {
            CHECK(pec_daticert_recipient_count(d) == 2);
            CHECK_RC(pec_daticert_recipient_type(d, 0, &s, &n), PEC_RESULT_OK);
            CHECK(view_is(s, n, "certificato"));
            CHECK_RC(pec_daticert_recipient_type(d, 1, &s, &n), PEC_RESULT_OK);
            CHECK(view_is(s, n, "esterno"));
            CHECK_RC(pec_daticert_issuer(d, &s, &n), PEC_RESULT_OK);
            CHECK(view_is(s, n, "Example PEC S.p.A."));
        }
        pec_message_free(m);
    }
    pec_bytes_free(env);
    pec_provider_free(p);

    /* no certified domain, but an index: recipients classified through the index */
    size_t ll;
    unsigned char *ldif = fixture("index.ldif", &ll);
    pec_index *idx = NULL;
    CHECK_RC(pec_index_from_ldif(ldif, ll, &idx), PEC_RESULT_OK);
    p = NULL;
    CHECK_RC(pec_provider_from_fields(S("Example PEC S.p.A."), S("pec.example.it"), NULL, NULL, 0,
                                      NULL, 0, idx, &p),
             PEC_RESULT_OK);
    pec_index_free(idx); /* the provider keeps its reference */
    env = build_envelope(p, signer);
    CHECK(env != NULL);
    pec_bytes_free(env);
    pec_provider_free(p);
    free(ldif);

    /* errors: checked as a provider file is; the output is written only on success */
    CHECK_RC(pec_provider_from_fields(S(""), S("pec.example.it"), NULL, NULL, 0, NULL, 0, NULL, &bad),
             PEC_RESULT_PROVIDER_CONFIG);
    CHECK_RC(pec_provider_from_fields(S("A\r\nB"), S("pec.example.it"), NULL, NULL, 0, NULL, 0, NULL,
                                      &bad),
             PEC_RESULT_PROVIDER_CONFIG);
    CHECK_RC(pec_provider_from_fields(S("A"), S("pec example.it"), NULL, NULL, 0, NULL, 0, NULL, &bad),
             PEC_RESULT_PROVIDER_CONFIG);
    static const char *bad_domains[] = {"pec.example.it", "not a domain"};
    static const size_t bad_lens[] = {14, 12};
    CHECK_RC(pec_provider_from_fields(S("A"), S("pec.example.it"), bad_domains, bad_lens, 2, NULL, 0,
                                      NULL, &bad),
             PEC_RESULT_PROVIDER_CONFIG);
    CHECK_RC(pec_provider_from_fields(S("A"), S("pec.example.it"), NULL, NULL, 0, S("Mars/Olympus"),
                                      NULL, &bad),
             PEC_RESULT_PROVIDER_CONFIG);
    static const char *utf8_bad[] = {"\xff"};
    static const size_t one[] = {1};
    CHECK_RC(pec_provider_from_fields(S("A"), S("pec.example.it"), utf8_bad, one, 1, NULL, 0, NULL,
                                      &bad),
             PEC_RESULT_INVALID_UTF8);
    CHECK_RC(pec_provider_from_fields("\xc0", 1, S("pec.example.it"), NULL, NULL, 0, NULL, 0, NULL,
                                      &bad),
             PEC_RESULT_INVALID_UTF8);
    CHECK_RC(pec_provider_from_fields(NULL, 1, S("pec.example.it"), NULL, NULL, 0, NULL, 0, NULL, &bad),
             PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_provider_from_fields(S("A"), NULL, 0, NULL, NULL, 0, NULL, 0, NULL, &bad),
             PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_provider_from_fields(S("A"), S("pec.example.it"), NULL, lens, 2, NULL, 0, NULL, &bad),
             PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_provider_from_fields(S("A"), S("pec.example.it"), domains, NULL, 2, NULL, 0, NULL,
                                      &bad),
             PEC_RESULT_NULL_PARAMETER);
    CHECK_RC(pec_provider_from_fields(S("A"), S("pec.example.it"), NULL, NULL, 0, NULL, 0, NULL, NULL),
             PEC_RESULT_NULL_PARAMETER);
    CHECK(bad == NULL);
    pec_signer_free(signer);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test_ffi FIXTURES_DIR\n");
        return 2;
    }
    fixtures = argv[1];
    {
        size_t cal, added = 0;
        unsigned char *ca = fixture("ca.pem", &cal);
        pec_trust_store *t = NULL;
        pec_trust_store_new(&t);
        chain_ready = pec_trust_store_add_pem(t, ca, cal, &added) == PEC_RESULT_OK && added == 1;
        pec_trust_store_free(t);
        free(ca);
    }
    test_version_and_results();
    test_bytes_null();
    test_build(); /* writes envelope-for-tests.eml */
    test_provider_from_fields();
    test_message_plain();
    test_message_envelope();
    test_message_garbage();
    test_daticert_parse();
    test_interop();
    test_signers();
    test_sign_and_verify();
    test_index();
    test_signed_index();
    test_trust_files();
    test_pkcs11();
    test_certificate_and_digest();
    test_threads();
    printf("test_ffi: %d checks, %d failures\n", checks, failures);
    return failures == 0 ? 0 : 1;
}
