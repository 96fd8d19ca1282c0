//! `Content-Type` (RFC 2045 §5.1) and structured parameters: quoting, comments, RFC 2231
//! continuations, percent-encoding and charsets.

use std::borrow::Cow;

use crate::codec::{Charset, hex_value};

/// A `Content-Type` value: lowercased `type/subtype` plus parameters (RFC 2045, RFC 2231
/// continuations joined).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContentType {
    /// `type/subtype`, lowercase.
    pub mime_type: String,
    /// Parameters with lowercased names, values unquoted.
    pub params: Vec<(String, String)>,
}

impl Default for ContentType {
    fn default() -> Self {
        ContentType {
            mime_type: "text/plain".into(),
            params: vec![("charset".into(), "us-ascii".into())],
        }
    }
}

impl ContentType {
    /// Parses a header value such as `multipart/signed; protocol="..."; boundary=abc`.
    pub fn parse(value: &str) -> ContentType {
        let mut parts = ParamParts::of(value);
        let mime_type = parts.next().map(|p| p.trim().to_ascii_lowercase()).unwrap_or_default();
        let params = parse_params(parts);
        let mime_type = if mime_type.contains('/') { mime_type } else { "text/plain".into() };
        ContentType { mime_type, params }
    }

    /// A parameter value by (case-insensitive) name.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// Whether the type is `multipart/*`.
    pub fn is_multipart(&self) -> bool {
        self.mime_type.starts_with("multipart/")
    }
}

/// The pieces of a structured header value split on `;` outside quotes and comments: borrowed
/// from the value, one after the other, when it holds no comment (the common case: nothing
/// allocated); otherwise split up front with the comments dropped.
enum ParamParts<'a> {
    /// No comment: a byte scan from `at` (past the end when done).
    Plain { value: &'a str, at: usize },
    /// With comments.
    Commented(std::vec::IntoIter<String>),
}

impl<'a> ParamParts<'a> {
    fn of(value: &'a str) -> ParamParts<'a> {
        if value.contains('(') {
            ParamParts::Commented(split_params_slow(value).into_iter())
        } else {
            ParamParts::Plain { value, at: 0 }
        }
    }
}

impl<'a> Iterator for ParamParts<'a> {
    type Item = Cow<'a, str>;

    fn next(&mut self) -> Option<Cow<'a, str>> {
        match self {
            ParamParts::Commented(it) => it.next().map(Cow::Owned),
            ParamParts::Plain { value, at } => {
                let start = *at;
                let rest = value.get(start..)?;
                let b = rest.as_bytes();
                let mut in_quote = false;
                // only `;`, `"` and `\` matter: jump from one to the next
                let mut i = 0;
                while let Some(p) =
                    memchr::memchr3(b';', b'"', b'\\', b.get(i..).unwrap_or_default())
                {
                    let hit = i + p;
                    i = hit + 1;
                    match b.get(hit) {
                        // a quoted pair: the next character is taken as it is
                        Some(b'\\') if in_quote => i += 1,
                        Some(b'"') => in_quote = !in_quote,
                        Some(b';') if !in_quote => {
                            *at = start + hit + 1;
                            return rest.get(..hit).map(Cow::Borrowed);
                        }
                        _ => {}
                    }
                }
                *at = value.len() + 1;
                Some(Cow::Borrowed(rest))
            }
        }
    }
}

fn split_params_slow(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_quote = false;
    let mut escaped = false;
    let mut comment = 0usize;
    for ch in value.chars() {
        if escaped {
            cur.push(ch);
            escaped = false;
            continue;
        }
        match ch {
            '\\' if in_quote => {
                cur.push(ch);
                escaped = true;
            }
            '"' if comment == 0 => {
                in_quote = !in_quote;
                cur.push(ch);
            }
            '(' if !in_quote => comment += 1,
            ')' if !in_quote && comment > 0 => comment -= 1,
            _ if comment > 0 => {}
            ';' if !in_quote => out.push(std::mem::take(&mut cur)),
            _ => cur.push(ch),
        }
    }
    out.push(cur);
    out
}

fn unquote(v: &str) -> String {
    let v = v.trim();
    if v.len() >= 2 && v.starts_with('"') && v.ends_with('"') {
        let inner = &v[1..v.len() - 1];
        if !inner.contains('\\') {
            return inner.to_string();
        }
        let mut out = String::with_capacity(inner.len());
        let mut esc = false;
        for c in inner.chars() {
            if esc {
                out.push(c);
                esc = false;
            } else if c == '\\' {
                esc = true;
            } else {
                out.push(c);
            }
        }
        out
    } else {
        v.to_string()
    }
}

