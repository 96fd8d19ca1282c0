//! The in-memory providers index: built once, immutable, shared by threads without locks
//! (docs/SPEC.md §8.3: is a recipient certified, where to send notices, verify a provider signature).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use super::ldif::{self, LdifLimits};
use super::{ProviderDirectory, ProviderRecord};
use crate::codec::hex_value as hex_val;
use crate::error::{DirectoryError, Error, Result};

/// The longest domain name kept in the index (RFC 1035: 255 octets).
const MAX_DOMAIN: usize = 255;

/// An immutable, in-memory providers index with hash tables by managed domain, certificate
/// SHA-1 and provider name.
///
/// Look-ups take `&self`, allocate nothing and take no lock; share it as `Arc<Directory>`.
#[derive(Clone, Debug, Default)]
pub struct Directory {
    records: Vec<Arc<ProviderRecord>>,
    by_domain: HashMap<Box<[u8]>, u32, FastHash>,
    by_hash: HashMap<[u8; 20], u32, FastHash>,
    by_name: HashMap<Box<[u8]>, u32, FastHash>,
    domains: usize,
}

impl Directory {
    /// Builds the index from provider records.
    ///
    /// Refused (a [`DirectoryError::Entry`] naming the DN): two entries with the same DN,
    /// a domain managed by two entries, a certificate listed by two entries, an empty
    /// domain or one longer than 255 bytes. A trust list that contradicts itself is not
    /// used.
    ///
    /// `by_name` answers the main entry of a provider (the one without `providerUnit`),
    /// else its first entry.
    pub fn from_records(records: Vec<ProviderRecord>) -> Result<Directory> {
        let mut dir = Directory::default();
        let n_domains: usize = records.iter().map(|r| r.managed_domains.len()).sum();
        dir.by_domain.reserve(n_domains);
        dir.by_hash.reserve(records.iter().map(|r| r.cert_hashes.len()).sum());
        dir.by_name.reserve(records.len());
        let mut dns: HashMap<String, u32, FastHash> = HashMap::default();
        for (i, rec) in records.into_iter().enumerate() {
            let bad = |message: String| {
                Error::Directory(DirectoryError::Entry { dn: rec.dn.clone(), message })
            };
            let idx = u32::try_from(i).map_err(|_| bad("too many records".into()))?;
            if dns.insert(rec.dn.to_ascii_lowercase(), idx).is_some() {
                return Err(bad("duplicate entry (same dn twice)".into()));
            }
            for d in &rec.managed_domains {
                let key = d.to_ascii_lowercase().into_bytes().into_boxed_slice();
                if key.is_empty() || key.len() > MAX_DOMAIN {
                    return Err(bad(format!("managedDomains {d:?} has an invalid length")));
                }
                if let Some(&other) = dir.by_domain.get(&key)
                    && other != idx
                {
                    let other_dn =
                        dir.records.get(other as usize).map(|r| r.dn.as_str()).unwrap_or("?");
                    return Err(bad(format!("domain {d} is also managed by {other_dn}")));
                }
                dir.by_domain.insert(key, idx);
            }
            for h in &rec.cert_hashes {
                let key = parse_sha1(h).ok_or_else(|| {
                    bad(format!("providerCertificateHash {h:?} is not 40 hex digits"))
                })?;
                if let Some(&other) = dir.by_hash.get(&key)
                    && other != idx
                {
                    let other_dn =
                        dir.records.get(other as usize).map(|r| r.dn.as_str()).unwrap_or("?");
                    return Err(bad(format!("certificate {h} is also listed by {other_dn}")));
                }
                dir.by_hash.insert(key, idx);
            }
            let name = rec.name.to_lowercase().into_bytes().into_boxed_slice();
            let replace = match dir.by_name.get(&name) {
                None => true,
                Some(&other) => {
                    rec.unit.is_none()
                        && dir.records.get(other as usize).is_some_and(|r| r.unit.is_some())
                }
            };
            if replace {
                dir.by_name.insert(name, idx);
            }
            dir.records.push(Arc::new(rec));
        }
        dir.domains = dir.by_domain.len();
        Ok(dir)
    }

