//! Where the engine keeps its state (ENGINE.md §3): messages sent and their recipients,
//! timers, what the incoming and delivery points did for each local recipient, the outbox of
//! signed messages with the keys that make each emission happen once, the transactions
//! already answered (for MTA retries) and the legal-log events.
//!
//! [`Store`] is the boundary: one implementation per database, opened from a URL by
//! [`open`]. `sqlite:PATH` is the embedded default ([`sqlite::SqliteStore`]);
//! `postgresql://…` is for several nodes sharing the state (`postgres::PgStore`, feature
//! `postgres`, on by default: timers claimed with `FOR UPDATE SKIP LOCKED`).

#[cfg(feature = "postgres")]
pub mod postgres;
pub mod sqlite;
mod wire;

use chrono::{DateTime, Utc};
use pec_core::points::{
    ArrivalState, EmissionKey, MessageState, RecipientStatus, Reply, RouteGroup, TimerKey,
};

use crate::EngineError;
use crate::legal::LogRecord;

/// A stored legal-log record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredLine {
    /// The node.
    pub node: String,
    /// Its sequence number.
    pub seq: u64,
    /// The canonical JSON.
    pub line: String,
    /// The SHA-256 (hex) stored beside it.
    pub hash: String,
}

/// What `pec log search` looks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogQuery {
    /// A PEC identifier.
    Identifier(String),
    /// A Message-ID (the user's original, or a generated message's).
    Msgid(String),
    /// An address (sender, recipient).
    Address(String),
}

/// The last record of a node in a sealed day.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Tail {
    /// The node.
    pub node: String,
    /// Its last sequence number that day.
    pub seq: u64,
    /// That record's SHA-256 (hex).
    pub hash: String,
}

/// The seal of one day.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seal {
    /// `YYYY-MM-DD` in the provider's zone.
    pub day: String,
    /// SHA-256 (hex) of the day's export (`DAY.jsonl`).
    pub sha256: String,
    /// How many records.
    pub records: u64,
    /// Each node's last record that day.
    pub tails: Vec<Tail>,
    /// `rfc3161` (a TSA's TimeStampResp, `DAY.tsr`) or `cms` (the provider's own detached
    /// CMS signature, `DAY.p7s`).
    pub kind: String,
    /// The TimeStampResp or the CMS (DER).
    pub token: Vec<u8>,
    /// The request's nonce (hex), for `rfc3161`.
    pub nonce: Option<String>,
    /// The TSA asked.
    pub tsa_url: Option<String>,
    /// When it was sealed (ms since the epoch).
    pub sealed_ms: i64,
}

