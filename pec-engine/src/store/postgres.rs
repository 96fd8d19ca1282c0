//! `postgresql://…`: the store for several MTA nodes sharing the state (the postgres crate,
//! blocking).
//!
//! Concurrency: every event locks what it concerns with transaction-scoped advisory locks,
//! always in the same order — the event's dedupe key (`txn:`), then the PEC identifier
//! (`id:`) — before touching its rows, so two nodes handling the same message serialise and
//! never deadlock. Timers are claimed with `FOR UPDATE SKIP LOCKED` plus a non-blocking try
//! of the identifier's lock; the claim, the notice and the timer's closing commit together,
//! so a node that dies mid-way leaves the timer pending (its lease columns say who held it
//! last) and another node fires it, once. Dedupe is by unique keys (`ON CONFLICT DO
//! NOTHING`).

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use pec_core::build::Timeout;
use pec_core::model::{ReceiptType, RecipientType};
use pec_core::points::{
    AddressField, ArrivalState, ArrivalStatus, EmissionKey, MessageState, RecipientState,
    RecipientStatus, TimerKey,
};
use postgres::types::ToSql;
use postgres::{Client, NoTls, Row, Statement};

use super::wire::{
    SEAL_SELECT, from_ms, groups_from, groups_json, ms, reply_from, reply_json, rfc3339,
};
use super::{
    ArrivalView, Claim, LogQuery, NewOutgoing, Outgoing, ReceiptView, RecipientView, Seal,
    SentStatus, Status, Store, StoredLine, StoredMessage, TimerView, Tx, TxnRecord,
};
use crate::EngineError;
use crate::legal::LogRecord;
use pec_core::identifier::strip_angle;

/// The schema, one migration per version (table `pec_schema`), applied in order on open
/// under an advisory lock (several nodes may start at once).
const MIGRATIONS: &[&str] = &[
    // 1: the engine's state
    "CREATE TABLE message (
        identifier TEXT PRIMARY KEY, msgid TEXT, reverse_path TEXT NOT NULL,
        sender TEXT NOT NULL, subject TEXT NOT NULL, receipt_type TEXT NOT NULL,
        t0_ms BIGINT NOT NULL, zone TEXT NOT NULL, envelope BYTEA NOT NULL);
     CREATE TABLE recipient (
        identifier TEXT NOT NULL, address TEXT NOT NULL, pos INTEGER NOT NULL,
        kind TEXT NOT NULL, field TEXT NOT NULL, status TEXT NOT NULL,
        updated_ms BIGINT NOT NULL, PRIMARY KEY (identifier, address));
     CREATE INDEX recipient_status ON recipient (status);
     CREATE TABLE receipt (
        seq BIGSERIAL PRIMARY KEY, identifier TEXT NOT NULL, address TEXT NOT NULL,
        kind TEXT NOT NULL, message_id TEXT, at_ms BIGINT NOT NULL);
     CREATE INDEX receipt_id ON receipt (identifier);
     CREATE TABLE arrival (
        identifier TEXT NOT NULL, address TEXT NOT NULL, status TEXT NOT NULL,
        updated_ms BIGINT NOT NULL, PRIMARY KEY (identifier, address));
     CREATE TABLE timer (
        identifier TEXT NOT NULL, address TEXT NOT NULL, which TEXT NOT NULL,
        due_ms BIGINT NOT NULL, status TEXT NOT NULL, lease_holder TEXT,
        lease_until_ms BIGINT, PRIMARY KEY (identifier, address, which));
     CREATE INDEX timer_due ON timer (status, due_ms);
     CREATE TABLE txn (
        key TEXT PRIMARY KEY, point TEXT NOT NULL, reply TEXT NOT NULL, outbox TEXT NOT NULL);
     CREATE TABLE outbox (
        id BIGSERIAL PRIMARY KEY, identifier TEXT, kind TEXT NOT NULL, message_id TEXT,
        mail_from TEXT NOT NULL, groups TEXT NOT NULL, bytes BYTEA NOT NULL,
        created_ms BIGINT NOT NULL, sent_ms BIGINT);
     CREATE TABLE emitted (
        identifier TEXT NOT NULL, recipient TEXT NOT NULL, kind TEXT NOT NULL,
        outbox_id BIGINT NOT NULL REFERENCES outbox (id),
        PRIMARY KEY (identifier, recipient, kind));
     CREATE TABLE log (
        seq BIGSERIAL PRIMARY KEY, at_ms BIGINT NOT NULL, point TEXT NOT NULL,
        event TEXT NOT NULL, identifier TEXT, recipient TEXT, detail TEXT NOT NULL);",
    // 2: the legal log (docs/LEGAL-LOG.md): hash-chained records per node, append-only for
    // the application role (UPDATE and TRUNCATE revoked from it, a trigger refusing UPDATE,
    // TRUNCATE and any DELETE but the purge of sealed days older than 30 months; seals are
    // never updated or deleted)
    "CREATE TABLE legal_log (
        node TEXT NOT NULL, seq BIGINT NOT NULL, day TEXT NOT NULL, at_ms BIGINT NOT NULL,
        identifier TEXT, msgid TEXT, generated TEXT NOT NULL, addresses TEXT NOT NULL,
        record TEXT NOT NULL, hash TEXT NOT NULL, PRIMARY KEY (node, seq));
     CREATE INDEX legal_log_day ON legal_log (day);
     CREATE INDEX legal_log_identifier ON legal_log (identifier);
     CREATE INDEX legal_log_msgid ON legal_log (msgid);
     CREATE TABLE log_seal (
        day TEXT PRIMARY KEY, sha256 TEXT NOT NULL, records BIGINT NOT NULL,
        tails TEXT NOT NULL, kind TEXT NOT NULL, token BYTEA NOT NULL, nonce TEXT,
        tsa_url TEXT, sealed_ms BIGINT NOT NULL);
     CREATE FUNCTION pec_legal_log_guard() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN
       IF TG_OP = 'DELETE' AND TG_TABLE_NAME = 'legal_log'
          AND EXISTS (SELECT 1 FROM log_seal WHERE day = OLD.day)
          AND OLD.at_ms < (extract(epoch FROM now()) * 1000)::bigint - 910::bigint * 86400000
       THEN
         RETURN OLD;
       END IF;
       RAISE EXCEPTION 'the legal log is append-only (% on %)', TG_OP, TG_TABLE_NAME
         USING ERRCODE = 'insufficient_privilege';
     END $$;
     CREATE TRIGGER legal_log_guard BEFORE UPDATE OR DELETE ON legal_log
       FOR EACH ROW EXECUTE FUNCTION pec_legal_log_guard();
     CREATE TRIGGER log_seal_guard BEFORE UPDATE OR DELETE ON log_seal
       FOR EACH ROW EXECUTE FUNCTION pec_legal_log_guard();
     CREATE TRIGGER legal_log_no_truncate BEFORE TRUNCATE ON legal_log
       FOR EACH STATEMENT EXECUTE FUNCTION pec_legal_log_guard();
     CREATE TRIGGER log_seal_no_truncate BEFORE TRUNCATE ON log_seal
       FOR EACH STATEMENT EXECUTE FUNCTION pec_legal_log_guard();
     REVOKE UPDATE, TRUNCATE ON legal_log FROM PUBLIC, CURRENT_USER;
     REVOKE UPDATE, DELETE, TRUNCATE ON log_seal FROM PUBLIC, CURRENT_USER;",
    // 3: settings of the daemon kept with the state (pec serve's test-clock offset)
    "CREATE TABLE setting (key TEXT PRIMARY KEY, value TEXT NOT NULL);",
    // 4: a message's transport envelope is stored once, in its outbox row (the envelope
    // column stays for rows written before, and is empty for rows that reference the outbox)
    "ALTER TABLE message ADD COLUMN envelope_outbox BIGINT REFERENCES outbox (id);",
];

