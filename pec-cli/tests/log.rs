//! `pec log export|seal|verify|search` (issue 16; docs/LEGAL-LOG.md) on a store holding two
//! past days, sealed by an offline RFC 3161 TSA (`openssl ts -reply` behind a local HTTP
//! responder).

use std::path::Path;
use std::process::{Command, Output};

use chrono::{Duration, Utc};
use pec_engine::legal::LogRecord;
use pec_testkit::env::require_tool;
use pec_testkit::tsa::OfflineTsa;
use serde_json::Value;

fn pec(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pec")).args(args).output().expect("run pec")
}

fn out(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", out(o)))
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

#[test]
fn export_seal_verify_search() {
    if !require_tool("openssl") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let tsa = OfflineTsa::start(&d.join("tsa")).expect("offline TSA");
    let cfg = d.join("pec.toml");
    std::fs::write(
        &cfg,
        format!(
            "name = \"Alpha PEC S.p.A.\"\ndomain = \"pec.alpha.test\"\ntimezone = \"Europe/Rome\"\n\
             [store]\nurl = \"sqlite:state.db\"\n\
             [log]\ndir = \"exports\"\ntsa_url = \"{}\"\ntsa_ca = \"{}\"\nnode = \"mx1\"\n",
            tsa.url,
            s(&tsa.ca_pem)
        ),
    )
    .expect("write config");
    // two past days of records, written as the engine writes them
    let mut store =
        pec_engine::store::open(&format!("sqlite:{}", s(&d.join("state.db")))).expect("store");
    let rome = chrono_tz::Europe::Rome;
    let noon = |days: i64| {
        (Utc::now() - Duration::days(days))
            .with_timezone(&rome)
            .date_naive()
            .and_hms_opt(12, 0, 0)
            .and_then(|t| t.and_local_timezone(rome).single())
            .expect("noon")
            .with_timezone(&Utc)
    };
    let days: Vec<String> =
        [3, 2].iter().map(|n| noon(*n).format("%Y-%m-%d").to_string()).collect();
    for (k, n) in [3i64, 2].iter().enumerate() {
        let at = noon(*n);
        let date = at.with_timezone(&rome).to_rfc3339_opts(chrono::SecondsFormat::Secs, false);
        store
            .write(&mut |tx| {
                for i in 0..4u32 {
                    let mut r = LogRecord {
                        date: date.clone(),
                        event: if i.is_multiple_of(2) { "accettazione" } else { "inoltro" }.into(),
                        point: "access".into(),
                        identifier: Some(format!("id{k}{}@pec.alpha.test", i / 2)),
                        sender: Some("mario@pec.alpha.test".into()),
                        recipients: vec!["luigi@pec.beta.test".into()],
                        msgid: Some(format!("m{k}{}@client.test", i / 2)),
                        ..LogRecord::default()
                    };
                    tx.log("mx1", &mut r, at)?;
                }
                Ok(())
            })
            .expect("append");
    }
    drop(store);
    let c = s(&cfg);

    // seal: default day (yesterday: empty here), then both days, idempotent
    let o = pec(&["log", "seal", "--config", c, "--json"]);
    assert!(o.status.success(), "{}", out(&o));
    for day in &days {
        let o = pec(&["log", "seal", "--config", c, "--day", day, "--json"]);
        assert!(o.status.success(), "{}", out(&o));
        let v = json(&o);
        assert_eq!(v["kind"], "rfc3161");
        assert_eq!(v["records"], 4);
        assert_eq!(v["already"], false);
        let o = pec(&["log", "seal", "--config", c, "--day", day, "--json"]);
        assert_eq!(json(&o)["already"], true);
        assert!(d.join(format!("exports/{day}.tsr")).exists());
    }
    let today = Utc::now().with_timezone(&rome).format("%Y-%m-%d").to_string();
    let o = pec(&["log", "seal", "--config", c, "--day", &today]);
    assert_eq!(o.status.code(), Some(2), "today is not finished: {}", out(&o));

    // export anywhere; openssl accepts it
    let x = d.join("x");
    let o = pec(&["log", "export", "--config", c, "--day", &days[0], "--out", s(&x)]);
    assert!(o.status.success(), "{}", out(&o));
    let jsonl = x.join(format!("{}.jsonl", days[0]));
    let tsr = x.join(format!("{}.tsr", days[0]));
    assert!(String::from_utf8_lossy(&o.stdout).contains(s(&tsr)));
    let v = Command::new("openssl")
        .args(["ts", "-verify", "-data", s(&jsonl), "-in", s(&tsr), "-CAfile", s(&tsa.ca_pem)])
        .output()
        .expect("openssl");
    assert!(v.status.success(), "{}", out(&v));

    // verify the store and the exports
    let ca = s(&tsa.ca_pem);
    let o = pec(&["log", "verify", "--config", c, "--tsa-ca", ca]);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    let o = pec(&["log", "verify", "--config", c, "--day", &days[1], "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    let exports = d.join("exports");
    let o = pec(&["log", "verify", "--export", s(&exports), "--tsa-ca", ca]);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    // one byte of one record changed: exit 1, named
    let f = exports.join(format!("{}.jsonl", days[1]));
    let text = std::fs::read_to_string(&f).expect("read export");
    std::fs::write(&f, text.replacen("id10@", "id1O@", 1)).expect("tamper");
    let o = pec(&["log", "verify", "--export", s(&exports), "--tsa-ca", ca]);
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    assert!(out(&o).contains(&format!("{}.jsonl line 2", days[1])), "{}", out(&o));
    // cannot read: exit 2
    let o = pec(&["log", "verify", "--export", s(&d.join("none")), "--tsa-ca", ca]);
    assert_eq!(o.status.code(), Some(2), "{}", out(&o));
    let o = pec(&["log", "verify", "--export", s(&exports)]);
    assert_eq!(o.status.code(), Some(64), "--export needs --tsa-ca: {}", out(&o));

    // search
    let o =
        pec(&["log", "search", "--config", c, "--identifier", "<id01@pec.alpha.test>", "--json"]);
    assert!(o.status.success(), "{}", out(&o));
    let v = json(&o);
    let events: Vec<&str> =
        v.as_array().expect("array").iter().filter_map(|r| r["event"].as_str()).collect();
    assert_eq!(events, ["accettazione", "inoltro"]);
    let o = pec(&["log", "search", "--config", c, "--msgid", "m10@client.test"]);
    assert!(o.status.success() && out(&o).contains("id10@pec.alpha.test"), "{}", out(&o));
    let o = pec(&["log", "search", "--config", c, "--address", "LUIGI@pec.beta.test", "--json"]);
    assert_eq!(json(&o).as_array().map(Vec::len), Some(8));
    let o = pec(&["log", "search", "--config", c, "--address", "nobody@x.test"]);
    assert_eq!(o.status.code(), Some(1));
    let o = pec(&["log", "search", "--config", c]);
    assert_eq!(o.status.code(), Some(64));
}

/// Without `tsa_url` and without `[signing]` nothing can seal: exit 2, said.
#[test]
fn seal_without_tsa_or_signer_fails() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("pec.toml");
    std::fs::write(&cfg, "name = \"A\"\ndomain = \"pec.a.test\"\n[store]\nurl = \"sqlite:s.db\"\n")
        .expect("write");
    let o = pec(&["log", "seal", "--config", s(&cfg)]);
    assert_eq!(o.status.code(), Some(2), "{}", out(&o));
    assert!(out(&o).contains("tsa_url"), "{}", out(&o));
}

fn run(cmd: &mut Command) -> Output {
    let o = cmd.output().expect("run");
    assert!(o.status.success(), "{cmd:?}: {}", out(&o));
    o
}

/// Encryption at rest of sealed exports (issue 19 part 3; MAILSEC.md §3, §4): with
/// `[atrest]` (two certificates of the test PKI: archive and auditor), sealing a day leaves
/// `DAY.jsonl.p7m` and `DAY.tsr` and no plaintext; `openssl cms -decrypt` opens it for each
/// recipient to bytes that `openssl ts -verify` accepts against the TSA's CA; `pec decrypt`
/// gives the same bytes, as does `pec log export --out -` from the store; `pec log verify
/// --export --key` reads the encrypted directory.
#[test]
fn sealed_exports_are_encrypted_at_rest() {
    if !require_tool("openssl") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let tsa = OfflineTsa::start(&d.join("tsa")).expect("offline TSA");
    let scenario = pec_testkit::TwoProviders::generate(30).expect("test PKI");
    scenario.write_files(d).expect("PKI files");
    // archive = a.pem/a.key, auditor = b.pem/b.key
    let cfg = d.join("pec.toml");
    std::fs::write(
        &cfg,
        format!(
            "name = \"Alpha PEC S.p.A.\"\ndomain = \"pec.alpha.test\"\ntimezone = \"Europe/Rome\"\n\
             [store]\nurl = \"sqlite:state.db\"\n\
             [log]\ndir = \"exports\"\ntsa_url = \"{}\"\ntsa_ca = \"{}\"\nnode = \"mx1\"\n\
             [atrest]\nrecipients = [\"a.pem\", \"b.pem\"]\n",
            tsa.url,
            s(&tsa.ca_pem)
        ),
    )
    .expect("write config");
    let rome = chrono_tz::Europe::Rome;
    let at = (Utc::now() - Duration::days(2))
        .with_timezone(&rome)
        .date_naive()
        .and_hms_opt(12, 0, 0)
        .and_then(|t| t.and_local_timezone(rome).single())
        .expect("noon")
        .with_timezone(&Utc);
    let day = at.with_timezone(&rome).format("%Y-%m-%d").to_string();
    let mut store =
        pec_engine::store::open(&format!("sqlite:{}", s(&d.join("state.db")))).expect("store");
    store
        .write(&mut |tx| {
            for i in 0..3u32 {
                let mut r = LogRecord {
                    date: at
                        .with_timezone(&rome)
                        .to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
                    event: "accettazione".into(),
                    point: "access".into(),
                    identifier: Some(format!("id{i}@pec.alpha.test")),
                    sender: Some("mario@pec.alpha.test".into()),
                    recipients: vec!["luigi@pec.beta.test".into()],
                    ..LogRecord::default()
                };
                tx.log("mx1", &mut r, at)?;
            }
            Ok(())
        })
        .expect("append");
    drop(store);
    let c = s(&cfg);
    let exports = d.join("exports");
    // a plaintext export left from before [atrest] is removed when the day is written
    std::fs::create_dir_all(&exports).expect("mkdir");
    std::fs::write(exports.join(format!("{day}.jsonl")), "old plaintext\n").expect("write");

    let o = pec(&["log", "seal", "--config", c, "--day", &day, "--json"]);
    assert!(o.status.success(), "{}", out(&o));
    let v = json(&o);
    let p7m = exports.join(format!("{day}.jsonl.p7m"));
    let tsr = exports.join(format!("{day}.tsr"));
    assert_eq!(v["files"], serde_json::json!([s(&p7m), s(&tsr)]));
    let mut names: Vec<String> = std::fs::read_dir(&exports)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().to_string())
        .collect();
    names.sort();
    assert_eq!(names, [format!("{day}.jsonl.p7m"), format!("{day}.tsr")], "no plaintext left");

    // the plaintext, from the store
    let o = pec(&["log", "export", "--config", c, "--day", &day, "--out", "-"]);
    assert!(o.status.success(), "{}", out(&o));
    let plain = o.stdout;
    assert_eq!(plain.split(|b| *b == b'\n').filter(|l| !l.is_empty()).count(), 3);
    assert_eq!(
        pec_engine::legal::sha256_hex(&plain),
        v["sha256"].as_str().expect("sha256"),
        "the seal covers the plaintext"
    );
    let sealed = std::fs::read(&p7m).expect("read p7m");
    assert!(!sealed.windows(16).any(|w| w == &plain[..16]), "encrypted");

    // each recipient: openssl cms -decrypt, then openssl ts -verify on what it returns
    for tag in ["a", "b"] {
        let dec = d.join(format!("dec-{tag}.jsonl"));
        run(Command::new("openssl")
            .args(["cms", "-decrypt", "-binary", "-inform", "DER", "-in", s(&p7m)])
            .args(["-recip", s(&d.join(format!("{tag}.pem")))])
            .args(["-inkey", s(&d.join(format!("{tag}.key"))), "-out", s(&dec)]));
        assert_eq!(std::fs::read(&dec).expect("read"), plain, "recipient {tag}");
        let v = run(Command::new("openssl").args([
            "ts",
            "-verify",
            "-data",
            s(&dec),
            "-in",
            s(&tsr),
            "-CAfile",
            s(&tsa.ca_pem),
        ]));
        assert!(String::from_utf8_lossy(&v.stdout).contains("Verification: OK"), "{}", out(&v));
        let o = pec(&["decrypt", "--key", s(&d.join(format!("{tag}.key"))), s(&p7m)]);
        assert!(o.status.success(), "{}", out(&o));
        assert_eq!(o.stdout, plain, "pec decrypt, recipient {tag}");
    }
    // the cms structure: OAEP and AES-256-CBC
    let o = run(Command::new("openssl").args([
        "cms",
        "-cmsout",
        "-print",
        "-inform",
        "DER",
        "-in",
        s(&p7m),
    ]));
    let printed = String::from_utf8_lossy(&o.stdout);
    assert!(printed.contains("rsaesOaep") && printed.contains("aes-256-cbc"), "{printed}");

    // verify the encrypted directory with a recipient's key; without one it cannot read
    let ca = s(&tsa.ca_pem);
    let key_path = d.join("b.key");
    let key = s(&key_path);
    let o = pec(&["log", "verify", "--export", s(&exports), "--tsa-ca", ca, "--key", key]);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    let o = pec(&["log", "verify", "--export", s(&exports), "--tsa-ca", ca]);
    assert_eq!(o.status.code(), Some(2), "{}", out(&o));
    assert!(out(&o).contains("encrypted at rest"), "{}", out(&o));
    let stranger = d.join("stranger.key");
    std::fs::write(&stranger, scenario.pki.ca.key_pem()).expect("write");
    let o = pec(&["log", "verify", "--export", s(&exports), "--tsa-ca", ca, "--key", s(&stranger)]);
    assert_eq!(o.status.code(), Some(2), "a key that is no recipient: {}", out(&o));

    // sealing again and exporting to a directory also write only the encrypted file
    let o = pec(&["log", "seal", "--config", c, "--day", &day, "--json"]);
    assert_eq!(json(&o)["already"], true, "{}", out(&o));
    let x = d.join("x");
    let o = pec(&["log", "export", "--config", c, "--day", &day, "--out", s(&x)]);
    assert!(o.status.success(), "{}", out(&o));
    assert!(x.join(format!("{day}.jsonl.p7m")).exists() && x.join(format!("{day}.tsr")).exists());
    assert!(
        !x.join(format!("{day}.jsonl")).exists() && !exports.join(format!("{day}.jsonl")).exists()
    );
    let o = pec(&["decrypt", "--key", s(&d.join("a.key")), s(&x.join(format!("{day}.jsonl.p7m")))]);
    assert_eq!(o.stdout, plain);

    // a configuration naming a missing recipient is refused, naming it
    let bad = d.join("bad.toml");
    let text = std::fs::read_to_string(&cfg).expect("read").replace("b.pem", "missing.pem");
    std::fs::write(&bad, text).expect("write");
    let o = pec(&["log", "seal", "--config", s(&bad), "--day", &day]);
    assert_eq!(o.status.code(), Some(2), "{}", out(&o));
    assert!(out(&o).contains("missing.pem"), "{}", out(&o));
}
