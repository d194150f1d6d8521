//! The EZSP frame header (UG100 §3, "EZSP frame format").
//!
//! * **Legacy** (protocol ≤ 7, and always the first `version` command): `sequence, frame
//!   control, frame id (1 byte)`.
//! * **Extended** (protocol ≥ 8): `sequence, frame control low, frame control high, frame id
//!   (2 bytes, little-endian)`. Frame control high carries the frame format version (bits 0–1,
//!   = 1), padding (bit 6) and security (bit 7).
//!
//! Frame control low: bit 7 is the direction (1 = response/callback from the NCP). In a
//! response, bit 0 = truncated, bit 1 = overflow, bit 2 = callback pending, bits 3–4 = callback
//! type (0 none, 1 synchronous, 2 asynchronous), bits 5–6 = network index. In a command, bits
//! 0–1 = sleep mode, bits 5–6 = network index.
//!
//! An NCP tells the forms apart by byte 2: 0x00 is the legacy `version` command (frame id 0);
//! a value with format version 1 in bits 0–1 is extended; 0xFF was the v5–v7 escape for
//! extended frame ids (not supported here).

use super::types::{Error, Reader};
use alloc::vec::Vec;

/// Header form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Legacy,
    Extended,
}

/// Callback type bits of a response's frame control.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallbackType {
    None,
    Sync,
    Async,
}

pub const CONTROL_RESPONSE: u8 = 0x80;
pub const CONTROL_TRUNCATED: u8 = 0x01;
pub const CONTROL_OVERFLOW: u8 = 0x02;
pub const CONTROL_PENDING: u8 = 0x04;
pub const CONTROL_HIGH_FORMAT_V1: u8 = 0x01;
pub const CONTROL_HIGH_SECURITY: u8 = 0x80;

/// A parsed EZSP header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub sequence: u8,
    pub format: Format,
    /// Frame control (the low byte in the extended form).
    pub control: u8,
    /// Frame control high byte (0 in the legacy form).
    pub control_high: u8,
    pub frame_id: u16,
}

impl Header {
    /// An extended command header.
    pub fn command(sequence: u8, frame_id: u16) -> Self {
        Self {
            sequence,
            format: Format::Extended,
            control: 0x00,
            control_high: CONTROL_HIGH_FORMAT_V1,
            frame_id,
        }
    }
    /// An extended response or callback header.
    pub fn response(sequence: u8, frame_id: u16, callback: CallbackType) -> Self {
        let cb = match callback {
            CallbackType::None => 0,
            CallbackType::Sync => 1,
            CallbackType::Async => 2,
        };
        Self {
            sequence,
            format: Format::Extended,
            control: CONTROL_RESPONSE | (cb << 3),
            control_high: CONTROL_HIGH_FORMAT_V1,
            frame_id,
        }
    }
    /// The legacy header of the `version` command (or its response).
    pub fn legacy_version(sequence: u8, response: bool) -> Self {
        Self {
            sequence,
            format: Format::Legacy,
            control: if response { CONTROL_RESPONSE } else { 0 },
            control_high: 0,
            frame_id: super::frame_id::VERSION,
        }
    }

    pub fn is_response(&self) -> bool {
        self.control & CONTROL_RESPONSE != 0
    }

    pub fn callback_type(&self) -> CallbackType {
        match (self.control >> 3) & 3 {
            1 => CallbackType::Sync,
            2 => CallbackType::Async,
            _ => CallbackType::None,
        }
    }

    /// Splits a frame into header and parameters.
    pub fn parse(frame: &[u8]) -> Result<(Self, &[u8]), Error> {
        let mut r = Reader::new(frame, 0);
        let sequence = r.u8()?;
        let control = r.u8()?;
        let b2 = r.u8()?;
        if b2 == 0x00 {
            // Legacy: byte 2 is the frame id; only `version` (0x00) is accepted this way.
            let hdr =
                Self { sequence, format: Format::Legacy, control, control_high: 0, frame_id: 0 };
            return Ok((hdr, frame.get(3..).unwrap_or_default()));
        }
        if b2 & 0x03 != CONTROL_HIGH_FORMAT_V1 || b2 & 0x3C != 0 {
            return Err(Error::BadHeader { control_high: b2 });
        }
        if b2 & CONTROL_HIGH_SECURITY != 0 {
            return Err(Error::Secured);
        }
        let frame_id = r.u16()?;
        let hdr = Self { sequence, format: Format::Extended, control, control_high: b2, frame_id };
        Ok((hdr, frame.get(5..).unwrap_or_default()))
    }

    /// Length of the header on the wire.
    pub fn len(&self) -> usize {
        match self.format {
            Format::Legacy => 3,
            Format::Extended => 5,
        }
    }

    /// Always false (a header has at least 3 bytes); for clippy's `len_without_is_empty`.
    pub fn is_empty(&self) -> bool {
        false
    }

    pub fn emit(&self, out: &mut Vec<u8>) {
        out.push(self.sequence);
        out.push(self.control);
        match self.format {
            Format::Legacy => out.push(self.frame_id as u8),
            Format::Extended => {
                out.push(self.control_high);
                out.extend_from_slice(&self.frame_id.to_le_bytes());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn forms() {
        // bellows (v8+): a command is [seq, 0x00, 0x01, id lo, id hi].
        let (h, p) = Header::parse(&[7, 0x00, 0x01, 0x26, 0x00]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(h, Header::command(7, 0x0026));
        assert!(p.is_empty());
        // The legacy version command [seq, 0, 0, desired].
        let (h, p) = Header::parse(&[0, 0, 0, 13]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((h.format, h.frame_id, p), (Format::Legacy, 0, &[13u8][..]));
        let mut out = vec![];
        Header::response(3, 0x0045, CallbackType::Async).emit(&mut out);
        assert_eq!(out, [3, 0x90, 0x01, 0x45, 0x00]);
        assert_eq!(
            Header::parse(&[0, 0, 0xFF, 0x26]),
            Err(Error::BadHeader { control_high: 0xFF })
        );
        assert_eq!(Header::parse(&[0, 0, 0x81, 0x26, 0]), Err(Error::Secured));
        assert!(matches!(Header::parse(&[0, 0, 0x01, 0x26]), Err(Error::Truncated { .. })));
    }
}
