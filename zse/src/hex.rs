//! Hex text for raw octets, without allocation (used by serde impls and `Display`).

use core::fmt;

/// Displays bytes as lower-case hex with no separators.
#[derive(Clone, Copy)]
pub struct Hex<'a>(pub &'a [u8]);

impl fmt::Display for Hex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Hex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Value of one hex digit.
pub const fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Decodes `text` (even number of hex digits, no separators) into `out`; returns the byte count.
/// `None` if a character is not a hex digit, the digit count is odd, or `out` is too small.
pub fn decode_into(text: &str, out: &mut [u8]) -> Option<usize> {
    let t = text.as_bytes();
    if !t.len().is_multiple_of(2) || t.len() / 2 > out.len() {
        return None;
    }
    for (pair, o) in t.chunks_exact(2).zip(out.iter_mut()) {
        let [hi, lo] = pair else { return None };
        *o = (nibble(*hi)? << 4) | nibble(*lo)?;
    }
    Some(t.len() / 2)
}

#[cfg(feature = "serde")]
pub(crate) fn serialize_hex<S: serde::Serializer>(
    bytes: &[u8],
    s: S,
) -> core::result::Result<S::Ok, S::Error> {
    s.collect_str(&Hex(bytes))
}

#[cfg(feature = "serde")]
pub(crate) fn deserialize_hex_array<'de, D: serde::Deserializer<'de>, const N: usize>(
    d: D,
) -> core::result::Result<[u8; N], D::Error> {
    struct V<const N: usize>;
    impl<const N: usize> serde::de::Visitor<'_> for V<N> {
        type Value = [u8; N];
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "a string of {} hex digits", 2 * N)
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> core::result::Result<[u8; N], E> {
            let mut out = [0u8; N];
            match decode_into(v, &mut out) {
                Some(n) if n == N => Ok(out),
                _ => Err(E::invalid_value(serde::de::Unexpected::Str(v), &self)),
            }
        }
    }
    d.deserialize_str(V::<N>)
}

#[cfg(feature = "serde")]
impl serde::Serialize for Hex<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> core::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_rejects_bad_input() {
        let mut out = [0u8; 2];
        assert_eq!(decode_into("0aFf", &mut out), Some(2));
        assert_eq!(out, [0x0a, 0xff]);
        assert_eq!(decode_into("0g", &mut out), None);
        assert_eq!(decode_into("abc", &mut out), None);
        assert_eq!(decode_into("001122", &mut out), None);
    }
}
