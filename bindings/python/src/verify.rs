//! `pec.verify` and `pec.Verifier`: S/MIME verification of a message as it arrived, against
//! trust anchors, CRLs and optionally the providers index (docs/SPEC.md §7.3).

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use pec_core::open::TrustSources;
use pec_core::smime::{
    ProviderSummary, SignerSummary, VerificationReport, VerifyOptions, VerifyTime,
};
use pec_core::verify_message;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};

use crate::errors::{detached, invalid_argument};
use crate::index::Index;
use crate::time::aware_datetime;

/// A certificate, described (the signer of a verified message).
#[pyclass(module = "pec", frozen, name = "CertificateInfo")]
#[derive(Debug)]
pub struct CertificateInfo {
    /// Subject DN (RFC 4514).
    #[pyo3(get)]
    subject: String,
    /// Issuer DN.
    #[pyo3(get)]
    issuer: String,
    /// Serial number, hex.
    #[pyo3(get)]
    serial: String,
    /// SHA-1 of the DER, lowercase hex (`providerCertificateHash`).
    #[pyo3(get)]
    sha1: String,
    /// notBefore (UTC).
    #[pyo3(get)]
    not_before: Option<DateTime<Utc>>,
    /// notAfter (UTC).
    #[pyo3(get)]
    not_after: Option<DateTime<Utc>>,
    /// The rfc822Name (or emailAddress), if any.
    #[pyo3(get)]
    email: Option<String>,
    der: Vec<u8>,
}

#[pymethods]
impl CertificateInfo {
    /// The DER certificate.
    #[getter]
    fn der<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.der)
    }

    fn __repr__(&self) -> String {
        format!("<pec.CertificateInfo subject={:?} sha1={}>", self.subject, self.sha1)
    }
}

impl From<SignerSummary> for CertificateInfo {
    fn from(s: SignerSummary) -> Self {
        CertificateInfo {
            subject: s.subject,
            issuer: s.issuer,
            serial: s.serial,
            sha1: s.sha1,
            not_before: s.not_before,
            not_after: s.not_after,
            email: s.email,
            der: s.der,
        }
    }
}

/// The provider that signed, from the index.
#[pyclass(module = "pec", frozen, name = "ProviderInfo")]
#[derive(Debug)]
pub struct ProviderInfo {
    /// `providerName`.
    #[pyo3(get)]
    name: String,
    /// `mailReceipt`.
    #[pyo3(get)]
    mail_receipt: String,
}

#[pymethods]
impl ProviderInfo {
    fn __repr__(&self) -> String {
        format!("<pec.ProviderInfo name={:?}>", self.name)
    }
}

impl From<ProviderSummary> for ProviderInfo {
    fn from(p: ProviderSummary) -> Self {
        ProviderInfo { name: p.name, mail_receipt: p.mail_receipt }
    }
}

/// The result of verifying a message: never a bare bool.
#[pyclass(module = "pec", frozen, name = "VerificationReport")]
#[derive(Debug)]
pub struct Report {
    /// `"valid"`, `"invalid"` or `"indeterminate"`.
    #[pyo3(get)]
    verdict: &'static str,
    /// The findings (`"bad-signature"`, `"revoked"`...), sorted; empty when valid.
    #[pyo3(get)]
    reasons: Vec<&'static str>,
    /// The stable codes of the findings (same order as `reasons`).
    #[pyo3(get)]
    reason_codes: Vec<u32>,
    /// Digest algorithm of the signature (`"sha1"`, `"sha256"`...).
    #[pyo3(get)]
    digest: Option<&'static str>,
    /// Whether the digest is weak (SHA-1); the signature may still be valid.
    #[pyo3(get)]
    weak_digest: bool,
    /// The CMS signingTime (UTC).
    #[pyo3(get)]
    signing_time: Option<DateTime<Utc>>,
    /// The instant certificates were evaluated at (UTC).
    #[pyo3(get)]
    evaluated_at: Option<DateTime<Utc>>,
    signer: Option<Py<CertificateInfo>>,
    /// Subjects of the certificate path, signer first.
    #[pyo3(get)]
    chain: Vec<String>,
    /// `"good"`, `"revoked"`, `"unknown"` or `"not-checked"`.
    #[pyo3(get)]
    revocation: &'static str,
    provider: Option<Py<ProviderInfo>>,
    /// Whether the digest matched only after CRLF canonicalisation.
    #[pyo3(get)]
    canonicalized: bool,
    /// Where the evaluation instant came from: `"now"`, `"given"` (an explicit `at`) or
    /// `"signing-time-claimed"` (the signer's own signingTime).
    #[pyo3(get)]
    time_source: &'static str,
    /// What the signature covers: `"whole"`, `"inner"` (reason `partially-signed`), or
    /// `None` without a signature.
    #[pyo3(get)]
    signed_scope: Option<&'static str>,
    /// Weak algorithms and keys by stable name (`"sha1-digest"`, `"rsa-key-under-2048"`...),
    /// sorted; empty when none.
    #[pyo3(get)]
    weaknesses: Vec<&'static str>,
    /// The report itself, for `to_json`.
    core: VerificationReport,
}

