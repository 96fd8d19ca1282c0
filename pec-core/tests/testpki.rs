//! The test kit's generated PKI is accepted by the real OpenSSL: chain, name constraints, CRL.

use std::process::Command;

use pec_testkit::{TempDir, TwoProviders, pem, require_tool};

#[test]
fn openssl_accepts_the_generated_pki() {
    if !require_tool("openssl") {
        return;
    }
    let pki = TwoProviders::generate(30).unwrap().pki;
    let tmp = TempDir::new("testpki");
    let dir = tmp.dir();
    std::fs::write(dir.join("root.pem"), pki.root.cert_pem()).unwrap();
    std::fs::write(dir.join("ca.pem"), pki.ca.cert_pem()).unwrap();
    std::fs::write(dir.join("p1.pem"), pki.providers[0].cert_pem()).unwrap();
    std::fs::write(dir.join("p2.pem"), pki.providers[1].cert_pem()).unwrap();
    std::fs::write(dir.join("crl.pem"), pem("X509 CRL", &pki.crl_der)).unwrap();
    for p in ["p1.pem", "p2.pem"] {
        let out = Command::new("openssl")
            .current_dir(dir)
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
}
