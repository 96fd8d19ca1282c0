//! `pec.parse` and the `Message` / `Daticert` objects.
//!
//! A `Message` keeps a reference to the caller's (immutable) `bytes` and offsets into it:
//! nothing signed is copied or re-serialised, and `original` / `signed.content` are sliced
//! from the bytes as they arrived.

use std::ops::Range;
use std::sync::OnceLock;

use pec_core::daticert::Daticert as CoreDaticert;
use pec_core::headers::decode_unstructured;
use pec_core::limits::Limits;
use pec_core::message::{PecMessage, SIGNATURE_NOT_BASE64, SignaturePart};
use pec_core::mime::Headers;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::errors::{Failure, guard, maybe_detached};
use crate::time::daticert_instant;

/// Messages at least this large are parsed with the GIL released.
const DETACH_THRESHOLD: usize = 64 * 1024;

/// Bytes that are either a range of the input or decoded (transfer-encoded parts).
#[derive(Clone, Debug)]
enum Slice {
    Input(Range<usize>),
    Owned(Vec<u8>),
}

/// The range of `part` inside `whole`, when `part` is a sub-slice of it (pointer arithmetic
/// only; no unsafe code).
fn range_in(whole: &[u8], part: &[u8]) -> Option<Range<usize>> {
    let start = (part.as_ptr() as usize).checked_sub(whole.as_ptr() as usize)?;
    let end = start.checked_add(part.len())?;
    (end <= whole.len()).then_some(start..end)
}

fn slice_of(whole: &[u8], part: &[u8]) -> Slice {
    match range_in(whole, part) {
        Some(r) => Slice::Input(r),
        None => Slice::Owned(part.to_vec()),
    }
}

/// The certification data (`daticert.xml`, RFC 6109 §4.4), with the Italian element names.
#[pyclass(module = "pec", frozen, name = "Daticert")]
#[derive(Debug)]
pub struct Daticert {
    /// `postacert@tipo` (`"accettazione"`, `"posta-certificata"`...), or `None`.
    #[pyo3(get)]
    tipo: Option<String>,
    /// `postacert@errore` (`"nessuno"` when absent).
    #[pyo3(get)]
    errore: String,
    /// `intestazione/mittente`.
    #[pyo3(get)]
    mittente: String,
    /// `intestazione/destinatari`: `[(address, tipo)]`, tipo `"certificato"` or `"esterno"`.
    #[pyo3(get)]
    destinatari: Vec<(String, String)>,
    /// `intestazione/risposte`.
    #[pyo3(get)]
    risposte: String,
    /// `intestazione/oggetto`.
    #[pyo3(get)]
    oggetto: Option<String>,
    /// `dati/gestore-emittente`.
    #[pyo3(get)]
    gestore_emittente: String,
    /// `dati/data/giorno` (`dd/mm/yyyy`), raw.
    #[pyo3(get)]
    giorno: String,
    /// `dati/data/ora` (`hh:mm:ss`), raw.
    #[pyo3(get)]
    ora: String,
    /// `dati/data@zona` (`+hhmm`), raw.
    #[pyo3(get)]
    zona: String,
    /// `dati/identificativo`.
    #[pyo3(get)]
    identificativo: String,
    /// `dati/msgid`.
    #[pyo3(get)]
    msgid: Option<String>,
    /// `dati/ricevuta@tipo` (`"completa"`, `"breve"`, `"sintetica"`).
    #[pyo3(get)]
    ricevuta: Option<String>,
    /// `dati/consegna`.
    #[pyo3(get)]
    consegna: Option<String>,
    /// `dati/ricezione`.
    #[pyo3(get)]
    ricezione: Vec<String>,
    /// `dati/errore-esteso`.
    #[pyo3(get)]
    errore_esteso: Option<String>,
}

impl Daticert {
    /// Takes the core values over (moved, not copied).
    fn from_core(d: CoreDaticert) -> Self {
        Daticert {
            tipo: d.kind.as_ref().map(|k| k.as_str().to_string()),
            errore: d.error.as_str().to_string(),
            mittente: d.sender,
            destinatari: d
                .recipients
                .into_iter()
                .map(|r| {
                    let kind = r.kind.as_str().to_string();
                    (r.address, kind)
                })
                .collect(),
            risposte: d.reply_to,
            oggetto: d.subject,
            gestore_emittente: d.issuer,
            giorno: d.date.day,
            ora: d.date.time,
            zona: d.date.zone,
            identificativo: d.identifier,
            msgid: d.msgid,
            ricevuta: d.receipt_type.as_ref().map(|r| r.as_str().to_string()),
            consegna: d.delivery,
            ricezione: d.received,
            errore_esteso: d.extended_error,
        }
    }
}

