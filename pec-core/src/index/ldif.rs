//! LDIF (RFC 2849) reading of the providers index, as providers and the agency publish it
//! (docs/SPEC.md §8.1, §8.2), and the signed `.p7m` wrapper.
//!
//! What is accepted:
//! * an optional `version: 1` line first;
//! * line folding (a physical line starting with one space continues the previous one,
//!   also inside comments), LF or CRLF line ends;
//! * comments (`#` lines), blank lines between records;
//! * `attr: value`, `attr:: base64`, `dn::` base64, attribute options (`;binary`),
//!   attribute names and `objectClass` values in any case, UTF-8 values;
//! * several entries; only entries whose `objectClass` includes `provider` become
//!   [`ProviderRecord`]s. The root `o=postacert` and any other entry are skipped (but still
//!   parsed, so a malformed line anywhere fails the load).
//!
//! What is refused (a [`DirectoryError::Ldif`] naming the line):
//! * change records (`changetype:`, `control:`, `-` separators): an index is content, not a
//!   list of changes to apply to something else;
//! * `attr:< URL` values (this reader never fetches files or URLs);
//! * bad base64, invalid UTF-8 in a text value, a record not starting with `dn:`, a line
//!   without `:`, a continuation line with nothing to continue.
//!
//! A provider entry lacking a MUST attribute of the schema (§8.2), holding a
//! `providerCertificateHash` that is not the SHA-1 of one of its `providerCertificate`
//! values, a certificate without a matching hash, or a certificate that is not DER X.509,
//! is a [`DirectoryError::Entry`] naming the DN and the line where the entry starts. One bad
//! entry fails the whole load: the index is a trust list, and a partially loaded trust list
//! silently turns certified recipients into external ones.

use std::borrow::Cow;

use base64::Engine as _;
use der::Decode as _;

use super::ProviderRecord;
use crate::error::{DirectoryError, Error, LimitError, Result};
use crate::x509::pem;

/// Bounds on an LDIF input (hostile-input limits).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LdifLimits {
    /// Maximum size of the whole input, in bytes.
    pub max_bytes: usize,
    /// Maximum number of entries (records).
    pub max_entries: usize,
    /// Maximum number of attribute values in one entry.
    pub max_values_per_entry: usize,
    /// Maximum number of attribute values in the whole input.
    pub max_values: usize,
    /// Maximum length of one logical (unfolded) line, in bytes.
    pub max_line: usize,
}

impl Default for LdifLimits {
    /// 256 MiB, 200 000 entries, 200 000 values per entry, 2 000 000 values, 1 MiB lines.
    fn default() -> Self {
        LdifLimits {
            max_bytes: 256 << 20,
            max_entries: 200_000,
            max_values_per_entry: 200_000,
            max_values: 2_000_000,
            max_line: 1 << 20,
        }
    }
}

/// One attribute value of an LDIF entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LdifValue {
    /// The attribute type, as written (`objectclass`, `providerCertificate`, ...).
    pub name: String,
    /// Attribute options, as written (`binary` for `;binary`).
    pub options: Vec<String>,
    /// The value (decoded when given as `::` base64).
    pub value: Vec<u8>,
    /// 1-based line where the value starts.
    pub line: usize,
}

impl LdifValue {
    /// Whether the attribute type is `name` (ASCII case-insensitive; options ignored).
    pub fn is(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name)
    }
}

/// One LDIF record (content form, RFC 2849 `ldif-attrval-record`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LdifEntry {
    /// The DN (decoded when given as `dn::`).
    pub dn: String,
    /// 1-based line of the `dn:` line.
    pub line: usize,
    /// The attribute values, in file order.
    pub values: Vec<LdifValue>,
}

impl LdifEntry {
    /// Whether the entry's `objectClass` values include `class` (case-insensitive).
    pub fn has_object_class(&self, class: &str) -> bool {
        self.values.iter().any(|v| {
            v.is("objectClass")
                && std::str::from_utf8(&v.value)
                    .map(|s| s.trim().eq_ignore_ascii_case(class))
                    .unwrap_or(false)
        })
    }
}

