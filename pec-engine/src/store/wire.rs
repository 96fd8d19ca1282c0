//! What the SQLite and PostgreSQL stores share: how instants, replies, route groups and timer
//! kinds are written into columns and read back, and the seal query. One place, so the two
//! stores cannot drift apart in what they keep.

use chrono::{DateTime, TimeZone, Utc};
use pec_core::build::Timeout;
use pec_core::points::{Reply, Route, RouteGroup};

/// The columns of a sealed day, in the order both stores' `seal_row` read them.
pub(super) const SEAL_SELECT: &str =
    "SELECT day, sha256, records, tails, kind, token, nonce, tsa_url, sealed_ms FROM log_seal";

/// Milliseconds since the epoch, as both stores keep instants.
pub(super) fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

/// The instant of stored milliseconds (the epoch for an impossible value).
pub(super) fn from_ms(v: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(v).single().unwrap_or_default()
}

/// Stored milliseconds as RFC 3339 (whole seconds, `Z`).
pub(super) fn rfc3339(v: i64) -> String {
    from_ms(v).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// A reply as stored (JSON: code, status, text).
pub(super) fn reply_json(r: &Reply) -> serde_json::Value {
    serde_json::json!({"code": r.code, "status": r.status, "text": r.text})
}

/// A stored reply (451 when the code is missing or impossible).
pub(super) fn reply_from(v: &serde_json::Value) -> Reply {
    Reply {
        code: v["code"].as_u64().and_then(|c| u16::try_from(c).ok()).unwrap_or(451),
        status: v["status"].as_str().unwrap_or_default().to_string(),
        text: v["text"].as_str().unwrap_or_default().to_string(),
    }
}

/// Route groups as stored (a JSON array of `{route, rcpt_to}`).
pub(super) fn groups_json(g: &[RouteGroup]) -> String {
    let v: Vec<serde_json::Value> = g
        .iter()
        .map(|g| serde_json::json!({"route": g.route.as_str(), "rcpt_to": g.rcpt_to}))
        .collect();
    serde_json::Value::Array(v).to_string()
}

/// Stored route groups (unknown routes and malformed entries left out).
pub(super) fn groups_from(s: &str) -> Vec<RouteGroup> {
    let v: serde_json::Value = serde_json::from_str(s).unwrap_or_default();
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|g| {
                    Some(RouteGroup {
                        route: Route::from_wire(g["route"].as_str()?)?,
                        rcpt_to: g["rcpt_to"]
                            .as_array()?
                            .iter()
                            .filter_map(|x| x.as_str().map(str::to_string))
                            .collect(),
                    })
                })
                .collect()
        })
        .unwrap_or_default()
}

/// A stored timer kind (24 h for an unknown one).
pub(super) fn which_from(s: &str) -> Timeout {
    Timeout::from_wire(s).unwrap_or(Timeout::H24)
}