#[pymethods]
impl Daticert {
    /// `dati/data` as a timezone-aware `datetime` (`None` when the three raw fields do not
    /// form a valid date).
    #[getter]
    fn data(&self) -> Option<chrono::DateTime<chrono::FixedOffset>> {
        daticert_instant(&self.giorno, &self.ora, &self.zona)
    }

    fn __repr__(&self) -> String {
        format!(
            "<pec.Daticert tipo={:?} identificativo={:?} mittente={:?}>",
            self.tipo.as_deref().unwrap_or(""),
            self.identificativo,
            self.mittente
        )
    }
}

/// The two halves of a `multipart/signed` message.
#[pyclass(module = "pec", frozen, name = "SignedParts")]
#[derive(Debug)]
pub struct SignedParts {
    raw: Py<PyBytes>,
    content: Range<usize>,
    /// The signature part as it arrived: decoded on first use (`smime.p7s` is several KiB of
    /// base64; most callers of `pec.parse` never look at it).
    signature_part: Option<SignaturePartOwned>,
    /// The decoded signature; `None` inside when the part is not valid in its encoding.
    signature: OnceLock<Option<Vec<u8>>>,
    /// The `protocol` parameter.
    #[pyo3(get)]
    protocol: String,
    /// The `micalg` parameter.
    #[pyo3(get)]
    micalg: Option<String>,
}

/// The signature part without the GIL: its body (a range of the input) and its
/// `Content-Transfer-Encoding`.
#[derive(Debug)]
struct SignaturePartOwned(Slice, String);

impl SignedParts {
    /// The decoded signature (decoded once), `None` when the part is not valid in its
    /// transfer encoding (then the parse warns `SIGNATURE_NOT_BASE64`).
    fn decoded(&self, py: Python<'_>) -> Option<&[u8]> {
        self.signature
            .get_or_init(|| {
                let SignaturePartOwned(body, encoding) = self.signature_part.as_ref()?;
                let raw = self.raw.bind(py).as_bytes();
                let body = match body {
                    Slice::Input(r) => raw.get(r.clone()).unwrap_or_default(),
                    Slice::Owned(v) => v,
                };
                SignaturePart { body, encoding: encoding.clone() }.decode()
            })
            .as_deref()
    }

    /// Whether a signature part is present and not valid in its transfer encoding.
    fn signature_invalid(&self, py: Python<'_>) -> bool {
        self.signature_part.is_some() && self.decoded(py).is_none()
    }
}

#[pymethods]
impl SignedParts {
    /// The exact signed bytes (the first part, without the CRLF before the boundary).
    #[getter]
    fn content<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        let raw = self.raw.bind(py).as_bytes();
        PyBytes::new(py, raw.get(self.content.clone()).unwrap_or_default())
    }

    /// The DER of the detached CMS signature.
    #[getter]
    fn signature<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, self.decoded(py).unwrap_or_default())
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "<pec.SignedParts protocol={:?} micalg={:?} content={} bytes signature={} bytes>",
            self.protocol,
            self.micalg,
            self.content.len(),
            self.decoded(py).unwrap_or_default().len()
        )
    }
}

/// A parsed message: a PEC envelope or notification, or ordinary mail (`kind` is `None`).
#[pyclass(module = "pec", frozen, name = "Message")]
#[derive(Debug)]
pub struct Message {
    raw: Py<PyBytes>,
    body_start: usize,
    kind: Option<String>,
    header_kind: Option<String>,
    signed_scope: Option<&'static str>,
    receipt_type: Option<String>,
    security_error: bool,
    message_id: Option<String>,
    identificativo: Option<String>,
    msgid: Option<String>,
    subject: Option<String>,
    from: Option<String>,
    daticert: Option<Py<Daticert>>,
    original: Option<Slice>,
    hash_parts: Vec<(String, String)>,
    signed: Option<Py<SignedParts>>,
    warnings: Vec<String>,
}

/// The `multipart/signed` halves without the GIL: content range, signature part, protocol,
/// micalg.
struct SignedOwned(Range<usize>, Option<SignaturePartOwned>, String, Option<String>);

/// What the parse computes without the GIL (owned values only).
struct Parsed {
    body_start: usize,
    kind: Option<String>,
    header_kind: Option<String>,
    signed_scope: Option<&'static str>,
    receipt_type: Option<String>,
    security_error: bool,
    message_id: Option<String>,
    identificativo: Option<String>,
    msgid: Option<String>,
    subject: Option<String>,
    from: Option<String>,
    daticert: Option<Daticert>,
    original: Option<Slice>,
    hash_parts: Vec<(String, String)>,
    signed: Option<SignedOwned>,
    warnings: Vec<String>,
}

