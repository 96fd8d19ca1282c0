//! S/MIME signing and signature-layer verification, checked against the real `openssl`
//! binary and the real Aruba receipts in `../shared/interop`.
#![allow(clippy::unwrap_used)] // tests may unwrap

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use base64::Engine as _;
use chrono::{DateTime, Datelike, TimeZone, Utc};
use pec_core::crypto::{DigestAlgorithm, sha1_hex};
use pec_core::index::{ProviderDirectory, ProviderRecord};
use pec_core::signer::{Signer, SoftwareSigner, pem_certificates};
use pec_core::smime::{
    Reason, VerificationReport, VerifyOptions, VerifyTime, sign_attached, sign_detached,
    sign_message, verify_attached, verify_detached,
};

// ---------------------------------------------------------------------------------------
// environment

use pec_testkit::{ci, interop_dir, require_tool};

/// A temporary directory removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let p = std::env::temp_dir().join(format!("pec-smime-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs openssl in `dir`; `args` are separated by whitespace, `'...'` groups one argument.
fn openssl(dir: &TempDir, args: &str) -> std::process::Output {
    let mut argv = Vec::new();
    for (i, chunk) in args.split('\'').enumerate() {
        if i % 2 == 1 {
            argv.push(chunk.to_string());
        } else {
            argv.extend(chunk.split_whitespace().map(str::to_string));
        }
    }
    Command::new("openssl").args(argv).current_dir(&dir.0).output().unwrap()
}

fn openssl_ok(dir: &TempDir, args: &str) {
    let out = openssl(dir, args);
    assert!(
        out.status.success(),
        "openssl {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Test PKI made with openssl once per run: a self-signed signer, and root -> intermediate ->
/// leaf.
struct Pki {
    dir: TempDir,
}

impl Pki {
    fn read(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.dir.path(name)).unwrap()
    }
    fn file(&self, name: &str) -> String {
        self.dir.path(name).to_string_lossy().into_owned()
    }
    fn self_signed(&self) -> SoftwareSigner {
        SoftwareSigner::from_pem(&self.read("self.key"), &self.read("self.pem"), b"").unwrap()
    }
    fn leaf(&self) -> SoftwareSigner {
        SoftwareSigner::from_pem(
            &self.read("leaf.key"),
            &self.read("leaf.pem"),
            &self.read("inter.pem"),
        )
        .unwrap()
    }
}

const LEAF_EXT: &str = "keyUsage=critical,digitalSignature\n\
extendedKeyUsage=emailProtection\n\
subjectKeyIdentifier=hash\n\
authorityKeyIdentifier=keyid\n\
subjectAltName=email:posta-certificata@pec.example.it\n";

const CA_EXT: &str = "basicConstraints=critical,CA:TRUE\n\
keyUsage=critical,keyCertSign,cRLSign\n\
subjectKeyIdentifier=hash\n\
authorityKeyIdentifier=keyid\n";

fn pki() -> Option<&'static Pki> {
    static PKI: OnceLock<Pki> = OnceLock::new();
    if !require_tool("openssl") {
        return None;
    }
    Some(PKI.get_or_init(|| {
        let dir = TempDir::new("pki");
        std::fs::write(dir.path("leaf.ext"), LEAF_EXT).unwrap();
        std::fs::write(dir.path("ca.ext"), CA_EXT).unwrap();
        let self_subj = "/C=IT/O=Self PEC S.p.A./CN=Posta Certificata Self";
        openssl_ok(&dir, &format!("req -x509 -newkey rsa:2048 -nodes -keyout self.key -out self.pem -subj '{self_subj}' -days 3650 -addext keyUsage=critical,digitalSignature -addext subjectAltName=email:posta-certificata@pec.self.it"));
        openssl_ok(&dir, "req -x509 -newkey rsa:2048 -nodes -keyout root.key -out root.pem -subj '/C=IT/O=Test Root/CN=Test Root CA' -days 3650");
        openssl_ok(&dir, "req -new -newkey rsa:2048 -nodes -keyout inter.key -out inter.csr -subj '/C=IT/O=Test CA/CN=Test CA1'");
        openssl_ok(&dir, "x509 -req -in inter.csr -CA root.pem -CAkey root.key -set_serial 4096 -days 3650 -extfile ca.ext -out inter.pem");
        openssl_ok(&dir, "req -new -newkey rsa:2048 -nodes -keyout leaf.key -out leaf.csr -subj '/C=IT/O=Test PEC S.p.A./CN=Posta Certificata Test PEC S.p.A.'");
        openssl_ok(&dir, "x509 -req -in leaf.csr -CA inter.pem -CAkey inter.key -set_serial 0x0BE0F2B61308A8B6 -days 1095 -extfile leaf.ext -out leaf.pem");
        // Key variants: PKCS#1 PEM, PKCS#8 DER, PKCS#1 DER, encrypted PKCS#8.
        openssl_ok(&dir, "rsa -in leaf.key -traditional -out leaf.rsa.pem");
        openssl_ok(&dir, "pkcs8 -topk8 -nocrypt -in leaf.key -outform DER -out leaf.p8.der");
        openssl_ok(&dir, "rsa -in leaf.key -traditional -outform DER -out leaf.rsa.der");
        openssl_ok(&dir, "pkcs8 -topk8 -in leaf.key -passout pass:secret -out leaf.enc.pem");
        openssl_ok(&dir, "x509 -in leaf.pem -outform DER -out leaf.der");
        let mut chain = std::fs::read(dir.path("inter.pem")).unwrap();
        chain.extend(std::fs::read(dir.path("root.pem")).unwrap());
        std::fs::write(dir.path("chain.pem"), chain).unwrap();
        Pki { dir }
    }))
}