    /// Parses an LDIF index (docs/SPEC.md §8.2, [`ldif::records_from_ldif`]) and builds the index.
    pub fn from_ldif(bytes: &[u8]) -> Result<Directory> {
        Directory::from_records(ldif::records_from_ldif(bytes)?)
    }

    /// As [`Directory::from_ldif`], within `limits`.
    pub fn from_ldif_with_limits(bytes: &[u8], limits: &LdifLimits) -> Result<Directory> {
        Directory::from_records(ldif::records_from_ldif_with_limits(bytes, limits)?)
    }

    /// The provider whose certificates include exactly `der` (docs/SPEC.md §7.3 step 2: SHA-1 look-up
    /// in `providerCertificateHash`, then comparison of the full certificate).
    pub fn by_certificate(&self, der: &[u8]) -> Option<Arc<ProviderRecord>> {
        let digest = crate::crypto::DigestAlgorithm::Sha1.digest(der);
        let key: [u8; 20] = digest.as_slice().try_into().ok()?;
        let rec = self.by_hash.get(&key).and_then(|&i| self.records.get(i as usize))?;
        rec.certificates.iter().any(|c| c.as_slice() == der).then(|| Arc::clone(rec))
    }

    /// Whether `domain` is managed by a PEC provider (ASCII case-insensitive, exact: no
    /// subdomain wildcarding, docs/SPEC.md §8.3).
    pub fn is_certified_domain(&self, domain: &str) -> bool {
        self.domain_index(domain).is_some()
    }

    /// Whether the address's domain (after the last `@`; surrounding `<>` and blanks
    /// ignored) is managed by a PEC provider: `certificato` if so, `esterno` otherwise
    /// (RFC 6109 §2.2.1, docs/SPEC.md §8.3). A string without `@` is not an address: `false`.
    pub fn is_certified(&self, address: &str) -> bool {
        let a = address.trim();
        let a = a.strip_prefix('<').and_then(|x| x.strip_suffix('>')).unwrap_or(a);
        match a.rsplit_once('@') {
            Some((local, domain)) if !local.is_empty() => self.is_certified_domain(domain),
            _ => false,
        }
    }

    /// Every provider record, in load order.
    pub fn records(&self) -> &[Arc<ProviderRecord>] {
        &self.records
    }

    /// Number of provider records (main and secondary entries).
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether the index holds no provider.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Number of distinct managed domains.
    pub fn domain_count(&self) -> usize {
        self.domains
    }

    /// Every entry (main and secondary `providerUnit` ones) of the provider named `name`
    /// (case-insensitive).
    pub fn entries_of(&self, name: &str) -> Vec<Arc<ProviderRecord>> {
        self.records
            .iter()
            .filter(|r| r.name.to_lowercase() == name.to_lowercase())
            .cloned()
            .collect()
    }

    fn domain_index(&self, domain: &str) -> Option<u32> {
        let bytes = domain.as_bytes();
        if bytes.len() > MAX_DOMAIN {
            return None;
        }
        if bytes.iter().any(u8::is_ascii_uppercase) {
            let mut buf = [0u8; MAX_DOMAIN];
            let slot = buf.get_mut(..bytes.len())?;
            slot.copy_from_slice(bytes);
            slot.make_ascii_lowercase();
            self.by_domain.get(&*slot).copied()
        } else {
            self.by_domain.get(bytes).copied()
        }
    }
}

impl ProviderDirectory for Directory {
    fn by_domain(&self, domain: &str) -> Option<Arc<ProviderRecord>> {
        self.domain_index(domain).and_then(|i| self.records.get(i as usize)).cloned()
    }

    fn by_cert_hash(&self, sha1_hex: &str) -> Option<Arc<ProviderRecord>> {
        let key = parse_sha1(sha1_hex.trim())?;
        self.by_hash.get(&key).and_then(|&i| self.records.get(i as usize)).cloned()
    }

    fn by_name(&self, name: &str) -> Option<Arc<ProviderRecord>> {
        let key = name.trim().to_lowercase();
        self.by_name.get(key.as_bytes()).and_then(|&i| self.records.get(i as usize)).cloned()
    }
}

