//! Reading CMS EnvelopedData in one pass over a reader: the small parts (content type,
//! recipients, algorithm) are read whole within limits, the encrypted content is streamed
//! through the cipher. DER and BER (indefinite lengths, chunked content) are both read.

use std::io::{BufReader, Read, Write};

use aws_lc_rs::cipher::{
    AES_128, AES_192, AES_256, Algorithm, DecryptionContext, StreamingDecryptingKey,
    UnboundCipherKey,
};
use aws_lc_rs::iv::FixedLength;
use aws_lc_rs::rand::{SecureRandom as _, SystemRandom};
use cms::enveloped_data::{KeyTransRecipientInfo, RecipientIdentifier};
use const_oid::ObjectIdentifier;
use const_oid::db::{rfc5280, rfc5911, rfc5912};
use der::{Decode as _, Encode as _};
use spki::AlgorithmIdentifierOwned;
use x509_cert::Certificate;

use super::{
    CHUNK, ID_AUTH_ENVELOPED_DATA, ID_ENVELOPED_DATA, KeyTransport, RecipientKey, RsaesOaepParams,
};
use crate::error::{AtRestError, Error, Result};

/// Largest `RecipientInfos` read (a few hundred recipients).
const MAX_RECIPIENT_INFOS: u64 = 1 << 20;
/// Largest small element (OIDs, versions, algorithm identifiers).
const MAX_SMALL: u64 = 4096;
/// Largest `originatorInfo` or `unprotectedAttrs` skipped.
const MAX_SKIPPED: u64 = 16 << 20;
/// Deepest nesting of constructed OCTET STRINGs in the content.
const MAX_CHUNK_DEPTH: usize = 8;

/// What [`decrypt`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecryptInfo {
    /// Plaintext bytes written (0 for [`check_key`]).
    pub plaintext_len: u64,
    /// The content cipher (`aes-256-cbc`, ...).
    pub cipher: &'static str,
    /// How the content key reached the recipient that opened it.
    pub transport: KeyTransport,
    /// Key-transport recipients the message lists.
    pub recipients: usize,
    /// Which of them (0-based, in the order of the message) the key opened.
    pub recipient: usize,
}

/// Decrypts a CMS EnvelopedData (a `ContentInfo`, DER or BER) read from `input` with `key`,
/// writing the plaintext to `output` as it goes (bounded memory).
///
/// The recipient is chosen by the key's certificate (issuer and serial number, or subject
/// key identifier); a key without certificate tries every key-transport recipient. Content
/// ciphers: AES-128/192/256-CBC. Key transport: RSAES-OAEP (SHA-1 or SHA-256, the same for
/// MGF1, empty label) and PKCS#1 v1.5.
///
/// # Errors
/// [`AtRestError::Malformed`] (not a CMS EnvelopedData, bad DER/BER, trailing bytes),
/// [`AtRestError::Truncated`], [`AtRestError::Unsupported`] (another cipher, key transport or
/// content type such as AuthEnvelopedData), [`AtRestError::NotARecipient`],
/// [`AtRestError::DecryptionFailed`] (the key or the content did not decrypt),
/// [`AtRestError::Io`], and the key's own errors (PKCS#11). Plaintext is written before the
/// end of the input is checked: after an error, discard the output.
pub fn decrypt<R: Read, W: Write>(
    input: R,
    key: &dyn RecipientKey,
    output: W,
) -> Result<DecryptInfo> {
    run(input, key, Some(output))
}

/// Unwraps only the content-encryption key (a drill that proves the key still opens the
/// archive without writing the plaintext anywhere); the content is not read.
///
/// # Errors
/// As [`decrypt`], for the part before the content.
pub fn check_key<R: Read>(input: R, key: &dyn RecipientKey) -> Result<DecryptInfo> {
    run(input, key, None::<std::io::Sink>)
}

