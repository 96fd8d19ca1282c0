//! The admin socket (`[admin] socket`): a Unix stream socket, one JSON request line in, one
//! JSON response line out, then the daemon closes (docs/SERVE.md).
//!
//! ```text
//! {"cmd":"status","identifier":null,"json":false}  -> {"ok":true,"exit":0,"stdout":"…","stderr":"","result":[…]}
//! {"cmd":"run-due","limit":10000,"json":false}     -> {"ok":true,"exit":0,"stdout":"…","stderr":"","result":[…]}
//! {"cmd":"clock"}                                   -> {"ok":true,"now":"…","offset_seconds":0,"test_clock":false}
//! {"cmd":"clock-advance","seconds":43200}           -> {"ok":true,"now":"…","offset_seconds":43200,"emitted":1}
//! anything wrong                                    -> {"ok":false,"error":"…"}
//! ```

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::Duration;

use serde_json::{Value, json};

use super::{Daemon, STOP};

/// The longest request line.
const MAX_REQUEST: u64 = 64 * 1024;

/// Binds the socket at `path`: refuses when a daemon answers there, replaces a stale file.
pub fn bind(path: &Path) -> Result<UnixListener, String> {
    if path.exists() {
        if UnixStream::connect(path).is_ok() {
            return Err(format!(
                "[admin] socket {}: another pec serve is running there",
                path.display()
            ));
        }
        std::fs::remove_file(path).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let l =
        UnixListener::bind(path).map_err(|e| format!("[admin] socket {}: {e}", path.display()))?;
    {
        use std::os::unix::fs::PermissionsExt as _;
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660));
    }
    l.set_nonblocking(true).map_err(|e| e.to_string())?;
    Ok(l)
}

/// Answers requests until the daemon halts.
pub fn serve(l: &UnixListener, d: &Daemon) {
    while !d.halt.load(Ordering::SeqCst) {
        match l.accept() {
            Ok((s, _)) => {
                let _ = s.set_nonblocking(false);
                let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
                let _ = s.set_write_timeout(Some(Duration::from_secs(10)));
                let mut line = String::new();
                let mut reader = BufReader::new((&s).take(MAX_REQUEST));
                let resp = match reader.read_line(&mut line) {
                    Ok(_) => match serde_json::from_str::<Value>(line.trim()) {
                        Ok(req) => handle(d, &req),
                        Err(e) => json!({"ok": false, "error": format!("bad request: {e}")}),
                    },
                    Err(e) => json!({"ok": false, "error": format!("reading the request: {e}")}),
                };
                let mut w = &s;
                let _ = w.write_all(format!("{resp}\n").as_bytes());
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(25));
            }
            Err(e) => {
                super::warn(&format!("admin socket: {e}"));
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
}

fn err(e: impl std::fmt::Display) -> Value {
    json!({"ok": false, "error": e.to_string()})
}

fn handle(d: &Daemon, req: &Value) -> Value {
    let json_out = req["json"].as_bool().unwrap_or(false);
    match req["cmd"].as_str().unwrap_or("") {
        "ping" => {
            json!({"ok": true, "pid": std::process::id(), "stopping": STOP.load(Ordering::SeqCst)})
        }
        "status" => {
            let id = req["identifier"].as_str();
            let list = match id {
                Some(i) => d.engine.status(i).map(|s| s.into_iter().collect::<Vec<_>>()),
                None => d.engine.pending(),
            };
            match list {
                Ok(list) => {
                    let r = crate::engine::render_status(&list, id.is_some(), json_out);
                    json!({"ok": true, "exit": r.exit, "stdout": r.stdout, "stderr": r.stderr,
                           "result": serde_json::to_value(&list).unwrap_or(Value::Null)})
                }
                Err(e) => err(e),
            }
        }
        "run-due" => {
            let limit = req["limit"].as_u64().map(|l| l as usize).unwrap_or(10_000);
            match d.run_due(limit) {
                Ok(rows) => {
                    let r = crate::engine::render_run_due(&rows, json_out);
                    let result: Vec<Value> =
                        rows.iter().map(crate::engine::outgoing_json).collect();
                    json!({"ok": true, "exit": r.exit, "stdout": r.stdout, "stderr": r.stderr,
                           "result": result})
                }
                Err(e) => err(e),
            }
        }
        "clock" => clock_json(d, None),
        "clock-advance" => {
            if !cfg!(feature = "test-clock") {
                return err("this pec serve was built without the test clock (feature test-clock)");
            }
            let Some(secs) = req["seconds"].as_i64().filter(|s| *s >= 0) else {
                return err("clock-advance needs \"seconds\" (a non-negative integer)");
            };
            let ms = d.clock.offset_ms().saturating_add(secs.saturating_mul(1000));
            if let Err(e) = d.engine.put_setting(super::CLOCK_KEY, &ms.to_string()) {
                return err(e);
            }
            d.clock.set_offset_ms(ms);
            super::info(&format!("test clock advanced by {secs} s (offset {} s)", ms / 1000));
            // the timers now due fire before the answer, and their notices are handed to
            // re-injection (the worker retries what cannot go now)
            let emitted = match d.run_due(10_000) {
                Ok(rows) => {
                    if let Err(e) = d.dispatch.dispatch(&rows) {
                        super::warn(&format!("re-injection pending: {e}"));
                    }
                    rows.len()
                }
                Err(e) => return err(e),
            };
            d.reseal.store(true, Ordering::SeqCst);
            d.scheduler.kick();
            clock_json(d, Some(emitted))
        }
        other => err(format!("unknown command {other:?}")),
    }
}

fn clock_json(d: &Daemon, emitted: Option<usize>) -> Value {
    let now = pec_engine::Clock::now(&*d.clock);
    let mut v = json!({
        "ok": true,
        "now": now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "offset_seconds": d.clock.offset_ms() / 1000,
        "test_clock": cfg!(feature = "test-clock"),
    });
    if let Some(n) = emitted {
        v["emitted"] = json!(n);
    }
    v
}

/// Sends `req` to the daemon at `socket`. `None` when no daemon listens there (no socket
/// file, or a stale one): the caller works on the store itself.
pub fn request(socket: &Path, req: &Value) -> Option<Result<Value, String>> {
    let s = UnixStream::connect(socket).ok()?;
    Some((|| {
        let _ = s.set_read_timeout(Some(Duration::from_secs(600)));
        let mut w = &s;
        w.write_all(format!("{req}\n").as_bytes())
            .map_err(|e| format!("admin socket {}: {e}", socket.display()))?;
        let mut line = String::new();
        BufReader::new(&s)
            .read_line(&mut line)
            .map_err(|e| format!("admin socket {}: {e}", socket.display()))?;
        let v: Value = serde_json::from_str(line.trim())
            .map_err(|e| format!("admin socket {}: bad answer: {e}", socket.display()))?;
        if v["ok"].as_bool() == Some(true) {
            Ok(v)
        } else {
            Err(v["error"].as_str().unwrap_or("the daemon refused the request").to_string())
        }
    })())
}
