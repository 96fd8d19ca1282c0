//! Sender authentication at the incoming point (issue 19 part 4, MAILSEC.md §1): with a
//! static zone and the SMTP client's address and HELO, ordinary mail becomes an anomaly
//! envelope whose first header is exactly one `Authentication-Results`, ours, equal to the
//! legal log's `auth`; `postacert.eml` is the bytes received; the envelope verifies; a valid
//! PEC envelope is delivered unchanged with the results in its `ricezione` record; DMARC
//! `p=reject` with `dmarc_reject = "discard"` drops the mail, logged, never refused.
#![cfg(feature = "mailauth")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use common::*;
use pec_core::mailsec::auth::{AuthResult, AuthResults};
use pec_core::message::PecMessage;
use pec_core::points::{Antivirus, Route};
use pec_engine::config::{AuthSettings, DnsSource, EngineConfig};
use pec_engine::legal::{LegalLog, LogRecord};
use pec_engine::store::LogQuery;
use pec_engine::{Client, Engine, ManualClock, SenderAuth};

const MARIO: &str = "mario@pec.alpha.test";
const LUIGI: &str = "luigi@pec.beta.test";
const ANNA: &str = "anna@example.com";
const MX: &str = "mx.pec.beta.test";
const ZONE: &str = "\
; the Internet as the test sees it
example.com          TXT \"v=spf1 ip4:192.0.2.0/24 -all\"
_dmarc.example.com   TXT \"v=DMARC1; p=reject\"
mail.example.com     TXT \"v=spf1 a -all\"
mail.example.com     A   192.0.2.10
";

fn sender_auth(dir: &std::path::Path, discard: bool) -> SenderAuth {
    let zone = dir.join("zone.txt");
    std::fs::write(&zone, ZONE).unwrap();
    SenderAuth::new(&AuthSettings {
        source: DnsSource::Zone(zone),
        timeout: std::time::Duration::from_secs(2),
        authserv_id: MX.into(),
        discard,
        anomaly_header: true,
    })
    .unwrap()
}

fn beta(dir: &std::path::Path, clock: Arc<ManualClock>, discard: bool) -> Engine {
    engine(1, &dir.join("beta.db"), clock)
        .with_node("beta-1")
        .with_sender_auth(sender_auth(dir, discard))
}

fn records(dir: &std::path::Path, clock: Arc<ManualClock>, address: &str) -> Vec<LogRecord> {
    let store = pec_engine::store::open(&format!("sqlite:{}", dir.join("beta.db").display()));
    let mut log = LegalLog::new(store.unwrap(), chrono_tz::Europe::Rome, clock);
    let r = log.verify(None, None).unwrap();
    assert!(r.ok(), "the chain verifies: {r:?}");
    log.search(&LogQuery::Address(address.into())).unwrap()
}

fn client(ip: &str) -> Client {
    Client::from_xforward(Some(ip), Some("mail.example.com"))
}

#[test]
fn ordinary_mail_gets_one_authentication_results_and_the_log_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(world().start));
    let e = beta(dir.path(), clock.clone(), false);
    let plain = original(ANNA, &[LUIGI], &[], "ordinaria", "ciao");
    let out = e
        .on_inbound_client(
            &smtp(ANNA, &[LUIGI]),
            &plain,
            &Antivirus::Clean,
            Some(&client("192.0.2.10")),
        )
        .unwrap();
    assert_eq!(out.reply.code, 250);
    assert_eq!(out.emissions.len(), 1);
    let an = &out.emissions[0];
    assert_eq!(an.kind, "errore");
    assert_eq!(an.groups[0].route, Route::Deliver);
    check_signed(an, world().start);
    // the first header, exactly one in the envelope (postacert.eml had none)
    let text = String::from_utf8_lossy(&an.bytes).into_owned();
    assert!(text.starts_with(&format!("Authentication-Results: {MX};")), "{text}");
    assert_eq!(text.matches("Authentication-Results:").count(), 1);
    let m = PecMessage::parse(&an.bytes).unwrap();
    assert_eq!(m.original.as_deref(), Some(&plain[..]), "postacert.eml is what was received");
    assert_eq!(m.headers.get_all("Authentication-Results").count(), 1);
    // the log's anomalia record carries the same results
    let recs = records(dir.path(), clock, LUIGI);
    let rec = recs.iter().find(|r| r.event == "anomalia").expect("anomalia record");
    let auth: &AuthResults = rec.auth.as_ref().expect("auth in the anomalia record");
    assert!(text.starts_with(&format!("{}\r\n", auth.ar_header)), "{}", auth.ar_header);
    assert_eq!(auth.spf.mailfrom.as_ref().unwrap().result, AuthResult::Pass);
    assert_eq!(auth.spf.mailfrom.as_ref().unwrap().domain, "example.com");
    assert_eq!(auth.spf.helo.as_ref().unwrap().result, AuthResult::Pass);
    assert!(auth.dkim.is_empty());
    let dmarc = auth.dmarc.as_ref().unwrap();
    assert_eq!((dmarc.result, dmarc.policy.as_str()), (AuthResult::Pass, "reject"));
    assert_eq!(dmarc.header_from, "example.com");
    assert_eq!(auth.arc, AuthResult::None);
    // the record's canonical line round-trips with the object in it
    let line = rec.canonical();
    assert_eq!(LogRecord::parse_canonical(&line).unwrap(), *rec);
    assert!(String::from_utf8_lossy(&line).starts_with("{\"auth\":{\"ar_header\":"));

    // a forged source: SPF fails, DMARC fails for p=reject; wrapped all the same (default)
    let other = original(ANNA, &[LUIGI], &[], "falsa", "x");
    let out = e
        .on_inbound_client(
            &smtp(ANNA, &[LUIGI]),
            &other,
            &Antivirus::Clean,
            Some(&client("198.51.100.7")),
        )
        .unwrap();
    assert_eq!(out.reply.code, 250);
    assert_eq!(out.emissions.len(), 1);
    let text = String::from_utf8_lossy(&out.emissions[0].bytes).into_owned();
    assert!(text.contains("spf=fail"), "{text}");
    assert!(text.contains("dmarc=fail"), "{text}");

    // pec serve's entry point: the client in the Received: form gives SPF its address
    let fourth = original(ANNA, &[LUIGI], &[], "quarta", "z");
    let out = e
        .on_inbound_from(
            &smtp(ANNA, &[LUIGI]),
            &fourth,
            &Antivirus::Clean,
            Some("mail.example.com (unknown [192.0.2.10])"),
        )
        .unwrap();
    let text = String::from_utf8_lossy(&out.emissions[0].bytes).into_owned();
    assert!(text.contains("spf=pass"), "{text}");
    assert!(text.contains("smtp.helo=mail.example.com"), "{text}");

    // the old entry point still works: no client, no SPF, DKIM and DMARC still checked
    let third = original(ANNA, &[LUIGI], &[], "terza", "y");
    let out = e.on_inbound(&smtp(ANNA, &[LUIGI]), &third, &Antivirus::Clean).unwrap();
    let text = String::from_utf8_lossy(&out.emissions[0].bytes).into_owned();
    assert!(text.starts_with(&format!("Authentication-Results: {MX};")));
    assert!(!text.contains("spf="), "{text}");
}

