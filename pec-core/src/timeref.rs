//! The time reference of a transaction (DM 2 Nov 2005 art. 9; RFC 6109 §4.1, §4.2; docs/SPEC.md
//! §10.3).
//!
//! One single instant per transaction at each processing point: the same value goes into the
//! `Date:` header of the receipt or envelope, the date phrase of the human-readable text, the
//! `<data>` of `daticert.xml` and the log. [`TimeReference`] holds that instant and renders
//! every form from it, so they cannot disagree.

use chrono::{
    DateTime, Datelike, FixedOffset, NaiveDate, NaiveTime, Offset, TimeZone, Timelike, Utc,
};

use crate::daticert::CertDate;
use crate::error::{ParseError, Result};

/// One instant per transaction (docs/SPEC.md §10.3), with the offset of the legal local time in which
/// it is shown. Its resolution is one second, the resolution of every form it is rendered in
/// (sub-second parts are dropped when it is made).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TimeReference {
    at: DateTime<FixedOffset>,
}

impl TimeReference {
    /// The current instant in Italian legal time (Europe/Rome: `+0100` in winter, `+0200` in
    /// summer), from the system clock, which the provider keeps within one second of UTC
    /// (DM art. 9).
    pub fn now() -> Self {
        let rome = Utc::now().with_timezone(&chrono_tz::Europe::Rome);
        Self::from_datetime(rome.fixed_offset())
    }

    /// An instant given as RFC 3339 (`2024-12-05T00:02:10+01:00`), keeping its offset.
    pub fn from_rfc3339(s: &str) -> Result<Self> {
        let t = DateTime::parse_from_rfc3339(s.trim())
            .map_err(|_| ParseError::InvalidTime(s.to_string()))?;
        Ok(Self::from_datetime(t))
    }

    /// An instant with its offset.
    pub fn from_datetime(t: DateTime<FixedOffset>) -> Self {
        TimeReference { at: t.with_nanosecond(0).unwrap_or(t) }
    }

    /// The instant in its offset.
    pub fn datetime(&self) -> DateTime<FixedOffset> {
        self.at
    }

    /// The instant in UTC.
    pub fn utc(&self) -> DateTime<Utc> {
        self.at.with_timezone(&Utc)
    }

    /// The `Date:` header value (RFC 5322 §3.3): `Thu, 05 Dec 2024 00:02:10 +0100`.
    pub fn rfc5322(&self) -> String {
        self.at.format("%a, %d %b %Y %H:%M:%S %z").to_string()
    }

    /// `giorno`: `dd/mm/yyyy`.
    pub fn day(&self) -> String {
        format!("{:02}/{:02}/{:04}", self.at.day(), self.at.month(), self.at.year())
    }

    /// `ora`: `hh:mm:ss` (24 h, local).
    pub fn time(&self) -> String {
        format!("{:02}:{:02}:{:02}", self.at.hour(), self.at.minute(), self.at.second())
    }

    /// `zona`: `[+|-]hhmm`.
    pub fn zone(&self) -> String {
        self.at.format("%z").to_string()
    }

    /// The `<data>` of `daticert.xml`.
    pub fn cert_date(&self) -> CertDate {
        CertDate::from_datetime(&self.at)
    }

    /// The date phrase of the human-readable text, as real providers print it (docs/SPEC.md §10.3,
    /// §10.7; offset without colon): `05/12/2024 alle ore 00:02:10 (+0100)`.
    pub fn human(&self) -> String {
        format!("{} alle ore {} ({})", self.day(), self.time(), self.zone())
    }
}

