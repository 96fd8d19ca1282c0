//! The three points of a PEC provider as pure decisions (RFC 6109 §2.2, §3; docs/SPEC.md §1,
//! §9, §10; the engine design notes, ENGINE.md §1–§2).
//!
//! No I/O, no clock, no keys: every function takes an event (the bytes, the SMTP envelope, the
//! antivirus result, the verification report, the time reference and identifier the caller
//! chose for the transaction) and the current state of the message and recipients it
//! concerns, and returns a [`Decision`]: the messages to emit (as [`BuildSpec`]s for the
//! builders, or the received bytes forwarded unchanged), where each goes ([`Route`]), the state
//! changes, the timers to set or cancel, the events for the legal log and the reply owed to
//! the MTA (one per recipient at the delivery point, as LMTP answers). The engine
//! (`pec-engine`) loads and locks the state, calls these, builds and signs, and commits.
//!
//! * [`access`]: a submission at the sender's access point (§3.1).
//! * [`incoming`]: an arrival at the incoming point (§3.2), including the correlation of
//!   receipts with the messages this provider sent (§3.1.6).
//! * [`delivery`]: the mailbox's answer at the delivery point (§3.3).
//! * [`timer`]: a 12 h or 24 h timer due (§3.1.6).
//!
//! Decisions taken here where the RFC leaves room (ENGINE.md, open questions):
//! * receipts and notices are sent with `MAIL FROM` the service address
//!   (`posta-certificata@<domain>`); envelopes keep the original paths (§3.1.5, §3.2.2);
//! * same-provider mail passes this provider's own incoming point ([`Route::Loopback`]), which
//!   sends the take-charge receipt to itself (§3.4);
//! * an unknown local mailbox is a delivery error (`no-dest`) from the mailbox's 5.1.1, not a
//!   refusal at RCPT;
//! * a verification that is `indeterminate` (a CRL that cannot be had) is a temporary failure
//!   (451): the MTA keeps the message and retries, within its 24 h queue lifetime;
//! * a permanent mailbox failure of a correct envelope is answered 250 (the PEC non-delivery
//!   notice is the answer; an SMTP bounce must not reach a PEC user as if it were one);
//! * a virus in ordinary mail is dropped (250, logged), without PEC notice (§3.2).

mod access;
mod delivery;
mod incoming;
mod timer;

pub use access::{Submission, access};
pub use delivery::{MailboxEvent, MailboxOutcome, delivery, error_for_status};
pub use incoming::{Arrival, incoming};
pub use timer::timer;

use chrono::{DateTime, Duration, Utc};

use crate::build::{BuildRequest, Timeout};
use crate::checks::SmtpEnvelope;
use crate::model::{CertError, MessageKind, ReceiptType, RecipientType};
use crate::timeref::TimeReference;

/// What the provider's configuration says the decisions need.
#[derive(Clone, Debug)]
pub struct Policy {
    /// The PEC domains whose mailboxes this provider hosts (lower case compared).
    pub local_domains: Vec<String>,
    /// This provider's service mailbox (`mailReceipt` in the index): take-charge receipts and
    /// virus notices for it are stored there.
    pub service_mailbox: String,
    /// The service address (`posta-certificata@<domain>`): `MAIL FROM` of receipts and
    /// notices.
    pub service_address: String,
    /// What to do with ordinary (not certified) mail to a local mailbox.
    pub ordinary_mail: OrdinaryMail,
    /// The 12 h timer (take-charge), from T0.
    pub take_charge: Duration,
    /// When the 24 h notice fires, from T0 (default 23 h; RFC window [22 h, 24 h]).
    pub delivery_fire: Duration,
    /// The formal-check limit of size × recipients (a non-acceptance above it).
    pub max_size: usize,
    /// Above this message size the access point answers 552 and emits nothing.
    pub hard_size: usize,
}

impl Policy {
    /// A policy with the defaults for `domain`: local domains `[domain]`, service address and
    /// mailbox `posta-certificata@<domain>`, wrap ordinary mail, 12 h / 23 h, 30 MB formal
    /// limit, 100 MB hard limit.
    pub fn new(domain: &str) -> Policy {
        let service = format!("posta-certificata@{}", domain.to_ascii_lowercase());
        Policy {
            local_domains: vec![domain.to_ascii_lowercase()],
            service_mailbox: service.clone(),
            service_address: service,
            ordinary_mail: OrdinaryMail::Wrap,
            take_charge: Duration::hours(12),
            delivery_fire: Duration::hours(23),
            max_size: crate::provider::DEFAULT_MAX_SIZE,
            hard_size: 100 * 1000 * 1000,
        }
    }

