//! Regenerates `include/pec.h` with cbindgen and fails when the committed header differs
//! (the new header is written, so a second run passes and `git diff` shows the change).
//! Then compiles the header alone as C99 and as C++ with `-Wall -Werror`, and checks its
//! version macros against Cargo.toml and its result codes against `pec_core::Code`.

#![allow(clippy::unwrap_used)] // tests may unwrap

use std::path::{Path, PathBuf};
use std::process::Command;

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn header_path() -> PathBuf {
    crate_dir().join("..").join("include").join("pec.h")
}

fn generate() -> String {
    let dir = crate_dir();
    let config = cbindgen::Config::from_file(dir.join("cbindgen.toml")).unwrap();
    let bindings = cbindgen::Builder::new()
        .with_crate(&dir)
        .with_config(config)
        .generate()
        .expect("cbindgen failed");
    let mut out = Vec::new();
    bindings.write(&mut out);
    String::from_utf8(out).unwrap()
}

fn tool_missing(tool: &str) -> bool {
    let found = Command::new(tool).arg("--version").output().is_ok();
    if !found {
        assert!(std::env::var("CI").as_deref() != Ok("true"), "{tool} is required in CI");
        eprintln!("skip: {tool} not found");
    }
    !found
}

fn compile(compiler: &str, args: &[&str], source: &Path) {
    let include = crate_dir().join("..").join("include");
    let out = Command::new(compiler)
        .args(args)
        .arg("-I")
        .arg(&include)
        .arg("-fsyntax-only")
        .arg(source)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{compiler} {args:?} rejected pec.h:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn header_is_up_to_date_and_compiles() {
    let generated = generate();
    let path = header_path();
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != generated {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &generated).unwrap();
        panic!("include/pec.h was out of date and has been regenerated: review and commit it");
    }

    // version macros match Cargo.toml
    let v = env!("CARGO_PKG_VERSION");
    assert!(generated.contains(&format!("#define PEC_VERSION \"{v}\"")));
    let mut parts = v.split('.');
    for name in ["MAJOR", "MINOR", "PATCH"] {
        let n = parts.next().unwrap();
        assert!(generated.contains(&format!("#define PEC_VERSION_{name} {n}\n")), "{name}");
    }

    // every core code is in the header under its stable name and number
    for c in pec_core::Code::ALL {
        let line = format!("PEC_RESULT_{} = {},", c.name().to_ascii_uppercase(), c.as_u32());
        assert!(generated.contains(&line), "missing {line}");
    }

    // compiles alone, as C99 and as C++, warnings as errors
    let tmp = std::env::temp_dir().join(format!("pec-header-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let c = tmp.join("alone.c");
    std::fs::write(&c, "#include <pec.h>\nint main(void) { return pec_version() == 0; }\n")
        .unwrap();
    let cpp = tmp.join("alone.cpp");
    std::fs::write(&cpp, "#include <pec.h>\nint main() { return pec_version() == nullptr; }\n")
        .unwrap();
    if !tool_missing("cc") {
        compile("cc", &["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic"], &c);
    }
    if !tool_missing("c++") {
        compile("c++", &["-std=c++11", "-Wall", "-Wextra", "-Werror", "-pedantic"], &cpp);
    }
    let _ = std::fs::remove_dir_all(&tmp);
}
