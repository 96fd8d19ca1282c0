//! `pec encrypt --pgp` (feature `openpgp`; issue 19 part 3, MAILSEC.md §3): `gpg --decrypt`
//! (GnuPG 2.2) opens pec's OpenPGP output and returns the exact bytes, for an RSA-3072 key
//! and an Ed25519 key with a Cv25519 encryption subkey, made by gpg in a temporary
//! GNUPGHOME; binary and armored output, a file and standard input, a binary sample with CR,
//! LF and NUL bytes and 1 MiB; a key file that is not a key exits 2; `--to` with `--pgp` is
//! a usage error (64).
//!
//! Run with `cargo test -p pec-cli --features openpgp --test atrest_pgp`. Skipped locally
//! without gpg; a failure under `CI=true`.
#![allow(clippy::unwrap_used)] // tests may unwrap

use std::path::PathBuf;
use std::process::{Command, Output};

use pec_testkit::env::TempDir;
use pec_testkit::require_tool;
use pec_testkit::smtp::output_with_stdin;

fn pec(args: &[&str], stdin: Option<&[u8]>) -> Output {
    output_with_stdin(Command::new(env!("CARGO_BIN_EXE_pec")).args(args), stdin)
}

fn ok(out: &Output) {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A GNUPGHOME of its own; its gpg-agent (started by gpg) is stopped on drop.
struct GnuPg {
    dir: TempDir,
}

impl GnuPg {
    fn home(&self) -> PathBuf {
        self.dir.path("gnupg")
    }

    fn p(&self, name: &str) -> String {
        self.dir.path(name).display().to_string()
    }

    fn gpg(&self, args: &[&str]) -> Output {
        Command::new("gpg")
            .env("GNUPGHOME", self.home())
            .args(["--batch", "--no-tty", "--passphrase", "", "--pinentry-mode", "loopback"])
            .args(args)
            .output()
            .unwrap()
    }

    fn gpg_ok(&self, args: &[&str]) -> Output {
        let out = self.gpg(args);
        assert!(out.status.success(), "gpg {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        out
    }

    /// A primary key `primary` (certify, sign) with an encryption subkey `sub`; its public key
    /// exported armored to `<name>.asc`.
    fn make_key(&self, name: &str, primary: &str, sub: &str) -> String {
        let uid = format!("pec {name} <{name}@pec.test>");
        self.gpg_ok(&["--quick-gen-key", &uid, primary, "cert,sign", "never"]);
        let colons = self.gpg_ok(&["--with-colons", "--list-keys", &format!("<{name}@pec.test>")]);
        let text = String::from_utf8(colons.stdout).unwrap();
        let fpr = text
            .lines()
            .find_map(|l| l.strip_prefix("fpr:"))
            .and_then(|l| l.split(':').nth(8))
            .unwrap()
            .to_owned();
        self.gpg_ok(&["--quick-add-key", &fpr, sub, "encr", "never"]);
        let asc = self.p(&format!("{name}.asc"));
        self.gpg_ok(&["--armor", "--output", &asc, "--export", &fpr]);
        asc
    }

    /// `gpg --decrypt FILE`: the plaintext and the status lines.
    fn decrypt(&self, file: &str) -> (Vec<u8>, String) {
        let out = self.gpg_ok(&["--status-fd", "2", "--decrypt", file]);
        (out.stdout, String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

impl Drop for GnuPg {
    fn drop(&mut self) {
        let _ = Command::new("gpgconf")
            .env("GNUPGHOME", self.home())
            .args(["--kill", "gpg-agent"])
            .output();
    }
}

fn sample(len: u32) -> Vec<u8> {
    (0..len)
        .map(|i| match i % 97 {
            0 => b'\r',
            1 => b'\n',
            2 => 0,
            _ => (i.wrapping_mul(2_654_435_761) >> 24) as u8,
        })
        .collect()
}

/// The public-key algorithms (RFC 9580 ids) of the ENC_TO status lines.
fn enc_to(status: &str) -> Vec<u32> {
    let mut algos: Vec<u32> = status
        .lines()
        .filter_map(|l| l.strip_prefix("[GNUPG:] ENC_TO "))
        .filter_map(|l| l.split(' ').nth(1)?.parse().ok())
        .collect();
    algos.sort_unstable();
    algos
}

#[test]
fn gpg_decrypts_what_pec_encrypted_to_rsa_and_cv25519_keys() {
    if !require_tool("gpg") || !require_tool("gpgconf") {
        return;
    }
    let g = GnuPg { dir: TempDir::new("pgp") };
    std::fs::create_dir(g.home()).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(g.home(), std::fs::Permissions::from_mode(0o700)).unwrap();
    }
    let rsa = g.make_key("archive", "rsa3072", "rsa3072");
    let cv = g.make_key("auditor", "ed25519", "cv25519");

    let small = sample(150_001);
    let big = sample(1 << 20);
    std::fs::write(g.p("small.bin"), &small).unwrap();
    std::fs::write(g.p("big.bin"), &big).unwrap();

    // each key alone (RSA: algorithm 1; Cv25519: ECDH, 18), binary and armored
    for (key, algo) in [(&rsa, 1), (&cv, 18)] {
        for armor in [false, true] {
            for (input, plain) in [("small.bin", &small), ("big.bin", &big)] {
                let out = g.p("out.pgp");
                let mut args = vec!["encrypt", "--pgp", key, "--out", &out];
                if armor {
                    args.push("--armor");
                }
                let input = g.p(input);
                args.push(&input);
                ok(&pec(&args, None));
                let written = std::fs::read(&out).unwrap();
                assert_eq!(
                    written.starts_with(b"-----BEGIN PGP MESSAGE-----"),
                    armor,
                    "{key} armor={armor}"
                );
                let (got, status) = g.decrypt(&out);
                assert!(got == *plain, "{key} armor={armor} {input}: {status}");
                assert_eq!(enc_to(&status), [algo], "{status}");
                // SEIPDv1 with its modification detection code, checked by gpg
                assert!(status.contains("[GNUPG:] GOODMDC"), "{status}");
                assert!(status.contains("[GNUPG:] DECRYPTION_OKAY"), "{status}");
            }
        }
    }

    // both recipients in one message, from standard input to standard output
    let out = pec(&["encrypt", "--pgp", &rsa, "--pgp", &cv, "-"], Some(&small));
    ok(&out);
    std::fs::write(g.p("both.pgp"), &out.stdout).unwrap();
    let (got, status) = g.decrypt(&g.p("both.pgp"));
    assert!(got == small, "{status}");
    assert_eq!(enc_to(&status), [1, 18], "{status}");

    // both certificates in one key file; an empty input
    let both = g.p("both.asc");
    let mut text = std::fs::read(&rsa).unwrap();
    text.extend(std::fs::read(&cv).unwrap());
    std::fs::write(&both, text).unwrap();
    let out = pec(&["encrypt", "--pgp", &both, "-"], Some(b""));
    ok(&out);
    std::fs::write(g.p("empty.pgp"), &out.stdout).unwrap();
    let (got, status) = g.decrypt(&g.p("empty.pgp"));
    assert!(got.is_empty(), "{status}");
    assert_eq!(enc_to(&status), [1, 18], "{status}");

    // a secret key block is not a recipient
    let secret = g.p("secret.asc");
    g.gpg_ok(&["--armor", "--output", &secret, "--export-secret-keys", "<auditor@pec.test>"]);
    let out = pec(&["encrypt", "--pgp", &secret, &g.p("small.bin")], None);
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stdout.is_empty());
}

#[test]
fn a_file_that_is_not_a_key_exits_2() {
    let dir = TempDir::new("pgp-bad");
    let input = dir.path("in.bin");
    std::fs::write(&input, b"plain\r\n\0").unwrap();
    let input = input.display().to_string();
    let cases: [(&str, &[u8]); 5] = [
        ("empty.asc", b""),
        ("text.asc", b"hello, world\r\n\0"),
        ("cert.asc", b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"),
        (
            "armor.asc",
            b"-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nnot base64 !!\n-----END PGP PUBLIC KEY BLOCK-----\n",
        ),
        ("truncated.gpg", &[0x99, 0x01, 0x0d, 0x04, 0, 0, 0, 0, 1]),
    ];
    for (name, bytes) in cases {
        let key = dir.path(name);
        std::fs::write(&key, bytes).unwrap();
        let key = key.display().to_string();
        let out_path = dir.path("out.pgp");
        let out = pec(
            &["encrypt", "--pgp", &key, "--out", &out_path.display().to_string(), &input],
            None,
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {err}");
        assert!(err.contains(&key) && err.contains("OpenPGP"), "{name}: {err}");
        assert!(!err.contains("panicked"), "{name}: {err}");
        assert!(!out_path.exists(), "{name}");
    }
    // a missing key file
    let out =
        pec(&["encrypt", "--pgp", &dir.path("missing.asc").display().to_string(), &input], None);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn to_with_pgp_is_a_usage_error() {
    let dir = TempDir::new("pgp-usage");
    let (a, b) = (dir.path("a").display().to_string(), dir.path("b").display().to_string());
    for args in [
        vec!["encrypt", "--to", &a, "--pgp", &b, "-"],
        vec!["encrypt", "--pgp", &b, "--pkcs1", "-"],
        vec!["encrypt", "--to", &a, "--armor", "-"],
        vec!["encrypt", "-"],
    ] {
        let out = pec(&args, Some(b""));
        assert_eq!(
            out.status.code(),
            Some(64),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.stdout.is_empty());
    }
}
