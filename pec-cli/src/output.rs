//! Output helpers: the error object on stderr, JSON.

use pec_core::Error;
use serde_json::{Value, json};

/// The JSON error object printed on stderr: `{"error": {"code", "name", "message"}}`.
pub fn error_json(e: &Error) -> Value {
    json!({"error": {"code": e.code().as_u32(), "name": e.code().name(), "message": e.to_string()}})
}

/// Prints an error (JSON when `json`, else text) on stderr.
pub fn print_error(e: &Error, json: bool) {
    if json {
        eprintln!("{}", error_json(e));
    } else {
        eprintln!("pec: error {} ({}): {e}", e.code().as_u32(), e.code().name());
    }
}

/// An optional string as JSON.
pub fn opt<T: AsRef<str>>(v: &Option<T>) -> Value {
    match v {
        Some(s) => Value::String(s.as_ref().to_string()),
        None => Value::Null,
    }
}
