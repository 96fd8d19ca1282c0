/*
 * PEC.xs: Perl glue over the C ABI of libpec (include/pec.h), one MODULE/PACKAGE section per
 * class (Crypt::OpenSSL3's layout). Every fallible call goes through PEC_CHECK, which croaks
 * with a Mail::PEC::Error object (code, name, message) after the caller has released its
 * temporaries; handles are blessed scalar references freed in DESTROY.
 *
 * SPDX-License-Identifier: Apache-2.0 OR MIT
 */
#define PERL_NO_GET_CONTEXT
#include "EXTERN.h"
#include "perl.h"
#include "XSUB.h"

#include "pec.h"

#define PEC_CLASS_pec_messagePtr "Mail::PEC::Message"
#define PEC_CLASS_pec_verifierPtr "Mail::PEC::Verifier"
#define PEC_CLASS_pec_signerPtr "Mail::PEC::Signer"
#define PEC_CLASS_pec_providerPtr "Mail::PEC::Provider"
#define PEC_CLASS_pec_indexPtr "Mail::PEC::Index"
#define PEC_CLASS_pec_digestPtr "Mail::PEC::Digest"
#define PEC_CLASS_pec_enginePtr "Mail::PEC::Engine"

/* Returns the first failing code from a helper that fills a Perl structure. */
#define TRY(call)                                                                              \
    do {                                                                                       \
        pec_result try_rc_ = (call);                                                           \
        if (try_rc_ != PEC_RESULT_OK)                                                          \
            return try_rc_;                                                                    \
    } while (0)

/* Croaks with a Mail::PEC::Error when a call failed (free temporaries before). */
#define PEC_CHECK(call)                                                                        \
    do {                                                                                       \
        pec_result check_rc_ = (call);                                                         \
        if (check_rc_ != PEC_RESULT_OK)                                                        \
            pec_croak(aTHX_ check_rc_, NULL);                                                  \
    } while (0)

/* A Perl string from a static-text function of the ABI (pec_result_message/_name). */
static SV *
pec_code_text(pTHX_ pec_result (*fn)(uint32_t, char *, size_t, size_t *), uint32_t code)
{
    char buf[256];
    size_t n = 0;
    if (fn(code, buf, sizeof buf, &n) != PEC_RESULT_OK)
        return newSV(0);
    return newSVpvn(buf, n);
}

/* The detailed message of the calling thread's last failure, or NULL when empty. */
static SV *
pec_last_error(pTHX)
{
    size_t n = 0;
    SV *sv;
    pec_last_error_message(NULL, 0, &n);
    if (n == 0)
        return NULL;
    sv = newSV(n + 1);
    if (pec_last_error_message(SvPVX(sv), n + 1, &n) != PEC_RESULT_OK) {
        SvREFCNT_dec(sv);
        return NULL;
    }
    SvCUR_set(sv, n);
    SvPOK_on(sv);
    if (!is_utf8_invariant_string((const U8 *)SvPVX(sv), n))
        SvUTF8_on(sv);
    return sv;
}

/* Croaks with a Mail::PEC::Error { code, name, message }. `message` NULL: the thread's last
 * error detail, else the static text of the code. */
static void
pec_croak(pTHX_ uint32_t code, const char *message)
{
    HV *hv = newHV();
    SV *rv = sv_2mortal(newRV_noinc((SV *)hv));
    SV *msg = NULL;
    if (message)
        msg = newSVpv(message, 0);
    else
        msg = pec_last_error(aTHX);
    if (!msg)
        msg = pec_code_text(aTHX_ pec_result_message, code);
    hv_stores(hv, "code", newSVuv(code));
    hv_stores(hv, "name", pec_code_text(aTHX_ pec_result_name, code));
    hv_stores(hv, "message", msg);
    sv_bless(rv, gv_stashpv("Mail::PEC::Error", GV_ADD));
    croak_sv(rv);
}

/* Unwraps a handle argument, checking its class. */
static void *
pec_perl_handle(pTHX_ SV *sv, const char *cls, const char *var)
{
    char msg[256];
    if (SvROK(sv) && sv_derived_from(sv, cls)) {
        IV p = SvIV(SvRV(sv));
        if (p)
            return INT2PTR(void *, p);
        snprintf(msg, sizeof msg, "%s is a released %s", var, cls);
    } else {
        snprintf(msg, sizeof msg, "%s is not a %s object", var, cls);
    }
    pec_croak(aTHX_ PEC_RESULT_INVALID_PARAMETER, msg);
    return NULL; /* not reached */
}

/* Takes the pointer out of a handle for DESTROY (0 when already released). */
static void *
pec_take_handle(pTHX_ SV *sv)
{
    IV p;
    if (!SvROK(sv))
        return NULL;
    p = SvIV(SvRV(sv));
    sv_setiv(SvRV(sv), 0);
    return INT2PTR(void *, p);
}

/* A text view as a Perl string (undef for NULL); flagged UTF-8 when not ASCII. */
static SV *
pec_text(pTHX_ const char *p, size_t n)
{
    SV *sv;
    if (!p)
        return newSV(0);
    sv = newSVpvn(p, n);
    if (!is_utf8_invariant_string((const U8 *)p, n))
        SvUTF8_on(sv);
    return sv;
}

/* A byte view as a Perl byte string (undef for NULL). */
static SV *
pec_bytes_sv(pTHX_ const uint8_t *p, size_t n)
{
    if (!p)
        return newSV(0);
    return newSVpvn((const char *)p, n);
}

/* A time out-parameter pair as seconds (undef when absent). */
static SV *
pec_time_sv(pTHX_ int64_t t, bool present)
{
    return present ? newSViv((IV)t) : newSV(0);
}

/* Takes a pec_bytes: copies it into a new Perl byte string and releases it. */
static SV *
pec_take_bytes(pTHX_ pec_bytes *b)
{
    SV *sv = newSVpvn((const char *)pec_bytes_data(b), pec_bytes_len(b));
    pec_bytes_free(b);
    return sv;
}

/* Takes a pec_bytes holding UTF-8 text (the JSON of the wire view): a Perl character string
 * (flagged UTF-8 when not ASCII); releases it. */
static SV *
pec_take_text(pTHX_ pec_bytes *b)
{
    SV *sv = pec_text(aTHX_ (const char *)pec_bytes_data(b), pec_bytes_len(b));
    pec_bytes_free(b);
    return sv;
}

/* A byte string argument (bytes: a character string with wide characters is refused). */
static const char *
pec_arg_bytes(pTHX_ SV *sv, STRLEN *len, const char *var)
{
    char msg[256];
    if (!SvOK(sv)) {
        snprintf(msg, sizeof msg, "%s is undef", var);
        pec_croak(aTHX_ PEC_RESULT_NULL_PARAMETER, msg);
    }
    if (SvUTF8(sv)) {
        SV *copy = sv_2mortal(newSVsv(sv));
        if (!sv_utf8_downgrade(copy, TRUE)) {
            snprintf(msg, sizeof msg, "%s has wide characters: pass bytes", var);
            pec_croak(aTHX_ PEC_RESULT_INVALID_PARAMETER, msg);
        }
        return SvPV(copy, *len);
    }
    return SvPV(sv, *len);
}

/* A text argument as UTF-8. */
static const char *
pec_arg_text(pTHX_ SV *sv, STRLEN *len, const char *var)
{
    char msg[256];
    if (!SvOK(sv)) {
        snprintf(msg, sizeof msg, "%s is undef", var);
        pec_croak(aTHX_ PEC_RESULT_NULL_PARAMETER, msg);
    }
    return SvPVutf8(sv, *len);
}

/* ---- daticert, report and record as Perl structures ----------------------------------- */

typedef pec_result (*daticert_text_fn)(const pec_daticert *, const char **, size_t *);

