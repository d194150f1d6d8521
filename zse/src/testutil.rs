//! Shared checks for unit and property tests.

use crate::field::Repr;
use core::fmt::Debug;

/// The round-trip laws every `Repr` must satisfy, checked on whatever `bytes` parse to:
/// `emit` writes exactly `buffer_len()` bytes, those bytes are a prefix of the input (nothing
/// invented, nothing reordered), and parsing them again gives the same value.
/// Returns the parsed value, or `None` when `bytes` did not parse.
pub fn check_roundtrip<'a, T>(bytes: &'a [u8]) -> Option<T>
where
    T: Repr<'a> + PartialEq + Debug,
{
    let value = T::parse(bytes).ok()?;
    let len = value.buffer_len();
    let mut out = [0u8; 512];
    let n = value.emit(&mut out).expect("emit of a parsed value must succeed");
    assert_eq!(n, len, "emit length != buffer_len for {value:?}");
    let emitted = &out[..n];
    assert_eq!(emitted, &bytes[..n], "re-emitted bytes differ from input for {value:?}");
    let again = T::parse(&bytes[..n]).expect("re-parse of emitted bytes");
    assert_eq!(again, value);
    // A buffer one byte short must be refused, never overrun.
    if n > 0 {
        assert!(value.emit(&mut out[..n - 1]).is_err());
    }
    Some(value)
}
