//! Newtypes shared by every cluster: time, addresses, attribute and cluster ids, status codes.

use crate::field::{newtype, Field};
use crate::wire::{Reader, Writer};
use crate::Result;
use core::fmt;

newtype! {
    /// ZCL UTCTime (data type 0xE2): seconds since 2000-01-01 00:00:00 UTC (ZCL §2.5.2.21).
    /// In SE start-time fields, [`UtcTime::NOW`] (0) means "start now" (se10.md §10).
    pub struct UtcTime(u32);
}

impl UtcTime {
    /// Start-time value meaning "now" in Price, DRLC and Messaging commands.
    pub const NOW: Self = Self(0);
    /// The ZCL invalid time.
    pub const INVALID: Self = Self(0xFFFF_FFFF);
    /// Seconds between the Unix epoch and the ZigBee epoch (2000-01-01).
    pub const UNIX_OFFSET: u64 = 946_684_800;

    /// Converts Unix seconds; `None` if before 2000 or beyond the 32-bit range.
    pub fn from_unix(secs: u64) -> Option<Self> {
        secs.checked_sub(Self::UNIX_OFFSET).and_then(|s| u32::try_from(s).ok()).map(Self)
    }

    pub const fn to_unix(self) -> u64 {
        self.0 as u64 + Self::UNIX_OFFSET
    }
}

newtype! {
    /// ZCL attribute identifier (data type 0xE9).
    pub struct AttributeId(u16);
}

newtype! {
    /// ZCL cluster identifier (data type 0xE8).
    pub struct ClusterId(u16);
}

impl ClusterId {
    pub const BASIC: Self = Self(0x0000);
    pub const IDENTIFY: Self = Self(0x0003);
    pub const TIME: Self = Self(0x000A);
    pub const PRICE: Self = Self(0x0700);
    pub const DEMAND_RESPONSE_LOAD_CONTROL: Self = Self(0x0701);
    pub const METERING: Self = Self(0x0702);
    pub const MESSAGING: Self = Self(0x0703);
    pub const KEY_ESTABLISHMENT: Self = Self(0x0800);
}

/// Smart Energy application profile id (se10.md §2).
pub const SE_PROFILE_ID: u16 = 0x0109;

newtype! {
    /// ZCL enumerated status (ZCL §2.5.3; se10.md §1.6). Kept open: unknown values survive a
    /// round trip.
    pub struct Status(u8);
}

impl Status {
    pub const SUCCESS: Self = Self(0x00);
    pub const FAILURE: Self = Self(0x01);
    pub const NOT_AUTHORIZED: Self = Self(0x7E);
    pub const RESERVED_FIELD_NOT_ZERO: Self = Self(0x7F);
    pub const MALFORMED_COMMAND: Self = Self(0x80);
    pub const UNSUP_CLUSTER_COMMAND: Self = Self(0x81);
    pub const UNSUP_GENERAL_COMMAND: Self = Self(0x82);
    pub const UNSUP_MANUF_CLUSTER_COMMAND: Self = Self(0x83);
    pub const UNSUP_MANUF_GENERAL_COMMAND: Self = Self(0x84);
    pub const INVALID_FIELD: Self = Self(0x85);
    pub const UNSUPPORTED_ATTRIBUTE: Self = Self(0x86);
    pub const INVALID_VALUE: Self = Self(0x87);
    pub const READ_ONLY: Self = Self(0x88);
    pub const INSUFFICIENT_SPACE: Self = Self(0x89);
    pub const DUPLICATE_EXISTS: Self = Self(0x8A);
    pub const NOT_FOUND: Self = Self(0x8B);
    pub const UNREPORTABLE_ATTRIBUTE: Self = Self(0x8C);
    pub const INVALID_DATA_TYPE: Self = Self(0x8D);
    pub const INVALID_SELECTOR: Self = Self(0x8E);
    pub const WRITE_ONLY: Self = Self(0x8F);
    pub const INCONSISTENT_STARTUP_STATE: Self = Self(0x90);
    pub const DEFINED_OUT_OF_BAND: Self = Self(0x91);
    pub const INCONSISTENT: Self = Self(0x92);
    pub const ACTION_DENIED: Self = Self(0x93);
    pub const TIMEOUT: Self = Self(0x94);
    pub const ABORT: Self = Self(0x95);
    pub const INVALID_IMAGE: Self = Self(0x96);
    pub const WAIT_FOR_DATA: Self = Self(0x97);
    pub const NO_IMAGE_AVAILABLE: Self = Self(0x98);
    pub const REQUIRE_MORE_IMAGE: Self = Self(0x99);
    pub const NOTIFICATION_PENDING: Self = Self(0x9A);
    pub const HARDWARE_FAILURE: Self = Self(0xC0);
    pub const SOFTWARE_FAILURE: Self = Self(0xC1);
    pub const CALIBRATION_ERROR: Self = Self(0xC2);
    pub const UNSUPPORTED_CLUSTER: Self = Self(0xC3);