static pec_result
pec_daticert_fill(pTHX_ const pec_daticert *d, HV *hv)
{
    static const struct {
        const char *key;
        daticert_text_fn fn;
    } texts[] = {
        {"tipo", pec_daticert_kind},
        {"errore", pec_daticert_error},
        {"mittente", pec_daticert_sender},
        {"risposte", pec_daticert_reply_to},
        {"oggetto", pec_daticert_subject},
        {"gestore_emittente", pec_daticert_issuer},
        {"identificativo", pec_daticert_identifier},
        {"msgid", pec_daticert_msgid},
        {"ricevuta", pec_daticert_receipt_type},
        {"consegna", pec_daticert_delivery},
        {"errore_esteso", pec_daticert_extended_error},
    };
    const char *p;
    size_t n, i, count;
    HV *data = newHV();
    AV *dest = newAV();
    AV *recv = newAV();
    /* stored first, so that they are released with hv on any failure */
    hv_stores(hv, "data", newRV_noinc((SV *)data));
    hv_stores(hv, "destinatari", newRV_noinc((SV *)dest));
    hv_stores(hv, "ricezione", newRV_noinc((SV *)recv));

    for (i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        TRY(texts[i].fn(d, &p, &n));
        (void)hv_store(hv, texts[i].key, (I32)strlen(texts[i].key), pec_text(aTHX_ p, n), 0);
    }
    TRY(pec_daticert_date_day(d, &p, &n));
    hv_stores(data, "giorno", pec_text(aTHX_ p, n));
    TRY(pec_daticert_date_time(d, &p, &n));
    hv_stores(data, "ora", pec_text(aTHX_ p, n));
    TRY(pec_daticert_date_zone(d, &p, &n));
    hv_stores(data, "zona", pec_text(aTHX_ p, n));

    count = pec_daticert_recipient_count(d);
    for (i = 0; i < count; i++) {
        HV *r = newHV();
        av_push(dest, newRV_noinc((SV *)r));
        TRY(pec_daticert_recipient(d, i, &p, &n));
        hv_stores(r, "address", pec_text(aTHX_ p, n));
        TRY(pec_daticert_recipient_type(d, i, &p, &n));
        hv_stores(r, "tipo", pec_text(aTHX_ p, n));
    }
    count = pec_daticert_received_count(d);
    for (i = 0; i < count; i++) {
        TRY(pec_daticert_received(d, i, &p, &n));
        av_push(recv, pec_text(aTHX_ p, n));
    }
    return PEC_RESULT_OK;
}

typedef pec_result (*report_text_fn)(const pec_report *, const char **, size_t *);

static pec_result
pec_report_fill(pTHX_ const pec_report *r, HV *hv)
{
    const char *p;
    size_t n, i, count;
    uint32_t code;
    bool flag, present;
    int64_t t;
    AV *reasons = newAV();
    AV *codes = newAV();
    AV *chain = newAV();
    AV *weaknesses = newAV();
    hv_stores(hv, "reasons", newRV_noinc((SV *)reasons));
    hv_stores(hv, "reason_codes", newRV_noinc((SV *)codes));
    hv_stores(hv, "chain", newRV_noinc((SV *)chain));
    hv_stores(hv, "weaknesses", newRV_noinc((SV *)weaknesses));

    TRY(pec_report_verdict(r, &code));
    hv_stores(hv, "verdict_code", newSVuv(code));
    TRY(pec_report_verdict_name(r, &p, &n));
    hv_stores(hv, "verdict", pec_text(aTHX_ p, n));
    count = pec_report_reason_count(r);
    for (i = 0; i < count; i++) {
        TRY(pec_report_reason_name(r, i, &p, &n));
        av_push(reasons, pec_text(aTHX_ p, n));
        TRY(pec_report_reason(r, i, &code));
        av_push(codes, newSVuv(code));
    }
    TRY(pec_report_digest(r, &p, &n));
    hv_stores(hv, "digest", pec_text(aTHX_ p, n));
    TRY(pec_report_weak_digest(r, &flag));
    hv_stores(hv, "weak_digest", newSViv(flag ? 1 : 0));
    TRY(pec_report_canonicalized(r, &flag));
    hv_stores(hv, "canonicalized", newSViv(flag ? 1 : 0));
    TRY(pec_report_signing_time(r, &t, &present));
    hv_stores(hv, "signing_time", pec_time_sv(aTHX_ t, present));
    TRY(pec_report_evaluated_at(r, &t, &present));
    hv_stores(hv, "evaluated_at", pec_time_sv(aTHX_ t, present));
    TRY(pec_report_revocation(r, &p, &n));
    hv_stores(hv, "revocation", pec_text(aTHX_ p, n));
    TRY(pec_report_time_source(r, &p, &n));
    hv_stores(hv, "time_source", pec_text(aTHX_ p, n));
    TRY(pec_report_signed_scope(r, &p, &n));
    hv_stores(hv, "signed_scope", pec_text(aTHX_ p, n));
    count = pec_report_weakness_count(r);
    for (i = 0; i < count; i++) {
        TRY(pec_report_weakness(r, i, &p, &n));
        av_push(weaknesses, pec_text(aTHX_ p, n));
    }
    count = pec_report_chain_count(r);
    for (i = 0; i < count; i++) {
        TRY(pec_report_chain_subject(r, i, &p, &n));
        av_push(chain, pec_text(aTHX_ p, n));
    }

    TRY(pec_report_has_signer(r, &flag));
    if (flag) {
        static const struct {
            const char *key;
            report_text_fn fn;
        } texts[] = {
            {"subject", pec_report_signer_subject}, {"issuer", pec_report_signer_issuer},
            {"serial", pec_report_signer_serial},   {"sha1", pec_report_signer_sha1},
            {"email", pec_report_signer_email},
        };
        const uint8_t *der;
        HV *s = newHV();
        hv_stores(hv, "signer", newRV_noinc((SV *)s));
        for (i = 0; i < sizeof texts / sizeof texts[0]; i++) {
            TRY(texts[i].fn(r, &p, &n));
            (void)hv_store(s, texts[i].key, (I32)strlen(texts[i].key), pec_text(aTHX_ p, n), 0);
        }
        TRY(pec_report_signer_not_before(r, &t, &present));
        hv_stores(s, "not_before", pec_time_sv(aTHX_ t, present));
        TRY(pec_report_signer_not_after(r, &t, &present));
        hv_stores(s, "not_after", pec_time_sv(aTHX_ t, present));
        TRY(pec_report_signer_der(r, &der, &n));
        hv_stores(s, "der", pec_bytes_sv(aTHX_ der, n));
    } else {
        hv_stores(hv, "signer", newSV(0));
    }

    TRY(pec_report_provider_name(r, &p, &n));
    if (p) {
        HV *prov = newHV();
        hv_stores(hv, "provider", newRV_noinc((SV *)prov));
        hv_stores(prov, "name", pec_text(aTHX_ p, n));
        TRY(pec_report_provider_mail_receipt(r, &p, &n));
        hv_stores(prov, "mail_receipt", pec_text(aTHX_ p, n));
    } else {
        hv_stores(hv, "provider", newSV(0));
    }
    return PEC_RESULT_OK;
}

typedef pec_result (*record_text_fn)(const pec_provider_record *, const char **, size_t *);

static pec_result
pec_record_fill(pTHX_ const pec_provider_record *r, HV *hv)
{
    static const struct {
        const char *key;
        record_text_fn fn;
    } texts[] = {
        {"dn", pec_provider_record_dn},
        {"name", pec_provider_record_name},
        {"unit", pec_provider_record_unit},
        {"mail_receipt", pec_provider_record_mail_receipt},
        {"ldif_url", pec_provider_record_ldif_url},
        {"description", pec_provider_record_description},
    };
    const char *p;
    const uint8_t *b;
    size_t n, i, count;
    AV *domains = newAV();
    AV *hashes = newAV();
    AV *certs = newAV();
    hv_stores(hv, "domains", newRV_noinc((SV *)domains));
    hv_stores(hv, "cert_hashes", newRV_noinc((SV *)hashes));
    hv_stores(hv, "certificates", newRV_noinc((SV *)certs));
    for (i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        TRY(texts[i].fn(r, &p, &n));
        (void)hv_store(hv, texts[i].key, (I32)strlen(texts[i].key), pec_text(aTHX_ p, n), 0);
    }
    count = pec_provider_record_domain_count(r);
    for (i = 0; i < count; i++) {
        TRY(pec_provider_record_domain(r, i, &p, &n));
        av_push(domains, pec_text(aTHX_ p, n));
    }
    count = pec_provider_record_cert_hash_count(r);
    for (i = 0; i < count; i++) {
        TRY(pec_provider_record_cert_hash(r, i, &p, &n));
        av_push(hashes, pec_text(aTHX_ p, n));
    }
    count = pec_provider_record_certificate_count(r);
    for (i = 0; i < count; i++) {
        TRY(pec_provider_record_certificate(r, i, &b, &n));
        av_push(certs, pec_bytes_sv(aTHX_ b, n));
    }
    return PEC_RESULT_OK;
}

typedef pec_result (*cert_text_fn)(const pec_certificate *, const char **, size_t *);