    /// Whether `address` is a mailbox of this provider (its domain is local).
    pub fn is_local(&self, address: &str) -> bool {
        match address.trim().trim_matches(|c| c == '<' || c == '>').rsplit_once('@') {
            Some((_, d)) => self.local_domains.iter().any(|l| l.eq_ignore_ascii_case(d)),
            None => false,
        }
    }

    /// The route of a message this provider generated to `address`: its own incoming point
    /// for a local mailbox (§3.4), else the relay.
    pub fn route_for(&self, address: &str) -> Route {
        if self.is_local(address) { Route::Loopback } else { Route::Relay }
    }

    /// `addresses` grouped by [`Policy::route_for`] (loopback first), empty groups left out.
    pub fn groups(&self, addresses: &[String]) -> Vec<RouteGroup> {
        let (local, remote): (Vec<String>, Vec<String>) =
            addresses.iter().cloned().partition(|a| self.is_local(a));
        let mut out = Vec::new();
        if !local.is_empty() {
            out.push(RouteGroup { route: Route::Loopback, rcpt_to: local });
        }
        if !remote.is_empty() {
            out.push(RouteGroup { route: Route::Relay, rcpt_to: remote });
        }
        out
    }
}

/// Unsigned (or not validly signed) mail to a local PEC mailbox ([incoming] `ordinary_mail`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OrdinaryMail {
    /// Deliver it wrapped in an anomaly envelope (the default).
    #[default]
    Wrap,
    /// Refuse it (550).
    Refuse,
}

/// The antivirus verdict on the bytes of an event.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Antivirus {
    /// Nothing found.
    #[default]
    Clean,
    /// A virus, by name.
    Virus(String),
}

/// A reply to the MTA: SMTP/LMTP code, enhanced status code and text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    /// `250`, `451`, `550`, ...
    pub code: u16,
    /// The enhanced status code (RFC 3463), e.g. `2.0.0`.
    pub status: String,
    /// Free text.
    pub text: String,
}

impl Reply {
    /// A reply.
    pub fn new(code: u16, status: &str, text: impl Into<String>) -> Reply {
        Reply { code, status: status.to_string(), text: text.into() }
    }

    /// `250 2.0.0 text`.
    pub fn ok(text: impl Into<String>) -> Reply {
        Reply::new(250, "2.0.0", text)
    }

    /// `451 4.3.0 text`: try again later (a store that is down, an indeterminate verdict).
    pub fn temporary(text: impl Into<String>) -> Reply {
        Reply::new(451, "4.3.0", text)
    }

    /// Whether the code is 2xx.
    pub fn is_ok(&self) -> bool {
        (200..300).contains(&self.code)
    }

    /// Whether the code is 4xx.
    pub fn is_temporary(&self) -> bool {
        (400..500).contains(&self.code)
    }

    /// The reply line, e.g. `250 2.0.0 ok`.
    pub fn line(&self) -> String {
        format!("{} {} {}", self.code, self.status, self.text)
    }
}

/// Where an emitted message goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Route {
    /// Re-injected into the MTA for another provider (or the Internet, for `esterno`
    /// recipients).
    Relay,
    /// To this provider's own incoming point: a message it generated for one of its own
    /// mailboxes (same-provider mail passes the incoming and delivery points, §3.4).
    Loopback,
    /// To the delivery point: store in the local mailboxes listed, then report each outcome
    /// with the delivery point's event ([`delivery`]).
    Deliver,
    /// Store in this provider's service mailbox (take-charge receipts and virus notices
    /// received for messages it sent, §2.2.5).
    ServiceMailbox,
}

impl Route {
    /// `relay`, `loopback`, `deliver`, `service-mailbox`.
    pub fn as_str(self) -> &'static str {
        match self {
            Route::Relay => "relay",
            Route::Loopback => "loopback",
            Route::Deliver => "deliver",
            Route::ServiceMailbox => "service-mailbox",
        }
    }

    /// The inverse of [`Route::as_str`].
    pub fn from_wire(s: &str) -> Option<Route> {
        Some(match s {
            "relay" => Route::Relay,
            "loopback" => Route::Loopback,
            "deliver" => Route::Deliver,
            "service-mailbox" => Route::ServiceMailbox,
            _ => return None,
        })
    }
}

/// Recipients of an emission that share a route.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteGroup {
    /// The route.
    pub route: Route,
    /// The SMTP forward paths (`RCPT TO`).
    pub rcpt_to: Vec<String>,
}

