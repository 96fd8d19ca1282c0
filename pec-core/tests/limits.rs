//! Hostile-input limits (docs/LIMITS.md): each limit exceeded gives its documented typed error
//! (`Error::Limit` for the parsers, `malformed-signature` for CMS) and does so quickly.
#![allow(clippy::unwrap_used)] // tests may unwrap

use std::time::{Duration, Instant};

use pec_core::daticert::{Daticert, MAX_DATICERT_DEPTH, MAX_DATICERT_SIZE};
use pec_core::error::{Code, Error, LimitError};
use pec_core::limits::Limits;
use pec_core::mime::Entity;
use pec_core::provider::ProviderFile;
use pec_core::smime::{
    MAX_ATTACHED_CMS_SIZE, MAX_CMS_SIZE, Reason, Verdict, VerifyOptions, verify_attached,
    verify_detached,
};
use pec_core::{PecMessage, verify_message};

/// Hostile input must be rejected in well under this (debug build, loaded 2-core machine).
const QUICK: Duration = Duration::from_secs(5);

fn timed<T>(f: impl FnOnce() -> T) -> T {
    let t = Instant::now();
    let r = f();
    let took = t.elapsed();
    assert!(took < QUICK, "took {took:?}");
    r
}

/// Asserts `r` is `Error::Limit` for `what`, with the right code.
fn assert_limit<T: std::fmt::Debug>(r: pec_core::Result<T>, what: &str) -> LimitError {
    match r {
        Err(e @ Error::Limit(_)) => {
            assert_eq!(e.code(), Code::LimitExceeded);
            assert_eq!(e.code().as_u32(), 202);
            let Error::Limit(l) = e else { unreachable!() };
            assert_eq!(l.what, what, "{l}");
            assert!(l.actual > l.limit, "{l}");
            l
        }
        other => panic!("expected Error::Limit({what}), got {other:?}"),
    }
}

fn message(headers: &str, body: &str) -> Vec<u8> {
    format!(
        "From: a@example.com\r\nTo: b@example.com\r\nSubject: limits\r\n\
         Message-ID: <l@example.com>\r\nMIME-Version: 1.0\r\n{headers}\r\n{body}"
    )
    .into_bytes()
}

#[test]
fn defaults_are_the_documented_ones() {
    let l = Limits::default();
    assert_eq!(l.max_message_size, 64 * 1024 * 1024);
    assert_eq!(l.max_depth, 32);
    assert_eq!(l.max_parts, 10_000);
    assert_eq!(l.max_header_field, 64 * 1024);
    assert_eq!(l.max_header_fields, 2_000);
    assert_eq!(l.max_total_header_fields, 100_000);
    assert_eq!(l.max_boundary, 200);
    assert_eq!(MAX_DATICERT_SIZE, 1 << 20);
    assert_eq!(MAX_DATICERT_DEPTH, 32);
    assert_eq!(MAX_CMS_SIZE, 16 * 1024 * 1024);
    assert_eq!(MAX_ATTACHED_CMS_SIZE, 64 * 1024 * 1024);
}

#[test]
fn message_size_default() {
    let mut raw = message("", "");
    raw.resize(64 * 1024 * 1024 + 1, b'a');
    let l = timed(|| assert_limit(PecMessage::parse(&raw), "message size"));
    assert_eq!(l.limit, 64 * 1024 * 1024);
    // verification parses first: the same typed error
    timed(|| assert_limit(verify_message(&raw, &VerifyOptions::default()), "message size"));
}

#[test]
fn message_size_configured() {
    let raw = message("", &"x".repeat(2048));
    let limits = Limits { max_message_size: 1024, ..Limits::default() };
    timed(|| assert_limit(PecMessage::parse_with_limits(&raw, &limits), "message size"));
    assert!(PecMessage::parse(&raw).is_ok());
}

