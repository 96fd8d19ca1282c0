//! The `pec` command's contract: flags, exit codes and JSON keys that tests outside the
//! project rely on.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use chrono::Utc;
use pec_testkit::{TwoProviders, interop_file as interop, require_tool};
use serde_json::Value;

fn pec() -> Command {
    Command::new(env!("CARGO_BIN_EXE_pec"))
}

fn run(args: &[&str]) -> Output {
    pec().args(args).output().expect("run pec")
}

fn run_stdin(args: &[&str], input: &[u8]) -> Output {
    use std::io::Write;
    let mut child = pec()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn pec");
    // a command that fails early (a usage error) may exit before reading: a broken pipe is
    // its answer, not a test failure
    match child.stdin.take().unwrap().write_all(input) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        r => r.unwrap(),
    }
    child.wait_with_output().unwrap()
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    })
}

/// A temporary directory with a generated PKI, provider files and an original message.
struct Fixture {
    dir: PathBuf,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("pec-cli-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let world = TwoProviders::generate(30).unwrap();
        // root.pem, chain.pem, a/b .key .pem .toml, crl.pem, root-crl.pem, index.ldif
        world.write_files(&dir).unwrap();
        let w = |name: &str, data: &[u8]| std::fs::write(dir.join(name), data).unwrap();
        let ldif = world.ldif();
        // the same index, signed (.p7m, DER)
        let signer = world.signer(0).unwrap();
        let p7m = pec_core::smime::sign_attached(ldif.as_bytes(), &signer, Utc::now()).unwrap();
        w("index.ldif.p7m", &p7m);
        let mut tampered = p7m.clone();
        let pos = tampered.windows(12).position(|x| x == b"mailReceipt:").unwrap();
        tampered[pos + 14] ^= 1;
        w("tampered.ldif.p7m", &tampered);
        w(
            "original.eml",
            b"From: Mario Rossi <mario.rossi@pec.example.it>\r\nTo: ufficio@pec.other.it\r\nCc: info@example.com\r\nSubject: Richiesta \xc3\xa8 urgente\r\nDate: Wed, 25 Nov 2026 10:00:00 +0100\r\nMessage-ID: <cli-1@client.example.it>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nBuongiorno.\r\n",
        );
        Fixture { dir }
    })
}

impl Fixture {
    fn p(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }

    fn sign_a(&self) -> Vec<String> {
        vec![
            "--key".into(),
            self.p("a.key"),
            "--cert".into(),
            self.p("a.pem"),
            "--chain".into(),
            self.p("chain.pem"),
        ]
    }

    fn sign_b(&self) -> Vec<String> {
        vec![
            "--key".into(),
            self.p("b.key"),
            "--cert".into(),
            self.p("b.pem"),
            "--chain".into(),
            self.p("chain.pem"),
        ]
    }

    fn build(&self, args: &[String]) -> Vec<u8> {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = run(&refs);
        assert_eq!(code(&o), 0, "pec {}: {}", args.join(" "), String::from_utf8_lossy(&o.stderr));
        o.stdout
    }

    /// An acceptance of `original.eml`, signed by provider A.
    fn signed_acceptance(&self) -> Vec<u8> {
        let mut a: Vec<String> = [
            "build",
            "accettazione",
            "--provider",
            &self.p("a.toml"),
            "--original",
            &self.p("original.eml"),
        ]
        .iter()
        .map(|x| x.to_string())
        .collect();
        a.extend(self.sign_a());
        self.build(&a)
    }

    fn write(&self, name: &str, data: &[u8]) -> String {
        std::fs::write(self.dir.join(name), data).unwrap();
        self.p(name)
    }
}

#[test]
fn inspect_json_contract() {
    let Some(path) = interop("OCA-l10n-italy/CONSEGNA__IT03339130126_00009.xml.txt") else {
        return;
    };
    let o = run(&["inspect", "--json", path.to_str().unwrap()]);
    assert_eq!(code(&o), 0);
    let v = json(&o);
    for key in [
        "kind",
        "receipt_type",
        "security_error",
        "message_id",
        "identificativo",
        "msgid",
        "subject",
        "signed",
        "daticert",
        "original",
        "hash_parts",
    ] {
        assert!(v.get(key).is_some(), "missing key {key}");
    }
    assert_eq!(v["kind"], "avvenuta-consegna");
    assert_eq!(v["signed"], true);
    assert_eq!(v["identificativo"], "opec288.20181113163926.01838.310.1.63@pec.aruba.it");
    let d = &v["daticert"];
    for key in [
        "tipo",
        "errore",
        "mittente",
        "destinatari",
        "risposte",
        "oggetto",
        "gestore_emittente",
        "data",
        "identificativo",
        "msgid",
        "ricevuta",
        "consegna",
        "ricezione",
        "errore_esteso",
    ] {
        assert!(d.get(key).is_some(), "missing daticert key {key}");
    }
    assert_eq!(d["destinatari"][0]["address"], "l.battistini@pec.it");
    assert_eq!(d["destinatari"][0]["tipo"], "certificato");
    assert_eq!(d["data"]["zona"], "+0100");
    assert!(v["original"]["size"].as_u64().unwrap() > 0);
    assert_eq!(v["original"]["sha256"].as_str().unwrap().len(), 64);
}

