//! Certificate path validation and CRLs on the repository's test PKI (`tests/pki/make-pki.sh`,
//! run once per test binary) and on the real Aruba chains of `../shared/interop`.

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use base64::Engine as _;
use chrono::{DateTime, TimeZone, Utc};
use der::{Decode, Encode};
use pec_core::chain::{self, TrustStore, describe_certificate, validate_path};
use pec_core::revocation::{CrlFetcher, CrlStore};
use pec_core::smime::{Reason, RevocationStatus};

use pec_testkit::{interop_dir, require_path};

/// The test PKI, created once per test binary; `None` (skip) when openssl is missing.
fn pki() -> Option<&'static Path> {
    pec_testkit::openssl_pki()
}

fn read(name: &str) -> Vec<u8> {
    std::fs::read(pki().unwrap().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn trust() -> TrustStore {
    let mut t = TrustStore::new();
    assert_eq!(t.add_pem_bundle(&read("root.pem")).unwrap(), 1);
    t
}

fn crls(files: &[&str]) -> CrlStore {
    let mut s = CrlStore::new();
    for f in files {
        assert!(s.add(&read(f)).unwrap() >= 1);
    }
    s
}

fn now() -> DateTime<Utc> {
    Utc::now()
}

fn chain_files() -> Vec<Vec<u8>> {
    vec![read("pec-ca.der")]
}

#[test]
fn valid_provider_with_crls() {
    if pki().is_none() {
        return;
    }
    let trust = trust();
    let store = crls(&["pec-ca.crl", "root.crl.pem"]);
    for leaf in ["provider.der", "provider2.der"] {
        let out = validate_path(&read(leaf), &chain_files(), &trust, now(), Some(&store));
        assert_eq!(out.reasons, vec![], "{leaf}: {out:?}");
        assert_eq!(out.revocation, RevocationStatus::Good, "{leaf}");
        assert_eq!(out.chain.len(), 3, "{out:?}");
        assert!(out.chain[0].starts_with("CN=Posta Certificata "), "{out:?}");
        assert_eq!(out.chain[1], "CN=PEC CA, O=Example Trust Services, C=IT");
        assert_eq!(out.chain[2], "CN=Example Root CA, O=Example Trust Services, C=IT");
    }
    // The same chain again is served from the signature cache.
    let cached = trust.cached_signatures();
    assert!(cached >= 2);
    let out = validate_path(&read("provider.der"), &chain_files(), &trust, now(), Some(&store));
    assert!(out.reasons.is_empty());
    assert_eq!(trust.cached_signatures(), cached);
}

#[test]
fn chain_in_any_order_and_with_the_root() {
    if pki().is_none() {
        return;
    }
    let cands = vec![read("root.der"), read("untrusted-root.der"), read("pec-ca.der")];
    let out = validate_path(&read("provider.der"), &cands, &trust(), now(), None);
    assert!(out.reasons.is_empty(), "{out:?}");
    assert_eq!(out.chain.len(), 3);
    assert_eq!(out.revocation, RevocationStatus::NotChecked);
}

#[test]
fn expired_now_valid_then() {
    if pki().is_none() {
        return;
    }
    let trust = trust();
    let out = validate_path(&read("expired.der"), &chain_files(), &trust, now(), None);
    assert_eq!(out.reasons, vec![Reason::Expired]);
    assert_eq!(out.chain.len(), 3, "the path is reported with the finding");
    let then = Utc.with_ymd_and_hms(2015, 6, 1, 0, 0, 0).unwrap();
    let out = validate_path(&read("expired.der"), &chain_files(), &trust, then, None);
    assert_eq!(out.reasons, vec![], "{out:?}");
    let before = Utc.with_ymd_and_hms(2014, 6, 1, 0, 0, 0).unwrap();
    let out = validate_path(&read("expired.der"), &chain_files(), &trust, before, None);
    assert_eq!(out.reasons, vec![Reason::NotYetValid]);
}

#[test]
fn revoked() {
    if pki().is_none() {
        return;
    }
    let store = crls(&["pec-ca.crl", "root.crl.pem"]);
    let out = validate_path(&read("revoked.der"), &chain_files(), &trust(), now(), Some(&store));
    assert_eq!(out.reasons, vec![Reason::Revoked]);
    assert_eq!(out.revocation, RevocationStatus::Revoked);
    let serial = String::from_utf8(read("revoked.serial")).unwrap();
    let serial: Vec<u8> = (0..serial.trim().len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&serial.trim()[i..i + 2], 16).unwrap())
        .collect();
    assert!(store.lists_serial(&serial));
    // PEM form of the same CRL, and without the root's CRL the intermediate is unknown but the
    // revocation of the signer still wins.
    let store = crls(&["pec-ca.crl.pem"]);
    let out = validate_path(&read("revoked.der"), &chain_files(), &trust(), now(), Some(&store));
    assert_eq!(out.revocation, RevocationStatus::Revoked);
    assert_eq!(out.reasons, vec![Reason::Revoked]);
}

#[test]
fn untrusted_root_and_name_constraints() {
    if pki().is_none() {
        return;
    }
    let trust = trust();
    let cands = vec![read("untrusted-root.der"), read("pec-ca.der")];
    let out = validate_path(&read("other-root.der"), &cands, &trust, now(), None);
    assert_eq!(out.reasons, vec![Reason::UntrustedChain]);
    assert_eq!(out.revocation, RevocationStatus::NotChecked);
    assert_eq!(out.chain.len(), 2, "best-effort chain: {out:?}");

    let out = validate_path(&read("nc-violation.der"), &chain_files(), &trust, now(), None);
    assert_eq!(out.reasons, vec![Reason::UntrustedChain], "{out:?}");
    let out = validate_path(&read("unknown-critical.der"), &chain_files(), &trust, now(), None);
    assert_eq!(out.reasons, vec![Reason::UntrustedChain], "{out:?}");

    // Trusting the other root makes it valid.
    let mut both = trust.clone();
    both.add_der(&read("untrusted-root.der")).unwrap();
    let out = validate_path(&read("other-root.der"), &cands, &both, now(), None);
    assert!(out.reasons.is_empty(), "{out:?}");
}

#[test]
fn crl_states() {
    if pki().is_none() {
        return;
    }
    let trust = trust();
    let leaf = read("provider.der");
    let expired = crls(&["pec-ca-expired.crl.pem", "root.crl.pem"]);
    let out = validate_path(&leaf, &chain_files(), &trust, now(), Some(&expired));
    assert_eq!(out.reasons, vec![Reason::RevocationUnknown]);
    assert_eq!(out.revocation, RevocationStatus::Unknown);

    let out = validate_path(&leaf, &chain_files(), &trust, now(), None);
    assert_eq!((out.reasons.clone(), out.revocation), (vec![], RevocationStatus::NotChecked));
    let empty = CrlStore::new();
    let out = validate_path(&leaf, &chain_files(), &trust, now(), Some(&empty));
    assert_eq!((out.reasons, out.revocation), (vec![], RevocationStatus::NotChecked));

    // A CRL of the wrong issuer covers nothing; a CRL signed by another key is refused.
    let wrong = crls(&["root.crl.pem"]);
    let out = validate_path(&leaf, &chain_files(), &trust, now(), Some(&wrong));
    assert_eq!(out.revocation, RevocationStatus::Unknown);
    let mut tampered = read("pec-ca.crl");
    let n = tampered.len();
    tampered[n - 5] ^= 1;
    let mut bad = CrlStore::new();
    bad.add(&tampered).unwrap();
    bad.add(&read("root.crl.pem")).unwrap();
    let out = validate_path(&read("revoked.der"), &chain_files(), &trust, now(), Some(&bad));
    assert_eq!(out.revocation, RevocationStatus::Unknown);

    // Bundles and bad input.
    let mut all = CrlStore::new();
    assert_eq!(all.add(&read("crls.pem")).unwrap(), 2);
    assert_eq!(all.len(), 2);
    assert!(all.add(b"garbage").is_err());
    assert!(all.add(&[0x30, 0x03, 0x02, 0x01, 0x00]).is_err());
    assert!(all.add(&read("provider.pem")).is_err());
    assert_eq!(all.len(), 2);
}

struct MapFetcher {
    calls: AtomicUsize,
    urls: Mutex<Vec<String>>,
}

impl CrlFetcher for MapFetcher {
    fn fetch(&self, url: &str) -> pec_core::Result<Vec<u8>> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.urls.lock().unwrap().push(url.to_owned());
        let file = match url {
            "http://crl.example.invalid/pec-ca.crl" => "pec-ca.crl",
            "http://crl.example.invalid/root.crl" => "root.crl.pem",
            _ => {
                return Err(pec_core::Error::Io { path: url.into(), message: "404".into() });
            }
        };
        Ok(read(file))
    }
}