    /// The specification's name for a status, if it has one.
    pub const fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            0x00 => "SUCCESS",
            0x01 => "FAILURE",
            0x7E => "NOT_AUTHORIZED",
            0x7F => "RESERVED_FIELD_NOT_ZERO",
            0x80 => "MALFORMED_COMMAND",
            0x81 => "UNSUP_CLUSTER_COMMAND",
            0x82 => "UNSUP_GENERAL_COMMAND",
            0x83 => "UNSUP_MANUF_CLUSTER_COMMAND",
            0x84 => "UNSUP_MANUF_GENERAL_COMMAND",
            0x85 => "INVALID_FIELD",
            0x86 => "UNSUPPORTED_ATTRIBUTE",
            0x87 => "INVALID_VALUE",
            0x88 => "READ_ONLY",
            0x89 => "INSUFFICIENT_SPACE",
            0x8A => "DUPLICATE_EXISTS",
            0x8B => "NOT_FOUND",
            0x8C => "UNREPORTABLE_ATTRIBUTE",
            0x8D => "INVALID_DATA_TYPE",
            0x8E => "INVALID_SELECTOR",
            0x8F => "WRITE_ONLY",
            0x90 => "INCONSISTENT_STARTUP_STATE",
            0x91 => "DEFINED_OUT_OF_BAND",
            0x92 => "INCONSISTENT",
            0x93 => "ACTION_DENIED",
            0x94 => "TIMEOUT",
            0x95 => "ABORT",
            0x96 => "INVALID_IMAGE",
            0x97 => "WAIT_FOR_DATA",
            0x98 => "NO_IMAGE_AVAILABLE",
            0x99 => "REQUIRE_MORE_IMAGE",
            0x9A => "NOTIFICATION_PENDING",
            0xC0 => "HARDWARE_FAILURE",
            0xC1 => "SOFTWARE_FAILURE",
            0xC2 => "CALIBRATION_ERROR",
            0xC3 => "UNSUPPORTED_CLUSTER",
            _ => return None,
        })
    }
}

/// An IEEE 802.15.4 extended address (EUI-64). Held as the numeric value; on the air it is
/// little-endian, in text it is printed most-significant byte first (`00:0D:6F:...` → `000d6f...`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Eui64(pub u64);

impl Eui64 {
    /// Bytes in on-air (little-endian) order.
    pub const fn to_le_bytes(self) -> [u8; 8] {
        self.0.to_le_bytes()
    }

    /// Parses 16 hex digits, with or without `:`/`-`/space separators (as printed on labels).
    pub fn parse_text(text: &str) -> Option<Self> {
        let mut v: u64 = 0;
        let mut digits = 0;
        for c in text.bytes() {
            if matches!(c, b':' | b'-' | b' ' | b'.') {
                continue;
            }
            v = (v << 4) | u64::from(crate::hex::nibble(c)?);
            digits += 1;
            if digits > 16 {
                return None;
            }
        }
        (digits == 16).then_some(Self(v))
    }
}

impl fmt::Display for Eui64 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

impl fmt::Debug for Eui64 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Eui64({self})")
    }
}

impl Field for Eui64 {
    const LEN: usize = 8;
    const ZERO: Self = Self(0);
    fn read(r: &mut Reader<'_>, field: &'static str) -> Result<Self> {
        r.u64(field).map(Self)
    }
    fn write(self, w: &mut Writer<'_>, field: &'static str) -> Result<()> {
        w.u64(self.0, field)
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for Eui64 {
    fn serialize<S: serde::Serializer>(&self, s: S) -> core::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for Eui64 {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> core::result::Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Eui64;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an EUI-64 as 16 hex digits")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> core::result::Result<Eui64, E> {
                Eui64::parse_text(v)
                    .ok_or_else(|| E::invalid_value(serde::de::Unexpected::Str(v), &self))
            }
        }
        d.deserialize_str(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eui64_text_forms() {
        let e = Eui64::parse_text("00:0D:6F:00:0A:BC:DE:F0").unwrap();
        assert_eq!(e.0, 0x000D_6F00_0ABC_DEF0);
        assert_eq!(e.to_le_bytes()[0], 0xF0);
        assert_eq!(Eui64::parse_text("000d6f000abcdef0"), Some(e));
        assert_eq!(Eui64::parse_text("000d6f000abcdef"), None);
        assert_eq!(Eui64::parse_text("000d6f000abcdef0aa"), None);
        assert_eq!(Eui64::parse_text("000d6f000abcdefz"), None);
    }

    #[test]
    fn utc_epoch() {
        assert_eq!(UtcTime::from_unix(946_684_800), Some(UtcTime(0)));
        assert_eq!(UtcTime::from_unix(0), None);
        assert_eq!(UtcTime(86_400).to_unix(), 946_771_200);
    }
}