/// One write transaction: everything read through it is locked until it commits.
pub trait Tx {
    /// The stored outcome of transaction `key` (an event already answered).
    fn txn(&mut self, key: &str) -> Result<Option<TxnRecord>, EngineError>;
    /// Records the outcome of transaction `key`.
    fn put_txn(&mut self, key: &str, point: &str, rec: &TxnRecord) -> Result<(), EngineError>;
    /// A message this provider sent, with the transport envelope it signed.
    fn message(&mut self, identifier: &str) -> Result<Option<StoredMessage>, EngineError>;
    /// Records a message accepted at the access point and its recipients; its signed
    /// transport envelope is the bytes of outbox row `envelope_outbox` (stored once: outbox
    /// rows are never deleted, they are the record of what was sent).
    fn insert_message(&mut self, m: &MessageState, envelope_outbox: i64)
    -> Result<(), EngineError>;
    /// Sets a recipient's status.
    fn set_recipient(
        &mut self,
        identifier: &str,
        address: &str,
        status: RecipientStatus,
        at: DateTime<Utc>,
    ) -> Result<(), EngineError>;
    /// Records a receipt received for a recipient.
    fn add_receipt(
        &mut self,
        identifier: &str,
        address: &str,
        kind: &str,
        message_id: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<(), EngineError>;
    /// The local recipients of `identifier` seen by the incoming point.
    fn arrivals(&mut self, identifier: &str) -> Result<Vec<ArrivalState>, EngineError>;
    /// Sets a local recipient's status.
    fn set_arrival(&mut self, a: &ArrivalState, at: DateTime<Utc>) -> Result<(), EngineError>;
    /// The outbox row that emission `key` produced, if any.
    fn emitted(&mut self, key: &EmissionKey) -> Result<Option<i64>, EngineError>;
    /// Records that `key` was emitted as outbox row `outbox`.
    fn insert_emitted(&mut self, key: &EmissionKey, outbox: i64) -> Result<(), EngineError>;
    /// Adds a message to the outbox; returns its id.
    fn insert_outbox(&mut self, o: &NewOutgoing<'_>, at: DateTime<Utc>)
    -> Result<i64, EngineError>;
    /// Outbox rows by id, in the order given.
    fn outbox(&mut self, ids: &[i64]) -> Result<Vec<Outgoing>, EngineError>;
    /// The outbox rows not yet acknowledged, oldest first (what a sender resends after a
    /// crash: timer notices have no MTA to retry them).
    fn unsent(&mut self, limit: usize) -> Result<Vec<Outgoing>, EngineError>;
    /// Marks outbox rows sent; returns how many were not yet.
    fn ack(&mut self, ids: &[i64], at: DateTime<Utc>) -> Result<usize, EngineError>;
    /// Sets a timer unless it exists.
    fn set_timer(&mut self, key: &TimerKey, due: DateTime<Utc>) -> Result<(), EngineError>;
    /// Closes a pending timer (`cancelled` or `done`).
    fn close_timer(&mut self, key: &TimerKey, status: &str) -> Result<(), EngineError>;
    /// Claims the earliest pending timer due at `now` for this transaction.
    fn claim_due(&mut self, now: DateTime<Utc>) -> Result<Claim, EngineError>;
    /// Appends a legal-log record to `node`'s chain: sets its `seq` and `prev` after the
    /// node's last record (or the last one a seal remembers, after a purge) and stores its
    /// canonical line and hash (serialised per node: PostgreSQL takes an advisory lock).
    fn log(
        &mut self,
        node: &str,
        rec: &mut LogRecord,
        at: DateTime<Utc>,
    ) -> Result<(), EngineError>;
    /// The stored legal-log records of `day` (every day when `None`), by node then seq.
    fn log_lines(&mut self, day: Option<&str>) -> Result<Vec<StoredLine>, EngineError>;
    /// The stored hash of record (`node`, `seq`).
    fn log_hash(&mut self, node: &str, seq: u64) -> Result<Option<String>, EngineError>;
    /// The records matching `q`, oldest first.
    fn log_search(&mut self, q: &LogQuery) -> Result<Vec<StoredLine>, EngineError>;
    /// The seal of `day`.
    fn seal(&mut self, day: &str) -> Result<Option<Seal>, EngineError>;
    /// Every seal, by day.
    fn seals(&mut self) -> Result<Vec<Seal>, EngineError>;
    /// Stores a seal (append-only).
    fn put_seal(&mut self, s: &Seal) -> Result<(), EngineError>;
    /// Deletes the records of the sealed days before `day`; returns how many.
    fn purge_log(&mut self, day: &str) -> Result<usize, EngineError>;
    /// What an operator sees of `identifier`.
    fn status(&mut self, identifier: &str) -> Result<Option<Status>, EngineError>;
    /// The identifiers of messages with a recipient still awaiting receipts.
    fn open_identifiers(&mut self) -> Result<Vec<String>, EngineError>;
    /// A daemon setting kept with the state (`pec serve`'s test clock offset, ...).
    fn setting(&mut self, key: &str) -> Result<Option<String>, EngineError>;
    /// Sets a daemon setting (insert or replace).
    fn put_setting(&mut self, key: &str, value: &str) -> Result<(), EngineError>;
}

/// A database holding the engine's state.
pub trait Store: Send + std::fmt::Debug {
    /// Runs `f` in one write transaction (SQLite: `BEGIN IMMEDIATE`), committed when `f`
    /// returns `Ok`, rolled back otherwise.
    ///
    /// # Errors
    /// [`EngineError::Store`] when the database cannot be reached or the commit fails; `f`'s
    /// error otherwise.
    fn write(
        &mut self,
        f: &mut dyn FnMut(&mut dyn Tx) -> Result<(), EngineError>,
    ) -> Result<(), EngineError>;
}

/// Opens the store `url` names (`sqlite:PATH`), applying the schema migrations.
///
/// # Errors
/// [`EngineError::Config`] for an unknown scheme, [`EngineError::Store`] when it cannot be
/// opened.
pub fn open(url: &str) -> Result<Box<dyn Store>, EngineError> {
    if let Some(path) = url.strip_prefix("sqlite:") {
        let path = path.strip_prefix("//").unwrap_or(path);
        return Ok(Box::new(sqlite::SqliteStore::open(std::path::Path::new(path))?));
    }
    if url.starts_with("postgresql://") || url.starts_with("postgres://") {
        #[cfg(feature = "postgres")]
        return Ok(Box::new(postgres::PgStore::open(url)?));
        #[cfg(not(feature = "postgres"))]
        return Err(EngineError::Config(
            "this build has no postgresql support (feature `postgres`)".into(),
        ));
    }
    Err(EngineError::Config(format!(
        "unknown store URL {url:?} (expected sqlite:PATH or postgresql://…)"
    )))
}

/// What [`Tx::claim_due`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Claim {
    /// A due timer, now held by this transaction.
    Due(TimerKey),
    /// Due timers exist, but other transactions hold them all: try again shortly.
    Busy,
    /// Nothing is due.
    Nothing,
}

/// The stored outcome of a transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TxnRecord {
    /// The reply to the MTA.
    pub reply: Reply,
    /// Per-recipient replies (LMTP).
    pub replies: Vec<(String, Reply)>,
    /// The outbox rows it produced.
    pub outbox: Vec<i64>,
}

