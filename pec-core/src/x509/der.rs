//! The one BER/DER TLV reader of the engine, working on the bytes as they arrived.
//!
//! CMS from real senders is DER, or BER with indefinite lengths when the sender streamed
//! (`openssl cms -sign -stream`, Outlook). The signature over the signed attributes covers
//! their bytes exactly as received (RFC 5652 §5.4), so they are located here by offsets and
//! never re-encoded. Certificates and CRLs are DER: [`der_tlv`] reads one definite-length
//! header with the same reader, and [`raw_tbs`] locates the signed part of a certificate or
//! CRL. Every recursion is bounded by [`MAX_DEPTH`]; every loop advances by at least one
//! header, so hostile input ends in an error, never a panic or a hang.

use std::borrow::Cow;
use std::ops::Range;

/// Maximum nesting of constructed values the reader descends into while looking for the end
/// of an indefinite length (and while joining constructed OCTET STRINGs).
pub(crate) const MAX_DEPTH: usize = 32;

/// Why the bytes are not a usable BER value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Malformed(pub &'static str);

/// Result of the reader.
pub(crate) type BerResult<T> = Result<T, Malformed>;

/// Universal and context tags used by CMS (identifier octets, low-tag-number form).
pub(crate) mod tag {
    pub const BOOLEAN: u8 = 0x01;
    pub const INTEGER: u8 = 0x02;
    pub const OCTET_STRING: u8 = 0x04;
    pub const OCTET_STRING_CONSTRUCTED: u8 = 0x24;
    pub const OID: u8 = 0x06;
    pub const UTC_TIME: u8 = 0x17;
    pub const GENERALIZED_TIME: u8 = 0x18;
    pub const SEQUENCE: u8 = 0x30;
    pub const SET: u8 = 0x31;
    /// `[0]` constructed.
    pub const CTX0: u8 = 0xA0;
    /// `[1]` constructed.
    pub const CTX1: u8 = 0xA1;
    /// `[3]` constructed.
    pub const CTX3: u8 = 0xA3;
    /// `[0]` primitive (SubjectKeyIdentifier in a SignerIdentifier).
    pub const CTX0_PRIMITIVE: u8 = 0x80;
}

/// One TLV: the identifier octet, the whole encoding and the content octets.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Tlv<'a> {
    /// Identifier octet (class, constructed bit, tag number < 31).
    pub tag: u8,
    /// The whole encoding: header, content and, for indefinite lengths, the end-of-contents.
    pub raw: &'a [u8],
    /// The content octets (without end-of-contents).
    pub content: &'a [u8],
    depth: usize,
}

impl<'a> Tlv<'a> {
    /// Parses the single TLV that must fill `input` exactly.
    pub fn parse_exact(input: &'a [u8]) -> BerResult<Tlv<'a>> {
        let (tlv, used) = parse_one(input, 0)?;
        if used != input.len() {
            return Err(Malformed("trailing bytes after the outer value"));
        }
        Ok(tlv)
    }

    /// The values inside a constructed TLV.
    pub fn children(&self) -> Children<'a> {
        Children { rest: self.content, depth: self.depth + 1 }
    }

    /// Fails unless the tag is `expected`.
    pub fn expect(self, expected: u8, what: &'static str) -> BerResult<Tlv<'a>> {
        if self.tag == expected { Ok(self) } else { Err(Malformed(what)) }
    }

    /// The bytes of an OCTET STRING, primitive (borrowed) or constructed (BER, joined).
    pub fn octets(&self) -> BerResult<Cow<'a, [u8]>> {
        match self.tag {
            tag::OCTET_STRING => Ok(Cow::Borrowed(self.content)),
            tag::OCTET_STRING_CONSTRUCTED => {
                let mut out = Vec::with_capacity(self.content.len());
                self.join_octets(&mut out)?;
                Ok(Cow::Owned(out))
            }
            _ => Err(Malformed("expected an OCTET STRING")),
        }
    }

    fn join_octets(&self, out: &mut Vec<u8>) -> BerResult<()> {
        if self.depth > MAX_DEPTH {
            return Err(Malformed("OCTET STRING nested too deeply"));
        }
        for child in self.children() {
            let child = child?;
            match child.tag {
                tag::OCTET_STRING => out.extend_from_slice(child.content),
                tag::OCTET_STRING_CONSTRUCTED => child.join_octets(out)?,
                _ => return Err(Malformed("constructed OCTET STRING holds a non-string")),
            }
        }
        Ok(())
    }
}

/// Iterator over the values of a constructed TLV (stops at the first error).
#[derive(Clone, Debug)]
pub(crate) struct Children<'a> {
    rest: &'a [u8],
    depth: usize,
}

impl<'a> Children<'a> {
    /// The next value, failing when there is none.
    pub fn next_required(&mut self, what: &'static str) -> BerResult<Tlv<'a>> {
        match self.next() {
            Some(r) => r,
            None => Err(Malformed(what)),
        }
    }

    /// The next value if it has tag `t`, without consuming anything otherwise.
    pub fn next_if(&mut self, t: u8) -> BerResult<Option<Tlv<'a>>> {
        if self.rest.first() != Some(&t) {
            return Ok(None);
        }
        self.next().transpose()
    }

    /// Whether all values were read.
    pub fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }
}

impl<'a> Iterator for Children<'a> {
    type Item = BerResult<Tlv<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        match parse_one(self.rest, self.depth) {
            Ok((tlv, used)) => {
                self.rest = self.rest.get(used..).unwrap_or_default();
                Some(Ok(tlv))
            }
            Err(e) => {
                self.rest = &[];
                Some(Err(e))
            }
        }
    }
}

