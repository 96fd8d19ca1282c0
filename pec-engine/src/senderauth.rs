//! Sender authentication at the incoming point (MAILSEC.md §1; `[dns]`, `[auth]`): SPF, DKIM,
//! DMARC and ARC through `pec_core::mailsec::auth` (mail-auth), on a tokio runtime the engine
//! owns. Callers stay blocking: [`SenderAuth::check`] runs the async checks with `block_on`
//! (from a helper thread when the caller is itself inside a tokio runtime).
//!
//! The results are advisory: S/MIME and the index decide every PEC outcome. They are logged
//! (`auth` in `ricezione`, `anomalia` and `scartato-dmarc` records) and written as the first
//! outer field of anomaly envelopes.

use std::net::IpAddr;

use pec_core::checks::SmtpEnvelope;
use pec_core::identifier::strip_angle;
use pec_core::mailsec::auth::AuthResults;
use pec_core::model::MessageKind;
use pec_core::points::{Decision, Payload, Reply};

use crate::EngineError;
use crate::config::AuthSettings;

/// The SMTP client an arriving message came from. Behind Postfix (an after-queue filter sees
/// Postfix, not the client) these are XFORWARD's `ADDR`, `HELO` and `NAME`
/// (`smtp_send_xforward_command = yes` on the transport to pec): see
/// [`Client::from_xforward`], or [`Client::parse`] for the `Received:` form `pec serve`
/// logs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Client {
    /// The client's IP address (SPF needs it).
    pub addr: Option<IpAddr>,
    /// The HELO/EHLO name it gave.
    pub helo: Option<String>,
    /// Its reverse-DNS name as the MTA found it (`unknown` when none), for the log only.
    pub name: Option<String>,
}

fn unavailable(v: &str) -> bool {
    v.is_empty() || (v.starts_with('[') && v.ends_with(']'))
}

fn parse_addr(a: &str) -> Option<IpAddr> {
    let a = a.trim();
    if unavailable(a) {
        return None;
    }
    let a = a.strip_prefix("IPv6:").or_else(|| a.strip_prefix("ipv6:")).unwrap_or(a);
    a.parse().ok()
}

fn word(v: &str) -> Option<String> {
    let v = v.trim();
    (!unavailable(v) && v.bytes().all(|b| b.is_ascii_graphic())).then(|| v.to_string())
}

impl Client {
    /// From XFORWARD attribute values (Postfix `XFORWARD_README`, xtext already decoded):
    /// `ADDR` as `192.0.2.1`, `IPv6:2001:db8::1` or `[UNAVAILABLE]`/`[TEMPUNAVAIL]`, `HELO`
    /// likewise. Unusable values become `None`.
    pub fn from_xforward(addr: Option<&str>, helo: Option<&str>) -> Client {
        Client { addr: addr.and_then(parse_addr), helo: helo.and_then(word), name: None }
    }

    /// From the `Received:` form of a client, `HELO (NAME [ADDR])` or `NAME [ADDR]` (what
    /// `pec serve` passes to [`crate::Engine::on_inbound_from`]); what cannot be read is
    /// `None`.
    pub fn parse(text: &str) -> Client {
        let text = text.trim();
        let (head, bracketed) = match (text.rfind('['), text.rfind(']')) {
            (Some(o), Some(c)) if o < c => (text.get(..o).unwrap_or(""), text.get(o + 1..c)),
            _ => (text, None),
        };
        let addr = bracketed.and_then(parse_addr);
        let head = head.trim();
        let (helo, name) = match head.split_once('(') {
            Some((h, n)) => (word(h), word(n)),
            None => (None, word(head)),
        };
        Client { addr, helo, name }
    }

    /// The `Received:` form (`HELO (NAME [ADDR])`, `NAME [ADDR]`), the legal log's `client`;
    /// `None` without an address.
    pub fn describe(&self) -> Option<String> {
        let addr = self.addr?;
        let name = self.name.as_deref().unwrap_or("unknown");
        Some(match &self.helo {
            Some(h) => format!("{h} ({name} [{addr}])"),
            None => format!("{name} [{addr}]"),
        })
    }
}

/// Sender authentication as configured: the checker, the runtime it runs on, the settings.
pub struct SenderAuth {
    settings: AuthSettings,
    #[cfg(feature = "mailauth")]
    inner: imp::Inner,
}

impl std::fmt::Debug for SenderAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SenderAuth").field("settings", &self.settings).finish_non_exhaustive()
    }
}

impl SenderAuth {
    /// Sets sender authentication up: reads the zone or makes the resolver, starts the
    /// runtime (one worker thread).
    ///
    /// # Errors
    /// [`EngineError::Config`]: an unreadable or bad zone, a resolver that cannot be made,
    /// or a build without feature `mailauth`.
    pub fn new(settings: &AuthSettings) -> Result<SenderAuth, EngineError> {
        #[cfg(feature = "mailauth")]
        {
            Ok(SenderAuth { settings: settings.clone(), inner: imp::Inner::new(settings)? })
        }
        #[cfg(not(feature = "mailauth"))]
        {
            let _ = settings;
            Err(EngineError::Config(
                "[dns]: this build has no sender authentication (pec-engine feature mailauth)"
                    .into(),
            ))
        }
    }

    /// The settings.
    pub fn settings(&self) -> &AuthSettings {
        &self.settings
    }

    /// Whether ordinary mail failing DMARC for a `p=reject` domain is dropped.
    pub fn discards(&self) -> bool {
        self.settings.discard
    }

    /// Whether anomaly envelopes carry the `Authentication-Results` field.
    pub fn anomaly_header(&self) -> bool {
        self.settings.anomaly_header
    }