/// 40 hex digits (either case) to 20 bytes.
fn parse_sha1(hex: &str) -> Option<[u8; 20]> {
    let b = hex.as_bytes();
    if b.len() != 40 {
        return None;
    }
    let mut out = [0u8; 20];
    for (o, pair) in out.iter_mut().zip(b.chunks_exact(2)) {
        let hi = hex_val(*pair.first()?)?;
        let lo = hex_val(*pair.get(1)?)?;
        *o = (hi << 4) | lo;
    }
    Some(out)
}

/// A small multiply-rotate hasher (FxHash-like) for the index tables. Keys come from the
/// index itself (a trusted, signed list), never from the messages being checked, so
/// collision flooding is not a concern, and short domain keys hash several times faster
/// than with SipHash.
type FastHash = BuildHasherDefault<FxHasher>;

#[derive(Clone, Copy, Debug, Default)]
struct FxHasher {
    hash: u64,
}

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            if let Some(slot) = w.get_mut(..rest.len()) {
                slot.copy_from_slice(rest);
            }
            self.add(u64::from_le_bytes(w));
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.hash
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;

    fn rec(name: &str, unit: Option<&str>, hash: &str, domains: &[&str]) -> ProviderRecord {
        ProviderRecord {
            dn: format!(
                "{}providerName={name},o=postacert",
                unit.map(|u| format!("providerUnit={u},")).unwrap_or_default()
            ),
            name: name.into(),
            unit: unit.map(str::to_owned),
            cert_hashes: vec![hash.into()],
            mail_receipt: format!("r@{}", domains[0]),
            managed_domains: domains.iter().map(|d| d.to_string()).collect(),
            ..ProviderRecord::default()
        }
    }

    #[test]
    fn lookups_are_case_insensitive_and_exact() {
        let h1 = "00112233445566778899aabbccddeeff00112233";
        let h2 = "ffeeddccbbaa99887766554433221100ffeeddcc";
        let d = Directory::from_records(vec![
            rec("Beta", Some("Due"), h2, &["beta2.example"]),
            rec("Beta", None, h1, &["pec.beta.example", "x.example"]),
        ])
        .unwrap();
        assert_eq!(d.len(), 2);
        assert_eq!(d.domain_count(), 3);
        assert_eq!(d.by_domain("PEC.Beta.Example").unwrap().unit, None);
        assert!(d.by_domain("beta.example").is_none());
        assert!(d.by_domain("sub.pec.beta.example").is_none());
        assert_eq!(d.by_cert_hash(&h2.to_uppercase()).unwrap().unit.as_deref(), Some("Due"));
        assert!(d.by_cert_hash("00").is_none());
        assert!(d.by_cert_hash("zz112233445566778899aabbccddeeff00112233").is_none());
        assert_eq!(d.by_name("BETA").unwrap().unit, None);
        assert_eq!(d.entries_of("beta").len(), 2);
        assert!(d.is_certified("Mario.Rossi@X.EXAMPLE"));
        assert!(d.is_certified("<a@beta2.example>"));
        assert!(!d.is_certified("a@y.example"));
        assert!(!d.is_certified("x.example"));
        assert!(!d.is_certified("@x.example"));
        assert!(!d.is_certified(&format!("a@{}", "x".repeat(300))));
    }

    #[test]
    fn contradictions_are_refused() {
        let h1 = "00112233445566778899aabbccddeeff00112233";
        let h2 = "ffeeddccbbaa99887766554433221100ffeeddcc";
        let r = Directory::from_records(vec![
            rec("A", None, h1, &["a.example"]),
            rec("B", None, h2, &["A.example"]),
        ]);
        assert!(matches!(r, Err(Error::Directory(DirectoryError::Entry { .. }))), "{r:?}");
        let r = Directory::from_records(vec![
            rec("A", None, h1, &["a.example"]),
            rec("B", None, h1, &["b.example"]),
        ]);
        assert!(matches!(r, Err(Error::Directory(DirectoryError::Entry { .. }))), "{r:?}");
    }

    #[test]
    fn sha1_parsing() {
        assert_eq!(parse_sha1(&"aB".repeat(20)), Some([0xab; 20]));
        assert_eq!(parse_sha1("é".repeat(20).as_str()), None);
    }
}
