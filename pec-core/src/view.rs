//! The wire view: the one definition of the JSON that every front door prints (feature
//! `view`).
//!
//! `pec inspect --json`, `pec verify --json` and `pec index lookup --json` print these
//! types; the C ABI hands the same text out (`pec_message_to_json`, `pec_report_to_json`,
//! `pec_provider_record_to_json`), and so do Python (`Message.to_json()`,
//! `VerificationReport.to_json()`) and Perl (`Mail::PEC::Message->to_json`,
//! `Mail::PEC::Report->to_json`). The keys and values are a contract: the golden files in
//! `tests/vectors/expected/` hold them for every test vector and interop message, and every
//! door is checked against them.
//!
//! # The text
//!
//! [`to_json`] writes a view as pretty JSON (two-space indent, no trailing newline; the CLI
//! adds one). Every object's keys are in ascending byte order: the fields below are declared
//! sorted, so the text is the same whether a map keeps insertion order or not (a unit test
//! holds that). Instants are RFC 3339 in UTC to the second (`2018-11-13T13:48:57Z`); absent
//! values are `null`, never omitted.
//!
//! # Vocabulary
//!
//! The JSON uses the protocol's own names. For `daticert.xml` these are the Italian element
//! and attribute names of the DTD (RFC 6109 §4.4, docs/SPEC.md), with `-` written `_`; the
//! Rust accessors ([`Daticert`]) and the C functions (`pec_daticert_*`) keep their English
//! names, which are contracts too. This table is the one place the two are mapped:
//!
//! | wire key (JSON, Python, Perl) | `daticert.xml` | Rust field of [`Daticert`] | C accessor |
//! | --- | --- | --- | --- |
//! | `tipo` | `postacert@tipo` | `kind` | `pec_daticert_kind` |
//! | `errore` | `postacert@errore` | `error` | `pec_daticert_error` |
//! | `mittente` | `intestazione/mittente` | `sender` | `pec_daticert_sender` |
//! | `destinatari` (`[{address, tipo}]`) | `intestazione/destinatari`, `@tipo` | `recipients` (`address`, `kind`) | `pec_daticert_recipient`, `pec_daticert_recipient_type` |
//! | `risposte` | `intestazione/risposte` | `reply_to` | `pec_daticert_reply_to` |
//! | `oggetto` | `intestazione/oggetto` | `subject` | `pec_daticert_subject` |
//! | `gestore_emittente` | `dati/gestore-emittente` | `issuer` | `pec_daticert_issuer` |
//! | `data` (`{giorno, ora, zona}`) | `dati/data`, `giorno`, `ora`, `@zona` | `date` (`day`, `time`, `zone`) | `pec_daticert_date_day`, `_time`, `_zone` |
//! | `identificativo` | `dati/identificativo` | `identifier` | `pec_daticert_identifier` |
//! | `msgid` | `dati/msgid` | `msgid` | `pec_daticert_msgid` |
//! | `ricevuta` | `dati/ricevuta@tipo` | `receipt_type` | `pec_daticert_receipt_type` |
//! | `consegna` | `dati/consegna` | `delivery` | `pec_daticert_delivery` |
//! | `ricezione` | `dati/ricezione` | `received` | `pec_daticert_received` |
//! | `errore_esteso` | `dati/errore-esteso` | `extended_error` | `pec_daticert_extended_error` |
//!
//! The message-level keys `identificativo` and `msgid` are the same protocol names (the
//! identifier a message refers to, the client's Message-ID); the rest of the message and of
//! the report is English, as it always was.
//!
//! The providers index («indice dei gestori», RFC 6109 §4.5) is called *index* in every
//! public name: [`IndexRecordView`] here; in Rust, [`crate::index::Index`] (=
//! [`crate::index::Directory`]), [`crate::index::ProviderIndex`] (=
//! [`crate::index::ProviderDirectory`]), [`crate::index::RefreshingIndex`] and
//! [`crate::error::IndexError`] name the older `Directory` types, which stay.

