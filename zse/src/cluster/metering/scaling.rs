//! From raw metered values to engineering units (SE 1.0 §D.3.2.2.4; se10.md §6.4), in integer
//! arithmetic only: `value = raw × Multiplier / Divisor`, rendered with the Formatting byte.
//!
//! The gateway reports kWh with exactly three decimals (BR-001.011), so [`Scaling::milli_units`]
//! gives the value × 1000 as an integer; [`Scaling::display`] renders the value the way a meter
//! display would. Intermediates are `u128`: a uint48 raw value × a uint24 multiplier × 10⁷ (the
//! most fractional digits a Formatting byte can ask for) is below 2⁹⁶, and even a full `i64` raw
//! value × `u32` multiplier × 10⁷ stays below 2¹¹⁹, so nothing can wrap.

use crate::field::newtype;
use core::fmt;

newtype! {
    /// SummationFormatting / DemandFormatting / HistoricalConsumptionFormatting, bitmap8
    /// (SE 1.0 §D.3.2.2.4.4–6; se10.md §6.4). Display-only: it never changes the stored value.
    pub struct Formatting(u8);
}

impl Formatting {
    /// Bits 0–2: digits to the right of the decimal point (0–7).
    pub const DIGITS_RIGHT_MASK: u8 = 0x07;
    /// Bits 3–6: digits to the left of the decimal point (0–15).
    pub const DIGITS_LEFT_MASK: u8 = 0x78;
    /// Bit 7: suppress leading zeros.
    pub const SUPPRESS_LEADING_ZEROS: u8 = 0x80;

    /// Builds a formatting byte; `left` is masked to 4 bits and `right` to 3.
    pub const fn new(left: u8, right: u8, suppress_leading_zeros: bool) -> Self {
        let mut v = ((left << 3) & Self::DIGITS_LEFT_MASK) | (right & Self::DIGITS_RIGHT_MASK);
        if suppress_leading_zeros {
            v |= Self::SUPPRESS_LEADING_ZEROS;
        }
        Self(v)
    }

    pub const fn digits_right(self) -> u8 {
        self.0 & Self::DIGITS_RIGHT_MASK
    }

    pub const fn digits_left(self) -> u8 {
        (self.0 & Self::DIGITS_LEFT_MASK) >> 3
    }

    pub const fn suppress_leading_zeros(self) -> bool {
        self.0 & Self::SUPPRESS_LEADING_ZEROS != 0
    }
}

/// The Formatting-set attributes needed to turn a raw reading into engineering units:
/// Multiplier (0x0301), Divisor (0x0302) and one of the Formatting bytes (0x0303–0x0305).
///
/// Multiplier and Divisor are uint24 on the air; any `u32` is accepted here. A meter that does
/// not implement them is read as Multiplier = Divisor = 1 ([`Scaling::default`]). The raw value
/// is an `i64` so that both uint48 summations (`Uint48.0 as i64`, lossless) and the signed int24
/// InstantaneousDemand fit. BCD units ([`super::UnitOfMeasure::is_bcd`]) must be decoded first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Scaling {
    pub multiplier: u32,
    /// 0 is not allowed by the specification; every conversion returns `None` for it.
    pub divisor: u32,
    pub formatting: Formatting,
}

impl Default for Scaling {
    fn default() -> Self {
        Self::UNITY
    }
}

impl Scaling {
    /// Multiplier 1, Divisor 1, no fractional digits.
    pub const UNITY: Self = Self { multiplier: 1, divisor: 1, formatting: Formatting(0) };

    pub const fn new(multiplier: u32, divisor: u32, formatting: Formatting) -> Self {
        Self { multiplier, divisor, formatting }
    }

    /// `|raw| × multiplier × 10^decimals / divisor`, rounded half up on the magnitude (ties go
    /// away from zero). `None` if the divisor is 0 or the product does not fit in `u128`.
    fn magnitude(&self, raw: i64, decimals: u32) -> Option<u128> {
        if self.divisor == 0 {
            return None;
        }
        let num = u128::from(raw.unsigned_abs())
            .checked_mul(u128::from(self.multiplier))?
            .checked_mul(10u128.checked_pow(decimals)?)?;
        let div = u128::from(self.divisor);
        let (q, r) = (num / div, num % div);
        // r < div, so `2r >= div` is `r >= div - r` without overflow; q + 1 cannot wrap because
        // a remainder exists only when div > 1, which makes q < u128::MAX.
        Some(if r >= div - r { q + 1 } else { q })
    }