/// A message this provider sent.
#[derive(Clone, Debug)]
pub struct StoredMessage {
    /// Its state.
    pub state: MessageState,
    /// The signed transport envelope.
    pub envelope: Vec<u8>,
}

/// A row to add to the outbox.
#[derive(Clone, Debug)]
pub struct NewOutgoing<'a> {
    /// The PEC identifier concerned.
    pub identifier: Option<&'a str>,
    /// The kind (wire value, or `forward`).
    pub kind: &'a str,
    /// Its Message-ID.
    pub message_id: Option<&'a str>,
    /// `MAIL FROM`.
    pub mail_from: &'a str,
    /// Where it goes.
    pub groups: &'a [RouteGroup],
    /// The bytes.
    pub bytes: &'a [u8],
}

/// A message to send, as stored: the same bytes on every retry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outgoing {
    /// The outbox id (what [`crate::Engine::ack`] takes).
    pub id: i64,
    /// The PEC identifier concerned.
    pub identifier: Option<String>,
    /// The kind's wire value (`posta-certificata`, `accettazione`, ...), or `forward` for
    /// received bytes passed on unchanged.
    pub kind: String,
    /// The message's own Message-ID (without angle brackets).
    pub message_id: Option<String>,
    /// `MAIL FROM`.
    pub mail_from: String,
    /// Where it goes.
    pub groups: Vec<RouteGroup>,
    /// The bytes (signed, for built messages).
    pub bytes: Vec<u8>,
    /// Whether the caller already acknowledged sending it.
    pub sent: bool,
}

/// What an operator sees of one PEC identifier.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Status {
    /// The identifier.
    pub identifier: String,
    /// As the sender's provider: the message and its recipients.
    pub sent: Option<SentStatus>,
    /// As a recipient's provider: what the incoming and delivery points did.
    pub received: Vec<ArrivalView>,
}

/// A message this provider sent.
#[derive(Clone, Debug, serde::Serialize)]
pub struct SentStatus {
    /// The client's Message-ID.
    pub msgid: Option<String>,
    /// The reverse path.
    pub reverse_path: String,
    /// The `From:` address.
    pub sender: String,
    /// The subject.
    pub subject: String,
    /// The receipt type asked for.
    pub receipt_type: String,
    /// T0 (RFC 3339, UTC).
    pub t0: String,
    /// T0's zone.
    pub zone: String,
    /// The recipients.
    pub recipients: Vec<RecipientView>,
}

/// One recipient of a message sent.
#[derive(Clone, Debug, serde::Serialize)]
pub struct RecipientView {
    /// The address.
    pub address: String,
    /// `certificato` / `esterno`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `to` / `cc`.
    pub field: String,
    /// `pending`, `taken-in-charge`, `delivered`, `failed`, `virus`, `timed-out`,
    /// `external`.
    pub state: String,
    /// When the state last changed (RFC 3339).
    pub updated: String,
    /// Receipts received and notices sent about this recipient.
    pub receipts: Vec<ReceiptView>,
    /// Its timers.
    pub timers: Vec<TimerView>,
}

/// A receipt received or a notice sent.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ReceiptView {
    /// `received` or `sent`.
    pub direction: String,
    /// The kind.
    pub kind: String,
    /// Its Message-ID.
    pub message_id: Option<String>,
    /// When (RFC 3339).
    pub at: String,
}

/// A timer.
#[derive(Clone, Debug, serde::Serialize)]
pub struct TimerView {
    /// `12h` / `24h`.
    pub which: String,
    /// When due (RFC 3339).
    pub due: String,
    /// `pending`, `cancelled`, `done`.
    pub status: String,
}

/// A local recipient of a message received.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ArrivalView {
    /// The address.
    pub address: String,
    /// `taken-in-charge`, `delivered`, `failed`, `virus`.
    pub state: String,
    /// When (RFC 3339).
    pub updated: String,
    /// The receipts this provider sent about it.
    pub receipts: Vec<ReceiptView>,
}