    /// Checks an arriving message (blocking; bounded by eight times the DNS timeout). Never
    /// fails: DNS failures are `temperror` results.
    pub fn check(&self, bytes: &[u8], smtp: &SmtpEnvelope, client: Option<&Client>) -> AuthResults {
        let mail_from = smtp.reverse_path.as_deref().map(|p| strip_angle(p.trim())).unwrap_or("");
        #[cfg(feature = "mailauth")]
        {
            self.inner.check(&self.settings, bytes, mail_from, client)
        }
        #[cfg(not(feature = "mailauth"))]
        {
            let _ = (bytes, mail_from, client);
            AuthResults::default()
        }
    }
}

/// `[auth] dmarc_reject = "discard"`: the decision's anomaly envelopes are dropped and their
/// `anomalia` events become `scartato-dmarc`; the reply stays a success (a 5xx after the
/// queue would bounce to the forged sender). Anything else (a PEC message's receipts, a relay)
/// is left as it is.
pub fn discard_anomalies(d: &mut Decision, auth: Option<&AuthResults>) {
    let is_anomaly =
        |p: &Payload| matches!(p, Payload::Build(s) if s.kind == MessageKind::ANOMALY_ENVELOPE);
    if !d.emissions.iter().any(|e| is_anomaly(&e.payload)) {
        return;
    }
    d.emissions.retain(|e| !is_anomaly(&e.payload));
    let domain =
        auth.and_then(|a| a.dmarc.as_ref()).map(|m| m.header_from.clone()).unwrap_or_default();
    for e in &mut d.log {
        if e.event == "anomalia" {
            let why = std::mem::take(&mut e.detail);
            e.event = "scartato-dmarc";
            e.detail = format!("DMARC fail, {domain} p=reject: {why}");
        }
    }
    d.reply = Reply::ok("discarded: DMARC p=reject");
}

/// A valid PEC message whose own provider's DKIM signature fails (`d=` the `From:` domain or
/// a parent of it): its `ricezione` events get a warning in `detail` (MAILSEC.md §1: the
/// outer headers are outside CMS, so this is only a warning; the message is delivered).
pub fn warn_own_dkim(d: &mut Decision, auth: &AuthResults, from_domain: &str) {
    let from = from_domain.trim().to_ascii_lowercase();
    if from.is_empty() {
        return;
    }
    let bad: Vec<String> = auth
        .dkim
        .iter()
        .filter(|k| k.result != pec_core::mailsec::auth::AuthResult::Pass)
        .filter_map(|k| k.d.as_deref())
        .filter(|dom| from == *dom || from.ends_with(&format!(".{dom}")))
        .map(|dom| format!("DKIM non valida per d={dom}"))
        .collect();
    if bad.is_empty() {
        return;
    }
    let warning = format!("avviso: {}", bad.join(", "));
    for e in d.log.iter_mut().filter(|e| e.event == "ricezione") {
        e.detail =
            if e.detail.is_empty() { warning.clone() } else { format!("{}; {warning}", e.detail) };
    }
}

#[cfg(feature = "mailauth")]
mod imp {
    use std::time::Duration;

    use pec_core::mailsec::auth::{AuthInput, AuthResults, Authenticator, StaticZone};

    use super::Client;
    use crate::EngineError;
    use crate::config::{AuthSettings, DnsSource};

    pub(super) struct Inner {
        auth: Authenticator,
        /// Always `Some` until dropped (taken to shut it down without blocking).
        runtime: Option<tokio::runtime::Runtime>,
    }

    impl Drop for Inner {
        fn drop(&mut self) {
            // never blocks, and never panics inside another runtime
            if let Some(rt) = self.runtime.take() {
                rt.shutdown_background();
            }
        }
    }

    fn cfg(m: String) -> EngineError {
        EngineError::Config(m)
    }

    impl Inner {
        pub(super) fn new(s: &AuthSettings) -> Result<Inner, EngineError> {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name("pec-senderauth")
                .enable_all()
                .build()
                .map_err(|e| cfg(format!("[dns]: no runtime: {e}")))?;
            let auth = {
                let _in_runtime = runtime.enter();
                match &s.source {
                    DnsSource::Zone(path) => {
                        let text = std::fs::read_to_string(path)
                            .map_err(|e| cfg(format!("[dns] zone {}: {e}", path.display())))?;
                        let zone = StaticZone::parse(&text)
                            .map_err(|e| cfg(format!("[dns] zone {}: {e}", path.display())))?;
                        Authenticator::with_zone(zone)
                    }
                    DnsSource::Nameservers(v) => Authenticator::with_nameservers(v, s.timeout),
                }
                .map_err(|e| cfg(format!("[dns]: {e}")))?
            };
            Ok(Inner { auth, runtime: Some(runtime) })
        }

        pub(super) fn check(
            &self,
            s: &AuthSettings,
            bytes: &[u8],
            mail_from: &str,
            client: Option<&Client>,
        ) -> AuthResults {
            let Some(rt) = &self.runtime else { return AuthResults::default() };
            let input = AuthInput {
                client_ip: client.and_then(|c| c.addr),
                helo: client.and_then(|c| c.helo.as_deref()),
                mail_from,
                authserv_id: &s.authserv_id,
            };
            let limit = s.timeout.saturating_mul(8).max(Duration::from_secs(1));
            let run = || rt.block_on(self.auth.authenticate_within(bytes, &input, limit));
            if tokio::runtime::Handle::try_current().is_ok() {
                // called from async code: block_on would panic on this thread
                std::thread::scope(|sc| sc.spawn(run).join()).unwrap_or_default()
            } else {
                run()
            }
        }
    }
}
