//! Name constraints (RFC 5280 §4.2.1.10) as path validation applies them: every name of a
//! certificate below a CA (rfc822Names and the subject's `emailAddress`, dNSNames,
//! iPAddresses, directoryNames) against the CA's permitted and excluded subtrees. The subtrees
//! are prepared once when a certificate is parsed ([`crate::x509::cert::Constraints`]); the
//! mailbox syntax an rfc822Name must have is checked there too
//! ([`crate::x509::name::is_mailbox`]).

use crate::x509::cert::{CertInfo, Constraints, Subtree};
use crate::x509::name::RdnKey;

impl Constraints {
    /// Whether the names of `cert` satisfy the constraints: every name of a form with
    /// permitted subtrees matches one of them, and no name matches an excluded subtree.
    pub(super) fn allow(&self, cert: &CertInfo) -> bool {
        let names = cert
            .emails
            .iter()
            .map(|e| Candidate::Email(e))
            .chain(cert.dns_names.iter().map(|d| Candidate::Dns(d)))
            .chain(cert.ip_addresses.iter().map(|i| Candidate::Ip(i)))
            .chain(cert.directory_names.iter().map(|d| Candidate::Directory(d)));
        for name in names {
            let mut of_kind = self.permitted.iter().filter(|s| name.same_kind(s)).peekable();
            if of_kind.peek().is_some() && !of_kind.any(|s| name.matches(s)) {
                return false;
            }
            if self.excluded.iter().any(|s| name.same_kind(s) && name.matches(s)) {
                return false;
            }
        }
        true
    }
}
/// A name of a certificate subject to name constraints.
enum Candidate<'a> {
    Email(&'a str),
    Dns(&'a str),
    Ip(&'a [u8]),
    Directory(&'a [RdnKey]),
}

impl Candidate<'_> {
    fn same_kind(&self, s: &Subtree) -> bool {
        matches!(
            (self, s),
            (Candidate::Email(_), Subtree::Email(_))
                | (Candidate::Dns(_), Subtree::Dns(_))
                | (Candidate::Ip(_), Subtree::Ip(_))
                | (Candidate::Directory(_), Subtree::Directory(_))
        )
    }

    fn matches(&self, s: &Subtree) -> bool {
        match (self, s) {
            (Candidate::Email(e), Subtree::Email(c)) => email_matches(c, e),
            (Candidate::Dns(d), Subtree::Dns(c)) => dns_matches(c, d),
            (Candidate::Ip(i), Subtree::Ip(c)) => ip_matches(c, i),
            // directoryName: the constraint's RDNs are the first RDNs of the name.
            (Candidate::Directory(n), Subtree::Directory(c)) => {
                c.len() <= n.len() && c.iter().zip(n.iter()).all(|(a, b)| a == b)
            }
            _ => false,
        }
    }
}

/// rfc822Name constraint semantics: `local@host` = that mailbox, `.domain` = any mailbox at
/// a host under the domain, `host` = any mailbox at that host. Hosts compare case-insensitively.
fn email_matches(constraint: &str, email: &str) -> bool {
    let Some((local, host)) = email.rsplit_once('@') else { return false };
    if local.is_empty() || host.is_empty() {
        return false;
    }
    if let Some((c_local, c_host)) = constraint.rsplit_once('@') {
        return c_local == local && c_host.eq_ignore_ascii_case(host);
    }
    if constraint.starts_with('.') {
        return host.len() > constraint.len() && ends_with_ignore_case(host, constraint);
    }
    host.eq_ignore_ascii_case(constraint)
}

/// dNSName constraint: the name itself or any name with more labels on the left.
fn dns_matches(constraint: &str, name: &str) -> bool {
    let name = name.trim_end_matches('.');
    let constraint = constraint.trim_end_matches('.');
    if constraint.is_empty() {
        return true;
    }
    if let Some(suffix) = constraint.strip_prefix('.') {
        return name.len() > suffix.len() + 1 && ends_with_ignore_case(name, constraint);
    }
    name.eq_ignore_ascii_case(constraint)
        || (name.len() > constraint.len()
            && ends_with_ignore_case(name, constraint)
            && name.as_bytes().get(name.len() - constraint.len() - 1) == Some(&b'.'))
}

fn ends_with_ignore_case(s: &str, suffix: &str) -> bool {
    s.len() >= suffix.len()
        && s.as_bytes()
            .get(s.len() - suffix.len()..)
            .is_some_and(|tail| tail.eq_ignore_ascii_case(suffix.as_bytes()))
}

/// iPAddress constraint: address and mask of the same family (8 or 32 octets).
fn ip_matches(constraint: &[u8], ip: &[u8]) -> bool {
    if constraint.len() != ip.len() * 2 {
        return false;
    }
    let (addr, mask) = constraint.split_at(ip.len());
    ip.iter().zip(addr).zip(mask).all(|((i, a), m)| i & m == a & m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc822_constraints() {
        assert!(email_matches("pec.example.it", "a@pec.example.it"));
        assert!(email_matches("pec.example.it", "a@PEC.Example.IT"));
        assert!(!email_matches("pec.example.it", "a@x.pec.example.it"));
        assert!(email_matches(".pec.example.it", "a@x.pec.example.it"));
        assert!(!email_matches(".pec.example.it", "a@pec.example.it"));
        assert!(!email_matches(".pec.example.it", "a@xpec.example.it"));
        assert!(email_matches("a@pec.example.it", "a@pec.example.it"));
        assert!(!email_matches("a@pec.example.it", "b@pec.example.it"));
        assert!(!email_matches("pec.example.it", "pec.example.it"));
        assert!(!email_matches("example.it", "a@evilexample.it"));
    }

    #[test]
    fn dns_and_ip_constraints() {
        assert!(dns_matches("example.it", "example.it"));
        assert!(dns_matches("example.it", "a.example.it"));
        assert!(!dns_matches("example.it", "aexample.it"));
        assert!(dns_matches("", "anything"));
        assert!(ip_matches(&[10, 0, 0, 0, 255, 0, 0, 0], &[10, 1, 2, 3]));
        assert!(!ip_matches(&[10, 0, 0, 0, 255, 0, 0, 0], &[11, 1, 2, 3]));
        assert!(ip_matches(&[0; 8], &[11, 1, 2, 3]));
    }
}