/// Reads an RFC 5322 `Date:` value, tolerant of real-world forms: optional day name, one- or
/// two-digit day, month names in any case, two- or four-digit years (RFC 5322 §4.3), `hh:mm`
/// or `hh:mm:ss`, numeric zones `±hhmm` or `±hh:mm`, obsolete and common zone names (`UT`,
/// `GMT`, `EST`, ..., `CET`, `CEST`; unknown names read as `+0000`), a missing zone (`+0000`),
/// comments (`(CET)`), extra whitespace and folding, asctime order (`Thu Dec  5 00:02:10
/// 2024`) and RFC 3339. Anything else is [`ParseError::InvalidTime`].
pub fn parse_rfc5322_date(s: &str) -> Result<DateTime<FixedOffset>> {
    let bad = || ParseError::InvalidTime(s.chars().take(200).collect());
    if let Ok(t) = DateTime::parse_from_rfc3339(s.trim()) {
        return Ok(t);
    }
    // Strip comments (bounded nesting) and turn separators into spaces.
    let mut cleaned = String::with_capacity(s.len());
    let mut depth = 0u32;
    for c in s.chars() {
        match c {
            '(' => depth = depth.saturating_add(1),
            ')' if depth > 0 => depth -= 1,
            _ if depth > 0 => {}
            ',' | '\r' | '\n' | '\t' => cleaned.push(' '),
            c => cleaned.push(c),
        }
    }
    let (mut day, mut month, mut year, mut clock, mut zone) = (None, None, None, None, None);
    for (i, tok) in cleaned.split(' ').filter(|t| !t.is_empty()).enumerate() {
        if i > 12 {
            return Err(bad().into());
        }
        if clock.is_none() && tok.contains(':') && !tok.starts_with(['+', '-']) {
            clock = Some(parse_hms(tok).ok_or_else(bad)?);
        } else if tok.starts_with(['+', '-']) && clock.is_some() {
            zone = Some(crate::daticert::parse_zone(tok).ok_or_else(bad)?);
        } else if tok.bytes().all(|b| b.is_ascii_digit()) {
            let n: u32 = tok.parse().map_err(|_| bad())?;
            if day.is_none() && tok.len() <= 2 && (month.is_some() || year.is_none()) && n >= 1 {
                day = Some(n);
            } else if year.is_none() {
                year = Some(match tok.len() {
                    1 | 2 if n < 50 => 2000 + n,
                    1 | 2 => 1900 + n,
                    3 => 1900 + n,
                    _ => n,
                });
            } else {
                return Err(bad().into());
            }
        } else if let Some(m) = month_number(tok) {
            if month.is_some() {
                return Err(bad().into());
            }
            month = Some(m);
        } else if is_day_name(tok) && clock.is_none() {
            // ignored: the day name is redundant
        } else if clock.is_some() && zone.is_none() && tok.bytes().all(|b| b.is_ascii_alphabetic())
        {
            zone = Some(named_zone(tok));
        } else {
            return Err(bad().into());
        }
    }
    let (Some(d), Some(m), Some(y), Some(time)) = (day, month, year, clock) else {
        return Err(bad().into());
    };
    let date =
        NaiveDate::from_ymd_opt(i32::try_from(y).map_err(|_| bad())?, m, d).ok_or_else(bad)?;
    let offset = match zone {
        Some(z) => z,
        None => Utc.fix(),
    };
    Ok(offset.from_local_datetime(&date.and_time(time)).single().ok_or_else(bad)?)
}

fn parse_hms(tok: &str) -> Option<NaiveTime> {
    let mut it = tok.split(':');
    let num = |x: &str| -> Option<u32> {
        if x.is_empty() || x.len() > 2 || !x.bytes().all(|b| b.is_ascii_digit()) {
            None
        } else {
            x.parse().ok()
        }
    };
    let h = num(it.next()?)?;
    let m = num(it.next()?)?;
    let s = match it.next() {
        Some(x) => num(x)?,
        None => 0,
    };
    if it.next().is_some() || s > 60 {
        return None;
    }
    NaiveTime::from_hms_opt(h, m, s.min(59))
}

fn month_number(tok: &str) -> Option<u32> {
    const MONTHS: [&str; 12] =
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
    let t = tok.trim_end_matches('.');
    if t.len() < 3 || !t.is_ascii() {
        return None;
    }
    let prefix = t.get(..3)?;
    let idx = MONTHS.iter().position(|m| m.eq_ignore_ascii_case(prefix))?;
    // Accept `Dec`, `December`, `Sept`; refuse unrelated words that merely start alike.
    const FULL: [&str; 12] = [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ];
    let full = FULL.get(idx)?;
    if full.len() >= t.len() && full.get(..t.len())?.eq_ignore_ascii_case(t) {
        u32::try_from(idx + 1).ok()
    } else {
        None
    }
}

fn is_day_name(tok: &str) -> bool {
    const DAYS: [&str; 7] =
        ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];
    let t = tok.trim_end_matches('.');
    t.len() >= 3
        && t.is_ascii()
        && DAYS.iter().any(|d| {
            d.len() >= t.len() && d.get(..t.len()).is_some_and(|p| p.eq_ignore_ascii_case(t))
        })
}