/// `depth` multiparts nested in each other.
fn nested(depth: usize) -> Vec<u8> {
    let mut body = String::from("Content-Type: text/plain\r\n\r\nleaf\r\n");
    for i in (0..depth).rev() {
        body = format!(
            "Content-Type: multipart/mixed; boundary=\"b{i}\"\r\n\r\n--b{i}\r\n{body}\r\n--b{i}--\r\n"
        );
    }
    let mut raw =
        b"From: a@example.com\r\nTo: b@example.com\r\nSubject: deep\r\nMIME-Version: 1.0\r\n"
            .to_vec();
    raw.extend_from_slice(body.as_bytes());
    raw
}

#[test]
fn mime_depth() {
    assert!(PecMessage::parse(&nested(30)).is_ok());
    let l = timed(|| assert_limit(PecMessage::parse(&nested(40)), "MIME depth"));
    assert_eq!(l.limit, 32);
    // a very deep one ends as quickly (iterative parser, no stack overflow)
    timed(|| assert_limit(PecMessage::parse(&nested(5_000)), "MIME depth"));
}

#[test]
fn mime_parts() {
    let parts = |n: usize| {
        let mut body = String::new();
        for _ in 0..n {
            body.push_str("--p\r\nContent-Type: text/plain\r\n\r\nx\r\n");
        }
        body.push_str("--p--\r\n");
        message("Content-Type: multipart/mixed; boundary=\"p\"\r\n", &body)
    };
    assert!(PecMessage::parse(&parts(1_000)).is_ok());
    let l = timed(|| assert_limit(PecMessage::parse(&parts(10_001)), "MIME parts"));
    assert_eq!(l.limit, 10_000);
}

#[test]
fn header_field_length() {
    let long = format!("X-Long: {}\r\n", "a".repeat(70 * 1024));
    let l = timed(|| {
        assert_limit(PecMessage::parse(&message(&long, "body\r\n")), "header field length")
    });
    assert_eq!(l.limit, 64 * 1024);
    // folded over many continuation lines: the unfolded field counts
    let folded = format!("X-Folded: a\r\n{}", " continuation\r\n".repeat(6_000));
    timed(|| assert_limit(PecMessage::parse(&message(&folded, "body\r\n")), "header field length"));
}

#[test]
fn header_field_count() {
    let many = "X-Many: 1\r\n".repeat(2_001);
    let l = timed(|| assert_limit(PecMessage::parse(&message(&many, "body\r\n")), "header fields"));
    assert_eq!(l.limit, 2_000);
}

/// Issue 12, finding 6: many parts, each within the per-block limit, together past the total.
#[test]
fn header_fields_in_all_parts() {
    let parts = |n: usize, fields: usize| {
        let mut body = String::new();
        for _ in 0..n {
            body.push_str("--p\r\n");
            body.push_str(&"a:\n".repeat(fields));
            body.push_str("\nx\r\n");
        }
        body.push_str("--p--\r\n");
        message("Content-Type: multipart/mixed; boundary=\"p\"\r\n", &body)
    };
    // 99 000 fields in all: accepted
    assert!(PecMessage::parse(&parts(99, 1_000)).is_ok());
    // 2 000 parts of 2 000 fields (each block at its own limit): refused at the total
    let raw = parts(2_000, 2_000);
    let l = timed(|| assert_limit(PecMessage::parse(&raw), "header fields in all parts"));
    assert_eq!(l.limit, 100_000);
    timed(|| {
        assert_limit(verify_message(&raw, &VerifyOptions::default()), "header fields in all parts")
    });
    timed(|| assert_limit(Entity::parse(&raw, &Limits::default()), "header fields in all parts"));
    // configurable
    let limits = Limits { max_total_header_fields: 50, ..Limits::default() };
    let raw = parts(10, 10);
    timed(|| {
        assert_limit(PecMessage::parse_with_limits(&raw, &limits), "header fields in all parts")
    });
    assert!(PecMessage::parse(&raw).is_ok());
}

