//! The SQLite store under failure and concurrency: a retry after a crash returns the stored
//! outcome (same bytes, nothing new), every timer fires exactly once when two connections (in
//! threads) and two processes run `run_due` on one file, and a store that is down is a
//! temporary failure, never a lost message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use common::*;
use pec_core::points::{Antivirus, MailboxOutcome, Route};
use pec_engine::store::sqlite::SqliteStore;
use pec_engine::{EngineError, ManualClock, Outgoing};

const MARIO: &str = "mario@pec.alpha.test";
const LUIGI: &str = "luigi@pec.beta.test";

fn same(a: &[Outgoing], b: &[Outgoing]) {
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(b) {
        assert_eq!((x.id, &x.message_id, &x.bytes), (y.id, &y.message_id, &y.bytes));
    }
}

fn a_retry_after_a_crash_returns_the_same_bytes(b: &Backend) {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(world().start));
    let pid = std::process::id();
    let (a_db, b_db) = (format!("retry{pid}_a"), format!("retry{pid}_b"));
    let engine =
        |i: usize, name: &String, clock: Arc<ManualClock>| b.engine(i, dir.path(), name, clock);
    let orig = original(MARIO, &[LUIGI], &[], "retry", "x");
    let env = smtp(MARIO, &[LUIGI]);
    let clean = Antivirus::Clean;

    // access point: committed, then the process dies before the ack
    let first = engine(0, &a_db, clock.clone()).on_submission(&env, &orig, &clean).unwrap();
    assert!(!first.replayed);
    assert_eq!(first.emissions.len(), 2);
    clock.advance(Duration::minutes(3));
    let alpha = engine(0, &a_db, clock.clone()); // restarted
    let again = alpha.on_submission(&env, &orig, &clean).unwrap();
    assert!(again.replayed);
    assert_eq!(again.reply, first.reply);
    same(&first.emissions, &again.emissions);
    assert!(again.emissions.iter().all(|e| !e.sent));
    // after the ack, a retry still answers the same, marked sent: nothing to send again
    alpha.ack(&first.ids()).unwrap();
    let third = alpha.on_submission(&env, &orig, &clean).unwrap();
    same(&first.emissions, &third.emissions);
    assert!(third.emissions.iter().all(|e| e.sent));
    let id = first.emissions[1].identifier.clone().unwrap();
    assert_eq!(alpha.pending().unwrap().len(), 1, "one message, not two");

    // incoming point: the envelope arrives twice (the MTA retried): one take-charge
    let envelope = &first.emissions.iter().find(|e| e.kind == "posta-certificata").unwrap();
    let rcpt = smtp(MARIO, &[LUIGI]);
    let b1 = engine(1, &b_db, clock.clone()).on_inbound(&rcpt, &envelope.bytes, &clean).unwrap();
    let beta = engine(1, &b_db, clock.clone());
    let b2 = beta.on_inbound(&rcpt, &envelope.bytes, &clean).unwrap();
    assert!(b2.replayed);
    same(&b1.emissions, &b2.emissions);
    assert_eq!(b1.emissions.iter().filter(|e| e.kind == "presa-in-carico").count(), 1);
    // the same envelope with other bytes (re-relayed): no second take-charge, no second
    // delivery
    let mut other = b"Received: from relay.test\r\n".to_vec();
    other.extend_from_slice(&envelope.bytes);
    let b3 = beta.on_inbound(&rcpt, &other, &clean).unwrap();
    assert_eq!(b3.reply.code, 250);
    assert!(
        b3.emissions.is_empty(),
        "{:?}",
        b3.emissions.iter().map(|e| &e.kind).collect::<Vec<_>>()
    );

    // delivery point: the mailbox answer reported twice: one delivery receipt
    let fwd = b1.emissions.iter().find(|e| e.groups[0].route == Route::Deliver).unwrap();
    let stored = [(LUIGI.to_string(), MailboxOutcome::Stored)];
    let d1 = beta.on_mailbox_result(&rcpt, &fwd.bytes, &stored).unwrap();
    assert_eq!(d1.emissions.len(), 1);
    check_signed(&d1.emissions[0], clock.now_utc());
    let beta = engine(1, &b_db, clock.clone());
    let d2 = beta.on_mailbox_result(&rcpt, &fwd.bytes, &stored).unwrap();
    same(&d1.emissions, &d2.emissions);
    // even if the mailbox now says otherwise, the first answer stands
    let failed = [(
        LUIGI.to_string(),
        MailboxOutcome::Permanent { status: "5.1.1".into(), text: "gone".into() },
    )];
    let d3 = beta.on_mailbox_result(&rcpt, &fwd.bytes, &failed).unwrap();
    same(&d1.emissions, &d3.emissions);
    assert_eq!(beta.status(&id).unwrap().unwrap().received[0].state, "delivered");
}

