//! The quarantine encrypted at rest (issue 19 part 3; MAILSEC.md §3): a message the access or
//! incoming point quarantines (EICAR, found by the test scanner) is kept as
//! `<identifier>.eml.p7m`, CMS EnvelopedData to every `[atrest]` recipient, and decrypts,
//! with pec and with `openssl cms -decrypt`, to the exact bytes received. `[atrest]` and
//! `[quarantine]` configuration errors name the file.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use common::*;
use pec_core::atrest::{KeyTransport, Recipient, SoftwareKey, decrypt_bytes};
use pec_engine::EngineConfig;
use pec_engine::atrest::{AtRest, Quarantine};

const MARIO: &str = "mario@pec.alpha.test";
const LUIGI: &str = "luigi@pec.beta.test";

/// The two providers' certificates of the test PKI as the archive and auditor recipients.
fn atrest() -> Arc<AtRest> {
    let w = world();
    let r = (0..2)
        .map(|i| Recipient::from_der(&w.pki.providers[i].cert_der, KeyTransport::default()))
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    Arc::new(AtRest::new(r).unwrap())
}

fn key(i: usize) -> SoftwareKey {
    let p = &world().pki.providers[i];
    SoftwareKey::from_pem(p.key_pem().as_bytes(), Some(p.cert_pem().as_bytes())).unwrap()
}

/// Engine `i` of `net` made to quarantine into `dir`.
fn quarantine_at(net: &mut Net, i: usize, dir: &Path) {
    let e = net.engines.remove(i).with_quarantine(Quarantine::new(dir.into(), Some(atrest())));
    net.engines.insert(i, e);
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(r) => r.map(|e| e.unwrap().path()).collect(),
        Err(_) => Vec::new(),
    };
    v.sort();
    v
}

/// Each recipient opens `p7m` to `expected`, with pec and (when installed) with openssl.
fn opens_to(p7m: &Path, expected: &[u8]) {
    let der = std::fs::read(p7m).unwrap();
    assert!(!der.windows(20).any(|w| expected.windows(20).next() == Some(w)), "no plaintext");
    for i in 0..2 {
        assert_eq!(decrypt_bytes(&der, &key(i)).unwrap(), expected, "recipient {i}");
    }
    if !pec_testkit::env::require_tool("openssl") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    for i in 0..2 {
        let p = &world().pki.providers[i];
        let (k, c, out) =
            (tmp.path().join("k.pem"), tmp.path().join("c.pem"), tmp.path().join("out"));
        std::fs::write(&k, p.key_pem()).unwrap();
        std::fs::write(&c, p.cert_pem()).unwrap();
        let o = Command::new("openssl")
            .args(["cms", "-decrypt", "-inform", "DER", "-binary", "-in"])
            .arg(p7m)
            .arg("-recip")
            .arg(&c)
            .arg("-inkey")
            .arg(&k)
            .arg("-out")
            .arg(&out)
            .output()
            .unwrap();
        assert!(o.status.success(), "openssl cms: {}", String::from_utf8_lossy(&o.stderr));
        assert_eq!(std::fs::read(&out).unwrap(), expected, "openssl, recipient {i}");
    }
}

#[test]
fn a_virus_at_the_access_point_is_kept_encrypted() {
    let mut net = Net::new();
    let q = tempfile::tempdir().unwrap();
    quarantine_at(&mut net, 0, q.path());
    let orig = original(MARIO, &[LUIGI], &[], "virus", EICAR);
    net.submit(0, &smtp(MARIO, &[LUIGI]), &orig);
    assert_eq!(net.built(), vec![(0, "non-accettazione".into())]);
    let na = &net.of_kind("non-accettazione")[0].out;
    let id = na.identifier.clone().expect("identifier");
    let kept = files(q.path());
    assert_eq!(kept, vec![q.path().join(format!("{id}.eml.p7m"))], "one file, no plaintext");
    opens_to(&kept[0], &orig);
    // the legal log's quarantena record names the file and the plaintext's SHA-256
    let db = files(net.dir.path())
        .into_iter()
        .find(|p| p.to_string_lossy().ends_with("_p0.db"))
        .expect("engine 0's store");
    let store = Box::new(pec_engine::store::sqlite::SqliteStore::open(&db).unwrap());
    let mut log =
        pec_engine::legal::LegalLog::new(store, chrono_tz::Europe::Rome, net.clock.clone());
    let recs = log.search(&pec_engine::store::LogQuery::Identifier(id.clone())).unwrap();
    let q_rec = recs.iter().find(|r| r.event == "quarantena").expect("quarantena record");
    assert_eq!(
        q_rec.detail,
        format!(
            "Eicar-Test-Signature; file={id}.eml.p7m; sha256={}",
            pec_engine::legal::sha256_hex(&orig)
        )
    );
    assert_eq!(q_rec.errore_esteso.as_deref(), Some("Eicar-Test-Signature"));
    // a clean message is not kept
    let clean = original(MARIO, &[LUIGI], &[], "pulito", "ciao");
    net.submit(0, &smtp(MARIO, &[LUIGI]), &clean);
    assert_eq!(files(q.path()).len(), 1);
}