/// The advisory lock key of the migrations.
const MIGRATION_LOCK: i64 = 0x7065_635f_6d69_6772; // "pec_migr"

/// The PostgreSQL store. Reconnects on the next event after the connection was lost.
pub struct PgStore {
    url: String,
    client: Option<Client>,
    /// The statements prepared on `client`, by their text (a statement is prepared once per
    /// connection; an unprepared query costs the server a parse and the event a round trip).
    statements: HashMap<String, Statement>,
    holder: String,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore").field("connected", &self.client.is_some()).finish()
    }
}

fn db(e: postgres::Error) -> EngineError {
    match e.as_db_error() {
        Some(d) => EngineError::Store(format!(
            "postgresql: {} ({}): {}",
            d.severity(),
            d.code().code(),
            d.message()
        )),
        None => EngineError::Store(format!("postgresql: {e}")),
    }
}

impl PgStore {
    /// Connects to `url` and applies the pending migrations.
    ///
    /// # Errors
    /// [`EngineError::Store`] when the server cannot be reached or the schema is newer.
    pub fn open(url: &str) -> Result<PgStore, EngineError> {
        let mut s = PgStore {
            url: url.to_string(),
            client: None,
            statements: HashMap::new(),
            holder: format!("{}@{}", std::process::id(), host()),
        };
        let client = s.client()?;
        let mut tx = client.transaction().map_err(db)?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).map_err(db)?;
        tx.batch_execute("CREATE TABLE IF NOT EXISTS pec_schema (version INTEGER NOT NULL)")
            .map_err(db)?;
        let version: i32 = tx
            .query_opt("SELECT version FROM pec_schema", &[])
            .map_err(db)?
            .map(|r| r.get(0))
            .unwrap_or(0);
        let version = usize::try_from(version).unwrap_or(0);
        if version > MIGRATIONS.len() {
            return Err(EngineError::Store(format!(
                "the database has schema version {version}, newer than this engine's {}",
                MIGRATIONS.len()
            )));
        }
        for m in MIGRATIONS.iter().skip(version) {
            tx.batch_execute(m).map_err(db)?;
        }
        let now = i32::try_from(MIGRATIONS.len()).unwrap_or(i32::MAX);
        tx.execute("DELETE FROM pec_schema", &[]).map_err(db)?;
        tx.execute("INSERT INTO pec_schema (version) VALUES ($1)", &[&now]).map_err(db)?;
        tx.commit().map_err(db)?;
        Ok(s)
    }

    /// The schema version.
    ///
    /// # Errors
    /// [`EngineError::Store`].
    pub fn schema_version(&mut self) -> Result<i64, EngineError> {
        let row = self.client()?.query_one("SELECT version FROM pec_schema", &[]).map_err(db)?;
        Ok(i64::from(row.get::<_, i32>(0)))
    }

    fn client(&mut self) -> Result<&mut Client, EngineError> {
        if self.client.as_ref().is_some_and(Client::is_closed) {
            self.client = None;
        }
        if self.client.is_none() {
            // statements are prepared per connection: a new one prepares them anew
            self.statements.clear();
            let mut config: postgres::Config = self.url.parse().map_err(db)?;
            config.connect_timeout(std::time::Duration::from_secs(5));
            config.application_name(&format!("pec-engine {}", self.holder));
            self.client = Some(config.connect(NoTls).map_err(db)?);
        }
        self.client.as_mut().ok_or_else(|| EngineError::Store("postgresql: not connected".into()))
    }
}

