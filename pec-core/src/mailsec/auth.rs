//! Sender authentication at the incoming point (MAILSEC.md §1): SPF (the client's HELO and
//! MAIL FROM), DKIM, DMARC and ARC on an arriving message, through mail-auth (feature
//! `mailauth`), and the one `Authentication-Results` field pec writes on anomaly envelopes.
//!
//! The results are **advisory**: S/MIME and the providers index decide every PEC outcome.
//! Checking a message never fails: a DNS failure is a `temperror` result, a broken message
//! gives `none`/`permerror` results. Only the configuration can fail ([`AuthError`]).
//!
//! DNS comes from a real resolver ([`Authenticator::with_nameservers`], bounded timeouts) or
//! from a [`StaticZone`] ([`Authenticator::with_zone`]), which answers every name itself
//! (a missing name is NXDOMAIN or an empty set) so nothing ever reaches the network.
//!
//! # The static zone text
//!
//! One record a line, `NAME TYPE DATA`, with an optional TTL and class between the name and
//! the type, which are ignored (`NAME 300 IN TXT ...`). Names are case-insensitive, a
//! trailing dot is optional. Blank lines and lines starting with `;` or `#` are comments.
//!
//! ```text
//! ; the SPF, DKIM and DMARC records of example.org
//! example.org                    TXT  "v=spf1 ip4:192.0.2.0/24 -all"
//! sel._domainkey.example.org     TXT  "v=DKIM1; k=rsa; " "p=MIIBIjAN..."
//! _dmarc.example.org             TXT  "v=DMARC1; p=reject"
//! mail.example.org               A    192.0.2.10
//! mail.example.org               AAAA 2001:db8::10
//! example.org                    MX   10 mail.example.org
//! 192.0.2.10                     PTR  mail.example.org
//! ```
//!
//! `TXT` data is one or more double-quoted strings (`\"` and `\\` escapes), concatenated as
//! DNS does with a long record, or one bare word. A name may have several `TXT` records: the
//! first that parses as what is looked up wins. `TXT` records are read by name: under
//! `_domainkey.` a DKIM key, under `_dmarc.` a DMARC policy, anything else SPF. A `PTR` line
//! is named by the IP address. Under a static zone the SPF `exists:` mechanism sees every
//! name as existing (mail-auth asks the cache only whether it holds the name).
//!
//! [`AuthError`]: crate::error::AuthError

use serde::{Deserialize, Serialize};

/// One authentication result (RFC 8601 §2.7), written in lower case.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthResult {
    /// The check passed.
    Pass,
    /// The check failed (SPF `-all`, a bad DKIM signature, DMARC not aligned).
    Fail,
    /// SPF `~all`.
    SoftFail,
    /// SPF `?all`, or a DKIM/ARC signature that could not be judged.
    Neutral,
    /// Nothing to check (no SPF record, no signature, no DMARC policy, no client IP).
    #[default]
    None,
    /// A DNS failure: the check could not be made now.
    TempError,
    /// A broken record or signature.
    PermError,
}

impl AuthResult {
    /// The RFC 8601 word (`pass`, `softfail`, `temperror`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            AuthResult::Pass => "pass",
            AuthResult::Fail => "fail",
            AuthResult::SoftFail => "softfail",
            AuthResult::Neutral => "neutral",
            AuthResult::None => "none",
            AuthResult::TempError => "temperror",
            AuthResult::PermError => "permerror",
        }
    }
}

impl std::fmt::Display for AuthResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One SPF check: the identity's domain and the result.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpfCheck {
    /// The domain checked (the HELO name, or the MAIL FROM domain).
    pub domain: String,
    /// The result.
    pub result: AuthResult,
}

/// The two SPF identities (RFC 7208 §2.3, §2.4); `None` when not checked (no client IP, no
/// HELO, a null reverse path).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpfChecks {
    /// The HELO identity.
    pub helo: Option<SpfCheck>,
    /// The MAIL FROM identity.
    pub mailfrom: Option<SpfCheck>,
}