#[test]
fn a_valid_pec_envelope_is_delivered_unchanged_and_logged_with_auth() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(world().start));
    let alpha = engine(0, &dir.path().join("alpha.db"), clock.clone());
    let orig = original(MARIO, &[LUIGI], &[], "prova", "Testo.");
    let out = alpha.on_submission(&smtp(MARIO, &[LUIGI]), &orig, &Antivirus::Clean).unwrap();
    let env = out.emissions.iter().find(|o| o.kind == "posta-certificata").unwrap();
    // DKIM-signed by Alpha (pec's own signer) with a key its zone does not publish: the
    // signature fails, a warning only
    let key = pec_core::mailsec::dkim::SoftwareDkimKey::from_pem(
        world().pki.providers[0].key_pem().as_bytes(),
    )
    .unwrap();
    let signed =
        pec_core::mailsec::dkim::sign_message(&env.bytes, &key, "pec.alpha.test", "s1").unwrap();
    let e = beta(dir.path(), clock.clone(), true);
    let ip = Client::from_xforward(Some("IPv6:2001:db8::25"), Some("mx.pec.alpha.test"));
    assert_eq!(ip.addr, Some("2001:db8::25".parse().unwrap()));
    let got = e.on_inbound_client(&smtp(MARIO, &[LUIGI]), &signed, &Antivirus::Clean, Some(&ip));
    let got = got.unwrap();
    assert_eq!(got.reply.code, 250, "{:?}", got.reply);
    let delivered: Vec<_> = got
        .emissions
        .iter()
        .filter(|o| o.groups.iter().any(|g| g.route == Route::Deliver))
        .collect();
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0].bytes, signed, "a PEC envelope is delivered unchanged");
    assert!(
        got.emissions
            .iter()
            .all(|o| !String::from_utf8_lossy(&o.bytes).starts_with("Authentication-Results"))
    );
    let recs = records(dir.path(), clock, LUIGI);
    let rec = recs.iter().find(|r| r.event == "ricezione").expect("ricezione record");
    let auth = rec.auth.as_ref().expect("auth in the ricezione record");
    // pec.alpha.test publishes nothing in this zone
    assert_eq!(auth.spf.mailfrom.as_ref().unwrap().result, AuthResult::None);
    assert_eq!(auth.dkim.len(), 1);
    assert_eq!(auth.dkim[0].d.as_deref(), Some("pec.alpha.test"));
    assert_eq!(auth.dkim[0].result, AuthResult::PermError);
    assert!(rec.detail.contains("avviso: DKIM non valida per d=pec.alpha.test"), "{}", rec.detail);
    // other records of the same event carry none
    assert!(recs.iter().filter(|r| r.event != "ricezione").all(|r| r.auth.is_none()));
}