fn parse_owned(raw: &[u8]) -> pec_core::Result<Parsed> {
    let (m, signature_part) = PecMessage::parse_deferring_signature(raw, &Limits::default())?;
    Ok(Parsed {
        body_start: m.headers.body_start,
        kind: m.kind.as_ref().map(|k| k.as_str().to_string()),
        header_kind: m.header_kind.as_ref().map(|k| k.as_str().to_string()),
        signed_scope: m.signed_scope.map(|x| x.as_str()),
        receipt_type: m.receipt_type.as_ref().map(|r| r.as_str().to_string()),
        security_error: m.security_error,
        message_id: m.message_id,
        identificativo: m.identificativo,
        msgid: m.msgid,
        subject: m.subject,
        from: m.from,
        daticert: m.daticert.map(Daticert::from_core),
        original: m.original.as_deref().map(|o| slice_of(raw, o)),
        hash_parts: m.hash_parts.into_iter().map(|h| (h.filename, h.sha1)).collect(),
        signed: m.signed.map(|s| {
            let content = range_in(raw, s.content).unwrap_or(0..0);
            let part =
                signature_part.map(|p| SignaturePartOwned(slice_of(raw, p.body), p.encoding));
            SignedOwned(content, part, s.protocol, s.micalg)
        }),
        warnings: m.warnings,
    })
}

impl Message {
    /// Parses `data` (immutable `bytes`), releasing the GIL for large messages.
    pub fn parse(py: Python<'_>, data: &Bound<'_, PyBytes>) -> PyResult<Message> {
        let raw = data.as_bytes();
        let parsed = maybe_detached(py, raw.len() >= DETACH_THRESHOLD, || parse_owned(raw))?;
        guard(py, || {
            let raw_ref: Py<PyBytes> = data.clone().unbind();
            let daticert = match parsed.daticert {
                Some(d) => Some(Py::new(py, d)?),
                None => None,
            };
            let signed = match parsed.signed {
                Some(SignedOwned(content, signature_part, protocol, micalg)) => Some(Py::new(
                    py,
                    SignedParts {
                        raw: raw_ref.clone_ref(py),
                        content,
                        signature_part,
                        signature: OnceLock::new(),
                        protocol,
                        micalg,
                    },
                )?),
                None => None,
            };
            Ok::<_, Failure>(Message {
                raw: raw_ref,
                body_start: parsed.body_start,
                kind: parsed.kind,
                header_kind: parsed.header_kind,
                signed_scope: parsed.signed_scope,
                receipt_type: parsed.receipt_type,
                security_error: parsed.security_error,
                message_id: parsed.message_id,
                identificativo: parsed.identificativo,
                msgid: parsed.msgid,
                subject: parsed.subject,
                from: parsed.from,
                daticert,
                original: parsed.original,
                hash_parts: parsed.hash_parts,
                signed,
                warnings: parsed.warnings,
            })
        })
    }

    fn with_headers<T>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&Headers<'_>) -> T,
    ) -> PyResult<Option<T>> {
        let raw = self.raw.bind(py).as_bytes();
        let block = raw.get(..self.body_start).unwrap_or(raw);
        guard(py, || Ok(Headers::parse(block, &Limits::default()).ok().map(|h| f(&h))))
    }
}

#[pymethods]
impl Message {
    /// The kind: `X-Ricevuta` or `X-Trasporto` (`"accettazione"`, `"posta-certificata"`...);
    /// `None` for ordinary mail.
    #[getter]
    fn kind(&self) -> Option<&str> {
        self.kind.as_deref()
    }

    /// The kind the outer `X-Trasporto` / `X-Ricevuta` header claims (unsigned; where a
    /// signed daticert is present, `kind` follows daticert `tipo`); `None` when absent.
    #[getter]
    fn header_kind(&self) -> Option<&str> {
        self.header_kind.as_deref()
    }