/// One DKIM signature's check.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DkimCheck {
    /// The signing domain (`d=`), when the signature could be read.
    pub d: Option<String>,
    /// Why it did not pass (mail-auth's words), when it did not.
    pub reason: Option<String>,
    /// The result.
    pub result: AuthResult,
    /// The selector (`s=`), when the signature could be read.
    pub s: Option<String>,
}

/// The DMARC check of the `From:` domain.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DmarcCheck {
    /// The RFC 5322 `From:` domain.
    pub header_from: String,
    /// The policy that applies to it: `none`, `quarantine` or `reject` (`none` without a
    /// record).
    pub policy: String,
    /// The result.
    pub result: AuthResult,
}

/// Every result of one arriving message, and the `Authentication-Results` field that states
/// them. Field names are in byte order: the legal log writes this object as it is.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthResults {
    /// The complete `Authentication-Results` field (name, value, folding CRLF-TAB), without
    /// the final CRLF, as mail-auth's builder renders it.
    pub ar_header: String,
    /// The ARC chain's result (`none` without ARC sets).
    pub arc: AuthResult,
    /// One entry per `DKIM-Signature`, in order.
    pub dkim: Vec<DkimCheck>,
    /// The DMARC result (`None` when the message has no single `From:` domain).
    pub dmarc: Option<DmarcCheck>,
    /// The SPF results.
    pub spf: SpfChecks,
}

impl AuthResults {
    /// Whether DMARC failed for a domain whose policy is `p=reject` (`[auth] dmarc_reject`).
    pub fn dmarc_reject(&self) -> bool {
        self.dmarc.as_ref().is_some_and(|d| d.result == AuthResult::Fail && d.policy == "reject")
    }
}

/// Checks an `Authentication-Results` field for [`crate::build::BuildRequest::auth_results`]:
/// it must be the field `Authentication-Results:` followed by printable ASCII, with line breaks
/// only as folding (CRLF followed by a space or a tab), and no trailing CRLF.
///
/// # Errors
/// [`crate::error::ParseError::HeaderInjection`].
pub fn check_ar_field(field: &str) -> crate::error::Result<()> {
    let bad = || -> crate::Error {
        crate::error::ParseError::HeaderInjection { header: "Authentication-Results".into() }.into()
    };
    let name_ok =
        field.get(..23).is_some_and(|n| n.eq_ignore_ascii_case("Authentication-Results:"));
    if !name_ok || field.len() > 8192 {
        return Err(bad());
    }
    let b = field.as_bytes();
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        match c {
            b'\r' => {
                if b.get(i + 1) != Some(&b'\n') || !matches!(b.get(i + 2), Some(b' ' | b'\t')) {
                    return Err(bad());
                }
                i += 2;
            }
            b'\t' | b' '..=b'~' => i += 1,
            _ => return Err(bad()),
        }
    }
    // no line may be blank (a folded line of white space only would end the header block)
    if field.split("\r\n").any(|l| l.trim().is_empty()) {
        return Err(bad());
    }
    Ok(())
}

#[cfg(feature = "mailauth")]
pub use verifier::{AuthInput, Authenticator, StaticZone};

#[cfg(feature = "mailauth")]
mod verifier {
    use std::borrow::Borrow;
    use std::collections::HashMap;
    use std::hash::Hash;
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
    use std::sync::Arc;
    use std::time::Duration;

    use mail_auth::common::headers::HeaderWriter as _;
    use mail_auth::common::parse::TxtRecordParser;
    use mail_auth::common::verify::DomainKey;
    use mail_auth::dkim::DkimError;
    use mail_auth::dmarc::Dmarc;
    use mail_auth::dmarc::verify::DmarcParameters;
    use mail_auth::hickory_resolver::config::{
        NameServerConfig, ResolveHosts, ResolverConfig, ResolverOpts,
    };
    use mail_auth::hickory_resolver::proto::op::ResponseCode;
    use mail_auth::spf::Spf;
    use mail_auth::spf::verify::SpfParameters;
    use mail_auth::{
        AuthenticatedMessage, AuthenticationResults, DkimOutput, DkimResult, DmarcResult, DnsError,
        DnssecStatus, MX, MessageAuthenticator, Parameters, RecordSet, ResolverCache, SpfOutput,
        SpfResult, Txt,
    };