#[test]
fn inspect_ordinary_mail_and_errors() {
    let f = fixture();
    let o = run(&["inspect", "--json", &f.p("original.eml")]);
    assert_eq!(code(&o), 0);
    assert_eq!(json(&o)["kind"], Value::Null);
    // unreadable input: exit 2 and a JSON error on stderr
    let o = run(&["inspect", "--json", &f.p("does-not-exist.eml")]);
    assert_eq!(code(&o), 2);
    let e: Value = serde_json::from_slice(&o.stderr).unwrap();
    assert!(e["error"]["code"].is_number());
    assert!(e["error"]["message"].is_string());
    let garbage = f.write("garbage.bin", &[0u8, 1, 2, 3, 255, 0, 0]);
    let o = run(&["inspect", "--json", &garbage]);
    assert_eq!(code(&o), 2);
    let e: Value = serde_json::from_slice(&o.stderr).unwrap();
    assert!(e["error"]["code"].is_number());
}

#[test]
fn build_every_kind_and_verify() {
    let f = fixture();
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<String>>();
    let t = "2026-11-25T10:00:05+01:00";
    let mut args = s(&["build", "posta-certificata", "--provider", &f.p("a.toml"), "--time", t]);
    args.extend(s(&["--original", &f.p("original.eml"), "--id", "pec.cli.1@pec.example.it"]));
    args.extend(f.sign_a());
    let envelope = f.build(&args);
    let env_path = f.write("envelope.eml", &envelope);

    let mut built = vec![("posta-certificata".to_string(), env_path.clone())];
    let access = [
        ("accettazione", vec![]),
        ("non-accettazione", vec!["--error-text", "destinatario non valido"]),
    ];
    for (kind, extra) in access {
        let mut a = s(&[
            "build",
            kind,
            "--provider",
            &f.p("a.toml"),
            "--time",
            t,
            "--original",
            &f.p("original.eml"),
        ]);
        a.extend(s(&extra));
        a.extend(s(&["--id", "pec.cli.1@pec.example.it"]));
        a.extend(f.sign_a());
        let out = f.build(&a);
        built.push((kind.to_string(), f.write(&format!("{kind}.eml"), &out)));
    }
    let downstream: Vec<(&str, Vec<&str>)> = vec![
        ("presa-in-carico", vec!["--recipient", "ufficio@pec.other.it"]),
        ("avvenuta-consegna", vec!["--recipient", "ufficio@pec.other.it"]),
        (
            "errore-consegna",
            vec![
                "--recipient",
                "ufficio@pec.other.it",
                "--error",
                "no-dest",
                "--error-text",
                "5.1.1 utente inesistente",
            ],
        ),
        (
            "preavviso-errore-consegna",
            vec!["--recipient", "ufficio@pec.other.it", "--timeout", "12h"],
        ),
        ("rilevazione-virus", vec!["--recipient", "ufficio@pec.other.it"]),
        ("errore", vec!["--recipient", "ufficio@pec.other.it"]),
    ];
    for (kind, extra) in downstream {
        // the timeout notice is the sender's provider's (spec digest §3.1 #9, §9.3)
        let sender_side = kind == "preavviso-errore-consegna";
        let provider = f.p(if sender_side { "a.toml" } else { "b.toml" });
        let mut a =
            s(&["build", kind, "--provider", &provider, "--time", t, "--envelope", &env_path]);
        a.extend(s(&extra));
        a.extend(if sender_side { f.sign_a() } else { f.sign_b() });
        let out = f.build(&a);
        built.push((kind.to_string(), f.write(&format!("{kind}.eml"), &out)));
    }
    for (kind, path) in &built {
        let o = run(&["inspect", "--json", path]);
        assert_eq!(code(&o), 0, "{kind}");
        let v = json(&o);
        assert_eq!(v["kind"], kind.as_str(), "{kind}");
        assert_eq!(v["signed"], true, "{kind}");
        if kind != "errore" {
            assert_eq!(v["identificativo"], "pec.cli.1@pec.example.it", "{kind}");
            assert_eq!(v["msgid"], "<cli-1@client.example.it>", "{kind}");
            assert_eq!(v["subject"], "Richiesta è urgente", "{kind}");
        }
        // verification with the trust anchor, the CRL and the index
        let o = run(&[
            "verify",
            "--json",
            path,
            "--ca-file",
            &f.p("root.pem"),
            "--crl",
            &f.p("crl.pem"),
            "--crl",
            &f.p("root-crl.pem"),
            "--index",
            &f.p("index.ldif"),
        ]);
        let r = json(&o);
        for key in [
            "verdict",
            "reasons",
            "digest",
            "weak_digest",
            "signing_time",
            "signer",
            "chain",
            "revocation",
            "provider",
        ] {
            assert!(r.get(key).is_some(), "{kind}: missing report key {key}");
        }
        assert_eq!(r["digest"], "sha256", "{kind}");
        assert_eq!(r["weak_digest"], false, "{kind}");
        assert!(r["signer"]["sha1"].as_str().unwrap().len() == 40, "{kind}");
        assert_eq!(code(&o), 0, "{kind}: {r}");
        assert_eq!(r["verdict"], "valid", "{kind}");
        assert_eq!(r["revocation"], "good", "{kind}");
        if require_tool("openssl") {
            let o = Command::new("openssl")
                .args([
                    "cms",
                    "-verify",
                    "-in",
                    path,
                    "-CAfile",
                    &f.p("root.pem"),
                    "-out",
                    "/dev/null",
                ])
                .output()
                .unwrap();
            assert!(o.status.success(), "{kind}: openssl: {}", String::from_utf8_lossy(&o.stderr));
        }
    }
}