fn t2024() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 12, 3, 10, 20, 30).unwrap()
}

// ---------------------------------------------------------------------------------------
// a test-only multipart/signed splitter (byte offsets, LF or CRLF)

/// The header block and body of an entity.
fn split_entity(e: &[u8]) -> (&[u8], &[u8]) {
    match pec_core::mime::body_offset(e) {
        Some(b) => (&e[..b], &e[b..]),
        None => (e, &[]),
    }
}

/// The unfolded value of header `name` in a header block.
fn header(headers: &[u8], name: &str) -> Option<String> {
    let text = String::from_utf8_lossy(headers).replace("\r\n", "\n");
    let mut found: Option<String> = None;
    for line in text.split('\n') {
        if line.starts_with([' ', '\t']) {
            if let Some(v) = found.as_mut() {
                v.push(' ');
                v.push_str(line.trim());
            }
            continue;
        }
        if found.is_some() {
            return found;
        }
        if let Some((n, v)) = line.split_once(':')
            && n.trim().eq_ignore_ascii_case(name)
        {
            found = Some(v.trim().to_string());
        }
    }
    found
}

fn boundary_of(content_type: &str) -> Option<String> {
    let i = content_type.to_ascii_lowercase().find("boundary=")?;
    let rest = &content_type[i + 9..];
    Some(if let Some(q) = rest.strip_prefix('"') {
        q[..q.find('"')?].to_string()
    } else {
        rest.split([';', ' ']).next()?.to_string()
    })
}

/// Parts of a multipart body: each from after its boundary line to before the line break
/// that precedes the next boundary line.
fn parts<'a>(body: &'a [u8], boundary: &str) -> Vec<&'a [u8]> {
    let delim = format!("--{boundary}");
    let mut starts = Vec::new(); // (line start, content start)
    let mut pos = 0;
    while pos < body.len() {
        let end = body[pos..].iter().position(|&b| b == b'\n').map_or(body.len(), |p| pos + p + 1);
        let line = &body[pos..end];
        if line.starts_with(delim.as_bytes()) {
            let after = &line[delim.len()..];
            let closing = after.starts_with(b"--");
            starts.push((pos, end, closing));
            if closing {
                break;
            }
        }
        pos = end;
    }
    let mut out = Vec::new();
    for w in starts.windows(2) {
        let (_, content_start, closing) = w[0];
        if closing {
            break;
        }
        let mut end = w[1].0;
        // drop the line break before the next delimiter
        if end > content_start && body[end - 1] == b'\n' {
            end -= 1;
            if end > content_start && body[end - 1] == b'\r' {
                end -= 1;
            }
        }
        out.push(&body[content_start..end.max(content_start)]);
    }
    out
}

/// Finds the (first) multipart/signed entity, possibly nested in multipart/mixed, and returns
/// its signed part (exact bytes) and the DER of its signature part.
fn find_signed(entity: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    let (headers, body) = split_entity(entity);
    let ct = header(headers, "content-type")?;
    let lower = ct.to_ascii_lowercase();
    if !lower.starts_with("multipart/") {
        return None;
    }
    let boundary = boundary_of(&ct)?;
    let ps = parts(body, &boundary);
    if lower.starts_with("multipart/signed") {
        let signed = ps.first()?.to_vec();
        let (_, sig_body) = split_entity(ps.get(1)?);
        let b64: Vec<u8> = sig_body.iter().copied().filter(|b| !b.is_ascii_whitespace()).collect();
        let der = base64::engine::general_purpose::STANDARD.decode(b64).ok()?;
        return Some((signed, der));
    }
    ps.into_iter().find_map(find_signed)
}

fn lf_to_crlf(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut prev = 0;
    for &c in b {
        if c == b'\n' && prev != b'\r' {
            out.push(b'\r');
        }
        out.push(c);
        prev = c;
    }
    out
}

fn has_bare_lf(b: &[u8]) -> bool {
    b.first() == Some(&b'\n') || b.windows(2).any(|w| w[1] == b'\n' && w[0] != b'\r')
}

fn signature_ok(r: &VerificationReport) -> bool {
    !r.reasons.iter().any(|x| {
        matches!(x, Reason::ContentMismatch | Reason::BadSignature | Reason::MalformedSignature)
    })
}

// ---------------------------------------------------------------------------------------
// SoftwareSigner