fn parse_params<'p>(parts: impl Iterator<Item = Cow<'p, str>>) -> Vec<(String, String)> {
    let mut simple: Vec<(String, String)> = Vec::new();
    // RFC 2231: name*0=, name*1*=, name*=charset''value
    let mut continued: Vec<(String, usize, bool, String)> = Vec::new();
    for p in parts {
        let Some(eq) = p.find('=') else { continue };
        let name = p[..eq].trim().to_ascii_lowercase();
        let value = unquote(&p[eq + 1..]);
        if name.is_empty() {
            continue;
        }
        if let Some(star) = name.find('*') {
            let base = name[..star].to_string();
            let rest = &name[star + 1..];
            let encoded = rest.ends_with('*') || rest.is_empty();
            let idx = rest.trim_end_matches('*').parse::<usize>().unwrap_or(0);
            continued.push((base, idx, encoded, value));
        } else {
            simple.push((name, value));
        }
    }
    if !continued.is_empty() {
        continued.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
        let mut i = 0;
        while i < continued.len() {
            let base = continued[i].0.clone();
            let mut bytes = Vec::new();
            let mut charset = String::new();
            while i < continued.len() && continued[i].0 == base {
                let (_, idx, enc, ref v) = continued[i];
                if enc {
                    let mut v = v.as_str();
                    if idx == 0 {
                        // charset'lang'value
                        let mut it = v.splitn(3, '\'');
                        if let (Some(cs), Some(_lang), Some(rest)) =
                            (it.next(), it.next(), it.next())
                        {
                            charset = cs.to_ascii_lowercase();
                            v = rest;
                        }
                    }
                    bytes.extend(percent_decode(v));
                } else {
                    bytes.extend_from_slice(v.as_bytes());
                }
                i += 1;
            }
            let value = decode_charset(&bytes, &charset);
            if !simple.iter().any(|(n, _)| *n == base) {
                simple.push((base, value));
            } else if let Some(e) = simple.iter_mut().find(|(n, _)| *n == base) {
                // the RFC 2231 form wins over a plain fallback
                e.1 = value;
            }
        }
    }
    simple
}

fn percent_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex_value(b[i + 1]), hex_value(b[i + 2])) {
                out.push(h * 16 + l);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

/// Decodes the bytes of an RFC 2231 value in its declared charset ([`Charset`]); with no
/// charset, or one [`Charset`] does not know, as UTF-8 when they are valid UTF-8, else as
/// ISO-8859-1.
fn decode_charset(bytes: &[u8], charset: &str) -> String {
    match Charset::for_label(charset) {
        Some(cs) => cs.decode(bytes),
        None => match std::str::from_utf8(bytes) {
            Ok(s) => s.to_owned(),
            Err(_) => Charset::ISO_8859_1.decode(bytes),
        },
    }
}

/// The parameters of a structured value after its first `;` (e.g. `Content-Disposition`),
/// as [`ContentType::params`].
pub(crate) fn parameters(value: &str) -> Vec<(String, String)> {
    let after = value.find(';').map(|i| &value[i + 1..]).unwrap_or("");
    parse_params(ParamParts::of(after))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;

    /// The pieces as the splitter gives them, owned.
    fn pieces(v: &str) -> Vec<String> {
        ParamParts::of(v).map(Cow::into_owned).collect()
    }

    #[test]
    fn pieces_split_on_semicolons_outside_quotes() {
        assert_eq!(pieces(""), [""]);
        assert_eq!(pieces("text/plain"), ["text/plain"]);
        assert_eq!(pieces("a;"), ["a", ""]);
        assert_eq!(pieces(";;"), ["", "", ""]);
        assert_eq!(pieces("a; b=\"x;y\"; c=d"), ["a", " b=\"x;y\"", " c=d"]);
        // a quoted pair: the escaped quote does not end the string, the `;` after it is inside
        assert_eq!(pieces(r#"a; b="x\";y"; c"#), ["a", r#" b="x\";y""#, " c"]);
        // an unterminated quote runs to the end
        assert_eq!(pieces("a; b=\"x; c=d"), ["a", " b=\"x; c=d"]);
        // a backslash outside quotes is a character like another
        assert_eq!(pieces(r"a; b=x\; c"), ["a", r" b=x\", " c"]);
        // comments are dropped, `;` inside them ignored
        assert_eq!(pieces("a (x; y); b=c (z)"), ["a ", " b=c "]);
    }

    #[test]
    fn parse_reads_type_and_parameters() {
        let ct = ContentType::parse(
            "Multipart/Signed; protocol=\"application/pkcs7-signature\"; micalg=sha-256; \
             boundary=\"----=_pec_4c32\"",
        );
        assert_eq!(ct.mime_type, "multipart/signed");
        assert_eq!(ct.param("protocol"), Some("application/pkcs7-signature"));
        assert_eq!(ct.param("MICALG"), Some("sha-256"));
        assert_eq!(ct.param("boundary"), Some("----=_pec_4c32"));
        assert_eq!(ct.params.len(), 3);
        assert_eq!(ContentType::parse("nonsense; x=1").mime_type, "text/plain");
        let ct = ContentType::parse("application/xml; name*0=\"dati\"; name*1=\"cert.xml\"");
        assert_eq!(ct.param("name"), Some("daticert.xml"));
        assert_eq!(
            parameters("attachment; filename=\"a;b.pdf\""),
            [("filename".to_string(), "a;b.pdf".to_string())]
        );
    }
}
