//! `pkcs11:` URIs (RFC 7512): which token, which object, and where the PIN comes from.
//!
//! ```text
//! pkcs11:token=pec-test;object=provider;id=%01;type=private?pin-source=file:/run/pec/pin
//! ```
//!
//! Path attributes (RFC 7512 §2.3) are separated by `;`, query attributes by `&`; every value
//! is percent-decoded. An attribute appears at most once. Vendor attributes (`x-...`) are
//! accepted and ignored, as RFC 7512 §2.3 allows; any other unknown attribute is refused
//! rather than silently widening the match.
//!
//! The PIN (§2.3 `pin-source`, `pin-value`): `pin-source=file:/path` names a file holding
//! the PIN (one trailing newline is trimmed); `pin-source=env:NAME` (an extension of this
//! crate) names an environment variable. `pin-value` is parsed, but the `pec` CLI refuses it:
//! a PIN never belongs on a command line, where every local user can read it.

use std::fmt;
use std::path::PathBuf;

use crate::codec::hex_value as hex_val;
use crate::error::{HsmError, Result};

/// Longest URI accepted (a real one is well under 1 KiB).
const MAX_URI_LEN: usize = 8 * 1024;
/// Most attributes accepted in a URI (path and query together).
const MAX_ATTRIBUTES: usize = 64;
/// Longest PIN accepted from a file or variable.
const MAX_PIN_LEN: usize = 1024;

/// The object class named by the `type` path attribute (RFC 7512 §2.3, `pk11-type`).
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
pub enum ObjectType {
    /// `type=private`: a private key (`CKO_PRIVATE_KEY`).
    Private,
    /// `type=cert`: a certificate (`CKO_CERTIFICATE`).
    Cert,
    /// `type=public`: a public key (`CKO_PUBLIC_KEY`).
    Public,
    /// `type=secret-key`: a secret key (`CKO_SECRET_KEY`).
    SecretKey,
    /// `type=data`: a data object (`CKO_DATA`).
    Data,
}

impl ObjectType {
    /// The wire value (`private`, `cert`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectType::Private => "private",
            ObjectType::Cert => "cert",
            ObjectType::Public => "public",
            ObjectType::SecretKey => "secret-key",
            ObjectType::Data => "data",
        }
    }

    fn from_wire(s: &str) -> Option<Self> {
        Some(match s {
            "private" => ObjectType::Private,
            "cert" => ObjectType::Cert,
            "public" => ObjectType::Public,
            "secret-key" => ObjectType::SecretKey,
            "data" => ObjectType::Data,
            _ => return None,
        })
    }
}

/// Where the PIN comes from (`pin-source`, RFC 7512 §2.3).
#[derive(Clone, Debug, Eq, PartialEq)]
pub enum PinSource {
    /// `file:/path` (or `file:///path`, or a bare path): a file holding the PIN.
    File(PathBuf),
    /// `env:NAME` (extension of this crate): an environment variable holding the PIN.
    Env(String),
}

