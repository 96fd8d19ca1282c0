//! The lenient address-list reader: whatever real mail puts in `To:`, `Cc:`, `From:`.

use super::{MAX_COMMENT_DEPTH, display_name};

/// One mailbox of an address list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Mailbox {
    /// The display name, unquoted and RFC 2047-decoded (`None` when absent or empty; for a
    /// bare address with an old-style `(comment)`, the comment).
    pub name: Option<String>,
    /// The address as written (`local@domain`, route and angle brackets removed; not
    /// validated: see [`validate_addr_spec`](super::validate_addr_spec)).
    pub address: String,
}

/// Reads an RFC 5322 address list (`To:`, `Cc:`, `From:`, `Reply-To:`) tolerantly, never
/// failing: `"Name, X" <a@b>`, `Name <a@b>`, bare `a@b`, `a@b (Name)`, groups
/// (`team: a@b, c@d;`, the group name dropped), comments anywhere, quoted pairs, obsolete
/// routes (`<@relay:a@b>`), RFC 2047 display names (also inside quotes, as found in the wild),
/// folding. Empty members and `<>` are skipped.
pub fn parse_address_list(raw: &str) -> Vec<Mailbox> {
    let chars: Vec<char> = raw.chars().filter(|c| *c != '\r' && *c != '\n').collect();
    let mut list = Vec::new();
    let mut seg = Segment::default();
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        i += 1;
        match c {
            '"' => {
                let mut content = String::new();
                let mut raw = String::from('"');
                while let Some(&d) = chars.get(i) {
                    i += 1;
                    raw.push(d);
                    match d {
                        '\\' => {
                            if let Some(&e) = chars.get(i) {
                                content.push(e);
                                raw.push(e);
                                i += 1;
                            }
                        }
                        '"' => break,
                        d => content.push(d),
                    }
                }
                if seg.angle.is_none() {
                    seg.raw.push_str(&raw);
                    seg.phrase.push_str(&content);
                }
            }
            '(' => {
                let mut depth = 1u32;
                let mut content = String::new();
                while let Some(&d) = chars.get(i) {
                    i += 1;
                    match d {
                        '\\' => {
                            if let Some(&e) = chars.get(i) {
                                content.push(e);
                                i += 1;
                            }
                        }
                        '(' if depth < MAX_COMMENT_DEPTH => {
                            depth += 1;
                            content.push(d);
                        }
                        ')' => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                            content.push(d);
                        }
                        d => content.push(d),
                    }
                }
                if !seg.comment.is_empty() {
                    seg.comment.push(' ');
                }
                seg.comment.push_str(&content);
                seg.phrase.push(' ');
            }
            '<' => {
                let mut content = String::new();
                let mut quoted = false;
                while let Some(&d) = chars.get(i) {
                    i += 1;
                    match d {
                        '"' => {
                            quoted = !quoted;
                            content.push(d);
                        }
                        '\\' if quoted => {
                            content.push(d);
                            if let Some(&e) = chars.get(i) {
                                content.push(e);
                                i += 1;
                            }
                        }
                        '>' if !quoted => break,
                        d => content.push(d),
                    }
                }
                if seg.angle.is_none() {
                    seg.angle = Some(content);
                }
            }
            '[' => {
                let mut content = String::from("[");
                while let Some(&d) = chars.get(i) {
                    i += 1;
                    content.push(d);
                    if d == ']' {
                        break;
                    }
                }
                if seg.angle.is_none() {
                    seg.raw.push_str(&content);
                    seg.phrase.push_str(&content);
                }
            }
            ',' | ';' => seg.finish(&mut list),
            ':' if seg.angle.is_none() => seg = Segment::default(),
            c => {
                if seg.angle.is_none() {
                    if !c.is_whitespace() {
                        seg.raw.push(c);
                    }
                    seg.phrase.push(c);
                }
            }
        }
    }
    seg.finish(&mut list);
    list
}

#[derive(Default)]
struct Segment {
    phrase: String,
    raw: String,
    comment: String,
    angle: Option<String>,
}

impl Segment {
    fn finish(&mut self, list: &mut Vec<Mailbox>) {
        let seg = std::mem::take(self);
        let (address, name) = match seg.angle {
            Some(angle) => {
                let a = angle.rsplit_once(':').map_or(angle.as_str(), |(route, addr)| {
                    if route.trim_start().starts_with('@') { addr } else { angle.as_str() }
                });
                (a.split_whitespace().collect::<String>(), display_name(&seg.phrase))
            }
            None => (seg.raw, display_name(&seg.comment)),
        };
        if !address.is_empty() {
            list.push(Mailbox { name, address });
        }
    }
}