/// Parses an LDIF content file into its entries (every entry, not only providers), with the
/// default [`LdifLimits`].
pub fn parse_ldif(bytes: &[u8]) -> Result<Vec<LdifEntry>> {
    parse_ldif_with_limits(bytes, &LdifLimits::default())
}

/// Parses an LDIF content file into its entries within `limits`.
pub fn parse_ldif_with_limits(bytes: &[u8], limits: &LdifLimits) -> Result<Vec<LdifEntry>> {
    if bytes.len() > limits.max_bytes {
        return Err(limit("LDIF size", limits.max_bytes, bytes.len()));
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut parser =
        Parser { limits, entries: Vec::new(), current: None, total_values: 0, first: true };
    let mut logical: Option<(usize, Cow<'_, [u8]>)> = None;
    for (idx, raw) in bytes.split(|&b| b == b'\n').enumerate() {
        let line_no = idx + 1;
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        if let Some(rest) = raw.strip_prefix(b" ") {
            match logical.as_mut() {
                Some((_, text)) => {
                    if text.len() + rest.len() > limits.max_line {
                        return Err(limit(
                            "LDIF line length",
                            limits.max_line,
                            text.len() + rest.len(),
                        ));
                    }
                    text.to_mut().extend_from_slice(rest);
                }
                None => {
                    return Err(ldif_err(line_no, "continuation line with no line to continue"));
                }
            }
            continue;
        }
        if let Some((start, text)) = logical.take() {
            parser.line(start, &text)?;
        }
        if raw.is_empty() {
            parser.end_record()?;
        } else {
            if raw.len() > limits.max_line {
                return Err(limit("LDIF line length", limits.max_line, raw.len()));
            }
            logical = Some((line_no, Cow::Borrowed(raw)));
        }
    }
    if let Some((start, text)) = logical.take() {
        parser.line(start, &text)?;
    }
    parser.end_record()?;
    Ok(parser.entries)
}

/// Parses an LDIF index and returns its provider records (entries with `objectClass:
/// provider`), validated against the schema of docs/SPEC.md §8.2, with the default limits.
pub fn records_from_ldif(bytes: &[u8]) -> Result<Vec<ProviderRecord>> {
    records_from_ldif_with_limits(bytes, &LdifLimits::default())
}

/// As [`records_from_ldif`], within `limits`.
pub fn records_from_ldif_with_limits(
    bytes: &[u8],
    limits: &LdifLimits,
) -> Result<Vec<ProviderRecord>> {
    let entries = parse_ldif_with_limits(bytes, limits)?;
    let mut out = Vec::new();
    for entry in &entries {
        if !entry.has_object_class("provider") {
            continue;
        }
        let values = entry.values.iter().map(|v| (v.name.as_str(), v.value.as_slice()));
        let record = record_from_values(&entry.dn, values).map_err(|e| match e {
            Error::Directory(DirectoryError::Entry { dn, message }) => {
                Error::Directory(DirectoryError::Entry {
                    dn,
                    message: format!("{message} (entry at line {})", entry.line),
                })
            }
            other => other,
        })?;
        out.push(record);
    }
    Ok(out)
}

/// Builds and validates a [`ProviderRecord`] from the attribute values of one entry whose
/// `objectClass` is `provider` (docs/SPEC.md §8.2). `values` yields `(attribute, value)` pairs; the
/// attribute may carry options (`providerCertificate;binary`). Shared by the LDIF reader
/// and the LDAP source.
///
/// Checks: the MUST attributes (`providerCertificateHash`, `providerCertificate`,
/// `providerName`, `mailReceipt`, `managedDomains`) are present; the SINGLE-VALUE ones are
/// single; each hash is 40 hex digits equal (case-insensitively, docs/SPEC.md §8.2 and §14 erratum 7)
/// to the SHA-1 of one certificate of the entry, and every certificate has its hash
/// (rollover: several pairs); each certificate is DER X.509; `mailReceipt` is a bare
/// addr-spec; each domain is a plausible dot-atom domain (stored lowercase).
pub fn record_from_values<'a>(
    dn: &str,
    values: impl IntoIterator<Item = (&'a str, &'a [u8])>,
) -> Result<ProviderRecord> {
    let bad =
        |message: String| Error::Directory(DirectoryError::Entry { dn: dn.to_owned(), message });
    let mut rec = ProviderRecord { dn: dn.to_owned(), ..ProviderRecord::default() };
    let mut names = 0usize;
    let mut receipts = 0usize;
    let mut units = 0usize;
    let mut urls = 0usize;
    for (attr, value) in values {
        let base = attr.split(';').next().unwrap_or(attr);
        let lower = base.to_ascii_lowercase();
        let text = || -> Result<String> {
            std::str::from_utf8(value)
                .map(|s| s.trim().to_owned())
                .map_err(|_| bad(format!("{base} is not UTF-8")))
        };
        match lower.as_str() {
            "providercertificatehash" => {
                let h = text()?.to_ascii_lowercase();
                if h.len() != 40 || !h.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(bad(format!("providerCertificateHash {h:?} is not 40 hex digits")));
                }
                if !rec.cert_hashes.contains(&h) {
                    rec.cert_hashes.push(h);
                }
            }
            "providercertificate" => {
                if x509_cert::Certificate::from_der(value).is_err() {
                    return Err(bad(format!(
                        "providerCertificate value {} is not a DER X.509 certificate",
                        rec.certificates.len() + 1
                    )));
                }
                if !rec.certificates.iter().any(|c| c.as_slice() == value) {
                    rec.certificates.push(value.to_vec());
                }
            }
            "providername" => {
                names += 1;
                rec.name = text()?;
            }
            "mailreceipt" => {
                receipts += 1;
                rec.mail_receipt = text()?;
            }
            "manageddomains" => {
                let d = text()?.to_ascii_lowercase();
                if !plausible_domain(&d) {
                    return Err(bad(format!("managedDomains {d:?} is not a domain")));
                }
                if !rec.managed_domains.contains(&d) {
                    rec.managed_domains.push(d);
                }
            }
            "providerunit" => {
                units += 1;
                rec.unit = Some(text()?);
            }
            "ldiflocationurl" => {
                urls += 1;
                rec.ldif_url = Some(text()?);
            }
            // Multi-valued in core.schema: keep the first.
            "description" if rec.description.is_none() => {
                rec.description = Some(text()?);
            }
            _ => {}
        }
    }
    for (what, n) in [("providerName", names), ("mailReceipt", receipts)] {
        if n == 0 {
            return Err(bad(format!("missing required attribute {what}")));
        }
        if n > 1 {
            return Err(bad(format!("{what} is single-valued but has {n} values")));
        }
    }
    for (what, n) in [("providerUnit", units), ("LDIFLocationURL", urls)] {
        if n > 1 {
            return Err(bad(format!("{what} is single-valued but has {n} values")));
        }
    }
    if rec.name.is_empty() {
        return Err(bad("providerName is empty".into()));
    }
    if rec.cert_hashes.is_empty() {
        return Err(bad("missing required attribute providerCertificateHash".into()));
    }
    if rec.certificates.is_empty() {
        return Err(bad("missing required attribute providerCertificate".into()));
    }
    if rec.managed_domains.is_empty() {
        return Err(bad("missing required attribute managedDomains".into()));
    }
    if !plausible_addr_spec(&rec.mail_receipt) {
        return Err(bad(format!("mailReceipt {:?} is not a bare address", rec.mail_receipt)));
    }
    let computed: Vec<String> =
        rec.certificates.iter().map(|c| crate::crypto::sha1_hex(c)).collect();
    for h in &rec.cert_hashes {
        if !computed.iter().any(|c| c.eq_ignore_ascii_case(h)) {
            return Err(bad(format!(
                "providerCertificateHash {h} matches no providerCertificate of the entry"
            )));
        }
    }
    for c in &computed {
        if !rec.cert_hashes.iter().any(|h| h.eq_ignore_ascii_case(c)) {
            return Err(bad(format!(
                "providerCertificate with SHA-1 {c} has no providerCertificateHash"
            )));
        }
    }
    // Keep hashes in certificate order so cert_hashes[i] is the hash of certificates[i].
    rec.cert_hashes = computed.into_iter().map(|c| c.to_ascii_lowercase()).collect();
    Ok(rec)
}

