//! An offline RFC 3161 time-stamping authority for tests (ENGINE.md §5): a CA and a TSA
//! certificate (`extendedKeyUsage = critical,timeStamping`) made with `openssl`, and a tiny
//! HTTP responder on 127.0.0.1 that answers each posted `TimeStampReq` with
//! `openssl ts -reply -config tsa.cnf`. Needs the `openssl` command (check with
//! [`crate::env::require_tool`] first).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// A running offline TSA. Dropping it stops the responder.
#[derive(Debug)]
pub struct OfflineTsa {
    /// The directory holding its keys, certificates and `tsa.cnf`.
    pub dir: PathBuf,
    /// `http://127.0.0.1:PORT/tsa`.
    pub url: String,
    /// The CA certificate (PEM) the TSA certificate is issued by.
    pub ca_pem: PathBuf,
    /// The TSA certificate (PEM).
    pub tsa_pem: PathBuf,
    /// How many requests were answered.
    pub served: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    port: u16,
}

fn openssl(dir: &Path, args: &[&str]) -> Result<(), String> {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .map_err(|e| format!("openssl: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "openssl {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(())
}

const EXT: &str = "[tsa]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature,nonRepudiation
extendedKeyUsage = critical,timeStamping
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
";

fn tsa_cnf(dir: &Path) -> String {
    format!(
        "[ tsa ]
default_tsa = tsa_config1
[ tsa_config1 ]
dir = {dir}
serial = $dir/tsaserial
crypto_device = builtin
signer_cert = $dir/tsa.pem
certs = $dir/tsa.pem
signer_key = $dir/tsa.key
signer_digest = sha256
default_policy = 1.3.6.1.4.1.99999.1
other_policies = 1.3.6.1.4.1.99999.2
digests = sha256, sha384, sha512
accuracy = secs:1
clock_precision_digits = 0
ordering = yes
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
",
        dir = dir.display()
    )
}

impl OfflineTsa {
    /// Makes the CA and the TSA in `dir` (created) and starts the responder.
    ///
    /// # Errors
    /// A message when `openssl` fails or the port cannot be bound.
    pub fn start(dir: &Path) -> Result<OfflineTsa, String> {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        std::fs::write(dir.join("ext.cnf"), EXT).map_err(|e| e.to_string())?;
        std::fs::write(dir.join("tsaserial"), "01\n").map_err(|e| e.to_string())?;
        std::fs::write(dir.join("tsa.cnf"), tsa_cnf(dir)).map_err(|e| e.to_string())?;
        openssl(
            dir,
            &[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
                "-days",
                "3650",
                "-subj",
                "/CN=pec test TSA CA",
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign",
            ],
        )?;
        openssl(
            dir,
            &[
                "req",
                "-new",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                "tsa.key",
                "-out",
                "tsa.csr",
                "-subj",
                "/CN=pec test TSA",
            ],
        )?;
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                "tsa.csr",
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-set_serial",
                "2",
                "-out",
                "tsa.pem",
                "-days",
                "3650",
                "-extfile",
                "ext.cnf",
                "-extensions",
                "tsa",
            ],
        )?;
        let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
        let port = listener.local_addr().map_err(|e| e.to_string())?.port();
        let stop = Arc::new(AtomicBool::new(false));
        let served = Arc::new(AtomicUsize::new(0));
        let (d, s, n) = (dir.to_path_buf(), Arc::clone(&stop), Arc::clone(&served));
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(c) = conn {
                    let _ = serve(&d, c, &n);
                }
            }
        });
        Ok(OfflineTsa {
            dir: dir.to_path_buf(),
            url: format!("http://127.0.0.1:{port}/tsa"),
            ca_pem: dir.join("ca.pem"),
            tsa_pem: dir.join("tsa.pem"),
            served,
            stop,
            port,
        })
    }
}

impl Drop for OfflineTsa {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // wake the accept loop
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// One HTTP/1.1 exchange: POST body in, `openssl ts -reply` out.
fn serve(dir: &Path, conn: TcpStream, served: &AtomicUsize) -> std::io::Result<()> {
    conn.set_read_timeout(Some(std::time::Duration::from_secs(10)))?;
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut len = 0usize;
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':')
            && k.eq_ignore_ascii_case("content-length")
        {
            len = v.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0u8; len.min(1 << 20)];
    reader.read_exact(&mut body)?;
    let n = served.fetch_add(1, Ordering::SeqCst);
    let q = dir.join(format!("q{n}.tsq"));
    let r = dir.join(format!("r{n}.tsr"));
    std::fs::write(&q, &body)?;
    let cnf = dir.join("tsa.cnf");
    let ok = Command::new("openssl")
        .args(["ts", "-reply", "-queryfile"])
        .arg(&q)
        .arg("-config")
        .arg(&cnf)
        .arg("-out")
        .arg(&r)
        .output()
        .is_ok_and(|o| o.status.success());
    let mut conn = conn;
    match std::fs::read(&r) {
        Ok(resp) if ok => {
            write!(
                conn,
                "HTTP/1.1 200 OK\r\nContent-Type: application/timestamp-reply\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                resp.len()
            )?;
            conn.write_all(&resp)?;
        }
        _ => {
            conn.write_all(
                b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            )?;
        }
    }
    conn.flush()
}
