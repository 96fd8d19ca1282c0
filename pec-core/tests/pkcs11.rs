//! PKCS#11 signing on a real SoftHSM2 token, created hermetically for this test binary.
//!
//! One fixture per binary: `SOFTHSM2_CONF` must be set before the first `C_Initialize`, and
//! the module's context is process-wide. `tests/softhsm/make-token.sh` creates the token
//! (label `pec-test`, PIN 1234) with an RSA-2048 key and its certificate (id 01, label
//! `provider`) in a temporary directory.
//!
//! Tests that disturb the token (closing every session, logging out) or need it logged out
//! (wrong PIN) take the token exclusively; the others share it.

#![allow(clippy::unwrap_used)] // tests may unwrap

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

use pec_core::crypto::{DigestAlgorithm, verify_rsa_pkcs1};
use pec_core::error::{CertificateError, Error, HsmError};
use pec_core::pkcs11::{
    CertSource, MechanismChoice, Pin, Pkcs11Options, Pkcs11Signer, Pkcs11Uri, shared_context,
};
use pec_core::signer::Signer;
use pec_testkit::softhsm::{MODULE, make_token};

const KEY_URI: &str = "pkcs11:token=pec-test;object=provider;id=%01;type=private";

struct Fixture {
    dir: PathBuf,
    module: PathBuf,
    cert_der: Vec<u8>,
    other_cert_der: Vec<u8>,
}

static FIXTURE: OnceLock<Option<Fixture>> = OnceLock::new();
static TOKEN: RwLock<()> = RwLock::new(());
static FILE_COUNTER: AtomicUsize = AtomicUsize::new(0);

fn fixture() -> Option<&'static Fixture> {
    FIXTURE.get_or_init(setup).as_ref()
}

#[allow(unsafe_code)]
fn setup() -> Option<Fixture> {
    let module = PathBuf::from(MODULE);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let dir = make_token(
        &Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("pec-pkcs11-{}-{nanos}", std::process::id())),
    )?;
    // A certificate of another key, for the mismatch test.
    let out = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=other", "-days", "1"])
        .arg("-keyout")
        .arg(dir.join("other.key"))
        .args(["-outform", "DER", "-out"])
        .arg(dir.join("other.der"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // ... imported as id 42, label "other": the key-vanishes test destroys it.
    let out = Command::new("softhsm2-util")
        .env("SOFTHSM2_CONF", dir.join("softhsm2.conf"))
        .arg("--import")
        .arg(dir.join("other.key"))
        .args(["--token", "pec-test", "--label", "other", "--id", "42", "--pin", "1234"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // SAFETY: set before the first C_Initialize in this process (SoftHSM reads it there);
    // every test of this binary calls `fixture()` first, so the other test threads are
    // blocked on the OnceLock and no thread reads the environment concurrently.
    unsafe {
        std::env::set_var("SOFTHSM2_CONF", dir.join("softhsm2.conf"));
        std::env::set_var("PEC_TEST_PKCS11_PIN", "1234");
    }
    Some(Fixture {
        cert_der: std::fs::read(dir.join("cert.der")).unwrap(),
        other_cert_der: std::fs::read(dir.join("other.der")).unwrap(),
        dir,
        module,
    })
}

fn shared() -> RwLockReadGuard<'static, ()> {
    TOKEN.read().unwrap_or_else(|e| e.into_inner())
}

fn exclusive() -> RwLockWriteGuard<'static, ()> {
    TOKEN.write().unwrap_or_else(|e| e.into_inner())
}

fn uri_with_pin_file(f: &Fixture) -> Pkcs11Uri {
    let text = format!("{KEY_URI}?pin-source=file:{}", f.dir.join("pin.txt").display());
    Pkcs11Uri::parse(&text).unwrap()
}

fn open(f: &Fixture, pool: usize, mechanism: MechanismChoice) -> Pkcs11Signer {
    Pkcs11Signer::open_with(
        &f.module,
        &uri_with_pin_file(f),
        Pin::FromUri,
        CertSource::FromToken,
        Vec::new(),
        Pkcs11Options { pool_size: pool, mechanism },
    )
    .unwrap()
}

fn verifies(signer: &Pkcs11Signer, message: &[u8], signature: &[u8]) -> bool {
    verify_rsa_pkcs1(DigestAlgorithm::Sha256, signer.rsa_public_key(), message, signature)
}

fn openssl_verifies(f: &Fixture, message: &[u8], signature: &[u8]) -> bool {
    let n = FILE_COUNTER.fetch_add(1, Ordering::Relaxed);
    let data = f.dir.join(format!("data-{n}.bin"));
    let sig = f.dir.join(format!("sig-{n}.bin"));
    std::fs::write(&data, message).unwrap();
    std::fs::write(&sig, signature).unwrap();
    let out = Command::new("openssl")
        .args(["dgst", "-sha256", "-verify"])
        .arg(f.dir.join("pub.pem"))
        .arg("-signature")
        .arg(&sig)
        .arg(&data)
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&data);
    let _ = std::fs::remove_file(&sig);
    out.status.success() && String::from_utf8_lossy(&out.stdout).contains("Verified OK")
}

