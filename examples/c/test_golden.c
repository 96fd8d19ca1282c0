/*
 * test_golden: the C door against the golden files (tests/vectors/expected/README.md).
 * For every message of sources.txt, pec_message_to_json and pec_report_to_json (trust anchors
 * anchors.pem, evaluated at the signing time) must give the JSON of <stem>.inspect.json and
 * <stem>.verify.json. Also pec_provider_record_to_json and the NULL paths of the three.
 * Run under valgrind and as an AddressSanitizer build by `make check`.
 *
 *   test_golden REPO_ROOT        (interop messages from PEC_INTEROP_DIR, else
 *                                 REPO_ROOT/../shared/interop)
 *
 * Comparison: both texts with the whitespace outside strings removed. Every door writes keys
 * sorted (the wire view), so this compares values. A mismatch writes <name>.failed beside the
 * expectation and fails; a missing expectation fails unless PEC_BLESS=1 (then it is written).
 * Interop messages are skipped when their directory is absent (a failure under CI=true).
 */
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "common.h"

static int failures, checks;
static char expected_dir[4096];

#define CHECK(cond)                                                                            \
    do {                                                                                       \
        checks++;                                                                              \
        if (!(cond)) {                                                                         \
            failures++;                                                                        \
            fprintf(stderr, "%s:%d: CHECK failed: %s (last error: %s)\n", __FILE__, __LINE__,  \
                    #cond, last_error());                                                      \
        }                                                                                      \
    } while (0)

static bool env_is(const char *name, const char *value)
{
    const char *v = getenv(name);
    return v != NULL && strcmp(v, value) == 0;
}

/* The JSON text without whitespace outside strings, NUL-terminated (malloc'ed). */
static char *minify(const unsigned char *s, size_t n)
{
    char *out = malloc(n + 1);
    size_t k = 0;
    bool in_string = false;
    if (out == NULL)
        exit(2);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = s[i];
        if (in_string) {
            out[k++] = (char)c;
            if (c == '\\' && i + 1 < n)
                out[k++] = (char)s[++i];
            else if (c == '"')
                in_string = false;
        } else if (c == '"') {
            in_string = true;
            out[k++] = (char)c;
        } else if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
            out[k++] = (char)c;
        }
    }
    out[k] = '\0';
    return out;
}

static void write_text(const char *path, const uint8_t *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(data, 1, len, f) != len || fputc('\n', f) == EOF) {
        perror(path);
        exit(2);
    }
    fclose(f);
}

/* Compares the door's JSON with the expectation `name` (see the header comment). */
static void check_golden(const char *name, const pec_bytes *json)
{
    char path[4352], failed[4416];
    const uint8_t *data = pec_bytes_data(json);
    size_t len = pec_bytes_len(json);
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", expected_dir, name);
    snprintf(failed, sizeof failed, "%s.failed", path);
    checks++;
    if (stat(path, &st) != 0) {
        if (env_is("PEC_BLESS", "1")) {
            write_text(path, data, len);
            fprintf(stderr, "blessed %s\n", path);
        } else {
            failures++;
            fprintf(stderr, "%s: no expectation; run with PEC_BLESS=1 to write it\n", path);
        }
        return;
    }
    size_t elen = 0;
    unsigned char *expected = read_file(path, &elen);
    if (expected == NULL)
        exit(2);
    char *a = minify(data, len), *e = minify(expected, elen);
    if (strcmp(a, e) == 0) {
        remove(failed);
    } else {
        failures++;
        write_text(failed, data, len);
        fprintf(stderr, "%s: differs from the expectation; actual output in %s\n", name, failed);
    }
    free(a);
    free(e);
    free(expected);
}

static void check_message(const pec_verifier *v, const char *file, const char *stem)
{
    size_t len = 0;
    unsigned char *bytes = read_file(file, &len);
    pec_message *m = NULL;
    pec_report *r = NULL;
    pec_bytes *json = NULL;
    char name[4096];
    if (bytes == NULL) {
        failures++;
        return;
    }
    CHECK(pec_message_parse(bytes, len, &m) == PEC_RESULT_OK);
    CHECK(pec_message_to_json(m, &json) == PEC_RESULT_OK);
    if (json != NULL) {
        snprintf(name, sizeof name, "%s.inspect.json", stem);
        check_golden(name, json);
        pec_bytes_free(json);
        json = NULL;
    }
    CHECK(pec_verifier_verify(v, bytes, len, &r) == PEC_RESULT_OK);
    CHECK(pec_report_to_json(r, &json) == PEC_RESULT_OK);
    if (json != NULL) {
        snprintf(name, sizeof name, "%s.verify.json", stem);
        check_golden(name, json);
        pec_bytes_free(json);
    }
    pec_report_free(r);
    pec_message_free(m);
    free(bytes);
}