#[test]
fn signer_loads_every_key_form_and_refuses_mismatch() {
    let Some(pki) = pki() else { return };
    let cert = pki.read("leaf.pem");
    let chain = pki.read("inter.pem");
    for key in ["leaf.key", "leaf.rsa.pem"] {
        let s = SoftwareSigner::from_pem(&pki.read(key), &cert, &chain).unwrap();
        assert_eq!(s.certificate(), pki.read("leaf.der").as_slice());
        assert_eq!(s.chain().len(), 1);
    }
    let cert_der = pki.read("leaf.der");
    for key in ["leaf.p8.der", "leaf.rsa.der"] {
        let s = SoftwareSigner::from_der(&pki.read(key), cert_der.clone(), vec![]).unwrap();
        let sig = s.sign(b"abc").unwrap();
        assert_eq!(sig.len(), 256);
    }
    // DER through from_pem too
    SoftwareSigner::from_pem(&pki.read("leaf.p8.der"), &cert_der, b"").unwrap();

    let e = SoftwareSigner::from_pem(&pki.read("self.key"), &cert, b"").unwrap_err();
    assert!(
        matches!(e, pec_core::Error::Certificate(pec_core::error::CertificateError::KeyMismatch)),
        "{e:?}"
    );
    let e = SoftwareSigner::from_pem(&pki.read("leaf.enc.pem"), &cert, b"").unwrap_err();
    assert_eq!(e.code(), pec_core::Code::BadKey);
    let e = SoftwareSigner::from_pem(&pki.read("leaf.key"), b"not a cert", b"").unwrap_err();
    assert_eq!(e.code(), pec_core::Code::BadCertificate);

    let certs = pem_certificates(&pki.read("chain.pem")).unwrap();
    assert_eq!(certs.len(), 2);
}

// ---------------------------------------------------------------------------------------
// our signatures, accepted by openssl

fn sample_messages() -> Vec<(&'static str, Vec<u8>)> {
    let plain = b"From: mittente@pec.example.it\nTo: destinatario@pec.example.it\n\
Subject: prova\nDate: Tue, 3 Dec 2024 10:20:30 +0100\nMessage-ID: <1@pec.example.it>\n\
Content-Type: text/plain; charset=us-ascii\n\nCiao,\nquesto e' un messaggio di prova.\n\n-- \nfirma\n"
        .to_vec();
    let attachment = base64::engine::general_purpose::STANDARD
        .encode((0..=255u8).cycle().take(3000).collect::<Vec<_>>());
    let mut att_lines = String::new();
    for chunk in attachment.as_bytes().chunks(76) {
        att_lines.push_str(std::str::from_utf8(chunk).unwrap());
        att_lines.push_str("\r\n");
    }
    let mixed = format!(
        "From: mittente@pec.example.it\r\nTo: a@pec.example.it,\r\n b@pec.example.it\r\n\
Subject: allegati\r\nMIME-Version: 1.0\r\nX-Custom:   spaces kept  \r\n\
Content-Type: multipart/mixed;\r\n boundary=\"XYZ\"\r\n\r\npreamble\r\n--XYZ\r\n\
Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n\
Testo con accenti =E8 e =E0.\r\n--XYZ\r\nContent-Type: application/octet-stream; name=\"dati.bin\"\r\n\
Content-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"dati.bin\"\r\n\r\n\
{att_lines}--XYZ\r\nContent-Type: application/xml; name=\"daticert.xml\"\r\n\
Content-Disposition: inline; filename=\"daticert.xml\"\r\n\r\n\
<?xml version=\"1.0\"?>\r\n<postacert tipo=\"accettazione\"/>\r\n--XYZ--\r\n"
    )
    .into_bytes();
    let utf8 = "From: mittente@pec.example.it\r\nSubject: =?UTF-8?Q?perch=C3=A9?=\r\n\
Content-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\
Perché così? Ünïcödé ✓ — € 100\r\nriga due\r\n"
        .as_bytes()
        .to_vec();
    let mut big = b"From: a@pec.example.it\r\nContent-Type: text/plain\r\n\r\n".to_vec();
    let line = b"0123456789abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ\r\n";
    while big.len() < 1 << 20 {
        big.extend_from_slice(line);
    }
    let no_body = b"From: a@pec.example.it\nSubject: vuoto\n".to_vec();
    vec![("plain", plain), ("mixed", mixed), ("utf8", utf8), ("big", big), ("no-body", no_body)]
}

