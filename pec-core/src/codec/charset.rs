//! Charsets by their MIME labels, decoded through `encoding_rs`: the one table of the core.

use encoding_rs::Encoding;

/// A charset the core can decode, looked up by its label ([`Charset::for_label`]).
///
/// The table is `encoding_rs`'s (the WHATWG Encoding Standard's labels: UTF-8, the ISO-8859
/// family, the Windows code pages, KOI8, the CJK encodings, ...), with two differences made
/// for mail:
///
/// - the labels of ISO-8859-1 and US-ASCII, which WHATWG folds into windows-1252, decode
///   byte for byte as ISO-8859-1 (what the label names, RFC 1345); `windows-1252`, `cp1252`
///   and `x-cp1252` decode as windows-1252 (`0x80` is `€`);
/// - `latin-1`, `latin9` and `latin-9` are accepted too, and an RFC 2231 §5 language suffix
///   (`utf-8*it`) is ignored.
///
/// UTF-8 decodes every invalid byte on its own as ISO-8859-1 ([`utf8_or_latin1`]); other
/// charsets decode malformed sequences as U+FFFD. Decoding never fails and is linear.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Charset(Kind);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Utf8,
    Latin1,
    Other(&'static Encoding),
}

impl Charset {
    /// UTF-8.
    pub const UTF_8: Charset = Charset(Kind::Utf8);
    /// ISO-8859-1, byte for byte.
    pub const ISO_8859_1: Charset = Charset(Kind::Latin1);

    /// The charset a label names (ASCII case-insensitive, surrounding whitespace ignored),
    /// or `None` when the label is unknown.
    pub fn for_label(label: &str) -> Option<Charset> {
        let label = label.split('*').next().unwrap_or(label).trim().to_ascii_lowercase();
        match label.as_str() {
            "latin-1" => return Some(Charset::ISO_8859_1),
            "latin9" | "latin-9" => return Some(Charset(Kind::Other(encoding_rs::ISO_8859_15))),
            _ => {}
        }
        let enc = Encoding::for_label_no_replacement(label.as_bytes())?;
        let kind = if enc == encoding_rs::UTF_8 {
            Kind::Utf8
        } else if enc == encoding_rs::WINDOWS_1252
            && !matches!(label.as_str(), "windows-1252" | "cp1252" | "x-cp1252")
        {
            Kind::Latin1
        } else {
            Kind::Other(enc)
        };
        Some(Charset(kind))
    }

    /// The charset's canonical name (`UTF-8`, `ISO-8859-1`, `windows-1252`, ...).
    pub fn name(self) -> &'static str {
        match self.0 {
            Kind::Utf8 => "UTF-8",
            Kind::Latin1 => "ISO-8859-1",
            Kind::Other(enc) => enc.name(),
        }
    }

    /// Decodes `bytes` (no byte order mark sniffed: the label decides).
    pub fn decode(self, bytes: &[u8]) -> String {
        match self.0 {
            Kind::Utf8 => utf8_or_latin1(bytes),
            Kind::Latin1 => bytes.iter().map(|&b| char::from(b)).collect(),
            Kind::Other(enc) => enc.decode_without_bom_handling(bytes).0.into_owned(),
        }
    }
}

/// UTF-8 where valid, each invalid byte as ISO-8859-1: how the core reads 8-bit text whose
/// charset is not declared (raw header bytes).
pub fn utf8_or_latin1(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        s.push_str(chunk.valid());
        s.extend(chunk.invalid().iter().map(|&b| char::from(b)));
    }
    s
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;

    fn decode(label: &str, bytes: &[u8]) -> String {
        Charset::for_label(label).unwrap_or_else(|| panic!("{label}")).decode(bytes)
    }

    #[test]
    fn the_table() {
        for l in ["windows-1252", "CP1252", "x-cp1252"] {
            assert_eq!(decode(l, b"\x80 \x93x\x94 \x81"), "€ “x” \u{81}", "{l}");
        }
        for l in ["iso-8859-15", "ISO8859-15", "iso_8859-15", "latin9", "Latin-9", "l9"] {
            assert_eq!(decode(l, b"\xa4 \xa6 \xbc \xe8"), "€ Š Œ è", "{l}");
        }
        for l in ["iso-8859-1", "latin1", "Latin-1", "l1", "cp819", "us-ascii", "ascii"] {
            assert_eq!(decode(l, b"\x80\xa4\xe8"), "\u{80}¤è", "{l}");
        }
        for l in ["utf-8", "UTF8", " utf-8 ", "utf-8*it"] {
            assert_eq!(decode(l, "è\u{20ac}".as_bytes()), "è€", "{l}");
        }
        assert_eq!(decode("utf-8", b"ok \xc3\xa8 \xff"), "ok è ÿ");
        assert_eq!(decode("iso-8859-2", b"\xb1"), "ą");
        assert_eq!(decode("koi8-r", b"\xc1"), "а");
        assert_eq!(decode("shift_jis", b"\x82\xa0"), "あ");
        assert_eq!(Charset::for_label("windows-1252").unwrap().name(), "windows-1252");
        assert_eq!(Charset::for_label("latin9").unwrap().name(), "ISO-8859-15");
        for unknown in ["", "x-klingon", "utf-7", "iso-2022-kr", "utf-8 8", "latin-2"] {
            assert_eq!(Charset::for_label(unknown), None, "{unknown}");
        }
    }

    #[test]
    fn garbage_is_bounded() {
        let junk: Vec<u8> = (0..=255u8).cycle().take(64 * 1024).collect();
        for l in ["utf-8", "iso-8859-1", "windows-1252", "shift_jis", "iso-2022-jp", "utf-16"] {
            let s = decode(l, &junk);
            assert!(s.chars().count() <= junk.len(), "{l}");
        }
    }
}
