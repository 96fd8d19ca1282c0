//! Providers index from a REAL OpenLDAP slapd (docs/SPEC.md §8.1): the test writes a temporary
//! slapd.conf with the shipped schema (`schema/pec-index.schema`), loads a generated index
//! of several providers with real DER certificates (openssl) with slapadd, starts slapd on
//! `ldapi://` in the temporary directory and on 127.0.0.1, and compares the answers of
//! `LdapSource` with those of the same LDIF. Then it stops the server and checks that a
//! refreshing directory keeps its last good copy and that a fresh load fails fast.
#![allow(clippy::unwrap_used)] // tests may unwrap
#![cfg(feature = "ldap")]

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use pec_core::error::DirectoryError;
use pec_core::index::{
    Directory, LdapSource, ProviderDirectory, ProviderRecord, RefreshingDirectory,
};
use pec_core::{Code, Error};

const SLAPD: &str = "/usr/sbin/slapd";
const SLAPADD: &str = "/usr/sbin/slapadd";

fn tools_present() -> bool {
    pec_testkit::require_tools(&[SLAPD, SLAPADD, "openssl"])
}

/// Stops slapd whatever happens to the test.
struct Slapd {
    child: Option<Child>,
}

impl Slapd {
    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Slapd {
    fn drop(&mut self) {
        self.stop();
    }
}

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{cmd:?}: {}", String::from_utf8_lossy(&out.stderr));
}

struct Provider {
    name: String,
    unit: Option<String>,
    certs: Vec<Vec<u8>>,
    domains: Vec<String>,
}

fn gen_cert(dir: &Path, tag: &str) -> Vec<u8> {
    run(Command::new("openssl").current_dir(dir).args([
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        &format!("{tag}.key"),
        "-out",
        &format!("{tag}.pem"),
        "-days",
        "30",
        "-subj",
        &format!("/O=PEC test/CN={tag}"),
    ]));
    run(Command::new("openssl").current_dir(dir).args([
        "x509",
        "-in",
        &format!("{tag}.pem"),
        "-outform",
        "DER",
        "-out",
        &format!("{tag}.der"),
    ]));
    std::fs::read(dir.join(format!("{tag}.der"))).unwrap()
}

fn fold(line: &str) -> String {
    let mut out = String::new();
    let bytes = line.as_bytes();
    for (i, chunk) in bytes.chunks(76).enumerate() {
        if i > 0 {
            out.push_str("\n ");
        }
        out.push_str(std::str::from_utf8(chunk).unwrap());
    }
    out.push('\n');
    out
}

fn index_ldif(providers: &[Provider]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut s = String::from(
        "dn: o=postacert\nobjectclass: top\nobjectclass: organization\nobjectClass: LDIFLocationURLObject\n\
         o: postacert\nLDIFLocationURL: https://index.example/indice.ldif.p7m\n\n",
    );
    for p in providers {
        let dn = match &p.unit {
            Some(u) => format!("providerUnit={u},providerName={},o=postacert", p.name),
            None => format!("providerName={},o=postacert", p.name),
        };
        s.push_str(&format!(
            "dn: {dn}\nobjectclass: top\nobjectclass: provider\nproviderName: {}\n",
            p.name
        ));
        if let Some(u) = &p.unit {
            s.push_str(&format!("providerUnit: {u}\n"));
        }
        for (i, c) in p.certs.iter().enumerate() {
            let h = pec_core::crypto::sha1_hex(c);
            let h = if i % 2 == 0 { h.to_uppercase() } else { h };
            s.push_str(&format!("providerCertificateHash: {h}\n"));
            s.push_str(&fold(&format!("providerCertificate;binary:: {}", b64.encode(c))));
        }
        s.push_str(&format!("mailReceipt: ricevute@{}\n", p.domains[0]));
        if p.unit.is_none() {
            s.push_str(&format!("LDIFLocationURL: https://{}/index.ldif.p7m\n", p.domains[0]));
        }
        for d in &p.domains {
            s.push_str(&format!("managedDomains: {d}\n"));
        }
        s.push_str(&format!("description: Gestore {}\n\n", p.name));
    }
    s
}

