//! The strict RFC 5322 §3.4 address grammar (with the obsolete forms of §4.4).

use super::{MAX_COMMENT_DEPTH, display_name, invalid_address, is_atext};
use crate::codec::utf8_or_latin1;
use crate::error::Result;

/// One address of an RFC 5322 §3.4 address list, read strictly by [`parse_addresses`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Address {
    /// A single mailbox.
    Mailbox(MailboxAddress),
    /// A group (`name: member, member;`), possibly empty.
    Group {
        /// The group's display name (RFC 2047-decoded).
        name: String,
        /// Its members.
        members: Vec<MailboxAddress>,
    },
}

/// A mailbox read strictly (RFC 5322 §3.4): comments and folding removed, quoted pairs
/// resolved, obsolete routes dropped.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MailboxAddress {
    /// The display name, RFC 2047-decoded (`None` when absent).
    pub name: Option<String>,
    /// The local part's value: a dot-atom as written without CFWS, or the content of a quoted
    /// string with its quoted pairs resolved.
    pub local_part: String,
    /// The domain as written without CFWS: a dot-atom, or a domain literal with its brackets.
    pub domain: String,
}

impl MailboxAddress {
    /// The addr-spec `local@domain`, the local part quoted when it is not a dot-atom.
    pub fn addr_spec(&self) -> String {
        let dot_atom = !self.local_part.is_empty()
            && self.local_part.split('.').all(|a| !a.is_empty() && a.chars().all(is_atext_char));
        if dot_atom {
            format!("{}@{}", self.local_part, self.domain)
        } else {
            let mut s = String::with_capacity(self.local_part.len() + self.domain.len() + 4);
            s.push('"');
            for c in self.local_part.chars() {
                if c == '"' || c == '\\' {
                    s.push('\\');
                }
                s.push(c);
            }
            s.push_str("\"@");
            s.push_str(&self.domain);
            s
        }
    }

    /// The domain, ASCII-lowercased (what the providers index compares).
    pub fn domain_lowercase(&self) -> String {
        self.domain.to_ascii_lowercase()
    }
}

/// `atext` of RFC 5322 §3.2.3, with the non-ASCII characters RFC 6532 §3.2 admits.
fn is_atext_char(c: char) -> bool {
    if c.is_ascii() { is_atext(c as u8) } else { !c.is_control() }
}

/// `obs-NO-WS-CTL` (RFC 5322 §4.1): admitted in obsolete qtext, ctext and dtext.
fn is_obs_no_ws_ctl(c: char) -> bool {
    matches!(c, '\u{1}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{7f}')
}

/// Reads an RFC 5322 §3.4 address list strictly (the opposite of [`parse_address_list`](super::parse_address_list)):
/// the grammar of `address-list` with CFWS (nested comments, quoted pairs, folding), quoted
/// local parts, groups, domain literals, RFC 6532 UTF-8, and the obsolete forms of §4.4
/// (`obs-phrase` with dots, `obs-local-part`/`obs-domain` with CFWS around the dots,
/// `obs-route`, empty list elements). Bytes that are not UTF-8 are read as ISO-8859-1.
///
/// # Errors
/// [`ParseError::InvalidAddress`](crate::error::ParseError::InvalidAddress) when the value does not match the grammar (an address
/// without `@`, an unterminated quoted string or comment, text after an address without a
/// comma, comments nested deeper than 32, a NUL, ...).
pub fn parse_addresses(raw: &[u8]) -> Result<Vec<Address>> {
    let text = utf8_or_latin1(raw);
    let mut p = AddrParser { s: text.chars().collect(), i: 0, names: true };
    p.address_list().map_err(|_| invalid_address(&text))
}

/// Reads an RFC 5322 `mailbox-list` strictly (`From:`): as [`parse_addresses`], and a group
/// is an error too.
///
/// # Errors
/// [`ParseError::InvalidAddress`](crate::error::ParseError::InvalidAddress).
pub fn parse_mailbox_list(raw: &[u8]) -> Result<Vec<MailboxAddress>> {
    parse_addresses(raw)?
        .into_iter()
        .map(|a| match a {
            Address::Mailbox(m) => Ok(m),
            Address::Group { .. } => Err(invalid_address(&utf8_or_latin1(raw))),
        })
        .collect()
}