#[test]
fn fetcher_fills_the_cache() {
    if pki().is_none() {
        return;
    }
    let trust = trust();
    let fetcher = Arc::new(MapFetcher { calls: AtomicUsize::new(0), urls: Mutex::new(vec![]) });
    let mut store = CrlStore::new();
    store.set_fetcher(fetcher.clone());
    assert!(store.is_empty());
    let out = validate_path(&read("provider.der"), &chain_files(), &trust, now(), Some(&store));
    assert_eq!(out.reasons, vec![]);
    assert_eq!(out.revocation, RevocationStatus::Good);
    assert_eq!(fetcher.calls.load(Ordering::SeqCst), 2);
    assert_eq!(store.len(), 2);
    let out = validate_path(&read("revoked.der"), &chain_files(), &trust, now(), Some(&store));
    assert_eq!(out.revocation, RevocationStatus::Revoked);
    assert_eq!(fetcher.calls.load(Ordering::SeqCst), 2, "served from the cache");
    // An unreachable distribution point is not hammered.
    let mut both = trust.clone();
    both.add_der(&read("untrusted-root.der")).unwrap();
    for _ in 0..3 {
        let out = validate_path(&read("other-root.der"), &[], &both, now(), Some(&store));
        assert_eq!(out.revocation, RevocationStatus::Unknown);
    }
    assert_eq!(fetcher.calls.load(Ordering::SeqCst), 3);
}

