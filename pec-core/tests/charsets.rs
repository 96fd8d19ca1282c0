//! One charset table for the whole core: RFC 2231 parameter values (file names) and RFC 2047
//! encoded-words decode the same bytes in the same charset to the same text.

use pec_core::headers::decode_unstructured;
use pec_core::limits::Limits;
use pec_core::mime::{ContentType, Entity};

fn attachment_name(disposition: &str) -> Option<String> {
    let msg = format!(
        "From: a@pec.example.it\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; {disposition}\r\n\r\nPDF"
    );
    Entity::parse(msg.as_bytes(), &Limits::default()).unwrap().filename()
}

#[test]
fn cp1252_and_latin9_file_names_are_decoded_right() {
    // Was decoded as ISO-8859-1 (0x80 -> U+0080, 0xA4 -> ¤) before the table was shared.
    assert_eq!(
        attachment_name("filename*=windows-1252''%80 %93x%94.pdf").as_deref(),
        Some("€ “x”.pdf")
    );
    assert_eq!(
        attachment_name("filename*=cp1252''fattura%80.pdf").as_deref(),
        Some("fattura€.pdf")
    );
    assert_eq!(attachment_name("filename*=ISO-8859-15''%A4%A6.pdf").as_deref(), Some("€Š.pdf"));
    assert_eq!(attachment_name("filename*=latin9'it'%A4.pdf").as_deref(), Some("€.pdf"));
    // continuations in one charset
    assert_eq!(
        attachment_name("filename*0*=windows-1252''%80; filename*1*=%80.pdf").as_deref(),
        Some("€€.pdf")
    );
    let ct = ContentType::parse("application/pdf; name*=windows-1252''%80.pdf");
    assert_eq!(ct.param("name"), Some("€.pdf"));
}

#[test]
fn other_charsets_keep_their_behaviour() {
    // ISO-8859-1 stays byte for byte.
    assert_eq!(attachment_name("filename*=iso-8859-1''caff%E8.pdf").as_deref(), Some("caffè.pdf"));
    assert_eq!(attachment_name("filename*=iso-8859-1''%80.pdf").as_deref(), Some("\u{80}.pdf"));
    // UTF-8.
    assert_eq!(attachment_name("filename*=utf-8''f%C3%A0.pdf").as_deref(), Some("fà.pdf"));
    // No charset, or an unknown one: UTF-8 when valid, else ISO-8859-1 (as before).
    assert_eq!(attachment_name("filename*=''f%C3%A0.pdf").as_deref(), Some("fà.pdf"));
    assert_eq!(attachment_name("filename*=x-klingon''f%C3%A0.pdf").as_deref(), Some("fà.pdf"));
    assert_eq!(attachment_name("filename*=x-klingon''caff%E8.pdf").as_deref(), Some("caffè.pdf"));
    // Plain and RFC 2047 names.
    assert_eq!(attachment_name("filename=\"a.pdf\"").as_deref(), Some("a.pdf"));
    assert_eq!(
        attachment_name("filename=\"=?windows-1252?Q?=80.pdf?=\"").as_deref(),
        Some("€.pdf")
    );
}

#[test]
fn encoded_words_and_parameters_agree() {
    let bytes: Vec<u8> = (0x20..=0xffu8).filter(|b| *b != 0x7f).collect();
    let pct: String = bytes.iter().map(|b| format!("%{b:02X}")).collect();
    let q: String = bytes.iter().map(|b| format!("={b:02X}")).collect();
    for cs in ["utf-8", "iso-8859-1", "iso-8859-15", "windows-1252", "us-ascii", "iso-8859-2"] {
        let from_param = ContentType::parse(&format!("text/plain; name*={cs}''{pct}"))
            .param("name")
            .map(str::to_string);
        let from_word = decode_unstructured(format!("=?{cs}?Q?{q}?=").as_bytes());
        assert_eq!(from_param.as_deref(), Some(from_word.as_str()), "{cs}");
    }
}

#[test]
fn hostile_parameter_values_are_bounded() {
    let big = "%80".repeat(100_000);
    for cs in ["windows-1252", "utf-8", "shift_jis", "iso-2022-jp", "utf-16", "x-klingon", ""] {
        let ct = ContentType::parse(&format!("text/plain; name*={cs}''{big}"));
        let name = ct.param("name").unwrap();
        assert!(name.chars().count() <= 100_000, "{cs}");
    }
}