/// Millions of delimiter lines fail on the parts limit without a range each first.
#[test]
fn many_delimiters() {
    let body = "--p\n".repeat(4_000_000);
    let raw = message("Content-Type: multipart/mixed; boundary=\"p\"\r\n", &body);
    let l = timed(|| assert_limit(PecMessage::parse(&raw), "MIME parts"));
    assert_eq!(l.actual, 10_001);
}

#[test]
fn boundary_length() {
    let b = "b".repeat(201);
    let raw = message(
        &format!("Content-Type: multipart/mixed; boundary=\"{b}\"\r\n"),
        &format!("--{b}\r\nContent-Type: text/plain\r\n\r\nx\r\n--{b}--\r\n"),
    );
    let l = timed(|| assert_limit(PecMessage::parse(&raw), "boundary length"));
    assert_eq!(l.limit, 200);
    // the same through the MIME layer directly
    timed(|| assert_limit(Entity::parse(&raw, &Limits::default()), "boundary length"));
}

const DATICERT_HEAD: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
<postacert tipo=\"errore\" errore=\"nessuno\"><intestazione><mittente>a@example.com</mittente>\
<destinatari tipo=\"certificato\">b@example.com</destinatari><risposte>a@example.com</risposte>\
<oggetto>";

#[test]
fn daticert_size() {
    let mut xml = DATICERT_HEAD.to_string();
    xml.push_str(&"x".repeat(MAX_DATICERT_SIZE));
    let l = timed(|| assert_limit(Daticert::parse(xml.as_bytes()), "daticert.xml size"));
    assert_eq!(l.limit, 1 << 20);
}

#[test]
fn daticert_depth() {
    let open = "<a>".repeat(MAX_DATICERT_DEPTH + 8);
    let close = "</a>".repeat(MAX_DATICERT_DEPTH + 8);
    let xml =
        format!("<?xml version=\"1.0\"?>\n<postacert tipo=\"errore\">{open}{close}</postacert>");
    let l = timed(|| assert_limit(Daticert::parse(xml.as_bytes()), "daticert.xml nesting depth"));
    assert_eq!(l.limit, 32);
    // 100 000 levels: still the limit, no stack overflow
    let open = "<a>".repeat(100_000);
    let xml = format!("<postacert>{open}");
    timed(|| assert_limit(Daticert::parse(xml.as_bytes()), "daticert.xml nesting depth"));
}

#[test]
fn daticert_entities_are_refused() {
    // the billion-laughs shape: an internal subset is refused before any expansion
    let xml = "<?xml version=\"1.0\"?>\n<!DOCTYPE postacert [<!ENTITY a \"aaaaaaaaaa\">\
<!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\"><!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">]>\
<postacert tipo=\"errore\"><intestazione><mittente>&c;</mittente></intestazione></postacert>";
    let r = timed(|| Daticert::parse(xml.as_bytes()));
    match r {
        Err(e) => assert_eq!(e.code(), Code::DaticertMalformed, "{e}"),
        Ok(d) => panic!("entities expanded: {d:?}"),
    }
}

fn malformed(r: &pec_core::smime::VerificationReport) {
    assert_eq!(r.verdict, Verdict::Invalid);
    assert!(r.reasons.contains(&Reason::MalformedSignature), "{:?}", r.reasons);
}

#[test]
fn cms_size() {
    let opts = VerifyOptions::default();
    let mut der = vec![0x30, 0x84, 0x01, 0x00, 0x00, 0x01];
    der.resize(MAX_CMS_SIZE + 1, 0);
    malformed(&timed(|| verify_detached(b"x", &der, None, &opts)));
    der.resize(MAX_ATTACHED_CMS_SIZE + 1, 0);
    let (r, content) = timed(|| verify_attached(&der, &opts));
    malformed(&r);
    assert!(content.is_none());
}