#[test]
fn verify_exit_codes() {
    let f = fixture();
    let mut a: Vec<String> =
        ["build", "accettazione", "--provider", &f.p("a.toml"), "--original", &f.p("original.eml")]
            .iter()
            .map(|x| x.to_string())
            .collect();
    a.extend(f.sign_a());
    let good = f.build(&a);
    // tampered body: exit 1, content-mismatch
    let mut bad = good.clone();
    let pos = bad.windows(11).position(|w| w == b"Buongiorno.").unwrap_or(bad.len() / 2);
    bad[pos] ^= 0x20;
    let p = f.write("tampered.eml", &bad);
    let o = run(&["verify", "--json", &p, "--ca-file", &f.p("root.pem")]);
    assert_eq!(code(&o), 1);
    let r = json(&o);
    assert_eq!(r["verdict"], "invalid");
    // untrusted: no anchors
    let p = f.write("good.eml", &good);
    let o = run(&["verify", "--json", &p]);
    assert_eq!(code(&o), 1);
    assert!(json(&o)["reasons"].as_array().unwrap().iter().any(|x| x == "untrusted-chain"));
    // not signed
    let o = run(&["verify", "--json", &f.p("original.eml")]);
    assert_eq!(code(&o), 1);
    assert_eq!(json(&o)["reasons"][0], "no-signature");
    // unreadable
    let o = run(&["verify", "--json", &f.p("nope.eml")]);
    assert_eq!(code(&o), 2);
}

/// `--ca-file` takes a DER certificate as well as a PEM bundle (the core's
/// `pec_core::open`); a file that holds no certificate is an error, not an empty trust store.
#[test]
fn verify_ca_file_pem_or_der() {
    let f = fixture();
    let msg = f.write("ca-der.eml", &f.signed_acceptance());
    let pem = std::fs::read(f.p("root.pem")).unwrap();
    let der = pec_core::chain::parse_certificates(&pem).unwrap().remove(0);
    let der_file = f.write("root.der", &der);
    for ca in [f.p("root.pem"), der_file] {
        let o = run(&["verify", "--json", &msg, "--ca-file", &ca]);
        assert_eq!(code(&o), 0, "{ca}: {}", String::from_utf8_lossy(&o.stdout));
        assert_eq!(json(&o)["verdict"], "valid");
    }
    let empty = f.write("empty.pem", b"");
    let o = run(&["verify", "--json", &msg, "--ca-file", &empty]);
    assert_eq!(code(&o), 2);
    let e: Value = serde_json::from_slice(&o.stderr).unwrap();
    assert_eq!(e["error"]["code"], 405, "{e}");
}