static pec_result
pec_certificate_fill(pTHX_ const pec_certificate *c, HV *hv)
{
    static const struct {
        const char *key;
        cert_text_fn fn;
    } texts[] = {
        {"subject", pec_certificate_subject}, {"issuer", pec_certificate_issuer},
        {"serial", pec_certificate_serial},   {"sha1", pec_certificate_sha1},
        {"email", pec_certificate_email},
    };
    const char *p;
    const uint8_t *b;
    size_t n, i;
    int64_t t;
    bool present;
    for (i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        TRY(texts[i].fn(c, &p, &n));
        (void)hv_store(hv, texts[i].key, (I32)strlen(texts[i].key), pec_text(aTHX_ p, n), 0);
    }
    TRY(pec_certificate_not_before(c, &t, &present));
    hv_stores(hv, "not_before", pec_time_sv(aTHX_ t, present));
    TRY(pec_certificate_not_after(c, &t, &present));
    hv_stores(hv, "not_after", pec_time_sv(aTHX_ t, present));
    TRY(pec_certificate_der(c, &b, &n));
    hv_stores(hv, "der", pec_bytes_sv(aTHX_ b, n));
    return PEC_RESULT_OK;
}

/* ---- build options from a hash ---------------------------------------------------------- */

typedef pec_result (*options_text_fn)(pec_build_options *, const char *, size_t);

/* Applies one string option (or each element of an array reference) when present. */
static pec_result
pec_option_text(pTHX_ pec_build_options *o, HV *opts, const char *key, options_text_fn fn)
{
    SV **svp = hv_fetch(opts, key, (I32)strlen(key), 0);
    STRLEN len;
    const char *p;
    if (!svp || !SvOK(*svp))
        return PEC_RESULT_OK;
    if (SvROK(*svp) && SvTYPE(SvRV(*svp)) == SVt_PVAV) {
        AV *av = (AV *)SvRV(*svp);
        SSize_t i, top = av_top_index(av);
        for (i = 0; i <= top; i++) {
            SV **e = av_fetch(av, i, 0);
            if (!e || !SvOK(*e))
                return PEC_RESULT_NULL_PARAMETER;
            p = SvPVutf8(*e, len);
            TRY(fn(o, p, len));
        }
        return PEC_RESULT_OK;
    }
    p = SvPVutf8(*svp, len);
    return fn(o, p, len);
}

typedef pec_result (*options_bytes_fn)(pec_build_options *, const uint8_t *, size_t);

static pec_result
pec_option_bytes(pTHX_ pec_build_options *o, HV *opts, const char *key, options_bytes_fn fn)
{
    SV **svp = hv_fetch(opts, key, (I32)strlen(key), 0);
    STRLEN len;
    const char *p;
    if (!svp || !SvOK(*svp))
        return PEC_RESULT_OK;
    if (SvUTF8(*svp)) {
        SV *copy = sv_2mortal(newSVsv(*svp));
        if (!sv_utf8_downgrade(copy, TRUE))
            return PEC_RESULT_INVALID_PARAMETER;
        p = SvPV(copy, len);
    } else {
        p = SvPV(*svp, len);
    }
    return fn(o, (const uint8_t *)p, len);
}

static pec_result
pec_options_fill(pTHX_ pec_build_options *o, HV *opts)
{
    SV **svp = hv_fetch(opts, "time", 4, 0);
    if (svp && SvOK(*svp)) {
        if (looks_like_number(*svp)) {
            SV **off = hv_fetch(opts, "utc_offset", 10, 0);
            IV offset = (off && SvOK(*off)) ? SvIV(*off) : 0;
            if (offset < -86400 || offset > 86400)
                return PEC_RESULT_INVALID_TIME;
            TRY(pec_build_options_set_time_unix(o, (int64_t)SvIV(*svp), (int32_t)offset));
        } else {
            STRLEN len;
            const char *p = SvPVutf8(*svp, len);
            TRY(pec_build_options_set_time_rfc3339(o, p, len));
        }
    }
    TRY(pec_option_bytes(aTHX_ o, opts, "original", pec_build_options_set_original));
    TRY(pec_option_bytes(aTHX_ o, opts, "envelope", pec_build_options_set_envelope));
    TRY(pec_option_text(aTHX_ o, opts, "recipients", pec_build_options_add_recipient));
    TRY(pec_option_text(aTHX_ o, opts, "receipt_type", pec_build_options_set_receipt_type));
    TRY(pec_option_text(aTHX_ o, opts, "error", pec_build_options_set_error));
    TRY(pec_option_text(aTHX_ o, opts, "error_text", pec_build_options_set_error_text));
    TRY(pec_option_text(aTHX_ o, opts, "timeout", pec_build_options_set_timeout));
    TRY(pec_option_text(aTHX_ o, opts, "smtp_sender", pec_build_options_set_smtp_sender));
    TRY(pec_option_text(aTHX_ o, opts, "smtp_recipients", pec_build_options_add_smtp_recipient));
    TRY(pec_option_text(aTHX_ o, opts, "identifier", pec_build_options_set_identifier));
    return PEC_RESULT_OK;
}

/* A mortal hash reference and its hash, for the fill helpers. */
static SV *
pec_new_hashref(pTHX_ HV **hv)
{
    *hv = newHV();
    return sv_2mortal(newRV_noinc((SV *)*hv));
}

typedef pec_result (*message_text_fn)(const pec_message *, const char **, size_t *);

static const message_text_fn MESSAGE_TEXT[] = {
    pec_message_kind,       pec_message_receipt_type, pec_message_message_id,
    pec_message_identifier, pec_message_msgid,        pec_message_subject,
    pec_message_from,       pec_message_from_domain,  pec_message_header_kind,
    pec_message_signed_scope,
};

/* ---- trust anchors and CRLs -------------------------------------------------------------- */

/* Croaks unless every element of `av` is a byte string (`text`: a UTF-8 string). Call before
 * building C objects from `av`: nothing may croak while they are held. */
static void
pec_av_check(pTHX_ AV *av, const char *var, bool text)
{
    SSize_t i;
    STRLEN len;
    for (i = 0; i <= av_top_index(av); i++) {
        SV **e = av_fetch(av, i, 0);
        if (!e) {
            pec_croak(aTHX_ PEC_RESULT_NULL_PARAMETER, var);
        } else if (text) {
            (void)pec_arg_text(aTHX_ *e, &len, var);
        } else {
            (void)pec_arg_bytes(aTHX_ *e, &len, var);
        }
    }
}

/* Calls `add` on each element of `av` (checked): bytes, or a UTF-8 path when `text`. */
typedef pec_result (*pec_add_fn)(void *store, const char *p, size_t len, size_t *added);

static pec_result
pec_av_add(pTHX_ void *store, AV *av, bool text, pec_add_fn add, size_t *total)
{
    SSize_t i;
    STRLEN len;
    size_t added;
    const char *p;
    for (i = 0; i <= av_top_index(av); i++) {
        SV **e = av_fetch(av, i, 0);
        if (!e)
            continue;
        p = text ? SvPVutf8(*e, len) : SvPV(*e, len);
        TRY(add(store, p, len, &added));
        *total += added;
    }
    return PEC_RESULT_OK;
}

static pec_result
pec_add_pem(void *st, const char *p, size_t len, size_t *added)
{
    return pec_trust_store_add_pem((pec_trust_store *)st, (const uint8_t *)p, len, added);
}

static pec_result
pec_add_anchor_file(void *st, const char *p, size_t len, size_t *added)
{
    return pec_trust_store_add_file((pec_trust_store *)st, p, len, added);
}

static pec_result
pec_add_dir(void *st, const char *p, size_t len, size_t *added)
{
    return pec_trust_store_add_dir((pec_trust_store *)st, p, len, added);
}

static pec_result
pec_add_crl(void *st, const char *p, size_t len, size_t *added)
{
    return pec_crl_store_add((pec_crl_store *)st, (const uint8_t *)p, len, added);
}

static pec_result
pec_add_crl_file(void *st, const char *p, size_t len, size_t *added)
{
    return pec_crl_store_add_file((pec_crl_store *)st, p, len, added);
}

/* Where trust comes from, as Mail::PEC::Verifier and Mail::PEC::Index take it: trust anchors
 * as PEM contents, files (PEM or DER) and directories; CRLs as contents and files. Files are
 * read by libpec (pec_core::open), not here. */
typedef struct {
    AV *pems, *files, *dirs, *crls, *crl_files;
} pec_trust_args;

/* Croaks unless the arrays hold what they must (before any C object is built). */
static void
pec_trust_args_check(pTHX_ const pec_trust_args *t)
{
    pec_av_check(aTHX_ t->pems, "trust anchor", false);
    pec_av_check(aTHX_ t->files, "ca_file", true);
    pec_av_check(aTHX_ t->dirs, "ca_path", true);
    pec_av_check(aTHX_ t->crls, "crl", false);
    pec_av_check(aTHX_ t->crl_files, "crl file", true);
}

static bool
pec_trust_args_has_anchors(pTHX_ const pec_trust_args *t)
{
    return av_top_index(t->pems) >= 0 || av_top_index(t->files) >= 0 || av_top_index(t->dirs) >= 0;
}

