//! RFC 3161 time stamps: the request, the response and the token's verification.
//!
//! The ASN.1 types (TimeStampReq, MessageImprint, TimeStampResp, PKIStatusInfo, TSTInfo,
//! Accuracy) are defined here with der 0.8 derives (x509-tsp is on der 0.7). A token is a CMS
//! SignedData whose eContentType is id-ct-TSTInfo (1.2.840.113549.1.9.16.1.4); it is verified
//! with the crate's CMS code ([`crate::smime::verify_attached_for`]) for a signer certificate
//! with the timeStamping extended key usage ([`Purpose::TimeStamping`]), at the token's own
//! `genTime`, and its message imprint and nonce are compared with the request's.
//!
//! [`request_http`] (cargo feature `crl-http`) posts a request to a time-stamping authority
//! over HTTP(S) with the same client as the CRL fetcher.

use chrono::{DateTime, NaiveDate, Utc};
use const_oid::ObjectIdentifier;
use der::asn1::{BitString, Int, OctetString};
use der::{Any, Decode, Encode, Sequence, Tagged};
use spki::AlgorithmIdentifierOwned;
use x509_cert::ext::Extensions;

use crate::chain::Purpose;
use crate::error::{Error, Result, SignatureError};
use crate::report::VerificationReport;
use crate::smime::VerifyOptions;

/// id-ct-TSTInfo (RFC 3161 §2.4.2).
pub const ID_CT_TST_INFO: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4");
/// id-sha256.
const ID_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");

/// Largest response accepted from a TSA (1 MiB; a token with its certificate is a few KiB).
pub const MAX_RESPONSE_SIZE: usize = 1024 * 1024;

/// `MessageImprint ::= SEQUENCE { hashAlgorithm AlgorithmIdentifier, hashedMessage OCTET STRING }`.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct MessageImprint {
    /// The digest algorithm.
    pub hash_algorithm: AlgorithmIdentifierOwned,
    /// The digest.
    pub hashed_message: OctetString,
}

/// `TimeStampReq` (RFC 3161 §2.4.1).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct TimeStampReq {
    /// `v1` (1).
    pub version: u8,
    /// What is stamped.
    pub message_imprint: MessageImprint,
    /// The TSA policy asked for.
    #[asn1(optional = "true")]
    pub req_policy: Option<ObjectIdentifier>,
    /// A nonce the response must repeat.
    #[asn1(optional = "true")]
    pub nonce: Option<Int>,
    /// Whether the TSA's certificate must be in the token.
    #[asn1(default = "Default::default")]
    pub cert_req: bool,
    /// Extensions.
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT", optional = "true")]
    pub extensions: Option<Extensions>,
}

/// `PKIStatusInfo` (RFC 3161 §2.4.2).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct PkiStatusInfo {
    /// 0 granted, 1 grantedWithMods, 2 rejection, 3 waiting, 4 revocationWarning,
    /// 5 revocationNotification.
    pub status: u8,
    /// Free text.
    #[asn1(optional = "true")]
    pub status_string: Option<Vec<String>>,
    /// Why it failed.
    #[asn1(optional = "true")]
    pub fail_info: Option<BitString>,
}

/// `TimeStampResp` (RFC 3161 §2.4.2); the token is kept as received.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct TimeStampResp {
    /// The status.
    pub status: PkiStatusInfo,
    /// The token: a ContentInfo of SignedData over a TSTInfo.
    #[asn1(optional = "true")]
    pub time_stamp_token: Option<Any>,
}

/// `Accuracy` (RFC 3161 §2.4.2).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct Accuracy {
    /// Seconds.
    #[asn1(optional = "true")]
    pub seconds: Option<u32>,
    /// Milliseconds (1..999).
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT", optional = "true")]
    pub millis: Option<u16>,
    /// Microseconds (1..999).
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    pub micros: Option<u16>,
}