fn host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "localhost".into())
}

impl Store for PgStore {
    fn write(
        &mut self,
        f: &mut dyn FnMut(&mut dyn Tx) -> Result<(), EngineError>,
    ) -> Result<(), EngineError> {
        let holder = self.holder.clone();
        let result = (|| {
            self.client()?;
            let (Some(client), statements) = (self.client.as_mut(), &mut self.statements) else {
                return Err(EngineError::Store("postgresql: not connected".into()));
            };
            let mut tx = client.transaction().map_err(db)?;
            let mut t = PgTx {
                tx: CachedTx { tx: &mut tx, statements },
                holder: &holder,
                held: HashSet::new(),
            };
            f(&mut t)?;
            tx.commit().map_err(db)
        })();
        if let Err(EngineError::Store(_)) = &result {
            // the connection may be broken (a server restart ends sessions with a FATAL
            // error first), or a statement prepared before another node migrated the schema
            // no longer fits: the next event opens a new connection and prepares anew
            self.client = None;
            self.statements.clear();
        }
        result
    }
}

struct PgTx<'a, 'b> {
    tx: CachedTx<'a, 'b>,
    holder: &'a str,
    /// The advisory locks this transaction holds (until it ends).
    held: HashSet<String>,
}

/// A transaction whose queries use the connection's prepared statements (prepared on first
/// use), with the `postgres` crate's method names.
struct CachedTx<'a, 'b> {
    tx: &'a mut postgres::Transaction<'b>,
    statements: &'a mut HashMap<String, Statement>,
}

type Params<'p> = &'p [&'p (dyn ToSql + Sync)];

impl CachedTx<'_, '_> {
    fn statement(&mut self, sql: &str) -> Result<Statement, postgres::Error> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let s = self.tx.prepare(sql)?;
        self.statements.insert(sql.to_string(), s.clone());
        Ok(s)
    }

    fn query(&mut self, sql: &str, params: Params<'_>) -> Result<Vec<Row>, postgres::Error> {
        let s = self.statement(sql)?;
        self.tx.query(&s, params)
    }

    fn query_opt(&mut self, sql: &str, params: Params<'_>) -> Result<Option<Row>, postgres::Error> {
        let s = self.statement(sql)?;
        self.tx.query_opt(&s, params)
    }

    fn query_one(&mut self, sql: &str, params: Params<'_>) -> Result<Row, postgres::Error> {
        let s = self.statement(sql)?;
        self.tx.query_one(&s, params)
    }

    fn execute(&mut self, sql: &str, params: Params<'_>) -> Result<u64, postgres::Error> {
        let s = self.statement(sql)?;
        self.tx.execute(&s, params)
    }
}

fn line_row(r: &postgres::Row) -> StoredLine {
    StoredLine {
        node: r.get(0),
        seq: u64::try_from(r.get::<_, i64>(1)).unwrap_or(0),
        line: r.get(2),
        hash: r.get(3),
    }
}

fn seal_row(r: &postgres::Row) -> Seal {
    Seal {
        day: r.get(0),
        sha256: r.get(1),
        records: u64::try_from(r.get::<_, i64>(2)).unwrap_or(0),
        tails: serde_json::from_str(&r.get::<_, String>(3)).unwrap_or_default(),
        kind: r.get(4),
        token: r.get(5),
        nonce: r.get(6),
        tsa_url: r.get(7),
        sealed_ms: r.get(8),
    }
}