/// Normalises a signed index (`.p7m`: a CMS SignedData wrapping the LDIF, docs/SPEC.md §8.1) given
/// as DER, base64 or PEM to DER, hands it to `verify` and returns the content `verify`
/// returns.
///
/// `verify` checks the signature against the caller's trust and returns the encapsulated
/// content (in the library, `crate::verify::index::signed_index_verifier`). Any error it returns, and any
/// input that is not DER/base64/PEM, is a [`DirectoryError::BadSignature`]: the content of a
/// refused file is never used.
pub fn unwrap_signed_index(
    bytes: &[u8],
    verify: &dyn Fn(&[u8]) -> Result<Vec<u8>>,
) -> Result<Vec<u8>> {
    let der = signed_to_der(bytes)?;
    verify(&der).map_err(|e| match e {
        Error::Directory(DirectoryError::BadSignature(m)) => {
            Error::Directory(DirectoryError::BadSignature(m))
        }
        Error::Directory(DirectoryError::NoIndexSigner) => {
            Error::Directory(DirectoryError::NoIndexSigner)
        }
        other => Error::Directory(DirectoryError::BadSignature(other.to_string())),
    })
}

/// DER as is (starts with a SEQUENCE tag), else PEM (any `-----BEGIN ...-----` label), else
/// bare base64 with whitespace.
fn signed_to_der(bytes: &[u8]) -> Result<Cow<'_, [u8]>> {
    let refuse = |m: &str| Error::Directory(DirectoryError::BadSignature(m.to_owned()));
    if bytes.first() == Some(&0x30) {
        return Ok(Cow::Borrowed(bytes));
    }
    if std::str::from_utf8(bytes).is_err() {
        return Err(refuse("signed index is neither DER nor base64/PEM"));
    }
    let der = if pem::is_pem(bytes) {
        let blocks = pem::pem_blocks(bytes, pem::Headers::Refuse)
            .map_err(|e| refuse(&format!("signed index is not valid PEM: {e}")))?;
        blocks.into_iter().next().map(|b| b.der).unwrap_or_default()
    } else {
        pem::decode_base64(bytes).ok_or_else(|| refuse("signed index is not valid base64"))?
    };
    if der.first() != Some(&0x30) {
        return Err(refuse("signed index is not a DER SEQUENCE"));
    }
    Ok(Cow::Owned(der))
}