trait NowUtc {
    fn now_utc(&self) -> DateTime<Utc>;
}

impl NowUtc for ManualClock {
    fn now_utc(&self) -> DateTime<Utc> {
        pec_engine::Clock::now(self)
    }
}

/// Submits `n` messages to Luigi at Alpha on `alpha` (2n timers); returns their identifiers.
fn submit_many(alpha: &pec_engine::Engine, n: usize) -> Vec<String> {
    submit_range(alpha, 0..n)
}

/// [`submit_many`] for the originals numbered `range` (distinct numbers, distinct messages).
fn submit_range(alpha: &pec_engine::Engine, range: std::ops::Range<usize>) -> Vec<String> {
    range
        .map(|i| {
            let orig = original(MARIO, &[LUIGI], &[], &format!("m{i}"), "x");
            let out =
                alpha.on_submission(&smtp(MARIO, &[LUIGI]), &orig, &Antivirus::Clean).unwrap();
            alpha.ack(&out.ids()).unwrap();
            out.emissions[1].identifier.clone().unwrap()
        })
        .collect()
}

fn keys(out: &[Outgoing]) -> Vec<(String, String)> {
    out.iter()
        .map(|o| {
            let d = daticert(&o.bytes);
            let which =
                if String::from_utf8_lossy(&o.bytes).contains("24 ore") { "24h" } else { "12h" };
            (d.identifier, format!("{}/{which}", d.delivery.unwrap_or_default()))
        })
        .collect()
}

fn every_timer_fires_once_with_two_connections_in_threads(b: &Backend) {
    let dir = tempfile::tempdir().unwrap();
    let name = format!("threads{}", std::process::id());
    let clock = Arc::new(ManualClock::new(world().start));
    let ids = submit_many(&b.engine(0, dir.path(), &name, clock.clone()), 12);
    clock.advance(Duration::hours(23));
    let handles: Vec<_> = (0..2)
        .map(|_| {
            let (b, dir, name, clock) =
                (b.clone(), dir.path().to_path_buf(), name.clone(), clock.clone());
            std::thread::spawn(move || {
                let e = b.engine(0, &dir, &name, clock);
                let mut all = Vec::new();
                loop {
                    let got = e.run_due(3).unwrap();
                    if got.is_empty() {
                        break;
                    }
                    all.extend(got);
                }
                all
            })
        })
        .collect();
    let per: Vec<Vec<Outgoing>> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let all: Vec<(String, String)> = per.iter().flat_map(|p| keys(p)).collect();
    assert_eq!(all.len(), 24, "12 h and 24 h notices for 12 messages");
    assert_eq!(all.iter().collect::<HashSet<_>>().len(), 24, "no notice twice");
    let alpha = b.engine(0, dir.path(), &name, clock);
    for id in &ids {
        let s = alpha.status(id).unwrap().unwrap();
        assert_eq!(s.sent.unwrap().recipients[0].state, "timed-out");
    }
    assert!(alpha.run_due(100).unwrap().is_empty());
    // nobody acknowledged the notices (the workers "crashed" before sending): all 24 wait in
    // the outbox, the same bytes, until a sender acks them
    let unsent: Vec<Outgoing> = alpha
        .unsent(1000)
        .unwrap()
        .into_iter()
        .filter(|o| o.kind == "preavviso-errore-consegna")
        .collect();
    let fired: Vec<&Outgoing> = per.iter().flatten().collect();
    assert_eq!(unsent.len(), 24);
    for o in &unsent {
        let f = fired.iter().find(|f| f.id == o.id).expect("fired");
        assert_eq!(f.bytes, o.bytes);
    }
    alpha.ack(&unsent.iter().map(|o| o.id).collect::<Vec<_>>()).unwrap();
    assert!(alpha.unsent(1000).unwrap().iter().all(|o| o.kind != "preavviso-errore-consegna"));
}

