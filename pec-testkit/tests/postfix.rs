//! The Postfix harness against real Postfix (ENGINE.md §4): the deployment examples parse
//! and start, and mail goes from one instance on 127.0.0.2 to another on 127.0.0.3 with DNS
//! off, both queues ending empty. Skipped locally without Postfix or root, a failure under
//! `CI=true`.

use std::net::{Ipv4Addr, SocketAddr};
use std::process::Command;
use std::time::Duration;

use pec_testkit::TempDir;
use pec_testkit::postfix::{self, Config, Postfix, smtp_send};

const A: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);
const B: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 3);

fn postfix_uid() -> String {
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap();
    let line = passwd.lines().find(|l| l.starts_with("postfix:")).unwrap();
    line.split(':').nth(2).unwrap().to_string()
}

#[test]
fn the_examples_parse_with_postconf_and_start() {
    if !postfix::available() || !pec_testkit::require_tool("openssl") {
        return;
    }
    let tmp = TempDir::new("pfx-examples");
    let (cert, key) = postfix::self_signed(tmp.dir(), "mx", "mx.pec.alpha.test").unwrap();
    let cfg = Config::pec_provider(A, "pec.alpha.test", &cert, &key).unwrap();
    let mut pf = Postfix::start("examples", &cfg).unwrap();
    // every parameter known, none unused (postconf warns on standard error otherwise)
    let out = Command::new("postconf").arg("-c").arg(&pf.config_dir).arg("-n").output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && err.trim().is_empty(), "postconf -n: {err}");
    let n = String::from_utf8_lossy(&out.stdout);
    for want in [
        "maximal_queue_lifetime = 1d",
        "virtual_transport = lmtp:[127.0.0.2]:2424",
        "virtual_mailbox_domains = pec.alpha.test",
    ] {
        assert!(n.contains(want), "{want} missing from postconf -n:\n{n}");
    }
    let m = pf.postconf(&["-M"], &[]).unwrap();
    for want in [
        "content_filter=pec-ap:[127.0.0.2]:10024",
        "content_filter=pec-in:[127.0.0.2]:10026",
        "127.0.0.2:10025",
    ] {
        assert!(m.contains(want), "{want} missing from postconf -M:\n{m}");
    }
    // listening on 25, 587 and 10025 (start waited for them); STARTTLS offered on 25
    let ehlo = ehlo_keywords(SocketAddr::from((A, 25)));
    assert!(ehlo.contains("STARTTLS"), "{ehlo}");
    assert!(pf.queue_is_empty().unwrap());
    pf.stop();
    assert!(pf.master_pid().is_none());
}

fn ehlo_keywords(addr: SocketAddr) -> String {
    use std::io::{BufRead, BufReader, Write};
    let s = std::net::TcpStream::connect(addr).unwrap();
    let mut w = s.try_clone().unwrap();
    let mut r = BufReader::new(s);
    let mut line = String::new();
    r.read_line(&mut line).unwrap();
    w.write_all(b"EHLO t.test\r\n").unwrap();
    let mut all = String::new();
    loop {
        line.clear();
        r.read_line(&mut line).unwrap();
        all.push_str(&line);
        if line.as_bytes().get(3) == Some(&b' ') {
            break;
        }
    }
    let _ = w.write_all(b"QUIT\r\n");
    all
}

#[test]
fn mail_goes_between_two_instances_with_dns_off() {
    if !postfix::available() {
        return;
    }
    let mut a_cfg = Config::new(A, "mx.alpha.test");
    a_cfg.master = "smtp inet n - n - - smtpd\n".into();
    a_cfg.route("beta.test", "smtp:[127.0.0.3]:25");
    let mut a = Postfix::start("relay-a", &a_cfg).unwrap();

    let mut b_cfg = Config::new(B, "mx.beta.test");
    b_cfg.master = "smtp inet n - n - - smtpd\n".into();
    let mut b = Postfix::start("relay-b", &b_cfg).unwrap();
    let mail = b.path("mail");
    std::fs::create_dir_all(&mail).unwrap();
    assert!(Command::new("chown").arg("postfix:").arg(&mail).status().unwrap().success());
    let boxes = b.path("vmailbox");
    std::fs::write(&boxes, "luigi@beta.test beta.test/luigi/\n").unwrap();
    let uid = postfix_uid();
    b.set_main(&[
        ("virtual_mailbox_domains", "beta.test"),
        ("virtual_mailbox_base", &mail.display().to_string()),
        ("virtual_mailbox_maps", &format!("texthash:{}", boxes.display())),
        ("virtual_uid_maps", &format!("static:{uid}")),
        ("virtual_gid_maps", &format!("static:{uid}")),
    ])
    .unwrap();

    let msg =
        b"From: mario@alpha.test\nTo: luigi@beta.test\nSubject: harness\n\n.leading dot\nbody\n";
    let reply = smtp_send(SocketAddr::from((A, 25)), "mario@alpha.test", &["luigi@beta.test"], msg)
        .unwrap();
    assert_eq!(reply.code, 250);
    // an unknown mailbox is refused at RCPT (B's virtual_mailbox_maps)
    let refused =
        smtp_send(SocketAddr::from((B, 25)), "mario@alpha.test", &["nobody@beta.test"], msg);
    assert!(matches!(refused, Err(Ok(ref r)) if r.code == 550), "{refused:?}");

    let new = mail.join("beta.test/luigi/new");
    let arrived = postfix::wait_for(Duration::from_secs(120), || {
        std::fs::read_dir(&new).is_ok_and(|d| d.count() == 1)
    });
    assert!(arrived, "not delivered\nA:\n{}\nB:\n{}", a.log(), b.log());
    let file = std::fs::read_dir(&new).unwrap().next().unwrap().unwrap().path();
    let text = std::fs::read_to_string(file).unwrap();
    assert!(text.contains("\n.leading dot\n") && text.contains("Subject: harness"), "{text}");
    assert!(a.wait_queue_empty(Duration::from_secs(60)), "{}", a.queue_text());
    assert!(b.wait_queue_empty(Duration::from_secs(60)), "{}", b.queue_text());
    // A relayed straight to B's address (no DNS), from its own address (smtp_bind_address)
    assert!(a.log().contains("relay=127.0.0.3[127.0.0.3]:25"), "{}", a.log());
    assert!(b.log().contains("[127.0.0.2]"), "{}", b.log());
    a.stop();
    b.stop();
    assert!(a.master_pid().is_none() && b.master_pid().is_none());
}
