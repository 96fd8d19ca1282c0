//! Issue 19, TLS between providers with two real Postfix instances (MAILSEC.md §2,
//! ENGINE.md §4): a private CA made the way a Postfix administrator makes one (`openssl req`,
//! `openssl ca`), the maps written by `pec index postfix-maps`, and
//! - a client certificate listed in the generated `ccert_access` is accepted at RCPT on the
//!   inter-provider port (by its certificate line, and by its public-key line alone), an
//!   unlisted one (same CA) refused with 554 5.7.1; `postmap -q` returns the generated
//!   policy lines, and `secure` with the private CA verifies the peer;
//! - the generated `encrypt` policy never sends in clear: toward a listener without STARTTLS
//!   the mail stays deferred and the listener never sees MAIL FROM;
//! - the generated TLSA record verifies with `openssl s_client -dane_tlsa_rrdata` against
//!   Postfix's STARTTLS on port 25, and a wrong one fails.
//!
//! Provider A (`pec.alpha.test`) on 127.0.0.2, provider B (`pec.beta.test`) on 127.0.0.3, DNS
//! off. Skipped locally without Postfix, openssl or root; a failure under `CI=true`.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use pec_testkit::postfix::{self, Config, Postfix, parse_main, smtp_send, wait_for};
use pec_testkit::scenario::{ALPHA, BETA};
use pec_testkit::{TempDir, TwoProviders, require_tool};

const A: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);
const B: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 3);