struct Parser<'l> {
    limits: &'l LdifLimits,
    entries: Vec<LdifEntry>,
    current: Option<LdifEntry>,
    total_values: usize,
    first: bool,
}

impl Parser<'_> {
    fn line(&mut self, line_no: usize, text: &[u8]) -> Result<()> {
        if text.first() == Some(&b'#') {
            return Ok(());
        }
        if text == b"-" {
            return Err(ldif_err(line_no, "change records are not supported in an index"));
        }
        let colon = text
            .iter()
            .position(|&b| b == b':')
            .ok_or_else(|| ldif_err(line_no, "line is not `attribute: value`"))?;
        let (desc, rest) = text.split_at(colon);
        let rest = rest.get(1..).unwrap_or(b"");
        let desc = std::str::from_utf8(desc)
            .map_err(|_| ldif_err(line_no, "attribute name is not ASCII"))?;
        let mut parts = desc.split(';');
        let name = parts.next().unwrap_or("");
        if name.is_empty()
            || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        {
            return Err(ldif_err(line_no, format!("invalid attribute description {desc:?}")));
        }
        let options: Vec<String> = parts.map(str::to_owned).collect();
        if options
            .iter()
            .any(|o| o.is_empty() || !o.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
        {
            return Err(ldif_err(line_no, format!("invalid attribute option in {desc:?}")));
        }
        let value = decode_value(line_no, rest)?;
        let first = std::mem::replace(&mut self.first, false);
        if first && self.current.is_none() && name.eq_ignore_ascii_case("version") {
            if value.as_slice().trim_ascii() != b"1" {
                return Err(ldif_err(line_no, "unsupported LDIF version (only `version: 1`)"));
            }
            return Ok(());
        }
        match self.current.as_mut() {
            None => {
                if !name.eq_ignore_ascii_case("dn") || !options.is_empty() {
                    return Err(ldif_err(
                        line_no,
                        format!("record must start with `dn:`, found {desc:?}"),
                    ));
                }
                if self.entries.len() >= self.limits.max_entries {
                    return Err(limit(
                        "LDIF entries",
                        self.limits.max_entries,
                        self.entries.len() + 1,
                    ));
                }
                let dn =
                    String::from_utf8(value).map_err(|_| ldif_err(line_no, "dn is not UTF-8"))?;
                self.current =
                    Some(LdifEntry { dn: dn.trim().to_owned(), line: line_no, values: Vec::new() });
            }
            Some(entry) => {
                if name.eq_ignore_ascii_case("changetype") || name.eq_ignore_ascii_case("control") {
                    return Err(ldif_err(line_no, "change records are not supported in an index"));
                }
                if name.eq_ignore_ascii_case("dn") {
                    return Err(ldif_err(
                        line_no,
                        "second `dn:` in one record (missing blank line?)",
                    ));
                }
                if entry.values.len() >= self.limits.max_values_per_entry {
                    return Err(limit(
                        "LDIF values per entry",
                        self.limits.max_values_per_entry,
                        entry.values.len() + 1,
                    ));
                }
                if self.total_values >= self.limits.max_values {
                    return Err(limit(
                        "LDIF values",
                        self.limits.max_values,
                        self.total_values + 1,
                    ));
                }
                let binary = options.iter().any(|o| o.eq_ignore_ascii_case("binary"));
                if !binary && !rest.starts_with(b":") && std::str::from_utf8(&value).is_err() {
                    return Err(ldif_err(line_no, format!("value of {name} is not UTF-8")));
                }
                self.total_values += 1;
                entry.values.push(LdifValue {
                    name: name.to_owned(),
                    options,
                    value,
                    line: line_no,
                });
            }
        }
        Ok(())
    }

    fn end_record(&mut self) -> Result<()> {
        if let Some(entry) = self.current.take() {
            self.entries.push(entry);
        }
        Ok(())
    }
}

