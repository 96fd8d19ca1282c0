//! Output helpers: the error object on stderr, JSON. Every JSON object the command prints
//! is a view of `pec_core::view`, the one definition the C ABI, Python and Perl share.

use pec_core::Error;
use pec_core::view::ErrorView;
use serde_json::Value;

/// The JSON error object printed on stderr: `{"error": {"code", "name", "message"}}`.
pub fn error_json(e: &Error) -> Value {
    serde_json::to_value(ErrorView::new(e)).unwrap_or_default()
}

/// Prints an error (JSON when `json`, else text) on stderr.
pub fn print_error(e: &Error, json: bool) {
    if json {
        eprintln!("{}", error_json(e));
    } else {
        eprintln!("pec: error {} ({}): {e}", e.code().as_u32(), e.code().name());
    }
}
