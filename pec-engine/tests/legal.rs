//! The legal log (issue 16, docs/LEGAL-LOG.md): records written with the events, chained per
//! node, sealed by an offline RFC 3161 TSA (`openssl ts -reply` behind a local HTTP
//! responder), exports that `openssl ts -verify` accepts and whose every alteration
//! `verify_export` names, append-only tables on SQLite and PostgreSQL, and the purge after 30
//! months that keeps the seals.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use common::*;
use pec_core::chain::TrustStore;
use pec_core::points::Antivirus;
use pec_engine::legal::{GENESIS, LegalLog, LogRecord, sha256_hex, verify_export};
use pec_engine::store::{LogQuery, Store};
use pec_engine::{Clock, ManualClock};
use pec_testkit::env::require_tool;
use pec_testkit::tsa::OfflineTsa;

const MARIO: &str = "mario@pec.alpha.test";
const LUIGI: &str = "luigi@pec.beta.test";
const ROME: chrono_tz::Tz = chrono_tz::Europe::Rome;

fn ca_of(pem: &Path) -> TrustStore {
    let mut t = TrustStore::new();
    t.add_pem_bundle(&std::fs::read(pem).unwrap()).unwrap();
    t
}

fn open(db: &Path) -> Box<dyn Store> {
    pec_engine::store::open(&format!("sqlite:{}", db.display())).unwrap()
}

/// Appends `n` synthetic records dated `at` to `node`'s chain, in one transaction.
fn append(store: &mut Box<dyn Store>, node: &str, at: DateTime<Utc>, n: usize, tag: &str) {
    let date = at.with_timezone(&ROME).to_rfc3339_opts(chrono::SecondsFormat::Secs, false);
    store
        .write(&mut |tx| {
            for i in 0..n {
                let mut r = LogRecord {
                    date: date.clone(),
                    event: "accettazione".into(),
                    point: "access".into(),
                    identifier: Some(format!("{tag}{i}@pec.alpha.test")),
                    sender: Some(MARIO.into()),
                    recipients: vec![LUIGI.into()],
                    ..LogRecord::default()
                };
                tx.log(node, &mut r, at)?;
            }
            Ok(())
        })
        .unwrap();
}

fn days_of(lines: &[LogRecord]) -> Vec<NaiveDate> {
    let mut d: Vec<NaiveDate> =
        lines.iter().map(|r| NaiveDate::parse_from_str(r.day(), "%Y-%m-%d").unwrap()).collect();
    d.sort();
    d.dedup();
    d
}

fn problem(dir: &Path, ca: &TrustStore) -> String {
    let r = verify_export(dir, ca).unwrap();
    assert!(!r.ok(), "tampering not caught in {}", dir.display());
    r.problems[0].clone()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, to.join(p.file_name().unwrap())).unwrap();
    }
}