/// The key that makes an emission happen once: (PEC identifier, recipient concerned, kind).
/// The recipient is empty for what concerns the whole message (acceptance, transport
/// envelope); the 12 h and 24 h notices are `preavviso-errore-consegna/12h` and `/24h`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EmissionKey {
    /// The PEC identifier.
    pub identifier: String,
    /// The recipient concerned (lower-case domain), or empty.
    pub recipient: String,
    /// The kind's wire value (plus `/12h`, `/24h` for the timeout notices).
    pub kind: String,
}

impl EmissionKey {
    /// A key.
    pub fn new(identifier: &str, recipient: &str, kind: &str) -> EmissionKey {
        EmissionKey {
            identifier: identifier.to_string(),
            recipient: normal_address(recipient),
            kind: kind.to_string(),
        }
    }
}

/// Which bytes a [`BuildSpec`] reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// The event's bytes (the submitted original, or the received message).
    Event,
    /// The transport envelope this provider sent for the message (kept in its state).
    StoredEnvelope,
}

/// A message for the builders ([`crate::provider::Provider::build`]): an owned
/// [`BuildRequest`] whose input bytes are named by [`Source`].
#[derive(Clone, Debug)]
pub struct BuildSpec {
    /// The kind.
    pub kind: MessageKind,
    /// Which bytes are the original / envelope.
    pub source: Source,
    /// The recipient(s) the notice is about.
    pub recipients: Vec<String>,
    /// Receipt type override.
    pub receipt_type: Option<ReceiptType>,
    /// `errore`.
    pub error: Option<CertError>,
    /// `errore-esteso` / description.
    pub error_text: Option<String>,
    /// Which timeout notice.
    pub timeout: Option<Timeout>,
    /// The SMTP paths the builder reads (where notices go).
    pub smtp: Option<SmtpEnvelope>,
    /// The PEC identifier (access-point kinds).
    pub identifier: Option<String>,
    /// The transaction's time reference.
    pub time: TimeReference,
}

impl BuildSpec {
    fn new(kind: MessageKind, source: Source, time: TimeReference) -> BuildSpec {
        BuildSpec {
            kind,
            source,
            recipients: Vec::new(),
            receipt_type: None,
            error: None,
            error_text: None,
            timeout: None,
            smtp: None,
            identifier: None,
            time,
        }
    }

    /// The build request over `bytes` (the bytes [`BuildSpec::source`] names).
    pub fn request<'a>(&self, bytes: &'a [u8]) -> BuildRequest<'a> {
        let mut req = BuildRequest::new(self.kind.clone());
        req.time = Some(self.time);
        if reads_original(&self.kind) {
            req.original = Some(bytes);
        } else {
            req.envelope = Some(bytes);
        }
        req.recipients = self.recipients.clone();
        req.receipt_type = self.receipt_type.clone();
        req.error = self.error.clone();
        req.error_text = self.error_text.clone();
        req.timeout = self.timeout;
        req.smtp = self.smtp.clone();
        req.identifier = self.identifier.clone();
        req
    }
}

/// What an emission carries.
#[derive(Clone, Debug)]
pub enum Payload {
    /// A message to build and sign.
    Build(Box<BuildSpec>),
    /// The event's bytes, unchanged (a received envelope or receipt passed to the delivery
    /// point, §3.3.2).
    Forward,
}

/// One message to send.
#[derive(Clone, Debug)]
pub struct Emission {
    /// What makes it happen once; an emission whose keys were all emitted before is not
    /// emitted again (the stored one is returned). Empty for forwards, which are deduplicated
    /// by their transaction.
    pub keys: Vec<EmissionKey>,
    /// What to send.
    pub payload: Payload,
    /// The PEC identifier it concerns, when known.
    pub identifier: Option<String>,
    /// `MAIL FROM`.
    pub mail_from: String,
    /// Where it goes.
    pub groups: Vec<RouteGroup>,
}

impl Emission {
    /// The kind's wire value (`forward` for a forward).
    pub fn kind(&self) -> String {
        match &self.payload {
            Payload::Build(b) => b.kind.as_str().to_string(),
            Payload::Forward => "forward".to_string(),
        }
    }
}

/// Where a recipient of a message this provider sent stands (sender side).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RecipientStatus {
    /// Sent, nothing back yet.
    Pending,
    /// Take-charge receipt received.
    TakenInCharge,
    /// Delivery receipt received.
    Delivered,
    /// Non-delivery notice received.
    Failed,
    /// Virus detection notice received (the sender was told).
    Virus,
    /// No delivery receipt by the 24 h notice: tracking stopped.
    TimedOut,
    /// An `esterno` recipient: nothing is tracked.
    External,
}

