//! Encryption at rest without external tools: round trips for each recipient and each key
//! transport, DER and BER forms, the key drill, and hostile input (every truncation, garbage,
//! bit flips, a wrong key, foreign content types), which must give typed errors, never a
//! panic. The OpenSSL and SoftHSM2 interoperability tests are in pec-cli/tests/atrest.rs.
#![allow(clippy::unwrap_used)] // tests may unwrap

use std::sync::OnceLock;

use chrono::{Duration, Utc};
use pec_core::atrest::{
    self, KeyTransport, Recipient, RecipientKey, SoftwareKey, decrypt_bytes, encrypt_bytes,
};
use pec_core::error::{AtRestError, Error};
use pec_core::{Code, Result};
use pec_testkit::pki::{ProviderSpec, TestPki};

fn pki() -> &'static TestPki {
    static P: OnceLock<TestPki> = OnceLock::new();
    P.get_or_init(|| {
        let specs = [
            ProviderSpec { name: "Archive", domain: "archive.example.it" },
            ProviderSpec { name: "Auditor", domain: "auditor.example.it" },
            ProviderSpec { name: "Stranger", domain: "stranger.example.it" },
        ];
        TestPki::generate(&specs, Utc::now() - Duration::days(1), Utc::now() + Duration::days(30))
            .unwrap()
    })
}

fn recipients(t: KeyTransport) -> Vec<Recipient> {
    pki().providers[..2].iter().map(|p| Recipient::from_der(&p.cert_der, t).unwrap()).collect()
}

fn key(i: usize, with_cert: bool) -> SoftwareKey {
    let p = &pki().providers[i];
    let cert = p.cert_pem();
    SoftwareKey::from_pem(p.key_pem().as_bytes(), with_cert.then_some(cert.as_bytes())).unwrap()
}

fn sample(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
}

fn at_rest(e: &Error) -> &AtRestError {
    match e {
        Error::AtRest(a) => a,
        other => panic!("not an at-rest error: {other:?}"),
    }
}

#[test]
fn every_recipient_opens_every_transport() {
    let data = sample(100_003);
    for t in [KeyTransport::OaepSha256, KeyTransport::OaepSha1, KeyTransport::Pkcs1] {
        let enc = encrypt_bytes(&data, &recipients(t)).unwrap();
        for i in 0..2 {
            for with_cert in [true, false] {
                let k = key(i, with_cert);
                let mut out = Vec::new();
                let info = atrest::decrypt(enc.as_slice(), &k, &mut out).unwrap();
                assert_eq!(out, data, "{t} recipient {i} cert {with_cert}");
                assert_eq!(info.transport, t);
                assert_eq!(info.cipher, "aes-256-cbc");
                assert_eq!(info.recipients, 2);
                assert_eq!(info.plaintext_len, data.len() as u64);
                if with_cert {
                    // recipients are written as a DER SET (sorted): find ours by its index
                    assert!(info.recipient < 2);
                }
            }
        }
    }
}

#[test]
fn empty_and_block_sized_contents_round_trip() {
    for len in [0, 1, 15, 16, 17, 65_536, 65_537] {
        let data = sample(len);
        let enc = encrypt_bytes(&data, &recipients(KeyTransport::OaepSha256)).unwrap();
        assert_eq!(decrypt_bytes(&enc, &key(0, true)).unwrap(), data, "{len}");
    }
}

#[test]
fn ber_indefinite_form_round_trips_and_reports_the_digest() {
    let data = sample(200_000);
    let mut enc = Vec::new();
    let info =
        atrest::encrypt(data.as_slice(), None, &recipients(KeyTransport::OaepSha256), &mut enc)
            .unwrap();
    assert_eq!(&enc[..2], &[0x30, 0x80], "indefinite length without a known size");
    assert_eq!(info.plaintext_len, data.len() as u64);
    assert_eq!(info.output_len, enc.len() as u64);
    assert_eq!(info.plaintext_sha256, pec_core::crypto::DigestAlgorithm::Sha256.digest(&data));
    assert_eq!(decrypt_bytes(&enc, &key(1, false)).unwrap(), data);
    // the DER form is what a known length gives
    let der = encrypt_bytes(&data, &recipients(KeyTransport::OaepSha256)).unwrap();
    assert_eq!(der[0], 0x30);
    assert_ne!(der[1], 0x80);
}