#[test]
fn every_event_is_a_chained_record_sealed_by_a_tsa() {
    if !require_tool("openssl") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("alpha.db");
    let clock = Arc::new(ManualClock::new(world().start));
    let alpha = engine(0, &db, clock.clone()).with_node("node-a");
    let mut ids = Vec::new();
    for (i, subject) in ["uno", "caff\u{e8} \"due\"", "tre"].iter().enumerate() {
        let orig = original(MARIO, &[LUIGI], &[], subject, &format!("body {i}"));
        let out = alpha.on_submission(&smtp(MARIO, &[LUIGI]), &orig, &Antivirus::Clean).unwrap();
        ids.push(out.emissions[1].identifier.clone().unwrap());
        // a retry of the same event writes nothing more
        alpha.on_submission(&smtp(MARIO, &[LUIGI]), &orig, &Antivirus::Clean).unwrap();
    }
    drop(alpha);

    // the records: RFC 6109 §2.3 fields, one chain
    let tsa = OfflineTsa::start(&dir.path().join("tsa")).unwrap();
    let later = Arc::new(ManualClock::new(world().start + Duration::days(2)));
    let mut log = LegalLog::new(open(&db), ROME, later.clone())
        .with_tsa(Some(tsa.url.clone()))
        .with_tsa_ca(Some(ca_of(&tsa.ca_pem)));
    let recs = log.search(&LogQuery::Identifier(format!("<{}>", ids[1]))).unwrap();
    let events: Vec<&str> = recs.iter().map(|r| r.event.as_str()).collect();
    assert_eq!(events, ["accettazione", "inoltro"]);
    let acc = &recs[0];
    assert_eq!(acc.point, "access");
    assert_eq!(acc.node, "node-a");
    assert_eq!((acc.seq, recs[1].seq), (3, 4));
    assert_eq!(acc.sender.as_deref(), Some(MARIO));
    assert_eq!(acc.recipients, [LUIGI]);
    assert_eq!(recs[1].recipient.as_deref(), Some(LUIGI));
    assert_eq!(acc.subject.as_deref(), Some("caff\u{e8} \"due\""));
    assert!(acc.msgid.as_deref().unwrap().ends_with("@client.test"));
    assert_eq!(acc.provider.as_deref(), Some(ALPHA));
    assert_eq!(acc.errore.as_deref(), Some("nessuno"));
    assert_eq!(acc.generated.len(), 2, "acceptance receipt and transport envelope");
    let t0 = world().start.with_timezone(&ROME).to_rfc3339_opts(chrono::SecondsFormat::Secs, false);
    assert_eq!(acc.date, t0, "the transaction's time reference");
    let by_msgid = log.search(&LogQuery::Msgid(acc.generated[0].clone())).unwrap();
    assert!(by_msgid.iter().any(|r| r.event == "accettazione"));
    assert_eq!(log.search(&LogQuery::Address(LUIGI.to_uppercase())).unwrap().len(), 6);

    // the chain
    let all: Vec<LogRecord> = log.search(&LogQuery::Address(MARIO.into())).unwrap();
    assert_eq!(all.len(), 6);
    assert_eq!(all[0].prev, GENESIS);
    for w in all.windows(2) {
        assert_eq!(w[1].prev, sha256_hex(&w[0].canonical()));
    }

    // seal every day present (two when the test runs across midnight in Rome)
    let out = dir.path().join("exports");
    for day in days_of(&all) {
        let s = log.seal(day, Some(&out)).unwrap();
        assert!(!s.already);
        assert_eq!(s.seal.kind, "rfc3161");
        let again = log.seal(day, Some(&out)).unwrap();
        assert!(again.already, "idempotent");
        let jsonl = out.join(format!("{day}.jsonl"));
        let tsr = out.join(format!("{day}.tsr"));
        let o = Command::new("openssl")
            .args(["ts", "-verify", "-data"])
            .arg(&jsonl)
            .arg("-in")
            .arg(&tsr)
            .arg("-CAfile")
            .arg(&tsa.ca_pem)
            .output()
            .unwrap();
        assert!(o.status.success(), "openssl ts -verify: {}", String::from_utf8_lossy(&o.stderr));
    }
    let served = tsa.served.load(std::sync::atomic::Ordering::SeqCst);
    assert_eq!(served, days_of(&all).len(), "one request per day, none for a sealed day");
    let today = later.now().with_timezone(&ROME).date_naive();
    assert!(log.seal(today, None).is_err(), "an unfinished day is refused");

    let ca = ca_of(&tsa.ca_pem);
    let r = log.verify(None, Some(&ca)).unwrap();
    assert!(r.ok(), "{r:?}");
    assert_eq!((r.records, r.seals), (6, days_of(&all).len() as u64));
    let r = verify_export(&out, &ca).unwrap();
    assert!(r.ok(), "{r:?}");
    // another CA does not vouch for the TSA
    let other = world().trust.as_ref().clone();
    assert!(!verify_export(&out, &other).unwrap().ok());

    // one byte, one record changed, dropped or reordered in an export: named
    let day = days_of(&all)[0];
    let name = format!("{day}.jsonl");
    let lines: Vec<String> =
        std::fs::read_to_string(out.join(&name)).unwrap().lines().map(str::to_string).collect();
    assert!(lines.len() >= 3, "three records on the first day at least");
    let write = |tag: &str, l: &[String]| {
        let d = dir.path().join(tag);
        copy_dir(&out, &d);
        let body: String = l.iter().map(|x| format!("{x}\n")).collect();
        std::fs::write(d.join(&name), body).unwrap();
        d
    };
    let mut changed = lines.clone();
    changed[1] = changed[1].replace("\"event\":\"", "\"event\":\"X");
    assert!(problem(&write("changed", &changed), &ca).contains(&format!("{name} line 3")));
    let mut dropped = lines.clone();
    dropped.remove(1);
    let p = problem(&write("dropped", &dropped), &ca);
    assert!(p.contains(&format!("{name} line 2")) && p.contains("expected seq 2"), "{p}");
    let mut swapped = lines.clone();
    swapped.swap(0, 1);
    let p = problem(&write("swapped", &swapped), &ca);
    assert!(p.contains(&format!("{name} line 2")) && p.contains("reordered"), "{p}");
    let mut last = lines.clone();
    let n = last.len() - 1;
    last[n] = last[n].replace("\"v\":1", "\"v\":2");
    let p = problem(&write("last", &last), &ca);
    assert!(p.contains(&format!("day {day}")) && p.contains("imprint-mismatch"), "{p}");
    let mut bytes = std::fs::read(out.join(&name)).unwrap();
    let d = dir.path().join("byte");
    copy_dir(&out, &d);
    let i = bytes.len() / 2;
    bytes[i] ^= 0x01;
    std::fs::write(d.join(&name), &bytes).unwrap();
    let p = problem(&d, &ca);
    assert!(p.contains(&name) || p.contains(&format!("day {day}")), "{p}");
    let d = dir.path().join("tsr");
    copy_dir(&out, &d);
    let tsr = d.join(format!("{day}.tsr"));
    let mut t = std::fs::read(&tsr).unwrap();
    let n = t.len() - 300;
    t[n] ^= 0x01;
    std::fs::write(&tsr, &t).unwrap();
    assert!(problem(&d, &ca).contains(&format!("day {day}")));

    // SQLite: UPDATE and DELETE are refused; a tampered file is caught by verify
    let c = rusqlite::Connection::open(&db).unwrap();
    let e = c.execute("UPDATE legal_log SET record = record || ' ' WHERE seq = 2", []);
    assert!(e.unwrap_err().to_string().contains("append-only"));
    let e = c.execute("DELETE FROM legal_log WHERE seq = 2", []);
    assert!(e.unwrap_err().to_string().contains("append-only"));
    assert!(c.execute("DELETE FROM log_seal", []).is_err());
    c.execute_batch("DROP TRIGGER legal_log_no_update").unwrap();
    let rec: String =
        c.query_row("SELECT record FROM legal_log WHERE seq = 2", [], |r| r.get(0)).unwrap();
    let forged = rec.replace(LUIGI, "eve@pec.beta.test");
    c.execute(
        "UPDATE legal_log SET record = ?1, hash = ?2 WHERE seq = 2",
        [&forged, &sha256_hex(forged.as_bytes())],
    )
    .unwrap();
    let r = log.verify(None, Some(&ca)).unwrap();
    assert!(r.problems[0].contains("node node-a seq 3"), "{r:?}");
    c.execute("UPDATE legal_log SET record = ?1 WHERE seq = 2", [&rec]).unwrap();
    assert!(!log.verify(None, Some(&ca)).unwrap().ok(), "the stored hash no longer matches");
    c.execute("UPDATE legal_log SET hash = ?1 WHERE seq = 2", [&sha256_hex(rec.as_bytes())])
        .unwrap();
    assert!(log.verify(None, Some(&ca)).unwrap().ok(), "restored");
}

