//! Sender authentication at the incoming point (feature `mailauth`; MAILSEC.md §1, §4): SPF,
//! DKIM, DMARC and ARC through mail-auth against a `StaticZone`, on messages signed by pec's
//! own DKIM signer and by python3-dkim, compared with python3-authheaders on the same inputs
//! and the same zone (`/usr/bin/python3`; skipped locally without it, a failure when CI=true).
#![cfg(feature = "mailauth")]

use std::net::IpAddr;
use std::path::Path;
use std::process::Command;

use pec_core::mailsec::auth::{
    AuthInput, AuthResult, AuthResults, Authenticator, StaticZone, check_ar_field,
};
use pec_core::mailsec::dkim::{self, DnsRecord, SoftwareDkimKey};
use pec_testkit::TwoProviders;

const HOST: &str = "mx.pec.test";
const IN: &str = "192.0.2.10";
const OUT: &str = "198.51.100.7";

/// The python side: signs with python3-dkim, authenticates with python3-authheaders against
/// the zone text (pyspf's DNSLookup patched to the zone: nothing reaches the network).
const PY: &str = r#"
import sys, shlex, base64, re
mode = sys.argv[1]
msg = sys.stdin.buffer.read()
def pkcs1(path):
    pem = open(path, 'rb').read()
    der = base64.b64decode(b''.join(l for l in pem.splitlines() if not l.startswith(b'-----')))
    if b'BEGIN PRIVATE KEY' in pem:
        assert der[4:7] == b'\x02\x01\x00' and der[22] == 0x04, 'not an RSA PKCS#8 key'
        der = der[26:]
    b = base64.encodebytes(der)
    return b'-----BEGIN RSA PRIVATE KEY-----\n' + b + b'-----END RSA PRIVATE KEY-----\n'
import dkim
if mode == 'sign':
    sel, dom, key = sys.argv[2:5]
    sig = dkim.sign(msg, sel.encode(), dom.encode(), pkcs1(key),
                    canonicalize=(b'relaxed', b'relaxed'),
                    include_headers=[b'from', b'to', b'subject', b'date', b'message-id'])
    sys.stdout.buffer.write(sig + msg)
    sys.exit(0)
if mode == 'arcsign':
    sel, dom, key, srv = sys.argv[2:6]
    sigs = dkim.arc_sign(msg, sel.encode(), dom.encode(), pkcs1(key), srv.encode(),
                         include_headers=[b'from', b'to', b'subject', b'date', b'message-id'])
    sys.stdout.buffer.write(b''.join(sigs) + msg)
    sys.exit(0)
zone_path, ip, mail_from, helo = sys.argv[2:6]
zone = {}
for line in open(zone_path):
    line = line.strip()
    if not line or line[0] in ';#':
        continue
    w = shlex.split(line)
    name, typ, data = w[0].lower().rstrip('.'), w[1].upper(), w[2:]
    zone.setdefault((name, typ), []).append(data)
def dnsfunc(name, timeout=5):
    name = name.decode() if isinstance(name, bytes) else name
    recs = zone.get((name.lower().rstrip('.'), 'TXT'))
    if not recs:
        return None
    # authheaders' DMARC lookup wants str, dkim's key lookup bytes
    txt = ''.join(recs[0])
    return txt if name.startswith('_dmarc.') else txt.encode()
import spf
def lookup(name, qtype, strict=True, timeout=20):
    name = name.decode() if isinstance(name, bytes) else name
    out = []
    for data in zone.get((name.lower().rstrip('.'), qtype), []):
        if qtype in ('TXT', 'SPF'):
            out.append(((name, qtype), [s.encode() for s in data]))
        elif qtype == 'MX':
            out.append(((name, qtype), (int(data[0]), data[1])))
        else:
            out.append(((name, qtype), data[0]))
    return out
spf.DNSLookup = lookup
import authheaders
ar = authheaders.authenticate_message(msg, 'mx.pec.test', spf=True, dkim=True, arc=True,
                                      dmarc=True, ip=ip, mail_from=mail_from, helo=helo,
                                      dnsfunc=dnsfunc)
print(ar)
"#;

fn python_ok() -> bool {
    let ok = Command::new("/usr/bin/python3")
        .args(["-c", "import dkim, spf, authheaders"])
        .status()
        .is_ok_and(|s| s.success());
    pec_testkit::env::require("python3-dkim, python3-spf, python3-authheaders", ok)
}