fn hsm_err<T: std::fmt::Debug>(r: Result<T, Error>) -> HsmError {
    match r {
        Err(Error::Hsm(e)) => e,
        other => panic!("expected an HSM error, got {other:?}"),
    }
}

#[test]
fn signs_and_openssl_verifies() {
    let Some(f) = fixture() else { return };
    let _token = shared();
    let signer = open(f, 4, MechanismChoice::Auto);
    assert!(!signer.uses_digest_info(), "SoftHSM2 offers CKM_SHA256_RSA_PKCS");
    assert_eq!(signer.certificate(), f.cert_der.as_slice(), "certificate read from the token");
    assert!(signer.chain().is_empty());
    for i in 0..5u8 {
        let message: Vec<u8> = (0..100 + usize::from(i) * 37).map(|b| b as u8 ^ i).collect();
        let signature = signer.sign(&message).unwrap();
        assert_eq!(signature.len(), 256);
        assert!(verifies(&signer, &message, &signature));
        assert!(openssl_verifies(f, &message, &signature), "openssl rejects signature {i}");
        assert!(!verifies(&signer, b"other data", &signature));
    }
    // The empty message too.
    let signature = signer.sign(b"").unwrap();
    assert!(openssl_verifies(f, b"", &signature));
}

#[test]
fn digest_info_mechanism_gives_the_same_signature() {
    let Some(f) = fixture() else { return };
    let _token = shared();
    let raw = open(f, 1, MechanismChoice::RsaPkcsDigestInfo);
    assert!(raw.uses_digest_info());
    let hashing = open(f, 1, MechanismChoice::Sha256RsaPkcs);
    let message = b"signed attributes, DER";
    let s1 = raw.sign(message).unwrap();
    assert!(verifies(&raw, message, &s1));
    assert!(openssl_verifies(f, message, &s1));
    // RSA PKCS#1 v1.5 is deterministic: both mechanisms must give the same bytes.
    assert_eq!(s1, hashing.sign(message).unwrap());
}

#[test]
fn certificate_from_file_and_pin_from_env() {
    let Some(f) = fixture() else { return };
    let _token = shared();
    let uri = Pkcs11Uri::parse(&format!("{KEY_URI}?pin-source=env:PEC_TEST_PKCS11_PIN")).unwrap();
    let chain = vec![f.other_cert_der.clone()];
    let signer = Pkcs11Signer::open(
        &f.module,
        &uri,
        Pin::FromUri,
        CertSource::Der(f.cert_der.clone()),
        chain.clone(),
        2,
    )
    .unwrap();
    assert_eq!(signer.chain(), chain.as_slice());
    let s = signer.sign(b"x").unwrap();
    assert!(verifies(&signer, b"x", &s));
    // Finding the key by id only, or by label only, works too.
    for text in ["pkcs11:token=pec-test;id=%01", "pkcs11:token=pec-test;object=provider"] {
        let signer = Pkcs11Signer::open(
            &f.module,
            &Pkcs11Uri::parse(text).unwrap(),
            Pin::Value("1234".into()),
            CertSource::FromToken,
            Vec::new(),
            1,
        )
        .unwrap();
        assert!(verifies(&signer, b"y", &signer.sign(b"y").unwrap()));
    }
}

#[test]
fn debug_does_not_leak_the_pin() {
    let Some(f) = fixture() else { return };
    let _token = shared();
    let uri = Pkcs11Uri::parse(&format!("{KEY_URI}?pin-value=1234")).unwrap();
    let signer =
        Pkcs11Signer::open(&f.module, &uri, Pin::FromUri, CertSource::FromToken, vec![], 1)
            .unwrap();
    let shown = format!("{signer:?}");
    assert!(shown.contains("pin: \"REDACTED\""), "{shown}");
    let without_paths = shown.replace(&f.dir.display().to_string(), "");
    assert!(!without_paths.contains("1234"), "{shown}");
    assert!(!format!("{uri:?}").contains("1234"));
    assert!(!format!("{:?}", Pin::Value("1234".into())).contains("1234"));
}

