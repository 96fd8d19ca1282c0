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
 * Engine mode (-S): the provider engine decides, keeps the state and signs, and this program
 * is only its transport (see engine_main below):
 *
 *   pec-filter -S sqlite:PATH -c ENGINE.toml [-P access|incoming|delivery|run-due]
 *              [-s SENDMAIL] [-D DELIVER_CMD] [-V VIRUS] [-f SENDER] [--] [RECIPIENT...]
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

/*
 * Engine mode (-S STORE -c ENGINE.toml): the provider engine of libpec (pec_engine_*) makes
 * the decisions, keeps the state (SQLite), signs and remembers what it emitted; this program
 * is its transport, run by Postfix pipe(8) once per message:
 *
 *   -P access     (default) the user's message on stdin is a submission at the access point
 *   -P incoming   a message from another provider or the Internet (the incoming point)
 *   -P delivery   a message the incoming point passed on (route `deliver`): each RECIPIENT
 *                 is stored by running DELIVER_CMD RECIPIENT with the message on stdin (exit
 *                 0 stored, 75 try later, anything else refused for good), then the engine
 *                 issues the delivery / non-delivery receipts (one recipient per run:
 *                 `<transport>_destination_recipient_limit = 1` in main.cf)
 *   -P run-due    no input: the 12 h / 24 h notices due now, and anything committed but never
 *                 sent (run it from cron or a systemd timer every minute)
 *
 * Every message the engine emits is handed to SENDMAIL (-s, default /usr/sbin/sendmail) as
 * `SENDMAIL -i -f MAIL_FROM -- RCPT...`, one run per recipient group, with PEC_ROUTE (relay,
 * loopback, deliver, service-mailbox) and PEC_KIND in its environment so that the MTA can
 * pick the transport; once every group of a message went out, the message is acknowledged.
 * A failure before the ack leaves it unacknowledged: Postfix retries (exit 75), the engine
 * recognises the same message and hands back the same bytes, and nothing is signed twice.
 * -V VIRUS is the antivirus verdict (the virus name) for access and incoming.
 *
 * Exit status: 0 done; 75 (EX_TEMPFAIL) the engine answered 4xx, the store or the signer is
 * unavailable, or SENDMAIL failed (Postfix keeps the message and retries); 69
 * (EX_UNAVAILABLE) the engine refused the message for good (5xx; the reply is on stderr and
 * Postfix bounces it); 64 bad usage.
 */
#include <signal.h>
#include <spawn.h>
#include <sys/types.h>
#include <sys/wait.h>

extern char **environ;

#define EX_UNAVAILABLE 69

static int engine_fail(const char *what, pec_result rc)
{
    fprintf(stderr, "pec-filter: engine: %s: %s\n", what, last_error());
    return rc == PEC_RESULT_PANIC ? EX_SOFTWARE : EX_TEMPFAIL;
}

/* "NAME=value" in a new string (NULL when out of memory). */
static char *env_entry(const char *name, const char *value)
{
    size_t len = strlen(name) + strlen(value) + 2;
    char *e = malloc(len);
    if (e != NULL)
        snprintf(e, len, "%s=%s", name, value);
    return e;
}

/* Runs `argv` with `data` on its stdin and `route`, `kind` in its environment; its exit
 * status (-1 when it could not run).
 *
 * posix_spawnp, not fork: the engine has threads (the store's checkpointer, the resolver's
 * runtime), and the child of a threaded process may call only async-signal-safe functions
 * before exec (setenv and malloc are not: a lock another thread held at the fork stays held in
 * the child). The child's environment is built here, before it exists. */
