//! Checked little-endian cursors over byte buffers.
//!
//! Every multi-byte ZCL integer is little-endian on the air (ZCL §2.5.2). [`Reader`] and
//! [`Writer`] are the only places in the crate that touch raw byte positions; every other module
//! goes through them, so "never read out of bounds" is proved once, here.

use crate::error::{Error, ErrorKind, Result};

/// A forward-only reader that returns [`ErrorKind::Truncated`] instead of panicking.
///
/// The reads are `#[inline]` and build their error in place: a reader whose address escapes into
/// an out-of-line call (as `ok_or_else(|| self.truncated(..))` did) stays in memory, and the
/// compiler then no longer folds the position arithmetic of consecutive reads, which
/// `fixed_struct!` relies on to drop the per-field checks after its one length check. Decode fast
/// paths of variable layouts use the crate's `Fast` cursor instead, which builds no errors at
/// all, and come back to a `Reader` only to report what is wrong with a payload.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    #[inline]
    pub const fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    /// Current offset from the start of the buffer.
    #[inline]
    pub const fn pos(&self) -> usize {
        self.pos
    }

    /// Bytes not yet consumed.
    #[inline]
    pub fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    /// The unread rest of the buffer, without consuming it.
    #[inline]
    pub fn rest(&self) -> &'a [u8] {
        self.buf.get(self.pos..).unwrap_or(&[])
    }

    /// Consumes and returns everything left.
    #[inline]
    pub fn take_rest(&mut self) -> &'a [u8] {
        let rest = self.rest();
        self.pos = self.buf.len();
        rest
    }

    /// A truncation error at the current position.
    #[inline]
    pub fn truncated(&self, needed: usize, field: &'static str) -> Error {
        Error::new(ErrorKind::Truncated { needed: needed - self.remaining() }, self.pos, field)
    }

    /// An error of `kind` at the current position.
    #[inline]
    pub fn error(&self, kind: ErrorKind, field: &'static str) -> Error {
        Error::new(kind, self.pos, field)
    }

    /// Consumes exactly `n` bytes.
    #[inline]
    pub fn bytes(&mut self, n: usize, field: &'static str) -> Result<&'a [u8]> {
        let pos = self.pos;
        match pos.checked_add(n).and_then(|end| self.buf.get(pos..end)) {
            Some(out) => {
                self.pos = pos + n;
                Ok(out)
            }
            None => Err(Error::new(
                if pos.checked_add(n).is_none() {
                    ErrorKind::BadLength
                } else {
                    ErrorKind::Truncated { needed: n - self.remaining() }
                },
                pos,
                field,
            )),
        }
    }

    /// Consumes exactly `N` bytes into an array.
    #[inline]
    pub fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N]> {
        let b = self.bytes(N, field)?;
        let mut out = [0u8; N];
        out.copy_from_slice(b);
        Ok(out)
    }

    /// An unsigned little-endian integer of `n` ≤ 8 bytes (covers 24/40/48/56-bit ZCL types).
    #[inline]
    pub fn uint_n(&mut self, n: usize, field: &'static str) -> Result<u64> {
        debug_assert!(n <= 8);
        let b = self.bytes(n.min(8), field)?;
        let mut le = [0u8; 8];
        if let Some(low) = le.get_mut(..b.len()) {
            low.copy_from_slice(b);
        }
        Ok(u64::from_le_bytes(le))
    }

    /// A signed little-endian integer of `n` ≤ 8 bytes, sign-extended from its top bit.
    #[inline]
    pub fn int_n(&mut self, n: usize, field: &'static str) -> Result<i64> {
        let raw = self.uint_n(n, field)?;
        Ok(sign_extend(raw, n))
    }

    #[inline]
    pub fn u8(&mut self, field: &'static str) -> Result<u8> {
        let [b] = self.array::<1>(field)?;
        Ok(b)
    }
    #[inline]
    pub fn u16(&mut self, field: &'static str) -> Result<u16> {
        Ok(u16::from_le_bytes(self.array(field)?))
    }
    #[inline]
    pub fn u32(&mut self, field: &'static str) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array(field)?))
    }
    #[inline]
    pub fn u64(&mut self, field: &'static str) -> Result<u64> {
        Ok(u64::from_le_bytes(self.array(field)?))
    }
    #[inline]
    pub fn i8(&mut self, field: &'static str) -> Result<i8> {
        Ok(i8::from_le_bytes(self.array(field)?))
    }
    #[inline]
    pub fn i16(&mut self, field: &'static str) -> Result<i16> {
        Ok(i16::from_le_bytes(self.array(field)?))
    }
    #[inline]
    pub fn i32(&mut self, field: &'static str) -> Result<i32> {
        Ok(i32::from_le_bytes(self.array(field)?))
    }

    /// A ZCL octet/character string: one length byte, then that many bytes (ZCL §2.5.2.15).
    /// Length 0xFF is the "invalid" string and carries no bytes.
    #[inline]
    pub fn short_string(&mut self, field: &'static str) -> Result<crate::zcl::ZclStr<'a>> {
        let len = self.u8(field)?;
        if len == 0xFF {
            return Ok(crate::zcl::ZclStr::INVALID);
        }
        Ok(crate::zcl::ZclStr::new(self.bytes(usize::from(len), field)?))
    }

    /// A ZCL long octet/character string: two length bytes (LE), 0xFFFF = invalid.
    #[inline]
    pub fn long_string(&mut self, field: &'static str) -> Result<crate::zcl::ZclStr<'a>> {
        let len = self.u16(field)?;
        if len == 0xFFFF {
            return Ok(crate::zcl::ZclStr::INVALID);
        }
        Ok(crate::zcl::ZclStr::new(self.bytes(usize::from(len), field)?))
    }

    /// Optional trailing field: `None` when the payload ended before it (SE 1.0 receivers accept
    /// shorter payloads from older peers; se10.md §10 "trailing-field tolerance").
    #[inline]
    pub fn optional<T>(&mut self, read: impl FnOnce(&mut Self) -> Result<T>) -> Result<Option<T>> {
        if self.is_empty() {
            Ok(None)
        } else {
            read(self).map(Some)
        }
    }
}

/// Sign-extends the low `n` bytes of `raw`.
pub const fn sign_extend(raw: u64, n: usize) -> i64 {
    if n == 0 || n >= 8 {
        return raw as i64;
    }
    let shift = 64 - 8 * n as u32;
    ((raw << shift) as i64) >> shift
}

/// The cursor of decode fast paths: like [`Reader`], but a read that does not fit returns
/// `None`, with no offset or field name.
///
/// A parser with a fast path reads a well-formed payload with `Fast`, and on `None` parses it
/// again with a [`Reader`], whose error says which field is missing and where. Because nothing
/// here builds an error, the reads compile to a compare and a load; and after [`Fast::run`] has
/// split off a run of constant length, reads from the run compile to plain loads.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fast<'a> {
    rest: &'a [u8],
}