/// A parsed `pkcs11:` URI (RFC 7512).
///
/// Every field is `None` when the URI does not carry the attribute. String attributes are
/// percent-decoded UTF-8; `id` holds the decoded bytes (`id=%01` is the single byte 1).
#[derive(Clone, Default, Eq, PartialEq)]
pub struct Pkcs11Uri {
    /// `token`: the token label (`CK_TOKEN_INFO.label`).
    pub token: Option<String>,
    /// `manufacturer`: the token manufacturer (`CK_TOKEN_INFO.manufacturerID`).
    pub manufacturer: Option<String>,
    /// `model`: the token model (`CK_TOKEN_INFO.model`).
    pub model: Option<String>,
    /// `serial`: the token serial number (`CK_TOKEN_INFO.serialNumber`).
    pub serial: Option<String>,
    /// `slot-id`: the slot identifier (`CK_SLOT_ID`), decimal.
    pub slot_id: Option<u64>,
    /// `slot-description`: `CK_SLOT_INFO.slotDescription`.
    pub slot_description: Option<String>,
    /// `slot-manufacturer`: `CK_SLOT_INFO.manufacturerID`.
    pub slot_manufacturer: Option<String>,
    /// `library-manufacturer`: `CK_INFO.manufacturerID`.
    pub library_manufacturer: Option<String>,
    /// `library-description`: `CK_INFO.libraryDescription`.
    pub library_description: Option<String>,
    /// `library-version`: `CK_INFO.libraryVersion` as (major, minor); `M` means `M.0`.
    pub library_version: Option<(u8, u8)>,
    /// `object`: the object label (`CKA_LABEL`).
    pub object: Option<String>,
    /// `id`: the object identifier (`CKA_ID`), percent-decoded bytes.
    pub id: Option<Vec<u8>>,
    /// `type`: the object class.
    pub object_type: Option<ObjectType>,
    /// `pin-source` query attribute.
    pub pin_source: Option<PinSource>,
    /// `pin-value` query attribute. Parsed, but refused by the `pec` CLI.
    pub pin_value: Option<String>,
    /// `module-name` query attribute (RFC 7512 §2.3), kept for the caller.
    pub module_name: Option<String>,
    /// `module-path` query attribute (RFC 7512 §2.3), kept for the caller.
    pub module_path: Option<String>,
}

impl Pkcs11Uri {
    /// Parses a `pkcs11:` URI (RFC 7512 §2.3 grammar; the scheme is case-insensitive).
    ///
    /// # Errors
    /// [`HsmError::Uri`] for a wrong scheme, a character outside the grammar, a bad
    /// percent-encoding, a non-UTF-8 string attribute, a repeated or unknown attribute, an
    /// unknown `type`, a non-numeric `slot-id` or a malformed `pin-source`.
    pub fn parse(input: &str) -> Result<Self> {
        if input.len() > MAX_URI_LEN {
            return Err(uri_err(format!("URI longer than {MAX_URI_LEN} bytes")));
        }
        let rest = match input.get(..7) {
            Some(scheme) if scheme.eq_ignore_ascii_case("pkcs11:") => input.get(7..).unwrap_or(""),
            _ => return Err(uri_err("URI does not start with \"pkcs11:\"".to_owned())),
        };
        let (path, query) = match rest.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (rest, None),
        };
        let mut uri = Pkcs11Uri::default();
        let mut count = 0usize;
        if !path.is_empty() {
            for attr in path.split(';') {
                count += 1;
                if count > MAX_ATTRIBUTES {
                    return Err(uri_err(format!("more than {MAX_ATTRIBUTES} attributes")));
                }
                let (name, raw) = split_attr(attr)?;
                check_chars(raw, Part::Path, name)?;
                uri.set_path_attr(name, raw)?;
            }
        }
        if let Some(query) = query.filter(|q| !q.is_empty()) {
            for attr in query.split('&') {
                count += 1;
                if count > MAX_ATTRIBUTES {
                    return Err(uri_err(format!("more than {MAX_ATTRIBUTES} attributes")));
                }
                let (name, raw) = split_attr(attr)?;
                check_chars(raw, Part::Query, name)?;
                uri.set_query_attr(name, raw)?;
            }
        }
        Ok(uri)
    }

    fn set_path_attr(&mut self, name: &str, raw: &str) -> Result<()> {
        match name {
            "token" => set_once(&mut self.token, name, decode_str(raw, name)?),
            "manufacturer" => set_once(&mut self.manufacturer, name, decode_str(raw, name)?),
            "model" => set_once(&mut self.model, name, decode_str(raw, name)?),
            "serial" => set_once(&mut self.serial, name, decode_str(raw, name)?),
            "object" => set_once(&mut self.object, name, decode_str(raw, name)?),
            "slot-description" => {
                set_once(&mut self.slot_description, name, decode_str(raw, name)?)
            }
            "slot-manufacturer" => {
                set_once(&mut self.slot_manufacturer, name, decode_str(raw, name)?)
            }
            "library-manufacturer" => {
                set_once(&mut self.library_manufacturer, name, decode_str(raw, name)?)
            }
            "library-description" => {
                set_once(&mut self.library_description, name, decode_str(raw, name)?)
            }
            "library-version" => {
                let v = decode_str(raw, name)?;
                set_once(&mut self.library_version, name, parse_version(&v)?)
            }
            "id" => set_once(&mut self.id, name, decode(raw, name)?),
            "slot-id" => {
                let v = decode_str(raw, name)?;
                let n = if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) {
                    v.parse::<u64>().ok()
                } else {
                    None
                };
                match n {
                    Some(n) => set_once(&mut self.slot_id, name, n),
                    None => Err(uri_err(format!("slot-id {v:?} is not a decimal number"))),
                }
            }
            "type" => {
                let v = decode_str(raw, name)?;
                match ObjectType::from_wire(&v) {
                    Some(t) => set_once(&mut self.object_type, name, t),
                    None => Err(uri_err(format!(
                        "type {v:?} is not one of private, cert, public, secret-key, data"
                    ))),
                }
            }
            _ if name.starts_with("x-") => Ok(()),
            _ => Err(uri_err(format!("unsupported path attribute {name:?}"))),
        }
    }

    fn set_query_attr(&mut self, name: &str, raw: &str) -> Result<()> {
        match name {
            "pin-source" => {
                let v = decode_str(raw, name)?;
                set_once(&mut self.pin_source, name, parse_pin_source(&v)?)
            }
            "pin-value" => set_once(&mut self.pin_value, name, decode_str(raw, name)?),
            "module-name" => set_once(&mut self.module_name, name, decode_str(raw, name)?),
            "module-path" => set_once(&mut self.module_path, name, decode_str(raw, name)?),
            _ if name.starts_with("x-") => Ok(()),
            _ => Err(uri_err(format!("unsupported query attribute {name:?}"))),
        }
    }
}