#[test]
fn check_key_unwraps_without_reading_the_content() {
    let enc = encrypt_bytes(&sample(1000), &recipients(KeyTransport::OaepSha256)).unwrap();
    let info = atrest::check_key(enc.as_slice(), &key(0, true)).unwrap();
    assert_eq!(info.plaintext_len, 0);
    // a cut content does not matter to the drill
    let cut = &enc[..enc.len() - 100];
    assert!(atrest::check_key(cut, &key(1, false)).is_ok());
    assert!(atrest::check_key(cut, &key(2, false)).is_err());
}

#[test]
fn a_stranger_is_not_a_recipient() {
    let enc = encrypt_bytes(&sample(5000), &recipients(KeyTransport::OaepSha256)).unwrap();
    for with_cert in [true, false] {
        let e = decrypt_bytes(&enc, &key(2, with_cert)).unwrap_err();
        assert_eq!(at_rest(&e), &AtRestError::NotARecipient { recipients: 2 }, "{with_cert}");
        assert_eq!(e.code(), Code::BadKey);
    }
    // PKCS#1 v1.5 with a certificate that names a recipient but the wrong key's bytes:
    // the key transport must fail, reported as a decryption failure (never a panic)
    let enc = encrypt_bytes(&sample(5000), &recipients(KeyTransport::Pkcs1)).unwrap();
    assert!(decrypt_bytes(&enc, &key(2, false)).is_err());
}

#[test]
fn a_key_and_a_foreign_certificate_are_refused() {
    let p = &pki().providers;
    let e = SoftwareKey::from_pem(p[0].key_pem().as_bytes(), Some(p[1].cert_pem().as_bytes()))
        .unwrap_err();
    assert_eq!(e.code(), Code::BadKey);
    let e = SoftwareKey::from_pem(b"garbage", None).unwrap_err();
    assert_eq!(e.code(), Code::BadKey);
    let e = Recipient::from_der(b"garbage", KeyTransport::OaepSha256).unwrap_err();
    assert_eq!(e.code(), Code::BadCertificate);
    let e = Recipient::from_pem_or_der(
        b"-----BEGIN FOO-----\nAA==\n-----END FOO-----\n",
        KeyTransport::Pkcs1,
    )
    .unwrap_err();
    assert_eq!(e.code(), Code::BadCertificate);
}

#[test]
fn encrypt_needs_recipients_and_the_announced_length() {
    let e = encrypt_bytes(b"x", &[]).unwrap_err();
    assert_eq!(e.code(), Code::InvalidParameter);
    let r = recipients(KeyTransport::OaepSha256);
    let e = atrest::encrypt(&b"short"[..], Some(10), &r, &mut Vec::new()).unwrap_err();
    assert_eq!(at_rest(&e), &AtRestError::LengthMismatch { announced: 10, read: 5 });
    let e = atrest::encrypt(&b"longer than that"[..], Some(3), &r, &mut Vec::new()).unwrap_err();
    assert!(matches!(at_rest(&e), AtRestError::LengthMismatch { announced: 3, .. }));
}

/// Decrypting must return an error and never panic; the error is one of the typed ones.
fn hostile(input: &[u8], k: &dyn RecipientKey) -> Result<Vec<u8>> {
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| decrypt_bytes(input, k)));
    r.unwrap_or_else(|_| panic!("panic on input of {} bytes", input.len()))
}

#[test]
fn every_truncation_is_a_typed_error() {
    for form in [Some(()), None] {
        let data = sample(3000);
        let mut enc = Vec::new();
        let len = form.map(|()| data.len() as u64);
        atrest::encrypt(data.as_slice(), len, &recipients(KeyTransport::OaepSha256), &mut enc)
            .unwrap();
        let k = key(0, true);
        for cut in 0..enc.len() {
            let e = hostile(&enc[..cut], &k).unwrap_err();
            match at_rest(&e) {
                AtRestError::Truncated(_) => assert_eq!(e.code(), Code::Truncated),
                // a BER cut right after a whole chunk ends in a missing end-of-contents
                AtRestError::Malformed(_) if len.is_none() => {}
                other => panic!("cut at {cut}: {other:?}"),
            }
        }
    }
}