impl<'a> Fast<'a> {
    #[inline]
    pub(crate) const fn new(buf: &'a [u8]) -> Self {
        Self { rest: buf }
    }

    #[inline]
    pub(crate) const fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    /// The unread rest of the buffer.
    #[inline]
    pub(crate) const fn rest(&self) -> &'a [u8] {
        self.rest
    }

    /// Splits off the next `N` bytes as a cursor of their own, whose reads need no checks.
    #[inline]
    pub(crate) fn run<const N: usize>(&mut self) -> Option<Fast<'a>> {
        let (run, rest) = self.rest.split_first_chunk::<N>()?;
        self.rest = rest;
        Some(Fast { rest: run })
    }

    #[inline]
    pub(crate) fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (head, rest) = self.rest.split_first_chunk::<N>()?;
        self.rest = rest;
        Some(*head)
    }

    #[inline]
    pub(crate) fn bytes(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, rest) = self.rest.split_at_checked(n)?;
        self.rest = rest;
        Some(head)
    }

    #[inline]
    pub(crate) fn u8(&mut self) -> Option<u8> {
        let (&b, rest) = self.rest.split_first()?;
        self.rest = rest;
        Some(b)
    }
    #[inline]
    pub(crate) fn u16(&mut self) -> Option<u16> {
        self.array().map(u16::from_le_bytes)
    }
    #[inline]
    pub(crate) fn u32(&mut self) -> Option<u32> {
        self.array().map(u32::from_le_bytes)
    }
    #[inline]
    pub(crate) fn i8(&mut self) -> Option<i8> {
        self.array().map(i8::from_le_bytes)
    }
    #[inline]
    pub(crate) fn i16(&mut self) -> Option<i16> {
        self.array().map(i16::from_le_bytes)
    }

    /// A ZCL string with a one-byte length, as [`Reader::short_string`].
    #[inline]
    pub(crate) fn short_string(&mut self) -> Option<crate::zcl::ZclStr<'a>> {
        match self.u8()? {
            0xFF => Some(crate::zcl::ZclStr::INVALID),
            len => self.bytes(usize::from(len)).map(crate::zcl::ZclStr::new),
        }
    }

    /// A ZCL string with a two-byte length, as [`Reader::long_string`].
    #[inline]
    pub(crate) fn long_string(&mut self) -> Option<crate::zcl::ZclStr<'a>> {
        match self.u16()? {
            0xFFFF => Some(crate::zcl::ZclStr::INVALID),
            len => self.bytes(usize::from(len)).map(crate::zcl::ZclStr::new),
        }
    }

    /// An optional trailing field, as [`Reader::optional`]: `Some(None)` at the end of the
    /// payload, `None` when the field is cut short.
    #[inline]
    #[allow(clippy::option_option)] // outer: the fast path failed; inner: the field is absent
    pub(crate) fn optional<T>(
        &mut self,
        read: impl FnOnce(&mut Self) -> Option<T>,
    ) -> Option<Option<T>> {
        if self.is_empty() {
            Some(None)
        } else {
            read(self).map(Some)
        }
    }
}