/// The single mailbox of a value that must hold exactly one (`From:` of a PEC message,
/// `mittente` of daticert): `None` for anything else, groups included.
pub fn single_mailbox(raw: &[u8]) -> Option<MailboxAddress> {
    let mut list = parse_mailbox_list(raw).ok()?;
    if list.len() == 1 { list.pop() } else { None }
}

/// [`single_mailbox`] with `name` left `None`: the same grammar, without RFC 2047-decoding a
/// display name nobody reads (verification compares domains only).
pub(crate) fn single_mailbox_unnamed(raw: &[u8]) -> Option<MailboxAddress> {
    if let Some(m) = plain_mailbox(raw) {
        return Some(m);
    }
    let text = utf8_or_latin1(raw);
    let mut p = AddrParser { s: text.chars().collect(), i: 0, names: false };
    let mut list = p.address_list().ok()?;
    match (list.pop(), list.is_empty()) {
        (Some(Address::Mailbox(m)), true) => Some(m),
        _ => None,
    }
}

/// The two plain forms of one mailbox, read without the general parser: `local@domain`, and
/// `"name" <local@domain>` or `<local@domain>`, with a dot-atom local part and domain (ASCII
/// `atext` runs joined by single dots), the quoted name printable ASCII without `"` or `\`,
/// and spaces or tabs only around the angle address and at the ends. What the grammar
/// gives for those (name left `None`); `None` for any other value (the grammar then reads
/// it).
fn plain_mailbox(raw: &[u8]) -> Option<MailboxAddress> {
    let ws = |b: &u8| *b == b' ' || *b == b'\t';
    let start = raw.iter().position(|b| !ws(b))?;
    let end = raw.iter().rposition(|b| !ws(b))? + 1;
    let v = raw.get(start..end)?;
    let spec = match v.split_last() {
        Some((b'>', rest)) => {
            let lt = memchr::memrchr(b'<', rest)?;
            let (name, spec) = (rest.get(..lt)?, rest.get(lt + 1..)?);
            let name = name.get(..name.iter().rposition(|b| !ws(b)).map_or(0, |p| p + 1))?;
            let quoted = match name {
                [] => true,
                [b'"', inner @ .., b'"'] => {
                    inner.iter().all(|&b| (0x20..=0x7e).contains(&b) && b != b'"' && b != b'\\')
                }
                _ => false,
            };
            if !quoted {
                return None;
            }
            spec
        }
        _ => v,
    };
    let at = memchr::memchr(b'@', spec)?;
    let (local, domain) = (spec.get(..at)?, spec.get(at + 1..)?);
    let dot_atom =
        |s: &[u8]| s.split(|&b| b == b'.').all(|a| !a.is_empty() && a.iter().all(|&b| is_atext(b)));
    if !dot_atom(local) || !dot_atom(domain) {
        return None;
    }
    Some(MailboxAddress {
        name: None,
        local_part: std::str::from_utf8(local).ok()?.to_string(),
        domain: std::str::from_utf8(domain).ok()?.to_string(),
    })
}

/// A grammar mismatch (the position is not reported: the caller reports the value).
struct Mismatch;

type Parsed<T> = std::result::Result<T, Mismatch>;

/// A word of a phrase or local part, or a dot between them.
enum Item {
    Word(String),
    Dot,
}

/// Recursive descent over RFC 5322 §3.2-§3.4 and §4.4; comment nesting bounded, otherwise
/// no recursion.
struct AddrParser {
    s: Vec<char>,
    i: usize,
    /// Whether display names are RFC 2047-decoded (else left `None`; the grammar is the same).
    names: bool,
}

impl AddrParser {
    fn peek(&self) -> Option<char> {
        self.s.get(self.i).copied()
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: char) -> Parsed<()> {
        if self.eat(c) { Ok(()) } else { Err(Mismatch) }
    }

    /// `CFWS` / `FWS`, possibly empty. CR and LF only occur as folding inside a field value.
    fn cfws(&mut self) -> Parsed<()> {
        loop {
            match self.peek() {
                Some(' ' | '\t' | '\r' | '\n') => self.i += 1,
                Some('(') => self.comment()?,
                _ => return Ok(()),
            }
        }
    }

    /// A quoted pair (after the backslash): any character but NUL (RFC 5322 §3.2.1, with
    /// obs-qp).
    fn quoted_pair(&mut self) -> Parsed<char> {
        match self.peek() {
            Some(c) if c != '\0' => {
                self.i += 1;
                Ok(c)
            }
            _ => Err(Mismatch),
        }
    }