#[test]
fn garbage_and_bit_flips_are_typed_errors() {
    let k = key(0, true);
    for g in [
        &b""[..],
        b"\x00",
        b"\x30",
        b"\x30\x80",
        b"hello world",
        &[0xFF; 64],
        &[0x30, 0x84, 0xFF, 0xFF, 0xFF, 0xFF],
    ] {
        let e = hostile(g, &k).unwrap_err();
        assert!(
            matches!(at_rest(&e), AtRestError::Malformed(_) | AtRestError::Truncated(_)),
            "{g:?}: {e:?}"
        );
    }
    let data = sample(500);
    let enc = encrypt_bytes(&data, &recipients(KeyTransport::OaepSha256)).unwrap();
    // flip every bit of the first 700 bytes (the whole structure before the ciphertext and
    // its first blocks), then every 97th byte of the rest
    let positions: Vec<usize> =
        (0..enc.len().min(700)).chain((700..enc.len()).step_by(97)).collect();
    let mut errors = 0;
    for &pos in &positions {
        for bit in 0..8 {
            let mut m = enc.clone();
            m[pos] ^= 1 << bit;
            // CBC has no integrity, and the other recipient's fields do not concern this key:
            // some flips decrypt (to the same or to garbled bytes); none may panic
            match hostile(&m, &k) {
                Ok(_) => {}
                Err(e) => {
                    errors += 1;
                    assert!(matches!(e, Error::AtRest(_) | Error::Certificate(_)), "{pos}: {e:?}");
                }
            }
        }
    }
    assert!(errors > 0);
    // trailing bytes after the structure
    let mut m = enc.clone();
    m.push(0);
    assert!(matches!(at_rest(&hostile(&m, &k).unwrap_err()), AtRestError::Malformed(_)));
}

#[test]
fn other_content_types_are_named() {
    let k = key(0, true);
    // ContentInfo { id-signedData, [0] {} }
    let signed = [
        0x30, 0x0F, 0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x02, 0xA0, 0x02,
        0x30, 0x00,
    ];
    let e = hostile(&signed, &k).unwrap_err();
    assert!(matches!(at_rest(&e), AtRestError::Malformed(m) if m.contains("1.2.840.113549.1.7.2")));
    // ContentInfo { id-ct-authEnvelopedData, ... }
    let auth = [
        0x30, 0x11, 0x06, 0x0B, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x09, 0x10, 0x01, 0x17,
        0xA0, 0x02, 0x30, 0x00,
    ];
    let e = hostile(&auth, &k).unwrap_err();
    assert_eq!(e.code(), Code::UnsupportedAlgorithm);
}

#[test]
fn the_atrest_section_loads_its_recipients() {
    let dir = pec_testkit::env::TempDir::new("atrest-config");
    std::fs::write(dir.path("archive.pem"), pki().providers[0].cert_pem()).unwrap();
    std::fs::write(dir.path("auditor.der"), &pki().providers[1].cert_der).unwrap();
    let c: atrest::AtRestConfig = toml::from_str(
        "recipients = [\"archive.pem\", \"auditor.der\"]\nkey_transport = \"oaep-sha1\"\n",
    )
    .unwrap();
    let r = c.load_recipients(dir.dir()).unwrap();
    assert_eq!(r.len(), 2);
    assert!(r.iter().all(|r| r.transport() == KeyTransport::OaepSha1));
    let enc = encrypt_bytes(b"log export", &r).unwrap();
    assert_eq!(decrypt_bytes(&enc, &key(1, true)).unwrap(), b"log export");

    let bad: atrest::AtRestConfig =
        toml::from_str("recipients = [\"archive.pem\"]\nkey_transport = \"rsa\"\n").unwrap();
    assert_eq!(bad.load_recipients(dir.dir()).unwrap_err().code(), Code::ProviderConfig);
    let none = atrest::AtRestConfig::default();
    assert_eq!(none.load_recipients(dir.dir()).unwrap_err().code(), Code::ProviderConfig);
    let missing: atrest::AtRestConfig = toml::from_str("recipients = [\"nope.pem\"]").unwrap();
    assert_eq!(missing.load_recipients(dir.dir()).unwrap_err().code(), Code::Io);
    assert!(toml::from_str::<atrest::AtRestConfig>("recipients = []\nother = 1").is_err());
}
