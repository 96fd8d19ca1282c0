//! Primitive operations shared by signing, verification and certificate paths: digests and
//! RSA PKCS#1 v1.5 signatures (aws-lc-rs, constant-time).

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, RwLock};

use aws_lc_rs::signature::{self, ParsedPublicKey, UnparsedPublicKey, VerificationAlgorithm};
use const_oid::ObjectIdentifier;
use const_oid::db::rfc5912;
use sha1::Digest as _;

/// A message digest algorithm as used in CMS and certificates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DigestAlgorithm {
    /// SHA-1: still used by real providers in CMS; accepted and flagged weak.
    Sha1,
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl DigestAlgorithm {
    /// The name used in reports and `micalg` (`sha1`, `sha256`, ...).
    pub fn name(self) -> &'static str {
        match self {
            DigestAlgorithm::Sha1 => "sha1",
            DigestAlgorithm::Sha256 => "sha256",
            DigestAlgorithm::Sha384 => "sha384",
            DigestAlgorithm::Sha512 => "sha512",
        }
    }

    /// Whether the algorithm is too weak for new signatures (SHA-1).
    pub fn is_weak(self) -> bool {
        matches!(self, DigestAlgorithm::Sha1)
    }

    /// The digest algorithm of a digest OID (`id-sha1`, `id-sha256`, ...).
    pub fn from_oid(oid: &ObjectIdentifier) -> Option<Self> {
        Some(match *oid {
            rfc5912::ID_SHA_1 => DigestAlgorithm::Sha1,
            rfc5912::ID_SHA_256 => DigestAlgorithm::Sha256,
            rfc5912::ID_SHA_384 => DigestAlgorithm::Sha384,
            rfc5912::ID_SHA_512 => DigestAlgorithm::Sha512,
            _ => return None,
        })
    }

    /// The digest OID.
    pub fn oid(self) -> ObjectIdentifier {
        match self {
            DigestAlgorithm::Sha1 => rfc5912::ID_SHA_1,
            DigestAlgorithm::Sha256 => rfc5912::ID_SHA_256,
            DigestAlgorithm::Sha384 => rfc5912::ID_SHA_384,
            DigestAlgorithm::Sha512 => rfc5912::ID_SHA_512,
        }
    }

    /// Digest of `data` (one pass, aws-lc-rs: the same assembly as OpenSSL's).
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        use aws_lc_rs::digest as d;
        let alg = match self {
            DigestAlgorithm::Sha1 => &d::SHA1_FOR_LEGACY_USE_ONLY,
            DigestAlgorithm::Sha256 => &d::SHA256,
            DigestAlgorithm::Sha384 => &d::SHA384,
            DigestAlgorithm::Sha512 => &d::SHA512,
        };
        d::digest(alg, data).as_ref().to_vec()
    }
}

/// An incremental digest (for streaming the signed part of large messages).
#[derive(Clone, Debug)]
pub enum Hasher {
    /// SHA-1 state.
    Sha1(sha1::Sha1),
    /// SHA-256 state.
    Sha256(sha2::Sha256),
    /// SHA-384 state.
    Sha384(sha2::Sha384),
    /// SHA-512 state.
    Sha512(sha2::Sha512),
}

impl Hasher {
    /// A new hasher.
    pub fn new(alg: DigestAlgorithm) -> Self {
        match alg {
            DigestAlgorithm::Sha1 => Hasher::Sha1(sha1::Sha1::new()),
            DigestAlgorithm::Sha256 => Hasher::Sha256(sha2::Sha256::new()),
            DigestAlgorithm::Sha384 => Hasher::Sha384(sha2::Sha384::new()),
            DigestAlgorithm::Sha512 => Hasher::Sha512(sha2::Sha512::new()),
        }
    }

    /// Feeds bytes.
    pub fn update(&mut self, data: &[u8]) {
        match self {
            Hasher::Sha1(h) => h.update(data),
            Hasher::Sha256(h) => h.update(data),
            Hasher::Sha384(h) => h.update(data),
            Hasher::Sha512(h) => h.update(data),
        }
    }

    /// The digest.
    pub fn finish(self) -> Vec<u8> {
        match self {
            Hasher::Sha1(h) => h.finalize().to_vec(),
            Hasher::Sha256(h) => h.finalize().to_vec(),
            Hasher::Sha384(h) => h.finalize().to_vec(),
            Hasher::Sha512(h) => h.finalize().to_vec(),
        }
    }
}

/// SHA-1 of `data` as lowercase hex (certificate fingerprints, `.hash` parts).
pub fn sha1_hex(data: &[u8]) -> String {
    hex(&DigestAlgorithm::Sha1.digest(data))
}

/// SHA-256 of `data` as lowercase hex.
pub fn sha256_hex(data: &[u8]) -> String {
    hex(&DigestAlgorithm::Sha256.digest(data))
}

/// Lowercase hex encoding.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