    /// The value in engineering units × 10^`decimals`, rounded half up on the magnitude (a
    /// negative demand rounds like its positive mirror: −0.0005 kW → −0.001 at 3 decimals).
    /// `None` if the divisor is 0 or the result does not fit.
    pub fn scaled(&self, raw: i64, decimals: u32) -> Option<i128> {
        let m = i128::try_from(self.magnitude(raw, decimals)?).ok()?;
        Some(if raw < 0 { -m } else { m })
    }

    /// The value in engineering units × 1000, rounded half up on the magnitude: for kWh this is
    /// Wh, which the gateway publishes as kWh with exactly three decimals (BR-001.011).
    /// Example: raw 123456, Multiplier 1, Divisor 1000 → 123456 (123.456 kWh).
    /// `None` if the divisor is 0 or the result does not fit in an `i64`.
    pub fn milli_units(&self, raw: i64) -> Option<i64> {
        self.scaled(raw, 3).and_then(|v| i64::try_from(v).ok())
    }

    /// A [`fmt::Display`] adapter rendering the value with the Formatting byte's
    /// digits-right (rounded half up on the magnitude) and its leading-zero rule. `None` if the
    /// divisor is 0.
    pub fn display(&self, raw: i64) -> Option<ScaledValue> {
        let magnitude = self.magnitude(raw, u32::from(self.formatting.digits_right()))?;
        Some(ScaledValue { negative: raw < 0, magnitude, formatting: self.formatting })
    }
}

/// A scaled value ready to print (see [`Scaling::display`]); needs no allocation.
///
/// * Digits right: exactly that many fractional digits; no decimal point when 0.
/// * Leading zeros: unless suppressed, the integer part is zero-padded to digits-left. With
///   suppression (or digits-left 0) one integer digit is still printed ("0.500").
/// * Digits left never truncates: an integer part wider than digits-left is printed in full,
///   because dropping high digits would report a wrong reading.
/// * A negative value that rounds to zero prints without a sign.
///
/// Example: raw 123456, Multiplier 1, Divisor 1000, formatting 0xAB → "123.456"; formatting
/// 0x2B → "00123.456".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ScaledValue {
    negative: bool,
    magnitude: u128,
    formatting: Formatting,
}

impl ScaledValue {
    /// `|value| × 10^digits_right`, rounded.
    pub const fn magnitude(&self) -> u128 {
        self.magnitude
    }

    /// Whether the value is below zero after rounding.
    pub const fn is_negative(&self) -> bool {
        self.negative && self.magnitude != 0
    }
}