/// A one-thread HTTP server on a loopback listener: answers each connection with the next
/// response (after the request headers), and returns the requests it read.
#[cfg(feature = "crl-http")]
fn serve(
    listener: std::net::TcpListener,
    responses: Vec<Vec<u8>>,
) -> std::thread::JoinHandle<Vec<String>> {
    use std::io::{Read, Write};
    std::thread::spawn(move || {
        let mut requests = Vec::new();
        for resp in responses {
            let Ok((mut s, _)) = listener.accept() else { break };
            s.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
            let mut req = Vec::new();
            let mut buf = [0u8; 4096];
            while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                match s.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => req.extend_from_slice(&buf[..n]),
                }
                // a TLS ClientHello has no blank line: keep its first bytes and stop
                if req.first() == Some(&0x16) {
                    break;
                }
            }
            requests.push(String::from_utf8_lossy(&req).into_owned());
            let _ = s.write_all(&resp);
        }
        requests
    })
}

#[cfg(feature = "crl-http")]
fn ok_response(body: &[u8], chunked: bool) -> Vec<u8> {
    let mut resp = Vec::new();
    if chunked {
        resp.extend_from_slice(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        );
        for part in body.chunks(300) {
            resp.extend_from_slice(format!("{:x}\r\n", part.len()).as_bytes());
            resp.extend_from_slice(part);
            resp.extend_from_slice(b"\r\n");
        }
        resp.extend_from_slice(b"0\r\n\r\n");
    } else {
        resp.extend_from_slice(
            format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/pkix-crl\r\n\
                 Content-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            )
            .as_bytes(),
        );
        resp.extend_from_slice(body);
    }
    resp
}

