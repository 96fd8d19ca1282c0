//! Writing CMS EnvelopedData: one KeyTransRecipientInfo per recipient, AES-256-CBC content,
//! streamed.

use std::io::{Read, Write};

use aws_lc_rs::cipher::{AES_256, EncryptionContext, StreamingEncryptingKey, UnboundCipherKey};
use aws_lc_rs::iv::FixedLength;
use aws_lc_rs::rand::{SecureRandom as _, SystemRandom};
use aws_lc_rs::rsa::{
    OAEP_SHA1_MGF1SHA1, OAEP_SHA256_MGF1SHA256, OaepPublicEncryptingKey, Pkcs1PublicEncryptingKey,
};
use cms::content_info::CmsVersion;
use cms::enveloped_data::{
    KeyTransRecipientInfo, RecipientIdentifier, RecipientInfo, RecipientInfos,
};
use const_oid::db::{rfc5911, rfc5912};
use der::Encode as _;
use der::asn1::{Any, OctetString};
use spki::AlgorithmIdentifierOwned;

use super::{CHUNK, ID_DATA, ID_ENVELOPED_DATA, KeyTransport, Recipient, RsaesOaepParams};
use crate::crypto::{DigestAlgorithm, Hasher};
use crate::error::{AtRestError, Error, Result};

/// AES block size: CBC with PKCS#7 padding adds 1 to 16 bytes.
const BLOCK: u64 = 16;

/// What [`encrypt`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncryptInfo {
    /// Plaintext bytes read.
    pub plaintext_len: u64,
    /// SHA-256 of the plaintext (to record beside the encrypted file: a seal or a database
    /// row can then name the plaintext without decrypting).
    pub plaintext_sha256: Vec<u8>,
    /// Bytes written (the whole EnvelopedData).
    pub output_len: u64,
}