impl PgTx<'_, '_> {
    /// Waits for the transaction-scoped advisory lock `name` (a lock this transaction holds
    /// already is held until it ends: not asked for again).
    fn lock(&mut self, name: &str) -> Result<(), EngineError> {
        if self.held.contains(name) {
            return Ok(());
        }
        self.tx
            .execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", &[&name])
            .map_err(db)?;
        self.held.insert(name.to_string());
        Ok(())
    }

    /// Tries the transaction-scoped advisory lock `name` without waiting.
    fn try_lock(&mut self, name: &str) -> Result<bool, EngineError> {
        if self.held.contains(name) {
            return Ok(true);
        }
        let row = self
            .tx
            .query_one("SELECT pg_try_advisory_xact_lock(hashtextextended($1, 0))", &[&name])
            .map_err(db)?;
        let got: bool = row.get(0);
        if got {
            self.held.insert(name.to_string());
        }
        Ok(got)
    }

    /// Whether any pending timer is due at `now` (locked or not).
    fn any_due(&mut self, now: DateTime<Utc>) -> Result<bool, EngineError> {
        let row = self
            .tx
            .query_opt(
                "SELECT 1 FROM timer WHERE status = 'pending' AND due_ms <= $1 LIMIT 1",
                &[&ms(now)],
            )
            .map_err(db)?;
        Ok(row.is_some())
    }

    fn receipts_received(
        &mut self,
        id: &str,
        address: &str,
    ) -> Result<Vec<ReceiptView>, EngineError> {
        let rows = self
            .tx
            .query(
                "SELECT kind, message_id, at_ms FROM receipt
                 WHERE identifier = $1 AND address = $2 ORDER BY seq",
                &[&id, &address],
            )
            .map_err(db)?;
        Ok(rows
            .iter()
            .map(|r| ReceiptView {
                direction: "received".into(),
                kind: r.get(0),
                message_id: r.get(1),
                at: rfc3339(r.get(2)),
            })
            .collect())
    }

    fn notices_sent(&mut self, id: &str, address: &str) -> Result<Vec<ReceiptView>, EngineError> {
        let rows = self
            .tx
            .query(
                "SELECT e.kind, o.message_id, o.created_ms FROM emitted e
                 JOIN outbox o ON o.id = e.outbox_id
                 WHERE e.identifier = $1 AND e.recipient = $2 ORDER BY o.id",
                &[&id, &address],
            )
            .map_err(db)?;
        Ok(rows
            .iter()
            .map(|r| ReceiptView {
                direction: "sent".into(),
                kind: r.get(0),
                message_id: r.get(1),
                at: rfc3339(r.get(2)),
            })
            .collect())
    }

    fn timers(&mut self, id: &str, address: &str) -> Result<Vec<TimerView>, EngineError> {
        let rows = self
            .tx
            .query(
                "SELECT which, due_ms, status FROM timer
                 WHERE identifier = $1 AND address = $2 ORDER BY due_ms",
                &[&id, &address],
            )
            .map_err(db)?;
        Ok(rows
            .iter()
            .map(|r| TimerView { which: r.get(0), due: rfc3339(r.get(1)), status: r.get(2) })
            .collect())
    }
}

