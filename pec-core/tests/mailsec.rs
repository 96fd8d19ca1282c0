//! DKIM signing in the core (feature `mailauth`): the field is prepended and the S/MIME-signed
//! message after it is byte-identical; a PEM key and a [`Signer`] key give the same record.
#![cfg(feature = "mailauth")]

use std::sync::Arc;

use chrono::Utc;
use pec_core::mailsec::dkim::{self, DkimKey, DnsRecord, SignerDkimKey, SoftwareDkimKey};
use pec_core::signer::Signer;
use pec_testkit::TwoProviders;

#[test]
fn dkim_prepends_one_field_and_keeps_every_byte() {
    let world = TwoProviders::generate(30).unwrap();
    let signer: Arc<dyn Signer> = Arc::new(world.signer(0).unwrap());
    let unsigned = b"From: posta-certificata@pec.example.it\r\nTo: x@pec.other.it\r\nSubject: prova\r\nX-Trasporto: posta-certificata\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nciao\r\n";
    let signed = pec_core::smime::sign_message(unsigned, signer.as_ref(), Utc::now()).unwrap();
    let pem_key = SoftwareDkimKey::from_pem(world.pki.providers[0].key_pem().as_bytes()).unwrap();
    let hsm_like = SignerDkimKey::new(Arc::clone(&signer)).unwrap();
    for key in [&pem_key as &dyn DkimKey, &hsm_like] {
        let out = dkim::sign_message(&signed, key, "pec.example.it", "s1").unwrap();
        assert!(out.ends_with(&signed), "the S/MIME-signed message changed");
        let field = std::str::from_utf8(&out[..out.len() - signed.len()]).unwrap();
        assert!(
            field.starts_with(
                "DKIM-Signature: v=1; a=rsa-sha256; s=s1; d=pec.example.it; c=relaxed/relaxed;"
            ),
            "{field}"
        );
        assert!(field.ends_with("\r\n"));
        // one field: every further line is a continuation
        assert!(
            field.trim_end().split("\r\n").skip(1).all(|l| l.starts_with([' ', '\t'])),
            "{field}"
        );
        assert!(!field.contains("l="), "{field}");
    }
    let a = DnsRecord::new("s1", "pec.example.it", &pem_key).unwrap();
    let b = DnsRecord::new("s1", "pec.example.it", &hsm_like).unwrap();
    assert_eq!(a, b);
    assert_eq!(a.name, "s1._domainkey.pec.example.it");
    assert!(a.value.starts_with("v=DKIM1; k=rsa; p=MIIB"), "{}", a.value);
    let line = a.zone_line();
    assert!(line.starts_with("s1._domainkey.pec.example.it. IN TXT ( \""));
    let joined: String = line.split('"').skip(1).step_by(2).collect();
    assert_eq!(joined, a.value);
    assert!(line.split('"').skip(1).step_by(2).all(|s| s.len() <= 255));
    // bad selector, bad domain, no header
    assert!(dkim::sign_message(&signed, &pem_key, "pec.example.it", "a b").is_err());
    assert!(dkim::sign_message(&signed, &pem_key, "pec example.it", "s1").is_err());
    assert!(DnsRecord::new("s1", "", &pem_key).is_err());
}