    use super::{AuthResult, AuthResults, DkimCheck, DmarcCheck, SpfCheck};
    use crate::error::{AuthError, Result};

    /// DNS records read from a zone text (module docs). As mail-auth's resolver cache it
    /// answers every name when built by [`StaticZone::parse`]; an empty
    /// [`StaticZone::passthrough`] answers none, so the resolver is asked.
    #[derive(Clone, Default)]
    pub struct StaticZone {
        txt: HashMap<Box<str>, Txt>,
        mx: HashMap<Box<str>, RecordSet<MX>>,
        ipv4: HashMap<Box<str>, RecordSet<Ipv4Addr>>,
        ipv6: HashMap<Box<str>, RecordSet<Ipv6Addr>>,
        ptr: HashMap<IpAddr, RecordSet<Box<str>>>,
        authoritative: bool,
        records: usize,
    }

    impl std::fmt::Debug for StaticZone {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("StaticZone")
                .field("records", &self.records)
                .field("authoritative", &self.authoritative)
                .finish()
        }
    }

    fn set<T: Clone>(v: &[T]) -> RecordSet<T> {
        RecordSet {
            rrset: Arc::from(v.to_vec().into_boxed_slice()),
            dnssec_status: DnssecStatus::Indeterminate,
        }
    }

    fn nxdomain() -> Txt {
        Txt::Error(mail_auth::Error::Dns(DnsError::RecordNotFound(ResponseCode::NXDomain)))
    }

    /// `name.` in lower case (mail-auth's cache key).
    fn fqdn(name: &str) -> String {
        let mut n = name.to_ascii_lowercase();
        if !n.ends_with('.') {
            n.push('.');
        }
        n
    }

    /// The TXT strings of a zone line's data: quoted strings (concatenated) or one bare word.
    fn txt_data(data: &str) -> std::result::Result<Vec<u8>, String> {
        let data = data.trim();
        if !data.starts_with('"') {
            if data.is_empty() || data.contains(char::is_whitespace) {
                return Err("TXT data must be quoted strings or one word".into());
            }
            return Ok(data.as_bytes().to_vec());
        }
        let mut out = Vec::new();
        let mut chars = data.chars();
        loop {
            match chars.next() {
                None => return Ok(out),
                Some(c) if c.is_whitespace() => continue,
                Some('"') => loop {
                    match chars.next() {
                        None => return Err("unterminated string".into()),
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c) => {
                                let mut b = [0u8; 4];
                                out.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
                            }
                            None => return Err("unterminated string".into()),
                        },
                        Some(c) => {
                            let mut b = [0u8; 4];
                            out.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
                        }
                    }
                },
                Some(_) => return Err("text outside the quoted strings".into()),
            }
        }
    }

    /// Parses `raw` as the record looked up at `name` (by its name, see the module docs).
    fn parse_txt(name: &str, raw: &[u8]) -> Txt {
        if name.contains("._domainkey.") || name.starts_with("_domainkey.") {
            DomainKey::parse(raw).into()
        } else if name.starts_with("_dmarc.") {
            Dmarc::parse(raw).into()
        } else {
            Spf::parse(raw).into()
        }
    }

    impl StaticZone {
        /// An empty zone that answers no name: every lookup goes to the resolver.
        pub fn passthrough() -> StaticZone {
            StaticZone::default()
        }

        /// Reads a zone text (module docs). The zone answers every name: a name it does not
        /// hold is NXDOMAIN (TXT) or an empty set (A, AAAA, MX, PTR).
        ///
        /// # Errors
        /// [`AuthError::Zone`] naming the line.
        pub fn parse(text: &str) -> Result<StaticZone> {
            let mut z = StaticZone { authoritative: true, ..StaticZone::default() };
            let mut txt: HashMap<String, Vec<Vec<u8>>> = HashMap::new();
            let mut mx: HashMap<String, Vec<(u16, String)>> = HashMap::new();
            let mut a: HashMap<String, Vec<Ipv4Addr>> = HashMap::new();
            let mut aaaa: HashMap<String, Vec<Ipv6Addr>> = HashMap::new();
            let mut ptr: HashMap<IpAddr, Vec<Box<str>>> = HashMap::new();
            for (n, line) in text.lines().enumerate() {
                let err = |message: String| AuthError::Zone { line: n + 1, message };
                let line = line.trim();
                if line.is_empty() || line.starts_with(';') || line.starts_with('#') {
                    continue;
                }
                let (name, mut rest) = split_word(line);
                // optional TTL and class
                let mut kind;
                loop {
                    let (w, r) = split_word(rest);
                    kind = w.to_ascii_uppercase();
                    rest = r;
                    if kind.bytes().all(|b| b.is_ascii_digit()) && !kind.is_empty() || kind == "IN"
                    {
                        continue;
                    }
                    break;
                }
                if name.is_empty() || kind.is_empty() || rest.trim().is_empty() {
                    return Err(err("expected NAME TYPE DATA".into()).into());
                }
                if !name.bytes().all(|b| b.is_ascii_graphic()) {
                    return Err(err(format!("bad name {name:?}")).into());
                }
                let key = fqdn(name);
                let data = rest.trim();
                match kind.as_str() {
                    "TXT" => txt.entry(key).or_default().push(txt_data(data).map_err(err)?),
                    "A" => a
                        .entry(key)
                        .or_default()
                        .push(data.parse().map_err(|_| err(format!("bad IPv4 {data:?}")))?),
                    "AAAA" => aaaa
                        .entry(key)
                        .or_default()
                        .push(data.parse().map_err(|_| err(format!("bad IPv6 {data:?}")))?),
                    "MX" => {
                        let (pref, host) = split_word(data);
                        let pref: u16 =
                            pref.parse().map_err(|_| err(format!("bad MX preference {pref:?}")))?;
                        let host = host.trim();
                        if host.is_empty() || host.contains(char::is_whitespace) {
                            return Err(err("MX needs a preference and one host".into()).into());
                        }
                        mx.entry(key).or_default().push((pref, fqdn(host)));
                    }
                    "PTR" => {
                        let ip: IpAddr = name
                            .parse()
                            .map_err(|_| err(format!("a PTR line is named by an IP: {name:?}")))?;
                        if data.contains(char::is_whitespace) {
                            return Err(err("PTR needs one host".into()).into());
                        }
                        ptr.entry(ip).or_default().push(fqdn(data).into_boxed_str());
                    }
                    other => return Err(err(format!("unknown record type {other:?}")).into()),
                }
                z.records += 1;
            }
            for (name, records) in txt {
                // as mail-auth's resolver does: the first record that parses wins
                let mut found = None;
                for raw in &records {
                    let t = parse_txt(&name, raw);
                    let ok = !matches!(t, Txt::Error(_));
                    found = Some(t);
                    if ok {
                        break;
                    }
                }
                z.txt.insert(name.into_boxed_str(), found.unwrap_or_else(nxdomain));
            }
            for (name, mut hosts) in mx {
                hosts.sort_by_key(|h| h.0);
                let mut sets: Vec<MX> = Vec::new();
                for (pref, host) in hosts {
                    match sets.iter_mut().find(|m| m.preference == pref) {
                        Some(m) => {
                            let mut v = m.exchanges.to_vec();
                            v.push(host.into_boxed_str());
                            m.exchanges = v.into_boxed_slice();
                        }
                        None => sets.push(MX {
                            preference: pref,
                            exchanges: vec![host.into_boxed_str()].into_boxed_slice(),
                        }),
                    }
                }
                z.mx.insert(name.into_boxed_str(), set(&sets));
            }
            for (name, v) in a {
                z.ipv4.insert(name.into_boxed_str(), set(&v));
            }
            for (name, v) in aaaa {
                z.ipv6.insert(name.into_boxed_str(), set(&v));
            }
            for (ip, v) in ptr {
                z.ptr.insert(ip, set(&v));
            }
            Ok(z)
        }

        /// How many records the zone text held.
        pub fn len(&self) -> usize {
            self.records
        }

        /// Whether the zone holds no record.
        pub fn is_empty(&self) -> bool {
            self.records == 0
        }
    }

    fn split_word(s: &str) -> (&str, &str) {
        let s = s.trim_start();
        match s.find(char::is_whitespace) {
            Some(i) => (s.get(..i).unwrap_or(s), s.get(i..).unwrap_or("")),
            None => (s, ""),
        }
    }

    macro_rules! zone_cache {
        ($k:ty, $v:ty, $field:ident, $miss:expr) => {
            impl ResolverCache<$k, $v> for StaticZone {
                fn get<Q>(&self, name: &Q) -> Option<$v>
                where
                    $k: Borrow<Q>,
                    Q: Hash + Eq + ?Sized,
                {
                    match self.$field.get(name) {
                        Some(v) => Some(v.clone()),
                        None if self.authoritative => Some($miss),
                        None => None,
                    }
                }

                fn remove<Q>(&self, _: &Q) -> Option<$v>
                where
                    $k: Borrow<Q>,
                    Q: Hash + Eq + ?Sized,
                {
                    None
                }

                fn insert(&self, _: $k, _: $v, _: std::time::Instant) {}
            }
        };
    }

    zone_cache!(Box<str>, Txt, txt, nxdomain());
    zone_cache!(Box<str>, RecordSet<MX>, mx, set(&[]));
    zone_cache!(Box<str>, RecordSet<Ipv4Addr>, ipv4, set(&[]));
    zone_cache!(Box<str>, RecordSet<Ipv6Addr>, ipv6, set(&[]));
    zone_cache!(IpAddr, RecordSet<Box<str>>, ptr, set(&[]));

    /// What the SMTP transaction says about an arriving message.
    #[derive(Clone, Copy, Debug)]
    pub struct AuthInput<'a> {
        /// The SMTP client's address (XFORWARD `ADDR`); without it SPF is not checked.
        pub client_ip: Option<IpAddr>,
        /// The client's HELO/EHLO name (XFORWARD `HELO`).
        pub helo: Option<&'a str>,
        /// The reverse path (MAIL FROM), without angle brackets; empty for `<>`.
        pub mail_from: &'a str,
        /// The authserv-id of the `Authentication-Results` field (the MX host name).
        pub authserv_id: &'a str,
    }

    /// Checks arriving messages: mail-auth with a [`StaticZone`] in front of the resolver.
    /// Its methods are async (hickory on tokio); the engine owns one runtime and calls them
    /// through `block_on`.
    #[derive(Clone)]
    pub struct Authenticator {
        resolver: MessageAuthenticator,
        zone: Arc<StaticZone>,
    }

    impl std::fmt::Debug for Authenticator {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("Authenticator").field("zone", &self.zone).finish_non_exhaustive()
        }
    }

    fn opts(timeout: Duration) -> ResolverOpts {
        let mut o = ResolverOpts::default();
        o.timeout = timeout;
        o.attempts = 2;
        o.use_hosts_file = ResolveHosts::Never;
        o
    }

    impl Authenticator {
        /// Answers every name from `zone`: nothing reaches the network (tests, closed
        /// networks). The resolver behind it has no name server at all.
        ///
        /// # Errors
        /// [`AuthError::Resolver`].
        pub fn with_zone(zone: StaticZone) -> Result<Authenticator> {
            let zone = StaticZone { authoritative: true, ..zone };
            let resolver = MessageAuthenticator::new(
                ResolverConfig::from_parts(None, Vec::new(), Vec::new()),
                opts(Duration::from_secs(1)),
            )
            .map_err(|e| AuthError::Resolver(e.to_string()))?;
            Ok(Authenticator { resolver, zone: Arc::new(zone) })
        }

        /// Asks `nameservers` (UDP, then TCP), each query bounded by `timeout` (two
        /// attempts). Call it inside the tokio runtime that will run the checks.
        ///
        /// # Errors
        /// [`AuthError::Resolver`] when no name server is given or the resolver cannot be
        /// built.
        pub fn with_nameservers(
            nameservers: &[SocketAddr],
            timeout: Duration,
        ) -> Result<Authenticator> {
            if nameservers.is_empty() {
                return Err(AuthError::Resolver("no name server".into()).into());
            }
            let servers = nameservers
                .iter()
                .map(|s| {
                    let mut c = NameServerConfig::udp_and_tcp(s.ip());
                    for conn in &mut c.connections {
                        conn.port = s.port();
                    }
                    c
                })
                .collect();
            let resolver = MessageAuthenticator::new(
                ResolverConfig::from_parts(None, Vec::new(), servers),
                opts(timeout),
            )
            .map_err(|e| AuthError::Resolver(e.to_string()))?;
            Ok(Authenticator { resolver, zone: Arc::new(StaticZone::passthrough()) })
        }

        /// [`Authenticator::authenticate`] bounded by `limit` as a whole (each DNS query is
        /// also bounded by the resolver's timeout): past it, every check not made is a
        /// `temperror`. Call it inside a tokio runtime with the time driver enabled.
        pub async fn authenticate_within(
            &self,
            message: &[u8],
            input: &AuthInput<'_>,
            limit: Duration,
        ) -> AuthResults {
            match tokio::time::timeout(limit, self.authenticate(message, input)).await {
                Ok(r) => r,
                Err(_) => timed_out(input),
            }
        }

        /// Checks `message` (the bytes as received): SPF for the HELO and MAIL FROM
        /// identities (when the client IP is known), every DKIM signature, DMARC for the
        /// `From:` domain, the ARC chain; and renders the `Authentication-Results` field with
        /// mail-auth's builder. Never fails: DNS failures are `temperror` results.
        pub async fn authenticate(&self, message: &[u8], input: &AuthInput<'_>) -> AuthResults {
            let z: &StaticZone = &self.zone;
            let r = &self.resolver;
            let host = input.authserv_id;
            let helo = input.helo.unwrap_or("").trim();
            let mail_from = input.mail_from.trim();
            let mut ar = AuthenticationResults::new(host);
            let mut out = AuthResults::default();

            // SPF: HELO, then MAIL FROM (RFC 7208 §2.3, §2.4)
            let mut spf_for_dmarc: Option<SpfOutput> = None;
            if let Some(ip) = input.client_ip {
                if !helo.is_empty() {
                    let p = SpfParameters::verify_ehlo(ip, helo, host);
                    let o = r.verify_spf(zoned(Parameters::new(p), z)).await;
                    out.spf.helo = Some(SpfCheck {
                        domain: helo.to_ascii_lowercase(),
                        result: spf_result(o.result()),
                    });
                    ar = ar.with_spf_ehlo_result(&o, ip, helo);
                    if mail_from.is_empty() {
                        spf_for_dmarc = Some(o);
                    }
                }
                if !mail_from.is_empty() {
                    let helo_or_ip = if helo.is_empty() { host } else { helo };
                    let p = SpfParameters::verify_mail_from(ip, helo_or_ip, host, mail_from);
                    let o = r.verify_spf(zoned(Parameters::new(p), z)).await;
                    out.spf.mailfrom = Some(SpfCheck {
                        domain: o.domain().to_ascii_lowercase(),
                        result: spf_result(o.result()),
                    });
                    ar = ar.with_spf_mailfrom_result(&o, ip, mail_from, helo_or_ip);
                    spf_for_dmarc = Some(o);
                }
            }

            let Some(msg) = AuthenticatedMessage::parse(message) else {
                out.ar_header = trimmed(ar.to_header());
                return out;
            };
            let verified: Vec<DkimOutput<'_>> =
                r.verify_dkim(zoned(Parameters::new(&msg), z)).await;
            // a body hash that does not match is a verification failure (RFC 6376 §6.1.3
            // PERMFAIL, RFC 8601 `fail`), as python3-dkim and authheaders say; mail-auth says
            // `neutral`
            let dkim: Vec<DkimOutput<'_>> = verified
                .iter()
                .map(|d| match (d.result(), d.signature()) {
                    (
                        DkimResult::Neutral(
                            e @ mail_auth::Error::Dkim(DkimError::FailedBodyHashMatch),
                        ),
                        Some(sig),
                    ) => DkimOutput::fail(e.clone()).with_signature(sig),
                    _ => d.clone(),
                })
                .collect();
            out.dkim = dkim
                .iter()
                .map(|d| {
                    let (result, reason) = dkim_result(d.result());
                    DkimCheck {
                        d: d.signature().map(|s| s.d.to_ascii_lowercase()),
                        reason,
                        result,
                        s: d.signature().map(|s| s.s.clone()),
                    }
                })
                .collect();
            let arc = r.verify_arc(zoned(Parameters::new(&msg), z)).await;
            out.arc = dkim_result(arc.result()).0;

            let header_from = msg.from().rsplit_once('@').map(|(_, d)| d).unwrap_or("");
            let single_from = !msg.froms().is_empty()
                && msg.froms().iter().all(|f| {
                    f.rsplit_once('@').is_some_and(|(_, d)| d.eq_ignore_ascii_case(header_from))
                });
            let none_spf = SpfOutput::new(String::new());
            let spf_o = spf_for_dmarc.as_ref().unwrap_or(&none_spf);
            let mail_from_domain = spf_o.domain().to_string();
            ar = ar.with_dkim_results(&dkim, msg.from());
            if single_from && !header_from.is_empty() {
                let p = DmarcParameters::new(&msg, &dkim, &mail_from_domain, spf_o);
                let o = r.verify_dmarc(zoned(Parameters::new(p), z)).await;
                let policy = match o.policy() {
                    mail_auth::dmarc::Policy::Reject => "reject",
                    mail_auth::dmarc::Policy::Quarantine => "quarantine",
                    _ => "none",
                };
                out.dmarc = Some(DmarcCheck {
                    header_from: o.domain().to_ascii_lowercase(),
                    policy: policy.into(),
                    result: dmarc_result(&o.result()),
                });
                ar = ar.with_dmarc_result(&o);
            }
            if let Some(ip) = input.client_ip {
                ar = ar.with_arc_result(&arc, ip);
            }
            out.ar_header = trimmed(ar.to_header());
            out
        }
    }

    /// The results of a check that ran out of time: `temperror` for what it would have
    /// checked.
    fn timed_out(input: &AuthInput<'_>) -> AuthResults {
        let helo = input.helo.unwrap_or("").trim().to_ascii_lowercase();
        let mail_from = input.mail_from.trim();
        let temp = |domain: String| SpfCheck { domain, result: AuthResult::TempError };
        let mut out = AuthResults::default();
        let mut field = format!("Authentication-Results: {}", input.authserv_id);
        if input.client_ip.is_some() {
            if !helo.is_empty() {
                out.spf.helo = Some(temp(helo.clone()));
                field.push_str(&format!(";\r\n\tspf=temperror smtp.helo={helo}"));
            }
            if let Some((_, d)) = mail_from.rsplit_once('@') {
                out.spf.mailfrom = Some(temp(d.to_ascii_lowercase()));
                field.push_str(";\r\n\tspf=temperror smtp.mailfrom=");
                field.extend(mail_from.chars().filter(|c| c.is_ascii_graphic() && *c != ';'));
            }
        }
        out.dkim = vec![DkimCheck {
            result: AuthResult::TempError,
            reason: Some("timed out".into()),
            ..DkimCheck::default()
        }];
        field.push_str(";\r\n\tdkim=temperror (timed out)");
        out.ar_header = field;
        out
    }

    /// The parameters with every cache answered from `z`.
    #[allow(clippy::type_complexity)]
    fn zoned<'x, P>(
        p: Parameters<
            'x,
            P,
            mail_auth::common::cache::NoCache<Box<str>, Txt>,
            mail_auth::common::cache::NoCache<Box<str>, RecordSet<MX>>,
            mail_auth::common::cache::NoCache<Box<str>, RecordSet<Ipv4Addr>>,
            mail_auth::common::cache::NoCache<Box<str>, RecordSet<Ipv6Addr>>,
            mail_auth::common::cache::NoCache<IpAddr, RecordSet<Box<str>>>,
        >,
        z: &'x StaticZone,
    ) -> Parameters<'x, P, StaticZone, StaticZone, StaticZone, StaticZone, StaticZone> {
        p.with_txt_cache(z).with_mx_cache(z).with_ipv4_cache(z).with_ipv6_cache(z).with_ptr_cache(z)
    }

    /// The field without its final CRLF, and safe to write whatever the input held: a byte
    /// that is not printable ASCII (an SMTPUTF8 reverse path in a comment) becomes `?`, a
    /// line break that is not folding a blank, so [`super::check_ar_field`] always accepts it.
    fn trimmed(s: String) -> String {
        let mut out = String::with_capacity(s.len());
        let mut chars = s.trim_end_matches(['\r', '\n']).chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\r' if chars.peek() == Some(&'\n') => {
                    chars.next();
                    match chars.peek() {
                        Some(' ' | '\t') => out.push_str("\r\n"),
                        _ => out.push(' '),
                    }
                }
                '\r' | '\n' => out.push(' '),
                '\t' | ' '..='~' => out.push(c),
                _ => out.push('?'),
            }
        }
        if super::check_ar_field(&out).is_err() {
            // unreachable for the builder's output; never write what the check refuses
            out = out.replace("\r\n", " ");
        }
        out
    }

    fn spf_result(r: SpfResult) -> AuthResult {
        match r {
            SpfResult::Pass => AuthResult::Pass,
            SpfResult::Fail => AuthResult::Fail,
            SpfResult::SoftFail => AuthResult::SoftFail,
            SpfResult::Neutral => AuthResult::Neutral,
            SpfResult::TempError => AuthResult::TempError,
            SpfResult::PermError => AuthResult::PermError,
            SpfResult::None => AuthResult::None,
        }
    }

    fn dkim_result(r: &DkimResult) -> (AuthResult, Option<String>) {
        match r {
            DkimResult::Pass => (AuthResult::Pass, None),
            DkimResult::Neutral(e) => (AuthResult::Neutral, Some(e.to_string())),
            DkimResult::Fail(e) => (AuthResult::Fail, Some(e.to_string())),
            DkimResult::PermError(e) => (AuthResult::PermError, Some(e.to_string())),
            DkimResult::TempError(e) => (AuthResult::TempError, Some(e.to_string())),
            DkimResult::None => (AuthResult::None, None),
        }
    }

    fn dmarc_result(r: &DmarcResult) -> AuthResult {
        match r {
            DmarcResult::Pass => AuthResult::Pass,
            DmarcResult::Fail(_) => AuthResult::Fail,
            DmarcResult::TempError(_) => AuthResult::TempError,
            DmarcResult::PermError(_) => AuthResult::PermError,
            DmarcResult::None => AuthResult::None,
        }
    }
}
