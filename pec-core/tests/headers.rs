//! Header values (docs/SPEC.md §3.2, §10.6): injection refused, RFC 2047 encoding and folding,
//! decoding of real-world values, addresses, the "Per conto di" From form, quoted-printable.
#![allow(clippy::unwrap_used)] // tests may unwrap

use pec_core::error::{Error, ParseError};
use pec_core::headers::{
    Mailbox, check_no_injection, decode_unstructured, encode_unstructured, on_behalf_of_from,
    parse_address_list, quoted_printable, sender_from_on_behalf, validate_addr_spec,
    validate_domain,
};
use pec_core::model::subject_prefix;

// ---------------------------------------------------------------- helpers

/// The value part of an encoded field, as a receiver gets it (bytes after `Name:`).
fn value_of(field: &str) -> &str {
    let (_, v) = field.split_once(':').unwrap();
    v
}

/// Checks the wire shape of an encoded field: ASCII, CRLF only, each line at most 78
/// columns, continuation lines start with whitespace, encoded words at most 75 characters.
fn assert_wire_shape(field: &str) {
    assert!(field.is_ascii(), "{field:?}");
    assert!(field.ends_with("\r\n"), "{field:?}");
    let body = &field[..field.len() - 2];
    assert!(!body.contains('\n') || body.contains("\r\n"), "{field:?}");
    assert_eq!(body.matches('\n').count(), body.matches("\r\n").count(), "bare LF in {field:?}");
    assert_eq!(body.matches('\r').count(), body.matches("\r\n").count(), "bare CR in {field:?}");
    for (i, line) in body.split("\r\n").enumerate() {
        assert!(line.len() <= 78, "line {i} has {} columns: {field:?}", line.len());
        if i > 0 {
            assert!(line.starts_with([' ', '\t']), "continuation without WSP: {field:?}");
            assert!(!line.trim().is_empty(), "whitespace-only line: {field:?}");
        }
        for w in line.split([' ', '\t']) {
            if w.starts_with("=?") {
                assert!(w.len() <= 75, "encoded word of {} chars: {w}", w.len());
            }
        }
    }
}

fn injection(r: pec_core::Result<impl std::fmt::Debug>) -> bool {
    matches!(r, Err(Error::Parse(ParseError::HeaderInjection { .. })))
}

/// A deterministic xorshift generator for property loops.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[(self.next() as usize) % v.len()]
    }
}

// ---------------------------------------------------------------- injection

#[test]
fn injection_is_refused() {
    for v in [
        "x\r\nBcc: victim@example.com",
        "x\nBcc: a@b",
        "x\rBcc: a@b",
        "\r\n",
        "a\0b",
        "fine\r\n\r\n<html>body</html>",
    ] {
        assert!(injection(check_no_injection("Subject", v)), "{v:?}");
        assert!(injection(encode_unstructured("Subject", v)), "{v:?}");
    }
    assert!(injection(check_no_injection("Sub\r\nject", "x")));
    assert!(injection(check_no_injection("X\0", "x")));
    check_no_injection("Subject", "tab\tand ünïcode are fine").unwrap();
    // The error names the header and carries the stable code.
    match check_no_injection("Subject", "a\nb") {
        Err(e @ Error::Parse(ParseError::HeaderInjection { .. })) => {
            assert_eq!(e.code(), pec_core::Code::HeaderInjection);
            assert!(e.to_string().contains("Subject"));
        }
        other => panic!("{other:?}"),
    }
    // Hostile values that only *look* like headers once decoded are encoded, not injected.
    let f = encode_unstructured("Subject", "=?utf-8?q?x=0D=0ABcc:_a@b?=").unwrap();
    assert_wire_shape(&f);
    assert_eq!(f.matches("\r\n").count(), f.matches("\r\n ").count() + 1);
    assert_eq!(decode_unstructured(value_of(&f).as_bytes()), "=?utf-8?q?x=0D=0ABcc:_a@b?=");
    // Encoded CR/LF in received values never come back as line breaks.
    let d = decode_unstructured(b"=?utf-8?q?x=0D=0ABcc:_a@b?=");
    assert!(!d.contains(['\r', '\n']), "{d:?}");
    assert_eq!(d, "x  Bcc: a@b");
    // Bad header names.
    for n in ["", "Sub ject", "Subject:", "Sübject"] {
        assert!(matches!(encode_unstructured(n, "x"), Err(Error::InvalidArgument(_))), "{n:?}");
    }
}

// ---------------------------------------------------------------- encoding

