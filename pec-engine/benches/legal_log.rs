//! The legal log on a day of 100 000 events (issue 16): write (records appended to a node's
//! chain on SQLite, `synchronous=FULL`), export (`DAY.jsonl`), seal (RFC 3161 from an offline
//! `openssl ts -reply` TSA on 127.0.0.1 when `openssl` is installed, else the provider's CMS
//! signature) and verify (the store's chain and seal; the exported files), in events per
//! second.
//!
//! `cargo bench -p pec-engine --bench legal_log` (`PEC_BENCH_EVENTS=N` for another size).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Instant;

use chrono::{Duration, TimeZone, Utc};
use pec_core::chain::TrustStore;
use pec_engine::ManualClock;
use pec_engine::legal::{LegalLog, LogRecord, verify_export};

const ROME: chrono_tz::Tz = chrono_tz::Europe::Rome;

fn record(i: usize, date: &str) -> LogRecord {
    LogRecord {
        client: Some("mua.example (mua.example [192.0.2.7])".into()),
        date: date.to_string(),
        detail: String::new(),
        errore: Some("nessuno".into()),
        errore_esteso: None,
        event: if i.is_multiple_of(2) { "accettazione" } else { "consegna" }.into(),
        generated: vec![
            format!("opec-{i}.r1@pec.alpha.test"),
            format!("opec-{i}.t1@pec.alpha.test"),
        ],
        identifier: Some(format!("opec{i:08}.20261201101500.{i}@pec.alpha.test")),
        msgid: Some(format!("{i}.abcdef@client.test")),
        point: "access".into(),
        provider: Some("Alpha PEC S.p.A.".into()),
        queue_id: Some(format!("4AB{i:06X}")),
        recipient: Some(format!("user{}@pec.beta.test", i % 1000)),
        recipients: vec![format!("user{}@pec.beta.test", i % 1000)],
        sender: Some(format!("mario{}@pec.alpha.test", i % 100)),
        subject: Some(format!("Fattura n. {i} del 01/12/2026 \u{2014} invio")),
        ..LogRecord::default()
    }
}

fn rate(n: usize, secs: f64) -> String {
    format!("{:>9.0} events/s ({secs:.2} s)", n as f64 / secs)
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let n: usize =
        std::env::var("PEC_BENCH_EVENTS").ok().and_then(|v| v.parse().ok()).unwrap_or(100_000);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("log.db");
    let url = format!("sqlite:{}", db.display());
    let mut store = pec_engine::store::open(&url).unwrap();
    let day_start = Utc.with_ymd_and_hms(2026, 11, 30, 23, 0, 1).unwrap(); // 00:00:01 in Rome
    println!("legal log, one day of {n} events, SQLite (WAL, synchronous=FULL)");

    // write: 1000 records per transaction (a busy node's commits), then one per transaction
    let t = Instant::now();
    let batch = 1000;
    let mut i = 0;
    while i < n {
        let end = (i + batch).min(n);
        let at = day_start + Duration::milliseconds((i as i64) * 800);
        let date = at.with_timezone(&ROME).to_rfc3339_opts(chrono::SecondsFormat::Secs, false);
        store
            .write(&mut |tx| {
                for k in i..end {
                    let mut r = record(k, &date);
                    tx.log("bench-node", &mut r, at)?;
                }
                Ok(())
            })
            .unwrap();
        i = end;
    }
    println!("  write (1000/txn)        {}", rate(n, t.elapsed().as_secs_f64()));
    let single = 2000.min(n);
    let db2 = dir.path().join("single.db");
    let mut s2 = pec_engine::store::open(&format!("sqlite:{}", db2.display())).unwrap();
    let t = Instant::now();
    for k in 0..single {
        let date =
            day_start.with_timezone(&ROME).to_rfc3339_opts(chrono::SecondsFormat::Secs, false);
        s2.write(&mut |tx| tx.log("bench-node", &mut record(k, &date), day_start)).unwrap();
    }
    println!("  write (1/txn, {single})     {}", rate(single, t.elapsed().as_secs_f64()));

    let clock = Arc::new(ManualClock::new(day_start + Duration::days(2)));
    let day = day_start.with_timezone(&ROME).date_naive();
    let openssl = std::process::Command::new("openssl").arg("version").output();
    let tsa = if openssl.is_ok_and(|o| o.status.success()) {
        Some(pec_testkit::tsa::OfflineTsa::start(&dir.path().join("tsa")).unwrap())
    } else {
        None
    };
    let mut log = LegalLog::new(pec_engine::store::open(&url).unwrap(), ROME, clock);
    let mut ca = TrustStore::new();
    match &tsa {
        Some(t) => {
            ca.add_pem_bundle(&std::fs::read(&t.ca_pem).unwrap()).unwrap();
            log = log.with_tsa(Some(t.url.clone())).with_tsa_ca(Some(ca.clone()));
        }
        None => {
            let pki = pec_testkit::TestPki::generate(
                &[pec_testkit::ProviderSpec { name: "Alpha PEC S.p.A.", domain: "pec.alpha.test" }],
                Utc::now() - Duration::days(1),
                Utc::now() + Duration::days(30),
            )
            .unwrap();
            let signer = pec_core::signer::SoftwareSigner::from_der(
                &pki.providers[0].key_pkcs8,
                pki.providers[0].cert_der.clone(),
                vec![pki.ca.cert_der.clone()],
            )
            .unwrap();
            ca.add_der(&pki.root.cert_der).unwrap();
            log = log.with_signer(Arc::new(signer), Some(ca.clone()));
        }
    }

    let t = Instant::now();
    let e = log.export(day).unwrap();
    let secs = t.elapsed().as_secs_f64();
    assert_eq!(e.records as usize, n);
    println!("  export                  {}  {} MB", rate(n, secs), e.bytes.len() / 1_000_000);

    let out = dir.path().join("exports");
    let t = Instant::now();
    let s = log.seal(day, Some(&out)).unwrap();
    let how =
        if tsa.is_some() { "RFC 3161, offline openssl TSA over HTTP" } else { "provider CMS" };
    println!("  seal (export+{how}) {}", rate(n, t.elapsed().as_secs_f64()));
    assert_eq!(s.seal.records as usize, n);

    let t = Instant::now();
    let r = log.verify(Some(day), Some(&ca)).unwrap();
    assert!(r.ok(), "{r:?}");
    println!("  verify (store)          {}", rate(n, t.elapsed().as_secs_f64()));
    let t = Instant::now();
    let r = verify_export(&out, &ca).unwrap();
    assert!(r.ok(), "{r:?}");
    println!("  verify (export files)   {}", rate(n, t.elapsed().as_secs_f64()));
}