    /// `comment`, nesting bounded by [`MAX_COMMENT_DEPTH`] (iterative).
    fn comment(&mut self) -> Parsed<()> {
        self.expect('(')?;
        let mut depth = 1u32;
        while depth > 0 {
            let c = self.peek().ok_or(Mismatch)?;
            self.i += 1;
            match c {
                '(' => {
                    depth += 1;
                    if depth > MAX_COMMENT_DEPTH {
                        return Err(Mismatch);
                    }
                }
                ')' => depth -= 1,
                '\\' => {
                    self.quoted_pair()?;
                }
                '\0' => return Err(Mismatch),
                ' ' | '\t' | '\r' | '\n' => {}
                c if c.is_ascii_control() && !is_obs_no_ws_ctl(c) => return Err(Mismatch),
                _ => {}
            }
        }
        Ok(())
    }

    /// `quoted-string` content (the opening quote is next); folding removed.
    fn quoted_string(&mut self) -> Parsed<String> {
        self.expect('"')?;
        let mut out = String::new();
        loop {
            let c = self.peek().ok_or(Mismatch)?;
            self.i += 1;
            match c {
                '"' => return Ok(out),
                '\\' => out.push(self.quoted_pair()?),
                '\r' | '\n' => {}
                '\0' => return Err(Mismatch),
                c if c.is_ascii_control() && c != '\t' && !is_obs_no_ws_ctl(c) => {
                    return Err(Mismatch);
                }
                c => out.push(c),
            }
        }
    }

    /// `1*atext`, or `None` when none is next.
    fn atom_text(&mut self) -> Option<String> {
        let start = self.i;
        while self.peek().is_some_and(is_atext_char) {
            self.i += 1;
        }
        (self.i > start).then(|| self.s[start..self.i].iter().collect())
    }

    /// Words and dots up to the next special (`obs-phrase` / `obs-local-part`), CFWS
    /// around them skipped.
    fn items(&mut self) -> Parsed<Vec<Item>> {
        let mut items = Vec::new();
        loop {
            self.cfws()?;
            match self.peek() {
                Some('"') => items.push(Item::Word(self.quoted_string()?)),
                Some('.') => {
                    self.i += 1;
                    items.push(Item::Dot);
                }
                _ => match self.atom_text() {
                    Some(a) => items.push(Item::Word(a)),
                    None => return Ok(items),
                },
            }
        }
    }

    /// `display-name` from items: `phrase` / `obs-phrase` (starts with a word).
    fn phrase(items: &[Item]) -> Parsed<String> {
        if !matches!(items.first(), Some(Item::Word(_))) {
            return Err(Mismatch);
        }
        let mut s = String::new();
        for it in items {
            match it {
                Item::Word(w) => {
                    if !s.is_empty() {
                        s.push(' ');
                    }
                    s.push_str(w);
                }
                Item::Dot => s.push('.'),
            }
        }
        Ok(s)
    }

    /// `local-part` from items: `word *("." word)`.
    fn local_part(items: &[Item]) -> Parsed<String> {
        let mut s = String::new();
        let mut want_word = true;
        for it in items {
            match (it, want_word) {
                (Item::Word(w), true) => s.push_str(w),
                (Item::Dot, false) => s.push('.'),
                _ => return Err(Mismatch),
            }
            want_word = !want_word;
        }
        if want_word { Err(Mismatch) } else { Ok(s) }
    }

    /// `domain` (after the `@`): `domain-literal`, or `atom *("." atom)` with CFWS around.
    fn domain(&mut self) -> Parsed<String> {
        self.cfws()?;
        if self.eat('[') {
            let mut s = String::from("[");
            loop {
                let c = self.peek().ok_or(Mismatch)?;
                self.i += 1;
                match c {
                    ']' => break,
                    '[' | '\0' => return Err(Mismatch),
                    '\\' => s.push(self.quoted_pair()?),
                    ' ' | '\t' | '\r' | '\n' => {}
                    c if c.is_ascii_control() && !is_obs_no_ws_ctl(c) => return Err(Mismatch),
                    c => s.push(c),
                }
            }
            s.push(']');
            self.cfws()?;
            return Ok(s);
        }
        let mut s = self.atom_text().ok_or(Mismatch)?;
        loop {
            self.cfws()?;
            if !self.eat('.') {
                return Ok(s);
            }
            self.cfws()?;
            s.push('.');
            s.push_str(&self.atom_text().ok_or(Mismatch)?);
        }
    }