#[test]
fn sign_command_round_trip() {
    let f = fixture();
    let mut a: Vec<String> =
        ["build", "avvenuta-consegna", "--provider", &f.p("b.toml"), "--envelope"]
            .iter()
            .map(|x| x.to_string())
            .collect();
    let mut e: Vec<String> = [
        "build",
        "posta-certificata",
        "--provider",
        &f.p("a.toml"),
        "--original",
        &f.p("original.eml"),
    ]
    .iter()
    .map(|x| x.to_string())
    .collect();
    e.extend(f.sign_a());
    let env = f.build(&e);
    a.push(f.write("env2.eml", &env));
    a.extend(["--recipient".to_string(), "ufficio@pec.other.it".to_string()]);
    let unsigned = f.build(&a);
    assert!(!String::from_utf8_lossy(&unsigned).contains("smime.p7s"));
    let args = f.sign_b();
    let mut refs = vec!["sign"];
    refs.extend(args.iter().map(String::as_str));
    let o = run_stdin(&refs, &unsigned);
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    let p = f.write("signed.eml", &o.stdout);
    let o = run(&["verify", "--json", &p, "--ca-file", &f.p("root.pem")]);
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stdout));
}

#[test]
fn build_errors_exit_2() {
    let f = fixture();
    // unknown kind: a usage error since the kinds are a closed set (issue 14: was 2)
    let o = run(&[
        "build",
        "mancata-consegna",
        "--provider",
        &f.p("a.toml"),
        "--original",
        &f.p("original.eml"),
    ]);
    assert_eq!(code(&o), 64);
    assert!(o.stdout.is_empty());
    // missing input
    let o = run(&["build", "avvenuta-consegna", "--provider", &f.p("a.toml")]);
    assert_eq!(code(&o), 2);
    assert!(o.stdout.is_empty());
    // a key that does not match its certificate: nothing on stdout
    let o = run(&[
        "build",
        "posta-certificata",
        "--provider",
        &f.p("a.toml"),
        "--original",
        &f.p("original.eml"),
        "--key",
        &f.p("a.key"),
        "--cert",
        &f.p("b.pem"),
    ]);
    assert_eq!(code(&o), 2, "a key that does not match its certificate");
    assert!(o.stdout.is_empty());
    // PKCS#11: a module that does not exist
    let o = run(&[
        "build",
        "accettazione",
        "--provider",
        &f.p("a.toml"),
        "--original",
        &f.p("original.eml"),
        "--pkcs11-uri",
        "pkcs11:token=none;object=key",
        "--pkcs11-module",
        "/nonexistent/libpkcs11.so",
        "--pin-source",
        "env:PEC_TEST_PIN",
        "--cert",
        &f.p("a.pem"),
    ]);
    assert_eq!(code(&o), 2);
    assert!(o.stdout.is_empty());
    // a PIN on the command line is refused
    let o = run(&[
        "sign",
        "--pkcs11-uri",
        "pkcs11:token=t;object=k?pin-value=1234",
        "--pkcs11-module",
        "/x.so",
    ]);
    assert_eq!(code(&o), 2);
}

#[test]
fn index_lookup_contract() {
    let f = fixture();
    let o = run(&[
        "index",
        "lookup",
        "--json",
        "--ldif",
        &f.p("index.ldif"),
        "--domain",
        "PEC.Other.IT",
    ]);
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    let v = json(&o);
    for key in ["name", "mail_receipt", "managed_domains", "cert_hashes", "unit"] {
        assert!(v.get(key).is_some(), "missing key {key}");
    }
    assert_eq!(v["name"], "Other PEC S.r.l.");
    assert_eq!(v["mail_receipt"], "ricevute@pec.other.it");
    let hash = v["cert_hashes"][0].as_str().unwrap().to_uppercase();
    let o = run(&["index", "lookup", "--json", "--ldif", &f.p("index.ldif"), "--cert-hash", &hash]);
    assert_eq!(code(&o), 0);
    let o = run(&["index", "lookup", "--ldif", &f.p("index.ldif"), "--cert", &f.p("a.pem")]);
    assert_eq!(code(&o), 0);
    let o = run(&["index", "lookup", "--ldif", &f.p("index.ldif"), "--name", "example pec s.p.a."]);
    assert_eq!(code(&o), 0);
    let o = run(&["index", "lookup", "--ldif", &f.p("index.ldif"), "--domain", "gmail.com"]);
    assert_eq!(code(&o), 1);
    let o = run(&["index", "lookup", "--ldif", &f.p("nope.ldif"), "--domain", "x.it"]);
    assert_eq!(code(&o), 2);
    let bad = f.write(
        "bad.ldif",
        b"dn: providerName=x,o=postacert\nobjectClass: provider\nthis line is broken\n",
    );
    let o = run(&["index", "lookup", "--ldif", &bad, "--domain", "x.it"]);
    assert_eq!(code(&o), 2);
    // a server that is not there: a typed error, exit 2, quickly
    let t = std::time::Instant::now();
    let o = run(&["index", "lookup", "--ldap", "ldap://127.0.0.1:1", "--domain", "x.it"]);
    assert_eq!(code(&o), 2);
    assert!(t.elapsed() < std::time::Duration::from_secs(20));
}

