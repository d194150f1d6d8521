//! Times on the API: RFC 3339 in UTC (`2026-03-01T17:00:00Z`, offsets accepted on input) or
//! `"now"` (design.md §7), and ZigBee UTCTime on the host link (seconds since
//! 2000-01-01T00:00:00Z; se10.md §1.5).

use crate::error::{ApiError, ErrorCode};
use crate::model::Timestamp;

/// Unix seconds of the ZigBee epoch (2000-01-01T00:00:00Z).
pub const ZIGBEE_EPOCH_UNIX: u64 = 946_684_800;

/// ZigBee UTCTime of a timestamp (saturating; 0 before 2000 means "now" on the wire, so callers
/// validate times before converting).
pub fn to_utc_time(t: Timestamp) -> u32 {
    u32::try_from((t.0 / 1000).saturating_sub(ZIGBEE_EPOCH_UNIX)).unwrap_or(u32::MAX)
}

/// The timestamp of a ZigBee UTCTime.
pub fn from_utc_time(utc: u32) -> Timestamp {
    Timestamp((u64::from(utc) + ZIGBEE_EPOCH_UNIX) * 1000)
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
#[allow(clippy::many_single_char_names)]
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Civil date of days since 1970-01-01.
#[allow(clippy::many_single_char_names)]
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// RFC 3339 in UTC with a `Z`, whole seconds unless there are milliseconds.
#[allow(clippy::many_single_char_names)]
pub fn format_rfc3339(t: Timestamp) -> String {
    let secs = (t.0 / 1000) as i64;
    let ms = t.0 % 1000;
    let (y, mo, d) = civil_from_days(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400);
    let (h, mi, s) = (sod / 3600, sod % 3600 / 60, sod % 60);
    if ms == 0 {
        format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
    } else {
        format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{ms:03}Z")
    }
}

fn bad_time(field: &str) -> ApiError {
    ApiError::new(
        ErrorCode::InvalidTime,
        format!("{field}: expected an RFC 3339 time such as 2026-03-01T17:00:00Z, or \"now\""),
    )
}

fn digits(s: &str, field: &str) -> Result<u32, ApiError> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad_time(field));
    }
    s.parse().map_err(|_| bad_time(field))
}

#[allow(clippy::many_single_char_names)]
/// Parses RFC 3339 (`YYYY-MM-DDTHH:MM:SS[.fff](Z|±HH:MM)`, `t`/space accepted as separator).
/// `field` names the request field in the error.
pub fn parse_rfc3339(text: &str, field: &str) -> Result<Timestamp, ApiError> {
    let t = text.trim();
    let bad = || bad_time(field);
    let (date, rest) = t.split_at_checked(10).ok_or_else(bad)?;
    let mut sep_rest = rest.chars();
    if !matches!(sep_rest.next(), Some('T' | 't' | ' ')) {
        return Err(bad());
    }
    let rest = sep_rest.as_str();
    let (y, mo, d) = match date.split('-').collect::<Vec<_>>().as_slice() {
        [y, m, d] if y.len() == 4 && m.len() == 2 && d.len() == 2 => {
            (digits(y, field)?, digits(m, field)?, digits(d, field)?)
        }
        _ => return Err(bad()),
    };
    let (clock, zone) = match rest.find(['Z', 'z', '+', '-']) {
        Some(i) => rest.split_at(i),
        None => return Err(bad()),
    };
    let (hms, frac) = clock.split_once('.').unwrap_or((clock, ""));
    let (h, mi, s) = match hms.split(':').collect::<Vec<_>>().as_slice() {
        [h, m, s] if h.len() == 2 && m.len() == 2 && s.len() == 2 => {
            (digits(h, field)?, digits(m, field)?, digits(s, field)?)
        }
        _ => return Err(bad()),
    };
    let ms = if frac.is_empty() {
        0
    } else {
        let f3: String = frac.chars().chain("000".chars()).take(3).collect();
        if !frac.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        digits(&f3, field)?
    };
    let offset_s: i64 = match zone {
        "Z" | "z" => 0,
        z => {
            let sign = if z.starts_with('-') { -1 } else { 1 };
            let (oh, om) = z.get(1..).and_then(|x| x.split_once(':')).ok_or_else(bad)?;
            if oh.len() != 2 || om.len() != 2 {
                return Err(bad());
            }
            sign * i64::from(digits(oh, field)? * 3600 + digits(om, field)? * 60)
        }
    };
    let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    let month_days = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    let max_day = month_days.get((mo as usize).wrapping_sub(1)).copied().ok_or_else(bad)?;
    if d == 0 || d > max_day || h > 23 || mi > 59 || s > 60 {
        return Err(bad());
    }
    let days = days_from_civil(i64::from(y), mo, d);
    let secs = days * 86_400 + i64::from(h * 3600 + mi * 60 + s.min(59)) - offset_s;
    let secs = u64::try_from(secs).map_err(|_| bad())?;
    Ok(Timestamp(secs * 1000 + u64::from(ms)))
}

/// A start time on the API: absent or `"now"` → `None` (ZigBee 0 = now), else the time.
pub fn parse_start(text: Option<&str>, field: &str) -> Result<Option<Timestamp>, ApiError> {
    match text.map(str::trim) {
        None => Ok(None),
        Some(t) if t.eq_ignore_ascii_case("now") => Ok(None),
        Some(t) => parse_rfc3339(t, field).map(Some),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_round_trip_and_known_values() {
        let t = parse_rfc3339("2026-01-01T00:00:00Z", "t").unwrap();
        assert_eq!(t, Timestamp(1_767_225_600_000));
        assert_eq!(to_utc_time(t), 820_540_800, "docs/host-link.md worked example");
        assert_eq!(from_utc_time(820_540_800), t);
        assert_eq!(format_rfc3339(t), "2026-01-01T00:00:00Z");
        let t2 = parse_rfc3339("2024-02-29T23:59:59.5+02:00", "t").unwrap();
        assert_eq!(format_rfc3339(t2), "2024-02-29T21:59:59.500Z");
        assert_eq!(format_rfc3339(Timestamp(0)), "1970-01-01T00:00:00Z");
        for ms in [0u64, 951_782_400_000, 1_700_000_000_123, 4_102_444_800_000] {
            let s = format_rfc3339(Timestamp(ms));
            assert_eq!(parse_rfc3339(&s, "t").unwrap(), Timestamp(ms), "{s}");
        }
    }

    #[test]
    fn bad_times_are_invalid_time_naming_the_field() {
        for bad in [
            "",
            "tomorrow",
            "2026-13-01T00:00:00Z",
            "2026-02-30T00:00:00Z",
            "2025-02-29T00:00:00Z",
            "2026-01-01T24:00:00Z",
            "2026-01-01T00:00:00",
            "2026-01-01 00:00Z",
            "2026-1-01T00:00:00Z",
            "1969-12-31T23:59:59Z",
            "2026-01-01T00:00:00+0200",
            "2026-01-01T00:00:00.x1Z",
        ] {
            let e = parse_rfc3339(bad, "start_time").unwrap_err();
            assert_eq!(e.code, ErrorCode::InvalidTime, "{bad}");
            assert!(e.message.starts_with("start_time"), "{bad}");
        }
        assert_eq!(parse_start(Some("now"), "s").unwrap(), None);
        assert_eq!(parse_start(None, "s").unwrap(), None);
    }
}
