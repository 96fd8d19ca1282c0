//! Mail security (MAILSEC.md, issue 19 parts 1-2): `pec tls`, `pec index postfix-maps`,
//! `pec dkim record` and `pec build|sign --dkim-*`, checked against OpenSSL and python3-dkim.
//! Tests needing a tool skip locally without it and fail under `CI=true`.

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use pec_testkit::{TwoProviders, require, require_tool};
use serde_json::Value;

const PYTHON: &str = "/usr/bin/python3";
const T: &str = "2026-11-25T10:00:05+01:00";

fn pec(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pec")).args(args).output().expect("run pec")
}

fn pec_stdin(args: &[&str], input: &[u8]) -> Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_pec"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

fn ok(o: Output, what: &str) -> Vec<u8> {
    assert_eq!(o.status.code(), Some(0), "{what}: {}", String::from_utf8_lossy(&o.stderr));
    o.stdout
}

fn sh(script: &str) -> String {
    let o = Command::new("sh").arg("-c").arg(script).output().unwrap();
    assert!(o.status.success(), "{script}: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).unwrap()
}

struct Fixture {
    dir: PathBuf,
    world: TwoProviders,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("pec-mailsec-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let world = TwoProviders::generate(30).unwrap();
        world.write_files(&dir).unwrap();
        std::fs::write(
            dir.join("original.eml"),
            b"From: Mario Rossi <mario.rossi@pec.example.it>\r\nTo: ufficio@pec.other.it\r\nSubject: Richiesta \xc3\xa8 urgente\r\nDate: Wed, 25 Nov 2026 10:00:00 +0100\r\nMessage-ID: <dkim-1@client.example.it>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nBuongiorno.\r\n",
        )
        .unwrap();
        Fixture { dir, world }
    })
}

impl Fixture {
    fn p(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }
}

// ------------------------------------------------------------------------------ TLS

#[test]
fn fingerprints_equal_openssl() {
    if !require_tool("openssl") {
        return;
    }
    let f = fixture();
    let cert = f.p("a.pem");
    let v: Value =
        serde_json::from_slice(&ok(pec(&["tls", "fingerprint", "--json", &cert]), "fp")).unwrap();
    let want_cert = sh(&format!("openssl x509 -in {cert} -noout -fingerprint -sha256"));
    let want_cert = want_cert.trim().rsplit('=').next().unwrap().to_owned();
    assert_eq!(v["certificate"], want_cert.as_str());
    let spki = sh(&format!(
        "openssl x509 -in {cert} -noout -pubkey | openssl pkey -pubin -outform DER | openssl dgst -sha256 -r"
    ));
    let spki_hex = spki.split_whitespace().next().unwrap().to_ascii_uppercase();
    let colon: Vec<String> =
        spki_hex.as_bytes().chunks(2).map(|c| String::from_utf8_lossy(c).into_owned()).collect();
    assert_eq!(v["public_key"], colon.join(":").as_str());
    // the text form has both; the TLSA data is the same SPKI digest, lowercase
    let text = String::from_utf8(ok(pec(&["tls", "fingerprint", &cert]), "fp text")).unwrap();
    assert!(text.contains(&want_cert) && text.contains(&colon.join(":")), "{text}");
    let tlsa = String::from_utf8(ok(pec(&["tls", "tlsa", &cert]), "tlsa")).unwrap();
    assert_eq!(tlsa.trim(), format!("3 1 1 {}", spki_hex.to_ascii_lowercase()));
    let rr =
        String::from_utf8(ok(pec(&["tls", "tlsa", "--host", "mx.pec.example.it", &cert]), "rr"))
            .unwrap();
    assert_eq!(rr.trim(), format!("_25._tcp.mx.pec.example.it. IN TLSA {}", tlsa.trim()));
    // bad input: exit 2, nothing on stdout
    let bad = f.p("original.eml");
    let o = pec(&["tls", "fingerprint", &bad]);
    assert_eq!(o.status.code(), Some(2));
    assert!(o.stdout.is_empty());
}