/// [`decrypt`] of a byte slice into a new vector.
///
/// # Errors
/// As [`decrypt`].
pub fn decrypt_bytes(data: &[u8], key: &dyn RecipientKey) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(data.len());
    decrypt(data, key, &mut out)?;
    Ok(out)
}

fn run<R: Read, W: Write>(
    input: R,
    key: &dyn RecipientKey,
    output: Option<W>,
) -> Result<DecryptInfo> {
    let mut ber = Ber { r: BufReader::with_capacity(CHUNK, input), pos: 0, ends: Vec::new() };

    let outer = ber.open(0x30, "ContentInfo")?;
    let content_type = ber.oid("contentType")?;
    if content_type == ID_AUTH_ENVELOPED_DATA {
        return Err(AtRestError::Unsupported("AuthEnvelopedData (RFC 5083)".into()).into());
    }
    if content_type != ID_ENVELOPED_DATA {
        return Err(AtRestError::Malformed(format!("content type is {content_type}")).into());
    }
    let explicit = ber.open(0xA0, "content")?;
    let enveloped = ber.open(0x30, "EnvelopedData")?;
    let version = ber.element(Some(0x02), MAX_SMALL, "version")?;
    if !matches!(version.body(), [0] | [2] | [3] | [4]) {
        return Err(AtRestError::Malformed("EnvelopedData version".into()).into());
    }
    let mut next = ber.header("recipientInfos")?;
    if next.tag == 0xA0 {
        ber.skip(&next, MAX_SKIPPED, "originatorInfo")?;
        next = ber.header("recipientInfos")?;
    }
    let recipient_infos = ber.body_of(&next, 0x31, MAX_RECIPIENT_INFOS, "recipientInfos")?;
    let ktris = key_trans_recipients(&recipient_infos)?;

    let eci = ber.open(0x30, "EncryptedContentInfo")?;
    // the plaintext is written as it is, whatever its declared type (pec writes id-data)
    let _inner_type = ber.oid("EncryptedContentInfo.contentType")?;
    let alg = ber.element(Some(0x30), MAX_SMALL, "contentEncryptionAlgorithm")?;
    let alg = AlgorithmIdentifierOwned::from_der(&alg.raw)
        .map_err(|e| AtRestError::Malformed(format!("contentEncryptionAlgorithm: {e}")))?;
    let (cipher_alg, key_len, cipher_name) = content_cipher(&alg.oid)?;
    let iv: [u8; 16] = alg
        .parameters
        .as_ref()
        .and_then(|p| p.decode_as::<der::asn1::OctetString>().ok())
        .and_then(|o| <[u8; 16]>::try_from(o.as_bytes()).ok())
        .ok_or_else(|| AtRestError::Malformed(format!("{cipher_name}: IV is not 16 bytes")))?;

    let (cek, transport, recipient) = unwrap_content_key(&ktris, key, key_len)?;
    let mut info = DecryptInfo {
        plaintext_len: 0,
        cipher: cipher_name,
        transport,
        recipients: ktris.len(),
        recipient,
    };
    let Some(output) = output else {
        return Ok(info);
    };
    let cipher_key = UnboundCipherKey::new(cipher_alg, &cek)
        .map_err(|_| AtRestError::DecryptionFailed("content key".into()))?;
    let cipher = StreamingDecryptingKey::cbc_pkcs7(
        cipher_key,
        DecryptionContext::Iv128(FixedLength::from(iv)),
    )
    .map_err(|_| AtRestError::DecryptionFailed("content key".into()))?;
    let mut sink = Plain { cipher, out: output, buf: vec![0u8; CHUNK + 16], written: 0 };

    let content = ber.header("encryptedContent")?;
    match content.tag {
        0x80 => {
            let len =
                content.len.ok_or_else(|| malformed("indefinite primitive encryptedContent"))?;
            ber.stream(len, &mut sink)?;
        }
        0xA0 => ber.stream_chunks(&content, &mut sink)?,
        _ => {
            return Err(
                AtRestError::Unsupported("detached content (no encryptedContent)".into()).into()
            );
        }
    }
    info.plaintext_len = sink.finish()?;

    ber.close(eci, None, "EncryptedContentInfo")?;
    ber.close(enveloped, Some(0xA1), "EnvelopedData")?;
    ber.close(explicit, None, "content")?;
    ber.close(outer, None, "ContentInfo")?;
    let mut one = [0u8; 1];
    match ber.r.read(&mut one) {
        Ok(0) => Ok(info),
        Ok(_) => Err(malformed("bytes after the ContentInfo")),
        Err(e) => Err(AtRestError::Io { what: "reading", message: e.to_string() }.into()),
    }
}