use chrono::{DateTime, Utc};
use serde::{Serialize, Serializer};

use crate::daticert::Daticert;
use crate::error::Error;
use crate::index::ProviderRecord;
use crate::message::PecMessage;
use crate::report::VerificationReport;

/// A view as pretty JSON (two-space indent, no trailing newline): the text every door prints.
///
/// Never fails for the views of this module (every key is a string); an empty string would
/// mean a serialiser bug.
pub fn to_json<T: Serialize + ?Sized>(view: &T) -> String {
    serde_json::to_string_pretty(view).unwrap_or_default()
}

/// `pec inspect --json`: the JSON text of a parsed message.
pub fn message_json(m: &PecMessage<'_>) -> String {
    to_json(&MessageView::new(m))
}

/// `pec verify --json`: the JSON text of a verification report.
pub fn report_json(r: &VerificationReport) -> String {
    to_json(&ReportView::new(r))
}

/// `pec index lookup --json`: the JSON text of a providers index record.
pub fn index_record_json(r: &ProviderRecord) -> String {
    to_json(&IndexRecordView::new(r))
}

/// An instant on the wire: RFC 3339, UTC, whole seconds, `Z`.
fn instant<S: Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_str(&t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        None => s.serialize_none(),
    }
}

/// The JSON of `pec inspect --json`: a parsed message. Fields in key order.
#[derive(Clone, Debug, Serialize)]
pub struct MessageView<'a> {
    /// The certification data, or `null`.
    pub daticert: Option<DaticertView<'a>>,
    /// `.hash` parts of a brief delivery receipt.
    pub hash_parts: Vec<HashPartView<'a>>,
    /// The kind the outer `X-Trasporto` / `X-Ricevuta` header claims.
    pub header_kind: Option<&'a str>,
    /// The PEC identifier the message refers to.
    pub identificativo: Option<&'a str>,
    /// The kind (wire value), `null` for ordinary mail.
    pub kind: Option<&'a str>,
    /// The message's own `Message-ID`.
    pub message_id: Option<&'a str>,
    /// The client msgid, with angle brackets.
    pub msgid: Option<&'a str>,
    /// Size and SHA-256 of `postacert.eml`, or `null`.
    pub original: Option<OriginalView>,
    /// `completa`, `breve`, `sintetica`.
    pub receipt_type: Option<&'a str>,
    /// `X-VerificaSicurezza: errore` present.
    pub security_error: bool,
    /// Whether the message is `multipart/signed`.
    pub signed: bool,
    /// `whole`, `inner`, or `null` when unsigned.
    pub signed_scope: Option<&'static str>,
    /// The original subject.
    pub subject: Option<&'a str>,
    /// Header/daticert inconsistencies (not errors).
    pub warnings: &'a [String],
}

impl<'a> MessageView<'a> {
    /// The view of a parsed message (the SHA-256 of `postacert.eml` is computed here).
    pub fn new(m: &'a PecMessage<'_>) -> Self {
        MessageView {
            daticert: m.daticert.as_ref().map(DaticertView::new),
            hash_parts: m
                .hash_parts
                .iter()
                .map(|h| HashPartView { filename: &h.filename, sha1: &h.sha1 })
                .collect(),
            header_kind: m.header_kind.as_ref().map(|k| k.as_str()),
            identificativo: m.identificativo.as_deref(),
            kind: m.kind.as_ref().map(|k| k.as_str()),
            message_id: m.message_id.as_deref(),
            msgid: m.msgid.as_deref(),
            original: m
                .original
                .as_ref()
                .map(|o| OriginalView { sha256: crate::crypto::sha256_hex(o), size: o.len() }),
            receipt_type: m.receipt_type.as_ref().map(|r| r.as_str()),
            security_error: m.security_error,
            signed: m.signed.is_some(),
            signed_scope: m.signed_scope.map(|s| s.as_str()),
            subject: m.subject.as_deref(),
            warnings: &m.warnings,
        }
    }
}

