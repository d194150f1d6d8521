//! The piece the three ZigBee layers share: a frame that is a header followed by a borrowed
//! payload ([`Layer`], aliased as [`super::mac::MacFrame`], [`super::nwk::NwkFrame`] and
//! [`super::aps::ApsFrame`]), the header side of its `Repr`, and the boilerplate of the
//! zero-copy `…FrameView` types.

use core::fmt;

use crate::error::Result;
use crate::field::{Field, Repr};
use crate::wire::{Reader, Writer};

/// A layer's header: read from / written to a cursor, with its `Repr::buffer_len` as length.
pub trait LayerHeader<'a>: Repr<'a> {
    /// The frame type's name, used by `Debug` and `Serialize` (`"MacFrame"`, ...).
    const FRAME_NAME: &'static str;
    /// The field name reported when the payload does not fit (`"mac.payload"`, ...).
    const PAYLOAD_FIELD: &'static str;
    /// Reads the header, leaving the cursor at the payload.
    fn read_header(r: &mut Reader<'a>) -> Result<Self>;
    /// Writes the header.
    fn write_header(&self, w: &mut Writer<'_>) -> Result<()>;

    /// `Repr::parse` of a header: reads it from the start of `payload`.
    fn parse_header(payload: &'a [u8]) -> Result<Self> {
        Self::read_header(&mut Reader::new(payload))
    }

    /// `Repr::emit` of a header: writes it at the start of `buf`.
    fn emit_header(&self, buf: &mut [u8]) -> Result<usize> {
        let mut w = Writer::new(buf);
        self.write_header(&mut w)?;
        Ok(w.pos())
    }
}

/// A frame of one layer: header and borrowed payload.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Layer<'a, H> {
    pub header: H,
    pub payload: &'a [u8],
}

impl<'a, H: LayerHeader<'a>> Repr<'a> for Layer<'a, H> {
    fn parse(frame: &'a [u8]) -> Result<Self> {
        let mut r = Reader::new(frame);
        let header = H::read_header(&mut r)?;
        Ok(Self { header, payload: r.take_rest() })
    }

    fn buffer_len(&self) -> usize {
        self.header.buffer_len() + self.payload.len()
    }

    fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        let mut w = Writer::new(buf);
        self.header.write_header(&mut w)?;
        w.bytes(self.payload, H::PAYLOAD_FIELD)?;
        Ok(w.pos())
    }
}

/// Formats as the derived `Debug` of a struct named `H::FRAME_NAME` would.
impl<'a, H: LayerHeader<'a> + fmt::Debug> fmt::Debug for Layer<'a, H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct(H::FRAME_NAME)
            .field("header", &self.header)
            .field("payload", &self.payload)
            .finish()
    }
}

/// Serializes as the derived `Serialize` of a struct named `H::FRAME_NAME` would, with the
/// payload as a hex string.
#[cfg(feature = "serde")]
impl<'a, H: LayerHeader<'a> + serde::Serialize> serde::Serialize for Layer<'a, H> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> core::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;

        struct Payload<'p>(&'p [u8]);
        impl serde::Serialize for Payload<'_> {
            fn serialize<S: serde::Serializer>(
                &self,
                s: S,
            ) -> core::result::Result<S::Ok, S::Error> {
                super::serialize_payload(&self.0, s)
            }
        }

        let mut st = s.serialize_struct(H::FRAME_NAME, 2)?;
        st.serialize_field("header", &self.header)?;
        st.serialize_field("payload", &Payload(self.payload))?;
        st.end()
    }
}

/// Reads a fixed-width field at `offset` of a view's buffer; a view checked by `new_checked`
/// never falls back to `F::ZERO`.
pub(super) fn field_at<F: Field>(buffer: &[u8], offset: usize, layer: &'static str) -> F {
    let bytes = buffer.get(offset..).unwrap_or(&[]);
    F::read(&mut Reader::new(bytes), layer).unwrap_or(F::ZERO)
}

/// The common part of a `…FrameView` impl: `new_checked` (validates the header with
/// `$header::parse`), `into_inner` and the private typed reader `at`.
macro_rules! view_common {
    ($header:ident, $layer:literal) => {
        pub fn new_checked(buffer: T) -> Result<Self> {
            $header::parse(buffer.as_ref())?;
            Ok(Self { buffer })
        }

        pub fn into_inner(self) -> T {
            self.buffer
        }

        fn at<F: Field>(&self, offset: usize) -> F {
            super::layer::field_at(self.buffer.as_ref(), offset, $layer)
        }
    };
}
pub(super) use view_common;