fn malformed(what: &str) -> Error {
    AtRestError::Malformed(what.to_owned()).into()
}

/// The AES-CBC ciphers, by OID.
fn content_cipher(oid: &ObjectIdentifier) -> Result<(&'static Algorithm, usize, &'static str)> {
    Ok(match *oid {
        rfc5911::ID_AES_256_CBC => (&AES_256, 32, "aes-256-cbc"),
        rfc5911::ID_AES_192_CBC => (&AES_192, 24, "aes-192-cbc"),
        rfc5911::ID_AES_128_CBC => (&AES_128, 16, "aes-128-cbc"),
        other => {
            let name = const_oid::db::DB.by_oid(&other).unwrap_or("unknown");
            return Err(AtRestError::Unsupported(format!("content cipher {other} ({name})")).into());
        }
    })
}

/// One key-transport recipient, its padding read.
struct Ktri {
    rid: RecipientIdentifier,
    transport: Result<KeyTransport>,
    enc_key: Vec<u8>,
}

/// The KeyTransRecipientInfos of a `RecipientInfos` body; other kinds (key agreement, KEK,
/// password, other) are skipped.
fn key_trans_recipients(body: &[u8]) -> Result<Vec<Ktri>> {
    let mut out = Vec::new();
    let mut rest = body;
    while !rest.is_empty() {
        let (tag, raw, after) = split_tlv(rest)?;
        rest = after;
        if tag != 0x30 {
            continue;
        }
        let k = KeyTransRecipientInfo::from_der(raw)
            .map_err(|e| AtRestError::Malformed(format!("KeyTransRecipientInfo: {e}")))?;
        let transport = key_transport(&k.key_enc_alg);
        out.push(Ktri { rid: k.rid, transport, enc_key: k.enc_key.into_bytes().into_vec() });
    }
    if out.is_empty() {
        return Err(AtRestError::Unsupported(
            "no key-transport recipient (only key agreement, KEK or password recipients)".into(),
        )
        .into());
    }
    Ok(out)
}

/// One definite-length TLV at the start of `input`: (tag, whole TLV, rest).
fn split_tlv(input: &[u8]) -> Result<(u8, &[u8], &[u8])> {
    let mut ber = Ber { r: input, pos: 0, ends: Vec::new() };
    let h = ber.header("RecipientInfo")?;
    let len = h.len.ok_or_else(|| malformed("indefinite length in recipientInfos"))?;
    let total = usize::try_from(ber.pos + len).map_err(|_| malformed("RecipientInfo length"))?;
    if total > input.len() {
        return Err(malformed("RecipientInfo longer than recipientInfos"));
    }
    Ok((h.tag, &input[..total], &input[total..]))
}

