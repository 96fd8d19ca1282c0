//! The layers of pec-core, declared once ([`LAYERS`]) and checked: a module may use modules of
//! its own layer and of the layers below it, never of a layer above. ARCHITECTURE.md draws
//! the same layers ("pec-core modules"); this test also checks that the picture lists exactly
//! these layers, in this order, so the document stays true.
//!
//! Every `src/**/*.rs` is read as text; a file belongs to the top-level module of its path
//! (`src/chain/search.rs` is `chain`). Its references `crate::X`, `$crate::X` and
//! `crate::{X, ...}` are collected, outside comments and outside `#[cfg(test)]` items (unit
//! tests may use anything: they are not part of the engine). `lib.rs`, the crate root, only
//! declares modules and re-exports; it is not checked.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

/// The layers, bottom first. A module may use its own layer and the layers before it.
const LAYERS: &[&[&str]] = &[
    // error codes, wire vocabularies, limits, digests, base64/QP/charsets; the table macros
    &["table", "error", "model", "limits", "crypto", "codec"],
    // the verification vocabulary: depends only on error codes and digests
    &["report"],
    // grammars of mail
    &["headers", "identifier", "mime"],
    &["daticert", "timeref"],
    // a parsed PEC message, exact signed bytes
    &["message"],
    // certificates, names, DER/TLV and PEM readers, OIDs, signature cache
    &["x509"],
    // the providers index (no signature checking: loading a signed index is in `verify`)
    &["index"],
    &["revocation"],
    &["chain"],
    &["signer", "pkcs11"],
    // CMS SignedData; CMS EnvelopedData (encryption at rest, keys in software or PKCS#11)
    &["smime", "atrest", "tsp"],
    // message level: verification (and signed index loading), checks, providers, building;
    // mail security around PEC (TLS maps from the index, DKIM); the wire view (feature `view`)
    &["verify", "open", "checks", "provider", "build", "mailsec", "view"],
    // the three points and the timers as pure decisions (no I/O, clock or keys)
    &["points"],
];

/// Items the crate root re-exports, by the module they come from.
const ROOT_ITEMS: &[(&str, &str)] = &[
    ("Code", "error"),
    ("Error", "error"),
    ("Result", "error"),
    ("PecMessage", "message"),
    ("verify_message", "verify"),
];

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// The top-level module a source file belongs to (`None` for the crate root).
fn module_of(path: &Path) -> Option<String> {
    let rel = path.strip_prefix(src_dir()).unwrap();
    let first = rel.components().next()?.as_os_str().to_str()?.to_owned();
    if first == "lib.rs" {
        return None;
    }
    Some(first.trim_end_matches(".rs").to_owned())
}

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&module))
}

/// The text without comments and without `#[cfg(test)]` items, line numbers kept (removed
/// text becomes spaces). String literals are kept but their braces do not count.
fn engine_code(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let code = match line.find("//") {
            // `://` is a URL inside a string, not a comment
            Some(i) if !line[..i].ends_with(':') => &line[..i],
            _ => line,
        };
        out.push_str(code);
        out.push('\n');
    }
    // Blank out every `#[cfg(test)]` item: from the attribute to the brace closing the item.
    let bytes: Vec<char> = out.chars().collect();
    let mut keep = vec![true; bytes.len()];
    let marker: Vec<char> = "#[cfg(test)]".chars().collect();
    let mut i = 0;
    while i + marker.len() <= bytes.len() {
        if bytes[i..i + marker.len()] == marker[..] {
            let mut j = i + marker.len();
            let mut depth = 0usize;
            let mut in_str = false;
            let mut opened = false;
            while j < bytes.len() {
                let c = bytes[j];
                if in_str {
                    if c == '\\' {
                        j += 1;
                    } else if c == '"' {
                        in_str = false;
                    }
                } else if c == '"' {
                    in_str = true;
                } else if c == '{' {
                    depth += 1;
                    opened = true;
                } else if c == '}' {
                    depth = depth.saturating_sub(1);
                    if opened && depth == 0 {
                        break;
                    }
                } else if c == ';' && !opened {
                    break; // `#[cfg(test)] use ...;`
                }
                j += 1;
            }
            for k in keep.iter_mut().take((j + 1).min(bytes.len())).skip(i) {
                *k = false;
            }
            i = j + 1;
        } else {
            i += 1;
        }
    }
    bytes.iter().zip(keep).map(|(&c, k)| if k || c == '\n' { c } else { ' ' }).collect()
}