static bool
pec_trust_args_has_crls(pTHX_ const pec_trust_args *t)
{
    return av_top_index(t->crls) >= 0 || av_top_index(t->crl_files) >= 0;
}

/* A new trust store with every anchor of `t` (checked) into `*out` (NULL on failure, nothing
 * held); `*total` counts the anchors added. */
static pec_result
pec_trust_store_build(pTHX_ const pec_trust_args *t, pec_trust_store **out, size_t *total)
{
    pec_trust_store *st = NULL;
    pec_result rc;
    *out = NULL;
    TRY(pec_trust_store_new(&st));
    rc = pec_av_add(aTHX_ st, t->pems, false, pec_add_pem, total);
    if (rc == PEC_RESULT_OK)
        rc = pec_av_add(aTHX_ st, t->files, true, pec_add_anchor_file, total);
    if (rc == PEC_RESULT_OK)
        rc = pec_av_add(aTHX_ st, t->dirs, true, pec_add_dir, total);
    if (rc != PEC_RESULT_OK) {
        pec_trust_store_free(st);
        return rc;
    }
    *out = st;
    return PEC_RESULT_OK;
}

/* A new CRL store with every CRL of `t` (checked) into `*out`, as pec_trust_store_build. */
static pec_result
pec_crl_store_build(pTHX_ const pec_trust_args *t, pec_crl_store **out, size_t *total)
{
    pec_crl_store *st = NULL;
    pec_result rc;
    *out = NULL;
    TRY(pec_crl_store_new(&st));
    rc = pec_av_add(aTHX_ st, t->crls, false, pec_add_crl, total);
    if (rc == PEC_RESULT_OK)
        rc = pec_av_add(aTHX_ st, t->crl_files, true, pec_add_crl_file, total);
    if (rc != PEC_RESULT_OK) {
        pec_crl_store_free(st);
        return rc;
    }
    *out = st;
    return PEC_RESULT_OK;
}

/* ---- opening an index with index signers ------------------------------------------------ */

/* What `pec_index_open*` takes besides the index: the named index signers (certificate
 * bytes), a trust store and a CRL store (NULL when none is given). */
typedef struct {
    const uint8_t **signers;
    size_t *signer_lens;
    size_t signer_count;
    pec_trust_store *trust;
    pec_crl_store *crls;
} pec_index_args;

static void
pec_index_args_free(pec_index_args *a)
{
    Safefree(a->signers);
    Safefree(a->signer_lens);
    pec_trust_store_free(a->trust);
    pec_crl_store_free(a->crls);
}

/* Builds the C arguments (the arrays were checked): views of the signers' bytes, a trust
 * store when anchors are given, a CRL store when CRLs are given. On failure `a` still needs
 * pec_index_args_free. */
static pec_result
pec_index_args_build(pTHX_ pec_index_args *a, AV *signers, const pec_trust_args *t)
{
    SSize_t i;
    STRLEN len;
    size_t total = 0;
    const char *p;
    SSize_t n = av_top_index(signers) + 1;
    Zero(a, 1, pec_index_args);
    if (n > 0) {
        Newxz(a->signers, n, const uint8_t *);
        Newxz(a->signer_lens, n, size_t);
        for (i = 0; i < n; i++) {
            SV **e = av_fetch(signers, i, 0);
            if (!e)
                return PEC_RESULT_NULL_PARAMETER;
            p = SvPV(*e, len);
            a->signers[i] = (const uint8_t *)p;
            a->signer_lens[i] = len;
        }
        a->signer_count = (size_t)n;
    }
    if (pec_trust_args_has_anchors(aTHX_ t))
        TRY(pec_trust_store_build(aTHX_ t, &a->trust, &total));
    if (pec_trust_args_has_crls(aTHX_ t))
        TRY(pec_crl_store_build(aTHX_ t, &a->crls, &total));
    return PEC_RESULT_OK;
}

typedef pec_result (*message_flag_fn)(const pec_message *, bool *);

static const message_flag_fn MESSAGE_FLAG[] = {
    pec_message_is_pec,
    pec_message_is_signed,
    pec_message_security_error,
};

/* ---- the provider engine: an outcome as Perl structures -------------------------------- */

/* A Perl hash { code, status, text, line } of the outcome's reply. */
static pec_result
pec_reply_fill(pTHX_ const pec_outcome *o, HV *hv)
{
    const char *p;
    size_t n;
    hv_stores(hv, "code", newSVuv(pec_outcome_reply_code(o)));
    TRY(pec_outcome_reply_status(o, &p, &n));
    hv_stores(hv, "status", pec_text(aTHX_ p, n));
    TRY(pec_outcome_reply_text(o, &p, &n));
    hv_stores(hv, "text", pec_text(aTHX_ p, n));
    TRY(pec_outcome_reply_line(o, &p, &n));
    hv_stores(hv, "line", pec_text(aTHX_ p, n));
    return PEC_RESULT_OK;
}

/* Fills `hv` with the outcome: reply, replies, messages, replayed (blessed by the caller). */
static pec_result
pec_outcome_fill(pTHX_ const pec_outcome *o, HV *hv)
{
    const char *p;
    size_t n, i, g, j;
    HV *reply = newHV();
    AV *replies = newAV(), *messages = newAV();
    hv_stores(hv, "reply", newRV_noinc((SV *)reply));
    hv_stores(hv, "replies", newRV_noinc((SV *)replies));
    hv_stores(hv, "messages", newRV_noinc((SV *)messages));
    hv_stores(hv, "replayed", newSViv(pec_outcome_replayed(o) ? 1 : 0));
    TRY(pec_reply_fill(aTHX_ o, reply));
    for (i = 0; i < pec_outcome_rcpt_reply_count(o); i++) {
        HV *r = newHV();
        uint16_t code = 0;
        av_push(replies, newRV_noinc((SV *)r));
        TRY(pec_outcome_rcpt_reply_recipient(o, i, &p, &n));
        hv_stores(r, "rcpt", pec_text(aTHX_ p, n));
        TRY(pec_outcome_rcpt_reply_code(o, i, &code));
        hv_stores(r, "code", newSVuv(code));
        TRY(pec_outcome_rcpt_reply_line(o, i, &p, &n));
        hv_stores(r, "line", pec_text(aTHX_ p, n));
    }
    for (i = 0; i < pec_outcome_message_count(o); i++) {
        HV *m = newHV();
        AV *groups = newAV(), *all = newAV();
        int64_t id = 0;
        bool sent = false;
        const uint8_t *b;
        SV *rv = newRV_noinc((SV *)m);
        sv_bless(rv, gv_stashpv("Mail::PEC::Engine::Message", GV_ADD));
        av_push(messages, rv);
        hv_stores(m, "groups", newRV_noinc((SV *)groups));
        hv_stores(m, "rcpt_to", newRV_noinc((SV *)all));
        TRY(pec_outcome_message_id(o, i, &id));
        hv_stores(m, "id", newSViv((IV)id));
        TRY(pec_outcome_message_sent(o, i, &sent));
        hv_stores(m, "sent", newSViv(sent ? 1 : 0));
        TRY(pec_outcome_message_kind(o, i, &p, &n));
        hv_stores(m, "kind", pec_text(aTHX_ p, n));
        TRY(pec_outcome_message_identifier(o, i, &p, &n));
        hv_stores(m, "identifier", pec_text(aTHX_ p, n));
        TRY(pec_outcome_message_message_id(o, i, &p, &n));
        hv_stores(m, "message_id", pec_text(aTHX_ p, n));
        TRY(pec_outcome_message_mail_from(o, i, &p, &n));
        hv_stores(m, "mail_from", pec_text(aTHX_ p, n));
        TRY(pec_outcome_message_bytes(o, i, &b, &n));
        hv_stores(m, "data", pec_bytes_sv(aTHX_ b, n));
        for (g = 0; g < pec_outcome_message_group_count(o, i); g++) {
            HV *gh = newHV();
            AV *rcpts = newAV();
            av_push(groups, newRV_noinc((SV *)gh));
            hv_stores(gh, "rcpt_to", newRV_noinc((SV *)rcpts));
            TRY(pec_outcome_message_group_route(o, i, g, &p, &n));
            hv_stores(gh, "route", pec_text(aTHX_ p, n));
            for (j = 0; j < pec_outcome_message_rcpt_count(o, i, g); j++) {
                TRY(pec_outcome_message_rcpt(o, i, g, j, &p, &n));
                av_push(rcpts, pec_text(aTHX_ p, n));
                av_push(all, pec_text(aTHX_ p, n));
            }
        }
    }
    return PEC_RESULT_OK;
}

/* Takes an outcome: a blessed Mail::PEC::Engine::Outcome hash; releases the C outcome (also
 * when filling failed, then croaks). */