#[test]
fn sign_message_is_accepted_by_openssl_cms_and_smime() {
    let Some(pki) = pki() else { return };
    let dir = TempDir::new("sign");
    for signer in [pki.self_signed(), pki.leaf()] {
        for (name, msg) in sample_messages() {
            let out = sign_message(&msg, &signer, t2024()).unwrap();
            assert!(!has_bare_lf(&out), "{name}: bare LF in output");
            let (entity, der) = find_signed(&out).expect("multipart/signed");
            // Outer header: every non-Content-* field kept, in order, byte-exact.
            let canon = lf_to_crlf(&msg);
            let (orig_headers, _) = split_entity(&canon);
            let (out_headers, _) = split_entity(&out);
            let out_text = String::from_utf8_lossy(out_headers);
            let mut at = 0;
            let orig_text = String::from_utf8_lossy(orig_headers);
            for field in orig_text.split("\r\n").filter(|l| !l.is_empty()) {
                if field.starts_with([' ', '\t']) {
                    continue;
                }
                if field.to_ascii_lowercase().starts_with("content-") {
                    assert!(!out_text.contains(field), "{name}: {field} left outside");
                    assert!(String::from_utf8_lossy(&entity).contains(field));
                } else {
                    let p = out_text[at..].find(field).unwrap_or_else(|| panic!("{name}: {field}"));
                    at += p + field.len();
                }
            }
            assert_eq!(out_text.matches("MIME-Version: 1.0").count(), 1, "{name}");
            assert!(out_text.contains("micalg=sha-256"));

            // our own verifier
            let r = verify_detached(&entity, &der, None, &VerifyOptions::default());
            assert!(signature_ok(&r), "{name}: {:?}", r.reasons);
            assert!(!r.canonicalized);
            assert_eq!(r.digest, Some(DigestAlgorithm::Sha256));
            assert!(!r.weak_digest);
            assert_eq!(r.signing_time, Some(t2024()));
            // strict DER, decodable by the cms crate
            use der::Decode as _;
            cms::content_info::ContentInfo::from_der(&der).expect("strict DER");

            let f = dir.path(&format!("{name}.eml"));
            std::fs::write(&f, &out).unwrap();
            for tool in ["cms", "smime"] {
                let content = dir.path(&format!("{name}.{tool}.out"));
                let o = openssl(
                    &dir,
                    &format!(
                        "{} -verify -noverify -in {} -out {}",
                        tool,
                        f.to_str().unwrap(),
                        content.to_str().unwrap()
                    ),
                );
                assert!(
                    o.status.success(),
                    "openssl {tool} -verify {name}: {}",
                    String::from_utf8_lossy(&o.stderr)
                );
                assert_eq!(std::fs::read(&content).unwrap(), entity, "{name}: {tool} content");
            }
        }
    }
    // Full chain validation by openssl for the intermediate-signed signature.
    let out = sign_message(&sample_messages()[0].1, &pki.leaf(), Utc::now()).unwrap();
    let f = dir.path("chain.eml");
    std::fs::write(&f, &out).unwrap();
    openssl_ok(
        &dir,
        &format!(
            "cms -verify -in {} -CAfile {} -out /dev/null",
            f.to_str().unwrap(),
            pki.file("root.pem")
        ),
    );
}

#[test]
fn attached_round_trip_and_openssl() {
    let Some(pki) = pki() else { return };
    let dir = TempDir::new("attached");
    let content = b"dn: o=postecert\nobjectClass: provider\n".repeat(100);
    let cms = sign_attached(&content, &pki.leaf(), t2024()).unwrap();
    let (r, got) = verify_attached(&cms, &VerifyOptions::default());
    assert!(signature_ok(&r), "{:?}", r.reasons);
    assert_eq!(got.as_deref(), Some(content.as_slice()));
    std::fs::write(dir.path("i.p7m"), &cms).unwrap();
    openssl_ok(
        &dir,
        &format!(
            "cms -verify -binary -inform DER -in i.p7m -CAfile {} -purpose any -out i.out",
            pki.file("root.pem")
        ),
    );
    assert_eq!(std::fs::read(dir.path("i.out")).unwrap(), content);

    // detached given to verify_attached: no content
    let det = sign_detached(&content, &pki.leaf(), t2024()).unwrap();
    let (r, got) = verify_attached(&det, &VerifyOptions::default());
    assert_eq!(r.reasons, vec![Reason::MalformedSignature]);
    assert!(got.is_none());

    // BER with indefinite lengths (openssl -stream) is accepted
    std::fs::write(dir.path("c.bin"), &content).unwrap();
    openssl_ok(
        &dir,
        &format!(
            "cms -sign -binary -nodetach -stream -outform DER -in c.bin -signer {} -inkey {} -out s.p7m",
            pki.file("leaf.pem"),
            pki.file("leaf.key")
        ),
    );
    let ber = std::fs::read(dir.path("s.p7m")).unwrap();
    assert_eq!(&ber[..2], &[0x30, 0x80], "expected indefinite length");
    let (r, got) = verify_attached(&ber, &VerifyOptions::default());
    assert!(signature_ok(&r), "{:?}", r.reasons);
    assert_eq!(got.as_deref(), Some(content.as_slice()));
}

// ---------------------------------------------------------------------------------------
// openssl's signatures, accepted by us