/// Verifies an RSA PKCS#1 v1.5 signature.
///
/// `public_key` is the DER `RSAPublicKey` (the `subjectPublicKey` bit string's content of an
/// RSA SubjectPublicKeyInfo). Keys of 1024 to 8192 bits are accepted (the RFC's own examples
/// use 1024-bit keys; real provider keys are 2048-bit).
pub fn verify_rsa_pkcs1(
    alg: DigestAlgorithm,
    public_key: &[u8],
    message: &[u8],
    signature_value: &[u8],
) -> bool {
    let algorithm: &'static dyn VerificationAlgorithm = match alg {
        DigestAlgorithm::Sha1 => &signature::RSA_PKCS1_1024_8192_SHA1_FOR_LEGACY_USE_ONLY,
        DigestAlgorithm::Sha256 => &signature::RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY,
        DigestAlgorithm::Sha384 => &signature::RSA_PKCS1_2048_8192_SHA384,
        DigestAlgorithm::Sha512 => &signature::RSA_PKCS1_1024_8192_SHA512_FOR_LEGACY_USE_ONLY,
    };
    match parsed_key(alg, algorithm, public_key) {
        Some(key) => key.verify_sig(message, signature_value).is_ok(),
        None => {
            UnparsedPublicKey::new(algorithm, public_key).verify(message, signature_value).is_ok()
        }
    }
}

/// Parsed RSA public keys, reused across verifications: a verifier sees the same few
/// provider and CA keys again and again. Keyed by the key's DER (looked up borrowed: no
/// allocation on a hit), one parsed key per digest algorithm. Bounded; cleared when full.
fn parsed_key(
    alg: DigestAlgorithm,
    algorithm: &'static dyn VerificationAlgorithm,
    public_key: &[u8],
) -> Option<Arc<ParsedPublicKey>> {
    type Slots = [Option<Arc<ParsedPublicKey>>; 4];
    static CACHE: LazyLock<DerCache<Slots, 256>> = LazyLock::new(DerCache::default);
    let slot = match alg {
        DigestAlgorithm::Sha1 => 0,
        DigestAlgorithm::Sha256 => 1,
        DigestAlgorithm::Sha384 => 2,
        DigestAlgorithm::Sha512 => 3,
    };
    if let Some(k) = CACHE.get(public_key, |s| s[slot].clone()) {
        return Some(k);
    }
    let parsed = Arc::new(ParsedPublicKey::new(algorithm, public_key).ok()?);
    CACHE.update(public_key, |s| s[slot] = Some(Arc::clone(&parsed)));
    Some(parsed)
}

/// Values derived from DER objects that come back again and again (a provider's public key,
/// a signer's certificates), keyed by the DER itself and looked up borrowed: a hit allocates
/// nothing. At most `CAP` entries; a full cache is emptied. `Send + Sync`.
#[derive(Debug)]
pub(crate) struct DerCache<V, const CAP: usize> {
    map: RwLock<HashMap<Vec<u8>, V>>,
}

impl<V, const CAP: usize> Default for DerCache<V, CAP> {
    fn default() -> Self {
        DerCache { map: RwLock::new(HashMap::new()) }
    }
}

impl<V: Default, const CAP: usize> DerCache<V, CAP> {
    /// What `read` takes from the entry of `der`, if there is one.
    pub(crate) fn get<R>(&self, der: &[u8], read: impl FnOnce(&V) -> Option<R>) -> Option<R> {
        self.map.read().ok()?.get(der).and_then(read)
    }

    /// Changes the entry of `der` with `write` (a new entry starts as `V::default()`).
    pub(crate) fn update(&self, der: &[u8], write: impl FnOnce(&mut V)) {
        if let Ok(mut map) = self.map.write() {
            if map.len() >= CAP && !map.contains_key(der) {
                map.clear();
            }
            write(map.entry(der.to_vec()).or_default());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests() {
        assert_eq!(sha1_hex(b"abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            DigestAlgorithm::from_oid(&DigestAlgorithm::Sha384.oid()),
            Some(DigestAlgorithm::Sha384)
        );
    }

    #[test]
    fn one_shot_digests_equal_the_streamed_ones() {
        let data: Vec<u8> =
            (0..10_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        for alg in [
            DigestAlgorithm::Sha1,
            DigestAlgorithm::Sha256,
            DigestAlgorithm::Sha384,
            DigestAlgorithm::Sha512,
        ] {
            for len in [0, 1, 55, 64, 1000, data.len()] {
                let mut h = Hasher::new(alg);
                let (a, b) = data[..len].split_at(len / 3);
                h.update(a);
                h.update(b);
                assert_eq!(alg.digest(&data[..len]), h.finish(), "{alg:?} {len}");
            }
        }
    }

    #[test]
    fn parsed_keys_are_cached_per_key_and_digest() {
        // not a key: nothing is cached, the verification fails without a panic
        assert!(!verify_rsa_pkcs1(DigestAlgorithm::Sha256, b"not a key", b"m", b"s"));
    }

    #[test]
    fn der_values_are_found_borrowed_and_stay_bounded() {
        let cache = DerCache::<Option<u32>, 2>::default();
        assert_eq!(cache.get(b"a", |v| *v), None);
        cache.update(b"a", |v| *v = Some(1));
        cache.update(b"b", |v| *v = Some(2));
        assert_eq!(cache.get(b"a", |v| *v), Some(1));
        // a third key empties the full cache first
        cache.update(b"c", |v| *v = Some(3));
        assert_eq!((cache.get(b"a", |v| *v), cache.get(b"c", |v| *v)), (None, Some(3)));
        // an entry is changed in place, not counted again
        cache.update(b"c", |v| *v = Some(4));
        assert_eq!(cache.get(b"c", |v| *v), Some(4));
    }
}