#[test]
fn signed_index() {
    let f = fixture();
    let ok = run(&[
        "index",
        "lookup",
        "--json",
        "--ldif",
        &f.p("index.ldif.p7m"),
        "--ca-file",
        &f.p("root.pem"),
        "--index-signer",
        &f.p("a.pem"),
        "--domain",
        "pec.example.it",
    ]);
    assert_eq!(code(&ok), 0, "{}", String::from_utf8_lossy(&ok.stderr));
    assert_eq!(json(&ok)["name"], "Example PEC S.p.A.");
    // no trust anchors: refused
    let o =
        run(&["index", "lookup", "--ldif", &f.p("index.ldif.p7m"), "--domain", "pec.example.it"]);
    assert_eq!(code(&o), 2);
    // tampered: refused with the index-signature code
    let o = run(&[
        "index",
        "lookup",
        "--ldif",
        &f.p("tampered.ldif.p7m"),
        "--ca-file",
        &f.p("root.pem"),
        "--index-signer",
        &f.p("a.pem"),
        "--domain",
        "pec.example.it",
    ]);
    assert_eq!(code(&o), 2);
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("604"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// Finding 5 of issue 12: the `.p7m` index is signed by provider A, whose certificate chains
/// to the trust anchors like every provider's; only a caller-named index signer is accepted.
#[test]
fn signed_index_needs_a_named_signer() {
    let f = fixture();
    let lookup = |extra: &[&str]| {
        let mut a = vec!["index", "lookup", "--json", "--ldif"];
        let p7m = f.p("index.ldif.p7m");
        let root = f.p("root.pem");
        a.extend([p7m.as_str(), "--ca-file", root.as_str(), "--domain", "pec.example.it"]);
        a.extend(extra);
        run(&a)
    };
    // no index signer named: refused with exit 2 and the index-signature code, although the
    // signature chains to the trust anchors
    let o = lookup(&[]);
    assert_eq!(code(&o), 2, "{}", String::from_utf8_lossy(&o.stdout));
    let e: Value = serde_json::from_slice(&o.stderr).unwrap();
    assert_eq!(e["error"]["code"], 604, "{e}");
    assert!(e["error"]["message"].as_str().unwrap().contains("index signer"), "{e}");
    // another provider named as index signer (PEM): refused
    let o = lookup(&["--index-signer", &f.p("b.pem")]);
    assert_eq!(code(&o), 2);
    let e: Value = serde_json::from_slice(&o.stderr).unwrap();
    assert_eq!(e["error"]["code"], 604, "{e}");
    assert!(e["error"]["message"].as_str().unwrap().contains("not a named index signer"), "{e}");
    // the signer named, as DER, next to another one: loads
    let der = pec_core::chain::parse_certificates(&std::fs::read(f.p("a.pem")).unwrap())
        .unwrap()
        .remove(0);
    let a_der = f.write("a.der", &der);
    let o = lookup(&["--index-signer", &f.p("b.pem"), "--index-signer", &a_der]);
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(json(&o)["name"], "Example PEC S.p.A.");
    // a signer file that holds no certificate: exit 2
    let o = lookup(&["--index-signer", &f.p("index.ldif")]);
    assert_eq!(code(&o), 2);

    // pec verify: the same rule for --index
    let mut a: Vec<String> =
        ["build", "accettazione", "--provider", &f.p("a.toml"), "--original", &f.p("original.eml")]
            .iter()
            .map(|x| x.to_string())
            .collect();
    a.extend(f.sign_a());
    let msg = f.write("signed-index-msg.eml", &f.build(&a));
    let verify = |extra: &[&str]| {
        let root = f.p("root.pem");
        let p7m = f.p("index.ldif.p7m");
        let mut a = vec!["verify", "--json", msg.as_str(), "--ca-file", root.as_str()];
        a.extend(["--index", p7m.as_str()]);
        a.extend(extra);
        run(&a)
    };
    let o = verify(&[]);
    assert_eq!(code(&o), 2, "{}", String::from_utf8_lossy(&o.stdout));
    let e: Value = serde_json::from_slice(&o.stderr).unwrap();
    assert_eq!(e["error"]["code"], 604, "{e}");
    let o = verify(&["--index-signer", &f.p("b.pem")]);
    assert_eq!(code(&o), 2);
    let o = verify(&["--index-signer", &f.p("a.pem")]);
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stdout));
    let r = json(&o);
    assert_eq!(r["verdict"], "valid");
    assert_eq!(r["provider"]["name"], "Example PEC S.p.A.");
}