/// `depth` nested SEQUENCEs, definite or indefinite lengths.
fn nested_der(depth: usize, indefinite: bool) -> Vec<u8> {
    if indefinite {
        let mut v = Vec::new();
        for _ in 0..depth {
            v.extend_from_slice(&[0x30, 0x80]);
        }
        for _ in 0..depth {
            v.extend_from_slice(&[0, 0]);
        }
        return v;
    }
    let mut v = vec![0x05, 0x00];
    for _ in 0..depth {
        let len = v.len();
        let mut h = vec![0x30];
        if len < 0x80 {
            h.push(len as u8);
        } else {
            let bytes = (len as u32).to_be_bytes();
            let skip = bytes.iter().take_while(|&&b| b == 0).count();
            h.push(0x80 | (4 - skip) as u8);
            h.extend_from_slice(&bytes[skip..]);
        }
        h.extend_from_slice(&v);
        v = h;
    }
    v
}

#[test]
fn cms_nesting() {
    let opts = VerifyOptions::default();
    for indefinite in [false, true] {
        for depth in [40, 10_000] {
            let der = nested_der(depth, indefinite);
            malformed(&timed(|| verify_detached(b"x", &der, None, &opts)));
            malformed(&timed(|| verify_attached(&der, &opts)).0);
        }
    }
}

#[test]
fn cms_declared_length_beyond_input() {
    let opts = VerifyOptions::default();
    // a SEQUENCE claiming 4 GiB, and one claiming 2^64-1 (length of length 8)
    for der in [
        vec![0x30, 0x84, 0xFF, 0xFF, 0xFF, 0xFF, 0x02, 0x01, 0x01],
        vec![0x30, 0x88, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02],
        vec![0x30, 0x89, 0x01, 0, 0, 0, 0, 0, 0, 0, 0],
    ] {
        malformed(&timed(|| verify_detached(b"x", &der, None, &opts)));
    }
}

#[test]
fn provider_file_nesting() {
    // TOML nested 50 000 arrays deep: an error, not a stack overflow
    let text = format!(
        "name = \"X\"\ndomain = \"pec.example.it\"\nx = {}{}\n",
        "[".repeat(50_000),
        "]".repeat(50_000)
    );
    let r = timed(|| ProviderFile::parse(&text));
    assert!(matches!(r, Err(ref e) if e.code() == Code::ProviderConfig), "{r:?}");
}

#[test]
fn ldif_limits() {
    use pec_core::index::ldif::parse_ldif_with_limits;
    use pec_core::index::{Directory, LdifLimits};
    let d = LdifLimits::default();
    assert_eq!(
        (d.max_bytes, d.max_entries, d.max_values_per_entry, d.max_values, d.max_line),
        (256 << 20, 200_000, 200_000, 2_000_000, 1 << 20)
    );
    let entries = "dn: o=a\nobjectClass: top\n\n".repeat(11);
    let l = LdifLimits { max_entries: 10, ..LdifLimits::default() };
    timed(|| assert_limit(parse_ldif_with_limits(entries.as_bytes(), &l), "LDIF entries"));
    let l = LdifLimits { max_bytes: 16, ..LdifLimits::default() };
    timed(|| assert_limit(parse_ldif_with_limits(entries.as_bytes(), &l), "LDIF size"));
    let values = format!("dn: o=a\n{}", "description: x\n".repeat(101));
    let l = LdifLimits { max_values_per_entry: 100, ..LdifLimits::default() };
    timed(|| assert_limit(parse_ldif_with_limits(values.as_bytes(), &l), "LDIF values per entry"));
    let l = LdifLimits { max_values: 100, ..LdifLimits::default() };
    timed(|| assert_limit(parse_ldif_with_limits(values.as_bytes(), &l), "LDIF values"));
    // a line folded 200 000 times past the default 1 MiB
    let folded = format!("dn: o=a\ndescription: x\n{}", " 0123456789\n".repeat(200_000));
    timed(|| assert_limit(Directory::from_ldif(folded.as_bytes()), "LDIF line length"));
}