/// `postacert.eml`, described.
#[derive(Clone, Debug, Serialize)]
pub struct OriginalView {
    /// SHA-256, lowercase hex.
    pub sha256: String,
    /// Size in bytes.
    pub size: usize,
}

/// A `.hash` part.
#[derive(Clone, Debug, Serialize)]
pub struct HashPartView<'a> {
    /// The file name, `.hash` included.
    pub filename: &'a str,
    /// The SHA-1 it holds, lowercase hex.
    pub sha1: &'a str,
}

/// `daticert.xml` with its Italian names (the table in the module doc maps them).
#[derive(Clone, Debug, Serialize)]
pub struct DaticertView<'a> {
    /// `dati/consegna`.
    pub consegna: Option<&'a str>,
    /// `dati/data`.
    pub data: DataView<'a>,
    /// `intestazione/destinatari`.
    pub destinatari: Vec<DestinatarioView<'a>>,
    /// `postacert@errore`.
    pub errore: &'a str,
    /// `dati/errore-esteso`.
    pub errore_esteso: Option<&'a str>,
    /// `dati/gestore-emittente`.
    pub gestore_emittente: &'a str,
    /// `dati/identificativo`.
    pub identificativo: &'a str,
    /// `intestazione/mittente`.
    pub mittente: &'a str,
    /// `dati/msgid`.
    pub msgid: Option<&'a str>,
    /// `intestazione/oggetto`.
    pub oggetto: Option<&'a str>,
    /// `dati/ricevuta@tipo`.
    pub ricevuta: Option<&'a str>,
    /// `dati/ricezione`.
    pub ricezione: &'a [String],
    /// `intestazione/risposte`.
    pub risposte: &'a str,
    /// `postacert@tipo`.
    pub tipo: Option<&'a str>,
}

impl<'a> DaticertView<'a> {
    /// The view of parsed certification data.
    pub fn new(d: &'a Daticert) -> Self {
        DaticertView {
            consegna: d.delivery.as_deref(),
            data: DataView { giorno: &d.date.day, ora: &d.date.time, zona: &d.date.zone },
            destinatari: d
                .recipients
                .iter()
                .map(|r| DestinatarioView { address: &r.address, tipo: r.kind.as_str() })
                .collect(),
            errore: d.error.as_str(),
            errore_esteso: d.extended_error.as_deref(),
            gestore_emittente: &d.issuer,
            identificativo: &d.identifier,
            mittente: &d.sender,
            msgid: d.msgid.as_deref(),
            oggetto: d.subject.as_deref(),
            ricevuta: d.receipt_type.as_ref().map(|r| r.as_str()),
            ricezione: &d.received,
            risposte: &d.reply_to,
            tipo: d.kind.as_ref().map(|k| k.as_str()),
        }
    }
}

/// `dati/data`, raw.
#[derive(Clone, Debug, Serialize)]
pub struct DataView<'a> {
    /// `giorno`, `dd/mm/yyyy`.
    pub giorno: &'a str,
    /// `ora`, `hh:mm:ss`.
    pub ora: &'a str,
    /// `@zona`, `[+|-]hhmm`.
    pub zona: &'a str,
}

/// One `destinatari` element.
#[derive(Clone, Debug, Serialize)]
pub struct DestinatarioView<'a> {
    /// The address.
    pub address: &'a str,
    /// `certificato` or `esterno`.
    pub tipo: &'a str,
}

