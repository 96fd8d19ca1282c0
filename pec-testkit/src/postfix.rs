//! Real Postfix instances for tests (ENGINE.md §4): each in its own temporary directory with
//! its own `config_directory`, `queue_directory` and `data_directory`, listening on one
//! loopback address (127.0.0.2, 127.0.0.3, ...; never 127.0.0.1:25), chroot off, DNS off
//! (`disable_dns_lookups`, `smtp_host_lookup = native`, transport maps to bracketed
//! addresses), logging to its own `maillog_file`. Postfix's `inet_interfaces` only takes
//! addresses configured on an interface and 127.0.0.2 is not (Linux routes all of 127/8 to
//! `lo` anyway), so each listener names its address in master.cf (`127.0.0.2:smtp inet …`,
//! see [`bind_inet`]) and `smtp_bind_address` is the instance's address. Started with `postfix -c DIR start`, stopped
//! with `postfix -c DIR stop` and, if the master is still there, by its pid (`pid/master.pid`
//! in the queue directory). The global `/etc/postfix` is never read for configuration nor
//! written.
//!
//! [`Config::pec_provider`] renders the deployment files `examples/postfix/main.cf` and
//! `master.cf` (the address `127.0.0.1` replaced by the instance's, `pec.example.it` by the
//! provider's domain) and then applies the test's overrides with `postconf -e` / `postconf
//! -P` (no SASL and no forced TLS on submission): the tests run the files an administrator
//! installs.
//!
//! Needs the Postfix programs and root (Postfix's master binds port 25 and switches to the
//! `postfix` user): check [`available`] first (skipped locally, a failure under `CI=true`).

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::env::{TempDir, repo_root, require, require_tools};

/// The Postfix programs the harness runs.
pub const TOOLS: &[&str] = &["postfix", "postconf", "postqueue", "postsuper"];

/// Whether Postfix instances can run here: the programs exist and the process is root.
/// Under [`crate::env::require`]: skipped locally, a failure under `CI=true`.
///
/// # Panics
/// When something is missing and `CI=true`.
pub fn available() -> bool {
    require_tools(TOOLS) && require("root (Postfix's master binds port 25)", is_root())
}

/// Whether this process runs as root (the `Uid:` line of `/proc/self/status`).
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|s| {
        s.lines()
            .find(|l| l.starts_with("Uid:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .is_some_and(|uid| uid == "0")
    })
}

/// Whether `ip` is a usable local address (a listener binds on it and accepts a
/// connection). On Linux all of 127.0.0.0/8 is loopback.
pub fn loopback_usable(ip: Ipv4Addr) -> bool {
    let Ok(l) = TcpListener::bind((ip, 0)) else { return false };
    let Ok(addr) = l.local_addr() else { return false };
    TcpStream::connect_timeout(&addr, Duration::from_secs(2)).is_ok()
}