impl Tx for PgTx<'_, '_> {
    fn txn(&mut self, key: &str) -> Result<Option<TxnRecord>, EngineError> {
        self.lock(&format!("txn:{key}"))?;
        let row = self
            .tx
            .query_opt("SELECT reply, outbox FROM txn WHERE key = $1", &[&key])
            .map_err(db)?;
        Ok(row.map(|r| {
            let (reply, outbox): (String, String) = (r.get(0), r.get(1));
            let v: serde_json::Value = serde_json::from_str(&reply).unwrap_or_default();
            let replies = v["replies"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|x| {
                            (x["rcpt"].as_str().unwrap_or_default().to_string(), reply_from(x))
                        })
                        .collect()
                })
                .unwrap_or_default();
            TxnRecord {
                reply: reply_from(&v["reply"]),
                replies,
                outbox: serde_json::from_str(&outbox).unwrap_or_default(),
            }
        }))
    }

    fn put_txn(&mut self, key: &str, point: &str, rec: &TxnRecord) -> Result<(), EngineError> {
        let replies: Vec<serde_json::Value> = rec
            .replies
            .iter()
            .map(|(rcpt, r)| {
                let mut v = reply_json(r);
                v["rcpt"] = serde_json::Value::from(rcpt.as_str());
                v
            })
            .collect();
        let reply =
            serde_json::json!({"reply": reply_json(&rec.reply), "replies": replies}).to_string();
        let outbox = serde_json::to_string(&rec.outbox).unwrap_or_else(|_| "[]".into());
        self.tx
            .execute(
                "INSERT INTO txn (key, point, reply, outbox) VALUES ($1, $2, $3, $4)",
                &[&key, &point, &reply, &outbox],
            )
            .map_err(db)?;
        Ok(())
    }

    fn message(&mut self, identifier: &str) -> Result<Option<StoredMessage>, EngineError> {
        self.lock(&format!("id:{identifier}"))?;
        let Some(r) = self
            .tx
            .query_opt(
                "SELECT m.msgid, m.reverse_path, m.sender, m.subject, m.receipt_type, m.t0_ms,
                 m.zone, COALESCE(o.bytes, m.envelope)
                 FROM message m LEFT JOIN outbox o ON o.id = m.envelope_outbox
                 WHERE m.identifier = $1",
                &[&identifier],
            )
            .map_err(db)?
        else {
            return Ok(None);
        };
        let rows = self
            .tx
            .query(
                "SELECT address, kind, field, status, updated_ms FROM recipient
                 WHERE identifier = $1 ORDER BY pos",
                &[&identifier],
            )
            .map_err(db)?;
        let recipients = rows
            .iter()
            .map(|x| RecipientState {
                address: x.get(0),
                kind: RecipientType::from_wire(x.get::<_, &str>(1)),
                field: if x.get::<_, &str>(2) == "cc" {
                    AddressField::Cc
                } else {
                    AddressField::To
                },
                status: RecipientStatus::from_wire(x.get(3)).unwrap_or(RecipientStatus::Pending),
                updated: from_ms(x.get(4)),
            })
            .collect();
        Ok(Some(StoredMessage {
            state: MessageState {
                identifier: identifier.to_string(),
                msgid: r.get(0),
                reverse_path: r.get(1),
                sender: r.get(2),
                subject: r.get(3),
                receipt_type: ReceiptType::from_wire(r.get::<_, &str>(4)),
                t0: from_ms(r.get(5)),
                zone: r.get(6),
                recipients,
            },
            envelope: r.get(7),
        }))
    }

    fn insert_message(
        &mut self,
        m: &MessageState,
        envelope_outbox: i64,
    ) -> Result<(), EngineError> {
        self.lock(&format!("id:{}", m.identifier))?;
        self.tx
            .execute(
                "INSERT INTO message (identifier, msgid, reverse_path, sender, subject,
                 receipt_type, t0_ms, zone, envelope, envelope_outbox)
                 VALUES ($1,$2,$3,$4,$5,$6,$7,$8,''::bytea,$9)",
                &[
                    &m.identifier,
                    &m.msgid,
                    &m.reverse_path,
                    &m.sender,
                    &m.subject,
                    &m.receipt_type.as_str(),
                    &ms(m.t0),
                    &m.zone,
                    &envelope_outbox,
                ],
            )
            .map_err(db)?;
        for (pos, r) in m.recipients.iter().enumerate() {
            let pos = i32::try_from(pos).unwrap_or(i32::MAX);
            self.tx
                .execute(
                    "INSERT INTO recipient (identifier, address, pos, kind, field, status,
                     updated_ms) VALUES ($1,$2,$3,$4,$5,$6,$7) ON CONFLICT DO NOTHING",
                    &[
                        &m.identifier,
                        &r.address,
                        &pos,
                        &r.kind.as_str(),
                        &r.field.as_str(),
                        &r.status.as_str(),
                        &ms(r.updated),
                    ],
                )
                .map_err(db)?;
        }
        Ok(())
    }

    fn set_recipient(
        &mut self,
        identifier: &str,
        address: &str,
        status: RecipientStatus,
        at: DateTime<Utc>,
    ) -> Result<(), EngineError> {
        self.tx
            .execute(
                "UPDATE recipient SET status = $3, updated_ms = $4
                 WHERE identifier = $1 AND address = $2",
                &[&identifier, &address, &status.as_str(), &ms(at)],
            )
            .map_err(db)?;
        Ok(())
    }

    fn add_receipt(
        &mut self,
        identifier: &str,
        address: &str,
        kind: &str,
        message_id: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<(), EngineError> {
        self.tx
            .execute(
                "INSERT INTO receipt (identifier, address, kind, message_id, at_ms)
                 VALUES ($1,$2,$3,$4,$5)",
                &[&identifier, &address, &kind, &message_id, &ms(at)],
            )
            .map_err(db)?;
        Ok(())
    }

    fn arrivals(&mut self, identifier: &str) -> Result<Vec<ArrivalState>, EngineError> {
        self.lock(&format!("id:{identifier}"))?;
        let rows = self
            .tx
            .query("SELECT address, status FROM arrival WHERE identifier = $1", &[&identifier])
            .map_err(db)?;
        Ok(rows
            .iter()
            .map(|r| ArrivalState {
                identifier: identifier.to_string(),
                address: r.get(0),
                status: ArrivalStatus::from_wire(r.get(1)).unwrap_or(ArrivalStatus::TakenInCharge),
            })
            .collect())
    }

    fn set_arrival(&mut self, a: &ArrivalState, at: DateTime<Utc>) -> Result<(), EngineError> {
        self.tx
            .execute(
                "INSERT INTO arrival (identifier, address, status, updated_ms) VALUES ($1,$2,$3,$4)
                 ON CONFLICT (identifier, address)
                 DO UPDATE SET status = excluded.status, updated_ms = excluded.updated_ms",
                &[&a.identifier, &a.address, &a.status.as_str(), &ms(at)],
            )
            .map_err(db)?;
        Ok(())
    }

    fn emitted(&mut self, key: &EmissionKey) -> Result<Option<i64>, EngineError> {
        let row = self
            .tx
            .query_opt(
                "SELECT outbox_id FROM emitted
                 WHERE identifier = $1 AND recipient = $2 AND kind = $3",
                &[&key.identifier, &key.recipient, &key.kind],
            )
            .map_err(db)?;
        Ok(row.map(|r| r.get(0)))
    }

    fn insert_emitted(&mut self, key: &EmissionKey, outbox: i64) -> Result<(), EngineError> {
        let n = self
            .tx
            .execute(
                "INSERT INTO emitted (identifier, recipient, kind, outbox_id) VALUES ($1,$2,$3,$4)
                 ON CONFLICT DO NOTHING",
                &[&key.identifier, &key.recipient, &key.kind, &outbox],
            )
            .map_err(db)?;
        if n == 0 {
            // another node emitted it first: roll back, the retry finds its row
            return Err(EngineError::Store(format!(
                "emission {}/{}/{} raced with another node",
                key.identifier, key.recipient, key.kind
            )));
        }
        Ok(())
    }

    fn insert_outbox(
        &mut self,
        o: &NewOutgoing<'_>,
        at: DateTime<Utc>,
    ) -> Result<i64, EngineError> {
        let row = self
            .tx
            .query_one(
                "INSERT INTO outbox (identifier, kind, message_id, mail_from, groups, bytes,
                 created_ms) VALUES ($1,$2,$3,$4,$5,$6,$7) RETURNING id",
                &[
                    &o.identifier,
                    &o.kind,
                    &o.message_id,
                    &o.mail_from,
                    &groups_json(o.groups),
                    &o.bytes,
                    &ms(at),
                ],
            )
            .map_err(db)?;
        Ok(row.get(0))
    }

    fn outbox(&mut self, ids: &[i64]) -> Result<Vec<Outgoing>, EngineError> {
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let r = self
                .tx
                .query_one(
                    "SELECT id, identifier, kind, message_id, mail_from, groups, bytes, sent_ms
                     FROM outbox WHERE id = $1",
                    &[id],
                )
                .map_err(db)?;
            out.push(Outgoing {
                id: r.get(0),
                identifier: r.get(1),
                kind: r.get(2),
                message_id: r.get(3),
                mail_from: r.get(4),
                groups: groups_from(r.get(5)),
                bytes: r.get(6),
                sent: r.get::<_, Option<i64>>(7).is_some(),
            });
        }
        Ok(out)
    }

    fn unsent(&mut self, limit: usize) -> Result<Vec<Outgoing>, EngineError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self
            .tx
            .query("SELECT id FROM outbox WHERE sent_ms IS NULL ORDER BY id LIMIT $1", &[&limit])
            .map_err(db)?;
        let ids: Vec<i64> = rows.iter().map(|r| r.get(0)).collect();
        self.outbox(&ids)
    }

    fn ack(&mut self, ids: &[i64], at: DateTime<Utc>) -> Result<usize, EngineError> {
        let mut n = 0;
        for id in ids {
            n += self
                .tx
                .execute(
                    "UPDATE outbox SET sent_ms = $2 WHERE id = $1 AND sent_ms IS NULL",
                    &[id, &ms(at)],
                )
                .map_err(db)?;
        }
        Ok(usize::try_from(n).unwrap_or(usize::MAX))
    }

    fn set_timer(&mut self, key: &TimerKey, due: DateTime<Utc>) -> Result<(), EngineError> {
        self.tx
            .execute(
                "INSERT INTO timer (identifier, address, which, due_ms, status)
                 VALUES ($1,$2,$3,$4,'pending') ON CONFLICT DO NOTHING",
                &[&key.identifier, &key.address, &key.which.as_str(), &ms(due)],
            )
            .map_err(db)?;
        Ok(())
    }

    fn close_timer(&mut self, key: &TimerKey, status: &str) -> Result<(), EngineError> {
        self.tx
            .execute(
                "UPDATE timer SET status = $4
                 WHERE identifier = $1 AND address = $2 AND which = $3 AND status = 'pending'",
                &[&key.identifier, &key.address, &key.which.as_str(), &status],
            )
            .map_err(db)?;
        Ok(())
    }

    fn claim_due(&mut self, now: DateTime<Utc>) -> Result<Claim, EngineError> {
        let rows = self
            .tx
            .query(
                "SELECT identifier, address, which FROM timer
                 WHERE status = 'pending' AND due_ms <= $1 ORDER BY due_ms LIMIT 8
                 FOR UPDATE SKIP LOCKED",
                &[&ms(now)],
            )
            .map_err(db)?;
        let mut busy = rows.is_empty() && self.any_due(now)?;
        for r in rows {
            let key = TimerKey {
                identifier: r.get(0),
                address: r.get(1),
                which: Timeout::from_wire(r.get(2)).unwrap_or(Timeout::H24),
            };
            // the identifier's lock is taken before its rows everywhere else: never wait here
            if self.try_lock(&format!("id:{}", key.identifier))? {
                // the recipient's earlier timer first (the 12 h before the 24 h, §3.1.6),
                // even when another claimer holds its row as a candidate for a moment
                let first = self
                    .tx
                    .query_one(
                        "SELECT which FROM timer WHERE identifier = $1 AND address = $2
                         AND status = 'pending' AND due_ms <= $3
                         ORDER BY due_ms LIMIT 1 FOR UPDATE",
                        &[&key.identifier, &key.address, &ms(now)],
                    )
                    .map_err(db)?;
                let key = TimerKey {
                    which: Timeout::from_wire(first.get(0)).unwrap_or(key.which),
                    ..key
                };
                self.tx
                    .execute(
                        "UPDATE timer SET lease_holder = $4, lease_until_ms = $5
                         WHERE identifier = $1 AND address = $2 AND which = $3",
                        &[
                            &key.identifier,
                            &key.address,
                            &key.which.as_str(),
                            &self.holder,
                            &(ms(now) + 60_000),
                        ],
                    )
                    .map_err(db)?;
                return Ok(Claim::Due(key));
            }
            busy = true;
        }
        Ok(if busy { Claim::Busy } else { Claim::Nothing })
    }

    fn log(
        &mut self,
        node: &str,
        rec: &mut LogRecord,
        at: DateTime<Utc>,
    ) -> Result<(), EngineError> {
        // one writer per node chain at a time (taken last, held to the commit)
        self.lock(&format!("log:{node}"))?;
        let last = self
            .tx
            .query_opt(
                "SELECT seq, hash FROM legal_log WHERE node = $1 ORDER BY seq DESC LIMIT 1",
                &[&node],
            )
            .map_err(db)?
            .map(|r| (u64::try_from(r.get::<_, i64>(0)).unwrap_or(0), r.get::<_, String>(1)));
        let last = match last {
            Some(l) => Some(l),
            None => crate::legal::last_in_seals(&self.seals()?, node),
        };
        let (line, hash) = rec.link(node, last);
        let seq = i64::try_from(rec.seq).unwrap_or(i64::MAX);
        let generated = format!(" {} ", rec.generated.join(" "));
        self.tx
            .execute(
                "INSERT INTO legal_log (node, seq, day, at_ms, identifier, msgid, generated,
                 addresses, record, hash) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)",
                &[
                    &node,
                    &seq,
                    &rec.day(),
                    &ms(at),
                    &rec.identifier,
                    &rec.msgid,
                    &generated,
                    &rec.addresses(),
                    &line,
                    &hash,
                ],
            )
            .map_err(db)?;
        Ok(())
    }

    fn log_lines(&mut self, day: Option<&str>) -> Result<Vec<StoredLine>, EngineError> {
        let rows = match day {
            Some(d) => self.tx.query(
                "SELECT node, seq, record, hash FROM legal_log WHERE day = $1 ORDER BY node, seq",
                &[&d],
            ),
            None => self
                .tx
                .query("SELECT node, seq, record, hash FROM legal_log ORDER BY node, seq", &[]),
        }
        .map_err(db)?;
        Ok(rows.iter().map(line_row).collect())
    }

    fn log_hash(&mut self, node: &str, seq: u64) -> Result<Option<String>, EngineError> {
        let seq = i64::try_from(seq).unwrap_or(i64::MAX);
        Ok(self
            .tx
            .query_opt("SELECT hash FROM legal_log WHERE node = $1 AND seq = $2", &[&node, &seq])
            .map_err(db)?
            .map(|r| r.get(0)))
    }

    fn log_search(&mut self, q: &LogQuery) -> Result<Vec<StoredLine>, EngineError> {
        let (cond, arg) = match q {
            LogQuery::Identifier(i) => ("identifier = $1", strip_angle(i).to_string()),
            LogQuery::Msgid(m) => (
                "(msgid = $1 OR strpos(generated, ' ' || $1 || ' ') > 0)",
                strip_angle(m.trim()).to_string(),
            ),
            LogQuery::Address(a) => (
                "strpos(addresses, ' ' || $1 || ' ') > 0",
                strip_angle(a.trim()).to_ascii_lowercase(),
            ),
        };
        let sql = format!(
            "SELECT node, seq, record, hash FROM legal_log WHERE {cond} ORDER BY at_ms, node, seq"
        );
        let rows = self.tx.query(&sql, &[&arg]).map_err(db)?;
        Ok(rows.iter().map(line_row).collect())
    }

    fn seal(&mut self, day: &str) -> Result<Option<Seal>, EngineError> {
        Ok(self
            .tx
            .query_opt(&format!("{SEAL_SELECT} WHERE day = $1"), &[&day])
            .map_err(db)?
            .map(|r| seal_row(&r)))
    }

    fn seals(&mut self) -> Result<Vec<Seal>, EngineError> {
        let rows = self.tx.query(&format!("{SEAL_SELECT} ORDER BY day"), &[]).map_err(db)?;
        Ok(rows.iter().map(seal_row).collect())
    }

    fn put_seal(&mut self, s: &Seal) -> Result<(), EngineError> {
        let records = i64::try_from(s.records).unwrap_or(i64::MAX);
        let tails = serde_json::to_string(&s.tails).unwrap_or_default();
        self.tx
            .execute(
                "INSERT INTO log_seal (day, sha256, records, tails, kind, token, nonce, tsa_url,
                 sealed_ms) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)",
                &[
                    &s.day,
                    &s.sha256,
                    &records,
                    &tails,
                    &s.kind,
                    &s.token,
                    &s.nonce,
                    &s.tsa_url,
                    &s.sealed_ms,
                ],
            )
            .map_err(db)?;
        Ok(())
    }

    fn setting(&mut self, key: &str) -> Result<Option<String>, EngineError> {
        let row =
            self.tx.query_opt("SELECT value FROM setting WHERE key = $1", &[&key]).map_err(db)?;
        Ok(row.map(|r| r.get(0)))
    }

    fn put_setting(&mut self, key: &str, value: &str) -> Result<(), EngineError> {
        self.tx
            .execute(
                "INSERT INTO setting (key, value) VALUES ($1, $2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                &[&key, &value],
            )
            .map_err(db)?;
        Ok(())
    }

    fn purge_log(&mut self, day: &str) -> Result<usize, EngineError> {
        let n = self
            .tx
            .execute(
                "DELETE FROM legal_log WHERE day < $1
                 AND day IN (SELECT day FROM log_seal WHERE day < $1)",
                &[&day],
            )
            .map_err(db)?;
        Ok(usize::try_from(n).unwrap_or(usize::MAX))
    }

    fn status(&mut self, identifier: &str) -> Result<Option<Status>, EngineError> {
        let sent = match self.message(identifier)? {
            None => None,
            Some(m) => {
                let mut recipients = Vec::new();
                for r in &m.state.recipients {
                    let mut receipts = self.receipts_received(identifier, &r.address)?;
                    receipts.extend(self.notices_sent(identifier, &r.address)?);
                    receipts.sort_by(|a, b| a.at.cmp(&b.at));
                    recipients.push(RecipientView {
                        address: r.address.clone(),
                        kind: r.kind.as_str().to_string(),
                        field: r.field.as_str().to_string(),
                        state: r.status.as_str().to_string(),
                        updated: r.updated.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                        receipts,
                        timers: self.timers(identifier, &r.address)?,
                    });
                }
                let s = &m.state;
                Some(SentStatus {
                    msgid: s.msgid.clone(),
                    reverse_path: s.reverse_path.clone(),
                    sender: s.sender.clone(),
                    subject: s.subject.clone(),
                    receipt_type: s.receipt_type.as_str().to_string(),
                    t0: s.t0.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    zone: s.zone.clone(),
                    recipients,
                })
            }
        };
        let rows = self
            .tx
            .query(
                "SELECT address, status, updated_ms FROM arrival WHERE identifier = $1
                 ORDER BY updated_ms, address",
                &[&identifier],
            )
            .map_err(db)?;
        let mut received = Vec::new();
        for r in rows {
            let address: String = r.get(0);
            let receipts = self.notices_sent(identifier, &address)?;
            received.push(ArrivalView {
                address,
                state: r.get(1),
                updated: rfc3339(r.get(2)),
                receipts,
            });
        }
        if sent.is_none() && received.is_empty() {
            return Ok(None);
        }
        Ok(Some(Status { identifier: identifier.to_string(), sent, received }))
    }

    fn open_identifiers(&mut self) -> Result<Vec<String>, EngineError> {
        let rows = self
            .tx
            .query(
                "SELECT r.identifier FROM recipient r JOIN message m ON m.identifier = r.identifier
                 WHERE r.status IN ('pending', 'taken-in-charge')
                 GROUP BY r.identifier, m.t0_ms ORDER BY m.t0_ms",
                &[],
            )
            .map_err(db)?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }
}
