//! The embedded test PKI is accepted by the real OpenSSL: chain, name constraints, CRL.

use std::process::Command;

use chrono::{Duration, Utc};
use pec_core::testpki::{ProviderSpec, TestPki, pem};

fn openssl_available() -> bool {
    let ok = Command::new("openssl").arg("version").output().is_ok_and(|o| o.status.success());
    if !ok && std::env::var("CI").as_deref() == Ok("true") {
        panic!("openssl is required when CI=true");
    }
    if !ok {
        eprintln!("skipping: openssl not found");
    }
    ok
}

#[test]
fn openssl_accepts_the_generated_pki() {
    if !openssl_available() {
        return;
    }
    let now = Utc::now();
    let pki = TestPki::generate(
        &[
            ProviderSpec { name: "Example PEC S.p.A.", domain: "pec.example.it" },
            ProviderSpec { name: "Other PEC S.r.l.", domain: "pec.other.it" },
        ],
        now - Duration::days(1),
        now + Duration::days(30),
    )
    .unwrap();
    let dir = std::env::temp_dir().join(format!("pec-testpki-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("root.pem"), pki.root.cert_pem()).unwrap();
    std::fs::write(dir.join("ca.pem"), pki.ca.cert_pem()).unwrap();
    std::fs::write(dir.join("p1.pem"), pki.providers[0].cert_pem()).unwrap();
    std::fs::write(dir.join("p2.pem"), pki.providers[1].cert_pem()).unwrap();
    std::fs::write(dir.join("crl.pem"), pem("X509 CRL", &pki.crl_der)).unwrap();
    for p in ["p1.pem", "p2.pem"] {
        let out = Command::new("openssl")
            .current_dir(&dir)
            .args(["verify", "-x509_strict", "-purpose", "smimesign", "-CAfile", "root.pem"])
            .args(["-untrusted", "ca.pem", "-crl_check", "-CRLfile", "crl.pem", p])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{p}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}