static SV *
pec_take_outcome(pTHX_ pec_outcome *o)
{
    HV *hv = newHV();
    SV *rv = newRV_noinc((SV *)hv);
    pec_result rc = pec_outcome_fill(aTHX_ o, hv);
    pec_outcome_free(o);
    if (rc != PEC_RESULT_OK) {
        SvREFCNT_dec(rv);
        pec_croak(aTHX_ rc, NULL);
    }
    return sv_bless(rv, gv_stashpv("Mail::PEC::Engine::Outcome", GV_ADD));
}

/* The strings of an array reference (rcpt_to) as pointer and length arrays, on the mortal
 * stack (freed with the statement). */
static size_t
pec_rcpt_args(pTHX_ SV *ref, const char ***ptrs, size_t **lens, const char *var)
{
    AV *av;
    SSize_t i, n;
    char msg[256];
    if (!SvROK(ref) || SvTYPE(SvRV(ref)) != SVt_PVAV) {
        snprintf(msg, sizeof msg, "%s must be an array reference", var);
        pec_croak(aTHX_ PEC_RESULT_INVALID_PARAMETER, msg);
    }
    av = (AV *)SvRV(ref);
    n = av_len(av) + 1;
    *ptrs = (const char **)SvPVX(sv_2mortal(newSV((n + 1) * sizeof(char *))));
    *lens = (size_t *)SvPVX(sv_2mortal(newSV((n + 1) * sizeof(size_t))));
    for (i = 0; i < n; i++) {
        SV **e = av_fetch(av, i, 0);
        STRLEN l;
        if (!e)
            pec_croak(aTHX_ PEC_RESULT_NULL_PARAMETER, "a recipient is undef");
        (*ptrs)[i] = pec_arg_text(aTHX_ *e, &l, var);
        (*lens)[i] = l;
    }
    return (size_t)n;
}

MODULE = Mail::PEC    PACKAGE = Mail::PEC    PREFIX = pec_perl_

PROTOTYPES: DISABLE

const char *
pec_perl_library_version()
  CODE:
    RETVAL = pec_version();
  OUTPUT:
    RETVAL

const char *
pec_perl_header_version()
  CODE:
    RETVAL = PEC_VERSION;
  OUTPUT:
    RETVAL

SV *
pec_perl_result_message(code)
    UV code
  CODE:
    RETVAL = pec_code_text(aTHX_ pec_result_message, (uint32_t)code);
  OUTPUT:
    RETVAL

SV *
pec_perl_result_name(code)
    UV code
  CODE:
    RETVAL = pec_code_text(aTHX_ pec_result_name, (uint32_t)code);
  OUTPUT:
    RETVAL

void
pec_perl__croak(code, message)
    UV code
    const char *message
  CODE:
    pec_croak(aTHX_ (uint32_t)code, message);


MODULE = Mail::PEC    PACKAGE = Mail::PEC::Message

pec_message *
_parse(klass, bytes)
    SV *klass
    SV *bytes
  PREINIT:
    STRLEN len;
    const char *p;
  CODE:
    PERL_UNUSED_VAR(klass);
    p = pec_arg_bytes(aTHX_ bytes, &len, "bytes");
    PEC_CHECK(pec_message_parse((const uint8_t *)p, len, &RETVAL));
  OUTPUT:
    RETVAL

SV *
kind(self)
    pec_message *self
  ALIAS:
    receipt_type = 1
    message_id = 2
    identificativo = 3
    msgid = 4
    subject = 5
    from = 6
    from_domain = 7
    header_kind = 8
    signed_scope = 9
  PREINIT:
    const char *p = NULL;
    size_t n = 0;
  CODE:
    PEC_CHECK(MESSAGE_TEXT[ix](self, &p, &n));
    RETVAL = pec_text(aTHX_ p, n);
  OUTPUT:
    RETVAL

bool
is_pec(self)
    pec_message *self
  ALIAS:
    signed = 1
    security_error = 2
  PREINIT:
    bool flag = false;
  CODE:
    PEC_CHECK(MESSAGE_FLAG[ix](self, &flag));
    RETVAL = flag;
  OUTPUT:
    RETVAL

SV *
header(self, name)
    pec_message *self
    SV *name
  PREINIT:
    const char *p = NULL, *nm;
    size_t n = 0;
    STRLEN len;
  CODE:
    nm = pec_arg_text(aTHX_ name, &len, "name");
    PEC_CHECK(pec_message_header(self, nm, len, &p, &n));
    RETVAL = pec_text(aTHX_ p, n);
  OUTPUT:
    RETVAL

SV *
bytes(self)
    pec_message *self
  ALIAS:
    original = 1
  PREINIT:
    const uint8_t *p = NULL;
    size_t n = 0;
  CODE:
    if (ix == 0)
        PEC_CHECK(pec_message_bytes(self, &p, &n));
    else
        PEC_CHECK(pec_message_original(self, &p, &n));
    RETVAL = pec_bytes_sv(aTHX_ p, n);
  OUTPUT:
    RETVAL

void
warnings(self)
    pec_message *self
  PREINIT:
    size_t i, count, n;
    const char *p;
  PPCODE:
    count = pec_message_warning_count(self);
    EXTEND(SP, (SSize_t)count);
    for (i = 0; i < count; i++) {
        PEC_CHECK(pec_message_warning(self, i, &p, &n));
        mPUSHs(pec_text(aTHX_ p, n));
    }

void
hash_parts(self)
    pec_message *self
  PREINIT:
    size_t i, count, n;
    const char *p;
  PPCODE:
    count = pec_message_hash_count(self);
    EXTEND(SP, (SSize_t)count);
    for (i = 0; i < count; i++) {
        HV *hv;
        SV *rv = pec_new_hashref(aTHX_ &hv);
        PEC_CHECK(pec_message_hash_filename(self, i, &p, &n));
        hv_stores(hv, "filename", pec_text(aTHX_ p, n));
        PEC_CHECK(pec_message_hash_sha1(self, i, &p, &n));
        hv_stores(hv, "sha1", pec_text(aTHX_ p, n));
        PUSHs(rv);
    }

SV *
daticert(self)
    pec_message *self
  PREINIT:
    const pec_daticert *d = NULL;
    HV *hv;
    SV *rv;
  CODE:
    PEC_CHECK(pec_message_daticert(self, &d));
    if (!d)
        XSRETURN_UNDEF;
    rv = pec_new_hashref(aTHX_ &hv);
    PEC_CHECK(pec_daticert_fill(aTHX_ d, hv));
    RETVAL = SvREFCNT_inc(rv);
  OUTPUT:
    RETVAL

SV *
to_json(self)
    pec_message *self
  PREINIT:
    pec_bytes *json = NULL;
  CODE:
    PEC_CHECK(pec_message_to_json(self, &json));
    RETVAL = pec_take_text(aTHX_ json);
  OUTPUT:
    RETVAL

void
DESTROY(self)
    SV *self
  CODE:
    pec_message_free((pec_message *)pec_take_handle(aTHX_ self));


MODULE = Mail::PEC    PACKAGE = Mail::PEC::Daticert

SV *
_parse(klass, xml)
    SV *klass
    SV *xml
  PREINIT:
    STRLEN len;
    const char *p;
    pec_daticert *d = NULL;
    pec_result rc;
    HV *hv;
    SV *rv;
  CODE:
    PERL_UNUSED_VAR(klass);
    p = pec_arg_bytes(aTHX_ xml, &len, "xml");
    PEC_CHECK(pec_daticert_parse((const uint8_t *)p, len, &d));
    rv = pec_new_hashref(aTHX_ &hv);
    rc = pec_daticert_fill(aTHX_ d, hv);
    pec_daticert_free(d);
    PEC_CHECK(rc);
    RETVAL = SvREFCNT_inc(rv);
  OUTPUT:
    RETVAL


MODULE = Mail::PEC    PACKAGE = Mail::PEC::Verifier

pec_verifier *
_new(klass)
    SV *klass
  CODE:
    PERL_UNUSED_VAR(klass);
    PEC_CHECK(pec_verifier_new(&RETVAL));
  OUTPUT:
    RETVAL

UV
_set_trust(self, pems, files, dirs)
    pec_verifier *self
    AV *pems
    AV *files
    AV *dirs
  PREINIT:
    pec_trust_store *st = NULL;
    pec_result rc;
    size_t total = 0;
    pec_trust_args t;
  CODE:
    t.pems = pems;
    t.files = files;
    t.dirs = dirs;
    t.crls = t.crl_files = (AV *)sv_2mortal((SV *)newAV());
    /* read every Perl value first: nothing may croak while the store is held */
    pec_trust_args_check(aTHX_ &t);
    rc = pec_trust_store_build(aTHX_ &t, &st, &total);
    if (rc == PEC_RESULT_OK)
        rc = pec_verifier_set_trust(self, st);
    pec_trust_store_free(st);
    PEC_CHECK(rc);
    RETVAL = total;
  OUTPUT:
    RETVAL