static void test_goldens(const char *root)
{
    char path[4352], line[1024];
    const char *interop = getenv("PEC_INTEROP_DIR");
    char interop_default[4096];
    struct stat st;
    bool have_interop;
    size_t len = 0, added = 0;
    int messages = 0;
    unsigned char *anchors;
    pec_trust_store *trust = NULL;
    pec_verifier *v = NULL;
    FILE *list;

    if (interop == NULL || *interop == '\0') {
        snprintf(interop_default, sizeof interop_default, "%s/../shared/interop", root);
        interop = interop_default;
    }
    have_interop = stat(interop, &st) == 0 && S_ISDIR(st.st_mode);
    if (!have_interop) {
        fprintf(stderr, "skip: interop samples at %s missing\n", interop);
        if (env_is("CI", "true")) {
            fprintf(stderr, "CI=true: skipping is a failure\n");
            failures++;
        }
    }

    snprintf(path, sizeof path, "%s/anchors.pem", expected_dir);
    anchors = read_file(path, &len);
    if (anchors == NULL)
        exit(2);
    CHECK(pec_trust_store_new(&trust) == PEC_RESULT_OK);
    CHECK(pec_trust_store_add_pem(trust, anchors, len, &added) == PEC_RESULT_OK);
    CHECK(added == 2);
    free(anchors);
    CHECK(pec_verifier_new(&v) == PEC_RESULT_OK);
    CHECK(pec_verifier_set_trust(v, trust) == PEC_RESULT_OK);
    CHECK(pec_verifier_set_time_signing(v) == PEC_RESULT_OK);
    pec_trust_store_free(trust);

    snprintf(path, sizeof path, "%s/sources.txt", expected_dir);
    list = fopen(path, "r");
    if (list == NULL) {
        perror(path);
        exit(2);
    }
    while (fgets(line, sizeof line, list) != NULL) {
        char file[8192], stem[2048];
        size_t n = strcspn(line, "\r\n"), k = 0;
        line[n] = '\0';
        if (n == 0 || line[0] == '#')
            continue;
        if (strncmp(line, "vectors/", 8) == 0) {
            snprintf(file, sizeof file, "%s/tests/vectors/%s", root, line + 8);
        } else if (strncmp(line, "interop/", 8) == 0) {
            if (!have_interop)
                continue;
            snprintf(file, sizeof file, "%s/%s", interop, line + 8);
        } else {
            fprintf(stderr, "sources.txt: bad line %s\n", line);
            failures++;
            continue;
        }
        /* the stem: the line with "/" written "__" */
        for (size_t i = 0; i < n && k + 3 < sizeof stem; i++) {
            if (line[i] == '/') {
                stem[k++] = '_';
                stem[k++] = '_';
            } else {
                stem[k++] = line[i];
            }
        }
        stem[k] = '\0';
        check_message(v, file, stem);
        messages++;
    }
    fclose(list);
    pec_verifier_free(v);
    fprintf(stderr, "test_golden: %d messages checked against their golden files\n", messages);
    CHECK(messages >= 7);
}

/* pec_provider_record_to_json: the JSON of `pec index lookup --json`; NULL paths. */
static void test_record_and_nulls(const char *root)
{
    char path[4096];
    size_t len = 0;
    unsigned char *ldif;
    pec_index *index = NULL;
    pec_provider_record *rec = NULL;
    pec_bytes *json = NULL;

    snprintf(path, sizeof path, "%s/tests/vectors/index/providers.ldif", root);
    ldif = read_file(path, &len);
    if (ldif == NULL)
        exit(2);
    CHECK(pec_index_from_ldif(ldif, len, &index) == PEC_RESULT_OK);
    free(ldif);
    CHECK(pec_index_lookup_domain(index, "pec.alfa.example", strlen("pec.alfa.example"), &rec) ==
          PEC_RESULT_OK);
    CHECK(pec_provider_record_to_json(rec, &json) == PEC_RESULT_OK);
    if (json != NULL) {
        char *text = minify(pec_bytes_data(json), pec_bytes_len(json));
        CHECK(strcmp(text, "{\"cert_hashes\":[\"a896e0c431b7d5c564842c8a4166217e6708e4d3\","
                           "\"90e2d9e546fca4655b5095f6db3f01af1210b235\"],"
                           "\"dn\":\"providerName=Alfa PEC,o=postacert\","
                           "\"mail_receipt\":\"takecharge@pec.alfa.example\","
                           "\"managed_domains\":[\"pec.alfa.example\",\"pec.cliente-uno.example\","
                           "\"legal.alfa.example\"],\"name\":\"Alfa PEC\",\"unit\":null}") == 0);
        free(text);
        pec_bytes_free(json);
    }
    pec_provider_record_free(rec);
    pec_index_free(index);

    json = NULL;
    CHECK(pec_message_to_json(NULL, &json) == PEC_RESULT_NULL_PARAMETER && json == NULL);
    CHECK(pec_report_to_json(NULL, &json) == PEC_RESULT_NULL_PARAMETER && json == NULL);
    CHECK(pec_provider_record_to_json(NULL, &json) == PEC_RESULT_NULL_PARAMETER && json == NULL);
    {
        static const char plain[] = "From: a@b.example\r\nSubject: x\r\n\r\nbody\r\n";
        pec_message *m = NULL;
        CHECK(pec_message_parse((const uint8_t *)plain, sizeof plain - 1, &m) == PEC_RESULT_OK);
        CHECK(pec_message_to_json(m, NULL) == PEC_RESULT_NULL_PARAMETER);
        pec_message_free(m);
    }
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test_golden REPO_ROOT\n");
        return 2;
    }
    snprintf(expected_dir, sizeof expected_dir, "%s/tests/vectors/expected", argv[1]);
    test_goldens(argv[1]);
    test_record_and_nulls(argv[1]);
    printf("test_golden: %d checks, %d failures\n", checks, failures);
    return failures == 0 ? 0 : 1;
}