/// `TSTInfo` (RFC 3161 §2.4.2). `genTime` is kept as the raw GeneralizedTime (TSAs write
/// fractions of a second, which der's GeneralizedTime refuses); see [`TstInfo::gen_time`].
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct TstInfo {
    /// `v1` (1).
    pub version: u8,
    /// The TSA's policy.
    pub policy: ObjectIdentifier,
    /// What was stamped.
    pub message_imprint: MessageImprint,
    /// The token's serial number.
    pub serial_number: Int,
    /// The time (GeneralizedTime, possibly with a fraction).
    pub gen_time: Any,
    /// The accuracy.
    #[asn1(optional = "true")]
    pub accuracy: Option<Accuracy>,
    /// Ordering.
    #[asn1(default = "Default::default")]
    pub ordering: bool,
    /// The request's nonce.
    #[asn1(optional = "true")]
    pub nonce: Option<Int>,
    /// The TSA's name ([0] EXPLICIT GeneralName, kept raw).
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    pub tsa: Option<Any>,
    /// Extensions.
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    pub extensions: Option<Extensions>,
}

fn malformed(what: &str, e: impl std::fmt::Display) -> Error {
    SignatureError::Malformed(format!("{what}: {e}")).into()
}

impl TstInfo {
    /// `genTime` as an instant (fractions of a second dropped).
    ///
    /// # Errors
    /// [`SignatureError::Malformed`] when it is not a GeneralizedTime `YYYYMMDDhhmmss[.f]Z`.
    pub fn gen_time(&self) -> Result<DateTime<Utc>> {
        if self.gen_time.tag() != der::Tag::GeneralizedTime {
            return Err(malformed("TSTInfo genTime", "not a GeneralizedTime"));
        }
        let v = self.gen_time.value();
        let bad = || malformed("TSTInfo genTime", String::from_utf8_lossy(v));
        if v.len() < 15 || v.last() != Some(&b'Z') || !v[..14].iter().all(u8::is_ascii_digit) {
            return Err(bad());
        }
        let frac = &v[14..v.len() - 1];
        if !frac.is_empty()
            && (frac[0] != b'.' || frac.len() < 2 || !frac[1..].iter().all(u8::is_ascii_digit))
        {
            return Err(bad());
        }
        let n = |a: usize, b: usize| -> u32 {
            v[a..b].iter().fold(0, |acc, d| acc * 10 + u32::from(d - b'0'))
        };
        NaiveDate::from_ymd_opt(i32::try_from(n(0, 4)).unwrap_or(0), n(4, 6), n(6, 8))
            .and_then(|d| d.and_hms_opt(n(8, 10), n(10, 12), n(12, 14)))
            .map(|t| t.and_utc())
            .ok_or_else(bad)
    }
}

/// A positive INTEGER from big-endian bytes.
fn positive_int(bytes: &[u8]) -> Result<Int> {
    let mut v = Vec::with_capacity(bytes.len() + 1);
    if bytes.first().is_some_and(|b| b & 0x80 != 0) {
        v.push(0);
    }
    v.extend_from_slice(bytes);
    Int::new(&v).map_err(|e| Error::InvalidArgument(format!("nonce: {e}")))
}

impl TimeStampReq {
    /// A request for the SHA-256 digest `sha256` with `certReq` true and `nonce`
    /// (big-endian, taken as a positive INTEGER).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when `sha256` is not 32 bytes.
    pub fn sha256(sha256: &[u8], nonce: &[u8]) -> Result<TimeStampReq> {
        if sha256.len() != 32 {
            return Err(Error::InvalidArgument("a SHA-256 digest is 32 bytes".into()));
        }
        Ok(TimeStampReq {
            version: 1,
            message_imprint: MessageImprint {
                hash_algorithm: AlgorithmIdentifierOwned {
                    oid: ID_SHA256,
                    parameters: Some(Any::null()),
                },
                hashed_message: OctetString::new(sha256)
                    .map_err(|e| Error::InvalidArgument(e.to_string()))?,
            },
            req_policy: None,
            nonce: Some(positive_int(nonce)?),
            cert_req: true,
            extensions: None,
        })
    }

    /// The DER encoding (what is posted, `application/timestamp-query`).
    ///
    /// # Errors
    /// [`SignatureError::Malformed`] (cannot happen for a request built here).
    pub fn to_der_bytes(&self) -> Result<Vec<u8>> {
        self.to_der().map_err(|e| malformed("TimeStampReq", e))
    }
}

/// A fresh random nonce (8 bytes).
///
/// # Errors
/// [`Error::InvalidArgument`] when the system's random source fails.
pub fn random_nonce() -> Result<[u8; 8]> {
    let mut n = [0u8; 8];
    getrandom::fill(&mut n).map_err(|e| Error::InvalidArgument(format!("random: {e}")))?;
    n[0] &= 0x7f;
    if n[0] == 0 {
        n[0] = 1;
    }
    Ok(n)
}