/// Zone names of RFC 5322 §4.3 plus the European ones seen in the wild; military letters and
/// unknown names mean "no information", read as `+0000`.
fn named_zone(tok: &str) -> FixedOffset {
    let hours = match tok.to_ascii_uppercase().as_str() {
        "EDT" => -4,
        "EST" | "CDT" => -5,
        "CST" | "MDT" => -6,
        "MST" | "PDT" => -7,
        "PST" => -8,
        "CET" | "MET" | "BST" | "WEST" => 1,
        "CEST" | "MEST" | "EET" => 2,
        "EEST" => 3,
        _ => 0,
    };
    FixedOffset::east_opt(hours * 3600).unwrap_or_else(|| Utc.fix())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;

    fn tr(s: &str) -> TimeReference {
        TimeReference::from_rfc3339(s).expect("valid")
    }

    #[test]
    fn renders_every_form_from_one_instant() {
        let t = tr("2024-12-05T00:02:10+01:00");
        assert_eq!(t.rfc5322(), "Thu, 05 Dec 2024 00:02:10 +0100");
        assert_eq!(t.day(), "05/12/2024");
        assert_eq!(t.time(), "00:02:10");
        assert_eq!(t.zone(), "+0100");
        assert_eq!(t.human(), "05/12/2024 alle ore 00:02:10 (+0100)");
        let cd = t.cert_date();
        assert_eq!(
            (cd.day.as_str(), cd.time.as_str(), cd.zone.as_str()),
            ("05/12/2024", "00:02:10", "+0100")
        );
        assert_eq!(cd.to_datetime().unwrap(), t.datetime());
        assert_eq!(t.utc().to_rfc3339(), "2024-12-04T23:02:10+00:00");
        assert_eq!(parse_rfc5322_date(&t.rfc5322()).unwrap(), t.datetime());
    }

    #[test]
    fn keeps_given_offset_and_drops_subseconds() {
        let t = tr("2026-07-01T10:00:00.987-03:30");
        assert_eq!(t.zone(), "-0330");
        assert_eq!(t.time(), "10:00:00");
        assert_eq!(t.datetime().timestamp_subsec_nanos(), 0);
        assert!(TimeReference::from_rfc3339("yesterday").is_err());
    }

    #[test]
    fn now_is_rome_time() {
        let t = TimeReference::now();
        let z = t.zone();
        assert!(z == "+0100" || z == "+0200", "{z}");
        let drift = (Utc::now() - t.utc()).num_seconds().abs();
        assert!(drift <= 2);
        // Summer and winter offsets of Europe/Rome.
        let summer = Utc.with_ymd_and_hms(2026, 7, 1, 12, 0, 0).unwrap();
        let winter = Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0).unwrap();
        let s = TimeReference::from_datetime(
            summer.with_timezone(&chrono_tz::Europe::Rome).fixed_offset(),
        );
        let w = TimeReference::from_datetime(
            winter.with_timezone(&chrono_tz::Europe::Rome).fixed_offset(),
        );
        assert_eq!(s.zone(), "+0200");
        assert_eq!(w.zone(), "+0100");
        assert_eq!(s.time(), "14:00:00");
    }

    #[test]
    fn parses_real_world_dates() {
        let want = tr("2024-12-05T00:02:10+01:00").datetime();
        for s in [
            "Thu, 5 Dec 2024 00:02:10 +0100",
            "Thu, 05 Dec 2024 00:02:10 +0100",
            "5 Dec 2024 00:02:10 +0100",
            "  Thu,  5 Dec 2024\r\n 00:02:10 +0100 (CET)",
            "thu, 05 DEC 2024 00:02:10 +01:00",
            "Thursday, 5 December 2024 00:02:10 +0100",
            "Thu, 5 Dec 24 00:02:10 +0100",
            "Thu, 5 Dec 2024 00:02:10 CET",
            "Wed, 4 Dec 2024 23:02:10 GMT",
            "Wed, 4 Dec 2024 23:02:10 UT",
            "Wed, 4 Dec 2024 23:02:10 -0000",
            "Wed, 4 Dec 2024 23:02:10",
            "Wed Dec  4 23:02:10 2024",
            "2024-12-05T00:02:10+01:00",
        ] {
            let got = parse_rfc5322_date(s).unwrap_or_else(|e| panic!("{s:?}: {e}"));
            assert_eq!(got, want, "{s:?}");
        }
        assert_eq!(
            parse_rfc5322_date("Mon, 1 Jan 99 00:00 EST").unwrap().to_rfc3339(),
            "1999-01-01T00:00:00-05:00"
        );
        for s in [
            "",
            "garbage",
            "Thu, 32 Dec 2024 00:02:10 +0100",
            "Thu, 5 Foo 2024 00:02:10 +0100",
            "Thu, 5 Dec 2024 25:02:10 +0100",
            "Thu, 5 Dec 2024 00:02:10 +9999",
            "Thu, 5 Dec 2024",
            "1 2 3 4 5 6 7 8 9 10 11 12 13 14 15",
        ] {
            assert!(parse_rfc5322_date(s).is_err(), "{s:?}");
        }
    }
}
