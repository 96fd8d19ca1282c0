//! `pec build` and `pec sign` with a key in a real SoftHSM2 token: every kind signed through
//! PKCS#11 and accepted by `openssl cms -verify`; every PKCS#11 failure exits 2 with nothing
//! on stdout.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use pec_testkit::softhsm::MODULE;

struct Token {
    dir: PathBuf,
}

fn token() -> Option<&'static Token> {
    static T: OnceLock<Option<Token>> = OnceLock::new();
    T.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("pec-cli-hsm-{}", std::process::id()));
        let dir = pec_testkit::softhsm::make_token(&dir)?;
        std::fs::write(dir.join("wrong-pin.txt"), "0000\n").unwrap();
        std::fs::write(
            dir.join("p.toml"),
            "name = \"Example PEC S.p.A.\"\ndomain = \"pec.example.it\"\ncertified_domains = [\"pec.example.it\"]\n",
        )
        .unwrap();
        std::fs::write(
            dir.join("original.eml"),
            "From: a@pec.example.it\r\nTo: b@pec.example.it\r\nSubject: hsm\r\nMessage-ID: <h1@x.it>\r\nDate: Wed, 25 Nov 2026 10:00:00 +0100\r\n\r\nciao\r\n",
        )
        .unwrap();
        Some(Token { dir })
    })
    .as_ref()
}

impl Token {
    fn p(&self, n: &str) -> String {
        self.dir.join(n).display().to_string()
    }

    fn pec(&self, args: &[&str], stdin: Option<&[u8]>) -> Output {
        use std::io::Write;
        let mut c = Command::new(env!("CARGO_BIN_EXE_pec"));
        c.args(args)
            .env("SOFTHSM2_CONF", self.dir.join("softhsm2.conf"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = c.spawn().unwrap();
        let mut input = child.stdin.take().unwrap();
        if let Some(data) = stdin {
            input.write_all(data).unwrap();
        }
        drop(input);
        child.wait_with_output().unwrap()
    }

    fn hsm_args(&self, uri: &str, pin_file: &str) -> Vec<String> {
        vec![
            "--pkcs11-uri".into(),
            uri.into(),
            "--pkcs11-module".into(),
            MODULE.into(),
            "--pin-source".into(),
            format!("file:{}", self.p(pin_file)),
        ]
    }

    fn openssl_verify(&self, path: &str) -> Output {
        Command::new("openssl")
            .args([
                "cms",
                "-verify",
                "-in",
                path,
                "-CAfile",
                &self.p("cert.pem"),
                "-out",
                "/dev/null",
            ])
            .output()
            .unwrap()
    }
}

/// SoftHSM2's file store is shared by the `pec` processes: tests that write to it (failed
/// logins are counted in the token file) must not run beside the others.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

const URI: &str = "pkcs11:token=pec-test;object=provider;id=%01;type=private";

#[test]
fn every_kind_signed_in_the_hsm() {
    let _guard = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let Some(t) = token() else { return };
    let mut args: Vec<String> = [
        "build",
        "posta-certificata",
        "--provider",
        &t.p("p.toml"),
        "--original",
        &t.p("original.eml"),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(t.hsm_args(URI, "pin.txt"));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = t.pec(&refs, None);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let env = t.p("env.eml");
    std::fs::write(&env, &o.stdout).unwrap();
    let v = t.openssl_verify(&env);
    assert!(v.status.success(), "posta-certificata: {}", String::from_utf8_lossy(&v.stderr));

    let kinds: Vec<(&str, Vec<&str>, bool)> = vec![
        ("accettazione", vec![], true),
        ("non-accettazione", vec!["--error-text", "errore formale"], true),
        ("presa-in-carico", vec!["--recipient", "b@pec.example.it"], false),
        ("avvenuta-consegna", vec!["--recipient", "b@pec.example.it"], false),
        ("errore-consegna", vec!["--recipient", "b@pec.example.it", "--error", "no-dest"], false),
        (
            "preavviso-errore-consegna",
            vec!["--recipient", "b@pec.example.it", "--timeout", "24h"],
            false,
        ),
        ("rilevazione-virus", vec!["--recipient", "b@pec.example.it"], false),
        ("errore", vec!["--recipient", "b@pec.example.it"], false),
    ];
    for (kind, extra, access_point) in kinds {
        let mut a: Vec<String> =
            vec!["build".into(), kind.into(), "--provider".into(), t.p("p.toml")];
        if access_point {
            a.extend(["--original".to_string(), t.p("original.eml")]);
        } else {
            a.extend(["--envelope".to_string(), env.clone()]);
        }
        a.extend(extra.iter().map(|s| s.to_string()));
        a.extend(t.hsm_args(URI, "pin.txt"));
        let refs: Vec<&str> = a.iter().map(String::as_str).collect();
        let o = t.pec(&refs, None);
        assert_eq!(o.status.code(), Some(0), "{kind}: {}", String::from_utf8_lossy(&o.stderr));
        let path = t.p(&format!("{kind}.eml"));
        std::fs::write(&path, &o.stdout).unwrap();
        let v = t.openssl_verify(&path);
        assert!(v.status.success(), "{kind}: {}", String::from_utf8_lossy(&v.stderr));
    }
    // pec sign through the token, certificate read from the token
    let mut a: Vec<String> = vec!["sign".into()];
    a.extend(t.hsm_args(URI, "pin.txt"));
    let refs: Vec<&str> = a.iter().map(String::as_str).collect();
    let o = t.pec(&refs, Some(&std::fs::read(t.p("original.eml")).unwrap()));
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let path = t.p("signed.eml");
    std::fs::write(&path, &o.stdout).unwrap();
    assert!(t.openssl_verify(&path).status.success());
}

#[test]
fn pkcs11_failures_exit_2() {
    let _guard = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let Some(t) = token() else { return };
    let cases: Vec<(&str, Vec<String>)> = vec![
        ("wrong PIN", t.hsm_args(URI, "wrong-pin.txt")),
        ("unknown token", t.hsm_args("pkcs11:token=nope;object=provider;type=private", "pin.txt")),
        ("unknown key", t.hsm_args("pkcs11:token=pec-test;object=nope;type=private", "pin.txt")),
        ("missing PIN file", t.hsm_args(URI, "no-such-pin.txt")),
        (
            "missing module",
            vec![
                "--pkcs11-uri".into(),
                URI.into(),
                "--pkcs11-module".into(),
                "/nonexistent/libnothing.so".into(),
                "--pin-source".into(),
                format!("file:{}", t.p("pin.txt")),
            ],
        ),
    ];
    for (what, hsm) in cases {
        let mut a: Vec<String> = [
            "build",
            "accettazione",
            "--provider",
            &t.p("p.toml"),
            "--original",
            &t.p("original.eml"),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        a.extend(hsm);
        let refs: Vec<&str> = a.iter().map(String::as_str).collect();
        let o = t.pec(&refs, None);
        assert_eq!(o.status.code(), Some(2), "{what}: {}", String::from_utf8_lossy(&o.stderr));
        assert!(o.stdout.is_empty(), "{what}: nothing on stdout");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("error 5"), "{what}: a PKCS#11 code (5xx): {err}");
    }
}