#[test]
fn a_virus_at_the_incoming_point_is_kept_encrypted() {
    let mut net = Net::new();
    net.av_access[0] = false; // Alpha's scanner missed it
    let q = tempfile::tempdir().unwrap();
    quarantine_at(&mut net, 1, q.path());
    let orig = original(MARIO, &[LUIGI], &[], "virus", EICAR);
    net.submit(0, &smtp(MARIO, &[LUIGI]), &orig);
    assert_eq!(net.of_kind("rilevazione-virus").len(), 1);
    // the transport envelope as Beta's incoming point received it
    let envelope = net.of_kind("posta-certificata")[0].out.clone();
    let id = envelope.identifier.clone().expect("identifier");
    let kept = files(q.path());
    assert_eq!(kept, vec![q.path().join(format!("{id}.eml.p7m"))]);
    opens_to(&kept[0], &envelope.bytes);
}

#[test]
fn without_atrest_the_quarantine_keeps_the_message_as_is() {
    let mut net = Net::new();
    let q = tempfile::tempdir().unwrap();
    let e = net.engines.remove(0).with_quarantine(Quarantine::new(q.path().into(), None));
    net.engines.insert(0, e);
    let orig = original(MARIO, &[LUIGI], &[], "virus", EICAR);
    net.submit(0, &smtp(MARIO, &[LUIGI]), &orig);
    let kept = files(q.path());
    assert_eq!(kept.len(), 1);
    assert!(kept[0].to_string_lossy().ends_with(".eml"), "{kept:?}");
    assert_eq!(std::fs::read(&kept[0]).unwrap(), orig);
}

#[test]
fn atrest_configuration_errors_name_the_file() {
    let d = tempfile::tempdir().unwrap();
    let w = world();
    std::fs::write(d.path().join("archive.pem"), w.pki.providers[0].cert_pem()).unwrap();
    std::fs::write(d.path().join("auditor.pem"), w.pki.providers[1].cert_pem()).unwrap();
    std::fs::write(d.path().join("key.pem"), w.pki.providers[1].key_pem()).unwrap();
    let head = "name = \"Alpha PEC S.p.A.\"\ndomain = \"pec.alpha.test\"\n";
    let parse = |tail: &str| EngineConfig::parse(&format!("{head}{tail}"), d.path());
    let err = |tail: &str| parse(tail).expect_err(tail).to_string();

    let c = parse(
        "[atrest]\nrecipients = [\"archive.pem\", \"auditor.pem\"]\n\
         [quarantine]\ndir = \"q\"\n",
    )
    .unwrap();
    assert_eq!(c.atrest().unwrap().unwrap().recipients().len(), 2);
    assert_eq!(c.quarantine().unwrap().unwrap().dir(), d.path().join("q"));
    let c = parse("[atrest]\nrecipients = [\"archive.pem\"]\nkey_transport = \"pkcs1\"\n").unwrap();
    let a = c.atrest().unwrap().unwrap();
    assert_eq!(a.recipients()[0].transport(), KeyTransport::Pkcs1);
    assert!(parse("").unwrap().atrest().unwrap().is_none());

    let e = err("[atrest]\nrecipients = [\"missing.pem\"]\n");
    assert!(e.contains("missing.pem"), "{e}");
    let e = err("[atrest]\nrecipients = [\"key.pem\"]\n");
    assert!(e.contains("key.pem") && e.contains("no CERTIFICATE"), "{e}");
    let e = err("[atrest]\nrecipients = []\n");
    assert!(e.contains("recipients is empty"), "{e}");
    let e = err("[atrest]\nrecipients = [\"archive.pem\"]\nkey_transport = \"rot13\"\n");
    assert!(e.contains("key_transport"), "{e}");
    let e = err("[atrest]\nrecipients = [\"archive.pem\"]\noaep = \"sha1\"\n");
    assert!(e.contains("oaep"), "unknown keys are refused: {e}");
    let e = err("[quarantine]\ndir = \"\"\n");
    assert!(e.contains("[quarantine] dir"), "{e}");
    if pec_testkit::env::require_tool("openssl") {
        // an EC certificate: not RSA
        let o = Command::new("openssl")
            .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"])
            .args(["-nodes", "-days", "2", "-subj", "/CN=ec", "-keyout"])
            .arg(d.path().join("ec.key"))
            .arg("-out")
            .arg(d.path().join("ec.pem"))
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let e = err("[atrest]\nrecipients = [\"archive.pem\", \"ec.pem\"]\n");
        assert!(e.contains("ec.pem") && e.contains("not RSA"), "{e}");
    }
}
