//! Fixed-width wire fields and the traits every command type implements.
//!
//! [`Field`] is a value with a fixed encoded length (every SE 1.0 command field except strings);
//! [`Repr`] is a whole command payload with `parse` / `buffer_len` / `emit` in the smoltcp
//! style. The `fixed_struct!` macro builds a `Repr` plus a zero-copy typed view from a list of
//! `Field`s, so field order and widths are written exactly once per command.

use crate::error::{Error, ErrorKind, Result};
use crate::wire::{Reader, Writer};

/// A value with a fixed encoded length.
pub trait Field: Sized + Copy {
    /// Encoded length in bytes.
    const LEN: usize;
    /// All-zero value, returned by typed-view accessors that cannot fail after `new_checked`.
    const ZERO: Self;
    fn read(r: &mut Reader<'_>, field: &'static str) -> Result<Self>;
    fn write(self, w: &mut Writer<'_>, field: &'static str) -> Result<()>;
}

/// A command payload (or any structure) with the smoltcp-style trio of operations.
pub trait Repr<'a>: Sized {
    /// Parses a payload. Extra trailing bytes are ignored (SE 1.0 receivers must tolerate longer
    /// payloads from newer revisions), missing mandatory bytes are an error.
    fn parse(payload: &'a [u8]) -> Result<Self>;
    /// Exact number of bytes [`Repr::emit`] writes.
    fn buffer_len(&self) -> usize;
    /// Writes the payload; returns the number of bytes written (== `buffer_len()`).
    fn emit(&self, buf: &mut [u8]) -> Result<usize>;
}

macro_rules! prim_field {
    ($($t:ty => $r:ident),* $(,)?) => {$(
        impl Field for $t {
            const LEN: usize = core::mem::size_of::<$t>();
            const ZERO: Self = 0;
            #[inline]
            fn read(r: &mut Reader<'_>, field: &'static str) -> Result<Self> { r.$r(field) }
            #[inline]
            fn write(self, w: &mut Writer<'_>, field: &'static str) -> Result<()> { w.$r(self, field) }
        }
    )*};
}
prim_field!(u8 => u8, u16 => u16, u32 => u32, u64 => u64, i8 => i8, i16 => i16, i32 => i32);

macro_rules! odd_uint {
    ($($(#[$m:meta])* $name:ident($inner:ty, $n:expr);)*) => {$(
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
        #[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize), serde(transparent))]
        pub struct $name(pub $inner);
        impl $name {
            /// Largest value the field can carry.
            pub const MAX: $inner = ((1u64 << (8 * $n)) - 1) as $inner;
        }
        impl Field for $name {
            const LEN: usize = $n;
            const ZERO: Self = Self(0);
            #[inline]
            fn read(r: &mut Reader<'_>, field: &'static str) -> Result<Self> {
                Ok(Self(r.uint_n($n, field)? as $inner))
            }
            fn write(self, w: &mut Writer<'_>, field: &'static str) -> Result<()> {
                if self.0 > Self::MAX {
                    return Err(Error::new(ErrorKind::InvalidValue, w.pos(), field));
                }
                w.uint_n(u64::from(self.0), $n, field)
            }
        }
    )*};
}
odd_uint! {
    /// ZCL uint24 (data type 0x22).
    Uint24(u32, 3);
    /// ZCL uint40 (data type 0x24).
    Uint40(u64, 5);
    /// ZCL uint48 (data type 0x25), e.g. Metering CurrentSummationDelivered.
    Uint48(u64, 6);
    /// ZCL uint56 (data type 0x26).
    Uint56(u64, 7);
}

/// ZCL int24 (data type 0x2A), e.g. Metering InstantaneousDemand (signed: negative = export).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize), serde(transparent))]
pub struct Int24(pub i32);

impl Int24 {
    pub const MIN: i32 = -(1 << 23);
    pub const MAX: i32 = (1 << 23) - 1;
}

impl Field for Int24 {
    const LEN: usize = 3;
    const ZERO: Self = Self(0);
    #[inline]
    fn read(r: &mut Reader<'_>, field: &'static str) -> Result<Self> {
        Ok(Self(r.int_n(3, field)? as i32))
    }
    fn write(self, w: &mut Writer<'_>, field: &'static str) -> Result<()> {
        if !(Self::MIN..=Self::MAX).contains(&self.0) {
            return Err(Error::new(ErrorKind::InvalidValue, w.pos(), field));
        }
        w.uint_n(self.0 as u64, 3, field)
    }
}

/// A fixed-length raw octet field with no length prefix (DRLC signature, CBKE certificate,
/// ephemeral key, MAC). Serialized as a hex string.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Octets<const N: usize>(pub [u8; N]);

impl<const N: usize> Default for Octets<N> {
    fn default() -> Self {
        Self([0; N])
    }
}

impl<const N: usize> core::fmt::Debug for Octets<N> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Octets(")?;
        for b in &self.0 {
            write!(f, "{b:02x}")?;
        }
        f.write_str(")")
    }
}

