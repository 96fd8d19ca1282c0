//! Sender authentication through `pec serve` (issue 19 part 4): with `[dns] zone` and
//! `[auth]` in the configuration, ordinary mail arriving at the incoming listener with
//! XFORWARD `ADDR`/`HELO` (as Postfix sends them to a content filter) is re-injected as an
//! anomaly envelope whose first header is exactly one `Authentication-Results`, ours, with the
//! SPF result for that address; `postacert.eml` is the bytes sent; `pec log search` shows the
//! same results in the `anomalia` record. An in-test SMTP sink plays the MTA's re-injection
//! port.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use pec_core::message::PecMessage;
use pec_testkit::ProviderSpec;
use pec_testkit::scenario::TwoProviders;
use pec_testkit::smtp::{Sink, free_port};
use serde_json::Value;

const ALPHA: ProviderSpec<'static> =
    ProviderSpec { name: "Alpha PEC S.p.A.", domain: "pec.alpha.test" };
const BETA: ProviderSpec<'static> =
    ProviderSpec { name: "Beta PEC S.r.l.", domain: "pec.beta.test" };
/// Generous: nothing here is timed, the deadline only stops a hung test.
const DEADLINE: Duration = Duration::from_secs(120);
const MX: &str = "mx.pec.alpha.test";

struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        // by the daemon's pid only
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

fn smtp(port: u16, lines: &[&str], data: &[u8]) -> Vec<String> {
    let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(DEADLINE)).unwrap();
    let mut w = s.try_clone().unwrap();
    let mut r = BufReader::new(s);
    let mut reply = || {
        let mut all = String::new();
        loop {
            let mut line = String::new();
            if r.read_line(&mut line).unwrap_or(0) == 0 {
                return all;
            }
            all.push_str(&line);
            if line.as_bytes().get(3) != Some(&b'-') {
                return all;
            }
        }
    };
    let mut replies = vec![reply()];
    for l in lines {
        w.write_all(format!("{l}\r\n").as_bytes()).unwrap();
        replies.push(reply());
        if *l == "DATA" {
            w.write_all(data).unwrap();
            w.write_all(b".\r\n").unwrap();
            replies.push(reply());
        }
    }
    replies
}

#[test]
fn serve_writes_our_authentication_results_on_anomaly_envelopes() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    TwoProviders::generate_with([ALPHA, BETA], 30).unwrap().write_engine_files(d).unwrap();
    let sink = Sink::start();
    let sink_port = sink.port;
    let (access, incoming, delivery) = (free_port(), free_port(), free_port());
    std::fs::write(
        d.join("zone.txt"),
        "example.com TXT \"v=spf1 ip4:192.0.2.0/24 -all\"\n\
         _dmarc.example.com TXT \"v=DMARC1; p=reject\"\n",
    )
    .unwrap();
    let mut toml = std::fs::read_to_string(d.join("a-engine.toml")).unwrap();
    toml = toml.replace("[signing]", "local_domains = [\"pec.alpha.test\"]\n\n[signing]");
    toml.push_str(&format!(
        "\n[listen]\naccess = \"127.0.0.1:{access}\"\nincoming = \"127.0.0.1:{incoming}\"\n\
         delivery = \"127.0.0.1:{delivery}\"\n\n[relay]\nsmtp = \"127.0.0.1:{sink_port}\"\n\n\
         [mailbox]\nstore = \"maildir:{}/mail/{{domain}}/{{local}}\"\n\n[log]\ndir = \"log\"\n\n\
         [admin]\nsocket = \"admin.sock\"\n\n[dns]\nzone = \"zone.txt\"\n\n\
         [auth]\nauthserv_id = \"{MX}\"\n",
        d.display()
    ));
    let config = d.join("alpha.toml");
    std::fs::write(&config, toml).unwrap();
    let log = d.join("serve.log");
    let daemon = Daemon(
        Command::new(env!("CARGO_BIN_EXE_pec"))
            .args(["serve", "--config"])
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap(),
    );
    let t0 = Instant::now();
    while TcpStream::connect(("127.0.0.1", incoming)).is_err() {
        assert!(
            t0.elapsed() < DEADLINE,
            "pec serve did not start: {}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    let msg =
        b"From: Anna <anna@example.com>\r\nTo: luigi@pec.alpha.test\r\nSubject: ordinaria\r\n\
                Message-ID: <m1@example.com>\r\nDate: Tue, 1 Dec 2026 10:00:00 +0100\r\n\
                MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nciao\r\n";
    let replies = smtp(
        incoming,
        &[
            "EHLO mta.pec.alpha.test",
            "XFORWARD NAME=mail.example.com ADDR=192.0.2.10 HELO=mail.example.com",
            "MAIL FROM:<anna@example.com>",
            "RCPT TO:<luigi@pec.alpha.test>",
            "DATA",
            "QUIT",
        ],
        msg,
    );
    assert!(replies[6].starts_with("250"), "{replies:?}");
    let data =
        sink.wait_for(DEADLINE, |g| g.rcpts.iter().any(|x| x == "luigi@pec.alpha.test")).data;
    let text = String::from_utf8_lossy(&data).into_owned();
    assert!(text.starts_with(&format!("Authentication-Results: {MX};")), "{text}");
    assert_eq!(text.matches("Authentication-Results:").count(), 1, "{text}");
    assert!(text.contains("spf=pass"), "{text}");
    assert!(text.contains("smtp.helo=mail.example.com"), "{text}");
    assert!(text.contains("dmarc=pass"), "{text}");
    let m = PecMessage::parse(&data).unwrap();
    assert_eq!(m.header("X-Trasporto").as_deref(), Some("errore"));
    assert_eq!(m.original.as_deref(), Some(&msg[..]), "postacert.eml is what was sent");

    // `pec verify` still says valid: the field is outside the signed part
    std::fs::write(d.join("anomaly.eml"), &data).unwrap();
    let v = Command::new(env!("CARGO_BIN_EXE_pec"))
        .current_dir(d)
        .args(["verify", "--json", "--ca-file", "root.pem", "--crl", "crl.pem"])
        .args(["--crl", "root-crl.pem", "--index", "index.ldif", "anomaly.eml"])
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&v.stdout);
    assert!(v.status.success(), "{report} {}", String::from_utf8_lossy(&v.stderr));
    assert!(report.contains("\"valid\""), "{report}");

    let out = Command::new(env!("CARGO_BIN_EXE_pec"))
        .args(["log", "search", "--json", "--address", "luigi@pec.alpha.test", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let recs: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rec = recs.as_array().unwrap().iter().find(|r| r["event"] == "anomalia").unwrap();
    let ar = rec["auth"]["ar_header"].as_str().unwrap();
    assert!(text.starts_with(&format!("{ar}\r\n")), "{ar}");
    assert_eq!(rec["auth"]["spf"]["mailfrom"]["result"], "pass");
    assert_eq!(rec["client"], "mail.example.com (mail.example.com [192.0.2.10])");
    drop(daemon);
}
