/*
 * pec-filter: a Postfix-style content filter for a PEC access point.
 *
 * Reads the user's message on stdin and writes on stdout the signed transport envelope
 * ("busta di trasporto", RFC 6109 §3.1.5) or, when the message fails the access point's
 * formal checks (§3.1.1), the signed non-acceptance notice ("avviso di non accettazione")
 * for the sender. Typical use, from master.cf with pipe(8):
 *
 *   pec  unix  -  n  n  -  10  pipe  flags=q user=pec argv=/usr/local/bin/pec-filter-wrapper
 *        -f ${sender} -- ${recipient}
 *
 * where the wrapper re-injects stdout with sendmail(1).
 *
 *   pec-filter [-p PROVIDER.toml] [-k KEY.pem | -u PKCS11_URI -m MODULE.so] [-c CERT.pem]
 *              [-C CHAIN.pem] [-i INDEX.ldif] [-t UNIX_TIME] [-f SENDER] [--] [RECIPIENT...]
 *
 * Defaults come from the environment: PEC_PROVIDER, PEC_KEY, PEC_CERT, PEC_CHAIN, PEC_INDEX,
 * PEC_PKCS11_URI, PEC_PKCS11_MODULE. With a PKCS#11 URI the key stays in the HSM: the PIN
 * comes from the URI's pin-source (`?pin-source=file:/run/pec/pin`), and the certificate from
 * -c or, without it, from the token.
 * SENDER and RECIPIENTs are the SMTP envelope (MAIL FROM, RCPT TO).
 *
 * Exit status (sysexits.h, as Postfix pipe(8) reads it):
 *   0   EX_OK        the envelope or the non-acceptance notice was written on stdout
 *   64  EX_USAGE     bad arguments
 *   65  EX_DATAERR   the input is not a mail message at all (Postfix bounces it)
 *   70  EX_SOFTWARE  internal error (a bug)
 *   75  EX_TEMPFAIL  configuration, key or I/O problem (Postfix retries later)
 */
#include <stdint.h>
#include <unistd.h>

#include "common.h"

#define EX_OK 0
#define EX_USAGE 64
#define EX_DATAERR 65
#define EX_SOFTWARE 70
#define EX_TEMPFAIL 75

static int fail(int status, const char *what)
{
    fprintf(stderr, "pec-filter: %s: %s\n", what, last_error());
    return status;
}

/* Exit status for a failed build. */
static int status_of(pec_result rc)
{
    if (rc == PEC_RESULT_PANIC)
        return EX_SOFTWARE;
    if (rc >= 200 && rc < 300)
        return EX_DATAERR;
    return EX_TEMPFAIL;
}

static const char *opt_or_env(const char *opt, const char *env)
{
    return opt != NULL ? opt : getenv(env);
}

static int write_all(const pec_bytes *b)
{
    const uint8_t *p = pec_bytes_data(b);
    size_t n = pec_bytes_len(b);
    if (fwrite(p, 1, n, stdout) != n || fflush(stdout) != 0) {
        perror("pec-filter: stdout");
        return EX_TEMPFAIL;
    }
    return EX_OK;
}