impl RecipientStatus {
    /// The wire value: `pending`, `taken-in-charge`, `delivered`, `failed`, `virus`,
    /// `timed-out`, `external`.
    pub fn as_str(self) -> &'static str {
        match self {
            RecipientStatus::Pending => "pending",
            RecipientStatus::TakenInCharge => "taken-in-charge",
            RecipientStatus::Delivered => "delivered",
            RecipientStatus::Failed => "failed",
            RecipientStatus::Virus => "virus",
            RecipientStatus::TimedOut => "timed-out",
            RecipientStatus::External => "external",
        }
    }

    /// The inverse of [`RecipientStatus::as_str`].
    pub fn from_wire(s: &str) -> Option<RecipientStatus> {
        Some(match s {
            "pending" => RecipientStatus::Pending,
            "taken-in-charge" => RecipientStatus::TakenInCharge,
            "delivered" => RecipientStatus::Delivered,
            "failed" => RecipientStatus::Failed,
            "virus" => RecipientStatus::Virus,
            "timed-out" => RecipientStatus::TimedOut,
            "external" => RecipientStatus::External,
            _ => return None,
        })
    }

    /// Whether receipts are still awaited (pending or taken in charge).
    pub fn is_open(self) -> bool {
        matches!(self, RecipientStatus::Pending | RecipientStatus::TakenInCharge)
    }
}

/// `To` or `Cc`: how the original named a recipient.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddressField {
    /// In `To:` (or not found: treated as primary, §3.3).
    To,
    /// Only in `Cc:`.
    Cc,
}

impl AddressField {
    /// `to` or `cc`.
    pub fn as_str(self) -> &'static str {
        match self {
            AddressField::To => "to",
            AddressField::Cc => "cc",
        }
    }
}

/// One recipient of a message this provider sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecipientState {
    /// The forward path.
    pub address: String,
    /// `certificato` / `esterno`.
    pub kind: RecipientType,
    /// `To` or `Cc`.
    pub field: AddressField,
    /// Where it stands.
    pub status: RecipientStatus,
    /// When the status last changed.
    pub updated: DateTime<Utc>,
}

/// A message this provider accepted at its access point (sender side).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageState {
    /// The PEC identifier.
    pub identifier: String,
    /// The client's Message-ID (with angle brackets), when it gave one.
    pub msgid: Option<String>,
    /// The SMTP reverse path.
    pub reverse_path: String,
    /// The `From:` address.
    pub sender: String,
    /// The subject.
    pub subject: String,
    /// The receipt type asked for.
    pub receipt_type: ReceiptType,
    /// T0: the access point's time reference, in UTC.
    pub t0: DateTime<Utc>,
    /// T0's zone, `+hhmm`.
    pub zone: String,
    /// The recipients.
    pub recipients: Vec<RecipientState>,
}

impl MessageState {
    /// The recipient `address` (domain case-insensitive).
    pub fn recipient(&self, address: &str) -> Option<&RecipientState> {
        self.recipients.iter().find(|r| same_address(&r.address, address))
    }
}

/// Where a recipient of a message received by this provider stands (recipient side), for
/// one PEC identifier.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArrivalStatus {
    /// Take-charge receipt sent, passed to the delivery point.
    TakenInCharge,
    /// Stored in the mailbox, delivery receipt sent.
    Delivered,
    /// The mailbox refused it for good, non-delivery notice sent.
    Failed,
    /// A virus was found: virus notice sent, not delivered.
    Virus,
}

impl ArrivalStatus {
    /// `taken-in-charge`, `delivered`, `failed`, `virus`.
    pub fn as_str(self) -> &'static str {
        match self {
            ArrivalStatus::TakenInCharge => "taken-in-charge",
            ArrivalStatus::Delivered => "delivered",
            ArrivalStatus::Failed => "failed",
            ArrivalStatus::Virus => "virus",
        }
    }

    /// The inverse of [`ArrivalStatus::as_str`].
    pub fn from_wire(s: &str) -> Option<ArrivalStatus> {
        Some(match s {
            "taken-in-charge" => ArrivalStatus::TakenInCharge,
            "delivered" => ArrivalStatus::Delivered,
            "failed" => ArrivalStatus::Failed,
            "virus" => ArrivalStatus::Virus,
            _ => return None,
        })
    }
}

/// One local recipient of a received transport envelope.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArrivalState {
    /// The PEC identifier.
    pub identifier: String,
    /// The local recipient.
    pub address: String,
    /// Where it stands.
    pub status: ArrivalStatus,
}

/// A timer: (identifier, recipient, 12 h / 24 h).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TimerKey {
    /// The PEC identifier.
    pub identifier: String,
    /// The recipient.
    pub address: String,
    /// Which notice.
    pub which: Timeout,
}