/// The padding named by a KeyTransRecipientInfo's `keyEncryptionAlgorithm`.
fn key_transport(alg: &AlgorithmIdentifierOwned) -> Result<KeyTransport> {
    match alg.oid {
        rfc5912::RSA_ENCRYPTION => Ok(KeyTransport::Pkcs1),
        rfc5912::ID_RSAES_OAEP => {
            let params = match &alg.parameters {
                None => RsaesOaepParams::default(),
                Some(p) if p.is_null() => RsaesOaepParams::default(),
                Some(p) => p
                    .decode_as::<RsaesOaepParams>()
                    .map_err(|e| AtRestError::Malformed(format!("RSAES-OAEP-params: {e}")))?,
            };
            let hash = params.hash.as_ref().map_or(rfc5912::ID_SHA_1, |h| h.oid);
            let mgf_hash = match &params.mask_gen {
                None => rfc5912::ID_SHA_1,
                Some(m) if m.oid == rfc5912::ID_MGF_1 => m
                    .parameters
                    .as_ref()
                    .and_then(|p| p.decode_as::<AlgorithmIdentifierOwned>().ok())
                    .map(|a| a.oid)
                    .ok_or_else(|| AtRestError::Malformed("MGF1 without its hash".into()))?,
                Some(m) => {
                    return Err(AtRestError::Unsupported(format!("OAEP mask {}", m.oid)).into());
                }
            };
            if let Some(p) = &params.p_source {
                let empty = p.oid == rfc5912::ID_P_SPECIFIED
                    && p.parameters
                        .as_ref()
                        .and_then(|v| v.decode_as::<der::asn1::OctetString>().ok())
                        .is_none_or(|o| o.as_bytes().is_empty());
                if !empty {
                    return Err(AtRestError::Unsupported("OAEP with a label".into()).into());
                }
            }
            match (hash, mgf_hash) {
                (rfc5912::ID_SHA_256, rfc5912::ID_SHA_256) => Ok(KeyTransport::OaepSha256),
                (rfc5912::ID_SHA_1, rfc5912::ID_SHA_1) => Ok(KeyTransport::OaepSha1),
                (h, m) => {
                    Err(AtRestError::Unsupported(format!("OAEP with hash {h}, MGF1 {m}")).into())
                }
            }
        }
        other => Err(AtRestError::Unsupported(format!("key transport {other}")).into()),
    }
}

/// Finds the recipient the key is and unwraps the content key (of `key_len` bytes).
fn unwrap_content_key(
    ktris: &[Ktri],
    key: &dyn RecipientKey,
    key_len: usize,
) -> Result<(Vec<u8>, KeyTransport, usize)> {
    let candidates: Vec<usize> = match key.certificate() {
        Some(cert) => {
            let cert = Certificate::from_der(cert).map_err(|e| {
                crate::error::CertificateError::BadCertificate(format!("key certificate: {e}"))
            })?;
            let ias = cert_rid(&cert)?;
            let ski = subject_key_id(&cert);
            ktris
                .iter()
                .enumerate()
                .filter(|(_, k)| match &k.rid {
                    RecipientIdentifier::IssuerAndSerialNumber(i) => {
                        i.to_der().ok().as_deref() == Some(ias.as_slice())
                    }
                    RecipientIdentifier::SubjectKeyIdentifier(s) => {
                        ski.as_deref() == Some(s.0.as_bytes())
                    }
                })
                .map(|(i, _)| i)
                .collect()
        }
        None => (0..ktris.len()).collect(),
    };
    if candidates.is_empty() {
        return Err(AtRestError::NotARecipient { recipients: ktris.len() }.into());
    }
    let by_certificate = key.certificate().is_some();
    let mut last = None;
    for i in candidates {
        let Some(k) = ktris.get(i) else { continue };
        let transport = match &k.transport {
            Ok(t) => *t,
            Err(e) if by_certificate => return Err(e.clone()),
            Err(e) => {
                last = Some(e.clone());
                continue;
            }
        };
        match key.unwrap_key(transport, &k.enc_key) {
            Ok(cek) if cek.len() == key_len => return Ok((cek, transport, i)),
            Ok(_) if by_certificate => {
                return Err(
                    AtRestError::DecryptionFailed("content key of the wrong size".into()).into()
                );
            }
            Err(e) if by_certificate => {
                // PKCS#1 v1.5: a bad block must not be told apart from a wrong key by
                // timing or by error (Bleichenbacher); a random key fails at the content.
                if transport == KeyTransport::Pkcs1 && matches!(e, Error::AtRest(_)) {
                    let mut random = vec![0u8; key_len];
                    SystemRandom::new()
                        .fill(&mut random)
                        .map_err(|_| AtRestError::DecryptionFailed("randomness".into()))?;
                    return Ok((random, transport, i));
                }
                return Err(e);
            }
            Ok(_) | Err(_) => last = None,
        }
    }
    Err(last.unwrap_or_else(|| AtRestError::NotARecipient { recipients: ktris.len() }.into()))
}

