//! The human-readable part of every generated message (RFC 6109 §3; docs/SPEC.md §10.7):
//! Italian wording of our own, as `text/plain` and self-contained `text/html` (no external
//! resources, no scripts, every value HTML-escaped).

/// One block of the human text.
#[derive(Clone, Debug)]
pub(crate) enum Block {
    /// A paragraph.
    Para(String),
    /// A list of items (addresses).
    List(Vec<String>),
}

/// The human text of a message: a title and blocks.
#[derive(Clone, Debug)]
pub(crate) struct HumanText {
    pub title: String,
    pub blocks: Vec<Block>,
}

impl HumanText {
    pub(crate) fn new(title: impl Into<String>) -> HumanText {
        HumanText { title: title.into(), blocks: Vec::new() }
    }

    pub(crate) fn para(mut self, s: impl Into<String>) -> HumanText {
        self.blocks.push(Block::Para(s.into()));
        self
    }

    pub(crate) fn list(mut self, items: Vec<String>) -> HumanText {
        self.blocks.push(Block::List(items));
        self
    }

    /// The `text/plain` rendering (LF line ends; the QP encoder makes them CRLF).
    pub(crate) fn plain(&self) -> String {
        let mut out = String::new();
        out.push_str(&self.title);
        out.push_str("\n\n");
        for b in &self.blocks {
            match b {
                Block::Para(p) => {
                    out.push_str(p);
                    out.push_str("\n\n");
                }
                Block::List(items) => {
                    for i in items {
                        out.push_str("  ");
                        out.push_str(i);
                        out.push('\n');
                    }
                    out.push('\n');
                }
            }
        }
        out
    }

    /// The `text/html` rendering: a complete, self-contained document.
    pub(crate) fn html(&self) -> String {
        let mut out = String::from(
            "<!DOCTYPE html>\n<html lang=\"it\">\n<head>\n<meta charset=\"UTF-8\">\n<title>",
        );
        out.push_str(&escape_html(&self.title));
        out.push_str("</title>\n</head>\n<body>\n<h3>");
        out.push_str(&escape_html(&self.title));
        out.push_str("</h3>\n");
        for b in &self.blocks {
            match b {
                Block::Para(p) => {
                    out.push_str("<p>");
                    out.push_str(&escape_html(p));
                    out.push_str("</p>\n");
                }
                Block::List(items) => {
                    out.push_str("<ul>\n");
                    for i in items {
                        out.push_str("<li>");
                        out.push_str(&escape_html(i));
                        out.push_str("</li>\n");
                    }
                    out.push_str("</ul>\n");
                }
            }
        }
        out.push_str("</body>\n</html>\n");
        out
    }
}

/// Escapes `& < > " '` for HTML text and attribute values.
pub(crate) fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' && c != '\t' => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn html_is_escaped() {
        let t = HumanText::new("T")
            .para("<script>alert('x')</script> & \"q\"")
            .list(vec!["a@b.it (\"posta certificata\")".into()]);
        let h = t.html();
        assert!(!h.contains("<script>"));
        assert!(h.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"));
        assert!(t.plain().contains("  a@b.it (\"posta certificata\")\n"));
    }
}