#[test]
fn ascii_values_are_unchanged() {
    assert_eq!(encode_unstructured("Subject", "Norah Colly").unwrap(), "Subject: Norah Colly\r\n");
    assert_eq!(
        encode_unstructured("Subject", "POSTA CERTIFICATA: Invio File 7339338 (SIMULAZIONE)")
            .unwrap(),
        "Subject: POSTA CERTIFICATA: Invio File 7339338 (SIMULAZIONE)\r\n"
    );
    assert_eq!(encode_unstructured("Subject", "").unwrap(), "Subject:\r\n");
    assert_eq!(encode_unstructured("X-A", "a  b\tc").unwrap(), "X-A: a  b\tc\r\n");
}

#[test]
fn long_ascii_values_are_folded_at_whitespace() {
    let words: Vec<String> = (0..40).map(|i| format!("word{i}")).collect();
    let v = format!("{}{}", subject_prefix::TIMEOUT, words.join(" "));
    let f = encode_unstructured("Subject", &v).unwrap();
    assert_wire_shape(&f);
    assert!(f.contains("\r\n "));
    assert!(!f.contains("=?"), "pure ASCII must not be encoded: {f}");
    // Unfolding gives the value back byte for byte.
    assert_eq!(
        value_of(&f).replace("\r\n", "").strip_prefix(' ').unwrap(),
        format!("{v}\r\n").trim_end()
    );
    assert_eq!(decode_unstructured(value_of(&f).as_bytes()), v);
}

#[test]
fn non_ascii_is_encoded() {
    let f = encode_unstructured("Subject", "ACCETTAZIONE: Fattura n° 12 – caffè").unwrap();
    assert_wire_shape(&f);
    assert!(f.starts_with("Subject: ACCETTAZIONE: Fattura =?UTF-8?"), "{f}");
    assert_eq!(decode_unstructured(value_of(&f).as_bytes()), "ACCETTAZIONE: Fattura n° 12 – caffè");
    // Mostly non-ASCII text picks base64.
    let f = encode_unstructured("Subject", "日本語のテキスト").unwrap();
    assert!(f.contains("=?UTF-8?B?"), "{f}");
    assert_eq!(decode_unstructured(value_of(&f).as_bytes()), "日本語のテキスト");
    // Mostly ASCII picks Q.
    let f = encode_unstructured("Subject", "perché").unwrap();
    assert_eq!(f, "Subject: =?UTF-8?Q?perch=C3=A9?=\r\n");
}

#[test]
fn long_non_ascii_values_split_on_character_boundaries() {
    let v = "è".repeat(200) + " " + &"😀".repeat(100) + " fine";
    let f = encode_unstructured("Subject", &v).unwrap();
    assert_wire_shape(&f);
    assert!(f.lines().count() > 5);
    assert_eq!(decode_unstructured(value_of(&f).as_bytes()), v);
}

#[test]
fn long_ascii_words_and_odd_whitespace_round_trip() {
    for v in [
        "x".repeat(300),
        format!("see https://example.com/{}", "p".repeat(120)),
        " leading space".to_string(),
        "trailing space ".to_string(),
        "\tleading tab".to_string(),
        format!("a{}b", " ".repeat(200)),
        "   ".to_string(),
        "=?utf-8?q?not_an_encoded_word?=".to_string(),
        "a =? b ?= c".to_string(),
        "ctrl\u{1}char".to_string(),
        "del\u{7f}char".to_string(),
    ] {
        let f = encode_unstructured("Subject", &v).unwrap();
        assert_wire_shape(&f);
        assert_eq!(
            decode_unstructured(value_of(&f).as_bytes()),
            v.replace('\u{1}', " "),
            "{v:?} -> {f:?}"
        );
    }
}

