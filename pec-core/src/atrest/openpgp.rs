//! OpenPGP output for encryption at rest (feature `openpgp`, off by default): a message
//! encrypted to OpenPGP certificates, for archives whose keepers hold GnuPG keys rather than
//! X.509 certificates.
//!
//! Through rpgp (`pgp` 0.21): one Public-Key Encrypted Session Key packet (v3) per recipient
//! and a Symmetrically Encrypted Integrity Protected Data packet v1 (SEIPDv1, AES-256 with the
//! modification detection code) around an uncompressed binary Literal Data packet, streamed
//! in partial-length chunks. SEIPDv1 with v4 keys is what GnuPG 2.2 (Debian's 2.2.40) reads;
//! v6 keys and SEIPDv2 (RFC 9580) are refused.
//!
//! Each certificate gives its newest valid encryption subkey: bound by a binding signature
//! that verifies, with a key-flags subpacket allowing encryption (of storage or of
//! communications), an algorithm that can encrypt, not revoked and not expired. A file that
//! is not an OpenPGP public key, or a certificate without such a subkey, is an
//! [`AtRestError::BadRecipient`].
//!
//! This feature pulls the `rsa` crate 0.9 (RUSTSEC-2023-0071, a timing side channel in RSA
//! *decryption*): pec only encrypts to public keys here, so the leak does not apply, and the
//! feature is never in libpec or the Python module (deny.toml, MAILSEC.md §5).

use std::fmt;
use std::io::{Read, Write};

use pgp::composed::SignedPublicSubKey;
use pgp::composed::{ArmorOptions, Deserializable as _, MessageBuilder, SignedPublicKey};
use pgp::crypto::sym::SymmetricKeyAlgorithm;
use pgp::packet::SignatureType;
use pgp::types::{KeyDetails as _, KeyVersion, Timestamp};

use super::encrypt::EncryptInfo;
use crate::crypto::{DigestAlgorithm, Hasher};
use crate::error::{AtRestError, Error, Result};

/// An OpenPGP recipient: the encryption subkey chosen from a certificate.
#[derive(Clone)]
pub struct PgpRecipient {
    subkey: SignedPublicSubKey,
    /// Fingerprint of the primary key (uppercase hex).
    fingerprint: String,
    /// Fingerprint of the chosen subkey (uppercase hex).
    subkey_fingerprint: String,
    /// The first user ID, for messages.
    user_id: String,
}

impl fmt::Debug for PgpRecipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgpRecipient")
            .field("fingerprint", &self.fingerprint)
            .field("subkey", &self.subkey_fingerprint)
            .field("user_id", &self.user_id)
            .finish_non_exhaustive()
    }
}

impl PgpRecipient {
    /// Every certificate of a key file (ASCII-armored, as `gpg --armor --export` writes, or
    /// binary), each as the recipient of its newest valid encryption subkey.
    ///
    /// # Errors
    /// [`AtRestError::BadRecipient`] when the file holds no OpenPGP public key (garbage, a
    /// secret key block, an X.509 certificate), or a certificate has no usable encryption
    /// subkey.
    pub fn from_key_file(bytes: &[u8]) -> Result<Vec<PgpRecipient>> {
        let bad = |m: String| Error::from(AtRestError::BadRecipient(short(m)));
        let mut out = Vec::new();
        for block in blocks(bytes) {
            let (keys, _) = SignedPublicKey::from_reader_many(block)
                .map_err(|e| bad(format!("not an OpenPGP public key: {e}")))?;
            for key in keys {
                let key = key.map_err(|e| bad(format!("not an OpenPGP public key: {e}")))?;
                out.push(Self::from_certificate(&key)?);
            }
        }
        if out.is_empty() {
            return Err(bad("not an OpenPGP public key: no certificate in the file".into()));
        }
        Ok(out)
    }

    /// The recipient of one certificate (its newest valid encryption subkey).
    ///
    /// # Errors
    /// [`AtRestError::BadRecipient`] when it has none.
    pub fn from_certificate(key: &SignedPublicKey) -> Result<PgpRecipient> {
        let fingerprint = format!("{:X}", key.primary_key.fingerprint());
        let user_id = key
            .details
            .users
            .first()
            .map(|u| String::from_utf8_lossy(u.id.id()).into_owned())
            .unwrap_or_default();
        let now = Timestamp::now().as_secs();
        let mut best: Option<&SignedPublicSubKey> = None;
        for sub in &key.public_subkeys {
            if !usable(sub, key, now) {
                continue;
            }
            if best.is_none_or(|b| sub.key.created_at().as_secs() >= b.key.created_at().as_secs()) {
                best = Some(sub);
            }
        }
        let Some(subkey) = best else {
            return Err(AtRestError::BadRecipient(format!(
                "OpenPGP key {fingerprint} ({user_id}) has no valid v4 encryption subkey \
                 (flags allowing encryption, not revoked, not expired)"
            ))
            .into());
        };
        Ok(PgpRecipient {
            subkey_fingerprint: format!("{:X}", subkey.key.fingerprint()),
            subkey: subkey.clone(),
            fingerprint,
            user_id,
        })
    }

