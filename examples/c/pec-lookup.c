/*
 * pec-lookup: looks up domains (or an address's domain) in a providers index (LDIF).
 *
 *   pec-lookup INDEX.ldif DOMAIN|ADDRESS...
 *
 * Prints the provider managing each domain. Exit status: 0 when every domain is managed by a
 * PEC provider, 1 when some is not, 2 on a usage or load error.
 */
#include "common.h"

static void print_record(const pec_provider_record *r)
{
    const char *s;
    size_t n;
    pec_provider_record_name(r, &s, &n);
    print_view(stdout, "provider", s, n);
    pec_provider_record_dn(r, &s, &n);
    print_view(stdout, "dn", s, n);
    pec_provider_record_mail_receipt(r, &s, &n);
    print_view(stdout, "mail-receipt", s, n);
    if (pec_provider_record_unit(r, &s, &n) == PEC_RESULT_OK && s != NULL)
        print_view(stdout, "unit", s, n);
    size_t count = pec_provider_record_domain_count(r);
    for (size_t i = 0; i < count; i++) {
        pec_provider_record_domain(r, i, &s, &n);
        print_view(stdout, "managed-domain", s, n);
    }
    count = pec_provider_record_cert_hash_count(r);
    for (size_t i = 0; i < count; i++) {
        pec_provider_record_cert_hash(r, i, &s, &n);
        print_view(stdout, "certificate-sha1", s, n);
    }
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: pec-lookup INDEX.ldif DOMAIN|ADDRESS...\n");
        return 2;
    }
    size_t len = 0;
    unsigned char *ldif = read_file(argv[1], &len);
    if (ldif == NULL)
        return 2;
    pec_index *index = NULL;
    pec_result rc = pec_index_from_ldif(ldif, len, &index);
    free(ldif);
    if (rc != PEC_RESULT_OK) {
        fprintf(stderr, "pec-lookup: %s: %s\n", argv[1], last_error());
        return 2;
    }
    int status = 0;
    for (int i = 2; i < argc; i++) {
        const char *domain = strrchr(argv[i], '@');
        domain = domain != NULL ? domain + 1 : argv[i];
        pec_provider_record *rec = NULL;
        rc = pec_index_lookup_domain(index, domain, strlen(domain), &rec);
        printf("domain: %s\n", domain);
        if (rc != PEC_RESULT_OK) {
            printf("error: %s\n\n", last_error());
            status = 2;
            continue;
        }
        if (rec == NULL) {
            printf("certified: no\n\n");
            if (status == 0)
                status = 1;
            continue;
        }
        printf("certified: yes\n");
        print_record(rec);
        printf("\n");
        pec_provider_record_free(rec);
    }
    pec_index_free(index);
    return status;
}