/// Formats the URI back (RFC 7512 form) for messages and logs. `pin-value` is never
/// written: it is replaced by `pin-value=REDACTED`.
impl fmt::Display for Pkcs11Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("pkcs11:")?;
        let mut sep = "";
        let mut path = |f: &mut fmt::Formatter<'_>, name: &str, value: &[u8]| -> fmt::Result {
            write!(f, "{sep}{name}=")?;
            sep = ";";
            encode(f, value, Part::Path)
        };
        let strings: [(&str, &Option<String>); 9] = [
            ("library-manufacturer", &self.library_manufacturer),
            ("library-description", &self.library_description),
            ("slot-manufacturer", &self.slot_manufacturer),
            ("slot-description", &self.slot_description),
            ("manufacturer", &self.manufacturer),
            ("model", &self.model),
            ("serial", &self.serial),
            ("token", &self.token),
            ("object", &self.object),
        ];
        if let Some((major, minor)) = self.library_version {
            path(f, "library-version", format!("{major}.{minor}").as_bytes())?;
        }
        if let Some(slot) = self.slot_id {
            path(f, "slot-id", slot.to_string().as_bytes())?;
        }
        for (name, value) in strings {
            if let Some(v) = value {
                path(f, name, v.as_bytes())?;
            }
        }
        if let Some(id) = &self.id {
            // Every byte of an id is written percent-encoded, the form tools print.
            write!(f, "{sep}id=")?;
            sep = ";";
            for b in id {
                write!(f, "%{b:02X}")?;
            }
        }
        if let Some(t) = self.object_type {
            write!(f, "{sep}type={}", t.as_str())?;
        }
        let mut qsep = "?";
        let mut query = |f: &mut fmt::Formatter<'_>, name: &str, value: &[u8]| -> fmt::Result {
            write!(f, "{qsep}{name}=")?;
            qsep = "&";
            encode(f, value, Part::Query)
        };
        match &self.pin_source {
            Some(PinSource::File(p)) => {
                let s = format!("file:{}", p.display());
                query(f, "pin-source", s.as_bytes())?;
            }
            Some(PinSource::Env(name)) => query(f, "pin-source", format!("env:{name}").as_bytes())?,
            None => {}
        }
        if self.pin_value.is_some() {
            query(f, "pin-value", b"REDACTED")?;
        }
        if let Some(v) = &self.module_name {
            query(f, "module-name", v.as_bytes())?;
        }
        if let Some(v) = &self.module_path {
            query(f, "module-path", v.as_bytes())?;
        }
        Ok(())
    }
}