fn py(dir: &Path, args: &[&str], stdin: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let script = dir.join("auth.py");
    std::fs::write(&script, PY).unwrap();
    let mut child = Command::new("/usr/bin/python3")
        .arg(&script)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "python: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

/// `method=result` of each method in an A-R field (the first of each method).
fn methods(ar: &str) -> Vec<(String, String)> {
    let unfolded = ar.replace("\r\n", " ").replace('\n', " ");
    let mut out: Vec<(String, String)> = Vec::new();
    for part in unfolded.split(';').skip(1) {
        let part = part.trim();
        if let Some((m, rest)) = part.split_once('=') {
            let r: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric()).collect();
            let m = m.trim().to_string();
            if !out.iter().any(|(x, _)| *x == m) {
                out.push((m, r));
            }
        }
    }
    out
}

struct World {
    dir: tempfile::TempDir,
    key: SoftwareDkimKey,
    key_path: std::path::PathBuf,
    zone_text: String,
    auth: Authenticator,
    rt: tokio::runtime::Runtime,
}

fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let pki = TwoProviders::generate(30).unwrap().pki;
    let pem = pki.providers[0].key_pem();
    let key_path = dir.path().join("dkim.pem");
    std::fs::write(&key_path, &pem).unwrap();
    let key = SoftwareDkimKey::from_pem(pem.as_bytes()).unwrap();
    let rec = DnsRecord::new("s1", "example.org", &key).unwrap();
    let quoted: Vec<String> = rec
        .value
        .as_bytes()
        .chunks(200)
        .map(|c| format!("\"{}\"", String::from_utf8_lossy(c)))
        .collect();
    let zone_text = format!(
        "; test zone\n\
         example.org TXT \"v=spf1 ip4:192.0.2.0/24 -all\"\n\
         example.org 300 IN TXT \"google-site-verification=abc\"\n\
         soft.example TXT \"v=spf1 ip4:192.0.2.0/24 ~all\"\n\
         other.example TXT \"v=spf1 ip4:192.0.2.0/24 -all\"\n\
         helo.example.org TXT \"v=spf1 a -all\"\n\
         helo.example.org A {IN}\n\
         example.org MX 10 helo.example.org\n\
         s1._domainkey.example.org TXT {q}\n\
         s2._domainkey.example.org TXT {q}\n\
         s1._domainkey.other.example TXT {q}\n\
         _dmarc.example.org TXT \"v=DMARC1; p=reject\"\n\
         _dmarc.soft.example TXT \"v=DMARC1; p=none\"\n\
         {IN} PTR helo.example.org\n",
        q = quoted.join(" ")
    );
    std::fs::write(dir.path().join("zone.txt"), &zone_text).unwrap();
    let zone = StaticZone::parse(&zone_text).unwrap();
    assert_eq!(zone.len(), 13);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let auth = Authenticator::with_zone(zone).unwrap();
    World { dir, key, key_path, zone_text, auth, rt }
}

impl World {
    fn check(&self, msg: &[u8], ip: &str, mail_from: &str, helo: &str) -> AuthResults {
        let input = AuthInput {
            client_ip: Some(ip.parse::<IpAddr>().unwrap()),
            helo: Some(helo),
            mail_from,
            authserv_id: HOST,
        };
        self.rt.block_on(self.auth.authenticate(msg, &input))
    }

    fn py_sign(&self, sel: &str, dom: &str, msg: &[u8]) -> Vec<u8> {
        py(self.dir.path(), &["sign", sel, dom, self.key_path.to_str().unwrap()], msg)
    }

    fn authheaders(&self, msg: &[u8], ip: &str, mail_from: &str, helo: &str) -> String {
        let zone = self.dir.path().join("zone.txt");
        let out = py(self.dir.path(), &["auth", zone.to_str().unwrap(), ip, mail_from, helo], msg);
        String::from_utf8(out).unwrap()
    }
}