fn cert_rid(cert: &Certificate) -> Result<Vec<u8>> {
    let tbs = cert.tbs_certificate();
    cms::cert::IssuerAndSerialNumber {
        issuer: tbs.issuer().clone(),
        serial_number: tbs.serial_number().clone(),
    }
    .to_der()
    .map_err(|e| crate::error::CertificateError::BadCertificate(e.to_string()).into())
}

fn subject_key_id(cert: &Certificate) -> Option<Vec<u8>> {
    cert.tbs_certificate().extensions()?.iter().find_map(|e| {
        (e.extn_id == rfc5280::ID_CE_SUBJECT_KEY_IDENTIFIER)
            .then(|| der::asn1::OctetString::from_der(e.extn_value.as_bytes()).ok())
            .flatten()
            .map(|o| o.as_bytes().to_vec())
    })
}

/// The decrypting side of the content stream.
struct Plain<W: Write> {
    cipher: StreamingDecryptingKey,
    out: W,
    buf: Vec<u8>,
    written: u64,
}

impl<W: Write> Plain<W> {
    fn feed(&mut self, data: &[u8]) -> Result<()> {
        for piece in data.chunks(CHUNK) {
            let update = self
                .cipher
                .update(piece, &mut self.buf)
                .map_err(|_| AtRestError::DecryptionFailed("content".into()))?;
            let w = update.written();
            self.out
                .write_all(w)
                .map_err(|e| AtRestError::Io { what: "writing", message: e.to_string() })?;
            self.written += w.len() as u64;
        }
        Ok(())
    }

    fn finish(self) -> Result<u64> {
        let Plain { cipher, mut out, mut buf, written } = self;
        let last = cipher.finish(&mut buf).map_err(|_| {
            AtRestError::DecryptionFailed(
                "bad padding: wrong key, or the content is corrupted or cut".into(),
            )
        })?;
        let w = last.written();
        out.write_all(w)
            .and_then(|()| out.flush())
            .map_err(|e| AtRestError::Io { what: "writing", message: e.to_string() })?;
        Ok(written + w.len() as u64)
    }
}

/// A BER header.
struct Header {
    tag: u8,
    /// `None`: indefinite.
    len: Option<u64>,
}

/// A whole small element: its TLV bytes and where the body starts.
struct Element {
    raw: Vec<u8>,
    body_at: usize,
}

impl Element {
    fn body(&self) -> &[u8] {
        self.raw.get(self.body_at..).unwrap_or_default()
    }
}

/// A constructed element opened: where it ends (`None`: indefinite).
#[derive(Clone, Copy)]
struct Frame {
    end: Option<u64>,
}

/// A streaming BER reader: position, and the ends of the definite-length elements open.
struct Ber<R: Read> {
    r: R,
    pos: u64,
    ends: Vec<u64>,
}

impl<R: Read> Ber<R> {
    fn byte(&mut self, what: &str) -> Result<u8> {
        let mut b = [0u8; 1];
        self.fill(&mut b, what)?;
        Ok(b[0])
    }