    /// `angle-addr` / `obs-angle-addr` (the `<` is next): the route is dropped.
    fn angle_addr(&mut self) -> Parsed<(String, String)> {
        self.expect('<')?;
        self.cfws()?;
        if matches!(self.peek(), Some('@' | ',')) {
            // obs-route = obs-domain-list ":"
            loop {
                self.cfws()?;
                if self.eat(',') {
                    continue;
                }
                if self.eat('@') {
                    self.domain()?;
                    continue;
                }
                break;
            }
            self.expect(':')?;
        }
        let items = self.items()?;
        let local = Self::local_part(&items)?;
        self.expect('@')?;
        let domain = self.domain()?;
        self.expect('>')?;
        self.cfws()?;
        Ok((local, domain))
    }

    /// `address` (`group` allowed when `group_ok`).
    fn address(&mut self, group_ok: bool) -> Parsed<Address> {
        let items = self.items()?;
        match self.peek() {
            Some('<') => {
                let name = if items.is_empty() { None } else { Some(Self::phrase(&items)?) };
                let (local_part, domain) = self.angle_addr()?;
                Ok(Address::Mailbox(MailboxAddress {
                    name: name.filter(|_| self.names).and_then(|n| display_name(&n)),
                    local_part,
                    domain,
                }))
            }
            Some('@') => {
                let local_part = Self::local_part(&items)?;
                self.i += 1;
                let domain = self.domain()?;
                Ok(Address::Mailbox(MailboxAddress { name: None, local_part, domain }))
            }
            Some(':') if group_ok => {
                let name = Self::phrase(&items)?;
                self.i += 1;
                let mut members = Vec::new();
                loop {
                    self.cfws()?;
                    match self.peek() {
                        Some(';') => break,
                        Some(',') => self.i += 1,
                        Some(_) => match self.address(false)? {
                            Address::Mailbox(m) => {
                                members.push(m);
                                self.cfws()?;
                                match self.peek() {
                                    Some(',') => self.i += 1,
                                    Some(';') => {}
                                    _ => return Err(Mismatch),
                                }
                            }
                            Address::Group { .. } => return Err(Mismatch),
                        },
                        None => return Err(Mismatch),
                    }
                }
                self.expect(';')?;
                self.cfws()?;
                Ok(Address::Group { name: display_name(&name).unwrap_or_default(), members })
            }
            _ => Err(Mismatch),
        }
    }