/// Without a TSA a day is sealed with the provider's own CMS signature (`DAY.p7s`); records
/// older than 30 months are purged once sealed, the seals stay and the chain still verifies.
#[test]
fn purge_after_30_months_keeps_the_seals() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("old.db");
    let mut store = open(&db);
    let old = Utc.with_ymd_and_hms(2023, 3, 1, 10, 0, 0).unwrap();
    append(&mut store, "n1", old, 3, "a");
    append(&mut store, "n1", old + Duration::days(1), 2, "b");
    append(&mut store, "n2", old + Duration::days(1), 2, "c");
    let recent = Utc::now() - Duration::days(3);
    append(&mut store, "n1", recent, 2, "d");
    let clock = Arc::new(pec_engine::SystemClock);
    let mut trust = TrustStore::new();
    trust.add_der(&world().pki.root.cert_der).unwrap();
    let mut log =
        LegalLog::new(store, ROME, clock).with_signer(Arc::new(signer(0)), Some(trust.clone()));
    let day = |d: DateTime<Utc>| d.with_timezone(&ROME).date_naive();
    // the records of a day not sealed are never deleted, even old
    let c = rusqlite::Connection::open(&db).unwrap();
    let e = c.execute("DELETE FROM legal_log WHERE node = 'n2'", []).unwrap_err();
    assert!(e.to_string().contains("append-only"), "{e}");
    for d in [day(old), day(old + Duration::days(1))] {
        let s = log.seal(d, Some(&dir.path().join("x"))).unwrap();
        assert_eq!(s.seal.kind, "cms");
        assert!(dir.path().join(format!("x/{d}.p7s")).exists());
    }
    let r = log.verify(None, None).unwrap();
    assert!(r.ok(), "{r:?}");
    assert!(r.notes.iter().any(|n| n.contains("provider's own signature")), "{r:?}");
    // the exported provider seals verify against the provider's CA
    let mut ca = TrustStore::new();
    ca.add_der(&world().pki.root.cert_der).unwrap();
    assert!(verify_export(&dir.path().join("x"), &ca).unwrap().ok());

    let p = log.purge().unwrap();
    assert_eq!(p.deleted, 7);
    let r = log.verify(None, None).unwrap();
    assert!(r.ok(), "{r:?}");
    assert_eq!(r.records, 2);
    assert!(r.notes.iter().any(|n| n.contains("records purged")), "{r:?}");
    // recent records cannot be deleted, even with their day sealed
    log.seal(day(recent), None).unwrap();
    let e = c.execute("DELETE FROM legal_log WHERE node = 'n1'", []).unwrap_err();
    assert!(e.to_string().contains("append-only"), "{e}");
    // the chains go on after the purge: n2's next record follows the seal's memory
    let mut raw = open(&db);
    append(&mut raw, "n2", recent + Duration::days(1), 1, "e");
    let r = log.verify(None, None).unwrap();
    assert!(r.ok(), "{r:?}");
    let recs = log.search(&LogQuery::Identifier("e0@pec.alpha.test".into())).unwrap();
    assert_eq!(recs[0].seq, 3);
}

