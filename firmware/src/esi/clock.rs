//! Time: the caller's monotonic [`Instant`], and the ESI's UTC clock (set by the host, advanced by
//! elapsed instants) that makes the ESI the HAN's time master (se10.md §2.2, §10 "Time").
//!
//! The core never reads a clock itself (sans-IO): every input carries `now`, and UTC is
//! `utc_at_set + (now − instant_at_set)`. All SE start times are UTCTime seconds since 2000; the
//! core keeps its schedules (prices, DR events, messages) in UTC seconds and converts a UTC
//! deadline back to an [`Instant`] only to answer `poll_timeout`.

use zse::cluster::time::TimeStatus;
use zse::zcl::UtcTime;

/// A point on the caller's monotonic clock, in milliseconds (any epoch; it only has to be
/// monotonic). The core never compares it with wall-clock time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Instant(pub u64);

impl Instant {
    pub const fn from_millis(ms: u64) -> Self {
        Self(ms)
    }

    pub const fn as_millis(self) -> u64 {
        self.0
    }

    /// `self + ms`, saturating (an instant never wraps).
    #[must_use]
    pub const fn add_millis(self, ms: u64) -> Self {
        Self(self.0.saturating_add(ms))
    }

    /// Milliseconds from `earlier` to `self`, 0 if `earlier` is later.
    pub const fn millis_since(self, earlier: Self) -> u64 {
        self.0.saturating_sub(earlier.0)
    }
}

impl From<u64> for Instant {
    /// Milliseconds on the caller's monotonic clock.
    fn from(ms: u64) -> Self {
        Self(ms)
    }
}

/// Daylight-saving rule for the Time cluster's DstStart/DstEnd/DstShift attributes (ZCL §3.12.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Dst {
    /// UTC time DST starts.
    pub start: UtcTime,
    /// UTC time DST ends.
    pub end: UtcTime,
    /// Seconds added to standard time during DST (−86400..=86400).
    pub shift: i32,
}

/// The host's time setting (`SetTime`): UTC now, time zone and optional DST rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TimeSetting {
    /// UTC now, seconds since 2000-01-01. 0 and 0xFFFFFFFF are refused.
    pub utc: UtcTime,
    /// Seconds east of UTC (−86400..=86400), Time cluster TimeZone.
    pub time_zone: i32,
    pub dst: Option<Dst>,
}

impl TimeSetting {
    /// UTC only, zone 0, no DST.
    pub const fn utc(utc: UtcTime) -> Self {
        Self { utc, time_zone: 0, dst: None }
    }

    /// Whether the values are within the Time cluster's ranges.
    pub fn is_valid(&self) -> bool {
        let zone_ok = (-86_400..=86_400).contains(&self.time_zone);
        let dst_ok = self.dst.is_none_or(|d| (-86_400..=86_400).contains(&d.shift));
        self.utc != UtcTime::NOW && self.utc != UtcTime::INVALID && zone_ok && dst_ok
    }
}

/// The ESI's UTC clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct Clock {
    /// (instant, UTC seconds) at the last `SetTime`; `None` until the host sets the time.
    base: Option<(Instant, u32)>,
    time_zone: i32,
    dst: Option<Dst>,
}

impl Clock {
    pub fn set(&mut self, now: Instant, setting: &TimeSetting) {
        self.base = Some((now, setting.utc.0));
        self.time_zone = setting.time_zone;
        self.dst = setting.dst;
    }

    pub fn is_set(&self) -> bool {
        self.base.is_some()
    }

    /// UTC seconds at `now`, `None` before the first `SetTime`.
    pub fn utc(&self, now: Instant) -> Option<u32> {
        let (at, utc) = self.base?;
        let elapsed = now.millis_since(at) / 1000;
        Some(u64::from(utc).saturating_add(elapsed).min(u64::from(u32::MAX - 1)) as u32)
    }

    /// The first instant at which `utc(instant) >= utc`; `None` if the clock is not set.
    pub fn instant_of(&self, utc: u32) -> Option<Instant> {
        let (at, base) = self.base?;
        let secs = u64::from(utc.saturating_sub(base));
        Some(at.add_millis(secs.saturating_mul(1000)))
    }

    /// Time cluster TimeStatus: Master and MasterZoneDst once the host has set the time, nothing
    /// before (an unsynchronised ESI must not claim to be master; se10.md §2.2).
    pub fn time_status(&self) -> TimeStatus {
        if self.is_set() {
            TimeStatus(TimeStatus::MASTER | TimeStatus::MASTER_ZONE_DST)
        } else {
            TimeStatus(0)
        }
    }

    /// The time at the last `SetTime` (Time cluster LastSetTime).
    pub fn last_set(&self) -> Option<u32> {
        self.base.map(|(_, utc)| utc)
    }

    pub fn time_zone(&self) -> i32 {
        self.time_zone
    }

    pub fn dst(&self) -> Option<Dst> {
        self.dst
    }

    /// StandardTime = Time + TimeZone.
    pub fn standard_time(&self, now: Instant) -> Option<u32> {
        self.utc(now).map(|t| t.saturating_add_signed(self.time_zone))
    }

    /// LocalTime = StandardTime + DstShift while DST is in force.
    pub fn local_time(&self, now: Instant) -> Option<u32> {
        let utc = self.utc(now)?;
        let standard = utc.saturating_add_signed(self.time_zone);
        Some(match self.dst {
            Some(d) if (d.start.0..d.end.0).contains(&utc) => {
                standard.saturating_add_signed(d.shift)
            }
            _ => standard,
        })
    }
}

/// End of an SE event in UTC seconds: `start + minutes·60`, or `u32::MAX` for "until changed"
/// when `until_changed` says 0xFFFF means that (Price, Messaging; not DRLC).
pub fn end_of(start: u32, duration_in_minutes: u16, until_changed: bool) -> u32 {
    if until_changed && duration_in_minutes == 0xFFFF {
        u32::MAX
    } else {
        start.saturating_add(u32::from(duration_in_minutes) * 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_advances_with_instants_and_maps_back() {
        let mut c = Clock::default();
        assert_eq!(c.utc(Instant(5)), None);
        assert_eq!(c.time_status(), TimeStatus(0));
        c.set(Instant(10_000), &TimeSetting::utc(UtcTime(1000)));
        assert_eq!(c.utc(Instant(10_000)), Some(1000));
        assert_eq!(c.utc(Instant(10_999)), Some(1000));
        assert_eq!(c.utc(Instant(11_000)), Some(1001));
        assert_eq!(c.instant_of(1001), Some(Instant(11_000)));
        assert_eq!(c.instant_of(10), Some(Instant(10_000)));
        assert_eq!(c.time_status().0, 0x05);
    }

    #[test]
    fn local_time_applies_zone_and_dst() {
        let mut c = Clock::default();
        let dst = Dst { start: UtcTime(50_000), end: UtcTime(200_000), shift: 3600 };
        c.set(Instant(0), &TimeSetting { utc: UtcTime(100_000), time_zone: -7200, dst: Some(dst) });
        assert_eq!(c.standard_time(Instant(0)), Some(92_800));
        assert_eq!(c.local_time(Instant(0)), Some(96_400));
        assert_eq!(c.local_time(Instant(100_000_000)), Some(192_800));
        assert!(!TimeSetting::utc(UtcTime::NOW).is_valid());
        assert!(!TimeSetting { utc: UtcTime(5), time_zone: 90_000, dst: None }.is_valid());
    }
}