UV
_set_crls(self, crls, crl_files)
    pec_verifier *self
    AV *crls
    AV *crl_files
  PREINIT:
    pec_crl_store *st = NULL;
    pec_result rc;
    size_t total = 0;
    pec_trust_args t;
  CODE:
    t.pems = t.files = t.dirs = (AV *)sv_2mortal((SV *)newAV());
    t.crls = crls;
    t.crl_files = crl_files;
    if (!pec_trust_args_has_crls(aTHX_ &t)) {
        PEC_CHECK(pec_verifier_set_crls(self, NULL));
        XSRETURN_UV(0);
    }
    pec_trust_args_check(aTHX_ &t);
    rc = pec_crl_store_build(aTHX_ &t, &st, &total);
    if (rc == PEC_RESULT_OK)
        rc = pec_verifier_set_crls(self, st);
    pec_crl_store_free(st);
    PEC_CHECK(rc);
    RETVAL = total;
  OUTPUT:
    RETVAL

void
set_index(self, index)
    pec_verifier *self
    SV *index
  CODE:
    if (SvOK(index))
        PEC_CHECK(pec_verifier_set_index(self, (pec_index *)pec_perl_handle(aTHX_ index, "Mail::PEC::Index", "index")));
    else
        PEC_CHECK(pec_verifier_set_index(self, NULL));

void
set_time_now(self)
    pec_verifier *self
  ALIAS:
    set_time_signing = 1
  CODE:
    if (ix == 0)
        PEC_CHECK(pec_verifier_set_time_now(self));
    else
        PEC_CHECK(pec_verifier_set_time_signing(self));

void
set_time_unix(self, t)
    pec_verifier *self
    IV t
  CODE:
    PEC_CHECK(pec_verifier_set_time_unix(self, (int64_t)t));

void
set_clock_unix(self, t)
    pec_verifier *self
    IV t
  CODE:
    PEC_CHECK(pec_verifier_set_clock_unix(self, (int64_t)t));

SV *
_verify(self, bytes)
    pec_verifier *self
    SV *bytes
  PREINIT:
    STRLEN len;
    const char *p;
    pec_report *r = NULL;
    pec_result rc;
    HV *hv;
    SV *rv;
  CODE:
    p = pec_arg_bytes(aTHX_ bytes, &len, "bytes");
    PEC_CHECK(pec_verifier_verify(self, (const uint8_t *)p, len, &r));
    rv = pec_new_hashref(aTHX_ &hv);
    rc = pec_report_fill(aTHX_ r, hv);
    if (rc == PEC_RESULT_OK) {
        /* the wire view, for Mail::PEC::Report->to_json */
        pec_bytes *json = NULL;
        rc = pec_report_to_json(r, &json);
        if (rc == PEC_RESULT_OK)
            hv_stores(hv, "_json", pec_take_text(aTHX_ json));
    }
    pec_report_free(r);
    PEC_CHECK(rc);
    RETVAL = SvREFCNT_inc(rv);
  OUTPUT:
    RETVAL

void
DESTROY(self)
    SV *self
  CODE:
    pec_verifier_free((pec_verifier *)pec_take_handle(aTHX_ self));


MODULE = Mail::PEC    PACKAGE = Mail::PEC::Signer

pec_signer *
_software(klass, key, cert, chain)
    SV *klass
    SV *key
    SV *cert
    SV *chain
  PREINIT:
    STRLEN klen, clen, chlen = 0;
    const char *k, *c, *ch = NULL;
  CODE:
    PERL_UNUSED_VAR(klass);
    k = pec_arg_bytes(aTHX_ key, &klen, "key_pem");
    c = pec_arg_bytes(aTHX_ cert, &clen, "cert_pem");
    if (SvOK(chain))
        ch = pec_arg_bytes(aTHX_ chain, &chlen, "chain_pem");
    PEC_CHECK(pec_signer_new_software((const uint8_t *)k, klen, (const uint8_t *)c, clen,
                                      (const uint8_t *)ch, chlen, &RETVAL));
  OUTPUT:
    RETVAL

pec_signer *
_pkcs11(klass, uri, module, cert, chain)
    SV *klass
    SV *uri
    SV *module
    SV *cert
    SV *chain
  PREINIT:
    STRLEN ulen, mlen = 0, clen = 0, chlen = 0;
    const char *u, *m = NULL, *c = NULL, *ch = NULL;
  CODE:
    PERL_UNUSED_VAR(klass);
    u = pec_arg_text(aTHX_ uri, &ulen, "uri");
    if (SvOK(module))
        m = pec_arg_text(aTHX_ module, &mlen, "module");
    if (SvOK(cert))
        c = pec_arg_bytes(aTHX_ cert, &clen, "cert_pem");
    if (SvOK(chain))
        ch = pec_arg_bytes(aTHX_ chain, &chlen, "chain_pem");
    PEC_CHECK(pec_signer_new_pkcs11(u, ulen, m, mlen, (const uint8_t *)c, clen,
                                    (const uint8_t *)ch, chlen, &RETVAL));
  OUTPUT:
    RETVAL

SV *
_sign_message(self, bytes, t)
    pec_signer *self
    SV *bytes
    IV t
  PREINIT:
    STRLEN len;
    const char *p;
    pec_bytes *out = NULL;
  CODE:
    p = pec_arg_bytes(aTHX_ bytes, &len, "message");
    PEC_CHECK(pec_sign_message(self, (const uint8_t *)p, len, (int64_t)t, &out));
    RETVAL = pec_take_bytes(aTHX_ out);
  OUTPUT:
    RETVAL

SV *
_sign_detached(self, bytes, t)
    pec_signer *self
    SV *bytes
    IV t
  PREINIT:
    STRLEN len;
    const char *p;
    pec_bytes *out = NULL;
  CODE:
    p = pec_arg_bytes(aTHX_ bytes, &len, "content");
    PEC_CHECK(pec_sign_detached(self, (const uint8_t *)p, len, (int64_t)t, &out));
    RETVAL = pec_take_bytes(aTHX_ out);
  OUTPUT:
    RETVAL

void
DESTROY(self)
    SV *self
  CODE:
    pec_signer_free((pec_signer *)pec_take_handle(aTHX_ self));


MODULE = Mail::PEC    PACKAGE = Mail::PEC::Provider

pec_provider *
_from_toml(klass, toml)
    SV *klass
    SV *toml
  PREINIT:
    STRLEN len;
    const char *p;
  CODE:
    PERL_UNUSED_VAR(klass);
    p = pec_arg_text(aTHX_ toml, &len, "toml");
    PEC_CHECK(pec_provider_new(p, len, &RETVAL));
  OUTPUT:
    RETVAL

pec_provider *
_from_fields(klass, name, domain, domains, timezone, index)
    SV *klass
    SV *name
    SV *domain
    AV *domains
    SV *timezone
    SV *index
  PREINIT:
    STRLEN nlen, dlen, tlen = 0, len;
    const char *n, *d, *tz = NULL;
    const char **ds = NULL;
    size_t *dls = NULL;
    const pec_index *idx = NULL;
    SSize_t i, count;
    pec_result rc;
  CODE:
    PERL_UNUSED_VAR(klass);
    /* read every Perl value first: nothing may croak while the arrays are held */
    n = pec_arg_text(aTHX_ name, &nlen, "name");
    d = pec_arg_text(aTHX_ domain, &dlen, "domain");
    pec_av_check(aTHX_ domains, "certified domain", true);
    if (SvOK(timezone))
        tz = pec_arg_text(aTHX_ timezone, &tlen, "timezone");
    if (SvOK(index))
        idx = (const pec_index *)pec_perl_handle(aTHX_ index, "Mail::PEC::Index", "index");
    count = av_top_index(domains) + 1;
    if (count > 0) {
        Newxz(ds, count, const char *);
        Newxz(dls, count, size_t);
        for (i = 0; i < count; i++) {
            SV **e = av_fetch(domains, i, 0);
            if (e) {
                ds[i] = SvPVutf8(*e, len);
                dls[i] = len;
            }
        }
    }
    RETVAL = NULL;
    rc = pec_provider_from_fields(n, nlen, d, dlen, ds, dls, (size_t)count, tz, tlen, idx, &RETVAL);
    Safefree(ds);
    Safefree(dls);
    PEC_CHECK(rc);
  OUTPUT:
    RETVAL

void
set_index(self, index)
    pec_provider *self
    pec_index *index
  CODE:
    PEC_CHECK(pec_provider_set_index(self, index));