#[test]
fn openssl_signed_messages_verify() {
    let Some(pki) = pki() else { return };
    let dir = TempDir::new("ossl");
    let input = b"Content-Type: text/plain; charset=us-ascii\n\nRiga uno\nRiga due\n\n-- \nfine\n";
    std::fs::write(dir.path("in.txt"), input).unwrap();
    let mut n = 0;
    for tool in ["cms", "smime"] {
        for binary in [false, true] {
            for md in ["sha1", "sha256"] {
                let out = format!("{tool}-{binary}-{md}.eml");
                let binary_flag = if binary { "-binary" } else { "" };
                openssl_ok(
                    &dir,
                    &format!(
                        "{tool} -sign -in in.txt -md {md} -out {out} -signer {} -inkey {} -certfile {} {binary_flag}",
                        pki.file("leaf.pem"),
                        pki.file("leaf.key"),
                        pki.file("inter.pem"),
                    ),
                );
                let lf = std::fs::read(dir.path(&out)).unwrap();
                let crlf = lf_to_crlf(&lf);
                for (storage, msg) in [("lf", &lf), ("crlf", &crlf)] {
                    let (signed, der) = find_signed(msg).expect("multipart/signed");
                    let r = verify_detached(&signed, &der, None, &VerifyOptions::default());
                    let what = format!("{tool} binary={binary} md={md} storage={storage}");
                    assert!(signature_ok(&r), "{what}: {:?}", r.reasons);
                    let sha1 = md == "sha1";
                    assert_eq!(r.weak_digest, sha1, "{what}");
                    let want = if sha1 { DigestAlgorithm::Sha1 } else { DigestAlgorithm::Sha256 };
                    assert_eq!(r.digest, Some(want), "{what}");
                    assert!(r.signing_time.is_some());
                    assert!(r.signer.is_some());
                    n += 1;
                }
            }
        }
    }
    assert_eq!(n, 16);

    // Wrapped by a mailing list: an outer multipart/mixed with a footer.
    let signed = lf_to_crlf(&std::fs::read(dir.path("cms-false-sha256.eml")).unwrap());
    let (inner_headers, inner_body) = split_entity(&signed);
    let mut wrapped =
        b"From: lista@example.org\r\nTo: iscritti@example.org\r\nSubject: [lista] prova\r\n\
MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"===============123==\"\r\n\r\n\
--===============123==\r\n"
            .to_vec();
    // Mailman keeps the Content-Type of the original as the first part's header.
    let ct_start = String::from_utf8_lossy(inner_headers).find("Content-Type:").unwrap();
    wrapped.extend_from_slice(&inner_headers[ct_start..]);
    wrapped.extend_from_slice(inner_body);
    wrapped.extend_from_slice(
        b"\r\n--===============123==\r\nContent-Type: text/plain; charset=\"us-ascii\"\r\n\r\n\
_______________________________________________\r\nlista mailing list\r\n\
--===============123==--\r\n",
    );
    let (signed_part, der) = find_signed(&wrapped).expect("nested multipart/signed");
    let r = verify_detached(&signed_part, &der, None, &VerifyOptions::default());
    assert!(signature_ok(&r), "mailing list: {:?}", r.reasons);
}

/// `openssl cms -sign -keyid`: the SignerInfo names its signer by subjectKeyIdentifier, not by
/// issuer and serial; the signer is found among the embedded certificates by that extension.
#[test]
fn signer_identified_by_subject_key_identifier_verifies() {
    let Some(pki) = pki() else { return };
    let dir = TempDir::new("keyid");
    std::fs::write(dir.path("in.txt"), b"Content-Type: text/plain\r\n\r\nprova\r\n").unwrap();
    openssl_ok(
        &dir,
        &format!(
            "cms -sign -keyid -md sha256 -in in.txt -out keyid.eml -signer {} -inkey {} -certfile {}",
            pki.file("leaf.pem"),
            pki.file("leaf.key"),
            pki.file("inter.pem"),
        ),
    );
    let msg = lf_to_crlf(&std::fs::read(dir.path("keyid.eml")).unwrap());
    let (signed, der) = find_signed(&msg).expect("multipart/signed");
    // the SignerIdentifier is the [0] subjectKeyIdentifier choice: the leaf's SKI octets
    // appear in the SignerInfo tagged 0x80
    let leaf = pki.read("leaf.der");
    let ski = leaf.windows(5).position(|w| w == [0x06, 0x03, 0x55, 0x1d, 0x0e]).map(|at| {
        // extnID, then OCTET STRING { OCTET STRING (20) }
        let v = &leaf[at + 5..];
        v[4..4 + usize::from(v[3])].to_vec()
    });
    let ski = ski.expect("the test leaf has a subjectKeyIdentifier");
    let mut tagged = vec![0x80, u8::try_from(ski.len()).unwrap()];
    tagged.extend_from_slice(&ski);
    assert!(der.windows(tagged.len()).any(|w| w == tagged), "not signed with -keyid");
    let r = verify_detached(&signed, &der, None, &VerifyOptions::default());
    assert!(signature_ok(&r), "{:?}", r.reasons);
    assert!(r.signer.is_some());
    // the same SignerInfo with the SKI altered names no embedded certificate
    let mut wrong = der.clone();
    let at = wrong.windows(tagged.len()).position(|w| w == tagged).unwrap();
    wrong[at + 2] ^= 0xff;
    let r = verify_detached(&signed, &wrong, None, &VerifyOptions::default());
    assert_eq!(r.reasons, vec![Reason::MalformedSignature]);
}

// ---------------------------------------------------------------------------------------
// negative cases