impl Report {
    fn from_core(py: Python<'_>, r: VerificationReport) -> PyResult<Report> {
        let core = r.clone();
        Ok(Report {
            core,
            verdict: r.verdict.as_str(),
            reasons: r.reasons.iter().map(|x| x.as_str()).collect(),
            reason_codes: r.reasons.iter().map(|x| x.code().as_u32()).collect(),
            digest: r.digest.map(|d| d.name()),
            weak_digest: r.weak_digest,
            signing_time: r.signing_time,
            evaluated_at: r.evaluated_at,
            signer: r.signer.map(|s| Py::new(py, CertificateInfo::from(s))).transpose()?,
            chain: r.chain,
            revocation: r.revocation.as_str(),
            provider: r.provider.map(|p| Py::new(py, ProviderInfo::from(p))).transpose()?,
            canonicalized: r.canonicalized,
            time_source: r.time_source.as_str(),
            signed_scope: r.signed_scope.map(|x| x.as_str()),
            weaknesses: r.weaknesses.iter().map(|w| w.as_str()).collect(),
        })
    }
}

#[pymethods]
impl Report {
    /// The signer certificate, or `None`.
    #[getter]
    fn signer(&self, py: Python<'_>) -> Option<Py<CertificateInfo>> {
        self.signer.as_ref().map(|s| s.clone_ref(py))
    }

    /// The provider from the index, or `None`.
    #[getter]
    fn provider(&self, py: Python<'_>) -> Option<Py<ProviderInfo>> {
        self.provider.as_ref().map(|s| s.clone_ref(py))
    }

    /// The report as the JSON of `pec verify --json` (a `str`): the wire view every door
    /// prints (`pec_core::view`; instants RFC 3339 UTC, keys sorted).
    fn to_json(&self) -> String {
        pec_core::view::report_json(&self.core)
    }

    /// `json.loads(self.to_json())`: the same view as a `dict`.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        py.import("json")?.call_method1("loads", (self.to_json(),))
    }

    fn __repr__(&self) -> String {
        format!("<pec.VerificationReport verdict={} reasons={:?}>", self.verdict, self.reasons)
    }
}

/// Trust anchors, CRLs, index and evaluation time, loaded once and reused: verifying many
/// messages (from many threads) with one `Verifier` does not reload `/etc/ssl/certs`.
#[pyclass(module = "pec", frozen, name = "Verifier")]
#[derive(Debug)]
pub struct Verifier {
    opts: VerifyOptions,
}

fn parse_at(at: Option<&Bound<'_, PyAny>>) -> PyResult<VerifyTime> {
    let Some(at) = at else { return Ok(VerifyTime::Now) };
    if at.is_none() {
        return Ok(VerifyTime::Now);
    }
    if let Ok(s) = at.cast::<PyString>() {
        return match s.to_cow()?.as_ref() {
            "signing-time" => Ok(VerifyTime::SigningTime),
            "now" => Ok(VerifyTime::Now),
            other => Err(invalid_argument(
                at.py(),
                format!(
                    "at must be a timezone-aware datetime, \"signing-time\" or \"now\", not {other:?}"
                ),
            )),
        };
    }
    Ok(VerifyTime::At(aware_datetime(at)?.with_timezone(&Utc)))
}

/// The trust-anchor and CRL options of `Verifier` and `Index.from_ldif*`, opened by the
/// core's front-door services ([`pec_core::open`]).
pub(crate) fn trust_sources(
    ca_file: Option<PathBuf>,
    ca_path: Option<PathBuf>,
    crl_files: Vec<PathBuf>,
) -> TrustSources {
    TrustSources {
        ca_files: ca_file.into_iter().collect(),
        ca_paths: ca_path.into_iter().collect(),
        crl_files,
        fetch_crls: false,
    }
}

#[pymethods]
impl Verifier {
    /// Loads trust anchors (`ca_file`: PEM bundle or DER; `ca_path`: a directory such as
    /// `/etc/ssl/certs`), CRL files (PEM or DER), an optional `pec.Index` used as trust list,
    /// and the evaluation time `at` (a timezone-aware `datetime`, `"signing-time"`, or `None`
    /// for now). `now` (a timezone-aware `datetime`, default the system clock) is the
    /// verifier's clock: the instant `at=None` means and what a signingTime claim is compared
    /// with (`signing-time-in-future`), for a service on its own clock (an engine's manual
    /// clock in tests).
    #[new]
    #[pyo3(signature = (ca_file=None, ca_path=None, crl_files=Vec::new(), index=None, at=None, now=None))]
    fn new(
        py: Python<'_>,
        ca_file: Option<PathBuf>,
        ca_path: Option<PathBuf>,
        crl_files: Vec<PathBuf>,
        index: Option<PyRef<'_, Index>>,
        at: Option<&Bound<'_, PyAny>>,
        now: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let time = parse_at(at)?;
        let now = match now {
            Some(n) if !n.is_none() => Some(aware_datetime(n)?.with_timezone(&Utc)),
            _ => None,
        };
        let directory = index.map(|i| i.directory());
        let sources = trust_sources(ca_file, ca_path, crl_files);
        let opened = detached(py, move || sources.verify_options())?;
        Ok(Verifier { opts: VerifyOptions { index: directory, time, now, ..opened } })
    }

    /// Verifies a signed message given as `bytes`, with the GIL released; returns a
    /// `VerificationReport` (a finding is a reason, not an exception).
    fn verify(&self, py: Python<'_>, data: &Bound<'_, PyBytes>) -> PyResult<Report> {
        let raw = data.as_bytes();
        let opts = &self.opts;
        let report = detached(py, || verify_message(raw, opts))?;
        Report::from_core(py, report)
    }

    fn __repr__(&self) -> String {
        format!("<pec.Verifier {:?}>", self.opts)
    }
}