    /// `address-list` / `obs-addr-list`: empty elements tolerated; nothing but a comma may
    /// follow an address.
    fn address_list(&mut self) -> Parsed<Vec<Address>> {
        let mut list = Vec::new();
        loop {
            self.cfws()?;
            match self.peek() {
                None => return Ok(list),
                Some(',') => self.i += 1,
                Some(_) => {
                    list.push(self.address(true)?);
                    self.cfws()?;
                    match self.peek() {
                        None => return Ok(list),
                        Some(',') => self.i += 1,
                        Some(_) => return Err(Mismatch),
                    }
                }
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod strict_address_tests {
    use super::*;

    fn mbox(name: Option<&str>, local: &str, domain: &str) -> MailboxAddress {
        MailboxAddress {
            name: name.map(str::to_string),
            local_part: local.to_string(),
            domain: domain.to_string(),
        }
    }

    #[test]
    fn plain_forms_read_as_the_grammar_reads_them() {
        let plain = [
            "a@b.it",
            "  posta-certificata@pec.example.it\t",
            "\"Per conto di: mario.rossi@pec.example.it\" <posta-certificata@pec.example.it>",
            "\"\" <x.y@z>",
            "<x@y>",
            "\"a;b,c(d)\"\t <o'neil+tag@sub.example.co.uk> ",
        ];
        for raw in plain {
            let fast = plain_mailbox(raw.as_bytes()).unwrap_or_else(|| panic!("{raw:?}"));
            let mut full = single_mailbox(raw.as_bytes()).unwrap();
            full.name = None;
            assert_eq!(fast, full, "{raw:?}");
            assert_eq!(single_mailbox_unnamed(raw.as_bytes()), Some(full));
        }
        // anything else is left to the grammar (which reads or refuses it)
        let other = [
            "",
            "a@b, c@d",
            "a.@b",
            ".a@b",
            "a..b@c",
            "a@b.",
            "a@[1.2.3.4]",
            "Name <a@b>",
            "\"q\\\"\" <a@b>",
            "\"x\" <a@b> (c)",
            "<@r:a@b>",
            "a@b@c",
            "\"x\"<a@b>>",
            "g: a@b;",
            "\"\u{e8}\" <a@b>",
            "a(c)@b",
            "a\r\n @b",
        ];
        for raw in other {
            assert!(plain_mailbox(raw.as_bytes()).is_none(), "{raw:?}");
            let mut full = single_mailbox(raw.as_bytes());
            if let Some(m) = &mut full {
                m.name = None;
            }
            assert_eq!(single_mailbox_unnamed(raw.as_bytes()), full, "{raw:?}");
        }
    }

    fn one(raw: &str) -> MailboxAddress {
        single_mailbox(raw.as_bytes()).unwrap_or_else(|| panic!("{raw:?}"))
    }

    #[test]
    fn rfc5322_appendix_a1_mailboxes() {
        // A.1.1
        assert_eq!(
            one("John Doe <jdoe@machine.example>"),
            mbox(Some("John Doe"), "jdoe", "machine.example")
        );
        assert_eq!(
            one("\"Joe Q. Public\" <john.q.public@example.com>"),
            mbox(Some("Joe Q. Public"), "john.q.public", "example.com")
        );
        // A.1.2: three mailboxes, and a quoted display name with specials
        let list =
            parse_mailbox_list(b"Mary Smith <mary@x.test>, jdoe@example.org, Who? <one@y.test>")
                .unwrap();
        assert_eq!(
            list,
            vec![
                mbox(Some("Mary Smith"), "mary", "x.test"),
                mbox(None, "jdoe", "example.org"),
                mbox(Some("Who?"), "one", "y.test"),
            ]
        );
        let list = parse_mailbox_list(
            b"<boss@nil.test>, \"Giant; \\\"Big\\\" Box\" <sysservices@example.net>",
        )
        .unwrap();
        assert_eq!(list[1], mbox(Some("Giant; \"Big\" Box"), "sysservices", "example.net"));
    }

    #[test]
    fn rfc5322_groups() {
        // A.1.3
        let list =
            parse_addresses(b"A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;")
                .unwrap();
        assert_eq!(
            list,
            vec![Address::Group {
                name: "A Group".into(),
                members: vec![
                    mbox(Some("Ed Jones"), "c", "a.test"),
                    mbox(None, "joe", "where.test"),
                    mbox(Some("John"), "jdoe", "one.test"),
                ],
            }]
        );
        assert_eq!(
            parse_addresses(b"Undisclosed recipients:;").unwrap(),
            vec![Address::Group { name: "Undisclosed recipients".into(), members: vec![] }]
        );
        // a group is not a mailbox: never the single From: mailbox
        assert!(parse_mailbox_list(b"A Group:Ed Jones <c@a.test>;").is_err());
        assert!(single_mailbox(b"A Group:Ed Jones <c@a.test>;").is_none());
        // groups do not nest; the ';' is required
        assert!(parse_addresses(b"a: b: c@d;;").is_err());
        assert!(parse_addresses(b"a: c@d").is_err());
    }

    #[test]
    fn rfc5322_comments_and_cfws() {
        // A.5
        assert_eq!(
            one("Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>"),
            mbox(Some("Pete"), "pete", "silly.test")
        );
        let list = parse_addresses(
            b"A Group(Some people)\r\n     :Chris Jones <c@(Chris's host.)public.example>,\r\n         joe@example.org,\r\n  John <jdoe@one.test> (my dear friend); (the end of the group)",
        )
        .unwrap();
        let Address::Group { name, members } = &list[0] else { panic!("{list:?}") };
        assert_eq!(name, "A Group");
        assert_eq!(members[0], mbox(Some("Chris Jones"), "c", "public.example"));
        assert_eq!(members.len(), 3);
        assert_eq!(
            parse_addresses(b"(Empty list)(start)Hidden recipients  :(nobody(that I know))  ;")
                .unwrap(),
            vec![Address::Group { name: "Hidden recipients".into(), members: vec![] }]
        );
        // an address inside a comment is a comment, not the address
        let m = one("posta-certificata@pec.example.it (via <posta-certificata@pec.other.it>)");
        assert_eq!(m.domain, "pec.example.it");
        let m = one("(posta-certificata@pec.other.it) <posta-certificata@pec.example.it>");
        assert_eq!(m.domain, "pec.example.it");
        // unterminated or too deep comments are errors
        assert!(parse_addresses(b"a@b (open").is_err());
        let deep = format!("a@b {}{}", "(".repeat(40), ")".repeat(40));
        assert!(parse_addresses(deep.as_bytes()).is_err());
        let ok = format!("a@b {}{}", "(".repeat(30), ")".repeat(30));
        assert!(parse_addresses(ok.as_bytes()).is_ok());
    }

    #[test]
    fn quoted_local_parts_and_literals() {
        let m = one("\"john..doe\"@example.com");
        assert_eq!(m.local_part, "john..doe");
        assert_eq!(m.addr_spec(), "\"john..doe\"@example.com");
        let m = one("<\"a@b\\\"c\"@pec.example.it>");
        assert_eq!((m.local_part.as_str(), m.domain.as_str()), ("a@b\"c", "pec.example.it"));
        assert_eq!(m.addr_spec(), "\"a@b\\\"c\"@pec.example.it");
        let m = one("jsmith@[192.168.2.1]");
        assert_eq!(m.domain, "[192.168.2.1]");
        // the on-behalf-of display name holds an address: it is a name, not the address
        let m =
            one("\"Per conto di: mario.rossi@pec.example.it\" <posta-certificata@pec.other.it>");
        assert_eq!(m.name.as_deref(), Some("Per conto di: mario.rossi@pec.example.it"));
        assert_eq!(m.addr_spec(), "posta-certificata@pec.other.it");
        // RFC 2047 display names and RFC 6532 UTF-8
        let m = one("=?utf-8?q?Caff=C3=A8?= <a@b.it>");
        assert_eq!(m.name.as_deref(), Some("Caffè"));
        let m = one("Niccolò <niccolò@pec.example.it>");
        assert_eq!(m.local_part, "niccolò");
    }

    #[test]
    fn rfc5322_obsolete_forms() {
        // A.6.1 obs-phrase with a dot, obs-route, empty list elements, obs-domain with CFWS
        assert_eq!(
            one("Joe Q. Public <john.q.public@example.com>").name.as_deref(),
            Some("Joe Q. Public")
        );
        let list =
            parse_mailbox_list(b"Mary Smith <@node.test:mary@example.net>, , jdoe@test  . example")
                .unwrap();
        assert_eq!(
            list,
            vec![
                mbox(Some("Mary Smith"), "mary", "example.net"),
                mbox(None, "jdoe", "test.example")
            ]
        );
        // A.6.3 comments inside the domain
        assert_eq!(one("John Doe <jdoe@machine(comment).  example>").domain, "machine.example");
        // obs-local-part: words and quoted strings with CFWS around the dots
        assert_eq!(one("john . \"q\" . public@example.com").local_part, "john.q.public");
        // obs-route with several domains
        assert_eq!(one("<@a.test,@b.test:x@c.test>").domain, "c.test");
        // obs-mbox-list: leading and trailing commas
        assert_eq!(parse_mailbox_list(b", a@b.it ,").unwrap().len(), 1);
    }

    #[test]
    fn not_exactly_one_mailbox() {
        for raw in [
            "",
            "   ",
            "posta-certificata",
            "Posta <posta-certificata>",
            "a@pec.example.it, <posta-certificata@pec.other.it>",
            "a@pec.example.it b@pec.other.it",
            "a@pec.example.it <b@pec.other.it>",
            "<a@pec.example.it> <b@pec.other.it>",
            "<>",
            "a@",
            "@b.it",
            "a.@b.it",
            "a..b@b.it",
            "a@b..it",
            "\"open@b.it",
            "a@b.it>",
            "<a@b.it",
            "a@[1.2.3.4",
            "a@b.it\0",
            "group: a@b.it;",
        ] {
            assert!(single_mailbox(raw.as_bytes()).is_none(), "{raw:?}");
        }
    }

    #[test]
    fn never_panics_on_hostile_bytes() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let alphabet = b"ab@.<>()\"\\,;:[] \t\r\n\xc3\xa8\x00=?";
        for _ in 0..3000 {
            let mut v = Vec::new();
            for _ in 0..(seed % 40) {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                v.push(alphabet[(seed % alphabet.len() as u64) as usize]);
            }
            let _ = parse_addresses(&v);
        }
    }
}