#[test]
fn property_encode_decode_round_trip() {
    let pieces: &[&str] = &[
        "a",
        "PEC",
        "Fattura",
        "n°",
        "è",
        "à",
        "ù",
        "perché",
        "€",
        "😀",
        "👍🏽",
        "日本",
        "Ωμέγα",
        "\"quoted\"",
        "'single'",
        "(paren)",
        "<angle>",
        "a@b.it",
        "=",
        "?",
        "_",
        "=?",
        "?=",
        "x=?y",
        "——",
        "\t",
        "  ",
        " ",
        "Ä",
        "ß",
        "ﬁ",
        "\u{200B}",
        "\u{FEFF}",
        "supercalifragilisticexpialidocious-supercalifragilisticexpialidocious-x",
        "ééééééééééééééééééééééééééééééééééééééééééééé",
    ];
    let mut rng = Rng(0x1234_5678_9ABC_DEF1);
    let names = ["Subject", "X-Riferimento-Message-ID", "X-A-Rather-Long-Header-Name-For-Folding"];
    for _ in 0..3000 {
        let n = (rng.next() % 25) as usize;
        let mut v = String::new();
        for i in 0..n {
            if i > 0 && !rng.next().is_multiple_of(3) {
                v.push(' ');
            }
            let p: &&str = rng.pick(pieces);
            v.push_str(p);
        }
        let name = rng.pick(&names);
        let f = encode_unstructured(name, &v).unwrap();
        assert_wire_shape(&f);
        assert!(f.starts_with(&format!("{name}:")));
        assert_eq!(decode_unstructured(value_of(&f).as_bytes()), v, "{v:?} -> {f:?}");
    }
    // Every subject prefix with non-ASCII subjects.
    for p in subject_prefix::ALL {
        let v = format!("{p}Trasmissione «fattura» n° 42 — città di Forlì");
        let f = encode_unstructured("Subject", &v).unwrap();
        assert_wire_shape(&f);
        assert!(f.starts_with(&format!("Subject: {}", p.split(' ').next().unwrap())));
        assert_eq!(decode_unstructured(value_of(&f).as_bytes()), v);
    }
}

// ---------------------------------------------------------------- decoding

#[test]
fn decodes_real_world_values() {
    let cases: &[(&[u8], &str)] = &[
        (b" Norah Colly", "Norah Colly"),
        (b" POSTA CERTIFICATA:\r\n Invio File 7339338", "POSTA CERTIFICATA: Invio File 7339338"),
        (b" =?UTF-8?Q?caff=C3=A8?=", "caffè"),
        (b" =?utf-8?b?Y2FmZsOo?=", "caffè"),
        (b" =?utf-8?B?Y2FmZsOo?=", "caffè"),
        (b"=?iso-8859-1?q?perch=E9?=", "perché"),
        (b"=?ISO-8859-15?Q?=A4_10?=", "€ 10"),
        (b"=?windows-1252?Q?=93quoted=94_=80?=", "“quoted” €"),
        (b"=?us-ascii?Q?plain?=", "plain"),
        (b"=?utf-8?q?a?= =?utf-8?q?b?=", "ab"),
        (b"=?utf-8?q?a?=\r\n =?utf-8?q?b?=", "ab"),
        (b"=?utf-8?q?a?=\t \t=?utf-8?q?b?=", "ab"),
        (b"=?utf-8?q?a?= b =?utf-8?q?c?=", "a b c"),
        (b"x =?utf-8?q?a?=", "x a"),
        (b"=?utf-8?q?a?= x", "a x"),
        (b"=?utf-8?q?a_b?=", "a b"),
        (b"=?utf-8?q?a?==?utf-8?q?b?=", "ab"),
        (b"prefix=?utf-8?q?a?=", "prefixa"),
        // A character split across two words (broken senders) survives.
        (b"=?utf-8?q?caff=C3?= =?utf-8?q?=A8?=", "caffè"),
        (b"=?utf-8?b?w6g=?= =?iso-8859-1?q?=E8?=", "èè"),
        // RFC 2231 language suffix.
        (b"=?utf-8*it?q?ciao?=", "ciao"),
        // Missing base64 padding.
        (b"=?utf-8?b?Y2FmZsOo?=", "caffè"),
        (b"=?utf-8?b?YQ?=", "a"),
        // Unknown charset, broken words: kept raw.
        (b"=?x-klingon?q?a?=", "=?x-klingon?q?a?="),
        (b"=?utf-8?z?a?=", "=?utf-8?z?a?="),
        (b"=?utf-8?b?!!!?=", "=?utf-8?b?!!!?="),
        (b"=?utf-8?q?unterminated", "=?utf-8?q?unterminated"),
        (b"=?utf-8?q?a b?=", "=?utf-8?q?a b?="),
        (b"=??q?a?=", "=??q?a?="),
        (b"=?", "=?"),
        (b"?=", "?="),
        (b"=?utf-8?q?=ZZ?=", "=ZZ"),
        (b"=?utf-8?q?=E?=", "=E"),
        // Raw non-UTF-8 bytes read as Latin-1.
        (b"caff\xe8 \xe0 la carte", "caffè à la carte"),
        (b"ok \xc3\xa8 and bad \xff", "ok è and bad ÿ"),
        // Raw UTF-8.
        ("già ✓".as_bytes(), "già ✓"),
        (b"", ""),
        (b"\r\n\r\n", ""),
    ];
    for (raw, want) in cases {
        assert_eq!(decode_unstructured(raw), *want, "{:?}", String::from_utf8_lossy(raw));
    }
}

