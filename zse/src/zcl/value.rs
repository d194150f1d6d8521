//! Typed ZCL attribute values (ZCL §2.5.2), as carried by Read Attributes Response, Write
//! Attributes, Report Attributes and Configure Reporting.

use super::{DataType, ZclStr};
use crate::error::{Error, ErrorKind, Result};
use crate::field::{Field, Int24, Uint24, Uint40, Uint48, Uint56};
use crate::wire::{Reader, Writer};
use crate::zcl::{AttributeId, ClusterId, Eui64, UtcTime};

/// Array, set or bag (ZCL §2.5.2.18–21): element type, count and the validated element bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Collection<'a> {
    pub element_type: DataType,
    pub count: u16,
    #[cfg_attr(feature = "serde", serde(serialize_with = "crate::zcl::value::hex_bytes"))]
    pub elements: &'a [u8],
}

/// Structure (ZCL §2.5.2.19): member count and the validated `[type, value]*` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Structure<'a> {
    pub count: u16,
    #[cfg_attr(feature = "serde", serde(serialize_with = "crate::zcl::value::hex_bytes"))]
    pub members: &'a [u8],
}

#[cfg(feature = "serde")]
pub(crate) fn hex_bytes<S: serde::Serializer>(
    b: &&[u8],
    s: S,
) -> core::result::Result<S::Ok, S::Error> {
    crate::hex::serialize_hex(b, s)
}

/// A 128-bit security key value (data type 0xF1). `Debug` never shows the key.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyValue(pub [u8; 16]);

impl core::fmt::Debug for KeyValue {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("KeyValue(<redacted>)")
    }
}