/// A change to a timer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TimerOp {
    /// Set (once: setting an existing timer changes nothing).
    Set {
        /// The timer.
        key: TimerKey,
        /// When it is due.
        due: DateTime<Utc>,
    },
    /// Cancel (a receipt arrived).
    Cancel(TimerKey),
    /// Fired.
    Done(TimerKey),
}

/// A change to the state.
#[derive(Clone, Debug)]
pub enum Change {
    /// A message accepted at the access point; `envelope` is the index in
    /// [`Decision::emissions`] of its transport envelope, whose bytes are kept.
    NewMessage {
        /// The message and its recipients.
        message: MessageState,
        /// The emission that is its transport envelope.
        envelope: usize,
    },
    /// A recipient of a message this provider sent changed status.
    Recipient {
        /// The PEC identifier.
        identifier: String,
        /// The recipient.
        address: String,
        /// The new status.
        status: RecipientStatus,
    },
    /// A receipt for a recipient of a message this provider sent arrived (recorded whatever
    /// the status).
    ReceiptReceived {
        /// The PEC identifier.
        identifier: String,
        /// The recipient.
        address: String,
        /// The receipt's kind.
        kind: String,
        /// The receipt's own Message-ID.
        message_id: Option<String>,
    },
    /// A local recipient of a received envelope changed status.
    Arrival(ArrivalState),
}

/// One event for the legal log (RFC 6109 §2.3; ENGINE.md §5).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogEvent {
    /// The event: `accettazione`, `non-accettazione`, `non-accettazione-virus`, `inoltro`,
    /// `ricezione`, `presa-in-carico`, `anomalia`, `rilevazione-virus`, `consegna`,
    /// `errore-consegna`, `preavviso-12h`, `mancata-consegna-24h`, `quarantena`,
    /// `ricevuta-ricevuta`, `rifiuto`, `scartato`.
    pub event: &'static str,
    /// The PEC identifier, when known.
    pub identifier: Option<String>,
    /// The recipient concerned, when one.
    pub recipient: Option<String>,
    /// Free detail.
    pub detail: String,
}

impl LogEvent {
    fn new(event: &'static str, identifier: Option<&str>, recipient: Option<&str>) -> LogEvent {
        LogEvent {
            event,
            identifier: identifier.map(str::to_string),
            recipient: recipient.map(str::to_string),
            detail: String::new(),
        }
    }

    fn detail(mut self, d: impl Into<String>) -> LogEvent {
        self.detail = d.into();
        self
    }
}

/// What a point decided.
#[derive(Clone, Debug)]
pub struct Decision {
    /// The reply to the MTA (SMTP, after DATA).
    pub reply: Reply,
    /// Per recipient (LMTP, delivery point): (recipient, reply), in the event's order.
    pub replies: Vec<(String, Reply)>,
    /// The messages to send.
    pub emissions: Vec<Emission>,
    /// The state changes.
    pub changes: Vec<Change>,
    /// The timers to set, cancel or close.
    pub timers: Vec<TimerOp>,
    /// The legal-log events.
    pub log: Vec<LogEvent>,
}

impl Decision {
    fn reply(reply: Reply) -> Decision {
        Decision {
            reply,
            replies: Vec::new(),
            emissions: Vec::new(),
            changes: Vec::new(),
            timers: Vec::new(),
            log: Vec::new(),
        }
    }
}

/// An address with its domain lower-cased (local part exact), angle brackets and spaces off.
pub fn normal_address(a: &str) -> String {
    let a = a.trim().trim_start_matches('<').trim_end_matches('>').trim();
    match a.rsplit_once('@') {
        Some((l, d)) => format!("{l}@{}", d.to_ascii_lowercase()),
        None => a.to_string(),
    }
}

/// Addresses compare with the domain case-insensitive and the local part exact.
pub fn same_address(a: &str, b: &str) -> bool {
    normal_address(a) == normal_address(b)
}

/// The 12 h / 24 h kind label of [`EmissionKey`].
fn timeout_label(which: Timeout) -> String {
    format!("{}/{}", crate::model::ReceiptKind::DeliveryTimeout.as_str(), which.as_str())
}

/// Whether the builders read the user's original for `kind` (access-point kinds).
fn reads_original(kind: &MessageKind) -> bool {
    use crate::model::{ReceiptKind, TransportKind};
    matches!(
        kind,
        MessageKind::Transport(TransportKind::Certified)
            | MessageKind::Receipt(ReceiptKind::Acceptance)
            | MessageKind::Receipt(ReceiptKind::NonAcceptance)
    )
}