#[test]
fn decode_is_robust_on_any_bytes() {
    let mut rng = Rng(42);
    let alphabet: &[u8] = b"=?_ \t\r\nabcQqBb-8utf\xc3\xa8\xff\x00=?utf-8?q?=?iso-8859-1?b?";
    for _ in 0..20_000 {
        let n = (rng.next() % 64) as usize;
        let raw: Vec<u8> = (0..n).map(|_| *rng.pick(alphabet)).collect();
        let s = decode_unstructured(&raw);
        assert!(!s.contains(['\r', '\n', '\0']));
        // What we decode can always be written back.
        encode_unstructured("Subject", &s).unwrap();
    }
    // A large input is linear.
    let big = "=?utf-8?q?a?= ".repeat(100_000);
    let t = std::time::Instant::now();
    assert_eq!(decode_unstructured(big.as_bytes()).len(), 100_000);
    assert!(t.elapsed() < std::time::Duration::from_secs(2));
}

// ---------------------------------------------------------------- addresses

#[test]
fn addr_spec_validation() {
    for ok in [
        "a@b.it",
        "mario.rossi@pec.example.it",
        "opec21192.20241205000210.24820.46.1.184@sicurezzapostale.it",
        "E82D9D8F.000073B6.E8F90950.8520A581.posta-certificata@postecert.it",
        "SN05IE$951DEC16C1CFD3E4FD8FF1B1D24A99AE@fakepec.it",
        "user+tag@example.com",
        "!#$%&'*+-/=?^_`{|}~@example.com",
        "\"quoted.local\"@example.com",
        "\"a\\\"b\"@example.com",
        "a@[192.0.2.1]",
        "a@localhost",
    ] {
        validate_addr_spec(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
    }
    for bad in [
        "",
        "a",
        "@b.it",
        "a@",
        "a@@b.it",
        "a b@c.it",
        "a@b c.it",
        "<a@b.it>",
        "a@b.it>",
        "a@b.it\r\nBcc: x@y",
        "a@b.it\n",
        ".a@b.it",
        "a.@b.it",
        "a..b@c.it",
        "a@b..it",
        "a@-b.it",
        "a@b.it.",
        "a(b)@c.it",
        "a,b@c.it",
        "\"unterminated@b.it",
        "\"a\"b\"@c.it",
        "\"with space\"@b.it",
        "à@b.it",
        "a@bè.it",
        "a@[1.2.3.4",
        "a\0@b.it",
    ] {
        match validate_addr_spec(bad) {
            Err(Error::Parse(ParseError::InvalidAddress(_))) => {}
            other => panic!("{bad:?}: {other:?}"),
        }
    }
    let long_local = format!("{}@b.it", "a".repeat(65));
    assert!(validate_addr_spec(&long_local).is_err());
    let long_total = format!("a@{}.it", vec!["b".repeat(60); 5].join("."));
    assert!(validate_addr_spec(&long_total).is_err());
    validate_domain("pec.aruba.it").unwrap();
    assert!(validate_domain("pec..it").is_err());
}

fn mb(name: Option<&str>, address: &str) -> Mailbox {
    Mailbox { name: name.map(str::to_string), address: address.to_string() }
}

#[test]
fn address_lists() {
    let cases: Vec<(&str, Vec<Mailbox>)> = vec![
        ("a@b.it", vec![mb(None, "a@b.it")]),
        (" a@b.it , c@d.it ", vec![mb(None, "a@b.it"), mb(None, "c@d.it")]),
        ("<a@b.it>", vec![mb(None, "a@b.it")]),
        ("Mario Rossi <a@b.it>", vec![mb(Some("Mario Rossi"), "a@b.it")]),
        (
            "\"Rossi, Mario\" <a@b.it>, c@d.it",
            vec![mb(Some("Rossi, Mario"), "a@b.it"), mb(None, "c@d.it")],
        ),
        (
            "\"Per conto di: altea.l@namirialpec.it\" <posta-certificata@sicurezzapostale.it>",
            vec![mb(
                Some("Per conto di: altea.l@namirialpec.it"),
                "posta-certificata@sicurezzapostale.it",
            )],
        ),
        ("a@b.it (Mario Rossi)", vec![mb(Some("Mario Rossi"), "a@b.it")]),
        ("Mario (the boss) Rossi <a@b.it>", vec![mb(Some("Mario Rossi"), "a@b.it")]),
        ("(comment (nested)) a@b.it", vec![mb(Some("comment (nested)"), "a@b.it")]),
        ("=?utf-8?q?Jos=C3=A9?= <a@b.it>", vec![mb(Some("José"), "a@b.it")]),
        ("\"=?utf-8?q?Jos=C3=A9?=\" <a@b.it>", vec![mb(Some("José"), "a@b.it")]),
        ("=?utf-8?q?Caff=C3=A8?= =?utf-8?q?_Bar?= <a@b.it>", vec![mb(Some("Caffè Bar"), "a@b.it")]),
        (
            "team: a@b.it, Bob <c@d.it>;, e@f.it",
            vec![mb(None, "a@b.it"), mb(Some("Bob"), "c@d.it"), mb(None, "e@f.it")],
        ),
        ("undisclosed-recipients:;", vec![]),
        ("", vec![]),
        (" , ,, ", vec![]),
        ("<>", vec![]),
        ("<@relay.it,@other.it:a@b.it>", vec![mb(None, "a@b.it")]),
        ("\"a\\\"b\" <a@b.it>", vec![mb(Some("a\"b"), "a@b.it")]),
        ("\"quoted local\"@b.it", vec![mb(None, "\"quoted local\"@b.it")]),
        (
            "Name <a@b.it>\r\n\t, Other\r\n <c@d.it>",
            vec![mb(Some("Name"), "a@b.it"), mb(Some("Other"), "c@d.it")],
        ),
        ("a@[192.0.2.1]", vec![mb(None, "a@[192.0.2.1]")]),
        ("Mario <a@b.it> trailing junk", vec![mb(Some("Mario"), "a@b.it")]),
    ];
    for (raw, want) in cases {
        assert_eq!(parse_address_list(raw), want, "{raw:?}");
    }
}

#[test]
fn address_lists_never_panic() {
    let mut rng = Rng(7);
    let alphabet: &[&str] = &[
        "\"",
        "\\",
        "(",
        ")",
        "<",
        ">",
        ",",
        ";",
        ":",
        "@",
        "[",
        "]",
        " ",
        "a",
        "è",
        "=?utf-8?q?x?=",
    ];
    for _ in 0..20_000 {
        let n = (rng.next() % 30) as usize;
        let raw: String = (0..n).map(|_| *rng.pick(alphabet)).collect();
        let _ = parse_address_list(&raw);
    }
    let deep = "(".repeat(100_000) + "a@b.it";
    let _ = parse_address_list(&deep);
}

// ---------------------------------------------------------------- From "Per conto di"

#[test]
fn on_behalf_of_round_trip() {
    let v = on_behalf_of_from("altea.l@namirialpec.it", "sicurezzapostale.it").unwrap();
    assert_eq!(
        v,
        "\"Per conto di: altea.l@namirialpec.it\" <posta-certificata@sicurezzapostale.it>"
    );
    let list = parse_address_list(&v);
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].address, "posta-certificata@sicurezzapostale.it");
    assert_eq!(
        sender_from_on_behalf(list[0].name.as_deref().unwrap()).as_deref(),
        Some("altea.l@namirialpec.it")
    );
    assert_eq!(sender_from_on_behalf(&v).as_deref(), Some("altea.l@namirialpec.it"));
    // The field written through encode_unstructured stays on one line and intact.
    let f = encode_unstructured("From", &v).unwrap();
    assert_eq!(decode_unstructured(value_of(&f).as_bytes()), v);

    // Quoted local parts are escaped inside the display name.
    let v = on_behalf_of_from("\"a\\\"b\"@x.it", "pec.it").unwrap();
    assert_eq!(v, "\"Per conto di: \\\"a\\\\\\\"b\\\"@x.it\" <posta-certificata@pec.it>");
    assert_eq!(sender_from_on_behalf(&v).as_deref(), Some("\"a\\\"b\"@x.it"));

    for (s, d) in [
        ("not an address", "pec.it"),
        ("a@b.it\r\nBcc: x@y.it", "pec.it"),
        ("a@b.it", "pec.it\r\nBcc: x"),
        ("a@b.it", "bad domain"),
        ("<a@b.it>", "pec.it"),
        ("", "pec.it"),
    ] {
        assert!(
            matches!(on_behalf_of_from(s, d), Err(Error::Parse(ParseError::InvalidAddress(_)))),
            "{s:?} {d:?}"
        );
    }
}