static int run_with_input(char *const *argv, const char *route, const char *kind,
                          const uint8_t *data, size_t len)
{
    size_t n = 0;
    while (environ[n] != NULL)
        n++;
    char **envp = calloc(n + 3, sizeof *envp);
    char *route_var = route != NULL ? env_entry("PEC_ROUTE", route) : NULL;
    char *kind_var = kind != NULL ? env_entry("PEC_KIND", kind) : NULL;
    if (envp == NULL || (route != NULL && route_var == NULL) || (kind != NULL && kind_var == NULL)) {
        free(envp);
        free(route_var);
        free(kind_var);
        return -1;
    }
    size_t e = 0;
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], "PEC_ROUTE=", 10) != 0 && strncmp(environ[i], "PEC_KIND=", 9) != 0)
            envp[e++] = environ[i];
    if (route_var != NULL)
        envp[e++] = route_var;
    if (kind_var != NULL)
        envp[e++] = kind_var;
    envp[e] = NULL;

    int fds[2];
    pid_t pid = 0;
    int spawned = -1;
    fflush(stdout);
    if (pipe(fds) == 0) {
        posix_spawn_file_actions_t fa;
        if (posix_spawn_file_actions_init(&fa) == 0) {
            if (posix_spawn_file_actions_addclose(&fa, fds[1]) == 0 &&
                posix_spawn_file_actions_adddup2(&fa, fds[0], 0) == 0 &&
                (fds[0] == 0 || posix_spawn_file_actions_addclose(&fa, fds[0]) == 0))
                spawned = posix_spawnp(&pid, argv[0], &fa, NULL, argv, envp);
            posix_spawn_file_actions_destroy(&fa);
        }
        close(fds[0]);
    } else {
        fds[1] = -1;
    }
    free(envp);
    free(route_var);
    free(kind_var);
    if (spawned != 0) {
        if (fds[1] >= 0)
            close(fds[1]);
        return -1;
    }
    size_t off = 0;
    while (off < len) {
        /* SIGPIPE is ignored (engine_main): a child that exits without reading gives EPIPE */
        ssize_t w = write(fds[1], data + off, len - off);
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    close(fds[1]);
    int st = 0;
    while (waitpid(pid, &st, 0) < 0) {
    }
    if (off < len)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Sends every unsent message of `o` through `sendmail` and acks it; EX_OK or EX_TEMPFAIL. */
static int send_outcome(const pec_engine *engine, const pec_outcome *o, const char *sendmail)
{
    for (size_t i = 0; i < pec_outcome_message_count(o); i++) {
        bool sent = false;
        int64_t id = 0;
        const uint8_t *bytes = NULL;
        size_t len = 0, kl = 0, fl = 0;
        const char *kind = NULL, *from = NULL;
        if (pec_outcome_message_sent(o, i, &sent) != PEC_RESULT_OK || sent)
            continue;
        if (pec_outcome_message_id(o, i, &id) != PEC_RESULT_OK ||
            pec_outcome_message_bytes(o, i, &bytes, &len) != PEC_RESULT_OK ||
            pec_outcome_message_kind(o, i, &kind, &kl) != PEC_RESULT_OK ||
            pec_outcome_message_mail_from(o, i, &from, &fl) != PEC_RESULT_OK)
            return engine_fail("outcome", PEC_RESULT_INVALID_PARAMETER);
        for (size_t g = 0; g < pec_outcome_message_group_count(o, i); g++) {
            const char *route = NULL;
            size_t rl = 0, count = pec_outcome_message_rcpt_count(o, i, g);
            if (pec_outcome_message_group_route(o, i, g, &route, &rl) != PEC_RESULT_OK)
                return engine_fail("outcome", PEC_RESULT_INVALID_PARAMETER);
            /* views are NUL-terminated: usable as C strings */
            char **argv = calloc(count + 7, sizeof *argv);
            if (argv == NULL)
                return EX_TEMPFAIL;
            size_t a = 0;
            argv[a++] = (char *)sendmail;
            argv[a++] = "-i";
            argv[a++] = "-f";
            argv[a++] = fl > 0 ? (char *)from : "<>";
            argv[a++] = "--";
            for (size_t j = 0; j < count; j++) {
                const char *r = NULL;
                size_t rlen = 0;
                if (pec_outcome_message_rcpt(o, i, g, j, &r, &rlen) == PEC_RESULT_OK)
                    argv[a++] = (char *)r;
            }
            int st = run_with_input(argv, route, kind, bytes, len);
            free(argv);
            if (st != 0) {
                fprintf(stderr, "pec-filter: %s exited %d for %s (%s): not acknowledged\n",
                        sendmail, st, kind, route);
                return EX_TEMPFAIL;
            }
        }
        pec_result rc = pec_engine_ack(engine, &id, 1, NULL);
        if (rc != PEC_RESULT_OK)
            return engine_fail("ack", rc);
    }
    return EX_OK;
}

/* The exit status for a reply code (2xx, 4xx, 5xx). */
static int status_of_reply(unsigned code)
{
    if (code >= 200 && code < 300)
        return EX_OK;
    return code >= 500 ? EX_UNAVAILABLE : EX_TEMPFAIL;
}

static int engine_main(int argc, char **argv)
{
    const char *store = NULL, *config = NULL, *point = "access", *sendmail = "/usr/sbin/sendmail";
    const char *deliver = NULL, *virus = NULL, *sender = NULL;
    int opt;
    /* a SENDMAIL that exits without reading its input is a failed hand-off, not a crash */
    signal(SIGPIPE, SIG_IGN);
    while ((opt = getopt(argc, argv, "S:c:P:s:D:V:f:")) != -1) {
        switch (opt) {
        case 'S': store = optarg; break;
        case 'c': config = optarg; break;
        case 'P': point = optarg; break;
        case 's': sendmail = optarg; break;
        case 'D': deliver = optarg; break;
        case 'V': virus = optarg; break;
        case 'f': sender = optarg; break;
        default: point = ""; break;
        }
    }
    int known = strcmp(point, "access") == 0 || strcmp(point, "incoming") == 0 ||
                strcmp(point, "delivery") == 0 || strcmp(point, "run-due") == 0;
    if (store == NULL || config == NULL || !known ||
        (strcmp(point, "delivery") == 0 && deliver == NULL)) {
        fprintf(stderr, "usage: pec-filter -S STORE_URL -c ENGINE.toml "
                        "[-P access|incoming|delivery|run-due] [-s SENDMAIL] [-D DELIVER_CMD] "
                        "[-V VIRUS] [-f SENDER] [--] [RECIPIENT...]\n");
        return EX_USAGE;
    }
    pec_engine *engine = NULL;
    pec_result rc = pec_engine_open_with_store(config, strlen(config), store, strlen(store), &engine);
    if (rc != PEC_RESULT_OK)
        return engine_fail(config, rc);

    int status = EX_TEMPFAIL;
    pec_outcome *o = NULL;
    unsigned char *message = NULL;
    size_t message_len = 0;
    size_t count = (size_t)(argc - optind);
    const char **rcpts = calloc(count + 1, sizeof *rcpts);
    size_t *lens = calloc(count + 1, sizeof *lens);
    pec_mailbox_answer *answers = calloc(count + 1, sizeof *answers);
    if (rcpts == NULL || lens == NULL || answers == NULL)
        goto out;
    for (size_t i = 0; i < count; i++) {
        rcpts[i] = argv[optind + (int)i];
        lens[i] = strlen(rcpts[i]);
    }
    if (strcmp(point, "run-due") == 0) {
        rc = pec_engine_run_due(engine, 0, &o);
        if (rc != PEC_RESULT_OK) {
            status = engine_fail("run-due", rc);
            goto out;
        }
        status = send_outcome(engine, o, sendmail);
        pec_outcome_free(o);
        o = NULL;
        if (status != EX_OK)
            goto out;
        rc = pec_engine_unsent(engine, 0, &o);
        if (rc != PEC_RESULT_OK) {
            status = engine_fail("unsent", rc);
            goto out;
        }
        status = send_outcome(engine, o, sendmail);
        goto out;
    }
    if ((message = read_stream(stdin, &message_len)) == NULL) {
        perror("pec-filter: stdin");
        goto out;
    }
    const char *from = sender != NULL && sender[0] != '\0' ? sender : NULL;
    size_t from_len = from != NULL ? strlen(from) : 0;
    if (strcmp(point, "delivery") == 0) {
        for (size_t i = 0; i < count; i++) {
            char *dargv[] = {(char *)deliver, (char *)rcpts[i], NULL};
            int st = run_with_input(dargv, NULL, NULL, message, message_len);
            answers[i] = (pec_mailbox_answer){
                .rcpt = rcpts[i],
                .rcpt_len = lens[i],
                .outcome = st == 0    ? PEC_MAILBOX_STORED
                           : st == 75 ? PEC_MAILBOX_TEMPORARY
                                      : PEC_MAILBOX_PERMANENT,
            };
        }
        rc = pec_engine_mailbox_result(engine, from, from_len, answers, count, message,
                                       message_len, &o);
    } else if (strcmp(point, "incoming") == 0) {
        rc = pec_engine_inbound(engine, from, from_len, rcpts, lens, count, message,
                                message_len, virus, virus != NULL ? strlen(virus) : 0, &o);
    } else {
        rc = pec_engine_submission(engine, from, from_len, rcpts, lens, count, message,
                                   message_len, virus, virus != NULL ? strlen(virus) : 0, &o);
    }
    if (rc != PEC_RESULT_OK) {
        status = engine_fail(point, rc);
        goto out;
    }
    const char *line = NULL;
    size_t line_len = 0;
    if (pec_outcome_reply_line(o, &line, &line_len) == PEC_RESULT_OK)
        fprintf(stderr, "pec-filter: %s: %s\n", point, line);
    for (size_t i = 0; i < pec_outcome_rcpt_reply_count(o); i++)
        if (pec_outcome_rcpt_reply_line(o, i, &line, &line_len) == PEC_RESULT_OK)
            fprintf(stderr, "pec-filter: %s: %s: %s\n", point, rcpts[i], line);
    status = send_outcome(engine, o, sendmail);
    if (status == EX_OK)
        status = status_of_reply(pec_outcome_reply_code(o));
    /* a recipient the mailbox could not take now: Postfix retries (run the delivery point
     * with one recipient per run, `pec-delivery_destination_recipient_limit = 1`, so that a
     * retry stores nothing twice) */
    for (size_t i = 0; status == EX_OK && i < pec_outcome_rcpt_reply_count(o); i++) {
        uint16_t code = 0;
        if (pec_outcome_rcpt_reply_code(o, i, &code) == PEC_RESULT_OK && code >= 400 &&
            code < 500)
            status = EX_TEMPFAIL;
    }
out:
    pec_outcome_free(o);
    pec_engine_free(engine);
    free(message);
    free(rcpts);
    free(lens);
    free(answers);
    return status;
}

int main(int argc, char **argv)
{
    const char *provider_path = NULL, *key_path = NULL, *cert_path = NULL, *chain_path = NULL;
    const char *index_path = NULL, *sender = NULL, *pkcs11_uri = NULL, *pkcs11_module = NULL;
    long long unix_time = -1;
    int opt;
    for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
        if (strncmp(argv[i], "-S", 2) == 0)
            return engine_main(argc, argv);
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