fn run(dir: &Path, prog: &str, args: &[&str]) -> Output {
    let o = Command::new(prog)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{prog}: {e}"));
    assert!(
        o.status.success(),
        "{prog} {}: {}{}",
        args.join(" "),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

const CA_CNF: &str = "\
[ca]
default_ca = pec_tls_ca
[pec_tls_ca]
dir = .
database = index.txt
new_certs_dir = newcerts
certificate = ca.crt
private_key = ca.key
serial = serial
default_md = sha256
default_days = 30
policy = policy_cn
copy_extensions = copy
unique_subject = no
[policy_cn]
commonName = supplied
[mx]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth,clientAuth
";

/// The private CA and one certificate per host name, as an administrator makes them.
fn make_ca(dir: &Path, hosts: &[&str]) {
    std::fs::write(dir.join("ca.cnf"), CA_CNF).unwrap();
    std::fs::write(dir.join("index.txt"), "").unwrap();
    std::fs::write(dir.join("serial"), "1000\n").unwrap();
    std::fs::create_dir_all(dir.join("newcerts")).unwrap();
    run(
        dir,
        "openssl",
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "30",
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
            "-subj",
            "/O=PEC test providers/CN=PEC test TLS CA",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
    );
    for host in hosts {
        let (key, csr, crt) = (format!("{host}.key"), format!("{host}.csr"), format!("{host}.crt"));
        run(
            dir,
            "openssl",
            &[
                "req",
                "-new",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                &key,
                "-out",
                &csr,
                "-subj",
                &format!("/CN={host}"),
                "-addext",
                &format!("subjectAltName=DNS:{host}"),
            ],
        );
        run(
            dir,
            "openssl",
            &[
                "ca",
                "-batch",
                "-config",
                "ca.cnf",
                "-extensions",
                "mx",
                "-in",
                &csr,
                "-out",
                &crt,
                "-notext",
            ],
        );
    }
}

fn pec_maps(dir: &Path, toml_name: &str, toml: &str, out: &str) -> String {
    std::fs::write(dir.join(toml_name), toml).unwrap();
    run(
        dir,
        env!("CARGO_BIN_EXE_pec"),
        &["index", "postfix-maps", "--index", "index.ldif", "--provider", toml_name, "--out", out],
    );
    let out = dir.join(out);
    // postmap reads a main.cf: an empty one of its own, never /etc/postfix
    let conf = dir.join("postmap-conf");
    std::fs::create_dir_all(&conf).unwrap();
    std::fs::write(conf.join("main.cf"), "").unwrap();
    for map in ["tls_policy", "ccert_access"] {
        let table = format!("hash:{}", out.join(map).display());
        run(dir, "postmap", &["-c", conf.to_str().unwrap(), &table]);
    }
    std::fs::read_to_string(out.join("main.cf.snippet")).unwrap()
}

#[test]
fn tls_between_providers_from_the_generated_maps() {
    if !postfix::available() || !require_tool("openssl") || !require_tool("postmap") {
        return;
    }
    let tmp = TempDir::new("postfix-tls");
    let dir = tmp.dir();
    let world = TwoProviders::generate_with([ALPHA, BETA], 30).unwrap();
    world.write_files(dir).unwrap();
    make_ca(dir, &["mx.pec.alpha.test", "mx.pec.beta.test", "rogue.pec.beta.test"]);
    let p = |name: &str| dir.join(name).display().to_string();

    // A lists B's MX certificate as a client certificate; B's policy: `secure` (verified with
    // the private CA) toward A's inter-provider port, plain `encrypt` toward another next hop.
    let a_snippet = pec_maps(
        dir,
        "alpha.toml",
        &format!(
            "name = \"{}\"\ndomain = \"pec.alpha.test\"\nindex = \"index.ldif\"\n[tls]\n\
             cert = \"mx.pec.alpha.test.crt\"\nmx_hosts = [\"mx.pec.alpha.test\"]\n\
             [tls.peers.\"pec.beta.test\"]\ncerts = [\"mx.pec.beta.test.crt\"]\n",
            ALPHA.name
        ),
        "maps-a",
    );
    let b_snippet = pec_maps(
        dir,
        "beta.toml",
        &format!(
            "name = \"{}\"\ndomain = \"pec.beta.test\"\nindex = \"index.ldif\"\n[tls]\n\
             cert = \"mx.pec.beta.test.crt\"\n\
             [tls.peers.\"pec.alpha.test\"]\npolicy = \"secure\"\nmatch = \"mx.pec.alpha.test\"\n\
             tafile = \"{}\"\nnexthop = \"[127.0.0.2]:2525\"\n\
             [tls.peers.\"clear.pec.alpha.test\"]\nnexthop = \"[127.0.0.2]:2526\"\n",
            BETA.name,
            p("ca.crt")
        ),
        "maps-b",
    );
    let policy = std::fs::read_to_string(dir.join("maps-b/tls_policy")).unwrap();
    assert!(policy.lines().any(|l| l == "[127.0.0.2]:2526 encrypt"), "{policy}");
    let ccert = std::fs::read_to_string(dir.join("maps-a/ccert_access")).unwrap();
    // postmap -q answers with the generated lines
    let conf = p("postmap-conf");
    let q = |key: &str, map: &str| {
        let table = format!("hash:{}", p(map));
        let o = run(dir, "postmap", &["-c", &conf, "-q", key, &table]);
        String::from_utf8(o.stdout).unwrap().trim().to_string()
    };
    assert_eq!(q("[127.0.0.2]:2526", "maps-b/tls_policy"), "encrypt");
    assert_eq!(
        q("pec.alpha.test", "maps-b/tls_policy"),
        format!("secure match=mx.pec.alpha.test tafile={}", p("ca.crt"))
    );
    // a copy of A's ccert_access with only the public-key lines: the pubkey line alone admits
    let mut pkey_only = String::new();
    let mut lines = ccert.lines().peekable();
    while let Some(l) = lines.next() {
        if l.starts_with('#') && l.ends_with(": public key") {
            if let Some(fp) = lines.peek() {
                pkey_only.push_str(fp);
                pkey_only.push('\n');
            }
        }
    }
    assert_eq!(pkey_only.lines().count(), 1, "{ccert}");
    assert!(ccert.lines().any(|l| l == pkey_only.trim()));
    std::fs::write(dir.join("maps-a/ccert_pkey"), &pkey_only).unwrap();
    run(dir, "postmap", &["-c", &conf, &format!("hash:{}", p("maps-a/ccert_pkey"))]);

    // A: STARTTLS on 25 (TLSA), the inter-provider port 2525 (TLS required, client
    // certificate checked against ccert_access), and 2526 without STARTTLS.
    let mut a_cfg = Config::new(A, "mx.pec.alpha.test");
    a_cfg.main = parse_main(&a_snippet);
    a_cfg
        .set("smtpd_tls_cert_file", &p("mx.pec.alpha.test.crt"))
        .set("smtpd_tls_key_file", &p("mx.pec.alpha.test.key"))
        .set("smtpd_tls_loglevel", "1")
        .route("pec.alpha.test", "discard:")
        .route("clear.pec.alpha.test", "discard:");
    let ccert_map = format!("hash:{}/ccert_access", p("maps-a"));
    a_cfg.master = [
        "smtp inet n - n - - smtpd",
        "2525 inet n - n - - smtpd",
        "  -o syslog_name=postfix/interprovider",
        "  -o smtpd_tls_security_level=encrypt",
        "  -o smtpd_tls_ask_ccert=yes",
        "  -o smtpd_relay_restrictions=",
        &format!("  -o smtpd_recipient_restrictions=check_ccert_access,{ccert_map},reject"),
        "2527 inet n - n - - smtpd",
        "  -o syslog_name=postfix/pkeyonly",
        "  -o smtpd_tls_security_level=encrypt",
        "  -o smtpd_tls_ask_ccert=yes",
        "  -o smtpd_relay_restrictions=",
        &format!(
            "  -o smtpd_recipient_restrictions=check_ccert_access,hash:{},reject",
            p("maps-a/ccert_pkey")
        ),
        "2526 inet n - n - - smtpd",
        "  -o syslog_name=postfix/clear",
        "  -o smtpd_tls_security_level=none",
        "",
    ]
    .join("\n");
    let mut a = Postfix::start("tls-a", &a_cfg).unwrap();

    // B: a plain port 25 to submit on; its smtp client presents its MX certificate, the
    // `rogue` transport an unlisted certificate of the same CA.
    let mut b_cfg = Config::new(B, "mx.pec.beta.test");
    b_cfg.main = parse_main(&b_snippet);
    b_cfg
        .set("smtpd_tls_cert_file", &p("mx.pec.beta.test.crt"))
        .set("smtpd_tls_key_file", &p("mx.pec.beta.test.key"))
        .set("smtp_tls_cert_file", &p("mx.pec.beta.test.crt"))
        .set("smtp_tls_key_file", &p("mx.pec.beta.test.key"))
        .set("smtp_tls_loglevel", "1")
        .set("smtp_tls_security_level", "may")
        .route("listed@pec.alpha.test", "smtp:[127.0.0.2]:2525")
        .route("pkey@pec.alpha.test", "smtp:[127.0.0.2]:2527")
        .route("unlisted@pec.alpha.test", "rogue:[127.0.0.2]:2525")
        .route("x@clear.pec.alpha.test", "smtp:[127.0.0.2]:2526")
        .route("pec.beta.test", "discard:");
    b_cfg.master = [
        "smtp inet n - n - - smtpd",
        "rogue unix - - n - - smtp",
        &format!("  -o smtp_tls_cert_file={}", p("rogue.pec.beta.test.crt")),
        &format!("  -o smtp_tls_key_file={}", p("rogue.pec.beta.test.key")),
        "",
    ]
    .join("\n");
    let mut b = Postfix::start("tls-b", &b_cfg).unwrap();

    let submit = |rcpt: &str| {
        let msg = format!("From: tester@pec.beta.test\nTo: {rcpt}\nSubject: tls {rcpt}\n\nprobe\n");
        let r =
            smtp_send(SocketAddr::from((B, 25)), "tester@pec.beta.test", &[rcpt], msg.as_bytes());
        assert!(matches!(r, Ok(ref r) if r.code == 250), "submit {rcpt}: {r:?}");
    };
    for rcpt in [
        "listed@pec.alpha.test",
        "pkey@pec.alpha.test",
        "unlisted@pec.alpha.test",
        "x@clear.pec.alpha.test",
    ] {
        submit(rcpt);
    }
    let both = |a: &Postfix, b: &Postfix| format!("--- A ---\n{}\n--- B ---\n{}", a.log(), b.log());

    // listed: delivered over verified TLS, accepted at RCPT
    let sent = wait_for(Duration::from_secs(120), || {
        b.log()
            .lines()
            .any(|l| l.contains("to=<listed@pec.alpha.test>") && l.contains("status=sent"))
    });
    assert!(sent, "listed certificate not accepted\n{}", both(&a, &b));
    let blog = b.log();
    assert!(
        blog.contains("Verified TLS connection established to 127.0.0.2[127.0.0.2]:2525"),
        "{blog}"
    );
    // the public-key fingerprint line alone admits the same client
    let sent = wait_for(Duration::from_secs(120), || {
        b.log().lines().any(|l| l.contains("to=<pkey@pec.alpha.test>") && l.contains("status=sent"))
    });
    assert!(sent, "public-key line did not admit\n{}", both(&a, &b));
    // unlisted: refused at RCPT with 554 5.7.1
    let refused = wait_for(Duration::from_secs(120), || {
        b.log().lines().any(|l| {
            l.contains("to=<unlisted@pec.alpha.test>")
                && l.contains("status=bounced")
                && l.contains("554 5.7.1")
                && l.contains("in reply to RCPT TO command")
        })
    });
    assert!(refused, "unlisted certificate not refused\n{}", both(&a, &b));
    let alog = a.log();
    assert!(
        alog.lines().any(|l| l.contains("NOQUEUE: reject: RCPT from")
            && l.contains("554 5.7.1 <unlisted@pec.alpha.test>")),
        "{alog}"
    );
    // the fingerprint A saw for the listed client is in ccert_access; the rogue's is not
    let fp = |cert: &str| {
        let o = run(dir, env!("CARGO_BIN_EXE_pec"), &["tls", "fingerprint", cert]);
        String::from_utf8(o.stdout).unwrap()
    };
    // (SHA-256 fingerprints: 32 bytes as `AA:BB:…`, 95 characters)
    let listed = |cert: &str| {
        fp(cert).split_whitespace().filter(|w| w.len() == 95).any(|w| ccert.contains(w))
    };
    assert!(listed("mx.pec.beta.test.crt"), "{ccert}");
    assert!(!listed("rogue.pec.beta.test.crt"), "{ccert}");

    // encrypt toward a listener without STARTTLS: deferred, never MAIL FROM in clear
    let deferred = wait_for(Duration::from_secs(120), || {
        b.log().lines().any(|l| {
            l.contains("to=<x@clear.pec.alpha.test>")
                && l.contains("status=deferred")
                && l.contains("TLS is required, but was not offered")
        })
    });
    assert!(deferred, "encrypt policy did not defer\n{}", both(&a, &b));
    let queued = b.queue_json().unwrap();
    assert_eq!(queued.len(), 1, "{queued:?}");
    assert!(queued[0].contains("x@clear.pec.alpha.test"), "{queued:?}");
    let alog = a.log();
    let clear: Vec<&str> = alog.lines().filter(|l| l.contains("postfix/clear/")).collect();
    assert!(clear.iter().any(|l| l.contains("connect from")), "{alog}");
    assert!(
        !clear.iter().any(|l| l.contains("client=") || l.contains(" mail=") || l.contains("RCPT")),
        "something was sent in clear: {clear:#?}"
    );
    assert!(a.wait_queue_empty(Duration::from_secs(60)), "{}", a.queue_text());

    // TLSA: the generated record matches the certificate Postfix presents on port 25
    let zone = std::fs::read_to_string(dir.join("maps-a/tlsa.zone")).unwrap();
    let rr = zone
        .lines()
        .find(|l| l.starts_with("_25._tcp.mx.pec.alpha.test. IN TLSA "))
        .unwrap_or_else(|| panic!("{zone}"));
    let rrdata = rr.split(" IN TLSA ").nth(1).unwrap().to_string();
    let dane = |rrdata: &str| {
        let o = Command::new("openssl")
            .args(["s_client", "-starttls", "smtp", "-connect", "127.0.0.2:25"])
            .args(["-dane_tlsa_domain", "mx.pec.alpha.test", "-dane_tlsa_rrdata", rrdata])
            .args(["-verify_return_error", "-brief"])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        (
            o.status.success(),
            String::from_utf8_lossy(&o.stderr).into_owned() + &String::from_utf8_lossy(&o.stdout),
        )
    };
    let (ok, out) = dane(&rrdata);
    assert!(ok && out.contains("Verification: OK"), "{rrdata}: {out}");
    assert!(out.contains("DANE TLSA 3 1 1"), "{out}");
    let wrong = String::from_utf8(
        run(dir, env!("CARGO_BIN_EXE_pec"), &["tls", "tlsa", "mx.pec.beta.test.crt"]).stdout,
    )
    .unwrap();
    let (ok, out) = dane(wrong.trim());
    assert!(!ok && !out.contains("Verification: OK"), "a wrong TLSA record verified: {out}");
    assert!(out.contains("no matching DANE TLSA records"), "{out}");

    a.stop();
    b.stop();
    assert!(a.master_pid().is_none() && b.master_pid().is_none());
}