/// An MX certificate made as a Postfix administrator would, with `openssl req`.
fn mx_cert(name: &str) -> (String, String) {
    let f = fixture();
    let (key, cert) = (f.p(&format!("{name}.key")), f.p(&format!("{name}.crt")));
    sh(&format!(
        "openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj /CN=mx.pec.example.it \
         -keyout {key} -out {cert} 2>/dev/null"
    ));
    (key, cert)
}

/// Kills the `openssl s_server` this test started when the test ends.
struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn tlsa_record_verifies_with_openssl_dane() {
    if !require_tool("openssl") {
        return;
    }
    let (key, cert) = mx_cert("mx-dane");
    let (_, other) = mx_cert("mx-other");
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let _server = Server(
        Command::new("openssl")
            .args(["s_server", "-quiet", "-accept", &format!("127.0.0.1:{port}")])
            .args(["-cert", &cert, "-key", &key])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let start = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(start.elapsed() < Duration::from_secs(20), "s_server did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    let client = |rrdata: &str| -> (bool, String) {
        let o = Command::new("openssl")
            .args(["s_client", "-brief", "-connect", &format!("127.0.0.1:{port}")])
            .args(["-dane_tlsa_domain", "mx.pec.example.it", "-dane_tlsa_rrdata", rrdata])
            .arg("-verify_return_error")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let text =
            format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
        (o.status.success() && text.contains("Verification: OK"), text)
    };
    let good = String::from_utf8(ok(pec(&["tls", "tlsa", &cert]), "tlsa")).unwrap();
    let (verified, text) = client(good.trim());
    assert!(verified, "{good}: {text}");
    assert!(text.contains("DANE TLSA 3 1 1"), "{text}");
    let wrong = String::from_utf8(ok(pec(&["tls", "tlsa", &other]), "tlsa")).unwrap();
    let (verified, text) = client(wrong.trim());
    assert!(!verified, "a wrong TLSA record verified: {text}");
}

#[test]
fn postfix_maps_from_the_index() {
    if !require_tool("openssl") {
        return;
    }
    let f = fixture();
    let (_, mx) = mx_cert("mx-maps");
    let (_, next) = mx_cert("mx-next");
    let (_, client) = mx_cert("peer-client");
    let other = f.world.domain(1).to_owned();
    let toml = format!(
        "name = \"{}\"\ndomain = \"{}\"\nindex = \"index.ldif\"\n\
         [tls]\ncert = \"mx-maps.crt\"\nnext_cert = \"mx-next.crt\"\nmx_hosts = [\"mx1.pec.example.it\", \"mx2.pec.example.it\"]\n\
         [tls.peers.\"relay.{other}\"]\npolicy = \"secure\"\nmatch = \"mx.{other}\"\ntafile = \"/etc/postfix/pec-ca.pem\"\n\
         nexthop = \"[127.0.0.3]:2525\"\ncerts = [\"peer-client.crt\"]\n",
        f.world.name(0),
        f.world.domain(0),
    );
    std::fs::write(f.dir.join("tls.toml"), toml).unwrap();
    let out = f.dir.join("maps");
    let o = pec(&[
        "index",
        "postfix-maps",
        "--index",
        &f.p("index.ldif"),
        "--provider",
        &f.p("tls.toml"),
        "--out",
        out.to_str().unwrap(),
        "--index-certs",
    ]);
    let listed = String::from_utf8(ok(o, "postfix-maps")).unwrap();
    assert_eq!(listed.lines().count(), 4, "{listed}");
    let read = |n: &str| std::fs::read_to_string(out.join(n)).unwrap();

    let policy = read("tls_policy");
    assert!(policy.lines().any(|l| l == format!("{other} encrypt")), "{policy}");
    // our own domain gets no policy line
    assert!(!policy.contains(&format!("\n{} ", f.world.domain(0))), "{policy}");
    let peer = format!("secure match=mx.{other} tafile=/etc/postfix/pec-ca.pem");
    assert!(policy.lines().any(|l| l == format!("[127.0.0.3]:2525 {peer}")), "{policy}");
    assert!(policy.lines().any(|l| l == format!("relay.{other} {peer}")), "{policy}");
    let keys: Vec<&str> = policy.lines().filter(|l| !l.starts_with('#')).collect();
    let mut sorted = keys.clone();
    sorted.sort_unstable();
    assert_eq!(keys, sorted);

    let ccert = read("ccert_access");
    let fp = |c: &str| -> Value {
        serde_json::from_slice(&ok(pec(&["tls", "fingerprint", "--json", c]), "fp")).unwrap()
    };
    let openssl_fp = |c: &str| {
        sh(&format!("openssl x509 -in {c} -noout -fingerprint -sha256"))
            .trim()
            .rsplit('=')
            .next()
            .unwrap()
            .to_owned()
    };
    for c in [client.as_str(), &f.p("b.pem")] {
        let v = fp(c);
        assert_eq!(v["certificate"], openssl_fp(c).as_str());
        for k in ["certificate", "public_key"] {
            let line = format!("{} OK", v[k].as_str().unwrap());
            assert!(ccert.lines().any(|l| l == line), "{line} not in {ccert}");
        }
    }
    // our own certificate is not listed
    assert!(!ccert.contains(fp(&f.p("a.pem"))["certificate"].as_str().unwrap()));

    let zone = read("tlsa.zone");
    let rdata = |c: &str| {
        String::from_utf8(ok(pec(&["tls", "tlsa", c]), "tlsa")).unwrap().trim().to_owned()
    };
    for host in ["mx1.pec.example.it", "mx2.pec.example.it"] {
        for c in [&mx, &next] {
            let rr = format!("_25._tcp.{host}. IN TLSA {}", rdata(c));
            assert!(zone.lines().any(|l| l == rr), "{rr} not in {zone}");
        }
    }
    let snippet = read("main.cf.snippet");
    for line in [
        "smtpd_tls_security_level = may",
        "smtpd_tls_ask_ccert = yes",
        "smtpd_tls_fingerprint_digest = sha256",
    ] {
        assert!(snippet.lines().any(|l| l == line), "{line}");
    }
    let canon = std::fs::canonicalize(&out).unwrap();
    assert!(
        snippet.contains(&format!("smtp_tls_policy_maps = hash:{}/tls_policy", canon.display()))
    );
    // no temporary file is left behind
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 4);
    // a bad [tls] value is refused before anything is written
    std::fs::write(
        f.dir.join("bad-tls.toml"),
        "name = \"x\"\ndomain = \"pec.example.it\"\n[tls]\nmx_hosts = [\"a b\"]\n",
    )
    .unwrap();
    let o = pec(&[
        "index",
        "postfix-maps",
        "--index",
        &f.p("index.ldif"),
        "--provider",
        &f.p("bad-tls.toml"),
        "--out",
        &f.p("maps-bad"),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(!f.dir.join("maps-bad").exists());
}

// ------------------------------------------------------------------------------ DKIM

fn have_python_dkim() -> bool {
    require_tool(PYTHON)
        && require(
            "python3-dkim",
            Command::new(PYTHON)
                .args(["-c", "import dkim"])
                .output()
                .is_ok_and(|o| o.status.success()),
        )
}

/// `dkim.verify` of python3-dkim with its DNS answered from the TXT record pec printed.
fn python_dkim_verify(message: &[u8], record: &str) -> bool {
    let f = fixture();
    let path = f.dir.join(format!("dkim-{}.eml", crate_counter()));
    std::fs::write(&path, message).unwrap();
    let script = "import sys, dkim\n\
        msg = open(sys.argv[1], 'rb').read()\n\
        rec = sys.argv[2].encode()\n\
        ok = dkim.verify(msg, dnsfunc=lambda name, timeout=5: rec)\n\
        print('PASS' if ok else 'FAIL')\n";
    let o =
        Command::new(PYTHON).args(["-c", script, path.to_str().unwrap(), record]).output().unwrap();
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(o.status.success(), "python: {out}{}", String::from_utf8_lossy(&o.stderr));
    out.starts_with("PASS")
}

/// The first header field of `message` (the DKIM-Signature pec prepends), unfolded, and its
/// length in bytes.
fn first_field(message: &[u8]) -> (String, usize) {
    let mut end = 0;
    loop {
        let nl = message[end..].windows(2).position(|w| w == b"\r\n").unwrap() + end + 2;
        end = nl;
        if !matches!(message.get(end), Some(b' ' | b'\t')) {
            break;
        }
    }
    let text = String::from_utf8(message[..end].to_vec()).unwrap();
    (text.replace("\r\n", ""), end)
}

/// The tags of a DKIM-Signature field.
fn dkim_tags(field: &str) -> std::collections::BTreeMap<String, String> {
    let value = field.split_once(':').unwrap().1;
    value
        .split(';')
        .filter_map(|t| t.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), v.split_whitespace().collect()))
        .collect()
}