impl fmt::Display for ScaledValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let right = u32::from(self.formatting.digits_right());
        let pow = 10u128.pow(right); // right ≤ 7
        let (int, frac) = (self.magnitude / pow, self.magnitude % pow);
        if self.is_negative() {
            f.write_str("-")?;
        }
        let width = if self.formatting.suppress_leading_zeros() {
            1
        } else {
            usize::from(self.formatting.digits_left()).max(1)
        };
        write!(f, "{int:0width$}")?;
        if right > 0 {
            write!(f, ".{frac:0rw$}", rw = right as usize)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use crate::cluster::metering::{attr, UnitOfMeasure};
    use crate::field::{Int24, Uint24, Uint48};
    use crate::wire::Reader;
    use crate::zcl::{DataType, Value};
    use std::string::ToString;

    const KWH_3: Scaling = Scaling::new(1, 1000, Formatting(0xAB));

    #[test]
    fn formatting_bits() {
        let f = Formatting(0xAB);
        assert_eq!((f.digits_left(), f.digits_right(), f.suppress_leading_zeros()), (5, 3, true));
        assert_eq!(Formatting::new(5, 3, true), f);
        assert_eq!(Formatting::new(5, 3, false), Formatting(0x2B));
        assert_eq!(Formatting::new(15, 7, true), Formatting(0xFF));
    }

    /// The gateway's path: a Read Attributes Response for the summation and the Formatting set,
    /// written by hand from the ZCL record layout, decoded and scaled.
    #[test]
    fn read_attributes_response_example() {
        #[rustfmt::skip]
        let payload = [
            0x00, 0x00, 0x00, 0x25, 0x40, 0xE2, 0x01, 0x00, 0x00, 0x00, // summation: uint48 123456
            0x00, 0x03, 0x00, 0x30, 0x00,                               // unit: enum8 kWh
            0x01, 0x03, 0x00, 0x22, 0x01, 0x00, 0x00,                   // multiplier: uint24 1
            0x02, 0x03, 0x00, 0x22, 0xE8, 0x03, 0x00,                   // divisor: uint24 1000
            0x03, 0x03, 0x00, 0x18, 0xAB,                               // summation formatting
        ];
        let mut r = Reader::new(&payload);
        let (mut raw, mut unit, mut mult, mut div, mut fmt) = (None, None, None, None, None);
        while !r.is_empty() {
            let id = r.u16("attribute_id").unwrap();
            assert_eq!(r.u8("status").unwrap(), 0);
            let ty = DataType(r.u8("data_type").unwrap());
            let def = attr::ATTRIBUTES.iter().find(|a| a.id == id).unwrap();
            assert_eq!(def.data_type, ty, "{}", def.name);
            match (id, Value::read(ty, &mut r).unwrap()) {
                (attr::CURRENT_SUMMATION_DELIVERED, Value::Uint48(Uint48(v))) => raw = Some(v),
                (attr::UNIT_OF_MEASURE, Value::Enum8(v)) => unit = Some(UnitOfMeasure(v)),
                (attr::MULTIPLIER, Value::Uint24(Uint24(v))) => mult = Some(v),
                (attr::DIVISOR, Value::Uint24(Uint24(v))) => div = Some(v),
                (attr::SUMMATION_FORMATTING, Value::Bitmap8(v)) => fmt = Some(Formatting(v)),
                other => panic!("unexpected {other:?}"),
            }
        }
        let scaling = Scaling::new(mult.unwrap(), div.unwrap(), fmt.unwrap());
        let raw = raw.unwrap() as i64;
        assert_eq!(raw, 123_456);
        assert_eq!(scaling.milli_units(raw), Some(123_456));
        let text = scaling.display(raw).unwrap().to_string();
        assert_eq!(std::format!("{text} {}", unit.unwrap().unit_name().unwrap()), "123.456 kWh");
    }

    #[test]
    fn leading_zero_rule() {
        let padded = Scaling { formatting: Formatting(0x2B), ..KWH_3 };
        assert_eq!(padded.display(123_456).unwrap().to_string(), "00123.456");
        assert_eq!(padded.display(5).unwrap().to_string(), "00000.005");
        assert_eq!(KWH_3.display(5).unwrap().to_string(), "0.005");
        // Left digits never hide high digits.
        assert_eq!(padded.display(123_456_789_000).unwrap().to_string(), "123456789.000");
        // No fractional digits: no decimal point; rounding to the unit.
        let whole = Scaling::new(1, 1000, Formatting::new(3, 0, false));
        assert_eq!(whole.display(1_499).unwrap().to_string(), "001");
        assert_eq!(whole.display(1_500).unwrap().to_string(), "002");
        // Left digits 0 without suppression still prints one integer digit.
        let bare = Scaling::new(1, 10, Formatting::new(0, 1, false));
        assert_eq!(bare.display(5).unwrap().to_string(), "0.5");
    }

    #[test]
    fn more_fractional_digits_than_the_divisor_gives() {
        let s = Scaling::new(3, 10, Formatting::new(0, 7, true));
        assert_eq!(s.display(1).unwrap().to_string(), "0.3000000");
        assert_eq!(s.milli_units(1), Some(300));
    }

    #[test]
    fn rounding_half_up() {
        let s = |d| Scaling::new(1, d, Formatting(0));
        assert_eq!(s(2000).milli_units(1), Some(1)); // 0.0005 → 0.001
        assert_eq!(s(3000).milli_units(1), Some(0)); // 0.000333…
        assert_eq!(s(3000).milli_units(2), Some(1)); // 0.000666…
        assert_eq!(s(10_000).milli_units(1234), Some(123)); // 0.1234
        assert_eq!(s(10_000).milli_units(1235), Some(124)); // 0.1235
        assert_eq!(s(10_000).milli_units(1236), Some(124));
        // Multiplier applies before the division: 7 × 3 / 7000 = 0.003 exactly.
        assert_eq!(Scaling::new(3, 7000, Formatting(0)).milli_units(7), Some(3));
        assert_eq!(Scaling::new(0, 7, Formatting(0)).milli_units(123), Some(0));
    }

    #[test]
    fn negative_demand() {
        // InstantaneousDemand int24 0xFFFA24 = −1500, DemandFormatting 3 right digits.
        let raw = i64::from(sign(&[0x24, 0xFA, 0xFF]));
        assert_eq!(raw, -1500);
        let demand = Scaling::new(1, 1000, Formatting::new(4, 3, true));
        assert_eq!(demand.milli_units(raw), Some(-1500));
        assert_eq!(demand.display(raw).unwrap().to_string(), "-1.500");
        let padded = Scaling { formatting: Formatting::new(4, 3, false), ..demand };
        assert_eq!(padded.display(raw).unwrap().to_string(), "-0001.500");
        // Ties round away from zero, like their positive mirror.
        let fine = Scaling::new(1, 2000, Formatting::new(1, 3, true));
        assert_eq!(fine.milli_units(-1), Some(-1));
        assert_eq!(fine.display(-1).unwrap().to_string(), "-0.001");
        // A negative value rounding to zero prints without a sign.
        let tiny = Scaling::new(1, 1_000_000, Formatting::new(1, 3, true));
        assert_eq!(tiny.milli_units(-1), Some(0));
        assert_eq!(tiny.display(-1).unwrap().to_string(), "0.000");
        assert!(!tiny.display(-1).unwrap().is_negative());
        // The int24 extremes.
        assert_eq!(Scaling::UNITY.milli_units(i64::from(Int24::MIN)), Some(-8_388_608_000));
        assert_eq!(Scaling::UNITY.milli_units(i64::from(Int24::MAX)), Some(8_388_607_000));
    }

    fn sign(b: &[u8]) -> i32 {
        use crate::field::Field;
        Int24::read(&mut Reader::new(b), "x").unwrap().0
    }

    #[test]
    fn divisor_zero_is_none() {
        let s = Scaling::new(1, 0, Formatting(0xAB));
        assert_eq!(s.milli_units(1), None);
        assert_eq!(s.display(1), None);
        assert_eq!(s.scaled(0, 0), None);
    }

    #[test]
    fn overflow_edges() {
        let max48 = Uint48::MAX as i64;
        let max24 = Uint24::MAX;
        // max uint48 × max uint24 × 1000 ≈ 4.7e24 does not fit an i64 …
        let big = Scaling::new(max24, 1, Formatting::new(15, 7, true));
        assert_eq!(big.milli_units(max48), None);
        // … but is exact in the wider forms.
        let exact = i128::from(max48) * i128::from(max24);
        assert_eq!(big.scaled(max48, 3), Some(exact * 1000));
        assert_eq!(big.display(max48).unwrap().to_string(), std::format!("{exact}.0000000"));
        // Divided back down it fits again.
        let back = Scaling::new(max24, max24, Formatting(0));
        assert_eq!(back.milli_units(max48), Some(max48 * 1000));
        // Even the widest inputs the API accepts do not wrap.
        let wild = Scaling::new(u32::MAX, 1, Formatting(0x07));
        let m = i128::from(i64::MIN) * i128::from(u32::MAX) * 10_000_000;
        assert_eq!(wild.scaled(i64::MIN, 7), Some(m));
        assert_eq!(wild.milli_units(i64::MIN), None);
        assert!(wild.display(i64::MIN).is_some());
        assert_eq!(wild.scaled(i64::MAX, 40), None);
    }
}