impl<const N: usize> Field for Octets<N> {
    const LEN: usize = N;
    const ZERO: Self = Self([0; N]);
    #[inline]
    fn read(r: &mut Reader<'_>, field: &'static str) -> Result<Self> {
        r.array(field).map(Self)
    }
    fn write(self, w: &mut Writer<'_>, field: &'static str) -> Result<()> {
        w.bytes(&self.0, field)
    }
}

#[cfg(feature = "serde")]
impl<const N: usize> serde::Serialize for Octets<N> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> core::result::Result<S::Ok, S::Error> {
        crate::hex::serialize_hex(&self.0, s)
    }
}

#[cfg(feature = "serde")]
impl<'de, const N: usize> serde::Deserialize<'de> for Octets<N> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> core::result::Result<Self, D::Error> {
        crate::hex::deserialize_hex_array(d).map(Self)
    }
}

/// Declares a transparent newtype over a [`Field`] (meaningful names for wire integers:
/// `IssuerEventId(u32)`, `UtcTime(u32)`, bitmaps, enumerations kept open to unknown values).
macro_rules! newtype {
    ($(#[$m:meta])* pub struct $name:ident($inner:ty);) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
        #[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize), serde(transparent))]
        pub struct $name(pub $inner);

        impl $crate::field::Field for $name {
            const LEN: usize = <$inner as $crate::field::Field>::LEN;
            const ZERO: Self = Self(<$inner as $crate::field::Field>::ZERO);
            #[inline]
            fn read(r: &mut $crate::wire::Reader<'_>, field: &'static str) -> $crate::Result<Self> {
                <$inner as $crate::field::Field>::read(r, field).map(Self)
            }
            #[inline]
            fn write(self, w: &mut $crate::wire::Writer<'_>, field: &'static str) -> $crate::Result<()> {
                <$inner as $crate::field::Field>::write(self.0, w, field)
            }
        }

        impl From<$inner> for $name {
            fn from(v: $inner) -> Self { Self(v) }
        }
    };
}
pub(crate) use newtype;

/// Declares a fixed-layout command: a plain-data `Repr` struct and a zero-copy typed view whose
/// accessors read exactly their bytes. Offsets are derived from the field widths, so the layout is
/// stated once (in field order, as the SE specification lists it).
macro_rules! fixed_struct {
    (
        $(#[$m:meta])*
        pub struct $name:ident / $view:ident {
            $( $(#[$fm:meta])* $field:ident : $ty:ty ),* $(,)?
        }
    ) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
        pub struct $name { $( $(#[$fm])* pub $field: $ty, )* }

        impl $name {
            /// Encoded length in bytes.
            pub const LEN: usize = 0 $( + <$ty as $crate::field::Field>::LEN )*;
        }

        impl<'a> $crate::field::Repr<'a> for $name {
            /// One length check for the whole layout; the field-by-field reads that follow cannot
            /// fail, so the compiler drops their checks. A short payload takes the out-of-line
            /// path, which names the first missing field and its offset.
            #[inline]
            fn parse(payload: &'a [u8]) -> $crate::Result<Self> {
                #[inline]
                fn fields(payload: &[u8]) -> $crate::Result<$name> {
                    #[allow(unused_mut, unused_variables)]
                    let mut r = $crate::wire::Reader::new(payload);
                    Ok($name { $( $field: <$ty as $crate::field::Field>::read(&mut r, stringify!($field))?, )* })
                }
                #[cold]
                #[inline(never)]
                fn short(payload: &[u8]) -> $crate::Result<$name> {
                    fields(payload)
                }
                match payload.get(..Self::LEN) {
                    Some(head) => fields(head),
                    None => short(payload),
                }
            }
            fn buffer_len(&self) -> usize { Self::LEN }
            fn emit(&self, buf: &mut [u8]) -> $crate::Result<usize> {
                #[allow(unused_mut)]
                let mut w = $crate::wire::Writer::new(buf);
                $( <$ty as $crate::field::Field>::write(self.$field, &mut w, stringify!($field))?; )*
                Ok(w.pos())
            }
        }

        #[doc = concat!("Zero-copy view of a [`", stringify!($name), "`] payload.")]
        #[derive(Debug, Clone, Copy)]
        pub struct $view<T: AsRef<[u8]>> { buffer: T }

        impl<T: AsRef<[u8]>> $view<T> {
            /// Wraps `buffer` after checking it holds the whole fixed layout.
            pub fn new_checked(buffer: T) -> $crate::Result<Self> {
                let len = buffer.as_ref().len();
                if len < $name::LEN {
                    return Err($crate::Error::new(
                        $crate::ErrorKind::Truncated { needed: $name::LEN - len }, len, stringify!($name)));
                }
                Ok(Self { buffer })
            }
            pub fn into_inner(self) -> T { self.buffer }
        }
        $crate::field::fixed_struct!(@accessors $view [0usize] $( $(#[$fm])* $field : $ty, )*);
    };
    (@accessors $view:ident [$off:expr]) => {};
    (@accessors $view:ident [$off:expr] $(#[$fm:meta])* $field:ident : $ty:ty, $($rest:tt)*) => {
        impl<T: AsRef<[u8]>> $view<T> {
            $(#[$fm])*
            pub fn $field(&self) -> $ty {
                let bytes = self.buffer.as_ref().get($off..).unwrap_or(&[]);
                let mut r = $crate::wire::Reader::new(bytes);
                <$ty as $crate::field::Field>::read(&mut r, stringify!($field))
                    .unwrap_or(<$ty as $crate::field::Field>::ZERO)
            }
        }
        $crate::field::fixed_struct!(@accessors $view [$off + <$ty as $crate::field::Field>::LEN] $($rest)*);
    };
}
pub(crate) use fixed_struct;

/// Declares the set of commands one side of a cluster generates, with dispatch by command id.
///
/// Unknown ids parse to `Ok(None)` so the frame layer can keep them as
/// [`crate::zcl::Payload::Unknown`] and the receiver can answer UNSUP_CLUSTER_COMMAND.
macro_rules! command_set {
    (
        $(#[$m:meta])*
        pub enum $name:ident $(<$lt:lifetime>)? {
            $( $(#[$vm:meta])* $id:literal => $variant:ident ( $ty:ty ) ),* $(,)?
        }
    ) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq)]
        #[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize),
                   serde(tag = "command", content = "fields"))]
        pub enum $name $(<$lt>)? { $( $(#[$vm])* $variant($ty), )* }

        impl<'a> $name $(<$lt>)? {
            /// Every command of the set as `(id, name)`, in id order.
            pub const COMMANDS: &'static [(u8, &'static str)] = &[$( ($id, stringify!($variant)), )*];

            /// Parses `payload` as command `id`; `Ok(None)` if the id is not in this set.
            pub fn parse(id: u8, payload: &'a [u8]) -> $crate::Result<Option<Self>> {
                Ok(Some(match id {
                    $( $id => Self::$variant(<$ty as $crate::field::Repr<'a>>::parse(payload)?), )*
                    _ => return Ok(None),
                }))
            }

            /// [`Self::parse`] for [`crate::zcl::Frame::parse`]: builds the whole frame in place
            /// (no intermediate `Result<Option<…>>` to copy), `wrap` placing the command in the
            /// payload; an id not in this set gives [`crate::zcl::Payload::Unknown`]. Errors are
            /// moved past the header.
            pub(crate) fn parse_frame(
                header: $crate::zcl::Header,
                body: &'a [u8],
                wrap: impl FnOnce(Self) -> $crate::zcl::Payload<'a>,
            ) -> $crate::Result<$crate::zcl::Frame<'a>> {
                match header.command_id {
                    $( $id => match <$ty as $crate::field::Repr<'a>>::parse(body) {
                        Ok(c) => Ok($crate::zcl::Frame { header, payload: wrap(Self::$variant(c)) }),
                        Err(e) => Err(e.shifted(header.buffer_len())),
                    }, )*
                    _ => Ok($crate::zcl::Frame { header, payload: $crate::zcl::Payload::Unknown(body) }),
                }
            }
            /// The ZCL command identifier.
            pub fn command_id(&self) -> u8 {
                match self { $( Self::$variant(_) => $id, )* }
            }
            /// The command's name as the SE specification spells it.
            pub fn name(&self) -> &'static str {
                match self { $( Self::$variant(_) => stringify!($variant), )* }
            }
            pub fn buffer_len(&self) -> usize {
                match self { $( Self::$variant(c) => $crate::field::Repr::buffer_len(c), )* }
            }
            pub fn emit(&self, buf: &mut [u8]) -> $crate::Result<usize> {
                match self { $( Self::$variant(c) => $crate::field::Repr::emit(c, buf), )* }
            }
        }
    };
}
pub(crate) use command_set;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odd_width_emit_rejects_out_of_range() {
        let mut buf = [0u8; 3];
        let mut w = Writer::new(&mut buf);
        assert_eq!(
            Uint24(0x0100_0000).write(&mut w, "x").unwrap_err().kind,
            ErrorKind::InvalidValue
        );
        assert!(Int24(-1).write(&mut w, "y").is_ok());
        assert_eq!(buf, [0xFF, 0xFF, 0xFF]);
    }
}