/// A forward-only writer that returns [`ErrorKind::BufferTooSmall`] instead of panicking.
#[derive(Debug)]
pub struct Writer<'b> {
    buf: &'b mut [u8],
    pos: usize,
}

impl<'b> Writer<'b> {
    pub fn new(buf: &'b mut [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    /// Bytes written so far.
    pub const fn pos(&self) -> usize {
        self.pos
    }

    pub fn bytes(&mut self, src: &[u8], field: &'static str) -> Result<()> {
        let end = self.pos + src.len();
        let pos = self.pos;
        let dst = self.buf.get_mut(pos..end).ok_or(Error::new(
            ErrorKind::BufferTooSmall { needed: src.len() },
            pos,
            field,
        ))?;
        dst.copy_from_slice(src);
        self.pos = end;
        Ok(())
    }

    /// The low `n` ≤ 8 bytes of `v`, little-endian.
    pub fn uint_n(&mut self, v: u64, n: usize, field: &'static str) -> Result<()> {
        let le = v.to_le_bytes();
        self.bytes(le.get(..n).unwrap_or(&le), field)
    }

    pub fn u8(&mut self, v: u8, field: &'static str) -> Result<()> {
        self.bytes(&[v], field)
    }
    pub fn u16(&mut self, v: u16, field: &'static str) -> Result<()> {
        self.bytes(&v.to_le_bytes(), field)
    }
    pub fn u32(&mut self, v: u32, field: &'static str) -> Result<()> {
        self.bytes(&v.to_le_bytes(), field)
    }
    pub fn u64(&mut self, v: u64, field: &'static str) -> Result<()> {
        self.bytes(&v.to_le_bytes(), field)
    }
    pub fn i8(&mut self, v: i8, field: &'static str) -> Result<()> {
        self.bytes(&v.to_le_bytes(), field)
    }
    pub fn i16(&mut self, v: i16, field: &'static str) -> Result<()> {
        self.bytes(&v.to_le_bytes(), field)
    }
    pub fn i32(&mut self, v: i32, field: &'static str) -> Result<()> {
        self.bytes(&v.to_le_bytes(), field)
    }

    /// Writes a ZCL string with a one-byte length. Fails with [`ErrorKind::BadLength`] when the
    /// string is longer than 254 bytes (0xFF is reserved for "invalid").
    pub fn short_string(&mut self, s: crate::zcl::ZclStr<'_>, field: &'static str) -> Result<()> {
        match s.bytes() {
            None => self.u8(0xFF, field),
            Some(b) => {
                let len = u8::try_from(b.len()).ok().filter(|&l| l != 0xFF).ok_or(Error::new(
                    ErrorKind::BadLength,
                    self.pos,
                    field,
                ))?;
                self.u8(len, field)?;
                self.bytes(b, field)
            }
        }
    }

    /// Writes a ZCL long string with a two-byte length (≤ 65534 bytes).
    pub fn long_string(&mut self, s: crate::zcl::ZclStr<'_>, field: &'static str) -> Result<()> {
        match s.bytes() {
            None => self.u16(0xFFFF, field),
            Some(b) => {
                let len = u16::try_from(b.len())
                    .ok()
                    .filter(|&l| l != 0xFFFF)
                    .ok_or(Error::new(ErrorKind::BadLength, self.pos, field))?;
                self.u16(len, field)?;
                self.bytes(b, field)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_odd_widths_little_endian() {
        let mut r = Reader::new(&[0x01, 0x02, 0x03, 0xFF, 0xFF, 0xFF]);
        assert_eq!(r.uint_n(3, "a").unwrap(), 0x030201);
        assert_eq!(r.int_n(3, "b").unwrap(), -1);
        assert!(r.is_empty());
    }

    #[test]
    fn truncation_names_offset_and_shortfall() {
        let mut r = Reader::new(&[1, 2, 3]);
        r.u8("first").unwrap();
        let e = r.u32("second").unwrap_err();
        assert_eq!(e.offset, 1);
        assert_eq!(e.kind, ErrorKind::Truncated { needed: 2 });
        assert_eq!(e.field, "second");
    }

    #[test]
    fn int24_sign_extension() {
        assert_eq!(sign_extend(0x80_0000, 3), -8_388_608);
        assert_eq!(sign_extend(0x7F_FFFF, 3), 8_388_607);
        assert_eq!(sign_extend(0xFF_FFFF_FFFF, 5), -1);
    }

    #[test]
    fn writer_refuses_overflow() {
        let mut buf = [0u8; 3];
        let mut w = Writer::new(&mut buf);
        w.u16(0xABCD, "x").unwrap();
        let e = w.u16(1, "y").unwrap_err();
        assert_eq!(e.kind, ErrorKind::BufferTooSmall { needed: 2 });
        assert_eq!(e.offset, 2);
    }
}