/// Issue 12: `time_source`, `signed_scope`, `weaknesses` in `verify --json`; `signed_scope`
/// and `header_kind` in `inspect --json`.
#[test]
fn report_and_inspect_new_keys() {
    let f = fixture();
    let mut a: Vec<String> =
        ["build", "accettazione", "--provider", &f.p("a.toml"), "--original", &f.p("original.eml")]
            .iter()
            .map(|x| x.to_string())
            .collect();
    a.extend(f.sign_a());
    let msg = f.write("new-keys.eml", &f.build(&a));
    let verify = |extra: &[&str]| {
        let root = f.p("root.pem");
        let mut a = vec!["verify", "--json", msg.as_str(), "--ca-file", root.as_str()];
        a.extend(extra);
        json(&run(&a))
    };
    let r = verify(&[]);
    assert_eq!(r["verdict"], "valid", "{r}");
    assert_eq!(r["time_source"], "now");
    assert_eq!(r["signed_scope"], "whole");
    assert_eq!(r["weaknesses"], serde_json::json!([]));
    let r = verify(&["--at", &chrono::Utc::now().to_rfc3339()]);
    assert_eq!(r["time_source"], "given", "{r}");
    let r = verify(&["--at-signing-time"]);
    assert_eq!(r["time_source"], "signing-time-claimed", "{r}");
    // ordinary mail: no signature, so no scope
    let r = json(&run(&["verify", "--json", &f.p("original.eml")]));
    assert_eq!(r["signed_scope"], Value::Null);
    assert_eq!(r["time_source"], "now");
    assert!(r["weaknesses"].is_array());

    let v = json(&run(&["inspect", "--json", &msg]));
    assert_eq!(v["signed_scope"], "whole");
    assert_eq!(v["header_kind"], "accettazione");
    let v = json(&run(&["inspect", "--json", &f.p("original.eml")]));
    assert_eq!(v["signed_scope"], Value::Null);
    assert_eq!(v["header_kind"], Value::Null);

    // a real (SHA-1) receipt: weaknesses is a list (it names sha1-digest once the CMS
    // checks report it)
    if let Some(path) = interop("OCA-l10n-italy/CONSEGNA__IT03339130126_00009.xml.txt") {
        let r = json(&run(&["verify", "--json", path.to_str().unwrap(), "--at-signing-time"]));
        assert!(r["weaknesses"].is_array(), "{r}");
        assert_eq!(r["signed_scope"], "whole");
        assert_eq!(r["time_source"], "signing-time-claimed");
        let v = json(&run(&["inspect", "--json", path.to_str().unwrap()]));
        assert_eq!(v["header_kind"], "avvenuta-consegna");
        assert_eq!(v["signed_scope"], "whole");
    }
}

/// A good (valid with root.pem) and a tampered acceptance, written once.
fn verify_inputs() -> &'static (String, String) {
    static P: OnceLock<(String, String)> = OnceLock::new();
    P.get_or_init(|| {
        let f = fixture();
        let mut a: Vec<String> = [
            "build",
            "accettazione",
            "--provider",
            &f.p("a.toml"),
            "--original",
            &f.p("original.eml"),
        ]
        .iter()
        .map(|x| x.to_string())
        .collect();
        a.extend(f.sign_a());
        let good = f.build(&a);
        let mut bad = good.clone();
        let pos = bad.windows(11).position(|w| w == b"Buongiorno.").unwrap_or(bad.len() / 2);
        bad[pos] ^= 0x20;
        (f.write("many-good.eml", &good), f.write("many-bad.eml", &bad))
    })
}

