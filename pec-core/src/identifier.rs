//! PEC message identifiers (RFC 6109 §1.2.3, §2.2.1; docs/SPEC.md §5).
//!
//! The access point gives every accepted message a «PEC msgid» (`identificativo`) of the form
//! `[alphanumeric string]@[provider mail domain]`, unambiguous across the whole PEC system: it
//! replaces the original's `Message-ID:` and correlates the envelope with every receipt.
//! [`IdentifierGenerator`] makes such identifiers unique within a process (an atomic counter)
//! and across processes and hosts of the same provider (process id, a random per-generator
//! nonce and the transaction time).

use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, FixedOffset};

use crate::error::Result;
use crate::headers::validate_domain;

/// Generates PEC identifiers `pec.<yyyymmddhhmmss>.<pid>.<nonce>.<counter>@<domain>`
/// (docs/SPEC.md §5), e.g. `pec.20261125191500.4242.9f3a61c0d2b4e857.17@pec.example.it`.
///
/// The local part uses only `[A-Za-z0-9.-]`. Uniqueness: the counter is atomic (so one
/// generator may be shared by threads: it is `Send + Sync`); the 64-bit nonce comes from the
/// operating system's random source when the generator is made, so two processes (even with
/// the same pid on two hosts, or a recycled pid) do not collide.
#[derive(Debug)]
pub struct IdentifierGenerator {
    domain: String,
    prefix: String,
    counter: AtomicU64,
}

impl IdentifierGenerator {
    /// A generator for the provider's mail domain (validated as a DNS host name:
    /// letters, digits, hyphens, dot-separated labels of 1..=63 characters, at most 253
    /// characters). An invalid domain is [`crate::error::ParseError::InvalidAddress`].
    pub fn new(domain: &str) -> Result<Self> {
        validate_domain(domain)?;
        let nonce = random_nonce();
        Ok(IdentifierGenerator {
            domain: domain.to_ascii_lowercase(),
            prefix: format!("{}.{nonce:016x}", std::process::id()),
            counter: AtomicU64::new(0),
        })
    }

    /// The next identifier, for a transaction at `at` (its local time in its own offset),
    /// without angle brackets: `pec.20261125191500.<pid>.<nonce-hex>.<counter>@domain`.
    pub fn next_id(&self, at: &DateTime<FixedOffset>) -> String {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let stamp: String =
            at.format("%Y%m%d%H%M%S").to_string().chars().filter(char::is_ascii_digit).collect();
        format!("pec.{stamp}.{}.{n}@{}", self.prefix, self.domain)
    }

    /// The domain the identifiers end with (lower case).
    pub fn domain(&self) -> &str {
        &self.domain
    }
}

/// A Message-ID without its angle brackets (and surrounding whitespace): `<a@b>` → `a@b`.
/// A value without brackets is returned trimmed.
pub fn strip_angle(s: &str) -> &str {
    let t = s.trim();
    t.strip_prefix('<').and_then(|x| x.strip_suffix('>')).map(str::trim).unwrap_or(t)
}

/// A Message-ID with angle brackets, as the `Message-ID:` and `X-Riferimento-Message-ID:`
/// headers and `<msgid>` carry it: `a@b` → `<a@b>` (already bracketed values are kept).
pub fn with_angle(s: &str) -> String {
    format!("<{}>", strip_angle(s))
}

/// 64 random bits from the operating system; if that source fails (it does not on supported
/// systems), the clock's nanoseconds mixed with the pid and a stack address, which still
/// differ between processes.
fn random_nonce() -> u64 {
    let mut buf = [0u8; 8];
    if getrandom::fill(&mut buf).is_ok() {
        return u64::from_le_bytes(buf);
    }
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let local = 0u8;
    let addr = std::ptr::addr_of!(local) as usize as u64;
    nanos ^ (u64::from(std::process::id()) << 40) ^ addr.rotate_left(17)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use std::collections::HashSet;
    use std::sync::Arc;

    use super::*;

    fn at() -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339("2026-11-25T19:15:00+01:00").expect("valid")
    }

    #[test]
    fn shape() {
        let g = IdentifierGenerator::new("PEC.Example.it").unwrap();
        let id = g.next_id(&at());
        let (local, domain) = id.rsplit_once('@').unwrap();
        assert_eq!(domain, "pec.example.it");
        assert!(local.starts_with("pec.20261125191500."), "{id}");
        assert!(local.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-'));
        crate::headers::validate_addr_spec(&id).unwrap();
        assert_ne!(g.next_id(&at()), id);
    }

    #[test]
    fn domain_is_validated() {
        for bad in
            ["", "a..b", "-a.it", "a-.it", "a b.it", "a@b.it", "<x>", "a.it.", "à.it", "a\r\n.it"]
        {
            assert!(IdentifierGenerator::new(bad).is_err(), "{bad:?}");
        }
        assert!(IdentifierGenerator::new(&format!("{}.it", "a".repeat(64))).is_err());
        IdentifierGenerator::new("localhost").unwrap();
        IdentifierGenerator::new("x-1.pec.aruba.it").unwrap();
    }

    #[test]
    fn generators_differ() {
        let a = IdentifierGenerator::new("pec.example.it").unwrap();
        let b = IdentifierGenerator::new("pec.example.it").unwrap();
        assert_ne!(a.next_id(&at()), b.next_id(&at()));
    }

    #[test]
    fn unique_under_concurrency() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<IdentifierGenerator>();
        let g = Arc::new(IdentifierGenerator::new("pec.example.it").unwrap());
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let g = Arc::clone(&g);
                std::thread::spawn(move || {
                    (0..10_000).map(|_| g.next_id(&at())).collect::<Vec<_>>()
                })
            })
            .collect();
        let mut all = HashSet::new();
        for h in handles {
            for id in h.join().unwrap() {
                assert!(all.insert(id));
            }
        }
        assert_eq!(all.len(), 80_000);
    }

    #[test]
    fn angles() {
        assert_eq!(strip_angle("<a@b>"), "a@b");
        assert_eq!(strip_angle("  < a@b >  "), "a@b");
        assert_eq!(strip_angle("a@b"), "a@b");
        assert_eq!(strip_angle("<a@b"), "<a@b");
        assert_eq!(strip_angle(""), "");
        assert_eq!(with_angle("a@b"), "<a@b>");
        assert_eq!(with_angle("<a@b>"), "<a@b>");
    }
}
