//! `pec engine status` and `pec engine run-due` on a configuration file with every section of
//! ENGINE.md §Config (the ones the engine does not read are accepted).

use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;

use chrono::{Duration, Utc};
use pec_core::checks::SmtpEnvelope;
use pec_core::points::Antivirus;
use pec_engine::{Engine, EngineConfig, ManualClock};
use pec_testkit::{ProviderSpec, TestPki};
use serde_json::Value;

fn pec(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pec")).args(args).output().expect("run pec")
}

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    })
}

fn b64(der: &[u8]) -> String {
    pec_core::codec::encode_base64(der)
}

fn setup(dir: &Path) {
    let now = Utc::now();
    let names = ["Alpha PEC S.p.A.", "Beta PEC S.r.l."];
    let domains = ["pec.alpha.test", "pec.beta.test"];
    let pki = TestPki::generate(
        &[
            ProviderSpec { name: names[0], domain: domains[0] },
            ProviderSpec { name: names[1], domain: domains[1] },
        ],
        now - Duration::days(1),
        now + Duration::days(30),
    )
    .unwrap();
    let w = |name: &str, data: &[u8]| std::fs::write(dir.join(name), data).unwrap();
    w("trust.pem", pki.root.cert_pem().as_bytes());
    w("chain.pem", pki.ca.cert_pem().as_bytes());
    w("key.pem", pki.providers[0].key_pem().as_bytes());
    w("cert.pem", pki.providers[0].cert_pem().as_bytes());
    let mut ldif = String::new();
    for i in 0..2 {
        ldif.push_str(&format!(
            "dn: providerName={n},o=postacert\nobjectClass: provider\nproviderName: {n}\n\
             providerCertificateHash: {}\nproviderCertificate;binary:: {}\n\
             mailReceipt: ricevute@{d}\nmanagedDomains: {d}\n\n",
            pec_core::crypto::sha1_hex(&pki.providers[i].cert_der),
            b64(&pki.providers[i].cert_der),
            n = names[i],
            d = domains[i],
        ));
    }
    w("providers.ldif", ldif.as_bytes());
    // the same index signed (.p7m), and a copy altered after signing
    let signer = pec_core::signer::SoftwareSigner::from_der(
        &pki.providers[0].key_pkcs8,
        pki.providers[0].cert_der.clone(),
        vec![pki.ca.cert_der.clone()],
    )
    .unwrap();
    let p7m = pec_core::smime::sign_attached(ldif.as_bytes(), &signer, now).unwrap();
    w("providers.ldif.p7m", &p7m);
    let mut bad = p7m.clone();
    let pos = bad.windows(12).position(|x| x == b"mailReceipt:").unwrap();
    bad[pos + 14] ^= 1;
    w("tampered.ldif.p7m", &bad);
    w(
        "alpha.toml",
        br#"name = "Alpha PEC S.p.A."
domain = "pec.alpha.test"
index = "providers.ldif"
local_domains = ["pec.alpha.test"]
timezone = "Europe/Rome"

[signing]
key = "key.pem"
cert = "cert.pem"
chain = "chain.pem"

[trust]
ca_files = ["trust.pem"]

[store]
url = "sqlite:state.db"

[listen]
access = "127.0.0.2:10024"
incoming = "127.0.0.2:10026"
delivery = "127.0.0.2:2424"

[relay]
smtp = "127.0.0.2:10025"

[mailbox]
store = "maildir:/var/mail/{domain}/{local}"

[incoming]
ordinary_mail = "wrap"

[timeouts]
take_charge = "12h"
delivery = "24h"
delivery_fire = "23h"

[log]
dir = "log"

[admin]
socket = "admin.sock"
"#,
    );
}