fn lines(o: &Output) -> Vec<Value> {
    String::from_utf8(o.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not one JSON line ({e}): {l}")))
        .collect()
}

#[test]
fn verify_many_files_worst_verdict() {
    let f = fixture();
    let (good, bad) = verify_inputs();
    let root = f.p("root.pem");
    // one file: today's output exactly (pretty JSON, no `file` key)
    let o = run(&["verify", "--json", good, "--ca-file", &root]);
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stdout));
    assert!(String::from_utf8_lossy(&o.stdout).starts_with("{\n  \""));
    assert!(json(&o).get("file").is_none());
    // all valid: 0, one line each, in order
    let o = run(&["verify", "--json", good, good, "--ca-file", &root]);
    assert_eq!(code(&o), 0);
    let v = lines(&o);
    assert_eq!(v.len(), 2);
    assert!(v.iter().all(|x| x["verdict"] == "valid" && x["file"] == good.as_str()));
    // one invalid: 1
    let o = run(&["verify", "--json", good, bad, "--ca-file", &root]);
    assert_eq!(code(&o), 1);
    let v = lines(&o);
    assert_eq!(
        (v[0]["verdict"].as_str(), v[1]["verdict"].as_str()),
        (Some("valid"), Some("invalid"))
    );
    // an unreadable file in the middle does not stop the others: 2, its line carries the error
    let missing = f.p("many-missing.eml");
    let o = run(&["verify", "--json", bad, &missing, good, "--ca-file", &root]);
    assert_eq!(code(&o), 2);
    let v = lines(&o);
    assert_eq!(v.len(), 3);
    assert_eq!(v[0]["verdict"], "invalid");
    assert_eq!(v[1]["file"], missing.as_str());
    assert!(v[1]["error"]["code"].is_number(), "{}", v[1]);
    assert!(v[1].get("verdict").is_none());
    assert_eq!(v[2]["verdict"], "valid");
    assert_eq!(v[2]["file"], good.as_str());
    // garbage is a report (no-signature), not an error
    let o = run(&["verify", "--json", good, &f.p("original.eml"), "--ca-file", &root]);
    assert_eq!(code(&o), 1);
    assert_eq!(lines(&o)[1]["reasons"][0], "no-signature");
    // text: a `file:` line opens each report; the error names the file on stderr
    let o = run(&["verify", good, &missing, "--ca-file", &root]);
    assert_eq!(code(&o), 2);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.starts_with(&format!("file:        {good}\nverdict:     valid\n")), "{out}");
    assert!(String::from_utf8_lossy(&o.stderr).contains("many-missing.eml"));
    // standard input at most once
    let o = run(&["verify", "-", "-"]);
    assert_eq!(code(&o), 64);
}

#[test]
fn usage_errors_exit_64() {
    let f = fixture();
    let (good, _) = verify_inputs();
    let prov = f.p("a.toml");
    let orig = f.p("original.eml");
    let base = ["build", "preavviso-errore-consegna", "--provider", &prov, "--original", &orig];
    let with = |extra: &[&str]| {
        let mut v = base.to_vec();
        v.extend_from_slice(extra);
        run(&v)
    };
    for (what, o) in [
        ("no subcommand", run(&[])),
        ("unknown subcommand", run(&["frobnicate"])),
        ("unknown option", run(&["inspect", "--jsn", &orig])),
        ("missing file", run(&["verify", "--json"])),
        ("bad receipt type", with(&["--receipt-type", "complete"])),
        ("bad error", with(&["--error", "no-destinatario"])),
        ("bad timeout", with(&["--timeout", "48h"])),
        ("bad time", with(&["--time", "yesterday"])),
        ("bad --at", run(&["verify", good, "--at", "2024-13-01"])),
        (
            "--at and --at-signing-time",
            run(&["verify", good, "--at-signing-time", "--at", "2024-01-01T00:00:00Z"]),
        ),
        ("--key without --cert", with(&["--key", &f.p("a.key")])),
        ("sign without a key", run_stdin(&["sign"], b"x")),
        ("unknown shell", run(&["completions", "tcsh"])),
    ] {
        assert_eq!(code(&o), 64, "{what}: {}", String::from_utf8_lossy(&o.stderr));
        assert!(o.stdout.is_empty(), "{what}");
        assert!(!o.stderr.is_empty(), "{what}");
    }
    // the closed sets accept their values in any case, and the aliases 12/24
    for extra in [&["--timeout", "12"][..], &["--timeout", "24H"], &["--receipt-type", "Breve"]] {
        let o = with(extra);
        assert_ne!(code(&o), 64, "{extra:?}: {}", String::from_utf8_lossy(&o.stderr));
    }
    // help and version: stdout, exit 0; the help lists the exit codes and the value sets
    let o = run(&["--help"]);
    assert_eq!(code(&o), 0);
    let h = String::from_utf8_lossy(&o.stdout);
    assert!(h.contains("Exit status:") && h.contains("64  usage error"), "{h}");
    assert_eq!(code(&run(&["--version"])), 0);
    let h = String::from_utf8(run(&["build", "--help"]).stdout).unwrap();
    for v in ["posta-certificata", "rilevazione-virus", "sintetica", "no-dominio", "24h"] {
        assert!(h.contains(v), "build --help lists {v}");
    }
}