/// The token of a DER `TimeStampResp`, when the TSA granted it (status 0 or 1).
///
/// # Errors
/// [`SignatureError::Malformed`] for a response that does not decode, a refusal (with the
/// TSA's status text) or a granted response without a token.
pub fn token_from_response(der: &[u8]) -> Result<Vec<u8>> {
    let resp = TimeStampResp::from_der(der).map_err(|e| malformed("TimeStampResp", e))?;
    if resp.status.status > 1 {
        let text = resp.status.status_string.unwrap_or_default().join("; ");
        return Err(malformed(
            "time stamp refused",
            format!("status {} {text}", resp.status.status),
        ));
    }
    let token = resp.time_stamp_token.ok_or_else(|| malformed("TimeStampResp", "no token"))?;
    token.to_der().map_err(|e| malformed("TimeStampResp token", e))
}

/// What a token says and whether it holds.
#[derive(Clone, Debug)]
pub struct TimeStamp {
    /// The decoded TSTInfo.
    pub info: TstInfo,
    /// `genTime`.
    pub time: DateTime<Utc>,
    /// The CMS verification at `genTime` (signature, path to the given anchors for a
    /// timeStamping certificate, revocation when CRLs are given).
    pub report: VerificationReport,
    /// What does not match: `not-tstinfo`, `imprint-mismatch`, `nonce-mismatch`,
    /// `not-sha256`.
    pub problems: Vec<&'static str>,
}

impl TimeStamp {
    /// The token verifies and matches the data and the nonce.
    pub fn is_valid(&self) -> bool {
        self.problems.is_empty() && self.report.verdict == crate::report::Verdict::Valid
    }

