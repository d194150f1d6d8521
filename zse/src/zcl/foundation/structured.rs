//! Read/Write Attributes Structured (ZCL §2.4.15–2.4.17; se10.md §1.3), kept as raw bytes.

use crate::error::Result;
use crate::field::Repr;
use crate::hex::nibble;
use crate::wire::Writer;
use core::fmt;

/// The payload of Read Attributes Structured (0x0E), Write Attributes Structured (0x0F) or
/// Write Attributes Structured Response (0x10), kept as raw bytes.
///
/// Why raw: these commands address elements *inside* array, set, bag and structure attributes
/// through a selector (an indicator byte and up to 15 uint16 indexes). SE 1.0 defines no such
/// attribute, so no SE 1.0 device sends them and an ESI answers them with a Default Response
/// UNSUP_GENERAL_COMMAND. Keeping the bytes lets a capture still be decoded and re-emitted
/// exactly without committing to a selector model nobody here can test against.
///
/// A parsed payload borrows the frame. The JSON form is a hex string; deserializing borrows
/// that string and decodes it while emitting, so no allocation is needed either way.
#[derive(Clone, Copy)]
pub struct RawPayload<'a> {
    repr: Raw<'a>,
}

#[derive(Clone, Copy)]
enum Raw<'a> {
    Bytes(&'a [u8]),
    /// An even number of hex digits, checked by [`RawPayload::from_hex`].
    Hex(&'a str),
}

impl<'a> RawPayload<'a> {
    pub const fn new(bytes: &'a [u8]) -> Self {
        Self { repr: Raw::Bytes(bytes) }
    }

    /// A payload given as hex digits (no separators); `None` unless every character is a hex
    /// digit and their number is even.
    pub fn from_hex(text: &'a str) -> Option<Self> {
        let t = text.as_bytes();
        (t.len().is_multiple_of(2) && t.iter().all(|&c| nibble(c).is_some()))
            .then_some(Self { repr: Raw::Hex(text) })
    }

    /// Payload length in bytes.
    pub const fn len(&self) -> usize {
        match self.repr {
            Raw::Bytes(b) => b.len(),
            Raw::Hex(t) => t.len() / 2,
        }
    }

    pub const fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bytes as a slice, when held as bytes (always so for a parsed payload).
    pub const fn as_slice(&self) -> Option<&'a [u8]> {
        match self.repr {
            Raw::Bytes(b) => Some(b),
            Raw::Hex(_) => None,
        }
    }

    /// The payload's bytes, whichever form holds them.
    pub fn bytes(&self) -> RawBytes<'a> {
        RawBytes(match self.repr {
            Raw::Bytes(b) => Iter::Bytes(b.iter()),
            Raw::Hex(t) => Iter::Hex(t.as_bytes().chunks_exact(2)),
        })
    }
}

/// Iterator over the bytes of a [`RawPayload`].
#[derive(Debug, Clone)]
pub struct RawBytes<'a>(Iter<'a>);

#[derive(Debug, Clone)]
enum Iter<'a> {
    Bytes(core::slice::Iter<'a, u8>),
    Hex(core::slice::ChunksExact<'a, u8>),
}

impl Iterator for RawBytes<'_> {
    type Item = u8;
    fn next(&mut self) -> Option<u8> {
        match &mut self.0 {
            Iter::Bytes(it) => it.next().copied(),
            // Digits were checked by `from_hex`, so the fallbacks never apply.
            Iter::Hex(it) => it.next().map(|pair| match pair {
                [hi, lo] => (nibble(*hi).unwrap_or(0) << 4) | nibble(*lo).unwrap_or(0),
                _ => 0,
            }),
        }
    }
}

impl PartialEq for RawPayload<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.bytes().eq(other.bytes())
    }
}

impl Eq for RawPayload<'_> {}

impl fmt::Display for RawPayload<'_> {
    /// Lower-case hex, no separators.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.bytes().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl fmt::Debug for RawPayload<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RawPayload({self})")
    }
}

impl<'a> Repr<'a> for RawPayload<'a> {
    /// Takes the whole payload; nothing can be wrong with it at this level.
    fn parse(payload: &'a [u8]) -> Result<Self> {
        Ok(Self::new(payload))
    }
    fn buffer_len(&self) -> usize {
        self.len()
    }
    fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        let mut w = Writer::new(buf);
        match self.repr {
            Raw::Bytes(b) => w.bytes(b, "payload")?,
            Raw::Hex(_) => self.bytes().try_for_each(|b| w.u8(b, "payload"))?,
        }
        Ok(w.pos())
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for RawPayload<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> core::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(feature = "serde")]
impl<'de: 'a, 'a> serde::Deserialize<'de> for RawPayload<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> core::result::Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = RawPayload<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string of hex digits (borrowed from the input)")
            }
            fn visit_borrowed_str<E: serde::de::Error>(
                self,
                v: &'de str,
            ) -> core::result::Result<Self::Value, E> {
                RawPayload::from_hex(v)
                    .ok_or_else(|| E::invalid_value(serde::de::Unexpected::Str(v), &self))
            }
        }
        d.deserialize_str(V)
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use crate::testutil::check_roundtrip;
    use proptest::prelude::*;

    #[test]
    fn raw_forms_agree() {
        // Read Attributes Structured: attribute 0x0010, selector indicator 0 (whole attribute).
        let bytes = [0x10, 0x00, 0x00];
        let p = RawPayload::parse(&bytes).unwrap();
        assert_eq!(p.as_slice(), Some(&bytes[..]));
        let h = RawPayload::from_hex("10000A").unwrap();
        assert_ne!(p, h);
        assert_eq!(h.len(), 3);
        assert_eq!(h.as_slice(), None);
        let mut out = [0u8; 3];
        assert_eq!(h.emit(&mut out).unwrap(), 3);
        assert_eq!(out, [0x10, 0x00, 0x0A]);
        assert_eq!(RawPayload::new(&out), h);
        assert_eq!(std::format!("{h:?}"), "RawPayload(10000a)");
        assert!(h.emit(&mut out[..2]).is_err());
        assert_eq!(RawPayload::from_hex("abc"), None);
        assert_eq!(RawPayload::from_hex("zz"), None);
        assert!(RawPayload::parse(&[]).unwrap().is_empty());
    }

    proptest! {
        #[test]
        fn roundtrip(bytes in proptest::collection::vec(any::<u8>(), 0..48)) {
            prop_assert!(check_roundtrip::<RawPayload<'_>>(&bytes).is_some());
        }
    }
}