/// Polls `cond` every 100 ms until it holds or `timeout` has passed; returns whether it held.
/// (A generous deadline to wait for a real process, never a timing assertion.)
pub fn wait_for(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + timeout;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= end {
            return false;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// What one instance runs.
#[derive(Clone, Debug)]
pub struct Config {
    /// The loopback address it listens on (`inet_interfaces`, the `smtp` client's bind
    /// address).
    pub ip: Ipv4Addr,
    /// `myhostname` (keep it different from the greeting of any peer, or Postfix sees a loop).
    pub hostname: String,
    /// main.cf parameters written after the base and the rendered files (`postconf -e`).
    pub main: Vec<(String, String)>,
    /// master.cf entries appended verbatim (listeners, content-filter transports).
    pub master: String,
    /// master.cf service parameters applied with `postconf -P` (`service/type/name=value`;
    /// an inet service without an address gets the instance's).
    pub master_params: Vec<String>,
    /// `transport_maps` entries (`domain` → `smtp:[ip]:port`), a texthash table.
    pub transport: Vec<(String, String)>,
}

impl Config {
    /// A plain MTA on `ip`: no listener unless `master` adds one (inet services are bound to
    /// `ip`, see [`bind_inet`]), no local delivery, DNS off.
    pub fn new(ip: Ipv4Addr, hostname: &str) -> Config {
        Config {
            ip,
            hostname: hostname.to_string(),
            main: Vec::new(),
            master: String::new(),
            master_params: Vec::new(),
            transport: Vec::new(),
        }
    }

    /// A PEC provider's MTA: `examples/postfix/main.cf` and `master.cf` rendered for `ip` and
    /// `domain` (`pec serve` expected on the same address: access 10024, incoming 10026,
    /// delivery LMTP 2424; re-injection listener on 10025), STARTTLS on port 25 with
    /// `tls_cert`/`tls_key`, and the test's overrides: submission (587) without SASL or forced
    /// TLS, open to `mynetworks` (127.0.0.0/8).
    ///
    /// # Errors
    /// The example files cannot be read.
    pub fn pec_provider(
        ip: Ipv4Addr,
        domain: &str,
        tls_cert: &Path,
        tls_key: &Path,
    ) -> Result<Config, String> {
        let (main, master) = render_examples(ip, domain)?;
        let mut c = Config::new(ip, &format!("mx.{domain}"));
        c.master = master;
        c.main = parse_main(&main);
        let mut set = |k: &str, v: &str| c.main.push((k.to_string(), v.to_string()));
        set("smtpd_tls_cert_file", &tls_cert.display().to_string());
        set("smtpd_tls_key_file", &tls_key.display().to_string());
        for p in [
            "submission/inet/smtpd_tls_security_level=may",
            "submission/inet/smtpd_sasl_auth_enable=no",
            "submission/inet/smtpd_client_restrictions=permit_mynetworks,reject",
            "submission/inet/smtpd_sender_restrictions=",
            "submission/inet/smtpd_relay_restrictions=permit_mynetworks,reject",
            "submission/inet/smtpd_recipient_restrictions=permit_mynetworks,reject",
        ] {
            c.master_params.push(p.to_string());
        }
        Ok(c)
    }

    /// Sets a main.cf parameter (applied after everything else).
    pub fn set(&mut self, key: &str, value: &str) -> &mut Config {
        self.main.push((key.to_string(), value.to_string()));
        self
    }

    /// Routes `domain` to `nexthop` (e.g. `smtp:[127.0.0.3]:25`).
    pub fn route(&mut self, domain: &str, nexthop: &str) -> &mut Config {
        self.transport.push((domain.to_string(), nexthop.to_string()));
        self
    }
}

/// `examples/postfix/main.cf` and `master.cf` with `127.0.0.1` replaced by `ip` and
/// `pec.example.it` by `domain`.
///
/// # Errors
/// A file cannot be read.
pub fn render_examples(ip: Ipv4Addr, domain: &str) -> Result<(String, String), String> {
    let dir = repo_root().join("examples/postfix");
    let read = |name: &str| {
        std::fs::read_to_string(dir.join(name))
            .map_err(|e| format!("{}: {e}", dir.join(name).display()))
    };
    let render =
        |s: String| s.replace("127.0.0.1", &ip.to_string()).replace("pec.example.it", domain);
    Ok((render(read("main.cf")?), render(read("master.cf")?)))
}

/// The `name = value` lines of a main.cf text (comments and blank lines dropped, continuation
/// lines joined).
pub fn parse_main(text: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if line.trim_start().starts_with('#') || line.trim().is_empty() {
            continue;
        }
        if line.starts_with(char::is_whitespace) {
            if let Some(last) = out.last_mut() {
                last.1.push(' ');
                last.1.push_str(line.trim());
            }
            continue;
        }
        if let Some((k, v)) = line.split_once('=') {
            out.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    out
}

/// The services every instance runs (the stock master.cf with chroot off and without the
/// `smtp inet` listener).
const BASE_MASTER: &str = "\
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
lmtp      unix  -       -       n       -       -       lmtp
virtual   unix  -       n       n       -       -       virtual
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
";

/// A running Postfix instance; dropping it stops it.
#[derive(Debug)]
pub struct Postfix {
    /// Its address.
    pub ip: Ipv4Addr,
    /// `config_directory` (main.cf, master.cf, transport).
    pub config_dir: PathBuf,
    /// `queue_directory`.
    pub queue_dir: PathBuf,
    /// The `maillog_file`.
    pub log_file: PathBuf,
    root: TempDir,
    running: bool,
    /// An exclusive lock on `pec-postfix-<ip>.lock` in the temporary directory, held while
    /// the instance exists: tests (threads of one binary, or other processes) using the
    /// same address wait for each other instead of colliding on its ports.
    _lock: std::fs::File,
}

/// Takes the address lock of `ip` (blocking).
fn lock_address(ip: Ipv4Addr) -> Result<std::fs::File, String> {
    let path = std::env::temp_dir().join(format!("pec-postfix-{ip}.lock"));
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    file.lock().map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(file)
}

fn run(cmd: &mut Command) -> Result<String, String> {
    let out = cmd.stdin(Stdio::null()).output().map_err(|e| format!("{cmd:?}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{cmd:?}: {}: {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// master.cf text with every inet service bound to `ip`: `smtp inet …` becomes
/// `IP:smtp inet …` (Postfix's `inet_interfaces` only takes addresses configured on an
/// interface, and 127.0.0.2 is reachable on Linux without being configured on `lo`; so
/// `inet_interfaces = loopback-only` and each listener names its address).
pub fn bind_inet(master: &str, ip: Ipv4Addr) -> String {
    let mut out = String::with_capacity(master.len() + 64);
    for line in master.split_inclusive('\n') {
        let mut f = line.split_whitespace();
        let service = !line.starts_with(char::is_whitespace) && !line.starts_with('#');
        if let (true, Some(name), Some("inet")) = (service, f.next(), f.next()) {
            if !name.contains(':') {
                out.push_str(&format!("{ip}:"));
            }
        }
        out.push_str(line);
    }
    out
}

/// The TCP port of a master.cf inet service name (`smtp`, `submission`, `ADDR:PORT`, `PORT`).
fn inet_port(service: &str) -> Option<u16> {
    let port = service.rsplit(':').next()?;
    match port {
        "smtp" => Some(25),
        "submission" => Some(587),
        "smtps" | "submissions" => Some(465),
        p => p.parse().ok(),
    }
}

impl Postfix {
    /// Creates the instance's directories and files in a new temporary directory tagged
    /// `tag`, starts it and waits (up to 60 s) until every inet listener accepts connections.
    /// Waits first for any other instance on the same address (in this process or another)
    /// to be dropped; a test using several instances starts them in address order.
    ///
    /// # Errors
    /// The address is unusable, a file cannot be written, `postconf`/`postfix start` fails
    /// or a listener does not come up (the error carries the instance's log).
    pub fn start(tag: &str, config: &Config) -> Result<Postfix, String> {
        if !loopback_usable(config.ip) {
            return Err(format!("{} is not a usable local address", config.ip));
        }
        let lock = lock_address(config.ip)?;
        let root = TempDir::new(&format!("postfix-{tag}"));
        let config_dir = root.path("etc");
        let queue_dir = root.path("queue");
        let data_dir = root.path("data");
        for d in [&config_dir, &queue_dir, &data_dir] {
            std::fs::create_dir_all(d).map_err(|e| format!("{}: {e}", d.display()))?;
        }
        run(Command::new("chown").arg("postfix:").arg(&data_dir))?;
        let log_file = root.path("maillog");
        let ip = config.ip;
        let mut main = String::new();
        let _ = writeln!(
            main,
            "# generated by pec_testkit::postfix for a test instance\n\
             compatibility_level = 3.6\n\
             queue_directory = {q}\n\
             data_directory = {d}\n\
             mail_owner = postfix\n\
             setgid_group = postdrop\n\
             inet_interfaces = loopback-only\n\
             inet_protocols = ipv4\n\
             smtp_bind_address = {ip}\n\
             lmtp_bind_address = {ip}\n\
             myhostname = {host}\n\
             mydomain = {host}\n\
             myorigin = $myhostname\n\
             mydestination =\n\
             local_transport = error:5.1.1 no local delivery in a test instance\n\
             alias_maps =\n\
             alias_database =\n\
             mynetworks = 127.0.0.0/8\n\
             smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination\n\
             disable_dns_lookups = yes\n\
             smtp_dns_support_level = disabled\n\
             smtp_host_lookup = native\n\
             lmtp_host_lookup = native\n\
             transport_maps = texthash:{c}/transport\n\
             maillog_file = {log}\n\
             maillog_file_prefixes = {r}\n\
             smtputf8_enable = no\n\
             biff = no\n\
             append_dot_mydomain = no\n\
             readme_directory = no\n\
             default_process_limit = 20\n\
             queue_run_delay = 2s\n\
             minimal_backoff_time = 2s\n\
             maximal_backoff_time = 10s\n\
             smtp_connect_timeout = 5s\n\
             lmtp_connect_timeout = 5s\n\
             delay_warning_time = 0h\n\
             notify_classes =",
            q = queue_dir.display(),
            d = data_dir.display(),
            host = config.hostname,
            c = config_dir.display(),
            log = log_file.display(),
            r = root.dir().display(),
        );
        let write = |name: &str, text: &str| {
            let p = config_dir.join(name);
            std::fs::write(&p, text).map_err(|e| format!("{}: {e}", p.display()))
        };
        write("main.cf", &main)?;
        let mut master = String::from("# generated by pec_testkit::postfix\n");
        master.push_str(BASE_MASTER);
        master.push_str(&bind_inet(&config.master, ip));
        write("master.cf", &master)?;
        let mut transport = String::new();
        for (d, next) in &config.transport {
            let _ = writeln!(transport, "{d} {next}");
        }
        write("transport", &transport)?;
        let mut pf =
            Postfix { ip, config_dir, queue_dir, log_file, root, running: false, _lock: lock };
        if !config.main.is_empty() {
            let kv: Vec<String> = config.main.iter().map(|(k, v)| format!("{k}={v}")).collect();
            pf.postconf(&["-e"], &kv)?;
        }
        if !config.master_params.is_empty() {
            let params: Vec<String> = config
                .master_params
                .iter()
                .map(|p| match p.split('/').next() {
                    Some(svc) if !svc.contains(':') => format!("{ip}:{p}"),
                    _ => p.clone(),
                })
                .collect();
            pf.postconf(&["-P"], &params)?;
        }
        pf.boot()?;
        Ok(pf)
    }

    /// `postconf -c DIR ARGS… ITEMS…`, returning its standard output.
    ///
    /// # Errors
    /// postconf fails.
    pub fn postconf(&self, args: &[&str], items: &[String]) -> Result<String, String> {
        run(Command::new("postconf").arg("-c").arg(&self.config_dir).args(args).args(items))
    }

    /// Sets main.cf parameters (`postconf -e k=v`) and reloads a running instance.
    ///
    /// # Errors
    /// postconf or the reload fails.
    pub fn set_main(&self, items: &[(&str, &str)]) -> Result<(), String> {
        let kv: Vec<String> = items.iter().map(|(k, v)| format!("{k}={v}")).collect();
        self.postconf(&["-e"], &kv)?;
        if self.running { self.postfix("reload").map(|_| ()) } else { Ok(()) }
    }

    fn postfix(&self, what: &str) -> Result<String, String> {
        run(Command::new("postfix").arg("-c").arg(&self.config_dir).arg(what)).map_err(|e| {
            format!(
                "{e}\n(postfix prints its fatal errors only to a terminal: \
                     `script -qc 'postfix -c {} {what}' /dev/null` shows them)\n--- {} ---\n{}",
                self.config_dir.display(),
                self.log_file.display(),
                self.log()
            )
        })
    }

    fn boot(&mut self) -> Result<(), String> {
        self.postfix("start")?;
        self.running = true;
        let services = self.postconf(&["-M"], &[])?;
        for line in services.lines() {
            let mut f = line.split_whitespace();
            let (Some(name), Some(kind)) = (f.next(), f.next()) else { continue };
            if kind != "inet" {
                continue;
            }
            let Some(port) = inet_port(name) else { continue };
            let addr = SocketAddr::from((self.ip, port));
            let up = wait_for(Duration::from_secs(60), || {
                TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_ok()
            });
            if !up {
                return Err(format!("postfix does not listen on {addr}\n{}", self.log()));
            }
        }
        Ok(())
    }

    /// The master's pid (`pid/master.pid` in the queue directory), if it is running.
    pub fn master_pid(&self) -> Option<u32> {
        let text = std::fs::read_to_string(self.queue_dir.join("pid/master.pid")).ok()?;
        let pid: u32 = text.trim().parse().ok()?;
        Path::new(&format!("/proc/{pid}")).exists().then_some(pid)
    }

    /// Stops the instance: `postfix -c DIR stop`, then, if the master is still there after
    /// 20 s, `kill -KILL` by its pid. Idempotent.
    pub fn stop(&mut self) {
        if !self.running {
            return;
        }
        let pid = self.master_pid();
        let _ = self.postfix("stop");
        if let Some(pid) = pid {
            let gone =
                wait_for(Duration::from_secs(20), || !Path::new(&format!("/proc/{pid}")).exists());
            if !gone {
                let _ = Command::new("kill").arg("-KILL").arg(pid.to_string()).status();
            }
        }
        self.running = false;
    }

    /// Starts a stopped instance again (same files, same queue).
    ///
    /// # Errors
    /// As [`Postfix::start`].
    pub fn restart(&mut self) -> Result<(), String> {
        self.stop();
        self.boot()
    }

    /// The instance's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_file).unwrap_or_default()
    }

    /// The queue as `postqueue -j` prints it: one JSON object per queued message.
    ///
    /// # Errors
    /// postqueue fails.
    pub fn queue_json(&self) -> Result<Vec<String>, String> {
        let out = run(Command::new("postqueue").arg("-c").arg(&self.config_dir).arg("-j"))?;
        Ok(out.lines().filter(|l| !l.trim().is_empty()).map(str::to_string).collect())
    }

    /// The queue as `postqueue -p` prints it (for messages).
    pub fn queue_text(&self) -> String {
        run(Command::new("postqueue").arg("-c").arg(&self.config_dir).arg("-p"))
            .unwrap_or_else(|e| e)
    }

    /// Whether no message is queued (incoming, active, deferred, hold).
    ///
    /// # Errors
    /// postqueue fails.
    pub fn queue_is_empty(&self) -> Result<bool, String> {
        Ok(self.queue_json()?.is_empty())
    }

    /// Waits up to `timeout` for the queue to be empty (flushing it every few seconds);
    /// returns whether it emptied.
    pub fn wait_queue_empty(&self, timeout: Duration) -> bool {
        let mut n = 0u32;
        wait_for(timeout, || {
            n += 1;
            if n.is_multiple_of(30) {
                let _ = self.flush();
            }
            self.queue_is_empty().unwrap_or(false)
        })
    }

    /// `postqueue -f`: attempts to deliver everything now.
    ///
    /// # Errors
    /// postqueue fails.
    pub fn flush(&self) -> Result<(), String> {
        run(Command::new("postqueue").arg("-c").arg(&self.config_dir).arg("-f")).map(|_| ())
    }

    /// `postsuper -d ALL`: drops every queued message.
    ///
    /// # Errors
    /// postsuper fails.
    pub fn delete_all(&self) -> Result<(), String> {
        run(Command::new("postsuper").arg("-c").arg(&self.config_dir).args(["-d", "ALL"]))
            .map(|_| ())
    }

    /// A path inside the instance's temporary directory (for the test's own files).
    pub fn path(&self, name: &str) -> PathBuf {
        self.root.path(name)
    }
}

impl Drop for Postfix {
    fn drop(&mut self) {
        self.stop();
    }
}

/// An SMTP reply: code and text (all lines joined by `\n`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    /// The three-digit code.
    pub code: u16,
    /// The text after the code.
    pub text: String,
}

fn read_reply(r: &mut impl BufRead) -> Result<Reply, String> {
    let mut text = Vec::new();
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).map_err(|e| format!("read: {e}"))? == 0 {
            return Err("connection closed".into());
        }
        let line = line.trim_end();
        if line.len() < 3 {
            return Err(format!("bad reply line {line:?}"));
        }
        let code: u16 = line[..3].parse().map_err(|_| format!("bad reply line {line:?}"))?;
        text.push(line.get(4..).unwrap_or("").to_string());
        if line.as_bytes().get(3) != Some(&b'-') {
            return Ok(Reply { code, text: text.join("\n") });
        }
    }
}

/// Sends one message over plain SMTP (EHLO, MAIL, RCPT…, DATA, QUIT) to `addr`, dot-stuffing
/// `data` (CRLF or LF line ends). Returns the reply to the end of DATA; a refusal at any step
/// (4xx/5xx) is returned as `Err(Ok(reply))`, a connection or protocol failure as
/// `Err(Err(text))`.
///
/// # Errors
/// As above.
pub fn smtp_send(
    addr: SocketAddr,
    from: &str,
    rcpts: &[&str],
    data: &[u8],
) -> Result<Reply, Result<Reply, String>> {
    let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(10))
        .map_err(|e| Err(e.to_string()))?;
    let _ = stream.set_read_timeout(Some(Duration::from_secs(600)));
    let mut w = stream.try_clone().map_err(|e| Err(e.to_string()))?;
    let mut r = BufReader::new(stream);
    let mut step = |cmd: Option<&[u8]>, want: u16| -> Result<Reply, Result<Reply, String>> {
        if let Some(cmd) = cmd {
            w.write_all(cmd).map_err(|e| Err(e.to_string()))?;
        }
        let reply = read_reply(&mut r).map_err(Err)?;
        if reply.code / 100 != want / 100 { Err(Ok(reply)) } else { Ok(reply) }
    };
    step(None, 220)?;
    step(Some(b"EHLO client.test\r\n"), 250)?;
    step(Some(format!("MAIL FROM:<{from}>\r\n").as_bytes()), 250)?;
    for rcpt in rcpts {
        step(Some(format!("RCPT TO:<{rcpt}>\r\n").as_bytes()), 250)?;
    }
    step(Some(b"DATA\r\n"), 354)?;
    let mut body = Vec::with_capacity(data.len() + 64);
    for line in data.split_inclusive(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\n").unwrap_or(line);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.first() == Some(&b'.') {
            body.push(b'.');
        }
        body.extend_from_slice(line);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(b".\r\n");
    let reply = step(Some(&body), 250)?;
    let _ = step(Some(b"QUIT\r\n"), 221);
    Ok(reply)
}

/// Makes a self-signed RSA certificate for `cn` with `openssl req -x509` into `dir`
/// (`NAME.pem`, `NAME.key`): the STARTTLS certificate of a test instance.
///
/// # Errors
/// openssl fails.
pub fn self_signed(dir: &Path, name: &str, cn: &str) -> Result<(PathBuf, PathBuf), String> {
    let (cert, key) = (dir.join(format!("{name}.pem")), dir.join(format!("{name}.key")));
    run(Command::new("openssl")
        .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30", "-subj"])
        .arg(format!("/CN={cn}"))
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert))?;
    Ok((cert, key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inet_ports_are_read_from_service_names() {
        assert_eq!(inet_port("smtp"), Some(25));
        assert_eq!(inet_port("submission"), Some(587));
        assert_eq!(inet_port("127.0.0.2:10025"), Some(10025));
        assert_eq!(inet_port("2525"), Some(2525));
        assert_eq!(inet_port("nonsense"), None);
    }

    #[test]
    fn inet_services_get_the_address() {
        let m = "# x\nsmtp inet n - n - - smtpd\n  -o a=b\n1.2.3.4:25 inet n - n - - smtpd\npickup unix n - n 60 1 pickup\n";
        let out = bind_inet(m, Ipv4Addr::new(127, 0, 0, 3));
        assert_eq!(
            out,
            "# x\n127.0.0.3:smtp inet n - n - - smtpd\n  -o a=b\n1.2.3.4:25 inet n - n - - smtpd\npickup unix n - n 60 1 pickup\n"
        );
    }

    #[test]
    fn main_cf_text_parses_into_pairs() {
        let kv = parse_main("# c\na = 1\nb = x,\n  y\n\nc =\n");
        assert_eq!(
            kv,
            vec![
                ("a".to_string(), "1".to_string()),
                ("b".to_string(), "x, y".to_string()),
                ("c".to_string(), String::new())
            ]
        );
    }

    #[test]
    fn the_examples_render_for_a_test_address() {
        let (main, master) =
            render_examples(Ipv4Addr::new(127, 0, 0, 2), "pec.alpha.test").unwrap();
        assert!(main.contains("virtual_transport = lmtp:[127.0.0.2]:2424"));
        assert!(main.contains("virtual_mailbox_domains = pec.alpha.test"));
        assert!(master.contains("content_filter=pec-ap:[127.0.0.2]:10024"));
        assert!(master.contains("content_filter=pec-in:[127.0.0.2]:10026"));
        assert!(master.contains("127.0.0.2:10025 inet"));
        assert!(!main.contains("127.0.0.1") && !master.contains("127.0.0.1"));
    }
}