/// The JSON of `pec verify --json`: a verification report. Fields in key order.
#[derive(Clone, Debug, Serialize)]
pub struct ReportView<'a> {
    /// The digest matched only after CRLF canonicalisation.
    pub canonicalized: bool,
    /// Subjects of the path, signer first.
    pub chain: &'a [String],
    /// `sha1`, `sha256`, ...
    pub digest: Option<&'static str>,
    /// The instant certificates were evaluated at.
    #[serde(serialize_with = "instant")]
    pub evaluated_at: Option<DateTime<Utc>>,
    /// The signing provider from the index.
    pub provider: Option<ProviderView<'a>>,
    /// The findings by stable name, sorted.
    pub reasons: Vec<&'static str>,
    /// `good`, `revoked`, `unknown`, `not-checked`.
    pub revocation: &'static str,
    /// `whole`, `inner`, or `null` without a signature.
    pub signed_scope: Option<&'static str>,
    /// The signer certificate.
    pub signer: Option<SignerView<'a>>,
    /// The CMS signingTime.
    #[serde(serialize_with = "instant")]
    pub signing_time: Option<DateTime<Utc>>,
    /// `now`, `given`, `signing-time-claimed`.
    pub time_source: &'static str,
    /// `valid`, `invalid`, `indeterminate`.
    pub verdict: &'static str,
    /// The digest is weak (SHA-1).
    pub weak_digest: bool,
    /// Weak algorithms and keys by stable name, sorted.
    pub weaknesses: Vec<&'static str>,
}

impl<'a> ReportView<'a> {
    /// The view of a report.
    pub fn new(r: &'a VerificationReport) -> Self {
        ReportView {
            canonicalized: r.canonicalized,
            chain: &r.chain,
            digest: r.digest.map(|d| d.name()),
            evaluated_at: r.evaluated_at,
            provider: r
                .provider
                .as_ref()
                .map(|p| ProviderView { mail_receipt: &p.mail_receipt, name: &p.name }),
            reasons: r.reasons.iter().map(|x| x.as_str()).collect(),
            revocation: r.revocation.as_str(),
            signed_scope: r.signed_scope.map(|s| s.as_str()),
            signer: r.signer.as_ref().map(|s| SignerView {
                email: s.email.as_deref(),
                issuer: &s.issuer,
                not_after: s.not_after,
                not_before: s.not_before,
                serial: &s.serial,
                sha1: &s.sha1,
                subject: &s.subject,
            }),
            signing_time: r.signing_time,
            time_source: r.time_source.as_str(),
            verdict: r.verdict.as_str(),
            weak_digest: r.weak_digest,
            weaknesses: r.weaknesses.iter().map(|w| w.as_str()).collect(),
        }
    }
}

/// The signer certificate, described (its DER is not on the wire).
#[derive(Clone, Debug, Serialize)]
pub struct SignerView<'a> {
    /// rfc822Name or emailAddress.
    pub email: Option<&'a str>,
    /// Issuer DN (RFC 4514).
    pub issuer: &'a str,
    /// notAfter.
    #[serde(serialize_with = "instant")]
    pub not_after: Option<DateTime<Utc>>,
    /// notBefore.
    #[serde(serialize_with = "instant")]
    pub not_before: Option<DateTime<Utc>>,
    /// Serial, hex.
    pub serial: &'a str,
    /// SHA-1 of the DER, lowercase hex.
    pub sha1: &'a str,
    /// Subject DN (RFC 4514).
    pub subject: &'a str,
}

/// The signing provider, from the index.
#[derive(Clone, Debug, Serialize)]
pub struct ProviderView<'a> {
    /// `mailReceipt`.
    pub mail_receipt: &'a str,
    /// `providerName`.
    pub name: &'a str,
}

/// The JSON of `pec index lookup --json`: one providers index record (its certificates'
/// DER, `LDIFLocationURL` and `description` are not on the wire). Fields in key order.
#[derive(Clone, Debug, Serialize)]
pub struct IndexRecordView<'a> {
    /// `providerCertificateHash`, lowercase hex.
    pub cert_hashes: &'a [String],
    /// The entry's DN.
    pub dn: &'a str,
    /// `mailReceipt`.
    pub mail_receipt: &'a str,
    /// `managedDomains`, lowercase.
    pub managed_domains: &'a [String],
    /// `providerName`.
    pub name: &'a str,
    /// `providerUnit`.
    pub unit: Option<&'a str>,
}

