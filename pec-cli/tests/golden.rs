//! Golden files (issue 13): `tests/vectors/expected/*.json` hold the `inspect --json` and
//! `verify --json` output of every message listed in `tests/vectors/expected/sources.txt` (every
//! vector, every interop message), with fixed options (trust anchors `anchors.pem`, evaluated at
//! the signing time). The C, Python and Perl tests check their own door against the same files.
//!
//! Both sides are parsed as JSON and compared as values. A mismatch writes the actual output
//! beside the expectation as `<name>.failed` (as mail-parser's tests do) and fails; a missing
//! expectation fails too, unless `PEC_BLESS=1`, which writes it (review it, then commit it).
//! Interop messages are skipped when the interop directory is absent, a failure under
//! `CI=true` (`pec_testkit::interop_dir`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn expected_dir() -> PathBuf {
    pec_testkit::repo_root().join("tests/vectors/expected")
}

/// The sources of `sources.txt`: (`vectors/...` or `interop/...`, expectation stem).
fn sources() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(expected_dir().join("sources.txt")).unwrap();
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| (l.to_string(), l.replace('/', "__")))
        .collect()
}

/// The file a source names, or `None` when it is an interop message and the interop
/// directory is absent (skipped locally; `interop_dir` panics under `CI=true`).
fn source_path(source: &str, interop: Option<&Path>) -> Option<PathBuf> {
    if let Some(rel) = source.strip_prefix("vectors/") {
        return Some(pec_testkit::repo_root().join("tests/vectors").join(rel));
    }
    let rel = source.strip_prefix("interop/").unwrap_or_else(|| panic!("bad source {source}"));
    interop.map(|d| d.join(rel))
}

/// Compares `actual` (the door's JSON text) with the expectation `name`: see the module doc.
/// Returns a failure description, or `None`.
fn check(name: &str, actual: &str) -> Option<String> {
    let path = expected_dir().join(name);
    let failed = expected_dir().join(format!("{name}.failed"));
    let actual_value: Value = match serde_json::from_str(actual) {
        Ok(v) => v,
        Err(e) => return Some(format!("{name}: the door printed no JSON ({e}): {actual}")),
    };
    let expected = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(_) if std::env::var("PEC_BLESS").as_deref() == Ok("1") => {
            std::fs::write(&path, format!("{}\n", actual.trim_end())).unwrap();
            eprintln!("blessed {}", path.display());
            return None;
        }
        Err(e) => {
            return Some(format!(
                "{name}: no expectation ({e}); run with PEC_BLESS=1 to write it, then review it"
            ));
        }
    };
    let expected_value: Value = serde_json::from_str(&expected)
        .unwrap_or_else(|e| panic!("{}: not JSON: {e}", path.display()));
    if expected_value == actual_value {
        let _ = std::fs::remove_file(&failed);
        None
    } else {
        std::fs::write(&failed, format!("{}\n", actual.trim_end())).unwrap();
        Some(format!("{name}: differs from the expectation; actual output in {}", failed.display()))
    }
}

fn pec(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_pec")).args(args).output().expect("run pec");
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "pec {args:?}: {:?} {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn cli_inspect_and_verify_match_the_golden_files() {
    let interop = pec_testkit::interop_dir();
    let anchors = expected_dir().join("anchors.pem");
    let anchors = anchors.to_str().unwrap();
    let mut failures = Vec::new();
    let mut checked = 0;
    for (source, stem) in sources() {
        let Some(path) = source_path(&source, interop.as_deref()) else { continue };
        let file = path.to_str().unwrap();
        let inspect = pec(&["inspect", "--json", file]);
        failures.extend(check(&format!("{stem}.inspect.json"), &inspect));
        let verify = pec(&["verify", "--json", "--ca-file", anchors, "--at-signing-time", file]);
        failures.extend(check(&format!("{stem}.verify.json"), &verify));
        checked += 1;
    }
    eprintln!("{checked} messages checked against their golden files");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// `sources.txt` lists every message vector and every interop message, and every expectation
/// in the directory belongs to a listed source (no stale golden file).
#[test]
fn the_golden_files_cover_every_message() {
    let listed: BTreeSet<String> = sources().into_iter().map(|(s, _)| s).collect();
    let vectors = pec_testkit::repo_root().join("tests/vectors");
    for dir in std::fs::read_dir(&vectors).unwrap() {
        let dir = dir.unwrap().path();
        if !dir.is_dir() {
            continue;
        }
        for f in std::fs::read_dir(&dir).unwrap() {
            let f = f.unwrap().path();
            if f.extension().is_some_and(|e| e == "eml") {
                let rel = f.strip_prefix(&vectors).unwrap().to_str().unwrap().replace('\\', "/");
                assert!(listed.contains(&format!("vectors/{rel}")), "{rel} not in sources.txt");
            }
        }
    }
    if let Some(interop) = pec_testkit::interop_dir() {
        let mut stack = vec![interop.clone()];
        while let Some(d) = stack.pop() {
            for f in std::fs::read_dir(&d).unwrap() {
                let f = f.unwrap().path();
                if f.is_dir() {
                    stack.push(f);
                } else if f.file_name().is_some_and(|n| n != "SOURCES.md") {
                    let rel = f.strip_prefix(&interop).unwrap().to_str().unwrap().to_string();
                    assert!(listed.contains(&format!("interop/{rel}")), "{rel} not in sources.txt");
                }
            }
        }
    }
    let stems: BTreeSet<String> = listed.iter().map(|s| s.replace('/', "__")).collect();
    for f in std::fs::read_dir(expected_dir()).unwrap() {
        let name = f.unwrap().file_name().to_str().unwrap().to_string();
        if let Some(stem) =
            name.strip_suffix(".inspect.json").or_else(|| name.strip_suffix(".verify.json"))
        {
            assert!(stems.contains(stem), "{name}: stale golden file (its source is not listed)");
        }
    }
}

/// The comparison itself: equal values pass whatever the layout, a different value writes
/// `.failed` and fails, a missing expectation fails without `PEC_BLESS`.
#[test]
fn a_mismatch_writes_a_failed_file() {
    let name = format!("selftest-{}.json", std::process::id());
    let path = expected_dir().join(&name);
    let failed = expected_dir().join(format!("{name}.failed"));
    if std::env::var("PEC_BLESS").as_deref() != Ok("1") {
        assert!(check(&name, "{}").is_some_and(|m| m.contains("PEC_BLESS=1")));
    }
    std::fs::write(&path, "{\"a\": [1, true, null], \"b\": \"x\"}\n").unwrap();
    let same = check(&name, "{\n  \"b\": \"x\",\n  \"a\": [1, true, null]\n}");
    let differs = check(&name, "{\"a\": [1, true, null], \"b\": \"y\"}");
    let written = std::fs::read_to_string(&failed);
    let _ = std::fs::remove_file(&path);
    let _ = std::fs::remove_file(&failed);
    assert_eq!(same, None);
    assert!(differs.is_some());
    assert!(written.unwrap().contains("\"y\""));
}