/// Submits a message at the engine of `config` as if 23 h 30 min ago; returns its
/// identifier.
fn submit_old(config: &Path) -> String {
    let cfg_file = EngineConfig::load(config).unwrap();
    let clock = Arc::new(ManualClock::new(Utc::now() - Duration::minutes(23 * 60 + 30)));
    let engine = Engine::from_config(&cfg_file, clock).unwrap();
    let original = b"From: mario@pec.alpha.test\r\nTo: luigi@pec.beta.test\r\nSubject: prova\r\n\
        Message-ID: <c1@client.test>\r\n\r\nTesto.\r\n";
    let smtp = SmtpEnvelope {
        reverse_path: Some("mario@pec.alpha.test".into()),
        forward_paths: vec!["luigi@pec.beta.test".into()],
    };
    let out = engine.on_submission(&smtp, original, &Antivirus::Clean).unwrap();
    assert_eq!(out.reply.code, 250);
    out.emissions[1].identifier.clone().unwrap()
}

#[test]
fn status_and_run_due() {
    let dir = std::env::temp_dir().join(format!("pec-cli-engine-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    setup(&dir);
    let config = dir.join("alpha.toml");
    let cfg = config.display().to_string();
    let id = submit_old(&config);

    // every pending message
    let o = pec(&["engine", "status", "--config", &cfg, "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let v = json(&o);
    assert_eq!(v.as_array().unwrap().len(), 1);
    assert_eq!(v[0]["identifier"], id.as_str());
    // one message
    let o = pec(&["engine", "status", "--config", &cfg, "--json", &format!("<{id}>")]);
    let v = json(&o);
    let r = &v["sent"]["recipients"][0];
    assert_eq!(r["address"], "luigi@pec.beta.test");
    assert_eq!(r["type"], "certificato");
    assert_eq!(r["state"], "pending");
    assert_eq!(r["timers"].as_array().unwrap().len(), 2);
    assert_eq!(v["sent"]["msgid"], "<c1@client.test>");
    let text = pec(&["engine", "status", "--config", &cfg, &id]);
    assert!(String::from_utf8_lossy(&text.stdout).contains("luigi@pec.beta.test"));

    // run the due timers: both notices (12 h and 23 h have passed)
    let o = pec(&["engine", "run-due", "--config", &cfg, "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let v = json(&o);
    let kinds: Vec<&str> =
        v.as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["preavviso-errore-consegna", "preavviso-errore-consegna"]);
    assert_eq!(v[0]["groups"][0]["rcpt_to"][0], "mario@pec.alpha.test");
    assert_eq!(v[0]["groups"][0]["route"], "loopback");
    // nothing more is due; the recipient is timed out and no longer pending
    let o = pec(&["engine", "run-due", "--config", &cfg]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("0 emitted"));
    let v = json(&pec(&["engine", "status", "--config", &cfg, "--json", &id]));
    assert_eq!(v["sent"]["recipients"][0]["state"], "timed-out");
    assert_eq!(json(&pec(&["engine", "status", "--config", &cfg, "--json"])), Value::Array(vec![]));

    // unknown identifier: exit 1; a bad configuration: exit 2
    let o = pec(&["engine", "status", "--config", &cfg, "nobody@pec.alpha.test"]);
    assert_eq!(o.status.code(), Some(1));
    std::fs::write(dir.join("bad.toml"), "name = \"x\"\n").unwrap();
    let bad = dir.join("bad.toml").display().to_string();
    assert_eq!(pec(&["engine", "status", "--config", &bad]).status.code(), Some(2));
    std::fs::write(
        dir.join("early.toml"),
        "name = \"x\"\ndomain = \"pec.x.test\"\n[timeouts]\ndelivery_fire = \"21h\"\n",
    )
    .unwrap();
    let early = dir.join("early.toml").display().to_string();
    assert_eq!(pec(&["engine", "run-due", "--config", &early]).status.code(), Some(2));
    let _ = std::fs::remove_dir_all(&dir);
}

const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";

fn have(tool: &str) -> bool {
    Command::new(tool).arg("--help").output().is_ok()
}

/// `[signing] pkcs11_uri`: the timer notices are signed on a SoftHSM2 token (run in a child
/// process, which reads `SOFTHSM2_CONF` before its first `C_Initialize`).
#[test]
fn run_due_signs_with_a_pkcs11_key() {
    let missing: Vec<&str> = [
        ("softhsm2-util", have("softhsm2-util")),
        ("pkcs11-tool", have("pkcs11-tool")),
        ("openssl", have("openssl")),
        (MODULE, Path::new(MODULE).is_file()),
    ]
    .into_iter()
    .filter_map(|(n, ok)| (!ok).then_some(n))
    .collect();
    if !missing.is_empty() {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("CI=true but SoftHSM2 tooling is missing: {missing:?}");
        }
        eprintln!("skipping: missing {missing:?}");
        return;
    }
    let dir = std::env::temp_dir().join(format!("pec-cli-engine-hsm-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    setup(&dir);
    let token = dir.join("token");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/softhsm/make-token.sh");
    let out = Command::new("sh").arg(&script).arg(&token).output().unwrap();
    assert!(out.status.success(), "make-token.sh: {}", String::from_utf8_lossy(&out.stderr));
    let config = dir.join("alpha.toml");
    submit_old(&config);
    let text = std::fs::read_to_string(&config).unwrap().replace(
        "[signing]\nkey = \"key.pem\"\ncert = \"cert.pem\"\nchain = \"chain.pem\"\n",
        &format!(
            "[signing]\npkcs11_uri = \"pkcs11:token=pec-test;object=provider;id=%01;type=private\"\n\
             pkcs11_module = \"{MODULE}\"\npin_source = \"file:{}\"\n",
            token.join("pin.txt").display()
        ),
    );
    assert!(text.contains("pkcs11_uri"));
    let hsm = dir.join("alpha-hsm.toml");
    std::fs::write(&hsm, text).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_pec"))
        .args(["engine", "run-due", "--json", "--config"])
        .arg(&hsm)
        .env("SOFTHSM2_CONF", token.join("softhsm2.conf"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(json(&o).as_array().unwrap().len(), 2);
    // the notices carry the token's certificate in their signature
    let token_cert = std::fs::read(token.join("cert.der")).unwrap();
    let engine = Engine::from_config(
        &EngineConfig::load(&config).unwrap(),
        Arc::new(pec_engine::SystemClock),
    )
    .unwrap();
    let notices: Vec<_> = engine
        .unsent(100)
        .unwrap()
        .into_iter()
        .filter(|o| o.kind == "preavviso-errore-consegna")
        .collect();
    assert_eq!(notices.len(), 2);
    for n in notices {
        let m = pec_core::PecMessage::parse(&n.bytes).unwrap();
        let sig = m.signed.unwrap().signature;
        assert!(sig.windows(token_cert.len()).any(|w| w == token_cert.as_slice()));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// `index` may name a signed `.p7m` index, used only when it is signed by a certificate that
/// `[trust] index_signers` names and its signature is valid against the trust anchors.
#[test]
fn a_signed_index_is_verified() {
    let dir = std::env::temp_dir().join(format!("pec-cli-engine-p7m-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    setup(&dir);
    let base = std::fs::read_to_string(dir.join("alpha.toml")).unwrap();
    let variant = |index: &str, signer: Option<&str>| {
        let mut t = base.replace("index = \"providers.ldif\"", &format!("index = \"{index}\""));
        if let Some(s) = signer {
            t = t.replace(
                "ca_files = [\"trust.pem\"]",
                &format!("ca_files = [\"trust.pem\"]\nindex_signers = [\"{s}\"]"),
            );
        }
        let p = dir.join(format!("{index}-{}.toml", signer.unwrap_or("none")));
        std::fs::write(&p, t).unwrap();
        EngineConfig::load(&p).unwrap().directory()
    };
    let d = variant("providers.ldif.p7m", Some("cert.pem")).unwrap();
    assert_eq!(d.by_domain("pec.beta.test").unwrap().mail_receipt, "ricevute@pec.beta.test");
    assert!(variant("tampered.ldif.p7m", Some("cert.pem")).is_err());
    assert!(variant("providers.ldif.p7m", None).is_err(), "no index_signers: refused");
    // a certificate that chains to the anchors but is not the named signer: refused
    assert!(variant("providers.ldif.p7m", Some("trust.pem")).is_err(), "not the named signer");
    let _ = std::fs::remove_dir_all(&dir);
}