#[test]
fn completions_and_man_page() {
    for (shell, marker) in
        [("bash", "complete -F"), ("zsh", "#compdef pec"), ("fish", "complete -c pec")]
    {
        let o = run(&["completions", shell]);
        assert_eq!(code(&o), 0, "{shell}");
        let s = String::from_utf8(o.stdout).unwrap();
        assert!(s.contains(marker), "{shell}: {s}");
        // generated from the same definitions: subcommands, options and value sets
        for word in ["verify", "fetch-crls", "sintetica", "24h"] {
            assert!(s.contains(word), "{shell} completion lacks {word}");
        }
        // clap_complete's fish script completes option values, not positional ones
        if shell != "fish" {
            assert!(s.contains("avvenuta-consegna"), "{shell} completion lacks the kinds");
        }
    }
    if Command::new("bash").arg("--version").output().is_ok() {
        let o = Command::new("bash")
            .arg("-c")
            .arg(format!(
                "source <({} completions bash) && complete -p pec",
                env!("CARGO_BIN_EXE_pec")
            ))
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let o = run(&["man"]);
    assert_eq!(code(&o), 0);
    let page = String::from_utf8(o.stdout).unwrap();
    assert!(page.contains(".TH pec 1"), "{page}");
    assert!(page.contains("Exit status:") && page.contains("verify"));
    let dir = std::env::temp_dir().join(format!("pec-man-test-{}", std::process::id()));
    let o = run(&["man", "--dir", dir.to_str().unwrap()]);
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    for page in ["pec.1", "pec-verify.1", "pec-build.1", "pec-index-lookup.1"] {
        let text =
            std::fs::read_to_string(dir.join(page)).unwrap_or_else(|e| panic!("{page}: {e}"));
        assert!(text.starts_with(".ie") || text.contains(".TH"), "{page}");
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// `--fetch-crls` goes through the proxy named in the environment (the distribution point
/// `http://crl.pec-test.invalid/pec-ca.crl` does not resolve: only the proxy can answer).
#[test]
fn verify_fetch_crls_through_an_environment_proxy() {
    use std::io::{Read, Write};
    let f = fixture();
    let (good, _) = verify_inputs();
    let crl = std::fs::read(f.p("crl.pem")).unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    // an HTTP proxy: ureq 3 tunnels every proxied request with CONNECT, then sends the
    // request in origin form through the tunnel
    let server = std::thread::spawn(move || {
        let read_head = |s: &mut std::net::TcpStream| {
            let mut req = Vec::new();
            let mut byte = [0u8; 1];
            while !req.ends_with(b"\r\n\r\n") {
                match s.read(&mut byte) {
                    Ok(1) => req.push(byte[0]),
                    _ => break,
                }
            }
            String::from_utf8_lossy(&req).into_owned()
        };
        let mut requests = Vec::new();
        while let Ok((mut s, _)) = listener.accept() {
            s.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
            let head = read_head(&mut s);
            if head.starts_with("QUIT") {
                break;
            }
            if head.starts_with("CONNECT ") {
                let _ = s.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n");
                requests.push(head);
                let tunneled = read_head(&mut s);
                requests.push(tunneled);
            } else {
                requests.push(head);
            }
            let resp = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", crl.len());
            let _ = s.write_all(resp.as_bytes()).and_then(|()| s.write_all(&crl));
        }
        requests
    });
    let proxy = format!("http://127.0.0.1:{port}");
    let o = pec()
        .args(["verify", "--json", "--fetch-crls", good, "--ca-file", &f.p("root.pem")])
        .args(["--crl", &f.p("root-crl.pem")])
        .env("HTTP_PROXY", &proxy)
        .env("http_proxy", &proxy)
        .env_remove("NO_PROXY")
        .env_remove("no_proxy")
        .env_remove("ALL_PROXY")
        .env_remove("all_proxy")
        .output()
        .unwrap();
    let mut stop = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stop.write_all(b"QUIT\r\n\r\n").unwrap();
    let requests = server.join().unwrap();
    assert_eq!(
        code(&o),
        0,
        "{}{} {requests:?}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(json(&o)["revocation"], "good");
    assert!(
        requests.iter().any(|r| r.starts_with("CONNECT crl.pec-test.invalid:80 HTTP/1.1\r\n")),
        "{requests:?}"
    );
    assert!(requests.iter().any(|r| r.starts_with("GET /pec-ca.crl HTTP/1.1\r\n")), "{requests:?}");
}

#[test]
fn demo_runs() {
    let dir = std::env::temp_dir().join(format!("pec-demo-test-{}", std::process::id()));
    let o = run(&["demo", "--out", dir.to_str().unwrap()]);
    assert_eq!(
        code(&o),
        0,
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let n = std::fs::read_dir(&dir).unwrap().count();
    assert!(n >= 8, "{n} files");
    std::fs::remove_dir_all(&dir).ok();
}