#[cfg(feature = "crl-http")]
fn header<'a>(req: &'a str, name: &str) -> Option<&'a str> {
    req.split("\r\n").skip(1).find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then_some(v.trim())
    })
}

#[cfg(feature = "crl-http")]
#[test]
fn http_fetcher_against_a_local_listener() {
    use std::net::TcpListener;

    use pec_core::revocation::HttpCrlFetcher;

    let crl: Vec<u8> = (0..5000u32).map(|i| (i * 7 % 251) as u8).collect();
    let fetcher = HttpCrlFetcher::new();
    for chunked in [false, true] {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = serve(listener, vec![ok_response(&crl, chunked)]);
        let got = fetcher.fetch(&format!("http://127.0.0.1:{port}/pec-ca.crl")).unwrap();
        let req = server.join().unwrap().remove(0);
        assert!(req.starts_with("GET /pec-ca.crl HTTP/1.1\r\n"), "{req}");
        assert_eq!(header(&req, "host"), Some(format!("127.0.0.1:{port}").as_str()), "{req}");
        assert!(header(&req, "accept").is_some_and(|a| a.contains("application/pkix-crl")));
        assert_eq!(got, crl, "chunked={chunked}");
    }
    // a redirect is followed (to a second listener)
    let second = TcpListener::bind("127.0.0.1:0").unwrap();
    let to = format!("http://127.0.0.1:{}/moved.crl", second.local_addr().unwrap().port());
    let s2 = serve(second, vec![ok_response(&crl, false)]);
    let first = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = first.local_addr().unwrap().port();
    let s1 = serve(
        first,
        vec![
            format!("HTTP/1.1 302 Found\r\nLocation: {to}\r\nContent-Length: 0\r\n\r\n")
                .into_bytes(),
        ],
    );
    assert_eq!(fetcher.fetch(&format!("http://127.0.0.1:{port}/x.crl")).unwrap(), crl);
    s1.join().unwrap();
    assert!(s2.join().unwrap()[0].starts_with("GET /moved.crl "));
    // refused: nothing listening, not http(s), a status other than 200
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    assert!(fetcher.fetch(&format!("http://127.0.0.1:{port}/x.crl")).is_err());
    assert!(fetcher.fetch("ldap://127.0.0.1/cn=crl").is_err());
    assert!(fetcher.fetch("file:///etc/passwd").is_err());
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server =
        serve(listener, vec![b"HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\nno\n".to_vec()]);
    assert!(fetcher.fetch(&format!("http://127.0.0.1:{port}/x.crl")).is_err());
    server.join().unwrap();
}

#[cfg(feature = "crl-http")]
#[test]
fn http_fetcher_size_limit_and_timeout() {
    use std::net::TcpListener;
    use std::time::Duration;

    use pec_core::revocation::HttpCrlFetcher;

    // oversize, with and without Content-Length
    for with_length in [true, false] {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut resp = if with_length {
            b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n".to_vec()
        } else {
            b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n".to_vec()
        };
        resp.extend_from_slice(&[0u8; 100_000]);
        let server = serve(listener, vec![resp]);
        let small = HttpCrlFetcher { max_size: 1000, ..HttpCrlFetcher::new() };
        let e = small.fetch(&format!("http://127.0.0.1:{port}/big.crl")).unwrap_err();
        assert!(e.to_string().contains("too large"), "{e}");
        server.join().unwrap();
    }
    // a server that accepts and never answers: bounded by the timeout
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let slow = HttpCrlFetcher { timeout: Duration::from_millis(300), ..HttpCrlFetcher::new() };
    let t = Instant::now();
    assert!(slow.fetch(&format!("http://127.0.0.1:{port}/slow.crl")).is_err());
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    drop(listener);
}