/// Like `Display`: never shows `pin-value`.
impl fmt::Debug for Pkcs11Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pkcs11Uri({self})")
    }
}

impl std::str::FromStr for Pkcs11Uri {
    type Err = crate::error::Error;

    fn from_str(s: &str) -> Result<Self> {
        Pkcs11Uri::parse(s)
    }
}

/// Reads the PIN named by the URI's `pin-source` (RFC 7512 §2.3), or its `pin-value` when
/// there is no `pin-source`.
///
/// `file:` sources: the whole file, with one trailing `\n` (or `\r\n`) trimmed.
/// `env:` sources: the variable's value as is.
///
/// # Errors
/// [`HsmError::Uri`] when the URI names no PIN, the file cannot be read, the variable is
/// unset, or the PIN is not UTF-8 or longer than 1024 bytes. The message names the file or
/// variable, never the PIN.
pub fn resolve_pin(uri: &Pkcs11Uri) -> Result<String> {
    match (&uri.pin_source, &uri.pin_value) {
        (Some(PinSource::File(path)), _) => {
            let meta = std::fs::metadata(path)
                .map_err(|e| uri_err(format!("cannot read PIN file {}: {e}", path.display())))?;
            if meta.len() > MAX_PIN_LEN as u64 + 2 {
                return Err(uri_err(format!(
                    "PIN file {} is larger than {MAX_PIN_LEN} bytes",
                    path.display()
                )));
            }
            let bytes = std::fs::read(path)
                .map_err(|e| uri_err(format!("cannot read PIN file {}: {e}", path.display())))?;
            let mut pin = String::from_utf8(bytes)
                .map_err(|_| uri_err(format!("PIN file {} is not UTF-8", path.display())))?;
            if pin.ends_with('\n') {
                pin.pop();
                if pin.ends_with('\r') {
                    pin.pop();
                }
            }
            check_pin_len(&pin)?;
            Ok(pin)
        }
        (Some(PinSource::Env(name)), _) => match std::env::var(name) {
            Ok(pin) => {
                check_pin_len(&pin)?;
                Ok(pin)
            }
            Err(std::env::VarError::NotPresent) => {
                Err(uri_err(format!("PIN variable {name} is not set")))
            }
            Err(std::env::VarError::NotUnicode(_)) => {
                Err(uri_err(format!("PIN variable {name} is not UTF-8")))
            }
        },
        (None, Some(pin)) => Ok(pin.clone()),
        (None, None) => Err(uri_err("the URI has no pin-source (nor pin-value)".to_owned())),
    }
}

fn check_pin_len(pin: &str) -> Result<()> {
    if pin.len() > MAX_PIN_LEN {
        return Err(uri_err(format!("PIN longer than {MAX_PIN_LEN} bytes")));
    }
    Ok(())
}

pub(crate) fn uri_err(message: String) -> crate::error::Error {
    HsmError::Uri(message).into()
}

fn set_once<T>(slot: &mut Option<T>, name: &str, value: T) -> Result<()> {
    if slot.is_some() {
        return Err(uri_err(format!("attribute {name:?} appears more than once")));
    }
    *slot = Some(value);
    Ok(())
}

fn split_attr(attr: &str) -> Result<(&str, &str)> {
    let Some((name, value)) = attr.split_once('=') else {
        return Err(uri_err(format!("attribute {attr:?} has no \"=\"")));
    };
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Err(uri_err(format!("bad attribute name {name:?}")));
    }
    Ok((name, value))
}

#[derive(Clone, Copy)]
enum Part {
    Path,
    Query,
}

/// RFC 3986 unreserved characters.
fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// RFC 7512 `pk11-res-avail`.
fn is_res_avail(b: u8) -> bool {
    matches!(b, b':' | b'[' | b']' | b'@' | b'!' | b'$' | b'\'' | b'(' | b')' | b'*' | b'+' | b',')
        || b == b'='
}