    /// The serial number, hex.
    pub fn serial_hex(&self) -> String {
        self.info.serial_number.as_bytes().iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// The TSTInfo carried by a token, without verifying it.
///
/// # Errors
/// [`SignatureError::Malformed`] when the token is not a SignedData over a TSTInfo.
pub fn token_info(token: &[u8]) -> Result<TstInfo> {
    use cms::content_info::ContentInfo;
    use cms::signed_data::SignedData;
    let ci = ContentInfo::from_der(token).map_err(|e| malformed("time-stamp token", e))?;
    let sd: SignedData =
        ci.content.decode_as().map_err(|e| malformed("time-stamp token SignedData", e))?;
    if sd.encap_content_info.econtent_type != ID_CT_TST_INFO {
        return Err(malformed("time-stamp token", "eContentType is not id-ct-TSTInfo"));
    }
    let econtent = sd
        .encap_content_info
        .econtent
        .ok_or_else(|| malformed("time-stamp token", "no TSTInfo"))?;
    let octets: OctetString =
        econtent.decode_as().map_err(|e| malformed("time-stamp token eContent", e))?;
    TstInfo::from_der(octets.as_bytes()).map_err(|e| malformed("TSTInfo", e))
}

/// Verifies `token` (DER ContentInfo) for the SHA-256 digest `sha256` of the stamped data and,
/// when given, the request's `nonce`: eContentType id-ct-TSTInfo, the CMS signature, the
/// signer's path to `opts.trust` at `genTime` for a certificate with the timeStamping extended
/// key usage, imprint and nonce equal.
///
/// # Errors
/// [`SignatureError::Malformed`] when the token does not decode; a token that decodes but
/// does not hold is an `Ok` with [`TimeStamp::is_valid`] false.
pub fn verify_token(
    token: &[u8],
    sha256: &[u8],
    nonce: Option<&[u8]>,
    opts: &VerifyOptions,
) -> Result<TimeStamp> {
    let info = token_info(token)?;
    let time = info.gen_time()?;
    let mut problems = Vec::new();
    if info.message_imprint.hash_algorithm.oid != ID_SHA256 {
        problems.push("not-sha256");
    }
    if info.message_imprint.hashed_message.as_bytes() != sha256 {
        problems.push("imprint-mismatch");
    }
    if let Some(n) = nonce {
        let want = positive_int(n)?;
        if info.nonce.as_ref() != Some(&want) {
            problems.push("nonce-mismatch");
        }
    }
    let opts = VerifyOptions { time: crate::smime::VerifyTime::At(time), ..opts.clone() };
    let (report, content) = crate::smime::verify_attached_for(token, &opts, Purpose::TimeStamping);
    // the signed content is the TSTInfo just decoded (the eContent the signature covers)
    let signed = content.and_then(|c| TstInfo::from_der(&c).ok());
    if signed.as_ref() != Some(&info) {
        problems.push("not-tstinfo");
    }
    Ok(TimeStamp { info, time, report, problems })
}

/// Posts `request` (DER) to the TSA at `url` (`http://` or `https://`) and returns its
/// `TimeStampResp` (DER, as received) once [`token_from_response`] finds a granted token in it
/// (cargo feature `crl-http`: the CRL fetcher's client).
///
/// # Errors
/// [`Error::Io`] when the TSA cannot be reached or answers other than 200; as
/// [`token_from_response`] for its answer.
#[cfg(feature = "crl-http")]
pub fn request_http(url: &str, request: &[u8], timeout: std::time::Duration) -> Result<Vec<u8>> {
    let err = |m: String| Error::Io { path: url.to_owned(), message: m };
    let scheme = url.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
    if !matches!(scheme.as_deref(), Some("http" | "https")) {
        return Err(err("unsupported URL (http:// or https://)".into()));
    }
    let agent = crate::revocation::http_agent(timeout, 3, "application/timestamp-reply");
    let mut response = agent
        .post(url)
        .header("Content-Type", "application/timestamp-query")
        .send(request)
        .map_err(|e| err(e.to_string()))?;
    if response.status() != 200 {
        return Err(err(format!("HTTP status {} (not 200)", response.status())));
    }
    let limit = u64::try_from(MAX_RESPONSE_SIZE).unwrap_or(u64::MAX);
    let body = response
        .body_mut()
        .with_config()
        .limit(limit)
        .read_to_vec()
        .map_err(|e| err(e.to_string()))?;
    token_from_response(&body)?;
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_is_der_with_cert_req_and_a_positive_nonce() {
        let req = TimeStampReq::sha256(&[7u8; 32], &[0xff, 1, 2]).unwrap();
        let der = req.to_der_bytes().unwrap();
        let back = TimeStampReq::from_der(&der).unwrap();
        assert_eq!(back, req);
        assert!(back.cert_req);
        assert_eq!(back.nonce.unwrap().as_bytes(), [0, 0xff, 1, 2]);
        assert!(TimeStampReq::sha256(&[7u8; 20], &[1]).is_err());
        let n = random_nonce().unwrap();
        assert!(n[0] & 0x80 == 0 && n[0] != 0);
    }

    #[test]
    fn bad_responses_are_typed_errors() {
        for bad in [&b""[..], b"\x30\x03\x02\x01\x02", b"\x30\x05\x30\x03\x02\x01\x00", b"junk"] {
            let e = token_from_response(bad).unwrap_err();
            assert!(matches!(e, Error::Signature(SignatureError::Malformed(_))), "{e}");
        }
        assert!(token_info(b"\x30\x00").is_err());
    }

    #[test]
    fn gen_time_with_and_without_fraction() {
        let mk = |s: &str| TstInfo {
            version: 1,
            policy: ID_SHA256,
            message_imprint: MessageImprint {
                hash_algorithm: AlgorithmIdentifierOwned { oid: ID_SHA256, parameters: None },
                hashed_message: OctetString::new(vec![0u8; 32]).unwrap(),
            },
            serial_number: Int::new(&[1]).unwrap(),
            gen_time: Any::new(der::Tag::GeneralizedTime, s.as_bytes()).unwrap(),
            accuracy: None,
            ordering: false,
            nonce: None,
            tsa: None,
            extensions: None,
        };
        let t = mk("20261201221530Z").gen_time().unwrap();
        assert_eq!(t.to_rfc3339(), "2026-12-01T22:15:30+00:00");
        let t = mk("20261201221530.123Z").gen_time().unwrap();
        assert_eq!(t.to_rfc3339(), "2026-12-01T22:15:30+00:00");
        for bad in ["20261201221530", "2026120122153Z", "20261301221530Z", "20261201221530.Z"] {
            assert!(mk(bad).gen_time().is_err(), "{bad}");
        }
    }
}