macro_rules! values {
    ( $( $(#[$m:meta])* $variant:ident ( $ty:ty ) = $id:literal ),* $(,)? ) => {
        /// A ZCL value with its data type. Unknown-but-sizable encodings never occur: a data type
        /// this codec cannot size is an [`ErrorKind::UnknownDataType`] error, because the rest of the
        /// frame could not be found without it.
        #[derive(Debug, Clone, Copy, PartialEq)]
        #[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize),
                   serde(tag = "type", content = "value", rename_all = "snake_case"))]
        pub enum Value<'a> {
            /// 0x00: no data.
            NoData,
            /// 0xFF: unknown type (no data).
            Unknown,
            $( $(#[$m])* $variant($ty), )*
            /// 0x41 octet string.
            #[cfg_attr(feature = "serde", serde(borrow))]
            OctetString(ZclStr<'a>),
            /// 0x42 character string (length counts bytes).
            #[cfg_attr(feature = "serde", serde(borrow))]
            CharacterString(ZclStr<'a>),
            /// 0x43 long octet string.
            #[cfg_attr(feature = "serde", serde(borrow))]
            LongOctetString(ZclStr<'a>),
            /// 0x44 long character string.
            #[cfg_attr(feature = "serde", serde(borrow))]
            LongCharacterString(ZclStr<'a>),
            /// 0x48 array.
            #[cfg_attr(feature = "serde", serde(skip_deserializing))]
            Array(Collection<'a>),
            /// 0x4C structure.
            #[cfg_attr(feature = "serde", serde(skip_deserializing))]
            Structure(Structure<'a>),
            /// 0x50 set.
            #[cfg_attr(feature = "serde", serde(skip_deserializing))]
            Set(Collection<'a>),
            /// 0x51 bag.
            #[cfg_attr(feature = "serde", serde(skip_deserializing))]
            Bag(Collection<'a>),
            /// 0xF1 128-bit security key.
            #[cfg_attr(feature = "serde", serde(skip))]
            SecurityKey(KeyValue),
        }

        impl<'a> Value<'a> {
            /// The data type id of this value.
            pub const fn data_type(&self) -> DataType {
                DataType(match self {
                    Self::NoData => 0x00,
                    Self::Unknown => 0xFF,
                    $( Self::$variant(_) => $id, )*
                    Self::OctetString(_) => 0x41,
                    Self::CharacterString(_) => 0x42,
                    Self::LongOctetString(_) => 0x43,
                    Self::LongCharacterString(_) => 0x44,
                    Self::Array(_) => 0x48,
                    Self::Structure(_) => 0x4C,
                    Self::Set(_) => 0x50,
                    Self::Bag(_) => 0x51,
                    Self::SecurityKey(_) => 0xF1,
                })
            }

            /// Reads a value of type `ty` (the type id was read by the caller).
            pub fn read(ty: DataType, r: &mut Reader<'a>) -> Result<Self> {
                Self::read_nested(ty, r, 0)
            }

            fn read_nested(ty: DataType, r: &mut Reader<'a>, depth: u8) -> Result<Self> {
                const F: &str = "value";
                if depth > MAX_NESTING {
                    return Err(r.error(ErrorKind::InvalidValue, "nesting depth"));
                }
                Ok(match ty.0 {
                    0x00 => Self::NoData,
                    0xFF => Self::Unknown,
                    $( $id => Self::$variant(<$ty as Field>::read(r, F)?), )*
                    0x41 => Self::OctetString(r.short_string(F)?),
                    0x42 => Self::CharacterString(r.short_string(F)?),
                    0x43 => Self::LongOctetString(r.long_string(F)?),
                    0x44 => Self::LongCharacterString(r.long_string(F)?),
                    0x48 => Self::Array(read_collection(r, depth)?),
                    0x4C => Self::Structure(read_structure(r, depth)?),
                    0x50 => Self::Set(read_collection(r, depth)?),
                    0x51 => Self::Bag(read_collection(r, depth)?),
                    0xF1 => Self::SecurityKey(KeyValue(r.array(F)?)),
                    other => return Err(r.error(ErrorKind::UnknownDataType(other), "data_type")),
                })
            }

            /// Bytes the value occupies (without its type id).
            pub fn value_len(&self) -> usize {
                match self {
                    Self::NoData | Self::Unknown => 0,
                    $( Self::$variant(_) => <$ty as Field>::LEN, )*
                    Self::OctetString(s) | Self::CharacterString(s) => s.short_len(),
                    Self::LongOctetString(s) | Self::LongCharacterString(s) => s.long_len(),
                    Self::Array(c) | Self::Set(c) | Self::Bag(c) => 3 + c.elements.len(),
                    Self::Structure(s) => 2 + s.members.len(),
                    Self::SecurityKey(_) => 16,
                }
            }

            /// Writes the value (without its type id).
            pub fn write(&self, w: &mut Writer<'_>) -> Result<()> {
                const F: &str = "value";
                match self {
                    Self::NoData | Self::Unknown => Ok(()),
                    $( Self::$variant(v) => <$ty as Field>::write(*v, w, F), )*
                    Self::OctetString(s) | Self::CharacterString(s) => w.short_string(*s, F),
                    Self::LongOctetString(s) | Self::LongCharacterString(s) => w.long_string(*s, F),
                    Self::Array(c) | Self::Set(c) | Self::Bag(c) => {
                        w.u8(c.element_type.0, "element_type")?;
                        w.u16(c.count, "count")?;
                        w.bytes(c.elements, "elements")
                    }
                    Self::Structure(s) => {
                        w.u16(s.count, "count")?;
                        w.bytes(s.members, "members")
                    }
                    Self::SecurityKey(k) => w.bytes(&k.0, F),
                }
            }
        }
    };
}

values! {
    Data8(u8) = 0x08, Data16(u16) = 0x09, Data24(Uint24) = 0x0A, Data32(u32) = 0x0B,
    Data40(Uint40) = 0x0C, Data48(Uint48) = 0x0D, Data56(Uint56) = 0x0E, Data64(u64) = 0x0F,
    /// 0x10; 0x00 false, 0x01 true, 0xFF invalid (kept raw so invalid survives).
    Boolean(u8) = 0x10,
    Bitmap8(u8) = 0x18, Bitmap16(u16) = 0x19, Bitmap24(Uint24) = 0x1A, Bitmap32(u32) = 0x1B,
    Bitmap40(Uint40) = 0x1C, Bitmap48(Uint48) = 0x1D, Bitmap56(Uint56) = 0x1E, Bitmap64(u64) = 0x1F,
    Uint8(u8) = 0x20, Uint16(u16) = 0x21, Uint24(Uint24) = 0x22, Uint32(u32) = 0x23,
    Uint40(Uint40) = 0x24, Uint48(Uint48) = 0x25, Uint56(Uint56) = 0x26, Uint64(u64) = 0x27,
    Int8(i8) = 0x28, Int16(i16) = 0x29, Int24(Int24) = 0x2A, Int32(i32) = 0x2B,
    /// 0x2C, sign-extended from 40 bits.
    Int40(SignedN<5>) = 0x2C,
    Int48(SignedN<6>) = 0x2D,
    Int56(SignedN<7>) = 0x2E,
    Int64(i64) = 0x2F,
    Enum8(u8) = 0x30, Enum16(u16) = 0x31,
    /// 0x38 semi-precision float, raw IEEE 754 half bits.
    SemiFloat(u16) = 0x38,
    /// 0x39 single-precision float, raw bits (so NaN round-trips).
    SingleFloat(u32) = 0x39,
    /// 0x3A double-precision float, raw bits.
    DoubleFloat(u64) = 0x3A,
    /// 0xE0 time of day: hours, minutes, seconds, hundredths.
    TimeOfDay(crate::field::Octets<4>) = 0xE0,
    /// 0xE1 date: year − 1900, month, day of month, day of week.
    Date(crate::field::Octets<4>) = 0xE1,
    UtcTime(UtcTime) = 0xE2,
    ClusterId(ClusterId) = 0xE8,
    AttributeId(AttributeId) = 0xE9,
    BacnetOid(u32) = 0xEA,
    IeeeAddress(Eui64) = 0xF0,
}

impl Field for i64 {
    const LEN: usize = 8;
    const ZERO: Self = 0;
    fn read(r: &mut Reader<'_>, field: &'static str) -> Result<Self> {
        r.int_n(8, field)
    }
    fn write(self, w: &mut Writer<'_>, field: &'static str) -> Result<()> {
        w.uint_n(self as u64, 8, field)
    }
}

/// A signed integer of `N` bytes (40/48/56-bit ZCL types), held sign-extended in an `i64`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize), serde(transparent))]
pub struct SignedN<const N: usize>(pub i64);

impl<const N: usize> Field for SignedN<N> {
    const LEN: usize = N;
    const ZERO: Self = Self(0);
    fn read(r: &mut Reader<'_>, field: &'static str) -> Result<Self> {
        r.int_n(N, field).map(Self)
    }
    fn write(self, w: &mut Writer<'_>, field: &'static str) -> Result<()> {
        let bits = 8 * N as u32;
        let (min, max) = (-(1i64 << (bits - 1)), (1i64 << (bits - 1)) - 1);
        if !(min..=max).contains(&self.0) {
            return Err(Error::new(ErrorKind::InvalidValue, w.pos(), field));
        }
        w.uint_n(self.0 as u64, N, field)
    }
}

/// Collections inside collections deeper than this are refused, so hostile input cannot exhaust
/// the stack (ZCL itself sets no limit; real SE attributes nest at most once).
pub const MAX_NESTING: u8 = 8;

/// Reads `count` elements of `ty` to find where the collection ends, then keeps the bytes.
fn read_elements<'a>(r: &mut Reader<'a>, ty: DataType, count: u16, depth: u8) -> Result<&'a [u8]> {
    if let Some(len) = ty.fixed_len() {
        // Fixed-size elements: no need to walk them one by one (and zero-size elements cost
        // nothing however large the count).
        return r.bytes(len * usize::from(count), "elements");
    }
    let start = r.rest();
    let begin = r.pos();
    for _ in 0..count {
        Value::read_nested(ty, r, depth + 1)?;
    }
    Ok(start.get(..r.pos() - begin).unwrap_or(&[]))
}

fn read_collection<'a>(r: &mut Reader<'a>, depth: u8) -> Result<Collection<'a>> {
    let element_type = DataType(r.u8("element_type")?);
    let count = r.u16("count")?;
    // An empty/invalid collection is encoded as count 0xFFFF with no elements.
    let n = if count == 0xFFFF { 0 } else { count };
    let elements = read_elements(r, element_type, n, depth)?;
    Ok(Collection { element_type, count, elements })
}

fn read_structure<'a>(r: &mut Reader<'a>, depth: u8) -> Result<Structure<'a>> {
    let count = r.u16("count")?;
    let start = r.rest();
    let begin = r.pos();
    if count != 0xFFFF {
        for _ in 0..count {
            let ty = DataType(r.u8("member_type")?);
            Value::read_nested(ty, r, depth + 1)?;
        }
    }
    Ok(Structure { count, members: start.get(..r.pos() - begin).unwrap_or(&[]) })
}

/// A value preceded by its one-byte type id, the common `[data_type, value]` pair.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TypedValue;

impl TypedValue {
    pub fn read<'a>(r: &mut Reader<'a>) -> Result<Value<'a>> {
        let at = r.pos();
        let ty = DataType(r.u8("data_type")?);
        // An unknown type is reported at the type byte itself, not after it.
        Value::read(ty, r).map_err(|e| match e.kind {
            ErrorKind::UnknownDataType(_) if e.offset == at + 1 => Error { offset: at, ..e },
            _ => e,
        })
    }
    pub fn write(v: &Value<'_>, w: &mut Writer<'_>) -> Result<()> {
        w.u8(v.data_type().0, "data_type")?;
        v.write(w)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(bytes: &[u8]) -> Value<'_> {
        let mut r = Reader::new(bytes);
        let v = TypedValue::read(&mut r).unwrap();
        assert!(r.is_empty());
        let mut out = [0u8; 64];
        let mut w = Writer::new(&mut out);
        TypedValue::write(&v, &mut w).unwrap();
        let n = w.pos();
        assert_eq!(&out[..n], bytes);
        assert_eq!(1 + v.value_len(), bytes.len());
        v
    }

    #[test]
    fn scalar_types() {
        assert_eq!(roundtrip(&[0x25, 1, 2, 3, 4, 5, 6]), Value::Uint48(Uint48(0x060504030201)));
        assert_eq!(roundtrip(&[0x2A, 0xFE, 0xFF, 0xFF]), Value::Int24(Int24(-2)));
        assert_eq!(
            roundtrip(&[0x2D, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]),
            Value::Int48(SignedN(-1))
        );
        assert_eq!(roundtrip(&[0xE2, 0, 0, 0, 0]), Value::UtcTime(UtcTime::NOW));
        assert_eq!(
            roundtrip(&[0x42, 2, b'h', b'i']),
            Value::CharacterString(ZclStr::from_str("hi"))
        );
        assert_eq!(roundtrip(&[0x41, 0xFF]), Value::OctetString(ZclStr::INVALID));
    }

    #[test]
    fn collections_are_walked() {
        let v = roundtrip(&[0x48, 0x21, 2, 0, 1, 0, 2, 0]);
        assert!(matches!(v, Value::Array(c) if c.count == 2 && c.elements.len() == 4));
        let v = roundtrip(&[0x4C, 2, 0, 0x20, 7, 0x42, 1, b'x']);
        assert!(matches!(v, Value::Structure(s) if s.members.len() == 5));
        // count claims 3 elements but only 2 present
        let mut r = Reader::new(&[0x48, 0x20, 3, 0, 1, 2]);
        assert!(matches!(TypedValue::read(&mut r).unwrap_err().kind, ErrorKind::Truncated { .. }));
    }

    #[test]
    fn unknown_type_is_an_error_with_offset() {
        let mut r = Reader::new(&[0x00, 0x00, 0x77, 1]);
        r.u16("attr").unwrap();
        let e = TypedValue::read(&mut r).unwrap_err();
        assert_eq!(e.kind, ErrorKind::UnknownDataType(0x77));
        assert_eq!(e.offset, 2);
    }

    #[test]
    fn deep_nesting_is_bounded_by_input() {
        // arrays of arrays: each level needs at least 3 bytes, so recursion depth ≤ len/3.
        let mut buf = [0u8; 300];
        for chunk in buf.chunks_exact_mut(3) {
            chunk.copy_from_slice(&[0x48, 1, 0]);
        }
        let mut r = Reader::new(&buf);
        let e = Value::read(DataType::ARRAY, &mut r).unwrap_err();
        assert_eq!((e.kind, e.field), (ErrorKind::InvalidValue, "nesting depth"));
    }
}