#[cfg(test)]
mod proptests {
    extern crate std;
    use super::*;
    use proptest::prelude::*;
    use std::string::ToString;

    /// Independent reference: signed i128 arithmetic, ties away from zero.
    fn reference(raw: i64, mult: u32, div: u32) -> Option<i64> {
        if div == 0 {
            return None;
        }
        let n = i128::from(raw) * i128::from(mult) * 1000;
        let d = i128::from(div);
        let (q, r) = (n / d, n % d);
        let q = if 2 * r.abs() >= d { q + n.signum() } else { q };
        i64::try_from(q).ok()
    }

    fn raw_value() -> impl Strategy<Value = i64> {
        prop_oneof![
            -(1i64 << 23)..(1i64 << 23), // int24 demand
            0i64..(1i64 << 48),          // uint48 summation
            Just((1i64 << 48) - 1),
            Just(-(1i64 << 23)),
        ]
    }

    fn uint24() -> impl Strategy<Value = u32> {
        prop_oneof![0u32..=0xFF_FFFF, 0u32..=16, Just(0xFF_FFFF), Just(1000)]
    }

    proptest! {
        #[test]
        fn milli_units_matches_i128_reference(raw in raw_value(), mult in uint24(), div in uint24()) {
            let s = Scaling::new(mult, div, Formatting(0));
            prop_assert_eq!(s.milli_units(raw), reference(raw, mult, div));
        }

        #[test]
        fn display_with_three_digits_agrees_with_milli(
            raw in raw_value(), mult in 0u32..=1000, div in 1u32..=0xFF_FFFF,
        ) {
            let s = Scaling::new(mult, div, Formatting::new(0, 3, true));
            let text = s.display(raw).unwrap().to_string();
            if let Some(m) = s.milli_units(raw) {
                let sign = if m < 0 { "-" } else { "" };
                let a = m.unsigned_abs();
                prop_assert_eq!(text, std::format!("{sign}{}.{:03}", a / 1000, a % 1000));
            }
        }
    }
}