fn crate_counter() -> usize {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// The TXT data of `pec dkim record`'s zone line (its quoted strings, joined).
fn record_of(key: &str, selector: &str, domain: &str) -> String {
    let line = String::from_utf8(ok(
        pec(&["dkim", "record", "--dkim-key", key, "--selector", selector, "--domain", domain]),
        "dkim record",
    ))
    .unwrap();
    assert!(line.starts_with(&format!("{selector}._domainkey.{domain}. IN TXT (")), "{line}");
    let value: String = line.split('"').skip(1).step_by(2).collect();
    assert!(line.split('"').skip(1).step_by(2).all(|s| s.len() <= 255));
    let j: Value = serde_json::from_slice(&ok(
        pec(&[
            "dkim",
            "record",
            "--json",
            "--dkim-key",
            key,
            "--selector",
            selector,
            "--domain",
            domain,
        ]),
        "dkim record --json",
    ))
    .unwrap();
    assert_eq!(j["value"], value.as_str());
    assert_eq!(j["name"], format!("{selector}._domainkey.{domain}").as_str());
    value
}

fn verify_valid(f: &Fixture, path: &str) {
    let o = pec(&[
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
    let r: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(r["verdict"], "valid", "{path}: {r}");
}

#[test]
fn dkim_signs_every_kind_and_python_dkim_verifies() {
    if !have_python_dkim() {
        return;
    }
    let f = fixture();
    let key = f.p("dkim.key");
    std::fs::write(&key, f.world.pki.providers[1].key_pem()).unwrap();
    let record = record_of(&key, "pec-2026", "dkim.pec.example.it");
    let sign = |who: &str| -> Vec<String> {
        [
            "--key",
            &f.p(&format!("{who}.key")),
            "--cert",
            &f.p(&format!("{who}.pem")),
            "--chain",
            &f.p("chain.pem"),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    let dkim: Vec<String> =
        ["--dkim-key", &key, "--dkim-selector", "pec-2026", "--dkim-domain", "dkim.pec.example.it"]
            .iter()
            .map(|s| s.to_string())
            .collect();
    let build = |kind: &str, who: &str, extra: &[&str]| -> Vec<u8> {
        let provider = f.p(&format!("{who}.toml"));
        let mut args: Vec<String> = ["build", kind, "--provider", &provider, "--time", T]
            .iter()
            .map(|s| s.to_string())
            .collect();
        args.extend(extra.iter().map(|s| s.to_string()));
        args.extend(sign(who));
        args.extend(dkim.iter().cloned());
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        ok(pec(&refs), kind)
    };
    let original = f.p("original.eml");
    let id = ["--id", "pec.dkim.1@pec.example.it"];
    let envelope =
        build("posta-certificata", "a", &[&["--original", original.as_str()][..], &id].concat());
    let env_path = f.dir.join("dkim-envelope.eml");
    std::fs::write(&env_path, &envelope).unwrap();
    let env = env_path.to_str().unwrap();
    let rcpt = ["--recipient", "ufficio@pec.other.it"];
    let kinds: Vec<(&str, Vec<u8>)> = vec![
        ("posta-certificata", envelope.clone()),
        (
            "accettazione",
            build("accettazione", "a", &[&["--original", original.as_str()][..], &id].concat()),
        ),
        (
            "non-accettazione",
            build(
                "non-accettazione",
                "a",
                &[&["--original", original.as_str(), "--error-text", "no"][..], &id].concat(),
            ),
        ),
        (
            "presa-in-carico",
            build("presa-in-carico", "b", &[&["--envelope", env][..], &rcpt].concat()),
        ),
        (
            "avvenuta-consegna",
            build("avvenuta-consegna", "b", &[&["--envelope", env][..], &rcpt].concat()),
        ),
        (
            "errore-consegna",
            build(
                "errore-consegna",
                "b",
                &[&["--envelope", env, "--error", "no-dest"][..], &rcpt].concat(),
            ),
        ),
        (
            "preavviso-errore-consegna",
            build(
                "preavviso-errore-consegna",
                "a",
                &[&["--envelope", env, "--timeout", "12h"][..], &rcpt].concat(),
            ),
        ),
        (
            "rilevazione-virus",
            build("rilevazione-virus", "b", &[&["--envelope", env][..], &rcpt].concat()),
        ),
        ("errore", build("errore", "b", &[&["--envelope", env][..], &rcpt].concat())),
    ];
    for (kind, msg) in &kinds {
        assert!(msg.starts_with(b"DKIM-Signature: v=1; a=rsa-sha256;"), "{kind}");
        let (field, len) = first_field(msg);
        let tags = dkim_tags(&field);
        assert_eq!(tags["c"], "relaxed/relaxed", "{kind}");
        assert_eq!(tags["a"], "rsa-sha256", "{kind}");
        assert_eq!(tags["d"], "dkim.pec.example.it", "{kind}");
        assert!(!tags.contains_key("l"), "{kind}: {field}");
        // after the field: the S/MIME-signed message, still valid on its own
        let rest = f.dir.join(format!("dkim-{kind}-rest.eml"));
        std::fs::write(&rest, &msg[len..]).unwrap();
        verify_valid(f, rest.to_str().unwrap());
        assert!(python_dkim_verify(msg, &record), "{kind}: python3-dkim refused the signature");
        let path = f.dir.join(format!("dkim-{kind}.eml"));
        std::fs::write(&path, msg).unwrap();
        verify_valid(f, path.to_str().unwrap());
        // a changed Subject breaks DKIM only
        let text = msg.clone();
        let at = text.windows(10).position(|w| w == b"\r\nSubject:").unwrap() + 11;
        let mut edited = text[..at].to_vec();
        edited.extend_from_slice(b"X");
        edited.extend_from_slice(&text[at..]);
        assert!(!python_dkim_verify(&edited, &record), "{kind}: edited Subject still passes DKIM");
        let path = f.dir.join(format!("dkim-{kind}-edited.eml"));
        std::fs::write(&path, &edited).unwrap();
        verify_valid(f, path.to_str().unwrap());
    }
    // a record of another key does not verify
    let other = record_of(&f.p("a.key"), "pec-2026", "dkim.pec.example.it");
    assert!(!python_dkim_verify(&kinds[0].1, &other));
}

#[test]
fn dkim_prepends_one_field_and_keeps_the_signed_bytes() {
    let f = fixture();
    let key = f.p("a.key");
    let unsigned = b"From: posta-certificata@pec.example.it\r\nTo: x@pec.other.it\r\nSubject: prova\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nciao\r\n";
    let base = ["sign", "--key", &key, "--cert", &f.p("a.pem"), "--time", T];
    let plain = ok(pec_stdin(&base, unsigned), "sign");
    let mut args = base.to_vec();
    args.extend(["--dkim-key", &key, "--dkim-selector", "s1", "--dkim-domain", "pec.example.it"]);
    let dkim = ok(pec_stdin(&args, unsigned), "sign --dkim");
    // the boundary is random, so the two S/MIME messages have the same length, not bytes
    assert!(dkim.len() > plain.len());
    let (field, field_len) = first_field(&dkim);
    assert_eq!(field_len, dkim.len() - plain.len());
    assert!(dkim[field_len..].starts_with(b"From: posta-certificata@pec.example.it\r\nTo:"));
    assert!(field.starts_with("DKIM-Signature: "), "{field}");
    let tags = dkim_tags(&field);
    assert!(!tags.contains_key("l") && tags["c"] == "relaxed/relaxed", "{field}");
    let h = &tags["h"];
    let names: Vec<&str> = h.split(':').collect();
    for oversigned in ["From", "Subject", "X-Trasporto", "X-Ricevuta"] {
        assert_eq!(names.iter().filter(|n| n.eq_ignore_ascii_case(oversigned)).count(), 2, "{h}");
    }
    if have_python_dkim() {
        assert!(python_dkim_verify(&dkim, &record_of(&key, "s1", "pec.example.it")));
    }
    // usage: a selector is required; a bad selector is refused; nothing on stdout
    let mut a = base.to_vec();
    a.extend(["--dkim-key", &key]);
    let o = pec_stdin(&a, unsigned);
    assert_eq!(o.status.code(), Some(2));
    assert!(o.stdout.is_empty());
    let mut a = base.to_vec();
    a.extend(["--dkim-key", &key, "--dkim-selector", "a;b", "--dkim-domain", "pec.example.it"]);
    let o = pec_stdin(&a, unsigned);
    assert_eq!(o.status.code(), Some(2));
    assert!(o.stdout.is_empty());
    assert_eq!(
        pec(&["dkim", "record", "--selector", "s", "--domain", "d.it"]).status.code(),
        Some(64)
    );
}

#[test]
fn dkim_with_a_softhsm_key_verifies_in_python_dkim() {
    use pec_testkit::softhsm::MODULE;
    if !have_python_dkim() {
        return;
    }
    let f = fixture();
    let Some(tok) = pec_testkit::softhsm::make_token(&f.dir.join("hsm")) else { return };
    let uri = "pkcs11:token=pec-test;object=provider;id=%01;type=private";
    let pin = format!("file:{}", tok.join("pin.txt").display());
    let conf = tok.join("softhsm2.conf");
    let run = |args: &[&str]| -> Output {
        Command::new(env!("CARGO_BIN_EXE_pec"))
            .args(args)
            .env("SOFTHSM2_CONF", &conf)
            .output()
            .unwrap()
    };
    let hsm = ["--dkim-pkcs11-uri", uri, "--pkcs11-module", MODULE, "--pin-source", &pin];
    let mut rec =
        vec!["dkim", "record", "--json", "--selector", "hsm", "--domain", "pec.example.it"];
    rec.extend(hsm);
    let j: Value = serde_json::from_slice(&ok(run(&rec), "dkim record (PKCS#11)")).unwrap();
    let record = j["value"].as_str().unwrap().to_owned();
    let original = f.p("original.eml");
    let (key, cert, chain) = (f.p("a.key"), f.p("a.pem"), f.p("chain.pem"));
    for kind in ["posta-certificata", "accettazione"] {
        let mut args = vec!["build", kind, "--provider", "", "--time", T, "--original", &original];
        let provider = f.p("a.toml");
        args[3] = &provider;
        args.extend([
            "--id",
            "pec.hsm.1@pec.example.it",
            "--key",
            &key,
            "--cert",
            &cert,
            "--chain",
            &chain,
        ]);
        args.extend(["--dkim-selector", "hsm"]);
        args.extend(hsm);
        let msg = ok(run(&args), kind);
        assert!(python_dkim_verify(&msg, &record), "{kind}: PKCS#11 DKIM signature refused");
        assert_eq!(dkim_tags(&first_field(&msg).0)["d"], "pec.example.it");
        let path = f.dir.join(format!("dkim-hsm-{kind}.eml"));
        std::fs::write(&path, &msg).unwrap();
        verify_valid(f, path.to_str().unwrap());
    }
}
