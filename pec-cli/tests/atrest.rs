//! `pec encrypt` and `pec decrypt` against OpenSSL and SoftHSM2 (issue 19, part 3):
//! `openssl cms -decrypt` returns the exact bytes for each recipient of what `pec encrypt`
//! wrote; `pec decrypt` opens what `openssl cms -encrypt` wrote (OAEP-SHA256 and PKCS#1 v1.5,
//! AES-256; DER and streamed BER); a SoftHSM2 key decrypts through PKCS#11; hostile input
//! exits 2 with a typed error; a 30 MiB file round-trips in bounded memory.
//!
//! Skipped locally without openssl (softhsm2, /usr/bin/time); a failure under `CI=true`.
#![allow(clippy::unwrap_used)] // tests may unwrap

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use pec_testkit::env::TempDir;
use pec_testkit::require_tool;
use pec_testkit::smtp::output_with_stdin;

/// Two recipients (archive, auditor) and a stranger, made by openssl as an administrator
/// would; a binary sample with CR, LF and NUL bytes.
struct Fixture {
    dir: TempDir,
}

fn fixture() -> Option<&'static Fixture> {
    static F: OnceLock<Option<Fixture>> = OnceLock::new();
    F.get_or_init(|| {
        if !require_tool("openssl") {
            return None;
        }
        let dir = TempDir::new("atrest-cli");
        for name in ["archive", "auditor", "stranger"] {
            let out = Command::new("openssl")
                .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30"])
                .args(["-subj", &format!("/O=pec test/CN={name}")])
                .arg("-keyout")
                .arg(dir.path(&format!("{name}.key")))
                .arg("-out")
                .arg(dir.path(&format!("{name}.pem")))
                .output()
                .unwrap();
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        }
        let sample: Vec<u8> = (0..150_001u32)
            .map(|i| match i % 97 {
                0 => b'\r',
                1 => b'\n',
                2 => 0,
                _ => (i.wrapping_mul(2_654_435_761) >> 24) as u8,
            })
            .collect();
        std::fs::write(dir.path("sample.bin"), sample).unwrap();
        Some(Fixture { dir })
    })
    .as_ref()
}

impl Fixture {
    fn p(&self, name: &str) -> String {
        self.dir.path(name).display().to_string()
    }

    fn sample(&self) -> Vec<u8> {
        std::fs::read(self.dir.path("sample.bin")).unwrap()
    }
}