/// The worker of the two-process test: runs `run_due` on the file named by the environment
/// and prints the keys it emitted (does nothing when run on its own).
#[test]
fn worker_process_run_due() {
    let (Ok(db), Ok(now)) =
        (std::env::var("PEC_ENGINE_WORKER_DB"), std::env::var("PEC_ENGINE_WORKER_NOW"))
    else {
        return;
    };
    let now = DateTime::parse_from_rfc3339(&now).unwrap().with_timezone(&Utc);
    let e = engine(0, std::path::Path::new(&db), Arc::new(ManualClock::new(now)));
    loop {
        let got = e.run_due(2).unwrap();
        if got.is_empty() {
            break;
        }
        for (id, k) in keys(&got) {
            println!("EMITTED {id} {k}");
        }
    }
}

#[test]
fn every_timer_fires_once_with_two_processes() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shared.db");
    let clock = Arc::new(ManualClock::new(world().start));
    submit_many(&engine(0, &db, clock.clone()), 10);
    clock.advance(Duration::hours(23));
    let now = clock.now_utc().to_rfc3339();
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..2)
        .map(|_| {
            std::process::Command::new(&exe)
                .args(["--exact", "worker_process_run_due", "--nocapture", "--test-threads=1"])
                .env("PEC_ENGINE_WORKER_DB", &db)
                .env("PEC_ENGINE_WORKER_NOW", &now)
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut all = Vec::new();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(out.status.success());
        let text = String::from_utf8(out.stdout).unwrap();
        // libtest may print its `test … ` prefix on the first line of the worker's output
        all.extend(text.lines().filter_map(|l| l.find("EMITTED ").map(|i| l[i..].to_string())));
    }
    assert_eq!(all.len(), 20, "{all:?}");
    assert_eq!(all.iter().collect::<HashSet<_>>().len(), 20, "no notice twice");
}

#[test]
fn a_store_that_is_down_is_a_temporary_failure() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("down.db");
    let clock = Arc::new(ManualClock::new(world().start));
    let mut store = SqliteStore::open(&db).unwrap();
    store.set_busy_timeout(StdDuration::from_millis(100)).unwrap();
    let alpha = engine_with(0, Box::new(store), clock.clone(), policy(0));
    // another process holds the database
    let blocker = rusqlite::Connection::open(&db).unwrap();
    blocker.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let orig = original(MARIO, &[LUIGI], &[], "down", "x");
    let env = smtp(MARIO, &[LUIGI]);
    let err = alpha.on_submission(&env, &orig, &Antivirus::Clean).unwrap_err();
    assert!(matches!(err, EngineError::Store(_)), "{err}");
    let reply = err.reply();
    assert_eq!((reply.code, reply.is_temporary()), (451, true));
    let err = alpha.on_inbound(&env, &orig, &Antivirus::Clean).unwrap_err();
    assert_eq!(err.reply().code, 451);
    assert_eq!(alpha.run_due(5).unwrap_err().reply().code, 451);
    // back up: the MTA's retry goes through, and it was not half-recorded before
    blocker.execute_batch("COMMIT").unwrap();
    let out = alpha.on_submission(&env, &orig, &Antivirus::Clean).unwrap();
    assert!(!out.replayed);
    assert_eq!((out.reply.code, out.emissions.len()), (250, 2));
    assert_eq!(alpha.pending().unwrap().len(), 1);
    // a store that cannot be opened at all
    let e = pec_engine::store::open("sqlite:/nonexistent/dir/state.db").unwrap_err();
    assert!(matches!(e, EngineError::Store(_)), "{e}");
    assert!(matches!(pec_engine::store::open("mysql://x").unwrap_err(), EngineError::Config(_)));
}

#[test]
fn schema_migrations_are_versioned() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");
    assert_eq!(SqliteStore::open(&db).unwrap().schema_version().unwrap(), 4);
    assert_eq!(SqliteStore::open(&db).unwrap().schema_version().unwrap(), 4, "idempotent");
    let c = rusqlite::Connection::open(&db).unwrap();
    let mode: String = c.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
    assert_eq!(mode, "wal");
    c.execute_batch("PRAGMA user_version = 99").unwrap();
    drop(c);
    let e = SqliteStore::open(&db).unwrap_err();
    assert!(e.to_string().contains("newer"), "{e}");
}