fn percent(path: &Path) -> String {
    path.to_str()
        .unwrap()
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn sorted(d: &Directory) -> Vec<ProviderRecord> {
    let mut v: Vec<ProviderRecord> = d.records().iter().map(|r| (**r).clone()).collect();
    v.sort_by(|a, b| a.dn.cmp(&b.dn));
    v
}

fn wait_for_socket(sock: &Path, port: u16) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(10) {
        if UnixStream::connect(sock).is_ok() && TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("slapd did not start listening");
}

#[test]
fn slapd_gives_the_same_answers_as_the_ldif() {
    if !tools_present() {
        return;
    }
    let tmp = tempfile::Builder::new().prefix("pecldap").tempdir_in("/tmp").unwrap();
    let t = tmp.path();
    std::fs::create_dir(t.join("db")).unwrap();

    // Seven entries: six providers (one with two certificates), one secondary environment.
    let mut providers = Vec::new();
    for i in 0..6 {
        let mut certs = vec![gen_cert(t, &format!("p{i}"))];
        if i == 0 {
            certs.push(gen_cert(t, "p0b"));
        }
        let domains = (0..=i).map(|j| format!("d{j}.pec-provider{i}.example")).collect();
        providers.push(Provider { name: format!("Provider {i}"), unit: None, certs, domains });
    }
    providers.push(Provider {
        name: "Provider 1".into(),
        unit: Some("Secondario".into()),
        certs: vec![gen_cert(t, "p1u")],
        domains: vec!["unit.pec-provider1.example".into()],
    });
    let ldif = index_ldif(&providers);
    std::fs::write(t.join("index.ldif"), &ldif).unwrap();
    let from_ldif = Directory::from_ldif(ldif.as_bytes()).unwrap();
    assert_eq!(from_ldif.len(), 7);

    let schema = Path::new(env!("CARGO_MANIFEST_DIR")).join("../schema/pec-index.schema");
    let conf = format!(
        "include /etc/ldap/schema/core.schema\ninclude {schema}\npidfile {t}/slapd.pid\n\
         modulepath /usr/lib/ldap\nmoduleload back_mdb\n\
         sizelimit size.soft=3 size.hard=3 size.prtotal=unlimited\n\
         database mdb\nsuffix \"o=postacert\"\nrootdn \"cn=admin,o=postacert\"\nrootpw secret\n\
         directory {t}/db\nmaxsize 10485760\n",
        schema = schema.canonicalize().unwrap().display(),
        t = t.display()
    );
    let conf_path = t.join("slapd.conf");
    std::fs::write(&conf_path, conf).unwrap();
    run(Command::new(SLAPADD).arg("-f").arg(&conf_path).arg("-l").arg(t.join("index.ldif")));

    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let sock: PathBuf = t.join("ldapi");
    let ldapi = format!("ldapi://{}", percent(&sock));
    let ldap = format!("ldap://127.0.0.1:{port}");
    let child = Command::new(SLAPD)
        .arg("-h")
        .arg(format!("{ldapi} {ldap}/"))
        .arg("-f")
        .arg(&conf_path)
        .args(["-d", "0"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut server = Slapd { child: Some(child) };
    wait_for_socket(&sock, port);

    let fast = |url: &str| {
        LdapSource::new(url).with_timeouts(Duration::from_secs(2), Duration::from_secs(5))
    };

    // ldapi, anonymous, paged by 2 (the server's size limit is 3: paging is needed)
    let over_ldapi = fast(&ldapi).with_page_size(2).load().unwrap();
    assert_eq!(sorted(&over_ldapi), sorted(&from_ldif));

    // TCP with a simple bind
    let over_tcp =
        fast(&ldap).with_bind("cn=admin,o=postacert", "secret").with_page_size(3).load().unwrap();
    assert_eq!(sorted(&over_tcp), sorted(&from_ldif));

    // same answers to the look-ups
    for p in &providers {
        for d in &p.domains {
            let a = over_ldapi.by_domain(&d.to_uppercase()).unwrap();
            let b = from_ldif.by_domain(d).unwrap();
            assert_eq!(a, b);
        }
        for c in &p.certs {
            assert_eq!(over_ldapi.by_certificate(c), from_ldif.by_certificate(c));
            let h = pec_core::crypto::sha1_hex(c).to_uppercase();
            assert_eq!(
                over_tcp.by_cert_hash(&h).unwrap().dn,
                from_ldif.by_cert_hash(&h).unwrap().dn
            );
        }
    }
    assert_eq!(over_ldapi.by_name("provider 1").unwrap().unit, None);
    assert!(over_ldapi.is_certified("x@unit.pec-provider1.example"));
    assert!(!over_ldapi.is_certified("x@pec-provider1.example"));

    // without paging the server's size limit is a typed search error
    let err = fast(&ldapi).with_page_size(0).load().unwrap_err();
    assert_eq!(err.code(), Code::LdapSearch, "{err:?}");
    // a wrong password is a connection (bind) error
    let err = fast(&ldap).with_bind("cn=admin,o=postacert", "wrong").load().unwrap_err();
    assert_eq!(err.code(), Code::LdapConnect, "{err:?}");
    // a base that does not exist is a search error
    let err = fast(&ldapi).with_base("o=nowhere").load().unwrap_err();
    assert!(matches!(err, Error::Directory(DirectoryError::Search(_))), "{err:?}");

    // the server goes away mid-life
    let refreshing = RefreshingDirectory::new(fast(&ldapi).with_page_size(2)).unwrap();
    assert!(refreshing.describe().contains("ldapi"));
    refreshing.refresh().unwrap();
    server.stop();
    let started = Instant::now();
    let err = refreshing.refresh().unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(err.code(), Code::LdapConnect, "{err:?}");
    assert_eq!(refreshing.last_error().unwrap().error, err);
    assert_eq!(refreshing.by_domain("d0.pec-provider3.example").unwrap().name, "Provider 3");
    assert!(refreshing.is_certified("a@unit.pec-provider1.example"));

    // a fresh start with the server down fails fast with a typed error
    for url in [&ldapi, &ldap] {
        let started = Instant::now();
        let err = fast(url).load().unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(3), "{url}: {:?}", started.elapsed());
        assert!(matches!(err.code(), Code::LdapConnect | Code::LdapTimeout), "{url}: {err:?}");
        assert!(RefreshingDirectory::new(fast(url)).is_err());
    }
}

#[test]
fn a_server_that_never_answers_times_out() {
    // Accepts the connection, then says nothing: the search must time out, not hang.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let hold = std::thread::spawn(move || {
        if let Ok((mut s, _)) = listener.accept() {
            let mut buf = [0u8; 1024];
            let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
            while let Ok(n) = s.read(&mut buf) {
                if n == 0 {
                    break;
                }
            }
        }
    });
    let source = LdapSource::new(format!("ldap://127.0.0.1:{port}"))
        .with_timeouts(Duration::from_millis(500), Duration::from_millis(700));
    let started = Instant::now();
    let err = source.load().unwrap_err();
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_millis(2000), "{elapsed:?}");
    assert!(
        matches!(err, Error::Directory(DirectoryError::Timeout { operation: "search", .. })),
        "{err:?}"
    );
    drop(hold);

    // an address nobody answers on: bounded by the connect timeout (some sandboxes accept
    // any TCP connection and close it: then it is a search error; typed either way)
    let source = LdapSource::new("ldap://10.255.255.1:389")
        .with_timeouts(Duration::from_millis(300), Duration::from_millis(300));
    let started = Instant::now();
    let err = source.load().unwrap_err();
    assert!(started.elapsed() < Duration::from_millis(1500), "{:?}", started.elapsed());
    assert!(
        matches!(err.code(), Code::LdapConnect | Code::LdapTimeout | Code::LdapSearch),
        "{err:?}"
    );
    // a malformed URL is a typed error too
    assert_eq!(LdapSource::new("nonsense").load().unwrap_err().code(), Code::LdapConnect);
}

