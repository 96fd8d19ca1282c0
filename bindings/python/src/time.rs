//! `datetime` in and out: timezone-aware only. A naive datetime is refused with `ValueError`
//! (it names no instant, and PEC evidence is about instants).

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime, TimeDelta, Utc};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDateTime, PyTzInfo};

/// Extracts a timezone-aware `datetime` as an instant with its UTC offset (any `tzinfo`:
/// `timezone`, `zoneinfo.ZoneInfo`, ...).
///
/// # Errors
/// `TypeError` when `ob` is not a `datetime`; `ValueError` when it is naive.
pub fn aware_datetime(ob: &Bound<'_, PyAny>) -> PyResult<DateTime<FixedOffset>> {
    if !ob.is_instance_of::<PyDateTime>() {
        return Err(PyTypeError::new_err(format!(
            "expected a timezone-aware datetime, got {}",
            ob.get_type().name()?
        )));
    }
    let offset = ob.call_method0("utcoffset")?;
    if offset.is_none() {
        return Err(PyValueError::new_err(
            "naive datetime refused: pass a timezone-aware datetime (e.g. tzinfo=timezone.utc)",
        ));
    }
    let offset: TimeDelta = offset.extract()?;
    let utc_tz = PyTzInfo::utc(ob.py())?;
    let utc: DateTime<Utc> = ob.call_method1("astimezone", (utc_tz,))?.extract()?;
    let secs = i32::try_from(offset.num_seconds())
        .map_err(|_| PyValueError::new_err("UTC offset out of range"))?;
    let fixed = FixedOffset::east_opt(secs)
        .ok_or_else(|| PyValueError::new_err("UTC offset out of range"))?;
    Ok(utc.with_timezone(&fixed))
}

/// The instant of a `daticert.xml` `<data zona="+hhmm"><giorno>dd/mm/yyyy</giorno>
/// <ora>hh:mm:ss</ora></data>`, when it is well-formed.
pub fn daticert_instant(day: &str, time: &str, zone: &str) -> Option<DateTime<FixedOffset>> {
    let date = NaiveDate::parse_from_str(day.trim(), "%d/%m/%Y").ok()?;
    let time = NaiveTime::parse_from_str(time.trim(), "%H:%M:%S").ok()?;
    let offset = parse_zone(zone.trim())?;
    date.and_time(time).and_local_timezone(offset).single()
}

fn parse_zone(zone: &str) -> Option<FixedOffset> {
    let (sign, digits) = match zone.as_bytes().first()? {
        b'+' => (1, zone.get(1..)?),
        b'-' => (-1, zone.get(1..)?),
        _ => (1, zone),
    };
    let digits = digits.replace(':', "");
    if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let hours: i32 = digits.get(..2)?.parse().ok()?;
    let minutes: i32 = digits.get(2..)?.parse().ok()?;
    FixedOffset::east_opt(sign * (hours * 3600 + minutes * 60))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn daticert_dates() {
        let t = daticert_instant("13/11/2018", "16:39:26", "+0100").unwrap();
        assert_eq!(t.to_rfc3339(), "2018-11-13T16:39:26+01:00");
        assert!(daticert_instant("13/11/2018", "16:39", "+0100").is_none());
        assert!(daticert_instant("x", "16:39:26", "+0100").is_none());
        assert!(daticert_instant("13/11/2018", "16:39:26", "+01").is_none());
    }
}