#[test]
fn tampering_is_detected() {
    let Some(pki) = pki() else { return };
    let signer = pki.leaf();
    let msgs = sample_messages();
    let out = sign_message(&msgs[0].1, &signer, t2024()).unwrap();
    let (entity, der) = find_signed(&out).unwrap();
    let opts = VerifyOptions::default();

    let mut tampered = entity.clone();
    let p = tampered.len() - 5;
    tampered[p] ^= 0x20;
    let r = verify_detached(&tampered, &der, None, &opts);
    assert!(r.reasons.contains(&Reason::ContentMismatch), "{:?}", r.reasons);
    assert!(!r.reasons.contains(&Reason::BadSignature));

    // a signature lifted from another message
    let other = sign_message(&msgs[2].1, &signer, t2024()).unwrap();
    let (_, other_der) = find_signed(&other).unwrap();
    let r = verify_detached(&entity, &other_der, None, &opts);
    assert!(r.reasons.contains(&Reason::ContentMismatch), "{:?}", r.reasons);
    assert!(!r.reasons.contains(&Reason::BadSignature));

    // a flipped byte in the signature value (the last 256 bytes of our DER)
    let mut bad = der.clone();
    let p = bad.len() - 10;
    bad[p] ^= 1;
    let r = verify_detached(&entity, &bad, None, &opts);
    assert!(r.reasons.contains(&Reason::BadSignature), "{:?}", r.reasons);
    assert!(!r.reasons.contains(&Reason::ContentMismatch));

    // a flipped byte inside the signed attributes (the signingTime digits)
    let text_pos = der.windows(13).position(|w| w == b"241203102030Z").unwrap();
    let mut bad = der.clone();
    bad[text_pos + 11] = b'1';
    let r = verify_detached(&entity, &bad, None, &opts);
    assert!(r.reasons.contains(&Reason::BadSignature), "{:?}", r.reasons);
}

#[test]
fn hostile_der_is_malformed_quickly() {
    let Some(pki) = pki() else { return };
    let content = b"Content-Type: text/plain\r\n\r\nx\r\n";
    let der = sign_detached(content, &pki.leaf(), t2024()).unwrap();
    let opts = VerifyOptions::default();
    let mut cases: Vec<(String, Vec<u8>)> = vec![
        ("empty".into(), vec![]),
        ("garbage".into(), b"this is not DER at all".to_vec()),
        ("pem".into(), b"-----BEGIN PKCS7-----\nMIIB\n-----END PKCS7-----\n".to_vec()),
        ("zeros".into(), vec![0u8; 10 * 1024 * 1024]),
        ("huge length".into(), vec![0x30, 0x84, 0x7f, 0xff, 0xff, 0xff, 0x06, 0x09]),
        ("5-byte length".into(), vec![0x30, 0x85, 1, 0, 0, 0, 0]),
        ("deep".into(), [0x30u8, 0x80].repeat(100_000)),
        ("deep definite".into(), {
            let mut v = Vec::new();
            for _ in 0..1000 {
                v.splice(0..0, [0x30, 0x82, (v.len() >> 8) as u8, v.len() as u8]);
            }
            v
        }),
        ("over 16 MiB".into(), {
            let mut v = der.clone();
            v.resize(17 * 1024 * 1024, 0);
            v
        }),
        ("trailing".into(), {
            let mut v = der.clone();
            v.push(0);
            v
        }),
        ("not signed data".into(), {
            let mut v = der.clone();
            let p = v
                .windows(9)
                .position(|w| w == [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 1, 7, 2])
                .unwrap();
            v[p + 8] = 3; // envelopedData
            v
        }),
    ];
    for cut in [1, 2, 10, 100, der.len() / 2, der.len() - 300, der.len() - 1] {
        cases.push((format!("truncated at {cut}"), der[..cut].to_vec()));
    }
    // random garbage of many shapes, deterministic
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for i in 0..200 {
        let mut v = der.clone();
        for _ in 0..(i % 7 + 1) {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let p = (seed as usize) % v.len();
            v[p] = (seed >> 32) as u8;
        }
        cases.push((format!("mutation {i}"), v));
    }
    for (name, bytes) in cases {
        let t = Instant::now();
        let r = verify_detached(content, &bytes, None, &opts);
        assert!(t.elapsed() < Duration::from_secs(2), "{name} took {:?}", t.elapsed());
        if name.starts_with("mutation") {
            // a mutation may hit a byte nothing depends on; it must never pass silently
            // as a signature over other content, and never panic
            continue;
        }
        assert_eq!(r.reasons, vec![Reason::MalformedSignature], "{name}");
        assert_eq!(r.verdict, pec_core::smime::Verdict::Invalid);
        let (r, c) = verify_attached(&bytes, &opts);
        assert_eq!(r.reasons, vec![Reason::MalformedSignature], "{name} attached");
        assert!(c.is_none());
    }
}

// ---------------------------------------------------------------------------------------
// real Aruba receipts