#[test]
fn four_threads_share_one_pool() {
    let Some(f) = fixture() else { return };
    let _token = shared();
    let signer = open(f, 4, MechanismChoice::Auto);
    let ok = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for t in 0..4u8 {
            let (signer, ok) = (&signer, &ok);
            s.spawn(move || {
                for i in 0..250u16 {
                    let message = [&[t][..], &i.to_be_bytes(), b"pool"].concat();
                    let signature = signer.sign(&message).unwrap();
                    assert!(verifies(signer, &message, &signature), "thread {t} item {i}");
                    ok.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
    });
    assert_eq!(ok.load(Ordering::Relaxed), 1000);
    assert_eq!(signer.recoveries(), 0);
}

/// Calls `C_CloseAllSessions` on the slot through the raw function list: cryptoki does not
/// wrap it. Loading the module again returns the already initialised instance.
#[allow(unsafe_code)]
fn close_all_sessions(module: &Path, slot: u64) -> cryptoki_sys::CK_RV {
    // SAFETY: the library is already loaded and initialised by the signer's context (dlopen
    // returns the same instance); C_CloseAllSessions takes a slot id by value.
    unsafe {
        let lib = cryptoki_sys::Pkcs11::new(module).unwrap();
        lib.C_CloseAllSessions(cryptoki_sys::CK_SLOT_ID::try_from(slot).unwrap())
    }
}

#[derive(Debug, Default)]
struct Tally {
    signed: usize,
    errors: Vec<String>,
}

/// Signs `threads * per_thread` items while `disturb` runs once `trigger` items are done.
/// Every item must end signed-and-valid or with a typed HSM error.
///
/// `disturb` receives the gate: it must hold the gate's write side while it touches the
/// token. SoftHSM2 2.6 crashes (use after free inside `C_Sign`) when `C_CloseAllSessions`
/// or `C_Logout` runs while another thread is inside `C_Sign` on an affected session, so
/// the fault is injected between two signatures (each `sign` holds the read side), never
/// during one. The sessions still die under the pool: the next signature on each of them
/// meets the fault.
fn batch_with_fault(
    signer: &Pkcs11Signer,
    threads: u8,
    per_thread: u16,
    trigger: usize,
    disturb: impl FnOnce(&RwLock<()>) + Send,
) -> Tally {
    let done = AtomicUsize::new(0);
    let tally = Mutex::new(Tally::default());
    let gate = RwLock::new(());
    let gate = &gate;
    std::thread::scope(|s| {
        for t in 0..threads {
            let (done, tally) = (&done, &tally);
            s.spawn(move || {
                for i in 0..per_thread {
                    let message = [&[t][..], &i.to_be_bytes(), b"fault"].concat();
                    let before = message.clone();
                    let result = {
                        let _in_flight = gate.read().unwrap_or_else(|e| e.into_inner());
                        signer.sign(&message)
                    };
                    assert_eq!(message, before, "input untouched");
                    let mut tally = tally.lock().unwrap();
                    match result {
                        Ok(sig) => {
                            assert!(verifies(signer, &message, &sig), "invalid signature");
                            tally.signed += 1;
                        }
                        Err(Error::Hsm(e)) => tally.errors.push(e.to_string()),
                        Err(e) => panic!("untyped error {e:?}"),
                    }
                    drop(tally);
                    done.fetch_add(1, Ordering::SeqCst);
                }
            });
        }
        s.spawn(|| {
            let deadline = std::time::Instant::now() + Duration::from_secs(60);
            while done.load(Ordering::SeqCst) < trigger && std::time::Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(1));
            }
            disturb(gate);
        });
    });
    let tally = tally.into_inner().unwrap();
    assert_eq!(
        tally.signed + tally.errors.len(),
        usize::from(threads) * usize::from(per_thread),
        "items lost"
    );
    tally
}

fn next_batch_all_succeeds(signer: &Pkcs11Signer) {
    let tally = batch_with_fault(signer, 4, 50, 0, |_| {});
    assert_eq!(tally.signed, 200, "pool did not recover: {:?}", tally.errors);
}

