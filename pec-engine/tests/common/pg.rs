//! A real PostgreSQL for the tests: `initdb` and `pg_ctl` in a temporary directory (as the
//! `postgres` user when running as root, since initdb refuses root), `fsync=off`, a free port
//! on 127.0.0.1. Missing tools skip locally and fail when `CI=true`.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

pub struct PgServer {
    pub dir: PathBuf,
    pub port: u16,
    bin: PathBuf,
    root: bool,
}

fn find_bin() -> Option<PathBuf> {
    let on_path =
        Command::new("pg_ctl").arg("--version").output().is_ok_and(|o| o.status.success());
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|r| r.filter_map(|e| e.ok()).map(|e| e.path().join("bin")).collect())
        .unwrap_or_default();
    dirs.sort();
    if let Some(d) = dirs.into_iter().rev().find(|d| d.join("initdb").exists()) {
        return Some(d);
    }
    on_path.then(PathBuf::new)
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl PgServer {
    /// Starts a server, or `None` (skip) when PostgreSQL is not installed; panics then when
    /// `CI=true`.
    pub fn start() -> Option<PgServer> {
        let Some(bin) = find_bin() else {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("PostgreSQL (initdb, pg_ctl) is required when CI=true");
            }
            eprintln!("skipping: PostgreSQL not installed");
            return None;
        };
        let root = is_root();
        let dir = std::env::temp_dir().join(format!(
            "pec-engine-pg-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let s = PgServer { dir, port: free_port(), bin, root };
        if root {
            let st = Command::new("chown").arg("postgres:postgres").arg(&s.dir).status().unwrap();
            assert!(st.success());
        }
        let data = s.dir.join("data");
        let out = s
            .cmd("initdb")
            .args(["-D", &data.display().to_string(), "-A", "trust", "-U", "pec", "--no-sync"])
            .output()
            .unwrap();
        assert!(out.status.success(), "initdb: {}", String::from_utf8_lossy(&out.stderr));
        s.up();
        Some(s)
    }

    fn cmd(&self, tool: &str) -> Command {
        let path =
            if self.bin.as_os_str().is_empty() { PathBuf::from(tool) } else { self.bin.join(tool) };
        if self.root {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            Command::new(path)
        }
    }

    /// Starts (again) the server on its port.
    pub fn up(&self) {
        let data = self.dir.join("data");
        let opts = format!(
            "-k {} -c listen_addresses=127.0.0.1 -p {} -c fsync=off",
            self.dir.display(),
            self.port
        );
        let out = self
            .cmd("pg_ctl")
            .args(["-w", "-D", &data.display().to_string(), "-l"])
            .arg(self.dir.join("log"))
            .args(["-o", &opts, "start"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "pg_ctl start: {}{}",
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(self.dir.join("log")).unwrap_or_default()
        );
    }

    /// Stops the server at once (the store is down).
    pub fn down(&self) {
        let data = self.dir.join("data");
        let _ = self
            .cmd("pg_ctl")
            .args(["-w", "-D", &data.display().to_string(), "-m", "immediate", "stop"])
            .output();
    }

    pub fn url(&self, db: &str) -> String {
        format!("postgresql://pec@127.0.0.1:{}/{db}", self.port)
    }

    /// The URL of database `name`, created when missing.
    pub fn database(&self, name: &str) -> String {
        let mut c = postgres::Client::connect(&self.url("postgres"), postgres::NoTls).unwrap();
        let exists = c
            .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&name])
            .unwrap()
            .is_some();
        if !exists {
            c.batch_execute(&format!("CREATE DATABASE \"{name}\"")).unwrap();
        }
        self.url(name)
    }
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

impl Drop for PgServer {
    fn drop(&mut self) {
        self.down();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Whether `p` is inside this server's directory (for tidy-up checks).
pub fn owns(s: &PgServer, p: &Path) -> bool {
    p.starts_with(&s.dir)
}