/// Every (line, module) this code refers to through `crate::`.
fn references(code: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (n, line) in code.lines().enumerate() {
        let mut rest = line;
        while let Some(i) = rest.find("crate::") {
            let before = rest[..i].chars().last();
            rest = &rest[i + "crate::".len()..];
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue; // `pec_crate::`, not ours
            }
            if let Some(group) = rest.strip_prefix('{') {
                // `crate::{a, b::c, ...}`: the first segment of each path of the group
                let group = group.split('}').next().unwrap_or("");
                for path in group.split(',') {
                    let name = path.trim().split("::").next().unwrap_or("").trim();
                    if !name.is_empty() {
                        out.push((n + 1, name.to_owned()));
                    }
                }
                continue;
            }
            let name: String =
                rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            if !name.is_empty() {
                out.push((n + 1, name));
            }
        }
    }
    out
}

#[test]
fn no_module_uses_a_layer_above_its_own() {
    let mut files = Vec::new();
    rust_files(&src_dir(), &mut files);
    let mut violations = Vec::new();
    let mut unknown = Vec::new();
    let mut seen_modules = BTreeMap::new();
    for path in &files {
        let Some(module) = module_of(path) else { continue };
        let rel = path.strip_prefix(src_dir()).unwrap().display().to_string();
        let Some(own) = layer_of(&module) else {
            unknown.push(format!("src/{rel}: module `{module}` is in no layer of LAYERS"));
            continue;
        };
        seen_modules.insert(module.clone(), own);
        let text = fs::read_to_string(path).unwrap();
        for (line, name) in references(&engine_code(&text)) {
            let target = ROOT_ITEMS
                .iter()
                .find(|(item, _)| *item == name)
                .map_or(name.as_str(), |(_, m)| *m);
            match layer_of(target) {
                Some(l) if l <= own => {}
                Some(l) => violations.push(format!(
                    "src/{rel}:{line}: `{module}` (layer {own}) uses `crate::{target}` (layer {l}, above)"
                )),
                None => unknown.push(format!(
                    "src/{rel}:{line}: `crate::{name}` is in no layer of LAYERS (add it, or to ROOT_ITEMS)"
                )),
            }
        }
    }
    assert!(unknown.is_empty(), "unplaced modules:\n{}", unknown.join("\n"));
    assert!(violations.is_empty(), "imports from a layer above:\n{}", violations.join("\n"));
    // Every module of the table exists (a stale table would check nothing).
    for layer in LAYERS {
        for m in *layer {
            assert!(seen_modules.contains_key(*m), "LAYERS names `{m}`, which has no source file");
        }
    }
}

/// The module picture of ARCHITECTURE.md: the code block after "## pec-core modules", one
/// layer per line, top layer first, modules separated by commas, notes in parentheses.
/// Returned bottom first, as [`LAYERS`].
fn architecture_layers() -> Vec<Vec<String>> {
    let doc = fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../ARCHITECTURE.md"))
        .unwrap();
    let section = doc.split("## pec-core modules").nth(1).expect("section `## pec-core modules`");
    let block = section.split("```").nth(1).expect("a code block in `## pec-core modules`");
    let mut layers = Vec::new();
    for line in block.lines().skip(1) {
        // drop notes in parentheses (they may nest one level)
        let mut text = String::new();
        let mut depth = 0usize;
        for c in line.chars() {
            match c {
                '(' => depth += 1,
                ')' => depth = depth.saturating_sub(1),
                _ if depth == 0 => text.push(c),
                _ => {}
            }
        }
        let text = text.replace("└─", " ");
        let names: Vec<String> =
            text.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect();
        if !names.is_empty() {
            layers.push(names);
        }
    }
    layers.reverse();
    layers
}

#[test]
fn architecture_md_draws_the_same_layers() {
    let drawn = architecture_layers();
    let declared: Vec<Vec<String>> =
        LAYERS.iter().map(|l| l.iter().map(|s| (*s).to_owned()).collect()).collect();
    assert_eq!(drawn, declared, "ARCHITECTURE.md's module picture differs from LAYERS");
}

#[test]
fn the_checker_sees_what_it_must() {
    let code = engine_code(
        "use crate::chain::TrustStore; // crate::smime\n\
         use crate::{error::Result, report};\n\
         fn f() { crate::x509::der::der_tlv(&[]); let u = \"http://x\"; }\n\
         #[cfg(test)]\nmod tests {\n    use crate::verify;\n    fn g() { let s = \"}\"; }\n}\n\
         fn h() -> $crate::error::Code {}\n",
    );
    let names: Vec<(usize, String)> = references(&code);
    let expect = [(1, "chain"), (2, "error"), (2, "report"), (3, "x509"), (9, "error")];
    let expect: Vec<(usize, String)> = expect.iter().map(|(l, n)| (*l, (*n).to_owned())).collect();
    assert_eq!(names, expect);
}