#[test]
fn concurrent_loads_from_several_threads() {
    // Each load runs on its own thread (never inside the caller's runtime, if any); several
    // at once against no server all fail with a typed error.
    let handles: Vec<_> = (0..3)
        .map(|_| {
            std::thread::spawn(|| {
                LdapSource::new("ldap://127.0.0.1:1")
                    .with_timeouts(Duration::from_millis(300), Duration::from_millis(300))
                    .load()
                    .unwrap_err()
                    .code()
            })
        })
        .collect();
    for h in handles {
        assert!(matches!(h.join().unwrap(), Code::LdapConnect | Code::LdapTimeout));
    }
}

#[test]
fn shipped_cn_config_schema_serves_the_vector() {
    if !tools_present() {
        return;
    }
    let tmp = tempfile::Builder::new().prefix("pecldapcfg").tempdir_in("/tmp").unwrap();
    let t = tmp.path();
    std::fs::create_dir(t.join("cfg")).unwrap();
    std::fs::create_dir(t.join("db")).unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").canonicalize().unwrap();
    let config = format!(
        "dn: cn=config\nobjectClass: olcGlobal\ncn: config\nolcPidFile: {t}/slapd.pid\n\n\
         dn: cn=module{{0}},cn=config\nobjectClass: olcModuleList\ncn: module{{0}}\n\
         olcModulePath: /usr/lib/ldap\nolcModuleLoad: back_mdb\n\n\
         dn: cn=schema,cn=config\nobjectClass: olcSchemaConfig\ncn: schema\n\n\
         include: file:///etc/ldap/schema/core.ldif\n\n\
         include: file://{root}/schema/pec-index.ldif\n\n\
         dn: olcDatabase={{1}}mdb,cn=config\nobjectClass: olcDatabaseConfig\nobjectClass: olcMdbConfig\n\
         olcDatabase: {{1}}mdb\nolcSuffix: o=postacert\nolcDbDirectory: {t}/db\nolcDbMaxSize: 10485760\n",
        t = t.display(),
        root = root.display()
    );
    std::fs::write(t.join("config.ldif"), config).unwrap();
    run(Command::new(SLAPADD)
        .args(["-n0", "-F"])
        .arg(t.join("cfg"))
        .arg("-l")
        .arg(t.join("config.ldif")));

    // The committed vector, as slapadd wants it: no `version:` line (slapadd refuses it) and
    // the certificate syntax only in binary transfer (`;binary`).
    let vector = std::fs::read_to_string(root.join("tests/vectors/index/providers.ldif")).unwrap();
    let for_slapadd: String = vector
        .lines()
        .filter(|l| !l.starts_with("version:"))
        .map(|l| l.replace("providerCertificate:: ", "providerCertificate;binary:: ") + "\n")
        .collect();
    std::fs::write(t.join("data.ldif"), for_slapadd).unwrap();
    run(Command::new(SLAPADD).arg("-F").arg(t.join("cfg")).arg("-l").arg(t.join("data.ldif")));

    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let sock = t.join("ldapi");
    let ldapi = format!("ldapi://{}", percent(&sock));
    let child = Command::new(SLAPD)
        .arg("-h")
        .arg(format!("{ldapi} ldap://127.0.0.1:{port}/"))
        .arg("-F")
        .arg(t.join("cfg"))
        .args(["-d", "0"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _server = Slapd { child: Some(child) };
    wait_for_socket(&sock, port);
    let over_ldap = LdapSource::new(&ldapi)
        .with_timeouts(Duration::from_secs(2), Duration::from_secs(5))
        .load()
        .unwrap();
    let from_ldif = Directory::from_ldif(vector.as_bytes()).unwrap();
    assert_eq!(sorted(&over_ldap), sorted(&from_ldif));
    assert_eq!(over_ldap.by_domain("pec.cliente-uno.example").unwrap().name, "Alfa PEC");
}