/// Decodes the part after the first `:` of an attrval-spec.
fn decode_value(line_no: usize, rest: &[u8]) -> Result<Vec<u8>> {
    if let Some(b64) = rest.strip_prefix(b":") {
        let compact: Vec<u8> = b64.iter().copied().filter(|b| *b != b' ').collect();
        return base64::engine::general_purpose::STANDARD
            .decode(&compact)
            .map_err(|e| ldif_err(line_no, format!("bad base64 value: {e}")));
    }
    if rest.starts_with(b"<") {
        return Err(ldif_err(line_no, "URL values (`:<`) are not supported"));
    }
    let start = rest.iter().position(|&b| b != b' ').unwrap_or(rest.len());
    Ok(rest.get(start..).unwrap_or(b"").to_vec())
}

fn plausible_domain(d: &str) -> bool {
    !d.is_empty()
        && d.len() <= 255
        && !d.starts_with('.')
        && !d.ends_with('.')
        && !d.contains("..")
        && d.chars().all(|c| !c.is_whitespace() && !c.is_control() && !"@<>()[]\\,;:\"".contains(c))
}

fn plausible_addr_spec(a: &str) -> bool {
    match a.rsplit_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !local.contains('@')
                && local
                    .chars()
                    .all(|c| !c.is_whitespace() && !c.is_control() && !"<>()[]\\,;:\"".contains(c))
                && plausible_domain(domain)
        }
        None => false,
    }
}