/// Encrypts everything `input` yields to `recipients` as a CMS `ContentInfo` holding an
/// EnvelopedData, written to `output` as it goes (bounded memory).
///
/// With `content_len` (the length of a file, say) the output is DER with definite lengths,
/// and `input` must yield exactly that many bytes; without it (a pipe) the output is BER with
/// indefinite lengths. Each recipient gets the content-encryption key with its own
/// [`KeyTransport`].
///
/// # Errors
/// [`Error::InvalidArgument`] without recipients; [`AtRestError::LengthMismatch`] when
/// `input` yields another length than announced; [`AtRestError::Io`] when reading or writing
/// fails. After an error the output is incomplete: discard it.
pub fn encrypt<R: Read, W: Write>(
    mut input: R,
    content_len: Option<u64>,
    recipients: &[Recipient],
    output: W,
) -> Result<EncryptInfo> {
    if recipients.is_empty() {
        return Err(Error::InvalidArgument("encryption needs at least one recipient".into()));
    }
    let rng = SystemRandom::new();
    let mut cek = [0u8; 32];
    let mut iv = [0u8; 16];
    rng.fill(&mut cek).map_err(|_| AtRestError::Io {
        what: "generating a key",
        message: "no randomness".into(),
    })?;
    rng.fill(&mut iv).map_err(|_| AtRestError::Io {
        what: "generating a key",
        message: "no randomness".into(),
    })?;

    let infos = recipients.iter().map(|r| recipient_info(r, &cek)).collect::<Result<Vec<_>>>()?;
    let cipher_key = UnboundCipherKey::new(&AES_256, &cek)
        .map_err(|_| AtRestError::Unsupported("AES-256 key".into()))?;
    cek.fill(0);
    let recips = RecipientInfos::try_from(infos)
        .and_then(|r| r.to_der())
        .map_err(|e| AtRestError::Malformed(format!("encoding recipient infos: {e}")))?;
    let content_alg = AlgorithmIdentifierOwned {
        oid: rfc5911::ID_AES_256_CBC,
        parameters: Some(
            OctetString::new(iv.to_vec())
                .and_then(|o| Any::encode_from(&o))
                .map_err(|e| AtRestError::Malformed(e.to_string()))?,
        ),
    }
    .to_der()
    .map_err(|e| AtRestError::Malformed(format!("encoding the content algorithm: {e}")))?;
    let mut cipher = StreamingEncryptingKey::less_safe_cbc_pkcs7(
        cipher_key,
        EncryptionContext::Iv128(FixedLength::from(iv)),
    )
    .map_err(|_| AtRestError::Unsupported("AES-256-CBC".into()))?;

    let mut out = Counting { inner: output, written: 0 };
    let oid_enveloped = oid_tlv(&ID_ENVELOPED_DATA)?;
    let oid_data = oid_tlv(&ID_DATA)?;
    const VERSION_0: [u8; 3] = [0x02, 0x01, 0x00];

    // The header, up to the first byte of ciphertext.
    let mut head = Vec::with_capacity(recips.len() + 128);
    match content_len {
        Some(n) => {
            let c = (n / BLOCK + 1) * BLOCK;
            let eci_body = oid_data.len() as u64 + content_alg.len() as u64 + header_len(c) + c;
            let env_body =
                VERSION_0.len() as u64 + recips.len() as u64 + header_len(eci_body) + eci_body;
            let explicit_body = header_len(env_body) + env_body;
            let outer_body = oid_enveloped.len() as u64 + header_len(explicit_body) + explicit_body;
            push_header(&mut head, 0x30, outer_body);
            head.extend_from_slice(&oid_enveloped);
            push_header(&mut head, 0xA0, explicit_body);
            push_header(&mut head, 0x30, env_body);
            head.extend_from_slice(&VERSION_0);
            head.extend_from_slice(&recips);
            push_header(&mut head, 0x30, eci_body);
            head.extend_from_slice(&oid_data);
            head.extend_from_slice(&content_alg);
            push_header(&mut head, 0x80, c);
        }
        None => {
            head.extend_from_slice(&[0x30, 0x80]);
            head.extend_from_slice(&oid_enveloped);
            head.extend_from_slice(&[0xA0, 0x80, 0x30, 0x80]);
            head.extend_from_slice(&VERSION_0);
            head.extend_from_slice(&recips);
            head.extend_from_slice(&[0x30, 0x80]);
            head.extend_from_slice(&oid_data);
            head.extend_from_slice(&content_alg);
            head.extend_from_slice(&[0xA0, 0x80]);
        }
    }
    out.write(&head)?;

    let chunked = content_len.is_none();
    let mut hasher = Hasher::new(DigestAlgorithm::Sha256);
    let mut buf = vec![0u8; CHUNK];
    let mut enc = vec![0u8; CHUNK + BLOCK as usize];
    let mut read: u64 = 0;
    loop {
        let n = match input.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                return Err(AtRestError::Io { what: "reading", message: e.to_string() }.into());
            }
        };
        read += n as u64;
        if let Some(announced) = content_len
            && read > announced
        {
            return Err(AtRestError::LengthMismatch { announced, read }.into());
        }
        let plain = buf.get(..n).unwrap_or_default();
        hasher.update(plain);
        let update = cipher
            .update(plain, &mut enc)
            .map_err(|_| AtRestError::Unsupported("AES-256-CBC update".into()))?;
        out.piece(update.written(), chunked)?;
    }
    if let Some(announced) = content_len
        && read != announced
    {
        return Err(AtRestError::LengthMismatch { announced, read }.into());
    }
    let (_, last) = cipher
        .finish(&mut enc)
        .map_err(|_| AtRestError::Unsupported("AES-256-CBC finish".into()))?;
    out.piece(last.written(), chunked)?;
    if chunked {
        // the end-of-contents octets of [0], EncryptedContentInfo, EnvelopedData, [0], ContentInfo
        out.write(&[0u8; 10])?;
    }
    out.inner.flush().map_err(|e| AtRestError::Io { what: "writing", message: e.to_string() })?;
    Ok(EncryptInfo {
        plaintext_len: read,
        plaintext_sha256: hasher.finish(),
        output_len: out.written,
    })
}

/// [`encrypt`] of a byte slice into a new vector (DER).
///
/// # Errors
/// As [`encrypt`].
pub fn encrypt_bytes(data: &[u8], recipients: &[Recipient]) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(data.len() + 1024);
    encrypt(data, Some(data.len() as u64), recipients, &mut out)?;
    Ok(out)
}

