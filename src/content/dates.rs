//! Validity dates: RFC 3339 dates or date-times.
//!
//! A bare date means midnight in the knowledge base's home time zone (UTC+8 by default,
//! where most of our users are), because "expires 2027-01-01" means the start of that
//! day for the people who wrote it. Export writes such a value back as a bare date, so
//! files round-trip unchanged.

use chrono::{DateTime, FixedOffset, NaiveDate, Offset, TimeZone, Utc};

/// The offset used for bare dates.
pub fn home_offset() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).unwrap_or_else(|| Utc.fix())
}

pub fn parse(s: &str) -> Result<DateTime<Utc>, String> {
    let s = s.trim();
    if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        return Ok(dt.with_timezone(&Utc));
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        let local = d.and_hms_opt(0, 0, 0).ok_or("invalid date")?;
        return home_offset()
            .from_local_datetime(&local)
            .single()
            .map(|dt| dt.with_timezone(&Utc))
            .ok_or_else(|| format!("'{s}' is not a valid date"));
    }
    Err(format!(
        "'{s}' is not a date (2026-01-01) or an RFC 3339 date-time (2026-01-01T09:00:00+08:00)"
    ))
}

/// The shortest text that parses back to the same instant.
pub fn format(t: DateTime<Utc>) -> String {
    let local = t.with_timezone(&home_offset());
    if local.time() == chrono::NaiveTime::MIN {
        local.format("%Y-%m-%d").to_string()
    } else {
        t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        for s in ["2026-01-01", "2026-01-01T09:30:00Z", "2027-03-31"] {
            assert_eq!(format(parse(s).unwrap()), s);
        }
        assert_eq!(
            parse("2026-01-01").unwrap(),
            parse("2025-12-31T16:00:00Z").unwrap()
        );
        assert!(parse("next tuesday").is_err());
    }
}