fn message(from: &str, body: &str) -> Vec<u8> {
    format!(
        "From: Mario Rossi <{from}>\r\nTo: utente@pec.example.it\r\nSubject: prova\r\n\
         Date: Tue, 01 Dec 2026 10:00:00 +0100\r\nMessage-ID: <m1@example.org>\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

fn spf_mailfrom(r: &AuthResults) -> AuthResult {
    r.spf.mailfrom.as_ref().unwrap().result
}

fn dmarc(r: &AuthResults) -> AuthResult {
    r.dmarc.as_ref().unwrap().result
}

#[test]
fn zone_text_is_checked_and_misses_are_nxdomain() {
    for bad in [
        "example.org",
        "example.org TXT",
        "example.org TXT \"unterminated",
        "example.org A 300.1.1.1",
        "example.org AAAA nope",
        "example.org MX x host",
        "host.example PTR a.example",
        "example.org SRV 1 2 3 x",
        "example.org TXT \"a\" junk",
    ] {
        let e = StaticZone::parse(bad).unwrap_err();
        assert!(e.to_string().starts_with("zone line 1:"), "{bad}: {e}");
        assert_eq!(e.code(), pec_core::error::Code::ProviderConfig);
    }
    let z = StaticZone::parse("# nothing\n\n; still nothing\n").unwrap();
    assert!(z.is_empty());
    // an empty zone answers every name: no SPF record, no key, no policy; never the network
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let auth = Authenticator::with_zone(z).unwrap();
    let msg = message("a@nowhere.example", "ciao");
    let input = AuthInput {
        client_ip: Some(OUT.parse().unwrap()),
        helo: Some("client.nowhere.example"),
        mail_from: "a@nowhere.example",
        authserv_id: HOST,
    };
    let r = rt.block_on(auth.authenticate(&msg, &input));
    assert_eq!(r.spf.helo.as_ref().unwrap().result, AuthResult::None);
    assert_eq!(spf_mailfrom(&r), AuthResult::None);
    assert!(r.dkim.is_empty());
    assert_eq!(dmarc(&r), AuthResult::None);
    assert_eq!(r.arc, AuthResult::None);
    check_ar_field(&r.ar_header).unwrap();
    // no client IP: no SPF; garbage: no panic, a field all the same
    let input = AuthInput { client_ip: None, helo: None, mail_from: "", authserv_id: HOST };
    let r = rt.block_on(auth.authenticate(b"\x00\xff garbage", &input));
    assert_eq!(r.spf.helo, None);
    assert_eq!(r.spf.mailfrom, None);
    assert_eq!(r.ar_header, format!("Authentication-Results: {HOST}; none"));
}

#[test]
fn ar_field_check_refuses_injection() {
    check_ar_field("Authentication-Results: mx; spf=pass\r\n\tdkim=none").unwrap();
    for bad in [
        "Authentication-Results: mx; spf=pass\r\nX-Evil: 1",
        "Authentication-Results: mx; spf=pass\nX-Evil: 1",
        "Authentication-Results: mx; spf=pass\r\n",
        "Authentication-Results: mx; spf=pass\r\n \r\n\tx",
        "Authentication-Results: mx; spf=pass\x00",
        "Authentication-Results: mx; spf=pàss",
        "X-Other: mx; spf=pass",
    ] {
        assert!(check_ar_field(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn results_match_authheaders_on_the_same_zone() {
    let w = world();
    let have_python = python_ok();
    let plain = message("mario@example.org", "ciao");
    let pec_signed = dkim::sign_message(&plain, &w.key, "example.org", "s1").unwrap();

    // pec's own DKIM signature: pass, SPF pass, DMARC pass; HELO checked too
    let r = w.check(&pec_signed, IN, "mario@example.org", "helo.example.org");
    assert_eq!(r.dkim.len(), 1);
    assert_eq!(r.dkim[0].result, AuthResult::Pass, "{r:?}");
    assert_eq!(r.dkim[0].d.as_deref(), Some("example.org"));
    assert_eq!(r.dkim[0].s.as_deref(), Some("s1"));
    assert_eq!(spf_mailfrom(&r), AuthResult::Pass);
    assert_eq!(r.spf.mailfrom.as_ref().unwrap().domain, "example.org");
    assert_eq!(r.spf.helo.as_ref().unwrap().result, AuthResult::Pass);
    assert_eq!(dmarc(&r), AuthResult::Pass);
    assert_eq!(r.dmarc.as_ref().unwrap().policy, "reject");
    assert_eq!(r.dmarc.as_ref().unwrap().header_from, "example.org");
    assert!(!r.dmarc_reject());
    check_ar_field(&r.ar_header).unwrap();
    assert!(r.ar_header.starts_with(&format!("Authentication-Results: {HOST};")));
    let m = methods(&r.ar_header);
    for want in [("spf", "pass"), ("dkim", "pass"), ("dmarc", "pass"), ("arc", "none")] {
        assert!(m.contains(&(want.0.into(), want.1.into())), "{want:?} in {}", r.ar_header);
    }
    // HELO from the wrong address: fail (`a -all`)
    let r = w.check(&pec_signed, OUT, "mario@example.org", "helo.example.org");
    assert_eq!(r.spf.helo.as_ref().unwrap().result, AuthResult::Fail);
    // DKIM still passes and aligns: DMARC passes although SPF fails
    assert_eq!(spf_mailfrom(&r), AuthResult::Fail);
    assert_eq!(dmarc(&r), AuthResult::Pass);

    if !have_python {
        return;
    }
    let py_signed = w.py_sign("s2", "example.org", &plain);
    let mut tampered = py_signed.clone();
    let n = tampered.len();
    tampered[n - 3] = b'X'; // "ciao" -> "ciXo"
    let missing_key = w.py_sign("s9", "example.org", &plain);
    let unaligned = w.py_sign("s1", "other.example", &plain);
    // (message, ip, mail_from, helo, expected ours: spf mailfrom, dkim, dmarc)
    type Case<'a> = (&'a str, &'a [u8], &'a str, &'a str, [AuthResult; 3]);
    use AuthResult::*;
    let cases: Vec<Case<'_>> = vec![
        ("python-dkim pass", &py_signed, IN, "mario@example.org", [Pass, Pass, Pass]),
        ("pec dkim pass", &pec_signed, IN, "mario@example.org", [Pass, Pass, Pass]),
        ("tampered body", &tampered, IN, "mario@example.org", [Pass, Fail, Pass]),
        ("tampered, spf fail", &tampered, OUT, "mario@example.org", [Fail, Fail, Fail]),
        ("missing key", &missing_key, OUT, "mario@example.org", [Fail, PermError, Fail]),
        ("spf fail, unsigned", &plain, OUT, "mario@example.org", [Fail, None, Fail]),
        ("spf softfail", &plain, OUT, "x@soft.example", [SoftFail, None, Fail]),
        ("spf none", &plain, OUT, "x@nospf.example", [None, None, Fail]),
        ("spf pass, unaligned", &plain, IN, "x@soft.example", [Pass, None, Fail]),
        ("dkim pass, unaligned", &unaligned, OUT, "x@soft.example", [SoftFail, Pass, Fail]),
    ];
    for (name, msg, ip, mail_from, [spf, dk, dm]) in cases {
        let r = w.check(msg, ip, mail_from, "client.example.net");
        assert_eq!(spf_mailfrom(&r), spf, "{name}: {r:?}");
        assert_eq!(r.dkim.first().map_or(None, |d| d.result), dk, "{name}: {r:?}");
        assert_eq!(dmarc(&r), dm, "{name}: {r:?}");
        assert_eq!(r.dmarc_reject(), dm == Fail, "{name}: p=reject for example.org");
        let theirs = w.authheaders(msg, ip, mail_from, "client.example.net");
        let m = methods(&theirs);
        let get = |k: &str| m.iter().find(|(x, _)| x == k).map(|(_, v)| v.clone());
        assert_eq!(get("spf").as_deref(), Some(spf.as_str()), "{name}: {theirs}");
        // authheaders checks the first signature only and says `fail` for a key it cannot
        // fetch and for a message without any signature, where mail-auth (RFC 8601 §2.7.1)
        // says `permerror` and `none`
        let dk_theirs = if matches!(dk, PermError | None) { Fail } else { dk };
        assert_eq!(get("dkim").as_deref(), Some(dk_theirs.as_str()), "{name}: {theirs}");
        assert_eq!(get("dmarc").as_deref(), Some(dm.as_str()), "{name}: {theirs}");
        assert_eq!(get("arc").as_deref(), Some("none"), "{name}: {theirs}");
    }

    // ARC: a chain sealed by python3-dkim's arc_sign verifies
    let with_ar = [
        format!("Authentication-Results: {HOST}; spf=pass smtp.mailfrom=example.org\r\n")
            .as_bytes(),
        &py_signed,
    ]
    .concat();
    let sealed = py(
        w.dir.path(),
        &["arcsign", "s2", "example.org", w.key_path.to_str().unwrap(), HOST],
        &with_ar,
    );
    let r = w.check(&sealed, IN, "mario@example.org", "helo.example.org");
    assert_eq!(r.arc, Pass, "{r:?}");
    let theirs = w.authheaders(&sealed, IN, "mario@example.org", "helo.example.org");
    assert!(methods(&theirs).contains(&("arc".into(), "pass".into())), "{theirs}");
    let mut broken = sealed.clone();
    let n = broken.len();
    broken[n - 3] = b'X';
    let r = w.check(&broken, IN, "mario@example.org", "helo.example.org");
    assert_ne!(r.arc, Pass, "{r:?}");
    assert!(!w.zone_text.is_empty());
}

/// `BuildRequest::auth_results` is the first outer field of the anomaly envelope: the signed
/// part and `postacert.eml` are byte-identical with and without it, the envelope still
/// verifies, and every other kind ignores it.
#[test]
fn auth_results_is_the_first_outer_field_of_the_anomaly_envelope_only() {
    use pec_core::build::BuildRequest;
    use pec_core::message::PecMessage;
    use pec_core::model::MessageKind;
    use pec_core::report::Verdict;
    use pec_core::verify::verify_message;

    let world = TwoProviders::generate(30).unwrap();
    let provider = world.provider(1).unwrap();
    let signer = world.signer(1).unwrap();
    let received = message("mario@example.org", "ciao");
    let ar = format!(
        "Authentication-Results: {HOST};\r\n\tspf=fail smtp.mailfrom=mario@example.org;\r\n\t\
         dkim=none;\r\n\tdmarc=fail header.from=example.org policy.dmarc=reject"
    );
    let now = pec_core::build::TimeReference::now();
    let build = |ar: Option<&str>, kind: MessageKind| {
        let mut r = BuildRequest::new(kind);
        r.time = Some(now);
        r.envelope = Some(&received);
        r.recipients = vec![format!("utente@{}", world.domain(1))];
        r.auth_results = ar.map(str::to_string);
        provider.build(&r, Some(&signer)).unwrap()
    };
    let with = build(Some(&ar), MessageKind::ANOMALY_ENVELOPE);
    let without = build(None, MessageKind::ANOMALY_ENVELOPE);
    assert!(with.starts_with(format!("{ar}\r\n").as_bytes()));
    let text = String::from_utf8_lossy(&with);
    assert_eq!(text.matches("Authentication-Results:").count(), 1);
    let a = PecMessage::parse(&with).unwrap();
    let b = PecMessage::parse(&without).unwrap();
    let (sa, sb) = (a.signed.as_ref().unwrap(), b.signed.as_ref().unwrap());
    assert_eq!(sa.content, sb.content, "the signed part changed");
    assert!(!String::from_utf8_lossy(sa.content).contains("Authentication-Results"));
    assert_eq!(a.original.as_deref(), Some(&received[..]), "postacert.eml is what was received");
    assert_eq!(a.original, b.original);
    let opts = world.verify_options().unwrap();
    assert_eq!(verify_message(&with, &opts).unwrap().verdict, Verdict::Valid);
    // other kinds: no field (the transport envelope of an original from provider 0's user)
    let original = message(&format!("mario@{}", world.domain(0)), "ciao");
    let mut r = BuildRequest::new(MessageKind::TRANSPORT_ENVELOPE);
    r.original = Some(&original);
    r.auth_results = Some(ar.clone());
    let env = world.provider(0).unwrap().build(&r, None).unwrap();
    assert!(!String::from_utf8_lossy(&env).contains("Authentication-Results"));
    // injection refused whatever the kind
    for bad in [format!("{ar}\r\nBcc: x@example.org"), "X-Evil: 1".to_string()] {
        let mut r = BuildRequest::new(MessageKind::ANOMALY_ENVELOPE);
        r.envelope = Some(&received);
        r.auth_results = Some(bad);
        assert!(provider.build(&r, None).is_err());
    }
}

/// The production resolver ([`Authenticator::with_nameservers`]) against a real DNS server
/// (dnsmasq on loopback, authoritative for `org` only): pass, fail, NXDOMAIN is
/// `none`, a name it refuses is `temperror` (recorded, never an error), a dead server too.
#[test]
fn nameservers_resolver_against_dnsmasq() {
    if !pec_testkit::env::require_tool("/usr/sbin/dnsmasq") {
        return;
    }
    let key_world = world();
    let rec = DnsRecord::new("s1", "example.org", &key_world.key).unwrap();
    let chunks: Vec<String> =
        rec.value.as_bytes().chunks(250).map(|c| String::from_utf8_lossy(c).into_owned()).collect();
    let port = std::net::UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new("/usr/sbin/dnsmasq")
        .args([
            "--keep-in-foreground",
            "--conf-file=/dev/null",
            "--no-resolv",
            "--no-hosts",
            "--bind-interfaces",
            "--listen-address=127.0.0.1",
            "--log-facility=-",
            "--pid-file",
            // authoritative for org (DMARC walks up to `_dmarc.org`), refusing anything else
            "--local=/org/",
        ])
        .arg(format!("--port={port}"))
        .arg("--txt-record=example.org,v=spf1 ip4:192.0.2.0/24 -all")
        .arg("--txt-record=_dmarc.example.org,v=DMARC1; p=reject")
        .arg(format!("--txt-record=s1._domainkey.example.org,{}", chunks.join(",")))
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(dir.path().join("dnsmasq.log")).unwrap())
        .spawn()
        .unwrap();
    let up = (0..200).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(25));
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    let log = || std::fs::read_to_string(dir.path().join("dnsmasq.log")).unwrap_or_default();
    if !up {
        let _ = child.kill();
        let _ = child.wait();
        panic!("dnsmasq did not start: {}", log());
    }
    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let server: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let auth = {
        let _g = rt.enter();
        Authenticator::with_nameservers(&[server], std::time::Duration::from_secs(2)).unwrap()
    };
    let check = |msg: &[u8], ip: &str, mail_from: &str| {
        let input = AuthInput {
            client_ip: Some(ip.parse().unwrap()),
            helo: None,
            mail_from,
            authserv_id: HOST,
        };
        rt.block_on(auth.authenticate_within(msg, &input, std::time::Duration::from_secs(30)))
    };
    let plain = message("mario@example.org", "ciao");
    let signed = dkim::sign_message(&plain, &key_world.key, "example.org", "s1").unwrap();
    let r = check(&signed, IN, "mario@example.org");
    let outcome = (spf_mailfrom(&r), r.dkim[0].result, dmarc(&r));
    let r2 = check(&plain, OUT, "mario@example.org");
    let r3 = check(&plain, OUT, "x@nothing.example.org");
    let r4 = check(&plain, OUT, "x@elsewhere.test");
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(outcome, (AuthResult::Pass, AuthResult::Pass, AuthResult::Pass), "{r:?} {}", log());
    assert_eq!((spf_mailfrom(&r2), dmarc(&r2)), (AuthResult::Fail, AuthResult::Fail), "{r2:?}");
    assert_eq!(spf_mailfrom(&r3), AuthResult::None, "NXDOMAIN: {r3:?}");
    assert_eq!(spf_mailfrom(&r4), AuthResult::TempError, "refused: {r4:?}");
    assert!(r4.ar_header.contains("spf=temperror"), "{}", r4.ar_header);
    // the server is gone: temperror, recorded, no error and no panic
    let r5 = check(&plain, IN, "mario@example.org");
    assert_eq!(spf_mailfrom(&r5), AuthResult::TempError, "{r5:?}");
    assert!(Authenticator::with_nameservers(&[], std::time::Duration::from_secs(1)).is_err());
}

/// Whatever the reverse path and HELO hold, the rendered field passes the build's check.
#[test]
fn hostile_inputs_still_give_a_writable_field() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let auth = Authenticator::with_zone(StaticZone::parse("").unwrap()).unwrap();
    for (mail_from, helo) in [
        ("rené@exämple.org", "hélo.example"),
        ("a\r\nX-Evil: 1@example.org", "x\r\n\r\ny"),
        ("\"a;b\"@example.org", "[192.0.2.1]"),
        ("@", ""),
    ] {
        let input = AuthInput {
            client_ip: Some(OUT.parse().unwrap()),
            helo: Some(helo),
            mail_from,
            authserv_id: HOST,
        };
        let msg = message("x@example.org", "y");
        let r = rt.block_on(auth.authenticate(&msg, &input));
        check_ar_field(&r.ar_header).unwrap_or_else(|e| panic!("{mail_from:?}: {e}: {r:?}"));
    }
}