fn is_allowed(b: u8, part: Part) -> bool {
    is_unreserved(b)
        || is_res_avail(b)
        || match part {
            // pk11-path-res-avail adds "&"
            Part::Path => b == b'&',
            // pk11-query-res-avail adds "/", "?" and "|"
            Part::Query => matches!(b, b'/' | b'?' | b'|'),
        }
}

fn check_chars(raw: &str, part: Part, name: &str) -> Result<()> {
    for b in raw.bytes() {
        if b != b'%' && !is_allowed(b, part) {
            return Err(uri_err(format!(
                "attribute {name:?}: character {:?} must be percent-encoded",
                char::from(b)
            )));
        }
    }
    Ok(())
}

/// Percent-decodes `raw` into bytes.
fn decode(raw: &str, name: &str) -> Result<Vec<u8>> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hi = bytes.get(i + 1).copied().and_then(hex_val);
            let lo = bytes.get(i + 2).copied().and_then(hex_val);
            match (hi, lo) {
                (Some(hi), Some(lo)) => out.push(hi << 4 | lo),
                _ => return Err(uri_err(format!("attribute {name:?}: bad percent-encoding"))),
            }
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    Ok(out)
}

fn decode_str(raw: &str, name: &str) -> Result<String> {
    String::from_utf8(decode(raw, name)?)
        .map_err(|_| uri_err(format!("attribute {name:?} is not UTF-8 once decoded")))
}

fn encode(f: &mut fmt::Formatter<'_>, value: &[u8], part: Part) -> fmt::Result {
    for &b in value {
        // "=" and "&" are legal in values but "&" separates query attributes: encode it
        // there; encode "?" in the path for the same reason.
        if is_allowed(b, part) && !matches!((part, b), (Part::Query, b'&')) {
            write!(f, "{}", char::from(b))?;
        } else {
            write!(f, "%{b:02X}")?;
        }
    }
    Ok(())
}

fn parse_version(v: &str) -> Result<(u8, u8)> {
    let (major, minor) = v.split_once('.').unwrap_or((v, "0"));
    match (major.parse::<u8>(), minor.parse::<u8>()) {
        (Ok(a), Ok(b)) => Ok((a, b)),
        _ => Err(uri_err(format!("library-version {v:?} is not M or M.N"))),
    }
}

impl PinSource {
    /// Parses a `pin-source` value: `file:PATH`, `file:///PATH`, a bare path, or `env:NAME`.
    ///
    /// # Errors
    /// [`HsmError::Uri`] for a malformed value.
    pub fn parse(v: &str) -> Result<PinSource> {
        parse_pin_source(v)
    }
}