/// On PostgreSQL the application role (owner of a database it migrated itself) cannot
/// UPDATE, DELETE or TRUNCATE the log, nor touch a seal.
#[cfg(feature = "postgres")]
#[test]
fn postgresql_log_is_append_only_for_the_application_role() {
    let Some(server) = pg::PgServer::start() else { return };
    let mut admin = postgres::Client::connect(&server.url("postgres"), postgres::NoTls).unwrap();
    admin.batch_execute("CREATE ROLE app LOGIN").unwrap();
    admin.batch_execute("CREATE DATABASE appdb OWNER app").unwrap();
    let url = format!("postgresql://app@127.0.0.1:{}/appdb", server.port);
    let mut store = pec_engine::store::open(&url).unwrap();
    let at = Utc::now() - Duration::days(1);
    append(&mut store, "pg1", at, 3, "p");
    let old = Utc.with_ymd_and_hms(2023, 3, 1, 10, 0, 0).unwrap();
    append(&mut store, "pg2", old, 2, "q");
    let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    for sql in [
        "UPDATE legal_log SET record = 'x' WHERE seq = 1",
        "DELETE FROM legal_log WHERE seq = 1",
        "TRUNCATE legal_log",
        "DELETE FROM legal_log WHERE node = 'pg2'",
    ] {
        let e = c.batch_execute(sql).unwrap_err();
        let msg = e.as_db_error().map(|d| d.message().to_string()).unwrap_or_default();
        assert!(msg.contains("permission denied") || msg.contains("append-only"), "{sql}: {msg}");
    }
    let clock = Arc::new(pec_engine::SystemClock);
    let mut log = LegalLog::new(pec_engine::store::open(&url).unwrap(), ROME, clock)
        .with_signer(Arc::new(signer(0)), None);
    let r = log.verify(None, None).unwrap();
    assert!(r.ok(), "{r:?}");
    assert_eq!(r.records, 5);
    let d = old.with_timezone(&ROME).date_naive();
    log.seal(d, None).unwrap();
    for sql in ["UPDATE log_seal SET records = 0", "DELETE FROM log_seal"] {
        assert!(c.batch_execute(sql).is_err(), "{sql}");
    }
    // the purge of a sealed day older than 30 months is the one DELETE allowed
    let p = log.purge().unwrap();
    assert_eq!(p.deleted, 2);
    assert!(log.verify(None, None).unwrap().ok());
}
