/*
 * pec-verify: prints the verification report of each message file given.
 *
 *   pec-verify [--ca PEM|DIR]... [--crl FILE]... [--index LDIF] [--at UNIX | --signing-time]
 *              FILE...
 *
 * Exit status: 0 when every message is valid, 1 when some is not (invalid or indeterminate),
 * 2 on a usage or load error.
 */
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "common.h"

typedef pec_result (*time_getter)(const pec_report *, int64_t *, bool *);

static void print_time(const pec_report *r, const char *label, time_getter get)
{
    int64_t t = 0;
    bool present = false;
    if (get(r, &t, &present) == PEC_RESULT_OK && present)
        printf("%s: %lld\n", label, (long long)t);
}

static void print_report(const pec_report *r)
{
    const char *s;
    size_t n;
    bool b;

    pec_report_verdict_name(r, &s, &n);
    print_view(stdout, "verdict", s, n);
    size_t count = pec_report_reason_count(r);
    for (size_t i = 0; i < count; i++) {
        uint32_t code = 0;
        pec_report_reason(r, i, &code);
        pec_report_reason_name(r, i, &s, &n);
        printf("reason: %.*s (%u)\n", (int)n, s, code);
    }
    if (pec_report_digest(r, &s, &n) == PEC_RESULT_OK && s != NULL)
        print_view(stdout, "digest", s, n);
    if (pec_report_weak_digest(r, &b) == PEC_RESULT_OK && b)
        printf("weak-digest: yes\n");
    print_time(r, "signing-time", pec_report_signing_time);
    print_time(r, "evaluated-at", pec_report_evaluated_at);
    if (pec_report_has_signer(r, &b) == PEC_RESULT_OK && b) {
        pec_report_signer_subject(r, &s, &n);
        print_view(stdout, "signer", s, n);
        pec_report_signer_issuer(r, &s, &n);
        print_view(stdout, "issuer", s, n);
        pec_report_signer_sha1(r, &s, &n);
        print_view(stdout, "signer-sha1", s, n);
    }
    count = pec_report_chain_count(r);
    for (size_t i = 0; i < count; i++) {
        pec_report_chain_subject(r, i, &s, &n);
        print_view(stdout, "chain", s, n);
    }
    pec_report_revocation(r, &s, &n);
    print_view(stdout, "revocation", s, n);
    if (pec_report_provider_name(r, &s, &n) == PEC_RESULT_OK && s != NULL)
        print_view(stdout, "provider", s, n);
}

static int usage(void)
{
    fprintf(stderr, "usage: pec-verify [--ca PEM|DIR]... [--crl FILE]... [--index LDIF] "
                    "[--at UNIX | --signing-time] FILE...\n");
    return 2;
}

int main(int argc, char **argv)
{
    pec_trust_store *trust = NULL;
    pec_crl_store *crls = NULL;
    pec_index *index = NULL;
    pec_verifier *verifier = NULL;
    int status = 2, first = argc;

    if (pec_trust_store_new(&trust) != PEC_RESULT_OK || pec_crl_store_new(&crls) != PEC_RESULT_OK ||
        pec_verifier_new(&verifier) != PEC_RESULT_OK)
        goto out;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        pec_result rc = PEC_RESULT_OK;
        if (strcmp(a, "--signing-time") == 0) {
            rc = pec_verifier_set_time_signing(verifier);
        } else if (strcmp(a, "--ca") == 0 || strcmp(a, "--crl") == 0 || strcmp(a, "--index") == 0 ||
                   strcmp(a, "--at") == 0) {
            if (++i >= argc) {
                status = usage();
                goto out;
            }
            const char *v = argv[i];
            size_t added = 0, len = 0;
            struct stat st;
            if (strcmp(a, "--at") == 0) {
                rc = pec_verifier_set_time_unix(verifier, strtoll(v, NULL, 10));
            } else if (strcmp(a, "--ca") == 0 && stat(v, &st) == 0 && S_ISDIR(st.st_mode)) {
                rc = pec_trust_store_add_dir(trust, v, strlen(v), &added);
            } else if (strcmp(a, "--ca") == 0) {
                /* a PEM bundle or a DER certificate, read by libpec */
                rc = pec_trust_store_add_file(trust, v, strlen(v), &added);
            } else if (strcmp(a, "--crl") == 0) {
                rc = pec_crl_store_add_file(crls, v, strlen(v), &added);
            } else {
                unsigned char *data = read_file(v, &len);
                if (data == NULL)
                    goto out;
                pec_index_free(index);
                index = NULL;
                rc = pec_index_from_ldif(data, len, &index);
                free(data);
            }
        } else if (strncmp(a, "--", 2) == 0) {
            status = usage();
            goto out;
        } else {
            first = i;
            break;
        }
        if (rc != PEC_RESULT_OK) {
            fprintf(stderr, "pec-verify: %s %s: %s\n", a, i < argc ? argv[i] : "", last_error());
            goto out;
        }
    }
    if (first >= argc) {
        status = usage();
        goto out;
    }
    if (pec_verifier_set_trust(verifier, trust) != PEC_RESULT_OK ||
        (pec_crl_store_len(crls) > 0 && pec_verifier_set_crls(verifier, crls) != PEC_RESULT_OK) ||
        (index != NULL && pec_verifier_set_index(verifier, index) != PEC_RESULT_OK)) {
        fprintf(stderr, "pec-verify: %s\n", last_error());
        goto out;
    }
    status = 0;
    for (int i = first; i < argc; i++) {
        size_t len = 0;
        unsigned char *data = read_file(argv[i], &len);
        if (data == NULL) {
            status = 2;
            continue;
        }
        pec_report *report = NULL;
        pec_result rc = pec_verifier_verify(verifier, data, len, &report);
        free(data);
        printf("file: %s\n", argv[i]);
        if (rc != PEC_RESULT_OK) {
            printf("error: %s\n\n", last_error());
            status = 2;
            continue;
        }
        print_report(report);
        printf("\n");
        uint32_t verdict = PEC_VERDICT_INVALID;
        pec_report_verdict(report, &verdict);
        if (verdict != PEC_VERDICT_VALID && status == 0)
            status = 1;
        pec_report_free(report);
    }
out:
    pec_verifier_free(verifier);
    pec_index_free(index);
    pec_crl_store_free(crls);
    pec_trust_store_free(trust);
    return status;
}