fn parse_pin_source(v: &str) -> Result<PinSource> {
    if let Some(name) = v.strip_prefix("env:") {
        if name.is_empty() || name.contains('=') || name.contains('\0') {
            return Err(uri_err(format!("pin-source {v:?}: bad variable name")));
        }
        return Ok(PinSource::Env(name.to_owned()));
    }
    let path = if let Some(rest) = v.strip_prefix("file://") {
        // file://localhost/path or file:///path (RFC 8089); no other authority.
        let rest = rest.strip_prefix("localhost").unwrap_or(rest);
        if !rest.starts_with('/') {
            return Err(uri_err(format!("pin-source {v:?}: only local files are supported")));
        }
        rest
    } else if let Some(rest) = v.strip_prefix("file:") {
        rest
    } else if v.starts_with('/') || v.starts_with("./") || v.starts_with("../") {
        // RFC 7512 §2.3: pin-source is a URI reference; a bare path names a file.
        v
    } else {
        return Err(uri_err(format!("pin-source {v:?}: expected file:/path or env:NAME")));
    };
    if path.is_empty() || path.contains('\0') {
        return Err(uri_err(format!("pin-source {v:?}: empty or invalid path")));
    }
    Ok(PinSource::File(PathBuf::from(path)))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;
    use crate::error::Error;

    fn is_uri_err(r: Result<Pkcs11Uri>) -> bool {
        matches!(r, Err(Error::Hsm(HsmError::Uri(_))))
    }

    #[test]
    fn parses_rfc_examples() {
        // RFC 7512 §3 examples.
        let u = Pkcs11Uri::parse(
            "pkcs11:token=The%20Software%20PKCS%2311%20Softtoken;\
             manufacturer=Snake%20Oil,%20Inc.;model=1.0;object=my-certificate;\
             type=cert;id=%69%95%3E%5C%F4%BD%EC%91;serial=",
        )
        .unwrap();
        assert_eq!(u.token.as_deref(), Some("The Software PKCS#11 Softtoken"));
        assert_eq!(u.manufacturer.as_deref(), Some("Snake Oil, Inc."));
        assert_eq!(u.model.as_deref(), Some("1.0"));
        assert_eq!(u.object.as_deref(), Some("my-certificate"));
        assert_eq!(u.object_type, Some(ObjectType::Cert));
        assert_eq!(u.id.as_deref(), Some(&[0x69, 0x95, 0x3e, 0x5c, 0xf4, 0xbd, 0xec, 0x91][..]));
        assert_eq!(u.serial.as_deref(), Some(""));

        let u =
            Pkcs11Uri::parse("pkcs11:object=my-sign-key;type=private?pin-source=file:/etc/token")
                .unwrap();
        assert_eq!(u.pin_source, Some(PinSource::File("/etc/token".into())));
        assert_eq!(u.object_type, Some(ObjectType::Private));

        let u = Pkcs11Uri::parse(
            "pkcs11:token=Software%20PKCS%2311%20softtoken;manufacturer=Snake%20Oil,%20Inc.\
             ?pin-value=the-pin",
        )
        .unwrap();
        assert_eq!(u.pin_value.as_deref(), Some("the-pin"));

        let u = Pkcs11Uri::parse("pkcs11:slot-description=Sun%20Metaslot").unwrap();
        assert_eq!(u.slot_description.as_deref(), Some("Sun Metaslot"));
        let u = Pkcs11Uri::parse("pkcs11:library-manufacturer=Snake%20Oil,%20Inc.;library-description=Soft%20Token;library-version=1.23").unwrap();
        assert_eq!(u.library_version, Some((1, 23)));
        let u = Pkcs11Uri::parse(
            "pkcs11:token=A%20name%20with%20a%20substring%20%25%3B;object=my-certificate;type=cert",
        )
        .unwrap();
        assert_eq!(u.token.as_deref(), Some("A name with a substring %;"));
        let u = Pkcs11Uri::parse("pkcs11:token=Name%20with%20a%20small%20A%20with%20acute:%20%C3%A1;object=my-certificate;type=cert").unwrap();
        assert_eq!(u.token.as_deref(), Some("Name with a small A with acute: á"));
        let u = Pkcs11Uri::parse(
            "pkcs11:token=my-token;object=my-certificate;type=cert;vendor-aaa=value-a?pin-source=file:/etc/token&vendor-bbb=value-b",
        );
        // non-"x-" vendor attributes are refused (the RFC example predates the convention)
        assert!(is_uri_err(u));
        let u = Pkcs11Uri::parse("pkcs11:token=t;x-vendor=v?x-foo=bar").unwrap();
        assert_eq!(u.token.as_deref(), Some("t"));
        assert!(Pkcs11Uri::parse("pkcs11:").unwrap() == Pkcs11Uri::default());
        assert!(Pkcs11Uri::parse("PKCS11:slot-id=7").unwrap().slot_id == Some(7));
    }

    #[test]
    fn pin_sources() {
        let u = Pkcs11Uri::parse("pkcs11:token=t?pin-source=env:PEC_PIN").unwrap();
        assert_eq!(u.pin_source, Some(PinSource::Env("PEC_PIN".into())));
        let u = Pkcs11Uri::parse("pkcs11:token=t?pin-source=file:///run/pin%20file").unwrap();
        assert_eq!(u.pin_source, Some(PinSource::File("/run/pin file".into())));
        let u = Pkcs11Uri::parse("pkcs11:token=t?pin-source=%2Frun%2Fpin").unwrap();
        assert_eq!(u.pin_source, Some(PinSource::File("/run/pin".into())));
        assert!(is_uri_err(Pkcs11Uri::parse("pkcs11:token=t?pin-source=http://x/pin")));
        assert!(is_uri_err(Pkcs11Uri::parse("pkcs11:token=t?pin-source=file://host/pin")));
        assert!(is_uri_err(Pkcs11Uri::parse("pkcs11:token=t?pin-source=env:")));
        assert!(is_uri_err(Pkcs11Uri::parse("pkcs11:token=t?pin-source=file:")));
    }

    #[test]
    fn resolves_pins() {
        let dir = std::env::temp_dir().join(format!("pec-pin-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("pin");
        std::fs::write(&file, "12 34\r\n").unwrap();
        let u = Pkcs11Uri { pin_source: Some(PinSource::File(file.clone())), ..Default::default() };
        assert_eq!(resolve_pin(&u).unwrap(), "12 34");
        std::fs::write(&file, "1234\n\n").unwrap();
        assert_eq!(resolve_pin(&u).unwrap(), "1234\n");
        std::fs::remove_file(&file).unwrap();
        let err = resolve_pin(&u).unwrap_err();
        assert!(
            matches!(err, Error::Hsm(HsmError::Uri(ref m)) if m.contains("cannot read PIN file"))
        );
        let _ = std::fs::remove_dir(&dir);

        let u = Pkcs11Uri {
            pin_source: Some(PinSource::Env("PEC_TEST_SURELY_UNSET_VARIABLE".into())),
            ..Default::default()
        };
        assert!(matches!(resolve_pin(&u), Err(Error::Hsm(HsmError::Uri(_)))));
        let u = Pkcs11Uri { pin_value: Some("9".into()), ..Default::default() };
        assert_eq!(resolve_pin(&u).unwrap(), "9");
        assert!(matches!(resolve_pin(&Pkcs11Uri::default()), Err(Error::Hsm(HsmError::Uri(_)))));
    }

    #[test]
    fn refuses_malformed() {
        for bad in [
            "",
            "pkcs11",
            "http:token=x",
            "pkcs11:token",
            "pkcs11:token=a;token=b",
            "pkcs11:=x",
            "pkcs11:token=a b",
            "pkcs11:token=%zz",
            "pkcs11:token=%4",
            "pkcs11:token=%ff",
            "pkcs11:id=%0",
            "pkcs11:type=secret",
            "pkcs11:slot-id=-1",
            "pkcs11:slot-id=",
            "pkcs11:slot-id=99999999999999999999999",
            "pkcs11:unknown=1",
            "pkcs11:token=a/b",
            "pkcs11:token=a?pin-value=1&pin-value=2",
            "pkcs11:token=a?pin-value=a;b",
            "pkcs11:token=a#frag",
            "pkcs11:token=é",
            "pkcs11:library-version=x.1",
        ] {
            assert!(is_uri_err(Pkcs11Uri::parse(bad)), "accepted {bad:?}");
        }
        let long = format!("pkcs11:token={}", "a".repeat(MAX_URI_LEN));
        assert!(is_uri_err(Pkcs11Uri::parse(&long)));
        let many = format!("pkcs11:{}", "x-a=1;".repeat(100));
        assert!(is_uri_err(Pkcs11Uri::parse(&many)));
    }

    #[test]
    fn display_round_trips_and_redacts() {
        let text = "pkcs11:token=pec%20test;object=provider;id=%01%FF;type=private\
                    ?pin-source=file:/run/pin&pin-value=secret";
        let u = Pkcs11Uri::parse(text).unwrap();
        let shown = u.to_string();
        assert!(!shown.contains("secret"), "{shown}");
        assert!(!format!("{u:?}").contains("secret"));
        let back = Pkcs11Uri::parse(&shown).unwrap();
        assert_eq!(back.token, u.token);
        assert_eq!(back.id, u.id);
        assert_eq!(back.object_type, u.object_type);
        assert_eq!(back.pin_source, u.pin_source);
    }
}