void
set_max_size(self, size)
    pec_provider *self
    UV size
  CODE:
    PEC_CHECK(pec_provider_set_max_size(self, (size_t)size));

SV *
name(self)
    pec_provider *self
  ALIAS:
    domain = 1
  PREINIT:
    const char *p = NULL;
    size_t n = 0;
  CODE:
    if (ix == 0)
        PEC_CHECK(pec_provider_name(self, &p, &n));
    else
        PEC_CHECK(pec_provider_domain(self, &p, &n));
    RETVAL = pec_text(aTHX_ p, n);
  OUTPUT:
    RETVAL

SV *
_build(self, kind, opts, signer)
    pec_provider *self
    SV *kind
    HV *opts
    SV *signer
  PREINIT:
    STRLEN klen;
    const char *k;
    const pec_signer *s = NULL;
    pec_build_options *o = NULL;
    pec_bytes *out = NULL;
    pec_result rc;
  CODE:
    k = pec_arg_text(aTHX_ kind, &klen, "kind");
    if (SvOK(signer))
        s = (const pec_signer *)pec_perl_handle(aTHX_ signer, "Mail::PEC::Signer", "signer");
    PEC_CHECK(pec_build_options_new(&o));
    rc = pec_options_fill(aTHX_ o, opts);
    if (rc == PEC_RESULT_OK)
        rc = pec_provider_build(self, k, klen, o, s, &out);
    pec_build_options_free(o);
    PEC_CHECK(rc);
    RETVAL = pec_take_bytes(aTHX_ out);
  OUTPUT:
    RETVAL

void
DESTROY(self)
    SV *self
  CODE:
    pec_provider_free((pec_provider *)pec_take_handle(aTHX_ self));


MODULE = Mail::PEC    PACKAGE = Mail::PEC::Index

pec_index *
_from_ldif(klass, ldif)
    SV *klass
    SV *ldif
  PREINIT:
    STRLEN len;
    const char *p;
  CODE:
    PERL_UNUSED_VAR(klass);
    p = pec_arg_bytes(aTHX_ ldif, &len, "ldif");
    PEC_CHECK(pec_index_from_ldif((const uint8_t *)p, len, &RETVAL));
  OUTPUT:
    RETVAL

pec_index *
_open(klass, data, signers, pems, files, dirs, crls, crl_files)
    SV *klass
    SV *data
    AV *signers
    AV *pems
    AV *files
    AV *dirs
    AV *crls
    AV *crl_files
  ALIAS:
    _open_file = 1
  PREINIT:
    STRLEN len;
    const char *p;
    pec_index_args a;
    pec_trust_args t;
    pec_result rc;
  CODE:
    PERL_UNUSED_VAR(klass);
    if (ix == 0)
        p = pec_arg_bytes(aTHX_ data, &len, "ldif");
    else
        p = pec_arg_text(aTHX_ data, &len, "path");
    t.pems = pems;
    t.files = files;
    t.dirs = dirs;
    t.crls = crls;
    t.crl_files = crl_files;
    pec_av_check(aTHX_ signers, "index signer", false);
    pec_trust_args_check(aTHX_ &t);
    RETVAL = NULL;
    rc = pec_index_args_build(aTHX_ &a, signers, &t);
    if (rc == PEC_RESULT_OK && ix == 0)
        rc = pec_index_open((const uint8_t *)p, len, a.signers, a.signer_lens, a.signer_count,
                            a.trust, a.crls, &RETVAL);
    else if (rc == PEC_RESULT_OK)
        rc = pec_index_open_file(p, len, a.signers, a.signer_lens, a.signer_count, a.trust,
                                 a.crls, &RETVAL);
    pec_index_args_free(&a);
    PEC_CHECK(rc);
  OUTPUT:
    RETVAL

pec_index *
_from_ldap(klass, url, base, timeout_ms)
    SV *klass
    SV *url
    SV *base
    UV timeout_ms
  PREINIT:
    STRLEN ulen, blen = 0;
    const char *u, *b = NULL;
  CODE:
    PERL_UNUSED_VAR(klass);
    u = pec_arg_text(aTHX_ url, &ulen, "url");
    if (SvOK(base))
        b = pec_arg_text(aTHX_ base, &blen, "base");
    PEC_CHECK(pec_index_from_ldap(u, ulen, b, blen, (uint64_t)timeout_ms, &RETVAL));
  OUTPUT:
    RETVAL

UV
len(self)
    pec_index *self
  CODE:
    RETVAL = pec_index_len(self);
  OUTPUT:
    RETVAL

bool
is_certified(self, address)
    pec_index *self
    SV *address
  PREINIT:
    STRLEN len;
    const char *p;
    bool flag = false;
  CODE:
    p = pec_arg_text(aTHX_ address, &len, "address");
    PEC_CHECK(pec_index_is_certified(self, p, len, &flag));
    RETVAL = flag;
  OUTPUT:
    RETVAL

SV *
lookup_domain(self, key)
    pec_index *self
    SV *key
  ALIAS:
    lookup_cert_hash = 1
    lookup_name = 2
  PREINIT:
    STRLEN len;
    const char *p;
    pec_provider_record *r = NULL;
    pec_result rc;
    HV *hv;
    SV *rv;
  CODE:
    p = pec_arg_text(aTHX_ key, &len, "key");
    if (ix == 0)
        rc = pec_index_lookup_domain(self, p, len, &r);
    else if (ix == 1)
        rc = pec_index_lookup_cert_hash(self, p, len, &r);
    else
        rc = pec_index_lookup_name(self, p, len, &r);
    PEC_CHECK(rc);
    if (!r)
        XSRETURN_UNDEF;
    rv = pec_new_hashref(aTHX_ &hv);
    rc = pec_record_fill(aTHX_ r, hv);
    pec_provider_record_free(r);
    PEC_CHECK(rc);
    RETVAL = SvREFCNT_inc(rv);
  OUTPUT:
    RETVAL

void
DESTROY(self)
    SV *self
  CODE:
    pec_index_free((pec_index *)pec_take_handle(aTHX_ self));


MODULE = Mail::PEC    PACKAGE = Mail::PEC::Certificate

SV *
_info(klass, bytes)
    SV *klass
    SV *bytes
  PREINIT:
    STRLEN len;
    const char *p;
    pec_certificate *c = NULL;
    pec_result rc;
    HV *hv;
    SV *rv;
  CODE:
    PERL_UNUSED_VAR(klass);
    p = pec_arg_bytes(aTHX_ bytes, &len, "certificate");
    PEC_CHECK(pec_certificate_parse((const uint8_t *)p, len, &c));
    rv = pec_new_hashref(aTHX_ &hv);
    rc = pec_certificate_fill(aTHX_ c, hv);
    pec_certificate_free(c);
    PEC_CHECK(rc);
    RETVAL = SvREFCNT_inc(rv);
  OUTPUT:
    RETVAL

SV *
_fingerprint(klass, bytes, algorithm)
    SV *klass
    SV *bytes
    SV *algorithm
  PREINIT:
    STRLEN len, alen;
    const char *p, *a;
    pec_certificate *c = NULL;
    pec_bytes *out = NULL;
    pec_result rc;
  CODE:
    PERL_UNUSED_VAR(klass);
    p = pec_arg_bytes(aTHX_ bytes, &len, "certificate");
    a = pec_arg_text(aTHX_ algorithm, &alen, "algorithm");
    PEC_CHECK(pec_certificate_parse((const uint8_t *)p, len, &c));
    rc = pec_certificate_fingerprint(c, a, alen, &out);
    pec_certificate_free(c);
    PEC_CHECK(rc);
    RETVAL = pec_take_bytes(aTHX_ out);
  OUTPUT:
    RETVAL


MODULE = Mail::PEC    PACKAGE = Mail::PEC::Digest

pec_digest *
new(klass, algorithm)
    SV *klass
    SV *algorithm
  PREINIT:
    STRLEN len;
    const char *a;
  CODE:
    PERL_UNUSED_VAR(klass);
    a = pec_arg_text(aTHX_ algorithm, &len, "algorithm");
    PEC_CHECK(pec_digest_new(a, len, &RETVAL));
  OUTPUT:
    RETVAL

void
_add(self, data)
    pec_digest *self
    SV *data
  PREINIT:
    STRLEN len;
    const char *p;
  CODE:
    p = pec_arg_bytes(aTHX_ data, &len, "data");
    PEC_CHECK(pec_digest_update(self, (const uint8_t *)p, len));

SV *
digest(self)
    pec_digest *self
  PREINIT:
    pec_bytes *out = NULL;
  CODE:
    PEC_CHECK(pec_digest_finish(self, &out));
    RETVAL = pec_take_bytes(aTHX_ out);
  OUTPUT:
    RETVAL