impl<'a> IndexRecordView<'a> {
    /// The view of an index record.
    pub fn new(r: &'a ProviderRecord) -> Self {
        IndexRecordView {
            cert_hashes: &r.cert_hashes,
            dn: &r.dn,
            mail_receipt: &r.mail_receipt,
            managed_domains: &r.managed_domains,
            name: &r.name,
            unit: r.unit.as_deref(),
        }
    }
}

/// The error object the CLI prints on stderr: `{"error": {"code", "message", "name"}}`.
#[derive(Clone, Debug, Serialize)]
pub struct ErrorView {
    /// The error.
    pub error: ErrorBody,
}

/// The body of [`ErrorView`].
#[derive(Clone, Debug, Serialize)]
pub struct ErrorBody {
    /// The stable number ([`crate::Code`]).
    pub code: u32,
    /// The error's text.
    pub message: String,
    /// The stable name (`malformed-message`, ...).
    pub name: &'static str,
}

impl ErrorView {
    /// The view of an error.
    pub fn new(e: &Error) -> Self {
        ErrorView {
            error: ErrorBody {
                code: e.code().as_u32(),
                message: e.to_string(),
                name: e.code().name(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Serialising through `serde_json::Value` (a sorted map without `preserve_order`) gives
    /// the same text as the views: their fields are declared in key order.
    fn assert_sorted<T: Serialize>(v: &T) {
        let direct = to_json(v);
        let via_value = to_json(&serde_json::to_value(v).unwrap());
        assert_eq!(direct, via_value);
    }

    const ENVELOPE: &[u8] = b"From: \"Per conto di: a@b.it\" <posta-certificata@pec.b.it>\r\n\
X-Trasporto: posta-certificata\r\nMessage-ID: <opec1@pec.b.it>\r\nSubject: POSTA CERTIFICATA: hi\r\n\
Content-Type: text/plain\r\n\r\nbody\r\n";

    #[test]
    fn views_are_in_key_order() {
        let m = PecMessage::parse(ENVELOPE).unwrap();
        assert_sorted(&MessageView::new(&m));
        let xml = br#"<?xml version="1.0" encoding="UTF-8"?>
<postacert tipo="avvenuta-consegna" errore="nessuno"><intestazione><mittente>a@b.it</mittente>
<destinatari tipo="certificato">c@d.it</destinatari><risposte>a@b.it</risposte><oggetto>x</oggetto>
</intestazione><dati><gestore-emittente>G</gestore-emittente><data zona="+0100"><giorno>01/02/2024</giorno>
<ora>10:00:00</ora></data><identificativo>id@x</identificativo><msgid>&lt;m@x&gt;</msgid>
<ricevuta tipo="completa"/><consegna>c@d.it</consegna></dati></postacert>"#;
        let d = crate::daticert::Daticert::parse(xml).unwrap();
        let v = DaticertView::new(&d);
        assert_sorted(&v);
        assert_eq!(v.ricevuta, Some("completa"));
        let r = VerificationReport::from_reasons(vec![crate::report::Reason::NoSignature]);
        assert_sorted(&ReportView::new(&r));
        let mut r = r;
        r.signer = Some(crate::report::SignerSummary {
            subject: "CN=s".into(),
            issuer: "CN=i".into(),
            serial: "01".into(),
            sha1: "ab".into(),
            not_before: Some(DateTime::from_timestamp(0, 0).unwrap()),
            not_after: None,
            email: None,
            der: vec![1],
        });
        r.provider =
            Some(crate::report::ProviderSummary { name: "P".into(), mail_receipt: "m".into() });
        assert_sorted(&ReportView::new(&r));
        assert!(report_json(&r).contains("\"not_before\": \"1970-01-01T00:00:00Z\""));
        let rec = ProviderRecord {
            dn: "cn=x".into(),
            name: "X".into(),
            mail_receipt: "r@x".into(),
            managed_domains: vec!["x.it".into()],
            ..ProviderRecord::default()
        };
        assert_sorted(&IndexRecordView::new(&rec));
        assert_sorted(&ErrorView::new(&Error::from(crate::error::ParseError::Empty)));
    }
}