#[test]
fn real_aruba_receipts_verify() {
    let Some(dir) = interop_dir() else { return };
    for name in [
        "OCA-l10n-italy/ACCETTAZIONE__IT03339130126_00009.xml.txt",
        "OCA-l10n-italy/CONSEGNA__IT03339130126_00009.xml.txt",
    ] {
        let msg = std::fs::read(dir.join(name)).unwrap();
        let (signed, der) = find_signed(&msg).expect("multipart/signed");
        let opts = VerifyOptions { time: VerifyTime::SigningTime, ..VerifyOptions::default() };
        let r = verify_detached(&signed, &der, Some("pec.aruba.it"), &opts);
        assert!(signature_ok(&r), "{name}: {:?}", r.reasons);
        assert_eq!(r.digest, Some(DigestAlgorithm::Sha1), "{name}");
        assert!(r.weak_digest);
        assert!(r.canonicalized, "{name}: stored with LF");
        let st = r.signing_time.expect("signingTime");
        assert_eq!(st.year(), 2018);
        assert_eq!(r.evaluated_at, Some(st));
        let signer = r.signer.expect("signer");
        assert_eq!(signer.sha1, sha1_hex(&signer.der));

        // the same bytes stored with CRLF verify exactly
        let crlf = lf_to_crlf(&msg);
        let (signed, der) = find_signed(&crlf).unwrap();
        let r = verify_detached(&signed, &der, None, &VerifyOptions::default());
        assert!(signature_ok(&r), "{name} crlf: {:?}", r.reasons);
        assert!(!r.canonicalized);

        // one changed character in the receipt text
        let mut bad = signed.clone();
        let p = bad.windows(9).position(|w| w == b"accettato" || w == b"consegnat").unwrap();
        bad[p] = b'A';
        let r = verify_detached(&bad, &der, None, &VerifyOptions::default());
        assert!(r.reasons.contains(&Reason::ContentMismatch), "{name}: {:?}", r.reasons);
    }
}

// ---------------------------------------------------------------------------------------
// providers index

struct FakeIndex(Vec<Arc<ProviderRecord>>);

impl ProviderDirectory for FakeIndex {
    fn by_domain(&self, domain: &str) -> Option<Arc<ProviderRecord>> {
        self.0.iter().find(|r| r.manages(domain)).cloned()
    }
    fn by_cert_hash(&self, sha1_hex: &str) -> Option<Arc<ProviderRecord>> {
        self.0
            .iter()
            .find(|r| r.cert_hashes.iter().any(|h| h.eq_ignore_ascii_case(sha1_hex)))
            .cloned()
    }
    fn by_name(&self, name: &str) -> Option<Arc<ProviderRecord>> {
        self.0.iter().find(|r| r.name.eq_ignore_ascii_case(name)).cloned()
    }
}

#[test]
fn providers_index_checks() {
    let Some(pki) = pki() else { return };
    let leaf = pki.leaf();
    let leaf_der = leaf.certificate().to_vec();
    let self_der = pki.self_signed().certificate().to_vec();
    let out = sign_message(&sample_messages()[0].1, &leaf, t2024()).unwrap();
    let (entity, der) = find_signed(&out).unwrap();
    let record = |certs: Vec<Vec<u8>>| ProviderRecord {
        dn: "providerName=Test PEC S.p.A.,o=postacert".into(),
        name: "Test PEC S.p.A.".into(),
        cert_hashes: vec![sha1_hex(&leaf_der).to_ascii_uppercase()],
        certificates: certs,
        mail_receipt: "posta-certificata@pec.example.it".into(),
        managed_domains: vec!["pec.example.it".into(), "example-pec.it".into()],
        ..ProviderRecord::default()
    };
    let opts = |index: FakeIndex| VerifyOptions {
        index: Some(Arc::new(index)),
        ..VerifyOptions::default()
    };

    let good = opts(FakeIndex(vec![Arc::new(record(vec![self_der.clone(), leaf_der.clone()]))]));
    let r = verify_detached(&entity, &der, Some("PEC.Example.IT"), &good);
    assert!(signature_ok(&r), "{:?}", r.reasons);
    let p = r.provider.expect("provider");
    assert_eq!(p.name, "Test PEC S.p.A.");
    assert_eq!(p.mail_receipt, "posta-certificata@pec.example.it");
    assert!(!r.reasons.contains(&Reason::NotInIndex));
    assert!(!r.reasons.contains(&Reason::FromDomainMismatch));

    // From: domain not managed by the signing provider
    let r = verify_detached(&entity, &der, Some("other.it"), &good);
    assert!(r.reasons.contains(&Reason::FromDomainMismatch), "{:?}", r.reasons);
    assert!(r.provider.is_some());

    // hash present but the stored certificate differs
    let wrong = opts(FakeIndex(vec![Arc::new(record(vec![self_der.clone()]))]));
    let r = verify_detached(&entity, &der, Some("pec.example.it"), &wrong);
    assert!(r.reasons.contains(&Reason::NotInIndex), "{:?}", r.reasons);
    assert!(r.provider.is_none());

    // not in the index at all
    let empty = opts(FakeIndex(vec![]));
    let r = verify_detached(&entity, &der, Some("pec.example.it"), &empty);
    assert!(r.reasons.contains(&Reason::NotInIndex));
    assert!(!r.reasons.contains(&Reason::FromDomainMismatch));
    assert_eq!(r.verdict, pec_core::smime::Verdict::Invalid);
}

#[test]
fn evaluation_time() {
    let Some(pki) = pki() else { return };
    let der = sign_detached(b"x", &pki.self_signed(), t2024()).unwrap();
    let at = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
    let r = verify_detached(
        b"x",
        &der,
        None,
        &VerifyOptions { time: VerifyTime::At(at), ..Default::default() },
    );
    assert_eq!(r.evaluated_at, Some(at));
    let r = verify_detached(
        b"x",
        &der,
        None,
        &VerifyOptions { time: VerifyTime::SigningTime, ..Default::default() },
    );
    assert_eq!(r.evaluated_at, Some(t2024()));
    let before = Utc::now();
    let r = verify_detached(b"x", &der, None, &VerifyOptions::default());
    assert!(r.evaluated_at.unwrap() >= before);
    // 2050 and later: GeneralizedTime
    let late = Utc.with_ymd_and_hms(2051, 6, 1, 12, 0, 0).unwrap();
    let der = sign_detached(b"x", &pki.self_signed(), late).unwrap();
    assert!(der.windows(15).any(|w| w == b"20510601120000Z"));
    let r = verify_detached(b"x", &der, None, &VerifyOptions::default());
    assert_eq!(r.signing_time, Some(late));
    assert!(signature_ok(&r));
}