void
DESTROY(self)
    SV *self
  CODE:
    pec_digest_free((pec_digest *)pec_take_handle(aTHX_ self));


MODULE = Mail::PEC    PACKAGE = Mail::PEC::Engine

pec_engine *
_open(klass, config, store)
    SV *klass
    SV *config
    SV *store
  PREINIT:
    STRLEN clen, slen = 0;
    const char *c, *st = NULL;
  CODE:
    PERL_UNUSED_VAR(klass);
    c = pec_arg_text(aTHX_ config, &clen, "config");
    if (SvOK(store))
        st = pec_arg_text(aTHX_ store, &slen, "store");
    PEC_CHECK(pec_engine_open_with_store(c, clen, st, slen, &RETVAL));
  OUTPUT:
    RETVAL

int
has_test_clock(klass)
    SV *klass
  CODE:
    PERL_UNUSED_VAR(klass);
#ifdef PEC_TEST_CLOCK
    RETVAL = 1;
#else
    RETVAL = 0;
#endif
  OUTPUT:
    RETVAL

pec_engine *
_open_manual(klass, config, store, start)
    SV *klass
    SV *config
    SV *store
    IV start
  PREINIT:
    STRLEN clen, slen = 0;
    const char *c, *st = NULL;
  CODE:
    PERL_UNUSED_VAR(klass);
    c = pec_arg_text(aTHX_ config, &clen, "config");
    if (SvOK(store))
        st = pec_arg_text(aTHX_ store, &slen, "store");
#ifdef PEC_TEST_CLOCK
    PEC_CHECK(pec_engine_open_with_manual_clock(c, clen, st, slen, (int64_t)start, &RETVAL));
#else
    PERL_UNUSED_VAR(start);
    RETVAL = NULL;
    pec_croak(aTHX_ PEC_RESULT_INVALID_PARAMETER,
              "manual_clock needs libpec built with the cargo feature test-clock");
#endif
  OUTPUT:
    RETVAL

void
clock_advance(self, seconds)
    pec_engine *self
    IV seconds
  CODE:
#ifdef PEC_TEST_CLOCK
    PEC_CHECK(pec_engine_clock_advance(self, (int64_t)seconds));
#else
    PERL_UNUSED_VAR(self);
    PERL_UNUSED_VAR(seconds);
    pec_croak(aTHX_ PEC_RESULT_INVALID_PARAMETER, "libpec was built without test-clock");
#endif

IV
clock_now(self)
    pec_engine *self
  PREINIT:
    int64_t t = 0;
  CODE:
#ifdef PEC_TEST_CLOCK
    PEC_CHECK(pec_engine_clock_now(self, &t));
#else
    PERL_UNUSED_VAR(self);
    pec_croak(aTHX_ PEC_RESULT_INVALID_PARAMETER, "libpec was built without test-clock");
#endif
    RETVAL = (IV)t;
  OUTPUT:
    RETVAL

SV *
_smtp_event(self, point, data, mail_from, rcpt_to, virus)
    pec_engine *self
    int point
    SV *data
    SV *mail_from
    SV *rcpt_to
    SV *virus
  PREINIT:
    STRLEN len, flen = 0, vlen = 0;
    const char *d, *f = NULL, *v = NULL;
    const char **rcpts;
    size_t *lens, count;
    pec_outcome *o = NULL;
  CODE:
    d = pec_arg_bytes(aTHX_ data, &len, "data");
    if (SvOK(mail_from))
        f = pec_arg_text(aTHX_ mail_from, &flen, "mail_from");
    if (SvOK(virus))
        v = pec_arg_text(aTHX_ virus, &vlen, "virus");
    count = pec_rcpt_args(aTHX_ rcpt_to, &rcpts, &lens, "rcpt_to");
    if (point == 0)
        PEC_CHECK(pec_engine_submission(self, f, flen, rcpts, lens, count, (const uint8_t *)d,
                                        len, v, vlen, &o));
    else
        PEC_CHECK(pec_engine_inbound(self, f, flen, rcpts, lens, count, (const uint8_t *)d,
                                     len, v, vlen, &o));
    RETVAL = pec_take_outcome(aTHX_ o);
  OUTPUT:
    RETVAL

SV *
_mailbox_result(self, data, mail_from, results)
    pec_engine *self
    SV *data
    SV *mail_from
    SV *results
  PREINIT:
    STRLEN len, flen = 0;
    const char *d, *f = NULL;
    AV *av;
    SSize_t i, n;
    pec_mailbox_answer *answers;
    pec_outcome *o = NULL;
  CODE:
    d = pec_arg_bytes(aTHX_ data, &len, "data");
    if (SvOK(mail_from))
        f = pec_arg_text(aTHX_ mail_from, &flen, "mail_from");
    if (!SvROK(results) || SvTYPE(SvRV(results)) != SVt_PVAV)
        pec_croak(aTHX_ PEC_RESULT_INVALID_PARAMETER, "results must be an array reference");
    av = (AV *)SvRV(results);
    n = av_len(av) + 1;
    answers = (pec_mailbox_answer *)SvPVX(sv_2mortal(newSV((n + 1) * sizeof *answers)));
    for (i = 0; i < n; i++) {
        SV **e = av_fetch(av, i, 0);
        AV *r;
        SV **rcpt, **outcome, **status, **text;
        STRLEN l;
        if (!e || !SvROK(*e) || SvTYPE(SvRV(*e)) != SVt_PVAV)
            pec_croak(aTHX_ PEC_RESULT_INVALID_PARAMETER, "each result must be [rcpt, outcome, status, text]");
        r = (AV *)SvRV(*e);
        rcpt = av_fetch(r, 0, 0);
        outcome = av_fetch(r, 1, 0);
        status = av_fetch(r, 2, 0);
        text = av_fetch(r, 3, 0);
        if (!rcpt || !outcome)
            pec_croak(aTHX_ PEC_RESULT_NULL_PARAMETER, "a result lacks rcpt or outcome");
        memset(&answers[i], 0, sizeof answers[i]);
        answers[i].rcpt = pec_arg_text(aTHX_ *rcpt, &l, "rcpt");
        answers[i].rcpt_len = l;
        answers[i].outcome = (uint32_t)SvUV(*outcome);
        if (status && SvOK(*status)) {
            answers[i].status = pec_arg_text(aTHX_ *status, &l, "status");
            answers[i].status_len = l;
        }
        if (text && SvOK(*text)) {
            answers[i].text = pec_arg_text(aTHX_ *text, &l, "text");
            answers[i].text_len = l;
        }
    }
    PEC_CHECK(pec_engine_mailbox_result(self, f, flen, answers, (size_t)n, (const uint8_t *)d,
                                        len, &o));
    RETVAL = pec_take_outcome(aTHX_ o);
  OUTPUT:
    RETVAL

SV *
_run_due(self, limit, unsent)
    pec_engine *self
    UV limit
    int unsent
  PREINIT:
    pec_outcome *o = NULL;
  CODE:
    if (unsent)
        PEC_CHECK(pec_engine_unsent(self, (size_t)limit, &o));
    else
        PEC_CHECK(pec_engine_run_due(self, (size_t)limit, &o));
    RETVAL = pec_take_outcome(aTHX_ o);
  OUTPUT:
    RETVAL

UV
_ack(self, ids)
    pec_engine *self
    SV *ids
  PREINIT:
    AV *av;
    SSize_t i, n;
    int64_t *v;
    size_t acked = 0;
  CODE:
    if (!SvROK(ids) || SvTYPE(SvRV(ids)) != SVt_PVAV)
        pec_croak(aTHX_ PEC_RESULT_INVALID_PARAMETER, "ids must be an array reference");
    av = (AV *)SvRV(ids);
    n = av_len(av) + 1;
    v = (int64_t *)SvPVX(sv_2mortal(newSV((n + 1) * sizeof *v)));
    for (i = 0; i < n; i++) {
        SV **e = av_fetch(av, i, 0);
        v[i] = e ? (int64_t)SvIV(*e) : 0;
    }
    PEC_CHECK(pec_engine_ack(self, v, (size_t)n, &acked));
    RETVAL = (UV)acked;
  OUTPUT:
    RETVAL

SV *
_status(self, identifier)
    pec_engine *self
    SV *identifier
  PREINIT:
    STRLEN len = 0;
    const char *id = NULL;
    pec_bytes *out = NULL;
  CODE:
    if (SvOK(identifier))
        id = pec_arg_text(aTHX_ identifier, &len, "identifier");
    PEC_CHECK(pec_engine_status(self, id, len, &out));
    RETVAL = pec_take_text(aTHX_ out);
  OUTPUT:
    RETVAL

void
DESTROY(self)
    SV *self
  CODE:
    pec_engine_free((pec_engine *)pec_take_handle(aTHX_ self));