#[test]
fn dmarc_reject_discard_drops_and_logs_never_refuses() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(world().start));
    let e = beta(dir.path(), clock.clone(), true);
    let forged = original(ANNA, &[LUIGI], &[], "falsa", "x");
    let out = e
        .on_inbound_client(
            &smtp(ANNA, &[LUIGI]),
            &forged,
            &Antivirus::Clean,
            Some(&client("198.51.100.7")),
        )
        .unwrap();
    assert_eq!(out.reply.code, 250, "never a 5xx: {:?}", out.reply);
    assert!(out.emissions.is_empty(), "dropped");
    // passing mail is still wrapped
    let good = original(ANNA, &[LUIGI], &[], "buona", "y");
    let out = e
        .on_inbound_client(
            &smtp(ANNA, &[LUIGI]),
            &good,
            &Antivirus::Clean,
            Some(&client("192.0.2.10")),
        )
        .unwrap();
    assert_eq!(out.emissions.len(), 1);
    let recs = records(dir.path(), clock, LUIGI);
    let rec = recs.iter().find(|r| r.event == "scartato-dmarc").expect("scartato-dmarc record");
    assert_eq!(rec.errore.as_deref(), Some("altro"));
    assert!(rec.detail.contains("example.com p=reject"), "{}", rec.detail);
    assert!(rec.auth.as_ref().unwrap().dmarc_reject());
}

#[test]
fn dns_and_auth_sections_are_checked() {
    let base = std::path::Path::new("/etc/pec");
    let head = "name = \"Beta PEC S.r.l.\"\ndomain = \"pec.beta.test\"\n";
    let parse = |extra: &str| EngineConfig::parse(&format!("{head}{extra}"), base);
    assert!(parse("").unwrap().auth_settings().unwrap().is_none());
    let s = parse("[dns]\nzone = \"zone.txt\"\n[auth]\nauthserv_id = \"mx.pec.beta.test\"\n")
        .unwrap()
        .auth_settings()
        .unwrap()
        .unwrap();
    assert_eq!(s.source, DnsSource::Zone(base.join("zone.txt")));
    assert_eq!((s.authserv_id.as_str(), s.discard, s.anomaly_header), (MX, false, true));
    let s = parse(
        "[dns]\nnameservers = [\"192.0.2.53\", \"[2001:db8::53]:5353\"]\ntimeout = \"3s\"\n\
         [auth]\ndmarc_reject = \"discard\"\nanomaly_header = false\n",
    )
    .unwrap()
    .auth_settings()
    .unwrap()
    .unwrap();
    assert_eq!(
        s.source,
        DnsSource::Nameservers(vec![
            "192.0.2.53:53".parse().unwrap(),
            "[2001:db8::53]:5353".parse().unwrap()
        ])
    );
    assert_eq!((s.timeout.as_secs(), s.discard, s.anomaly_header), (3, true, false));
    for bad in [
        "[auth]\nauthserv_id = \"mx\"\n",
        "[dns]\n",
        "[dns]\nzone = \"z\"\nnameservers = [\"192.0.2.1\"]\n",
        "[dns]\nnameservers = [\"resolver.example\"]\n",
        "[dns]\nzone = \"z\"\ntimeout = \"2h\"\n",
        "[dns]\nzone = \"z\"\n[auth]\ndmarc_reject = \"reject\"\n",
        "[dns]\nzone = \"z\"\n[auth]\nauthserv_id = \"a b\"\n",
        "[dns]\nzone = \"z\"\nbogus = 1\n",
    ] {
        assert!(parse(bad).is_err(), "{bad}");
    }
    // a zone that cannot be read or parsed: a configuration error, not a panic
    let dir = tempfile::tempdir().unwrap();
    let settings = |p: std::path::PathBuf| AuthSettings {
        source: DnsSource::Zone(p),
        timeout: std::time::Duration::from_secs(1),
        authserv_id: MX.into(),
        discard: false,
        anomaly_header: true,
    };
    assert!(SenderAuth::new(&settings(dir.path().join("missing"))).is_err());
    std::fs::write(dir.path().join("bad"), "x.example BOGUS 1\n").unwrap();
    let err = SenderAuth::new(&settings(dir.path().join("bad"))).unwrap_err();
    assert!(err.to_string().contains("zone line 1"), "{err}");
    // the Received: form pec serve passes, and back
    let c = Client::parse("mail.example.com (mx.example.com [IPv6:2001:db8::1])");
    assert_eq!(c.addr, Some("2001:db8::1".parse().unwrap()));
    assert_eq!(
        (c.helo.as_deref(), c.name.as_deref()),
        (Some("mail.example.com"), Some("mx.example.com"))
    );
    assert_eq!(c.describe().unwrap(), "mail.example.com (mx.example.com [2001:db8::1])");
    let c = Client::parse("unknown [192.0.2.9]");
    assert_eq!((c.addr, c.helo.as_deref()), (Some("192.0.2.9".parse().unwrap()), None));
    assert_eq!(Client::parse("garbage ((( [x").addr, None);
    // XFORWARD values
    assert_eq!(
        Client::from_xforward(Some("[UNAVAILABLE]"), Some("[UNAVAILABLE]")),
        Client::default()
    );
    assert_eq!(
        Client::from_xforward(Some("192.0.2.1"), None).addr,
        Some("192.0.2.1".parse().unwrap())
    );
}