#[cfg(feature = "crl-http")]
#[test]
fn http_fetcher_https_and_ipv6() {
    use std::net::TcpListener;

    use pec_core::revocation::HttpCrlFetcher;

    let fetcher = HttpCrlFetcher::new();
    // https: the fetcher speaks TLS (a ClientHello, record type 0x16, version 3.x); this
    // listener is not a TLS server, so the fetch fails cleanly
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = serve(listener, vec![b"HTTP/1.1 200 OK\r\n\r\n".to_vec()]);
    assert!(fetcher.fetch(&format!("https://127.0.0.1:{port}/x.crl")).is_err());
    let hello = server.join().unwrap().remove(0);
    let hello = hello.as_bytes();
    assert_eq!(hello.first(), Some(&0x16), "a TLS handshake record");
    assert_eq!(hello.get(1), Some(&0x03));
    // an IPv6 literal: bracketed in the URL and in the Host header
    let Ok(listener) = TcpListener::bind("[::1]:0") else {
        eprintln!("no IPv6 loopback here: IPv6 case skipped");
        return;
    };
    let port = listener.local_addr().unwrap().port();
    let server = serve(listener, vec![ok_response(b"crl", false)]);
    assert_eq!(fetcher.fetch(&format!("http://[::1]:{port}/v6.crl")).unwrap(), b"crl");
    let req = server.join().unwrap().remove(0);
    assert_eq!(header(&req, "host"), Some(format!("[::1]:{port}").as_str()), "{req}");
}

#[test]
fn describe() {
    if pki().is_none() {
        return;
    }
    let s = describe_certificate(&read("provider.der")).unwrap();
    assert_eq!(s.subject, "CN=Posta Certificata Example PEC S.p.A., O=Example PEC S.p.A., C=IT");
    assert_eq!(s.issuer, "CN=PEC CA, O=Example Trust Services, C=IT");
    assert_eq!(s.email.as_deref(), Some("posta-certificata@pec.example.it"));
    let out = Command::new("openssl")
        .args(["x509", "-noout", "-serial", "-fingerprint", "-sha1", "-in"])
        .arg(pki().unwrap().join("provider.pem"))
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains(&format!("serial={}\n", s.serial)), "{text} vs {}", s.serial);
    let fp = s.sha1.to_uppercase();
    let fp: Vec<String> = (0..20).map(|i| fp[2 * i..2 * i + 2].to_string()).collect();
    assert!(text.contains(&fp.join(":")), "{text}");
    assert_eq!(s.der, read("provider.der"));
    assert!(s.not_before.unwrap() < now() && now() < s.not_after.unwrap());
    let e = describe_certificate(&read("expired.der")).unwrap();
    assert_eq!(e.not_after.unwrap(), Utc.with_ymd_and_hms(2016, 1, 1, 0, 0, 0).unwrap());
}

#[test]
fn trust_store_loading() {
    if pki().is_none() {
        return;
    }
    let mut t = TrustStore::new();
    assert_eq!(t.add_pem_bundle(&read("root.pem")).unwrap(), 1);
    assert_eq!(t.add_pem_bundle(&read("root.pem")).unwrap(), 0, "deduplicated");
    t.add_der(&read("root.der")).unwrap();
    assert_eq!(t.len(), 1);
    assert!(t.contains(&read("root.der")));
    assert!(t.add_der(b"\x30\x03\x02\x01\x00").is_err());
    assert!(t.add_pem_bundle(&read("provider.key")).is_err());
    let mut bundle = read("root.pem");
    bundle.extend_from_slice(&read("untrusted-root.pem"));
    assert_eq!(t.add_pem_bundle(&bundle).unwrap(), 1);
    assert_eq!(t.len(), 2);
    assert_eq!(chain::parse_certificates(&read("chain.pem")).unwrap(), vec![read("pec-ca.der")]);
}