    /// What the signature covers: `"whole"` (the signed entity is the top-level entity),
    /// `"inner"` (unsigned MIME wraps it), or `None` when the message is not signed.
    #[getter]
    fn signed_scope(&self) -> Option<&'static str> {
        self.signed_scope
    }

    /// `X-TipoRicevuta` (else daticert `<ricevuta tipo>`): `"completa"`, `"breve"`,
    /// `"sintetica"`.
    #[getter]
    fn receipt_type(&self) -> Option<&str> {
        self.receipt_type.as_deref()
    }

    /// Whether `X-VerificaSicurezza: errore` is present (virus notices).
    #[getter]
    fn security_error(&self) -> bool {
        self.security_error
    }

    /// The PEC identifier this message refers to, without angle brackets.
    #[getter]
    fn identificativo(&self) -> Option<&str> {
        self.identificativo.as_deref()
    }

    /// The client msgid (`X-Riferimento-Message-ID`, else daticert `<msgid>`), with angle
    /// brackets as on the wire.
    #[getter]
    fn msgid(&self) -> Option<&str> {
        self.msgid.as_deref()
    }

    /// The original subject (PEC prefix removed), decoded.
    #[getter]
    fn subject(&self) -> Option<&str> {
        self.subject.as_deref()
    }

    /// This message's own `Message-ID`, without angle brackets.
    #[getter]
    fn message_id(&self) -> Option<&str> {
        self.message_id.as_deref()
    }

    /// The decoded `From:` header.
    #[getter]
    fn from_(&self) -> Option<&str> {
        self.from.as_deref()
    }

    /// The certification data, or `None`.
    #[getter]
    fn daticert(&self, py: Python<'_>) -> Option<Py<Daticert>> {
        self.daticert.as_ref().map(|d| d.clone_ref(py))
    }

    /// The exact bytes of `postacert.eml`, or `None`.
    #[getter]
    fn original<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyBytes>> {
        self.original.as_ref().map(|s| match s {
            Slice::Input(r) => {
                let raw = self.raw.bind(py).as_bytes();
                PyBytes::new(py, raw.get(r.clone()).unwrap_or_default())
            }
            Slice::Owned(v) => PyBytes::new(py, v),
        })
    }

    /// The `multipart/signed` halves, or `None` when the message is not signed.
    #[getter]
    fn signed(&self, py: Python<'_>) -> Option<Py<SignedParts>> {
        self.signed.as_ref().map(|s| s.clone_ref(py))
    }

    /// `.hash` parts of a brief delivery receipt: `[(filename, sha1_hex)]`.
    #[getter]
    fn hash_parts(&self) -> Vec<(String, String)> {
        self.hash_parts.clone()
    }

    /// Inconsistencies found while cross-checking headers with daticert (not errors).
    #[getter]
    fn warnings(&self, py: Python<'_>) -> Vec<String> {
        // the signature is decoded lazily: its warning comes first, as in the core parse
        let invalid = self.signed.as_ref().is_some_and(|s| s.get().signature_invalid(py));
        let mut w = Vec::with_capacity(self.warnings.len() + usize::from(invalid));
        if invalid {
            w.push(SIGNATURE_NOT_BASE64.to_string());
        }
        w.extend(self.warnings.iter().cloned());
        w
    }

    /// The bytes the message was parsed from.
    #[getter]
    fn raw(&self, py: Python<'_>) -> Py<PyBytes> {
        self.raw.clone_ref(py)
    }

    /// The message as the JSON of `pec inspect --json` (a `str`): the wire view every door
    /// prints (`pec_core::view`; daticert under its Italian names, keys sorted). The bytes
    /// are parsed again for it.
    fn to_json(&self, py: Python<'_>) -> PyResult<String> {
        let raw = self.raw.bind(py).as_bytes();
        maybe_detached(py, raw.len() >= DETACH_THRESHOLD, || {
            Ok(pec_core::view::message_json(&PecMessage::parse(raw)?))
        })
    }

    /// `json.loads(self.to_json())`: the same view as a `dict`.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let text = self.to_json(py)?;
        py.import("json")?.call_method1("loads", (text,))
    }

    /// Whether this is a PEC system message (an envelope or a notification).
    fn is_pec(&self) -> bool {
        self.kind.is_some()
    }

    /// The first outer header field `name` (case-insensitive), unfolded and RFC 2047-decoded;
    /// `None` when absent.
    fn header(&self, py: Python<'_>, name: &str) -> PyResult<Option<String>> {
        Ok(self
            .with_headers(py, |h| h.get(name).map(|f| decode_unstructured(f.raw_value)))?
            .flatten())
    }

    /// Every outer header field, in order: `[(name, decoded value)]`.
    fn headers(&self, py: Python<'_>) -> PyResult<Vec<(String, String)>> {
        Ok(self
            .with_headers(py, |h| {
                h.fields
                    .iter()
                    .map(|f| (f.name.to_string(), decode_unstructured(f.raw_value)))
                    .collect()
            })?
            .unwrap_or_default())
    }

    fn __repr__(&self) -> String {
        format!(
            "<pec.Message kind={:?} identificativo={:?} subject={:?}>",
            self.kind.as_deref().unwrap_or("None"),
            self.identificativo.as_deref().unwrap_or(""),
            self.subject.as_deref().unwrap_or("")
        )
    }
}

/// Parses a message given as `bytes`; see `pec.parse`.
#[pyfunction]
pub fn parse(py: Python<'_>, data: &Bound<'_, PyBytes>) -> PyResult<Message> {
    Message::parse(py, data)
}
