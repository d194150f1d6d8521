//! ZCL octet and character strings, borrowed from the frame (zero copy).

use core::fmt;

/// The bytes of a ZCL octet string or character string (ZCL §2.5.2.15/16), borrowed from the
/// frame. The on-air length byte counts *bytes*, not characters. A length of 0xFF (0xFFFF for long
/// strings) is the "invalid" string, kept distinct from the empty string.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ZclStr<'a> {
    bytes: &'a [u8],
    invalid: bool,
}

impl<'a> ZclStr<'a> {
    /// The invalid string (length byte 0xFF).
    pub const INVALID: ZclStr<'static> = ZclStr { bytes: &[], invalid: true };
    pub const EMPTY: ZclStr<'static> = ZclStr { bytes: &[], invalid: false };

    pub const fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, invalid: false }
    }

    /// Convenience for text fields (rate label, message).
    pub const fn from_str(s: &'a str) -> Self {
        Self::new(s.as_bytes())
    }

    /// The bytes, or `None` for the invalid string.
    pub const fn bytes(&self) -> Option<&'a [u8]> {
        if self.invalid {
            None
        } else {
            Some(self.bytes)
        }
    }

    /// The text if the bytes are valid UTF-8.
    pub fn as_str(&self) -> Option<&'a str> {
        self.bytes().and_then(|b| core::str::from_utf8(b).ok())
    }

    pub const fn is_invalid(&self) -> bool {
        self.invalid
    }

    /// Encoded length with a 1-byte length prefix.
    pub const fn short_len(&self) -> usize {
        1 + self.bytes.len()
    }

    /// Encoded length with a 2-byte length prefix.
    pub const fn long_len(&self) -> usize {
        2 + self.bytes.len()
    }
}

impl fmt::Debug for ZclStr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.invalid, self.as_str()) {
            (true, _) => f.write_str("<invalid>"),
            (false, Some(s)) => write!(f, "{s:?}"),
            (false, None) => write!(f, "0x{}", crate::hex::Hex(self.bytes)),
        }
    }
}

impl<'a> From<&'a str> for ZclStr<'a> {
    fn from(s: &'a str) -> Self {
        Self::from_str(s)
    }
}

/// JSON form: a string when the bytes are UTF-8, `{"hex": "..."}` otherwise, `null` when invalid.
/// Deserializing borrows from the input, so only strings are accepted there (the CLI reads JSON
/// into a `serde_json::Value` first, which makes every string borrowable).
#[cfg(feature = "serde")]
impl serde::Serialize for ZclStr<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        if self.invalid {
            return s.serialize_none();
        }
        if let Some(text) = self.as_str() {
            s.serialize_str(text)
        } else {
            let mut m = s.serialize_map(Some(1))?;
            m.serialize_entry("hex", &crate::hex::Hex(self.bytes))?;
            m.end()
        }
    }
}

#[cfg(feature = "serde")]
impl<'de: 'a, 'a> serde::Deserialize<'de> for ZclStr<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = ZclStr<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string (borrowed from the input) or null")
            }
            fn visit_borrowed_str<E: serde::de::Error>(
                self,
                v: &'de str,
            ) -> Result<Self::Value, E> {
                Ok(ZclStr::from_str(v))
            }
            fn visit_borrowed_bytes<E: serde::de::Error>(
                self,
                v: &'de [u8],
            ) -> Result<Self::Value, E> {
                Ok(ZclStr::new(v))
            }
            fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
                Ok(ZclStr::INVALID)
            }
            fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
                Ok(ZclStr::INVALID)
            }
        }
        d.deserialize_any(V)
    }
}