#[test]
fn sender_from_display_names() {
    for (display, want) in [
        ("Per conto di: altea.l@namirialpec.it", Some("altea.l@namirialpec.it")),
        ("per conto di altea.l@namirialpec.it", Some("altea.l@namirialpec.it")),
        ("PER CONTO DI:altea.l@namirialpec.it", Some("altea.l@namirialpec.it")),
        ("\"Per conto di: a@b.it\"", Some("a@b.it")),
        ("  Per conto di:   a@b.it  ", Some("a@b.it")),
        ("Per conto di: <a@b.it>", Some("a@b.it")),
        ("On behalf of: a@b.it", Some("a@b.it")),
        ("\"Per conto di: a@b.it\" <posta-certificata@pec.it>", Some("a@b.it")),
        ("Per conto di: Mario Rossi", None),
        ("Per conto di:", None),
        ("Mario Rossi", None),
        ("posta-certificata@pec.it", None),
        ("", None),
    ] {
        assert_eq!(sender_from_on_behalf(display).as_deref(), want, "{display:?}");
    }
}

// ---------------------------------------------------------------- quoted-printable

/// A plain QP decoder for the tests (RFC 2045 §6.7).
fn qp_decode(s: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'=' {
            if b.get(i + 1..i + 3) == Some(b"\r\n") {
                i += 3;
                continue;
            }
            let h = std::str::from_utf8(&b[i + 1..i + 3]).unwrap();
            out.push(u8::from_str_radix(h, 16).unwrap());
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

fn assert_qp_shape(qp: &str) {
    assert!(qp.is_ascii());
    for line in qp.split("\r\n") {
        assert!(line.len() <= 76, "{} columns: {line:?}", line.len());
        assert!(!line.contains(['\r', '\n']));
        assert!(!line.ends_with([' ', '\t']), "trailing blank: {line:?}");
        assert!(!line.starts_with("From "), "{line:?}");
        // '=' only as =XX or a final soft break.
        let lb = line.as_bytes();
        for (i, &c) in lb.iter().enumerate() {
            if c == b'=' {
                let rest = &lb[i + 1..];
                assert!(
                    rest.is_empty()
                        || (rest.len() >= 2
                            && rest[..2]
                                .iter()
                                .all(|x| x.is_ascii_hexdigit() && !x.is_ascii_lowercase())),
                    "{line:?}"
                );
            }
        }
    }
}

#[test]
fn quoted_printable_bodies() {
    assert_eq!(
        quoted_printable("Messaggio di posta certificata"),
        "Messaggio di posta certificata"
    );
    assert_eq!(quoted_printable("è"), "=C3=A8");
    assert_eq!(quoted_printable("a=b"), "a=3Db");
    assert_eq!(quoted_printable("a\nb\r\nc\rd\n"), "a\r\nb\r\nc\r\nd\r\n");
    assert_eq!(quoted_printable("trailing \nblank\t"), "trailing=20\r\nblank=09");
    assert_eq!(quoted_printable("From me\nFrom: x"), "=46rom me\r\nFrom: x");
    assert_eq!(quoted_printable(""), "");
    let text = "Il giorno 05/12/2024 alle ore 00:02:10 (+0100) il messaggio \"Norah Colly\" è stato inviato da \"altea.l@namirialpec.it\"\nindirizzato a:\nosm.ism@bedag.ch\nIl messaggio originale è incluso in allegato.\nIdentificativo messaggio: opec21192.20241205000210.24820.46.1.184@sicurezzapostale.it\n";
    let qp = quoted_printable(text);
    assert_qp_shape(&qp);
    assert_eq!(qp_decode(&qp), text.replace('\n', "\r\n").into_bytes());
}

#[test]
fn quoted_printable_property() {
    let pieces: &[&str] = &[
        "a",
        "è",
        "😀",
        " ",
        "\t",
        "=",
        "From ",
        "\n",
        "\r\n",
        ".",
        "x".repeat(80).leak(),
        "==",
        "  \n",
    ];
    let mut rng = Rng(99);
    for _ in 0..3000 {
        let n = (rng.next() % 60) as usize;
        let text: String = (0..n).map(|_| *rng.pick(pieces)).collect();
        let qp = quoted_printable(&text);
        assert_qp_shape(&qp);
        let want = text.replace("\r\n", "\n").replace('\n', "\r\n");
        assert_eq!(qp_decode(&qp), want.into_bytes(), "{text:?}");
    }
}