#[test]
fn sessions_closed_under_the_pool_recover() {
    let Some(f) = fixture() else { return };
    let _token = exclusive();
    let signer = open(f, 4, MechanismChoice::Auto);
    let slot = signer.slot_id();
    let tally = batch_with_fault(&signer, 4, 150, 200, |gate| {
        let _quiet = gate.write().unwrap();
        assert_eq!(close_all_sessions(&f.module, slot), cryptoki_sys::CKR_OK, "C_CloseAllSessions");
    });
    eprintln!(
        "close-all: {} signed, {} errors, {} recoveries: {:?}",
        tally.signed,
        tally.errors.len(),
        signer.recoveries(),
        tally.errors
    );
    assert!(signer.recoveries() >= 1, "no session was recovered");
    // One close-all is well within the retry budget.
    assert!(tally.errors.is_empty(), "{:?}", tally.errors);
    next_batch_all_succeeds(&signer);
}

#[test]
fn session_storm_ends_in_typed_errors_and_recovers() {
    let Some(f) = fixture() else { return };
    let _token = exclusive();
    let signer = open(f, 4, MechanismChoice::Auto);
    let slot = signer.slot_id();
    let tally = batch_with_fault(&signer, 4, 100, 50, |gate| {
        // Close every session, every millisecond, for 300 ms.
        let end = std::time::Instant::now() + Duration::from_millis(300);
        while std::time::Instant::now() < end {
            {
                let _quiet = gate.write().unwrap();
                close_all_sessions(&f.module, slot);
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    });
    eprintln!(
        "storm: {} signed, {} errors, {} recoveries; first errors: {:?}",
        tally.signed,
        tally.errors.len(),
        signer.recoveries(),
        tally.errors.iter().take(3).collect::<Vec<_>>()
    );
    assert!(signer.recoveries() >= 1);
    next_batch_all_succeeds(&signer);
}

#[test]
fn logout_under_the_pool_recovers() {
    let Some(f) = fixture() else { return };
    let _token = exclusive();
    let signer = open(f, 4, MechanismChoice::Auto);
    let ctx = shared_context(&f.module).unwrap();
    let slot = cryptoki::slot::Slot::try_from(signer.slot_id()).unwrap();
    let tally = batch_with_fault(&signer, 4, 100, 100, |gate| {
        let _quiet = gate.write().unwrap();
        // Login state is per application and token: one logout logs every session out.
        let session = ctx.open_ro_session(slot).unwrap();
        session.logout().unwrap();
    });
    assert!(signer.recoveries() >= 1, "no session was recovered");
    assert!(tally.errors.is_empty(), "{:?}", tally.errors);
    next_batch_all_succeeds(&signer);
}

#[test]
fn errors_are_typed() {
    let Some(f) = fixture() else { return };
    // Exclusive: while another signer keeps the token logged in, C_Login answers
    // CKR_USER_ALREADY_LOGGED_IN before looking at the PIN.
    let _token = exclusive();
    let pin = || Pin::Value("1234".into());
    let open_uri = |text: &str, pin: Pin| {
        Pkcs11Signer::open(
            &f.module,
            &Pkcs11Uri::parse(text).unwrap(),
            pin,
            CertSource::FromToken,
            vec![],
            1,
        )
    };

    let e = hsm_err(open_uri(KEY_URI, Pin::Value("0000".into())));
    assert_eq!(e, HsmError::PinIncorrect { ckr: "CKR_PIN_INCORRECT".into() });

    let e = hsm_err(open_uri("pkcs11:token=no-such-token;id=%01", pin()));
    assert!(matches!(e, HsmError::TokenNotFound(ref m) if m.contains("no-such-token")), "{e}");
    let e = hsm_err(open_uri("pkcs11:token=pec-test;serial=0000;id=%01", pin()));
    assert!(matches!(e, HsmError::TokenNotFound(_)), "{e}");

    let e = hsm_err(open_uri("pkcs11:token=pec-test;id=%02", pin()));
    assert!(matches!(e, HsmError::KeyNotFound(ref m) if m.contains("id=%02")), "{e}");
    let e = hsm_err(open_uri("pkcs11:token=pec-test;object=nobody", pin()));
    assert!(matches!(e, HsmError::KeyNotFound(_)), "{e}");

    let e = hsm_err(Pkcs11Signer::open(
        Path::new("/nonexistent/libpkcs11.so"),
        &Pkcs11Uri::parse(KEY_URI).unwrap(),
        pin(),
        CertSource::FromToken,
        vec![],
        1,
    ));
    assert!(matches!(e, HsmError::Module { ref path, .. } if path.contains("/nonexistent")), "{e}");
    // A file that is not a PKCS#11 module.
    let e = hsm_err(shared_context(&f.dir.join("pin.txt")));
    assert!(matches!(e, HsmError::Module { .. }), "{e}");

    let e = hsm_err(Pkcs11Uri::parse("pkcs11:token=pec test"));
    assert!(matches!(e, HsmError::Uri(_)), "{e}");
    let e = hsm_err(Pkcs11Uri::parse("https://example.org"));
    assert!(matches!(e, HsmError::Uri(_)), "{e}");

    let missing = f.dir.join("no-such-pin-file");
    let e = hsm_err(open_uri(
        &format!("{KEY_URI}?pin-source=file:{}", missing.display()),
        Pin::FromUri,
    ));
    assert!(matches!(e, HsmError::Uri(ref m) if m.contains("no-such-pin-file")), "{e}");
    let e = hsm_err(open_uri(KEY_URI, Pin::FromUri));
    assert!(matches!(e, HsmError::Uri(ref m) if m.contains("pin-source")), "{e}");

    let e = hsm_err(open_uri("pkcs11:token=pec-test;id=%01;type=cert", pin()));
    assert!(matches!(e, HsmError::Uri(ref m) if m.contains("type=private")), "{e}");

    // Certificates: not DER, or of another key.
    let open_cert = |der: Vec<u8>| {
        Pkcs11Signer::open(
            &f.module,
            &Pkcs11Uri::parse(KEY_URI).unwrap(),
            pin(),
            CertSource::Der(der),
            vec![],
            1,
        )
    };
    assert!(matches!(
        open_cert(b"not a certificate".to_vec()),
        Err(Error::Certificate(CertificateError::BadCertificate(_)))
    ));
    assert!(matches!(
        open_cert(f.other_cert_der.clone()),
        Err(Error::Certificate(CertificateError::KeyMismatch))
    ));
    assert!(matches!(
        Pkcs11Signer::open(
            &f.module,
            &Pkcs11Uri::parse(KEY_URI).unwrap(),
            pin(),
            CertSource::FromToken,
            vec![],
            0
        ),
        Err(Error::InvalidArgument(_))
    ));

    // Every message names what went wrong.
    for e in [
        HsmError::PinIncorrect { ckr: "CKR_PIN_INCORRECT".into() },
        HsmError::TokenNotFound("pkcs11:token=x".into()),
    ] {
        assert!(!e.to_string().is_empty());
    }
    // And the right PIN still works afterwards.
    assert!(open_uri(KEY_URI, pin()).is_ok());
}

#[test]
fn key_destroyed_under_the_pool_is_a_typed_error() {
    let Some(f) = fixture() else { return };
    let _token = exclusive();
    let uri = Pkcs11Uri::parse("pkcs11:token=pec-test;id=%42;type=private").unwrap();
    let signer = Pkcs11Signer::open(
        &f.module,
        &uri,
        Pin::Value("1234".into()),
        CertSource::Der(f.other_cert_der.clone()),
        vec![],
        2,
    )
    .unwrap();
    let s = signer.sign(b"before").unwrap();
    assert!(verifies(&signer, b"before", &s));

    // Another session of this process (logged in: login state is per application) destroys
    // the key while the pool holds sessions and a handle to it.
    let ctx = shared_context(&f.module).unwrap();
    let slot = cryptoki::slot::Slot::try_from(signer.slot_id()).unwrap();
    let session = ctx.open_rw_session(slot).unwrap();
    let template = [
        cryptoki::object::Attribute::Class(cryptoki::object::ObjectClass::PRIVATE_KEY),
        cryptoki::object::Attribute::Id(vec![0x42]),
    ];
    let keys = session.find_objects(&template).unwrap();
    assert_eq!(keys.len(), 1);
    session.destroy_object(keys[0]).unwrap();
    drop(session);

    let message = b"after".to_vec();
    let e = hsm_err(signer.sign(&message));
    assert!(matches!(e, HsmError::KeyNotFound(ref m) if m.contains("id=%42")), "{e}");
    assert_eq!(message, b"after", "input untouched");
    assert!(signer.recoveries() >= 1);
}

#[test]
fn signer_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Pkcs11Signer>();
}