/// Daemon settings (`pec serve`'s test clock offset) and idempotence keys: absent, set,
/// replaced, kept across a reopened store.
fn settings_are_kept(b: &Backend) {
    let dir = tempfile::tempdir().unwrap();
    let name = format!("settings{}", std::process::id());
    let clock = Arc::new(ManualClock::new(world().start));
    let e = b.engine(0, dir.path(), &name, clock.clone());
    assert_eq!(e.setting("serve.k").unwrap(), None);
    e.put_setting("serve.k", "1").unwrap();
    e.put_setting("serve.k", "43200000").unwrap();
    assert!(!e.is_done("dp-stored:m@x:a@b").unwrap());
    e.mark_done("dp-stored:m@x:a@b", "mailbox").unwrap();
    e.mark_done("dp-stored:m@x:a@b", "mailbox").unwrap();
    drop(e);
    let e = b.engine(0, dir.path(), &name, clock);
    assert_eq!(e.setting("serve.k").unwrap().as_deref(), Some("43200000"));
    assert!(e.is_done("dp-stored:m@x:a@b").unwrap());
}

#[test]
fn settings_are_kept_sqlite() {
    settings_are_kept(&Backend::Sqlite);
}

#[test]
fn a_retry_after_a_crash_returns_the_same_bytes_sqlite() {
    a_retry_after_a_crash_returns_the_same_bytes(&Backend::Sqlite);
}

#[test]
fn every_timer_fires_once_with_two_connections_in_threads_sqlite() {
    every_timer_fires_once_with_two_connections_in_threads(&Backend::Sqlite);
}

/// Retries, two engines on one PostgreSQL firing timers concurrently, and a server that goes
/// down (451, then the retry goes through once it is back).
#[cfg(feature = "postgres")]
#[test]
fn the_same_on_postgresql() {
    let Some(server) = pg::PgServer::start() else { return };
    let server = Arc::new(server);
    let b = Backend::Pg(server.clone());
    a_retry_after_a_crash_returns_the_same_bytes(&b);
    every_timer_fires_once_with_two_connections_in_threads(&b);
    settings_are_kept(&b);

    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(world().start));
    let alpha = b.engine(0, dir.path(), &format!("down{}", std::process::id()), clock.clone());
    let orig = original(MARIO, &[LUIGI], &[], "down", "x");
    let env = smtp(MARIO, &[LUIGI]);
    server.down();
    let err = alpha.on_submission(&env, &orig, &Antivirus::Clean).unwrap_err();
    assert!(matches!(err, EngineError::Store(_)), "{err}");
    assert_eq!(err.reply().code, 451);
    assert_eq!(alpha.run_due(5).unwrap_err().reply().code, 451);
    server.up();
    let out = alpha.on_submission(&env, &orig, &Antivirus::Clean).unwrap();
    assert!(!out.replayed);
    assert_eq!((out.reply.code, out.emissions.len()), (250, 2));
    assert_eq!(alpha.pending().unwrap().len(), 1);
}

/// A notice that cannot be built (its stored envelope is unreadable) closes its timer as
/// `failed`, logged, and does not block the timers due after it.
#[test]
fn an_unbuildable_notice_does_not_block_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("poison.db");
    let clock = Arc::new(ManualClock::new(world().start));
    let alpha = engine(0, &db, clock.clone());
    let ids = submit_many(&alpha, 2);
    let c = rusqlite::Connection::open(&db).unwrap();
    // a row as written before schema 3 (the envelope in the message row), and unreadable
    c.execute(
        "UPDATE message SET envelope = X'00', envelope_outbox = NULL WHERE identifier = ?1",
        [&ids[0]],
    )
    .unwrap();
    clock.advance(Duration::hours(23));
    let out = alpha.run_due(100).unwrap();
    let fired: Vec<String> = keys(&out).into_iter().map(|(id, _)| id).collect();
    assert_eq!(fired, [ids[1].clone(), ids[1].clone()]);
    let s = alpha.status(&ids[0]).unwrap().unwrap();
    let timers = &s.sent.unwrap().recipients[0].timers;
    assert!(timers.iter().all(|t| t.status == "failed"), "{timers:?}");
    let logged: i64 = c
        .query_row(
            "SELECT count(*) FROM legal_log WHERE record LIKE '%\"event\":\"errore-timer\"%'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(logged, 2);
}