fn ldif_err(line: usize, message: impl Into<String>) -> Error {
    Error::Directory(DirectoryError::Ldif { line, message: message.into() })
}

fn limit(what: &'static str, max: usize, actual: usize) -> Error {
    Error::Limit(LimitError { what, limit: max as u64, actual: actual as u64 })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;

    #[test]
    fn folding_comments_and_base64() {
        let ldif = b"version: 1\r\n# a comment\r\n  still comment\r\ndn: o=postacert\r\no: post\r\n acert\r\ndescription:: w6g=\r\n\r\n\r\n";
        let e = parse_ldif(ldif).unwrap();
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].dn, "o=postacert");
        assert_eq!(e[0].line, 4);
        assert_eq!(e[0].values[0].value, b"postacert");
        assert_eq!(e[0].values[1].value, "\u{e8}".as_bytes());
        assert_eq!(e[0].values[1].line, 7);
    }

    #[test]
    fn refusals_name_the_line() {
        let cases: &[(&[u8], usize)] = &[
            (b"dn: o=x\nchangetype: add\n", 2),
            (b"dn: o=x\nbroken line\n", 2),
            (b" orphan\n", 1),
            (b"o: x\n", 1),
            (b"dn: o=x\nfoo:: !!!\n", 2),
            (b"dn: o=x\nfoo:< file:///etc/passwd\n", 2),
            (b"version: 2\n", 1),
            (b"dn: o=x\nfoo: \xff\n", 2),
            (b"dn: o=x\n\ndn: o=y\n-\n", 4),
        ];
        for (input, line) in cases {
            match parse_ldif(input) {
                Err(Error::Directory(DirectoryError::Ldif { line: l, .. })) => {
                    assert_eq!(l, *line, "{:?}", String::from_utf8_lossy(input))
                }
                other => panic!("{:?}: {other:?}", String::from_utf8_lossy(input)),
            }
        }
    }

    #[test]
    fn limits_bound_the_input() {
        let limits = LdifLimits { max_entries: 1, ..LdifLimits::default() };
        let r = parse_ldif_with_limits(b"dn: o=a\n\ndn: o=b\n", &limits);
        assert!(matches!(r, Err(Error::Limit(_))), "{r:?}");
        let limits = LdifLimits { max_bytes: 4, ..LdifLimits::default() };
        assert!(matches!(parse_ldif_with_limits(b"dn: o=a\n", &limits), Err(Error::Limit(_))));
        let limits = LdifLimits { max_line: 10, ..LdifLimits::default() };
        let r = parse_ldif_with_limits(b"dn: o=a\nx: 12345\n 678901234\n", &limits);
        assert!(matches!(r, Err(Error::Limit(_))), "{r:?}");
    }

    #[test]
    fn signed_normalisation() {
        let der = vec![0x30, 0x03, 0x02, 0x01, 0x05];
        let b64 = base64::engine::general_purpose::STANDARD.encode(&der);
        let pem = format!("-----BEGIN PKCS7-----\n{b64}\n-----END PKCS7-----\n");
        let echo = |d: &[u8]| -> Result<Vec<u8>> { Ok(d.to_vec()) };
        for input in [der.clone(), b64.into_bytes(), pem.into_bytes()] {
            assert_eq!(unwrap_signed_index(&input, &echo).unwrap(), der);
        }
        let refuse = |_: &[u8]| -> Result<Vec<u8>> { Err(Error::InvalidArgument("no".into())) };
        assert!(matches!(
            unwrap_signed_index(&der, &refuse),
            Err(Error::Directory(DirectoryError::BadSignature(_)))
        ));
        assert!(matches!(
            unwrap_signed_index(b"\xff\xfe", &echo),
            Err(Error::Directory(DirectoryError::BadSignature(_)))
        ));
    }
}