    /// Fingerprint of the certificate's primary key (uppercase hex).
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// Fingerprint of the encryption subkey the message is encrypted to (uppercase hex).
    pub fn subkey_fingerprint(&self) -> &str {
        &self.subkey_fingerprint
    }

    /// The certificate's first user ID (empty without one).
    pub fn user_id(&self) -> &str {
        &self.user_id
    }
}

/// rpgp's parse errors can end in a debug dump of the bytes: the first line, at most 160
/// characters, is enough to say what is wrong.
fn short(mut m: String) -> String {
    if let Some(i) = m.find(['\n', '\r']) {
        m.truncate(i);
    }
    if let Some((i, _)) = m.char_indices().nth(160) {
        m.truncate(i);
        m.push('…');
    }
    m
}

/// The armor blocks of an armored file (files concatenated by `cat a.asc b.asc`), each read
/// on its own since the armor reader stops at the first end line; a binary file is one block.
fn blocks(bytes: &[u8]) -> Vec<&[u8]> {
    const BEGIN: &[u8] = b"-----BEGIN PGP ";
    let starts: Vec<usize> = memchr::memmem::find_iter(bytes, BEGIN).collect();
    let armored = bytes.iter().position(|b| !b.is_ascii_whitespace()) == starts.first().copied();
    if !armored || starts.len() < 2 {
        return vec![bytes];
    }
    let ends = starts.iter().skip(1).copied().chain([bytes.len()]);
    starts.iter().zip(ends).filter_map(|(&a, b)| bytes.get(a..b)).collect()
}

/// Whether `sub` can receive: v4, an encrypting algorithm, a verifying binding whose newest
/// signature allows encryption and has not expired, no revocation.
fn usable(sub: &SignedPublicSubKey, key: &SignedPublicKey, now: u32) -> bool {
    if sub.key.version() != KeyVersion::V4 || !sub.key.algorithm().can_encrypt() {
        return false;
    }
    if sub.signatures.iter().any(|s| s.typ() == Some(SignatureType::SubkeyRevocation)) {
        return false;
    }
    let binding = sub
        .signatures
        .iter()
        .filter(|s| s.typ() == Some(SignatureType::SubkeyBinding))
        .max_by_key(|s| s.created().map(|t| t.as_secs()).unwrap_or(0));
    let Some(binding) = binding else { return false };
    if binding.verify_subkey_binding(&key.primary_key, &sub.key).is_err() {
        return false;
    }
    let flags = binding.key_flags();
    if !(flags.encrypt_storage() || flags.encrypt_comms()) {
        return false;
    }
    match binding.key_expiration_time().map(|d| d.as_secs()) {
        Some(secs) if secs > 0 => {
            u64::from(sub.key.created_at().as_secs()) + u64::from(secs) > u64::from(now)
        }
        _ => true,
    }
}

/// Encrypts everything `input` yields to `recipients` as an OpenPGP message (SEIPDv1,
/// AES-256), binary or ASCII-armored (`-----BEGIN PGP MESSAGE-----`), written to `output` as
/// it goes (bounded memory).
///
/// # Errors
/// [`Error::InvalidArgument`] without recipients; [`AtRestError::Io`] when reading, writing or
/// encrypting fails. After an error the output is incomplete: discard it.
pub fn encrypt_openpgp<R: Read, W: Write>(
    input: R,
    recipients: &[PgpRecipient],
    armor: bool,
    output: W,
) -> Result<EncryptInfo> {
    if recipients.is_empty() {
        return Err(Error::InvalidArgument("encryption needs at least one recipient".into()));
    }
    let mut rng = rand08::rngs::OsRng;
    let mut reader =
        Measured { inner: input, hasher: Hasher::new(DigestAlgorithm::Sha256), len: 0 };
    let mut writer = Counted { inner: output, len: 0 };
    let pgp_err = |e: pgp::errors::Error| -> Error {
        AtRestError::Io { what: "writing the OpenPGP message", message: e.to_string() }.into()
    };
    {
        let mut builder = MessageBuilder::from_reader("", &mut reader)
            .seipd_v1(&mut rng, SymmetricKeyAlgorithm::AES256);
        for r in recipients {
            builder.encrypt_to_key(&mut rng, &r.subkey).map_err(|e| {
                Error::from(AtRestError::BadRecipient(format!(
                    "OpenPGP key {}: {e}",
                    r.fingerprint
                )))
            })?;
        }
        if armor {
            builder.to_armored_writer(rng, ArmorOptions::default(), &mut writer)
        } else {
            builder.to_writer(rng, &mut writer)
        }
        .map_err(pgp_err)?;
    }
    writer
        .inner
        .flush()
        .map_err(|e| AtRestError::Io { what: "writing", message: e.to_string() })?;
    Ok(EncryptInfo {
        plaintext_len: reader.len,
        plaintext_sha256: reader.hasher.finish(),
        output_len: writer.len,
    })
}

/// A reader that hashes and counts what passes.
struct Measured<R> {
    inner: R,
    hasher: Hasher,
    len: u64,
}

impl<R: Read> Read for Measured<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(buf.get(..n).unwrap_or_default());
        self.len += n as u64;
        Ok(n)
    }
}

/// A writer that counts what passes.
struct Counted<W> {
    inner: W,
    len: u64,
}

impl<W: Write> Write for Counted<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.len += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}