/// The KeyTransRecipientInfo of one recipient: the content key encrypted to its RSA key.
fn recipient_info(r: &Recipient, cek: &[u8]) -> Result<RecipientInfo> {
    let failed = |what: &str| -> Error {
        AtRestError::BadRecipient(format!("{}: {what} encryption failed", r.subject)).into()
    };
    let (enc_key, key_enc_alg) = match r.transport {
        KeyTransport::Pkcs1 => {
            let k = Pkcs1PublicEncryptingKey::new(r.public_key.clone())
                .map_err(|_| failed("PKCS#1 v1.5"))?;
            let mut out = vec![0u8; k.ciphertext_size()];
            let n = k.encrypt(cek, &mut out).map_err(|_| failed("PKCS#1 v1.5"))?.len();
            out.truncate(n);
            let alg = AlgorithmIdentifierOwned {
                oid: rfc5912::RSA_ENCRYPTION,
                parameters: Some(Any::null()),
            };
            (out, alg)
        }
        KeyTransport::OaepSha1 | KeyTransport::OaepSha256 => {
            let k =
                OaepPublicEncryptingKey::new(r.public_key.clone()).map_err(|_| failed("OAEP"))?;
            let (alg, params) = if r.transport == KeyTransport::OaepSha1 {
                // all defaults: an empty SEQUENCE (RFC 4055 §4.1)
                (&OAEP_SHA1_MGF1SHA1, RsaesOaepParams::default())
            } else {
                let sha256 =
                    AlgorithmIdentifierOwned { oid: rfc5912::ID_SHA_256, parameters: None };
                let mgf_params =
                    Any::encode_from(&sha256).map_err(|e| AtRestError::Malformed(e.to_string()))?;
                let params = RsaesOaepParams {
                    hash: Some(sha256),
                    mask_gen: Some(AlgorithmIdentifierOwned {
                        oid: rfc5912::ID_MGF_1,
                        parameters: Some(mgf_params),
                    }),
                    p_source: None,
                };
                (&OAEP_SHA256_MGF1SHA256, params)
            };
            let mut out = vec![0u8; k.ciphertext_size()];
            let n = k.encrypt(alg, cek, &mut out, None).map_err(|_| failed("OAEP"))?.len();
            out.truncate(n);
            let params =
                Any::encode_from(&params).map_err(|e| AtRestError::Malformed(e.to_string()))?;
            (
                out,
                AlgorithmIdentifierOwned { oid: rfc5912::ID_RSAES_OAEP, parameters: Some(params) },
            )
        }
    };
    Ok(RecipientInfo::Ktri(KeyTransRecipientInfo {
        version: CmsVersion::V0,
        rid: RecipientIdentifier::IssuerAndSerialNumber(r.rid.clone()),
        key_enc_alg,
        enc_key: OctetString::new(enc_key).map_err(|e| AtRestError::Malformed(e.to_string()))?,
    }))
}

fn oid_tlv(oid: &const_oid::ObjectIdentifier) -> Result<Vec<u8>> {
    Ok(oid.to_der().map_err(|e| AtRestError::Malformed(e.to_string()))?)
}

/// Length of a DER header (one tag byte) for a body of `len` bytes.
fn header_len(len: u64) -> u64 {
    1 + length_octets(len).len() as u64
}

fn length_octets(len: u64) -> Vec<u8> {
    if len < 0x80 {
        return vec![len as u8];
    }
    let bytes = len.to_be_bytes();
    let skip = bytes.iter().take_while(|&&b| b == 0).count();
    let mut out = vec![0x80 | (8 - skip) as u8];
    out.extend_from_slice(bytes.get(skip..).unwrap_or_default());
    out
}

fn push_header(out: &mut Vec<u8>, tag: u8, len: u64) {
    out.push(tag);
    out.extend_from_slice(&length_octets(len));
}

/// The output, counting what was written.
struct Counting<W: Write> {
    inner: W,
    written: u64,
}

impl<W: Write> Counting<W> {
    fn write(&mut self, bytes: &[u8]) -> Result<()> {
        self.inner
            .write_all(bytes)
            .map_err(|e| AtRestError::Io { what: "writing", message: e.to_string() })?;
        self.written += bytes.len() as u64;
        Ok(())
    }

    /// Ciphertext: as is (definite length), or as one OCTET STRING of the chunked form.
    fn piece(&mut self, bytes: &[u8], chunked: bool) -> Result<()> {
        if bytes.is_empty() {
            return Ok(());
        }
        if chunked {
            let mut h = Vec::with_capacity(10);
            push_header(&mut h, 0x04, bytes.len() as u64);
            self.write(&h)?;
        }
        self.write(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_are_minimal() {
        assert_eq!(length_octets(0), vec![0]);
        assert_eq!(length_octets(127), vec![127]);
        assert_eq!(length_octets(128), vec![0x81, 128]);
        assert_eq!(length_octets(256), vec![0x82, 1, 0]);
        assert_eq!(header_len(0xFFFF), 4);
        assert_eq!(header_len(30 << 20), 6);
    }
}