fn pec(args: &[&str], stdin: Option<&[u8]>, env: &[(&str, &Path)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_pec"));
    c.args(args);
    for (k, v) in env {
        c.env(k, v);
    }
    output_with_stdin(&mut c, stdin)
}

fn ok(out: &Output) {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn openssl(args: &[&str]) -> Output {
    let out = Command::new("openssl").args(args).output().unwrap();
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    out
}

/// `openssl cms -decrypt` as recipient `who`, returning the plaintext.
fn openssl_decrypt(f: &Fixture, file: &str, who: &str) -> Vec<u8> {
    // a file of its own per call: the tests run in parallel on one fixture directory, and a
    // shared name let one test read another's half-written output
    static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let out = f.p(&format!("{who}.{n}.openssl.out"));
    openssl(&[
        "cms",
        "-decrypt",
        "-binary",
        "-inform",
        "DER",
        "-in",
        file,
        "-recip",
        &f.p(&format!("{who}.pem")),
        "-inkey",
        &f.p(&format!("{who}.key")),
        "-out",
        &out,
    ]);
    std::fs::read(out).unwrap()
}

#[test]
fn openssl_decrypts_for_each_recipient_what_pec_encrypted() {
    let Some(f) = fixture() else { return };
    let sample = f.sample();
    for (flag, printed) in [
        (None, "rsaesOaep"),
        (Some("--oaep-sha1"), "rsaesOaep"),
        (Some("--pkcs1"), "rsaEncryption"),
    ] {
        let out = f.p("pec.p7m");
        let (archive, auditor, sample_path) =
            (f.p("archive.pem"), f.p("auditor.pem"), f.p("sample.bin"));
        let mut args = vec!["encrypt", "--to", &archive, "--to", &auditor];
        args.extend(flag);
        args.extend(["--out", &out, &sample_path]);
        ok(&pec(&args, None, &[]));
        for who in ["archive", "auditor"] {
            assert!(openssl_decrypt(f, &out, who) == sample, "{flag:?} {who}");
        }
        let text = openssl(&["cms", "-cmsout", "-print", "-inform", "DER", "-in", &out]).stdout;
        let text = String::from_utf8_lossy(&text);
        assert!(text.contains(printed), "{flag:?}: {text}");
        assert!(text.contains("aes-256-cbc"), "{text}");
        if flag.is_none() {
            assert!(text.contains("sha256"), "OAEP parameters name SHA-256: {text}");
        }
        // the stranger is not a recipient
        let e = Command::new("openssl")
            .args(["cms", "-decrypt", "-inform", "DER", "-in", &out, "-recip"])
            .args([f.p("stranger.pem"), "-inkey".into(), f.p("stranger.key")])
            .output()
            .unwrap();
        assert!(!e.status.success());
    }
}

#[test]
fn openssl_decrypts_the_streamed_form_from_standard_input() {
    let Some(f) = fixture() else { return };
    let sample = f.sample();
    let out = pec(
        &["encrypt", "--to", &f.p("archive.pem"), "--to", &f.p("auditor.pem"), "-"],
        Some(&sample),
        &[],
    );
    ok(&out);
    assert_eq!(&out.stdout[..2], &[0x30, 0x80], "BER, indefinite length");
    std::fs::write(f.dir.path("stream.p7m"), &out.stdout).unwrap();
    assert!(openssl_decrypt(f, &f.p("stream.p7m"), "auditor") == sample);
    // and pec reads it back from standard input
    let back = pec(&["decrypt", "--key", &f.p("archive.key"), "-"], Some(&out.stdout), &[]);
    ok(&back);
    assert!(back.stdout == sample);
}

#[test]
fn pec_decrypts_what_openssl_encrypted() {
    let Some(f) = fixture() else { return };
    let sample = f.sample();
    let oaep = ["-keyopt", "rsa_padding_mode:oaep", "-keyopt", "rsa_oaep_md:sha256"];
    let cases: [(&str, &[&str], &str); 4] = [
        ("oaep-der", &oaep, "-aes256"),
        ("pkcs1-der", &[], "-aes256"),
        ("oaep-stream", &oaep, "-aes256"),
        ("pkcs1-aes128", &[], "-aes128"),
    ];
    for (name, keyopt, cipher) in cases {
        let file = f.p(&format!("{name}.p7m"));
        let mut args = vec!["cms", "-encrypt", "-binary", cipher, "-outform", "DER"];
        if name.ends_with("stream") {
            args.push("-stream");
        }
        let (archive, auditor, sample_path) =
            (f.p("archive.pem"), f.p("auditor.pem"), f.p("sample.bin"));
        args.extend(["-in", &sample_path, "-out", &file, "-recip", &archive]);
        args.extend(keyopt);
        args.extend(["-recip", &auditor]);
        args.extend(keyopt);
        openssl(&args);
        for who in ["archive", "auditor"] {
            let key = f.p(&format!("{who}.key"));
            let cert = f.p(&format!("{who}.pem"));
            // with the certificate (the recipient it names), and with the key alone
            for with_cert in [true, false] {
                let mut a = vec!["decrypt", "--key", &key];
                if with_cert {
                    a.extend(["--cert", &cert]);
                }
                a.push(&file);
                let out = pec(&a, None, &[]);
                ok(&out);
                assert!(out.stdout == sample, "{name} {who} {with_cert}");
            }
        }
        // the drill
        let out = pec(&["decrypt", "--check-key", "--key", &f.p("auditor.key"), &file], None, &[]);
        ok(&out);
        assert!(out.stdout.is_empty());
        assert!(String::from_utf8_lossy(&out.stderr).contains("opens recipient"));
    }
}

/// The error code pec printed (`pec: error NNN (name): ...`).
fn error_code(out: &Output) -> String {
    let text = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{text}");
    text.split_whitespace().nth(2).unwrap_or_default().to_owned()
}

#[test]
fn hostile_input_exits_2_with_a_typed_error() {
    let Some(f) = fixture() else { return };
    let enc = f.p("hostile.p7m");
    ok(&pec(
        &["encrypt", "--to", &f.p("archive.pem"), "--out", &enc, &f.p("sample.bin")],
        None,
        &[],
    ));
    let bytes = std::fs::read(&enc).unwrap();
    let key = f.p("archive.key");

    // truncated: 201 (truncated), and --out leaves nothing behind
    std::fs::write(f.dir.path("cut.p7m"), &bytes[..bytes.len() / 2]).unwrap();
    let dest = f.dir.path("cut.out");
    let out = pec(
        &["decrypt", "--key", &key, "--out", dest.to_str().unwrap(), &f.p("cut.p7m")],
        None,
        &[],
    );
    assert_eq!(error_code(&out), "201");
    assert!(!dest.exists());
    // the wrong recipient: 407 (bad_key), with and without the certificate
    let out = pec(&["decrypt", "--key", &f.p("stranger.key"), &enc], None, &[]);
    assert_eq!(error_code(&out), "407");
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a recipient"));
    let out = pec(
        &["decrypt", "--key", &f.p("stranger.key"), "--cert", &f.p("stranger.pem"), &enc],
        None,
        &[],
    );
    assert_eq!(error_code(&out), "407");
    // a key that does not match its certificate
    let out = pec(&["decrypt", "--key", &key, "--cert", &f.p("auditor.pem"), &enc], None, &[]);
    assert_eq!(error_code(&out), "407");
    // garbage DER: 200 (malformed), a PEM certificate given as the input too
    std::fs::write(f.dir.path("garbage.p7m"), b"\x30\x03\x02\x01\x00garbage").unwrap();
    let out = pec(&["decrypt", "--key", &key, &f.p("garbage.p7m")], None, &[]);
    assert_eq!(error_code(&out), "200");
    let out = pec(&["decrypt", "--key", &key, &f.p("archive.pem")], None, &[]);
    assert_eq!(error_code(&out), "200");
    // a recipient that is not a certificate: 405 (bad_certificate)
    let out = pec(&["encrypt", "--to", &key, &f.p("sample.bin")], None, &[]);
    assert_eq!(error_code(&out), "405");
    // a missing input: 105 (io)
    let out = pec(&["decrypt", "--key", &key, &f.p("nonexistent")], None, &[]);
    assert_eq!(error_code(&out), "105");
    // usage: neither --key nor --pkcs11-uri, and no --to
    assert_eq!(pec(&["decrypt", &enc], None, &[]).status.code(), Some(64));
    assert_eq!(pec(&["encrypt", &enc], None, &[]).status.code(), Some(64));
}

#[test]
fn softhsm_key_decrypts_through_pkcs11() {
    let Some(f) = fixture() else { return };
    let Some(token) = pec_testkit::softhsm::make_token(&f.dir.path("hsm")) else { return };
    let conf = token.join("softhsm2.conf");
    let env = [("SOFTHSM2_CONF", conf.as_path())];
    let cert = token.join("cert.pem").display().to_string();
    let sample_path = f.p("sample.bin");
    let sample = f.sample();
    let hsm = |file: &str, extra: &[&str]| {
        let pin = format!("file:{}", token.join("pin.txt").display());
        let mut a = vec![
            "decrypt",
            "--pkcs11-uri",
            "pkcs11:token=pec-test;object=provider;type=private",
            "--pkcs11-module",
            pec_testkit::softhsm::MODULE,
            "--pin-source",
            &pin,
        ];
        a.extend(extra);
        a.push(file);
        pec(&a, None, &env)
    };
    // pec encrypt with the transports SoftHSM2 decrypts: OAEP-SHA1 and PKCS#1 v1.5
    for flag in ["--oaep-sha1", "--pkcs1"] {
        let file = f.p(&format!("hsm{flag}.p7m"));
        ok(&pec(
            &[
                "encrypt",
                "--to",
                &cert,
                "--to",
                &f.p("archive.pem"),
                flag,
                "--out",
                &file,
                &sample_path,
            ],
            None,
            &[],
        ));
        let out = hsm(&file, &[]);
        ok(&out);
        assert!(out.stdout == sample, "{flag}");
        // the certificate may also come from a file
        let out = hsm(&file, &["--cert", &cert]);
        ok(&out);
        assert!(out.stdout == sample, "{flag} --cert");
    }
    // openssl's PKCS#1 v1.5 output
    let file = f.p("hsm-openssl.p7m");
    openssl(&[
        "cms",
        "-encrypt",
        "-binary",
        "-aes256",
        "-outform",
        "DER",
        "-in",
        &sample_path,
        "-out",
        &file,
        &cert,
    ]);
    let out = hsm(&file, &[]);
    ok(&out);
    assert!(out.stdout == sample);
    // OAEP-SHA256: SoftHSM2 refuses the mechanism; a typed PKCS#11 error, exit 2
    let file = f.p("hsm-sha256.p7m");
    ok(&pec(&["encrypt", "--to", &cert, "--out", &file, &sample_path], None, &[]));
    let out = hsm(&file, &[]);
    let code = error_code(&out);
    assert!(
        code.starts_with('5'),
        "a PKCS#11 code, got {code}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // a file for other recipients: not a recipient (407)
    let file = f.p("hsm-other.p7m");
    ok(&pec(
        &["encrypt", "--to", &f.p("archive.pem"), "--oaep-sha1", "--out", &file, &sample_path],
        None,
        &[],
    ));
    assert_eq!(error_code(&hsm(&file, &[])), "407");
}

/// Peak resident memory (KiB) of `pec args` under `/usr/bin/time`.
fn peak_kib(args: &[&str]) -> u64 {
    let out = Command::new("/usr/bin/time")
        .args(["-f", "PEAK %M"])
        .arg(env!("CARGO_BIN_EXE_pec"))
        .args(args)
        .stdout(Stdio::null())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{args:?}: {text}");
    text.lines().find_map(|l| l.strip_prefix("PEAK ")).unwrap().trim().parse().unwrap()
}

#[test]
fn thirty_mib_round_trip_in_bounded_memory() {
    let Some(f) = fixture() else { return };
    if !require_tool("/usr/bin/time") {
        return;
    }
    const SIZE: usize = 30 * 1024 * 1024;
    let big: PathBuf = f.dir.path("big.bin");
    let data: Vec<u8> =
        (0..SIZE).map(|i| (i as u32).wrapping_mul(2_654_435_761).to_be_bytes()[0]).collect();
    std::fs::write(&big, &data).unwrap();
    let enc = f.p("big.p7m");
    let dec = f.p("big.out");
    let (archive, auditor, auditor_key) =
        (f.p("archive.pem"), f.p("auditor.pem"), f.p("auditor.key"));
    let peaks = |input: &str, enc: &str, dec: &str| {
        let e = peak_kib(&["encrypt", "--to", &archive, "--to", &auditor, "--out", enc, input]);
        let d = peak_kib(&["decrypt", "--key", &auditor_key, "--out", dec, enc]);
        (e, d)
    };
    std::fs::write(f.dir.path("tiny.bin"), b"tiny").unwrap();
    let (e0, d0) = peaks(&f.p("tiny.bin"), &f.p("tiny.p7m"), &f.p("tiny.out"));
    let (e, d) = peaks(big.to_str().unwrap(), &enc, &dec);
    eprintln!(
        "peak resident memory: encrypt {e} KiB, decrypt {d} KiB for {} MiB; {e0} KiB and \
         {d0} KiB for 4 bytes",
        SIZE >> 20
    );
    assert!(std::fs::read(&dec).unwrap() == data, "round trip");
    // bounded: 30 MiB cost no more than 4 MiB beyond what 4 bytes cost (one copy of the
    // file would be 30 MiB)
    for (what, kib, base) in [("encrypt", e, e0), ("decrypt", d, d0)] {
        assert!(kib < base + 4 * 1024, "{what} peaked at {kib} KiB, {base} KiB for 4 bytes");
    }
    // and OpenSSL agrees on the 30 MiB file
    assert!(openssl_decrypt(f, &enc, "archive") == data);
}

/// Without the feature `openpgp`, `--pgp` is accepted by the parser and refused with exit 2
/// (the feature's own tests: `tests/atrest_pgp.rs`).
#[cfg(not(feature = "openpgp"))]
#[test]
fn pgp_without_the_feature_exits_2() {
    let out = pec(&["encrypt", "--pgp", "key.asc", "-"], Some(b"x"), &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("feature `openpgp`"));
    assert!(out.stdout.is_empty());
}
