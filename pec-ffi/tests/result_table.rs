//! Regenerates `pec-ffi/src/result_table.rs` (the `pec_result` enum) from the one code table,
//! `pec_core::Code`, and fails when the committed file differs (the new file is written, so a
//! second run passes and `git diff` shows the change). cbindgen does not expand macros, so
//! `pec_result` has to be a plain enum in the sources: this test keeps it one.
//!
//! Adding a code: one row in `pec_core::Code` (pec-core/src/error.rs), then run
//! `cargo test -p pec-ffi --test result_table` and `cargo test -p pec-ffi --test header` once.

#![allow(clippy::unwrap_used)] // tests may unwrap

use std::fmt::Write as _;
use std::path::PathBuf;

use pec_core::Code;

/// The documentation of the C enum (it opens the `pec_result` block of `pec.h`).
const ENUM_DOC: &str = "\
A result code. `PEC_RESULT_OK` (0) is success; every other value is an error whose static
text `pec_result_message` returns. The numbers are stable and never renumbered: blocks of
100 per area (1xx API, 2xx parsing, 3xx S/MIME, 4xx certificates and CRLs, 5xx PKCS#11,
6xx providers index, 7xx building, 8xx provider engine). The verification reason codes
(3xx, 4xx, 6xx) are the same numbers as the reasons of a `pec_report`.

Functions return this type; functions that take a code from C take a `uint32_t`.
";

fn generate() -> String {
    let mut s = String::from(
        "//! GENERATED from `pec_core::Code` by `cargo test -p pec-ffi --test result_table`: do \
         not edit.\n\
         //!\n\
         //! `pec_result` is the core code table as a plain `#[repr(u32)]` enum, so that \
         cbindgen can\n\
         //! emit it into `pec.h`. Add a code to `pec_core::Code` and run that test once.\n\n",
    );
    for line in ENUM_DOC.lines() {
        if line.is_empty() {
            s.push_str("///\n");
        } else {
            writeln!(s, "/// {line}").unwrap();
        }
    }
    s.push_str(
        "#[repr(u32)]\n#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]\npub enum pec_result {\n",
    );
    for c in Code::ALL {
        for line in c.doc().lines() {
            writeln!(s, "    ///{line}").unwrap();
        }
        writeln!(s, "    {c:?} = {},", c.as_u32()).unwrap();
    }
    s.push_str(
        "}\n\nimpl pec_result {\n    /// Every code, in numeric order (mirrors [`pec_core::Code::ALL`]).\n    \
         pub const ALL: &'static [pec_result] = &[\n",
    );
    for c in Code::ALL {
        writeln!(s, "        pec_result::{c:?},").unwrap();
    }
    s.push_str("    ];\n}\n");
    s
}

#[test]
fn result_table_is_generated_from_the_core_codes() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src").join("result_table.rs");
    let generated = generate();
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != generated {
        std::fs::write(&path, &generated).unwrap();
        panic!(
            "pec-ffi/src/result_table.rs was out of date and has been regenerated: review and \
             commit it (then run `cargo test -p pec-ffi --test header` for pec.h)"
        );
    }
}