    fn fill(&mut self, buf: &mut [u8], what: &str) -> Result<()> {
        match self.r.read_exact(buf) {
            Ok(()) => {
                self.pos += buf.len() as u64;
                Ok(())
            }
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                Err(AtRestError::Truncated(format!("input ends in {what}")).into())
            }
            Err(e) => Err(AtRestError::Io { what: "reading", message: e.to_string() }.into()),
        }
    }

    /// Reads a header; checks that a definite length fits in the enclosing element.
    fn header_raw(&mut self, what: &str, raw: &mut Vec<u8>) -> Result<Header> {
        let tag = self.byte(what)?;
        raw.push(tag);
        if tag & 0x1F == 0x1F {
            return Err(malformed(&format!("{what}: high tag number")));
        }
        let first = self.byte(what)?;
        raw.push(first);
        let len = if first < 0x80 {
            Some(u64::from(first))
        } else if first == 0x80 {
            if tag & 0x20 == 0 {
                return Err(malformed(&format!("{what}: indefinite length on a primitive")));
            }
            None
        } else {
            let n = usize::from(first & 0x7F);
            if n > 8 {
                return Err(malformed(&format!("{what}: length of {n} octets")));
            }
            let mut v: u64 = 0;
            for _ in 0..n {
                let b = self.byte(what)?;
                raw.push(b);
                v = (v << 8) | u64::from(b);
            }
            Some(v)
        };
        if let (Some(len), Some(&end)) = (len, self.ends.last()) {
            match self.pos.checked_add(len) {
                Some(e) if e <= end => {}
                _ => return Err(malformed(&format!("{what}: longer than its enclosing element"))),
            }
        }
        Ok(Header { tag, len })
    }

    fn header(&mut self, what: &str) -> Result<Header> {
        self.header_raw(what, &mut Vec::new())
    }

    /// Opens a constructed element of tag `tag`.
    fn open(&mut self, tag: u8, what: &str) -> Result<Frame> {
        let h = self.header(what)?;
        if h.tag != tag {
            return Err(malformed(&format!("{what}: tag 0x{:02X}, expected 0x{tag:02X}", h.tag)));
        }
        Ok(self.enter(&h))
    }

    fn enter(&mut self, h: &Header) -> Frame {
        let end = h.len.map(|l| self.pos + l);
        if let Some(e) = end {
            self.ends.push(e);
        }
        Frame { end }
    }

    /// Closes an element: a definite one must end here, an indefinite one with its
    /// end-of-contents octets. One optional trailing element of tag `optional` is skipped.
    fn close(&mut self, frame: Frame, optional: Option<u8>, what: &str) -> Result<()> {
        match frame.end {
            Some(end) => {
                if self.pos < end
                    && let Some(tag) = optional
                {
                    let h = self.header(what)?;
                    if h.tag != tag {
                        return Err(malformed(&format!("{what}: unexpected element")));
                    }
                    self.skip(&h, MAX_SKIPPED, what)?;
                }
                if self.pos != end {
                    return Err(malformed(&format!("{what}: length does not match its contents")));
                }
                self.ends.pop();
                Ok(())
            }
            None => {
                let mut h = self.header(what)?;
                if optional.is_some_and(|t| t == h.tag) {
                    self.skip(&h, MAX_SKIPPED, what)?;
                    h = self.header(what)?;
                }
                if h.tag == 0 && h.len == Some(0) {
                    Ok(())
                } else {
                    Err(malformed(&format!("{what}: missing end-of-contents")))
                }
            }
        }
    }

    /// A whole definite-length element of at most `max` body bytes.
    fn element(&mut self, tag: Option<u8>, max: u64, what: &str) -> Result<Element> {
        let mut raw = Vec::new();
        let h = self.header_raw(what, &mut raw)?;
        if tag.is_some_and(|t| t != h.tag) {
            return Err(malformed(&format!("{what}: unexpected tag 0x{:02X}", h.tag)));
        }
        let len = h.len.ok_or_else(|| malformed(&format!("{what}: indefinite length")))?;
        if len > max {
            return Err(malformed(&format!("{what}: {len} bytes (at most {max})")));
        }
        let body_at = raw.len();
        raw.resize(body_at + len as usize, 0);
        let (_, body) = raw.split_at_mut(body_at);
        self.fill(body, what)?;
        Ok(Element { raw, body_at })
    }

    fn oid(&mut self, what: &str) -> Result<ObjectIdentifier> {
        let e = self.element(Some(0x06), 64, what)?;
        ObjectIdentifier::from_der(&e.raw).map_err(|err| malformed(&format!("{what}: {err}")))
    }

    /// The body of a definite element whose header was read.
    fn body_of(&mut self, h: &Header, tag: u8, max: u64, what: &str) -> Result<Vec<u8>> {
        if h.tag != tag {
            return Err(malformed(&format!("{what}: tag 0x{:02X}, expected 0x{tag:02X}", h.tag)));
        }
        let len = h.len.ok_or_else(|| malformed(&format!("{what}: indefinite length")))?;
        if len > max {
            return Err(malformed(&format!("{what}: {len} bytes (at most {max})")));
        }
        let mut body = vec![0u8; len as usize];
        self.fill(&mut body, what)?;
        Ok(body)
    }

    /// Skips the body of an element whose header was read (definite only).
    fn skip(&mut self, h: &Header, max: u64, what: &str) -> Result<()> {
        let len = h
            .len
            .ok_or_else(|| AtRestError::Unsupported(format!("{what} with an indefinite length")))?;
        if len > max {
            return Err(malformed(&format!("{what}: {len} bytes (at most {max})")));
        }
        let copied = std::io::copy(&mut (&mut self.r).take(len), &mut std::io::sink())
            .map_err(|e| AtRestError::Io { what: "reading", message: e.to_string() })?;
        self.pos += copied;
        if copied < len {
            return Err(AtRestError::Truncated(format!("input ends in {what}")).into());
        }
        Ok(())
    }

    /// Streams `len` content bytes into the cipher.
    fn stream<W: Write>(&mut self, len: u64, sink: &mut Plain<W>) -> Result<()> {
        let mut buf = vec![0u8; CHUNK];
        let mut left = len;
        while left > 0 {
            let n = usize::try_from(left.min(CHUNK as u64)).unwrap_or(CHUNK);
            let piece = buf.get_mut(..n).unwrap_or_default();
            self.fill(piece, "encryptedContent")?;
            sink.feed(piece)?;
            left -= n as u64;
        }
        Ok(())
    }

    /// Streams a constructed OCTET STRING (BER: definite or indefinite, nested at most
    /// [`MAX_CHUNK_DEPTH`]) into the cipher.
    fn stream_chunks<W: Write>(&mut self, outer: &Header, sink: &mut Plain<W>) -> Result<()> {
        let mut stack = vec![self.enter(outer)];
        while let Some(top) = stack.last().copied() {
            if top.end.is_some_and(|end| self.pos == end) {
                stack.pop();
                self.ends.pop();
                continue;
            }
            let h = self.header("encryptedContent")?;
            match (h.tag, h.len) {
                (0x00, Some(0)) if top.end.is_none() => {
                    stack.pop();
                }
                (0x04, Some(len)) => self.stream(len, sink)?,
                (0x24, _) if stack.len() < MAX_CHUNK_DEPTH => stack.push(self.enter(&h)),
                _ => return Err(malformed("encryptedContent: unexpected element")),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_bounded() {
        let mut b = Ber { r: &[0x30u8, 0x89, 1, 2, 3, 4, 5, 6, 7, 8, 9][..], pos: 0, ends: vec![] };
        assert!(b.header("x").is_err());
        let mut b = Ber { r: &[0x04u8, 0x80][..], pos: 0, ends: vec![] };
        assert!(b.header("x").is_err());
        let mut b = Ber { r: &[0x1Fu8, 0x01][..], pos: 0, ends: vec![] };
        assert!(b.header("x").is_err());
        let mut b = Ber { r: &[0x30u8, 0x05, 0x04, 0x09][..], pos: 0, ends: vec![] };
        let f = b.open(0x30, "x").unwrap();
        assert!(f.end == Some(2 + 5));
        assert!(b.header("y").is_err(), "a child longer than its parent");
    }
}