/// One DER TLV at the start of `input`: (tag byte, header length, total length). Definite
/// lengths of up to four octets, low tag numbers only (the bounds of [`Tlv`]); `None` for
/// anything else, an indefinite length included.
pub(crate) fn der_tlv(input: &[u8]) -> Option<(u8, usize, usize)> {
    if input.get(1) == Some(&0x80) {
        return None;
    }
    let (tlv, total) = parse_one(input, 0).ok()?;
    Some((tlv.tag, total - tlv.content.len(), total))
}

/// The byte range of the first element (tbsCertificate / tbsCertList) of a signed SEQUENCE:
/// the signature is verified over these bytes as they arrived, never over a re-encoding.
pub(crate) fn raw_tbs(der: &[u8]) -> Option<Range<usize>> {
    let (tag, header, total) = der_tlv(der)?;
    if tag != tag::SEQUENCE || total != der.len() {
        return None;
    }
    let (tag, _, inner) = der_tlv(der.get(header..)?)?;
    (tag == tag::SEQUENCE).then_some(header..header + inner)
}

/// Parses one TLV at the start of `input`; returns it and the number of bytes it takes.
fn parse_one(input: &[u8], depth: usize) -> BerResult<(Tlv<'_>, usize)> {
    if depth > MAX_DEPTH {
        return Err(Malformed("values nested too deeply"));
    }
    let (&t, rest) = input.split_first().ok_or(Malformed("truncated value"))?;
    if t & 0x1f == 0x1f {
        return Err(Malformed("high tag numbers are not used by CMS"));
    }
    if t == 0 {
        return Err(Malformed("unexpected end-of-contents"));
    }
    let (&l, rest) = rest.split_first().ok_or(Malformed("truncated length"))?;
    if l == 0x80 {
        // Indefinite length: constructed only; the content runs to the matching 00 00.
        if t & 0x20 == 0 {
            return Err(Malformed("indefinite length on a primitive value"));
        }
        let mut pos = 0usize;
        loop {
            let tail = rest.get(pos..).ok_or(Malformed("truncated value"))?;
            if tail.starts_with(&[0, 0]) {
                let content = rest.get(..pos).ok_or(Malformed("truncated value"))?;
                let total = 2 + pos + 2;
                let raw = input.get(..total).ok_or(Malformed("truncated value"))?;
                return Ok((Tlv { tag: t, raw, content, depth }, total));
            }
            if tail.is_empty() {
                return Err(Malformed("missing end-of-contents"));
            }
            let (_, used) = parse_one(tail, depth + 1)?;
            pos += used;
        }
    }
    let (len, header) = if l < 0x80 {
        (usize::from(l), 2usize)
    } else {
        let n = usize::from(l & 0x7f);
        if n > 4 {
            return Err(Malformed("length too large"));
        }
        let bytes = rest.get(..n).ok_or(Malformed("truncated length"))?;
        let len = bytes.iter().fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        (len, 2 + n)
    };
    let total = header.checked_add(len).ok_or(Malformed("length too large"))?;
    let raw = input.get(..total).ok_or(Malformed("declared length exceeds the input"))?;
    let content = raw.get(header..).ok_or(Malformed("truncated value"))?;
    Ok((Tlv { tag: t, raw, content, depth }, total))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;

    #[test]
    fn definite_and_indefinite() {
        let der = [0x30, 0x03, 0x02, 0x01, 0x05];
        let t = Tlv::parse_exact(&der).unwrap();
        let kids: Vec<_> = t.children().collect::<Result<_, _>>().unwrap();
        assert_eq!(kids.len(), 1);
        assert_eq!(kids[0].content, &[5]);

        let ber = [0x30, 0x80, 0x24, 0x80, 0x04, 0x01, b'a', 0x04, 0x01, b'b', 0, 0, 0, 0];
        let t = Tlv::parse_exact(&ber).unwrap();
        let s = t.children().next().unwrap().unwrap();
        assert_eq!(&*s.octets().unwrap(), b"ab");
    }

    #[test]
    fn hostile() {
        assert!(Tlv::parse_exact(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]).is_err());
        assert!(Tlv::parse_exact(&[0x30]).is_err());
        assert!(Tlv::parse_exact(&[0x30, 0x80, 0x04, 0x00]).is_err());
        let mut deep = [0x30u8, 0x80].repeat(10_000);
        deep.extend(vec![0u8; 20_000]);
        assert!(Tlv::parse_exact(&deep).is_err());
        assert!(Tlv::parse_exact(&vec![0u8; 1 << 20]).is_err());
        assert!(Tlv::parse_exact(&[0x04, 0x80, 0, 0]).is_err());
    }

    #[test]
    fn der_headers() {
        assert_eq!(der_tlv(&[0x30, 0x00]), Some((0x30, 2, 2)));
        assert_eq!(der_tlv(&[0x30, 0x81]), None);
        assert_eq!(der_tlv(&[0x30, 0x85, 1, 1, 1, 1, 1]), None);
        assert_eq!(der_tlv(&[0x30, 0x82, 0xff, 0xff]), None);
        assert_eq!(der_tlv(&[0x30, 0x80, 0x00, 0x00]), None);
        assert_eq!(der_tlv(&[0x30, 0x81, 0x01, 0x05, 0x00]), Some((0x30, 3, 4)));
        assert_eq!(raw_tbs(&[0x30, 0x02, 0x30, 0x00]), Some(2..4));
        assert_eq!(raw_tbs(&[0x30, 0x02, 0x31, 0x00]), None);
        assert_eq!(raw_tbs(&[0x30, 0x02, 0x30, 0x00, 0x00]), None);
    }
}