int main(int argc, char **argv)
{
    const char *provider_path = NULL, *key_path = NULL, *cert_path = NULL, *chain_path = NULL;
    const char *index_path = NULL, *sender = NULL, *pkcs11_uri = NULL, *pkcs11_module = NULL;
    long long unix_time = -1;
    int opt;
    while ((opt = getopt(argc, argv, "p:k:c:C:i:t:f:u:m:")) != -1) {
        switch (opt) {
        case 'p': provider_path = optarg; break;
        case 'k': key_path = optarg; break;
        case 'c': cert_path = optarg; break;
        case 'C': chain_path = optarg; break;
        case 'i': index_path = optarg; break;
        case 't': unix_time = strtoll(optarg, NULL, 10); break;
        case 'f': sender = optarg; break;
        case 'u': pkcs11_uri = optarg; break;
        case 'm': pkcs11_module = optarg; break;
        default:
            fprintf(stderr, "usage: pec-filter [-p PROVIDER.toml] [-k KEY.pem | -u PKCS11_URI "
                            "-m MODULE.so] [-c CERT.pem] [-C CHAIN.pem] [-i INDEX.ldif] "
                            "[-t UNIX_TIME] [-f SENDER] [--] [RECIPIENT...]\n");
            return EX_USAGE;
        }
    }
    provider_path = opt_or_env(provider_path, "PEC_PROVIDER");
    key_path = opt_or_env(key_path, "PEC_KEY");
    cert_path = opt_or_env(cert_path, "PEC_CERT");
    chain_path = opt_or_env(chain_path, "PEC_CHAIN");
    index_path = opt_or_env(index_path, "PEC_INDEX");
    pkcs11_uri = opt_or_env(pkcs11_uri, "PEC_PKCS11_URI");
    pkcs11_module = opt_or_env(pkcs11_module, "PEC_PKCS11_MODULE");
    if (provider_path == NULL ||
        (pkcs11_uri == NULL && (key_path == NULL || cert_path == NULL))) {
        fprintf(stderr, "pec-filter: the provider file and a key with its certificate are "
                        "required (-p/-k/-c or PEC_PROVIDER/PEC_KEY/PEC_CERT; or -u/-m for a "
                        "key in an HSM)\n");
        return EX_USAGE;
    }

    int status = EX_TEMPFAIL;
    unsigned char *toml = NULL, *key = NULL, *cert = NULL, *chain = NULL, *ldif = NULL;
    unsigned char *message = NULL;
    size_t toml_len = 0, key_len = 0, cert_len = 0, chain_len = 0, ldif_len = 0, message_len = 0;
    pec_provider *provider = NULL;
    pec_signer *signer = NULL;
    pec_index *index = NULL;
    pec_build_options *options = NULL;
    pec_bytes *out = NULL;

    if ((toml = read_file(provider_path, &toml_len)) == NULL ||
        (pkcs11_uri == NULL && (key = read_file(key_path, &key_len)) == NULL) ||
        (cert_path != NULL && (cert = read_file(cert_path, &cert_len)) == NULL) ||
        (chain_path != NULL && (chain = read_file(chain_path, &chain_len)) == NULL) ||
        (index_path != NULL && (ldif = read_file(index_path, &ldif_len)) == NULL))
        goto out;
    if (pec_provider_new((const char *)toml, toml_len, &provider) != PEC_RESULT_OK) {
        status = fail(EX_TEMPFAIL, provider_path);
        goto out;
    }
    if (pkcs11_uri != NULL) {
        const char *module = pkcs11_module != NULL ? pkcs11_module : "";
        if (pec_signer_new_pkcs11(pkcs11_uri, strlen(pkcs11_uri), module, strlen(module), cert,
                                  cert_len, chain, chain_len, &signer) != PEC_RESULT_OK) {
            status = fail(EX_TEMPFAIL, "PKCS#11 signer");
            goto out;
        }
    } else if (pec_signer_new_software(key, key_len, cert, cert_len, chain, chain_len,
                                       &signer) != PEC_RESULT_OK) {
        status = fail(EX_TEMPFAIL, "signer");
        goto out;
    }
    if (ldif != NULL) {
        if (pec_index_from_ldif(ldif, ldif_len, &index) != PEC_RESULT_OK ||
            pec_provider_set_index(provider, index) != PEC_RESULT_OK) {
            status = fail(EX_TEMPFAIL, index_path);
            goto out;
        }
    }
    if ((message = read_stream(stdin, &message_len)) == NULL) {
        perror("pec-filter: stdin");
        goto out;
    }
    if (pec_build_options_new(&options) != PEC_RESULT_OK ||
        pec_build_options_set_original(options, message, message_len) != PEC_RESULT_OK ||
        (unix_time >= 0 &&
         pec_build_options_set_time_unix(options, unix_time, 3600) != PEC_RESULT_OK) ||
        (sender != NULL &&
         pec_build_options_set_smtp_sender(options, sender, strlen(sender)) != PEC_RESULT_OK)) {
        status = fail(EX_SOFTWARE, "options");
        goto out;
    }
    for (int i = optind; i < argc; i++) {
        if (pec_build_options_add_smtp_recipient(options, argv[i], strlen(argv[i])) !=
            PEC_RESULT_OK) {
            status = fail(EX_DATAERR, argv[i]);
            goto out;
        }
    }

    static const char envelope[] = "posta-certificata";
    static const char notice[] = "non-accettazione";
    pec_result rc = pec_provider_build(provider, envelope, sizeof envelope - 1, options, signer,
                                       &out);
    if (rc == PEC_RESULT_FORMAL_CHECKS) {
        fprintf(stderr, "pec-filter: not accepted: %s\n", last_error());
        rc = pec_provider_build(provider, notice, sizeof notice - 1, options, signer, &out);
    }
    if (rc != PEC_RESULT_OK) {
        status = fail(status_of(rc), "build");
        goto out;
    }
    status = write_all(out);
out:
    pec_bytes_free(out);
    pec_build_options_free(options);
    pec_index_free(index);
    pec_signer_free(signer);
    pec_provider_free(provider);
    free(message);
    free(ldif);
    free(chain);
    free(cert);
    free(key);
    free(toml);
    return status;
}