// ---------------------------------------------------------------------------------------
// committed vectors (tests/vectors/smime), shared with the language bindings

fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors/smime")
}

/// Regenerates `tests/vectors/smime` (run by hand: `cargo test -p pec-core --test smime --
/// --ignored regenerate_vectors`). The committed files are what the other tests read.
#[test]
#[ignore]
fn regenerate_vectors() {
    let Some(pki) = pki() else { return };
    let v = vectors_dir();
    std::fs::create_dir_all(&v).unwrap();
    for (from, to) in [
        ("leaf.key", "signer.key.pem"),
        ("leaf.pem", "signer.cert.pem"),
        ("inter.pem", "intermediate.cert.pem"),
        ("root.pem", "root.cert.pem"),
    ] {
        std::fs::copy(pki.dir.path(from), v.join(to)).unwrap();
    }
    let msg = b"From: posta-certificata@pec.example.it\r\nTo: utente@pec.example.it\r\n\
Subject: ACCETTAZIONE: prova\r\nDate: Tue, 3 Dec 2024 10:20:30 +0100\r\n\
Message-ID: <opec.20241203102030.1@pec.example.it>\r\nX-Ricevuta: accettazione\r\n\
Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n\
Ricevuta di accettazione: il messaggio =E8 stato accettato.\r\n";
    // signed now, inside the validity of the freshly made certificates
    let now = Utc.timestamp_opt(Utc::now().timestamp(), 0).unwrap();
    let signed = sign_message(msg, &pki.leaf(), now).unwrap();
    std::fs::write(v.join("pec-sha256.eml"), &signed).unwrap();
    let mut tampered = signed.clone();
    let p = tampered.windows(9).position(|w| w == b"accettato").unwrap();
    tampered[p] = b'A';
    std::fs::write(v.join("pec-sha256-tampered.eml"), tampered).unwrap();

    let dir = TempDir::new("vectors");
    std::fs::write(dir.path("in.txt"), "Content-Type: text/plain\n\nprova openssl\n").unwrap();
    for (md, name) in [("sha1", "openssl-sha1.eml"), ("sha256", "openssl-sha256.eml")] {
        openssl_ok(
            &dir,
            &format!(
                "smime -sign -md {} -in in.txt -signer {} -inkey {} -certfile {} -out {}",
                md,
                pki.file("leaf.pem"),
                pki.file("leaf.key"),
                pki.file("inter.pem"),
                name
            ),
        );
        std::fs::copy(dir.path(name), v.join(name)).unwrap();
    }
    // as a mailbox stores it: every line end LF
    let sha1 = std::fs::read(v.join("openssl-sha1.eml")).unwrap();
    let lf = String::from_utf8(sha1).unwrap().replace("\r\n", "\n");
    std::fs::write(v.join("openssl-sha1-lf.eml"), lf).unwrap();
}

#[test]
fn committed_vectors_verify() {
    let v = vectors_dir();
    if !v.join("pec-sha256.eml").exists() {
        assert!(!ci(), "vectors missing");
        return;
    }
    let opts = VerifyOptions::default();
    for (name, digest, canonicalized) in [
        ("pec-sha256.eml", DigestAlgorithm::Sha256, false),
        ("openssl-sha1.eml", DigestAlgorithm::Sha1, false),
        ("openssl-sha256.eml", DigestAlgorithm::Sha256, false),
        ("openssl-sha1-lf.eml", DigestAlgorithm::Sha1, true),
    ] {
        let msg = std::fs::read(v.join(name)).unwrap();
        let (signed, der) = find_signed(&msg).unwrap();
        let r = verify_detached(&signed, &der, None, &opts);
        assert!(signature_ok(&r), "{name}: {:?}", r.reasons);
        assert_eq!(r.digest, Some(digest), "{name}");
        assert_eq!(r.canonicalized, canonicalized, "{name}");
    }
    let msg = std::fs::read(v.join("pec-sha256-tampered.eml")).unwrap();
    let (signed, der) = find_signed(&msg).unwrap();
    let r = verify_detached(&signed, &der, None, &opts);
    assert_eq!(r.reasons.first(), Some(&Reason::ContentMismatch));
    // the committed key still matches the committed certificate
    let s = SoftwareSigner::from_pem(
        &std::fs::read(v.join("signer.key.pem")).unwrap(),
        &std::fs::read(v.join("signer.cert.pem")).unwrap(),
        &std::fs::read(v.join("intermediate.cert.pem")).unwrap(),
    )
    .unwrap();
    let r = verify_detached(&signed, &der, None, &opts);
    assert!(r.signer.is_some());
    assert_eq!(s.chain().len(), 1);
}