#[test]
fn add_dir_hashed() {
    if pki().is_none() {
        return;
    }
    let dir = std::env::temp_dir().join(format!("pec-chain-hashed-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for f in ["root.pem", "untrusted-root.pem", "pec-ca.pem"] {
        std::fs::copy(pki().unwrap().join(f), dir.join(f)).unwrap();
    }
    let status = Command::new("openssl").arg("rehash").arg(&dir).status().unwrap();
    assert!(status.success());
    // Noise that add_dir must skip (or deduplicate).
    std::fs::copy(pki().unwrap().join("root.der"), dir.join("root.cer")).unwrap();
    std::fs::write(dir.join("README"), "not a certificate").unwrap();
    std::fs::copy(pki().unwrap().join("provider.key"), dir.join("key.pem")).unwrap();
    std::fs::create_dir(dir.join("subdir")).unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(dir.join("missing.pem"), dir.join("dangling.pem")).unwrap();
    let links = std::fs::read_dir(&dir)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().ends_with(".0"))
        .count();
    assert!(links >= 3, "openssl rehash made {links} links");
    let mut t = TrustStore::new();
    assert_eq!(t.add_dir(&dir).unwrap(), 3);
    assert_eq!(t.len(), 3);
    let out = validate_path(&read("provider.der"), &[], &t, now(), None);
    assert!(out.reasons.is_empty(), "PEC CA as anchor: {out:?}");
    assert_eq!(out.chain.len(), 2);
    assert!(t.add_dir(&dir.join("nope")).is_err());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn add_dir_system_store() {
    let dir = Path::new("/etc/ssl/certs");
    if !require_path(dir) {
        return;
    }
    let started = Instant::now();
    let mut t = TrustStore::new();
    let n = t.add_dir(dir).unwrap();
    eprintln!("/etc/ssl/certs: {n} anchors in {:?}", started.elapsed());
    assert!(n > 100, "{n}");
    assert_eq!(n, t.len());
}

// ------------------------------------------------------------------------------------------
// Real chains: the Aruba receipts of ../shared/interop
// ------------------------------------------------------------------------------------------

/// The DER certificates of the `smime.p7s` part of a signed message.
fn p7s_certificates(message: &[u8]) -> Vec<Vec<u8>> {
    let text = String::from_utf8_lossy(message);
    let at = text.find("filename=\"smime.p7s\"").expect("smime.p7s part");
    let body_start = at + text[at..].find("\n\n").or_else(|| text[at..].find("\r\n\r\n")).unwrap();
    let b64: String = text[body_start..]
        .lines()
        .map(str::trim)
        .skip_while(|l| l.is_empty())
        .take_while(|l| !l.is_empty() && !l.starts_with("--"))
        .collect();
    let p7s = base64::engine::general_purpose::STANDARD.decode(b64).unwrap();
    let ci = cms::content_info::ContentInfo::from_der(&p7s).unwrap();
    let sd: cms::signed_data::SignedData = ci.content.decode_as().unwrap();
    let mut out = Vec::new();
    for choice in sd.certificates.unwrap().0.iter() {
        if let cms::cert::CertificateChoices::Certificate(c) = choice {
            let der = c.to_der().unwrap();
            // The re-encoding must be the bytes as sent (checked: they are inside the blob).
            assert!(p7s.windows(der.len()).any(|w| w == der.as_slice()));
            out.push(der);
        }
    }
    out
}

#[test]
fn real_aruba_chains() {
    let Some(dir) = interop_dir() else { return };
    let system = Path::new("/etc/ssl/certs");
    if !require_path(system) {
        return;
    }
    let mut trust = TrustStore::new();
    trust.add_dir(system).unwrap();
    let mut seen = 0;
    for entry in std::fs::read_dir(dir.join("OCA-l10n-italy")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if !(name.starts_with("ACCETTAZIONE") || name.starts_with("CONSEGNA")) {
            continue;
        }
        seen += 1;
        let certs = p7s_certificates(&std::fs::read(&path).unwrap());
        assert_eq!(certs.len(), 2, "{name}");
        let leaf = certs
            .iter()
            .find(|c| {
                describe_certificate(c).unwrap().email.is_some_and(|e| e.ends_with("@pec.aruba.it"))
            })
            .expect("Aruba signer")
            .clone();
        let summary = describe_certificate(&leaf).unwrap();
        assert_eq!(
            summary.subject,
            "CN=Posta Certificata ARUBA PEC, O=Aruba PEC S.p.A., L=Ponte San Pietro, ST=Bergamo, C=IT"
        );
        assert_eq!(summary.serial, "0BE0F2B61308A8B6");
        assert!(summary.issuer.starts_with("CN=AgID CA1, OU=Area Soluzioni"), "{}", summary.issuer);

        let signing = Utc.with_ymd_and_hms(2018, 11, 14, 0, 0, 0).unwrap();
        let started = Instant::now();
        let out = validate_path(&leaf, &certs, &trust, signing, None);
        eprintln!("{name}: {:?} in {:?}", out, started.elapsed());
        assert_eq!(out.reasons, vec![], "{name}: {out:?}");
        assert_eq!(out.chain.len(), 3);
        assert!(out.chain[2].starts_with("CN=Actalis Authentication Root CA"), "{out:?}");

        let out = validate_path(&leaf, &certs, &trust, now(), None);
        assert!(out.reasons.contains(&Reason::Expired), "{out:?}");
        assert!(!out.reasons.contains(&Reason::UntrustedChain), "{out:?}");

        // Without the intermediate, or with only the leaf trusted elsewhere: untrusted.
        let out = validate_path(&leaf, &[], &trust, signing, None);
        assert_eq!(out.reasons, vec![Reason::UntrustedChain]);
        // Before AgID CA1 existed (2018-04-04) the intermediate is not yet valid.
        let early = Utc.with_ymd_and_hms(2018, 1, 10, 0, 0, 0).unwrap();
        let out = validate_path(&leaf, &certs, &trust, early, None);
        assert_eq!(out.reasons, vec![Reason::NotYetValid], "{out:?}");
    }
    assert_eq!(seen, 2);
}

// ------------------------------------------------------------------------------------------
// Hostile input
// ------------------------------------------------------------------------------------------

#[test]
fn hostile_certificates() {
    if pki().is_none() {
        return;
    }
    let trust = trust();
    let leaf = read("provider.der");
    let garbage: Vec<Vec<u8>> = vec![
        vec![],
        vec![0x30],
        vec![0x30, 0x84, 0xff, 0xff, 0xff, 0xff],
        vec![0x30, 0x80, 0x00, 0x00],
        b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n".to_vec(),
        vec![0xff; 64],
        leaf[..leaf.len() / 2].to_vec(),
        leaf[..leaf.len() - 1].to_vec(),
    ];
    for g in &garbage {
        let out = validate_path(g, &chain_files(), &trust, now(), None);
        assert_eq!(out.reasons, vec![Reason::UntrustedChain]);
        assert!(describe_certificate(g).is_err());
        let out = validate_path(&leaf, std::slice::from_ref(g), &trust, now(), None);
        assert_eq!(out.reasons, vec![Reason::UntrustedChain]);
        let mut cands = garbage.clone();
        cands.push(read("pec-ca.der"));
        let out = validate_path(&leaf, &cands, &trust, now(), None);
        assert!(out.reasons.is_empty(), "garbage candidates are skipped");
    }
    // Truncations of every length never panic.
    let ca = read("pec-ca.der");
    for n in (0..ca.len()).step_by(7) {
        let _ = validate_path(&leaf, &[ca[..n].to_vec()], &trust, now(), None);
        let _ = describe_certificate(&ca[..n]);
    }
    // A flipped bit in the signer's signature: no path.
    let mut bad = leaf.clone();
    let n = bad.len();
    bad[n - 3] ^= 0x40;
    let out = validate_path(&bad, &chain_files(), &trust, now(), None);
    assert_eq!(out.reasons, vec![Reason::UntrustedChain]);
}

#[test]
fn thousand_candidates_bounded() {
    if pki().is_none() {
        return;
    }
    let trust = trust();
    let leaf = read("provider.der");
    let ca = read("pec-ca.der");
    // 1000 distinct look-alikes of the intermediate (same subject and key, broken signature).
    let mut fakes = Vec::new();
    for i in 0..1000u32 {
        let mut f = ca.clone();
        let n = f.len();
        f[n - 1] = (i & 0xff) as u8;
        f[n - 2] = (i >> 8) as u8 ^ 0x5a;
        if f != ca {
            fakes.push(f);
        }
    }
    // A few look-alikes first: the search backtracks to the real one.
    let mut few: Vec<Vec<u8>> = fakes.iter().take(5).cloned().collect();
    few.push(ca.clone());
    let out = validate_path(&leaf, &few, &trust, now(), None);
    assert!(out.reasons.is_empty(), "{out:?}");
    let started = Instant::now();
    let out = validate_path(&leaf, &fakes, &trust, now(), None);
    assert_eq!(out.reasons, vec![Reason::UntrustedChain]);
    let mut with_real = vec![ca.clone()];
    with_real.extend(fakes.iter().cloned());
    let out = validate_path(&leaf, &with_real, &trust, now(), None);
    assert!(out.reasons.is_empty(), "{out:?}");
    let elapsed = started.elapsed();
    eprintln!("1000 candidates twice: {elapsed:?}");
    assert!(elapsed.as_secs() < 10, "{elapsed:?}");
}

#[test]
fn trust_store_is_shareable() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<TrustStore>();
    assert_send_sync::<CrlStore>();
    if pki().is_none() {
        return;
    }
    let trust = Arc::new(trust());
    let leaf = read("provider.der");
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let trust = Arc::clone(&trust);
            let leaf = leaf.clone();
            std::thread::spawn(move || {
                for _ in 0..50 {
                    let out = validate_path(&leaf, &chain_files(), &trust, Utc::now(), None);
                    assert!(out.reasons.is_empty());
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

#[test]
fn name_constraints_of_the_anchor_apply() {
    if pki().is_none() {
        return;
    }
    let mut t = TrustStore::new();
    t.add_der(&read("pec-ca.der")).unwrap();
    let out = validate_path(&read("nc-violation.der"), &[], &t, now(), None);
    assert_eq!(out.reasons, vec![Reason::UntrustedChain]);
    for ok in ["provider.der", "provider2.der"] {
        let out = validate_path(&read(ok), &[], &t, now(), None);
        assert!(out.reasons.is_empty(), "{ok}: {out:?}");
    }
}

/// Steady-state cost of a cached chain against one RSA-2048 verification.
#[test]
#[ignore = "performance: cargo test --release -p pec-core --test chain -- --ignored --nocapture"]
fn perf_steady_state() {
    if pki().is_none() {
        return;
    }
    use x509_cert::Certificate;
    let trust = trust();
    let store = crls(&["pec-ca.crl", "root.crl.pem"]);
    let leaf = read("provider.der");
    let cands = chain_files();
    let at = now();
    let n = 20_000;
    assert!(validate_path(&leaf, &cands, &trust, at, Some(&store)).reasons.is_empty());
    let started = Instant::now();
    for _ in 0..n {
        let out = validate_path(&leaf, &cands, &trust, at, Some(&store));
        assert!(out.reasons.is_empty());
    }
    let per_path = started.elapsed().as_secs_f64() / f64::from(n);

    let ca = Certificate::from_der(&cands[0]).unwrap();
    let key = ca.tbs_certificate().subject_public_key_info().subject_public_key.raw_bytes();
    let cert = Certificate::from_der(&leaf).unwrap();
    let tbs = cert.tbs_certificate().to_der().unwrap();
    let sig = cert.signature().raw_bytes();
    let alg = pec_core::crypto::DigestAlgorithm::Sha256;
    assert!(pec_core::crypto::verify_rsa_pkcs1(alg, key, &tbs, sig));
    let started = Instant::now();
    for _ in 0..n {
        assert!(pec_core::crypto::verify_rsa_pkcs1(alg, key, &tbs, sig));
    }
    let per_verify = started.elapsed().as_secs_f64() / f64::from(n);
    eprintln!(
        "validate_path (cached, with CRLs): {:.1} µs; RSA-2048 verify: {:.1} µs; ratio {:.2}",
        per_path * 1e6,
        per_verify * 1e6,
        per_path / per_verify
    );
}