/// The transport envelope is stored once, in its outbox row: the message row references it,
/// and the notices built later from it (the 24 h notice here) still read it.
#[test]
fn the_transport_envelope_is_stored_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("once.db");
    let clock = Arc::new(ManualClock::new(world().start));
    let alpha = engine(0, &db, clock.clone());
    let ids = submit_many(&alpha, 1);
    let c = rusqlite::Connection::open(&db).unwrap();
    let (inline, referenced): (i64, i64) = c
        .query_row(
            "SELECT length(m.envelope), length(o.bytes) FROM message m
             JOIN outbox o ON o.id = m.envelope_outbox WHERE m.identifier = ?1",
            [&ids[0]],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(inline, 0);
    assert!(referenced > 1000, "{referenced}");
    clock.advance(Duration::hours(23));
    let out = alpha.run_due(100).unwrap();
    assert_eq!(keys(&out).len(), 2, "the 12 h and 24 h notices, built from the envelope");
}

/// The write-ahead log is copied back into the database by the store's checkpointer thread
/// (the connection's hook replaces SQLite's automatic checkpoint): the database file grows
/// while the engine is alive, without a checkpoint on the committing path.
#[test]
fn checkpoints_run_in_the_background() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ckpt.db");
    let clock = Arc::new(ManualClock::new(world().start));
    let alpha = engine(0, &db, clock);
    let before = std::fs::metadata(&db).unwrap().len();
    // submissions until the log passes CHECKPOINT_PAGES pages and the thread copies it back
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    let mut sent = 0;
    while std::fs::metadata(&db).unwrap().len() < before + 1024 * 1024 {
        submit_range(&alpha, sent..sent + 40);
        sent += 40;
        let wal = std::fs::metadata(dir.path().join("ckpt.db-wal")).map(|m| m.len()).unwrap_or(0);
        let now = std::fs::metadata(&db).unwrap().len();
        assert!(
            std::time::Instant::now() < deadline,
            "no checkpoint copied the log back: db {before} -> {now}, wal {wal}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    drop(alpha); // stops and joins the checkpointer
}

/// The worker of the concurrent-open test: opens the store named by the environment once the
/// start file exists, writes a setting, and says so (does nothing when run on its own).
#[test]
fn worker_process_open() {
    let (Ok(db), Ok(go)) =
        (std::env::var("PEC_ENGINE_OPEN_DB"), std::env::var("PEC_ENGINE_OPEN_GO"))
    else {
        return;
    };
    while !std::path::Path::new(&go).exists() {
        std::thread::sleep(StdDuration::from_millis(1));
    }
    let store = SqliteStore::open(std::path::Path::new(&db)).unwrap();
    let clock = Arc::new(ManualClock::new(world().start));
    let e = engine_with(0, Box::new(store), clock, policy(0));
    e.put_setting(&format!("p{}", std::process::id()), "1").unwrap();
    println!("OPENED");
}

/// Many processes opening one fresh database at once (a pre-forked pool starting, several
/// `pec serve` on one file): every one opens it, none sees "database is locked".
#[test]
fn a_fresh_database_opened_by_many_processes_at_once() {
    for round in 0..3 {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("fresh.db");
        let go = dir.path().join("go");
        let exe = std::env::current_exe().unwrap();
        let children: Vec<_> = (0..8)
            .map(|_| {
                std::process::Command::new(&exe)
                    .args(["--exact", "worker_process_open", "--nocapture", "--test-threads=1"])
                    .env("PEC_ENGINE_OPEN_DB", &db)
                    .env("PEC_ENGINE_OPEN_GO", &go)
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        std::thread::sleep(StdDuration::from_millis(200));
        std::fs::write(&go, b"").unwrap();
        for c in children {
            let out = c.wait_with_output().unwrap();
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(
                out.status.success() && text.contains("OPENED"),
                "round {round}: {text}{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

/// The same with threads of one process, each with its own store.
#[test]
fn a_fresh_database_opened_by_many_threads_at_once() {
    for round in 0..5 {
        let dir = tempfile::tempdir().unwrap();
        let db = Arc::new(dir.path().join("fresh.db"));
        let barrier = Arc::new(std::sync::Barrier::new(8));
        let threads: Vec<_> = (0..8)
            .map(|i| {
                let (db, barrier) = (db.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    let store = SqliteStore::open(&db).map_err(|e| e.to_string())?;
                    let clock = Arc::new(ManualClock::new(world().start));
                    let e = engine_with(0, Box::new(store), clock, policy(0));
                    e.put_setting(&format!("t{i}"), "1").map_err(|e| e.to_string())
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap().unwrap_or_else(|e| panic!("round {round}: {e}"));
        }
    }
}
